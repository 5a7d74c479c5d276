"""Resampling kernels: small pure functions of the distance ``x`` plus one table.

A kernel ``K(x)`` gives the weight of a source pixel whose centre lies ``x`` source pixels (already
divided by the support scale, see :mod:`.convolution`) from the sampling position. Like Pillow's
``struct filter { double (*filter)(double x); double support; }`` (``src/libImaging/Resample.c``),
each kernel here is one pure function and one support radius, collected in :data:`KERNELS`.

Two arithmetic families exist, because the libraries evaluate the same kernel differently and the
last bit of a weight can move a rounded output by 1 LSB:

- ``float64``: every operation in IEEE binary64, written in the order of Pillow's ``Resample.c``
  (and fast_image_resize's ``convolution/filters.rs``, which copies it except for Hamming and adds
  Gaussian). ``sin``/``cos``/``exp`` are the C library's double functions; numpy's float64 ``sin``,
  ``cos`` and ``exp`` give the same bits as glibc's (asserted in tests/test_resize_kernels.py on
  ~110 000 arguments), so the vectorised code uses numpy.
- ``float32``: every operation rounded to IEEE binary32, in the order of the Rust ``image`` crate
  0.25 (``src/imageops/sample.rs``): ``f32`` arithmetic, ``powi`` as repeated multiplication, and
  ``sin``/``exp`` from the C library (``sinf``/``expf``, which Rust's ``f32::sin``/``f32::exp`` call
  on Linux). numpy's own float32 ``sin``/``exp`` differ from glibc in the last bit for a sizeable
  fraction of arguments, so :func:`sinf` and :func:`expf` call libm through ctypes.

Every function takes and returns an ndarray of its family's dtype and is elementwise; a port writes
the scalar body once.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ...errors import SpecError

F32 = np.float32
F64 = np.float64

# Pillow's Hamming constants are C float literals promoted to double: 0.54f = 0.540000021457672119…,
# 0.46f = 0.460000008344650269… (Resample.c hamming_filter). fast_image_resize uses the exact
# doubles 0.54 and 0.46 (filters.rs hamming_filter).
HAMMING_ALPHA_F32 = float(np.float32(0.54))
HAMMING_BETA_F32 = float(np.float32(0.46))
HAMMING_ALPHA_F64 = 0.54
HAMMING_BETA_F64 = 0.46

# Rust's f32::consts::PI = 3.14159274… (the binary32 nearest to pi).
PI_F32 = np.float32(math.pi)

# Gaussian of the image crate and fast_image_resize: standard deviation 0.5, support 3.
GAUSSIAN_SIGMA = 0.5


# --------------------------------------------------------------------------------------------
# C library float32 functions (glibc sinf/expf), elementwise
# --------------------------------------------------------------------------------------------

_LIBM = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
_LIBM.sinf.restype = ctypes.c_float
_LIBM.sinf.argtypes = [ctypes.c_float]
_LIBM.expf.restype = ctypes.c_float
_LIBM.expf.argtypes = [ctypes.c_float]


def _libm_f32(fn, x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=F32)
    flat = x.ravel()
    out = np.empty(flat.shape, dtype=F32)
    cache: dict[float, float] = {}
    for i, v in enumerate(flat.tolist()):
        r = cache.get(v)
        if r is None:
            r = cache[v] = fn(v)
        out[i] = r
    return out.reshape(x.shape)


def sinf(x: np.ndarray) -> np.ndarray:
    """C ``sinf`` of a float32 array (what Rust's ``f32::sin`` calls on Linux/glibc)."""
    return _libm_f32(_LIBM.sinf, x)


def expf(x: np.ndarray) -> np.ndarray:
    """C ``expf`` of a float32 array (what Rust's ``f32::exp`` calls on Linux/glibc)."""
    return _libm_f32(_LIBM.expf, x)


# --------------------------------------------------------------------------------------------
# float64 kernels (Pillow Resample.c; fast_image_resize filters.rs)
# --------------------------------------------------------------------------------------------


def box_f64(x: np.ndarray) -> np.ndarray:
    """Pillow ``box_filter``: 1 on (-0.5, 0.5], else 0 (the half-open side picks one pixel on a tie)."""
    return np.where((x > -0.5) & (x <= 0.5), 1.0, 0.0)


def triangle_f64(x: np.ndarray) -> np.ndarray:
    """Pillow ``bilinear_filter``: max(0, 1 - |x|)."""
    ax = np.abs(x)
    return np.where(ax < 1.0, 1.0 - ax, 0.0)


def hamming_f64_pillow(x: np.ndarray) -> np.ndarray:
    """Pillow ``hamming_filter``: |x| = 0 -> 1; |x| >= 1 -> 0; else with t = |x|·pi:
    ``sin(t) / t * (0.54f + 0.46f * cos(t))`` (float constants promoted to double)."""
    ax = np.abs(x)
    t = ax * math.pi
    with np.errstate(invalid="ignore", divide="ignore"):
        v = np.sin(t) / t * (HAMMING_ALPHA_F32 + HAMMING_BETA_F32 * np.cos(t))
    return np.where(ax == 0.0, 1.0, np.where(ax >= 1.0, 0.0, v))


def hamming_f64_fir(x: np.ndarray) -> np.ndarray:
    """fast_image_resize ``hamming_filter``: as Pillow's but double constants and the order
    ``(0.54 + 0.46 * cos(t)) * sin(t) / t``."""
    ax = np.abs(x)
    t = ax * math.pi
    with np.errstate(invalid="ignore", divide="ignore"):
        v = (HAMMING_ALPHA_F64 + HAMMING_BETA_F64 * np.cos(t)) * np.sin(t) / t
    return np.where(ax == 0.0, 1.0, np.where(ax >= 1.0, 0.0, v))


def cubic_f64(x: np.ndarray, a: float) -> np.ndarray:
    """Pillow ``bicubic_filter`` (Keys), u = |x|:
    u < 1: ``((a + 2) u - (a + 3)) u u + 1``; u < 2: ``(((u - 5) u + 8) u - 4) a``; else 0."""
    u = np.abs(x)
    inner = ((a + 2.0) * u - (a + 3.0)) * u * u + 1.0
    outer = (((u - 5.0) * u + 8.0) * u - 4.0) * a
    return np.where(u < 1.0, inner, np.where(u < 2.0, outer, 0.0))


def _sinc_f64(x: np.ndarray) -> np.ndarray:
    """Pillow ``sinc_filter``: x = 0 -> 1, else sin(x·pi) / (x·pi)."""
    t = x * math.pi
    with np.errstate(invalid="ignore", divide="ignore"):
        v = np.sin(t) / t
    return np.where(x == 0.0, 1.0, v)


def lanczos_f64(x: np.ndarray, lobes: int) -> np.ndarray:
    """Pillow ``lanczos_filter`` generalised to L lobes: -L <= x < L: sinc(x)·sinc(x / L), else 0
    (note the half-open interval, as Pillow's ``-3.0 <= x && x < 3.0``)."""
    v = _sinc_f64(x) * _sinc_f64(x / float(lobes))
    return np.where((x >= -lobes) & (x < lobes), v, 0.0)


def gaussian_f64(x: np.ndarray) -> np.ndarray:
    """fast_image_resize ``gaussian_filter``: -3 <= x < 3:
    ``(sqrt(2·pi)·r)^-1 · exp(-x² / (2·r²))`` with r = 0.5, else 0."""
    r = GAUSSIAN_SIGMA
    norm = 1.0 / (math.sqrt(2.0 * math.pi) * r)
    v = norm * libm_exp(-(x * x) / (2.0 * (r * r)))
    return np.where((x >= -3.0) & (x < 3.0), v, 0.0)


def libm_exp(a: np.ndarray) -> np.ndarray:
    """C libm ``exp`` (what fast_image_resize calls), element by element. Not ``np.exp``: on
    AVX-512 machines numpy dispatches exp to a SIMD routine that is up to 1 ulp off libm (9,192
    of 200,000 random arguments measured), which made the vectors depend on the CPU. The
    kernel is evaluated once per tap of a weight matrix, so a Python-level loop costs little."""
    a = np.asarray(a, dtype=F64)
    return np.fromiter((math.exp(v) for v in a.ravel().tolist()), dtype=F64, count=a.size).reshape(a.shape)


def one_f64(x: np.ndarray) -> np.ndarray:
    """Support-0 "nearest" kernel: weight 1 for the single tap the window selects."""
    return np.ones_like(x, dtype=F64)


# --------------------------------------------------------------------------------------------
# float32 kernels (Rust image 0.25 src/imageops/sample.rs); every operation rounded to binary32
# --------------------------------------------------------------------------------------------


def box_f32(x: np.ndarray) -> np.ndarray:
    """Box on (-0.5, 0.5] in float32 (no library pairs it with f32; defined for completeness)."""
    x = np.asarray(x, dtype=F32)
    return np.where((x > F32(-0.5)) & (x <= F32(0.5)), F32(1.0), F32(0.0)).astype(F32)


def triangle_f32(x: np.ndarray) -> np.ndarray:
    """image ``triangle_kernel``: |x| < 1 -> 1 - |x| (f32), else 0."""
    ax = np.abs(np.asarray(x, dtype=F32))
    return np.where(ax < F32(1.0), F32(1.0) - ax, F32(0.0)).astype(F32)


def cubic_f32(x: np.ndarray, a: float) -> np.ndarray:
    """image ``bc_cubic_spline(x, b, c)`` with b = 0, c = -a (CatmullRom: a = -0.5), all f32:
    u = |x|; u < 1: ``(P u³ + Q u²) + R``; u < 2: ``((S u³ + T u²) + U u) + V``; result / 6, with
    P = 12 - 9b - 6c, Q = -18 + 12b + 6c, R = 6 - 2b, S = -b - 6c, T = 6b + 30c, U = -12b - 48c,
    V = 8b + 24c, each evaluated left to right in f32; ``powi(3)`` = (u·u)·u."""
    b = F32(0.0)
    c = F32(-a)
    u = np.abs(np.asarray(x, dtype=F32))
    u2 = u * u
    u3 = u2 * u
    p = F32(12.0) - F32(9.0) * b - F32(6.0) * c
    q = F32(-18.0) + F32(12.0) * b + F32(6.0) * c
    r = F32(6.0) - F32(2.0) * b
    s = -b - F32(6.0) * c
    t = F32(6.0) * b + F32(30.0) * c
    uu = F32(-12.0) * b - F32(48.0) * c
    v = F32(8.0) * b + F32(24.0) * c
    inner = (p * u3 + q * u2) + r
    outer = ((s * u3 + t * u2) + uu * u) + v
    k = np.where(u < F32(1.0), inner, np.where(u < F32(2.0), outer, F32(0.0))).astype(F32)
    return (k / F32(6.0)).astype(F32)


def _sinc_f32(x: np.ndarray) -> np.ndarray:
    """image ``sinc``: t = x·PI_f32; x = 0 -> 1, else sinf(t) / t."""
    x = np.asarray(x, dtype=F32)
    t = x * PI_F32
    with np.errstate(invalid="ignore", divide="ignore"):
        v = sinf(t) / t
    return np.where(x == F32(0.0), F32(1.0), v).astype(F32)


def lanczos_f32(x: np.ndarray, lobes: int) -> np.ndarray:
    """image ``lanczos(x, t)``: |x| < t -> sinc(x)·sinc(x / t), else 0 (f32; symmetric interval)."""
    x = np.asarray(x, dtype=F32)
    t = F32(lobes)
    inside = np.abs(x) < t
    out = np.zeros(x.shape, dtype=F32)
    xi = x[inside]
    out[inside] = _sinc_f32(xi) * _sinc_f32(xi / t)
    return out


def gaussian_f32(x: np.ndarray) -> np.ndarray:
    """image ``gaussian(x, 0.5)``: ``((2·PI).sqrt()·r).recip() · (-x.powi(2) / (2·r.powi(2))).exp()``,
    every operation f32, ``exp`` = C ``expf``; no cut-off (the window bounds it)."""
    x = np.asarray(x, dtype=F32)
    r = F32(GAUSSIAN_SIGMA)
    norm = F32(1.0) / (np.sqrt(F32(2.0) * PI_F32) * r)
    arg = -(x * x) / (F32(2.0) * (r * r))
    return (norm * expf(arg)).astype(F32)


def one_f32(x: np.ndarray) -> np.ndarray:
    """image ``box_kernel`` as used by ``FilterType::Nearest`` (support 0): always 1."""
    return np.ones(np.shape(x), dtype=F32)


# --------------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KernelEntry:
    """One row of :data:`KERNELS`: the float64 and float32 functions (``None`` = not defined in that
    arithmetic) and the support radius at scale 1 (``None`` = ``lobes``)."""

    f64: Callable | None
    f32: Callable | None
    support: float | None
    params: tuple[str, ...] = ()  # knobs the functions take: "a" (cubic_a), "lobes"


KERNELS: dict[str, KernelEntry] = {
    # name        float64 (Pillow / fir)   float32 (image crate)   support
    "nearest": KernelEntry(one_f64, one_f32, 0.0),
    "box": KernelEntry(box_f64, box_f32, 0.5),
    "triangle": KernelEntry(triangle_f64, triangle_f32, 1.0),
    "hamming": KernelEntry(hamming_f64_pillow, None, 1.0),
    "cubic": KernelEntry(cubic_f64, cubic_f32, 2.0, ("a",)),
    "lanczos": KernelEntry(lanczos_f64, lanczos_f32, None, ("lobes",)),
    "gaussian": KernelEntry(gaussian_f64, gaussian_f32, 3.0),
}

# Hamming variants chosen by the ``hamming_constants`` knob (float64 arithmetic only).
HAMMING_F64 = {"float32": hamming_f64_pillow, "float64": hamming_f64_fir}


@dataclass(frozen=True)
class Kernel:
    """A kernel bound to its parameters: ``fn(x)`` in ``dtype`` and its ``support`` radius."""

    name: str
    fn: Callable[[np.ndarray], np.ndarray]
    support: float
    dtype: type


def make_kernel(name: str, *, dtype: str = "float64", cubic_a: float = -0.5, lobes: int = 3,
                hamming_constants: str = "float32") -> Kernel:
    """The kernel ``name`` from :data:`KERNELS` evaluated in ``dtype`` ("float64" or "float32").

    ``cubic_a``: Keys' a for ``cubic`` (Pillow/image -0.5). ``lobes``: Lanczos L (support = L).
    ``hamming_constants``: ``float32`` = Pillow's 0.54f/0.46f, ``float64`` = fast_image_resize's.
    Raises SpecError when the kernel has no definition in ``dtype``.
    """
    if name not in KERNELS:
        raise SpecError(f"filter {name!r} has no convolution kernel (area is OpenCV's own scheme, "
                        "use arithmetic='opencv')", field="filter", value=name)
    entry = KERNELS[name]
    base = entry.f64 if dtype == "float64" else entry.f32
    if name == "hamming" and dtype == "float64":
        base = HAMMING_F64[hamming_constants]
    if base is None:
        raise SpecError(f"filter {name!r} has no {dtype} definition (no library computes it so)",
                        field="weights_dtype", value=dtype)
    support = float(lobes) if entry.support is None else entry.support
    if "a" in entry.params:
        fn = lambda x, _f=base, _a=cubic_a: _f(x, _a)  # noqa: E731
    elif "lobes" in entry.params:
        fn = lambda x, _f=base, _l=lobes: _f(x, _l)  # noqa: E731
    else:
        fn = base
    return Kernel(name=name, fn=fn, support=support, dtype=F64 if dtype == "float64" else F32)


# --------------------------------------------------------------------------------------------
# Scalar definitions (the slow, obviously-correct form of the float64 kernels; tests prove the
# vectorised functions above equal to these on a grid). They use Python floats and math (libm).
# --------------------------------------------------------------------------------------------


def scalar_f64(name: str, x: float, *, cubic_a: float = -0.5, lobes: int = 3,
               hamming_constants: str = "float32") -> float:
    """Line-by-line transcription of Resample.c / filters.rs for one argument."""
    if name == "nearest":
        return 1.0
    if name == "box":
        return 1.0 if -0.5 < x <= 0.5 else 0.0
    if name == "triangle":
        x = -x if x < 0.0 else x
        return 1.0 - x if x < 1.0 else 0.0
    if name == "hamming":
        x = -x if x < 0.0 else x
        if x == 0.0:
            return 1.0
        if x >= 1.0:
            return 0.0
        x = x * math.pi
        if hamming_constants == "float32":
            return math.sin(x) / x * (HAMMING_ALPHA_F32 + HAMMING_BETA_F32 * math.cos(x))
        return (HAMMING_ALPHA_F64 + HAMMING_BETA_F64 * math.cos(x)) * math.sin(x) / x
    if name == "cubic":
        a = cubic_a
        x = -x if x < 0.0 else x
        if x < 1.0:
            return ((a + 2.0) * x - (a + 3.0)) * x * x + 1
        if x < 2.0:
            return (((x - 5) * x + 8) * x - 4) * a
        return 0.0
    if name == "lanczos":
        def sinc(v: float) -> float:
            if v == 0.0:
                return 1.0
            v = v * math.pi
            return math.sin(v) / v
        if -lobes <= x < lobes:
            return sinc(x) * sinc(x / lobes)
        return 0.0
    if name == "gaussian":
        if -3.0 <= x < 3.0:
            r = GAUSSIAN_SIGMA
            return (1.0 / (math.sqrt(2.0 * math.pi) * r)) * math.exp(-(x * x) / (2.0 * (r * r)))
        return 0.0
    raise SpecError(f"filter {name!r} has no convolution kernel", field="filter", value=name)
