"""The harnesses against the reference on the knobs added for the transformers/timm presets.

- crop ``if_smaller="pad"`` (intent): every harness pads the axes shorter than the window with
  ``value`` (per channel too), the odd pixel where ``pad_extra`` says, and crops the other axis.
  The offset of the *cropped* axis is each library's behaviour (OpenCV and Rust: floor; Pillow:
  round half to even; ONNX graphs: ``offset_rounding``), so every case is compared with the
  reference at that harness's own ``offset_rounding``: the test isolates the padding.
- resize ``size_formula`` / ``max_size`` (intent): the output shape equals the reference's for
  every (H, W) of a grid (Python harnesses through ``base.resize_target``, the Rust engines
  through ``step.rs resize_target``, the ONNX graphs' ``sizes``).
- normalize ``order="fused"`` / ``scale_dtype="float64"``: the ONNX graphs and the Rust engines
  build the arithmetic themselves, so ONNX Runtime and the Rust engines must equal the reference
  bit for bit on every uint8 value in each of 3 channels with CLIP's mean/std (tract runs the
  same graphs within its optimiser's rounding, a bound). OpenCV and Pillow run a
  fixed recipe (behaviour): the test asserts what their module docstrings say they compute, and
  that this is *not* the reference's new arithmetic, so nobody reads their score as exact.
"""

from __future__ import annotations

import numpy as np
import pytest

from conformance.harnesses import load
from conformance.reference.pipeline import run_step
from conformance.spec import make_step

CROP_HARNESSES = ("opencv", "pillow", "onnxruntime", "rust-image", "rust-fir", "tract")
# The centre offset each harness computes on a cropped axis (its behaviour, module docstrings).
OFFSET_BEHAVIOUR = {"opencv": "floor", "pillow": "round", "rust-image": "floor",
                    "rust-fir": "floor"}
GRAPH_HARNESSES = ("onnxruntime", "tract")

# CLIP's mean/std (openai/clip-vit-base-patch32 preprocessor_config.json), rescale 1/255.
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
RESCALE_FACTOR = 0.00392156862745098  # transformers' rescale_factor: 1/255 as JSON stores it


@pytest.fixture(scope="module")
def harnesses():
    return {name: load(name) for name in CROP_HARNESSES}


def _image(h: int, w: int, c: int, dtype=np.uint8) -> np.ndarray:
    """Distinct readable samples: 1 + 10·y + x + 50·k (k the channel), never the fill value."""
    y, x, k = np.meshgrid(np.arange(h), np.arange(w), np.arange(c), indexing="ij")
    return (1 + 10 * y + x + 50 * k).astype(dtype)


def _show(a: np.ndarray) -> str:
    return "\n".join(" ".join(f"{v:4g}" for v in row) for row in a[..., 0])


# ---------------------------------------------------------------------------------------------
# crop if_smaller="pad"
# ---------------------------------------------------------------------------------------------

# (image h, w, c), (window h, w), value: one axis padded and one cropped, odd and even, both axes
# padded, one axis exactly the window.
CROP_CASES = [
    ((4, 9, 3), (7, 4), (0,)),          # rows +3 (odd), columns crop 5 (odd)
    ((4, 9, 3), (8, 5), (7, 8, 9)),     # rows +4 (even), columns crop 4 (even); per-channel fill
    ((9, 4, 3), (4, 7), (255,)),        # columns +3, rows crop 5
    ((3, 2, 3), (6, 5), (10, 20, 30)),  # both padded: +3 and +3
    ((5, 5, 1), (5, 8), (3,)),          # rows exact, columns +3; one channel
    ((2, 6, 1), (5, 6), (0,)),          # rows +3, columns exact
]


def _crop_step(window, value, pad_extra, offset_rounding):
    return make_step({"op": "crop", "height": window[0], "width": window[1], "if_smaller": "pad",
                      "pad_extra": pad_extra, "value": value, "offset_rounding": offset_rounding})


@pytest.mark.parametrize("name", CROP_HARNESSES)
@pytest.mark.parametrize("pad_extra", ["after", "before"])
def test_crop_pads_short_axes_like_the_reference(harnesses, name, pad_extra):
    rules = [OFFSET_BEHAVIOUR[name]] if name in OFFSET_BEHAVIOUR else ["floor", "round", "round_half_up"]
    for shape, window, value in CROP_CASES:
        image = _image(*shape)
        for rule in rules:
            step = _crop_step(window, value, pad_extra, rule)
            expected = run_step(step, image)
            got = harnesses[name].run(step.knobs(), image)
            assert got.dtype == expected.dtype and got.shape == expected.shape, (shape, window)
            assert np.array_equal(got, expected), (
                f"{name} {shape} -> {window} pad_extra={pad_extra} offset={rule} value={value}\n"
                f"got:\n{_show(got)}\nexpected:\n{_show(expected)}")


def test_the_odd_pixel_goes_where_pad_extra_says():
    """The reference itself, by hand, so the comparisons above cannot agree on a wrong answer:
    a 1x1 image in a 4x1 window (3 rows of padding)."""
    image = np.full((1, 1, 1), 9, np.uint8)
    after = run_step(_crop_step((4, 1), (0,), "after", "floor"), image)[:, 0, 0]
    before = run_step(_crop_step((4, 1), (0,), "before", "floor"), image)[:, 0, 0]
    assert after.tolist() == [0, 9, 0, 0] and before.tolist() == [0, 0, 9, 0]


@pytest.mark.parametrize("name", CROP_HARNESSES)
def test_crop_pad_on_float_images(harnesses, name):
    image = _image(3, 6, 3, np.float32) / np.float32(7)
    rule = OFFSET_BEHAVIOUR.get(name, "round")
    step = _crop_step((6, 3), (0.5, 0.25, 1.0), "before", rule)
    expected = run_step(step, image)
    got = harnesses[name].run(step.knobs(), image)
    assert got.dtype == expected.dtype and np.array_equal(got, expected)


@pytest.mark.parametrize("name", [n for n in CROP_HARNESSES if n != "pillow"])
def test_crop_larger_than_the_image_still_fails_without_pad(harnesses, name):
    step = make_step({"op": "crop", "height": 5, "width": 3})
    with pytest.raises(Exception):
        harnesses[name].run(step.knobs(), _image(4, 4, 3))


def test_pillow_crop_without_pad_keeps_its_zero_fill(harnesses):
    """Pillow harness docstring: Image.crop fills a box outside the image with zeros (its
    behaviour) instead of failing: top = round(-1/2) = 0, so the missing row is the last."""
    got = harnesses["pillow"].run(make_step({"op": "crop", "height": 5, "width": 3}).knobs(),
                                  _image(4, 4, 3))
    assert got.shape == (5, 3, 3) and not got[4].any() and got[:4].all()


# ---------------------------------------------------------------------------------------------
# resize size_formula / max_size
# ---------------------------------------------------------------------------------------------

# Size knobs: torchvision/transformers (product, floor, max_size), timm ResizeKeepRatio (ratio,
# every rounding), longer_side with ratio, ratio with max_size.
SIZE_KNOBS = [
    {"shorter_side": 7, "max_size": 9, "size_rounding": "floor"},
    {"shorter_side": 6, "max_size": 13, "size_rounding": "round"},
    {"shorter_side": 7, "size_formula": "ratio", "size_rounding": "round"},
    {"shorter_side": 7, "size_formula": "ratio", "size_rounding": "ceil"},
    {"shorter_side": 5, "size_formula": "ratio", "size_rounding": "floor"},
    {"shorter_side": 9, "size_formula": "ratio", "size_rounding": "round_half_up"},
    {"longer_side": 8, "size_formula": "ratio", "size_rounding": "round"},
    {"shorter_side": 6, "size_formula": "ratio", "max_size": 10, "size_rounding": "round"},
]
# (H, W): portrait, landscape, square, extreme ratios, 1-pixel sides, and 3x1 where the ratio
# 1/49 is inexact (see SIZE_KNOBS_INEXACT).
SIZE_GRID = [(h, w) for h in (1, 3, 5, 8, 13) for w in (1, 4, 7, 11, 20)] + [(3, 1), (1, 3), (22, 9)]
# r = 1/49 in float64 makes 1/r = 49.00000000000001: ceil gives a target side of 50 (timm's
# arithmetic), the product formula keeps 49.
SIZE_KNOBS_INEXACT = [{"shorter_side": 49, "size_formula": "ratio", "size_rounding": "ceil"},
                      {"shorter_side": 49, "size_rounding": "ceil"}]


def _resize_step(knobs):
    return make_step({"op": "resize", "filter": "triangle", **knobs})


@pytest.mark.parametrize("name", CROP_HARNESSES)
def test_resize_output_sizes_follow_the_reference(harnesses, name):
    # tract compiles one plan per graph: a smaller grid keeps it fast (the sizes come from the
    # same onnx_graphs code as ONNX Runtime's).
    grid = SIZE_GRID if name != "tract" else SIZE_GRID[::4]
    mismatches = []
    for knobs in SIZE_KNOBS:
        step = _resize_step(knobs)
        for h, w in grid:
            image = _image(h, w, 3)
            expected = run_step(step, image).shape
            got = harnesses[name].run(step.knobs(), image).shape
            if got != expected:
                mismatches.append(f"{knobs} {h}x{w}: got {got}, reference {expected}")
    assert not mismatches, "\n".join(mismatches)


@pytest.mark.parametrize("name", CROP_HARNESSES)
def test_resize_ratio_reproduces_timms_inexact_target_side(harnesses, name):
    image = _image(1, 3, 3)
    ratio, product = (harnesses[name].run(_resize_step(k).knobs(), image).shape for k in SIZE_KNOBS_INEXACT)
    assert ratio == run_step(_resize_step(SIZE_KNOBS_INEXACT[0]), image).shape == (50, 147, 3)
    assert product == run_step(_resize_step(SIZE_KNOBS_INEXACT[1]), image).shape == (49, 147, 3)


# ---------------------------------------------------------------------------------------------
# normalize fused / scale_dtype
# ---------------------------------------------------------------------------------------------

# Every uint8 value in each of 3 channels.
ALL_UINT8 = np.repeat(np.arange(256, dtype=np.uint8).reshape(16, 16, 1), 3, axis=2)

NORMALIZE_KNOBS = {
    "fused_scale": {"order": "fused", "scale": RESCALE_FACTOR},
    "fused_divisor": {"order": "fused", "divisor": 255.0},
    "f64scale_scale": {"order": "scale_first", "scale": RESCALE_FACTOR, "scale_dtype": "float64"},
    "f64scale_divisor": {"order": "scale_first", "divisor": 255.0, "scale_dtype": "float64"},
}


def _normalize_step(knobs, compute_dtype="float32"):
    return make_step({"op": "normalize", "mean": CLIP_MEAN, "std": CLIP_STD,
                      "compute_dtype": compute_dtype, **knobs})


def _plain(knobs):
    """The same scale or divisor as scale_first with scale_dtype compute (the fixed recipes)."""
    return _normalize_step({k: v for k, v in knobs.items() if k in ("scale", "divisor")})


def test_the_new_arithmetic_differs_from_plain_scale_first():
    """Else the exactness tests below would not tell the formulas apart. x/255 is one correctly
    rounded float32 division either way, so f64scale_divisor is the one knob set that coincides."""
    for key, knobs in NORMALIZE_KNOBS.items():
        new, plain = run_step(_normalize_step(knobs), ALL_UINT8), run_step(_plain(knobs), ALL_UINT8)
        differs = int(np.count_nonzero(new != plain))
        assert (differs == 0) == (key == "f64scale_divisor"), (key, differs)


@pytest.mark.parametrize("name", ("onnxruntime", "rust-image", "rust-fir"))
@pytest.mark.parametrize("key", sorted(NORMALIZE_KNOBS))
def test_graphs_and_rust_normalize_bitwise(harnesses, name, key):
    step = _normalize_step(NORMALIZE_KNOBS[key])
    expected = run_step(step, ALL_UINT8)
    got = harnesses[name].run(step.knobs(), ALL_UINT8)
    assert got.dtype == expected.dtype == np.float32
    bad = np.argwhere(got != expected)
    assert bad.size == 0, (f"{name} {key}: {len(bad)} of {got.size} differ; first at {bad[0]}: "
                           f"got {got[tuple(bad[0])]!r}, reference {expected[tuple(bad[0])]!r}")


@pytest.mark.parametrize("key", sorted(NORMALIZE_KNOBS))
def test_graphs_normalize_bitwise_in_float64(harnesses, key):
    """The graphs take compute_dtype too (the Rust engines stay f32: behaviour)."""
    step = _normalize_step({**NORMALIZE_KNOBS[key], "dtype": "float64"}, "float64")
    expected = run_step(step, ALL_UINT8)
    got = harnesses["onnxruntime"].run(step.knobs(), ALL_UINT8)
    assert got.dtype == np.float64 and np.array_equal(got, expected)


# tract runs the same graph bytes, but its optimiser rewrites the elementwise arithmetic (every
# normalize order, the old ones too: tests/test_harness_rust.py bounds tract vs ONNX Runtime by
# the same 1e-6). Measured with CLIP's values: at most 1 float32 ulp (2.4e-7) on up to 191 of the
# 768 values. Max abs difference per element.
TRACT_NORMALIZE_ATOL = 1e-6


@pytest.mark.parametrize("key", sorted(NORMALIZE_KNOBS))
def test_tract_normalize_is_the_graph_up_to_its_optimiser(harnesses, key):
    step = _normalize_step(NORMALIZE_KNOBS[key])
    got = harnesses["tract"].run(step.knobs(), ALL_UINT8)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, run_step(step, ALL_UINT8), rtol=0, atol=TRACT_NORMALIZE_ATOL)


@pytest.mark.parametrize("key", sorted(NORMALIZE_KNOBS))
def test_pillow_runs_torchvisions_scale_first_recipe(harnesses, key):
    """Pillow harness docstring: fused and scale_dtype are behaviour, ToTensor + Normalize in
    float32 runs. Bitwise the plain scale_first reference, hence not the new arithmetic
    (except where the two coincide, f64scale_divisor)."""
    knobs = NORMALIZE_KNOBS[key]
    got = harnesses["pillow"].run(_normalize_step(knobs).knobs(), ALL_UINT8)
    assert np.array_equal(got, run_step(_plain(knobs), ALL_UINT8))
    exact = np.array_equal(got, run_step(_normalize_step(knobs), ALL_UINT8))
    assert exact == (key == "f64scale_divisor")


# blobFromImage's (x − mean/scale)·(scale/std) in float32 against the reference's float32
# formulas: max abs difference per element. With CLIP's values the outputs lie in [-1.8, 2.2],
# where a float32 ulp is at most 2.4e-7; measured max 4.8e-7 (2 ulps: the blob folds mean and
# std into other constants); 1e-6 is 4 ulps, room for the other SIMD/IPP paths of the wheel.
OPENCV_NORMALIZE_ATOL = 1e-6


@pytest.mark.parametrize("key", sorted(NORMALIZE_KNOBS))
def test_opencv_runs_its_one_blob_formula(harnesses, key):
    """OpenCV harness docstring: fused is the same blob as scale_first, scale_dtype behaviour.
    So the output is the scale_first step's output bit for bit, close to but not the reference."""
    knobs = NORMALIZE_KNOBS[key]
    cv = harnesses["opencv"]
    got = cv.run(_normalize_step(knobs).knobs(), ALL_UINT8)
    assert np.array_equal(got, cv.run(_plain(knobs).knobs(), ALL_UINT8))
    expected = run_step(_normalize_step(knobs), ALL_UINT8)
    assert not np.array_equal(got, expected), "OpenCV became exact: update its docstring and this test"
    np.testing.assert_allclose(got, expected, rtol=0, atol=OPENCV_NORMALIZE_ATOL)


# ---------------------------------------------------------------------------------------------
# investigate: the size knobs are intent, kept when a library's preset is applied
# ---------------------------------------------------------------------------------------------


def test_explanations_keep_the_pipelines_size_formula_and_max_size():
    """explain_space applies each preset three ways; every way must ask for the pipeline's target
    size, so size_formula and max_size travel with shorter_side (as library_defaults does)."""
    from conformance.investigate.explain_space import preset_candidates
    from conformance.investigate.library_defaults import library_default_step

    step = make_step({"op": "resize", "shorter_side": 8, "max_size": 10, "size_rounding": "floor",
                      "size_formula": "ratio"})
    candidates = preset_candidates(step, ("pillow",))
    assert candidates
    assert {(c.step.max_size, c.step.size_formula) for c in candidates} == {(10, "ratio")}
    for harness in ("opencv", "pillow", "onnxruntime", "rust-image", "rust-fir"):
        default = library_default_step(step, harness)
        assert (default.max_size, default.size_formula, default.shorter_side) == (10, "ratio", 8), harness
