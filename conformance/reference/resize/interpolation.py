"""Coordinate-transform resampling (ONNX Resize, PyTorch interpolate): a fixed number of taps
around the source coordinate of each output index.

Names follow the ONNX Resize-19 spec (``onnx/defs/tensor/defs.cc``) and its reference
implementation ``onnx/reference/ops/op_resize.py`` (onnx 1.23.2). Per axis: ``length_original``
= s, ``length_resized`` = d (the integer output size), ``scale`` = d / s (float64, as the reference
computes it from ``sizes``), ``output_width`` = scale · s (float64; not always exactly d).

1. ``x_original`` (:func:`source_coordinates`, knob ``coords``), y = output index:

   - ``half_pixel``            x = (y + 0.5) / scale − 0.5
   - ``pytorch_half_pixel``    the same, but x = −0.5 when output_width == 1 (onnx.reference
     1.23; the Resize-19 spec text says 0 — a 1-pixel output is the only place they differ)
   - ``asymmetric``            x = y / scale
   - ``align_corners``         x = y · (s − 1) / (output_width − 1), 0 when output_width == 1
   - ``half_pixel_symmetric``  x = (s / 2)·(1 − d / output_width) + (y + 0.5) / scale − 0.5

2. ``x_int = floor(x)``; ``ratio = x − x_int``, except ``ratio = 1`` when x is an integer (the
   spec "prefers the pixel on the left": the taps are anchored at ``i0 = x − 1``); ``i0 = x_int``
   otherwise.

3. Coefficients (a vector over n taps; tap j reads pixel ``start + j``):

   - nearest (n = 2, pixels i0, i0+1): ``nearest_rounding`` ``round_prefer_floor`` picks i0+1 iff
     ratio > 0.5; ``round_prefer_ceil`` iff ratio >= 0.5; ``floor`` picks i0; ``ceil`` i0+1;
     integer x (ratio = 1) picks i0+1 = x in every mode.
   - linear (n = 2): ``(1 − ratio, ratio)``.
   - cubic (n = 4, pixels i0−1..i0+2), A = ``cubic_a``:
     ``c(ratio+1), c(ratio), c(1−ratio), c(2−ratio)``,
     ``c(x) = ((A+2)·x − (A+3))·x·x + 1`` for |x| <= 1, ``((A·x − 5A)·x + 8A)·x − 4A`` for 1<|x|<2.
   - ``antialias`` (linear/cubic; sc = min(scale, 1), the kernel stretched by 1/sc):
     linear: ``st = floor(−1/sc) + 1``, n = 2 − 2·st, taps k = st..st+n−1 relative to i0,
     ``w_k = clip(1 − |(k − ratio)·sc|, 0, 1) / Σ``;
     cubic: ``st = floor(−2/sc) + 1``, n = 2 − 2·st, ``w_k = c(|sc·(k − ratio)|) / Σ`` with
     ``c(x) = (A+2)x³ − (A+3)x² + 1`` (x <= 1), ``A x³ − 5A x² + 8A x − 4A`` (x < 2), 0 else.
     These formulas are used whenever ``antialias`` is set, also when upscaling (sc = 1), where
     they differ from the plain ones in the last bit (as in the reference).

4. ``weights_dtype`` (cubic only): ``float64`` evaluates the formulas in double. ``float32``
   reproduces onnx.reference, whose ``cubic_coeff_a`` is an ``np.float32``: under numpy >= 2
   (NEP 50) every operation involving A is float32 while ratio-only subexpressions such as
   ``ratio + 1`` or ``1 − ratio`` (and x, x², x³ in the antialias form) are computed in double and
   rounded to float32 where they meet A. The antialias sum Σ is a float32 sequential sum; the
   division is in float32 if every tap is inside the kernel (|x| < 2) and in double otherwise
   (numpy promotes the coefficient list to float64 when it holds a Python 0.0).

5. Window placement (knob ``window``), n even:

   - ``centered`` (the spec): ``start = i0 − n/2 + 1``.
   - ``onnx_reference`` (onnx.reference's ``_interpolate_1d_along_axis``): the window is placed
     from ``x_pad = x + n/2`` rounded to float64: ``p = floor(x_pad)``,
     ``start = p − n/2 − n/2`` if x_pad is an integer, else ``p − n/2 + 1 − n/2``, while ratio
     still comes from x. It equals ``centered`` except when x lies within half an ulp of x_pad
     above an integer: the addition rounds x_pad to that integer and the window moves one pixel
     left (the weights do not move). Measured: 3/300 linear, 6/300 cubic, 8/300 antialias random
     cases change by > 1 LSB against the spec window.
   - ``openvino`` (OpenVINO's CPU plugin, ``InterpolateExecutorBase::coordTransToInput``): the
     ``centered`` window around x computed in float32 (:func:`source_coordinates_f32`) instead of
     float64. A nearest pick flips wherever the float32 x lands on the other side of k + 0.5
     (22 of the 39 × 39 size pairs 1..39 differ in at least one index from float64 half_pixel).

6. Borders (``border``): ``clamp`` (exclude_outside = 0) reads the edge pixel for taps outside
   0..s−1; ``renormalize`` (exclude_outside = 1) sets their weights to 0 and divides by the
   remaining sum (a sum of 0 divides by 1, so an output can become 0). That sum runs over all n
   taps in ``sum_order``: sequential, or numpy's pairwise order (onnx.reference's
   ``coeffs.sum(axis=-1)``; :func:`.taps.pairwise_sum`).

A different family, :func:`nearest_index_taps`, computes nearest indices without a coordinate
transform (``nearest_index`` = ``accumulate`` or ``multiply``).
"""

from __future__ import annotations

import math

import numpy as np

from ...errors import SpecError
from .taps import AxisTaps, pairwise_sum

COORDS = ("half_pixel", "pytorch_half_pixel", "asymmetric", "align_corners", "half_pixel_symmetric")
WINDOWS = ("centered", "onnx_reference", "openvino")
NEAREST_ROUNDING = ("floor", "ceil", "round_prefer_floor", "round_prefer_ceil")

F32 = np.float32


def source_coordinates(in_size: int, out_size: int, coords: str) -> np.ndarray:
    """``x_original`` of every output index, float64 (ONNX ``_compute_x_ori`` with ``sizes``)."""
    s, d = int(in_size), int(out_size)
    scale = d / s
    output_width = scale * s
    y = np.arange(d, dtype=np.float64)
    if coords == "half_pixel":
        return (y + 0.5) / scale - 0.5
    if coords == "pytorch_half_pixel":
        if output_width == 1:
            return np.full(d, -0.5)
        return (y + 0.5) / scale - 0.5
    if coords == "asymmetric":
        return y / scale
    if coords == "align_corners":
        if output_width == 1:
            return np.zeros(d)
        return y * (s - 1) / (output_width - 1)
    if coords == "half_pixel_symmetric":
        adjustment = d / output_width
        center = s / 2
        offset = center * (1 - adjustment)
        return offset + (y + 0.5) / scale - 0.5
    raise SpecError(f"unknown coordinate transform {coords!r}", field="coords", value=coords)


def source_coordinates_f32(in_size: int, out_size: int, coords: str) -> np.ndarray:
    """``x_original`` as OpenVINO's CPU plugin computes it (``coordTransToInput``, float32
    throughout, the scale a float32 quotient of the sizes; held in float64, exactly):

    - scale = f32(d) / f32(s)
    - ``half_pixel``          x = (f32(y) + 0.5f) / scale − 0.5f
    - ``pytorch_half_pixel``  the same if d > 1, else 0
    - ``asymmetric``          x = f32(y) / scale
    - ``align_corners``       x = f32(y) · (f32(s − 1) / f32(d − 1)) if d > 1, else 0

    (``half_pixel_symmetric`` has no OpenVINO form: SpecError.) An axis with s == d reads x = y;
    the resizer skips such an axis anyway (``unchanged_axis="skip"``).
    """
    s, d = int(in_size), int(out_size)
    y = np.arange(d, dtype=F32)
    if s == d:
        return y.astype(np.float64)
    scale = F32(d) / F32(s)
    half = F32(0.5)
    if coords == "half_pixel" or (coords == "pytorch_half_pixel" and d > 1):
        x = (y + half) / scale - half
    elif coords == "pytorch_half_pixel":
        x = np.zeros(d, dtype=F32)
    elif coords == "asymmetric":
        x = y / scale
    elif coords == "align_corners":
        x = y * (F32(s - 1) / F32(d - 1)) if d > 1 else np.zeros(d, dtype=F32)
    else:
        raise SpecError(f"coordinate transform {coords!r} has no OpenVINO (window 'openvino') form",
                        field="coords", value=coords)
    assert x.dtype == F32
    return x.astype(np.float64)


def split_coordinate(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(i0, ratio): ``i0 = floor(x)``, ``ratio = x − i0`` in (0, 1]; an integer x gives ratio 1 and
    i0 = x − 1 (ONNX: "prefer the pixel on the left")."""
    x_int = np.floor(x)
    integer = x == x_int
    ratio = np.where(integer, 1.0, x - x_int)
    i0 = x_int.astype(np.int64) - integer.astype(np.int64)
    return i0, ratio


# --------------------------------------------------------------------------------------------
# Coefficient formulas (op_resize.py _nearest_coeffs, _linear_coeffs(_antialias),
# _cubic_coeffs(_antialias)), vectorised over ratio; each returns (first tap offset from i0, w)
# --------------------------------------------------------------------------------------------


def nearest_coeffs(ratio: np.ndarray, rounding: str) -> tuple[int, np.ndarray]:
    """Two taps (i0, i0+1), one-hot; integer x (ratio == 1) picks i0+1."""
    if rounding == "round_prefer_floor":
        right = ratio > 0.5
    elif rounding == "round_prefer_ceil":
        right = ratio >= 0.5
    elif rounding == "floor":
        right = np.zeros(ratio.shape, dtype=bool)
    elif rounding == "ceil":
        right = np.ones(ratio.shape, dtype=bool)
    else:
        raise SpecError(f"unknown nearest rounding {rounding!r}", field="nearest_rounding", value=rounding)
    right = right | (ratio == 1.0)
    w = np.stack([(~right).astype(np.float64), right.astype(np.float64)], axis=1)
    return 0, w


def linear_coeffs(ratio: np.ndarray) -> tuple[int, np.ndarray]:
    """(1 − ratio, ratio) on i0, i0+1."""
    return 0, np.stack([1 - ratio, ratio], axis=1)


def cubic_coeffs(ratio: np.ndarray, a: float, weights_dtype: str) -> tuple[int, np.ndarray]:
    """c(ratio+1), c(ratio), c(1−ratio), c(2−ratio) on i0−1..i0+2 (op_resize.py _cubic_coeffs)."""
    if weights_dtype == "float64":
        A = float(a)
        r1 = ratio + 1
        q = 1 - ratio
        q1 = q + 1
        c0 = ((A * r1 - 5 * A) * r1 + 8 * A) * r1 - 4 * A
        c1 = ((A + 2) * ratio - (A + 3)) * ratio * ratio + 1
        c2 = ((A + 2) * q - (A + 3)) * q * q + 1
        c3 = ((A * q1 - 5 * A) * q1 + 8 * A) * q1 - 4 * A
        return -1, np.stack([c0, c1, c2, c3], axis=1)
    A = F32(a)
    # double subexpressions of ratio, rounded to float32 where they meet A (NEP 50 weak floats)
    r1 = (ratio + 1).astype(F32)
    r = ratio.astype(F32)
    q = (1 - ratio).astype(F32)
    q1 = ((1 - ratio) + 1).astype(F32)
    c0 = ((A * r1 - F32(5) * A) * r1 + F32(8) * A) * r1 - F32(4) * A
    c1 = ((A + F32(2)) * r - (A + F32(3))) * r * r + F32(1)
    c2 = ((A + F32(2)) * q - (A + F32(3))) * q * q + F32(1)
    c3 = ((A * q1 - F32(5) * A) * q1 + F32(8) * A) * q1 - F32(4) * A
    return -1, np.stack([c0, c1, c2, c3], axis=1).astype(F32).astype(np.float64)


def linear_coeffs_antialias(ratio: np.ndarray, scale: float) -> tuple[int, np.ndarray]:
    """op_resize.py _linear_coeffs_antialias: taps st..st+n−1 around i0, float64."""
    sc = min(scale, 1.0)
    st = int(np.floor(-1 / sc) + 1)
    n = 2 - 2 * st
    k = np.arange(st, st + n, dtype=np.float64)
    args = (k[None, :] - ratio[:, None]) * sc
    w = np.clip(1 - np.abs(args), 0, 1)
    total = np.cumsum(w, axis=1)[:, -1]  # Python sum(): sequential
    return st, w / total[:, None]


def cubic_coeffs_antialias(ratio: np.ndarray, scale: float, a: float,
                           weights_dtype: str) -> tuple[int, np.ndarray]:
    """op_resize.py _cubic_coeffs_antialias: taps st..st+n−1, w = c(|sc·(k − ratio)|) / Σ."""
    sc = min(scale, 1.0)
    st = int(np.floor(-2 / sc) + 1)
    n = 2 - 2 * st
    k = np.arange(st, 2 - st, dtype=np.float64)
    x = np.abs(sc * (k[None, :] - ratio[:, None]))  # double
    x2 = x * x
    x3 = x * x2
    inside1 = x <= 1
    inside2 = (x > 1) & (x < 2)
    if weights_dtype == "float64":
        A = float(a)
        w = np.where(inside1, (A + 2) * x3 - (A + 3) * x2 + 1,
                     np.where(inside2, A * x3 - 5 * A * x2 + 8 * A * x - 4 * A, 0.0))
        total = np.cumsum(w, axis=1)[:, -1]
        return st, w / total[:, None]
    A = F32(a)
    x_, x2_, x3_ = x.astype(F32), x2.astype(F32), x3.astype(F32)
    near = (A + F32(2)) * x3_ - (A + F32(3)) * x2_ + F32(1)
    far = A * x3_ - F32(5) * A * x2_ + F32(8) * A * x_ - F32(4) * A
    w32 = np.where(inside1, near, np.where(inside2, far, F32(0))).astype(F32)
    total = np.cumsum(w32, axis=1, dtype=F32)[:, -1]  # builtin sum() of np.float32: float32
    all_inside = np.all(x < 2, axis=1)
    # every tap a np.float32 -> float32 array / float32 sum; a Python 0.0 among them -> float64
    w_f32div = (w32 / total[:, None]).astype(F32).astype(np.float64)
    w_f64div = w32.astype(np.float64) / total.astype(np.float64)[:, None]
    return st, np.where(all_inside[:, None], w_f32div, w_f64div)


def interpolation_taps(in_size: int, out_size: int, *, filter: str, coords: str, antialias: bool,
                       border: str, window: str, cubic_a: float, weights_dtype: str,
                       nearest_rounding: str, sum_order: str = "sequential") -> AxisTaps:
    """Taps of one axis per the module docstring (steps 1-6). Weights are float64 (holding float32
    values for ``weights_dtype="float32"``)."""
    s, d = int(in_size), int(out_size)
    if window not in WINDOWS:
        raise SpecError(f"window {window!r} is not a coordinate-transform window", field="window",
                        value=window)
    x = source_coordinates_f32(s, d, coords) if window == "openvino" else source_coordinates(s, d, coords)
    i0, ratio = split_coordinate(x)
    scale = d / s
    if filter == "nearest":
        if antialias:
            raise SpecError("nearest has no antialiased form (ONNX forbids antialias with mode "
                            "nearest)", field="antialias", value=True)
        st, w = nearest_coeffs(ratio, nearest_rounding)
    elif filter == "triangle":
        st, w = linear_coeffs_antialias(ratio, scale) if antialias else linear_coeffs(ratio)
    elif filter == "cubic":
        st, w = (cubic_coeffs_antialias(ratio, scale, cubic_a, weights_dtype) if antialias
                 else cubic_coeffs(ratio, cubic_a, weights_dtype))
    else:
        raise SpecError(f"filter {filter!r} has no coordinate-transform form (nearest, triangle and "
                        "cubic do); use a convolution window", field="filter", value=filter)
    if weights_dtype == "float32" and filter != "cubic":
        raise SpecError("weights_dtype 'float32' is defined only for cubic coefficients here",
                        field="weights_dtype", value=weights_dtype)
    n = w.shape[1]
    assert n % 2 == 0 and st == 1 - n // 2, (n, st)
    if window in ("centered", "openvino"):
        start = i0 - n // 2 + 1
    else:
        x_pad = x + n // 2
        p = np.floor(x_pad)
        frac = x_pad - p
        start = p.astype(np.int64) + np.where(frac == 0, -(n // 2), -(n // 2) + 1) - n // 2
    idx = start[:, None] + np.arange(n)[None, :]
    if border == "renormalize":
        outside = (idx < 0) | (idx >= s)
        w = np.where(outside, 0.0, w)
        total = pairwise_sum(w, axis=1) if sum_order == "numpy_pairwise" else np.cumsum(w, axis=1)[:, -1]
        total = np.where(total == 0, 1.0, total)
        w = w / total[:, None]
    elif border != "clamp":
        raise SpecError(f"unknown border {border!r}", field="border", value=border)
    return AxisTaps(index=np.clip(idx, 0, s - 1).astype(np.int64), weight=w, src_len=s)


def nearest_index_taps(in_size: int, out_size: int, nearest_index: str, axis: str = "y") -> AxisTaps:
    """One tap of weight 1 per output, at:

    - ``accumulate`` (Pillow ``ImagingScaleAffine``, OpenCV 5 INTER_NEAREST_EXACT):
      ``q = s / d`` (double); ``f_0 = q · 0.5``; ``f_{i+1} = f_i + q`` (accumulated, each addition
      rounded); ``idx_i = min(trunc(f_i), s − 1)``.
    - ``multiply`` (OpenCV INTER_NEAREST ``resizeNN``): ``idx_i = min(floor(i · (1 / (d / s))), s − 1)``
      in double (no half-pixel offset).
    - ``fir`` (fast_image_resize 5.5 ``resample_nearest``): the two axes differ. Columns
      (``axis="x"``) are pretabulated: ``idx_i = min(trunc(q · 0.5 + q · i), s − 1)`` in double
      (``x_in_start + x_scale * x``: the product and the sum each rounded); rows (``axis="y"``)
      are stepped like ``accumulate`` (``iter_rows_with_step``: ``y += y_scale``).
    """
    s, d = int(in_size), int(out_size)
    if nearest_index == "fir":
        if axis == "y":
            nearest_index = "accumulate"
        else:
            q = s / d
            start = q * 0.5
            idx = np.array([min(math.trunc(start + q * i), s - 1) for i in range(d)], dtype=np.int64)
            return AxisTaps(index=idx[:, None], weight=np.ones((d, 1)), src_len=s)
    if nearest_index == "accumulate":
        q = s / d
        f = q * 0.5
        idx = np.empty(d, dtype=np.int64)
        for i in range(d):  # sequential on purpose: each addition rounds
            idx[i] = min(math.trunc(f), s - 1)
            f += q
    elif nearest_index == "multiply":
        ifx = 1.0 / (d / s)
        idx = np.minimum(np.floor(np.arange(d, dtype=np.float64) * ifx).astype(np.int64), s - 1)
    else:
        raise SpecError(f"nearest_index {nearest_index!r} is not an index rule", field="nearest_index",
                        value=nearest_index)
    return AxisTaps(index=idx[:, None], weight=np.ones((d, 1)), src_len=s)
