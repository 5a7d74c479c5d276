"""The Hugging Face importer against the real transformers 5 image processors (the oracle).

For every supported class, the imported pipeline runs through the reference on encoded files
(decode included) and the real processor runs on the same pixels (PIL decode, exif_transpose,
convert('RGB'), as ``transformers.image_utils.load_image``); their ``pixel_values`` are compared
by max abs difference per element.

Measured (transformers 5.25.0, torch 2.15.0, torchvision 0.29.2, Pillow 13.0.0):
- PIL backend: 0 on every class, every corpus photo, the crop-parity sizes, the padding path and
  both ConvNext branches (bit-identical float32).
- torchvision backend: crop + rescale/normalize 0 (inputs already at the resize target, so the
  resize is the identity in both); the resize itself is torch's antialiased uint8 kernel, which
  the pillow.<filter> preset reproduces to within :data:`TORCHVISION_RESIZE_LEVELS` uint8 levels
  (on the example configs and corpus photos: bilinear 1, bicubic 2; a fraction of a percent of
  the values differ), i.e. up to 2 / (255 * std) in pixel_values (0.035 for ImageNet std).
"""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from conformance import corpus
from conformance.encoders.png import encode_png
from conformance.importers import ConfigError, import_file, to_toml
from conformance.importers.common import Imported
from conformance.importers.hf import CLASSES, import_hf
from conformance.reference.pipeline import run_pipeline
from conformance.spec import load_pipelines, pipeline_from_dict

transformers = pytest.importorskip("transformers")
from PIL import Image, ImageOps  # noqa: E402

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "models"
HF_EXAMPLES = sorted(EXAMPLES.glob("hf_*.json"))
# max abs, uint8 levels, torch's antialiased uint8 resize vs the Pillow preset (measured above)
TORCHVISION_RESIZE_LEVELS = {"triangle": 1, "cubic": 2}


def _pipeline(imp: Imported):
    """The imported pipeline as a user gets it: through its TOML text."""
    import tomllib
    return pipeline_from_dict(tomllib.loads(to_toml(imp)), source=imp.id)


def _processor(cfg: dict, backend: str):
    name = (cfg.get("image_processor_type") or cfg["feature_extractor_type"])
    base = name.replace("FeatureExtractor", "ImageProcessor").removesuffix("Fast")
    cls = getattr(transformers, base + ("Pil" if backend == "pil" else ""))
    kwargs = {k: v for k, v in cfg.items() if k not in ("image_processor_type", "feature_extractor_type",
                                                         "processor_class", "reduce_labels")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cls(**kwargs)


def _theirs(proc, rgb: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return proc(Image.fromarray(rgb), return_tensors="np")["pixel_values"]


def _loaded(data: bytes) -> np.ndarray:
    """transformers.image_utils.load_image: exif_transpose, then convert('RGB')."""
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(ImageOps.exif_transpose(im).convert("RGB"))


def _png(rgb: np.ndarray) -> bytes:
    return encode_png(rgb, colour_type=2, bit_depth=8)


def _noise(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed + h * 7919 + w).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _max_diff(cfg: dict, backend: str, inputs: list[tuple[bytes, np.ndarray]], name="cfg.json") -> float:
    imp = import_hf(cfg, source=name, backend=backend)
    pipe = _pipeline(imp)
    proc = _processor(cfg, backend)
    worst = 0.0
    for data, rgb in inputs:
        ours = run_pipeline(pipe, data)[-1]
        theirs = _theirs(proc, rgb)
        assert ours.shape == theirs.shape and ours.dtype == theirs.dtype, (ours.shape, theirs.shape)
        worst = max(worst, float(np.abs(ours.astype(np.float64) - theirs).max()))
    return worst


def _photos() -> list[tuple[bytes, np.ndarray]]:
    return [(i.data, _loaded(i.data)) for i in corpus.full_size_photos()]


# --- class defaults, read from the installed classes (both backends) --------------------------

@pytest.mark.parametrize("name", sorted(CLASSES))
def test_class_defaults_match_transformers(name):
    cls = CLASSES[name]
    for real in (getattr(transformers, name + "Pil"), getattr(transformers, name)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p = real()
        assert p.default_to_square == cls.default_to_square
        for key, ours in cls.defaults.items():
            theirs = getattr(p, key, None)
            if key in ("size", "crop_size") and theirs is not None:
                theirs = {k: v for k, v in dict(theirs).items() if v is not None}
            if key in ("image_mean", "image_std") and theirs is not None:
                theirs = tuple(theirs)
            if key == "resample" and theirs is not None:
                theirs = int(theirs)
            assert (ours or None) == (theirs or None), (real.__name__, key, ours, theirs)
        if name == "ConvNextImageProcessor":
            assert p.crop_pct == 224 / 256


# --- PIL backend: bit-exact -------------------------------------------------------------------

@pytest.mark.parametrize("path", HF_EXAMPLES, ids=lambda p: p.stem)
def test_pil_backend_equals_processor_on_photos(path):
    """Every example config, every corpus photo (EXIF-rotated one included): max abs 0."""
    cfg = json.loads(path.read_text())
    assert _max_diff(cfg, "pil", _photos(), path.name) == 0.0


def _crop_parity_inputs() -> list[tuple[bytes, np.ndarray]]:
    # shortest_edge 224, crop 224: 448x455 -> 224x227 ((227 - 224) % 4 == 3), and 455x448
    out = []
    for h, w in ((448, 455), (455, 448), (300, 451), (97, 61)):
        a = _noise(h, w)
        out.append((_png(a), a))
    return out


@pytest.mark.parametrize("cfg", [
    {"image_processor_type": "CLIPImageProcessor"},
    {"image_processor_type": "BitImageProcessor", "size": 229, "crop_size": 224},  # 229x... crop parity
    {"image_processor_type": "MobileNetV2ImageProcessor"},
    {"image_processor_type": "DeiTImageProcessor", "size": {"height": 259, "width": 258}},  # (259-224)%4 == 3
    {"image_processor_type": "BeitImageProcessor", "do_center_crop": True, "size": 227, "crop_size": 224},
    {"image_processor_type": "ViTImageProcessor", "resample": 0},
    {"image_processor_type": "SiglipImageProcessor", "resample": 1},
    {"image_processor_type": "BlipImageProcessor", "resample": 4, "size": 100},
    {"image_processor_type": "ViTImageProcessor", "resample": 5, "size": [50, 70]},
    {"image_processor_type": "ConvNextImageProcessor", "size": 224, "crop_pct": 0.9},  # int(248.9) = 248
    {"image_processor_type": "ConvNextImageProcessor", "size": 384},  # >= 384: warp, no crop
    {"image_processor_type": "ConvNextImageProcessor", "size": 200, "crop_pct": 1.1},  # crop > resized: pad
    {"image_processor_type": "CLIPImageProcessor", "do_resize": False, "crop_size": 120},  # 97x61 pads
    {"image_processor_type": "CLIPImageProcessor", "do_normalize": False},
    {"image_processor_type": "CLIPImageProcessor", "do_rescale": False},
    {"image_processor_type": "CLIPImageProcessor", "do_rescale": False, "do_normalize": False},
], ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()).replace("image_processor_type=", ""))
def test_pil_backend_rules(cfg):
    """The rules that are easy to get wrong, on sizes chosen to hit them: crop parity
    ((H - ch) % 4 == 3), truncation of the long side (300x451 -> 224x336, 336.75 truncated),
    ConvNext's int(shortest_edge / crop_pct) and both of its branches, a crop larger than the
    image (zero padding, the odd pixel before), every resample filter, each rescale/normalize
    branch. Max abs difference 0."""
    assert _max_diff(cfg, "pil", _crop_parity_inputs()) == 0.0


def test_truncation_and_convnext_sizes_are_what_hf_computes():
    """The size rules by themselves, where rounding would give another answer."""
    from transformers.image_transforms import get_resize_output_image_size
    clip = _pipeline(import_hf({"image_processor_type": "CLIPImageProcessor"}, source="c.json", backend="pil"))
    resize = clip.steps[1]
    chw = np.zeros((3, 300, 451), np.uint8)
    assert resize.output_size(300, 451) == get_resize_output_image_size(chw, 224, default_to_square=False,
                                                                        input_data_format="channels_first")
    assert resize.output_size(300, 451) == (224, 336)  # 224 * 451 / 300 = 336.75: truncated, not 337
    conv = _pipeline(import_hf({"image_processor_type": "ConvNextImageProcessor", "size": 224,
                                "crop_pct": 0.9}, source="c.json", backend="pil"))
    assert conv.steps[1].shorter_side == 248  # int(224 / 0.9) = int(248.88...), not 249
    assert [s.op for s in conv.steps] == ["decode", "resize", "crop", "normalize", "layout"]
    big = _pipeline(import_hf({"image_processor_type": "ConvNextImageProcessor", "size": 384},
                              source="c.json", backend="pil"))
    assert [s.op for s in big.steps] == ["decode", "resize", "normalize", "layout"]
    assert (big.steps[1].height, big.steps[1].width) == (384, 384)


def test_image_open_loader_composites_rgba_on_white():
    """loader=image_open: a PIL RGBA image handed to the processor is composited on white by
    convert_to_rgb; the decode step's composite reproduces it (and Image.alpha_composite equals
    the float composite rounded half up on all 256 x 256 (alpha, value) pairs)."""
    v, a = np.meshgrid(np.arange(256), np.arange(256))
    rgba = np.stack([v, v, v, a], -1).astype(np.uint8)
    white = Image.new("RGBA", (256, 256), (255, 255, 255, 255))
    pil = np.asarray(Image.alpha_composite(white, Image.fromarray(rgba, "RGBA")).convert("RGB"))[..., 0]
    assert np.array_equal(pil, np.floor(a / 255 * v + (1 - a / 255) * 255 + 0.5).astype(np.uint8))

    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, (61, 83, 4), dtype=np.uint8)
    data = encode_png(img, colour_type=6, bit_depth=8)
    for backend in ("pil", "torchvision"):
        cfg = {"image_processor_type": "SiglipImageProcessor", "do_resize": False}
        pipe = _pipeline(import_hf(cfg, source="c.json", backend=backend, loader="image_open"))
        proc = _processor(cfg, backend)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = proc(Image.open(io.BytesIO(data)), return_tensors="np")["pixel_values"]
        assert np.abs(run_pipeline(pipe, data)[-1] - theirs).max() == 0.0


# --- torchvision backend --------------------------------------------------------------------

@pytest.mark.parametrize("cfg,size", [
    ({"image_processor_type": "CLIPImageProcessor"}, (224, 231)),  # (231 - 224) % 4 == 3
    ({"image_processor_type": "DeiTImageProcessor", "size": {"height": 259, "width": 259}}, (259, 259)),
    ({"image_processor_type": "ConvNextImageProcessor", "size": 224}, (256, 263)),
    ({"image_processor_type": "MobileNetV2ImageProcessor", "crop_size": 300}, (256, 263)),  # pads 37 / 44
    ({"image_processor_type": "ViTImageProcessor"}, (224, 224)),
    ({"image_processor_type": "BlipImageProcessor", "do_normalize": False}, (384, 384)),
    ({"image_processor_type": "BlipImageProcessor", "do_rescale": False}, (384, 384)),
], ids=lambda x: str(x))
def test_torchvision_backend_crop_and_normalize_exact(cfg, size):
    """Inputs already at the resize target, so resize is the identity in both: the crop (floor,
    padding odd pixel after) and the fused rescale+normalize are bit-exact (max abs 0)."""
    a = _noise(*size, seed=5)
    assert _max_diff(cfg, "torchvision", [(_png(a), a), (_png(a[::-1].copy()), a[::-1].copy())]) == 0.0


@pytest.mark.parametrize("path", HF_EXAMPLES, ids=lambda p: p.stem)
def test_torchvision_backend_resize_gap_on_photos(path):
    """The torchvision backend's resize (torch's antialiased uint8 kernel) against the preset the
    importer writes, measured in uint8 levels (do_rescale and do_normalize off, so pixel_values
    are the resized and cropped uint8 pixels): within :data:`TORCHVISION_RESIZE_LEVELS`;
    0 when a bit-exact torchvision.tensor preset is in use."""
    cfg = {**json.loads(path.read_text()), "do_rescale": False, "do_normalize": False}
    imp = import_hf(cfg, source=path.name, backend="torchvision")
    resize = next(s for s in imp.steps if s.knobs["op"] == "resize")
    gap = _max_diff(cfg, "torchvision", _photos(), path.name)
    exact = resize.knobs["preset"].startswith("torchvision.")
    assert gap <= (0 if exact else TORCHVISION_RESIZE_LEVELS[resize.knobs["filter"]])


# --- errors and warnings ----------------------------------------------------------------------

@pytest.mark.parametrize("cfg,key", [
    ({"image_processor_type": "CLIPImageProcessor", "do_thumbnail": True}, "do_thumbnail"),
    ({"image_processor_type": "DetrImageProcessor"}, "image_processor_type"),
    ({"do_resize": True}, "image_processor_type"),
    ({"image_processor_type": "CLIPImageProcessor", "size": {"shortest_edge": 224, "longest_edge": 500}}, "size"),
    ({"image_processor_type": "CLIPImageProcessor", "size": {"width": 3}}, "size"),
    ({"image_processor_type": "CLIPImageProcessor", "size": "224"}, "size"),
    ({"image_processor_type": "CLIPImageProcessor", "resample": 7}, "resample"),
    ({"image_processor_type": "CLIPImageProcessor", "image_mean": [0.5, 0.5]}, "image_mean"),
    ({"image_processor_type": "CLIPImageProcessor", "do_resize": "yes"}, "do_resize"),
    ({"image_processor_type": "CLIPImageProcessor", "do_pad": True}, "do_pad"),
    ({"image_processor_type": "ConvNextImageProcessor", "size": {"height": 2, "width": 2}}, "size"),
    ({"image_processor_type": "ViTImageProcessor", "resample": 4}, "resample"),  # torchvision: no BOX
    ({"image_processor_type": "ViTImageProcessor", "crop_pct": 0.9}, "crop_pct"),  # not a ViT key
])
def test_bad_or_unsupported_config_names_the_key(cfg, key):
    with pytest.raises(ConfigError) as e:
        import_hf(cfg, source="p.json", backend="torchvision")
    assert e.value.key == key and str(e.value).startswith(f"p.json: {key}: ")


def test_harmless_keys_warn_by_name():
    imp = import_hf({"image_processor_type": "BeitImageProcessor", "reduce_labels": False,
                     "return_tensors": "pt"}, source="x/p.json", backend="pil")
    assert any(w.startswith("p.json: reduce_labels: ignored") for w in imp.warnings)
    assert any(w.startswith("p.json: return_tensors: ignored") for w in imp.warnings)
    tv = import_hf({"image_processor_type": "ViTImageProcessor"}, source="p.json", backend="torchvision")
    assert any("resample" in w and "torch" in w for w in tv.warnings) or \
        tv.steps[1].knobs["preset"].startswith("torchvision.")


# --- examples: the committed TOML is what the importer writes ----------------------------------

@pytest.mark.parametrize("path", HF_EXAMPLES, ids=lambda p: p.stem)
def test_examples_are_reimported_byte_for_byte(path):
    for backend, suffix in (("torchvision", ".toml"), ("pil", ".pil.toml")):
        toml = path.with_name(path.stem + suffix)
        assert to_toml(import_file("hf", path, backend=backend)) == toml.read_text(encoding="utf-8"), \
            f"{toml.name} is stale: regenerate it (examples/models/README.md)"
        assert load_pipelines(toml)[0].id == f"{path.stem}.{backend}"
