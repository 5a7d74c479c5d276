"""What an untuned deployment computes: a pipeline with every "how" knob set to one library's
default behaviour (``compare --harness NAME --library-defaults``).

The harnesses follow a pipeline's knobs wherever their library has a parameter (cv2.imdecode's
IMREAD_IGNORE_ORIENTATION, Pillow's exif_transpose), which is right for scoring a port but hides
the commonest deployment gap: code that calls ``cv2.imread`` + ``cv2.resize`` and never thinks
about EXIF or antialiasing. :func:`library_default_pipeline` rewrites each step the way that
code runs it: the *intent* knobs (what is computed: sizes, output channels, conversions, the
filter family, normalize constants) stay; the *behaviour* knobs (how: EXIF orientation,
antialiasing, coordinates, arithmetic, JPEG reconstruction, luma arithmetic) become the values of
the library's own preset (:data:`DEFAULTS`), which the tests verify against the library.

A filter family the library does not have keeps the pipeline's knobs (the harness then reports
the step unsupported, as it would for any deployment that asks for it).
"""

from __future__ import annotations

import dataclasses

from ..errors import SpecError
from ..presets import preset_knobs
from ..spec import Color, Decode, Pipeline, Resize, Step, replace

#: harness -> op -> preset of the library's default behaviour. For resize, by filter family
#: (the intent); None: the library has no such filter.
DEFAULTS: dict[str, dict[str, dict[str, str | None] | str]] = {
    "opencv": {
        "decode": "opencv",  # cv2.imread / imdecode(IMREAD_COLOR): EXIF applied, libjpeg-turbo
        "resize": {"nearest": "opencv.nearest", "triangle": "opencv.linear", "cubic": "opencv.cubic",
                   "lanczos": "opencv.lanczos4", "area": "opencv.area", "box": "opencv.area"},
        "gray": "opencv.gray",  # cvtColor(COLOR_RGB2GRAY): 15-bit fixed point
    },
    "pillow": {
        "decode": "pillow",  # Image.open().convert('RGB'): EXIF ignored
        "resize": {"nearest": "pillow.nearest", "box": "pillow.box", "triangle": "pillow.bilinear",
                   "hamming": "pillow.hamming", "cubic": "pillow.bicubic", "lanczos": "pillow.lanczos"},
        "gray": "pillow.gray",
    },
    "rust-image": {
        "decode": "image",  # image::open()?.to_rgb8(): EXIF ignored, zune-jpeg
        "resize": {"nearest": "image.nearest", "triangle": "image.triangle", "cubic": "image.catmullrom",
                   "gaussian": "image.gaussian", "lanczos": "image.lanczos3"},
        "gray": "image.gray",
    },
    "onnxruntime": {  # Resize-19 defaults: half_pixel, no antialias, cubic a = -0.75
        "resize": {"nearest": "onnx.nearest.half_pixel", "triangle": "onnx.linear.half_pixel",
                   "cubic": "onnx.cubic.half_pixel"},
    },
}
DEFAULTS["rust-cli"] = DEFAULTS["rust-image"]
DEFAULTS["rust-fir"] = {"decode": DEFAULTS["rust-image"]["decode"], "gray": "image.gray"}
DEFAULTS["tract"] = DEFAULTS["onnxruntime"]

#: Knobs that say *what* a step computes: kept from the pipeline.
INTENT = {
    "decode": {"output", "alpha", "background"},
    "resize": {"height", "width", "shorter_side", "longer_side", "size_rounding", "size_formula",
               "max_size", "filter", "lobes"},
    "color": {"conversion", "alpha", "background"},
}


def _with_preset(step: Step, op: str, preset: str) -> Step:
    knobs = preset_knobs(op, preset)
    knobs.pop("preset", None)
    names = {f.name for f in dataclasses.fields(step)}
    changes = {k: v for k, v in knobs.items() if k in names and k not in INTENT.get(op, set())}
    changes = {k: tuple(v) if isinstance(v, list) else v for k, v in changes.items()}
    if "preset" in names:
        changes["preset"] = preset
    try:
        return replace(step, **changes)
    except (SpecError, TypeError):
        return step


def library_default_step(step: Step, harness: str) -> Step:
    """``step`` as the library behind ``harness`` computes it by default (module docstring)."""
    table = DEFAULTS.get(harness, {})
    if isinstance(step, Decode) and "decode" in table:
        return _with_preset(step, "decode", table["decode"])
    if isinstance(step, Resize) and "resize" in table:
        preset = table["resize"].get(step.filter)
        if step.filter == "lanczos" and preset == "opencv.lanczos4":
            return _with_preset(replace(step, lobes=4), "resize", preset)
        return _with_preset(step, "resize", preset) if preset else step
    if isinstance(step, Color) and step.conversion in ("rgb_to_gray", "bgr_to_gray") and "gray" in table:
        return _with_preset(step, "color", table["gray"])
    return step


def library_default_pipeline(pipeline: Pipeline, harness: str) -> Pipeline:
    """The pipeline with each step as ``harness``'s library computes it by default."""
    if harness not in DEFAULTS:
        raise SpecError(f"no library defaults are known for harness {harness!r}; known: "
                        f"{', '.join(sorted(DEFAULTS))}")
    steps = tuple(library_default_step(s, harness) for s in pipeline.steps)
    return dataclasses.replace(pipeline, id=f"{pipeline.id}.{harness}-defaults", steps=steps)
