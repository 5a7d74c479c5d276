"""The ``decode`` op (reference/decode.py): each DECODE preset against the library it names,
and each knob on small hand-checkable inputs. Tolerance: 0 (max abs difference per element)."""

from __future__ import annotations

import dataclasses
import io
import time

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from conformance.encoders import jpeg as jpeg_enc
from conformance.encoders import png as enc
from conformance.errors import DecodeError, LimitsExceeded, SpecError, UnsupportedFeature
from conformance.presets import DECODE_PRESETS
from conformance.reference.color import composite_over
from conformance.reference.decode import decode_image, libpng_luma, png_to_array, probe
from conformance.reference.pipeline import run_step
from conformance.reference.png import read_png
from conformance.spec import Decode, make_step

SOURCE = "case.png"
PILLOW = Decode(**DECODE_PRESETS["pillow"], preset="pillow")
OPENCV = Decode(**DECODE_PRESETS["opencv"], preset="opencv")
OPENCV_GRAY = Decode(**DECODE_PRESETS["opencv.gray"], preset="opencv.gray")
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


def opencv_gray(data: bytes, flags: int = cv2.IMREAD_GRAYSCALE) -> np.ndarray:
    """cv2.imdecode(buf, IMREAD_GRAYSCALE [| IMREAD_ANYDEPTH]) as (H, W, 1)."""
    g = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    return g.reshape(g.shape[0], g.shape[1], 1)


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
    assert_same(name + " opencv.gray applies", decode_image(data, OPENCV_GRAY), opencv_gray(data))
    assert_same(name + " pillow ignores", decode_image(data, PILLOW), pillow_rgb(data))
    assert_same(name + " exif_transpose", decode_image(data, knobs(PILLOW, orientation="apply")),
                pillow_rgb(data, transpose=True))
    if orientation in (5, 6, 7, 8):
        assert decode_image(data, OPENCV).shape[:2] == (7, 5)
        assert opencv_gray(data).shape[:2] == (7, 5)  # IMREAD_GRAYSCALE rotates too


def test_late_eXIf_is_applied_like_both_libraries():
    samples, _ = enc.synthetic_image(4, 6, 2, 8, seed=1)
    data = enc.encode_png(samples, colour_type=2, bit_depth=8, exif_orientation=6, exif_after_idat=True)
    assert_same("opencv", decode_image(data, OPENCV), opencv_color(data))
    assert_same("opencv.gray", decode_image(data, OPENCV_GRAY), opencv_gray(data))
    assert_same("pillow", decode_image(data, knobs(PILLOW, orientation="apply")), pillow_rgb(data, True))


def test_prefixed_eXIf_is_read_though_libpng_ignores_it():
    """A documented library difference (decode.py docstring): eXIf starting "Exif\\0\\0"."""
    samples, _ = enc.synthetic_image(4, 6, 2, 8, seed=1)
    data = enc.encode_png(samples, colour_type=2, bit_depth=8, exif_orientation=6, exif_prefix=True)
    ours = decode_image(data, OPENCV)
    assert ours.shape == (6, 4, 3)
    assert_same("pillow", decode_image(data, knobs(PILLOW, orientation="apply")), pillow_rgb(data, True))
    assert opencv_color(data).shape == (4, 6, 3)  # libpng: "eXIf: invalid", not rotated
    assert opencv_gray(data).shape == (4, 6, 1)


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


@pytest.mark.filterwarnings("ignore:Palette images with Transparency")
def test_opencv_gray_preset_on_every_variant():
    """opencv.gray = IMREAD_GRAYSCALE, and with depth16 keep = IMREAD_GRAYSCALE | IMREAD_ANYDEPTH,
    on all png_variants() (every filter policy too). The corpus tells the arithmetics apart: any
    other gray_arithmetic misses on rgb/rgba/palette files, 16-bit ones included."""
    keep16 = knobs(OPENCV_GRAY, depth16="keep")
    cases = pixels = 0
    missed = {arith: set() for arith in ("float", "pillow_fixed", "opencv_fixed")}
    for v in enc.png_variants():
        data = v.encode()
        want = opencv_gray(data)
        assert_same(f"{v.name} opencv.gray", decode_image(data, OPENCV_GRAY, source=v.name), want)
        assert_same(f"{v.name} opencv.gray keep16", decode_image(data, keep16, source=v.name),
                    opencv_gray(data, cv2.IMREAD_GRAYSCALE | cv2.IMREAD_ANYDEPTH))
        cases, pixels = cases + 2, pixels + 2 * want.size
        if v.options["filters"] == "rotate":
            for arith, names in missed.items():
                if not np.array_equal(decode_image(data, knobs(OPENCV_GRAY, gray_arithmetic=arith)), want):
                    names.add((v.options["colour_type"], v.options["bit_depth"]))
    print(f"opencv.gray vs cv2: {cases} decodes, {pixels} pixels, max |diff| 0")
    for arith, types in missed.items():
        assert {(2, 8), (2, 16), (6, 8), (6, 16), (3, 8)} <= types, (arith, sorted(types))
        assert all(ct in (2, 3, 6) for ct, _ in types), (arith, sorted(types))  # gray files agree


def test_libpng_luma_by_hand():
    """8-bit truncates, 16-bit rounds and converts before the 16 -> 8 shift."""
    rgb8 = np.array([[[1, 1, 0], [255, 0, 0], [0, 0, 255], [200, 200, 200]]], np.uint8)
    # (9797 + 19234) / 2^15 = 0.886 -> 0 (opencv_fixed and pillow_fixed round it to 1);
    # 9797·255 / 2^15 = 76.2 -> 76; 3737·255 / 2^15 = 29.08 -> 29; gray stays gray.
    assert libpng_luma(rgb8)[0, :, 0].tolist() == [0, 76, 29, 200]
    # (256, 256, 255): (9797·256 + 19234·256 + 3737·255 + 2^14) >> 15 = 8401255 >> 15 = 256,
    # >> 8 = 1; stripping first would give (1, 1, 0) -> 0.
    px16 = np.array([[[256, 256, 255], [65535, 0, 0], [65535, 65535, 65535]]], np.uint16)
    assert libpng_luma(px16)[0, :, 0].tolist() == [256, 19594, 65535]
    data = enc.encode_png(px16, colour_type=2, bit_depth=16)
    assert decode_image(data, OPENCV_GRAY)[0, :, 0].tolist() == [1, 76, 255]
    assert decode_image(data, knobs(OPENCV_GRAY, gray_arithmetic="opencv_fixed"))[0, 0, 0] == 1
    assert decode_image(data, knobs(OPENCV_GRAY, gray_arithmetic="float"))[0, 0, 0] == 1
    assert opencv_gray(data)[0, :, 0].tolist() == [1, 76, 255]
    data8 = enc.encode_png(rgb8, colour_type=2, bit_depth=8)
    assert opencv_gray(data8)[0, :, 0].tolist() == [0, 76, 29, 200]


def test_libpng_luma_equals_opencv_on_every_8_bit_triple():
    """All 2^24 (R, G, B) in one 4096 x 4096 PNG (written by cv2: the pixels, not the encoder,
    are under test) through cv2.imdecode(IMREAD_GRAYSCALE) against :func:`libpng_luma`."""
    start = time.perf_counter()
    v = np.arange(1 << 24, dtype=np.uint32).reshape(4096, 4096)
    rgb = np.stack([v >> 16, (v >> 8) & 255, v & 255], axis=2).astype(np.uint8)
    ok, buf = cv2.imencode(".png", rgb[:, :, ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 1])
    assert ok
    got = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    want = libpng_luma(rgb)[:, :, 0]
    diff = np.abs(got.astype(np.int16) - want.astype(np.int16))
    print(f"libpng_luma 8-bit: {diff.size} triples, max |diff| {diff.max()}, "
          f"{np.count_nonzero(diff)} differ, {time.perf_counter() - start:.1f} s")
    assert diff.max() == 0


def test_libpng_luma_equals_opencv_on_random_16_bit_triples():
    """2^20 random 16-bit (R, G, B) plus corners: the 16-bit luma (IMREAD_ANYDEPTH keeps it) and
    its high byte (IMREAD_GRAYSCALE). Converting after the 16 -> 8 shift, or without the 2^14
    rounding term, would differ."""
    rng = np.random.default_rng(20240)
    rgb = rng.integers(0, 65536, size=(1024, 1024, 3), dtype=np.uint16)
    rgb[0, :8] = [[0, 0, 0], [65535, 65535, 65535], [65535, 0, 0], [0, 65535, 0], [0, 0, 65535],
                  [256, 256, 255], [1, 2, 3], [65534, 65535, 65535]]
    ok, buf = cv2.imencode(".png", rgb[:, :, ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 1])
    assert ok
    got16 = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE | cv2.IMREAD_ANYDEPTH)
    got8 = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    y16 = libpng_luma(rgb)[:, :, 0]
    d16 = np.abs(got16.astype(np.int64) - y16)
    d8 = np.abs(got8.astype(np.int64) - (y16 >> 8))
    x = rgb.astype(np.int64)
    strip_first = libpng_luma((rgb >> 8).astype(np.uint8))[:, :, 0]
    no_round = (9797 * x[..., 0] + 19234 * x[..., 1] + 3737 * x[..., 2]) >> 15
    print(f"libpng_luma 16-bit: {y16.size} triples, max |diff| {d16.max()} (16-bit), {d8.max()} "
          f"(8-bit); strip-first differs on {np.count_nonzero(strip_first != got8)}, "
          f"no rounding term on {np.count_nonzero(no_round != got16)}")
    assert d16.max() == 0 and d8.max() == 0
    assert np.count_nonzero(strip_first != got8) > 0 and np.count_nonzero(no_round != got16) > 0


def test_libpng_fixed_composites_after_luma():
    """libpng converts before compositing: the gray sample over the background's 8-bit,
    truncating luma (255, 0, 0) -> 76, scaled by 257 for 16-bit output."""
    px = np.array([[[0, 0, 255, 255], [0, 255, 0, 0]]], np.uint8)  # opaque blue, transparent green
    data = enc.encode_png(px, colour_type=6, bit_depth=8)
    step = knobs(OPENCV_GRAY, alpha="composite", background=(255, 0, 0))
    assert decode_image(data, step)[0, :, 0].tolist() == [29, 76]
    assert decode_image(data, knobs(step, alpha="keep"))[0].tolist() == [[29, 255], [149, 0]]
    px16 = np.array([[[0, 65535, 0, 0]]], np.uint16)
    data16 = enc.encode_png(px16, colour_type=6, bit_depth=16)
    assert decode_image(data16, knobs(step, depth16="keep"))[0, 0, 0] == 76 * 257


def test_libpng_fixed_is_bt601_only():
    with pytest.raises(SpecError, match="only for bt601") as e:
        make_step({"op": "decode", "preset": "opencv.gray", "gray_coefficients": "bt709"},
                  source="p.toml", index=0)
    assert e.value.field == "gray_arithmetic"
    rgb = enc.encode_png(np.zeros((1, 1, 3), np.uint8), colour_type=2, bit_depth=8)
    with pytest.raises(SpecError, match="only for bt601"):
        decode_image(rgb, knobs(OPENCV_GRAY, gray_coefficients="bt709"))


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


@pytest.mark.parametrize("arith", ["float", "pillow_fixed", "opencv_fixed", "libpng_fixed"])
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
    with pytest.raises(DecodeError, match="not a PNG, JPEG or WebP file") as e:
        decode_image(enc.not_an_image(), Decode(), source="notes.txt")
    assert "notes.txt at byte 0" in str(e.value)
    with pytest.raises(DecodeError):
        decode_image(b"", Decode(), source="empty.png")
    lossless = jpeg_enc.patch_sof(jpeg_enc.negative_base(), marker=0xCB)  # SOF11: not decoded
    with pytest.raises(UnsupportedFeature, match="lossless") as e:
        decode_image(lossless, Decode(), source="photo.jpg")
    assert "photo.jpg" in str(e.value)
    assert decode_image(_jpeg(), Decode(), source="photo.jpg").shape == (5, 9, 3)
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
                                   "has_icc": True, "has_trns": True, "animated": False, "warnings": []}
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
