"""What the product exists to show, end to end (generate -> run -> score): real differences are
caught and localised to the step that causes them.

- Pillow's BILINEAR is antialiased, cv2's INTER_LINEAR is not: a 224-px downscale of a real photo
  fails for the opencv harness at the resize step, by tens of grey levels, and passes for pillow.
- cv2.imdecode applies EXIF orientation by default, Pillow's open does not: on EXIF-rotated files
  the two libraries' own decode pipelines diverge at step 0 (different shapes), while both
  harnesses pass any pipeline that sets the orientation knob, because both libraries expose it.
"""

from __future__ import annotations

import numpy as np
import pytest

from conformance.bundle import InputFile, load_npy
from conformance.corpus import builtin_corpus, photo
from conformance.encoders.png import encode_png
from conformance.generate import Plan, generate
from conformance.runner import run_bundle
from conformance.score import score_results
from conformance.spec import pipeline_from_dict

# Measured (tests/test_harness_opencv.py, astronaut 512 -> 224): max 85 grey levels, mean 2.75.
MIN_RESIZE_GAP = 20  # "tens of grey levels"


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("findings")
    astronaut = InputFile(id="photo.astronaut.512", data=encode_png(photo("astronaut", 1), colour_type=2, bit_depth=8),
                          media_type="image/png", tags=("photo",))
    # (the orientation_text inputs hold an orientation only Pillow's exif_transpose reads, so no
    # knob makes Pillow ignore it: tests/test_orientation_sources.py covers them)
    exif = [i for i in builtin_corpus(photos=False) if ("exif" in i.tags or "jpeg_exif" in i.tags)
            and "orientation_text" not in i.tags]
    pipelines = [
        pipeline_from_dict({"id": "train.pillow_bilinear_224", "steps": [
            {"op": "decode", "preset": "pillow"},
            {"op": "resize", "preset": "pillow.bilinear", "height": 224, "width": 224}]}),
        pipeline_from_dict({"id": "decode.pillow", "steps": [{"op": "decode", "preset": "pillow"}]}),
        pipeline_from_dict({"id": "decode.opencv", "steps": [{"op": "decode", "preset": "opencv"}]}),
    ]
    plan = Plan(inputs=[astronaut, *exif], pipelines=pipelines,
                selection={"train.pillow_bilinear_224": ("photo",),
                           "decode.pillow": ("exif", "jpeg_exif"), "decode.opencv": ("exif", "jpeg_exif")})
    generate(plan, root / "bundle")
    run_bundle(root / "bundle", root / "res", harnesses=["opencv", "pillow"], jobs=2)
    return root / "res", score_results(root / "res")


def _case(scores, harness, mode, case):
    return next(c for c in scores.cases if (c.harness, c.mode, c.case) == (harness, mode, case))


@pytest.mark.parametrize("mode", ["isolated", "chained"])
def test_pillow_bilinear_fails_for_opencv_at_the_resize_step(results, mode):
    _, scores = results
    cv = _case(scores, "opencv", mode, "train.pillow_bilinear_224__photo.astronaut.512")
    assert cv.verdict == "fail" and cv.first_divergent_step == 1
    resize = cv.steps[1]
    assert resize.op == "resize" and "INTER_LINEAR" in resize.call
    print(f"\nopencv {mode}: resize max abs {resize.metrics['max_abs']}, mean {resize.metrics['mean_abs']}")
    assert MIN_RESIZE_GAP <= resize.metrics["max_abs"] <= 255
    pil = _case(scores, "pillow", mode, "train.pillow_bilinear_224__photo.astronaut.512")
    assert pil.verdict == "pass", pil.to_json()


def test_exif_rotated_inputs_diverge_at_decode_between_the_libraries_defaults(results):
    root, scores = results
    rotated = [c.case.split("__", 1)[1] for c in scores.cases
               if c.pipeline == "decode.pillow" and c.harness == "pillow" and c.mode == "isolated"]
    differ = 0
    for input_id in rotated:
        pil = load_npy((root / "pillow/isolated/outputs" / f"decode.pillow__{input_id}" / "0_decode.npy")
                       .read_bytes(), where="pillow")
        cv = load_npy((root / "opencv/isolated/outputs" / f"decode.opencv__{input_id}" / "0_decode.npy")
                      .read_bytes(), where="opencv")
        cv_rgb = cv[..., ::-1]
        if pil.shape != cv_rgb.shape or not np.array_equal(pil, cv_rgb):
            differ += 1
    # orientations 2..8 of the PNG (eXIf) and JPEG (APP1) variants rotate or flip; 1 (and 0/9
    # for PNG) do not
    print(f"\n{differ} of {len(rotated)} EXIF inputs decode differently with each library's defaults")
    assert differ >= 14
    # ...and each harness reproduces both pipelines, because the knob says what to do
    for c in scores.cases:
        if c.pipeline.startswith("decode."):
            assert c.verdict == "pass", c.to_json()
