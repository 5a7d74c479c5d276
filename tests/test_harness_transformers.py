"""The transformers harness (``conformance.harnesses.transformers``) against the real processors.

The oracle is transformers itself (5.25.0, PIL backend, no torch): :func:`run_processor` builds
the class a ``preprocessor_config.json`` names (``CLIPImageProcessor`` -> ``CLIPImageProcessorPil``)
from the config dict, offline, and returns its ``pixel_values``.

1. Step mapping = the processor: for CLIP (shortest_edge 224 + crop 224, bicubic), ViT (224x224
   bilinear), ConvNext (crop_pct 0.875 at 224; 0.95 at 160; the >= 384 warp branch) and an input
   smaller than the crop window (zero padding, odd pixel before), the pipeline written by hand as
   step dicts and run through the harness *chained* (decode -> resize -> crop -> normalize ->
   layout on its own outputs) equals ``run_processor(config, image)`` bitwise (0 ULP, same dtype
   and shape), on real photographs cut to odd sizes, for a PNG and an RGBA PNG (alpha over white).
2. The reference agrees: each step of those pipelines run by the reference (isolated: on the
   harness's input of that step) equals the harness output bitwise, i.e. the knobs
   ``size_rounding="floor"``, ``offset_rounding="floor"`` + ``if_smaller="pad"`` +
   ``pad_extra="before"``, ``scale_dtype="float64"`` + ``compute_dtype="float32"`` *are*
   transformers' PIL backend.
3. Decode as transformers users get it: ``load_image`` (EXIF applied, alpha dropped) then the
   processor's ``convert_to_rgb``, which paints a PNG tRNS key white even after ``convert("RGB")``
   (measured here through the real processor).
4. Unsupported steps say why; ``run_processor`` rejects an unknown class with a SpecError naming
   the key and value.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from conformance import corpus
from conformance.errors import SpecError
from conformance.harnesses import load
from conformance.harnesses.transformers import TransformersHarness, processor_class, run_processor
from conformance.reference.pipeline import run_step
from conformance.spec import make_step

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


@pytest.fixture(scope="module")
def harness() -> TransformersHarness:
    return TransformersHarness()


def png_bytes(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "PNG")
    return buf.getvalue()


def photo(name: str, h: int, w: int) -> np.ndarray:
    """A real photograph (scikit-image, full size) cut to an odd (h, w) from an off-centre corner."""
    a = corpus.photo(name, 1)
    return np.ascontiguousarray(a[3:3 + h, 5:5 + w])


def with_alpha(rgb: np.ndarray) -> np.ndarray:
    """RGBA: a diagonal alpha ramp covering 0..255 (transparent, translucent and opaque pixels)."""
    h, w = rgb.shape[:2]
    ramp = (np.add.outer(np.arange(h), np.arange(w)) * 255 // (h + w - 2)).astype(np.uint8)
    return np.dstack([rgb, ramp])


# --- hand-written pipelines (the knobs of transformers' PIL backend) --------------------------


def decode(orientation: str = "ignore", alpha: str = "composite") -> dict:
    # processor(Image.open(f)): no EXIF, the processor's convert_to_rgb composites over white
    return {"op": "decode", "output": "rgb", "orientation": orientation, "alpha": alpha}


def resize(filter_preset: str, **size) -> dict:
    # PIL Image.resize; a shortest_edge size is int(S * long / short): floor
    return {"op": "resize", "preset": filter_preset, "size_rounding": "floor", **size}


def crop(h: int, w: int) -> dict:
    # image_transforms.center_crop: top = (H - h) // 2, zero padding with ceil(d / 2) before
    return {"op": "crop", "mode": "center", "height": h, "width": w, "offset_rounding": "floor",
            "if_smaller": "pad", "pad_extra": "before", "value": [0]}


def normalize(mean, std, scale: float = 1 / 255) -> dict:
    # rescale: float64 product rounded to float32; normalize: (x - mean) / std in float32
    return {"op": "normalize", "scale": scale, "mean": mean, "std": std, "order": "scale_first",
            "compute_dtype": "float32", "scale_dtype": "float64", "dtype": "float32"}


LAYOUT = {"op": "layout", "layout": "chw", "batch": True, "channel_order": "keep"}

# (id, preprocessor_config.json dict, steps, photo, (h, w)): sizes chosen so the derived side is
# a truncation (not an exact product) and the crop offset (H - h) / 2 has a half
CASES = [
    ("clip224", {"image_processor_type": "CLIPImageProcessor", "size": {"shortest_edge": 224},
                 "crop_size": {"height": 224, "width": 224}, "do_center_crop": True, "resample": 3,
                 "image_mean": CLIP_MEAN, "image_std": CLIP_STD},
     [decode(), resize("pillow.bicubic", shorter_side=224), crop(224, 224),
      normalize(CLIP_MEAN, CLIP_STD), LAYOUT], "chelsea", (299, 257)),
    ("vit224", {"image_processor_type": "ViTImageProcessor", "size": {"height": 224, "width": 224},
                "resample": 2, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]},
     [decode(), resize("pillow.bilinear", height=224, width=224),
      normalize([0.5], [0.5]), LAYOUT], "coffee", (181, 311)),
    ("convnext224_pct0.875", {"image_processor_type": "ConvNextImageProcessor",
                              "size": {"shortest_edge": 224}, "crop_pct": 0.875, "resample": 3,
                              "image_mean": IMAGENET_MEAN, "image_std": IMAGENET_STD},
     # shortest_edge < 384: resize the short side to int(224 / 0.875) = 256, crop 224
     [decode(), resize("pillow.bicubic", shorter_side=256), crop(224, 224),
      normalize(IMAGENET_MEAN, IMAGENET_STD), LAYOUT], "coffee", (287, 395)),
    ("convnext160_pct0.95", {"image_processor_type": "ConvNextImageProcessor",
                             "size": {"shortest_edge": 160}, "crop_pct": 0.95, "resample": 3,
                             "image_mean": IMAGENET_MEAN, "image_std": IMAGENET_STD},
     # int(160 / 0.95) = int(168.42...) = 168
     [decode(), resize("pillow.bicubic", shorter_side=168), crop(160, 160),
      normalize(IMAGENET_MEAN, IMAGENET_STD), LAYOUT], "chelsea", (297, 211)),
    ("convnext384_warp", {"image_processor_type": "ConvNextImageProcessor",
                          "size": {"shortest_edge": 384}, "resample": 3,
                          "image_mean": IMAGENET_MEAN, "image_std": IMAGENET_STD},
     # shortest_edge >= 384: warp to 384 x 384, no crop
     [decode(), resize("pillow.bicubic", height=384, width=384),
      normalize(IMAGENET_MEAN, IMAGENET_STD), LAYOUT], "chelsea", (233, 301)),
    ("smaller_than_crop", {"image_processor_type": "CLIPImageProcessor",
                           "size": {"shortest_edge": 64}, "do_center_crop": True,
                           "crop_size": {"height": 97, "width": 51}, "resample": 3},
     # 81 x 120 -> 64 x int(64 * 120 / 81) = 64 x 94; the crop pads rows (33: 17 before, 16
     # after) and cuts columns at (94 - 51) // 2 = 21
     [decode(), resize("pillow.bicubic", shorter_side=64), crop(97, 51),
      normalize(CLIP_MEAN, CLIP_STD), LAYOUT], "coffee", (81, 120)),
]


def expand(steps: list[dict]) -> list[dict]:
    """The bundle's form of each step: every knob spelled out."""
    return [make_step(raw, index=i).knobs() for i, raw in enumerate(steps)]


def chained(harness: TransformersHarness, steps: list[dict], data: bytes) -> list[np.ndarray]:
    """Every step's output, each step run on the previous one's (the harness's chained mode)."""
    outs, value = [], data
    for step in steps:
        assert harness.check(step) is None, (step["op"], harness.check(step))
        value = harness.run(step, value)
        outs.append(value)
    return outs


def assert_bitwise(got: np.ndarray, want: np.ndarray, what: str) -> None:
    assert got.dtype == want.dtype and got.shape == want.shape, \
        f"{what}: {got.dtype}{got.shape} vs {want.dtype}{want.shape}"
    if not np.array_equal(got.view(np.uint8), want.view(np.uint8)):
        d = np.abs(got.astype(np.float64) - want.astype(np.float64))
        worst = np.unravel_index(int(np.argmax(d)), d.shape)
        pytest.fail(f"{what}: max abs {d.max():.9g} at {worst}: got {got[worst]!r} want {want[worst]!r}")


@pytest.mark.parametrize("rgba", [False, True], ids=["rgb", "rgba"])
@pytest.mark.parametrize("case_id,config,raw_steps,name,size", CASES, ids=[c[0] for c in CASES])
def test_chained_equals_processor_bitwise(harness, case_id, config, raw_steps, name, size, rgba):
    rgb = photo(name, *size)
    data = png_bytes(with_alpha(rgb) if rgba else rgb)
    outs = chained(harness, expand(raw_steps), data)
    # the harness's decode is the do_convert_rgb=True path (CLIP's default; ViT and ConvNext
    # default to None, see test_rgba_without_convert_rgb_keeps_alpha)
    want = run_processor(config | {"do_convert_rgb": True}, Image.open(io.BytesIO(data)))
    assert want.dtype == np.float32 and want.ndim == 4 and want.shape[:2] == (1, 3)
    assert_bitwise(outs[-1], want, f"{case_id} chained vs {config['image_processor_type']}Pil")


@pytest.mark.parametrize("case_id,config,raw_steps,name,size", CASES, ids=[c[0] for c in CASES])
def test_reference_knobs_are_transformers(harness, case_id, config, raw_steps, name, size):
    """Isolated per step: the reference with these knobs computes what transformers computes."""
    data = png_bytes(with_alpha(photo(name, *size)))
    steps = [make_step(raw, index=i) for i, raw in enumerate(raw_steps)]
    value = data
    for i, step in enumerate(steps):
        got = harness.run(step.knobs(), value)
        ref = run_step(step, value)
        assert_bitwise(got, ref, f"{case_id} step {i} ({step.op}) harness vs reference")
        value = got


def test_smaller_than_crop_pads_before(harness):
    """Odd padding goes before (ceil), the fill is 0: image_transforms.center_crop."""
    step = expand([crop(5, 4)])[0]
    image = np.full((2, 3, 3), 200, np.uint8)
    out = harness.run(step, image)
    rows, cols = np.nonzero(out[:, :, 0])
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (2, 3, 1, 3)


def test_max_size_uses_transformers_rule(harness):
    """shorter_side + max_size: get_resize_output_image_size(max_size=) sizes the output."""
    step = expand([resize("pillow.bilinear", shorter_side=20, max_size=30)])[0]
    out = harness.run(step, np.zeros((10, 40, 3), np.uint8))
    # 20 x int(20 * 40 / 10) = 20 x 80 > 30: int(30 * 20 / 80) = 7 x 30
    assert out.shape == (7, 30, 3)
    assert "max_size=30" in harness.describe(step)


# --- decode as transformers users get it -----------------------------------------------------


def exif_jpeg(a: np.ndarray, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "JPEG", quality=95, exif=exif.tobytes())
    return buf.getvalue()


def test_decode_load_image_applies_exif(harness):
    """orientation=apply + alpha=drop is transformers.image_utils.load_image; the chained CLIP
    pipeline on an EXIF-6 JPEG equals processor(load_image(im)), and ignore equals processor(im)."""
    from transformers.image_utils import load_image

    data = exif_jpeg(photo("chelsea", 120, 90), 6)
    config = CASES[0][1] | {"size": {"shortest_edge": 64}, "crop_size": {"height": 64, "width": 64}}
    tail = [resize("pillow.bicubic", shorter_side=64), crop(64, 64),
            normalize(CLIP_MEAN, CLIP_STD), LAYOUT]
    applied = chained(harness, expand([decode("apply", "drop")] + tail), data)
    ignored = chained(harness, expand([decode("ignore", "composite")] + tail), data)
    assert applied[0].shape == (90, 120, 3) and ignored[0].shape == (120, 90, 3)
    assert_bitwise(applied[-1], run_processor(config, load_image(Image.open(io.BytesIO(data)))),
                   "EXIF applied")
    assert_bitwise(ignored[-1], run_processor(config, Image.open(io.BytesIO(data))), "EXIF ignored")


def test_trns_key_painted_white_through_load_image(harness):
    """A tRNS-keyed RGB PNG: load_image's convert('RGB') keeps info['transparency'], so the
    processor's convert_to_rgb still composites the keyed colour over white. Measured through the
    real processor (no resize/rescale/normalize: pixel_values are the decoded samples)."""
    from transformers.image_utils import load_image

    a = np.zeros((4, 5, 3), np.uint8)
    a[1, 2] = (10, 20, 30)
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "PNG", transparency=(0, 0, 0))
    data = buf.getvalue()
    got = harness.run(expand([decode("apply", "drop")])[0], data)
    config = {"image_processor_type": "CLIPImageProcessor", "do_resize": False,
              "do_center_crop": False, "do_rescale": False, "do_normalize": False}
    real = run_processor(config, load_image(Image.open(io.BytesIO(data))))
    assert_bitwise(got, np.moveaxis(real[0], 0, -1), "decode vs processor(load_image(png))")
    assert got[0, 0].tolist() == [255, 255, 255]  # the key colour (0, 0, 0) became white
    assert got[1, 2].tolist() == [10, 20, 30]


def test_rgba_without_convert_rgb_keeps_alpha():
    """ViT's class default do_convert_rgb is None: an RGBA file reaches normalize with 4 channels
    and the real processor raises (3 means for 4 channels); the harness's decode models the
    do_convert_rgb=True path only, so such a config must say do_convert_rgb."""
    data = png_bytes(with_alpha(photo("chelsea", 20, 30)))
    config = {"image_processor_type": "ViTImageProcessor", "size": {"height": 8, "width": 8}}
    assert processor_class("ViTImageProcessor")().do_convert_rgb is None
    with pytest.raises(ValueError, match="mean must have 4 elements"):
        run_processor(config, Image.open(io.BytesIO(data)))


# --- what is unsupported, and why -----------------------------------------------------------


@pytest.mark.parametrize("raw,words", [
    ({"op": "decode", "output": "gray"}, "3-channel RGB"),
    ({"op": "decode", "alpha": "keep"}, "alpha"),
    ({"op": "decode", "alpha": "composite", "background": [128, 128, 128]}, "white only"),
    ({"op": "resize", "preset": "opencv.area", "height": 4, "width": 4}, "INTER_AREA"),
    ({"op": "resize", "filter": "gaussian", "height": 4, "width": 4}, "Gaussian"),
    ({"op": "crop", "mode": "box"}, "box crop"),
    ({"op": "letterbox"}, "letterbox"),
    ({"op": "pad", "top": 1, "value": [1, 2, 3]}, "per-channel"),
    ({"op": "color", "conversion": "rgb_to_gray"}, "rgb_to_gray"),
    ({"op": "color", "conversion": "rgba_to_rgb", "alpha": "drop"}, "no alpha drop"),
    ({"op": "normalize", "dtype": "float16"}, "float32"),
    ({"op": "layout", "layout": "hwc"}, "channels-first"),
    ({"op": "layout", "batch": False}, "batched"),
])
def test_unsupported_reasons(harness, raw, words):
    step = make_step(raw).knobs()
    reason = harness.check(step)
    assert reason is not None and words in reason


def test_supported_color_and_pad_are_library_calls(harness):
    rgba = with_alpha(photo("chelsea", 7, 9))
    out = harness.run(make_step({"op": "color", "conversion": "rgba_to_rgb", "alpha": "composite"}).knobs(),
                      rgba)
    a = rgba[..., 3:4] / 255
    assert_bitwise(out, np.round(a * rgba[..., :3] + (1 - a) * 255).astype(np.uint8),
                   "convert_to_rgb composite")
    gray = rgba[..., :1]
    assert_bitwise(harness.run(make_step({"op": "color", "conversion": "gray_to_rgb"}).knobs(), gray),
                   np.repeat(gray, 3, axis=2), "gray_to_rgb")
    pad = make_step({"op": "pad", "top": 2, "left": 1, "mode": "reflect"}).knobs()
    assert_bitwise(harness.run(pad, gray), np.pad(gray, ((2, 0), (1, 0), (0, 0)), mode="reflect"),
                   "reflect pad")


def test_run_processor_class_lookup():
    assert processor_class("CLIPImageProcessor").__name__ == "CLIPImageProcessorPil"
    assert processor_class("CLIPImageProcessorFast").__name__ == "CLIPImageProcessorPil"
    with pytest.raises(SpecError) as e:
        run_processor({"image_processor_type": "NoSuchImageProcessor"}, np.zeros((4, 4, 3), np.uint8),
                      source="preprocessor_config.json")
    assert e.value.field == "image_processor_type" and e.value.value == "NoSuchImageProcessor"
    assert "preprocessor_config.json" in str(e.value)


def test_registered_and_described():
    h = load("transformers")
    assert isinstance(h, TransformersHarness)
    assert h.versions()["transformers"].startswith("5.")
    assert set(h.capabilities()) == {"decode", "resize", "crop", "pad", "letterbox", "color",
                                     "normalize", "layout"}
