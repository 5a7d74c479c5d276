"""A small lossless JPEG writer (ITU-T T.81 SOF3: lossless sequential, Huffman coding, Annex H).

Pillow can decode lossless JPEG (libjpeg-turbo 3) but writes none, so the tests need their own
files. This module writes them from 8-bit samples: 1, 3 or 4 components, predictor 1..7
(Table H.1), point transform Pt (Al), an optional restart interval (whole MCU rows), one
interleaved scan or one scan per component, optional 2x2 luma sampling (chroma decimated), an
optional JFIF APP0 or Adobe APP14, and Huffman tables built from the difference statistics with
the procedure of T.81 Annex K.2 (17 categories, 0..16), or one fixed table.

It is test tooling, written from the standard and independent of the reference decoder (it
imports nothing from ``conformance.reference``). Deterministic: the same input gives the same
bytes.

Encoding (H.1.2): each component plane is point-transformed (sample >> Pt); each sample is
predicted (the first row of the scan and of each restart interval with predictor 1 and
2^(P−Pt−1) for its first sample; the first sample of other rows with predictor 2 (Rb); the rest
with the chosen predictor); the difference (sample − prediction) mod 2^16, read as a value in
−32767..32768, is coded as its category SSSS (the bit length of its magnitude; 32768 has
SSSS = 16 and no additional bits) and SSSS additional bits (the value, or value − 1 if negative,
in SSSS bits: F.1.2.1.1).
"""

from __future__ import annotations

import heapq
import struct

import numpy as np

PRECISION = 8
CATEGORIES = 17  # Table H.2: SSSS 0..16
SOI, EOI, SOF3, DHT, SOS, DRI, APP0, APP14, RST0 = (0xD8, 0xD9, 0xC3, 0xC4, 0xDA, 0xDD, 0xE0,
                                                    0xEE, 0xD0)
MAX_CODE_LENGTH = 16

# A fixed table for 17 categories (lengths 2..16; no all-1s code): the Annex K Table K.3 idea,
# extended. BITS (codes per length 1..16) and HUFFVAL in order of increasing length.
FIXED_BITS = (0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1)
FIXED_HUFFVAL = bytes([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16])


def marker(code: int) -> bytes:
    return bytes([0xFF, code])


def segment(code: int, body: bytes) -> bytes:
    return marker(code) + struct.pack(">H", len(body) + 2) + body


# ---------------------------------------------------------------------------------------------
# Huffman tables: T.81 K.2 (code sizes from frequencies, limited to 16 bits) and C (codes)
# ---------------------------------------------------------------------------------------------


def optimal_table(freq: np.ndarray) -> tuple[tuple[int, ...], bytes]:
    """BITS and HUFFVAL for symbol frequencies ``freq`` (K.2: Huffman code sizes, then
    Figure K.3 Adjust_BITS to 16 bits at most). One reserved extra symbol of frequency 1 keeps
    the all-1s code word unused (K.2), as libjpeg does."""
    symbols = [(int(f), s) for s, f in enumerate(freq) if f > 0]
    if not symbols:
        symbols = [(1, 0)]
    reserved = 1 << 20
    items = symbols + [(1, reserved)]  # the reserved symbol sorts last among equals
    # Huffman code sizes (Figure K.1), via a heap of (frequency, tiebreak, members)
    heap = [(f, i, [s]) for i, (f, s) in enumerate(items)]
    heapq.heapify(heap)
    size = {s: 0 for _, s in items}
    counter = len(heap)
    while len(heap) > 1:
        f1, _, m1 = heapq.heappop(heap)
        f2, _, m2 = heapq.heappop(heap)
        for s in m1 + m2:
            size[s] += 1
        heapq.heappush(heap, (f1 + f2, counter, m1 + m2))
        counter += 1
    bits = [0] * 33
    for s in size:
        bits[size[s]] += 1
    # Figure K.3 Adjust_BITS: no code longer than 16 bits
    i = 32
    while i > MAX_CODE_LENGTH:
        while bits[i] > 0:
            j = i - 2
            while bits[j] == 0:
                j -= 1
            bits[i] -= 2
            bits[i - 1] += 1
            bits[j + 1] += 2
            bits[j] -= 1
        i -= 1
    i = MAX_CODE_LENGTH
    while bits[i] == 0:
        i -= 1
    bits[i] -= 1  # remove the reserved code (the longest one, all 1s)
    # Figure K.4 Sort_input: symbols by code size, then by symbol value
    order = sorted((size[s], s) for _, s in items if s != reserved)
    huffval = bytes(s for _, s in order)
    return tuple(bits[1:MAX_CODE_LENGTH + 1]), huffval


def codes_of(bits, huffval) -> dict[int, tuple[int, int]]:
    """Symbol -> (code, length): Figures C.1, C.2 and C.3."""
    out = {}
    code = 0
    k = 0
    for length in range(1, MAX_CODE_LENGTH + 1):
        for _ in range(bits[length - 1]):
            out[huffval[k]] = (code, length)
            code += 1
            k += 1
        code <<= 1
    return out


# ---------------------------------------------------------------------------------------------
# Prediction (H.1.2.1) and difference categories (H.1.2.2)
# ---------------------------------------------------------------------------------------------


def differences(plane: np.ndarray, predictor: int, pt: int, first: np.ndarray) -> np.ndarray:
    """The differences of one point-transformed plane, (rows, cols) int64 in −32767..32768.
    ``first[r]``: row r is the first row of the scan or of a restart interval."""
    x = plane.astype(np.int64)
    rows, cols = x.shape
    ra = np.zeros_like(x)
    ra[:, 1:] = x[:, :-1]
    rb = np.zeros_like(x)
    rb[1:, :] = x[:-1, :]
    rc = np.zeros_like(x)
    rc[1:, 1:] = x[:-1, :-1]
    px = {1: ra, 2: rb, 3: rc, 4: ra + rb - rc, 5: ra + ((rb - rc) >> 1),
          6: rb + ((ra - rc) >> 1), 7: (ra + rb) >> 1}[predictor].copy()
    px[:, 0] = rb[:, 0]  # first column: Rb
    px[first, 1:] = ra[first, 1:]  # first rows: Ra
    px[first, 0] = 1 << (PRECISION - pt - 1)
    d = (x - px) & 0xFFFF
    return np.where(d > 0x8000, d - 0x10000, d)


def category(d: np.ndarray) -> np.ndarray:
    """SSSS: the bit length of |d| (0 for d = 0; 16 for 32768)."""
    mag = np.abs(d)
    out = np.zeros(d.shape, dtype=np.int64)
    while np.any(mag >> out):
        out += (mag >> out) > 0
    return out


# ---------------------------------------------------------------------------------------------
# The file
# ---------------------------------------------------------------------------------------------


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


class _BitWriter:
    def __init__(self):
        self.out = bytearray()
        self.acc = 0
        self.n = 0

    def put(self, value: int, length: int) -> None:
        self.acc = (self.acc << length) | (value & ((1 << length) - 1))
        self.n += length
        while self.n >= 8:
            self.n -= 8
            byte = (self.acc >> self.n) & 0xFF
            self.out.append(byte)
            if byte == 0xFF:
                self.out.append(0)  # F.1.2.3 byte stuffing
        self.acc &= (1 << self.n) - 1

    def flush(self) -> None:
        if self.n:
            self.put((1 << (8 - self.n)) - 1, 8 - self.n)  # pad with 1-bits (F.1.2.3)


def encode_lossless(samples: np.ndarray, *, predictor: int = 1, pt: int = 0,
                    restart_rows: int = 0, restart_interval: int | None = None,
                    jfif: bool = False, adobe_transform: int | None = None,
                    luma_2x2: bool = False, interleaved: bool = True,
                    component_ids: tuple[int, ...] | None = None,
                    table: str = "optimal", raw_differences: np.ndarray | None = None,
                    precision: int = PRECISION) -> bytes:
    """A SOF3 file of ``samples`` ((H, W) or (H, W, C) uint8, C in 1..4).

    - ``predictor`` 1..7 (Ss), ``pt`` 0..7 (Al; the samples are stored >> pt).
    - ``restart_rows``: a DRI of that many MCU rows (0 = none); ``restart_interval`` writes that
      DRI value in MCUs instead (for malformed files: it need not be whole rows, and the
      prediction is then still reset only at whole rows, so the file may be wrong).
    - ``luma_2x2``: component 0 has H = V = 2 and the others 1x1, their planes the top-left
      sample of each 2x2 block (needs C >= 2).
    - ``interleaved``: one scan with every component, else one scan per component (each with
      its own MCU rows; restart intervals are then per scan, in rows of that component).
    - ``component_ids``: default 1, 2, 3, ...; ``table``: ``"optimal"`` (one table per
      component from its statistics, K.2) or ``"fixed"`` (one shared table).
    - For malformed or extreme files: ``raw_differences`` (one component only) codes that
      (H, W) array of differences (−32767..32768) instead of the image's; ``precision`` is the
      P written in the frame header (the samples are still coded as 8-bit).
    """
    x = np.asarray(samples, dtype=np.uint8)
    if x.ndim == 2:
        x = x[:, :, None]
    height, width, nc = x.shape
    if not 1 <= predictor <= 7 or not 0 <= pt < PRECISION:
        raise ValueError("predictor 1..7, pt 0..7")
    ids = component_ids or tuple(range(1, nc + 1))
    factors = [(2, 2) if luma_2x2 and c == 0 else (1, 1) for c in range(nc)]
    hmax = max(h for h, _ in factors)
    vmax = max(v for _, v in factors)
    planes = []
    for c, (h, v) in enumerate(factors):
        p = x[:, :, c]
        step_x, step_y = hmax // h, vmax // v
        planes.append((p[::step_y, ::step_x].astype(np.int64)) >> pt)
    data = bytearray(marker(SOI))
    if jfif:
        data += segment(APP0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    if adobe_transform is not None:
        data += segment(APP14, b"Adobe" + struct.pack(">HHHB", 100, 0, 0, adobe_transform))
    body = struct.pack(">BHHB", precision, height, width, nc)
    for c, (h, v) in enumerate(factors):
        body += bytes([ids[c], (h << 4) | v, 0])
    data += segment(SOF3, body)

    scans = [list(range(nc))] if interleaved and nc > 1 else [[c] for c in range(nc)]
    for scan in scans:
        inter = len(scan) > 1
        if inter:
            mcus_x, mcus_y = _ceil_div(width, hmax), _ceil_div(height, vmax)
        else:
            mcus_y, mcus_x = planes[scan[0]].shape
        ri = restart_interval if restart_interval is not None else restart_rows * mcus_x
        rows_per_interval = ri // mcus_x if ri else 0
        diffs = {}
        for c in scan:
            h, v = factors[c] if inter else (1, 1)
            rows = planes[c].shape[0]
            r = np.arange(rows)
            mcu_row = r // v
            first = (r % v == 0) & ((mcu_row == 0) | ((rows_per_interval > 0)
                                                      & (mcu_row % max(rows_per_interval, 1)
                                                         == 0)))
            first[0] = True
            d = differences(planes[c], predictor, pt, first)
            if raw_differences is not None:
                d = np.asarray(raw_differences, dtype=np.int64).reshape(d.shape)
            padded = np.zeros((mcus_y * v, mcus_x * h), dtype=np.int64)
            padded[:d.shape[0], :d.shape[1]] = d
            diffs[c] = padded
        # tables
        tables = {}
        if table == "fixed":
            for c in scan:
                tables[c] = (0, FIXED_BITS, FIXED_HUFFVAL)
        else:
            for slot, c in enumerate(scan):
                freq = np.bincount(category(diffs[c]).ravel(), minlength=CATEGORIES)
                bits, huffval = optimal_table(freq)
                tables[c] = (slot, bits, huffval)
        dht = bytearray()
        for slot, bits, huffval in {t[0]: t for t in tables.values()}.values():
            dht += bytes([slot]) + bytes(bits) + huffval
        data += segment(DHT, bytes(dht))
        data += segment(DRI, struct.pack(">H", ri))
        sos = bytes([len(scan)])
        for c in scan:
            sos += bytes([ids[c], tables[c][0] << 4])
        sos += bytes([predictor, 0, pt])
        data += segment(SOS, sos)
        # entropy-coded data, MCU by MCU (A.2.2, A.2.3)
        codes = {c: codes_of(tables[c][1], tables[c][2]) for c in scan}
        cats = {c: category(diffs[c]) for c in scan}
        writer = _BitWriter()
        restart_index = 0
        for m in range(mcus_x * mcus_y):
            if ri and m > 0 and m % ri == 0:
                writer.flush()
                data += writer.out
                data += marker(RST0 + restart_index)
                restart_index = (restart_index + 1) % 8
                writer = _BitWriter()
            my, mx = divmod(m, mcus_x)
            for c in scan:
                h, v = factors[c] if inter else (1, 1)
                for dy in range(v):
                    for dx in range(h):
                        yy, xx = my * v + dy, mx * h + dx
                        d = int(diffs[c][yy, xx])
                        s = int(cats[c][yy, xx])
                        code, length = codes[c][s]
                        writer.put(code, length)
                        if 0 < s < 16:
                            writer.put(d if d > 0 else d - 1, s)
        writer.flush()
        data += writer.out
    data += marker(EOI)
    return bytes(data)
