"""The ``conformance`` command line. Thin: parse, call the library, print."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from . import __version__
from .cli_options import harness_options, selected, split_list
from .errors import ConformanceError
from .safeio import markup_safe as _safe

MAX_INPUT_MB = 256  # generate --max-input-mb (plans.MAX_INPUT_BYTES, not imported at start-up)

console = Console()
err_console = Console(stderr=True)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=err_console, transient=False,
                    disable=not err_console.is_terminal)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="conformance")
def cli() -> None:
    """Cross-language image preprocessing conformance: reference vectors, harnesses, scores."""


@cli.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Bundle directory to write.")
@click.option("--default", "use_default", is_flag=True,
              help="The canonical default bundle: built-in corpus and pipelines (vectors/default).")
@click.option("--pipelines", "pipeline_files", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="TOML/JSON pipeline file (repeatable).")
@click.option("--images", "image_paths", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="Your own PNG/JPEG files, .npy tensors (model outputs, for pipelines that "
                   "start with `tensor`), or directories of them (repeatable).")
@click.option("--corpus/--no-corpus", default=None,
              help="Include the built-in corpus (default: yes unless --images is given).")
@click.option("--jobs", "-j", type=click.IntRange(1, 64), default=os.cpu_count() or 1, show_default=True,
              help="Worker processes.")
@click.option("--force", is_flag=True,
              help="Replace an existing bundle in --out (atomically: the old one stays whole until "
                   "the new one is complete). A non-empty directory that is not a bundle is never "
                   "replaced.")
@click.option("--max-input-mb", type=click.IntRange(1), default=MAX_INPUT_MB, show_default=True,
              help="Refuse input files larger than this, before reading them.")
@click.option("--model-config", "model_config", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A model's preprocessing config (e.g. preprocessor_config.json): imported as with "
                   "`conformance import`, then generated, in one go.")
@click.option("--format", "config_format", type=click.Choice(["hf", "timm"]), default=None,
              help="Format of --model-config (default: told from its content).")
@click.option("--backend", type=click.Choice(["torchvision", "pil"]), default=None,
              help="hf: the transformers backend to reproduce (see `conformance import --help`).")
def generate(out_dir: Path, use_default: bool, pipeline_files: tuple[Path, ...],
             image_paths: tuple[Path, ...], corpus: bool | None, jobs: int, force: bool,
             max_input_mb: int, model_config: Path | None, config_format: str | None,
             backend: str | None) -> None:
    """Run pipelines on inputs through the reference and write a vector bundle."""
    import tempfile

    from .generate import generate as run_generate
    from .plans import default_plan, user_plan

    if use_default:
        if pipeline_files or image_paths or model_config:
            raise click.UsageError("--default takes no --pipelines, --images or --model-config")
        plan = default_plan()
    else:
        if not pipeline_files and not model_config:
            raise click.UsageError("give --pipelines FILE or --model-config CONFIG (or --default for "
                                   "the canonical bundle)")
        if (config_format or backend) and not model_config:
            raise click.UsageError("--format and --backend apply to --model-config")
        with tempfile.TemporaryDirectory(prefix="conformance-import-") as tmp:
            if model_config:
                pipeline_files = pipeline_files + (_import_model_config(
                    model_config, config_format, backend, Path(tmp)),)
            plan = user_plan(pipeline_files, image_paths,
                             with_corpus=corpus if corpus is not None else not image_paths,
                             max_input_bytes=max_input_mb << 20)
    n = len(plan.cases())
    with _progress() as progress:
        task = progress.add_task(f"generating {out_dir}", total=n)
        report = run_generate(plan, out_dir, jobs=jobs, overwrite=force,
                              on_case=lambda _: progress.advance(task))
    console.print(f"wrote [bold]{out_dir}[/]: {report.cases_written} cases "
                  f"({report.negative_cases} negative), {len(plan.inputs)} inputs, "
                  f"{len(plan.pipelines)} pipelines")
    if report.skipped:
        t = Table(title=f"{len(report.skipped)} case(s) skipped: the reference could not produce them")
        for col in ("case", "error", "message"):
            t.add_column(col, overflow="fold")
        for s in report.skipped[:50]:
            t.add_row(_safe(s["case"]), _safe(s["type"]), _safe(s["message"]))
        console.print(t)
    if report.refused:
        console.print(f"{len(report.refused)} input file(s) refused before reading (not in the bundle):")
        for r in report.refused:
            console.print(f"  refused ({_safe(r['type'])}) {_safe(r['message'])}", soft_wrap=True,
                          highlight=False)
    for p in report.problems:
        err_console.print(f"[red]problem:[/] {_safe(p)}", soft_wrap=True)
    if report.problems:
        sys.exit(1)


def _import_model_config(config: Path, fmt: str | None, backend: str | None, tmp: Path) -> Path:
    """Import ``config`` (format sniffed when not given) into a pipeline file under ``tmp``;
    its warnings go to stderr."""
    from .importers import import_file, sniff_format, to_toml
    from .importers.cli import import_options

    fmt = fmt or sniff_format(config)
    imported = import_file(fmt, config, **import_options(dict(backend=backend)))
    for w in imported.warnings:
        err_console.print(f"[yellow]warning:[/] {_safe(w)}", soft_wrap=True, highlight=False)
    path = tmp / f"{imported.id}.toml"
    path.write_text(to_toml(imported), encoding="utf-8")
    console.print(f"imported {_safe(config)} as pipeline [bold]{_safe(imported.id)}[/]", highlight=False)
    return path


@cli.command()
@click.argument("bundle", type=click.Path(exists=True, file_okay=False, path_type=Path))
def verify(bundle: Path) -> None:
    """Check a bundle: schema, paths, SHA-256 of every file, .npy dtype/shape (no pickle)."""
    from .bundle import verify_bundle

    report = verify_bundle(bundle)
    for w in report.warnings:
        err_console.print(f"[yellow]warning:[/] {_safe(w)}", soft_wrap=True)
    for p in report.problems:
        err_console.print(f"[red]problem:[/] {_safe(p)}", soft_wrap=True)
    status = "[green]OK[/]" if report.ok else f"[red]{len(report.problems)} problem(s)[/]"
    console.print(f"{bundle}: {report.cases} cases, {report.files_checked} files checked: {status}")
    if not report.ok:
        sys.exit(1)


@cli.command()
@click.argument("bundle", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("case", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the manifest entry as JSON.")
def show(bundle: Path, case: str | None, as_json: bool) -> None:
    """Summarise a bundle, or one CASE's pipeline knobs and step outputs."""
    from .bundle import Bundle
    from .show import case_tables, summary_tables

    b = Bundle(bundle)
    if case is None:
        if as_json:
            click.echo(json.dumps({k: v for k, v in b.manifest.items() if k != "cases"}, indent=1))
            return
        for t in summary_tables(b):
            console.print(t)
        return
    entry = b.case(case)
    if as_json:
        click.echo(json.dumps(entry, indent=1))
        return
    for t in case_tables(b, entry):
        console.print(t)


@cli.command()
@click.argument("bundle", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Where to write the regenerated bundle (overwritten).")
@click.option("--check", is_flag=True, help="Exit 1 unless every file is byte-identical to BUNDLE's.")
@click.option("--jobs", "-j", type=click.IntRange(1, 64), default=os.cpu_count() or 1, show_default=True)
def regenerate(bundle: Path, out_dir: Path, check: bool, jobs: int) -> None:
    """Rebuild BUNDLE from its own inputs and pipelines with this reference; with --check, compare
    the bytes (does this machine and version reproduce the vectors?)."""
    from .bundle import Bundle
    from .generate import regenerate_from_bundle

    if out_dir.resolve() == bundle.resolve():
        raise click.UsageError("--out must differ from BUNDLE")
    n = len(Bundle(bundle).cases)
    with _progress() as progress:
        task = progress.add_task(f"regenerating {bundle}", total=n)
        report = regenerate_from_bundle(bundle, out_dir, jobs=jobs, on_case=lambda _: progress.advance(task))
    console.print(f"wrote [bold]{out_dir}[/]: {report.cases_written} cases "
                  f"({report.negative_cases} negative), {len(report.skipped)} skipped")
    for p in report.problems:
        err_console.print(f"[red]problem:[/] {_safe(p)}", soft_wrap=True)
    if not check:
        sys.exit(1 if report.problems else 0)
    differ = _compare_trees(bundle, out_dir)
    for rel in differ[:20]:
        err_console.print(f"[red]differs:[/] {_safe(rel)}", soft_wrap=True)
    if differ or report.problems:
        console.print(f"[red]{len(differ)} file(s) differ[/] from {bundle}")
        sys.exit(1)
    console.print(f"[green]identical[/]: every file of {bundle} reproduced byte for byte")


def _compare_trees(a: Path, b: Path) -> list[str]:
    """Relative paths present in only one tree or with different bytes. Links are not followed
    and files are hashed in chunks: a bundle from elsewhere may hold anything."""
    import hashlib

    def files(root: Path) -> dict[str, Path]:
        out = {}
        for dirpath, _, names in os.walk(root):
            for n in names:
                p = Path(dirpath, n)
                out[p.relative_to(root).as_posix()] = p
        return out

    def digest(p: Path) -> str:
        if p.is_symlink() or not p.is_file():
            return f"not a regular file: {os.lstat(p).st_mode:o}"
        h = hashlib.sha256()
        with p.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        return h.hexdigest()

    fa, fb = files(a), files(b)
    out = sorted(set(fa) ^ set(fb))
    out += sorted(rel for rel in set(fa) & set(fb) if digest(fa[rel]) != digest(fb[rel]))
    return out


@cli.command()
@click.argument("op", required=False)
def presets(op: str | None) -> None:
    """List presets (of one OP) and the knobs each sets."""
    from .presets import PRESETS_BY_OP, all_preset_names, preset_knobs

    names = all_preset_names()
    for op_name in sorted(names):
        if op and op_name != op:
            continue
        t = Table(title=f"{op_name} presets")
        t.add_column("preset")
        t.add_column("knobs", overflow="fold")
        for name in names[op_name]:
            knobs = preset_knobs(op_name, name)
            knobs.pop("preset")
            t.add_row(name, ", ".join(f"{k}={v}" for k, v in knobs.items()))
        console.print(t)
    if op and op not in PRESETS_BY_OP:
        raise click.UsageError(f"no presets for op {op!r}; ops with presets: {', '.join(PRESETS_BY_OP)}")


# ---------------------------------------------------------------------------------------------
# Harnesses, runs, scores and reports
# ---------------------------------------------------------------------------------------------

@cli.command()
def harnesses() -> None:
    """List the built-in harnesses, their library versions and what each supports."""
    from .harnesses import BUILTIN, HarnessUnavailable, load
    from .harnesses.programs import PROGRAMS, program_path

    for name in BUILTIN:
        try:
            h = load(name)
        except HarnessUnavailable as e:
            console.print(f"[bold]{name}[/]: [yellow]unavailable[/] ({_safe(str(e))})")
            continue
        versions = ", ".join(f"{k} {v}" for k, v in h.versions().items())
        t = Table(title=f"{name}: {_safe(h.summary)} ({_safe(versions)})", title_justify="left")
        t.add_column("op")
        t.add_column("what it runs / what it cannot", overflow="fold")
        for op, text in h.capabilities().items():
            t.add_row(op, _safe(text))
        console.print(t)
    for name in PROGRAMS:
        path = program_path(name)
        state = f"program {_safe(path)}" if path else "[yellow]unavailable[/] (not installed)"
        console.print(f"[bold]{name}[/]: {state}, run through the external protocol")
    console.print("external: any program speaking the harness protocol "
                  "(docs/harness-protocol.md): `conformance run BUNDLE --external 'NAME=COMMAND'`")


@cli.command()
@click.argument("bundle", type=click.Path(exists=True, file_okay=False, path_type=Path))
@harness_options(harness_default="all", mode_default="both",
                 harness_help=", shipped programs (rust-cli), or 'all' (every harness available here).",
                 external_help="A program speaking the harness protocol (repeatable).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Results directory (resumed if it already holds results for this bundle).")
@click.option("--jobs", "-j", type=click.IntRange(1, 64), default=os.cpu_count() or 1, show_default=True,
              help="Worker processes.")
@click.option("--timeout", type=click.FloatRange(0.1), default=60.0, show_default=True,
              help="Seconds one case may take before its harness process is killed.")
@click.option("--fresh", is_flag=True, help="Delete earlier results in --out first.")
@click.option("--report", "report_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Then score and write every report format into this directory.")
@click.option("--expectations", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Expectation file(s) for --report (repeatable).")
def run(bundle: Path, harness_list: str, externals: tuple[str, ...], no_builtin: bool, mode: str,
        out_dir: Path, jobs: int, timeout: float, fresh: bool, report_dir: Path | None,
        expectations: tuple[Path, ...]) -> None:
    """Run harnesses on every case of BUNDLE; results (outputs + records) go to --out."""
    from .harnesses.external import ExternalHarness
    from .runner import run_bundle

    names, modes = selected(harness_list, no_builtin, mode)
    try:
        ext = [ExternalHarness.parse(e, timeout=timeout) for e in externals]
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--external") from None
    if not names and not ext:
        raise click.UsageError("nothing to run: give --harness or --external")
    with _progress() as progress:
        task = progress.add_task(f"running {bundle}", total=None)
        summary = run_bundle(bundle, out_dir, harnesses=names, externals=ext, modes=modes, jobs=jobs,
                             timeout=timeout, fresh=fresh,
                             on_start=lambda n: progress.update(task, total=n),
                             on_record=lambda *_: progress.advance(task))
    for name, why in summary.unavailable.items():
        err_console.print(f"[yellow]skipped harness {name}:[/] {_safe(why)}", soft_wrap=True)
    for name, why in summary.stopped.items():
        err_console.print(f"[red]stopped harness {name}:[/] {_safe(why)}", soft_wrap=True)
    causes = ", ".join(f"{n} {CAUSE_WORDS.get(c, c)}" for c, n in sorted(summary.error_causes.items()))
    console.print(f"wrote [bold]{out_dir}[/]: {summary.ran} case runs"
                  + (f" ({summary.resumed} already done, resumed)" if summary.resumed else "")
                  + (f", [red]{summary.errors} case error(s)[/]: {causes}" if summary.errors else ""))
    if report_dir is not None:
        _score_and_report(out_dir, report_dir, ("term", "json", "junit", "html"), expectations)
    if summary.stopped:  # a harness declared hung: the run is incomplete, say so by exit code
        sys.exit(EXIT_PROBLEMS)


CAUSE_WORDS = {"crash": "crashed", "timeout": "timed out", "harness": "harness error",
               "bundle": "bundle integrity (the bundle's files failed their checks)"}


def _load_scores(results: Path, expectations: tuple[Path, ...], explain_budget: float | None = None):
    """Scores of RESULTS; with ``explain_budget`` (seconds per step), every failing and xfail
    step also gets explain's best sentence (conformance.investigate.annotate)."""
    from .expectations import Expectations
    from .score import score_results

    with _progress() as progress:
        task = progress.add_task(f"scoring {results}", total=None)
        scores = score_results(results, expectations=Expectations.load(list(expectations)),
                               on_case=lambda: progress.advance(task))
        if explain_budget is not None:
            from .investigate.annotate import explain_scores

            why = progress.add_task("explaining failing and xfail steps", total=None)
            explain_scores(scores, budget_seconds=explain_budget,
                           on_step=lambda done, total: progress.update(why, completed=done, total=total))
    return scores


def _explain_options(fn):
    """--explain and --explain-budget, shared by score and report."""
    fn = click.option("--explain-budget", type=click.FloatRange(0.1), default=2.0, show_default=True,
                      help="With --explain: seconds of search per step.")(fn)
    return click.option("--explain", "explain", is_flag=True,
                        help="Add to every failing and xfail step the setting or classic mistake "
                             "that reproduces the harness output, in one sentence (conformance "
                             "explain's best hypothesis).")(fn)


def _score_and_report(results: Path, out_dir: Path, formats: tuple[str, ...],
                      expectations: tuple[Path, ...], explain_budget: float | None = None) -> None:
    from .report import write_reports

    scores = _load_scores(results, expectations, explain_budget)
    written = write_reports(scores, out_dir, formats=formats, console=console)
    for fmt, path in written.items():
        if path is not None:  # the terminal report has no file
            console.print(f"{fmt}: {path}")


@cli.command()
@click.argument("results", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--expectations", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Expectation file(s): tolerance overrides and expected failures with reasons.")
@click.option("--strict", is_flag=True, help="Exit 1 if any step fails, errors or is lenient.")
@click.option("--worst", type=click.IntRange(0), default=10, show_default=True,
              help="How many of the worst cases to list.")
@_explain_options
def score(results: Path, expectations: tuple[Path, ...], strict: bool, worst: int, explain: bool,
          explain_budget: float) -> None:
    """Score RESULTS (from `conformance run`) against its bundle; print the summary and write
    RESULTS/scores.json."""
    from .report.json_report import write_json
    from .report.terminal import render_terminal
    from .score import BAD_VERDICTS

    scores = _load_scores(results, expectations, explain_budget if explain else None)
    render_terminal(scores, console, worst=worst)
    write_json(scores, results / "scores.json")
    console.print(f"scores: {results / 'scores.json'}")
    if strict and any(scores.counts()[v] for v in BAD_VERDICTS):
        sys.exit(1)


@cli.command()
@click.argument("results", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--format", "formats", default="term,json,junit,html", show_default=True,
              help="Comma-separated: term, json, junit, html.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Directory for the report files (default: RESULTS).")
@click.option("--expectations", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Expectation file(s): tolerance overrides and expected failures with reasons.")
@_explain_options
def report(results: Path, formats: str, out_dir: Path | None, expectations: tuple[Path, ...],
           explain: bool, explain_budget: float) -> None:
    """Write reports of RESULTS: terminal summary, scores.json, junit.xml, report.html."""
    chosen = tuple(split_list(formats))
    bad = set(chosen) - {"term", "json", "junit", "html"}
    if bad or not chosen:
        raise click.UsageError(f"unknown format(s) {sorted(bad)}; choose from term, json, junit, html")
    _score_and_report(results, out_dir or results, chosen, expectations,
                      explain_budget if explain else None)


# Accuracy-gap investigation (conformance/investigate/): commands of their own modules
from .investigate.compare_cli import compare as _compare  # noqa: E402


cli.add_command(_compare)
from .models.impact_cli import impact as _impact  # noqa: E402
cli.add_command(_impact)
from .investigate.explain_cli import explain as _explain  # noqa: E402
cli.add_command(_explain)
from .importers.cli import import_command as _import  # noqa: E402

cli.add_command(_import)
from .exports.cli import export as _export  # noqa: E402

cli.add_command(_export)

from .scale.cli import check as _check  # noqa: E402

cli.add_command(_check)


# Exit codes (README "Commands"): 0 success, 1 problems found, 2 bad usage or input, 3 an
# internal error (a bug of ours: one line here, the traceback in a log file), 130 interrupted.
EXIT_PROBLEMS, EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED = 1, 2, 3, 130


def _fail(message: str, code: int) -> None:
    err_console.print(f"[red]error:[/] {_safe(message)}", soft_wrap=True, highlight=False)
    sys.exit(code)


def _crash_log() -> str:
    """Write the current exception's traceback to a file for a bug report; its path."""
    import tempfile
    import traceback

    fd, path = tempfile.mkstemp(prefix="conformance-crash-", suffix=".log")
    with os.fdopen(fd, "w") as f:
        f.write(f"conformance {__version__}, argv {sys.argv!r}\n")
        traceback.print_exc(file=f)
    return path


def _route_warnings() -> None:
    """Library and numpy warnings (RuntimeWarning, ComplexWarning...) go to the log file named by
    $CONFORMANCE_LOG, not the terminal: a bad value is reported by the command, by name."""
    import logging
    import warnings

    logging.captureWarnings(True)
    log = logging.getLogger("py.warnings")
    log.propagate = False
    target = os.environ.get("CONFORMANCE_LOG")
    log.addHandler(logging.FileHandler(target) if target else logging.NullHandler())
    warnings.simplefilter("default")


def main() -> None:
    """Entry point. Every failure is one line, never a traceback: typed errors (a bad file, a bad
    knob, a bundle or results directory that is not what it claims) and what a hostile input
    can raise in any library (recursion, memory, encoding) exit 2; a bug of ours exits 3 with
    the traceback written to a log file; Ctrl-C exits 130."""
    _route_warnings()
    # SIGTERM (a CI time-out, `kill`) stops like Ctrl-C: records kept, harness programs killed,
    # temporary folders removed
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        code = cli(standalone_mode=False)  # --help and --version return their exit code
    except click.exceptions.Abort:
        _fail("interrupted", EXIT_INTERRUPTED)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        _fail("interrupted", EXIT_INTERRUPTED)
    except ConformanceError as e:
        _fail(str(e), EXIT_BAD_INPUT)
    except RecursionError:
        _fail("input nested too deeply to read (recursion limit)", EXIT_BAD_INPUT)
    except MemoryError:
        _fail("out of memory: an input asks for more than this machine has", EXIT_BAD_INPUT)
    except UnicodeDecodeError as e:
        _fail(f"a text input is not UTF-8: {e}", EXIT_BAD_INPUT)
    except OSError as e:
        where = f"{e.filename}: " if e.filename else ""
        _fail(f"{where}{e.strerror or e}", EXIT_BAD_INPUT)
    except Exception as e:  # noqa: BLE001 - the last line of defence: one line and a log
        _fail(f"internal error {type(e).__name__}: {e} (a bug; traceback in {_crash_log()})",
              EXIT_INTERNAL)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
