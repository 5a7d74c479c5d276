"""The main job on the default bundle: every built-in harness, both modes, scored with the known
divergences file (vectors/known-divergences.toml).

It pins what the product claims: each library passes the presets that describe it, every other
difference on the default bundle is a known one with its reason, no harness errors but the
measured decoder crashes (CRASHES), and the
known-divergences file has no stale entries and selects steps by what they are (op, preset,
knobs, input header), so that it also classifies a user's bundle. A library upgrade or a harness regression turns
this red with the case named.
"""

from __future__ import annotations

import collections
from pathlib import Path

import pytest

from conformance.bundle import Bundle
from conformance.expectations import Expectations
from conformance.runner import run_bundle
from conformance.score import score_results

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "vectors" / "default"
KNOWN = ROOT / "vectors" / "known-divergences.toml"
# Negative vectors a library decodes anyway (measured with the pinned wheels): Pillow's PNG
# reader does not check the IDAT CRC nor need IEND; libjpeg-turbo only warns on a bad Huffman code.
# zune-jpeg (the Rust image crate, strict mode off) returns an image for a JPEG without EOI, for
# a truncated scan and past an invalid Huffman code.
# The damaged JPEGs (conformance.encoders.jpeg_damage.damaged_jpegs): libjpeg-turbo repairs every
# one; zune-jpeg all but the Motion-JPEG frame without DHT (it has no Annex K fallback).
DAMAGED = {f"neg.jpeg.damaged.{n}" for n in ("junk_before_eoi", "mjpeg_no_dht", "short_scan",
                                             "progressive_cut_then_next_scans", "ac_before_dc",
                                             "run_past_64")}
ZUNE_LENIENT = {"neg.jpeg.no_eoi", "neg.jpeg.truncated_scan", "neg.jpeg.invalid_huffman_code"} | (
    DAMAGED - {"neg.jpeg.damaged.mjpeg_no_dht"})
# torchvision-pil and transformers open files with Pillow. torchvision.io.decode_image (libpng,
# libjpeg-turbo) never calls png_read_end, so a PNG without IEND decodes, and libjpeg-turbo only
# warns on a bad Huffman code; its bad-CRC and bad-zlib PNGs crash instead (CRASHES).
PILLOW_LENIENT = {"neg.bad_crc", "neg.no_iend", "neg.jpeg.invalid_huffman_code"} | DAMAGED
TORCHVISION_IO_LENIENT = {"neg.no_iend", "neg.jpeg.invalid_huffman_code"} | DAMAGED
LENIENT = {"pillow": PILLOW_LENIENT, "torchvision-pil": PILLOW_LENIENT, "transformers": PILLOW_LENIENT,
           "opencv": {"neg.jpeg.invalid_huffman_code"} | DAMAGED,
           "rust-image": ZUNE_LENIENT, "rust-fir": ZUNE_LENIENT, "rust-cli": ZUNE_LENIENT,
           "torchvision-tensor": TORCHVISION_IO_LENIENT, "torchvision-float": TORCHVISION_IO_LENIENT,
           # tf.io.decode_jpeg (TensorFlow 2.21's libjpeg-turbo 2.1.4) repairs as the others do
           "tensorflow": {"neg.jpeg.invalid_huffman_code"} | DAMAGED,
           # pyvips' loaders default to fail_on="none": libpng's and libjpeg's errors are warnings
           # and whatever was decoded is returned (pyvips-binary 8.18.7)
           "libvips": {"neg.bad_crc", "neg.bad_zlib", "neg.no_iend", "neg.truncated", "neg.jpeg.no_eoi",
                       "neg.jpeg.truncated_scan", "neg.jpeg.invalid_huffman_code"} | DAMAGED}
# Hostile inputs that kill the harness process (measured with torchvision 0.29.2): on a PNG whose
# IDAT CRC is wrong or whose zlib stream is corrupt, torchvision.io.decode_image prints libpng's
# error ("IDAT: CRC error", "invalid block type") and dies with SIGSEGV in every mode, and on
# neg.huge_header it does so with ImageReadMode.GRAY (RGB and UNCHANGED raise a RuntimeError). A
# real finding the suite reports (the runner records the case as a crash, the known-divergences
# file declares it as an expected_crash); pinned so that a torchvision upgrade that fixes it, or a
# new crash, turns this red.
TORCHVISION_IO_CRASHES = {"neg.bad_crc", "neg.bad_zlib", "neg.huge_header"}
CRASHES = {"torchvision-tensor": TORCHVISION_IO_CRASHES, "torchvision-float": TORCHVISION_IO_CRASHES}
# Each library's own presets: every case must pass in isolated mode (no xfail allowed).
# transformers' decode is not decode.pillow: load_image + convert_to_rgb paint a PNG's tRNS colour
# key white. torchvision-tensor's own resize is torch's uint8 kernel (torchvision.tensor.*; its
# decode is libpng/libjpeg-turbo through decode_image, which no decode preset describes).
OWN_PRESETS = {"opencv": ("resize.opencv.", "decode.opencv"), "pillow": ("resize.pillow.", "decode.pillow"),
               "rust-image": ("resize.image.", "decode.image"), "rust-cli": ("resize.image.", "decode.image"),
               "torchvision-pil": ("resize.pillow.", "decode.pillow"), "transformers": ("resize.pillow.",),
               "torchvision-tensor": ("resize.torchvision.tensor.",),
               "tensorflow": ("decode.tensorflow", "resize.tf."),
               "libvips": ("resize.libvips.", "decode.libvips", "color.gray.vips_linear")}
# How many own cases each has at least (vectors/default: 3 torchvision.tensor presets x 27 cases).
# tensorflow: decode.tensorflow on the JPEG knob inputs, and the tf.* resizes (204 cases);
# libvips: 4 libvips.* presets on the down, short, edge (and, cubic/lanczos3, up) targets,
# decode.libvips on the JPEG knob and 16-bit inputs, the b-w luma (177 in a scratch bundle)
OWN_CASES_AT_LEAST = {"torchvision-tensor": 80, "tensorflow": 200, "libvips": 150}
# The image crate's float32 BT.709 luma (color.gray.image_f32) passes on these harnesses; opencv and
# pillow differ (known divergences), the torchvision and transformers harnesses have no BT.709 luma.
IMAGE_LUMA_PASSES = {"rust-image", "rust-fir", "rust-cli", "onnxruntime", "tract"}


@pytest.fixture(scope="module")
def scores(tmp_path_factory):
    out = tmp_path_factory.mktemp("main-job") / "results"
    run_bundle(BUNDLE, out, harnesses=["all"], jobs=2)
    return score_results(out, expectations=Expectations.load([KNOWN]))


def test_every_difference_is_a_known_one(scores):
    counts = scores.counts()
    print(f"\nstep verdicts: {counts}")
    unexpected = [(c.harness, c.mode, c.case, s.index, s.op, s.message) for c in scores.cases
                  for s in c.steps if s.verdict in ("fail", "error")]
    assert not unexpected, unexpected[:10]
    crashed = collections.defaultdict(set)
    for c in scores.cases:
        if c.error:
            assert c.error.startswith("harness process crashed"), (c.harness, c.mode, c.case, c.error)
            assert c.error_expected and c.verdict == "xfail", (c.harness, c.mode, c.case)
            crashed[c.harness].add(c.input)
    assert dict(crashed) == CRASHES
    assert counts["pass"] > counts["xfail"] > 0


def test_known_divergences_file_has_no_stale_entry(scores):
    """Every entry matches at least one failure of the main job. (The last matching entry gives
    the reason: a general entry, say any antialiased resize on opencv, that a specific one
    overrides here still classifies a bundle whose steps have no preset.)"""
    expectations = Expectations.load([KNOWN])
    bundle = Bundle(BUNDLE, validate_schema=False)
    manifest_cases = {c["id"]: c for c in bundle.cases}
    used: collections.Counter = collections.Counter()
    for c in scores.cases:
        if c.error_expected:
            found = expectations.matching("expected_crash", c.harness, c.mode, manifest_cases[c.case],
                                          0, "", bundle=bundle)
            assert found and f"[{found[-1].where}]" in c.error_expected, c.case
            used.update(e.where for e in found)
        for k, s in enumerate(c.steps):
            if s.verdict != "xfail":
                continue
            found = expectations.matching("expected_failure", c.harness, c.mode, manifest_cases[c.case],
                                          s.index, s.op, bundle=bundle, earlier=c.steps[:k])
            assert found and f"[{found[-1].where}]" in s.message, (c.case, s.index)
            used.update(e.where for e in found)
    assert not [e.where for e in expectations.entries if not used[e.where]]


def test_known_divergences_select_by_what_steps_are_not_by_names():
    """The file travels to a user's bundle (tests/test_expectations_travel.py): no entry names a
    pipeline or case of the default bundle, and the only inputs named are its hostile files."""
    for e in Expectations.load([KNOWN]).entries:
        assert not {"pipeline", "case", "step"} & set(e.selectors), e.where
        inputs = e.selectors.get("input")
        assert inputs is None or all(i.startswith("neg.") for i in
                                     ([inputs] if isinstance(inputs, str) else inputs)), e.where


def _own_exceptions(c) -> bool:
    """Own-preset cases a library is known not to pass, each measured and named: zune-jpeg has no
    arithmetic or lossless decoding and the Rust harness no WebP decoder (unsupported); OpenCV 5's APNG reader makes gray with cvtColor's weights
    (1 level from libpng's rgb_to_gray, known-divergences.toml); TensorFlow's libjpeg-turbo 2.1.4
    (lossless, progressive smoothing, CMYK: known-divergences.toml); Pillow's draft at 1/2
    (decode.pillow.draft2), unsupported on a lossless JPEG (libjpeg-turbo does not scale SOF3
    frames, and Pillow's load() then fails) and on a JPEG smaller than the scale."""
    if c.pipeline.startswith("decode.pillow.draft") and c.harness in ("pillow", "torchvision-pil"):
        return c.verdict == "unsupported"
    if c.verdict == "unsupported" and (".arithmetic." in c.input or ".lossless." in c.input
                                       or c.input.startswith("webp.")):
        return True  # zune-jpeg: no arithmetic or lossless JPEG; the harness's image crate: no WebP
    if c.harness == "libvips" and ".cmyk." in c.input:
        return True  # libvips converts CMYK through lcms (known-divergences)
    if c.harness == "tensorflow":
        # TF 2.21's libjpeg-turbo 2.1.4: no lossless JPEG, 2.1's smoothing of the progressive files
        # whose low AC coefficients are never refined, and its own CMYK rounding (known-divergences)
        return ".lossless." in c.input or ".prog.scans" in c.input or ".cmyk." in c.input
    return c.harness == "opencv" and c.pipeline == "decode.opencv.gray" and ".apng" in c.input


def test_each_library_passes_its_own_presets(scores):
    for harness, prefixes in OWN_PRESETS.items():
        own = [c for c in scores.cases if c.harness == harness and c.mode == "isolated"
               and c.pipeline.startswith(prefixes) and c.expect == "ok" and not _own_exceptions(c)]
        assert len(own) >= OWN_CASES_AT_LEAST.get(harness, 150), (harness, len(own))
        assert all(c.verdict == "pass" for c in own), [c.case for c in own if c.verdict != "pass"][:5]
    # OpenVINO decodes nothing: its own presets (resize, colour, YUV 4:2:0 frames) are judged by
    # their steps after the decode, every one of which passes
    ov = [st.verdict for c in scores.cases if c.harness == "openvino" and c.mode == "isolated"
          and c.pipeline.startswith(("resize.openvino.", "color.openvino.", "e2e.openvino."))
          for st in c.steps if st.op != "decode"]
    assert len(ov) >= 70 and all(v == "pass" for v in ov), collections.Counter(ov)
    # The image crate's luma (preset image.gray) in every Rust harness, ONNX Runtime and tract; the
    # decode before it is Pillow's (libjpeg-turbo), so only the colour step is the image crate's.
    luma = [(c.harness, c.steps[1].verdict) for c in scores.cases if c.mode == "isolated"
            and c.pipeline == "color.gray.image_f32"]
    passes_all = {h for h, _ in luma if all(v == "pass" for g, v in luma if g == h)}
    assert passes_all == IMAGE_LUMA_PASSES, luma
    # the others differ (xfail) or cannot (unsupported); libvips' linear-light luma equals it on
    # black-and-white text
    assert all(v in ("xfail", "unsupported") or (h, v) == ("libvips", "pass")
               for h, v in luma if h not in IMAGE_LUMA_PASSES), luma
    # ONNX Runtime: every onnx.* linear/cubic case passes; nearest ones pass except where ORT's
    # float32 coordinates move a pick (known-divergences.toml)
    # (its decode step is unsupported: the resize step is what it implements)
    onnx = [(c.pipeline, c.steps[1].verdict) for c in scores.cases if c.harness == "onnxruntime"
            and c.mode == "isolated" and c.pipeline.startswith("resize.onnx.")]
    assert len(onnx) > 200
    assert all(v == "pass" for p, v in onnx if ".nearest." not in p)
    nearest = [v for p, v in onnx if ".nearest." in p]
    assert sum(v == "pass" for v in nearest) >= len(nearest) - 6


def test_lenient_negatives_are_the_measured_ones(scores):
    """The negative vectors each library decodes anyway are exactly the measured ones, and the
    known-divergences file declares them (xfail), so nothing is left lenient."""
    lenient = collections.defaultdict(set)
    for c in scores.cases:
        if c.expect == "error" and c.steps and c.steps[0].verdict in ("lenient", "xfail"):
            lenient[c.harness].add(c.input)
    assert dict(lenient) == LENIENT
    assert not [c.case for c in scores.cases if c.verdict == "lenient"]


def test_strict_score_of_the_main_job_passes(scores):
    """`conformance score --strict` fails on fail, error and lenient: none is left (the pinned
    decoder crashes are expected_crash entries, so they are xfail)."""
    from conformance.score import BAD_VERDICTS

    assert not any(scores.counts()[v] for v in BAD_VERDICTS)


# The way back: the quantize preset that describes each library's own float -> pixel rule passes
# on every corpus tensor (NaN, ±inf and the values beyond int32 included), in isolated mode.
OWN_WAY_BACK = {"opencv": ("opencv.convert_scale_abs",), "pillow": ("pillow.f_to_l",),
                "torchvision-pil": ("torchvision.to_pil_image",),
                "torchvision-tensor": ("torchvision.to_dtype",), "torchvision-float": ("torchvision.to_dtype",),
                "rust-image": ("rust.as_u8", "rust.round_as_u8"), "rust-fir": ("rust.as_u8", "rust.round_as_u8"),
                "rust-cli": ("rust.as_u8", "rust.round_as_u8"),
                "onnxruntime": ("basicsr.tensor2img", "torchvision.to_pil_image", "torchvision.to_dtype",
                                "numpy.clip_astype", "numpy.astype", "opencv.convert_scale_abs",
                                "rust.as_u8", "rust.round_as_u8", "pillow.f_to_l")}


def test_each_library_passes_its_own_way_back(scores):
    for harness, presets in OWN_WAY_BACK.items():
        own = [c for c in scores.cases if c.harness == harness and c.mode == "isolated"
               and c.pipeline in {f"back.quantize.{p}" for p in presets}]
        assert len(own) == 3 * len(presets), (harness, len(own))  # 3 [0, 1] tensors per preset
        assert all(c.verdict == "pass" for c in own), [c.case for c in own if c.verdict != "pass"]
    # every way-back step of every harness is pass, unsupported (with its reason) or a known one
    back = [s.verdict for c in scores.cases if c.pipeline.startswith("back.") for s in c.steps]
    assert back and set(back) <= {"pass", "xfail", "unsupported", "skipped"}, collections.Counter(back)
