"""The transformers harness: each step as a Hugging Face image processor's PIL backend runs it.

Library: ``transformers`` 5 (measured with 5.25.0), its PIL/NumPy backend
(``transformers/image_processing_backends.py`` class ``PilBackend``, the base of every
``XxxImageProcessorPil``; it needs no torch). Every step runs the methods of a real processor
instance whose attributes come from the step's knobs (``PilBackend(size=..., resample=...,
crop_size=..., rescale_factor=..., image_mean=..., image_std=...)``, built offline from keyword
arguments), so the size logic, the PIL round trip, the crop and the float arithmetic are the
library's own. Inside the library images are (C, H, W) (``input_data_format=FIRST``); the
harness converts from and to the suite's (H, W, C) around each call, which moves no value.

The chain decode -> resize -> crop -> normalize -> layout is exactly ``PilBackend._preprocess``
(resize, center_crop, rescale, normalize, then ``BatchFeature(return_tensors="np")``):
``tests/test_harness_transformers.py`` proves it bitwise against :func:`run_processor`, which
runs the real processor class a ``preprocessor_config.json`` names.

The knob rule of :mod:`.base` applies (intent knob without a library call: unsupported;
behaviour knob: the library's fixed behaviour, the score shows the divergence). Per op:

decode — what a transformers user gets from the file:
  ``Image.open(io.BytesIO(data))`` + ``load()`` (a corrupt file raises here), then
  - ``orientation`` (behaviour, exposed as a choice of path): ``apply`` runs
    ``ImageOps.exif_transpose``, the first call of ``transformers.image_utils.load_image`` (what the
    pipelines use); ``ignore`` skips it, as ``processor(Image.open(path))`` does.
  - ``alpha`` (intent): ``drop`` -> ``im.convert("RGB")``, load_image's conversion (with
    ``orientation="apply"`` the harness calls ``load_image(im)`` itself), then the processor's
    ``convert_to_rgb`` (``do_convert_rgb``); ``composite`` -> the processor's ``convert_to_rgb``
    on the opened image (``PilBackend.convert_to_rgb`` -> ``image_transforms.convert_to_rgb``:
    ``Image.alpha_composite`` over an opaque **white** RGBA canvas when the image has an alpha
    band or ``info["transparency"]``), so ``background`` other than (255, 255, 255) is
    unsupported; ``keep`` is unsupported (the processors always produce 3-channel RGB).
    Pillow's ``convert("RGB")`` keeps a tRNS key in ``info["transparency"]`` (as an RGB triple),
    so ``convert_to_rgb`` after ``load_image`` still paints the keyed colour white: the real
    behaviour of ``processor(load_image(path))``, whatever ``trns`` says (``trns`` is behaviour:
    transformers always reads tRNS).
  - ``output`` (intent): ``rgb``; ``bgr`` -> then ``image_transforms.flip_channel_order`` (the call
    processors with ``do_flip_channel_order`` make); ``gray`` and ``unchanged`` are unsupported.
  - ``depth16``, ``gray_arithmetic``, JPEG knobs, ``max_pixels``: Pillow's (libjpeg-turbo ISLOW,
    fancy upsampling; 16-bit PNG high byte; ``Image.MAX_IMAGE_PIXELS``).
  Output (H, W, 3) uint8. This is the ``do_convert_rgb=True`` path (the CLIP and SigLIP class
  defaults, and what most hub configs say). ViT and ConvNext default to ``do_convert_rgb=None``,
  which skips ``convert_to_rgb``: there an RGBA file stays 4-channel and the real processor raises
  in ``normalize`` (3 means for 4 channels), and a tRNS key is not painted (measured in the tests).

resize — ``processor.resize(image, size=processor.size, resample=processor.resample)``
  (``PilBackend.resize`` -> ``image_transforms.resize``: ``to_pil_image``, then
  ``PIL.Image.resize((w, h), resample, reducing_gap=None)`` on uint8; float input in [0, 1] goes
  through uint8 as x·255 and back /255, integer input outside 0..255 raises).
  ``filter`` (intent) -> ``resample``: nearest NEAREST 0, lanczos LANCZOS 1, triangle BILINEAR 2,
  cubic BICUBIC 3, box BOX 4, hamming HAMMING 5; area and gaussian are unsupported (PIL has
  neither). Size (intent), as the processor's ``SizeDict``:
  - ``height``/``width`` -> ``{"height", "width"}``;
  - ``shorter_side`` S with ``size_rounding="floor"``, ``size_formula="product"`` ->
    ``{"shortest_edge": S}``: ``get_resize_output_image_size(default_to_square=False)``, long side
    ``int(S · long / short)``; with ``max_size`` M the processor's SizeDict has no such key, so
    the harness calls ``image_transforms.get_resize_output_image_size(max_size=M)`` itself
    (``new_short = int(M · new_short / new_long)``, ``new_long = M``) and passes height/width;
  - any other form (``longer_side``, ``round``/``ceil`` rounding, timm's ``ratio``): the size from
    :func:`.base.resize_target`, passed as height/width (transformers has no such rule; the
    kernel is still the library's, and ``describe`` says so).
  Behaviour knobs (``antialias``, ``cubic_a``, ``pass_order``, ``intermediate``...): Pillow's.

crop — ``center`` -> ``processor.center_crop(image, SizeDict(height, width))``
  (``image_transforms.center_crop``: ``top = (H − h) // 2``, ``left = (W − w) // 2``; a window
  larger than the image zero-pads first with ``ceil(d / 2)`` before). ``offset_rounding``,
  ``if_smaller``, ``pad_extra`` and ``value`` are behaviour: transformers floors, always pads,
  puts the odd pixel before and fills 0. ``box`` is unsupported (no transformers call: numpy
  slicing is not the library).

pad — ``image_transforms.pad(image, ((top, bottom), (left, right)), mode, constant_values)``
  (``np.pad``): ``constant`` (one fill value for every channel; per-channel fills are
  unsupported: ``constant_values`` is per side, not per channel), ``edge`` -> ``REPLICATE``,
  ``reflect`` -> ``REFLECT`` (numpy's reflect, no edge repeat).

letterbox — unsupported: transformers has no letterbox call (``PilBackend.pad`` pads to a size on
  the bottom/right only).

color — ``rgb_to_bgr``/``bgr_to_rgb`` -> ``image_transforms.flip_channel_order``;
  ``gray_to_rgb`` -> ``image_transforms.convert_to_rgb`` on a (H, W, 1) array (``np.repeat``);
  ``rgba_to_rgb`` with ``alpha="composite"`` over white -> ``convert_to_rgb`` on a (H, W, 4)
  uint8 array (a = A/255 in float64, ``round(a·c + (1 − a)·255)`` half to even). Everything
  else (luma, YCbCr, dropping alpha, other backgrounds) is unsupported.

normalize — ``processor.rescale(image, processor.rescale_factor)``
  (``image_transforms.rescale``: ``image.astype(float64) * factor`` then float32) and
  ``processor.normalize(image, processor.image_mean, processor.image_std)``
  (``image_transforms.normalize``: ``(x − mean) / std`` in float32, mean and std cast to float32).
  ``rescale_factor`` = ``scale``, or 1 / ``divisor`` (transformers only multiplies); ``scale == 1``
  without divisor is ``do_rescale=False``. ``dtype`` other than float32 is unsupported (intent:
  the processors return float32). ``order="mean_first"`` (a mean in input units, subtracted
  before scaling: cv2.dnn.blobFromImage) is unsupported: transformers subtracts its mean from the
  rescaled values and has no call for the other formula. ``order="fused"`` (the same intent,
  the torchvision backend's arithmetic), ``compute_dtype`` and ``scale_dtype`` are behaviour:
  transformers computes scale-first, float64 product rounded once to float32, float32 after.

layout — ``chw`` + ``batch``: ``np.moveaxis`` to (C, H, W) (the processor's working layout) and
  ``BatchFeature(data={"pixel_values": [image]}, tensor_type="np")`` (``np.asarray`` of the list),
  ``channel_order="reverse"`` by ``flip_channel_order`` on the (C, H, W) image first. ``hwc`` and
  ``batch=false`` are unsupported: ``PilBackend._preprocess`` ignores ``data_format`` and always
  returns batched channels-first ``pixel_values``.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import numpy as np
import transformers
from PIL import Image, ImageOps
from transformers import image_transforms
from transformers.image_processing_backends import PilBackend
from transformers.image_processing_base import BatchFeature
from transformers.image_utils import ChannelDimension, PILImageResampling, load_image

from ..errors import SpecError
from .base import Harness, Unsupported, package_versions, resize_target

FIRST = ChannelDimension.FIRST  # transformers' (C, H, W)
LAST = ChannelDimension.LAST  # the suite's (H, W, C)

# filter knob -> (name, PIL resampling number as in preprocessor_config.json "resample")
RESAMPLE = {"nearest": ("NEAREST", PILImageResampling.NEAREST),
            "lanczos": ("LANCZOS", PILImageResampling.LANCZOS),
            "triangle": ("BILINEAR", PILImageResampling.BILINEAR),
            "cubic": ("BICUBIC", PILImageResampling.BICUBIC),
            "box": ("BOX", PILImageResampling.BOX),
            "hamming": ("HAMMING", PILImageResampling.HAMMING)}
RESIZE_UNSUPPORTED = {
    "area": "transformers resizes with PIL, which has no OpenCV INTER_AREA resampler (BOX is the "
            "closest on integer downscales); use OpenCV or the reference",
    "gaussian": "transformers resizes with PIL, which has no Gaussian resampler; use the image "
                "crate, fast_image_resize or the reference",
    "mitchell": "transformers resizes with PIL, which has no Mitchell-Netravali resampler (TF's "
                "mitchellcubic); use TensorFlow or the reference",
}
WHITE = (255, 255, 255)  # convert_to_rgb composites on white only
PAD_MODES = {"constant": image_transforms.PaddingMode.CONSTANT,
             "edge": image_transforms.PaddingMode.REPLICATE,
             "reflect": image_transforms.PaddingMode.REFLECT}
OPS = ("decode", "resize", "crop", "pad", "letterbox", "color", "normalize", "layout")


class TransformersHarness(Harness):
    """transformers' PIL-backend image processor methods; see the module docstring."""

    name = "transformers"
    summary = ("transformers 5 PIL backend: load_image/convert_to_rgb, PilBackend.resize/center_crop/"
               "rescale/normalize, BatchFeature")

    def versions(self) -> dict[str, str]:
        import PIL

        out = package_versions("transformers", transformers.__version__)
        out["PIL"] = PIL.__version__
        return out

    def capabilities(self) -> dict[str, str]:
        return {
            "decode": "Image.open, ImageOps.exif_transpose (load_image), convert('RGB'), processor "
                      "convert_to_rgb (alpha over white); rgb/bgr only",
            "resize": "PilBackend.resize (PIL Image.resize, reducing_gap=None) NEAREST/LANCZOS/BILINEAR/"
                      "BICUBIC/BOX/HAMMING; size via SizeDict / get_resize_output_image_size",
            "crop": "PilBackend.center_crop (floor offset, zero pad before); no box crop",
            "pad": "image_transforms.pad (np.pad constant/replicate/reflect); one fill value",
            "letterbox": "unsupported (no transformers call)",
            "color": "flip_channel_order (rgb<->bgr), convert_to_rgb (gray->rgb, rgba over white)",
            "normalize": "PilBackend.rescale (float64 product -> float32) + normalize (float32); "
                         "float32 output only",
            "layout": "(C, H, W) + BatchFeature(return_tensors='np'); chw + batch only",
        }

    # --- protocol -------------------------------------------------------------------------

    def check(self, step: dict[str, Any]) -> str | None:
        op = step.get("op")
        if op not in OPS:
            return f"the transformers harness has no op {op!r}"
        if op == "decode":
            if step["output"] in ("gray", "unchanged"):
                return (f"transformers' image processors always convert to 3-channel RGB "
                        f"(convert_to_rgb); no output={step['output']!r}")
            if step["alpha"] == "keep":
                return "transformers' image processors always drop or composite alpha (convert_to_rgb)"
            if step["alpha"] == "composite" and tuple(step["background"]) != WHITE:
                return ("transformers' convert_to_rgb composites alpha over white only, not "
                        f"{tuple(step['background'])}")
        if op == "resize":
            if step["filter"] in RESIZE_UNSUPPORTED:
                return RESIZE_UNSUPPORTED[step["filter"]]
            if not any(step.get(k) is not None for k in ("height", "shorter_side", "longer_side")):
                return "resize step gives no target size"
        if op == "crop" and step["mode"] != "center":
            return "transformers has no box crop (only center_crop); numpy slicing is not the library"
        if op == "pad" and step["mode"] == "constant" and len(set(step["value"])) > 1:
            return ("image_transforms.pad takes one constant fill for every channel (constant_values "
                    "is per side), not a per-channel fill")
        if op == "letterbox":
            return ("transformers has no letterbox call (PilBackend.pad pads bottom/right to a size); "
                    "use Pillow, OpenCV or the reference")
        if op == "color":
            conv = step["conversion"]
            if conv == "rgba_to_rgb":
                if step["alpha"] != "composite":
                    return "transformers' convert_to_rgb composites alpha over white; it has no alpha drop"
                if tuple(step["background"]) != WHITE:
                    return ("transformers' convert_to_rgb composites alpha over white only, not "
                            f"{tuple(step['background'])}")
            elif conv not in ("rgb_to_bgr", "bgr_to_rgb", "gray_to_rgb"):
                return (f"transformers has no {conv} conversion (image_transforms has "
                        "flip_channel_order and convert_to_rgb only)")
        if op == "normalize" and step.get("order") == "mean_first":
            return ("transformers' rescale + normalize compute (x * rescale_factor - mean) / std: "
                    "no call subtracts a mean in input units before scaling (order='mean_first', "
                    "cv2.dnn.blobFromImage's formula)")
        if op == "normalize" and step["dtype"] != "float32":
            return (f"transformers' rescale/normalize return float32; no dtype={step['dtype']!r} "
                    "(a cast after the processor is not the library)")
        if op == "layout":
            if step["layout"] != "chw":
                return ("PilBackend returns channels-first pixel_values (its _preprocess ignores "
                        "data_format); no hwc layout")
            if not step["batch"]:
                return "transformers returns batched pixel_values (N, C, H, W); no unbatched layout"
        return None

    def describe(self, step: dict[str, Any]) -> str:
        op = step["op"]
        if op == "decode":
            return _decode_description(step)
        if op == "resize":
            name, number = RESAMPLE[step["filter"]]
            return (f"PilBackend.resize(size={_size_description(step)}, resample={number} {name}) -> "
                    "PIL Image.resize((w, h), reducing_gap=None)")
        if op == "crop":
            return (f"PilBackend.center_crop(size=SizeDict(height={step['height']}, width={step['width']})): "
                    "top = (H - h) // 2, zero pad before = ceil")
        if op == "pad":
            mode = PAD_MODES[step["mode"]].name
            return f"image_transforms.pad(((top, bottom), (left, right)), mode={mode})"
        if op == "color":
            conv = step["conversion"]
            if conv in ("rgb_to_bgr", "bgr_to_rgb"):
                return "image_transforms.flip_channel_order(input_data_format=LAST)"
            return "image_transforms.convert_to_rgb(array, return_numpy=True)" + (
                " (alpha over white, np.round)" if conv == "rgba_to_rgb" else " (np.repeat)")
        if op == "normalize":
            factor = _rescale_factor(step)
            rescale = (f"PilBackend.rescale({factor!r}) [float64 product -> float32] + "
                       if factor is not None else "")
            return rescale + "PilBackend.normalize(mean, std) [(x - mean) / std in float32]"
        if op == "layout":
            flip = "flip_channel_order(FIRST) + " if step["channel_order"] == "reverse" else ""
            return f"(C, H, W) + {flip}BatchFeature(pixel_values=[image], tensor_type='np')"
        raise Unsupported(f"the transformers harness has no op {op!r}")

    def run(self, step: dict[str, Any], value: bytes | np.ndarray) -> np.ndarray:
        reason = self.check(step)
        if reason is not None:
            raise Unsupported(reason)
        op = step["op"]
        if op == "decode":
            return _decode(step, value)
        image = np.asarray(value)
        if image.ndim != 3 and op != "layout":
            raise ValueError(f"expected an (H, W, C) image, got shape {image.shape}")
        if op == "resize":
            return _resize(step, image)
        if op == "crop":
            return _crop(step, image)
        if op == "pad":
            return _pad(step, image)
        if op == "color":
            return _color(step, image)
        if op == "normalize":
            return _normalize(step, image)
        return _layout(step, image)


# ---------------------------------------------------------------------------------------------
# layout helpers: the suite's (H, W, C) <-> transformers' (C, H, W)
# ---------------------------------------------------------------------------------------------


def _chw(image: np.ndarray) -> np.ndarray:
    return np.moveaxis(image, -1, 0)


def _hwc(image: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.moveaxis(image, 0, -1))


# ---------------------------------------------------------------------------------------------
# decode
# ---------------------------------------------------------------------------------------------


def _decode_description(step: dict[str, Any]) -> str:
    parts = ["Image.open + load"]
    if step["alpha"] == "drop":
        parts.append("load_image (exif_transpose + convert('RGB'))" if step["orientation"] == "apply"
                     else "convert('RGB') (load_image without exif_transpose)")
    elif step["orientation"] == "apply":
        parts.append("ImageOps.exif_transpose")
    parts.append("PilBackend.convert_to_rgb (alpha/tRNS over white)")
    if step["output"] == "bgr":
        parts.append("flip_channel_order")
    return " + ".join(parts)


def _decode(step: dict[str, Any], data: bytes | np.ndarray) -> np.ndarray:
    im = Image.open(io.BytesIO(bytes(data)))
    if step.get("dct_scale", 1) != 1 and im.format == "JPEG":
        raise Unsupported("transformers' load_image opens files at full size (no Image.draft): "
                          "DCT scaling is not what a processor does; use the pillow harness")
    im.load()  # decode now: a truncated or corrupt file raises here
    if step["alpha"] == "drop":
        # transformers.image_utils.load_image: exif_transpose then convert("RGB")
        im = load_image(im) if step["orientation"] == "apply" else im.convert("RGB")
    elif step["orientation"] == "apply":
        im = ImageOps.exif_transpose(im)
    rgb = PilBackend().convert_to_rgb(im)  # do_convert_rgb: (H, W, 3) uint8
    if step["output"] == "bgr":
        rgb = image_transforms.flip_channel_order(rgb, input_data_format=LAST)
    return np.ascontiguousarray(rgb)


# ---------------------------------------------------------------------------------------------
# resize and crop through a PilBackend instance built from the knobs
# ---------------------------------------------------------------------------------------------


def _native_shortest_edge(step: dict[str, Any]) -> bool:
    """The step's size rule is transformers' own {"shortest_edge": S}: int(S · long / short)."""
    return (step.get("shorter_side") is not None and step.get("size_rounding") == "floor"
            and step.get("size_formula", "product") == "product")


def _size_description(step: dict[str, Any]) -> str:
    if step.get("height") is not None:
        return f"SizeDict(height={step['height']}, width={step['width']})"
    if _native_shortest_edge(step):
        if step.get("max_size") is not None:
            return (f"get_resize_output_image_size({step['shorter_side']}, default_to_square=False, "
                    f"max_size={step['max_size']}) as height/width")
        return f"SizeDict(shortest_edge={step['shorter_side']})"
    return "height/width from base.resize_target (transformers has no such size rule)"


def _resize_size(step: dict[str, Any], chw: np.ndarray) -> dict[str, int]:
    """The processor's ``size`` for this step (module docstring, resize)."""
    if step.get("height") is not None:
        return {"height": int(step["height"]), "width": int(step["width"])}
    if _native_shortest_edge(step):
        if step.get("max_size") is None:
            return {"shortest_edge": int(step["shorter_side"])}
        h, w = image_transforms.get_resize_output_image_size(
            chw, int(step["shorter_side"]), default_to_square=False, max_size=int(step["max_size"]),
            input_data_format=FIRST)
        return {"height": int(h), "width": int(w)}
    h, w = resize_target(step, chw.shape[1], chw.shape[2])
    return {"height": h, "width": w}


def _resize(step: dict[str, Any], image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint16 or image.dtype == np.int32:
        raise Unsupported(f"transformers resizes through an 8-bit PIL image; {image.dtype} samples "
                          "above 255 make to_pil_image raise")
    chw = _chw(image)
    processor = PilBackend(size=_resize_size(step, chw), resample=RESAMPLE[step["filter"]][1])
    return _hwc(processor.resize(chw, size=processor.size, resample=processor.resample))


def _crop(step: dict[str, Any], image: np.ndarray) -> np.ndarray:
    processor = PilBackend(crop_size={"height": int(step["height"]), "width": int(step["width"])})
    return _hwc(processor.center_crop(_chw(image), processor.crop_size))


def _pad(step: dict[str, Any], image: np.ndarray) -> np.ndarray:
    mode = PAD_MODES[step["mode"]]
    padding = ((int(step["top"]), int(step["bottom"])), (int(step["left"]), int(step["right"])))
    fill = step["value"][0]
    out = image_transforms.pad(_chw(image), padding, mode=mode, constant_values=fill,
                               input_data_format=FIRST)
    return _hwc(out)


# ---------------------------------------------------------------------------------------------
# color, normalize, layout
# ---------------------------------------------------------------------------------------------


def _color(step: dict[str, Any], image: np.ndarray) -> np.ndarray:
    conv = step["conversion"]
    c = image.shape[2]
    need = {"gray_to_rgb": 1, "rgba_to_rgb": 4}.get(conv, 3)
    if c != need:
        raise ValueError(f"{conv} needs {need} channel(s), the image has {c}")
    if conv in ("rgb_to_bgr", "bgr_to_rgb"):
        out = image_transforms.flip_channel_order(image, input_data_format=LAST)
    else:
        out = image_transforms.convert_to_rgb(image, return_numpy=True, input_data_format=LAST)
    return np.ascontiguousarray(out)


def _rescale_factor(step: dict[str, Any]) -> float | None:
    """transformers' ``rescale_factor``: ``scale``, or 1 / ``divisor``; None = do_rescale False."""
    if step.get("divisor") is not None:
        return 1.0 / float(step["divisor"])
    scale = float(step["scale"])
    return None if scale == 1.0 else scale


def _per_channel(values, channels: int) -> float | tuple[float, ...]:
    """image_transforms.normalize takes one float for every channel or exactly one per channel."""
    values = [float(v) for v in values]
    if len(values) == 1:
        return values[0]
    if len(values) != channels:
        raise ValueError(f"{len(values)} values for {channels} channels")
    return tuple(values)


def _normalize(step: dict[str, Any], image: np.ndarray) -> np.ndarray:
    c = image.shape[2]
    factor = _rescale_factor(step)
    processor = PilBackend(do_rescale=factor is not None, rescale_factor=factor,
                           do_normalize=True, image_mean=_per_channel(step["mean"], c),
                           image_std=_per_channel(step["std"], c))
    chw = _chw(image)
    if processor.do_rescale:
        chw = processor.rescale(chw, processor.rescale_factor)
    chw = processor.normalize(chw, processor.image_mean, processor.image_std)
    return _hwc(chw)


def _layout(step: dict[str, Any], image: np.ndarray) -> np.ndarray:
    if image.ndim != 3:
        raise ValueError(f"layout expects an (H, W, C) image, got shape {image.shape}")
    chw = _chw(image)
    if step["channel_order"] == "reverse":
        chw = image_transforms.flip_channel_order(chw, input_data_format=FIRST)
    batch = BatchFeature(data={"pixel_values": [chw]}, tensor_type="np")["pixel_values"]
    return np.array(batch, order="C")  # always a copy, never the input itself


# ---------------------------------------------------------------------------------------------
# the whole processor, from a preprocessor_config.json dict
# ---------------------------------------------------------------------------------------------


def processor_class(name: str, *, source: str | None = None) -> type:
    """The PIL-backend class for ``image_processor_type`` ``name``: ``CLIPImageProcessor`` ->
    ``transformers.CLIPImageProcessorPil`` (a ``...Fast`` name maps to the same class; a ``...Pil``
    name is used as is). SpecError naming the key and value if transformers has no such class."""
    if not isinstance(name, str) or not name:
        raise SpecError("must name an image processor class, e.g. 'CLIPImageProcessor'",
                        source=source, field="image_processor_type", value=name)
    base = name.removesuffix("Fast").removesuffix("Pil")
    cls = getattr(transformers, base + "Pil", None)
    if not (isinstance(cls, type) and issubclass(cls, PilBackend)):
        raise SpecError(f"transformers {transformers.__version__} has no PIL-backend image "
                        f"processor {base + 'Pil'!r}", source=source,
                        field="image_processor_type", value=name)
    return cls


def run_processor(config: Mapping[str, Any], image: Image.Image | np.ndarray, *,
                  source: str | None = None) -> np.ndarray:
    """Run the real transformers processor a ``preprocessor_config.json`` dict names on one image.

    ``config["image_processor_type"]`` selects the class (:func:`processor_class`); the whole dict
    goes to ``cls.from_dict`` (keys absent take the class's defaults, unknown keys are ignored as
    transformers ignores them), offline. ``image``: a PIL image (it goes through the processor's
    own ``convert_to_rgb`` when ``do_convert_rgb``) or an (H, W, C) uint8 array. Returns
    ``pixel_values`` with ``return_tensors="np"``: float32 (1, C, H, W).
    """
    if not isinstance(config, Mapping):
        raise SpecError("a preprocessor config must be a JSON object", source=source)
    cls = processor_class(config.get("image_processor_type"), source=source)
    processor = cls.from_dict(dict(config))
    kwargs = {} if isinstance(image, Image.Image) else {"input_data_format": LAST}
    out = processor(image, return_tensors="np", **kwargs)["pixel_values"]
    return np.asarray(out)


__all__ = ["TransformersHarness", "processor_class", "run_processor"]
