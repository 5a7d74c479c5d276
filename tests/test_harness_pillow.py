"""The pillow harness (``conformance.harnesses.pillow``) against the default bundle and the reference.

1. Isolated mode over the default bundle (``harness_isolated.run_isolated``): every case of every
   pipeline that names a Pillow (or torchvision-on-PIL) preset: resize.pillow.*, decode.pillow,
   color.gray.pillow_fixed, the torchvision e2e pipeline, and every pipeline whose decode step
   is the ``pillow`` preset (most resize.* and color.* pipelines). Every step that is not named
   after another library's preset must be within the manifest's tolerance (metric max_abs per
   element), except steps whose knobs ask for a behaviour Pillow does not have
   (:func:`documented_divergence`, each with its measured bound) and the pad modes Pillow has
   no call for (unsupported). ``-s`` prints pass counts, % exact and the worst error per
   pipeline family and step, for the library's pipelines and, for information, the others.
2. The whole bundle runs without a harness crash; negative vectors: Pillow rejects four of the
   six and decodes a bad IDAT CRC and a missing IEND anyway (lenient, printed and pinned).
3. The differences the product exists to catch: Pillow's open ignores the EXIF orientation that
   cv2.imdecode applies (ImageOps.exif_transpose applies it); Pillow's BILINEAR reproduces the
   reference's pillow.bilinear on a real photo to 0 LSB where cv2 is tens of levels off.
4. Knob mapping: float32 ('F') resize, decode alpha paths, torchvision normalize arithmetic,
   centre offsets.
"""

from __future__ import annotations

import numpy as np
import pytest

from conformance import corpus
from conformance.bundle import Bundle
from conformance.harnesses import load
from conformance.harnesses.opencv import OpenCVHarness
from conformance.harnesses.pillow import PillowHarness
from conformance.reference.pipeline import run_step
from conformance.spec import make_step
from conformance.encoders.jpeg_damage import damaged_jpegs
from harness_isolated import library_pipelines, run_isolated, summary

BUNDLE = "vectors/default"
LIBRARY_PREFIXES = ("pillow", "torchvision")
# presets of other libraries (torchvision.tensor.*: torch's uint8 kernel, not Pillow's)
FOREIGN_PREFIXES = ("opencv", "image", "onnx", "torchvision.tensor", "tf.", "openvino.", "libvips",
                    # the way back: other libraries' float -> pixel rules (Pillow's is pillow.f_to_l)
                    "torchvision.to_", "basicsr", "numpy", "rust")
# Negative vectors Pillow 13 decodes without complaint (its PNG reader does not check the IDAT
# CRC and stops at the end of the image data without needing IEND; libjpeg-turbo only warns
# "Corrupt JPEG data: bad Huffman code" and fills the rest): measured, pinned.
# libjpeg-turbo repairs the damaged JPEGs (decode knob on_corrupt), so Pillow decodes them all
PILLOW_LENIENT = {"neg.bad_crc", "neg.no_iend", "neg.jpeg.invalid_huffman_code"} | {
    f.id for f in damaged_jpegs()}
# float32 resize: the manifest's default tolerance for float resize outputs (tolerances.py).
FLOAT_RESIZE_TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def bundle() -> Bundle:
    return Bundle(BUNDLE)


@pytest.fixture(scope="module")
def everything(bundle):
    """(step results, negative results) of every case of the bundle, isolated mode."""
    return run_isolated(bundle, PillowHarness(), bundle.cases)


def foreign(step: dict) -> bool:
    return str(step.get("preset") or "").startswith(FOREIGN_PREFIXES)


def documented_divergence(step: dict) -> tuple[str, float | None] | None:
    """(reason, measured bound or None) for a step whose knobs ask for a behaviour Pillow lacks
    (the harness module docstring); None for steps Pillow is expected to reproduce."""
    op = step["op"]
    if op in ("crop", "letterbox") and step.get("mode", "center") == "center" \
            and step.get("placement", "center") == "center" and step["offset_rounding"] != "round":
        return "PIL-based code centres with round half to even (torchvision, ImageOps.pad)", None
    if op == "color":
        conv = step["conversion"]
        if conv in ("rgb_to_gray", "bgr_to_gray") and step["arithmetic"] != "pillow_fixed":
            # measured: float matrix vs float64 half_even, 1 LSB on 2 of 9 photos
            return "Pillow's convert('L') / float32 matrix luma, rounded half up", 1
        if conv in ("rgb_to_ycbcr", "ycbcr_to_rgb"):
            return "Pillow's fixed-point YCbCr (measured 1 LSB on every photo)", 1
    return None


def test_library_pipelines_isolated(bundle, everything):
    results, _ = everything
    ids = library_pipelines(bundle, LIBRARY_PREFIXES)
    resize_ids = {p for p in bundle.manifest["pipelines"] if p.startswith("resize.pillow.")}
    assert resize_ids and resize_ids <= ids
    assert {"decode.pillow", "color.gray.pillow_fixed",
            "e2e.torchvision.bilinear_s40.center32.imagenet.chw"} <= ids
    ours = [r for r in results if r.pipeline in ids]
    print("\n" + summary(ours, f"pillow harness, isolated, pipelines naming Pillow presets "
                               f"({len(ids)} pipelines, {len({r.case for r in ours})} cases)"))
    steps = {pid: bundle.manifest["pipelines"][pid]["steps"] for pid in ids}
    checked: set[str] = set()
    for r in ours:
        step = steps[r.pipeline][r.index]
        if foreign(step):
            continue
        if step["op"] == "pad" and step["mode"] != "constant":
            assert r.verdict == "unsupported" and "ImageOps.expand" in r.message
            continue
        if step["op"] == "decode" and step.get("dct_scale", 1) > 1 and r.verdict == "unsupported":
            # Image.draft: a lossless JPEG fails to load, one smaller than the scale cannot be drafted
            assert (".lossless." in r.case and "lossless" in r.message) or "cannot be drafted" in r.message
            continue
        div = documented_divergence(step)
        if div is None:
            assert r.verdict == "pass", f"{r.case} step {r.index} {r.op}: {r.verdict} " \
                                        f"max_abs={r.max_abs} tol={r.tolerance} {r.message}"
            checked.add(r.pipeline)
        elif div[1] is not None:
            assert r.verdict in ("pass", "fail") and r.max_abs is not None and r.max_abs <= div[1], \
                f"{r.case} step {r.index}: {div[0]}: max_abs {r.max_abs} > measured bound {div[1]}"
        else:
            assert r.verdict in ("pass", "fail") and r.max_abs is not None, r.message  # same shape
    assert checked == ids  # every pipeline naming a Pillow preset had steps held to tolerance


def test_resize_pillow_bit_exact(everything):
    """resize.pillow.*: the reference reproduces Pillow 13 to 0 LSB, so the harness must too."""
    results, _ = everything
    rs = [r for r in results if r.pipeline.startswith("resize.pillow.") and r.op == "resize"]
    assert rs and all(r.exact for r in rs), [r.case for r in rs if not r.exact]


def test_whole_bundle_runs_without_harness_errors(bundle, everything):
    """Every step of every case is pass, fail or unsupported: never a crash of the harness."""
    results, _ = everything
    others = [r for r in results if r.pipeline not in library_pipelines(bundle, LIBRARY_PREFIXES)]
    print("\n" + summary(others, "pillow harness, isolated, every other pipeline (information)"))
    errors = [f"{r.case} step {r.index}: {r.message}" for r in results if r.verdict == "error"]
    assert not errors, "\n".join(errors[:10])
    steps = {(r.pipeline, r.index) for r in results if r.verdict == "unsupported"}
    asked = {(s["op"], s.get("filter") or s.get("mode"))
             for s in (bundle.manifest["pipelines"][p]["steps"][i] for p, i in steps)}
    # decode: Image.draft (dct_scale) of a lossless JPEG or one smaller than the scale
    # color: Pillow has no YUV 4:2:0 (NV12/I420) image mode
    assert asked == {("decode", None), ("color", None), ("resize", "area"), ("resize", "gaussian"), ("resize", "mitchell"),
                     ("pad", "edge"), ("pad", "reflect"),
                     ("quantize", None), ("encode", None)}  # Pillow has no 16-bit quantize, no 16-bit RGB


def test_negative_vectors(everything):
    _, negatives = everything
    assert negatives
    lenient = {n.input for n in negatives if not n.rejected}
    print(f"\nnegative vectors: {sum(n.rejected for n in negatives)}/{len(negatives)} rejected; "
          f"lenient on {sorted(lenient)}")
    assert lenient == PILLOW_LENIENT


def decode_step(**knobs) -> dict:
    return make_step({"op": "decode", **knobs}).knobs()


def test_exif_orientation_ignored_unless_applied(bundle):
    """Pillow's open ignores an eXIf orientation 6 that cv2.imdecode applies; with
    orientation="apply" (ImageOps.exif_transpose) both agree."""
    data = bundle.input_bytes("png.exif6.6x10")
    pil = PillowHarness()
    ignored = pil.run(decode_step(preset="pillow"), data)
    applied = pil.run(decode_step(preset="pillow", orientation="apply"), data)
    cv_default = OpenCVHarness().run(decode_step(preset="opencv"), data)[:, :, ::-1]
    assert ignored.shape == (6, 10, 3) and cv_default.shape == applied.shape == (10, 6, 3)
    assert np.array_equal(applied, cv_default)
    assert np.array_equal(applied, np.ascontiguousarray(ignored.swapaxes(0, 1)[:, ::-1]))


def test_photo_bilinear_is_pillow_exact():
    """Image.resize(BILINEAR) is the reference's pillow.bilinear to 0 LSB on a real photo."""
    photo = corpus.photo("astronaut", 1)
    step = make_step({"op": "resize", "preset": "pillow.bilinear", "height": 224, "width": 224})
    got = PillowHarness().run(step.knobs(), photo)
    assert np.array_equal(got, run_step(step, photo))


@pytest.mark.parametrize("input_id, knobs", [
    ("png.rgba8.13x17", dict(output="rgb", alpha="keep")),                # convert('RGBA')
    ("png.graya8.13x17", dict(output="unchanged", alpha="keep")),         # LA kept
    ("png.graya8.13x17", dict(output="gray", alpha="drop")),              # convert('L')
    ("png.rgba8.13x17", dict(output="bgr", alpha="keep")),                # colour reversed, alpha last
    ("png.gray16.13x17", dict(output="unchanged", depth16="keep")),       # I;16 kept
    ("png.palette4_trns.11x7", dict(output="rgb", alpha="keep", trns="apply")),  # P + tRNS -> RGBA
    ("png.rgb8.13x17", dict(output="gray", gray_arithmetic="float",       # convert('L', matrix)
                            gray_coefficients="bt709")),
])
def test_decode_paths_match_reference(bundle, input_id, knobs):
    """Each conversion gives what the reference gives for the same knobs (orientation ignore)."""
    data = bundle.input_bytes(input_id)
    step = make_step({"op": "decode", "orientation": "ignore", **knobs})
    got = PillowHarness().run(step.knobs(), data)
    want = run_step(step, data)
    assert got.dtype == want.dtype and got.shape == want.shape
    assert np.array_equal(got, want)


def test_describe_and_check():
    h = load("pillow")
    assert isinstance(h, PillowHarness)
    v = h.versions()
    assert v["PIL"] and v["pillow"]

    def resize(preset: str) -> dict:
        return make_step({"op": "resize", "preset": preset, "height": 5, "width": 7}).knobs()

    for preset, name in [("pillow.nearest", "NEAREST"), ("pillow.box", "BOX"),
                         ("opencv.linear", "BILINEAR"), ("pillow.hamming", "HAMMING"),
                         ("opencv.cubic", "BICUBIC"), ("opencv.lanczos4", "LANCZOS")]:
        assert f"Resampling.{name}," in h.describe(resize(preset))
    assert "INTER_AREA" in h.check(resize("opencv.area"))
    assert "Gaussian" in h.check(resize("image.gaussian"))
    assert h.check(make_step({"op": "pad", "mode": "edge", "top": 1}).knobs()) is not None
    assert h.check(make_step({"op": "pad", "mode": "constant", "top": 1}).knobs()) is None
    assert "exif_transpose" in h.describe(decode_step(preset="pillow", orientation="apply"))
    assert "exif_transpose" not in h.describe(decode_step(preset="pillow"))


@pytest.mark.parametrize("preset", ["pillow.nearest", "pillow.box", "pillow.bilinear",
                                    "pillow.hamming", "pillow.bicubic", "pillow.lanczos"])
def test_float32_resize_matches_reference(preset):
    """float32 images (values 0..1) resized band by band in mode 'F' vs the reference, within
    the manifest's float resize tolerance (measured ≤ 1.1e-6: double sums, float32 storage)."""
    img = (corpus.photo("astronaut", 8).astype(np.float32) / 255)[:29, :37]
    worst = 0.0
    for h, w in ((23, 31), (53, 67), (7, 5)):
        step = make_step({"op": "resize", "preset": preset, "height": h, "width": w})
        got = PillowHarness().run(step.knobs(), img)
        want = run_step(step, img)
        assert got.dtype == np.float32 and got.shape == want.shape
        worst = max(worst, float(np.abs(got.astype(np.float64) - want).max()))
    assert worst <= FLOAT_RESIZE_TOLERANCE, worst


def test_torchvision_normalize_is_exact():
    """ToTensor + Normalize arithmetic (x / 255 - mean) / std in float32 equals the reference's
    torchvision.imagenet preset bit for bit (same operations, same order, same dtype)."""
    rng = np.random.default_rng(7)
    img = rng.integers(0, 256, (17, 23, 3), dtype=np.uint8)
    step = make_step({"op": "normalize", "preset": "torchvision.imagenet"})
    got = PillowHarness().run(step.knobs(), img)
    assert got.dtype == np.float32 and np.array_equal(got, run_step(step, img))


def test_centre_offsets_round_half_to_even():
    """extra = 3: PIL-based code (torchvision CenterCrop, ImageOps.pad) puts round(1.5) = 2 rows
    before; extra = 5 gives round(2.5) = 2 (half to even)."""
    img = np.arange(5 * 4, dtype=np.uint8).reshape(5, 4, 1)
    h = PillowHarness()
    crop = make_step({"op": "crop", "height": 2, "width": 4, "offset_rounding": "floor"}).knobs()
    assert np.array_equal(h.run(crop, img), img[2:4])
    box = make_step({"op": "letterbox", "height": 8, "width": 4, "value": [9]}).knobs()
    out = h.run(box, img)
    assert out.shape == (8, 4, 1) and np.all(out[:2] == 9) and np.array_equal(out[2:7], img)
    box10 = make_step({"op": "letterbox", "height": 10, "width": 4, "value": [9]}).knobs()
    assert np.array_equal(h.run(box10, img)[2:7], img)
    rgb = np.zeros((2, 2, 3), np.uint8)
    padded = h.run(make_step({"op": "pad", "top": 1, "value": [10, 20, 30]}).knobs(), rgb)
    assert padded.shape == (3, 2, 3) and padded[0, 0].tolist() == [10, 20, 30]
