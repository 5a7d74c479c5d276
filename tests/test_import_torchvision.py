"""The torchvision importer against torchvision itself (0.29.2, torch 2.15, Pillow 13.0.0).

Oracle: ``torchvision.models.get_weight(name).transforms()`` (``ImageClassification``) applied to
the PIL image ``Image.open(f).convert('RGB')``, given the batch axis; for a parameters file,
``ImageClassification(**params)``. Candidate: the imported pipeline run by the reference, its
decode step checked to return the very array fed to torchvision.

Tolerance (STYLE 9), metric = max abs difference of any output element: 0 (``EXACT``), measured
0.0 on every case: PIL's resize is reproduced bit for bit by the pillow.* presets, the crop is
index arithmetic, ``convert_image_dtype`` divides by 255.0 in float32 like the normalize preset.

Families: corpus photos (``full_size_photos``, 4 JPEGs) x 7 weights spanning bilinear/bicubic,
resize 232/256/342/384, crop 224/299/384 and non-ImageNet mean/std; synthetic images for the crop
parity case ((H - h) % 4 == 3 after the resize: round half to even) and a crop larger than the
resized image (zero padding, odd pixel after); the offline table against the installed
torchvision, row by row.
"""

from __future__ import annotations

import tomllib

import numpy as np
import pytest

import imported_pipelines as shared

from conformance.importers.common import ConfigError, to_toml
from conformance.importers.torchvision import import_torchvision
from conformance.importers.torchvision_weights import DEFAULTS, WEIGHTS
from conformance.reference.pipeline import run_step
from conformance.spec import make_step, pipeline_from_dict

Image = pytest.importorskip("PIL.Image")


PHOTO_WEIGHTS = ("ResNet50_Weights.IMAGENET1K_V2", "ResNet18_Weights.IMAGENET1K_V1",
                 "EfficientNet_B0_Weights.IMAGENET1K_V1", "Inception_V3_Weights.IMAGENET1K_V1",
                 "ViT_B_16_Weights.IMAGENET1K_SWAG_E2E_V1", "EfficientNet_V2_L_Weights.IMAGENET1K_V1",
                 "ConvNeXt_Tiny_Weights.IMAGENET1K_V1")


def _torchvision():
    return pytest.importorskip("torchvision")


def reference_output(imp, image: np.ndarray) -> np.ndarray:
    return shared.reference_output(imp, image)


def assert_same(got: np.ndarray, want: np.ndarray, what: str) -> None:
    shared.assert_same(got, want, what, "torchvision")


@pytest.fixture(scope="module")
def photos():
    return shared.decoded_photos(import_torchvision(None, source="<options>",
                                                    weights="ResNet18_Weights.IMAGENET1K_V1").steps[0].knobs)


@pytest.mark.parametrize("weights", PHOTO_WEIGHTS)
def test_photos_match_weights_transforms(photos, weights):
    tv = _torchvision()
    transform = tv.models.get_weight(weights).transforms()
    imp = import_torchvision(None, source="<options>", weights=weights)
    for pid, decoded, pil in photos:
        assert_same(reference_output(imp, decoded), transform(pil).unsqueeze(0).numpy(), f"{pid} {weights}")


def _noise(h: int, w: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_crop_offset_rounds_half_to_even():
    """ResNet50 V2 (232 -> 224): W 200 -> 232, H 301 -> int(232 * 301 / 200) = 349; 349 - 224 =
    125 (% 4 == 1: round(62.5) = 62 = floor); H 303 -> 351, 127 (% 4 == 3: round(63.5) = 64,
    floor 63). The floor variant must differ on the second, else the case proves nothing."""
    tv = _torchvision()
    weights = "ResNet50_Weights.IMAGENET1K_V2"
    transform = tv.models.get_weight(weights).transforms()
    imp = import_torchvision(None, source="<options>", weights=weights)
    for img in (_noise(301, 200, 1), _noise(303, 200, 2), _noise(200, 303, 3)):
        want = transform(Image.fromarray(img)).unsqueeze(0).numpy()
        assert_same(reference_output(imp, img), want, f"{img.shape}")
    steps = [make_step(s.knobs) for s in imp.steps]
    img = _noise(303, 200, 2)
    resized = run_step(steps[1], img)
    assert resized.shape[:2] == (351, 232) and (351 - 224) % 4 == 3
    floor_crop = make_step({**steps[2].knobs(), "offset_rounding": "floor"})
    value = run_step(steps[4], run_step(steps[3], run_step(floor_crop, resized)))
    assert np.abs(value - transform(Image.fromarray(img)).unsqueeze(0).numpy()).max() > 0


def test_crop_larger_than_image_pads_zeros_after():
    """A parameters file with crop 224 > resize 201: F.center_crop pads 23 (11 before, 12 after)
    with 0 on the short axis and crops the long one."""
    tv = _torchvision()
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms._presets import ImageClassification

    params = {"resize_size": 201, "crop_size": 224, "interpolation": "bicubic", "antialias": True,
              "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}
    transform = ImageClassification(crop_size=224, resize_size=201, interpolation=InterpolationMode.BICUBIC,
                                    mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    imp = import_torchvision(params, source="params.json")
    for img in (_noise(150, 260, 4), _noise(260, 150, 5)):
        assert_same(reference_output(imp, img), transform(Image.fromarray(img)).unsqueeze(0).numpy(),
                    f"{img.shape}")
    assert tv is not None


def test_table_matches_installed_torchvision():
    """Every row of the offline table equals get_weight(name).transforms() of the installed
    torchvision, and every ImageClassification weights of it is in the table."""
    tv = _torchvision()
    from torchvision.transforms._presets import ImageClassification

    seen = {}
    for module in (tv.models, tv.models.quantization):
        for model in tv.models.list_models(module=module):
            enum = tv.models.get_model_weights(model)
            for member in enum:
                t = member.transforms()
                if isinstance(t, ImageClassification):
                    seen[f"{enum.__name__}.{member.name}"] = (
                        t.resize_size[0], t.crop_size[0], t.interpolation.value, t.antialias,
                        (tuple(t.mean), tuple(t.std)))
                    assert DEFAULTS[enum.__name__] == enum.DEFAULT.name
    assert seen == WEIGHTS


def test_resnet50_v2_values_and_default_alias():
    imp = import_torchvision(None, source="<options>", weights="ResNet50_Weights.DEFAULT")
    assert imp.id == "torchvision.ResNet50_Weights.IMAGENET1K_V2"
    resize, crop, norm = (s.knobs for s in imp.steps[1:4])
    assert (resize["shorter_side"], resize["size_rounding"], resize["preset"]) == (232, "floor", "pillow.bilinear")
    assert (crop["height"], crop["width"], crop["offset_rounding"], crop["if_smaller"]) == (
        224, 224, "round", "pad")
    assert (norm["divisor"], norm["compute_dtype"], norm["mean"]) == (255.0, "float32", [0.485, 0.456, 0.406])
    inception = import_torchvision(None, source="<options>", weights="Inception_V3_Weights.IMAGENET1K_V1")
    assert (inception.steps[1].knobs["shorter_side"], inception.steps[2].knobs["height"]) == (342, 299)


def test_parameters_file_defaults_and_round_trip():
    """Only crop_size given: ImageClassification's defaults (256, bilinear, antialias, ImageNet)."""
    imp = import_torchvision({"crop_size": 224}, source="p.json")
    assert imp.steps[1].knobs["shorter_side"] == 256 and imp.steps[1].knobs["preset"] == "pillow.bilinear"
    text = to_toml(imp)
    assert [s.op for s in pipeline_from_dict(tomllib.loads(text)).steps] == [
        "decode", "resize", "crop", "normalize", "layout"]
    assert imp.warnings == []


def test_antialias_false_warns_for_pil_input():
    imp = import_torchvision({"crop_size": 224, "antialias": False}, source="p.json")
    assert imp.warnings and "p.json: antialias: False ignored" in imp.warnings[0]
    assert imp.steps[1].knobs["antialias"] is True


def test_nearest_exact_is_pil_nearest():
    imp = import_torchvision({"crop_size": 224, "interpolation": "nearest-exact"}, source="p.json")
    assert imp.steps[1].knobs["preset"] == "pillow.nearest"


# --tensor (uint8 tensor input): a named tolerance, metric = |difference| in uint8 levels of the
# resized image (normalised difference x 255 x std), per element. Measured on the corpus photos:
# max 1 level, on at most ~5e-5 of the elements (torch's float32 antialiased interpolate vs the
# float32 knobs of TORCH_FLOAT_AA: last-ulp differences in weight normalisation flip a rounding).
TENSOR_TOLERANCE = {"max_levels": 1, "max_fraction": 1e-4,
                    "reason": "torch's float32 AA interpolate is approximated, not modelled bit for bit"}


@pytest.mark.parametrize("weights", ["ResNet50_Weights.IMAGENET1K_V2", "EfficientNet_B0_Weights.IMAGENET1K_V1"])
def test_tensor_input_is_within_the_named_tolerance(photos, weights):
    tv = _torchvision()
    from torchvision.transforms.functional import pil_to_tensor

    transform = tv.models.get_weight(weights).transforms()
    imp = import_torchvision(None, source="<options>", weights=weights, tensor=True)
    assert any("--tensor" in w for w in imp.warnings)
    std = np.asarray(imp.steps[3].knobs["std"]).reshape(1, 3, 1, 1)
    worst, fraction = 0.0, 0.0
    for pid, decoded, pil in photos:
        want = transform(pil_to_tensor(pil)).unsqueeze(0).numpy()
        got = reference_output(imp, decoded)
        levels = np.abs(got.astype(np.float64) - want) * 255 * std
        worst, fraction = max(worst, levels.max()), max(fraction, float((levels > 0.5).mean()))
    print(f"{weights} --tensor: max {worst:.4f} levels, fraction differing {fraction:.2e}")
    assert worst <= TENSOR_TOLERANCE["max_levels"] + 1e-3 and fraction <= TENSOR_TOLERANCE["max_fraction"]


@pytest.mark.parametrize("params,fragment", [
    ({"crop_size": 224, "interpolation": "nearest"}, "only antialiased bilinear and bicubic"),
    ({"crop_size": 224, "interpolation": "bilinear", "antialias": False}, "only antialiased"),
])
def test_tensor_input_refuses_unmodelled_kernels(params, fragment):
    with pytest.raises(ConfigError, match=fragment):
        import_torchvision(params, source="p.json", tensor=True)


@pytest.mark.parametrize("doc,options,key,fragment", [
    ({"crop_size": 224, "size": 256}, {}, "size", "not an ImageClassification parameter"),
    ({"resize_size": 256}, {}, "crop_size", "required"),
    ({"crop_size": [224, 224]}, {}, "crop_size", "positive integer"),
    ({"crop_size": 224, "interpolation": 2}, {}, "interpolation", "InterpolationMode value"),
    ({"crop_size": 224, "antialias": "yes"}, {}, "antialias", "true, false or null"),
    ({"crop_size": 224, "std": [0.5, 0, 0.5]}, {}, "std", "divides by zero"),
    ({"crop_size": 224}, {"weights": "ResNet50_Weights.IMAGENET1K_V2"}, "--weights", "not both"),
    (None, {}, "--weights", "needs --weights"),
    ({"crop_size": 224}, {"test_size": True}, "--test-size", "not an option"),
])
def test_errors_name_the_key(doc, options, key, fragment):
    with pytest.raises(ConfigError) as e:
        import_torchvision(doc, source="p.json", **options)
    assert e.value.key == key and fragment in str(e.value)


def test_unknown_weights_suggests_names():
    with pytest.raises(ConfigError) as e:
        import_torchvision(None, source="<options>", weights="ResNet50_Weights.IMAGENET1K_V3")
    assert str(e.value).startswith("--weights: unknown classification weights")
    assert "ResNet50_Weights.IMAGENET1K_V2" in str(e.value)


EXAMPLES = __import__("pathlib").Path(__file__).resolve().parent.parent / "examples" / "models"


def test_examples_are_what_the_importer_writes():
    """examples/models/torchvision_<Weights>.toml = ``conformance import torchvision --weights
    <Weights> --out ...``: regenerate them after changing the importer."""
    files = sorted(EXAMPLES.glob("torchvision_*.toml"))
    assert files
    for path in files:
        weights = path.stem.removeprefix("torchvision_")
        assert path.read_text(encoding="utf-8") == to_toml(import_torchvision(None, source="<options>",
                                                                              weights=weights)), path.name
