"""The ``conformance compare`` command (thin: parse, call :mod:`.compare`, print)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..spec import load_one_pipeline
from ..safeio import markup_safe as _safe


MAX_INPUT_MB = 256


@click.command("compare")
@click.argument("pipeline_a", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("pipeline_b", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--harness", help="Instead of PIPELINE_B: this harness runs PIPELINE_A's steps (chained), "
                                "as a deployment with that library would.")
@click.option("--library-defaults", is_flag=True,
              help="With --harness: every 'how' knob (EXIF, antialias, coordinates, arithmetic, JPEG "
                   "reconstruction) at the library's default, as untuned deployment code runs it.")
@click.option("--images", "image_paths", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="Your PNG/JPEG files or directories (repeatable); default: the built-in photographs.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write compare.json and compare.html here.")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON instead of the tables.")
@click.option("--worst", type=click.IntRange(0), default=10, show_default=True,
              help="How many inputs to list by their first divergence.")
@click.option("--timeout", type=click.FloatRange(0.1), default=60.0, show_default=True,
              help="With --harness: seconds one input may take.")
@click.option("--max-input-mb", type=click.IntRange(1), default=MAX_INPUT_MB, show_default=True,
              help="Refuse input files larger than this, before reading them.")
def compare(pipeline_a: Path, pipeline_b: Path | None, harness: str | None, library_defaults: bool,
            image_paths: tuple[Path, ...], out_dir: Path | None, as_json: bool, worst: int,
            timeout: float, max_input_mb: int) -> None:
    """Compare PIPELINE_A with PIPELINE_B (or with --harness NAME running A) on your images, step
    by step: where they first diverge, and by how much."""
    from .compare import compare_harness, compare_pipelines, load_inputs
    from .compare_report import render_terminal, write_reports

    if (pipeline_b is None) == (harness is None):
        raise click.UsageError("give PIPELINE_B or --harness NAME (one of them)")
    if library_defaults and harness is None:
        raise click.UsageError("--library-defaults goes with --harness")
    a = load_one_pipeline(pipeline_a, command="compare")
    console, err = Console(), Console(stderr=True)
    items, refused = load_inputs(image_paths, max_bytes=max_input_mb << 20)
    for r in refused:
        err.print(f"refused ({_safe(r['type'])}) {_safe(r['message'])}", soft_wrap=True, highlight=False)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, disable=not err.is_terminal) as progress:
        task = progress.add_task("comparing", total=len(items))
        advance = lambda _: progress.advance(task)  # noqa: E731
        if harness is None:
            comp = compare_pipelines(a, load_one_pipeline(pipeline_b, command="compare"), items, on_input=advance)
        else:
            comp = compare_harness(a, harness, items, library_defaults=library_defaults,
                                   timeout=timeout, on_input=advance)
    if as_json:
        click.echo(json.dumps(comp.to_json(), indent=1, sort_keys=True, allow_nan=False))
    else:
        render_terminal(comp, console, worst=worst)
    if out_dir is not None:
        for fmt, path in write_reports(comp, out_dir).items():
            (err if as_json else console).print(f"{fmt}: {path}")
    if not [i for i in comp.inputs if not i.error]:
        sys.exit(1)
