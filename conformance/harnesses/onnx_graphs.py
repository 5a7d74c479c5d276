"""Pipeline steps as small ONNX graphs (default domain, opset 19), for any ONNX runtime.

One entry point, :func:`build_step_graph` (step dict + input shape/dtype -> ``onnx.ModelProto``),
and :func:`check_step` (the reason a step has no graph, or None). Built with ``onnx.helper``
only: the same bytes run in ONNX Runtime (:mod:`.onnxruntime`), in tract (the Rust harness) and
in ``onnx.reference``. Every graph has one input ``image`` (the step's (H, W, C) array, concrete
shape and dtype) and one output ``output``; constants are initializers; the graph is named by the
step's knob values in a fixed order (e.g. ``resize_linear_half_pixel_antialias_64x64_to_23x31``)
and the model's ``doc_string`` holds the step as JSON, so a porter reading a dumped graph knows
what it computes. Building the same step twice gives the same bytes.

The knob rule of :mod:`.base` applies: an *intent* no ONNX op expresses makes the step
unsupported (:func:`check_step`); a *behaviour* knob is passed where an op has the parameter
(Resize attributes; the rounding ops written after a float computation) and otherwise the ops'
fixed semantics run (float32 Resize, whatever ``arithmetic`` says). Per op, the ONNX semantics
each builder relies on (operator spec: onnx/docs/Operators.md, opset 19):

decode — unsupported: the default domain has no image decoder (decode with a library, feed the
  array to the graph).

resize — ``Resize`` with ``sizes`` (so ``scale = out/in``; ``keep_aspect_ratio_policy`` stretch).
  Modes: nearest, linear (= ``filter`` triangle), cubic; every other filter is unsupported.
  Attributes from the knobs: ``coordinate_transformation_mode`` = ``coords`` (all five),
  ``nearest_mode`` = ``nearest_rounding`` (nearest only), ``cubic_coeff_a`` = ``cubic_a`` (cubic
  only), ``antialias`` = ``antialias`` (linear/cubic; Resize-18+ forbids it for nearest, so a
  nearest step runs unantialiased), ``exclude_outside`` = ``border == "renormalize"`` (cubic, and
  linear with antialias; ONNX Runtime rejects exclude_outside=1 for unantialiased linear, and
  there it changes nothing: a 2-tap window with one tap outside reads the edge pixel with
  clamping, and renormalising the one inside tap gives the same edge pixel).
  Layout: the image is resized one channel at a time as a 2-D (H, W) tensor — ``Gather(axis=2,
  c)`` -> ``Resize`` -> ``Unsqueeze(axes=[2])`` -> ``Concat(axis=2)`` — because (1) ONNX Runtime
  runs cubic only on 2-D or NCHW 4-D tensors, and (2) with an HWC->NCHW ``Transpose`` in the
  graph, its default optimiser moves the Transposes through the Resize and turns it into an NHWC
  Resize, which its cubic kernel rejects when downscaling (measured with 1.31.1; see the tests).
  ONNX Runtime supports 2-D Resize in every mode.
  Arithmetic: Resize runs on float32 (ONNX Runtime has no uint16/float64 Resize, and its uint8
  kernels are other computations: unantialiased linear truncates instead of rounding,
  antialiased cubic stores uint8 between its two passes (15 levels from the float kernel on a
  random image), unantialiased cubic fails — measured in the tests). Integer images are
  ``Cast`` to float32 (exact for 8 and 16 bits), resized, then ``Clip(0, max)``, rounded per
  ``rounding`` and ``Cast`` back: ``half_even`` -> ``Round`` (ONNX Round rounds half to even),
  ``half_up`` and ``half_away`` -> ``Floor(x + 0.5)`` (equal on the clipped, non-negative
  values), ``truncate`` -> ``Floor`` (likewise). Clipping first is equivalent to clipping last
  because the bounds are integers, and keeps the ``Cast`` (undefined out of range; ONNX Runtime
  wraps modulo 256) in range. float64 images are resized in float32 and cast back; float16
  likewise.

crop — ``Slice(starts=[top, left], ends=[top+h, left+w], axes=[0, 1])``; the centre offset is
  ``offset_rounding((H − h)/2)`` computed when the graph is built (the graph has a concrete
  input shape). A window outside the image raises, except in centre mode with
  ``if_smaller="pad"``: the axes shorter than the window are first padded by ``Pad(constant)``
  (as in pad below: per-channel ``value``, the uint16 carrier) with d = window − side pixels,
  top/left = d // 2 for ``pad_extra="after"`` (odd pixel bottom/right) or (d + 1) // 2 for
  ``"before"``, computed when the graph is built; the Slice then crops the other axis.

pad — ``Pad(mode=constant|edge|reflect, pads=[top, left, 0, bottom, right, 0])``. ONNX
  ``reflect`` mirrors without repeating the edge pixel (numpy 'reflect', cv2
  BORDER_REFLECT_101), ``edge`` replicates. ``constant_value`` is a scalar, so per-channel fill
  values pad each channel separately (``Gather`` -> ``Pad`` -> ``Concat``). ONNX Runtime has no
  uint16 Pad kernel: uint16 images are padded as int32 (exact) and cast back. Reflect pads as
  wide as the image side raise (as the reference does).

letterbox — ``Pad(constant)`` to the canvas size with the offsets of the placement knob,
  per-channel fill as in pad.

color — channel reversal: ``Gather(axis=2, indices=[2, 1, 0])``. Gray with ``arithmetic="float"``:
  ``Cast(double)``, then Y = kr·R + kg·G + kb·B as three ``Mul`` and two ``Add`` in exactly that
  order, then the rounding ops above in float64 and ``Cast``. Not a ``MatMul``: integer RGB hits
  exact x.5 ties (299R + 587G + 114B ≡ 500 mod 1000 for BT.601), where the float64 summation
  order decides the rounding; ONNX Runtime's float64 MatMul sums in another order and flips
  2965 of the 2^24 RGB triples for BT.601 with ``half_up`` (598 for BT.709), the elementwise
  form none (measured on the development machine). ``pillow_fixed`` / ``opencv_fixed``
  (uint8 only): ``Cast(int32)`` ->
  ``MatMul`` with the integer weights (exact in int32: at most 255·2^16) -> ``Add(offset)`` ->
  ``Div(divisor)`` (integer Div truncates, which is the shift for the non-negative sums) ->
  ``Cast(uint8)``. ``image_f32`` (the Rust image crate's luma, uint8/uint16): ``Cast(float)``,
  ``Mul(1/max)``, then per channel ``Mul(k)`` and ``Add`` left to right in float32 (each ONNX op
  one IEEE float32 operation, as the crate computes), ``Mul(max)``, ``Floor(x + 0.5)`` (half
  away from zero for the non-negative values), ``Clip``, ``Cast``. gray -> rgb: ``Expand`` to 3 channels. rgba -> rgb: ``Slice`` channels 0..3
  (drop) or, composite, ``a = alpha/max`` in float64, ``a·c + (1 − a)·bg`` in that order,
  ``Floor(x + 0.5)``, ``Clip``, ``Cast``. YCbCr (JFIF, ITU-T T.871 §7): per output channel
  ``((m0·R + m1·G) + m2·B) + offset`` in float64 (inverse: the matrix inverse of the forward one
  applied to ``x − offset``), then the rounding ops.

normalize — ``Cast(compute_dtype)``; scale_first: ``Mul(scale)`` (or ``Div(divisor)``),
  ``Sub(mean)``, ``Div(std)``; mean_first: ``Sub(mean)``, ``Mul``/``Div``, ``Div(std)``;
  per-channel constants broadcast over the last axis; then ``Cast(dtype)``. Each ONNX
  elementwise op is one IEEE operation rounded to its type, as the formula asks, so the
  arithmetic knobs are expressed, not left to behaviour: ``scale_dtype="float64"`` (scale_first
  only) is ``Cast(double)`` -> ``Mul(scale)``/``Div(divisor)`` in double -> ``Cast(compute_dtype)``
  (one rounding, transformers' ``rescale``), then ``Sub``/``Div`` in compute_dtype; ``fused``
  is ``M = Mul(mean, k)``, ``S = Mul(std, k)`` on compute_dtype constants (k = 1/scale computed
  in float64 then rounded, or the divisor), then ``Sub(x, M)``, ``Div(S)`` (transformers'
  torchvision backend).

layout — ``Gather(axis=2, reversed indices)`` for ``channel_order="reverse"``,
  ``Transpose(perm=[2, 0, 1])`` for chw, ``Unsqueeze(axes=[0])`` for the batch axis; ``Identity``
  when there is nothing to do. Like colour's channel reversal, these ops move elements without
  looking at them: any dtype (uint8/uint16 from ``quantize``, float16/32/64 from ``tensor``).

The way back (a model's output tensor to pixels):

tensor — the deployment reality is a model output already in memory, so reading the ``.npy``
  file is not the graph's job (as decoding is not): :class:`GraphHarness` reads the bytes it
  receives with numpy, strictly (:func:`.base.load_tensor`: ``np.lib.format`` header readers, a plain
  numeric dtype, ``max_elements`` and the header's declared data size checked against the bytes
  before ``read_array(allow_pickle=False)``), and the runtime then runs the graph on the array as
  the file holds it: ``Squeeze(axes=[0])`` for a batch axis (nchw, nhwc; its length must be 1)
  and ``Transpose(perm=[1, 2, 0])`` for channels first (nchw, chw); ``Identity`` for hwc. The
  values are not touched (NaN, ±inf pass), the dtype is the file's. Unlike ``decode`` the step is
  supported, so a chained run starts from the harness's own read of the file.

denormalize — on a float tensor, every op one IEEE operation in ``compute_dtype`` (the input
  ``Cast`` to it first; float64 is ``Cast(double)`` and double arithmetic), constants rounded
  once from the knobs' float64 values to ``compute_dtype`` as the reference does; per-channel
  constants broadcast over the last axis. ``mean_std``: ``Mul(std)`` -> ``Add(mean)`` ->
  ``Div(scale)``. ``range``: ``Sub(a)`` -> ``Div(b − a)`` -> ``Mul(d − c)`` -> ``Add(c)``, with
  b − a and d − c computed in ``compute_dtype`` when the graph is built. Every op is written
  even when it is an identity (``Div(1)``, ``Add(0)``), so the graph is the formula.

quantize — in ``compute_dtype`` (input ``Cast`` to it): ``clamp="before"``: ``Clip(0, max/scale)``
  (the bound computed in ``compute_dtype``); ``Mul(scale)``; ``absolute``: ``Abs``;
  ``clamp="after"``: ``Clip(0, max)``; then the rounding: ``half_even`` -> ``Round`` (ONNX Round
  is half to even), ``floor`` -> ``Floor``, ``truncate`` -> nothing (every ``Cast`` below
  truncates toward zero: measured), ``half_up`` -> f = ``Floor(y)``, ``Where(y − f >= 0.5, f + 1,
  f)`` and ``half_away`` -> the same on ``Abs(y)`` times ``Sign(y)``. Not ``Floor(y + 0.5)``:
  y + 0.5 rounds to the float type, so y = 0.5 − 2^-25 (float32) gives Floor(1.0) = 1 where half
  up of y is 0 (the reference and Rust's ``f32::round`` compute it exactly). Clip propagates NaN
  (measured, as ``np.clip``). The integer conversion, from the ``int_path`` and ``overflow``
  knobs, as one would write it in a graph:

  - ``int_path="int32"`` / ``"int64"``: ``Cast(int32)`` / ``Cast(int64)`` first: the knob says
    "through a C conversion to that signed integer", which is what ONNX Runtime's Cast to a
    signed integer is (table below: NaN, ±inf and values out of range become −2^(n−1) on x86-64,
    exactly the reference's model). Then ``overflow="saturate"``: ``Clip(0, max)`` on the integer;
    then ``Cast`` to uint8/uint16, which keeps the low bits (wrap, measured).
  - ``int_path="exact"``: ``overflow="saturate"`` is ``Clip(0, max)`` in float before the Cast:
    exact for every finite value and ±inf; NaN passes the Clip and the Cast makes it 0, which is
    the reference's NaN -> 0. ``overflow="wrap"`` (no preset uses it) has no clean expression (a
    value's low bits for |v| >= 2^31 would need a float ``Mod`` before the Cast): the Cast runs
    as it is, so |v| >= 2^31 and ±inf give ONNX Runtime's 0 where the reference keeps v mod 2^bits
    (±inf: 0 in both).

  With these, every QUANTIZE_PRESETS entry is bit-exact on ONNX Runtime 1.31.1 (x86-64), NaN,
  ±inf and 3e9 included (tests/test_onnx_way_back.py). Two measured ONNX Runtime 1.31.1
  behaviours remain, both with ``int_path="int64"`` (no preset; torchvision's ``.byte()`` on a
  float64 tensor is int64 + wrap):

  - ``overflow="wrap"``: ONNX Runtime fuses ``Cast(int64) -> Cast(uint8/uint16)`` into one Cast
    from the float, even with graph optimisations disabled, and that Cast goes through int32:
    a rounded value outside [−2^31, 2^31) gives 0 where the reference keeps its low bits (for
    float32 -> uint8 they are 0 anyway: float32 values >= 2^31 are multiples of 256).
  - ``overflow="saturate"``: the int64 ``Clip`` (and ``Max``/``Min``) returns the lower bound for
    values in [2^31, 2^32) — an emulated 64-bit compare that reads the low 32 bits as signed —
    except for the scalar tail element of an odd-length tensor: 0 where the reference gives max.

  The ONNX spec leaves out-of-range conversions undefined: on another CPU or runtime the same
  graph gives that runtime's values, which the score shows. tract 0.23.9 (measured): its Cast float -> int32 is Rust's ``as``
  (saturating, NaN -> 0), so on the int32 paths a rounded value >= 2^31 or +inf becomes max
  where the reference (and ONNX Runtime) give 0; its ``Round`` has no float64 kernel, so a
  ``half_even`` quantize in float64 is unsupported there ("RoundHalfToEven does not support
  F64"); everything else of the way back is bit-exact in tract too.

  ONNX Runtime 1.31.1 Cast, measured on x86-64 (onnx Cast-19; its ``saturate`` attribute applies
  only to float8 targets, so it is not set). Sources float16/float32/float64, each value
  repeated in a long tensor so vectorised paths are covered too:

  ================================  ==========================  ==========================
  value                             -> uint8 / uint16           -> int32 (int64)
  ================================  ==========================  ==========================
  fractions 0.4, 0.6, 1.5, 254.7    truncated: 0, 0, 1, 254      truncated
  −0.3, −0.7                        0 (toward zero)              0
  −1, −1.5, −255, −256              255, 255, 1, 0 (uint16:      −1, −1, −255, −256
                                    65535, 65535, 65281, 65280)
  256, 257.3, 65536, 65537          0, 1, 0, 1 (uint16: 256,     exact
                                    257, 0, 1)
  2^31 − 128                        128 (uint16 65408)           exact
  >= 2^31, <= −2^31 − 1, ±inf, NaN  0                            −2^31 (int64: −2^63 from
                                                                 2^63, ±inf, NaN)
  ================================  ==========================  ==========================

  That is: float -> uint8/uint16 is a truncating conversion to int32 (the "integer indefinite"
  −2^31 for NaN, ±inf and values outside [−2^31, 2^31)) keeping the low 8/16 bits — float64
  included (2^31 + 1 -> 0, not 1: through int32, not int64). Integer -> uint8/uint16 keeps the
  low bits. It is the reference's ``int_path="int32", overflow="wrap", rounding="truncate"``.

encode — unsupported: ONNX has no image encoder (write the file with the library that reads
  the tensor: cv2.imwrite / PIL Image.save).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper

from .base import (TENSOR_AXES, TENSOR_DTYPES, Harness, Unsupported, centre_offset, crop_padding,
                   resize_target, tensor_input)

# Resize-19 (ONNX 1.14+) has antialias, keep_aspect_ratio_policy, axes and half_pixel_symmetric;
# Pad-19 has edge/reflect with an axes input; every other op used here is unchanged since.
# ONNX Runtime 1.31 runs opset 19 natively.
OPSET = 19
# IR version 9 (ONNX 1.14, the first to carry opset 19); readable by ONNX Runtime and tract.
IR_VERSION = 9
INPUT = "image"
OUTPUT = "output"
PRODUCER = "conformance.harnesses.onnx_graphs"

RESIZE_MODES = {"nearest": "nearest", "triangle": "linear", "cubic": "cubic"}
RESIZE_UNSUPPORTED = {
    "box": "ONNX Resize has no box filter (modes: nearest, linear, cubic)",
    "lanczos": "ONNX Resize has no Lanczos filter (modes: nearest, linear, cubic)",
    "gaussian": "ONNX Resize has no Gaussian filter (modes: nearest, linear, cubic)",
    "hamming": "ONNX Resize has no Hamming-windowed filter (modes: nearest, linear, cubic)",
    "area": "ONNX Resize has no pixel-area mode (OpenCV INTER_AREA; modes: nearest, linear, cubic)",
    "mitchell": "ONNX Resize has no Mitchell-Netravali filter (modes: nearest, linear, cubic)",
}

# Rec. ITU-R BT.601 and BT.709 luma weights (kr, kg, kb).
GRAY_COEFFICIENTS = {"bt601": (0.299, 0.587, 0.114), "bt709": (0.2126, 0.7152, 0.0722)}
# Fixed-point luma ((wr, wg, wb), shift): (wr·R + wg·G + wb·B + 2^(shift−1)) >> shift.
# Pillow Convert.c: round(k·2^16) = 19595, 38470, 7471. OpenCV 5 cvtColor RGB2GRAY: 15 bits.
# Form: (weights, offset, divisor, coefficients): Y = (wr·R + wg·G + wb·B + offset) / divisor
# (integer division, truncating the non-negative sums).
FIXED_GRAY = {"pillow_fixed": ((19595, 38470, 7471), 1 << 15, 1 << 16, "bt601"),
              "opencv_fixed": ((9798, 19235, 3735), 1 << 14, 1 << 15, "bt601")}
# The Rust image crate 0.25.10's float32 luma coefficients (moxcms's derived BT.709/D65 Y row;
# identified against the crate on all 2^24 RGB triples, see conformance/reference/color.py).
IMAGE_LUMA_F32 = (0.21264784038066864, 0.7151792049407959, 0.07217303663492203)
# JFIF full-range YCbCr, ITU-T T.871 §7: rows Y, Cb, Cr over (R, G, B), offsets 0, 128, 128,
# derived from the BT.601 weights as the standard defines them: Y = Kr·R + Kg·G + Kb·B,
# Cb = (B − Y) / (2(1 − Kb)), Cr = (R − Y) / (2(1 − Kr)); the inverse is exact (R = Y + 2(1 − Kr)Cr',
# B = Y + 2(1 − Kb)Cb', G = Y − 2Kb(1 − Kb)/Kg·Cb' − 2Kr(1 − Kr)/Kg·Cr'), not a numerical
# matrix inverse, so exact .5 ties round the same on every machine.
_KR, _KB = 0.299, 0.114
_KG = 1.0 - _KR - _KB
_CB_B, _CR_R = 2.0 * (1.0 - _KB), 2.0 * (1.0 - _KR)
RGB_TO_YCBCR = np.array([[_KR, _KG, _KB],
                         [-_KR / _CB_B, -_KG / _CB_B, (1.0 - _KB) / _CB_B],
                         [(1.0 - _KR) / _CR_R, -_KG / _CR_R, -_KB / _CR_R]])
YCBCR_TO_RGB = np.array([[1.0, 0.0, _CR_R],
                         [1.0, -_KB * _CB_B / _KG, -_KR * _CR_R / _KG],
                         [1.0, _CB_B, 0.0]])
YCBCR_OFFSET = np.array([0.0, 128.0, 128.0])

ROUNDING_RULES = ("half_up", "half_even", "half_away", "truncate")
# ONNX Runtime 1.31 registers no uint16 Pad kernel; int32 holds every uint16 value exactly.
PAD_CARRIER = {np.dtype(np.uint16): np.dtype(np.int32), np.dtype(np.int16): np.dtype(np.int32)}
OPS = ("decode", "resize", "crop", "pad", "letterbox", "color", "normalize", "layout", "tensor",
       "denormalize", "quantize", "encode")
ENCODE_UNSUPPORTED = ("ONNX has no image encoder; write the file with the library that reads the "
                      "tensor (cv2.imwrite / PIL Image.save)")
# The tensor step: base.TENSOR_AXES gives each layout's rank and the axes of (H, W, C) after the
# batch axis (of length 1) is squeezed; an identity permutation needs no Transpose node.
IDENTITY = (0, 1, 2)
QUANTIZE_MAX = {"uint8": 255, "uint16": 65535}
QUANTIZE_ROUNDING = ("half_even", "half_up", "half_away", "truncate", "floor")


# ---------------------------------------------------------------------------------------------
# Graph assembly
# ---------------------------------------------------------------------------------------------


class _Graph:
    """Collects nodes and initializers; every value gets a readable, unique name."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._names: set[str] = {INPUT}

    def _fresh(self, hint: str) -> str:
        name, n = hint, 1
        while name in self._names:
            name, n = f"{hint}_{n}", n + 1
        self._names.add(name)
        return name

    def const(self, hint: str, value: Any, dtype: Any) -> str:
        name = self._fresh(hint)
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def op(self, op_type: str, *inputs: str, hint: str | None = None, **attrs: Any) -> str:
        out = self._fresh(hint or op_type.lower())
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], name=out, **attrs))
        return out

    def finish(self, last: str, name: str, step: dict, in_shape: tuple, in_dtype: np.dtype,
               out_shape: tuple, out_dtype: np.dtype) -> onnx.ModelProto:
        """Rename the final value to ``output`` and wrap everything in a ModelProto."""
        if last == INPUT:
            last = self.op("Identity", INPUT)
        for node in self.nodes:
            for i, out in enumerate(node.output):
                if out == last:
                    node.output[i] = OUTPUT
        graph = helper.make_graph(
            self.nodes, name,
            [helper.make_tensor_value_info(INPUT, _tensor_type(in_dtype), list(in_shape))],
            [helper.make_tensor_value_info(OUTPUT, _tensor_type(out_dtype), list(out_shape))],
            self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  ir_version=IR_VERSION, producer_name=PRODUCER)
        model.doc_string = json.dumps(step, sort_keys=True)
        return model


def _tensor_type(dtype: np.dtype) -> int:
    return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


def _cast(g: _Graph, x: str, dtype: Any, hint: str = "cast") -> str:
    return g.op("Cast", x, hint=hint, to=_tensor_type(np.dtype(dtype)))


def _to_integer(g: _Graph, x: str, carrier: np.dtype, dtype: np.dtype, rounding: str) -> str:
    """A float tensor (carrier float32/float64) to unsigned integer ``dtype``: Clip(0..max), round
    per ``rounding`` (see the module docstring), Cast. Image samples are unsigned (uint8, uint16);
    on the clipped, non-negative values half_up and half_away agree, as truncate and floor do."""
    if rounding not in ROUNDING_RULES:
        raise ValueError(f"unknown rounding {rounding!r}; known: {', '.join(ROUNDING_RULES)}")
    info = np.iinfo(dtype)
    if info.min < 0:
        raise ValueError(f"{np.dtype(dtype).name} images are not handled (image samples are unsigned)")
    lo = g.const("clip_min", 0, carrier)
    hi = g.const("clip_max", info.max, carrier)
    x = g.op("Clip", x, lo, hi, hint="clip")
    if rounding == "half_even":
        x = g.op("Round", x, hint="round_half_even")
    elif rounding in ("half_up", "half_away"):
        half = g.const("half", 0.5, carrier)
        x = g.op("Floor", g.op("Add", x, half, hint="plus_half"), hint="round_half_up")
    else:
        x = g.op("Floor", x, hint="truncate")
    return _cast(g, x, dtype, hint="to_" + np.dtype(dtype).name)


def _is_int(dtype: np.dtype) -> bool:
    return np.issubdtype(dtype, np.integer)


def _check_image(shape: tuple, op: str) -> tuple[int, int, int]:
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"{op} needs a non-empty (H, W, C) image, got shape {tuple(shape)}")
    return int(shape[0]), int(shape[1]), int(shape[2])


def _per_channel(values: Any, channels: int, name: str) -> list[float]:
    values = list(values) if isinstance(values, (list, tuple)) else [values]
    if len(values) not in (1, channels):
        raise ValueError(f"{len(values)} {name} values for {channels} channels")
    return [float(values[c % len(values)]) for c in range(channels)]


# ---------------------------------------------------------------------------------------------
# Support
# ---------------------------------------------------------------------------------------------


def check_step(step: dict[str, Any]) -> str | None:
    """``None`` if :func:`build_step_graph` has a graph for ``step``, else why not."""
    op = step.get("op")
    if op not in OPS:
        return f"no ONNX graph for op {op!r}"
    if op == "decode":
        return ("ONNX has no image decoder op in the default domain; decode with a library and "
                "feed the array to the graph")
    if op == "color" and step["conversion"].split("_to_")[0] in ("nv12", "i420"):
        return ("no ONNX graph for a YUV 4:2:0 (NV12/I420) frame here (the default domain has no "
                "colour-conversion op; OpenVINO's NV12toRGB-8 is its own opset)")
    if op == "color" and step.get("arithmetic") == "openvino_f32":
        return ("no ONNX graph reproduces OpenVINO's float32 fused multiply-add luma (ONNX has no "
                "fused multiply-add op); arithmetic 'float' is within 1 level of it")
    if op == "encode":
        return ENCODE_UNSUPPORTED
    if op == "resize":
        if step.get("filter") in RESIZE_UNSUPPORTED:
            return RESIZE_UNSUPPORTED[step["filter"]]
        if step.get("filter") not in RESIZE_MODES:
            return f"ONNX Resize has no {step.get('filter')!r} filter (modes: nearest, linear, cubic)"
        if not any(step.get(k) is not None for k in ("height", "shorter_side", "longer_side")):
            return "resize step gives no target size"
    if op == "color" and step.get("conversion") in ("rgb_to_gray", "bgr_to_gray") \
            and step.get("arithmetic") == "vips_linear":
        return ("libvips' linear-light luma (arithmetic vips_linear) goes through its float32 sRGB "
                "tables and an interpolated inverse table: no graph for it here (the libvips "
                "harness or the reference)")
    return None


def resize_attributes(step: dict[str, Any]) -> dict[str, Any]:
    """The Resize-19 attributes a resize step maps to (see the module docstring)."""
    mode = RESIZE_MODES[step["filter"]]
    attrs: dict[str, Any] = {"mode": mode, "coordinate_transformation_mode": step["coords"]}
    if mode == "nearest":
        attrs["nearest_mode"] = step["nearest_rounding"]
        return attrs
    antialias = bool(step["antialias"])
    attrs["antialias"] = int(antialias)
    if mode == "cubic":
        attrs["cubic_coeff_a"] = float(step["cubic_a"])
    if step["border"] == "renormalize" and (mode == "cubic" or antialias):
        attrs["exclude_outside"] = 1
    return attrs


def describe_step(step: dict[str, Any]) -> str:
    """One line naming the ONNX ops a supported step becomes."""
    op = step["op"]
    if op == "resize":
        attrs = ", ".join(f"{k}={v}" for k, v in resize_attributes(step).items())
        rnd = {"half_even": "Round", "half_up": "Floor(x+0.5)", "half_away": "Floor(x+0.5)",
               "truncate": "Floor"}[step["rounding"]]
        return (f"Resize-{OPSET}({attrs}) per channel on float32; integer images Cast -> Resize "
                f"-> Clip -> {rnd} -> Cast")
    if op == "crop":
        if step["mode"] == "center" and step.get("if_smaller", "error") == "pad":
            return (f"Pad-{OPSET}(mode=constant, value) on the axes shorter than the window (odd "
                    f"pixel {step.get('pad_extra', 'after')}) -> Slice on H and W")
        return "Slice on H and W"
    if op == "pad":
        return f"Pad-{OPSET}(mode={step['mode']})" + (" per channel" if step["mode"] == "constant" else "")
    if op == "letterbox":
        return f"Pad-{OPSET}(mode=constant) to {step['height']}x{step['width']}"
    if op == "color":
        conv = step["conversion"]
        if conv in ("rgb_to_bgr", "bgr_to_rgb"):
            return "Gather(axis=2, indices=[2, 1, 0])"
        if conv in ("rgb_to_gray", "bgr_to_gray"):
            if step["arithmetic"] == "float":
                return (f"Cast(double) -> Mul/Add {step['gray_coefficients']} luma in R, G, B order "
                        f"-> {step['rounding']} rounding -> Cast")
            return f"Cast(int32) -> MatMul({step['arithmetic']} weights) -> Add -> Div -> Cast(uint8)"
        if conv == "gray_to_rgb":
            return "Expand to 3 channels"
        if conv == "rgba_to_rgb":
            return ("Slice channels 0..3" if step["alpha"] == "drop" else
                    "Cast(double) -> a·c + (1 − a)·bg -> Floor(x+0.5) -> Clip -> Cast")
        return "Cast(double) -> T.871 YCbCr as Mul/Add per channel -> rounding -> Clip -> Cast"
    if op == "normalize":
        first = "Div(divisor)" if step.get("divisor") is not None else "Mul(scale)"
        if step["order"] == "fused":
            k = "divisor" if step.get("divisor") is not None else "1/scale"
            seq = f"Sub(Mul(mean, k)) -> Div(Mul(std, k)), k = {k}"
            cast_out = f" -> Cast({step['dtype']})" if step["dtype"] != step["compute_dtype"] else ""
            return f"Cast({step['compute_dtype']}) -> {seq}{cast_out}"
        seq = (f"{first} -> Sub(mean)" if step["order"] == "scale_first" else f"Sub(mean) -> {first}")
        cast_out = f" -> Cast({step['dtype']})" if step["dtype"] != step["compute_dtype"] else ""
        if step.get("scale_dtype", "compute") == "float64":  # the scale in double, rounded once
            back = f" -> Cast({step['compute_dtype']})" if step["compute_dtype"] != "float64" else ""
            return f"Cast(double) -> {first}{back} -> Sub(mean) -> Div(std){cast_out}"
        return f"Cast({step['compute_dtype']}) -> {seq} -> Div(std){cast_out}"
    if op == "layout":
        parts = []
        if step["channel_order"] == "reverse":
            parts.append("Gather(axis=2, reversed)")
        if step["layout"] == "chw":
            parts.append("Transpose(perm=[2, 0, 1])")
        if step["batch"]:
            parts.append("Unsqueeze(axes=[0])")
        return " -> ".join(parts) or "Identity"
    if op == "tensor":
        rank, perm = TENSOR_AXES[step["layout"]]
        parts = ((["Squeeze(axes=[0])"] if rank == 4 else [])
                 + (["Transpose(perm=[1, 2, 0])"] if perm != IDENTITY else []))
        return ("numpy np.lib.format.read_array(allow_pickle=False) after header checks, then "
                + (" -> ".join(parts) or "Identity"))
    if op == "denormalize":
        ct = step["compute_dtype"]
        if step["mode"] == "mean_std":
            seq = "Mul(std) -> Add(mean) -> Div(scale)"
        else:
            seq = "Sub(a) -> Div(b - a) -> Mul(d - c) -> Add(c)"
        return f"Cast({ct}) -> {seq} in {ct}"
    if op == "quantize":
        ct, parts = step["compute_dtype"], []
        if step["clamp"] == "before":
            parts.append("Clip(0, max/scale)")
        parts.append("Mul(scale)")
        if step["absolute"]:
            parts.append("Abs")
        if step["clamp"] == "after":
            parts.append("Clip(0, max)")
        rnd = {"half_even": "Round", "floor": "Floor", "truncate": None,
               "half_up": "Where(y - Floor(y) >= 0.5, Floor(y) + 1, Floor(y))",
               "half_away": "Sign(y) * half_up(Abs(y))"}[step["rounding"]]
        if rnd:
            parts.append(rnd)
        if step["int_path"] in ("int32", "int64"):
            parts.append(f"Cast({step['int_path']})")
        if step["overflow"] == "saturate":
            parts.append("Clip(0, max)")
        parts.append(f"Cast({step['dtype']})")
        return f"Cast({ct}) -> " + " -> ".join(parts)
    return op


# ---------------------------------------------------------------------------------------------
# Builders: each returns (last value, graph name, output shape, output dtype)
# ---------------------------------------------------------------------------------------------


def _resize(g: _Graph, step: dict, shape: tuple, dtype: np.dtype):
    """Per-channel 2-D Resize on float32 (module docstring, resize)."""
    in_h, in_w, c = _check_image(shape, "resize")
    out_h, out_w = resize_target(step, in_h, in_w)
    attrs = resize_attributes(step)
    x = INPUT if dtype == np.float32 else _cast(g, INPUT, np.float32, hint="to_float32")
    sizes = g.const("sizes", [out_h, out_w], np.int64)
    channel_axis = g.const("channel_axis", [2], np.int64)
    planes = []
    for ch in range(c):
        index = g.const(f"channel_{ch}", ch, np.int64)  # scalar index: Gather drops the axis
        plane = g.op("Gather", x, index, hint=f"plane_{ch}", axis=2)
        resized = g.op("Resize", plane, "", "", sizes, hint=f"resize_{ch}", **attrs)
        planes.append(g.op("Unsqueeze", resized, channel_axis, hint=f"unsqueeze_{ch}"))
    y = planes[0] if c == 1 else g.op("Concat", *planes, hint="concat", axis=2)
    if _is_int(dtype):
        y = _to_integer(g, y, np.dtype(np.float32), dtype, step["rounding"])
    elif dtype != np.float32:
        y = _cast(g, y, dtype, hint="to_" + dtype.name)
    name = "_".join(["resize", attrs["mode"], attrs["coordinate_transformation_mode"]]
                    + ([attrs["nearest_mode"]] if "nearest_mode" in attrs else [])
                    + (["antialias"] if attrs.get("antialias") else [])
                    + (["exclude_outside"] if attrs.get("exclude_outside") else [])
                    + ([f"a{attrs['cubic_coeff_a']:g}"] if "cubic_coeff_a" in attrs else [])
                    + [f"{in_h}x{in_w}", "to", f"{out_h}x{out_w}"])
    return y, name, (out_h, out_w, c), dtype


def _crop(g: _Graph, step: dict, shape: tuple, dtype: np.dtype):
    """Slice on axes 0 and 1 (module docstring, crop)."""
    h, w, c = _check_image(shape, "crop")
    ch, cw = int(step["height"]), int(step["width"])
    x, padded = INPUT, ""
    if (step["mode"] == "center" and step.get("if_smaller", "error") == "pad"
            and (ch > h or cw > w)):
        dh, dw = max(ch - h, 0), max(cw - w, 0)
        rule = step.get("pad_extra", "after")
        top, left = crop_padding(dh, rule), crop_padding(dw, rule)
        x = _pad_graph(g, INPUT, dtype, c, (top, dh - top, left, dw - left), "constant",
                       _fill(step.get("value", [0]), c, dtype))
        padded = f"padded_t{top}_b{dh - top}_l{left}_r{dw - left}_"
        h, w = h + dh, w + dw
    if ch > h or cw > w:
        raise ValueError(f"crop window {ch}x{cw} is larger than the image {h}x{w}")
    if step["mode"] == "center":
        rule = step["offset_rounding"]
        top, left = centre_offset(h - ch, rule), centre_offset(w - cw, rule)
    else:
        top, left = int(step["top"]), int(step["left"])
        if top + ch > h or left + cw > w:
            raise ValueError(f"crop box top={top} left={left} {ch}x{cw} leaves the image {h}x{w}")
    y = g.op("Slice", x, g.const("starts", [top, left], np.int64),
             g.const("ends", [top + ch, left + cw], np.int64), g.const("axes", [0, 1], np.int64),
             hint="crop")
    return y, f"crop_{padded}{top}_{left}_{ch}x{cw}_from_{h}x{w}", (ch, cw, c), dtype


def _fill(value: Any, channels: int, dtype: np.dtype) -> list[float]:
    """Per-channel fill values; they must be representable in ``dtype`` (as the reference asks)."""
    fill = _per_channel(value, channels, "fill")
    if _is_int(dtype):
        info = np.iinfo(dtype)
        if any(v < info.min or v > info.max or v != round(v) for v in fill):
            raise ValueError(f"fill {list(value)} does not fit {dtype.name}")
    return fill


def _pad_graph(g: _Graph, x: str, dtype: np.dtype, c: int, pads: tuple[int, int, int, int],
               mode: str, fill: list[float] | None) -> str:
    """Pad (top, bottom, left, right) with ONNX Pad; per-channel constants pad channel by channel;
    dtypes without an ONNX Runtime Pad kernel go through :data:`PAD_CARRIER`."""
    top, bottom, left, right = pads
    carrier = PAD_CARRIER.get(dtype, dtype)
    if carrier != dtype:
        x = _cast(g, x, carrier, hint="to_" + carrier.name)
    onnx_pads = g.const("pads", [top, left, 0, bottom, right, 0], np.int64)
    if mode != "constant":
        y = g.op("Pad", x, onnx_pads, hint="pad", mode=mode)
    elif len(set(fill)) == 1:
        y = g.op("Pad", x, onnx_pads, g.const("fill", fill[0], carrier), hint="pad", mode="constant")
    else:
        planes = []
        for ch in range(c):
            plane = g.op("Gather", x, g.const(f"channel_{ch}", [ch], np.int64), hint=f"plane_{ch}",
                         axis=2)  # index vector: the channel axis stays, length 1
            planes.append(g.op("Pad", plane, onnx_pads, g.const(f"fill_{ch}", fill[ch], carrier),
                               hint=f"pad_{ch}", mode="constant"))
        y = g.op("Concat", *planes, hint="concat", axis=2)
    if carrier != dtype:
        y = _cast(g, y, dtype, hint="to_" + dtype.name)
    return y


def _pad(g: _Graph, step: dict, shape: tuple, dtype: np.dtype):
    """Pad (module docstring, pad)."""
    h, w, c = _check_image(shape, "pad")
    top, bottom, left, right = (int(step[k]) for k in ("top", "bottom", "left", "right"))
    mode = step["mode"]
    if mode not in ("constant", "edge", "reflect"):
        raise ValueError(f"unknown pad mode {mode!r}")
    if mode == "reflect" and (max(top, bottom) >= h or max(left, right) >= w):
        raise ValueError(f"reflect padding ({top}, {bottom}, {left}, {right}) must be smaller than "
                         f"the image side ({h}x{w})")
    fill = _fill(step["value"], c, dtype) if mode == "constant" else None
    y = _pad_graph(g, INPUT, dtype, c, (top, bottom, left, right), mode, fill)
    name = f"pad_{mode}_t{top}_b{bottom}_l{left}_r{right}_{h}x{w}"
    return y, name, (h + top + bottom, w + left + right, c), dtype


def _letterbox(g: _Graph, step: dict, shape: tuple, dtype: np.dtype):
    """Pad(constant) to the canvas (module docstring, letterbox)."""
    h, w, c = _check_image(shape, "letterbox")
    out_h, out_w = int(step["height"]), int(step["width"])
    if h > out_h or w > out_w:
        raise ValueError(f"image {h}x{w} does not fit the letterbox {out_h}x{out_w}")
    if step["placement"] == "center":
        rule = step["offset_rounding"]
        top, left = centre_offset(out_h - h, rule), centre_offset(out_w - w, rule)
    else:
        top, left = 0, 0
    pads = (top, out_h - h - top, left, out_w - w - left)
    y = _pad_graph(g, INPUT, dtype, c, pads, "constant", _fill(step["value"], c, dtype))
    return y, f"letterbox_{h}x{w}_to_{out_h}x{out_w}_at_{top}_{left}", (out_h, out_w, c), dtype


def _channel(g: _Graph, x: str, index: int, hint: str) -> str:
    """Channel ``index`` of an (H, W, C) tensor as (H, W, 1)."""
    return g.op("Gather", x, g.const(f"{hint}_index", [index], np.int64), hint=hint, axis=2)


def _weighted_sum(g: _Graph, channels: list[str], weights: tuple, offset: float, hint: str,
                  dtype=np.float64) -> str:
    """((w0·x0 + w1·x1) + w2·x2) + offset in ``dtype``, one rounded op at a time, left to right."""
    acc = None
    for i, (x, w) in enumerate(zip(channels, weights)):
        term = g.op("Mul", x, g.const(f"{hint}_w{i}", w, dtype), hint=f"{hint}_term{i}")
        acc = term if acc is None else g.op("Add", acc, term, hint=f"{hint}_sum{i}")
    if offset:
        acc = g.op("Add", acc, g.const(f"{hint}_offset", offset, dtype), hint=f"{hint}_plus_offset")
    return acc


def _float_result(g: _Graph, y: str, dtype: np.dtype, rounding: str) -> str:
    """A float64 colour result back to the image dtype (rounded for integers)."""
    if _is_int(dtype):
        return _to_integer(g, y, np.dtype(np.float64), dtype, rounding)
    return y if dtype == np.float64 else _cast(g, y, dtype, hint="to_" + dtype.name)


def _color(g: _Graph, step: dict, shape: tuple, dtype: np.dtype):
    """Colour conversions (module docstring, color)."""
    h, w, c = _check_image(shape, "color")
    conv = step["conversion"]
    need = {"gray_to_rgb": 1, "rgba_to_rgb": 4}.get(conv, 3)
    if c != need:
        raise ValueError(f"{conv} needs {need} channel(s), the image has {c}")
    if conv in ("rgb_to_bgr", "bgr_to_rgb"):
        y = g.op("Gather", INPUT, g.const("reversed", [2, 1, 0], np.int64), hint="reverse", axis=2)
        return y, f"color_{conv}", (h, w, 3), dtype
    if conv in ("rgb_to_gray", "bgr_to_gray"):
        order = (0, 1, 2) if conv == "rgb_to_gray" else (2, 1, 0)  # indices of R, G, B
        arithmetic, coeffs = step["arithmetic"], step["gray_coefficients"]
        if arithmetic == "float":
            xd = _cast(g, INPUT, np.float64, hint="to_double")
            rgb = [_channel(g, xd, i, name) for i, name in zip(order, "RGB")]
            y = _weighted_sum(g, rgb, GRAY_COEFFICIENTS[coeffs], 0.0, "luma")
            y = _float_result(g, y, dtype, step["rounding"])
        elif arithmetic == "image_f32":
            if coeffs != "bt709" or dtype not in (np.uint8, np.uint16):
                raise ValueError("arithmetic 'image_f32' is bt709 on uint8/uint16 input")
            top = float(np.iinfo(dtype).max)
            xf = _cast(g, INPUT, np.float32, hint="to_float")
            xf = g.op("Mul", xf, g.const("inv_max", np.float32(1.0) / np.float32(top), np.float32), hint="unit")
            rgb = [_channel(g, xf, i, name) for i, name in zip(order, "RGB")]
            y = _weighted_sum(g, rgb, IMAGE_LUMA_F32, 0.0, "luma", np.float32)
            y = g.op("Mul", y, g.const("max", top, np.float32), hint="scale")
            y = g.op("Floor", g.op("Add", y, g.const("half", 0.5, np.float32), hint="plus_half"), hint="round")
            y = g.op("Clip", y, g.const("lo", 0.0, np.float32), g.const("hi", top, np.float32), hint="clip")
            y = _cast(g, y, dtype, hint="to_int")
        else:
            if arithmetic not in FIXED_GRAY:
                raise ValueError(f"unknown gray arithmetic {arithmetic!r}")
            if dtype != np.uint8:
                raise ValueError(f"arithmetic {arithmetic!r} is defined for uint8 input, got {dtype.name}")
            (wr, wg, wb), offset, divisor, needs = FIXED_GRAY[arithmetic]
            if coeffs != needs:
                raise ValueError(f"arithmetic {arithmetic!r} exists only for {needs}")
            per_input_channel = [0, 0, 0]
            for i, wgt in zip(order, (wr, wg, wb)):
                per_input_channel[i] = wgt
            xi = _cast(g, INPUT, np.int32, hint="to_int32")
            acc = g.op("MatMul", xi, g.const("weights", np.array(per_input_channel).reshape(3, 1), np.int32),
                       hint="weighted_sum")
            if offset:
                acc = g.op("Add", acc, g.const("half", offset, np.int32), hint="plus_half")
            acc = g.op("Div", acc, g.const("scale", divisor, np.int32), hint="divide")
            y = _cast(g, acc, np.uint8, hint="to_uint8")
        name = f"color_{conv}_{coeffs}_{arithmetic}"
        if arithmetic == "float":
            name += f"_{step['rounding']}"
        return y, name, (h, w, 1), dtype
    if conv == "gray_to_rgb":
        y = g.op("Expand", INPUT, g.const("shape", [1, 1, 3], np.int64), hint="replicate")
        return y, "color_gray_to_rgb", (h, w, 3), dtype
    if conv == "rgba_to_rgb":
        if step["alpha"] == "drop":
            y = g.op("Slice", INPUT, g.const("starts", [0], np.int64), g.const("ends", [3], np.int64),
                     g.const("axes", [2], np.int64), hint="drop_alpha")
            return y, "color_rgba_to_rgb_drop", (h, w, 3), dtype
        maxval = float(np.iinfo(dtype).max) if _is_int(dtype) else 1.0
        xd = _cast(g, INPUT, np.float64, hint="to_double")
        colour = g.op("Slice", xd, g.const("starts", [0], np.int64), g.const("ends", [3], np.int64),
                      g.const("axes", [2], np.int64), hint="colour")
        alpha = _channel(g, xd, 3, "alpha")
        a = g.op("Div", alpha, g.const("alpha_max", maxval, np.float64), hint="a")
        fg = g.op("Mul", a, colour, hint="a_times_colour")
        rest = g.op("Sub", g.const("one", 1.0, np.float64), a, hint="one_minus_a")
        bg = g.op("Mul", rest, g.const("background", _per_channel(step["background"], 3, "background"),
                                       np.float64), hint="rest_times_background")
        y = _float_result(g, g.op("Add", fg, bg, hint="composite"), dtype, "half_up")
        return y, "color_rgba_to_rgb_composite", (h, w, 3), dtype
    if conv in ("rgb_to_ycbcr", "ycbcr_to_rgb"):
        xd = _cast(g, INPUT, np.float64, hint="to_double")
        if conv == "rgb_to_ycbcr":
            matrix, offsets = RGB_TO_YCBCR, YCBCR_OFFSET
            src = [_channel(g, xd, i, name) for i, name in enumerate("RGB")]
            out_names = ("Y", "Cb", "Cr")
        else:
            matrix, offsets = YCBCR_TO_RGB, np.zeros(3)
            centred = g.op("Sub", xd, g.const("ycbcr_offset", YCBCR_OFFSET, np.float64), hint="centred")
            src = [_channel(g, centred, i, name) for i, name in enumerate(("Y", "Cb", "Cr"))]
            out_names = ("R", "G", "B")
        rows = [_weighted_sum(g, src, tuple(matrix[i]), float(offsets[i]), out_names[i]) for i in range(3)]
        y = g.op("Concat", *rows, hint="concat", axis=2)
        y = _float_result(g, y, dtype, step["rounding"])
        return y, f"color_{conv}_{step['rounding']}", (h, w, 3), dtype
    raise ValueError(f"unknown colour conversion {conv!r}")


def _normalize(g: _Graph, step: dict, shape: tuple, dtype: np.dtype):
    """Cast, scale, mean, std, cast (module docstring, normalize)."""
    h, w, c = _check_image(shape, "normalize")
    ct = np.dtype(step["compute_dtype"])
    out_dtype = np.dtype(step["dtype"])
    mean = g.const("mean", _per_channel(step["mean"], c, "mean"), ct)
    std = g.const("std", _per_channel(step["std"], c, "std"), ct)
    # the input in compute_dtype (not built for scale_dtype float64, which casts to double)
    x = INPUT if dtype == ct or step.get("scale_dtype", "compute") == "float64" else \
        _cast(g, INPUT, ct, hint="to_" + ct.name)

    def scaled(v: str, dt: np.dtype = ct) -> str:
        if step.get("divisor") is not None:
            return g.op("Div", v, g.const("divisor", float(step["divisor"]), dt), hint="divide")
        return g.op("Mul", v, g.const("scale", float(step["scale"]), dt), hint="scale")

    order, scale_dtype = step["order"], step.get("scale_dtype", "compute")
    if scale_dtype not in ("compute", "float64"):
        raise ValueError(f"unknown normalize scale_dtype {scale_dtype!r}")
    if scale_dtype == "float64" and order != "scale_first":
        raise ValueError("normalize scale_dtype 'float64' is defined only for order 'scale_first'")
    if order == "scale_first" and scale_dtype == "float64":
        # transformers rescale: image.astype(float64) * factor, then one rounding to compute_dtype
        f64 = np.dtype(np.float64)
        x64 = INPUT if dtype == f64 else _cast(g, INPUT, f64, hint="to_float64")
        xs = scaled(x64, f64)
        if ct != f64:
            xs = _cast(g, xs, ct, hint="rescaled_to_" + ct.name)
        y = g.op("Sub", xs, mean, hint="minus_mean")
        y = g.op("Div", y, std, hint="over_std")
    elif order == "scale_first":
        y = g.op("Div", g.op("Sub", scaled(x), mean, hint="minus_mean"), std, hint="over_std")
    elif order == "mean_first":
        y = g.op("Div", scaled(g.op("Sub", x, mean, hint="minus_mean")), std, hint="over_std")
    elif order == "fused":
        # k = 1/scale in float64 (Python's 1.0 / rescale_factor) or the divisor, rounded to ct;
        # M = mean·k and S = std·k each one ct multiplication, then (x − M) / S
        divisor = step.get("divisor")
        k = g.const("k", float(divisor) if divisor is not None else 1.0 / float(step["scale"]), ct)
        fused_mean = g.op("Mul", mean, k, hint="fused_mean")
        fused_std = g.op("Mul", std, k, hint="fused_std")
        y = g.op("Div", g.op("Sub", x, fused_mean, hint="minus_mean"), fused_std, hint="over_std")
    else:
        raise ValueError(f"unknown normalize order {order!r}")
    if out_dtype != ct:
        y = _cast(g, y, out_dtype, hint="to_" + out_dtype.name)
    scale_part = "_scale_float64" if scale_dtype == "float64" else ""
    name = f"normalize_{order}{scale_part}_{ct.name}_to_{out_dtype.name}"
    return y, name, (h, w, c), out_dtype


def _layout(g: _Graph, step: dict, shape: tuple, dtype: np.dtype):
    """Channel reversal, transpose, batch axis (module docstring, layout)."""
    h, w, c = _check_image(shape, "layout")
    y, out_shape = INPUT, (h, w, c)
    if step["channel_order"] == "reverse":
        y = g.op("Gather", y, g.const("reversed", list(range(c - 1, -1, -1)), np.int64),
                 hint="reverse_channels", axis=2)
    if step["layout"] == "chw":
        y, out_shape = g.op("Transpose", y, hint="to_chw", perm=[2, 0, 1]), (c, h, w)
    if step["batch"]:
        y = g.op("Unsqueeze", y, g.const("batch_axis", [0], np.int64), hint="add_batch")
        out_shape = (1, *out_shape)
    name = "_".join(["layout", step["layout"]] + (["batch"] if step["batch"] else [])
                    + (["reverse"] if step["channel_order"] == "reverse" else []))
    return y, name, out_shape, dtype


def _tensor(g: _Graph, step: dict, shape: tuple, dtype: np.dtype):
    """Squeeze the batch axis, Transpose to (H, W, C) (module docstring, tensor). ``shape`` is
    the array as the file holds it."""
    layout = step["layout"]
    if layout not in TENSOR_AXES:
        raise ValueError(f"unknown tensor layout {layout!r}")
    if dtype.name not in TENSOR_DTYPES:
        raise ValueError(f"tensor dtype {dtype.name} is not one of {', '.join(TENSOR_DTYPES)}")
    rank, perm = TENSOR_AXES[layout]
    if len(shape) != rank:
        raise ValueError(f"tensor layout {layout!r} reads a rank-{rank} array, got shape {list(shape)}")
    y, dims = INPUT, list(shape)
    if rank == 4:
        if shape[0] != 1:
            raise ValueError(f"the batch axis holds {shape[0]} images; a case is one image (batch 1)")
        y = g.op("Squeeze", y, g.const("batch_axis", [0], np.int64), hint="drop_batch")
        dims = dims[1:]
    if perm != IDENTITY:
        y = g.op("Transpose", y, hint="to_hwc", perm=list(perm))
        dims = [dims[a] for a in perm]
    h, w, c = dims
    if not (1 <= c <= 4) or h < 1 or w < 1:
        raise ValueError(f"layout {layout!r} reads (H, W, C) = {dims}: C must be 1..4 and H, W at "
                         "least 1 (is the layout right?)")
    name = f"tensor_{layout}_{'x'.join(str(d) for d in shape)}_to_{h}x{w}x{c}"
    return y, name, (h, w, c), dtype


def _float_input(g: _Graph, op: str, dtype: np.dtype, ct: np.dtype) -> str:
    if dtype.kind != "f":
        raise ValueError(f"{op} takes a float tensor, got {dtype.name}")
    return INPUT if dtype == ct else _cast(g, INPUT, ct, hint="to_" + ct.name)


def _denormalize(g: _Graph, step: dict, shape: tuple, dtype: np.dtype):
    """Mul/Add/Div or Sub/Div/Mul/Add in compute_dtype (module docstring, denormalize)."""
    h, w, c = _check_image(shape, "denormalize")
    ct = np.dtype(step["compute_dtype"])
    if ct not in (np.float32, np.float64):
        raise ValueError(f"unknown denormalize compute_dtype {ct.name}")
    x = _float_input(g, "denormalize", dtype, ct)
    mode = step["mode"]
    if mode == "mean_std":
        y = g.op("Mul", x, g.const("std", _per_channel(step["std"], c, "std"), ct), hint="times_std")
        y = g.op("Add", y, g.const("mean", _per_channel(step["mean"], c, "mean"), ct), hint="plus_mean")
        y = g.op("Div", y, g.const("scale", float(step["scale"]), ct), hint="over_scale")
    elif mode == "range":
        a, b = (ct.type(v) for v in step["from_range"])
        lo, hi = (ct.type(v) for v in step["to_range"])
        y = g.op("Sub", x, g.const("from_lo", a, ct), hint="minus_from_lo")
        y = g.op("Div", y, g.const("from_span", b - a, ct), hint="over_from_span")
        y = g.op("Mul", y, g.const("to_span", hi - lo, ct), hint="times_to_span")
        y = g.op("Add", y, g.const("to_lo", lo, ct), hint="plus_to_lo")
    else:
        raise ValueError(f"unknown denormalize mode {mode!r}")
    return y, f"denormalize_{mode}_{ct.name}", (h, w, c), ct


def _half_up_exact(g: _Graph, y: str, ct: np.dtype, hint: str) -> str:
    """floor(y + 1/2) without rounding y + 1/2: f = Floor(y), Where(y − f >= 0.5, f + 1, f)."""
    f = g.op("Floor", y, hint=f"{hint}_floor")
    frac = g.op("Sub", y, f, hint=f"{hint}_fraction")
    up = g.op("GreaterOrEqual", frac, g.const(f"{hint}_half", 0.5, ct), hint=f"{hint}_rounds_up")
    f1 = g.op("Add", f, g.const(f"{hint}_one", 1.0, ct), hint=f"{hint}_floor_plus_one")
    return g.op("Where", up, f1, f, hint=f"{hint}_rounded")


def _quantize(g: _Graph, step: dict, shape: tuple, dtype: np.dtype):
    """Clip, Mul, Abs, Clip, rounding, Cast chain (module docstring, quantize)."""
    h, w, c = _check_image(shape, "quantize")
    ct = np.dtype(step["compute_dtype"])
    if ct not in (np.float32, np.float64):
        raise ValueError(f"unknown quantize compute_dtype {ct.name}")
    if step["dtype"] not in QUANTIZE_MAX:
        raise ValueError(f"quantize writes uint8 or uint16, not {step['dtype']!r}")
    out_dtype, top = np.dtype(step["dtype"]), QUANTIZE_MAX[step["dtype"]]
    clamp, rounding = step["clamp"], step["rounding"]
    overflow, int_path = step["overflow"], step["int_path"]
    for knob, value, known in (("clamp", clamp, ("before", "after", "none")),
                               ("rounding", rounding, QUANTIZE_ROUNDING),
                               ("overflow", overflow, ("saturate", "wrap")),
                               ("int_path", int_path, ("exact", "int32", "int64"))):
        if value not in known:
            raise ValueError(f"unknown quantize {knob} {value!r}")
    scale = ct.type(step["scale"])
    y = _float_input(g, "quantize", dtype, ct)
    if clamp == "before":
        y = g.op("Clip", y, g.const("before_lo", 0.0, ct), g.const("before_hi", ct.type(top) / scale, ct),
                 hint="clamp_before")
    y = g.op("Mul", y, g.const("scale", scale, ct), hint="scaled")
    if step["absolute"]:
        y = g.op("Abs", y, hint="absolute")
    if clamp == "after":
        y = g.op("Clip", y, g.const("after_lo", 0.0, ct), g.const("after_hi", float(top), ct),
                 hint="clamp_after")
    if rounding == "half_even":
        y = g.op("Round", y, hint="round_half_even")
    elif rounding == "floor":
        y = g.op("Floor", y, hint="round_floor")
    elif rounding == "half_up":
        y = _half_up_exact(g, y, ct, "half_up")
    elif rounding == "half_away":
        magnitude = _half_up_exact(g, g.op("Abs", y, hint="magnitude"), ct, "half_away")
        y = g.op("Mul", g.op("Sign", y, hint="sign"), magnitude, hint="round_half_away")
    # truncate: nothing, the Cast below truncates toward zero
    carrier = ct
    if int_path != "exact":
        carrier = np.dtype(np.int32 if int_path == "int32" else np.int64)
        y = _cast(g, y, carrier, hint="to_" + carrier.name)
    if overflow == "saturate":
        y = g.op("Clip", y, g.const("saturate_lo", 0, carrier), g.const("saturate_hi", top, carrier),
                 hint="saturate")
    y = _cast(g, y, out_dtype, hint="to_" + out_dtype.name)
    name = "_".join(["quantize", ct.name, "to", out_dtype.name, f"clamp_{clamp}", rounding, int_path,
                     overflow] + (["absolute"] if step["absolute"] else []))
    return y, name, (h, w, c), out_dtype


BUILDERS = {"resize": _resize, "crop": _crop, "pad": _pad, "letterbox": _letterbox, "color": _color,
            "normalize": _normalize, "layout": _layout, "tensor": _tensor,
            "denormalize": _denormalize, "quantize": _quantize}


def build_step_graph(step: dict[str, Any], shape: tuple, dtype: np.dtype) -> onnx.ModelProto:
    """The ONNX model computing ``step`` on an input of ``shape`` and ``dtype``.

    Raises :class:`.base.Unsupported` if :func:`check_step` gives a reason, ``ValueError`` if the
    input does not fit the step (wrong channel count, window outside the image...).
    """
    reason = check_step(step)
    if reason is not None:
        raise Unsupported(reason)
    shape = tuple(int(s) for s in shape)
    dtype = np.dtype(dtype)
    g = _Graph()
    last, name, out_shape, out_dtype = BUILDERS[step["op"]](g, step, shape, dtype)
    return g.finish(last, name, step, shape, dtype, out_shape, out_dtype)


__all__ = ["INPUT", "OPSET", "OUTPUT", "build_step_graph", "check_step", "describe_step",
           "resize_attributes"]


class GraphHarness(Harness):
    """A harness that runs each step as the graph :func:`build_step_graph` makes (ONNX Runtime,
    tract): subclasses set ``runtime`` (the name in ``describe``) and implement
    :meth:`execute` (serialized graph + contiguous input -> output). A ``tensor`` step receives
    the ``.npy`` file's bytes: :meth:`run` reads them with :func:`.base.tensor_input` and the runtime gets
    the array, so every runtime runs the same graph on the same array."""

    runtime = ""

    def check(self, step: dict[str, Any]) -> str | None:
        return check_step(step)

    def describe(self, step: dict[str, Any]) -> str:
        return f"{self.runtime}: {describe_step(step)}"

    def run(self, step: dict[str, Any], value: bytes | np.ndarray) -> np.ndarray:
        reason = check_step(step)
        if reason is not None:
            raise Unsupported(reason)
        if step.get("op") == "tensor":
            # the .npy bytes stand for a model output in memory: numpy reads them
            # (base.tensor_input), the graph rearranges the axes (module docstring, tensor)
            value = tensor_input(step, value)
        if not isinstance(value, np.ndarray):
            raise TypeError(f"the {step.get('op')} step needs an array, got {type(value).__name__}")
        array = np.ascontiguousarray(value)
        return self.execute(build_step_graph(step, array.shape, array.dtype).SerializeToString(), array)

    def execute(self, graph: bytes, array: np.ndarray) -> np.ndarray:
        raise NotImplementedError
