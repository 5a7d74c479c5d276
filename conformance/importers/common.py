"""What every importer shares: the error type, the imported pipeline, and its TOML form.

An importer reads one library's description of a model's preprocessing (a Hugging Face
``preprocessor_config.json``, a timm ``pretrained_cfg``, a torchvision weights name, a Keras
``preprocess_input`` mode) and returns an :class:`Imported`: the pipeline as a list of step dicts
with *every* knob explicit, each with a comment naming the config key (and the library rule) it
came from. :func:`to_toml` writes it as an ordinary pipeline file that
:func:`conformance.spec.load_pipelines` reads.

Rules every importer follows:

- A key it does not know, or a value it cannot reproduce, is a :class:`ConfigError` naming the
  file and the key: never a silent guess.
- A key that cannot change the output (``processor_class``, ...) is a warning naming the key,
  kept in :attr:`Imported.warnings` and written to the TOML header.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConformanceError, SpecError

CONFIG_FILE_LIMIT = 1 << 20  # bytes: a preprocessing config is a few KB; a larger file is not one


class ConfigError(ConformanceError, ValueError):
    """A model config is malformed or asks for something the importer cannot reproduce.

    ``str(e)`` is ``"<source>: <key>: <message>"`` (``"<source>: <message>"`` without a key), the
    one line the command line prints before exiting with status 2."""

    def __init__(self, source: str, key: str | None, message: str):
        self.source, self.key, self.reason = source, key, message
        super().__init__(f"{source}: {key}: {message}" if key else f"{source}: {message}")


@dataclass
class ImportedStep:
    """One step: ``knobs`` is a full step dict (``{"op": ..., every knob}``, see :func:`full_step`);
    ``comment`` says which config key(s) and library rule it came from (may hold newlines)."""

    knobs: dict
    comment: str


@dataclass
class Imported:
    """An imported pipeline, ready for :func:`to_toml`.

    - ``id``: the pipeline id (letters, digits, ``.``, ``_``, ``-``).
    - ``origin``: ``{"format", "class", "backend", "source", ...}`` for the header comment.
    - ``warnings``: ``"<source>: <key>: ignored because ..."`` for keys that cannot change the
      output, or notes on what is not bit-exact.
    """

    id: str
    description: str
    steps: list[ImportedStep]
    warnings: list[str] = field(default_factory=list)
    origin: dict = field(default_factory=dict)


def full_step(op: str, **knobs: Any) -> dict:
    """A step dict with every knob of ``op`` explicit: ``knobs`` (optionally ``preset=NAME``,
    whose values are applied first, as in a pipeline file) validated through
    :func:`conformance.spec.make_step`, then expanded with ``Step.knobs()``. The preset name is
    kept (provenance only: the knobs alone define the step). Raises :class:`SpecError` for a bad
    knob; importers that pass a value read from a config use :func:`config_step` instead."""
    from ..spec import make_step

    step = make_step({"op": op, **knobs})
    return step.knobs()


def config_step(source: str, key: str, op: str, **knobs: Any) -> dict:
    """:func:`full_step`, with a bad value reported as a :class:`ConfigError` naming ``key`` of
    ``source`` (the config key the value came from)."""
    try:
        return full_step(op, **knobs)
    except SpecError as e:
        shown = repr(e.value)
        shown = shown if len(shown) <= 80 else shown[:77] + "..."  # a 300-digit size stays one short line
        raise ConfigError(source, key, f"cannot be reproduced: {e.reason} (value {shown})") from None


def load_config(path: str | Path) -> dict:
    """The JSON object in ``path``: read with a size limit (:data:`CONFIG_FILE_LIMIT`), parsed;
    :class:`ConfigError` naming the file when it cannot be read, is not UTF-8 JSON, or is not an
    object."""
    from ..safeio import UnsafeData, read_limited

    source = str(path)
    try:
        data = read_limited(path, CONFIG_FILE_LIMIT)
    except OSError as e:
        raise ConfigError(source, None, f"cannot read: {e.strerror or e}") from None
    except UnsafeData as e:
        raise ConfigError(source, None, str(e).removeprefix(f"{path} ")) from None
    try:
        doc = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise ConfigError(source, None, f"not UTF-8 text (byte {e.start})") from None
    except ValueError as e:
        raise ConfigError(source, None, f"not valid JSON: {str(e)[:300]}") from None
    except RecursionError:
        raise ConfigError(source, None, "not valid JSON: nested too deeply") from None
    if not isinstance(doc, dict):
        raise ConfigError(source, None, f"must hold a JSON object, not {type(doc).__name__}")
    return doc


# ---------------------------------------------------------------------------------------------
# TOML output
# ---------------------------------------------------------------------------------------------


def _toml_string(s: str) -> str:
    """A TOML basic string: JSON's escaping is a subset of TOML's (\\uXXXX, \\", \\\\, \\n...)."""
    return json.dumps(s, ensure_ascii=False)


def _toml_value(v: Any) -> str:
    """One knob value in TOML: booleans, integers, floats (``repr``: the shortest string that
    reads back as the same float64), strings, and lists of those."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError(f"non-finite float {v!r} has no place in a pipeline")
        return repr(v)
    if isinstance(v, str):
        return _toml_string(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} {v!r} as TOML")


def _comment_lines(text: str) -> list[str]:
    return [f"# {line}".rstrip() for line in text.splitlines() or [""]]


def to_toml(imp: Imported) -> str:
    """The pipeline file: header comments (origin, warnings), ``id``, ``description``, then one
    ``[[steps]]`` table per step, each preceded by its comment lines, with every knob written
    (``op`` first, then the step's own knob order; None-valued knobs are left out, since TOML has
    no null and None is each such knob's default). Deterministic: the same import gives the same
    bytes."""
    lines: list[str] = []
    o = imp.origin
    what = ", ".join(f"{k} {o[k]}" for k in ("class", "backend") if o.get(k))
    lines.append(f"# Imported by `conformance import {o.get('format', '?')}` from "
                 f"{o.get('source', '?')}" + (f" ({what})" if what else "") + ".")
    for k in sorted(set(o) - {"format", "source", "class", "backend"}):
        lines += _comment_lines(f"{k}: {o[k]}")
    lines.append("# Every knob is explicit: this file means the same with any version of the suite.")
    for w in imp.warnings:
        lines += _comment_lines(f"warning: {w}")
    lines.append("")
    lines.append(f"id = {_toml_string(imp.id)}")
    lines.append(f"description = {_toml_string(imp.description)}")
    for step in imp.steps:
        lines.append("")
        lines += _comment_lines(step.comment)
        lines.append("[[steps]]")
        knobs = step.knobs
        order = ["op"] + [k for k in knobs if k != "op"]
        for k in order:
            v = knobs[k]
            if v is None:
                continue
            lines.append(f"{k} = {_toml_value(v)}")
    return "\n".join(lines) + "\n"
