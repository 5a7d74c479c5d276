"""The way back: each quantize/denormalize preset equals its library, element for element, on
the corpus tensors (NaN, ±inf, ties, out-of-range values included), and the load-time rules.

Oracles are the libraries themselves where they install here (numpy, OpenCV, Pillow, torch and
torchvision); basicsr (not a dependency: its wheel pins old torch) and Rust's ``as`` are written
out from their sources, named beside each function.
"""

from __future__ import annotations

import numpy as np
import pytest

from conformance.bundle import npy_bytes
from conformance.errors import DecodeError, SpecError
from conformance.presets import QUANTIZE_PRESETS
from conformance.reference.pipeline import run_pipeline, run_step
from conformance.spec import make_step, pipeline_from_dict
from conformance.tensor_corpus import negative_tensors, tensor_inputs, ties, traps


def _hwc(t: np.ndarray) -> np.ndarray:
    """(1, C, H, W) -> (H, W, C) without touching values."""
    return np.ascontiguousarray(t[0].transpose(1, 2, 0))


def corpus_unit_tensors() -> dict[str, np.ndarray]:
    """The [0, 1]-unit corpus tensors as (H, W, C) float arrays, plus float64 twins."""
    out = {}
    for item in tensor_inputs():
        if "tensor_unit" in item.tags:
            x = run_step(make_step({"op": "tensor"}), item.data)
            out[item.id] = x
            out[item.id + ".as_f64"] = x.astype(np.float64)
    return out


UNIT = corpus_unit_tensors()


def quantized(x: np.ndarray, preset: str, **over) -> np.ndarray:
    return run_step(make_step({"op": "quantize", "preset": preset, **over}), x)


# --- the libraries' own calls ------------------------------------------------------------------


def numpy_astype(x):
    with np.errstate(all="ignore"):
        return (x.astype(np.float32) * 255).astype(np.uint8)


def numpy_clip_astype(x):
    with np.errstate(all="ignore"):
        return np.clip(x.astype(np.float32) * 255, 0, 255).astype(np.uint8)


def opencv_convert_scale_abs(x):
    import cv2
    out = cv2.convertScaleAbs(x.astype(np.float32), alpha=255)
    return out[:, :, None] if out.ndim == 2 else out


def pillow_f_to_l(x):
    from PIL import Image
    with np.errstate(all="ignore"):
        y = x.astype(np.float32) * np.float32(255)
    return np.stack([np.asarray(Image.fromarray(np.ascontiguousarray(y[..., k]), "F").convert("L"))
                     for k in range(y.shape[2])], axis=2)


def torchvision_to_pil_image(x):
    torch = pytest.importorskip("torch")
    F = pytest.importorskip("torchvision.transforms.functional")
    t = torch.from_numpy(np.ascontiguousarray(x.astype(np.float32).transpose(2, 0, 1)))
    out = np.asarray(F.to_pil_image(t))
    return out[:, :, None] if out.ndim == 2 else out


def torchvision_to_dtype(x, dtype="uint8"):
    torch = pytest.importorskip("torch")
    F = pytest.importorskip("torchvision.transforms.v2.functional")
    t = torch.from_numpy(np.ascontiguousarray(x.astype(np.float32).transpose(2, 0, 1)))
    return F.to_dtype(t, getattr(torch, dtype), scale=True).numpy().transpose(1, 2, 0)


def basicsr_tensor2img(x, min_max=(0, 1)):
    """basicsr/utils/img_util.py ``tensor2img`` (BasicSR 1.4.2; the copy CodeFormer vendors),
    3-D branch, out_type=np.uint8, run on torch as the source does:
    ``_tensor.squeeze(0).float().detach().cpu().clamp_(*min_max)``,
    ``(_tensor - min_max[0]) / (min_max[1] - min_max[0])``, ``.numpy().transpose(1, 2, 0)``,
    ``(img_np * 255.0).round()``, ``.astype(np.uint8)``."""
    torch = pytest.importorskip("torch")
    t = torch.from_numpy(x.transpose(2, 0, 1).copy()).float().clamp_(*min_max)
    t = (t - min_max[0]) / (min_max[1] - min_max[0])
    img = t.numpy().transpose(1, 2, 0)
    with np.errstate(all="ignore"):
        return (img * 255.0).round().astype(np.uint8)


def rust_as_u8(x, rounded=False):
    """The Rust Reference, "Numeric cast" (expressions/operator-expr.html#numeric-cast): float
    to int rounds toward zero, NaN -> 0, saturating at the bounds (since Rust 1.45);
    ``f32::round`` rounds half away from zero. Written per element in f32."""
    y = (x.astype(np.float32) * np.float32(255)).ravel()
    out = np.empty(y.size, np.uint8)
    for i, v in enumerate(y.tolist()):
        if rounded and np.isfinite(v):
            v = float(np.copysign(np.floor(abs(v) + 0.5), v))
        out[i] = 0 if v != v else int(min(max(np.trunc(v) if np.isfinite(v) else v, 0), 255))
    return out.reshape(x.shape)


LIBRARY = {
    "numpy.astype": numpy_astype,
    "numpy.clip_astype": numpy_clip_astype,
    "opencv.convert_scale_abs": opencv_convert_scale_abs,
    "pillow.f_to_l": pillow_f_to_l,
    "torchvision.to_pil_image": torchvision_to_pil_image,
    "torchvision.to_dtype": torchvision_to_dtype,
    "basicsr.tensor2img": basicsr_tensor2img,
    "rust.as_u8": rust_as_u8,
    "rust.round_as_u8": lambda x: rust_as_u8(x, rounded=True),
}


def test_every_preset_has_an_oracle():
    assert set(LIBRARY) == set(QUANTIZE_PRESETS)


@pytest.mark.parametrize("preset", sorted(QUANTIZE_PRESETS))
@pytest.mark.parametrize("name", sorted(UNIT))
def test_quantize_preset_equals_its_library(preset, name):
    x = UNIT[name]
    expected = LIBRARY[preset](x)
    got = quantized(x, preset)
    assert got.dtype == np.uint8 and got.shape == x.shape
    bad = np.argwhere(got != expected)
    assert bad.size == 0, (f"{preset} on {name}: {len(bad)} differ, first at {bad[0].tolist()}: "
                           f"x={x[tuple(bad[0])]!r} reference {got[tuple(bad[0])]} library "
                           f"{expected[tuple(bad[0])]}")


def test_torch_float64_byte_goes_through_int64():
    """The int_path knob exists because torch's float64 .byte() (to_pil_image before torchvision
    0.16 wrote pic.mul(255).byte(); training code still does) keeps 2^31 + 300 -> 44 where
    float32 (and numpy) give 0: measured, not assumed."""
    torch = pytest.importorskip("torch")
    x = np.array([[[2147483948.0], [300.7], [-1.0], [np.nan]]]) / 255
    got = torch.from_numpy(x * 255).byte().numpy()
    ref = quantized(x, "torchvision.to_pil_image", compute_dtype="float64", int_path="int64")
    assert got.ravel().tolist() == ref.ravel().tolist() == [44, 44, 255, 0]


def test_torchvision_to_dtype_uint16_maps_one_to_zero():
    """F.to_dtype(t, torch.uint16, scale=True) multiplies by float32(65535 + 1 - 1e-3) = 65536.0,
    so 1.0 becomes 65536, which wraps to 0: white turns black (torchvision 0.29). The preset's
    knobs with dtype uint16 reproduce it."""
    x = UNIT["tensor.traps.unit.f32.nchw"]
    got = quantized(x, "torchvision.to_dtype", dtype="uint16", scale=65535.999)
    assert np.array_equal(got, torchvision_to_dtype(x, "uint16"))
    one = np.argwhere(x == 1.0)[0]
    assert got[tuple(one)] == 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ties_split_the_rounding_rules(dtype):
    """On (k + 0.5)/255 the rules disagree, which is why each is a knob: truncation gives k,
    half up k + 1 wherever ·255 lands on or above the tie, half to even the even neighbour."""
    x = _hwc(ties(dtype))
    k = np.arange(256).reshape(16, 16, 1)
    trunc = quantized(x, "numpy.clip_astype", compute_dtype=np.dtype(dtype).name)
    even = quantized(x, "basicsr.tensor2img", compute_dtype=np.dtype(dtype).name)
    assert (trunc == k).all() or dtype == np.float32  # float32 ·255 may land below the tie
    assert (np.abs(even.astype(int) - k) <= 1).all()
    assert (trunc != even).mean() > 0.4  # roughly every other tie disagrees


def test_nonfinite_values_reproduce_each_library():
    """NaN, +inf, -inf through every preset: the documented value, never an exception."""
    x = _hwc(traps())
    nan, pinf, ninf = (np.argwhere(f(x))[0] for f in (np.isnan, np.isposinf, np.isneginf))
    table = {p: tuple(int(quantized(x, p)[tuple(i)]) for i in (nan, pinf, ninf)) for p in QUANTIZE_PRESETS}
    assert table == {
        "basicsr.tensor2img": (0, 255, 0),  # clamp_ keeps NaN; inf clamps to 1
        "torchvision.to_pil_image": (0, 0, 0),  # int32 "integer indefinite": low byte 0
        "torchvision.to_dtype": (0, 0, 0),
        "numpy.clip_astype": (0, 255, 0),
        "numpy.astype": (0, 0, 0),
        "opencv.convert_scale_abs": (0, 0, 0),  # cvRound(inf) = INT_MIN, saturated to 0
        "rust.as_u8": (0, 255, 0),
        "rust.round_as_u8": (0, 255, 0),
        "pillow.f_to_l": (0, 255, 0),
    }


def test_basicsr_pipeline_equals_tensor2img_on_symmetric_outputs():
    """denormalize + quantize with the basicsr presets = tensor2img(min_max=(-1, 1)) on the
    [-1, 1] corpus tensors (the clamp before the range map equals the one after it: monotone)."""
    for item in tensor_inputs():
        if "tensor_symmetric" not in item.tags:
            continue
        p = pipeline_from_dict({"id": "b", "steps": [
            {"op": "tensor"}, {"op": "denormalize", "preset": "basicsr.tensor2img"},
            {"op": "quantize", "preset": "basicsr.tensor2img"}]})
        x = run_step(make_step({"op": "tensor"}), item.data)
        got = run_pipeline(p, item.data)[-1]
        assert np.array_equal(got, basicsr_tensor2img(x, (-1, 1))), item.id


def test_imagenet_denormalize_equals_torch():
    torch = pytest.importorskip("torch")
    item = next(i for i in tensor_inputs() if "tensor_imagenet" in i.tags)
    x = run_step(make_step({"op": "tensor"}), item.data)
    t = torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))
    mean, std = torch.tensor([0.485, 0.456, 0.406])[:, None, None], torch.tensor([0.229, 0.224, 0.225])[:, None, None]
    want = t.mul(std).add(mean).numpy().transpose(1, 2, 0)
    got = run_step(make_step({"op": "denormalize", "preset": "torchvision.imagenet"}), x)
    assert np.array_equal(got, want)


# --- tensor inputs ---------------------------------------------------------------------------


@pytest.mark.parametrize("layout,shape", [("nchw", (1, 3, 5, 7)), ("chw", (3, 5, 7)),
                                          ("nhwc", (1, 5, 7, 3)), ("hwc", (5, 7, 3))])
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "uint8", "uint16", "int16", "int32"])
def test_tensor_layouts_read_into_hwc(layout, shape, dtype):
    base = np.arange(105).reshape(5, 7, 3).astype(dtype)
    arr = {"nchw": base.transpose(2, 0, 1)[None], "chw": base.transpose(2, 0, 1),
           "nhwc": base[None], "hwc": base}[layout]
    assert arr.shape == shape
    out = run_step(make_step({"op": "tensor", "layout": layout}), npy_bytes(arr))
    assert out.dtype == np.dtype(dtype) and np.array_equal(out, base)


def test_tensor_fortran_order_and_big_endian():
    base = np.arange(30, dtype=np.float32).reshape(2, 5, 3)
    f = np.asfortranarray(base)
    import io
    buf = io.BytesIO()
    np.lib.format.write_array(buf, f, allow_pickle=False)
    assert np.array_equal(run_step(make_step({"op": "tensor", "layout": "hwc"}), buf.getvalue()), base)
    buf = io.BytesIO()
    np.lib.format.write_array(buf, base.astype(">f4"), allow_pickle=False)
    out = run_step(make_step({"op": "tensor", "layout": "hwc"}), buf.getvalue())
    assert out.dtype == np.float32 and out.dtype.isnative and np.array_equal(out, base)


@pytest.mark.parametrize("item", negative_tensors(), ids=lambda i: i.id)
def test_hostile_tensor_files_are_refused(item):
    with pytest.raises(DecodeError):
        run_step(make_step({"op": "tensor"}), item.data)


@pytest.mark.parametrize("arr,needle", [
    (np.zeros((2, 3, 4, 4), np.float32), "batch"),
    (np.zeros((3, 4, 4), np.float32), "rank-4"),
    (np.zeros((1, 7, 4, 4), np.float32), "C must be"),
    (np.zeros((1, 3, 4, 4), np.int64), "dtype"),
    (np.zeros((1, 3, 4, 4), np.complex64), "dtype"),
])
def test_tensor_shape_and_dtype_errors_name_the_problem(arr, needle):
    with pytest.raises((SpecError, DecodeError), match=needle):
        run_step(make_step({"op": "tensor"}), npy_bytes(arr))


def test_max_elements_is_checked_before_reading():
    data = npy_bytes(np.zeros((1, 3, 64, 64), np.float32))
    with pytest.raises(SpecError, match="max_elements"):
        run_step(make_step({"op": "tensor", "max_elements": 1000}), data)


# --- load-time direction rules ---------------------------------------------------------------


@pytest.mark.parametrize("steps,needle", [
    ([{"op": "tensor"}, {"op": "decode"}], "decode after tensor"),
    ([{"op": "decode"}, {"op": "tensor"}], "tensor after decode"),
    ([{"op": "decode"}, {"op": "quantize"}], "quantize takes a float tensor"),
    ([{"op": "decode"}, {"op": "resize", "height": 4, "width": 4}, {"op": "denormalize"}],
     "denormalize takes a float tensor"),
    ([{"op": "tensor"}, {"op": "quantize"}, {"op": "quantize"}], "quantize takes a float tensor"),
    ([{"op": "tensor"}, {"op": "denormalize"}, {"op": "denormalize"}], "at most one denormalize"),
    ([{"op": "tensor"}, {"op": "quantize"}, {"op": "encode"}, {"op": "color"}], "encode can only be the last"),
    ([{"op": "decode"}, {"op": "normalize"}, {"op": "encode"}], "quantize them first"),
    ([{"op": "tensor"}, {"op": "quantize"}, {"op": "layout"}, {"op": "encode"}], "layout must be the last"),
    ([{"op": "resize", "height": 4, "width": 4}, {"op": "tensor"}], "only be the first"),
])
def test_mixed_directions_are_load_time_errors(steps, needle):
    with pytest.raises(SpecError, match=needle):
        pipeline_from_dict({"id": "x", "steps": steps})


def test_encode_after_a_hwc_layout_without_batch_is_allowed():
    pipeline_from_dict({"id": "x", "steps": [
        {"op": "tensor"}, {"op": "quantize"},
        {"op": "layout", "layout": "hwc", "batch": False, "channel_order": "reverse"},
        {"op": "encode", "channel_order": "bgr"}]})


def test_quantize_of_an_integer_tensor_is_a_case_error():
    """After a tensor step the dtype is the file's: integers are caught per case, by name."""
    p = pipeline_from_dict({"id": "x", "steps": [{"op": "tensor"}, {"op": "quantize"}]})
    with pytest.raises(SpecError, match="already integers"):
        run_pipeline(p, npy_bytes(np.zeros((1, 3, 4, 4), np.uint8)))


# --- encode ------------------------------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_png_encode_is_lossless(channels, dtype):
    a = (np.random.default_rng(channels).integers(0, np.iinfo(dtype).max, (9, 11, channels))).astype(dtype)
    assert np.array_equal(run_step(make_step({"op": "encode"}), a), a)


def test_encode_channel_order_bgr_writes_rgb_files():
    """A BGR array written as cv2.imwrite expects reads back as the RGB it came from; the same
    array written as if it were RGB has red and blue swapped (the classic mistake)."""
    rgb = np.zeros((4, 4, 3), np.uint8)
    rgb[..., 0] = 200
    bgr = rgb[..., ::-1].copy()
    assert np.array_equal(run_step(make_step({"op": "encode", "channel_order": "bgr"}), bgr), rgb)
    assert np.array_equal(run_step(make_step({"op": "encode", "channel_order": "rgb"}), bgr), bgr)


def test_jpeg_encode_equals_pillow_and_opencv_round_trips():
    """The reference writes with Pillow's libjpeg-turbo and reads with its own decoder; Pillow
    and OpenCV round trips at the same quality and sampling give the same pixels."""
    import io

    import cv2
    from PIL import Image
    item = next(i for i in tensor_inputs() if i.id == "tensor.photo.unit.f32.nchw")
    x = quantized(run_step(make_step({"op": "tensor"}), item.data), "basicsr.tensor2img")
    for quality, sampling, code in ((90, "420", 2), (75, "444", 0), (50, "422", 1)):
        ref = run_step(make_step({"op": "encode", "format": "jpeg", "quality": quality,
                                  "sampling": sampling}), x)
        buf = io.BytesIO()
        Image.fromarray(x).save(buf, "JPEG", quality=quality, subsampling=code)
        assert np.array_equal(ref, np.asarray(Image.open(buf)))
        ok, enc = cv2.imencode(".jpg", x[..., ::-1].copy(), [
            cv2.IMWRITE_JPEG_QUALITY, quality, cv2.IMWRITE_JPEG_SAMPLING_FACTOR,
            getattr(cv2, f"IMWRITE_JPEG_SAMPLING_FACTOR_{sampling}")])
        assert np.array_equal(ref, cv2.imdecode(enc, cv2.IMREAD_COLOR)[..., ::-1])


def test_encode_refuses_what_the_format_cannot_hold():
    with pytest.raises(SpecError, match="8-bit"):
        run_step(make_step({"op": "encode", "format": "jpeg"}), np.zeros((4, 4, 3), np.uint16))
    with pytest.raises(SpecError, match="channels"):
        run_step(make_step({"op": "encode", "format": "jpeg"}), np.zeros((4, 4, 4), np.uint8))


def test_pillow_fromarray_refuses_float_colour_and_reads_float_gray_as_mode_f():
    """Why the pillow harness quantizes band by band through mode F (docs/way-back.md)."""
    from PIL import Image
    with pytest.raises(TypeError, match="Cannot handle this data type"):
        Image.fromarray(np.zeros((2, 2, 3), np.float32))
    assert Image.fromarray(np.zeros((2, 2), np.float32)).mode == "F"
    assert Image.fromarray(np.zeros((2, 2), np.float64)).mode == "F"
