"""Encode: write integer pixels to a PNG or JPEG file and read the file back (see spec.Encode).

The writers are the corpus's own (:mod:`conformance.encoders`): our PNG encoder, and Pillow's
libjpeg-turbo JPEG encoder with every option explicit. The file is read back by the reference
decoder (libjpeg-turbo's default reconstruction for JPEG), so the output is what any conforming
reader of the written file sees.
"""

from __future__ import annotations

import numpy as np

from ...errors import SpecError
from ...spec import Decode, Encode

#: PNG colour type per channel count: gray, gray+alpha, rgb, rgba
PNG_COLOUR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}


def encode_bytes(image: np.ndarray, step: Encode) -> bytes:
    """The file ``step`` writes for ``image`` (H, W, C integers): the array's channels are
    ``channel_order``; the file stores RGB(A) or gray."""
    channels = image.shape[2]
    if image.dtype not in (np.uint8, np.uint16):
        raise SpecError(f"encode writes uint8 or uint16 pixels, got {image.dtype.name} "
                        "(quantize first)", field="op", value="encode")
    a = image
    if step.channel_order == "bgr" and channels in (3, 4):
        a = np.concatenate([a[..., 2::-1], a[..., 3:]], axis=2)
    if step.format == "png":
        from ...encoders.png import encode_png
        return encode_png(np.ascontiguousarray(a), colour_type=PNG_COLOUR_TYPES[channels],
                          bit_depth=16 if a.dtype == np.uint16 else 8, filters="rotate")
    from ...encoders.jpeg import encode_pillow
    if a.dtype != np.uint8:
        raise SpecError("JPEG stores 8-bit samples; this image is uint16 (quantize to uint8, "
                        "or write PNG)", field="format", value="jpeg")
    if channels not in (1, 3):
        raise SpecError(f"JPEG stores gray or RGB; this image has {channels} channels",
                        field="format", value="jpeg")
    return encode_pillow(a, quality=step.quality, sampling="gray" if channels == 1 else step.sampling)


def encode(image: np.ndarray, step: Encode) -> np.ndarray:
    """The pixels of the written file as the reference decoder reads them, channels in the
    file's order (RGB(A) or gray), dtype as written (uint16 stays uint16 in PNG)."""
    from ..decode import decode_image

    data = encode_bytes(image, step)
    read = Decode(output="unchanged", orientation="ignore", alpha="keep", trns="ignore",
                  depth16="keep")
    return decode_image(data, read, source=f"<encoded {step.format}>")
