"""``conformance impact``: what a preprocessing difference does to a real model's predictions.

Three questions, one model:

1. **Two pipelines** (:func:`impact_pipelines`): each image goes through pipeline A and
   pipeline B (the reference, :func:`conformance.reference.pipeline.run_pipeline`); the model
   runs on both final tensors; :mod:`.metrics` says how many predictions changed and by how
   much. Identical pipelines give agreement 1.0 and zero drift exactly (ONNX Runtime with one
   intra-op thread is deterministic: tested).
2. **A run's chained outputs** (:func:`impact_results`): for a ``conformance run`` results
   directory, the reference's final tensor of each case (the bundle's expected output of the
   last step) against each harness's chained final tensor: what a deployment with that library
   feeds the model. Cases whose final tensor does not fit the model are counted and left out.
3. **Which knobs matter** (:func:`sweep`): from one base pipeline, one knob changed at a time
   over the values the reference offers (:func:`knob_variants`), each variant compared with the
   base; knobs ranked by the share of images whose prediction changes, then by mean |Δp|.

Plus, on the same tensors, **runtime vs runtime** (ONNX Runtime vs tract: max |Δ| of every
output, prediction flips) and **determinism** (two runs each: ONNX Runtime with one intra-op
thread and with its default, tract; identical or not, and by how much), :func:`runtime_checks`.

An image a pipeline cannot process (a file that does not decode) is listed with the reason and
skipped; the rest go on. A model that is not ONNX, or a tensor that does not fit its input, is a
:class:`.builtin.ModelError` (one line).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..bundle import InputFile
from ..errors import ConformanceError, SpecError
from ..spec import Normalize, Pipeline, Resize, Step
from . import metrics
from .builtin import ModelError, ModelSpec, OrtModel, TractModel, check_fits, tract_available

FORMAT = "conformance-impact"
VERSION = 1
MAX_FIGURES = 24  # flipped images kept (tensors) for the HTML page, per comparison


# ---------------------------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------------------------

@dataclass
class Timing:
    """Wall time spent per pipeline op and in the model (seconds)."""

    ops: dict[str, float] = field(default_factory=dict)
    model: float = 0.0
    model_runs: int = 0

    def add_op(self, op: str, seconds: float) -> None:
        self.ops[op] = self.ops.get(op, 0.0) + seconds

    def to_json(self, total: float) -> dict:
        pre = sum(self.ops.values())
        return {"total_s": round(total, 3), "preprocessing_s": round(pre, 3),
                "per_op_s": {k: round(v, 3) for k, v in sorted(self.ops.items())},
                "model_s": round(self.model, 3), "model_runs": self.model_runs,
                "other_s": round(max(0.0, total - pre - self.model), 3)}


def run_steps(steps: tuple[Step, ...], value, *, start: int, source: str, timing: Timing,
              outputs: list | None = None) -> np.ndarray:
    """Run ``steps[start:]`` on ``value`` (the output of step start − 1, or the input bytes),
    timing each op; appends every output to ``outputs`` when given."""
    from ..reference.pipeline import run_step

    for index in range(start, len(steps)):
        step = steps[index]
        t0 = time.perf_counter()
        try:
            with np.errstate(all="ignore"):
                value = run_step(step, value, source=source)
        except SpecError as e:
            if e.step is not None:
                raise
            raise SpecError(e.reason, source=source, step=index, field=e.field, value=e.value) from None
        finally:
            timing.add_op(step.op, time.perf_counter() - t0)
        if outputs is not None:
            outputs.append(value)
    return value


# ---------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------

class Model:
    """A model spec with its runtimes (ONNX Runtime one-thread always; the others on demand)."""

    def __init__(self, spec: ModelSpec, timing: Timing | None = None):
        self.spec = spec
        self.path = spec.model_path()
        check_onnx_file(self.path)
        self.ort = OrtModel(self.path, spec, threads=1)
        self._others: dict[str, Any] = {}
        self.timing = timing or Timing()
        self.checked_shapes: set[tuple] = set()

    def runtime(self, name: str):
        """``onnxruntime`` (1 thread), ``onnxruntime-default`` (default threads) or ``tract``."""
        if name == "onnxruntime":
            return self.ort
        if name not in self._others:
            if name == "onnxruntime-default":
                self._others[name] = OrtModel(self.path, self.spec, threads=0)
            elif name == "tract":
                why = tract_available()
                if why:
                    raise ModelError(why)
                self._others[name] = TractModel(self.path)
            else:
                raise ValueError(name)
        return self._others[name]

    def fits(self, x: np.ndarray, where: str) -> None:
        key = (x.shape, x.dtype.str)
        if key not in self.checked_shapes:
            check_fits(x, self.ort, self.path, where)
            self.checked_shapes.add(key)

    def raw(self, x: np.ndarray, runtime: str = "onnxruntime") -> list[np.ndarray]:
        t0 = time.perf_counter()
        out = self.runtime(runtime).run(x)
        self.timing.model += time.perf_counter() - t0
        self.timing.model_runs += 1
        return [np.asarray(o) for o in out]

    def predict(self, x: np.ndarray, runtime: str = "onnxruntime") -> metrics.Prediction:
        return self.read(self.raw(x, runtime))

    def read(self, outputs: list[np.ndarray]) -> metrics.Prediction:
        return metrics.read_prediction(outputs, self.spec.kind, output_index=self.spec.output_index,
                                       probabilities=self.spec.probabilities)

    def compare(self, pairs, top_k: int = 5) -> dict:
        return metrics.compare(self.spec.kind, pairs, self.spec.labels, top_k)


def check_onnx_file(path: Path) -> None:
    """ModelError naming the file unless it parses as an ONNX ModelProto with a graph."""
    import onnx

    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as e:  # noqa: BLE001 - protobuf's DecodeError and friends
        raise ModelError(f"{path}: not an ONNX model (does not parse as an ONNX ModelProto: "
                         f"{type(e).__name__})") from None
    if not proto.graph.node:
        raise ModelError(f"{path}: not an ONNX model (no graph nodes)")


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------

@dataclass
class Figure:
    """A flipped image: both tensors, to draw side by side."""

    image: str
    a: np.ndarray
    b: np.ndarray
    caption: str


@dataclass
class Comparison:
    a: str
    b: str
    metrics: dict
    figures: list[Figure] = field(default_factory=list, repr=False)
    note: str = ""

    def to_json(self) -> dict:
        out = {"a": self.a, "b": self.b, "metrics": self.metrics}
        if self.note:
            out["note"] = self.note
        return out


@dataclass
class Impact:
    """Everything one ``impact`` command measured (``to_json``: impact-v1.schema.json)."""

    mode: str  # pipelines | results | sweep
    model: ModelSpec
    images: list[str] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    refused: list[dict] = field(default_factory=list)
    comparisons: list[Comparison] = field(default_factory=list)
    runtimes: dict | None = None
    sweep: dict | None = None
    timing: dict = field(default_factory=dict)
    pipelines: dict = field(default_factory=dict)  # id -> description
    source: str = ""

    def to_json(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "mode": self.mode, "source": self.source,
                "model": self.model.to_json(), "pipelines": self.pipelines,
                "images": {"used": len(self.images), "names": self.images, "skipped": self.skipped,
                           "refused": self.refused},
                "comparisons": [c.to_json() for c in self.comparisons],
                "runtimes": self.runtimes, "sweep": self.sweep, "timing": self.timing}


def _name(item: InputFile) -> str:
    return item.origin or item.id


def _figure(name: str, a: np.ndarray, b: np.ndarray, pa: metrics.Prediction, pb: metrics.Prediction,
            labels: tuple[str, ...]) -> Figure:
    if pa.probs is not None:
        caption = (f"A: {metrics.label_of(labels, pa.top1)} ({pa.probs[pa.top1]:.3f}), "
                   f"B: {metrics.label_of(labels, pb.top1)} "
                   f"({pb.probs[pb.top1]:.3f})")
    else:
        m = metrics.match_boxes(pa.boxes, pb.boxes)
        caption = f"A: {len(pa.boxes)} boxes, B: {len(pb.boxes)} boxes, {len(m)} matched at IoU >= 0.5"
    return Figure(name, a, b, caption)


# ---------------------------------------------------------------------------------------------
# 1. Two pipelines
# ---------------------------------------------------------------------------------------------

def impact_pipelines(spec: ModelSpec, a: Pipeline, b: Pipeline, items: list[InputFile], *,
                     runtime: str = "onnxruntime", runtime_images: int = 8, top_k: int = 5,
                     on_image: Callable[[str], None] | None = None) -> Impact:
    """Pipelines A and B on every image, the model on both tensors (module docstring)."""
    from ..reference.pipeline import check_pipeline

    for p in (a, b):
        check_pipeline(p)
    t_start = time.perf_counter()
    timing = Timing()
    model = Model(spec, timing)
    result = Impact("pipelines", spec, pipelines={p.id: p.description for p in (a, b)})
    pairs, tensors_a, figures = [], [], []
    for item in items:
        try:
            xa = run_steps(a.steps, item.data, start=0, source=_name(item), timing=timing)
            xb = run_steps(b.steps, item.data, start=0, source=_name(item), timing=timing)
        except ConformanceError as e:
            result.skipped.append({"image": _name(item), "reason": str(e)})
        else:
            model.fits(xa, f"pipeline {a.id}")
            model.fits(xb, f"pipeline {b.id}")
            pa, pb = model.predict(xa, runtime), model.predict(xb, runtime)
            pairs.append((_name(item), pa, pb))
            result.images.append(_name(item))
            if len(tensors_a) < runtime_images:
                tensors_a.append((_name(item), xa))
            if metrics.changed(spec.kind, pa, pb) and len(figures) < MAX_FIGURES:
                figures.append(_figure(_name(item), xa, xb, pa, pb, spec.labels))
        if on_image:
            on_image(_name(item))
    result.comparisons.append(Comparison(f"A: {a.id}", f"B: {b.id}", model.compare(pairs, top_k), figures,
                                         note=f"model run by {runtime}"))
    if runtime_images and tensors_a:
        result.runtimes = runtime_checks(model, tensors_a, label=f"pipeline {a.id}'s tensors")
    result.timing = timing.to_json(time.perf_counter() - t_start)
    return result


# ---------------------------------------------------------------------------------------------
# 4. Runtime vs runtime, determinism
# ---------------------------------------------------------------------------------------------

def _max_abs(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    return max(float(np.max(np.abs(x.astype(np.float64) - y.astype(np.float64)))) if x.size else 0.0
               for x, y in zip(a, b))


def runtime_checks(model: Model, tensors: list[tuple[str, np.ndarray]], *, label: str = "") -> dict:
    """ONNX Runtime (1 thread) vs tract on the same tensors, and two runs of each runtime
    (ONNX Runtime 1 thread, ONNX Runtime default threads, tract): identical, or the difference."""
    out: dict[str, Any] = {"images": len(tensors), "tensors": label}
    runs: dict[str, list[list[list[np.ndarray]]]] = {}
    names = ["onnxruntime", "onnxruntime-default"]
    why_not_tract = tract_available()
    if why_not_tract is None:
        names.append("tract")
    else:
        out["tract_unavailable"] = why_not_tract
    for name in names:
        try:
            runs[name] = [[model.raw(x, name), model.raw(x, name)] for _, x in tensors]
        except ConformanceError as e:
            out.setdefault("errors", {})[name] = str(e)
        except Exception as e:  # noqa: BLE001 - a runtime's own failure is information, not a crash
            out.setdefault("errors", {})[name] = f"{type(e).__name__}: {str(e)[:300]}"
    det = []
    for name, per_image in runs.items():
        diffs = [_max_abs(r1, r2) for r1, r2 in per_image]
        det.append({"runtime": name, "threads": {"onnxruntime": 1, "onnxruntime-default": "default",
                                                  "tract": 1}[name],
                    "identical": all(d == 0 for d in diffs), "max_abs": max(diffs) if diffs else 0.0})
    out["determinism"] = det
    pairs_vs = []
    for other in ("tract", "onnxruntime-default"):
        if "onnxruntime" not in runs or other not in runs:
            continue
        diffs, per_output, flips = [], None, 0
        for (name, _), r_ort, r_other in zip(tensors, runs["onnxruntime"], runs[other]):
            a, b = r_ort[0], r_other[0]
            if len(a) != len(b) or any(x.shape != y.shape for x, y in zip(a, b)):
                out.setdefault("errors", {})[other] = (f"output shapes differ: {[list(x.shape) for x in a]} "
                                                       f"vs {[list(y.shape) for y in b]}")
                break
            d = [float(np.max(np.abs(x.astype(np.float64) - y.astype(np.float64)))) if x.size else 0.0
                 for x, y in zip(a, b)]
            per_output = d if per_output is None else [max(u, v) for u, v in zip(per_output, d)]
            diffs.append(max(d))
            pa, pb = model.read(a), model.read(b)
            flips += metrics.changed(model.spec.kind, pa, pb)
            pairs_vs.append((name, pa, pb))
        else:
            key = "onnxruntime_vs_tract" if other == "tract" else "threads_1_vs_default"
            out[key] = {"max_abs": max(diffs) if diffs else 0.0, "per_output_max_abs": per_output or [],
                        "flips": flips, "identical": all(d == 0 for d in diffs)}
            pairs_vs.clear()
    return out


# ---------------------------------------------------------------------------------------------
# 2. A run's chained outputs
# ---------------------------------------------------------------------------------------------

def impact_results(spec: ModelSpec, results: Path, *, top_k: int = 5, runtime: str = "onnxruntime",
                   runtime_images: int = 8, on_case: Callable[[str], None] | None = None) -> Impact:
    """The reference's final tensor of each case vs each harness's chained final tensor."""
    from ..bundle import Bundle, read_npy
    from ..results import harness_dir, read_records, read_run
    from ..safeio import confined

    t_start = time.perf_counter()
    timing = Timing()
    run = read_run(results)
    if "chained" not in run["modes"]:
        raise ModelError(f"{results}: the run has no chained mode (modes: {', '.join(run['modes'])}); "
                         "impact reads what a deployment feeds the model: run with --mode chained or both")
    bundle = Bundle(run["bundle"])
    model = Model(spec, timing)
    result = Impact("results", spec, source=str(results),
                    pipelines={pid: p.description for pid, p in bundle.pipelines.items()})
    # the reference side: the bundle's expected output of each case's last step
    fitting, unfit = {}, 0
    for case in bundle.cases:
        if case.get("expect") != "ok" or not case.get("steps"):
            continue
        last = case["steps"][-1]
        if not _fits_shape(last, model):
            unfit += 1
            continue
        fitting[case["id"]] = case
    if not fitting:
        raise ModelError(f"{results}: no case of bundle {run['bundle']} ends in a tensor that fits the "
                         f"model's input {list(model.ort.input_shape)} float32 ({unfit} case(s) do not)")
    ref_pred: dict[str, metrics.Prediction] = {}
    ref_tensor: dict[str, np.ndarray] = {}
    tensors = []
    for cid, case in fitting.items():
        x = bundle.expected(case["steps"][-1])
        ref_tensor[cid] = x
        ref_pred[cid] = model.predict(x, runtime)
        if len(tensors) < runtime_images:
            tensors.append((cid, x))
        if on_case:
            on_case(cid)
    result.images = sorted({fitting[c]["input"] for c in fitting})
    for harness in sorted(run["harnesses"]):
        records = read_records(results, harness, "chained")
        out_root = harness_dir(results, harness, "chained")
        by_pipeline: dict[str, list] = {}
        figures: dict[str, list] = {}
        missing: dict[str, list] = {}
        for cid, case in fitting.items():
            rel, why = final_output(records.get(cid), case["steps"][-1]["index"])
            if rel is None:
                missing.setdefault(case["pipeline"], []).append({"image": case["input"], "reason": why})
                continue
            try:
                xb = read_npy(confined(out_root, rel), where=rel)
                model.fits(xb, f"harness {harness}, case {cid}")
            except ConformanceError as e:
                missing.setdefault(case["pipeline"], []).append({"image": case["input"], "reason": str(e)[:300]})
                continue
            pb = model.predict(xb, runtime)
            by_pipeline.setdefault(case["pipeline"], []).append((case["input"], ref_pred[cid], pb))
            if metrics.changed(spec.kind, ref_pred[cid], pb) and len(figures.get(case["pipeline"], [])) < MAX_FIGURES:
                figures.setdefault(case["pipeline"], []).append(
                    _figure(case["input"], ref_tensor[cid], xb, ref_pred[cid], pb, spec.labels))
            if on_case:
                on_case(cid)
        for pid in sorted(set(by_pipeline) | set(missing)):
            pairs = by_pipeline.get(pid, [])
            comp = Comparison(f"reference: {pid}", f"{harness} (chained): {pid}",
                              model.compare(pairs, top_k) if pairs else {"images": 0},
                              figures.get(pid, []))
            if missing.get(pid):
                comp.metrics["not_compared"] = missing[pid]
            result.comparisons.append(comp)
    if unfit:
        result.skipped.append({"image": "(cases)", "reason": f"{unfit} case(s) end in a tensor that does "
                                                             "not fit the model's input: not compared"})
    if runtime_images and tensors:
        result.runtimes = runtime_checks(model, tensors, label="the reference's final tensors")
    result.timing = timing.to_json(time.perf_counter() - t_start)
    return result


def final_output(record: dict | None, last_index: int) -> tuple[str | None, str]:
    """(the output file a harness's record names for the case's last step, "") or (None, why it
    has none): what a deployment with that harness would feed the model, or why it cannot."""
    step = None
    if record is not None:
        step = next((s for s in record.get("steps", []) if s.get("index") == last_index), None)
    if record is None or step is None or step.get("status") != "ok" or not step.get("output"):
        why = ("no record" if record is None else record.get("error") or
               (f"step {last_index} {step.get('status')}: {step.get('message', '')}" if step
                else "no output for the last step"))
        return None, str(why)[:300]
    return step["output"], ""


def _fits_shape(step_entry: dict, model: Model) -> bool:
    shape = step_entry.get("shape", [])
    want = model.ort.input_shape
    return (step_entry.get("dtype") == "float32" and len(shape) == len(want)
            and all(not isinstance(d, int) or d <= 0 or d == n for d, n in zip(want, shape)))


# ---------------------------------------------------------------------------------------------
# 3. Sensitivity sweep
# ---------------------------------------------------------------------------------------------

# Knobs whose values are not a ``choices`` tuple in spec.py, with the alternatives tried.
EXTRA_VALUES: dict[tuple[str, str], tuple] = {
    ("resize", "arithmetic"): ("float64", "float32", "fixed:22", "opencv"),
    ("resize", "cubic_a"): (-0.5, -0.75),
    ("resize", "lobes"): (3, 4),
}
# normalise constants: named sets (mean, std, scale) tried in place of the base's
NORMALIZE_SETS = {
    "unit [0,1]": dict(mean=(0.0,), std=(1.0,), scale=1 / 255, divisor=None),
    "symmetric [-1,1]": dict(mean=(0.5,), std=(0.5,), scale=1 / 255, divisor=None),
    "imagenet": dict(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), scale=1 / 255, divisor=None),
    "0..255": dict(mean=(0.0,), std=(1.0,), scale=1.0, divisor=None),
}
# knobs that cannot matter for a filter (kept out of the sweep to save time, and said so)
SKIP_KNOBS = {"preset", "max_pixels", "background", "value", "input_range", "dtype", "compute_dtype",
              "layout", "batch", "mode", "top", "left", "height", "width", "shorter_side", "longer_side"}


@dataclass(frozen=True)
class Variant:
    step: int
    op: str
    knob: str
    value: Any
    base_value: Any
    pipeline: Pipeline | None
    note: str = ""
    refused: str = ""

    @property
    def label(self) -> str:
        return f"{self.op}.{self.knob}"


def _value_json(v: Any) -> Any:
    if isinstance(v, tuple):
        return list(v)
    return v


def knob_variants(base: Pipeline, only: set[str] | None = None) -> list[Variant]:
    """One-knob-at-a-time variants of ``base``: every knob with ``choices`` (spec.py) of every
    step, each other value (plus :data:`EXTRA_VALUES` and :data:`NORMALIZE_SETS`). A variant the
    reference refuses (SpecError from validation or ``check_pipeline``) is kept with the reason;
    a refused resize variant is retried with ``arithmetic="float64"``, ``weights_dtype="float64"``
    (the exact model, which defines every kernel option) and labelled so."""
    from ..reference.pipeline import check_pipeline

    out: list[Variant] = []
    for i, step in enumerate(base.steps):
        candidates: list[tuple[str, Any, Any, dict]] = []
        for f in fields(step):
            if f.name in SKIP_KNOBS:
                continue
            choices = f.metadata.get("choices") or EXTRA_VALUES.get((step.op, f.name))
            if not choices:
                continue
            current = getattr(step, f.name)
            for v in choices:
                if v != current:
                    candidates.append((f.name, v, current, {f.name: v}))
        if isinstance(step, Normalize):
            for name, values in NORMALIZE_SETS.items():
                same = (values["mean"], values["std"], values["scale"], None) == (
                    step.mean, step.std, step.scale, step.divisor)
                if not same:
                    candidates.append(("constants", name, f"mean {list(step.mean)}, std {list(step.std)}", values))
        for knob, value, current, changes in candidates:
            label = f"{step.op}.{knob}"
            if only and label not in only and step.op not in only:
                continue
            out.append(_variant(base, i, step, knob, value, current, changes, check_pipeline))
    return out


def _variant(base: Pipeline, i: int, step: Step, knob: str, value: Any, current: Any, changes: dict,
             check: Callable) -> Variant:
    def build(ch: dict) -> Pipeline:
        new = replace(step, **ch)
        new.validate({})
        steps = base.steps[:i] + (new,) + base.steps[i + 1:]
        p = Pipeline(id=f"{base.id}.{step.op}.{knob}={value}", steps=steps, description="")
        check(p)
        return p

    try:
        return Variant(i, step.op, knob, value, current, build(changes))
    except (SpecError, TypeError, ValueError) as e:
        reason = getattr(e, "reason", str(e))
    if isinstance(step, Resize) and (step.arithmetic, step.weights_dtype) != ("float64", "float64"):
        exact = {"arithmetic": "float64", "weights_dtype": "float64"}
        exact.update(changes)
        extra = ", ".join(f"{k}={v}" for k, v in exact.items() if k not in changes)
        try:
            return Variant(i, step.op, knob, value, current, build(exact),
                           note=f"with {extra} (the reference refuses it with arithmetic="
                                f"{step.arithmetic}: {reason})")
        except (SpecError, TypeError, ValueError):
            pass
    return Variant(i, step.op, knob, value, current, None, refused=reason)


def _digest(x: np.ndarray) -> str:
    h = hashlib.sha1(str((x.shape, x.dtype.str)).encode())
    h.update(np.ascontiguousarray(x).view(np.uint8).reshape(-1))
    return h.hexdigest()


def sweep(spec: ModelSpec, base: Pipeline, items: list[InputFile], *, only: set[str] | None = None,
          top_k: int = 5, runtime_images: int = 0,
          on_start: Callable[[int], None] | None = None,
          on_variant: Callable[[str], None] | None = None) -> Impact:
    """The sensitivity sweep (module docstring). Costs: each image's base step outputs are kept,
    so a variant of step k reruns steps k.. only (decode runs once per decode variant, not per
    resize variant); predictions are cached by tensor digest, so a knob that leaves the tensor
    unchanged costs no model run."""
    from ..reference.pipeline import check_pipeline

    check_pipeline(base)
    t_start = time.perf_counter()
    timing = Timing()
    model = Model(spec, timing)
    result = Impact("sweep", spec, pipelines={base.id: base.description})
    variants = knob_variants(base, only)
    if on_start:
        on_start(len(items) + len([v for v in variants if v.pipeline is not None]))
    base_outs: dict[str, list[np.ndarray]] = {}
    base_pred: dict[str, metrics.Prediction] = {}
    cache: dict[str, metrics.Prediction] = {}
    names: dict[str, str] = {}
    for item in items:
        outs: list[np.ndarray] = []
        try:
            x = run_steps(base.steps, item.data, start=0, source=_name(item), timing=timing, outputs=outs)
        except ConformanceError as e:
            result.skipped.append({"image": _name(item), "reason": str(e)})
        else:
            model.fits(x, f"pipeline {base.id}")
            base_outs[item.id] = outs
            names[item.id] = _name(item)
            key = _digest(x)
            base_pred[item.id] = cache[key] = model.predict(x)
        if on_variant:
            on_variant(_name(item))
    result.images = [names[i] for i in base_outs]
    if not base_outs:
        raise SpecError(f"no image went through the base pipeline {base.id} "
                        f"({len(result.skipped)} skipped; first: {result.skipped[0]['reason'] if result.skipped else '-'})")
    rows = []
    by_data = {item.id: item for item in items}
    for v in variants:
        row = {"step": v.step, "op": v.op, "knob": v.knob, "value": _value_json(v.value),
               "base_value": _value_json(v.base_value)}
        if v.note:
            row["note"] = v.note
        if v.pipeline is None:
            row.update(status="refused", reason=v.refused)
            rows.append(row)
            continue
        t0 = time.perf_counter()
        pairs, unchanged, errors = [], 0, []
        for iid, outs in base_outs.items():
            item = by_data[iid]
            start_value = item.data if v.step == 0 else outs[v.step - 1]
            try:
                x = run_steps(v.pipeline.steps, start_value, start=v.step, source=names[iid], timing=timing)
                model.fits(x, f"variant {v.label}={v.value}")
            except (ConformanceError, ValueError) as e:
                errors.append(str(e))
                continue
            key = _digest(x)
            if np.array_equal(x, outs[-1]) and x.dtype == outs[-1].dtype:
                unchanged += 1
            pred = cache.get(key)
            if pred is None:
                pred = cache[key] = model.predict(x)
            pairs.append((names[iid], base_pred[iid], pred))
        if not pairs:
            row.update(status="not applicable", reason=(errors[0] if errors else "no image")[:300])
        else:
            m = model.compare(pairs, top_k)
            if "flipped" in m:
                m["flipped"] = m["flipped"][:20]  # the first 20; the count is m["flips"]
            row.update(status="ok", images=len(pairs), tensor_unchanged=unchanged, metrics=m,
                       flip_rate=m.get("flip_rate", 0.0), seconds=round(time.perf_counter() - t0, 3))
            if errors:
                row["errors"] = len(errors)
        rows.append(row)
        if on_variant:
            on_variant(v.label)
    result.sweep = {"base": base.id, "images": len(base_outs), "variants": rows,
                    "ranking": rank_knobs(rows, spec.kind)}
    if runtime_images:
        tensors = [(names[i], outs[-1]) for i, outs in list(base_outs.items())[:runtime_images]]
        result.runtimes = runtime_checks(model, tensors, label=f"pipeline {base.id}'s tensors")
    result.timing = timing.to_json(time.perf_counter() - t_start)
    result.timing["distinct_tensors"] = len(cache)
    return result


def rank_knobs(rows: list[dict], kind: str) -> list[dict]:
    """Per knob, its worst value: the highest share of images whose prediction changed, then the
    largest mean |Δp| (classifiers) or lowest recall (detectors)."""
    best: dict[str, dict] = {}
    for r in rows:
        if r.get("status") != "ok":
            continue
        m = r["metrics"]
        drift = m.get("mean_dp") if kind == "classifier" else (
            1 - min(m.get("recall", 1), m.get("precision", 1)) if kind == "dbnet" else 1 - (m.get("min_cosine") or 1))
        key = (r["flip_rate"], drift or 0.0)
        label = f"{r['op']}.{r['knob']}"
        if label not in best or key > best[label]["_key"]:
            best[label] = {"_key": key, "knob": label, "step": r["step"], "worst_value": r["value"],
                           "base_value": r["base_value"], "flip_rate": r["flip_rate"], "drift": drift,
                           "values_tried": 0, "note": r.get("note", "")}
    for r in rows:
        label = f"{r['op']}.{r['knob']}"
        if label in best and r.get("status") == "ok":
            best[label]["values_tried"] += 1
    out = sorted(best.values(), key=lambda d: (-d["_key"][0], -d["_key"][1], d["knob"]))
    for d in out:
        d.pop("_key")
    return out


# ---------------------------------------------------------------------------------------------
# Building comparison pipelines from a model's own
# ---------------------------------------------------------------------------------------------

def with_knobs(base: Pipeline, op: str, pid: str, **knobs: Any) -> Pipeline:
    """``base`` with knobs of its first ``op`` step changed (validated), renamed ``pid``."""
    from ..spec import replace as replace_knobs

    i = next(i for i, s in enumerate(base.steps) if s.op == op)
    steps = list(base.steps)
    steps[i] = replace_knobs(steps[i], **knobs)
    return Pipeline(id=pid, steps=tuple(steps), description=f"{base.id} with {op} " +
                    ", ".join(f"{k}={v}" for k, v in knobs.items()))


def with_preset(base: Pipeline, op: str, preset: str, pid: str, **keep: Any) -> Pipeline:
    """``base`` with its first ``op`` step replaced by ``preset`` (target size and ``keep``
    knobs carried over), renamed ``pid``."""
    from ..spec import make_step

    i = next(i for i, s in enumerate(base.steps) if s.op == op)
    old = base.steps[i]
    carried = {k: getattr(old, k) for k in ("height", "width", "shorter_side", "longer_side", "size_rounding")
               if op == "resize" and getattr(old, k) is not None}
    steps = list(base.steps)
    steps[i] = make_step({"op": op, "preset": preset, **carried, **keep})
    return Pipeline(id=pid, steps=tuple(steps), description=f"{base.id} with {op} preset {preset}")
