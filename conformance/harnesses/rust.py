"""The Rust harnesses: the ``conformance_rust`` extension (``rust_harness/``, PyO3 + maturin).

Every decision about which knob maps to which Rust call lives in the Rust crate, documented in
its modules (``rust_harness/src/{decode,resize_image,resize_fir,color,geometry,normalize,
layout,tensor_input,denormalize,quantize,encode}.rs``), because the CLI
(``conformance-rust-harness``) runs the same code; these classes only pass the bundle's JSON
steps and numpy arrays (or the input file's bytes, for ``decode`` and ``tensor``) across.

- ``rust-image``: the ``image`` crate 0.25 as a Rust user calls it: ``ImageReader`` decode
  (zune-jpeg, the png crate) under ``Limits``, ``apply_orientation``, ``imageops::resize``
  (Nearest/Triangle/CatmullRom/Gaussian/Lanczos3), ``to_luma8``/``to_rgb8``/``overlay``;
  crop/pad/letterbox, normalize (f32) and layout with ``ndarray``.
- ``rust-fir``: the same with resize by ``fast_image_resize`` 5.5 (``Nearest``,
  ``Convolution(..)`` when ``antialias`` is true, ``Interpolation(..)`` when false).

  Both engines, for the knobs added with the transformers/timm presets: resize sizes
  (``size_formula`` ``product``/``ratio``, ``max_size``) are intent, computed in ``step.rs``
  ``resize_target`` by the same rule as :func:`.base.resize_target`; crop ``if_smaller="pad"``
  pads the short axes on an ndarray canvas filled with ``value``, the odd pixel where
  ``pad_extra`` says (``geometry.rs``); normalize (f32, ``normalize.rs``) writes ``fused``
  ((x − mean·k)/(std·k), f32 products) and ``scale_dtype="float64"`` ((x as f64 · scale) as
  f32) as asked; ``compute_dtype`` stays behaviour (f32).

  Both engines, the way back (model output -> pixels; ``tensor_input.rs``, ``denormalize.rs``,
  ``quantize.rs``, ``encode.rs``): ``tensor`` gets the input file's bytes like ``decode`` and
  reads them with the porter crate's strict .npy reader (uint8/uint16/float16/float32/float64;
  int16/int32 are unsupported: the harness's Tensor has no such variant; big-endian and
  Fortran-order files are rejected), then ndarray axis moves; ``denormalize`` in f32 or f64 as
  ``compute_dtype`` asks; ``quantize`` as Rust writes it (``(x * 255.0) as u8``, ``.round()``,
  ``.round_ties_even()``, ``(y + 0.5).floor()`` for half_up, ``(v as i32) as u8`` for the int32
  path, whose saturating ``as`` gives 255 where x86 C gives 0 for values >= 2^31 and +inf);
  ``encode`` with the image crate's ``PngEncoder`` / ``JpegEncoder`` (always 4:4:4), read back
  by the crate.
- ``tract``: the pipeline steps as the ONNX graphs :mod:`.onnx_graphs` builds (the bytes ONNX
  Runtime runs), run by tract-onnx 0.23 through the extension's ``OnnxModel``. A graph tract
  cannot load or optimise is ``unsupported`` with tract's own message.

The CLI is run by the ``rust-cli`` program harness (:mod:`.programs`), so the external protocol
is exercised end to end.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from typing import Any

import numpy as np

import conformance_rust as native

from .base import Harness, Unsupported
from .onnx_graphs import OPSET, GraphHarness

# Compiled tract plans kept (least recently used dropped first).
MODEL_CACHE_SIZE = 512


def _step_json(step: dict[str, Any]) -> str:
    return json.dumps(step, sort_keys=True)


def _no_dct_scaling(step: dict[str, Any], data: bytes) -> None:
    """Unsupported for a decode step with ``dct_scale`` > 1 on a JPEG: zune-jpeg (the image
    crate's decoder) has no DCT-domain scaling. Other formats: the knob has no effect."""
    if step.get("op") == "decode" and step.get("dct_scale", 1) != 1 and data[:3] == b"\xff\xd8\xff":
        raise Unsupported("zune-jpeg (the image crate's JPEG decoder) has no DCT scaling "
                          "(libjpeg's scale_denom): decode at full size and resize")


class _RustEngineHarness(Harness):
    """A step engine of the extension (``engine`` = "image" or "fir")."""

    engine = ""

    def versions(self) -> dict[str, str]:
        return dict(native.versions())

    def check(self, step: dict[str, Any]) -> str | None:
        return native.check(self.engine, _step_json(step))

    def describe(self, step: dict[str, Any]) -> str:
        return native.describe(self.engine, _step_json(step))

    def run(self, step: dict[str, Any], value: bytes | np.ndarray) -> np.ndarray:
        if not isinstance(value, np.ndarray):
            value = bytes(value)
            _no_dct_scaling(step, value)
        try:
            return native.run_step(self.engine, _step_json(step), value)
        except native.UnsupportedStep as e:
            raise Unsupported(str(e)) from None

    def run_chain(self, steps: list[dict[str, Any]], data: bytes) -> np.ndarray:
        """A whole pipeline (decode first) on the encoded ``data`` inside Rust, in one call (no
        crossing back to Python between steps, as a Rust deployment runs it); the last output."""
        if steps:
            _no_dct_scaling(steps[0], bytes(data))
        try:
            return native.run_chain(self.engine, json.dumps(steps, sort_keys=True), bytes(data))
        except native.UnsupportedStep as e:
            raise Unsupported(str(e)) from None


class RustImageHarness(_RustEngineHarness):
    """The ``image`` crate (+ ndarray) through the extension; see the module docstring."""

    name = "rust-image"
    summary = "Rust image 0.25: ImageReader (zune-jpeg, png), imageops::resize, to_luma8; ndarray"
    engine = "image"

    def capabilities(self) -> dict[str, str]:
        return {
            "decode": "ImageReader + Limits + apply_orientation, to_rgb8/to_luma8/to_rgba8/16-bit",
            "resize": "imageops::resize Nearest/Triangle/CatmullRom/Gaussian/Lanczos3 "
                      "(no box, hamming, area)",
            "crop": "ndarray slice, centre offset (H - h) / 2; if_smaller=pad on an ndarray canvas",
            "pad": "ndarray constant/edge/reflect",
            "letterbox": "ndarray canvas, offset (H_out - H) / 2",
            "color": "swap, to_luma8 (float32 BT.709), to_rgb8, overlay; no YCbCr",
            "normalize": "f32 arithmetic in the step's order (fused; scale_dtype=float64 as f64 then f32)",
            "layout": "ndarray permuted_axes / insert_axis",
        }


class RustFirHarness(_RustEngineHarness):
    """``fast_image_resize`` for resize, the rest as ``rust-image``."""

    name = "rust-fir"
    summary = "Rust fast_image_resize 5.5 (resize); image 0.25 + ndarray for the other steps"
    engine = "fir"

    def capabilities(self) -> dict[str, str]:
        return {**RustImageHarness().capabilities(),
                "resize": "fast_image_resize Nearest, Convolution/Interpolation(Box, Bilinear, "
                          "Hamming, CatmullRom, Gaussian, Lanczos3) (no area)"}


class TractHarness(GraphHarness):
    """tract-onnx running the :mod:`.onnx_graphs` step graphs (the bytes ONNX Runtime runs)."""

    name = "tract"
    runtime = "tract"
    summary = f"tract-onnx (Rust) running each step as an ONNX graph (opset {OPSET})"

    def __init__(self) -> None:
        self._models: OrderedDict[bytes, Any] = OrderedDict()

    def versions(self) -> dict[str, str]:
        libs = dict(native.versions())
        return {"tract-onnx": libs.get("tract-onnx", "?"), "opset": str(OPSET),
                "conformance-rust-harness": libs.get("conformance-rust-harness", "?")}

    def capabilities(self) -> dict[str, str]:
        return {"decode": "unsupported: ONNX has no image decoder op in the default domain",
                "encode": "unsupported: ONNX has no image encoder",
                "quantize": "the ONNX graph; tract's float -> int32 Cast saturates (+inf gives 255), "
                            "its Round has no float64 kernel",
                "*": "the ONNX Runtime harness's graphs (Resize-19, Slice, Pad, Gather, ...; the "
                     "tensor step reads the .npy in numpy first), run by tract; a graph tract "
                     "rejects is unsupported with its message"}

    def execute(self, graph: bytes, array: np.ndarray) -> np.ndarray:
        try:
            return self.model(graph).run(array)[0]
        except native.UnsupportedStep as e:
            raise Unsupported(str(e)) from None

    def model(self, graph: bytes) -> Any:
        """The cached tract model for a serialized graph (keyed by its SHA-256)."""
        key = hashlib.sha256(graph).digest()
        model = self._models.get(key)
        if model is not None:
            self._models.move_to_end(key)
            return model
        try:
            model = native.OnnxModel(graph)
        except native.UnsupportedStep as e:
            raise Unsupported(str(e)) from None
        self._models[key] = model
        if len(self._models) > MODEL_CACHE_SIZE:
            self._models.popitem(last=False)
        return model
