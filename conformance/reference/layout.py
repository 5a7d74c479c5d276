"""Tensor layout: HWC or CHW, optional batch axis, optional channel reversal."""

from __future__ import annotations

import numpy as np

from ..spec import Layout


def layout(image: np.ndarray, step: Layout) -> np.ndarray:
    """(H, W, C) -> (H, W, C) or (C, H, W); ``channel_order="reverse"`` flips C (RGB <-> BGR);
    ``batch`` prepends an axis of length 1. Returns a C-contiguous copy."""
    out = image[..., ::-1] if step.channel_order == "reverse" else image
    if step.layout == "chw":
        out = np.transpose(out, (2, 0, 1))
    if step.batch:
        out = out[None]
    return np.ascontiguousarray(out)
