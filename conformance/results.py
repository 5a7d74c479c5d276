"""The results directory of ``conformance run``: layout, records, resume.

Layout (everything a scorer needs, nothing machine-specific inside the records)::

    RESULTS/
      run.json                              bundle, manifest SHA-256, harnesses and versions, modes
      <harness>/<mode>/results.jsonl        one JSON record per finished case, appended as produced
      <harness>/<mode>/outputs/<case>/<i>_<op>.npy   the harness's output of step i

A record (one line of results.jsonl)::

    {"case": ID, "status": "done" | "error", "error": message (status error only),
     "steps": [{"index": i, "op": OP, "status": "ok" | "unsupported" | "error" | "skipped"
                | "rejected", "message": text, "call": "cv2.resize(...)",
                "output": "outputs/<case>/<i>_<op>.npy" (status ok only)}]}

An error record also says its ``cause``: ``crash`` (the harness process died), ``timeout``,
``harness`` (it raised outside a step, or a program's answer was malformed) or ``bundle`` (the
bundle's own files failed their checks: not the harness's fault).

``status: error`` means the case as a whole did not finish (the harness process crashed or timed
out); its record has no steps (outputs written before the crash may be on disk; they are not
scored). ``rejected`` is a decode step that
raised on its input: conforming for a negative vector, an error otherwise (the scorer decides).
Records are written only after their outputs, one line with a flush each, so a run that is
killed leaves a valid prefix; a rerun reads it and runs only the missing cases (a truncated last
line is ignored).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConformanceError
from .safeio import UnsafeData, atomic_write_text, check_name, open_regular, read_limited

RUN_FILE = "run.json"
RUN_FILE_LIMIT = 16 << 20  # bytes
RECORDS_FILE = "results.jsonl"
MODES = ("isolated", "chained")


class ResultsError(ConformanceError):
    """A results directory is missing, unreadable or belongs to another bundle."""


def harness_dir(results: Path, harness: str, mode: str) -> Path:
    return results / harness / mode


def output_rel(case_id: str, index: int, op: str) -> str:
    """``outputs/<case>/<index>_<op>.npy``; UnsafeData if the case id or op is not a safe name."""
    check_name(case_id, "case id")
    check_name(op, "op")
    return f"outputs/{case_id}/{int(index)}_{op}.npy"


def read_run(results: Path) -> dict[str, Any]:
    """``run.json`` of a results directory, or ResultsError saying what is wrong."""
    path = Path(results) / RUN_FILE
    try:
        doc = json.loads(read_limited(path, RUN_FILE_LIMIT))
    except FileNotFoundError:
        raise ResultsError(f"{results}: no {RUN_FILE}; is this a `conformance run --out` "
                           "directory?") from None
    except (OSError, UnsafeData, ValueError, RecursionError) as e:
        raise ResultsError(f"{path}: unreadable: {str(e)[:300] or type(e).__name__}") from None
    # its harness names and modes become directory names: check them before any path is built
    if (not isinstance(doc, dict) or not isinstance(doc.get("harnesses"), dict)
            or not isinstance(doc.get("modes"), list) or not isinstance(doc.get("bundle"), str)):
        raise ResultsError(f"{path}: not a results file (needs 'bundle', 'harnesses', 'modes')")
    for name in doc["harnesses"]:
        try:
            check_name(name, "harness name")
        except UnsafeData as e:
            raise ResultsError(f"{path}: {e}") from None
    bad = [m for m in doc["modes"] if m not in MODES]
    if bad:
        raise ResultsError(f"{path}: unknown mode(s) {bad!r}; modes are {', '.join(MODES)}")
    return doc


def write_run(results: Path, doc: dict[str, Any]) -> None:
    results.mkdir(parents=True, exist_ok=True)
    atomic_write_text(results / RUN_FILE, json.dumps(doc, indent=1, sort_keys=True) + "\n")


def read_records(results: Path, harness: str, mode: str) -> dict[str, dict]:
    """Finished records by case id (later lines win; an unparsable line is skipped)."""
    path = harness_dir(results, harness, mode) / RECORDS_FILE
    out: dict[str, dict] = {}
    if not path.exists():
        return out
    for line in _bounded_lines(path):
        try:
            rec = json.loads(line)
        except (ValueError, RecursionError):  # cut short by a killed run, not UTF-8, too deep
            continue
        if isinstance(rec, dict) and isinstance(rec.get("case"), str):
            problem = _record_problem(rec)
            out[rec["case"]] = rec if problem is None else {
                "case": rec["case"], "status": "error", "steps": [], "cause": "harness",
                "error": f"{path}: malformed record: {problem}"}
    return out


RECORD_LINE_LIMIT = 16 << 20  # bytes: a record is a few KB; a longer line is not one of ours


def _bounded_lines(path: Path):
    """The lines of ``path`` as bytes, each at most RECORD_LINE_LIMIT: a longer one (a results
    file from elsewhere holding a 2 GB line) is skipped to its end, never read whole."""
    try:
        fd, _ = open_regular(path)  # a FIFO would block the reader forever
    except UnsafeData as e:
        raise ResultsError(str(e)) from None
    with os.fdopen(fd, "rb") as f:
        while True:
            line = f.readline(RECORD_LINE_LIMIT + 1)
            if not line:
                return
            if len(line) > RECORD_LINE_LIMIT and not line.endswith(b"\n"):
                while line and not line.endswith(b"\n"):  # drop the rest of the long line
                    line = f.readline(RECORD_LINE_LIMIT)
                continue
            yield line


STEP_STATUSES = ("ok", "unsupported", "error", "skipped", "rejected")


def _record_problem(rec: dict) -> str | None:
    """What is wrong with a record read back from results.jsonl (a results directory may come
    from elsewhere), or None. The scorer relies on exactly these fields and types."""
    if rec.get("status") not in ("done", "error"):
        return f"status {rec.get('status')!r}"
    steps = rec.get("steps", [])
    if not isinstance(steps, list):
        return "'steps' is not a list"
    for st in steps:
        if not isinstance(st, dict) or type(st.get("index")) is not int or st.get("status") not in STEP_STATUSES:
            return f"step entry {str(st)[:100]}"
        if not all(isinstance(st.get(k, ""), str) for k in ("op", "message", "output")):
            return f"step {st['index']}: a non-text op, message or output"
        if st.get("call") is not None and not isinstance(st["call"], str):
            return f"step {st['index']}: a non-text call"
    if rec.get("error") is not None and not isinstance(rec["error"], str):
        return "'error' is not text"
    return None


def _drop_partial_last_line(path: Path) -> None:
    """Cut a last line without its newline (a run killed mid-write), so the next record starts
    on a line of its own instead of being glued to the fragment."""
    if not path.exists():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with path.open("r+b") as f:
            f.truncate(data.rfind(b"\n") + 1)


@dataclass
class RecordWriter:
    """Appends records of one harness x mode, one flushed line each."""

    path: Path

    def __post_init__(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _drop_partial_last_line(self.path)
        self._f = self.path.open("a", encoding="utf-8")

    def write(self, record: dict) -> None:
        self._f.write(json.dumps(record, sort_keys=True, allow_nan=False) + "\n")
        self._f.flush()

    def close(self) -> None:
        self._f.close()
