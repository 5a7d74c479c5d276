"""Error metrics of one output against its expected array (:func:`metrics_for`), the numbers
behind every verdict of :mod:`conformance.score` and :mod:`conformance.scale`."""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

#: Float arrays of at least this many elements go through the compiled pass; below it numpy's
#: route is as fast, and commands that score only small arrays never import numba (~60 MB).
COMPILED_MIN_SIZE = 1 << 14


def _clean(v: float) -> float | None:
    """A JSON-safe float: finite values rounded to 9 significant digits, else None."""
    if v is None or not math.isfinite(v):
        return None
    return float(f"{v:.9g}")


ULP_LIMIT = np.iinfo(np.int64).max  # float64 values of opposite signs can be 2**64 ulps apart


def ulp_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Units in the last place between float arrays of one dtype (monotone integer mapping), as
    int64; a distance beyond 2**63 - 1 (float64 values far apart across zero) is held there."""
    bits = {np.float16: np.int16, np.float32: np.int32, np.float64: np.int64}[a.dtype.type]
    ia, ib = a.view(bits).astype(np.int64), b.view(bits).astype(np.int64)
    # Map sign-magnitude floats to a monotone integer line: negatives are mirrored.
    top = np.int64(np.iinfo(bits).min)
    ia = np.where(ia < 0, top - ia, ia)
    ib = np.where(ib < 0, top - ib, ib)
    # |ia - ib| in uint64 (modular subtraction is exact: the true distance is below 2**64)
    hi, lo = np.maximum(ia, ib).view(np.uint64), np.minimum(ia, ib).view(np.uint64)
    return np.minimum(hi - lo, np.uint64(ULP_LIMIT)).astype(np.int64)


def metrics_for(expected: np.ndarray, got: np.ndarray, tolerance: float) -> dict[str, Any]:
    """Error metrics of ``got`` against ``expected`` (same shape), see the module docstring.

    :func:`_general_metrics` is the definition (float64 throughout, non-finite values handled);
    three faster routes give the same numbers (tests/test_metrics.py holds them to it): equal
    arrays, the common case of a conforming step, are answered from one bitwise comparison;
    8- and 16-bit integers are differenced in int64 with exact sums; finite float32/float64 arrays
    of at least :data:`COMPILED_MIN_SIZE` elements go through one compiled pass
    (:func:`float_stats`, compensated sums)."""
    if expected.size and got.dtype == expected.dtype and _bitwise_equal(expected, got):
        return _equal_metrics(expected, got)
    if (expected.size and expected.dtype.kind in "ui" and got.dtype.kind in "ui"
            and max(expected.dtype.itemsize, got.dtype.itemsize) <= 2):
        return _integer_metrics(expected, got, tolerance)
    if (expected.size >= COMPILED_MIN_SIZE and got.dtype == expected.dtype
            and expected.dtype.type in (np.float32, np.float64)):
        out = _float_metrics(expected, got, tolerance)
        if out is not None:
            return out
    return _general_metrics(expected, got, tolerance)


def _equal_metrics(expected: np.ndarray, got: np.ndarray) -> dict[str, Any]:
    """:func:`metrics_for` of two equal non-empty arrays of one dtype: every error is 0."""
    first = (0,) * expected.ndim
    out: dict[str, Any] = {
        "max_abs": 0.0, "mean_abs": 0.0, "rmse": 0.0, "over_tolerance": 0.0, "nonfinite": 0,
        "worst": {"index": list(first), "expected": _clean(float(expected[first])),
                  "got": _clean(float(got[first]))},
    }
    if expected.dtype.kind in "ui":
        out["psnr"] = None
    else:
        out["max_rel"] = 0.0
        if expected.dtype.type in (np.float16, np.float32, np.float64):
            out["max_ulp"] = 0
    return out


def _bitwise_equal(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two arrays of one dtype and shape hold the same bytes (equal values; a NaN equals
    itself; -0.0 and 0.0 differ here and are left to the general route, which calls them equal)."""
    if a.shape != b.shape:
        return False
    bits = np.dtype(f"u{a.dtype.itemsize}") if a.dtype.itemsize in (1, 2, 4, 8) else None
    if bits is None or a.dtype.kind not in "uif":
        return bool(np.array_equal(a, b))
    return bool(np.array_equal(np.ascontiguousarray(a).reshape(-1).view(bits),
                               np.ascontiguousarray(b).reshape(-1).view(bits)))


def _integer_metrics(expected: np.ndarray, got: np.ndarray, tolerance: float) -> dict[str, Any]:
    """:func:`metrics_for` of 8- and 16-bit integer arrays: differences in int64, sums exact
    (a squared difference is below 2**32, so the int64 sum holds 2**31 elements)."""
    diff = np.abs(got.astype(np.int64) - expected.astype(np.int64))
    flat = int(np.argmax(diff))
    worst = np.unravel_index(flat, diff.shape)
    n = diff.size
    total, squares = int(diff.sum()), int(np.dot(diff.ravel(), diff.ravel()))
    rmse = math.sqrt(squares / n)
    out: dict[str, Any] = {
        "max_abs": _clean(float(diff.flat[flat])),
        "mean_abs": _clean(total / n),
        "rmse": _clean(rmse),
        "over_tolerance": _clean(float(np.count_nonzero(diff > tolerance)) / n),
        "nonfinite": 0,
        "worst": {"index": [int(i) for i in worst], "expected": _clean(float(expected[worst])),
                  "got": _clean(float(got[worst]))},
    }
    peak = float(np.iinfo(expected.dtype).max)
    out["psnr"] = _clean(20 * math.log10(peak / rmse)) if rmse > 0 else None
    return out


def _general_metrics(expected: np.ndarray, got: np.ndarray, tolerance: float) -> dict[str, Any]:
    """:func:`metrics_for` on any real dtypes: float64 throughout, non-finite values handled."""
    e = expected.astype(np.float64)
    g = got.astype(np.float64)
    # a non-finite value the reference also holds (NaN for NaN, +inf for +inf: a tensor input's
    # own values on the way back) is a match; any other non-finite value is an error
    same = (e == g) | (np.isnan(e) & np.isnan(g))
    nonfinite = int(np.count_nonzero(~np.isfinite(g) & ~same))
    diff = np.where(same, 0.0, np.abs(g - e))
    diff = np.where(np.isfinite(diff), diff, np.inf)
    worst = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.size else ()
    max_abs = float(diff.max()) if diff.size else 0.0
    finite = diff[np.isfinite(diff)]
    rmse = float(np.sqrt(np.mean(finite ** 2))) if finite.size else math.inf
    out: dict[str, Any] = {
        "max_abs": _clean(max_abs) if math.isfinite(max_abs) else None,
        "mean_abs": _clean(float(finite.mean())) if finite.size else None,
        "rmse": _clean(rmse),
        "over_tolerance": _clean(float(np.count_nonzero(diff > tolerance)) / diff.size) if diff.size else 0.0,
        "nonfinite": nonfinite,
        "worst": {"index": [int(i) for i in worst],
                  "expected": _clean(float(e[worst])) if diff.size else None,
                  "got": _clean(float(g[worst])) if diff.size else None},
    }
    if np.issubdtype(expected.dtype, np.integer):
        peak = float(np.iinfo(expected.dtype).max)
        out["psnr"] = _clean(20 * math.log10(peak / rmse)) if 0 < rmse < math.inf else None
    else:
        with np.errstate(over="ignore", invalid="ignore"):
            rel = np.where(same, 0.0, diff / np.maximum(np.abs(e), np.finfo(np.float64).tiny))
        out["max_rel"] = _clean(float(rel.max())) if rel.size else 0.0
        if got.dtype == expected.dtype and expected.dtype.type in (np.float16, np.float32, np.float64):
            ulps = np.where(same, 0, ulp_distance(expected, got))
            out["max_ulp"] = int(ulps.max()) if expected.size else 0
    return out


def float_stats(e, g, eb, gb, top, tolerance):
    """One pass over flat float arrays ``e`` (expected) and ``g`` and their bit patterns ``eb``,
    ``gb`` (signed integers of the same width): ``(finite, max_abs, argmax, sum_abs, sum_sq,
    over_tolerance count, max_rel, max_ulp)``, the sums compensated (Neumaier), so they match
    numpy's pairwise float64 sums to a few units in the last place. ``finite`` is False (and the
    rest meaningless) as soon as a non-finite value is met: :func:`_general_metrics` handles those.
    :func:`compiled_float_stats` is this function compiled by numba."""
    tiny = 2.2250738585072014e-308
    limit = 9223372036854775807  # ULP_LIMIT
    best, at, over, rel, ulp = -1.0, 0, 0, 0.0, 0
    s, sc, q, qc = 0.0, 0.0, 0.0, 0.0
    for i in range(e.size):
        x, y = np.float64(e[i]), np.float64(g[i])  # float() keeps float32 under numba
        if not (math.isfinite(x) and math.isfinite(y)):
            return False, 0.0, 0, 0.0, 0.0, 0, 0.0, 0
        d = abs(y - x)
        if d > best:
            best, at = d, i
        t = s + d  # Neumaier's compensated sums of d and d*d
        sc += (s - t) + d if abs(s) >= d else (d - t) + s
        s = t
        d2 = d * d
        t = q + d2
        qc += (q - t) + d2 if abs(q) >= d2 else (d2 - t) + q
        q = t
        if d > tolerance:
            over += 1
        r = d / max(abs(x), tiny)
        if r > rel:
            rel = r
        a, b = np.int64(eb[i]), np.int64(gb[i])
        if a < 0:
            a = top - a
        if b < 0:
            b = top - b
        if a < b:
            a, b = b, a
        u = a - b if b >= 0 or a <= limit + b else limit  # a - b would overflow: held at limit
        if u > ulp:
            ulp = u
    return True, best, at, s + sc, q + qc, over, rel, ulp


@functools.cache
def compiled_float_stats():
    """:func:`float_stats` compiled by numba, imported on first use (numba costs ~60 MB and
    0.2 s to import, which commands that never score a large float array should not pay)."""
    from numba import njit
    return njit(cache=True)(float_stats)


def _float_metrics(expected: np.ndarray, got: np.ndarray, tolerance: float) -> dict[str, Any] | None:
    """:func:`metrics_for` of two float32 or float64 arrays of one dtype, or None if either holds
    a non-finite value."""
    bits = np.int32 if expected.dtype == np.float32 else np.int64
    e, g = np.ascontiguousarray(expected).reshape(-1), np.ascontiguousarray(got).reshape(-1)
    finite, max_abs, at, total, squares, over, rel, ulp = compiled_float_stats()(
        e, g, e.view(bits), g.view(bits), int(np.iinfo(bits).min), float(tolerance))
    if not finite:
        return None
    n = e.size
    worst = np.unravel_index(at, expected.shape)
    return {
        "max_abs": _clean(max_abs), "mean_abs": _clean(total / n), "rmse": _clean(math.sqrt(squares / n)),
        "over_tolerance": _clean(over / n), "nonfinite": 0,
        "worst": {"index": [int(i) for i in worst], "expected": _clean(float(e[at])),
                  "got": _clean(float(g[at]))},
        "max_rel": _clean(rel), "max_ulp": int(ulp),
    }
