"""Denormalisation: a float tensor back to [0, 1] or [0, 255] units (see spec.Denormalize)."""

from __future__ import annotations

import numpy as np

from ...errors import SpecError
from ...spec import Denormalize
from ..normalize import per_channel


def denormalize(image: np.ndarray, step: Denormalize) -> np.ndarray:
    """Every operation rounded to ``compute_dtype`` c (the constants are rounded to c first):

    - ``mean_std``: out = (x·std + mean) / scale, per channel;
    - ``range``: out = (x − a) / (b − a) · (d − c) + c with [a, b] = ``from_range`` and
      [c, d] = ``to_range`` (b − a and d − c computed in c).
    NaN and ±inf propagate as IEEE arithmetic says."""
    if image.dtype.kind != "f":
        raise SpecError(f"denormalize takes a float tensor, got {image.dtype.name} (quantized "
                        "pixels need no denormalize; is this the way in?)", field="op", value="denormalize")
    ct = np.dtype(step.compute_dtype)
    x = image.astype(ct)
    channels = image.shape[-1]
    if step.mode == "mean_std":
        std = per_channel(step.std, channels, "std", ct)
        mean = per_channel(step.mean, channels, "mean", ct)
        out = (x * std + mean) / ct.type(step.scale)
    else:
        a, b = (ct.type(v) for v in step.from_range)
        c, d = (ct.type(v) for v in step.to_range)
        out = (x - a) / (b - a) * (d - c) + c
    return out.astype(ct, copy=False)
