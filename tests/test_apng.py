"""The decode knob ``apng_frame``: ``default`` is the IDAT image (Pillow's Image.open, libpng),
``first`` the animation's first frame as OpenCV 5's imdecode returns it (issue 19, item 4).
Oracles: cv2.imdecode and PIL.Image.open on APNGs written by our encoder and by Pillow."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from conformance.encoders.png import encode_apng
from conformance.errors import UnsupportedFeature
from conformance.reference.decode import decode_image
from conformance.spec import make_step

RNG = np.random.default_rng(7)
# (colour type, channels, bit depth, cv2 flag that returns the samples as they are)
TYPES = [(2, 3, 8), (6, 4, 8), (0, 1, 8), (2, 3, 16), (0, 1, 16), (6, 4, 16)]


def _img(h, w, c, depth):
    return RNG.integers(0, (1 << depth) - 1, (h, w, c)).astype(np.uint16 if depth == 16 else np.uint8)


def _unchanged(data: bytes) -> np.ndarray:
    out = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    out = out.reshape(out.shape[0], out.shape[1], -1)
    return np.concatenate([out[..., 2::-1], out[..., 3:]], axis=2) if out.shape[2] >= 3 else out


def _cases():
    for ct, c, depth in TYPES:
        d, full, part = _img(7, 9, c, depth), _img(7, 9, c, depth), _img(3, 4, c, depth)
        for default_is_frame in (True, False):
            for frames in ([(full, 0, 0)], [(part, 2, 1)], [(full, 0, 0), (part, 2, 1)],
                           [(part, 2, 1), (full, 0, 0)], [(part, 5, 4), (part, 0, 0)]):
                name = f"ct{ct}.{depth}bit.{'default' if default_is_frame else 'hidden'}.{len(frames)}"
                yield name, encode_apng(d, frames, colour_type=ct, bit_depth=depth,
                                        default_is_frame=default_is_frame), d


CASES = list(_cases())
UNCHANGED = {"output": "unchanged", "alpha": "keep", "trns": "apply", "depth16": "keep",
             "orientation": "ignore"}


@pytest.mark.parametrize("name,data,default", CASES, ids=[c[0] for c in CASES])
def test_first_frame_equals_opencv(name, data, default):
    got = decode_image(data, make_step({"op": "decode", **UNCHANGED, "apng_frame": "first"}))
    assert np.array_equal(got, _unchanged(data))


@pytest.mark.parametrize("name,data,default", CASES, ids=[c[0] for c in CASES])
def test_default_image_equals_pillow(name, data, default):
    got = decode_image(data, make_step({"op": "decode", **UNCHANGED, "apng_frame": "default"}))
    assert np.array_equal(got, default)
    if default.dtype == np.uint8:
        assert np.array_equal(np.asarray(Image.open(io.BytesIO(data))).reshape(got.shape), got)


def test_the_presets_differ_where_the_libraries_do():
    """OpenCV 5 returns the first animation frame, Pillow the default image: up to 255 levels."""
    ims = [Image.fromarray(np.full((6, 8, 3), v, np.uint8)) for v in (10, 100, 200)]
    buf = io.BytesIO()
    ims[0].save(buf, "PNG", save_all=True, append_images=ims[1:], default_image=True, duration=50)
    data = buf.getvalue()
    cv = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert np.array_equal(decode_image(data, make_step({"op": "decode", "preset": "opencv"})), cv)
    pil = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    assert np.array_equal(decode_image(data, make_step({"op": "decode", "preset": "pillow"})), pil)
    assert int(np.abs(cv[..., ::-1].astype(int) - pil).max()) == 90


def test_palette_first_frame_smaller_than_the_canvas_is_unsupported():
    pal = np.array([[255, 0, 0], [0, 255, 0]], np.uint8)
    d = np.zeros((4, 4, 1), np.uint8)
    data = encode_apng(d, [(np.ones((2, 2, 1), np.uint8), 1, 1), (d, 0, 0)], colour_type=3,
                       default_is_frame=False, palette=pal)
    with pytest.raises(UnsupportedFeature, match="palette APNG"):
        decode_image(data, make_step({"op": "decode", "apng_frame": "first"}))
    assert decode_image(data, make_step({"op": "decode"})).shape == (4, 4, 3)
