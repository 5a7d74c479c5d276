"""Expectation files: per-harness tolerance overrides and expected failures, each with a reason.

Like web-platform-tests' metadata files, they record what a project knows and accepts about a
harness, so a report separates known divergences from regressions. TOML::

    [[tolerance]]                    # widen (or tighten) the tolerance of matching steps
    harness = "opencv"               # every selector is optional and a glob (fnmatch)
    pipeline = "resize.opencv.cubic.*"
    op = "resize"                    # or step = 1 (the step index)
    max_abs = 1
    reason = "uint8 INTER_CUBIC runs Intel IPP in the opencv-python wheel: 1 LSB off"

    [[expected_failure]]             # a failure (or lenient decode) here is reported as xfail
    harness = "opencv"
    pipeline = "resize.pillow.*"
    op = "resize"
    reason = "cv2.resize has no antialiased filter; Pillow's are antialiased"

Selectors: ``harness``, ``mode``, ``pipeline``, ``case``, ``input`` (globs), ``op`` (glob),
``step`` (integer index). Every entry needs a non-empty ``reason``. When several entries match,
the last one in the file wins (later files after earlier ones). The tolerance of a step is the
bundle's (the pipeline's own override or the default per op and dtype) unless an entry matches.
"""

from __future__ import annotations

import fnmatch
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import SpecError

SELECTORS = ("harness", "mode", "pipeline", "case", "input", "op", "step")
KINDS = {"tolerance": ("max_abs",), "expected_failure": ()}


@dataclass(frozen=True)
class Entry:
    kind: str
    selectors: dict[str, Any]
    reason: str
    max_abs: float | None
    where: str

    def matches(self, harness: str, mode: str, case: dict, index: int | None, op: str) -> bool:
        values = {"harness": harness, "mode": mode, "pipeline": case["pipeline"], "case": case["id"],
                  "input": case["input"], "op": op}
        for key, pattern in self.selectors.items():
            if key == "step":
                if index != pattern:
                    return False
            elif not fnmatch.fnmatchcase(values[key], pattern):
                return False
        return True


@dataclass
class Expectations:
    entries: list[Entry] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    @classmethod
    def empty(cls) -> "Expectations":
        return cls()

    @classmethod
    def load(cls, paths: list[str | Path]) -> "Expectations":
        out = cls()
        for p in paths:
            out.entries.extend(_parse(Path(p)))
            out.sources.append(str(p))
        return out

    def tolerance(self, harness: str, mode: str, case: dict, step_entry: dict) -> dict:
        """The tolerance for one bundle step entry: the last matching override, else the bundle's."""
        for e in reversed(self.entries):
            if e.kind == "tolerance" and e.matches(harness, mode, case, step_entry["index"],
                                                   step_entry["op"]):
                return {"metric": "max_abs", "max_abs": e.max_abs, "reason": e.reason,
                        "source": e.where}
        tol = dict(step_entry.get("tolerance") or {"metric": "max_abs", "max_abs": 0,
                                                   "reason": "exact by default"})
        tol["source"] = "bundle"
        return tol

    def expected_failure(self, harness: str, mode: str, case: dict, index: int, op: str) -> str | None:
        """The reason of the last matching expected_failure entry, or None."""
        for e in reversed(self.entries):
            if e.kind == "expected_failure" and e.matches(harness, mode, case, index, op):
                return f"{e.reason} [{e.where}]"
        return None


def _parse(path: Path) -> list[Entry]:
    try:
        doc = tomllib.loads(path.read_text("utf-8"))
    except OSError as e:
        raise SpecError(f"cannot read: {e.strerror}", source=str(path)) from None
    except tomllib.TOMLDecodeError as e:
        raise SpecError(f"not valid TOML: {e}", source=str(path)) from None
    unknown = set(doc) - set(KINDS)
    if unknown:
        raise SpecError(f"unknown table(s) {sorted(unknown)}; expected [[tolerance]] or "
                        "[[expected_failure]]", source=str(path))
    entries = []
    for kind, required in KINDS.items():
        for i, raw in enumerate(doc.get(kind, [])):
            where = f"{path}:{kind}[{i}]"
            if not isinstance(raw, dict):
                raise SpecError("must be a table", source=where)
            extra = set(raw) - set(SELECTORS) - {"reason", *required}
            if extra:
                raise SpecError(f"unknown key(s) {sorted(extra)}; selectors are {', '.join(SELECTORS)}",
                                source=where)
            reason = raw.get("reason")
            if not isinstance(reason, str) or not reason.strip():
                raise SpecError("every entry needs a non-empty reason", source=where, field="reason")
            for key in SELECTORS:
                v = raw.get(key)
                if v is None:
                    continue
                if key == "step" and not (isinstance(v, int) and not isinstance(v, bool) and v >= 0):
                    raise SpecError("must be a step index (integer >= 0)", source=where, field=key, value=v)
                if key != "step" and not isinstance(v, str):
                    raise SpecError("must be a string (a glob)", source=where, field=key, value=v)
            max_abs = None
            if "max_abs" in required:
                max_abs = raw.get("max_abs")
                if not (isinstance(max_abs, (int, float)) and not isinstance(max_abs, bool) and max_abs >= 0):
                    raise SpecError("must be a number >= 0", source=where, field="max_abs", value=max_abs)
            entries.append(Entry(kind, {k: raw[k] for k in SELECTORS if k in raw}, reason.strip(),
                                 max_abs, where))
    return entries
