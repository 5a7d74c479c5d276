"""The "why" in the reports: ``score --explain`` and ``report --explain`` attach explain's best
sentence to every failing and xfail step of a scored run (terminal worst cases, scores.json,
HTML).

Cost is bounded two ways. Each step has a time budget (``budget_seconds``). And cases of one
pipeline step usually diverge for one reason, so the best hypothesis of the first case of a
(harness, mode, pipeline, step) group is tried first on the next ones (``explain_step``'s
``hints``): when it reproduces that case exactly and names the harness's library, the search
ends there, otherwise it goes on as usual. Every sentence is still checked on its own case: a
hint is evaluated, never copied.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..bundle import Bundle
from ..errors import ConformanceError
from ..score import Scores
from .explain import Explanation, explain_step
from .explain_runs import jobs_of

HINTS_PER_GROUP = 3  # the best candidates of earlier cases kept per group


def explain_scores(scores: Scores, *, budget_seconds: float = 2.0,
                   on_step: Callable[[int, int], None] | None = None) -> int:
    """Set ``explanation`` on every failing/xfail step of ``scores``; the number explained
    (reproduced within tolerance). A step that cannot be explained gets the reason."""
    bundle = Bundle(scores.bundle)
    steps = {(c.harness, c.mode, c.case, s.index): s for c in scores.cases for s in c.steps}
    jobs = jobs_of(Path(scores.results_dir), bundle, scores.cases)
    hints: dict[tuple, list] = {}
    explained = 0
    for n, job in enumerate(jobs, 1):
        group = (job.harness, job.mode, job.case["pipeline"], job.index)
        try:
            e = explain_step(job.pipeline, job.index, job.step_input(), job.observed(),
                             tolerance=job.tolerance, harness=job.harness, call=job.call,
                             budget_seconds=budget_seconds, hints=tuple(hints.get(group, ())))
        except ConformanceError as err:
            e = Explanation([], False, False, sentence=f"cannot explain: {err}", op=job.op,
                            harness=job.harness, tolerance=job.tolerance, error=str(err))
        if e.explained and e.hypotheses and e.hypotheses[0].candidate is not None:
            known = hints.setdefault(group, [])
            cand = e.hypotheses[0].candidate
            if cand not in known:
                known.insert(0, cand)
                del known[HINTS_PER_GROUP:]
        explained += e.explained
        steps[(job.harness, job.mode, job.case["id"], job.index)].explanation = summary(e)
        if on_step:
            on_step(n, len(jobs))
    return explained


def summary(e: Explanation) -> dict:
    """What scores.json keeps of an explanation: the sentence, whether it reproduces the output
    within tolerance, the best hypothesis, and whether the search budget ran out."""
    out = {"sentence": e.best_sentence(), "explained": bool(e.explained),
           "budget_exhausted": bool(e.budget_exhausted)}
    if e.hypotheses:
        out["best"] = e.hypotheses[0].to_json()
    return out
