"""Generate a bundle: run every (pipeline, input) case through the reference.

Cases run in worker processes (``jobs``); one failing case never stops the run:
- a negative input (``expect="error"``) that the reference rejects becomes a negative vector;
  one that the reference *accepts* is a corpus bug and is reported as a problem, unless the
  pipeline's decode repairs damaged data (``on_corrupt="libjpeg-turbo"``): then it is a
  positive case (the library's repaired output);
- a positive input the reference cannot process (unsupported feature, bad file among a user's
  photos) is recorded in the manifest's ``skipped`` list with the error, and reported.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from .bundle import BundleWriter, CaseResult, InputFile
from .errors import ConformanceError, SpecError
from .spec import Pipeline


@dataclass
class Plan:
    """What to generate: inputs, pipelines, and which inputs each pipeline runs on."""

    inputs: list[InputFile]
    pipelines: list[Pipeline]
    # pipeline id -> input tags it runs on (None: every input); negative inputs join a pipeline
    # only when it asks for the tag "negative" (they only make sense with a decode step).
    selection: dict[str, tuple[str, ...] | None] = field(default_factory=dict)
    readme: str | None = None
    # user files refused before reading (not an image, too large, not a regular file)
    refused: list[dict] = field(default_factory=list)

    def cases(self) -> list[tuple[str, Pipeline, InputFile]]:
        out = []
        for p in self.pipelines:
            tags = self.selection.get(p.id)
            for item in self.inputs:
                if tags is None:
                    chosen = item.expect == "ok"
                else:
                    chosen = bool(set(tags) & set(item.tags))
                    if item.expect == "error":
                        chosen = "negative" in tags and chosen
                if chosen and reads(p, item):
                    out.append((case_id(p.id, item.id), p, item))
        return out


def reads(pipeline: Pipeline, item: InputFile) -> bool:
    """Whether ``pipeline`` can read ``item`` at all: a pipeline that starts with ``tensor`` reads
    tensor inputs (.npy), every other pipeline reads encoded images, so a mixed set of inputs is
    paired by kind and never produces a case that fails for being the wrong kind of file."""
    from .bundle import NPY

    return (pipeline.steps[0].op == "tensor") == (item.media_type == NPY)


def recovers(pipeline: Pipeline) -> bool:
    """Whether the pipeline's decode step repairs damaged data (``on_corrupt`` other than
    ``reject``): a negative input (one a conforming decoder rejects) it decodes is a positive case."""
    first = pipeline.steps[0]
    return first.op == "decode" and getattr(first, "on_corrupt", "reject") != "reject"


def case_id(pipeline_id: str, input_id: str) -> str:
    """Case names: pipeline id (which encodes the knobs) then input id, joined by '__'."""
    return f"{pipeline_id}__{input_id}"


@dataclass
class Outcome:
    """Result of one case in a worker: outputs, or the error (type and message)."""

    case: str
    outputs: list[np.ndarray] | None
    error: dict | None


def run_reference_case(args: tuple[str, Pipeline, bytes, str]) -> Outcome:
    """``(case id, pipeline, input bytes, source name)`` through the reference: its Outcome."""
    from .reference.pipeline import run_pipeline

    cid, pipeline, data, source = args
    try:
        with np.errstate(all="ignore"):  # overflow is checked below, by value, not by warning
            outputs = run_pipeline(pipeline, data, source=source)
        error = _nonfinite_error(pipeline, outputs)
        return Outcome(cid, None if error else outputs, error)
    except ConformanceError as e:  # bad input, unsupported feature, a step that cannot apply
        return Outcome(cid, None, {"type": type(e).__name__, "message": str(e)})
    except Exception as e:  # a reference bug: report it on this case, keep the run going
        return Outcome(cid, None, {"type": "InternalError", "message": f"{type(e).__name__}: {e}"})


def _nonfinite_error(pipeline: Pipeline, outputs: list[np.ndarray]) -> dict | None:
    """An error record if a step *creates* inf or NaN (its input had none): such an expected value
    cannot be met within any tolerance, so the case is skipped with the reason, naming the step
    and its knobs (a std of 1e-300, a scale that overflows float16). Non-finite values that come
    in with a tensor input are data: they pass through to the step that decides what they become
    (``quantize``), and the scorer compares them as values (NaN matches NaN)."""
    before = 0
    for index, (step, out) in enumerate(zip(pipeline.steps, outputs)):
        bad = int(out.size - np.count_nonzero(np.isfinite(out))) if out.dtype.kind == "f" else 0
        if bad and not (before or (index == 0 and step.op == "tensor")):
            return {"type": "NonFiniteOutput",
                    "message": f"step {index} ({step.op}) produced {bad} non-finite value(s) "
                               f"(inf/NaN) in {out.dtype.name}: its knobs overflow the output "
                               "type, so no tolerance can hold"}
        before = bad
    return None


def classify(outcome: Outcome, pipeline: Pipeline, item: InputFile) -> tuple[str, CaseResult | dict | str]:
    """What the reference's outcome on one case becomes (the rules of the module docstring):
    ``("case", CaseResult)`` (a positive or negative vector), ``("skip", error record)`` or
    ``("problem", message)`` (a corpus or reference bug)."""
    if item.expect == "error" and outcome.error is None and recovers(pipeline):
        # a damaged file a strict decoder rejects, repaired as the pipeline's decode says
        return "case", CaseResult(outcome.case, item.id, pipeline, "ok", outputs=outcome.outputs)
    if item.expect == "error":
        if outcome.error is None:
            return "problem", (f"{outcome.case}: negative input {item.id} was decoded, "
                               "but the corpus says a conforming decoder must reject it")
        if outcome.error["type"] in ("InternalError", "SpecError"):
            return "problem", f"{outcome.case}: {outcome.error['message']}"
        return "case", CaseResult(outcome.case, item.id, pipeline, "error", error=outcome.error)
    if outcome.error is not None:
        return "skip", outcome.error
    return "case", CaseResult(outcome.case, item.id, pipeline, "ok", outputs=outcome.outputs)


@dataclass
class GenerateReport:
    cases_written: int = 0
    negative_cases: int = 0
    skipped: list[dict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    refused: list[dict] = field(default_factory=list)  # input files not read (Plan.refused)


def generate(plan: Plan, out_dir: str | Path, *, jobs: int = 1, overwrite: bool = False,
             on_case: Callable[[str], None] | None = None, generator: dict | None = None) -> GenerateReport:
    """Run ``plan`` through the reference and write the bundle to ``out_dir``."""
    from .bundle import check_output_dir
    from .reference.pipeline import check_pipeline

    check_output_dir(Path(out_dir), overwrite=overwrite)  # before the work, not after it
    for p in plan.pipelines:
        check_pipeline(p)
    writer = BundleWriter(generator)
    writer.readme = plan.readme
    for item in plan.inputs:
        item.header = input_header(item.data, item.origin or item.id)
        writer.add_input(item)
    cases = plan.cases()
    seen = set()
    for cid, _, _ in cases:
        if cid in seen:
            raise SpecError(f"duplicate case name {cid!r}: pipeline and input ids must be unique")
        seen.add(cid)
    by_id = {cid: (p, item) for cid, p, item in cases}
    work = [(cid, p, item.data, item.origin or item.id) for cid, p, item in cases]
    report = GenerateReport(refused=list(plan.refused))
    for outcome in _map(run_reference_case, work, jobs):
        pipeline, item = by_id[outcome.case]
        kind, what = classify(outcome, pipeline, item)
        if kind == "problem":
            report.problems.append(what)
        elif kind == "skip":
            writer.skip(item.id, pipeline, what)
            report.skipped.append({"case": outcome.case, **what})
        else:
            writer.add_case(what)
            report.negative_cases += what.expect == "error"
        report.cases_written = len(writer.cases)
        if on_case is not None:
            on_case(outcome.case)
    writer.write(out_dir, overwrite=overwrite)
    return report


ICC_NOTE = "embedded; kept, not applied (the reference does no colour management)"


def input_header(data: bytes, source: str) -> dict | None:
    """What the manifest records of an input's headers (:func:`reference.decode.probe`; for a
    tensor input :func:`reference.postprocess.tensor.describe`: dtype, shape, value range, NaN
    and ±inf counts), or None for a file whose headers cannot be read (negative vectors, mostly)."""
    from .reference.decode import probe
    from .reference.postprocess.tensor import MAGIC, describe

    if data.startswith(MAGIC):
        try:
            return describe(data, source)
        except ConformanceError:
            return None
    try:
        info = probe(data, source)
    except ConformanceError:
        return None
    out = {k: info.get(k) for k in ("format", "width", "height", "colour_type", "bit_depth",
                                     "interlaced", "orientation")}
    out["icc_profile"] = ICC_NOTE if info.get("has_icc") else None
    if info.get("animated"):  # an APNG (acTL): which image a decoder returns is a knob (apng_frame)
        out["animated"] = True
    if out["format"] == "webp":  # VP8L or VP8 (+ ALPH)
        out["lossless"] = bool(info.get("lossless"))
    elif info.get("lossless"):  # a lossless JPEG (SOF3): libjpeg converts no colour (lossless_color)
        out["lossless"] = True
    if out["format"] == "jpeg":  # damaged data libjpeg-turbo repairs (decode knob on_corrupt)
        from .reference.decode import jpeg_damage

        damage = jpeg_damage(data, source)
        if damage is not None:
            out["damaged"], out["damage"] = True, damage
    return out


def _map(fn: Callable, items: list, jobs: int) -> Iterable:
    """Ordered map, in worker processes when jobs > 1."""
    if jobs <= 1 or len(items) < 2:
        for it in items:
            yield fn(it)
        return
    with ProcessPoolExecutor(max_workers=min(jobs, os.cpu_count() or 1)) as pool:
        yield from pool.map(fn, items, chunksize=max(1, len(items) // (8 * jobs)))


def regenerate_from_bundle(bundle_dir: str | Path, out_dir: str | Path, *, jobs: int = 1,
                           on_case: Callable[[str], None] | None = None) -> GenerateReport:
    """Rebuild a bundle from its own committed inputs and pipelines (the reproducibility check)."""
    from .bundle import Bundle

    b = Bundle(bundle_dir)
    inputs = []
    for iid, meta in sorted(b.manifest["inputs"].items()):
        inputs.append(InputFile(id=iid, data=b.input_bytes(iid), media_type=meta["media_type"],
                                description=meta.get("description", ""), expect=meta["expect"],
                                origin=meta.get("origin", ""), tags=tuple(meta.get("tags", ())),
                                meta=meta.get("meta", {})))
    pairs = {(c["pipeline"], c["input"]) for c in b.cases}
    pairs |= {(s["pipeline"], s["input"]) for s in b.manifest.get("skipped", [])}
    readme = None
    if "README.md" in b.manifest.get("files", {}):
        readme = b.read_listed("README.md", b.manifest["files"]["README.md"]).decode()
    plan = _PairPlan(inputs=inputs, pipelines=list(b.pipelines.values()), readme=readme, pairs=pairs)
    return generate(plan, out_dir, jobs=jobs, overwrite=True, on_case=on_case,
                    generator={k: v for k, v in b.manifest["generator"].items()
                               if k not in ("name", "version", "numpy")})


@dataclass
class _PairPlan(Plan):
    pairs: set = field(default_factory=set)

    def cases(self):
        return [(case_id(p.id, item.id), p, item) for p in self.pipelines for item in self.inputs
                if (p.id, item.id) in self.pairs]
