"""A small, deterministic PNG *encoder* for the test corpus (W3C PNG Third Edition).

Pillow and OpenCV write only a few PNG variants (no 2/4-bit gray, no 16-bit gray+alpha, no chosen
filter per row, no eXIf, ...). The corpus needs every legal variant, so this module writes them
itself. It is test tooling, not part of the reference: it shares no code with the reference
decoder (``conformance.reference.png``) so that a mistake in one is not cancelled by the same
mistake in the other. In particular the forward filters here are vectorised numpy over whole
passes (possible because an encoder filters the *raw* bytes, PNG §9.2), while the decoder undoes
them with a sequential loop.

Everything here is deterministic: the same arguments give the same bytes (zlib at a fixed level
is deterministic for a given zlib build).

Negative-input helpers at the bottom build the hostile files the decoder must reject:
:func:`corrupt_crc`, :func:`truncate`, :func:`huge_dimensions_png`, :func:`not_an_image`,
:func:`corrupt_zlib`, :func:`png_from_scanlines` (e.g. with an illegal filter type byte) and
:func:`zip_bomb_png`.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import Sequence

import numpy as np

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"  # PNG 3rd ed. §5.2

# The tables below are transcribed from the standard again on purpose rather than imported from
# conformance.reference.png: the encoder is the decoder's test partner, and a shared table would
# make a wrong transcription invisible to the round-trip tests.

# PNG §11.2.1 (IHDR), Table 11.1: colour type -> (name, channels, allowed bit depths).
COLOUR_TYPES: dict[int, tuple[str, int, tuple[int, ...]]] = {
    0: ("gray", 1, (1, 2, 4, 8, 16)),
    2: ("rgb", 3, (8, 16)),
    3: ("palette", 1, (1, 2, 4, 8)),
    4: ("gray_alpha", 2, (8, 16)),
    6: ("rgba", 4, (8, 16)),
}

# PNG §8.2 Adam7 passes as (x0, y0, dx, dy).
ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))

FILTER_TYPES = {0: "none", 1: "sub", 2: "up", 3: "average", 4: "paeth"}  # PNG §9.2

# Default split of the zlib stream into IDAT chunks (any split is legal, §11.2.3); small enough
# that multi-IDAT files appear in the corpus.
DEFAULT_IDAT_SIZE = 8192


# ---------------------------------------------------------------------------------------------
# Chunks
# ---------------------------------------------------------------------------------------------


def make_chunk(chunk_type: bytes, data: bytes) -> bytes:
    """length (4 bytes BE) + type + data + CRC-32 over type and data (PNG §5.3, §5.5)."""
    if len(chunk_type) != 4:
        raise ValueError(f"chunk type must be 4 bytes, got {chunk_type!r}")
    return (struct.pack(">I", len(data)) + chunk_type + data
            + struct.pack(">I", zlib.crc32(chunk_type + data) & 0xFFFFFFFF))


def ihdr_data(width: int, height: int, bit_depth: int, colour_type: int, interlace: int = 0,
              compression: int = 0, filter_method: int = 0) -> bytes:
    """The 13 IHDR bytes (PNG §11.2.1). No validation: negative tests need illegal headers."""
    return struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, compression,
                       filter_method, interlace)


def exif_payload(orientation: int, byte_order: str = "MM", prefix: bool = False) -> bytes:
    """A minimal TIFF structure with one IFD0 entry, Orientation (tag 0x0112, SHORT, count 1).

    Layout (TIFF 6.0 §2, Exif 2.32 §4.6.2): byte order "MM"/"II", 42, IFD0 offset 8; IFD0: entry
    count 1, entry (tag, type 3 = SHORT, count 1, value left-justified in the 4-byte field),
    next-IFD offset 0. ``prefix`` prepends the JPEG APP1 "Exif\\0\\0" identifier, which PNG eXIf
    should not carry but some writers add.
    """
    e = {"MM": ">", "II": "<"}[byte_order]
    tiff = byte_order.encode() + struct.pack(e + "HI", 42, 8)
    tiff += struct.pack(e + "H", 1) + struct.pack(e + "HHIHH", 0x0112, 3, 1, orientation, 0)
    tiff += struct.pack(e + "I", 0)
    return (b"Exif\x00\x00" if prefix else b"") + tiff


def iccp_data(profile: bytes, name: str = "ICC profile", level: int = 6) -> bytes:
    """iCCP body: name (1..79 Latin-1 bytes), NUL, compression method 0, zlib(profile) (§11.3.2.3)."""
    raw = name.encode("latin-1")
    if not 1 <= len(raw) <= 79:
        raise ValueError("iCCP profile name must be 1..79 bytes")
    return raw + b"\x00\x00" + zlib.compress(profile, level)


# ---------------------------------------------------------------------------------------------
# Scanlines: packing and forward filtering
# ---------------------------------------------------------------------------------------------


def pack_rows(samples: np.ndarray, bit_depth: int) -> np.ndarray:
    """(h, w, C) samples -> (h, rowbytes) bytes: big-endian for 16 bit, MSB-first for < 8 (§7.2).

    Unused low-order bits of the last byte of a row are zero.
    """
    h, w, c = samples.shape
    flat = samples.reshape(h, w * c)
    if bit_depth == 16:
        return flat.astype(">u2").view(np.uint8).reshape(h, w * c * 2)
    if bit_depth == 8:
        return flat.astype(np.uint8)
    per_byte = 8 // bit_depth
    rowbytes = -(-(w * c) // per_byte)
    padded = np.zeros((h, rowbytes * per_byte), dtype=np.uint16)
    padded[:, : w * c] = flat
    groups = padded.reshape(h, rowbytes, per_byte)
    shifts = np.array([8 - bit_depth * (k + 1) for k in range(per_byte)], dtype=np.uint16)
    return (groups << shifts).sum(axis=2).astype(np.uint8)


def paeth_vectorised(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """PNG §9.4 PaethPredictor on whole arrays (ties: a, then b, then c)."""
    a, b, c = (np.asarray(v, dtype=np.int16) for v in (a, b, c))
    p = a + b - c
    pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
    return np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c)).astype(np.uint8)


def filter_candidates(rows: np.ndarray, bpp: int) -> np.ndarray:
    """All five filtered versions of every row of one pass: shape (5, h, rowbytes), uint8.

    x = raw byte, a = raw byte ``bpp`` to the left, b = raw byte above, c = above-left; bytes
    outside the row and the row above the first row of a pass are 0 (§9.2).
    """
    x = rows.astype(np.int16)
    b = np.zeros_like(x)
    b[1:] = x[:-1]
    a = np.zeros_like(x)
    a[:, bpp:] = x[:, :-bpp]
    c = np.zeros_like(x)
    c[:, bpp:] = b[:, :-bpp]
    out = np.empty((5,) + rows.shape, dtype=np.uint8)
    out[0] = x
    out[1] = (x - a) & 0xFF
    out[2] = (x - b) & 0xFF
    out[3] = (x - ((a + b) >> 1)) & 0xFF
    out[4] = (x - paeth_vectorised(a, b, c)) & 0xFF
    return out


def choose_filters(candidates: np.ndarray, policy, row_counter: int) -> np.ndarray:
    """Filter type per row of a pass.

    ``policy``: an int 0..4 (every row), ``"rotate"`` (row k of the image, counted over all
    passes, uses k mod 5 so every type occurs), ``"adaptive"`` (the minimum sum of absolute
    differences heuristic of §12.8, bytes read as signed; ties prefer the lower type), or a
    sequence of ints cycled over the rows.
    """
    h = candidates.shape[1]
    if isinstance(policy, (int, np.integer)):
        return np.full(h, int(policy))
    if policy == "rotate":
        return (np.arange(h) + row_counter) % 5
    if policy == "adaptive":
        signed = candidates.view(np.int8).astype(np.int64)
        return np.abs(signed).sum(axis=2).argmin(axis=0)
    seq = list(policy)
    return np.array([seq[(row_counter + i) % len(seq)] for i in range(h)])


def scanlines(samples: np.ndarray, bit_depth: int, interlace: bool, filters) -> bytes:
    """The filtered scanline stream (filter byte + filtered row, pass after pass) before zlib."""
    h, w, c = samples.shape
    bpp = max(1, bit_depth * c // 8)  # §9.2: bytes per complete pixel, at least 1
    passes = ADAM7 if interlace else ((0, 0, 1, 1),)
    out = bytearray()
    row_counter = 0
    for x0, y0, dx, dy in passes:
        sub = samples[y0::dy, x0::dx]
        if sub.shape[0] == 0 or sub.shape[1] == 0:
            continue  # §8.2: an empty pass has no scanlines at all
        rows = pack_rows(sub, bit_depth)
        cands = filter_candidates(rows, bpp)
        types = choose_filters(cands, filters, row_counter)
        for i, t in enumerate(types):
            if not 0 <= t <= 4:
                raise ValueError(f"filter type {t} is not 0..4")
            out.append(int(t))
            out += cands[t, i].tobytes()
        row_counter += rows.shape[0]
    return bytes(out)


# ---------------------------------------------------------------------------------------------
# The encoder
# ---------------------------------------------------------------------------------------------


def encode_png(samples: np.ndarray, *, colour_type: int, bit_depth: int,
               palette: np.ndarray | Sequence | None = None, trns=None, interlace: bool = False,
               filters="rotate", zlib_level: int = 6, exif_orientation: int | None = None,
               exif_byte_order: str = "MM", exif_prefix: bool = False, exif_after_idat: bool = False,
               icc_profile: bytes | None = None, icc_name: str = "ICC profile",
               idat_size: int = DEFAULT_IDAT_SIZE) -> bytes:
    """Encode ``samples`` (H, W, C) as a PNG datastream.

    - ``samples``: integers within 0..2^bit_depth-1, C = channels of ``colour_type`` (1 gray,
      3 rgb, 1 palette index, 2 gray+alpha, 4 rgba); (H, W) is accepted for C = 1.
    - ``palette``: (N, 3) uint8 for colour type 3 (1 <= N <= 2^bit_depth, §11.2.2).
    - ``trns``: tRNS (§11.3.1.1): the gray key (int) for type 0, an (r, g, b) key for type 2, the
      alpha of palette entries 0..k-1 (k <= N) for type 3. Not allowed for types 4 and 6.
    - ``interlace``: Adam7 (§8.2). ``filters``: see :func:`choose_filters`.
    - ``exif_orientation``: write an eXIf chunk (before IDAT unless ``exif_after_idat``) holding a
      minimal TIFF IFD0 with this Orientation (see :func:`exif_payload`).
    - ``icc_profile``: write iCCP with these profile bytes (not a validated ICC profile).
    - ``idat_size``: split the zlib stream into IDAT chunks of at most this many bytes.
    """
    a = np.asarray(samples)
    if a.ndim == 2:
        a = a[:, :, None]
    if colour_type not in COLOUR_TYPES:
        raise ValueError(f"colour type {colour_type} is not one of 0, 2, 3, 4, 6")
    name, channels, depths = COLOUR_TYPES[colour_type]
    if bit_depth not in depths:
        raise ValueError(f"bit depth {bit_depth} is not allowed for colour type {colour_type} ({name})")
    if a.ndim != 3 or a.shape[2] != channels or a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError(f"samples must be (H, W, {channels}) with H, W >= 1, got {a.shape}")
    if not np.issubdtype(a.dtype, np.integer) or a.min() < 0 or a.max() > (1 << bit_depth) - 1:
        raise ValueError(f"samples must be integers 0..{(1 << bit_depth) - 1}")
    h, w, _ = a.shape
    chunks = [make_chunk(b"IHDR", ihdr_data(w, h, bit_depth, colour_type, int(bool(interlace))))]
    if icc_profile is not None:  # §5.6: iCCP before PLTE and IDAT
        chunks.append(make_chunk(b"iCCP", iccp_data(icc_profile, icc_name)))
    if colour_type == 3:
        if palette is None:
            raise ValueError("colour type 3 needs a palette")
        pal = np.asarray(palette, dtype=np.uint8).reshape(-1, 3)
        if not 1 <= len(pal) <= min(256, 1 << bit_depth):
            raise ValueError(f"palette must have 1..{min(256, 1 << bit_depth)} entries")
        if a.max() >= len(pal):
            raise ValueError("a palette index is outside the palette")
        chunks.append(make_chunk(b"PLTE", pal.tobytes()))
    elif palette is not None:
        raise ValueError("a palette is only written for colour type 3")
    if trns is not None:
        chunks.append(make_chunk(b"tRNS", _trns_data(colour_type, bit_depth, trns, palette)))
    exif = None
    if exif_orientation is not None:
        exif = make_chunk(b"eXIf", exif_payload(exif_orientation, exif_byte_order, exif_prefix))
        if not exif_after_idat:
            chunks.append(exif)
    stream = zlib.compress(scanlines(a, bit_depth, interlace, filters), zlib_level)
    for i in range(0, len(stream), idat_size):
        chunks.append(make_chunk(b"IDAT", stream[i:i + idat_size]))
    if exif is not None and exif_after_idat:
        chunks.append(exif)
    chunks.append(make_chunk(b"IEND", b""))
    return PNG_SIGNATURE + b"".join(chunks)


def _trns_data(colour_type: int, bit_depth: int, trns, palette) -> bytes:
    if colour_type == 0:
        return struct.pack(">H", int(trns))
    if colour_type == 2:
        r, g, b = (int(v) for v in trns)
        return struct.pack(">HHH", r, g, b)
    if colour_type == 3:
        alpha = np.asarray(trns, dtype=np.uint8).ravel()
        if palette is None or len(alpha) > len(np.asarray(palette).reshape(-1, 3)):
            raise ValueError("tRNS for a palette image has at most one entry per palette entry")
        return alpha.tobytes()
    raise ValueError(f"tRNS is not allowed for colour type {colour_type} (it has an alpha channel)")


def png_from_scanlines(width: int, height: int, colour_type: int, bit_depth: int,
                       raw_scanlines: bytes, *, interlace: int = 0, palette: bytes | None = None,
                       zlib_level: int = 6) -> bytes:
    """Wrap an already filtered scanline stream (filter bytes included) in a PNG, unchecked.

    For negative inputs: an illegal filter type byte, a short or overlong stream, ...
    """
    chunks = [make_chunk(b"IHDR", ihdr_data(width, height, bit_depth, colour_type, interlace))]
    if palette is not None:
        chunks.append(make_chunk(b"PLTE", palette))
    chunks.append(make_chunk(b"IDAT", zlib.compress(raw_scanlines, zlib_level)))
    chunks.append(make_chunk(b"IEND", b""))
    return PNG_SIGNATURE + b"".join(chunks)


# ---------------------------------------------------------------------------------------------
# The variant matrix (corpus and tests)
# ---------------------------------------------------------------------------------------------

# Odd sizes on purpose: 1 x 1 (only Adam7 pass 1 exists), a single row, a single column, sizes
# that are not multiples of 8 (partial Adam7 blocks, sub-byte row padding).
VARIANT_SIZES = ((1, 1), (1, 17), (17, 1), (13, 7), (33, 31))
VARIANT_FILTERS = (0, 1, 2, 3, 4, "rotate", "adaptive")
VARIANT_DEPTHS = tuple((ct, d) for ct, (_, _, depths) in COLOUR_TYPES.items() for d in depths)


@dataclass(frozen=True)
class PngVariant:
    """One corpus PNG: a case name (knob values in a fixed order), samples and encoder options."""

    name: str
    samples: np.ndarray
    options: dict

    def encode(self) -> bytes:
        return encode_png(self.samples, **self.options)


def synthetic_image(height: int, width: int, colour_type: int, bit_depth: int, seed: int):
    """Uniformly random samples (every filter then has work to do) and, for colour type 3, a
    palette of 2^d entries (at most 256) that every index may use. Deterministic in ``seed``."""
    rng = np.random.default_rng(seed)
    channels = COLOUR_TYPES[colour_type][1]
    dtype = np.uint16 if bit_depth == 16 else np.uint8
    samples = rng.integers(0, 1 << bit_depth, size=(height, width, channels)).astype(dtype)
    palette = None
    if colour_type == 3:
        palette = rng.integers(0, 256, size=(min(256, 1 << bit_depth), 3)).astype(np.uint8)
    return samples, palette


def png_variants(sizes=VARIANT_SIZES, depths=VARIANT_DEPTHS, filters=VARIANT_FILTERS,
                 interlace=(False, True), seed: int = 0) -> list[PngVariant]:
    """Every (colour type, bit depth) x size x interlace x filter policy, plus tRNS variants
    (filter "rotate") for the colour types that allow tRNS: gray key = the first pixel's value,
    rgb key = the first pixel's colour (so at least one pixel is transparent), palette alpha for
    the first half of the entries. Names: png_<type><depth>_<h>x<w>_<interlace>_f<filter>[_trns].
    """
    out: list[PngVariant] = []
    for ct, d in depths:
        for h, w in sizes:
            samples, palette = synthetic_image(h, w, ct, d, seed + 1000 * ct + 10 * d + h * 37 + w)
            for il in interlace:
                policies = [(f, None) for f in filters]
                if ct in (0, 2, 3):
                    policies.append(("rotate", _variant_trns(ct, samples, palette)))
                for f, trns in policies:
                    name = (f"png_{COLOUR_TYPES[ct][0]}{d}_{h}x{w}_{'adam7' if il else 'noninterlaced'}"
                            f"_f{f}{'_trns' if trns is not None else ''}")
                    opts = dict(colour_type=ct, bit_depth=d, palette=palette, trns=trns,
                                interlace=il, filters=f)
                    out.append(PngVariant(name, samples, opts))
    names = [v.name for v in out]
    if len(set(names)) != len(names):
        raise ValueError("duplicate variant names")  # STYLE.md item 8
    return out


def _variant_trns(colour_type: int, samples: np.ndarray, palette):
    if colour_type == 0:
        return int(samples[0, 0, 0])
    if colour_type == 2:
        return tuple(int(v) for v in samples[0, 0])
    k = max(1, len(palette) // 2)
    return [(37 * i) % 256 for i in range(k)]


# ---------------------------------------------------------------------------------------------
# Negative inputs
# ---------------------------------------------------------------------------------------------


def chunk_offsets(png: bytes) -> list[tuple[bytes, int, int]]:
    """(type, offset of the length field, data length) of every chunk, without any checking."""
    out, pos = [], len(PNG_SIGNATURE)
    while pos + 8 <= len(png):
        length = struct.unpack(">I", png[pos:pos + 4])[0]
        out.append((png[pos + 4:pos + 8], pos, length))
        pos += 12 + length
    return out


def corrupt_crc(png: bytes, chunk_type: bytes = b"IDAT", occurrence: int = 0) -> bytes:
    """Flip every bit of the last CRC byte of the ``occurrence``-th ``chunk_type`` chunk."""
    found = [(off, n) for t, off, n in chunk_offsets(png) if t == chunk_type]
    off, n = found[occurrence]
    crc_end = off + 12 + n
    return png[:crc_end - 1] + bytes([png[crc_end - 1] ^ 0xFF]) + png[crc_end:]


def truncate(png: bytes, length: int) -> bytes:
    """The first ``length`` bytes of the file (a truncated download)."""
    return png[:length]


def corrupt_zlib(png: bytes) -> bytes:
    """Replace the first IDAT's zlib stream with bytes that are not valid DEFLATE, CRC recomputed.

    0x78 0x9C is a valid zlib header; 0xFF starts a block with the reserved BTYPE 11 (RFC 1951 §3.2.3).
    """
    out, pos, done = bytearray(png[:8]), 8, False
    for t, off, n in chunk_offsets(png):
        data = png[off + 8: off + 8 + n]
        if t == b"IDAT" and not done:
            data, done = b"\x78\x9c\xff\xff\xff\xff" + data[6:], True
        out += make_chunk(t, data)
    return bytes(out)


def huge_dimensions_png(width: int = 100_000, height: int = 100_000, colour_type: int = 2,
                        bit_depth: int = 8) -> bytes:
    """A well-formed file (valid CRCs) whose IHDR claims width x height pixels but whose IDAT
    holds one tiny zlib stream: a decoder must refuse it from the header, before allocating."""
    chunks = [make_chunk(b"IHDR", ihdr_data(width, height, bit_depth, colour_type)),
              make_chunk(b"IDAT", zlib.compress(b"\x00" * 64, 9)),
              make_chunk(b"IEND", b"")]
    return PNG_SIGNATURE + b"".join(chunks)


def zip_bomb_png(width: int = 16, height: int = 16, inflated_bytes: int = 64 << 20) -> bytes:
    """A small 8-bit gray PNG whose IDAT inflates to ``inflated_bytes`` (far more than the
    height x (1 + width) bytes the header needs). Built in 1 MiB pieces so making it is cheap."""
    comp = zlib.compressobj(9)
    piece = b"\x00" * (1 << 20)
    parts = []
    for _ in range(inflated_bytes // len(piece)):
        parts.append(comp.compress(piece))
    parts.append(comp.flush())
    chunks = [make_chunk(b"IHDR", ihdr_data(width, height, 8, 0)),
              make_chunk(b"IDAT", b"".join(parts)), make_chunk(b"IEND", b"")]
    return PNG_SIGNATURE + b"".join(chunks)


def not_an_image() -> bytes:
    """Bytes that are neither PNG nor JPEG (a short text file)."""
    return b"This is a plain text file, not an image.\n" * 3


# --- metadata other libraries read an orientation from (reference.orientation_sources) --------


def text_chunk(keyword: str, text: str) -> bytes:
    """A tEXt chunk (§11.3.4.3): latin-1 keyword, NUL, latin-1 text."""
    return make_chunk(b"tEXt", keyword.encode("latin-1") + b"\0" + text.encode("latin-1"))


def ztxt_chunk(keyword: str, text: str) -> bytes:
    """A zTXt chunk (§11.3.4.4): keyword, NUL, compression method 0, zlib stream of the text."""
    return make_chunk(b"zTXt", keyword.encode("latin-1") + b"\0\0" + zlib.compress(text.encode("latin-1")))


def itxt_chunk(keyword: str, text: str, *, compressed: bool = False) -> bytes:
    """An iTXt chunk (§11.3.4.5): keyword, NUL, compression flag and method, empty language tag
    and translated keyword, UTF-8 text (zlib-compressed when ``compressed``)."""
    body = text.encode("utf-8")
    if compressed:
        body = zlib.compress(body)
    return make_chunk(b"iTXt", keyword.encode("latin-1") + b"\0" + bytes([int(compressed), 0])
                      + b"\0\0" + body)


def raw_profile_exif(orientation: int) -> str:
    """ImageMagick's ``Raw profile type exif`` text: a newline, the profile name, the byte count
    right-aligned in 8 columns, then the Exif block (TIFF IFD0 holding Orientation) in hex, 72
    digits per line."""
    payload = exif_payload(orientation)
    digits = payload.hex()
    lines = [digits[k:k + 72] for k in range(0, len(digits), 72)]
    return f"\nexif\n{len(payload):8}\n" + "\n".join(lines) + "\n"


def xmp_packet(orientation: int, form: str = "attribute") -> str:
    """An XMP packet whose rdf:Description holds ``tiff:Orientation`` as an attribute or as an
    element (both forms occur in the wild; Pillow reads either)."""
    attr = f' tiff:Orientation="{orientation}"' if form == "attribute" else ""
    elem = f"<tiff:Orientation>{orientation}</tiff:Orientation>" if form == "element" else ""
    return ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
            'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
            f'xmlns:tiff="http://ns.adobe.com/tiff/1.0/"{attr}>{elem}</rdf:Description></rdf:RDF>'
            '</x:xmpmeta>')


def with_chunks(png: bytes, before_idat: Sequence[bytes] = (), after_idat: Sequence[bytes] = ()) -> bytes:
    """``png`` with extra chunks inserted before its first IDAT and before its IEND."""
    offsets = {name: pos for name, pos, _ in reversed(chunk_offsets(png))}
    i, j = offsets[b"IDAT"], offsets[b"IEND"]
    return png[:i] + b"".join(before_idat) + png[i:j] + b"".join(after_idat) + png[j:]


# --- APNG (animated PNG: the APNG specification, now PNG 3rd edition §11.3.6.x) --------------


def fctl_data(sequence: int, width: int, height: int, x: int, y: int, *, delay=(1, 10),
              dispose: int = 0, blend: int = 0) -> bytes:
    """fcTL: sequence number, width, height, x and y offsets, delay num/den, dispose_op,
    blend_op."""
    return struct.pack(">IIIIIHHBB", sequence, width, height, x, y, delay[0], delay[1], dispose, blend)


def encode_apng(default: np.ndarray, frames: Sequence[tuple[np.ndarray, int, int]], *, colour_type: int,
                bit_depth: int = 8, default_is_frame: bool = True, blend: int = 0,
                palette=None, trns=None) -> bytes:
    """An APNG: IHDR (the canvas is ``default``'s size), acTL, the default image in IDAT, then
    each ``(samples, x, y)`` frame as fcTL + fdAT. ``default_is_frame``: an fcTL before the IDAT
    makes the default image the animation's first frame; without it the default image is shown
    only by decoders without APNG support, and the first fdAT frame starts the animation."""
    h, w = default.shape[:2]
    seq = 0
    chunks = [make_chunk(b"IHDR", ihdr_data(w, h, bit_depth, colour_type))]
    if palette is not None:
        chunks.append(make_chunk(b"PLTE", np.asarray(palette, dtype=np.uint8).tobytes()))
    if trns is not None:
        chunks.append(make_chunk(b"tRNS", _trns_data(colour_type, bit_depth, trns, palette)))
    chunks.append(make_chunk(b"acTL", struct.pack(">II", len(frames) + int(default_is_frame), 0)))
    if default_is_frame:
        chunks.append(make_chunk(b"fcTL", fctl_data(seq, w, h, 0, 0, blend=blend)))
        seq += 1
    chunks.append(make_chunk(b"IDAT", zlib.compress(scanlines(default, bit_depth, False, "rotate"))))
    for samples, x, y in frames:
        fh, fw = samples.shape[:2]
        chunks.append(make_chunk(b"fcTL", fctl_data(seq, fw, fh, x, y, blend=blend)))
        seq += 1
        chunks.append(make_chunk(b"fdAT", struct.pack(">I", seq)
                                 + zlib.compress(scanlines(samples, bit_depth, False, "rotate"))))
        seq += 1
    chunks.append(make_chunk(b"IEND", b""))
    return PNG_SIGNATURE + b"".join(chunks)
