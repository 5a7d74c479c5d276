"""The ``decode`` op: encoded bytes -> an (H, W, C) array, every library difference a knob.

:func:`decode_image` sniffs the format, decodes the PNG image (:mod:`.png`), the JPEG image
(:mod:`.jpeg`) or the WebP image (:mod:`.webp`) and converts it as the
:class:`~conformance.spec.Decode` knobs say.

PNG
---

The conversion is a fixed sequence of small steps; each knob acts in exactly one of them:

1. **Channels at native depth** (PNG 3rd ed. §4.4, §11.2.2 PLTE, §11.3.1.1 tRNS). Palette
   indices are looked up in PLTE (8-bit RGB). Alpha comes from the alpha channel (gray+alpha,
   rgba), or, with ``trns="apply"``, from tRNS: the palette alpha table, or "sample == key"
   (gray: the sample; rgb: all three samples; compared at native depth, key masked to the bit
   depth) giving alpha 0, else fully opaque. ``trns="ignore"``: tRNS is not used at all.
2. **Luma at native depth**, only for ``output="gray"`` with ``gray_arithmetic="libpng_fixed"``
   (OpenCV IMREAD_GRAYSCALE, which asks libpng for png_set_rgb_to_gray(png, 1, 0.299, 0.587);
   libpng converts before png_set_strip_16 and before compositing, pngrtran.c
   png_do_read_transformations). The colour samples of an rgb, rgba or palette (expanded) file
   become Y = (rc·R + gc·G + bc·B [+ 2^14 for 16-bit]) >> 15 with rc, gc, bc = 9797, 19234, 3737
   (:func:`libpng_luma`); alpha is untouched; gray files are already gray. Every other
   ``gray_arithmetic`` converts in step 4.
3. **Depth** (PNG §13.12 Sample depth rescaling for the sub-8-bit case):
   - 1, 2, 4 bit gray: v·255 / (2^d − 1), which is exact (multipliers 255, 85, 17) and equals
     bit replication; every library does this.
   - 16 bit, rule ``depth16`` (``depth16_gray`` for colour type 0 = gray without an alpha
     channel, unless ``same``): ``shift`` v >> 8 (libpng png_set_strip_16; Pillow for RGB, RGBA
     and gray+alpha), ``round`` (v + 128) // 257 = round(v·255/65535) (Rust image),
     ``clip`` min(v, 255) (Pillow's I;16 -> L/RGB), ``keep`` stay uint16. The rule applies to
     colour and alpha channels alike.
   - alpha made from tRNS is 0 or the maximum of the output depth (255, or 65535 if kept).
   The output dtype is uint16 only for a 16-bit file whose rule is ``keep``; else uint8.
   The rule is chosen by the file's colour type, also when step 2 has already made it gray.
4. **Colour model** for ``output``: ``rgb``/``bgr`` replicate gray to three channels;
   ``unchanged`` keeps gray as one channel and colour as RGB (palette expanded);
   ``gray`` converts colour to luma *after* compositing (step 5), at the output depth:
   Y = kr·R + kg·G + kb·B with ``gray_coefficients`` (bt601 0.299/0.587/0.114, bt709
   0.2126/0.7152/0.0722) in ``gray_arithmetic``: ``float`` (float64, rounded half up),
   ``pillow_fixed`` (19595R + 38470G + 7471B + 2^15) >> 16 (Pillow Convert.c L24) or
   ``opencv_fixed`` via :data:`conformance.reference.color.FIXED_GRAY`, or ``image_f32`` (the
   Rust image crate's float32 luma, :func:`conformance.reference.color.image_luma`; the crate
   computes it from 16-bit samples directly, the reference after the 16 -> 8 rule: modelled for
   8-bit files), so the decode op
   and the ``color`` step share one definition. The fixed forms are integer identities whose
   weights sum to 2^shift, so they are applied unchanged to 16-bit (kept) samples too.
   (``libpng_fixed`` has already converted in step 2.)
5. **Alpha** (``alpha``): ``drop`` discards it, no compositing (Pillow convert('RGB'), OpenCV
   IMREAD_COLOR, image to_rgb8); ``keep`` appends it as the last channel (so output=gray with
   alpha=keep gives 2 channels); ``composite`` replaces colour by
   out = a·c + (1 − a)·bg, a = alpha / maxval, in float64, rounded half up (floor(x + 0.5)),
   at the output depth. ``background`` is 8-bit RGB; for 16-bit output it is scaled by 257
   (= 65535/255, exact); when the colour model is gray (output gray or unchanged of a gray
   image) the 8-bit background is first converted to gray with the same luma rule
   (``libpng_fixed``: its 8-bit, truncating form).
   An image without alpha is unaffected by this knob.
6. ``output="bgr"``: reverse the colour channels (alpha stays last).
7. **Orientation** (``orientation="apply"``): the EXIF Orientation of the PNG eXIf chunk, as in
   :mod:`.orientation` (values 1-8; 0, >= 9 or absent: unchanged). ``ignore``: never rotated.
   With ``orientation_source="pillow"`` the value is read where Pillow's getexif reads it
   (also ImageMagick's raw profile text chunk and XMP; :mod:`.orientation_sources`).
   Orientation is a pixel permutation, so applying it last equals applying it first.

The JPEG knobs (``idct``, ``range_limit``, ``upsampling``, ``ycc``, ``block_smoothing``,
``cmyk``, ``cmyk_rgb``, ``jpeg_gray``, ``dct_scale``) do not affect PNG input.

Library presets (conformance/presets.py DECODE_PRESETS), checked to 0 difference in
tests/test_decode.py on every colour type, bit depth, size, interlace and tRNS variant of the
corpus encoder (conformance/encoders/png.py ``png_variants``) and on EXIF orientations 0-9:
- ``pillow`` = ``Image.open(f).convert('RGB')``: output rgb, orientation ignore, alpha drop,
  trns ignore, depth16 shift, depth16_gray clip.
- ``opencv`` = ``cv2.imdecode(buf, cv2.IMREAD_COLOR)``: output bgr, orientation apply, alpha drop,
  trns ignore, depth16 shift, depth16_gray same.
- ``opencv.gray`` = ``cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)``: output gray, gray_arithmetic
  libpng_fixed, orientation apply, alpha drop, trns ignore, depth16 shift, depth16_gray same
  (the libpng formulas also equal cv2 over all 2^24 8-bit RGB triples and on 2^20 random
  16-bit ones; with depth16 keep the preset is ``IMREAD_GRAYSCALE | IMREAD_ANYDEPTH``).
- ``image`` = Rust ``image`` ``decode()?.to_rgb8()``: as pillow but depth16 round, depth16_gray
  same (not checked here: no Rust in this test run).
- ``orientation="apply"`` with the pillow knobs = ``ImageOps.exif_transpose(im).convert('RGB')``.
- Pillow ``convert('L')`` = output gray, gray_arithmetic pillow_fixed, depth16_gray clip.

Library behaviours these knobs do not express (measured with opencv-python-headless 5.0.0):
- OpenCV ``IMREAD_UNCHANGED`` chooses channels per colour type: gray stays 1 channel and its
  tRNS is ignored, while palette/rgb + tRNS become 4 channels with tRNS alpha; gray+alpha comes
  back as 4 channels (gray replicated, BGRA); colour is BGR(A); 16-bit kept. The closest knobs
  are output unchanged, trns apply, alpha keep, depth16 keep, orientation ignore, then a
  channel reversal: identical except for gray+tRNS and gray+alpha files (tests pin this down).
- libpng (hence OpenCV) rejects an eXIf chunk that starts with the JPEG "Exif\\0\\0" identifier
  ("eXIf: invalid") and so does not rotate; Pillow and this reference read the orientation.
- Pillow ``convert('RGBA')`` applies tRNS with quirks (a sub-8-bit gray key is compared to the
  rescaled sample, a 16-bit rgb key is not compared at 16 bits); ``trns="apply"`` follows the
  PNG spec instead.

JPEG
----

:func:`~.jpeg.read_jpeg` parses the file and entropy-decodes it once (T.81 Annexes B, F, G:
exact, no knobs) into quantised coefficients; :func:`~.jpeg.reconstruct` turns them into samples
under the reconstruction knobs, each documented on the module implementing it: ``idct`` and
``range_limit`` (:mod:`.jpeg.idct`), ``block_smoothing`` (:mod:`.jpeg.smoothing`),
``upsampling`` (:mod:`.jpeg.upsample`), ``ycc``, ``cmyk``, ``cmyk_rgb`` and the file's colour
space (JFIF/Adobe/component ids, :mod:`.jpeg.colorconvert`). Then, by ``output``:

- ``rgb`` / ``bgr``: RGB (gray files replicated, CMYK/YCCK through ``cmyk`` and ``cmyk_rgb``),
  reversed for bgr.
- ``gray``: ``jpeg_gray="y_plane"`` is libjpeg's own grayscale output (out_color_space
  JCS_GRAYSCALE: the Y component of a YCbCr file, chroma never decoded; libjpeg-turbo's
  ``rgb_gray_convert`` for RGB files; for CMYK/YCCK, which libjpeg cannot convert, OpenCV's
  own conversion: ``cmyk_rgb`` then (4899R + 9617G + 1868B + 2^13) >> 14).
  ``jpeg_gray="from_rgb"`` decodes to RGB and applies ``gray_coefficients``/``gray_arithmetic``
  as for PNG (a gray file is returned as it is: every luma rule maps R = G = B = v to v).
- ``unchanged``: the file's colour model: gray 1 channel, YCbCr and RGB as RGB, CMYK/YCCK as 4
  channels of *ink* values by ``cmyk`` (``adobe_inverted``: Pillow's mode-CMYK array).

JPEG has no alpha (``alpha``, ``background``, ``trns`` and the 16-bit rules do nothing; the
reference decodes P = 8 only). ``orientation="apply"`` reads the Orientation of the first APP1
Exif segment (:mod:`.exif`) and applies it last, as for PNG; an unreadable Exif block never
fails the decode.

Library presets for JPEG, checked in tests/test_jpeg_decode.py (0 difference):
- ``pillow`` = ``Image.open(f).convert('RGB')`` (islow, saturate, fancy, libjpeg_fixed,
  libjpeg-turbo smoothing, adobe_inverted + pillow CMYK); Pillow ``convert('L')`` = output gray
  with jpeg_gray from_rgb, gray_arithmetic pillow_fixed; ``unchanged`` = ``np.array(im)`` in
  Pillow's mode (L, RGB or CMYK).
- ``libjpeg-turbo`` sets the JPEG knobs only (the same values, jpeg_gray y_plane); with the other
  knobs at their defaults it equals Pillow on files without EXIF, and its output=gray equals
  libjpeg's JCS_GRAYSCALE (checked through jpeglib).
- ``opencv`` = ``cv2.imdecode(buf, IMREAD_COLOR)`` (the same, cmyk_rgb opencv, orientation
  apply); ``opencv.gray`` = ``IMREAD_GRAYSCALE`` (jpeg_gray y_plane).
- ``image``: zune-jpeg's knobs (idct zune, upsampling zune, ycc zune_fixed14, no smoothing);
  not checked here (no Rust in this environment).

Damaged JPEG data (``on_corrupt``): ``reject`` raises the strict reader's DecodeError;
``libjpeg-turbo`` decodes what libjpeg-turbo 3 repairs, exactly (rules: :mod:`.jpeg.reader`,
"Recovery"), and the repairs are the image's warnings. A lossless file (SOF3) whose output needs
a colour conversion: ``lossless_color`` (``convert``, or libjpeg-turbo's refusal per the colour
space each library asks for: UnsupportedFeature).

DCT-domain scaling (``dct_scale``, :mod:`.jpeg.reconstruct`): Pillow's ``draft()``/``thumbnail()``,
OpenCV's ``IMREAD_REDUCED_*`` and TensorFlow's ``decode_jpeg(ratio=...)`` are the library
presets with ``dct_scale`` set (0 LSB, tests/test_jpeg_dct_scale.py). Pillow 13's ``draft``
passes ``decoderconfig = (scale, 0)``: the draft flag of JpegDecode.c, which would select the
ifast IDCT and plain upsampling, stays 0, so a ``draft`` keeps islow and fancy upsampling, and
at scale 1 equals the ``pillow`` preset (measured).

Library behaviours for JPEG these knobs do not express: OpenCV ``IMREAD_UNCHANGED`` returns a
CMYK JPEG as 3-channel BGR (converted) where ``unchanged`` gives the 4 ink channels; OpenCV's
``IMREAD_REDUCED_*`` on a non-JPEG file decodes it at full size and shrinks it with
``cv2.resize(INTER_LINEAR_EXACT)`` (``dct_scale`` leaves non-JPEG files alone); zune-jpeg
rejects an Adobe transform other than 0..2, which libjpeg reads as YCbCr/YCCK.
"""

from __future__ import annotations

import functools
import struct

import numpy as np

from ..errors import DecodeError, SpecError, UnsupportedFeature
from ..spec import FIXED_LUMA_COEFFICIENTS, Decode
from .color import composite, fixed_luma, image_luma, rgb_to_gray, vips_luma
from .exif import read_orientation, strip_exif_identifier
from .jpeg import JpegImage, read_jpeg, reconstruct
from .jpeg import markers as jpeg_markers
from .jpeg.colorconvert import jpeg_color_space
from .orientation import apply_orientation
from .orientation_sources import pillow_jpeg_info, pillow_orientation, pillow_png_info
from .png import COLOUR_TYPES, PNG_SIGNATURE, PngImage, read_png, read_png_info
from .webp.container import read_webp_info
from .webp.image import WebpImage, read_webp

JPEG_SOI = b"\xff\xd8\xff"  # T.81 B.1.1.3: SOI marker, then the first marker's 0xFF
WEBP_RIFF, WEBP_FORM = b"RIFF", b"WEBP"  # RFC 9649 §2.4: 'RIFF', File Size, 'WEBP'

# Background scale from 8-bit to 16-bit output: 65535 / 255 = 257 exactly.
BACKGROUND_SCALE_16 = 257

# libpng luma (gray_arithmetic="libpng_fixed"), as OpenCV's IMREAD_GRAYSCALE sets it up:
# png_set_rgb_to_gray(png, 1, 0.299, 0.587) -> png_fixed: 29900 and 58700 (units of 1e-5) ->
# png_set_rgb_to_gray_fixed scales by 2^15 without rounding: rc = 29900·32768 // 100000 = 9797
# (9797.63), gc = 58700·32768 // 100000 = 19234 (19234.82); png_do_rgb_to_gray gives blue the
# rest, bc = 32768 − rc − gc = 3737, so the weights sum to 2^15 and white stays white.
LIBPNG_GRAY_WEIGHTS = (9797, 19234, 3737)
LIBPNG_GRAY_SHIFT = 15
LIBPNG_GRAY_ROUND_16 = 1 << 14  # half of 2^15: only the 16-bit path rounds; 8-bit truncates

# 16-bit -> 8-bit rules of the depth16 knobs (v is a uint16 array).
DEPTH16_RULES = {
    "shift": lambda v: (v >> 8).astype(np.uint8),  # libpng png_set_strip_16, Pillow RGB;16B
    "round": lambda v: ((v.astype(np.uint32) + 128) // 257).astype(np.uint8),  # image (v+128)/257
    "clip": lambda v: np.minimum(v, 255).astype(np.uint8),  # Pillow Convert.c I16 -> L
    "keep": lambda v: v,
}


def sniff_format(data: bytes, source: str = "<bytes>") -> str:
    """``"png"`` (PNG §5.2 signature), ``"jpeg"`` (SOI + marker) or ``"webp"`` (RFC 9649 §2.4:
    ``RIFF``, a size, ``WEBP``); DecodeError otherwise."""
    if data[:8] == PNG_SIGNATURE:
        return "png"
    if data[:3] == JPEG_SOI:
        return "jpeg"
    if data[:4] == WEBP_RIFF and data[8:12] == WEBP_FORM:
        return "webp"
    raise DecodeError(f"not a PNG, JPEG or WebP file (starts with {bytes(data[:8])!r})",
                      source=source, offset=0)


def decode_image(data: bytes, step: Decode, *, source: str = "<bytes>") -> np.ndarray:
    """Decode ``data`` under the knobs of ``step`` (see the module docstring for each one).

    Returns an (H, W, C) uint8 array (uint16 only for 16-bit PNG input with a ``keep`` rule):
    C = 3 (rgb/bgr), 1 (gray), or the file's channels (unchanged), plus one if alpha is kept.
    Raises DecodeError (malformed), UnsupportedFeature (a valid feature the reference does not
    decode, e.g. 12-bit or arithmetic-coded JPEG), LimitsExceeded (more than
    ``step.max_pixels`` pixels).
    """
    data = bytes(data)
    fmt = sniff_format(data, source)
    if fmt == "jpeg":
        image = read_jpeg_cached(data, source, step.max_pixels, step.on_corrupt == "libjpeg-turbo")
        return jpeg_to_array(image, step, source=source)
    if fmt == "webp":
        return webp_to_array(read_webp(data, source=source, max_pixels=step.max_pixels,
                                       upsampling=step.webp_upsampling), step)
    image = read_png(data, source=source, max_pixels=step.max_pixels, frame=step.apng_frame)
    return png_to_array(image, step)


# Entropy decoding is exact and knob-free, so a file decoded under several knob sets (every
# pipeline of a bundle that starts with its own decode step) is entropy-decoded once per process.
JPEG_CACHE_SIZE = 16


def read_jpeg_cached(data: bytes, source: str, max_pixels: int, recover: bool = False) -> JpegImage:
    """:func:`~.jpeg.read_jpeg`, memoised on (bytes, source, limit, recovery). The coefficient arrays of the
    returned image are made read-only, so a reconstruction that tried to modify them in place
    would fail loudly instead of corrupting the next decode. Errors are not cached.

    With ``recover``, a file the strict reader accepts is the strict reader's image (recovery
    only changes what happens at an error), so the header probe's strict read (``jpeg_damage``)
    and a recovering decode of an intact file share one entropy decode."""
    if recover:
        try:
            return _read_jpeg_cached(data, source, max_pixels, False)
        except DecodeError:
            pass
    return _read_jpeg_cached(data, source, max_pixels, recover)


@functools.lru_cache(maxsize=JPEG_CACHE_SIZE)
def _read_jpeg_cached(data: bytes, source: str, max_pixels: int, recover: bool) -> JpegImage:
    image = read_jpeg(data, source=source, max_pixels=max_pixels, recover=recover)
    for c in image.components:
        c.coefficients.flags.writeable = False
        c.quant.flags.writeable = False
        if c.coef_bits is not None:
            c.coef_bits.flags.writeable = False
    return image


read_jpeg_cached.cache_info = _read_jpeg_cached.cache_info
read_jpeg_cached.cache_clear = _read_jpeg_cached.cache_clear


def jpeg_damage(data: bytes, source: str = "<bytes>") -> list[str] | None:
    """For a JPEG the strict reader rejects with a DecodeError but libjpeg-turbo's recovery
    decodes (``on_corrupt``): the recovery's warnings, in libjpeg's words; else None (an intact
    file, a header-level error, or damage that libjpeg-turbo does not repair either)."""
    from ..errors import ConformanceError

    limit = Decode().max_pixels
    try:
        read_jpeg_cached(bytes(data), source, limit, False)
        return None
    except DecodeError:
        pass
    except ConformanceError:
        return None
    try:
        return list(read_jpeg_cached(bytes(data), source, limit, True).warnings)
    except ConformanceError:
        return None


# The colour space libjpeg is asked for, per lossless_color policy (spec.Decode): Pillow asks for
# the file's own except YCbCr -> RGB and YCCK -> CMYK; OpenCV for the output's.
FILE_SPACE_REQUEST = {"ycbcr": "rgb", "ycck": "cmyk"}


def lossless_refusal(image: JpegImage, step: Decode, source: str) -> None:
    """UnsupportedFeature where libjpeg-turbo refuses a lossless file's colour conversion
    (jdcolor.c jinit_color_deconverter: out_color_space must equal jpeg_color_space in lossless
    mode); ``lossless_color="convert"`` never refuses."""
    if image.process != "lossless" or step.lossless_color == "convert":
        return
    space = jpeg_color_space(image, source)
    if step.lossless_color == "file_space":
        asked = FILE_SPACE_REQUEST.get(space, space)
    elif step.output == "gray":
        asked = "gray" if step.jpeg_gray == "y_plane" else "rgb"
    elif step.output == "unchanged":
        asked = space
    else:
        asked = "rgb"
    if asked != space:
        raise UnsupportedFeature(f"lossless JPEG in {space}, asked for {asked}: libjpeg-turbo does not "
                                 "convert colour in lossless mode (JERR_CONVERSION_NOTIMPL; "
                                 f"lossless_color={step.lossless_color!r})", source=source)


def jpeg_to_array(image: JpegImage, step: Decode, *, source: str = "<jpeg>") -> np.ndarray:
    """The JPEG part of the module docstring: reconstruct, pick the colour model, orient."""
    lossless_refusal(image, step, source)
    knobs = dict(idct=step.idct, range_limit=step.range_limit, upsampling=step.upsampling,
                 ycc=step.ycc, cmyk=step.cmyk, cmyk_rgb=step.cmyk_rgb,
                 block_smoothing=step.block_smoothing, dct_scale=step.dct_scale, source=source)
    if step.output == "gray":
        if step.jpeg_gray == "y_plane" or jpeg_color_space(image, source) == "gray":
            out = reconstruct(image, colour="gray", **knobs)
        else:
            out = luma(reconstruct(image, colour="rgb", **knobs), step.gray_coefficients,
                       step.gray_arithmetic)
    elif step.output == "unchanged":
        out = reconstruct(image, colour="native", **knobs)
    else:
        out = reconstruct(image, colour="rgb", **knobs)
        if step.output == "bgr":
            out = out[:, :, ::-1]
    return oriented(out, step, image.exif, image.xmp)


def png_to_array(image: PngImage, step: Decode) -> np.ndarray:
    """Steps 1-7 of the module docstring on a decoded PNG image."""
    colour, alpha, binary_alpha = channels_at_native_depth(image, step.trns)
    native_luma = step.output == "gray" and step.gray_arithmetic == "libpng_fixed"
    if native_luma and colour.shape[2] == 3:  # step 2: libpng converts before strip_16
        colour = luma(colour, step.gray_coefficients, step.gray_arithmetic)
    colour, alpha = to_output_depth(image, colour, alpha, binary_alpha, step)
    if step.output in ("rgb", "bgr") and colour.shape[2] == 1:
        colour = np.repeat(colour, 3, axis=2)  # gray -> RGB by replication
    if alpha is not None and step.alpha == "composite":
        colour = composite(colour, alpha, _background(step, colour))
        alpha = None
    if step.output == "gray" and colour.shape[2] == 3:  # step 4 (libpng_fixed: done in step 2)
        colour = luma(colour, step.gray_coefficients, step.gray_arithmetic)
    if step.output == "bgr":
        colour = colour[:, :, ::-1]
    out = colour if alpha is None or step.alpha != "keep" else np.concatenate([colour, alpha], 2)
    if step.orientation == "apply":
        if step.orientation_source == "pillow":
            return apply_orientation(out, pillow_orientation(pillow_png_info(image.metadata_chunks)))
        return apply_orientation(out, image.exif_orientation)
    return np.ascontiguousarray(out)


def webp_to_array(image: WebpImage, step: Decode) -> np.ndarray:
    """The WebP part of the module docstring: colour and alpha of :func:`.webp.image.read_webp`
    (8-bit RGB, alpha or none), then ``alpha``, the colour model, the channel order and the
    orientation of the EXIF chunk."""
    colour, alpha = image.colour, image.alpha
    if alpha is not None and step.alpha == "composite":
        colour, alpha = composite(colour, alpha, _background(step, colour)), None
    if step.output == "gray":
        colour = (fixed_luma(colour, "opencv_fixed") if step.webp_gray == "opencv_fixed"
                  else luma(colour, step.gray_coefficients, step.gray_arithmetic))
    elif step.output == "bgr":
        colour = colour[:, :, ::-1]
    out = colour if alpha is None or step.alpha != "keep" else np.concatenate([colour, alpha], 2)
    exif = strip_exif_identifier(image.exif) if image.exif is not None else None
    return oriented(out, step, exif, image.xmp)


def oriented(out: np.ndarray, step: Decode, exif: bytes | None, xmp: bytes | None) -> np.ndarray:
    """``out`` turned by the orientation of an Exif TIFF payload (``exif``; Pillow's sources: its
    XMP too), as ``orientation`` and ``orientation_source`` say: JPEG's APP1, WebP's chunks."""
    if step.orientation == "apply":
        if step.orientation_source == "pillow":
            return apply_orientation(out, pillow_orientation(pillow_jpeg_info(exif, xmp)))
        if exif is not None:
            return apply_orientation(out, read_orientation(exif)[0])
    return np.ascontiguousarray(out)


def channels_at_native_depth(image: PngImage, trns: str):
    """Step 1: (colour (H, W, 1|3), alpha (H, W, 1) or None, alpha-is-a-tRNS-mask flag).

    For a tRNS key the returned alpha is a bool array, True where the pixel is transparent.
    """
    s, ct = image.samples, image.colour_type
    if ct == 3:  # §11.2.2: index -> RGB; §11.3.1.1: index -> alpha
        idx = s[:, :, 0]
        colour = image.palette[idx]
        if trns == "apply" and image.palette_alpha is not None:
            return colour, image.palette_alpha[idx][:, :, None], False
        return colour, None, False
    if ct in (4, 6):
        return s[:, :, :-1], s[:, :, -1:], False
    if trns == "apply" and image.trns_key is not None:  # types 0 and 2: a key colour
        key = np.array(image.trns_key, dtype=s.dtype)
        return s, np.all(s == key, axis=2, keepdims=True), True
    return s, None, False


def depth16_rule(image: PngImage, step: Decode) -> str:
    """The 16-bit rule for this image: ``depth16_gray`` for colour type 0 unless ``same``."""
    if image.colour_type == 0 and step.depth16_gray != "same":
        return step.depth16_gray
    return step.depth16


def to_output_depth(image: PngImage, colour, alpha, binary_alpha: bool, step: Decode):
    """Step 3: sub-8-bit gray to 8 bits, 16-bit by the image's rule, tRNS mask to 0/max."""
    d = image.bit_depth
    if d < 8 and image.colour_type == 0:
        colour = (colour.astype(np.uint16) * 255 // ((1 << d) - 1)).astype(np.uint8)
    elif d == 16:
        rule = DEPTH16_RULES[depth16_rule(image, step)]
        colour = rule(colour)
        if alpha is not None and not binary_alpha:
            alpha = rule(alpha)
    if binary_alpha:
        opaque = np.iinfo(colour.dtype).max
        alpha = np.where(alpha, 0, opaque).astype(colour.dtype)
    return colour, alpha


def luma(rgb: np.ndarray, coefficients: str, arithmetic: str) -> np.ndarray:
    """Y of an (H, W, 3) uint8/uint16 array as (H, W, 1), same dtype (module docstring steps 2, 4)."""
    required = FIXED_LUMA_COEFFICIENTS.get(arithmetic)
    if required is not None and coefficients != required:
        raise SpecError(f"gray_arithmetic {arithmetic!r} exists only for {required}",
                        field="gray_arithmetic", value=arithmetic)
    if arithmetic == "libpng_fixed":
        return libpng_luma(rgb)
    if arithmetic == "float":
        return rgb_to_gray(rgb, coefficients, arithmetic, "half_up")
    if arithmetic == "image_f32":
        return image_luma(rgb)
    if arithmetic == "vips_linear":
        return vips_luma(rgb)
    return fixed_luma(rgb, arithmetic)


def libpng_luma(rgb: np.ndarray) -> np.ndarray:
    """libpng png_do_rgb_to_gray without gamma tables (pngrtran.c), on uint8 or uint16 samples:

        8-bit:  Y = (rc·R + gc·G + bc·B) >> 15           (no rounding term)
        16-bit: Y = (rc·R + gc·G + bc·B + 2^14) >> 15    (rounded)

    with (rc, gc, bc) = :data:`LIBPNG_GRAY_WEIGHTS`. Returns (H, W, 1) in the input dtype.
    libpng copies R when R = G = B; the formulas give R there too, as rc + gc + bc = 2^15.
    """
    rc, gc, bc = LIBPNG_GRAY_WEIGHTS
    x = rgb.astype(np.uint32)  # as libpng: the sum is at most 2^15·65535 + 2^14 < 2^32
    y = rc * x[..., 0] + gc * x[..., 1] + bc * x[..., 2]
    if rgb.dtype == np.uint16:
        y = y + LIBPNG_GRAY_ROUND_16  # "From 1.5.5 in the 16-bit case do the accurate conversion"
    return (y >> LIBPNG_GRAY_SHIFT).astype(rgb.dtype)[..., None]


def _background(step: Decode, colour: np.ndarray) -> np.ndarray:
    """The composite background in the colour model and depth of ``colour``."""
    bg = np.array(step.background, dtype=np.uint8).reshape(1, 1, 3)
    if colour.shape[2] == 1:
        bg = luma(bg, step.gray_coefficients, step.gray_arithmetic)
    bg = bg.reshape(-1).astype(np.int64)
    return bg * BACKGROUND_SCALE_16 if colour.dtype == np.uint16 else bg


# WebP (:mod:`.webp`): the container, then VP8L (RGBA) or VP8 (Y, U, V; ``webp_upsampling``) with
# its ALPH chunk, as libwebp's WebPDecodeRGBA; then, as for PNG: ``alpha`` (drop / keep /
# composite over ``background``), ``output`` (gray: ``webp_gray`` = the gray rule on the decoded
# RGB, or OpenCV's cvtColor), bgr, and the EXIF chunk's orientation (``orientation_source``
# pillow: its XMP too). Checked against Pillow and OpenCV in tests/test_webp_decode.py.

# ---------------------------------------------------------------------------------------------
# probe: metadata for bundles, without decoding pixels
# ---------------------------------------------------------------------------------------------


def probe(data: bytes, source: str = "<bytes>") -> dict:
    """Format, size and metadata of an encoded image, from its headers (no pixel decoding).

    Keys: format ("png"/"jpeg"), width, height, colour_type (PNG: gray, rgb, palette,
    gray_alpha, rgba; JPEG: gray or "<n>-component"), channels, bit_depth, interlaced (PNG Adam7 /
    progressive JPEG), orientation (EXIF value as stored, or None), has_icc, has_trns (PNG only),
    warnings (list of benign problems found). Malformed headers raise DecodeError.
    """
    data = bytes(data)
    fmt = sniff_format(data, source)
    if fmt == "jpeg":
        return _probe_jpeg(data, source)
    if fmt == "webp":
        return _probe_webp(data, source)
    info = read_png_info(data, source=source)
    return {"format": "png", "width": info.width, "height": info.height,
            "colour_type": COLOUR_TYPES[info.colour_type][0], "channels": info.channels,
            "bit_depth": info.bit_depth, "interlaced": info.interlaced,
            "orientation": info.exif_orientation, "has_icc": info.icc_profile is not None,
            "has_trns": info.trns_key is not None or info.palette_alpha is not None,
            "animated": any(c == b"acTL" for c, _, _ in info.animation_chunks),
            "warnings": list(info.warnings)}


def _probe_webp(data: bytes, source: str) -> dict:
    """The container facts of a WebP file (:func:`.webp.container.read_webp_info`)."""
    info = read_webp_info(data, source)
    orientation = None
    if info.exif is not None:
        orientation = read_orientation(strip_exif_identifier(info.exif))[0]
    return {"format": "webp", "width": info.width, "height": info.height,
            "colour_type": "rgba" if info.has_alpha else "rgb",
            "channels": 4 if info.has_alpha else 3, "bit_depth": 8, "interlaced": False,
            "orientation": orientation, "has_icc": info.icc is not None, "has_trns": False,
            "animated": info.animated, "lossless": info.kind == "lossless",
            "warnings": list(info.warnings)}


# T.81 Table B.1: every SOFn marker (the processes the reader decodes and those it does not);
# probe describes a file's header whatever its process.
JPEG_SOF_MARKERS = set(jpeg_markers.SOF_PROCESSES) | set(jpeg_markers.UNSUPPORTED_SOF)
JPEG_PROGRESSIVE_SOF = {0xC2, 0xC6, 0xCA, 0xCE}
JPEG_LOSSLESS_SOF = 0xC3  # the lossless process the reference decodes (Huffman, Annex H)
FRAME_HEADER_FIXED = ">BHHB"  # B.2.2: P, Y, X, Nf before the component specifications


def _probe_jpeg(data: bytes, source: str) -> dict:
    """Walk the marker segments (T.81 B.1.1) up to SOS with the reader's marker functions:
    frame header, Exif orientation, ICC presence."""
    info: dict = {"format": "jpeg", "orientation": None, "has_icc": False, "warnings": []}
    pos = 2  # after SOI
    while True:
        found = jpeg_markers.next_marker(data, pos, source)
        if found is None:
            raise DecodeError("truncated JPEG header (no SOS marker)", source=source, offset=pos)
        marker, at, pos = found
        if marker == jpeg_markers.EOI:
            raise DecodeError("EOI before any scan", source=source, offset=at)
        if jpeg_markers.is_standalone(marker):
            continue
        body, end = jpeg_markers.read_segment(data, marker, at, source)
        payload = jpeg_markers.exif_payload(body) if marker == jpeg_markers.APP0 + 1 else None
        if payload is not None and info["orientation"] is None:
            info["orientation"], reason = read_orientation(body)
            if reason:
                info["warnings"].append(f"APP1 Exif at byte {at}: {reason}")
        elif marker == jpeg_markers.APP0 + 2 and jpeg_markers.icc_chunk(body) is not None:
            info["has_icc"] = True
        elif marker in JPEG_SOF_MARKERS:
            if len(body) < struct.calcsize(FRAME_HEADER_FIXED):
                raise DecodeError("frame header shorter than 6 bytes", source=source, offset=at)
            precision, height, width, components = struct.unpack_from(FRAME_HEADER_FIXED, body, 0)
            info.update(width=width, height=height, bit_depth=precision, channels=components,
                        colour_type="gray" if components == 1 else f"{components}-component",
                        interlaced=marker in JPEG_PROGRESSIVE_SOF,
                        lossless=marker == JPEG_LOSSLESS_SOF)
        elif marker == jpeg_markers.SOS:
            if "width" not in info:
                raise DecodeError("SOS before a frame header (SOFn)", source=source, offset=at)
            return info
        pos = end
