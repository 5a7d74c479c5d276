"""Geometry ops: crop, pad, letterbox. Pure index arithmetic on (H, W, C) arrays, no resampling."""

from __future__ import annotations

import math

import numpy as np

from ..errors import SpecError
from ..spec import Crop, Letterbox, Pad


def centre_offset(extra: int, rule: str) -> int:
    """Leading offset that centres a window: ``rule(extra / 2)``.

    ``floor`` = extra // 2 (C/C++ integer division); ``round`` = Python's round, half to even
    (torchvision CenterCrop: ``int(round((h - th) / 2.0))``, so extra = 1 gives 0, 3 gives 2);
    ``round_half_up`` = floor(extra / 2 + 0.5).
    """
    if rule == "floor":
        return extra // 2
    if rule == "round":
        return int(round(extra / 2.0))
    return int(math.floor(extra / 2.0 + 0.5))


def _pad_before(extra: int, rule: str) -> int:
    """Padding placed before (top/left) when an axis is padded by ``extra`` pixels:
    ``after`` puts the odd pixel after, before = extra // 2 (torchvision ``F.center_crop``'s
    padding_ltrb); ``before`` puts it before, before = ceil(extra / 2) (transformers'
    ``image_transforms.center_crop``: ``top_pad = ceil((new_height - orig_height) / 2)``)."""
    return extra // 2 if rule == "after" else (extra + 1) // 2


def crop(image: np.ndarray, step: Crop) -> np.ndarray:
    """Crop a ``step.height`` × ``step.width`` window (centre or box).

    Centre mode, per axis of length n and window length k: k <= n crops at
    ``offset_rounding((n − k) / 2)``; k > n is an error, or with ``if_smaller="pad"`` the axis is
    padded with ``value`` to length k, ``_pad_before(k − n, pad_extra)`` pixels before the image
    and the rest after (the whole padded axis is the window).
    """
    h, w = image.shape[:2]
    if step.mode == "center" and step.if_smaller == "pad" and (step.height > h or step.width > w):
        check_output_pixels(max(h, step.height), max(w, step.width), "crop")
        top_pad = _pad_before(step.height - h, step.pad_extra) if step.height > h else 0
        left_pad = _pad_before(step.width - w, step.pad_extra) if step.width > w else 0
        padded = np.empty((max(h, step.height), max(w, step.width), image.shape[2]), dtype=image.dtype)
        padded[...] = _fill_values(step.value, image.shape[2], image.dtype)
        padded[top_pad:top_pad + h, left_pad:left_pad + w] = image
        image, h, w = padded, padded.shape[0], padded.shape[1]
    if step.height > h or step.width > w:
        raise SpecError(f"crop window {step.height}x{step.width} is larger than the image {h}x{w}",
                        field="height", value=(step.height, step.width))
    if step.mode == "center":
        rule = step.offset_rounding
        top, left = centre_offset(h - step.height, rule), centre_offset(w - step.width, rule)
    else:
        top, left = step.top, step.left
        if top + step.height > h or left + step.width > w:
            raise SpecError(f"crop box top={top} left={left} {step.height}x{step.width} leaves the "
                            f"image {h}x{w}", field="top", value=(top, left))
    return image[top:top + step.height, left:left + step.width].copy()


def _fill_values(value: tuple, channels: int, dtype: np.dtype) -> np.ndarray:
    if len(value) not in (1, channels):
        raise SpecError(f"{len(value)} fill values for {channels} channels", field="value", value=value)
    v = np.broadcast_to(np.asarray(value, dtype=np.float64), (channels,))
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        if np.any(v < info.min) or np.any(v > info.max) or np.any(v != np.round(v)):
            raise SpecError(f"fill {value} does not fit {np.dtype(dtype).name}", field="value", value=value)
    return v.astype(dtype)


def check_output_pixels(h: int, w: int, op: str) -> None:
    """LimitsExceeded if a geometric step would make an image of more pixels than the decoders
    accept (``DEFAULT_MAX_PIXELS``, 64 Mi): a pipeline file asking for a 65536 x 65536 resize
    or pad is refused by name instead of exhausting memory."""
    from ..errors import LimitsExceeded
    from .png import DEFAULT_MAX_PIXELS

    if h * w > DEFAULT_MAX_PIXELS:
        raise LimitsExceeded(f"{op} would make a {h}x{w} image ({h * w:,} pixels), over the limit of "
                             f"{DEFAULT_MAX_PIXELS:,}", source="the pipeline")


def pad(image: np.ndarray, step: Pad) -> np.ndarray:
    """Add ``top/bottom/left/right`` borders: constant ``value``, ``edge`` replication, or
    ``reflect`` (mirror excluding the edge pixel: a b c | b a, OpenCV BORDER_REFLECT_101)."""
    check_output_pixels(image.shape[0] + step.top + step.bottom, image.shape[1] + step.left + step.right, "pad")
    widths = ((step.top, step.bottom), (step.left, step.right), (0, 0))
    if step.mode == "constant":
        fill = _fill_values(step.value, image.shape[2], image.dtype)
        out = np.empty((image.shape[0] + step.top + step.bottom, image.shape[1] + step.left + step.right,
                        image.shape[2]), dtype=image.dtype)
        out[...] = fill
        out[step.top:step.top + image.shape[0], step.left:step.left + image.shape[1]] = image
        return out
    if step.mode == "reflect" and (max(step.top, step.bottom) >= image.shape[0]
                                   or max(step.left, step.right) >= image.shape[1]):
        raise SpecError("reflect padding must be smaller than the image side", field="mode", value="reflect")
    return np.pad(image, widths, mode="edge" if step.mode == "edge" else "reflect")


def letterbox(image: np.ndarray, step: Letterbox) -> np.ndarray:
    """Place the image on a ``height`` × ``width`` canvas filled with ``value``."""
    h, w, c = image.shape
    if h > step.height or w > step.width:
        raise SpecError(f"image {h}x{w} does not fit the letterbox {step.height}x{step.width}; "
                        "resize with longer_side first", field="height", value=(step.height, step.width))
    if step.placement == "center":
        rule = step.offset_rounding
        top, left = centre_offset(step.height - h, rule), centre_offset(step.width - w, rule)
    else:
        top, left = 0, 0
    check_output_pixels(step.height, step.width, "letterbox")
    out = np.empty((step.height, step.width, c), dtype=image.dtype)
    out[...] = _fill_values(step.value, c, image.dtype)
    out[top:top + h, left:left + w] = image
    return out
