"""The HTML report: one self-contained file (inline CSS, images as data: URIs, no script, nothing
fetched from a network; a Content-Security-Policy in the page forbids any fetch).

Sections: header (bundle, harnesses and versions, modes, expectation files, totals); a summary
matrix per mode (harness rows × op columns, coloured by the worst verdict of the cell); JPEG
decode by subsampling (:mod:`.jpeg_decode`: max and mean error per harness × mode × decode preset
× chroma subsampling); the negative vectors decoded anyway (lenient); errors; the failing steps (``fail``), each with the
reference output, the harness output and an amplified difference heatmap side by side, the
metrics, the tolerance, the call and the message; and a text list of every failing case.

Failing steps shown are at most ``max_failures``, shared among the ops that fail
(:func:`common.op_shares`: equal shares, what an op does not need goes to the others) and shown
per op, the op of the worst failure first; within an op in :func:`common.failing_steps` order
(first divergent steps first; one per harness × pipeline before repeats; furthest beyond the
tolerance first, in 8-bit levels). Images take at most ``image_budget`` bytes of data: URIs, each
op an equal share first (so the worst failures of every op have pictures), then what is left in
report order; the rest keep their text, and the page says how many. The known differences
(xfail) get what the failing steps leave of both caps, shared the same way. Images are drawn by
:mod:`.images`. In chained mode a figure names the case's first difference when it is an earlier
step within its tolerance (:func:`common.first_difference`).

Arrays are read from the bundle (``Scores.bundle``, hash-checked) and the results directory
(``Scores.results_dir``). If either cannot be read the report is still written, without images,
and says why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from markupsafe import Markup
from jinja2 import Environment, PackageLoader, StrictUndefined

from .. import __version__
from ..bundle import Bundle, load_npy
from ..errors import ConformanceError
from ..results import harness_dir
from ..score import Scores
from . import images
from .common import (ALL_OPS, CELL_ORDER, GLYPHS, FailingStep, case_verdict_counts,
                     error_vs_tolerance, failing_steps, first_difference, fmt_num, harness_label,
                     lenient_groups, lenient_reason, op_shares, ordered_ops, printable,
                     problem_steps, worst_problem_cases)
from .jpeg_decode import display_rows, jpeg_decode_table, models_sentence
from ..safeio import atomic_write_text

TEMPLATE = "report.html.j2"
# Failing steps drawn as images, by default: enough to see the patterns, small enough to scroll.
DEFAULT_MAX_FAILURES = 40
# Bytes of image data: URIs after which further failing steps are shown without images; keeps
# the file a few megabytes even for a bundle of large photographs.
DEFAULT_IMAGE_BUDGET = 3_000_000
# Rows of the error table and of the list of failing cases (text only) before "N more".
MAX_LISTED = 2000

# Cell classes of the summary matrix, worst first: the first that applies colours the cell.
CELL_CLASS = (("bad", ("fail", "error", "lenient")), ("warn", ("xfail",)), ("ok", ("pass",)),
              ("info", ("unsupported", "skipped")))


@dataclass
class Figure:
    """Everything the template shows for one failing step."""

    anchor: str
    harness: str
    mode: str
    case: str
    pipeline: str
    input: str
    index: int
    op: str
    first: bool
    message: str
    call: str
    error_vs_tol: str
    tolerance: dict
    metrics: list[tuple[str, str]]
    pictures: list[tuple[str, images.Picture]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # chained mode: where the case's error starts when it is an earlier step within tolerance
    first_difference: str = ""
    # score/report --explain: what reproduces the harness output, and whether it does
    why: str = ""
    why_explained: bool = False


class _Arrays:
    """Reads expected outputs from the bundle and harness outputs from the results directory."""

    def __init__(self, scores: Scores):
        self.scores = scores
        self.problem = ""
        self.bundle: Bundle | None = None
        try:
            # The scorer already validated the manifest; every read below is still hash-checked.
            self.bundle = Bundle(scores.bundle, validate_schema=False)
            self.cases = {c["id"]: c for c in self.bundle.cases}
        except (ConformanceError, OSError) as e:
            self.problem = f"the bundle cannot be read, so no images are shown: {e}"

    def pipeline_steps(self, pipeline: str) -> list[dict]:
        if self.bundle is None:
            return []
        return self.bundle.manifest["pipelines"].get(pipeline, {}).get("steps", [])

    def expected(self, case: str, index: int) -> np.ndarray:
        """The reference output of step ``index`` (KeyError/StopIteration if not in the bundle)."""
        entry = next(s for s in self.cases[case]["steps"] if s["index"] == index)
        return self.bundle.expected(entry)

    def output(self, harness: str, mode: str, rel: str) -> np.ndarray:
        root = harness_dir(Path(self.scores.results_dir), harness, mode)
        path = (root / rel).resolve()
        if not path.is_relative_to(root.resolve()):
            raise ConformanceError(f"{rel}: output path leaves the results directory")
        return load_npy(path.read_bytes(), where=str(path))


def _metric_rows(f: FailingStep, expected: np.ndarray | None, got: np.ndarray | None) -> list[tuple[str, str]]:
    m = f.step.metrics or {}
    rows = []
    if expected is not None:
        rows.append(("reference", f"{expected.dtype.name} {list(expected.shape)}"))
    if got is not None:
        rows.append(("harness output", f"{got.dtype.name} {list(got.shape)}"))
    if m:
        rows.append(("max abs error", fmt_num(m.get("max_abs") if m.get("max_abs") is not None
                                              else float("inf"))))
        rows.append(("mean abs error", fmt_num(m.get("mean_abs"))))
        rows.append(("RMSE", fmt_num(m.get("rmse"))))
        if "psnr" in m:
            rows.append(("PSNR", "identical" if m["psnr"] is None and m.get("rmse") == 0
                         else f"{fmt_num(m['psnr'])} dB"))
        rows.append(("over tolerance", f"{fmt_num(100 * (m.get('over_tolerance') or 0))}% of elements"))
        if m.get("nonfinite"):
            rows.append(("non-finite", str(m["nonfinite"])))
        if "max_rel" in m:
            rows.append(("max relative error", fmt_num(m["max_rel"])))
        if "max_ulp" in m:
            rows.append(("max ULP distance", str(m["max_ulp"])))
        w = m.get("worst") or {}
        rows.append(("worst element", f"index {w.get('index')}: reference {fmt_num(w.get('expected'))}, "
                                       f"harness {fmt_num(w.get('got'))}"))
    return rows


def _figure(n: int, f: FailingStep, arrays: _Arrays, draw: bool) -> tuple[Figure, int]:
    """The figure of failing step ``f`` and the bytes its images take (0 if not drawn)."""
    c, s = f.case, f.step
    fig = Figure(anchor=f"failure-{n}", harness=c.harness, mode=c.mode, case=c.case,
                 pipeline=c.pipeline, input=c.input, index=s.index, op=s.op, first=f.first,
                 message=s.message, call=s.call or "", error_vs_tol=error_vs_tolerance(s),
                 tolerance=s.tolerance or {}, metrics=[])
    diff = first_difference(c)
    if diff is not None and diff.index < s.index:
        fig.first_difference = diff.text()
    if s.explanation:
        fig.why, fig.why_explained = s.explanation["sentence"], bool(s.explanation["explained"])
    expected = got = None
    if arrays.bundle is not None:
        try:
            expected = arrays.expected(c.case, s.index)
        except (ConformanceError, OSError, StopIteration, KeyError) as e:
            fig.problems.append(f"reference output unavailable: {e or 'not in the bundle'}")
        if s.output:
            try:
                got = arrays.output(c.harness, c.mode, s.output)
            except (ConformanceError, OSError) as e:
                fig.problems.append(f"harness output unavailable: {e}")
        else:
            fig.problems.append("the harness recorded no output file")
    fig.metrics = _metric_rows(f, expected, got)
    if not draw or expected is None:
        return fig, 0
    try:
        fig.pictures = _pictures(c.harness, expected, got,
                                 images.channel_state(arrays.pipeline_steps(c.pipeline), s.index))
    except (ValueError, TypeError) as e:  # an array no rule can draw (e.g. complex values)
        fig.problems.append(f"cannot draw these arrays: {e}")
    used = sum(len(p.uri or "") for _, p in fig.pictures)
    return fig, used


def _pictures(harness: str, expected: np.ndarray, got: np.ndarray | None,
              state: images.ChannelState) -> list[tuple[str, images.Picture]]:
    """Reference, harness output (on the reference's value map when the dtypes agree) and the
    difference heatmap."""
    vmap = images.value_map(expected)
    out = [("reference", images.picture(expected, state, vmap))]
    if got is not None:
        same_scale = got.dtype == expected.dtype
        pic = images.picture(got, state, vmap if same_scale else images.value_map(got))
        if not same_scale:
            pic.notes.insert(0, f"drawn on its own {got.dtype.name} scale: the reference is "
                                f"{expected.dtype.name}")
        out.append((f"{harness} output", pic))
        out.append(("difference", images.heatmap(expected, got, state, vmap)))
    return out


def _cell(cell: dict | None) -> dict | None:
    if not cell:
        return None
    cls = next((name for name, verdicts in CELL_CLASS if any(cell.get(v) for v in verdicts)), "info")
    parts = [(v, cell[v], GLYPHS[v]) for v in CELL_ORDER if cell.get(v)]
    return {"cls": cls, "parts": parts,
            "worst": fmt_num(cell["worst_max_abs"]) if cell.get("worst_max_abs") is not None else "",
            "title": ", ".join(f"{v} {cell.get(v, 0)}" for v in CELL_ORDER)}


def _matrices(scores: Scores) -> list[dict]:
    summary = scores.summary()
    out = []
    for mode in scores.modes:
        harnesses = [h for h in sorted(summary) if mode in summary[h]]
        ops = ordered_ops(op for h in harnesses for op in summary[h][mode])
        rows = [{"harness": h, "cells": [_cell(summary[h][mode].get(op)) for op in ops]}
                for h in harnesses]
        out.append({"mode": mode, "ops": ["all ops" if o == ALL_OPS else o for o in ops],
                    "rows": rows, "all_col": ALL_OPS in ops})
    return out


def _jpeg_section(scores: Scores) -> dict[str, Any]:
    """The JPEG decode table as template rows (numbers formatted, verdict parts with glyphs)."""
    table = jpeg_decode_table(scores)
    rows = []
    for r in display_rows(table.groups or []):
        g = r.group
        rows.append({"harness": r.harness, "mode": r.mode, "preset": r.preset,
                     "new_block": r.new_block, "subsampling": g.subsampling, "steps": g.steps,
                     "max_abs": fmt_num(g.max_abs), "mean_abs": fmt_num(g.mean_abs),
                     "over_tolerance": g.over_tolerance, "cls": _cell(g.verdicts)["cls"],
                     "parts": [(v, g.verdicts[v], GLYPHS[v]) for v in CELL_ORDER if g.verdicts.get(v)]})
    return {"rows": rows, "problem": table.problem, "models": models_sentence(table.groups or [])}


def _draw_groups(groups: list[tuple[str, list[FailingStep]]], arrays: _Arrays, budget: int,
                 prefix: str) -> tuple[list[dict[str, Any]], int, int]:
    """The figures of ``groups`` (:func:`common.op_shares`) as template groups
    ``{"op", "figures"}``, drawing images within ``budget`` bytes; (groups, bytes spent, figures
    left without images for want of budget).

    Each op gets an equal share of the budget: its figures, worst first, keep their images while
    they fit in what is left of its share, and its first figure always does (so the worst
    failure of every op has pictures, even one larger than its share). What the ops leave of the
    budget then goes to the figures still without images, in report order, while they fit."""
    share = budget / max(1, len(groups))
    out, spent, n = [], 0, 0
    waiting: list[tuple[dict, int, int, FailingStep]] = []  # (group, position, number, step)
    for op, items in groups:
        group: dict[str, Any] = {"op": op, "figures": []}
        op_spent = 0
        for f in items:
            allowed = op_spent < share
            fig, used = _figure(n, f, arrays, allowed)
            if allowed and group["figures"] and op_spent + used > share:
                fig.pictures, used, allowed = [], 0, False  # over the op's share
            fig.anchor = f"{prefix}-{n}"
            if not allowed:
                waiting.append((group, len(group["figures"]), n, f))
            op_spent += used
            group["figures"].append(fig)
            n += 1
        spent += op_spent
        out.append(group)
    left = 0
    for group, pos, number, f in waiting:
        if spent >= budget:
            left += 1
            continue
        fig, used = _figure(number, f, arrays, True)
        if spent + used > budget:
            left += 1
            continue
        fig.anchor = f"{prefix}-{number}"
        group["figures"][pos] = fig
        spent += used
    return out, spent, left


def build_context(scores: Scores, *, max_failures: int = DEFAULT_MAX_FAILURES,
                  image_budget: int = DEFAULT_IMAGE_BUDGET) -> dict[str, Any]:
    """Everything the template renders (plain data; the template escapes all text)."""
    arrays = _Arrays(scores)
    failing = failing_steps(scores)
    groups = op_shares(failing, max_failures)
    figure_groups, spent, undrawn = _draw_groups(groups, arrays, image_budget, "failure")
    figures = [fig for g in figure_groups for fig in g["figures"]]
    # the known differences (xfail) get what is left of the caps: they are the suite's findings
    known = failing_steps(scores, "xfail")
    known_groups = op_shares(known, max(0, max_failures - len(figures)))
    known_figure_groups, known_spent, known_undrawn = _draw_groups(
        known_groups, arrays, max(0, image_budget - spent), "known")
    known_figures = [fig for g in known_figure_groups for fig in g["figures"]]
    undrawn += known_undrawn
    spent += known_spent
    op_totals = {op: sum(1 for f in failing if f.step.op == op) for op, _ in groups}
    for g in figure_groups:
        g["total"] = op_totals[g["op"]]
    known_totals = {op: sum(1 for f in known if f.step.op == op) for op, _ in known_groups}
    for g in known_figure_groups:
        g["total"] = known_totals[g["op"]]
    errors = [{"harness": c.harness, "mode": c.mode, "case": c.case,
               "step": "case" if s is None else f"{s.index} {s.op}",
               "message": c.error if s is None else s.message, "call": "" if s is None else (s.call or "")}
              for c, s in problem_steps(scores, "error")]
    cases, n_failing_cases = worst_problem_cases(scores, len(scores.cases))
    step_counts = scores.counts()
    case_rows = []
    for c in cases[:MAX_LISTED]:
        fd = c.first_divergent_step
        step = next((s for s in c.steps if s.index == fd), None)
        diff = first_difference(c)
        case_rows.append({"harness": c.harness, "mode": c.mode, "case": c.case, "verdict": c.verdict,
                          "step": "case" if step is None else f"{step.index} {step.op}",
                          "error_vs_tol": "error" if step is None else error_vs_tolerance(step),
                          "first_difference": diff.text() if diff else "",
                          "message": (c.error or "") if step is None else step.message})
    return {
        "version": __version__,
        "bundle": scores.bundle, "bundle_sha256": scores.bundle_sha256,
        "results_dir": scores.results_dir,
        "harnesses": [harness_label(h, scores.harnesses[h]) for h in sorted(scores.harnesses)],
        "modes": scores.modes, "expectations": scores.expectations,
        "n_cases": len({c.case for c in scores.cases}),
        "step_totals": [(v, step_counts[v], GLYPHS[v]) for v in CELL_ORDER if step_counts[v]],
        "case_totals": [(v, n, GLYPHS[v]) for v, n in case_verdict_counts(scores).items() if n],
        "legend": [(v, GLYPHS[v]) for v in CELL_ORDER],
        "matrices": _matrices(scores),
        "jpeg": _jpeg_section(scores),
        "lenient": [(g, lenient_reason(g.message)) for g in lenient_groups(scores)],
        "n_lenient": sum(1 for c in scores.cases if c.verdict == "lenient"),
        "errors": errors[:MAX_LISTED], "errors_omitted": max(0, len(errors) - MAX_LISTED),
        "figures": figures, "figure_groups": figure_groups, "n_failing_steps": len(failing),
        "figures_omitted": max(0, len(failing) - len(figures)), "undrawn": undrawn,
        "known_figures": known_figures, "known_figure_groups": known_figure_groups,
        "n_known_steps": len(known),
        "known_omitted": max(0, len(known) - len(known_figures)),
        "image_budget": image_budget, "source_problem": arrays.problem,
        "case_rows": case_rows, "n_failing_cases": n_failing_cases,
        "case_rows_omitted": max(0, n_failing_cases - len(case_rows)),
    }


def environment() -> Environment:
    """The jinja2 environment: the package's templates, HTML autoescaping, strict undefined."""
    env = Environment(loader=PackageLoader("conformance.report", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      keep_trailing_newline=True,
                      # every {{ value }}: control characters escaped, then HTML-escaped;
                      # Markup (a macro's rendered HTML) is already safe and passes unchanged
                      finalize=lambda v: v if isinstance(v, Markup) or not isinstance(v, str)
                      else printable(v))
    env.filters["num"] = fmt_num
    return env


def render_html(scores: Scores, *, max_failures: int = DEFAULT_MAX_FAILURES,
                image_budget: int = DEFAULT_IMAGE_BUDGET) -> str:
    """The report as an HTML string."""
    ctx = build_context(scores, max_failures=max_failures, image_budget=image_budget)
    return environment().get_template(TEMPLATE).render(**ctx)


def write_html(scores: Scores, path: str | Path, *, max_failures: int = DEFAULT_MAX_FAILURES,
               image_budget: int = DEFAULT_IMAGE_BUDGET) -> Path:
    """Write the self-contained HTML report of ``scores`` to ``path`` and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, render_html(scores, max_failures=max_failures, image_budget=image_budget))
    return path
