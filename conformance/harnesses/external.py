"""The ``external`` harness: any program that speaks the harness protocol, run as a subprocess.

Protocol (``docs/harness-protocol.md`` is the porter's version of this)::

    PROGRAM --bundle DIR --out DIR --mode isolated|chained [--cases FILE]

The program reads ``DIR/manifest.json``, runs the cases listed in FILE (one id per line; all
cases if the option is absent), writes ``OUT/<case>/<index>_<op>.npy`` for every step it ran and
``OUT/harness.json`` last (``conformance/schemas/harness-v1.schema.json``)::

    {"protocol": 1, "name": "my-port", "version": "0.3.0", "libraries": {"image": "0.25.10"},
     "cases": {"<case id>": {"steps": [{"index": 0, "status": "ok" | "unsupported" | "error"
                                        | "rejected" | "skipped", "message": "...",
                                        "call": "..."}],
                             "error": "set if the case as a whole failed"}}}

The program is a stranger, so its answer is data, checked before use:

- ``harness.json`` is read with a size bound and checked against the schema; each case entry is
  checked on its own, so a malformed entry is an ``error`` for that case and the rest are scored.
- Paths are never built from what the program says: an output is taken from
  ``OUT/<case>/<index>_<op>`` with the *bundle's* case id and op, only if it is a regular file
  (not a link) in a real directory, and moved into the results under the same names.
- Its stderr is drained as it is written, keeping a bounded tail in memory and a bounded part in
  ``RESULTS/logs/``; memory does not grow with what it prints.
- Each call runs in a process group of its own. Time counts from the call (not from the pipes
  closing: a detached grandchild holding stderr cannot stretch it), and when the call ends for
  any reason the whole group is killed. A :class:`~conformance.reaper.Reaper` kills the groups
  and removes the temporary folders even if the runner itself is SIGKILLed.

Isolation: the program is called on batches of cases. A batch that crashes, gives no or a bad
answer, or *stalls* (writes nothing under OUT for ``timeout`` seconds; the batch's whole budget
is ``timeout`` per case) is killed and each case of it without a record is run again *alone*
with its own ``timeout``, so a program that segfaults on one case or hangs on another costs
exactly those cases an ``error`` record each. A program that times out on
:data:`HANG_LIMIT` single cases in a row is declared hung: its remaining cases get no record
(a later ``run`` resumes them) and the run says so in one line, instead of costing
cases x timeout. Ctrl-C (``cancel``) stops every call within a fraction of a second.
"""

from __future__ import annotations

import json
import os
import select
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Callable

from ..results import output_rel
from ..safeio import NAME, UnsafeData, check_name, read_limited
from ..workers import signal_name

PROTOCOL_VERSION = 1
DEFAULT_BATCH = 64
STDERR_TAIL = 800  # characters of a failing program's stderr kept in the error message
STDERR_KEEP = 64 << 10  # bytes of stderr kept in memory per call (the tail)
STDERR_LOG = 256 << 10  # bytes of stderr per call written to RESULTS/logs/
ANSWER_LIMIT = 64 << 20  # bytes: the largest harness.json read
HANG_LIMIT = 3  # consecutive single-case timeouts after which a program is declared hung
POLL = 0.1  # seconds between checks of a running call (so Ctrl-C acts within about this)


@lru_cache(maxsize=1)
def answer_schema() -> dict:
    text = resources.files("conformance").joinpath("schemas/harness-v1.schema.json").read_text("utf-8")
    return json.loads(text)


def _schema_problem(doc: object, schema: dict) -> str | None:
    """The first way ``doc`` breaks ``schema`` (path: message), or None."""
    import jsonschema

    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(doc))
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "(root)"
    message = error.message if len(error.message) <= 300 else error.message[:297] + "..."
    return f"{where}: {message}"


def check_answer(doc: object) -> str | None:
    """Problem with a whole harness.json (its top level), or None."""
    top = answer_schema()
    return _schema_problem(doc, {k: v for k, v in top.items() if k != "$defs"})


def check_case_entry(entry: object) -> str | None:
    """Problem with one case entry of a harness.json, or None."""
    top = answer_schema()
    return _schema_problem(entry, {"$defs": top["$defs"], **top["$defs"]["case"]})


@dataclass
class Call:
    """What one invocation of the program came to."""

    answer: dict | None  # harness.json, checked at its top level
    problem: str  # why there is no answer ('' if there is)
    out: Path  # its OUT directory
    timed_out: bool = False


class HarnessHung(Exception):
    """The program timed out on :data:`HANG_LIMIT` cases in a row; the run stops using it."""


class ExternalHarness:
    """A harness program. ``name`` labels its results; ``command`` is the program and its args."""

    def __init__(self, name: str, command: str | list[str], *, timeout: float = 60.0,
                 batch: int = DEFAULT_BATCH):
        self.name = check_name(name, "harness name")
        self.command = shlex.split(command) if isinstance(command, str) else list(command)
        if not self.command:
            raise ValueError("external harness: empty command")
        self.timeout, self.batch = timeout, max(1, batch)
        self.identity: dict = {}  # name/version/libraries from the program's harness.json
        self.hung: str | None = None  # set when the program was declared hung
        self.cancel = threading.Event()  # set by Ctrl-C: every call stops at once
        self.reaper = None  # a conformance.reaper.Reaper, set by the runner
        self.scratch: Path | None = None  # where OUT folders are made (the runner's RESULTS/.tmp)
        self.log: Path | None = None  # where stderr is logged (RESULTS/logs/...)
        self._lock = threading.Lock()
        self._timeouts_in_a_row = 0

    @classmethod
    def parse(cls, spec: str, **kwargs) -> "ExternalHarness":
        """``NAME=COMMAND`` or just ``COMMAND`` (named ``external.<program file name>``)."""
        name, sep, command = spec.partition("=")
        if not sep or not NAME.match(name):
            command = spec
            words = shlex.split(spec)
            if not words:
                raise ValueError("external harness: empty command")
            stem = "".join(c if c.isalnum() or c in "._-" else "_" for c in Path(words[0]).stem)
            name = "external." + (stem.strip("._-") or "program")
        return cls(name, command, **kwargs)

    # -- one invocation ------------------------------------------------------------------------

    def _invoke(self, bundle: Path, mode: str, case_ids: list[str]) -> Call:
        """Run the program on ``case_ids`` under supervision (see the module docstring)."""
        scratch = self.scratch or Path(tempfile.gettempdir())
        scratch.mkdir(parents=True, exist_ok=True)
        out = Path(tempfile.mkdtemp(prefix="harness-out-", dir=scratch))
        if self.reaper:
            self.reaper.track_dir(out)
        cases_file = out / "cases.txt"
        cases_file.write_text("\n".join(case_ids) + "\n", "utf-8")
        argv = [*self.command, "--bundle", str(bundle), "--out", str(out), "--mode", mode,
                "--cases", str(cases_file)]
        single = len(case_ids) == 1
        budget = self.timeout * len(case_ids)
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, start_new_session=True, close_fds=True)
        except OSError as e:
            return Call(None, f"cannot start {argv[0]}: {e.strerror or e}", out)
        if self.reaper:
            self.reaper.track_group(proc.pid)
        tail, logged = bytearray(), bytearray()
        dropped = 0
        fd = proc.stderr.fileno()
        os.set_blocking(fd, False)
        start = last_progress = time.monotonic()
        progress_mark = None
        next_scan = start + 1.0
        why = ""
        try:
            while True:
                if fd >= 0:
                    readable = select.select([fd], [], [], POLL)[0]
                else:  # stderr closed early: just watch the clock and the process
                    time.sleep(POLL)
                    readable = []
                if readable:
                    try:
                        chunk = os.read(fd, 1 << 16)
                    except BlockingIOError:
                        chunk = None
                    if chunk:
                        room = STDERR_LOG - len(logged)
                        logged += chunk[:max(0, room)]
                        dropped += max(0, len(chunk) - max(0, room))
                        tail += chunk
                        del tail[:-STDERR_KEEP]
                    elif chunk == b"":
                        proc.stderr.close()
                        fd = -1
                if proc.poll() is not None:
                    break
                now = time.monotonic()
                if self.cancel.is_set():
                    why = "interrupted"
                    break
                if now - start > budget:
                    why = f"timed out after {budget:g} s (program killed)"
                    break
                if not single and now >= next_scan:  # a batch that writes nothing has stalled
                    next_scan = now + 1.0
                    mark = _progress_mark(out)
                    if mark != progress_mark:
                        progress_mark, last_progress = mark, now
                    elif now - last_progress > self.timeout:
                        why = (f"stalled: wrote nothing for {self.timeout:g} s (program killed; "
                               "its cases are retried one by one)")
                        break
        finally:
            _kill_group(proc)
            if self.reaper:
                self.reaper.untrack_group(proc.pid)
            if fd >= 0:
                proc.stderr.close()
        self._log_stderr(argv, case_ids, logged, dropped)
        text = tail.decode("utf-8", "replace")[-STDERR_TAIL:].strip()
        if why:
            return Call(None, why, out, timed_out=why.startswith(("timed out", "stalled")))
        if proc.returncode < 0:
            sig = signal_name(-proc.returncode)
            return Call(None, f"program crashed ({sig})" + (f": {text}" if text else ""), out)
        answer_path = out / "harness.json"
        try:
            doc = json.loads(read_limited(answer_path, ANSWER_LIMIT))
        except FileNotFoundError:
            return Call(None, (f"program exited with code {proc.returncode} without writing "
                               "harness.json" + (f": {text}" if text else "")), out)
        except (OSError, UnsafeData) as e:
            return Call(None, f"harness.json cannot be read: {getattr(e, 'strerror', None) or e}", out)
        except (ValueError, RecursionError) as e:  # JSONDecodeError, UnicodeDecodeError
            detail = "nested too deeply" if isinstance(e, RecursionError) else str(e)[:300]
            return Call(None, f"harness.json is not valid JSON: {detail}", out)
        problem = check_answer(doc)
        if problem:
            return Call(None, f"harness.json does not match the protocol at {problem}", out)
        return Call(doc, "", out)

    def _log_stderr(self, argv: list[str], case_ids: list[str], data: bytes, dropped: int) -> None:
        if self.log is None or not (data or dropped):
            return
        self.log.parent.mkdir(parents=True, exist_ok=True)
        head = f"== {shlex.join(argv[:1])} on {len(case_ids)} case(s), first {case_ids[0]}\n".encode()
        tail = f"\n[... {dropped:,} more bytes of stderr not kept]\n".encode() if dropped else b"\n"
        with self._lock, open(self.log, "ab") as f:
            f.write(head + bytes(data) + tail)

    def _import_case(self, doc: dict, case_id: str, ops: list[str], out: Path, dest: Path) -> dict | None:
        """Turn the program's answer for one case into our record; None if it gave none.

        ``ops`` are the ops of the case's pipeline steps, from the bundle: they, not the
        program's words, name the files."""
        entry = doc["cases"].get(case_id)
        if entry is None:
            return None
        problem = check_case_entry(entry)
        if problem:
            return {"case": case_id, "status": "error", "steps": [], "cause": "harness",
                    "error": f"harness.json: cases/{case_id}/{problem}"}
        if entry.get("error") and not entry.get("steps"):
            return {"case": case_id, "status": "error", "steps": [], "cause": "harness",
                    "error": entry["error"]}
        steps, seen = [], set()
        for s in entry.get("steps") or []:
            index, status = s["index"], s["status"]
            if index >= len(ops) or index in seen:
                what = "twice" if index in seen else f"but the pipeline has {len(ops)} step(s)"
                return {"case": case_id, "status": "error", "steps": [], "cause": "harness",
                        "error": f"harness.json: cases/{case_id}: step index {index} reported {what}"}
            seen.add(index)
            op = ops[index]
            rec = {"index": index, "op": op, "status": status, "message": s.get("message", "")}
            if s.get("call"):
                rec["call"] = s["call"]
            if "op" in s and s["op"] != op:
                rec.update(status="error", message=f"reported op {s['op']!r} for step {index}, "
                                                   f"which is {op!r} in the bundle")
            elif status == "ok":
                rel = output_rel(case_id, index, op)
                problem = _take_output(out, dest, case_id, index, op, rel)
                if problem:
                    rec.update(status="error", message=problem)
                else:
                    rec["output"] = rel
            steps.append(rec)
        if entry.get("error"):  # failed as a whole after some steps: keep both
            return {"case": case_id, "status": "error", "steps": steps, "cause": "harness",
                    "error": entry["error"]}
        return {"case": case_id, "status": "done", "steps": steps}

    # -- a whole run ---------------------------------------------------------------------------

    def run(self, bundle: Path, mode: str, case_ids: list[str], dest: Path, *, jobs: int = 1,
            on_record: Callable[[str, dict], None], ops: dict[str, list[str]]) -> None:
        """Run ``case_ids`` in batches (``jobs`` at a time); records go to ``on_record``.

        ``ops[case_id]`` lists the ops of that case's steps (from the bundle). Raises
        HarnessHung when the program is declared hung (cases not reached have no record)."""
        batches = [case_ids[i:i + self.batch] for i in range(0, len(case_ids), self.batch)]

        def error(cid: str, message: str, cause: str) -> None:
            on_record(cid, {"case": cid, "status": "error", "steps": [], "cause": cause, "error": message})

        def one_batch(ids: list[str]) -> None:
            if self.cancel.is_set() or self.hung:
                return
            call = self._invoke(bundle, mode, ids)
            missing = []
            try:
                for cid in ids:
                    try:
                        rec = self._import_case(call.answer, cid, ops[cid], call.out, dest) if call.answer else None
                    except Exception as e:  # noqa: BLE001 - one case's answer, not the run
                        rec = {"case": cid, "status": "error", "steps": [], "cause": "harness",
                               "error": f"cannot use the program's answer: {type(e).__name__}: {e}"}
                    if rec is None:
                        missing.append(cid)
                    else:
                        on_record(cid, rec)
                if call.answer and not self.identity:
                    self.identity = {k: call.answer.get(k) for k in ("name", "version", "libraries")}
            finally:
                shutil.rmtree(call.out, ignore_errors=True)
                if self.reaper:
                    self.reaper.untrack_dir(call.out)
            if self.cancel.is_set():
                return
            if len(ids) == 1:
                self._count_timeout(call.timed_out)
                for cid in missing:
                    cause = "timeout" if call.timed_out else "crash" if "crashed" in call.problem else "harness"
                    error(cid, call.problem or "harness.json has no entry for this case", cause)
                return
            for cid in missing:  # retry alone: find the case that breaks the batch
                one_batch([cid])

        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = [pool.submit(one_batch, b) for b in batches]
            try:
                done, _ = wait(futures, return_when=FIRST_EXCEPTION)
                for f in done:
                    f.result()
            except BaseException:
                self.cancel.set()  # Ctrl-C: every running call sees it within POLL seconds
                for f in futures:
                    f.cancel()
                raise
        if self.hung:
            raise HarnessHung(self.hung)

    def _count_timeout(self, timed_out: bool) -> None:
        with self._lock:
            self._timeouts_in_a_row = self._timeouts_in_a_row + 1 if timed_out else 0
            if self._timeouts_in_a_row >= HANG_LIMIT and not self.hung:
                self.hung = (f"harness {self.name} timed out on {HANG_LIMIT} cases in a row "
                             f"({self.timeout:g} s each): stopped; its remaining cases have no "
                             "record (fix the program, then run again to resume)")


def _progress_mark(out: Path) -> tuple[int, int]:
    """(number of entries, total bytes) under a call's OUT: changes while the program works."""
    n = size = 0
    for dirpath, dirnames, filenames in os.walk(out):
        n += len(dirnames) + len(filenames)
        for f in filenames:
            try:
                size += os.lstat(os.path.join(dirpath, f)).st_size
            except OSError:
                pass
    return n, size


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the program's whole process group (its children too), then reap the program."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        pass


def _take_output(out: Path, dest: Path, case_id: str, index: int, op: str, rel: str) -> str | None:
    """Move the program's output of one step into the results; a problem text, or None.

    The file must be ``OUT/<case>/<index>_<op>.npy`` exactly, a regular file, in a directory
    that is not a link: a link could make the runner move or the scorer read anything."""
    case_dir = out / case_id
    src = case_dir / f"{index}_{op}.npy"
    if case_dir.is_symlink() or not case_dir.is_dir():
        return f"reported ok but {case_id}/ is missing or a link"
    if src.is_symlink() or not src.is_file():
        return f"reported ok but {case_id}/{src.name} is missing, a link or not a regular file"
    target = dest / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(src), target)  # a rename: OUT lives in RESULTS/.tmp, on the same file system
    return None
