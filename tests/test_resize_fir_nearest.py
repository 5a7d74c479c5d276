"""fast_image_resize's Nearest (nearest_index="fir"): columns by a multiplied index with a half
offset, rows stepped by accumulation (resample_nearest + iter_rows_with_step in 5.5.0), checked
against the library itself through the rust-fir harness, and neither of the single-rule indices
(which agree with it on most sizes, not all)."""

from __future__ import annotations

import numpy as np
import pytest

from conformance.reference.pipeline import run_step
from conformance.spec import make_step

harnesses = pytest.importorskip("conformance.harnesses")


def _fir():
    try:
        return harnesses.load("rust-fir")
    except harnesses.HarnessUnavailable as e:  # pragma: no cover - built by scripts/setup.sh
        pytest.skip(f"rust-fir unavailable: {e}")


SIZES = [(61, 83, 23, 31), (64, 64, 24, 24), (33, 31, 53, 67), (48, 64, 7, 5), (100, 37, 13, 91),
         (5, 7, 29, 3), (224, 224, 100, 100), (300, 451, 224, 224), (1, 9, 4, 2), (17, 1, 3, 8)]


def test_fir_nearest_equals_fast_image_resize_on_every_size():
    fir = _fir()
    rng = np.random.default_rng(7)
    sizes = SIZES + [tuple(int(v) for v in rng.integers(1, 130, 4)) for _ in range(60)]
    differ_from_single_rules = 0
    for ih, iw, oh, ow in sizes:
        img = rng.integers(0, 256, (ih, iw, 3), dtype=np.uint8)
        step = make_step({"op": "resize", "filter": "nearest", "antialias": False, "height": oh,
                          "width": ow, "nearest_index": "fir"})
        got = fir.run(step.knobs(), img)
        ref = run_step(step, img)
        assert np.array_equal(ref, got), ((ih, iw, oh, ow), np.argwhere(ref != got)[:3])
        singles = [run_step(make_step({**step.knobs(), "nearest_index": rule}), img)
                   for rule in ("accumulate", "multiply")]
        differ_from_single_rules += not any(np.array_equal(s, got) for s in singles)
    assert differ_from_single_rules > 0  # the mixed rule is needed: neither single one is it
