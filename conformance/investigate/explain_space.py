"""The search space of ``explain``: which variants of one pipeline step are tried, enumerated from
the spec (:mod:`conformance.spec`) and the presets (:mod:`conformance.presets`), never from a
hand-kept list of knobs.

A *candidate* is one way the observed output could have been made: a variant of the pipeline's
step run through the reference, optionally on a differently typed input and followed by an
output transform (the gross-mistake detectors of :mod:`.detectors` build those). Three families
are enumerated here:

- **presets** of the step's op (every entry of ``presets.PRESETS_BY_OP[op]``, the whole ONNX
  Resize family of the step's filter, and :data:`LIBRARY_MODELS` for libraries without presets),
  each applied two ways: on the op's defaults (what the library computes) and on the pipeline's
  step (the preset's knobs override the pipeline's, the rest kept);
- **single knob changes**: every other value of every knob with ``choices`` in the step's
  dataclass, and :data:`NUMERIC_ALTERNATIVES` for the numeric and tuple knobs (a new knob with
  ``choices`` is searched without any change here); sizes come from the observed array's shape;
- **pairs** of single changes of two different knobs.

Knobs that cannot change an output are not searched (:data:`INERT_KNOBS`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np

from ..errors import SpecError
from ..presets import ONNX_COORDS, ONNX_MODES, ONNX_NEAREST_MODES, PRESETS_BY_OP, onnx_resize_knobs
from ..spec import Crop, Letterbox, Normalize, Resize, Step, make_step

# ---------------------------------------------------------------------------------------------
# Candidates
# ---------------------------------------------------------------------------------------------

#: How the step input is presented to a candidate's step: as given, or converted first (the
#: ``resize_float`` / ``resize_uint8`` detectors: a resize run on floats, or on clamped uint8).
INPUT_KINDS = ("given", "float32", "uint8")

#: Simplicity order of the hypothesis kinds (the last tie-break of the ranking).
KINDS = ("transform", "preset", "knobs")


@dataclass(frozen=True)
class Candidate:
    """One variant to evaluate.

    ``step``: the step the reference runs; ``input_kind``: how the step input is converted first;
    ``post``: an output transform (a detector's), named ``transform`` (``detail`` says which
    variant of it); ``preset``: the preset (or library model) the step was built from.
    """

    kind: str
    step: Step
    preset: str | None = None
    transform: str | None = None
    detail: str | None = None
    input_kind: str = "given"
    post: Callable[[np.ndarray], np.ndarray] | None = field(default=None, compare=False)

    def key(self) -> tuple:
        """Identity of what this candidate computes (two candidates with one key give the same
        array): the step's knobs without its provenance, the input conversion, the transform."""
        return (step_key(self.step), self.input_kind, self.transform, self.detail)


def step_key(step: Step) -> tuple:
    """The semantic identity of a step: op and every knob but ``preset`` (provenance only)."""
    return (step.op,) + tuple((f.name, getattr(step, f.name)) for f in dataclasses.fields(step)
                              if f.name != "preset")


def knob_changes(pipeline_step: Step, variant: Step) -> dict[str, tuple[Any, Any]]:
    """{knob: (pipeline value, variant value)} for every knob that differs (``preset`` excluded)."""
    out = {}
    for f in dataclasses.fields(pipeline_step):
        if f.name == "preset":
            continue
        a, b = getattr(pipeline_step, f.name), getattr(variant, f.name)
        if a != b:
            out[f.name] = (a, b)
    return out


def build_step(op: str, knobs: dict[str, Any], preset: str | None = None) -> Step | None:
    """A validated step of ``op`` with ``knobs`` (no preset expansion), or None when the spec
    rejects the combination (a fixed-point luma for BT.709, no target size, ...)."""
    raw = {k: list(v) if isinstance(v, tuple) else v for k, v in knobs.items() if k != "preset"}
    try:
        step = make_step({"op": op, **raw})
    except (SpecError, TypeError, ValueError):
        return None
    return dataclasses.replace(step, preset=preset)


def with_changes(step: Step, changes: dict[str, Any]) -> Step | None:
    """``step`` with ``changes`` applied and validated, or None if the spec rejects it."""
    knobs = {f.name: getattr(step, f.name) for f in dataclasses.fields(step)}
    knobs.update(changes)
    return build_step(step.op, knobs, preset=None)


# ---------------------------------------------------------------------------------------------
# Library families
# ---------------------------------------------------------------------------------------------

#: harness -> op -> preset families whose presets describe that harness's library ("*": any op).
#: A preset belongs to family F when its name is F or starts with "F.". The families of one
#: harness are its library's own behaviour, ranked first on ties.
HARNESS_FAMILIES: dict[str, dict[str, tuple[str, ...]]] = {
    "opencv": {"*": ("opencv", "libjpeg-turbo")},
    "pillow": {"*": ("pillow", "libjpeg-turbo", "torchvision")},
    "rust-image": {"*": ("image",)},
    "rust-cli": {"*": ("image",)},
    "rust-fir": {"resize": ("fir",), "*": ("image",)},
    "onnxruntime": {"*": ("onnx",)},
    "tract": {"*": ("onnx",)},
    "libvips": {"*": ("libvips", "libjpeg-turbo")},
}

#: family -> the library's name in a sentence.
LIBRARY_NAMES = {"opencv": "OpenCV", "pillow": "Pillow", "image": "the image crate",
                 "fir": "fast_image_resize", "onnx": "ONNX Resize", "libjpeg-turbo": "libjpeg-turbo",
                 "torchvision": "torchvision", "libvips": "libvips"}


def harness_families(harness: str | None, op: str) -> tuple[str, ...]:
    """The preset families of ``harness`` for ``op`` (empty when unknown or None)."""
    table = HARNESS_FAMILIES.get(harness or "", {})
    return table.get(op, table.get("*", ()))


def preset_family(name: str | None) -> str | None:
    """The family a preset name belongs to (``opencv.linear`` -> ``opencv``)."""
    if not name:
        return None
    for family in sorted(LIBRARY_NAMES, key=len, reverse=True):
        if name == family or name.startswith(family + "."):
            return family
    return None


def in_families(name: str | None, families: tuple[str, ...]) -> bool:
    return preset_family(name) in families


# ---------------------------------------------------------------------------------------------
# Presets and library models
# ---------------------------------------------------------------------------------------------

# fast_image_resize 5.5.0 (rust-fir) has no preset in conformance/presets.py. These knob sets are
# its behaviour as the shared notes (resize-semantics §4) describe it: floor/ceil windows, f64
# weights quantised to i16 with a per-axis precision of at most 15 bits, vertical pass first,
# uint8 between the passes, f64 Hamming constants, an unchanged axis skipped; ``antialias``
# False is its Interpolation(..) mode. Measured against the rust-fir harness
# (tests/test_explain_library.py): 0 levels for Bilinear, Hamming, CatmullRom, Gaussian and
# Lanczos3 (Convolution and Interpolation) and Box downscales, and Nearest (nearest_index="fir":
# columns multiplied, rows accumulated; tests/test_resize_fir_nearest.py); not modelled: Box
# upscales (its half-open box support). Candidates for fir.* presets.
_FIR = dict(antialias=True, coords="half_pixel", border="renormalize", arithmetic="fixed_dynamic:15",
            rounding="half_up", pass_order="vh", intermediate="uint8", window="floor_ceil",
            cubic_a=-0.5, lobes=3, nearest_index="coords", weights_dtype="float64",
            unchanged_axis="skip", hamming_constants="float64", sum_order="sequential")
LIBRARY_MODELS: dict[str, dict[str, dict[str, Any]]] = {
    "resize": {"fir.box": {**_FIR, "filter": "box"}, "fir.bilinear": {**_FIR, "filter": "triangle"},
               "fir.hamming": {**_FIR, "filter": "hamming"}, "fir.catmullrom": {**_FIR, "filter": "cubic"},
               "fir.gaussian": {**_FIR, "filter": "gaussian"}, "fir.lanczos3": {**_FIR, "filter": "lanczos"},
               "fir.nearest": {**_FIR, "filter": "nearest", "antialias": False, "nearest_index": "fir"}},
}


def onnx_family(filter_name: str) -> list[str]:
    """Every ONNX Resize preset name whose mode is ``filter_name`` (the filter is the intent a
    harness keeps): modes x coordinate transforms x nearest modes x antialias x exclude_outside."""
    modes = [m for m, f in ONNX_MODES.items() if f == filter_name]
    names = []
    for mode in modes:
        for coords in ONNX_COORDS:
            options = ([[nm] for nm in ONNX_NEAREST_MODES] if mode == "nearest"
                       else [[], ["antialias"]])
            for opt in options:
                for eo in ([], ["exclude_outside"]):
                    names.append(".".join(["onnx", mode, coords, *opt, *eo]))
    return names


def preset_table(op: str, step: Step) -> dict[str, dict[str, Any]]:
    """preset name -> knob values, for every preset and library model of ``op``; for resize the
    ONNX family of the step's filter only."""
    table = {name: dict(knobs) for name, knobs in PRESETS_BY_OP.get(op, {}).items()}
    table.update(LIBRARY_MODELS.get(op, {}))
    if isinstance(step, Resize):
        for name in onnx_family(step.filter):
            knobs = onnx_resize_knobs(name)
            if knobs is not None:
                table[name] = knobs
    return table


#: Knobs that keep their pipeline value when a preset is applied on the op's defaults: the target
#: size (what was asked, not how a library computes it).
SIZE_KNOBS = {"resize": ("height", "width", "shorter_side", "longer_side", "size_rounding",
                        "size_formula", "max_size")}

#: Knobs that say *what* a step computes (the rule of conformance.harnesses.base: a harness maps
#: them to a library call or reports the step unsupported), kept from the pipeline in the third
#: way a preset is applied: the library's behaviour for the pipeline's intent.
INTENT_KNOBS = {"decode": ("output", "alpha", "background", "dct_scale"),
                "resize": ("height", "width", "shorter_side", "longer_side", "size_rounding",
                           "size_formula", "max_size", "filter"),
                "color": ("conversion", "alpha", "background"),
                "normalize": ("mean", "std", "scale", "divisor", "dtype")}


#: Knobs that name what a preset *is* (a resize preset per filter): never taken from the pipeline
#: while keeping the preset's name, so "preset fir.bilinear" always means the Bilinear filter.
IDENTITY_KNOBS = {"resize": ("filter",)}


def preset_candidates(step: Step, families: tuple[str, ...]) -> list[Candidate]:
    """Each preset three ways, the harness's own families first: on the op's defaults (the
    library's computation of the pipeline's target size), on the pipeline's step (the preset's
    knobs override the pipeline's, the others kept), and on the defaults with the pipeline's
    intent knobs (:data:`INTENT_KNOBS`: what an untuned deployment of that library computes)."""
    table = preset_table(step.op, step)
    order = sorted(table, key=lambda n: (not in_families(n, families), n))
    defaults = {f.name: f.default for f in dataclasses.fields(step)}
    for name in SIZE_KNOBS.get(step.op, ()):
        defaults[name] = getattr(step, name)
    own = {f.name: getattr(step, f.name) for f in dataclasses.fields(step)}
    intent = {k: own[k] for k in INTENT_KNOBS.get(step.op, ()) if k in own}
    out = []
    for name in order:
        ways = [{**defaults, **table[name]}, {**own, **table[name]}]
        if all(table[name].get(k, intent[k]) == intent[k] for k in IDENTITY_KNOBS.get(step.op, ()) if k in intent):
            ways.append({**defaults, **table[name], **intent})
        for knobs in ways:
            variant = build_step(step.op, knobs, preset=name)
            if variant is not None:
                out.append(Candidate("preset", variant, preset=name))
    return out


# ---------------------------------------------------------------------------------------------
# Single knob changes
# ---------------------------------------------------------------------------------------------

#: Knobs that never change an output: provenance, documentation, a limit that only refuses.
INERT_KNOBS = {"preset", "max_pixels", "input_range", "max_elements"}

#: The targets of a resize/crop/letterbox: changed together, from the observed shape.
TARGET_KNOBS = {"resize": ("height", "width", "shorter_side", "longer_side"),
                "crop": ("height", "width"), "letterbox": ("height", "width")}

BACKGROUNDS = ((255, 255, 255), (0, 0, 0), (128, 128, 128), (114, 114, 114))
FILLS = ((0,), (114,), (127,), (128,), (255,))


def _normalize_scales(step: Normalize) -> list[dict[str, Any]]:
    k = 1.0 / step.divisor if step.divisor is not None else step.scale
    out = [{"scale": v, "divisor": None} for v in (1 / 255, 1 / 127.5, 1.0, k * 255, k / 255)]
    out += [{"divisor": d} for d in (255.0, 127.5)]
    if step.divisor is not None:
        out.append({"divisor": None})
    return out


#: (op, knob) -> function(step) -> list of alternative values (or of {knob: value} dicts, for a
#: change that moves several knobs at once). The meaningful values of the knobs without choices.
NUMERIC_ALTERNATIVES: dict[tuple[str, str], Callable[[Step], list]] = {
    ("resize", "cubic_a"): lambda s: [-0.5, -0.75, -0.6],
    ("resize", "lobes"): lambda s: [2, 3, 4],
    ("resize", "arithmetic"): lambda s: ["float64", "float32", "fixed:22", "fixed_dynamic:15",
                                         "opencv", "fixed:16"],
    ("decode", "background"): lambda s: list(BACKGROUNDS),
    ("color", "background"): lambda s: list(BACKGROUNDS),
    ("letterbox", "value"): lambda s: list(FILLS),
    ("pad", "value"): lambda s: list(FILLS),
    ("normalize", "scale"): _normalize_scales,
    ("normalize", "divisor"): lambda s: [],  # moved together with scale above
    ("normalize", "mean"): lambda s: [],  # mean/std families are detectors (.detectors)
    ("normalize", "std"): lambda s: [],
    ("crop", "top"): lambda s: [],  # one-pixel offsets are a detector
    ("crop", "left"): lambda s: [],
    ("pad", "top"): lambda s: [max(0, s.top - 1), s.top + 1],
    ("pad", "bottom"): lambda s: [max(0, s.bottom - 1), s.bottom + 1],
    ("pad", "left"): lambda s: [max(0, s.left - 1), s.left + 1],
    ("pad", "right"): lambda s: [max(0, s.right - 1), s.right + 1],
    # the way back: the ranges a model's output is in, the scales people multiply by
    ("denormalize", "from_range"): lambda s: [(0.0, 1.0), (-1.0, 1.0), (0.0, 255.0)],
    ("denormalize", "to_range"): lambda s: [(0.0, 1.0), (0.0, 255.0), (-1.0, 1.0)],
    ("denormalize", "scale"): lambda s: [1.0, 1 / 255, 255.0],
    ("denormalize", "mean"): lambda s: [],  # "denormalize skipped" is a detector (.detectors)
    ("denormalize", "std"): lambda s: [],
    ("quantize", "scale"): lambda s: [255.0, 256.0, 65535.0, 1.0],
    ("encode", "quality"): lambda s: [],  # a JPEG quality is read from the file, not guessed
}


def _target_changes(step: Step, observed_shape: tuple[int, ...] | None) -> list[dict[str, Any]]:
    """Size changes read from the observed array: its height and width as the step's target."""
    if observed_shape is None or len(observed_shape) != 3 or not isinstance(step, (Resize, Crop, Letterbox)):
        return []
    h, w = int(observed_shape[0]), int(observed_shape[1])
    if isinstance(step, Resize):
        return [{"height": h, "width": w, "shorter_side": None, "longer_side": None}]
    return [{"height": h, "width": w}]


def single_changes(step: Step, observed_shape: tuple[int, ...] | None = None
                   ) -> Iterator[tuple[str, dict[str, Any]]]:
    """(knob group name, {knob: value}) for every single change of ``step`` (module docstring)."""
    targets = TARGET_KNOBS.get(step.op, ())
    for change in _target_changes(step, observed_shape):
        yield "size", change
    for f in dataclasses.fields(step):
        name = f.name
        if name in INERT_KNOBS or name in targets:
            continue
        current = getattr(step, name)
        choices = f.metadata.get("choices")
        if choices is not None:
            values: list = [v for v in choices if v != current]
        elif (step.op, name) in NUMERIC_ALTERNATIVES:
            values = NUMERIC_ALTERNATIVES[(step.op, name)](step)
        else:
            continue  # a numeric knob without a table entry: not searched
        seen = set()
        for v in values:
            change = v if isinstance(v, dict) else {name: v}
            frozen = tuple(sorted((k, repr(x)) for k, x in change.items()))
            if frozen in seen or all(getattr(step, k) == x for k, x in change.items()):
                continue
            seen.add(frozen)
            yield name, change


def pair_candidates(step: Step, singles: list[tuple[str, dict[str, Any], float]]) -> Iterator[Candidate]:
    """Pairs of single changes on two different knob groups, the most promising first: ordered by
    the sum of the two singles' ranks (``singles`` holds (group, change, residual), any order;
    residual ``inf`` for a change that is invalid or has no effect alone)."""
    ranked = sorted(singles, key=lambda s: s[2])
    n = len(ranked)
    pairs = sorted(((i + j, i, j) for i in range(n) for j in range(i + 1, n)
                    if ranked[i][0] != ranked[j][0]))
    for _, i, j in pairs:
        change = {**ranked[i][1], **ranked[j][1]}
        variant = with_changes(step, change)
        if variant is not None:
            yield Candidate("knobs", variant)


def family_values(op: str, families: tuple[str, ...], step: Step) -> dict[str, set]:
    """knob -> the values the presets of ``families`` give it (a knob hypothesis whose values all
    appear here names the harness's own library)."""
    out: dict[str, set] = {}
    for name, knobs in preset_table(op, step).items():
        if in_families(name, families):
            for k, v in knobs.items():
                out.setdefault(k, set()).add(tuple(v) if isinstance(v, list) else v)
    return out


__all__ = ["Candidate", "HARNESS_FAMILIES", "LIBRARY_MODELS",
           "build_step", "family_values", "harness_families", "knob_changes",
           "pair_candidates", "preset_candidates", "preset_family", "step_key", "with_changes"]
