"""The ``external`` harness: any program that speaks the harness protocol, run as a subprocess.

Protocol (``docs/harness-protocol.md`` is the porter's version of this)::

    PROGRAM --bundle DIR --out DIR --mode isolated|chained [--cases FILE]

The program reads ``DIR/manifest.json``, runs the cases listed in FILE (one id per line; all
cases if the option is absent), writes ``OUT/<case>/<index>_<op>.npy`` for every step it ran and
``OUT/harness.json`` last::

    {"protocol": 1, "name": "my-port", "version": "0.3.0", "libraries": {"image": "0.25.10"},
     "cases": {"<case id>": {"steps": [{"index": 0, "status": "ok" | "unsupported" | "error"
                                        | "rejected" | "skipped", "message": "...",
                                        "call": "..."}],
                             "error": "set if the case as a whole failed"}}}

Isolation: we call the program on batches of cases, each with a time budget of ``timeout`` per
case. If a batch does not finish cleanly (crash, hang, bad harness.json), every case of it that
has no record is run again *alone* with its own timeout, so a program that segfaults on one case
or hangs on another costs exactly those cases an ``error`` record each.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

from ..results import output_rel
from ..workers import signal_name

PROTOCOL_VERSION = 1
STATUSES = ("ok", "unsupported", "error", "rejected", "skipped")
DEFAULT_BATCH = 64
STDERR_TAIL = 800  # characters of a failing program's stderr kept in the error message


class ExternalHarness:
    """A harness program. ``name`` labels its results; ``command`` is the program and its args."""

    def __init__(self, name: str, command: str | list[str], *, timeout: float = 60.0,
                 batch: int = DEFAULT_BATCH):
        self.name = name
        self.command = shlex.split(command) if isinstance(command, str) else list(command)
        if not self.command:
            raise ValueError("external harness: empty command")
        self.timeout, self.batch = timeout, max(1, batch)
        self.identity: dict = {}  # name/version/libraries from the program's harness.json

    @classmethod
    def parse(cls, spec: str, **kwargs) -> "ExternalHarness":
        """``NAME=COMMAND`` or just ``COMMAND`` (named after the program's file name)."""
        name, sep, command = spec.partition("=")
        if not sep or " " in name or not name:
            command = spec
            name = "external:" + Path(shlex.split(spec)[0]).stem
        return cls(name, command, **kwargs)

    # -- one invocation ------------------------------------------------------------------------

    def _invoke(self, bundle: Path, mode: str, case_ids: list[str]) -> tuple[dict | None, str, Path]:
        """Run the program on ``case_ids``; (harness.json or None, problem text, its out dir)."""
        out = Path(tempfile.mkdtemp(prefix="harness-out-"))
        cases_file = out / "cases.txt"
        cases_file.write_text("\n".join(case_ids) + "\n", "utf-8")
        argv = [*self.command, "--bundle", str(bundle), "--out", str(out), "--mode", mode,
                "--cases", str(cases_file)]
        budget = self.timeout * len(case_ids)
        try:
            proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                    start_new_session=True)
        except OSError as e:
            return None, f"cannot start {argv[0]}: {e.strerror}", out
        try:
            _, err = proc.communicate(timeout=budget)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            return None, f"timed out after {budget:g} s (program killed)", out
        tail = err.decode("utf-8", "replace")[-STDERR_TAIL:].strip()
        if proc.returncode < 0:
            sig = signal_name(-proc.returncode)
            return None, f"program crashed ({sig})" + (f": {tail}" if tail else ""), out
        try:
            doc = json.loads((out / "harness.json").read_text("utf-8"))
        except FileNotFoundError:
            return None, (f"program exited with code {proc.returncode} without writing "
                          "harness.json" + (f": {tail}" if tail else "")), out
        except (OSError, json.JSONDecodeError, UnicodeDecodeError) as e:
            return None, f"harness.json is not valid JSON: {e}", out
        if not isinstance(doc, dict) or not isinstance(doc.get("cases"), dict):
            return None, "harness.json has no 'cases' object", out
        return doc, "", out

    def _import_case(self, doc: dict, case_id: str, out: Path, dest: Path) -> dict | None:
        """Turn the program's answer for one case into our record; None if it gave none."""
        entry = doc["cases"].get(case_id)
        if not isinstance(entry, dict):
            return None
        if entry.get("error") and not entry.get("steps"):
            return {"case": case_id, "status": "error", "steps": [], "error": str(entry["error"])}
        steps = []
        for s in entry.get("steps") or []:
            if not isinstance(s, dict) or not isinstance(s.get("index"), int):
                return {"case": case_id, "status": "error", "steps": [],
                        "error": f"harness.json: malformed step entry {s!r}"}
            status = s.get("status")
            rec = {"index": s["index"], "op": str(s.get("op", "")),
                   "status": status if status in STATUSES else "error",
                   "message": str(s.get("message", "")) if status in STATUSES
                   else f"unknown status {status!r}"}
            if s.get("call"):
                rec["call"] = str(s["call"])
            if rec["status"] == "ok":
                found = sorted((out / case_id).glob(f"{s['index']}_*.npy")) if (out / case_id).is_dir() else []
                if not found:
                    rec.update(status="error", message="reported ok but wrote no .npy file")
                else:
                    rec["op"] = rec["op"] or found[0].stem.split("_", 1)[1]
                    rel = output_rel(case_id, s["index"], rec["op"])
                    (dest / rel).parent.mkdir(parents=True, exist_ok=True)
                    shutil.move(str(found[0]), dest / rel)
                    rec["output"] = rel
            steps.append(rec)
        if entry.get("error"):  # failed as a whole after some steps: keep both
            return {"case": case_id, "status": "error", "steps": steps, "error": str(entry["error"])}
        return {"case": case_id, "status": "done", "steps": steps}

    # -- a whole run ---------------------------------------------------------------------------

    def run(self, bundle: Path, mode: str, case_ids: list[str], dest: Path, *, jobs: int = 1,
            on_record: Callable[[str, dict], None]) -> None:
        """Run ``case_ids`` in batches (``jobs`` at a time); records go to ``on_record``."""
        batches = [case_ids[i:i + self.batch] for i in range(0, len(case_ids), self.batch)]

        def one_batch(ids: list[str]) -> None:
            doc, problem, out = self._invoke(bundle, mode, ids)
            try:
                missing = []
                for cid in ids:
                    rec = self._import_case(doc, cid, out, dest) if doc else None
                    if rec is None:
                        missing.append(cid)
                    else:
                        on_record(cid, rec)
                if doc and not self.identity:
                    self.identity = {k: doc.get(k) for k in ("name", "version", "libraries")}
            finally:
                shutil.rmtree(out, ignore_errors=True)
            if len(ids) == 1:
                for cid in missing:
                    on_record(cid, {"case": cid, "status": "error", "steps": [],
                                    "error": problem or "harness.json has no entry for this case"})
                return
            for cid in missing:  # retry alone: find the case that breaks the batch
                one_batch([cid])

        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            list(pool.map(one_batch, batches))
