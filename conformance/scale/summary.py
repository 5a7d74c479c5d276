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


def _codes(t, name: str) -> tuple[np.ndarray, list]:
    """(integer code per row, values) of a string column: no Python object per row."""
    import pyarrow as pa

    col = t.column(name)
    arr = (col.combine_chunks() if col.num_chunks else pa.array([], type=col.type)).dictionary_encode()
    return np.asarray(arr.indices.fill_null(-1)), arr.dictionary.to_pylist()


def _floats(t, name: str) -> np.ndarray:
    return t.column(name).to_numpy(zero_copy_only=False).astype(np.float64)  # nulls: NaN


def summarize(out: Path, *, worst: int = 5) -> dict[str, Any]:
    """The summary of the check in ``out`` (module docstring). Memory: a few numeric arrays per
    row and one entry per distinct image, never a Python object per row."""
    t = read(out, STEPS, ["input", "pipeline", "harness", "mode", "step", "op", "verdict",
                          "max_abs", "levels", "excess_levels"])
    inputs = read(out, INPUTS, ["input", "path", "status", "format", "subsampling", "progressive",
                                "orientation", "width", "height", "damaged"]).to_pydict()
    status: dict[str, int] = {}
    for s in inputs["status"]:
        status[s] = status.get(s, 0) + 1
    row_input, input_names = _codes(t, "input")
    # each property as a code per distinct input of the steps table
    where = {iid: i for i, iid in enumerate(inputs["input"])}
    at = [where.get(iid) for iid in input_names]

    def prop_value(name: str, i: int | None):
        if i is None:
            return None
        if name == "orientation":
            o = inputs["orientation"][i]
            return "none" if o is None else str(o)
        if name == "size":
            return size_class(inputs["width"][i], inputs["height"][i])
        return inputs[name][i]

    props = {name: [prop_value(name, i) for i in at] for name in PROPERTIES}
    paths = [inputs["path"][i] if i is not None else None for i in at]
    harness, hn = _codes(t, "harness")
    mode, mn = _codes(t, "mode")
    pipeline, pn = _codes(t, "pipeline")
    op, on = _codes(t, "op")
    verdict, vn = _codes(t, "verdict")
    step = t.column("step").to_numpy(zero_copy_only=False).astype(np.int64)
    max_abs, levels, excess = _floats(t, "max_abs"), _floats(t, "levels"), _floats(t, "excess_levels")
    n = t.num_rows
    groups: list[dict] = []
    if n:
        order = np.lexsort((step, pipeline, mode, harness))
        keys = np.stack([harness, mode, pipeline, step, op])[:, order]
        cut = np.flatnonzero(np.any(keys[:, 1:] != keys[:, :-1], axis=0)) + 1
        for idx in np.split(order, cut):
            i0 = idx[0]
            key = (hn[harness[i0]], mn[mode[i0]], pn[pipeline[i0]], int(step[i0]), on[op[i0]])
            groups.append(_group(key, idx, verdict, vn, row_input, input_names, paths, props,
                                 max_abs, levels, excess, worst, t))
    _fill_messages(out, groups)
    result = {"format": "conformance-check-summary", "version": 1, "images": len(inputs["input"]),
              "image_status": status, "rows": n, "steps": groups}
    model = _check_model(out)
    if model is not None:
        from .impact import summarize_impact

        result["impact"] = summarize_impact(out, model)
    return result


def _check_model(out: Path) -> dict | None:
    """The model of a ``check --model`` (its identity in ``check.json``), or None."""
    from ..safeio import read_limited
    from .driver import CHECK_FILE

    try:
        doc = json.loads(read_limited(Path(out) / CHECK_FILE, 64 << 20))
    except (OSError, ValueError):
        return None
    model = doc.get("model") if isinstance(doc, dict) else None
    return model if isinstance(model, dict) and model.get("kind") in ("classifier", "dbnet", "embedding") else None


def _group(key, idx, verdict, vn, row_input, input_names, paths, props, max_abs, levels, excess,
           worst, t) -> dict[str, Any]:
    harness, mode, pipeline, step, op = key
    counts_all = np.bincount(verdict[idx], minlength=len(vn))
    counts = {vn[c]: int(k) for c, k in enumerate(counts_all) if k}
    scored = sum(counts.get(v, 0) for v in SCORED)
    failing = counts.get("fail", 0) + counts.get("error", 0)
    over = failing + counts.get("xfail", 0)
    bad_codes = [c for c, v in enumerate(vn) if v in ("fail", "error", "xfail")]
    bad = np.isin(verdict[idx], bad_codes)
    lv, ex = levels[idx], excess[idx]
    rank = np.lexsort((np.nan_to_num(lv, nan=-1.0), np.nan_to_num(ex, nan=np.inf), bad))[::-1]
    worst_rows = []
    for j in rank[:worst]:
        if not bad[j] and not (lv[j] > 0):
            break
        i = int(idx[j])
        worst_rows.append({"input": input_names[row_input[i]], "path": paths[row_input[i]],
                           "verdict": vn[verdict[i]], "max_abs": _num(max_abs[i]), "levels": _num(levels[i]),
                           "message": None})
    out = {"harness": harness, "mode": mode, "pipeline": pipeline, "step": step, "op": op,
           "images": len(idx), "verdicts": counts, "failing": failing,
           "fraction_failing": failing / scored if scored else None,
           "over_tolerance": over, "fraction_over_tolerance": over / scored if scored else None,
           "max_abs": _percentiles(max_abs[idx]), "levels": _percentiles(lv), "worst": worst_rows}
    if over or np.nanmax(lv, initial=0.0) > 0:
        out["by_property"] = _by_property(row_input[idx], props, bad, lv)
    return out


def _fill_messages(out: Path, groups: list[dict]) -> None:
    """The worst rows' messages, read for their images only (the message column of every row
    would be the largest thing in memory)."""
    wanted = {w["input"] for g in groups for w in g["worst"]}
    if not wanted:
        return
    found = read(out, STEPS, ["input", "pipeline", "harness", "mode", "step", "message"],
                 filters=[("input", "in", sorted(wanted))]).to_pylist()
    text = {(r["input"], r["pipeline"], r["harness"], r["mode"], r["step"]): r["message"] for r in found}
    for g in groups:
        for w in g["worst"]:
            w["message"] = text.get((w["input"], g["pipeline"], g["harness"], g["mode"], g["step"]), "")


def _by_property(rows_input, props, bad, lv) -> dict[str, list[dict]]:
    out = {}
    for prop in PROPERTIES:
        per_input = props[prop]
        values = sorted({"unknown" if v is None else v for v in per_input}, key=str)
        if len(values) < 2:
            continue
        code_of = {v: c for c, v in enumerate(values)}
        input_code = np.array([code_of["unknown" if v is None else v] for v in per_input], dtype=np.int64)
        codes = input_code[rows_input]
        present = np.unique(codes)
        if len(present) < 2:
            continue  # every image of this step alike: nothing to compare
        rows = []
        for c in present:
            sel = codes == c
            finite = lv[sel][np.isfinite(lv[sel])]
            v = values[c]
            rows.append({"value": v if isinstance(v, (str, int, float)) else str(v), "images": int(sel.sum()),
                         "fraction_over_tolerance": float(bad[sel].mean()),
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
    if summary.get("impact"):
        render_impact(summary["impact"], console)


def render_impact(impact: dict[str, Any], console) -> None:
    """``check --model``'s table: per pipeline and harness, what the model's predictions did."""
    from rich.table import Table

    from ..safeio import markup_safe as safe

    model = impact["model"]
    classifier = model["kind"] == "classifier"
    t = Table(title=f"impact on {safe(model['name'])} ({model['kind']}): the reference's final tensor vs "
                    "each harness's (chained)", title_justify="left")
    cols = ["pipeline", "harness", "images", "changed" if not classifier else "top-1 flips"]
    cols += ["mean |Δp|", "max |Δp|", "identical"] if classifier else ["recall", "precision", "identical"]
    for col in cols + ["not compared"]:
        t.add_column(col, overflow="fold")
    for c in impact["comparisons"]:
        m = c["metrics"]
        n = m.get("images", 0)
        flips = m.get("flips", m.get("changed_images", 0)) if n else 0
        colour = "red" if flips else "green"
        if classifier:
            extra = [_fmt(m.get("mean_dp")), _fmt(m.get("max_dp"))]
        else:
            extra = [_fmt(m.get("recall")), _fmt(m.get("precision"))]
        why = f"{c['not_compared']}" + (f" ({safe(c['first_reason'][:80])})" if c["not_compared"] else "")
        t.add_row(safe(c["pipeline"]), safe(c["harness"]), str(n),
                  f"[{colour}]{flips}[/]" + (f" ({100 * flips / n:.2f}%)" if n else ""),
                  *extra, str(m.get("identical", "-")), why)
    console.print(t)


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.3g}"
