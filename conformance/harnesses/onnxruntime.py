"""The ONNX Runtime harness: each step as a small ONNX graph run by onnxruntime's CPU provider.

The graphs, and every decision about which knob becomes which ONNX attribute or op, are in
:mod:`.onnx_graphs` (shared with the tract harness, so both runtimes run the same bytes). This
module only runs them: one ``InferenceSession`` per distinct graph (cached: many cases share
shapes), ``CPUExecutionProvider``, graph optimisations at their default level
(``ORT_ENABLE_ALL``, what a deployment gets), one intra-op and one inter-op thread so results do
not depend on the thread count, ORT's own logging silenced below fatal (a failing graph raises
its error as a Python exception, which is what the runner records).

Measured with onnxruntime 1.31.1 against the bundle (details in tests/test_harness_onnxruntime.py):
Resize computes source coordinates in float32 (``scale = float(out)/float(in)``) and counts a
fraction within 1e-6 of 0.5 as a tie, which moves a nearest pixel where exact x is a tie;
linear/cubic are within 1 LSB of the ONNX spec's tap window, while ``onnx.reference`` 1.23 (and so
the reference's ``window="onnx_reference"``) places the window one pixel left when x is an ulp
above an integer.

The way back (tensor, denormalize, quantize; tests/test_onnx_way_back.py): ONNX Runtime's Cast
from float16/32/64 to uint8/uint16 truncates toward zero through int32 (NaN, ±inf and values
outside [−2^31, 2^31) give the "integer indefinite", whose low bits are 0) and keeps the low
bits: the reference's ``int_path="int32", overflow="wrap"``. The full table and how the quantize
knobs map onto Casts and Clips are in :mod:`.onnx_graphs`; every QUANTIZE_PRESETS entry and both
DENORMALIZE_PRESETS entries are bit-exact against the reference.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

import numpy as np
import onnx
import onnxruntime as ort

from .onnx_graphs import INPUT, OPSET, OUTPUT, GraphHarness

# Sessions kept (least recently used dropped first): each holds a few small initializers; a
# bundle has a few hundred distinct (step, shape) graphs.
SESSION_CACHE_SIZE = 512
# ORT log severity: 0 verbose .. 3 error, 4 fatal. Kernel failures come back as exceptions.
LOG_SEVERITY_FATAL = 4


class OnnxRuntimeHarness(GraphHarness):
    """ONNX Runtime (CPU) running each step as an opset-19 ONNX graph; see :mod:`.onnx_graphs`."""

    name = "onnxruntime"
    runtime = "onnxruntime"
    summary = f"ONNX Runtime CPU provider running each step as an ONNX graph (opset {OPSET})"

    def __init__(self) -> None:
        self._sessions: OrderedDict[bytes, ort.InferenceSession] = OrderedDict()

    def versions(self) -> dict[str, str]:
        return {"onnxruntime": ort.__version__, "onnx": onnx.__version__, "opset": str(OPSET)}

    def capabilities(self) -> dict[str, str]:
        return {
            "decode": "unsupported: ONNX has no image decoder op in the default domain",
            "resize": "Resize-19 nearest/linear/cubic, all coordinate modes, nearest_mode, "
                      "cubic_coeff_a, antialias, exclude_outside; per channel in float32",
            "crop": "Slice (Pad first for if_smaller=pad)",
            "pad": "Pad constant (per channel)/edge/reflect",
            "letterbox": "Pad constant",
            "color": "Gather (RGB<->BGR), luma as Mul/Add in float64 or integer MatMul (fixed), "
                     "Expand, composite, T.871 YCbCr",
            "normalize": "Cast, Mul/Div, Sub, Div, Cast (scale_dtype=float64 via Cast(double); fused "
                         "as Mul(mean, k), Mul(std, k))",
            "layout": "Gather, Transpose, Unsqueeze",
            "tensor": "numpy reads the .npy (strict header checks, allow_pickle=False); Squeeze "
                      "+ Transpose to HWC",
            "denormalize": "Mul/Add/Div (mean_std) or Sub/Div/Mul/Add (range) in compute_dtype",
            "quantize": "Clip, Mul, Abs, Clip, Round/Floor/exact half-up Where, Cast(int32|int64) "
                        "per int_path, Clip to saturate, Cast (truncates; wraps out of range)",
            "encode": "unsupported: ONNX has no image encoder",
        }

    def execute(self, graph: bytes, array: np.ndarray) -> np.ndarray:
        return self.session(graph).run([OUTPUT], {INPUT: array})[0]

    def session(self, model_bytes: bytes) -> ort.InferenceSession:
        """The cached session for a serialized model (keyed by its SHA-256)."""
        key = hashlib.sha256(model_bytes).digest()
        session = self._sessions.get(key)
        if session is not None:
            self._sessions.move_to_end(key)
            return session
        session = ort.InferenceSession(model_bytes, sess_options=session_options(),
                                       providers=["CPUExecutionProvider"])
        self._sessions[key] = session
        if len(self._sessions) > SESSION_CACHE_SIZE:
            self._sessions.popitem(last=False)
        return session


def session_options() -> ort.SessionOptions:
    """Deterministic CPU options: default optimisation level, one thread each, quiet logs."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = LOG_SEVERITY_FATAL
    return options
