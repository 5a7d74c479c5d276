"""A pool of worker processes that run cases with a per-case timeout and survive crashes.

Each worker is a separate process, forked from a clean ``forkserver`` process that has imported
only numpy and this package (so no library threads of the parent leak in, and replacing a
crashed worker costs milliseconds, not a fresh interpreter). It opens the bundle once, creates each
harness once, then runs the tasks the parent sends, one at a time, and answers with the record.
The parent watches every busy worker:

- the worker answers: the record is delivered;
- the worker process dies (segfault, abort, os._exit): the task gets an ``error`` record naming
  the exit code or signal, and a fresh worker takes its place;
- the task runs past ``timeout`` seconds: the worker is killed, the task gets an ``error``
  record, and a fresh worker takes its place.

So one bad case costs one record and at most one timeout, never the run.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import wait
from pathlib import Path
from typing import Callable, Iterable

from .errors import ConformanceError

Task = tuple[str, str, str]  # (harness spec, mode, case id)


def _worker_main(conn, bundle_root: str, results_root: str, environ: dict[str, str]) -> None:
    """Worker loop: receive (harness, mode, case) tasks, answer with records; None stops it."""
    # A forkserver child inherits the *server's* environment, fixed when it started; give the
    # worker the parent's environment of now (thread counts, library switches).
    os.environ.clear()
    os.environ.update(environ)
    from .bundle import Bundle
    from .errors import BundleError
    from .execute import execute_case
    from .harnesses import load
    from .results import harness_dir

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    _redirect_stderr(Path(results_root) / "logs")
    try:
        bundle = Bundle(bundle_root, validate_schema=False)  # the parent has validated it
    except Exception as e:
        conn.send(("failed", f"{type(e).__name__}: {e}"))
        return
    cases = {c["id"]: c for c in bundle.cases}
    harnesses: dict = {}
    conn.send(("ready", ""))
    while True:
        task = conn.recv()
        if task is None:
            return
        name, mode, case_id = task
        try:
            if name not in harnesses:
                harnesses[name] = load(name)
            out_dir = harness_dir(Path(results_root), harnesses[name].name, mode)
            record = execute_case(harnesses[name], bundle, cases[case_id], mode, out_dir)
        except Exception as e:  # anything outside a step (bundle read, harness load)
            record = {"case": case_id, "status": "error", "steps": [],
                      "cause": "bundle" if isinstance(e, BundleError) else "harness",
                      "error": f"{type(e).__name__}: {e}"}
        conn.send(record)


def _redirect_stderr(log_dir: Path) -> None:
    """Send this process's fd 2 (library warnings: libpng, OpenCV, a native crash's last words)
    to ``logs/worker-<pid>.stderr`` in the results directory instead of the user's terminal."""
    import sys

    log_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(log_dir / f"worker-{os.getpid()}.stderr", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    sys.stderr.flush()
    os.dup2(fd, 2)
    os.close(fd)


def signal_name(number: int) -> str:
    """``SIGSEGV`` for 11, ``signal 99`` for a number the platform does not name."""
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _death_message(exitcode: int | None, during: str = "while running this case") -> str:
    """Why a worker process ended: the signal's name (SIGSEGV...) or its exit code."""
    if exitcode is not None and exitcode < 0:
        return f"harness process crashed ({signal_name(-exitcode)}) {during}"
    return f"harness process exited (code {exitcode}) {during}"


@dataclass
class _Worker:
    process: mp.Process
    conn: object
    task: Task | None = None
    deadline: float = 0.0


class WorkerStartError(ConformanceError):
    """A worker process could not start (so no case could run): the run stops with this."""


STARTUP_TIMEOUT = 120.0  # seconds for a fresh worker to import its libraries and open the bundle


class WorkerPool:
    """``jobs`` worker processes running tasks with a per-task ``timeout`` (seconds)."""

    def __init__(self, bundle_root: Path, results_root: Path, *, jobs: int, timeout: float):
        self.bundle_root, self.results_root = str(bundle_root), str(results_root)
        self.jobs, self.timeout = max(1, jobs), timeout
        self._ctx = mp.get_context("forkserver")
        self._ctx.set_forkserver_preload(["conformance.execute"])
        self._workers: list[_Worker] = []

    def _spawn(self) -> _Worker:
        parent, child = self._ctx.Pipe()
        p = self._ctx.Process(target=_worker_main, args=(child, self.bundle_root, self.results_root, dict(os.environ)),
                              daemon=True)
        p.start()
        child.close()
        # Handshake: a worker that cannot even start would otherwise fail every task in turn.
        message = f"no answer within {STARTUP_TIMEOUT:g} s"
        if parent.poll(STARTUP_TIMEOUT):
            try:
                status, message = parent.recv()
            except (EOFError, OSError):
                p.join(5)
                status, message = "failed", _death_message(p.exitcode, during="while starting")
            if status == "ready":
                return _Worker(p, parent)
        p.kill()
        p.join(5)
        parent.close()
        raise WorkerStartError(f"a harness worker process failed to start: {message}")

    def _replace(self, w: _Worker) -> None:
        if w.process.is_alive():
            w.process.kill()
        w.process.join(5)
        w.conn.close()
        self._workers[self._workers.index(w)] = self._spawn()

    def run(self, tasks: Iterable[Task], on_record: Callable[[Task, dict], None]) -> None:
        """Run every task; call ``on_record(task, record)`` in the parent as each one ends."""
        queue = deque(tasks)
        if not queue:
            return
        self._workers = [self._spawn() for _ in range(min(self.jobs, len(queue)))]
        try:
            while queue or any(w.task for w in self._workers):
                for w in self._workers:
                    if w.task is None and queue:
                        w.task = queue.popleft()
                        w.deadline = time.monotonic() + self.timeout
                        w.conn.send(w.task)
                busy = [w for w in self._workers if w.task]
                ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy],
                             timeout=max(0.0, min(w.deadline for w in busy) - time.monotonic()))
                now = time.monotonic()
                for w in list(busy):
                    task = w.task
                    if w.conn in ready:
                        try:
                            record = w.conn.recv()
                        except (EOFError, OSError):
                            record = None
                        if record is not None:
                            w.task = None
                            on_record(task, record)
                            continue
                    if w.conn in ready or w.process.sentinel in ready:
                        w.process.join(5)
                        message, cause = _death_message(w.process.exitcode), "crash"
                    elif now >= w.deadline:
                        message = f"timed out after {self.timeout:g} s (harness process killed)"
                        cause = "timeout"
                    else:
                        continue
                    w.task = None
                    self._replace(w)
                    on_record(task, {"case": task[2], "status": "error", "steps": [], "cause": cause,
                                     "error": message})
        except BaseException:  # Ctrl-C: stop now, do not wait for the cases in flight
            self.close(graceful=False)
            raise
        finally:
            self.close()

    def close(self, graceful: bool = True) -> None:
        for w in self._workers:
            try:
                if not graceful:
                    w.process.kill()
                elif w.process.is_alive():
                    w.conn.send(None)
            except (BrokenPipeError, OSError):
                pass
        for w in self._workers:
            w.process.join(2)
            if w.process.is_alive():
                w.process.kill()
                w.process.join(2)
            w.conn.close()
        self._workers = []
