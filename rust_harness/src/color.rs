//! color — the `image` crate's conversions (`DynamicImage::to_luma8()`, `to_rgb8()`, ...), and
//! channel reversal written the way a Rust user writes it (swap the samples of each pixel).
//!
//! - rgb_to_bgr / bgr_to_rgb: channels reversed (any sample type).
//! - rgb_to_gray: `to_luma8()` / `to_luma16()` / `to_luma32f()` by sample type: the crate's
//!   luma (0.25.10: its colour-space cast) scales samples to [0, 1] in f32, sums R·kr + G·kg +
//!   B·kb left to right in f32 with moxcms's derived BT.709 coefficients and rounds half away
//!   from zero (the reference's `arithmetic="image_f32"`, preset `image.gray`);
//!   `gray_coefficients`, `arithmetic` and `rounding` are behaviour.
//!   bgr_to_gray reverses the channels first.
//! - gray_to_rgb: `to_rgb8()` etc. (the gray value in every channel).
//! - rgba_to_rgb: `to_rgb8()` (drop) or `imageops::overlay` over an opaque `background`
//!   canvas then `to_rgb8()` (composite, 8-bit only).
//! - rgb_to_ycbcr / ycbcr_to_rgb: unsupported (the crate has no YCbCr conversion).

use image::{imageops, DynamicImage, ImageBuffer, Rgba, RgbaImage};
use ndarray::{ArrayD, Axis};

use crate::decode::{from_dynamic, to_dynamic_u16, to_dynamic_u8};
use crate::error::Result;
use crate::step::{per_channel, Step};
use crate::tensor::{shaped, Tensor};
use crate::{failed, map_dtype, unsupported};

pub fn describe(step: &Step) -> String {
    match step.str("conversion").unwrap_or("") {
        "rgb_to_bgr" | "bgr_to_rgb" => "for p in img.pixels_mut() { p.0.swap(0, 2) }".into(),
        "rgb_to_gray" => "DynamicImage::to_luma8() (to_luma16/to_luma32f by sample type)".into(),
        "bgr_to_gray" => "channels swapped, then DynamicImage::to_luma8()".into(),
        "gray_to_rgb" => "DynamicImage::to_rgb8() (to_rgb16/to_rgb32f by sample type)".into(),
        "rgba_to_rgb" => {
            if step.str("alpha").unwrap_or("drop") == "drop" {
                "DynamicImage::to_rgb8()".into()
            } else {
                "imageops::overlay(&mut background_canvas, &rgba, 0, 0) + to_rgb8()".into()
            }
        }
        other => format!("no call for {other:?}"),
    }
}

/// Whether the step's conversion has a call in the crate (None) or why not.
pub fn check(step: &Step) -> Option<String> {
    match step.str("conversion") {
        Ok("rgb_to_ycbcr") | Ok("ycbcr_to_rgb") => Some("the image crate has no YCbCr colour conversion (its JPEG codec converts internally only)".into()),
        Ok("rgb_to_bgr" | "bgr_to_rgb" | "rgb_to_gray" | "bgr_to_gray" | "gray_to_rgb" | "rgba_to_rgb") => None,
        Ok(other) => Some(format!("the Rust harness has no colour conversion {other:?}")),
        Err(_) => None, // a malformed step fails in run(), naming the knob
    }
}

pub fn run(step: &Step, input: Tensor) -> Result<Tensor> {
    if let Some(reason) = check(step) {
        return Err(unsupported!("{reason}"));
    }
    let conversion = step.str("conversion")?;
    let (_, _, c) = input.hwc("color")?;
    let need = match conversion {
        "gray_to_rgb" => 1,
        "rgba_to_rgb" => 4,
        _ => 3,
    };
    if c != need {
        return Err(failed!("{conversion} needs {need} channel(s), the image has {c}"));
    }
    match conversion {
        "rgb_to_bgr" | "bgr_to_rgb" => reverse_first_three(input),
        "rgb_to_gray" => luma(input),
        "bgr_to_gray" => luma(reverse_first_three(input)?),
        "gray_to_rgb" => with_dynamic(input, |img| match img {
            DynamicImage::ImageLuma16(_) => DynamicImage::ImageRgb16(img.to_rgb16()),
            _ => DynamicImage::ImageRgb8(img.to_rgb8()),
        }),
        _ => {
            if step.str("alpha")? == "drop" {
                return with_dynamic(input, |img| match img {
                    DynamicImage::ImageRgba16(_) => DynamicImage::ImageRgb16(img.to_rgb16()),
                    _ => DynamicImage::ImageRgb8(img.to_rgb8()),
                });
            }
            let Tensor::U8(a) = input else {
                return Err(unsupported!("compositing (imageops::overlay) is written here for 8-bit RGBA only, got {}", input.dtype()));
            };
            let rgb = composite(&to_dynamic_u8(a)?.to_rgba8(), &step.f64_list("background")?)?;
            from_dynamic(DynamicImage::ImageRgb8(rgb))
        }
    }
}

/// `imageops::overlay` of an RGBA image on an opaque canvas of the `background` colour (one
/// value or three, cast with `as`), as RGB: the image crate's own blending and rounding.
pub fn composite(rgba: &RgbaImage, background: &[f64]) -> Result<image::RgbImage> {
    let bg = per_channel(background, 3, "background")?;
    let mut canvas = RgbaImage::from_pixel(rgba.width(), rgba.height(), Rgba([bg[0] as u8, bg[1] as u8, bg[2] as u8, 255]));
    imageops::overlay(&mut canvas, rgba, 0, 0);
    Ok(DynamicImage::ImageRgba8(canvas).to_rgb8())
}

/// The crate's luma of a 3-channel image, by sample type.
fn luma(input: Tensor) -> Result<Tensor> {
    if let Tensor::F32(a) = input {
        let (h, w) = (a.shape()[0], a.shape()[1]);
        let l = float_image(a)?.to_luma32f();
        return Ok(Tensor::F32(shaped(&[h, w, 1], l.into_raw())?));
    }
    with_dynamic(input, |img| match img {
        DynamicImage::ImageRgb16(_) => DynamicImage::ImageLuma16(img.to_luma16()),
        _ => DynamicImage::ImageLuma8(img.to_luma8()),
    })
}

/// The crate's float image types: Rgb32F and Rgba32F.
fn float_image(a: ArrayD<f32>) -> Result<DynamicImage> {
    let (h, w, c) = (a.shape()[0] as u32, a.shape()[1] as u32, a.shape()[2]);
    let raw = crate::tensor::into_c_vec(a);
    let bad = || failed!("the image crate's float images have 3 or 4 channels, got {c}");
    Ok(match c {
        3 => DynamicImage::ImageRgb32F(ImageBuffer::from_raw(w, h, raw).ok_or_else(bad)?),
        4 => DynamicImage::ImageRgba32F(ImageBuffer::from_raw(w, h, raw).ok_or_else(bad)?),
        _ => return Err(bad()),
    })
}

/// Runs `f` on the tensor as a `DynamicImage` (u8 and u16 with 1..4 channels, f32 with 3 or 4)
/// and returns the result as a tensor.
fn with_dynamic(input: Tensor, f: impl FnOnce(DynamicImage) -> DynamicImage) -> Result<Tensor> {
    let img = match input {
        Tensor::U8(a) => to_dynamic_u8(a)?,
        Tensor::U16(a) => to_dynamic_u16(a)?,
        Tensor::F32(a) => float_image(a)?,
        other => return Err(unsupported!("the image crate has no {} image type", other.dtype())),
    };
    from_dynamic(f(img))
}

/// Reverses the first three channels (RGB <-> BGR), keeping any further channel (alpha) in place.
pub fn reverse_first_three(input: Tensor) -> Result<Tensor> {
    let (_, _, c) = input.hwc("channel reversal")?;
    if c < 3 {
        return Err(failed!("channel reversal needs 3 or more channels, the image has {c}"));
    }
    Ok(map_dtype!(input, a => swap_channels(a, 0, 2)))
}

fn swap_channels<T: Clone>(mut a: ArrayD<T>, i: usize, j: usize) -> ArrayD<T> {
    for mut pixel in a.lanes_mut(Axis(2)) {
        pixel.swap(i, j);
    }
    a
}
