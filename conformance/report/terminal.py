"""The terminal report: header, a verdict matrix per mode, totals, the JPEG decode table (only if
JPEG decode steps were compared), the worst cases, and the negative vectors a harness decoded
anyway (lenient).

The matrix has one row per op and one column per harness (a harness × op matrix, transposed so
that its width grows with the number of harnesses, not ops); when the harnesses do not fit the
console width with their names whole, the matrix is printed in consecutive blocks of harness
columns (the seven built-in harnesses take two blocks at 80 columns). A cell counts step verdicts with one glyph each, e.g.
``1174✓ 88✗ 54–``, and on a second line the worst max abs error over the steps that were
compared (pass, fail, xfail). Without a terminal (CI logs) rich writes no colour codes; where
the output encoding is not UTF-8 the glyphs and table borders are ASCII.
"""

from __future__ import annotations

import json

from dataclasses import dataclass

from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from ..score import Scores
from .common import (ALL_OPS, ASCII_GLYPHS, CELL_ORDER, GLYPHS, case_verdict_counts, divergent_step,
                     error_vs_tolerance, first_difference, fmt_num, harness_label, lenient_groups,
                     lenient_reason, ordered_ops, printable, worst_problem_cases)
from .jpeg_decode import display_rows, jpeg_decode_table, models_sentence

STYLES = {"pass": "green", "fail": "bold red", "xfail": "yellow", "lenient": "magenta",
          "error": "bold red", "unsupported": "dim", "skipped": "dim"}

# Characters of a call or message shown in the worst-cases table before "…" (the JSON and HTML
# reports keep them whole).
MAX_TEXT = 300


@dataclass(frozen=True)
class Style:
    """What the console can show: Unicode glyphs and borders, or ASCII only."""

    unicode: bool

    @classmethod
    def of(cls, console: Console) -> "Style":
        return cls((console.encoding or "").lower().replace("-", "").startswith("utf"))

    @property
    def glyphs(self) -> dict[str, str]:
        return GLYPHS if self.unicode else ASCII_GLYPHS

    @property
    def box(self) -> box.Box:
        return box.SIMPLE_HEAD if self.unicode else box.ASCII

    def text(self, value: object, style: str = "") -> Text:
        """Data (names, messages) as a Text: never parsed as markup, controls escaped."""
        return Text(printable(value, ascii_only=not self.unicode), style=style)

    def short(self, value: str | None) -> str:
        t = printable((value or "").replace("\n", " "), ascii_only=not self.unicode)
        ellipsis = "…" if self.unicode else "..."
        return t if len(t) <= MAX_TEXT else t[:MAX_TEXT - len(ellipsis)] + ellipsis


def _cell(cell: dict | None, st: Style) -> Text:
    """"1174✓ 88✗ 54–" (non-zero counts only) and "max 254" on a second line."""
    if not cell:
        return Text("")
    out = Text()
    for v in CELL_ORDER:
        if cell.get(v):
            if out:
                out.append(" ")
            out.append(f"{cell[v]}{st.glyphs[v]}", style=STYLES[v])
    if cell.get("worst_max_abs") is not None:
        out.append(f"\nmax {fmt_num(cell['worst_max_abs'])}", style="dim")
    return out


def header(scores: Scores, st: Style) -> Table:
    n_cases = len({c.case for c in scores.cases})
    t = Table.grid(padding=(0, 1))
    t.add_column(style="bold", no_wrap=True)
    t.add_column(overflow="fold")
    t.add_row("bundle", st.text(f"{scores.bundle}  (manifest sha256 {scores.bundle_sha256[:12]})"))
    t.add_row("cases", Text(f"{n_cases} x {len(scores.harnesses)} harness(es) x "
                            f"{len(scores.modes)} mode(s): {', '.join(scores.modes)}"))
    for name in sorted(scores.harnesses):
        t.add_row("harness", st.text(harness_label(name, scores.harnesses[name])))
    t.add_row("expectations", st.text(", ".join(scores.expectations) or "none"))
    return t


# Narrowest useful matrix column: a count with its glyph and a worst error ("1238✓ 497x").
MATRIX_CELL_WIDTH = 12
MATRIX_OP_WIDTH = 10


def harness_blocks(harnesses: list[str], width: int) -> list[list[str]]:
    """Consecutive groups of harness columns that fit ``width`` characters with whole names."""
    blocks: list[list[str]] = [[]]
    used = MATRIX_OP_WIDTH
    for h in harnesses:
        need = max(len(h), MATRIX_CELL_WIDTH) + 3  # column + padding and border
        if blocks[-1] and used + need > width:
            blocks.append([])
            used = MATRIX_OP_WIDTH
        blocks[-1].append(h)
        used += need
    return blocks


def matrix(scores: Scores, mode: str, st: Style, width: int = 200) -> Group:
    """Step verdicts per op (rows) and harness (columns) for one mode; last row: all ops. In
    blocks of harness columns when they do not fit ``width``."""
    summary = scores.summary()
    harnesses = [h for h in sorted(summary) if mode in summary[h]]
    ops = ordered_ops(op for h in harnesses for op in summary[h][mode])
    tables = []
    for block in harness_blocks(harnesses, width):
        t = Table(box=st.box, pad_edge=False)
        t.add_column("op", style="bold", no_wrap=True)
        for h in block:
            t.add_column(st.text(h), overflow="fold", min_width=min(len(h), MATRIX_CELL_WIDTH * 2))
        for i, op in enumerate(ops):
            label = "all ops" if op == ALL_OPS else op
            before_total = i + 1 < len(ops) and ops[i + 1] == ALL_OPS
            t.add_row(st.text(label), *(_cell(summary[h][mode].get(op), st) for h in block),
                      end_section=before_total)
        tables.append(t)
    return Group(Text(f"{mode} mode: step verdicts per op", style="bold"), *tables)


def legend(st: Style) -> Text:
    out = Text("legend: ", style="dim")
    for v in CELL_ORDER:
        out.append(f"{st.glyphs[v]} {v}", style=STYLES[v])
        out.append("  ")
    out.append("max: worst |error|", style="dim")
    return out


def _counts_text(counts: dict[str, int], st: Style) -> Text:
    out = Text()
    for v in CELL_ORDER:
        if counts.get(v):
            if out:
                out.append(", ")
            out.append(f"{counts[v]} {st.glyphs[v]} {v}", style=STYLES[v])
    return out if out else Text("none")


def totals(scores: Scores, st: Style) -> Text:
    out = Text("steps: ", style="bold")
    out.append_text(_counts_text(scores.counts(), st))
    out.append("\ncases x harness x mode: ", style="bold")
    out.append_text(_counts_text(case_verdict_counts(scores), st))
    return out


def worst_table(scores: Scores, n: int, st: Style) -> Group | Text:
    cases, total = worst_problem_cases(scores, n)
    if not total:
        return Text("no failing or erroring cases", style="green")
    if not cases:
        return Text(f"{total} failing or erroring case(s)", style="bold red")
    title = Text(f"worst cases: {len(cases)} of {total} failing", style="bold")
    title.append(" (first divergent step; furthest beyond its tolerance first, in 8-bit levels, "
                 "one per harness x pipeline before repeats)", style="dim")
    t = Table(box=st.box, show_lines=True, pad_edge=False)
    t.add_column("harness\nmode", no_wrap=True)
    t.add_column("step", no_wrap=True)
    t.add_column("max abs\nvs tol", no_wrap=True)
    t.add_column("case / call / message", overflow="fold", ratio=1)
    for c in cases:
        step = divergent_step(c)
        detail = st.text(c.case, "bold")
        if step is None:  # a case-level error: the harness crashed or timed out
            where, err = "case", "error"
            detail.append("\n" + st.short(c.error), style=STYLES["error"])
        else:
            where, err = f"{step.index} {step.op}", error_vs_tolerance(step)
            diff = first_difference(c)
            if diff is not None:
                detail.append("\nfirst difference: " + st.short(diff.text()), style="magenta")
            if step.call:
                detail.append("\n" + st.short(step.call), style="cyan")
            if step.message:
                detail.append("\n" + st.short(step.message))
            if step.explanation:  # score --explain
                detail.append("\nwhy: " + printable(step.explanation["sentence"], ascii_only=not st.unicode),
                              style="green" if step.explanation["explained"] else "yellow")
            if c.error:
                detail.append("\n" + st.short(f"case error: {c.error}"), style=STYLES["error"])
        t.add_row(st.text(f"{c.harness}\n{c.mode}"), st.text(where), st.text(err, STYLES[c.verdict]),
                  detail)
    return Group(title, t)


def jpeg_table(scores: Scores, st: Style) -> Group | None:
    """The JPEG decode table (:mod:`.jpeg_decode`): one row per harness x decode preset x
    subsampling, under a "harness (mode)" line per block so that it fits 80 columns; None when
    no JPEG decode step was compared, a one-line note when the bundle manifest is unreadable.

    The terminal keeps it short: isolated mode only where it was run (decode is a pipeline's
    first step, so chained mode decodes the same) and presets as defined (rows of pipelines that
    override a preset's knob are in the JSON and HTML reports)."""
    table = jpeg_decode_table(scores)
    if table.groups is None:
        return Group(Text(table.problem, style="dim"))
    groups = table.groups
    if any(g.mode == "isolated" for g in groups):
        groups = [g for g in groups if g.mode == "isolated"]
    groups = [g for g in groups if not g.overrides] or groups
    if not groups:
        return None
    title = Text("JPEG decode by subsampling", style="bold")
    title.append(" (|harness - reference| of the compared steps; presets as defined; every "
                 "row in the JSON/HTML reports)", style="dim")
    t = Table(box=st.box, pad_edge=False)
    t.add_column("decode preset", overflow="fold")
    t.add_column("sampling", no_wrap=True)
    for name in ("steps", "max", "mean", ">tol"):
        t.add_column(name, justify="right", no_wrap=True)
    t.add_column("verdicts", overflow="fold")
    rows = display_rows(groups)
    for i, r in enumerate(rows):
        g = r.group
        if r.new_block:
            t.add_row(st.text(f"{g.harness} ({g.mode})", "bold"))
        last_of_block = i + 1 == len(rows) or rows[i + 1].new_block
        t.add_row(st.text(r.preset), st.text(g.subsampling), str(g.steps), fmt_num(g.max_abs),
                  fmt_num(g.mean_abs), str(g.over_tolerance), _cell(g.verdicts, st),
                  end_section=last_of_block)
    out = [title, t]
    models = models_sentence(groups)
    if models:
        out.append(Text(models + "; >tol: steps over their tolerance", style="dim"))
    return Group(*out)


def lenient_table(scores: Scores, st: Style) -> Group | None:
    groups = lenient_groups(scores)
    if not groups:
        return None
    results = sum(1 for c in scores.cases if c.verdict == "lenient")
    title = Text(f"lenient: {results} result(s)", style="bold")
    title.append(" (negative vectors decoded although a conforming decoder rejects them)",
                 style="dim")
    t = Table(box=st.box, pad_edge=False)
    t.add_column("harness", no_wrap=True)
    t.add_column("input", no_wrap=True)
    t.add_column("cases", no_wrap=True)
    t.add_column("the reference rejects it with", overflow="fold", ratio=1)
    for g in groups:
        t.add_row(st.text(g.harness), st.text(g.input),
                  f"{len(g.cases)} pipeline(s)\n{', '.join(g.modes)}", st.short(lenient_reason(g.message)))
    return Group(title, t)


WHY_ROWS = 15  # distinct explanations listed by score --explain


def why_table(scores: Scores, st: Style) -> Group | None:
    """score --explain: each distinct reason found for failing and xfail steps, per harness and
    op, with how many steps it covers (one line per reason, most steps first). Steps that
    simply match their own pipeline step (chained steps after an upstream difference) are
    counted apart. None when nothing was explained."""
    groups: dict[tuple, list] = {}
    matching = 0
    for c in scores.cases:
        for s in c.steps:
            e = s.explanation
            if not e:
                continue
            best = e.get("best") or {}
            if e["explained"] and not (best.get("preset") or best.get("knobs") or best.get("transform")):
                matching += 1
                continue
            # one row per reason: the same best hypothesis (the sentences may differ in their
            # tail, e.g. which settings are indistinguishable on that input)
            key = (c.harness, s.op, best.get("preset"), json.dumps(best.get("knobs"), sort_keys=True),
                   best.get("transform"), best.get("detail"), e["explained"])
            groups.setdefault(key, []).append((c.mode, e["explained"], e["sentence"]))
    if not groups and not matching:
        return None
    title = Text("why (score --explain): what reproduces each failing and xfail step", style="bold")
    t = Table(box=st.box, show_lines=True, pad_edge=False)
    for col in ("harness", "op", "steps"):
        t.add_column(col, no_wrap=True)
    t.add_column("explanation", overflow="fold", ratio=1)
    ranked = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    for (harness, op, *_), members in ranked[:WHY_ROWS]:
        explained = members[0][1]
        sentence = min((m[2] for m in members), key=len)
        modes = "/".join(sorted({m[0] for m in members}))
        t.add_row(st.text(harness), st.text(op), st.text(f"{len(members)} ({modes})"),
                  st.text(sentence if explained else "not reproduced: " + sentence,
                          "green" if explained else "yellow"))
    parts = [title, t]
    if len(ranked) > WHY_ROWS:
        parts.append(Text(f"{len(ranked) - WHY_ROWS} more distinct explanation(s) in scores.json", style="dim"))
    if matching:
        parts.append(Text(f"{matching} step(s) match their own pipeline step within tolerance (chained "
                          "mode: the difference came from an earlier step)", style="dim"))
    return Group(*parts)


def render_terminal(scores: Scores, console: Console, *, worst: int = 10) -> None:
    """Print the report of ``scores`` on ``console`` (see the module docstring for the layout)."""
    st = Style.of(console)
    parts = [header(scores, st), Text("")]
    for mode in scores.modes:
        parts += [matrix(scores, mode, st, console.width), Text("")]
    parts += [legend(st), totals(scores, st), Text("")]
    jpeg = jpeg_table(scores, st)
    if jpeg is not None:
        parts += [jpeg, Text("")]
    parts += [worst_table(scores, worst, st)]
    why = why_table(scores, st)
    if why is not None:
        parts += [Text(""), why]
    lenient = lenient_table(scores, st)
    if lenient is not None:
        parts += [Text(""), lenient]
    console.print(Group(*parts))
