"""Per-axis resampling as banded weight matrices ("taps").

Every separable resize in the reference is two 1-D passes. One pass along an axis of length
``s`` producing ``d`` outputs is described by :class:`AxisTaps`: for each output ``i`` a fixed
number ``n`` of source indices ``index[i, j]`` (already inside ``0..s-1``) and their weights
``weight[i, j]``. Unused taps carry weight 0 (and any valid index), so the matrix stays
rectangular and the pass is one gather and one weighted sum:

    out[i] = sum_j weight[i, j] * src[index[i, j]]

Border handling (clamping to the edge or dropping and renormalising) is decided when the taps are
built, never when they are applied.
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


def apply_taps(src: np.ndarray, taps: AxisTaps, axis: int, acc_dtype=np.float64) -> np.ndarray:
    """One 1-D pass along ``axis`` of an (H, W, C) array: out[i] = sum_j w[i,j] * src[idx[i,j]].

    The sum runs over taps in order j = 0..n-1 in ``acc_dtype`` (float64 by default; int64 for
    fixed-point weights; float32 to model a float32 implementation tap by tap).
    """
    if src.shape[axis] != taps.src_len:
        raise ValueError(f"axis {axis} has length {src.shape[axis]}, taps expect {taps.src_len}")
    moved = np.moveaxis(src, axis, 0).astype(acc_dtype, copy=False)
    weight = taps.weight.astype(acc_dtype, copy=False)
    out = np.zeros((taps.dst_len,) + moved.shape[1:], dtype=acc_dtype)
    extra = (slice(None),) + (None,) * (moved.ndim - 1)
    for j in range(taps.index.shape[1]):
        # tap-ordered accumulation: matters for float32 models, harmless for float64/int
        out += weight[:, j][extra] * moved[taps.index[:, j]]
    return np.moveaxis(out, 0, axis)
