"""torchvision weights ``transforms()`` -> pipeline: what ``ImageClassification.forward`` computes
on a PIL image (``torchvision/transforms/_presets.py``, torchvision 0.29.2).

SOURCE is either a JSON object of ``ImageClassification``'s keyword arguments::

    {"resize_size": 232, "crop_size": 224, "interpolation": "bilinear", "antialias": true,
     "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}

(``crop_size`` required, the others default as the class does: 256, bilinear, True, ImageNet;
``interpolation`` is an ``InterpolationMode`` value), or nothing with ``weights=`` naming a weights
enum member, e.g. ``ResNet50_Weights.IMAGENET1K_V2`` or ``ResNet50_Weights.DEFAULT``, looked up in
the offline table :mod:`.torchvision_weights`.

``ImageClassification.forward`` on a PIL image (``transforms/functional.py``):

1. ``F.resize(img, [resize_size], interpolation, antialias)``: short side = resize_size, long side
   ``int(resize_size * long / short)`` (``_compute_resized_output_size``); an unchanged size
   returns the image as is; otherwise PIL ``Image.resize((w, h), pil_modes_mapping[mode])``, so
   the pillow.* presets (PIL always antialiases: ``antialias`` is ignored on PIL input, and
   ``nearest-exact`` is PIL NEAREST).
2. ``F.center_crop(img, [crop_size])``: an axis shorter than the window is padded with 0 (odd
   pixel after), then top = ``int(round((H - h) / 2.0))`` (half to even).
3. ``pil_to_tensor`` then ``convert_image_dtype(float)`` = ``image.to(float32) / 255.0``;
   ``F.normalize``: ``(x - mean) / std`` in float32: the ``torchvision.imagenet`` normalize preset.

The input is what a PIL-based dataset hands the transform (``ImageFolder``'s ``pil_loader``:
``Image.open(f).convert('RGB')``, no EXIF rotation). A uint8 *tensor* input is resized by torch's
own path instead (``tensor=True``, e.g. a ``decode_image`` result): v1 ``F.resize`` converts it to
float32, runs ``interpolate(antialias=True)``, clamps bicubic, rounds half to even
(``_functional_tensor.resize``); the pipeline approximates that with float32 knobs
(:data:`TORCH_FLOAT_AA`: at most 1 uint8 level on a few values in 10^5, said in a warning).
Nearest modes and antialias=False on tensors are a ConfigError. Crop, ``convert_image_dtype``
and ``normalize`` are the same for both inputs.
"""

from __future__ import annotations

import difflib
import math
from typing import Any

from .common import ConfigError, Imported, ImportedStep, config_step, full_step
from .torchvision_weights import DEFAULTS, IMAGENET, TORCHVISION_VERSION, WEIGHTS

#: InterpolationMode value -> (pillow.* preset of pil_modes_mapping, PIL filter name)
PIL_PRESETS = {"nearest": ("pillow.nearest", "NEAREST"), "nearest-exact": ("pillow.nearest", "NEAREST"),
               "bilinear": ("pillow.bilinear", "BILINEAR"), "bicubic": ("pillow.bicubic", "BICUBIC"),
               "box": ("pillow.box", "BOX"), "hamming": ("pillow.hamming", "HAMMING"),
               "lanczos": ("pillow.lanczos", "LANCZOS")}
#: ImageClassification's keyword arguments and their defaults (crop_size has none)
CLASS_DEFAULTS = {"resize_size": 256, "interpolation": "bilinear", "antialias": True,
                  "mean": IMAGENET[0], "std": IMAGENET[1]}


def import_torchvision(doc: dict | None, *, source: str, weights: str | None = None,
                       tensor: bool = False, **unknown: Any) -> Imported:
    """The pipeline of ``ImageClassification(**doc)`` or of ``weights``' ``transforms()``.

    ConfigError for an unknown option, both or neither of doc and weights, an unknown weights
    name, an unknown key or a bad value."""
    if unknown:
        raise ConfigError(source, f"--{sorted(unknown)[0].replace('_', '-')}",
                          "not an option of the torchvision importer (it takes --weights, --tensor)")
    warnings: list[str] = []
    if weights is not None and doc is not None:
        raise ConfigError(source, "--weights", "give either a parameters file or --weights, not both")
    if weights is not None:
        params, name = _from_weights(weights)
        key_of = lambda k: f"{name}.transforms().{k}"  # noqa: E731
        where = (f"the weights table (read from torchvision {TORCHVISION_VERSION})"
                 + (f"; {weights} is {name}" if name != weights else ""))
    elif doc is not None:
        params, key_of, name = _from_doc(doc, source), (lambda k: k), None
        where = source
    else:
        raise ConfigError(source, "--weights", "the torchvision importer needs --weights NAME or a JSON "
                          "file of ImageClassification parameters")

    resize_size, crop_size = params["resize_size"], params["crop_size"]
    interpolation, antialias = params["interpolation"], params["antialias"]
    mean, std = params["mean"], params["std"]
    if tensor:
        preset, overrides = None, _tensor_resize(interpolation, antialias, source, key_of("interpolation"))
        resize_note = (f"F.resize on a uint8 tensor: to float32, torch interpolate ({key_of('interpolation')} "
                       f"= {interpolation!r}, {key_of('antialias')} = {antialias!r}), round half to even")
        warnings.append(f"{source}: --tensor: torch's float32 antialiased resize is approximated: at most "
                        "1 uint8 level on ~5e-5 of the values (measured on the corpus photos); the "
                        "PIL-input pipeline (without --tensor) is bit-exact")
    else:
        (preset, pil_name), overrides = PIL_PRESETS[interpolation], {}
        resize_note = (f"{key_of('interpolation')} = {interpolation!r}: PIL Image.resize(resample={pil_name}) "
                       "(torchvision pil_modes_mapping)")
        if antialias is not True:
            warnings.append(f"{source}: {key_of('antialias')}: {antialias!r} ignored: torchvision always "
                            "antialiases PIL images (F.resize warns the same)")
    steps = [
        ImportedStep(full_step("decode", preset="pillow"),
                     "Image.open(f).convert('RGB') (ImageFolder pil_loader): no EXIF rotation, alpha dropped"
                     if not tensor else
                     "pil_to_tensor(Image.open(f).convert('RGB')): a uint8 tensor, no EXIF rotation"),
        ImportedStep(config_step(source, key_of("resize_size"), "resize", preset=preset,
                                 shorter_side=resize_size, size_rounding="floor", size_formula="product",
                                 **overrides),
                     f"F.resize(img, [{key_of('resize_size')} = {resize_size}]): short side {resize_size}, "
                     f"long side int({resize_size} * long / short)\n{resize_note}"),
        ImportedStep(config_step(source, key_of("crop_size"), "crop", mode="center", height=crop_size,
                                 width=crop_size, offset_rounding="round", if_smaller="pad",
                                 pad_extra="after", value=(0,)),
                     f"F.center_crop(img, [{key_of('crop_size')} = {crop_size}]): top = int(round((H - "
                     f"{crop_size}) / 2.0)) (half to even); a shorter axis is padded with 0, odd pixel "
                     "bottom/right"),
        ImportedStep(config_step(source, key_of("mean"), "normalize", preset="torchvision.imagenet",
                                 mean=mean, std=std),
                     f"convert_image_dtype(float) = x / 255.0 in float32, then F.normalize("
                     f"{key_of('mean')} = {list(mean)}, {key_of('std')} = {list(std)}) in float32"),
        ImportedStep(full_step("layout", layout="chw", batch=True, channel_order="keep"),
                     "CHW tensor; batch axis as the model takes it (unsqueeze(0))"),
    ]
    pid = "torchvision." + (name if name else "ImageClassification") + (".tensor" if tensor else "")
    description = (f"torchvision {name or 'ImageClassification'} transforms(): resize {resize_size} "
                   f"{interpolation}, center crop {crop_size}" + (", uint8 tensor input" if tensor
                                                                    else ", PIL image input"))
    origin = {"format": "torchvision", "source": source if weights is None else f"--weights {weights}",
              "class": "torchvision.transforms._presets.ImageClassification",
              "backend": "uint8 tensor input" if tensor else "PIL image input",
              "parameters": f"from {where}"}
    return Imported(id=pid, description=description, steps=steps, warnings=warnings, origin=origin)


def _from_weights(weights: Any) -> tuple[dict, str]:
    """(ImageClassification parameters, the member name with ``DEFAULT`` resolved)."""
    if not isinstance(weights, str):
        raise ConfigError("--weights", None, f"must be a name such as ResNet50_Weights.IMAGENET1K_V2, "
                          f"not {weights!r}")
    name = weights
    enum, _, member = weights.partition(".")
    if member == "DEFAULT" and enum in DEFAULTS:
        name = f"{enum}.{DEFAULTS[enum]}"
    if name not in WEIGHTS:
        close = difflib.get_close_matches(weights, list(WEIGHTS) + [f"{e}.DEFAULT" for e in DEFAULTS], n=3)
        raise ConfigError("--weights", None, f"unknown classification weights {weights!r}"
                          + (f" (did you mean {', '.join(close)}?)" if close else "")
                          + f"; the table holds the {len(WEIGHTS)} ImageClassification weights of "
                          f"torchvision {TORCHVISION_VERSION} (conformance/importers/torchvision_weights.py)")
    resize_size, crop_size, interpolation, antialias, (mean, std) = WEIGHTS[name]
    return dict(resize_size=resize_size, crop_size=crop_size, interpolation=interpolation,
                antialias=antialias, mean=mean, std=std), name


def _from_doc(doc: dict, source: str) -> dict:
    known = ("crop_size",) + tuple(CLASS_DEFAULTS)
    for k in doc:
        if k not in known:
            raise ConfigError(source, k, f"not an ImageClassification parameter (known: {', '.join(known)})")
    if "crop_size" not in doc:
        raise ConfigError(source, "crop_size", "required (ImageClassification has no default for it)")
    params = {**CLASS_DEFAULTS, **doc}
    for k in ("resize_size", "crop_size"):
        v = params[k]
        if not (isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 1 << 16):
            raise ConfigError(source, k, f"{v!r}: must be a positive integer (a list is not accepted: "
                              "ImageClassification takes one side)")
    interpolation = params["interpolation"]
    if not isinstance(interpolation, str) or interpolation not in PIL_PRESETS:
        raise ConfigError(source, "interpolation", f"{params['interpolation']!r}: must be an "
                          f"InterpolationMode value: {', '.join(PIL_PRESETS)}")
    if params["antialias"] not in (True, False, None):
        raise ConfigError(source, "antialias", f"{params['antialias']!r}: must be true, false or null")
    for k in ("mean", "std"):
        v = params[k]
        if not (isinstance(v, (list, tuple)) and len(v) in (1, 3) and all(
                isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in v)):
            raise ConfigError(source, k, f"{v!r}: must be a list of 1 or 3 numbers")
        params[k] = tuple(float(x) for x in v)
    if any(s == 0 for s in params["std"]):
        raise ConfigError(source, "std", f"{list(params['std'])}: a std of 0 divides by zero")
    return params


#: torch.nn.functional.interpolate(float32, antialias=True) as torchvision's v1 ``F.resize`` runs
#: it on a uint8 tensor (``_functional_tensor.resize``: ``_cast_squeeze_in`` to float32,
#: interpolate, bicubic clamped to [0, 255], ``torch.round`` (half to even), back to uint8).
#: Measured closest knob set, NOT bit-exact: at most 1 uint8 level on ~2e-5..5e-5 of the values
#: of the corpus photos (torch's float32 weight normalisation and sums differ in the last ulp).
TORCH_FLOAT_AA = dict(antialias=True, coords="half_pixel", border="renormalize", arithmetic="float32",
                      weights_dtype="float32", rounding="half_even", pass_order="hv",
                      intermediate="float32", window="floor_ceil", cubic_a=-0.5, lobes=3,
                      nearest_index="coords", unchanged_axis="skip")
TENSOR_FILTERS = {"bilinear": "triangle", "bicubic": "cubic"}


def _tensor_resize(interpolation: str, antialias: Any, source: str, key: str) -> dict:
    """Resize knobs for a uint8 tensor input (see :data:`TORCH_FLOAT_AA`). The
    ``torchvision.tensor.*`` presets model torch's *uint8* kernel, which transforms.v2 runs;
    ``ImageClassification`` uses v1 ``F.resize``, which converts to float32 first."""
    if interpolation not in TENSOR_FILTERS or antialias is not True:
        raise ConfigError(source, key, f"--tensor with {interpolation!r}, antialias={antialias!r}: "
                          "only antialiased bilinear and bicubic tensor resizes are modelled; without "
                          "--tensor the pipeline models PIL image input")
    return {**TORCH_FLOAT_AA, "filter": TENSOR_FILTERS[interpolation]}
