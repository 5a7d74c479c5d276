"""TensorFlow's resize ops, as ``tf.image.resize`` (TF 2) calls them on CPU: ``arithmetic="tensorflow"``.

``tf.image.resize(images, size, method, antialias)`` picks one of five kernels
(tensorflow/python/ops/image_ops_impl.py ``resize_images_v2``), all float32 code whose output is
float32 whatever the input (nearest excepted: it copies pixels and keeps the dtype):

=================================  ==================================================================
method (antialias)                 op, and what the reference computes (file in
                                   tensorflow/core/kernels/image/)
=================================  ==================================================================
bilinear (False)                   ``ResizeBilinear(half_pixel_centers=True)``: per axis
                                   x = (i + 0.5f)·s − 0.5f with s = in/out in float32, lower =
                                   max(floor x, 0), upper = min(ceil x, in − 1), t = x − floor x;
                                   out = top + (bottom − top)·ty with top = tl + (tr − tl)·tx
                                   (resize_bilinear_op.cc); an unchanged size is a cast.
nearest                            ``ResizeNearestNeighbor(half_pixel_centers=True)``: index
                                   max(0, min(floor((i + 0.5f)·s), in − 1)).
bicubic (False)                    ``ResizeBicubic(half_pixel_centers=True)``: Keys a = −0.5 with
                                   weights from a 1025-entry table indexed by lrintf(t·1024) (so t is
                                   quantised to 1/1024), taps floor(x) − 1 .. floor(x) + 2 with the
                                   ones outside the image given weight 0 and the rest renormalised;
                                   vertical 1-D interpolation first (float32 values), then
                                   horizontal (resize_bicubic_op.cc).
area                               ``ResizeArea``: box average over the source cells
                                   [i·s, (i+1)·s), partial cells weighted by their overlap, sums per
                                   source row then over rows, times 1/(sy·sx) (resize_area_op.cc).
bilinear/bicubic (True), lanczos3, ``ScaleAndTranslate(kernel, antialias)`` (scale_and_translate_op.cc):
lanczos5, gaussian, mitchellcubic  per axis, sample = (i + 0.5f)·(1/scale) with scale =
                                   f32(out)/f32(in); taps ceil(sample − r·k − 0.5) .. floor(sample +
                                   r·k − 0.5) clamped, k = max(1/scale, 1) with antialias, else 1;
                                   float32 weights kernel(|(j + 0.5 − sample)/k|) normalised by
                                   multiplying with 1/Σ; rows first into a float32 buffer, then
                                   columns, each sum tap by tap in float32. Kernels
                                   (sampling_kernels.h): triangle, Keys cubic (a = −0.5), Lanczos
                                   (radius 1, 3, 5; sinf), Gaussian (radius 1.5, σ = 0.5; exp in
                                   double), Mitchell–Netravali (B = C = 1/3). An unchanged size is
                                   resampled too, which is not an identity for gaussian, mitchell
                                   and lanczos.
=================================  ==================================================================

Every operation is transcribed in numpy float32 in TF's order, and the sums run tap by tap
(:func:`..taps.apply_taps` with a float32 accumulator), so the result is TF's bit for bit where
TF's compiled code has the same roundings: no fused multiply-add (the tensorflow-cpu wheels for
x86-64 are built without FMA) and glibc's sinf/exp (TF calls them through libm).
"""

from __future__ import annotations

import numpy as np

from ...errors import SpecError
from .kernels import sinf
from .taps import AxisTaps, apply_taps

F32 = np.float32
FLT_MIN = np.finfo(np.float32).tiny
TABLE_SIZE = 1024  # resize_bicubic_op.cc kTableSize

# what each filter is called in TF (the ScaleAndTranslate kernel_type, or the method)
TF_FILTERS = {"nearest": "nearest", "triangle": "bilinear / triangle", "cubic": "bicubic / keyscubic",
              "area": "area", "lanczos": "lanczos3 / lanczos5 / lanczos1", "gaussian": "gaussian",
              "mitchell": "mitchellcubic", "box": "box"}
_SCALE_AND_TRANSLATE = ("triangle", "cubic", "lanczos", "gaussian", "mitchell", "box")


def check_tensorflow_step(step) -> None:
    """Raise :class:`SpecError` unless ``step`` asks for something TF's resize ops compute.

    ``arithmetic="tensorflow"`` means "what TF's op computes", so the knobs TF exposes must hold
    values TF has: ``coords="half_pixel"`` (TF 2's only convention), ``cubic_a=-0.5`` (Keys, both
    bicubic ops), ``lobes`` 1, 3 or 5 (ScaleAndTranslate's Lanczos kernels), and a filter TF has.
    ``antialias`` picks the op for triangle and cubic (ResizeBilinear / ResizeBicubic without) and
    scales the kernel of ScaleAndTranslate; nearest and area ignore it, as TF does. Fixed by the op,
    hence ignored: ``border``, ``window``, ``pass_order``, ``intermediate``, ``weights_dtype``,
    ``sum_order``, ``unchanged_axis``, ``nearest_rounding``, ``nearest_index`` (the presets
    ``tf.*`` set them to the values that describe TF). ``rounding`` applies only when
    ``output_dtype="input"`` turns the float32 result back into the input's integer type.
    """
    if step.arithmetic != "tensorflow":
        raise SpecError(f"resize_tensorflow models arithmetic='tensorflow' only; the step asks "
                        f"arithmetic={step.arithmetic!r}", field="arithmetic", value=step.arithmetic)
    if step.filter not in TF_FILTERS:
        raise SpecError(f"TensorFlow has no {step.filter!r} resize (it has "
                        f"{', '.join(sorted(TF_FILTERS))}); use arithmetic='float64' for it",
                        field="filter", value=step.filter)
    if step.coords != "half_pixel":
        raise SpecError(f"tf.image.resize samples at half-pixel centres only; the step asks "
                        f"coords={step.coords!r} (TF 1's align_corners is not modelled)",
                        field="coords", value=step.coords)
    if step.filter == "cubic" and step.cubic_a != -0.5:
        raise SpecError(f"TensorFlow's bicubic is Keys' a=-0.5; the step asks cubic_a={step.cubic_a!r}",
                        field="cubic_a", value=step.cubic_a)
    if step.filter == "lanczos" and step.lobes not in (1, 3, 5):
        raise SpecError(f"TensorFlow's Lanczos kernels have radius 1, 3 or 5; the step asks "
                        f"lobes={step.lobes!r}", field="lobes", value=step.lobes)


def resize_tensorflow(image: np.ndarray, out_h: int, out_w: int, step) -> np.ndarray:
    """The float32 (out_h, out_w, C) result of TF's op for ``step`` (nearest: the input's dtype).

    ``image``: (H, W, C) of any real dtype (TF reads it with ``static_cast<float>``). The size is
    resampled even when it does not change (``tf.image.resize`` never skips). The caller turns the
    float32 result into the step's ``output_dtype``.
    """
    check_tensorflow_step(step)
    in_h, in_w = image.shape[:2]
    f = step.filter
    if f == "nearest":
        rows = _nearest_index(in_h, out_h)
        cols = _nearest_index(in_w, out_w)
        return image[rows][:, cols].copy()
    x = image.astype(F32)
    if f == "area":
        return _area(x, out_h, out_w)
    if f == "triangle" and not step.antialias:
        return _bilinear(x, out_h, out_w)
    if f == "cubic" and not step.antialias:
        ys, xs = _bicubic_taps(in_h, out_h), _bicubic_taps(in_w, out_w)
        mid = apply_taps(x, ys, 0, np.float32)
        return apply_taps(mid, xs, 1, np.float32)
    kernel, radius = _kernel(f, step.lobes)
    ys = _spans(in_h, out_h, kernel, radius, step.antialias)
    xs = _spans(in_w, out_w, kernel, radius, step.antialias)
    mid = apply_taps(x, ys, 0, np.float32)  # GatherRows into the float32 intermediate
    return apply_taps(mid, xs, 1, np.float32)  # then GatherColumns


# --------------------------------------------------------------------------------------------
# ResizeNearestNeighbor, ResizeBilinear, ResizeBicubic, ResizeArea (ImageResizerState: s = in/out)
# --------------------------------------------------------------------------------------------


def _resize_scale(in_size: int, out_size: int) -> np.float32:
    """CalculateResizeScale without align_corners: ``static_cast<float>(in) / out``."""
    return F32(in_size) / F32(out_size)


def _nearest_index(in_size: int, out_size: int) -> np.ndarray:
    s = _resize_scale(in_size, out_size)
    x = (np.arange(out_size, dtype=F32) + F32(0.5)) * s  # HalfPixelScalerForNN
    return np.clip(np.floor(x).astype(np.int64), 0, in_size - 1)


def _bilinear_axis(in_size: int, out_size: int):
    s = _resize_scale(in_size, out_size)
    x = (np.arange(out_size, dtype=F32) + F32(0.5)) * s - F32(0.5)  # HalfPixelScaler
    fl = np.floor(x)
    lower = np.maximum(fl.astype(np.int64), 0)
    upper = np.minimum(np.ceil(x).astype(np.int64), in_size - 1)
    return lower, upper, (x - fl).astype(F32)


def _bilinear(x: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    in_h, in_w = x.shape[:2]
    if (out_h, out_w) == (in_h, in_w):
        return x.copy()  # "Handle no-op resizes efficiently": a cast
    y0, y1, ty = _bilinear_axis(in_h, out_h)
    x0, x1, tx = _bilinear_axis(in_w, out_w)
    top_rows, bottom_rows = x[y0], x[y1]
    tx = tx[None, :, None]
    tl, tr = top_rows[:, x0], top_rows[:, x1]
    bl, br = bottom_rows[:, x0], bottom_rows[:, x1]
    top = tl + (tr - tl) * tx
    bottom = bl + (br - bl) * tx
    return (top + (bottom - top) * ty[:, None, None]).astype(F32)


def _bicubic_table() -> np.ndarray:
    """InitCoeffsTable(-0.5): in double, stored as float; [2i] is the weight at distance i/1024,
    [2i+1] at 1 + i/1024."""
    a = -0.5
    i = np.arange(TABLE_SIZE + 1)
    x = (i * 1.0 / TABLE_SIZE).astype(F32).astype(np.float64)
    table = np.empty(2 * (TABLE_SIZE + 1), dtype=F32)
    table[0::2] = (((a + 2) * x - (a + 3)) * x * x + 1).astype(F32)
    x1 = (x.astype(F32) + F32(1.0)).astype(np.float64)  # x += 1.0 on a float
    table[1::2] = (((a * x1 - 5 * a) * x1 + 8 * a) * x1 - 4 * a).astype(F32)
    return table


def _bicubic_taps(in_size: int, out_size: int) -> AxisTaps:
    """GetWeightsAndIndices<HalfPixelScaler, use_keys_cubic=true> for every output."""
    s = _resize_scale(in_size, out_size)
    x = (np.arange(out_size, dtype=F32) + F32(0.5)) * s - F32(0.5)
    loc = np.floor(x).astype(np.int64)
    delta = (x - loc.astype(F32)).astype(F32)
    offset = np.rint(delta * F32(TABLE_SIZE)).astype(np.int64)  # lrintf: half to even
    table = _bicubic_table()
    w = np.stack([table[offset * 2 + 1], table[offset * 2],
                  table[(TABLE_SIZE - offset) * 2], table[(TABLE_SIZE - offset) * 2 + 1]], axis=1)
    idx = loc[:, None] + np.arange(-1, 3)[None, :]
    inside = (idx >= 0) & (idx <= in_size - 1)
    w = np.where(inside, w, F32(0)).astype(F32)
    total = ((w[:, 0] + w[:, 1]) + w[:, 2]) + w[:, 3]
    ok = np.abs(total) >= F32(1000.0) * FLT_MIN
    inv = np.where(ok, F32(1.0) / np.where(ok, total, F32(1)), F32(1)).astype(F32)
    w = np.where(ok[:, None], w * inv[:, None], w).astype(F32)
    return AxisTaps(np.clip(idx, 0, in_size - 1), w, in_size)


def _area_cells(in_size: int, out_size: int):
    """Per output: first source cell, the end (exclusive) and the float32 weights of every cell
    in between (the first and last are partial), as ResizeArea's x_interps / y_scales."""
    s = _resize_scale(in_size, out_size)
    cells = []
    for i in range(out_size):
        lo = F32(i) * s
        hi = F32(i + 1) * s
        start, end = int(np.floor(lo)), int(np.ceil(hi))
        ws = []
        for v in range(start, end):
            if F32(v) < lo:
                w = s if F32(v + 1) > hi else F32(v + 1) - lo
            else:
                w = hi - F32(v) if F32(v + 1) > hi else F32(1.0)
            ws.append(F32(w))
        cells.append((start, end, ws))
    return cells


def _area(x: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    in_h, in_w = x.shape[:2]
    sy, sx = _resize_scale(in_h, out_h), _resize_scale(in_w, out_w)
    scale = F32(1.0 / float(F32(sy * sx)))
    # per source row r and output column j: the row's weighted sum over column j's cells (sum_y),
    # first cell * its weight, then the whole cells, then the last cell * its weight
    row_sums = np.empty((in_h, out_w, x.shape[2]), dtype=F32)
    for j, (start, end, ws) in enumerate(_area_cells(in_w, out_w)):
        acc = x[:, min(max(start, 0), in_w - 1)] * ws[0]
        if start + 1 != end:
            for v in range(start + 1, end - 1):
                acc = acc + x[:, min(max(v, 0), in_w - 1)]
            acc = acc + x[:, min(max(end - 1, 0), in_w - 1)] * ws[-1]
        row_sums[:, j] = acc
    out = np.empty((out_h, out_w, x.shape[2]), dtype=F32)
    for i, (start, end, ws) in enumerate(_area_cells(in_h, out_h)):
        acc = np.zeros((out_w, x.shape[2]), dtype=F32)
        for v, w in zip(range(start, end), ws):
            acc = acc + row_sums[min(max(v, 0), in_h - 1)] * w
        out[i] = acc * scale
    return out


# --------------------------------------------------------------------------------------------
# ScaleAndTranslate
# --------------------------------------------------------------------------------------------


def _lanczos(radius: int):
    r = F32(radius)
    k_pi = F32(3.14159265359)
    pi2 = k_pi * k_pi

    def fn(x: np.ndarray) -> np.ndarray:
        x = np.abs(x).astype(F32)
        px = k_pi * x
        with np.errstate(divide="ignore", invalid="ignore"):
            v = ((r * sinf(px)) * sinf(px / r)) / ((pi2 * x) * x)
        v = np.where(x.astype(np.float64) <= 1e-3, F32(1.0), v)
        return np.where(x > r, F32(0.0), v).astype(F32)
    return fn


def _gaussian(x: np.ndarray) -> np.ndarray:
    """GaussianKernelFunc(1.5): sigma = 1.5f / 3.0f = 0.5f; exp(-x*x / (2.0*sigma*sigma)) in double."""
    x = np.abs(x).astype(F32)
    e = np.exp((-x * x).astype(np.float64) / (2.0 * 0.5 * 0.5)).astype(F32)
    return np.where(x >= F32(1.5), F32(0.0), e)


def _box(x: np.ndarray) -> np.ndarray:
    x = np.abs(x).astype(F32)
    return np.where(x < F32(0.5), F32(1.0), np.where(x == F32(0.5), F32(0.5), F32(0.0))).astype(F32)


def _triangle(x: np.ndarray) -> np.ndarray:
    x = np.abs(x).astype(F32)
    return np.where(x < F32(1.0), F32(1.0) - x, F32(0.0)).astype(F32)


def _keys(x: np.ndarray) -> np.ndarray:
    x = np.abs(x).astype(F32)
    far = ((F32(-0.5) * x + F32(2.5)) * x - F32(4.0)) * x + F32(2.0)
    near = ((F32(1.5) * x - F32(2.5)) * x) * x + F32(1.0)
    return np.where(x >= F32(2.0), F32(0.0), np.where(x >= F32(1.0), far, near)).astype(F32)


def _mitchell(x: np.ndarray) -> np.ndarray:
    x = np.abs(x).astype(F32)
    far = (((F32(-7.0) / F32(18.0)) * x + F32(2.0)) * x - F32(10.0) / F32(3.0)) * x + F32(16.0) / F32(9.0)
    near = (((F32(7.0) / F32(6.0)) * x - F32(2.0)) * x) * x + F32(8.0) / F32(9.0)
    return np.where(x >= F32(2.0), F32(0.0), np.where(x >= F32(1.0), far, near)).astype(F32)


def _kernel(name: str, lobes: int):
    """(function, radius) of sampling_kernels.h's kernel for a filter name."""
    if name == "lanczos":
        return _lanczos(lobes), F32(lobes)
    return {"triangle": (_triangle, F32(1.0)), "cubic": (_keys, F32(2.0)),
            "gaussian": (_gaussian, F32(1.5)), "mitchell": (_mitchell, F32(2.0)),
            "box": (_box, F32(1.0))}[name]


def _spans(in_size: int, out_size: int, kernel, radius: np.float32, antialias: bool) -> AxisTaps:
    """ComputeSpansCore for scale = f32(out)/f32(in) and translate 0."""
    scale = F32(out_size) / F32(in_size)
    inv_scale = F32(1.0 / float(scale))  # `const float inv_scale = 1.0 / scale;` (a double division)
    kscale = max(inv_scale, F32(1.0)) if antialias else F32(1.0)
    span = min(2 * int(np.ceil(radius * kscale)) + 1, in_size)
    one_over = F32(1.0) / kscale
    sample = (np.arange(out_size, dtype=F32) + F32(0.5)) * inv_scale + F32(-0.0)
    reach = radius * kscale
    start = np.clip(np.ceil(sample - reach - F32(0.5)).astype(np.int64), 0, in_size - 1)
    end = np.clip(np.floor(sample + reach - F32(0.5)).astype(np.int64), 0, in_size - 1) + 1
    if np.any(end - start > span):  # TF: "Span is too large"; cannot happen for a pure scale
        raise SpecError("TensorFlow's span computation overflowed", field="filter", value=str(span))
    j = np.arange(span)
    idx = start[:, None] + j[None, :]
    live = idx < end[:, None]
    pos = (idx.astype(F32) + F32(0.5)) - sample[:, None]
    w = np.where(live, kernel(np.abs(pos * one_over)), F32(0.0)).astype(F32)
    total = np.zeros(out_size, dtype=F32)
    for k in range(span):  # total_weight_sum += weight, tap by tap
        total = (total + w[:, k]).astype(F32)
    ok = np.abs(total) >= F32(1000.0) * FLT_MIN
    inv = (F32(1.0) / np.where(ok, total, F32(1.0))).astype(F32)
    w = np.where(ok[:, None], w * inv[:, None], F32(0.0)).astype(F32)
    return AxisTaps(np.minimum(idx, in_size - 1), w, in_size)
