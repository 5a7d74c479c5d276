"""The runner, the external-program harness, scoring and expectations, on a small bundle.

The bundle is made here from a few synthetic inputs (one of them a negative vector) and three
pipelines, so every test runs in seconds. The fakes under tests/fakes misbehave on purpose.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from conformance.bundle import Bundle
from conformance.errors import SpecError
from conformance.expectations import Expectations
from conformance.harnesses.external import ExternalHarness
from conformance.results import ResultsError, read_records
from conformance.runner import run_bundle
from conformance.score import compare, metrics_for, score_results, ulp_distance
from tests.fakes.small_bundle import PIPELINES, make_small_bundle

FAKES = Path(__file__).parent / "fakes"
ECHO = "tests.fakes.harnesses:EchoHarness"


@pytest.fixture(scope="module")
def small_bundle(tmp_path_factory) -> Path:
    return make_small_bundle(tmp_path_factory.mktemp("bundle") / "b")


def _ids(bundle: Path, input_id: str) -> list[str]:
    return [c["id"] for c in Bundle(bundle).cases if c["input"] == input_id]


def _input_sha(bundle: Path, input_id: str) -> str:
    return Bundle(bundle).manifest["inputs"][input_id]["sha256"]


# -- scoring arithmetic -------------------------------------------------------------------------

def test_metrics_on_a_hand_checked_grid():
    expected = np.array([[[10], [20]], [[30], [40]]], dtype=np.uint8)
    got = np.array([[[10], [23]], [[29], [40]]], dtype=np.uint8)
    m = metrics_for(expected, got, tolerance=1)
    assert m["max_abs"] == 3 and m["mean_abs"] == 1.0
    assert m["rmse"] == pytest.approx(np.sqrt((9 + 1) / 4))
    assert m["over_tolerance"] == 0.25
    assert m["worst"] == {"index": [0, 1, 0], "expected": 20.0, "got": 23.0}
    assert m["psnr"] == pytest.approx(20 * np.log10(255 / np.sqrt(2.5)), rel=1e-6)
    verdict, message, _ = compare(expected, got, 1)
    assert verdict == "fail" and "max abs error 3 > tolerance 1" in message
    assert compare(expected, got, 3)[0] == "pass"


def test_shape_dtype_and_nonfinite_are_failures():
    e = np.zeros((2, 2, 3), np.float32)
    assert compare(e, np.zeros((2, 2, 1), np.float32), 1)[1] == "shape [2, 2, 1], expected [2, 2, 3]"
    verdict, message, _ = compare(e, np.zeros((2, 2, 3), np.float64), 1)
    assert verdict == "fail" and "dtype float64, expected float32" in message
    bad = e.copy()
    bad[0, 0, 0] = np.nan
    verdict, message, m = compare(e, bad, 1)
    assert verdict == "fail" and m["nonfinite"] == 1 and "non-finite" in message


def test_ulp_distance_counts_representable_floats_across_zero():
    a = np.array([1.0, -0.0, -1e-45], np.float32)
    b = np.nextafter(a, np.float32(np.inf))
    assert ulp_distance(a, b).tolist() == [1, 1, 1]
    assert ulp_distance(np.array([-1e-45], np.float32), np.array([1e-45], np.float32)).tolist() == [2]


# -- runner + scorer with in-process harnesses --------------------------------------------------

def test_echo_harness_run_is_scored_and_resumable(small_bundle, tmp_path):
    out = tmp_path / "res"
    s1 = run_bundle(small_bundle, out, harnesses=[ECHO], jobs=1, timeout=30)
    n_cases = len(Bundle(small_bundle).cases)
    assert s1.ran == 2 * n_cases and s1.errors == 0
    s2 = run_bundle(small_bundle, out, harnesses=[ECHO], jobs=1, timeout=30)
    assert s2.ran == 0 and s2.resumed == 2 * n_cases  # nothing left to do
    scores = score_results(out)
    by = {(c.mode, c.case): c for c in scores.cases}
    # The echo harness "decodes" to a 2x2 image: decode fails on shape; in isolated mode the
    # resize step gets the reference decode output and returns it unresized: shape fail too.
    case = by[("isolated", "p.pillow_resize__syn.gradients.48x64")]
    assert [s.verdict for s in case.steps] == ["fail", "fail"] and case.first_divergent_step == 0
    gray = by[("isolated", "p.gray__syn.checker.33x31")]
    assert [s.verdict for s in gray.steps] == ["fail", "unsupported", "fail"]
    assert "fake: no colour conversion" in gray.steps[1].message
    chained = by[("chained", "p.gray__syn.checker.33x31")]
    assert [s.verdict for s in chained.steps] == ["fail", "unsupported", "skipped"]
    neg = by[("isolated", "p.gray__neg.bad_crc")]
    assert neg.expect == "error" and [s.verdict for s in neg.steps] == ["lenient"]


def test_crash_and_hang_in_a_worker_cost_one_case_each(small_bundle, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_CRASH_ON", _input_sha(small_bundle, "syn.gradients.48x64"))
    monkeypatch.setenv("FAKE_HANG_ON", _input_sha(small_bundle, "syn.checker.33x31"))
    out = tmp_path / "res"
    summary = run_bundle(small_bundle, out, harnesses=[ECHO], modes=("isolated",), jobs=2,
                         timeout=1.5)
    records = read_records(out, "fake-echo", "isolated")
    assert len(records) == len(Bundle(small_bundle).cases)
    for cid, rec in records.items():
        if "gradients" in cid:
            assert rec["status"] == "error" and "SIGABRT" in rec["error"]
        elif "checker" in cid:
            assert rec["status"] == "error" and "timed out after 1.5 s" in rec["error"]
        else:
            assert rec["status"] == "done", rec
    assert summary.errors == 2 * len(PIPELINES)


def test_unknown_and_unavailable_harnesses_are_clear_errors(small_bundle, tmp_path):
    with pytest.raises(ResultsError, match="unknown harness 'nope'"):
        run_bundle(small_bundle, tmp_path / "a", harnesses=["nope"])
    with pytest.raises(ResultsError, match="unavailable"):
        run_bundle(small_bundle, tmp_path / "b", harnesses=["no_such_module:Harness"])


def test_results_of_another_bundle_are_not_mixed(small_bundle, tmp_path):
    out = tmp_path / "res"
    run_bundle(small_bundle, out, harnesses=[ECHO], modes=("isolated",), jobs=1)
    run = json.loads((out / "run.json").read_text())
    run["bundle_sha256"] = "0" * 64
    (out / "run.json").write_text(json.dumps(run))
    with pytest.raises(ResultsError, match="another bundle"):
        run_bundle(small_bundle, out, harnesses=[ECHO], modes=("isolated",))
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "f").write_text("x")
    with pytest.raises(ResultsError, match="not empty"):
        run_bundle(small_bundle, tmp_path / "junk", harnesses=[ECHO])


# -- external programs ----------------------------------------------------------------------------

def test_external_harness_segfault_and_hang_leave_every_other_case_scored(small_bundle, tmp_path,
                                                                          monkeypatch):
    crash = _ids(small_bundle, "syn.gradients.48x64")[0]
    hang = _ids(small_bundle, "syn.colour_bars.24x40")[-1]
    monkeypatch.setenv("FAKE_SEGFAULT_CASES", crash)
    monkeypatch.setenv("FAKE_HANG_CASES", hang)
    ext = ExternalHarness.parse(f"fake={sys.executable} {FAKES / 'external_harness.py'}", timeout=2)
    out = tmp_path / "res"
    run_bundle(small_bundle, out, harnesses=[], externals=[ext], modes=("isolated",), jobs=2)
    scores = score_results(out)
    by = {c.case: c for c in scores.cases}
    assert "SIGSEGV" in by[crash].error and by[crash].verdict == "error"
    assert "timed out" in by[hang].error
    others = [c for cid, c in by.items() if cid not in (crash, hang)]
    assert others and all(c.error is None for c in others)
    for c in others:  # a perfect port (copies the reference) passes; colour is unsupported
        assert {s.verdict for s in c.steps} <= {"pass", "unsupported"}, c.to_json()
    neg = [c for c in others if c.expect == "error"]
    assert neg and all(c.steps[0].verdict == "pass" for c in neg)
    assert json.loads((out / "run.json").read_text())["harnesses"]["fake"]["reported"]["name"] == "fake-port"


def test_external_program_that_cannot_start_is_an_error_per_case(small_bundle, tmp_path):
    ext = ExternalHarness.parse("ghost=/nonexistent/harness", timeout=2)
    out = tmp_path / "res"
    run_bundle(small_bundle, out, harnesses=[], externals=[ext], modes=("chained",), jobs=1)
    recs = read_records(out, "ghost", "chained")
    assert recs and all("cannot start /nonexistent/harness" in r["error"] for r in recs.values())


# -- expectations ----------------------------------------------------------------------------------

def test_expectations_override_tolerance_and_mark_expected_failures(small_bundle, tmp_path):
    out = tmp_path / "res"
    run_bundle(small_bundle, out, harnesses=[ECHO], modes=("isolated",), jobs=1)
    f = tmp_path / "exp.toml"
    f.write_text('[[expected_failure]]\nharness = "fake-*"\nop = "decode"\n'
                 'reason = "the echo fake does not decode"\n'
                 '[[tolerance]]\npipeline = "p.gray"\nstep = 2\nmax_abs = 0.5\nreason = "demo"\n')
    scores = score_results(out, expectations=Expectations.load([f]))
    case = next(c for c in scores.cases if c.case == "p.gray__syn.checker.33x31")
    assert case.steps[0].verdict == "xfail" and "the echo fake does not decode" in case.steps[0].message
    assert case.steps[2].tolerance["max_abs"] == 0.5 and case.steps[2].tolerance["source"].endswith(
        "tolerance[0]")
    assert case.steps[1].tolerance is None  # unsupported steps are not compared


def test_expected_crash_excuses_a_crash_and_nothing_else(small_bundle, tmp_path, monkeypatch):
    """An expected_crash entry turns a crash of the matching cases into xfail (reason kept, case
    verdict xfail, strict-clean); a timeout of a case it also matches stays an error."""
    monkeypatch.setenv("FAKE_CRASH_ON", _input_sha(small_bundle, "syn.gradients.48x64"))
    monkeypatch.setenv("FAKE_HANG_ON", _input_sha(small_bundle, "syn.checker.33x31"))
    out = tmp_path / "res"
    run_bundle(small_bundle, out, harnesses=[ECHO], modes=("isolated",), jobs=2, timeout=1.5)
    f = tmp_path / "exp.toml"
    f.write_text('[[expected_crash]]\nharness = "fake-*"\ninput = ["syn.gradients.*", "syn.checker.*"]\n'
                 'reason = "the fake aborts on this input"\n')
    scores = score_results(out, expectations=Expectations.load([f]))
    crashed = [c for c in scores.cases if c.input == "syn.gradients.48x64"]
    hung = [c for c in scores.cases if c.input == "syn.checker.33x31"]
    assert crashed and all(c.verdict == "xfail" and "the fake aborts" in c.error_expected
                           and c.to_json()["error_expected"] == c.error_expected for c in crashed)
    assert hung and all(c.verdict == "error" and c.error_expected is None for c in hung)
    assert scores.counts()["error"] == len(hung) and scores.counts()["xfail"] >= len(crashed)
    assert scores.summary()["fake-echo"]["isolated"]["(case)"]["xfail"] == len(crashed)


@pytest.mark.parametrize("text, match", [
    ('[[expected_crash]]\nop = "decode"\nreason = "x"\n', "an expected_crash selects a case"),
    ('[[tolerance]]\nmax_abs = 1\n', "non-empty reason"),
    ('[[tolerance]]\nmax_abs = -1\nreason = "x"\n', "must be a number >= 0"),
    ('[[expected_failure]]\nstep = "one"\nreason = "x"\n', "step index"),
    ('[[expected_failure]]\nharnes = "opencv"\nreason = "x"\n', "unknown key"),
    ('[[toleranse]]\n', "unknown table"),
    ('not toml', "not valid TOML"),
])
def test_bad_expectation_files_name_the_file_and_entry(tmp_path, text, match):
    f = tmp_path / "e.toml"
    f.write_text(text)
    with pytest.raises(SpecError, match=match) as info:
        Expectations.load([f])
    assert str(f) in str(info.value)


def test_a_harness_without_a_decoder_chains_from_the_reference_decode(small_bundle, tmp_path):
    out = tmp_path / "res"
    run_bundle(small_bundle, out, harnesses=["tests.fakes.harnesses:NoDecodeHarness"], jobs=1)
    scores = score_results(out)
    by = {(c.mode, c.case): c for c in scores.cases}
    chained = by[("chained", "p.gray__syn.checker.33x31")]
    assert [s.verdict for s in chained.steps] == ["unsupported", "fail", "fail"]
    assert "chain starts from the reference decode output" in chained.steps[0].message
    # the echo of the reference decode has 3 channels where gray has 1: the colour step ran
    assert chained.steps[1].message.startswith("shape")
    neg = by[("chained", "p.gray__neg.bad_crc")]
    assert [s.verdict for s in neg.steps] == ["unsupported"]


def test_a_killed_run_resumes_from_its_last_complete_record(small_bundle, tmp_path):
    """Records are flushed one line at a time: cut the file mid-line as a kill would, rerun, and
    only the cases without a complete record run again."""
    out = tmp_path / "res"
    run_bundle(small_bundle, out, harnesses=[ECHO], modes=("isolated",), jobs=1)
    path = out / "fake-echo" / "isolated" / "results.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    kept = len(lines) // 2
    path.write_text("".join(lines[:kept]) + lines[kept][: len(lines[kept]) // 2])
    again = run_bundle(small_bundle, out, harnesses=[ECHO], modes=("isolated",), jobs=1)
    assert (again.resumed, again.ran) == (kept, len(lines) - kept)
    assert len(read_records(out, "fake-echo", "isolated")) == len(lines)
    assert all(c.error is None for c in score_results(out).cases)
