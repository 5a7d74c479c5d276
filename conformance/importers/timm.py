"""timm ``pretrained_cfg`` -> pipeline: what ``timm.data.create_transform(**resolve_data_config(
{}, pretrained_cfg=cfg))`` computes at evaluation time on a PIL image.

Read from timm 1.0.31 (``timm/data/config.py``, ``transforms_factory.py``, ``transforms.py``) and
torchvision 0.29.2 (``transforms/functional.py``); checked against the installed libraries by
``tests/test_import_timm.py`` (bit for bit on the corpus photos).

SOURCE is a hub ``config.json`` (``{"architecture": ..., "pretrained_cfg": {...}, ...}``) or a bare
``pretrained_cfg`` object. Resolution (``resolve_data_config``; an absent or null key takes the
default; ``test_size=True`` is ``use_test_size=True``):

- ``input_size`` (C, H, W), default (3, 224, 224); ``test_input_size`` instead when test_size.
- ``interpolation``, default ``bicubic``: a PIL filter name (nearest, bilinear, bicubic, box,
  hamming, lanczos), run as PIL ``Image.resize(resample=...)`` by torchvision's ``F.resize``.
- ``crop_pct``, default 0.875 (``DEFAULT_CROP_PCT``); ``test_crop_pct`` instead when test_size.
- ``crop_mode``, default ``center``; ``mean``/``std``, default ImageNet.

Eval transform (``transforms_imagenet_eval``), with ``scale_size = math.floor(size / crop_pct)``
per side (224 / 0.875 -> 256, 224 / 0.95 -> 235):

- ``center``, square target: ``transforms.Resize(scale_size)``: short side = scale_size, long
  side ``int(scale_size * long / short)``; then ``CenterCrop(size)``. A non-square target uses
  ``ResizeKeepRatio(longest=0)``, whose ratio min(h/th, w/tw) picks the axis by the image's
  aspect against the target's: no resize knob expresses that, so it is a ConfigError (no config
  in timm 1.0.31's registry has one: its non-square targets all use squash).
- ``squash``: ``Resize((sh, sw))`` ignoring the aspect, then ``CenterCrop(size)``.
- ``border``, square target: ``ResizeKeepRatio(scale_size, longest=1)``: r = max(h, w) / s in
  float64, both sides ``round(side / r)`` (Python round, half to even), with the configured
  interpolation (1.0.31 passes it to ResizeKeepRatio in both of its uses); then
  ``CenterCropOrPad(size, fill=[round(255 * m) for m in mean])``. A non-square target is a
  ConfigError, as for center.
- torchvision ``F.center_crop`` and timm's ``center_crop_or_pad`` both pad an axis shorter than
  the window (odd pixel after: ``(d + 1) // 2`` right/bottom) then crop at
  ``int(round((H - h) / 2.0))`` (half to even).
- ``ToTensor``: uint8 -> float32 ``x / 255``; ``Normalize(mean, std)``: ``(x - mean) / std`` in
  float32 (mean/std rounded to float32): the ``torchvision.imagenet`` normalize preset.

The input is ``Image.open(f).convert('RGB')`` (timm's ``ImageDataset`` reader): no EXIF rotation,
alpha dropped. The output is CHW float32 with the batch axis a model takes (``unsqueeze(0)``).
"""

from __future__ import annotations

import math
import re
from typing import Any

from .common import ConfigError, Imported, ImportedStep, config_step, full_step

IMAGENET_DEFAULT_MEAN = (0.485, 0.456, 0.406)  # timm/data/constants.py
IMAGENET_DEFAULT_STD = (0.229, 0.224, 0.225)
DEFAULT_CROP_PCT = 0.875
DEFAULT_CROP_MODE = "center"
DEFAULT_INTERPOLATION = "bicubic"  # resolve_data_config's default (not transforms_imagenet_eval's)

#: timm interpolation name -> the pillow.* resize preset (str_to_interp_mode, then torchvision's
#: pil_modes_mapping: PIL's own filters)
INTERPOLATION_PRESETS = {"nearest": "pillow.nearest", "bilinear": "pillow.bilinear",
                         "bicubic": "pillow.bicubic", "box": "pillow.box",
                         "hamming": "pillow.hamming", "lanczos": "pillow.lanczos"}
CROP_MODES = ("center", "squash", "border")

#: pretrained_cfg keys that can change the eval transform (resolve_data_config reads them)
PREPROCESSING_KEYS = ("input_size", "test_input_size", "interpolation", "crop_pct", "test_crop_pct",
                      "crop_mode", "mean", "std")
#: pretrained_cfg keys (timm/models/_pretrained.py PretrainedCfg) that resolve_data_config does
#: not read: weights location, provenance, classifier head and model-shape metadata
IGNORED_CFG_KEYS = ("url", "file", "state_dict", "hf_hub_id", "hf_hub_filename", "source",
                    "architecture", "tag", "custom_load", "min_input_size", "fixed_input_size",
                    "num_classes", "label_offset", "label_names", "label_descriptions", "pool_size",
                    "test_pool_size", "first_conv", "classifier", "license", "description",
                    "origin_url", "paper_name", "paper_ids", "notes")
#: top-level keys of a hub config.json (timm/models/_hub.py _get_config) besides pretrained_cfg
IGNORED_HUB_KEYS = ("architecture", "num_classes", "num_features", "global_pool", "label_names",
                    "label_descriptions", "model_args")


def import_timm(doc: dict | None, *, source: str, test_size: bool = False, **unknown: Any) -> Imported:
    """The pipeline of timm's eval transform for ``doc`` (hub config.json or bare pretrained_cfg).

    ``test_size``: use ``test_input_size``/``test_crop_pct`` (``resolve_data_config(
    use_test_size=True)``). ConfigError for an unknown option, an unknown key, a value timm would
    reject, or a transform the pipeline steps cannot express (non-square center/border)."""
    if unknown:
        raise ConfigError(source, f"--{sorted(unknown)[0].replace('_', '-')}",
                          "not an option of the timm importer (it takes --test-size)")
    if doc is None:
        raise ConfigError(source, None, "the timm importer needs a config: a hub config.json or a "
                                        "pretrained_cfg JSON object")
    warnings: list[str] = []
    cfg, prefix, hub = _unwrap(doc, source, warnings)
    _check_keys(cfg, source, prefix, warnings)
    key = lambda k: prefix + k  # noqa: E731 - the key as the user sees it in the file

    size_key = "test_input_size" if test_size and cfg.get("test_input_size") is not None else "input_size"
    input_size = _input_size(_get(cfg, size_key, (3, 224, 224)), source, key(size_key))
    pct_key = "test_crop_pct" if test_size and cfg.get("test_crop_pct") is not None else "crop_pct"
    crop_pct = _crop_pct(_get(cfg, pct_key, DEFAULT_CROP_PCT), source, key(pct_key))
    if not test_size:
        for k in ("test_input_size", "test_crop_pct"):
            if cfg.get(k) is not None:
                warnings.append(f"{source}: {key(k)}: not used (timm uses it only with "
                                f"use_test_size=True; import with --test-size for it)")
    interpolation = cfg.get("interpolation") or DEFAULT_INTERPOLATION
    if not isinstance(interpolation, str) or interpolation not in INTERPOLATION_PRESETS:
        raise ConfigError(source, key("interpolation"),
                          f"{interpolation!r} is not an eval interpolation; known: "
                          f"{', '.join(INTERPOLATION_PRESETS)}")
    crop_mode = cfg.get("crop_mode") or DEFAULT_CROP_MODE
    if not isinstance(crop_mode, str) or crop_mode not in CROP_MODES:
        raise ConfigError(source, key("crop_mode"), f"{crop_mode!r} is not one of {', '.join(CROP_MODES)}")
    mean = _channels(cfg.get("mean") or IMAGENET_DEFAULT_MEAN, source, key("mean"))
    std = _channels(cfg.get("std") or IMAGENET_DEFAULT_STD, source, key("std"))
    if any(s == 0 for s in std):
        raise ConfigError(source, key("std"), f"{list(std)}: a std of 0 divides by zero")

    h, w = input_size[1], input_size[2]
    scale = (math.floor(h / crop_pct), math.floor(w / crop_pct))
    preset = INTERPOLATION_PRESETS[interpolation]
    where = (f"{key(size_key)} = {list(input_size)}, {key(pct_key)} = {crop_pct!r}: scale_size = "
             f"floor({h} / {crop_pct!r})" + (f" = {scale[0]}" if h == w else
                                             f", floor({w} / {crop_pct!r}) = {scale}"))
    interp_note = (f"{key('interpolation')} = {interpolation!r}" if cfg.get("interpolation")
                   else f"{key('interpolation')} absent: resolve_data_config's default 'bicubic'")
    steps = [ImportedStep(full_step("decode", preset="pillow"),
                          "Image.open(f).convert('RGB') (timm ImageDataset): no EXIF rotation, alpha dropped")]
    if crop_mode == "squash":
        steps.append(ImportedStep(
            config_step(source, key("interpolation"), "resize", preset=preset, height=scale[0],
                        width=scale[1]),
            f"crop_mode squash: transforms.Resize(({scale[0]}, {scale[1]})), aspect not kept\n{where}\n"
            f"{interp_note}: PIL Image.resize via torchvision F.resize"))
        steps.append(_center_crop(h, w, (0,), "CenterCrop", source, key(size_key)))
    else:
        if h != w:
            raise ConfigError(source, key(size_key),
                              f"{list(input_size)}: a non-square target with crop_mode {crop_mode!r} "
                              "runs timm ResizeKeepRatio, whose ratio min/max(h/th, w/tw) picks the "
                              "axis by the image's aspect against the target's; no resize knob "
                              "expresses it (crop_mode squash is supported)")
        if crop_mode == "center":
            steps.append(ImportedStep(
                config_step(source, key("interpolation"), "resize", preset=preset,
                            shorter_side=scale[0], size_rounding="floor", size_formula="product"),
                f"crop_mode center: transforms.Resize({scale[0]}): short side {scale[0]}, long side "
                f"int({scale[0]} * long / short)\n{where}\n"
                f"{interp_note}: PIL Image.resize via torchvision F.resize"))
            steps.append(_center_crop(h, w, (0,), "CenterCrop", source, key(size_key)))
        else:
            fill = tuple(round(255 * m) for m in mean)
            if len(fill) == 1:
                fill = fill * 3
            steps.append(ImportedStep(
                config_step(source, key("interpolation"), "resize", preset=preset,
                            longer_side=scale[0], size_formula="ratio", size_rounding="round"),
                f"crop_mode border: ResizeKeepRatio({scale[0]}, longest=1): r = max(h, w) / "
                f"{scale[0]}, each side round(side / r)\n{where}\n"
                f"{interp_note}: PIL Image.resize via torchvision F.resize"))
            steps.append(_center_crop(h, w, fill, "CenterCropOrPad", source, key(size_key),
                                      f"fill = [round(255 * m) for m in {key('mean')}] = {list(fill)}"))
    steps.append(ImportedStep(
        config_step(source, key("mean"), "normalize", preset="torchvision.imagenet", mean=mean, std=std),
        f"ToTensor (x / 255 in float32) then Normalize({key('mean')} = {list(mean)}, "
        f"{key('std')} = {list(std)}) in float32"
        + ("" if cfg.get("mean") and cfg.get("std") else " (absent keys: timm's ImageNet defaults)")))
    steps.append(ImportedStep(full_step("layout", layout="chw", batch=True, channel_order="keep"),
                              "CHW tensor from ToTensor; batch axis as the model takes it (unsqueeze(0))"))

    name = hub.get("architecture") or cfg.get("architecture")
    tag = cfg.get("tag")
    pid = _pipeline_id("timm", name, tag, "test" if size_key == "test_input_size" else None)
    description = (f"timm eval transform{' of ' + str(name) if name else ''}"
                   f"{'.' + str(tag) if tag else ''}: crop_mode {crop_mode}, {interpolation}, "
                   f"input {h}x{w}, crop_pct {crop_pct!r}")
    origin = {"format": "timm", "source": source, "class": "timm.data.transforms_imagenet_eval",
              "backend": "PIL image input",
              "semantics": "read from timm 1.0.31 resolve_data_config + transforms_imagenet_eval"}
    return Imported(id=pid, description=description, steps=steps, warnings=warnings, origin=origin)


def _get(cfg: dict, key: str, default: Any) -> Any:
    """``cfg[key]``, or ``default`` when absent or null (PretrainedCfg's unset optional keys)."""
    v = cfg.get(key)
    return default if v is None else v


def _unwrap(doc: dict, source: str, warnings: list[str]) -> tuple[dict, str, dict]:
    """(pretrained_cfg, key prefix for messages, hub wrapper or {})."""
    if "pretrained_cfg" not in doc:
        return doc, "", {}
    cfg = doc["pretrained_cfg"]
    if not isinstance(cfg, dict):
        raise ConfigError(source, "pretrained_cfg", f"must be an object, not {type(cfg).__name__}")
    metadata = []
    for k in doc:
        if k == "pretrained_cfg":
            continue
        if k not in IGNORED_HUB_KEYS:
            raise ConfigError(source, k, "unknown key of a timm hub config.json (known: "
                              f"pretrained_cfg, {', '.join(IGNORED_HUB_KEYS)}); refusing to guess "
                              "whether it changes the preprocessing")
        if k == "model_args":
            warnings.append(f"{source}: model_args: ignored (model construction arguments: "
                            "resolve_data_config reads pretrained_cfg only)")
        else:
            metadata.append(k)
    if metadata:
        warnings.append(f"{source}: {', '.join(metadata)}: ignored (model metadata, not read by "
                        "resolve_data_config)")
    return cfg, "pretrained_cfg.", doc


def _check_keys(cfg: dict, source: str, prefix: str, warnings: list[str]) -> None:
    for k in cfg:
        if k in PREPROCESSING_KEYS:
            continue
        if k not in IGNORED_CFG_KEYS:
            raise ConfigError(source, prefix + k, "unknown pretrained_cfg key; refusing to guess "
                              "whether it changes the preprocessing (known: "
                              f"{', '.join(PREPROCESSING_KEYS)} and metadata keys)")
    ignored = [k for k in cfg if k in IGNORED_CFG_KEYS]
    if ignored:
        warnings.append(f"{source}: {', '.join(prefix + k for k in ignored)}: ignored (metadata, not "
                        "read by resolve_data_config)")


def _input_size(v: Any, source: str, key: str) -> tuple[int, int, int]:
    if not (isinstance(v, (list, tuple)) and len(v) == 3
            and all(isinstance(x, int) and not isinstance(x, bool) and 1 <= x <= 1 << 16 for x in v)):
        raise ConfigError(source, key, f"{v!r}: must be [channels, height, width] of positive integers")
    if v[0] != 3:
        raise ConfigError(source, key, f"{list(v)}: {v[0]} channels; the eval transform of an RGB "
                          "image gives 3, only 3-channel models are supported")
    return tuple(v)


def _crop_pct(v: Any, source: str, key: str) -> float:
    if not (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0):
        raise ConfigError(source, key, f"{v!r}: must be a number > 0")
    return float(v)


def _channels(v: Any, source: str, key: str) -> tuple[float, ...]:
    if not (isinstance(v, (list, tuple)) and len(v) in (1, 3)
            and all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in v)):
        raise ConfigError(source, key, f"{v!r}: must be a list of 1 or 3 numbers")
    return tuple(float(x) for x in v)


def _center_crop(h: int, w: int, fill: tuple, what: str, source: str, key: str, note: str = "") -> ImportedStep:
    """torchvision ``F.center_crop`` / timm ``center_crop_or_pad``: pad a short axis (odd pixel
    after), then crop at int(round((H - h) / 2.0))."""
    return ImportedStep(
        config_step(source, key, "crop", mode="center", height=h, width=w, offset_rounding="round",
                    if_smaller="pad", pad_extra="after", value=fill),
        f"{what}(({h}, {w})): top = int(round((H - {h}) / 2.0)) (half to even); an axis shorter "
        f"than the window is padded with {list(fill)}, odd pixel bottom/right" + (f"\n{note}" if note else ""))


def _pipeline_id(fmt: str, *parts: Any) -> str:
    """``fmt.part.part``, each part reduced to letters, digits, '_' and '-'."""
    clean = [re.sub(r"[^A-Za-z0-9_-]+", "_", str(p)).strip("_") for p in parts if p]
    return ".".join([fmt] + [c for c in clean if c])
