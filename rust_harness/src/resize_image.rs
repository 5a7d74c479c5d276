//! resize with the `image` crate: `imageops::resize(&buffer, w, h, FilterType)` (0.25.10).
//!
//! `filter` (intent): nearest -> `Nearest`, triangle -> `Triangle`, cubic -> `CatmullRom`,
//! gaussian -> `Gaussian`, lanczos -> `Lanczos3`; box, hamming and area are unsupported (the
//! crate has no such filter). Every behaviour knob is the crate's: antialiased support on
//! downscale (also for Triangle and CatmullRom), a = −0.5, 3 Lanczos lobes whatever `lobes`
//! says, f32 arithmetic with the vertical pass first into an f32 buffer, renormalised border
//! windows, round half away from zero, and samples clamped to the type's range ([0, 1] for
//! float images). Same size -> a copy.
//!
//! Buffers: 1..4 channels of u8, u16 or f32 as `Luma`/`LumaA`/`Rgb`/`Rgba` image buffers
//! (the crate never premultiplies alpha); other channel counts and f64 one channel at a time
//! as `Luma<T>`. f16 is unsupported (the crate has no f16 pixels).

use image::imageops::{self, FilterType};
use image::{ImageBuffer, Luma, LumaA, Pixel, Primitive, Rgb, Rgba};
use ndarray::ArrayD;

use crate::error::Result;
use crate::step::{resize_target, Step};
use crate::tensor::{map_channels, shaped, Tensor};
use crate::{failed, unsupported};

/// The crate's filter for the step's `filter`, or why there is none.
pub fn filter_for(step: &Step) -> Result<(FilterType, &'static str)> {
    Ok(match step.str("filter")? {
        "nearest" => (FilterType::Nearest, "Nearest"),
        "triangle" => (FilterType::Triangle, "Triangle"),
        "cubic" => (FilterType::CatmullRom, "CatmullRom"),
        "gaussian" => (FilterType::Gaussian, "Gaussian"),
        "lanczos" => (FilterType::Lanczos3, "Lanczos3"),
        "box" => return Err(unsupported!("the image crate's resize has no box filter (FilterType: Nearest, Triangle, CatmullRom, Gaussian, Lanczos3); use fast_image_resize Convolution(Box)")),
        "hamming" => return Err(unsupported!("the image crate's resize has no Hamming filter; use fast_image_resize Convolution(Hamming)")),
        "area" => return Err(unsupported!("the image crate has no pixel-area resampler (OpenCV INTER_AREA); use OpenCV or the reference")),
        other => return Err(unsupported!("the image crate has no {other:?} filter")),
    })
}

pub fn describe(step: &Step) -> String {
    match filter_for(step) {
        Ok((_, name)) => format!("image::imageops::resize(&img, w, h, FilterType::{name})"),
        Err(e) => e.message().to_string(),
    }
}

/// Resizes an (H, W, C) tensor (module docs).
pub fn run(step: &Step, input: Tensor) -> Result<Tensor> {
    let (filter, _) = filter_for(step)?;
    let (h, w, _) = input.hwc("resize")?;
    let (oh, ow) = resize_target(step, h, w)?;
    if oh == 0 || ow == 0 {
        return Err(failed!("resize to an empty {oh}x{ow} image"));
    }
    let (ow, oh) = (u32::try_from(ow).map_err(|_| failed!("width {ow} too large"))?, u32::try_from(oh).map_err(|_| failed!("height {oh} too large"))?);
    match input {
        Tensor::U8(a) => Ok(Tensor::U8(resize_any(a, ow, oh, filter)?)),
        Tensor::U16(a) => Ok(Tensor::U16(resize_any(a, ow, oh, filter)?)),
        Tensor::F32(a) => Ok(Tensor::F32(resize_any(a, ow, oh, filter)?)),
        Tensor::F64(a) => Ok(Tensor::F64(per_channel(a, ow, oh, filter)?)),
        Tensor::F16(_) => Err(unsupported!("the image crate has no float16 pixel type")),
    }
}

/// 1..4 channels as one image buffer; more as one `Luma` buffer per channel. (The bounds say
/// "T is a sample type the crate has pixels of"; its own trait for that is not public.)
fn resize_any<T>(a: ArrayD<T>, ow: u32, oh: u32, filter: FilterType) -> Result<ArrayD<T>>
where
    T: Primitive + 'static,
    Luma<T>: Pixel<Subpixel = T> + 'static,
    LumaA<T>: Pixel<Subpixel = T> + 'static,
    Rgb<T>: Pixel<Subpixel = T> + 'static,
    Rgba<T>: Pixel<Subpixel = T> + 'static,
{
    match a.shape()[2] {
        1 => resize_pixels::<Luma<T>>(a, ow, oh, filter),
        2 => resize_pixels::<LumaA<T>>(a, ow, oh, filter),
        3 => resize_pixels::<Rgb<T>>(a, ow, oh, filter),
        4 => resize_pixels::<Rgba<T>>(a, ow, oh, filter),
        _ => per_channel(a, ow, oh, filter),
    }
}

fn resize_pixels<P>(a: ArrayD<P::Subpixel>, ow: u32, oh: u32, filter: FilterType) -> Result<ArrayD<P::Subpixel>>
where
    P: Pixel + 'static,
    P::Subpixel: 'static,
{
    let (h, w, c) = (a.shape()[0], a.shape()[1], a.shape()[2]);
    let raw = crate::tensor::into_c_vec(a);
    let buf: ImageBuffer<P, Vec<P::Subpixel>> = ImageBuffer::from_raw(w as u32, h as u32, raw)
        .ok_or_else(|| failed!("a {h}x{w}x{c} array does not fill an image buffer"))?;
    let out = imageops::resize(&buf, ow, oh, filter);
    shaped(&[oh as usize, ow as usize, c], out.into_raw())
}

fn per_channel<T>(a: ArrayD<T>, ow: u32, oh: u32, filter: FilterType) -> Result<ArrayD<T>>
where
    T: Primitive + 'static,
    Luma<T>: Pixel<Subpixel = T> + 'static,
{
    map_channels(&a, |plane| resize_pixels::<Luma<T>>(plane, ow, oh, filter))
}
