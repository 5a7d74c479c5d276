"""The knobs added for the torchvision / transformers / timm pipelines, each checked against the
library it claims to reproduce (torchvision 0.29, transformers 5.25, timm 1.0: the real calls, not
copies of their formulas).

- resize size rules: ``shorter_side`` + ``size_rounding="floor"`` + ``max_size`` against
  ``torchvision.transforms.v2.functional.resize(max_size=)`` and transformers'
  ``get_resize_output_image_size``; ``size_formula="ratio"`` against timm
  ``ResizeKeepRatio.get_params``.
- centre crop with ``if_smaller="pad"``, ``pad_extra``, ``offset_rounding``, ``value`` against
  ``F.center_crop``, transformers' ``image_transforms.center_crop`` (PIL backend) and
  ``TorchvisionBackend.center_crop``, timm ``center_crop_or_pad``.
- normalize ``scale_dtype``, ``order="fused"``, ``divisor`` against transformers' ``rescale`` +
  ``normalize``, ``TorchvisionBackend.rescale_and_normalize``, torchvision v2 ``to_dtype`` +
  ``normalize`` and v1 ``to_tensor`` + ``normalize``: every uint8 value in every channel, bitwise.
- resizing in the float domain: the reference never clamps a float resize; torch's float32
  antialiased bicubic overshoots [0, 255] the same way.

Sizes are read from the libraries without resampling anything: ``F.resize`` of an empty tensor
(numel 0) only computes the output shape.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

torch = pytest.importorskip("torch")
tvF = pytest.importorskip("torchvision.transforms.v2.functional")

from conformance.corpus import photo  # noqa: E402
from conformance.harnesses.base import resize_target  # noqa: E402
from conformance.reference.pipeline import run_step  # noqa: E402
from conformance.spec import make_step  # noqa: E402

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# (H, W) pairs: a grid of ordinary sizes plus pairs where s·long/short lands just above or below
# .5 (truncation and rounding disagree), where max_size binds, and where timm's ratio rule
# (side / (576 / 224)) and the product rule (side · 224 / 576) round differently.
SIZES = sorted(set(itertools.product((1, 2, 3, 7, 33, 100, 224, 255, 299, 480, 513, 1000),
                                     (1, 5, 64, 150, 223, 333, 640, 1023, 1333)))
               | {(375, 500), (500, 375), (427, 640), (640, 427), (333, 500), (481, 641), (3, 2000),
                  (2000, 3), (801, 1199), (600, 1601),
                  (9, 576), (81, 576), (576, 81), (153, 576), (576, 549)})


def _torchvision_size(h: int, w: int, size: int, max_size: int | None) -> tuple[int, int]:
    return tuple(tvF.resize(torch.empty(0, h, w), [size], max_size=max_size).shape[-2:])


def _spec_size(h: int, w: int, **knobs) -> tuple[int, int]:
    step = make_step({"op": "resize", **knobs})
    size = step.output_size(h, w)
    assert resize_target(step.knobs(), h, w) == size  # the harnesses' copy of the rule agrees
    return size


@pytest.mark.parametrize("size, max_size", [(224, None), (256, None), (224, 225), (256, 400),
                                            (800, 1333), (18, 1000)])
def test_shorter_side_floor_max_size_is_torchvision_resize(size, max_size):
    differ_from_round = 0
    for h, w in SIZES:
        knobs = dict(shorter_side=size, size_rounding="floor", max_size=max_size)
        tv = _torchvision_size(h, w, size, max_size)
        if min(tv) < 1:
            continue  # torchvision computes a 0 side (e.g. 1 x 333 capped at 225): the spec gives 1
        got = _spec_size(h, w, **knobs)
        assert got == tv, (h, w)
        differ_from_round += got != _spec_size(h, w, **{**knobs, "size_rounding": "round"})
    assert differ_from_round >= 5  # the grid does separate truncation from rounding


@pytest.mark.parametrize("size, max_size", [(224, None), (384, None), (800, 1333), (256, 300)])
def test_shorter_side_floor_max_size_is_transformers_get_resize_output_image_size(size, max_size):
    image_transforms = pytest.importorskip("transformers.image_transforms")
    from transformers.image_utils import ChannelDimension

    for h, w in SIZES:
        hf = image_transforms.get_resize_output_image_size(
            np.empty((0, h, w), np.uint8), size=size, default_to_square=False, max_size=max_size,
            input_data_format=ChannelDimension.FIRST)
        if min(hf) < 1:
            continue  # transformers computes a 0 side, as torchvision: the spec gives 1
        assert _spec_size(h, w, shorter_side=size, size_rounding="floor",
                          max_size=max_size) == tuple(hf), (h, w)


@pytest.mark.parametrize("longest", [0, 1])
@pytest.mark.parametrize("target", [224, 256, 320])
def test_size_formula_ratio_is_timm_resize_keep_ratio(longest, target):
    timm_transforms = pytest.importorskip("timm.data.transforms")
    side = "longer_side" if longest else "shorter_side"
    product_differs = 0
    for h, w in SIZES:
        timm_size = tuple(timm_transforms.ResizeKeepRatio.get_params(
            torch.empty(0, h, w), (target, target), longest))
        if min(timm_size) < 1:
            continue  # timm returns 0 for a side the spec (and every resizer) makes at least 1
        got = _spec_size(h, w, **{side: target}, size_formula="ratio", size_rounding="round")
        assert got == timm_size, (h, w)
        product_differs += got != _spec_size(h, w, **{side: target}, size_rounding="round")
    if (target, longest) == (224, 1):
        assert product_differs >= 4  # "ratio" is a different rule from "product": (81, 576) ...


# --- centre crop ------------------------------------------------------------------------------

# (H, W, crop_h, crop_w): even and odd differences, (H − h) % 4 == 3 (where round-half-even and
# floor of (H − h)/2 part: 1.5 -> 2 vs 1), and mixed cases (one axis padded, the other cropped).
CROP_CASES = [(10, 12, 4, 4), (11, 13, 4, 4), (9, 9, 6, 6), (13, 7, 6, 4), (15, 15, 8, 8),
              (7, 7, 4, 4), (10, 10, 3, 5), (5, 8, 9, 4), (8, 5, 4, 9), (5, 5, 8, 8), (4, 6, 7, 10),
              (6, 4, 9, 3), (3, 3, 3, 3), (12, 9, 12, 2), (2, 2, 5, 4), (17, 6, 10, 9)]


def _image(h: int, w: int, c: int = 3) -> np.ndarray:
    """Distinct values per pixel and channel, so any offset error shows."""
    return ((np.arange(h * w * c).reshape(h, w, c) * 7 + 1) % 251 + 1).astype(np.uint8)


def _crop(img: np.ndarray, ch: int, cw: int, **knobs) -> np.ndarray:
    step = make_step({"op": "crop", "mode": "center", "height": ch, "width": cw, "if_smaller": "pad",
                      **knobs})
    return run_step(step, img)


def _chw(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))


def _hwc(t: torch.Tensor) -> np.ndarray:
    return t.permute(1, 2, 0).numpy()


def _photo_cases():
    chelsea = photo("chelsea")  # 50 x 75
    return [(chelsea, 33, 47), (chelsea, 49, 74), (chelsea, 64, 40), (chelsea, 51, 80)]


@pytest.mark.parametrize("h, w, ch, cw", CROP_CASES)
def test_center_crop_round_pad_after_is_torchvision_center_crop(h, w, ch, cw):
    img = _image(h, w)
    want = _hwc(tvF.center_crop(_chw(img), [ch, cw]))
    np.testing.assert_array_equal(_crop(img, ch, cw, offset_rounding="round", pad_extra="after"), want)


def test_center_crop_torchvision_on_photos_and_pil():
    from PIL import Image
    for img, ch, cw in _photo_cases():
        ref = _crop(img, ch, cw, offset_rounding="round", pad_extra="after")
        np.testing.assert_array_equal(ref, _hwc(tvF.center_crop(_chw(img), [ch, cw])))
        np.testing.assert_array_equal(ref, np.asarray(tvF.center_crop(Image.fromarray(img), [ch, cw])))


@pytest.mark.parametrize("h, w, ch, cw", CROP_CASES)
def test_center_crop_floor_pad_before_is_transformers_pil_backend(h, w, ch, cw):
    image_transforms = pytest.importorskip("transformers.image_transforms")
    from transformers.image_utils import ChannelDimension

    img = _image(h, w)
    hf = image_transforms.center_crop(img, (ch, cw), data_format=ChannelDimension.LAST,
                                      input_data_format=ChannelDimension.LAST)
    np.testing.assert_array_equal(_crop(img, ch, cw, offset_rounding="floor", pad_extra="before"), hf)


@pytest.mark.parametrize("h, w, ch, cw", CROP_CASES)
def test_center_crop_floor_pad_after_is_transformers_torchvision_backend(h, w, ch, cw):
    backends = pytest.importorskip("transformers.image_processing_backends")
    from transformers.image_utils import SizeDict

    img = _image(h, w)
    hf = backends.TorchvisionBackend().center_crop(_chw(img), SizeDict(height=ch, width=cw))
    np.testing.assert_array_equal(_crop(img, ch, cw, offset_rounding="floor", pad_extra="after"),
                                  _hwc(hf))


@pytest.mark.parametrize("h, w, ch, cw", CROP_CASES)
def test_center_crop_fill_is_timm_center_crop_or_pad(h, w, ch, cw):
    """timm's eval transform with crop_mode="border" runs CenterCropOrPad on the PIL image with
    fill = tuple(round(255 * m) for m in mean) (timm/data/transforms_factory.py)."""
    timm_transforms = pytest.importorskip("timm.data.transforms")
    from PIL import Image

    img = _image(h, w)
    fill = tuple(round(255 * m) for m in IMAGENET_MEAN)
    got = timm_transforms.center_crop_or_pad(Image.fromarray(img), [ch, cw], fill=fill)
    np.testing.assert_array_equal(
        _crop(img, ch, cw, offset_rounding="round", pad_extra="after", value=fill), np.asarray(got))


def test_the_crop_conventions_really_differ():
    """The libraries above disagree on these cases, so each test pins one convention."""
    img = _image(11, 13)  # (H − h) = 7: round(3.5) = 4, floor = 3
    assert not np.array_equal(_crop(img, 4, 4, offset_rounding="round"),
                              _crop(img, 4, 4, offset_rounding="floor"))
    small = _image(5, 5)  # padding 3: after puts 1 before, before puts 2 before
    assert not np.array_equal(_crop(small, 8, 8, pad_extra="after"), _crop(small, 8, 8, pad_extra="before"))


# --- normalize --------------------------------------------------------------------------------


def _all_values() -> np.ndarray:
    """Every uint8 value in every channel: a 16 x 16 x 3 image, channel c = value."""
    v = np.arange(256, dtype=np.uint8).reshape(16, 16)
    return np.stack([v, v[::-1], v.T], axis=2)


def _normalize(img: np.ndarray, **knobs) -> np.ndarray:
    step = make_step({"op": "normalize", "dtype": "float32", "compute_dtype": "float32", **knobs})
    return run_step(step, img)


def _assert_bitwise(got: np.ndarray, want: np.ndarray) -> None:
    assert got.dtype == want.dtype == np.float32
    differ = got.view(np.int32) != want.view(np.int32)
    assert not differ.any(), (f"{int(differ.sum())} of {differ.size} values differ, e.g. at "
                              f"{np.argwhere(differ)[0]}: {got[differ][0]!r} vs {want[differ][0]!r}")


@pytest.mark.parametrize("mean, std", [(CLIP_MEAN, CLIP_STD), (IMAGENET_MEAN, IMAGENET_STD),
                                       ((0.5,) * 3, (0.5,) * 3)])
def test_scale_dtype_float64_is_transformers_rescale_then_normalize(mean, std):
    image_transforms = pytest.importorskip("transformers.image_transforms")
    from transformers.image_utils import ChannelDimension

    img = _all_values()
    last = ChannelDimension.LAST
    hf = image_transforms.normalize(image_transforms.rescale(img, 1 / 255, input_data_format=last),
                                    mean, std, input_data_format=last)
    _assert_bitwise(_normalize(img, scale=1 / 255, scale_dtype="float64", mean=mean, std=std), hf)


@pytest.mark.parametrize("mean, std", [(CLIP_MEAN, CLIP_STD), (IMAGENET_MEAN, IMAGENET_STD)])
def test_order_fused_is_transformers_torchvision_backend(mean, std):
    backends = pytest.importorskip("transformers.image_processing_backends")
    img = _all_values()
    hf = backends.TorchvisionBackend().rescale_and_normalize(
        _chw(img), do_rescale=True, rescale_factor=1 / 255, do_normalize=True,
        image_mean=tuple(mean), image_std=tuple(std))
    _assert_bitwise(_normalize(img, scale=1 / 255, order="fused", mean=mean, std=std), _hwc(hf))


def test_clip_image_processor_default_is_the_fused_torchvision_backend():
    """transformers.CLIPImageProcessor() with torch installed is the torchvision backend."""
    transformers = pytest.importorskip("transformers")
    processor = transformers.CLIPImageProcessor()
    assert isinstance(processor, transformers.image_processing_backends.TorchvisionBackend)
    img = _all_values()
    hf = processor.rescale_and_normalize(_chw(img), True, processor.rescale_factor, True,
                                         tuple(processor.image_mean), tuple(processor.image_std))
    _assert_bitwise(_normalize(img, scale=processor.rescale_factor, order="fused",
                               mean=tuple(processor.image_mean), std=tuple(processor.image_std)),
                    _hwc(hf))


@pytest.mark.parametrize("mean, std", [(CLIP_MEAN, CLIP_STD), (IMAGENET_MEAN, IMAGENET_STD)])
def test_torchvision_v2_to_dtype_multiplies_by_float32_one_255th(mean, std):
    """v2 ``F.to_dtype(scale=True)`` is ``x.to(float32).mul_(1 / 255)``: the knobs scale=1/255 in
    float32 (not divisor=255: x/255 and x·(1/255) differ by an ulp for some x)."""
    img = _all_values()
    tv = tvF.normalize(tvF.to_dtype(_chw(img), torch.float32, scale=True), list(mean), list(std))
    _assert_bitwise(_normalize(img, scale=1 / 255, mean=mean, std=std), _hwc(tv))


def test_torchvision_v2_imagenet_preset_is_to_dtype_then_normalize():
    """The preset ``torchvision.v2.imagenet`` is exactly ToDtype(scale=True) + Normalize(ImageNet)."""
    from conformance.reference.normalize import normalize
    from conformance.spec import make_step

    img = _all_values()
    tv = tvF.normalize(tvF.to_dtype(_chw(img), torch.float32, scale=True), list(IMAGENET_MEAN),
                       list(IMAGENET_STD))
    step = make_step({"op": "normalize", "preset": "torchvision.v2.imagenet"})
    _assert_bitwise(normalize(img, step), _hwc(tv))


@pytest.mark.parametrize("mean, std", [(CLIP_MEAN, CLIP_STD), (IMAGENET_MEAN, IMAGENET_STD)])
def test_divisor_255_is_torchvision_v1_to_tensor(mean, std):
    """v1 ``to_tensor`` (PIL image) divides by 255: the knob ``divisor=255``."""
    from PIL import Image
    from torchvision.transforms import functional as v1

    img = _all_values()
    tv = v1.normalize(v1.to_tensor(Image.fromarray(img)), list(mean), list(std))
    _assert_bitwise(_normalize(img, divisor=255.0, mean=mean, std=std), _hwc(tv))


def test_the_normalize_knobs_really_differ():
    img = _all_values()
    kw = dict(mean=CLIP_MEAN, std=CLIP_STD)
    outs = {name: _normalize(img, **knobs, **kw) for name, knobs in {
        "multiply": dict(scale=1 / 255), "divisor": dict(divisor=255.0),
        "fused": dict(scale=1 / 255, order="fused")}.items()}
    for a, b in itertools.combinations(outs, 2):
        assert not np.array_equal(outs[a], outs[b]), (a, b)
    # x·(1/255) in float64 rounded once to float32 is the correctly rounded x/255 for every uint8
    # x, so transformers' rescale equals the divisor form (not the float32 multiply) here
    np.testing.assert_array_equal(_normalize(img, scale=1 / 255, scale_dtype="float64", **kw),
                                  outs["divisor"])


# --- resizing in the float domain, without clamping ------------------------------------------


@pytest.mark.parametrize("filt, mode", [("cubic", "bicubic"), ("triangle", "bilinear")])
def test_float_resize_is_unclamped_like_torch_float32(filt, mode):
    """The reference resizes float images without clamping (and without rounding); torch's float32
    antialiased interpolate does the same, including bicubic overshoot outside [0, 255]. The
    knobs are the uint8 preset's with float64 weights and arithmetic (torch's float kernel has
    no int16 weights); torch computes in float32, so they agree to float32 rounding: 1e-3 on
    0..255 values covers the roundings of a sum of ~10 products (each ~1.5e-5)."""
    img = photo("astronaut")[:40, :52]
    img = np.where(np.indices(img.shape[:2]).sum(0)[..., None] % 7 == 0, 255, img)  # sharp edges
    img = img.astype(np.float32)
    lows, highs = [], []
    for oh, ow in [(17, 23), (40, 31), (97, 120), (29, 52)]:
        step = make_step({"op": "resize", "preset": "torchvision.tensor.bicubic" if filt == "cubic"
                          else "torchvision.tensor.bilinear", "height": oh, "width": ow,
                          "arithmetic": "float64", "intermediate": "exact"})
        ref = run_step(step, img)
        got = _hwc(torch.nn.functional.interpolate(_chw(img)[None], size=(oh, ow), mode=mode,
                                                   antialias=True, align_corners=False)[0])
        assert ref.dtype == np.float32
        np.testing.assert_allclose(ref, got, rtol=0, atol=1e-3)
        lows.append(max(ref.min(), got.min()))
        highs.append(min(ref.max(), got.max()))
    if filt == "cubic":  # overshoot on both sides, kept by both, not clamped
        assert min(lows) < 0 and max(highs) > 255
