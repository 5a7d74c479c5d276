"""EXIF Orientation: the TIFF/Exif parser (reference/exif.py) and the transforms
(reference/orientation.py) against Pillow's and OpenCV's own transforms. Tolerance 0."""

from __future__ import annotations

import struct

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from conformance.encoders.png import exif_payload
from conformance.reference.exif import exif_orientation, read_orientation, strip_exif_identifier
from conformance.reference.orientation import INVERSE, ORIENTATIONS, apply_orientation

# ------------------------------------------------------------------------------------------
# Parser
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("byte_order", ["MM", "II"])
@pytest.mark.parametrize("prefix", [False, True])
@pytest.mark.parametrize("value", [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 65535])
def test_reads_orientation_in_both_byte_orders(byte_order, prefix, value):
    payload = exif_payload(value, byte_order, prefix)
    assert read_orientation(payload) == (value, None)
    # Pillow's own TIFF reader agrees on the same bytes
    exif = Image.Exif()
    exif.load(payload if prefix else b"Exif\x00\x00" + payload)
    assert exif.get(0x0112) == value


def _tiff(endian: str, entries: list[tuple[int, int, int, bytes]], ifd_offset: int = 8) -> bytes:
    order = b"II" if endian == "<" else b"MM"
    head = order + struct.pack(endian + "HI", 42, ifd_offset) + b"\x00" * (ifd_offset - 8)
    body = struct.pack(endian + "H", len(entries))
    for tag, ftype, count, value in entries:
        body += struct.pack(endian + "HHI", tag, ftype, count) + value.ljust(4, b"\x00")
    return head + body + struct.pack(endian + "I", 0)


def test_orientation_among_other_tags_and_after_a_gap():
    short = lambda v: struct.pack(">H", v)  # noqa: E731
    entries = [(0x010F, 2, 4, b"ACME"), (0x0110, 2, 4, b"cam\x00"), (0x0112, 3, 1, short(8))]
    assert read_orientation(_tiff(">", entries, ifd_offset=20)) == (8, None)
    le = [(0x0112, 3, 1, struct.pack("<H", 5))]
    assert read_orientation(_tiff("<", le)) == (5, None)
    assert read_orientation(_tiff(">", entries[:2])) == (None, None)  # no Orientation: no problem


@pytest.mark.parametrize("payload, reason", [
    (b"", "shorter"),
    (b"MM\x00*", "shorter"),
    (b"XX\x00*\x00\x00\x00\x08\x00\x00", "byte order"),
    (b"MM\x00\x2b\x00\x00\x00\x08\x00\x00", "magic"),
    (b"MM\x00*\x00\x00\xff\xff\x00\x00", "outside"),
    (b"MM\x00*\x00\x00\x00\x08\x00\x05\x01\x12\x00\x03", "past the end"),
    (_tiff(">", [(0x0112, 4, 1, struct.pack(">I", 6))]), "type 4"),
    (_tiff(">", [(0x0112, 3, 0, b"")]), "count 0"),
])
def test_malformed_blocks_return_none_with_a_reason(payload, reason):
    value, why = read_orientation(payload)
    assert value is None and reason in why
    assert exif_orientation(payload) is None


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_random_bytes_never_raise(data):
    value, why = read_orientation(data)
    assert value is None or isinstance(value, int)
    read_orientation(b"MM\x00*" + data)
    read_orientation(b"II*\x00" + data)


def test_every_truncation_of_a_valid_block_is_handled():
    payload = exif_payload(6, "II")
    entry_end = 8 + 2 + 12  # header, entry count, the Orientation entry
    for n in range(len(payload)):
        value, why = read_orientation(payload[:n])
        # the next-IFD offset after the entry is never needed
        assert (value, why) == (6, None) if n >= entry_end else (value is None and why), n


def test_identifier_is_optional():
    tiff = exif_payload(3)
    assert strip_exif_identifier(b"Exif\x00\x00" + tiff) == tiff == strip_exif_identifier(tiff)


# ------------------------------------------------------------------------------------------
# Transforms
# ------------------------------------------------------------------------------------------

# Pillow ImageOps.exif_transpose's method per value (Pillow 13 ImageOps.py).
PILLOW_METHODS = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
                  4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
                  6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
                  8: Image.Transpose.ROTATE_90}
# OpenCV loadsave.cpp ExifTransform per value.
OPENCV_OPS = {2: lambda a: cv2.flip(a, 1), 3: lambda a: cv2.flip(a, -1), 4: lambda a: cv2.flip(a, 0),
              5: lambda a: cv2.transpose(a), 6: lambda a: cv2.flip(cv2.transpose(a), 1),
              7: lambda a: cv2.flip(cv2.transpose(a), -1), 8: lambda a: cv2.flip(cv2.transpose(a), 0)}


@pytest.mark.parametrize("value", range(2, 9))
def test_matches_pillow_and_opencv(value):
    rng = np.random.default_rng(value)
    a = rng.integers(0, 256, size=(5, 7, 3), dtype=np.uint8)
    got = apply_orientation(a, value)
    pil = np.array(Image.fromarray(a).transpose(PILLOW_METHODS[value]))
    np.testing.assert_array_equal(got, pil)
    np.testing.assert_array_equal(got, OPENCV_OPS[value](a))
    assert got.shape == ((7, 5, 3) if value >= 5 else (5, 7, 3))


def test_hand_checked_2x3():
    a = np.array([[1, 2, 3], [4, 5, 6]])
    assert apply_orientation(a, 6).tolist() == [[4, 1], [5, 2], [6, 3]]  # 90° clockwise
    assert apply_orientation(a, 8).tolist() == [[3, 6], [2, 5], [1, 4]]  # 90° counter-clockwise
    assert apply_orientation(a, 5).tolist() == [[1, 4], [2, 5], [3, 6]]  # transpose
    assert apply_orientation(a, 7).tolist() == [[6, 3], [5, 2], [4, 1]]  # transverse
    assert apply_orientation(a, 2).tolist() == [[3, 2, 1], [6, 5, 4]]
    assert apply_orientation(a, 4).tolist() == [[4, 5, 6], [1, 2, 3]]


@pytest.mark.parametrize("value", [None, 0, 1, 9, 255, -1])
def test_no_transform_values_return_a_copy(value):
    a = np.arange(12, dtype=np.uint8).reshape(3, 4, 1)
    out = apply_orientation(a, value)
    np.testing.assert_array_equal(out, a)
    assert out is not a and not np.shares_memory(out, a) and out.flags.c_contiguous


@settings(max_examples=100, deadline=None)
@given(value=st.sampled_from(sorted(ORIENTATIONS)), h=st.integers(1, 9), w=st.integers(1, 9),
       c=st.integers(1, 4), seed=st.integers(0, 1000))
def test_orientation_then_inverse_is_identity(value, h, w, c, seed):
    a = np.random.default_rng(seed).integers(0, 256, size=(h, w, c), dtype=np.uint8)
    back = apply_orientation(apply_orientation(a, value), INVERSE[value])
    np.testing.assert_array_equal(back, a)
