"""``conformance export BUNDLE --format onnx-test-data|tract-npz --out DIR``. Thin: open the
bundle, call :func:`conformance.exports.run_export`, print a summary."""

from __future__ import annotations

from pathlib import Path

import click

from . import FORMATS


@click.command("export")
@click.argument("bundle_dir", metavar="BUNDLE", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMATS), required=True,
              help="onnx-test-data: model.onnx + test_data_set_N/{input_0,output_0}.pb per graph "
                   "(onnx_test_runner); tract-npz: model.onnx + io.npz per graph (tract run "
                   "--input-from-bundle/--assert-output-bundle).")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory to write (must be absent or empty unless --force).")
@click.option("--force", is_flag=True, help="Write into a non-empty --out (same-named files replaced).")
@click.option("--pipeline", "pipelines", multiple=True, metavar="GLOB",
              help="Only pipelines whose id matches (repeatable).")
@click.option("--case", "cases", multiple=True, metavar="GLOB",
              help="Only cases whose id matches (repeatable).")
def export(bundle_dir: Path, fmt: str, out: Path, force: bool, pipelines: tuple[str, ...],
           cases: tuple[str, ...]) -> None:
    """Export a bundle's non-decode steps as ONNX graphs with test data other runtimes replay."""
    from ..bundle import Bundle
    from ..cli import _progress, console
    from ..safeio import markup_safe
    from . import run_export

    bundle = Bundle(bundle_dir)
    with _progress() as bar:
        task = bar.add_task("exporting", total=None)
        plan = run_export(bundle, out, fmt, force=force, pipelines=pipelines, cases=cases,
                          progress=lambda group: bar.advance(task))
    n_cases = sum(len(g.cases) for g in plan.groups)
    console.print(f"{len(plan.groups)} graph folder(s), {n_cases} test data set(s) written to "
                  f"{markup_safe(out)}; {len(plan.skipped)} step(s) skipped (listed in "
                  f"export.json and README.md)", highlight=False)
