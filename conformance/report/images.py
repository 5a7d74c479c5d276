"""Arrays to PNG thumbnails for the HTML report: step outputs as images, and difference heatmaps.

A step output is an (H, W, C) image until a ``layout`` step makes it (C, H, W) or (1, C, H, W)
(DESIGN.md, Ops and their knobs); its channels are RGB, BGR, gray, YCbCr... as the pipeline's
decode/color/layout knobs say. :func:`channel_state` walks the pipeline's steps to know both, and
:func:`to_display` turns any output into an 8-bit RGB picture plus the notes a caption needs:

- layout: CHW and NCHW are transposed back to HWC (batch item 0 shown);
- channels: 1 gray; 2 gray + alpha (alpha not shown); 3 colour, BGR reversed to show as RGB,
  YCbCr planes shown as R, G, B; 4 the first three (the 4th, alpha or K, not shown);
- values: uint8 as is; uint16 scaled by 255/65535; everything else (floats, other integers)
  mapped linearly from the *reference's* [min, max] to 0..255, the same map for the harness
  output so that a difference stays visible (values outside are clipped; non-finite ones black);
- size: tiny images are enlarged by pixel repetition (nearest) to at least MIN_DISPLAY pixels on
  their long side; large ones reduced by an integer factor to at most MAX_DISPLAY (block mean for
  pictures, block max for heatmaps so that a single bad pixel stays visible).

The heatmap shows |harness − reference| per pixel (the largest over channels, in the array's own
units) scaled so that the largest error is full intensity, coloured with :data:`COLORMAP`.
"""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from .common import fmt_num

# Long side, in pixels, below which an image is enlarged by an integer factor (nearest), so a
# 13x17 vector is not a speck on the page.
MIN_DISPLAY = 96
# Long side above which an image is reduced by an integer factor, so a photo of a user's bundle
# does not make the report tens of megabytes.
MAX_DISPLAY = 256
# 8-bit display range.
LEVELS = 255
# The most channels an image axis has (RGBA, CMYK); a longer axis is a spatial one.
MAX_CHANNELS = 4
# uint16 -> 8 bit for display: v * 255 / 65535 (exact for v = 257 k).
UINT16_MAX = 65535

# Heatmap colours: anchor points of matplotlib's "inferno" map (perceptually uniform, readable in
# grey and by colour-blind readers), sampled at 0, 1/4, 1/2, 3/4, 1 and interpolated linearly.
COLORMAP = np.array([
    [0.00, 0, 0, 4],
    [0.25, 87, 16, 110],
    [0.50, 188, 55, 84],
    [0.75, 249, 142, 9],
    [1.00, 252, 255, 164],
])


@dataclass(frozen=True)
class ChannelState:
    """How a step's output is laid out: channels first? leading batch axis? channel meaning."""

    chw: bool = False
    batch: bool = False
    order: str = "rgb"  # rgb | bgr | gray | ycbcr


# color op conversion -> the channel meaning it produces ("reverse" swaps rgb and bgr).
_COLOR_RESULT = {"rgb_to_bgr": "reverse", "bgr_to_rgb": "reverse", "rgb_to_gray": "gray",
                 "bgr_to_gray": "gray", "gray_to_rgb": "rgb", "rgba_to_rgb": "rgb",
                 "rgb_to_ycbcr": "ycbcr", "ycbcr_to_rgb": "rgb"}
_REVERSED = {"rgb": "bgr", "bgr": "rgb"}


def channel_state(steps: list[dict], index: int) -> ChannelState:
    """The state after step ``index`` of a pipeline given as its manifest JSON ``steps``."""
    chw, batch, order = False, False, "rgb"
    for step in steps[:index + 1]:
        op = step.get("op")
        if op == "decode":
            out = step.get("output", "rgb")
            order = {"bgr": "bgr", "gray": "gray"}.get(out, "rgb")  # unchanged: the file's, RGB(A)
        elif op == "tensor":
            order = "rgb"  # a model's output: RGB unless a later step says otherwise
        elif op == "encode":
            order = "rgb"  # the written file read back: RGB(A) as a viewer shows it
        elif op == "color":
            result = _COLOR_RESULT.get(step.get("conversion", ""), order)
            order = _REVERSED.get(order, order) if result == "reverse" else result
        elif op == "layout":
            chw = step.get("layout") == "chw"
            batch = bool(step.get("batch"))
            if step.get("channel_order") == "reverse":
                order = _REVERSED.get(order, order)
    return ChannelState(chw, batch, order)


@dataclass
class ValueMap:
    """Linear map of array values to 0..255 display levels: level = (v − lo) · 255 / (hi − lo)."""

    lo: float
    hi: float
    note: str = ""

    @property
    def levels_per_unit(self) -> float:
        return LEVELS / (self.hi - self.lo)

    def apply(self, a: np.ndarray) -> np.ndarray:
        x = (a.astype(np.float64) - self.lo) * self.levels_per_unit
        x = np.where(np.isfinite(x), x, 0.0)
        return np.clip(np.floor(x + 0.5), 0, LEVELS).astype(np.uint8)


def value_map(reference: np.ndarray) -> ValueMap:
    """The display map of a reference array (used for the harness output too)."""
    if reference.dtype == np.uint8:
        return ValueMap(0.0, float(LEVELS))
    if reference.dtype == np.uint16:
        return ValueMap(0.0, float(UINT16_MAX), "uint16 shown scaled by 255/65535")
    finite = reference[np.isfinite(reference)] if reference.dtype.kind == "f" else reference
    lo = float(finite.min()) if finite.size else 0.0
    hi = float(finite.max()) if finite.size else 1.0
    span = f"[{fmt_num(lo)}, {fmt_num(hi)}]"
    if hi <= lo:
        hi = lo + 1.0
    return ValueMap(lo, hi, f"{reference.dtype.name} values mapped from the reference's {span} "
                            "to 0..255")


def to_hwc(a: np.ndarray, state: ChannelState) -> tuple[np.ndarray | None, list[str]]:
    """(H, W, C) view of a step output, or (None, [why]) if it has no image shape."""
    notes = []
    if a.ndim == 4:
        if a.shape[0] != 1:
            notes.append(f"batch item 0 of {a.shape[0]} shown")
        a = a[0]
    chw = state.chw
    if a.ndim == 3:
        # A harness output need not have the layout the pipeline asks for (that is what failed):
        # when the shape clearly says otherwise (channels are at most MAX_CHANNELS), follow it.
        first, last = a.shape[0] <= MAX_CHANNELS, a.shape[2] <= MAX_CHANNELS
        if first != last and chw != first:
            chw = first
            notes.append(f"laid out as {'CHW' if chw else 'HWC'} by its shape")
    if a.ndim == 3 and chw:
        a = np.transpose(a, (1, 2, 0))
        notes.append("CHW shown as an image")
    elif a.ndim == 2:
        a = a[:, :, None]
    elif a.ndim == 1:
        a = a[None, :, None]
    if a.ndim != 3 or a.shape[0] == 0 or a.shape[1] == 0 or a.shape[2] == 0:
        return None, [f"shape {list(a.shape)} cannot be shown as an image"]
    return a, notes


def channels_to_rgb(img: np.ndarray, order: str) -> tuple[np.ndarray, list[str]]:
    """8-bit (H, W, C) -> (H, W, 3) RGB for display, with notes on what was changed."""
    c = img.shape[2]
    notes = []
    if c == 1 or c > 4:
        if c > 4:
            notes.append(f"{c} channels: the first shown as gray")
        return np.repeat(img[:, :, :1], 3, axis=2), notes
    if c == 2:
        return np.repeat(img[:, :, :1], 3, axis=2), ["gray + alpha: alpha not shown"]
    if c == 4:
        notes.append("4 channels: the 4th (alpha or K) not shown")
    rgb = img[:, :, :3]
    if order == "bgr":
        rgb = rgb[:, :, ::-1]
        notes.append("BGR shown as RGB")
    elif order == "ycbcr":
        notes.append("Y, Cb, Cr planes shown as R, G, B")
    return np.ascontiguousarray(rgb), notes


def _reduce(img: np.ndarray, f: int, how: str) -> np.ndarray:
    """Integer-factor reduction of (H, W, C) float or integer data by block ``mean`` or ``max``
    (edges padded by repetition); float64 out."""
    h, w, c = img.shape
    ph, pw = -h % f, -w % f
    x = np.pad(img.astype(np.float64), ((0, ph), (0, pw), (0, 0)), mode="edge")
    blocks = x.reshape((h + ph) // f, f, (w + pw) // f, f, c)
    return blocks.max(axis=(1, 3)) if how == "max" else blocks.mean(axis=(1, 3))


def display_factor(h: int, w: int) -> int:
    """+k: enlarge ×k (nearest); −f: reduce 1/f; 1: as is (see MIN_DISPLAY, MAX_DISPLAY)."""
    long_side = max(h, w)
    if long_side < MIN_DISPLAY:
        return max(1, min(math.ceil(MIN_DISPLAY / long_side), MAX_DISPLAY // long_side))
    if long_side > MAX_DISPLAY:
        return -math.ceil(long_side / MAX_DISPLAY)
    return 1


def display_size(img: np.ndarray, how: str = "mean") -> tuple[np.ndarray, str]:
    """Enlarge (nearest) or reduce (block ``how``) ``img`` (H, W, C) for display; (image, note
    such as "shown ×7"). Reduction keeps ``img``'s dtype, rounding half up for integers."""
    k = display_factor(*img.shape[:2])
    if k > 1:
        return np.repeat(np.repeat(img, k, axis=0), k, axis=1), f"shown ×{k} (nearest)"
    if k < 0:
        out = _reduce(img, -k, how)
        if img.dtype.kind != "f":
            out = np.floor(out + 0.5).astype(img.dtype)
        return out, f"shown 1/{-k} (block {how})"
    return img, ""


def png_data_uri(rgb: np.ndarray) -> str:
    """An (H, W, 3) uint8 image as a ``data:image/png;base64,...`` URI (Pillow's encoder)."""
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb), "RGB").save(buf, format="PNG", compress_level=9)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def colormap(t: np.ndarray) -> np.ndarray:
    """Intensities t in [0, 1] (H, W) -> (H, W, 3) uint8 colours of :data:`COLORMAP`."""
    t = np.clip(t, 0.0, 1.0)
    out = np.empty(t.shape + (3,), np.uint8)
    for ch in range(3):
        out[..., ch] = np.floor(np.interp(t, COLORMAP[:, 0], COLORMAP[:, ch + 1]) + 0.5)
    return out


@dataclass
class Picture:
    """One image of a report figure: its data URI (None if it cannot be drawn) and caption notes."""

    uri: str | None
    width: int = 0
    height: int = 0
    notes: list[str] = field(default_factory=list)


def picture(a: np.ndarray, state: ChannelState, vmap: ValueMap) -> Picture:
    """A step output drawn with the reference's value map."""
    hwc, notes = to_hwc(a, state)
    if hwc is None:
        return Picture(None, notes=notes)
    rgb, more = channels_to_rgb(vmap.apply(hwc), state.order)
    shown, size_note = display_size(rgb, "mean")
    notes = notes + more + ([vmap.note] if vmap.note else []) + ([size_note] if size_note else [])
    if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
        notes.append("non-finite values shown black")
    return Picture(png_data_uri(shown), shown.shape[1], shown.shape[0], notes)


def heatmap(expected: np.ndarray, got: np.ndarray, state: ChannelState,
            vmap: ValueMap) -> Picture:
    """|got − expected| (largest over channels), the largest error at full intensity."""
    if expected.shape != got.shape:
        return Picture(None, notes=[f"shapes differ ({list(got.shape)} vs {list(expected.shape)}): "
                                    "no difference image"])
    diff = np.abs(got.astype(np.float64) - expected.astype(np.float64))
    diff = np.where(np.isnan(diff), np.inf, diff)
    hwc, why = to_hwc(diff, state)
    if hwc is None:
        return Picture(None, notes=why)
    notes: list[str] = []
    per_pixel = hwc.max(axis=2)
    finite = per_pixel[np.isfinite(per_pixel)]
    top = float(finite.max()) if finite.size else 0.0
    if top > 0:
        t = np.where(np.isfinite(per_pixel), per_pixel / top, 1.0)
        # How much brighter than in the pictures beside it an error of `top` is drawn.
        gain = LEVELS / (top * vmap.levels_per_unit)
        notes.append(f"amplified ×{fmt_num(gain)}: an error of {fmt_num(top)} is full intensity")
    else:
        t = np.where(np.isfinite(per_pixel), 0.0, 1.0)
        notes.append("no finite difference" if not np.all(np.isfinite(per_pixel)) else "no difference")
    if not np.all(np.isfinite(per_pixel)):
        notes.append("non-finite differences at full intensity")
    t, size_note = display_size(t[:, :, None], "max")  # reduce intensities, then colour
    coloured = colormap(t[:, :, 0])
    notes.append("largest error over channels per pixel")
    if size_note:
        notes.append(size_note)
    return Picture(png_data_uri(coloured), coloured.shape[1], coloured.shape[0], notes)
