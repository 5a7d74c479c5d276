"""The way back (model output tensor -> pixels) in the Rust harnesses (``rust_harness/src/
{tensor_input,denormalize,quantize,encode}.rs``), against the reference, on small float tensors
holding the values that split libraries: NaN, ±inf, -0.0, the ties (k + 0.5)/255, negatives,
values above 1, and huge values (3e9/255, past 2^31 once scaled).

Measured with Rust 1.95 (``as`` casts saturate, NaN -> 0), image 0.25.10 (png 0.18.1,
zune-jpeg 0.5.15); each finding is asserted below:

1. ``tensor``: the (H, W, C) array, dtype and every bit (NaN payloads, -0.0) equal the
   reference's for uint8, uint16, float16, float32, float64 in all four layouts. int16/int32
   files are ``unsupported`` (the harness's Tensor type, from preprocessing-vectors, has no such
   variant); big-endian and Fortran-order files, which the reference reads, are rejected by the
   strict .npy reader.
2. ``denormalize``: bit-exact with the reference for float32 and float64 compute, both modes.
3. ``quantize``: ``rust.as_u8``, ``rust.round_as_u8``, ``pillow.f_to_l``, ``numpy.clip_astype``
   and ``basicsr.tensor2img`` are bit-exact on every value, NaN and ±inf included, for float16,
   float32 and float64 inputs. ``numpy.astype``, ``torchvision.to_pil_image`` and
   ``opencv.convert_scale_abs`` (the int32 path) differ exactly where the scaled value is
   >= 2^31 or +inf (``opencv``: also -inf, through ``abs``): Rust's ``as i32`` saturates to
   i32::MAX, whose low byte is 255, where x86-64 C gives the "integer indefinite" -2^31 (0).
   Over the whole knob grid (720 combinations) the harness equals a model of those Rust
   expressions on every value, and differs from the reference only (a) there and (b) with
   ``rounding="half_up"``, written ``(y + 0.5).floor()``, where the sum rounds first
   (y = 0.49999997 -> 1).
4. ``encode`` PNG round-trips exactly (uint8, uint16, 1..4 channels, ``channel_order`` rgb and
   bgr); JPEG is the image crate's own encoder (always 4:4:4) and decoder, a bounded distance
   from the reference's libjpeg-turbo pair.
5. ``color rgb_to_bgr`` runs on quantize's uint8 output and on float32 tensors, equal to the
   reference; a whole tensor pipeline through ``run_chain`` equals the steps one by one.
6. The protocol CLI reads the .npy input as step 0 like the extension and writes the same bytes.
7. On the default bundle's way-back cases (isolated): every tensor, denormalize, color and PNG
   encode step and every quantize step of an exact preset is bit-exact; the int32 presets differ
   on the traps tensor only (values past 2^31 and +inf: 9 of 96 samples, 15 for convertScaleAbs);
   JPEG q90 (reference 4:2:0 libjpeg-turbo, Rust 4:4:4 image crate + zune-jpeg) differs by max 40
   / mean 2.8 levels on the photo tensor, max 199 / mean 72 on the 4x8 traps tensor.
"""

from __future__ import annotations

import itertools
import json
import subprocess

import numpy as np
import pytest

native = pytest.importorskip("conformance_rust")

from conformance.bundle import npy_bytes  # noqa: E402
from conformance.harnesses.base import Unsupported  # noqa: E402
from conformance.harnesses.rust import RustFirHarness, RustImageHarness  # noqa: E402
from conformance.presets import QUANTIZE_PRESETS  # noqa: E402
from conformance.reference.pipeline import run_step  # noqa: E402
from conformance.spec import make_step  # noqa: E402

HARNESSES = [RustImageHarness(), RustFirHarness()]
IMAGE = HARNESSES[0]

#: presets through an int32/int64 cast of values nothing clamps: Rust's saturating `as i32`
#: cannot reproduce them (numpy.astype, torchvision.to_pil_image / to_dtype,
#: opencv.convert_scale_abs at the time of writing)
INT32_PRESETS = tuple(sorted(p for p, k in QUANTIZE_PRESETS.items() if k["int_path"] != "exact" and k["clamp"] == "none"))
#: presets whose Rust run equals the reference on every value (rust.as_u8, rust.round_as_u8,
#: pillow.f_to_l, numpy.clip_astype, basicsr.tensor2img)
EXACT_PRESETS = tuple(sorted(set(QUANTIZE_PRESETS) - set(INT32_PRESETS)))


def knobs(raw: dict) -> dict:
    """A step as the bundle stores it: every knob explicit (what a harness receives)."""
    return make_step(raw).knobs()


def reference(raw: dict, value):
    return run_step(make_step(raw), value)


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal dtype, shape and bytes (NaN payloads and -0.0 included)."""
    return a.dtype == b.dtype and a.shape == b.shape and np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes()


def signed_values(dtype=np.float32) -> np.ndarray:
    """:func:`unit_values` mapped onto [-1, 1] (a tanh model's output range), overflow to ±inf kept."""
    with np.errstate(over="ignore"):
        return unit_values(dtype) * dtype(2) - dtype(1)


def unit_values(dtype=np.float32) -> np.ndarray:
    """Values in [0, 1] units (quantize scales them by 255) as an (H, W, 3) array."""
    k = np.arange(256, dtype=np.float64)
    ties = (k + 0.5) / 255
    specials = [np.nan, np.inf, -np.inf, -0.0, 0.0, 1e-8, -1e-8, -0.5, -1 / 255, -2 / 255, 1.0, 1.0000001,
                1.5, 2.0, 256 / 255, 255.49 / 255, 255.5 / 255, 254.5 / 255, 0.49999997 / 255, 0.5 / 255,
                3e9 / 255, -3e9 / 255, 2.0**31 / 255, 2.0**32 / 255, 1e30, -1e30, 3.4e38, -3.4e38,
                2.0**63 / 255, 2.0**64 / 255, 65535.5 / 65535, 1e-45, -1e-45]
    rng = np.random.default_rng(7)
    noise = rng.normal(0.5, 0.8, 300)
    flat = np.concatenate([ties, k / 255, specials, noise])
    with np.errstate(over="ignore"):
        flat = flat.astype(dtype)
    pad = (-flat.size) % 3
    flat = np.concatenate([flat, np.full(pad, np.nan, dtype)])
    return flat.reshape(-1, 1, 3).copy()


def as_file(hwc: np.ndarray, layout: str) -> bytes:
    """The .npy bytes of an (H, W, C) array stored in ``layout``."""
    a = hwc.transpose(2, 0, 1) if layout in ("nchw", "chw") else hwc
    if layout.startswith("n"):
        a = a[None]
    return npy_bytes(np.ascontiguousarray(a))


# --- tensor ------------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["nchw", "chw", "nhwc", "hwc"])
@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float16", "float32", "float64"])
@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_tensor_is_exact_for_every_layout_and_dtype(layout, dtype, channels):
    rng = np.random.default_rng(channels)
    if dtype.startswith("float"):
        hwc = rng.normal(0, 100, (5, 7, channels)).astype(dtype)
        with np.errstate(over="ignore"):  # -3e9 is -inf in float16
            hwc.flat[:6] = [np.nan, np.inf, -np.inf, -0.0, 1e-40, -3e9]
    else:
        hwc = rng.integers(0, np.iinfo(dtype).max + 1, (5, 7, channels)).astype(dtype)
    data = as_file(hwc, layout)
    step = {"op": "tensor", "layout": layout}
    expected = reference(step, data)
    assert same_bits(expected, hwc)
    for h in HARNESSES:
        got = h.run(knobs(step), data)
        assert same_bits(got, expected), (h.name, layout, dtype, channels)
        assert got.flags.c_contiguous and got.flags.writeable


@pytest.mark.parametrize("dtype", ["int16", "int32"])
def test_tensor_int16_int32_are_unsupported_with_a_reason(dtype):
    hwc = np.arange(12, dtype=dtype).reshape(2, 2, 3)
    data = as_file(hwc, "hwc")
    step = {"op": "tensor", "layout": "hwc"}
    assert same_bits(reference(step, data), hwc)  # the reference reads them
    with pytest.raises(Unsupported, match=f"no {dtype} variant"):
        IMAGE.run(knobs(step), data)


def test_tensor_refusals():
    step = {"op": "tensor", "layout": "nchw"}
    two = npy_bytes(np.zeros((2, 3, 4, 4), np.float32))
    with pytest.raises(native.RejectedInput, match="batch"):
        IMAGE.run(knobs(step), two)
    with pytest.raises(native.RejectedInput, match="rank-3"):
        IMAGE.run(knobs({"op": "tensor", "layout": "chw"}), two)
    one = npy_bytes(np.zeros((1, 3, 4, 4), np.float32))
    with pytest.raises(native.RejectedInput, match="max_elements"):
        IMAGE.run(knobs({**step, "max_elements": 47}), one)
    assert IMAGE.run(knobs({**step, "max_elements": 48}), one).shape == (4, 4, 3)
    with pytest.raises(native.RejectedInput, match="C must be 1..4"):
        IMAGE.run(knobs(step), npy_bytes(np.zeros((1, 5, 4, 4), np.float32)))
    with pytest.raises(native.RejectedInput, match="npy"):
        IMAGE.run(knobs(step), b"\x93NUMPY\x01\x00garbage")
    with pytest.raises(native.RejectedInput, match="truncated"):
        IMAGE.run(knobs(step), one[:-1])
    # a header claiming 10^12 elements in a few hundred bytes: refused from the header
    liar = one.replace(b"(1, 3, 4, 4)", b"(1, 3, 1000000, 1000000)").replace(b"    \n", b"\n", 1)
    with pytest.raises(native.RejectedInput):
        IMAGE.run(knobs(step), liar)
    # float32 as big-endian or Fortran order: the reference reads them, the strict reader refuses
    hwc = np.arange(24, dtype=np.float32).reshape(2, 4, 3)
    buf = __import__("io").BytesIO()
    np.lib.format.write_array(buf, hwc.astype(">f4"), version=(1, 0))
    hwc_step = {"op": "tensor", "layout": "hwc"}
    assert np.array_equal(reference(hwc_step, buf.getvalue()), hwc)
    with pytest.raises(native.RejectedInput, match="little-endian"):
        IMAGE.run(knobs(hwc_step), buf.getvalue())
    buf = __import__("io").BytesIO()
    np.lib.format.write_array(buf, np.asfortranarray(hwc), version=(1, 0))
    assert np.array_equal(reference(hwc_step, buf.getvalue()), hwc)
    with pytest.raises(native.RejectedInput, match="Fortran"):
        IMAGE.run(knobs(hwc_step), buf.getvalue())


def test_tensor_rejects_arrays_and_other_ops_reject_bytes():
    with pytest.raises(native.StepFailed, match="input file's bytes"):
        IMAGE.run(knobs({"op": "tensor"}), np.zeros((2, 2, 3), np.float32))
    with pytest.raises(native.StepFailed, match="needs an array"):
        IMAGE.run(knobs({"op": "quantize"}), npy_bytes(np.zeros((2, 2, 3), np.float32)))


# --- denormalize -------------------------------------------------------------------------------


DENORMALIZE_STEPS = [
    {"op": "denormalize", "preset": "basicsr.tensor2img"},
    {"op": "denormalize", "preset": "torchvision.imagenet"},
    {"op": "denormalize", "mode": "mean_std", "mean": [0.5], "std": [0.5], "scale": 1 / 255},
    {"op": "denormalize", "mode": "range", "from_range": [-3.0, 7.5], "to_range": [0.0, 255.0]},
]


@pytest.mark.parametrize("raw", DENORMALIZE_STEPS, ids=lambda r: r.get("preset", r.get("mode")))
@pytest.mark.parametrize("compute", ["float32", "float64"])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_denormalize_equals_the_reference(raw, compute, dtype):
    x = signed_values(dtype)
    step = {**raw, "compute_dtype": compute}
    with np.errstate(over="ignore"):  # float64 values past float32's range become ±inf
        expected = reference(step, x)
    for h in HARNESSES:
        got = h.run(knobs(step), x)
        assert got.dtype == expected.dtype == np.dtype(compute) and got.shape == x.shape
        if compute == "float32":  # the brief's bound; measured: 0
            finite = np.isfinite(expected)
            assert np.array_equal(np.isnan(got), np.isnan(expected))
            assert np.array_equal(got[~finite & ~np.isnan(expected)], expected[~finite & ~np.isnan(expected)])
            assert np.max(np.abs(got[finite] - expected[finite]), initial=0) <= 1e-6
        assert same_bits(got, expected), (h.name, step)  # measured: bit-exact


def test_denormalize_refuses_integers():
    with pytest.raises(native.StepFailed, match="float tensor"):
        IMAGE.run(knobs({"op": "denormalize"}), np.zeros((2, 2, 3), np.uint8))


# --- quantize ----------------------------------------------------------------------------------


def rust_quantize_model(x: np.ndarray, k: dict) -> np.ndarray:
    """What the Rust expressions of quantize.rs compute, written out in numpy (the Rust Reference,
    "Numeric cast": float -> int rounds toward zero, saturates, NaN -> 0; int -> narrower int
    keeps the low bits): the oracle the grid test holds the harness to."""
    ct = np.dtype(k["compute_dtype"])
    top = {"uint8": 255, "uint16": 65535}[k["dtype"]]
    scale = ct.type(k["scale"])
    with np.errstate(all="ignore"):
        x = x.astype(ct)
        if k["clamp"] == "before":
            x = np.clip(x, ct.type(0), ct.type(top) / scale)
        y = x * scale
        if k["absolute"]:
            y = np.abs(y)
        if k["clamp"] == "after":
            y = np.clip(y, ct.type(0), ct.type(top))
        rule = k["rounding"]
        if rule == "half_up":
            r = np.floor(y + ct.type(0.5))  # the natural writing: the sum rounds first
        elif rule == "half_away":
            a = np.abs(y)
            fa = np.floor(a)
            r = np.copysign(np.where(a - fa >= 0.5, fa + 1, fa), y).astype(ct)  # f32::round is exact
        else:
            r = {"half_even": np.rint, "truncate": np.trunc, "floor": np.floor}[rule](y)
        v = r.astype(np.float64)
        nan = np.isnan(v)
        if k["int_path"] == "exact":
            if k["overflow"] == "saturate":
                out = np.where(nan, 0, np.clip(v, 0, top))  # `v as u8`
            else:
                out = np.where(np.isfinite(v), np.mod(v, top + 1), 0)  # rem_euclid, NaN -> 0
        else:
            bound = 2.0 ** (31 if k["int_path"] == "int32" else 63)
            high = v >= bound  # `as i32` saturates: i32::MAX, low bits all ones
            low = (v < -bound) | nan  # i32::MIN (low bits 0) or 0
            inside = np.where(high | low, 0, v)
            if k["overflow"] == "wrap":
                out = np.where(high, top, np.where(low, 0, np.mod(inside, top + 1)))
            else:
                out = np.where(high, top, np.where(low, 0, np.clip(inside, 0, top)))
    return out.astype(k["dtype"])


def documented_difference(x: np.ndarray, k: dict) -> np.ndarray:
    """Where Rust and the reference may differ (module docstring, finding 3): the int32/int64
    path on values >= 2^31 / 2^63 (+inf included), and half_up's natural writing."""
    ct = np.dtype(k["compute_dtype"])
    top = {"uint8": 255, "uint16": 65535}[k["dtype"]]
    with np.errstate(all="ignore"):
        y = x.astype(ct)
        if k["clamp"] == "before":
            y = np.clip(y, ct.type(0), ct.type(top) / ct.type(k["scale"]))
        y = y * ct.type(k["scale"])
        if k["absolute"]:
            y = np.abs(y)
        if k["clamp"] == "after":
            y = np.clip(y, ct.type(0), ct.type(top))
        mask = np.zeros(x.shape, bool)
        if k["rounding"] == "half_up":
            f = np.floor(y)
            mask |= np.floor(y + ct.type(0.5)) != np.where(y - f >= 0.5, f + 1, f)
        if k["int_path"] != "exact":
            bound = 2.0 ** (31 if k["int_path"] == "int32" else 63)
            mask |= y.astype(np.float64) >= bound - 1  # rounding up to the bound included
    return mask


@pytest.mark.parametrize("preset", EXACT_PRESETS)
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_quantize_presets_rust_expresses_are_bit_exact(preset, dtype):
    x = unit_values(dtype)
    step = {"op": "quantize", "preset": preset}
    expected = reference(step, x)
    for h in HARNESSES:
        got = h.run(knobs(step), x)
        bad = np.argwhere(got != expected)
        assert same_bits(got, expected), (h.name, preset, bad[:5].tolist(), x[tuple(bad[0])] if bad.size else None)


def test_quantize_nonfinite_values():
    """NaN, +inf, -inf: Rust gives what the reference gives, except +inf (and -inf through abs)
    on the int32 path: 255 (i32::MAX's low byte) where x86-64 C gives 0 (the indefinite's)."""
    assert {"rust.as_u8", "rust.round_as_u8", "numpy.astype", "opencv.convert_scale_abs"} <= set(QUANTIZE_PRESETS)
    assert {"numpy.astype", "torchvision.to_pil_image", "opencv.convert_scale_abs"} <= set(INT32_PRESETS)
    x = np.array([[[np.nan, np.inf, -np.inf]]], np.float32)
    for p in QUANTIZE_PRESETS:
        step = {"op": "quantize", "preset": p}
        got = IMAGE.run(knobs(step), x).ravel().tolist()
        expected = reference(step, x).ravel().tolist()
        if p in INT32_PRESETS:
            assert expected == [0, 0, 0], p
            assert got == ([0, 255, 255] if QUANTIZE_PRESETS[p]["absolute"] else [0, 255, 0]), p
        else:
            assert got == expected, p
    assert IMAGE.run(knobs({"op": "quantize", "preset": "rust.as_u8"}), x).ravel().tolist() == [0, 255, 0]


@pytest.mark.parametrize("preset", INT32_PRESETS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_quantize_int32_presets_differ_exactly_past_2_to_the_31(preset, dtype):
    x = unit_values(dtype)
    step = {"op": "quantize", "preset": preset}
    expected = reference(step, x)
    got = IMAGE.run(knobs(step), x)
    with np.errstate(all="ignore"):
        y = x.astype(np.float32) * np.float32(QUANTIZE_PRESETS[preset]["scale"])
        if QUANTIZE_PRESETS[preset]["absolute"]:
            y = np.abs(y)
        # half-even rounding (opencv) may carry 2^31 - 0.5 up to 2^31; float32 has no such value
        past = y.astype(np.float64) >= 2.0**31
    differ = got != expected
    assert differ.any()
    assert np.array_equal(differ, past), preset
    assert (got[past] == 255).all() and (expected[past] == 0).all()
    # e.g. 3e9/255 (about 3e9 once scaled): x86 C's cast gives 0 (the indefinite's low byte), Rust 255
    i = np.argwhere(np.isclose(x.astype(np.float64), 3e9 / 255, rtol=1e-6))[0]
    assert (int(expected[tuple(i)]), int(got[tuple(i)])) == (0, 255)


def test_quantize_whole_knob_grid_is_the_rust_model():
    """Every combination of the quantize knobs (720): the harness equals the model of its Rust
    expressions on every value, and differs from the reference only where documented."""
    x = unit_values(np.float32)
    grid = itertools.product(["uint8", "uint16"], ["before", "after", "none"],
                             ["half_even", "half_up", "half_away", "truncate", "floor"],
                             ["saturate", "wrap"], ["exact", "int32", "int64"], [False, True],
                             ["float32", "float64"])
    differing = {}
    for dtype, clamp, rounding, overflow, int_path, absolute, compute in grid:
        k = knobs({"op": "quantize", "dtype": dtype, "scale": 255.0 if dtype == "uint8" else 65535.0,
                   "clamp": clamp, "rounding": rounding, "overflow": overflow, "int_path": int_path,
                   "absolute": absolute, "compute_dtype": compute})
        got = IMAGE.run(k, x)
        model = rust_quantize_model(x, k)
        assert same_bits(got, model), (k, np.argwhere(got != model)[:3].tolist())
        expected = reference(k, x)
        differ = got != expected
        assert not (differ & ~documented_difference(x, k)).any(), (k, np.argwhere(differ)[:3].tolist())
        if differ.any():
            differing[(rounding, int_path, compute)] = True
    # the divergences do exist: int paths on every rounding, and half_up's natural writing in f32
    assert ("truncate", "int32", "float32") in differing and ("truncate", "int64", "float64") in differing
    assert ("half_up", "exact", "float32") in differing
    assert not any(path == "exact" and rule != "half_up" for rule, path, _ in differing)


def test_quantize_half_up_natural_writing():
    """`(y + 0.5).floor()`: the sum 0.49999997 + 0.5 rounds to 1.0 in f32 before the floor;
    the reference's exact half up gives 0. In f64 the same value is exact (0.49999997 + 0.5 < 1)."""
    x = np.array([[[0.49999997, 1.5, 2.5]]], np.float32)
    step = {"op": "quantize", "scale": 1.0, "clamp": "none", "rounding": "half_up", "overflow": "saturate",
            "int_path": "exact", "compute_dtype": "float32"}
    assert IMAGE.run(knobs(step), x).ravel().tolist() == [1, 2, 3]
    assert reference(step, x).ravel().tolist() == [0, 2, 3]
    f64 = {**step, "compute_dtype": "float64"}
    assert IMAGE.run(knobs(f64), x).ravel().tolist() == reference(f64, x).ravel().tolist() == [0, 2, 3]


def test_quantize_refuses_integers_and_describes_the_rust_call():
    with pytest.raises(native.StepFailed, match="float tensor"):
        IMAGE.run(knobs({"op": "quantize"}), np.zeros((2, 2, 3), np.uint8))
    assert IMAGE.describe(knobs({"op": "quantize", "preset": "rust.as_u8"})) == \
        "`(x as f32 * 255.0) as u8` (f32, saturating `as`, NaN -> 0)"
    assert "(x as f32 * 255.0).round() as u8" in IMAGE.describe(knobs({"op": "quantize", "preset": "rust.round_as_u8"}))
    assert "as i32) as u8" in IMAGE.describe(knobs({"op": "quantize", "preset": "numpy.astype"}))
    for op in ("tensor", "denormalize", "quantize", "encode"):
        assert IMAGE.check(knobs({"op": op})) is None


# --- encode ------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["uint8", "uint16"])
@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("order", ["rgb", "bgr"])
def test_png_encode_round_trips_exactly(dtype, channels, order):
    rng = np.random.default_rng(channels)
    a = rng.integers(0, np.iinfo(dtype).max + 1, (9, 13, channels)).astype(dtype)
    step = {"op": "encode", "format": "png", "channel_order": order}
    expected = reference(step, a)
    for h in HARNESSES:
        got = h.run(knobs(step), a)
        assert same_bits(got, expected), (h.name, dtype, channels, order)
    rgb = np.concatenate([a[..., 2::-1], a[..., 3:]], axis=2) if order == "bgr" and channels >= 3 else a
    assert same_bits(expected, rgb)


def jpeg_distance(a: np.ndarray, step: dict) -> tuple[int, float]:
    got = IMAGE.run(knobs(step), a).astype(int)
    expected = reference(step, a).astype(int)
    assert got.shape == expected.shape
    d = np.abs(got - expected)
    return int(d.max()), float(d.mean())


def test_jpeg_encode_is_the_image_crates_encoder():
    """The image crate's JPEG encoder and decoder against the reference's libjpeg-turbo pair, on
    a smooth gradient with mild noise at quality 95: measured max/mean distances (levels)."""
    yy, xx = np.mgrid[0:48, 0:64]
    rng = np.random.default_rng(1)
    rgb = np.stack([xx * 4, yy * 5, (xx + yy) * 2], axis=2) + rng.integers(-3, 4, (48, 64, 3))
    rgb = np.clip(rgb, 0, 255).astype(np.uint8)
    base = {"op": "encode", "format": "jpeg", "quality": 95}
    d444 = jpeg_distance(rgb, {**base, "sampling": "444"})
    d420 = jpeg_distance(rgb, {**base, "sampling": "420"})
    dgray = jpeg_distance(rgb[..., :1].copy(), {**base, "sampling": "444"})
    # the crate always writes 4:4:4: closest to the reference's 444
    assert d444[0] <= 8 and d444[1] < 1.5, d444
    assert d420[1] >= d444[1], (d420, d444)
    assert dgray[0] <= 8 and dgray[1] < 1.5, dgray
    assert "4:4:4 always" in IMAGE.describe(knobs({**base, "sampling": "420"}))
    with pytest.raises(native.StepFailed, match="8-bit"):
        IMAGE.run(knobs(base), rgb.astype(np.uint16))
    with pytest.raises(native.StepFailed, match="gray or RGB"):
        IMAGE.run(knobs(base), np.zeros((8, 8, 4), np.uint8))
    with pytest.raises(native.StepFailed, match="quantize first"):
        IMAGE.run(knobs({"op": "encode"}), np.zeros((8, 8, 3), np.float32))


# --- color and whole pipelines -----------------------------------------------------------------


def test_rgb_to_bgr_on_quantized_pixels_and_on_floats():
    x = unit_values(np.float32)
    q = IMAGE.run(knobs({"op": "quantize", "preset": "rust.as_u8"}), x)
    color = {"op": "color", "conversion": "rgb_to_bgr"}
    for a in (q, x):
        got = IMAGE.run(knobs(color), a)
        assert same_bits(got, reference(color, a)) and same_bits(got, a[..., ::-1])


TENSOR_PIPELINE = [
    {"op": "tensor", "layout": "nchw"},
    {"op": "denormalize", "preset": "basicsr.tensor2img"},
    {"op": "quantize", "preset": "rust.round_as_u8"},
    {"op": "color", "conversion": "rgb_to_bgr"},
    {"op": "encode", "format": "png", "channel_order": "bgr"},
]


def test_run_chain_of_a_tensor_pipeline_equals_the_steps_and_the_reference():
    x = signed_values(np.float32)
    data = as_file(x, "nchw")
    steps = [knobs(s) for s in TENSOR_PIPELINE]
    for h in HARNESSES:
        value, ref = data, data
        for s in steps:
            value = h.run(s, value)
            ref = run_step(make_step(s), ref)
            assert same_bits(value, ref), (h.name, s["op"])
        assert same_bits(h.run_chain(steps, data), value)


# --- the protocol CLI --------------------------------------------------------------------------


def test_cli_reads_tensor_inputs_like_the_extension(tmp_path):
    from click.testing import CliRunner

    from conformance.bundle import Bundle
    from conformance.cli import cli
    from conformance.execute import execute_case
    from conformance.harnesses.programs import program_path

    exe = program_path("rust-cli")
    if not exe:
        pytest.skip("conformance-rust-harness is not installed (scripts/build_rust.sh builds it)")
    (tmp_path / "in").mkdir()
    x = unit_values(np.float32)[:120].reshape(8, 15, 3)
    with np.errstate(over="ignore"):
        (tmp_path / "in" / "out_nchw.npy").write_bytes(as_file(x * np.float32(2) - np.float32(1), "nchw"))
    pipelines = {"pipelines": [
        {"id": "wayback", "steps": TENSOR_PIPELINE},
        {"id": "wayback-int32", "steps": [{"op": "tensor", "layout": "nchw"},
                                          {"op": "quantize", "preset": "numpy.astype"}]},
    ]}
    (tmp_path / "p.json").write_text(json.dumps(pipelines))
    r = CliRunner().invoke(cli, ["generate", "--pipelines", str(tmp_path / "p.json"), "--images",
                                 str(tmp_path / "in"), "--out", str(tmp_path / "b"), "-j", "1"])
    assert r.exit_code == 0, r.output
    bundle = Bundle(tmp_path / "b")
    assert {c["pipeline"] for c in bundle.cases} == {"wayback", "wayback-int32"}
    harness = IMAGE
    for mode in ("isolated", "chained"):
        out = tmp_path / mode
        subprocess.run([exe, "--bundle", str(tmp_path / "b"), "--out", str(out), "--mode", mode],
                       check=True, capture_output=True, timeout=120)
        doc = json.loads((out / "harness.json").read_text())
        for case in bundle.cases:
            record = execute_case(harness, bundle, case, mode, tmp_path / "ext" / mode)
            cli_steps = doc["cases"][case["id"]]["steps"]
            assert [s["status"] for s in cli_steps] == [s["status"] for s in record["steps"]] \
                == ["ok"] * len(cli_steps), (case["id"], cli_steps)
            for s in record["steps"]:
                ours = (tmp_path / "ext" / mode / s["output"]).read_bytes()
                theirs = (out / case["id"] / f"{s['index']}_{s['op']}.npy").read_bytes()
                assert theirs == ours, (case["id"], s["index"])
                expected = bundle.expected(case["steps"][s["index"]])
                got = np.load(out / case["id"] / f"{s['index']}_{s['op']}.npy")
                if case["pipeline"] == "wayback":
                    assert same_bits(got, expected), (case["id"], s["index"])


# --- the default bundle ------------------------------------------------------------------------


def test_default_bundle_way_back_cases():
    from conformance.bundle import Bundle

    bundle = Bundle("vectors/default")
    pipelines = bundle.manifest["pipelines"]
    cases = [c for c in bundle.cases if pipelines[c["pipeline"]]["steps"][0]["op"] == "tensor"]
    if not cases:
        pytest.skip("vectors/default has no way-back cases")
    jpeg = {}
    for case in cases:
        steps = pipelines[case["pipeline"]]["steps"]
        data = bundle.input_bytes(case["input"])
        if case["expect"] == "error":
            with pytest.raises(native.RejectedInput):
                IMAGE.run(steps[0], data)
            continue
        for s in case["steps"]:
            i, step = s["index"], steps[s["index"]]
            value = data if i == 0 else bundle.expected(case["steps"][i - 1])
            if step["op"] == "color" and step["conversion"].startswith(("nv12_", "i420_")):
                with pytest.raises(Unsupported, match="no colour conversion"):
                    IMAGE.run(step, value)  # the image crate has no YUV 4:2:0 conversion
                break
            got, expected = IMAGE.run(step, value), bundle.expected(s)
            if step["op"] == "quantize" and step.get("preset") in INT32_PRESETS:
                with np.errstate(all="ignore"):
                    y = value.astype(np.float32) * np.float32(step["scale"])
                    past = (np.abs(y) if step["absolute"] else y).astype(np.float64) >= 2.0**31
                assert np.array_equal(got != expected, past), case["id"]
            elif step["op"] == "encode" and step["format"] == "jpeg":
                d = np.abs(got.astype(int) - expected.astype(int))
                jpeg[case["id"]] = (int(d.max()), float(d.mean()))
            else:
                assert same_bits(got, expected), (case["id"], i, step["op"])
    for case_id, (worst, mean) in jpeg.items():
        assert worst <= 255 and (mean < 4 if ".photo." in case_id else mean < 100), (case_id, worst, mean)
