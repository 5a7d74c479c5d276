"""Shared by the harness tests: run a built-in harness over a bundle in *isolated* mode.

Isolated mode (DESIGN.md, Running and scoring): step k gets the bundle's expected output of step
k − 1 (the encoded input for step 0), so each step is judged on its own. The comparison is the
manifest's: metric ``max_abs`` (largest absolute difference of any single element, as float64)
against the step's ``tolerance.max_abs``; a shape or dtype-kind mismatch is a failure.

This is a test helper, not the runner (which the product has elsewhere): it keeps only what the
harness tests print and assert.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from conformance.errors import InputError
from conformance.harnesses.base import Unsupported

from conformance.bundle import Bundle


@dataclass
class StepResult:
    """One step of one case through one harness."""

    case: str
    pipeline: str
    index: int
    op: str
    preset: str | None
    verdict: str  # pass | fail | unsupported | error
    max_abs: float | None = None
    exact: bool = False
    tolerance: float | None = None
    message: str = ""


@dataclass
class NegativeResult:
    """A negative vector's decode: ``rejected`` (conforming) or ``lenient`` (decoded anyway)."""

    case: str
    input: str
    rejected: bool
    message: str = ""


def compare(got: np.ndarray, want: np.ndarray) -> tuple[float | None, str]:
    """(max abs difference, problem text); max abs is None when shapes or kinds disagree."""
    got = np.asarray(got)
    if got.shape != want.shape:
        return None, f"shape {got.shape} != expected {want.shape}"
    kind = lambda a: "int" if np.issubdtype(a.dtype, np.integer) else "float"  # noqa: E731
    if kind(got) != kind(want):
        return None, f"dtype {got.dtype} != expected {want.dtype}"
    if got.size == 0:
        return 0.0, ""
    g, w = got.astype(np.float64), want.astype(np.float64)
    same = (g == w) | (np.isnan(g) & np.isnan(w))  # a tensor input's own NaN/inf match themselves
    with np.errstate(invalid="ignore"):  # inf - inf where both hold the same infinity
        diff = np.where(same, 0.0, np.abs(g - w))
    if not np.all(np.isfinite(diff)):
        return float("inf"), "non-finite values"
    return float(diff.max()), ""


def run_isolated(bundle: Bundle, harness, cases: list[dict]) -> tuple[list[StepResult], list[NegativeResult]]:
    """Every step of ``cases`` through ``harness`` (steps as the manifest stores them)."""
    results: list[StepResult] = []
    negatives: list[NegativeResult] = []
    for case in cases:
        steps = bundle.manifest["pipelines"][case["pipeline"]]["steps"]
        data = bundle.input_bytes(case["input"])
        if case["expect"] == "error":
            try:
                harness.run(steps[0], data)
                negatives.append(NegativeResult(case["id"], case["input"], False))
            except Exception as e:  # rejecting is the conforming behaviour
                negatives.append(NegativeResult(case["id"], case["input"], True, f"{type(e).__name__}: {e}"))
            continue
        previous = data
        for entry, step in zip(case["steps"], steps):
            want = bundle.expected(entry)
            r = StepResult(case["id"], case["pipeline"], entry["index"], entry["op"], step.get("preset"),
                           "pass", tolerance=float(entry["tolerance"]["max_abs"]))
            reason = harness.check(step)
            if reason is not None:
                r.verdict, r.message = "unsupported", reason
            else:
                before = previous.copy() if isinstance(previous, np.ndarray) else None
                try:
                    got = harness.run(step, previous)
                    r.max_abs, r.message = compare(got, want)
                    if r.max_abs is None or r.max_abs > r.tolerance:
                        r.verdict = "fail"
                    r.exact = r.max_abs == 0.0
                    if before is not None and (got is previous or not np.array_equal(before, previous, equal_nan=True)):
                        r.verdict, r.message = "error", "run returned or modified its input"
                    elif not got.flags.writeable:
                        r.verdict, r.message = "error", "run returned a read-only array"
                except Unsupported as e:  # found only on this input (execute.py does the same)
                    r.verdict, r.message = "unsupported", e.reason
                except InputError as e:  # the library refused the file: a fail, as conformance.score
                    r.verdict, r.message = "fail", f"rejected a valid input: {e}"
                except Exception as e:
                    r.verdict, r.message = "error", f"{type(e).__name__}: {e}"
            results.append(r)
            previous = want
    return results, negatives


def family(pipeline_id: str) -> str:
    """Group key for the printed table: ``resize.opencv.linear.down23x31`` -> ``resize.opencv.linear.*``."""
    parts = pipeline_id.split(".")
    return ".".join(parts[:3]) + ".*" if parts[0] == "resize" else pipeline_id


def summary(results: list[StepResult], title: str) -> str:
    """One line per (family, step index, op): passes, exact, worst error, other verdicts."""
    groups: dict[tuple, list[StepResult]] = defaultdict(list)
    for r in results:
        groups[(family(r.pipeline), r.index, r.op)].append(r)
    lines = [title]
    for (fam, index, op), rs in sorted(groups.items()):
        ran = [r for r in rs if r.verdict in ("pass", "fail")]
        worst = max(ran, key=lambda r: np.inf if r.max_abs is None else r.max_abs, default=None)
        n_pass = sum(r.verdict == "pass" for r in rs)
        n_exact = sum(r.exact for r in ran)
        other = {v: sum(r.verdict == v for r in rs) for v in ("unsupported", "error")}
        text = f"  {fam:58s} {index}:{op:9s} pass {n_pass:3d}/{len(rs):3d}"
        if ran:
            text += f"  exact {100 * n_exact / len(ran):5.1f}%"
            w = "shape/dtype" if worst.max_abs is None else f"{worst.max_abs:.3g}"
            text += f"  worst {w} ({worst.case.split('__')[-1]})"
        text += "".join(f"  {v} {n}" for v, n in other.items() if n)
        lines.append(text)
    return "\n".join(lines)


def library_pipelines(bundle: Bundle, prefixes: tuple[str, ...]) -> set[str]:
    """Pipeline ids with at least one step whose preset starts with one of ``prefixes``."""
    out = set()
    for pid, p in bundle.manifest["pipelines"].items():
        if any(str(s.get("preset") or "").startswith(prefixes) for s in p["steps"]):
            out.add(pid)
    return out
