"""``conformance check``: the Dask side. Batches of images go to workers, rows come back, parts
are written as they arrive, the worst cases are tracked, and a kill loses no written part.

One code path for one machine and many: a ``LocalCluster`` of worker processes (one thread
each) by default, or the cluster at ``scheduler`` (``tcp://host:8786``). The driver reads each
batch's images (with the input limits) and ships their bytes with the task, so workers need no
shared file system; a batch is up to ``--batch`` images and 8 MB of files, and at most
``2 x workers + 2`` batches are in flight, so memory is bounded
whatever the number of images.

A batch whose worker dies (a crash in a library, a kill, the out-of-memory killer, or a harness
that hangs on a case beyond ``--timeout``, which the worker's watchdog ends) is split:
its images run one by one, and an image that still kills its worker runs once per harness, so
the harness that crashes gets a case-level ``error`` row for that image and the others their
verdicts. Dask itself retries a task once (``allowed-failures``) before the split.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..errors import SpecError
from ..results import MODES, ResultsError
from ..safeio import atomic_write_text, read_limited, sha256_file
from .impact import ModelJob, load_model
from .inputs import ImageRef, list_images, read_image
from .table import (IMPACT_COLUMNS, INPUT_COLUMNS, STEP_COLUMNS, PartWriter, append_row, done_inputs,
                    extend_columns, input_row, tidy)
from .task import BatchResult, CheckJob, Program, check_batch
from .worst import WorstTracker

CHECK_FILE = "check.json"
CHECK_FORMAT = "conformance-check"
FLUSH_SECONDS, FLUSH_ROWS = 15.0, 50_000
BATCH_BYTES = 8 << 20  # image file bytes per batch, at most (and --batch images)
CRASH_MESSAGE = ("harness process crashed or hung (over --timeout on one case) while checking this image "
                 "(its Dask worker died: {why})")
WORKER_ENV = {  # one thread per worker process: the workers are the parallelism
    "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1", "OPENCV_FOR_THREADS_NUM": "1", "RAYON_NUM_THREADS": "1",
}


@dataclass
class CheckSummary:
    images: int = 0          # listed
    resumed: int = 0         # found done from an earlier run
    checked: int = 0         # run now
    refused: int = 0
    rows: int = 0
    parts: int = 0
    crashes: int = 0         # batches whose worker died
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    worker_seconds: dict[str, float] = field(default_factory=dict)  # reference / harness -> s
    worst: WorstTracker | None = None  # the worst rows of every part, resumed ones included


@dataclass
class _Task:
    images: list[ImageRef]
    harnesses: dict[str, str] | None = None   # None: the job's own
    programs: list[Program] | None = None
    group: "_Group | None" = None
    solo: bool = False  # run alone on the cluster: a death then is this task's own doing


@dataclass
class _Group:
    """An image split per harness after it killed its worker: its parts, merged when all are in."""

    ref: ImageRef
    waiting: int
    results: list[BatchResult] = field(default_factory=list)


def load_job(pipeline_files: list[Path], harnesses: list[str], externals: list[str], modes: tuple[str, ...],
             expectation_files: list[Path], timeout: float,
             model: ModelJob | None = None) -> tuple[CheckJob, dict, dict[str, str]]:
    """(the job, the identity of its harnesses, {unavailable harness: why}) from the options.
    With ``model`` (``check --model``) the identity holds the model's too (``identity["model"]``),
    and the model is loaded here first, so a bad model file is one line before any image is read."""
    from ..expectations import Expectations
    from ..harnesses.external import ExternalHarness
    from ..harnesses.programs import program_command, split_programs
    from ..reference.pipeline import check_pipeline
    from ..runner import _check_harness_name, resolve_harnesses
    from ..spec import load_pipelines

    pipelines = []
    for f in pipeline_files:
        pipelines += load_pipelines(f)
    ids = [p.id for p in pipelines]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise SpecError(f"pipeline id(s) defined twice: {', '.join(dup)}")
    if not pipelines:
        raise SpecError("no pipelines: give --pipelines")
    for p in pipelines:
        check_pipeline(p)
    if any(p.steps[0].op == "tensor" for p in pipelines):
        raise SpecError("check takes image pipelines (a decode first); tensor pipelines run through "
                        "`generate` + `run`")
    try:
        in_process, program_names, missing = split_programs(harnesses)
    except ValueError as e:
        raise ResultsError(str(e)) from None
    names, unavailable, identity = resolve_harnesses(in_process) if in_process else ({}, {}, {})
    unavailable.update(missing)
    programs = [Program(p, tuple(program_command(p))) for p in program_names]
    for spec in externals:
        try:
            ext = ExternalHarness.parse(spec, timeout=timeout)
        except ValueError as e:
            raise SpecError(f"--external: {e}") from None
        programs.append(Program(ext.name, ext.command if isinstance(ext.command, str) else tuple(ext.command)))
    for prog in programs:
        _check_harness_name(prog.name, prog.name)
        if prog.name in identity:
            raise ResultsError(f"two harnesses are named {prog.name!r}; name the external one NAME=COMMAND")
        identity[prog.name] = {"kind": "external", "command": list(prog.command)
                               if not isinstance(prog.command, str) else prog.command}
    if not names and not programs:
        raise SpecError("nothing to run: give --harness or --external")
    if model is not None:
        if "chained" not in modes:
            raise SpecError("--model judges what a deployment feeds the model, each harness's chained "
                            "final tensor: give --mode chained or --mode both")
        identity = {**identity, "model": load_model(model)}
    job = CheckJob(pipelines=pipelines, harnesses={name: spec for spec, name in names.items()},
                   programs=programs, modes=tuple(m for m in MODES if m in modes),
                   expectations=Expectations.load(list(expectation_files)), timeout=timeout, model=model)
    return job, identity, unavailable


def _identity_doc(job: CheckJob, identity: dict, expectation_files: list[Path], worst: int) -> dict:
    exp = []
    for f in expectation_files:
        exp.append({"path": str(f), "sha256": sha256_file(f)})
    harnesses = {k: v for k, v in identity.items() if k != "model"}
    return {"format": CHECK_FORMAT, "version": 1,
            "pipelines": {p.id: p.to_json() for p in job.pipelines}, "harnesses": harnesses,
            "modes": list(job.modes), "expectations": exp, "worst": worst, "model": identity.get("model")}


def _prepare_out(out: Path, doc: dict, fresh: bool) -> None:
    path = out / CHECK_FILE
    if fresh and out.exists():
        if path.exists() or not any(out.iterdir()):
            shutil.rmtree(out)
        else:
            raise ResultsError(f"{out} exists and is not a check directory; refusing to delete it")
    if path.exists():
        try:
            old = json.loads(read_limited(path, 64 << 20))
        except (OSError, ValueError) as e:
            raise ResultsError(f"{path}: unreadable: {e}") from None
        for key in ("format", "pipelines", "harnesses", "modes", "expectations", "model"):
            if not isinstance(old, dict) or old.get(key) != doc[key]:
                raise ResultsError(f"{out} holds a check with other {key}; use --fresh to start "
                                   "over or another --out")
    elif out.exists() and any(out.iterdir()):
        raise ResultsError(f"{out} is not empty and holds no {CHECK_FILE}; choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(doc, indent=1, sort_keys=True) + "\n")


def start_client(workers: int, scheduler: str | None, processes: bool = True):
    """A Dask client: connected to ``scheduler``, or to a new LocalCluster of ``workers``
    single-threaded worker processes (threads when ``processes`` is False, for tests)."""
    import dask
    from distributed import Client, LocalCluster

    dask.config.set({"distributed.scheduler.allowed-failures": 1,
                     "distributed.diagnostics.computations.max-history": 4,
                     "distributed.nanny.pre-spawn-environ": WORKER_ENV,
                     "distributed.worker.daemon": False})
    if scheduler:
        try:
            return Client(scheduler, timeout="15s")
        except (OSError, TimeoutError) as e:
            raise ResultsError(f"cannot reach the Dask scheduler at {scheduler}: {e}") from None
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=processes,
                           dashboard_address=None, silence_logs=logging.ERROR)
    return Client(cluster)


def run_check(job: CheckJob, identity: dict, images: list[Path], out: Path, *, workers: int = 1,
              scheduler: str | None = None, batch_size: int = 32, worst: int = 5, fresh: bool = False,
              max_input_bytes: int | None = None, expectation_files: list[Path] = (),
              processes: bool = True, on_start: Callable[[int, int], None] | None = None,
              on_batch: Callable[[int], None] | None = None) -> CheckSummary:
    """Check every image of ``images`` with ``job``; the tables, summary and worst cases go to
    ``out`` (:mod:`conformance.scale`). Resumes a check killed earlier in the same ``out``."""
    from distributed import as_completed

    from ..plans import MAX_INPUT_BYTES

    started = time.perf_counter()
    out = Path(out)
    max_input_bytes = max_input_bytes or MAX_INPUT_BYTES
    _prepare_out(out, _identity_doc(job, identity, list(expectation_files), worst), fresh)
    refs = list_images(list(images))
    if not refs:
        raise SpecError("no images found in " + ", ".join(map(str, images)))
    tidy(out)
    done = done_inputs(out)
    todo = deque(r for r in refs if r.id not in done)
    tracker = WorstTracker.load(out, worst)
    summary = CheckSummary(images=len(refs), resumed=len(refs) - len(todo), worst=tracker)
    writer = PartWriter(out)
    buffer_steps: dict[str, list] = {}
    buffer_inputs: dict[str, list] = {}
    buffer_impact: dict[str, list] | None = {} if job.model else None
    last_flush = time.monotonic()

    def flush() -> None:
        nonlocal buffer_steps, buffer_inputs, buffer_impact, last_flush
        if buffer_inputs:
            writer.write(buffer_steps, buffer_inputs, buffer_impact)
            summary.parts += 1
        buffer_steps, buffer_inputs, last_flush = {}, {}, time.monotonic()
        buffer_impact = {} if job.model else None

    def take(result: BatchResult) -> None:
        extend_columns(buffer_steps, result.steps)
        extend_columns(buffer_inputs, result.inputs)
        if result.impact is not None:
            extend_columns(buffer_impact, result.impact)
        tracker.add(result.steps)
        summary.rows += len(result.steps.get("input", []))
        summary.problems += result.problems
        for k, v in result.seconds.items():
            summary.worker_seconds[k] = summary.worker_seconds.get(k, 0.0) + v
        n = len(result.inputs.get("input", []))
        summary.checked += n
        summary.refused += result.inputs.get("status", []).count("refused")
        if on_batch:
            on_batch(n)
        if (time.monotonic() - last_flush > FLUSH_SECONDS
                or len(buffer_steps.get("input", [])) >= FLUSH_ROWS):
            flush()

    if on_start:
        on_start(len(refs), summary.resumed)
    if not todo:
        summary.seconds = time.perf_counter() - started
        return summary

    client = start_client(workers, scheduler, processes)
    try:
        nworkers = max(1, len(client.scheduler_info().get("workers", {})) or workers)
        from dataclasses import replace

        # batches run in worker processes arm a watchdog (task.Watchdog): a hung harness ends
        # its worker, and the batch is split like a crashed one
        shipped = replace(job, driver_pid=os.getpid())
        job_future = None

        def job_on_workers():
            """The job as scattered data, scattered again when the workers holding it died
            (with one worker, its death loses every scattered object)."""
            nonlocal job_future
            if job_future is None or job_future.status != "finished":
                job_future = _scatter(client, shipped, broadcast=True)
            return job_future
        in_flight = 2 * nworkers + 2
        retry: deque[_Task] = deque()
        futures = as_completed()
        tasks = {}

        def submit_next() -> bool:
            if any(t.solo for t, _ in tasks.values()):
                return False  # a task under suspicion runs alone
            if retry:
                if retry[0].solo and tasks:
                    return False  # ... once the tasks in flight are done
                task = retry.popleft()
            elif todo:
                task = _Task(_next_batch(todo, batch_size, BATCH_BYTES))
            else:
                return False
            images = [read_image(r, max_input_bytes) for r in task.images]
            if task.solo:
                # the job and the image travel inside the task: nothing it depends on can die with
                # a worker, so it fails only if its own worker dies under it (twice: Dask retries)
                fut = client.submit(check_batch, _narrow(shipped, task.harnesses, task.programs), images,
                                    pure=False)
                data = None
            else:
                # the images travel as scattered data, not inside the task: the scheduler keeps a
                # task's description for its history (measured: 90 KB per image retained otherwise)
                data = _scatter(client, images)
                sub = job_on_workers()
                if task.harnesses is not None:
                    sub = client.submit(_narrow, sub, task.harnesses, task.programs, pure=False)
                fut = client.submit(check_batch, sub, data, pure=False)
            tasks[fut.key] = (task, data)
            futures.add(fut)
            return True

        for _ in range(in_flight):
            if not submit_next():
                break
        for fut in futures:
            task, data = tasks.pop(fut.key)
            if data is not None:
                data.release()
            try:
                result = fut.result()
            except Exception as e:  # noqa: BLE001 - a worker died (KilledWorker) or the task raised
                # any failure splits the task: its own crash, or its data lost with a worker
                # another task crashed (the pieces of an innocent task simply pass)
                final = len(task.images) == 1 and task.harnesses is not None
                if final and not task.solo:
                    # one harness on one image: before calling it a crash, run it alone and with
                    # its data inside the task, so a worker killed by another task (queued on it,
                    # a hang, data lost with it) does not count
                    task.solo = True
                    retry.append(task)
                else:
                    summary.crashes += 1
                    _split(task, e, retry, job, take)
            else:
                if task.group is None:
                    take(result)
                else:
                    _gather(task.group, result, take)
            fut.release()
            while len(tasks) < in_flight and submit_next():
                pass
    finally:
        flush()
        client.close()
        cluster = getattr(client, "cluster", None)
        if cluster is not None:
            cluster.close()
    summary.seconds = time.perf_counter() - started
    return summary


def _next_batch(todo: deque, most: int, budget: int) -> list[ImageRef]:
    """The next batch: up to ``most`` images, fewer once their files reach ``budget`` bytes (a
    worker holds every step's output of a whole batch: 32 ImageNet JPEGs are 1.5 MB of files,
    32 photos of 12 MP would be a gigabyte of arrays). Always at least one image."""
    import os

    out: list[ImageRef] = []
    total = 0
    while todo and len(out) < most:
        try:
            size = os.stat(todo[0].path).st_size
        except (OSError, ValueError):
            size = 0  # read_image reports it
        if out and total + size > budget:
            break
        out.append(todo.popleft())
        total += size
    return out


WORKER_WAIT_SECONDS = 60.0  # how long a cluster whose workers all died may take to get one back


def _scatter(client, batch, attempts: int = 5, broadcast: bool = False):
    """``batch`` sent to some worker (every worker: ``broadcast``); a worker that died meanwhile
    is tried again elsewhere, and when none is left (one worker, just ended by a crash or the
    watchdog) the nanny's restart is waited for (a loaded machine takes seconds)."""
    for attempt in range(attempts):
        try:
            [data] = client.scatter([batch], hash=False, broadcast=broadcast)
            return data
        except (OSError, TimeoutError) as e:  # CommClosedError: the worker died; none left
            if attempt == attempts - 1:
                raise ResultsError(f"cannot send images to the Dask workers: {e}") from None
            try:
                client.wait_for_workers(1, timeout=WORKER_WAIT_SECONDS)
            except (OSError, TimeoutError):
                pass  # the next attempt says so
            time.sleep(0.5 * (attempt + 1))


def _narrow(job: CheckJob, harnesses: dict[str, str], programs: list[Program]) -> CheckJob:
    """The job with only some of its harnesses (an image split per harness)."""
    from dataclasses import replace

    return replace(job, harnesses=harnesses, programs=programs)


def _split(task: _Task, error: Exception, retry: deque, job: CheckJob, take) -> None:
    """A failed task's work, again in smaller pieces (module docstring)."""
    why = f"{type(error).__name__}: {str(error)[:300]}"
    if len(task.images) > 1:
        retry.extend(_Task([ref]) for ref in task.images)
        return
    ref = task.images[0]
    if task.harnesses is None and task.group is None:
        pieces = [({name: spec}, []) for name, spec in job.harnesses.items()] + \
                 [({}, [prog]) for prog in job.programs]
        group = _Group(ref, len(pieces))
        retry.extend(_Task([ref], h, p, group) for h, p in pieces)
        return
    # one harness on one image kills its worker: that is the harness's verdict on this image
    names = list(task.harnesses or {}) + [p.name for p in task.programs or []]
    message = CRASH_MESSAGE.format(why=why)
    result = BatchResult(impact={} if job.model is not None else None)
    for name in names:
        for p in job.pipelines:
            for mode in job.modes:
                append_row(result.steps, {"input": ref.id, "path": ref.path, "pipeline": p.id, "harness": name,
                                          "mode": mode, "step": -1, "op": "(case)", "verdict": "error",
                                          "first_divergent_step": 0, "message": message[:300]}, STEP_COLUMNS)
            if result.impact is not None:
                append_row(result.impact, {"input": ref.id, "path": ref.path, "pipeline": p.id, "harness": name,
                                           "status": "not compared", "reason": f"{name}: {message[:280]}"},
                           IMPACT_COLUMNS)
    append_row(result.inputs, input_row(ref.id, ref.path, None, None, status="checked", message=message[:2000]),
               INPUT_COLUMNS)
    _gather(task.group, result, take)


def _gather(group: _Group, result: BatchResult, take) -> None:
    group.results.append(result)
    group.waiting -= 1
    if group.waiting:
        return
    merged = BatchResult()
    good = [r for r in group.results if r.inputs.get("sha256", [None])[0]] or group.results
    merged.inputs = good[0].inputs  # one inputs row: from a piece that read the image
    for r in group.results:
        extend_columns(merged.steps, r.steps)
        if r.impact is not None:
            merged.impact = merged.impact if merged.impact is not None else {}
            extend_columns(merged.impact, r.impact)
        merged.problems += r.problems
        for k, v in r.seconds.items():
            merged.seconds[k] = merged.seconds.get(k, 0.0) + v
    take(merged)

