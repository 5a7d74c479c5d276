"""Quantisation: a float tensor to integer pixels (see spec.Quantize).

Every library's way differs in four places, each a knob: where the values are clipped, how they
are rounded, which integer the conversion goes through, and what happens outside 0..max. The
integer conversion is written out element by element in float64 and Python integers, so it is
exact for every float16/32/64 value, NaN and ±inf included.
"""

from __future__ import annotations

import numpy as np

from ...errors import SpecError
from ...spec import QUANTIZE_DTYPES, Quantize


def round_values(y: np.ndarray, rule: str) -> np.ndarray:
    """``y`` rounded to integral values in its own float dtype (NaN and ±inf unchanged):
    ``half_even`` (numpy rint), ``half_up`` floor(y + 1/2) computed exactly (no double rounding:
    the tie test is y − floor(y) ≥ 1/2), ``half_away`` (|y| half up, sign kept), ``truncate``
    toward zero, ``floor``."""
    if rule == "half_even":
        return np.rint(y)
    if rule == "truncate":
        return np.trunc(y)
    if rule == "floor":
        return np.floor(y)
    f = np.floor(y)
    if rule == "half_up":
        return np.where(y - f >= 0.5, f + 1, f).astype(y.dtype)  # y − floor(y) is exact
    a = np.abs(y)
    fa = np.floor(a)
    return np.copysign(np.where(a - fa >= 0.5, fa + 1, fa), y).astype(y.dtype)


def to_integers(r: np.ndarray, step: Quantize) -> np.ndarray:
    """Integral float values (or NaN/±inf) to ``step.dtype`` per ``int_path`` and ``overflow``.

    ``exact``: the value itself; NaN becomes 0 (Rust's saturating ``as``).
    ``int32``/``int64``: the value if it lies in [−2^(n−1), 2^(n−1) − 1], else (NaN, ±inf, too
    large) −2^(n−1), the x86-64 "integer indefinite" of ``cvttss2si``/``cvtsd2si``.
    Then ``saturate`` clips to 0..max, ``wrap`` keeps the value modulo 2^bits."""
    top = QUANTIZE_DTYPES[step.dtype]
    modulus = top + 1
    v = r.astype(np.float64)  # every float16/32 value is exact in float64; integral already
    nan = np.isnan(v)
    if step.int_path == "exact":
        v = np.where(nan, 0.0, v)
    else:
        bits = 32 if step.int_path == "int32" else 64
        lo, hi = -(2.0 ** (bits - 1)), 2.0 ** (bits - 1)  # hi itself is out of range
        v = np.where(nan | (v < lo) | (v >= hi), lo, v)
    if step.overflow == "saturate":
        out = np.clip(v, 0, top)
    else:
        with np.errstate(invalid="ignore"):
            # x mod 2^bits in float64 is exact for integral x (fmod is exact); ±inf only with
            # int_path="exact", where a cast of inf has no low bits: 0, as for NaN
            out = np.where(np.isfinite(v), np.mod(v, modulus), 0.0)
    return out.astype(step.dtype)


def quantize(image: np.ndarray, step: Quantize) -> np.ndarray:
    """clamp before → ·scale → |·| → clamp after → round → integer conversion, each float
    operation in ``compute_dtype`` (spec.Quantize lists the libraries behind each choice)."""
    if image.dtype.kind != "f":
        raise SpecError(f"quantize takes a float tensor, got {image.dtype.name}: these are "
                        "already integers (quantize belongs to the way back)", field="op",
                        value="quantize")
    ct = np.dtype(step.compute_dtype)
    top = QUANTIZE_DTYPES[step.dtype]
    scale = ct.type(step.scale)
    x = image.astype(ct)
    with np.errstate(all="ignore"):  # inf·scale, NaN comparisons: the values say what happened
        if step.clamp == "before":
            x = np.clip(x, ct.type(0), ct.type(top) / scale)
        y = x * scale
        if step.absolute:
            y = np.abs(y)
        if step.clamp == "after":
            y = np.clip(y, ct.type(0), ct.type(top))
        r = round_values(y, step.rounding)
        return to_integers(r, step)
