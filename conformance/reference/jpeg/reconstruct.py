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

**Lossless frames** (SOF3, :mod:`.lossless`) carry samples, not coefficients: steps 2 and 3 do
not exist, so ``idct``, ``range_limit`` and ``block_smoothing`` have no effect; step 4 is always
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
# Lossless frames: libjpeg-turbo 3 runs its usual upsampler, but with a sample size of 1
# (jdmaster.c: min_DCT_scaled_size = 1) jdsample.c never chooses a fancy kernel (they need a
# DCT scaled size > 1), so every ratio is replicated.
LOSSLESS_UPSAMPLING = "nearest"


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def component_blocks(image: JpegImage, comp: Component, *, idct: str = "islow",
                     range_limit: str = "saturate", smooth: bool = False,
                     padded: bool = False) -> np.ndarray:
    """Steps 2-3 for one component: its sample plane of whole blocks, (8·bh, 8·bw) uint8.

    bh × bw = ceil(dh/8) × ceil(dw/8), the blocks holding real samples (what libjpeg transforms),
    or with ``padded`` the whole MCU-padded array (zune-jpeg transforms and upsamples it all).
    ``smooth``: apply libjpeg-turbo's block smoothing to the real blocks first.
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
    if idct == "islow":
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
    return blocks.reshape(bh, bw, DCTSIZE, DCTSIZE).transpose(0, 2, 1, 3).reshape(bh * DCTSIZE,
                                                                                    bw * DCTSIZE)


def reconstruct(image: JpegImage, *, colour: str = "rgb", idct: str = "islow",
                range_limit: str = "saturate", upsampling: str = "fancy",
                ycc: str = "libjpeg_fixed", cmyk: str = "adobe_inverted", cmyk_rgb: str = "pillow",
                block_smoothing: str = "libjpeg-turbo", source: str = "<jpeg>") -> np.ndarray:
    """The image in ``colour`` model (module docstring) under the given knobs, (H, W, C) uint8."""
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
    for comp in needed:
        hx, vx = upsample_mod.ratio(comp.h, comp.v, image.hmax, image.vmax, source)
        plane = component_blocks(image, comp, idct=idct, range_limit=range_limit, smooth=smooth,
                                 padded=upsampling == "zune")
        planes.append(upsample_mod.upsample(plane, comp.width, comp.height, hx, vx, image.width,
                                            image.height, upsampling))
    return _convert(space, planes, colour, ycc=ycc, cmyk=cmyk, cmyk_rgb=cmyk_rgb)


def _convert(space: str, planes: list[np.ndarray], colour: str, *, ycc: str, cmyk: str,
             cmyk_rgb: str) -> np.ndarray:
    """Step 5: the full-size planes in the requested colour model."""
    if colour == "gray":
        return colorconvert.to_gray(space, planes, ycc=ycc, cmyk=cmyk, cmyk_rgb=cmyk_rgb)[:, :, None]
    if colour == "rgb":
        return colorconvert.to_rgb(space, planes, ycc=ycc, cmyk=cmyk, cmyk_rgb=cmyk_rgb)
    return colorconvert.to_native(space, planes, ycc=ycc, cmyk=cmyk)
