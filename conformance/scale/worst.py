"""The K worst cases of a check, per step and harness, kept whole.

While a check runs, :class:`WorstTracker` keeps for every (harness, mode, step, op) the K rows
with the largest error: failing rows first (``error``, then the largest excess over the
tolerance in 8-bit levels), then the largest error in levels. At the end, :func:`write_worst`
recomputes those cases through the bundle route into ``OUT/worst/``:

- ``bundle/``: the worst (input, pipeline) pairs as a real bundle (``generate``), every step's
  expected output;
- ``results/``: every harness of the check on it in every mode (``run``), every step's output;

so ``conformance score OUT/worst/results``, the reports and ``conformance explain`` work on them
as on any run. The reference and the harnesses are deterministic, so these are the arrays the
check compared; an image that changed on disk since (its SHA-256 differs from the inputs table)
is left out, with a note.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from pathlib import Path

from .table import STEPS, read

WORST_DIR = "worst"


@dataclass
class WorstTracker:
    k: int
    heaps: dict[tuple, list] = field(default_factory=dict)  # key -> min-heap of (rank, n, row)
    _n: int = 0

    @classmethod
    def load(cls, out: Path, k: int) -> "WorstTracker":
        """A tracker holding the worst rows of the parts already written (a resumed check)."""
        tracker = cls(k)
        if k and (Path(out) / STEPS).is_dir():
            cols = ["input", "path", "pipeline", "harness", "mode", "step", "op", "verdict",
                    "levels", "excess_levels"]
            tracker.add(read(out, STEPS, cols).to_pydict())
        return tracker

    def add(self, columns: dict[str, list]) -> None:
        """Offer the rows of a batch (column -> values)."""
        if not self.k or not columns.get("input"):
            return
        c = columns
        for i in range(len(c["input"])):
            verdict, levels, excess = c["verdict"][i], c["levels"][i], c["excess_levels"][i]
            bad = verdict in ("fail", "error", "xfail")
            if not bad and not levels:  # equal, unsupported, skipped: nothing to see
                continue
            rank = (bad, verdict == "error", math.inf if excess is None else excess,
                    math.inf if levels is None else levels)
            key = (c["harness"][i], c["mode"][i], c["step"][i], c["op"][i])
            heap = self.heaps.setdefault(key, [])
            self._n += 1
            item = (rank, -self._n, (c["input"][i], c["path"][i], c["pipeline"][i]))
            if len(heap) < self.k:
                heapq.heappush(heap, item)
            elif item > heap[0]:
                heapq.heapreplace(heap, item)

    def worst(self) -> dict[tuple, list[tuple[str, str, str]]]:
        """key -> [(input, path, pipeline)], worst first."""
        return {key: [item[2] for item in sorted(heap, reverse=True)] for key, heap in self.heaps.items()}

    def pairs(self) -> list[tuple[str, str, str]]:
        """Every (input, path, pipeline) some step and harness ranks among its worst."""
        return sorted({p for items in self.worst().values() for p in items})


@dataclass
class WorstReport:
    bundle: Path | None = None
    results: Path | None = None
    cases: int = 0
    notes: list[str] = field(default_factory=list)


def write_worst(out: Path, job, tracker: WorstTracker, sha256: dict[str, str], *,
                max_input_bytes: int, jobs: int = 1) -> WorstReport:
    """Recompute the tracker's worst cases into ``out/worst`` (module docstring)."""
    import shutil

    from ..bundle import sha256_bytes
    from ..generate import _PairPlan, generate
    from ..harnesses.external import ExternalHarness
    from ..runner import run_bundle
    from .inputs import ImageRef, read_image

    report = WorstReport()
    root = Path(out) / WORST_DIR
    pairs = tracker.pairs()
    shutil.rmtree(root, ignore_errors=True)
    if not pairs:
        return report
    inputs, wanted = {}, set()
    for iid, path, pid in pairs:
        if iid not in inputs:
            image = read_image(ImageRef(iid, path), max_input_bytes)
            if image.refused is not None or sha256_bytes(image.data) != sha256.get(iid):
                report.notes.append(f"{path}: changed or unreadable since it was checked; "
                                    "left out of the worst cases")
                inputs[iid] = None
                continue
            inputs[iid] = image.input_file()
        if inputs[iid] is not None:
            wanted.add((pid, iid))
    if not wanted:
        return report
    plan = _PairPlan(inputs=[i for i in inputs.values() if i is not None], pipelines=list(job.pipelines),
                     pairs=wanted, readme="The worst cases of a `conformance check` (its OUT/worst).\n")
    generate(plan, root / "bundle", jobs=jobs, overwrite=True)
    externals = [ExternalHarness(p.name, list(p.command) if not isinstance(p.command, str) else p.command,
                                 timeout=job.timeout) for p in job.programs]
    run_bundle(root / "bundle", root / "results", harnesses=list(job.harnesses.values()),
               externals=externals, modes=job.modes, jobs=jobs, timeout=job.timeout, fresh=True)
    report.bundle, report.results, report.cases = root / "bundle", root / "results", len(wanted)
    return report
