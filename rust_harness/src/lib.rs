//! The Rust harness of the image preprocessing conformance suite.
//!
//! Step implementations in plain modules ([`decode`], [`resize_image`], [`resize_fir`],
//! [`color`], [`geometry`], [`normalize`], [`layout`], [`model`]; the way back:
//! [`tensor_input`], [`denormalize`], [`quantize`], [`encode`]), dispatched by [`engine`];
//! [`bundle`], [`npy`] and [`protocol`] read bundles and speak the external-harness protocol,
//! with [`safeio`]'s rules for files from strangers (checked names, bounded reads of regular
//! files only, atomic writes); the first three come from the porter's crate
//! `preprocessing-vectors` (`vectors/`), as do [`error`] and [`tensor`].
//! Two thin front ends use them: the PyO3 extension (`python` feature, built by maturin) and
//! the `conformance-rust-harness` CLI. Nothing here knows about the Python reference: the
//! harness reads the bundle's JSON steps as any port would.

// The bundle reader (manifest, SHA-256 checks, `.npy`, safe file access), the error type and
// `Tensor` live in the porter's crate `preprocessing-vectors`; re-exported under their old paths.
pub use preprocessing_vectors::{bundle, error, npy, safeio, tensor};
pub use preprocessing_vectors::{each_dtype, failed, map_dtype, unsupported};

pub mod step;
pub mod decode;
pub mod resize_image;
pub mod resize_fir;
pub mod color;
pub mod geometry;
pub mod normalize;
pub mod layout;
pub mod tensor_input;
pub mod denormalize;
pub mod quantize;
pub mod encode;
pub mod engine;
pub mod model;
pub mod protocol;

#[cfg(feature = "python")]
mod python;
