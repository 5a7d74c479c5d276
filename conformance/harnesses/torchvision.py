"""The torchvision harnesses: each step as a torchvision transforms-v2 deployment writes it.

Libraries: ``torch`` 2.15 and ``torchvision`` 0.29 (CPU wheels). In transformers 5 the *default*
image processors run on torchvision (its ``TorchvisionBackend``), so this is the path most users
of a hub model get. One module, three harnesses running the same
``torchvision.transforms.v2.functional`` (``F``) calls on three kinds of input, because
torchvision dispatches each call to a different kernel per input kind:

- ``torchvision-pil``: PIL images (``F.resize`` on a PIL image is ``Image.resize``: Pillow's
  arithmetic). Normalize converts with ``F.to_image`` first, as a v2 pipeline does.
- ``torchvision-tensor``: uint8 CHW tensors, as ``torchvision.io.decode_image`` returns them. On an
  AVX2/AVX-512 or arm64 CPU ``F.resize`` runs torch's native uint8 kernel
  (``aten/src/ATen/native/cpu/UpSampleKernel.cpp``, ``UpSampleKernelAVXAntialias.h``: int16
  weights at a per-axis precision, horizontal pass then vertical, uint8 between the passes).
- ``torchvision-float``: the same calls, but a uint8 image is resized in the float domain:
  ``F.resize(img.to(float32), ...)``, then clamped to [0, 255] and rounded half to even back to
  uint8. That is transformers' ``TorchvisionBackend._compile_friendly_resize`` (x / 256, resize,
  · 256, clamp, round: the powers of two are exact, so it is bit for bit a resize of the 0..255
  floats) and what any pipeline that converts to float before resizing gets, up to the final
  rounding. The values stay 0..255 (not ``F.to_dtype(scale=True)``'s 0..1) so that the
  comparison with the reference's uint8 output measures the float resize, not the lossy
  ``to_dtype(uint8, scale=True)`` way back (``x · 255.999`` truncated). Float inputs are resized
  as they are, unclamped, in both tensor harnesses. Every other op is the tensor harness's.

Steps are the bundle's JSON dicts; the knob rule of :mod:`.base` applies (an *intent* knob
torchvision cannot express makes the step unsupported, a *behaviour* knob it has no parameter for
is left to its fixed behaviour and the score shows the divergence). Arrays cross the protocol as
(H, W, C) numpy arrays; the tensor harnesses work on CHW tensors (``permute(2, 0, 1)``) in
between. Every decision, per op:

decode — tensor harnesses: ``torchvision.io.decode_image(data, mode=..., apply_exif_orientation=...)``.
  ``orientation`` (behaviour, exposed): ``apply_exif_orientation=True`` for ``apply``.
  ``output``/``alpha`` (intent) pick the mode: rgb/bgr -> ``ImageReadMode.RGB`` (or ``RGB_ALPHA``
  when ``alpha="keep"`` and the file has alpha), bgr reversed with ``flip(0)``; gray -> ``GRAY``
  (``GRAY_ALPHA``); unchanged -> ``UNCHANGED`` (its alpha channel dropped by slicing unless
  ``alpha="keep"``). Whether a file has alpha is read from an ``UNCHANGED`` decode (2 or 4
  channels of a PNG; a JPEG's 4 channels are CMYK ink, kept as they are). ``alpha="composite"``, ``trns``, ``gray_arithmetic``/``gray_coefficients``,
  ``jpeg_gray``, ``cmyk*``, ``idct``, ``upsampling``: behaviour (decode_image has no parameter;
  libpng/libjpeg-turbo defaults as torchvision builds them). 16-bit PNGs come back as uint16:
  ``depth16="keep"`` (intent) keeps them, every other rule gets ``F.to_dtype(uint8, scale=True)``,
  which is ``v >> 8`` (torchvision's behaviour). ``max_pixels``: torchvision has no limit.
  torchvision 0.29 deprecates its decoders in favour of TorchCodec (a DeprecationWarning per
  call, silenced here); they still ship and are what ``torchvision.io`` users run.
  Corrupt PNGs are a finding: ``decode_image`` kills the process (SIGSEGV after "libpng error:
  IDAT: CRC error" / "invalid block type") on the bundle's neg.bad_crc and neg.bad_zlib in every
  mode, and on neg.huge_header (a 30 GB allocation) with ``ImageReadMode.GRAY`` (RGB and
  UNCHANGED raise RuntimeError): the runner records a harness crash.
  ``dct_scale`` > 1 on a JPEG (intent: the output size): **unsupported**, decode_image has no
  DCT scaling. ``torchvision-pil``: ``PIL.Image.open`` + ``ImageOps.exif_transpose`` (per
  ``orientation``) + ``convert``, exactly the Pillow harness's decode (:mod:`.pillow`, with
  ``Image.draft`` for ``dct_scale``): that is how a torchvision PIL pipeline opens files.

resize — ``F.resize(img, [h, w], interpolation=..., antialias=...)``, size from
  :func:`.base.resize_target` (``max_size`` and the rounding of the derived side are intent and
  are computed there; torchvision's own ``max_size`` arithmetic is checked against the spec in
  ``tests/test_knob_oracles.py``). ``filter`` (intent): triangle -> BILINEAR, cubic -> BICUBIC,
  lanczos -> LANCZOS, nearest -> NEAREST (floor(i · in/out) in float32: chosen when
  ``nearest_index="multiply"`` or ``coords="asymmetric"``) or NEAREST_EXACT (floor((i + 0.5) ·
  in/out), every other nearest request; on PIL images always NEAREST, which is Pillow's).
  box/hamming: PIL only (torch's interpolate has no such mode; the tensor harnesses mark them
  **unsupported**); area and gaussian: **unsupported** everywhere. ``antialias`` (behaviour,
  exposed) is passed for tensors (LANCZOS requires True: always passed True); on PIL images
  Pillow always antialiases. Everything else (``cubic_a`` -0.5 with antialias and -0.75
  without, windows, borders, arithmetic) is torch's: the preset ``torchvision.tensor.bilinear`` /
  ``.bicubic`` / ``.lanczos`` reproduces the uint8 antialiased kernel bit for bit
  (:mod:`conformance.presets`). An image already of the target size is returned as is.

crop — center: ``F.center_crop(img, [h, w])``: offset ``int(round((H − h) / 2.0))`` (half to
  even; ``offset_rounding`` is behaviour), and an axis where the window is larger is first padded
  with zeros, the odd pixel after (``if_smaller``, ``pad_extra``, ``value``: behaviour, torchvision
  always pads, never errors, always fills 0). box: ``F.crop(img, top, left, h, w)``, which pads
  with zeros a box reaching outside the image instead of failing (behaviour, shown by the score).

pad — ``F.pad(img, [left, top, right, bottom], fill=value, padding_mode=mode)``: constant, edge,
  reflect (torchvision's reflect does not repeat the edge pixel, the spec's). letterbox — the same
  ``F.pad`` constant with ``top = (H_out − H) // 2`` (floor, as ``F.center_crop`` splits its
  padding; ``offset_rounding`` is behaviour), the rest after; ``top_left`` pads bottom/right.

color — rgb_to_gray: ``F.rgb_to_grayscale(img, 1)``: tensors ``0.2989 R + 0.587 G + 0.114 B`` in
  float32 then ``.to(uint8)`` (truncation), PIL images ``convert("L")``; ``arithmetic`` and
  ``rounding`` are behaviour; BT.709 is **unsupported** (intent: torchvision has only its BT.601
  weights). bgr_to_gray reverses first. rgb_to_bgr / bgr_to_rgb: ``img.flip(0)`` on tensors,
  ``Image.merge`` of the reversed bands on PIL images (torchvision has no call for it).
  gray_to_rgb: ``F.grayscale_to_rgb``. rgba_to_rgb: ``img[:3]`` (torchvision has no alpha call;
  ``composite`` is behaviour: dropped). rgb_to_ycbcr / ycbcr_to_rgb: **unsupported** (no call in
  torchvision; the Pillow harness has Pillow's).

normalize — ``F.to_dtype(img, torch.float32, scale=True)`` (v2: ``img.to(float32).mul_(1 / 255)``,
  a float32 multiply, *not* v1 ToTensor's ``div(255)``) then ``F.normalize(x, mean, std)``
  (``(x − mean) / std`` in float32). The PIL harness converts with ``F.to_image`` first. A scale
  other than 1/255 is written ``img.to(float32) · float32(scale)`` (to_dtype has only 1/255).
  ``divisor``, ``order`` scale_first/fused, ``scale_dtype``, ``compute_dtype``: behaviour
  (torchvision's float32 formula above). ``order="mean_first"`` (intent: mean in input units) is
  ``F.normalize(img.to(float32), mean, std) · scale``. ``dtype`` float16/float64: a final cast.

layout — ``permute`` / ``flip`` / ``unsqueeze(0)`` on the CHW tensor.
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np
import torch
import torchvision
import torchvision.transforms.v2.functional as F
from PIL import Image
from torchvision.io import ImageReadMode
from torchvision.io import decode_image as _decode_image
from torchvision.transforms import InterpolationMode

from . import pillow as _pillow
from .base import Harness, Unsupported, package_versions, resize_target, tensor_hwc, tensor_input

OPS = ("decode", "resize", "crop", "pad", "letterbox", "color", "normalize", "layout",
       "tensor", "denormalize", "quantize", "encode")
QUANTIZE_DTYPES = {"uint8": torch.uint8, "uint16": torch.uint16}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# filter -> InterpolationMode for every input kind (nearest is chosen per step, see _interpolation)
INTERPOLATION = {"triangle": InterpolationMode.BILINEAR, "cubic": InterpolationMode.BICUBIC,
                 "lanczos": InterpolationMode.LANCZOS}
PIL_ONLY = {"box": InterpolationMode.BOX, "hamming": InterpolationMode.HAMMING}
RESIZE_UNSUPPORTED = {
    "area": "torchvision has no OpenCV INTER_AREA resampler (torch's interpolate(mode='area') is "
            "adaptive average pooling, not INTER_AREA on upscales); use OpenCV or the reference",
    "gaussian": "torchvision's resize has no Gaussian filter (F.gaussian_blur is a blur, not a "
                "resampler); use the image crate, fast_image_resize or the reference",
}
TENSOR_UNSUPPORTED = {
    "box": "torch.nn.functional.interpolate has no box mode (torchvision's tensor resize: nearest, "
           "bilinear, bicubic, lanczos); InterpolationMode.BOX exists only for PIL images: use "
           "torchvision-pil",
    "hamming": "torch.nn.functional.interpolate has no hamming mode (torchvision's tensor resize: "
               "nearest, bilinear, bicubic, lanczos); InterpolationMode.HAMMING exists only for "
               "PIL images: use torchvision-pil",
}
COLOR_UNSUPPORTED = {
    "rgb_to_ycbcr": "torchvision has no YCbCr conversion (PIL's convert('YCbCr') is Pillow: use the "
                    "pillow harness)",
    "ycbcr_to_rgb": "torchvision has no YCbCr conversion (PIL's convert('RGB') from YCbCr is Pillow: "
                    "use the pillow harness)",
}
FLOAT_DTYPES = {"float32": torch.float32, "float16": torch.float16, "float64": torch.float64}


# ---------------------------------------------------------------------------------------------
# arrays <-> tensors
# ---------------------------------------------------------------------------------------------


def to_tensor(a: np.ndarray) -> torch.Tensor:
    """(H, W, C) numpy -> a contiguous (C, H, W) tensor of the same dtype (a copy)."""
    return torch.from_numpy(np.ascontiguousarray(np.transpose(a, (2, 0, 1))))


def from_tensor(t: torch.Tensor) -> np.ndarray:
    """(C, H, W) tensor -> an (H, W, C) numpy array (a copy)."""
    return np.ascontiguousarray(t.permute(1, 2, 0).numpy()).copy()


def _alpha_last(data: bytes | np.ndarray) -> bool:
    """Whether a 2- or 4-channel decode of ``data`` ends with alpha: PNG and WebP (RIFF....WEBP);
    not JPEG, whose 4 channels are CMYK ink."""
    head = bytes(data[:12])
    return head[:8] == PNG_SIGNATURE or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")


def decode_image(data: torch.Tensor, mode: ImageReadMode, apply_exif_orientation: bool = False):
    """``torchvision.io.decode_image``, without its per-call DeprecationWarning (0.29 deprecates
    torchvision's decoders in favour of TorchCodec; they are still what the library ships)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The image decoding and encoding capabilities",
                                category=DeprecationWarning)
        return _decode_image(data, mode=mode, apply_exif_orientation=apply_exif_orientation)


def _nearest_mode(step: dict[str, Any]) -> InterpolationMode:
    """NEAREST (floor(i·in/out), torch's legacy 'nearest') for the multiply/asymmetric index rule,
    NEAREST_EXACT (floor((i + 0.5)·in/out)) for every half-pixel request."""
    if step.get("nearest_index") == "multiply" or step.get("coords") == "asymmetric":
        return InterpolationMode.NEAREST
    return InterpolationMode.NEAREST_EXACT


def _fill(value: list, channels: int) -> float | list[float]:
    if len(value) not in (1, channels):
        raise ValueError(f"{len(value)} fill values for {channels} channels")
    return float(value[0]) if len(value) == 1 else [float(v) for v in value]


def _center_offset(extra: int) -> int:
    """(H_out − H) // 2: how F.center_crop splits the padding of a too-small axis (odd pixel after)."""
    return extra // 2


# ---------------------------------------------------------------------------------------------
# the shared protocol
# ---------------------------------------------------------------------------------------------


class _TorchvisionBase(Harness):
    """What the three harnesses share: versions, checks, descriptions, normalize and layout."""

    input_kind: ClassVar[str] = ""

    def versions(self) -> dict[str, str]:
        out = package_versions("torch", torch.__version__)
        out.update(package_versions("torchvision", torchvision.__version__))
        return out

    def capabilities(self) -> dict[str, str]:
        filters = ("NEAREST/BOX/BILINEAR/HAMMING/BICUBIC/LANCZOS (Pillow's Image.resize)"
                   if self.input_kind == "pil" else "NEAREST/NEAREST_EXACT/BILINEAR/BICUBIC/LANCZOS, "
                   "antialias passed" + (", uint8 resized as float32 then clamped and rounded"
                                         if self.input_kind == "float" else ""))
        return {
            "decode": ("Image.open + ImageOps.exif_transpose + convert (as the pillow harness)"
                       if self.input_kind == "pil" else
                       "torchvision.io.decode_image(mode, apply_exif_orientation); 16-bit kept or >> 8"),
            "resize": f"F.resize {filters}; no area, no gaussian",
            "crop": "F.center_crop (round half even, zero padding odd pixel after) / F.crop",
            "pad": "F.pad constant / edge / reflect",
            "letterbox": "F.pad constant, top = (H_out - H) // 2",
            "color": "F.rgb_to_grayscale (BT.601 only), F.grayscale_to_rgb, channel flip, alpha slice; "
                     "no YCbCr",
            "normalize": "F.to_dtype(float32, scale=True) + F.normalize (float32)",
            "layout": "permute / flip / unsqueeze(0)",
            "tensor": "np.lib.format read (no pickle) + the layout's axis permutation",
            "denormalize": "t.mul(std).add(mean).div(scale) / (t - a) / (b - a) * (d - c) + c, float32",
            "quantize": ("F.to_pil_image(t): (npimg * 255).astype(uint8)" if self.input_kind == "pil"
                         else "F.to_dtype(t, uint8|uint16, scale=True): t * (max + 1 - 1e-3), truncated"),
            "encode": ("PIL Image.save + Image.open (as the pillow harness)" if self.input_kind == "pil"
                       else "torchvision.io.encode_png / encode_jpeg(quality) + decode_image; 8-bit, "
                            "JPEG 4:2:0 only"),
        }

    def check(self, step: dict[str, Any]) -> str | None:
        op = step.get("op")
        if op not in OPS:
            return f"the {self.name} harness has no op {op!r}"
        if op == "quantize" and self.input_kind == "pil" and step["dtype"] != "uint8":
            return "F.to_pil_image makes 8-bit images of float tensors (mode F aside)"
        if op == "encode" and self.input_kind != "pil":
            if step["format"] == "jpeg" and step["sampling"] != "420":
                return ("torchvision.io.encode_jpeg has no subsampling parameter (libjpeg's "
                        "default 4:2:0)")
        if op == "resize":
            filt = step.get("filter")
            if filt in RESIZE_UNSUPPORTED:
                return RESIZE_UNSUPPORTED[filt]
            if filt in PIL_ONLY and self.input_kind != "pil":
                return TENSOR_UNSUPPORTED[filt]
            if filt not in INTERPOLATION and filt not in PIL_ONLY and filt != "nearest":
                return f"torchvision has no resampling filter {filt!r}"
            if not any(step.get(k) is not None for k in ("height", "shorter_side", "longer_side")):
                return "resize step gives no target size"
        if op == "color":
            conv = step.get("conversion")
            if conv in COLOR_UNSUPPORTED:
                return COLOR_UNSUPPORTED[conv]
            if conv in ("rgb_to_gray", "bgr_to_gray") and step.get("gray_coefficients") == "bt709":
                return ("F.rgb_to_grayscale has only BT.601 weights (0.2989, 0.587, 0.114); BT.709 "
                        "needs a weighted sum of your own or the reference")
        return None

    def describe(self, step: dict[str, Any]) -> str:
        op = step["op"]
        if op == "decode":
            return self._describe_decode(step)
        if op == "resize":
            return self._describe_resize(step)
        if op == "crop":
            return ("F.center_crop(img, [h, w])" if step["mode"] == "center"
                    else "F.crop(img, top, left, h, w)")
        if op == "pad":
            return f"F.pad(img, [left, top, right, bottom], fill=value, padding_mode={step['mode']!r})"
        if op == "letterbox":
            return "F.pad(img, [left, top, right, bottom], fill=value), top = (H_out - H) // 2"
        if op == "color":
            return self._describe_color(step)
        if op == "normalize":
            pre = "F.to_image(pil) + " if self.input_kind == "pil" else ""
            if step["order"] == "mean_first":
                return pre + "F.normalize(img.to(float32), mean, std) * scale"
            conv = ("F.to_dtype(img, torch.float32, scale=True)" if _is_unit_scale(step)
                    else "img.to(float32) * float32(scale)")
            return pre + f"{conv} + F.normalize(x, mean, std)"
        if op == "layout":
            parts = [] if step["layout"] == "chw" else ["permute(1, 2, 0)"]
            parts = (["flip(0)"] if step["channel_order"] == "reverse" else []) + parts
            parts += ["unsqueeze(0)"] if step["batch"] else []
            return "CHW tensor " + (", ".join(parts) or "as is")
        if op == "tensor":
            return "np.lib.format.read_array(allow_pickle=False) + the layout's axis permutation"
        if op == "denormalize":
            return ("t.mul(std).add(mean).div(scale)" if step["mode"] == "mean_std"
                    else "(t - a) / (b - a) * (d - c) + c")
        if op == "quantize":
            pre = "t.clamp(0, 1) + " if step["clamp"] != "none" else ""
            if self.input_kind == "pil":
                return pre + "F.to_pil_image(t)"
            return pre + f"F.to_dtype(t, torch.{step['dtype']}, scale=True)"
        if op == "encode":
            if self.input_kind == "pil":
                return _pillow.PillowHarness().describe(step)
            call = ("torchvision.io.encode_png(t)" if step["format"] == "png"
                    else f"torchvision.io.encode_jpeg(t, quality={step['quality']})")
            return ("t.flip(0) (BGR -> RGB) + " if step["channel_order"] == "bgr" else "") + call + \
                " + decode_image(UNCHANGED)"
        raise Unsupported(f"the {self.name} harness has no op {op!r}")

    def run(self, step: dict[str, Any], value: bytes | np.ndarray) -> np.ndarray:
        reason = self.check(step)
        if reason is not None:
            raise Unsupported(reason)
        op = step["op"]
        if op == "decode":
            return self._decode(step, value)
        if op == "tensor":  # a model's output arrives as an array: numpy reads the file
            return tensor_hwc(tensor_input(step, value), step["layout"], step["max_elements"])
        image = np.ascontiguousarray(value)
        if op == "normalize":
            return _normalize(step, self._as_tensor(image))
        if op == "layout":
            return _layout(step, to_tensor(image))
        return getattr(self, f"_{op}")(step, image)

    # --- the way back ------------------------------------------------------------------------

    def _denormalize(self, step: dict[str, Any], image: np.ndarray) -> np.ndarray:
        if image.dtype.kind != "f":
            raise TypeError(f"denormalize needs a float tensor, got {image.dtype}")
        dtype = torch.float64 if step["compute_dtype"] == "float64" else torch.float32
        t = to_tensor(image).to(dtype)
        c = t.shape[0]
        if step["mode"] == "mean_std":
            mean = torch.tensor([float(step["mean"][k % len(step["mean"])]) for k in range(c)],
                                dtype=dtype)[:, None, None]
            std = torch.tensor([float(step["std"][k % len(step["std"])]) for k in range(c)],
                               dtype=dtype)[:, None, None]
            return from_tensor(t.mul(std).add(mean).div(float(step["scale"])))
        (a, b), (lo, hi) = step["from_range"], step["to_range"]
        return from_tensor((t - a) / (b - a) * (hi - lo) + lo)

    def _quantize(self, step: dict[str, Any], image: np.ndarray) -> np.ndarray:
        """torchvision's way to pixels: ``F.to_dtype(scale=True)`` (v2; x · (max + 1 − 1e-3),
        truncated by the cast, no clamp) on tensors, ``F.to_pil_image`` on the PIL harness.
        Rounding, overflow, int_path, absolute and scale are behaviour; ``clamp`` (intent: the
        values are clipped to the range) is ``t.clamp(0, 1)`` first."""
        if image.dtype.kind != "f":
            raise TypeError(f"quantize needs a float tensor, got {image.dtype}")
        t = to_tensor(image)
        if step["clamp"] != "none":
            t = t.clamp(0, 1)
        if self.input_kind == "pil":
            out = np.array(F.to_pil_image(t.to(torch.float32)))  # writable, unlike np.asarray
            return np.ascontiguousarray(out[:, :, None] if out.ndim == 2 else out)
        return from_tensor(F.to_dtype(t, QUANTIZE_DTYPES[step["dtype"]], scale=True))

    def _encode(self, step: dict[str, Any], image: np.ndarray) -> np.ndarray:
        if self.input_kind == "pil":
            return _pillow._encode(step, image)
        if image.dtype != np.uint8:
            raise Unsupported(f"torchvision.io.encode_png/encode_jpeg take uint8 tensors (got {image.dtype})")
        t = to_tensor(image)
        if step["channel_order"] == "bgr" and t.shape[0] in (3, 4):
            t = torch.cat([t[:3].flip(0), t[3:]])
        if step["format"] == "png":
            data = torchvision.io.encode_png(t.contiguous())
        else:
            data = torchvision.io.encode_jpeg(t.contiguous(), quality=int(step["quality"]))
        return from_tensor(decode_image(data, mode=ImageReadMode.UNCHANGED))

    # --- per input kind (overridden) --------------------------------------------------------

    def _as_tensor(self, image: np.ndarray) -> torch.Tensor:
        return to_tensor(image)

    def _describe_decode(self, step: dict[str, Any]) -> str:
        mode = {"rgb": "RGB", "bgr": "RGB", "gray": "GRAY", "unchanged": "UNCHANGED"}[step["output"]]
        if step["alpha"] == "keep" and mode in ("RGB", "GRAY"):
            mode += " (RGB_ALPHA / GRAY_ALPHA if the file has alpha)"
        call = (f"torchvision.io.decode_image(data, mode=ImageReadMode.{mode}, "
                f"apply_exif_orientation={step['orientation'] == 'apply'})")
        if step["output"] == "bgr":
            call += " + flip(0)"
        if step["depth16"] != "keep":
            call += " + F.to_dtype(uint8, scale=True) for 16-bit"
        return call

    def _describe_resize(self, step: dict[str, Any]) -> str:
        mode = _nearest_mode(step) if step["filter"] == "nearest" else INTERPOLATION[step["filter"]]
        aa = True if step["filter"] == "lanczos" else bool(step["antialias"])
        return f"F.resize(img, [h, w], interpolation=InterpolationMode.{mode.name}, antialias={aa})"

    def _describe_color(self, step: dict[str, Any]) -> str:
        conv = step["conversion"]
        if conv in ("rgb_to_gray", "bgr_to_gray"):
            return ("flip(0) + " if conv == "bgr_to_gray" else "") + "F.rgb_to_grayscale(img, 1)"
        return {"rgb_to_bgr": "img.flip(0)", "bgr_to_rgb": "img.flip(0)",
                "gray_to_rgb": "F.grayscale_to_rgb(img)", "rgba_to_rgb": "img[:3]"}[conv]

    # --- tensor ops ---------------------------------------------------------------------------

    def _decode(self, step: dict[str, Any], data: bytes | np.ndarray) -> np.ndarray:
        if step.get("dct_scale", 1) != 1 and bytes(data[:3]) == b"\xff\xd8\xff":
            raise Unsupported("torchvision.io.decode_jpeg has no DCT scaling (libjpeg's scale_denom): "
                              "use the torchvision-pil harness (Image.draft) or decode at full size "
                              "and resize")
        buf = torch.frombuffer(bytearray(bytes(data)), dtype=torch.uint8)
        exif = step["orientation"] == "apply"
        output, keep_alpha = step["output"], step["alpha"] == "keep"
        if output == "unchanged":
            img = decode_image(buf, mode=ImageReadMode.UNCHANGED, apply_exif_orientation=exif)
            # a PNG's or WebP's 2 or 4 channels end with alpha; a JPEG's 4 are CMYK ink, all kept
            if img.shape[0] in (2, 4) and not keep_alpha and _alpha_last(data):
                img = img[:-1]
        else:
            has_alpha = keep_alpha and _alpha_last(data) \
                and decode_image(buf, mode=ImageReadMode.UNCHANGED).shape[0] in (2, 4)
            mode = {("rgb", False): ImageReadMode.RGB, ("rgb", True): ImageReadMode.RGB_ALPHA,
                    ("gray", False): ImageReadMode.GRAY, ("gray", True): ImageReadMode.GRAY_ALPHA}[
                ("gray" if output == "gray" else "rgb", has_alpha)]
            img = decode_image(buf, mode=mode, apply_exif_orientation=exif)
            if output == "bgr":
                img = torch.cat([img[:3].flip(0), img[3:]])
        if img.dtype != torch.uint8 and step["depth16"] != "keep":
            img = F.to_dtype(img, torch.uint8, scale=True)  # int -> int: v >> 8
        return from_tensor(img)

    def _resize(self, step: dict[str, Any], image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        out_h, out_w = resize_target(step, h, w)
        filt = step["filter"]
        mode = _nearest_mode(step) if filt == "nearest" else INTERPOLATION[filt]
        antialias = True if filt == "lanczos" else bool(step["antialias"])
        t = to_tensor(image)
        if self.input_kind == "float" and t.dtype == torch.uint8:
            # transformers TorchvisionBackend._compile_friendly_resize: float resize, clamp, round
            r = F.resize(t.to(torch.float32), [out_h, out_w], interpolation=mode, antialias=antialias)
            return from_tensor(r.clamp(0, 255).round().to(torch.uint8))
        return from_tensor(F.resize(t, [out_h, out_w], interpolation=mode, antialias=antialias))

    def _crop(self, step: dict[str, Any], image: np.ndarray) -> np.ndarray:
        t = to_tensor(image)
        if step["mode"] == "center":
            return from_tensor(F.center_crop(t, [int(step["height"]), int(step["width"])]))
        return from_tensor(F.crop(t, int(step["top"]), int(step["left"]), int(step["height"]),
                                  int(step["width"])))

    def _pad(self, step: dict[str, Any], image: np.ndarray) -> np.ndarray:
        return self._pad_ltrb(image, [int(step["left"]), int(step["top"]), int(step["right"]),
                                      int(step["bottom"])], list(step["value"]), step["mode"])

    def _pad_ltrb(self, image: np.ndarray, ltrb: list[int], value: list, mode: str) -> np.ndarray:
        t = to_tensor(image)
        fill = _fill(value, t.shape[0]) if mode == "constant" else 0  # F.pad: scalar unless constant
        return from_tensor(F.pad(t, ltrb, fill=fill, padding_mode=mode))

    def _letterbox(self, step: dict[str, Any], image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        oh, ow = int(step["height"]), int(step["width"])
        if h > oh or w > ow:
            raise ValueError(f"image {h}x{w} does not fit the letterbox {oh}x{ow}")
        top, left = ((_center_offset(oh - h), _center_offset(ow - w)) if step["placement"] == "center"
                     else (0, 0))
        return self._pad_ltrb(image, [left, top, ow - w - left, oh - h - top], list(step["value"]),
                              "constant")

    def _color(self, step: dict[str, Any], image: np.ndarray) -> np.ndarray:
        conv = step["conversion"]
        t = to_tensor(image)
        need = {"gray_to_rgb": 1, "rgba_to_rgb": 4}.get(conv, 3)
        if t.shape[0] != need:
            raise ValueError(f"{conv} needs {need} channel(s), the image has {t.shape[0]}")
        if conv in ("rgb_to_bgr", "bgr_to_rgb"):
            return from_tensor(t.flip(0))
        if conv in ("rgb_to_gray", "bgr_to_gray"):
            return from_tensor(F.rgb_to_grayscale(t.flip(0) if conv == "bgr_to_gray" else t, 1))
        if conv == "gray_to_rgb":
            return from_tensor(F.grayscale_to_rgb(t))
        return from_tensor(t[:3])  # rgba_to_rgb


def _is_unit_scale(step: dict[str, Any]) -> bool:
    """Whether the step scales by 1/255 (F.to_dtype(scale=True)'s only factor for uint8)."""
    if step.get("divisor") is not None:
        return float(step["divisor"]) == 255.0
    return abs(float(step["scale"]) * 255.0 - 1.0) < 1e-12


def _normalize(step: dict[str, Any], t: torch.Tensor) -> np.ndarray:
    c = t.shape[0]
    mean, std = list(step["mean"]), list(step["std"])
    for name, values in (("mean", mean), ("std", std)):
        if len(values) not in (1, c):
            raise ValueError(f"{len(values)} {name} values for {c} channels")
    mean = [float(mean[k % len(mean)]) for k in range(c)]
    std = [float(std[k % len(std)]) for k in range(c)]
    scale = 1.0 / float(step["divisor"]) if step.get("divisor") is not None else float(step["scale"])
    if step["order"] == "mean_first":
        out = F.normalize(t.to(torch.float32), mean, std).mul_(scale)
    else:
        if t.dtype == torch.uint8 and _is_unit_scale(step):
            x = F.to_dtype(t, torch.float32, scale=True)  # v2: .to(float32).mul_(1 / 255)
        else:
            x = t.to(torch.float32).mul_(scale)
        out = F.normalize(x, mean, std)
    return from_tensor(out.to(FLOAT_DTYPES[step["dtype"]]))


def _layout(step: dict[str, Any], t: torch.Tensor) -> np.ndarray:
    out = t.flip(0) if step["channel_order"] == "reverse" else t
    if step["layout"] == "hwc":
        out = out.permute(1, 2, 0)
    if step["batch"]:
        out = out.unsqueeze(0)
    return np.ascontiguousarray(out.numpy()).copy()


# ---------------------------------------------------------------------------------------------
# the three harnesses
# ---------------------------------------------------------------------------------------------


class TorchvisionTensorHarness(_TorchvisionBase):
    """transforms.v2.functional on uint8 CHW tensors (torch's native uint8 kernels)."""

    name = "torchvision-tensor"
    summary = ("torchvision v2 functional on uint8 tensors: decode_image, F.resize, F.center_crop, "
               "F.pad, F.normalize")
    input_kind = "tensor"


class TorchvisionFloatHarness(_TorchvisionBase):
    """transforms.v2.functional with resizes in float32 (uint8 converted, clamped and rounded back)."""

    name = "torchvision-float"
    summary = "torchvision v2 functional, resize on float32 tensors (uint8 -> float -> clamp + round)"
    input_kind = "float"


class TorchvisionPilHarness(_TorchvisionBase):
    """transforms.v2.functional on PIL images (Pillow's kernels behind torchvision's calls)."""

    name = "torchvision-pil"
    summary = "torchvision v2 functional on PIL images: Image.open, F.resize (Pillow), F.center_crop, F.pad"
    input_kind = "pil"

    def _describe_decode(self, step: dict[str, Any]) -> str:
        return _pillow._decode_description(step)

    def _describe_resize(self, step: dict[str, Any]) -> str:
        mode = PIL_ONLY.get(step["filter"]) or INTERPOLATION.get(step["filter"], InterpolationMode.NEAREST)
        return f"F.resize(pil, [h, w], interpolation=InterpolationMode.{mode.name}) (Image.resize)"

    def _describe_color(self, step: dict[str, Any]) -> str:
        conv = step["conversion"]
        if conv in ("rgb_to_bgr", "bgr_to_rgb"):
            return "Image.merge('RGB', im.split()[::-1])"
        if conv == "rgba_to_rgb":
            return "im.convert('RGB')"
        return "PIL " + super()._describe_color(step).replace("flip(0)", "band reversal")

    def _as_tensor(self, image: np.ndarray) -> torch.Tensor:
        if image.dtype == np.uint8 and image.shape[2] in (1, 3, 4):
            return F.to_image(_pil(image))  # what ToImage() does to a PIL image
        return to_tensor(image)

    def _decode(self, step: dict[str, Any], data: bytes | np.ndarray) -> np.ndarray:
        return _pillow._decode(step, data)

    def _each(self, image: np.ndarray, fn) -> np.ndarray:
        """Apply ``fn`` to the PIL image(s) of ``image`` (one per band when Pillow has no mode)."""
        return _pillow._from_images([fn(im) for im in _pillow._to_images(image)])

    def _resize(self, step: dict[str, Any], image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        out_h, out_w = resize_target(step, h, w)
        filt = step["filter"]
        mode = PIL_ONLY.get(filt) or INTERPOLATION.get(filt, InterpolationMode.NEAREST)
        return self._each(image, lambda im: F.resize(im, [out_h, out_w], interpolation=mode))

    def _crop(self, step: dict[str, Any], image: np.ndarray) -> np.ndarray:
        ch, cw = int(step["height"]), int(step["width"])
        if step["mode"] == "center":
            return self._each(image, lambda im: F.center_crop(im, [ch, cw]))
        top, left = int(step["top"]), int(step["left"])
        return self._each(image, lambda im: F.crop(im, top, left, ch, cw))

    def _pad_ltrb(self, image: np.ndarray, ltrb: list[int], value: list, mode: str) -> np.ndarray:
        images = _pillow._to_images(image)
        fills = (_pillow._fills(value, images, image.shape[2]) if mode == "constant"
                 else [0] * len(images))
        return _pillow._from_images([F.pad(im, ltrb, fill=fill, padding_mode=mode)
                                     for im, fill in zip(images, fills)])

    def _color(self, step: dict[str, Any], image: np.ndarray) -> np.ndarray:
        conv = step["conversion"]
        if image.dtype != np.uint8:
            raise Unsupported(f"PIL images hold 8-bit colour only (got {image.dtype})")
        need = {"gray_to_rgb": 1, "rgba_to_rgb": 4}.get(conv, 3)
        if image.shape[2] != need:
            raise ValueError(f"{conv} needs {need} channel(s), the image has {image.shape[2]}")
        im = _pil(image)
        if conv in ("rgb_to_bgr", "bgr_to_rgb", "bgr_to_gray"):
            im = Image.merge("RGB", im.split()[::-1])
        if conv in ("rgb_to_gray", "bgr_to_gray"):
            im = F.rgb_to_grayscale(im, 1)
        elif conv == "gray_to_rgb":
            im = F.grayscale_to_rgb(im)
        elif conv == "rgba_to_rgb":
            im = im.convert("RGB")
        return _pillow._from_images([im])


def _pil(image: np.ndarray) -> Image.Image:
    return Image.fromarray(image[:, :, 0] if image.shape[2] == 1 else image)
