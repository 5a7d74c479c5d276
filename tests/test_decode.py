"""The ``decode`` op (reference/decode.py): each DECODE preset against the library it names,
and each knob on small hand-checkable inputs. Tolerance: 0 (max abs difference per element)."""

from __future__ import annotations

import dataclasses
import io

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from conformance.encoders import png as enc
from conformance.errors import DecodeError, LimitsExceeded, UnsupportedFeature
from conformance.presets import DECODE_PRESETS
from conformance.reference.color import composite_over
from conformance.reference.decode import decode_image, png_to_array, probe
from conformance.reference.pipeline import run_step
from conformance.reference.png import read_png
from conformance.spec import Decode

SOURCE = "case.png"
PILLOW = Decode(**DECODE_PRESETS["pillow"], preset="pillow")
OPENCV = Decode(**DECODE_PRESETS["opencv"], preset="opencv")
# One variant per (type, depth, size, interlace) plus every tRNS variant: all paths, fewer files.
VARIANTS = [v for v in enc.png_variants() if v.options["filters"] == "rotate"]


def knobs(base: Decode = Decode(), **kw) -> Decode:
    return dataclasses.replace(base, **kw)


def show(name: str, got: np.ndarray, want: np.ndarray) -> str:
    """A readable failure: both grids (small images) and the worst element."""
    if got.shape != want.shape:
        return f"{name}: shape {got.shape} != {want.shape}"
    d = np.abs(got.astype(np.int64) - want.astype(np.int64))
    worst = np.unravel_index(d.argmax(), d.shape)
    return f"{name}: max |diff| {d.max()} at {worst}\ngot:\n{got[..., 0]}\nwant:\n{want[..., 0]}"


def assert_same(name, got, want):
    assert got.shape == want.shape and got.dtype == want.dtype and np.array_equal(got, want), \
        show(name, got, want)


def pillow_rgb(data: bytes, transpose: bool = False) -> np.ndarray:
    im = Image.open(io.BytesIO(data))
    if transpose:
        im = ImageOps.exif_transpose(im)
    return np.array(im.convert("RGB"))


def opencv_color(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


# ------------------------------------------------------------------------------------------
# Presets against their libraries
# ------------------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:Palette images with Transparency")
def test_pillow_and_opencv_presets_on_every_variant():
    for v in VARIANTS:
        data = v.encode()
        assert_same(f"{v.name} pillow", decode_image(data, PILLOW, source=v.name), pillow_rgb(data))
        assert_same(f"{v.name} opencv", decode_image(data, OPENCV, source=v.name), opencv_color(data))


@pytest.mark.filterwarnings("ignore:Palette images with Transparency")
def test_gray_output_matches_pillow_convert_L():
    step = knobs(PILLOW, output="gray", gray_arithmetic="pillow_fixed")
    for v in VARIANTS:
        data = v.encode()
        want = np.array(Image.open(io.BytesIO(data)).convert("L"))[:, :, None]
        assert_same(v.name, decode_image(data, step), want)


@pytest.mark.parametrize("ct, depth", [(2, 8), (0, 4), (6, 16), (3, 2), (0, 16)])
@pytest.mark.parametrize("orientation", range(0, 10))
def test_exif_orientations(ct, depth, orientation):
    samples, palette = enc.synthetic_image(5, 7, ct, depth, seed=orientation)
    data = enc.encode_png(samples, colour_type=ct, bit_depth=depth, palette=palette,
                          exif_orientation=orientation, exif_byte_order="II" if orientation % 2 else "MM")
    name = f"ct{ct}_{depth}_o{orientation}"
    assert_same(name + " opencv applies", decode_image(data, OPENCV), opencv_color(data))
    assert_same(name + " pillow ignores", decode_image(data, PILLOW), pillow_rgb(data))
    assert_same(name + " exif_transpose", decode_image(data, knobs(PILLOW, orientation="apply")),
                pillow_rgb(data, transpose=True))
    if orientation in (5, 6, 7, 8):
        assert decode_image(data, OPENCV).shape[:2] == (7, 5)


def test_late_eXIf_is_applied_like_both_libraries():
    samples, _ = enc.synthetic_image(4, 6, 2, 8, seed=1)
    data = enc.encode_png(samples, colour_type=2, bit_depth=8, exif_orientation=6, exif_after_idat=True)
    assert_same("opencv", decode_image(data, OPENCV), opencv_color(data))
    assert_same("pillow", decode_image(data, knobs(PILLOW, orientation="apply")), pillow_rgb(data, True))


def test_prefixed_eXIf_is_read_though_libpng_ignores_it():
    """A documented library difference (decode.py docstring): eXIf starting "Exif\\0\\0"."""
    samples, _ = enc.synthetic_image(4, 6, 2, 8, seed=1)
    data = enc.encode_png(samples, colour_type=2, bit_depth=8, exif_orientation=6, exif_prefix=True)
    ours = decode_image(data, OPENCV)
    assert ours.shape == (6, 4, 3)
    assert_same("pillow", decode_image(data, knobs(PILLOW, orientation="apply")), pillow_rgb(data, True))
    assert opencv_color(data).shape == (4, 6, 3)  # libpng: "eXIf: invalid", not rotated


def test_opencv_unchanged_differs_only_where_documented():
    """Closest knobs to IMREAD_UNCHANGED (decode.py docstring), then BGR order: equal except
    gray + tRNS (OpenCV: 1 channel) and gray + alpha (OpenCV: BGRA)."""
    step = knobs(output="unchanged", trns="apply", alpha="keep", depth16="keep", orientation="ignore")
    for v in VARIANTS:
        data = v.encode()
        ours = decode_image(data, step)
        c = 3 if ours.shape[2] >= 3 else 1
        ours = np.concatenate([ours[:, :, :c][:, :, ::-1], ours[:, :, c:]], axis=2)
        cv = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        cv = cv.reshape(cv.shape[0], cv.shape[1], -1)
        ct, trns = v.options["colour_type"], v.options["trns"]
        if ct == 4 or (ct == 0 and trns is not None):
            assert ours.shape[2] == 2 and cv.shape[2] == (4 if ct == 4 else 1), v.name
        else:
            assert_same(v.name, ours, cv)


def test_opencv_grayscale_is_libpng_truncating_luma_not_a_knob():
    """Pins the measured IMREAD_GRAYSCALE formula the decode.py docstring records."""
    samples, _ = enc.synthetic_image(64, 64, 2, 8, seed=7)
    data = enc.encode_png(samples, colour_type=2, bit_depth=8)
    r, g, b = (samples[:, :, i].astype(np.int64) for i in range(3))
    want = ((9797 * r + 19234 * g + 3737 * b) >> 15).astype(np.uint8)
    np.testing.assert_array_equal(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE), want)


# ------------------------------------------------------------------------------------------
# Knobs on hand-checkable inputs
# ------------------------------------------------------------------------------------------

RAMP16 = np.arange(65536, dtype=np.uint16).reshape(256, 256, 1)


@pytest.mark.parametrize("rule, formula", [
    ("shift", lambda v: v >> 8), ("round", lambda v: (v + 128) // 257),
    ("clip", lambda v: np.minimum(v, 255)), ("keep", lambda v: v)])
def test_depth16_rules_on_every_16_bit_value(rule, formula):
    gray = enc.encode_png(RAMP16, colour_type=0, bit_depth=16, filters=0)
    rgb = enc.encode_png(np.repeat(RAMP16, 3, axis=2), colour_type=2, bit_depth=16, filters=0)
    want = formula(RAMP16.astype(np.int64)).astype(np.uint16 if rule == "keep" else np.uint8)
    assert_same("gray", decode_image(gray, knobs(output="unchanged", depth16=rule)), want)
    assert_same("rgb", decode_image(rgb, knobs(output="unchanged", depth16=rule)), np.repeat(want, 3, 2))
    # depth16_gray overrides for gray only
    other = "shift" if rule != "shift" else "clip"
    assert_same("gray override", decode_image(gray, knobs(output="unchanged", depth16=other,
                                                          depth16_gray=rule)), want)
    assert_same("rgb not overridden", decode_image(rgb, knobs(output="unchanged", depth16=rule,
                                                              depth16_gray=other)), np.repeat(want, 3, 2))


def test_round_rule_is_round_of_v_times_255_over_65535():
    v = np.arange(65536)
    assert np.array_equal((v + 128) // 257, np.floor(v * 255 / 65535 + 0.5).astype(int))


@pytest.mark.parametrize("depth, values", [(1, [0, 255]), (2, [0, 85, 170, 255]),
                                           (4, [17 * i for i in range(16)])])
def test_sub_8_bit_gray_scaling(depth, values):
    samples = np.arange(1 << depth, dtype=np.uint8).reshape(1, -1, 1)
    data = enc.encode_png(samples, colour_type=0, bit_depth=depth)
    assert decode_image(data, knobs(output="unchanged"))[0, :, 0].tolist() == values
    assert decode_image(data, knobs(output="rgb")).shape == (1, 1 << depth, 3)


def test_output_channels_per_colour_type():
    shapes = {}
    for ct, d in enc.VARIANT_DEPTHS:
        samples, palette = enc.synthetic_image(2, 3, ct, d, seed=0)
        data = enc.encode_png(samples, colour_type=ct, bit_depth=d, palette=palette)
        for output in ("rgb", "bgr", "gray", "unchanged"):
            for alpha in ("drop", "keep", "composite"):
                shapes[(ct, output, alpha)] = decode_image(data, knobs(output=output, alpha=alpha)).shape[2]
    assert {k[1:]: v for k, v in shapes.items() if k[0] == 6} == {
        ("rgb", "drop"): 3, ("rgb", "keep"): 4, ("rgb", "composite"): 3, ("bgr", "drop"): 3,
        ("bgr", "keep"): 4, ("bgr", "composite"): 3, ("gray", "drop"): 1, ("gray", "keep"): 2,
        ("gray", "composite"): 1, ("unchanged", "drop"): 3, ("unchanged", "keep"): 4,
        ("unchanged", "composite"): 3}
    assert shapes[(4, "unchanged", "keep")] == 2 and shapes[(4, "rgb", "keep")] == 4
    assert shapes[(0, "unchanged", "keep")] == 1 and shapes[(3, "unchanged", "keep")] == 3


def test_bgr_reverses_colour_but_keeps_alpha_last():
    px = np.array([[[10, 20, 30, 40]]], dtype=np.uint8)
    data = enc.encode_png(px, colour_type=6, bit_depth=8)
    assert decode_image(data, knobs(output="bgr", alpha="keep"))[0, 0].tolist() == [30, 20, 10, 40]
    assert decode_image(data, knobs(output="rgb", alpha="keep"))[0, 0].tolist() == [10, 20, 30, 40]


def test_composite_by_hand():
    # alpha 0, 255, 128 over background (0, 100, 255); 128/255 * 200 + 127/255 * bg, half up
    px = np.array([[[200, 200, 200, 0], [200, 200, 200, 255], [200, 200, 200, 128]]], dtype=np.uint8)
    data = enc.encode_png(px, colour_type=6, bit_depth=8)
    out = decode_image(data, knobs(alpha="composite", background=(0, 100, 255)))
    a = 128 / 255
    third = [int(np.floor(a * 200 + (1 - a) * bg + 0.5)) for bg in (0, 100, 255)]
    assert third == [100, 150, 227]  # 100.39, 150.20, 227.39
    assert out[0].tolist() == [[0, 100, 255], [200, 200, 200], third]
    # equal to the color op's composite_over for three channels
    assert_same("composite_over", out, composite_over(px, (0, 100, 255)))


def test_composite_16_bit_scales_the_background_by_257():
    px = np.array([[[1000, 0]]], dtype=np.uint16)  # gray+alpha, fully transparent
    data = enc.encode_png(px, colour_type=4, bit_depth=16)
    out = decode_image(data, knobs(output="rgb", alpha="composite", depth16="keep", background=(1, 2, 3)))
    assert out.dtype == np.uint16 and out[0, 0].tolist() == [257, 514, 771]


def test_composite_gray_uses_the_luma_of_the_background():
    px = np.array([[[9, 0]]], dtype=np.uint8)  # transparent gray pixel
    data = enc.encode_png(px, colour_type=4, bit_depth=8)
    step = knobs(output="gray", alpha="composite", background=(255, 0, 0), gray_arithmetic="pillow_fixed")
    assert decode_image(data, step)[0, 0, 0] == (19595 * 255 + 0x8000) >> 16  # 76
    rgb = decode_image(data, knobs(step, output="rgb"))  # replicated first, then composited
    assert rgb[0, 0].tolist() == [255, 0, 0]


@pytest.mark.parametrize("ct, trns, pixels, alpha", [
    (0, 5, [[[5], [6]]], [0, 255]),
    (2, (1, 2, 3), [[[1, 2, 3], [1, 2, 4]]], [0, 255]),
])
def test_trns_key_apply_and_ignore(ct, trns, pixels, alpha):
    data = enc.encode_png(np.array(pixels, np.uint8), colour_type=ct, bit_depth=8, trns=trns)
    applied = decode_image(data, knobs(output="unchanged", trns="apply", alpha="keep"))
    assert applied[0, :, -1].tolist() == alpha
    ignored = decode_image(data, knobs(output="unchanged", trns="ignore", alpha="keep"))
    assert ignored.shape[2] == (1 if ct == 0 else 3)


def test_trns_key_16_bit_and_sub_8_bit_compare_at_native_depth():
    px16 = np.array([[[258], [2]]], np.uint16)  # the key 258 = 0x0102 matches only the first pixel
    data = enc.encode_png(px16, colour_type=0, bit_depth=16, trns=258)
    out = decode_image(data, knobs(output="unchanged", trns="apply", alpha="keep", depth16="keep"))
    assert out[0].tolist() == [[258, 0], [2, 65535]]
    out8 = decode_image(data, knobs(output="unchanged", trns="apply", alpha="keep", depth16="shift"))
    assert out8[0].tolist() == [[1, 0], [0, 255]]
    px4 = np.array([[[15], [14]]], np.uint8)
    data = enc.encode_png(px4, colour_type=0, bit_depth=4, trns=15)
    out = decode_image(data, knobs(output="unchanged", trns="apply", alpha="keep"))
    assert out[0].tolist() == [[255, 0], [238, 255]]


def test_palette_trns():
    idx = np.array([[[0], [1], [2]]], np.uint8)
    pal = [[10, 20, 30], [40, 50, 60], [70, 80, 90]]
    data = enc.encode_png(idx, colour_type=3, bit_depth=2, palette=pal, trns=[0, 128])
    out = decode_image(data, knobs(output="rgb", trns="apply", alpha="keep"))
    assert out[0].tolist() == [[10, 20, 30, 0], [40, 50, 60, 128], [70, 80, 90, 255]]
    assert decode_image(data, knobs(output="rgb", trns="ignore", alpha="keep")).shape == (1, 3, 3)


@pytest.mark.parametrize("arith", ["float", "pillow_fixed", "opencv_fixed"])
def test_gray_arithmetic_on_16_bit_kept_samples(arith):
    px = np.array([[[65535, 0, 0], [0, 65535, 0], [0, 0, 65535], [65535, 65535, 65535]]], np.uint16)
    data = enc.encode_png(px, colour_type=2, bit_depth=16)
    out = decode_image(data, knobs(output="gray", depth16="keep", gray_arithmetic=arith))
    assert out.dtype == np.uint16 and out[0, 3, 0] == 65535
    assert abs(int(out[0, 0, 0]) - round(0.299 * 65535)) <= 1


# ------------------------------------------------------------------------------------------
# Errors, sniffing, probe, pipeline
# ------------------------------------------------------------------------------------------


def test_errors_are_typed_and_name_the_file():
    with pytest.raises(DecodeError, match="not a PNG or JPEG file") as e:
        decode_image(enc.not_an_image(), Decode(), source="notes.txt")
    assert "notes.txt at byte 0" in str(e.value)
    with pytest.raises(DecodeError):
        decode_image(b"", Decode(), source="empty.png")
    with pytest.raises(UnsupportedFeature, match="JPEG decoding is not implemented") as e:
        decode_image(_jpeg(), Decode(), source="photo.jpg")
    assert "photo.jpg" in str(e.value)
    with pytest.raises(LimitsExceeded, match="max_pixels"):
        decode_image(enc.huge_dimensions_png(), Decode(), source=SOURCE)
    small = enc.encode_png(np.zeros((10, 10, 1), np.uint8), colour_type=0, bit_depth=8)
    with pytest.raises(LimitsExceeded):
        decode_image(small, Decode(max_pixels=99), source=SOURCE)
    assert decode_image(small, Decode(max_pixels=100)).shape == (10, 10, 3)


def _jpeg(orientation: int | None = None, icc: bytes | None = None, progressive=False) -> bytes:
    buf = io.BytesIO()
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    kw = {"icc_profile": icc} if icc else {}
    Image.new("RGB", (9, 5), (1, 2, 3)).save(buf, "JPEG", exif=exif, progressive=progressive, **kw)
    return buf.getvalue()


def test_probe_png_and_jpeg():
    samples, palette = enc.synthetic_image(5, 9, 3, 4, seed=0)
    data = enc.encode_png(samples, colour_type=3, bit_depth=4, palette=palette, interlace=True,
                          trns=[0], exif_orientation=8, icc_profile=b"x" * 10)
    assert probe(data, SOURCE) == {"format": "png", "width": 9, "height": 5, "colour_type": "palette",
                                   "channels": 1, "bit_depth": 4, "interlaced": True, "orientation": 8,
                                   "has_icc": True, "has_trns": True, "warnings": []}
    j = probe(_jpeg(orientation=6, icc=b"p" * 200, progressive=True), "photo.jpg")
    assert {k: j[k] for k in ("format", "width", "height", "channels", "bit_depth", "interlaced",
                              "orientation", "has_icc")} == {
        "format": "jpeg", "width": 9, "height": 5, "channels": 3, "bit_depth": 8, "interlaced": True,
        "orientation": 6, "has_icc": True}
    assert probe(_jpeg(), "plain.jpg")["orientation"] is None
    with pytest.raises(DecodeError, match="truncated JPEG"):
        probe(_jpeg()[:20], "cut.jpg")


def test_pipeline_runs_the_decode_step():
    samples, _ = enc.synthetic_image(3, 4, 6, 8, seed=0)
    data = enc.encode_png(samples, colour_type=6, bit_depth=8)
    out = run_step(OPENCV, data, source=SOURCE)
    assert_same("pipeline", out, opencv_color(data))


def test_png_to_array_equals_decode_image():
    v = VARIANTS[123]
    data = v.encode()
    assert_same(v.name, png_to_array(read_png(data), PILLOW), decode_image(data, PILLOW))
