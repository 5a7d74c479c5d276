"""Colour ops against independent oracles (OpenCV cvtColor, Pillow convert) and their laws."""

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from conformance.reference.color import color, rgb_to_gray
from conformance.spec import make_step


@pytest.fixture(scope="module")
def all_rgb_triples():
    """Every 8-bit RGB triple once: a 4096 x 4096 x 3 image (2^24 pixels)."""
    v = np.arange(1 << 24, dtype=np.uint32)
    rgb = np.stack([(v >> 16) & 255, (v >> 8) & 255, v & 255], axis=1).astype(np.uint8)
    return rgb.reshape(4096, 4096, 3)


def _report(name, ours, theirs):
    diff = np.abs(ours.astype(np.int64) - theirs.astype(np.int64))
    print(f"{name}: {diff.size} values, max diff {diff.max()}, {np.count_nonzero(diff)} differ")
    return diff


def test_gray_presets_match_opencv_and_pillow_on_every_rgb_triple(all_rgb_triples):
    rgb = all_rgb_triples
    ours_cv = color(rgb, make_step({"op": "color", "preset": "opencv.gray"}))[..., 0]
    assert _report("opencv.gray vs cv2.cvtColor(RGB2GRAY)", ours_cv, cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)).max() == 0
    ours_pil = color(rgb, make_step({"op": "color", "preset": "pillow.gray"}))[..., 0]
    theirs = np.asarray(Image.fromarray(rgb).convert("L"))
    assert _report("pillow.gray vs Image.convert('L')", ours_pil, theirs).max() == 0


def test_bgr_to_gray_matches_opencv_bgr2gray():
    rng = np.random.default_rng(1)
    bgr = rng.integers(0, 256, (64, 80, 3), dtype=np.uint8)
    ours = color(bgr, make_step({"op": "color", "conversion": "bgr_to_gray", "arithmetic": "opencv_fixed"}))
    assert np.array_equal(ours[..., 0], cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))


def test_float_gray_and_the_fixed_forms_differ_by_at_most_one(all_rgb_triples):
    f = rgb_to_gray(all_rgb_triples[:512], "bt601", "float")
    for arith in ("pillow_fixed", "opencv_fixed"):
        d = np.abs(f.astype(int) - rgb_to_gray(all_rgb_triples[:512], "bt601", arith).astype(int))
        assert d.max() == 1  # they are different formulas: the knob matters, by one level


def test_gray_golden():
    px = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]]], dtype=np.uint8)
    assert rgb_to_gray(px, "bt601", "float")[0, :, 0].tolist() == [76, 150, 29, 255]
    assert rgb_to_gray(px, "bt709", "float")[0, :, 0].tolist() == [54, 182, 18, 255]


@settings(max_examples=50, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 9), st.integers(1, 9), st.just(3))))
def test_rgb_bgr_twice_is_identity(a):
    step = make_step({"op": "color", "conversion": "rgb_to_bgr"})
    once = color(a, step)
    assert np.array_equal(once[..., ::-1], a)
    assert np.array_equal(color(once, step), a)


@settings(max_examples=50, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 9), st.integers(1, 9), st.just(3))))
def test_ycbcr_round_trip_within_one_level(a):
    y = color(a, make_step({"op": "color", "conversion": "rgb_to_ycbcr"}))
    back = color(y, make_step({"op": "color", "conversion": "ycbcr_to_rgb"}))
    assert np.abs(back.astype(int) - a.astype(int)).max() <= 2  # two roundings of 8-bit values


def test_ycbcr_matches_pillow_within_one_level():
    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
    ours = color(rgb, make_step({"op": "color", "conversion": "rgb_to_ycbcr"}))
    theirs = np.asarray(Image.fromarray(rgb).convert("YCbCr"))
    d = _report("rgb_to_ycbcr vs Pillow convert('YCbCr') (Pillow uses its own fixed point)", ours, theirs)
    assert d.max() <= 1


def test_gray_to_rgb_and_rgba():
    g = np.arange(6, dtype=np.uint8).reshape(2, 3, 1)
    assert color(g, make_step({"op": "color", "conversion": "gray_to_rgb"})).shape == (2, 3, 3)
    rgba = np.array([[[200, 100, 0, 0], [200, 100, 0, 255], [200, 100, 0, 128]]], dtype=np.uint8)
    out = color(rgba, make_step({"op": "color", "conversion": "rgba_to_rgb", "alpha": "composite",
                                 "background": [0, 0, 255]}))
    # a = 128/255: 200·a = 100.39 -> 100; 100·a = 50.2 -> 50; 255·(1-a) = 127 -> 127
    assert out[0].tolist() == [[0, 0, 255], [200, 100, 0], [100, 50, 127]]


def test_wrong_channel_count_is_a_clear_error():
    from conformance.errors import SpecError
    with pytest.raises(SpecError, match="needs 3 channel"):
        color(np.zeros((2, 2, 1), np.uint8), make_step({"op": "color", "conversion": "rgb_to_bgr"}))


# --- YUV 4:2:0 single-plane frames (OpenVINO's NV12 / I420 inputs; its library oracle is
# --- tests/test_harness_openvino.py) ---------------------------------------------------------

def test_yuv420_planes_read_as_documented():
    """A 4x4 frame by hand: Y = 16 + index, NV12 pairs (U, V) per 2x2 block; I420 U then V."""
    y = (16 + np.arange(16, dtype=np.uint8)).reshape(4, 4)
    nv12 = np.concatenate([y, np.array([[128, 128, 200, 60], [40, 220, 128, 128]], np.uint8)])[..., None]
    rgb = color(nv12, make_step({"op": "color", "preset": "openvino.nv12_to_rgb"}))
    assert list(rgb[0, 0]) == [0, 0, 0]  # Y = 16, neutral chroma: black
    # pixel (0, 2), block (0, 1): Y = 18, U = 200, V = 60: R = 1.164·2 + 1.596·(−68) < 0,
    # G = 1.164·2 − 0.391·72 + 0.813·68 = 29.46, B = 1.164·2 + 2.018·72 = 147.62
    assert list(rgb[0, 2]) == [0, 29, 148]
    i420 = np.concatenate([y, np.array([[128, 200, 40, 128], [128, 60, 220, 128]], np.uint8)])[..., None]
    assert np.array_equal(color(i420, make_step({"op": "color", "preset": "openvino.i420_to_rgb"})), rgb)


def test_yuv420_nv12_and_i420_are_the_same_frame_packed_twice():
    rng = np.random.default_rng(420)
    y = rng.integers(0, 256, (6, 8), dtype=np.uint8)
    u, v = rng.integers(0, 256, (2, 3, 4), dtype=np.uint8)
    nv12 = np.concatenate([y, np.stack([u, v], -1).reshape(3, 8)])[..., None]
    i420 = np.concatenate([y, np.concatenate([u.ravel(), v.ravel()]).reshape(3, 8)])[..., None]
    for arithmetic in ("float", "openvino_f32"):
        a = color(nv12, make_step({"op": "color", "conversion": "nv12_to_bgr", "arithmetic": arithmetic}))
        b = color(i420, make_step({"op": "color", "conversion": "i420_to_rgb", "arithmetic": arithmetic}))
        assert np.array_equal(a, b[..., ::-1])


def test_yuv420_needs_one_plane_of_even_sizes():
    from conformance.errors import SpecError
    step = make_step({"op": "color", "conversion": "nv12_to_rgb"})
    for bad in (np.zeros((6, 4, 3), np.uint8), np.zeros((5, 4, 1), np.uint8), np.zeros((6, 3, 1), np.uint8),
                np.zeros((6, 4, 1), np.float32)):
        with pytest.raises(SpecError):
            color(bad, step)
    with pytest.raises(SpecError, match="openvino_f32"):
        color(np.zeros((2, 2, 3), np.uint8), make_step({"op": "color", "conversion": "rgb_to_bgr",
                                                        "arithmetic": "openvino_f32"}))
