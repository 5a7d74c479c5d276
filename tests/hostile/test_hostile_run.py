"""Hostile harness programs under `conformance run` (issue 13, defects 2-6): answers that try to
escape RESULTS or break the runner, Ctrl-C and SIGKILL, detached grandchildren, a program that
hangs on every case, unbounded stderr."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conformance.bundle import Bundle
from conformance.results import read_records
from conformance.score import score_results

from conftest import HERE, HOSTILE_HARNESS, tree_snapshot

EXT = f"hostile={sys.executable} {HOSTILE_HARNESS}"


def _case_ids(bundle: Path) -> list[str]:
    return [c["id"] for c in Bundle(bundle).cases if c["expect"] == "ok"]


def _run(probe, bundle, results, how, *extra, env=None, timeout=120):
    return probe("run", bundle, "--no-builtin", "--external", EXT, "--out", results,
                 "--jobs", "1", *extra, env={"HOSTILE": how, **(env or {})}, timeout=timeout)


def _verdicts(results: Path) -> dict[str, str]:
    return {f"{c.mode}:{c.case}": c.verdict for c in score_results(results).cases}


def _alive(pids: list[int]) -> list[int]:
    """Pids still running (a zombie waiting for its parent's reaping counts as gone)."""
    out = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, IndexError):
            continue
        if state != "Z":
            out.append(pid)
    return out


def _pids(path: Path) -> list[int]:
    return [int(x) for x in path.read_text().split()] if path.exists() else []


# -- defect 2: paths from the answer never leave RESULTS -----------------------------------------

def test_an_op_that_climbs_out_of_results_writes_nothing_outside(probe, bundle, tmp_path):
    results = tmp_path / "box" / "results"
    results.parent.mkdir()
    before = tree_snapshot(tmp_path)
    victim = _case_ids(bundle)[0]
    p = _run(probe, bundle, results, "op_traversal", "--mode", "isolated",
             env={"HOSTILE_CASES": victim}).clean(0)
    after = {k: v for k, v in tree_snapshot(tmp_path).items() if not k.startswith("box/results/")}
    assert after == before, sorted(set(after) ^ set(before))  # nothing appeared outside RESULTS
    v = _verdicts(results)
    assert v[f"isolated:{victim}"] == "error"  # never scored pass
    assert all(verdict in ("pass", "unsupported") for k, verdict in v.items() if victim not in k), v
    assert "case error" in p.out


# -- defect 3: one bad answer costs its case, not the run ------------------------------------------

@pytest.mark.parametrize("how, needle", [
    ("steps_int", "steps"), ("op_nul", "op"), ("status_weird", "status"),
    ("index_out", "step index 99"),
])
def test_a_malformed_answer_is_an_error_for_that_case_only(probe, bundle, tmp_path, how, needle):
    victim = _case_ids(bundle)[1]
    results = tmp_path / "r"
    _run(probe, bundle, results, how, "--mode", "isolated", env={"HOSTILE_CASES": victim}).clean(0)
    recs = read_records(results, "hostile", "isolated")
    assert len(recs) == len(Bundle(bundle).cases)  # every case has its record
    assert recs[victim]["status"] == "error" or any(s["status"] == "error" for s in recs[victim]["steps"])
    text = json.dumps(recs[victim])
    assert needle in text, text
    others = [r for cid, r in recs.items() if cid != victim]
    assert all(r["status"] == "done" for r in others)


@pytest.mark.parametrize("how, needle", [("nested_json", "nested too deeply"),
                                         ("huge_json", "over the limit")])
def test_an_unreadable_answer_is_an_error_per_case(probe, bundle, tmp_path, how, needle):
    results = tmp_path / "r"
    p = _run(probe, bundle, results, how, "--mode", "chained").clean(0)
    recs = read_records(results, "hostile", "chained")
    assert recs and all(r["status"] == "error" and needle in r["error"] for r in recs.values())
    assert p.peak_mb < 300, p.peak_mb  # measured 153 MB: the program writing 70 MB


@pytest.mark.parametrize("how", ["symlink_output", "symlink_casedir"])
def test_links_in_the_answer_are_not_followed(probe, bundle, tmp_path, how):
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "0_decode.npy").write_bytes(b"not yours")
    target = secret if how == "symlink_casedir" else secret / "0_decode.npy"
    results = tmp_path / "r"
    _run(probe, bundle, results, how, "--mode", "isolated", env={"HOSTILE_TARGET": str(target)}).clean(0)
    recs = read_records(results, "hostile", "isolated")
    steps = [s for r in recs.values() for s in r["steps"] if s["status"] == "ok"]
    assert not steps, steps  # nothing was taken through a link
    assert (secret / "0_decode.npy").read_bytes() == b"not yours"
    assert not [p for p in results.rglob("*") if p.is_symlink()]


def test_outputs_of_the_wrong_kind_are_failures_without_warnings(probe, bundle, tmp_path):
    for how in ("npy_bomb", "complex_output"):
        results = tmp_path / how
        _run(probe, bundle, results, how, "--mode", "isolated").clean(0)
        p = probe("score", results).clean(0)
        assert "Warning" not in p.text, p.text
        assert p.peak_mb < 150, (how, p.peak_mb)  # measured 50 MB
        scores = json.loads((results / "scores.json").read_text())
        ok = [s for c in scores["cases"] for s in c["steps"] if c["expect"] == "ok"]
        assert ok and all(s["verdict"] in ("fail", "error") for s in ok), how


# -- defects 4 and 5: signals, process groups, timeouts --------------------------------------------

def _start_run(bundle, results, how, *extra, env):
    return subprocess.Popen([sys.executable, str(HERE / "probe.py"), "run", str(bundle), "--no-builtin",
                             "--external", EXT, "--out", str(results), "--jobs", "1", *extra],
                            env={**os.environ, "HOSTILE": how, **env}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait_for(path: Path, seconds: float = 20) -> None:
    end = time.monotonic() + seconds
    while not (path.exists() and path.read_text().strip()) and time.monotonic() < end:
        time.sleep(0.05)
    assert path.exists(), f"{path} never appeared"


def test_ctrl_c_stops_a_run_at_once_keeping_finished_records(bundle, tmp_path):
    """Defect 4: Ctrl-C used to run on through every batch and retry (158 s)."""
    pids = tmp_path / "pids"
    results = tmp_path / "r"
    proc = _start_run(bundle, results, "hang", "--timeout", "60", env={"HOSTILE_PIDS": str(pids)})
    _wait_for(pids)
    time.sleep(0.5)
    start = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    stopped_in = time.monotonic() - start
    assert stopped_in < 3, stopped_in
    assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in out + err, err
    time.sleep(0.3)
    assert not _alive(_pids(pids))
    assert not (results / ".tmp").exists() or not any((results / ".tmp").iterdir())
    assert (results / "run.json").exists()


def test_sigterm_stops_like_ctrl_c(bundle, tmp_path):
    pids = tmp_path / "pids"
    proc = _start_run(bundle, tmp_path / "r", "hang", "--timeout", "60", env={"HOSTILE_PIDS": str(pids)})
    _wait_for(pids)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "Traceback" not in out + err, err
    time.sleep(0.3)
    assert not _alive(_pids(pids))


def test_sigkill_of_the_runner_leaves_no_harness_and_no_temporary_folder(bundle, tmp_path):
    """Defect 4: the harness (its own process group) used to outlive a SIGKILLed runner, and
    its harness-out-* folder stayed behind. The reaper process cleans both."""
    pids = tmp_path / "pids"
    results = tmp_path / "r"
    proc = _start_run(bundle, results, "hang", "--timeout", "60", env={"HOSTILE_PIDS": str(pids)})
    _wait_for(pids)
    assert list((results / ".tmp").glob("harness-out-*"))
    proc.kill()
    proc.communicate(timeout=10)
    end = time.monotonic() + 5
    while (_alive(_pids(pids)) or list((results / ".tmp").glob("harness-out-*"))) and time.monotonic() < end:
        time.sleep(0.1)
    assert not _alive(_pids(pids))
    assert not list((results / ".tmp").glob("harness-out-*"))


def test_timeout_counts_from_the_call_not_from_pipes_a_grandchild_holds(probe, bundle, tmp_path):
    """Defect 5: a detached grandchild holding stderr used to stretch every call to the full
    timeout and throw away correct answers as timed out."""
    pids = tmp_path / "pids"
    try:
        p = _run(probe, bundle, tmp_path / "r", "grandchild", "--mode", "isolated", "--timeout", "10",
                 env={"HOSTILE_PIDS": str(pids)}).clean(0)
        assert p.seconds < 8, p.seconds  # one batch, answered at once: not the 10 s timeout
        v = _verdicts(tmp_path / "r")
        assert v and all(x in ("pass", "unsupported") for x in v.values()), v
    finally:
        for pid in _pids(pids):  # the grandchild left its session: ours to clean up here
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_children_in_the_programs_group_are_killed_when_it_exits(probe, bundle, tmp_path):
    pids = tmp_path / "pids"
    _run(probe, bundle, tmp_path / "r", "fork_children", "--mode", "isolated",
         env={"HOSTILE_PIDS": str(pids)}).clean(0)
    time.sleep(0.3)
    assert len(_pids(pids)) == 21 and not _alive(_pids(pids))


def test_a_program_that_closes_its_pipes_early_is_still_scored(probe, bundle, tmp_path):
    _run(probe, bundle, tmp_path / "r", "close_pipes", "--mode", "isolated").clean(0)
    v = _verdicts(tmp_path / "r")
    assert v and all(x in ("pass", "unsupported") for x in v.values()), v


def test_a_program_that_hangs_on_every_case_is_stopped_with_one_line(probe, bundle, tmp_path):
    """Defect 5: used to cost about 2 x cases x timeout. Now: the first batch stalls (timeout),
    HANG_LIMIT single cases time out, and the harness is stopped for both modes."""
    pids = tmp_path / "pids"
    p = _run(probe, bundle, tmp_path / "r", "hang", "--timeout", "1", env={"HOSTILE_PIDS": str(pids)},
             timeout=60).clean(1)
    assert "stopped harness hostile" in p.err and "in a row" in p.err
    assert p.seconds < 25, p.seconds  # (about 6 s on an idle machine; the old runner took > 30 s)
    time.sleep(0.3)
    assert not _alive(_pids(pids))
    # the cases not reached have no record: a later run resumes them
    recs = read_records(tmp_path / "r", "hostile", "isolated")
    assert 0 < len(recs) < len(Bundle(bundle).cases)


# -- defect 6: stderr is drained with a bound ------------------------------------------------------

def test_a_gigabyte_of_stderr_costs_no_memory(probe, bundle, tmp_path):
    p = _run(probe, bundle, tmp_path / "r", "stderr_flood", "--mode", "isolated",
             env={"HOSTILE_MB": "1024"}, timeout=180).clean(0)
    assert p.peak_mb < 150, p.peak_mb  # measured 47 MB: a 64 KiB tail is kept
    v = _verdicts(tmp_path / "r")
    assert v and all(x in ("pass", "unsupported") for x in v.values())
    logs = list((tmp_path / "r" / "logs").glob("hostile.*.stderr"))
    assert logs and all(f.stat().st_size < 1 << 20 for f in logs)
    assert "not kept" in logs[0].read_text()


def test_ctrl_c_stops_built_in_harness_workers_at_once(tmp_path):
    """The worker pool of the built-in harnesses: Ctrl-C kills the workers instead of waiting
    for the cases in flight, and the records written so far stay."""
    results = tmp_path / "r"
    repo_bundle = Path(__file__).resolve().parents[2] / "vectors" / "default"
    proc = subprocess.Popen([sys.executable, str(HERE / "probe.py"), "run", str(repo_bundle), "--harness",
                             "pillow", "--mode", "isolated", "--out", str(results), "--jobs", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    records = results / "pillow" / "isolated" / "results.jsonl"
    end = time.monotonic() + 60
    while not (records.exists() and records.stat().st_size > 0) and time.monotonic() < end:
        time.sleep(0.05)
    start = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert time.monotonic() - start < 3
    assert proc.returncode == 130 and "Traceback" not in out + err, err
    done = read_records(results, "pillow", "isolated")
    assert 0 < len(done) < len(Bundle(repo_bundle).cases)  # kept, and resumable
