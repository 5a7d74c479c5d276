"""Expectation files: per-harness tolerance overrides and expected failures, each with a reason.

Like web-platform-tests' metadata files, they record what a project knows and accepts about a
harness, so a report separates known divergences from regressions. TOML::

    [[tolerance]]                    # widen (or tighten) the tolerance of matching steps
    harness = "opencv"               # every selector is optional
    preset = "opencv.cubic"
    max_abs = 1
    reason = "uint8 INTER_CUBIC runs Intel IPP in the opencv-python wheel: 1 LSB off"

    [[expected_failure]]             # a failure (or lenient decode) here is reported as xfail
    harness = "opencv"
    op = "resize"
    knobs = {antialias = true}
    reason = "cv2.resize never antialiases"

    [[expected_failure]]
    harness = "rust-*"
    op = "decode"
    header = {format = "jpeg", subsampling = ["4:2:0", "4:2:2"]}
    reason = "zune-jpeg is not libjpeg-turbo"

    [[expected_crash]]               # a case whose harness process died (a signal) is xfail
    harness = "torchvision-tensor"
    input = ["neg.bad_crc", "neg.bad_zlib"]
    reason = "torchvision.io.decode_image dies with SIGSEGV after libpng's CRC error"

An ``expected_crash`` entry takes only the case selectors (``harness``, ``mode``, ``pipeline``,
``case``, ``input``, ``header``) and excuses only a crash (the harness process killed by a
signal while running the case), never a timeout, an exit or a missing result: a crash is a
finding about the library, pinned like any divergence, so a strict score can gate on everything
else.

Selectors (an entry matches a step when every selector it has matches; none = every step):

- what ran: ``harness``, ``mode`` (globs);
- where, by name: ``pipeline``, ``case``, ``input`` (globs: the bundle's ids), ``step`` (an
  integer index). These tie an entry to one bundle's names;
- what the step *is*, whatever the bundle: ``op`` (glob), ``preset`` (glob against the preset
  the step was expanded from, as the bundle's pipeline records it in the step's ``preset`` key;
  a step without a preset never matches), ``knobs`` (a table: every listed knob of the step
  must equal the value given, compared with the step's JSON form in the bundle manifest, i.e.
  ``manifest["pipelines"][pipeline]["steps"][index]`` with every knob expanded);
- what the input *is*: ``header`` (a table over the input's recorded header,
  ``manifest["inputs"][input]["header"]``: ``format``, ``width``, ``height``, ``colour_type``,
  ``bit_depth``, ``interlaced``, ``orientation``, ``icc_profile``, ``animated`` (an APNG; absent
  otherwise) (a tensor input: ``format``
  "npy", ``dtype``, ``shape``, ``range``, ``nan``, ``posinf``, ``neginf``), plus ``subsampling`` of a
  JPEG, read from the input's frame header when the manifest does not record it, see
  :func:`jpeg_subsampling`). A negative vector whose header cannot be read has none: a header
  selector never matches it;
- how its input came: ``inherited`` (true or false): true matches a step in chained mode after
  an earlier step of the same case whose output already differs from the reference (max abs
  error > 0, or no comparable output): the step's own input is not the reference's. False
  matches every other step (isolated mode always).

Glob selectors take one glob or a list of globs (any of). In ``knobs`` and ``header`` a value
matches a field equal to it (a string value is a glob, so ``icc_profile = "*"`` means "has a
profile"; true/false match only booleans; a number matches an equal number); a list matches a field equal to the list itself or to any of
its items, so ``orientation = [5, 6, 7, 8]`` is "any of" and ``background = [255, 255, 255]``
the list. A field the step or header does not have never matches.

Every entry needs a non-empty ``reason``. When several entries match, the last one in the file
wins (later files after earlier ones), so put general entries first and specific ones after.
The tolerance of a step is the bundle's (the pipeline's own override or the default per op and
dtype) unless an entry matches. Knob names, knob values with a fixed set of choices, header
fields and preset names are checked when the file is read, so a typo is an error, not an entry
that silently never matches.
"""

from __future__ import annotations

import fnmatch
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from .errors import ConformanceError, SpecError

GLOB_SELECTORS = ("harness", "mode", "pipeline", "case", "input", "op", "preset")
TABLE_SELECTORS = ("knobs", "header")
SELECTORS = (*GLOB_SELECTORS, "step", *TABLE_SELECTORS, "inherited")
KINDS = {"tolerance": ("max_abs",), "expected_failure": (), "expected_crash": ()}
# what an expected_crash entry may select by: the case, not a step
CASE_SELECTORS = ("harness", "mode", "pipeline", "case", "input", "header")
# Fields of an input's header a ``header`` selector may name: what conformance.generate records
# (input_header), plus the JPEG subsampling derived from the file (jpeg_subsampling).
HEADER_FIELDS = ("format", "width", "height", "colour_type", "bit_depth", "interlaced",
                 "orientation", "icc_profile", "subsampling", "animated", "damaged", "lossless",
                 # a tensor input's (reference.postprocess.tensor.describe)
                 "dtype", "shape", "range", "nan", "posinf", "neginf")
_GLOB_CHARS = set("*?[")


# --- what a selector compares against ------------------------------------------------------

# Subsampling labels: chroma sampling of a YCbCr JPEG by (Hmax/Hc, Vmax/Vc), the factors by which
# both chroma planes are reduced (T.81 A.1.1: component dimensions from Hi, Vi).
SUBSAMPLING_BY_RATIO = {(1, 1): "4:4:4", (2, 1): "4:2:2", (1, 2): "4:4:0", (2, 2): "4:2:0",
                        (4, 1): "4:1:1"}
# Labels of the other colour models (no chroma to subsample) and of anything not listed above.
GRAY, RGB, CMYK, OTHER = "gray", "rgb", "cmyk", "other"
# libjpeg's rule for a 3-component file without JFIF or Adobe marker (jdapimin.c
# default_decompress_parms): component identifiers 'R', 'G', 'B' mean RGB, anything else YCbCr.
RGB_COMPONENT_IDS = (0x52, 0x47, 0x42)


def jpeg_subsampling(data: bytes, source: str = "<jpeg>") -> str | None:
    """The chroma subsampling of a JPEG file, from its markers up to the frame header (T.81
    B.2.2), or None if ``data`` is not a JPEG whose header can be read.

    - 1 component: ``gray``; 4 components: ``cmyk`` (CMYK or YCCK: the ink model);
    - 3 components in the RGB colour space (libjpeg's rule: a JFIF APP0 means YCbCr; else an
      Adobe APP14 transform 0 means RGB; else component ids 'R','G','B' mean RGB): ``rgb``;
    - 3 components YCbCr: both chroma components with the same sampling factors (Hc, Vc) that
      divide the luma's (Hy, Vy): :data:`SUBSAMPLING_BY_RATIO` of (Hy/Hc, Vy/Vc), e.g. Y 2x2 and
      Cb, Cr 1x1 is ``4:2:0``; any other arrangement ``other``.
    """
    from .reference.jpeg import markers as mk

    data = bytes(data)
    if data[:2] != b"\xff\xd8":  # B.1.1.3: SOI starts every JPEG file
        return None
    jfif, adobe, frame, pos = False, None, None, 2
    try:  # every marker segment up to the first scan, as libjpeg reads them before deciding
        while True:
            found = mk.next_marker(data, pos, source)
            if found is None or found[0] in (mk.EOI, mk.SOS):
                break
            code, at, pos = found
            if mk.is_standalone(code):
                continue
            body, pos = mk.read_segment(data, code, at, source)
            if code == mk.APP0 and mk.is_jfif(body):
                jfif = True
            elif code == mk.APP0 + 14 and mk.adobe_transform(body) is not None:
                adobe = mk.adobe_transform(body)
            elif (code in mk.SOF_PROCESSES or code in mk.UNSUPPORTED_SOF) and frame is None:
                frame = body
    except ConformanceError:  # a damaged header after the frame header still has its sampling
        pass
    return None if frame is None else _label(frame, jfif, adobe)


def _label(frame: bytes, jfif: bool, adobe: int | None) -> str | None:
    """The label of a frame header body (Figure B.3: P, Y, X, Nf, then Ci, Hi|Vi, Tqi each)."""
    if len(frame) < 6:
        return None
    nf = frame[5]
    comps = [(frame[6 + 3 * i], frame[7 + 3 * i] >> 4, frame[7 + 3 * i] & 0x0F)
             for i in range(nf) if 8 + 3 * i < len(frame)]
    if len(comps) != nf or nf not in (1, 3, 4):
        return OTHER if comps else None
    if nf == 1:
        return GRAY
    if nf == 4:
        return CMYK
    ids = tuple(c for c, _, _ in comps)
    if not jfif and (adobe == 0 if adobe is not None else ids == RGB_COMPONENT_IDS):
        return RGB
    (_, hy, vy), (_, hb, vb), (_, hr, vr) = comps
    if (hb, vb) != (hr, vr) or not hb or not vb or hy % hb or vy % vb:
        return OTHER
    return SUBSAMPLING_BY_RATIO.get((hy // hb, vy // vb), OTHER)


class BundleFacts:
    """What the step and header selectors read from one bundle: pipeline steps (JSON form) and
    input headers, the latter with ``subsampling`` added for JPEGs (from the manifest if it
    records it, else from the input's bytes, read and hash-checked once per input).

    ``bundle`` is anything with a ``manifest`` dict and an ``input_bytes(input_id)`` method
    (:class:`conformance.bundle.Bundle`); ``input_bytes`` may be None (no subsampling then)."""

    def __init__(self, bundle: Any):
        self.bundle = bundle
        self.manifest: Mapping[str, Any] = getattr(bundle, "manifest", None) or {}
        self._headers: dict[str, dict | None] = {}

    def step(self, pipeline: str, index: int | None) -> Mapping[str, Any] | None:
        steps = ((self.manifest.get("pipelines") or {}).get(pipeline) or {}).get("steps") or []
        if index is None or not 0 <= index < len(steps) or not isinstance(steps[index], dict):
            return None
        return steps[index]

    def header(self, input_id: str) -> Mapping[str, Any] | None:
        if input_id not in self._headers:
            self._headers[input_id] = self._read_header(input_id)
        return self._headers[input_id]

    def _read_header(self, input_id: str) -> dict | None:
        meta = (self.manifest.get("inputs") or {}).get(input_id) or {}
        header = meta.get("header")
        if not isinstance(header, dict):
            return None
        header = dict(header)
        if header.get("format") == "jpeg" and "subsampling" not in header:
            header["subsampling"] = self._subsampling(input_id)
        return header

    def _subsampling(self, input_id: str) -> str | None:
        read = getattr(self.bundle, "input_bytes", None)
        if read is None:
            return None
        try:
            return jpeg_subsampling(read(input_id), source=input_id)
        except (ConformanceError, OSError):  # unreadable or tampered: no subsampling to match
            return None


def differs(step: Any) -> bool:
    """Whether a scored step's output differs from the reference: max abs error > 0, or it was
    judged without a number (a shape or dtype mismatch, non-finite values). ``step`` is a
    :class:`conformance.score.StepScore` (or anything with ``verdict`` and ``metrics``)."""
    if step.verdict not in ("pass", "fail", "xfail"):
        return False  # unsupported, error, skipped: no output of this step went further
    metrics = step.metrics or {}
    if not metrics or metrics.get("max_abs") is None:
        return step.verdict != "pass"
    return metrics["max_abs"] > 0


@dataclass(frozen=True)
class StepFacts:
    """The facts one step is matched on beyond its names (None: not known)."""

    step: Mapping[str, Any] | None = None
    header: Mapping[str, Any] | None = None
    inherited: bool = False


# --- entries -------------------------------------------------------------------------------


def _is_bool(v: Any) -> bool:
    return isinstance(v, bool)


def _value_matches(want: Any, have: Any) -> bool:
    """``have`` (a step knob or header field, JSON form) against a selector value ``want``."""
    if isinstance(want, list):  # the list itself, or any of its items
        return _equal(want, have) or any(_equal(w, have) if isinstance(w, list)
                                         else _value_matches(w, have) for w in want)
    if isinstance(want, str):
        return isinstance(have, str) and fnmatch.fnmatchcase(have, want)
    return _equal(want, have)


def _equal(a: Any, b: Any) -> bool:
    """JSON equality, strict about booleans (true is not 1) and lists."""
    if isinstance(a, list) or isinstance(b, list):
        return (isinstance(a, list) and isinstance(b, list) and len(a) == len(b)
                and all(_equal(x, y) for x, y in zip(a, b)))
    if _is_bool(a) or _is_bool(b):
        return _is_bool(a) and _is_bool(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b


def _globs(v: str | list[str]) -> list[str]:
    return [v] if isinstance(v, str) else list(v)


@dataclass(frozen=True)
class Entry:
    kind: str
    selectors: dict[str, Any]
    reason: str
    max_abs: float | None
    where: str

    @property
    def needs_facts(self) -> bool:
        """Whether matching needs the bundle (step JSON, header) or the earlier steps."""
        return any(k in self.selectors for k in ("preset", "knobs", "header", "inherited"))

    def matches(self, harness: str, mode: str, case: dict, index: int | None, op: str,
                facts: StepFacts | None = None) -> bool:
        """Whether every selector matches this step. Without ``facts`` an entry that selects by
        preset, knobs, header or inherited does not match (nothing to compare with)."""
        names = {"harness": harness, "mode": mode, "pipeline": case["pipeline"], "case": case["id"],
                 "input": case["input"], "op": op}
        for key, pattern in self.selectors.items():
            if key in names:
                if not any(fnmatch.fnmatchcase(names[key], g) for g in _globs(pattern)):
                    return False
            elif key == "step" and index != pattern:
                return False
        if not self.needs_facts:
            return True
        if facts is None:
            return False
        if "inherited" in self.selectors and self.selectors["inherited"] != facts.inherited:
            return False
        if "preset" in self.selectors:
            preset = (facts.step or {}).get("preset")
            if not isinstance(preset, str) or not any(fnmatch.fnmatchcase(preset, g)
                                                      for g in _globs(self.selectors["preset"])):
                return False
        for key, source in (("knobs", facts.step), ("header", facts.header)):
            table = self.selectors.get(key)
            if table is None:
                continue
            if source is None:
                return False
            for name, want in table.items():
                if name not in source or not _value_matches(want, source[name]):
                    return False
        return True


@dataclass
class Expectations:
    entries: list[Entry] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    # (the bundle object, its facts): one bundle per scoring, its headers read once
    _facts: tuple[Any, BundleFacts] | None = field(default=None, repr=False, compare=False)

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

    def facts(self, case: dict, index: int | None, mode: str, *, bundle: Any = None,
              earlier: Iterable[Any] = ()) -> StepFacts | None:
        """The facts of step ``index`` of ``case``: its JSON form and input header from
        ``bundle`` (None without one), and whether it is inherited (chained mode after an
        earlier step whose output differs, ``earlier`` being the case's scored steps before it)."""
        inherited = mode == "chained" and any(differs(s) for s in earlier
                                              if index is None or s.index < index)
        if bundle is None:
            return StepFacts(inherited=inherited)
        if self._facts is None or self._facts[0] is not bundle:
            self._facts = (bundle, BundleFacts(bundle))
        facts = self._facts[1]
        return StepFacts(facts.step(case["pipeline"], index), facts.header(case["input"]), inherited)

    def matching(self, kind: str, harness: str, mode: str, case: dict, index: int | None, op: str,
                 *, bundle: Any = None, earlier: Sequence[Any] = ()) -> list[Entry]:
        """Every entry of ``kind`` that matches the step, in file order (the last one wins)."""
        out, facts = [], None
        for e in self.entries:
            if e.kind != kind:
                continue
            if e.needs_facts and facts is None:
                facts = self.facts(case, index, mode, bundle=bundle, earlier=earlier)
            if e.matches(harness, mode, case, index, op, facts):
                out.append(e)
        return out

    def tolerance(self, harness: str, mode: str, case: dict, step_entry: dict, *,
                  bundle: Any = None, earlier: Sequence[Any] = ()) -> dict:
        """The tolerance for one bundle step entry: the last matching override, else the bundle's.
        ``bundle`` (the Bundle being scored) and ``earlier`` (the case's steps scored so far)
        let entries select by preset, knobs, header and inherited."""
        found = self.matching("tolerance", harness, mode, case, step_entry["index"],
                              step_entry["op"], bundle=bundle, earlier=earlier)
        if found:
            e = found[-1]
            return {"metric": "max_abs", "max_abs": e.max_abs, "reason": e.reason, "source": e.where}
        tol = dict(step_entry.get("tolerance") or {"metric": "max_abs", "max_abs": 0,
                                                   "reason": "exact by default"})
        tol["source"] = "bundle"
        return tol

    def expected_crash(self, harness: str, mode: str, case: dict, *, bundle: Any = None) -> str | None:
        """The reason of the last ``expected_crash`` entry matching this case, or None."""
        found = self.matching("expected_crash", harness, mode, case, 0, "", bundle=bundle)
        return f"{found[-1].reason} [{found[-1].where}]" if found else None

    def expected_failure(self, harness: str, mode: str, case: dict, index: int, op: str, *,
                         bundle: Any = None, earlier: Sequence[Any] = ()) -> str | None:
        """The reason of the last matching expected_failure entry, or None (``bundle`` and
        ``earlier`` as for :meth:`tolerance`)."""
        found = self.matching("expected_failure", harness, mode, case, index, op, bundle=bundle,
                              earlier=earlier)
        return f"{found[-1].reason} [{found[-1].where}]" if found else None


# --- reading a file ------------------------------------------------------------------------


def _parse(path: Path) -> list[Entry]:
    try:
        doc = tomllib.loads(path.read_text("utf-8"))
    except OSError as e:
        raise SpecError(f"cannot read: {e.strerror}", source=str(path)) from None
    except UnicodeDecodeError as e:
        raise SpecError(f"not UTF-8 text: {e.reason}", source=str(path)) from None
    except tomllib.TOMLDecodeError as e:
        raise SpecError(f"not valid TOML: {e}", source=str(path)) from None
    unknown = set(doc) - set(KINDS)
    if unknown:
        raise SpecError(f"unknown table(s) {sorted(unknown)}; expected [[tolerance]], "
                        "[[expected_failure]] or [[expected_crash]]", source=str(path))
    entries = []
    for kind, required in KINDS.items():
        raws = doc.get(kind, [])
        if not isinstance(raws, list):
            raise SpecError(f"must be an array of tables ([[{kind}]])", source=str(path), field=kind)
        for i, raw in enumerate(raws):
            where = f"{path}:{kind}[{i}]"
            if not isinstance(raw, dict):
                raise SpecError("must be a table", source=where)
            extra = set(raw) - set(SELECTORS) - {"reason", *required}
            if extra:
                hint = _closest(sorted(extra)[0], SELECTORS)
                raise SpecError(f"unknown key(s) {sorted(extra)}; selectors are {', '.join(SELECTORS)}"
                                + (f" (did you mean {hint!r}?)" if hint else ""), source=where)
            if kind == "expected_crash":
                step_level = sorted(set(raw) & set(SELECTORS) - set(CASE_SELECTORS))
                if step_level:
                    raise SpecError(f"{step_level} select a step; an expected_crash selects a case "
                                    f"({', '.join(CASE_SELECTORS)})", source=where, field=step_level[0])
            reason = raw.get("reason")
            if not isinstance(reason, str) or not reason.strip():
                raise SpecError("every entry needs a non-empty reason", source=where, field="reason")
            _check_selectors(raw, where)
            max_abs = None
            if "max_abs" in required:
                max_abs = raw.get("max_abs")
                if not (isinstance(max_abs, (int, float)) and not isinstance(max_abs, bool)
                        and math.isfinite(max_abs) and max_abs >= 0):
                    raise SpecError("must be a number >= 0", source=where, field="max_abs", value=max_abs)
            entries.append(Entry(kind, {k: raw[k] for k in SELECTORS if k in raw}, reason.strip(),
                                 max_abs, where))
    return entries


def _closest(name: str, candidates: Iterable[str]) -> str | None:
    import difflib

    found = difflib.get_close_matches(name, sorted(candidates), n=1)
    return found[0] if found else None


def _is_glob(s: str) -> bool:
    return bool(_GLOB_CHARS & set(s))


def _check_selectors(raw: dict, where: str) -> None:
    """Types of every selector, and names that must exist: knobs (of the entry's op, if it names
    one), their fixed choices, header fields and presets."""
    for key in GLOB_SELECTORS:
        v = raw.get(key)
        if v is None:
            continue
        if not (isinstance(v, str) or (isinstance(v, list) and v and all(isinstance(x, str) for x in v))):
            raise SpecError("must be a string (a glob) or a non-empty list of them", source=where,
                            field=key, value=v)
    step = raw.get("step")
    if step is not None and not (isinstance(step, int) and not isinstance(step, bool) and step >= 0):
        raise SpecError("must be a step index (integer >= 0)", source=where, field="step", value=step)
    inherited = raw.get("inherited")
    if inherited is not None and not isinstance(inherited, bool):
        raise SpecError("must be true or false", source=where, field="inherited", value=inherited)
    ops = _ops_of(raw.get("op"))
    for key in TABLE_SELECTORS:
        table = raw.get(key)
        if table is None:
            continue
        if not isinstance(table, dict) or not table:
            raise SpecError("must be a non-empty table, e.g. {name = value}", source=where,
                            field=key, value=table)
        for name, value in table.items():
            if isinstance(value, dict) or (isinstance(value, list) and not value):
                raise SpecError("must be a value or a non-empty list of values (any of)",
                                source=where, field=f"{key}.{name}", value=value)
            if key == "header" and name not in HEADER_FIELDS:
                hint = _closest(name, HEADER_FIELDS)
                raise SpecError(f"unknown header field {name!r}; known: {', '.join(HEADER_FIELDS)}"
                                + (f" (did you mean {hint!r}?)" if hint else ""),
                                source=where, field=f"header.{name}")
            if key == "knobs":
                _check_knob(name, value, ops, where)
    if raw.get("preset") is not None:
        _check_presets(_globs(raw["preset"]), ops, where)


def _ops_of(op: Any) -> list[str]:
    """The ops an entry's ``op`` selector can match (every op when it has none)."""
    from .spec import STEP_TYPES

    if op is None:
        return list(STEP_TYPES)
    return [o for o in STEP_TYPES if any(fnmatch.fnmatchcase(o, g) for g in _globs(op))]


def _check_knob(name: str, value: Any, ops: list[str], where: str) -> None:
    from dataclasses import fields

    from .spec import STEP_TYPES

    owners = {op: {f.name: f for f in fields(STEP_TYPES[op])} for op in ops}
    having = [op for op in ops if name in owners[op] and name != "preset"]
    if not having:
        known = sorted({n for fs in owners.values() for n in fs} - {"preset"})
        hint = _closest(name, known)
        raise SpecError(f"unknown knob {name!r} for op(s) {', '.join(ops) or '(none)'}"
                        + (f" (did you mean {hint!r}?)" if hint else "")
                        + "; select a preset with the preset selector" * (name == "preset"),
                        source=where, field=f"knobs.{name}")
    choices = [owners[op][name].metadata.get("choices") for op in having]
    if any(c is None for c in choices):
        return  # a free value (a size, a mean): anything may be compared
    allowed = {c for cs in choices for c in cs}
    for v in (value if isinstance(value, list) else [value]):
        if isinstance(v, str) and _is_glob(v):
            if not any(isinstance(c, str) and fnmatch.fnmatchcase(c, v) for c in allowed):
                raise SpecError(f"{v!r} matches none of {', '.join(map(repr, sorted(allowed, key=str)))}",
                                source=where, field=f"knobs.{name}", value=v)
        elif not any(_equal(v, c) for c in allowed):
            raise SpecError(f"{v!r} is not one of {', '.join(map(repr, sorted(allowed, key=str)))}",
                            source=where, field=f"knobs.{name}", value=v)


def _check_presets(globs: list[str], ops: list[str], where: str) -> None:
    from .presets import all_preset_names, preset_knobs

    names = [n for op, ns in all_preset_names().items() if op in ops for n in ns]
    for g in globs:
        if _is_glob(g):
            ok = any(fnmatch.fnmatchcase(n, g) for n in names)
        else:
            ok = False
            for op in ops:
                try:
                    preset_knobs(op, g)
                    ok = True
                except SpecError:
                    pass
        if not ok:
            hint = _closest(g, names)
            raise SpecError(f"no {'/'.join(ops)} preset matches {g!r}"
                            + (f" (did you mean {hint!r}?)" if hint else ""),
                            source=where, field="preset", value=g)
