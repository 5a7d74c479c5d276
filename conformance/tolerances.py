"""Default tolerances per op and output dtype, each a named number with its metric and reason.

Metric ``max_abs``: the largest absolute difference of any single element (per channel, never a
sum over channels), compared as float64. A pipeline may override a step's tolerance in its
``tolerances`` table (by step index or op name), always with a reason.
"""

from __future__ import annotations

from typing import Any

# (op, dtype kind) -> tolerance. dtype kind: "int" for integer outputs, "float" otherwise.
DEFAULT_TOLERANCES: dict[tuple[str, str], dict[str, Any]] = {
    ("decode", "int"): {"max_abs": 0, "reason": "lossless decoding (PNG) is exact; JPEG "
                        "reconstruction is exact when the same IDCT/upsampling/colour knobs are used"},
    ("resize", "int"): {"max_abs": 1, "reason": "the reference reproduces each preset's library to "
                        "0 LSB; 1 LSB allows another conforming implementation's final rounding"},
    ("resize", "float"): {"max_abs": 1e-4, "reason": "float32 implementations of float64 weights"},
    ("crop", "int"): {"max_abs": 0, "reason": "pure data movement"},
    ("crop", "float"): {"max_abs": 0, "reason": "pure data movement"},
    ("pad", "int"): {"max_abs": 0, "reason": "pure data movement"},
    ("pad", "float"): {"max_abs": 0, "reason": "pure data movement"},
    ("letterbox", "int"): {"max_abs": 0, "reason": "pure data movement"},
    ("letterbox", "float"): {"max_abs": 0, "reason": "pure data movement"},
    ("layout", "int"): {"max_abs": 0, "reason": "pure data movement"},
    ("layout", "float"): {"max_abs": 0, "reason": "pure data movement"},
    ("color", "int"): {"max_abs": 0, "reason": "the arithmetic knob names the exact integer formula"},
    ("color", "float"): {"max_abs": 1e-6, "reason": "float64 matrix products"},
    ("tensor", "int"): {"max_abs": 0, "reason": "reading the file: pure data movement"},
    ("tensor", "float"): {"max_abs": 0, "reason": "reading the file: pure data movement "
                          "(NaN matches NaN, inf matches inf)"},
    ("denormalize", "float"): {"max_abs": 1e-4, "reason": "float32 arithmetic: one ulp is 1.5e-5 "
                               "at 255 (scale 1/255), 6e-8 in [0, 1]; operation orders and fused "
                               "multiply-adds differ by an ulp or two"},
    ("quantize", "int"): {"max_abs": 0, "reason": "clamp, rounding, integer path and overflow are "
                          "knobs: the integer each library produces is exact"},
    ("encode", "int"): {"max_abs": 0, "reason": "PNG is lossless; a JPEG written by libjpeg-turbo "
                        "at the same quality and sampling and read back by it is exact"},
    ("normalize", "float"): {"max_abs": 1e-5, "reason": "float32 has 2^-24 relative precision; "
                             "values within ±3 differ by a few ulps between operation orders"},
}


def default_tolerance(op: str, dtype_name: str) -> dict[str, Any]:
    """The default tolerance for ``op`` producing ``dtype_name`` (``metric`` always ``max_abs``)."""
    kind = "int" if dtype_name.startswith(("uint", "int")) else "float"
    if dtype_name == "float16" and op == "normalize":
        return {"metric": "max_abs", "max_abs": 2e-3, "reason": "float16 has 11 significant bits: "
                "one ulp is 2^-9 near ±2.6"}
    tol = DEFAULT_TOLERANCES.get((op, kind)) or {"max_abs": 0, "reason": "exact by default"}
    return {"metric": "max_abs", **tol}


def step_tolerance(pipeline_overrides: dict, index: int, op: str, dtype_name: str) -> dict[str, Any]:
    """Tolerance of step ``index``: the pipeline's override by index, else by op, else the default."""
    override = pipeline_overrides.get(str(index)) or pipeline_overrides.get(op)
    if override:
        return {"metric": "max_abs", **override}
    return default_tolerance(op, dtype_name)
