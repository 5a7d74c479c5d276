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

Other ops are **unsupported**: ``tf.image.resize`` returns float32 whatever the input and needs
reference presets of its own (``tf.<method>[.antialias]``, not written yet), and TF has no call
for the other steps that a numpy line would not express better.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import numpy as np

from .base import Harness, Unsupported, package_versions

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

OPS = ("decode",)
DCT_METHOD = {"islow": "INTEGER_ACCURATE", "ifast": "INTEGER_FAST"}
CHANNELS = {("rgb", False): 3, ("bgr", False): 3, ("gray", False): 1, ("unchanged", False): 0,
            ("rgb", True): 4, ("bgr", True): 4, ("gray", True): 2, ("unchanged", True): 0}
JPEG_SOI, PNG_SIGNATURE = b"\xff\xd8", b"\x89PNG\r\n\x1a\n"


class TensorFlowHarness(Harness):
    """TensorFlow's decoders (``tf.io.decode_jpeg`` / ``decode_png``); see the module docstring."""

    name = "tensorflow"
    summary = "TensorFlow (tensorflow-cpu): tf.io.decode_jpeg / decode_png"

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
                          "no EXIF orientation, no WebP"}

    def check(self, step: dict[str, Any]) -> str | None:
        op = step.get("op")
        if op == "resize":
            return ("tf.image.resize returns float32 whatever the input; the reference has no "
                    "tf.<method> presets yet, so compare TF's resize through the onnx.* presets "
                    "(half_pixel) meanwhile")
        if op not in OPS:
            return f"the tensorflow harness covers decode only (tf.io.decode_*), not {op!r}"
        return None

    def describe(self, step: dict[str, Any]) -> str:
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
