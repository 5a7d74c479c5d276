"""Reference resize: ``resize(image, step)`` for every ``Resize`` step.

Dispatch (every branch chosen by the step's knobs):

1. The output size is ``step.output_size(H, W)``; an unchanged size returns a copy (every library
   modelled copies: Pillow ``Image.copy``, OpenCV ``dsize == ssize``, the image crate, ONNX's
   identity axes).
2. ``arithmetic="tensorflow"`` (before 1: TF resamples an unchanged size too): TF's float32 ops,
   :func:`.tensorflow.resize_tensorflow`.
3. ``arithmetic="opencv"``: OpenCV's own fixed-point schemes, :func:`.opencv.resize_opencv`;
   ``arithmetic="openvino"``: OpenVINO's float32 Pillow modes, :func:`.openvino.resize_openvino`.
4. ``window="vips"``: libvips' vips_resize (box pre-shrink, reduce, bicubic affine),
   :func:`.vips.resize_vips`.
5. Everything else: the generic separable resizer, :func:`.separable.resize_separable`
   (convolution windows, coordinate transforms, nearest index rules; float64 / float32 /
   fixed:BITS / fixed_dynamic:BITS arithmetic).

Images are (H, W, C) arrays of uint8, uint16, float32 or float64. With ``output_dtype="input"``
the output has the input's dtype (integers rounded per ``rounding`` and clipped; floats never
rounded); with ``output_dtype="float32"`` it is float32, neither rounded nor clipped.
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
    if step.arithmetic == "tensorflow":
        from .tensorflow import resize_tensorflow
        return _to_output_dtype(resize_tensorflow(image, out_h, out_w, step), image.dtype, step)
    if step.output_dtype == "float32" and np.issubdtype(image.dtype, np.integer):
        # exact values wanted: resample the integers as floats of the arithmetic's precision
        image = image.astype(np.float32 if step.arithmetic == "float32" else np.float64)
    if (out_h, out_w) == (in_h, in_w):
        out = image.copy()
    elif step.arithmetic == "opencv":
        from .opencv import resize_opencv  # written separately; imported only when needed
        out = resize_opencv(image, out_h, out_w, step)
    elif step.arithmetic == "openvino":
        from .openvino import resize_openvino
        out = resize_openvino(image, out_h, out_w, step)
    elif step.window == "vips":
        from .vips import resize_vips  # libvips' shrink + reduce, and affine for upsizing
        out = resize_vips(image, out_h, out_w, step)
    else:
        from .separable import resize_separable
        out = resize_separable(image, out_h, out_w, step)
    return out.astype(np.float32) if step.output_dtype == "float32" else out


def _to_output_dtype(out: np.ndarray, dtype: np.dtype, step: Resize) -> np.ndarray:
    """A float32 result as ``output_dtype`` asks: kept, or rounded and clipped to an integer
    input's type (an op that copies pixels, TF's nearest, already has the input's dtype)."""
    if step.output_dtype == "float32":
        return out.astype(np.float32)
    if out.dtype == dtype:
        return out
    if np.issubdtype(dtype, np.integer):
        from ..rounding import round_to_int, saturate
        return saturate(round_to_int(out, step.rounding), dtype)
    return out.astype(dtype)
