"""``arithmetic="tensorflow"`` and the ``tf.*`` resize presets against TensorFlow itself.

1. Every ``tf.<method>[.antialias]`` preset is ``tf.image.resize(image, size, method, antialias)``
   bit for bit (float32 output; nearest keeps the dtype): on seeded random images (1, 3 and 4
   channels, uint8 and float32, up, down, mixed, unchanged sizes, large reductions) and on the
   full-size photographs resized to 224x224 and to a shorter side of 256.
2. The ``tensorflow`` harness runs those steps through TF (equal to the reference), rounds back
   when ``output_dtype="input"`` asks, and names what TF cannot express.
3. The knob checks: TF's arithmetic refuses values TF has not, other arithmetics refuse TF's own
   filters and a float32 output from fixed-point weights.

Metric: max abs difference per element; 0 everywhere (TF's resize is float32 code whose roundings
the reference transcribes; see reference/resize/tensorflow.py).
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

tf = pytest.importorskip("conformance.harnesses.tensorflow").tf  # triton first (see the harness)

from conformance.corpus import photo  # noqa: E402
from conformance.errors import SpecError  # noqa: E402
from conformance.harnesses import load  # noqa: E402
from conformance.presets import RESIZE_PRESETS, preset_knobs  # noqa: E402
from conformance.reference.pipeline import check_pipeline  # noqa: E402
from conformance.reference.resize import resize  # noqa: E402
from conformance.spec import Resize, make_step, pipeline_from_dict  # noqa: E402

TF_PRESETS = sorted(name for name in RESIZE_PRESETS if name.startswith("tf."))


def _method(name: str) -> tuple[str, bool]:
    parts = name.split(".")
    return parts[1], parts[-1] == "antialias"


def _step(name: str, **size) -> Resize:
    return make_step({"op": "resize", "preset": name, **size})


def _tf(image: np.ndarray, name: str, out_h: int, out_w: int) -> np.ndarray:
    method, antialias = _method(name)
    return tf.image.resize(image, (out_h, out_w), method=method, antialias=antialias).numpy()


def _diff(a: np.ndarray, b: np.ndarray) -> float:
    assert a.dtype == b.dtype and a.shape == b.shape, (a.dtype, a.shape, b.dtype, b.shape)
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).max()) if a.size else 0.0


def _random_cases(seed: int, n: int):
    rng = np.random.default_rng(seed)
    for k in range(n):
        h, w = (int(v) for v in rng.integers(1, 48, 2))
        shape = rng.integers(0, 4)
        if shape == 0:  # a large reduction: long spans, antialias kernels of many taps
            h, w = int(rng.integers(150, 260)), int(rng.integers(150, 260))
            oh, ow = int(rng.integers(3, 20)), int(rng.integers(3, 20))
        elif shape == 1:  # unchanged size: resampled by TF all the same
            oh, ow = h, w
        else:
            oh, ow = (int(v) for v in rng.integers(1, 72, 2))
        c = int(rng.choice([1, 3, 4]))
        if k % 3 == 2:
            image = (rng.random((h, w, c), dtype=np.float32) * 255).astype(np.float32)
        else:
            image = rng.integers(0, 256, (h, w, c), dtype=np.uint8)
        yield image, oh, ow


@pytest.mark.parametrize("name", TF_PRESETS)
def test_each_tf_preset_is_tf_image_resize_bit_for_bit_on_random_images(name):
    worst = 0.0
    for image, oh, ow in _random_cases(seed=zlib.crc32(name.encode()), n=24):
        ref = resize(image, _step(name, height=oh, width=ow))
        worst = max(worst, _diff(ref, _tf(image, name, oh, ow)))
    assert worst == 0.0, f"{name}: max difference {worst}"


@pytest.mark.parametrize("photo_name", ["astronaut", "chelsea", "coffee"])
def test_the_tf_presets_are_tf_on_the_photographs(photo_name):
    image = photo(photo_name, 1)
    h, w = image.shape[:2]
    short = 256
    sh, sw = (short, round(w * short / h)) if h <= w else (round(h * short / w), short)
    worst = {}
    for name in TF_PRESETS:
        for oh, ow in ((224, 224), (sh, sw)):
            ref = resize(image, _step(name, height=oh, width=ow))
            worst[name] = max(worst.get(name, 0.0), _diff(ref, _tf(image, name, oh, ow)))
    assert all(v == 0.0 for v in worst.values()), {k: v for k, v in worst.items() if v}


def test_tf_outputs_are_float32_unclipped_and_nearest_keeps_the_dtype():
    rng = np.random.default_rng(3)
    image = np.where(rng.random((20, 20, 1)) < 0.5, 0, 255).astype(np.uint8)  # hard edges ring
    out = resize(image, _step("tf.lanczos3", height=37, width=29))
    assert out.dtype == np.float32 and out.min() < 0 and out.max() > 255
    assert resize(image, _step("tf.nearest", height=37, width=29)).dtype == np.uint8
    # an unchanged size is resampled: gaussian blurs, bilinear is a cast
    blurred = resize(image, _step("tf.gaussian", height=20, width=20))
    assert _diff(blurred, image.astype(np.float32)) > 1
    assert _diff(resize(image, _step("tf.bilinear", height=20, width=20)), image.astype(np.float32)) == 0


@pytest.fixture(scope="module")
def harness():
    return load("tensorflow")


@pytest.mark.parametrize("name", ["tf.bilinear", "tf.bilinear.antialias", "tf.bicubic", "tf.area",
                                  "tf.lanczos5.antialias", "tf.nearest", "tf.mitchellcubic"])
def test_the_harness_runs_tf_image_resize(harness, name):
    rng = np.random.default_rng(11)
    image = rng.integers(0, 256, (31, 45, 3), dtype=np.uint8)
    step = _step(name, shorter_side=17)
    assert harness.check(step.knobs()) is None
    got = harness.run(step.knobs(), image)
    assert _diff(resize(image, step), got) == 0.0


@pytest.mark.parametrize("rounding", ["half_even", "half_up", "half_away", "truncate"])
def test_the_harness_rounds_back_as_the_step_asks(harness, rounding):
    rng = np.random.default_rng(5)
    image = rng.integers(0, 256, (23, 19, 3), dtype=np.uint8)
    step = make_step({"op": "resize", "preset": "tf.bicubic.antialias", "height": 11, "width": 40,
                      "output_dtype": "input", "rounding": rounding})
    ref = resize(image, step)
    assert ref.dtype == np.uint8
    assert _diff(ref, harness.run(step.knobs(), image)) == 0.0


@pytest.mark.parametrize("knobs, words", [
    ({"filter": "box"}, "no filter 'box'"),
    ({"filter": "hamming"}, "no filter 'hamming'"),
    ({"filter": "lanczos", "lobes": 4}, "lanczos with lobes=4"),
    ({"coords": "align_corners"}, "half-pixel centres only"),
])
def test_the_harness_names_what_tf_resize_cannot_express(harness, knobs, words):
    step = {**_step("tf.bilinear", height=4, width=4).knobs(), **knobs}
    reason = harness.check(step)
    assert reason and words in reason


@pytest.mark.parametrize("knobs, field", [
    ({"preset": "tf.bicubic", "cubic_a": -0.75}, "cubic_a"),
    ({"preset": "tf.lanczos3", "lobes": 4}, "lobes"),
    ({"preset": "tf.bilinear", "coords": "align_corners"}, "coords"),
    ({"preset": "tf.bilinear", "filter": "hamming"}, "filter"),
    ({"preset": "pillow.bilinear", "filter": "mitchell"}, "filter"),
    ({"preset": "pillow.bilinear", "output_dtype": "float32"}, "output_dtype"),
    ({"preset": "opencv.linear", "output_dtype": "float32"}, "output_dtype"),
])
def test_knobs_tf_or_the_arithmetic_cannot_compute_are_refused_before_any_input(knobs, field):
    pipeline = pipeline_from_dict({"id": "p", "steps": [{"op": "resize", "height": 8, "width": 8, **knobs}]})
    with pytest.raises(SpecError) as e:
        check_pipeline(pipeline)
    assert e.value.field == field


def test_float32_output_of_float_arithmetic_is_the_unrounded_value():
    """output_dtype=float32 on a float64 preset: the exact convolution rounded once to float32,
    so it lies within half a level of the preset's integer output, and rounds to it wherever it
    is not within float32's precision of a tie (onnx.* round half to even)."""
    rng = np.random.default_rng(8)
    image = rng.integers(0, 256, (30, 41, 3), dtype=np.uint8)
    for name in ("onnx.linear.half_pixel", "onnx.cubic.half_pixel.antialias"):
        ints = resize(image, _step(name, height=13, width=57))
        floats = resize(image, make_step({"op": "resize", "preset": name, "height": 13, "width": 57,
                                          "output_dtype": "float32"}))
        assert floats.dtype == np.float32
        assert np.abs(floats.astype(np.float64) - ints).max() <= 0.5 + 1e-4
        clear = np.abs(np.abs(floats - np.floor(floats)) - 0.5) > 1e-3
        assert clear.mean() > 0.9
        assert np.array_equal(np.clip(np.rint(floats), 0, 255).astype(np.uint8)[clear], ints[clear])
        assert not np.array_equal(floats, np.rint(floats))  # not rounded


def test_preset_knobs_are_complete_for_every_tf_method():
    methods = {_method(name)[0] for name in TF_PRESETS}
    assert methods == {"bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5", "gaussian",
                       "mitchellcubic"}
    for name in TF_PRESETS:
        knobs = preset_knobs("resize", name)
        assert knobs["arithmetic"] == "tensorflow" and knobs["antialias"] == name.endswith(".antialias")
