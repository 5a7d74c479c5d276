"""Run one case of a bundle through one in-process harness, in one mode.

- ``isolated``: step k receives the *reference* output of step k-1 (read from the bundle), so
  each step is judged on its own and a failure points at the step that caused it. A step that is
  unsupported or fails does not stop the later ones.
- ``chained``: the harness runs the whole pipeline on its own outputs, showing how errors
  accumulate to the final tensor. After a step that is unsupported or fails, the remaining steps
  are ``skipped`` (their input does not exist). One exception: a harness that cannot decode at
  all (ONNX Runtime, tract: a model graph receives decoded pixels) starts its chain from the
  reference's decode output, as a deployment feeds its graph from some decoder; the decode step
  is still recorded as unsupported.

A negative vector (``expect: error``) runs only its decode (or tensor) step (step 0): raising is the
conforming answer (``rejected``); producing an image is recorded as ``ok`` and the scorer calls
it lenient.

The harness sees each step as the JSON dict of the bundle's pipeline, as any port would.
"""

from __future__ import annotations

import time
import traceback
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .bundle import Bundle, npy_bytes
from .harnesses.base import Harness, Unsupported
from .results import output_rel
from .safeio import atomic_write_bytes, confined

MESSAGE_LIMIT = 2000  # characters of an exception message kept in a record


def _message(e: BaseException) -> str:
    text = f"{type(e).__name__}: {e}"
    return text if len(text) <= MESSAGE_LIMIT else text[:MESSAGE_LIMIT] + " [...]"


def _run_step(harness: Harness, step: dict, value: Any, *, decode_input: bool) -> tuple[dict, Any]:
    """One step: ``(record without index/op, output or None)``."""
    reason = harness.check(step)
    if reason is not None:
        return {"status": "unsupported", "message": reason}, None
    call = harness.describe(step)
    start = time.perf_counter()
    try:
        out = harness.run(step, value)
    except Unsupported as e:
        return {"status": "unsupported", "message": e.reason, "call": call}, None
    except Exception as e:  # a library error is a result, not a crash of the run
        status = "rejected" if decode_input else "error"
        return {"status": status, "message": _message(e), "call": call}, None
    seconds = time.perf_counter() - start
    if not isinstance(out, np.ndarray):
        return {"status": "error", "call": call,
                "message": f"harness returned {type(out).__name__}, not a numpy array"}, None
    return {"status": "ok", "call": call, "seconds": round(seconds, 6)}, out


def execute_case(harness: Harness, bundle: Bundle, case: dict, mode: str, out_dir: Path) -> dict:
    """Run ``case`` with ``harness`` in ``mode``; write outputs under ``out_dir``; return the record."""

    def keep(index: int, op: str, out: np.ndarray) -> str:
        rel = output_rel(case["id"], index, op)
        path = out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        # confined: a results folder from elsewhere may hold links; atomic: a killed worker never
        # leaves a half-written output under its final name
        atomic_write_bytes(confined(out_dir, rel), npy_bytes(out))
        return rel

    steps = bundle.manifest["pipelines"][case["pipeline"]]["steps"]
    records = run_case_steps(harness, steps, bundle.input_bytes(case["input"]),
                             lambda index: bundle.expected(case["steps"][index]), mode,
                             negative=case["expect"] == "error", keep=keep)
    return {"case": case["id"], "status": "done", "steps": records}


def run_case_steps(harness: Harness, steps: list[dict], source: bytes, reference: Callable[[int], Any],
                   mode: str, *, negative: bool, keep: Callable[[int, str, np.ndarray], str]) -> list[dict]:
    """The step records of one case (the rules of the module docstring), wherever its data lives:
    ``reference(i)`` is the reference output of step i, ``keep(i, op, output)`` stores a harness
    output and returns the name the record gives it (ValueError: it cannot be stored as .npy)."""
    if negative:
        steps = steps[:1]
    records: list[dict] = []
    value: Any = source
    blocked: str | None = None
    for index, step in enumerate(steps):
        head = {"index": index, "op": step["op"]}
        if mode == "isolated" and index > 0:
            value = reference(index - 1)
        if mode == "chained" and blocked is not None:
            records.append({**head, "status": "skipped", "message": blocked})
            continue
        try:
            rec, out = _run_step(harness, step, value, decode_input=index == 0 and step["op"] in ("decode", "tensor"))
        except Exception as e:  # check/describe themselves failed: the harness's bug, say so
            rec, out = {"status": "error", "message": "harness failed before running the step: "
                        + _message(e) + "\n" + traceback.format_exc(limit=3)}, None
        if out is not None:
            try:
                rec["output"] = keep(index, step["op"], out)
            except ValueError as e:  # object arrays and the like cannot be stored without pickle
                rec, out = {"status": "error", "call": rec.get("call"),
                            "message": f"output cannot be stored as .npy: {e}"}, None
            else:
                rec["dtype"], rec["shape"] = out.dtype.name, list(out.shape)
        if mode == "chained" and index == 0 and step["op"] == "decode" and not negative \
                and rec["status"] == "unsupported" and len(steps) > 1:
            rec["message"] += "; the chain starts from the reference decode output"
            out = reference(0)
        elif rec["status"] != "ok" and mode == "chained":
            blocked = f"not run: step {index} ({step['op']}) was {rec['status']}"
        records.append({**head, **rec})
        value = out
    return records
