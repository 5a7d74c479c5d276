"""Per-axis resampling as banded weight matrices ("taps").

Every separable resize in the reference is two 1-D passes. One pass along an axis of length
``s`` producing ``d`` outputs is described by :class:`AxisTaps`: for each output ``i`` a fixed
number ``n`` of source indices ``index[i, j]`` (already inside ``0..s-1``) and their weights
``weight[i, j]``. Unused taps carry weight 0 (and any valid index), so the matrix stays
rectangular and the pass is one gather and one weighted sum:

    out[i] = sum_j weight[i, j] * src[index[i, j]]

Border handling (clamping to the edge or dropping and renormalising) is decided when the taps are
built, never when they are applied.

Also here: the order of the weighted sum (:func:`apply_taps`: sequential, or numpy's
:func:`pairwise_sum`), its slow definition (:func:`apply_taps_slow`), and the fixed-point weight
conversions (:func:`quantize_fixed`: Pillow; :func:`quantize_fixed_dynamic`: fast_image_resize).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class AxisTaps:
    """Source indices and weights of one 1-D pass: ``index``/``weight`` have shape (d, n)."""

    index: np.ndarray  # int64, (d, n), values in 0..src_len-1
    weight: np.ndarray  # float64 (or integer for fixed point), (d, n)
    src_len: int

    def __post_init__(self) -> None:
        if self.index.shape != self.weight.shape or self.index.ndim != 2:
            raise ValueError(f"index {self.index.shape} and weight {self.weight.shape} must be (d, n)")
        if self.index.size and (self.index.min() < 0 or self.index.max() >= self.src_len):
            raise ValueError("tap index outside the source axis")

    @property
    def dst_len(self) -> int:
        return self.index.shape[0]

    def matrix(self) -> np.ndarray:
        """The dense (d, s) float64 matrix (for tests and explanations, not for speed)."""
        m = np.zeros((self.dst_len, self.src_len))
        rows = np.repeat(np.arange(self.dst_len), self.index.shape[1])
        np.add.at(m, (rows, self.index.ravel()), self.weight.ravel().astype(np.float64))
        return m


def apply_taps(src: np.ndarray, taps: AxisTaps, axis: int, acc_dtype=np.float64,
               *, engine: str = "auto", order: str = "sequential") -> np.ndarray:
    """One 1-D pass along ``axis`` of an (H, W, C) array: out[i] = sum_j w[i,j] * src[idx[i,j]].

    The sum runs over taps in order j = 0..n-1 in ``acc_dtype`` (float64 by default; int64 for
    fixed-point weights; float32 to model a float32 implementation tap by tap): starting from 0,
    each step rounds the product ``w·src`` and then the sum to ``acc_dtype`` (source values and
    weights are first converted to ``acc_dtype``). Integer accumulators must not overflow (the
    caller picks int32 only when a bound proves it cannot).

    ``engine``: ``numpy`` (one vectorised multiply-add per tap), ``numba`` (the same loop compiled;
    no fast-math, so no reassociation and no fused multiply-add), ``auto`` = numba when importable.
    :func:`apply_taps_slow` is the definition as scalar loops; tests prove all three equal.

    ``order="pairwise"``: the products ``w·src`` (rounded to ``acc_dtype``) are summed in numpy's
    pairwise order over all n taps (:func:`pairwise_sum`) instead of left to right; identical to
    sequential for n < 8. This is what ``ndarray.sum`` over a contiguous tap axis does
    (onnx.reference); zero-weight taps count, since they shift the grouping.
    """
    if src.shape[axis] != taps.src_len:
        raise ValueError(f"axis {axis} has length {src.shape[axis]}, taps expect {taps.src_len}")
    acc = np.dtype(acc_dtype)
    # Lay the array out as contiguous rows along ``axis``: (s, K). The order of the other axes
    # inside a row does not change any sum; reversing them makes the copy for axis 1 of an
    # (H, W, C) image a cheap planar transpose instead of one with 3-element chunks.
    perm = tuple(range(src.ndim)) if axis == 0 else \
        (axis,) + tuple(reversed([a for a in range(src.ndim) if a != axis]))
    moved = np.ascontiguousarray(src.transpose(perm))
    flat = moved.reshape(taps.src_len, -1).astype(acc, copy=False)
    weight = np.ascontiguousarray(taps.weight.astype(acc, copy=False))
    index = np.ascontiguousarray(taps.index.astype(np.int64, copy=False))
    if engine == "auto":
        engine = "numba" if _numba_kernel() is not None else "numpy"
    if order == "pairwise" and taps.index.shape[1] >= 8:
        products = flat[index] * weight[:, :, None]  # (d, n, K), each product rounded to acc
        out = pairwise_sum(products, axis=1)
    elif order not in ("sequential", "pairwise"):
        raise ValueError(f"unknown order {order!r}")
    elif engine == "numba":
        out = np.zeros((taps.dst_len, flat.shape[1]), dtype=acc)
        _numba_kernel()(flat, index, weight, out)
    elif engine == "numpy":
        out = _accumulate_numpy(flat, index, weight)
    else:
        raise ValueError(f"unknown engine {engine!r}")
    result = out.reshape((taps.dst_len,) + moved.shape[1:])
    return result.transpose(np.argsort(perm))


def pairwise_sum(a: np.ndarray, axis: int) -> np.ndarray:
    """numpy's pairwise summation (``@TYPE@_pairwise_sum``, numpy/_core/src/umath/loops_utils.h.src)
    of ``a`` along ``axis``, in a's dtype, as ``ndarray.sum`` applies it to a contiguous axis:

        n < 8:        0 + a0 + a1 + ... (left to right)
        8 <= n <= 128: r_k = a_k (k = 0..7); r_k += a_{i+k} for each full block of 8;
                      ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7)), then + the n % 8 rest
                      left to right
        n > 128:      m = n/2 rounded down to a multiple of 8; sum(a[:m]) + sum(a[m:])
    """
    a = np.moveaxis(a, axis, -1)
    n = a.shape[-1]
    if n < 8:
        res = np.zeros(a.shape[:-1], dtype=a.dtype)
        for i in range(n):
            res = res + a[..., i]
        return res
    if n <= 128:
        r = [a[..., k].copy() for k in range(8)]
        i = 8
        while i < n - (n % 8):
            for k in range(8):
                r[k] = r[k] + a[..., i + k]
            i += 8
        res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        while i < n:
            res = res + a[..., i]
            i += 1
        return res
    m = n // 2
    m -= m % 8
    return pairwise_sum(a[..., :m], -1) + pairwise_sum(a[..., m:], -1)


def _accumulate_numpy(flat: np.ndarray, index: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """out (d, K) = Σ_j weight[:, j] · flat[index[:, j]], one tap at a time, in flat's dtype."""
    d, n = index.shape
    out = np.zeros((d, flat.shape[1]), dtype=flat.dtype)
    tmp = np.empty_like(out)
    for j in range(n):
        wj = weight[:, j]
        if not wj.any():
            continue  # an all-zero tap adds exactly 0 to every output
        np.take(flat, index[:, j], axis=0, out=tmp)
        np.multiply(tmp, wj[:, None], out=tmp)
        np.add(out, tmp, out=out)
    return out


_NUMBA_KERNEL = None
_NUMBA_TRIED = False


def _numba_kernel():
    """The compiled loop (cached on disk), or None when numba is unavailable."""
    global _NUMBA_KERNEL, _NUMBA_TRIED
    if not _NUMBA_TRIED:
        _NUMBA_TRIED = True
        try:
            import numba
        except ImportError:  # pragma: no cover - numba is a declared dependency
            return None

        @numba.njit(cache=True, nogil=True)
        def accumulate(flat, index, weight, out):  # pragma: no cover - compiled
            d, n = index.shape
            k_len = flat.shape[1]
            for i in range(d):
                for j in range(n):
                    w = weight[i, j]
                    if w == 0:
                        continue
                    r = index[i, j]
                    for k in range(k_len):
                        out[i, k] += w * flat[r, k]

        _NUMBA_KERNEL = accumulate
    return _NUMBA_KERNEL


def apply_taps_slow(src: np.ndarray, taps: AxisTaps, axis: int, acc_dtype=np.float64) -> np.ndarray:
    """The definition of :func:`apply_taps` as scalar loops (slow; for tests on small arrays)."""
    acc = np.dtype(acc_dtype).type
    moved = np.moveaxis(src, axis, 0)
    out = np.zeros((taps.dst_len,) + moved.shape[1:], dtype=acc)
    for i in range(taps.dst_len):
        for rest in np.ndindex(*moved.shape[1:]):
            total = acc(0)
            for j in range(taps.index.shape[1]):
                total = acc(total + acc(acc(taps.weight[i, j]) * acc(moved[(taps.index[i, j],) + rest])))
            out[(i,) + rest] = total
    return np.moveaxis(out, 0, axis)


def drop_zero_taps(taps: AxisTaps) -> AxisTaps:
    """The same taps without the columns whose weight is 0 for every output (exact: such a tap
    adds 0 to every sum). Keeps at least one column."""
    keep = np.flatnonzero(np.any(taps.weight != 0, axis=0))
    if keep.size == 0:
        keep = np.array([0])
    if keep.size == taps.index.shape[1]:
        return taps
    return AxisTaps(index=taps.index[:, keep], weight=taps.weight[:, keep], src_len=taps.src_len)


def is_one_hot(taps: AxisTaps) -> bool:
    """True if every output has exactly one tap of weight exactly 1 and all others 0."""
    w = taps.weight
    return bool(np.all((w == 0) | (w == 1)) and np.all((w == 1).sum(axis=1) == 1))


def one_hot_index(taps: AxisTaps) -> np.ndarray:
    """For one-hot taps: the source index each output copies."""
    return taps.index[np.arange(taps.dst_len), np.argmax(taps.weight == 1, axis=1)]


# --- fixed point -----------------------------------------------------------------------------
#
# A fixed-point weight k stands for k / 2^p. Accumulating sum_j k_j·src_j in integers and shifting
# right by p (after adding a rounding constant) is how Pillow and fast_image_resize resample 8-bit
# images; see reference.resize.separable for the passes.


def quantize_fixed(taps: AxisTaps, bits: int, rounding: str = "half_away") -> AxisTaps:
    """``rounding="half_away"``: Pillow ``normalize_coeffs_8bpc``: ``k = (int)(w·2^bits + 0.5)``
    for w >= 0, ``(int)(w·2^bits − 0.5)`` for w < 0: the double sum is rounded first, then
    truncated toward zero (round half away from zero except for sums that round in double).
    Pillow: bits = 22 (PRECISION_BITS = 32 − 8 − 2: 8 bits of output, 2 bits of headroom for
    kernels whose partial sums leave [0, 1], in an int32 accumulator).
    ``rounding="truncate"``: ``k = (int)(w·2^bits)``, toward zero (libvips' tables)."""
    w = taps.weight.astype(np.float64)
    scaled = w * float(1 << bits)
    if rounding == "truncate":
        k = np.trunc(scaled)
    elif rounding == "half_away":
        k = np.where(w < 0, np.trunc(-0.5 + scaled), np.trunc(0.5 + scaled))
    else:
        raise ValueError(f"unknown weight rounding {rounding!r}")
    return AxisTaps(index=taps.index, weight=k.astype(np.int64), src_len=taps.src_len)


FIR_PRECISION_LIMIT = 22  # fast_image_resize: precision search over 0..PRECISION_BITS(=22)-1


def dynamic_precision(max_weight: float, bits: int) -> int:
    """fast_image_resize ``Normalizer16::new``: the first p in 0..21 such that
    ``round(max_weight · 2^(p+1)) >= 2^bits`` (the next precision would overflow a (bits+1)-bit
    signed coefficient), else 21. ``round`` is Rust's f64::round (half away from zero).
    fast_image_resize stores i16 coefficients: bits = 15 (MAX_COEFFS_PRECISION = 16 − 1)."""
    p = 0
    for cur in range(FIR_PRECISION_LIMIT):
        p = cur
        nxt = _round_half_away(max_weight * float(1 << (p + 1)))
        if nxt >= (1 << bits):
            break
    return p


def _round_half_away(v: float) -> float:
    """Rust ``f64::round``: the nearest integer, ties away from zero (exact: no ``+ 0.5`` rounding)."""
    return float(round_half_away_exact(np.array([v]))[0])


def round_half_away_exact(x: np.ndarray) -> np.ndarray:
    """Elementwise exact round-half-away-from-zero of float64 values (C ``round``, Rust
    ``f64::round``). ``floor(|x| + 0.5)`` is not exact: 0.49999999999999994 + 0.5 rounds to 1."""
    a = np.abs(np.asarray(x, dtype=np.float64))
    f = np.floor(a)
    r = f + (a - f >= 0.5)  # a - f is exact for |x| < 2^52
    return np.copysign(r, x)


def quantize_fixed_dynamic(taps: AxisTaps, bits: int) -> tuple[AxisTaps, int]:
    """fast_image_resize: per-axis precision p = :func:`dynamic_precision` of the largest weight
    of the axis, ``k = round(w · 2^p)`` (half away from zero), saturated to the signed
    (bits+1)-bit range (Rust ``as i16``). Returns the integer taps and p."""
    w = taps.weight.astype(np.float64)
    max_weight = float(w.max()) if w.size else 0.0
    p = dynamic_precision(max_weight, bits)
    scaled = w * float(1 << p)
    k = round_half_away_exact(scaled)
    k = np.clip(k, -(1 << bits), (1 << bits) - 1)
    return AxisTaps(index=taps.index, weight=k.astype(np.int64), src_len=taps.src_len), p
