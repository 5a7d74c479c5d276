"""Arithmetic entropy decoding of DCT scans: T.81 Annex D, F.2.4 (sequential), G.2 (progressive).

Three layers, each written as the standard's procedures with its names (the counterpart of
:mod:`.entropy` for SOF9 and SOF10):

1. **The decoder** (Annex D.2): the probability estimation state machine of Table D.3 (Qe_Value,
   Next_Index_LPS, Next_Index_MPS, Switch_MPS; D.2.4), DECODE (D.2.2) with conditional
   exchange (D.2.3), RENORMD (D.2.5), BYTEIN with the stuffed zero byte after every 0xFF (D.2.6,
   B.1.1.5) and INITDEC (D.2.7). A marker (0xFF followed by anything but
   0x00) ends the entropy-coded segment (ECS); from there on BYTEIN supplies zero bytes, as
   libjpeg-turbo's jdarith.c does: an arithmetic encoder may drop the final zero bytes of the
   flushed code register (D.1.8), so reading into the marker is *not* truncation here.
2. **Statistics areas and context selection** (F.1.4.4, F.2.4): per conditioning table Tb one
   DC area of 64 bins (S0 by the DC context of Table F.4: 0, 4, 8, 12, 16 for zero, small
   positive, small negative, large positive, large negative previous DIFF, classified by the
   DAC bounds L and U, F.1.4.4.1.2; SS = S0 + 1, SP = S0 + 2, SN = S0 + 3; X1..X15 = 20..34;
   M2..M15 = X + 14) and one AC area of 256 bins (SE = 3·(K - 1), S0 = SE + 1, SP/SN/X1 =
   SE + 2; X2.. at 189 if K <= Kx else 217; M = X + 14; F.1.4.4.2). The sign of an AC value and
   the bits of the DC refinement use the fixed estimate Qe = 0x5A1D that never adapts
   (F.1.4.3.1, G.2.1): state ``FIXED_STATE`` (libjpeg's jaricom.c entry 113). Every bin starts
   at index 0 with MPS = 0 at the start of each scan and of each restart interval (F.2.4.3,
   D.1.5); areas are shared by the components that select the same table.
3. **Blocks and scans**: Decode_DC_DIFF (Figure F.19) and Decode_V (Figures F.21 to F.24),
   Decode_AC_coefficients (Figure F.20), then per block one of

   - sequential DC + AC (F.2.4.1, F.2.4.2),
   - progressive DC first (G.2.1: the sequential DC procedure on point-transformed values),
     DC refinement (G.2.1: one bit per block with the fixed estimate),
   - progressive AC first (G.2.2: Figure F.20 over the band Ss..Se), AC refinement (G.2.3:
     EOB decisions only past the previous stage's end of block EOBx, a correction
     bit in SE + 2 for each coefficient with non-zero history, a new coefficient ±p1 decided in
     S0 and the fixed-estimate sign bin),

   and the scan loop over MCUs with restart intervals: at the end of each interval the ECS must
   end with its marker, the expected RSTm follows, and the statistics, the DC predictions and
   contexts and the decoder itself (INITDEC) start over.

Strictness (the same philosophy as :mod:`.entropy`; every case a non-zero error code that
:func:`scan_error` turns into a DecodeError naming scan, MCU, component and byte offset):

- the file ends (no marker) before the decoder is done with the ECS: truncated (B.2.1 needs a
  marker after every ECS);
- a magnitude category that doubles past 2^15 (libjpeg: "Corrupt JPEG data: bad arithmetic
  code", then it stops decoding the scan; F.1.4.4.1.3 bounds DIFF to 16 bits);
- a run of zero decisions that passes the end of the spectral band (Figure F.20 never leaves
  the band; libjpeg: "spectral overflow");
- a coefficient value outside 16-bit two's complement (F.2.4.3; libjpeg wraps the DC
  prediction modulo 2^16, which no conforming encoder relies on);
- whole bytes left between the last byte the decoder needs and the next marker (the flush of
  D.1.8 writes at most the bytes that INITDEC and RENORMD read, so a conforming ECS has none;
  libjpeg skips them with a warning); the expected RSTm missing or out of sequence (E.1.4).

The per-scan loop :func:`decode_scan` is plain Python (the specification) and
:data:`decode_scan_jit` is the same function compiled by numba; the helpers are
``register_jitable``. The decoder registers live in one int64 state vector (indices ``S_*``),
the statistics in one int64 vector of bins (``index | MPS << 7``, as libjpeg stores them).
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.extending import register_jitable

from ...errors import DecodeError
from .entropy import (AC_FIRST, COEFFICIENT_MAX, COEFFICIENT_MIN, DC_FIRST,
                      DC_REFINE, ERR_COEFFICIENT_RANGE, ERR_EXTRANEOUS_DATA,
                      ERR_RESTART_MISSING, ERR_RESTART_SEQUENCE, ERR_RUN_PAST_BAND,
                      ERR_TRUNCATED, KIND_NAMES, LAST_COEFFICIENT, OK, RESTART_MODULUS, SEQUENTIAL,
                      error_site, restart_message, segment_end)
from .model import ZIGZAG

# ---------------------------------------------------------------------------------------------
# Table D.3: Qe_Value, Next_Index_LPS, Next_Index_MPS, Switch_MPS for Qe_Index 0..112, plus
# FIXED_STATE = 113: Qe = 0x5A1D and a state that never moves (the fixed 0.5 estimate).
# ---------------------------------------------------------------------------------------------

TABLE_D3 = (
    (0x5A1D, 1, 1, 1), (0x2586, 14, 2, 0), (0x1114, 16, 3, 0), (0x080B, 18, 4, 0),
    (0x03D8, 20, 5, 0), (0x01DA, 23, 6, 0), (0x00E5, 25, 7, 0), (0x006F, 28, 8, 0),
    (0x0036, 30, 9, 0), (0x001A, 33, 10, 0), (0x000D, 35, 11, 0), (0x0006, 9, 12, 0),
    (0x0003, 10, 13, 0), (0x0001, 12, 13, 0), (0x5A7F, 15, 15, 1), (0x3F25, 36, 16, 0),
    (0x2CF2, 38, 17, 0), (0x207C, 39, 18, 0), (0x17B9, 40, 19, 0), (0x1182, 42, 20, 0),
    (0x0CEF, 43, 21, 0), (0x09A1, 45, 22, 0), (0x072F, 46, 23, 0), (0x055C, 48, 24, 0),
    (0x0406, 49, 25, 0), (0x0303, 51, 26, 0), (0x0240, 52, 27, 0), (0x01B1, 54, 28, 0),
    (0x0144, 56, 29, 0), (0x00F5, 57, 30, 0), (0x00B7, 59, 31, 0), (0x008A, 60, 32, 0),
    (0x0068, 62, 33, 0), (0x004E, 63, 34, 0), (0x003B, 32, 35, 0), (0x002C, 33, 9, 0),
    (0x5AE1, 37, 37, 1), (0x484C, 64, 38, 0), (0x3A0D, 65, 39, 0), (0x2EF1, 67, 40, 0),
    (0x261F, 68, 41, 0), (0x1F33, 69, 42, 0), (0x19A8, 70, 43, 0), (0x1518, 72, 44, 0),
    (0x1177, 73, 45, 0), (0x0E74, 74, 46, 0), (0x0BFB, 75, 47, 0), (0x09F8, 77, 48, 0),
    (0x0861, 78, 49, 0), (0x0706, 79, 50, 0), (0x05CD, 48, 51, 0), (0x04DE, 50, 52, 0),
    (0x040F, 50, 53, 0), (0x0363, 51, 54, 0), (0x02D4, 52, 55, 0), (0x025C, 53, 56, 0),
    (0x01F8, 54, 57, 0), (0x01A4, 55, 58, 0), (0x0160, 56, 59, 0), (0x0125, 57, 60, 0),
    (0x00F6, 58, 61, 0), (0x00CB, 59, 62, 0), (0x00AB, 61, 63, 0), (0x008F, 61, 32, 0),
    (0x5B12, 65, 65, 1), (0x4D04, 80, 66, 0), (0x412C, 81, 67, 0), (0x37D8, 82, 68, 0),
    (0x2FE8, 83, 69, 0), (0x293C, 84, 70, 0), (0x2379, 86, 71, 0), (0x1EDF, 87, 72, 0),
    (0x1AA9, 87, 73, 0), (0x174E, 72, 74, 0), (0x1424, 72, 75, 0), (0x119C, 74, 76, 0),
    (0x0F6B, 74, 77, 0), (0x0D51, 75, 78, 0), (0x0BB6, 77, 79, 0), (0x0A40, 77, 48, 0),
    (0x5832, 80, 81, 1), (0x4D1C, 88, 82, 0), (0x438E, 89, 83, 0), (0x3BDD, 90, 84, 0),
    (0x34EE, 91, 85, 0), (0x2EAE, 92, 86, 0), (0x299A, 93, 87, 0), (0x2516, 86, 71, 0),
    (0x5570, 88, 89, 1), (0x4CA9, 95, 90, 0), (0x44D9, 96, 91, 0), (0x3E22, 97, 92, 0),
    (0x3824, 99, 93, 0), (0x32B4, 99, 94, 0), (0x2E17, 93, 86, 0), (0x56A8, 95, 96, 1),
    (0x4F46, 101, 97, 0), (0x47E5, 102, 98, 0), (0x41CF, 103, 99, 0), (0x3C3D, 104, 100, 0),
    (0x375E, 99, 93, 0), (0x5231, 105, 102, 0), (0x4C0F, 106, 103, 0), (0x4639, 107, 104, 0),
    (0x415E, 103, 99, 0), (0x5627, 105, 106, 1), (0x50E7, 108, 107, 0), (0x4B85, 109, 103, 0),
    (0x5597, 110, 109, 0), (0x504F, 111, 107, 0), (0x5A10, 110, 111, 1), (0x5522, 112, 109, 0),
    (0x59EB, 112, 111, 1),
    (0x5A1D, 113, 113, 0),  # FIXED_STATE: the fixed estimate (libjpeg jaricom.c entry 113)
)
FIXED_STATE = 113
QE_VALUE = np.array([row[0] for row in TABLE_D3], dtype=np.int64)
NEXT_INDEX_LPS = np.array([row[1] for row in TABLE_D3], dtype=np.int64)
NEXT_INDEX_MPS = np.array([row[2] for row in TABLE_D3], dtype=np.int64)
SWITCH_MPS = np.array([row[3] for row in TABLE_D3], dtype=np.int64)

MPS_SHIFT = 7  # a bin is Qe_Index | MPS << 7
INDEX_MASK = 0x7F
A_ONE = 0x10000  # D.2.2: A = X'10000' (1.0) after INITDEC
A_MIN = 0x8000  # RENORMD keeps A >= 0.75 (X'8000')
CX_SHIFT = 16  # C: Cx (compared with A) in bits 16..31, input bytes enter at bits 8..15
MAGNITUDE_LIMIT = 0x8000  # F.1.4.4.1.3: a magnitude category never reaches 2^15 (16-bit DIFF)

# Statistics areas (F.1.4.4): one vector of bins per scan.
NUM_CONDITIONING_TABLES = 4  # Table B.6: Tb in 0..3
DC_STAT_BINS = 64  # Table F.4 uses 49 (S0 up to 16 + 3, X1..X15 = 20..34, M = X + 14)
AC_STAT_BINS = 256  # F.1.4.4.2 uses 245 (SE up to 186 + 2, X2.. at 189/217 + 13, M = X + 14)
AC_AREA_BASE = NUM_CONDITIONING_TABLES * DC_STAT_BINS
FIXED_BIN = AC_AREA_BASE + NUM_CONDITIONING_TABLES * AC_STAT_BINS
STATS_SIZE = FIXED_BIN + 1
DC_X1 = 20  # Table F.4: X1
M_OFFSET = 14  # Table F.4 / F.1.4.4.2: Mk = Xk + 14
AC_X2_LOW, AC_X2_HIGH = 189, 217  # F.1.4.4.2: X2 for K <= Kx, K > Kx
DC_CONTEXT_ZERO, DC_CONTEXT_SMALL, DC_CONTEXT_LARGE = 0, 4, 12  # Table F.4 (+4 if negative)

DEFAULT_DC_L, DEFAULT_DC_U, DEFAULT_AC_KX = 0, 1, 5  # F.1.4.4.1.4, F.1.4.4.2.1 (no DAC)

# State vector.
S_POS = 0  # offset of the next byte BYTEIN reads
S_A = 1  # interval register A
S_C = 2  # code register C (Cx = C >> 16)
S_CT = 3  # bits left in the low byte of C before BYTEIN
S_ENDED = 4  # 1 once BYTEIN met the marker ending the ECS (it then supplies zeros)
S_HIT_EOF = 5  # 1 if the data ended (no marker) while BYTEIN still needed bytes
S_ERR_VALUE = 6
S_ERR_MCU = 7
S_ERR_BLOCK = 8
STATE_SIZE = 9

# Error codes beyond those of :mod:`.entropy`.
ERR_MAGNITUDE = 20


# ---------------------------------------------------------------------------------------------
# Annex D.2: the decoder
# ---------------------------------------------------------------------------------------------


@register_jitable
def byte_in(data, state):
    """D.2.6 BYTEIN: add the next byte B of the ECS to C at bits 8..15, CT = 8.

    0xFF 0x00 is one data byte 0xFF (the 0x00 was stuffed, B.1.1.5). 0xFF followed by anything
    else is a marker: the ECS has ended, ``S_POS`` stays on the marker and B = 0 from now on
    (libjpeg-turbo jdarith.c "supply zero data"). The end of the data is the same, but flagged
    in S_HIT_EOF: an ECS is always followed by a marker (B.2.1).
    """
    n = data.shape[0]
    pos = state[S_POS]
    b = 0
    if state[S_ENDED] == 0:
        if pos >= n:
            state[S_ENDED] = 1
            state[S_HIT_EOF] = 1
        elif data[pos] != 0xFF:
            b = int(data[pos])
            state[S_POS] = pos + 1
        elif pos + 1 < n and data[pos + 1] == 0x00:
            b = 0xFF
            state[S_POS] = pos + 2
        else:
            state[S_ENDED] = 1
            if pos + 1 >= n:
                state[S_HIT_EOF] = 1
    state[S_C] += b << 8
    state[S_CT] = 8


@register_jitable
def init_decoder(data, state):
    """D.2.7 INITDEC: C = the first two bytes in Cx, A = X'10000', CT = 0."""
    state[S_ENDED] = 0
    state[S_C] = 0
    byte_in(data, state)
    state[S_C] <<= 8
    byte_in(data, state)
    state[S_C] <<= 8
    state[S_CT] = 0
    state[S_A] = A_ONE


@register_jitable
def renorm_d(data, state):
    """D.2.5 RENORMD: double A and C until A >= X'8000', a BYTEIN every 8 shifts."""
    a = state[S_A]
    while True:
        if state[S_CT] == 0:
            byte_in(data, state)
        a <<= 1
        state[S_C] <<= 1
        state[S_CT] -= 1
        if a >= A_MIN:
            break
    state[S_A] = a


@register_jitable
def decode(data, state, stats, s):
    """D.2.2 DECODE(S): the decision D (0 or 1) coded with the estimate in bin ``s``.

        A = A - Qe(S)
        Cx < A:  A < X'8000': D = Cond_MPS_exchange(S), RENORMD   (D.2.3)
                 else:        D = MPS(S)
        else:    D = Cond_LPS_exchange(S), RENORMD                 (D.2.3)

    with the estimation of D.2.4: after an LPS Qe_Index = Next_Index_LPS (MPS switched if
    Switch_MPS), after an MPS that renormalises Qe_Index = Next_Index_MPS.
    """
    sv = stats[s]
    index = sv & INDEX_MASK
    mps = sv >> MPS_SHIFT
    qe = QE_VALUE[index]
    a = state[S_A] - qe
    if (state[S_C] >> CX_SHIFT) < a:
        if a >= A_MIN:
            state[S_A] = a
            return mps
        # Cond_MPS_exchange
        if a < qe:
            d = 1 - mps
            stats[s] = NEXT_INDEX_LPS[index] | ((mps ^ SWITCH_MPS[index]) << MPS_SHIFT)
        else:
            d = mps
            stats[s] = NEXT_INDEX_MPS[index] | (mps << MPS_SHIFT)
        state[S_A] = a
    else:
        # Cond_LPS_exchange
        state[S_C] -= a << CX_SHIFT
        if a < qe:
            d = mps
            stats[s] = NEXT_INDEX_MPS[index] | (mps << MPS_SHIFT)
        else:
            d = 1 - mps
            stats[s] = NEXT_INDEX_LPS[index] | ((mps ^ SWITCH_MPS[index]) << MPS_SHIFT)
        state[S_A] = qe
    renorm_d(data, state)
    return d


@register_jitable
def reset_statistics(stats):
    """F.2.4.3 / D.1.5: every bin to Qe_Index 0, MPS 0; the fixed bin to FIXED_STATE."""
    for i in range(STATS_SIZE):
        stats[i] = 0
    stats[FIXED_BIN] = FIXED_STATE


# ---------------------------------------------------------------------------------------------
# F.2.4: values, DC and AC
# ---------------------------------------------------------------------------------------------


@register_jitable
def decode_dc_diff(data, state, stats, area, context, c, cond_l, cond_u):
    """Figure F.19 Decode_DC_DIFF with Decode_V (F.21-F.24) in the DC area of table ``area``.

        S0 = DC context of component c (Table F.4); DECODE(S0) = 0: DIFF = 0, context 0
        else: SIGN = DECODE(SS); M from SP or SN (Figure F.23), then X1..X15; bits in M2..M15;
              context from the magnitude M against L and U (F.1.4.4.1.2); DIFF = ±(Sz + 1)

    Returns (DIFF, error).
    """
    base = area * DC_STAT_BINS
    s0 = base + context[c]
    if decode(data, state, stats, s0) == 0:
        context[c] = DC_CONTEXT_ZERO
        return 0, OK
    sign = decode(data, state, stats, s0 + 1)  # Figure F.22: SS
    st = s0 + 2 + sign  # SP or SN
    m = decode(data, state, stats, st)
    if m != 0:
        st = base + DC_X1
        while decode(data, state, stats, st):
            m <<= 1
            if m == MAGNITUDE_LIMIT:
                state[S_ERR_VALUE] = m
                return 0, ERR_MAGNITUDE
            st += 1
    # F.1.4.4.1.2: classify for the next block's S0 (Table F.3 bounds 2^(L-1), 2^(U-1) on M)
    if m < (1 << cond_l) >> 1:
        context[c] = DC_CONTEXT_ZERO
    elif m > (1 << cond_u) >> 1:
        context[c] = DC_CONTEXT_LARGE + 4 * sign
    else:
        context[c] = DC_CONTEXT_SMALL + 4 * sign
    v = magnitude_bits(data, state, stats, st, m)
    return (-v if sign else v), OK


@register_jitable
def magnitude_bits(data, state, stats, st, m):
    """Figure F.24 (Decode_V's last part), for DC and AC alike: with M the top bit of the
    magnitude and ``st`` the statistics bin of its last X decision, the bits below M are decoded
    in the M bins (``st + M_OFFSET``), high to low; returns Sz + 1, the absolute value."""
    v = m
    st += M_OFFSET
    m >>= 1
    while m:
        if decode(data, state, stats, st):
            v |= m
        m >>= 1
    return v + 1


@register_jitable
def decode_block_dc(data, state, stats, coef, blk, pred, context, c, area, al, cond_l, cond_u):
    """F.2.4.1 (sequential, Al = 0) and G.2.1 DC first: PRED = PRED + DIFF; ZZ(0) = PRED · 2^Al."""
    diff, err = decode_dc_diff(data, state, stats, area, context, c, cond_l, cond_u)
    if err != OK:
        return err
    p = pred[c] + diff
    value = p * (1 << al)
    if value < COEFFICIENT_MIN or value > COEFFICIENT_MAX:
        state[S_ERR_VALUE] = value
        return ERR_COEFFICIENT_RANGE
    pred[c] = p
    coef[blk, 0] = value
    return OK


@register_jitable
def decode_block_ac(data, state, stats, coef, blk, area, ss, se, al, kx):
    """Figure F.20 Decode_AC_coefficients over the band Ss..Se (sequential: 1..63, Al = 0; G.2.2
    AC first: values scaled by 2^Al).

        K = Ss; loop: SE = 3·(K - 1); DECODE(SE) = 1: EOB, done
              while DECODE(S0 = SE + 1) = 0: K = K + 1 (a zero coefficient; never past Se)
              SIGN = DECODE(fixed); Sz from SE + 2 (SP/SN and X1), X2.. at 189 or 217 (Kx)
              ZZ(K) = ±(Sz + 1) · 2^Al; K = K + 1, done after Se
    """
    base = AC_AREA_BASE + area * AC_STAT_BINS
    k = ss
    while k <= se:
        st = base + 3 * (k - 1)
        if decode(data, state, stats, st):
            break  # EOB
        while decode(data, state, stats, st + 1) == 0:
            st += 3
            k += 1
            if k > se:
                state[S_ERR_VALUE] = k
                return ERR_RUN_PAST_BAND
        sign = decode(data, state, stats, FIXED_BIN)
        st += 2
        m = decode(data, state, stats, st)
        if m != 0:
            if decode(data, state, stats, st):  # X1 = SE + 2 as well
                m <<= 1
                st = base + (AC_X2_LOW if k <= kx else AC_X2_HIGH)
                while decode(data, state, stats, st):
                    m <<= 1
                    if m == MAGNITUDE_LIMIT:
                        state[S_ERR_VALUE] = m
                        return ERR_MAGNITUDE
                    st += 1
        v = magnitude_bits(data, state, stats, st, m)
        value = (-v if sign else v) * (1 << al)
        if value < COEFFICIENT_MIN or value > COEFFICIENT_MAX:
            state[S_ERR_VALUE] = value
            return ERR_COEFFICIENT_RANGE
        coef[blk, ZIGZAG[k]] = value
        k += 1
    return OK


@register_jitable
def decode_block_dc_refine(data, state, stats, coef, blk, al):
    """G.2.1 DC refinement: bit Al of the DC coefficient, decided with the fixed estimate."""
    if decode(data, state, stats, FIXED_BIN):
        coef[blk, 0] |= 1 << al
    return OK


@register_jitable
def decode_block_ac_refine(data, state, stats, coef, blk, area, ss, se, al):
    """G.2.3 AC refinement of the band Ss..Se at bit position Al (p1 = 2^Al).

    EOBx is the end of block of the previous stages (the last coefficient of the band with
    non-zero history); the EOB decision in SE is only made for K > EOBx. Then for each K:
    a coefficient with non-zero history gets a correction bit in SE + 2 (1: the magnitude grows
    by p1); a zero-history one is new if DECODE(S0 = SE + 1) = 1, with value +p1 or -p1 by the
    fixed-estimate sign decision; else it stays zero and K moves on (never past Se).
    """
    base = AC_AREA_BASE + area * AC_STAT_BINS
    p1 = 1 << al
    m1 = -1 << al
    kex = se
    while kex > 0 and coef[blk, ZIGZAG[kex]] == 0:
        kex -= 1
    k = ss
    while k <= se:
        st = base + 3 * (k - 1)
        if k > kex:
            if decode(data, state, stats, st):
                break  # EOB
        while True:
            z = ZIGZAG[k]
            if coef[blk, z] != 0:
                if decode(data, state, stats, st + 2):
                    coef[blk, z] += m1 if coef[blk, z] < 0 else p1
                break
            if decode(data, state, stats, st + 1):
                coef[blk, z] = m1 if decode(data, state, stats, FIXED_BIN) else p1
                break
            st += 3
            k += 1
            if k > se:
                state[S_ERR_VALUE] = k
                return ERR_RUN_PAST_BAND
        k += 1
    return OK


# ---------------------------------------------------------------------------------------------
# Scans
# ---------------------------------------------------------------------------------------------


@register_jitable
def finish_segment(data, state, expect_restart, restart_index):
    """End of an ECS (after the last MCU of a restart interval or of the scan).

    The data must not have ended without a marker (truncated); no whole byte may remain before
    the marker (extraneous data, S_ERR_VALUE = their number); fill bytes are skipped (B.1.1.2);
    an expected RSTm must be RST(restart_index) and the decoder restarts after it (INITDEC);
    otherwise S_POS is left on the marker for the reader.
    """
    n = data.shape[0]
    if state[S_HIT_EOF]:
        state[S_POS] = n
        return ERR_TRUNCATED
    code, pos, value = segment_end(data, state[S_POS], 0, expect_restart, restart_index)
    if code != ERR_EXTRANEOUS_DATA:  # extraneous data is reported where the ECS ended
        state[S_POS] = pos
    if code != OK or value != 0:
        state[S_ERR_VALUE] = value
    return code


def decode_scan(data, coef, mcus_x, mcus_y, restart_interval, blk_comp, blk_dy, blk_dx,
                comp_base, comp_bw, comp_h, comp_v, comp_dc, comp_ac, kind, ss, se, al,
                cond_l, cond_u, cond_kx, state):
    """Decode one arithmetic-coded scan into ``coef`` (natural order, quantised).

    The arguments are those of :func:`.entropy.decode_scan` except the tables: ``comp_dc`` and
    ``comp_ac`` are the conditioning tables Tdj/Taj (0..3) of each scan component, and
    ``cond_l``/``cond_u``/``cond_kx`` (4 entries each) the DAC conditioning of each table.
    ``state`` is an arithmetic STATE_SIZE vector with ``state[S_POS]`` at the first byte after
    the SOS header. Returns OK (``state[S_POS]`` on the marker after the ECS) or an error code
    with S_ERR_MCU/S_ERR_BLOCK/S_ERR_VALUE set.
    """
    pred = np.zeros(4, dtype=np.int64)  # F.2.1.3.1 / G.2.1: PRED per scan component
    context = np.zeros(4, dtype=np.int64)  # Table F.4: DC context (S0 offset) per component
    stats = np.zeros(STATS_SIZE, dtype=np.int64)
    reset_statistics(stats)
    state[S_HIT_EOF] = 0
    init_decoder(data, state)
    total = mcus_x * mcus_y
    nblk = blk_comp.shape[0]
    restart_index = 0
    for m in range(total):
        if restart_interval > 0 and m > 0 and m % restart_interval == 0:
            state[S_ERR_MCU] = m
            state[S_ERR_BLOCK] = -1
            e = finish_segment(data, state, True, restart_index)
            if e != OK:
                return e
            restart_index = (restart_index + 1) % RESTART_MODULUS
            for c in range(4):
                pred[c] = 0
                context[c] = 0
            reset_statistics(stats)
            init_decoder(data, state)
        my = m // mcus_x
        mx = m - my * mcus_x
        for b in range(nblk):
            c = blk_comp[b]
            blk = comp_base[c] + (my * comp_v[c] + blk_dy[b]) * comp_bw[c] + mx * comp_h[c] \
                + blk_dx[b]
            td = comp_dc[c]
            ta = comp_ac[c]
            if kind == SEQUENTIAL:
                e = decode_block_dc(data, state, stats, coef, blk, pred, context, c, td, 0,
                                    cond_l[td], cond_u[td])
                if e == OK:
                    e = decode_block_ac(data, state, stats, coef, blk, ta, 1, LAST_COEFFICIENT,
                                        0, cond_kx[ta])
            elif kind == DC_FIRST:
                e = decode_block_dc(data, state, stats, coef, blk, pred, context, c, td, al,
                                    cond_l[td], cond_u[td])
            elif kind == DC_REFINE:
                e = decode_block_dc_refine(data, state, stats, coef, blk, al)
            elif kind == AC_FIRST:
                e = decode_block_ac(data, state, stats, coef, blk, ta, ss, se, al, cond_kx[ta])
            else:
                e = decode_block_ac_refine(data, state, stats, coef, blk, ta, ss, se, al)
            if e == OK and state[S_HIT_EOF]:
                e = ERR_TRUNCATED
            if e != OK:
                state[S_ERR_MCU] = m
                state[S_ERR_BLOCK] = b
                return e
    state[S_ERR_MCU] = total
    state[S_ERR_BLOCK] = -1
    return finish_segment(data, state, False, 0)


# Same source, compiled; cached on disk so only the first run pays the compilation.
decode_scan_jit = njit(cache=True)(decode_scan)


# ---------------------------------------------------------------------------------------------
# Error reporting
# ---------------------------------------------------------------------------------------------


def scan_error(code: int, state: np.ndarray, data: np.ndarray, *, scan: int, kind: int,
               total_mcus: int, restart_interval: int, block_components: list[int],
               source: str) -> DecodeError:
    """The DecodeError for a non-zero return of :func:`decode_scan`; the offset is the next byte
    the decoder would read (arithmetic decisions do not map to single bits of the file)."""
    where, expected_restart = error_site(
        int(state[S_ERR_MCU]), int(state[S_ERR_BLOCK]), scan=scan,
        label=f"arithmetic, {KIND_NAMES[kind]}", total_mcus=total_mcus,
        restart_interval=restart_interval, block_components=block_components)
    value = int(state[S_ERR_VALUE])
    offset = int(state[S_POS])
    if code == ERR_TRUNCATED:
        message = ("truncated entropy-coded data: the file ends before the decoder is done with "
                   "the segment (T.81 B.2.1: a marker follows every entropy-coded segment)")
    elif code == ERR_MAGNITUDE:
        message = ("the magnitude category of a value reaches 2^15, beyond a 16-bit difference "
                   "(T.81 F.1.4.4.1.3, Figure F.23; libjpeg: bad arithmetic code)")
    elif code == ERR_RUN_PAST_BAND:
        message = (f"zero-coefficient decisions reach zig-zag position {value}, past the end of "
                   "the spectral band (T.81 Figure F.20, G.2.3)")
    elif code == ERR_COEFFICIENT_RANGE:
        message = (f"coefficient value {value} is outside the 16-bit range -32768..32767 "
                   "(T.81 F.2.4.3)")
    elif code == ERR_EXTRANEOUS_DATA:
        message = (f"{value} byte(s) of extra data after the last byte the arithmetic decoder "
                   "needs for the restart interval or scan, before the next marker (T.81 D.1.8, "
                   "B.1.1.5)")
    elif code in (ERR_RESTART_MISSING, ERR_RESTART_SEQUENCE):
        message = restart_message(code, value, expected_restart)
    else:  # pragma: no cover - every code above is handled
        message = f"arithmetic decoding error {code}"
    return DecodeError(f"{where}: {message}", source=source, offset=offset)
