"""The generic separable resizer: per-axis taps, two 1-D passes, every numeric choice a knob.

    out = R_final( P_second( I( P_first(image) ) ) )

- Taps per axis (:func:`axis_taps`): ``filter="nearest"`` with ``nearest_index`` ``accumulate`` or
  ``multiply`` -> one index per output (:func:`.interpolation.nearest_index_taps`); ``window``
  ``pillow`` / ``floor_ceil`` -> a convolution (:mod:`.convolution`, kernels from :mod:`.kernels`);
  ``window`` ``centered`` / ``onnx_reference`` -> a coordinate transform (:mod:`.interpolation`).
- Weights per ``arithmetic`` (:func:`weights_for`):
  ``float64`` / ``float32``: the weights in that type, every product and sum rounded to it;
  ``fixed:BITS``: integers ``k = (int)(w · 2^BITS ± 0.5)`` (Pillow's rounding,
  :func:`.taps.quantize_fixed`), p = BITS; ``fixed_dynamic:BITS``: ``k = round(w · 2^p)`` with a
  per-axis precision p <= 21 chosen so the largest weight fits BITS+1 signed bits
  (fast_image_resize, :func:`.taps.quantize_fixed_dynamic`). On float images fixed weights act as
  the exact values k / 2^p (float64 accumulation, no rounding of values).
- Passes (:func:`pass_axes`): an axis whose size is unchanged is skipped (``unchanged_axis="skip"``:
  Pillow, ONNX, fast_image_resize) or resampled anyway (``"resample"``: the image crate, whose
  kernels are not all identities at scale 1, e.g. its Gaussian). ``pass_order``: ``hv``
  (horizontal first), ``vh``, ``pillow13`` (vertical first iff out_h < in_h and
  (in_h − out_h) > 2·(in_w − out_w): Pillow 13.0.0, PR #9549).
- A pass P computes ``Σ_j w_ij · x_j`` over taps in order j = 0..n−1 (:func:`.taps.apply_taps`):
  float arithmetic in that float type, fixed arithmetic exactly in integers (the value then stands
  for ``acc / 2^q``, q = the precision bits accumulated so far). ``sum_order="numpy_pairwise"``
  sums the rounded products in numpy's pairwise order instead (:func:`sum_order_of_pass`).
- Between passes ``intermediate`` I: ``exact`` keeps the pass result as computed (a float of the
  arithmetic's type, or the unshifted integer accumulator); ``uint8`` rounds it with ``rounding`` and
  clips it to the image's integer range (Pillow and fast_image_resize store an 8-bit image; a
  uint16 image is clipped to 0..65535); ``float32`` rounds it to binary32 (the image crate's
  Rgba32F buffer; unclamped).
- Final R_final: integer images are rounded with ``rounding`` (``half_up`` = floor(v + 1/2), which is
  Pillow's ``(ss + 2^(q−1)) >> q``; ``half_even`` = numpy/ONNX; ``half_away`` = Rust ``f32::round``;
  ``truncate``) and clipped to the dtype range (clip8). Float images are never rounded: the result
  is cast to the input's float type, and ``intermediate="uint8"`` does nothing.

Combinations no library defines raise :class:`SpecError` naming the field (:func:`check_step`).
"""

from __future__ import annotations

import numpy as np

from ...errors import SpecError
from ...spec import Resize
from ..rounding import round_to_int
from .convolution import WINDOWS as CONVOLUTION_WINDOWS
from .convolution import convolution_taps
from .interpolation import WINDOWS as INTERPOLATION_WINDOWS
from .interpolation import interpolation_taps, nearest_index_taps
from .kernels import make_kernel
from .taps import (AxisTaps, apply_taps, drop_zero_taps, is_one_hot, one_hot_index, quantize_fixed,
                   quantize_fixed_dynamic)

def parse_arithmetic(arithmetic: str) -> tuple[str, int]:
    """("float64" | "float32" | "fixed" | "fixed_dynamic", bits) from the knob value."""
    if arithmetic in ("float64", "float32"):
        return arithmetic, 0
    kind, _, bits = arithmetic.partition(":")
    if kind in ("fixed", "fixed_dynamic") and bits.isdigit() and 1 <= int(bits) <= 30:
        return kind, int(bits)
    raise SpecError(f"arithmetic {arithmetic!r} is not handled by the generic resizer",
                    field="arithmetic", value=arithmetic)


def uses_index_rule(step: Resize) -> bool:
    """Nearest by an index rule (Pillow/OpenCV) rather than by a window."""
    return step.filter == "nearest" and step.nearest_index in ("accumulate", "multiply", "fir")


def check_step(step: Resize) -> None:
    """Reject knob combinations the generic resizer does not define (SpecError names the field)."""
    if step.arithmetic == "opencv":
        raise SpecError("arithmetic 'opencv' is handled by reference.resize.opencv",
                        field="arithmetic", value=step.arithmetic)
    if step.arithmetic == "tensorflow":
        raise SpecError("arithmetic 'tensorflow' is handled by reference.resize.tensorflow",
                        field="arithmetic", value=step.arithmetic)
    if step.filter == "area":
        raise SpecError("filter 'area' (OpenCV INTER_AREA cells, TF's ResizeArea) exists only with "
                        "arithmetic 'opencv' or 'tensorflow'", field="filter", value="area")
    if step.filter == "mitchell":
        raise SpecError("filter 'mitchell' (TF's mitchellcubic) exists only with arithmetic "
                        "'tensorflow'", field="filter", value="mitchell")
    kind, _ = parse_arithmetic(step.arithmetic)
    if step.output_dtype == "float32" and kind.startswith("fixed"):
        raise SpecError("output_dtype 'float32' needs float arithmetic: fixed-point weights "
                        "produce integers", field="output_dtype", value="float32")
    if kind.startswith("fixed") and step.intermediate == "float32":
        raise SpecError("intermediate 'float32' has no meaning with fixed-point arithmetic (use "
                        "'exact' or 'uint8')", field="intermediate", value=step.intermediate)
    if uses_index_rule(step):
        return
    if step.window == "vips":
        raise SpecError("window 'vips' is handled by reference.resize.vips", field="window",
                        value="vips")
    if step.window in CONVOLUTION_WINDOWS:
        if step.coords != "half_pixel":
            raise SpecError(f"window {step.window!r} centres output i at (i + 0.5)·in/out "
                            f"(half_pixel); coords {step.coords!r} needs window 'centered' or "
                            "'onnx_reference'", field="coords", value=step.coords)
        if step.filter == "nearest" and step.window == "pillow":
            raise SpecError("nearest as a convolution has support 0, which leaves Pillow's window "
                            "empty; use window 'floor_ceil' (the image crate's Nearest) or "
                            "nearest_index 'accumulate' (Pillow's NEAREST)", field="window",
                            value=step.window)
        if step.weights_dtype == "float32" and step.window != "floor_ceil":
            raise SpecError("weights_dtype 'float32' is defined only for window 'floor_ceil' (the "
                            "image crate's f32 recipe)", field="weights_dtype", value="float32")
    elif step.window in INTERPOLATION_WINDOWS:
        if step.filter not in ("nearest", "triangle", "cubic"):
            raise SpecError(f"filter {step.filter!r} has no coordinate-transform form (nearest, "
                            "triangle, cubic do); use window 'pillow' or 'floor_ceil'",
                            field="filter", value=step.filter)
        if step.filter == "nearest" and step.antialias:
            raise SpecError("nearest has no antialiased form (ONNX forbids antialias with mode "
                            "nearest)", field="antialias", value=True)
        if step.weights_dtype == "float32" and step.filter != "cubic":
            raise SpecError("weights_dtype 'float32' is defined only for cubic coefficients in a "
                            "coordinate-transform window (onnx.reference)", field="weights_dtype",
                            value="float32")
    else:
        raise SpecError(f"unknown window {step.window!r}", field="window", value=step.window)


def axis_taps(in_len: int, out_len: int, step: Resize, axis: str = "y") -> AxisTaps:
    """Float weights of one axis (``axis`` "y" rows or "x" columns: an index rule may differ
    per axis); a float64 array, or float32 for the f32 convolution recipe."""
    if uses_index_rule(step):
        return nearest_index_taps(in_len, out_len, step.nearest_index, axis)
    if step.window in CONVOLUTION_WINDOWS:
        kernel = make_kernel(step.filter, dtype=step.weights_dtype, cubic_a=step.cubic_a,
                             lobes=step.lobes, hamming_constants=step.hamming_constants)
        return convolution_taps(in_len, out_len, kernel, antialias=step.antialias,
                                window=step.window, border=step.border)
    return interpolation_taps(in_len, out_len, filter=step.filter, coords=step.coords,
                              antialias=step.antialias, border=step.border, window=step.window,
                              cubic_a=step.cubic_a, weights_dtype=step.weights_dtype,
                              nearest_rounding=step.nearest_rounding, sum_order=step.sum_order)


def weights_for(taps: AxisTaps, arithmetic: str, keep_zero_taps: bool = False,
                weight_rounding: str = "half_away") -> tuple[AxisTaps, int]:
    """(taps with weights in the arithmetic's representation, precision bits p; 0 for floats).
    All-zero tap columns are dropped (exact for sequential sums) unless ``keep_zero_taps``
    (pairwise sums group taps by position)."""
    kind, bits = parse_arithmetic(arithmetic)
    if kind == "float64":
        out, p = AxisTaps(taps.index, taps.weight.astype(np.float64), taps.src_len), 0
    elif kind == "float32":
        out, p = AxisTaps(taps.index, taps.weight.astype(np.float32), taps.src_len), 0
    elif kind == "fixed":
        out, p = quantize_fixed(taps, bits, weight_rounding), bits
    else:
        out, p = quantize_fixed_dynamic(taps, bits)
    return (out if keep_zero_taps else drop_zero_taps(out)), p


def pass_axes(in_h: int, in_w: int, out_h: int, out_w: int, step: Resize) -> list[int]:
    """Axes (0 = vertical, 1 = horizontal) in the order they are resampled."""
    need_v = out_h != in_h or step.unchanged_axis == "resample"
    need_h = out_w != in_w or step.unchanged_axis == "resample"
    if step.pass_order == "hv":
        vertical_first = False
    elif step.pass_order == "vh":
        vertical_first = True
    elif step.pass_order == "pillow13":
        # Pillow 13.0.0 ImagingResampleInner: resize vertically first if the height shrinks by
        # more than twice as many pixels as the width (ties -> horizontal first).
        vertical_first = out_h < in_h and (in_h - out_h) > 2 * (in_w - out_w)
    else:
        raise SpecError(f"unknown pass_order {step.pass_order!r}", field="pass_order", value=step.pass_order)
    order = [0, 1] if vertical_first else [1, 0]
    return [a for a in order if (need_v if a == 0 else need_h)]


def round_shift(acc: np.ndarray, q: int, rule: str) -> np.ndarray:
    """Integer ``acc / 2^q`` rounded with ``rule`` (int64 in, int64 out). half_up is
    ``(acc + 2^(q−1)) >> q`` (Pillow's ``ss = 1 << (PRECISION_BITS − 1)`` start and ``>>``)."""
    if q == 0:
        return acc
    half = np.int64(1) << np.int64(q - 1)
    shift = np.int64(q)
    if rule == "half_up":
        return (acc + half) >> shift
    if rule == "half_even":
        fl = acc >> shift
        rem = acc - (fl << shift)
        return fl + ((rem > half) | ((rem == half) & ((fl & 1) == 1)))
    if rule == "half_away":
        return np.sign(acc) * ((np.abs(acc) + half) >> shift)
    if rule == "truncate":
        return np.sign(acc) * (np.abs(acc) >> shift)
    raise SpecError(f"unknown rounding {rule!r}", field="rounding", value=rule)


def _int_range(dtype: np.dtype) -> tuple[int, int]:
    info = np.iinfo(dtype)
    return int(info.min), int(info.max)


def _fixed_acc_dtype(max_abs_input: int, taps: AxisTaps, q_after: int) -> type:
    """int32 when no partial sum can leave int32 (as in Pillow's own int32 accumulator), else
    int64; a SpecError if even int64 could overflow (exact integers are the definition)."""
    row_abs = int(np.abs(taps.weight).sum(axis=1).max()) if taps.weight.size else 0
    bound = max_abs_input * row_abs + (1 << max(q_after - 1, 0))
    if bound < (1 << 31) - 1:
        return np.int32
    if bound < (1 << 62):
        return np.int64
    raise SpecError(f"fixed-point accumulator would need {bound.bit_length()} bits; use fewer "
                    "bits or intermediate 'uint8'", field="arithmetic")


def resize_separable(image: np.ndarray, out_h: int, out_w: int, step: Resize, *,
                     fast_paths: bool = True, engine: str = "auto") -> np.ndarray:
    """Resample an (H, W, C) uint8/uint16/float32/float64 image to (out_h, out_w, C) per the
    module docstring. The caller (``reference.resize.resize``) has already handled equal sizes.
    ``fast_paths=False`` and ``engine`` ("numpy" / "numba") exist for tests proving the fast
    paths equal to the plain ones."""
    check_step(step)
    in_h, in_w = image.shape[:2]
    dtype = image.dtype
    is_int = np.issubdtype(dtype, np.integer)
    kind, _ = parse_arithmetic(step.arithmetic)
    axes = pass_axes(in_h, in_w, out_h, out_w, step)
    taps = {}
    for a in axes:
        t = axis_taps(in_h if a == 0 else in_w, out_h if a == 0 else out_w, step, "y" if a == 0 else "x")
        taps[a] = weights_for(t, step.arithmetic, keep_zero_taps=step.sum_order == "numpy_pairwise",
                              weight_rounding=step.weight_rounding)

    # Fast path: every pass copies one source pixel per output (nearest) -> a gather. Equal to the
    # general path whenever the accumulator represents every input value exactly (tested).
    exact_copy = is_int or kind != "float32" or dtype == np.float32
    if fast_paths and exact_copy and all(_one_hot(taps[a]) for a in axes):
        out = image
        for a in axes:
            out = np.take(out, one_hot_index(taps[a][0]), axis=a)
        return np.ascontiguousarray(out)

    if kind.startswith("fixed") and is_int:
        return _fixed_int(image, axes, taps, step, engine)
    return _float_passes(image, axes, taps, step, kind, engine)


def sum_order_of_pass(step: Resize, axis: int, width: int) -> str:
    """``numpy_pairwise`` applies where onnx.reference's ``ndarray.sum`` reduces a contiguous tap
    axis: the horizontal pass (innermost axis of NCHW), and the vertical pass of a 1-pixel-wide
    image (numpy drops the length-1 axis and the tap axis becomes innermost)."""
    if step.sum_order == "numpy_pairwise" and (axis == 1 or width == 1):
        return "pairwise"
    if step.sum_order not in ("sequential", "numpy_pairwise"):
        raise SpecError(f"unknown sum_order {step.sum_order!r}", field="sum_order", value=step.sum_order)
    return "sequential"


def _one_hot(t: tuple[AxisTaps, int]) -> bool:
    taps, p = t
    if p == 0:
        return is_one_hot(taps)
    w = taps.weight
    return bool(np.all((w == 0) | (w == (1 << p))) and np.all((w != 0).sum(axis=1) == 1))


def _fixed_int(image: np.ndarray, axes: list[int], taps: dict, step: Resize, engine: str) -> np.ndarray:
    """Integer images, fixed-point weights: exact integer accumulation (module docstring)."""
    lo, hi = _int_range(image.dtype)
    vals = image
    max_abs = max(abs(lo), abs(hi))
    q = 0
    for n, a in enumerate(axes):
        t, p = taps[a]
        acc = _fixed_acc_dtype(max_abs, t, q + p)
        order = sum_order_of_pass(step, a, vals.shape[1])  # integer sums: the order is immaterial
        vals = apply_taps(vals, t, a, acc_dtype=acc, order=order, engine=engine).astype(np.int64)
        q += p
        max_abs = max_abs * int(np.abs(t.weight).sum(axis=1).max())
        last = n == len(axes) - 1
        if not last and step.intermediate == "uint8":
            vals = np.clip(round_shift(vals, q, step.rounding), lo, hi)
            q, max_abs = 0, max(abs(lo), abs(hi))
    return np.clip(round_shift(vals, q, step.rounding), lo, hi).astype(image.dtype)


def _float_passes(image: np.ndarray, axes: list[int], taps: dict, step: Resize, kind: str,
                  engine: str) -> np.ndarray:
    """Float arithmetic (float64/float32), or fixed-point weights applied to a float image."""
    dtype = image.dtype
    is_int = np.issubdtype(dtype, np.integer)
    acc = np.float32 if kind == "float32" else np.float64
    vals = image
    for n, a in enumerate(axes):
        t, p = taps[a]
        if p:  # fixed-point weights on a float image: k / 2^p exactly, no rounding of values
            t = AxisTaps(t.index, t.weight.astype(np.float64) / float(1 << p), t.src_len)
        vals = apply_taps(vals, t, a, acc_dtype=acc, order=sum_order_of_pass(step, a, vals.shape[1]),
                          engine=engine)
        if n == len(axes) - 1:
            break
        if step.intermediate == "float32":
            vals = vals.astype(np.float32).astype(acc)
        elif step.intermediate == "uint8" and is_int:
            lo, hi = _int_range(dtype)
            vals = np.clip(round_to_int(vals, step.rounding), lo, hi).astype(acc)
    if is_int:
        lo, hi = _int_range(dtype)
        return np.clip(round_to_int(vals, step.rounding), lo, hi).astype(dtype)
    return vals.astype(dtype)
