"""``conformance compare``: two pipelines (training vs deployment), or a pipeline vs a harness, on
the same inputs, step by step: where do they part, and by how much?

**Alignment.** Steps are aligned by op (the longest common subsequence of the two op lists,
``difflib``). A step present in only one pipeline is folded into the aligned step before it: a
deployment's ``color bgr_to_rgb`` after its ``decode`` is compared as part of that decode, a
training pipeline's ``crop`` after its ``resize`` as part of that resize; the row says so. Each
side is brought to (H, W, C) before comparing (a ``layout`` step's CHW/NCHW, and a reversed
channel order, are undone with the pipelines' own channel bookkeeping). Outputs whose height or
width differ (a crop of another size) are compared on their centred common region, and the row
says so; outputs that cannot be put side by side (another channel count) are reported as such,
never crashed on.

**Metrics per aligned step** (float64, per element, never summed over channels): max and mean
absolute difference, RMSE, PSNR (integer outputs: peak = the dtype's maximum), the fraction of
values that differ at all and that differ by more than one grey level. For float outputs after
a ``normalize`` step the same figures are also given in grey levels, through that step's std and
scale: one grey level is ``scale / std_c`` in normalised units (so a tensor difference of 0.0171
with ImageNet's std 0.229 and scale 1/255 is one level).

**First divergent step** of an input: the first aligned step whose outputs differ: any
difference for integer outputs, more than :data:`FLOAT_LEVEL_EPS` grey levels for floats
(float rounding of the same values is not a divergence), more than :data:`FLOAT_EPS` for floats
without a normalize step to measure levels by.

With ``harness=NAME`` the B side is that harness running A's steps as a deployment does (chained
mode, through :mod:`conformance.runner`), optionally with its library's default behaviour for
every "how" knob (:mod:`.library_defaults`).
"""

from __future__ import annotations

import difflib
import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..bundle import InputFile
from ..errors import ConformanceError, SpecError
from ..report.images import channel_state, to_hwc
from ..spec import Normalize, Pipeline

FLOAT_LEVEL_EPS = 1e-3  # grey levels: below this a float difference is rounding, not divergence
FLOAT_EPS = 1e-6  # float outputs with no normalize step to measure grey levels by


class CompareError(ConformanceError):
    """compare was asked something it cannot do (pipelines without a common op, a bad harness)."""


# ---------------------------------------------------------------------------------------------
# Alignment
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    """One aligned step: the step index compared on each side (the last of its folded group),
    the op, and the steps folded into it."""

    a: int
    b: int
    op: str
    folded_a: tuple[str, ...] = ()
    folded_b: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        extra = [f"+{'+'.join(self.folded_a)} in A" if self.folded_a else "",
                 f"+{'+'.join(self.folded_b)} in B" if self.folded_b else ""]
        extra = [e for e in extra if e]
        return self.op + (f" ({', '.join(extra)})" if extra else "")


def align(ops_a: list[str], ops_b: list[str]) -> list[Row]:
    """Rows of aligned steps (see the module docstring). Steps before the first common op are
    folded into it. CompareError when the pipelines share no op."""
    matcher = difflib.SequenceMatcher(a=ops_a, b=ops_b, autojunk=False)
    pairs = [(i + k, j + k) for i, j, n in matcher.get_matching_blocks() for k in range(n)]
    if not pairs:
        raise CompareError(f"the pipelines share no op (A: {', '.join(ops_a)}; B: {', '.join(ops_b)})")
    rows = []
    for n, (i, j) in enumerate(pairs):
        end_a = pairs[n + 1][0] if n + 1 < len(pairs) else len(ops_a)
        end_b = pairs[n + 1][1] if n + 1 < len(pairs) else len(ops_b)
        lead_a = ops_a[:i] if n == 0 else []
        lead_b = ops_b[:j] if n == 0 else []
        rows.append(Row(end_a - 1, end_b - 1, ops_a[i],
                        tuple(lead_a + ops_a[i + 1:end_a]), tuple(lead_b + ops_b[j + 1:end_b])))
    return rows


# ---------------------------------------------------------------------------------------------
# Putting two outputs side by side
# ---------------------------------------------------------------------------------------------

def _canonical(a: np.ndarray, steps_json: list[dict], index: int) -> tuple[np.ndarray | None, str]:
    """(H, W, C) array in RGB-like channel order (BGR reversed), and its channel meaning; None
    for an array with no image shape. The layout is undone as the report draws it
    (:func:`..report.images.to_hwc`: batch item 0, CHW transposed)."""
    state = channel_state(steps_json, index)
    hwc, _ = to_hwc(a, state)
    if hwc is not None and state.order == "bgr" and hwc.shape[2] >= 3:
        hwc = np.concatenate([hwc[:, :, 2::-1], hwc[:, :, 3:]], axis=2)
        return hwc, "rgb"
    return hwc, state.order


def side_by_side(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None, str]:
    """(a', b', note): the two HWC arrays on a common region, or (None, None, why)."""
    if a.shape[2] != b.shape[2]:
        return None, None, f"not comparable: {a.shape[2]} channel(s) in A, {b.shape[2]} in B"
    if a.shape[:2] == b.shape[:2]:
        return a, b, ""
    h, w = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])

    def centre(x: np.ndarray) -> np.ndarray:
        top, left = (x.shape[0] - h) // 2, (x.shape[1] - w) // 2
        return x[top:top + h, left:left + w]

    swapped = a.shape[:2] == b.shape[1::-1]
    note = (f"sizes differ (A {a.shape[0]}x{a.shape[1]}, B {b.shape[0]}x{b.shape[1]}"
            + (": height and width swapped, an orientation difference?" if swapped else "")
            + f"): compared on the centred {h}x{w} common region")
    return centre(a), centre(b), note


def grey_level_factors(pipeline: Pipeline, index: int, channels: int) -> np.ndarray | None:
    """Normalised units per grey level for each channel after step ``index`` (None before any
    normalize step): ``scale / std_c`` (``1 / (divisor · std_c)`` with a divisor)."""
    norm = next((s for s in reversed(pipeline.steps[:index + 1]) if isinstance(s, Normalize)), None)
    if norm is None:
        return None
    k = 1.0 / norm.divisor if norm.divisor is not None else norm.scale
    return np.array([abs(k / norm.std[c % len(norm.std)]) for c in range(channels)])


def step_metrics(a: np.ndarray, b: np.ndarray, per_level: np.ndarray | None) -> dict[str, Any]:
    """The figures of one aligned step (module docstring); a, b are HWC of one shape."""
    with np.errstate(all="ignore"):
        d = np.abs(b.astype(np.float64) - a.astype(np.float64))
        d = np.where(np.isfinite(d), d, np.inf)
        integer = a.dtype.kind in "biu" and b.dtype.kind in "biu"
        finite = d[np.isfinite(d)]
        rmse = float(np.sqrt(np.mean(finite ** 2))) if finite.size else math.inf
        out: dict[str, Any] = {
            "max_abs": _num(float(d.max())) if d.size else 0.0,
            "mean_abs": _num(float(finite.mean())) if finite.size else None,
            "rmse": _num(rmse),
            "differing": _num(float(np.count_nonzero(d)) / d.size) if d.size else 0.0,
        }
        if integer:
            peak = float(np.iinfo(a.dtype).max)
            out["psnr"] = _num(20 * math.log10(peak / rmse)) if 0 < rmse < math.inf else None
            out["over_one_level"] = _num(float(np.count_nonzero(d > 1)) / d.size) if d.size else 0.0
            if d.size:
                out["pixels"] = pixel_statistics(a, b)
        elif per_level is not None:
            levels = d / per_level[None, None, :d.shape[2]]
            fin = levels[np.isfinite(levels)]
            out["levels"] = {
                "max_abs": _num(float(levels.max())) if levels.size else 0.0,
                "mean_abs": _num(float(fin.mean())) if fin.size else None,
                "rmse": _num(float(np.sqrt(np.mean(fin ** 2)))) if fin.size else None,
            }
            # more than one level, float rounding of exactly one level aside
            out["over_one_level"] = (_num(float(np.count_nonzero(levels > 1 + FLOAT_LEVEL_EPS)) / d.size)
                                     if d.size else 0.0)
    return out


def pixel_statistics(a: np.ndarray, b: np.ndarray) -> dict[str, Any]:
    """What a viewer sees of two integer images (the way back): the mean level of each, and the
    fraction of values clipped to black (0) or to white (the dtype's maximum) in each. A [-1, 1]
    output converted as [0, 1] shows as a large drop of the mean with a jump of ``clipped_low``."""
    peak = np.iinfo(a.dtype).max
    out: dict[str, Any] = {}
    for side, x in (("a", a), ("b", b)):
        out[f"mean_{side}"] = _num(float(x.mean()))
        out[f"clipped_low_{side}"] = _num(float(np.count_nonzero(x == 0)) / x.size)
        out[f"clipped_high_{side}"] = _num(float(np.count_nonzero(x == peak)) / x.size)
    return out


def _num(v: float) -> float | None:
    return float(f"{v:.6g}") if math.isfinite(v) else None


def diverges(m: dict[str, Any], integer: bool) -> bool:
    """Does an aligned step differ (module docstring: first divergent step)?"""
    if m.get("max_abs") is None:  # non-finite differences
        return True
    if integer:
        return m["max_abs"] > 0
    if "levels" in m:
        top = m["levels"]["max_abs"]
        return top is None or top > FLOAT_LEVEL_EPS
    return m["max_abs"] > FLOAT_EPS


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------

@dataclass
class StepComparison:
    row: Row
    shape_a: list[int]
    shape_b: list[int]
    dtype_a: str
    dtype_b: str
    note: str = ""
    metrics: dict | None = None
    differs: bool = False
    # the compared HWC arrays (not serialised; the HTML report draws them)
    arrays: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    def to_json(self) -> dict:
        out = {"op": self.row.op, "label": self.row.label, "index_a": self.row.a, "index_b": self.row.b,
               "folded_a": list(self.row.folded_a), "folded_b": list(self.row.folded_b),
               "shape_a": self.shape_a, "shape_b": self.shape_b, "dtype_a": self.dtype_a,
               "dtype_b": self.dtype_b, "differs": self.differs, "metrics": self.metrics}
        if self.note:
            out["note"] = self.note
        return out


@dataclass
class InputComparison:
    input: str
    source: str
    steps: list[StepComparison] = field(default_factory=list)
    error: str | None = None  # a side could not process this input

    @property
    def first_divergent(self) -> StepComparison | None:
        return next((s for s in self.steps if s.differs), None)

    def to_json(self) -> dict:
        fd = self.first_divergent
        out = {"input": self.input, "source": self.source,
               "first_divergent_step": None if fd is None else {"op": fd.row.op, "label": fd.row.label,
                                                              "index_a": fd.row.a, "index_b": fd.row.b},
               "steps": [s.to_json() for s in self.steps]}
        if self.error:
            out["error"] = self.error
        return out


@dataclass
class Comparison:
    a: dict  # {"label", "pipeline": id, "kind": "pipeline"}
    b: dict  # {"label", "pipeline"/"harness", "kind", ...}
    rows: list[Row]
    inputs: list[InputComparison] = field(default_factory=list)

    def summary(self) -> list[dict]:
        """Per aligned step over the inputs compared: how many differ, are first divergent, the
        worst max and the mean of mean abs (raw, and in grey levels where known)."""
        out = []
        compared = [i for i in self.inputs if not i.error]
        for n, row in enumerate(self.rows):
            steps = [i.steps[n] for i in compared if n < len(i.steps) and i.steps[n].metrics]
            levels = [s.metrics["levels"] for s in steps if "levels" in s.metrics]
            out.append({
                "op": row.op, "label": row.label, "compared": len(steps),
                "differing_inputs": sum(s.differs for s in steps),
                "first_divergent": sum(1 for i in compared if i.first_divergent is not None
                                       and i.first_divergent.row == row),
                "worst_max_abs": _max(s.metrics["max_abs"] for s in steps),
                "mean_mean_abs": _mean(s.metrics["mean_abs"] for s in steps),
                "worst_max_levels": _max(lv["max_abs"] for lv in levels) if levels else None,
                "mean_over_one_level": _mean(s.metrics.get("over_one_level") for s in steps),
                "aligned_notes": sorted({s.note for s in steps if s.note})[:3],
            })
            pixels = [s.metrics["pixels"] for s in steps if "pixels" in s.metrics]
            if pixels:
                out[-1]["pixels"] = {k: _mean(p[k] for p in pixels) for k in pixels[0]}
        return out

    def first_divergent_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for i in self.inputs:
            if i.error:
                continue
            fd = i.first_divergent
            key = fd.row.label if fd else "(identical)"
            counts[key] = counts.get(key, 0) + 1
        return counts

    def to_json(self) -> dict:
        return {"format": "preprocessing-compare", "version": 1, "a": self.a, "b": self.b,
                "rows": [{"op": r.op, "label": r.label, "index_a": r.a, "index_b": r.b} for r in self.rows],
                "summary": self.summary(), "first_divergent": self.first_divergent_counts(),
                "inputs": [i.to_json() for i in self.inputs]}


def _max(values) -> float | None:
    vs = [v for v in values if v is not None]
    return max(vs) if vs else None


def _mean(values) -> float | None:
    vs = [v for v in values if v is not None]
    return _num(sum(vs) / len(vs)) if vs else None


# ---------------------------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------------------------

def compare_outputs(a: Pipeline, outs_a: list[np.ndarray], b: Pipeline, outs_b: list[np.ndarray | None],
                    rows: list[Row], item: InputFile) -> InputComparison:
    """Compare the step outputs of one input (``outs_b[i]`` None: B has no output there)."""
    ja, jb = [s.knobs() for s in a.steps], [s.knobs() for s in b.steps]
    result = InputComparison(item.id, item.origin or item.id)
    for row in rows:
        xa, xb = outs_a[row.a], outs_b[row.b] if row.b < len(outs_b) else None
        sc = StepComparison(row, list(xa.shape), list(getattr(xb, "shape", [])), xa.dtype.name,
                            getattr(getattr(xb, "dtype", None), "name", "-"))
        if xb is None:  # no figures, and not identical either: it counts as divergent
            sc.note, sc.differs = "B produced no output for this step", True
            result.steps.append(sc)
            continue
        ha, order_a = _canonical(xa, ja, row.a)
        hb, order_b = _canonical(xb, jb, row.b)
        if order_a != order_b and {order_a, order_b} != {"rgb"}:
            sc.note = f"channels mean {order_a} in A and {order_b} in B"
        if ha is None or hb is None:
            pa, pb, note = None, None, (f"not comparable: shape {list(xa.shape)} in A, "
                                        f"{list(xb.shape)} in B cannot be read as an image")
        else:
            pa, pb, note = side_by_side(ha, hb)
        sc.note = "; ".join(n for n in (sc.note, note) if n)
        if pa is None:  # another channel count: different, though no figure measures it
            sc.differs = True
            result.steps.append(sc)
            continue
        per_level = grey_level_factors(a, row.a, pa.shape[2])
        if per_level is not None and channel_state(ja, row.a).order != order_a:
            per_level = per_level[::-1]  # the layout reversed the channels the std refers to
        sc.metrics = step_metrics(pa, pb, per_level)
        sc.differs = diverges(sc.metrics, xa.dtype.kind in "biu" and xb.dtype.kind in "biu")
        sc.arrays = (pa, pb)
        result.steps.append(sc)
    return result


def compare_pipelines(a: Pipeline, b: Pipeline, inputs: list[InputFile], *,
                      on_input: Callable[[str], None] | None = None) -> Comparison:
    """Both pipelines through the reference on every input."""
    from ..reference.pipeline import check_pipeline, run_pipeline

    for p in (a, b):
        check_pipeline(p)
    rows = align([s.op for s in a.steps], [s.op for s in b.steps])
    comp = Comparison({"label": f"A: {a.id}", "pipeline": a.id, "kind": "pipeline"},
                      {"label": f"B: {b.id}", "pipeline": b.id, "kind": "pipeline"}, rows)
    for item in inputs:
        try:
            with np.errstate(all="ignore"):
                outs_a = run_pipeline(a, item.data, source=item.origin or item.id)
                outs_b = run_pipeline(b, item.data, source=item.origin or item.id)
        except ConformanceError as e:
            comp.inputs.append(InputComparison(item.id, item.origin or item.id, error=str(e)))
        else:
            comp.inputs.append(compare_outputs(a, outs_a, b, outs_b, rows, item))
        if on_input:
            on_input(item.id)
    return comp


def compare_harness(a: Pipeline, harness: str, inputs: list[InputFile], *, library_defaults: bool,
                    work_dir: Path | None = None, timeout: float = 60.0, jobs: int = 1,
                    on_input: Callable[[str], None] | None = None) -> Comparison:
    """A through the reference vs harness ``harness`` running A's steps, chained, as a
    deployment would (with ``library_defaults``: its library's default for every "how" knob).

    The harness runs through the ordinary runner (its own worker process, timeout, crash
    isolation) on a bundle written to ``work_dir`` (a temporary folder if None): the bundle of
    the pipeline the harness is given, B. The reference outputs of A are computed here."""
    from ..bundle import Bundle, read_npy
    from ..generate import Plan, case_id, generate
    from ..reference.pipeline import check_pipeline, run_pipeline
    from ..results import ResultsError, read_records
    from ..runner import resolve_harnesses, run_bundle
    from ..safeio import confined
    from .library_defaults import library_default_pipeline

    check_pipeline(a)
    b = library_default_pipeline(a, harness) if library_defaults else a
    check_pipeline(b)
    rows = align([s.op for s in a.steps], [s.op for s in b.steps])
    how = "with its library's defaults" if library_defaults else "with the pipeline's knobs"
    comp = Comparison({"label": f"A: {a.id} (reference)", "pipeline": a.id, "kind": "pipeline"},
                      {"label": f"B: {harness} running {a.id} {how}", "harness": harness,
                       "pipeline": b.id, "kind": "harness", "library_defaults": library_defaults,
                       "steps": [s.knobs() for s in b.steps]}, rows)
    with tempfile.TemporaryDirectory(prefix="compare-") as tmp:
        root = Path(work_dir) if work_dir is not None else Path(tmp)
        plan = Plan(inputs=inputs, pipelines=[b], selection={b.id: None})
        generate(plan, root / "bundle", overwrite=True)
        try:
            summary = run_bundle(root / "bundle", root / "results", harnesses=[harness], modes=("chained",),
                                 jobs=jobs, timeout=timeout, fresh=True)
        except ResultsError as e:
            raise CompareError(str(e)) from None
        if not summary.ran:
            raise CompareError(f"harness {harness} ran no case")
        bundle = Bundle(root / "bundle")
        skipped = {s["input"]: s["error"] for s in bundle.manifest.get("skipped", [])}
        name = resolve_harnesses([harness])[0][harness]
        records = read_records(root / "results", name, "chained")
        out_root = root / "results" / name / "chained"
        for item in inputs:
            cid = case_id(b.id, item.id)
            rec = records.get(cid)
            if item.id in skipped or rec is None:
                why = skipped.get(item.id, {}).get("message") or "the harness produced no record"
                comp.inputs.append(InputComparison(item.id, item.origin or item.id, error=why))
                continue
            try:
                with np.errstate(all="ignore"):
                    outs_a = run_pipeline(a, item.data, source=item.origin or item.id)
            except ConformanceError as e:
                comp.inputs.append(InputComparison(item.id, item.origin or item.id, error=str(e)))
                continue
            outs_b: list[np.ndarray | None] = [None] * len(b.steps)
            notes = []
            for st in rec.get("steps", []):
                if st.get("status") == "ok" and st.get("output"):
                    outs_b[st["index"]] = read_npy(confined(out_root, st["output"]), where=st["output"])
                elif st.get("status") not in (None, "ok"):
                    notes.append(f"step {st['index']} ({st.get('op')}) {st['status']}: {st.get('message', '')}")
            ic = compare_outputs(a, outs_a, b, outs_b, rows, item)
            if rec.get("status") == "error":
                ic.error = rec.get("error")
            for sc in ic.steps:
                note = next((n for n in notes if n.startswith(f"step {sc.row.b} ")), "")
                if note and sc.metrics is None:
                    sc.note = note
            comp.inputs.append(ic)
            if on_input:
                on_input(item.id)
    return comp


def load_inputs(paths: tuple[Path, ...], *, max_bytes: int) -> tuple[list[InputFile], list[dict]]:
    """The user's images (``paths``), or the built-in full-size photographs when none are given."""
    from ..plans import user_inputs

    if paths:
        items, refused = user_inputs(paths, max_bytes=max_bytes)
    else:
        from ..corpus import full_size_photos
        items, refused = full_size_photos(), []
    if not items:
        raise SpecError("no input images to compare on" + (f" ({len(refused)} refused, first: "
                                                            f"{refused[0]['message']})" if refused else ""))
    return items, refused
