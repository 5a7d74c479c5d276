#!/usr/bin/env python3
"""A harness program that misbehaves on purpose, one way per run, chosen by $HOSTILE.

It speaks the harness protocol (docs/harness-protocol.md) like tests/fakes/external_harness.py,
copying the bundle's expected outputs (a perfect port), and then, on the cases listed in
$HOSTILE_CASES (all cases when unset), does what $HOSTILE says:

  op_traversal     reports op '../../../escaped' for an ok step (and writes that file, too)
  steps_int        "steps": 5
  op_nul           an op with a NUL byte
  status_weird     an unknown status
  index_out        a step index past the pipeline's end
  stderr_flood     writes $HOSTILE_MB MiB to stderr, then answers
  grandchild       leaves a detached grandchild (own session) holding stderr, then answers
  fork_children    starts 20 children in its process group that sleep, then answers
  close_pipes      closes stdout and stderr first, then answers
  hang             sleeps forever on every listed case (writes its pid to $HOSTILE_PIDS)
  symlink_output   writes each output as a symlink to $HOSTILE_TARGET
  symlink_casedir  makes OUT/<case> a symlink to $HOSTILE_TARGET (a directory)
  nested_json      harness.json of 200,000 nested '['
  huge_json        a 70 MB harness.json
  npy_bomb         outputs whose .npy header claims 10^12 elements
  complex_output   outputs of dtype complex64
Pids of itself and its children go to $HOSTILE_PIDS (one per line) when set.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path


def note_pid(pid: int) -> None:
    if os.environ.get("HOSTILE_PIDS"):
        with open(os.environ["HOSTILE_PIDS"], "a") as f:
            f.write(f"{pid}\n")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bundle", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--mode", required=True)
    ap.add_argument("--cases")
    a = ap.parse_args()
    how = os.environ.get("HOSTILE", "")
    note_pid(os.getpid())
    bundle, out = Path(a.bundle), Path(a.out)
    manifest = json.loads((bundle / "manifest.json").read_text())
    wanted = None
    if a.cases:
        wanted = {line.strip() for line in Path(a.cases).read_text().splitlines() if line.strip()}
    targets = set(filter(None, os.environ.get("HOSTILE_CASES", "").split(",")))
    if how == "close_pipes":
        os.close(1)
        os.close(2)
    if how == "stderr_flood":
        chunk = b"x" * (1 << 20)
        for _ in range(int(os.environ.get("HOSTILE_MB", "1024"))):
            os.write(2, chunk)
    if how == "grandchild":
        p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
        note_pid(p.pid)
    if how == "fork_children":
        for _ in range(20):
            note_pid(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"]).pid)
    doc = {"protocol": 1, "name": "hostile", "version": "0", "cases": {}}
    for case in manifest["cases"]:
        cid = case["id"]
        if wanted is not None and cid not in wanted:
            continue
        hit = not targets or cid in targets
        if hit and how == "hang":
            time.sleep(3600)
        steps = []
        if case["expect"] == "error":
            steps.append({"index": 0, "op": "decode", "status": "rejected", "message": "bad file"})
        for s in case["steps"]:
            dest = out / cid / f"{s['index']}_{s['op']}.npy"
            dest.parent.mkdir(parents=True, exist_ok=True)
            op = s["op"]
            if hit and how == "symlink_casedir":
                shutil.rmtree(out / cid)
                os.symlink(os.environ["HOSTILE_TARGET"], out / cid)
                dest = out / cid / f"{s['index']}_{s['op']}.npy"
            if hit and how == "symlink_output":
                os.symlink(os.environ["HOSTILE_TARGET"], dest)
            elif hit and how == "npy_bomb":
                header = "{'descr': '|u1', 'fortran_order': False, 'shape': (1000000, 1000000), }"
                header += " " * (117 - len(header)) + "\n"
                dest.write_bytes(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little")
                                 + header.encode() + b"\x00" * 64)
            elif hit and how == "complex_output":
                import numpy as np
                arr = np.load(bundle / s["output"], allow_pickle=False)
                np.save(dest, arr.astype(np.complex64))
            elif not (hit and how == "symlink_casedir" and (out / cid).is_symlink()):
                shutil.copyfile(bundle / s["output"], dest)
            if hit and how == "op_traversal":
                op = "../../../escaped"
                (out / cid / f"{s['index']}_{op}.npy").parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(bundle / s["output"], out / cid / f"{s['index']}_{op}.npy")
            if hit and how == "op_nul":
                op = "resize\x00evil"
            step = {"index": s["index"], "op": op, "status": "ok", "call": "copy"}
            if hit and how == "status_weird":
                step["status"] = "pwned"
            if hit and how == "index_out":
                step["index"] = 99
            steps.append(step)
        doc["cases"][cid] = {"steps": 5} if hit and how == "steps_int" else {"steps": steps}
    answer = out / "harness.json"
    if how == "nested_json":
        answer.write_text("[" * 200_000)
    elif how == "huge_json":
        with answer.open("w") as f:
            f.write('{"cases": {}, "pad": "')
            f.write("y" * (70 << 20))
            f.write('"}')
    else:
        answer.write_text(json.dumps(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
