"""`score --explain` and `report --explain`: explain's best sentence on every failing and xfail
step, in the terminal, scores.json (schema-checked) and the HTML page (issue 14, part 3)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from conformance.corpus import full_size_photos
from conformance.generate import Plan, generate
from conformance.runner import run_bundle
from conformance.spec import load_pipelines

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("explain-reports")
    pipeline = load_pipelines(REPO / "examples" / "torchvision_224.toml")[0]
    photo = [p for p in full_size_photos() if p.id.startswith("photo.astronaut")]
    generate(Plan(inputs=photo, pipelines=[pipeline], selection={pipeline.id: None}), root / "b")
    run_bundle(root / "b", root / "r", harnesses=["opencv"], jobs=1)
    return root / "r"


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "conformance.cli", *map(str, args)], capture_output=True,
                          text=True, timeout=300, env={**__import__("os").environ, "COLUMNS": "160"})


def test_score_explain_names_the_library_behaviour_everywhere(results):
    r = _cli("score", results, "--explain")
    assert r.returncode == 0, r.stderr
    assert "why (score --explain)" in r.stdout and "opencv.linear" in r.stdout
    scores = json.loads((results / "scores.json").read_text())
    jsonschema.validate(scores, json.loads((REPO / "conformance/schemas/scores-v1.schema.json").read_text()))
    resize = [s for c in scores["cases"] for s in c["steps"] if s["op"] == "resize"]
    assert resize and all(s["verdict"] == "fail" for s in resize)
    for s in resize:
        e = s["explanation"]
        assert e["explained"] and e["best"]["preset"] == "opencv.linear", e
        assert "antialias" in e["sentence"]
    passing = [s for c in scores["cases"] for s in c["steps"] if s["verdict"] == "pass"]
    assert passing and not any("explanation" in s for s in passing)


def test_report_explain_puts_the_why_on_the_html_figures(results, tmp_path):
    r = _cli("report", results, "--explain", "--format", "html,json", "--out", tmp_path)
    assert r.returncode == 0, r.stderr
    html = (tmp_path / "report.html").read_text()
    assert 'class="why"' in html and "opencv.linear" in html


def test_without_explain_nothing_is_added(results, tmp_path):
    r = _cli("report", results, "--format", "json", "--out", tmp_path)
    assert r.returncode == 0, r.stderr
    scores = json.loads((tmp_path / "scores.json").read_text())
    assert not any("explanation" in s for c in scores["cases"] for s in c["steps"])
