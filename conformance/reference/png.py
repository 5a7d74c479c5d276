"""Reference PNG decoder, written from the W3C PNG specification (Third Edition).

Clause numbers follow the Third Edition's table of contents (§5 datastream structure, §7
scanlines, §8 interlacing, §9 filtering, §10 compression, §11 chunks, §13 decoders, Annex D CRC);
chunk clauses are also named by their chunk type, which is the stable anchor (#11IHDR, #11tRNS,
...) should numbering differ between printings. Python's ``zlib`` is used for
DEFLATE (RFC 1950/1951, PNG §10.1 compression method 0) and, as a fast path, for CRC-32; nothing
else is delegated (no Pillow, OpenCV or libpng).

What :func:`read_png` returns is the *PNG image* of §4.4, not yet converted to anything: samples
at their native depth (uint8 for depths 1..8, uint16 for 16), shape (H, W, C) with C the channel
count of the colour type (palette images: one channel of palette *indices*), plus the PLTE/tRNS
tables and metadata. Conversions to 8-bit RGB and friends are the ``decode`` op's job
(:mod:`conformance.reference.decode`), where each library difference is a knob.

Decoding steps, in order:
1. Signature (§5.2), then chunks (§5.3): length, type, data, CRC-32 over type+data (§5.5), every
   CRC checked. Ordering rules of §5.6 for critical chunks; unknown critical chunks are refused
   (§5.4: a decoder must not guess at them).
2. IHDR (§11.2.1): size, colour type and bit depth from Table 11.1, methods 0, interlace 0/1.
   Then the pixel limit, **before** anything is inflated or allocated.
3. IDAT (§11.2.3): the concatenated data of all IDAT chunks is one zlib stream; it is inflated
   with a bound equal to the exact number of bytes the header implies, so a zip bomb costs at
   most that much memory (§13.4 Security considerations).
4. Reconstruction (§9.2): per pass (§8.2 Adam7) and per scanline, undo the filter on bytes.
   This is the one inherently sequential loop: :func:`unfilter_scanlines` is the plain-Python
   specification; :data:`unfilter_scanlines_jit` is the *same function* compiled by numba.
5. Samples from bytes (§7.2): big-endian 16-bit; sub-byte samples packed MSB-first, the
   unused low bits of a row's last byte ignored.

Errors: malformed input -> :class:`DecodeError` (file name and byte offset in the message); a
valid feature we do not implement -> :class:`UnsupportedFeature`; too many pixels ->
:class:`LimitsExceeded`. Problems in *ancillary* chunks (tRNS of the wrong length, unreadable
eXIf or iCCP, misplaced tRNS/iCCP) never fail the decode: like libpng's "benign errors" the chunk
is ignored and a line is added to ``warnings`` (§13.2 Error handling allows a decoder to ignore
a faulty ancillary chunk).
"""

from __future__ import annotations

import dataclasses
import struct
import zlib
from dataclasses import dataclass, field

import numpy as np
from numba import njit
from numba.extending import register_jitable

from ..errors import DecodeError, LimitsExceeded, UnsupportedFeature
from .exif import read_orientation

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"  # §5.2: 137 80 78 71 13 10 26 10

# §5.3: a chunk length is a 4-byte unsigned integer "restricted to 2^31 - 1 bytes".
MAX_CHUNK_LENGTH = (1 << 31) - 1
# §11.2.1 IHDR: width and height are non-zero and at most 2^31 - 1.
MAX_DIMENSION = (1 << 31) - 1
# Default pixel limit: the same as spec.Decode.max_pixels (64 Mi pixels, about 8k x 8k).
DEFAULT_MAX_PIXELS = 1 << 26
# An iCCP profile is inflated with this bound; real profiles are a few hundred bytes to ~1 MiB.
MAX_ICC_PROFILE_BYTES = 1 << 24

# §11.2.1 IHDR, Table 11.1: colour type -> (name, channels, allowed bit depths).
COLOUR_TYPES: dict[int, tuple[str, int, tuple[int, ...]]] = {
    0: ("gray", 1, (1, 2, 4, 8, 16)),
    2: ("rgb", 3, (8, 16)),
    3: ("palette", 1, (1, 2, 4, 8)),
    4: ("gray_alpha", 2, (8, 16)),
    6: ("rgba", 4, (8, 16)),
}

# §8.2 Adam7: pass 1..7 as (x0, y0, dx, dy). Pass p holds the pixels x = x0 + i*dx,
# y = y0 + j*dy; its size is ceil((W - x0) / dx) x ceil((H - y0) / dy).
ADAM7_PASSES = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
                (0, 1, 1, 2))
NO_INTERLACE = ((0, 0, 1, 1),)

# Chunks whose position §5.6 constrains and that this decoder reads.
KNOWN_CRITICAL = (b"IHDR", b"PLTE", b"IDAT", b"IEND")


# ---------------------------------------------------------------------------------------------
# CRC-32 (§5.5, Annex D)
# ---------------------------------------------------------------------------------------------

CRC_POLYNOMIAL = 0xEDB88320  # x^32+x^26+...+1 (ISO 3309 / ITU-T V.42), bit-reversed form


def _crc_table() -> tuple[int, ...]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (CRC_POLYNOMIAL ^ (c >> 1)) if c & 1 else (c >> 1)
        table.append(c)
    return tuple(table)


CRC_TABLE = _crc_table()


def crc32_reference(data: bytes) -> int:
    """Annex D ``crc()``: register preset to all ones, table-driven update, final complement."""
    c = 0xFFFFFFFF
    for byte in data:
        c = CRC_TABLE[(c ^ byte) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


# The fast path: zlib's crc32 is the same CRC (tests check it equals crc32_reference).
chunk_crc = zlib.crc32


# ---------------------------------------------------------------------------------------------
# Reconstruction filters (§9.2-§9.4): the sequential specification and its compiled twin
# ---------------------------------------------------------------------------------------------


@register_jitable
def paeth_predictor(a: int, b: int, c: int) -> int:
    """§9.4 PaethPredictor: the neighbour (a left, b above, c above-left) closest to a + b - c.

        p = a + b - c;  pa = |p - a|,  pb = |p - b|,  pc = |p - c|
        if pa <= pb and pa <= pc: a   elif pb <= pc: b   else: c

    Ties prefer a, then b (the order is normative: it is what the encoder used).
    """
    p = a + b - c
    pa = abs(p - a)
    pb = abs(p - b)
    pc = abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    if pb <= pc:
        return b
    return c


def unfilter_scanlines(data, start: int, height: int, rowbytes: int, bpp: int, out) -> int:
    """Reconstruct ``height`` filtered scanlines of one pass (§9.2 Table 9.1, §9.3, §9.4).

    ``data[start:]`` holds, per scanline, one filter-type byte then ``rowbytes`` filtered bytes;
    the reconstructed bytes go to ``out[y, 0:rowbytes]`` (uint8). Per byte x of a scanline, with
    a = reconstructed byte ``bpp`` to the left, b = reconstructed byte above, c = above-left, all
    0 outside the scanline and above the pass's first scanline:

        type 0 None:    Recon(x) = Filt(x)
        type 1 Sub:     Recon(x) = Filt(x) + Recon(a)
        type 2 Up:      Recon(x) = Filt(x) + Recon(b)
        type 3 Average: Recon(x) = Filt(x) + floor((Recon(a) + Recon(b)) / 2)   (no overflow: in int)
        type 4 Paeth:   Recon(x) = Filt(x) + PaethPredictor(Recon(a), Recon(b), Recon(c))
        all modulo 256.

    ``bpp`` = bytes per complete pixel rounded up to 1 (§9.2: max(1, bit_depth*channels/8)): the
    filters work on bytes, so 16-bit samples are filtered byte by byte and sub-byte pixels use the
    byte just before. Returns -1, or the index of the first scanline whose filter type is not
    0..4 (the caller raises; this function stays free of Python objects so numba can compile it).
    """
    for y in range(height):
        pos = start + y * (rowbytes + 1)
        filter_type = data[pos]
        if filter_type > 4:
            return y
        for x in range(rowbytes):
            filt = int(data[pos + 1 + x])
            a = int(out[y, x - bpp]) if x >= bpp else 0
            b = int(out[y - 1, x]) if y > 0 else 0
            c = int(out[y - 1, x - bpp]) if (x >= bpp and y > 0) else 0
            if filter_type == 0:
                recon = filt
            elif filter_type == 1:
                recon = filt + a
            elif filter_type == 2:
                recon = filt + b
            elif filter_type == 3:
                recon = filt + ((a + b) >> 1)
            else:
                recon = filt + paeth_predictor(a, b, c)
            out[y, x] = recon & 0xFF
    return -1


# Same source, compiled; cached on disk (``__pycache__``) so only the first run pays ~1 s.
unfilter_scanlines_jit = njit(cache=True)(unfilter_scanlines)


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PngInfo:
    """Everything in a PNG datastream except the pixels (all chunks parsed and CRC-checked)."""

    width: int
    height: int
    bit_depth: int
    colour_type: int
    interlaced: bool
    palette: np.ndarray | None = None  # (N, 3) uint8, PLTE (§11.2.2)
    palette_alpha: np.ndarray | None = None  # (N,) uint8: tRNS entries, 255 beyond them (§11.3.1.1)
    trns_key: tuple[int, ...] | None = None  # gray (k,) or rgb (r, g, b), masked to bit depth
    exif: bytes | None = None  # raw eXIf payload
    exif_orientation: int | None = None  # tag 0x0112 as stored (any value), None if absent/unreadable
    icc_name: str | None = None
    icc_profile: bytes | None = None  # inflated iCCP profile, not applied
    chunks: tuple[tuple[str, int, int], ...] = ()  # (type, file offset, data length) in order
    idat_spans: tuple[tuple[int, int], ...] = ()  # (file offset of data, length) of each IDAT
    warnings: tuple[str, ...] = ()
    # tEXt, zTXt, iTXt and eXIf chunks in file order, (type, data): where Pillow also reads an
    # orientation from (reference.orientation_sources); not interpreted by the decode itself
    metadata_chunks: tuple[tuple[bytes, bytes], ...] = ()
    # APNG: acTL, fcTL and fdAT chunks in file order, (type, file offset, data length)
    animation_chunks: tuple[tuple[bytes, int, int], ...] = ()

    @property
    def channels(self) -> int:
        return COLOUR_TYPES[self.colour_type][1]

    @property
    def colour_type_name(self) -> str:
        return COLOUR_TYPES[self.colour_type][0]

    def bytes_per_pixel(self) -> int:
        """§9.2 ``bpp``: bytes per complete pixel, rounded up to 1."""
        return max(1, self.bit_depth * self.channels // 8)

    def row_bytes(self, width: int) -> int:
        """§7.2: bytes in a scanline of ``width`` pixels, excluding the filter-type byte."""
        return (width * self.channels * self.bit_depth + 7) // 8

    def passes(self) -> list[tuple[int, int, int, int, int, int]]:
        """Non-empty passes as (x0, y0, dx, dy, pass width, pass height) (§8.2: empty passes
        have no scanlines at all, not even filter bytes)."""
        out = []
        for x0, y0, dx, dy in (ADAM7_PASSES if self.interlaced else NO_INTERLACE):
            pw = (self.width - x0 + dx - 1) // dx if self.width > x0 else 0
            ph = (self.height - y0 + dy - 1) // dy if self.height > y0 else 0
            if pw and ph:
                out.append((x0, y0, dx, dy, pw, ph))
        return out

    def image_data_size(self) -> int:
        """Exact size of the inflated IDAT stream: sum over passes of ph * (1 + rowbytes(pw))."""
        return sum(ph * (1 + self.row_bytes(pw)) for *_, pw, ph in self.passes())


@dataclass(frozen=True)
class PngImage(PngInfo):
    """A decoded PNG image: :class:`PngInfo` plus the samples.

    ``samples``: (H, W, C) at native depth, uint8 (bit depth 1..8) or uint16 (16), C = channels
    of the colour type (gray 1, rgb 3, palette 1 = indices, gray_alpha 2, rgba 4). Sub-8-bit
    values are *not* rescaled (a 2-bit sample is 0..3).
    """

    samples: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 1), np.uint8))


# ---------------------------------------------------------------------------------------------
# Chunk layer
# ---------------------------------------------------------------------------------------------


def _chunk_name(ctype: bytes) -> str:
    return ctype.decode("latin-1") if ctype.isalpha() else repr(ctype)


def iter_chunks(data: bytes, source: str):
    """Yield (type, offset of the length field, data) for each chunk up to and including IEND.

    Checks §5.2 signature, §5.3 layout (length <= 2^31-1, type of four ASCII letters, enough
    bytes) and §5.5 CRC. A file that ends before IEND is truncated (DecodeError).
    """
    if data[:8] != PNG_SIGNATURE:
        raise DecodeError(f"not a PNG signature: {bytes(data[:8])!r}", source=source, offset=0)
    view = memoryview(data)  # slices of a memoryview do not copy the (possibly large) IDAT data
    pos, n = 8, len(data)
    while True:
        if pos + 8 > n:
            raise DecodeError(f"truncated: the file ends ({n} bytes) inside a chunk header, "
                              "before IEND", source=source, offset=pos)
        length = struct.unpack_from(">I", data, pos)[0]
        ctype = bytes(data[pos + 4:pos + 8])
        if not (ctype.isascii() and ctype.isalpha()):  # §5.3: 65-90 and 97-122 only
            raise DecodeError(f"chunk type {ctype!r} is not four ASCII letters", source=source,
                              offset=pos + 4)
        name = _chunk_name(ctype)
        if length > MAX_CHUNK_LENGTH:
            raise DecodeError(f"{name} chunk length {length} exceeds 2^31-1", source=source,
                              offset=pos)
        end = pos + 12 + length
        if end > n:
            raise DecodeError(f"truncated: {name} chunk of {length} data bytes needs {end} bytes, "
                              f"the file has {n}", source=source, offset=pos)
        body = view[pos + 8:pos + 8 + length]
        stored = struct.unpack_from(">I", data, pos + 8 + length)[0]
        computed = chunk_crc(body, chunk_crc(ctype)) & 0xFFFFFFFF  # CRC over type + data
        if stored != computed:
            raise DecodeError(f"{name} chunk CRC mismatch: stored 0x{stored:08x}, computed "
                              f"0x{computed:08x} (CRC field at byte {pos + 8 + length})",
                              source=source, offset=pos)
        yield ctype, pos, body
        if ctype == b"IEND":
            return
        pos = end


#: chunks kept for the orientation sources of other libraries (reference.orientation_sources)
METADATA_CHUNKS = (b"tEXt", b"zTXt", b"iTXt", b"eXIf")
#: APNG chunks (the animation's control and frame data; read only for apng_frame="first")
ANIMATION_CHUNKS = (b"acTL", b"fcTL", b"fdAT")


def read_png_info(data: bytes, *, source: str = "<bytes>") -> PngInfo:
    """Parse and check every chunk of a PNG datastream without touching the pixel data."""
    data = bytes(data) if not isinstance(data, (bytes, bytearray)) else data
    warnings: list[str] = []
    header = None
    palette = palette_alpha = trns_key = exif = exif_orientation = icc_name = icc_profile = None
    trns_body = trns_pos = None
    chunks: list[tuple[str, int, int]] = []
    metadata: list[tuple[bytes, bytes]] = []
    animation: list[tuple[bytes, int, int]] = []
    idat_spans: list[tuple[int, int]] = []
    idat_done = False  # an IDAT was seen and then a non-IDAT chunk
    end_pos = None
    for ctype, pos, body in iter_chunks(data, source):
        name = _chunk_name(ctype)
        chunks.append((name, pos, len(body)))
        if header is None and ctype != b"IHDR":
            raise DecodeError(f"first chunk is {name}, not IHDR (§5.6)", source=source, offset=pos)
        if idat_spans and ctype != b"IDAT":
            idat_done = True
        if ctype in METADATA_CHUNKS:
            metadata.append((bytes(ctype), bytes(body)))
        elif ctype in ANIMATION_CHUNKS:
            animation.append((bytes(ctype), pos, len(body)))
        if ctype == b"IHDR":
            if header is not None:
                raise DecodeError("second IHDR chunk (§5.6)", source=source, offset=pos)
            header = _parse_ihdr(body, pos, source)
        elif ctype == b"PLTE":
            if palette is not None:
                raise DecodeError("second PLTE chunk (§5.6)", source=source, offset=pos)
            if idat_spans:
                raise DecodeError("PLTE after IDAT (§5.6)", source=source, offset=pos)
            palette = _parse_plte(body, pos, header, source, warnings)
        elif ctype == b"IDAT":
            if idat_done:
                raise DecodeError("IDAT chunks are not consecutive (§5.6)", source=source, offset=pos)
            idat_spans.append((pos + 8, len(body)))
        elif ctype == b"IEND":
            if len(body):
                warnings.append(f"IEND at byte {pos} has {len(body)} data bytes (ignored)")
            end_pos = pos + 12
        elif ctype == b"tRNS":
            if idat_spans:
                warnings.append(f"tRNS at byte {pos} after IDAT is ignored (§5.6)")
            elif trns_body is not None:
                warnings.append(f"second tRNS at byte {pos} is ignored")
            else:
                trns_body, trns_pos = bytes(body), pos
        elif ctype == b"eXIf":
            # PNG 3rd ed. eXIf: at most one; libpng, Pillow and OpenCV all honour it before or
            # after IDAT (measured), so position is not checked.
            if exif is not None:
                warnings.append(f"second eXIf at byte {pos} is ignored")
            else:
                exif = bytes(body)
                exif_orientation, reason = read_orientation(exif)
                if reason:
                    warnings.append(f"eXIf at byte {pos}: {reason}")
        elif ctype == b"iCCP":
            if palette is not None or idat_spans:
                warnings.append(f"iCCP at byte {pos} after PLTE/IDAT is ignored (§5.6)")
            elif icc_profile is not None:
                warnings.append(f"second iCCP at byte {pos} is ignored")
            else:
                icc_name, icc_profile = _parse_iccp(bytes(body), pos, warnings)
        elif not ctype[0:1].islower() and ctype not in KNOWN_CRITICAL:
            # §5.4: bit 5 of the first byte clear = critical; an unknown critical chunk means
            # the image cannot be decoded safely.
            raise UnsupportedFeature(f"unknown critical chunk {name}", source=source, offset=pos)
    if not idat_spans:
        raise DecodeError("no IDAT chunk (§5.6)", source=source, offset=end_pos)
    width, height, bit_depth, colour_type, interlace = header
    if colour_type == 3 and palette is None:
        raise DecodeError("colour type 3 (palette) without PLTE (§11.2.2)", source=source,
                          offset=end_pos)
    if palette is not None and colour_type in (2, 6):
        palette = None  # §11.2.2: a suggested palette for truecolour images; not used here
    if end_pos is not None and end_pos < len(data):
        warnings.append(f"{len(data) - end_pos} bytes after IEND are ignored")
    if trns_body is not None:
        palette_alpha, trns_key = _parse_trns(trns_body, trns_pos, colour_type, bit_depth,
                                              palette, warnings)
    return PngInfo(width=width, height=height, bit_depth=bit_depth, colour_type=colour_type,
                   interlaced=bool(interlace), palette=palette, palette_alpha=palette_alpha,
                   trns_key=trns_key, exif=exif, exif_orientation=exif_orientation,
                   icc_name=icc_name, icc_profile=icc_profile, chunks=tuple(chunks),
                   idat_spans=tuple(idat_spans), warnings=tuple(warnings),
                   metadata_chunks=tuple(metadata), animation_chunks=tuple(animation))


def _parse_ihdr(body, pos: int, source: str) -> tuple[int, int, int, int, int]:
    """§11.2.1 IHDR: width, height (4 bytes each), bit depth, colour type, compression method,
    filter method, interlace method (1 byte each)."""
    if len(body) != 13:
        raise DecodeError(f"IHDR has {len(body)} data bytes, not 13", source=source, offset=pos)
    width, height, bit_depth, colour_type, compression, filter_method, interlace = \
        struct.unpack(">IIBBBBB", bytes(body))
    d = pos + 8  # offset of the first data byte
    for what, v, off in (("width", width, d), ("height", height, d + 4)):
        if not 1 <= v <= MAX_DIMENSION:
            raise DecodeError(f"IHDR {what} {v} is not 1..2^31-1", source=source, offset=off)
    if colour_type not in COLOUR_TYPES:
        raise DecodeError(f"IHDR colour type {colour_type} is not 0, 2, 3, 4 or 6",
                          source=source, offset=d + 9)
    name, _, depths = COLOUR_TYPES[colour_type]
    if bit_depth not in depths:
        raise DecodeError(f"IHDR bit depth {bit_depth} is not allowed for colour type "
                          f"{colour_type} ({name}: {depths})", source=source, offset=d + 8)
    if compression != 0:  # §10.1: only method 0 (zlib DEFLATE) is defined
        raise DecodeError(f"IHDR compression method {compression} is not 0", source=source,
                          offset=d + 10)
    if filter_method != 0:  # §9.1: only method 0 (five adaptive filter types) is defined
        raise DecodeError(f"IHDR filter method {filter_method} is not 0", source=source,
                          offset=d + 11)
    if interlace not in (0, 1):  # §8.2: 0 none, 1 Adam7
        raise DecodeError(f"IHDR interlace method {interlace} is not 0 or 1", source=source,
                          offset=d + 12)
    return width, height, bit_depth, colour_type, interlace


def _parse_plte(body, pos: int, header, source: str, warnings: list[str]) -> np.ndarray:
    """§11.2.2 PLTE: 1..256 RGB triples (length divisible by 3); not allowed for gray types."""
    colour_type, bit_depth = header[3], header[2]
    if colour_type in (0, 4):
        raise DecodeError(f"PLTE in a {COLOUR_TYPES[colour_type][0]} image (§11.2.2)",
                          source=source, offset=pos)
    if len(body) % 3 or not 3 <= len(body) <= 768:
        raise DecodeError(f"PLTE length {len(body)} is not 3..768 and divisible by 3",
                          source=source, offset=pos)
    entries = len(body) // 3
    if colour_type == 3 and entries > 1 << bit_depth:
        # §11.2.2 says this shall not happen; the extra entries can never be indexed, so the
        # pixels are unaffected (libpng ignores them too).
        warnings.append(f"PLTE at byte {pos} has {entries} entries, more than 2^{bit_depth}")
    return np.frombuffer(bytes(body), dtype=np.uint8).reshape(entries, 3).copy()


def _parse_trns(body: bytes, pos: int, colour_type: int, bit_depth: int, palette,
                warnings: list[str]):
    """§11.3.1.1 tRNS. Returns (palette_alpha, trns_key); a malformed chunk is ignored.

    - type 3: alpha for palette entries 0..k-1 (k <= N); entries k..N-1 are opaque (255).
    - type 0: one 2-byte gray key; type 2: three 2-byte keys (r, g, b). For bit depths < 16 only
      the low ``bit_depth`` bits are used ("decoders must mask the other bits", §11.3.1.1; libpng
      masks likewise).
    - types 4 and 6 already have alpha: tRNS is not allowed.
    """
    if colour_type == 3:
        if len(body) > len(palette):
            warnings.append(f"tRNS at byte {pos} has {len(body)} entries for a {len(palette)}-entry "
                            "palette (ignored)")
            return None, None
        alpha = np.full(len(palette), 255, dtype=np.uint8)
        alpha[:len(body)] = np.frombuffer(body, dtype=np.uint8)
        return alpha, None
    expected = {0: 2, 2: 6}.get(colour_type)
    if expected is None:
        warnings.append(f"tRNS at byte {pos} in an image with an alpha channel (ignored)")
        return None, None
    if len(body) != expected:
        warnings.append(f"tRNS at byte {pos} has {len(body)} bytes, not {expected} (ignored)")
        return None, None
    mask = (1 << bit_depth) - 1
    raw = struct.unpack(">" + "H" * (expected // 2), body)
    key = tuple(v & mask for v in raw)
    if key != raw:
        warnings.append(f"tRNS at byte {pos}: key {raw} masked to {bit_depth} bits: {key}")
    return None, key


def _parse_iccp(body: bytes, pos: int, warnings: list[str]):
    """§11.3.2.3 iCCP: name (1..79 Latin-1 bytes), NUL, compression method 0, zlib stream.

    The profile is inflated (bounded by MAX_ICC_PROFILE_BYTES) and kept, never applied.
    """
    nul = body.find(b"\x00")
    if not 1 <= nul <= 79 or len(body) < nul + 2 or body[nul + 1] != 0:
        warnings.append(f"iCCP at byte {pos} is malformed (ignored)")
        return None, None
    d = zlib.decompressobj()
    try:
        profile = d.decompress(body[nul + 2:], MAX_ICC_PROFILE_BYTES)
    except zlib.error as e:
        warnings.append(f"iCCP at byte {pos}: profile does not inflate ({e}) (ignored)")
        return None, None
    if d.unconsumed_tail or not d.eof:
        warnings.append(f"iCCP at byte {pos}: profile truncated or larger than "
                        f"{MAX_ICC_PROFILE_BYTES} bytes (ignored)")
        return None, None
    return body[:nul].decode("latin-1"), profile


# ---------------------------------------------------------------------------------------------
# Image data
# ---------------------------------------------------------------------------------------------


def check_limits(info: PngInfo, max_pixels: int, source: str) -> None:
    """Refuse images with more than ``max_pixels`` pixels, from the header alone."""
    pixels = info.width * info.height
    if pixels > max_pixels:
        raise LimitsExceeded(f"{info.width} x {info.height} = {pixels} pixels exceeds the limit "
                             f"of {max_pixels} (max_pixels)", source=source, offset=16)


def inflate_image_data(data: bytes, info: PngInfo, source: str, warnings: list[str]) -> bytes:
    """Inflate the IDAT zlib stream (§10.1, RFC 1950) to exactly ``info.image_data_size()`` bytes.

    The output is never allowed to grow past that size (``max_length``), so a stream that would
    inflate to gigabytes costs no more memory than the image itself. After the image bytes,
    the rest of the stream is read one output byte at a time to check its end and Adler-32:
    more image data than needed is ignored with a warning (as libpng's benign "Too much image
    data"), a corrupt stream or checksum is a DecodeError, a short stream is a DecodeError.
    """
    expected = info.image_data_size()
    d = zlib.decompressobj()  # zlib wrapper: header, DEFLATE blocks, Adler-32 (RFC 1950)
    out = bytearray()
    extra = False
    last_offset = info.idat_spans[-1][0] - 8
    view = memoryview(data)
    for offset, length in info.idat_spans:
        buf = view[offset:offset + length]
        while buf and not d.eof:
            want = expected - len(out)
            try:
                got = d.decompress(buf, want if want > 0 else 1)  # max_length 0 would be unbounded
            except zlib.error as e:
                raise DecodeError(f"IDAT zlib stream is corrupt ({e})", source=source,
                                  offset=offset - 8) from None
            if want > 0:
                out += got
            elif got:
                extra = True
                break
            buf = d.unconsumed_tail
        if extra or d.eof:
            break
    if len(out) < expected:
        why = "the zlib stream ends" if d.eof else "the IDAT data ends (truncated stream)"
        raise DecodeError(f"image data is short: {why} after {len(out)} of {expected} bytes",
                          source=source, offset=last_offset)
    if extra:
        warnings.append(f"IDAT inflates to more than the {expected} bytes the image needs; "
                        "the rest is ignored")
    elif not d.eof:
        warnings.append("the IDAT zlib stream is not terminated (no final block/Adler-32)")
    elif d.unused_data:
        warnings.append(f"{len(d.unused_data)} bytes after the end of the IDAT zlib stream")
    return bytes(out)


def unpack_samples(rows: np.ndarray, width: int, channels: int, bit_depth: int) -> np.ndarray:
    """Reconstructed scanline bytes (h, rowbytes) -> samples (h, width, channels) (§7.2).

    16 bit: two bytes, most significant first (§7.1). 1, 2, 4 bit: packed into bytes from the
    most significant bit down; a row's leftover low bits are padding and ignored.
    """
    h = rows.shape[0]
    n = width * channels
    if bit_depth == 8:
        return rows[:, :n].reshape(h, width, channels)
    if bit_depth == 16:
        hi = rows[:, 0:2 * n:2].astype(np.uint16)
        lo = rows[:, 1:2 * n:2].astype(np.uint16)
        return ((hi << 8) | lo).reshape(h, width, channels)
    per_byte = 8 // bit_depth
    shifts = np.array([8 - bit_depth * (k + 1) for k in range(per_byte)], dtype=np.uint8)
    mask = np.uint8((1 << bit_depth) - 1)
    values = (rows[:, :, None] >> shifts) & mask  # (h, rowbytes, per_byte), MSB-first order
    return values.reshape(h, -1)[:, :n].reshape(h, width, channels)


def reconstruct(raw: bytes, info: PngInfo, source: str, use_numba: bool = True) -> np.ndarray:
    """Inflated IDAT bytes -> (H, W, C) samples: per pass unfilter, unpack, scatter (§8.2)."""
    unfilter = unfilter_scanlines_jit if use_numba else unfilter_scanlines
    dtype = np.uint16 if info.bit_depth == 16 else np.uint8
    stream = np.frombuffer(raw, dtype=np.uint8)
    bpp = info.bytes_per_pixel()
    passes = info.passes()
    if len(passes) == 1 and passes[0][:4] == (0, 0, 1, 1):
        image = None
    else:
        image = np.zeros((info.height, info.width, info.channels), dtype=dtype)
    start = 0
    for number, (x0, y0, dx, dy, pw, ph) in enumerate(passes, 1):
        rowbytes = info.row_bytes(pw)
        rows = np.empty((ph, rowbytes), dtype=np.uint8)
        bad = unfilter(stream, start, ph, rowbytes, bpp, rows)
        if bad >= 0:
            at = start + bad * (rowbytes + 1)
            where = f"pass {number} " if info.interlaced else ""
            raise DecodeError(f"{where}scanline {bad}: filter type {stream[at]} is not 0..4 "
                              f"(§9.2; byte {at} of the inflated image data)", source=source)
        samples = unpack_samples(rows, pw, info.channels, info.bit_depth)
        if image is None:
            return samples
        image[y0::dy, x0::dx] = samples
        start += ph * (rowbytes + 1)
    return image


def first_frame(info: PngInfo, data: bytes, source: str, warnings: list[str]
                ) -> tuple[PngInfo, tuple[int, int] | None]:
    """For ``apng_frame="first"``: (``info`` whose ``idat_spans`` and size are the animation's
    first frame, its (x, y) offset on the canvas, or None for the IDAT image itself). The APNG
    rules (PNG 3rd edition §11.3.6), as OpenCV 5's APNG reader applies them (measured):

    - no acTL, an acTL declaring fewer than 2 frames, or an fcTL before the IDAT (the default
      image is the first frame): the IDAT image;
    - otherwise the first fcTL after the IDAT with the fdAT chunks that follow it up to the next
      fcTL (each one's data after its 4-byte sequence number), a ``width`` x ``height`` image
      at (``x_offset``, ``y_offset``) on a canvas that starts fully transparent black (zeros):
      the first frame's blend over a transparent canvas is its source.
    """
    chunks = info.animation_chunks
    actl = [(pos, n) for c, pos, n in chunks if c == b"acTL"]
    if not actl or not info.idat_spans or actl[0][1] != 8:
        return info, None
    if struct.unpack_from(">I", data, actl[0][0] + 8)[0] < 2:
        return info, None
    first_idat = info.idat_spans[0][0] - 8
    fctls = [(pos, n) for c, pos, n in chunks if c == b"fcTL"]
    if not fctls or fctls[0][0] < first_idat:
        return info, None
    pos, n = fctls[0]
    if n != 26:
        raise DecodeError(f"fcTL has {n} data bytes, not 26", source=source, offset=pos)
    _, width, height, x, y = struct.unpack_from(">IIIII", data, pos + 8)
    if not (width and height and x + width <= info.width and y + height <= info.height):
        raise DecodeError(f"the first frame ({width}x{height} at {x},{y}) does not fit the "
                          f"{info.width}x{info.height} canvas", source=source, offset=pos)
    if info.colour_type == 3 and (width, height) != (info.width, info.height):
        raise UnsupportedFeature("a palette APNG whose first frame is smaller than the canvas: "
                                 "the canvas around it is transparent black, which is no palette "
                                 "index", source=source, offset=pos)
    spans = []
    for c, p, m in chunks:
        if p <= pos:
            continue
        if c == b"fcTL":
            break
        if c == b"fdAT" and m > 4:
            spans.append((p + 12, m - 4))
    if not spans:
        raise DecodeError("the first frame has no fdAT data", source=source, offset=pos)
    return dataclasses.replace(info, width=width, height=height, idat_spans=tuple(spans)), (x, y)


def read_png(data: bytes, *, source: str = "<bytes>", max_pixels: int = DEFAULT_MAX_PIXELS,
             use_numba: bool = True, frame: str = "default") -> PngImage:
    """Decode a PNG datastream to its samples at native depth (see :class:`PngImage`).

    ``max_pixels``: width*height above this raises LimitsExceeded before any inflation.
    ``use_numba=False`` runs the plain-Python reconstruction loop (the specification; slow).
    ``frame``: ``default`` (the IDAT image) or ``first`` (an APNG's first frame,
    :func:`first_frame`).
    """
    info = read_png_info(data, source=source)
    check_limits(info, max_pixels, source)
    warnings = list(info.warnings)
    canvas_info, offset = info, None
    if frame == "first":
        info, offset = first_frame(canvas_info, data, source, warnings)
    raw = inflate_image_data(data, info, source, warnings)
    samples = reconstruct(raw, info, source, use_numba)
    if offset is not None:
        canvas = np.zeros((canvas_info.height, canvas_info.width, info.channels), samples.dtype)
        x, y = offset
        canvas[y:y + info.height, x:x + info.width] = samples
        samples, info = canvas, canvas_info
    if info.colour_type == 3:
        n = len(info.palette)
        if int(samples.max()) >= n:
            y, x, _ = np.argwhere(samples >= n)[0]
            raise DecodeError(f"pixel (x={x}, y={y}) has palette index {samples[y, x, 0]}, the "
                              f"PLTE has {n} entries (§11.2.2: an out-of-range index is an error)",
                              source=source)
    fields_ = {f: getattr(info, f) for f in info.__dataclass_fields__ if f != "warnings"}
    return PngImage(**fields_, warnings=tuple(warnings), samples=samples)
