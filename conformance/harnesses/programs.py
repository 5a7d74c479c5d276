"""Harness *programs* the suite ships: external-protocol executables known by name.

``rust-cli`` is the Rust harness's CLI (``conformance-rust-harness``, built from
``rust_harness/`` by ``scripts/setup.sh``), run through :class:`.external.ExternalHarness`, so
the external protocol is exercised end to end by a real program. ``conformance run --harness
rust-cli`` (or ``all``, when the binary is installed) runs it like a built-in harness.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

# name -> (executable file name, its arguments)
PROGRAMS: dict[str, tuple[str, list[str]]] = {
    "rust-cli": ("conformance-rust-harness", ["--engine", "image"]),
}
# $CONFORMANCE_RUST_HARNESS overrides where the Rust CLI is looked for.
PATH_VARIABLES = {"rust-cli": "CONFORMANCE_RUST_HARNESS"}


def program_path(name: str) -> str | None:
    """The executable of program harness ``name``: $CONFORMANCE_RUST_HARNESS, else next to the
    running Python (the venv's ``bin/``, where setup installs it), else on PATH; None if absent."""
    exe, _ = PROGRAMS[name]
    explicit = os.environ.get(PATH_VARIABLES.get(name, ""), "")
    if explicit:
        return explicit if Path(explicit).is_file() else None
    beside = Path(sys.executable).parent / exe
    if beside.is_file():
        return str(beside)
    return shutil.which(exe)


def split_programs(specs: list[str]) -> tuple[list[str], list[str], dict[str, str]]:
    """Split harness specs into (in-process specs, program names to run, {name: why unavailable}).

    ``all`` includes every program whose executable is installed (a missing one is only
    reported); a program asked for by name must be installed (ValueError otherwise)."""
    in_process, programs, missing = [], [], {}
    wanted_all = "all" in specs
    for spec in specs:
        if spec in PROGRAMS:
            if program_path(spec) is None:
                raise ValueError(f"harness {spec!r}: {PROGRAMS[spec][0]} is not installed "
                                 "(run scripts/setup.sh, or set $" + PATH_VARIABLES[spec] + ")")
            programs.append(spec)
        else:
            in_process.append(spec)
    if wanted_all:
        for name in PROGRAMS:
            if name in programs:
                continue
            if program_path(name) is None:
                missing[name] = f"{PROGRAMS[name][0]} is not installed (scripts/setup.sh builds it)"
            else:
                programs.append(name)
    return in_process, programs, missing


def program_command(name: str) -> list[str]:
    """The command line of an installed program harness."""
    path = program_path(name)
    if path is None:
        raise ValueError(f"harness {name!r}: {PROGRAMS[name][0]} is not installed")
    return [path, *PROGRAMS[name][1]]
