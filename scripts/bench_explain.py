#!/usr/bin/env python
"""Measure ``conformance explain``: how often it reproduces real library outputs, and what it costs.

1. **Library outputs** (``vectors/default``, isolated mode): every built-in harness run on another
   library's resize and decode presets (pipelines ``resize.<family>.*`` and ``decode.<preset>``
   whose family is not the harness's own: opencv on ``pillow.*``, ``image.*``, ``onnx.*``; pillow
   on ``opencv.*`` ...). For each failing or xfail step (scored with
   ``vectors/known-divergences.toml``), :func:`conformance.investigate.explain.explain_step` is
   given the step's input, the harness's real output, the step's tolerance and the harness name.
   Counted per harness: *explained* (the best hypothesis reproduces the library output within the
   tolerance) and *own library named* (that hypothesis is a preset of the harness's own family, or
   knob values its presets set: ``opencv.*``/libjpeg-turbo for opencv, ``pillow.*`` for pillow,
   ``image.*`` for the Rust harnesses' decode, the ``fir.*`` library models for rust-fir's
   resize, ``onnx.*`` for onnxruntime and tract). The steps left unexplained are listed, grouped by
   pipeline family. The harnesses' failures on their *own* presets are counted apart.
2. **Cost at 224x224**: steps whose output is 224x224 (a photo decoded from a 224x224 JPEG,
   resized to 224x224 from the full-size photographs, normalised, laid out), run by the real
   harnesses (and some planted mistakes: channels reversed, CLIP mean/std, HWC for CHW, EXIF
   applied, a one-pixel crop offset), each differing step explained with the default 5 s budget:
   seconds per step (median, p95, max) and settings evaluated.

Results directory: ``--results DIR`` (a ``conformance run vectors/default --mode isolated`` or
``both`` directory), else the harnesses are run here into a temporary directory (about a
minute). Work is spread over ``--jobs`` processes (2 by default: the machine has 2 cores).

Usage: .venv/bin/python scripts/bench_explain.py [--results DIR] [--jobs 2] [--budget 5]
       [--json bench-results/explain.json] [--skip-library] [--skip-timing] [--limit N]
"""

from __future__ import annotations

import argparse
import collections
import io
import json
import os
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

BUNDLE = Path("vectors/default")
EXPECTATIONS = "vectors/known-divergences.toml"
#: (harness, op) -> the pipeline families that are its own library's (not cross-library cases);
#: rust-fir resizes with fast_image_resize (no preset family in the bundle) and decodes with image.
OWN = {("opencv", "*"): ("opencv",), ("pillow", "*"): ("pillow",), ("rust-image", "*"): ("image",),
       ("rust-cli", "*"): ("image",), ("rust-fir", "decode"): ("image",), ("rust-fir", "resize"): (),
       ("onnxruntime", "*"): ("onnx",), ("tract", "*"): ("onnx",)}


def own_families(harness: str, op: str) -> tuple[str, ...]:
    return OWN.get((harness, op), OWN.get((harness, "*"), ()))
DECODE_PRESETS = ("decode.pillow", "decode.opencv", "decode.opencv.gray", "decode.image")


def pipeline_family(pid: str) -> str | None:
    """``resize.pillow.bilinear.down23x31`` -> ``pillow``; ``decode.opencv.gray`` -> ``opencv``;
    None for the knob pipelines (decode.jpeg.*, e2e.*, ...)."""
    parts = pid.split(".")
    if parts[0] == "resize" and len(parts) > 2:
        return parts[1]
    if pid in DECODE_PRESETS:
        return parts[1]
    return None


# -- part 1: library outputs ----------------------------------------------------------------------

_BUNDLE = None


def _explain_job(args: tuple) -> dict:
    """One step job, in a worker process (the bundle opened once per process)."""
    global _BUNDLE
    from conformance.bundle import Bundle
    from conformance.errors import ConformanceError
    from conformance.investigate.explain import explain_step
    from conformance.investigate.explain_runs import StepJob

    results, row, budget = args
    if _BUNDLE is None:
        _BUNDLE = Bundle(BUNDLE, validate_schema=False)
    case = _BUNDLE.case(row["case"])
    job = StepJob(Path(results), _BUNDLE, row["harness"], row["mode"], case,
                  _BUNDLE.pipelines[case["pipeline"]], row["index"], row["op"], row["verdict"],
                  row["call"], row["tolerance"], row["output"], row["previous_output"])
    t = time.perf_counter()
    try:
        e = explain_step(job.pipeline, job.index, job.step_input(), job.observed(),
                         tolerance=job.tolerance, harness=job.harness, budget_seconds=budget,
                         call=job.call)
    except ConformanceError as err:
        return {**row, "error": str(err), "explained": False, "own": False, "own_any": False,
                "seconds": time.perf_counter() - t}
    best = e.hypotheses[0] if e.hypotheses else None
    own_any = e.explained and any(h.library and h.max_abs <= e.tolerance for h in e.hypotheses)
    return {**row, "explained": e.explained, "own": bool(e.explained and best and best.library),
            "own_any": bool(own_any),
            "best": best.label() if best else None, "max_abs": best.max_abs if best else None,
            "sentence": e.sentence, "seconds": e.seconds, "evaluated": e.evaluated,
            "budget_exhausted": e.budget_exhausted}


def library_rates(results: Path, jobs: int, budget: float, limit: int | None) -> dict:
    from conformance.investigate.explain_runs import failing_steps

    t = time.perf_counter()
    steps = failing_steps(results, mode="isolated", expectations=[EXPECTATIONS])
    print(f"scored {results}: {len(steps)} failing/xfail steps ({time.perf_counter() - t:.0f} s)")
    rows = []
    for s in steps:
        fam = pipeline_family(s.case["pipeline"])
        if fam is None or s.op not in ("resize", "decode"):
            continue
        own = fam in own_families(s.harness, s.op)
        rows.append({"harness": s.harness, "mode": s.mode, "case": s.case["id"], "pipeline": s.case["pipeline"],
                     "family": fam, "own_preset": own, "index": s.index, "op": s.op, "verdict": s.verdict,
                     "call": s.call, "tolerance": s.tolerance, "output": s.output,
                     "previous_output": s.previous_output})
    if limit:
        rows = rows[:limit]
    t = time.perf_counter()
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        done = list(pool.map(_explain_job, [(str(results), r, budget) for r in rows], chunksize=8))
    print(f"explained {len(done)} steps in {time.perf_counter() - t:.0f} s ({jobs} processes)")
    return summarise(done)


def summarise(done: list[dict]) -> dict:
    per: dict = collections.defaultdict(lambda: {"steps": 0, "explained": 0, "own": 0, "own_any": 0})
    unexplained: dict = collections.defaultdict(list)
    not_own: dict = collections.defaultdict(list)
    for r in done:
        key = (r["harness"], "own presets" if r["own_preset"] else "other libraries")
        per[key]["steps"] += 1
        per[key]["explained"] += r["explained"]
        per[key]["own"] += r["own"]
        per[key]["own_any"] += r["own_any"]
        group = ".".join(r["pipeline"].split(".")[:3])
        if not r["explained"]:
            unexplained[(r["harness"], group)].append(r)
        elif not r["own"] and not r["own_preset"]:
            not_own[(r["harness"], group)].append(r)
    print()
    print("explained: the best hypothesis reproduces the library output within the step's tolerance;\n"
          "own best: that hypothesis is the harness's own library (its presets or their knob values);\n"
          "own named: the explanation names the own library within the tolerance (best, or 'within the\n"
          "tolerance too' when another setting is closer)\n")
    print(f"{'harness':12s} {'cases':16s} {'steps':>6s} {'explained':>10s} {'rate':>7s} {'own best':>9s} "
          f"{'rate':>7s} {'own named':>10s} {'rate':>7s}")
    table = []
    for (h, kind), v in sorted(per.items()):
        rate, own, own_any = (v[k] / v["steps"] for k in ("explained", "own", "own_any"))
        table.append({"harness": h, "cases": kind, **v, "explained_rate": rate, "own_rate": own,
                      "own_named_rate": own_any})
        print(f"{h:12s} {kind:16s} {v['steps']:6d} {v['explained']:10d} {100 * rate:6.1f}% {v['own']:9d} "
              f"{100 * own:6.1f}% {v['own_any']:10d} {100 * own_any:6.1f}%")
    print("\nunexplained (harness, pipeline family: steps, example best residual):")
    listing = []
    for (h, g), rs in sorted(unexplained.items()):
        worst = max((r.get("max_abs") or 0) for r in rs)
        ex = rs[0]
        print(f"  {h:12s} {g:36s} {len(rs):4d}  e.g. {ex['case']} step {ex['index']}: best {ex.get('best')} "
              f"(max abs {ex.get('max_abs')}); worst best residual {worst}")
        listing.append({"harness": h, "group": g, "steps": len(rs), "example": ex["case"],
                        "example_best": ex.get("best"), "example_sentence": ex.get("sentence") or ex.get("error")})
    if not_own:
        print("\nexplained, but not by the harness's own library:")
        for (h, g), rs in sorted(not_own.items()):
            print(f"  {h:12s} {g:36s} {len(rs):4d}  e.g. {rs[0]['best']}")
    secs = [r["seconds"] for r in done]
    print(f"\nseconds per step (these small images): median {statistics.median(secs):.3f}, "
          f"p95 {np.percentile(secs, 95):.3f}, max {max(secs):.3f}; budget exhausted on "
          f"{sum(bool(r.get('budget_exhausted')) for r in done)} steps")
    return {"per_harness": table, "unexplained": listing,
            "not_own": [{"harness": h, "group": g, "steps": len(rs), "example": rs[0]["best"]}
                        for (h, g), rs in sorted(not_own.items())],
            "seconds": {"median": statistics.median(secs), "p95": float(np.percentile(secs, 95)), "max": max(secs)}}


def run_harnesses(out: Path, jobs: int) -> Path:
    from conformance.runner import run_bundle

    t = time.perf_counter()
    run_bundle(BUNDLE, out, harnesses=["all"], modes=("isolated",), jobs=jobs)
    print(f"ran every harness on {BUNDLE} (isolated) in {time.perf_counter() - t:.0f} s")
    return out


# -- part 2: cost at 224x224 ------------------------------------------------------------------------

def _jpeg(a: np.ndarray, orientation: int = 1) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(a).save(buf, "JPEG", quality=90, subsampling=2,
                            exif=exif.tobytes() if orientation != 1 else b"")
    return buf.getvalue()


def timing_cases() -> list[tuple[str, object, int, object, np.ndarray, float, str | None]]:
    """(label, pipeline, index, step input, observed, tolerance, harness) with 224x224 outputs."""
    from conformance.corpus import photo
    from conformance.harnesses import HarnessUnavailable, load
    from conformance.reference.pipeline import run_pipeline, run_step
    from conformance.spec import pipeline_from_dict, replace
    from conformance.tolerances import step_tolerance

    harnesses = {}
    for name in ("opencv", "pillow", "rust-image", "rust-fir", "onnxruntime"):
        try:
            harnesses[name] = load(name)
        except HarnessUnavailable:
            pass
    photos = {n: photo(n, 1) for n in ("astronaut", "chelsea", "coffee")}
    cases = []

    def add(label, pipeline, index, value, observed, harness):
        ref = run_step(pipeline.steps[index], value)
        tol = step_tolerance(pipeline.tolerances, index, pipeline.steps[index].op, ref.dtype.name)["max_abs"]
        if observed.shape == ref.shape and np.abs(observed.astype(np.float64) - ref).max() <= tol:
            return  # passes: nothing to explain
        cases.append((label, pipeline, index, value, observed, float(tol), harness))

    # decode of 224x224 JPEGs (zune-jpeg vs libjpeg-turbo; EXIF applied vs ignored)
    for name, a in photos.items():
        h, w = a.shape[:2]
        tile = np.ascontiguousarray(a[(h - 224) // 2:(h - 224) // 2 + 224, (w - 224) // 2:(w - 224) // 2 + 224])
        for preset in ("pillow", "opencv"):
            p = pipeline_from_dict({"id": f"t.decode.{preset}", "steps": [{"op": "decode", "preset": preset}]})
            data = _jpeg(tile)
            for hn in ("rust-image", "opencv", "pillow"):
                if hn in harnesses:
                    add(f"decode.{preset} {hn}", p, 0, data, harnesses[hn].run(p.steps[0].knobs(), data), hn)
        p = pipeline_from_dict({"id": "t.decode.exif", "steps": [{"op": "decode", "preset": "pillow"}]})
        data = _jpeg(np.ascontiguousarray(np.rot90(tile)), orientation=6)
        add("decode exif applied (planted)", p, 0, data,
            run_step(pipeline_from_dict({"id": "x", "steps": [{"op": "decode", "preset": "pillow",
                                                               "orientation": "apply"}]}).steps[0], data), None)
    # resize to 224x224 from the full-size photos, every harness on other libraries' presets
    for name, a in photos.items():
        for preset in ("pillow.bilinear", "pillow.bicubic", "pillow.lanczos", "opencv.linear", "opencv.area",
                       "opencv.cubic", "image.triangle", "image.lanczos3", "onnx.linear.half_pixel"):
            p = pipeline_from_dict({"id": "t.resize", "steps": [
                {"op": "decode", "preset": "pillow"},
                {"op": "resize", "preset": preset, "height": 224, "width": 224}]})
            for hn, harness in harnesses.items():
                step = p.steps[1].knobs()
                if harness.check(step) is None:
                    add(f"resize {preset} {hn}", p, 1, a, harness.run(step, a), hn)
    # normalize / layout / crop at 224 with planted mistakes
    tv = pipeline_from_dict({"id": "t.torchvision", "steps": [
        {"op": "decode", "preset": "pillow"},
        {"op": "resize", "preset": "pillow.bilinear", "shorter_side": 256, "size_rounding": "floor"},
        {"op": "crop", "mode": "center", "height": 224, "width": 224, "offset_rounding": "round"},
        {"op": "normalize", "preset": "torchvision.imagenet"}, {"op": "layout", "layout": "chw", "batch": True}]})
    for name, a in photos.items():
        outs = run_pipeline(pipeline_from_dict({"id": "x", "steps": [
            {"op": "resize", **{k: v for k, v in tv.steps[1].knobs().items() if k not in ("op",)}}]}), a)
        resized = outs[-1]
        crop = run_step(tv.steps[2], resized)
        norm = run_step(tv.steps[3], crop)
        top, left = (resized.shape[0] - 224 + 1) // 2, (resized.shape[1] - 224 + 1) // 2
        moved = replace(tv.steps[2], mode="box", top=top, left=left + 1)
        add("crop offset +1 (planted)", tv, 2, resized, run_step(moved, resized), None)
        add("normalize channels reversed (planted)", tv, 3, crop, norm[..., ::-1].copy(), None)
        clip = pipeline_from_dict({"id": "x", "steps": [{"op": "normalize", "preset": "torchvision.imagenet",
                                                         "mean": [0.48145466, 0.4578275, 0.40821073],
                                                         "std": [0.26862954, 0.26130258, 0.27577711]}]}).steps[0]
        add("normalize CLIP mean/std (planted)", tv, 3, crop, run_step(clip, crop), None)
        add("layout HWC for CHW (planted)", tv, 4, norm, norm[None].copy(), None)
        for hn in ("opencv", "rust-image"):
            if hn in harnesses:
                add(f"normalize {hn}", tv, 3, crop, harnesses[hn].run(tv.steps[3].knobs(), crop), hn)
        # the worst case: nothing explains it (noise of +-3 levels), so the pairs run to the end
        noisy = (crop.astype(np.int16) + np.random.default_rng(0).integers(-3, 4, crop.shape)).clip(0, 255)
        add("unexplainable crop (noise, planted)", tv, 2, resized, noisy.astype(np.uint8), None)
        p = pipeline_from_dict({"id": "t.noise", "steps": [
            {"op": "decode", "preset": "pillow"}, {"op": "resize", "preset": "pillow.bilinear", "height": 224,
                                                   "width": 224}]})
        ref = run_step(p.steps[1], a)
        noisy = (ref.astype(np.int16) + np.random.default_rng(1).integers(-3, 4, ref.shape)).clip(0, 255)
        add("unexplainable resize (noise, planted)", p, 1, a, noisy.astype(np.uint8), None)
    return cases


def timing(budget: float) -> dict:
    from conformance.investigate.explain import explain_step

    cases = timing_cases()
    rows = []
    for label, pipeline, index, value, observed, tol, harness in cases:
        e = explain_step(pipeline, index, value, observed, tolerance=tol, harness=harness, budget_seconds=budget)
        rows.append({"label": label, "seconds": e.seconds, "evaluated": e.evaluated, "explained": e.explained,
                     "budget_exhausted": e.budget_exhausted, "best": e.hypotheses[0].label() if e.hypotheses else None})
    secs = [r["seconds"] for r in rows]
    evals = [r["evaluated"] for r in rows]
    print(f"\n224x224 steps: {len(rows)} explained with budget {budget:g} s; seconds per step median "
          f"{statistics.median(secs):.2f}, p95 {np.percentile(secs, 95):.2f}, max {max(secs):.2f}; "
          f"settings evaluated median {statistics.median(evals):.0f}, max {max(evals)}; explained "
          f"{sum(r['explained'] for r in rows)}/{len(rows)}, budget exhausted on "
          f"{sum(r['budget_exhausted'] for r in rows)}")
    by_label = collections.defaultdict(list)
    for r in rows:
        by_label[r["label"].split(" (")[0].rsplit(" ", 1)[0] if "planted" not in r["label"] else r["label"]].append(r)
    for label, rs in sorted(by_label.items()):
        s = [r["seconds"] for r in rs]
        print(f"  {label:42s} {len(rs):3d} steps  median {statistics.median(s):5.2f} s  max {max(s):5.2f} s  "
              f"explained {sum(r['explained'] for r in rs)}/{len(rs)}")
    return {"steps": rows, "seconds": {"median": statistics.median(secs), "p95": float(np.percentile(secs, 95)),
                                       "max": max(secs)},
            "evaluated": {"median": statistics.median(evals), "max": max(evals)}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--results", type=Path, help="results of `conformance run vectors/default` (isolated)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--budget", type=float, default=5.0)
    ap.add_argument("--limit", type=int, help="explain only the first N library steps (a quick look)")
    ap.add_argument("--json", type=Path, default=Path("bench-results/explain.json"))
    ap.add_argument("--skip-library", action="store_true")
    ap.add_argument("--skip-timing", action="store_true")
    args = ap.parse_args()
    os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(".venv/numba-cache").resolve()))
    report: dict = {"budget_seconds": args.budget}
    if not args.skip_library:
        if args.results is None:
            with tempfile.TemporaryDirectory(prefix="bench-explain-") as tmp:
                results = run_harnesses(Path(tmp) / "results", args.jobs)
                report["library"] = library_rates(results, args.jobs, args.budget, args.limit)
        else:
            report["library"] = library_rates(args.results, args.jobs, args.budget, args.limit)
    if not args.skip_timing:
        report["timing_224"] = timing(args.budget)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1, default=str) + "\n")
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
