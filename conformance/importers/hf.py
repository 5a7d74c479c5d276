"""Hugging Face ``preprocessor_config.json`` (transformers 5 image processors) -> a pipeline.

Read from transformers 5.25.0 (paths under ``transformers/``):

- Which class: ``image_processor_type`` (``CLIPImageProcessor``; a legacy ``...Fast`` or a
  ``...Pil`` suffix names the same processor), or the older ``feature_extractor_type``
  (``CLIPFeatureExtractor``). ``models/auto/image_processing_auto.py _resolve_backend``: with no
  ``backend=`` argument, ``AutoImageProcessor.from_pretrained`` builds the **torchvision** class
  whenever torchvision is installed, else the **PIL** class (``CLIPImageProcessorPil``).
- Keys absent (or null) take the class's defaults (``image_processing_utils._set_attributes``);
  :data:`CLASSES` holds them, read from ``models/<m>/image_processing_pil_<m>.py`` (the torchvision
  classes carry the same values; ``tests/test_import_hf.py`` checks both against the classes).
- ``size`` (``image_processing_utils.get_size_dict``): an int is ``{height: n, width: n}`` when the
  class's ``default_to_square`` is true, else ``{shortest_edge: n}``; a list ``[h, w]`` is
  ``{height, width}``. ``crop_size``: an int or list always means ``{height, width}``.
- Order (``image_processing_backends.py PilBackend._preprocess`` / ``TorchvisionBackend._preprocess``):
  resize -> center crop -> rescale -> normalize; ``pixel_values`` is float32 NCHW.
- Resize target (``image_transforms.get_resize_output_image_size``): ``{shortest_edge: s}`` makes
  the short side s and the long side ``int(s * long / short)`` (truncation); ``{height, width}``
  is that size exactly. ConvNext (``models/convnext/image_processing_pil_convnext.py resize``):
  ``shortest_edge < 384``: short side ``int(shortest_edge / crop_pct)`` then a center crop of
  ``shortest_edge`` square; ``>= 384``: warp to ``shortest_edge`` square, no crop.
- PIL backend: ``image_transforms.resize`` -> ``PIL.Image.resize((w, h), resample,
  reducing_gap=None)`` on uint8 (the ``pillow.<filter>`` presets, 0 LSB);
  ``image_transforms.center_crop``: top = ``(H - ch) // 2``, a window larger than the image pads
  zeros with ``ceil(d / 2)`` before; ``rescale``: ``x.astype(float64) * rescale_factor`` then
  float32; ``normalize``: ``(x - float32(mean)) / float32(std)`` in float32.
- Torchvision backend: ``tvF.resize(uint8 tensor, antialias=True)`` with
  ``pil_torch_interpolation_mapping`` (NEAREST -> NEAREST_EXACT; BOX and HAMMING raise for
  tensors); ``center_crop``: pad ``floor(d / 2)`` before, then top = ``int((H - ch) / 2.0)``;
  rescale and normalize fused (``_fuse_mean_std_and_rescale_factor``): ``(x - mean/rf) /
  (std/rf)`` in float32; rescale alone is ``x * rf`` in float32.
- Loading (``image_utils.load_image``, what a path or URL goes through):
  ``ImageOps.exif_transpose`` then ``convert("RGB")`` (alpha dropped, no compositing). A PIL
  image handed to the processor directly skips that: no EXIF rotation, and ``do_convert_rgb``
  (``image_transforms.convert_to_rgb``) composites transparency on white with
  ``Image.alpha_composite`` (equal to the float composite rounded half up: checked on all
  256 x 256 (alpha, value) pairs in the tests). ``loader="image_open"`` selects that case.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .common import ConfigError, Imported, ImportedStep, config_step, full_step

OPENAI_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)  # transformers image_utils.py
OPENAI_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
IMAGENET_STANDARD_MEAN = (0.5, 0.5, 0.5)
IMAGENET_STANDARD_STD = (0.5, 0.5, 0.5)

BACKENDS = ("torchvision", "pil")
#: The backend imported when none is asked for: transformers 5's AutoImageProcessor builds the
#: torchvision class wherever torchvision is installed (models/auto/image_processing_auto.py
#: _resolve_backend), which is what a PyTorch user of a hub model runs.
DEFAULT_BACKEND = "torchvision"
LOADERS = ("load_image", "image_open")

# PIL.Image.Resampling number -> (resize filter name, Pillow preset, name)
RESAMPLE = {0: ("nearest", "NEAREST"), 1: ("lanczos", "LANCZOS"), 2: ("bilinear", "BILINEAR"),
            3: ("bicubic", "BICUBIC"), 4: ("box", "BOX"), 5: ("hamming", "HAMMING")}
# tvF.resize on tensors has no BOX or HAMMING kernel: the torchvision class raises for them
TORCHVISION_UNSUPPORTED_RESAMPLE = (4, 5)


@dataclass(frozen=True)
class ProcessorClass:
    """One image processor class: its defaults (class attributes of transformers 5.25.0
    ``models/<module>/image_processing_pil_<module>.py``; None = attribute not set, falsy) and
    the class-specific keys it takes."""

    name: str
    module: str
    defaults: dict
    default_to_square: bool
    extra_keys: tuple[str, ...] = ()
    notes: str = ""


def _defaults(**kw: Any) -> dict:
    base = dict(do_resize=None, size=None, resample=None, do_center_crop=None, crop_size=None,
                do_rescale=None, rescale_factor=1 / 255, do_normalize=None, image_mean=None,
                image_std=None, do_convert_rgb=None, do_pad=None)
    base.update(kw)
    return base


_CLIP_LIKE = dict(resample=3, image_mean=OPENAI_CLIP_MEAN, image_std=OPENAI_CLIP_STD,
                  size={"shortest_edge": 224}, crop_size={"height": 224, "width": 224},
                  do_resize=True, do_center_crop=True, do_rescale=True, do_normalize=True,
                  do_convert_rgb=True)
_HALF = dict(image_mean=IMAGENET_STANDARD_MEAN, image_std=IMAGENET_STANDARD_STD)

CLASSES: dict[str, ProcessorClass] = {c.name: c for c in (
    ProcessorClass("CLIPImageProcessor", "clip", _defaults(**_CLIP_LIKE), False, ("use_square_size",)),
    ProcessorClass("SiglipImageProcessor", "siglip", _defaults(
        resample=3, **_HALF, size={"height": 224, "width": 224}, do_resize=True, do_rescale=True,
        do_normalize=True, do_convert_rgb=True), False),
    ProcessorClass("ViTImageProcessor", "vit", _defaults(
        resample=2, **_HALF, size={"height": 224, "width": 224}, do_resize=True, do_rescale=True,
        do_normalize=True), True),
    ProcessorClass("DeiTImageProcessor", "deit", _defaults(
        resample=3, **_HALF, size={"height": 256, "width": 256}, crop_size={"height": 224, "width": 224},
        do_resize=True, do_center_crop=True, do_rescale=True, do_normalize=True), True),
    ProcessorClass("BeitImageProcessor", "beit", _defaults(
        resample=3, **_HALF, size={"height": 224, "width": 224}, crop_size={"height": 224, "width": 224},
        do_resize=True, do_center_crop=False, do_rescale=True, do_normalize=True), True,
        ("do_reduce_labels",)),
    ProcessorClass("ConvNextImageProcessor", "convnext", _defaults(
        resample=3, **_HALF, size={"shortest_edge": 384}, do_resize=True, do_rescale=True,
        do_normalize=True), False, ("crop_pct",)),
    ProcessorClass("BitImageProcessor", "bit", _defaults(**_CLIP_LIKE), False),
    ProcessorClass("BlipImageProcessor", "blip", _defaults(
        resample=3, image_mean=OPENAI_CLIP_MEAN, image_std=OPENAI_CLIP_STD,
        size={"height": 384, "width": 384}, do_resize=True, do_rescale=True, do_normalize=True,
        do_convert_rgb=True), True),
    ProcessorClass("MobileNetV2ImageProcessor", "mobilenet_v2", _defaults(
        resample=2, **_HALF, size={"shortest_edge": 256}, crop_size={"height": 224, "width": 224},
        do_resize=True, do_center_crop=True, do_rescale=True, do_normalize=True), False,
        ("do_reduce_labels",)),
)}
CONVNEXT_DEFAULT_CROP_PCT = 224 / 256
CONVNEXT_CROP_THRESHOLD = 384  # shortest_edge below this: resize larger, then crop

# keys that cannot change pixel_values: warned about, named
IGNORED_KEYS = {
    "image_processor_type": "it names the class (read above)",
    "feature_extractor_type": "it names the class (read above)",
    "processor_class": "it names the multimodal processor, not the image transform",
    "return_tensors": "it picks the container type, not the values",
    "device": "it says where the tensors live, not their values",
    "disable_grouping": "it batches by shape; one image's values do not change",
    "image_seq_length": "it is a count for the text side",
    "do_reduce_labels": "it applies to segmentation maps (labels), not to pixel_values",
    "reduce_labels": "it is the old name of do_reduce_labels (segmentation maps only)",
    "input_data_format": "it describes array inputs; a decoded file is channels-last",
}
# keys that name classes: read (or, processor_class, of no effect), not worth a warning
CLASS_NAMING_KEYS = ("image_processor_type", "feature_extractor_type", "processor_class")
HANDLED_KEYS = ("do_resize", "size", "resample", "do_center_crop", "crop_size", "do_rescale",
                "rescale_factor", "do_normalize", "image_mean", "image_std", "do_convert_rgb",
                "default_to_square", "do_pad", "pad_size", "data_format")


def resolve_class(doc: dict, source: str) -> tuple[ProcessorClass, str]:
    """The processor class a config names, and the key that named it."""
    for key in ("image_processor_type", "feature_extractor_type"):
        name = doc.get(key)
        if name is None:
            continue
        if not isinstance(name, str):
            raise ConfigError(source, key, f"must be a class name string, not {name!r}")
        base = re.sub(r"(Fast|Pil)$", "", name)
        base = re.sub(r"FeatureExtractor$", "ImageProcessor", base)
        if base in CLASSES:
            return CLASSES[base], key
        raise ConfigError(source, key, f"unsupported class {name!r}; supported: "
                          f"{', '.join(sorted(CLASSES))} (with or without Fast/Pil)")
    raise ConfigError(source, "image_processor_type", "missing: cannot tell which image processor "
                      "class (and so which defaults) this config is for")


def _bool(doc: dict, key: str, default: Any, source: str) -> bool:
    v = doc.get(key)
    if v is None:
        return bool(default)
    if not isinstance(v, bool):
        raise ConfigError(source, key, f"must be true or false, not {v!r}")
    return v


def _positive_int(v: Any, source: str, key: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 1 << 16:
        raise ConfigError(source, key, f"must be an integer 1..65536, not {v!r}")
    return v


def _number(v: Any, source: str, key: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ConfigError(source, key, f"must be a finite number, not {v!r}")
    return float(v)


def _channels(v: Any, source: str, key: str) -> tuple[float, ...]:
    """image_mean / image_std: one number (broadcast to the 3 channels, as normalize does) or 3."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return (_number(v, source, key),) * 3
    if not isinstance(v, (list, tuple)) or len(v) != 3:
        raise ConfigError(source, key, f"must be a number or a list of 3 numbers (RGB), not {v!r}")
    return tuple(_number(x, source, key) for x in v)


def size_dict(v: Any, default_to_square: bool, source: str, key: str) -> dict:
    """``image_processing_utils.get_size_dict``: int / [h, w] / dict -> a size dict, then only the
    forms this importer reproduces: ``{height, width}`` and ``{shortest_edge}``."""
    if isinstance(v, int) and not isinstance(v, bool):
        d = {"height": v, "width": v} if default_to_square else {"shortest_edge": v}
    elif isinstance(v, (list, tuple)) and len(v) == 2:
        d = {"height": v[0], "width": v[1]}
    elif isinstance(v, dict):
        d = dict(v)
    else:
        raise ConfigError(source, key, f"must be an integer, [height, width] or a size dict, not {v!r}")
    if set(d) == {"height", "width"} or set(d) == {"shortest_edge"}:
        return {k: _positive_int(x, source, f"{key}.{k}") for k, x in d.items()}
    if set(d) in ({"shortest_edge", "longest_edge"}, {"longest_edge"}, {"max_height", "max_width"},
                  {"min_pixels", "max_pixels"}):
        raise ConfigError(source, key, f"unsupported size form {sorted(d)} (this importer "
                          "reproduces {height, width} and {shortest_edge})")
    raise ConfigError(source, key, f"invalid size keys {sorted(d)}: transformers accepts "
                      "{height, width}, {shortest_edge}, {shortest_edge, longest_edge}, "
                      "{longest_edge}, {max_height, max_width}, {min_pixels, max_pixels}")


def import_hf(doc: dict | None, *, source: str, backend: str | None = None,
              loader: str = "load_image", **options: Any) -> Imported:
    """Import a ``preprocessor_config.json`` as the pipeline of ``backend`` (``torchvision`` or
    ``pil``; default :data:`DEFAULT_BACKEND`). ``loader``: ``load_image`` (a path or URL through
    ``transformers.image_utils.load_image``: EXIF applied, alpha dropped) or ``image_open`` (a
    ``PIL.Image.open`` result passed directly: no EXIF, transparency composited on white when
    ``do_convert_rgb``). ConfigError for an unknown class or key, a value it cannot reproduce,
    or an option of another format."""
    if options:
        key = sorted(options)[0]
        raise ConfigError(source, None, f"option {key!r} does not apply to the hf format")
    if doc is None:
        raise ConfigError(source, None, "the hf format needs a preprocessor_config.json")
    backend = backend or DEFAULT_BACKEND
    if backend not in BACKENDS:
        raise ConfigError(source, None, f"unknown backend {backend!r}; known: {', '.join(BACKENDS)}")
    if loader not in LOADERS:
        raise ConfigError(source, None, f"unknown loader {loader!r}; known: {', '.join(LOADERS)}")
    cls, class_key = resolve_class(doc, source)
    warnings: list[str] = []
    name = Path(source).name  # warnings name the file, not the path it was given by

    # --- keys: handled, ignorable (warned), or an error ----------------------------------
    for key in sorted(doc):
        if key in HANDLED_KEYS or key in cls.extra_keys:
            continue
        if key in IGNORED_KEYS:
            if key not in CLASS_NAMING_KEYS:
                warnings.append(f"{name}: {key}: ignored: {IGNORED_KEYS[key]}")
            continue
        raise ConfigError(source, key, f"unknown key for {cls.name} (not reproduced; "
                          "refusing to guess what it does)")

    d = cls.defaults
    get = lambda k: doc.get(k) if doc.get(k) is not None else d.get(k)  # noqa: E731
    if doc.get("data_format") not in (None, "channels_first"):
        raise ConfigError(source, "data_format", f"{doc['data_format']!r} is not reproduced "
                          "(pixel_values are channels_first)")
    if _bool(doc, "do_pad", d.get("do_pad"), source):
        raise ConfigError(source, "do_pad", "true is not reproduced (padding to a batch or pad_size)")
    if doc.get("pad_size") is not None:
        warnings.append(f"{name}: pad_size: ignored because do_pad is false")

    default_to_square = _bool(doc, "default_to_square", cls.default_to_square, source)
    do_resize = _bool(doc, "do_resize", d["do_resize"], source)
    do_center_crop = _bool(doc, "do_center_crop", d["do_center_crop"], source)
    do_rescale = _bool(doc, "do_rescale", d["do_rescale"], source)
    do_normalize = _bool(doc, "do_normalize", d["do_normalize"], source)
    do_convert_rgb = _bool(doc, "do_convert_rgb", d["do_convert_rgb"], source)
    src = lambda k: f"{k}={_show(doc[k])}" if doc.get(k) is not None else f"{k}={_show(d.get(k))} (class default)"  # noqa: E731

    size_raw = get("size")
    if cls.name == "CLIPImageProcessor" and _bool(doc, "use_square_size", False, source):
        # image_processing_pil_clip.py __init__ (KOSMOS-2): size becomes the class default's
        # shortest_edge as a square, whatever size says
        size_raw = {"height": d["size"]["shortest_edge"], "width": d["size"]["shortest_edge"]}
    size = size_dict(size_raw, default_to_square, source, "size") if do_resize else None
    resample = get("resample")
    if isinstance(resample, bool) or resample not in RESAMPLE:
        raise ConfigError(source, "resample", f"must be a PIL.Image.Resampling number 0..5, not {resample!r}")
    if do_resize and backend == "torchvision" and resample in TORCHVISION_UNSUPPORTED_RESAMPLE:
        raise ConfigError(source, "resample", f"{resample} ({RESAMPLE[resample][1]}) has no tensor "
                          "kernel in torchvision: the torchvision backend raises; use --backend pil")
    filter_name, pil_name = RESAMPLE[resample]
    crop_size = None
    if do_center_crop:
        raw = get("crop_size")
        if raw is None:
            raise ConfigError(source, "crop_size", "do_center_crop is true but no crop_size is "
                              "given and the class has none")
        crop_size = size_dict(raw, True, source, "crop_size")
        if "height" not in crop_size:
            raise ConfigError(source, "crop_size", "must be {height, width} (center_crop needs both)")
    rescale_factor = _number(get("rescale_factor"), source, "rescale_factor")
    if do_rescale and rescale_factor == 0:
        raise ConfigError(source, "rescale_factor", "must not be 0")
    mean = _channels(get("image_mean"), source, "image_mean") if do_normalize else None
    std = _channels(get("image_std"), source, "image_std") if do_normalize else None
    if std is not None and any(s == 0 for s in std):
        raise ConfigError(source, "image_std", "must not contain 0")
    crop_pct = None
    if cls.name == "ConvNextImageProcessor" and do_resize:
        if "shortest_edge" not in size:
            raise ConfigError(source, "size", "ConvNext needs {shortest_edge} (its resize raises "
                              "for other forms)")
        crop_pct = _number(doc["crop_pct"], source, "crop_pct") if doc.get("crop_pct") is not None \
            else CONVNEXT_DEFAULT_CROP_PCT
        if crop_pct <= 0:
            raise ConfigError(source, "crop_pct", f"must be > 0, not {crop_pct!r}")

    steps: list[ImportedStep] = []
    steps.append(_decode_step(loader, do_convert_rgb, source))
    resize_preset = _resize_preset(filter_name, backend)
    resample_note = f"resample={resample} {pil_name}" + ("" if doc.get("resample") is not None else " (class default)")
    if backend == "torchvision" and do_resize and resize_preset.startswith("pillow."):
        warnings.append(f"{name}: resample: the torchvision backend resizes with torch's antialiased "
                        f"uint8 kernel (tvF.resize), for which the suite has no bit-exact preset with "
                        f"this filter: {resize_preset} is written here and may differ from it; use "
                        "--backend pil for a pipeline that is exact")
    kernel = ("PIL.Image.resize(reducing_gap=None) on uint8" if backend == "pil" else
              "tvF.resize(uint8 tensor, antialias=True)")
    if do_resize:
        if crop_pct is not None and size["shortest_edge"] < CONVNEXT_CROP_THRESHOLD:
            s = size["shortest_edge"]
            short = int(s / crop_pct)
            steps.append(ImportedStep(config_step(
                source, "size", "resize", preset=resize_preset, shorter_side=short,
                size_rounding="floor", size_formula="product"),
                f"{src('size')} < 384 and crop_pct={_show(crop_pct)}"
                f"{'' if doc.get('crop_pct') is not None else ' (class default)'}: short side "
                f"int({s} / {_show(crop_pct)}) = {short}, long side int({short} * long / short) "
                f"(ConvNextImageProcessor.resize); {resample_note}; {kernel}"))
            steps.append(ImportedStep(_crop(s, s, backend, source, "size"),
                                      f"ConvNext crop: center crop {s}x{s} after the resize "
                                      f"(ConvNextImageProcessor.resize); {_crop_rule(backend)}"))
        elif "shortest_edge" in size:
            s = size["shortest_edge"]
            if crop_pct is not None:  # ConvNext >= 384: warp to a square, no crop
                steps.append(ImportedStep(config_step(
                    source, "size", "resize", preset=resize_preset, height=s, width=s),
                    f"{src('size')} >= 384: warp to {s}x{s}, no crop, crop_pct unused "
                    f"(ConvNextImageProcessor.resize); {resample_note}; {kernel}"))
            else:
                steps.append(ImportedStep(config_step(
                    source, "size", "resize", preset=resize_preset, shorter_side=s,
                    size_rounding="floor", size_formula="product"),
                    f"{src('size')}: short side {s}, long side int({s} * long / short), truncating "
                    f"(image_transforms.get_resize_output_image_size); {resample_note}; {kernel}"))
        else:
            steps.append(ImportedStep(config_step(
                source, "size", "resize", preset=resize_preset, height=size["height"],
                width=size["width"]),
                f"{src('size')}: {size['height']}x{size['width']}, aspect ratio not kept; "
                f"{resample_note}; {kernel}"))
    if do_center_crop:
        steps.append(ImportedStep(_crop(crop_size["height"], crop_size["width"], backend, source,
                                        "crop_size"),
                                  f"do_center_crop=true{'' if doc.get('do_center_crop') is not None else ' (class default)'}, "
                                  f"{src('crop_size')}: {_crop_rule(backend)}"))
    norm = _normalize_step(backend, do_rescale, rescale_factor, do_normalize, mean, std, source)
    if norm is not None:
        knobs, how = norm
        keys = ", ".join(src(k) for k in ("do_rescale", "rescale_factor", "do_normalize",
                                          "image_mean", "image_std")
                         if (k != "rescale_factor" or do_rescale)
                         and (k not in ("image_mean", "image_std") or do_normalize))
        steps.append(ImportedStep(knobs, f"{keys}\n{how}"))
    else:
        warnings.append(f"{name}: do_rescale, do_normalize: both false, so pixel_values stay "
                        "uint8 (no normalize step)")
    steps.append(ImportedStep(full_step("layout", layout="chw", batch=True, channel_order="keep"),
                              "pixel_values: (1, 3, H, W), RGB (return_tensors='np')"))

    return Imported(
        id=f"{_default_id(source)}.{backend}", steps=steps, warnings=warnings,
        description=f"{cls.name} ({backend} backend) as imported from {Path(source).name}",
        origin={"format": "hf", "class": cls.name, "backend": backend, "source": Path(source).name,
                "loader": loader})


def _show(v: Any) -> str:
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_show(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_show(x) for x in v) + "]"
    if isinstance(v, bool):
        return "true" if v else "false"
    return repr(v) if isinstance(v, float) else str(v)


def _default_id(source: str) -> str:
    """A pipeline id from the file name (its folder's name for ``preprocessor_config.json``)."""
    p = Path(source)
    stem = p.parent.name if p.name == "preprocessor_config.json" and p.parent.name else p.stem
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-._") or "hf"
    return name if name[0].isalnum() else f"hf-{name}"


def _resize_preset(filter_name: str, backend: str) -> str:
    """``pillow.<filter>`` (0 LSB against the PIL backend), or for the torchvision backend a
    ``torchvision.tensor.<filter>`` preset when :mod:`conformance.presets` has one."""
    if backend == "torchvision":
        from ..presets import RESIZE_PRESETS
        name = f"torchvision.tensor.{filter_name}"
        if name in RESIZE_PRESETS:
            return name
    return f"pillow.{filter_name}"


def _decode_step(loader: str, do_convert_rgb: bool, source: str) -> ImportedStep:
    if loader == "load_image":
        return ImportedStep(
            full_step("decode", preset="pillow", orientation="apply"),
            "transformers.image_utils.load_image: PIL.Image.open, ImageOps.exif_transpose (EXIF "
            "applied), convert('RGB') (alpha dropped, not composited); do_convert_rgb is then a no-op")
    if not do_convert_rgb:
        raise ConfigError(source, "do_convert_rgb", "false with loader image_open keeps the file's "
                          "own channels (gray 1, RGBA 4): not reproduced; use loader load_image")
    return ImportedStep(
        full_step("decode", preset="pillow", orientation="ignore", alpha="composite",
                  background=[255, 255, 255], trns="apply"),
        "PIL.Image.open passed to the processor: no EXIF rotation; do_convert_rgb=true: "
        "image_transforms.convert_to_rgb composites transparency (alpha or tRNS) on white")


def _crop(h: int, w: int, backend: str, source: str, key: str) -> dict:
    return config_step(source, key, "crop", mode="center", height=h, width=w,
                       offset_rounding="floor", if_smaller="pad",
                       pad_extra="before" if backend == "pil" else "after", value=[0])


def _crop_rule(backend: str) -> str:
    if backend == "pil":
        return ("top = (H - ch) // 2 (image_transforms.center_crop); a smaller image is zero-padded, "
                "ceil(d / 2) before")
    return ("top = int((H - ch) / 2.0) (TorchvisionBackend.center_crop); a smaller image is "
            "zero-padded, floor(d / 2) before")


def _normalize_step(backend: str, do_rescale: bool, rescale_factor: float, do_normalize: bool,
                    mean: tuple | None, std: tuple | None, source: str) -> tuple[dict, str] | None:
    """The normalize step of each (backend, do_rescale, do_normalize) branch, or None when both
    are off (pixel_values stay uint8)."""
    if not do_rescale and not do_normalize:
        return None
    m = list(mean) if do_normalize else [0.0]
    s = list(std) if do_normalize else [1.0]
    scale = rescale_factor if do_rescale else 1.0
    if backend == "pil":
        if do_rescale:
            knobs = config_step(source, "rescale_factor", "normalize", dtype="float32",
                                compute_dtype="float32", scale=scale, scale_dtype="float64",
                                mean=m, std=s, order="scale_first")
            how = ("PilBackend: rescale = float32(float64(x) * rescale_factor); then "
                   + ("normalize (x - float32(mean)) / float32(std) in float32" if do_normalize
                      else "no normalize"))
        else:
            knobs = config_step(source, "image_mean", "normalize", dtype="float32",
                                compute_dtype="float32", scale=1.0, mean=m, std=s, order="scale_first")
            how = "PilBackend: no rescale; normalize (float32(x) - mean) / std in float32"
        return knobs, how
    if do_rescale and do_normalize:
        knobs = config_step(source, "rescale_factor", "normalize", dtype="float32",
                            compute_dtype="float32", scale=scale, mean=m, std=s, order="fused")
        how = ("TorchvisionBackend.rescale_and_normalize, fused: M = mean * (1 / rescale_factor), "
               "S = std * (1 / rescale_factor) in float32, out = (x - M) / S in float32")
    elif do_rescale:
        knobs = config_step(source, "rescale_factor", "normalize", dtype="float32",
                            compute_dtype="float32", scale=scale, mean=m, std=s, order="scale_first")
        how = "TorchvisionBackend.rescale: x * rescale_factor in float32 (no normalize)"
    else:
        knobs = config_step(source, "image_mean", "normalize", dtype="float32",
                            compute_dtype="float32", scale=1.0, mean=m, std=s, order="scale_first")
        how = "TorchvisionBackend: no rescale; tvF.normalize (float32(x) - mean) / std in float32"
    return knobs, how
