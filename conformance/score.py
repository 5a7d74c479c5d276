"""Scores: per case x step x harness x mode, a verdict, metrics and the tolerance applied.

Verdicts:

- ``pass``: the output has the expected dtype and shape and every element is within tolerance.
- ``fail``: it does not (values, dtype or shape); the metrics say by how much and where.
- ``unsupported``: the harness has no call for this step (its reason is kept). Information for a
  porter, not a failure.
- ``error``: the harness raised, crashed or timed out on this step or case.
- ``skipped``: chained mode only: an earlier step did not produce an output.
- ``lenient``: a negative vector (a file a conforming decoder rejects) was decoded anyway.
- ``xfail``: a failure (or a lenient decode) an expectations file declares expected, with its
  reason.

Metrics (``metrics_for``), computed in float64 over all elements (per channel, never summed):
``max_abs``, ``mean_abs``, ``rmse``, ``psnr`` (integer outputs: 20·log10(peak / rmse), peak =
the dtype's maximum; ``null`` when rmse = 0), ``over_tolerance`` (fraction of elements whose
error exceeds the tolerance), ``worst`` (index, expected value, harness value of the largest
error), and for float outputs ``max_rel`` (|e| / max(|expected|, tiny)) and ``max_ulp`` (distance
in units in the last place of the expected dtype).

Tolerance in chained mode: a data-movement step (``crop``, ``pad``, ``letterbox``, ``layout``)
neither adds nor removes error, so it is held to the larger of its own tolerance and that of the
step before it: the error a harness legitimately carries into a crop is not the crop's fault.
Every other step keeps its own tolerance, so an upstream error a step amplifies (a 1-LSB resize
difference divided by 255·std in ``normalize``) shows as that step's failure: that is how
chained mode shows error accumulating to the final tensor.

The *first divergent step* of a case (per harness and mode) is the lowest step index whose
verdict is ``fail`` or ``error``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .bundle import Bundle, npy_header, read_npy
from .errors import BundleError
from .expectations import Expectations
from .results import harness_dir, read_records, read_run
from .safeio import UnsafeData, confined, open_regular

SCORES_FORMAT = "preprocessing-scores"
DATA_MOVEMENT_OPS = ("crop", "pad", "letterbox", "layout")
VERDICTS = ("pass", "fail", "xfail", "unsupported", "error", "skipped", "lenient")
BAD_VERDICTS = ("fail", "error", "lenient")  # what makes `score --strict` exit 1


def _clean(v: float) -> float | None:
    """A JSON-safe float: finite values rounded to 9 significant digits, else None."""
    if v is None or not math.isfinite(v):
        return None
    return float(f"{v:.9g}")


def ulp_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Units in the last place between float arrays of one dtype (monotone integer mapping)."""
    bits = {np.float16: np.int16, np.float32: np.int32, np.float64: np.int64}[a.dtype.type]
    ia, ib = a.view(bits).astype(np.int64), b.view(bits).astype(np.int64)
    # Map sign-magnitude floats to a monotone integer line: negatives are mirrored.
    top = np.int64(np.iinfo(bits).min)
    ia = np.where(ia < 0, top - ia, ia)
    ib = np.where(ib < 0, top - ib, ib)
    return np.abs(ia - ib)


def metrics_for(expected: np.ndarray, got: np.ndarray, tolerance: float) -> dict[str, Any]:
    """Error metrics of ``got`` against ``expected`` (same shape), see the module docstring."""
    e = expected.astype(np.float64)
    g = got.astype(np.float64)
    nonfinite = int(np.count_nonzero(~np.isfinite(g)))
    diff = np.abs(g - e)
    diff = np.where(np.isfinite(diff), diff, np.inf)
    worst = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.size else ()
    max_abs = float(diff.max()) if diff.size else 0.0
    finite = diff[np.isfinite(diff)]
    rmse = float(np.sqrt(np.mean(finite ** 2))) if finite.size else math.inf
    out: dict[str, Any] = {
        "max_abs": _clean(max_abs) if math.isfinite(max_abs) else None,
        "mean_abs": _clean(float(finite.mean())) if finite.size else None,
        "rmse": _clean(rmse),
        "over_tolerance": _clean(float(np.count_nonzero(diff > tolerance)) / diff.size) if diff.size else 0.0,
        "nonfinite": nonfinite,
        "worst": {"index": [int(i) for i in worst],
                  "expected": _clean(float(e[worst])) if diff.size else None,
                  "got": _clean(float(g[worst])) if diff.size else None},
    }
    if np.issubdtype(expected.dtype, np.integer):
        peak = float(np.iinfo(expected.dtype).max)
        out["psnr"] = _clean(20 * math.log10(peak / rmse)) if 0 < rmse < math.inf else None
    else:
        with np.errstate(over="ignore", invalid="ignore"):
            rel = diff / np.maximum(np.abs(e), np.finfo(np.float64).tiny)
        out["max_rel"] = _clean(float(rel.max())) if rel.size else 0.0
        if got.dtype == expected.dtype and expected.dtype.type in (np.float16, np.float32, np.float64):
            out["max_ulp"] = int(ulp_distance(expected, got).max()) if expected.size else 0
    return out


def compare(expected: np.ndarray, got: np.ndarray, tolerance: float) -> tuple[str, str, dict | None]:
    """(verdict pass/fail, message, metrics) of one output against its expected array."""
    if got.shape != expected.shape:
        return "fail", f"shape {list(got.shape)}, expected {list(expected.shape)}", None
    if got.dtype.kind not in "biuf":  # complex, strings, dates: no metric means anything
        return "fail", f"dtype {got.dtype.name}, expected {expected.dtype.name} (not a real number type)", None
    with np.errstate(all="ignore"):  # overflow and NaN are reported by value (nonfinite), not warned
        m = metrics_for(expected, got, tolerance)
    problems = []
    if got.dtype != expected.dtype:
        problems.append(f"dtype {got.dtype.name}, expected {expected.dtype.name}")
    if m["nonfinite"]:
        problems.append(f"{m['nonfinite']} non-finite value(s)")
    if m["max_abs"] is None or m["max_abs"] > tolerance:
        shown = "inf" if m["max_abs"] is None else f"{m['max_abs']:g}"
        problems.append(f"max abs error {shown} > tolerance {tolerance:g}")
    return ("fail" if problems else "pass"), "; ".join(problems), m


@dataclass
class StepScore:
    index: int
    op: str
    verdict: str
    message: str = ""
    call: str | None = None
    tolerance: dict | None = None
    metrics: dict | None = None
    output: str | None = None

    def to_json(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class CaseScore:
    harness: str
    mode: str
    case: str
    pipeline: str
    input: str
    expect: str
    steps: list[StepScore] = field(default_factory=list)
    error: str | None = None

    @property
    def first_divergent_step(self) -> int | None:
        bad = [s.index for s in self.steps if s.verdict in ("fail", "error")]
        return min(bad) if bad else (0 if self.error and not self.steps else None)

    @property
    def verdict(self) -> str:
        """The case's overall verdict: the worst of its steps (error > fail > lenient > ...)."""
        order = ("error", "fail", "lenient", "xfail", "skipped", "unsupported", "pass")
        verdicts = {s.verdict for s in self.steps} | ({"error"} if self.error else set())
        return next((v for v in order if v in verdicts), "pass")

    def to_json(self) -> dict:
        out = {"harness": self.harness, "mode": self.mode, "case": self.case,
               "pipeline": self.pipeline, "input": self.input, "expect": self.expect,
               "verdict": self.verdict, "first_divergent_step": self.first_divergent_step,
               "steps": [s.to_json() for s in self.steps]}
        if self.error:
            out["error"] = self.error
        return out


@dataclass
class Scores:
    """Every case score of a results directory, plus what produced them."""

    results_dir: str
    bundle: str
    bundle_sha256: str
    harnesses: dict[str, dict]
    modes: list[str]
    cases: list[CaseScore]
    expectations: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, dict[str, dict[str, dict[str, Any]]]]:
        """harness -> mode -> op -> {verdict counts, worst_max_abs} (``*`` = all ops)."""
        out: dict = {}
        for c in self.cases:
            per_mode = out.setdefault(c.harness, {}).setdefault(c.mode, {})
            rows = [(s.op, s.verdict, s.metrics) for s in c.steps]
            if c.error:  # the case as a whole failed (crash, timeout), possibly after some steps
                rows.append(("(case)", "error", None))
            for op, verdict, metrics in rows:
                for key in (op, "*"):
                    cell = per_mode.setdefault(key, {**{v: 0 for v in VERDICTS}, "worst_max_abs": None})
                    cell[verdict] += 1
                    if metrics and metrics.get("max_abs") is not None and verdict in ("pass", "fail", "xfail"):
                        w = cell["worst_max_abs"]
                        cell["worst_max_abs"] = max(w, metrics["max_abs"]) if w is not None else metrics["max_abs"]
        return out

    def counts(self) -> dict[str, int]:
        """Step verdict totals over everything."""
        out = {v: 0 for v in VERDICTS}
        for c in self.cases:
            for s in c.steps:
                out[s.verdict] += 1
            if c.error:
                out["error"] += 1
        return out

    def worst_cases(self, n: int = 10) -> list[CaseScore]:
        """Failing cases (fail, error; lenient negatives are listed apart), largest max abs error
        of their first divergent step relative to its tolerance first; a case without metrics
        (shape mismatch, crash) ranks as infinitely bad."""
        def key(c: CaseScore) -> float:
            fd = c.first_divergent_step
            step = next((s for s in c.steps if s.index == fd), None)
            if step is None or not step.metrics or step.metrics.get("max_abs") is None:
                return math.inf
            tol = (step.tolerance or {}).get("max_abs") or 0
            return step.metrics["max_abs"] / tol if tol else step.metrics["max_abs"] * 1e6
        failing = [c for c in self.cases if c.verdict in ("fail", "error")]
        return sorted(failing, key=key, reverse=True)[:n]

    def to_json(self) -> dict:
        return {"format": SCORES_FORMAT, "version": 1, "results_dir": self.results_dir,
                "bundle": self.bundle,
                "bundle_sha256": self.bundle_sha256, "harnesses": self.harnesses,
                "modes": self.modes, "expectations": self.expectations,
                "totals": self.counts(), "summary": self.summary(),
                "cases": [c.to_json() for c in self.cases]}


class _ExpectedCache:
    """Expected arrays by bundle path: each is read (and hash-checked) once per scoring, not
    once per harness and mode."""

    def __init__(self, bundle: Bundle):
        self.bundle, self._arrays = bundle, {}

    def __call__(self, entry: dict) -> np.ndarray:
        key = entry["output"]
        if key not in self._arrays:
            self._arrays[key] = self.bundle.expected(entry)
        return self._arrays[key]


def _score_case(expected_of: _ExpectedCache, case: dict, harness: str, mode: str,
                record: dict | None, results: Path, expectations: Expectations) -> CaseScore:
    cs = CaseScore(harness, mode, case["id"], case["pipeline"], case["input"], case["expect"])
    if record is None:
        cs.error = "no result: the run did not reach this case (rerun `conformance run` to resume)"
        return cs
    if record.get("status") == "error":
        cs.error = record.get("error") or "case failed"
    root = harness_dir(results, harness, mode)
    negative = case["expect"] == "error"
    carried: dict | None = None  # chained mode: the previous step's tolerance
    for rs in record.get("steps", []):
        index, op, status = rs["index"], rs.get("op", ""), rs["status"]
        st = StepScore(index, op, "error", rs.get("message", ""), rs.get("call"), output=rs.get("output"))
        if negative:
            if status in ("rejected", "error"):
                st.verdict, st.message = "pass", "rejected, as a conforming decoder must: " + st.message
            elif status == "ok":
                st.verdict = "lenient"
                st.message = ("decoded a file a conforming decoder rejects (reference: "
                              f"{case.get('error', {}).get('type', 'error')}: "
                              f"{case.get('error', {}).get('message', '')})")
            else:
                st.verdict = status if status in ("unsupported", "skipped") else "error"
        elif status in ("unsupported", "skipped"):
            st.verdict = status
        elif status == "ok":
            entries = [s for s in case["steps"] if s["index"] == index]
            if not entries:
                st.message = f"the bundle has no step {index} for this case"
            else:
                entry = entries[0]
                tol = expectations.tolerance(harness, mode, case, entry)
                if (mode == "chained" and op in DATA_MOVEMENT_OPS and carried is not None
                        and carried["max_abs"] > tol["max_abs"]):
                    tol = {**carried, "source": f"carried from step {index - 1} (chained mode: "
                                                 f"{op} moves data, it adds no error)"}
                carried = tol
                st.tolerance = tol
                try:
                    expected = expected_of(entry)
                except BundleError as e:  # the bundle's fault, not the harness's: say so
                    st.message = f"the bundle's expected output is unreadable: {e}"
                else:
                    st.verdict, st.message, st.metrics = _score_output(root, rs.get("output"), expected,
                                                                       float(tol["max_abs"]))
        else:  # error, or rejected on a positive case
            st.verdict = "error"
            if status == "rejected":
                st.message = "rejected a valid input: " + st.message
        if st.verdict in ("fail", "lenient"):  # a known leniency is an expected failure too
            xf = expectations.expected_failure(harness, mode, case, index, op)
            if xf:
                st.verdict, st.message = "xfail", f"{st.message} (expected: {xf})"
        cs.steps.append(st)
    return cs


def _score_output(root: Path, rel: object, expected: np.ndarray, tolerance: float
                  ) -> tuple[str, str, dict | None]:
    """(verdict, message, metrics) of a harness output file against ``expected``. The path comes
    from a record, so it must stay inside the harness's folder; the header is checked first,
    so an output of the wrong shape or absurd size is judged without reading its data."""
    try:
        path = confined(root, rel) if isinstance(rel, str) else None
        if path is None:
            return "error", "the record names no output file", None
        where = str(path)
        fd, st = open_regular(path)
        with os.fdopen(fd, "rb") as f:
            h = npy_header(f, st.st_size, where=where)
        if list(h.shape) != list(expected.shape):
            return "fail", f"shape {list(h.shape)}, expected {list(expected.shape)}", None
        got = read_npy(path, where=where)
    except (BundleError, UnsafeData, OSError) as e:
        return "error", f"cannot read output: {getattr(e, 'strerror', None) or e}", None
    return compare(expected, got, tolerance)


def score_results(results: str | Path, *, expectations: Expectations | None = None,
                  on_case: Callable[[], None] | None = None) -> Scores:
    """Score every record of a results directory against its bundle."""
    results = Path(results)
    run = read_run(results)
    bundle = Bundle(run["bundle"])
    expectations = expectations or Expectations.empty()
    expected_of = _ExpectedCache(bundle)
    cases = []
    for harness in sorted(run["harnesses"]):
        for mode in run["modes"]:
            records = read_records(results, harness, mode)
            for case in bundle.cases:
                cases.append(_score_case(expected_of, case, harness, mode, records.get(case["id"]),
                                         results, expectations))
                if on_case:
                    on_case()
    return Scores(str(results), run["bundle"], run["bundle_sha256"], run["harnesses"], run["modes"],
                  cases, expectations=expectations.sources)
