"""Known divergences that travel to a user's bundle (issue 14, part 4).

vectors/known-divergences.toml selects by what a step is (op, preset family, knob values) and
what its input is (the recorded header, JPEG subsampling read from the file), so it classifies a
bundle generated from a user's own photographs with the examples/ pipelines as it classifies
vectors/default: every library difference known there is an `xfail` with its reason here too,
and nothing known is left as a plain `fail`. Before the selectors travelled, the same run showed
every one of these steps as a plain failure and none as known.

Also: the selector syntax itself (knobs, preset, header, inherited; lists as "any of"; strict
booleans) and the checks that turn a typo into an error.
"""

from __future__ import annotations

import collections
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conformance.bundle import Bundle
from conformance.corpus import skimage_data_dir
from conformance.errors import SpecError
from conformance.expectations import Expectations, StepFacts
from conformance.generate import generate
from conformance.plans import user_plan
from conformance.report.common import first_difference
from conformance.report.jpeg_decode import jpeg_decode_table
from conformance.runner import run_bundle
from conformance.score import score_results

ROOT = Path(__file__).resolve().parents[1]
KNOWN = ROOT / "vectors" / "known-divergences.toml"
EXAMPLES = tuple(sorted((ROOT / "examples").glob("*.toml")))
HARNESSES = ["opencv", "pillow", "rust-image"]
EXIF_ORIENTATION = 0x0112


def _user_photos(folder: Path) -> None:
    """What a user brings: camera JPEGs (4:2:0, one rotated by EXIF as a phone writes it, one at
    4:4:4, one gray) and PNGs (RGB, RGBA, 16-bit gray), from scikit-image's public photographs."""
    folder.mkdir()
    data = skimage_data_dir()

    def load(name: str, mode: str | None = None, reduce: int = 1) -> Image.Image:
        with Image.open(data / name) as im:
            im.load()
            im = im.convert(mode) if mode else im
            return im.reduce(reduce) if reduce > 1 else im

    load("astronaut.png", "RGB").save(folder / "astronaut.jpg", quality=90, subsampling=2)
    load("chelsea.png", "RGB").save(folder / "chelsea.jpg", quality=85, subsampling=2)
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6
    load("coffee.png", "RGB").save(folder / "coffee_phone.jpg", quality=90, subsampling=2,
                                   exif=exif.tobytes())
    load("rocket.jpg", "RGB").save(folder / "rocket_444.jpg", quality=95, subsampling=0)
    load("camera.png").save(folder / "camera_gray.jpg", quality=90)
    load("motorcycle_left.png", "RGB", 2).save(folder / "motorcycle.png")
    rgba = np.asarray(load("hubble_deep_field.jpg", "RGBA", 2)).copy()
    rgba[:40, :40, 3] = 0
    Image.fromarray(rgba, "RGBA").save(folder / "hubble_cutout.png")
    Image.fromarray(np.asarray(load("camera.png")).astype(np.uint16) * 257 + 100).save(folder / "camera16.png")


@pytest.fixture(scope="module")
def user_run(tmp_path_factory):
    """(bundle dir, results dir): the user's photos through every examples/ pipeline, run by
    opencv, pillow and rust-image in both modes."""
    root = tmp_path_factory.mktemp("user-bundle")
    _user_photos(root / "photos")
    report = generate(user_plan(EXAMPLES, (root / "photos",), with_corpus=False), root / "bundle", jobs=2)
    assert not report.skipped and not report.problems and not report.refused
    run_bundle(root / "bundle", root / "results", harnesses=HARNESSES, jobs=2)
    return root / "bundle", root / "results"


@pytest.fixture(scope="module")
def scores(user_run):
    return score_results(user_run[1], expectations=Expectations.load([KNOWN]))


def test_every_pipeline_of_the_examples_runs(user_run, scores):
    bundle = Bundle(user_run[0])
    assert len(EXAMPLES) >= 2 and len(bundle.manifest["pipelines"]) >= 4
    assert {c.harness for c in scores.cases} == set(HARNESSES)
    assert not [(c.harness, c.case) for c in scores.cases if c.error]
    assert not scores.counts()["unsupported"] and not scores.counts()["error"]


def test_known_differences_are_recognised_on_a_user_bundle(user_run, scores):
    plain = score_results(user_run[1]).counts()
    counts = scores.counts()
    print(f"\nwithout expectations: {plain['fail']} fail; with {KNOWN.name}: "
          f"{counts['xfail']} xfail, {counts['fail']} fail (pass {counts['pass']})")
    unexplained = [(c.harness, c.mode, c.case, s.index, s.op, s.message) for c in scores.cases
                   for s in c.steps if s.verdict == "fail"]
    assert not unexplained, unexplained[:10]
    assert counts["xfail"] == plain["fail"] > 100


def _verdicts(scores, harness, mode, op, pipeline=None):
    return collections.Counter(s.verdict for c in scores.cases if c.harness == harness and c.mode == mode
                               and (pipeline is None or c.pipeline == pipeline)
                               for s in c.steps if s.op == op)


def test_each_library_difference_is_named_with_its_reason(scores):
    """The differences the main job knows, recognised here by what the steps are."""
    def reasons(harness, mode, op, pipeline=None):
        return {s.message.split("(expected: ")[-1][:60] for c in scores.cases
                if c.harness == harness and c.mode == mode and (pipeline is None or c.pipeline == pipeline)
                for s in c.steps if s.op == op and s.verdict == "xfail"}

    # cv2.resize is not Pillow's antialiased bilinear (photos downscaled to 224: tens of levels)
    assert _verdicts(scores, "opencv", "isolated", "resize", "torchvision_224")["xfail"] >= 6
    assert any("Pillow's filters are antialiased" in r for r in reasons("opencv", "isolated", "resize"))
    # torchvision rounds the centre-crop offset, cv2 code floors it
    assert any("cv2 code centres a crop" in r for r in reasons("opencv", "isolated", "crop"))
    # Image.resize always antialiases: cv2 INTER_LINEAR and ONNX linear are not Pillow's
    assert _verdicts(scores, "pillow", "isolated", "resize", "deploy.opencv_linear")["xfail"] >= 6
    # zune-jpeg is not libjpeg-turbo: every JPEG decode of rust-image (4:2:0, 4:4:4, gray)
    jpeg = [c for c in scores.cases if c.harness == "rust-image" and c.mode == "isolated"
            and c.input.startswith(("user.astronaut", "user.chelsea", "user.rocket", "user.camera_gray"))]
    assert jpeg and all(c.steps[0].verdict == "xfail" and "zune-jpeg" in c.steps[0].message for c in jpeg)
    # 16-bit PNG: Pillow clips, libpng shifts, the image crate rounds
    assert _verdicts(scores, "rust-image", "isolated", "decode")["xfail"] > len(jpeg)


def test_chained_failures_after_a_difference_name_where_it_starts(scores):
    """A chained normalize 'failure' after a resize within its own tolerance is known (its input
    is the harness's own), and the report names the resize as the first difference."""
    chained = [c for c in scores.cases if c.harness == "opencv" and c.mode == "chained"
               and c.pipeline == "deploy.onnx_linear" and c.verdict != "pass"
               and c.steps[0].verdict == "pass"]  # 16-bit gray: Pillow's decode rule differs first
    named = [first_difference(c) for c in chained]
    assert len(named) >= 4 and all(d is not None and d.op == "resize" and d.max_abs <= 1 for d in named)
    normalize = [s for c in chained for s in c.steps if s.op == "normalize"]
    assert all(s.verdict == "xfail" and "chained mode" in s.message for s in normalize)


def test_the_jpeg_table_sees_the_users_subsampling(scores):
    table = jpeg_decode_table(scores)
    labels = {g.subsampling for g in table.groups}
    assert {"4:2:0", "4:4:4", "gray"} <= labels and "other" not in labels


# -- the selectors --------------------------------------------------------------------------------

CASE = {"id": "p__in", "pipeline": "p", "input": "in"}
RESIZE = {"op": "resize", "preset": "pillow.bilinear", "antialias": True, "filter": "triangle",
          "cubic_a": -0.5, "height": 224, "width": 224}
HEADER = {"format": "jpeg", "colour_type": "3-component", "bit_depth": 8, "orientation": 6,
          "subsampling": "4:2:0", "interlaced": False}


def _load(tmp_path, text: str) -> Expectations:
    f = tmp_path / "e.toml"
    f.write_text(text)
    return Expectations.load([f])


def _match(exp, facts, harness="opencv", mode="isolated", op="resize"):
    return exp.entries[0].matches(harness, mode, CASE, 1, op, facts)


@pytest.mark.parametrize("selector, matched", [
    ('knobs = {antialias = true}', True),
    ('knobs = {antialias = false}', False),
    ('knobs = {antialias = true, filter = "cubic"}', False),
    ('knobs = {filter = ["cubic", "triangle"]}', True),        # a list: any of
    ('knobs = {cubic_a = -0.5, height = 224}', True),          # numbers as in the JSON form
    ('knobs = {height = [224, 256]}', True),
    ('preset = "pillow.*"', True),
    ('preset = ["opencv.*", "image.*"]', False),
    ('header = {subsampling = "4:2:0", orientation = [5, 6, 7, 8]}', True),
    ('header = {format = "png"}', False),
    ('header = {bit_depth = 16}', False),
    ('inherited = true', False),
    ('inherited = false', True),
    ('harness = ["pillow", "open*"]', True),
])
def test_selectors_match_what_a_step_is(tmp_path, selector, matched):
    exp = _load(tmp_path, f'[[expected_failure]]\n{selector}\nreason = "r"\n')
    assert _match(exp, StepFacts(RESIZE, HEADER, inherited=False)) is matched


def test_a_step_selector_never_matches_without_the_facts(tmp_path):
    exp = _load(tmp_path, '[[expected_failure]]\nknobs = {antialias = true}\nreason = "r"\n')
    assert not _match(exp, None) and not _match(exp, StepFacts(None, HEADER))
    head = _load(tmp_path, '[[expected_failure]]\nheader = {format = "jpeg"}\nreason = "r"\n')
    assert not _match(head, StepFacts(RESIZE, None)), "a negative vector without a header"


def test_booleans_are_strict_and_a_missing_knob_never_matches(tmp_path):
    exp = _load(tmp_path, '[[expected_failure]]\nknobs = {batch = true}\nreason = "r"\n')
    assert _match(exp, StepFacts({"op": "layout", "batch": True}))
    assert not _match(exp, StepFacts({"op": "layout", "batch": 1}))
    assert not _match(exp, StepFacts({"op": "layout"}))


def test_inherited_means_chained_after_a_difference(tmp_path):
    from conformance.score import StepScore

    exp = _load(tmp_path, '[[expected_failure]]\ninherited = true\nreason = "r"\n')
    same = StepScore(0, "resize", "pass", metrics={"max_abs": 0.0})
    within = StepScore(0, "resize", "pass", metrics={"max_abs": 1.0})
    shape = StepScore(0, "resize", "fail", metrics=None)
    for mode, earlier, expected in [("chained", [within], True), ("chained", [shape], True),
                                    ("chained", [same], False), ("isolated", [within], False),
                                    ("chained", [], False)]:
        found = exp.expected_failure("opencv", mode, CASE, 1, "normalize", earlier=earlier)
        assert (found is not None) is expected, (mode, earlier)


def test_the_last_matching_entry_gives_the_reason(tmp_path):
    exp = _load(tmp_path, '[[expected_failure]]\nop = "resize"\nreason = "general"\n'
                          '[[expected_failure]]\npreset = "pillow.*"\nreason = "specific"\n')
    assert [e.reason for e in exp.matching("expected_failure", "opencv", "isolated", CASE, 1, "resize")] \
        == ["general"], "without the bundle only the name selectors can match"


@pytest.mark.parametrize("text, match", [
    ('knobs = {antialas = true}', "unknown knob 'antialas'.*did you mean 'antialias'"),
    ('op = "decode"\nknobs = {antialias = true}', "unknown knob 'antialias' for op"),
    ('knobs = {filter = "triangel"}', "'triangel' is not one of"),
    ('knobs = {filter = "tri*"}', None),
    ('knobs = {filter = "x*"}', "matches none of"),
    ('knobs = {}', "non-empty table"),
    ('knobs = {preset = "pillow.bilinear"}', "preset selector"),
    ('header = {subsampling = "4:2:0", orientaton = 6}', "unknown header field 'orientaton'"),
    ('preset = "pillow.bilinaer"', "no .* preset matches 'pillow.bilinaer'"),
    ('preset = "pilow.*"', "no .* preset matches"),
    ('op = "decode"\npreset = "pillow.bilinear"', "no decode preset matches"),
    ('preset = "onnx.linear"', None),
    ('inherited = "yes"', "true or false"),
    ('harness = []', "non-empty list"),
    ('harness = [1]', "string"),
])
def test_a_typo_in_a_selector_is_an_error(tmp_path, text, match):
    f = tmp_path / "e.toml"
    f.write_text(f'[[expected_failure]]\n{text}\nreason = "r"\n')
    if match is None:
        Expectations.load([f])
        return
    with pytest.raises(SpecError, match=match) as info:
        Expectations.load([f])
    assert str(f) in str(info.value)
