"""``check --model``: what each harness's differences do to a real model's predictions, over the
whole image set, on the check's own streamed route.

The question is ``conformance impact RESULTS --model M``'s, asked per image as the batch runs:
the model (ONNX Runtime, one intra-op thread: deterministic) predicts on the reference's final
tensor of each case and on each harness's *chained* final tensor (what a deployment with that
library feeds the model). Each (image, pipeline, harness) is one row of ``OUT/impact.parquet``
(:data:`.table.IMPACT_SCHEMA`) holding the per-image numbers of
:func:`conformance.models.metrics.image_row`; :func:`summarize_impact` computes the metrics of
``impact`` (top-1 agreement, flips, |Δp|, KL, detector recall and precision, ...) from the table
with :func:`conformance.models.metrics.summarize`, so the two commands report the same numbers on
the same images (tests/test_check_impact.py).

A case the model cannot judge (the harness gave no final tensor, or a tensor does not fit the
model's input) is a ``not compared`` row with the reason; the rest go on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConformanceError
from ..models import metrics
from ..models.builtin import ModelSpec
from .table import IMPACT_COLUMNS, append_row

MAX_LISTED = 20  # flipped / changed images listed per comparison in the summary (counts are exact)


@dataclass(frozen=True)
class ModelJob:
    """The model every batch of a ``check --model`` runs (sent to each worker once)."""

    spec: ModelSpec
    top_k: int = 5


_MODELS: dict[str, Any] = {}  # loaded once per worker process, by repr(spec)


def loaded_model(spec: ModelSpec):
    """The model of ``spec``, loaded once per process (a Dask worker keeps it between batches)."""
    from ..models.impact import Model

    key = repr(spec)
    if key not in _MODELS:
        _MODELS[key] = Model(spec)
    return _MODELS[key]


def load_model(job: ModelJob) -> dict:
    """The model loaded in this process (a one-line ModelError if it cannot be), and its identity
    for ``check.json``: the spec, and the SHA-256 of the file (a resume with another is refused)."""
    from ..safeio import sha256_file

    model = loaded_model(job.spec)
    return {**job.spec.to_json(), "file_sha256": sha256_file(model.path), "top_k": job.top_k}


def batch_impact(job: ModelJob, bundle, paths: dict[str, str], harnesses: list[str],
                 finals: dict[tuple[str, str], np.ndarray | str], columns: dict[str, list]) -> None:
    """Append the impact rows of one batch to ``columns``: for every case of ``bundle`` that
    ends without an expected error, the reference's final tensor against each harness's chained
    final tensor (``finals[(harness, case id)]``: the array, or why there is none)."""
    model = loaded_model(job.spec)
    spec = model.spec
    for case in bundle.cases:
        if case.get("expect") != "ok" or not case.get("steps"):
            continue
        base = {"input": case["input"], "path": paths[case["input"]], "pipeline": case["pipeline"]}
        pa, why = _predict(model, bundle.expected(case["steps"][-1]), f"pipeline {case['pipeline']} (reference)")
        k = metrics.top_k_of(pa.probs.size, job.top_k) if pa is not None and spec.kind == "classifier" else 1
        for harness in harnesses:
            got = finals.get((harness, case["id"]), "no record")
            pb = None
            if pa is not None:
                if isinstance(got, str):
                    why = f"{harness}: {got}"
                else:
                    pb, why = _predict(model, got, f"harness {harness}, pipeline {case['pipeline']}")
            if pb is None:
                append_row(columns, {**base, "harness": harness, "status": "not compared", "reason": why[:300]},
                           IMPACT_COLUMNS)
                continue
            row = metrics.image_row(spec.kind, case["input"], pa, pb, k)
            row.pop("image")
            if spec.kind == "classifier":
                row["top_k"] = k
                row["label_a"], row["label_b"] = (metrics.label_of(spec.labels, row["top1_a"]),
                                                  metrics.label_of(spec.labels, row["top1_b"]))
            append_row(columns, {**base, "harness": harness, "status": "compared", "reason": "", **row},
                       IMPACT_COLUMNS)


def _predict(model, x: np.ndarray, where: str) -> tuple[metrics.Prediction | None, str]:
    try:
        model.fits(x, where)
        return model.predict(x), ""
    except ConformanceError as e:
        return None, str(e)
    except Exception as e:  # noqa: BLE001 - the runtime's own failure on one tensor: a row, not a crash
        return None, f"{where}: the model failed: {type(e).__name__}: {str(e)[:200]}"


def summarize_impact(out: Path, model: dict) -> dict | None:
    """``impact``'s metrics per (pipeline, harness) from ``OUT/impact.parquet``; None when the
    check ran no model. ``model``: the identity recorded in ``check.json``."""
    from .table import IMPACT, read

    if not (Path(out) / IMPACT).is_dir():
        return None
    kind = model["kind"]
    labels = tuple(model.get("labels") or ())
    keep = {"classifier": ["top_k", "top1_a", "top1_b", "p_a", "p_b", "p_b_of_a", "dp", "kl", "cosine", "topk_overlap"],
            "dbnet": ["boxes_a", "boxes_b", "matched", "ious", "identical"],
            "embedding": ["cosine", "identical"]}[kind]
    t = read(out, IMPACT, ["path", "pipeline", "harness", "status", "reason", "changed", "output_diff", *keep])
    groups: dict[tuple[str, str], list[int]] = {}
    for i, key in enumerate(zip(t.column("pipeline").to_pylist(), t.column("harness").to_pylist())):
        groups.setdefault(key, []).append(i)
    comparisons = []
    for (pipeline, harness), idx in sorted(groups.items()):
        sub = t.take(idx).to_pylist()
        rows = [{**r, "image": r["path"]} for r in sub if r["status"] == "compared"]
        skipped = [r for r in sub if r["status"] != "compared"]
        k = rows[0].get("top_k") or 1 if rows else 1  # the worker knew the number of classes
        m = metrics.summarize(kind, rows, labels, k, max_listed=MAX_LISTED) if rows else {"images": 0}
        entry = {"pipeline": pipeline, "harness": harness, "metrics": m, "not_compared": len(skipped)}
        if skipped:
            entry["first_reason"] = skipped[0]["reason"]
            entry["first_not_compared"] = skipped[0]["path"]
        comparisons.append(entry)
    return {"model": model, "comparisons": comparisons}

