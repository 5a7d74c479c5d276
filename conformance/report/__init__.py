"""Reports of conformance scores: terminal (rich), JSON (documented schema), JUnit XML (CI) and a
self-contained HTML page.

:func:`write_reports` is what ``conformance report`` calls; each format also has its own
function (:func:`render_terminal`, :func:`write_json`, :func:`write_junit`, :func:`write_html`).
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from ..score import Scores
from .html import DEFAULT_MAX_FAILURES, write_html
from .json_report import write_json
from .junit import write_junit
from .terminal import render_terminal

FORMATS = ("term", "json", "junit", "html")
# File written for each file format inside the output directory.
FILE_NAMES = {"json": "scores.json", "junit": "junit.xml", "html": "report.html"}

__all__ = ["FORMATS", "FILE_NAMES", "write_reports", "render_terminal", "write_json", "write_junit",
           "write_html"]


def write_reports(scores: Scores, out_dir: str | Path, formats: tuple[str, ...] = FORMATS,
                  console: Console | None = None, *, worst: int = 10,
                  max_failures: int = DEFAULT_MAX_FAILURES) -> dict[str, Path | None]:
    """Write the file formats among ``formats`` into ``out_dir`` (created) and render ``term`` on
    ``console`` (a new stdout Console if None). Returns {format: path}; ``term`` maps to None.
    An unknown format is a ValueError naming the known ones, raised before anything is written."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown report format(s) {unknown}; known: {', '.join(FORMATS)}")
    out_dir = Path(out_dir)
    written: dict[str, Path | None] = {}
    if any(f in FILE_NAMES for f in formats):
        out_dir.mkdir(parents=True, exist_ok=True)
    if "json" in formats:
        written["json"] = write_json(scores, out_dir / FILE_NAMES["json"])
    if "junit" in formats:
        written["junit"] = write_junit(scores, out_dir / FILE_NAMES["junit"])
    if "html" in formats:
        written["html"] = write_html(scores, out_dir / FILE_NAMES["html"], max_failures=max_failures)
    if "term" in formats:
        render_terminal(scores, console or Console(), worst=worst)
        written["term"] = None
    return written
