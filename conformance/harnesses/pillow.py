"""The Pillow harness: each step as a Pillow (and torchvision-on-PIL) deployment writes it.

Library: ``PIL`` (Pillow 13.0.0 wheel: its own PNG decoder + zlib, libjpeg-turbo 3.2.0).
Normalize and layout have no Pillow call: they are written the way torchvision's
``ToTensor()`` + ``Normalize()`` compute them on a PIL image, in numpy float32 (torch is not
imported). The knob rule of :mod:`.base` applies: an *intent* knob Pillow cannot express makes the
step unsupported, a *behaviour* knob Pillow has no parameter for is left to Pillow's fixed
behaviour. Every decision, per op:

decode — ``Image.open(io.BytesIO(data))`` then ``im.load()`` (inside :meth:`run`, so a truncated or
  corrupt file raises here), ``ImageOps.exif_transpose`` when ``orientation="apply"`` (behaviour,
  exposed: Pillow never rotates on open; ``orientation_source`` is behaviour too: exif_transpose
  reads wherever Pillow's getexif does, the Exif block, ImageMagick's raw profile text, XMP),
  then ``convert``:
  - ``output`` (intent): rgb -> ``convert("RGB")``; bgr -> the same, channels reversed with
    numpy; gray -> ``convert("L")``; unchanged -> the opened mode (L, LA, RGB, RGBA; "1" becomes
    L, palette becomes RGB(A), CMYK becomes RGB). Pillow's modes decide what "unchanged" gives:
    16-bit gray opens as I;16 (kept as uint16 with ``depth16``/``depth16_gray`` ``keep``,
    else ``convert("L")``), 16-bit RGB(A) and 16-bit gray+alpha open as 8-bit RGB(A) (high
    byte): Pillow has no 16-bit multi-channel mode, so ``depth16="keep"`` gives uint8 there
    and gray+alpha 16 comes back as RGBA.
  - ``alpha`` (intent for ``keep``: an alpha channel in the output) applies when the image has
    alpha: an alpha band (LA, RGBA, PA), or, with ``trns="apply"``, a tRNS transparency in
    ``im.info`` (Pillow's ``has_transparency_data``). ``keep`` -> ``convert("RGBA")`` /
    ``convert("LA")``; ``drop`` -> ``convert("RGB")`` / ``convert("L")`` (no compositing);
    ``composite`` -> ``Image.alpha_composite(Image.new("RGBA", size, background + (255,)),
    im.convert("RGBA"))`` then the output conversion (Pillow's integer compositing, so
    rounding is Pillow's; gray output converts the composited RGB to L). An image without
    alpha is unaffected, as in the spec.
  - ``trns`` (behaviour, exposed as the choice of conversion): ``apply`` lets ``convert("RGBA")``
    / ``convert("LA")`` use the tRNS entry (with Pillow's quirks: a sub-8-bit gray key is
    compared after rescaling, a 16-bit rgb key is not compared at 16 bits); ``ignore`` treats
    a tRNS-only image as opaque (``convert("RGB")``/``convert("L")`` never read tRNS).
  - ``depth16``/``depth16_gray`` (behaviour): Pillow's own rules, the high byte (v >> 8) for
    16-bit RGB, RGBA and gray+alpha, ``min(v, 255)`` for I;16 -> L/RGB; ``keep`` (intent: uint16
    output) is honoured where Pillow has a 16-bit mode, I;16 (16-bit gray without alpha, output
    ``unchanged`` or ``gray``).
  - ``gray_arithmetic`` (behaviour, exposed as the choice of conversion): ``float`` ->
    ``convert("RGB").convert("L", matrix=(kr, kg, kb, 0))`` with ``gray_coefficients``
    (Pillow's float matrix path, rounded half up); every other value -> ``convert("L")``
    (Pillow's (19595·R + 38470·G + 7471·B + 0x8000) >> 16, i.e. ``pillow_fixed``). BT.709
    exists only with ``float`` (spec rule).
  - ``dct_scale`` (intent: the output size) on a JPEG -> ``im.draft(im.mode, (W // s, H // s))``
    before ``load()`` (what ``Image.thumbnail`` calls). draft picks the largest scale in 8, 4, 2,
    1 with ``min(W // w, H // h) >= scale``; with w = W // s that minimum lies in [s, 2s), so it
    picks exactly s, and the box draft returns confirms it (else Unsupported). A JPEG smaller
    than s on a side cannot be drafted at 1/s: Unsupported. Pillow 13's draft keeps ISLOW and
    fancy upsampling (its draft flag stays 0). Other formats: draft does nothing, as the knob.
  - ``max_pixels``: Pillow's own limit (``Image.MAX_IMAGE_PIXELS``, a process-wide setting;
    DecompressionBombError beyond twice it). ``idct``/``upsampling``/``cmyk``: Pillow's JPEG
    decoder runs libjpeg-turbo's defaults (ISLOW, fancy upsampling), also under ``draft()``.

resize — ``Image.resize((w, h), resample=..., reducing_gap=None)``; size from
  :func:`.base.resize_target`. ``filter`` (intent): nearest -> NEAREST, box -> BOX, triangle ->
  BILINEAR, hamming -> HAMMING, cubic -> BICUBIC, lanczos -> LANCZOS. area (OpenCV's
  INTER_AREA cells) and gaussian are **unsupported**: Pillow has neither (BOX is the closest to
  area on integer downscales). Behaviour knobs are Pillow's: antialiased support (also for
  BILINEAR/BICUBIC), a = −0.5, 3 lobes, 22-bit fixed point for 8-bit images, uint8 between
  the passes, renormalised borders. Image modes: uint8 with 1/2/3/4 channels -> L / LA / RGB /
  RGBA (Pillow premultiplies LA and RGBA by alpha around the resize: its behaviour); uint16
  single channel -> I;16; other channel counts and dtypes one band at a time: uint8 -> L,
  uint16 -> I;16, int32 -> I, float -> F. Pillow resamples I and F images with double
  coefficients and a double accumulator per pass, storing float32 (F) or rounded int32 (I)
  between the passes; float64 input is resampled as float32 (Pillow has no float64 mode) and
  comes back as float32.

crop — ``Image.crop((left, top, left + w, top + h))``. Centre offset ``round((H − h) / 2)``
  (Python's round, half to even), the convention of the PIL-based pipelines: torchvision's
  ``CenterCrop`` (``int(round((h − th) / 2.0))``) and Pillow's own ``ImageOps.pad`` centring;
  ``offset_rounding`` is behaviour (Pillow has no centre-crop call that exposes it).
  ``Image.crop`` fills a box outside the image with zeros instead of failing: Pillow's
  behaviour, shown by the score. ``if_smaller="pad"`` (intent: a padded window) ->
  ``ImageOps.expand(im, border=(left, top, right, bottom), fill=value)`` on the axes shorter
  than the window first, d = window − side pixels, top/left = d // 2 (``pad_extra="after"``,
  the odd pixel bottom/right) or (d + 1) // 2 (``"before"``), then ``Image.crop`` on the other
  axis. (``ImageOps.pad`` is not used: it resizes the image to touch the canvas first.)

pad — ``ImageOps.expand(im, border=(left, top, right, bottom), fill=value)``. Only
  ``mode="constant"``: edge and reflect are **unsupported** (intent: Pillow has no replicating
  or mirroring border; ``expand`` fills a constant).

letterbox — ``ImageOps.expand`` with ``fill=value`` and offsets ``round((H_out − H) · 0.5)``
  (half to even), the centring ``ImageOps.pad(centering=(0.5, 0.5))`` computes; ``ImageOps.pad``
  itself is not used because it resizes the image to touch the canvas first (the resize is
  its own step here). ``offset_rounding`` is behaviour. ``top_left`` pads right/bottom only.

color — ``Image.convert`` on uint8 images: rgb_to_gray -> ``convert("L")`` (``pillow_fixed``;
  ``opencv_fixed`` is behaviour and gets Pillow's), or with ``arithmetic="float"``
  ``convert("L", matrix=(kr, kg, kb, 0))`` (float, rounded half up: ``rounding`` is
  behaviour); bgr_to_gray reverses the bands first; rgb_to_bgr / bgr_to_rgb ->
  ``Image.merge(mode, im.split()[::-1])``; gray_to_rgb -> ``convert("RGB")``; rgba_to_rgb ->
  ``convert("RGB")`` (drop) or ``Image.alpha_composite`` over ``background`` then
  ``convert("RGB")`` (composite); rgb_to_ycbcr -> ``convert("YCbCr")`` (Pillow's JPEG full-range
  fixed point); ycbcr_to_rgb -> ``Image.fromarray(a, "YCbCr").convert("RGB")``. Images that are
  not uint8 (float, uint16) raise :class:`Unsupported` from :meth:`run`: Pillow's converts
  need 8-bit multi-band modes and Pillow has no multi-band float mode.

normalize — torchvision's ``ToTensor()`` then ``Normalize(mean, std)``, in numpy float32:
  ``x = img.astype(float32) / divisor`` (ToTensor divides by 255) or ``· scale`` when no
  divisor is given, then ``(x − mean) / std`` with float32 mean and std (``scale_first``);
  ``mean_first`` computes ``(x − mean) · scale / std`` in float32. ``compute_dtype`` is
  behaviour (float32, torchvision's); ``dtype`` float16/float64 is a cast at the end. The
  output stays (H, W, C): the layout step packs. ``scale_dtype="float64"`` is behaviour
  (ToTensor divides the float32 tensor: x·scale rounded in float32), and so is
  ``order="fused"`` (its intent is the scale_first formula with the scale folded into mean and
  std; ToTensor + Normalize computes it scale first, which is what runs).

layout — torchvision's ``permute(2, 0, 1)`` and ``unsqueeze(0)`` as numpy ``transpose`` and
  ``[None]``; ``channel_order="reverse"`` reverses every channel with ``[..., ::-1]``.
"""

from __future__ import annotations

import io
import warnings
from typing import Any

import numpy as np
import PIL
from PIL import Image, ImageOps

from .base import (Harness, Unsupported, crop_padding, float_input, package_versions, per_channel,
                   resize_target, tensor_hwc, tensor_input)

# Luma weights (kr, kg, kb) of the float path (convert("L", matrix=...)): BT.601 / BT.709.
GRAY_COEFFICIENTS = {"bt601": (0.299, 0.587, 0.114), "bt709": (0.2126, 0.7152, 0.0722)}

RESAMPLE = {"nearest": ("NEAREST", Image.Resampling.NEAREST),
            "box": ("BOX", Image.Resampling.BOX),
            "triangle": ("BILINEAR", Image.Resampling.BILINEAR),
            "hamming": ("HAMMING", Image.Resampling.HAMMING),
            "cubic": ("BICUBIC", Image.Resampling.BICUBIC),
            "lanczos": ("LANCZOS", Image.Resampling.LANCZOS)}
RESIZE_UNSUPPORTED = {
    "area": "Pillow has no OpenCV INTER_AREA resampler (BOX is the closest on integer "
            "downscales); use OpenCV or the reference",
    "gaussian": "Pillow's resize has no Gaussian filter (ImageFilter.GaussianBlur is a blur, not a "
                "resampler); use the image crate, fast_image_resize or the reference",
    "mitchell": "Pillow's resize has no Mitchell-Netravali filter (TF's mitchellcubic); use "
                "TensorFlow or the reference",
}

# Modes of uint8 images by channel count (Image.fromarray's own choice).
UINT8_MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}
# One-band modes by dtype, for images Pillow has no multi-band mode for.
BAND_MODES = {np.dtype(np.uint8): "L", np.dtype(np.uint16): "I;16", np.dtype(np.int32): "I",
              np.dtype(np.float32): "F"}

ALPHA_MODES = ("LA", "RGBA", "PA", "La", "RGBa")
# Modes that hold gray samples (output="unchanged" keeps them gray).
GRAY_MODES = ("1", "L", "LA", "La", "I;16", "I;16B", "I;16L", "I", "F")
OPS = ("decode", "resize", "crop", "pad", "letterbox", "color", "normalize", "layout",
       "tensor", "denormalize", "quantize", "encode")
#: PIL modes of uint8 images by channel count (encode)
UINT8_MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}
PILLOW_SUBSAMPLING = {"444": 0, "422": 1, "420": 2}


class PillowHarness(Harness):
    """Pillow (and torchvision-on-PIL arithmetic for normalize/layout); see the module docstring."""

    name = "pillow"
    summary = "Pillow: Image.open/convert, Image.resize, crop, ImageOps.expand; torchvision-style normalize"

    def versions(self) -> dict[str, str]:
        return package_versions("PIL", PIL.__version__)

    def capabilities(self) -> dict[str, str]:
        return {
            "decode": "Image.open + load, ImageOps.exif_transpose, convert RGB/L/RGBA/LA, "
                      "alpha_composite; 16-bit only as I;16 (gray); JPEG dct_scale via Image.draft",
            "resize": "Image.resize NEAREST/BOX/BILINEAR/HAMMING/BICUBIC/LANCZOS, reducing_gap=None; "
                      "no area, no gaussian; always antialiased",
            "crop": "Image.crop; centre offset round((H - h) / 2) as torchvision CenterCrop; "
                    "if_smaller=pad via ImageOps.expand",
            "pad": "ImageOps.expand (constant only)",
            "letterbox": "ImageOps.expand, offsets round(extra * 0.5) as ImageOps.pad",
            "color": "Image.convert L / RGB / YCbCr (matrix for float luma), split/merge reversal, "
                     "alpha_composite; uint8 only",
            "normalize": "torchvision ToTensor + Normalize arithmetic in numpy float32 (fused and "
                         "scale_dtype=float64 run scale first in float32: behaviour)",
            "layout": "numpy transpose / [None] (torchvision permute / unsqueeze)",
            "tensor": "numpy (np.lib.format, no pickle; Pillow reads no tensors)",
            "denormalize": "numpy float32 as torchvision code writes it (t * std + mean)",
            "quantize": "Image.fromarray(band * scale, 'F').convert('L') per band (clip, truncation); "
                        "uint8 only",
            "encode": "Image.fromarray + Image.save(PNG/JPEG quality, subsampling) + Image.open",
        }

    # --- protocol -------------------------------------------------------------------------

    def check(self, step: dict[str, Any]) -> str | None:
        op = step.get("op")
        if op not in OPS:
            return f"the pillow harness has no op {op!r}"
        if op == "color" and step["conversion"].split("_to_")[0] in ("nv12", "i420"):
            return ("Pillow has no YUV 4:2:0 (NV12/I420) image mode; convert the frame with cv2.cvtColor "
                    "(COLOR_YUV2RGB_NV12/_I420) or the reference")
        if op == "resize":
            if step["filter"] in RESIZE_UNSUPPORTED:
                return RESIZE_UNSUPPORTED[step["filter"]]
            if not any(step.get(k) is not None for k in ("height", "shorter_side", "longer_side")):
                return "resize step gives no target size"
        if op == "quantize" and step["dtype"] != "uint8":
            return ("Pillow converts a float band (mode F) only to 8-bit L or 32-bit I; it has no "
                    "16-bit quantisation")
        if op == "pad" and step["mode"] != "constant":
            return (f"Pillow has no {'replicating' if step['mode'] == 'edge' else 'mirroring'} border: "
                    "ImageOps.expand only fills a constant")
        return None

    def describe(self, step: dict[str, Any]) -> str:
        op = step["op"]
        if op == "decode":
            return _decode_description(step)
        if op == "resize":
            return (f"Image.resize((w, h), resample=Image.Resampling.{RESAMPLE[step['filter']][0]}, "
                    "reducing_gap=None)")
        if op == "crop":
            box = ("(left, top, left + w, top + h), top = round((H - h) / 2)" if step["mode"] == "center"
                   else "(left, top, left + w, top + h)")
            if step["mode"] == "center" and step.get("if_smaller", "error") == "pad":
                return ("ImageOps.expand(im, border=..., fill=value) on the axes shorter than the "
                        f"window (odd pixel {step.get('pad_extra', 'after')}), then Image.crop({box})")
            return f"Image.crop({box})"
        if op == "pad":
            return "ImageOps.expand(im, border=(left, top, right, bottom), fill=value)"
        if op == "letterbox":
            return "ImageOps.expand(im, border=..., fill=value), offsets round(extra * 0.5)"
        if op == "color":
            return _color_description(step)
        if op == "normalize":
            div = f"/ {step['divisor']:g}" if step.get("divisor") is not None else f"* {step['scale']:.6g}"
            return f"numpy float32 as torchvision ToTensor + Normalize: (x {div} - mean) / std"
        if op == "layout":
            parts = ["transpose(2, 0, 1)"] if step["layout"] == "chw" else []
            parts += ["[..., ::-1]"] if step["channel_order"] == "reverse" else []
            parts += ["[None]"] if step["batch"] else []
            return "numpy " + (", ".join(parts) or "copy") + " (torchvision permute/unsqueeze)"
        if op == "tensor":
            return "np.lib.format.read_array(allow_pickle=False) + transpose (numpy)"
        if op == "denormalize":
            return ("numpy float32: (t * std + mean) / scale" if step["mode"] == "mean_std"
                    else "numpy float32: (t - a) / (b - a) * (d - c) + c")
        if op == "quantize":
            pre = "np.clip(x, 0, 1), " if step["clamp"] == "before" else ""
            return pre + f"Image.fromarray(band * {step['scale']:g}, 'F').convert('L') per band, merged"
        if op == "encode":
            fmt = "PNG" if step["format"] == "png" else \
                f"JPEG, quality={step['quality']}, subsampling={PILLOW_SUBSAMPLING[step['sampling']]}"
            swap = "[..., ::-1] (BGR -> RGB), " if step["channel_order"] == "bgr" else ""
            return f"{swap}Image.fromarray(a).save(buf, {fmt}); Image.open(buf)"
        raise Unsupported(f"the pillow harness has no op {op!r}")

    def run(self, step: dict[str, Any], value: bytes | np.ndarray) -> np.ndarray:
        reason = self.check(step)
        if reason is not None:
            raise Unsupported(reason)
        op = step["op"]
        if op == "decode":
            return _decode(step, value)
        if op == "tensor":
            return tensor_hwc(tensor_input(step, value), step["layout"], step["max_elements"])
        image = np.ascontiguousarray(value)
        if op == "denormalize":
            return _denormalize(step, image)
        if op == "quantize":
            return _quantize(step, image)
        if op == "encode":
            return _encode(step, image)
        if op == "resize":
            return _resize(step, image)
        if op == "crop":
            return _crop(step, image)
        if op == "pad":
            return _expand(image, int(step["top"]), int(step["bottom"]), int(step["left"]),
                           int(step["right"]), list(step["value"]))
        if op == "letterbox":
            return _letterbox(step, image)
        if op == "color":
            return _color(step, image)
        if op == "normalize":
            return _normalize(step, image)
        return _layout(step, image)


# ---------------------------------------------------------------------------------------------
# arrays <-> Pillow images
# ---------------------------------------------------------------------------------------------


def _to_images(a: np.ndarray) -> list[Image.Image]:
    """One Pillow image for a uint8 image of 1-4 channels, else one single-band image per channel
    (float64/float16 as float32: Pillow has no other float mode). ``Image.fromarray`` picks the
    mode from the dtype and shape (UINT8_MODES, BAND_MODES)."""
    c = a.shape[2]
    if a.dtype == np.uint8 and c in UINT8_MODES:
        return [Image.fromarray(a[:, :, 0] if c == 1 else a)]
    if a.dtype == np.float64 or a.dtype == np.float16:
        a = a.astype(np.float32)
    if a.dtype not in BAND_MODES:
        raise Unsupported(f"Pillow has no image mode for {a.dtype} samples")
    return [Image.fromarray(np.ascontiguousarray(a[:, :, k])) for k in range(c)]


def _from_images(images: list[Image.Image]) -> np.ndarray:
    """The inverse of :func:`_to_images`: (H, W, C)."""
    planes = [np.asarray(im) for im in images]  # read-only views of Pillow's bytes
    if len(planes) == 1:
        p = planes[0]
        return np.array(p[:, :, None] if p.ndim == 2 else p)  # a writable copy
    return np.stack(planes, axis=2)


def _fills(value: list, images: list[Image.Image], channels: int) -> list:
    """The fill colour of each image of :func:`_to_images`: one value for every channel, or one
    per channel; ints for integer modes, floats for F."""
    if len(value) not in (1, channels):
        raise ValueError(f"{len(value)} fill values for {channels} channels")
    per = [value[k % len(value)] for k in range(channels)]
    conv = float if images[0].mode == "F" else int
    if len(images) == 1:
        return [conv(per[0]) if channels == 1 else tuple(conv(v) for v in per)]
    return [conv(v) for v in per]


# ---------------------------------------------------------------------------------------------
# decode
# ---------------------------------------------------------------------------------------------


def _decode_description(step: dict[str, Any]) -> str:
    parts = ["Image.open(io.BytesIO(data)).load()"]
    if step.get("dct_scale", 1) != 1:
        s = step["dct_scale"]
        parts = [f"Image.open(io.BytesIO(data)), JPEG: im.draft(im.mode, (W // {s}, H // {s})) "
                 f"(scale 1/{s}), .load()"]
    if step["orientation"] == "apply":
        parts.append("ImageOps.exif_transpose")
    out, alpha = step["output"], step["alpha"]
    if alpha == "composite":
        parts.append(f"Image.alpha_composite(background {tuple(step['background'])}) if it has alpha")
    if out in ("rgb", "bgr"):
        parts.append("convert('RGBA' if it has alpha else 'RGB')" if alpha == "keep" else "convert('RGB')")
        if out == "bgr":
            parts.append("[..., ::-1] on the colour channels")
    elif out == "gray":
        if alpha == "keep":
            parts.append("convert('LA' if it has alpha else 'L')")
        elif step["gray_arithmetic"] == "float":
            k = ", ".join(map(str, GRAY_COEFFICIENTS[step["gray_coefficients"]]))
            parts.append(f"convert('RGB').convert('L', matrix=({k}, 0))")
        else:
            parts.append("convert('L')")
    else:
        parts.append("the opened mode (1 -> L, P -> RGB, CMYK -> RGB"
                     + (", I;16 kept" if "keep" in (step["depth16"], step["depth16_gray"]) else "")
                     + (", LA/RGBA if it has alpha" if alpha == "keep" else "") + ")")
    return " + ".join(parts)


def _has_alpha(im: Image.Image, trns: str) -> bool:
    """An alpha band, or (with trns="apply") a tRNS transparency entry."""
    return im.mode in ALPHA_MODES or (trns == "apply" and "transparency" in im.info)


def _composite(im: Image.Image, background: list) -> Image.Image:
    """Pillow's compositing over an opaque background colour, as an RGB image."""
    rgba = im.convert("RGBA")
    bg = Image.new("RGBA", rgba.size, tuple(int(v) for v in background) + (255,))
    return Image.alpha_composite(bg, rgba).convert("RGB")


def _gray(im: Image.Image, step: dict[str, Any]) -> Image.Image:
    """Luma: Pillow's convert('L'), or its float matrix path for gray_arithmetic="float"."""
    if im.mode in ("L", "1", "I;16") or step["gray_arithmetic"] != "float":
        return im.convert("L")
    kr, kg, kb = GRAY_COEFFICIENTS[step["gray_coefficients"]]
    return im.convert("RGB").convert("L", matrix=(kr, kg, kb, 0.0))


def _draft(im: Image.Image, scale: int, data: bytes) -> None:
    """``dct_scale`` > 1 on a JPEG (``data``, the file ``im`` was opened from):
    ``im.draft(im.mode, size)`` with the size that makes Pillow pick exactly ``scale`` (module
    docstring); Unsupported where no size can."""
    w, h = im.size
    if w < scale or h < scale:
        raise Unsupported(f"Image.draft picks the largest scale s in 8, 4, 2, 1 with W // w and "
                          f"H // h >= s: a {w}x{h} JPEG cannot be drafted at 1/{scale}")
    if _lossless_jpeg(data):
        raise Unsupported("Image.draft of a lossless (SOF3) JPEG: Pillow expects the scaled size but "
                          "libjpeg-turbo does not scale lossless frames, so load() fails ('broken "
                          "data stream'); decode it at full size")
    # min(W // (W // s), H // (H // s)) is in [s, 2s), so draft picks s
    drafted = im.draft(im.mode, (w // scale, h // scale))
    got = round(w / drafted[1][2]) if drafted else 1  # box = (0, 0, W / scale, H / scale)
    if got != scale:
        raise Unsupported(f"Image.draft chose scale 1/{got} instead of 1/{scale}")


def _lossless_jpeg(data: bytes) -> bool:
    """Whether the JPEG's frame header is SOF3 (lossless; Pillow records no such flag): the marker
    segments before the first scan, walked by their lengths."""
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xC3, 0xC7, 0xCB, 0xCF):  # SOF3, and its differential/arithmetic forms
            return True
        if marker in (0xC0, 0xC1, 0xC2, 0xC9, 0xCA, 0xDA):  # another frame type, or the first scan
            return False
        pos += 2 + int.from_bytes(data[pos + 2:pos + 4], "big")
    return False


def _decode(step: dict[str, Any], data: bytes | np.ndarray) -> np.ndarray:
    data = bytes(data)
    im = Image.open(io.BytesIO(data))
    scale = step.get("dct_scale", 1)
    if scale != 1 and im.format == "JPEG":  # draft() does nothing to other formats
        _draft(im, scale, data)
    im.load()  # decode now: a truncated or corrupt file raises here
    if step["orientation"] == "apply":
        im = ImageOps.exif_transpose(im)
    with warnings.catch_warnings():
        # Pillow advises converting palette images with byte-string tRNS to RGBA; the knobs
        # decide the conversion, so the advice is noise here.
        warnings.filterwarnings("ignore", message="Palette images with Transparency",
                                category=UserWarning)
        return _convert(im, step)


def _convert(im: Image.Image, step: dict[str, Any]) -> np.ndarray:
    """The output conversion of a decoded image (module docstring, decode)."""
    output, alpha = step["output"], step["alpha"]
    gray_file = im.mode in GRAY_MODES
    has_alpha = _has_alpha(im, step["trns"])
    keep_alpha = has_alpha and alpha == "keep"
    if has_alpha and alpha == "composite":
        im = _composite(im, list(step["background"]))  # RGB from here on
        if gray_file and output == "unchanged":
            im = im.convert("L")
    gray16_rule = step["depth16"] if step["depth16_gray"] == "same" else step["depth16_gray"]
    keep16 = im.mode == "I;16" and gray16_rule == "keep" and not keep_alpha

    if output in ("rgb", "bgr"):
        arr = _from_images([im.convert("RGBA" if keep_alpha else "RGB")])
        if output == "bgr":
            arr = np.concatenate([arr[:, :, 2::-1], arr[:, :, 3:]], axis=2)
        return arr
    if output == "gray":
        out = im if keep16 else im.convert("LA") if keep_alpha else _gray(im, step)
        return _from_images([out])
    # unchanged: the opened mode, with alpha as the knobs say
    if keep16:
        return _from_images([im])
    if im.mode in GRAY_MODES:
        return _from_images([im.convert("LA" if keep_alpha else "L")])
    return _from_images([im.convert("RGBA" if keep_alpha else "RGB")])


# ---------------------------------------------------------------------------------------------
# resize and geometry
# ---------------------------------------------------------------------------------------------


def _resize(step: dict[str, Any], image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    out_h, out_w = resize_target(step, h, w)
    _, resample = RESAMPLE[step["filter"]]
    images = [im.resize((out_w, out_h), resample=resample, reducing_gap=None)
              for im in _to_images(image)]
    return _from_images(images)


def _center(extra: int) -> int:
    """round(extra / 2), Python's round (half to even): torchvision CenterCrop, ImageOps.pad."""
    return int(round(extra * 0.5))


def _crop(step: dict[str, Any], image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    ch, cw = int(step["height"]), int(step["width"])
    if (step["mode"] == "center" and step.get("if_smaller", "error") == "pad"
            and (ch > h or cw > w)):
        dh, dw = max(ch - h, 0), max(cw - w, 0)
        rule = step.get("pad_extra", "after")
        top, left = crop_padding(dh, rule), crop_padding(dw, rule)
        image = _expand(image, top, dh - top, left, dw - left, list(step.get("value", [0])))
        h, w = image.shape[:2]
    if step["mode"] == "center":
        top, left = _center(h - ch), _center(w - cw)
    else:
        top, left = int(step["top"]), int(step["left"])
    box = (left, top, left + cw, top + ch)
    return _from_images([im.crop(box) for im in _to_images(image)])


def _expand(image: np.ndarray, top: int, bottom: int, left: int, right: int, value: list) -> np.ndarray:
    images = _to_images(image)
    fills = _fills(value, images, image.shape[2])
    return _from_images([ImageOps.expand(im, border=(left, top, right, bottom), fill=fill)
                         for im, fill in zip(images, fills)])


def _letterbox(step: dict[str, Any], image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    oh, ow = int(step["height"]), int(step["width"])
    if h > oh or w > ow:
        raise ValueError(f"image {h}x{w} does not fit the letterbox {oh}x{ow}")
    top, left = (_center(oh - h), _center(ow - w)) if step["placement"] == "center" else (0, 0)
    return _expand(image, top, oh - h - top, left, ow - w - left, list(step["value"]))


# ---------------------------------------------------------------------------------------------
# color
# ---------------------------------------------------------------------------------------------


def _color_description(step: dict[str, Any]) -> str:
    conv = step["conversion"]
    if conv in ("rgb_to_gray", "bgr_to_gray"):
        pre = "Image.merge('RGB', im.split()[::-1]) + " if conv == "bgr_to_gray" else ""
        if step["arithmetic"] == "float":
            k = ", ".join(map(str, GRAY_COEFFICIENTS[step["gray_coefficients"]]))
            return pre + f"im.convert('L', matrix=({k}, 0))"
        return pre + "im.convert('L')"
    return {"rgb_to_bgr": "Image.merge('RGB', im.split()[::-1])",
            "bgr_to_rgb": "Image.merge('RGB', im.split()[::-1])",
            "gray_to_rgb": "im.convert('RGB')",
            "rgba_to_rgb": ("im.convert('RGB')" if step["alpha"] == "drop" else
                            "Image.alpha_composite(background, im).convert('RGB')"),
            "rgb_to_ycbcr": "im.convert('YCbCr')",
            "ycbcr_to_rgb": "Image.fromarray(a, 'YCbCr').convert('RGB')"}[conv]


def _color(step: dict[str, Any], image: np.ndarray) -> np.ndarray:
    conv = step["conversion"]
    if image.dtype != np.uint8:
        raise Unsupported(f"Pillow converts colours of 8-bit images only (got {image.dtype}): it "
                          "has no multi-band float or 16-bit mode")
    c = image.shape[2]
    need = {"gray_to_rgb": 1, "rgba_to_rgb": 4}.get(conv, 3)
    if c != need:
        raise ValueError(f"{conv} needs {need} channel(s), the image has {c}")
    if conv == "ycbcr_to_rgb":
        return _from_images([Image.fromarray(image, "YCbCr").convert("RGB")])
    im = _to_images(image)[0]
    if conv in ("rgb_to_bgr", "bgr_to_rgb"):
        out = Image.merge("RGB", im.split()[::-1])
    elif conv in ("rgb_to_gray", "bgr_to_gray"):
        if conv == "bgr_to_gray":
            im = Image.merge("RGB", im.split()[::-1])
        out = _gray(im, {"gray_arithmetic": step["arithmetic"],
                         "gray_coefficients": step["gray_coefficients"]})
    elif conv == "gray_to_rgb":
        out = im.convert("RGB")
    elif conv == "rgba_to_rgb":
        out = im.convert("RGB") if step["alpha"] == "drop" else _composite(im, list(step["background"]))
    else:  # rgb_to_ycbcr
        out = im.convert("YCbCr")
    return _from_images([out])


# ---------------------------------------------------------------------------------------------
# normalize and layout (torchvision arithmetic on a PIL image, in numpy)
# ---------------------------------------------------------------------------------------------


def _per_channel(values: list, channels: int) -> np.ndarray:
    if len(values) not in (1, channels):
        raise ValueError(f"{len(values)} values for {channels} channels")
    return np.array([values[k % len(values)] for k in range(channels)], dtype=np.float32)


def _normalize(step: dict[str, Any], image: np.ndarray) -> np.ndarray:
    c = image.shape[2]
    mean = _per_channel(list(step["mean"]), c)
    std = _per_channel(list(step["std"]), c)
    x = image.astype(np.float32)  # ToTensor: img.float()

    def scaled(v: np.ndarray) -> np.ndarray:
        if step.get("divisor") is not None:
            return v / np.float32(step["divisor"])  # ToTensor: .div(255)
        return v * np.float32(step["scale"])

    if step["order"] in ("scale_first", "fused"):  # fused: behaviour (module docstring)
        out = (scaled(x) - mean) / std  # Normalize: tensor.sub_(mean).div_(std)
    else:
        out = scaled(x - mean) / std
    return out.astype(step["dtype"], copy=False)


def _layout(step: dict[str, Any], image: np.ndarray) -> np.ndarray:
    out = image[..., ::-1] if step["channel_order"] == "reverse" else image
    if step["layout"] == "chw":
        out = np.transpose(out, (2, 0, 1))  # torchvision ToTensor: permute((2, 0, 1))
    if step["batch"]:
        out = out[None]  # tensor.unsqueeze(0)
    return np.array(out, order="C")  # always a copy, never the input itself


# ---------------------------------------------------------------------------------------------
# the way back: denormalize, quantize, encode (tensor is numpy's np.lib.format)
# ---------------------------------------------------------------------------------------------


def _denormalize(step: dict[str, Any], image: np.ndarray) -> np.ndarray:
    """What torchvision-era code writes on the array before handing it to Pillow, in numpy."""
    x = float_input(image, "denormalize", step["compute_dtype"])
    if step["mode"] == "mean_std":
        c = x.shape[2]
        return ((x * per_channel(step["std"], c, x.dtype) + per_channel(step["mean"], c, x.dtype))
                / x.dtype.type(step["scale"]))
    (a, b), (lo, hi) = (x.dtype.type(v) for v in step["from_range"]), (x.dtype.type(v) for v in step["to_range"])
    return (x - a) / (b - a) * (hi - lo) + lo


def _quantize(step: dict[str, Any], image: np.ndarray) -> np.ndarray:
    """Pillow's way to pixels from floats: ``Image.fromarray`` refuses a float (H, W, 3) array
    and reads a float (H, W) one as mode F, whose ``convert("L")`` clips to 0..255 and truncates
    (NaN -> 0). So each band goes through mode F; clamp=before is numpy's np.clip first. The
    rounding, overflow, int_path and absolute knobs are behaviour: Pillow's F -> L rule."""
    x = float_input(image, "quantize", step["compute_dtype"])
    ct = x.dtype
    if step["clamp"] == "before":
        x = np.clip(x, 0, ct.type(255) / ct.type(step["scale"]))
    with np.errstate(all="ignore"):
        y = (x * ct.type(step["scale"])).astype(np.float32)
    bands = [np.asarray(Image.fromarray(np.ascontiguousarray(y[..., k]), "F").convert("L"))
             for k in range(y.shape[2])]
    return np.stack(bands, axis=2)


def _encode(step: dict[str, Any], image: np.ndarray) -> np.ndarray:
    c = image.shape[2]
    a = image
    if step["channel_order"] == "bgr" and c in (3, 4):
        a = np.concatenate([a[..., 2::-1], a[..., 3:]], axis=2)
    if a.dtype == np.uint16:
        if c != 1:
            raise Unsupported("Pillow has no 16-bit colour mode: it writes 16-bit PNG only for gray (I;16)")
        im = Image.fromarray(np.ascontiguousarray(a[..., 0]))  # uint16 (H, W) -> I;16
    elif a.dtype == np.uint8:
        im = Image.fromarray(np.ascontiguousarray(a[..., 0] if c == 1 else a), UINT8_MODES[c])
    else:
        raise TypeError(f"encode needs uint8 or uint16 pixels, got {a.dtype}")
    buf = io.BytesIO()
    if step["format"] == "png":
        im.save(buf, "PNG")
    else:
        im.save(buf, "JPEG", quality=int(step["quality"]),
                subsampling=PILLOW_SUBSAMPLING[step["sampling"]])
    with Image.open(io.BytesIO(buf.getvalue())) as back:
        back.load()
        out = np.array(back)  # a writable copy (np.asarray of a PIL image is read-only)
    return np.ascontiguousarray(out[:, :, None] if out.ndim == 2 else out)
