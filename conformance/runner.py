"""``conformance run``: every harness x mode x case of a bundle, robustly, resumably.

Built-in harnesses run in a :class:`~conformance.workers.WorkerPool` each (separate processes
per harness, per-case timeout, crash isolation); external programs through
:class:`~conformance.harnesses.external.ExternalHarness` (batches, per-case retry). Records and
outputs land in a results directory (:mod:`conformance.results`) as they are produced; running
again with the same ``--out`` resumes: only cases without a record run.
"""

from __future__ import annotations

import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .bundle import Bundle
from .harnesses import BUILTIN, HarnessUnavailable, load
from .harnesses.external import ExternalHarness, HarnessHung
from .harnesses.programs import program_command, split_programs
from .results import (MODES, RECORDS_FILE, RUN_FILE, RecordWriter, ResultsError, harness_dir,
                      read_records, read_run, write_run)
from .reaper import Reaper
from .safeio import UnsafeData, check_name
from .workers import WorkerPool

RESULTS_FORMAT = "conformance-results"
DEFAULT_TIMEOUT = 60.0


SCRATCH = ".tmp"  # RESULTS/.tmp: the external programs' OUT folders while they run
RESERVED_NAMES = {"logs"}  # RESULTS/ entries that are not harness folders


@dataclass
class RunSummary:
    """What a run did: tasks run now, tasks found done from an earlier run, case errors by
    cause (crash, timeout, harness, bundle), harnesses skipped or stopped."""

    ran: int = 0
    resumed: int = 0
    errors: int = 0
    error_causes: dict[str, int] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)
    stopped: dict[str, str] = field(default_factory=dict)  # hung programs: why they were stopped


def resolve_harnesses(specs: list[str]) -> tuple[dict[str, str], dict[str, str], dict[str, dict]]:
    """Expand ``all`` and load each harness once in this process.

    Returns ({spec: harness name}, {unavailable spec: reason}, {harness name: identity}). A
    harness asked for by name that cannot load is an error (ResultsError); under ``all`` it is
    only reported, so ``all`` means "every harness this machine has".
    """
    wanted = [*BUILTIN, *(s for s in specs if s != "all")] if "all" in specs else list(specs)
    names, missing, identity = {}, {}, {}
    for spec in dict.fromkeys(wanted):
        try:
            h = load(spec)
        except KeyError as e:
            raise ResultsError(str(e.args[0])) from None
        except HarnessUnavailable as e:
            if "all" not in specs or spec not in BUILTIN:
                raise ResultsError(str(e)) from None
            missing[spec] = str(e)
            continue
        if not h.name or h.name in identity:
            raise ResultsError(f"harness {spec!r}: empty or duplicate name {h.name!r}")
        _check_harness_name(h.name, spec)
        names[spec] = h.name
        identity[h.name] = {"kind": "builtin" if spec in BUILTIN else "python", "spec": spec,
                            "versions": h.versions()}
    return names, missing, identity


def _check_harness_name(name: str, spec: str) -> None:
    """A harness name becomes RESULTS/<name>/: a safe name that is not a reserved entry."""
    try:
        check_name(name, f"harness {spec!r}: name")
    except UnsafeData as e:
        raise ResultsError(str(e)) from None
    if name in RESERVED_NAMES:
        raise ResultsError(f"harness {spec!r}: the name {name!r} is reserved in a results directory")


def _same_identity(old: dict, new: dict) -> bool:
    """Harness identities match, ignoring what a program reported about itself after a run."""
    strip = lambda d: {k: v for k, v in d.items() if k != "reported"}  # noqa: E731
    return strip(old) == strip(new)


def run_bundle(bundle_dir: Path, out_dir: Path, *, harnesses: list[str],
               externals: list[ExternalHarness] = (), modes: tuple[str, ...] = MODES, jobs: int = 1,
               timeout: float = DEFAULT_TIMEOUT, fresh: bool = False,
               on_start: Callable[[int], None] | None = None,
               on_record: Callable[[str, str, dict], None] | None = None) -> RunSummary:
    """Run ``harnesses`` (+ ``externals``) on every case of the bundle in each of ``modes``.

    A harness name of a shipped program (``rust-cli``, :mod:`.harnesses.programs`) runs that
    program through the external protocol; ``all`` includes it when it is installed."""
    bundle_dir, out_dir = Path(bundle_dir).resolve(), Path(out_dir)
    bundle = Bundle(bundle_dir)
    manifest_sha = bundle.manifest_sha256
    try:
        harnesses, programs, programs_missing = split_programs(list(harnesses))
    except ValueError as e:
        raise ResultsError(str(e)) from None
    names, unavailable, identity = resolve_harnesses(harnesses) if harnesses else ({}, {}, {})
    unavailable.update(programs_missing)
    externals = [*(ExternalHarness(p, program_command(p), timeout=timeout) for p in programs), *externals]
    for e in externals:
        _check_harness_name(e.name, e.name)
        if e.name in identity:
            raise ResultsError(f"two harnesses are named {e.name!r}; name the external one NAME=COMMAND")
        identity[e.name] = {"kind": "external", "command": e.command}

    if fresh and out_dir.exists():
        if (out_dir / RUN_FILE).exists() or not any(out_dir.iterdir()):
            shutil.rmtree(out_dir)
        else:
            raise ResultsError(f"{out_dir} exists and is not a results directory; refusing to "
                               "delete it")
    doc = {"format": RESULTS_FORMAT, "version": 1, "bundle": str(bundle_dir),
           "bundle_sha256": manifest_sha, "modes": list(modes), "harnesses": identity}
    if (out_dir / RUN_FILE).exists():
        old = read_run(out_dir)
        if old.get("bundle_sha256") != manifest_sha:
            raise ResultsError(f"{out_dir} holds results for another bundle ({old.get('bundle')}); "
                               "use --fresh to start over or another --out")
        for n, ident in identity.items():
            if n in old.get("harnesses", {}) and not _same_identity(old["harnesses"][n], ident):
                raise ResultsError(f"{out_dir}: harness {n!r} changed since these results were "
                                   f"made ({old['harnesses'][n]} -> {ident}); use --fresh")
        doc["harnesses"] = {**old.get("harnesses", {}), **identity}
        doc["modes"] = [m for m in MODES if m in set(old.get("modes", [])) | set(modes)]
    elif out_dir.exists() and any(out_dir.iterdir()):
        raise ResultsError(f"{out_dir} is not empty and holds no {RUN_FILE}; choose another --out")
    write_run(out_dir, doc)

    summary = RunSummary(unavailable=unavailable)
    case_ids = [c["id"] for c in bundle.cases]
    todo: dict[tuple[str, str], list[str]] = {}
    for h in [*names.values(), *(e.name for e in externals)]:
        for mode in modes:
            done = read_records(out_dir, h, mode)
            summary.resumed += sum(1 for c in case_ids if c in done)
            todo[(h, mode)] = [c for c in case_ids if c not in done]
    if on_start:
        on_start(sum(len(v) for v in todo.values()))

    writers = {key: RecordWriter(harness_dir(out_dir, *key) / RECORDS_FILE) for key in todo}
    lock = threading.Lock()

    def deliver(h: str, mode: str, record: dict) -> None:
        with lock:
            writers[(h, mode)].write(record)
            summary.ran += 1
            if record.get("status") == "error":
                cause = record.get("cause", "harness")
                summary.errors += 1
                summary.error_causes[cause] = summary.error_causes.get(cause, 0) + 1
            if on_record:
                on_record(h, mode, record)

    scratch = out_dir / SCRATCH
    shutil.rmtree(scratch, ignore_errors=True)  # what a killed run left behind
    reaper = Reaper() if externals else None
    try:
        # one pool per harness: a harness's library state (threads, global switches, a crash)
        # never shares a process with another harness
        for spec, name in names.items():
            tasks = [(spec, mode, cid) for (h, mode), ids in todo.items() if h == name for cid in ids]
            if tasks:
                pool = WorkerPool(bundle_dir, out_dir, jobs=jobs, timeout=timeout)
                pool.run(tasks, lambda task, rec: deliver(names[task[0]], task[1], rec))
        ops = {c["id"]: [s["op"] for s in bundle.manifest["pipelines"][c["pipeline"]]["steps"]]
               for c in bundle.cases}
        for ext in externals:
            ext.reaper, ext.scratch = reaper, scratch
            for mode in modes:
                ext.log = out_dir / "logs" / f"{ext.name}.{mode}.stderr"
                try:
                    ext.run(bundle_dir, mode, todo[(ext.name, mode)], harness_dir(out_dir, ext.name, mode),
                            jobs=jobs, ops=ops,
                            on_record=lambda cid, rec, m=mode, e=ext: deliver(e.name, m, rec))
                except HarnessHung as e:
                    summary.stopped[ext.name] = str(e)
                    break
            if ext.identity:
                doc["harnesses"][ext.name]["reported"] = ext.identity
        write_run(out_dir, doc)
    finally:
        for w in writers.values():
            w.close()
        shutil.rmtree(scratch, ignore_errors=True)
        if reaper:
            reaper.close()
    return summary
