"""Shared by the importer tests that compare an imported pipeline with the library it came from
(tests/test_import_timm.py, tests/test_import_torchvision.py): run the pipeline's steps after
decode through the reference, compare with a library's tensor, and the corpus photos decoded
both ways."""

from __future__ import annotations

import io

import numpy as np

from conformance.reference.pipeline import run_step
from conformance.spec import make_step

EXACT = 0.0  # max abs per element: the imported pipelines claim bit-exactness


def reference_output(imported, image: np.ndarray) -> np.ndarray:
    """The imported pipeline's steps after decode, run by the reference on ``image``."""
    steps = [make_step(s.knobs) for s in imported.steps]
    assert steps[0].op == "decode"
    value = image
    for step in steps[1:]:
        value = run_step(step, value)
    return value


def assert_same(got: np.ndarray, want: np.ndarray, what: str, library: str) -> None:
    """Same shape and max abs difference <= EXACT, naming the worst element on failure."""
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {library} {want.shape}"
    diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
    worst = np.unravel_index(np.argmax(diff), diff.shape)
    assert diff.max() <= EXACT, (f"{what}: max abs {diff.max():.3g} at {worst}: reference "
                                 f"{got[worst]!r}, {library} {want[worst]!r}")


def decoded_photos(decode_knobs: dict) -> list[tuple[str, np.ndarray, object]]:
    """(id, decoded array, PIL image) per corpus photo; asserts the pipeline's decode step equals
    PIL's ``Image.open(...).convert('RGB')``, which is what the libraries are fed."""
    from PIL import Image

    from conformance.corpus import full_size_photos

    decode = make_step(decode_knobs)
    out = []
    for item in full_size_photos():
        pil = Image.open(io.BytesIO(item.data)).convert("RGB")
        decoded = run_step(decode, item.data)
        assert np.array_equal(decoded, np.asarray(pil)), f"{item.id}: decode step != PIL convert('RGB')"
        out.append((item.id, decoded, pil))
    return out
