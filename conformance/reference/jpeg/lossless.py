"""Lossless sequential JPEG with Huffman coding (SOF3): T.81 Annex H, as libjpeg-turbo 3 decodes it.

A lossless scan codes, for every sample, the difference between the sample and a prediction
from its neighbours (H.1.2). Decoding is two steps, the same split as libjpeg-turbo's
``jdlhuff.c`` (entropy decoding of differences) and ``jdlossls.c``/``jddiffct.c``
(undifferencing, "prediction + difference", and the point transform):

1. **Differences** (H.1.2.2, with the Huffman procedures of F.2.2 reused from :mod:`.entropy`):
   per sample, SSSS = DECODE with the component's DC table (Tdj), then

   - SSSS = 0: difference 0;
   - SSSS = 1..15: EXTEND(RECEIVE(SSSS), SSSS) (Figure F.12, as for a DC difference);
   - SSSS = 16: difference 32768, no additional bits (Table H.2; libjpeg-turbo jdlhuff.c);
   - SSSS > 16: error (Table H.2 has categories 0..16; a DecodeError here).

   The MCU (A.2.3, H.1.1 with a data unit of one sample) of an interleaved scan is, for each
   scan component in order, Vi rows of Hi samples; a non-interleaved scan codes one sample per
   MCU over the component's own ceil(X·Hi/Hmax) × ceil(Y·Vi/Vmax) grid. The samples of
   interleaved MCUs beyond the component's size (the padding to whole MCUs) are decoded and
   discarded, as libjpeg-turbo discards them (it undifferences ``width_in_blocks`` samples per row
   and ``last_row_height`` rows of the last MCU row).

2. **Reconstruction** (H.1.2.1, Table H.1), per component row, with Ra = left, Rb = above,
   Rc = above-left, all reconstructed values *before* the point transform:

   ===  ============================  ===  ===============================
   1    Px = Ra                       5    Px = Ra + ((Rb − Rc) >> 1)
   2    Px = Rb                       6    Px = Rb + ((Ra − Rc) >> 1)
   3    Px = Rc                       7    Px = (Ra + Rb) >> 1
   4    Px = Ra + Rb − Rc
   ===  ============================  ===  ===============================

   (``>>`` is an arithmetic shift, libjpeg's RIGHT_SHIFT.) The first row of the scan, and of
   each restart interval, uses predictor 1 with Px = 2^(P − Pt − 1) for its first sample; every
   other row uses predictor 2 (Rb) for its first sample and the scan's predictor (Ss) for the
   rest. The reconstructed value is (Px + difference) mod 2^16 (H.1.2.1: "modulo 2^16"), and the
   output sample is that value shifted left by Pt (Al), cut to 8 bits as libjpeg-turbo's
   ``(JSAMPLE)`` cast does. A valid file never makes a value exceed 2^(P−Pt) − 1; if one does,
   the reader keeps decoding like libjpeg-turbo and adds a warning.

**libjpeg-turbo's restart rule** (``jddiffct.c``), followed here: the undifferencer is reset to
the first-row procedure when a restart marker is processed, but rows are undifferenced only
after a whole iMCU row has been entropy-decoded. An interleaved scan's iMCU row is one MCU row,
so there this is exactly T.81. In a *non-interleaved* scan of a component with Vi > 1 the iMCU
row is Vi component rows; a restart inside it makes the iMCU row's *first* row the "first row"
(and not the row where the interval starts). T.81 would reset at the interval's first row;
libjpeg-turbo (hence Pillow and OpenCV) does not, and the reference decodes as they do. Writers
that put one restart interval per iMCU row or more (libjpeg-turbo's own) are not affected.

libjpeg-turbo also requires the restart interval to be a whole number of MCU rows
(``jddiffct.c start_input_pass``, JERR_BAD_RESTART), so that every interval starts at the
beginning of a line, which is where H.1.2.1 resets the prediction; other intervals are a
DecodeError here too.

Strictness: the error cases of :mod:`.entropy` (truncation, bad codes, extraneous bytes,
missing or out-of-sequence RSTm) with the same messages, plus a difference category above 16.

:func:`decode_scan` (plain Python, the specification) and :data:`decode_scan_jit` (numba) share
one source, as in :mod:`.entropy`; :func:`undifference` likewise.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.extending import register_jitable

from ...errors import DecodeError
from . import entropy
from .entropy import (ERR_BAD_CODE, ERR_TRUNCATED, MAX_CODE_LENGTH, OK, S_ACC, S_ERR_BLOCK,
                      S_ERR_MCU, S_ERR_VALUE, S_FAKE, S_NBITS, S_POS, code_window, extend,
                      fill_bits, finish_segment, huffman_decode_lookup, reached_past_end,
                      receive)

LOSSLESS = 5  # scan kind (next to entropy.SEQUENTIAL .. AC_REFINE)
MAX_LOSSLESS_CATEGORY = 16  # Table H.2: SSSS 0..16
CATEGORY_16_DIFFERENCE = 32768  # Table H.2 / H.1.2.2: SSSS = 16 has no additional bits
SAMPLE_MODULUS_MASK = 0xFFFF  # H.1.2.1: reconstruction modulo 2^16
MIN_PREDICTOR, MAX_PREDICTOR = 1, 7  # Table H.1 (0 is for differential frames only)
ERR_LOSSLESS_CATEGORY = 20  # a difference category above 16


@register_jitable
def decode_difference(data, state, dc_t, tables):
    """H.1.2.2: one sample difference with table slot ``dc_t``. Returns (err, difference)."""
    lookup, maxcode, mincode, valptr, huffval = tables
    pos, acc, nbits, fake = state[S_POS], state[S_ACC], state[S_NBITS], state[S_FAKE]
    if nbits < MAX_CODE_LENGTH:
        pos, acc, nbits, fake = fill_bits(data, pos, acc, nbits, fake)
    t, size = huffman_decode_lookup(code_window(acc, nbits), dc_t, lookup, maxcode, mincode,
                                   valptr, huffval)
    err = OK
    diff = 0
    if t < 0:
        err = ERR_BAD_CODE
    elif t > MAX_LOSSLESS_CATEGORY:
        state[S_ERR_VALUE] = t
        err = ERR_LOSSLESS_CATEGORY
    else:
        nbits -= size
        if t == MAX_LOSSLESS_CATEGORY:
            diff = CATEGORY_16_DIFFERENCE
        elif t > 0:
            bits, pos, acc, nbits, fake = receive(data, pos, acc, nbits, fake, t)
            diff = extend(bits, t)
    state[S_POS], state[S_ACC], state[S_NBITS], state[S_FAKE] = pos, acc, nbits, fake
    return err, diff


def decode_scan(data, diff, mcus_x, mcus_y, restart_interval, blk_comp, blk_dy, blk_dx,
                comp_base, comp_stride, comp_h, comp_v, comp_dc, tables, state):
    """Entropy-decode one lossless scan's differences into ``diff`` (flat int32).

    Sample (row, col) of scan component c is ``diff[comp_base[c] + row · comp_stride[c] + col]``;
    MCU (my, mx) block b (one sample) is at row my·comp_v[c] + blk_dy[b], column
    mx·comp_h[c] + blk_dx[b] of component ``blk_comp[b]`` (the layout of :mod:`.entropy`).
    Returns OK or an error code, with the state conventions of :func:`.entropy.decode_scan`.
    """
    state[S_ACC] = 0
    state[S_NBITS] = 0
    state[S_FAKE] = 0
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
            restart_index = (restart_index + 1) % entropy.RESTART_MODULUS
        my = m // mcus_x
        mx = m - my * mcus_x
        for b in range(nblk):
            c = blk_comp[b]
            e, d = decode_difference(data, state, comp_dc[c], tables)
            if reached_past_end(state, e):
                e = ERR_TRUNCATED
            if e != OK:
                state[S_ERR_MCU] = m
                state[S_ERR_BLOCK] = b
                return e
            diff[comp_base[c] + (my * comp_v[c] + blk_dy[b]) * comp_stride[c]
                 + mx * comp_h[c] + blk_dx[b]] = d
    state[S_ERR_MCU] = total
    state[S_ERR_BLOCK] = -1
    return finish_segment(data, state, False, 0)


decode_scan_jit = njit(cache=True)(decode_scan)


def undifference(diff, base, stride, width, height, first_row, predictor, initial, out):
    """H.1.2.1 reconstruction of one component (``jdlossls.c``): ``out`` (height, width) int32
    gets (Px + difference) mod 2^16 for each sample of rows 0..height-1; the differences are
    ``diff[base + row · stride + col]``. ``first_row[r]`` marks the rows undifferenced with the
    first-row procedure (predictor 1, Px = ``initial`` = 2^(P−Pt−1) for the first sample)."""
    for r in range(height):
        row = base + r * stride
        if first_row[r]:
            ra = (diff[row] + initial) & SAMPLE_MODULUS_MASK
            out[r, 0] = ra
            for x in range(1, width):
                ra = (diff[row + x] + ra) & SAMPLE_MODULUS_MASK
                out[r, x] = ra
            continue
        rb = out[r - 1, 0]
        ra = (diff[row] + rb) & SAMPLE_MODULUS_MASK  # first column: predictor 2 (Rb)
        out[r, 0] = ra
        for x in range(1, width):
            rc = rb
            rb = out[r - 1, x]
            if predictor == 1:
                px = ra
            elif predictor == 2:
                px = rb
            elif predictor == 3:
                px = rc
            elif predictor == 4:
                px = ra + rb - rc
            elif predictor == 5:
                px = ra + ((rb - rc) >> 1)
            elif predictor == 6:
                px = rb + ((ra - rc) >> 1)
            else:
                px = (ra + rb) >> 1
            ra = (diff[row + x] + px) & SAMPLE_MODULUS_MASK
            out[r, x] = ra


undifference_jit = njit(cache=True)(undifference)


def first_rows(height: int, v: int, interleaved: bool, rows_per_interval: int) -> np.ndarray:
    """Which component rows libjpeg-turbo undifferences as first rows (module docstring).

    Rows are undifferenced in groups (iMCU rows): Vi rows per MCU row of an interleaved scan,
    Vi MCU rows (= component rows) of a non-interleaved one. A group's first row is a first row
    if the group is the scan's first or a restart marker was processed while decoding the group;
    restarts come before MCU row k when k > 0 and k is a multiple of ``rows_per_interval``
    (0 = no restarts). ``height`` is the component's real height.
    """
    flags = np.zeros(height, dtype=np.bool_)
    if interleaved:
        group_rows, mcu_rows_per_group = v, 1
    else:
        group_rows, mcu_rows_per_group = v, v
    for g, start in enumerate(range(0, height, group_rows)):
        mcu_rows = range(g * mcu_rows_per_group, (g + 1) * mcu_rows_per_group)
        restarted = g == 0 or (rows_per_interval > 0 and any(
            k > 0 and k % rows_per_interval == 0 for k in mcu_rows))
        flags[start] = restarted
    return flags


def scan_error(code: int, state: np.ndarray, data: np.ndarray, *, scan: int, total_mcus: int,
               restart_interval: int, block_components: list[int], source: str) -> DecodeError:
    """The DecodeError for a non-zero return of :func:`decode_scan` (:func:`.entropy.scan_error`'s
    messages, the scan labelled lossless and MCUs made of samples)."""
    if code != ERR_LOSSLESS_CATEGORY:
        return entropy.scan_error(code, state, data, scan=scan, kind=entropy.SEQUENTIAL,
                                  total_mcus=total_mcus, restart_interval=restart_interval,
                                  block_components=block_components, source=source,
                                  label="lossless", unit="sample")
    where, _ = entropy.error_site(int(state[S_ERR_MCU]), int(state[S_ERR_BLOCK]), scan=scan,
                                  label="lossless", total_mcus=total_mcus,
                                  restart_interval=restart_interval,
                                  block_components=block_components, unit="sample")
    return DecodeError(f"{where}: difference category {int(state[S_ERR_VALUE])} exceeds 16 "
                       "(T.81 Table H.2)",
                       source=source, offset=entropy.unread_bit_offset(data, state))


def range_warning(values: np.ndarray, precision: int, pt: int, component: int) -> str | None:
    """A warning if a reconstructed value exceeds 2^(P−Pt) − 1 (impossible in a valid file)."""
    limit = (1 << (precision - pt)) - 1
    if values.size and int(values.max()) > limit:
        count = int(np.count_nonzero(values > limit))
        return (f"component {component}: {count} reconstructed lossless sample(s) exceed "
                f"2^(P-Pt) - 1 = {limit} (T.81 H.1.2.1); output cut to 8 bits as libjpeg-turbo "
                "does")
    return None


__all__ = ["LOSSLESS", "decode_scan", "decode_scan_jit", "undifference", "undifference_jit",
           "first_rows", "scan_error", "range_warning"]
