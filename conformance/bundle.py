"""Vector bundles (format v1): writer, reader and verification.

A bundle is a directory::

    manifest.json                 pipelines, inputs, cases and every step's expected output
    inputs/<sha256>.<ext>         the encoded input files, named by content hash
    expected/<case>/<i>_<op>.npy  the reference output of step i of a case
    README.md                     provenance: how it was made (optional, listed in the manifest)

Rules (checked by :func:`verify_bundle`): every path is relative, uses '/', and stays inside the
bundle; every file is listed with its SHA-256 and verified on read; ``.npy`` files are read with
``allow_pickle=False`` and must have the dtype and shape the manifest declares; writing the same
bundle twice gives the same bytes (no timestamps, no absolute paths, sorted keys).

A case with ``"expect": "error"`` is a negative vector: a conforming decoder must reject the
input. Its ``error`` field records the reference's error type and message.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any, Iterator

import numpy as np

from . import __version__
from .errors import BundleError
from .spec import Pipeline, pipeline_from_json

FORMAT = "preprocessing-vectors"
VERSION = 1
CASE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
MEDIA_EXT = {"image/png": "png", "image/jpeg": "jpg", "application/octet-stream": "bin"}


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def npy_bytes(array: np.ndarray) -> bytes:
    """The canonical .npy encoding of ``array`` (C order, little-endian, format 1.0)."""
    array = np.ascontiguousarray(array)
    if array.dtype.byteorder == ">":
        array = array.astype(array.dtype.newbyteorder("<"))
    buf = io.BytesIO()
    np.lib.format.write_array(buf, array, version=(1, 0), allow_pickle=False)
    return buf.getvalue()


def load_npy(data: bytes, *, where: str) -> np.ndarray:
    """Read .npy bytes without pickle; a BundleError naming ``where`` if they are not a plain array."""
    try:
        return np.lib.format.read_array(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise BundleError(f"not a valid .npy array: {e}", path=where) from None


def json_bytes(doc: Any) -> bytes:
    """Deterministic JSON: sorted keys, one-space indent, ASCII, trailing newline."""
    return (json.dumps(doc, sort_keys=True, indent=1, ensure_ascii=True, allow_nan=False) + "\n").encode()


def schema() -> dict:
    """The JSON Schema of manifest.json (``conformance/schemas/bundle-v1.schema.json``)."""
    text = resources.files("conformance").joinpath("schemas/bundle-v1.schema.json").read_text("utf-8")
    return json.loads(text)


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


@dataclass
class InputFile:
    """An encoded input: its bytes and the metadata the manifest records."""

    id: str
    data: bytes
    media_type: str
    description: str = ""
    expect: str = "ok"  # "error" for negative vectors
    origin: str = ""  # how it was made (corpus recipe or user file name)
    tags: tuple[str, ...] = ()
    meta: dict = field(default_factory=dict)
    header: dict | None = None  # what the file's headers say (generate fills it from probe)

    @property
    def sha256(self) -> str:
        return sha256_bytes(self.data)

    @property
    def path(self) -> str:
        return f"inputs/{self.sha256}.{MEDIA_EXT.get(self.media_type, 'bin')}"


@dataclass
class CaseResult:
    """What the reference produced for one case: step outputs, or the error it raised."""

    id: str
    input_id: str
    pipeline: Pipeline
    expect: str
    outputs: list[np.ndarray] = field(default_factory=list)
    error: dict | None = None


class BundleWriter:
    """Accumulates inputs and case results, then writes a deterministic bundle directory."""

    def __init__(self, generator: dict | None = None):
        self.generator = {"name": "conformance", "version": __version__, "numpy": np.__version__,
                          **(generator or {})}
        self.inputs: dict[str, InputFile] = {}
        self.pipelines: dict[str, Pipeline] = {}
        self.cases: dict[str, CaseResult] = {}
        self.skipped: list[dict] = []
        self.readme: str | None = None

    def add_input(self, item: InputFile) -> None:
        if not CASE_ID.match(item.id):
            raise BundleError(f"input id {item.id!r} must match {CASE_ID.pattern}")
        if item.id in self.inputs:
            raise BundleError(f"duplicate input id {item.id!r}")
        self.inputs[item.id] = item

    def add_pipeline(self, pipeline: Pipeline) -> None:
        if pipeline.id in self.pipelines and self.pipelines[pipeline.id] != pipeline:
            raise BundleError(f"two different pipelines share the id {pipeline.id!r}")
        self.pipelines[pipeline.id] = pipeline

    def add_case(self, result: CaseResult) -> None:
        if not CASE_ID.match(result.id):
            raise BundleError(f"case id {result.id!r} must match {CASE_ID.pattern}")
        if result.id in self.cases:
            raise BundleError(f"duplicate case id {result.id!r}")  # STYLE: a duplicate name is an error
        if result.input_id not in self.inputs:
            raise BundleError(f"case {result.id!r} names unknown input {result.input_id!r}")
        self.add_pipeline(result.pipeline)
        self.cases[result.id] = result

    def skip(self, input_id: str, pipeline: Pipeline, error: dict) -> None:
        """Record a case the reference could not produce (e.g. an unsupported feature)."""
        self.add_pipeline(pipeline)
        self.skipped.append({"input": input_id, "pipeline": pipeline.id, "error": error})

    def write(self, out_dir: str | Path, *, overwrite: bool = False) -> dict:
        """Write the bundle to ``out_dir`` and return the manifest."""
        from .tolerances import step_tolerance

        out = Path(out_dir)
        if out.exists():
            if not overwrite and any(out.iterdir()):
                raise BundleError("directory exists and is not empty (use overwrite)", bundle=str(out))
            for sub in ("inputs", "expected"):
                shutil.rmtree(out / sub, ignore_errors=True)
            for stale in ("manifest.json", "README.md"):
                (out / stale).unlink(missing_ok=True)
        files: dict[str, bytes] = {}
        used_inputs = sorted({c.input_id for c in self.cases.values()}
                             | {s["input"] for s in self.skipped})
        inputs_doc = {}
        for iid in used_inputs:
            item = self.inputs[iid]
            files[item.path] = item.data
            inputs_doc[iid] = {"path": item.path, "sha256": item.sha256, "media_type": item.media_type,
                               "bytes": len(item.data), "description": item.description,
                               "expect": item.expect, "origin": item.origin, "tags": list(item.tags),
                               **({"meta": item.meta} if item.meta else {}),
                               **({"header": item.header} if item.header else {})}
        used_pipelines = {c.pipeline.id for c in self.cases.values()} | {s["pipeline"] for s in self.skipped}
        cases_doc = []
        for cid in sorted(self.cases):
            c = self.cases[cid]
            doc: dict[str, Any] = {"id": cid, "input": c.input_id, "pipeline": c.pipeline.id,
                                   "expect": c.expect}
            if c.expect == "error":
                doc["error"] = c.error
                doc["steps"] = []
            else:
                steps = []
                for index, (step, arr) in enumerate(zip(c.pipeline.steps, c.outputs)):
                    rel = f"expected/{cid}/{index}_{step.op}.npy"
                    data = npy_bytes(arr)
                    files[rel] = data
                    entry = {"index": index, "op": step.op, "output": rel, "sha256": sha256_bytes(data),
                             "dtype": arr.dtype.name, "shape": list(arr.shape),
                             "tolerance": step_tolerance(c.pipeline.tolerances, index, step.op,
                                                         arr.dtype.name)}
                    if arr.size:
                        entry["range"] = [_json_number(arr.min()), _json_number(arr.max())]
                    steps.append(entry)
                doc["steps"] = steps
            cases_doc.append(doc)
        manifest = {
            "format": FORMAT, "version": VERSION, "generator": self.generator,
            "pipelines": {pid: p.to_json() for pid, p in sorted(self.pipelines.items())
                          if pid in used_pipelines},
            "inputs": inputs_doc, "cases": cases_doc,
            "skipped": sorted(self.skipped, key=lambda s: (s["input"], s["pipeline"])),
        }
        if self.readme is not None:
            files["README.md"] = self.readme.encode()
            manifest["files"] = {"README.md": sha256_bytes(files["README.md"])}
        out.mkdir(parents=True, exist_ok=True)
        for rel, data in sorted(files.items()):
            path = out / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        (out / "manifest.json").write_bytes(json_bytes(manifest))
        return manifest


def _json_number(v: Any) -> float | int:
    v = v.item()
    if isinstance(v, float) and v == int(v) and abs(v) < 2**53:
        return float(v)
    return v


# ---------------------------------------------------------------------------------------------
# Reading and verification
# ---------------------------------------------------------------------------------------------


def safe_relpath(root: Path, rel: Any, *, bundle: str) -> Path:
    """Resolve a manifest path; BundleError if it is absolute, uses '..', or leaves the bundle."""
    if not isinstance(rel, str) or not rel:
        raise BundleError(f"path {rel!r} is not a non-empty string", bundle=bundle)
    p = PurePosixPath(rel)
    if p.is_absolute() or "\\" in rel or any(part in ("..", "") for part in rel.split("/")) or ":" in rel:
        raise BundleError("path must be relative, '/'-separated and stay inside the bundle",
                          bundle=bundle, path=rel)
    full = (root / Path(*p.parts))
    try:
        full.resolve().relative_to(root.resolve())
    except ValueError:
        raise BundleError("path leaves the bundle (through a link)", bundle=bundle, path=rel) from None
    return full


class Bundle:
    """A bundle opened for reading. Every file read is checked against its manifest hash."""

    def __init__(self, root: str | Path, *, validate_schema: bool = True):
        """Open ``root``; ``validate_schema=False`` skips the JSON Schema check (about a second
        on a large manifest) for a process that opens a bundle its parent already checked."""
        self.root = Path(root)
        self.name = str(root)
        path = self.root / "manifest.json"
        try:
            raw = path.read_bytes()
        except OSError as e:
            raise BundleError(f"cannot read manifest.json: {e.strerror}", bundle=self.name) from None
        try:
            self.manifest = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise BundleError(f"manifest.json is not valid JSON: {e}", bundle=self.name) from None
        if not isinstance(self.manifest, dict) or self.manifest.get("format") != FORMAT:
            raise BundleError(f"not a {FORMAT} manifest", bundle=self.name)
        if self.manifest.get("version") != VERSION:
            raise BundleError(f"format version {self.manifest.get('version')!r} is not supported "
                              f"(this reader knows version {VERSION})", bundle=self.name)
        if validate_schema:
            self._validate_schema()

    def _validate_schema(self) -> None:
        import jsonschema

        try:
            jsonschema.validate(self.manifest, schema())
        except jsonschema.ValidationError as e:
            where = "/".join(str(p) for p in e.absolute_path) or "(root)"
            raise BundleError(f"manifest does not match the v1 schema at {where}: {e.message}",
                              bundle=self.name) from None

    @cached_property
    def pipelines(self) -> dict[str, Pipeline]:
        out = {}
        for pid, raw in self.manifest["pipelines"].items():
            try:
                out[pid] = pipeline_from_json(raw)
            except Exception as e:  # a foreign bundle's bad pipeline: say which
                raise BundleError(f"pipeline {pid!r} is invalid: {e}", bundle=self.name) from None
        return out

    @property
    def cases(self) -> list[dict]:
        return self.manifest["cases"]

    def case(self, case_id: str) -> dict:
        for c in self.cases:
            if c["id"] == case_id:
                return c
        raise BundleError(f"no case {case_id!r}", bundle=self.name)

    def read_listed(self, rel: str, sha: str) -> bytes:
        """The bytes of bundle file ``rel``, checked against ``sha`` (the manifest's SHA-256)."""
        path = safe_relpath(self.root, rel, bundle=self.name)
        try:
            data = path.read_bytes()
        except OSError as e:
            raise BundleError(f"cannot read: {e.strerror}", bundle=self.name, path=rel) from None
        if sha256_bytes(data) != sha:
            raise BundleError("SHA-256 does not match the manifest", bundle=self.name, path=rel)
        return data

    def input_bytes(self, input_id: str) -> bytes:
        meta = self.manifest["inputs"].get(input_id)
        if meta is None:
            raise BundleError(f"no input {input_id!r}", bundle=self.name)
        return self.read_listed(meta["path"], meta["sha256"])

    def expected(self, step_entry: dict) -> np.ndarray:
        """The expected output of one manifest step entry, checked for dtype and shape."""
        rel = step_entry["output"]
        arr = load_npy(self.read_listed(rel, step_entry["sha256"]), where=f"{self.name}/{rel}")
        if arr.dtype.name != step_entry["dtype"] or list(arr.shape) != step_entry["shape"]:
            raise BundleError(f"holds {arr.dtype.name}{list(arr.shape)}, the manifest declares "
                              f"{step_entry['dtype']}{step_entry['shape']}", bundle=self.name, path=rel)
        return arr

    def listed_files(self) -> dict[str, str]:
        """Every file the manifest lists, relative path -> SHA-256."""
        files = {m["path"]: m["sha256"] for m in self.manifest["inputs"].values()}
        for c in self.cases:
            for s in c["steps"]:
                files[s["output"]] = s["sha256"]
        files.update(self.manifest.get("files", {}))
        return files


@dataclass
class VerifyReport:
    """What :func:`verify_bundle` found: problems (errors) and notes (warnings)."""

    bundle: str
    files_checked: int = 0
    cases: int = 0
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_bundle(root: str | Path, progress: Iterator | None = None) -> VerifyReport:
    """Check a bundle completely: schema, references between sections, every path, hash, dtype and
    shape; negative cases carry an error. Problems are collected, not raised one at a time."""
    report = VerifyReport(bundle=str(root))
    try:
        bundle = Bundle(root)
    except BundleError as e:
        report.problems.append(str(e))
        return report
    m = bundle.manifest
    try:
        bundle.pipelines
    except BundleError as e:
        report.problems.append(str(e))
    seen_ids = set()
    for c in bundle.cases:
        report.cases += 1
        cid = c["id"]
        if cid in seen_ids:
            report.problems.append(f"duplicate case id {cid!r}")
        seen_ids.add(cid)
        if c["input"] not in m["inputs"]:
            report.problems.append(f"case {cid}: unknown input {c['input']!r}")
        if c["pipeline"] not in m["pipelines"]:
            report.problems.append(f"case {cid}: unknown pipeline {c['pipeline']!r}")
            continue
        nsteps = len(m["pipelines"][c["pipeline"]]["steps"])
        if c["expect"] == "ok" and len(c["steps"]) != nsteps:
            report.problems.append(f"case {cid}: {len(c['steps'])} expected outputs for {nsteps} steps")
        if c["expect"] == "error" and not c.get("error"):
            report.problems.append(f"case {cid}: negative case without an error record")
        for s in c["steps"]:
            try:
                bundle.expected(s)
                report.files_checked += 1
            except BundleError as e:
                report.problems.append(str(e))
        if progress is not None:
            next(progress, None)
    for iid, meta in m["inputs"].items():
        try:
            bundle.input_bytes(iid)
            report.files_checked += 1
        except BundleError as e:
            report.problems.append(str(e))
    for rel, sha in m.get("files", {}).items():
        try:
            bundle.read_listed(rel, sha)
            report.files_checked += 1
        except BundleError as e:
            report.problems.append(str(e))
    listed = set(bundle.listed_files()) | {"manifest.json"}
    for dirpath, _, names in os.walk(bundle.root):
        for n in names:
            rel = Path(dirpath, n).relative_to(bundle.root).as_posix()
            if rel not in listed:
                report.warnings.append(f"file not listed in the manifest: {rel}")
    return report
