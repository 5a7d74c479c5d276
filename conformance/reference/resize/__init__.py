"""Reference resize: ``resize(image, step)`` for every ``Resize`` step.

Dispatch (every branch chosen by the step's knobs):

1. The output size is ``step.output_size(H, W)``; an unchanged size returns a copy (every library
   modelled copies: Pillow ``Image.copy``, OpenCV ``dsize == ssize``, the image crate, ONNX's
   identity axes).
2. ``arithmetic="opencv"``: OpenCV's own fixed-point schemes, :func:`.opencv.resize_opencv`.
3. ``window="vips"``: libvips' vips_resize downsizing, :func:`.vips.resize_vips`.
4. Everything else: the generic separable resizer, :func:`.separable.resize_separable`
   (convolution windows, coordinate transforms, nearest index rules; float64 / float32 /
   fixed:BITS / fixed_dynamic:BITS arithmetic).

Images are (H, W, C) arrays of uint8, uint16, float32 or float64; the output has the input's dtype
(integers rounded per ``rounding`` and clipped; floats never rounded).
"""

from __future__ import annotations

import numpy as np

from ...errors import SpecError
from ...spec import Resize

__all__ = ["resize"]

SUPPORTED_DTYPES = ("uint8", "uint16", "float32", "float64")


def resize(image: np.ndarray, step: Resize) -> np.ndarray:
    """Resample ``image`` (H, W, C) to ``step.output_size(H, W)`` with the semantics of ``step``."""
    if not isinstance(image, np.ndarray) or image.ndim != 3:
        shape = getattr(image, "shape", type(image).__name__)
        raise SpecError(f"resize needs an (H, W, C) image, got {shape}", field="op", value="resize")
    if image.dtype.name not in SUPPORTED_DTYPES:
        raise SpecError(f"resize is defined for {', '.join(SUPPORTED_DTYPES)} images, got "
                        f"{image.dtype.name}", field="op", value=image.dtype.name)
    in_h, in_w = image.shape[:2]
    if in_h < 1 or in_w < 1 or image.shape[2] < 1:
        raise SpecError(f"cannot resize an empty image {image.shape}", field="op", value="resize")
    out_h, out_w = step.output_size(in_h, in_w)
    from ..geometry import check_output_pixels
    check_output_pixels(out_h, out_w, "resize")
    if (out_h, out_w) == (in_h, in_w):
        return image.copy()
    if step.arithmetic == "opencv":
        from .opencv import resize_opencv  # written separately; imported only when needed
        return resize_opencv(image, out_h, out_w, step)
    if step.window == "vips":
        from .vips import resize_vips  # libvips' shrink + reduce
        return resize_vips(image, out_h, out_w, step)
    from .separable import resize_separable
    return resize_separable(image, out_h, out_w, step)
