"""Kernels, per-axis taps and their fast paths (STYLE 5: every fast path proven equal to a slow,
obviously-correct definition).

- vectorised float64 kernels == the scalar transcription of Resample.c / filters.rs on a grid;
- numpy's float64 sin/cos/exp == C libm (the kernels rely on it);
- float32 kernels: hand values of the image crate's formulas;
- convolution taps == line-by-line transcriptions of Pillow/fir/image coefficient loops;
- apply_taps (numpy and numba engines) == the scalar-loop definition, for every accumulator type;
- fixed-point helpers (Pillow rounding, fir dynamic precision, round_shift) == their definitions.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from conformance.errors import SpecError
from conformance.reference.rounding import round_to_int
from conformance.reference.resize import kernels as K
from conformance.reference.resize.convolution import (convolution_taps, fir_coeffs_scalar,
                                                      image_coeffs_scalar, pillow_coeffs_scalar)
from conformance.reference.resize.separable import round_shift
from conformance.reference.resize.taps import (AxisTaps, apply_taps, apply_taps_slow,
                                               dynamic_precision, quantize_fixed,
                                               quantize_fixed_dynamic, round_half_away_exact)

# A named grid of kernel arguments: multiples of 1/64 (exact ties such as ±0.5, ±1, ±2, ±3),
# their neighbours one ulp away, and random values.
_RNG = np.random.default_rng(20240601)
_BASE = np.arange(-4 * 64, 4 * 64 + 1) / 64.0
ARG_GRID = np.concatenate([_BASE, np.nextafter(_BASE, np.inf), np.nextafter(_BASE, -np.inf),
                           _RNG.uniform(-4.5, 4.5, 4000)])

FLOAT64_CASES = [("nearest", {}), ("box", {}), ("triangle", {}),
                 ("hamming", {"hamming_constants": "float32"}),
                 ("hamming", {"hamming_constants": "float64"}),
                 ("cubic", {"cubic_a": -0.5}), ("cubic", {"cubic_a": -0.75}),
                 ("lanczos", {"lobes": 3}), ("lanczos", {"lobes": 4}), ("gaussian", {})]


def _case_id(name, params):
    return "_".join([name] + [f"{k}{v}" for k, v in sorted(params.items())])


@pytest.mark.parametrize("name,params", FLOAT64_CASES, ids=[_case_id(*c) for c in FLOAT64_CASES])
def test_float64_kernels_equal_scalar_definition(name, params):
    kern = K.make_kernel(name, dtype="float64", **params)
    fast = kern.fn(ARG_GRID)
    slow = np.array([K.scalar_f64(name, float(x), **params) for x in ARG_GRID])
    bad = np.flatnonzero(fast != slow)
    assert bad.size == 0, (f"{name} {params}: {bad.size} arguments differ, first x={ARG_GRID[bad[0]]!r} "
                           f"fast={fast[bad[0]]!r} slow={slow[bad[0]]!r}")


def test_numpy_float64_transcendentals_equal_libm():
    """The float64 kernels use numpy's sin/cos and libm's exp (numpy's exp is up to 1 ulp off
    libm on AVX-512 machines); Pillow and fir call C libm. Equal bits here, on any CPU."""
    x = np.concatenate([ARG_GRID * math.pi, _RNG.uniform(-20, 20, 100_000)])
    for fn_np, fn_m in ((np.sin, math.sin), (np.cos, math.cos), (K.libm_exp, math.exp)):
        fast = fn_np(x)
        slow = np.array([fn_m(v) for v in x])
        assert np.array_equal(fast, slow), f"{fn_np.__name__} differs from libm"


def test_kernel_table_supports_and_hand_values():
    t = {name: K.make_kernel(name, lobes=3) for name in K.KERNELS}
    assert [t[n].support for n in ("nearest", "box", "triangle", "hamming", "cubic", "lanczos",
                                   "gaussian")] == [0.0, 0.5, 1.0, 1.0, 2.0, 3.0, 3.0]
    assert K.make_kernel("lanczos", lobes=4).support == 4.0
    x = np.array([-0.5, 0.0, 0.5, 1.0, 1.5])
    assert t["box"].fn(x).tolist() == [0.0, 1.0, 1.0, 0.0, 0.0]  # (-0.5, 0.5]: tie goes left-open
    assert t["triangle"].fn(x).tolist() == [0.5, 1.0, 0.5, 0.0, 0.0]
    # Keys a = -0.5: c(0.5) = 0.5625, c(1.5) = -0.0625
    assert K.make_kernel("cubic", cubic_a=-0.5).fn(x).tolist() == [0.5625, 1.0, 0.5625, 0.0, -0.0625]
    # Pillow's hamming constants are float literals
    assert K.HAMMING_ALPHA_F32 == 0.5400000214576721 and K.HAMMING_BETA_F32 == 0.46000000834465027


def test_float32_kernels_hand_values():
    f32 = np.float32
    x = np.array([0.0, 0.5, 1.0, 1.5, 2.0, -0.25], dtype=f32)
    cr = K.make_kernel("cubic", dtype="float32", cubic_a=-0.5).fn(x)
    assert cr.dtype == f32
    assert cr.tolist() == [1.0, 0.5625, 0.0, -0.0625, 0.0, f32(0.8671875)]
    tri = K.make_kernel("triangle", dtype="float32").fn(x)
    assert tri.tolist() == [1.0, 0.5, 0.0, 0.0, 0.0, 0.75]
    lz = K.make_kernel("lanczos", dtype="float32", lobes=3).fn(np.array([0.0, 3.0, -3.0], dtype=f32))
    assert lz.tolist() == [1.0, 0.0, 0.0]  # |x| < 3: symmetric interval (Pillow's is [-3, 3))
    g = K.make_kernel("gaussian", dtype="float32").fn(np.array([0.0], dtype=f32))
    assert abs(float(g[0]) - 1 / (math.sqrt(2 * math.pi) * 0.5)) < 1e-6
    assert K.make_kernel("nearest", dtype="float32").fn(x).tolist() == [1.0] * 6


def test_float32_lanczos_uses_libm_sinf():
    """Rust's f32::sin is C sinf; numpy's float32 sin differs from it for many arguments."""
    x = np.linspace(-2.9, 2.9, 2001, dtype=np.float32)
    via_libm = K.make_kernel("lanczos", dtype="float32", lobes=3).fn(x)
    t = x * K.PI_F32
    t3 = (x / np.float32(3)) * K.PI_F32
    with np.errstate(invalid="ignore", divide="ignore"):
        numpy_sin = np.where(x == 0, np.float32(1), np.sin(t) / t) * np.where(x == 0, np.float32(1),
                                                                              np.sin(t3) / t3)
        assert np.array_equal(via_libm, np.where(x == 0, np.float32(1), K.sinf(t) / t) *
                              np.where(x == 0, np.float32(1), K.sinf(t3) / t3))
    # documents why ctypes is used; not a requirement on numpy
    print(f"numpy float32 sin vs libm sinf: {int((numpy_sin != via_libm).sum())}/{x.size} lanczos "
          "weights differ")


def test_missing_float32_kernel_is_a_spec_error():
    with pytest.raises(SpecError, match="weights_dtype"):
        K.make_kernel("hamming", dtype="float32")
    with pytest.raises(SpecError, match="filter"):
        K.make_kernel("area")


# --- convolution taps vs the C / Rust loops ------------------------------------------------------

SIZE_GRID = [(1, 1), (1, 5), (5, 1), (2, 3), (7, 3), (10, 4), (13, 7), (16, 16), (17, 5), (40, 9),
             (9, 40), (100, 33), (33, 100), (224, 224 * 3 - 1), (1000, 224), (3, 640)]


def _check_against(taps: AxisTaps, scalar_rows, what):
    """Taps equal the scalar loop's (start, weights) per output, bit for bit; extra taps are 0."""
    for i, (start, ws) in enumerate(scalar_rows):
        n = len(ws)
        idx = taps.index[i, :n].tolist()
        got = taps.weight[i, :n]
        assert idx == list(range(start, start + n)), f"{what}: output {i} window {idx[:3]}.. vs {start}"
        want = np.array(ws, dtype=taps.weight.dtype)
        assert np.array_equal(got, want), f"{what}: output {i} weights {got} vs {want}"
        assert not np.any(taps.weight[i, n:]), f"{what}: output {i} has extra non-zero taps"


@pytest.mark.parametrize("filt", ["box", "triangle", "hamming", "cubic", "lanczos"])
@pytest.mark.parametrize("antialias", [True, False])
def test_pillow_window_equals_resample_c(filt, antialias):
    kern = K.make_kernel(filt, cubic_a=-0.5, lobes=3)
    for s, d in SIZE_GRID:
        taps = convolution_taps(s, d, kern, antialias=antialias, window="pillow", border="renormalize")
        slow = pillow_coeffs_scalar(s, d, lambda x: K.scalar_f64(filt, x, cubic_a=-0.5, lobes=3),
                                    kern.support, antialias)
        _check_against(taps, slow, f"pillow {filt} {s}->{d}")


@pytest.mark.parametrize("filt", ["box", "triangle", "cubic", "lanczos", "gaussian"])
def test_floor_ceil_window_equals_fir_loop(filt):
    kern = K.make_kernel(filt, cubic_a=-0.5, lobes=3, hamming_constants="float64")
    for s, d in SIZE_GRID:
        taps = convolution_taps(s, d, kern, antialias=True, window="floor_ceil", border="renormalize")
        slow = fir_coeffs_scalar(s, d, lambda x: K.scalar_f64(filt, x, cubic_a=-0.5, lobes=3),
                                 kern.support)
        _check_against(taps, slow, f"fir {filt} {s}->{d}")


@pytest.mark.parametrize("filt", ["nearest", "triangle", "cubic", "lanczos", "gaussian"])
def test_float32_window_equals_image_crate_loop(filt):
    kern = K.make_kernel(filt, dtype="float32", cubic_a=-0.5, lobes=3)
    for s, d in SIZE_GRID[:12]:
        taps = convolution_taps(s, d, kern, antialias=True, window="floor_ceil", border="renormalize")
        assert taps.weight.dtype == np.float32
        slow = image_coeffs_scalar(s, d, kern.fn, kern.support)
        _check_against(taps, slow, f"image {filt} {s}->{d}")


def test_float_weights_sum_to_one_and_windows_stay_inside():
    for filt in ("box", "triangle", "hamming", "cubic", "lanczos", "gaussian"):
        for window in ("pillow", "floor_ceil"):
            kern = K.make_kernel(filt)
            for s, d in SIZE_GRID:
                taps = convolution_taps(s, d, kern, antialias=True, window=window, border="renormalize")
                sums = taps.weight.sum(axis=1)
                assert np.all(np.abs(sums - 1) < 1e-12), (filt, window, s, d, sums.min(), sums.max())
                assert taps.index.min() >= 0 and taps.index.max() < s


# --- fixed point -----------------------------------------------------------------------------------


def test_quantize_fixed_is_pillows_expression():
    w = np.array([[0.75, 0.25, 0.0], [-0.0625, 0.5625, 0.5]])
    t = quantize_fixed(AxisTaps(np.zeros((2, 3), np.int64), w, 1), 22)
    assert t.weight.tolist() == [[3145728, 1048576, 0], [-262144, 2359296, 2097152]]
    # (int)(w * 2^22 + 0.5) truncates: 0.4999999 -> 0, -0.5 / 2^22 -> -1 (away from zero)
    t = quantize_fixed(AxisTaps(np.zeros((1, 2), np.int64), np.array([[0.4999999 / 2**22, -0.5 / 2**22]]), 1), 22)
    assert t.weight.tolist() == [[0, -1]]


def test_fixed_weights_sum_to_2_pow_bits_within_rounding():
    """Each weight is rounded to the nearest 1/2^BITS, so a row sums to 2^BITS ± n/2."""
    for filt in ("box", "triangle", "hamming", "cubic", "lanczos"):
        kern = K.make_kernel(filt)
        for s, d in SIZE_GRID:
            taps = convolution_taps(s, d, kern, antialias=True, window="pillow", border="renormalize")
            q = quantize_fixed(taps, 22)
            n = (taps.weight != 0).sum(axis=1)
            err = np.abs(q.weight.sum(axis=1) - (1 << 22))
            assert np.all(err <= n / 2), (filt, s, d, err.max())


def test_dynamic_precision_examples():
    # fast_image_resize: i16 coefficients (bits = 15); a weight of 1.0 allows p = 14 and ~0.5 p = 15
    assert dynamic_precision(1.0, 15) == 14
    assert dynamic_precision(0.5, 15) == 15
    assert dynamic_precision(0.4, 15) == 16  # round(0.4 * 2^17) = 52429 >= 2^15 stops at p = 16
    assert dynamic_precision(0.2, 15) == 17
    assert dynamic_precision(0.0, 15) == 21  # never reaches 2^15: the loop ends at 21
    t, p = quantize_fixed_dynamic(AxisTaps(np.zeros((1, 2), np.int64), np.array([[0.75, 0.25]]), 1), 15)
    assert p == 15 and t.weight.tolist() == [[24576, 8192]]


def test_round_half_away_exact():
    x = np.array([0.5, 1.5, 2.5, -0.5, -1.5, 0.49999999999999994, -0.49999999999999994, 2.4999999, 7.0])
    assert round_half_away_exact(x).tolist() == [1, 2, 3, -1, -2, 0, 0, 2, 7]


@pytest.mark.parametrize("rule", ["half_up", "half_even", "half_away", "truncate"])
def test_round_shift_equals_float_rounding(rule):
    """Integer rounding of acc / 2^q equals round_to_int of the exact quotient (exhaustive range)."""
    for q in (1, 2, 3, 8):
        acc = np.arange(-5000, 5001, dtype=np.int64)
        got = round_shift(acc, q, rule)
        want = round_to_int(acc / float(1 << q), rule).astype(np.int64)
        assert np.array_equal(got, want), (rule, q)


# --- apply_taps: numpy and numba engines vs the scalar definition ----------------------------------


def _random_taps(rng, s, d, n, kind):
    index = rng.integers(0, s, (d, n))
    if kind == "int":
        weight = rng.integers(-(1 << 20), 1 << 22, (d, n))
    else:
        weight = rng.normal(0, 0.5, (d, n))
    weight[:, -1] = 0  # an unused trailing tap
    return AxisTaps(index=index, weight=weight, src_len=s)


@pytest.mark.parametrize("acc", [np.float64, np.float32, np.int64, np.int32])
@pytest.mark.parametrize("axis", [0, 1])
def test_apply_taps_engines_equal_scalar_definition(acc, axis):
    rng = np.random.default_rng(11)
    for trial in range(4):
        h, w = rng.integers(1, 9, 2)
        src = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        if acc in (np.float32, np.float64) and trial % 2:
            src = (rng.random((h, w, 3)) * 255).astype(acc)
        s = src.shape[axis]
        taps = _random_taps(rng, s, int(rng.integers(1, 7)), int(rng.integers(1, 6)),
                            "int" if np.issubdtype(acc, np.integer) else "float")
        slow = apply_taps_slow(src, taps, axis, acc)
        for engine in ("numpy", "numba"):
            fast = apply_taps(src, taps, axis, acc, engine=engine)
            assert fast.dtype == np.dtype(acc) and fast.shape == slow.shape
            assert np.array_equal(fast, slow), f"{engine} {np.dtype(acc).name} axis {axis} differs"


def test_apply_taps_float32_is_tap_ordered():
    """In float32 the order of the sum matters: 1e8 + 1 - 1e8 is 0 in order, 1 otherwise."""
    src = np.array([[[1e8]], [[1.0]], [[-1e8]]], dtype=np.float32)
    taps = AxisTaps(index=np.array([[0, 1, 2]]), weight=np.array([[1.0, 1.0, 1.0]], np.float32), src_len=3)
    for engine in ("numpy", "numba"):
        assert apply_taps(src, taps, 0, np.float32, engine=engine)[0, 0, 0] == 0.0


def test_pairwise_sum_is_numpys_contiguous_sum():
    """taps.pairwise_sum transcribes numpy's pairwise summation; ndarray.sum over a contiguous
    axis (what onnx.reference calls) gives the same bits, a strided axis sums left to right."""
    from conformance.reference.resize.taps import pairwise_sum
    rng = np.random.default_rng(9)
    for n in list(range(1, 40)) + [127, 128, 129, 200, 300, 1000]:
        a = rng.normal(0, 1, (6, n)) * 10.0 ** rng.integers(-6, 12, (6, n))
        assert np.array_equal(pairwise_sum(a, axis=1), a.sum(axis=-1)), n
        b = np.ascontiguousarray(a.T)  # tap axis first: numpy sums it sequentially
        seq = np.zeros(6)
        for j in range(n):
            seq = seq + b[j]
        assert np.array_equal(b.sum(axis=0), seq), n


def test_apply_taps_pairwise_order():
    from conformance.reference.resize.taps import pairwise_sum
    rng = np.random.default_rng(10)
    src = rng.normal(0, 1, (30, 4, 2)) * 10.0 ** rng.integers(-6, 12, (30, 4, 2))
    taps = AxisTaps(index=rng.integers(0, 30, (5, 11)), weight=rng.normal(0, 1, (5, 11)), src_len=30)
    got = apply_taps(src, taps, 0, np.float64, order="pairwise")
    products = src[taps.index] * taps.weight[:, :, None, None]  # (d, n, 4, 2)
    assert np.array_equal(got, pairwise_sum(products, axis=1))
    assert not np.array_equal(got, apply_taps(src, taps, 0, np.float64))  # the order matters here
    short = AxisTaps(index=taps.index[:, :7], weight=taps.weight[:, :7], src_len=30)
    assert np.array_equal(apply_taps(src, short, 0, order="pairwise"), apply_taps(src, short, 0))
