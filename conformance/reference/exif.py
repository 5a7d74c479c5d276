"""The EXIF Orientation tag (0x0112) from an Exif/TIFF payload, with every read bounds-checked.

Where the payload comes from:
- PNG ``eXIf`` chunk (PNG 3rd ed., chunk eXIf, anchor #11eXIf): the TIFF structure itself,
  starting "II"/"MM".
- JPEG APP1 (Exif 2.32 §4.7.2, CIPA DC-008): the identifier ``"Exif\\0\\0"`` then the TIFF
  structure. Some PNG writers copy that identifier into eXIf too; we accept it in both places
  (Pillow does; libpng 1.6 rejects such an eXIf chunk as "invalid", so OpenCV then ignores it).

TIFF structure (TIFF 6.0 §2 "Image File Header" / "Image File Directory"; offsets are relative to
the first byte of the byte-order mark):

    0: byte order  "II" (little-endian) or "MM" (big-endian)
    2: 42          (uint16, in that byte order)
    4: IFD0 offset (uint32)
    IFD: entry count N (uint16), N entries of 12 bytes, next-IFD offset (uint32)
    entry: tag (uint16), type (uint16), count (uint32), value or offset (4 bytes)

Orientation lives in IFD0 (Exif 2.32 §4.6.4 A, tag 274 = 0x0112), type SHORT (3), count 1; a
value that fits in 4 bytes is stored *left-justified* in the value field, so the SHORT is the
first two bytes of it, in the file's byte order.

Policy: a malformed Exif block must not make a decodable image fail. :func:`read_orientation`
therefore never raises on bad data; it returns ``(None, reason)`` and the caller records the
reason (``PngImage.warnings``). Values outside 1..8 are returned as they are (the orientation op
treats them as "no transform", like Pillow and OpenCV).
"""

from __future__ import annotations

import struct

EXIF_IDENTIFIER = b"Exif\x00\x00"  # Exif 2.32 §4.7.2 (C): "Exif", NUL, one padding byte (0)
TAG_ORIENTATION = 0x0112  # Exif 2.32 Table 4 (TIFF Rev. 6.0 attribute), decimal 274
TYPE_SHORT = 3  # TIFF 6.0 §2 field types: 3 = SHORT (16-bit unsigned)
TIFF_MAGIC = 42
IFD_ENTRY_SIZE = 12
# An IFD0 with more entries than fit in a 64 KiB APP1 segment is malformed; the count field is
# 16-bit anyway, so this only documents that no extra limit is needed.
BYTE_ORDERS = {b"II": "<", b"MM": ">"}


def strip_exif_identifier(payload: bytes) -> bytes:
    """The TIFF structure of an Exif block: drop a leading ``"Exif\\0\\0"`` if present."""
    if payload[:6] == EXIF_IDENTIFIER:
        return payload[6:]
    # Some writers put "Exif\0" + a non-zero padding byte; the padding must not be interpreted.
    if payload[:5] == EXIF_IDENTIFIER[:5] and len(payload) >= 6:
        return payload[6:]
    return payload


def read_orientation(payload: bytes) -> tuple[int | None, str | None]:
    """``(orientation, None)`` if IFD0 holds a readable Orientation tag, else ``(None, reason)``.

    ``reason`` is None when the block is well formed but has no Orientation tag.
    """
    tiff = strip_exif_identifier(bytes(payload))
    if len(tiff) < 8:
        return None, f"Exif block of {len(tiff)} bytes is shorter than the 8-byte TIFF header"
    endian = BYTE_ORDERS.get(tiff[:2])
    if endian is None:
        return None, f"Exif byte order mark is {tiff[:2]!r}, not b'II' or b'MM'"

    def u16(pos: int) -> int | None:
        return struct.unpack_from(endian + "H", tiff, pos)[0] if 0 <= pos <= len(tiff) - 2 else None

    def u32(pos: int) -> int | None:
        return struct.unpack_from(endian + "I", tiff, pos)[0] if 0 <= pos <= len(tiff) - 4 else None

    if u16(2) != TIFF_MAGIC:
        return None, f"TIFF magic is {u16(2)}, not {TIFF_MAGIC}"
    ifd0 = u32(4)
    count = u16(ifd0)
    if count is None:
        return None, f"IFD0 offset {ifd0} is outside the {len(tiff)}-byte Exif block"
    for k in range(count):
        entry = ifd0 + 2 + k * IFD_ENTRY_SIZE
        tag, ftype, n = u16(entry), u16(entry + 2), u32(entry + 4)
        if n is None or entry + IFD_ENTRY_SIZE > len(tiff):
            return None, f"IFD0 entry {k} at {entry} runs past the end of the Exif block"
        if tag != TAG_ORIENTATION:
            continue
        if ftype != TYPE_SHORT or n < 1:
            return None, f"Orientation has type {ftype} and count {n}, expected SHORT (3), count 1"
        return u16(entry + 8), None  # left-justified SHORT in the value field
    return None, None


def exif_orientation(payload: bytes) -> int | None:
    """The Orientation value of an Exif block, or None if absent or unreadable."""
    return read_orientation(payload)[0]
