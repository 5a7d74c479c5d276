"""Run a pipeline through the reference, keeping the output of every step.

Step k receives the output of step k-1 (or the input: encoded bytes for a ``decode`` first step,
an (H, W, C) array otherwise). The list of outputs is what a bundle stores as expected values.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..errors import SpecError
from ..spec import (Color, Crop, Decode, Denormalize, Encode, Layout, Letterbox, Normalize, Pad,
                    Pipeline, Quantize, Resize, Step, Tensor)


def _decode(value, step: Decode, source: str) -> np.ndarray:
    from .decode import decode_image
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise SpecError("decode needs encoded bytes as input", field="op", value="decode")
    return decode_image(bytes(value), step, source=source)


def _tensor(value, step: Tensor, source: str) -> np.ndarray:
    from .postprocess.tensor import read_tensor
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise SpecError("tensor needs the bytes of a .npy file as input", field="op", value="tensor")
    return read_tensor(bytes(value), step, source=source)


def _resize(value: np.ndarray, step: Resize, source: str) -> np.ndarray:
    from .resize import resize
    return resize(value, step)


def _array_op(fn: Callable) -> Callable:
    def run(value, step: Step, source: str) -> np.ndarray:
        return fn(value, step)
    return run


def _ops() -> dict[type, Callable]:
    from .color import color
    from .geometry import crop, letterbox, pad
    from .layout import layout
    from .normalize import normalize
    from .postprocess.denormalize import denormalize
    from .postprocess.encode import encode
    from .postprocess.quantize import quantize
    return {Decode: _decode, Tensor: _tensor, Denormalize: _array_op(denormalize),
            Quantize: _array_op(quantize), Encode: _array_op(encode), Resize: _resize, Crop: _array_op(crop), Pad: _array_op(pad),
            Letterbox: _array_op(letterbox), Color: _array_op(color),
            Normalize: _array_op(normalize), Layout: _array_op(layout)}


def run_step(step: Step, value, *, source: str = "<input>") -> np.ndarray:
    """Apply one step to ``value`` (bytes for decode and tensor, an (H, W, C) array otherwise)."""
    if not isinstance(step, (Decode, Tensor)):
        if not isinstance(value, np.ndarray) or value.ndim != 3:
            shape = getattr(value, "shape", type(value).__name__)
            raise SpecError(f"{step.op} needs an (H, W, C) image, got {shape}", field="op", value=step.op)
    return _ops()[type(step)](value, step, source)


def run_pipeline(pipeline: Pipeline, value, *, source: str = "<input>") -> list[np.ndarray]:
    """Outputs of every step of ``pipeline`` applied to ``value``, in order.

    A step that cannot apply to this input (a crop larger than the image, a wrong channel count)
    raises SpecError naming the input, the pipeline, the step index and the field."""
    outputs = []
    for index, step in enumerate(pipeline.steps):
        try:
            value = run_step(step, value, source=source)
        except SpecError as e:
            if e.step is not None:
                raise
            raise SpecError(e.reason, source=f"{source}, pipeline {pipeline.id}", step=index,
                            field=e.field, value=e.value) from None
        outputs.append(value)
    return outputs


def check_pipeline(pipeline: Pipeline) -> None:
    """Reject, before any input is read, knob combinations the reference does not define (e.g. an
    OpenCV arithmetic with an antialiased kernel): SpecError naming the pipeline, step and field.
    Input-dependent problems (a crop larger than the image) can only be found per case."""
    from .resize.opencv import check_opencv_step
    from .resize.openvino import check_openvino_step
    from .resize.separable import check_step
    from .resize.tensorflow import check_tensorflow_step
    from .resize.vips import check_vips_step

    checks = {"opencv": check_opencv_step, "openvino": check_openvino_step,
              "tensorflow": check_tensorflow_step}

    for index, step in enumerate(pipeline.steps):
        if not isinstance(step, Resize):
            continue
        try:
            if step.window == "vips":
                check_vips_step(step)
            else:
                checks.get(step.arithmetic, check_step)(step)
        except SpecError as e:
            raise SpecError(e.reason, source=f"pipeline {pipeline.id}", step=index, field=e.field,
                            value=e.value) from None
