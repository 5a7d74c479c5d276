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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConformanceError

RUN_FILE = "run.json"
RECORDS_FILE = "results.jsonl"
MODES = ("isolated", "chained")


class ResultsError(ConformanceError):
    """A results directory is missing, unreadable or belongs to another bundle."""


def harness_dir(results: Path, harness: str, mode: str) -> Path:
    return results / harness / mode


def output_rel(case_id: str, index: int, op: str) -> str:
    return f"outputs/{case_id}/{index}_{op}.npy"


def read_run(results: Path) -> dict[str, Any]:
    """``run.json`` of a results directory, or ResultsError saying what is wrong."""
    path = Path(results) / RUN_FILE
    try:
        return json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise ResultsError(f"{results}: no {RUN_FILE}; is this a `conformance run --out` "
                           "directory?") from None
    except (OSError, json.JSONDecodeError) as e:
        raise ResultsError(f"{path}: unreadable: {e}") from None


def write_run(results: Path, doc: dict[str, Any]) -> None:
    results.mkdir(parents=True, exist_ok=True)
    tmp = results / (RUN_FILE + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", "utf-8")
    tmp.replace(results / RUN_FILE)


def read_records(results: Path, harness: str, mode: str) -> dict[str, dict]:
    """Finished records by case id (later lines win; an unparsable line is skipped)."""
    path = harness_dir(results, harness, mode) / RECORDS_FILE
    out: dict[str, dict] = {}
    if not path.exists():
        return out
    with path.open("r", encoding="utf-8") as f:
        for line in f:
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a killed run
            if isinstance(rec, dict) and isinstance(rec.get("case"), str):
                out[rec["case"]] = rec
    return out


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
