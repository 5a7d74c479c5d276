"""Normalisation: integers to a float tensor with scale, mean and std (see spec.Normalize)."""

from __future__ import annotations

import numpy as np

from ..errors import SpecError
from ..spec import Normalize


def _per_channel(values: tuple, channels: int, name: str, dtype) -> np.ndarray:
    if len(values) not in (1, channels):
        raise SpecError(f"{len(values)} values for {channels} channels", field=name, value=values)
    return np.broadcast_to(np.asarray(values, dtype=np.float64), (channels,)).astype(dtype)


def normalize(image: np.ndarray, step: Normalize) -> np.ndarray:
    """out = (x·scale − mean)/std (scale_first) or (x − mean)·scale/std (mean_first), per channel,
    every operation rounded to ``compute_dtype``; x·scale is x/divisor when ``divisor`` is set."""
    ct = np.dtype(step.compute_dtype)
    c = image.shape[-1]
    mean = _per_channel(step.mean, c, "mean", ct)
    std = _per_channel(step.std, c, "std", ct)
    x = image.astype(ct)

    def scaled(v: np.ndarray) -> np.ndarray:
        return v / ct.type(step.divisor) if step.divisor is not None else v * ct.type(step.scale)

    if step.order == "scale_first":
        out = (scaled(x) - mean) / std
    else:
        out = scaled(x - mean) / std
    return out.astype(step.dtype)
