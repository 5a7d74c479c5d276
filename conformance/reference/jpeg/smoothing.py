"""Inter-block smoothing of progressive JPEGs (libjpeg-turbo 3.x ``jdcoefct.c``), knob
``block_smoothing`` = ``libjpeg-turbo`` | ``off``.

When a progressive file stops before its low AC coefficients are fully known (a file cut after
a few scans, or a scan script that never refines them), libjpeg estimates the missing ones from
the DC values of the 5×5 neighbourhood of blocks, in the spirit of T.81 Annex K.8 (which uses
3×3). ``do_block_smoothing`` is TRUE by default, so Pillow and OpenCV do this; zune-jpeg does
not.

**When** (``smoothing_ok``, checked once on the final state in non-buffered decoding): the frame
is progressive, and for *every* component the quantisation values at the DC and the first nine
AC positions (zig-zag 1..9 = natural 1, 8, 16, 9, 2, 3, 10, 17, 24) are non-zero and the DC has
been sent (``coef_bits[0] >= 0``), and for *some* component some ``coef_bits[k]``, k = 1..9, is
not 0 (k never sent: −1, or last sent with successive approximation Al > 0). A complete
progressive file (all of 1..9 refined to Al = 0) is therefore never smoothed. ``coef_bits`` here
is :class:`~.model.Component` ``coef_bits`` (natural order) read at those positions.

**What**, per block of a component (the stored coefficients are not modified: the IDCT gets a
copy). Let DC01..DC25 be the quantised DC values of the 5×5 neighbourhood, row-major, DC13 the
block itself (:data:`NEIGHBOURHOOD` below says which blocks). ``change_dc`` = none of the
coefficients 1..9 was ever sent (all ``coef_bits`` −1). For each of AC01, AC10, AC20, AC11, AC02
(zig-zag 1..5; also AC03, AC12, AC21, AC30 = 6..9 when ``change_dc``) with Al = coef_bits[k]::

    if Al != 0 and the block's coefficient is 0:
        num  = Q00 · Σ w·DC                       (weights: WEIGHTS / WEIGHTS_CHANGE_DC)
        pred = ((Qk·2^7) + |num|) // (Qk·2^8)     (integer division; = round(|num| / (256·Qk)))
        if Al > 0: pred = min(pred, 2^Al − 1)      (it must stay below the unsent bits)
        coefficient = sign(num) · pred            (stored as JCOEF, 16 bits)

and when ``change_dc`` the DC itself is always replaced by ((Q00·2^7) + |num|) // (Q00·2^8) with
the sign of num, num = Q00 · Σ w·DC with the 5×5 kernel (centre weight 152, sum 256).

**Which neighbours** (the edge rules are those of the C code, quirks included): columns are
clamped to [0, width_in_blocks − 1]. Rows: the block row R lies in iMCU row m = R // v (v = the
component's vertical sampling factor; T = total iMCU rows = ceil(Y / (8·Vmax))). With
``block_rows`` = v, or in the last iMCU row (height_in_blocks mod v, or v if that is 0), the C
code's ``image_block_row`` = m·block_rows + R mod v and ``image_block_rows`` = block_rows·T, and::

    prev     = R − 1 if image_block_row > 0 else R
    prevprev = R − 2 if image_block_row > 1 else prev
    next     = R + 1 if image_block_row < image_block_rows − 1 else R
    nextnext = R + 2 if image_block_row < image_block_rows − 2 else next

In the last iMCU row with fewer than v block rows, ``image_block_row`` is not R (the quirk: e.g.
v = 2, T = 2, 3 block rows: row 2 uses row 1 as its prevprev); and ``next``/``nextnext`` may be
a dummy block row of the MCU padding, whose DC came from the interleaved DC scan: so the
coefficient arrays must keep the MCU padding (:class:`~.model.Component` does; rows missing from
a one-component frame's array are the zero rows libjpeg's pre-zeroed buffer holds).

**Data cut inside the last scan** (recovery mode): for the iMCU rows past
``JpegImage.last_good_imcu_row``, libjpeg-turbo reads each component's ``prev_coef_bits`` (its
bits before its latest scan) instead of ``coef_bits`` ("If the current scan is incomplete, then
we use the component-dependent info from the previous scan"); ``smoothing_ok`` still decides
from ``coef_bits``.
"""

from __future__ import annotations

import numpy as np

from .model import ZIGZAG, Component, JpegImage

SMOOTHING_METHODS = ("libjpeg-turbo", "off")
SAVED_COEFS = 10  # jdcoefct.c: DC and the first 9 AC coefficients in zig-zag order
SMOOTH_POSITIONS = tuple(int(p) for p in ZIGZAG[:SAVED_COEFS])  # natural: 0,1,8,16,9,2,3,10,17,24
# Rounding of the estimate: pred = ((Q << 7) + |num|) // (Q << 8) = round-half-up(|num| / (256·Q)).
PRED_ROUND_SHIFT = 7
PRED_SCALE_SHIFT = 8


def _w(*rows) -> np.ndarray:
    return np.array(rows, dtype=np.int64)


Z = (0, 0, 0, 0, 0)
# 5×5 weights over DC01..DC25 (rows −2..+2, columns −2..+2), keyed by natural position,
# transcribed from decompress_smooth_data: without change_dc (T.81 K.8-like) ...
WEIGHTS = {
    1: _w(Z, Z, (-7, 50, 0, -50, 7), Z, Z),                                      # AC01
    8: _w((0, 0, -7, 0, 0), (0, 0, 50, 0, 0), Z, (0, 0, -50, 0, 0), (0, 0, 7, 0, 0)),  # AC10
    16: _w((0, 0, -1, 0, 0), (0, 0, 13, 0, 0), (0, 0, -24, 0, 0), (0, 0, 13, 0, 0),
           (0, 0, -1, 0, 0)),                                                     # AC20
    9: _w((0, -1, 0, 1, 0), (-1, 10, 0, -10, 1), Z, (1, -10, 0, 10, -1), (0, 1, 0, -1, 0)),  # AC11
    2: _w(Z, Z, (-1, 13, -24, 13, -1), Z, Z),                                     # AC02
}
# ... and with change_dc (a Gaussian-like kernel that keeps the DC averages).
WEIGHTS_CHANGE_DC = {
    1: _w((-1, -1, 0, 1, 1), (-3, 13, 0, -13, 3), (-3, 38, 0, -38, 3), (-3, 13, 0, -13, 3),
          (-1, -1, 0, 1, 1)),                                                     # AC01
    8: _w((-1, -3, -3, -3, -1), (-1, 13, 38, 13, -1), Z, (1, -13, -38, -13, 1),
          (1, 3, 3, 3, 1)),                                                       # AC10
    16: _w((0, 0, 1, 0, 0), (0, 2, 7, 2, 0), (0, -5, -14, -5, 0), (0, 2, 7, 2, 0),
           (0, 0, 1, 0, 0)),                                                      # AC20
    9: _w((-1, 0, 0, 0, 1), (0, 9, 0, -9, 0), Z, (0, -9, 0, 9, 0), (1, 0, 0, 0, -1)),  # AC11
    2: _w(Z, (0, 2, -5, 2, 0), (1, 7, -14, 7, 1), (0, 2, -5, 2, 0), Z),           # AC02
    3: _w(Z, (0, 1, 0, -1, 0), (0, 2, 0, -2, 0), (0, 1, 0, -1, 0), Z),            # AC03
    10: _w(Z, (0, 1, -3, 1, 0), Z, (0, -1, 3, -1, 0), Z),                        # AC12
    17: _w(Z, (0, 1, 0, -1, 0), (0, -3, 0, 3, 0), (0, 1, 0, -1, 0), Z),          # AC21
    24: _w(Z, (0, 1, 2, 1, 0), Z, (0, -1, -2, -1, 0), Z),                        # AC30
}
DC_WEIGHTS_CHANGE_DC = _w((-2, -6, -8, -6, -2), (-6, 6, 42, 6, -6), (-8, 42, 152, 42, -8),
                          (-6, 6, 42, 6, -6), (-2, -6, -8, -6, -2))


def coef_bits_zigzag(component: Component) -> np.ndarray:
    """``coef_bits`` for zig-zag positions 0..9 (libjpeg's ``coef_bits[ci][0..9]``)."""
    return np.asarray(component.coef_bits)[list(SMOOTH_POSITIONS)]


def smoothing_ok(image: JpegImage) -> bool:
    """jdcoefct.c smoothing_ok on the file's final state (module docstring, "When")."""
    if image.process != "progressive":
        return False
    useful = False
    for comp in image.components:
        if comp.coef_bits is None or np.any(np.asarray(comp.quant)[list(SMOOTH_POSITIONS)] == 0):
            return False
        bits = coef_bits_zigzag(comp)
        if bits[0] < 0:
            return False
        useful = useful or bool(np.any(bits[1:] != 0))
    return useful


def neighbour_rows(blocks_high: int, v: int, total_imcu_rows: int) -> np.ndarray:
    """(blocks_high, 5) row indices prevprev, prev, R, next, nextnext (module docstring)."""
    out = np.empty((blocks_high, 5), dtype=np.intp)
    last = total_imcu_rows - 1
    for r in range(blocks_high):
        m, br = divmod(r, v)
        block_rows = v if m < last else (blocks_high % v or v)
        ibr = m * block_rows + br
        ibrs = block_rows * total_imcu_rows
        prev = r - 1 if ibr > 0 else r
        prevprev = r - 2 if ibr > 1 else prev
        nxt = r + 1 if ibr < ibrs - 1 else r
        nextnext = r + 2 if ibr < ibrs - 2 else nxt
        out[r] = (prevprev, prev, r, nxt, nextnext)
    return out


def neighbour_cols(blocks_wide: int) -> np.ndarray:
    """(blocks_wide, 5) column indices c−2..c+2 clamped to [0, blocks_wide − 1]."""
    c = np.arange(blocks_wide)[:, None] + np.arange(-2, 3)[None, :]
    return np.clip(c, 0, blocks_wide - 1)


def predict(num: np.ndarray, q: int, al: int | None) -> np.ndarray:
    """pred = sign(num)·min(((q << 7) + |num|) // (q << 8), 2^al − 1 if al > 0), as int16."""
    pred = ((q << PRED_ROUND_SHIFT) + np.abs(num)) // (q << PRED_SCALE_SHIFT)
    if al is not None and al > 0:
        pred = np.minimum(pred, (1 << al) - 1)
    return np.where(num < 0, -pred, pred).astype(np.int16).astype(np.int64)  # (JCOEF) pred


def smooth_component(comp: Component, blocks_high: int, blocks_wide: int,
                     total_imcu_rows: int, last_good_imcu_row: int | None = None) -> np.ndarray:
    """The (blocks_high, blocks_wide, 64) int64 coefficients libjpeg hands to the IDCT."""
    rows_needed = max(total_imcu_rows * comp.v, blocks_high)
    coef = np.asarray(comp.coefficients, dtype=np.int64)
    if coef.shape[0] < rows_needed:  # one-component frames: libjpeg's zeroed padding rows
        pad = np.zeros((rows_needed - coef.shape[0],) + coef.shape[1:], dtype=np.int64)
        coef = np.concatenate([coef, pad])
    dc = coef[:, :, 0]
    rows = neighbour_rows(blocks_high, comp.v, total_imcu_rows)
    cols = neighbour_cols(blocks_wide)
    hood = dc[rows[:, None, :, None], cols[None, :, None, :]]  # (bh, bw, 5, 5): DC01..DC25
    out = coef[:blocks_high, :blocks_wide].copy()
    quant = np.asarray(comp.quant, dtype=np.int64)
    smooth_blocks(out, hood, quant, coef_bits_zigzag(comp))
    if last_good_imcu_row is not None and comp.prev_coef_bits is not None:
        late = np.arange(blocks_high) // comp.v > last_good_imcu_row
        if late.any():
            previous = coef[:blocks_high, :blocks_wide].copy()
            smooth_blocks(previous, hood, quant,
                          np.asarray(comp.prev_coef_bits)[list(SMOOTH_POSITIONS)])
            out[late] = previous[late]
    return out


def smooth_blocks(out: np.ndarray, hood: np.ndarray, quant: np.ndarray, bits: np.ndarray) -> None:
    """The "What" of the module docstring on ``out`` in place, with ``bits`` = coef_bits of
    zig-zag 0..9 and ``hood`` the (bh, bw, 5, 5) DC neighbourhoods."""
    q00 = int(quant[0])
    change_dc = bool(np.all(bits[1:] == -1))
    weights = WEIGHTS_CHANGE_DC if change_dc else WEIGHTS
    for k in range(1, SAVED_COEFS):
        pos = SMOOTH_POSITIONS[k]
        al = int(bits[k])
        if pos not in weights or al == 0:
            continue
        num = q00 * np.einsum("rcij,ij->rc", hood, weights[pos])
        pred = predict(num, int(quant[pos]), al)
        out[:, :, pos] = np.where(out[:, :, pos] == 0, pred, out[:, :, pos])
    if change_dc:  # DC always replaced ("coef_bits[0] is non-negative")
        num = q00 * np.einsum("rcij,ij->rc", hood, DC_WEIGHTS_CHANGE_DC)
        out[:, :, 0] = predict(num, q00, None)
