"""From entropy-decoded coefficients (:class:`~.model.JpegImage`) to an (H, W, C) uint8 image.

The steps, each a small module with its own knob, in libjpeg's order (``jdcoefct.c`` ->
``jddctmgr.c`` -> ``jdsample.c`` -> ``jdcolor.c``):

1. **Colour space** of the file (:func:`.colorconvert.jpeg_color_space`) and the components the
   requested colour model needs: ``gray`` output of a gray or YCbCr file needs only the first
   component (libjpeg's ``component_needed``; chroma is not even inverse-transformed).
2. **Block smoothing** (:mod:`.smoothing`, ``block_smoothing``) of progressive files that
   ``smoothing_ok`` accepts.
3. **IDCT** (:mod:`.idct`, ``idct`` and ``range_limit``) of every block that holds real
   samples: ceil(dw/8) × ceil(dh/8) blocks (the MCU padding is skipped, as libjpeg does), giving a
   plane of whole blocks whose top-left dh × dw samples are the component's (T.81 A.1.1). With
   ``upsampling="zune"`` every block of the MCU-padded array, since zune-jpeg's upsampler reads
   the padding.
4. **Upsampling** (:mod:`.upsample`, ``upsampling``) of each component by (Hmax/h, Vmax/v) to
   the frame's X × Y.
5. **Colour conversion** (:mod:`.colorconvert`, ``ycc``, ``cmyk``, ``cmyk_rgb``) to the model:

   - ``rgb``: (H, W, 3) RGB (gray replicated; CMYK/YCCK through the ink convention and
     ``cmyk_rgb``);
   - ``gray``: (H, W, 1), libjpeg's JCS_GRAYSCALE output (Y of gray/YCbCr files, libjpeg's luma of
     RGB files; CMYK/YCCK, which libjpeg cannot convert, as OpenCV's IMREAD_GRAYSCALE does:
     ``cmyk_rgb`` then its 14-bit luma, :func:`.colorconvert.to_gray`);
   - ``native``: the file's own model: gray (H, W, 1), YCbCr/RGB as RGB (H, W, 3), CMYK/YCCK as
     (H, W, 4) ink values.

**DCT-domain scaling** (``dct_scale`` s = 2, 4, 8: libjpeg's scale_num/scale_denom = 1/s, as
Pillow's ``draft``, OpenCV's ``IMREAD_REDUCED_*`` and TensorFlow's ``ratio`` set it), in
libjpeg-turbo's terms (``jdmaster.c``, ``jddctmgr.c``, ``jdsample.c``), with m = 8/s:

- output X' × Y' = ceil(X·m/8) × ceil(Y·m/8) (``jdiv_round_up``);
- each component's scaled block size k (:func:`scaled_block_size`): m, doubled while below 8 and
  the component is subsampled by at least that much more in both directions; its real samples
  dw' = ceil(X·h·k/(Hmax·8)), dh' = ceil(Y·v·k/(Vmax·8));
- step 3 per block: k = 8 runs ``idct``; k = 4, 2, 1 run jidctred.c's reduced transforms
  (:func:`.idct.reduced`) whatever ``idct`` says;
- step 4 with the ratio Hmax/(h·k/m) × Vmax/(v·k/m) on the dw' × dh' samples, the same kernels
  as at full size (so 4:2:0 at 1/2 has chroma at k = 8 and no upsampling left, 4:2:2 is upsampled
  2x horizontally at the reduced size), except that at 1/8 (m = 1) libjpeg never upsamples
  fancily (jdsample.c: ``do_fancy = do_fancy_upsampling && min_DCT_scaled_size > 1``);
- block smoothing (step 2) is unchanged: it acts on coefficients.

Measured 0 LSB against Pillow 13 (libjpeg-turbo 3.2.0, ``draft``), OpenCV 5 (3.1.2,
``IMREAD_REDUCED_*``) and TensorFlow 2.21 (2.1.4, ``ratio``, islow and ifast, fancy and not):
tests/test_jpeg_dct_scale.py.

**Lossless frames** (SOF3, :mod:`.lossless`) carry samples, not coefficients: steps 2 and 3 do
not exist, so ``idct``, ``range_limit``, ``block_smoothing`` and ``dct_scale`` have no effect
(libjpeg-turbo does not scale lossless frames: ``jpeg_core_output_dimensions``); step 4 is always
replication (``upsampling`` has no effect: libjpeg-turbo 3 never uses its fancy upsampler for
lossless data, see ``LOSSLESS_UPSAMPLING``); step 5 is the same as for DCT frames (the file's
colour space is guessed the same way, ``jdapimin.c default_decompress_parms``, so three
components with ids 1, 2, 3 or a JFIF marker are YCbCr and converted; ``ycc``, ``cmyk`` and
``cmyk_rgb`` apply).

Every knob value is listed on the module that implements it; the defaults are libjpeg-turbo's
default decompression as the Pillow 13 and OpenCV 5 wheels run it.
"""

from __future__ import annotations

import numpy as np

from ...errors import UnsupportedFeature
from . import colorconvert, idct as idct_mod, smoothing, upsample as upsample_mod
from .model import Component, JpegImage

DCTSIZE = 8
COLOUR_MODELS = ("rgb", "gray", "native")
IDCT_METHODS = ("islow", "ifast", "float", "zune")
# DCT-domain scaling denominators (libjpeg scale_num = 1, scale_denom = 1, 2, 4, 8).
DCT_SCALES = (1, 2, 4, 8)
# Lossless frames: libjpeg-turbo 3 runs its usual upsampler, but with a sample size of 1
# (jdmaster.c: min_DCT_scaled_size = 1) jdsample.c never chooses a fancy kernel (they need a
# DCT scaled size > 1), so every ratio is replicated.
LOSSLESS_UPSAMPLING = "nearest"


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def component_blocks(image: JpegImage, comp: Component, *, idct: str = "islow",
                     range_limit: str = "saturate", smooth: bool = False,
                     padded: bool = False, size: int = DCTSIZE) -> np.ndarray:
    """Steps 2-3 for one component: its sample plane of whole blocks, (size·bh, size·bw) uint8.

    bh × bw = ceil(dh/8) × ceil(dw/8), the blocks holding real samples (what libjpeg transforms),
    or with ``padded`` the whole MCU-padded array (zune-jpeg transforms and upsamples it all).
    ``smooth``: apply libjpeg-turbo's block smoothing to the real blocks first. ``size``: the
    component's scaled block size (:func:`scaled_block_size`); 8 runs ``idct``, 4, 2 and 1 the
    reduced transforms of :func:`.idct.reduced`, whatever ``idct`` says (as libjpeg-turbo).
    """
    coef = np.asarray(comp.coefficients)
    bh, bw = _ceil_div(comp.height, DCTSIZE), _ceil_div(comp.width, DCTSIZE)
    if smooth:
        total_imcu_rows = _ceil_div(image.height, DCTSIZE * image.vmax)
        coef = coef.astype(np.int64)  # a copy: the stored coefficients are not modified
        coef[:bh, :bw] = smoothing.smooth_component(comp, bh, bw, total_imcu_rows,
                                                    image.last_good_imcu_row)
    if not padded:
        coef = coef[:bh, :bw]
    bh, bw = coef.shape[:2]
    flat = coef.reshape(-1, 64)
    if size != DCTSIZE:
        blocks = idct_mod.reduced(flat, comp.quant, size, limit=range_limit)
    elif idct == "islow":
        blocks = idct_mod.islow(flat, comp.quant, limit=range_limit)
    elif idct == "ifast":
        blocks = idct_mod.ifast(flat, comp.quant, limit=range_limit)
    elif idct == "float":
        blocks = idct_mod.float_idct(flat, comp.quant)
    elif idct == "zune":
        blocks = idct_mod.zune_idct(flat, comp.quant)
    else:
        raise ValueError(f"unknown idct {idct!r}; known: {', '.join(IDCT_METHODS)}")
    # (bh·bw, 8, 8) -> (bh, 8, bw, 8) -> plane: block (i, j) sample (y, x) at (8i + y, 8j + x)
    return blocks.reshape(bh, bw, size, size).transpose(0, 2, 1, 3).reshape(bh * size, bw * size)


def scaled_block_size(image: JpegImage, comp: Component, min_size: int) -> int:
    """libjpeg-turbo's DCT_scaled_size of one component (``jdmaster.c
    jpeg_calc_output_dimensions``) when the frame is scaled to ``min_size``/8.

    Starting from min_size, the size is doubled while it is below 8 and both
    (Hmax·min_size) mod (h·size·2) = 0 and (Vmax·min_size) mod (v·size·2) = 0: a subsampled
    component is inverse-transformed at a larger size instead of being upsampled ("we try to scale
    up the chroma components via IDCT scaling rather than upsampling"). E.g. 4:2:0 at 1/2:
    luma 4, chroma 8 (the full IDCT, then no upsampling); 4:2:2 at 1/2: chroma stays 4
    (the vertical test fails) and is upsampled 2x horizontally at the reduced size.
    """
    size = min_size
    while (size < DCTSIZE and (image.hmax * min_size) % (comp.h * size * 2) == 0
           and (image.vmax * min_size) % (comp.v * size * 2) == 0):
        size *= 2
    return size


def reconstruct(image: JpegImage, *, colour: str = "rgb", idct: str = "islow",
                range_limit: str = "saturate", upsampling: str = "fancy",
                ycc: str = "libjpeg_fixed", cmyk: str = "adobe_inverted", cmyk_rgb: str = "pillow",
                block_smoothing: str = "libjpeg-turbo", dct_scale: int = 1,
                source: str = "<jpeg>") -> np.ndarray:
    """The image in ``colour`` model (module docstring) under the given knobs, (H, W, C) uint8;
    with ``dct_scale`` > 1 (DCT frames only) ceil(H/dct_scale) × ceil(W/dct_scale)."""
    if colour not in COLOUR_MODELS:
        raise ValueError(f"unknown colour model {colour!r}; known: {', '.join(COLOUR_MODELS)}")
    if block_smoothing not in smoothing.SMOOTHING_METHODS:
        raise ValueError(f"unknown block_smoothing {block_smoothing!r}")
    if image.precision != 8:
        raise UnsupportedFeature(f"{image.precision}-bit JPEG samples (only 8-bit)", source=source)
    space = colorconvert.jpeg_color_space(image, source)
    needed = image.components[:1] if colour == "gray" and space in ("gray", "ycbcr") \
        else image.components
    planes = []
    if image.process == "lossless":
        for comp in needed:
            hx, vx = upsample_mod.ratio(comp.h, comp.v, image.hmax, image.vmax, source)
            planes.append(upsample_mod.upsample(comp.samples.astype(np.int32), comp.width,
                                                comp.height, hx, vx, image.width, image.height,
                                                LOSSLESS_UPSAMPLING))
        return _convert(space, planes, colour, ycc=ycc, cmyk=cmyk, cmyk_rgb=cmyk_rgb)
    smooth = block_smoothing != "off" and smoothing.smoothing_ok(image)
    if dct_scale != 1:
        return _convert(space, scaled_planes(image, needed, dct_scale, idct=idct,
                                             range_limit=range_limit, upsampling=upsampling,
                                             smooth=smooth, source=source),
                        colour, ycc=ycc, cmyk=cmyk, cmyk_rgb=cmyk_rgb)
    for comp in needed:
        hx, vx = upsample_mod.ratio(comp.h, comp.v, image.hmax, image.vmax, source)
        plane = component_blocks(image, comp, idct=idct, range_limit=range_limit, smooth=smooth,
                                 padded=upsampling == "zune")
        planes.append(upsample_mod.upsample(plane, comp.width, comp.height, hx, vx, image.width,
                                            image.height, upsampling))
    return _convert(space, planes, colour, ycc=ycc, cmyk=cmyk, cmyk_rgb=cmyk_rgb)


def scaled_planes(image: JpegImage, needed: list[Component], dct_scale: int, *, idct: str,
                  range_limit: str, upsampling: str, smooth: bool, source: str) -> list[np.ndarray]:
    """Steps 3-4 with DCT-domain scaling by 1/``dct_scale`` (libjpeg's scale_num = 1,
    scale_denom = dct_scale; module docstring): the full-grid planes, (ceil(Y/s), ceil(X/s))."""
    if dct_scale not in DCT_SCALES:
        raise ValueError(f"unknown dct_scale {dct_scale!r}; known: {', '.join(map(str, DCT_SCALES))}")
    if upsampling == "zune":
        raise UnsupportedFeature("zune-jpeg has no DCT scaling (upsampling 'zune' with dct_scale "
                                 f"{dct_scale})", source=source)
    min_size = DCTSIZE // dct_scale  # jdmaster.c: min_DCT_scaled_size
    # jpeg_core_output_dimensions: output_width = jdiv_round_up(image_width · min_size, 8)
    width, height = _ceil_div(image.width * min_size, DCTSIZE), _ceil_div(image.height * min_size,
                                                                          DCTSIZE)
    # jdsample.c jinit_upsampler: "jdmainct.c doesn't support context rows when
    # min_DCT_scaled_size = 1", so at 1/8 every component is replicated
    method = upsampling if min_size > 1 else "nearest"
    planes = []
    for comp in needed:
        size = scaled_block_size(image, comp, min_size)
        # the component's samples after IDCT scaling (jpeg_calc_output_dimensions)
        dw = _ceil_div(image.width * comp.h * size, image.hmax * DCTSIZE)
        dh = _ceil_div(image.height * comp.v * size, image.vmax * DCTSIZE)
        # jinit_upsampler: an input group of h·size/min_size samples makes Hmax output pixels
        hx, vx = upsample_mod.ratio(comp.h * size // min_size, comp.v * size // min_size,
                                    image.hmax, image.vmax, source)
        plane = component_blocks(image, comp, idct=idct, range_limit=range_limit, smooth=smooth,
                                 size=size)
        planes.append(upsample_mod.upsample(plane, dw, dh, hx, vx, width, height, method))
    return planes


def _convert(space: str, planes: list[np.ndarray], colour: str, *, ycc: str, cmyk: str,
             cmyk_rgb: str) -> np.ndarray:
    """Step 5: the full-size planes in the requested colour model."""
    if colour == "gray":
        return colorconvert.to_gray(space, planes, ycc=ycc, cmyk=cmyk, cmyk_rgb=cmyk_rgb)[:, :, None]
    if colour == "rgb":
        return colorconvert.to_rgb(space, planes, ycc=ycc, cmyk=cmyk, cmyk_rgb=cmyk_rgb)
    return colorconvert.to_native(space, planes, ycc=ycc, cmyk=cmyk)
