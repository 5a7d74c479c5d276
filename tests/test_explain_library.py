"""``explain`` on real library outputs: each built-in harness run on *another* library's resize and
decode presets of ``vectors/default`` (opencv on ``pillow.*``, pillow on ``opencv.*``, the Rust
harnesses on ``pillow.*``, onnxruntime on ``opencv.*``, ...), isolated mode: the step gets the
bundle's expected input, the harness's own output is explained with the step's tolerance and the
harness's name.

Asserted per harness: the best hypothesis reproduces the library's output within the tolerance
on at least 90 % of the failing steps, and names the harness's own library (its presets, or the
knob values its presets set; for OpenCV's uint8 INTER_CUBIC, which runs Intel IPP and equals the
float ONNX cubic, the explanation names opencv.cubic as "within the tolerance too"). A subset
keeps the test short (resize down and up on two inputs, decode on six); scripts/bench_explain.py
measures the whole bundle.

fast_image_resize's Nearest (rust-fir) takes the column by a multiplied and the row by an
accumulated index: the reference's ``nearest_index="fir"`` (tests/test_resize_fir_nearest.py),
searched as the library model ``fir.nearest``; it counts like every other step. Asserted too:
nothing is claimed beyond the tolerance. The ``fir.*`` library models of the search are checked
against the rust-fir harness.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from conformance.bundle import Bundle
from conformance.harnesses import HarnessUnavailable, load
from conformance.investigate.explain import explain_step
from conformance.investigate.explain_space import LIBRARY_MODELS
from conformance.reference.pipeline import run_step
from conformance.spec import make_step

BUNDLE = "vectors/default"
HARNESSES = ("opencv", "pillow", "onnxruntime", "rust-image", "rust-fir", "tract")
#: harness -> pipeline families of its own library (not cross-library cases); rust-fir decodes
#: with the image crate and resizes with fast_image_resize (no preset family in the bundle).
OWN = {"opencv": ("opencv",), "pillow": ("pillow",), "onnxruntime": ("onnx",), "tract": ("onnx",),
       "rust-image": ("image",), "rust-fir": ("image",)}
RESIZE_PRESETS = ("pillow.nearest", "pillow.box", "pillow.bilinear", "pillow.hamming", "pillow.bicubic",
                  "pillow.lanczos", "opencv.nearest", "opencv.nearest_exact", "opencv.linear", "opencv.cubic",
                  "opencv.area", "opencv.lanczos4", "image.nearest", "image.triangle", "image.catmullrom",
                  "image.gaussian", "image.lanczos3", "onnx.linear.half_pixel", "onnx.cubic.half_pixel.antialias",
                  "onnx.nearest.asymmetric", "onnx.cubic.align_corners")
RESIZE_CASES = [("down23x31", "photo.chelsea.50x75"), ("up53x67", "syn.checker.33x31"),
                ("down23x31", "syn.zone_plate.61x83"), ("short24", "photo.astronaut.64x64")]
DECODE_PIPELINES = ("decode.pillow", "decode.opencv", "decode.opencv.gray", "decode.image")
DECODE_INPUTS = ("png.gray16.13x17", "png.rgb16.13x17", "png.rgba8.13x17",
                 "jpeg.pillow.q90.420.seq.zone_plate.37x45", "jpeg.pillow.q90.cmyk.seq.cmyk_bars.24x40",
                 "jpeg.opencv.q90.440.prog.gradients.33x47")
RATE = 0.90


def _family(pipeline_id: str) -> str:
    return pipeline_id.split(".")[1]


def _cases(bundle: Bundle, harness: str) -> list[dict]:
    wanted = {f"resize.{p}.{t}__{i}" for p in RESIZE_PRESETS for t, i in RESIZE_CASES}
    wanted |= {f"{p}__{i}" for p in DECODE_PIPELINES for i in DECODE_INPUTS}
    return [c for c in bundle.cases if c["id"] in wanted and _family(c["pipeline"]) not in OWN[harness]]


@pytest.fixture(scope="module")
def outcomes() -> dict[str, list[dict]]:
    os.environ.setdefault("NUMBA_CACHE_DIR", ".venv/numba-cache")
    bundle = Bundle(BUNDLE, validate_schema=False)
    out: dict[str, list[dict]] = {}
    for name in HARNESSES:
        try:
            harness = load(name)
        except HarnessUnavailable:
            continue
        rows = []
        for case in _cases(bundle, name):
            pipeline = bundle.pipelines[case["pipeline"]]
            steps = bundle.manifest["pipelines"][case["pipeline"]]["steps"]
            index = len(steps) - 1  # the decode or resize step
            entry = case["steps"][index]
            if harness.check(steps[index]) is not None:
                continue  # unsupported: nothing to explain
            value = bundle.input_bytes(case["input"]) if index == 0 else bundle.expected(case["steps"][index - 1])
            expected = bundle.expected(entry)
            got = harness.run(steps[index], value)
            tol = float(entry["tolerance"]["max_abs"])
            if got.shape == expected.shape and np.abs(got.astype(np.float64) - expected).max() <= tol:
                continue  # passes: nothing to explain
            e = explain_step(pipeline, index, value, got, tolerance=tol, harness=name, budget_seconds=10.0)
            rows.append({"case": case["id"], "op": entry["op"], "explanation": e,
                         "nearest": pipeline.steps[index].op == "resize"
                         and pipeline.steps[index].filter == "nearest"})
        out[name] = rows
    return out


def _own_named(e) -> bool:
    return any(h.library and h.max_abs <= e.tolerance for h in e.hypotheses)


def test_library_outputs_are_explained_by_their_own_library(outcomes):
    print()
    for name, rows in outcomes.items():
        counted = rows
        explained = [r for r in counted if r["explanation"].explained]
        own = [r for r in explained if _own_named(r["explanation"])]
        best_own = [r for r in explained if r["explanation"].hypotheses[0].library]
        print(f"  {name:12s} {len(counted):3d} failing steps: explained {len(explained)} "
              f"({100 * len(explained) / max(1, len(counted)):.0f}%), own library best {len(best_own)}, "
              f"named {len(own)} ({100 * len(own) / max(1, len(counted)):.0f}%)")
        for r in counted:
            if not r["explanation"].explained:
                print(f"      unexplained: {r['case']}: {r['explanation'].sentence[:200]}")
        assert len(counted) >= 8, name
        assert len(explained) / len(counted) >= RATE, name
        assert len(own) / len(counted) >= RATE, name
    assert {"opencv", "pillow"} <= set(outcomes)


def test_nothing_is_claimed_that_was_not_reproduced(outcomes):
    """explained means the best hypothesis is within the tolerance, and otherwise the sentence
    says nothing reproduces it."""
    for name, rows in outcomes.items():
        for r in rows:
            e = r["explanation"]
            best = e.hypotheses[0]
            assert e.explained == (best.max_abs <= e.tolerance)
            if not e.explained:
                assert e.sentence.startswith("Nothing tried reproduces")
                assert all(h.sentence.startswith("Closest, not a reproduction") for h in e.hypotheses)
    fir_nearest = [r for r in outcomes.get("rust-fir", []) if r["nearest"]]
    assert all(r["explanation"].explained for r in fir_nearest)  # fir.nearest reproduces them


def test_opencv_on_pillow_bilinear_says_what_cv2_does(outcomes):
    rows = {r["case"]: r["explanation"] for r in outcomes["opencv"]}
    e = rows["resize.pillow.bilinear.down23x31__photo.chelsea.50x75"]
    best = e.hypotheses[0]
    assert e.explained and best.preset == "opencv.linear" and best.max_abs == 0
    assert best.knobs["antialias"] == [True, False]
    assert "INTER_LINEAR" in e.sentence and "antialias=true" in e.sentence


def test_fir_library_models_reproduce_fast_image_resize():
    """LIBRARY_MODELS["resize"] (fast_image_resize 5.5 as knobs) against the rust-fir harness:
    0 levels on every filter, Convolution (antialias) and Interpolation, except Box upscales."""
    try:
        fir = load("rust-fir")
    except HarnessUnavailable:
        pytest.skip("the Rust harness is not built")
    from conformance import synthetic as syn
    from conformance.corpus import photo

    images = [photo("chelsea", 6), syn.zone_plate(61, 83), syn.noise(29, 37)]
    worst = {}
    for name, knobs in LIBRARY_MODELS["resize"].items():
        for antialias in (True, False):
            for image in images:
                for size in ((23, 31), (53, 67), (24, 37)):
                    upscale = size[0] > image.shape[0] or size[1] > image.shape[1]
                    if name == "fir.box" and (upscale or not antialias):
                        continue  # its half-open box support: not modelled
                    step = make_step({"op": "resize", **knobs, "antialias": antialias,
                                      "height": size[0], "width": size[1]})
                    d = np.abs(run_step(step, image).astype(int) - fir.run(step.knobs(), image).astype(int)).max()
                    worst[(name, antialias)] = max(worst.get((name, antialias), 0), int(d))
    assert set(worst.values()) == {0}, worst
