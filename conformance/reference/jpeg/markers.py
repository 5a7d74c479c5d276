"""JPEG markers and marker segments (ITU-T T.81 Annex B), parsed and range-checked.

This module knows the *syntax* of the interchange format (B.1, B.2) and nothing about decoding:
it finds markers, cuts marker segments out of the datastream and turns each segment it knows into
a small frozen record, checking every field against Tables B.2 to B.7. Rules that need more than
one segment (a scan's components must be in the frame, a table must exist when a scan uses it, the
progression of successive-approximation scans) are checked by :mod:`.reader`.

Layout (B.1.1): a marker is 0xFF followed by a code that is neither 0x00 nor 0xFF; any number of
0xFF *fill bytes* may precede a marker (B.1.1.2). SOI, EOI, RST0..7 and TEM stand alone; every
other marker starts a segment whose first two bytes are its length, counting themselves but not
the marker (B.1.1.4). Offsets in errors are file offsets: the marker's first byte for a segment,
the byte of the offending field for a bad value.

Application segments (B.2.4.6 APPn, contents outside T.81) are read for what the reconstruction
needs, the way libjpeg reads them (jdmarker.c examine_app0/examine_app14, jdicc.c):

- APP0 ``"JFIF\\0"`` with at least 14 bytes of data -> ``jfif`` (JFIF 1.02 §"JPEG File
  Interchange Format": identifier, version, units, densities, thumbnail size = 14 bytes).
- APP14 ``"Adobe"`` with at least 12 bytes -> transform flag = byte 11 (Adobe TN 5116; the last
  such segment wins, as in libjpeg).
- APP1 ``"Exif\\0\\0"`` -> the TIFF payload after the identifier (Exif 2.32 §4.7.2); the first
  one wins.
- APP2 ``"ICC_PROFILE\\0"``, sequence number (1-based), chunk count, data -> chunks joined in
  sequence order (ICC.1:2022 Annex B.4).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from ...errors import DecodeError, UnsupportedFeature
from .model import ZIGZAG

# ---------------------------------------------------------------------------------------------
# Marker codes (T.81 Table B.1): the byte after 0xFF
# ---------------------------------------------------------------------------------------------

TEM = 0x01  # temporary private use in arithmetic coding
SOF0, SOF1, SOF2 = 0xC0, 0xC1, 0xC2  # baseline DCT; extended sequential DCT; progressive DCT
SOF3 = 0xC3  # lossless (sequential), Huffman coding (T.81 Annex H)
SOF9, SOF10 = 0xC9, 0xCA  # extended sequential DCT, progressive DCT: arithmetic coding
DHT = 0xC4  # define Huffman table(s)
JPG = 0xC8  # reserved for JPEG extensions
DAC = 0xCC  # define arithmetic coding conditioning(s)
RST0, RST7 = 0xD0, 0xD7  # restart with modulo 8 count m
SOI, EOI, SOS = 0xD8, 0xD9, 0xDA  # start of image, end of image, start of scan
DQT, DNL, DRI = 0xDB, 0xDC, 0xDD  # quantisation tables, number of lines, restart interval
DHP, EXP = 0xDE, 0xDF  # hierarchical progression, expand reference component(s)
APP0, APP15 = 0xE0, 0xEF  # application segments
JPG0, JPG13 = 0xF0, 0xFD  # reserved for JPEG extensions
COM = 0xFE  # comment
RES_FIRST, RES_LAST = 0x02, 0xBF  # RES: reserved

# DCT frames this decoder implements, and the name of each process (the entropy coding is
# Huffman except for the frames in ARITHMETIC_SOF).
SOF_PROCESSES = {SOF0: "baseline", SOF1: "extended", SOF2: "progressive", SOF3: "lossless",
                 SOF9: "extended", SOF10: "progressive"}
ARITHMETIC_SOF = frozenset({SOF9, SOF10})  # Table B.1: SOF9..SOF15 use arithmetic coding

# Start-of-frame markers of the processes it does not implement (T.81 Table B.1), by name.
UNSUPPORTED_SOF = {
    0xC5: "hierarchical mode: differential sequential DCT (SOF5, Huffman coding)",
    0xC6: "hierarchical mode: differential progressive DCT (SOF6, Huffman coding)",
    0xC7: "hierarchical mode: differential lossless (SOF7, Huffman coding)",
    0xCB: "arithmetic coding: lossless (SOF11)",
    0xCD: "arithmetic coding, hierarchical mode: differential sequential DCT (SOF13)",
    0xCE: "arithmetic coding, hierarchical mode: differential progressive DCT (SOF14)",
    0xCF: "arithmetic coding, hierarchical mode: differential lossless (SOF15)",
}

# Other markers that belong to processes this decoder does not implement.
UNSUPPORTED_MARKERS = {
    DHP: "hierarchical mode (DHP: define hierarchical progression)",
    EXP: "hierarchical mode (EXP: expand reference components)",
}

_FIXED_NAMES = {TEM: "TEM", DHT: "DHT", JPG: "JPG", DAC: "DAC", SOI: "SOI", EOI: "EOI", SOS: "SOS",
                DQT: "DQT", DNL: "DNL", DRI: "DRI", DHP: "DHP", EXP: "EXP", COM: "COM"}


def marker_name(code: int) -> str:
    """The T.81 Table B.1 name of a marker code, e.g. ``SOF2``, ``RST5``, ``APP14``."""
    if code in _FIXED_NAMES:
        return _FIXED_NAMES[code]
    if 0xC0 <= code <= 0xCF:
        return f"SOF{code - 0xC0}"
    if RST0 <= code <= RST7:
        return f"RST{code - RST0}"
    if APP0 <= code <= APP15:
        return f"APP{code - APP0}"
    if JPG0 <= code <= JPG13:
        return f"JPG{code - JPG0}"
    return f"RES 0x{code:02X}" if RES_FIRST <= code <= RES_LAST else f"0x{code:02X}"


def is_standalone(code: int) -> bool:
    """B.1.1.3: SOI, EOI, RSTm and TEM have no length field and no parameters."""
    return code in (SOI, EOI, TEM) or RST0 <= code <= RST7


# ---------------------------------------------------------------------------------------------
# Finding markers and segments (B.1.1)
# ---------------------------------------------------------------------------------------------

SEGMENT_LENGTH_BYTES = 2  # B.1.1.4: the length parameter is two bytes, big-endian


def next_marker(data: bytes, pos: int, source: str) -> tuple[int, int, int] | None:
    """The marker at ``pos``: ``(code, offset of its first 0xFF, offset after the code)``.

    Fill bytes (0xFF) before the marker are skipped (B.1.1.2). Returns ``None`` if ``pos`` is
    the end of the data. Anything other than a marker at ``pos`` is a DecodeError: between
    marker segments the syntax of B.2 allows nothing else.
    """
    n = len(data)
    if pos >= n:
        return None
    if data[pos] != 0xFF:
        raise DecodeError(f"expected a marker (0xFF), found byte 0x{data[pos]:02X}", source=source,
                          offset=pos)
    start = pos
    while pos + 1 < n and data[pos + 1] == 0xFF:  # B.1.1.2: fill bytes
        pos += 1
    if pos + 1 >= n:
        raise DecodeError("truncated: the file ends inside a marker (0xFF without a code)",
                          source=source, offset=start)
    code = data[pos + 1]
    if code == 0x00:
        raise DecodeError("expected a marker, found 0xFF00 (a stuffed byte outside entropy-coded "
                          "data)", source=source, offset=pos)
    return code, pos, pos + 2


def read_segment(data: bytes, code: int, offset: int, source: str) -> tuple[bytes, int]:
    """The parameters of the segment whose marker is at ``offset``: ``(body, end offset)``.

    ``body`` excludes the marker and the length field; the length must be at least 2 and the
    segment must fit in the data (B.1.1.4).
    """
    name = marker_name(code)
    at = offset + 2
    if at + SEGMENT_LENGTH_BYTES > len(data):
        raise DecodeError(f"truncated: the file ends inside the length field of the {name} "
                          "segment", source=source, offset=offset)
    length = struct.unpack_from(">H", data, at)[0]
    if length < SEGMENT_LENGTH_BYTES:
        raise DecodeError(f"{name} segment length {length} is less than 2 (B.1.1.4)",
                          source=source, offset=at)
    end = at + length
    if end > len(data):
        raise DecodeError(f"truncated: the {name} segment declares {length} bytes, the file "
                          f"ends {len(data) - at} bytes after its length field", source=source,
                          offset=offset)
    return bytes(data[at + SEGMENT_LENGTH_BYTES:end]), end


# ---------------------------------------------------------------------------------------------
# Frame header (B.2.2)
# ---------------------------------------------------------------------------------------------

SUPPORTED_PRECISION = 8  # P: 8-bit samples; 12-bit (extended/progressive) is not implemented
LOSSLESS_PRECISION = (2, 16)  # Table B.2: P in 2..16 for the lossless process (only 8 decoded)
MAX_SAMPLING_FACTOR = 4  # Table B.2: Hi, Vi in 1..4
MAX_QUANT_TABLES = 4  # Table B.2 / B.4: Tq in 0..3
MAX_PROGRESSIVE_COMPONENTS = 4  # Table B.2: Nf in 1..4 for the progressive DCT


@dataclass(frozen=True)
class FrameComponentSpec:
    """One component-specification of the frame header: Ci, Hi, Vi, Tqi."""

    id: int
    h: int
    v: int
    tq: int


@dataclass(frozen=True)
class FrameHeader:
    """B.2.2 frame header: process (from the SOFn marker), P, Y, X and the components."""

    marker: int
    process: str
    precision: int
    height: int
    width: int
    components: tuple[FrameComponentSpec, ...]
    offset: int

    @property
    def arithmetic(self) -> bool:
        """Arithmetic entropy coding (SOF9, SOF10), else Huffman."""
        return self.marker in ARITHMETIC_SOF


def parse_frame_header(code: int, body: bytes, offset: int, source: str) -> FrameHeader:
    """Parse SOF0/SOF1/SOF2/SOF3/SOF9/SOF10 (Figure B.3, Table B.2).

    ``Lf = 8 + 3·Nf``; P = 8 (12 raises UnsupportedFeature, other values DecodeError; for SOF3
    lossless, P in 2..16 other than 8 raises UnsupportedFeature, outside 2..16 DecodeError);
    Y may be 0
    (the number of lines then comes in a DNL segment after the first scan, B.2.5: the reader
    deals with it); X >= 1; Nf >= 1 (<= 4 for progressive); Hi, Vi in 1..4; Tqi in 0..3;
    component identifiers distinct (B.2.2: "Ci ... shall be unique within a frame").
    """
    process = SOF_PROCESSES[code]
    name = marker_name(code)
    d = offset + 4  # file offset of the first parameter byte (after marker and Lf)
    if len(body) < 6:
        raise DecodeError(f"{name} segment has {len(body)} parameter bytes, fewer than the 6 "
                          "fixed ones (Figure B.3)", source=source, offset=offset)
    precision, y, x, nf = struct.unpack_from(">BHHB", body, 0)
    if len(body) != 6 + 3 * nf:
        raise DecodeError(f"{name} length {len(body) + 2} does not equal 8 + 3·Nf = {8 + 3 * nf} "
                          f"for Nf = {nf} (Table B.2)", source=source, offset=offset + 2)
    if code == SOF3:
        lo, hi = LOSSLESS_PRECISION
        if not lo <= precision <= hi:
            raise DecodeError(f"{name} sample precision P = {precision} is not 2..16 (Table B.2, "
                              "lossless)", source=source, offset=d)
        if precision != SUPPORTED_PRECISION:
            raise UnsupportedFeature(f"lossless JPEG with {precision}-bit samples (P = "
                                     f"{precision}) is not supported, only P = 8",
                                     source=source, offset=d)
    elif precision == 12 and code != SOF0:
        raise UnsupportedFeature("12-bit sample precision (P = 12) is not supported, only P = 8",
                                 source=source, offset=d)
    if precision != SUPPORTED_PRECISION:
        allowed = "8" if code == SOF0 else "8 or 12"
        raise DecodeError(f"{name} sample precision P = {precision} is not {allowed} (Table B.2)",
                          source=source, offset=d)
    if x == 0:
        raise DecodeError(f"{name} gives X = 0 samples per line (Table B.2: 1..65535)",
                          source=source, offset=d + 3)
    if nf == 0:
        raise DecodeError(f"{name} has Nf = 0 components (Table B.2)", source=source, offset=d + 5)
    if process == "progressive" and nf > MAX_PROGRESSIVE_COMPONENTS:
        raise DecodeError(f"progressive frame with Nf = {nf} components; Table B.2 allows 1..4",
                          source=source, offset=d + 5)
    components = []
    seen: set[int] = set()
    for i in range(nf):
        at = 6 + 3 * i
        cid, hv, tq = body[at], body[at + 1], body[at + 2]
        h, v = hv >> 4, hv & 0x0F
        if cid in seen:
            raise DecodeError(f"{name}: component identifier {cid} appears twice (B.2.2: Ci shall "
                              "be unique)", source=source, offset=d + at)
        seen.add(cid)
        for what, value in (("H", h), ("V", v)):
            if not 1 <= value <= MAX_SAMPLING_FACTOR:
                raise DecodeError(f"{name}: component {cid} has sampling factor {what} = {value}, "
                                  "not 1..4 (Table B.2)", source=source, offset=d + at + 1)
        if tq >= MAX_QUANT_TABLES:
            raise DecodeError(f"{name}: component {cid} uses quantization table {tq}, not 0..3 "
                              "(Table B.2)", source=source, offset=d + at + 2)
        components.append(FrameComponentSpec(id=cid, h=h, v=v, tq=tq))
    return FrameHeader(marker=code, process=process, precision=precision, height=y, width=x,
                       components=tuple(components), offset=offset)


# ---------------------------------------------------------------------------------------------
# Scan header (B.2.3)
# ---------------------------------------------------------------------------------------------

MAX_SCAN_COMPONENTS = 4  # Table B.3: Ns in 1..4
MAX_HUFFMAN_TABLES = 4  # Table B.3/B.5: Td, Ta, Th in 0..3 (0..1 for baseline)


@dataclass(frozen=True)
class ScanComponentSpec:
    """One component-specification of the scan header: Csj, Tdj, Taj."""

    id: int
    td: int
    ta: int


@dataclass(frozen=True)
class ScanHeader:
    """B.2.3 scan header: components, Ss, Se, Ah, Al; ``offset`` of the SOS marker."""

    components: tuple[ScanComponentSpec, ...]
    ss: int
    se: int
    ah: int
    al: int
    offset: int
    end: int  # file offset of the first entropy-coded byte


def parse_scan_header(body: bytes, offset: int, end: int, source: str) -> ScanHeader:
    """Parse SOS (Figure B.4): Ls = 6 + 2·Ns, Ns in 1..4, Td/Ta in 0..3, Ss/Se/Ah/Al as bytes.

    Only the ranges that hold for every process are checked here; which Ss, Se, Ah, Al a
    process allows, and which components may appear, is checked against the frame by the reader.
    """
    d = offset + 4
    if len(body) < 1:
        raise DecodeError("SOS segment has no Ns byte (Figure B.4)", source=source, offset=offset)
    ns = body[0]
    if not 1 <= ns <= MAX_SCAN_COMPONENTS:
        raise DecodeError(f"SOS has Ns = {ns} components; Table B.3 allows 1..4", source=source,
                          offset=d)
    if len(body) != 4 + 2 * ns:
        raise DecodeError(f"SOS length {len(body) + 2} does not equal 6 + 2·Ns = {6 + 2 * ns} "
                          f"(Table B.3)", source=source, offset=offset + 2)
    components = []
    for j in range(ns):
        cs, t = body[1 + 2 * j], body[2 + 2 * j]
        td, ta = t >> 4, t & 0x0F
        for what, value in (("DC (Td)", td), ("AC (Ta)", ta)):
            if value >= MAX_HUFFMAN_TABLES:
                raise DecodeError(f"SOS: component {cs} selects {what} Huffman table {value}, "
                                  "not 0..3 (Table B.3)", source=source, offset=d + 2 + 2 * j)
        components.append(ScanComponentSpec(id=cs, td=td, ta=ta))
    ss, se, a = body[1 + 2 * ns], body[2 + 2 * ns], body[3 + 2 * ns]
    return ScanHeader(components=tuple(components), ss=ss, se=se, ah=a >> 4, al=a & 0x0F,
                      offset=offset, end=end)


# ---------------------------------------------------------------------------------------------
# Tables (B.2.4.1 DQT, B.2.4.2 DHT) and restart interval (B.2.4.4 DRI)
# ---------------------------------------------------------------------------------------------

QUANT_VALUES = 64  # Qk, k = 0..63, in zig-zag order


@dataclass(frozen=True)
class QuantTableSpec:
    """One table of a DQT segment: Tq, Pq and the 64 values in *natural* order (uint16)."""

    tq: int
    pq: int
    values: np.ndarray
    offset: int


def parse_dqt(body: bytes, offset: int, source: str) -> list[QuantTableSpec]:
    """Parse DQT (Figure B.6, Table B.4): one or more (Pq|Tq, Q0..Q63) entries.

    Pq = 0: 8-bit Qk, Pq = 1: 16-bit big-endian Qk; Tq in 0..3; every Qk in 1..255 or 1..65535
    (a zero divisor is an error). The values arrive in zig-zag order (B.2.4.1) and are returned in
    natural order: ``values[ZIGZAG[k]] = Qk``.
    """
    tables = []
    i = 0
    d = offset + 4
    while i < len(body):
        pq, tq = body[i] >> 4, body[i] & 0x0F
        if pq > 1:
            raise DecodeError(f"DQT: precision Pq = {pq}, not 0 (8-bit) or 1 (16-bit) (Table B.4)",
                              source=source, offset=d + i)
        if tq >= MAX_QUANT_TABLES:
            raise DecodeError(f"DQT: table destination Tq = {tq}, not 0..3 (Table B.4)",
                              source=source, offset=d + i)
        size = QUANT_VALUES * (pq + 1)
        if i + 1 + size > len(body):
            raise DecodeError(f"DQT: table {tq} needs {size} value bytes, the segment has "
                              f"{len(body) - i - 1} left (length field disagrees with Pq)",
                              source=source, offset=d + i)
        raw = np.frombuffer(body, dtype=">u1" if pq == 0 else ">u2", count=QUANT_VALUES,
                            offset=i + 1)
        zeros = np.flatnonzero(raw == 0)
        if zeros.size:
            k = int(zeros[0])
            raise DecodeError(f"DQT: table {tq} has Q{k} = 0 (zig-zag index {k}); Table B.4 "
                              "requires 1..255 / 1..65535", source=source,
                              offset=d + i + 1 + k * (pq + 1))
        values = np.zeros(QUANT_VALUES, dtype=np.uint16)
        values[ZIGZAG] = raw
        tables.append(QuantTableSpec(tq=tq, pq=pq, values=values, offset=d + i))
        i += 1 + size
    return tables


HUFFMAN_BITS_LENGTH = 16  # L1..L16: number of codes of each length 1..16
MAX_HUFFMAN_SYMBOLS = 256  # B.2.4.2: sum of Li <= 256


@dataclass(frozen=True)
class HuffmanTableSpec:
    """One table of a DHT segment: Tc (0 = DC, 1 = AC), Th, BITS (L1..L16) and HUFFVAL."""

    tc: int
    th: int
    bits: tuple[int, ...]
    huffval: bytes
    offset: int


def parse_dht(body: bytes, offset: int, source: str) -> list[HuffmanTableSpec]:
    """Parse DHT (Figure B.7, Table B.5): one or more (Tc|Th, L1..L16, V1,1 .. V16,L16).

    Tc in 0..1, Th in 0..3, sum of Li <= 256 and all present. Whether BITS describes a
    possible code (Annex C) is checked when the table is built (:mod:`.entropy`).
    """
    tables = []
    i = 0
    d = offset + 4
    while i < len(body):
        tc, th = body[i] >> 4, body[i] & 0x0F
        if tc > 1:
            raise DecodeError(f"DHT: table class Tc = {tc}, not 0 (DC) or 1 (AC) (Table B.5)",
                              source=source, offset=d + i)
        if th >= MAX_HUFFMAN_TABLES:
            raise DecodeError(f"DHT: table destination Th = {th}, not 0..3 (Table B.5)",
                              source=source, offset=d + i)
        if i + 1 + HUFFMAN_BITS_LENGTH > len(body):
            raise DecodeError("DHT: the segment ends inside the 16 code-length counts "
                              "(length field too small)", source=source, offset=d + i)
        bits = tuple(body[i + 1:i + 1 + HUFFMAN_BITS_LENGTH])
        count = sum(bits)
        if count > MAX_HUFFMAN_SYMBOLS:
            raise DecodeError(f"DHT: {'DC' if tc == 0 else 'AC'} table {th} declares {count} "
                              "codes, more than 256 (B.2.4.2)", source=source, offset=d + i + 1)
        start = i + 1 + HUFFMAN_BITS_LENGTH
        if start + count > len(body):
            raise DecodeError(f"DHT: table needs {count} symbol bytes, the segment has "
                              f"{len(body) - start} left (length field disagrees with L1..L16)",
                              source=source, offset=d + i)
        tables.append(HuffmanTableSpec(tc=tc, th=th, bits=bits, huffval=body[start:start + count],
                                       offset=d + i))
        i = start + count
    return tables


MAX_CONDITIONING_TABLES = 4  # Table B.6: Tb in 0..3
MAX_DC_CONDITIONING_BOUND = 15  # Table B.6: L and U are 4-bit values, L <= U
MIN_AC_KX, MAX_AC_KX = 1, 63  # Table B.6: Kx in 1..63


@dataclass(frozen=True)
class ConditioningSpec:
    """One entry of a DAC segment: Tc (0 = DC, 1 = AC), Tb and Cs. For DC, Cs = U·16 + L
    (``l``, ``u``); for AC, Cs = Kx (``kx``)."""

    tc: int
    tb: int
    cs: int
    offset: int

    @property
    def l(self) -> int:  # noqa: E743 - the standard's name
        return self.cs & 0x0F

    @property
    def u(self) -> int:
        return self.cs >> 4

    @property
    def kx(self) -> int:
        return self.cs


def parse_dac(body: bytes, offset: int, source: str) -> list[ConditioningSpec]:
    """Parse DAC (Figure B.8, Table B.6): one or more (Tc|Tb, Cs) pairs.

    Tc in 0..1, Tb in 0..3; DC (Tc = 0): Cs = U·16 + L with 0 <= L <= U <= 15; AC (Tc = 1):
    Cs = Kx in 1..63. The length must be 2 + 2·n (Table B.6: La). libjpeg-turbo (jdmarker.c
    get_dac) checks L <= U and the length; it takes any Kx and Tb up to 15.
    """
    d = offset + 4
    if len(body) % 2:
        raise DecodeError(f"DAC length {len(body) + 2} is not 2 + 2·n (Table B.6)",
                          source=source, offset=offset + 2)
    specs = []
    for i in range(0, len(body), 2):
        tc, tb, cs = body[i] >> 4, body[i] & 0x0F, body[i + 1]
        if tc > 1:
            raise DecodeError(f"DAC: table class Tc = {tc}, not 0 (DC) or 1 (AC) (Table B.6)",
                              source=source, offset=d + i)
        if tb >= MAX_CONDITIONING_TABLES:
            raise DecodeError(f"DAC: conditioning table destination Tb = {tb}, not 0..3 "
                              "(Table B.6)", source=source, offset=d + i)
        spec = ConditioningSpec(tc=tc, tb=tb, cs=cs, offset=d + i)
        if tc == 0 and spec.l > spec.u:
            raise DecodeError(f"DAC: DC table {tb} has L = {spec.l} > U = {spec.u}; Table B.6 "
                              "needs 0 <= L <= U <= 15", source=source, offset=d + i + 1)
        if tc == 1 and not MIN_AC_KX <= cs <= MAX_AC_KX:
            raise DecodeError(f"DAC: AC table {tb} has Kx = {cs}, not 1..63 (Table B.6)",
                              source=source, offset=d + i + 1)
        specs.append(spec)
    return specs


def parse_dri(body: bytes, offset: int, source: str) -> int:
    """Parse DRI (Figure B.9): Lr = 4, Ri = MCUs per restart interval (0 disables restarts)."""
    if len(body) != 2:
        raise DecodeError(f"DRI length {len(body) + 2} is not 4 (Table B.7)", source=source,
                          offset=offset + 2)
    return struct.unpack(">H", body)[0]


# ---------------------------------------------------------------------------------------------
# Application segments (contents defined outside T.81)
# ---------------------------------------------------------------------------------------------

JFIF_IDENTIFIER = b"JFIF\x00"
JFIF_MIN_LENGTH = 14  # identifier 5, version 2, units 1, Xdensity 2, Ydensity 2, Xthumb, Ythumb
ADOBE_IDENTIFIER = b"Adobe"
ADOBE_MIN_LENGTH = 12  # identifier 5, version 2, flags0 2, flags1 2, transform 1
ADOBE_TRANSFORM_INDEX = 11
EXIF_IDENTIFIER = b"Exif\x00\x00"  # Exif 2.32 §4.7.2: "Exif", NUL, padding NUL
XMP_IDENTIFIER = b"http://ns.adobe.com/xap/1.0/\x00"  # XMP Specification Part 3, §1.1.3 (APP1)
ICC_IDENTIFIER = b"ICC_PROFILE\x00"  # ICC.1 Annex B.4
ICC_HEADER_LENGTH = len(ICC_IDENTIFIER) + 2  # identifier, sequence number, number of chunks


def is_jfif(body: bytes) -> bool:
    """APP0 body is a JFIF header (libjpeg examine_app0 needs all 14 bytes to count it)."""
    return body[:5] == JFIF_IDENTIFIER and len(body) >= JFIF_MIN_LENGTH


def adobe_transform(body: bytes) -> int | None:
    """APP14 body -> the Adobe transform byte (0 none, 1 YCbCr, 2 YCCK), or None."""
    if body[:5] == ADOBE_IDENTIFIER and len(body) >= ADOBE_MIN_LENGTH:
        return body[ADOBE_TRANSFORM_INDEX]
    return None


def exif_payload(body: bytes) -> bytes | None:
    """APP1 body -> the TIFF structure after ``"Exif\\0\\0"``, or None for other APP1 uses."""
    return body[len(EXIF_IDENTIFIER):] if body[:len(EXIF_IDENTIFIER)] == EXIF_IDENTIFIER else None


def xmp_payload(body: bytes) -> bytes | None:
    """APP1 body -> the XMP packet after ``"http://ns.adobe.com/xap/1.0/\\0"``, or None."""
    return body[len(XMP_IDENTIFIER):] if body[:len(XMP_IDENTIFIER)] == XMP_IDENTIFIER else None


def icc_chunk(body: bytes) -> tuple[int, int, bytes] | None:
    """APP2 body -> (sequence number, number of chunks, data) of an ICC profile chunk, or None."""
    if body[:len(ICC_IDENTIFIER)] != ICC_IDENTIFIER or len(body) < ICC_HEADER_LENGTH:
        return None
    return body[len(ICC_IDENTIFIER)], body[len(ICC_IDENTIFIER) + 1], body[ICC_HEADER_LENGTH:]


def join_icc_chunks(chunks: list[tuple[int, int, bytes, int]]) -> tuple[bytes | None, str | None]:
    """Join ``(seq, count, data, offset)`` chunks into the profile: ``(profile, problem)``.

    ICC.1 Annex B.4: chunks are numbered 1..count, every chunk gives the same count. A
    malformed set is dropped with a reason (like libjpeg's jpeg_read_icc_profile, which then
    returns no profile); it never fails the decode, since the profile is not applied.
    """
    if not chunks:
        return None, None
    count = chunks[0][1]
    by_seq: dict[int, bytes] = {}
    for seq, cnt, data, offset in chunks:
        if cnt != count or cnt == 0:
            return None, f"APP2 ICC_PROFILE chunk at byte {offset} gives {cnt} chunks, not {count}"
        if not 1 <= seq <= count or seq in by_seq:
            return None, (f"APP2 ICC_PROFILE chunk at byte {offset} has sequence number {seq} "
                          f"(expected each of 1..{count} once)")
        by_seq[seq] = data
    if len(by_seq) != count:
        return None, f"ICC profile has {len(by_seq)} of its {count} APP2 chunks"
    return b"".join(by_seq[s] for s in range(1, count + 1)), None
