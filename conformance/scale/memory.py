"""The reference's outputs of a batch of inputs as an in-memory bundle.

:class:`MemoryBundle` has what the harness runner and the scorer read from a
:class:`conformance.bundle.Bundle` (``manifest`` with ``pipelines``, ``inputs`` and ``cases``;
``input_bytes``; ``expected``), built with the same code as a bundle written to disk
(:func:`conformance.bundle.case_document`, :func:`conformance.generate.classify`), so a step's
tolerance, its expectations and its verdict are the ones a bundle of the same images would give.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..bundle import InputFile, case_document, input_document
from ..generate import case_id, classify, input_header, reads, run_reference_case
from ..spec import Pipeline


@dataclass
class MemoryBundle:
    manifest: dict[str, Any]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    data: dict[str, bytes] = field(default_factory=dict)
    name: str = "<memory>"

    @property
    def cases(self) -> list[dict]:
        return self.manifest["cases"]

    def input_bytes(self, input_id: str) -> bytes:
        return self.data[input_id]

    def expected(self, step_entry: dict) -> np.ndarray:
        return self.arrays[step_entry["output"]]


@dataclass
class ReferenceBatch:
    """What the reference made of a batch: the bundle, cases it could not produce (``skipped``:
    {input, pipeline, type, message}) and corpus or reference bugs (``problems``)."""

    bundle: MemoryBundle
    skipped: list[dict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def reference_batch(items: list[InputFile], pipelines: list[Pipeline]) -> ReferenceBatch:
    """Every pipeline that reads an input (:func:`conformance.generate.reads`) on every input of
    ``items`` through the reference, kept in memory."""
    bundle = MemoryBundle({"pipelines": {p.id: p.to_json() for p in pipelines}, "inputs": {}, "cases": []})
    out = ReferenceBatch(bundle)

    def store(rel: str, arr: np.ndarray) -> dict:
        bundle.arrays[rel] = arr
        return {}

    for item in items:
        item.header = input_header(item.data, item.origin or item.id)
        bundle.manifest["inputs"][item.id] = input_document(item)
        bundle.data[item.id] = item.data
        for p in pipelines:
            if not reads(p, item):
                continue
            outcome = run_reference_case((case_id(p.id, item.id), p, item.data, item.origin or item.id))
            kind, what = classify(outcome, p, item)
            if kind == "problem":
                out.problems.append(what)
            elif kind == "skip":
                out.skipped.append({"input": item.id, "pipeline": p.id, **what})
            else:
                bundle.manifest["cases"].append(case_document(what, store))
    return out


