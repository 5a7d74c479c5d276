"""What every report format shares: verdict glyphs and order, op order, number formatting, and
the selections reports show (failing steps worst first, lenient negative vectors grouped).

Pure functions of a :class:`~conformance.score.Scores`; no I/O.
"""

from __future__ import annotations

import math
import re
import shlex
from dataclasses import dataclass
from typing import Iterable

from ..score import VERDICTS, CaseScore, Scores, StepScore

# Display order of verdicts in a summary cell: what passed, what is wrong, then what was not
# compared. Every verdict of score.VERDICTS appears exactly once.
CELL_ORDER = ("pass", "fail", "xfail", "lenient", "error", "unsupported", "skipped")
assert sorted(CELL_ORDER) == sorted(VERDICTS), "CELL_ORDER must list every verdict once"

# One glyph per verdict, Unicode for terminals and browsers, ASCII where the output encoding
# cannot carry Unicode (a legacy CI log). Each is one cell wide, so counts line up.
GLYPHS = {"pass": "✓", "fail": "✗", "xfail": "x", "lenient": "~", "error": "!",
          "unsupported": "–", "skipped": "·"}
ASCII_GLYPHS = {"pass": "P", "fail": "F", "xfail": "X", "lenient": "L", "error": "E",
                "unsupported": "U", "skipped": "S"}

# Verdicts that make a step (or a cell) a problem to look at, as opposed to information.
PROBLEM_VERDICTS = ("fail", "error", "lenient")

# Op columns in pipeline order (spec.STEP_TYPES's order of definition); ops a foreign bundle
# adds come after, alphabetically. "(case)" holds case-level errors with no step records and
# "*" is the all-ops total of Scores.summary().
OP_ORDER = ("decode", "resize", "crop", "pad", "letterbox", "color", "normalize", "layout",
            "tensor", "denormalize", "quantize", "encode")
CASE_LEVEL_OP = "(case)"
ALL_OPS = "*"

# Number of significant digits shown for metrics in reports (the JSON keeps Scores' 9).
SHOWN_DIGITS = 3



# C0 and C1 control characters other than tab and newline: a message quoting a corrupt file must
# not ring a terminal's bell or move its cursor, nor put a NUL into an HTML page.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: object, *, ascii_only: bool = False) -> str:
    """``text`` with control characters (except tab and newline) written as ``\\xNN``; with
    ``ascii_only`` every non-ASCII character too (backslash escapes)."""
    out = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))
    return out.encode("ascii", "backslashreplace").decode("ascii") if ascii_only else out


def ordered_ops(ops: Iterable[str]) -> list[str]:
    """``ops`` in pipeline order, unknown ops alphabetically after, then "(case)", then "*"."""
    ops = set(ops)
    known = [o for o in OP_ORDER if o in ops]
    extra = sorted(o for o in ops if o not in OP_ORDER and o not in (CASE_LEVEL_OP, ALL_OPS))
    tail = [o for o in (CASE_LEVEL_OP, ALL_OPS) if o in ops]
    return known + extra + tail


def fmt_num(v: float | int | None) -> str:
    """A metric for people: integers as integers, others with SHOWN_DIGITS significant digits."""
    if v is None:
        return "–"
    if isinstance(v, float) and not math.isfinite(v):
        return "inf" if v > 0 else ("-inf" if v < 0 else "nan")
    if float(v) == int(v) and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.{SHOWN_DIGITS}g}"


def tolerance_of(step: StepScore) -> float | None:
    return None if not step.tolerance else step.tolerance.get("max_abs")


def error_vs_tolerance(step: StepScore) -> str:
    """"254 > 0", "shape" (no metrics: shape mismatch or unreadable output), or the verdict."""
    if step.verdict in ("error", "lenient", "unsupported", "skipped"):
        return step.verdict
    if not step.metrics:
        return "shape" if step.message.startswith("shape") else "–"
    m, tol = step.metrics.get("max_abs"), tolerance_of(step)
    rel = ">" if m is None or tol is None or m > tol else "<="
    return f"{fmt_num(m if m is not None else math.inf)} {rel} {fmt_num(tol)}"


@dataclass(frozen=True)
class FailingStep:
    """A step with verdict ``fail`` and its case; ``first`` if it is the case's first divergence."""

    case: CaseScore
    step: StepScore

    @property
    def first(self) -> bool:
        """No earlier step of the case failed (expected failures count as failures here)."""
        return not any(s.index < self.step.index and s.verdict in ("fail", "xfail", "error")
                       for s in self.case.steps)

    def severity(self, scores: Scores) -> tuple[float, float]:
        """:meth:`Scores.failure_key` of the step: (levels beyond its tolerance, levels)."""
        return scores.failure_key(self.case, self.step)


def _spread(items: list, group) -> list:
    """``items`` (already in preference order) reordered in rounds: the first item of every
    group, then the second of every group, ...; within a round the original order is kept."""
    seen: dict = {}
    ranked = []
    for pos, item in enumerate(items):
        key = group(item)
        seen[key] = seen.get(key, 0) + 1
        ranked.append((seen[key], pos, item))
    return [item for *_, item in sorted(ranked, key=lambda t: t[:2])]


def failing_steps(scores: Scores, verdict: str = "fail") -> list[FailingStep]:
    """Every step with ``verdict`` (``fail``, or ``xfail`` for the known differences), ordered
    for a report that shows only the first N:

    1. first divergent steps before the steps downstream of them (which mostly repeat the cause);
    2. one step per (harness, pipeline) before a second one of the same pair, so a cap shows
       many different problems rather than one pipeline on every input and in both modes;
    3. worst first by :meth:`Scores.failure_key` (how far beyond its tolerance, then how large,
       both in 8-bit levels; for ``xfail``, steps without metrics, e.g. a shape mismatch, come
       last: they have no difference picture);
    4. then harness, mode, case, step index, so the order is total and reproducible.
    """
    items = [FailingStep(c, s) for c in scores.cases for s in c.steps if s.verdict == verdict]
    mode_pos = {m: i for i, m in enumerate(scores.modes)}

    def rank(f: FailingStep) -> tuple[float, float]:
        # An unexpected shape mismatch is the worst failure; among known differences it is the
        # least telling picture (no difference image), so those go after the measured ones.
        key = f.severity(scores)
        return (-1.0, -1.0) if verdict == "xfail" and math.isinf(key[0]) else key

    base = sorted(items, key=lambda f: (tuple(-k for k in rank(f)), f.case.harness,
                                        mode_pos.get(f.case.mode, len(mode_pos)), f.case.case,
                                        f.step.index))
    firsts = [f for f in base if f.first]
    later = [f for f in base if not f.first]
    by_pair = lambda f: (f.case.harness, f.case.pipeline)  # noqa: E731
    return _spread(firsts, by_pair) + _spread(later, by_pair)


def op_shares(items: list[FailingStep], cap: int) -> list[tuple[str, list[FailingStep]]]:
    """``items`` (in report order, e.g. :func:`failing_steps`) grouped by op, each op keeping at
    most its share of ``cap`` items, so that a thousand small decode differences cannot crowd
    a handful of large resize failures off a capped report.

    Shares are equal; an op with fewer items than its share leaves the rest to the others, again
    in equal parts (water filling), so all of ``cap`` is used when there are enough items. Each
    op keeps its first items (its worst, in report order); ops are in the order of their first
    item (the op of the worst failure first)."""
    groups: dict[str, list[FailingStep]] = {}
    for f in items:
        groups.setdefault(f.step.op, []).append(f)
    alloc = {op: 0 for op in groups}
    remaining = max(0, cap)
    while remaining > 0:
        active = [op for op in groups if len(groups[op]) > alloc[op]]
        if not active:
            break
        share = max(1, remaining // len(active))
        for op in active:
            give = min(share, len(groups[op]) - alloc[op], remaining)
            alloc[op] += give
            remaining -= give
            if not remaining:
                break
    return [(op, fs[:alloc[op]]) for op, fs in groups.items() if alloc[op]]


def worst_problem_cases(scores: Scores, n: int) -> tuple[list[CaseScore], int]:
    """(the ``n`` worst cases whose verdict is fail or error; how many such cases there are).

    Order: Scores.worst_cases's (the first divergent step furthest beyond its tolerance first,
    in 8-bit levels, then the largest), spread so that each (harness, pipeline) appears once
    before any appears twice. Lenient negative vectors are listed apart (:func:`lenient_groups`)."""
    everything = [c for c in scores.worst_cases(len(scores.cases)) if c.verdict in ("fail", "error")]
    spread = _spread(everything, lambda c: (c.harness, c.pipeline))
    return spread[:n], len(everything)


def divergent_step(case: CaseScore) -> StepScore | None:
    fd = case.first_divergent_step
    return next((s for s in case.steps if s.index == fd), None)


# Verdicts of a step that is over its tolerance (or could not be compared).
_OVER = ("fail", "xfail", "error", "lenient")


@dataclass(frozen=True)
class FirstDifference:
    """Chained mode: the earliest step whose output differs from the reference at all, while
    still within its tolerance, in a case where a later step fails (:func:`first_difference`)."""

    index: int
    op: str
    max_abs: float
    tolerance: float | None

    def to_json(self) -> dict:
        """The ``first_difference`` object of a case in scores.json."""
        return {"index": self.index, "op": self.op, "max_abs": self.max_abs,
                "tolerance": self.tolerance, "within_tolerance": True}

    def text(self) -> str:
        """"step 1 resize differs by 1 (within its tolerance 1)"."""
        tol = "" if self.tolerance is None else f" {fmt_num(self.tolerance)}"
        return (f"step {self.index} {self.op} differs by {fmt_num(self.max_abs)} "
                f"(within its tolerance{tol})")


def first_difference(case: CaseScore) -> FirstDifference | None:
    """Where a chained case's error starts when its first failing step is not where it starts.

    In chained mode each step runs on the harness's own previous output, so a step that passes
    (a resize 1 level off, within its tolerance of 1) can make a later one fail (normalize turns
    that level into 1/(255·std), over its 1e-5). For a chained case whose steps include a
    ``fail``, ``xfail`` or ``error``, this is the earliest step before the first such one whose
    max abs error is > 0 (verdict ``pass``); None in isolated mode (each step gets the
    reference's input), when no step fails, and when the first step that differs is itself the
    failing one (the first divergent step already names it)."""
    if case.mode != "chained":
        return None
    steps = sorted(case.steps, key=lambda s: s.index)
    over = [s.index for s in steps if s.verdict in _OVER]
    if not over:
        return None
    for s in steps:
        if s.index >= over[0]:
            return None
        m = (s.metrics or {}).get("max_abs")
        if s.verdict == "pass" and m:
            return FirstDifference(s.index, s.op, m, tolerance_of(s))
    return None


@dataclass
class LenientGroup:
    """Negative vectors one harness decoded anyway, grouped by input (one input usually runs
    through several decode pipelines)."""

    harness: str
    input: str
    modes: list[str]
    cases: list[str]
    message: str


def lenient_groups(scores: Scores) -> list[LenientGroup]:
    """Lenient cases grouped by (harness, input), in harness then input order."""
    groups: dict[tuple[str, str], LenientGroup] = {}
    for c in scores.cases:
        if c.verdict != "lenient":
            continue
        g = groups.setdefault((c.harness, c.input), LenientGroup(c.harness, c.input, [], [], ""))
        if c.mode not in g.modes:
            g.modes.append(c.mode)
        if c.case not in g.cases:
            g.cases.append(c.case)
        step = next((s for s in c.steps if s.verdict == "lenient"), None)
        if step and not g.message:
            g.message = step.message
    return [groups[k] for k in sorted(groups)]


# score.py writes a lenient step's message as this prefix, the reference's error, and ")".
LENIENT_PREFIX = "decoded a file a conforming decoder rejects (reference: "


def lenient_reason(message: str) -> str:
    """The reference's error out of a lenient step's message (the message itself if it is not
    in score.py's form)."""
    if message.startswith(LENIENT_PREFIX) and message.endswith(")"):
        return message[len(LENIENT_PREFIX):-1]
    return message


def problem_steps(scores: Scores, verdict: str) -> list[tuple[CaseScore, StepScore | None]]:
    """(case, step) pairs with ``verdict``; for "error" (or "xfail", an expected crash) also
    (case, None) for a case-level error (the harness crashed or timed out: ``CaseScore.error``)."""
    out: list[tuple[CaseScore, StepScore | None]] = []
    for c in scores.cases:
        if c.error and c.case_verdict == verdict:
            out.append((c, None))
        out.extend((c, s) for s in c.steps if s.verdict == verdict)
    return out


def case_verdict_counts(scores: Scores) -> dict[str, int]:
    """Cases (per harness x mode) by overall verdict, every verdict present."""
    out = {v: 0 for v in CELL_ORDER}
    for c in scores.cases:
        out[c.verdict] += 1
    return out


def harness_label(name: str, identity: dict) -> str:
    """"opencv (cv2 5.0.0, opencv-python-headless 5.0.0.93)" from a run.json harness identity;
    an external program shows the version it reported and its command."""
    versions = dict(identity.get("versions") or {})
    if identity.get("kind") == "external":
        reported = identity.get("reported") or {}
        if reported.get("version"):
            versions[str(reported.get("name") or name)] = reported["version"]
        libraries = reported.get("libraries")
        if isinstance(libraries, dict):
            versions.update({str(k): v for k, v in libraries.items()})
        command = identity.get("command") or []
        command = shlex.join(command) if isinstance(command, list) else str(command)
        parts = [", ".join(f"{k} {v}" for k, v in sorted(versions.items())), f"external: {command}"]
        return f"{name} ({'; '.join(p for p in parts if p)})"
    vs = ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))
    return f"{name} ({vs})" if vs else name
