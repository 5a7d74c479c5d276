//! resize with `fast_image_resize` 5.5: `Resizer::new().resize(&src, &mut dst,
//! &ResizeOptions::new().resize_alg(alg))`, default options otherwise (so RGBA and gray+alpha
//! are resized with alpha premultiplied, the crate's default `mul_div_alpha`).
//!
//! `filter` (intent) and `antialias` (behaviour the crate exposes: `Convolution` widens the
//! support on downscale, `Interpolation` keeps it fixed, as OpenCV does):
//! nearest -> `Nearest`; box -> `Box`; triangle -> `Bilinear`; hamming -> `Hamming`;
//! cubic -> `CatmullRom` (a = −0.5 whatever `cubic_a` says; `Mitchell` is a B/C cubic no
//! `cubic_a` describes); gaussian -> `Gaussian` (σ = 0.5); lanczos -> `Lanczos3` (3 lobes);
//! area is unsupported (`SuperSampling(f, m)` is a nearest pre-reduction followed by a
//! convolution, a speed trade no knob set of the reference describes, so no step maps to it).
//! The crate's arithmetic is its own: f64 weights quantised to i16 with a per-axis precision,
//! vertical pass first with u8 between the passes (shared/notes: resize-semantics §4).
//!
//! Pixel types: U8, U8x2, U8x3, U8x4, U16…U16x4, F32…F32x4 for 1..4 channels; other channel
//! counts one channel at a time. f16 and f64 are unsupported (no such pixel types).

use fast_image_resize::images::Image;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use ndarray::ArrayD;

use crate::error::Result;
use crate::step::{resize_target, Step};
use crate::tensor::{map_channels, shaped, Tensor};
use crate::{failed, unsupported};

/// The crate's algorithm for the step, with its name for reports.
pub fn algorithm_for(step: &Step) -> Result<(ResizeAlg, String)> {
    let (filter, name) = match step.str("filter")? {
        "nearest" => return Ok((ResizeAlg::Nearest, "ResizeAlg::Nearest".into())),
        "box" => (FilterType::Box, "Box"),
        "triangle" => (FilterType::Bilinear, "Bilinear"),
        "hamming" => (FilterType::Hamming, "Hamming"),
        "cubic" => (FilterType::CatmullRom, "CatmullRom"),
        "gaussian" => (FilterType::Gaussian, "Gaussian"),
        "lanczos" => (FilterType::Lanczos3, "Lanczos3"),
        "area" => return Err(unsupported!("fast_image_resize has no pixel-area resampler (OpenCV INTER_AREA); Convolution(Box) is the closest on integer downscales")),
        other => return Err(unsupported!("fast_image_resize has no {other:?} filter")),
    };
    if step.bool("antialias")? {
        Ok((ResizeAlg::Convolution(filter), format!("ResizeAlg::Convolution(FilterType::{name})")))
    } else {
        Ok((ResizeAlg::Interpolation(filter), format!("ResizeAlg::Interpolation(FilterType::{name})")))
    }
}

pub fn describe(step: &Step) -> String {
    match algorithm_for(step) {
        Ok((_, name)) => format!("fast_image_resize::Resizer::resize(&src, &mut dst, &ResizeOptions::new().resize_alg({name}))"),
        Err(e) => e.message().to_string(),
    }
}

/// Resizes an (H, W, C) tensor (module docs).
pub fn run(step: &Step, input: Tensor) -> Result<Tensor> {
    let (alg, _) = algorithm_for(step)?;
    let (h, w, _) = input.hwc("resize")?;
    let (oh, ow) = resize_target(step, h, w)?;
    if oh == 0 || ow == 0 {
        return Err(failed!("resize to an empty {oh}x{ow} image"));
    }
    match input {
        Tensor::U8(a) => Ok(Tensor::U8(resize_any(a, oh, ow, alg)?)),
        Tensor::U16(a) => Ok(Tensor::U16(resize_any(a, oh, ow, alg)?)),
        Tensor::F32(a) => Ok(Tensor::F32(resize_any(a, oh, ow, alg)?)),
        Tensor::F16(_) => Err(unsupported!("fast_image_resize has no float16 pixel type")),
        Tensor::F64(_) => Err(unsupported!("fast_image_resize has no float64 pixel type (F32 at most)")),
    }
}

/// A sample type fast_image_resize has pixel types for.
trait FirSample: Copy + Default + 'static {
    /// The pixel type of `channels` samples of this type (1..4).
    fn pixel_type(channels: usize) -> PixelType;
    /// The samples as the crate's byte buffer (native byte order).
    fn into_bytes(data: Vec<Self>) -> Vec<u8>;
    fn from_bytes(bytes: Vec<u8>) -> Vec<Self>;
}

impl FirSample for u8 {
    fn pixel_type(channels: usize) -> PixelType {
        [PixelType::U8, PixelType::U8x2, PixelType::U8x3, PixelType::U8x4][channels - 1]
    }
    fn into_bytes(data: Vec<u8>) -> Vec<u8> {
        data
    }
    fn from_bytes(bytes: Vec<u8>) -> Vec<u8> {
        bytes
    }
}

macro_rules! fir_sample {
    ($t:ty, [$p1:ident, $p2:ident, $p3:ident, $p4:ident]) => {
        impl FirSample for $t {
            fn pixel_type(channels: usize) -> PixelType {
                [PixelType::$p1, PixelType::$p2, PixelType::$p3, PixelType::$p4][channels - 1]
            }
            fn into_bytes(data: Vec<Self>) -> Vec<u8> {
                data.iter().flat_map(|v| v.to_ne_bytes()).collect()
            }
            fn from_bytes(bytes: Vec<u8>) -> Vec<Self> {
                const N: usize = std::mem::size_of::<$t>();
                bytes.chunks_exact(N).map(|c| <$t>::from_ne_bytes(c.try_into().expect("chunk"))).collect()
            }
        }
    };
}

fir_sample!(u16, [U16, U16x2, U16x3, U16x4]);
fir_sample!(f32, [F32, F32x2, F32x3, F32x4]);

fn resize_any<T: FirSample>(a: ArrayD<T>, oh: usize, ow: usize, alg: ResizeAlg) -> Result<ArrayD<T>> {
    let c = a.shape()[2];
    if (1..=4).contains(&c) {
        return resize_pixels(a, oh, ow, alg);
    }
    map_channels(&a, |plane| resize_pixels(plane, oh, ow, alg))
}

fn resize_pixels<T: FirSample>(a: ArrayD<T>, oh: usize, ow: usize, alg: ResizeAlg) -> Result<ArrayD<T>> {
    let (h, w, c) = (a.shape()[0], a.shape()[1], a.shape()[2]);
    let pixel_type = T::pixel_type(c);
    let bytes = T::into_bytes(crate::tensor::into_c_vec(a));
    let src = Image::from_vec_u8(w as u32, h as u32, bytes, pixel_type)
        .map_err(|e| failed!("fast_image_resize source image: {e}"))?;
    let mut dst = Image::new(ow as u32, oh as u32, pixel_type);
    Resizer::new()
        .resize(&src, &mut dst, &ResizeOptions::new().resize_alg(alg))
        .map_err(|e| failed!("fast_image_resize: {e}"))?;
    shaped(&[oh, ow, c], T::from_bytes(dst.into_vec()))
}
