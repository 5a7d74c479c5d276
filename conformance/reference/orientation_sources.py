"""Where a decoder reads the EXIF orientation from (decode knob ``orientation_source``).

- ``exif``: the Exif block only: the PNG eXIf chunk (the first one), the first JPEG APP1
  ``Exif\\0\\0`` segment. libpng and OpenCV (``cv2.imdecode``/``imread``), the image crate,
  torchvision's ``decode_image``.
- ``pillow``: what Pillow 13's ``Image.getexif()`` reads, which ``ImageOps.exif_transpose``
  (and so transformers' ``load_image``, timm's and torchvision's PIL pipelines that call it)
  rotates by. Pillow collects the file's metadata into ``im.info`` in file order, a later
  entry replacing an earlier one of the same key:

  PNG (``PngImagePlugin``; chunks after IDAT are read by ``load()``, so they count too):
    - ``eXIf``: ``info["exif"] = "Exif\\0\\0" + data``;
    - ``tEXt`` ``keyword\\0text``: ``info[keyword] = text`` (latin-1), except the keyword
      ``exif``, whose raw bytes become ``info["exif"]``;
    - ``zTXt`` ``keyword\\0 method zlib-data``: ``info[keyword]`` = the inflated text (empty if
      it does not inflate);
    - ``iTXt`` ``keyword\\0 flag method lang\\0 translated\\0 text``: ``info[keyword]`` = the
      UTF-8 text (inflated when flagged; a chunk that does not inflate or decode is skipped);
      the keyword ``XML:com.adobe.xmp`` also sets ``info["xmp"]`` to the raw bytes.
  JPEG (``JpegImagePlugin``): the first APP1 ``Exif\\0\\0`` segment is ``info["exif"]``; every
  APP1 ``http://ns.adobe.com/xap/1.0/\\0`` segment sets ``info["xmp"]`` (the last one wins).

  Then ``getexif()``: the Exif block is ``info["exif"]``, else (PNG) the hex dump of
  ImageMagick's ``Raw profile type exif`` text, ``bytes.fromhex`` of its lines after the
  third; if that block has no Orientation tag, ``info["XML:com.adobe.xmp"]`` (else
  ``info["xmp"]``) is searched for ``tiff:Orientation(="|>)([0-9])`` and the digit is the
  orientation (attribute or element form of XMP).

  Where Pillow itself raises (a Raw profile whose text is not hex: ``ValueError`` from
  ``bytes.fromhex``), the reference reads no orientation from it and says so in its warnings.

Measured against Pillow 13.0 (``ImageOps.exif_transpose``) and OpenCV 5.0 on PNGs holding the
orientation in each place, and on JPEGs with XMP only: ``tests/test_orientation_sources.py``.
"""

from __future__ import annotations

import re
import zlib

from .exif import read_orientation

XMP_KEY = "XML:com.adobe.xmp"
RAW_PROFILE_KEY = "Raw profile type exif"
XMP_ORIENTATION = re.compile(rb'tiff:Orientation(="|>)([0-9])')
#: inflated text kept per chunk (Pillow refuses more than 1 MB of text per chunk, ImageFile's
#: MAX_TEXT_CHUNK; a larger one reads as empty here)
TEXT_LIMIT = 1 << 20


def _inflate(data: bytes) -> bytes | None:
    d = zlib.decompressobj()
    try:
        out = d.decompress(data, TEXT_LIMIT + 1)
    except zlib.error:
        return None
    return None if len(out) > TEXT_LIMIT else out


def pillow_png_info(chunks: tuple[tuple[bytes, bytes], ...]) -> dict:
    """The entries of Pillow's ``im.info`` that hold an orientation, from a PNG's tEXt, zTXt,
    iTXt and eXIf chunks in file order (module docstring). Values: ``exif`` and ``xmp`` bytes,
    text keys str."""
    info: dict = {}
    for ctype, body in chunks:
        if ctype == b"eXIf":
            info["exif"] = b"Exif\x00\x00" + body
            continue
        key, sep, rest = body.partition(b"\0")
        if not key:
            continue
        if ctype == b"tEXt":
            if key == b"exif":
                info["exif"] = rest
            else:
                info[key.decode("latin-1")] = rest.decode("latin-1", "replace")
        elif ctype == b"zTXt":
            if rest[:1] not in (b"", b"\0"):
                continue  # Pillow: "Unknown compression method" (the file fails to open)
            text = _inflate(rest[1:]) if rest else b""
            info[key.decode("latin-1")] = (text or b"").decode("latin-1", "replace")
        else:  # iTXt
            if len(rest) < 2:
                continue
            flag, method, rest = rest[0], rest[1], rest[2:]
            parts = rest.split(b"\0", 2)
            if len(parts) != 3:
                continue
            text = parts[2]
            if flag:
                if method != 0:
                    continue
                text = _inflate(text)
                if text is None:
                    continue
            if key == XMP_KEY.encode():
                info["xmp"] = text
            try:
                info[key.decode("latin-1")] = text.decode("utf-8")
                parts[0].decode("utf-8"), parts[1].decode("utf-8")
            except UnicodeDecodeError:
                continue
    return info


def pillow_jpeg_info(exif: bytes | None, xmp: bytes | None) -> dict:
    """Pillow's ``info["exif"]`` (the first Exif APP1) and ``info["xmp"]`` (the last XMP APP1)
    from what the JPEG reader kept of them (its ``exif`` lacks the ``Exif\\0\\0`` identifier,
    which :func:`pillow_orientation` strips anyway)."""
    return {k: v for k, v in (("exif", exif), ("xmp", xmp)) if v is not None}


def pillow_orientation(info: dict, warnings: list[str] | None = None) -> int | None:
    """The orientation ``Image.getexif()`` gives for these ``info`` entries (None: no tag)."""
    block = info.get("exif")
    if block is None and RAW_PROFILE_KEY in info:
        try:
            block = bytes.fromhex("".join(str(info[RAW_PROFILE_KEY]).split("\n")[3:]))
        except ValueError:
            if warnings is not None:
                warnings.append("the 'Raw profile type exif' text is not hex (Pillow raises "
                                "ValueError on this file; no orientation read from it)")
    orientation = None
    while block and block.startswith(b"Exif\x00\x00"):  # Exif.load strips every such prefix
        block = block[6:]
    if block:
        orientation = read_orientation(block)[0]
    if orientation is not None:
        return orientation
    xmp = info.get(XMP_KEY)
    xmp_bytes = xmp.encode("utf-8") if isinstance(xmp, str) and xmp else info.get("xmp")
    if xmp_bytes:
        m = XMP_ORIENTATION.search(xmp_bytes)
        if m:
            return int(m.group(2))
    return None
