"""The JPEG IDCTs (conformance/reference/jpeg/idct.py).

1. IEEE Std 1180-1990 accuracy test of the islow transform (libjpeg-turbo jidctint.c), with the
   procedure of the standard as Tom Lane's ``ieeetest.c`` (IJG) implements it:

   - for each of the ranges (L, H) = (256, 255), (5, 5), (300, 300) and each sign (+1, −1):
     10,000 blocks of 64 integers drawn by the standard's generator (``ieeerand``: the linear
     congruential randx = randx·1103515245 + 12345, seeded with 1 at the start of each of the six
     runs; value = floor((randx & 0x7ffffffe) / (2^31 − 1) · (L + H + 1)) − L), multiplied by the
     sign;
   - forward DCT in double precision (the ``coslu`` matrix, C(u)/2·cos((2x+1)uπ/16)), rounded to
     the nearest integer (halves away from zero), clipped to [−2048, 2047]: the test input;
   - reference output: the double-precision IDCT of that input (our :func:`float_core`, the same
     T.81 A.3.3 formula), rounded the same way, clipped to [−256, 255];
   - tested output: :func:`islow_core` with all quantisers 1, i.e. jidctint.c's two passes with
     their exact DESCALE roundings, *before* the +128 level shift and the range limit (the
     standard tests the transform on signed data), clipped to [−256, 255]; the numba block loop
     and the numpy-vectorised form are both run and must agree exactly;
   - criteria per run: peak |error| <= 1 at every position, mean square error <= 0.06 at every
     position and <= 0.02 over all, |mean error| <= 0.015 at every position and <= 0.0015 over
     all; and an all-zero input gives an all-zero output.

   The measured figures are printed (``pytest -s``).
2. The float IDCT: exact ties (a DC-only block of value 4 is 0.5 everywhere) round half up, and
   it equals a naive quadruple-loop evaluation of T.81 A.3.3.
3. islow's output range limit: ``saturate`` and ``wrap`` on hand-computed values.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from conformance.reference.jpeg.idct import (DCTSIZE, float_core, float_idct, islow, islow_blocks,
                                             islow_core, range_limit)

IEEE_RUNS = [(256, 255, 1), (256, 255, -1), (5, 5, 1), (5, 5, -1), (300, 300, 1), (300, 300, -1)]
IEEE_BLOCKS = 10_000
RAND_MULTIPLIER, RAND_INCREMENT = 1103515245, 12345
RAND_MASK = 0x7FFFFFFE
RAND_Z = float(0x7FFFFFFF)
COEF_MIN, COEF_MAX = -2048, 2047
PIXEL_MIN, PIXEL_MAX = -256, 255
# IEEE 1180-1990 §3 limits.
PEAK_LIMIT = 1
PMSE_LIMIT, OMSE_LIMIT = 0.06, 0.02
PME_LIMIT, OME_LIMIT = 0.015, 0.0015


def ieee_random_blocks(low: int, high: int, sign: int, n: int = IEEE_BLOCKS) -> np.ndarray:
    """(n, 8, 8) int64 blocks from the IEEE 1180 generator, seeded with 1 (ieeetest.c ieeerand).

    Only the low 31 bits of randx are used, so a 32-bit wrap gives the same numbers as C's long."""
    out = np.empty(n * 64, dtype=np.int64)
    randx = 1
    span = low + high + 1
    for i in range(n * 64):
        randx = (randx * RAND_MULTIPLIER + RAND_INCREMENT) & 0xFFFFFFFF
        x = (randx & RAND_MASK) / RAND_Z * span
        out[i] = (int(x) - low) * sign
    return out.reshape(n, 8, 8)


def coslu() -> np.ndarray:
    """ieeetest.c coslu[a][b] = C(b)/2 · cos((2a+1)bπ/16)."""
    a = np.arange(8)[:, None]
    b = np.arange(8)[None, :]
    c = np.where(b == 0, 1 / math.sqrt(2), 1.0)
    return c * np.cos((2 * a + 1) * b * math.pi / 16) * 0.5


def round_half_away(x: np.ndarray) -> np.ndarray:
    """ieeetest.c's rounding: x < 0 ? -(int)(0.5 - x) : (int)(x + 0.5)."""
    return np.where(x < 0, -np.floor(0.5 - x), np.floor(x + 0.5)).astype(np.int64)


def reference_fdct(blocks: np.ndarray) -> np.ndarray:
    """res[v][u] = Σ_y Σ_x coslu[y][v]·block[y][x]·coslu[x][u], rounded, clipped to 12 bits."""
    m = coslu()
    res = np.einsum("yv,nyx,xu->nvu", m, blocks.astype(np.float64), m)
    return np.clip(round_half_away(res), COEF_MIN, COEF_MAX)


def ieee_run(low: int, high: int, sign: int) -> dict:
    coefs = reference_fdct(ieee_random_blocks(low, high, sign))
    ref = np.clip(round_half_away(float_core(coefs)), PIXEL_MIN, PIXEL_MAX)
    core = islow_core(coefs)  # the numba block loop
    assert np.array_equal(core, islow_core(coefs, use_numba=False))  # = the numpy-vectorised form
    test = np.clip(core, PIXEL_MIN, PIXEL_MAX)
    err = (test - ref).reshape(-1, 64)
    return {"peak": int(np.abs(err).max()),
            "pmse": float((err ** 2).mean(axis=0).max()), "omse": float((err ** 2).mean()),
            "pme": float(np.abs(err.mean(axis=0)).max()), "ome": float(abs(err.mean()))}


@pytest.mark.parametrize("low, high, sign", IEEE_RUNS)
def test_islow_meets_ieee_1180(low, high, sign):
    r = ieee_run(low, high, sign)
    print(f"\nIEEE 1180 islow L={low} H={high} sign={sign:+d}: peak {r['peak']}, "
          f"worst pmse {r['pmse']:.6f}, omse {r['omse']:.6f}, worst |pme| {r['pme']:.6f}, "
          f"|ome| {r['ome']:.6f}")
    assert r["peak"] <= PEAK_LIMIT
    assert r["pmse"] <= PMSE_LIMIT and r["omse"] <= OMSE_LIMIT
    assert r["pme"] <= PME_LIMIT and r["ome"] <= OME_LIMIT


def test_ieee_generator_and_zero_input():
    """The generator's first draws from seed 1, worked by hand: randx = 1103527590 (bits 0..30:
    1103527590) -> 1103527590 / (2^31 − 1) · 512 = 263.10 -> 263 − 256 = 7; then 2524885223
    (& 0x7ffffffe = 377401574) -> 89.98 -> −167; then 662824084 -> 158.03 -> −98. With
    L = H = 5 the span is 11: 5.65 -> 0, 1.93 -> −4, 3.40 -> −2. And the zero-input rule."""
    assert ieee_random_blocks(256, 255, 1, n=1).reshape(-1)[:3].tolist() == [7, -167, -98]
    assert ieee_random_blocks(5, 5, 1, n=1).reshape(-1)[:3].tolist() == [0, -4, -2]
    assert ieee_random_blocks(5, 5, -1, n=1).reshape(-1)[:3].tolist() == [0, 4, 2]
    zero = np.zeros((1, 8, 8), dtype=np.int64)
    assert not islow_core(zero).any() and not float_core(zero).any()


def test_islow_three_forms_agree():
    """The plain block loop (uncompiled), its numba compilation and the numpy-vectorised form
    give the same integers, also on extreme 16-bit-table coefficients (|R| up to 2^27)."""
    rng = np.random.Generator(np.random.PCG64(44))
    r = np.concatenate([rng.integers(-2048, 2048, size=(20, 8, 8)),
                        rng.integers(-(1 << 27), 1 << 27, size=(5, 8, 8))])
    plain = np.empty(r.shape, dtype=np.int64)
    islow_blocks(r, plain)
    assert np.array_equal(plain, islow_core(r, use_numba=True))
    assert np.array_equal(plain, islow_core(r, use_numba=False))


def test_islow_matches_its_definition_on_one_block():
    """A DC-only block: every output is DESCALE(DESCALE(R00·2^13, 11)·2^13, 18) = (4·R00 + 16) >> 5."""
    for dc in (-1024, -37, -1, 0, 1, 3, 4, 5, 100, 1023):
        c = np.zeros((1, 64), dtype=np.int64)
        c[0, 0] = dc
        want = (4 * dc + 16) >> 5
        assert np.all(islow_core(c.reshape(1, 8, 8)) == want), dc


def naive_float_idct(r: np.ndarray) -> np.ndarray:
    """T.81 A.3.3 term by term, for one (8, 8) block [v][u]."""
    s = np.zeros((8, 8))
    for y in range(8):
        for x in range(8):
            acc = 0.0
            for v in range(8):
                for u in range(8):
                    cu = 1 / math.sqrt(2) if u == 0 else 1.0
                    cv = 1 / math.sqrt(2) if v == 0 else 1.0
                    acc += cu * cv * r[v, u] * math.cos((2 * x + 1) * u * math.pi / 16) * \
                        math.cos((2 * y + 1) * v * math.pi / 16)
            s[y, x] = acc / 4
    return s


def test_float_idct_is_t81_a33_and_rounds_ties_up():
    rng = np.random.Generator(np.random.PCG64(1180))
    r = rng.integers(-300, 300, size=(3, 8, 8))
    got = float_core(r)
    for k in range(3):
        assert np.allclose(got[k], naive_float_idct(r[k]), atol=1e-9)
    # DC-only blocks: s = R00/8 exactly; R00 = 4 -> 0.5 -> 1 (+128), R00 = -4 -> -0.5 -> 0 (+128)
    for dc, want in [(4, 129), (-4, 128), (12, 130), (-12, 127), (0, 128), (2000, 255), (-2000, 0)]:
        c = np.zeros((1, 64), dtype=np.int64)
        c[0, 0] = dc
        assert np.all(float_idct(c, np.ones(64, dtype=np.int64)) == want), dc
    # A (4, 4)-only block is also exactly rational: R44 = 4 gives ±1/2 at every sample.
    c = np.zeros((1, 64), dtype=np.int64)
    c[0, 4 * DCTSIZE + 4] = 4
    s = float_core(c.reshape(1, 8, 8))
    assert set(np.abs(s).ravel().tolist()) == {0.5}


def test_range_limit_saturate_and_wrap():
    y = np.array([-700, -513, -512, -129, -128, 0, 127, 128, 511, 512, 750])
    assert range_limit(y, "saturate").tolist() == [0, 0, 0, 0, 0, 128, 255, 255, 255, 255, 255]
    # wrap: ((y + 512) mod 1024) − 512 + 128, clamped: 750 -> 238 − 512 + 128 < 0 -> 0
    assert range_limit(y, "wrap").tolist() == [255, 255, 0, 0, 0, 128, 255, 255, 255, 0, 0]
    with pytest.raises(ValueError):
        range_limit(y, "clip")


def test_islow_dequantises_with_the_table():
    c = np.zeros((1, 64), dtype=np.int64)
    c[0, 0], c[0, 1] = 10, -3
    q = np.arange(1, 65)
    d = c.copy()
    d[0, 0], d[0, 1] = 10 * 1, -3 * 2
    assert np.array_equal(islow(c, q), range_limit(islow_core(d.reshape(1, 8, 8))))
