"""Terminal, JSON and JUnit reports: on a hand-built Scores (every verdict, a case-level error,
hostile text) whose numbers are counted by hand, and on one real tiny run."""

from __future__ import annotations

import io
import json
import os
import random
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from rich.cells import cell_len
from rich.console import Console

from conformance.report import FILE_NAMES, write_reports
from conformance.report.common import failing_steps, printable
from conformance.report.json_report import schema, scores_document, validate, write_json
from conformance.report.junit import write_junit
from conformance.report.terminal import render_terminal
from conformance.score import Scores, score_results

from report_fixtures import NASTY, synthetic_scores, tiny_run

WIDTH = 100


class _Stream(io.StringIO):
    """A text stream that declares an encoding, as a CI log file or pipe does."""

    def __init__(self, encoding: str):
        super().__init__()
        self._encoding = encoding

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._encoding


def _terminal(scores: Scores, *, encoding: str = "utf-8", worst: int = 10) -> str:
    stream = _Stream(encoding)
    console = Console(file=stream, width=WIDTH, force_terminal=False)
    render_terminal(scores, console, worst=worst)
    return stream.getvalue()


# -- terminal -----------------------------------------------------------------------------------

def test_terminal_matrix_totals_and_worst_cases_hand_counted():
    out = _terminal(synthetic_scores())
    assert max(cell_len(line) for line in out.splitlines()) <= WIDTH
    assert "\x1b[" not in out, "no colour codes without a terminal"
    lines = out.splitlines()
    # alpha, isolated, decode: two passes and the lenient negative vector.
    decode_row = next(line for line in lines if line.lstrip().startswith("decode"))
    assert "2✓ 1~" in decode_row
    # the case that crashed after step 1 counts as one more error (case-level)
    assert "steps: 5 ✓ pass, 3 ✗ fail, 1 x xfail, 1 ~ lenient, 4 ! error, 2 – unsupported, " \
           "1 · skipped" in out
    assert "worst cases: 6 of 6 failing" in out
    # Spread over (harness, pipeline) before repeats: alpha's p.resize appears in chained mode
    # (shape mismatch, no number: first) and again last in isolated mode (3 > 1).
    assert out.index("shape") < out.index("200 > 1") < out.index("3 > 1")
    assert "timed out after 60 s" in out and "worker crashed after step 1" in out
    assert "neg.x" in out and "DecodeError: bad CRC" in out


def test_terminal_escapes_hostile_text_and_truncates_the_list():
    out = _terminal(synthetic_scores(), worst=2)
    assert "worst cases: 2 of 6 failing" in out
    assert "6 failing or erroring case(s)" in _terminal(synthetic_scores(), worst=0)
    out = _terminal(synthetic_scores())
    assert "\x00" not in out and "\x07" not in out and "\\x00\\x07" in out
    assert "[red]x[/red]" in out, "messages are data, never rich markup"


def test_terminal_ascii_console_is_pure_ascii():
    out = _terminal(synthetic_scores(), encoding="ascii")
    out.encode("ascii")  # raises if anything non-ASCII slipped through
    assert "5 P pass, 3 F fail" in out
    assert max(len(line) for line in out.splitlines()) <= WIDTH


# -- JSON ---------------------------------------------------------------------------------------

def test_json_is_deterministic_valid_and_order_independent(tmp_path):
    scores = synthetic_scores()
    a = write_json(scores, tmp_path / "a" / "scores.json").read_bytes()
    shuffled = synthetic_scores()
    random.Random(1).shuffle(shuffled.cases)
    b = write_json(shuffled, tmp_path / "b" / "scores.json").read_bytes()
    assert a == b
    doc = json.loads(a)
    validate(doc)
    assert doc["totals"] == {"pass": 5, "fail": 3, "xfail": 1, "unsupported": 2, "error": 4,
                             "skipped": 1, "lenient": 1}
    assert doc["summary"]["beta"]["isolated"]["(case)"]["error"] == 2  # timed out; crashed after step 1
    nasty = next(s for c in doc["cases"] for s in c["steps"] if s["verdict"] == "error")
    assert nasty["message"] == NASTY
    assert [(c["harness"], c["mode"]) for c in doc["cases"]][:3] == [("alpha", "isolated")] * 3


def test_json_paths_are_relative_to_the_file_unless_asked(tmp_path):
    scores = synthetic_scores()
    path = tmp_path / "deep" / "scores.json"
    doc = json.loads(write_json(scores, path).read_bytes())
    assert not doc["bundle"].startswith("/")
    assert os.path.normpath(path.parent / doc["bundle"]) == "/nonexistent/bundle"
    assert os.path.normpath(path.parent / doc["results_dir"]) == "/nonexistent/results"
    doc = json.loads(write_json(scores, path, relative_paths=False).read_bytes())
    assert doc["bundle"] == "/nonexistent/bundle"


def test_json_schema_rejects_what_it_should():
    doc = scores_document(synthetic_scores())
    validate(doc)
    bad = json.loads(json.dumps(doc))
    bad["cases"][0]["steps"][0]["verdict"] = "maybe"
    with pytest.raises(jsonschema.ValidationError):
        validate(bad)
    bad = json.loads(json.dumps(doc))
    step = next(s for c in bad["cases"] for s in c["steps"] if "metrics" in s)
    del step["metrics"]["worst"]
    with pytest.raises(jsonschema.ValidationError):
        validate(bad)
    bad = json.loads(json.dumps(doc))
    bad["cases"][0]["surprise"] = 1
    with pytest.raises(jsonschema.ValidationError):
        validate(bad)


def test_json_schema_describes_every_field():
    sch = schema()
    jsonschema.Draft202012Validator.check_schema(sch)
    undescribed = []

    def walk(node, where):
        if isinstance(node, dict):
            for name, sub in (node.get("properties") or {}).items():
                if "description" not in sub and "$ref" not in sub:
                    undescribed.append(f"{where}/{name}")
            for key, sub in node.items():
                walk(sub, f"{where}/{key}")
        elif isinstance(node, list):
            for i, sub in enumerate(node):
                walk(sub, f"{where}/{i}")

    walk(sch, "")
    assert undescribed == []
    for name, d in sch["$defs"].items():
        assert "description" in d, name


# -- JUnit --------------------------------------------------------------------------------------

COUNTERS = ("tests", "failures", "errors", "skipped")


def _check_counts(root: ET.Element) -> dict[str, dict[str, int]]:
    """Each suite's and the root's counters equal the elements they count; returns the suites'."""
    per_suite = {}
    totals = dict.fromkeys(COUNTERS, 0)
    for suite in root.findall("testsuite"):
        cases = suite.findall("testcase")
        seen = {"tests": len(cases),
                "failures": sum(1 for c in cases if c.find("failure") is not None),
                "errors": sum(1 for c in cases if c.find("error") is not None),
                "skipped": sum(1 for c in cases if c.find("skipped") is not None)}
        assert {k: int(suite.get(k)) for k in COUNTERS} == seen, suite.get("name")
        per_suite[suite.get("name")] = seen
        for k in COUNTERS:
            totals[k] += seen[k]
    assert {k: int(root.get(k)) for k in COUNTERS} == totals
    return per_suite


def test_junit_suites_counts_and_escaping(tmp_path):
    path = write_junit(synthetic_scores(), tmp_path / "junit.xml")
    root = ET.parse(path).getroot()
    assert _check_counts(root) == {
        "alpha.isolated": {"tests": 6, "failures": 2, "errors": 0, "skipped": 2},
        "alpha.chained": {"tests": 5, "failures": 1, "errors": 1, "skipped": 2},
        "beta.isolated": {"tests": 6, "failures": 1, "errors": 3, "skipped": 0},
    }
    cases = {(suite.get("name"), c.get("name")): c for suite in root for c in suite.iter("testcase")}
    fail = cases[("alpha.isolated", "p.resize__in.a[step 1 resize]")]
    assert fail.get("classname") == "p.resize"
    msg = fail.find("failure").get("message")
    assert msg.startswith("max abs error 3 > tolerance 1 (") and "mean abs 0.5" in msg
    assert "worst element: index [0, 1, 0], expected 20, got 23" in fail.find("failure").text
    assert cases[("alpha.isolated", "p.dec__neg.x[step 0 decode]")].find("failure").get("type") == "lenient"
    xfail = cases[("alpha.isolated", "p.norm__in.a[step 1 normalize]")].find("skipped")
    assert xfail.get("message").startswith("xfail: ")
    assert cases[("beta.isolated", "p.dec__neg.x[case]")].find("error").get("message") == "timed out after 60 s"
    nasty = [c for c in root.iter("testcase") if c.find("error") is not None
             and "<b>" in c.find("error").get("message")]
    assert len(nasty) == 1
    assert nasty[0].find("error").get("message") == printable(NASTY)
    alpha = root.find("testsuite[@name='alpha.isolated']/properties")
    assert {p.get("name"): p.get("value") for p in alpha} == {
        "bundle": "/nonexistent/bundle", "bundle_sha256": "ab" * 32, "version.alib": "1.2"}


# -- common selections --------------------------------------------------------------------------

def test_failing_steps_put_first_divergences_first_and_spread_pipelines():
    order = [(f.case.harness, f.case.mode, f.case.case, f.step.index) for f in failing_steps(synthetic_scores())]
    assert order == [("alpha", "chained", "p.resize__in.a", 1),   # shape mismatch: no number, first
                     ("beta", "isolated", "p.resize__in.a", 1),   # 200 > 1
                     ("alpha", "isolated", "p.resize__in.a", 1)]  # 3 > 1, second of alpha p.resize


# -- write_reports and a real run ---------------------------------------------------------------

def test_write_reports_rejects_unknown_formats_before_writing(tmp_path):
    with pytest.raises(ValueError, match="unknown report format"):
        write_reports(synthetic_scores(), tmp_path / "out", formats=("json", "pdf"))
    assert not (tmp_path / "out").exists()


def test_real_tiny_run_all_formats(tmp_path_factory, tmp_path):
    _, results = tiny_run(tmp_path_factory)
    scores = score_results(results)
    stream = _Stream("utf-8")
    written = write_reports(scores, tmp_path / "r", console=Console(file=stream, width=WIDTH))
    assert set(written) == {"term", "json", "junit", "html"}
    assert written["json"] == tmp_path / "r" / FILE_NAMES["json"]
    out = stream.getvalue()
    assert max(cell_len(line) for line in out.splitlines()) <= WIDTH
    assert "t.opencv_chw__syn.colour_bars.24x40" in out and "lenient" in out

    doc = json.loads(written["json"].read_bytes())
    validate(doc)
    assert doc["totals"] == scores.counts()
    assert Path(os.path.normpath(written["json"].parent / doc["results_dir"])) == Path(results).resolve()
    # A second scoring of the same results gives the same bytes.
    again = write_json(score_results(results), tmp_path / "r2" / "scores.json")
    assert again.read_bytes() == written["json"].read_bytes()

    root = ET.parse(written["junit"]).getroot()
    _check_counts(root)
    c = scores.counts()
    case_errors = sum(1 for cs in scores.cases if cs.error)
    assert int(root.get("tests")) == sum(len(cs.steps) for cs in scores.cases) + case_errors
    assert int(root.get("failures")) == c["fail"] + c["lenient"]
    assert int(root.get("skipped")) == c["unsupported"] + c["skipped"] + c["xfail"]
    assert {s.get("name") for s in root} == {"opencv.isolated", "opencv.chained", "pillow.isolated",
                                             "pillow.chained"}


def test_matrix_blocks_keep_harness_names_whole_at_80_columns():
    from conformance.report.terminal import harness_blocks

    names = ["onnxruntime", "opencv", "pillow", "rust-cli", "rust-fir", "rust-image", "tract"]
    blocks = harness_blocks(names, 80)
    assert [h for b in blocks for h in b] == names  # a partition, in order
    assert len(blocks) == 2 and all(b for b in blocks)
    assert harness_blocks(names, 200) == [names]
    assert harness_blocks(["a-very-long-harness-name-indeed"], 20) == [["a-very-long-harness-name-indeed"]]
