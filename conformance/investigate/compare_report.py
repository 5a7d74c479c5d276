"""What ``conformance compare`` writes: a terminal summary, ``compare.json`` (schema
``conformance/schemas/compare-v1.schema.json``) and a self-contained ``compare.html`` (no
network: images inlined as PNG data URIs) with, per input, the first divergent step drawn as A,
B and an amplified difference heatmap (the drawing code of the run report, :mod:`..report.images`).
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined
from rich.console import Console
from rich.table import Table

from .. import __version__
from ..bundle import json_bytes
from ..report import images
from ..report.common import fmt_num, printable
from ..safeio import atomic_write_bytes, atomic_write_text, markup_safe as _safe
from .compare import Comparison, InputComparison, StepComparison


FILES = {"json": "compare.json", "html": "compare.html"}
MAX_FIGURES = 24  # inputs drawn in the HTML page (the worst first divergence first)


def schema() -> dict:
    text = resources.files("conformance").joinpath("schemas/compare-v1.schema.json").read_text("utf-8")
    return json.loads(text)


def _fig(m: dict | None) -> str:
    if not m:
        return "-"
    text = f"max {fmt_num(m['max_abs'])}, mean {fmt_num(m['mean_abs'])}"
    if "levels" in m:
        text += f" ({fmt_num(m['levels']['max_abs'])} / {fmt_num(m['levels']['mean_abs'])} levels)"
    return text


def render_terminal(comp: Comparison, console: Console, *, worst: int = 10) -> None:
    console.print(f"[bold]compare[/] {_safe(comp.a['label'])}  vs  {_safe(comp.b['label'])}")
    done = [i for i in comp.inputs if not i.error]
    console.print(f"{len(done)} input(s) compared" + (f", {len(comp.inputs) - len(done)} could not "
                                                       "be processed (listed below)" if len(done) < len(comp.inputs) else ""))
    t = Table(title="per aligned step over the inputs: inputs that differ, inputs whose first "
                    "divergence it is, worst max and mean |Δ|, worst max in grey levels (floats, "
                    "through normalize's std), values over one level", title_justify="left")
    for col in ("step", "differ", "first", "max |Δ|", "mean |Δ|", "max levels", ">1 level", "note"):
        t.add_column(col, overflow="fold")
    for row in comp.summary():
        t.add_row(_safe(row["label"]), f"{row['differing_inputs']}/{row['compared']}",
                  str(row["first_divergent"]), fmt_num(row["worst_max_abs"]), fmt_num(row["mean_mean_abs"]),
                  fmt_num(row["worst_max_levels"]),
                  "-" if row["mean_over_one_level"] is None else f"{100 * row['mean_over_one_level']:.2f}%",
                  _safe("; ".join(row["aligned_notes"])))
    console.print(t)
    pixel_rows = [row for row in comp.summary() if row.get("pixels") and row["differing_inputs"]]
    if pixel_rows:
        t = Table(title="pixels, A -> B (integer steps that differ; means over the inputs): mean level, "
                        "values clipped to black, values clipped to white", title_justify="left")
        for col in ("step", "mean level", "Δ mean", "clipped to 0", "clipped to max"):
            t.add_column(col, overflow="fold")
        for row in pixel_rows:
            p = row["pixels"]
            t.add_row(_safe(row["label"]), f"{fmt_num(p['mean_a'])} -> {fmt_num(p['mean_b'])}",
                      fmt_num(None if p["mean_a"] is None or p["mean_b"] is None else p["mean_b"] - p["mean_a"]),
                      f"{_pct(p['clipped_low_a'])} -> {_pct(p['clipped_low_b'])}",
                      f"{_pct(p['clipped_high_a'])} -> {_pct(p['clipped_high_b'])}")
        console.print(t)
    counts = comp.first_divergent_counts()
    if counts:
        console.print("first divergent step: " + ", ".join(f"{_safe(k)} on {v} input(s)"
                                                            for k, v in sorted(counts.items(), key=lambda kv: -kv[1])))
    ranked = _ranked(comp)[:worst]
    if ranked:
        t = Table(title=f"the {len(ranked)} inputs whose first divergence is largest", title_justify="left")
        for col in ("input", "first divergent step", "figures"):
            t.add_column(col, overflow="fold")
        for i, fd in ranked:
            t.add_row(_safe(_name(i)), _safe(fd.row.label), _safe(_fig(fd.metrics) + (f" [{fd.note}]" if fd.note else "")))
        console.print(t)
    for i in comp.inputs:
        if i.error:
            console.print(f"[yellow]not compared:[/] {_safe(_name(i))}: {_safe(i.error)}", soft_wrap=True)


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"


def _name(i: InputComparison) -> str:
    """The input's file name, or its id when its origin is a long description."""
    return i.source if len(i.source) <= 40 else i.input


def _severity(s: StepComparison) -> float:
    m = s.metrics or {}
    if "levels" in m:
        return m["levels"]["max_abs"] or float("inf")
    return m.get("max_abs") if m.get("max_abs") is not None else float("inf")


def _ranked(comp: Comparison) -> list[tuple[InputComparison, StepComparison]]:
    out = [(i, i.first_divergent) for i in comp.inputs if not i.error and i.first_divergent is not None]
    return sorted(out, key=lambda p: (p[1].row.a, -_severity(p[1])))


def write_json(comp: Comparison, path: Path) -> Path:
    atomic_write_bytes(path, json_bytes(comp.to_json()))
    return path


def _figure(comp: Comparison, i: InputComparison, s: StepComparison) -> dict:
    pa, pb = s.arrays
    state = images.ChannelState()
    vmap = images.value_map(pa)
    return {"input": _name(i), "label": s.row.label, "figures": _fig(s.metrics), "note": s.note,
            "a": images.picture(pa, state, vmap), "b": images.picture(pb, state, vmap),
            "diff": images.heatmap(pa, pb, state, vmap)}


def render_html(comp: Comparison) -> str:
    env = Environment(loader=PackageLoader("conformance.investigate", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      finalize=lambda v: printable(v) if isinstance(v, str) else v)
    env.filters["num"] = fmt_num
    ranked = _ranked(comp)
    figures = [_figure(comp, i, fd) for i, fd in ranked[:MAX_FIGURES] if fd.arrays is not None]
    return env.get_template("compare.html.j2").render(
        comp=comp, summary=comp.summary(), counts=comp.first_divergent_counts(), figures=figures,
        left_out=max(0, len(ranked) - MAX_FIGURES), version=__version__,
        not_compared=[i for i in comp.inputs if i.error])


def write_html(comp: Comparison, path: Path) -> Path:
    atomic_write_text(path, render_html(comp))
    return path


def write_reports(comp: Comparison, out_dir: Path) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    return {"json": write_json(comp, out_dir / FILES["json"]), "html": write_html(comp, out_dir / FILES["html"])}

