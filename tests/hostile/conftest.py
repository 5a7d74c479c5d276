"""Fixtures of the hostile-input suite: a small bundle, a hostile harness program, and a probe
that runs the ``conformance`` command in a subprocess as a user would, with a time limit, and
measures its wall time and peak memory.

Every probe is checked for the README's promise: no traceback, the documented exit code, and
(for bad input) one line naming the file and the problem. Set $HOSTILE_PROBE_LOG to a file to
collect every probe's figures (name, exit code, seconds, peak MB) as JSON lines.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakes.small_bundle import make_small_bundle

HERE = Path(__file__).parent
HOSTILE_HARNESS = HERE / "hostile_harness.py"


@dataclass
class Probe:
    args: list[str]
    code: int
    out: str
    err: str
    seconds: float
    peak_mb: float

    @property
    def text(self) -> str:
        return self.out + self.err

    def clean(self, *codes: int) -> "Probe":
        """Assert: exit code among ``codes``, and no traceback anywhere in the output."""
        assert "Traceback" not in self.text, self.text[-3000:]
        assert self.code in codes, f"exit {self.code}, expected {codes}:\n{self.text[-3000:]}"
        return self

    def one_line_error(self, code: int, *needles: str) -> "Probe":
        """Assert: exit ``code``, no traceback, one 'error:' line holding every needle."""
        self.clean(code)
        lines = [ln for ln in self.err.splitlines() if ln.strip()]
        errors = [ln for ln in lines if ln.startswith("error:")]
        assert len(errors) == 1, self.err
        joined = " ".join(lines)  # rich may fold a long line; the message is one logical line
        for n in needles:
            assert n in joined, f"{n!r} not in {joined!r}"
        return self


def _log(name: str, p: Probe) -> None:
    target = os.environ.get("HOSTILE_PROBE_LOG")
    if target:
        with open(target, "a") as f:
            f.write(json.dumps({"probe": name, "code": p.code, "seconds": round(p.seconds, 2),
                                "peak_mb": round(p.peak_mb, 1)}) + "\n")


@pytest.fixture
def probe(tmp_path_factory, request):
    """probe(*args, timeout=120, env={...}) -> Probe: `conformance ARGS` in a subprocess."""
    stats_dir = tmp_path_factory.mktemp("probe-stats")  # not under tmp_path: tests snapshot it

    def run(*args, timeout: float = 120, env: dict | None = None, cwd: Path | None = None) -> Probe:
        stats = stats_dir / f"probe-{time.monotonic_ns()}.json"
        full_env = {**os.environ, "PROBE_STATS": str(stats), "COLUMNS": "200", **(env or {})}
        start = time.monotonic()
        cp = subprocess.run([sys.executable, str(HERE / "probe.py"), *map(str, args)], env=full_env,
                            capture_output=True, text=True, timeout=timeout, cwd=cwd,
                            stdin=subprocess.DEVNULL)
        seconds = time.monotonic() - start
        peak = json.loads(stats.read_text())["peak_mb"] if stats.exists() else float("nan")
        p = Probe(list(map(str, args)), cp.returncode, cp.stdout, cp.stderr, seconds, peak)
        _log(request.node.name, p)
        return p
    return run


@pytest.fixture(scope="session")
def bundle_master(tmp_path_factory) -> Path:
    return make_small_bundle(tmp_path_factory.mktemp("hostile-bundle") / "b")


@pytest.fixture
def bundle(bundle_master, tmp_path) -> Path:
    """A private copy of the small bundle, free to tamper with."""
    dest = tmp_path / "bundle"
    shutil.copytree(bundle_master, dest)
    return dest


def tree_snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (relative path -> bytes), links not followed."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.is_symlink()}


def hostile_external(how: str) -> str:
    return f"hostile={sys.executable} {HOSTILE_HARNESS}"
