"""``explain``: which settings reproduce an observed step output, ranked by residual.

Given one step of a pipeline, its input and an output that differs from the reference (a
harness's, or a user's own array), :func:`explain_step` searches, in this order (stopping when
the time budget runs out):

1. the gross-mistake detectors (:mod:`.detectors`: channels reversed, HWC vs CHW, x255 or /255,
   [-1, 1] vs [0, 1], another family's mean/std, EXIF orientation, alpha, a one-pixel crop
   offset, resize in float vs uint8, ...), cheapest first;
2. every preset of the op (and library model), the harness's own library first; the best ones
   are then *refined*: each knob where the preset differs from the pipeline is put back to the
   pipeline's value when that is no worse, which keeps the knobs a harness passes through (cv2
   honours IMREAD_IGNORE_ORIENTATION) and drops the ones that change nothing on this input;
3. every single knob change (:mod:`.explain_space`);
4. pairs of knob changes, only when nothing above explains the output, the most promising first,
   stopping at the first exact match.

Residuals (:mod:`.explain_search`): ``max_abs`` (the tolerance metric) and ``exact_fraction``. A
hypothesis *explains* the output when ``max_abs <= tolerance``. Ranking: max_abs, then the
larger exact fraction, then the harness's own library (its presets, or knob values its presets
set), then simplicity (a detector, a preset, one knob, two knobs). Hypotheses that give the same
bytes as the best are reported as ``equivalent``: indistinguishable on this input, all right.
Nothing is claimed that was not reproduced: when no hypothesis is within the tolerance,
``explained`` is false and the sentence gives the closest one with its residual.

:func:`explain_results` does this for every failing and xfail step of a scored run.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..errors import ConformanceError
from ..reference.pipeline import run_step
from ..spec import Decode, Pipeline
from ..tolerances import step_tolerance
from . import explain_text as text
from .detectors import DETECTORS_BY_NAME, StepContext, detector_candidates
from .explain_search import Evaluation, Search
from .explain_space import (IDENTITY_KNOBS, KINDS, Candidate, family_values, harness_families, in_families,
                            pair_candidates, preset_candidates, preset_family, single_changes,
                            with_changes)

#: Hypotheses kept in an explanation (best first; the JSON lists them all).
MAX_HYPOTHESES = 10
#: Presets refined after the preset stage: the best of the harness's own library and overall.
REFINE_OWN, REFINE_OTHER = 6, 3


class ExplainError(ConformanceError):
    """explain was given something it cannot work on: an array of the wrong shape or dtype, a step
    index out of range, a step that cannot run on the input, a results directory that does not
    match its bundle."""


# ---------------------------------------------------------------------------------------------
# Public result types
# ---------------------------------------------------------------------------------------------


def _json_value(v: Any) -> Any:
    if isinstance(v, tuple):
        return [_json_value(x) for x in v]
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _json_float(v: float) -> float | None:
    return float(f"{v:.9g}") if math.isfinite(v) else None


@dataclass
class Hypothesis:
    """One way the observed output was made. ``knobs``: {name: [pipeline value, explaining
    value]}; ``transform``: the gross-mistake detector (``detail`` says which variant);
    ``library``: the harness's library family it names, if it does."""

    preset: str | None
    knobs: dict[str, list]
    transform: str | None
    max_abs: float
    exact_fraction: float
    sentence: str
    detail: str | None = None
    library: str | None = None
    # the search candidate behind it (not serialised): another case of the same pipeline step
    # tries it first (explain_step's ``hints``)
    candidate: Any = field(default=None, repr=False, compare=False)

    def to_json(self) -> dict:
        return {"preset": self.preset, "knobs": {k: [_json_value(a), _json_value(b)] for k, (a, b) in self.knobs.items()},
                "transform": self.transform, "detail": self.detail, "library": self.library,
                "max_abs": _json_float(self.max_abs), "exact_fraction": _json_float(self.exact_fraction),
                "sentence": self.sentence}

    def label(self) -> str:
        """Short name: ``preset opencv.linear``, ``transform channels_reversed``, ``antialias=false``."""
        parts = []
        if self.transform:
            parts.append(f"{self.transform}" + (f" ({self.detail})" if self.detail else ""))
        if self.preset:
            parts.append(f"preset {self.preset}")
        if self.knobs and not self.transform:
            parts.append(text.knob_list({k: tuple(v) for k, v in self.knobs.items()}, 1))
        return ", ".join(parts) or "the pipeline as asked"


@dataclass
class Explanation:
    """The result of :func:`explain_step`. ``equivalent``: settings that give the same bytes as the
    best hypothesis on this input ({"preset", "knobs", "transform", "detail", "label"})."""

    hypotheses: list[Hypothesis]
    explained: bool
    budget_exhausted: bool
    equivalent: list[dict] = field(default_factory=list)
    sentence: str = ""
    op: str = ""
    harness: str | None = None
    tolerance: float = 0.0
    baseline: dict = field(default_factory=dict)  # the pipeline as asked: max_abs, exact_fraction
    evaluated: int = 0
    seconds: float = 0.0
    matches_pipeline: bool = False
    error: str | None = None

    def to_json(self) -> dict:
        return {"hypotheses": [h.to_json() for h in self.hypotheses], "explained": self.explained,
                "budget_exhausted": self.budget_exhausted, "equivalent": self.equivalent,
                "sentence": self.sentence, "op": self.op, "harness": self.harness,
                "tolerance": self.tolerance, "baseline": self.baseline, "evaluated": self.evaluated,
                "seconds": round(self.seconds, 3), "matches_pipeline": self.matches_pipeline,
                **({"error": self.error} if self.error else {})}

    def best_sentence(self) -> str:
        return self.sentence


# ---------------------------------------------------------------------------------------------
# Input checks
# ---------------------------------------------------------------------------------------------


def _check_index(pipeline: Pipeline, index: int) -> None:
    n = len(pipeline.steps)
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < n:
        raise ExplainError(f"pipeline {pipeline.id}: step {index!r} is out of range (it has "
                           f"{n} step{'s' if n != 1 else ''}: 0..{n - 1})")


def _check_observed(observed: Any) -> np.ndarray:
    if not isinstance(observed, np.ndarray):
        raise ExplainError(f"the observed output must be a numpy array, got {type(observed).__name__}")
    if observed.dtype.kind not in "uif":
        raise ExplainError(f"the observed array has dtype {observed.dtype}; explain compares "
                           "integer or float arrays")
    if not 2 <= observed.ndim <= 4 or observed.size == 0:
        raise ExplainError(f"the observed array has shape {list(observed.shape)}; a step output "
                           "is (H, W, C), or (C, H, W) / (1, C, H, W) after a layout step")
    return observed


def _reference(pipeline: Pipeline, index: int, step_input: Any) -> np.ndarray:
    step = pipeline.steps[index]
    if isinstance(step, Decode):
        if not isinstance(step_input, (bytes, bytearray, memoryview)):
            raise ExplainError(f"step {index} is a decode: its input is the encoded file's bytes, "
                               f"got {type(step_input).__name__}")
        step_input = bytes(step_input)
    elif not isinstance(step_input, np.ndarray) or step_input.ndim != 3:
        shape = list(getattr(step_input, "shape", [])) or type(step_input).__name__
        raise ExplainError(f"step {index} ({step.op}) takes an (H, W, C) array, got {shape}")
    try:
        with np.errstate(all="ignore"):
            return run_step(step, step_input)
    except ConformanceError as e:
        raise ExplainError(f"pipeline {pipeline.id}, step {index} ({step.op}) cannot run on this "
                           f"input: {e}") from None


# ---------------------------------------------------------------------------------------------
# The search
# ---------------------------------------------------------------------------------------------


class _Ranker:
    """Ranking of evaluations (module docstring) and whether one names the harness's library."""

    def __init__(self, op: str, families: tuple[str, ...], step):
        self.families = families
        self.values = family_values(op, families, step) if families else {}

    def library(self, ev: Evaluation) -> str | None:
        if not self.families:
            return None
        c = ev.candidate
        if c.preset is not None:
            return preset_family(c.preset) if in_families(c.preset, self.families) else None
        if ev.changes and all(_hashable(b) in self.values.get(k, ()) for k, (_, b) in ev.changes.items()):
            return self.families[0]
        return None

    def key(self, ev: Evaluation) -> tuple:
        kind = KINDS.index(ev.candidate.kind)
        if kind == 2 and len(ev.changes) > 1:
            kind = 3  # two knobs
        return (ev.max_abs, -ev.exact_fraction, not ev.same_dtype, 0 if self.library(ev) else 1, kind,
                len(ev.changes), ev.order)


def _hashable(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v


def _refine(search: Search, ev: Evaluation) -> Evaluation:
    """Put back the pipeline's value of the knobs where a preset differs, while that helps (module
    docstring, stage 2). Each round tries every knob still changed and takes the best result if
    it is strictly closer to the observed output; when none is, it takes one that gives the same
    bytes (a knob that changes nothing on this input); else it stops. The preset's identity
    (:data:`IDENTITY_KNOBS`) is never put back."""
    current = ev
    while not search.out_of_time:
        trials = []
        for name in current.changes:
            if name in IDENTITY_KNOBS.get(search.step.op, ()):
                continue
            trial = with_changes(current.candidate.step, {name: getattr(search.step, name)})
            if trial is None:
                continue
            got = search.evaluate(Candidate("preset", replace(trial, preset=current.candidate.preset),
                                            preset=current.candidate.preset))
            if got is not None and not got.noop and got.comparable:
                trials.append(got)
        if not trials:
            break
        best = min(trials, key=lambda t: (t.max_abs, -t.exact_fraction, len(t.changes)))
        if (best.max_abs, -best.exact_fraction) < (current.max_abs, -current.exact_fraction):
            current = best
            continue
        same = [t for t in trials if t.digest == current.digest]
        if not same:
            break
        current = same[0]
    return current


def _stage_presets(search: Search, ranker: _Ranker, families: tuple[str, ...]) -> None:
    """Every preset, then the refinement of the most promising: the harness's own presets of the
    pipeline's filter (the intent a harness keeps) first, those whose output has another shape
    included (an RGB preset for a gray pipeline), then the best of the others."""
    evaluated = [ev for c in preset_candidates(search.step, families) if (ev := search.evaluate(c)) is not None]
    wanted = getattr(search.step, "filter", None)

    def promise(ev: Evaluation) -> tuple:
        return (getattr(ev.candidate.step, "filter", None) != wanted, not ev.comparable, ranker.key(ev))

    own = sorted((ev for ev in evaluated if ranker.library(ev)), key=promise)[:REFINE_OWN]
    other = sorted((ev for ev in evaluated if ev.comparable and not ranker.library(ev)),
                   key=ranker.key)[:REFINE_OTHER]
    for ev in own + other:
        if search.out_of_time:
            search.exhausted = True
            break
        got = _refine(search, ev)
        if got.max_abs == 0 and (ranker.library(got) or not families):
            break  # an exact match (of the harness's library, if named) is found and minimised


def _hypotheses(search: Search) -> list[Evaluation]:
    """The evaluations that are hypotheses: comparable, and not the pipeline's own output."""
    return [ev for ev in search.evaluations.values() if not ev.noop and ev.comparable]


def _exact(search: Search, ranker: _Ranker, harness: str | None, any_library: bool = False) -> bool:
    """Whether the search may stop: an exact match was found (max_abs 0) that names the
    harness's library (or any, when no harness is named or ``any_library``)."""
    return any(ev.max_abs == 0 and (any_library or harness is None or ranker.library(ev))
               for ev in _hypotheses(search))


def _stage_pairs(search: Search, singles: list[tuple[str, dict, float]]) -> None:
    for cand in pair_candidates(search.step, singles):
        ev = search.evaluate(cand)
        if search.exhausted:
            return
        if ev is not None and ev.max_abs == 0:
            return


def explain_step(pipeline: Pipeline, index: int, step_input: Any, observed: np.ndarray, *,
                 tolerance: float | None, harness: str | None = None, budget_seconds: float = 5.0,
                 call: str | None = None, max_hypotheses: int = MAX_HYPOTHESES,
                 hints: tuple = ()) -> Explanation:
    """Explain the observed output of step ``index`` of ``pipeline`` (module docstring).

    ``step_input``: the encoded bytes for a decode step, else the (H, W, C) array the step gets
    (in chained mode the harness's own previous output). ``harness`` names whose output it is
    (its library is preferred on ties and named in the sentences); ``call`` is the library call
    the harness recorded, quoted in the sentence. ``tolerance`` None: the step's own (the
    pipeline's override, else the default for the op and the reference output's dtype).
    ``hints``: candidates (``Hypothesis.candidate`` of another case of the same pipeline step)
    evaluated first; an exact one that names the harness's library ends the search early.
    Raises :class:`ExplainError` for bad input."""
    start = time.perf_counter()
    _check_index(pipeline, index)
    observed = _check_observed(observed)
    step = pipeline.steps[index]
    reference = _reference(pipeline, index, step_input)
    if observed.ndim == 2 and reference.ndim == 3 and reference.shape[2] == 1:
        observed = observed[:, :, None]  # a gray image without its channel axis (cv2's habit)
    families = harness_families(harness, step.op)
    search = Search(step, step_input, observed, reference, start + budget_seconds)
    ranker = _Ranker(step.op, families, step)
    baseline = search.evaluate(Candidate("knobs", step), force=True)
    integer = reference.dtype.kind in "ui" and observed.dtype.kind in "ui"
    if tolerance is None:
        tolerance = step_tolerance(pipeline.tolerances, index, step.op, reference.dtype.name)["max_abs"]
    tol = float(tolerance)
    if baseline.comparable and baseline.max_abs <= tol and baseline.same_dtype:
        return _matches(step, harness, tol, baseline, integer, search, start)

    for cand in hints:
        search.evaluate(cand)
    ctx = StepContext(step, step_input, reference, tuple(observed.shape))
    if not _exact(search, ranker, harness):
        for cand in detector_candidates(ctx):
            search.evaluate(cand)
    if not _exact(search, ranker, harness):
        _stage_presets(search, ranker, families)
    if not _exact(search, ranker, harness, any_library=True):
        singles = []
        for group, change in single_changes(step, tuple(observed.shape)):
            variant = with_changes(step, change)
            ev = search.evaluate(Candidate("knobs", variant)) if variant is not None else None
            # a change with no effect alone (cubic_a under a triangle filter) may matter in a
            # pair: it joins the pairs, ranked after the changes that moved the output
            singles.append((group, change, ev.max_abs if ev is not None and not ev.noop else math.inf))
        if not any(ev.max_abs <= tol for ev in _hypotheses(search)):
            _stage_pairs(search, singles)
    hypotheses = _hypotheses(search)
    if not search.shape_matched:
        raise ExplainError(f"the observed array has shape {list(observed.shape)} and the step's "
                           f"reference output {list(reference.shape)}; no setting tried gives "
                           f"that shape (is it the output of step {index}, {step.op}?)")
    return _explanation(step, harness, call, tol, baseline, integer, hypotheses, ranker, search,
                        start, max_hypotheses, reference.dtype.name, observed.dtype.name)


def _matches(step, harness, tol, baseline, integer, search, start) -> Explanation:
    res = text.residual_text(baseline.max_abs, baseline.exact_fraction, integer)
    sentence = (f"{text.who(harness, start=True)} matches the pipeline's own `{step.op}` step "
                f"within the tolerance {tol:g}: {res}; nothing to explain.")
    h = Hypothesis(None, {}, None, baseline.max_abs, baseline.exact_fraction, sentence)
    return Explanation([h], True, False, [], sentence, step.op, harness, tol,
                       _residual_json(baseline), len(search.evaluations),
                       time.perf_counter() - start, matches_pipeline=True)


def _residual_json(ev: Evaluation) -> dict:
    return {"max_abs": _json_float(ev.max_abs), "exact_fraction": _json_float(ev.exact_fraction)}


def _hypothesis(ev: Evaluation, step, harness, call, tol, integer, ranker) -> Hypothesis:
    c = ev.candidate
    detector = DETECTORS_BY_NAME.get(c.transform) if c.transform else None
    phrase = detector.phrase.format(detail=c.detail or "") if detector else None
    library = ranker.library(ev)
    what = text.what(step.op, c.kind, c.preset, phrase, ev.changes)
    res = text.residual_text(ev.max_abs, ev.exact_fraction, integer)
    if ev.max_abs <= tol:
        sentence = f"{text.who(harness, start=True)} is {what}{text.library_note(c.preset, library)}, {res}"
        asked = text.asks(ev.changes, step.preset, step.op)
        if asked:
            sentence += f"; the pipeline asks {asked}"
        sentence += "."
        if detector:
            sentence += f" Fix: {detector.advice}."
        if call:
            sentence += f" The harness called {call}."
    else:
        sentence = (f"Closest, not a reproduction: {what}, {res} (tolerance {tol:g}).")
    knobs = {k: [a, b] for k, (a, b) in ev.changes.items()}
    return Hypothesis(c.preset, knobs, c.transform, ev.max_abs, ev.exact_fraction, sentence,
                      detail=c.detail, library=library, candidate=c)


def _explanation(step, harness, call, tol, baseline, integer, evaluations, ranker, search, start,
                 max_hypotheses, baseline_dtype, observed_dtype) -> Explanation:
    evaluations.sort(key=ranker.key)
    groups: dict[bytes, list[Evaluation]] = {}
    for ev in evaluations:
        groups.setdefault(ev.digest, []).append(ev)
    firsts, presets_seen = [], set()
    for g in groups.values():  # dict order = rank order of each group's best
        c = g[0].candidate
        if c.kind == "preset" and c.preset in presets_seen:
            continue  # the same preset, less refined and less close: not another hypothesis
        presets_seen.add(c.preset)
        firsts.append(g[0])
    hypotheses = [_hypothesis(ev, step, harness, call, tol, integer, ranker)
                  for ev in firsts[:max_hypotheses]]
    best = firsts[0] if firsts else None
    equivalent = []
    if best is not None:
        for ev in groups[best.digest][1:]:
            if ev.candidate.kind == "preset" and ev.candidate.preset == best.candidate.preset:
                continue  # the same preset before refinement dropped knobs that change nothing
            h = _hypothesis(ev, step, harness, None, tol, integer, ranker)
            equivalent.append({"preset": h.preset, "knobs": h.to_json()["knobs"],
                               "transform": h.transform, "detail": h.detail, "label": h.label()})
    explained = best is not None and best.max_abs <= tol
    if explained:
        sentence = hypotheses[0].sentence
        if harness and not hypotheses[0].library:
            # the harness's own library within the tolerance too, if less close: say so
            alt = next((ev for ev in firsts if ev.max_abs <= tol and ranker.library(ev)), None)
            if alt is not None:
                h = _hypothesis(alt, step, harness, None, tol, integer, ranker)
                if all(x.label() != h.label() for x in hypotheses):
                    hypotheses.append(h)
                sentence += (f" {text.LIBRARY_NAMES.get(h.library, h.library)}'s own {h.label()} is "
                             f"within the tolerance too: "
                             f"{text.residual_text(alt.max_abs, alt.exact_fraction, integer)}.")
        if equivalent:
            names = "; ".join(e["label"] for e in equivalent[:3])
            more = f" (+{len(equivalent) - 3} more)" if len(equivalent) > 3 else ""
            sentence += f" Indistinguishable on this input (same bytes): {names}{more}."
    else:
        base = text.residual_text(baseline.max_abs, baseline.exact_fraction, integer)
        nonfinite = int(np.count_nonzero(~np.isfinite(search.observed64)))
        if nonfinite:
            base += f" (the observed array holds {nonfinite} non-finite value{'s' if nonfinite != 1 else ''})"
        if not baseline.same_dtype:
            base += f" (as {baseline_dtype}, the observed array is {observed_dtype})"
        sentence = (f"Nothing tried reproduces {text.who(harness)} of `{step.op}` within the "
                    f"tolerance {tol:g}: the pipeline as asked is {base}")
        if best is not None:
            c = best.candidate
            detector = DETECTORS_BY_NAME.get(c.transform) if c.transform else None
            phrase = detector.phrase.format(detail=c.detail or "") if detector else None
            sentence += (f"; closest: {text.what(step.op, c.kind, c.preset, phrase, best.changes)}, "
                         f"{text.residual_text(best.max_abs, best.exact_fraction, integer)}")
        sentence += f". {len(search.evaluations)} settings tried"
        if search.exhausted:
            sentence += "; the time budget ran out before the search finished"
        sentence += "."
    return Explanation(hypotheses, explained, search.exhausted, equivalent, sentence, step.op, harness,
                       tol, _residual_json(baseline), len(search.evaluations),
                       time.perf_counter() - start)


# ---------------------------------------------------------------------------------------------
# Runs
# ---------------------------------------------------------------------------------------------


def explain_results(results_dir: str | Path, *, case: str | None = None, harness: str | None = None,
                    mode: str | None = None, on_step: Callable[[int, int], None] | None = None,
                    expectations: list[str | Path] | None = None,
                    budget_seconds: float = 5.0) -> list[dict]:
    """Explain every failing and xfail step of a scored run (optionally one case, harness, mode).

    Returns one dict per step: {"harness", "mode", "case", "pipeline", "input", "index", "op",
    "verdict", "call", "explanation": Explanation}. The step input is the bundle's expected output
    of the step before (isolated mode) or the harness's own (chained mode). ``on_step(done, total)``
    is called after each step. A step that cannot be explained (its output unreadable, a shape no
    setting gives) gets an Explanation with ``error`` set; the rest go on."""
    from .explain_runs import failing_steps

    jobs = failing_steps(Path(results_dir), case=case, harness=harness, mode=mode,
                         expectations=expectations)
    out = []
    for n, job in enumerate(jobs, 1):
        try:
            explanation = explain_step(job.pipeline, job.index, job.step_input(), job.observed(),
                                       tolerance=job.tolerance, harness=job.harness,
                                       budget_seconds=budget_seconds, call=job.call)
        except ConformanceError as e:
            explanation = Explanation([], False, False, sentence=f"cannot explain: {e}", op=job.op,
                                      harness=job.harness, tolerance=job.tolerance, error=str(e))
        out.append({"harness": job.harness, "mode": job.mode, "case": job.case["id"],
                    "pipeline": job.case["pipeline"], "input": job.case["input"], "index": job.index,
                    "op": job.op, "verdict": job.verdict, "call": job.call, "explanation": explanation})
        if on_step:
            on_step(n, len(jobs))
    return out
