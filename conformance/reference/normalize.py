"""Normalisation: integers to a float tensor with scale, mean and std (see spec.Normalize)."""

from __future__ import annotations

import numpy as np

from ..errors import SpecError
from ..spec import Normalize


def per_channel(values: tuple, channels: int, name: str, dtype) -> np.ndarray:
    """A per-channel knob (one value broadcasts) rounded to ``dtype``; SpecError naming ``name``
    when it has neither 1 nor ``channels`` values. Shared with ``postprocess.denormalize``."""
    if len(values) not in (1, channels):
        raise SpecError(f"{len(values)} values for {channels} channels", field=name, value=values)
    return np.broadcast_to(np.asarray(values, dtype=np.float64), (channels,)).astype(dtype)


def normalize(image: np.ndarray, step: Normalize) -> np.ndarray:
    """Per channel, every operation rounded to ``compute_dtype`` c unless said otherwise:

    - ``scale_first``: out = (x·scale − mean) / std; x·scale is x/divisor when ``divisor`` is set,
      and with ``scale_dtype="float64"`` it is computed in float64 and rounded once to c
      (transformers' ``rescale``: ``image.astype(np.float64) * rescale_factor``, then float32).
    - ``mean_first``: out = (x − mean)·scale / std.
    - ``fused``: k = 1/scale (float64) or divisor; M = c(mean)·c(k), S = c(std)·c(k), each
      rounded to c; out = (x − M) / S (transformers' torchvision backend,
      ``_fuse_mean_std_and_rescale_factor`` then ``tvF.normalize``).
    """
    ct = np.dtype(step.compute_dtype)
    c = image.shape[-1]
    mean = per_channel(step.mean, c, "mean", ct)
    std = per_channel(step.std, c, "std", ct)
    x = image.astype(ct)

    def scaled(v: np.ndarray) -> np.ndarray:
        return v / ct.type(step.divisor) if step.divisor is not None else v * ct.type(step.scale)

    if step.order == "scale_first":
        if step.scale_dtype == "float64":
            x64 = image.astype(np.float64)
            xs = (x64 / step.divisor if step.divisor is not None else x64 * step.scale).astype(ct)
        else:
            xs = scaled(x)
        out = (xs - mean) / std
    elif step.order == "mean_first":
        out = scaled(x - mean) / std
    else:
        k = ct.type(step.divisor if step.divisor is not None else 1.0 / step.scale)
        out = (x - mean * k) / (std * k)
    return out.astype(step.dtype)
