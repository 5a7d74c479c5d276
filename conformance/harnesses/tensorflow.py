"""The ``tensorflow`` harness: TensorFlow's image decoders as a TF input pipeline calls them
(``tensorflow-cpu``, the optional ``[tensorflow]`` extra).

decode — ``tf.io.decode_jpeg`` for JPEG and ``tf.io.decode_png`` for PNG (what
  ``tf.io.decode_image`` dispatches to). TensorFlow links its own libjpeg-turbo (2.1.4 in
  2.21, :meth:`TensorFlowHarness.versions` says which) and libpng.

  - ``output`` (intent): ``rgb`` -> ``channels=3``, ``gray`` -> ``channels=1``, ``unchanged``
    -> ``channels=0`` (the file's own); ``bgr`` -> ``channels=3`` then ``[..., ::-1]`` (TF has
    no BGR decode: a deployment reverses the channels itself). ``alpha="keep"`` asks for
    ``channels=4`` (rgb) or ``2`` (gray).
  - ``idct`` (behaviour, exposed as ``dct_method``): ``islow`` -> ``"INTEGER_ACCURATE"``,
    ``ifast`` -> ``"INTEGER_FAST"``; every other value runs TensorFlow's default ``""``, which
    TF maps to JDCT_IFAST ("sacrificing decoding image quality for speed"): the default differs
    from Pillow's and OpenCV's ISLOW.
  - ``upsampling`` (behaviour, exposed as ``fancy_upscaling``): ``nearest`` -> False (libjpeg's
    replicating upsampler), every other value -> True (libjpeg-turbo's triangle filter).
  - ``depth16`` (behaviour, exposed as the output ``dtype``): ``keep`` -> ``dtype=tf.uint16``
    for a 16-bit PNG (an 8-bit one stays ``tf.uint8``: uint16 would scale it by 257);
    otherwise ``tf.uint8`` and TensorFlow's own 16 -> 8 rule (the high byte).
  - ``dct_scale`` (intent: the output size) -> ``ratio`` (1, 2, 4, 8: libjpeg's scale_denom).
    A PNG has no DCT: decode_png ignores it, as the knob does.
  - EXIF orientation, CMYK conversion, block smoothing, the range limit, damaged data: TF's
    fixed behaviour (no parameter); the score shows where it differs from the step's knobs.
  - WebP: **unsupported** (TF has no WebP decoder). Lossless (SOF3) and 12-bit JPEGs: TF's
    libjpeg-turbo 2.1.4 refuses them (a decode error: the score shows it).

resize — ``tf.image.resize(image, (h, w), method, antialias)``; size from
  :func:`.base.resize_target`.

  - ``filter`` (intent) -> ``method``: nearest -> NEAREST_NEIGHBOR, triangle -> BILINEAR, cubic ->
    BICUBIC, area -> AREA, lanczos with ``lobes`` 3 or 5 -> LANCZOS3 / LANCZOS5, gaussian ->
    GAUSSIAN, mitchell -> MITCHELLCUBIC; box, hamming and other Lanczos radii are
    **unsupported** (TF's resize has no such method).
  - ``antialias`` (intent) -> ``antialias``.
  - ``coords``: TF 2 samples at half-pixel centres only; any other value is **unsupported**
    (``tf.compat.v1.image.resize(align_corners=True)`` is TF 1's API).
  - ``output_dtype`` (intent): ``float32`` keeps TF's float32 result (nearest returns the input's
    dtype, as TF does); ``input`` turns it back into an integer input's dtype the way a TF
    pipeline writes it, ``tf.saturate_cast(rounded, dtype)`` with the step's ``rounding``
    (half_even -> ``tf.round``, half_up -> ``tf.floor(x + 0.5)``, half_away -> sign·floor(|x| +
    0.5), truncate -> none: the cast truncates).
  - Everything else (arithmetic, border, window, pass order, cubic_a, weights): TF's fixed
    behaviour, which the ``tf.*`` presets describe (reference.resize.tensorflow); the score shows
    where another library's preset differs.

Other ops are **unsupported**: TF has no call for them that a numpy line would not express better.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import numpy as np

from .base import Harness, Unsupported, package_versions, resize_target

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # no C++ INFO/WARNING lines on stderr


def _llvm_users_first() -> None:
    """Import triton (torch's compiler, when installed) before TensorFlow. Both carry LLVM; once
    TensorFlow has registered LLVM's command-line options, triton registering them again aborts
    the process ("Option 'bitcode-mdindex-threshold' registered more than once", measured with
    tensorflow-cpu 2.21 and the triton of torch 2.15), while the other order is fine. A harness
    process may load the torchvision harnesses after this one."""
    import importlib.util

    if importlib.util.find_spec("triton") is not None:
        try:
            importlib.import_module("triton.knobs")  # the module that registers LLVM's options
        except Exception:  # noqa: BLE001 - a broken triton is torch's problem, not this harness's
            pass


_llvm_users_first()

import tensorflow as tf  # noqa: E402 - after the log level and triton

OPS = ("decode", "resize")
METHODS = {"nearest": "nearest", "triangle": "bilinear", "cubic": "bicubic", "area": "area",
           "gaussian": "gaussian", "mitchell": "mitchellcubic"}
LANCZOS = {3: "lanczos3", 5: "lanczos5"}
DCT_METHOD = {"islow": "INTEGER_ACCURATE", "ifast": "INTEGER_FAST"}
CHANNELS = {("rgb", False): 3, ("bgr", False): 3, ("gray", False): 1, ("unchanged", False): 0,
            ("rgb", True): 4, ("bgr", True): 4, ("gray", True): 2, ("unchanged", True): 0}
JPEG_SOI, PNG_SIGNATURE = b"\xff\xd8", b"\x89PNG\r\n\x1a\n"


class TensorFlowHarness(Harness):
    """TensorFlow's decoders (``tf.io.decode_jpeg`` / ``decode_png``); see the module docstring."""

    name = "tensorflow"
    summary = "TensorFlow (tensorflow-cpu): tf.io.decode_jpeg / decode_png, tf.image.resize"

    def __init__(self) -> None:
        # one intra-op and inter-op thread: the harness pool is the parallelism
        try:
            tf.config.threading.set_intra_op_parallelism_threads(1)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:
            pass  # TF was already initialised in this process: its settings stay

    def versions(self) -> dict[str, str]:
        out = package_versions("tensorflow", tf.__version__)
        out["libjpeg-turbo"] = libjpeg_turbo_version()
        return out

    def capabilities(self) -> dict[str, str]:
        return {"decode": "tf.io.decode_jpeg (dct_method from idct, fancy_upscaling from upsampling, "
                          "ratio from dct_scale) "
                          "and tf.io.decode_png (dtype uint8/uint16); no BGR (channels reversed), "
                          "no EXIF orientation, no WebP",
                "resize": "tf.image.resize bilinear/nearest/bicubic/area/lanczos3/lanczos5/gaussian/"
                          "mitchellcubic, antialias; float32 output (or saturate_cast back)"}

    def check(self, step: dict[str, Any]) -> str | None:
        op = step.get("op")
        if op not in OPS:
            return f"the tensorflow harness covers decode and resize (tf.io.decode_*, tf.image.resize), not {op!r}"
        if op == "resize":
            return _resize_problem(step)
        return None

    def describe(self, step: dict[str, Any]) -> str:
        if step["op"] == "resize":
            cast = "" if step.get("output_dtype") == "float32" else " then tf.saturate_cast(rounded, input dtype)"
            return (f"tf.image.resize(image, size, method={_method(step)!r}, "
                    f"antialias={bool(step['antialias'])}){cast}")
        channels = CHANNELS[(step["output"], step["alpha"] == "keep")]
        dct = DCT_METHOD.get(step["idct"], "")
        fancy = step["upsampling"] != "nearest"
        dtype = "tf.uint16" if step["depth16"] == "keep" else "tf.uint8"
        flip = " then [..., ::-1]" if step["output"] == "bgr" else ""
        ratio = f", ratio={step['dct_scale']}" if step.get("dct_scale", 1) != 1 else ""
        return (f"tf.io.decode_jpeg(channels={channels}, dct_method={dct!r}, fancy_upscaling={fancy}"
                f"{ratio}) | "
                f"tf.io.decode_png(channels={channels}, dtype={dtype}){flip}")

    def run(self, step: dict[str, Any], value: bytes | np.ndarray) -> np.ndarray:
        reason = self.check(step)
        if reason:
            raise Unsupported(reason)
        if step["op"] == "resize":
            return _resize(step, value)
        data = bytes(value)
        channels = CHANNELS[(step["output"], step["alpha"] == "keep")]
        if data[:2] == JPEG_SOI:
            image = tf.io.decode_jpeg(data, channels=channels, dct_method=DCT_METHOD.get(step["idct"], ""),
                                      fancy_upscaling=step["upsampling"] != "nearest",
                                      ratio=step.get("dct_scale", 1))
        elif data[:8] == PNG_SIGNATURE:
            # IHDR's bit depth (byte 24): a 16-bit file kept 16-bit is dtype=tf.uint16; an
            # 8-bit file stays uint8 (tf.uint16 would scale it by 257)
            keep16 = step["depth16"] == "keep" and len(data) > 24 and data[24] == 16
            image = tf.io.decode_png(data, channels=channels, dtype=tf.uint16 if keep16 else tf.uint8)
        elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            raise Unsupported("tf.io.decode_image has no WebP decoder (tensorflow-io's decode_webp "
                              "is a separate package)")
        else:
            image = tf.io.decode_image(data, channels=channels, expand_animations=False)
        out = np.asarray(image.numpy())
        if step["output"] == "bgr":
            out = np.ascontiguousarray(out[..., [2, 1, 0, 3][:out.shape[2]]])
        return out


def _method(step: dict[str, Any]) -> str | None:
    if step.get("filter") == "lanczos":
        return LANCZOS.get(step.get("lobes"))
    return METHODS.get(step.get("filter"))


def _resize_problem(step: dict[str, Any]) -> str | None:
    if _method(step) is None:
        what = (f"lanczos with lobes={step.get('lobes')!r}" if step.get("filter") == "lanczos"
                else f"filter {step.get('filter')!r}")
        return (f"tf.image.resize has no {what} (its methods: bilinear, nearest, bicubic, area, "
                "lanczos3, lanczos5, gaussian, mitchellcubic)")
    if step.get("coords", "half_pixel") != "half_pixel":
        return (f"tf.image.resize samples at half-pixel centres only; coords={step.get('coords')!r} "
                "is TF 1's tf.compat.v1.image.resize(align_corners=...)")
    if step.get("output_dtype", "input") == "input" and step.get("rounding") not in ROUNDINGS:
        return f"no TF rounding for rounding={step.get('rounding')!r}"
    return None


ROUNDINGS = {"half_even": tf.round, "half_up": lambda x: tf.floor(x + 0.5),
             "half_away": lambda x: tf.sign(x) * tf.floor(tf.abs(x) + 0.5), "truncate": lambda x: x}


def _resize(step: dict[str, Any], value: np.ndarray) -> np.ndarray:
    image = np.asarray(value)
    if image.ndim != 3:
        raise Unsupported(f"resize needs an (H, W, C) image, got shape {image.shape}")
    size = resize_target(step, *image.shape[:2])
    out = tf.image.resize(image, size, method=_method(step), antialias=bool(step["antialias"]))
    if step.get("output_dtype", "input") == "input" and out.dtype != image.dtype:
        out = ROUNDINGS[step["rounding"]](out)
        out = tf.saturate_cast(out, tf.as_dtype(image.dtype))
    return np.asarray(out.numpy())


@functools.cache
def libjpeg_turbo_version() -> str:
    """The libjpeg-turbo version TF's library was built with (its banner string, found by a
    memory-mapped search of the shared library, once per process), or 'unknown'."""
    import mmap
    import re
    from pathlib import Path

    lib = Path(tf.__file__).parent / "libtensorflow_cc.so.2"
    try:
        with open(lib, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            at = m.find(b"libjpeg-turbo version ")
            found = re.match(rb"libjpeg-turbo version ([0-9.]+)", m[at:at + 40]) if at >= 0 else None
    except (OSError, ValueError):
        return "unknown"
    return found.group(1).decode() if found else "unknown"
