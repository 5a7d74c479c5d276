//! Run the image preprocessing conformance vectors against a Rust port, as `cargo test`.
//!
//! A *bundle* (`manifest.json`, `inputs/`, `expected/`) holds cases: an encoded input file, a
//! pipeline of steps (decode, resize, crop, ...; each a JSON object with every knob spelled
//! out) and the expected output of every step as a `.npy` file, with the tolerance a
//! conforming output must meet. This crate reads a bundle without Python ([`Bundle`]: every
//! path confined to the bundle, every file checked against its SHA-256, `.npy` headers checked
//! before any data is read), runs a port's step function on every step ([`run_isolated`],
//! [`run_chained`]) and reports each output outside its tolerance with the case, the step, the
//! largest error and where it is ([`Mismatch`]). [`vectors_test!`] turns that into a `#[test]`.
//!
//! ```no_run
//! use preprocessing_vectors::{vectors_test, Input, Outcome, Step};
//!
//! fn my_port(step: &Step) -> Result<Outcome, String> {
//!     match (step.op, &step.input) {
//!         // ("decode", Input::Encoded(bytes)) => Ok(Outcome::Output(my_decode(bytes, step.knobs)?)),
//!         (op, _) => Ok(Outcome::Unsupported(format!("{op} is not ported yet"))),
//!     }
//! }
//!
//! vectors_test!(every_case_of_the_default_bundle, "../vectors/default", my_port);
//! ```

pub mod error;
pub mod tensor;
pub mod safeio;
pub mod npy;
pub mod bundle;
pub mod check;

pub use bundle::Bundle;
pub use check::{compare, run_chained, run_isolated, Difference, Input, Mismatch, Outcome, Report, Step};
pub use error::{Error, HarnessError};
pub use tensor::Tensor;

/// Defines a `#[test]` named `$name` that runs every case of the bundle at `$bundle` (a path)
/// through `$port` (a `FnMut(&Step) -> Result<Outcome, String>`) in isolated mode
/// ([`run_isolated`]) and fails with every mismatch, one per line.
#[macro_export]
macro_rules! vectors_test {
    ($name:ident, $bundle:expr, $port:expr) => {
        #[test]
        fn $name() {
            $crate::run_isolated($bundle, $port).expect("bundle readable").assert_ok();
        }
    };
}

/// Like [`vectors_test!`] in chained mode ([`run_chained`]): each step gets the port's own
/// previous output.
#[macro_export]
macro_rules! vectors_test_chained {
    ($name:ident, $bundle:expr, $port:expr) => {
        #[test]
        fn $name() {
            $crate::run_chained($bundle, $port).expect("bundle readable").assert_ok();
        }
    };
}
