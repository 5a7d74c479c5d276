"""The way back (tensor, denormalize, quantize, encode) as ONNX graphs (conformance.harnesses.
onnx_graphs), run by ONNX Runtime and by tract, against the reference.

Measured with onnxruntime 1.31.1 and tract-onnx 0.23.9 on x86-64 — each finding asserted below:

1. ONNX Runtime's ``Cast`` from float16/32/64 to uint8/uint16 truncates toward zero through int32:
   NaN, ±inf and values outside [−2^31, 2^31) become −2^31 (the x86 "integer indefinite"), whose
   low 8/16 bits are 0; other values keep their low bits (−1 -> 255, 256 -> 0, 2^31 − 128 -> 128).
   Float64 too goes through int32 (2^31 + 1 -> 0, not 1). Cast to int32 / int64 gives −2^31 /
   −2^63 for NaN, ±inf and out-of-range values; integer -> uint8/uint16 keeps the low bits.
   That is the reference's ``int_path="int32", overflow="wrap", rounding="truncate"``.
2. With the knob -> op mapping of onnx_graphs (Cast(int32|int64) for int_path, Clip to saturate),
   every QUANTIZE_PRESETS entry is bit-exact on ONNX Runtime, for float16/32/64 inputs, both
   compute dtypes and uint8/uint16, NaN, ±inf and 3e9 included; so is every combination of the
   quantize knobs except three, whose differences are exactly:
   - ``int_path="exact", overflow="wrap"`` (no clean ONNX expression; no preset): the Cast goes
     through int32, so a rounded value outside [−2^31, 2^31) or ±inf gives 0 where the reference
     keeps v mod 2^bits;
   - ``int_path="int64", overflow="wrap"`` (torchvision's ``.byte()`` on a float64 tensor): ONNX
     Runtime fuses Cast(int64) -> Cast(uint8/uint16) into one Cast, even with graph
     optimisations disabled, and that Cast goes through int32: the same 0s as above;
   - ``int_path="int64", overflow="saturate"`` (no preset): ONNX Runtime's int64 Clip returns
     the lower bound for values in [2^31, 2^32) (outside the scalar tail of an odd-length
     tensor), so 0 where the reference saturates to max.
3. Both DENORMALIZE_PRESETS, in float32 and float64, and the tensor step in every layout and
   dtype are bit-exact on ONNX Runtime.
4. tract runs the same graphs: tensor and denormalize bit-exact; quantize bit-exact except that
   its Cast float -> int32 saturates (Rust ``as``: +inf and values >= 2^31 become 2^31 − 1, NaN
   0), so where the reference's int32 path gives 0 for a rounded value >= 2^31 or +inf (the
   int32 presets without a clamp: torchvision.to_pil_image, torchvision.to_dtype, numpy.astype
   and opencv.convert_scale_abs, where after Abs −inf and <= −2^31 count too) tract gives max
   (4 cases of vectors/default fail by 255 in isolated mode); and tract's Round has no float64 kernel
   ("RoundHalfToEven does not support F64"), so a half_even quantize in float64 is unsupported.
"""

from __future__ import annotations

import io
import itertools

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import helper

from conformance.bundle import npy_bytes
from conformance.harnesses import load
from conformance.harnesses.base import Unsupported
from conformance.harnesses.base import load_tensor as read_npy
from conformance.harnesses.onnx_graphs import ENCODE_UNSUPPORTED, OPSET, build_step_graph, check_step
from conformance.harnesses.onnxruntime import OnnxRuntimeHarness, session_options
from conformance.presets import DENORMALIZE_PRESETS, QUANTIZE_PRESETS
from conformance.reference.pipeline import run_step
from conformance.reference.postprocess.quantize import round_values
from conformance.spec import make_step

FLOATS = (np.float32, np.float64, np.float16)
TOP = {"uint8": 255, "uint16": 65535}


@pytest.fixture(scope="module")
def harness() -> OnnxRuntimeHarness:
    h = load("onnxruntime")
    assert isinstance(h, OnnxRuntimeHarness)
    return h


def way_back_values(dtype) -> np.ndarray:
    """A (1, 3, 4, W) model output: values at (k + 0.5)/255 and k/255 for every k, just above the
    ties, slightly negative, slightly above 1, NaN, ±inf, huge (3e9/255, 2^31/255, 1e30), the
    float32 just below 1/2, ±0."""
    k = np.arange(256, dtype=np.float64)
    specials = [np.nan, np.inf, -np.inf, 3e9 / 255, -3e9 / 255, 2.0 ** 31 / 255, 1e30, -1e30,
                0.5 - 2.0 ** -25, -0.0, 0.0, 65535.5 / 255, 257.3 / 255, (2.0 ** 31 + 2.0 ** 24) / 255]
    x = np.concatenate([(k + 0.5) / 255, k / 255, (k + 0.5) / 255 + 1e-7, -k / 255 / 7,
                        1 + k / 255 / 3, specials])
    n = -(-len(x) // 12) * 12
    x = np.concatenate([x, np.linspace(-0.1, 1.1, n - len(x))])
    with np.errstate(over="ignore"):
        return x.astype(dtype).reshape(1, 3, 4, -1)


def bit_equal(a: np.ndarray, b: np.ndarray) -> bool:
    """Same dtype, shape and bits (any NaN equals any NaN)."""
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype.kind != "f":
        return bool(np.array_equal(a, b))
    same = (a == b) & (np.signbit(a) == np.signbit(b))
    return bool(np.all(same | (np.isnan(a) & np.isnan(b))))


def tensor_of(dtype) -> np.ndarray:
    """The (H, W, C) reference tensor of way_back_values."""
    return run_step(make_step({"op": "tensor", "layout": "nchw"}), npy_bytes(way_back_values(dtype)))


def rounded(image: np.ndarray, knobs: dict) -> np.ndarray:
    """The reference quantize's float part (clip, scale, abs, clip, round), in float64."""
    ct = np.dtype(knobs["compute_dtype"])
    top, scale = ct.type(TOP[knobs["dtype"]]), ct.type(knobs["scale"])
    x = image.astype(ct)
    with np.errstate(all="ignore"):
        if knobs["clamp"] == "before":
            x = np.clip(x, ct.type(0), top / scale)
        y = x * scale
        if knobs["absolute"]:
            y = np.abs(y)
        if knobs["clamp"] == "after":
            y = np.clip(y, ct.type(0), top)
        return round_values(y, knobs["rounding"]).astype(np.float64)


# ---------------------------------------------------------------------------------------------
# Finding 1: ONNX Runtime's Cast
# ---------------------------------------------------------------------------------------------


def _cast_session(src, dst, n: int) -> ort.InferenceSession:
    s, d = helper.np_dtype_to_tensor_dtype(np.dtype(src)), helper.np_dtype_to_tensor_dtype(np.dtype(dst))
    graph = helper.make_graph([helper.make_node("Cast", ["x"], ["y"], to=d)], "cast",
                              [helper.make_tensor_value_info("x", s, [n])],
                              [helper.make_tensor_value_info("y", d, [n])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=9)
    return ort.InferenceSession(model.SerializeToString(), sess_options=session_options(),
                                providers=["CPUExecutionProvider"])


def cast_model(v: np.ndarray, dst: str) -> np.ndarray:
    """Finding 1 as a model: truncate toward zero into int32 (int64 for an int64 target), the
    integer indefinite for NaN, ±inf and out-of-range values, then the low bits."""
    bits = 64 if dst == "int64" else 32
    lo, hi = -(2.0 ** (bits - 1)), 2.0 ** (bits - 1)
    v = v.astype(np.float64)
    with np.errstate(invalid="ignore"):
        t = np.trunc(np.where(np.isnan(v) | (v < lo) | (v >= hi), lo, v))
    out = [int(x) for x in t]  # exact: every value is an integer below 2^63 in magnitude
    if dst in ("uint8", "uint16"):
        out = [x % (TOP[dst] + 1) for x in out]
    return np.array(out, dtype=dst)


CAST_VALUES = [0.4, 0.5, 0.6, 1.5, 2.5, 254.7, 255.0, 255.5, 256.0, 257.3, -0.3, -0.7, -1.0, -1.5,
               -255.0, -256.0, 65535.0, 65536.0, 65537.0, -65536.0, 2.0 ** 31 - 128, 2.0 ** 31,
               2.0 ** 31 + 1, 3e9, 4294967295.0, 2.0 ** 32 + 512, 2.0 ** 40, -2.0 ** 31,
               -2.0 ** 31 - 1, -3e9, 2.0 ** 63, 2.0 ** 64, 1e30, np.nan, -np.nan, np.inf, -np.inf]


@pytest.mark.parametrize("src", ["float32", "float64", "float16"])
@pytest.mark.parametrize("dst", ["uint8", "uint16", "int32", "int64"])
def test_ort_cast_table(src, dst):
    with np.errstate(over="ignore"):
        x = np.array(CAST_VALUES, dtype=src)
    x = np.repeat(x, 37)  # long runs: the vectorised loops, not only the scalar tail
    got = _cast_session(src, dst, len(x)).run(None, {"x": x})[0]
    assert np.array_equal(got, cast_model(x, dst))


def test_ort_cast_table_spot_values():
    """The docstring table's rows, spelled out."""
    def cast(values, src="float32", dst="uint8"):
        x = np.array(values, dtype=src)
        return _cast_session(src, dst, len(x)).run(None, {"x": x})[0].tolist()

    assert cast([0.4, 0.6, 1.5, 254.7, -0.3, -0.7]) == [0, 0, 1, 254, 0, 0]
    assert cast([-1.0, -1.5, -255.0, -256.0, 256.0, 257.3]) == [255, 255, 1, 0, 0, 1]
    assert cast([-1.0, -255.0, 256.0, 65537.0], dst="uint16") == [65535, 65281, 256, 1]
    assert cast([2.0 ** 31 - 128, 2.0 ** 31, 3e9, np.nan, np.inf, -np.inf]) == [128, 0, 0, 0, 0, 0]
    assert cast([2.0 ** 31 + 1, 4294967295.0], src="float64") == [0, 0]  # through int32, not int64
    assert cast([np.nan, np.inf, 3e9], dst="int32") == [-2 ** 31] * 3
    assert cast([np.nan, np.inf, 2.0 ** 63, 3e9], dst="int64") == [-2 ** 63] * 3 + [3000000000]
    for it in ("int32", "int64"):
        assert cast([-1, 255, 256, 65539], src=it, dst="uint8") == [255, 255, 0, 3]
        assert cast([-1, 65539], src=it, dst="uint16") == [65535, 3]


def _int64_clip_session(n: int) -> ort.InferenceSession:
    t = onnx.TensorProto.INT64
    lo, hi = helper.make_tensor("lo", t, [], [0]), helper.make_tensor("hi", t, [], [255])
    graph = helper.make_graph([helper.make_node("Clip", ["x", "lo", "hi"], ["y"])], "clip",
                              [helper.make_tensor_value_info("x", t, [n])],
                              [helper.make_tensor_value_info("y", t, [n])], [lo, hi])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=9)
    return ort.InferenceSession(model.SerializeToString(), sess_options=session_options(),
                                providers=["CPUExecutionProvider"])


def test_ort_int64_clip_bug():
    """Finding 2, second bullet: int64 Clip on ONNX Runtime 1.31.1 reads [2^31, 2^32) as below the
    lower bound, except for the scalar tail of an odd-length tensor."""
    values = np.array([2 ** 31, 3_000_000_000, 2 ** 32 - 1, 2 ** 32, 2 ** 40, -2 ** 31, 100, 300],
                      np.int64)
    x = np.repeat(values, 4)
    got = _int64_clip_session(len(x)).run(None, {"x": x})[0].reshape(-1, 4)
    assert got.tolist() == [[v] * 4 for v in (0, 0, 0, 255, 255, 0, 100, 255)]
    odd = _int64_clip_session(3).run(None, {"x": np.full(3, 3_000_000_000, np.int64)})[0]
    assert odd.tolist() == [0, 0, 255]


def test_ort_fuses_cast_chains_through_int64():
    """Finding 2, int64 + wrap: Cast(double -> int64) -> Cast(int64 -> uint16) is run as one Cast
    double -> uint16 (through int32), even with ORT_DISABLE_ALL; each Cast alone is right."""
    t = onnx.TensorProto
    x = np.array([771000007710.0, 3e9, 5.0, -3e9], np.float64)
    nodes = [helper.make_node("Cast", ["x"], ["m"], to=t.INT64),
             helper.make_node("Cast", ["m"], ["y"], to=t.UINT16)]
    graph = helper.make_graph(nodes, "chain", [helper.make_tensor_value_info("x", t.DOUBLE, [4])],
                              [helper.make_tensor_value_info("y", t.UINT16, [4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=9)
    for level in (ort.GraphOptimizationLevel.ORT_DISABLE_ALL, ort.GraphOptimizationLevel.ORT_ENABLE_ALL):
        options = session_options()
        options.graph_optimization_level = level
        session = ort.InferenceSession(model.SerializeToString(), sess_options=options,
                                       providers=["CPUExecutionProvider"])
        assert session.run(None, {"x": x})[0].tolist() == [0, 0, 5, 0]
    as_int64 = _cast_session("float64", "int64", 4).run(None, {"x": x})[0]
    assert as_int64.tolist() == [771000007710, 3000000000, 5, -3000000000]
    assert _cast_session("int64", "uint16", 4).run(None, {"x": as_int64})[0].tolist() == \
        [31774, 24064, 5, 41472]  # the low 16 bits, as the reference's int64 path keeps them


# ---------------------------------------------------------------------------------------------
# tensor
# ---------------------------------------------------------------------------------------------

LAYOUT_SHAPES = {"nchw": (1, 3, 4, 5), "chw": (3, 4, 5), "nhwc": (1, 4, 5, 3), "hwc": (4, 5, 3)}


@pytest.mark.parametrize("layout", list(LAYOUT_SHAPES))
@pytest.mark.parametrize("dtype", ["uint8", "uint16", "int16", "int32", "float16", "float32", "float64"])
def test_tensor_layouts_and_dtypes(harness, layout, dtype):
    shape = LAYOUT_SHAPES[layout]
    rng = np.random.default_rng(7)
    if np.dtype(dtype).kind == "f":
        a = rng.normal(0.5, 2, size=shape).astype(dtype)
        a.flat[:3] = [np.nan, np.inf, -np.inf]
    else:
        info = np.iinfo(dtype)
        a = rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)
    step = make_step({"op": "tensor", "layout": layout})
    data = npy_bytes(a)
    ref = run_step(step, data)
    got = harness.run(step.knobs(), data)
    assert bit_equal(got, ref)
    assert got.shape[2] == 3


@pytest.mark.parametrize("dtype", FLOATS)
def test_tensor_way_back_values(harness, dtype):
    step = make_step({"op": "tensor", "layout": "nchw"})
    data = npy_bytes(way_back_values(dtype))
    assert bit_equal(harness.run(step.knobs(), data), run_step(step, data))


def _npy(array: np.ndarray, version=(1, 0)) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, array, version=version, allow_pickle=False)
    return buf.getvalue()


def test_tensor_reads_fortran_big_endian_and_v2_v3(harness):
    a = np.arange(60, dtype=np.float32).reshape(3, 4, 5) / 7
    step = make_step({"op": "tensor", "layout": "chw"})
    for data in (_npy(np.asfortranarray(a)), _npy(a.astype(">f4")), _npy(a, (2, 0)), _npy(a, (3, 0))):
        got = harness.run(step.knobs(), data)
        assert bit_equal(got, run_step(step, data))
        assert got.dtype == np.float32 and got.dtype.byteorder in ("=", "<")


def test_tensor_rejects_malformed_files(harness):
    step = make_step({"op": "tensor", "layout": "chw"}).knobs()
    good = npy_bytes(np.zeros((3, 4, 5), np.float32))
    with pytest.raises(ValueError, match="file holds"):
        harness.run(step, good[:-4])  # truncated data
    with pytest.raises(ValueError, match="file holds"):
        harness.run(step, good + b"\0" * 4)  # trailing bytes
    with pytest.raises(ValueError, match="magic"):
        harness.run(step, b"not a npy file at all")
    obj = io.BytesIO()
    np.lib.format.write_array(obj, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="dtype"):
        harness.run(step, obj.getvalue())
    with pytest.raises(ValueError, match="dtype"):
        harness.run(step, npy_bytes(np.zeros((3, 4, 5), np.complex64)))
    with pytest.raises(ValueError, match="max_elements"):
        harness.run(make_step({"op": "tensor", "layout": "chw", "max_elements": 59}).knobs(), good)
    # a header that declares far more than the file holds is refused before allocating
    lying = good.replace(b"(3, 4, 5)", b"(3, 4, 9)")
    with pytest.raises(ValueError, match="file holds"):
        harness.run(step, lying)
    with pytest.raises(ValueError, match="rank-4"):
        harness.run(make_step({"op": "tensor", "layout": "nchw"}).knobs(), good)
    with pytest.raises(ValueError, match="batch"):
        harness.run(make_step({"op": "tensor", "layout": "nchw"}).knobs(),
                    npy_bytes(np.zeros((2, 3, 4, 5), np.float32)))
    with pytest.raises(ValueError, match="C must be 1..4"):
        harness.run(make_step({"op": "tensor", "layout": "hwc"}).knobs(), good)  # C = 5
    with pytest.raises(TypeError, match="bytes of a .npy"):
        harness.run(step, np.zeros((3, 4, 5), np.float32))


def test_read_npy_is_the_file_as_it_is():
    a = np.arange(24, dtype=np.uint16).reshape(1, 2, 3, 4)
    got = read_npy(npy_bytes(a), 24)
    assert got.dtype == np.uint16 and got.shape == (1, 2, 3, 4) and np.array_equal(got, a)
    with pytest.raises(ValueError, match="max_elements"):
        read_npy(npy_bytes(a), 23)


# ---------------------------------------------------------------------------------------------
# denormalize
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("preset", sorted(DENORMALIZE_PRESETS))
@pytest.mark.parametrize("compute", ["float32", "float64"])
@pytest.mark.parametrize("dtype", FLOATS)
def test_denormalize_presets_bit_exact(harness, preset, compute, dtype):
    image = tensor_of(dtype)
    step = make_step({"op": "denormalize", "preset": preset, "compute_dtype": compute})
    got = harness.run(step.knobs(), image)
    assert bit_equal(got, run_step(step, image))
    assert got.dtype == np.dtype(compute)


@pytest.mark.parametrize("knobs", [
    {"mode": "mean_std", "mean": [0.5], "std": [0.5], "scale": 1 / 255},
    {"mode": "mean_std", "mean": [0.1, 0.2, 0.3], "std": [0.7, 0.8, 0.9], "scale": 3.0},
    {"mode": "range", "from_range": [-1.0, 1.0], "to_range": [0.0, 255.0]},
    {"mode": "range", "from_range": [0.1, 0.7], "to_range": [-3.0, 5.5]},
])
@pytest.mark.parametrize("compute", ["float32", "float64"])
def test_denormalize_knobs_bit_exact(harness, knobs, compute):
    image = tensor_of(np.float32)
    step = make_step({"op": "denormalize", **knobs, "compute_dtype": compute})
    assert bit_equal(harness.run(step.knobs(), image), run_step(step, image))


def test_denormalize_and_quantize_refuse_integers(harness):
    image = np.zeros((2, 2, 3), np.uint8)
    with pytest.raises(ValueError, match="float tensor"):
        harness.run(make_step({"op": "denormalize"}).knobs(), image)
    with pytest.raises(ValueError, match="float tensor"):
        harness.run(make_step({"op": "quantize"}).knobs(), image)
    with pytest.raises(ValueError, match="3 mean values for 2 channels|values for 2 channels"):
        harness.run(make_step({"op": "denormalize", "mode": "mean_std",
                               "mean": [0.1, 0.2, 0.3]}).knobs(), np.zeros((2, 2, 2), np.float32))


# ---------------------------------------------------------------------------------------------
# quantize
# ---------------------------------------------------------------------------------------------

QUANTIZE_VARIANTS = {
    "as_is": {},
    "float64": {"compute_dtype": "float64"},
    "uint16": {"dtype": "uint16", "scale": 65535.0},
}


@pytest.mark.parametrize("preset", sorted(QUANTIZE_PRESETS))
@pytest.mark.parametrize("variant", list(QUANTIZE_VARIANTS))
@pytest.mark.parametrize("dtype", FLOATS)
def test_quantize_presets_bit_exact(harness, preset, variant, dtype):
    """Finding 2: every preset, as it is, in float64 and to uint16, on float16/32/64 tensors."""
    image = tensor_of(dtype)
    step = make_step({"op": "quantize", "preset": preset, **QUANTIZE_VARIANTS[variant]})
    got = harness.run(step.knobs(), image)
    ref = run_step(step, image)
    assert got.dtype == ref.dtype and got.shape == ref.shape
    bad = np.argwhere(got != ref)
    assert bad.size == 0, [(float(image[tuple(i)]), int(ref[tuple(i)]), int(got[tuple(i)])) for i in bad[:5]]


def expected_ort_quantize(image: np.ndarray, knobs: dict, ref: np.ndarray) -> np.ndarray | None:
    """What ONNX Runtime gives where it is not the reference (finding 2); ``None`` when the
    knobs leave no documented difference (then ORT must equal the reference)."""
    if knobs["int_path"] in ("exact", "int64") and knobs["overflow"] == "wrap":
        r = rounded(image, knobs)
        with np.errstate(invalid="ignore"):
            outside = ~((r >= -(2.0 ** 31)) & (r < 2.0 ** 31))  # NaN is 0 in both
        return np.where(outside & ~np.isnan(r), 0, ref).astype(ref.dtype)
    return None


QUANTIZE_GRID = list(itertools.product(("before", "after", "none"),
                                       ("half_even", "half_up", "half_away", "truncate", "floor"),
                                       ("saturate", "wrap"), ("exact", "int32", "int64"),
                                       (False, True)))


@pytest.mark.parametrize("clamp,rounding,overflow,int_path,absolute", QUANTIZE_GRID)
@pytest.mark.parametrize("compute,out", [("float32", "uint8"), ("float64", "uint16")])
def test_quantize_knob_grid(harness, clamp, rounding, overflow, int_path, absolute, compute, out):
    """Every knob combination: the reference, or exactly finding 2's two differences."""
    image = tensor_of(np.float32)
    knobs = {"op": "quantize", "clamp": clamp, "rounding": rounding, "overflow": overflow,
             "int_path": int_path, "absolute": absolute, "compute_dtype": compute, "dtype": out,
             "scale": float(TOP[out])}
    step = make_step(knobs)
    got = harness.run(step.knobs(), image)
    ref = run_step(step, image)
    assert got.dtype == ref.dtype
    if int_path == "int64" and overflow == "saturate":
        # ORT's int64 Clip: values in [2^31, 2^32) read as below 0 (outside an odd tail)
        r = rounded(image, step.knobs())
        diff = got != ref
        assert np.all((r[diff] >= 2.0 ** 31) & (r[diff] < 2.0 ** 32))
        assert np.all(got[diff] == 0) and np.all(ref[diff] == TOP[out])
        in_window = (r >= 2.0 ** 31) & (r < 2.0 ** 32)
        assert diff.any() == (np.count_nonzero(in_window) > 1)
        return
    expected = expected_ort_quantize(image, step.knobs(), ref)
    if expected is None:
        assert np.array_equal(got, ref)
    else:
        assert np.array_equal(got, expected)
        # the difference is real on these values in float64 (float32 values >= 2^31 are
        # multiples of 256: their low 8 bits are 0 either way)
        assert np.array_equal(expected, ref) == (clamp != "none" or compute == "float32")


def test_exact_half_up_where_floor_plus_half_is_not():
    """Why half_up/half_away are not Floor(y + 0.5): y = 0.5 − 2^-25 (float32)."""
    y = np.float32(0.5) - np.float32(2.0 ** -25)
    assert np.floor(y + np.float32(0.5)) == 1  # y + 0.5 rounds to 1.0
    h = OnnxRuntimeHarness()
    image = np.full((1, 2, 1), y, np.float32)
    image[0, 1, 0] = -y
    for rounding in ("half_up", "half_away"):
        step = make_step({"op": "quantize", "scale": 1.0, "rounding": rounding, "clamp": "none",
                          "overflow": "wrap", "int_path": "int32"})
        assert h.run(step.knobs(), image).ravel().tolist() == [0, 0] == \
            run_step(step, image).ravel().tolist()


# ---------------------------------------------------------------------------------------------
# encode, color and layout on the way back, the whole chain, graphs, harness metadata
# ---------------------------------------------------------------------------------------------


def test_encode_is_unsupported(harness):
    for fmt in ("png", "jpeg"):
        step = make_step({"op": "encode", "format": fmt}).knobs()
        assert harness.check(step) == ENCODE_UNSUPPORTED
        assert "cv2.imwrite / PIL Image.save" in harness.check(step)
        with pytest.raises(Unsupported):
            harness.run(step, np.zeros((2, 2, 3), np.uint8))


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float16", "float32", "float64"])
def test_color_and_layout_on_way_back_dtypes(harness, dtype):
    rng = np.random.default_rng(3)
    image = (rng.random((4, 5, 3)) * 300).astype(dtype)
    if image.dtype.kind == "f":
        image.flat[:2] = [np.nan, -np.inf]
    steps = [make_step({"op": "color", "conversion": c}) for c in ("rgb_to_bgr", "bgr_to_rgb")]
    steps += [make_step({"op": "layout", "layout": lay, "batch": b, "channel_order": o})
              for lay in ("hwc", "chw") for b in (True, False) for o in ("keep", "reverse")]
    for step in steps:
        assert bit_equal(harness.run(step.knobs(), image), run_step(step, image)), step.knobs()


@pytest.mark.parametrize("dtype", FLOATS)
def test_chain_tensor_to_pixels(harness, dtype):
    """tensor -> denormalize -> quantize -> color -> layout, each on the harness's own output."""
    data = npy_bytes(way_back_values(dtype))
    steps = [make_step({"op": "tensor", "layout": "nchw"}),
             make_step({"op": "denormalize", "preset": "basicsr.tensor2img"}),
             make_step({"op": "quantize", "preset": "basicsr.tensor2img"}),
             make_step({"op": "color", "conversion": "rgb_to_bgr"}),
             make_step({"op": "layout", "layout": "hwc", "batch": False})]
    ours, ref = data, data
    for step in steps:
        ours, ref = harness.run(step.knobs(), ours), run_step(step, ref)
        assert bit_equal(ours, ref), step.op


@pytest.mark.parametrize("raw,shape,dtype", [
    ({"op": "tensor", "layout": "nchw"}, (1, 3, 4, 5), np.float32),
    ({"op": "tensor", "layout": "nhwc"}, (1, 4, 5, 1), np.uint16),
    ({"op": "tensor", "layout": "hwc"}, (4, 5, 3), np.float16),
    ({"op": "denormalize", "preset": "torchvision.imagenet"}, (4, 5, 3), np.float16),
    ({"op": "denormalize", "preset": "basicsr.tensor2img", "compute_dtype": "float64"}, (4, 5, 3), np.float32),
    *[({"op": "quantize", "preset": p}, (4, 5, 3), np.float32) for p in sorted(QUANTIZE_PRESETS)],
    ({"op": "quantize", "rounding": "half_away", "int_path": "int64", "compute_dtype": "float64",
      "dtype": "uint16", "scale": 65535.0}, (4, 5, 3), np.float64),
])
def test_way_back_graphs_are_valid_and_deterministic(raw, shape, dtype):
    step = make_step(raw).knobs()
    assert check_step(step) is None
    model = build_step_graph(step, shape, dtype)
    onnx.checker.check_model(model, full_check=True)
    assert model.SerializeToString() == build_step_graph(step, shape, dtype).SerializeToString()
    assert model.graph.name.startswith(raw["op"])


def test_capabilities_and_describe(harness):
    caps = harness.capabilities()
    for op in ("tensor", "denormalize", "quantize", "encode"):
        assert op in caps
    q = harness.describe(make_step({"op": "quantize", "preset": "opencv.convert_scale_abs"}).knobs())
    assert q == ("onnxruntime: Cast(float32) -> Mul(scale) -> Abs -> Round -> Cast(int32) -> "
                 "Clip(0, max) -> Cast(uint8)")
    t = harness.describe(make_step({"op": "tensor", "layout": "nchw"}).knobs())
    assert t.endswith("Squeeze(axes=[0]) -> Transpose(perm=[1, 2, 0])")
    d = harness.describe(make_step({"op": "denormalize", "preset": "basicsr.tensor2img"}).knobs())
    assert "Sub(a) -> Div(b - a) -> Mul(d - c) -> Add(c)" in d


# ---------------------------------------------------------------------------------------------
# tract (finding 4)
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tract():
    pytest.importorskip("conformance_rust")
    return load("tract")


def expected_tract_quantize(image: np.ndarray, knobs: dict, ref: np.ndarray) -> np.ndarray:
    """Finding 4: tract's Cast to int32 saturates, so a rounded value >= 2^31 (or +inf) on an
    int32 path is max (2^31 − 1 saturated or wrapped) where the reference's indefinite gives 0;
    NaN and values <= −2^31 agree (0)."""
    if knobs["int_path"] != "int32":
        return ref
    r = rounded(image, knobs)
    with np.errstate(invalid="ignore"):
        high = r >= 2.0 ** 31
    return np.where(high, TOP[knobs["dtype"]], ref).astype(ref.dtype)


@pytest.mark.parametrize("dtype", FLOATS)
def test_tract_way_back(tract, dtype):
    data = npy_bytes(way_back_values(dtype))
    tstep = make_step({"op": "tensor", "layout": "nchw"})
    image = run_step(tstep, data)
    assert bit_equal(tract.run(tstep.knobs(), data), image)
    for preset in sorted(DENORMALIZE_PRESETS):
        for compute in ("float32", "float64"):
            step = make_step({"op": "denormalize", "preset": preset, "compute_dtype": compute})
            assert bit_equal(tract.run(step.knobs(), image), run_step(step, image)), (preset, compute)
    differing = set()
    for preset in sorted(QUANTIZE_PRESETS):
        for variant, extra in QUANTIZE_VARIANTS.items():
            step = make_step({"op": "quantize", "preset": preset, **extra})
            knobs = step.knobs()
            if knobs["compute_dtype"] == "float64" and knobs["rounding"] == "half_even":
                with pytest.raises(Unsupported, match="RoundHalfToEven does not support F64"):
                    tract.run(knobs, image)
                continue
            ref = run_step(step, image)
            expected = expected_tract_quantize(image, knobs, ref)
            got = tract.run(knobs, image)
            assert got.dtype == ref.dtype and np.array_equal(got, expected), (preset, variant)
            if not np.array_equal(expected, ref):
                differing.add(preset)
    # the int32 presets without a clamp (values >= 2^31 reach the cast): torchvision.to_pil_image,
    # torchvision.to_dtype, numpy.astype, opencv.convert_scale_abs
    assert differing == {p for p, k in QUANTIZE_PRESETS.items()
                         if k["int_path"] == "int32" and k["clamp"] == "none"}
    assert {"torchvision.to_pil_image", "numpy.astype", "opencv.convert_scale_abs"} <= differing


def test_tract_color_layout_after_quantize(tract):
    image = (np.arange(60).reshape(4, 5, 3) * 7 % 256).astype(np.uint8)
    for step in (make_step({"op": "color", "conversion": "rgb_to_bgr"}),
                 make_step({"op": "layout", "layout": "chw", "batch": True})):
        assert bit_equal(tract.run(step.knobs(), image), run_step(step, image))
    assert "image encoder" in tract.check(make_step({"op": "encode"}).knobs())
