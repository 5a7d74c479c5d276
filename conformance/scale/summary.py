"""What a check found, at scale: per step and harness, the distribution of the error over the
images, the worst images, and how the errors depend on the images' properties.

Computed from the tables (:mod:`.table`), reading only the columns it needs, so it can be rerun
on any check folder (``conformance check-summary OUT``). Written as ``OUT/summary.json`` and a
self-contained ``OUT/summary.html``; :func:`render_terminal` prints the same on a console.

For each (harness, mode, pipeline, step): ``images`` (rows), verdict counts, ``failing``
(``fail`` + ``error``) and its fraction of the images scored (pass, fail, xfail, error),
``over_tolerance`` (the same with ``xfail``: beyond the tolerance, excused or not), the
percentiles of ``max_abs`` over the images in the step's own units and in 8-bit levels, and the
``worst`` images (largest excess over the tolerance, then largest error). ``by_property``: the
same fraction and the 99th percentile in levels per value of each image property (format,
chroma subsampling, progressive, EXIF orientation, size class, damaged), for the steps where any
image fails or differs.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from ..safeio import atomic_write_text
from .table import INPUTS, STEPS, read

PERCENTILES = (50, 90, 99, 99.9)
PROPERTIES = ("format", "subsampling", "progressive", "orientation", "size", "damaged")
SCORED = ("pass", "fail", "xfail", "error")
SUMMARY_FILE, HTML_FILE = "summary.json", "summary.html"


def size_class(width: int | None, height: int | None) -> str | None:
    if not width or not height:
        return None
    mp = width * height / 1e6
    return ("< 0.25 MP" if mp < 0.25 else "0.25-1 MP" if mp < 1 else "1-4 MP" if mp < 4
            else "4-16 MP" if mp < 16 else ">= 16 MP")


def _percentiles(values: np.ndarray) -> dict[str, float | None]:
    values = values[np.isfinite(values)]
    if not values.size:
        return {f"p{p:g}": None for p in PERCENTILES} | {"max": None}
    q = np.percentile(values, PERCENTILES, method="higher")  # a value some image has
    return {f"p{p:g}": float(v) for p, v in zip(PERCENTILES, q)} | {"max": float(values.max())}


def _floats(col: list) -> np.ndarray:
    return np.array([math.nan if v is None else v for v in col], dtype=np.float64)


def summarize(out: Path, *, worst: int = 5) -> dict[str, Any]:
    """The summary of the check in ``out`` (module docstring)."""
    steps = read(out, STEPS, ["input", "path", "pipeline", "harness", "mode", "step", "op", "verdict",
                              "max_abs", "levels", "excess_levels", "message"]).to_pydict()
    inputs = read(out, INPUTS).to_pydict()
    props = {}
    for i, iid in enumerate(inputs["input"]):
        o = inputs["orientation"][i]
        props[iid] = {"format": inputs["format"][i], "subsampling": inputs["subsampling"][i],
                      "progressive": inputs["progressive"][i],
                      "orientation": "none" if o is None else str(o),
                      "size": size_class(inputs["width"][i], inputs["height"][i]),
                      "damaged": inputs["damaged"][i]}
    status = {}
    for s in inputs["status"]:
        status[s] = status.get(s, 0) + 1
    n = len(steps["input"])
    keys = list(zip(steps["harness"], steps["mode"], steps["pipeline"], steps["step"], steps["op"]))
    order = sorted(range(n), key=lambda i: (keys[i][0], keys[i][1], keys[i][2], keys[i][3]))
    max_abs, levels, excess = _floats(steps["max_abs"]), _floats(steps["levels"]), _floats(steps["excess_levels"])
    groups: list[dict] = []
    start = 0
    while start < n:
        key = keys[order[start]]
        end = start
        while end < n and keys[order[end]] == key:
            end += 1
        idx = np.array(order[start:end])
        groups.append(_group(key, idx, steps, props, max_abs, levels, excess, worst))
        start = end
    return {"format": "conformance-check-summary", "version": 1, "images": len(inputs["input"]),
            "image_status": status, "rows": n, "steps": groups}


def _group(key, idx, steps, props, max_abs, levels, excess, worst) -> dict[str, Any]:
    harness, mode, pipeline, step, op = key
    verdicts = [steps["verdict"][i] for i in idx]
    counts = {v: verdicts.count(v) for v in sorted(set(verdicts))}
    scored = sum(counts.get(v, 0) for v in SCORED)
    failing = counts.get("fail", 0) + counts.get("error", 0)
    over = failing + counts.get("xfail", 0)
    bad = np.array([v in ("fail", "error", "xfail") for v in verdicts])
    lv = levels[idx]
    rank = sorted(range(len(idx)), key=lambda j: (bad[j], _nan0(excess[idx[j]]), _nan0(lv[j])), reverse=True)
    worst_rows = []
    for j in rank[:worst]:
        i = idx[j]
        if not bad[j] and not (lv[j] > 0):
            break
        worst_rows.append({"input": steps["input"][i], "path": steps["path"][i], "verdict": verdicts[j],
                           "max_abs": _num(max_abs[i]), "levels": _num(levels[i]),
                           "message": steps["message"][i]})
    out = {"harness": harness, "mode": mode, "pipeline": pipeline, "step": step, "op": op,
           "images": len(idx), "verdicts": counts, "failing": failing,
           "fraction_failing": failing / scored if scored else None,
           "over_tolerance": over, "fraction_over_tolerance": over / scored if scored else None,
           "max_abs": _percentiles(max_abs[idx]), "levels": _percentiles(lv), "worst": worst_rows}
    if over or np.nanmax(lv, initial=0.0) > 0:
        out["by_property"] = _by_property(idx, steps, props, bad, lv)
    return out


def _by_property(idx, steps, props, bad, lv) -> dict[str, list[dict]]:
    out = {}
    for prop in PROPERTIES:
        values: dict[Any, list[int]] = {}
        for j, i in enumerate(idx):
            v = (props.get(steps["input"][i]) or {}).get(prop)
            values.setdefault("unknown" if v is None else v, []).append(j)
        if len(values) < 2:
            continue  # every image alike: nothing to compare
        rows = []
        for v, js in sorted(values.items(), key=lambda kv: str(kv[0])):
            js = np.array(js)
            finite = lv[js][np.isfinite(lv[js])]
            rows.append({"value": v if isinstance(v, (str, int, float)) else str(v), "images": len(js),
                         "fraction_over_tolerance": float(bad[js].mean()),
                         "p99_levels": float(np.percentile(finite, 99, method="higher")) if finite.size else None})
        out[prop] = rows
    return out


def _nan0(v: float) -> float:
    return -1.0 if v is None or math.isnan(v) else v


def _num(v: float) -> float | None:
    return None if v is None or math.isnan(v) else float(v)


def write_summary(out: Path, summary: dict[str, Any]) -> dict[str, Path]:
    """``summary.json`` and ``summary.html`` in ``out``."""
    from .summary_html import render_html

    json_path, html_path = Path(out) / SUMMARY_FILE, Path(out) / HTML_FILE
    atomic_write_text(json_path, json.dumps(summary, indent=1, sort_keys=True, allow_nan=False) + "\n")
    atomic_write_text(html_path, render_html(summary))
    return {"json": json_path, "html": html_path}


def render_terminal(summary: dict[str, Any], console, *, worst: int = 3) -> None:
    """The summary as rich tables: one row per step, then the properties that matter."""
    from rich.table import Table

    from ..safeio import markup_safe as safe

    status = ", ".join(f"{n} {s}" for s, n in sorted(summary["image_status"].items()))
    console.print(f"[bold]{summary['images']} images[/] ({status}), {summary['rows']:,} step rows")
    t = Table(title="per step: error over the images (8-bit levels)", title_justify="left")
    for col in ("harness", "mode", "pipeline", "step", "failing", "over tol.", "p50", "p99", "max",
                "worst image"):
        t.add_column(col, overflow="fold")
    for g in summary["steps"]:
        lv = g["levels"]
        frac = g["fraction_failing"]
        failing = f"{g['failing']}/{g['images']}" + (f" ({100 * frac:.1f}%)" if frac else "")
        colour = "red" if g["failing"] else "green"
        w = g["worst"][0]["input"] if g["worst"] else "-"
        t.add_row(safe(g["harness"]), g["mode"], safe(g["pipeline"]), f"{g['step']} {safe(g['op'])}",
                  f"[{colour}]{failing}[/]", str(g["over_tolerance"]), _fmt(lv["p50"]), _fmt(lv["p99"]), _fmt(lv["max"]), safe(w))
    console.print(t)
    shown = 0
    for g in summary["steps"]:
        for prop, rows in (g.get("by_property") or {}).items():
            fracs = [r["fraction_over_tolerance"] for r in rows]
            if max(fracs) - min(fracs) < 0.05 or shown >= 12:
                continue  # the property makes no difference worth a line
            shown += 1
            parts = ", ".join(f"{safe(str(r['value']))}: {100 * r['fraction_over_tolerance']:.0f}% of "
                              f"{r['images']}" for r in rows)
            console.print(f"  {safe(g['harness'])} {g['mode']} step {g['step']} {safe(g['op'])}: "
                          f"over tolerance by {prop}: {parts}")


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.3g}"
