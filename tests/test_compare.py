"""`conformance compare`: two pipelines, or a pipeline and a harness, aligned step by step on the
same inputs; the first divergent step of each input, with figures (issue 14, part 1)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from conformance.corpus import full_size_photos
from conformance.investigate.compare import (align, compare_harness, compare_pipelines,
                                             grey_level_factors, step_metrics)
from conformance.investigate.compare_report import render_html, schema
from conformance.spec import load_pipelines, pipeline_from_dict

REPO = Path(__file__).resolve().parents[1]
TORCHVISION = REPO / "examples" / "torchvision_224.toml"
CV2_STYLE = {"id": "cv2_style_224", "steps": [
    {"op": "decode", "preset": "opencv"}, {"op": "color", "conversion": "bgr_to_rgb"},
    {"op": "resize", "preset": "opencv.linear", "shorter_side": 256, "size_rounding": "floor"},
    {"op": "crop", "mode": "center", "height": 224, "width": 224, "offset_rounding": "round"},
    {"op": "normalize", "preset": "torchvision.imagenet"}, {"op": "layout", "layout": "chw", "batch": True}]}


@pytest.fixture(scope="module")
def photos():
    return [p for p in full_size_photos() if "exif" not in p.id]


def test_alignment_folds_steps_one_side_lacks_into_the_step_before():
    rows = align(["decode", "resize", "crop", "normalize", "layout"],
                 ["decode", "color", "resize", "normalize", "layout"])
    assert [(r.op, r.a, r.b, r.folded_a, r.folded_b) for r in rows] == [
        ("decode", 0, 1, (), ("color",)), ("resize", 2, 2, ("crop",), ()),
        ("normalize", 3, 3, (), ()), ("layout", 4, 4, (), ())]
    assert rows[0].label == "decode (+color in B)"
    with pytest.raises(Exception, match="share no op"):
        align(["decode"], ["resize"])


def test_grey_levels_go_through_the_normalize_std():
    p = load_pipelines(TORCHVISION)[0]
    per = grey_level_factors(p, 3, 3)
    assert np.allclose(per, [1 / 255 / 0.229, 1 / 255 / 0.224, 1 / 255 / 0.225])
    a = np.zeros((2, 2, 3), np.float32)
    b = a + per.astype(np.float32)  # exactly one grey level in every channel
    m = step_metrics(a, b, per)
    assert m["levels"]["max_abs"] == pytest.approx(1, rel=1e-6)
    assert m["over_one_level"] == 0  # one level is not over one level


def test_torchvision_vs_cv2_style_diverges_first_at_resize(photos):
    """The issue's measurement: examples/torchvision_224.toml against a cv2-style deployment on
    the built-in photos: decode identical, resize first divergent on every photo, by tens of
    grey levels (Pillow's antialiased bilinear against cv2's INTER_LINEAR)."""
    comp = compare_pipelines(load_pipelines(TORCHVISION)[0], pipeline_from_dict(CV2_STYLE), photos)
    assert comp.first_divergent_counts() == {"resize": len(photos)}
    for i in comp.inputs:
        assert i.first_divergent.row.op == "resize"
        assert i.steps[0].metrics["max_abs"] == 0  # decode (+ bgr_to_rgb in B) identical
    summary = {r["op"]: r for r in comp.summary()}
    print("\ntorchvision vs cv2-style:", {k: (v["worst_max_abs"], v["mean_mean_abs"], v["worst_max_levels"])
                                          for k, v in summary.items()})
    assert summary["resize"]["worst_max_abs"] >= 20
    assert summary["normalize"]["worst_max_levels"] == pytest.approx(summary["resize"]["worst_max_abs"], abs=1)
    jsonschema.validate(comp.to_json(), schema())
    html = render_html(comp)
    assert "data:image/png;base64," in html and "http://" not in html and "https://" not in html


def test_identical_pipelines_show_no_divergence(photos):
    p = load_pipelines(TORCHVISION)[0]
    comp = compare_pipelines(p, p, photos[:1])
    assert comp.first_divergent_counts() == {"(identical)": 1}
    assert all(s.metrics["max_abs"] == 0 and not s.differs for s in comp.inputs[0].steps)


def test_another_crop_size_is_aligned_and_said_not_crashed_on(photos):
    p = load_pipelines(TORCHVISION)[0]
    raw = {"id": "crop200", "steps": [s.knobs() for s in p.steps]}
    raw["steps"][2].update(height=200, width=200)
    comp = compare_pipelines(p, pipeline_from_dict(raw), photos[:1])
    crop = comp.inputs[0].steps[2]
    assert "compared on the centred 200x200 common region" in crop.note
    assert crop.metrics is not None


def test_a_harness_with_library_defaults_shows_exif_and_antialias(tmp_path):
    """opencv with its defaults (cv2.imread applies EXIF, cv2.resize is not antialiased):
    the EXIF-rotated photo diverges at decode, the others at resize."""
    comp = compare_harness(load_pipelines(TORCHVISION)[0], "opencv", full_size_photos(),
                           library_defaults=True, work_dir=tmp_path)
    firsts = {i.input: i.first_divergent.row.op for i in comp.inputs}
    assert firsts.pop("photo.chelsea.451x300.q90.exif6") == "decode"
    assert set(firsts.values()) == {"resize"}
    assert comp.b["steps"][1]["preset"] == "opencv.linear" and comp.b["steps"][0]["orientation"] == "apply"
    same = compare_harness(load_pipelines(TORCHVISION)[0], "pillow", full_size_photos()[:2],
                           library_defaults=False, work_dir=tmp_path / "p")
    assert same.first_divergent_counts() == {"(identical)": 2}


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "conformance.cli", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


def test_cli_writes_json_and_html_and_refuses_bad_input(tmp_path):
    cv2 = tmp_path / "cv2.toml"
    cv2.write_text(json.dumps(CV2_STYLE))
    cv2 = cv2.rename(tmp_path / "cv2.json")
    r = _cli("compare", TORCHVISION, cv2, "--out", tmp_path / "o")
    assert r.returncode == 0, r.stderr
    assert "first divergent step: resize" in r.stdout.replace("\n", " ")
    doc = json.loads((tmp_path / "o" / "compare.json").read_text())
    jsonschema.validate(doc, schema())
    assert (tmp_path / "o" / "compare.html").stat().st_size > 10_000
    two = REPO / "examples" / "deploy_variants.toml"
    for args, code, needle in [((TORCHVISION, two), 2, "holds 3 pipelines"),
                               ((TORCHVISION, cv2, "--harness", "opencv"), 2, "one of them"),
                               ((TORCHVISION, "--harness", "nonesuch"), 2, "nonesuch"),
                               ((TORCHVISION, "--library-defaults", "--harness", "nonesuch"), 2, "nonesuch")]:
        r = _cli("compare", *args)
        assert r.returncode == code and "Traceback" not in r.stderr and needle in r.stderr, (args, r.stderr)


def test_outputs_that_cannot_be_put_side_by_side_are_divergent_not_identical(photos):
    rgb = pipeline_from_dict({"id": "rgb", "steps": [{"op": "decode", "preset": "pillow"}]})
    gray = pipeline_from_dict({"id": "gray", "steps": [{"op": "decode", "preset": "pillow", "output": "gray"}]})
    comp = compare_pipelines(rgb, gray, photos[:1])
    step = comp.inputs[0].steps[0]
    assert step.differs and step.metrics is None and "not comparable" in step.note
    assert comp.first_divergent_counts() == {"decode": 1}
    jsonschema.validate(comp.to_json(), schema())
