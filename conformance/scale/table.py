"""The tables a check keeps: ``OUT/steps.parquet`` and ``OUT/inputs.parquet``.

Each is a Parquet *dataset*: a folder of part files that pyarrow (``pq.read_table``), pandas
(``pd.read_parquet``), Dask (``dd.read_parquet``), DuckDB and Spark read as one table. A part is
written whole under a temporary name and renamed, so a killed run leaves only complete parts;
part N of both tables is written together (steps first), and ``inputs`` is the ledger: an input
is done when an inputs part lists it. On resume, a steps part without its inputs part (a kill
between the two renames) is deleted and its images run again.

``steps``: one row per input x pipeline x harness x mode x step (:data:`STEP_COLUMNS`); a case
that failed as a whole (a crash, a timeout) has one row with ``step = -1`` and ``op = "(case)"``.
``inputs``: one row per image (:data:`INPUT_COLUMNS`): its status (``checked``; ``skipped`` when
the reference could not produce some of its cases; ``refused`` when it was not read) and the
properties its headers record, which the summary groups errors by.
``impact`` (``check --model``): one row per input x pipeline x harness (:data:`IMPACT_COLUMNS`):
the model's prediction on the reference's final tensor (``a``) against its prediction on the
harness's chained final tensor (``b``), the per-image numbers of
:func:`conformance.models.metrics.image_row`; ``status`` is ``compared``, or ``not compared``
with the ``reason`` (the harness gave no final tensor, or a tensor does not fit the model).
Its part N is written before inputs part N, like steps.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ..safeio import atomic_write_bytes
from ..score import CaseScore

STEPS, INPUTS, IMPACT = "steps.parquet", "inputs.parquet", "impact.parquet"
MESSAGE_CHARS = 300

STEP_SCHEMA = pa.schema([
    ("input", pa.string()), ("path", pa.string()), ("pipeline", pa.string()), ("harness", pa.string()),
    ("mode", pa.string()), ("step", pa.int16()), ("op", pa.string()), ("verdict", pa.string()),
    ("max_abs", pa.float64()), ("mean_abs", pa.float64()), ("rmse", pa.float64()),
    ("over_tolerance", pa.float64()), ("tolerance", pa.float64()),
    # max_abs, and how far beyond the tolerance it is, in 8-bit levels (Scores.level_scale): one
    # unit for every dtype and normalisation, so steps and harnesses rank together
    ("levels", pa.float64()), ("excess_levels", pa.float64()),
    ("first_divergent_step", pa.int16()), ("message", pa.string()), ("call", pa.string()),
])
INPUT_SCHEMA = pa.schema([
    ("input", pa.string()), ("path", pa.string()), ("sha256", pa.string()), ("bytes", pa.int64()),
    ("status", pa.string()), ("message", pa.string()), ("format", pa.string()),
    ("width", pa.int32()), ("height", pa.int32()), ("colour_type", pa.string()),
    ("bit_depth", pa.int16()), ("progressive", pa.bool_()), ("subsampling", pa.string()),
    ("orientation", pa.int16()), ("damaged", pa.bool_()), ("skipped_cases", pa.int32()),
])
IMPACT_SCHEMA = pa.schema([
    ("input", pa.string()), ("path", pa.string()), ("pipeline", pa.string()), ("harness", pa.string()),
    ("status", pa.string()), ("reason", pa.string()), ("changed", pa.bool_()), ("output_diff", pa.float64()),
    # classifiers
    ("top_k", pa.int16()), ("top1_a", pa.int32()), ("top1_b", pa.int32()), ("label_a", pa.string()), ("label_b", pa.string()),
    ("p_a", pa.float64()), ("p_b", pa.float64()), ("p_b_of_a", pa.float64()), ("dp", pa.float64()),
    ("kl", pa.float64()), ("cosine", pa.float64()), ("topk_overlap", pa.float64()),
    # detectors (and ``identical`` for every kind: the two predictions are equal)
    ("boxes_a", pa.int32()), ("boxes_b", pa.int32()), ("matched", pa.int32()), ("ious", pa.list_(pa.float64())),
    ("identical", pa.bool_()),
])
STEP_COLUMNS = STEP_SCHEMA.names
IMPACT_COLUMNS = IMPACT_SCHEMA.names
INPUT_COLUMNS = INPUT_SCHEMA.names


def case_rows(columns: dict[str, list], cs: CaseScore, path: str, scales: dict[int, float]) -> None:
    """Append the rows of one scored case to ``columns`` (column -> values)."""
    first = cs.first_divergent_step
    rows = [(s.index, s.op, s.verdict, s.metrics, s.tolerance, s.message, s.call) for s in cs.steps]
    if cs.error:
        rows.append((-1, "(case)", cs.case_verdict, None, None, cs.error, None))
    for index, op, verdict, metrics, tol, message, call in rows:
        m = metrics or {}
        tolerance = float(tol["max_abs"]) if tol else None
        scale = scales.get(index)
        levels = excess = None
        if m.get("max_abs") is not None and scale:
            levels = m["max_abs"] * scale
            excess = max(m["max_abs"] - (tolerance or 0.0), 0.0) * scale
        append_row(columns, {
            "input": cs.input, "path": path, "pipeline": cs.pipeline, "harness": cs.harness, "mode": cs.mode,
            "step": index, "op": op, "verdict": verdict, "max_abs": m.get("max_abs"),
            "mean_abs": m.get("mean_abs"), "rmse": m.get("rmse"), "over_tolerance": m.get("over_tolerance"),
            "tolerance": tolerance, "levels": levels, "excess_levels": excess, "first_divergent_step": first,
            "message": (message or "")[:MESSAGE_CHARS], "call": call}, STEP_COLUMNS)


def append_row(columns: dict[str, list], row: dict[str, Any], names: list[str]) -> None:
    """Append ``row`` to ``columns`` (column -> values): every column of ``names``, a value the
    row lacks as None, so every column keeps the same length."""
    for c in names:
        columns.setdefault(c, []).append(row.get(c))


def extend_columns(into: dict[str, list], columns: dict[str, list]) -> None:
    """Append the rows of ``columns`` to ``into`` (both column -> values)."""
    for k, v in columns.items():
        into.setdefault(k, []).extend(v)


def input_row(input_id: str, path: str, sha256: str | None, size: int | None, *, status: str,
              message: str = "", header: dict | None = None, skipped: int = 0) -> dict[str, Any]:
    h = header or {}
    orientation = h.get("orientation")
    return {"input": input_id, "path": path, "sha256": sha256, "bytes": size, "status": status,
            "message": message, "format": h.get("format"), "width": h.get("width"),
            "height": h.get("height"), "colour_type": h.get("colour_type"), "bit_depth": h.get("bit_depth"),
            "progressive": h.get("interlaced"), "subsampling": h.get("subsampling"),
            "orientation": orientation if isinstance(orientation, int) else None,
            "damaged": bool(h.get("damaged")), "skipped_cases": skipped}


PART = re.compile(r"^part-(\d{6})\.parquet$")


class PartWriter:
    """Writes numbered parts of both tables under ``out``."""

    def __init__(self, out: Path):
        self.out = Path(out)
        for name in (STEPS, INPUTS):
            (self.out / name).mkdir(parents=True, exist_ok=True)
        self.next = 1 + max([int(m.group(1)) for m in map(PART.match, os.listdir(self.out / INPUTS)) if m],
                            default=0)

    def write(self, steps: dict[str, list], inputs: dict[str, list], impact: dict[str, list] | None = None) -> int:
        """Write one part of each table (steps and impact first, the inputs ledger last);
        returns the part number."""
        n = self.next
        name = f"part-{n:06d}.parquet"
        _write_atomic(self.out / STEPS / name, pa.table({c: steps.get(c, []) for c in STEP_COLUMNS},
                                                        schema=STEP_SCHEMA))
        if impact is not None:
            (self.out / IMPACT).mkdir(exist_ok=True)
            _write_atomic(self.out / IMPACT / name, pa.table({c: impact.get(c, []) for c in IMPACT_COLUMNS},
                                                             schema=IMPACT_SCHEMA))
        _write_atomic(self.out / INPUTS / name, pa.table({c: inputs.get(c, []) for c in INPUT_COLUMNS},
                                                         schema=INPUT_SCHEMA))
        self.next += 1
        return n


def _write_atomic(path: Path, table: pa.Table) -> None:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    atomic_write_bytes(path, sink.getvalue().to_pybytes())


def tidy(out: Path) -> None:
    """Before a resume: remove temporary files of a killed write and steps (and impact) parts
    whose inputs part is missing (their images run again)."""
    for name in (STEPS, INPUTS, IMPACT):
        folder = Path(out) / name
        if not folder.is_dir():
            continue
        for entry in os.listdir(folder):
            if not PART.match(entry):
                (folder / entry).unlink(missing_ok=True)
    inputs = Path(out) / INPUTS
    for name in (STEPS, IMPACT):
        folder = Path(out) / name
        if folder.is_dir():
            for entry in os.listdir(folder):
                if not (inputs / entry).exists():
                    (folder / entry).unlink()


def done_inputs(out: Path) -> set[str]:
    """Ids of the images a (possibly killed) check already finished."""
    folder = Path(out) / INPUTS
    if not folder.is_dir() or not any(PART.match(e) for e in os.listdir(folder)):
        return set()
    return set(read(out, INPUTS, ["input"]).column("input").to_pylist())


def read(out: Path, name: str, columns: list[str] | None = None, filters: list | None = None) -> pa.Table:
    """A table of a check (``steps.parquet``, ``inputs.parquet`` or ``impact.parquet``), only the
    columns (and the rows: pyarrow ``filters``) asked for."""
    folder = Path(out) / name
    parts = sorted(folder / e for e in os.listdir(folder) if PART.match(e)) if folder.is_dir() else []
    schema = {STEPS: STEP_SCHEMA, INPUTS: INPUT_SCHEMA, IMPACT: IMPACT_SCHEMA}[name]
    if not parts:
        return schema.empty_table().select(columns or schema.names)
    return pa.concat_tables([pq.read_table(p, columns=columns, schema=schema, filters=filters) for p in parts])
