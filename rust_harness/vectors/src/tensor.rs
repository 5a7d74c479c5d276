//! `Tensor`: an n-dimensional array of one of the sample types bundles hold.
//!
//! Images are (H, W, C) arrays in C order until a layout step changes that, exactly as the
//! bundle's `.npy` files store them.

use half::f16;
use ndarray::{ArrayD, Axis, IxDyn};

use crate::error::{HarnessError, Result};
use crate::failed;

/// A dense C-order array. The variant is the dtype (numpy names: `uint8`, `uint16`, `float16`,
/// `float32`, `float64`).
#[derive(Debug, Clone, PartialEq)]
pub enum Tensor {
    U8(ArrayD<u8>),
    U16(ArrayD<u16>),
    F16(ArrayD<f16>),
    F32(ArrayD<f32>),
    F64(ArrayD<f64>),
}

/// Applies `$body` to the array inside any variant, binding it to `$a`.
#[macro_export]
macro_rules! each_dtype {
    ($t:expr, $a:ident => $body:expr) => {
        match $t {
            $crate::tensor::Tensor::U8($a) => $body,
            $crate::tensor::Tensor::U16($a) => $body,
            $crate::tensor::Tensor::F16($a) => $body,
            $crate::tensor::Tensor::F32($a) => $body,
            $crate::tensor::Tensor::F64($a) => $body,
        }
    };
}

/// Like [`each_dtype!`], rebuilding a tensor of the same dtype from `$body`'s array.
#[macro_export]
macro_rules! map_dtype {
    ($t:expr, $a:ident => $body:expr) => {
        match $t {
            $crate::tensor::Tensor::U8($a) => $crate::tensor::Tensor::U8($body),
            $crate::tensor::Tensor::U16($a) => $crate::tensor::Tensor::U16($body),
            $crate::tensor::Tensor::F16($a) => $crate::tensor::Tensor::F16($body),
            $crate::tensor::Tensor::F32($a) => $crate::tensor::Tensor::F32($body),
            $crate::tensor::Tensor::F64($a) => $crate::tensor::Tensor::F64($body),
        }
    };
}

impl Tensor {
    /// The numpy name of the dtype.
    pub fn dtype(&self) -> &'static str {
        match self {
            Tensor::U8(_) => "uint8",
            Tensor::U16(_) => "uint16",
            Tensor::F16(_) => "float16",
            Tensor::F32(_) => "float32",
            Tensor::F64(_) => "float64",
        }
    }

    pub fn shape(&self) -> &[usize] {
        each_dtype!(self, a => a.shape())
    }

    /// The (H, W, C) of an image array; an error naming `what` for any other rank.
    pub fn hwc(&self, what: &str) -> Result<(usize, usize, usize)> {
        match *self.shape() {
            [h, w, c] => Ok((h, w, c)),
            ref s => Err(failed!("{what} needs an (H, W, C) image array, got shape {s:?}")),
        }
    }

    /// The same tensor in standard (C) layout, so `as_slice` works on it.
    pub fn into_standard_layout(self) -> Tensor {
        map_dtype!(self, a => if a.is_standard_layout() { a } else { a.as_standard_layout().into_owned() })
    }

    /// A tensor from a flat C-order buffer.
    pub fn from_vec_u8(shape: &[usize], data: Vec<u8>) -> Result<Tensor> {
        Ok(Tensor::U8(shaped(shape, data)?))
    }

    /// Adds a leading axis of length 1.
    pub fn insert_batch_axis(self) -> Tensor {
        map_dtype!(self, a => a.insert_axis(Axis(0)))
    }
}

/// The samples of an array in C order, without copying when it already owns them in that
/// order (a fresh array from a decoder or a previous step), else one copy.
pub fn into_c_vec<T: Clone>(a: ArrayD<T>) -> Vec<T> {
    if a.is_standard_layout() {
        let n = a.len();
        let (data, offset) = a.into_raw_vec_and_offset();
        if offset.unwrap_or(0) == 0 && data.len() == n {
            return data;
        }
        // a standard-layout view into a larger buffer: keep just its elements
        let start = offset.unwrap_or(0);
        return data[start..start + n].to_vec();
    }
    a.iter().cloned().collect()
}

/// Runs `f` on each channel of an (H, W, C) array as an (H, W, 1) array and joins the results
/// along the channel axis (for libraries without a pixel type of C channels).
pub fn map_channels<T: Clone>(a: &ArrayD<T>, mut f: impl FnMut(ArrayD<T>) -> Result<ArrayD<T>>) -> Result<ArrayD<T>> {
    let mut planes = Vec::with_capacity(a.shape()[2]);
    for k in 0..a.shape()[2] {
        planes.push(f(a.index_axis(Axis(2), k).insert_axis(Axis(2)).to_owned())?);
    }
    let views: Vec<_> = planes.iter().map(|p| p.view()).collect();
    ndarray::concatenate(Axis(2), &views).map_err(|e| failed!("joining channels: {e}"))
}

/// A C-order array of `shape` over `data`, or a clear error if the lengths disagree.
pub fn shaped<T>(shape: &[usize], data: Vec<T>) -> Result<ArrayD<T>> {
    let n = data.len();
    ArrayD::from_shape_vec(IxDyn(shape), data)
        .map_err(|e| failed!("{n} samples do not fill shape {shape:?}: {e}"))
}

/// Samples that images can hold, with the conversions the steps need.
pub trait Sample: Copy + Default + Send + Sync + 'static {
    fn to_f32(self) -> f32;
    fn to_f64(self) -> f64;
    /// A fill value in this type: Rust's `as` cast (saturating for integers).
    fn from_f64(v: f64) -> Self;
}

macro_rules! impl_sample {
    ($t:ty, $f32:expr, $f64:expr, $from:expr) => {
        impl Sample for $t {
            fn to_f32(self) -> f32 {
                $f32(self)
            }
            fn to_f64(self) -> f64 {
                $f64(self)
            }
            fn from_f64(v: f64) -> Self {
                $from(v)
            }
        }
    };
}

impl_sample!(u8, |v: u8| v as f32, |v: u8| v as f64, |v: f64| v as u8);
impl_sample!(u16, |v: u16| v as f32, |v: u16| v as f64, |v: f64| v as u16);
impl_sample!(f16, |v: f16| v.to_f32(), |v: f16| v.to_f64(), f16::from_f64);
impl_sample!(f32, |v: f32| v, |v: f32| v as f64, |v: f64| v as f32);
impl_sample!(f64, |v: f64| v as f32, |v: f64| v, |v: f64| v);

impl From<ArrayD<u8>> for Tensor {
    fn from(a: ArrayD<u8>) -> Self {
        Tensor::U8(a)
    }
}

impl From<ArrayD<u16>> for Tensor {
    fn from(a: ArrayD<u16>) -> Self {
        Tensor::U16(a)
    }
}

impl From<ArrayD<f32>> for Tensor {
    fn from(a: ArrayD<f32>) -> Self {
        Tensor::F32(a)
    }
}

impl TryFrom<Tensor> for ArrayD<u8> {
    type Error = HarnessError;
    fn try_from(t: Tensor) -> Result<Self> {
        match t {
            Tensor::U8(a) => Ok(a),
            other => Err(failed!("expected uint8 samples, got {}", other.dtype())),
        }
    }
}
