"""Options several commands share: which harnesses run, and in which modes (``run``, ``check``)."""

from __future__ import annotations

import click

from .harnesses import BUILTIN


def split_list(value: str) -> list[str]:
    """A comma-separated option as its non-empty items."""
    return [v.strip() for v in value.split(",") if v.strip()]


def harness_options(*, harness_default: str, mode_default: str, harness_help: str, external_help: str):
    """``--harness``, ``--external``, ``--no-builtin`` and ``--mode`` (parameters ``harness_list``,
    ``externals``, ``no_builtin``, ``mode``; :func:`selected` reads them)."""
    options = [
        click.option("--harness", "harness_list", default=harness_default, show_default=True,
                     help=f"Comma-separated harnesses: built-in ({', '.join(BUILTIN)}), package.module:Class"
                          f"{harness_help}"),
        click.option("--external", "externals", multiple=True, metavar="[NAME=]COMMAND", help=external_help),
        click.option("--no-builtin", is_flag=True, help="Run only the --external harnesses."),
        click.option("--mode", type=click.Choice(["isolated", "chained", "both"]), default=mode_default,
                     show_default=True, help="isolated: each step gets the reference input; chained: "
                                             "the harness's own outputs flow through."),
    ]

    def decorate(f):
        for option in reversed(options):
            f = option(f)
        return f
    return decorate


def selected(harness_list: str, no_builtin: bool, mode: str) -> tuple[list[str], tuple[str, ...]]:
    """(the harness names asked for, the modes) of :func:`harness_options`' values."""
    from .results import MODES

    return ([] if no_builtin else split_list(harness_list)), (MODES if mode == "both" else (mode,))
