"""libvips ``vips_resize`` downsizing (``window="vips"``): an integer box pre-shrink, then a
fixed-point convolution on a 1/64-pixel grid of kernel positions.

Read in libvips' ``resample/resize.c``, ``reduceh.cpp``, ``reducev.cpp``, ``templates.h``,
``shrinkh_hwy.cpp``/``shrinkv_hwy.cpp`` and ``reduceh_hwy.cpp``, and checked against
pyvips-binary 8.18.7 (tests/test_harness_libvips.py: 0 LSB on uint8). Per axis that shrinks
(the vertical axis first: ``vips_resize`` calls ``vips_reducev`` before ``vips_reduceh``), with
s = source length, d = output length:

1. The reduce factor is the double libvips computes from the scale the caller passes:
   ``scale = d / s``, ``r = 1.0 / scale`` (``vips_resize(in, scale, vscale=...)`` passes
   ``1.0 / scale`` to ``vips_reduceh/v``), and ``d = round(s / r)`` (VIPS_ROUND_UINT).
   ``extra = d·r − s`` (the input pixels invented, negative for discarded).
2. Pre-shrink (``reducing_gap`` g > 0, libvips' ``gap``, default 2.0 in ``vips_resize``):
   ``k = max(1, floor(s / d / g))``. If k > 1: ``vips_shrinkh/v(k, ceil=TRUE)`` gives
   ``ceil(s / k)`` pixels, each the mean of k source pixels, the last block completed by
   repeating the edge pixel (the input is embedded with VIPS_EXTEND_COPY). For uint8 the mean is
   the highway kernel's ``((Σ + k/2) · ⌊2^32 / (256·k)⌋ mod 2^32) >> 24`` (a multiply-shift that
   is 1 below ``round(Σ/k)`` for some sums, e.g. k=7, Σ=1110: 158, not 159); then
   ``r /= k``, ``extra /= k``. ``filter="nearest"`` subsamples instead (``vips_subsample``:
   pixel k·i of ``floor(s / k)``), with ``k`` from ``floor(s / round(s·scale) / g)`` and
   ``r = 1 / (scale·k)``.
3. Reduce (``vips_reduceh/v``), skipped when r is exactly 1. ``n = 2·rint(support·r) + 1`` taps
   (1 for nearest; support 1 triangle, 2 cubic, 3 lanczos). Output i's position:
   ``X_i = X_0 + i·r`` accumulated in double (X += r), with
   ``X_0 = (i0 + 0.5)·r − 0.5 − hoffset``, ``hoffset = (1 + extra)/2 − 1``; i0 is the first
   output of the region being computed: the horizontal pass computes whole rows (i0 = 0), the
   vertical pass restarts the sum at every strip of ``VIPS_STRIP_HEIGHT`` = 16 output rows
   (libvips' thinstrip regions; measured: 300/300 size pairs, no other strip height fits).
   ``ix = (int) X``; the kernel position is rounded to 1/64 pixel:
   ``tx = (((int)(X·128) & 127) + 1) >> 1`` (0..64), ``x = tx / 64``.
   Taps ``ix − n//2 .. ix + n//2``, read with the edge pixel outside the image (VIPS_EXTEND_COPY),
   weights ``c_j = K((j − (x + n/2 − 1)) / r)``, j = 0..n−1, divided by their sum (the tap j
   sits at ``X − 0.5`` + (j − (x + n/2 − 1)): the output centre is
   ``(i + 0.5)·r − 0.5 − extra/2``, half-pixel centres with the surplus split at both ends).
4. Fixed point: ``VIPS_INTERPOLATE_SHIFT = 12``; weights ``(int)(c·4096)`` (truncated toward
   zero: ``arithmetic="fixed:12"``, ``weight_rounding="truncate"``); each output
   ``clip((Σ k_j·p_j + 2048) >> 12, 0, 255)`` (``rounding="half_up"``), stored as uint8 before the
   next axis (``intermediate="uint8"``). The highway (SIMD) kernels compute the same integers.

Kernels (``templates.h``, double): triangle ``1 − |x|`` for |x| < 1; cubic = Mitchell–Netravali
``cubic_filter(x, B=0, C=1/2)`` (Catmull-Rom, the Keys cubic with a = −0.5) in libvips' own
polynomial order; lanczos ``sinc(x)·sinc(x/a)`` on −a <= x <= a, ``sinc(x) = sin(πx)/(πx)``.

Upsizing (``resize.c``: any axis that enlarges): after the reduce of the shrinking axes,
``vips_affine(scale_x, scale_y, idx=0.5, idy=0.5, extend=copy)`` with an interpolator on *both*
axes, the enlarging axes at their scale d/s, the others at 1.0 (so an axis that keeps its size, or
was just reduced, is resampled half a pixel up/left: x = j − 0.5). Output j of an axis reads
source position ``x = j / scale − 0.5``; the input is embedded with ``window_offset + 1`` = 2 edge
copies (``X = x + 2``), ``ix = (int) X − 2`` and the position is rounded to 1/64 as above.
``filter="cubic"`` and ``"lanczos"`` use ``VipsInterpolateBicubic`` (``bicubic.cpp``,
``templates.h``): Catmull-Rom weights ``calculate_coefficients_catmull(tx/64)`` truncated to 12
bits, taps ix − 1 .. ix + 2 (edge copies); each of the 4 rows is summed horizontally and rounded
``(acc + 2048) >> 12`` *without clipping*, then the 4 row values vertically, rounded the same way
and clipped to 0..255 (``bicubic_unsigned_int``). Not modelled (SpecError): ``triangle``
upsizing (``VipsInterpolateBilinear``: float32 2-D weights; the closest model here is 1 level off)
and ``nearest`` upsizing at non-integer factors (``vips_affine`` with the nearest interpolator;
integer factors are ``vips_zoom``).
"""

from __future__ import annotations

import math

import numpy as np

from ...errors import SpecError
from .taps import AxisTaps, apply_taps

VIPS_INTERPOLATE_SHIFT = 12  # libvips vips/interpolate.h: 12 fractional bits of weight
VIPS_TRANSFORM_SHIFT = 6  # kernel positions on a 1/64-pixel grid (VIPS_TRANSFORM_SCALE = 64)
VIPS_TRANSFORM_SCALE = 1 << VIPS_TRANSFORM_SHIFT
VIPS_STRIP_HEIGHT = 16  # rows per region of the vertical reduce (measured)

FILTERS = {"nearest": 0, "triangle": 1, "cubic": 2, "lanczos": None}  # support (lanczos: lobes)


def _sinc(x: float) -> float:
    """templates.h sinc_filter."""
    if x == 0.0:
        return 1.0
    x = x * math.pi
    return math.sin(x) / x


def _cubic_filter(x: float, b: float, c: float) -> float:
    """templates.h cubic_filter (Mitchell and Netravali 1988), libvips' operation order."""
    ax = abs(x)
    ax2 = ax * ax
    ax3 = ax2 * ax
    if ax <= 1:
        return ((12 - 9 * b - 6 * c) * ax3 + (-18 + 12 * b + 6 * c) * ax2 + (6 - 2 * b)) / 6
    if ax <= 2:
        return ((-b - 6 * c) * ax3 + (6 * b + 30 * c) * ax2 + (-12 * b - 48 * c) * ax
                + (8 * b + 24 * c)) / 6
    return 0.0


def kernel(filter_name: str, x: float, lobes: int) -> float:
    """libvips' ``filter<K>(x)`` for VIPS_KERNEL_LINEAR / CUBIC / LANCZOS2 / LANCZOS3."""
    if filter_name == "triangle":
        x = abs(x)
        return 1.0 - x if x < 1.0 else 0.0
    if filter_name == "cubic":
        return _cubic_filter(x, 0.0, 0.5)
    if -lobes <= x <= lobes:
        return _sinc(x) * _sinc(x / lobes)
    return 0.0


def n_points(filter_name: str, r: float, lobes: int) -> int:
    """``vips_reduce_get_points``: 2·rint(support·r) + 1 (rint = half to even)."""
    if filter_name == "nearest":
        return 1
    support = lobes if filter_name == "lanczos" else FILTERS[filter_name]
    return 2 * int(np.rint(support * r)) + 1


def check_vips_step(step, dtype: np.dtype | None = None) -> None:
    """The knob values the vips window is defined with (SpecError names the field otherwise);
    with ``dtype``, also the image's (uint8 only)."""
    if dtype is not None and dtype != np.uint8:
        raise SpecError(f"window 'vips' is defined for uint8 images (libvips' uchar paths), got "
                        f"{dtype.name}", field="window", value="vips")
    if step.filter not in FILTERS:
        raise SpecError(f"libvips has no {step.filter!r} kernel (nearest, triangle, cubic, lanczos)",
                        field="filter", value=step.filter)
    if step.filter == "cubic" and step.cubic_a != -0.5:
        raise SpecError("libvips' cubic is Catmull-Rom (cubic_a = -0.5)", field="cubic_a",
                        value=step.cubic_a)
    if step.filter == "lanczos" and step.lobes not in (2, 3):
        raise SpecError("libvips has lanczos2 and lanczos3", field="lobes", value=step.lobes)
    expected = dict(arithmetic=f"fixed:{VIPS_INTERPOLATE_SHIFT}", weight_rounding="truncate",
                    rounding="half_up", intermediate="uint8", border="clamp", coords="half_pixel",
                    output_dtype="input")
    for name, value in expected.items():
        if getattr(step, name) != value:
            raise SpecError(f"window 'vips' is libvips' fixed-point reduce, defined with "
                            f"{name} = {value!r}", field=name, value=getattr(step, name))
    if not (isinstance(step.reducing_gap, float) and (step.reducing_gap == 0.0
                                                      or step.reducing_gap >= 1.0)):
        raise SpecError("reducing_gap is 0 (off) or >= 1 (libvips: 'reduce gap should be >= 1.0')",
                        field="reducing_gap", value=step.reducing_gap)


def shrink_box(values: np.ndarray, axis: int, k: int) -> np.ndarray:
    """``vips_shrinkh/v(k, ceil=TRUE)`` on uint8: ceil(s/k) means of k pixels, the last block
    completed with copies of the edge pixel; mean = ((Σ + k/2)·⌊2^32/(256k)⌋ mod 2^32) >> 24
    (shrinkh_hwy.cpp: ``multiplier = max_uint32 / (max_bits * hshrink)``, uint32 lanes)."""
    s = values.shape[axis]
    d = -(-s // k)
    pad = d * k - s
    v = np.moveaxis(values, axis, 0).astype(np.int64)
    if pad:
        v = np.concatenate([v, np.repeat(v[-1:], pad, axis=0)], axis=0)
    sums = v.reshape((d, k) + v.shape[1:]).sum(axis=1)
    multiplier = (1 << 32) // (256 * k)
    mean = (((sums + k // 2) * multiplier) & 0xFFFFFFFF) >> 24
    return np.moveaxis(mean.astype(np.uint8), 0, axis)


def reduce_taps(s: int, d: int, r: float, extra: float, filter_name: str, lobes: int,
                strip: int | None) -> AxisTaps:
    """Integer taps of one ``vips_reduceh/v`` pass (module docstring, steps 3-4): indices
    clamped to the edge, weights ``(int)(c·4096)``. ``strip``: restart the position sum every
    ``strip`` outputs (the vertical pass), or None (one sum along the whole axis)."""
    n = n_points(filter_name, r, lobes)
    half = n // 2
    hoffset = (1 + extra) / 2.0 - 1
    index = np.zeros((d, n), dtype=np.int64)
    weight = np.zeros((d, n), dtype=np.int64)
    x_pos = 0.0
    for i in range(d):
        if i == 0 or (strip is not None and i % strip == 0):
            x_pos = (i + 0.5) * r - 0.5 - hoffset  # reducev_gen/reduceh_gen: region start
        ix = int(x_pos)  # C (int): toward zero; X >= 0 here
        sx = int(x_pos * VIPS_TRANSFORM_SCALE * 2)
        tx = ((sx & (VIPS_TRANSFORM_SCALE * 2 - 1)) + 1) >> 1
        if filter_name == "nearest":
            c = [1.0]
        else:
            x = tx / VIPS_TRANSFORM_SCALE
            centre = x + n / 2.0 - 1  # templates.h calculate_coefficients: half
            c = [kernel(filter_name, (j - centre) / r, lobes) for j in range(n)]
            total = 0.0
            for v in c:
                total += v
            c = [v / total for v in c]
        for j in range(n):
            index[i, j] = min(max(ix - half + j, 0), s - 1)  # VIPS_EXTEND_COPY
            weight[i, j] = int(c[j] * (1 << VIPS_INTERPOLATE_SHIFT))  # (int): truncation
        x_pos += r
    return AxisTaps(index=index, weight=weight, src_len=s)


def _axis(values: np.ndarray, axis: int, out_len: int, step) -> np.ndarray:
    """One axis of vips_resize's downsizing: pre-shrink (or subsample), then reduce."""
    s = values.shape[axis]
    scale = out_len / s  # what a caller of vips_resize passes (scale or vscale)
    gap = step.reducing_gap
    if step.filter == "nearest":
        if gap == 0.0:
            k = max(1, math.floor(1.0 / scale))
        else:
            target = math.floor(s * scale + 0.5)  # VIPS_ROUND_UINT
            k = max(1, math.floor(s / target / gap))
        if k > 1:
            values = np.take(values, np.arange(0, (s // k) * k, k), axis=axis)
            scale *= k
        s = values.shape[axis]
        scale = max(scale, 1.0 / s)
        if scale >= 1.0:
            return values
        r = 1.0 / scale
        d = math.floor(s / r + 0.5)
        extra = d * r - s
    else:
        r = 1.0 / scale
        d = math.floor(s / r + 0.5)
        extra = d * r - s
        if gap > 0.0:
            k = max(1, math.floor(s / d / gap))
            if k > 1:
                values = shrink_box(values, axis, k)
                r /= k
                extra /= k
                s = values.shape[axis]
        if r == 1.0:
            return values
    if d != out_len:
        raise SpecError(f"libvips would make {d} pixels, not {out_len}, from {values.shape[axis]}",
                        field="height" if axis == 0 else "width", value=out_len)
    taps = reduce_taps(s, d, r, extra, step.filter, step.lobes,
                       VIPS_STRIP_HEIGHT if axis == 0 else None)
    acc = apply_taps(values, taps, axis, acc_dtype=np.int64).astype(np.int64)
    half = 1 << (VIPS_INTERPOLATE_SHIFT - 1)
    return np.clip((acc + half) >> VIPS_INTERPOLATE_SHIFT, 0, 255).astype(np.uint8)


def catmull(x: float) -> list[float]:
    """templates.h ``calculate_coefficients_catmull``: Catmull-Rom weights of the 4 taps around
    an offset x in [0, 1], in libvips' operation order."""
    cr1 = 1.0 - x
    cr2 = -0.5 * x
    cr3 = cr1 * cr2
    cone = cr1 * cr3
    cfou = x * cr3
    cr4 = cfou - cone
    ctwo = cr1 - cone + cr4
    cthr = x - cfou - cr4
    return [cone, ctwo, cthr, cfou]


AFFINE_EMBED = 2  # affine.c: the input embedded by window_offset + 1 (bicubic: 1 + 1) edge copies


def affine_bicubic_taps(s: int, d: int, scale: float) -> AxisTaps:
    """Integer taps of one axis of vips_affine + VipsInterpolateBicubic (module docstring)."""
    index = np.zeros((d, 4), dtype=np.int64)
    weight = np.zeros((d, 4), dtype=np.int64)
    for j in range(d):
        x_pos = j / scale - 0.5 + AFFINE_EMBED  # idx = 0.5; embedded coordinates, >= 0
        ix = int(x_pos)
        sx = int(x_pos * VIPS_TRANSFORM_SCALE * 2)
        tx = ((sx & (VIPS_TRANSFORM_SCALE * 2 - 1)) + 1) >> 1
        c = catmull(tx / VIPS_TRANSFORM_SCALE)
        for k in range(4):
            index[j, k] = min(max(ix - AFFINE_EMBED - 1 + k, 0), s - 1)
            weight[j, k] = int(c[k] * (1 << VIPS_INTERPOLATE_SHIFT))  # (int): truncation
    return AxisTaps(index=index, weight=weight, src_len=s)


def _enlarge(image: np.ndarray, out_h: int, out_w: int, scale_y: float, scale_x: float,
             step) -> np.ndarray:
    """vips_affine with VipsInterpolateBicubic: rows first, rounded unclipped, then columns."""
    if step.filter not in ("cubic", "lanczos"):
        raise SpecError(f"window 'vips' does not model libvips' {step.filter!r} upsizing "
                        "(vips_affine with the bilinear interpolator's float32 2-D weights, or "
                        "with the nearest interpolator); cubic and lanczos (bicubic) are modelled",
                        field="filter", value=step.filter)
    half = 1 << (VIPS_INTERPOLATE_SHIFT - 1)
    taps_x = affine_bicubic_taps(image.shape[1], out_w, scale_x)
    taps_y = affine_bicubic_taps(image.shape[0], out_h, scale_y)
    rows = apply_taps(image, taps_x, 1, acc_dtype=np.int64).astype(np.int64)
    rows = (rows + half) >> VIPS_INTERPOLATE_SHIFT  # unsigned_fixed_round: no clip in between
    out = apply_taps(rows, taps_y, 0, acc_dtype=np.int64).astype(np.int64)
    return np.clip((out + half) >> VIPS_INTERPOLATE_SHIFT, 0, 255).astype(np.uint8)


def resize_vips(image: np.ndarray, out_h: int, out_w: int, step) -> np.ndarray:
    """``vips_resize`` of a uint8 (H, W, C) image (module docstring)."""
    check_vips_step(step, image.dtype)
    in_h, in_w = image.shape[:2]
    order = (0, 1) if step.pass_order == "vh" else (1, 0)
    out = image
    for axis in order:
        target = out_h if axis == 0 else out_w
        if target < out.shape[axis]:
            out = _axis(out, axis, target, step)
    if out_h > in_h or out_w > in_w:
        out = _enlarge(out, out_h, out_w, out_h / in_h if out_h > in_h else 1.0,
                       out_w / in_w if out_w > in_w else 1.0, step)
    return np.ascontiguousarray(out)
