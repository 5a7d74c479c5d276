"""A WebP file to colour + alpha planes, as libwebp's WebPDecodeRGBA gives them: the entry point
of the ``decode`` op for WebP (:func:`conformance.reference.decode.decode_image`).

1. :func:`.container.parse_webp` reads the RIFF container (animated files: UnsupportedFeature).
2. Lossless (``VP8L``): :func:`.vp8l.decode_vp8l` gives RGBA directly; the VP8L bit reader may
   run into the chunk's padding byte, as Pillow's libwebp path does (``extent="padded"``).
3. Lossy (``VP8 ``): :func:`.vp8.decode_vp8` gives the Y, U, V planes of the key frame;
   :func:`.yuv.yuv420_to_rgb` converts them with the knob ``webp_upsampling`` (``fancy``:
   libwebp's default, Pillow, OpenCV, dwebp; ``nearest``: ``no_fancy_upsampling``); an ``ALPH``
   chunk gives the alpha plane (:func:`.alpha.decode_alpha`).
4. ``has_alpha`` is WebPGetFeatures' (the VP8X flag, or the VP8L header's alpha hint, or an ALPH
   chunk): without it the image has no alpha channel (Pillow opens it as mode RGB and OpenCV's
   IMREAD_UNCHANGED returns 3 channels), whatever alpha values a VP8L bitstream holds.

Measured (tests/test_webp_decode.py): Pillow 13 and OpenCV 5 (libwebp 1.6.0) give these colour
planes bit for bit under ``convert('RGB')`` / ``IMREAD_COLOR``, the alpha plane under
``convert('RGBA')`` / ``IMREAD_UNCHANGED``; OpenCV applies the EXIF orientation of the ``EXIF``
chunk under IMREAD_COLOR, and its IMREAD_GRAYSCALE converts the decoded BGR with cv2.cvtColor
(``webp_gray="opencv_fixed"``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .alpha import decode_alpha
from .container import lossless_rgba, parse_webp
from .vp8 import decode_vp8
from .yuv import yuv420_to_rgb


@dataclass(frozen=True)
class WebpImage:
    """A decoded WebP still image: ``colour`` (H, W, 3) uint8 RGB, ``alpha`` (H, W, 1) uint8 or
    None (no alpha per WebPGetFeatures), ``lossless``, the metadata chunks (``exif``: the TIFF
    payload of the EXIF chunk; ``xmp``; ``icc``) and the reader's ``warnings``."""

    colour: np.ndarray
    alpha: np.ndarray | None
    lossless: bool
    exif: bytes | None
    xmp: bytes | None
    icc: bytes | None
    warnings: tuple[str, ...]


def read_webp(data: bytes, *, source: str = "<bytes>", max_pixels: int,
              upsampling: str = "fancy") -> WebpImage:
    """Decode a WebP still image (module docstring). Raises DecodeError, UnsupportedFeature
    (an animation) or LimitsExceeded (more than ``max_pixels`` pixels, before allocating)."""
    info = parse_webp(data, source=source)
    warnings = list(info.warnings)
    if info.kind == "lossless":
        rgba = lossless_rgba(info, source=source, max_pixels=max_pixels)
        colour, alpha = rgba[:, :, :3], rgba[:, :, 3:]
    else:
        frame = decode_vp8(info.bitstream, source=source, max_pixels=max_pixels)
        warnings += frame.warnings
        colour = yuv420_to_rgb(frame.y, frame.u, frame.v, upsampling=upsampling)
        alpha = None
        if info.alph is not None:
            alpha = decode_alpha(info.alph, frame.width, frame.height, source=source)[:, :, None]
    if not info.has_alpha:
        alpha = None
    return WebpImage(colour=np.ascontiguousarray(colour),
                     alpha=None if alpha is None else np.ascontiguousarray(alpha),
                     lossless=info.kind == "lossless", exif=info.exif, xmp=info.xmp, icc=info.icc,
                     warnings=tuple(warnings))
