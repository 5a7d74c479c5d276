"""Laws of the reference resizer (hypothesis), the image.* presets, fast paths vs plain paths, and
knob validation.

image.* presets (Rust ``image`` 0.25 ``imageops::resize``) are implemented from
notes/resize-semantics.md §3 and the crate's ``sample.rs``; NO Rust oracle runs here yet (it
arrives with the Rust harness). They are covered by the laws below and by hand-computed goldens
only: they are unverified against the crate itself.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from conformance.errors import SpecError
from conformance.presets import all_preset_names, preset_knobs
from conformance.reference.resize import resize
from conformance.reference.resize.separable import axis_taps, resize_separable, weights_for
from conformance.spec import make_step

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# tf.*: TensorFlow resamples an unchanged size (a blur for gaussian and mitchell) and returns
# float32, so neither identity nor the generic resizer's fast paths apply; TF itself pins them
# (tests/test_resize_tensorflow.py)
RESIZE_PRESETS = [p for p in all_preset_names()["resize"] if not p.startswith("tf.")]
# the presets of the generic separable resizer: not OpenCV's or OpenVINO's Pillow modes (their own
# arithmetic modules: reference.resize.opencv, reference.resize.openvino) nor libvips'
# (reference.resize.vips: uint8 only, tests/test_harness_libvips.py)
GENERIC_PRESETS = [p for p in RESIZE_PRESETS if not p.startswith(("opencv.", "libvips."))
                   and preset_knobs("resize", p)["arithmetic"] != "openvino"]


def step(preset=None, h=1, w=1, **knobs):
    raw = {"op": "resize", "height": h, "width": w, **knobs}
    if preset:
        raw["preset"] = preset
    return make_step(raw)


def grids(expected: np.ndarray, got: np.ndarray) -> str:
    """Both grids (channel 0) and the worst pixel (STYLE 7)."""
    d = np.abs(expected.astype(np.float64) - got.astype(np.float64))
    worst = np.unravel_index(int(np.argmax(d)), d.shape)
    return (f"worst pixel {tuple(int(v) for v in worst)}: expected {expected[worst]!r} got {got[worst]!r}\n"
            f"expected:\n{expected[:, :, 0]}\ngot:\n{got[:, :, 0]}")


images = st.builds(
    lambda h, w, c, seed: np.random.default_rng(seed).integers(0, 256, (h, w, c), dtype=np.uint8),
    st.integers(1, 24), st.integers(1, 24), st.sampled_from([1, 3]), st.integers(0, 2**32 - 1))


# --- identity ---------------------------------------------------------------------------------

@SETTINGS
@given(img=images, preset=st.sampled_from(RESIZE_PRESETS))
def test_same_size_is_identity_for_every_preset(img, preset):
    out = resize(img, step(preset, *img.shape[:2]))
    assert out.dtype == img.dtype and np.array_equal(out, img)
    assert out is not img


# --- nearest: integer upscale then downscale is the identity -----------------------------------

NEAREST_ROUNDTRIP = ["pillow.nearest", "image.nearest", "onnx.nearest",
                     "onnx.nearest.half_pixel.round_prefer_ceil", "onnx.nearest.asymmetric.floor",
                     "onnx.nearest.pytorch_half_pixel"]


@SETTINGS
@given(img=images, k=st.integers(2, 5), preset=st.sampled_from(NEAREST_ROUNDTRIP))
def test_nearest_integer_up_then_down_roundtrips(img, k, preset):
    """Where this is a law: upscaling by k copies each pixel into a k×k block, and the downscale
    by k picks a pixel inside each block (half-pixel centres, or asymmetric + floor). Not a law
    for e.g. half_pixel + floor, which shifts the upscale by half a pixel."""
    h, w = img.shape[:2]
    up = resize(img, step(preset, h * k, w * k))
    assert np.array_equal(up, np.repeat(np.repeat(img, k, 0), k, 1)), f"{preset} x{k} up:\n" + \
        grids(np.repeat(np.repeat(img, k, 0), k, 1), up)
    down = resize(up, step(preset, h, w))
    assert np.array_equal(down, img), f"{preset} x{k} down:\n" + grids(img, down)


# --- a constant image stays constant --------------------------------------------------------------

CONV_FILTERS = ["box", "triangle", "hamming", "cubic", "lanczos", "gaussian"]
ARITHMETIC = ["float64", "float32", "fixed:22", "fixed_dynamic:15", "fixed:14"]


@st.composite
def renormalizing_steps(draw):
    """Any generic-path knob set with renormalize borders (and clamp for coordinate windows,
    which replicates the edge: constant too)."""
    family = draw(st.sampled_from(["pillow", "floor_ceil", "centered", "onnx_reference"]))
    arithmetic = draw(st.sampled_from(ARITHMETIC))
    knobs = dict(window=family, arithmetic=arithmetic, antialias=draw(st.booleans()),
                 pass_order=draw(st.sampled_from(["hv", "vh", "pillow13"])),
                 intermediate=draw(st.sampled_from(["exact", "uint8"] + ([] if arithmetic.startswith("fixed")
                                                                        else ["float32"]))),
                 # truncate is excluded: weights summing to 1 − ε truncate c to c − 1
                 rounding=draw(st.sampled_from(["half_up", "half_even", "half_away"])),
                 unchanged_axis=draw(st.sampled_from(["skip", "resample"])),
                 sum_order=draw(st.sampled_from(["sequential", "numpy_pairwise"])))
    if family in ("pillow", "floor_ceil"):
        filt = draw(st.sampled_from(CONV_FILTERS))
        weights = "float32" if family == "floor_ceil" and filt != "hamming" and draw(st.booleans()) else "float64"
        knobs.update(filter=filt, weights_dtype=weights, border="renormalize", coords="half_pixel",
                     cubic_a=draw(st.sampled_from([-0.5, -0.75])), lobes=draw(st.sampled_from([2, 3, 4])),
                     hamming_constants=draw(st.sampled_from(["float32", "float64"])))
    else:
        filt = draw(st.sampled_from(["triangle", "cubic"]))
        knobs.update(filter=filt, weights_dtype="float32" if filt == "cubic" else "float64",
                     border=draw(st.sampled_from(["renormalize", "clamp"])),
                     coords=draw(st.sampled_from(["half_pixel", "pytorch_half_pixel", "asymmetric",
                                                  "align_corners", "half_pixel_symmetric"])),
                     cubic_a=draw(st.sampled_from([-0.5, -0.75])))
    return knobs


@SETTINGS
@given(knobs=renormalizing_steps(), h=st.integers(1, 30), w=st.integers(1, 30), oh=st.integers(1, 40),
       ow=st.integers(1, 40), value=st.integers(0, 255))
def test_constant_image_stays_constant(knobs, h, w, oh, ow, value):
    img = np.full((h, w, 2), value, dtype=np.uint8)
    out = resize(img, step(None, oh, ow, **knobs))
    assert np.all(out == value), f"{knobs}: {h}x{w} -> {oh}x{ow}:\n" + grids(np.full_like(out, value), out)
    # float images are not rounded: fixed-point weights then scale by Σk / 2^p = 1 ± n/2^(p+1)
    f = resize(img.astype(np.float64) / 255.0, step(None, oh, ow, **knobs))
    tol = 1e-3 if knobs["arithmetic"].startswith("fixed") else 1e-6
    assert f.dtype == np.float64 and np.all(np.abs(f - value / 255.0) < tol)


# --- weights of every output sum to 1 (float) / 2^BITS (fixed) ----------------------------------

@SETTINGS
@given(knobs=renormalizing_steps(), s=st.integers(1, 200), d=st.integers(1, 200))
def test_weights_sum_to_one_or_two_pow_bits(knobs, s, d):
    """Float weights: |Σw − 1| <= n·2^-50 (float64) or n·2^-20 (float32 weights). Fixed weights
    are each rounded to the nearest 2^-p, so |Σk − 2^p| <= n/2 + |Σw − 1|·2^p (n = non-zero
    taps of the output; the second term is the float weights' own error, up to ~1 for float32
    cubic weights at 22 bits)."""
    stp = step(None, 2, 2, **knobs)
    taps = axis_taps(s, d, stp)
    n = taps.index.shape[1]
    sums = taps.weight.astype(np.float64).sum(axis=1)
    eps = 2.0 ** -20 if knobs["weights_dtype"] == "float32" else 2.0 ** -50
    assert np.all(np.abs(sums - 1) <= n * eps), (knobs, s, d, sums.min(), sums.max())
    for arith in ("fixed:22", "fixed_dynamic:15"):
        q, p = weights_for(taps, arith)
        err = np.abs(q.weight.sum(axis=1) - (1 << p))
        nz = (taps.weight != 0).sum(axis=1)
        assert np.all(err <= nz / 2 + np.abs(sums - 1) * (1 << p) + 1e-9), (arith, knobs, s, d, err.max())


# --- fast paths equal plain paths ----------------------------------------------------------------

@SETTINGS
@given(img=images, preset=st.sampled_from(GENERIC_PRESETS), oh=st.integers(1, 30), ow=st.integers(1, 30),
       kind=st.sampled_from(["uint8", "uint16", "float32", "float64"]))
def test_fast_paths_equal_plain_paths(img, preset, oh, ow, kind):
    """numba engine == numpy engine; the nearest gather == the general weighted path."""
    assume((oh, ow) != img.shape[:2])
    if kind == "uint16":
        img = img.astype(np.uint16) * 257
    elif kind.startswith("float"):
        img = img.astype(kind) / 255
    stp = step(preset, oh, ow)
    ref = resize_separable(img, oh, ow, stp, fast_paths=False, engine="numpy")
    for fast, engine in ((True, "numba"), (False, "numba"), (True, "numpy")):
        got = resize_separable(img, oh, ow, stp, fast_paths=fast, engine=engine)
        assert got.dtype == img.dtype and np.array_equal(got, ref), f"{preset} fast={fast} {engine}:\n" + grids(ref, got)
    assert np.array_equal(resize(img, stp), ref)


# --- image.* (unverified against the crate): hand-computed goldens ----------------------------

def _golden(preset, rows, out_hw, expected, **knobs):
    src = np.array(rows, dtype=np.uint8)[:, :, None]
    want = np.array(expected, dtype=np.uint8)[:, :, None]
    got = resize(src, step(preset, *out_hw, **knobs))
    assert np.array_equal(got, want), f"{preset} {knobs}:\n" + grids(want, got)


def test_golden_image_triangle_downscale_x2():
    # ratio 2, support 2: output 0 centre 1.0, taps 0..2 with tri((x − 0.5)/2) = 0.75, 0.75, 0.25
    # -> 3/7, 3/7, 1/7: (0·3 + 70·3 + 140)/7 = 50; output 1: (70 + 140·3 + 210·3)/7 = 160.
    _golden("image.triangle", [[0, 70, 140, 210]], (1, 2), [[50, 160]])


def test_golden_image_nearest_is_floor_of_centre():
    # f32 ratio 0.6: centres 0.3, 0.9, 1.5, 2.1, 2.7 -> floor 0, 0, 1, 2, 2
    _golden("image.nearest", [[10, 20, 30]], (1, 5), [[10, 10, 20, 30, 30]])


def test_golden_image_catmullrom_edge():
    # Keys a = −0.5 (BC-spline B=0, C=0.5): same weights as Pillow's bicubic on this case;
    # output 3: 255·(0.2265625 − 0.0234375) = 51.8 -> 52; output 2: −17.5 clamped to 0.
    _golden("image.catmullrom", [[0, 0, 255, 255]], (1, 8), [[0, 0, 0, 52, 203, 255, 255, 255]])


def test_golden_image_gaussian_resamples_unchanged_axis():
    # Height 3 -> 3 is still resampled (unchanged_axis="resample"): the Gaussian (sigma 0.5) at
    # scale 1 is not an identity. Middle row: taps −1, 0, 1 weigh K(1), K(0), K(1) with
    # K(1)/K(0) = e^−2: 100·1/(1 + 2e^−2) = 78.7 -> 79. Top row: taps 0..2 (window cut at the
    # border), 100·e^−2/(1 + e^−2 + e^−8) = 11.9 -> 12. Width 2 -> 1 averages two equal columns.
    _golden("image.gaussian", [[0, 0], [100, 100], [0, 0]], (3, 1), [[12], [79], [12]])
    _golden("image.gaussian", [[0, 0], [100, 100], [0, 0]], (3, 1), [[0], [100], [0]], unchanged_axis="skip")


def test_image_float32_intermediate_is_unclamped():
    """The vertical pass keeps f32 values outside 0..255 (no clamp): a lanczos overshoot in the
    first pass can be pulled back by the second. intermediate='uint8' would clip it first."""
    rng = np.random.default_rng(4)
    differs = 0
    for _ in range(20):
        img = (rng.random((9, 9, 1)) > 0.5).astype(np.uint8) * 255
        a = resize(img, step("image.lanczos3", 17, 5))
        b = resize(img, step("image.lanczos3", 17, 5, intermediate="uint8"))
        differs += not np.array_equal(a, b)
    assert differs > 0


def test_float_images_are_not_rounded():
    img = np.array([[[0.0], [1.0]]], dtype=np.float32)
    out = resize(img, step("pillow.bilinear", 1, 4))
    assert out.dtype == np.float32
    assert out[0, :, 0].tolist() == [0.0, 0.25, 0.75, 1.0]
    u16 = np.array([[[0], [65535]]], dtype=np.uint16)
    assert resize(u16, step("pillow.bilinear", 1, 4))[0, :, 0].tolist() == [0, 16384, 49151, 65535]


# --- knob validation ---------------------------------------------------------------------------

@pytest.mark.parametrize("knobs,field", [
    ({"filter": "area"}, "filter"),
    ({"filter": "nearest", "window": "pillow"}, "window"),
    ({"filter": "triangle", "coords": "asymmetric", "window": "pillow"}, "coords"),
    ({"filter": "hamming", "window": "floor_ceil", "weights_dtype": "float32"}, "weights_dtype"),
    ({"filter": "triangle", "window": "pillow", "weights_dtype": "float32"}, "weights_dtype"),
    ({"filter": "lanczos", "window": "centered"}, "filter"),
    ({"filter": "nearest", "window": "centered", "antialias": True}, "antialias"),
    ({"filter": "triangle", "window": "centered", "weights_dtype": "float32"}, "weights_dtype"),
    ({"filter": "triangle", "arithmetic": "fixed:22", "intermediate": "float32"}, "intermediate"),
])
def test_impossible_combinations_name_the_field(knobs, field):
    img = np.zeros((4, 4, 3), np.uint8)
    with pytest.raises(SpecError) as e:
        resize(img, step(None, 3, 5, **knobs))
    assert e.value.field == field, str(e.value)


def test_unsupported_image_dtype_is_a_spec_error():
    with pytest.raises(SpecError, match="int16"):
        resize(np.zeros((2, 2, 1), np.int16), step("pillow.bilinear", 3, 3))
    with pytest.raises(SpecError, match=r"\(H, W, C\)"):
        resize(np.zeros((2, 2), np.uint8), step("pillow.bilinear", 3, 3))


def test_int32_accumulator_equals_int64(monkeypatch):
    """The fixed-point passes use int32 when a bound proves no partial sum leaves int32 (Pillow's
    own accumulator type); the exact int64 computation gives the same bytes."""
    from conformance.reference.resize import separable
    rng = np.random.default_rng(6)
    cases = []
    for preset in ("pillow.bilinear", "pillow.lanczos", "pillow.bicubic"):
        for _ in range(5):
            h, w, oh, ow = (int(v) for v in rng.integers(1, 60, 4))
            cases.append((preset, rng.integers(0, 256, (h, w, 3), dtype=np.uint8), oh, ow))
    default = [resize(img, step(p, oh, ow)) for p, img, oh, ow in cases]
    monkeypatch.setattr(separable, "_fixed_acc_dtype", lambda *a: np.int64)
    for (p, img, oh, ow), d in zip(cases, default):
        assert np.array_equal(resize(img, step(p, oh, ow)), d), p
