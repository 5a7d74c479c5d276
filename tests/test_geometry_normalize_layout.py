"""Crop, pad, letterbox, normalize and layout: goldens, laws, and cv2.dnn.blobFromImage as oracle."""

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from conformance.errors import SpecError
from conformance.reference.geometry import crop, letterbox, pad
from conformance.reference.layout import layout
from conformance.reference.normalize import normalize
from conformance.spec import make_step


def grid(h, w, c=1):
    return np.arange(h * w * c, dtype=np.uint8).reshape(h, w, c)


@pytest.mark.parametrize("rule, extra, expected", [
    ("floor", 3, 1), ("round", 3, 2), ("round", 1, 0), ("round", 5, 2), ("round_half_up", 1, 1),
    ("round_half_up", 3, 2), ("floor", 4, 2)])
def test_center_crop_offset_rules(rule, extra, expected):
    # torchvision CenterCrop: int(round(extra / 2)) -> half to even: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2
    a = grid(1, 2 + extra)
    out = crop(a, make_step({"op": "crop", "height": 1, "width": 2, "offset_rounding": rule}))
    assert out[0, :, 0].tolist() == [expected, expected + 1]


def test_crop_box_and_errors():
    a = grid(4, 5)
    out = crop(a, make_step({"op": "crop", "mode": "box", "top": 1, "left": 2, "height": 2, "width": 3}))
    assert out[..., 0].tolist() == [[7, 8, 9], [12, 13, 14]]
    with pytest.raises(SpecError, match="larger than the image"):
        crop(a, make_step({"op": "crop", "height": 5, "width": 5}))
    with pytest.raises(SpecError, match="leaves the image"):
        crop(a, make_step({"op": "crop", "mode": "box", "top": 3, "height": 2, "width": 2}))


def test_pad_modes_match_opencv_borders():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    for mode, border in (("edge", cv2.BORDER_REPLICATE), ("reflect", cv2.BORDER_REFLECT_101)):
        ours = pad(a, make_step({"op": "pad", "top": 1, "bottom": 2, "left": 3, "right": 4, "mode": mode}))
        theirs = cv2.copyMakeBorder(a, 1, 2, 3, 4, border)
        assert np.array_equal(ours, theirs), mode
    ours = pad(a, make_step({"op": "pad", "top": 2, "left": 1, "value": [1, 2, 3]}))
    theirs = cv2.copyMakeBorder(a, 2, 0, 1, 0, cv2.BORDER_CONSTANT, value=(1, 2, 3))
    assert np.array_equal(ours, theirs)
    with pytest.raises(SpecError, match="does not fit uint8"):
        pad(a, make_step({"op": "pad", "top": 1, "value": [300]}))


def test_letterbox_places_and_fills():
    a = np.full((2, 3, 1), 9, np.uint8)
    out = letterbox(a, make_step({"op": "letterbox", "height": 5, "width": 4, "value": [0]}))
    assert out[..., 0].tolist() == [[0, 0, 0, 0], [9, 9, 9, 0], [9, 9, 9, 0], [0, 0, 0, 0], [0, 0, 0, 0]]
    with pytest.raises(SpecError, match="does not fit the letterbox"):
        letterbox(grid(6, 2), make_step({"op": "letterbox", "height": 5, "width": 4}))


def test_normalize_and_layout_match_cv2_dnn_blob():
    rng = np.random.default_rng(5)
    bgr = rng.integers(0, 256, (17, 23, 3), dtype=np.uint8)
    mean = (104.0, 117.0, 123.0)
    blob = cv2.dnn.blobFromImage(bgr, 1 / 255, (23, 17), mean, swapRB=True, crop=False)
    # blobFromImage swaps to RGB first, then subtracts mean (given in the swapped order), then scales
    rgb = bgr[..., ::-1]
    ours = normalize(rgb, make_step({"op": "normalize", "dtype": "float32", "compute_dtype": "float32",
                                     "scale": 1 / 255, "mean": list(mean), "order": "mean_first"}))
    ours = layout(ours, make_step({"op": "layout", "layout": "chw", "batch": True}))
    assert ours.shape == blob.shape == (1, 3, 17, 23)
    d = np.abs(ours.astype(np.float64) - blob)
    print(f"normalize(mean_first, float32) vs cv2.dnn.blobFromImage: max {d.max():.3g}")
    assert d.max() <= 1e-6


def test_torchvision_imagenet_divides_by_255_in_float32():
    x = np.arange(256, dtype=np.uint8).reshape(16, 16, 1).repeat(3, axis=2)
    out = normalize(x, make_step({"op": "normalize", "preset": "torchvision.imagenet"}))
    f = x.astype(np.float32) / np.float32(255)
    expected = (f - np.array([0.485, 0.456, 0.406], np.float32)) / np.array([0.229, 0.224, 0.225], np.float32)
    assert out.dtype == np.float32 and np.array_equal(out, expected)
    # multiplying by 1/255 instead is not the same in float32: the divisor knob matters
    g = x.astype(np.float32) * np.float32(1 / 255)
    assert np.count_nonzero(g != f) > 0


def test_normalize_float64_exact_and_ranges():
    x = np.array([[[0, 255, 128]]], dtype=np.uint8)
    out = normalize(x, make_step({"op": "normalize", "preset": "symmetric", "dtype": "float64"}))
    assert out[0, 0].tolist() == [-1.0, 1.0, 128 / 127.5 - 1]


@settings(max_examples=40, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 6), st.integers(1, 6), st.integers(1, 4))),
       st.booleans())
def test_layout_chw_is_a_transpose_and_reverse_twice_is_identity(a, batch):
    out = layout(a, make_step({"op": "layout", "layout": "chw", "batch": batch}))
    core = out[0] if batch else out
    assert np.array_equal(np.transpose(core, (1, 2, 0)), a)
    rev = make_step({"op": "layout", "layout": "hwc", "batch": False, "channel_order": "reverse"})
    assert np.array_equal(layout(layout(a, rev), rev), a)


@settings(max_examples=40, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 8), st.integers(1, 8), st.just(3))),
       st.integers(0, 3), st.integers(0, 3), st.integers(0, 3), st.integers(0, 3))
def test_pad_then_box_crop_is_identity(a, t, b, l, r):
    padded = pad(a, make_step({"op": "pad", "top": t, "bottom": b, "left": l, "right": r, "mode": "edge"}))
    back = crop(padded, make_step({"op": "crop", "mode": "box", "top": t, "left": l,
                                   "height": a.shape[0], "width": a.shape[1]}))
    assert np.array_equal(back, a)
