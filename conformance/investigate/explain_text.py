"""The sentences of ``explain``: one a user can act on per hypothesis, and the verdict of a step.

A hypothesis within the tolerance is stated as a fact about the observed output ("opencv's output
is `resize` as preset opencv.linear (cv2.resize(..., INTER_LINEAR)): antialias=false, ..., 0
levels off; the pipeline asks antialias=true, ... (preset pillow.bilinear)"); one outside it only
as the closest thing tried, with its residual, never as a cause.
"""

from __future__ import annotations

import math
from typing import Any

from .explain_space import LIBRARY_NAMES, preset_family

__all__ = ["LIBRARY_NAMES"]

#: How many knobs a sentence lists before "+N more" (the JSON has them all).
KNOBS_SHOWN = 3

#: (op, preset) -> the library call the preset describes.
PRESET_CALLS: dict[tuple[str, str], str] = {
    **{("resize", f"pillow.{f}"): f"Image.resize(..., {f.upper()})"
       for f in ("nearest", "box", "bilinear", "hamming", "bicubic", "lanczos")},
    **{("resize", f"opencv.{f}"): f"cv2.resize(..., INTER_{f.upper()})"
       for f in ("nearest", "nearest_exact", "linear", "cubic", "area", "lanczos4")},
    **{("resize", f"image.{f}"): f"imageops::resize(..., FilterType::{n})"
       for f, n in (("nearest", "Nearest"), ("triangle", "Triangle"), ("catmullrom", "CatmullRom"),
                    ("gaussian", "Gaussian"), ("lanczos3", "Lanczos3"))},
    **{("resize", f"fir.{f}"): f"fast_image_resize {n} (explain's model, not a preset yet)"
       for f, n in (("box", "Box"), ("bilinear", "Bilinear"), ("hamming", "Hamming"),
                    ("catmullrom", "CatmullRom"), ("gaussian", "Gaussian"), ("lanczos3", "Lanczos3"))},
    ("decode", "pillow"): "Image.open(f).convert('RGB')",
    ("decode", "opencv"): "cv2.imdecode(buf, IMREAD_COLOR)",
    ("decode", "opencv.gray"): "cv2.imdecode(buf, IMREAD_GRAYSCALE)",
    ("decode", "image"): "image::load_from_memory(..)?.to_rgb8() (zune-jpeg)",
    ("decode", "libjpeg-turbo"): "libjpeg-turbo's default decompression",
    ("color", "pillow.gray"): "Image.convert('L')",
    ("color", "opencv.gray"): "cv2.cvtColor(img, COLOR_RGB2GRAY)",
    ("color", "image.gray"): "DynamicImage::to_luma8()",
    ("normalize", "torchvision.imagenet"): "torchvision ToTensor() + Normalize(ImageNet mean/std)",
    ("normalize", "unit"): "x / 255",
    ("normalize", "symmetric"): "x / 127.5 - 1",
}


def preset_call(op: str, name: str | None) -> str | None:
    """The library call a preset stands for (ONNX names spelled as Resize attributes)."""
    if not name:
        return None
    if (op, name) in PRESET_CALLS:
        return PRESET_CALLS[(op, name)]
    parts = name.split(".")
    if op == "resize" and parts[0] == "onnx" and len(parts) >= 2:
        attrs = [f"mode={parts[1]}"]
        for p in parts[2:]:
            attrs.append("antialias=1" if p == "antialias" else "exclude_outside=1" if p == "exclude_outside"
                         else f"nearest_mode={p}" if p in ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")
                         else f"coordinate_transformation_mode={p}")
        return f"ONNX Resize({', '.join(attrs)})"
    return None


def fmt_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "none"
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, (tuple, list)):
        return "(" + ", ".join(fmt_value(x) for x in v) + ")"
    return str(v)


def knob_list(changes: dict[str, tuple[Any, Any]], side: int, limit: int = KNOBS_SHOWN) -> str:
    """``antialias=false, arithmetic=opencv, border=clamp (+4 more)`` from {knob: (pipeline,
    explaining)}; ``side`` 0 lists the pipeline's values, 1 the explaining ones."""
    items = [f"{k}={fmt_value(v[side])}" for k, v in changes.items()]
    text = ", ".join(items[:limit])
    if len(items) > limit:
        text += f" (+{len(items) - limit} more)"
    return text


def percent(fraction: float) -> str:
    """``97.3%``, rounded down so that 99.96 % of exact values is never shown as 100.0%."""
    return "100%" if fraction >= 1 else f"{math.floor(1000 * fraction) / 10:.1f}%"


def residual_text(max_abs: float, exact: float, integer: bool) -> str:
    """``0 levels off``, ``within 1 level (97.3% exact)``, ``max abs 2.4e-07 (99.1% exact)``."""
    if not math.isfinite(max_abs):
        return "not comparable (another shape, or non-finite values)"
    pct_text = f"{percent(exact)} exact"
    if integer:
        if max_abs == 0:
            return "0 levels off"
        unit = "level" if max_abs == 1 else "levels"
        return f"{max_abs:.4g} {unit} off ({pct_text})"
    if max_abs == 0:
        return "identical"
    return f"max abs {max_abs:.3g} ({pct_text})"


def who(harness: str | None, start: bool = False) -> str:
    """``opencv's output`` (harness names keep their spelling), or ``the observed output``."""
    if harness:
        return f"{harness}'s output"
    return "The observed output" if start else "the observed output"


def what(op: str, kind: str, preset: str | None, transform_phrase: str | None,
         changes: dict[str, tuple[Any, Any]]) -> str:
    """What a hypothesis computes: ``the pipeline's `normalize` with ...``, ``\\`resize\\` as preset
    opencv.linear (cv2.resize(..., INTER_LINEAR)) with antialias=false, ...``, ``\\`decode\\` with
    orientation=apply``."""
    if kind == "transform":
        return f"the pipeline's `{op}` {transform_phrase}"
    if kind == "preset":
        call = preset_call(op, preset)
        text = f"`{op}` as preset {preset}" + (f" ({call})" if call else "")
        if changes:
            text += f" with {knob_list(changes, 1)}"
        return text
    return f"`{op}` with {knob_list(changes, 1)}"


def asks(changes: dict[str, tuple[Any, Any]], pipeline_preset: str | None, op: str) -> str:
    """What the pipeline asks instead: its values of the changed knobs, and its preset."""
    parts = []
    if changes:
        parts.append(knob_list(changes, 0))
    if pipeline_preset:
        call = preset_call(op, pipeline_preset)
        parts.append(f"(preset {pipeline_preset}" + (f", {call})" if call else ")"))
    return " ".join(parts)


def library_note(preset: str | None, library: str | None) -> str:
    """`` (OpenCV's own behaviour)`` when the hypothesis names the harness's library."""
    if not library:
        return ""
    family = preset_family(preset) or library
    return f" ({LIBRARY_NAMES.get(family, family)}'s own behaviour)"
