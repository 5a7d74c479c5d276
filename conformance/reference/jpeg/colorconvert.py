"""Colour spaces of a JPEG file and their conversion to RGB, gray or CMYK samples.

T.81 itself has no colour model; the file's colour space comes from conventions, and each
conversion's arithmetic is a knob.

**The file's colour space** (:func:`jpeg_color_space`), as libjpeg-turbo guesses it
(``jdapimin.c default_decompress_parms``):

- 1 component: ``gray``.
- 3 components: a JFIF APP0 -> ``ycbcr`` (JFIF, ITU-T T.871 §7, implies YCbCr); else an Adobe
  APP14 with transform 0 -> ``rgb``, 1 -> ``ycbcr``, other -> ``ycbcr`` (libjpeg warns);
  else component ids (1, 2, 3) -> ``ycbcr``, ('R', 'G', 'B') = (82, 71, 66) -> ``rgb``,
  anything else -> ``ycbcr``.
- 3 components of a *lossless* frame (SOF3) without JFIF or Adobe marker: ``rgb`` whatever the
  ids (libjpeg-turbo 3 ``default_decompress_parms``: "assume RGB w/out marker"). libjpeg-turbo 3
  refuses every colour conversion of lossless data (``jdcolor.c``: JERR_CONVERSION_NOTIMPL, so
  Pillow and OpenCV fail on a JFIF or Adobe-YCbCr lossless file, and OpenCV on gray-to-BGR); the
  reference converts as for DCT frames (the knobs apply), which is what such a decoder would
  have to do and what Pillow's own ``convert("RGB")`` of an ``L`` image does for gray.
- 4 components: Adobe transform 0 -> ``cmyk``, 2 -> ``ycck``, other -> ``ycck`` (warning);
  no Adobe segment -> ``cmyk``.
- 2 or more than 4 components: libjpeg's JCS_UNKNOWN, which no library here turns into an
  image: :class:`UnsupportedFeature`.

**YCbCr -> RGB** (knob ``ycc``), with cb = Cb − 128, cr = Cr − 128:

- ``libjpeg_fixed``: ``jdcolor.c build_ycc_rgb_table`` / ``ycc_rgb_convert``, 16-bit fixed
  point, FIX(x) = round(x·2^16)::

      R = clamp(Y + ((91881·cr + 2^15) >> 16))                    91881  = FIX(1.40200)
      G = clamp(Y + ((−22554·cb + 2^15 − 46802·cr) >> 16))         22554  = FIX(0.34414),
                                                                  46802  = FIX(0.71414)
      B = clamp(Y + ((116130·cb + 2^15) >> 16))                   116130 = FIX(1.77200)

  R and B are rounded per term, G once after the sum (the ``Cb_g_tab`` entry carries ONE_HALF).
- ``float``: ITU-T T.871 §7 (JFIF) in float64, rounded half up (floor(x + 0.5)), clamped::

      R = Y + 1.402·cr,  G = Y − 0.344136·cb − 0.714136·cr,  B = Y + 1.772·cb

- ``zune_fixed14``: zune-jpeg 0.5.15 (``src/color_convert/scalar.rs``), 14-bit, one rounding::

      R = clamp((2^14·Y + 8191 + 22970·cr) >> 14)
      G = clamp((2^14·Y + 8191 − 11700·cr − 5638·cb) >> 14)
      B = clamp((2^14·Y + 8191 + 29032·cb) >> 14)

**Other libjpeg conversions** (``jdcolor.c``): gray -> RGB replicates (``gray_rgb_convert``);
RGB -> gray is ``rgb_gray_convert``, Y = (19595·R + 38470·G + 7471·B + 2^15) >> 16
(FIX(0.299), FIX(0.587), FIX(0.114): the same numbers as Pillow's ``convert('L')``); YCbCr -> gray
is the Y component (``grayscale_convert``); CMYK/YCCK -> gray does not exist in libjpeg, and
OpenCV's IMREAD_GRAYSCALE converts the CMYK output itself (:func:`to_gray`); YCCK -> CMYK is
C, M, Y = 255 − (the R, G, B of the YCbCr -> RGB above) and K unchanged
(``ycck_cmyk_convert``, with the same ``ycc`` arithmetic); CMYK is passed through. libjpeg never
inverts CMYK.

**CMYK samples and ink** (knob ``cmyk``): Adobe applications write CMYK JPEGs *inverted*
(sample = 255 − ink), and so do libjpeg-based writers that follow them (Pillow saves
``CMYK;I``). ``adobe_inverted``: ink = 255 − sample, for all four channels, whatever the markers
say (Pillow's ``JpegImagePlugin`` rawmode ``"CMYK;I"``, "assume adobe conventions");
``plain``: ink = sample. Output ``unchanged`` of a CMYK file returns the four ink channels.

**CMYK -> RGB** (knob ``cmyk_rgb``), on ink values C, M, Y, K with nk = 255 − K:

- ``pillow``: ``Convert.c cmyk2rgb``: R = nk − MULDIV255(C, nk), MULDIV255(a, b) =
  (t + (t >> 8)) >> 8 with t = a·b + 128 (= round(a·b/255), no ties as 255 is odd).
  zune-jpeg's ``blinn`` on the raw samples gives the same numbers for CMYK files
  (round(c·k/255) = k − round((255 − c)·k/255) when c, k are the raw = inverted samples).
- ``opencv``: ``imgcodecs utils.cpp icvCvt_CMYK2BGR_8u_C4C3R``, on libjpeg's raw samples
  c, k: R = k − (((255 − c)·k) >> 8); in ink terms R = nk − ((C·nk) >> 8) (a truncating /256).
"""

from __future__ import annotations

import numpy as np

from ...errors import UnsupportedFeature
from .model import JpegImage

COLOR_SPACES = ("gray", "ycbcr", "rgb", "cmyk", "ycck")
YCC_METHODS = ("libjpeg_fixed", "float", "zune_fixed14")
CMYK_CONVENTIONS = ("adobe_inverted", "plain")
CMYK_RGB_METHODS = ("pillow", "opencv")

RGB_COMPONENT_IDS = (82, 71, 66)  # ASCII 'R', 'G', 'B' (jdapimin.c)
JFIF_COMPONENT_IDS = (1, 2, 3)
MAXJSAMPLE = 255
CENTERJSAMPLE = 128  # the chroma offset of T.871 §7

# jdcolor.c: SCALEBITS = 16, ONE_HALF = 1 << (SCALEBITS-1), FIX(x) = (int)(x * 65536 + 0.5).
SCALEBITS = 16
ONE_HALF = 1 << (SCALEBITS - 1)
FIX_1_40200 = 91881
FIX_1_77200 = 116130
FIX_0_71414 = 46802
FIX_0_34414 = 22554
FIX_0_29900 = 19595
FIX_0_58700 = 38470
FIX_0_11400 = 7471

# OpenCV imgcodecs utils.cpp: SCALE = 14, cR = (int)(0.299·2^14 + 0.5), cG likewise, cB = rest.
OPENCV_CMYK_GRAY = ((4899, 9617, 1868), 14)

# ITU-T T.871 §7 (JFIF 1.02) YCbCr -> RGB constants, as printed there.
T871_CR_R = 1.402
T871_CB_G = 0.344136
T871_CR_G = 0.714136
T871_CB_B = 1.772

# zune-jpeg 0.5.15 color_convert/scalar.rs: 14-bit constants and rounding term (2^13 − 1).
ZUNE_BITS = 14
ZUNE_ROUND = 8191
ZUNE_CR_R = 22970
ZUNE_CR_G = 11700
ZUNE_CB_G = 5638
ZUNE_CB_B = 29032


def jpeg_color_space(image: JpegImage, source: str = "<jpeg>") -> str:
    """The file's colour space by libjpeg's rules (module docstring)."""
    n = len(image.components)
    if n == 1:
        return "gray"
    if n == 3:
        if image.jfif:
            return "ycbcr"
        if image.adobe_transform is not None:
            return "rgb" if image.adobe_transform == 0 else "ycbcr"
        ids = tuple(c.id for c in image.components)
        if image.process == "lossless":
            return "rgb"  # libjpeg-turbo 3: "assume RGB w/out marker" for lossless frames
        return "rgb" if ids == RGB_COMPONENT_IDS else "ycbcr"
    if n == 4:
        if image.adobe_transform is not None:
            return "cmyk" if image.adobe_transform == 0 else "ycck"
        return "cmyk"
    raise UnsupportedFeature(f"{n}-component JPEG: no colour space is defined for it "
                             "(libjpeg JCS_UNKNOWN)", source=source)


def _ycc_tables():
    """jdcolor.c build_ycc_rgb_table, indexed by the 8-bit Cb or Cr sample (all fit in int32:
    |46802·128| < 2^23)."""
    x = np.arange(MAXJSAMPLE + 1, dtype=np.int32) - CENTERJSAMPLE
    cr_r = (FIX_1_40200 * x + ONE_HALF) >> SCALEBITS
    cb_b = (FIX_1_77200 * x + ONE_HALF) >> SCALEBITS
    cr_g = -FIX_0_71414 * x
    cb_g = -FIX_0_34414 * x + ONE_HALF
    return cr_r, cb_b, cr_g, cb_g


CR_R_TAB, CB_B_TAB, CR_G_TAB, CB_G_TAB = _ycc_tables()


def clamp8(x: np.ndarray) -> np.ndarray:
    """libjpeg's range_limit on a valid index: clamp to 0..255 as uint8."""
    return np.clip(x, 0, MAXJSAMPLE).astype(np.uint8)


def ycc_to_rgb(y: np.ndarray, cb: np.ndarray, cr: np.ndarray, method: str = "libjpeg_fixed"):
    """(R, G, B) uint8 planes from Y, Cb, Cr uint8 planes (module docstring, knob ``ycc``)."""
    if method == "libjpeg_fixed":
        yi = y.astype(np.int32)
        g = yi + ((CB_G_TAB[cb] + CR_G_TAB[cr]) >> SCALEBITS)
        return clamp8(yi + CR_R_TAB[cr]), clamp8(g), clamp8(yi + CB_B_TAB[cb])
    if method == "float":
        yf = y.astype(np.float64)
        cbf = cb.astype(np.float64) - CENTERJSAMPLE
        crf = cr.astype(np.float64) - CENTERJSAMPLE
        r = yf + T871_CR_R * crf
        g = yf - T871_CB_G * cbf - T871_CR_G * crf
        b = yf + T871_CB_B * cbf
        return tuple(clamp8(np.floor(v + 0.5)) for v in (r, g, b))
    if method == "zune_fixed14":
        ys = (y.astype(np.int32) << ZUNE_BITS) + ZUNE_ROUND
        cbi = cb.astype(np.int32) - CENTERJSAMPLE
        cri = cr.astype(np.int32) - CENTERJSAMPLE
        r = (ys + ZUNE_CR_R * cri) >> ZUNE_BITS
        g = (ys - ZUNE_CR_G * cri - ZUNE_CB_G * cbi) >> ZUNE_BITS
        b = (ys + ZUNE_CB_B * cbi) >> ZUNE_BITS
        return clamp8(r), clamp8(g), clamp8(b)
    raise ValueError(f"unknown ycc method {method!r}; known: {', '.join(YCC_METHODS)}")


def rgb_to_gray_libjpeg(r: np.ndarray, g: np.ndarray, b: np.ndarray) -> np.ndarray:
    """jdcolor.c rgb_gray_convert: (19595·R + 38470·G + 7471·B + 2^15) >> 16, uint8."""
    y = (FIX_0_29900 * r.astype(np.int32) + FIX_0_58700 * g.astype(np.int32)
         + FIX_0_11400 * b.astype(np.int32) + ONE_HALF) >> SCALEBITS
    return y.astype(np.uint8)


def to_ink(samples: np.ndarray, convention: str = "adobe_inverted") -> np.ndarray:
    """libjpeg's CMYK samples -> ink values by the ``cmyk`` knob (module docstring)."""
    if convention == "adobe_inverted":
        return (MAXJSAMPLE - samples).astype(np.uint8)
    if convention == "plain":
        return samples
    raise ValueError(f"unknown cmyk convention {convention!r}; known: {', '.join(CMYK_CONVENTIONS)}")


def muldiv255(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pillow's MULDIV255: round(a·b/255) as (t + (t >> 8)) >> 8 with t = a·b + 128."""
    t = a * b + 128
    return (t + (t >> 8)) >> 8


def cmyk_to_rgb(ink: np.ndarray, method: str = "pillow") -> np.ndarray:
    """(H, W, 4) ink C, M, Y, K -> (H, W, 3) uint8 RGB by the ``cmyk_rgb`` knob."""
    x = ink.astype(np.int32)
    nk = MAXJSAMPLE - x[..., 3:4]
    if method == "pillow":
        out = nk - muldiv255(x[..., :3], nk)
    elif method == "opencv":
        out = nk - ((x[..., :3] * nk) >> 8)
    else:
        raise ValueError(f"unknown cmyk_rgb {method!r}; known: {', '.join(CMYK_RGB_METHODS)}")
    return clamp8(out)


def ycck_to_cmyk(planes, ycc: str) -> np.ndarray:
    """jdcolor.c ycck_cmyk_convert: (H, W, 4) CMYK samples from Y, Cb, Cr, K planes."""
    r, g, b = ycc_to_rgb(planes[0], planes[1], planes[2], ycc)
    return np.stack([MAXJSAMPLE - r, MAXJSAMPLE - g, MAXJSAMPLE - b, planes[3]], axis=2).astype(np.uint8)


def cmyk_samples(space: str, planes, ycc: str) -> np.ndarray:
    """libjpeg's JCS_CMYK output (H, W, 4) of a ``cmyk`` or ``ycck`` file."""
    if space == "ycck":
        return ycck_to_cmyk(planes, ycc)
    return np.stack(planes, axis=2)


def to_rgb(space: str, planes, *, ycc: str = "libjpeg_fixed", cmyk: str = "adobe_inverted",
           cmyk_rgb: str = "pillow") -> np.ndarray:
    """(H, W, 3) uint8 RGB from the full-size component planes of a file in colour space ``space``."""
    if space == "gray":
        return np.repeat(planes[0][:, :, None], 3, axis=2)
    if space == "ycbcr":
        return np.stack(ycc_to_rgb(planes[0], planes[1], planes[2], ycc), axis=2)
    if space == "rgb":
        return np.stack(planes, axis=2)
    return cmyk_to_rgb(to_ink(cmyk_samples(space, planes, ycc), cmyk), cmyk_rgb)


def opencv_cmyk_gray(rgb: np.ndarray) -> np.ndarray:
    """imgcodecs utils.cpp icvCvt_CMYK2Gray_8u_C4C1R's luma on its CMYK -> RGB result:
    Y = (4899·R + 9617·G + 1868·B + 2^13) >> 14 (weights (int)(0.299·2^14 + 0.5), (int)(0.587·2^14
    + 0.5) and the rest of 2^14; ``descale`` rounds half up)."""
    (wr, wg, wb), shift = OPENCV_CMYK_GRAY
    x = rgb.astype(np.int32)
    return ((wr * x[..., 0] + wg * x[..., 1] + wb * x[..., 2] + (1 << (shift - 1))) >> shift).astype(np.uint8)


def to_gray(space: str, planes, *, ycc: str = "libjpeg_fixed", cmyk: str = "adobe_inverted",
            cmyk_rgb: str = "pillow") -> np.ndarray:
    """(H, W) uint8: libjpeg's JCS_GRAYSCALE output: the Y component of gray/YCbCr files
    (``grayscale_convert``), ``rgb_gray_convert`` of RGB files. libjpeg has no CMYK/YCCK -> gray
    conversion; OpenCV's IMREAD_GRAYSCALE then decodes CMYK and converts it itself
    (``grfmt_jpeg.cpp`` -> ``icvCvt_CMYK2Gray_8u_C4C1R``): :func:`to_rgb` with ``cmyk_rgb``,
    then :func:`opencv_cmyk_gray`."""
    if space in ("gray", "ycbcr"):
        return planes[0]
    if space == "rgb":
        return rgb_to_gray_libjpeg(*planes)
    return opencv_cmyk_gray(to_rgb(space, planes, ycc=ycc, cmyk=cmyk, cmyk_rgb=cmyk_rgb))


def to_native(space: str, planes, *, ycc: str = "libjpeg_fixed", cmyk: str = "adobe_inverted") -> np.ndarray:
    """The file's own colour model: gray (H, W, 1), YCbCr/RGB as RGB (H, W, 3), CMYK/YCCK as
    (H, W, 4) ink values by the ``cmyk`` convention (Pillow's mode-CMYK array)."""
    if space == "gray":
        return planes[0][:, :, None]
    if space in ("ycbcr", "rgb"):
        return to_rgb(space, planes, ycc=ycc)
    return to_ink(cmyk_samples(space, planes, ycc), cmyk)
