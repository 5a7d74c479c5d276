"""Dataset scale: ``conformance check`` validates a port on a whole image set, streamed.

The bundle route (``generate`` + ``run`` + ``score``) stores every step's output of every case; on
an evaluation set that is terabytes. Here each batch of images is computed and judged where it
runs, on a Dask distributed cluster (a ``LocalCluster`` by default, ``--scheduler`` for a real
one), and only a compact table comes back:

- :mod:`.inputs`: the image list (a directory, list files), ids, reading with the input limits;
- :mod:`.memory`: the reference's outputs of a batch as an in-memory bundle (same manifest form);
- :mod:`.task`: one batch on a worker: reference, every harness and mode, the scorer, table rows;
- :mod:`.table`: ``OUT/steps.parquet`` and ``OUT/inputs.parquet``, written as atomic parts, resume;
- :mod:`.driver`: the Dask side: batches in flight, crashes split, parts flushed, worst tracked;
- :mod:`.worst`: the K worst cases per step and harness as a real bundle + results directory,
  so ``score``, the reports and ``explain`` work on them;
- :mod:`.impact`: ``check --model``: a real model's predictions on the reference's and each
  harness's chained final tensor, per image (``OUT/impact.parquet``), and ``impact``'s metrics;
- :mod:`.summary`: distributions over images, worst images, errors by image property
  (terminal, JSON, HTML).

Verdicts, metrics and expectations are the scorer's own (:func:`conformance.score.score_case`),
so a check and a bundle run of the same images agree case by case (tests/test_check.py).
"""
