"""JPEG decode by subsampling: how far each harness's JPEG decoding is from the reference, per
decode preset and chroma subsampling. One table, shared by the terminal, JSON and HTML reports.

Which steps: every ``decode`` step of a positive case (``expect == "ok"``) whose input the bundle
manifest describes as JPEG (``inputs[id]["header"]["format"] == "jpeg"``; an input whose header
is missing, as on some negative vectors, is not JPEG here) and that has metrics, i.e. whose
output was compared element by element (verdict pass, fail or xfail with matching shapes).
Steps without metrics are left out: unsupported, error, skipped, and failures without numbers
(a shape mismatch, an unreadable output); the summary matrix and the failure lists show those.

Grouping key, one row each: (harness, mode, decode preset and its overrides, subsampling).

- decode preset: the ``preset`` key of the step in the manifest's pipeline, or ``"custom"``
  when it has none; with the knobs the step overrides (``overrides``: every knob whose value
  differs from the preset's expansion by :func:`conformance.spec.make_step`; empty for a step
  that is the preset as is, and for ``custom``). A knob pipeline such as
  ``decode.jpeg.upsampling_nearest`` (``libjpeg-turbo`` with ``upsampling=nearest``) is thus
  its own row, and a plain ``libjpeg-turbo`` row means libjpeg-turbo's decoder. A preset this
  code does not know (a foreign bundle) is shown without overrides.
- subsampling: ``4:4:4``, ``4:2:2``, ``4:4:0``, ``4:2:0``, ``4:1:1``, ``gray``, ``rgb`` (no
  YCbCr transform), ``cmyk``, ``other``: the header's ``subsampling`` if the manifest records
  one, else read from the input file's frame header
  (:func:`conformance.expectations.jpeg_subsampling`: the chroma components' sampling factors
  against the luma's), so a user's ordinary 4:2:0 photo is ``4:2:0`` whatever it is called;
  only when the file cannot be read (not in the bundle, hash mismatch), from the input's
  manifest tags (:data:`SUBSAMPLING_TAGS`, first match; the built-in corpus tags its JPEGs),
  ``other`` when no tag says.

Per row: ``steps``; ``max_abs`` = the largest of the steps' max abs errors (``inf`` if a step's
error was not finite); ``mean_abs`` = the mean abs error over every element of every step,
i.e. the steps' mean abs errors weighted by their element counts (the expected output's shape in
the bundle, less the non-finite values a step's own mean leaves out); when some step's shape is
not in the manifest (a bundle that does not follow its schema) the group's mean is the plain mean
of its steps' means instead; ``over_tolerance`` = the number of steps whose max abs error
exceeds the tolerance the scorer applied (whatever their verdict: an xfail is over it too);
``verdicts`` = step counts per verdict.

Rows are sorted by harness, mode (run order), preset (alphabetically, ``custom`` last; the
preset as is before its overridden variants) and subsampling (:data:`SUBSAMPLING_ORDER`, from
full chroma resolution down).

Reading a porter's question off it: the ``libjpeg-turbo``, ``pillow``, ``opencv`` and
``opencv.gray`` presets model libjpeg-turbo's decoder, ``image`` models zune-jpeg (the Rust
``image`` crate) (:func:`preset_models` derives this from :mod:`conformance.presets`). A harness
built on libjpeg-turbo shows 0 on the first family and the zune-jpeg difference on ``image``
rows; a harness built on zune-jpeg shows the opposite.

The manifest is read from ``Scores.bundle`` only if its SHA-256 is the run's
(``Scores.bundle_sha256``): a changed bundle would put steps in the wrong rows. If it cannot be
read the table is absent (``groups`` None) and ``problem`` says why.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from .. import presets
from ..bundle import FILE_LIMIT, safe_relpath, sha256_bytes
from ..errors import BundleError, ConformanceError
from ..expectations import jpeg_subsampling
from ..safeio import UnsafeData, read_limited
from ..score import VERDICTS, Scores, StepScore
from ..spec import make_step
from .common import tolerance_of

# Input tag -> subsampling label, in priority order (a corpus JPEG carries exactly one of them).
SUBSAMPLING_TAGS: tuple[tuple[str, str], ...] = (
    ("jpeg_444", "4:4:4"), ("jpeg_422", "4:2:2"), ("jpeg_440", "4:4:0"), ("jpeg_420", "4:2:0"),
    ("jpeg_411", "4:1:1"), ("gray", "gray"), ("jpeg_gray", "gray"), ("adobe_rgb", "rgb"),
    ("cmyk", "cmyk"), ("jpeg_cmyk", "cmyk"),
)
OTHER = "other"
CUSTOM = "custom"
SUBSAMPLING_ORDER = ("4:4:4", "4:2:2", "4:4:0", "4:2:0", "4:1:1", "gray", "rgb", "cmyk", OTHER)

# JPEG decoders the decode presets model, recognised by their reconstruction knobs.
JPEG_MODELS: tuple[tuple[str, Mapping[str, Any]], ...] = (
    ("libjpeg-turbo", presets.LIBJPEG_TURBO_JPEG),
    ("zune-jpeg (Rust image crate)", presets.ZUNE_JPEG),
)

# Overridden knobs as a hashable, ordered key: ((knob, JSON text of its value), ...) by knob name.
Overrides = tuple[tuple[str, str], ...]


def subsampling_of(tags: Iterable[str]) -> str:
    """The subsampling label of an input with these manifest tags (:data:`SUBSAMPLING_TAGS`)."""
    tags = set(tags or ())
    return next((label for tag, label in SUBSAMPLING_TAGS if tag in tags), OTHER)


# Reads an input's bytes from its manifest entry (``path``, ``sha256``), checked; raises if it
# cannot.
InputReader = Callable[[Mapping[str, Any]], bytes]


def input_subsampling(inp: Mapping[str, Any], read: InputReader | None = None) -> str:
    """The subsampling label of a JPEG input's manifest entry: the header's ``subsampling`` if
    recorded, else its file's frame header through ``read``, else its tags (module docstring)."""
    recorded = (inp.get("header") or {}).get("subsampling")
    if isinstance(recorded, str):
        return recorded
    if read is not None:
        try:
            label = jpeg_subsampling(read(inp), source=str(inp.get("path", "<jpeg>")))
        except (ConformanceError, UnsafeData, OSError, KeyError, TypeError):
            label = None
        if label is not None:
            return label
    return subsampling_of(inp.get("tags") or ())


def bundle_input_reader(root: str | Path) -> InputReader:
    """An :data:`InputReader` of the bundle at ``root``: paths confined to it, sizes limited,
    SHA-256 checked against the manifest entry."""
    root = Path(root)

    def read(inp: Mapping[str, Any]) -> bytes:
        path = safe_relpath(root, inp["path"], bundle=str(root))
        data = read_limited(path, FILE_LIMIT)
        if sha256_bytes(data) != inp["sha256"]:
            raise BundleError("SHA-256 does not match the manifest", bundle=str(root), path=inp["path"])
        return data
    return read


@lru_cache(maxsize=None)
def _preset_knobs(preset: str) -> dict[str, Any] | None:
    """Every knob of a decode step that is ``preset`` as is; None for a preset unknown here."""
    try:
        return make_step({"op": "decode", "preset": preset}).knobs()
    except ConformanceError:
        return None


def decode_preset_of(step: Mapping[str, Any]) -> tuple[str, Overrides]:
    """(preset name or "custom", the knobs the manifest step sets away from that preset)."""
    preset = step.get("preset")
    if not preset:
        return CUSTOM, ()
    base = _preset_knobs(preset)
    if base is None:
        return preset, ()
    return preset, tuple(sorted((k, json.dumps(v, sort_keys=True)) for k, v in step.items()
                                if k not in ("op", "preset") and base.get(k) != v))


def preset_label(preset: str, overrides: Mapping[str, Any]) -> str:
    """"libjpeg-turbo", or "libjpeg-turbo +upsampling=nearest" for a step that overrides knobs."""
    if not overrides:
        return preset
    text = lambda v: v if isinstance(v, str) else json.dumps(v)  # noqa: E731
    return preset + " " + " ".join(f"+{k}={text(v)}" for k, v in overrides.items())


@dataclass(frozen=True)
class JpegFacts:
    """What the table needs from a bundle manifest."""

    # JPEG input id -> subsampling label (inputs whose header says format "jpeg")
    subsampling: Mapping[str, str]
    # (pipeline id, step index) -> (decode preset or "custom", overridden knobs), decode steps only
    presets: Mapping[tuple[str, int], tuple[str, Overrides]]
    # (case id, step index) -> element count of the expected output, decode steps of JPEG cases
    elements: Mapping[tuple[str, int], int]

    @classmethod
    def from_manifest(cls, manifest: Mapping[str, Any], read: InputReader | None = None) -> "JpegFacts":
        """The facts of a manifest document (tolerant of missing optional fields); ``read``
        gives the input files' bytes for their subsampling (:func:`input_subsampling`)."""
        subsampling = {}
        positive = {c.get("input") for c in manifest.get("cases") or [] if c.get("expect") == "ok"}
        for iid, inp in (manifest.get("inputs") or {}).items():
            header = inp.get("header") or {}
            if header.get("format") == "jpeg":
                # only the files of positive cases are read: the table shows no other
                subsampling[iid] = input_subsampling(inp, read if iid in positive else None)
        step_presets = {}
        for pid, pipeline in (manifest.get("pipelines") or {}).items():
            for index, step in enumerate(pipeline.get("steps") or []):
                if step.get("op") == "decode":
                    step_presets[(pid, index)] = decode_preset_of(step)
        elements = {}
        for case in manifest.get("cases") or []:
            if case.get("input") not in subsampling:
                continue
            for entry in case.get("steps") or []:
                if entry.get("op") == "decode" and isinstance(entry.get("shape"), list):
                    elements[(case["id"], entry["index"])] = math.prod(entry["shape"])
        return cls(subsampling, step_presets, elements)


@dataclass
class JpegDecodeGroup:
    """One row of the table (see the module docstring for each field's meaning)."""

    harness: str
    mode: str
    preset: str
    overrides: dict[str, Any]
    subsampling: str
    steps: int
    max_abs: float
    mean_abs: float | None
    over_tolerance: int
    verdicts: dict[str, int] = field(default_factory=dict)

    @property
    def preset_label(self) -> str:
        return preset_label(self.preset, self.overrides)

    def to_json(self) -> dict[str, Any]:
        """JSON-safe: a non-finite max_abs is null."""
        return {"harness": self.harness, "mode": self.mode, "preset": self.preset,
                "overrides": dict(self.overrides), "subsampling": self.subsampling,
                "steps": self.steps, "max_abs": _json_float(self.max_abs),
                "mean_abs": _json_float(self.mean_abs), "over_tolerance": self.over_tolerance,
                "verdicts": dict(self.verdicts)}


def _json_float(v: float | None) -> float | None:
    """``v`` rounded to 9 significant digits as Scores' metrics are; None if not finite."""
    if v is None or not math.isfinite(v):
        return None
    return float(f"{v:.9g}")


def _step_max(step: StepScore) -> float:
    m = step.metrics.get("max_abs")
    return math.inf if m is None else float(m)


def _mean_abs(items: list[tuple[StepScore, int | None]]) -> float | None:
    """Mean over elements (each step's mean weighted by its finite-element count); the plain
    mean of step means if a count is unknown; None if no step has a mean."""
    means = [(s.metrics["mean_abs"], None if n is None else n - int(s.metrics.get("nonfinite") or 0))
             for s, n in items if s.metrics.get("mean_abs") is not None]
    if not means:
        return None
    if all(n is not None for _, n in means):
        total = sum(n for _, n in means)
        if total > 0:
            return sum(m * n for m, n in means) / total
    return sum(m for m, _ in means) / len(means)


# Group key: (harness, mode, preset, overrides, subsampling).
Key = tuple[str, str, str, Overrides, str]


def _group(key: Key, items: list[tuple[StepScore, int | None]]) -> JpegDecodeGroup:
    """The row of one key from its (step, element count) pairs."""
    harness, mode, preset, overrides, sub = key
    verdicts = {v: 0 for v in VERDICTS}
    for s, _ in items:
        verdicts[s.verdict] += 1
    over = sum(1 for s, _ in items if _step_max(s) > (tolerance_of(s) or 0))
    return JpegDecodeGroup(harness, mode, preset, {k: json.loads(v) for k, v in overrides}, sub,
                           steps=len(items), max_abs=max(_step_max(s) for s, _ in items),
                           mean_abs=_mean_abs(items), over_tolerance=over, verdicts=verdicts)


def _sort_key(scores: Scores):
    mode_pos = {m: i for i, m in enumerate(scores.modes)}
    sub_pos = {s: i for i, s in enumerate(SUBSAMPLING_ORDER)}
    return lambda k: (k[0], mode_pos.get(k[1], len(mode_pos)), k[1], k[2] == CUSTOM, k[2], k[3],
                      sub_pos.get(k[4], len(sub_pos)), k[4])


def jpeg_decode_groups(scores: Scores, facts: JpegFacts) -> list[JpegDecodeGroup]:
    """The table's rows: the decode steps of JPEG inputs with metrics, grouped by (harness, mode,
    decode preset and its overrides, subsampling) and aggregated as the module docstring says."""
    buckets: dict[Key, list[tuple[StepScore, int | None]]] = {}
    for case in scores.cases:
        sub = facts.subsampling.get(case.input)
        if sub is None or case.expect != "ok":
            continue
        for step in case.steps:
            if step.op != "decode" or not step.metrics:
                continue
            preset, overrides = facts.presets.get((case.pipeline, step.index), (CUSTOM, ()))
            key = (case.harness, case.mode, preset, overrides, sub)
            buckets.setdefault(key, []).append((step, facts.elements.get((case.case, step.index))))
    return [_group(k, buckets[k]) for k in sorted(buckets, key=_sort_key(scores))]


@dataclass(frozen=True)
class JpegDecodeTable:
    """The rows, or None with the reason when the bundle manifest could not be read."""

    groups: list[JpegDecodeGroup] | None
    problem: str = ""

    def to_json(self) -> list[dict] | None:
        return None if self.groups is None else [g.to_json() for g in self.groups]


@lru_cache(maxsize=4)
def _facts(manifest_path: str, sha256: str) -> JpegFacts:
    """The facts of the manifest at ``manifest_path``, which must hash to ``sha256`` (cached:
    the terminal, JSON and HTML reports of one scoring read it once)."""
    raw = Path(manifest_path).read_bytes()
    actual = hashlib.sha256(raw).hexdigest()
    if actual != sha256:
        raise ValueError(f"{manifest_path} changed since the run (SHA-256 {actual[:12]}, the run's "
                         f"{sha256[:12]})")
    return JpegFacts.from_manifest(json.loads(raw), bundle_input_reader(Path(manifest_path).parent))


def jpeg_decode_table(scores: Scores) -> JpegDecodeTable:
    """The table of ``scores``, reading the facts from its bundle's manifest."""
    try:
        facts = _facts(str((Path(scores.bundle) / "manifest.json").resolve()), scores.bundle_sha256)
    except (OSError, ValueError) as e:  # unreadable, changed, or not JSON (JSONDecodeError)
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        return JpegDecodeTable(None, f"the bundle manifest cannot be read, so the JPEG decode "
                                     f"table is not shown: {reason}")
    return JpegDecodeTable(jpeg_decode_groups(scores, facts))


def preset_models(preset_names: Iterable[str]) -> list[tuple[str, list[str]]]:
    """(JPEG decoder, the given presets that model it) for each decoder of :data:`JPEG_MODELS`
    some preset models; a preset whose JPEG knobs match none (or "custom") is left out."""
    out = []
    names = sorted(set(preset_names))
    for model, knobs in JPEG_MODELS:
        members = [p for p in names if p in presets.DECODE_PRESETS
                   and all(presets.DECODE_PRESETS[p].get(k) == v for k, v in knobs.items())]
        if members:
            out.append((model, members))
    return out


def models_sentence(groups: list[JpegDecodeGroup]) -> str:
    """"decode presets libjpeg-turbo, pillow model libjpeg-turbo; preset image models zune-jpeg
    (...)" for the presets the groups use as is (a row with overrides models neither)."""
    parts = []
    for model, members in preset_models(g.preset for g in groups if not g.overrides):
        verb = "models" if len(members) == 1 else "model"
        noun = "preset" if len(members) == 1 else "presets"
        parts.append(f"{noun} {', '.join(members)} {verb} {model}")
    return "decode " + "; ".join(parts) if parts else ""


@dataclass(frozen=True)
class DisplayRow:
    """A group as a report line: leading keys blank where they repeat the line above."""

    group: JpegDecodeGroup
    harness: str
    mode: str
    preset: str
    new_block: bool  # first line of a (harness, mode) block


def display_rows(groups: list[JpegDecodeGroup]) -> list[DisplayRow]:
    """The groups in order, with harness/mode shown once per block and preset once per run."""
    out, prev = [], None
    for g in groups:
        new_block = prev is None or (prev.harness, prev.mode) != (g.harness, g.mode)
        new_preset = new_block or prev.preset_label != g.preset_label
        out.append(DisplayRow(g, g.harness if new_block else "", g.mode if new_block else "",
                              g.preset_label if new_preset else "", new_block))
        prev = g
    return out
