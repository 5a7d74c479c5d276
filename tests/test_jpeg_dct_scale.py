"""DCT-domain scaling (the decode step's ``dct_scale``: libjpeg-turbo's scale_num/scale_denom,
jidctred.c's reduced IDCTs, reference.jpeg.reconstruct) against the libraries that use it:

1. Pillow 13 ``Image.draft`` (the pillow harness, libjpeg-turbo 3.2.0), OpenCV 5
   ``IMREAD_REDUCED_COLOR_s`` / ``IMREAD_REDUCED_GRAYSCALE_s`` (the opencv harness, 3.1.2) and
   TensorFlow 2.21 ``decode_jpeg(ratio=s)`` (the tensorflow harness, 2.1.4; ifast and islow,
   fancy upsampling on and off) equal the presets with ``dct_scale`` s = 2, 4, 8, bit for bit,
   on seeded random JPEGs (4:4:4, 4:2:2, 4:2:0, gray; baseline and progressive; odd sizes;
   noise for large AC terms) and on every corpus JPEG (4:4:0, 4:1:1, CMYK, restart, EXIF...).
   TensorFlow keeps the differences it has at full size (tests/test_harness_tensorflow.py:
   its CMYK conversion and libjpeg-turbo 2.1.4's block smoothing), pinned here per scale.
2. The geometry: output ceil(W/s) x ceil(H/s); libjpeg's per-component block sizes.
3. The harnesses say what they cannot do (Pillow cannot draft a JPEG narrower than s at 1/s;
   cv2's REDUCED flags resize non-JPEG files, unsupported); PNG ignores the knob.

Metric: max abs difference per element; 0 unless a case is named.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from conformance.corpus import builtin_corpus, photo
from conformance.errors import SpecError, UnsupportedFeature
from conformance.harnesses import load
from conformance.harnesses.base import Unsupported
from conformance.reference.decode import decode_image, read_jpeg_cached
from conformance.reference.jpeg import idct as idct_mod
from conformance.reference.jpeg.reconstruct import scaled_block_size
from conformance.spec import make_step

SCALES = (2, 4, 8)
# TensorFlow (libjpeg-turbo 2.1.4) against its presets with dct_scale, per scale: the full-size
# differences (CMYK conversion 1 level; progressive files whose low AC coefficients are never
# refined, which 2.1.4 smooths otherwise than 3.x), smaller as the scale averages them out.
TF_KNOWN = {
    2: {"jpeg.pillow.q90.cmyk.seq.cmyk_bars.24x40": 1,
        "jpeg.pillow.q90.420.prog.scans1.chelsea.75x112": 4,
        "jpeg.pillow.q90.420.prog.scans2.chelsea.75x112": 1,
        "jpeg.pillow.q90.420.prog.scans5.chelsea.75x112": 1},
    8: {"jpeg.pillow.q90.cmyk.seq.cmyk_bars.24x40": 1,
        "jpeg.pillow.q90.420.prog.scans1.chelsea.75x112": 2},
}
TF_KNOWN[4] = TF_KNOWN[2]


def _max_diff(a: np.ndarray, b: np.ndarray) -> int | str:
    if a.shape != b.shape or a.dtype != b.dtype:
        return f"{a.dtype}{list(a.shape)} vs {b.dtype}{list(b.shape)}"
    return int(np.abs(a.astype(np.int64) - b.astype(np.int64)).max()) if a.size else 0


def _random_jpegs() -> list[tuple[str, bytes]]:
    """Seeded: 5 sizes (odd ones, not multiples of an MCU) x 4:4:4 / 4:2:2 / 4:2:0 / gray x
    baseline / progressive, crops of a photo or noise, random quality."""
    rng = np.random.default_rng(2026)
    source = np.tile(photo("astronaut"), (2, 2, 1))  # 128 x 128
    out = []
    for h, w in ((9, 13), (17, 33), (41, 70), (67, 101), (16, 24)):
        for sampling in ("444", "422", "420", "gray"):
            for progressive in (False, True):
                y, x = int(rng.integers(0, 129 - h)), int(rng.integers(0, 129 - w))
                crop = source[y:y + h, x:x + w]
                if len(out) % 3 == 0:
                    crop = rng.integers(0, 256, crop.shape, dtype=np.uint8)  # large AC terms
                im = Image.fromarray(crop)
                kw = {"quality": int(rng.integers(30, 101)), "progressive": progressive}
                if sampling == "gray":
                    im = im.convert("L")
                else:
                    kw["subsampling"] = {"444": 0, "422": 1, "420": 2}[sampling]
                buf = io.BytesIO()
                im.save(buf, "JPEG", **kw)
                out.append((f"{w}x{h}.{sampling}.{'prog' if progressive else 'seq'}", buf.getvalue()))
    return out


RANDOM = _random_jpegs()
CORPUS = [(i.id, i.data) for i in builtin_corpus() if i.expect == "ok" and i.media_type == "image/jpeg"
          and "jpeg_unsupported" not in i.tags]  # 12-bit: the reference decodes 8-bit only


def _differences(harness, knobs: dict, files) -> tuple[int, dict]:
    """(how many files both decode, {id: max difference or the failure} elsewhere)."""
    compared, differ = 0, {}
    step = make_step({"op": "decode", **knobs})
    for name, data in files:
        try:
            want = decode_image(data, step, source=name)
        except UnsupportedFeature:  # libjpeg-turbo's refusal of a lossless colour conversion
            want = None
        try:
            got = harness.run(step.knobs(), data)
        except Unsupported:
            continue
        except Exception as e:  # noqa: BLE001 - the library's refusal is recorded, not raised
            if want is not None:
                differ[name] = type(e).__name__
            continue
        if want is None:
            differ[name] = "decoded what the preset refuses"
            continue
        compared += 1
        d = _max_diff(want, got)
        if d != 0:
            differ[name] = d
    return compared, differ


# --- the reduced IDCTs and the geometry --------------------------------------------------------


def test_a_flat_block_is_its_mean_at_every_size():
    """A DC-only block: every reduced size gives DESCALE(R00, 3) + 128, the block's mean, as the
    full islow does (R00 = 10·8 -> 10 + 128)."""
    coef = np.zeros((1, 64), dtype=np.int64)
    coef[0, 0] = 10
    quant = np.full(64, 8)
    assert (idct_mod.islow(coef, quant) == 138).all()
    for size in idct_mod.REDUCED_SIZES:
        out = idct_mod.reduced(coef, quant, size)
        assert out.shape == (1, size, size) and (out == 138).all()


def test_reduced_idcts_average_the_full_transform():
    """On random blocks each reduced output is within 1 of the mean of the 2x2 (4x4, 8x8) exact
    float64 IDCT samples it stands for: jidctred.c is the LL&M transform followed by averaging."""
    rng = np.random.default_rng(5)
    coef = rng.integers(-40, 41, (200, 64)) * (rng.random((200, 64)) < 0.3)
    coef[:, 0] = rng.integers(-60, 61, 200)
    quant = rng.integers(1, 30, 64)
    exact = idct_mod.float_core(idct_mod.dequantise(coef, quant)) + 128  # (N, 8, 8)
    for size in idct_mod.REDUCED_SIZES:
        f = 8 // size
        mean = exact.reshape(-1, size, f, size, f).mean(axis=(2, 4))
        got = idct_mod.reduced(coef, quant, size).astype(np.float64)
        inside = (mean > 1) & (mean < 254)  # away from the clamp
        assert np.abs(got - mean)[inside].max() <= 1.0, size


@pytest.mark.parametrize("sampling, scale, sizes", [
    (0, 2, (4, 4, 4)), (1, 2, (4, 4, 4)), (2, 2, (4, 8, 8)),
    (2, 4, (2, 4, 4)), (2, 8, (1, 2, 2)), (1, 8, (1, 1, 1)),
])
def test_chroma_is_scaled_up_by_the_idct_rather_than_upsampled(sampling, scale, sizes):
    """jdmaster.c: a component subsampled 2x in *both* directions is inverse-transformed at twice
    the block size (4:2:0 chroma at 1/2: the full 8x8 IDCT, no upsampling); 4:2:2 chroma is not."""
    buf = io.BytesIO()
    Image.fromarray(photo("astronaut")[:40, :56]).save(buf, "JPEG", subsampling=sampling)
    image = read_jpeg_cached(buf.getvalue(), "test", 1 << 26)
    assert tuple(scaled_block_size(image, c, 8 // scale) for c in image.components) == sizes


def test_output_size_rounds_up_and_png_ignores_the_knob():
    buf = io.BytesIO()
    Image.fromarray(photo("astronaut")[:17, :33]).save(buf, "JPEG")
    for s in SCALES:
        out = decode_image(buf.getvalue(), make_step({"op": "decode", "preset": "pillow", "dct_scale": s}))
        assert out.shape == (-(-17 // s), -(-33 // s), 3)
    png = io.BytesIO()
    Image.fromarray(photo("astronaut")[:17, :33]).save(png, "PNG")
    full = decode_image(png.getvalue(), make_step({"op": "decode", "preset": "pillow"}))
    scaled = decode_image(png.getvalue(), make_step({"op": "decode", "preset": "pillow", "dct_scale": 4}))
    assert full.shape == (17, 33, 3) and np.array_equal(full, scaled)


def test_zune_upsampling_has_no_dct_scaling():
    with pytest.raises(SpecError, match="dct_scale"):
        make_step({"op": "decode", "preset": "image", "dct_scale": 2})


# --- Pillow: Image.draft ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def pillow():
    return load("pillow")


@pytest.mark.parametrize("scale", SCALES)
def test_pillow_draft_on_random_jpegs(pillow, scale):
    compared, differ = _differences(pillow, {"preset": "pillow", "dct_scale": scale}, RANDOM)
    assert differ == {} and compared == len(RANDOM)


@pytest.mark.parametrize("scale", SCALES)
def test_pillow_draft_on_the_corpus(pillow, scale):
    compared, differ = _differences(pillow, {"preset": "pillow", "dct_scale": scale}, CORPUS)
    assert compared >= 40 and differ == {}
    # Pillow sets the drafted size, but libjpeg-turbo does not scale lossless frames (the
    # reference's dct_scale has no effect on them): load() fails, so the harness says unsupported
    lossless = [(k, data) for k, data in CORPUS if k.startswith("jpeg.lossless.")]
    assert lossless
    step = make_step({"op": "decode", "preset": "pillow", "dct_scale": scale}).knobs()
    for name, data in lossless:
        im = Image.open(io.BytesIO(data))
        im.draft(im.mode, (im.size[0] // scale, im.size[1] // scale))
        with pytest.raises(OSError, match="broken data stream"):
            im.load()
        with pytest.raises(Unsupported, match="lossless"):
            pillow.run(step, data)


def test_pillow_cannot_draft_below_one_pixel_per_block(pillow):
    buf = io.BytesIO()
    Image.fromarray(photo("astronaut")[:3, :150]).save(buf, "JPEG")
    step = make_step({"op": "decode", "preset": "pillow", "dct_scale": 4}).knobs()
    with pytest.raises(Unsupported, match="cannot be drafted at 1/4"):
        pillow.run(step, buf.getvalue())
    assert "im.draft(im.mode, (W // 4, H // 4))" in pillow.describe(step)


# --- OpenCV: IMREAD_REDUCED_* ----------------------------------------------------------------


@pytest.fixture(scope="module")
def opencv():
    return load("opencv")


@pytest.mark.parametrize("preset", ["opencv", "opencv.gray"])
@pytest.mark.parametrize("scale", SCALES)
def test_opencv_reduced_on_random_jpegs_and_the_corpus(opencv, preset, scale):
    compared, differ = _differences(opencv, {"preset": preset, "dct_scale": scale}, RANDOM + CORPUS)
    assert differ == {} and compared >= len(RANDOM) + 45


def test_opencv_reduced_flags_and_non_jpeg_files(opencv):
    step = make_step({"op": "decode", "preset": "opencv", "dct_scale": 8}).knobs()
    assert "IMREAD_REDUCED_COLOR_8" in opencv.describe(step)
    gray = make_step({"op": "decode", "preset": "opencv.gray", "dct_scale": 2}).knobs()
    assert "IMREAD_REDUCED_GRAYSCALE_2" in opencv.describe(gray)
    png = io.BytesIO()
    Image.fromarray(photo("astronaut")[:16, :16]).save(png, "PNG")
    with pytest.raises(Unsupported, match="INTER_LINEAR_EXACT"):
        opencv.run(step, png.getvalue())
    keep = make_step({"op": "decode", "preset": "opencv", "dct_scale": 2, "alpha": "keep"}).knobs()
    assert "IMREAD_UNCHANGED" in opencv.check(keep)


# --- TensorFlow: decode_jpeg(ratio=...) -------------------------------------------------------


@pytest.fixture(scope="module")
def tensorflow():
    pytest.importorskip("conformance.harnesses.tensorflow")
    return load("tensorflow")


@pytest.mark.parametrize("scale", SCALES)
def test_tensorflow_ratio_on_random_jpegs(tensorflow, scale):
    for preset in ("tensorflow", "tensorflow.accurate"):
        for upsampling in ("fancy", "nearest"):
            knobs = {"preset": preset, "dct_scale": scale, "upsampling": upsampling}
            compared, differ = _differences(tensorflow, knobs, RANDOM)
            assert differ == {} and compared == len(RANDOM), knobs
    compared, differ = _differences(tensorflow, {"preset": "tensorflow", "dct_scale": scale,
                                                 "output": "gray"}, RANDOM)
    assert differ == {} and compared == len(RANDOM)


@pytest.mark.parametrize("scale", SCALES)
def test_tensorflow_ratio_on_the_corpus(tensorflow, scale):
    for preset in ("tensorflow", "tensorflow.accurate"):
        compared, differ = _differences(tensorflow, {"preset": preset, "dct_scale": scale}, CORPUS)
        assert compared >= 40
        # libjpeg-turbo 2.1.4 refuses lossless colour files (InvalidArgumentError)
        refused = {k for k, v in differ.items() if v == "InvalidArgumentError"}
        assert all(k.startswith("jpeg.lossless.") for k in refused)
        assert {k: v for k, v in differ.items() if k not in refused} == TF_KNOWN[scale]
    step = make_step({"op": "decode", "preset": "tensorflow", "dct_scale": scale}).knobs()
    assert f"ratio={scale}" in tensorflow.describe(step)


# --- decoders without DCT scaling -------------------------------------------------------------


@pytest.mark.parametrize("name, module", [("torchvision-tensor", "conformance.harnesses.torchvision"),
                                          ("transformers", "conformance.harnesses.transformers"),
                                          ("rust-image", "conformance_rust")])
def test_decoders_without_dct_scaling_say_so(name, module):
    """An intent knob they cannot express: unsupported on a JPEG, no effect on a PNG."""
    pytest.importorskip(module)
    harness = load(name)
    jpeg, png = io.BytesIO(), io.BytesIO()
    Image.fromarray(photo("astronaut")[:16, :24]).save(jpeg, "JPEG")
    Image.fromarray(photo("astronaut")[:16, :24]).save(png, "PNG")
    step = make_step({"op": "decode", "preset": "pillow", "dct_scale": 2}).knobs()
    with pytest.raises(Unsupported, match="DCT scaling"):
        harness.run(step, jpeg.getvalue())
    assert harness.run(step, png.getvalue()).shape == (16, 24, 3)


def test_range_limit_of_reduced_blocks_is_the_wheels():
    """Crafted DC values of ±2000·Q/8 ≈ ±750 (Q = 3, as tests/test_jpeg_decode.py test_range_limit)
    plus an AC term: at 1/2 and 1/4 the SSE2 kernels of the Pillow and OpenCV wheels saturate
    (range_limit="saturate"); at 1/8 libjpeg-turbo always runs the C jpeg_idct_1x1 and its table
    wraps (mod 1024), whatever range_limit says."""
    pytest.importorskip("jpeglib")
    import cv2

    from jpeg_crafted import out_of_range_gray_jpeg

    data = out_of_range_gray_jpeg(ac=300)
    flags = {2: cv2.IMREAD_REDUCED_GRAYSCALE_2, 4: cv2.IMREAD_REDUCED_GRAYSCALE_4,
             8: cv2.IMREAD_REDUCED_GRAYSCALE_8}
    for s in SCALES:
        want = cv2.imdecode(np.frombuffer(data, np.uint8), flags[s])[:, :, None]
        im = Image.open(io.BytesIO(data))
        im.draft("L", (16 // s, 16 // s))
        assert np.array_equal(np.asarray(im)[:, :, None], want), s
        step = {"op": "decode", "preset": "opencv.gray", "dct_scale": s}
        assert np.array_equal(decode_image(data, make_step(step)), want), s
        wrapped = decode_image(data, make_step({**step, "range_limit": "wrap"}))
        assert np.array_equal(wrapped, want) == (s == 8), s  # the blocks' DC terms differ
    # 1/8: y = DESCALE(DC·3, 3) = 563, 750, 225, -525: the first two wrap to 0, the last to 255
    # (saturation would give [[255, 255], [255, 0]])
    assert want[:, :, 0].tolist() == [[0, 0], [255, 255]]


def test_reduced_idcts_equal_their_block_loop_with_the_c_shortcuts():
    """reduced_core (numpy, every block at once, full formulas) = reduced_blocks (the C code's
    loops with its all-zero-AC column and row shortcuts), on random blocks with many zeros (so
    the shortcuts run) and with large coefficients."""
    rng = np.random.default_rng(8)
    n = 400
    coef = rng.integers(-1024, 1024, (n, 64)) * (rng.random((n, 64)) < 0.15)
    coef[::4, 1:] = 0  # DC-only blocks: every shortcut
    coef[1::4, 8:] = 0  # the first coefficient row only: column shortcuts, full rows
    d = idct_mod.dequantise(coef, rng.integers(1, 64, 64))
    for size in idct_mod.REDUCED_SIZES:
        assert np.array_equal(idct_mod.reduced_core(d, size), idct_mod.reduced_blocks(d, size)), size
