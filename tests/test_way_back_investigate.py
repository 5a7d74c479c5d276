"""The way back under investigation: the CodeFormer mistake measured by ``compare`` (mean
brightness drop, clipped fraction, in the report) and named by ``explain``'s detectors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from conformance.cli import cli
from conformance.investigate.explain import explain_step
from conformance.reference.pipeline import run_pipeline
from conformance.spec import pipeline_from_dict
from conformance.tensor_corpus import tensor_inputs

TRAIN = """id = "basicsr"
description = "CodeFormer's own tensor2img(min_max=(-1, 1))"
[[steps]]
op = "tensor"
[[steps]]
op = "denormalize"
preset = "basicsr.tensor2img"
[[steps]]
op = "quantize"
preset = "basicsr.tensor2img"
"""
DEPLOY = TRAIN.replace('id = "basicsr"', 'id = "deployed"').replace(
    'preset = "basicsr.tensor2img"\n[[steps]]\nop = "quantize"',
    'preset = "basicsr.tensor2img"\nfrom_range = [0, 1]\n[[steps]]\nop = "quantize"', 1)


def _symmetric() -> bytes:
    return next(i for i in tensor_inputs() if i.id == "tensor.photo.symmetric.f32.nchw").data


@pytest.fixture()
def codeformer(tmp_path):
    (tmp_path / "train.toml").write_text(TRAIN)
    (tmp_path / "deploy.toml").write_text(DEPLOY)
    (tmp_path / "stage2_output.npy").write_bytes(_symmetric())
    return tmp_path


def test_codeformer_mistake_is_measured_in_the_compare_report(codeformer):
    out = codeformer / "rep"
    r = CliRunner().invoke(cli, ["compare", str(codeformer / "train.toml"), str(codeformer / "deploy.toml"),
                                  "--images", str(codeformer / "stage2_output.npy"), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "clipped to 0" in r.output and "first divergent step: denormalize" in r.output
    doc = json.loads((out / "compare.json").read_text())
    quantize = next(row for row in doc["summary"] if row["op"] == "quantize")
    p = quantize["pixels"]
    # measured on chelsea (30x45): mean level 115.3 -> 21.5, 0 % -> 60.1 % of values clipped to black
    assert p["mean_a"] - p["mean_b"] > 80
    assert p["clipped_low_a"] == 0 and p["clipped_low_b"] > 0.5
    assert (out / "compare.html").read_text().count("quantize") >= 1


def test_codeformer_mistake_is_named_by_its_detector():
    data = _symmetric()
    train = pipeline_from_dict({"id": "t", "steps": [
        {"op": "tensor"}, {"op": "denormalize", "preset": "basicsr.tensor2img"},
        {"op": "quantize", "preset": "basicsr.tensor2img"}]})
    deployed = pipeline_from_dict({"id": "d", "steps": [
        {"op": "tensor"}, {"op": "denormalize", "preset": "basicsr.tensor2img", "from_range": [0, 1]},
        {"op": "quantize", "preset": "basicsr.tensor2img"}]})
    ref, dep = run_pipeline(train, data), run_pipeline(deployed, data)
    e = explain_step(train, 1, ref[0], dep[1], tolerance=0, budget_seconds=10)
    best = e.hypotheses[0].to_json()
    assert best["transform"] == "range_back" and best["max_abs"] == 0
    assert "[-1, 1] output read as [0, 1]" in e.hypotheses[0].label()


@pytest.mark.parametrize("planted,transform", [
    ({"rounding": "truncate"}, "truncation"),
    ({"clamp": "none", "overflow": "wrap"}, "clamp_back"),
])
def test_quantize_mistakes_are_named(planted, transform):
    data = next(i for i in tensor_inputs() if i.id == "tensor.traps.unit.f32.nchw").data
    p = pipeline_from_dict({"id": "t", "steps": [{"op": "tensor"}, {"op": "quantize", "preset": "basicsr.tensor2img"}]})
    bad = pipeline_from_dict({"id": "b", "steps": [
        {"op": "tensor"}, {"op": "quantize", "preset": "basicsr.tensor2img", **planted}]})
    ref, dep = run_pipeline(p, data), run_pipeline(bad, data)
    e = explain_step(p, 1, ref[0], dep[1], tolerance=0, budget_seconds=10)
    assert e.hypotheses[0].to_json()["transform"] == transform, e.hypotheses[0].label()


def test_bgr_saved_as_rgb_is_named():
    data = next(i for i in tensor_inputs() if i.id == "tensor.photo.unit.f32.nchw").data
    steps = [{"op": "tensor"}, {"op": "quantize", "preset": "basicsr.tensor2img"},
             {"op": "color", "conversion": "rgb_to_bgr"}, {"op": "encode", "channel_order": "bgr"}]
    p = pipeline_from_dict({"id": "t", "steps": steps})
    ref = run_pipeline(p, data)
    written_as_rgb = ref[2]  # the BGR array handed to PIL Image.save: the file holds BGR
    e = explain_step(p, 3, ref[2], np.ascontiguousarray(written_as_rgb), tolerance=0, budget_seconds=10)
    assert e.hypotheses[0].to_json()["transform"] == "saved_channel_order", e.hypotheses[0].label()


def test_codeformer_mistake_is_named_from_the_pixels_alone(codeformer):
    """A user who has only the deployed pixels (the last step's output) gets the same answer:
    the quantize input had skipped the (x + 1) / 2, reproduced to 0 levels."""
    deploy = pipeline_from_dict({"id": "d", "steps": [
        {"op": "tensor"}, {"op": "denormalize", "preset": "basicsr.tensor2img", "from_range": [0, 1]},
        {"op": "quantize", "preset": "basicsr.tensor2img"}]})
    np.save(codeformer / "deployed.npy", run_pipeline(deploy, _symmetric())[-1])
    r = CliRunner().invoke(cli, ["explain", "--pipeline", str(codeformer / "train.toml"), "--input",
                                 str(codeformer / "stage2_output.npy"), "--output",
                                 str(codeformer / "deployed.npy"), "--json"])
    assert r.exit_code == 0, r.output
    best = json.loads(r.output)["hypotheses"][0]
    assert best["transform"] == "range_back" and best["max_abs"] == 0, best
