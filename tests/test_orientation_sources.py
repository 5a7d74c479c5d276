"""The decode knob ``orientation_source``: ``pillow`` reads the orientation where Pillow 13's
``getexif`` does (eXIf, a tEXt ``exif``, ImageMagick's ``Raw profile type exif`` text in tEXt,
zTXt or iTXt, XMP's ``tiff:Orientation`` in PNG text chunks or a JPEG APP1), ``exif`` only the
Exif block (OpenCV, libpng). Oracles: ``ImageOps.exif_transpose`` and ``cv2.imdecode``."""

from __future__ import annotations

import io
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from conformance import synthetic as syn
from conformance.encoders import png as enc
from conformance.reference.decode import decode_image
from conformance.spec import make_step

BASE = syn.gradients(6, 10)
PLAIN = enc.encode_png(BASE, colour_type=2, bit_depth=8)
RAW = "Raw profile type exif"
XMP = "XML:com.adobe.xmp"


def _exif(orientation):
    return enc.encode_png(BASE, colour_type=2, bit_depth=8, exif_orientation=orientation)


PNGS = {
    "tEXt raw profile 6": enc.with_chunks(PLAIN, [enc.text_chunk(RAW, enc.raw_profile_exif(6))]),
    "zTXt raw profile 3": enc.with_chunks(PLAIN, [enc.ztxt_chunk(RAW, enc.raw_profile_exif(3))]),
    "iTXt raw profile 8": enc.with_chunks(PLAIN, [enc.itxt_chunk(RAW, enc.raw_profile_exif(8))]),
    "XMP attribute 6": enc.with_chunks(PLAIN, [enc.itxt_chunk(XMP, enc.xmp_packet(6))]),
    "XMP element 8, compressed": enc.with_chunks(PLAIN, [enc.itxt_chunk(XMP, enc.xmp_packet(8, "element"),
                                                                        compressed=True)]),
    "XMP in tEXt 5": enc.with_chunks(PLAIN, [enc.text_chunk(XMP, enc.xmp_packet(5))]),
    "XMP after IDAT 7": enc.with_chunks(PLAIN, after_idat=[enc.itxt_chunk(XMP, enc.xmp_packet(7))]),
    "raw profile after IDAT 2": enc.with_chunks(PLAIN, after_idat=[enc.ztxt_chunk(RAW, enc.raw_profile_exif(2))]),
    "eXIf 1 beats XMP 6": enc.with_chunks(_exif(1), [enc.itxt_chunk(XMP, enc.xmp_packet(6))]),
    "eXIf 6 beats raw profile 2": enc.with_chunks(_exif(6), [enc.text_chunk(RAW, enc.raw_profile_exif(2))]),
    "later XMP wins": enc.with_chunks(PLAIN, [enc.itxt_chunk(XMP, enc.xmp_packet(3))],
                                      [enc.itxt_chunk(XMP, enc.xmp_packet(6))]),
    "tEXt keyword exif 2": enc.with_chunks(PLAIN, [enc.make_chunk(b"tEXt", b"exif\0Exif\0\0" + enc.exif_payload(2))]),
    "XMP orientation 9 (no rotation)": enc.with_chunks(PLAIN, [enc.itxt_chunk(XMP, enc.xmp_packet(9))]),
    "no orientation anywhere": enc.with_chunks(PLAIN, [enc.text_chunk("Comment", "tiff:Orientation=6")]),
}


def _pillow(data: bytes) -> np.ndarray:
    im = Image.open(io.BytesIO(data))
    im.load()
    return np.asarray(ImageOps.exif_transpose(im).convert("RGB"))


def _ref(data: bytes, **knobs) -> np.ndarray:
    return decode_image(data, make_step({"op": "decode", **knobs}))


@pytest.mark.parametrize("name", sorted(PNGS))
def test_pillow_source_equals_exif_transpose(name):
    data = PNGS[name]
    got = _ref(data, preset="pillow", orientation="apply")
    want = _pillow(data)
    assert got.shape == want.shape and np.array_equal(got, want)


@pytest.mark.parametrize("name", sorted(PNGS))
def test_exif_source_equals_opencv(name):
    data = PNGS[name]
    got = _ref(data, preset="opencv")
    want = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert got.shape == want.shape and np.array_equal(got, want)


def test_the_sources_disagree_where_the_issue_says():
    """Text chunk and XMP orientations turn the image for Pillow, not for OpenCV: up to 255 levels
    (here the shape itself changes)."""
    for name in ("tEXt raw profile 6", "XMP attribute 6", "XMP after IDAT 7"):
        assert _ref(PNGS[name], preset="pillow", orientation="apply").shape == (10, 6, 3)
        assert _ref(PNGS[name], preset="opencv").shape == (6, 10, 3)


def _jpeg(exif_orientation=None, xmp=None):
    buf = io.BytesIO()
    options = {"quality": 90}
    if exif_orientation is not None:
        e = Image.Exif()
        e[0x0112] = exif_orientation
        options["exif"] = e.tobytes()
    elif xmp is not None:
        e = Image.Exif()
        e[0x010F] = "conformance"  # an Exif block without Orientation: XMP is consulted
        options["exif"] = e.tobytes()
    if xmp is not None:
        options["xmp"] = xmp.encode()
    Image.fromarray(BASE).save(buf, "JPEG", **options)
    return buf.getvalue()


@pytest.mark.parametrize("exif,xmp", [(None, 6), (3, 6), (None, None)])
def test_jpeg_xmp_orientation(exif, xmp):
    data = _jpeg(exif, enc.xmp_packet(xmp) if xmp else None)
    assert np.array_equal(_ref(data, preset="pillow", orientation="apply"), _pillow(data))
    want = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert np.array_equal(_ref(data, preset="opencv"), want)


@pytest.mark.parametrize("chunk", [
    enc.text_chunk(RAW, "\nexif\n  10\nnot hex at all\n"),
    enc.make_chunk(b"zTXt", RAW.encode() + b"\0\0" + b"not zlib"),
    enc.make_chunk(b"iTXt", XMP.encode() + b"\0\1\0\0\0" + b"not zlib"),
    enc.make_chunk(b"iTXt", XMP.encode() + b"\0\0\0\0\0" + b"\xff\xfe tiff:Orientation=\"6\""),
    enc.make_chunk(b"iTXt", b"\0"),
    enc.make_chunk(b"zTXt", RAW.encode() + b"\0\0" + zlib.compress(b"0" * (8 << 20))),
])
def test_hostile_text_chunks_never_crash(chunk):
    data = enc.with_chunks(PLAIN, [chunk])
    out = _ref(data, preset="pillow", orientation="apply")
    assert out.shape in ((6, 10, 3), (10, 6, 3))
