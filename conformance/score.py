"""Scores: per case x step x harness x mode, a verdict, metrics and the tolerance applied.

Verdicts:

- ``pass``: the output has the expected dtype and shape and every element is within tolerance.
- ``fail``: it does not (values, dtype or shape); the metrics say by how much and where. Also
  a positive case the harness's library *rejects* (status ``rejected``: a decoder refusing a
  file the pipeline's knobs decode), a difference of behaviour an expectation can excuse.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .bundle import Bundle, HeaderMismatch, read_npy
from .errors import BundleError
from .expectations import Expectations
from .metrics import metrics_for, ulp_distance  # noqa: F401 (ulp_distance: re-exported)
from .results import harness_dir, read_records, read_run
from .safeio import UnsafeData, confined

SCORES_FORMAT = "preprocessing-scores"
DATA_MOVEMENT_OPS = ("crop", "pad", "letterbox", "layout")
VERDICTS = ("pass", "fail", "xfail", "unsupported", "error", "skipped", "lenient")
BAD_VERDICTS = ("fail", "error", "lenient")  # what makes `score --strict` exit 1
# how the runner words a harness process killed by a signal (workers._death_message): the only
# case-level error an expected_crash entry excuses
CRASH_PREFIX = "harness process crashed"


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
    # set by `score --explain` (conformance.investigate.annotate): the best sentence and hypothesis
    explanation: dict | None = None

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
    error_expected: str | None = None  # the expected_crash entry's reason that excuses ``error``

    @property
    def case_verdict(self) -> str | None:
        """The verdict of the case as a whole: ``error``, ``xfail`` (an expected crash) or None."""
        if not self.error:
            return None
        return "xfail" if self.error_expected else "error"

    @property
    def first_divergent_step(self) -> int | None:
        bad = [s.index for s in self.steps if s.verdict in ("fail", "error")]
        return min(bad) if bad else (0 if self.error and not self.steps else None)

    @property
    def verdict(self) -> str:
        """The case's overall verdict: the worst of its steps (error > fail > lenient > ...)."""
        order = ("error", "fail", "lenient", "xfail", "skipped", "unsupported", "pass")
        verdicts = {s.verdict for s in self.steps} | ({self.case_verdict} if self.error else set())
        return next((v for v in order if v in verdicts), "pass")

    def to_json(self) -> dict:
        out = {"harness": self.harness, "mode": self.mode, "case": self.case,
               "pipeline": self.pipeline, "input": self.input, "expect": self.expect,
               "verdict": self.verdict, "first_divergent_step": self.first_divergent_step,
               "steps": [s.to_json() for s in self.steps]}
        if self.error:
            out["error"] = self.error
        if self.error_expected:
            out["error_expected"] = self.error_expected
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
                rows.append(("(case)", c.case_verdict, None))
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
                out[c.case_verdict] += 1
        return out

    def worst_cases(self, n: int = 10) -> list[CaseScore]:
        """Failing cases (fail, error; lenient negatives are listed apart), worst first by
        :meth:`failure_key` of their first divergent step (ties: in the order of ``cases``)."""
        def key(c: CaseScore) -> tuple[float, float]:
            fd = c.first_divergent_step
            return self.failure_key(c, next((s for s in c.steps if s.index == fd), None))
        failing = [c for c in self.cases if c.verdict in ("fail", "error")]
        return sorted(failing, key=key, reverse=True)[:n]

    # The common unit in which failures of different dtypes are ranked: levels of an 8-bit image
    # (:meth:`level_scale`). (Not an annotated field: Scores' dataclass fields are unchanged.)
    RANK_LEVELS = 255

    def failure_key(self, case: CaseScore, step: StepScore | None) -> tuple[float, float]:
        """How bad a failing step is, for ranking (larger is worse): ``(beyond, size)``, both in
        8-bit levels (:meth:`level_scale`):

        - ``beyond`` = (max abs error - the tolerance applied), converted to levels: how far the
          step is outside its tolerance in its own units, so a 168-level resize error (tolerance
          1) ranks before a 4-level decode error (tolerance 0), and a 1-level difference that
          normalize divides by 255·std (0.0175, tolerance 1e-5) counts as one level;
        - ``size`` = the max abs error itself in levels: between two steps equally far outside
          their tolerances, the larger error first.

        A step without a number (no step: a case-level crash; an error; a shape or dtype
        mismatch; non-finite values) is ``(inf, inf)``: it ranks first."""
        if step is None or not step.metrics or step.metrics.get("max_abs") is None:
            return math.inf, math.inf
        m = float(step.metrics["max_abs"])
        tol = float((step.tolerance or {}).get("max_abs") or 0)
        scale = self.level_scale(case.case, step.index)
        return max(m - tol, 0.0) * scale, m * scale

    def level_scale(self, case_id: str, index: int) -> float:
        """8-bit levels per unit of the output of step ``index`` of case ``case_id``, from the
        bundle manifest (its pipeline's steps and the expected outputs' dtype and range):

        - an integer output: 255 / the dtype's range (uint8: 1; uint16: 1/257);
        - a float output after a ``normalize`` step: what one level of that step's input became,
          i.e. the input's units per level times ``scale / std`` (``1/divisor`` when a divisor is
          set; std averaged over the channels), carried through the steps after it that move
          data (a torchvision tensor: 1 level = 1/(255·0.226) = 0.0174);
        - another float output: 255 / the reference output's [min, max] (the manifest's
          ``range``);
        - 1 (the step's own units) when the manifest cannot be read or does not say."""
        scales = self.__dict__.get("_level_scales")
        if scales is None:
            scales = self.__dict__["_level_scales"] = self._read_level_scales()
        return scales.get((case_id, index), 1.0)

    def _read_level_scales(self) -> dict[tuple[str, int], float]:
        """:meth:`level_scale` of every step of the bundle, read once from its manifest."""
        try:
            manifest = Bundle(self.bundle, validate_schema=False).manifest
        except (BundleError, OSError, TypeError):
            return {}
        pipelines = manifest.get("pipelines") or {}
        out = {}
        for case in manifest.get("cases") or []:
            try:
                steps = (pipelines.get(case.get("pipeline")) or {}).get("steps") or []
                out.update(((case["id"], i), v) for i, v in self.case_level_scales(case, steps).items())
            except (TypeError, ValueError, KeyError, AttributeError):  # a foreign bundle
                continue
        return out

    @classmethod
    def case_level_scales(cls, case: dict, steps: list[dict]) -> dict[int, float]:
        """:meth:`level_scale` of each step of one manifest case (``steps``: its pipeline's steps,
        JSON form); a step whose scale is unknown is left out."""
        out, per_level = {}, None  # units of the previous output per 8-bit level
        for entry in sorted(case.get("steps") or [], key=lambda e: e["index"]):
            knobs = steps[entry["index"]] if entry["index"] < len(steps) else {}
            per_level = cls._units_per_level(entry, knobs, per_level)
            if per_level:
                out[entry["index"]] = 1.0 / per_level
        return out

    @classmethod
    def _units_per_level(cls, entry: dict, knobs: dict, before: float | None) -> float | None:
        """Units of one step's output per 8-bit level (:meth:`level_scale`), given the units per
        level of its input (``before``, None if unknown)."""
        dtype = np.dtype(entry["dtype"])
        if dtype.kind in "ui":
            return (float(np.iinfo(dtype).max) - float(np.iinfo(dtype).min)) / cls.RANK_LEVELS
        if knobs.get("op") == "normalize" and before:
            scale = 1.0 / knobs["divisor"] if knobs.get("divisor") else float(knobs["scale"])
            std = [abs(float(v)) for v in knobs.get("std") or [1.0]]
            if scale and all(std):
                return before * abs(scale) / (sum(std) / len(std))
        if before and knobs.get("op") in DATA_MOVEMENT_OPS:
            return before
        lo, hi = (float(v) for v in entry["range"])
        return (hi - lo) / cls.RANK_LEVELS if math.isfinite(hi - lo) and hi > lo else None

    def to_json(self) -> dict:
        return {"format": SCORES_FORMAT, "version": 1, "results_dir": self.results_dir,
                "bundle": self.bundle,
                "bundle_sha256": self.bundle_sha256, "harnesses": self.harnesses,
                "modes": self.modes, "expectations": self.expectations,
                "totals": self.counts(), "summary": self.summary(),
                "cases": [c.to_json() for c in self.cases]}


def _damaged(bundle: Bundle, input_id: str | None) -> bool:
    """Whether the manifest's header of ``input_id`` records damage libjpeg-turbo repairs."""
    meta = ((getattr(bundle, "manifest", None) or {}).get("inputs") or {}).get(input_id) or {}
    return bool((meta.get("header") or {}).get("damaged"))


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
    root = harness_dir(results, harness, mode)
    return score_case(expected_of, case, harness, mode, record, expectations,
                      lambda rel, expected, tol: _score_output(root, rel, expected, tol))


Judge = Callable[[object, np.ndarray, float], tuple[str, str, "dict | None"]]


def score_case(expected_of: Callable[[dict], np.ndarray], case: dict, harness: str, mode: str,
               record: dict | None, expectations: Expectations, judge: Judge) -> CaseScore:
    """The score of one record, wherever the outputs live: ``expected_of(entry)`` is the expected
    array of a manifest step entry (``expected_of.bundle``: the bundle the expectations read),
    ``judge(output name, expected, tolerance)`` the (verdict, message, metrics) of the harness
    output the record names."""
    cs = CaseScore(harness, mode, case["id"], case["pipeline"], case["input"], case["expect"])
    if record is None:
        cs.error = "no result: the run did not reach this case (rerun `conformance run` to resume)"
        return cs
    if record.get("status") == "error":
        cs.error = record.get("error") or "case failed"
        if cs.error.startswith(CRASH_PREFIX):
            cs.error_expected = expectations.expected_crash(harness, mode, case, bundle=expected_of.bundle)
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
                tol = expectations.tolerance(harness, mode, case, entry, bundle=expected_of.bundle,
                                             earlier=cs.steps)
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
                    st.verdict, st.message, st.metrics = judge(rs.get("output"), expected,
                                                               float(tol["max_abs"]))
        elif status == "rejected":
            # the library refuses what the pipeline's knobs decode (a strict decoder on a damaged
            # file the pipeline repairs, a conversion libjpeg refuses in lossless mode): a
            # difference of behaviour, scored (and excused by an expectation) like any other
            st.verdict = "fail"
            st.message = ("rejected a damaged input that the pipeline's decode repairs (on_corrupt): "
                          if _damaged(expected_of.bundle, case.get("input"))
                          else "rejected a valid input: ") + st.message
        else:  # the harness raised, crashed or timed out
            st.verdict = "error"
        if st.verdict in ("fail", "lenient"):  # a known leniency is an expected failure too
            xf = expectations.expected_failure(harness, mode, case, index, op, bundle=expected_of.bundle,
                                               earlier=cs.steps)
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
        got = read_npy(path, where=str(path), shape=list(expected.shape))
    except HeaderMismatch as e:  # judged from the header: the data is never read
        return "fail", f"shape {list(e.header.shape)}, expected {list(expected.shape)}", None
    except (BundleError, UnsafeData, OSError) as e:
        return "error", f"cannot read output: {getattr(e, 'strerror', None) or e}", None
    return compare(expected, got, tolerance)


def score_results(results: str | Path, *, expectations: Expectations | None = None,
                  on_case: Callable[[], None] | None = None, harnesses: list[str] | None = None,
                  modes: list[str] | None = None, case_ids: list[str] | None = None) -> Scores:
    """Score every record of a results directory against its bundle (or only the given
    harnesses, modes and cases: a one-case question need not score a whole run)."""
    results = Path(results)
    run = read_run(results)
    bundle = Bundle(run["bundle"])
    expectations = expectations or Expectations.empty()
    expected_of = _ExpectedCache(bundle)
    wanted = set(case_ids) if case_ids is not None else None
    cases = []
    for harness in sorted(h for h in run["harnesses"] if harnesses is None or h in harnesses):
        for mode in [m for m in run["modes"] if modes is None or m in modes]:
            records = read_records(results, harness, mode)
            for case in bundle.cases:
                if wanted is not None and case["id"] not in wanted:
                    continue
                cases.append(_score_case(expected_of, case, harness, mode, records.get(case["id"]),
                                         results, expectations))
                if on_case:
                    on_case()
    return Scores(str(results), run["bundle"], run["bundle_sha256"], run["harnesses"], run["modes"],
                  cases, expectations=expectations.sources)
