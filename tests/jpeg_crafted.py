"""JPEGs with crafted DCT coefficients, shared by the range-limit tests (tests/test_jpeg_decode.py,
tests/test_jpeg_dct_scale.py)."""

from __future__ import annotations

import os
import tempfile

import numpy as np

from conformance.encoders import jpeg as ej

JPEGLIB_VERSION = "turbo210"  # libjpeg-turbo 2.1.0, C build (no SIMD)


def out_of_range_gray_jpeg(ac: int = 0) -> bytes:
    """A flat 16x16 gray JPEG (Pillow, quality 90: DC quantiser Q = 3) whose four blocks get the
    DC coefficients 1500, 2000, 600, -1400 (block order 0,0 / 0,1 / 1,0 / 1,1; the DC differences
    stay within the 11-bit category): ±2000·Q/8 ≈ ±750 levels after the IDCT, outside 0..255, so
    the decoder's range limit decides the pixels. ``ac``, when not 0, becomes block (0, 0)'s first
    AC coefficient. Written through jpeglib's coefficient access (needs jpeglib)."""
    import jpeglib

    flat = ej.encode_pillow(np.full((16, 16), 128, np.uint8), quality=90, sampling="gray")
    jpeglib.version.set(JPEGLIB_VERSION)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "flat.jpg")
        with open(path, "wb") as f:
            f.write(flat)
        j = jpeglib.read_dct(path)
        y = j.Y.copy()
        y[0, 0, 0, 0], y[0, 1, 0, 0], y[1, 0, 0, 0], y[1, 1, 0, 0] = 1500, 2000, 600, -1400
        if ac:
            y[0, 0, 0, 1] = ac
        j.Y = y
        j.write_dct(path)
        with open(path, "rb") as f:
            return f.read()
