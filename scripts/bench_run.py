#!/usr/bin/env python
"""Wall time of the main job's work: every built-in harness on a bundle in both modes, then the
score, measured on this machine (the issue's goal: <= 60 s for vectors/default on 2 cores).

Usage: .venv/bin/python scripts/bench_run.py [--bundle vectors/default] [--jobs 2]
                                             [--out bench-results/run.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

from conformance.bundle import Bundle
from conformance.runner import run_bundle
from conformance.score import score_results

GOAL_SECONDS = 60.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle", default="vectors/default")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--out", default=None, help="write the figures as JSON here")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-run-"))
    try:
        cases = len(Bundle(args.bundle).cases)
        t0 = time.perf_counter()
        summary = run_bundle(Path(args.bundle), work / "res", harnesses=["all"], jobs=args.jobs)
        t1 = time.perf_counter()
        scores = score_results(work / "res")
        t2 = time.perf_counter()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    figures = {"bundle": args.bundle, "cases": cases, "harnesses": sorted(scores.harnesses),
               "modes": scores.modes, "case_runs": summary.ran, "jobs": args.jobs,
               "run_seconds": round(t1 - t0, 2), "score_seconds": round(t2 - t1, 2),
               "total_seconds": round(t2 - t0, 2), "goal_seconds": GOAL_SECONDS,
               "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
               "step_verdicts": scores.counts()}
    print(json.dumps(figures, indent=1))
    print(f"run {figures['run_seconds']} s + score {figures['score_seconds']} s = "
          f"{figures['total_seconds']} s for {summary.ran} case runs "
          f"({'within' if figures['total_seconds'] <= GOAL_SECONDS else 'OVER'} the {GOAL_SECONDS:g} s goal)")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(figures, indent=1) + "\n")


if __name__ == "__main__":
    main()
