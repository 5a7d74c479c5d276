"""What ``conformance impact`` writes: a terminal summary, ``impact.json`` (schema
``conformance/schemas/impact-v1.schema.json``) and a self-contained ``impact.html`` (no network:
histograms as inline SVG, the flipped images' two input tensors side by side as PNG data URIs
drawn by :mod:`conformance.report.images`).
"""

from __future__ import annotations

import json
from html import escape as html_escape
from importlib import resources
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup
from rich.console import Console
from ..safeio import markup_safe as escape  # data: control characters and markup escaped
from rich.table import Table

from .. import __version__
from ..bundle import json_bytes
from ..report import images
from ..report.common import fmt_num
from ..safeio import atomic_write_bytes, atomic_write_text
from .impact import Figure, Impact

FILES = {"json": "impact.json", "html": "impact.html"}


def schema() -> dict:
    text = resources.files("conformance").joinpath("schemas/impact-v1.schema.json").read_text("utf-8")
    return json.loads(text)


def _pct(v) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"


def summary_line(kind: str, m: dict) -> str:
    """One line of a comparison's figures."""
    if not m.get("images"):
        return "no image compared"
    if kind == "classifier":
        return (f"top-1 agreement {_pct(m['top1_agreement'])} ({m['flips']} flipped of {m['images']}), "
                f"top-{m['top_k']} overlap {fmt_num(m['topk_overlap'])}, |Δp| max {fmt_num(m['max_dp'])} "
                f"mean {fmt_num(m['mean_dp'])}, KL mean {fmt_num(m['mean_kl'])}")
    if kind == "dbnet":
        return (f"recall {_pct(m['recall'])}, precision {_pct(m['precision'])} ({m['matched']} matched of "
                f"{m['boxes_a']} / {m['boxes_b']} boxes at IoU >= 0.5), mean IoU {fmt_num(m['mean_iou'])}, "
                f"{m['changed_images']} of {m['images']} images changed")
    return f"cosine min {fmt_num(m['min_cosine'])} mean {fmt_num(m['mean_cosine'])}"


def render_terminal(res: Impact, console: Console, *, worst: int = 10) -> None:
    spec = res.model
    console.print(f"[bold]impact[/] on {escape(spec.name)} ({escape(spec.description)}), "
                  f"{len(res.images)} image(s)" + (f", {len(res.skipped)} skipped" if res.skipped else ""))
    if res.comparisons:
        t = Table(title="predictions, B against A", title_justify="left")
        for col in ("A", "B", "figures"):
            t.add_column(col, overflow="fold")
        for c in res.comparisons:
            t.add_row(escape(c.a), escape(c.b), escape(summary_line(spec.kind, c.metrics)))
        console.print(t)
        for c in res.comparisons:
            flipped = c.metrics.get("flipped") or c.metrics.get("changed") or []
            if not flipped:
                continue
            t = Table(title=f"changed predictions, {c.b} (first {min(worst, len(flipped))} of {len(flipped)})",
                      title_justify="left")
            if spec.kind == "classifier":
                for col in ("image", "A", "B", "|Δp|"):
                    t.add_column(col, overflow="fold")
                for f in flipped[:worst]:
                    t.add_row(escape(f["image"]), f"{escape(f['label_a'])} ({fmt_num(f['p_a'])})",
                              f"{escape(f['label_b'])} ({fmt_num(f['p_b'])})", fmt_num(f["dp"]))
            else:
                for col in ("image", "boxes A", "boxes B", "matched"):
                    t.add_column(col)
                for f in flipped[:worst]:
                    t.add_row(escape(f["image"]), str(f["boxes_a"]), str(f["boxes_b"]), str(f["matched"]))
            console.print(t)
    if res.sweep:
        t = Table(title=f"sweep from {res.sweep['base']} on {res.sweep['images']} images: knobs ranked by "
                        "the share of predictions they change (worst value)", title_justify="left")
        for col in ("knob", "worst value", "base value", "changed", "drift", "values", "note"):
            t.add_column(col, overflow="fold")
        for r in res.sweep["ranking"]:
            t.add_row(escape(r["knob"]), escape(str(r["worst_value"])), escape(str(r["base_value"])),
                      _pct(r["flip_rate"]), fmt_num(r["drift"]), str(r["values_tried"]), escape(r["note"][:80]))
        console.print(t)
        refused = [r for r in res.sweep["variants"] if r["status"] != "ok"]
        if refused:
            console.print(f"{len(refused)} variant(s) not run (refused by the reference or not fitting the "
                          "model): listed in impact.json")
    rt = res.runtimes
    if rt:
        parts = []
        if "onnxruntime_vs_tract" in rt:
            v = rt["onnxruntime_vs_tract"]
            parts.append(f"ONNX Runtime vs tract: max |Δ| {fmt_num(v['max_abs'])}, {v['flips']} flip(s)")
        if "threads_1_vs_default" in rt:
            v = rt["threads_1_vs_default"]
            parts.append(f"1 thread vs default: max |Δ| {fmt_num(v['max_abs'])}")
        det = ", ".join(f"{d['runtime']} {'identical' if d['identical'] else 'differs ' + fmt_num(d['max_abs'])}"
                        for d in rt["determinism"])
        parts.append(f"two runs: {det}")
        console.print(f"runtimes on {rt['images']} tensor(s): " + "; ".join(parts))
        for name, why in rt.get("errors", {}).items():
            console.print(f"[yellow]{escape(name)}:[/] {escape(why)}", soft_wrap=True)
    for s in res.skipped:
        console.print(f"[yellow]skipped:[/] {escape(s['image'])}: {escape(s['reason'])}", soft_wrap=True)
    for r in res.refused:
        console.print(f"[yellow]refused:[/] {escape(r['message'])}", soft_wrap=True)
    tm = res.timing
    if tm:
        console.print(f"time {tm['total_s']} s: preprocessing {tm['preprocessing_s']} s "
                      f"({', '.join(f'{k} {v}' for k, v in tm['per_op_s'].items())}), model {tm['model_s']} s "
                      f"({tm['model_runs']} runs)")


# ---------------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------------

def svg_histogram(h: dict | None, title: str, unit: str = "") -> Markup:
    """A bar chart of a :func:`.metrics.histogram` as inline SVG (exact zeros as the first bar)."""
    if not h or not h.get("n"):
        return Markup("")
    labels = ["= 0"] + [f"{fmt_num(lo)}–{fmt_num(hi)}" for lo, hi in zip(h["edges"], h["edges"][1:])]
    counts = [h["zeros"]] + h["counts"]
    top = max(counts) or 1
    bw, gap, height, base = 46, 6, 120, 150
    width = len(counts) * (bw + gap) + 20
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{base + 42}" role="img" '
             f'aria-label="{html_escape(title)}">',
             f'<text x="4" y="14" font-size="12">{html_escape(title)} ({h["n"]} values)</text>']
    for i, (lab, c) in enumerate(zip(labels, counts)):
        x = 10 + i * (bw + gap)
        bh = round(height * c / top)
        parts.append(f'<rect x="{x}" y="{base - bh}" width="{bw}" height="{bh}" fill="#5c6bc0"><title>{c}'
                     f'</title></rect>')
        parts.append(f'<text x="{x + bw / 2}" y="{base - bh - 3}" font-size="10" text-anchor="middle">{c}</text>')
        parts.append(f'<text x="{x + bw / 2}" y="{base + 12}" font-size="8" text-anchor="middle">'
                     f'{html_escape(lab)}</text>')
    parts.append(f'<text x="4" y="{base + 34}" font-size="10">{html_escape(unit)}</text></svg>')
    return Markup("".join(parts))


def _pictures(f: Figure, spec) -> dict:
    state = images.ChannelState(chw=f.a.ndim >= 3 and f.a.shape[-3] <= 4, batch=f.a.ndim == 4,
                                order=_order(spec))
    vmap = images.value_map(f.a)
    return {"image": f.image, "caption": f.caption, "a": images.picture(f.a, state, vmap),
            "b": images.picture(f.b, state, vmap), "diff": images.heatmap(f.a, f.b, state, vmap)}


def _order(spec) -> str:
    p = spec.base_pipeline() if spec.pipeline else None
    if p is None:
        return "rgb"
    return images.channel_state([s.knobs() for s in p.steps], len(p.steps) - 1).order


def render_html(res: Impact) -> str:
    env = Environment(loader=PackageLoader("conformance.models", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = fmt_num
    env.filters["pct"] = _pct
    comps = []
    for c in res.comparisons:
        m = c.metrics
        hist = m.get("dp_histogram") or m.get("iou_histogram") or m.get("cosine_distance_histogram")
        unit = ("per image: max over classes of |p_B − p_A|" if "dp_histogram" in m else
                "IoU of matched boxes" if "iou_histogram" in m else "1 − cosine")
        comps.append({"a": c.a, "b": c.b, "line": summary_line(res.model.kind, m), "metrics": m,
                      "note": c.note, "svg": svg_histogram(hist, f"{c.b} vs {c.a}", unit),
                      "figures": [_pictures(f, res.model) for f in c.figures]})
    return env.get_template("impact.html.j2").render(
        res=res, doc=res.to_json(), comps=comps, version=__version__,
        model=res.model.to_json(), runtimes=res.runtimes, sweep=res.sweep)


def write_reports(res: Impact, out_dir: Path) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {k: out_dir / v for k, v in FILES.items()}
    atomic_write_bytes(paths["json"], json_bytes(res.to_json()))
    atomic_write_text(paths["html"], render_html(res))
    return paths
