"""OpenCV ``cv2.resize`` emulated bit for bit (opencv-python-headless 5.0.0, uint8 and float32).

This module is the ``arithmetic="opencv"`` model of the resize step: every interpolation OpenCV
offers through ``cv2.resize(src, dsize=(w, h), interpolation=...)`` written out with OpenCV's
own tables, fixed-point widths and float32 rounding points, so that the result equals the
library's output exactly (0 LSB). The facts, and how each was verified against this wheel, are in
``shared/notes/resize-semantics.md`` §1 (cited below as "notes §1.x"); the names in the code are
OpenCV's (``modules/imgproc/src/resize.cpp``).

Knob -> OpenCV flag (see :func:`resize_opencv`):

=========================================== ===================== =====================
``filter`` (+ ``nearest_index``)             OpenCV flag           function here
=========================================== ===================== =====================
``nearest`` + ``multiply``                   INTER_NEAREST         :func:`resize_nn`
``nearest`` + ``accumulate``                 INTER_NEAREST_EXACT   :func:`resize_nn_exact`
``triangle``                                 INTER_LINEAR          :func:`resize_linear`
``cubic`` (``cubic_a=-0.75``)                INTER_CUBIC (IPP off) :func:`resize_cubic`
``area``                                     INTER_AREA            :func:`resize_area`
``lanczos`` (``lobes=4``)                    INTER_LANCZOS4        :func:`resize_lanczos4`
=========================================== ===================== =====================

Conventions. Per axis ``s`` = source length, ``d`` = destination length; ``inv_scale = d/s`` and
``scale = 1/inv_scale`` are IEEE doubles computed exactly like ``cv::resize`` does (``scale`` is
*not* ``s/d``: it is the reciprocal of the rounded quotient). ``f32(x)`` = round x to IEEE
binary32 (numpy ``float32``); every float32 operation of OpenCV is done here with float32 numpy
arrays, one operation at a time, never fused (the wheel's kernels are compiled for SSE without
FMA). ``rint`` = round half to even (``cvRound``, ``saturate_cast`` from float). ``>>`` is an
arithmetic shift on C ``int`` (int32 here: numpy int32 wraps like the compiled code would, and
the bounds given in each docstring show that no sum reaches 2^31 anyway).

A separable interpolator is ``resizeGeneric_``: a horizontal pass ``HResize*`` over every source
row a destination row needs (rows are cached, so each is computed once; the result only depends
on the row), then a vertical pass ``VResize*`` per destination row. The per-axis tables are
:class:`~conformance.reference.resize.taps.AxisTaps` (tap indices already clamped to the
image, weights as OpenCV stores them: int16 for uint8 images, float32 for float32 images).

Images: uint8 (OpenCV's fixed-point paths, ``fixpt``) and float32 (its float paths: float weights,
float32 row buffers, the SIMD/scalar summation orders spelled out below); C = 1..4 channels.

IPP. The default wheel hands some cases to Intel IPP (closed source) through its ``ipp`` HAL:
uint8 INTER_CUBIC and float32 INTER_LINEAR / INTER_CUBIC. This module is OpenCV's own code, i.e.
what ``cv2.ipp.setUseIPP(False)`` computes; every other (mode, dtype) pair is the same with IPP on
or off. Measured against the IPP-on default (tests/test_resize_opencv.py): uint8 cubic at most
1 LSB off; float32 linear/cubic differ by float rounding (relative ~1e-5). INTER_LINEAR_EXACT and
the ``fx``/``fy`` form of cv2.resize are out of scope (the step always gives the output size, i.e.
``dsize``).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ...errors import SpecError, UnsupportedFeature
from .taps import AxisTaps, apply_taps

# ---------------------------------------------------------------------------------------------
# Named constants
# ---------------------------------------------------------------------------------------------

# Fixed-point weights of the uint8 interpolators (INTER_LINEAR, INTER_CUBIC, INTER_LANCZOS4 and
# the linear branch of INTER_AREA): a float weight w becomes the int16 rint(w * 2^11).
# Why 11 bits: the horizontal pass keeps sum(alpha * pixel) in an int32 "Q11" row buffer and the
# vertical pass multiplies it by another Q11 weight, giving Q22 (FixedPtCast<int, uchar, 22>).
# 22 fraction bits + 8 bits of pixel + the overshoot of the lobes must fit a C int: for
# INTER_LANCZOS4 the positive weights sum to at most 2780/2048 and the negative ones to 732/2048,
# so the worst vertical sum is 0.98 * 2^31 (12 bits would overflow). The weights also fit the
# int16 the SIMD kernels (madd_epi16 / mulhi_epi16) need.
INTER_RESIZE_COEF_BITS = 11
INTER_RESIZE_COEF_SCALE = 1 << INTER_RESIZE_COEF_BITS  # 2048

# The uint8 vertical cubic/lanczos passes drop 2 * 11 fraction bits with half-up rounding:
# (v + 2^21) >> 22 (FixedPtCast<int, uchar, INTER_RESIZE_COEF_BITS*2>).
FIXED_CAST_BITS = 2 * INTER_RESIZE_COEF_BITS  # 22

# VResizeLinear<uchar, int, short, ...> (notes §1.3): the Q11 row values (<= 2048*255 < 2^19) are
# shifted right by 4 so they fit an int16 (<= 32640), multiplied by the Q11 int16 weight and only
# the high 16 bits of the 32-bit product are kept (_mm_mulhi_epi16; the scalar loop copies this):
# 11 + 11 - 4 - 16 = 2 fraction bits remain, rounded half up by (x + 2) >> 2.
LINEAR_ROW_SHIFT = 4
LINEAR_MULHI_SHIFT = 16
LINEAR_FINAL_SHIFT = 2

# VResizeCubicVec_32s8u converts the Q11 x Q11 products to float with this factor (exact power of
# two) and processes one SIMD register of int16 results at a time: 128-bit baseline -> 8 lanes.
CUBIC_VEC_SCALE = np.float32(1.0 / (INTER_RESIZE_COEF_SCALE * INTER_RESIZE_COEF_SCALE))  # 2^-22
CUBIC_VEC_LANES = 8  # VTraits<v_int16>::vlanes() for the wheel's 128-bit (SSE) baseline
FLOAT_VEC_LANES = 4  # VTraits<v_float32>::vlanes(): float32 SIMD loops of the float32 paths

# interpolateCubic: Keys' kernel with OpenCV's fixed A (float constant).
CUBIC_A = np.float32(-0.75)

# interpolateLanczos4: taps whose distance |u| is below this float threshold get the placeholder
# weight 1e30f (the one-hot case after normalisation, 5.x variant; notes §1.6).
LANCZOS4_EPS = np.float32(1e-6)
LANCZOS4_HUGE = np.float32(1e30)
LANCZOS4_S45 = 0.70710678118654752440084436210485  # sqrt(1/2) in double
# cs[j] = (cs_j0, cs_j1): sin(y0 + j·π/4)·(−1)^j = cs_j0·sin(y0) + cs_j1·cos(y0) (angle sum),
# so all eight taps need one sin/cos pair (see interpolate_lanczos4).
LANCZOS4_CS = ((1.0, 0.0), (-LANCZOS4_S45, -LANCZOS4_S45), (0.0, 1.0), (LANCZOS4_S45, -LANCZOS4_S45),
               (-1.0, 0.0), (LANCZOS4_S45, LANCZOS4_S45), (0.0, -1.0), (-LANCZOS4_S45, LANCZOS4_S45))

# computeResizeAreaTab: a partial cell of width <= 1e-3 source pixels is dropped (double test).
AREA_EPS = 1e-3

# The vertical passes run over blocks of output rows of about this many values (memory bound only:
# every output row is computed independently, as in OpenCV's parallel stripes).
V_CHUNK_VALUES = 1 << 20

# Channel counts this module accepts (cv2 itself accepts more, except INTER_AREA tables: cn <= 4).
MAX_CHANNELS = 4

F32 = np.float32


# ---------------------------------------------------------------------------------------------
# Entry point and knob validation
# ---------------------------------------------------------------------------------------------

# Knob values that describe OpenCV; ``arithmetic="opencv"`` fixes them (field -> (value, why)).
_FIXED_KNOBS = {
    "antialias": (False, "fixed-tap interpolators that do not widen the kernel on downscale; "
                         "INTER_AREA averages cells instead"),
    "border": ("clamp", "taps outside the image read the edge pixel"),
    "pass_order": ("hv", "rows first (HResize*), then columns (VResize*)"),
    "intermediate": ("exact", "unrounded int32/float32 row sums between the passes"),
    "rounding": ("half_even", "its final roundings are fixed per interpolation: cvRound, "
                              "(v + 2^21) >> 22, (v + 2) >> 2, see opencv.py"),
    "weights_dtype": ("float32", "interpolation weights computed in float32"),
    "output_dtype": ("input", "cv2.resize returns the input's depth"),
}
_OPENCV_FILTERS = ("nearest", "triangle", "cubic", "area", "lanczos")


def check_opencv_step(step) -> None:
    """Raise :class:`SpecError` unless ``step`` asks for something cv2.resize computes.

    ``arithmetic="opencv"`` means "exactly what OpenCV 5.0 does", so every knob must hold the value
    that describes OpenCV (the ``opencv.*`` presets): ``antialias=False``, ``border="clamp"``,
    ``pass_order="hv"``, ``intermediate="exact"``, ``rounding="half_even"``,
    ``weights_dtype="float32"``, ``coords="half_pixel"`` (all filters but nearest), ``cubic_a=-0.75``
    (cubic), ``lobes=4`` (lanczos), ``nearest_index`` ``multiply`` or ``accumulate`` (nearest).
    Ignored because OpenCV has no counterpart: ``window`` (each interpolation has a fixed tap
    set), ``nearest_rounding`` (the nearest rule is fixed by ``nearest_index``), ``coords`` for
    nearest (``multiply`` is floor(i·s/d), ``accumulate`` the half-pixel accumulation).
    """
    if step.arithmetic != "opencv":
        raise SpecError(f"resize_opencv models arithmetic='opencv' only; the step asks "
                        f"arithmetic={step.arithmetic!r}", field="arithmetic", value=step.arithmetic)
    f = step.filter
    if f not in _OPENCV_FILTERS:
        raise SpecError(f"OpenCV has no {f!r} interpolation (it has nearest, triangle=INTER_LINEAR, "
                        f"cubic, area, lanczos with lobes=4); use arithmetic='float64' for {f!r}",
                        field="filter", value=f)
    problems: list[tuple[str, object, str]] = []
    for name, (want, why) in _FIXED_KNOBS.items():
        got = getattr(step, name)
        if got != want:
            problems.append((name, got, f"OpenCV uses {name}={want!r} ({why}); the step asks "
                                        f"{name}={got!r}"))
    if f != "nearest" and step.coords != "half_pixel":
        problems.append(("coords", step.coords,
                         "OpenCV uses coords='half_pixel' (output i samples (i+0.5)·s/d − 0.5); the "
                         f"step asks coords={step.coords!r}"))
    if f == "cubic" and step.cubic_a != -0.75:
        problems.append(("cubic_a", step.cubic_a,
                         f"OpenCV INTER_CUBIC uses a=-0.75; the step asks cubic_a={step.cubic_a!r}"))
    if f == "lanczos" and step.lobes != 4:
        problems.append(("lobes", step.lobes,
                         f"OpenCV's only Lanczos is INTER_LANCZOS4 (lobes=4); the step asks "
                         f"lobes={step.lobes!r}"))
    if f == "nearest" and step.nearest_index not in ("multiply", "accumulate"):
        problems.append(("nearest_index", step.nearest_index,
                         "OpenCV's nearest is nearest_index='multiply' (INTER_NEAREST) or 'accumulate' "
                         f"(INTER_NEAREST_EXACT); the step asks nearest_index={step.nearest_index!r}"))
    if problems:
        field, value, _ = problems[0]
        raise SpecError("; ".join(p[2] for p in problems)
                        + ": use arithmetic='float64' (or another arithmetic) for other values",
                        field=field, value=value)


def resize_opencv(image: np.ndarray, out_h: int, out_w: int, step) -> np.ndarray:
    """``cv2.resize(image, dsize=(out_w, out_h), interpolation=flag)`` for an (H, W, C) array.

    ``image``: uint8 or float32, C = 1..4 channels (gray, BGR/RGB, BGRA/RGBA: OpenCV treats
    channels independently, so their order does not matter). ``step``: a
    :class:`conformance.spec.Resize` with ``arithmetic="opencv"`` (see :func:`check_opencv_step`
    for the knob values it requires); ``step.filter`` (+ ``step.nearest_index``) picks the
    interpolation (:data:`INTERPOLATIONS`). Returns a new (out_h, out_w, C) array of the input dtype.

    ``cv::resize`` with ``dsize``: ``inv_scale_x = out_w / W`` and ``inv_scale_y = out_h / H`` in
    double; when the size does not change the image is copied (``src.copyTo(dst)``), whatever the
    interpolation.

    Raises :class:`SpecError` for knobs OpenCV does not implement, :class:`UnsupportedFeature` for
    other dtypes/channel counts, ``ValueError`` for a non-positive output size.
    """
    check_opencv_step(step)
    if image.ndim != 3 or not 1 <= image.shape[2] <= MAX_CHANNELS:
        raise UnsupportedFeature(f"expected an (H, W, C) array with C = 1..{MAX_CHANNELS}, got shape "
                                 f"{image.shape}", source="resize_opencv input")
    if image.dtype not in (np.uint8, np.float32):
        raise UnsupportedFeature(f"cv2.resize is modelled for uint8 and float32 images, got "
                                 f"{image.dtype}", source="resize_opencv input")
    out_h, out_w = operator.index(out_h), operator.index(out_w)
    if out_h < 1 or out_w < 1:
        raise ValueError(f"output size must be positive, got {out_h}x{out_w}")
    in_h, in_w = image.shape[:2]
    if (out_h, out_w) == (in_h, in_w):
        return image.copy()  # cv::resize: dsize == ssize -> src.copyTo(dst)
    return interpolation_for(step).resize(np.ascontiguousarray(image), out_h, out_w)


# ---------------------------------------------------------------------------------------------
# Scales (cv::resize / hal::resize)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AxisScale:
    """One axis of ``hal::resize``: ``inv_scale = d/s`` (double), ``scale = 1.0/inv_scale``.

    ``iscale = saturate_cast<int>(scale)`` (cvRound) and ``is_integer``: |scale − iscale| <
    DBL_EPSILON. With ``dsize`` given this holds exactly when s is a multiple of d.
    """

    s: int
    d: int

    @property
    def inv_scale(self) -> float:
        return self.d / self.s

    @property
    def scale(self) -> float:
        return 1.0 / self.inv_scale

    @property
    def iscale(self) -> int:
        return int(np.rint(self.scale))

    @property
    def is_integer(self) -> bool:
        return abs(self.scale - self.iscale) < np.finfo(np.float64).eps


# ---------------------------------------------------------------------------------------------
# INTER_NEAREST and INTER_NEAREST_EXACT: pure index selection (any dtype)
# ---------------------------------------------------------------------------------------------


def nn_index(s: int, d: int) -> np.ndarray:
    """``resizeNN`` source index of each output i: ``min(floor(i · (1.0/inv_scale)), s − 1)``.

    ``ifx = 1./fx`` with ``fx = inv_scale = d/s``, both in double (two roundings; no half-pixel
    offset, so the picked pixel is the left/top one of its cell). Notes §1.1.
    """
    ifx = 1.0 / (d / s)
    i = np.arange(d, dtype=np.float64)
    return np.minimum(np.floor(i * ifx).astype(np.int64), s - 1)


def nn_exact_index(s: int, d: int) -> np.ndarray:
    """``resizeNN_bitexact`` (5.x) source index: Pillow-style accumulation in double.

    ``q = s/d``; ``f_0 = q·0.5``; ``f_{i+1} = f_i + q`` (each addition rounded to double);
    ``idx(i) = min(floor(f_i), s − 1)``. np.cumsum adds sequentially, exactly this recurrence.
    (The 16.16 fixed-point form of the 4.x source is *not* what 5.0.0 computes; notes §1.2.)
    """
    q = s / d
    steps = np.full(d, q, dtype=np.float64)
    steps[0] = q * 0.5
    f = np.cumsum(steps)
    return np.minimum(np.floor(f).astype(np.int64), s - 1)


def resize_nn(src: np.ndarray, dh: int, dw: int) -> np.ndarray:
    """INTER_NEAREST: ``dst[y, x] = src[nn_index(H, dh)[y], nn_index(W, dw)[x]]``."""
    return src[nn_index(src.shape[0], dh)][:, nn_index(src.shape[1], dw)]


def resize_nn_exact(src: np.ndarray, dh: int, dw: int) -> np.ndarray:
    """INTER_NEAREST_EXACT: ``dst[y, x] = src[nn_exact_index(H, dh)[y], nn_exact_index(W, dw)[x]]``."""
    return src[nn_exact_index(src.shape[0], dh)][:, nn_exact_index(src.shape[1], dw)]


# ---------------------------------------------------------------------------------------------
# Coordinates and weights of the separable interpolators
# ---------------------------------------------------------------------------------------------


def half_pixel_coords(ax: AxisScale) -> tuple[np.ndarray, np.ndarray]:
    """``(k, t)`` per output i (hal::resize table loop, non-area mode)::

        f = f32((i + 0.5)·scale − 0.5)      # double expression, one cast
        k = floor(f)                         # cvFloor
        t = f32(f − k)                       # float subtraction ("fx -= sx")

    ``t`` is in [0, 1]; it is exactly 1.0f when f is a tiny negative number (f + 1 rounds up).
    """
    i = np.arange(ax.d, dtype=np.float64)
    f = ((i + 0.5) * ax.scale - 0.5).astype(F32)
    k = np.floor(f)
    t = f - k  # float32 - float32 (k is an integer-valued float32: exact)
    return k.astype(np.int64), t


def area_mode_coords(ax: AxisScale) -> tuple[np.ndarray, np.ndarray]:
    """``(k, t)`` of INTER_AREA's linear branch (``area_mode`` in hal::resize; notes §1.4)::

        k = floor(i·scale)                           # double
        t = f32((i + 1) − (k + 1)·inv_scale)         # double expression, one cast
        t = 0 if t <= 0 else f32(t − floor(t))       # float

    i.e. output i covers source cell [i·scale, (i+1)·scale) and t is how far the cell's right
    edge reaches past pixel k's right edge, measured in output pixels.
    """
    i = np.arange(ax.d, dtype=np.float64)
    k = np.floor(i * ax.scale)
    t = ((i + 1) - (k + 1) * ax.inv_scale).astype(F32)
    t = np.where(t <= 0, F32(0), t - np.floor(t)).astype(F32)
    return k.astype(np.int64), t


def clamp_linear_x(k: np.ndarray, t: np.ndarray, s: int) -> tuple[np.ndarray, np.ndarray]:
    """Horizontal border rule of INTER_LINEAR (and INTER_AREA's linear branch), x axis only::

        k < 0      -> k = 0,     t = 0
        k >= s − 1 -> k = s − 1, t = 0

    (``if( sx < ksize2-1 ) ... fx = 0, sx = 0`` and ``if( sx >= src_width-1 ) ... fx = 0,
    sx = src_width-1``). The vertical axis is *not* clamped this way: its taps read clamped rows
    with the unclamped weights (notes §1.3).
    """
    low, high = k < 0, k >= s - 1
    k = np.where(low, 0, np.where(high, s - 1, k))
    t = np.where(low | high, F32(0), t).astype(F32)
    return k, t


def linear_coeffs(t: np.ndarray) -> np.ndarray:
    """``cbuf = (1 − t, t)`` in float32, shape (d, 2)."""
    return np.stack([F32(1) - t, t], axis=1).astype(F32)


def interpolate_cubic(t: np.ndarray) -> np.ndarray:
    """``interpolateCubic(x, coeffs)``, A = −0.75f, every operation in float32, left to right::

        c0 = ((A·(x+1) − 5A)·(x+1) + 8A)·(x+1) − 4A
        c1 = ((A+2)·x − (A+3))·x·x + 1
        c2 = ((A+2)·(1−x) − (A+3))·(1−x)·(1−x) + 1
        c3 = 1 − c0 − c1 − c2

    (5A = −3.75, 8A = −6, 4A = −3, A+2 = 1.25, A+3 = 2.25 are exact float constants.) Shape (d, 4).
    """
    x = t.astype(F32)
    a = CUBIC_A
    x1 = x + F32(1)
    c0 = ((a * x1 - F32(5) * a) * x1 + F32(8) * a) * x1 - F32(4) * a
    c1 = (((a + F32(2)) * x - (a + F32(3))) * x) * x + F32(1)
    y = F32(1) - x
    c2 = (((a + F32(2)) * y - (a + F32(3))) * y) * y + F32(1)
    c3 = ((F32(1) - c0) - c1) - c2
    return np.stack([c0, c1, c2, c3], axis=1).astype(F32)


def interpolate_lanczos4(t: np.ndarray) -> np.ndarray:
    """``interpolateLanczos4(x, coeffs)``, 5.x variant (notes §1.6). Shape (d, 8).

    Tap j (source pixel k − 3 + j) sits at distance u = x + 3 − j; its Lanczos-4 weight
    sinc(u)·sinc(u/4) is, with y = −u·π/4, proportional to sin(y)·sin(4y)/y². Since
    4y = 4·y0 + j·π, sin(4y) = (−1)^j·sin(4·y0) is one factor common to all taps (the final
    normalisation removes it), and sin(y) = sin(y0 + j·π/4) expands by the angle sum into
    cs_j0·sin(y0) + cs_j1·cos(y0) (the sign (−1)^j folded into the LANCZOS4_CS table)::

        y0 = −f32(x + 3)·π·0.25           (double)   s0 = sin(y0), c0 = cos(y0)   (C libm)
        for j in 0..7:
            u = f32(f32(x + 3) − j)
            if |u| >= 1e-6f:  y = −u·π·0.25 (double);  w_j = f32((cs_j0·s0 + cs_j1·c0) / (y·y))
            else:             w_j = 1e30f                # this tap is the sample itself
        sum = w_0 + ... + w_7               (float32, in order)
        w_j = f32(w_j · f32(1/sum))

    The placeholder 1e30f makes the normalised weights exactly one-hot. ``sin``/``cos`` are
    Python's ``math`` functions, i.e. the same C library the wheel calls (numpy's vectorised
    ``np.sin`` is a different implementation and may differ in the last bit).
    """
    x3 = t.astype(F32) + F32(3)
    y0 = (-x3).astype(np.float64) * math.pi * 0.25
    s0 = np.array([math.sin(v) for v in y0], dtype=np.float64)
    c0 = np.array([math.cos(v) for v in y0], dtype=np.float64)
    w = np.empty((t.shape[0], 8), dtype=F32)
    total = np.zeros(t.shape[0], dtype=F32)
    for j, (cs0, cs1) in enumerate(LANCZOS4_CS):
        u = x3 - F32(j)
        y = (-u).astype(np.float64) * math.pi * 0.25
        with np.errstate(divide="ignore", invalid="ignore"):
            wj = ((cs0 * s0 + cs1 * c0) / (y * y)).astype(F32)
        wj = np.where(np.abs(u) >= LANCZOS4_EPS, wj, LANCZOS4_HUGE).astype(F32)
        w[:, j] = wj
        total = total + wj
    inv = F32(1) / total
    return (w * inv[:, None]).astype(F32)


def fixed_weights(coeffs: np.ndarray) -> np.ndarray:
    """``saturate_cast<short>(cbuf[k]·INTER_RESIZE_COEF_SCALE)``: rint(f32(w·2048)) as int16.

    The multiplication by 2^11 is exact in float32; rint is half to even (cvRound).
    """
    return np.rint(coeffs.astype(F32) * F32(INTER_RESIZE_COEF_SCALE)).astype(np.int16)


def tap_table(k: np.ndarray, weights: np.ndarray, s: int) -> AxisTaps:
    """Taps ``k − ksize/2 + 1 + j`` (j = 0..ksize−1) clamped to 0..s−1 (replicate), with ``weights``.

    Clamping the index is what OpenCV does on both axes (``clip(sy0 − ksize2 + 1 + k, 0, H)`` for
    rows, the ``while (sxj < 0) sxj += cn`` loops of HResizeCubic/Lanczos4 for columns); for the
    x axis of INTER_LINEAR ``k`` is already clamped (:func:`clamp_linear_x`) and a tap past the edge
    has weight 0.
    """
    n = weights.shape[1]
    j = np.arange(n) - (n // 2 - 1)
    index = np.clip(k[:, None] + j[None, :], 0, s - 1)
    return AxisTaps(index=index, weight=weights, src_len=s)


# ---------------------------------------------------------------------------------------------
# The two passes of resizeGeneric_
# ---------------------------------------------------------------------------------------------


def hresize(rows: np.ndarray, xt: AxisTaps) -> np.ndarray:
    """``HResizeLinear`` / ``HResizeCubic`` / ``HResizeLanczos4``: one source row -> one buffer row.

    ``D[x, c] = Σ_j α[x, j] · S[index[x, j], c]`` over the taps in order j = 0..n−1
    (:func:`~conformance.reference.resize.taps.apply_taps` along x).
    uint8 rows, int16 α: int32 sums, exact (|D| <= 255·2780 < 2^20). float32 rows and α:
    float32, each product and each addition rounded, left to right (``S[sx−cn]·α0 + S[sx]·α1 +
    ...``; the border loops start from ``v = 0`` and add the taps in the same order, and 0 + p = p).
    ``rows`` is (R, W, C); the result is (R, dw, C).
    """
    acc_dtype = np.int32 if rows.dtype == np.uint8 else F32
    return apply_taps(rows, xt, axis=1, acc_dtype=acc_dtype)


def needed_rows(yt: AxisTaps) -> tuple[np.ndarray, np.ndarray]:
    """Source rows the vertical pass reads (each horizontally resized once, like OpenCV's row
    cache) and, for every tap, its position in that list."""
    uniq, pos = np.unique(yt.index, return_inverse=True)
    return uniq, pos.reshape(yt.index.shape)


def resize_generic(src: np.ndarray, xt: AxisTaps, yt: AxisTaps,
                   vresize: Callable[[list[np.ndarray], np.ndarray], np.ndarray]) -> np.ndarray:
    """``resizeGeneric_``: horizontal pass on the needed source rows, then ``vresize`` per row.

    ``vresize(buffers, beta)`` receives, for tap j, the (dh, dw, C) buffer rows ``buffers[j]``
    read by every output row, and the (dh, n) vertical weights.
    """
    uniq, pos = needed_rows(yt)
    hbuf = hresize(src[uniq], xt)
    dh, (_, dw, cn) = yt.dst_len, hbuf.shape
    out = np.empty((dh, dw, cn), dtype=src.dtype)
    step = max(1, V_CHUNK_VALUES // (dw * cn))  # output rows per chunk (bounds memory only)
    for r0 in range(0, dh, step):
        r1 = min(dh, r0 + step)
        buffers = [hbuf[pos[r0:r1, j]] for j in range(yt.index.shape[1])]
        out[r0:r1] = vresize(buffers, yt.weight[r0:r1])
    return out


def _col(beta: np.ndarray, j: int) -> np.ndarray:
    """Vertical weight of tap j as a (dh, 1, 1) column for broadcasting over a row."""
    return beta[:, j][:, None, None]


def vresize_linear_8u(buffers: list[np.ndarray], beta: np.ndarray) -> np.ndarray:
    """``VResizeLinear<uchar, int, short, FixedPtCast<int,uchar,22>, VResizeLinearVec_32s8u>``::

        dst = (((b0·(H0 >> 4)) >> 16) + ((b1·(H1 >> 4)) >> 16) + 2) >> 2

    H are the Q11 int32 row buffers, b the Q11 int16 weights (see LINEAR_* constants for the why).
    Both products are < 2048·32640 < 2^31. The result is within 0..255 because b0 + b1 = 2048;
    ``uchar(...)`` is a plain cast, like ``astype(np.uint8)``.
    """
    h0, h1 = buffers
    b0, b1 = _col(beta, 0).astype(np.int32), _col(beta, 1).astype(np.int32)
    v = (((b0 * (h0 >> LINEAR_ROW_SHIFT)) >> LINEAR_MULHI_SHIFT)
         + ((b1 * (h1 >> LINEAR_ROW_SHIFT)) >> LINEAR_MULHI_SHIFT))
    return ((v + (1 << (LINEAR_FINAL_SHIFT - 1))) >> LINEAR_FINAL_SHIFT).astype(np.uint8)


def fixed_pt_cast_8u(acc: np.ndarray) -> np.ndarray:
    """``FixedPtCast<int, uchar, 22>``: sat8((v + 2^21) >> 22) (round half up, then saturate)."""
    v = (acc + np.int32(1 << (FIXED_CAST_BITS - 1))) >> FIXED_CAST_BITS
    return np.clip(v, 0, 255).astype(np.uint8)


def sat8_rint(v: np.ndarray) -> np.ndarray:
    """``saturate_cast<uchar>(float)``: rint (half to even, cvRound), then clamp to 0..255."""
    return np.clip(np.rint(v), 0, 255).astype(np.uint8)


def vresize_cubic_8u(buffers: list[np.ndarray], beta: np.ndarray) -> np.ndarray:
    """``VResizeCubic<uchar, int, short, FixedPtCast<int,uchar,22>, VResizeCubicVec_32s8u>`` (notes §1.5).

    Each output row is a flat run of n = dw·C values. The SIMD part handles the first
    ``8·floor(n/8)`` of them in float32::

        b'_j = f32(β_j)·2^-22                       (exact)
        v = H0·b'0 + (H1·b'1 + (H2·b'2 + H3·b'3))   (v_muladd without FMA: each op rounded)
        dst = sat8(rint(v))

    and the scalar tail (the last n mod 8 values) uses the integer formula::

        dst = sat8((H0·β0 + H1·β1 + H2·β2 + H3·β3 + 2^21) >> 22)

    Worst case of the int32 sum: 0.72·2^31 (weights: positive sum <= 2432, negative <= 384;
    tests/test_resize_opencv.py bounds it).
    """
    dh, dw, cn = buffers[0].shape
    n = dw * cn
    n_vec = (n // CUBIC_VEC_LANES) * CUBIC_VEC_LANES
    flat = [b.reshape(dh, n) for b in buffers]
    out = np.empty((dh, n), dtype=np.uint8)
    if n_vec:
        bf = [(beta[:, j].astype(F32) * CUBIC_VEC_SCALE)[:, None] for j in range(4)]
        hf = [h[:, :n_vec].astype(F32) for h in flat]
        v = hf[0] * bf[0] + (hf[1] * bf[1] + (hf[2] * bf[2] + hf[3] * bf[3]))
        out[:, :n_vec] = sat8_rint(v)
    if n_vec < n:
        acc = sum(flat[j][:, n_vec:] * beta[:, j][:, None].astype(np.int32) for j in range(4))
        out[:, n_vec:] = fixed_pt_cast_8u(acc)
    return out.reshape(dh, dw, cn)


def vresize_lanczos4_8u(buffers: list[np.ndarray], beta: np.ndarray) -> np.ndarray:
    """``VResizeLanczos4<uchar, int, short, FixedPtCast<int,uchar,22>, VResizeNoVec>``::

        dst = sat8((Σ_{j=0..7} H_j·β_j + 2^21) >> 22)

    All integer (no SIMD variant for 8u), so the order of the sum does not matter. Worst case of
    the int32 sum: 0.98·2^31 (positive weights sum to <= 2780, negative to <= 732), so no overflow.
    """
    acc = sum(buffers[j] * _col(beta, j).astype(np.int32) for j in range(8))
    return fixed_pt_cast_8u(acc)


# float32 images: the same passes with float weights (HResize*/VResize*<float, float, float>)


def vresize_linear_32f(buffers: list[np.ndarray], beta: np.ndarray) -> np.ndarray:
    """``VResizeLinear<float, float, float, Cast<float,float>, VResizeLinearVec_32f>``::

        dst = S0·b0 + S1·b1                     (float32; SIMD v_muladd(S0, b0, S1·b1), no FMA)

    The scalar tail computes the same expression in the same order.
    """
    h0, h1 = buffers
    return h0 * _col(beta, 0) + h1 * _col(beta, 1)


def _vec_split(n: int) -> int:
    """Values of a flat output row handled by a float32 SIMD loop: 4·floor(n/4) (4 float lanes
    in the 128-bit baseline); the rest go through the scalar loop."""
    return (n // FLOAT_VEC_LANES) * FLOAT_VEC_LANES


def _vresize_float_nested_then_sequential(buffers: list[np.ndarray], beta: np.ndarray) -> np.ndarray:
    """Float32 vertical pass of ``VResizeCubic``/``VResizeLanczos4`` on float images.

    SIMD part (``VResizeCubicVec_32f`` / ``VResizeLanczos4Vec_32f``: nested v_muladd, innermost
    first), first 4·floor(n/4) values of each flat row of n = dw·C values::

        v = S0·b0 + (S1·b1 + (S2·b2 + ... + (S_{m−2}·b_{m−2} + S_{m−1}·b_{m−1})))

    scalar tail, left to right: ``v = ((S0·b0 + S1·b1) + S2·b2) + ...``.
    """
    dh, dw, cn = buffers[0].shape
    n = dw * cn
    n_vec = _vec_split(n)
    flat = [b.reshape(dh, n) for b in buffers]
    b = [beta[:, j][:, None].astype(F32) for j in range(len(buffers))]
    out = np.empty((dh, n), dtype=F32)
    m = len(buffers)
    if n_vec:
        acc = flat[m - 1][:, :n_vec] * b[m - 1]
        for j in range(m - 2, -1, -1):
            acc = flat[j][:, :n_vec] * b[j] + acc
        out[:, :n_vec] = acc
    if n_vec < n:
        acc = flat[0][:, n_vec:] * b[0]
        for j in range(1, m):
            acc = acc + flat[j][:, n_vec:] * b[j]
        out[:, n_vec:] = acc
    return out.reshape(dh, dw, cn)


def vresize_cubic_32f(buffers: list[np.ndarray], beta: np.ndarray) -> np.ndarray:
    """``VResizeCubic<float, float, float, Cast<float,float>, VResizeCubicVec_32f>``: SIMD part
    ``S0·b0 + (S1·b1 + (S2·b2 + S3·b3))``, scalar tail ``((S0·b0 + S1·b1) + S2·b2) + S3·b3``."""
    return _vresize_float_nested_then_sequential(buffers, beta)


def vresize_lanczos4_32f(buffers: list[np.ndarray], beta: np.ndarray) -> np.ndarray:
    """``VResizeLanczos4<float, ..., VResizeLanczos4Vec_32f>``: SIMD part
    ``S0·b0 + (S1·b1 + (... + S7·b7))``, scalar tail left to right."""
    return _vresize_float_nested_then_sequential(buffers, beta)


# ---------------------------------------------------------------------------------------------
# The separable interpolators
# ---------------------------------------------------------------------------------------------


def _weights(coeffs: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """uint8 images use the int16 Q11 weights (``fixpt``), float32 images the float weights."""
    return fixed_weights(coeffs) if dtype == np.uint8 else coeffs.astype(F32)


def _linear_taps(src: np.ndarray, ax_y: AxisScale, ax_x: AxisScale, area_mode: bool):
    coords = area_mode_coords if area_mode else half_pixel_coords
    kx, tx = coords(ax_x)
    kx, tx = clamp_linear_x(kx, tx, ax_x.s)
    ky, ty = coords(ax_y)
    xt = tap_table(kx, _weights(linear_coeffs(tx), src.dtype), ax_x.s)
    yt = tap_table(ky, _weights(linear_coeffs(ty), src.dtype), ax_y.s)
    return xt, yt


def resize_linear(src: np.ndarray, dh: int, dw: int) -> np.ndarray:
    """INTER_LINEAR (``resizeGeneric_`` + ``HResizeLinear`` + ``VResizeLinear``; notes §1.3).

    Per axis (k, t) from :func:`half_pixel_coords`; x clamped by :func:`clamp_linear_x`, y not.
    Weights (1 − t, t), for uint8 as int16 Q11 (:func:`fixed_weights`)::

        H[x] = w0·S[k] + w1·S[min(k+1, W−1)]                     int32, Q11, not rounded
        dst  = (((b0·(H[r0] >> 4)) >> 16) + ((b1·(H[r1] >> 4)) >> 16) + 2) >> 2
               r0 = clamp(k), r1 = clamp(k+1)

    Exact 2x downscale on both axes is switched to INTER_AREA by ``hal::resize`` (for uint8 with
    C in {1, 3, 4} both give (a+b+c+d+2) >> 2; for C = 2 area rounds half to even).
    """
    ax_y, ax_x = AxisScale(src.shape[0], dh), AxisScale(src.shape[1], dw)
    if ax_x.is_integer and ax_y.is_integer and ax_x.iscale == 2 and ax_y.iscale == 2:
        return resize_area(src, dh, dw)  # "INTER_AREA (fast) also is equal to INTER_LINEAR"
    xt, yt = _linear_taps(src, ax_y, ax_x, area_mode=False)
    v = vresize_linear_8u if src.dtype == np.uint8 else vresize_linear_32f
    return resize_generic(src, xt, yt, v)


def resize_cubic(src: np.ndarray, dh: int, dw: int) -> np.ndarray:
    """INTER_CUBIC with OpenCV's own code (IPP off; notes §1.5).

    (k, t) from :func:`half_pixel_coords` on both axes, *not* clamped; taps k−1..k+2 replicate the
    border; weights :func:`interpolate_cubic` (uint8: int16 Q11). Horizontal int32 sums, vertical
    :func:`vresize_cubic_8u` (float32 SIMD part + integer tail).
    """
    ax_y, ax_x = AxisScale(src.shape[0], dh), AxisScale(src.shape[1], dw)
    kx, tx = half_pixel_coords(ax_x)
    ky, ty = half_pixel_coords(ax_y)
    xt = tap_table(kx, _weights(interpolate_cubic(tx), src.dtype), ax_x.s)
    yt = tap_table(ky, _weights(interpolate_cubic(ty), src.dtype), ax_y.s)
    v = vresize_cubic_8u if src.dtype == np.uint8 else vresize_cubic_32f
    return resize_generic(src, xt, yt, v)


def resize_lanczos4(src: np.ndarray, dh: int, dw: int) -> np.ndarray:
    """INTER_LANCZOS4 (notes §1.6): as INTER_CUBIC with 8 taps k−3..k+4 and
    :func:`interpolate_lanczos4` weights; both passes integer for uint8 (:func:`vresize_lanczos4_8u`)."""
    ax_y, ax_x = AxisScale(src.shape[0], dh), AxisScale(src.shape[1], dw)
    kx, tx = half_pixel_coords(ax_x)
    ky, ty = half_pixel_coords(ax_y)
    xt = tap_table(kx, _weights(interpolate_lanczos4(tx), src.dtype), ax_x.s)
    yt = tap_table(ky, _weights(interpolate_lanczos4(ty), src.dtype), ax_y.s)
    v = vresize_lanczos4_8u if src.dtype == np.uint8 else vresize_lanczos4_32f
    return resize_generic(src, xt, yt, v)


# ---------------------------------------------------------------------------------------------
# INTER_AREA
# ---------------------------------------------------------------------------------------------


def resize_area(src: np.ndarray, dh: int, dw: int) -> np.ndarray:
    """INTER_AREA dispatch of ``hal::resize`` (notes §1.4):

    - ``scale_x >= 1 and scale_y >= 1`` (no axis grows):
      - both scales integers: :func:`resize_area_fast` (``resizeAreaFast_``),
      - else the cell tables :func:`compute_resize_area_tab` + :func:`resize_area_tables`
        (``ResizeArea_Invoker``);
    - otherwise (some axis grows): the INTER_LINEAR machinery with :func:`area_mode_coords` on
      *both* axes (:func:`resize_area_linear`).
    """
    ax_y, ax_x = AxisScale(src.shape[0], dh), AxisScale(src.shape[1], dw)
    if ax_x.scale >= 1 and ax_y.scale >= 1:
        if ax_x.is_integer and ax_y.is_integer:
            return resize_area_fast(src, ax_y.iscale, ax_x.iscale, dh, dw)
        return resize_area_tables(src, compute_resize_area_tab(ax_x), compute_resize_area_tab(ax_y))
    return resize_area_linear(src, dh, dw)


def resize_area_fast(src: np.ndarray, iy: int, ix: int, dh: int, dw: int) -> np.ndarray:
    """``resizeAreaFast_``: average of each iy × ix block (integer factors).

    uint8: the block sum is an int; for 2×2 blocks with C in {1, 3, 4} the SIMD kernel
    (``ResizeAreaFastVec``, fast_mode) computes ``(a + b + c + d + 2) >> 2`` (half up); every other
    block size (and C = 2) computes ``saturate_cast<uchar>(sum · scale)`` with
    ``scale = 1.f/(ix·iy)``, i.e. sat8(rint(f32(f32(sum)·f32(1/area)))).
    float32: :func:`area_fast_32f`. With ``dsize`` given, s = iscale·d exactly, so there are no
    partial blocks (and no ``(float)sum/count`` branch).
    """
    cn = src.shape[2]
    area = ix * iy
    blocks = src[:dh * iy, :dw * ix].reshape(dh, iy, dw, ix, cn)
    if src.dtype == np.uint8:
        total = blocks.astype(np.int32).sum(axis=(1, 3))
        if ix == 2 and iy == 2 and cn in (1, 3, 4):
            return ((total + 2) >> 2).astype(np.uint8)
        return sat8_rint(total.astype(F32) * (F32(1) / F32(area)))
    return area_fast_32f(blocks, area)


def compute_resize_area_tab(ax: AxisScale) -> AxisTaps:
    """``computeResizeAreaTab``: the source pixels each output cell covers and their weights.

    Per output i, all in double::

        fsx1 = i·scale;  fsx2 = fsx1 + scale;  cellWidth = min(scale, s − fsx1)
        sx1 = ceil(fsx1);  sx2 = min(floor(fsx2), s − 1);  sx1 = min(sx1, sx2)
        if sx1 − fsx1 > 1e-3:  pixel sx1 − 1, weight f32((sx1 − fsx1)/cellWidth)      (left part)
        pixels sx1 .. sx2 − 1, weight f32(1/cellWidth)                                  (whole ones)
        if fsx2 − sx2 > 1e-3:  pixel sx2, weight f32(min(fsx2 − sx2, 1, cellWidth)/cellWidth)

    The taps keep this order (it is the float32 summation order). Rows with fewer taps are padded
    with weight 0 at their last pixel (adding 0 leaves a float32 sum unchanged).
    """
    scale, s = ax.scale, ax.s
    rows: list[list[tuple[int, float]]] = []
    for i in range(ax.d):
        fsx1 = i * scale
        fsx2 = fsx1 + scale
        cell_width = min(scale, s - fsx1)
        sx1, sx2 = math.ceil(fsx1), math.floor(fsx2)
        sx2 = min(sx2, s - 1)
        sx1 = min(sx1, sx2)
        taps: list[tuple[int, float]] = []
        if sx1 - fsx1 > AREA_EPS:
            taps.append((sx1 - 1, (sx1 - fsx1) / cell_width))
        for sx in range(sx1, sx2):
            taps.append((sx, 1.0 / cell_width))
        if fsx2 - sx2 > AREA_EPS:
            taps.append((sx2, min(min(fsx2 - sx2, 1.0), cell_width) / cell_width))
        rows.append(taps)
    n = max(len(r) for r in rows)
    index = np.zeros((ax.d, n), dtype=np.int64)
    weight = np.zeros((ax.d, n), dtype=F32)  # (float) cast of each double weight
    for i, taps in enumerate(rows):
        for j, (sx, w) in enumerate(taps):
            index[i, j], weight[i, j] = sx, w
        index[i, len(taps):] = taps[-1][0]
    return AxisTaps(index=index, weight=weight, src_len=ax.s)


def resize_area_tables(src: np.ndarray, xt: AxisTaps, yt: AxisTaps) -> np.ndarray:
    """``ResizeArea_Invoker`` (non-integer downscale), float32 throughout::

        buf[x] = Σ_k f32(S[sx_k]·α_k)          per source row, taps left -> right, from 0
        sum[x] = Σ_j f32(β_j·buf_j[x])          per output row, source rows top -> bottom, from 0
        dst    = saturate_cast<T>(sum)          uint8: sat8(rint(sum)); float32: sum

    Every source row is used by at least one output row, so all rows are resized horizontally.
    """
    buf = apply_taps(src, xt, axis=1, acc_dtype=F32)    # rows: (H, dw, C)
    acc = apply_taps(buf, yt, axis=0, acc_dtype=F32)    # columns: (dh, dw, C)
    return sat8_rint(acc) if src.dtype == np.uint8 else acc


def resize_area_linear(src: np.ndarray, dh: int, dw: int) -> np.ndarray:
    """INTER_AREA when an axis grows: INTER_LINEAR's passes (same 11-bit weights, same
    ``>>4``/``>>16``/``(x+2)>>2`` vertical formula, same x clamp) with :func:`area_mode_coords`
    on both axes."""
    ax_y, ax_x = AxisScale(src.shape[0], dh), AxisScale(src.shape[1], dw)
    xt, yt = _linear_taps(src, ax_y, ax_x, area_mode=True)
    v = vresize_linear_8u if src.dtype == np.uint8 else vresize_linear_32f
    return resize_generic(src, xt, yt, v)


def area_fast_32f(blocks: np.ndarray, area: int) -> np.ndarray:
    """``resizeAreaFast_<float, float, ResizeAreaFastVec_SIMD_32f>``: block mean in float32.

    Scalar loop (``CV_ENABLE_UNROLLED``): the block values v_0..v_{area−1} in row-major block order
    (``ofs[k]``) are summed four at a time::

        sum = 0;  sum += ((v0 + v1) + v2) + v3;  sum += ((v4 + v5) + v6) + v7;  ...;  sum += v_k (rest)
        dst = sum · f32(1/area)

    SIMD part, 2×2 blocks with C in {1, 4} only (``fast_mode``): ``dst = ((a + b) + (c + d))·0.25``
    (a, b the top pair, c, d the bottom pair) for the first 4·floor(dw·C/4) values of a row (C = 1:
    four pixels per step; C = 4: one pixel per step, so the whole row); the rest is scalar.
    """
    dh, iy, dw, ix, cn = blocks.shape
    vals = [blocks[:, sy, :, sx, :] for sy in range(iy) for sx in range(ix)]  # ofs[] order
    acc = np.zeros((dh, dw, cn), dtype=F32)
    k = 0
    while k + 4 <= area:
        acc = acc + (((vals[k] + vals[k + 1]) + vals[k + 2]) + vals[k + 3])
        k += 4
    for v in vals[k:]:
        acc = acc + v
    out = acc * (F32(1) / F32(area))
    if ix == 2 and iy == 2 and cn in (1, 4):
        n = dw * cn
        n_vec = _vec_split(n)
        simd = ((vals[0] + vals[1]) + (vals[2] + vals[3])) * F32(0.25)
        out = out.reshape(dh, n)
        out[:, :n_vec] = simd.reshape(dh, n)[:, :n_vec]
        out = out.reshape(dh, dw, cn)
    return out


# ---------------------------------------------------------------------------------------------
# The table: step knobs -> OpenCV interpolation
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interpolation:
    """One OpenCV interpolation: its flag name, the ``cv2.INTER_*`` value, the taps per axis of its
    separable form (0: not a convolution; area: variable cells) and the function here."""

    flag: str
    code: int
    ksize: int
    resize: Callable[[np.ndarray, int, int], np.ndarray]


# (filter, nearest_index or None) -> interpolation; a port maps these rows 1:1.
INTERPOLATIONS: dict[tuple[str, str | None], Interpolation] = {
    ("nearest", "multiply"): Interpolation("INTER_NEAREST", 0, 0, resize_nn),
    ("nearest", "accumulate"): Interpolation("INTER_NEAREST_EXACT", 6, 0, resize_nn_exact),
    ("triangle", None): Interpolation("INTER_LINEAR", 1, 2, resize_linear),
    ("cubic", None): Interpolation("INTER_CUBIC", 2, 4, resize_cubic),  # OpenCV's code (IPP off)
    ("area", None): Interpolation("INTER_AREA", 3, 0, resize_area),
    ("lanczos", None): Interpolation("INTER_LANCZOS4", 4, 8, resize_lanczos4),
}


def interpolation_for(step) -> Interpolation:
    """The OpenCV interpolation a validated ``arithmetic="opencv"`` step asks for."""
    key = (step.filter, step.nearest_index if step.filter == "nearest" else None)
    return INTERPOLATIONS[key]
