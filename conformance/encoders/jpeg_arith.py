"""A small sequential *arithmetic-coded* JPEG writer (ITU-T T.81 SOF9, Annex D and F.1.4).

No encoder installed here writes arithmetic coding (Pillow and OpenCV only write Huffman), yet the
corpus needs genuine arithmetic-coded files that libjpeg-turbo (Pillow, OpenCV) and the reference
decode. So this module writes them itself, for one 8-bit component (grayscale), sequential DCT,
one scan, no restart interval, with the default conditioning of T.81 F.1.4.4.1.4 / F.1.4.4.2.1
(L = 0, U = 1, Kx = 5, no DAC segment) or with a DAC segment (B.2.4.3) giving other L, U, Kx.

It is test tooling (a tiny image, plain Python loops), not part of the reference, and shares no
code with the reference decoder. Deterministic: the same samples give the same bytes.

Pipeline: level shift and forward DCT (T.81 A.3.3), quantisation with the Annex K Table K.1
luminance table (A.3.4), then the QM-coder (Annex D) driven by the DC/AC models of F.1.4.
"""

from __future__ import annotations

import struct

import numpy as np

from ..reference.jpeg.arithmetic import TABLE_D3

# T.81 Table K.1: the example luminance quantisation table, in natural (row-major) order.
LUMINANCE_QUANT_TABLE = np.array([
    16, 11, 10, 16, 24, 40, 51, 61,
    12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77,
    24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101,
    72, 92, 95, 98, 112, 100, 103, 99,
], dtype=np.int64).reshape(8, 8)

# T.81 Figure A.6: zig-zag sequence; ZIGZAG[k] = natural (row-major) index of zig-zag position k.
ZIGZAG = (0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34,
          27, 20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44,
          51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63)

# T.81 Table D.2 (the probability estimation state machine), one row per Qe_Index: (Qe_Value,
# Next_Index_LPS, Next_Index_MPS, SWITCH_MPS). The standard's data, shared with the decoder; the
# encoder's own procedures (D.1) are independent of it, and libjpeg-turbo reads what it writes.
QE_TABLE = TABLE_D3[:113]

# T.81 F.1.4.4.1.4 / F.1.4.4.2.1: default conditioning (what a decoder assumes without DAC).
DEFAULT_DC_L, DEFAULT_DC_U, DEFAULT_AC_KX = 0, 1, 5

# Statistics areas (T.81 Table F.4 and F.1.4.4.2): DC bins S0 = 0/4/8/12/16 (+SS, SP, SN),
# X1..X15 = 20..34, M2..M15 = X + 14; AC bins SE = 3(K-1), S0 = SE+1, SP/SN = SE+2 (sign uses the
# fixed 0.5 estimate, F.1.4.3.1), X1 = SE+2, X2 = 189 (K <= Kx) or 217 (K > Kx), M = X + 14.
DC_BINS, AC_BINS = 49, 245
DC_X1 = 20
AC_X2_LOW, AC_X2_HIGH = 189, 217
M_OFFSET = 14  # Mk bins sit 14 bins after the matching Xk bins (Table F.4, F.1.4.4.2)

# T.81 D.1.3 / D.1.4: encoder register conventions. A starts at 0x10000 (1.0, written as 0 in 16
# bits); renormalisation keeps A >= 0x8000 (0.75 scaled). C holds 8 output bits at 19..26, a carry
# bit at 27 and 3 spacer bits at 16..18 (D.1.3, Figure D.1), so CT starts at 11.
A_INITIAL, A_MIN, CT_INITIAL = 0x10000, 0x8000, 11
FIXED_HALF = "fixed"  # a bin using the fixed Qe = 0x5A1D estimate that never adapts (F.1.4.3.1)


class QMEncoder:
    """The T.81 Annex D binary arithmetic encoder (QM-coder).

    Statistics bins are [index, mps] lists. Output bytes are kept unstuffed so that a carry
    (D.1.6, Figure D.8) simply propagates into the bytes already written; :meth:`finish`
    flushes (Figure D.12) and then stuffs a 0x00 after every 0xFF (B.1.1.5).
    """

    def __init__(self) -> None:
        self.a, self.c, self.ct = A_INITIAL, 0, CT_INITIAL
        self.out = bytearray()

    def code(self, bin_, decision: int) -> None:
        """Code_0 / Code_1 (Figures D.3, D.4): code ``decision`` with the estimate in ``bin_``."""
        if bin_ is FIXED_HALF:  # F.1.4.3.1: fixed probability, MPS = 0, state never changes
            qe, mps = QE_TABLE[0][0], 0
            self._code(qe, decision != mps)
            return
        qe, nlps, nmps, switch = QE_TABLE[bin_[0]]
        if decision != bin_[1]:
            self._code(qe, True)
            if switch:  # Figure D.5: Estimate_Qe_after_LPS
                bin_[1] = 1 - bin_[1]
            bin_[0] = nlps
        else:
            renorm = self._code(qe, False)
            if renorm:  # Figure D.6: the estimate moves only when the MPS path renormalises
                bin_[0] = nmps

    def _code(self, qe: int, lps: bool) -> bool:
        """Code_LPS (Figure D.5) or Code_MPS (Figure D.6) with conditional exchange; returns
        whether renormalisation happened."""
        self.a -= qe
        if lps:
            if self.a >= qe:  # no exchange: the LPS takes the upper sub-interval of size Qe
                self.c += self.a
                self.a = qe
        else:
            if self.a >= A_MIN:
                return False
            if self.a < qe:  # conditional exchange (D.1.5): the MPS takes the Qe sub-interval
                self.c += self.a
                self.a = qe
        self._renorm()
        return True

    def _renorm(self) -> None:
        """Renorm_e (Figure D.7): double A and C until A >= 0x8000, a byte out every 8 shifts."""
        while True:
            self.a <<= 1
            self.c <<= 1
            self.ct -= 1
            if self.ct == 0:
                self._byte_out()
                self.ct = 8
            if self.a >= A_MIN:
                return

    def _byte_out(self) -> None:
        """Byte_out (Figure D.8): move bits 19..27 of C out, propagating a carry (bit 27)."""
        t = self.c >> 19
        if t > 0xFF:
            i = len(self.out) - 1
            while True:  # the carry ripples through trailing 0xFF bytes (they become 0x00)
                if i < 0:
                    raise AssertionError("carry out of the code value: C + A exceeded 1.0")
                if self.out[i] == 0xFF:
                    self.out[i] = 0
                    i -= 1
                    continue
                self.out[i] += 1
                break
        self.out.append(t & 0xFF)
        self.c &= 0x7FFFF

    def finish(self) -> bytes:
        """Flush (Figure D.12): Clear_final_bits, then two Byte_out; returns the stuffed bytes."""
        t = (self.c + self.a - 1) & 0xFFFF0000  # Clear_final_bits: most trailing zeros in [C, C+A)
        self.c = t + 0x8000 if t < self.c else t
        self.c <<= self.ct
        self._byte_out()
        self.c <<= 8
        self._byte_out()
        return bytes(self.out).replace(b"\xff", b"\xff\x00")  # B.1.1.5 byte stuffing


def forward_dct_quantised(samples: np.ndarray, q: np.ndarray = LUMINANCE_QUANT_TABLE) -> np.ndarray:
    """Blocks of quantised coefficients, shape (rows, cols, 8, 8) in natural order [v][u].

    Level shift by 2^(P-1) = 128 (A.3.1), FDCT S(v,u) = 1/4 C(u) C(v) sum_y sum_x s(y,x)
    cos((2x+1)u pi/16) cos((2y+1)v pi/16) with C(0) = 1/sqrt(2), else 1 (A.3.3), quantisation
    Sq = round(S / Q) (A.3.4; halves away from zero). The image is padded to whole blocks by
    replicating its last row/column (A.2.4 leaves the padding to the encoder).
    """
    s = np.asarray(samples, dtype=np.float64)
    h, w = s.shape
    ph, pw = -(-h // 8) * 8, -(-w // 8) * 8
    s = np.pad(s, ((0, ph - h), (0, pw - w)), mode="edge") - 128.0
    k = np.arange(8)
    cu = np.where(k == 0, 1 / np.sqrt(2), 1.0)
    basis = 0.5 * cu[:, None] * np.cos((2 * k[None, :] + 1) * k[:, None] * np.pi / 16)  # [u][x]
    blocks = s.reshape(ph // 8, 8, pw // 8, 8).transpose(0, 2, 1, 3)  # [row, col, y, x]
    coef = np.einsum("vy,rcyx,ux->rcvu", basis, blocks, basis)
    return (np.sign(coef) * np.floor(np.abs(coef) / q + 0.5)).astype(np.int64)


def _encode_value(enc: QMEncoder, sign_bin, mag_bin: list, x_bins: list, m_bins: list, v: int) -> int:
    """Encode_V (Figures F.6-F.9) for v != 0: sign, magnitude category, magnitude bits.
    ``mag_bin`` is SP/SN (the Sz >= 1 decision); ``x_bins[i]`` is X(i+1) and ``m_bins[i]`` is
    M(i+1) (M1 is never used: None).
    Returns M (the magnitude category bound, 0 for |v| = 1) for the DC conditioning."""
    enc.code(sign_bin, 0 if v > 0 else 1)
    sz = abs(v) - 1  # Figure F.8: Sz = |V| - 1
    if sz == 0:
        enc.code(mag_bin, 0)
        return 0
    enc.code(mag_bin, 1)
    m, i = 1, 0
    while sz >= (m << 1):  # X bins: one 1-decision per doubling of M
        enc.code(x_bins[i], 1)
        m <<= 1
        i += 1
    enc.code(x_bins[i], 0)
    bit = m >> 1
    while bit:  # Figure F.9: the bits of Sz below M, most significant first, in bin M
        enc.code(m_bins[i], 1 if sz & bit else 0)
        bit >>= 1
    return m


def encode_blocks(coef: np.ndarray, l: int = DEFAULT_DC_L, u: int = DEFAULT_DC_U,  # noqa: E741
                  kx: int = DEFAULT_AC_KX) -> bytes:
    """The entropy-coded segment of one single-component sequential scan (F.1.4), no restarts,
    with DC conditioning bounds L, U (F.1.4.4.1.2) and AC conditioning Kx (F.1.4.4.2)."""
    enc = QMEncoder()
    dc = [[0, 0] for _ in range(DC_BINS)]
    ac = [[0, 0] for _ in range(AC_BINS)]
    pred, context = 0, 0  # F.1.4.1: PRED starts at 0; DC context of the previous DIFF (Table F.4)
    for row in coef:
        for block in row:
            zz = [int(block.flat[ZIGZAG[k]]) for k in range(64)]
            # F.1.4.1, Figure F.4: Encode_DC_DIFF
            diff = zz[0] - pred
            pred = zz[0]
            s0 = context
            if diff == 0:
                enc.code(dc[s0], 0)
                context = 0
            else:
                enc.code(dc[s0], 1)
                mag_bin = dc[s0 + 2] if diff > 0 else dc[s0 + 3]  # SP = S0+2, SN = S0+3
                m = _encode_value(enc, dc[s0 + 1], mag_bin, dc[DC_X1:DC_X1 + 15],
                                  [None] + dc[DC_X1 + 1 + M_OFFSET:DC_BINS], diff)
                # F.1.4.4.1.2 / Table F.3: classify DIFF for the next block's S0 (bounds L, U)
                if m < (1 << l) >> 1:
                    context = 0
                elif m > (1 << u) >> 1:
                    context = 12 if diff > 0 else 16  # large positive / large negative
                else:
                    context = 4 if diff > 0 else 8  # small positive / small negative
            # F.1.4.2, Figure F.5: Encode_AC_Coefficients
            eob = max((k for k in range(1, 64) if zz[k] != 0), default=0)
            k = 1
            while k <= eob:
                se = 3 * (k - 1)
                enc.code(ac[se], 0)  # not EOB
                while zz[k] == 0:
                    enc.code(ac[3 * (k - 1) + 1], 0)  # S0: zero coefficient
                    k += 1
                se = 3 * (k - 1)
                enc.code(ac[se + 1], 1)  # S0: nonzero
                x2 = AC_X2_LOW if k <= kx else AC_X2_HIGH
                # Table F.5 / F.1.4.4.2: for AC, X1 is the same bin as SP/SN (SE + 2)
                _encode_value(enc, FIXED_HALF, ac[se + 2], [ac[se + 2]] + ac[x2:x2 + 14],
                              [None] + ac[x2 + M_OFFSET:x2 + 2 * M_OFFSET], zz[k])
                k += 1
            if k <= 63:
                enc.code(ac[3 * (k - 1)], 1)  # EOB
    return enc.finish()


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload  # T.81 B.1.1.4


def encode_gray_arithmetic(samples: np.ndarray,
                           conditioning: tuple[int, int, int] | None = None) -> bytes:
    """An arithmetic-coded sequential (SOF9) 8-bit grayscale JPEG of ``samples`` (H, W) uint8.

    Markers (T.81 B.2): SOI, DQT (Pq 0, Tq 0, Table K.1 in zig-zag order), [DAC], SOF9 (P 8, Y,
    X, Nf 1, C1 = 1, H1 = V1 = 1, Tq 0), SOS (Ns 1, Cs 1, Td = Ta = 0, Ss 0, Se 63, Ah = Al = 0),
    entropy-coded segment, EOI. ``conditioning`` = (L, U, Kx) writes a DAC segment (Figure B.8:
    Tc|Tb = 0x00, Cs = U·16 + L; Tc|Tb = 0x10, Cs = Kx) and codes with those values; None writes
    no DAC and uses the default conditioning.
    """
    s = np.asarray(samples)
    if s.ndim == 3 and s.shape[2] == 1:
        s = s[..., 0]
    if s.ndim != 2 or s.dtype != np.uint8 or min(s.shape) < 1:
        raise ValueError(f"samples must be a non-empty (H, W) uint8 array, got {s.shape} {s.dtype}")
    h, w = s.shape
    l, u, kx = conditioning or (DEFAULT_DC_L, DEFAULT_DC_U, DEFAULT_AC_KX)  # noqa: E741
    if not (0 <= l <= u <= 15 and 1 <= kx <= 63):
        raise ValueError(f"conditioning needs 0 <= L <= U <= 15 and 1 <= Kx <= 63, got {conditioning}")
    coef = forward_dct_quantised(s)
    dac = _segment(0xCC, bytes([0x00, (u << 4) | l, 0x10, kx])) if conditioning else b""
    dqt = bytes([0x00]) + bytes(int(LUMINANCE_QUANT_TABLE.flat[z]) for z in ZIGZAG)
    sof = struct.pack(">BHHB", 8, h, w, 1) + bytes([1, 0x11, 0])
    sos = bytes([1, 1, 0x00, 0, 63, 0x00])
    return (b"\xff\xd8" + _segment(0xDB, dqt) + dac + _segment(0xC9, sof) + _segment(0xDA, sos)
            + encode_blocks(coef, l, u, kx) + b"\xff\xd9")
