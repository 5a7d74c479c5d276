"""Keras applications preprocessing -> pipeline: ``keras.utils.load_img(path, target_size=(h, w))``,
``keras.utils.img_to_array``, ``np.expand_dims(x, 0)``, ``preprocess_input(x)`` of a mode.

Read from keras 3.15.1 (``keras/src/utils/image_utils.py``, ``keras/src/applications/
imagenet_utils.py``); checked against keras itself by ``tests/test_import_keras.py`` when keras is
importable, and always against a transcription of those lines.

SOURCE is an optional JSON object ``{"mode": "caffe", "target_size": [224, 224],
"interpolation": "nearest"}`` (also ``keep_aspect_ratio``: only false, ``color_mode``: only
"rgb"); options ``mode``, ``size`` ((h, w), or one int for a square) and ``interpolation`` give the
same without a file (an option and a key disagreeing is an error).

- ``load_img``: ``PIL.Image.open`` and ``convert("RGB")`` unless already RGB (no EXIF
  rotation); with ``target_size=(h, w)`` and a different size, ``img.resize((w, h),
  PIL_INTERPOLATION_METHODS[interpolation])``; the default interpolation is ``"nearest"``
  (PIL NEAREST, not antialiased). ``keep_aspect_ratio=True`` resizes a centre box with PIL's
  ``box=`` argument, whose kernels read pixels outside the box: not modelled (ConfigError).
- ``img_to_array``: ``np.asarray(img, dtype="float32")`` (``backend.floatx()``), HWC.
- ``preprocess_input`` on that float32 array, in place, each operation in float32
  (``_preprocess_numpy_input``; the tensor path does the same arithmetic):
  - ``caffe``: ``x = x[..., ::-1]`` (RGB -> BGR), then ``x[..., c] -= mean[c]`` with mean
    ``[103.939, 116.779, 123.68]`` in *BGR* order, no scaling.
  - ``tf``: ``x /= 127.5; x -= 1.0``.
  - ``torch``: ``x /= 255.0``, then ``x[..., c] -= [0.485, 0.456, 0.406][c]`` and
    ``x[..., c] /= [0.229, 0.224, 0.225][c]``.
  Applications using them: caffe = VGG16/19, ResNet50/101/152 (v1); tf = ResNetV2, InceptionV3,
  InceptionResNetV2, Xception, MobileNet, MobileNetV2, NASNet; torch = DenseNet. (EfficientNet,
  EfficientNetV2, ConvNeXt, MobileNetV3 and RegNet preprocess inside the model: their
  ``preprocess_input`` returns its input, so they are not a mode here.)
"""

from __future__ import annotations

from typing import Any

from .common import ConfigError, Imported, ImportedStep, config_step, full_step

CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)  # imagenet_utils._preprocess_numpy_input, BGR order
TORCH_MEAN = (0.485, 0.456, 0.406)
TORCH_STD = (0.229, 0.224, 0.225)
MODES = ("caffe", "tf", "torch")
#: load_img interpolation name (image_utils.PIL_INTERPOLATION_METHODS) -> pillow.* preset
INTERPOLATION_PRESETS = {"nearest": "pillow.nearest", "bilinear": "pillow.bilinear",
                         "bicubic": "pillow.bicubic", "hamming": "pillow.hamming",
                         "box": "pillow.box", "lanczos": "pillow.lanczos"}
DOC_KEYS = ("mode", "target_size", "interpolation", "keep_aspect_ratio", "color_mode")


def import_keras(doc: dict | None, *, source: str, mode: str | None = None,
                 size: Any = None, interpolation: str | None = None, **unknown: Any) -> Imported:
    """The pipeline of ``load_img`` + ``img_to_array`` + ``preprocess_input(mode=...)``.

    ConfigError for an unknown option or key, a missing or unknown mode, a bad size, an
    unknown interpolation, an option that contradicts the file, or keep_aspect_ratio=True."""
    if unknown:
        raise ConfigError(source, f"--{sorted(unknown)[0].replace('_', '-')}", "not an option of the "
                          "keras importer (it takes --mode, --size, --interpolation)")
    from_file = doc is not None
    doc = dict(doc or {})
    for k in doc:
        if k not in DOC_KEYS:
            raise ConfigError(source, k, f"unknown key (known: {', '.join(DOC_KEYS)})")
    if doc.get("keep_aspect_ratio", False) is not False:
        raise ConfigError(source, "keep_aspect_ratio", f"{doc['keep_aspect_ratio']!r}: only false is "
                          "supported: load_img resizes a centre box with PIL's box= argument, whose "
                          "kernels read pixels outside the box (not modelled)")
    if doc.get("color_mode", "rgb") != "rgb":
        raise ConfigError(source, "color_mode", f"{doc['color_mode']!r}: only 'rgb' is supported "
                          "(the preprocess_input modes expect 3 channels)")
    doc_size = _size(doc["target_size"], source, "target_size") if doc.get("target_size") is not None else None
    mode_v = _merge(doc.get("mode"), mode, "mode", "--mode", source)
    size_v = _merge(doc_size, _size(size, source, "--size") if size is not None else None,
                    "target_size", "--size", source)
    interp_v = _merge(doc.get("interpolation"), interpolation, "interpolation", "--interpolation", source)
    if mode_v is None:
        raise ConfigError(source, "mode", f"required: one of {', '.join(MODES)} (--mode or the file's "
                          "'mode')")
    if not isinstance(mode_v, str) or mode_v not in MODES:
        raise ConfigError(source, "mode", f"{mode_v!r} is not one of {', '.join(MODES)}")
    interp_v = "nearest" if interp_v is None else interp_v
    if not isinstance(interp_v, str) or interp_v not in INTERPOLATION_PRESETS:
        raise ConfigError(source, "interpolation", f"{interp_v!r}: load_img knows "
                          f"{', '.join(INTERPOLATION_PRESETS)}")

    steps = [ImportedStep(full_step("decode", preset="pillow"),
                          "load_img: PIL Image.open, convert('RGB') unless RGB; no EXIF rotation")]
    if size_v is not None:
        h, w = size_v
        steps.append(ImportedStep(
            config_step(source, "target_size", "resize", preset=INTERPOLATION_PRESETS[interp_v],
                        height=h, width=w),
            f"load_img(target_size=({h}, {w}), interpolation={interp_v!r}): img.resize(({w}, {h}), "
            f"PIL {interp_v.upper()})" + ("" if interpolation or "interpolation" in doc else
                                           "; 'nearest' is load_img's default")))
    if mode_v == "caffe":
        steps.append(ImportedStep(full_step("color", conversion="rgb_to_bgr"),
                                  "mode caffe: x = x[..., ::-1] ('RGB'->'BGR')"))
        steps.append(ImportedStep(
            full_step("normalize", dtype="float32", compute_dtype="float32", scale=1.0, divisor=None,
                      mean=CAFFE_MEAN_BGR, std=(1.0,), order="scale_first"),
            "img_to_array: float32; mode caffe: x[..., c] -= [103.939, 116.779, 123.68][c] in float32 "
            "(BGR order: 103.939 is blue), no scaling"))
    elif mode_v == "tf":
        steps.append(ImportedStep(
            full_step("normalize", dtype="float32", compute_dtype="float32", divisor=127.5, scale=1 / 127.5,
                      mean=(1.0,), std=(1.0,), order="scale_first"),
            "img_to_array: float32; mode tf: x /= 127.5; x -= 1.0 (float32)"))
    else:
        steps.append(ImportedStep(
            full_step("normalize", preset="torchvision.imagenet", mean=TORCH_MEAN, std=TORCH_STD),
            "img_to_array: float32; mode torch: x /= 255.0, x[..., c] -= mean[c], x[..., c] /= std[c] "
            "(float32, ImageNet mean/std)"))
    steps.append(ImportedStep(full_step("layout", layout="hwc", batch=True, channel_order="keep"),
                              "channels_last (HWC) array; np.expand_dims(x, axis=0) for the model"))
    size_txt = f"{size_v[0]}x{size_v[1]}" if size_v is not None else "native size"
    pid = f"keras.{mode_v}" + (f".{size_v[0]}x{size_v[1]}" if size_v is not None else "")
    given = " ".join(f"--{k} {v}" for k, v in (("mode", mode), ("size", size and " ".join(map(str, size_v))),
                                                 ("interpolation", interpolation)) if v is not None)
    origin = {"format": "keras", "source": source if from_file else f"options {given}",
              "class": "keras.applications.imagenet_utils.preprocess_input",
              "backend": "load_img (PIL) + img_to_array",
              "semantics": "read from keras 3.15.1 image_utils.load_img + imagenet_utils._preprocess_numpy_input"}
    return Imported(id=pid, description=f"Keras load_img {size_txt} ({interp_v}) + preprocess_input "
                                        f"mode {mode_v}", steps=steps, warnings=[], origin=origin)


def _merge(in_doc: Any, option: Any, key: str, option_name: str, source: str) -> Any:
    """The option's value, else the file's; ConfigError when both are given and differ."""
    if option is not None and in_doc is not None and option != in_doc:
        raise ConfigError(source, key, f"{in_doc!r} in the file but {option_name} {option!r}")
    return option if option is not None else in_doc


def _size(v: Any, source: str, key: str) -> tuple[int, int]:
    """(h, w) from a pair, or one int for a square."""
    def ok(x: Any) -> bool:
        return isinstance(x, int) and not isinstance(x, bool) and 1 <= x <= 1 << 16
    if ok(v):
        return (v, v)
    if isinstance(v, (list, tuple)) and len(v) == 2 and all(ok(x) for x in v):
        return (v[0], v[1])
    raise ConfigError(source, key, f"{v!r}: must be [height, width] (keras target_size order) of "
                      "positive integers")
