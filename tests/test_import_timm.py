"""The timm importer against timm itself (timm 1.0.31, torchvision 0.29.2, Pillow 13.0.0 installed).

Oracle: ``timm.data.create_transform(**resolve_data_config({}, pretrained_cfg=cfg))`` applied to
the PIL image ``Image.open(f).convert('RGB')``, its CHW tensor given the batch axis. Candidate:
the imported pipeline run by the reference. The pipeline's decode step is checked to return the
very array fed to timm, then the remaining steps run on it.

Tolerance (STYLE 9), metric = max abs difference of any output element: 0 (``EXACT``), measured
0.0 on every case here: the pillow.* presets reproduce PIL's resize bit for bit, the crop is index
arithmetic, and x / 255 then (x - mean) / std in float32 is what ToTensor + Normalize compute.

Families: corpus photos (``full_size_photos``: 4 JPEGs, 300x451 to 600x400, one with EXIF 6 that
both sides ignore) x modes center / squash / border x crop_pct 0.875 / 0.9 / 0.95 (-> 235) / 1.0
x input 224 / 288 x interpolations; synthetic images sized for the rules easy to get wrong (the
round-half-even crop offset when (H - h) % 4 == 3, border mode's odd padding, crop_pct > 1 which
makes CenterCrop pad with zeros, a non-square squash target).
"""

from __future__ import annotations

import tomllib

import numpy as np
import pytest

import imported_pipelines as shared

from conformance.importers.common import ConfigError, to_toml
from conformance.importers.timm import import_timm
from conformance.reference.pipeline import run_step
from conformance.spec import make_step, pipeline_from_dict

timm_data = pytest.importorskip("timm.data")
Image = pytest.importorskip("PIL.Image")



def timm_output(pil, cfg: dict, *, test_size: bool = False) -> np.ndarray:
    """The oracle: timm's own eval transform of ``cfg`` on the PIL image, as (1, C, H, W)."""
    config = timm_data.resolve_data_config({}, pretrained_cfg=cfg, use_test_size=test_size)
    return timm_data.create_transform(**config)(pil).unsqueeze(0).numpy()


def reference_output(cfg: dict, image: np.ndarray, *, test_size: bool = False) -> np.ndarray:
    """The imported pipeline's steps after decode, run by the reference on ``image``."""
    return shared.reference_output(import_timm(cfg, source="cfg", test_size=test_size), image)


def assert_same(got: np.ndarray, want: np.ndarray, what: str) -> None:
    shared.assert_same(got, want, what, "timm")


@pytest.fixture(scope="module")
def photos():
    """(id, decoded array, PIL image) per corpus photo; the pipeline's decode equals the PIL one."""
    return shared.decoded_photos(import_timm({}, source="cfg").steps[0].knobs)


# (crop_mode, input side(s), crop_pct, interpolation): every mode at the four crop_pcts, both sizes
PHOTO_CASES = [
    ("center", 224, 0.875, "bicubic"), ("center", 224, 0.95, "bilinear"), ("center", 288, 0.9, "bicubic"),
    ("center", 224, 1.0, "lanczos"), ("center", 288, 0.95, "bicubic"),
    ("squash", 224, 0.95, "bicubic"), ("squash", 288, 0.875, "bilinear"), ("squash", 224, 1.0, "hamming"),
    ("squash", (224, 320), 0.9, "bicubic"),
    ("border", 224, 0.95, "bicubic"), ("border", 224, 1.0, "bilinear"), ("border", 288, 0.9, "box"),
    ("border", 224, 0.875, "nearest"),
]


@pytest.mark.parametrize("mode,size,crop_pct,interpolation", PHOTO_CASES,
                         ids=[f"{m}_{s if isinstance(s, int) else 'x'.join(map(str, s))}_{p}_{i}"
                              for m, s, p, i in PHOTO_CASES])
def test_photos_match_timm(photos, mode, size, crop_pct, interpolation):
    h, w = (size, size) if isinstance(size, int) else size
    cfg = dict(input_size=(3, h, w), crop_pct=crop_pct, crop_mode=mode, interpolation=interpolation,
               mean=(0.5, 0.45, 0.4), std=(0.25, 0.2, 0.3))
    for pid, decoded, pil in photos:
        assert_same(reference_output(cfg, decoded), timm_output(pil, cfg), f"{pid} {cfg}")


def test_hub_config_with_test_size_matches_timm(photos):
    """A whole hub config.json (resnet50.a1_in1k's values): --test-size picks 288 / 1.0."""
    doc = {"architecture": "resnet50", "num_classes": 1000, "num_features": 2048, "global_pool": "avg",
           "pretrained_cfg": {"tag": "a1_in1k", "custom_load": False, "input_size": [3, 224, 224],
                              "test_input_size": [3, 288, 288], "fixed_input_size": False,
                              "interpolation": "bicubic", "crop_pct": 0.95, "test_crop_pct": 1.0,
                              "crop_mode": "center", "mean": [0.485, 0.456, 0.406],
                              "std": [0.229, 0.224, 0.225], "num_classes": 1000, "pool_size": [7, 7],
                              "first_conv": "conv1", "classifier": "fc"}}
    imp = import_timm(doc, source="config.json", test_size=True)
    assert imp.steps[1].knobs["shorter_side"] == 288 and imp.steps[2].knobs["height"] == 288
    steps = [make_step(s.knobs) for s in imp.steps]
    for pid, decoded, pil in photos[:2]:
        value = decoded
        for step in steps[1:]:
            value = run_step(step, value)
        assert_same(value, timm_output(pil, doc["pretrained_cfg"], test_size=True), pid)


def _noise(h: int, w: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_center_crop_offset_rounds_half_to_even():
    """W 200 -> 256, H 303 -> int(256 * 303 / 200) = 387; 387 - 224 = 163 (% 4 == 3): timm's
    CenterCrop starts at round(81.5) = 82, floor would give 81. Both transposes."""
    cfg = dict(input_size=(3, 224, 224), crop_pct=0.875, crop_mode="center", interpolation="bilinear")
    for img in (_noise(303, 200, 1), _noise(200, 303, 2)):
        want = timm_output(Image.fromarray(img), cfg)
        assert_same(reference_output(cfg, img), want, f"{img.shape}")
        steps = [make_step(s.knobs) for s in import_timm(cfg, source="cfg").steps]
        floor_crop = make_step({**steps[2].knobs(), "offset_rounding": "floor"})
        value = run_step(steps[1], img)
        assert (value.shape[0] - 224) % 4 == 3 or (value.shape[1] - 224) % 4 == 3
        value = run_step(steps[4], run_step(steps[3], run_step(floor_crop, value)))
        assert np.abs(value - want).max() > 0, "the floor offset must differ: the case is not a parity case"


def test_border_pads_odd_padding_after():
    """H 300, W 200, crop_pct 1.0: r = 300 / 224, W -> round(200 / r) = 149; 75 columns of fill
    [round(255 m)]: 37 left, 38 right (timm center_crop_or_pad)."""
    cfg = dict(input_size=(3, 224, 224), crop_pct=1.0, crop_mode="border", interpolation="bicubic",
               mean=(0.485, 0.456, 0.406))
    for img in (_noise(300, 200, 3), _noise(200, 300, 4)):
        got = reference_output(cfg, img)
        assert_same(got, timm_output(Image.fromarray(img), cfg), f"{img.shape}")
    imp = import_timm(cfg, source="cfg")
    assert imp.steps[2].knobs["value"] == [124, 116, 104]  # round(123.675), round(116.28), round(103.53)
    resized = run_step(make_step(imp.steps[1].knobs), _noise(300, 200, 3))
    assert resized.shape[:2] == (224, 149)
    padded = run_step(make_step(imp.steps[2].knobs), resized)
    assert (padded[:, :37] == [124, 116, 104]).all() and (padded[:, 37 + 149:] == [124, 116, 104]).all()
    assert padded.shape[1] - 37 - 149 == 38


def test_crop_pct_above_one_pads_with_zeros():
    """crop_pct 1.1: scale_size = floor(224 / 1.1) = 203 < 224: torchvision CenterCrop pads the
    short axis with 0 (odd pixel after) and crops the long one."""
    cfg = dict(input_size=(3, 224, 224), crop_pct=1.1, crop_mode="center", interpolation="bicubic")
    for img in (_noise(150, 260, 5), _noise(203, 203, 6)):
        assert_same(reference_output(cfg, img), timm_output(Image.fromarray(img), cfg), f"{img.shape}")


# --- rules read from timm's source, checked on the imported knobs ---------------------------------


def test_every_registry_config_resolves_as_timm_does():
    """Every pretrained_cfg in timm's registry (PretrainedCfg.to_dict(), nulls included), with and
    without test size, imports, and its knobs carry resolve_data_config's values: crop = input
    size, resize = floor(size / crop_pct) with the pillow preset of the interpolation, mean/std."""
    import math

    import timm
    from timm.models import get_pretrained_cfg

    count = 0
    for name in timm.list_pretrained():
        cfg = get_pretrained_cfg(name).to_dict()
        for test_size in (False, True):
            want = timm_data.resolve_data_config({}, pretrained_cfg=cfg, use_test_size=test_size)
            steps = [s.knobs for s in import_timm(cfg, source=name, test_size=test_size).steps]
            resize, crop, norm = steps[1], steps[2], steps[3]
            h, w = want["input_size"][1:]
            scale = math.floor(h / want["crop_pct"])
            assert (crop["height"], crop["width"]) == (h, w), name
            side = resize["height"] if want["crop_mode"] == "squash" else (
                resize["shorter_side"] if want["crop_mode"] == "center" else resize["longer_side"])
            assert side == scale and resize["preset"] == f"pillow.{want['interpolation']}", name
            assert (norm["mean"], norm["std"]) == (list(want["mean"]), list(want["std"])), name
            count += 1
    assert count > 1000


def test_scale_size_is_floor_of_size_over_crop_pct():
    """224 / 0.95 = 235.79 -> 235 (floor, not round); 224 / 0.875 = 256; 288 / 0.95 -> 303."""
    for size, pct, want in ((224, 0.95, 235), (224, 0.875, 256), (288, 0.95, 303), (224, 0.965, 232)):
        knobs = import_timm({"input_size": [3, size, size], "crop_pct": pct}, source="c").steps[1].knobs
        assert (knobs["shorter_side"], knobs["size_rounding"], knobs["size_formula"]) == (want, "floor", "product")


def test_defaults_are_resolve_data_config_defaults():
    """An empty pretrained_cfg: 224, bicubic (resolve_data_config's default, not
    transforms_imagenet_eval's bilinear), crop_pct 0.875, center, ImageNet mean/std."""
    steps = import_timm({}, source="c").steps
    assert steps[0].knobs["orientation"] == "ignore"
    assert steps[1].knobs["preset"] == "pillow.bicubic" and steps[1].knobs["shorter_side"] == 256
    assert (steps[2].knobs["height"], steps[2].knobs["width"]) == (224, 224)
    n = steps[3].knobs
    assert (n["mean"], n["std"], n["divisor"], n["compute_dtype"]) == (
        [0.485, 0.456, 0.406], [0.229, 0.224, 0.225], 255.0, "float32")


def test_border_resize_is_keep_ratio_longest():
    knobs = import_timm({"crop_mode": "border", "crop_pct": 0.95}, source="c").steps[1].knobs
    assert (knobs["longer_side"], knobs["size_formula"], knobs["size_rounding"]) == (235, "ratio", "round")


def test_test_size_falls_back_without_test_keys():
    imp = import_timm({"input_size": [3, 256, 256], "crop_pct": 1.0}, source="c", test_size=True)
    assert imp.steps[1].knobs["shorter_side"] == 256


def test_toml_round_trip_and_warnings():
    doc = {"architecture": "vit", "pretrained_cfg": {"hf_hub_id": "timm/x", "license": "mit",
                                                     "test_input_size": [3, 384, 384]}}
    imp = import_timm(doc, source="config.json")
    text = to_toml(imp)
    pipeline = pipeline_from_dict(tomllib.loads(text), source="out.toml")
    assert [s.op for s in pipeline.steps] == ["decode", "resize", "crop", "normalize", "layout"]
    joined = "\n".join(imp.warnings)
    assert "config.json: architecture: ignored" in joined
    assert "pretrained_cfg.hf_hub_id, pretrained_cfg.license: ignored" in joined
    assert "pretrained_cfg.test_input_size: not used" in joined
    assert "# pretrained_cfg.interpolation absent" in text


@pytest.mark.parametrize("doc,options,key,fragment", [
    ({"input_size": [3, 224, 224], "resize_mode": "x"}, {}, "resize_mode", "unknown pretrained_cfg key"),
    ({"pretrained_cfg": {}, "preprocess": {}}, {}, "preprocess", "unknown key of a timm hub"),
    ({"pretrained_cfg": []}, {}, "pretrained_cfg", "must be an object"),
    ({"input_size": [3, 224, 320]}, {}, "input_size", "non-square target"),
    ({"input_size": [3, 224, 320], "crop_mode": "border"}, {}, "input_size", "non-square target"),
    ({"input_size": [1, 224, 224]}, {}, "input_size", "only 3-channel"),
    ({"input_size": [224, 224]}, {}, "input_size", "[channels, height, width]"),
    ({"interpolation": "random"}, {}, "interpolation", "not an eval interpolation"),
    ({"crop_mode": "fit"}, {}, "crop_mode", "not one of"),
    ({"crop_pct": -1}, {}, "crop_pct", "> 0"),
    ({"mean": [0.5, 0.5]}, {}, "mean", "1 or 3 numbers"),
    ({"std": [0, 1, 1]}, {}, "std", "divides by zero"),
    ({"pretrained_cfg": {"crop_pct": "x"}}, {}, "pretrained_cfg.crop_pct", "> 0"),
    ({}, {"weights": "x"}, "--weights", "not an option"),
])
def test_errors_name_the_key(doc, options, key, fragment):
    with pytest.raises(ConfigError) as e:
        import_timm(doc, source="cfg.json", **options)
    assert e.value.key == key and fragment in str(e.value) and str(e.value).startswith(f"cfg.json: {key}: ")


def test_no_config_is_an_error():
    with pytest.raises(ConfigError, match="needs a config"):
        import_timm(None, source="<options>")


# --- the example files ---------------------------------------------------------------------------

EXAMPLES = __import__("pathlib").Path(__file__).resolve().parent.parent / "examples" / "models"


def test_examples_are_what_the_importer_writes():
    """examples/models/timm_*.toml are ``conformance import timm examples/models/X.json`` (and
    ``--test-size`` for ``*.test.toml``): regenerate them after changing the importer."""
    from conformance.importers.common import load_config

    jsons = sorted(EXAMPLES.glob("timm_*.json"))
    assert jsons
    for path in jsons:
        doc, source = load_config(path), f"examples/models/{path.name}"
        assert path.with_suffix(".toml").read_text(encoding="utf-8") == to_toml(import_timm(doc, source=source))
        test_file = path.with_name(path.stem + ".test.toml")
        if test_file.exists():
            want = to_toml(import_timm(doc, source=source, test_size=True))
            assert test_file.read_text(encoding="utf-8") == want


def test_example_configs_are_timms_registry_values():
    """The typed-in hub configs hold the values of timm's own registry (get_pretrained_cfg)."""
    import json

    from timm.models import get_pretrained_cfg

    from conformance.importers.common import load_config

    for path in sorted(EXAMPLES.glob("timm_*.json")):
        doc = load_config(path)
        cfg = get_pretrained_cfg(f"{doc['architecture']}.{doc['pretrained_cfg']['tag']}")
        want = cfg.to_dict(remove_source=True, remove_null=True)
        want.pop("architecture"), want.pop("url", None)
        assert json.loads(json.dumps(want)) == doc["pretrained_cfg"], path.name


def test_example_pipelines_match_timm_on_a_photo(photos):
    from conformance.importers.common import load_config
    from conformance.spec import load_pipelines

    pid, decoded, pil = photos[1]  # chelsea 300x451: non-square, so crop and pad both matter
    for path in sorted(EXAMPLES.glob("timm_*.json")):
        steps = load_pipelines(path.with_suffix(".toml"))[0].steps
        value = decoded
        for step in steps[1:]:
            value = run_step(step, value)
        assert_same(value, timm_output(pil, load_config(path)["pretrained_cfg"]), f"{path.name} {pid}")
