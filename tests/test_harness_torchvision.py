"""The torchvision harnesses (``conformance.harnesses.torchvision``) and the
``torchvision.tensor.*`` resize presets, against torch itself and the reference.

1. Presets: ``torchvision.tensor.bilinear`` / ``.bicubic`` / ``.lanczos`` reproduce
   ``torch.nn.functional.interpolate(uint8, antialias=True)`` bit for bit on a grid of sizes (up
   and down, several scale factors, one axis unchanged) on photos and noise with 1, 3 and 4
   channels; ``bilinear`` with ``antialias=false`` reproduces the non-antialiased uint8 kernel.
   Non-antialiased bicubic is *not* reproduced by any knob set (pinned with its measured gap).
2. Each harness maps the intent knobs to the torchvision call (resize, crop, pad, letterbox,
   normalize, layout, decode) and reproduces the reference where the knobs are torchvision's;
   unsupported intents say why.
3. The float harness resizes uint8 in float32 and rounds back: within 1 LSB of the
   reference's float64 resize rounded half to even (float32 sums can land on the other side of
   a .5), and different from the uint8 kernel (it has no uint8 intermediate).

Metric everywhere: max abs difference per element; 0 unless a test says otherwise and why.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")

from conformance.corpus import photo  # noqa: E402
from conformance.encoders.png import encode_png  # noqa: E402
from conformance.harnesses import load  # noqa: E402
from conformance.harnesses.base import Unsupported  # noqa: E402
from conformance.presets import preset_knobs  # noqa: E402
from conformance.reference.pipeline import run_step  # noqa: E402
from conformance.spec import make_step  # noqa: E402

PRESETS = {"torchvision.tensor.bilinear": "bilinear", "torchvision.tensor.bicubic": "bicubic",
           "torchvision.tensor.lanczos": "lanczos"}
# (out_h / in_h, out_w / in_w): down, up, mixed, one axis unchanged, strong reductions
SCALES = [(0.5, 0.5), (0.37, 0.61), (1.0, 0.3), (0.3, 1.0), (2.0, 2.0), (1.7, 0.45), (0.9, 1.3),
          (3.1, 2.3), (0.11, 0.13), (1.0, 1.5), (0.75, 0.75), (0.25, 0.5)]


def _images() -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    return [photo("astronaut")[:61, :64], photo("chelsea"), photo("coffee")[3:47, 5:75],
            rng.integers(0, 256, (23, 31, 3), dtype=np.uint8),
            rng.integers(0, 256, (29, 37, 1), dtype=np.uint8),
            rng.integers(0, 256, (19, 26, 4), dtype=np.uint8)]


def _torch_resize(img: np.ndarray, oh: int, ow: int, mode: str, antialias: bool) -> np.ndarray:
    t = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))[None]
    out = torch.nn.functional.interpolate(t, size=(oh, ow), mode=mode, antialias=antialias,
                                          align_corners=False)
    return out[0].permute(1, 2, 0).numpy()


def _grid():
    for img in _images():
        h, w = img.shape[:2]
        for fh, fw in SCALES:
            yield img, max(1, round(h * fh)), max(1, round(w * fw))


def _worst(preset: str, mode: str, antialias: bool, **override) -> tuple[int, float, int]:
    """(max abs difference, fraction of differing values, number of resizes) over the grid."""
    worst, differ, total, n = 0, 0, 0, 0
    for img, oh, ow in _grid():
        step = make_step({"op": "resize", "preset": preset, "height": oh, "width": ow,
                          "antialias": antialias, **override})
        d = np.abs(run_step(step, img).astype(int) - _torch_resize(img, oh, ow, mode, antialias))
        worst, differ, total, n = max(worst, int(d.max())), differ + int((d > 0).sum()), total + d.size, n + 1
    return worst, differ / total, n


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_preset_is_torch_uint8_antialiased_interpolate_bit_for_bit(preset):
    worst, _, n = _worst(preset, PRESETS[preset], True)
    assert n == len(SCALES) * len(_images())
    assert worst == 0


def test_bilinear_preset_without_antialias_is_torch_uint8_bilinear():
    worst, _, _ = _worst("torchvision.tensor.bilinear", "bilinear", False)
    assert worst == 0


def test_the_preset_is_not_pillow():
    """Same windows as Pillow, different weight precision (int16 at a per-axis precision vs
    Pillow's 22 bits): the presets are not interchangeable."""
    knobs = preset_knobs("resize", "pillow.bicubic")
    knobs = {k: v for k, v in knobs.items() if k != "preset"}
    worst, _, _ = _worst("torchvision.tensor.bicubic", "bicubic", True, **{
        "arithmetic": knobs["arithmetic"], "pass_order": knobs["pass_order"]})
    assert worst >= 1


def test_non_antialiased_bicubic_is_not_reproduced():
    """torch's uint8 bicubic without antialias (a = -0.75, four fixed taps, int16 weights) is
    closest to the onnx-like knobs below, but clamps the source coordinate at the top/left
    border (lambda = 0 for x < 0) and weights it its own way: measured max 2 LSB on 0.4 % of
    values. No preset claims it; the gap is pinned so a knob that closes it shows up here."""
    worst, frac, _ = _worst("torchvision.tensor.bicubic", "bicubic", False, cubic_a=-0.75,
                            border="clamp", window="centered")
    assert 1 <= worst <= 2 and frac < 0.01


# --- the harnesses ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tensor():
    return load("torchvision-tensor")


@pytest.fixture(scope="module")
def floating():
    return load("torchvision-float")


@pytest.fixture(scope="module")
def pil():
    return load("torchvision-pil")


def _knobs(raw: dict) -> dict:
    return make_step(raw).knobs()


def test_versions_name_torch_and_torchvision(tensor):
    import importlib.metadata

    v = tensor.versions()
    assert v["torch"] == importlib.metadata.version("torch")
    assert v["torchvision"] == importlib.metadata.version("torchvision")


@pytest.mark.parametrize("name, raw, words", [
    ("torchvision-tensor", {"op": "resize", "preset": "pillow.box", "height": 4, "width": 4}, "box"),
    ("torchvision-float", {"op": "resize", "preset": "pillow.hamming", "height": 4, "width": 4}, "hamming"),
    ("torchvision-pil", {"op": "resize", "preset": "opencv.area", "height": 4, "width": 4}, "INTER_AREA"),
    ("torchvision-tensor", {"op": "resize", "preset": "image.gaussian", "height": 4, "width": 4}, "Gaussian"),
    ("torchvision-tensor", {"op": "color", "conversion": "rgb_to_ycbcr"}, "YCbCr"),
    ("torchvision-pil", {"op": "color", "conversion": "rgb_to_gray", "gray_coefficients": "bt709"}, "BT.709"),
])
def test_unsupported_intents_say_why(name, raw, words):
    harness = load(name)
    step = _knobs(raw)
    assert words in harness.check(step)
    with pytest.raises(Unsupported):
        harness.run(step, np.zeros((8, 8, 3), np.uint8))


def test_pil_harness_has_pillow_filters(pil):
    step = _knobs({"op": "resize", "preset": "pillow.box", "height": 5, "width": 6})
    assert pil.check(step) is None and "BOX" in pil.describe(step)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_tensor_harness_resize_is_the_preset(tensor, preset):
    for img in _images()[:3]:
        step = _knobs({"op": "resize", "preset": preset, "shorter_side": 37})
        np.testing.assert_array_equal(tensor.run(step, img), run_step(make_step(step), img))
        assert "InterpolationMode." + PRESETS[preset].upper() in tensor.describe(step)


@pytest.mark.parametrize("preset", ["pillow.bilinear", "pillow.bicubic", "pillow.lanczos", "pillow.box",
                                    "pillow.nearest"])
def test_pil_harness_resize_is_pillow(pil, preset):
    img = photo("chelsea")
    step = _knobs({"op": "resize", "preset": preset, "height": 31, "width": 90})
    np.testing.assert_array_equal(pil.run(step, img), run_step(make_step(step), img))


def test_float_harness_resizes_in_float_and_rounds_back(floating, tensor):
    img = photo("astronaut")
    differs_from_uint8 = 0
    for oh, ow in [(23, 29), (100, 90), (64, 17)]:
        step = _knobs({"op": "resize", "preset": "torchvision.tensor.bicubic", "height": oh, "width": ow})
        got = floating.run(step, img)
        assert got.dtype == np.uint8
        exact = run_step(make_step({**step, "arithmetic": "float64", "intermediate": "exact"}),
                         img.astype(np.float64))
        want = np.clip(np.round(exact), 0, 255)
        # 1 LSB: float32 sums may round a value within ~1e-5 of .5 the other way
        assert np.abs(got.astype(int) - want).max() <= 1
        assert (got != want).mean() < 0.001
        differs_from_uint8 += int(np.any(got != tensor.run(step, img)))
    assert differs_from_uint8  # no uint8 between the passes, float weights: not the uint8 kernel


def test_float_input_is_resized_unclamped(tensor):
    img = np.where(np.indices((20, 24)).sum(0) % 5 == 0, 255.0, 0.0)[..., None].astype(np.float32)
    step = _knobs({"op": "resize", "preset": "torchvision.tensor.bicubic", "height": 47, "width": 51})
    out = tensor.run(step, img)
    assert out.dtype == np.float32 and out.min() < 0 and out.max() > 255


@pytest.mark.parametrize("h, w, ch, cw", [(11, 13, 4, 4), (10, 12, 4, 5), (5, 8, 9, 4), (5, 5, 8, 8)])
def test_crop_is_torchvision_center_crop_convention(tensor, pil, h, w, ch, cw):
    img = ((np.arange(h * w * 3).reshape(h, w, 3) * 5) % 253 + 1).astype(np.uint8)
    step = _knobs({"op": "crop", "height": ch, "width": cw, "offset_rounding": "round",
                   "if_smaller": "pad", "pad_extra": "after"})
    want = run_step(make_step(step), img)
    np.testing.assert_array_equal(tensor.run(step, img), want)
    np.testing.assert_array_equal(pil.run(step, img), want)


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect"])
def test_pad_modes(tensor, pil, mode):
    img = photo("coffee")[:9, :11]
    step = _knobs({"op": "pad", "top": 2, "bottom": 3, "left": 4, "right": 1, "mode": mode,
                   "value": [10, 20, 30]})
    want = run_step(make_step(step), img)
    np.testing.assert_array_equal(tensor.run(step, img), want)
    np.testing.assert_array_equal(pil.run(step, img), want)


def test_letterbox_floor_offsets(tensor):
    img = photo("coffee")[:9, :11]
    step = _knobs({"op": "letterbox", "height": 16, "width": 14, "offset_rounding": "floor", "value": [114]})
    np.testing.assert_array_equal(tensor.run(step, img), run_step(make_step(step), img))


@pytest.mark.parametrize("name", ["torchvision-tensor", "torchvision-pil", "torchvision-float"])
def test_normalize_is_v2_to_dtype_then_normalize(name):
    """F.to_dtype(scale=True) multiplies by float32(1/255): the knobs scale=1/255 in float32,
    bit for bit on every uint8 value (tests/test_knob_oracles.py pins the library side)."""
    v = np.arange(256, dtype=np.uint8).reshape(16, 16)
    img = np.stack([v, v.T, v[::-1]], axis=2)
    step = _knobs({"op": "normalize", "preset": "torchvision.imagenet", "divisor": None,
                   "scale": 1 / 255})
    got = load(name).run(step, img)
    want = run_step(make_step(step), img)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got.view(np.int32), want.view(np.int32))


def test_layout(tensor):
    img = photo("coffee")[:5, :7]
    step = _knobs({"op": "layout", "layout": "chw", "batch": True, "channel_order": "reverse"})
    np.testing.assert_array_equal(tensor.run(step, img), run_step(make_step(step), img))


@pytest.mark.parametrize("orientation", [1, 6])
def test_decode_png_and_exif_orientation(tensor, pil, orientation):
    img = photo("coffee")[:6, :10]
    data = encode_png(img, colour_type=2, bit_depth=8, exif_orientation=orientation)
    for apply in ("apply", "ignore"):
        step = _knobs({"op": "decode", "output": "rgb", "orientation": apply})
        want = run_step(make_step(step), data)
        np.testing.assert_array_equal(tensor.run(step, data), want)
        np.testing.assert_array_equal(pil.run(step, data), want)


def test_decode_bgr_gray16_and_alpha(tensor):
    rgba = np.dstack([photo("coffee")[:6, :10], np.full((6, 10, 1), 77, np.uint8)])
    data = encode_png(rgba, colour_type=6, bit_depth=8)
    keep = _knobs({"op": "decode", "output": "bgr", "alpha": "keep"})
    out = tensor.run(keep, data)
    np.testing.assert_array_equal(out, np.dstack([rgba[..., 2::-1], rgba[..., 3:]]))
    gray16 = (np.arange(30, dtype=np.uint16).reshape(5, 6) * 2000)
    data16 = encode_png(gray16, colour_type=0, bit_depth=16)
    kept = tensor.run(_knobs({"op": "decode", "output": "unchanged", "depth16": "keep"}), data16)
    np.testing.assert_array_equal(kept[..., 0].astype(np.uint16), gray16)
    shifted = tensor.run(_knobs({"op": "decode", "output": "unchanged", "depth16": "shift"}), data16)
    np.testing.assert_array_equal(shifted[..., 0], (gray16 >> 8).astype(np.uint8))
