"""Exports of a bundle's expected outputs as test data other runtimes replay by themselves.

Two formats (docs/exports.md), both built from the same plan (:func:`plan_export`):

- ``onnx-test-data`` (:mod:`.onnx_test_data`): the ONNX backend-test layout that ONNX Runtime's
  ``onnx_test_runner`` replays: ``model.onnx`` + ``test_data_set_N/{input_0,output_0}.pb``.
- ``tract-npz`` (:mod:`.tract_npz`): ``model.onnx`` + ``io.npz`` for ``tract model.onnx run
  --input-from-bundle io.npz --assert-output-bundle io.npz``.

What is exported: every non-decode step of every ``expect: ok`` case whose step the graphs of
:mod:`conformance.harnesses.onnx_graphs` express, in *isolated* mode (the runner's): the input
of step k is the bundle's expected output of step k − 1, the output is its expected output of
step k. One folder per distinct graph: a graph's shapes are concrete, so the cases of one
pipeline step that reach it with the same input shape and dtype share the model bytes and the
folder ``<pipeline>.<index>_<op>.<H>x<W>x<C>.<dtype>``; each case is one test data set. A step
the graphs cannot express (decode; an intent no ONNX op has; an input the step rejects) is
skipped and listed with the reason in the output's ``export.json`` and ``README.md``.

The plan is made from the manifest alone (shapes and dtypes are declared there); arrays are
read one folder at a time when written, each checked against its SHA-256 by
:meth:`conformance.bundle.Bundle.expected`.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from ..bundle import Bundle, json_bytes
from ..errors import ConformanceError
from ..safeio import UnsafeData, atomic_write_bytes, check_name, confined

FORMATS = ("onnx-test-data", "tract-npz")
#: Top-level files the export writes beside its folders.
MANIFEST_NAME = "export.json"
README_NAME = "README.md"


class ExportError(ConformanceError):
    """An export cannot be written (its --out, or a name from the bundle that is not safe)."""


@dataclass
class Group:
    """One folder: a pipeline step on one input shape/dtype, and the cases that reach it."""

    folder: str
    pipeline: str
    index: int
    op: str
    step: dict[str, Any]
    model: bytes  # serialized onnx.ModelProto (onnx_graphs.build_step_graph)
    input_shape: tuple[int, ...]
    input_dtype: str
    cases: list[tuple[str, dict, dict]] = field(default_factory=list)  # (case id, in entry, out entry)

    def tolerance(self) -> dict[str, Any]:
        """The largest ``max_abs`` the cases' manifest entries allow (they share op and dtype,
        so normally one value) with its reason."""
        tols = [out["tolerance"] for _, _, out in self.cases]
        worst = max(tols, key=lambda t: float(t.get("max_abs", 0)))
        return {"metric": worst.get("metric", "max_abs"), "max_abs": worst.get("max_abs", 0),
                "reason": worst.get("reason", "")}


@dataclass
class Plan:
    groups: list[Group]
    skipped: list[dict[str, Any]]  # {"pipeline", "index", "op", "cases", "reason"}


def _matches(value: str, patterns: tuple[str, ...]) -> bool:
    return not patterns or any(fnmatch.fnmatchcase(value, p) for p in patterns)


def plan_export(bundle: Bundle, *, pipelines: tuple[str, ...] = (),
                cases: tuple[str, ...] = ()) -> Plan:
    """Group the bundle's (case, step) pairs into graphs; see the module docstring.
    ``pipelines``/``cases``: shell-style globs (any matches) on the ids; empty = all."""
    from ..harnesses.base import Unsupported
    from ..harnesses.onnx_graphs import build_step_graph, check_step

    groups: dict[str, Group] = {}
    skipped: dict[tuple[str, int, str], dict[str, Any]] = {}
    pipes = bundle.manifest["pipelines"]

    def skip(pid: str, index: int, op: str, cid: str, reason: str) -> None:
        entry = skipped.setdefault((pid, index, reason),
                                   {"pipeline": pid, "index": index, "op": op, "reason": reason,
                                    "cases": []})
        entry["cases"].append(cid)

    for case in bundle.cases:
        cid, pid = case["id"], case["pipeline"]
        if case.get("expect") != "ok" or not _matches(pid, pipelines) or not _matches(cid, cases):
            continue
        steps = pipes[pid]["steps"]
        for index, (step, out_entry) in enumerate(zip(steps, case["steps"])):
            op = step["op"]
            reason = check_step(step)
            if reason is None and index == 0:
                reason = "first step of its pipeline: the bundle holds no array input for it"
            if reason is not None:
                skip(pid, index, op, cid, reason)
                continue
            in_entry = case["steps"][index - 1]
            shape, dtype = tuple(int(s) for s in in_entry["shape"]), in_entry["dtype"]
            folder = f"{pid}.{index}_{op}.{'x'.join(str(s) for s in shape)}.{dtype}"
            group = groups.get(folder)
            if group is None:
                try:
                    model = build_step_graph(step, shape, np.dtype(dtype)).SerializeToString()
                except (Unsupported, ValueError) as e:
                    skip(pid, index, op, cid, f"no graph for input {dtype}{list(shape)}: {e}")
                    continue
                try:
                    check_name(folder, "export folder")
                except UnsafeData as e:
                    raise ExportError(f"{bundle.name}: pipeline {pid!r}: {e}") from None
                group = groups[folder] = Group(folder, pid, index, op, step, model, shape, dtype)
            group.cases.append((cid, in_entry, out_entry))
    ordered_skips = sorted(skipped.values(), key=lambda s: (s["pipeline"], s["index"], s["reason"]))
    return Plan([groups[k] for k in sorted(groups)], ordered_skips)


def prepare_out(out: Path, *, force: bool) -> None:
    """Create ``out``; ExportError if it exists and is not an empty directory (``force``: write
    into it anyway, replacing files of the same names; nothing else is deleted)."""
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out}: exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise ExportError(f"{out}: directory exists and is not empty (--force writes into it)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ExportError(f"{out}: cannot create: {e.strerror}") from None


def folder_path(out: Path, *parts: str) -> Path:
    """``out/parts...`` with every part a safe name and the result inside ``out``."""
    try:
        for p in parts:
            check_name(p, "export path component")
        return confined(out, Path(*parts))
    except UnsafeData as e:
        raise ExportError(str(e)) from None


def write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, data)


def group_manifest(group: Group, fmt: str, files: dict[str, Any]) -> dict[str, Any]:
    """The ``export.json`` of one folder: where it came from, the tolerance, the data sets."""
    from ..harnesses.onnx_graphs import INPUT, OPSET, OUTPUT

    return {"format": fmt, "pipeline": group.pipeline, "step_index": group.index, "op": group.op,
            "step": group.step, "opset": OPSET, "input_name": INPUT, "output_name": OUTPUT,
            "input": {"dtype": group.input_dtype, "shape": list(group.input_shape)},
            "tolerance": group.tolerance(), "cases": files}


def write_summary(out: Path, fmt: str, bundle: Bundle, plan: Plan, replay: str) -> None:
    """Top-level ``export.json`` (folders, skipped steps with reasons) and ``README.md``."""
    doc = {"format": fmt, "bundle_manifest_sha256": bundle.manifest_sha256,
           "folders": [{"folder": g.folder, "pipeline": g.pipeline, "step_index": g.index,
                        "op": g.op, "cases": len(g.cases), "tolerance": g.tolerance()}
                       for g in plan.groups],
           "skipped": plan.skipped}
    write_file(out / MANIFEST_NAME, json_bytes(doc))
    lines = [f"# Exported test data ({fmt})", "",
             f"From a bundle (manifest SHA-256 `{bundle.manifest_sha256}`), isolated mode: each "
             "input is the bundle's expected output of the previous step.", "",
             "Replay:", "", "```", replay, "```", "",
             "Compare with each folder's `export.json` `tolerance.max_abs` (largest absolute "
             "difference of any element), not a runtime's default tolerance.", "",
             f"## Folders ({len(plan.groups)})", ""]
    lines += [f"- `{g.folder}`: {len(g.cases)} case(s), max_abs {g.tolerance()['max_abs']}"
              for g in plan.groups]
    lines += ["", f"## Skipped steps ({len(plan.skipped)})", ""]
    lines += [f"- `{s['pipeline']}` step {s['index']} ({s['op']}), {len(s['cases'])} case(s): "
              f"{s['reason']}" for s in plan.skipped]
    write_file(out / README_NAME, ("\n".join(lines) + "\n").encode())


def iter_cases(bundle: Bundle, group: Group) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """(case id, input array, expected output array) of each case of ``group``, read and
    checked one at a time."""
    for cid, in_entry, out_entry in group.cases:
        yield cid, bundle.expected(in_entry), bundle.expected(out_entry)


def run_export(bundle: Bundle, out: Path, fmt: str, *, force: bool = False,
               pipelines: tuple[str, ...] = (), cases: tuple[str, ...] = (),
               progress: Callable[[Group], None] | None = None) -> Plan:
    """Write the ``fmt`` export of ``bundle`` into ``out``; the plan written."""
    from . import onnx_test_data, tract_npz

    writers = {"onnx-test-data": onnx_test_data, "tract-npz": tract_npz}
    if fmt not in writers:
        raise ExportError(f"unknown export format {fmt!r} (known: {', '.join(FORMATS)})")
    plan = plan_export(bundle, pipelines=pipelines, cases=cases)
    prepare_out(out, force=force)
    writer = writers[fmt]
    for group in plan.groups:
        writer.write_group(bundle, out, group)
        if progress is not None:
            progress(group)
    write_summary(out, fmt, bundle, plan, writer.REPLAY)
    return plan


__all__ = ["FORMATS", "ExportError", "Group", "Plan", "plan_export", "run_export"]
