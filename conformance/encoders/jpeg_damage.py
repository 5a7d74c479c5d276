"""Damaged JPEG files of the five classes libjpeg-turbo repairs (test and corpus tooling).

Each function takes a well-formed JPEG written by an encoder and returns the damaged bytes; the
``reference`` decodes them with ``on_corrupt="libjpeg-turbo"`` and the tests compare that with
Pillow and OpenCV. The classes (the names are the values of :data:`DAMAGE_CLASSES`):

- ``junk``: bytes that are no marker inserted right before EOI (or before a restart marker),
  as a damaged transfer or a careless muxer leaves them.
- ``no_dht``: every DHT segment removed: a Motion-JPEG frame (webcams, AVI MJPEG) that relies
  on the standard tables of T.81 Annex K.3 (the file must have been written with them, i.e.
  not Huffman-optimised).
- ``short_scan``: a scan's entropy-coded data cut at a byte offset, then either EOI, or the
  rest of the file from the next marker on (a progressive file keeps its later scans), or
  nothing at all (the file ends).
- ``ac_before_dc``: the AC scans of a progressive file moved before its first DC scan.
- ``run_past_64``: a baseline file re-entropy-coded with, in chosen blocks, the EOB replaced by
  a zero run whose coefficient lands at zig-zag position 64..78 (the Huffman writer here uses
  the file's own tables; Annex K's luminance AC table has every run/size symbol).

Like :mod:`.jpeg`, this shares no code with the reference decoder; the coefficients of the
``run_past_64`` source come from a small baseline Huffman decoder of its own.
"""

from __future__ import annotations

import numpy as np

from .jpeg import (DHT, EOI_BYTES, RST0, RST7, SOS, find, frame, huffman_codes, huffman_tables,
                   segments)

DAMAGE_CLASSES = ("junk", "no_dht", "short_scan", "ac_before_dc", "run_past_64")

# T.81 Figure A.6: zig-zag index -> natural (row-major) index.
ZIGZAG = np.array([
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27,
    20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58,
    59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63])


def junk_before_eoi(data: bytes, junk: bytes) -> bytes:
    """``junk`` inserted before the final EOI. It must not contain 0xFF (which could start a
    marker); libjpeg skips such bytes with "Corrupt JPEG data: N extraneous bytes before
    marker 0xd9"."""
    if 0xFF in junk:
        raise ValueError("junk must not contain 0xFF")
    if not data.endswith(EOI_BYTES):
        raise ValueError("the file does not end with EOI")
    return data[:-2] + junk + EOI_BYTES


def junk_before_restart(data: bytes, junk: bytes, which: int = 0) -> bytes:
    """``junk`` inserted before the ``which``-th restart marker of the first scan."""
    if 0xFF in junk:
        raise ValueError("junk must not contain 0xFF")
    scan = find(data, SOS)[0]
    markers = [p for p in range(scan.header_end(data), scan.end - 1)
               if data[p] == 0xFF and RST0 <= data[p + 1] <= RST7]
    if which >= len(markers):
        raise ValueError(f"the first scan has {len(markers)} restart markers")
    at = markers[which]
    return data[:at] + junk + data[at:]


def without_dht(data: bytes) -> bytes:
    """Every DHT segment removed (a Motion-JPEG frame)."""
    out, last = bytearray(), 0
    for seg in segments(data):
        if seg.marker == DHT:
            out += data[last:seg.offset]
            last = seg.end
    return bytes(out + data[last:])


def scan_data_spans(data: bytes) -> list[tuple[int, int]]:
    """(first byte, end) of each scan's entropy-coded data (restart markers included)."""
    return [(s.header_end(data), s.end) for s in find(data, SOS)]


def cut_scan(data: bytes, scan: int, offset: int, rest: str = "eoi") -> bytes:
    """Scan ``scan``'s entropy-coded data cut ``offset`` bytes after its start (never inside a
    0xFF 0x00 pair or a restart marker's two bytes: the cut moves back one byte there). Then
    ``rest``: ``"eoi"`` (EOI), ``"next"`` (the file from the marker after that scan's data on)
    or ``"none"`` (the file ends)."""
    start, end = scan_data_spans(data)[scan]
    at = start + offset
    if not start <= at < end:
        raise ValueError(f"offset {offset} is outside scan {scan}'s {end - start} data bytes")
    if at > start and data[at - 1] == 0xFF:
        at -= 1
    tail = {"eoi": EOI_BYTES, "next": data[end:], "none": b""}[rest]
    return data[:at] + tail


def ac_scans_first(data: bytes, count: int = 1) -> bytes:
    """A progressive file with its first ``count`` AC scans (Ss > 0) moved, in order and each with
    the table segments right before it (libjpeg writes a scan's DHT just before its SOS), to
    before the first DC scan (and before that scan's own table segments)."""
    segs = segments(data)

    def is_ac(seg) -> bool:
        p = seg.payload(data)
        return p[1 + 2 * p[0]] > 0  # Ss

    groups, start = [], None  # (first byte of the scan's leading table segments, SOS segment)
    for i, seg in enumerate(segs):
        if seg.marker == SOS:
            j = i
            while j > 0 and segs[j - 1].marker in (DHT, 0xDB, 0xDD):  # DHT, DQT, DRI
                j -= 1
            groups.append((segs[j].offset, seg))
    if not groups or is_ac(groups[0][1]):
        raise ValueError("not a progressive file whose first scan is a DC scan")
    moved = [g for g in groups if is_ac(g[1])][:count]
    if not moved:
        raise ValueError("the file has no AC scan")
    first = groups[0][0]
    out = bytearray(data[:first])
    for begin, seg in moved:
        out += data[begin:seg.end]
    last = first
    for begin, seg in moved:
        out += data[last:begin]
        last = seg.end
    return bytes(out + data[last:])


# ---------------------------------------------------------------------------------------------
# run_past_64: decode a baseline file's coefficients, then write the scan again with overruns
# ---------------------------------------------------------------------------------------------


class _Bits:
    """MSB-first bit reader over entropy-coded data (0xFF 0x00 -> 0xFF; stops at markers)."""

    def __init__(self, data: bytes, pos: int):
        self.data, self.pos, self.acc, self.n = data, pos, 0, 0

    def bit(self) -> int:
        if self.n == 0:
            b = self.data[self.pos]
            if b == 0xFF:
                if self.data[self.pos + 1] != 0:
                    raise ValueError("marker inside the scan (restart intervals are not handled)")
                self.pos += 1
            self.pos += 1
            self.acc, self.n = b, 8
        self.n -= 1
        return (self.acc >> self.n) & 1

    def bits(self, k: int) -> int:
        v = 0
        for _ in range(k):
            v = (v << 1) | self.bit()
        return v


def _decoder(bits, huffval):
    table = {}
    for (length, code), sym in zip(huffman_codes(bits), huffval):
        table[(length, code)] = sym
    return table


def _read_symbol(reader: _Bits, table) -> int:
    code, length = 0, 0
    while length < 16:
        code, length = (code << 1) | reader.bit(), length + 1
        if (length, code) in table:
            return table[(length, code)]
    raise ValueError("bad Huffman code")


def _extend(v: int, t: int) -> int:
    return v - (1 << t) + 1 if t and v < (1 << (t - 1)) else v


def _layout(data: bytes):
    f = frame(data)
    scan = find(data, SOS)[0]
    p = scan.payload(data)
    ns = p[0]
    sel = [(p[1 + 2 * j], p[2 + 2 * j] >> 4, p[2 + 2 * j] & 15) for j in range(ns)]
    if len(find(data, SOS)) != 1 or ns != len(f.components) or f.marker not in (0xC0, 0xC1):
        raise ValueError("run_past_64 needs a one-scan baseline file")
    comps = {c[0]: c for c in f.components}
    mh, mw = f.mcu_size
    mcus = -(-f.height // mh) * -(-f.width // mw)
    blocks = [(cid, td, ta) for cid, td, ta in sel
              for _ in range(comps[cid][1] * comps[cid][2] if ns > 1 else 1)]
    if ns == 1:
        mcus = -(-f.height // 8) * -(-f.width // 8)
    return scan, mcus, blocks


def baseline_blocks(data: bytes) -> list[list[list[int]]]:
    """The zig-zag coefficients (DC as a difference) of every block of a one-scan baseline file
    without restart intervals: ``[mcu][block] -> 64 values``."""
    tables = huffman_tables(data)
    scan, mcus, blocks = _layout(data)
    reader = _Bits(data, scan.header_end(data))
    dc = {k[1]: _decoder(*v) for k, v in tables.items() if k[0] == 0}
    ac = {k[1]: _decoder(*v) for k, v in tables.items() if k[0] == 1}
    out = []
    for _ in range(mcus):
        mcu = []
        for _cid, td, ta in blocks:
            zz = [0] * 64
            t = _read_symbol(reader, dc[td])
            zz[0] = _extend(reader.bits(t), t)
            k = 1
            while k < 64:
                rs = _read_symbol(reader, ac[ta])
                r, s = rs >> 4, rs & 15
                if s == 0:
                    if r != 15:
                        break
                    k += 16
                    continue
                k += r
                zz[k] = _extend(reader.bits(s), s)
                k += 1
            mcu.append(zz)
        out.append(mcu)
    return out


class _Writer:
    def __init__(self):
        self.out, self.acc, self.n = bytearray(), 0, 0

    def put(self, value: int, length: int) -> None:
        for i in range(length - 1, -1, -1):
            self.acc = (self.acc << 1) | ((value >> i) & 1)
            self.n += 1
            if self.n == 8:
                self.out.append(self.acc)
                if self.acc == 0xFF:
                    self.out.append(0)  # B.1.1.5 byte stuffing
                self.acc, self.n = 0, 0

    def finish(self) -> bytes:
        if self.n:
            self.put((1 << (8 - self.n)) - 1, 8 - self.n)  # F.1.2.3: pad with 1-bits
        return bytes(self.out)


def _category(v: int) -> int:
    return abs(v).bit_length()


def _magnitude_bits(v: int, s: int) -> int:
    return v if v >= 0 else v + (1 << s) - 1


def with_run_past_64(data: bytes, overruns: dict[tuple[int, int], tuple[int, int]]) -> bytes:
    """The file written again with its own tables; in block (mcu, b) of ``overruns`` the EOB
    (or the end of a full block) becomes the symbol (run, value): run zeros then ``value`` at
    zig-zag position k + run, which must be 64..78 (k = the position after the last non-zero
    coefficient, which must be at most 62: a block whose position 63 is coded has no symbol
    after it). libjpeg-turbo stores it at natural position 63 (``jpeg_natural_order``'s 16
    extra entries) and ends the block; T.81 F.2.2.2 allows no such code."""
    tables = huffman_tables(data)
    enc = {key: {sym: code for code, sym in zip(huffman_codes(bits), huffval)}
           for key, (bits, huffval) in tables.items()}
    scan, _, blocks = _layout(data)
    coefs = baseline_blocks(data)
    w = _Writer()
    for m, mcu in enumerate(coefs):
        for b, zz in enumerate(mcu):
            _, td, ta = blocks[b]
            t = _category(zz[0])
            w.put(*reversed(enc[(0, td)][t]))
            w.put(_magnitude_bits(zz[0], t), t)
            last = max([k for k in range(1, 64) if zz[k]], default=0)
            k, run = 1, 0
            while k <= last:
                if zz[k] == 0:
                    run += 1
                else:
                    while run >= 16:
                        w.put(*reversed(enc[(1, ta)][0xF0]))
                        run -= 16
                    s = _category(zz[k])
                    w.put(*reversed(enc[(1, ta)][(run << 4) | s]))
                    w.put(_magnitude_bits(zz[k], s), s)
                    run = 0
                k += 1
            if (m, b) in overruns:
                r, value = overruns[(m, b)]
                if last > 62 or not 64 <= last + 1 + r <= 78:
                    raise ValueError(f"block ({m}, {b}): position {last + 1 + r} is not 64..78")
                s = _category(value)
                w.put(*reversed(enc[(1, ta)][(r << 4) | s]))
                w.put(_magnitude_bits(value, s), s)
            elif last < 63:
                w.put(*reversed(enc[(1, ta)][0x00]))
    start = scan.header_end(data)
    return data[:start] + w.finish() + data[scan.end:]


def last_nonzero(data: bytes) -> list[list[int]]:
    """Zig-zag position of each block's last non-zero AC coefficient (0: none), ``[mcu][b]``."""
    return [[max([k for k in range(1, 64) if zz[k]], default=0) for zz in mcu]
            for mcu in baseline_blocks(data)]


def damaged_jpegs() -> list:
    """The default bundle's damaged files, one per class, cut from small Pillow files (a
    gradient, so they stay a few hundred bytes): expect "error" (a conforming decoder rejects
    them), tags ``jpeg_negative`` and ``jpeg_damaged``; a pipeline whose decode repairs
    (``on_corrupt="libjpeg-turbo"``) gets libjpeg-turbo's repaired output as its expected value."""
    from .. import synthetic as syn
    from .jpeg import JpegInput, encode_pillow

    samples = syn.gradients(24, 40)
    base = encode_pillow(samples, quality=90, sampling="420")
    prog = encode_pillow(samples, quality=90, sampling="420", progressive=True)
    start, end = scan_data_spans(base)[0]
    pstart, pend = scan_data_spans(prog)[1]
    noise = encode_pillow(syn.noise(24, 24, 3, seed=64), quality=95, sampling="444")
    last = last_nonzero(noise)
    m, b = next((m, b) for m, mcu in enumerate(last) for b, k in enumerate(mcu) if 48 <= k <= 62)
    files = {
        "junk_before_eoi": (junk_before_eoi(base, bytes(range(1, 40))),
                            "39 bytes that are no marker inserted before EOI"),
        "mjpeg_no_dht": (without_dht(base), "every DHT segment removed (a Motion-JPEG frame: the "
                         "standard tables of T.81 Annex K)"),
        "short_scan": (cut_scan(base, 0, (end - start) // 3, "eoi"),
                       "the scan's entropy-coded data cut at a third, then EOI"),
        "progressive_cut_then_next_scans": (cut_scan(prog, 1, (pend - pstart) // 2, "next"),
                                            "a progressive file's second scan cut in half, the "
                                            "later scans kept"),
        "ac_before_dc": (ac_scans_first(prog, 2), "a progressive file's first two AC scans moved "
                         "before its DC scan"),
        "run_past_64": (with_run_past_64(noise, {(m, b): (63 - last[m][b], 5)}),
                        "noise at q95: a block's EOB replaced by a zero run to zig-zag "
                        "position 64 and the value 5"),
    }
    return [JpegInput(id=f"neg.jpeg.damaged.{name}", data=data, description=desc,
                      origin=f"corpus: conformance.encoders.jpeg_damage ({name})",
                      tags=("jpeg", "jpeg_negative", "jpeg_damaged"), expect="error",
                      reject_as="DecodeError")
            for name, (data, desc) in files.items()]
