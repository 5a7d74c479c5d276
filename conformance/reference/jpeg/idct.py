"""Inverse DCT of quantised 8x8 blocks to 8-bit samples (ITU-T T.81 A.3.3), four ways.

Input everywhere: ``coefficients`` (N, 64) integers in natural (row-major) order, index
``8·v + u`` for vertical frequency v and horizontal frequency u (T.81 A.3.3's S_vu), still
quantised, and ``quant`` (64,) the component's table in natural order. Dequantisation is
T.81 A.3.4: R_vu = Sq_vu · Q_vu, an exact integer product (libjpeg ``jddctmgr.c`` makes
the same product, ``DEQUANTIZE(coef, quantval) = coef · quantval``). Output: (N, 8, 8) uint8
samples s[y][x] after the level shift +128 (T.81 A.3.1: 2^(P−1) for P = 8) and clamping to
0..255. The ``*_core`` functions stop before the level shift (IEEE 1180 tests them).

- :func:`islow` — libjpeg-turbo ``jidctint.c`` ``jpeg_idct_islow`` (JDCT_ISLOW, libjpeg's
  default): the Loeffler–Ligtenberg–Moschytz 1-D transform with 12 multiplies, 13-bit
  constants, two passes (columns, then rows) and these exact roundings::

      pass 1 (columns): ws[k][u] = DESCALE(K(R[0..7][u])[k], CONST_BITS − PASS1_BITS)     (>> 11)
      pass 2 (rows):    y[r][x]  = DESCALE(K(ws[r][0..7])[x], CONST_BITS + PASS1_BITS + 3) (>> 18)
      DESCALE(a, n) = (a + 2^(n−1)) >> n   (arithmetic shift: rounds half up)

  The extra ``+ 3`` in pass 2 is the 1/8 of the 2-D DCT normalisation (T.81's 1/4·C(u)·C(v)
  with the 1/√8 of each 1-D stage folded into the constants); PASS1_BITS = 2 keeps two more bits
  of precision between the passes. Then ``sample = range_limit(y + 128)``, where
  ``range_limit`` is a knob:

  - ``"saturate"``: clamp(y + 128, 0, 255). This is what the x86-64 SIMD kernels of the Pillow
    and OpenCV wheels compute (``simd/x86_64/jidctint-avx2.asm`` packs with signed saturation).
  - ``"wrap"``: the C table ``IDCT_range_limit`` (``jdmaster.c prepare_range_limit_table``,
    indexed by ``y & RANGE_MASK``, RANGE_MASK = 1023): clamp(((y + 512) mod 1024) − 512 + 128).
    Equal to ``saturate`` for −512 ≤ y < 512, wraps around beyond (a C build without SIMD).

  Coefficients from a real encoder give y ≈ sample − 128 plus the quantisation error, far from
  ±512, so the knob matters only for crafted or corrupt coefficients. The arithmetic is int64
  (libjpeg's JLONG is 64-bit on LP64); the wrap-around of C's 32-bit workspace or of the SIMD
  kernels' 16-bit lanes on absurd coefficients is not modelled.

  Two forms of the same kernel (:func:`islow_1d`): :func:`islow_blocks`, the block loop as the
  C code runs it, compiled by numba (:data:`islow_blocks_jit`, the default), and a numpy form
  that runs every block at once (``use_numba=False``); tests prove them equal.

  The C code shortcuts columns/rows whose AC terms are all zero (``ws = R00 << PASS1_BITS`` and
  ``DESCALE(ws0, PASS1_BITS + 3)``); both give exactly what the full formulas give
  (t10 = t11 = t12 = t13 = x0 << 13, odd part 0, and (x0·2^13 + 2^10) >> 11 = x0·4,
  (w·2^13 + 2^17) >> 18 = (w + 16) >> 5), so the full formulas are used for every block.

- :func:`ifast` — libjpeg-turbo ``jidctfst.c`` ``jpeg_idct_ifast`` (JDCT_IFAST: TensorFlow's
  ``decode_jpeg`` default, ``dct_method="INTEGER_FAST"``, and Pillow's draft mode): Arai, Agui
  and Nakajima's scaled transform. The AA&N output scale factors are folded into the
  dequantisation (``jddctmgr.c``)::

      multiplier[v][u] = DESCALE(Q[v][u] · round(2^14 · f(v) · f(u)), 12),  f(0) = 1, f(k) = cos(kπ/16)·√2
      pass 1 (columns): ws = K8(Sq · multiplier)                 (no descale: ws carries 2 bits)
      pass 2 (rows):    y  = K8(ws row) >> 5                      (floor: no rounding term)
      K8: 5 multiplies by 8-bit constants, each product (v · c) >> 8 at once (floor)

  so it truncates where islow rounds: outputs average about half a level lower.

- :func:`float_idct` — the exact T.81 A.3.3 formula in float64::

      s_yx = 1/4 · Σ_u Σ_v C_u C_v R_vu cos((2x+1)uπ/16) cos((2y+1)vπ/16),  C_0 = 1/√2, else 1
      sample = clamp(floor(s_yx + 0.5) + 128, 0, 255)      (round half up, then level shift)

  As a matrix product s = B^T·R·B with B[u][x] = C_u/2 · cos((2x+1)uπ/16) (the IEEE 1180
  reference's ``coslu``). Ties are real: a DC-only block with R00 = 4 gives s = 0.5 everywhere,
  so the 2-D basis entries whose exact value is rational (u, v ∈ {0, 4}: products of two ±1/√2
  factors, exactly ±1/8) are stored exactly; then any block whose exact result is a multiple of
  1/2 is computed without rounding error and the half-up rule decides as intended. Other sums
  are irrational and carry float64 rounding (~1e-13 for 12-bit coefficients): the result can
  only differ from exact arithmetic if the exact value lies that close to a half-integer.
  This is *not* libjpeg's JDCT_FLOAT (``jidctflt.c``: float32 AAN with its own truncation),
  which depends on the build's float unit; no library output is claimed for this knob.

- :func:`zune_idct` — zune-jpeg 0.5.15 ``src/idct/scalar.rs idct_int`` (the Rust ``image``
  crate's JPEG decoder; its AVX2 kernel is a transcription of it): the stb_image transform with
  12-bit constants, on the same dequantised input::

      pass 1 (columns): ws = (K12(R column) + 512) >> 10
      pass 2 (rows):    y  = (K12(ws row) + 512 + 2^16 + (128 << 17)) >> 17     (level shift folded in)
      sample = clamp(y, 0, 255)

  (:func:`zune_1d` is K12; from the project notes on zune-jpeg, which reproduce ``image``
  0.25.10 to 0 LSB; not checked here, as this test environment has no Rust.)

- :func:`reduced` — libjpeg-turbo ``jidctred.c`` (``jpeg_idct_4x4``, ``jpeg_idct_2x2``,
  ``jpeg_idct_1x1``): the reduced-size transforms of DCT-domain scaling (module
  :mod:`.reconstruct`, ``dct_scale``), 8x8 coefficients to 4x4, 2x2 or 1x1 samples, each a
  1-D LL&M step whose outputs are averaged in pairs (quads), formulas on :func:`reduced_core`.
  The x86-64 SIMD kernels of 4x4 and 2x2 (``jidctred-sse2.asm``) give the same samples as
  this C arithmetic on every file we tried (Pillow, OpenCV and TensorFlow wheels, 0 LSB) and
  saturate like islow's (``range_limit``); 1x1 has no SIMD kernel, so it always wraps through
  the C table (:data:`RANGE_LIMIT_1X1`; crafted DC values show it in both wheels).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numba.extending import register_jitable

DCTSIZE = 8
# jidctint.c (8-bit samples): fixed-point scale of the constants, and the extra bits kept
# between the two passes ("PASS1_BITS ... to be at least 2 ... so that the workspace fits").
CONST_BITS = 13
PASS1_BITS = 2
# The 2-D transform's remaining 1/8 (T.81's 1/4·C_u·C_v over two 1/√8-normalised 1-D passes).
PASS2_EXTRA_BITS = 3

# FIX(x) = round(x · 2^CONST_BITS), the values jidctint.c hard-codes for CONST_BITS = 13.
FIX_0_298631336 = 2446
FIX_0_390180644 = 3196
FIX_0_541196100 = 4433
FIX_0_765366865 = 6270
FIX_0_899976223 = 7373
FIX_1_175875602 = 9633
FIX_1_501321110 = 12299
FIX_1_847759065 = 15137
FIX_1_961570560 = 16069
FIX_2_053119869 = 16819
FIX_2_562915447 = 20995
FIX_3_072711026 = 25172

CENTERJSAMPLE = 128  # T.81 A.3.1 level shift for P = 8: 2^(P-1)
MAXJSAMPLE = 255
RANGE_MASK = 1023  # jdct.h: (MAXJSAMPLE * 4 + 3), the index mask of IDCT_range_limit
RANGE_LIMITS = ("saturate", "wrap")


@register_jitable
def descale(a, n: int):
    """jdct.h DESCALE(x, n) = (x + 2^(n−1)) >> n: divide by 2^n rounding half up (floor shift)."""
    return (a + (1 << (n - 1))) >> n


@register_jitable
def islow_1d(x0, x1, x2, x3, x4, x5, x6, x7):
    """The 1-D kernel of jidctint.c (before descaling), on int64 scalars or arrays of any shape.

    Inputs are the 8 coefficients of one column (pass 1) or one workspace row (pass 2);
    returns the 8 outputs scaled by 2^CONST_BITS (times the pass's own scale). Variable names
    follow the C source ("tmp" and "z" of the even and odd parts).
    """
    # Even part: the rotator on (x2, x6) with c = √2·cos(6π/16), then the butterfly with x0, x4.
    z1 = (x2 + x6) * FIX_0_541196100
    tmp2 = z1 + x6 * (-FIX_1_847759065)
    tmp3 = z1 + x2 * FIX_0_765366865
    tmp0 = (x0 + x4) << CONST_BITS
    tmp1 = (x0 - x4) << CONST_BITS
    tmp10 = tmp0 + tmp3
    tmp13 = tmp0 - tmp3
    tmp11 = tmp1 + tmp2
    tmp12 = tmp1 - tmp2
    # Odd part (x7, x5, x3, x1) per figure 8 of the LL&M paper, as jidctint.c writes it.
    t0, t1, t2, t3 = x7, x5, x3, x1
    z1 = t0 + t3
    z2 = t1 + t2
    z3 = t0 + t2
    z4 = t1 + t3
    z5 = (z3 + z4) * FIX_1_175875602  # √2·c3
    t0 = t0 * FIX_0_298631336  # √2·(−c1+c3+c5−c7)
    t1 = t1 * FIX_2_053119869  # √2·( c1+c3−c5+c7)
    t2 = t2 * FIX_3_072711026  # √2·( c1+c3+c5−c7)
    t3 = t3 * FIX_1_501321110  # √2·( c1+c3−c5−c7)
    z1 = z1 * (-FIX_0_899976223)  # √2·(c7−c3)
    z2 = z2 * (-FIX_2_562915447)  # √2·(−c1−c3)
    z3 = z3 * (-FIX_1_961570560) + z5  # √2·(−c3−c5)
    z4 = z4 * (-FIX_0_390180644) + z5  # √2·(c5−c3)
    t0 = t0 + z1 + z3
    t1 = t1 + z2 + z4
    t2 = t2 + z2 + z3
    t3 = t3 + z1 + z4
    return (tmp10 + t3, tmp11 + t2, tmp12 + t1, tmp13 + t0,
            tmp13 - t0, tmp12 - t1, tmp11 - t2, tmp10 - t3)


# zune-jpeg / stb_image 12-bit constants: round(x · 2^12).
ZUNE_CONST_BITS = 12
ZUNE_PASS1_SHIFT = 10
ZUNE_PASS2_SHIFT = 17
ZUNE_PASS1_BIAS = 512
ZUNE_PASS2_BIAS = 512 + (1 << 16) + (CENTERJSAMPLE << 17)  # rounding + level shift, as zune adds


def zune_1d(x0, x1, x2, x3, x4, x5, x6, x7, bias: int):
    """zune-jpeg's 1-D kernel (stb_image ``STBI__IDCT_1D``) plus ``bias`` on every output."""
    p1 = (x2 + x6) * 2217  # 0.5411961
    t2 = p1 + x6 * -7567  # −1.847759065
    t3 = p1 + x2 * 3135  # 0.765366865
    t0 = (x0 + x4) << ZUNE_CONST_BITS
    t1 = (x0 - x4) << ZUNE_CONST_BITS
    e0, e3, e1, e2 = t0 + t3 + bias, t0 - t3 + bias, t1 + t2 + bias, t1 - t2 + bias
    q0, q1, q2, q3 = x7, x5, x3, x1
    p3 = q0 + q2
    p4 = q1 + q3
    p1 = q0 + q3
    p2 = q1 + q2
    p5 = (p3 + p4) * 4816  # 1.175875602
    q0 = q0 * 1223  # 0.298631336
    q1 = q1 * 8410  # 2.053119869
    q2 = q2 * 12586  # 3.072711026
    q3 = q3 * 6149  # 1.501321110
    p1 = p5 + p1 * -3685  # −0.899976223
    p2 = p5 + p2 * -10497  # −2.562915447
    p3 = p3 * -8034  # −1.961570560
    p4 = p4 * -1597  # −0.390180644
    q3 = q3 + p1 + p4
    q2 = q2 + p2 + p3
    q1 = q1 + p2 + p4
    q0 = q0 + p1 + p3
    return (e0 + q3, e1 + q2, e2 + q1, e3 + q0, e3 - q0, e2 - q1, e1 - q2, e0 - q3)


def dequantise(coefficients: np.ndarray, quant: np.ndarray) -> np.ndarray:
    """T.81 A.3.4: R_vu = Sq_vu · Q_vu as (N, 8, 8) int64 [v][u]."""
    c = np.asarray(coefficients, dtype=np.int64).reshape(-1, DCTSIZE, DCTSIZE)
    return c * np.asarray(quant, dtype=np.int64).reshape(DCTSIZE, DCTSIZE)


def islow_blocks(r: np.ndarray, out: np.ndarray) -> None:
    """jidctint.c block by block, as the C code runs: ``r`` (N, 8, 8) int64 dequantised [v][u],
    ``out`` (N, 8, 8) int64 receives y [y][x] (before level shift and range limit).

    The specification of :func:`islow_core` written as loops; :data:`islow_blocks_jit` is this
    same function compiled by numba (the fast path).
    """
    ws = np.empty((DCTSIZE, DCTSIZE), dtype=np.int64)
    for n in range(r.shape[0]):
        for u in range(DCTSIZE):  # pass 1: column u of the coefficients -> column u of ws
            o = islow_1d(r[n, 0, u], r[n, 1, u], r[n, 2, u], r[n, 3, u],
                         r[n, 4, u], r[n, 5, u], r[n, 6, u], r[n, 7, u])
            for k in range(DCTSIZE):
                ws[k, u] = descale(o[k], CONST_BITS - PASS1_BITS)
        for row in range(DCTSIZE):  # pass 2: row of ws -> row of samples
            o = islow_1d(ws[row, 0], ws[row, 1], ws[row, 2], ws[row, 3],
                         ws[row, 4], ws[row, 5], ws[row, 6], ws[row, 7])
            for x in range(DCTSIZE):
                out[n, row, x] = descale(o[x], CONST_BITS + PASS1_BITS + PASS2_EXTRA_BITS)


# Same source, compiled; cached on disk so only the first run pays the compilation.
islow_blocks_jit = njit(cache=True)(islow_blocks)


def islow_core(dequantised: np.ndarray, use_numba: bool = True) -> np.ndarray:
    """jidctint.c's two passes on dequantised (N, 8, 8) [v][u] blocks: y (N, 8, 8) int64 [y][x],
    before the level shift and the range limit (what IEEE 1180 tests).

    ``use_numba``: run :data:`islow_blocks_jit` (the block loop, compiled). Otherwise every block
    is transformed at once with numpy: the kernel's eight inputs are eight arrays, input k
    holding coefficient row k (pass 1) or workspace column k (pass 2) of all blocks. Both give
    the same integers (tests/test_jpeg_idct.py).
    """
    r = np.asarray(dequantised, dtype=np.int64)
    if use_numba:
        out = np.empty(r.shape, dtype=np.int64)
        islow_blocks_jit(np.ascontiguousarray(r), out)
        return out
    # Pass 1: columns. by_row[v] = R[n][v][u] for all n, u; output k is workspace row k.
    by_row = np.ascontiguousarray(r.transpose(1, 0, 2))  # (v, N, u)
    ws = [descale(o, CONST_BITS - PASS1_BITS) for o in islow_1d(*by_row)]  # ws[k]: (N, u)
    # Pass 2: rows of the workspace. by_col[u] = ws[n][row][u] for all rows, n; output is x.
    by_col = np.ascontiguousarray(np.stack(ws).transpose(2, 0, 1))  # (u, row, N)
    y = [descale(o, CONST_BITS + PASS1_BITS + PASS2_EXTRA_BITS) for o in islow_1d(*by_col)]
    return np.stack(y).transpose(2, 1, 0)  # (x, row, N) -> (N, row, x)


def range_limit(y: np.ndarray, rule: str = "saturate") -> np.ndarray:
    """Level shift and clamp of the IDCT output to uint8, by ``rule`` (module docstring)."""
    if rule == "saturate":
        return np.clip(y + CENTERJSAMPLE, 0, MAXJSAMPLE).astype(np.uint8)
    if rule == "wrap":  # sample_range_limit[CENTERJSAMPLE + (y & RANGE_MASK)], table in jdmaster.c
        wrapped = ((y + 512) & RANGE_MASK) - 512
        return np.clip(wrapped + CENTERJSAMPLE, 0, MAXJSAMPLE).astype(np.uint8)
    raise ValueError(f"unknown range limit {rule!r}; known: {', '.join(RANGE_LIMITS)}")


def islow(coefficients: np.ndarray, quant: np.ndarray, *, limit: str = "saturate",
          use_numba: bool = True) -> np.ndarray:
    """libjpeg-turbo JDCT_ISLOW of (N, 64) quantised blocks -> (N, 8, 8) uint8 (docstring above)."""
    return range_limit(islow_core(dequantise(coefficients, quant), use_numba), limit)


def zune_idct(coefficients: np.ndarray, quant: np.ndarray) -> np.ndarray:
    """zune-jpeg's integer IDCT of (N, 64) quantised blocks -> (N, 8, 8) uint8 (docstring above)."""
    by_row = np.ascontiguousarray(dequantise(coefficients, quant).transpose(1, 0, 2))
    ws = [o >> ZUNE_PASS1_SHIFT for o in zune_1d(*by_row, bias=ZUNE_PASS1_BIAS)]
    by_col = np.ascontiguousarray(np.stack(ws).transpose(2, 0, 1))
    y = [o >> ZUNE_PASS2_SHIFT for o in zune_1d(*by_col, bias=ZUNE_PASS2_BIAS)]
    return np.clip(np.stack(y).transpose(2, 1, 0), 0, MAXJSAMPLE).astype(np.uint8)


# jidctfst.c (JDCT_IFAST) for 8-bit samples: the Arai–Agui–Nakajima scaled transform with 8-bit
# constants, FIX(x) = round(x · 2^8).
IFAST_CONST_BITS = 8
IFAST_PASS1_BITS = 2
IFAST_SCALE_BITS = 2  # jdct.h: the multiplier table carries PASS1_BITS of scale (8-bit samples)
AAN_SCALE_BITS = 14  # jddctmgr.c: the AA&N scale factors' fixed point
IFAST_FIX_1_082392200 = 277
IFAST_FIX_1_414213562 = 362
IFAST_FIX_1_847759065 = 473
IFAST_FIX_2_613125930 = 669


def aan_scales() -> np.ndarray:
    """jddctmgr.c's AA&N factors: round(2^14 · f(v) · f(u)), f(0) = 1, f(k) = cos(kπ/16)·√2,
    as (64,) int64 in natural order [8·v + u]."""
    f = [1.0] + [math.cos(k * math.pi / 16) * math.sqrt(2) for k in range(1, DCTSIZE)]
    return np.array([math.floor(f[v] * f[u] * (1 << AAN_SCALE_BITS) + 0.5)
                     for v in range(DCTSIZE) for u in range(DCTSIZE)], dtype=np.int64)


AAN_SCALES = aan_scales()


def ifast_multipliers(quant: np.ndarray) -> np.ndarray:
    """jddctmgr.c's JDCT_IFAST table: DESCALE(q · aanscale, 14 − IFAST_SCALE_BITS), rounded half
    up: the quantiser with the AA&N output scaling folded in, (64,) int64 natural order."""
    n = AAN_SCALE_BITS - IFAST_SCALE_BITS
    return descale(np.asarray(quant, dtype=np.int64).reshape(64) * AAN_SCALES, n)


def _ifast_mul(v, c: int):
    """jidctfst.c MULTIPLY: v · c, descaled by CONST_BITS with a plain (floor) shift: the file
    leaves USE_ACCURATE_ROUNDING undefined."""
    return (v * c) >> IFAST_CONST_BITS


def ifast_1d(x0, x1, x2, x3, x4, x5, x6, x7):
    """jidctfst.c's 1-D AA&N kernel (P&M figure 4-8): 5 multiplies, products floored at once."""
    tmp10, tmp11 = x0 + x4, x0 - x4  # even part
    tmp13 = x2 + x6
    tmp12 = _ifast_mul(x2 - x6, IFAST_FIX_1_414213562) - tmp13
    t0, t3, t1, t2 = tmp10 + tmp13, tmp10 - tmp13, tmp11 + tmp12, tmp11 - tmp12
    z13, z10 = x5 + x3, x5 - x3  # odd part
    z11, z12 = x1 + x7, x1 - x7
    t7 = z11 + z13
    o11 = _ifast_mul(z11 - z13, IFAST_FIX_1_414213562)
    z5 = _ifast_mul(z10 + z12, IFAST_FIX_1_847759065)
    o10 = _ifast_mul(z12, IFAST_FIX_1_082392200) - z5
    o12 = _ifast_mul(z10, -IFAST_FIX_2_613125930) + z5
    t6 = o12 - t7
    t5 = o11 - t6
    t4 = o10 + t5
    return (t0 + t7, t1 + t6, t2 + t5, t3 - t4, t3 + t4, t2 - t5, t1 - t6, t0 - t7)


def ifast_core(coefficients: np.ndarray, quant: np.ndarray) -> np.ndarray:
    """jidctfst.c on (N, 64) quantised blocks: y (N, 8, 8) int64 [y][x] before the level shift.

    Pass 1 (columns) dequantises with :func:`ifast_multipliers` and keeps the results unscaled
    (they carry PASS1_BITS); pass 2 (rows) descales by PASS1_BITS + 3 with a floor shift (no
    rounding term: USE_ACCURATE_ROUNDING is off). The C code's shortcut for all-zero AC terms
    gives what the full kernel gives (every product of 0 is 0), so the kernel runs on every
    column and row. int64 throughout: the 16-bit DCTELEM of SIMD builds only wraps on absurd
    coefficients."""
    r = np.asarray(coefficients, dtype=np.int64).reshape(-1, DCTSIZE, DCTSIZE) * \
        ifast_multipliers(quant).reshape(DCTSIZE, DCTSIZE)
    by_row = np.ascontiguousarray(r.transpose(1, 0, 2))  # (v, N, u): input k of pass 1
    ws = ifast_1d(*by_row)  # ws[k]: (N, u), row k of the workspace
    by_col = np.ascontiguousarray(np.stack(ws).transpose(2, 0, 1))  # (u, row, N)
    y = [o >> (IFAST_PASS1_BITS + PASS2_EXTRA_BITS) for o in ifast_1d(*by_col)]
    return np.stack(y).transpose(2, 1, 0)  # (x, row, N) -> (N, row, x)


def ifast(coefficients: np.ndarray, quant: np.ndarray, *, limit: str = "saturate") -> np.ndarray:
    """libjpeg-turbo JDCT_IFAST (``jidctfst.c``; TensorFlow's default ``dct_method``, Pillow's
    draft mode) of (N, 64) quantised blocks -> (N, 8, 8) uint8, range-limited like :func:`islow`."""
    return range_limit(ifast_core(coefficients, quant), limit)


def _float_basis() -> np.ndarray:
    """M (64, 64) with s_flat = M @ R_flat: M[8y+x, 8v+u] = 1/4·C_u·C_v·cos((2x+1)uπ/16)·cos((2y+1)vπ/16).

    Entries with u, v ∈ {0, 4} are exactly ±1/8 (see the module docstring) and stored exactly.
    """
    k = np.arange(DCTSIZE)
    c = np.where(k == 0, 1 / math.sqrt(2), 1.0)
    # b[u, x] = C_u / 2 · cos((2x+1)uπ/16)
    b = c[:, None] / 2 * np.cos((2 * k[None, :] + 1) * k[:, None] * math.pi / 16)
    m = np.einsum("vy,ux->yxvu", b, b).reshape(64, 64)
    rational = np.isin(k, (0, 4))  # C_u·cos(...) = ±1/√2 exactly for u = 0 and u = 4
    sign = np.sign(b)
    exact = np.einsum("vy,ux->yxvu", sign, sign).reshape(64, 64) / 8
    mask = np.einsum("v,y,u,x->yxvu", rational, np.ones(8, bool), rational, np.ones(8, bool))
    return np.where(mask.reshape(64, 64), exact, m)


FLOAT_BASIS = _float_basis()


def float_core(dequantised: np.ndarray) -> np.ndarray:
    """T.81 A.3.3 in float64 on dequantised (N, 8, 8) [v][u] blocks -> s (N, 8, 8) [y][x]."""
    r = np.asarray(dequantised, dtype=np.float64).reshape(-1, 64)
    return (r @ FLOAT_BASIS.T).reshape(-1, DCTSIZE, DCTSIZE)


def float_idct(coefficients: np.ndarray, quant: np.ndarray) -> np.ndarray:
    """Exact float64 IDCT of (N, 64) quantised blocks -> (N, 8, 8) uint8: clamp(floor(s + 0.5) + 128)."""
    s = float_core(dequantise(coefficients, quant))
    return np.clip(np.floor(s + 0.5) + CENTERJSAMPLE, 0, MAXJSAMPLE).astype(np.uint8)



# ---------------------------------------------------------------------------------------------
# Reduced-size IDCTs: DCT-domain scaling (libjpeg-turbo jidctred.c)
# ---------------------------------------------------------------------------------------------

# jidctred.c constants, FIX(x) = round(x · 2^13) as the file hard-codes them for CONST_BITS = 13.
# Each is √2 times a sum of cosines c_k = cos(kπ/16): the 8-to-4 (or 8-to-2) step is the LL&M
# 8-point kernel followed by averaging adjacent outputs, simplified ("These steps were derived by
# computing the corresponding values at the end of the normal LL&M code").
FIX_0_211164243 = 1730  # √2·(c3 − c1)  (with its sign in the code)
FIX_0_509795579 = 4176  # √2·(c7 − c5)
FIX_0_601344887 = 4926  # √2·(c5 − c1)
FIX_0_720959822 = 5906  # √2·(c7 − c5 + c3 − c1)
FIX_0_850430095 = 6967  # √2·(−c1 + c3 + c5 + c7)
FIX_1_061594337 = 8697  # √2·(c5 + c7)
FIX_1_272758580 = 10426  # √2·(−c1 + c3 − c5 − c7)
FIX_1_451774981 = 11893  # √2·(c3 + c7)
FIX_2_172734803 = 17799  # √2·(−c1 − c5)
FIX_3_624509785 = 29692  # √2·(c1 + c3 + c5 + c7)
# FIX_1_847759065, FIX_0_765366865, FIX_0_899976223, FIX_2_562915447: the jidctint.c values above.

#: Output block sizes of the reduced transforms, by scale denominator 1/2, 1/4, 1/8.
REDUCED_SIZES = (4, 2, 1)


def idct_4x4_1d(x0, x1, x2, x3, x5, x6, x7):
    """jidctred.c's 8-to-4 kernel (``jpeg_idct_4x4``), before descaling: the four averages of
    adjacent outputs of the 8-point LL&M IDCT. Input 4 is never read (it cancels in the
    averages). Scaled by 2^(CONST_BITS + 1)."""
    # Even part
    tmp0 = x0 << (CONST_BITS + 1)
    tmp2 = x2 * FIX_1_847759065 + x6 * (-FIX_0_765366865)
    tmp10, tmp12 = tmp0 + tmp2, tmp0 - tmp2
    # Odd part: z1..z4 = x7, x5, x3, x1 as the C code names them
    z1, z2, z3, z4 = x7, x5, x3, x1
    tmp0 = (z1 * (-FIX_0_211164243) + z2 * FIX_1_451774981 + z3 * (-FIX_2_172734803)
            + z4 * FIX_1_061594337)
    tmp2 = (z1 * (-FIX_0_509795579) + z2 * (-FIX_0_601344887) + z3 * FIX_0_899976223
            + z4 * FIX_2_562915447)
    # Final output stage: outputs 0, 1, 2, 3
    return tmp10 + tmp2, tmp12 + tmp0, tmp12 - tmp0, tmp10 - tmp2


def idct_2x2_1d(x0, x1, x3, x5, x7):
    """jidctred.c's 8-to-2 kernel (``jpeg_idct_2x2``), before descaling: the two averages of
    four adjacent outputs. Inputs 2, 4 and 6 are never read. Scaled by 2^(CONST_BITS + 2)."""
    tmp10 = x0 << (CONST_BITS + 2)
    tmp0 = (x7 * (-FIX_0_720959822) + x5 * FIX_0_850430095 + x3 * (-FIX_1_272758580)
            + x1 * FIX_3_624509785)
    return tmp10 + tmp0, tmp10 - tmp0


def reduced_blocks(r: np.ndarray, size: int) -> np.ndarray:
    """jidctred.c block by block, as the C code runs, *with* its zero shortcuts: ``r`` (N, 8, 8)
    int64 dequantised [v][u] -> y (N, size, size) int64. The slow definition of
    :func:`reduced_core` (tests prove them equal, so the shortcuts are proven redundant)."""
    n_blocks = r.shape[0]
    out = np.empty((n_blocks, size, size), dtype=np.int64)
    for n in range(n_blocks):
        if size == 1:  # jpeg_idct_1x1
            out[n, 0, 0] = descale(int(r[n, 0, 0]), PASS2_EXTRA_BITS)
            continue
        ws = np.zeros((DCTSIZE, DCTSIZE), dtype=np.int64)
        skip = (4,) if size == 4 else (2, 4, 6)  # columns the second pass never reads
        odd_rows = (1, 2, 3, 5, 6, 7) if size == 4 else (1, 3, 5, 7)  # rows the first pass reads
        for u in range(DCTSIZE):
            if u in skip:
                continue
            col = [int(r[n, v, u]) for v in range(DCTSIZE)]
            if all(col[v] == 0 for v in odd_rows):  # "AC terms all zero"
                ws[:size, u] = col[0] << PASS1_BITS
            elif size == 4:
                o = idct_4x4_1d(col[0], col[1], col[2], col[3], col[5], col[6], col[7])
                ws[:4, u] = [descale(v, CONST_BITS - PASS1_BITS + 1) for v in o]
            else:
                o = idct_2x2_1d(col[0], col[1], col[3], col[5], col[7])
                ws[:2, u] = [descale(v, CONST_BITS - PASS1_BITS + 2) for v in o]
        for row in range(size):
            w = [int(v) for v in ws[row]]
            if all(w[k] == 0 for k in odd_rows):  # NO_ZERO_ROW_TEST is not defined
                out[n, row, :] = descale(w[0], PASS1_BITS + PASS2_EXTRA_BITS)
            elif size == 4:
                o = idct_4x4_1d(w[0], w[1], w[2], w[3], w[5], w[6], w[7])
                out[n, row, :] = [descale(v, CONST_BITS + PASS1_BITS + PASS2_EXTRA_BITS + 1) for v in o]
            else:
                o = idct_2x2_1d(w[0], w[1], w[3], w[5], w[7])
                out[n, row, :] = [descale(v, CONST_BITS + PASS1_BITS + PASS2_EXTRA_BITS + 2) for v in o]
    return out


def reduced_core(dequantised: np.ndarray, size: int) -> np.ndarray:
    """jidctred.c on dequantised (N, 8, 8) [v][u] blocks: y (N, size, size) int64 [y][x] before
    the level shift, for ``size`` 4 (``jpeg_idct_4x4``), 2 (``jpeg_idct_2x2``) or 1
    (``jpeg_idct_1x1``)::

        4x4: pass 1 (columns u ≠ 4): ws = DESCALE(K4(R column), CONST_BITS − PASS1_BITS + 1)  (>> 12)
             pass 2 (rows 0..3):     y  = DESCALE(K4(ws row), CONST_BITS + PASS1_BITS + 3 + 1) (>> 19)
        2x2: pass 1 (columns 0, 1, 3, 5, 7): ws = DESCALE(K2(R column), CONST_BITS − PASS1_BITS + 2) (>> 13)
             pass 2 (rows 0, 1):     y  = DESCALE(K2(ws row), CONST_BITS + PASS1_BITS + 3 + 2) (>> 20)
        1x1: y = DESCALE(R00, 3)    ("just take the DC coefficient divided by 8")

    The extra +1 / +2 of each shift is the averaging of 2 / 4 outputs per 1-D stage. The C code's
    shortcuts (a column whose AC inputs are zero: ws = R0 << PASS1_BITS; a row likewise:
    DESCALE(ws0, PASS1_BITS + 3)) give what the full formulas give ((R0·2^14 + 2^11) >> 12 =
    R0·4 and (w·2^14 + 2^18) >> 19 = (w + 16) >> 5; likewise for 2x2), so the full formulas run
    on every block here; :func:`reduced_blocks` is the C loop with the shortcuts, and the tests
    prove the two equal.
    """
    r = np.asarray(dequantised, dtype=np.int64)
    if size == 1:
        return descale(r[:, 0:1, 0:1], PASS2_EXTRA_BITS)
    if size == 4:
        by_row = np.ascontiguousarray(r.transpose(1, 0, 2))  # (v, N, u): input v of pass 1
        ws = [descale(o, CONST_BITS - PASS1_BITS + 1)
              for o in idct_4x4_1d(*by_row[[0, 1, 2, 3, 5, 6, 7]])]  # ws[k]: (N, u)
        by_col = np.ascontiguousarray(np.stack(ws).transpose(2, 0, 1))  # (u, row, N)
        y = [descale(o, CONST_BITS + PASS1_BITS + PASS2_EXTRA_BITS + 1)
             for o in idct_4x4_1d(*by_col[[0, 1, 2, 3, 5, 6, 7]])]
    elif size == 2:
        by_row = np.ascontiguousarray(r.transpose(1, 0, 2))
        ws = [descale(o, CONST_BITS - PASS1_BITS + 2) for o in idct_2x2_1d(*by_row[[0, 1, 3, 5, 7]])]
        by_col = np.ascontiguousarray(np.stack(ws).transpose(2, 0, 1))
        y = [descale(o, CONST_BITS + PASS1_BITS + PASS2_EXTRA_BITS + 2)
             for o in idct_2x2_1d(*by_col[[0, 1, 3, 5, 7]])]
    else:
        raise ValueError(f"no reduced IDCT of size {size}; known: {', '.join(map(str, REDUCED_SIZES))}")
    return np.stack(y).transpose(2, 1, 0)  # (x, row, N) -> (N, row, x)


# jddctmgr.c: a 1x1 block always runs the C jpeg_idct_1x1 (libjpeg-turbo has no SIMD kernel for
# it), so its range limit is the C table whatever the build: "wrap" even where the SIMD 4x4, 2x2
# and 8x8 kernels saturate (measured: a DC of ±750 at 1/8 wraps in Pillow and OpenCV).
RANGE_LIMIT_1X1 = "wrap"


def reduced(coefficients: np.ndarray, quant: np.ndarray, size: int, *,
            limit: str = "saturate") -> np.ndarray:
    """libjpeg-turbo's reduced IDCT of (N, 64) quantised blocks -> (N, size, size) uint8
    (:func:`reduced_core`), range-limited like :func:`islow` by ``limit`` (4x4 and 2x2: the
    x86-64 SSE2 kernels saturate, the C code wraps) except 1x1, always :data:`RANGE_LIMIT_1X1`.
    libjpeg-turbo runs these for a component whose scaled block size is 4, 2 or 1 whatever
    ``dct_method`` says (``jddctmgr.c start_pass``: "jidctred uses islow-style table")."""
    return range_limit(reduced_core(dequantise(coefficients, quant), size),
                       RANGE_LIMIT_1X1 if size == 1 else limit)
