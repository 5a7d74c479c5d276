"""The small bundle the runner, scorer and hostile-input tests share: three synthetic inputs and
one negative vector (a PNG with a bad CRC) through two pipelines (a Pillow resize; gray +
normalize), eight cases in all, generated in a second."""

from __future__ import annotations

from pathlib import Path

from conformance.corpus import builtin_corpus
from conformance.generate import Plan, generate
from conformance.spec import pipeline_from_dict

PIPELINES = [
    {"id": "p.pillow_resize", "steps": [{"op": "decode", "preset": "pillow"},
                                        {"op": "resize", "preset": "pillow.bilinear", "height": 9,
                                         "width": 7}]},
    {"id": "p.gray", "steps": [{"op": "decode", "preset": "pillow"},
                               {"op": "color", "conversion": "rgb_to_gray", "arithmetic": "pillow_fixed"},
                               {"op": "normalize", "preset": "unit"}]},
]
INPUTS = ("syn.gradients.48x64", "syn.checker.33x31", "syn.colour_bars.24x40", "neg.bad_crc")


def make_small_bundle(out: Path) -> Path:
    """Generate the small bundle into ``out`` and return it."""
    inputs = [i for i in builtin_corpus(photos=False) if i.id in INPUTS]
    assert len(inputs) == len(INPUTS)
    pipelines = [pipeline_from_dict(p, source="test") for p in PIPELINES]
    generate(Plan(inputs=inputs, pipelines=pipelines,
                  selection={p.id: ("synthetic", "negative") for p in pipelines}), out)
    return out
