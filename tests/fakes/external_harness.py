#!/usr/bin/env python3
"""A fake external harness program speaking the harness protocol (docs/harness-protocol.md).

It "computes" every step by copying the bundle's expected output (a perfect port), except:
- on a case whose id is in FAKE_SEGFAULT_CASES it kills itself with SIGSEGV,
- on a case whose id is in FAKE_HANG_CASES it sleeps forever,
- steps with op "color" it reports unsupported.
Deliberately standalone: only numpy and the standard library, as a port in any language would be.
"""

import argparse
import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bundle", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--mode", choices=["isolated", "chained"], required=True)
    ap.add_argument("--cases")
    a = ap.parse_args()
    bundle, out = Path(a.bundle), Path(a.out)
    manifest = json.loads((bundle / "manifest.json").read_text())
    wanted = None
    if a.cases:
        wanted = {line.strip() for line in Path(a.cases).read_text().splitlines() if line.strip()}
    segv = set(filter(None, os.environ.get("FAKE_SEGFAULT_CASES", "").split(",")))
    hang = set(filter(None, os.environ.get("FAKE_HANG_CASES", "").split(",")))
    doc = {"protocol": 1, "name": "fake-port", "version": "0.0.1", "libraries": {"numpy": "any"},
           "cases": {}}
    for case in manifest["cases"]:
        if wanted is not None and case["id"] not in wanted:
            continue
        if case["id"] in segv:
            sys.stdout.flush()
            os.kill(os.getpid(), signal.SIGSEGV)
        if case["id"] in hang:
            time.sleep(3600)
        steps = []
        if case["expect"] == "error":
            steps.append({"index": 0, "op": "decode", "status": "rejected", "message": "bad file"})
        for s in case["steps"]:
            if s["op"] == "color":
                steps.append({"index": s["index"], "op": s["op"], "status": "unsupported",
                              "message": "fake-port has no colour conversion"})
                continue
            dest = out / case["id"] / f"{s['index']}_{s['op']}.npy"
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(bundle / s["output"], dest)
            steps.append({"index": s["index"], "op": s["op"], "status": "ok", "call": "copy"})
        doc["cases"][case["id"]] = {"steps": steps}
    (out / "harness.json").write_text(json.dumps(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
