"""The OpenCV harness: each step as an opencv-python deployment writes it.

Library: ``cv2`` (opencv-python-headless 5.0.0 wheel: libpng 1.6.58, libjpeg-turbo 3.1.2, Intel
IPP as its HAL). Steps are the bundle's JSON dicts; the knob rule of :mod:`.base` decides what
happens to each knob: an *intent* knob cv2 cannot express makes the step unsupported, a
*behaviour* knob cv2 has no parameter for is left to cv2's fixed behaviour, and the score shows
the divergence. Every decision, per op:

decode — ``cv2.imdecode(buf, flags)``, then ``cv2.cvtColor`` to the asked channel order.
  - ``output`` (intent) and ``alpha="keep"`` (intent: an alpha channel in the output) pick the
    flags: rgb/bgr -> IMREAD_COLOR (BGR, then COLOR_BGR2RGB for rgb); gray -> IMREAD_GRAYSCALE;
    unchanged -> IMREAD_ANYCOLOR (the file's colour model without alpha: gray stays 1 channel,
    but gray+alpha comes back as 3-channel colour). ``alpha="keep"`` -> IMREAD_UNCHANGED, the
    only flag that returns alpha, converted with COLOR_BGR(A)2RGB(A) / COLOR_GRAY2BGR as
    ``output`` asks (gray+alpha files come back as 4 channels, gray+tRNS as 1: cv2's choice).
    ``output="gray"`` with ``alpha="keep"`` is **unsupported**: cv2 has no gray+alpha image
    (IMREAD_GRAYSCALE drops alpha, IMREAD_UNCHANGED returns gray+alpha files as BGRA).
  - ``orientation`` (behaviour, exposed): ``ignore`` adds IMREAD_IGNORE_ORIENTATION. imdecode
    applies the EXIF orientation by default, except with IMREAD_UNCHANGED, which never applies
    it: ``alpha="keep"`` with ``orientation="apply"`` is left unrotated (cv2's behaviour).
    ``orientation_source`` (behaviour): imdecode reads the Exif block only (PNG eXIf, JPEG APP1),
    never a text chunk or XMP.
  - ``depth16``: ``keep`` asks for 16-bit output (intent: the dtype) -> IMREAD_ANYDEPTH. The
    other rules are behaviour: cv2's decoder has one, libpng's png_set_strip_16 (v >> 8), for
    every colour type, so ``round``/``clip`` and ``depth16_gray`` are cv2's ``shift``. After
    IMREAD_UNCHANGED (which always keeps 16 bits) the same v >> 8 is applied with numpy when
    8-bit output is asked, the rule imdecode applies itself under every other flag.
  - ``alpha="composite"`` (behaviour: cv2 has no compositing call): alpha is dropped without
    compositing, as IMREAD_COLOR does; ``background`` is unused.
  - ``trns`` (behaviour): cv2 has no parameter; IMREAD_COLOR/GRAYSCALE/ANYCOLOR ignore tRNS,
    IMREAD_UNCHANGED applies it to palette and rgb files (not to gray ones).
  - ``gray_arithmetic`` (behaviour, exposed through the choice of call): ``opencv_fixed``
    decodes IMREAD_COLOR then ``cvtColor(COLOR_BGR2GRAY)``; ``float`` decodes IMREAD_COLOR then
    ``cv2.transform`` with the float ``gray_coefficients`` (cv2's own float path, float32 sum,
    saturate_cast rounding half to even); ``libpng_fixed`` and ``pillow_fixed`` run
    IMREAD_GRAYSCALE (libpng's png_set_rgb_to_gray, cv2's decoder luma). BT.709 exists only with
    ``float`` (spec rule), so it always goes through ``cv2.transform``.
  - ``max_pixels``: cv2's own limit (CV_IO_MAX_IMAGE_PIXELS, 2^30, an environment setting, not a
    per-call one). ``cmyk``/``idct``/``upsampling``: imdecode exposes none (libjpeg-turbo
    defaults: ISLOW IDCT, fancy upsampling); cv2's behaviour runs.
  - ``dct_scale`` (intent: the output size) s > 1 -> the ``IMREAD_REDUCED_COLOR_s`` /
    ``IMREAD_REDUCED_GRAYSCALE_s`` flag in place of IMREAD_COLOR / IMREAD_GRAYSCALE (with
    IMREAD_ANYCOLOR, the scale bit alone): libjpeg's scale_denom = s (grfmt_jpeg.cpp), then the
    EXIF orientation as usual. JPEG only: on other formats imdecode decodes at full size and
    shrinks to (W // s, H // s) with ``cv2.resize(INTER_LINEAR_EXACT)`` (measured on 5.0.0:
    0 LSB against that resize of the full decode), not what the knob means (it leaves them alone): **unsupported**, as is
    ``alpha="keep"`` (IMREAD_UNCHANGED is -1 and carries no scale bit).
  - imdecode returning None (libpng/libjpeg rejected the file) raises :class:`DecodeError`:
    rejecting a negative vector is conforming.

resize — ``cv2.resize(img, dsize=(w, h), interpolation=...)`` (always ``dsize``: with fx/fy cv2
  uses the given factor instead of out/in, a different computation). Output size from
  :func:`.base.resize_target`. ``filter`` (intent): nearest -> INTER_NEAREST or
  INTER_NEAREST_EXACT, chosen by the nearest knobs (behaviour, exposed as the two flags):
  ``nearest_index="multiply"`` (opencv.nearest) or ``coords="asymmetric"`` -> INTER_NEAREST
  (floor(i·in/out)); ``accumulate`` (opencv.nearest_exact, pillow.nearest) and every half-pixel
  coordinate -> INTER_NEAREST_EXACT (floor((i + 0.5)·in/out)). triangle -> INTER_LINEAR,
  cubic -> INTER_CUBIC, lanczos -> INTER_LANCZOS4, area -> INTER_AREA, box -> INTER_AREA (cv2's
  pixel-area average is the box filter integrated over each output pixel's footprint: the same
  intent on downscale; on upscale INTER_AREA interpolates bilinearly, cv2's behaviour).
  gaussian and hamming are **unsupported** (no such interpolation in cv2). ``antialias``,
  ``coords``, ``cubic_a``, ``lobes``, ``border``, ``arithmetic``, ``rounding``, ``pass_order``,
  ``intermediate``, ``window`` ...: behaviour, cv2's fixed values (no antialias, half-pixel,
  -0.75, 4 lobes, replicated borders, its fixed point). The wheel's IPP HAL stays as deployed
  (it runs uint8 INTER_CUBIC: at most 1 LSB from OpenCV's own code). uint8, uint16 and float32
  images; single-channel results get their channel axis back.

crop — numpy slicing (cv2 has no crop call; a cv::Mat ROI is the same slice). Centre offset
  ``(H − h) // 2``: integer division, as C++ code and cv2.dnn.blobFromImage(crop=True) compute
  it (a Point built from 0.5·(H − h) truncates), whatever ``offset_rounding`` says (behaviour).
  A window outside the image raises (numpy slicing would silently shrink it; a cv::Mat ROI
  asserts). ``if_smaller="pad"`` (intent: a padded window) -> ``cv2.copyMakeBorder(
  BORDER_CONSTANT, value)`` on the axes shorter than the window, d = window − side pixels,
  top/left = d // 2 (``pad_extra="after"``, the odd pixel bottom/right) or (d + 1) // 2
  (``"before"``), then the slice above on the other axis.

pad — ``cv2.copyMakeBorder``: constant -> BORDER_CONSTANT with ``value`` (one value is used for
  every channel), edge -> BORDER_REPLICATE, reflect -> BORDER_REFLECT_101 (the spec's reflect
  does not repeat the edge pixel: a b c | b a; BORDER_REFLECT would repeat it).

letterbox — ``cv2.copyMakeBorder(BORDER_CONSTANT)`` with top = (H_out − H) // 2 and left likewise
  (integer division as in crop; ultralytics' ``round(dh ∓ 0.1)`` gives the same), the rest
  after; ``top_left`` placement pads bottom/right only. The resize before it is its own step.

color — ``cv2.cvtColor``: COLOR_RGB2BGR / COLOR_BGR2RGB, COLOR_RGB2GRAY / COLOR_BGR2GRAY
  (``arithmetic`` ``opencv_fixed``, and ``pillow_fixed`` as behaviour), COLOR_GRAY2RGB,
  COLOR_RGBA2RGB (``alpha="composite"`` is behaviour: cvtColor drops alpha). Gray with
  ``arithmetic="float"`` (and every BT.709 request) -> ``cv2.transform`` with the coefficients
  (float32, rounded half to even: ``rounding`` is behaviour). rgb_to_ycbcr ->
  COLOR_RGB2YCrCb, then the channels reordered Y, Cr, Cb -> Y, Cb, Cr (cv2's order differs from
  the knob's); ycbcr_to_rgb reorders first, then COLOR_YCrCb2RGB. cv2's YCrCb is full range
  with JPEG's coefficients (Cr = (R − Y)·0.713 + 128, Cb = (B − Y)·0.564 + 128) in 14-bit fixed
  point for uint8.

normalize — ``cv2.dnn.blobFromImageWithParams`` (blobFromImage's generalisation), which computes
  (x − mean)·scalefactor in float32 per channel. mean_first: mean = ``mean``, scalefactor =
  ``scale``/``std``; scale_first: mean = ``mean``/``scale``, scalefactor = ``scale``/``std``
  (the usual port of torchvision's Normalize to blobFromImage: mean·255, 1/(255·std)).
  ``divisor`` d is scale 1/d. ``datalayout=DNN_LAYOUT_NHWC`` keeps the step's (H, W, C) output
  (the layout step packs). Images of 2 or more than 4 channels, or of a dtype blobFromImage
  does not take (only uint8 and float32 are documented), use the same formula in numpy float32.
  ``compute_dtype`` is behaviour (float32); ``dtype`` float16/float64 is a numpy cast of the
  float32 blob. ``order="fused"`` ((x − mean·k)/(std·k), k = 1/scale) is the same blob as
  scale_first (mean/scale, scale/std): blobFromImage has one formula, so fused and
  ``scale_dtype="float64"`` are behaviour (its float32 (x − mean)·scalefactor runs; the
  score shows any difference from the reference's rounding).

layout — chw: ``cv2.dnn.blobFromImage(img, 1.0, swapRB=channel_order == "reverse")`` for uint8
  (ddepth CV_8U) and float32 images of 1, 3 or 4 channels, the batch axis dropped when
  ``batch`` is false; swapRB swaps channels 0 and 2 only, so a 4-channel reversal keeps alpha
  last (cv2's behaviour). Otherwise, and for hwc, numpy: transpose, ``[..., ::-1]``, ``[None]``.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from ..errors import DecodeError
from .base import (Harness, Unsupported, crop_padding, float_input, package_versions, per_channel,
                   resize_target, tensor_hwc, tensor_input)

# Luma weights (kr, kg, kb) of the float path (cv2.transform): Rec. ITU-R BT.601 / BT.709.
GRAY_COEFFICIENTS = {"bt601": (0.299, 0.587, 0.114), "bt709": (0.2126, 0.7152, 0.0722)}

JPEG_SOI = b"\xff\xd8\xff"  # T.81 B.1.1.3: SOI, then the first marker's 0xFF (what imdecode sniffs)

# 16-bit -> 8-bit shift of libpng's png_set_strip_16, the rule imdecode applies (notes §4.2).
STRIP_16_SHIFT = 8

# blobFromImage takes a cv::Scalar for mean/scalefactor: at most 4 channels (and its documented
# inputs are 1-, 3- or 4-channel uint8/float32 images).
BLOB_CHANNELS = (1, 3, 4)
BLOB_DTYPES = (np.uint8, np.float32)

RESIZE_FLAGS = {
    "triangle": ("INTER_LINEAR", cv2.INTER_LINEAR),
    "cubic": ("INTER_CUBIC", cv2.INTER_CUBIC),
    "lanczos": ("INTER_LANCZOS4", cv2.INTER_LANCZOS4),
    "area": ("INTER_AREA", cv2.INTER_AREA),
    "box": ("INTER_AREA", cv2.INTER_AREA),  # pixel-area average = box filter (module docstring)
}
RESIZE_UNSUPPORTED = {
    "gaussian": "cv2.resize has no Gaussian interpolation; use fast_image_resize, the image crate "
                "or the reference",
    "hamming": "cv2.resize has no Hamming-windowed filter (Pillow's HAMMING); use Pillow or the "
               "reference",
    "mitchell": "cv2.resize has no Mitchell-Netravali filter (TF's mitchellcubic); use TensorFlow "
                "or the reference",
}

PAD_BORDERS = {"constant": ("BORDER_CONSTANT", cv2.BORDER_CONSTANT),
               "edge": ("BORDER_REPLICATE", cv2.BORDER_REPLICATE),
               "reflect": ("BORDER_REFLECT_101", cv2.BORDER_REFLECT_101)}

OPS = ("decode", "resize", "crop", "pad", "letterbox", "color", "normalize", "layout",
       "tensor", "denormalize", "quantize", "encode")
QUANTIZE_DEPTHS = {"uint8": cv2.CV_8U, "uint16": cv2.CV_16U}


def _hwc(a: np.ndarray) -> np.ndarray:
    """cv2 returns single-channel images as (H, W): give them their channel axis back."""
    return a[:, :, None] if a.ndim == 2 else a


def _scalar(values: list, channels: int) -> tuple[float, ...]:
    """A per-channel knob as a cv::Scalar (4 entries); one value broadcasts to every channel."""
    if len(values) not in (1, channels):
        raise ValueError(f"{len(values)} values for {channels} channels")
    per = [float(values[c % len(values)]) for c in range(channels)]
    return tuple(per + [0.0] * (4 - len(per)))


class OpenCVHarness(Harness):
    """cv2 (opencv-python-headless) as deployments call it; see the module docstring."""

    name = "opencv"
    summary = "OpenCV through cv2: imdecode, resize, copyMakeBorder, cvtColor, dnn.blobFromImage"

    def versions(self) -> dict[str, str]:
        return package_versions("cv2", cv2.__version__)

    def capabilities(self) -> dict[str, str]:
        return {
            "decode": "cv2.imdecode: IMREAD_COLOR/GRAYSCALE/ANYCOLOR/UNCHANGED, ANYDEPTH, "
                      "IGNORE_ORIENTATION, REDUCED_COLOR/GRAYSCALE_2/4/8 (JPEG only); no gray+alpha; "
                      "16->8 always v>>8; no compositing",
            "resize": "cv2.resize: INTER_NEAREST(_EXACT), LINEAR, CUBIC, LANCZOS4, AREA (also for "
                      "box); no gaussian, no hamming; never antialiased",
            "crop": "slicing, centre offset by integer division; if_smaller=pad via "
                    "cv2.copyMakeBorder(BORDER_CONSTANT)",
            "pad": "cv2.copyMakeBorder: CONSTANT, REPLICATE, REFLECT_101",
            "letterbox": "cv2.copyMakeBorder(BORDER_CONSTANT), offsets by integer division",
            "color": "cv2.cvtColor (BGR<->RGB, GRAY, RGBA2RGB drops alpha, YCrCb reordered); "
                     "float/BT.709 luma via cv2.transform",
            "normalize": "cv2.dnn.blobFromImageWithParams ((x - mean)·scalefactor, float32, NHWC); "
                         "fused and scale_dtype are behaviour",
            "layout": "cv2.dnn.blobFromImage for NCHW (swapRB swaps channels 0 and 2); numpy else",
            "tensor": "cv2.dnn.imagesFromBlob for float32 NCHW (what net.forward() returns); numpy else",
            "denormalize": "cv2.multiply / cv2.add / cv2.divide with per-channel Scalars (range: "
                           "x·k + m in one cv2.scaleAdd-like pair)",
            "quantize": "cv2.convertScaleAbs (absolute) or cv2.multiply(..., dtype=CV_8U/CV_16U): "
                        "saturate_cast, cvRound half to even, through int32, always",
            "encode": "cv2.imencode(.png/.jpg, BGR) + cv2.imdecode(IMREAD_UNCHANGED)",
        }

    # --- protocol -------------------------------------------------------------------------

    def check(self, step: dict[str, Any]) -> str | None:
        op = step.get("op")
        if op not in OPS:
            return f"the opencv harness has no op {op!r}"
        if op == "decode" and step["output"] == "gray" and step["alpha"] == "keep":
            return ("cv2 has no gray+alpha image: IMREAD_GRAYSCALE drops alpha and "
                    "IMREAD_UNCHANGED returns gray+alpha files as BGRA")
        if op == "decode" and step.get("dct_scale", 1) != 1 and step["alpha"] == "keep":
            return ("alpha='keep' needs IMREAD_UNCHANGED (-1, every bit set), which cannot carry an "
                    "IMREAD_REDUCED_* scale: decode with alpha='drop' for dct_scale > 1")
        if op == "quantize" and step["absolute"] and step["dtype"] != "uint8":
            return "cv2.convertScaleAbs writes 8-bit only; an absolute value to 16 bits has no cv2 call"
        if op == "resize":
            if step["filter"] in RESIZE_UNSUPPORTED:
                return RESIZE_UNSUPPORTED[step["filter"]]
            if not any(step.get(k) is not None for k in ("height", "shorter_side", "longer_side")):
                return "resize step gives no target size"
        return None

    def describe(self, step: dict[str, Any]) -> str:
        op = step["op"]
        if op == "decode":
            plan = _decode_plan(step)
            text = f"cv2.imdecode(buf, {plan.flag_names})"
            if plan.post:
                text += (" " if plan.post.startswith("(") else " + ") + plan.post
            return text
        if op == "resize":
            name, _ = _resize_flag(step)
            return f"cv2.resize(img, dsize=(w, h), interpolation=cv2.{name})"
        if op == "crop":
            if step["mode"] != "center":
                return "img[top:top+h, left:left+w]"
            text = "img[top:top+h, left:left+w] with top = (H - h) // 2"
            if step.get("if_smaller", "error") == "pad":
                text = ("cv2.copyMakeBorder(img, ..., cv2.BORDER_CONSTANT, value) on the axes shorter "
                        f"than the window (odd pixel {step.get('pad_extra', 'after')}), then " + text)
            return text
        if op == "pad":
            return f"cv2.copyMakeBorder(img, top, bottom, left, right, cv2.{PAD_BORDERS[step['mode']][0]})"
        if op == "letterbox":
            return "cv2.copyMakeBorder(img, ..., cv2.BORDER_CONSTANT, value) with offsets (H_out - H) // 2"
        if op == "color":
            return _color_call(step)[0]
        if op == "normalize":
            return ("cv2.dnn.blobFromImageWithParams(img, Image2BlobParams(scalefactor=scale/std, "
                    "mean=..., ddepth=CV_32F, datalayout=DNN_LAYOUT_NHWC))")
        if op == "layout":
            if step["layout"] == "chw":
                return (f"cv2.dnn.blobFromImage(img, 1.0, swapRB={step['channel_order'] == 'reverse'})"
                        + ("" if step["batch"] else "[0]"))
            return "numpy (hwc" + (", [..., ::-1]" if step["channel_order"] == "reverse" else "") + \
                (", [None]" if step["batch"] else "") + ")"
        if op == "tensor":
            return ("cv2.dnn.imagesFromBlob(blob)[0] (float32 NCHW), numpy transpose otherwise, "
                    "after np.lib.format.read_array(allow_pickle=False)")
        if op == "denormalize":
            if step["mode"] == "mean_std":
                return "cv2.divide(cv2.add(cv2.multiply(x, std), mean), scale)"
            return "cv2.add(cv2.multiply(x, k), m) with k = (d - c) / (b - a), m = c - a·k"
        if op == "quantize":
            pre = "np.clip(x, 0, max / scale), then " if step["clamp"] == "before" else ""
            if step["absolute"]:
                return pre + f"cv2.convertScaleAbs(x, alpha={step['scale']:g})"
            return pre + (f"cv2.multiply(x, {step['scale']:g}, "
                          f"dtype=cv2.{'CV_8U' if step['dtype'] == 'uint8' else 'CV_16U'})")
        if op == "encode":
            ext = ".png" if step["format"] == "png" else ".jpg"
            swap = "" if step["channel_order"] == "bgr" else "img[..., ::-1] (RGB -> BGR), "
            return f"{swap}cv2.imencode('{ext}', ...) then cv2.imdecode(IMREAD_UNCHANGED)[..., ::-1]"
        raise Unsupported(f"the opencv harness has no op {op!r}")

    def run(self, step: dict[str, Any], value: bytes | np.ndarray) -> np.ndarray:
        reason = self.check(step)
        if reason is not None:
            raise Unsupported(reason)
        op = step["op"]
        if op == "decode":
            return _decode(step, value)
        if op == "tensor":
            return _tensor(step, value)
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
            return _pad(step, image)
        if op == "letterbox":
            return _letterbox(step, image)
        if op == "color":
            return _color(step, image)
        if op == "normalize":
            return _normalize(step, image)
        return _layout(step, image)


# ---------------------------------------------------------------------------------------------
# decode
# ---------------------------------------------------------------------------------------------


class _DecodePlan:
    """The imdecode flags for a decode step and what follows the call."""

    def __init__(self, flags: int, flag_names: str, gray_via: str | None, post: str):
        self.flags, self.flag_names, self.gray_via, self.post = flags, flag_names, gray_via, post


def _decode_plan(step: dict[str, Any]) -> _DecodePlan:
    output, keep_alpha = step["output"], step["alpha"] == "keep"
    gray_via = None
    if keep_alpha:
        # The only flag that returns alpha; it takes no other flag (flags == -1 also means: no
        # EXIF rotation, 16-bit kept).
        post = {"rgb": "cvtColor(BGR(A)2RGB(A))", "bgr": "cvtColor(GRAY2BGR) for gray files",
                "unchanged": "cvtColor(BGR(A)2RGB(A)) for colour files"}[output]
        if step["depth16"] != "keep":
            post += " + v >> 8 for 16-bit files"
        return _DecodePlan(cv2.IMREAD_UNCHANGED, "IMREAD_UNCHANGED", None, post)
    names = []
    if output in ("rgb", "bgr"):
        names.append("IMREAD_COLOR")
    elif output == "unchanged":
        names.append("IMREAD_ANYCOLOR")
    elif step["gray_arithmetic"] == "opencv_fixed" or step["gray_arithmetic"] == "float":
        names.append("IMREAD_COLOR")
        gray_via = "cvtColor" if step["gray_arithmetic"] == "opencv_fixed" else "transform"
    else:
        names.append("IMREAD_GRAYSCALE")
    scale = step.get("dct_scale", 1)
    if scale != 1:  # the REDUCED flags are IMREAD_COLOR / IMREAD_GRAYSCALE plus a scale bit
        names = [f"IMREAD_REDUCED_COLOR_{scale}" if n == "IMREAD_COLOR" else
                 f"IMREAD_REDUCED_GRAYSCALE_{scale}" if n == "IMREAD_GRAYSCALE" else n
                 for n in names]
        if names == ["IMREAD_ANYCOLOR"]:
            names.append(f"IMREAD_REDUCED_GRAYSCALE_{scale}")  # the scale bit alone
    if step["depth16"] == "keep":
        names.append("IMREAD_ANYDEPTH")
    if step["orientation"] == "ignore":
        names.append("IMREAD_IGNORE_ORIENTATION")
    flags = 0
    for n in names:
        flags |= getattr(cv2, n)
    dropped = " (alpha dropped, not composited)" if step["alpha"] == "composite" else ""
    if output == "rgb":
        post = "cvtColor(BGR2RGB)"
    elif output == "unchanged":
        post = "cvtColor(BGR2RGB) for colour files"
    elif gray_via == "cvtColor":
        post = "cvtColor(BGR2GRAY)"
    elif gray_via == "transform":
        post = f"cv2.transform(bgr, [[kb, kg, kr]] of {step['gray_coefficients']})"
    else:
        post = ""
    return _DecodePlan(flags, " | ".join(names), gray_via, (post + dropped).strip())


def _decode(step: dict[str, Any], data: bytes | np.ndarray) -> np.ndarray:
    plan = _decode_plan(step)
    data = bytes(data)
    if step.get("dct_scale", 1) != 1 and data[:3] != JPEG_SOI:
        raise Unsupported("IMREAD_REDUCED_* on a non-JPEG file decodes it at full size and shrinks "
                          "it with cv2.resize(INTER_LINEAR_EXACT) (loadsave.cpp), where dct_scale "
                          "leaves non-JPEG files alone: decode with dct_scale 1 and resize instead")
    buf = np.frombuffer(data, dtype=np.uint8)
    img = cv2.imdecode(buf, plan.flags)  # oversized headers raise cv2.error themselves
    if img is None:
        raise DecodeError(f"cv2.imdecode({plan.flag_names}) returned None: the decoder rejected "
                          "the file")
    img = _hwc(img)
    output = step["output"]
    if step["alpha"] == "keep":
        if img.dtype == np.uint16 and step["depth16"] != "keep":
            img = (img >> STRIP_16_SHIFT).astype(np.uint8)
        c = img.shape[2]
        if output in ("rgb", "bgr") and c == 1:
            img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
        if output in ("rgb", "unchanged") and img.ndim == 3 and img.shape[2] in (3, 4):
            img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB if img.shape[2] == 3 else cv2.COLOR_BGRA2RGBA)
        return _hwc(img)
    if plan.gray_via == "cvtColor":
        return _hwc(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY))
    if plan.gray_via == "transform":
        kr, kg, kb = GRAY_COEFFICIENTS[step["gray_coefficients"]]
        return _hwc(cv2.transform(img, np.array([[kb, kg, kr]], dtype=np.float64)))
    if output in ("rgb", "unchanged") and img.shape[2] == 3:
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    return img


# ---------------------------------------------------------------------------------------------
# resize
# ---------------------------------------------------------------------------------------------


def _resize_flag(step: dict[str, Any]) -> tuple[str, int]:
    """(flag name, flag) for a resize step (module docstring: nearest by its index knobs)."""
    f = step["filter"]
    if f in RESIZE_UNSUPPORTED:
        raise Unsupported(RESIZE_UNSUPPORTED[f])
    if f == "nearest":
        if step["nearest_index"] == "multiply" or (step["nearest_index"] == "coords"
                                                   and step["coords"] == "asymmetric"):
            return "INTER_NEAREST", cv2.INTER_NEAREST
        return "INTER_NEAREST_EXACT", cv2.INTER_NEAREST_EXACT
    return RESIZE_FLAGS[f]


def _resize(step: dict[str, Any], image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    out_h, out_w = resize_target(step, h, w)
    _, flag = _resize_flag(step)
    out = cv2.resize(image, (out_w, out_h), interpolation=flag)
    return out.reshape(out_h, out_w, image.shape[2])


# ---------------------------------------------------------------------------------------------
# geometry
# ---------------------------------------------------------------------------------------------


def _crop(step: dict[str, Any], image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    ch, cw = int(step["height"]), int(step["width"])
    if (step["mode"] == "center" and step.get("if_smaller", "error") == "pad"
            and (ch > h or cw > w)):
        dh, dw = max(ch - h, 0), max(cw - w, 0)
        rule = step.get("pad_extra", "after")
        top, left = crop_padding(dh, rule), crop_padding(dw, rule)
        image = _border(image, top, dh - top, left, dw - left, "constant",
                        list(step.get("value", [0])))
        h, w = image.shape[:2]
    if step["mode"] == "center":
        top, left = (h - ch) // 2, (w - cw) // 2  # C++ integer division (module docstring)
    else:
        top, left = int(step["top"]), int(step["left"])
    if top < 0 or left < 0 or top + ch > h or left + cw > w:
        raise ValueError(f"crop window top={top} left={left} {ch}x{cw} leaves the image {h}x{w}")
    return image[top:top + ch, left:left + cw].copy()


def _border(image: np.ndarray, top: int, bottom: int, left: int, right: int, mode: str,
            value: list) -> np.ndarray:
    _, border = PAD_BORDERS[mode]
    c = image.shape[2]
    if mode == "constant":
        out = cv2.copyMakeBorder(image, top, bottom, left, right, border, value=_scalar(value, c))
    else:
        out = cv2.copyMakeBorder(image, top, bottom, left, right, border)
    return out.reshape(out.shape[0], out.shape[1], c)


def _pad(step: dict[str, Any], image: np.ndarray) -> np.ndarray:
    return _border(image, int(step["top"]), int(step["bottom"]), int(step["left"]),
                   int(step["right"]), step["mode"], list(step["value"]))


def _letterbox(step: dict[str, Any], image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    oh, ow = int(step["height"]), int(step["width"])
    if h > oh or w > ow:
        raise ValueError(f"image {h}x{w} does not fit the letterbox {oh}x{ow}")
    top, left = ((oh - h) // 2, (ow - w) // 2) if step["placement"] == "center" else (0, 0)
    return _border(image, top, oh - h - top, left, ow - w - left, "constant", list(step["value"]))


# ---------------------------------------------------------------------------------------------
# color
# ---------------------------------------------------------------------------------------------

_CVT = {"rgb_to_bgr": ("COLOR_RGB2BGR", cv2.COLOR_RGB2BGR),
        "bgr_to_rgb": ("COLOR_BGR2RGB", cv2.COLOR_BGR2RGB),
        "rgb_to_gray": ("COLOR_RGB2GRAY", cv2.COLOR_RGB2GRAY),
        "bgr_to_gray": ("COLOR_BGR2GRAY", cv2.COLOR_BGR2GRAY),
        "gray_to_rgb": ("COLOR_GRAY2RGB", cv2.COLOR_GRAY2RGB),
        "rgba_to_rgb": ("COLOR_RGBA2RGB", cv2.COLOR_RGBA2RGB),
        "rgb_to_ycbcr": ("COLOR_RGB2YCrCb", cv2.COLOR_RGB2YCrCb),
        "ycbcr_to_rgb": ("COLOR_YCrCb2RGB", cv2.COLOR_YCrCb2RGB)}

# cv2's YCrCb channel order <-> the knob's Y, Cb, Cr (the permutation is its own inverse).
SWAP_CB_CR = [0, 2, 1]


def _color_call(step: dict[str, Any]) -> tuple[str, str]:
    """(description, how) for a color step; how is "transform" for the float luma path."""
    conv = step["conversion"]
    if conv in ("rgb_to_gray", "bgr_to_gray") and step["arithmetic"] == "float":
        order = "[kr, kg, kb]" if conv == "rgb_to_gray" else "[kb, kg, kr]"
        return f"cv2.transform(img, [{order}] of {step['gray_coefficients']})", "transform"
    name = _CVT[conv][0]
    if conv == "rgb_to_ycbcr":
        return f"cv2.cvtColor(img, cv2.{name})[..., [0, 2, 1]]", "cvt"
    if conv == "ycbcr_to_rgb":
        return f"cv2.cvtColor(img[..., [0, 2, 1]], cv2.{name})", "cvt"
    return f"cv2.cvtColor(img, cv2.{name})", "cvt"


def _color(step: dict[str, Any], image: np.ndarray) -> np.ndarray:
    conv = step["conversion"]
    _, how = _color_call(step)
    if how == "transform":
        kr, kg, kb = GRAY_COEFFICIENTS[step["gray_coefficients"]]
        m = [kr, kg, kb] if conv == "rgb_to_gray" else [kb, kg, kr]
        return _hwc(cv2.transform(image, np.array([m], dtype=np.float64)))
    code = _CVT[conv][1]
    if conv == "ycbcr_to_rgb":
        image = np.ascontiguousarray(image[..., SWAP_CB_CR])
    out = _hwc(cv2.cvtColor(image, code))
    if conv == "rgb_to_ycbcr":
        out = np.ascontiguousarray(out[..., SWAP_CB_CR])
    return out


# ---------------------------------------------------------------------------------------------
# normalize and layout
# ---------------------------------------------------------------------------------------------


def _blob_args(step: dict[str, Any], channels: int) -> tuple[np.ndarray, np.ndarray]:
    """(mean, scalefactor) per channel for (x − mean)·scalefactor (module docstring)."""
    scale = 1.0 / float(step["divisor"]) if step.get("divisor") is not None else float(step["scale"])
    mean = np.array(_scalar(list(step["mean"]), channels)[:channels])
    std = np.array(_scalar(list(step["std"]), channels)[:channels])
    if step["order"] in ("scale_first", "fused"):
        # x·scale − m = (x − m/scale)·scale; fused (x − m·k)/(s·k), k = 1/scale, is the same blob
        mean = mean / scale
    return mean, scale / std


def _normalize(step: dict[str, Any], image: np.ndarray) -> np.ndarray:
    c = image.shape[2]
    mean, factor = _blob_args(step, c)
    if c in BLOB_CHANNELS and image.dtype in BLOB_DTYPES:
        pad = [0.0] * (4 - c)
        params = cv2.dnn.Image2BlobParams(
            scalefactor=tuple(factor.tolist() + pad), size=(0, 0), mean=tuple(mean.tolist() + pad),
            swapRB=False, ddepth=cv2.CV_32F, datalayout=cv2.DNN_LAYOUT_NHWC)
        out = cv2.dnn.blobFromImageWithParams(image, params)[0]
        out = out.reshape(image.shape[0], image.shape[1], c)
    else:  # the same formula in numpy float32 (blobFromImage does not take this image)
        x = image.astype(np.float32)
        out = (x - mean.astype(np.float32)) * factor.astype(np.float32)
    return out.astype(step["dtype"], copy=False)


def _layout(step: dict[str, Any], image: np.ndarray) -> np.ndarray:
    reverse = step["channel_order"] == "reverse"
    c = image.shape[2]
    if step["layout"] == "chw" and c in BLOB_CHANNELS and image.dtype in BLOB_DTYPES:
        ddepth = cv2.CV_8U if image.dtype == np.uint8 else cv2.CV_32F
        blob = cv2.dnn.blobFromImage(image, 1.0, (0, 0), 0, reverse, False, ddepth)
        blob = blob.reshape(1, c, image.shape[0], image.shape[1])
        return blob if step["batch"] else np.ascontiguousarray(blob[0])
    out = image[..., ::-1] if reverse else image
    if step["layout"] == "chw":
        out = np.transpose(out, (2, 0, 1))
    if step["batch"]:
        out = out[None]
    return np.array(out, order="C")  # always a copy, never the input itself


# ---------------------------------------------------------------------------------------------
# the way back: tensor, denormalize, quantize, encode
# ---------------------------------------------------------------------------------------------


def _tensor(step: dict[str, Any], data: bytes) -> np.ndarray:
    array = tensor_input(step, data)
    if step["layout"] == "nchw" and array.dtype == np.float32 and array.ndim == 4 and array.shape[0] == 1:
        return _hwc(cv2.dnn.imagesFromBlob(array)[0])
    return tensor_hwc(array, step["layout"], step["max_elements"])


def _denormalize(step: dict[str, Any], image: np.ndarray) -> np.ndarray:
    x = float_input(image, "denormalize", step["compute_dtype"])

    def full(values: list) -> np.ndarray:
        """A per-channel constant as a full array: cv2 takes a lone number for a multi-channel
        image as Scalar(v, 0, 0, 0) in some calls, which would zero channels 1..3."""
        return np.ascontiguousarray(np.broadcast_to(per_channel(values, x.shape[2], x.dtype), x.shape))

    if step["mode"] == "mean_std":
        y = cv2.multiply(x, full(step["std"]))
        y = cv2.add(_hwc(y), full(step["mean"]))
        y = cv2.divide(_hwc(y), full([step["scale"]]))
        return _hwc(y)
    (a, b), (lo, hi) = step["from_range"], step["to_range"]
    k = (hi - lo) / (b - a)
    m = lo - a * k
    y = cv2.add(_hwc(cv2.multiply(x, full([k]))), full([m]))
    return _hwc(y)


def _quantize(step: dict[str, Any], image: np.ndarray) -> np.ndarray:
    x = float_input(image, "quantize", step["compute_dtype"])
    top = 255 if step["dtype"] == "uint8" else 65535
    if step["clamp"] == "before":
        x = np.clip(x, 0, x.dtype.type(top) / x.dtype.type(step["scale"]))
    if step["absolute"]:
        return _hwc(cv2.convertScaleAbs(x, alpha=float(step["scale"])))
    return _hwc(cv2.multiply(x, np.full(x.shape, step["scale"], x.dtype),
                             dtype=QUANTIZE_DEPTHS[step["dtype"]]))


def _encode(step: dict[str, Any], image: np.ndarray) -> np.ndarray:
    c = image.shape[2]
    bgr = image
    if step["channel_order"] == "rgb" and c in (3, 4):
        bgr = np.concatenate([image[..., 2::-1], image[..., 3:]], axis=2)  # RGB(A) -> BGR(A)
    bgr = np.ascontiguousarray(bgr[..., 0] if c == 1 else bgr)
    if step["format"] == "png":
        ok, buf = cv2.imencode(".png", bgr)
    else:
        if c not in (1, 3):
            raise ValueError(f"JPEG stores gray or colour; the image has {c} channels")
        flags = [cv2.IMWRITE_JPEG_QUALITY, int(step["quality"])]
        if c == 3:
            flags += [cv2.IMWRITE_JPEG_SAMPLING_FACTOR,
                      getattr(cv2, f"IMWRITE_JPEG_SAMPLING_FACTOR_{step['sampling']}")]
        ok, buf = cv2.imencode(".jpg", bgr, flags)
    if not ok:
        raise ValueError("cv2.imencode failed")
    out = _hwc(cv2.imdecode(buf, cv2.IMREAD_UNCHANGED))
    if out.shape[2] in (3, 4):
        out = np.concatenate([out[..., 2::-1], out[..., 3:]], axis=2)  # the file's RGB(A)
    return np.ascontiguousarray(out)
