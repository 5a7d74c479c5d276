"""``conformance import FORMAT [SOURCE] --out PIPELINE.toml``: a model's preprocessing config as
a pipeline file. Thin: parse, call :func:`conformance.importers.import_file`, write."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from . import FORMATS

BACKEND_HELP = ("hf: which transformers 5 backend to reproduce. Default torchvision: "
                "AutoImageProcessor.from_pretrained builds the torchvision class wherever "
                "torchvision is installed, which is what a PyTorch user of a hub model runs. "
                "Both are reproduced bit for bit (torch's uint8 resize by the torchvision.tensor.* "
                "presets); pil: the PIL classes, what runs without torch.")


def import_options(options: dict) -> dict:
    """The importer keyword options the user gave (None/False = not given, so not passed: each
    importer raises ConfigError for an option it does not take)."""
    return {k: v for k, v in options.items() if v is not None and v is not False}


def write_pipeline(text: str, out: str, *, force: bool) -> None:
    """Write ``text`` to ``out`` atomically (``-``: stdout); refuse to replace a file without
    ``force``."""
    from ..errors import SpecError
    from ..safeio import atomic_write_text

    if out == "-":
        click.echo(text, nl=False)
        return
    path = Path(out)
    if path.exists() and not path.is_file():
        raise SpecError("is not a regular file (give a file name to write)", source=str(path))
    if path.exists() and not force:
        raise SpecError("exists; give --force to replace it", source=str(path))
    if not path.parent.is_dir():
        raise SpecError(f"cannot write: no folder {str(path.parent)!r}", source=str(path))
    try:
        atomic_write_text(path, text)
    except OSError as e:
        raise SpecError(f"cannot write: {e.strerror}", source=str(path)) from None


@click.command("import")
@click.argument("fmt", metavar="FORMAT", type=click.Choice(sorted(FORMATS)))
@click.argument("source", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out", required=True, metavar="PIPELINE.toml",
              help="Pipeline file to write ('-': print it).")
@click.option("--force", is_flag=True, help="Replace an existing --out file.")
@click.option("--id", "pipeline_id", help="Pipeline id (default: from the config's file name).")
@click.option("--backend", type=click.Choice(["torchvision", "pil"]), default=None, help=BACKEND_HELP)
@click.option("--loader", type=click.Choice(["load_image", "image_open"]), default=None,
              help="hf: how the image reaches the processor. load_image (default): a path through "
                   "transformers.image_utils.load_image (EXIF applied, alpha dropped); image_open: a "
                   "PIL.Image.open result passed directly (no EXIF, transparency on white).")
@click.option("--test-size", is_flag=True, help="timm: use test_input_size / test_crop_pct.")
@click.option("--weights", metavar="NAME", help="torchvision: a weights enum, e.g. "
                                                "ResNet50_Weights.IMAGENET1K_V2 (SOURCE not needed).")
@click.option("--mode", type=click.Choice(["caffe", "tf", "torch"]), default=None,
              help="keras: the preprocess_input mode (SOURCE not needed).")
@click.option("--size", "size", type=(int, int), default=None, metavar="H W",
              help="keras: the model's input size.")
@click.option("--interpolation", metavar="NAME", help="keras: load_img's interpolation.")
@click.option("--tensor", is_flag=True, help="torchvision: the transforms run on a uint8 tensor "
                                             "(torch's resize kernel), not on a PIL image.")
def import_command(fmt: str, source: Path | None, out: str, force: bool, pipeline_id: str | None,
                   backend: str | None, loader: str | None, test_size: bool, weights: str | None,
                   mode: str | None, size: tuple[int, int] | None, interpolation: str | None,
                   tensor: bool) -> None:
    """Import a model's preprocessing config as a pipeline with every knob explicit.

    FORMAT is hf (a preprocessor_config.json), timm (a pretrained_cfg / hub config.json),
    torchvision (--weights) or keras (--mode). A key the importer does not know, or a value it
    cannot reproduce, is an error naming the file and the key (exit 2); a key that cannot change
    the output is a warning naming it."""
    from . import import_file, to_toml
    from .common import ConfigError

    options = import_options(dict(backend=backend, loader=loader, test_size=test_size,
                                  weights=weights, mode=mode, size=size,
                                  interpolation=interpolation, tensor=tensor))
    imported = import_file(fmt, source, **options)
    if pipeline_id is not None:
        from ..safeio import NAME
        if not NAME.match(pipeline_id):
            raise ConfigError("--id", None, f"{pipeline_id!r} is not an id (letters, digits, '.', '_', '-')")
        imported.id = pipeline_id
    text = to_toml(imported)
    write_pipeline(text, out, force=force)
    for w in imported.warnings:
        click.echo(f"warning: {w}", err=True)
    if out != "-":
        click.echo(f"wrote {out}: pipeline {imported.id} ({len(imported.steps)} steps)", err=True)
    sys.stdout.flush()
