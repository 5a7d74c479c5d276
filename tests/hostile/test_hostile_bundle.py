"""Hostile bundles and results directories under verify, show, run and score (issue 13,
defects 6-8): .npy headers that lie, deep JSON, FIFOs and devices, tampered expected files."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

from conformance.bundle import Bundle, json_bytes, npy_bytes, sha256_bytes, verify_bundle

from conftest import HOSTILE_HARNESS  # noqa: F401 - keeps the fixture module importable alone

REPO = Path(__file__).resolve().parents[2]


def _manifest(bundle: Path) -> dict:
    return json.loads((bundle / "manifest.json").read_text())


def _first_step(bundle: Path) -> dict:
    return next(c for c in _manifest(bundle)["cases"] if c["steps"])["steps"][0]


def _rewrite(bundle: Path, rel: str, data: bytes, **declared) -> None:
    """Replace a listed file and make the manifest agree (hash, and declared fields)."""
    (bundle / rel).write_bytes(data)
    m = _manifest(bundle)
    for c in m["cases"]:
        for s in c["steps"]:
            if s["output"] == rel:
                s["sha256"] = sha256_bytes(data)
                s.update(declared)
    (bundle / "manifest.json").write_bytes(json_bytes(m))


def _npy_claiming(shape: tuple, descr: str = "|u1", data: bytes = b"\0" * 64) -> bytes:
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}"
    header += " " * (117 - len(header)) + "\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + data


# -- defect 7: verify on a header claiming 10^12 elements ------------------------------------------

@pytest.mark.parametrize("shape", [(1_000_000, 1_000_000), (2**40, 2**40), (10, 10, 3)])
def test_verify_checks_npy_headers_before_reading_data(probe, bundle, shape):
    step = _first_step(bundle)
    _rewrite(bundle, step["output"], _npy_claiming(shape), shape=list(shape), dtype="uint8")
    p = probe("verify", bundle).clean(1)
    assert step["output"] in p.err and "the .npy header declares" in p.err
    assert p.peak_mb < 150, p.peak_mb  # measured 51 MB


def test_a_header_that_disagrees_with_the_manifest_is_named(bundle):
    step = _first_step(bundle)
    arr = np.zeros((2, 2, 3), np.uint8)
    _rewrite(bundle, step["output"], npy_bytes(arr))  # hash agrees, shape does not
    report = verify_bundle(bundle)
    assert any("the manifest declares" in p and step["output"] in p for p in report.problems)


@pytest.mark.parametrize("payload, needle", [
    (b"[" * 200_000, "nested too deeply"),
    (b"\xff\xfe not json", "not valid JSON"),
    (b'{"format": "preprocessing-vectors", "version": 1, "cases": 5}', "schema"),
])
def test_bad_manifests_are_one_line(probe, bundle, payload, needle):
    (bundle / "manifest.json").write_bytes(payload)
    for cmd in (("verify", bundle), ("show", bundle), ("run", bundle, "--harness", "pillow", "--out",
                                                         bundle.parent / "r")):
        p = probe(*cmd)
        p.clean(1, 2)
        assert needle in p.err and "manifest.json" in p.err, (cmd, p.err)


def test_fifos_and_devices_in_a_bundle_never_block(probe, bundle):
    step = _first_step(bundle)
    (bundle / step["output"]).unlink()
    os.mkfifo(bundle / step["output"])
    m = _manifest(bundle)
    inp = next(iter(m["inputs"].values()))["path"]
    (bundle / inp).unlink()
    os.symlink("/dev/zero", bundle / inp)  # leaves the bundle: refused by path
    p = probe("verify", bundle, timeout=30).clean(1)
    assert "FIFO" in p.err and "leaves the bundle" in p.err


def test_manifest_that_is_a_fifo(probe, bundle):
    (bundle / "manifest.json").unlink()
    os.mkfifo(bundle / "manifest.json")
    probe("verify", bundle, timeout=30).clean(1, 2)
    probe("show", bundle, timeout=30).one_line_error(2, "manifest.json", "FIFO")


# -- defect 8: who is at fault is said right ------------------------------------------------------

def test_run_names_bundle_integrity_failures_as_such(probe, bundle, tmp_path):
    step = _first_step(bundle)
    (bundle / step["output"]).write_bytes(b"tampered")
    p = probe("run", bundle, "--harness", "pillow", "--mode", "isolated", "--out", tmp_path / "r",
              "--jobs", "1").clean(0)
    assert "bundle integrity" in p.out and "crash" not in p.out, p.out


def test_score_names_a_corrupt_expected_file_as_the_bundles(probe, bundle, tmp_path):
    probe("run", bundle, "--harness", "pillow", "--mode", "chained", "--out", tmp_path / "r",
          "--jobs", "1").clean(0)
    step = _first_step(bundle)
    (bundle / step["output"]).write_bytes(b"tampered")
    probe("score", tmp_path / "r").clean(0)
    scores = json.loads((tmp_path / "r" / "scores.json").read_text())
    messages = [s["message"] for c in scores["cases"] for s in c["steps"] if s.get("output") or s["verdict"] == "error"]
    assert any("the bundle's expected output is unreadable" in m for m in messages)
    assert not any(m.startswith("cannot read output") for m in messages)


def test_a_results_directory_from_elsewhere_cannot_point_outside(probe, bundle, tmp_path):
    results = tmp_path / "r"
    probe("run", bundle, "--harness", "pillow", "--mode", "isolated", "--out", results,
          "--jobs", "1").clean(0)
    run = json.loads((results / "run.json").read_text())
    # a record whose output climbs out of RESULTS
    rec_file = results / "pillow" / "isolated" / "results.jsonl"
    lines = rec_file.read_text().splitlines()
    at = next(i for i, ln in enumerate(lines) if len(json.loads(ln)["steps"]) > 1)  # a positive case
    rec = json.loads(lines[at])
    rec["steps"][0]["output"] = "../../../../../../etc/passwd"
    lines[at] = json.dumps(rec)
    rec_file.write_text("\n".join(lines) + "\n")
    probe("score", results).clean(0)
    scores = json.loads((results / "scores.json").read_text())
    bad = next(c for c in scores["cases"] if c["case"] == rec["case"] and c["mode"] == "isolated")
    assert bad["steps"][0]["verdict"] == "error" and "leaves" in bad["steps"][0]["message"]
    # harness names in run.json become folders: a name with '..' is refused by name
    run["harnesses"] = {"../../evil": run["harnesses"]["pillow"]}
    (results / "run.json").write_text(json.dumps(run))
    probe("score", results).one_line_error(2, "run.json", "not a safe name")


def test_malformed_records_are_errors_not_crashes(probe, bundle, tmp_path):
    results = tmp_path / "r"
    probe("run", bundle, "--harness", "pillow", "--mode", "isolated", "--out", results,
          "--jobs", "1").clean(0)
    rec_file = results / "pillow" / "isolated" / "results.jsonl"
    lines = rec_file.read_text().splitlines()
    first = json.loads(lines[0])
    lines[0] = json.dumps({"case": first["case"], "status": "done", "steps": 5})
    lines[1] = json.dumps({**json.loads(lines[1]), "steps": [{"index": "0", "status": "ok"}]})
    rec_file.write_text("\n".join(lines) + "\n")
    probe("score", results).clean(0)


def test_readme_counts_match_the_default_bundle():
    """Defect 8: the README's default-bundle figures had gone stale."""
    readme = (REPO / "README.md").read_text()
    report = verify_bundle(REPO / "vectors" / "default")
    m = re.search(r"vectors/default: (\d+) cases, (\d+) files checked", readme)
    assert m and (int(m[1]), int(m[2])) == (report.cases, report.files_checked), (m and m[0], report)
    assert f"On `vectors/default` ({report.cases} cases" in readme


def test_terminal_escapes_and_markup_in_a_manifest_never_reach_the_terminal(probe, bundle):
    """A description is a stranger's text: an ANSI/OSC escape (clear screen, retitle the window)
    or rich markup ('[/]' would crash the renderer) is shown as text, never interpreted."""
    m = _manifest(bundle)
    for meta in m["inputs"].values():
        meta["description"] = "\x1b[2J\x1b]0;pwned\x07 [bold red]x[/] [/]"
    (bundle / "manifest.json").write_bytes(json_bytes(m))
    case = next(c["id"] for c in m["cases"] if c["steps"])
    for args in (("show", bundle), ("show", bundle, case)):
        p = probe(*args).clean(0)
        assert "\x1b" not in p.out and "\x07" not in p.out
        assert "\\x1b[2J" in p.out


def test_records_files_that_are_huge_binary_or_fifos(probe, bundle, tmp_path):
    """results.jsonl from elsewhere: a 40 MB line, invalid UTF-8, deep nesting are skipped line
    by line (the cases are 'no result'); a FIFO in its place is one line, not a hang."""
    results = tmp_path / "r"
    probe("run", bundle, "--harness", "pillow", "--mode", "isolated", "--out", results, "--jobs", "1").clean(0)
    rec_file = results / "pillow" / "isolated" / "results.jsonl"
    good = rec_file.read_bytes().splitlines(keepends=True)
    rec_file.write_bytes(b'{"case": "' + b"x" * (40 << 20) + b'"}\n' + b"\xff\xfe\n" + b"[" * 100_000 + b"\n"
                         + b"".join(good[1:]))
    p = probe("score", results).clean(0)
    assert p.peak_mb < 200, p.peak_mb
    scores = json.loads((results / "scores.json").read_text())
    missing = [c for c in scores["cases"] if "no result" in c.get("error", "")]
    assert len(missing) == 1  # the record replaced by the junk lines; the others are scored
    rec_file.unlink()
    os.mkfifo(rec_file)
    probe("score", results, timeout=30).one_line_error(2, "FIFO")
