"""Inputs found by coverage-guided fuzzing (scripts/fuzz.py), and a smoke test of its targets.

The contract (scripts/fuzz.py docstring): a reader given any bytes returns a result or raises a
:class:`~conformance.errors.ConformanceError`; any other exception is a crash. Each file in
``fuzz_regressions/`` is named ``<target>-<short name>.<ext>`` and is run through that target's
one-input function, the very function atheris calls, which lets anything other than a
ConformanceError escape. The smoke tests run every target over its seed corpus, so the targets
cannot rot, and run the fuzzer itself for a few hundred executions.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "fuzz.py"
REGRESSIONS = Path(__file__).resolve().parent / "fuzz_regressions"


def _load_fuzz_module():
    spec = importlib.util.spec_from_file_location("conformance_fuzz_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it executes
    spec.loader.exec_module(module)
    return module


fuzz = _load_fuzz_module()

def regression_files() -> list[Path]:
    return sorted(p for p in REGRESSIONS.iterdir() if p.is_file() and not p.name.startswith("."))


def test_regression_files_are_named_by_target():
    for p in regression_files():
        assert p.name.split("-", 1)[0] in fuzz.TARGETS, p.name
        assert p.stat().st_size <= 8192, f"{p.name}: keep regression inputs small"


@pytest.mark.parametrize("path", regression_files(), ids=lambda p: p.name)
def test_fuzz_regression(path: Path):
    """The saved input returns a result or raises a ConformanceError through its target."""
    target = path.name.split("-", 1)[0]
    fuzz.TARGETS[target](path.read_bytes())


@pytest.mark.parametrize("target", fuzz.TARGET_NAMES)
def test_targets_on_their_seeds(target: str):
    """Every fuzz target runs over its whole seed corpus without a crash."""
    seeds = fuzz.seeds(target)
    assert seeds, f"no seeds for {target}"
    for name, data in seeds:
        try:
            fuzz.TARGETS[target](data)
        except Exception as e:  # the message names the seed
            raise AssertionError(f"{target} seed {name}: {fuzz.crash_signature(e)}") from e


def test_mutators_keep_structure():
    """The structure-aware mutators' chunk/segment parsers give a well-formed seed back byte for
    byte (the PNG one rewrites CRCs, so only seeds whose CRCs are right are compared)."""
    from conformance.errors import ConformanceError
    from conformance.reference.png import read_png_info

    compared = 0
    for name, data in fuzz.seeds("png"):
        try:
            read_png_info(data)
        except ConformanceError:
            continue
        assert fuzz.join_png(fuzz.split_png(data)) == data, name
        compared += 1
    assert compared > 10
    for name, data in fuzz.seeds("jpeg"):
        items = fuzz.split_jpeg(data)
        if items is not None:
            assert fuzz.join_jpeg(items) == data, name


def test_fuzzer_runs(tmp_path: Path):
    """scripts/fuzz.py drives atheris end to end (a few hundred executions of the npy target)."""
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "npy", "--runs", "300", "--seconds", "60",
         "--no-boundscheck", "--work", str(tmp_path)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    line = next(l for l in proc.stdout.splitlines() if l.startswith("npy "))
    execs, cov = int(line.split()[1]), int(line.split()[2])
    assert execs >= 300 and cov > 0, line
