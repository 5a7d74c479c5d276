"""Convolution weights: a kernel centred on each output pixel's centre, support scaled on downscale.

This is the resampler of Pillow (``Resample.c precompute_coeffs``), fast_image_resize
(``convolution/mod.rs precompute_coefficients``) and the Rust image crate (``imageops/sample.rs
vertical_sample / horizontal_sample``). Per axis, with s = source length, d = output length,
i = output index:

    scale  = s / d                      (the image crate: f32(s) / f32(d))
    fs     = max(scale, 1) if antialias else 1        (support scale; 1 = fixed-tap interpolation)
    R      = support · fs               (support radius in source pixels)
    c_i    = (i + 0.5) · scale          (the output pixel centre in source coordinates)
    w_i(x) = K(((x + 0.5) − c_i) / fs)  for the source pixels x of the window, then w /= Σ w

The ``window`` knob selects which pixels x are in the window and the exact operation order of the
kernel argument (each library's, to the last bit):

- ``pillow`` (Resample.c, all double):
  ``xmin = max((int)(c − R + 0.5), 0)``, ``xmax = min((int)(c + R + 0.5), s)`` ((int) truncates
  toward zero), argument ``((x − c) + 0.5) · (1 / fs)``.
- ``floor_ceil``:
  ``left = clamp(floor(c − R), 0, s − 1)``, ``right = clamp(ceil(c + R), left + 1, s)``; argument
  ``(x − (c − 0.5)) · (1 / fs)`` in double (fast_image_resize), or with ``weights_dtype="float32"``
  every operation in f32 and a division: ``(x − (c − 0.5)) / fs`` (the image crate). The
  ``left + 1`` guarantees one tap for a support-0 kernel (the image crate's Nearest); for R > 0 it
  equals fast_image_resize's ``min(ceil(c + R), s)``.

Borders (``border``): ``renormalize`` (all these libraries) drops the taps outside 0..s−1 (the
clamps above) and divides by the sum of the remaining weights (skipped when that sum is 0, as
Pillow's ``if (ww != 0.0)``). ``clamp`` keeps the unclamped window, reads the edge pixel for taps
outside the image (replicate) and normalises over the whole window.

Sums are sequential in tap order (Pillow ``ww += w``), in the weights' dtype.
"""

from __future__ import annotations

import math

import numpy as np

from ...errors import SpecError
from .kernels import Kernel
from .taps import AxisTaps

WINDOWS = ("pillow", "floor_ceil")


def _sequential_sum(w: np.ndarray) -> np.ndarray:
    """Row sums of ``w`` (d, n) added left to right in w's dtype (np.cumsum is sequential)."""
    if w.shape[1] == 0:
        return np.zeros(w.shape[0], dtype=w.dtype)
    return np.cumsum(w, axis=1, dtype=w.dtype)[:, -1]


def convolution_taps(in_size: int, out_size: int, kernel: Kernel, *, antialias: bool, window: str,
                     border: str) -> AxisTaps:
    """Per-output taps of a convolution resampler (see the module docstring for the formulas).

    ``kernel.dtype`` (float64 or float32) is the arithmetic of every coefficient operation;
    float32 is defined only with ``window="floor_ceil"`` (the image crate's recipe).
    Weights are returned in ``kernel.dtype``, normalised, in tap order; unused taps have weight 0.
    """
    if window not in WINDOWS:
        raise SpecError(f"window {window!r} is not a convolution window", field="window", value=window)
    if border not in ("renormalize", "clamp"):
        raise SpecError(f"unknown border {border!r}", field="border", value=border)
    s, d = int(in_size), int(out_size)
    if kernel.dtype == np.float32:
        if window != "floor_ceil":
            raise SpecError("weights_dtype 'float32' is defined only for window 'floor_ceil' (the "
                            "image crate's f32 recipe)", field="weights_dtype", value="float32")
        return _taps_f32_floor_ceil(s, d, kernel, antialias=antialias, border=border)
    if window == "pillow" and kernel.support == 0.0:
        raise SpecError("a support-0 kernel (nearest) has an empty Pillow window; use "
                        "window 'floor_ceil' (the image crate's Nearest)", field="window", value=window)

    i = np.arange(d, dtype=np.float64)
    scale = float(s) / float(d)
    fs = max(scale, 1.0) if antialias else 1.0
    support = kernel.support * fs
    recip = 1.0 / fs
    center = (i + 0.5) * scale  # Pillow: in0 + (xx + 0.5) * scale with in0 = 0
    if window == "pillow":
        lo = np.trunc(center - support + 0.5).astype(np.int64)  # C (int) cast: toward zero
        hi = np.trunc(center + support + 0.5).astype(np.int64)
        if border == "renormalize":
            lo = np.maximum(lo, 0)
            hi = np.minimum(hi, s)
    else:
        lo, hi = _floor_ceil_window(center - support, center + support, s, border)
    n = max(int((hi - lo).max()), 1)
    x = lo[:, None] + np.arange(n)[None, :]  # (d, n) source pixel of each tap
    valid = x < hi[:, None]
    xf = x.astype(np.float64)
    if window == "pillow":
        arg = ((xf - center[:, None]) + 0.5) * recip  # Resample.c: (x + xmin - center + 0.5) * ss
    else:
        arg = (xf - (center - 0.5)[:, None]) * recip  # filters.rs: (x - (in_center - 0.5)) * recip
    w = np.where(valid, kernel.fn(np.where(valid, arg, 0.0)), 0.0)
    ww = _sequential_sum(w)
    nz = ww != 0.0
    w[nz] = w[nz] / ww[nz, None]
    index = np.clip(np.where(valid, x, lo[:, None]), 0, s - 1)
    return AxisTaps(index=index.astype(np.int64), weight=w, src_len=s)


def _floor_ceil_window(left: np.ndarray, right: np.ndarray, s: int, border: str):
    """Taps [lo, hi) = [floor(left), ceil(right)), at least one tap; with ``renormalize`` clamped
    into the image as image-rs and fast_image_resize do (lo in 0..s−1, hi in lo+1..s)."""
    lo = np.floor(left).astype(np.int64)
    hi = np.ceil(right).astype(np.int64)
    if border == "renormalize":
        lo = np.clip(lo, 0, s - 1)
        return lo, np.clip(hi, lo + 1, s)
    return lo, np.maximum(hi, lo + 1)


def _taps_f32_floor_ceil(s: int, d: int, kernel: Kernel, *, antialias: bool, border: str) -> AxisTaps:
    """The image crate's coefficients (sample.rs vertical_sample/horizontal_sample), all f32:

        ratio = f32(s) / f32(d); sratio = max(ratio, 1) (1 without antialias)
        src_support = support · sratio
        inputx = (f32(i) + 0.5) · ratio
        left  = clamp(floor(inputx − src_support), 0, s − 1)
        right = clamp(ceil(inputx + src_support), left + 1, s)
        w_x = K((f32(x) − (inputx − 0.5)) / sratio);  sum = Σ w (in order);  w_x = w_x / sum
    """
    f32 = np.float32
    ratio = f32(s) / f32(d)
    sratio = (ratio if ratio >= f32(1.0) else f32(1.0)) if antialias else f32(1.0)
    src_support = f32(kernel.support) * sratio
    inputx = (np.arange(d, dtype=f32) + f32(0.5)) * ratio
    lo, hi = _floor_ceil_window(inputx - src_support, inputx + src_support, s, border)
    n = max(int((hi - lo).max()), 1)
    x = lo[:, None] + np.arange(n)[None, :]
    valid = x < hi[:, None]
    centre = (inputx - f32(0.5)).astype(f32)
    arg = ((x.astype(f32) - centre[:, None]) / sratio).astype(f32)
    w = np.zeros(x.shape, dtype=f32)
    w[valid] = kernel.fn(arg[valid])
    ws = _sequential_sum(w)
    nz = ws != f32(0.0)
    w[nz] = (w[nz] / ws[nz, None]).astype(f32)
    index = np.clip(np.where(valid, x, lo[:, None]), 0, s - 1)
    return AxisTaps(index=index.astype(np.int64), weight=w, src_len=s)


# --------------------------------------------------------------------------------------------
# Slow definitions: a line-by-line transcription of the C / Rust loops with Python scalars.
# Tests prove convolution_taps equal to these (bit for bit) on a grid of sizes.
# --------------------------------------------------------------------------------------------


def pillow_coeffs_scalar(in_size: int, out_size: int, kernel_scalar, support: float,
                         antialias: bool = True) -> list[tuple[int, list[float]]]:
    """Resample.c ``precompute_coeffs`` for box (0, in_size): per output (xmin, [weights])."""
    scale = in_size / out_size
    filterscale = scale if antialias else 1.0
    if filterscale < 1.0:
        filterscale = 1.0
    support = support * filterscale
    out = []
    for xx in range(out_size):
        center = 0.0 + (xx + 0.5) * scale
        ww = 0.0
        ss = 1.0 / filterscale
        xmin = int(center - support + 0.5)  # C (int): truncation toward zero
        if xmin < 0:
            xmin = 0
        xmax = int(center + support + 0.5)
        if xmax > in_size:
            xmax = in_size
        xmax -= xmin
        k = []
        for x in range(xmax):
            w = kernel_scalar((x + xmin - center + 0.5) * ss)
            k.append(w)
            ww += w
        if ww != 0.0:
            k = [v / ww for v in k]
        out.append((xmin, k))
    return out


def fir_coeffs_scalar(in_size: int, out_size: int, kernel_scalar, support: float,
                      antialias: bool = True) -> list[tuple[int, list[float]]]:
    """fast_image_resize ``precompute_coefficients`` (in0 = 0, in1 = in_size): (x_min, [weights])."""
    scale = in_size / out_size
    filter_scale = max(scale, 1.0) if antialias else 1.0
    filter_radius = support * filter_scale
    recip = 1.0 / filter_scale
    out = []
    for out_x in range(out_size):
        in_center = 0.0 + (out_x + 0.5) * scale
        x_min = int(max(math.floor(in_center - filter_radius), 0.0))
        x_max = int(min(math.ceil(in_center + filter_radius), float(in_size)))
        x_min = min(x_min, in_size - 1)
        x_max = max(x_max, x_min + 1)
        center = in_center - 0.5
        k = [kernel_scalar((x - center) * recip) for x in range(x_min, x_max)]
        ww = 0.0
        for v in k:
            ww += v
        if ww != 0.0:
            k = [v / ww for v in k]
        out.append((x_min, k))
    return out


def image_coeffs_scalar(in_size: int, out_size: int, kernel_f32, support: float,
                        antialias: bool = True) -> list[tuple[int, list]]:
    """image 0.25 ``vertical_sample`` coefficient loop with numpy float32 scalars: (left, [weights])."""
    f32 = np.float32
    ratio = f32(in_size) / f32(out_size)
    sratio = (f32(1.0) if ratio < f32(1.0) else ratio) if antialias else f32(1.0)
    src_support = f32(support) * sratio
    out = []
    for outy in range(out_size):
        inputy = (f32(outy) + f32(0.5)) * ratio
        left = int(math.floor(inputy - src_support))
        left = min(max(left, 0), in_size - 1)
        right = int(math.ceil(inputy + src_support))
        right = min(max(right, left + 1), in_size)
        inputy = inputy - f32(0.5)
        ws = []
        total = f32(0.0)
        for i in range(left, right):
            w = f32(kernel_f32(np.array([(f32(i) - inputy) / sratio], dtype=f32))[0])
            ws.append(w)
            total = f32(total + w)
        ws = [f32(w / total) for w in ws]
        out.append((left, ws))
    return out
