//! The two step engines of the Rust harness, and the one dispatch both front ends use.
//!
//! - [`Engine::Image`] (`rust-image`): decode, resize and colour with the `image` crate;
//!   crop/pad/letterbox, normalize and layout with `ndarray`.
//! - [`Engine::Fir`] (`rust-fir`): the same, with resize by `fast_image_resize`.
//!
//! Both share the way back (model output -> pixels): `tensor` ([`tensor_input`], a `.npy` input
//! read like decode's encoded file), `denormalize`, `quantize` (f32/f64 arithmetic and Rust's
//! `as` casts) and `encode` (the `image` crate's PNG and JPEG encoders, read back by the crate).
//!
//! Every step is `check`ed (None, or the reason it is unsupported), `describe`d (the library
//! call it maps to) and `run`. The knob rule is the suite's: an *intent* knob with no call makes
//! the step unsupported; a *behaviour* knob with no parameter gets the library's fixed behaviour
//! (the score shows the difference). The PyO3 module and the CLI call exactly these functions,
//! so their outputs are the same bytes.

use crate::error::{HarnessError, Result};
use crate::step::Step;
use crate::tensor::Tensor;
use crate::{color, decode, denormalize, encode, geometry, layout, normalize, quantize, resize_fir, resize_image, tensor_input, unsupported};

/// The ops the engines know.
pub const OPS: [&str; 12] = ["decode", "resize", "crop", "pad", "letterbox", "color", "normalize", "layout",
                             "tensor", "denormalize", "quantize", "encode"];

/// The ops whose input is the case's file (bytes), not an array: the first step of a pipeline.
pub const FILE_OPS: [&str; 2] = ["decode", "tensor"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Image,
    Fir,
}

/// What a step runs on: the input file for decode (encoded image) and tensor (`.npy`), an array
/// otherwise.
pub enum StepInput<'a> {
    Bytes(&'a [u8]),
    Array(Tensor),
}

impl Engine {
    pub fn from_name(name: &str) -> Result<Engine> {
        match name {
            "image" | "rust-image" => Ok(Engine::Image),
            "fir" | "rust-fir" => Ok(Engine::Fir),
            other => Err(HarnessError::Failed(format!("unknown engine {other:?} (image or fir)"))),
        }
    }

    /// The harness name results are filed under.
    pub fn harness_name(self) -> &'static str {
        match self {
            Engine::Image => "rust-image",
            Engine::Fir => "rust-fir",
        }
    }

    /// None if the engine can run `step`, else why not.
    pub fn check(self, step: &Step) -> Option<String> {
        match step.op() {
            "resize" => {
                let filter = match self {
                    Engine::Image => resize_image::filter_for(step).err(),
                    Engine::Fir => resize_fir::algorithm_for(step).err(),
                };
                // Only a missing library call is "unsupported"; a malformed knob fails in run().
                if let Some(HarnessError::Unsupported(reason)) = filter {
                    return Some(reason);
                }
                let sized = ["height", "shorter_side", "longer_side"].iter().any(|k| step.has(k));
                (!sized).then(|| "resize step gives no target size".to_string())
            }
            "color" => color::check(step),
            op if OPS.contains(&op) => None,
            op => Some(format!("the Rust harness has no op {op:?}")),
        }
    }

    /// The library call `step` maps to.
    pub fn describe(self, step: &Step) -> String {
        match step.op() {
            "decode" => decode::describe(step),
            "resize" => match self {
                Engine::Image => resize_image::describe(step),
                Engine::Fir => resize_fir::describe(step),
            },
            "crop" | "pad" | "letterbox" => geometry::describe(step),
            "color" => color::describe(step),
            "normalize" => normalize::describe(step),
            "layout" => layout::describe(step),
            "tensor" => tensor_input::describe(step),
            "denormalize" => denormalize::describe(step),
            "quantize" => quantize::describe(step),
            "encode" => encode::describe(step),
            op => format!("no op {op:?}"),
        }
    }

    /// Runs one step.
    pub fn run(self, step: &Step, input: StepInput<'_>) -> Result<Tensor> {
        if let Some(reason) = self.check(step) {
            return Err(unsupported!("{reason}"));
        }
        let array = match input {
            StepInput::Bytes(data) if step.op() == "decode" => return decode::run(step, data),
            StepInput::Bytes(data) if step.op() == "tensor" => return tensor_input::run(step, data),
            StepInput::Bytes(_) => return Err(HarnessError::Failed(format!("{} needs an array input, got encoded bytes", step.op()))),
            StepInput::Array(_) if FILE_OPS.contains(&step.op()) => {
                return Err(HarnessError::Failed(format!("{} needs the input file's bytes, got an array", step.op())))
            }
            StepInput::Array(t) => t.into_standard_layout(),
        };
        match step.op() {
            "resize" => match self {
                Engine::Image => resize_image::run(step, array),
                Engine::Fir => resize_fir::run(step, array),
            },
            "crop" => geometry::crop(step, array),
            "pad" => geometry::pad(step, array),
            "letterbox" => geometry::letterbox(step, array),
            "color" => color::run(step, array),
            "normalize" => normalize::run(step, array),
            "denormalize" => denormalize::run(step, array),
            "quantize" => quantize::run(step, array),
            "encode" => encode::run(step, array),
            _ => layout::run(step, array),
        }
    }
}

impl Engine {
    /// Runs a whole pipeline on an input file (an encoded image for decode, `.npy` bytes for
    /// tensor), each step on the previous step's output (the chained mode of one case, without
    /// crossing back to the caller between steps): what a Rust deployment's preprocessing
    /// function does. Returns the last step's output; the error of the first step that fails,
    /// prefixed with its index and op.
    pub fn run_chain(self, steps: &[Step], data: &[u8]) -> Result<Tensor> {
        let mut value: Option<Tensor> = None;
        for (index, step) in steps.iter().enumerate() {
            let input = match value.take() {
                None if index == 0 => StepInput::Bytes(data),
                None => unreachable!("every step before produced a value"),
                Some(t) => StepInput::Array(t),
            };
            let out = self.run(step, input).map_err(|e| e.with_prefix(&format!("step {index} ({})", step.op())))?;
            value = Some(out);
        }
        value.ok_or_else(|| HarnessError::Failed("a pipeline needs at least one step".into()))
    }
}

/// Runs `f`, turning a panic inside a library into a `Failed` error with the panic's message,
/// so one bad case never takes the process (or the Python interpreter) down.
pub fn catching_panics<T>(what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".into());
            Err(HarnessError::Failed(format!("{what} panicked: {msg}")))
        }
    }
}

/// The versions of the libraries the harness links, as Cargo.lock resolved them (build.rs).
pub fn library_versions() -> Vec<(String, String)> {
    let mut out = vec![("conformance-rust-harness".to_string(), env!("CARGO_PKG_VERSION").to_string())];
    for pair in env!("CONFORMANCE_LINKED_VERSIONS").split(',').filter(|p| !p.is_empty()) {
        if let Some((name, version)) = pair.split_once('=') {
            out.push((name.to_string(), version.to_string()));
        }
    }
    out
}
