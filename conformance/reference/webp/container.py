"""The WebP RIFF container: RFC 9649 §2 ("WebP Container Specification").

Layout (§2.4, §2.5, §2.7): ``'RIFF'``, 32-bit little-endian *File Size* (bytes after these 8),
``'WEBP'``, then chunks of FourCC + 32-bit *Chunk Size* + payload, padded with one byte to an
even size (§2.3: "If Chunk Size is odd, a single padding byte ... is added"). Three forms:

- simple lossy (§2.5): one ``'VP8 '`` chunk;
- simple lossless (§2.6): one ``'VP8L'`` chunk;
- extended (§2.7): ``'VP8X'`` (10-byte payload: flags byte ``Rsv|I|L|E|X|A|R`` = reserved 2,
  ICC 1, alpha 1, EXIF 1, XMP 1, animation 1, reserved 1; 24 reserved bits; 24-bit canvas
  width - 1; 24-bit canvas height - 1), then optional ``'ICCP'``, ``'ANIM'`` + ``'ANMF'``
  frames, or ``'ALPH'`` + ``'VP8 '`` / ``'VP8L'``, then ``'EXIF'``, ``'XMP '``, unknown chunks.

Strictness, following libwebp 1.6.0 (``src/dec/webp_dec.c`` ParseHeadersInternal), each a
DecodeError with the byte offset:

- the RIFF size must be >= 12 ("WEBP" + one chunk header) and not exceed the data (a file
  longer than RIFF size + 8 is accepted, the tail ignored, with a warning);
- the VP8X payload size must be exactly 10; canvas width * height < 2^32;
- a chunk whose padded size runs past the RIFF size is refused; a VP8/VP8L chunk that runs
  past the data is refused as truncated;
- with VP8X, the VP8 / VP8L frame size must equal the canvas size;
- ALPH: libwebp uses the *last* ALPH chunk before the image chunk; ALPH is ignored for VP8L.

``has_alpha`` is what WebPGetFeatures reports: the VP8X alpha flag, but for a VP8L image the
VP8L header's ``alpha_is_used`` hint replaces it; then OR an ALPH chunk's presence (the image's
actual alpha values do not matter). Pillow reports mode RGBA when has_alpha is set, RGB otherwise.

Animation (VP8X animation flag): libwebp's WebPDecode refuses animated files
(VP8_STATUS_UNSUPPORTED_FEATURE). Measured on a 2-frame lossless animation saved by Pillow 13
(``save_all=True, append_images=[...]``): Pillow 13 opens it (``n_frames == 2``,
``is_animated``) and returns frame 1 composited on the canvas; OpenCV 5.0 ``imdecode`` returns
the first frame. This reader raises UnsupportedFeature("animated WebP") for it, and
:func:`read_webp_info` reports ``animated=True`` without raising.

Bitstream extent (measured with a mutation sweep, see tests/test_webp_lossless.py): the VP8L
bit reader of libwebp does not stop at the chunk payload. Through Pillow 13 (WebPAnimDecoder /
demux) a stream that reads past its odd-sized payload into the padding byte still decodes;
OpenCV 5 reads on to the end of the data (later chunks supply bits). :attr:`WebpFile.bitstream`
is the chunk payload, :attr:`WebpFile.bitstream_padded` the payload plus its padding byte
(present in the data), :attr:`WebpFile.bitstream_to_end` the bytes from the payload to the end
of the data; :func:`decode_webp_lossless` takes ``extent="padded"`` (Pillow, the default) or
``"to_end"`` (OpenCV / WebPDecode) or ``"payload"`` (the strict RFC reading).

Alpha of a VP8L image: decode_vp8l returns the bitstream's alpha (WebPDecodeRGBA). Pillow
decodes to RGB when has_alpha is false (the VP8L alpha hint is 0), so an image whose hint is 0
but whose alpha values are not 255 reads as alpha 255 through Pillow.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

from ...errors import DecodeError, LimitsExceeded, SpecError, UnsupportedFeature
from .vp8l import VP8L_HEADER_BYTES, decode_vp8l, read_vp8l_header

RIFF_HEADER_BYTES = 12  # 'RIFF' + size + 'WEBP' (§2.4)
CHUNK_HEADER_BYTES = 8  # FourCC + Chunk Size (§2.3)
TAG_BYTES = 4
VP8X_PAYLOAD_BYTES = 10  # §2.7: flags (4 bytes) + width - 1 (3) + height - 1 (3)
MAX_CHUNK_PAYLOAD = 0xFFFFFFFF - CHUNK_HEADER_BYTES - 1  # libwebp MAX_CHUNK_PAYLOAD (~0U - 8 - 1)
MAX_IMAGE_AREA = 1 << 32  # libwebp ParseVP8X: width * height must be below 2^32
VP8_FRAME_HEADER_BYTES = 10  # RFC 6386 §9.1: 3-byte frame tag + 7-byte key frame start code
VP8_START_CODE = b"\x9d\x01\x2a"  # RFC 6386 §9.1
VP8_SIZE_MASK = 0x3FFF  # RFC 6386 §9.1: 14-bit width and height (2 scaling bits above)

# §2.7 VP8X flag bits (first payload byte)
FLAG_ANIMATION = 0x02
FLAG_XMP = 0x04
FLAG_EXIF = 0x08
FLAG_ALPHA = 0x10
FLAG_ICC = 0x20


@dataclass
class WebpFile:
    """The facts of a WebP file; pixels are decoded separately (decode_vp8l / the VP8 decoder)."""

    width: int  # canvas (VP8X) or frame width
    height: int
    kind: str  # "lossy" | "lossless"
    bitstream: bytes  # VP8 / VP8L chunk payload (empty for an animation)
    alph: bytes | None  # last ALPH payload before a VP8 chunk (None for VP8L: libwebp ignores it)
    has_alpha: bool  # as WebPGetFeatures (see module docstring)
    animated: bool
    icc: bytes | None = None
    exif: bytes | None = None
    xmp: bytes | None = None
    warnings: list[str] = field(default_factory=list)
    vp8x_flags: int | None = None
    bitstream_offset: int = 0  # file offset of the bitstream payload
    bitstream_padded: bytes = b""  # payload + padding byte (what Pillow's libwebp path reads)
    bitstream_to_end: bytes = b""  # payload to end of data (what WebPDecode's VP8L reader sees)


def _vp8_frame_size(payload: bytes, offset: int, source: str) -> tuple[int, int]:
    """RFC 6386 §9.1 key frame header: frame tag (key frame bit 0 = 0, show_frame), start code
    9d 01 2a, 14-bit width and height (libwebp VP8GetInfo checks)."""
    if len(payload) < VP8_FRAME_HEADER_BYTES:
        raise DecodeError("VP8 chunk too short for a frame header", source=source, offset=offset)
    bits = payload[0] | (payload[1] << 8) | (payload[2] << 16)
    key_frame = not (bits & 1)
    if not key_frame:
        raise UnsupportedFeature("VP8 interframe in a WebP file (not a key frame)", source=source)
    if ((bits >> 1) & 7) > 3:
        raise DecodeError("VP8 profile > 3 (RFC 6386 §9.1)", source=source, offset=offset)
    if not ((bits >> 4) & 1):
        raise DecodeError("VP8 frame not shown (show_frame = 0)", source=source, offset=offset)
    if (bits >> 5) >= len(payload):
        raise DecodeError("VP8 first partition larger than the chunk", source=source,
                          offset=offset)
    if payload[3:6] != VP8_START_CODE:
        raise DecodeError("VP8 start code 9d 01 2a missing (RFC 6386 §9.1)", source=source,
                          offset=offset + 3)
    w = int.from_bytes(payload[6:8], "little") & VP8_SIZE_MASK
    h = int.from_bytes(payload[8:10], "little") & VP8_SIZE_MASK
    if w == 0 or h == 0:
        raise DecodeError("VP8 frame of zero width or height", source=source, offset=offset + 6)
    return w, h


def _parse(data: bytes, source: str, allow_animation: bool) -> WebpFile:
    data = bytes(data)
    warnings: list[str] = []
    if len(data) < RIFF_HEADER_BYTES:
        raise DecodeError(f"{len(data)} bytes: too short for a RIFF header", source=source,
                          offset=0)
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise DecodeError("not a RIFF/WEBP file (§2.4)", source=source, offset=0)
    riff_size = struct.unpack_from("<I", data, 4)[0]
    if riff_size < TAG_BYTES + CHUNK_HEADER_BYTES:
        raise DecodeError(f"RIFF size {riff_size} leaves no room for a chunk", source=source,
                          offset=4)
    if riff_size > MAX_CHUNK_PAYLOAD:
        raise DecodeError(f"RIFF size {riff_size} too large", source=source, offset=4)
    if riff_size > len(data) - CHUNK_HEADER_BYTES:
        raise DecodeError(f"truncated: RIFF size {riff_size} but only "
                          f"{len(data) - CHUNK_HEADER_BYTES} bytes follow", source=source,
                          offset=len(data))
    end = CHUNK_HEADER_BYTES + riff_size
    if riff_size & 1:
        warnings.append(f"odd RIFF size {riff_size} (§2.4: chunks are padded to even sizes)")
    if end < len(data):
        warnings.append(f"{len(data) - end} bytes after the RIFF chunk ignored")

    def chunk_at(pos: int) -> tuple[bytes, int, int]:
        if pos + CHUNK_HEADER_BYTES > end:
            raise DecodeError("truncated chunk header", source=source, offset=pos)
        tag = data[pos:pos + TAG_BYTES]
        size = struct.unpack_from("<I", data, pos + TAG_BYTES)[0]
        if size > MAX_CHUNK_PAYLOAD:
            raise DecodeError(f"chunk {tag!r} size {size} too large", source=source,
                              offset=pos + TAG_BYTES)
        return tag, size, pos + CHUNK_HEADER_BYTES

    pos = RIFF_HEADER_BYTES
    tag, size, body = chunk_at(pos)
    flags = None
    canvas = None
    alph = icc = exif = xmp = None
    animated = False
    if tag == b"VP8X":
        if size != VP8X_PAYLOAD_BYTES:
            raise DecodeError(f"VP8X chunk size {size}, must be 10 (§2.7)", source=source,
                              offset=pos + TAG_BYTES)
        if body + VP8X_PAYLOAD_BYTES > end:
            raise DecodeError("truncated VP8X chunk", source=source, offset=body)
        flags = data[body]
        if flags & 0xC1:
            warnings.append(f"VP8X reserved flag bits set (0x{flags & 0xC1:02x}); ignored")
        cw = int.from_bytes(data[body + 4:body + 7], "little") + 1
        ch = int.from_bytes(data[body + 7:body + 10], "little") + 1
        if cw * ch >= MAX_IMAGE_AREA:
            raise DecodeError(f"VP8X canvas {cw}x{ch} too large (libwebp: area < 2^32)",
                              source=source, offset=body + 4)
        canvas = (cw, ch)
        animated = bool(flags & FLAG_ANIMATION)
        pos = body + VP8X_PAYLOAD_BYTES  # VP8X payload is even: no padding
        # §2.7 optional chunks until the image chunk (libwebp ParseOptionalChunks); metadata
        # chunks after the image are collected below.
        total = TAG_BYTES + CHUNK_HEADER_BYTES + VP8X_PAYLOAD_BYTES
        while True:
            if pos + CHUNK_HEADER_BYTES > end:
                if animated:
                    break
                raise DecodeError("no VP8/VP8L chunk in the extended file", source=source,
                                  offset=pos)
            tag, size, body = chunk_at(pos)
            disk = (CHUNK_HEADER_BYTES + size + 1) & ~1
            total += disk
            if tag in (b"VP8 ", b"VP8L"):
                break
            if total > riff_size:
                raise DecodeError(f"chunk {tag!r} of {size} bytes runs past the RIFF size",
                                  source=source, offset=pos + TAG_BYTES)
            payload = data[body:body + size]
            if tag == b"ALPH":
                if alph is not None:
                    warnings.append("several ALPH chunks: the last one is used (as libwebp)")
                alph = payload
            elif tag == b"ICCP":
                icc = payload
            elif tag == b"EXIF":
                exif = payload
            elif tag == b"XMP ":
                xmp = payload
            elif tag in (b"ANIM", b"ANMF"):
                animated = True
            pos += disk
        if animated:
            if not allow_animation:
                raise UnsupportedFeature("animated WebP", source=source)
            return WebpFile(width=cw, height=ch, kind="lossless", bitstream=b"", alph=None,
                            has_alpha=bool(flags & FLAG_ALPHA), animated=True, icc=icc,
                            exif=exif, xmp=xmp, warnings=warnings, vp8x_flags=flags)
    if tag not in (b"VP8 ", b"VP8L"):
        raise DecodeError(f"unexpected first chunk {tag!r} (§2.5-2.7: VP8 , VP8L or VP8X)",
                          source=source, offset=pos)
    if size > riff_size - (TAG_BYTES + CHUNK_HEADER_BYTES):
        raise DecodeError(f"{tag!r} chunk size {size} exceeds the RIFF size", source=source,
                          offset=pos + TAG_BYTES)
    if body + size > len(data):
        raise DecodeError(f"truncated {tag!r} chunk: {size} bytes announced, "
                          f"{len(data) - body} present", source=source, offset=len(data))
    payload = data[body:body + size]
    if tag == b"VP8L":
        kind = "lossless"
        if len(payload) < VP8L_HEADER_BYTES:
            raise DecodeError("VP8L chunk shorter than its 5-byte header", source=source,
                              offset=body)
        w, h, hint = read_vp8l_header(payload, source=source)
        has_alpha = hint  # WebPGetFeatures: VP8LGetInfo overwrites the VP8X flag
        if alph is not None:
            warnings.append("ALPH chunk with a VP8L image: ignored (as libwebp)")
            has_alpha = True  # WebPGetFeatures still ORs the ALPH presence in
        used_alph = None
    else:
        kind = "lossy"
        w, h = _vp8_frame_size(payload, body, source)
        has_alpha = bool(flags & FLAG_ALPHA) if flags is not None else False
        has_alpha = has_alpha or alph is not None
        used_alph = alph
    if canvas is not None and canvas != (w, h):
        raise DecodeError(f"VP8X canvas {canvas[0]}x{canvas[1]} differs from the "
                          f"{'VP8L' if kind == 'lossless' else 'VP8'} frame {w}x{h}",
                          source=source, offset=body)
    # Metadata chunks after the image chunk (§2.7 order: EXIF, XMP after the image data).
    if flags is not None:
        p = body + size + (size & 1)
        while p + CHUNK_HEADER_BYTES <= end:
            t = data[p:p + TAG_BYTES]
            s = struct.unpack_from("<I", data, p + TAG_BYTES)[0]
            if p + CHUNK_HEADER_BYTES + s > end:
                warnings.append(f"chunk {t!r} after the image runs past the RIFF size; ignored")
                break
            pl = data[p + CHUNK_HEADER_BYTES:p + CHUNK_HEADER_BYTES + s]
            if t == b"EXIF" and exif is None:
                exif = pl
            elif t == b"XMP " and xmp is None:
                xmp = pl
            elif t == b"ICCP" and icc is None:
                icc = pl
            p += (CHUNK_HEADER_BYTES + s + 1) & ~1
    return WebpFile(width=w, height=h, kind=kind, bitstream=payload, alph=used_alph,
                    has_alpha=bool(has_alpha), animated=False, icc=icc, exif=exif, xmp=xmp,
                    warnings=warnings, vp8x_flags=flags, bitstream_offset=body,
                    bitstream_padded=data[body:body + size + (size & 1)],
                    bitstream_to_end=data[body:])


def read_webp_info(data: bytes, source: str = "<bytes>") -> WebpFile:
    """Header facts without decoding pixels. Animated files are reported (animated=True),
    not refused."""
    return _parse(data, source, allow_animation=True)


def parse_webp(data: bytes, *, source: str = "<bytes>") -> WebpFile:
    """The container of a still image; UnsupportedFeature for an animation."""
    return _parse(data, source, allow_animation=False)


EXTENTS = ("padded", "to_end", "payload")


def check_extent(extent: str, source: str) -> None:
    """SpecError unless ``extent`` is one of :data:`EXTENTS`."""
    if extent not in EXTENTS:
        raise SpecError(f"must be one of {EXTENTS}, got {extent!r}", source=source,
                        field="extent")


def decode_webp_lossless(data: bytes, *, source: str = "<bytes>", max_pixels: int = 1 << 28,
                         use_numba: bool = True, extent: str = "padded") -> np.ndarray:
    """A lossless WebP file to (H, W, 4) uint8 RGBA (libwebp WebPDecodeRGBA). Lossy files raise
    UnsupportedFeature here (the VP8 decoder lives in vp8.py).

    ``extent`` (the bytes the VP8L bit reader may consume, see the module docstring):
    "padded" = payload + padding byte (libwebp through Pillow), "to_end" = to the end of the
    data (libwebp WebPDecode, OpenCV), "payload" = the chunk payload only (RFC 9649 strict).
    """
    check_extent(extent, source)  # caller misuse, before the data is looked at
    return lossless_rgba(parse_webp(data, source=source), source=source, max_pixels=max_pixels,
                         use_numba=use_numba, extent=extent)


def lossless_rgba(info: WebpFile, *, source: str, max_pixels: int, use_numba: bool = True,
                  extent: str = "padded") -> np.ndarray:
    """:func:`decode_webp_lossless` on a container already parsed (:func:`parse_webp`)."""
    check_extent(extent, source)
    if info.kind != "lossless":
        raise UnsupportedFeature("lossy (VP8) WebP: use the VP8 decoder", source=source)
    if info.width * info.height > max_pixels:
        raise LimitsExceeded(f"WebP image {info.width}x{info.height} has more than "
                             f"{max_pixels} pixels", source=source)
    bits = {"padded": info.bitstream_padded, "to_end": info.bitstream_to_end,
            "payload": info.bitstream}[extent]
    return decode_vp8l(bits, source=source, max_pixels=max_pixels, use_numba=use_numba)
