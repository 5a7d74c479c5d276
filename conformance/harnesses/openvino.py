"""The ``openvino`` harness: OpenVINO's PrePostProcessor (``openvino.preprocess``), the way an
OpenVINO deployment bakes preprocessing into the model (the optional ``[openvino]`` extra).

Each step is one PrePostProcessor on a trivial model (a Parameter of the step's output shape
wired to a Result: no model file) compiled on the CPU plugin. The input tensor is the step's
input as (1, H, W, C) NHWC (``set_element_type`` / ``set_layout`` / ``set_color_format``), the
model side is NHWC (NCHW for a ``layout`` step to ``chw``), and the PPP inserts the operations.

Compiled with ``INFERENCE_PRECISION_HINT = f32`` and one inference thread. **The default hint is
bf16 on CPUs with AVX512_BF16 or AMX** (:meth:`OpenVINOHarness.versions` records this CPU's): a
deployment that does not set it runs the PPP's float operations (resize of float tensors,
mean/scale) with 8 mantissa bits, about 1 level on 0..255 values, and differently on other CPUs.

- resize: ``resize(ResizeAlgorithm)`` to the target size (:func:`~.base.resize_target`). Filter
  (intent) -> algorithm: ``nearest`` -> RESIZE_NEAREST; ``triangle`` -> RESIZE_LINEAR, or
  RESIZE_BILINEAR_PILLOW when ``antialias``; ``cubic`` -> RESIZE_CUBIC, or RESIZE_BICUBIC_PILLOW
  when ``antialias`` (the Pillow modes are the PPP's only antialiased ones: ``antialias`` is the
  behaviour knob the PPP exposes, by algorithm). Everything else is OpenVINO's fixed behaviour
  (Interpolate-11 defaults: half_pixel, round_prefer_floor, cube_coeff -0.75 / -0.5 for the
  Pillow modes; float32 coordinates; uint8 results rounded half to even); the reference's
  ``openvino.*`` presets reproduce it. uint8 and float32 tensors; other filters unsupported.
- color: rgb <-> bgr (``set_color_format(RGB)`` + ``convert_color(BGR)``), rgb/bgr -> gray
  (``convert_color(GRAY)``: OpenVINO's luma, whatever the step's coefficients), rgba -> rgb with
  ``alpha="drop"`` (RGBX -> RGB), and a YUV 4:2:0 frame (one (H·3/2, W, 1) uint8 plane:
  NV12_SINGLE_PLANE / I420_SINGLE_PLANE) -> RGB / BGR. BT.601 arithmetic is the CPU plugin's
  (float32, half-even rounding: the ``openvino.nv12_to_rgb``... presets).
- layout: ``convert_layout(NCHW)`` for ``chw``; ``reverse_channels()`` for
  ``channel_order="reverse"``; the PPP's result always has the batch axis (a model input), which
  numpy drops for ``batch=false``.
- normalize: ``convert_element_type(f32)`` then ``mean`` / ``scale`` (the PPP subtracts and
  *divides*, in float32): ``scale_first`` -> scale(divisor or 1/scale), mean(mean), scale(std);
  ``mean_first`` -> mean(mean), scale(divisor or 1/scale), scale(std); ``fused`` -> mean(mean·k),
  scale(std·k), the form OpenVINO's docs recommend (mean=[123.675, ...], scale=[58.395, ...]).
  float16 output adds ``convert_element_type(f16)``; float64 is unsupported (the CPU plugin
  computes in float32 at most).
- crop: ``crop(begin, end)`` (a Slice): box, and centre with the step's offset rounding.
  A window larger than the image (``if_smaller="pad"``) is unsupported.
- pad, letterbox: ``pad(pads_begin, pads_end, value, PaddingMode)``, which the PPP applies to
  float tensors only: ``convert_element_type(f32)``, pad, ``convert_element_type`` back (exact
  for integer pixels). ``constant`` with one fill value (the PPP takes a scalar: per-channel
  values are unsupported) and ``reflect`` (PaddingMode.REFLECT, numpy's reflect); ``edge`` has no
  PaddingMode. Letterbox offsets follow the step's placement (intent).
- tensor: numpy (the .npy file is the tensor handed to the compiled model).

Unsupported: decode (OpenVINO has no image decoder), an aspect-keeping resize inside the PPP
(openvinotoolkit/openvino issue 21088: resize(ALG) takes both sides; the harness computes
``shorter_side`` / ``longer_side`` targets itself, as a deployment must), and the way back
(denormalize, quantize, encode).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from .base import (Harness, Unsupported, centre_offset, package_versions, resize_target, tensor_hwc,
                   tensor_input)

import openvino as ov  # noqa: E402 - after the base imports, like the other harnesses
import openvino.opset13 as opset  # noqa: E402
from openvino.preprocess import ColorFormat, PaddingMode, PrePostProcessor, ResizeAlgorithm  # noqa: E402

OPS = ("resize", "color", "layout", "normalize", "crop", "pad", "letterbox", "tensor")
#: the compile configuration of every step (see the module docstring on bf16)
COMPILE_CONFIG = {"INFERENCE_PRECISION_HINT": "f32", "INFERENCE_NUM_THREADS": 1}
ELEMENT_TYPES = {np.dtype(np.uint8): ov.Type.u8, np.dtype(np.float32): ov.Type.f32}
#: the tensor types data-movement steps (layout, crop) take as they are
MOVED_TYPES = ("uint8", "uint16", "int16", "int32", "float16", "float32")
RESIZE_ALGORITHMS = {("nearest", False): "RESIZE_NEAREST", ("nearest", True): "RESIZE_NEAREST",
                     ("triangle", False): "RESIZE_LINEAR", ("triangle", True): "RESIZE_BILINEAR_PILLOW",
                     ("cubic", False): "RESIZE_CUBIC", ("cubic", True): "RESIZE_BICUBIC_PILLOW"}
YUV_FORMATS = {"nv12": "NV12_SINGLE_PLANE", "i420": "I420_SINGLE_PLANE"}
COLOR_CONVERSIONS = {"rgb_to_bgr": ("RGB", "BGR"), "bgr_to_rgb": ("BGR", "RGB"),
                     "rgb_to_gray": ("RGB", "GRAY"), "bgr_to_gray": ("BGR", "GRAY"),
                     **{f"{src}_to_{dst}": (fmt, dst.upper()) for src, fmt in YUV_FORMATS.items()
                        for dst in ("rgb", "bgr")}}
#: how many compiled steps a harness keeps (keyed by step, shapes and dtype)
CACHE_SIZE = 64
#: CPU flags worth naming in versions() (the CPU plugin picks its kernels by them)
ISA_FLAGS = ("sse4_1", "avx2", "avx512f", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_bf16",
             "amx_int8", "amx_fp16")


class OpenVINOHarness(Harness):
    """OpenVINO's PrePostProcessor on the CPU plugin; see the module docstring."""

    name = "openvino"
    summary = "OpenVINO (openvino): PrePostProcessor resize / convert_color / layout / mean-scale on CPU"

    def __init__(self) -> None:
        self.core = ov.Core()
        self._compiled: dict[tuple, Any] = {}

    def versions(self) -> dict[str, str]:
        out = package_versions("openvino", ov.__version__)
        out["openvino build"] = str(ov.get_version())
        cpu = self.core.get_property("CPU", "FULL_DEVICE_NAME")
        out["CPU plugin device"] = str(cpu)
        out["CPU plugin capabilities"] = " ".join(map(str, self.core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")))
        default = self.core.get_property("CPU", "INFERENCE_PRECISION_HINT")
        out["CPU plugin default precision"] = getattr(default, "get_type_name", lambda: str(default))()
        out["harness precision"] = COMPILE_CONFIG["INFERENCE_PRECISION_HINT"]
        out["CPU ISA"] = " ".join(cpu_isa()) or "unknown"
        return out

    def capabilities(self) -> dict[str, str]:
        return {"resize": "PPP resize: RESIZE_NEAREST / LINEAR / CUBIC, BILINEAR_PILLOW / BICUBIC_PILLOW "
                          "(antialias); uint8 and float32",
                "color": "convert_color: RGB<->BGR, RGB/BGR->GRAY, RGBX->RGB, NV12 / I420 single plane -> RGB/BGR",
                "layout": "convert_layout(NCHW), reverse_channels()",
                "normalize": "convert_element_type(f32) + mean / scale (float32)",
                "crop": "crop(begin, end)",
                "pad": "pad(begin, end, value, CONSTANT | REFLECT) on float32 (converted there and back)",
                "letterbox": "pad(begin, end, value, CONSTANT) on float32", "tensor": "numpy"}

    # --- support --------------------------------------------------------------------------

    def check(self, step: dict[str, Any]) -> str | None:
        op = step.get("op")
        if op == "decode":
            return "OpenVINO has no image decoder; decode with cv2 or Pillow and feed the array"
        if op in ("pad", "letterbox") and len(set(map(float, step["value"]))) > 1 \
                and step.get("mode", "constant") == "constant":
            return "PPP pad takes one fill value (a scalar), not one per channel"
        if op == "pad" and step["mode"] == "edge":
            return "PPP pad has no edge mode (PaddingMode: CONSTANT, REFLECT, SYMMETRIC)"
        if op not in OPS:
            return f"the openvino harness runs preprocessing steps only, not {op!r}"
        if op == "resize" and step["filter"] not in ("nearest", "triangle", "cubic"):
            return (f"PPP resize has no {step['filter']} filter (ResizeAlgorithm: nearest, linear, "
                    "cubic and their Pillow variants)")
        if op == "color":
            conv = step["conversion"]
            if conv == "rgba_to_rgb":
                return None if step["alpha"] == "drop" else \
                    "convert_color(RGBX -> RGB) drops the fourth channel; it cannot composite over a background"
            if conv not in COLOR_CONVERSIONS:
                return (f"convert_color has no {conv} (it converts NV12/I420 -> RGB/BGR, RGB<->BGR, "
                        "RGB/BGR -> GRAY, RGBX/BGRX -> RGB/BGR)")
        if op == "normalize" and step["dtype"] == "float64":
            return "the CPU plugin computes mean/scale in float32 at most; float64 output is not a PPP type"
        if op == "crop" and step["mode"] == "center" and step.get("if_smaller") == "pad":
            return "crop(begin, end) cannot pad a window larger than the image"
        return None

    def describe(self, step: dict[str, Any]) -> str:
        op = step["op"]
        if op == "resize":
            return f"ppp.input().preprocess().resize(ResizeAlgorithm.{_algorithm(step)})"
        if op == "color":
            src, dst = COLOR_CONVERSIONS.get(step["conversion"], ("RGBX", "RGB"))
            return f"tensor().set_color_format(ColorFormat.{src}); preprocess().convert_color(ColorFormat.{dst})"
        if op == "layout":
            calls = (["reverse_channels()"] if step["channel_order"] == "reverse" else []) + \
                    (["convert_layout('NCHW')"] if step["layout"] == "chw" else [])
            return "preprocess()." + (".".join(calls) if calls else "(nothing: NHWC in, NHWC out)")
        if op == "normalize":
            return "preprocess()." + ".".join(f"{name}({values})" for name, values in _normalize_calls(step, 3))
        if op == "crop":
            return "preprocess().crop(begin, end)"
        if op in ("pad", "letterbox"):
            mode = "REFLECT" if step.get("mode") == "reflect" else "CONSTANT"
            return (f"preprocess().convert_element_type(f32).pad(begin, end, {float(step['value'][0])}, "
                    f"PaddingMode.{mode}).convert_element_type(<input type>)")
        return "numpy (the .npy array is the input tensor)"

    # --- running ------------------------------------------------------------------------------

    def run(self, step: dict[str, Any], value: bytes | np.ndarray) -> np.ndarray:
        reason = self.check(step)
        if reason:
            raise Unsupported(reason)
        op = step["op"]
        if op == "tensor":
            return tensor_hwc(tensor_input(step, value), step["layout"], step["max_elements"])
        image = np.asarray(value)
        if image.ndim != 3:
            raise ValueError(f"{op} needs an (H, W, C) image, got shape {list(image.shape)}")
        if op == "normalize":
            image = _integer_or_float(image)
        elif op in ("layout", "crop") and image.dtype.name in MOVED_TYPES:
            pass
        elif image.dtype not in ELEMENT_TYPES:
            raise Unsupported(f"the openvino harness feeds uint8 or float32 tensors to {op}, "
                              f"not {image.dtype}")
        h, w, c = image.shape
        key = (_freeze(step), image.shape, image.dtype.str)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self.core.compile_model(_build(step, image), "CPU", COMPILE_CONFIG)
            if len(self._compiled) >= CACHE_SIZE:
                self._compiled.pop(next(iter(self._compiled)))
            self._compiled[key] = compiled
        out = np.array(compiled(np.ascontiguousarray(image)[None])[0])
        if op == "layout" and not step["batch"]:
            out = out[0]
        elif op != "layout":
            out = out[0]
        return np.ascontiguousarray(out)


def _freeze(step: dict[str, Any]) -> tuple:
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in step.items()))


def _integer_or_float(image: np.ndarray) -> np.ndarray:
    """normalize accepts the integer or float tensor it is given; OpenVINO element types exist
    for uint8/uint16/int16/int32/float16/float32 (float64 is narrowed: the PPP converts to f32)."""
    if image.dtype in (np.uint8, np.uint16, np.int16, np.int32, np.float16, np.float32):
        return image
    if image.dtype == np.float64:
        return image.astype(np.float32)
    raise Unsupported(f"normalize of a {image.dtype} tensor")


def _algorithm(step: dict[str, Any]) -> str:
    return RESIZE_ALGORITHMS[(step["filter"], bool(step["antialias"]))]


def _normalize_calls(step: dict[str, Any], channels: int) -> list[tuple[str, list[float]]]:
    """The PPP's mean/scale calls for a normalize step (see the module docstring)."""
    def per_channel(values) -> list[float]:
        return [float(v) for v in values]

    divisor = float(step["divisor"]) if step.get("divisor") is not None else 1.0 / float(step["scale"])
    mean, std = per_channel(step["mean"]), per_channel(step["std"])
    if step["order"] == "fused":
        return [("mean", [m * divisor for m in mean]), ("scale", [s * divisor for s in std])]
    if step["order"] == "mean_first":
        return [("mean", mean), ("scale", [divisor]), ("scale", std)]
    return [("scale", [divisor]), ("mean", mean), ("scale", std)]


def _identity_model(shape: list[int], element_type) -> ov.Model:
    parameter = opset.parameter(shape, element_type, name="input")
    return ov.Model([opset.result(parameter)], [parameter], "identity")


def _build(step: dict[str, Any], image: np.ndarray) -> ov.Model:
    """The PrePostProcessor'd identity model of one step for an (H, W, C) ``image``."""
    op = step["op"]
    h, w, c = image.shape
    in_type = ELEMENT_TYPES.get(image.dtype) or ov.Type(image.dtype)
    nhwc = ov.Layout("NHWC")
    if op == "resize":
        oh, ow = resize_target(step, h, w)
        ppp = PrePostProcessor(_identity_model([1, oh, ow, c], in_type))
        ppp.input().tensor().set_element_type(in_type).set_shape([1, h, w, c]).set_layout(nhwc)
        ppp.input().preprocess().resize(getattr(ResizeAlgorithm, _algorithm(step)))
        ppp.input().model().set_layout(nhwc)
        return ppp.build()
    if op == "color":
        conv = step["conversion"]
        src, dst = COLOR_CONVERSIONS.get(conv, ("RGBX", "RGB"))
        yuv = src in YUV_FORMATS.values()
        if yuv:
            if c != 1 or image.dtype != np.uint8 or h % 3 or (h * 2 // 3) % 2 or w % 2:
                raise ValueError(f"{conv} needs one uint8 plane of H*3/2 rows (H, W even), got "
                                 f"{image.dtype}{list(image.shape)}")
            out_h, out_c = h * 2 // 3, 3
        else:
            need = 4 if src == "RGBX" else 3
            if c != need:
                raise ValueError(f"{conv} needs {need} channels, the image has {c}")
            out_h, out_c = h, 1 if dst == "GRAY" else 3
        ppp = PrePostProcessor(_identity_model([1, out_h, w, out_c], in_type))
        tensor = ppp.input().tensor().set_element_type(in_type).set_color_format(getattr(ColorFormat, src))
        if not yuv:
            tensor.set_shape([1, h, w, c]).set_layout(nhwc)
        ppp.input().preprocess().convert_color(getattr(ColorFormat, dst))
        ppp.input().model().set_layout(nhwc)
        return ppp.build()
    if op == "layout":
        chw = step["layout"] == "chw"
        ppp = PrePostProcessor(_identity_model([1, c, h, w] if chw else [1, h, w, c], in_type))
        ppp.input().tensor().set_element_type(in_type).set_shape([1, h, w, c]).set_layout(nhwc)
        steps = ppp.input().preprocess()
        if step["channel_order"] == "reverse":
            steps.reverse_channels()
        if chw:
            steps.convert_layout(ov.Layout("NCHW"))
        ppp.input().model().set_layout(ov.Layout("NCHW") if chw else nhwc)
        return ppp.build()
    if op == "normalize":
        out_type = ov.Type.f16 if step["dtype"] == "float16" else ov.Type.f32
        ppp = PrePostProcessor(_identity_model([1, h, w, c], out_type))
        ppp.input().tensor().set_element_type(in_type).set_shape([1, h, w, c]).set_layout(nhwc)
        steps = ppp.input().preprocess().convert_element_type(ov.Type.f32)
        for name, values in _normalize_calls(step, c):
            if len(values) not in (1, c):
                raise ValueError(f"{len(values)} {name} values for {c} channels")
            getattr(steps, name)(values if len(values) > 1 else values[0])
        if out_type == ov.Type.f16:
            steps.convert_element_type(ov.Type.f16)
        ppp.input().model().set_layout(nhwc)
        return ppp.build()
    if op in ("pad", "letterbox"):
        (top, bottom), (left, right) = _padding(step, h, w)
        ppp = PrePostProcessor(_identity_model([1, h + top + bottom, w + left + right, c], in_type))
        ppp.input().tensor().set_element_type(in_type).set_shape([1, h, w, c]).set_layout(nhwc)
        mode = PaddingMode.REFLECT if step.get("mode") == "reflect" else PaddingMode.CONSTANT
        steps = ppp.input().preprocess().convert_element_type(ov.Type.f32)
        steps.pad([0, top, left, 0], [0, bottom, right, 0], float(step["value"][0]), mode)
        steps.convert_element_type(in_type)
        ppp.input().model().set_layout(nhwc)
        return ppp.build()
    # crop
    top, left = _crop_origin(step, h, w)
    ch, cw = int(step["height"]), int(step["width"])
    if top < 0 or left < 0 or top + ch > h or left + cw > w:
        raise ValueError(f"crop window {ch}x{cw} at ({top}, {left}) leaves the {h}x{w} image")
    ppp = PrePostProcessor(_identity_model([1, ch, cw, c], in_type))
    ppp.input().tensor().set_element_type(in_type).set_shape([1, h, w, c]).set_layout(nhwc)
    ppp.input().preprocess().crop([0, top, left, 0], [1, top + ch, left + cw, c])
    ppp.input().model().set_layout(nhwc)
    return ppp.build()


def _crop_origin(step: dict[str, Any], h: int, w: int) -> tuple[int, int]:
    """(top, left) of the crop window: box as given; centre by ``offset_rounding`` of (H − h)/2
    (intent: which window the user asked for)."""
    if step["mode"] == "box":
        return int(step["top"]), int(step["left"])
    rule = step["offset_rounding"]
    return centre_offset(h - int(step["height"]), rule), centre_offset(w - int(step["width"]), rule)


def _padding(step: dict[str, Any], h: int, w: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """((top, bottom), (left, right)) of a pad step, or of a letterbox to its size (centre:
    ``offset_rounding`` of the slack before, the rest after; top_left: all after)."""
    if step["op"] == "pad":
        return (int(step["top"]), int(step["bottom"])), (int(step["left"]), int(step["right"]))
    extra_h, extra_w = int(step["height"]) - h, int(step["width"]) - w
    if extra_h < 0 or extra_w < 0:
        raise ValueError(f"letterbox {step['height']}x{step['width']} is smaller than the {h}x{w} image")
    if step["placement"] == "top_left":
        return (0, extra_h), (0, extra_w)
    rule = step["offset_rounding"]
    top, left = centre_offset(extra_h, rule), centre_offset(extra_w, rule)
    return (top, extra_h - top), (left, extra_w - left)


@functools.cache
def cpu_isa() -> tuple[str, ...]:
    """The :data:`ISA_FLAGS` this CPU reports (/proc/cpuinfo; empty elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return tuple(flag for flag in ISA_FLAGS if flag in flags)
    except OSError:
        pass
    return ()
