"""The Rust harness as a Python extension (built by maturin from ``rust_harness/``).

- ``run_step(engine, step_json, value)``: one pipeline step with ``engine`` ``"image"`` (the
  ``image`` crate) or ``"fir"`` (``fast_image_resize`` for resize); ``value`` is the encoded
  file (``bytes``) for decode, a numpy array otherwise; returns a new numpy array.
- ``run_chain(engine, steps_json, data)``: a whole pipeline (JSON list of steps, decode first)
  on the encoded ``data`` inside Rust, each step on the previous output; returns the last one.
- ``check(engine, step_json)`` -> None or the reason the step is unsupported;
  ``describe(engine, step_json)`` -> the Rust call it maps to.
- ``OnnxModel(bytes_or_path)``: an ONNX model run by tract; ``.run(array)`` -> list of outputs.
- ``versions()``: the linked crates' versions.

Errors are raised as ``UnsupportedStep``, ``RejectedInput`` or ``StepFailed`` (all subclasses of
``RustHarnessError``); a panic in Rust arrives as ``StepFailed`` with its message. The GIL is
released while Rust works.
"""

from ._native import (OnnxModel, RejectedInput, RustHarnessError, StepFailed, UnsupportedStep,
                      check, describe, run_chain, run_step, versions)

__all__ = ["OnnxModel", "RejectedInput", "RustHarnessError", "StepFailed", "UnsupportedStep",
           "check", "describe", "run_chain", "run_step", "versions"]
