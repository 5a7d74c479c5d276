"""Reports that lead with what matters (issue 14, part 5): failures ranked by how far they are
outside their tolerance in the step's own units converted to 8-bit levels, then by size; the HTML
page's figures and image budget shared per op; in chained mode the earliest step whose output
differs at all named when a later step fails; JPEG subsampling read from the file, so a user's
4:2:0 photo is 4:2:0 and not "other"."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from rich.console import Console

from conformance.bundle import json_bytes
from conformance.expectations import jpeg_subsampling
from conformance.generate import generate
from conformance.plans import user_plan
from conformance.report.common import (FailingStep, failing_steps, first_difference, op_shares,
                                       worst_problem_cases)
from conformance.report.html import build_context, render_html
from conformance.report.jpeg_decode import OTHER, jpeg_decode_table, subsampling_of
from conformance.report.json_report import scores_document, validate
from conformance.report.junit import write_junit
from conformance.report.terminal import render_terminal
from conformance.score import CaseScore, Scores, StepScore

TOL0 = {"metric": "max_abs", "max_abs": 0, "reason": "exact", "source": "bundle"}
TOL1 = {"metric": "max_abs", "max_abs": 1, "reason": "one LSB", "source": "bundle"}
TOLF = {"metric": "max_abs", "max_abs": 1e-5, "reason": "float32", "source": "bundle"}


def _m(max_abs):
    return {"max_abs": max_abs, "mean_abs": max_abs / 4, "rmse": max_abs / 2, "over_tolerance": 0.1,
            "nonfinite": 0, "worst": {"index": [0, 0, 0], "expected": 1.0, "got": 2.0}}


def _step(index, op, verdict, max_abs=None, tol=TOL0, message=""):
    return StepScore(index, op, verdict, message or f"{op} {verdict}", None, tol,
                     None if max_abs is None else _m(max_abs))


def _case(harness, mode, pipeline, steps, inp="in.photo"):
    return CaseScore(harness, mode, f"{pipeline}__{inp}", pipeline, inp, "ok", steps)


# (pipeline, the failing step, its dtype, the reference output's value range)
RANKED = [
    ("p.shape", _step(0, "resize", "fail", None, TOL1, "shape [2, 2], expected [2, 2, 3]"), "uint8", [0, 255]),
    ("p.resize168", _step(0, "resize", "fail", 168.0, TOL1), "uint8", [0, 255]),
    ("p.range_mixup", _step(0, "normalize", "fail", 1.0, TOLF), "float32", [-1.0, 1.0]),
    ("p.resize5", _step(0, "resize", "fail", 5.0, TOL1), "uint8", [0, 255]),
    ("p.decode4", _step(0, "decode", "fail", 4.0, TOL0), "uint8", [0, 255]),
    ("p.normalize", _step(0, "normalize", "fail", 0.0175, TOLF), "float32", [-2.12, 2.64]),
    ("p.decode16", _step(0, "decode", "fail", 256.0, TOL0), "uint16", [0, 65535]),
]


def _ranked_scores(bundle: str) -> Scores:
    # shuffled on purpose: the order must come from the key, not from the input order
    cases = [_case("h", "isolated", p, [s]) for p, s, _, _ in reversed(RANKED)]
    return Scores("/nonexistent/results", bundle, "ab" * 32, {"h": {"kind": "builtin"}},
                  ["isolated", "chained"], cases)


def _manifest_bundle(tmp_path: Path, cases: list[dict], inputs: dict | None = None) -> tuple[str, str]:
    root = tmp_path / "bundle"
    root.mkdir()
    raw = json_bytes({"format": "preprocessing-vectors", "version": 1, "inputs": inputs or {},
                      "pipelines": {}, "cases": cases})
    (root / "manifest.json").write_bytes(raw)
    return str(root), hashlib.sha256(raw).hexdigest()


def _ranking_bundle(tmp_path: Path) -> str:
    cases = [{"id": f"{p}__in.photo", "pipeline": p, "input": "in.photo", "expect": "ok",
              "steps": [{"index": 0, "op": s.op, "dtype": dtype, "range": rng, "shape": [2, 2, 3]}]}
             for p, s, dtype, rng in RANKED]
    return _manifest_bundle(tmp_path, cases)[0]


# -- ranking ------------------------------------------------------------------------------------

def test_worst_cases_rank_by_levels_beyond_tolerance_then_size(tmp_path):
    scores = _ranked_scores(_ranking_bundle(tmp_path))
    order = [c.pipeline for c in scores.worst_cases(len(scores.cases))]
    # no number first; then 167 levels beyond; a [-1, 1] vs [0, 1] mix-up: 1.0 on a span of 2 =
    # 127.5 levels; 4 beyond (5 at tolerance 1) before 4 beyond (4 at tolerance 0): the larger
    # error first; 256/257 levels of uint16; 0.0175 over 4.76 = 0.94 level.
    assert order == ["p.shape", "p.resize168", "p.range_mixup", "p.resize5", "p.decode4",
                     "p.decode16", "p.normalize"]
    by = {c.pipeline: c for c in scores.cases}
    beyond, size = scores.failure_key(by["p.normalize"], by["p.normalize"].steps[0])
    assert beyond == pytest.approx((0.0175 - 1e-5) * 255 / 4.76) and size == pytest.approx(0.0175 * 255 / 4.76)
    assert scores.failure_key(by["p.decode16"], by["p.decode16"].steps[0]) == (256 / 257, 256 / 257)


def test_a_normalized_tensor_is_ranked_in_the_levels_of_its_input(tmp_path):
    """After normalize, one 8-bit level is scale/std (divisor 255, ImageNet std: 0.0174), carried
    through layout; a low-contrast image's narrow value range does not inflate it."""
    steps = [{"op": "decode"}, {"op": "normalize", "divisor": 255.0, "scale": 1 / 255,
                                "std": [0.229, 0.224, 0.225]}, {"op": "layout"}]
    entries = [{"index": 0, "op": "decode", "dtype": "uint8", "range": [100, 110]},
               {"index": 1, "op": "normalize", "dtype": "float32", "range": [0.1, 0.2]},
               {"index": 2, "op": "layout", "dtype": "float32", "range": [0.1, 0.2]}]
    root, _ = _manifest_bundle(tmp_path, [{"id": "tv__in", "pipeline": "tv", "input": "in", "expect": "ok",
                                           "steps": entries}])
    manifest = json.loads((Path(root) / "manifest.json").read_bytes())
    manifest["pipelines"] = {"tv": {"id": "tv", "steps": steps}}
    (Path(root) / "manifest.json").write_bytes(json_bytes(manifest))
    case = _case("h", "chained", "tv", [_step(0, "decode", "pass", 0.0),
                                        _step(1, "normalize", "fail", 0.0175, TOLF),
                                        _step(2, "layout", "fail", 0.0175, TOLF)], inp="in")
    scores = Scores("/nonexistent/results", root, "ab" * 32, {"h": {}}, ["chained"], [case])
    per_level = (1 / 255) / ((0.229 + 0.224 + 0.225) / 3)
    assert scores.level_scale("tv__in", 0) == 1.0
    assert scores.level_scale("tv__in", 1) == pytest.approx(1 / per_level)
    assert scores.level_scale("tv__in", 2) == pytest.approx(1 / per_level)
    assert scores.failure_key(case, case.steps[2])[1] == pytest.approx(0.0175 / per_level)  # ~1 level


def test_without_the_bundle_ranking_uses_the_steps_own_units():
    scores = _ranked_scores("/nonexistent/bundle")
    order = [c.pipeline for c in scores.worst_cases(len(scores.cases))]
    assert order.index("p.resize168") < order.index("p.decode4")  # 167 beyond, not 4·10^6
    assert order[0] == "p.shape"


def test_failing_steps_and_the_terminal_lead_with_the_largest_failure(tmp_path):
    scores = _ranked_scores(_ranking_bundle(tmp_path))
    assert [f.case.pipeline for f in failing_steps(scores)][:3] == ["p.shape", "p.resize168",
                                                                    "p.range_mixup"]
    cases, total = worst_problem_cases(scores, 3)
    assert total == len(RANKED) and [c.pipeline for c in cases] == ["p.shape", "p.resize168",
                                                                    "p.range_mixup"]
    stream = io.StringIO()
    render_terminal(scores, Console(file=stream, width=120, force_terminal=False), worst=4)
    out = stream.getvalue()
    assert "furthest beyond its tolerance first, in 8-bit levels" in out
    assert out.index("168 > 1") < out.index("1 > 1e-05") < out.index("5 > 1")
    assert "4 > 0" not in out, "the ten worst need not be the zero-tolerance ones"


# -- figures per op -------------------------------------------------------------------------------

def _fs(op: str, n: int) -> list[FailingStep]:
    return [FailingStep(_case("h", "isolated", f"p.{op}{i}", []), _step(0, op, "fail", 1.0))
            for i in range(n)]


def test_op_shares_fill_the_cap_with_equal_shares():
    items = _fs("decode", 50) + _fs("resize", 3) + _fs("crop", 10)
    groups = op_shares(items, 12)
    assert [(op, len(fs)) for op, fs in groups] == [("decode", 5), ("resize", 3), ("crop", 4)]
    assert groups[0][1] == items[:5], "each op keeps its first (worst) items"
    assert [(op, len(fs)) for op, fs in op_shares(items, 100)] == [("decode", 50), ("resize", 3),
                                                                  ("crop", 10)]
    assert op_shares(items, 0) == [] and op_shares([], 5) == []
    assert [(op, len(fs)) for op, fs in op_shares(items, 2)] == [("decode", 1), ("resize", 1)]


def test_html_shows_each_op_that_fails_with_its_share(tmp_path):
    """Many small decode differences cannot push a few large resize failures off the page: the
    resize group comes first and both ops keep their share of the figures."""
    decodes = [_case("h", "isolated", f"p.dec{i}", [_step(0, "decode", "fail", 4.0)]) for i in range(30)]
    resizes = [_case("h", "isolated", f"p.res{i}", [_step(0, "decode", "pass", 0.0),
                                                    _step(1, "resize", "fail", 168.0 - i, TOL1)])
               for i in range(3)]
    scores = Scores("/nonexistent/results", "/nonexistent/bundle", "ab" * 32,
                    {"h": {"kind": "builtin"}}, ["isolated"], decodes + resizes)
    ctx = build_context(scores, max_failures=10)
    assert [(g["op"], len(g["figures"]), g["total"]) for g in ctx["figure_groups"]] == [
        ("resize", 3, 3), ("decode", 7, 30)]
    assert [f.error_vs_tol for f in ctx["figure_groups"][0]["figures"]] == ["168 > 1", "167 > 1", "166 > 1"]
    html = render_html(scores, max_failures=10)
    assert html.index('id="failures-resize"') < html.index('id="failures-decode"')
    assert "resize: 3 shown of 3 failing step(s)" in html and "decode: 7 shown of 30 failing step(s)" in html


# -- first difference in chained mode -------------------------------------------------------------

def _chained(mode="chained", resize_max=1.0, later="fail"):
    return _case("opencv", mode, "deploy.onnx_linear", [
        _step(0, "decode", "pass", 0.0), _step(1, "resize", "pass" if resize_max <= 1 else "fail",
                                             resize_max, TOL1),
        _step(2, "normalize", later, 0.0175, TOLF), _step(3, "layout", later, 0.0175, TOLF)])


def test_first_difference_names_the_upstream_step_within_tolerance():
    diff = first_difference(_chained())
    assert (diff.index, diff.op, diff.max_abs, diff.tolerance) == (1, "resize", 1.0, 1)
    assert diff.to_json() == {"index": 1, "op": "resize", "max_abs": 1.0, "tolerance": 1,
                              "within_tolerance": True}
    assert diff.text() == "step 1 resize differs by 1 (within its tolerance 1)"
    assert first_difference(_chained(later="xfail")).index == 1, "a known difference later counts"
    assert first_difference(_chained(mode="isolated")) is None, "isolated steps get the reference's input"
    assert first_difference(_chained(resize_max=3.0)) is None, "the failing step is the first difference"
    assert first_difference(_chained(resize_max=0.0)) is None, "nothing differs before the failure"
    assert first_difference(_chained(later="pass")) is None, "nothing fails"


def test_first_difference_in_the_terminal_json_and_html(tmp_path):
    scores = Scores("/nonexistent/results", "/nonexistent/bundle", "ab" * 32,
                    {"opencv": {"kind": "builtin"}}, ["isolated", "chained"],
                    [_chained(mode="isolated", later="pass"), _chained()])
    stream = io.StringIO()
    render_terminal(scores, Console(file=stream, width=120, force_terminal=False))
    out = stream.getvalue()
    assert "2 normalize" in out and "first difference: step 1 resize differs by 1 (within its tolerance 1)" in out
    doc = scores_document(scores)
    validate(doc)
    chained = next(c for c in doc["cases"] if c["mode"] == "chained")
    assert chained["first_divergent_step"] == 2
    assert chained["first_difference"] == {"index": 1, "op": "resize", "max_abs": 1.0, "tolerance": 1,
                                           "within_tolerance": True}
    assert "first_difference" not in next(c for c in doc["cases"] if c["mode"] == "isolated")
    bad = json.loads(json.dumps(doc))
    bad["cases"][1]["first_difference"]["within_tolerance"] = False
    with pytest.raises(Exception, match="True was expected|const"):
        validate(bad)
    junit = tmp_path / "junit.xml"
    write_junit(scores, junit)
    assert "first difference (chained mode): step 1 resize differs by 1" in junit.read_text("utf-8")
    html = render_html(scores)
    assert "the difference starts earlier, where no tolerance is exceeded: step 1 resize differs by 1" in html
    assert "first difference: step 1 resize differs by 1" in html  # the list of failing cases


# -- JPEG subsampling of a user's photos ----------------------------------------------------------

def _photo(h=48, w=64) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 4 % 256, y * 5 % 256, (x + y) * 3 % 256], axis=-1).astype(np.uint8)


@pytest.mark.parametrize("subsampling, label", [(0, "4:4:4"), (1, "4:2:2"), (2, "4:2:0")])
def test_jpeg_subsampling_from_the_frame_header(subsampling, label):
    buf = io.BytesIO()
    Image.fromarray(_photo()).save(buf, "JPEG", quality=90, subsampling=subsampling)
    assert jpeg_subsampling(buf.getvalue()) == label


def test_jpeg_subsampling_of_gray_and_non_jpeg_files():
    buf = io.BytesIO()
    Image.fromarray(_photo()[..., 0]).save(buf, "JPEG")
    assert jpeg_subsampling(buf.getvalue()) == "gray"
    png = io.BytesIO()
    Image.fromarray(_photo()).save(png, "PNG")
    assert jpeg_subsampling(png.getvalue()) is None
    assert jpeg_subsampling(buf.getvalue()[:20]) is None, "a header cut short"


def test_user_420_jpeg_is_420_in_the_decode_table(tmp_path):
    images = tmp_path / "photos"
    images.mkdir()
    Image.fromarray(_photo()).save(images / "IMG_0001.jpg", quality=90, subsampling=2)
    Image.fromarray(_photo()).save(images / "IMG_0002.jpg", quality=95, subsampling=0)
    pipelines = tmp_path / "p.toml"
    pipelines.write_text('id = "dec"\n[[steps]]\nop = "decode"\npreset = "pillow"\n')
    generate(user_plan((pipelines,), (images,), with_corpus=False), tmp_path / "bundle")
    raw = (tmp_path / "bundle" / "manifest.json").read_bytes()
    manifest = json.loads(raw)
    assert subsampling_of(manifest["inputs"]["user.IMG_0001"]["tags"]) == OTHER  # what tags say
    cases = [CaseScore("pillow", "isolated", c["id"], c["pipeline"], c["input"], "ok",
                       [_step(0, "decode", "pass", 0.0)]) for c in manifest["cases"]]
    scores = Scores("/nonexistent/results", str(tmp_path / "bundle"), hashlib.sha256(raw).hexdigest(),
                    {"pillow": {"kind": "builtin"}}, ["isolated"], cases)
    rows = [(g.preset, g.subsampling, g.steps) for g in jpeg_decode_table(scores).groups]
    assert rows == [("pillow", "4:4:4", 1), ("pillow", "4:2:0", 1)]
