"""Built-in harnesses: one module per library, loaded on demand.

Each entry maps a harness name to ``module:Class``; a harness whose library is not installed
(the Rust extension before it is built, say) is reported as unavailable with the import error,
never as a crash. ``external`` harnesses are programs (:mod:`.external`), not listed here; the
programs the suite ships (``rust-cli``) are in :mod:`.programs`.
"""

from __future__ import annotations

import importlib

from .base import Harness, Unsupported, resize_target

BUILTIN: dict[str, str] = {
    "opencv": "conformance.harnesses.opencv:OpenCVHarness",
    "pillow": "conformance.harnesses.pillow:PillowHarness",
    "onnxruntime": "conformance.harnesses.onnxruntime:OnnxRuntimeHarness",
    "rust-image": "conformance.harnesses.rust:RustImageHarness",
    "rust-fir": "conformance.harnesses.rust:RustFirHarness",
    "tract": "conformance.harnesses.rust:TractHarness",
    # transformers' PIL-backend image-processor functions (no torch needed)
    "transformers": "conformance.harnesses.transformers:TransformersHarness",
    # torchvision transforms v2 functional: on PIL images, on uint8 tensors, on float tensors
    "torchvision-pil": "conformance.harnesses.torchvision:TorchvisionPilHarness",
    "torchvision-tensor": "conformance.harnesses.torchvision:TorchvisionTensorHarness",
    "torchvision-float": "conformance.harnesses.torchvision:TorchvisionFloatHarness",
    # TensorFlow's decoders (the [tensorflow] extra)
    "tensorflow": "conformance.harnesses.tensorflow:TensorFlowHarness",
    # OpenVINO's PrePostProcessor on the CPU plugin (the [openvino] extra)
    "openvino": "conformance.harnesses.openvino:OpenVINOHarness",
    # libvips through pyvips (the [libvips] extra): decoders, vips_resize, colourspace
    "libvips": "conformance.harnesses.libvips:LibvipsHarness",
}


class HarnessUnavailable(Exception):
    """A built-in harness cannot be loaded here (its library is missing)."""


def load(name: str) -> Harness:
    """Instantiate the harness ``name``: a built-in name, or ``package.module:Class`` for a Python
    harness class of your own (it implements :class:`Harness`). HarnessUnavailable if its library
    (or module) is missing; KeyError for an unknown name."""
    if name in BUILTIN:
        module_name, cls_name = BUILTIN[name].split(":")
    elif ":" in name:
        module_name, cls_name = name.split(":", 1)
    else:
        raise KeyError(f"unknown harness {name!r}; built in: {', '.join(BUILTIN)} "
                       "(or package.module:Class)")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise HarnessUnavailable(f"harness {name!r} is unavailable: {e}") from None
    cls = getattr(module, cls_name, None)
    if cls is None:
        raise HarnessUnavailable(f"harness {name!r}: {module_name} has no {cls_name}")
    return cls()


__all__ = ["BUILTIN", "Harness", "HarnessUnavailable", "Unsupported", "load",
           "resize_target"]
