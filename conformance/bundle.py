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
import math
import os
import re
import shutil
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Iterator

import numpy as np

from . import __version__
from .errors import BundleError
from .safeio import UnsafeData, open_regular, read_limited, replace_dir, temp_sibling_dir
from .spec import Pipeline, pipeline_from_json

FORMAT = "preprocessing-vectors"
VERSION = 1
CASE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
NPY = "application/x-npy"  # a tensor input (the way back): read by the ``tensor`` op
MEDIA_EXT = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", NPY: "npy", "application/octet-stream": "bin"}


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def npy_array(array: np.ndarray) -> np.ndarray:
    """``array`` as its canonical .npy encoding holds it (C order, little-endian): what a reader
    of :func:`npy_bytes` gets back. ValueError for what .npy cannot hold without pickle."""
    array = np.ascontiguousarray(array)
    if array.dtype.hasobject:
        raise ValueError("Object arrays cannot be saved when allow_pickle=False")
    if array.dtype.byteorder == ">":
        array = array.astype(array.dtype.newbyteorder("<"))
    return array


def npy_bytes(array: np.ndarray) -> bytes:
    """The canonical .npy encoding of ``array`` (C order, little-endian, format 1.0)."""
    array = npy_array(array)
    buf = io.BytesIO()
    np.lib.format.write_array(buf, array, version=(1, 0), allow_pickle=False)
    return buf.getvalue()


#: The largest .npy array read (data bytes): a 12 MP float64 RGB image is about 290 MB.
NPY_LIMIT = 1 << 30
#: The largest manifest.json read: 2.3 MB for the default bundle's 1,700 cases.
MANIFEST_LIMIT = 256 << 20
#: The largest other file a bundle lists (encoded inputs, README).
FILE_LIMIT = 512 << 20


@dataclass(frozen=True)
class NpyHeader:
    """What a .npy header declares, checked against the bytes that follow it."""

    shape: tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool
    offset: int  # where the data starts

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


def npy_header(f: Any, size: int, *, where: str, limit: int = NPY_LIMIT) -> NpyHeader:
    """Parse the header of the .npy file open as ``f`` (``size`` bytes in all) without reading
    its data: BundleError naming ``where`` unless it is a plain array (no object dtype, so no
    pickle) whose declared data length is exactly what the file holds and at most ``limit``.
    So a header claiming 10^12 elements costs nothing, where numpy would allocate them first."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(f)
        read = {(1, 0): fmt.read_array_header_1_0, (2, 0): fmt.read_array_header_2_0}.get(version)
        if read is None:
            raise ValueError(f"format version {version} (1.0 and 2.0 are read)")
        shape, fortran_order, dtype = read(f)
    except Exception as e:  # noqa: BLE001 - numpy's header parser raises ValueError, SyntaxError,
        # tokenize.TokenError (an unclosed bracket, found by fuzzing)...: all mean the same here
        raise BundleError(f"not a valid .npy array: {type(e).__name__}: {e}", path=where) from None
    if dtype.hasobject or dtype.itemsize == 0 or dtype.names is not None:
        raise BundleError(f"not a valid .npy array: dtype {dtype} is not a plain numeric type",
                          path=where)
    h = NpyHeader(tuple(int(n) for n in shape), dtype, bool(fortran_order), f.tell())
    if h.nbytes > limit:
        raise BundleError(f"the .npy header declares {h.dtype.name}{list(h.shape)}: {h.nbytes:,} "
                          f"bytes, over the limit of {limit:,}", path=where)
    if size - h.offset != h.nbytes:
        raise BundleError(f"the .npy header declares {h.dtype.name}{list(h.shape)} "
                          f"({h.nbytes:,} data bytes) but the file holds {size - h.offset:,}",
                          path=where)
    return h


def load_npy(data: bytes, *, where: str, limit: int = NPY_LIMIT) -> np.ndarray:
    """Read .npy bytes without pickle; a BundleError naming ``where`` if they are not a plain
    array whose header matches its length (checked before numpy allocates anything)."""
    buf = io.BytesIO(data)
    npy_header(buf, len(data), where=where, limit=limit)
    buf.seek(0)
    try:
        return np.lib.format.read_array(buf, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise BundleError(f"not a valid .npy array: {e}", path=where) from None


class HeaderMismatch(BundleError):
    """A .npy header declares another dtype or shape than asked (``header``: what it declares);
    raised before any data is read."""

    def __init__(self, message: str, *, path: str, header: NpyHeader):
        super().__init__(message, path=path)
        self.header = header


def read_npy(path: Path, *, where: str, sha256: str | None = None, dtype: str | None = None,
             shape: list[int] | None = None, limit: int = NPY_LIMIT) -> np.ndarray:
    """The array in regular file ``path``, read only after its header is checked: against its
    own length and ``limit``, and against the ``dtype``/``shape`` a manifest declares (when
    given); then against ``sha256`` (when given). BundleError naming ``where`` otherwise."""
    try:
        fd, st = open_regular(path)
    except (OSError, UnsafeData) as e:
        raise BundleError(f"cannot read: {getattr(e, 'strerror', None) or e}", path=where) from None
    with os.fdopen(fd, "rb") as f:
        h = npy_header(f, st.st_size, where=where, limit=limit)
        if (dtype is not None and h.dtype.name != dtype) or (shape is not None and list(h.shape) != list(shape)):
            raise HeaderMismatch(f"holds {h.dtype.name}{list(h.shape)}, the manifest declares "
                                 f"{dtype}{shape}", path=where, header=h)
        f.seek(0)
        data = f.read(h.offset + h.nbytes + 1)
    if len(data) != h.offset + h.nbytes:
        raise BundleError("the file changed while it was read", path=where)
    if sha256 is not None and sha256_bytes(data) != sha256:
        raise BundleError("SHA-256 does not match the manifest", path=where)
    return load_npy(data, where=where, limit=limit)


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
        """Write the bundle to ``out_dir`` and return the manifest.

        Atomic: the whole bundle is built in a temporary sibling directory and swapped in only
        when complete, so a failure at any point (a value JSON cannot hold, a full disk, Ctrl-C)
        leaves an existing ``out_dir`` byte for byte as it was. ``overwrite`` replaces an
        existing *bundle*; a non-empty directory that is not a bundle is never overwritten, and
        files a user put beside the bundle's own (anything but manifest.json, README.md,
        inputs/, expected/) are kept."""
        out = Path(out_dir)
        check_output_dir(out, overwrite=overwrite)
        files: dict[str, bytes] = {}
        used_inputs = sorted({c.input_id for c in self.cases.values()}
                             | {s["input"] for s in self.skipped})
        inputs_doc = {}
        for iid in used_inputs:
            item = self.inputs[iid]
            files[item.path] = item.data
            inputs_doc[iid] = input_document(item)
        used_pipelines = {c.pipeline.id for c in self.cases.values()} | {s["pipeline"] for s in self.skipped}
        cases_doc = []
        def store(rel: str, arr: np.ndarray) -> dict:
            files[rel] = data = npy_bytes(arr)
            return {"sha256": sha256_bytes(data)}

        for cid in sorted(self.cases):
            cases_doc.append(case_document(self.cases[cid], store))
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
        try:
            manifest_bytes = json_bytes(manifest)  # before anything touches the disk
        except (ValueError, OverflowError) as e:
            raise BundleError(f"the manifest cannot be written as JSON: {e}", bundle=str(out)) from None
        tmp = temp_sibling_dir(out, "new")
        try:
            for rel, data in sorted(files.items()):
                path = tmp / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
            (tmp / "manifest.json").write_bytes(manifest_bytes)
            check_output_dir(out, overwrite=overwrite)  # nothing appeared there meanwhile
            replace_dir(tmp, out, owned=BUNDLE_ENTRIES)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return manifest


def input_document(item: InputFile) -> dict[str, Any]:
    """The manifest entry of one input."""
    return {"path": item.path, "sha256": item.sha256, "media_type": item.media_type,
            "bytes": len(item.data), "description": item.description,
            "expect": item.expect, "origin": item.origin, "tags": list(item.tags),
            **({"meta": item.meta} if item.meta else {}),
            **({"header": item.header} if item.header else {})}


def case_document(c: CaseResult, store: Callable[[str, np.ndarray], dict]) -> dict[str, Any]:
    """The manifest entry of one case; ``store(rel, array)`` keeps an expected output under its
    bundle path and returns what the step entry adds (a file's ``sha256``)."""
    from .tolerances import step_tolerance

    doc: dict[str, Any] = {"id": c.id, "input": c.input_id, "pipeline": c.pipeline.id, "expect": c.expect}
    if c.expect == "error":
        doc["error"] = c.error
        doc["steps"] = []
        return doc
    steps = []
    for index, (step, arr) in enumerate(zip(c.pipeline.steps, c.outputs)):
        rel = f"expected/{c.id}/{index}_{step.op}.npy"
        entry = {"index": index, "op": step.op, "output": rel, **store(rel, arr),
                 "dtype": arr.dtype.name, "shape": list(arr.shape),
                 "tolerance": step_tolerance(c.pipeline.tolerances, index, step.op, arr.dtype.name)}
        bounds = [_json_number(arr.min()), _json_number(arr.max())] if arr.size else [None]
        if None not in bounds:
            entry["range"] = bounds
        steps.append(entry)
    doc["steps"] = steps
    return doc


BUNDLE_ENTRIES = frozenset({"manifest.json", "README.md", "inputs", "expected"})


def check_output_dir(out: Path, *, overwrite: bool) -> None:
    """BundleError unless ``out`` may receive a bundle: absent, empty, or (with ``overwrite``) a
    bundle already. A non-empty directory without a manifest.json is never overwritten: it may
    be anything of the user's."""
    out = Path(out)
    if not out.exists():
        return
    if not out.is_dir():
        raise BundleError("exists and is not a directory", bundle=str(out))
    if not any(out.iterdir()):
        return
    if not overwrite:
        raise BundleError("directory exists and is not empty (--force replaces a bundle)", bundle=str(out))
    if not (out / "manifest.json").is_file():
        raise BundleError("directory is not empty and holds no manifest.json: not a bundle, so "
                          "--force will not replace it; choose another --out", bundle=str(out))


def _json_number(v: Any) -> float | int | None:
    """A JSON number for a range bound; None for inf/NaN (a range JSON cannot hold)."""
    v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
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
            raw = read_limited(path, MANIFEST_LIMIT)
        except OSError as e:
            raise BundleError(f"cannot read manifest.json: {e.strerror}", bundle=self.name) from None
        except UnsafeData as e:
            raise BundleError(f"cannot read manifest.json: {e}", bundle=self.name) from None
        self.manifest_sha256 = sha256_bytes(raw)  # the bytes parsed, so a run records what it read
        try:
            self.manifest = json.loads(raw)
        except ValueError as e:  # JSONDecodeError, UnicodeDecodeError, an integer of > 4300 digits
            raise BundleError(f"manifest.json is not valid JSON: {str(e)[:300]}", bundle=self.name) from None
        except RecursionError:
            raise BundleError("manifest.json is not valid JSON: nested too deeply",
                              bundle=self.name) from None
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
            raise BundleError(f"manifest.json does not match the v1 schema at {where}: {e.message}",
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
            data = read_limited(path, FILE_LIMIT)
        except OSError as e:
            raise BundleError(f"cannot read: {e.strerror}", bundle=self.name, path=rel) from None
        except UnsafeData as e:
            raise BundleError(f"cannot read: {e}", bundle=self.name, path=rel) from None
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
        return read_npy(safe_relpath(self.root, rel, bundle=self.name), where=f"{self.name}/{rel}",
                        sha256=step_entry["sha256"], dtype=step_entry["dtype"],
                        shape=step_entry["shape"])

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
