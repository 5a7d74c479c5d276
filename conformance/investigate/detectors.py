"""Gross-mistake detectors: the classic preprocessing bugs, each as a transform that turns the
pipeline's own step output (or input) into what the bug produces.

``explain`` tries them before any knob search, because they are cheap (most are a numpy view of
the reference output, no reference run) and because when one reproduces an output, it names the
bug in the words a user searches for. Each detector is a row of :data:`DETECTORS`:
``{name, ops, phrase, advice, build}``: ``phrase`` completes "the observed output is the
pipeline's step ...", ``advice`` says what to change, ``build(ctx)`` returns the candidates
(:class:`~.explain_space.Candidate`) to evaluate. A detector that does not apply to a step (no
alpha to drop, a gray image to reverse) returns nothing or a candidate equal to the reference
output, which the search drops as "no effect".

| name | what the deployment did | transform |
|---|---|---|
| ``channels_reversed`` | fed BGR where RGB is expected (cv2's decode order), or the reverse | channel axis reversed (alpha stays last) |
| ``layout_transposed`` | HWC where CHW is expected, or the reverse | channel axis moved |
| ``batch_axis`` | a missing or extra leading batch axis | axis of length 1 added / removed |
| ``width_height_swapped`` | ``dsize=(h, w)`` given to cv2.resize, or an array read transposed | resize to (w, h); H and W axes swapped |
| ``times_255`` | a missing /255, or x255 applied twice | output x 255 (normalize: scale x 255) |
| ``div_255`` | /255 applied twice, or a missing x255 | output / 255 (normalize: scale / 255) |
| ``range`` | [-1, 1] read as [0, 1], or the reverse | (y + 1) / 2, 2y - 1 |
| ``mean_std`` | mean/std of another model family (ImageNet, CLIP, 0.5, Caffe BGR means), or in BGR order | normalize with those constants |
| ``normalize_order`` | mean subtracted before scaling with the numbers of the other order | normalize ``order`` flipped, numbers kept |
| ``exif_orientation`` | EXIF orientation applied where it is ignored (cv2.imread vs PIL.Image.open), or the reverse | decode ``orientation`` flipped |
| ``alpha`` | alpha dropped where it is composited, or the reverse | decode / rgba_to_rgb ``alpha`` changed (white and black backgrounds) |
| ``crop_offset`` | a centre crop one pixel off ((H - h) // 2 vs round((H - h) / 2)) | the window moved by one row and/or column |
| ``resize_float`` | a uint8 image resized in float: no rounding between passes, no clamping of overshoot | resize of the float32 input (kept float; rounded at the end; cast with astype) |
| ``resize_uint8`` | a float image resized in uint8 | resize of the input rounded and clamped to 0..255 |
| ``range_back`` | a [-1, 1] model output converted as if it were [0, 1] (CodeFormer's dark, clipped images), or the reverse; a denormalisation skipped | denormalize ``from_range`` swapped; mean 0 / std 1 |
| ``truncation`` | pixels truncated where the other side rounds (``astype(uint8)``, ``.byte()``, ``as u8`` without ``round()``), or the reverse | quantize ``rounding`` |
| ``clamp_back`` | floats cast without clipping (−0.01 wraps to 255), or clipped where the other side wraps | quantize ``clamp`` none/after with ``overflow`` wrap/saturate |
| ``saved_channel_order`` | an RGB array given to ``cv2.imwrite`` (or a BGR one to ``Image.save``): a file with red and blue swapped | encode ``channel_order`` flipped |
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..reference.geometry import centre_offset
from ..spec import Color, Crop, Decode, Denormalize, Encode, Layout, Normalize, Quantize, Resize, Step
from .explain_space import Candidate, with_changes

# ---------------------------------------------------------------------------------------------
# Context
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepContext:
    """What a detector may look at: the pipeline's step, its input and reference output, and the
    observed array's shape (to skip detectors that cannot give it)."""

    step: Step
    value: Any  # bytes for decode, an array otherwise
    reference: np.ndarray
    observed_shape: tuple[int, ...]

    @property
    def channel_axis(self) -> int | None:
        """Axis of the channels in the reference output: -3 after a CHW layout step, else -1."""
        if self.reference.ndim < 3:
            return None
        return -3 if isinstance(self.step, Layout) and self.step.layout == "chw" else -1

    @property
    def is_float(self) -> bool:
        return self.reference.dtype.kind == "f"


def _transform(name: str, ctx: StepContext, detail: str, fn: Callable[[np.ndarray], np.ndarray]) -> Candidate:
    return Candidate("transform", ctx.step, transform=name, detail=detail, post=fn)


def _variant(name: str, ctx: StepContext, detail: str, changes: dict[str, Any],
             input_kind: str = "given", post: Callable | None = None) -> list[Candidate]:
    step = with_changes(ctx.step, changes)
    if step is None:
        return []
    return [Candidate("transform", step, transform=name, detail=detail, input_kind=input_kind, post=post)]


# ---------------------------------------------------------------------------------------------
# The detectors
# ---------------------------------------------------------------------------------------------


def channels_reversed(ctx: StepContext) -> list[Candidate]:
    """RGB fed where BGR is expected or the reverse: cv2 decodes to BGR, Pillow and the image crate
    to RGB, and a model trained on one sees swapped red and blue. Three channels are reversed;
    four keep alpha last (cv2's BGRA)."""
    axis = ctx.channel_axis
    if axis is None or ctx.reference.shape[axis] not in (3, 4) or isinstance(ctx.step, Encode):
        return []  # an encode step's swap is saved_channel_order, which says how it happens
    n = ctx.reference.shape[axis]
    order = [2, 1, 0] + ([3] if n == 4 else [])
    return [_transform("channels_reversed", ctx, "RGB <-> BGR",
                       lambda a: np.ascontiguousarray(np.take(a, order, axis=axis)))]


def layout_transposed(ctx: StepContext) -> list[Candidate]:
    """HWC where CHW is expected, or the reverse: the tensor a model gets when one side forgets
    (or repeats) ``transpose(2, 0, 1)``."""
    axis = ctx.channel_axis
    if axis is None:
        return []
    if axis == -1:
        return [_transform("layout_transposed", ctx, "CHW where HWC is expected",
                           lambda a: np.ascontiguousarray(np.moveaxis(a, -1, -3)))]
    return [_transform("layout_transposed", ctx, "HWC where CHW is expected",
                       lambda a: np.ascontiguousarray(np.moveaxis(a, -3, -1)))]


def batch_axis(ctx: StepContext) -> list[Candidate]:
    """A missing or extra leading batch axis of length 1 (``x[None]`` / ``unsqueeze(0)``)."""
    ref = ctx.reference
    if ref.ndim == 4 and ref.shape[0] == 1:
        return [_transform("batch_axis", ctx, "batch axis missing", lambda a: a[0].copy())]
    if ref.ndim == 3:
        return [_transform("batch_axis", ctx, "extra batch axis", lambda a: a[None].copy())]
    return []


def width_height_swapped(ctx: StepContext) -> list[Candidate]:
    """Width and height swapped: ``cv2.resize`` takes ``dsize=(width, height)`` while numpy shapes
    are (height, width), so a port that passes the shape gets an image of the other aspect; or an
    array read transposed (rows for columns)."""
    out = []
    step = ctx.step
    if isinstance(step, Resize) and step.height is not None and step.height != step.width:
        out += _variant("width_height_swapped", ctx, "resized to (width, height)",
                        {"height": step.width, "width": step.height})
    ref = ctx.reference
    axis = ctx.channel_axis
    if axis is not None and ref.ndim in (3, 4):
        h_axis, w_axis = (-2, -1) if axis == -3 else (-3, -2)
        if ref.shape[h_axis] > 1 or ref.shape[w_axis] > 1:
            out.append(_transform("width_height_swapped", ctx, "array transposed",
                                  lambda a: np.ascontiguousarray(np.swapaxes(a, h_axis, w_axis))))
    return out


def _normalize_scaled(ctx: StepContext, name: str, detail: str, factor: float) -> list[Candidate]:
    """The normalize step with x·scale multiplied by ``factor`` (x / divisor: divisor / factor)."""
    step = ctx.step
    if step.divisor is not None:
        return _variant(name, ctx, detail, {"divisor": step.divisor / factor})
    return _variant(name, ctx, detail, {"scale": step.scale * factor})


def times_255(ctx: StepContext) -> list[Candidate]:
    """Values 255 times too large: a /255 (ToTensor's) forgotten, or x255 applied twice. In a
    normalize step the exact form is the scale x 255 (mean and std kept); after it, the output x 255."""
    if isinstance(ctx.step, Normalize):
        return _normalize_scaled(ctx, "times_255", "a /255 missing", 255.0)
    if not ctx.is_float:
        return []
    return [_transform("times_255", ctx, "output x 255", lambda a: a * a.dtype.type(255))]


def div_255(ctx: StepContext) -> list[Candidate]:
    """Values 255 times too small: /255 applied twice (once in the loader, once in the model's
    transform), or a x255 missing. Integer outputs: the uint8 image already divided by 255."""
    if isinstance(ctx.step, Normalize):
        return _normalize_scaled(ctx, "div_255", "/255 applied twice", 1 / 255)
    if ctx.is_float:
        return [_transform("div_255", ctx, "output / 255", lambda a: a / a.dtype.type(255))]
    return [_transform("div_255", ctx, "integers / 255 as float32",
                       lambda a: a.astype(np.float32) / np.float32(255))]


def value_range(ctx: StepContext) -> list[Candidate]:
    """[-1, 1] read as [0, 1] or the reverse: a model trained on x/127.5 − 1 (Inception, the 0.5
    mean/std) fed x/255, or the reverse. Float outputs only."""
    if not ctx.is_float:
        return []
    return [_transform("range", ctx, "[0, 1] where [-1, 1] is expected",
                       lambda a: (a + a.dtype.type(1)) / a.dtype.type(2)),
            _transform("range", ctx, "[-1, 1] where [0, 1] is expected",
                       lambda a: a * a.dtype.type(2) - a.dtype.type(1))]


#: Model families' constants in [0, 1] units (after /255). Caffe's BGR means are pixel means with
#: no std: out = x − mean, i.e. std 1/255 in these units.
MEAN_STD_FAMILIES: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "ImageNet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    "CLIP": ((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)),
    "0.5": ((0.5,), (0.5,)),
    "none (0, 1)": ((0.0,), (1.0,)),
    "Caffe BGR means": ((103.939 / 255, 116.779 / 255, 123.68 / 255), (1 / 255,)),
}


def _in_step_units(step: Normalize, mean: tuple, std: tuple) -> dict[str, tuple]:
    """mean/std given in [0, 1] units, as this step's knobs: mean_first subtracts the mean in input
    units (mean / scale); std always divides the scaled value."""
    k = 1.0 / step.divisor if step.divisor is not None else step.scale
    if step.order == "mean_first":
        mean = tuple(m / k for m in mean)
    return {"mean": tuple(float(m) for m in mean), "std": tuple(float(s) for s in std)}


def mean_std(ctx: StepContext) -> list[Candidate]:
    """mean/std of another model family (ImageNet, CLIP, 0.5, none, Caffe's BGR pixel means), or
    the pipeline's own given in the reverse channel order (BGR constants on an RGB image)."""
    step = ctx.step
    if not isinstance(step, Normalize):
        return []
    out = []
    for family, (mean, std) in MEAN_STD_FAMILIES.items():
        out += _variant("mean_std", ctx, f"{family} mean/std", _in_step_units(step, mean, std))
    if len(step.mean) > 1 or len(step.std) > 1:
        out += _variant("mean_std", ctx, "mean/std in reversed channel order",
                        {"mean": tuple(reversed(step.mean)), "std": tuple(reversed(step.std))})
    return out


def normalize_order(ctx: StepContext) -> list[Candidate]:
    """Scale and mean applied in the other order with the numbers unchanged: a mean in [0, 1]
    units subtracted from 0..255 values (or pixel means from scaled values) — the classic port
    of torchvision's Normalize to cv2.dnn.blobFromImage, which subtracts first."""
    step = ctx.step
    if not isinstance(step, Normalize):
        return []
    other = "mean_first" if step.order == "scale_first" else "scale_first"
    return _variant("normalize_order", ctx, f"order {other} with the same numbers", {"order": other})


def exif_orientation(ctx: StepContext) -> list[Candidate]:
    """EXIF orientation applied on one side only: cv2.imread / imdecode rotate by the tag,
    PIL.Image.open and the image crate do not (ImageOps.exif_transpose does)."""
    step = ctx.step
    if not isinstance(step, Decode):
        return []
    other = "ignore" if step.orientation == "apply" else "apply"
    return _variant("exif_orientation", ctx, f"orientation {other}", {"orientation": other})


def alpha(ctx: StepContext) -> list[Candidate]:
    """Alpha dropped where it is composited, or composited where it is dropped (Pillow's
    convert('RGB') and cv2's IMREAD_COLOR drop it: a transparent background turns to whatever
    colour the transparent pixels hold)."""
    step = ctx.step
    if not (isinstance(step, Decode) or (isinstance(step, Color) and step.conversion == "rgba_to_rgb")):
        return []
    options = ["drop", "composite"] + (["keep"] if isinstance(step, Decode) else [])
    out = []
    for value in options:
        if value == "composite":
            for bg in ((255, 255, 255), (0, 0, 0)):
                if value != step.alpha or bg != step.background:
                    out += _variant("alpha", ctx, f"alpha composited over {bg}",
                                    {"alpha": "composite", "background": bg})
        elif value != step.alpha:
            out += _variant("alpha", ctx, f"alpha {'dropped' if value == 'drop' else 'kept'}",
                            {"alpha": value})
    return out


def crop_offset(ctx: StepContext) -> list[Candidate]:
    """A crop window one pixel off: (H − h) // 2 (C++ and cv2 ports) vs round((H − h) / 2)
    (torchvision's CenterCrop, half to even) differ by one when H − h is odd; also an off-by-one
    box. Tried as the 8 neighbouring windows."""
    step = ctx.step
    if not isinstance(step, Crop) or not isinstance(ctx.value, np.ndarray) or ctx.value.ndim != 3:
        return []
    h, w = ctx.value.shape[:2]
    if step.mode == "center":
        top = centre_offset(h - step.height, step.offset_rounding)
        left = centre_offset(w - step.width, step.offset_rounding)
    else:
        top, left = step.top, step.left
    out = []
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            t, l_ = top + dy, left + dx
            if (dy or dx) and t >= 0 and l_ >= 0 and t + step.height <= h and l_ + step.width <= w:
                out += _variant("crop_offset", ctx, f"window moved {dy:+d} row(s), {dx:+d} column(s)",
                                {"mode": "box", "top": t, "left": l_})
    return out


def _round_clamp(a: np.ndarray) -> np.ndarray:
    return np.clip(np.floor(a.astype(np.float64) + 0.5), 0, 255).astype(np.uint8)


def _astype_uint8(a: np.ndarray) -> np.ndarray:
    """numpy's float -> uint8 cast as C does it on x86: truncation toward zero, wrapped mod 256."""
    with np.errstate(invalid="ignore"):
        return (np.trunc(a.astype(np.float64)).astype(np.int64) % 256).astype(np.uint8)


def resize_float(ctx: StepContext) -> list[Candidate]:
    """A uint8 image resized in float: no rounding between the passes, no clamping of the
    overshoot of cubic and Lanczos kernels. The float result as is, rounded once at the end, or
    cast with ``astype(uint8)`` (truncated and wrapped: overshoot below 0 becomes 255)."""
    if not isinstance(ctx.step, Resize) or ctx.reference.dtype.kind not in "ui":
        return []
    return [Candidate("transform", ctx.step, transform="resize_float", detail=detail,
                      input_kind="float32", post=post)
            for detail, post in (("float result, not rounded", None),
                                 ("rounded and clamped once at the end", _round_clamp),
                                 ("cast with astype(uint8), no clamping", _astype_uint8))]


def resize_uint8(ctx: StepContext) -> list[Candidate]:
    """A float image resized in uint8: the input rounded and clamped to 0..255 first (values of a
    normalised image outside that range are lost)."""
    if not isinstance(ctx.step, Resize) or ctx.reference.dtype.kind != "f":
        return []
    return [Candidate("transform", ctx.step, transform="resize_uint8", detail="input rounded and clamped",
                      input_kind="uint8")]


def range_back(ctx: StepContext) -> list[Candidate]:
    """The way back's range mistake: a [-1, 1] output (CodeFormer, GANs, diffusion decoders)
    converted as if it were [0, 1]: negatives clip to black, the rest is too dark and washed
    (CodeFormer's stage-2 images); or a [0, 1] output stretched as if [-1, 1]; or a
    normalised output whose denormalisation was skipped."""
    step = ctx.step
    if isinstance(step, Quantize) and isinstance(ctx.value, np.ndarray) and ctx.value.dtype.kind == "f":
        # seen at the pixels: the quantize input was mapped onto [0, 1] on one side only
        return [Candidate("transform", step, transform="range_back", input_kind="symmetric",
                          detail="a [-1, 1] output quantized as if [0, 1] (its (x + 1) / 2 skipped)"),
                Candidate("transform", step, transform="range_back", input_kind="unit",
                          detail="a [0, 1] output mapped as if [-1, 1] before quantizing")]
    if not isinstance(step, Denormalize):
        return []
    if step.mode == "mean_std":
        return _variant("range_back", ctx, "denormalisation skipped (mean/std not undone)",
                        {"mean": (0.0,), "std": (1.0,), "scale": 1.0})
    out = []
    a, b = step.from_range
    if (a, b) == (-1.0, 1.0):
        out += _variant("range_back", ctx, "a [-1, 1] output read as [0, 1]", {"from_range": (0.0, 1.0)})
    elif (a, b) == (0.0, 1.0):
        out += _variant("range_back", ctx, "a [0, 1] output read as [-1, 1]", {"from_range": (-1.0, 1.0)})
    return out


def truncation(ctx: StepContext) -> list[Candidate]:
    """Float to pixels truncated where the other side rounds: ``astype(np.uint8)``, torch
    ``.byte()`` and Rust ``as u8`` truncate, basicsr rounds first, OpenCV always rounds; about
    half the pixels come out one level darker."""
    step = ctx.step
    if not isinstance(step, Quantize):
        return []
    if step.rounding != "truncate":
        return _variant("truncation", ctx, "truncated instead of rounded", {"rounding": "truncate"})
    return _variant("truncation", ctx, "rounded (half to even) instead of truncated", {"rounding": "half_even"})


def clamp_back(ctx: StepContext) -> list[Candidate]:
    """Floats cast to pixels without clipping: just-negative values wrap to 255 (white specks in
    black), just-above-1 values to 0..2; or clipped where the other side lets them wrap."""
    step = ctx.step
    if not isinstance(step, Quantize):
        return []
    if step.clamp != "none":
        return _variant("clamp_back", ctx, "not clipped, out-of-range values wrap (astype)",
                        {"clamp": "none", "overflow": "wrap"})
    return _variant("clamp_back", ctx, "clipped to the range before the cast",
                    {"clamp": "after", "overflow": "saturate"})


def saved_channel_order(ctx: StepContext) -> list[Candidate]:
    """An RGB array written by ``cv2.imwrite`` (which expects BGR), or a BGR array by PIL
    ``Image.save``: the file shows red and blue swapped."""
    step = ctx.step
    if not isinstance(step, Encode) or ctx.reference.ndim != 3 or ctx.reference.shape[2] not in (3, 4):
        return []
    other = "rgb" if step.channel_order == "bgr" else "bgr"
    detail = ("an RGB array written as BGR (cv2.imwrite)" if other == "bgr"
              else "a BGR array written as RGB (Image.save)")
    return _variant("saved_channel_order", ctx, detail, {"channel_order": other})


@dataclass(frozen=True)
class Detector:
    """One classic mistake: ``phrase`` completes "the pipeline's step ...", ``advice`` says what to
    change, ``build`` makes the candidates."""

    name: str
    phrase: str
    advice: str
    build: Callable[[StepContext], list[Candidate]]


#: Cheapest first: pure output transforms, then variants the reference has to run (the way
#: back's encode detector leads: on an encode step it names what channels_reversed would only
#: describe).
DETECTORS: list[Detector] = [
    Detector("saved_channel_order", "written to the file with red and blue swapped ({detail})",
             "cv2.imwrite expects BGR and PIL Image.save RGB: convert with "
             "cv2.cvtColor(img, cv2.COLOR_RGB2BGR) before cv2.imwrite", saved_channel_order),
    Detector("channels_reversed", "with the colour channels in the other order (RGB <-> BGR)",
             "one side swaps red and blue (cv2 decodes to BGR): convert with "
             "cv2.cvtColor(img, cv2.COLOR_BGR2RGB), or drop the extra swap", channels_reversed),
    Detector("layout_transposed", "laid out {detail}",
             "transpose the tensor the way the model expects: np.transpose(x, (2, 0, 1)) for "
             "HWC -> CHW, (1, 2, 0) back", layout_transposed),
    Detector("batch_axis", "with the {detail}",
             "add (x[None]) or remove (x[0]) the leading batch axis of length 1", batch_axis),
    Detector("width_height_swapped", "with width and height swapped ({detail})",
             "cv2.resize takes dsize=(width, height) while numpy shapes are (height, width): "
             "pass them in that order", width_height_swapped),
    Detector("times_255", "with values 255 times larger ({detail})",
             "divide by 255 exactly once (ToTensor divides; cv2 and numpy code must do it "
             "themselves)", times_255),
    Detector("div_255", "with values 255 times smaller ({detail})",
             "divide by 255 exactly once: the loader and the model's transform both divide",
             div_255),
    Detector("range", "with values in {detail}",
             "feed the range the model was trained with: [0, 1] is x/255, [-1, 1] is x/127.5 - 1 "
             "(mean 0.5, std 0.5)", value_range),
    Detector("mean_std", "normalised with {detail}",
             "use the mean/std the model was trained with, in its channel order (ImageNet "
             "0.485/0.456/0.406 and 0.229/0.224/0.225; CLIP 0.481/0.458/0.408 and "
             "0.269/0.261/0.276; Caffe subtracts BGR pixel means)", mean_std),
    Detector("normalize_order", "normalised with the mean and the scale in the other order, the "
             "numbers unchanged ({detail})",
             "cv2.dnn.blobFromImage subtracts the mean before scaling, so its mean is in pixel "
             "units (mean x 255) and its scalefactor 1/(255 std)", normalize_order),
    Detector("exif_orientation", "with the EXIF orientation {detail}",
             "cv2.imread/imdecode apply the EXIF orientation and PIL.Image.open does not: use "
             "ImageOps.exif_transpose or cv2.IMREAD_IGNORE_ORIENTATION so both sides agree",
             exif_orientation),
    Detector("alpha", "with {detail}",
             "handle transparency the same way on both sides: composite over the training "
             "background, or drop alpha (convert('RGB') and IMREAD_COLOR drop it)", alpha),
    Detector("crop_offset", "with the crop {detail}",
             "centre the crop with the training rule: torchvision CenterCrop rounds (H - h) / 2 "
             "half to even, C++ and cv2 code floor it", crop_offset),
    Detector("resize_float", "computed in float ({detail})",
             "resize with the training dtype: uint8 resizes round (and clamp) every result, a "
             "float resize keeps the kernels' overshoot", resize_float),
    Detector("resize_uint8", "computed on uint8 ({detail})",
             "resize the float image as float: rounding it to uint8 first clips values outside "
             "0..255", resize_uint8),
    Detector("range_back", "converted to pixels with {detail}",
             "map the model's output range onto [0, 1] before x255: (x + 1) / 2 for a [-1, 1] "
             "output (basicsr tensor2img(min_max=(-1, 1))); undo mean/std first for a normalised one",
             range_back),
    Detector("truncation", "with the floats {detail}",
             "round before the cast, as the reference side does: (x * 255.0).round().astype(uint8) "
             "(numpy and basicsr: half to even), or truncate on both sides", truncation),
    Detector("clamp_back", "with values outside the range {detail}",
             "clip before the cast: np.clip(x * 255, 0, 255) or t.clamp(0, 1); a bare astype/.byte() "
             "wraps -0.01 to 255", clamp_back),
]
DETECTORS_BY_NAME = {d.name: d for d in DETECTORS}


def detector_candidates(ctx: StepContext) -> list[Candidate]:
    """Every detector's candidates for this step, cheapest first."""
    out = []
    for d in DETECTORS:
        out += d.build(ctx)
    out.sort(key=lambda c: c.step is not ctx.step or c.input_kind != "given")
    return out
