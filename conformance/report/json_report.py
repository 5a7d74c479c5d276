"""The JSON report: ``Scores.to_json()`` written as deterministic bytes, so CI can diff two runs.

Schema: ``conformance/schemas/scores-v1.schema.json`` (JSON Schema draft 2020-12; every field
described there). Determinism: keys sorted, one-space indent, ASCII, no NaN/Infinity, a trailing
newline (the bundle's :func:`~conformance.bundle.json_bytes`); cases in (harness, mode as the run
listed them, case id) order and steps by index; no timings and no host names.

A chained case whose error starts at an earlier step than its first failing one has
``first_difference`` (:func:`.common.first_difference`): ``{"index", "op", "max_abs",
"tolerance", "within_tolerance": true}`` of the earliest step whose output differs from the
reference at all, while within its tolerance; a later step fails (or is a known difference)
because its input is the harness's own.

``jpeg_decode`` is the JPEG decode table of :mod:`.jpeg_decode` (one object per harness x mode x
decode preset x subsampling, in its order), or null when the bundle manifest cannot be read.

Paths: ``bundle`` and ``results_dir`` are written relative to the directory that holds the JSON
file ('/'-separated; ``os.path.relpath`` semantics, so they may start with ``..``), because the
run records them absolute and an absolute path differs between two CI machines. A path the
Scores holds relative is taken relative to the current directory, as the run took it.
``relative_paths=False`` writes them exactly as the Scores holds them. Expectation file names,
and the file names inside tolerance ``source`` fields and xfail messages, are written as the
user gave them.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from ..bundle import json_bytes
from ..score import Scores
from .common import first_difference
from .jpeg_decode import jpeg_decode_table
from ..safeio import atomic_write_bytes

SCHEMA_RESOURCE = "schemas/scores-v1.schema.json"


@lru_cache(maxsize=1)
def schema() -> dict:
    """The JSON Schema of the scores document."""
    text = resources.files("conformance").joinpath(SCHEMA_RESOURCE).read_text("utf-8")
    return json.loads(text)


def _relative(path: str, base: Path) -> str:
    """``path`` relative to directory ``base`` ('/'-separated)."""
    return Path(os.path.relpath(Path(path).resolve(), base.resolve())).as_posix()


def scores_document(scores: Scores, *, base: Path | None = None) -> dict[str, Any]:
    """The document written by :func:`write_json`; paths relative to ``base`` unless it is None."""
    doc = scores.to_json()
    doc["results_dir"] = scores.results_dir
    if base is not None:
        doc["bundle"] = _relative(scores.bundle, base)
        doc["results_dir"] = _relative(scores.results_dir, base)
    mode_pos = {m: i for i, m in enumerate(scores.modes)}
    doc["cases"] = sorted(doc["cases"], key=lambda c: (c["harness"], mode_pos.get(c["mode"], len(mode_pos)),
                                                       c["case"]))
    for c in doc["cases"]:
        c["steps"] = sorted(c["steps"], key=lambda s: s["index"])
    firsts = {(c.harness, c.mode, c.case): first_difference(c) for c in scores.cases}
    for c in doc["cases"]:
        diff = firsts.get((c["harness"], c["mode"], c["case"]))
        if diff is not None:
            c["first_difference"] = diff.to_json()
    doc["jpeg_decode"] = jpeg_decode_table(scores).to_json()
    return doc


def validate(doc: dict) -> None:
    """jsonschema.ValidationError unless ``doc`` matches the scores schema."""
    import jsonschema

    jsonschema.validate(doc, schema(), format_checker=jsonschema.FormatChecker())


def write_json(scores: Scores, path: str | Path, *, relative_paths: bool = True) -> Path:
    """Write the scores document to ``path`` (parents created) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = scores_document(scores, base=path.parent if relative_paths else None)
    atomic_write_bytes(path, json_bytes(doc))
    return path
