#!/usr/bin/env python
"""Benchmark the reference against OpenCV, measured in the same run, reported as ratios.

- resize: a 1-megapixel photo (scikit-image's astronaut, 2x Lanczos-upscaled to 1024x1024) to
  224x224 with every resize preset, versus cv2.resize INTER_AREA on the same image;
- PNG decode of the same photo (cv2.imencode's PNG), versus cv2.imdecode(IMREAD_UNCHANGED);
- JPEG decode of the same photo saved by Pillow at quality 90, 4:2:0, versus libjpeg-turbo
  through Pillow (``Image.open(f).convert('RGB')``), whole and per phase: entropy decoding
  (``read_jpeg``: markers + Huffman, numba), IDCT (islow, every component), upsampling (fancy),
  colour conversion (libjpeg fixed-point YCbCr -> RGB); each phase's ratio is its time over
  Pillow's whole decode;
- WebP decode of the same photo (Pillow's encoder: lossy q90, lossless), versus libwebp through
  Pillow (``Image.open(f).convert('RGB')``).

Times are the best of --repeat runs after one warm-up (numba compilation excluded).
Usage: .venv/bin/python scripts/bench_reference.py [--repeat 5] [--out bench-results/reference.json]
"""

from __future__ import annotations

import argparse
import io
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
from conformance.presets import DECODE_PRESETS
from conformance.reference.decode import decode_image
from conformance.reference.jpeg import colorconvert, read_jpeg, reconstruct
from conformance.reference.jpeg.reconstruct import component_blocks
from conformance.reference.jpeg.upsample import upsample
from conformance.reference.resize import resize
from conformance.spec import Decode, make_step

RESIZE_GOAL = 10.0
DECODE_GOAL = 10.0
JPEG_GOAL = 30.0  # the whole reference JPEG decode, against libjpeg-turbo through Pillow


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


def jpeg_rows(img: np.ndarray, repeat: int) -> list[dict]:
    """The reference JPEG decode of ``img`` saved at q90 4:2:0, whole and per phase, vs Pillow."""
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=90, subsampling=2)
    data = buf.getvalue()
    step = Decode(**DECODE_PRESETS["pillow"], preset="pillow")
    image = read_jpeg(data, source="bench.jpg")
    planes = [component_blocks(image, c) for c in image.components]
    full = [upsample(p, c.width, c.height, image.hmax // c.h, image.vmax // c.v, image.width,
                     image.height) for p, c in zip(planes, image.components)]
    phases = [
        ("entropy decode (read_jpeg)", lambda: read_jpeg(data, source="bench.jpg")),
        ("IDCT islow (3 components)", lambda: [component_blocks(image, c) for c in image.components]),
        ("upsampling fancy (3 planes)", lambda: [
            upsample(p, c.width, c.height, image.hmax // c.h, image.vmax // c.v, image.width,
                     image.height) for p, c in zip(planes, image.components)]),
        ("colour YCbCr -> RGB", lambda: colorconvert.to_rgb("ycbcr", full)),
        ("reconstruct() total", lambda: reconstruct(image)),
    ]
    t_pil = best_time(lambda: np.asarray(Image.open(io.BytesIO(data)).convert("RGB")), repeat)
    call = "Pillow Image.open().convert('RGB') (libjpeg-turbo), whole decode"
    rows = [{"op": "JPEG decode 1024² q90 4:2:0", "variant": name, "reference_s": best_time(fn, repeat),
             "library_s": t_pil, "library_call": call, "goal": None} for name, fn in phases]
    rows.append({"op": "JPEG decode 1024² q90 4:2:0", "variant": f"whole decode op, {len(data)} bytes",
                 "reference_s": best_time(lambda: decode_image(data, step), repeat), "library_s": t_pil,
                 "library_call": call, "goal": JPEG_GOAL})
    for r in rows:
        r["ratio"] = r["reference_s"] / t_pil
    return rows


def webp_rows(img: np.ndarray, repeat: int) -> list[dict]:
    """The reference WebP decode of ``img`` (lossy q90 and lossless) vs libwebp through Pillow."""
    step = Decode(**DECODE_PRESETS["pillow"], preset="pillow")
    rows = []
    for name, options in (("lossy q90", dict(quality=90)), ("lossless", dict(lossless=True))):
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, "WEBP", **options)
        data = buf.getvalue()
        decode_image(data, step)  # numba compilation outside the timing
        t_pil = best_time(lambda: np.asarray(Image.open(io.BytesIO(data)).convert("RGB")), repeat)
        t_ref = best_time(lambda: decode_image(data, step), repeat)
        rows.append({"op": "WebP decode 1024²", "variant": f"{name}, {len(data)} bytes",
                     "reference_s": t_ref, "library_s": t_pil, "ratio": t_ref / t_pil, "goal": None,
                     "library_call": "Pillow Image.open().convert('RGB') (libwebp 1.6)"})
    return rows


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
                     "library_s": cv_area, "library_call": "cv2.resize INTER_AREA", "ratio": t / cv_area,
                     "goal": RESIZE_GOAL})
    ok, png = cv2.imencode(".png", img[..., ::-1])
    data = png.tobytes()
    dstep = make_step({"op": "decode", "output": "unchanged", "orientation": "ignore"})
    t_ref = best_time(lambda: decode_image(data, dstep, source="bench.png"), args.repeat)
    t_cv = best_time(lambda: cv2.imdecode(png, cv2.IMREAD_UNCHANGED), args.repeat)
    rows.append({"op": "PNG decode 1024² RGB", "variant": f"{len(data)} bytes", "reference_s": t_ref,
                 "library_s": t_cv, "library_call": "cv2.imdecode IMREAD_UNCHANGED", "ratio": t_ref / t_cv,
                 "goal": DECODE_GOAL})
    rows += jpeg_rows(img, args.repeat)
    rows += webp_rows(img, args.repeat)
    table = Table(title="reference vs the libraries (same run, best of %d)" % args.repeat)
    for col in ("op", "variant", "reference ms", "library ms", "ratio", "goal"):
        table.add_column(col)
    for r in rows:
        style = "green" if r["goal"] is None or r["ratio"] <= r["goal"] else "red"
        table.add_row(r["op"], r["variant"], f"{r['reference_s'] * 1e3:.1f}", f"{r['library_s'] * 1e3:.2f}",
                      f"[{style}]{r['ratio']:.1f}x[/]", f"<= {r['goal']:.0f}x" if r["goal"] else "phase")
    Console(width=110).print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": platform.platform(), "cpus": __import__("os").cpu_count(),
                                    "numpy": np.__version__, "opencv": cv2.__version__, "rows": rows}, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
