#!/usr/bin/env python
"""Benchmark the reference against OpenCV, measured in the same run, reported as ratios.

- resize: a 1-megapixel photo (scikit-image's astronaut, 2x Lanczos-upscaled to 1024x1024) to
  224x224 with every resize preset, versus cv2.resize INTER_AREA on the same image;
- PNG decode of the same photo (cv2.imencode's PNG), versus cv2.imdecode(IMREAD_UNCHANGED).

Times are the best of --repeat runs after one warm-up (numba compilation excluded).
Usage: .venv/bin/python scripts/bench_reference.py [--repeat 5] [--out bench-results/reference.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from rich.console import Console
from rich.table import Table

from conformance.corpus import photo
from conformance.presets import RESIZE_PRESETS
from conformance.reference.decode import decode_image
from conformance.reference.resize import resize
from conformance.spec import make_step

RESIZE_GOAL = 10.0
DECODE_GOAL = 10.0


def best_time(fn, repeat: int) -> float:
    fn()  # warm-up: numba compilation, caches
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def one_megapixel_photo() -> np.ndarray:
    src = photo("astronaut", reduce=1)
    return np.asarray(Image.fromarray(src).resize((1024, 1024), Image.Resampling.LANCZOS))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out", type=Path, default=Path("bench-results/reference.json"))
    ap.add_argument("--presets", default="", help="comma-separated subset of resize presets")
    args = ap.parse_args()
    img = one_megapixel_photo()
    rows = []
    cv_area = best_time(lambda: cv2.resize(img, (224, 224), interpolation=cv2.INTER_AREA), args.repeat)
    presets = [p for p in list(RESIZE_PRESETS) + ["onnx.linear", "onnx.cubic", "onnx.linear.half_pixel.antialias"]
               if not args.presets or p in args.presets.split(",")]
    for name in presets:
        step = make_step({"op": "resize", "preset": name, "height": 224, "width": 224})
        t = best_time(lambda: resize(img, step), args.repeat)
        rows.append({"op": "resize 1024² -> 224²", "variant": name, "reference_s": t,
                     "opencv_s": cv_area, "opencv_call": "cv2.resize INTER_AREA", "ratio": t / cv_area,
                     "goal": RESIZE_GOAL})
    ok, png = cv2.imencode(".png", img[..., ::-1])
    data = png.tobytes()
    dstep = make_step({"op": "decode", "output": "unchanged", "orientation": "ignore"})
    t_ref = best_time(lambda: decode_image(data, dstep, source="bench.png"), args.repeat)
    t_cv = best_time(lambda: cv2.imdecode(png, cv2.IMREAD_UNCHANGED), args.repeat)
    rows.append({"op": "PNG decode 1024² RGB", "variant": f"{len(data)} bytes", "reference_s": t_ref,
                 "opencv_s": t_cv, "opencv_call": "cv2.imdecode IMREAD_UNCHANGED", "ratio": t_ref / t_cv,
                 "goal": DECODE_GOAL})
    table = Table(title="reference vs OpenCV (same run, best of %d)" % args.repeat)
    for col in ("op", "variant", "reference ms", "opencv ms", "ratio", "goal"):
        table.add_column(col)
    for r in rows:
        style = "green" if r["ratio"] <= r["goal"] else "red"
        table.add_row(r["op"], r["variant"], f"{r['reference_s'] * 1e3:.1f}", f"{r['opencv_s'] * 1e3:.2f}",
                      f"[{style}]{r['ratio']:.1f}x[/]", f"<= {r['goal']:.0f}x")
    Console(width=110).print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": platform.platform(), "cpus": __import__("os").cpu_count(),
                                    "numpy": np.__version__, "opencv": cv2.__version__, "rows": rows}, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
