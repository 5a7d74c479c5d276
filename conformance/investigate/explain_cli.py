"""The ``conformance explain`` command (thin: parse, call :mod:`.explain`, print).

Two forms:

- ``conformance explain RESULTS [--case ID] [--harness H] [--mode M] [--expectations FILE]``:
  every failing and xfail step of a run (``conformance run`` output), one line each;
- ``conformance explain --pipeline P.toml --input IMAGE --output OBSERVED.npy [--step N]``: one
  step of your own pipeline on your own arrays. N defaults to the last step; the steps before it
  run in the reference. IMAGE is the encoded file when the pipeline starts with ``decode``, the
  model's output tensor (``.npy``, read by the ``tensor`` step) when it starts with ``tensor``,
  else an (H, W, C) ``.npy`` array.

``--json`` prints the JSON (``{"hypotheses": [...], "explained": bool, ...}``). Bad input (an
array of the wrong shape or dtype, a step out of range, a results directory of another bundle)
is one line and exit 2, through the ``ConformanceError`` handling of ``conformance.cli.main``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..safeio import markup_safe as _safe
from .explain_text import percent

MAX_INPUT_MB = 256
#: RESULTS form: up to this many steps are printed with their full hypothesis tables.
DETAILED_STEPS = 3


@click.command("explain")
@click.argument("results", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--case", help="RESULTS: only this case id.")
@click.option("--harness", help="RESULTS: only this harness. With --pipeline: whose output it is "
                                "(its library is preferred on ties and named).")
@click.option("--mode", type=click.Choice(["isolated", "chained"]), help="RESULTS: only this mode.")
@click.option("--expectations", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="RESULTS: expectation file(s), for the tolerances and xfail verdicts of the score.")
@click.option("--pipeline", "pipeline_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Your pipeline file (TOML or JSON, one pipeline).")
@click.option("--input", "input_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="With --pipeline: the encoded image, or the .npy model output of a pipeline that "
                   "starts with tensor (or an (H, W, C) .npy array if it has neither).")
@click.option("--output", "observed_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="With --pipeline: the observed output of the step, as .npy.")
@click.option("--step", "step_index", type=int, help="With --pipeline: the step index (default: the last).")
@click.option("--tolerance", type=click.FloatRange(0), help="With --pipeline: max abs difference that "
                                                              "counts as reproduced (default: the step's).")
@click.option("--budget", type=click.FloatRange(0.1), default=5.0, show_default=True,
              help="Seconds of search per step.")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON instead of the tables.")
@click.option("--max-input-mb", type=click.IntRange(1), default=MAX_INPUT_MB, show_default=True,
              help="Refuse input files larger than this, before reading them.")
def explain(results: Path | None, case: str | None, harness: str | None, mode: str | None,
            expectations: tuple[Path, ...], pipeline_file: Path | None, input_file: Path | None,
            observed_file: Path | None, step_index: int | None, tolerance: float | None, budget: float,
            as_json: bool, max_input_mb: int) -> None:
    """Find the settings that reproduce an observed step output, ranked by residual: for the
    failing and xfail steps of RESULTS, or for one step of your own pipeline (--pipeline, --input,
    --output)."""
    if (results is None) == (pipeline_file is None):
        raise click.UsageError("give RESULTS, or --pipeline P.toml --input IMAGE --output OBSERVED.npy")
    console, err = Console(), Console(stderr=True)
    if results is not None:
        extra = [n for n, v in (("--input", input_file), ("--output", observed_file), ("--step", step_index),
                                ("--tolerance", tolerance)) if v is not None]
        if extra:
            raise click.UsageError(f"{', '.join(extra)} go with --pipeline, not with RESULTS")
        _explain_results(results, case, harness, mode, expectations, budget, as_json, console, err)
        return
    if input_file is None or observed_file is None:
        raise click.UsageError("--pipeline needs --input IMAGE and --output OBSERVED.npy")
    if case or mode or expectations:
        raise click.UsageError("--case, --mode and --expectations go with RESULTS, not with --pipeline")
    _explain_arrays(pipeline_file, input_file, observed_file, step_index, tolerance, harness, budget,
                    as_json, max_input_mb, console)


# -- RESULTS ------------------------------------------------------------------------------------

def _explain_results(results: Path, case, harness, mode, expectations, budget, as_json, console, err) -> None:
    from .explain import explain_results

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, disable=not err.is_terminal) as progress:
        task = progress.add_task(f"explaining {results}", total=None)
        rows = explain_results(results, case=case, harness=harness, mode=mode, expectations=list(expectations),
                               budget_seconds=budget,
                               on_step=lambda done, total: progress.update(task, completed=done, total=total))
    if as_json:
        doc = {"results": str(results),
               "steps": [{**{k: v for k, v in r.items() if k != "explanation"},
                          "explanation": r["explanation"].to_json()} for r in rows]}
        click.echo(json.dumps(doc, indent=1, sort_keys=True, allow_nan=False))
        return
    if not rows:
        console.print(f"{_safe(results)}: no failing or xfail step to explain")
        return
    if len(rows) <= DETAILED_STEPS:
        for r in rows:
            console.print(f"\n[bold]{_safe(r['case'])}[/] · {_safe(r['harness'])} · {r['mode']} · step "
                          f"{r['index']} ({r['op']}, {r['verdict']})", highlight=False)
            _print_explanation(r["explanation"], console)
        return
    t = Table(title=f"{len(rows)} failing/xfail steps of {_safe(results)}", show_lines=False)
    for col in ("case", "harness", "mode", "step", "explained", "best hypothesis", "max abs", "sentence"):
        t.add_column(col, overflow="fold")
    for r in rows:
        e = r["explanation"]
        best = e.hypotheses[0] if e.hypotheses else None
        t.add_row(_safe(r["case"]), _safe(r["harness"]), r["mode"], f"{r['index']} {r['op']}",
                  "[green]yes[/]" if e.explained else "[red]no[/]", _safe(best.label()) if best else "",
                  _num(best.max_abs) if best else "", _safe(e.sentence))
    console.print(t)
    by_harness: dict[str, list[int]] = {}
    for r in rows:
        n = by_harness.setdefault(r["harness"], [0, 0])
        n[0] += r["explanation"].explained
        n[1] += 1
    console.print("explained: " + ", ".join(f"{_safe(h)} {a}/{b}" for h, (a, b) in sorted(by_harness.items())),
                  highlight=False)


# -- your own arrays ------------------------------------------------------------------------------

def _explain_arrays(pipeline_file: Path, input_file: Path, observed_file: Path, step_index: int | None,
                    tolerance: float | None, harness: str | None, budget: float, as_json: bool,
                    max_input_mb: int, console: Console) -> None:
    from ..bundle import read_npy
    from ..errors import ConformanceError
    from ..reference.pipeline import run_step
    from ..safeio import UnsafeData, read_limited
    from ..spec import Decode, Tensor, load_one_pipeline
    from .explain import ExplainError, explain_step

    pipeline = load_one_pipeline(pipeline_file, command="explain")
    n = len(pipeline.steps)
    index = n - 1 if step_index is None else step_index
    if not 0 <= index < n:
        raise ExplainError(f"{pipeline_file}: step {index} is out of range (pipeline {pipeline.id} has "
                           f"{n} step{'s' if n != 1 else ''}: 0..{n - 1})")
    value: Any
    if isinstance(pipeline.steps[0], (Decode, Tensor)):  # the file itself: encoded, or a .npy tensor
        try:
            value = read_limited(input_file, max_input_mb << 20)
        except UnsafeData as e:
            raise ExplainError(f"{input_file}: {e}") from None
    else:
        value = read_npy(input_file, where=str(input_file))
    observed = read_npy(observed_file, where=str(observed_file))
    for k in range(index):  # the steps before N, in the reference
        try:
            value = run_step(pipeline.steps[k], value, source=str(input_file))
        except ConformanceError as e:
            raise ExplainError(f"{pipeline_file}: step {k} ({pipeline.steps[k].op}) cannot run on "
                               f"{input_file}: {e}") from None
    e = explain_step(pipeline, index, value, observed, tolerance=tolerance, harness=harness,
                     budget_seconds=budget)
    if as_json:
        doc = {"pipeline": pipeline.id, "step": index, **e.to_json()}
        click.echo(json.dumps(doc, indent=1, sort_keys=True, allow_nan=False))
        return
    console.print(f"[bold]{_safe(pipeline.id)}[/], step {index} ({e.op}), tolerance {e.tolerance:g}",
                  highlight=False)
    _print_explanation(e, console)


# -- printing -------------------------------------------------------------------------------------

def _num(v: float) -> str:
    return "inf" if not math.isfinite(v) else f"{v:.4g}"


def _print_explanation(e, console: Console) -> None:
    if e.error:
        console.print(f"[red]cannot explain:[/] {_safe(e.error)}", soft_wrap=True, highlight=False)
        return
    t = Table(show_lines=False)
    for col, just in (("#", "right"), ("preset / knobs / transform", "left"), ("max abs", "right"),
                      ("exact", "right"), ("sentence", "left")):
        t.add_column(col, justify=just, overflow="fold")
    for rank, h in enumerate(e.hypotheses, 1):
        t.add_row(str(rank), _safe(h.label()), _num(h.max_abs), percent(h.exact_fraction), _safe(h.sentence))
    console.print(t)
    mark = "[green]explained[/]" if e.explained else "[red]not explained[/]"
    console.print(f"{mark}: {_safe(e.sentence)}", soft_wrap=True, highlight=False)
    if e.equivalent:
        console.print("same bytes on this input: " + "; ".join(_safe(q["label"]) for q in e.equivalent),
                      soft_wrap=True, highlight=False)
    note = f"{e.evaluated} settings tried in {e.seconds:.2f} s"
    if e.budget_exhausted:
        note += " (the time budget ran out: pass --budget to search longer)"
    console.print(note, highlight=False)
