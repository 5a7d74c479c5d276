"""WebP through the decode op (reference.decode -> reference.webp.image): every corpus WebP
(conformance.encoders.webp) under the pillow, opencv and opencv.gray presets and the alpha and
orientation knobs equals Pillow 13 and OpenCV 5 (libwebp 1.6.0) bit for bit; hostile files are
typed errors."""

from __future__ import annotations

import dataclasses
import io

import cv2
import numpy as np
import PIL
import pytest
from PIL import Image, ImageOps, features

from conformance.corpus import photo
from conformance.encoders import webp as ew
from conformance.errors import DecodeError, UnsupportedFeature
from conformance.presets import DECODE_PRESETS
from conformance.reference.decode import decode_image, probe
from conformance.spec import Decode

PILLOW = Decode(**DECODE_PRESETS["pillow"])
OPENCV = Decode(**DECODE_PRESETS["opencv"])
OPENCV_GRAY = Decode(**DECODE_PRESETS["opencv.gray"])


def knobs(step: Decode, **changes) -> Decode:
    return dataclasses.replace(step, **changes)


@pytest.fixture(scope="module")
def variants():
    return ew.webp_variants(photo)


def test_pinned_encoders():
    assert PIL.__version__ == ew.PINNED_ENCODERS["pillow"][0]
    assert features.version("webp") == ew.PINNED_ENCODERS["pillow"][1].split()[-1]
    assert cv2.__version__ == ew.PINNED_ENCODERS["opencv"][0]


def test_presets_equal_pillow_and_opencv(variants):
    assert len(variants) >= 15
    for v in variants:
        buf = np.frombuffer(v.data, np.uint8)
        assert np.array_equal(decode_image(v.data, PILLOW),
                              np.array(Image.open(io.BytesIO(v.data)).convert("RGB"))), v.id
        assert np.array_equal(decode_image(v.data, OPENCV), cv2.imdecode(buf, cv2.IMREAD_COLOR)), v.id
        assert np.array_equal(decode_image(v.data, OPENCV_GRAY)[:, :, 0],
                              cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)), v.id


def test_alpha_keep_and_gray(variants):
    """alpha keep = convert('RGBA') and IMREAD_UNCHANGED (BGRA) on files with alpha, the file's
    3 channels without; Pillow convert('L') = from_rgb with pillow_fixed."""
    keep = knobs(PILLOW, output="unchanged", alpha="keep")
    gray = knobs(PILLOW, output="gray", gray_arithmetic="pillow_fixed")
    for v in variants:
        ours = decode_image(v.data, keep)
        unchanged = cv2.imdecode(np.frombuffer(v.data, np.uint8), cv2.IMREAD_UNCHANGED)
        if "alpha" in v.tags:
            assert np.array_equal(ours, np.array(Image.open(io.BytesIO(v.data)).convert("RGBA"))), v.id
            assert np.array_equal(ours, unchanged[:, :, [2, 1, 0, 3]]), v.id
        else:
            assert ours.shape[2] == 3 and np.array_equal(ours, unchanged[:, :, ::-1]), v.id
        assert np.array_equal(decode_image(v.data, gray)[:, :, 0],
                              np.array(Image.open(io.BytesIO(v.data)).convert("L"))), v.id


def test_orientation_from_the_exif_chunk(variants):
    v = next(v for v in variants if "webp_exif" in v.tags)
    assert probe(v.data)["orientation"] == 6
    applied = decode_image(v.data, knobs(PILLOW, orientation="apply"))
    im = ImageOps.exif_transpose(Image.open(io.BytesIO(v.data))).convert("RGB")
    assert np.array_equal(applied, np.array(im))
    assert np.array_equal(decode_image(v.data, OPENCV), cv2.imdecode(np.frombuffer(v.data, np.uint8),
                                                                     cv2.IMREAD_COLOR))
    assert decode_image(v.data, PILLOW).shape[:2] == applied.shape[1::-1]


def test_upsampling_knob_changes_only_lossy_files(variants):
    nearest = knobs(PILLOW, webp_upsampling="nearest")
    changed = {v.id for v in variants
               if not np.array_equal(decode_image(v.data, nearest), decode_image(v.data, PILLOW))}
    lossy = {v.id for v in variants if "webp_lossy" in v.tags}
    assert changed and changed <= lossy


def test_probe_and_header(variants):
    for v in variants:
        info = probe(v.data)
        assert info["format"] == "webp" and info["lossless"] == ("webp_lossless" in v.tags)
        assert info["colour_type"] == ("rgba" if "alpha" in v.tags else "rgb")


def test_hostile_files_are_decode_errors():
    for n in ew.negative_webps():
        with pytest.raises(DecodeError):
            decode_image(n.data, PILLOW)
        with pytest.raises(OSError):
            Image.open(io.BytesIO(n.data)).load()
        assert cv2.imdecode(np.frombuffer(n.data, np.uint8), cv2.IMREAD_COLOR) is None


def test_animation_is_unsupported():
    frames = [Image.fromarray(np.full((8, 8, 3), c, np.uint8)) for c in (0, 200)]
    buf = io.BytesIO()
    frames[0].save(buf, "WEBP", save_all=True, append_images=frames[1:], lossless=True)
    assert probe(buf.getvalue())["animated"]
    with pytest.raises(UnsupportedFeature, match="animated"):
        decode_image(buf.getvalue(), PILLOW)
