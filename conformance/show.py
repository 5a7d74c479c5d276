"""Rich tables describing a bundle (``conformance show``)."""

from __future__ import annotations

from collections import Counter

from rich.table import Table
from rich.text import Text

from .bundle import Bundle
from .report.common import printable


def _row(table: Table, *cells: object) -> None:
    """A row of data from a manifest (which may come from anyone): never parsed as rich markup,
    control characters (a terminal escape in a description) written as \\xNN."""
    table.add_row(*(Text(printable(c)) for c in cells))


def summary_tables(b: Bundle) -> list[Table]:
    """Overview: generator, counts, then one row per pipeline (steps, presets, cases)."""
    m = b.manifest
    head = Table(title=f"bundle {b.name}", show_header=False)
    _row(head, "format", f"{m['format']} v{m['version']}")
    _row(head, "generator", ", ".join(f"{k}={v}" for k, v in sorted(m["generator"].items())))
    neg = sum(c["expect"] == "error" for c in b.cases)
    _row(head, "cases", f"{len(b.cases)} ({neg} negative)")
    _row(head, "inputs", str(len(m["inputs"])))
    _row(head, "pipelines", str(len(m["pipelines"])))
    _row(head, "skipped", str(len(m.get("skipped", []))))
    ops = Counter(s["op"] for c in b.cases for s in c["steps"])
    _row(head, "expected outputs", ", ".join(f"{op} {n}" for op, n in sorted(ops.items())))
    per_pipeline = Counter(c["pipeline"] for c in b.cases)
    pt = Table(title="pipelines")
    for col in ("pipeline", "steps", "cases"):
        pt.add_column(col, overflow="fold")
    for pid, p in sorted(m["pipelines"].items()):
        steps = " -> ".join(f"{s['op']}({s['preset']})" if s.get("preset") else s["op"] for s in p["steps"])
        _row(pt, pid, steps, str(per_pipeline[pid]))
    it = Table(title="inputs")
    for col in ("input", "type", "bytes", "expect", "description"):
        it.add_column(col, overflow="fold")
    for iid, meta in sorted(m["inputs"].items()):
        _row(it, iid, meta["media_type"], str(meta.get("bytes", "")), meta["expect"], meta.get("description", ""))
    return [head, pt, it]


def case_tables(b: Bundle, case: dict) -> list[Table]:
    """One case: its input, the knobs of each step, and each expected output."""
    pipeline = b.manifest["pipelines"][case["pipeline"]]
    head = Table(title=f"case {case['id']}", show_header=False)
    _row(head, "input", f"{case['input']} ({b.manifest['inputs'][case['input']].get('description', '')})")
    _row(head, "pipeline", case["pipeline"])
    _row(head, "expect", case["expect"])
    if case.get("error"):
        _row(head, "error", f"{case['error']['type']}: {case['error']['message']}")
    st = Table(title="expected outputs")
    for col in ("#", "op", "preset", "dtype", "shape", "range", "tolerance", "file"):
        st.add_column(col, overflow="fold")
    kt = Table(title="knobs (every value explicit)")
    kt.add_column("#")
    kt.add_column("op")
    kt.add_column("knobs", overflow="fold")
    outputs = {s["index"]: s for s in case["steps"]}
    for i, step in enumerate(pipeline["steps"]):
        _row(kt, str(i), step["op"], ", ".join(f"{k}={v}" for k, v in step.items()
                                                 if k not in ("op", "preset") and v is not None))
        s = outputs.get(i)
        if s is None:
            _row(st, str(i), step["op"], step.get("preset") or "", "-", "", "", "", "")
            continue
        tol = s["tolerance"]
        rng = s.get("range")
        _row(st, str(i), step["op"], step.get("preset") or "", s["dtype"], "x".join(map(str, s["shape"])),
                   f"{rng[0]:.6g}..{rng[1]:.6g}" if rng else "", f"{tol['metric']} <= {tol['max_abs']:g}",
                   s["output"].rsplit("/", 1)[-1])
    return [head, st, kt]
