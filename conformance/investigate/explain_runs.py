"""The steps of a scored run that ``explain`` works on, read from the results directory and its
bundle as data (the harnesses are not imported).

A *step job* is one failing or xfail step of a positive case: its pipeline, the tolerance the
score applied, the library call the harness recorded, and how to read its input and its observed
output. Verdicts come from :mod:`conformance.score` (with the expectations given, so a known
divergence is an ``xfail`` and its tolerance is the overridden one). The input of step k is the
encoded file for k = 0, otherwise the bundle's expected output of step k − 1 (isolated mode: the
harness was fed exactly that) or the harness's own output of step k − 1 (chained mode).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..bundle import Bundle, read_npy
from ..errors import BundleError
from ..expectations import Expectations
from ..results import ResultsError, harness_dir, read_run
from ..safeio import UnsafeData, confined
from ..spec import Pipeline

#: Verdicts explain works on.
EXPLAINED_VERDICTS = ("fail", "xfail")


@dataclass
class StepJob:
    """One failing/xfail step to explain (module docstring)."""

    results: Path
    bundle: Bundle
    harness: str
    mode: str
    case: dict
    pipeline: Pipeline
    index: int
    op: str
    verdict: str
    call: str | None
    tolerance: float
    output: str | None  # the record's output path, relative to RESULTS/<harness>/<mode>
    previous_output: str | None  # chained mode: the harness's output of step index - 1

    def _harness_array(self, rel: str | None, what: str) -> np.ndarray:
        root = harness_dir(self.results, self.harness, self.mode)
        if not isinstance(rel, str):
            raise ResultsError(f"{root}: case {self.case['id']}: the record names no {what}")
        try:
            path = confined(root, rel)
        except UnsafeData as e:
            raise ResultsError(f"{root}: case {self.case['id']}: {e}") from None
        return read_npy(path, where=str(path))

    def observed(self) -> np.ndarray:
        """The harness's output of this step."""
        return self._harness_array(self.output, f"output of step {self.index}")

    def step_input(self) -> Any:
        """What the harness's step got (module docstring)."""
        if self.index == 0:
            return self.bundle.input_bytes(self.case["input"])
        if self.mode == "chained":
            return self._harness_array(self.previous_output, f"output of step {self.index - 1} "
                                       "(chained mode feeds it to this step)")
        entry = next(s for s in self.case["steps"] if s["index"] == self.index - 1)
        return self.bundle.expected(entry)


def _check_same_bundle(results: Path, run: dict, bundle: Bundle) -> None:
    """ResultsError unless the bundle at run.json's path is the one the run was made from."""
    sha = bundle.manifest_sha256
    if run.get("bundle_sha256") != sha:
        raise ResultsError(f"{results} was made from another bundle: run.json records manifest "
                           f"SHA-256 {str(run.get('bundle_sha256'))[:12]}..., {bundle.name} has "
                           f"{sha[:12]}... (rerun `conformance run` on this bundle)")


def _case_scores(results: Path, run: dict, expectations: Expectations, case: str | None,
                 harness: str | None, mode: str | None) -> list:
    """Case scores of the selection (only its own cases are scored: the whole default run takes
    about 45 s)."""
    from ..score import score_results

    return score_results(results, expectations=expectations,
                         harnesses=[harness] if harness else None, modes=[mode] if mode else None,
                         case_ids=[case] if case else None).cases


def failing_steps(results: Path, *, case: str | None = None, harness: str | None = None,
                  mode: str | None = None, expectations: list[str | Path] | None = None) -> list[StepJob]:
    """Every failing/xfail step of the selection, in harness, mode, case, step order."""
    run = read_run(results)
    if harness is not None and harness not in run["harnesses"]:
        raise ResultsError(f"{results}: no harness {harness!r} in this run (it has "
                           f"{', '.join(sorted(run['harnesses']))})")
    if mode is not None and mode not in run["modes"]:
        raise ResultsError(f"{results}: no mode {mode!r} in this run (it has {', '.join(run['modes'])})")
    try:
        bundle = Bundle(run["bundle"])
    except BundleError as e:
        raise ResultsError(f"{results}: the run's bundle cannot be opened: {e}") from None
    _check_same_bundle(results, run, bundle)
    if case is not None:
        bundle.case(case)  # BundleError naming the case if it is not there
    exp = Expectations.load(list(expectations)) if expectations else Expectations.empty()
    return jobs_of(results, bundle, _case_scores(results, run, exp, case, harness, mode))


def jobs_of(results: Path, bundle: Bundle, case_scores: list) -> list[StepJob]:
    """The failing/xfail steps of already scored cases, in harness, mode, case, step order."""
    cases = {c["id"]: c for c in bundle.cases}
    jobs = []
    for cs in sorted(case_scores, key=lambda c: (c.harness, c.mode, c.case)):
        c = cases[cs.case]
        if c["expect"] != "ok":
            continue  # a negative vector has no reference output to explain
        outputs = {s.index: s.output for s in cs.steps}
        for st in cs.steps:
            if st.verdict not in EXPLAINED_VERDICTS:
                continue
            tol = float((st.tolerance or {}).get("max_abs", 0.0))
            jobs.append(StepJob(results, bundle, cs.harness, cs.mode, c, bundle.pipelines[c["pipeline"]],
                                st.index, st.op, st.verdict, st.call, tol, st.output,
                                outputs.get(st.index - 1)))
    return jobs
