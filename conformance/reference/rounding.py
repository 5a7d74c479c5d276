"""Float-to-integer rounding rules used by the reference, by name.

- ``half_up``: floor(x + 0.5) — what ``(v + (1 << (n-1))) >> n`` computes in fixed point.
- ``half_even``: round half to even (IEEE default, numpy ``rint``, OpenCV ``cvRound``).
- ``half_away``: round half away from zero (C ``round``, Rust ``f32::round``).
- ``truncate``: toward zero (C cast ``(int)x``).
"""

from __future__ import annotations

import numpy as np

ROUNDING_RULES = ("half_up", "half_even", "half_away", "truncate")


def round_to_int(x: np.ndarray, rule: str) -> np.ndarray:
    """Round a float array to integral float64 values with the named rule."""
    x = np.asarray(x, dtype=np.float64)
    if rule == "half_up":
        return np.floor(x + 0.5)
    if rule == "half_even":
        return np.rint(x)
    if rule == "half_away":
        return np.sign(x) * np.floor(np.abs(x) + 0.5)
    if rule == "truncate":
        return np.trunc(x)
    raise ValueError(f"unknown rounding rule {rule!r}; known: {', '.join(ROUNDING_RULES)}")


def saturate(x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Clip integral values to ``dtype``'s range and cast (``saturate_cast``)."""
    info = np.iinfo(dtype)
    return np.clip(x, info.min, info.max).astype(dtype)
