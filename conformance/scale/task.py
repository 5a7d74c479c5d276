"""One batch of images on a worker: the reference, every harness in every mode, the scorer, and
the rows of the per-step table (:mod:`.table`).

Runs inside a Dask worker process (or any process: it is a plain function of picklable data).
Built-in and Python harnesses run in the worker's process, loaded once per process; a harness
program (the external protocol, ``NAME=COMMAND`` or a shipped program such as ``rust-cli``) gets
the batch as a bundle in a temporary folder, exactly as ``conformance run`` gives it a bundle.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..bundle import Bundle, BundleWriter, CaseResult, InputFile, npy_array
from ..execute import run_case_steps
from ..expectations import Expectations, jpeg_subsampling
from ..harnesses import load
from ..models.impact import final_output
from ..results import RECORDS_FILE, RecordWriter, output_rel, read_records
from ..score import CaseScore, Scores, _ExpectedCache, _score_case, compare, score_case
from ..spec import Pipeline
from .impact import ModelJob, batch_impact, loaded_model
from .memory import MemoryBundle, reference_batch
from .table import INPUT_COLUMNS, append_row, case_rows, input_row

@dataclass(frozen=True)
class Program:
    """A harness program run through the external protocol: its name and command line."""

    name: str
    command: tuple[str, ...] | str


@dataclass
class CheckJob:
    """What every batch of one check runs: sent to each worker once."""

    pipelines: list[Pipeline]
    harnesses: dict[str, str]  # table name -> in-process spec (built-in name or module:Class)
    programs: list[Program]
    modes: tuple[str, ...]
    expectations: Expectations
    timeout: float = 60.0
    model: ModelJob | None = None  # check --model: the impact rows (:mod:`.impact`)
    driver_pid: int | None = None  # batches run in another process arm a Watchdog


@dataclass
class Image:
    """One image of a batch: its id, its path as listed, and its bytes and format (or why it
    was refused before being read)."""

    id: str
    path: str
    data: bytes | None = None
    format: str | None = None
    refused: dict | None = None

    def input_file(self) -> InputFile:
        """The image as a user input of a bundle (what ``generate`` makes of a user's file)."""
        from ..plans import FORMAT_MEDIA

        return InputFile(id=self.id, data=self.data, media_type=FORMAT_MEDIA[self.format],
                         description=Path(self.path).name, origin=self.path, tags=("user", "main"))


@dataclass
class BatchResult:
    steps: dict[str, list] = field(default_factory=dict)   # column -> values (table.STEP_COLUMNS)
    inputs: dict[str, list] = field(default_factory=dict)  # column -> values (table.INPUT_COLUMNS)
    impact: dict[str, list] | None = None  # column -> values (table.IMPACT_COLUMNS), with --model
    problems: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # where the worker's time went


_LOADED: dict[str, Any] = {}  # in-process harnesses, loaded once per worker process
HUNG_EXIT = 75  # the exit status of a worker the watchdog ended
# The watchdog's budget for the reference, per image and pipeline: --timeout is a harness's per
# case, and the reference's first call in a fresh worker also loads its compiled code
REFERENCE_SECONDS = 60.0


class Watchdog:
    """Ends this worker process when one piece of work overruns its budget.

    A harness hung inside a library call cannot be interrupted from Python, and a Dask task has
    no time limit: without this, one image on which a library hangs stalls a check forever. The
    nanny starts a new worker and the driver treats the task as it treats a crash: split until
    the image and harness that hang are found, which get a case-level ``error`` row. Armed only
    in a worker process (never in the driver, which runs batches itself in tests), for each case
    of an in-process harness (``--timeout``), the model's batch, and the reference (a fixed
    budget); never while a harness or the model loads."""

    def __init__(self) -> None:
        self.deadline: float | None = None
        self._thread = threading.Thread(target=self._watch, name="conformance-watchdog", daemon=True)
        self._thread.start()

    def arm(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds

    def disarm(self) -> None:
        self.deadline = None

    def _watch(self) -> None:
        while True:
            time.sleep(0.2)
            d = self.deadline
            if d is not None and time.monotonic() > d:
                sys.stderr.write("conformance check: a harness overran its --timeout; ending this worker\n")
                sys.stderr.flush()
                os._exit(HUNG_EXIT)


_WATCHDOG: list[Watchdog] = []


def _watchdog(job: CheckJob) -> Watchdog | None:
    if job.driver_pid is None or os.getpid() == job.driver_pid:
        return None
    if not _WATCHDOG:
        _WATCHDOG.append(Watchdog())
    return _WATCHDOG[0]


def _harness(spec: str):
    if spec not in _LOADED:
        _LOADED[spec] = load(spec)
    return _LOADED[spec]


def check_batch(job: CheckJob, batch: list[Image]) -> BatchResult:
    """The table rows of one batch (every input, pipeline, harness, mode and step)."""
    clock = time.perf_counter()
    result = BatchResult()
    items = []
    for im in batch:
        if im.refused is not None:
            append_row(result.inputs, input_row(im.id, im.path, None, None, status="refused",
                                                message=im.refused["message"]), INPUT_COLUMNS)
            continue
        items.append(im.input_file())
    dog = _watchdog(job)
    if dog:  # the reference: our own code (its first call in a fresh worker loads compiled code)
        dog.arm(REFERENCE_SECONDS * max(1, len(items)) * max(1, len(job.pipelines)))
    ref = reference_batch(items, job.pipelines)
    if dog:
        dog.disarm()  # loading a harness or the model (imports, sessions) is not timed
    result.problems += ref.problems
    bundle = ref.bundle
    result.seconds["reference"] = time.perf_counter() - clock
    skipped: dict[str, list[dict]] = {}
    for s in ref.skipped:
        skipped.setdefault(s["input"], []).append(s)
    for item in items:
        meta = bundle.manifest["inputs"][item.id]
        header = meta.get("header") or {}
        if header.get("format") == "jpeg":
            header = {**header, "subsampling": jpeg_subsampling(item.data, item.origin)}
        bad = skipped.get(item.id, [])
        append_row(result.inputs, input_row(
            item.id, item.origin, meta["sha256"], meta["bytes"],
            status="checked" if not bad else "skipped",
            message="; ".join(f"{s['pipeline']}: {s['type']}: {s['message']}" for s in bad)[:2000],
            header=header, skipped=len(bad)), INPUT_COLUMNS)
    scales = {c["id"]: Scores.case_level_scales(c, bundle.manifest["pipelines"][c["pipeline"]]["steps"])
              for c in bundle.cases}
    expected_of = _ExpectedCache(bundle)
    paths = {item.id: item.origin for item in items}
    # with --model: each harness's chained final tensor per case, or why it has none
    finals: dict[tuple[str, str], np.ndarray | str] | None = {} if job.model else None
    for name, spec in job.harnesses.items():
        clock = time.perf_counter()
        harness = _harness(spec)
        for mode in job.modes:
            for case in bundle.cases:
                keep = finals if mode == "chained" else None
                if dog:
                    dog.arm(job.timeout)
                cs = _check_in_process(harness, name, mode, case, bundle, expected_of, job.expectations, keep)
                case_rows(result.steps, cs, paths[case["input"]], scales[case["id"]])
        if dog:
            dog.disarm()  # the next harness's load is not timed; a program has its own --timeout
        result.seconds[name] = time.perf_counter() - clock
    for program in job.programs:
        clock = time.perf_counter()
        for cs in _check_program(program, ref, job, finals):
            case_rows(result.steps, cs, paths[cs.input], scales[cs.case])
        result.seconds[program.name] = time.perf_counter() - clock
    if job.model is not None:
        clock = time.perf_counter()
        loaded_model(job.model.spec)
        if dog:
            dog.arm(job.timeout * max(1, len(bundle.cases)))
        result.impact = {}
        batch_impact(job.model, bundle, paths, list(job.harnesses) + [p.name for p in job.programs],
                     finals, result.impact)
        result.seconds["model"] = time.perf_counter() - clock
    if dog:
        dog.disarm()
    return result


def _check_in_process(harness, name: str, mode: str, case: dict, bundle: MemoryBundle,
                      expected_of: _ExpectedCache, expectations: Expectations,
                      finals: dict | None = None) -> CaseScore:
    """Run and score one case in memory: the records and verdicts ``run`` + ``score`` give.
    ``finals``: where to keep the case's final output (or why there is none) for the model."""
    outputs: dict[str, np.ndarray] = {}

    def keep(index: int, op: str, out: np.ndarray) -> str:
        rel = output_rel(case["id"], index, op)
        outputs[rel] = npy_array(out)  # what a reader of the .npy file would get back
        return rel

    steps = bundle.manifest["pipelines"][case["pipeline"]]["steps"]
    try:
        records = run_case_steps(harness, steps, bundle.input_bytes(case["input"]),
                                 lambda i: bundle.expected(case["steps"][i]), mode,
                                 negative=case["expect"] == "error", keep=keep)
        record = {"case": case["id"], "status": "done", "steps": records}
    except Exception as e:  # noqa: BLE001 - the runner's own failure on one case: reported, not fatal
        record = {"case": case["id"], "status": "error", "steps": [], "cause": "harness",
                  "error": f"{type(e).__name__}: {e}"[:2000]}
    if finals is not None and case["steps"]:
        rel, why = final_output(record, case["steps"][-1]["index"])
        finals[(name, case["id"])] = outputs[rel] if rel in outputs else why or "the record names no output"
    return score_case(expected_of, case, name, mode, record, expectations,
                      lambda rel, expected, tol: compare(expected, outputs[rel], tol)
                      if rel in outputs else ("error", "the record names no output", None))


def _check_program(program: Program, ref, job: CheckJob, finals: dict | None = None) -> list[CaseScore]:
    """Run a harness program on the batch (written as a bundle to a temporary folder) in each
    mode, and score its records from the files, as ``run`` + ``score`` do. ``finals``: where to
    keep each case's chained final output (read as ``impact`` reads it), or why there is none."""
    from ..harnesses.external import ExternalHarness, HarnessHung

    writer = BundleWriter()
    bundle = ref.bundle
    for iid, meta in bundle.manifest["inputs"].items():
        writer.add_input(InputFile(id=iid, data=bundle.data[iid], media_type=meta["media_type"],
                                   description=meta["description"], origin=meta["origin"],
                                   tags=tuple(meta["tags"]), header=meta.get("header")))
    pipelines = {p.id: p for p in job.pipelines}
    for case in bundle.cases:
        outs = [bundle.expected(e) for e in case["steps"]]
        writer.add_case(CaseResult(case["id"], case["input"], pipelines[case["pipeline"]],
                                   case["expect"], outputs=outs, error=case.get("error")))
    out: list[CaseScore] = []
    tmp = Path(tempfile.mkdtemp(prefix="conformance-check-"))
    try:
        writer.write(tmp / "bundle")
        disk = Bundle(tmp / "bundle", validate_schema=False)
        expected_of = _ExpectedCache(disk)
        ops = {c["id"]: [s["op"] for s in disk.manifest["pipelines"][c["pipeline"]]["steps"]]
               for c in disk.cases}
        results = tmp / "results"
        for mode in job.modes:
            ext = ExternalHarness(program.name, program.command, timeout=job.timeout)
            ext.scratch = tmp / "scratch"
            ext.scratch.mkdir(exist_ok=True)
            dest = results / program.name / mode
            dest.mkdir(parents=True, exist_ok=True)
            records: dict[str, dict] = {}
            try:
                ext.run(tmp / "bundle", mode, [c["id"] for c in disk.cases], dest, ops=ops,
                        on_record=lambda cid, rec: records.__setitem__(cid, rec))
            except HarnessHung as e:  # the cases it answered before keep their records
                records.update({c["id"]: {"case": c["id"], "status": "error", "steps": [], "cause": "timeout",
                                          "error": str(e)} for c in disk.cases if c["id"] not in records})
            # records pass through results.jsonl's own checks, as `score` reads them
            w = RecordWriter(dest / RECORDS_FILE)
            for rec in records.values():
                w.write(rec)
            w.close()
            checked = read_records(results, program.name, mode)
            for case in disk.cases:
                out.append(_score_case(expected_of, case, program.name, mode, checked.get(case["id"]),
                                       results, job.expectations))
                if finals is not None and mode == "chained" and case["steps"]:
                    finals[(program.name, case["id"])] = _read_final(checked.get(case["id"]), case, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _read_final(record: dict | None, case: dict, root: Path) -> np.ndarray | str:
    """A program's final output of ``case`` (its file checked as ``impact`` checks it), or why not."""
    from ..bundle import read_npy
    from ..errors import ConformanceError
    from ..safeio import confined

    rel, why = final_output(record, case["steps"][-1]["index"])
    if rel is None:
        return why
    try:
        return read_npy(confined(root, rel), where=rel)
    except ConformanceError as e:
        return str(e)[:300]

