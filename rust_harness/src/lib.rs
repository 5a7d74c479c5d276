//! The Rust harness of the image preprocessing conformance suite.
//!
//! Step implementations in plain modules ([`decode`], [`resize_image`], [`resize_fir`],
//! [`color`], [`geometry`], [`normalize`], [`layout`], [`model`]), dispatched by [`engine`];
//! [`bundle`], [`npy`] and [`protocol`] read bundles and speak the external-harness protocol,
//! with [`safeio`]'s rules for files from strangers (checked names, bounded reads of regular
//! files only, atomic writes).
//! Two thin front ends use them: the PyO3 extension (`python` feature, built by maturin) and
//! the `conformance-rust-harness` CLI. Nothing here knows about the Python reference: the
//! harness reads the bundle's JSON steps as any port would.

pub mod error;
pub mod tensor;
pub mod step;
pub mod decode;
pub mod resize_image;
pub mod resize_fir;
pub mod color;
pub mod geometry;
pub mod normalize;
pub mod layout;
pub mod engine;
pub mod model;
pub mod safeio;
pub mod npy;
pub mod bundle;
pub mod protocol;

#[cfg(feature = "python")]
mod python;
