"""The evaluation engine of ``explain``: run candidates through the reference, measure each against
the observed array, within a time budget.

Residual of a candidate: ``max_abs`` = the largest absolute difference of any element, as float64
(the tolerance metric of :mod:`conformance.score`; ``inf`` when the shapes differ or a value is
not finite) and ``exact_fraction`` = the fraction of elements that are equal. Two candidates that
compute the same thing (same knobs, input conversion and transform: :meth:`Candidate.key`) are
evaluated once; the reference output of a step variant is kept in a small cache, so the output
transforms of the detectors and the knob variants that share it cost no second run. Each output's
digest (dtype, shape, bytes) tells which candidates are byte-identical: indistinguishable on this
input, and "no effect" when identical to the pipeline's own output.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ConformanceError
from ..reference.pipeline import run_step
from ..spec import Step
from .explain_space import Candidate, knob_changes, step_key

#: Reference outputs of step variants kept for reuse (each a few hundred KB for 224x224).
OUTPUT_CACHE_SIZE = 24


def digest(a: np.ndarray) -> bytes:
    """Identity of an array's values: dtype, shape and bytes."""
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{a.dtype.str}{a.shape}".encode())
    h.update(np.ascontiguousarray(a).tobytes())
    return h.digest()


def residual(got: np.ndarray, observed64: np.ndarray) -> tuple[float, float]:
    """(max_abs, exact_fraction) of ``got`` against the observed array (already float64)."""
    if got.shape != observed64.shape:
        return math.inf, 0.0
    if got.size == 0:
        return 0.0, 1.0
    with np.errstate(all="ignore"):
        d = np.abs(got.astype(np.float64) - observed64)
    finite = np.isfinite(d)
    max_abs = float(d.max()) if finite.all() else math.inf
    return max_abs, float(np.count_nonzero(d == 0)) / d.size


@dataclass
class Evaluation:
    """One candidate's result: its residual, its output digest, whether it is identical to the
    pipeline's own output (``noop``), and the knobs it changes against the pipeline's step."""

    candidate: Candidate
    max_abs: float
    exact_fraction: float
    digest: bytes
    noop: bool
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    order: int = 0  # evaluation order (stable tie-break)
    same_dtype: bool = True  # the output has the observed array's dtype

    @property
    def comparable(self) -> bool:
        return math.isfinite(self.max_abs)


class Search:
    """Evaluates candidates for one step (see the module docstring) until ``deadline``
    (a ``time.perf_counter()`` value)."""

    def __init__(self, step: Step, value: Any, observed: np.ndarray, reference: np.ndarray,
                 deadline: float):
        self.step, self.value, self.deadline = step, value, deadline
        self.observed64 = observed.astype(np.float64)
        self.observed_dtype = observed.dtype
        self.reference = reference
        self.reference_digest = digest(reference)
        self.evaluations: dict[tuple, Evaluation] = {}
        self._outputs: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._outputs[(step_key(step), "given")] = reference
        self.shape_matched = False  # some candidate gave the observed array's shape
        self.failed = 0  # candidates the reference rejected (an undefined combination)
        self.exhausted = False  # a candidate was skipped because the budget ran out

    @property
    def out_of_time(self) -> bool:
        return time.perf_counter() > self.deadline

    def evaluate(self, cand: Candidate, *, force: bool = False) -> Evaluation | None:
        """The evaluation of ``cand`` (cached by :meth:`Candidate.key`); None if the reference
        rejects it or the budget has run out (then :attr:`exhausted` is set; ``force`` evaluates
        anyway: the pipeline's own step, whose output is already known)."""
        key = cand.key()
        if key in self.evaluations:
            return self.evaluations[key]
        if self.out_of_time and not force:
            self.exhausted = True
            return None
        try:
            base = self._output(cand.step, cand.input_kind)
            with np.errstate(all="ignore"):
                out = cand.post(base) if cand.post is not None else base
        except (ConformanceError, ValueError, TypeError, IndexError, ZeroDivisionError,
                FloatingPointError, OverflowError, MemoryError):
            # an undefined knob combination (SpecError), or one the reference cannot apply to
            # this input: not a hypothesis
            self.failed += 1
            return None
        max_abs, exact = residual(out, self.observed64)
        self.shape_matched |= out.shape == self.observed64.shape
        d = digest(out)
        ev = Evaluation(cand, max_abs, exact, d, noop=d == self.reference_digest,
                        changes=knob_changes(self.step, cand.step), order=len(self.evaluations),
                        same_dtype=out.dtype == self.observed_dtype)
        self.evaluations[key] = ev
        return ev

    def _output(self, step: Step, input_kind: str) -> np.ndarray:
        key = (step_key(step), input_kind)
        if key in self._outputs:
            self._outputs.move_to_end(key)
            return self._outputs[key]
        value = _convert_input(self.value, input_kind)
        with np.errstate(all="ignore"):
            out = run_step(step, value)
        self._outputs[key] = out
        while len(self._outputs) > OUTPUT_CACHE_SIZE:
            self._outputs.popitem(last=False)
        return out

    def output_of(self, ev: Evaluation) -> np.ndarray | None:
        """The array an evaluation produced, recomputed if it left the cache (None if it fails)."""
        try:
            base = self._output(ev.candidate.step, ev.candidate.input_kind)
            return ev.candidate.post(base) if ev.candidate.post is not None else base
        except Exception:  # noqa: BLE001 - it ran once; a second failure means no array to show
            return None


def _convert_input(value: Any, kind: str) -> Any:
    """The step input as a candidate's ``input_kind`` asks: float32; rounded and clamped uint8;
    ``symmetric`` (2x − 1: a [0, 1] input as the [-1, 1] tensor it was mapped from) or ``unit``
    ((x + 1) / 2), for a float input."""
    if kind == "given" or not isinstance(value, np.ndarray):
        return value
    if kind == "float32":
        return value.astype(np.float32)
    if kind in ("symmetric", "unit"):  # the way back: the range map before this step undone / done twice
        one, two = value.dtype.type(1), value.dtype.type(2)
        return value * two - one if kind == "symmetric" else (value + one) / two
    return np.clip(np.floor(value.astype(np.float64) + 0.5), 0, 255).astype(np.uint8)
