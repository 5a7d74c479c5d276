//! encode — write the (H, W, C) `u8`/`u16` image to a file with the `image` crate and read the
//! written bytes back with the `image` crate, as a Rust deployment saves its output (both
//! engines share this):
//!
//! - `channel_order` (intent): `rgb` writes the array as it is; `bgr` means the array holds BGR
//!   (e.g. after `color rgb_to_bgr`), so the colour channels are reversed to RGB before writing,
//!   as a Rust user who knows their data is BGR does (alpha and gray stay in place).
//! - `format="png"`: `DynamicImage` (`ImageLuma8`, `ImageLumaA8`, `ImageRgb8`, `ImageRgba8` or
//!   their 16-bit forms) `.write_with_encoder(PngEncoder::new(&mut buf))` (default compression
//!   and adaptive filter), read back with `image::load_from_memory_with_format(.., Png)`, colour
//!   type and depth kept: lossless, so the output equals the input (RGB order).
//! - `format="jpeg"`: `JpegEncoder::new_with_quality(&mut buf, quality)`, the image crate's own
//!   baseline encoder, 8-bit gray or RGB only (16-bit or 2/4-channel images are an error, as in
//!   the spec), read back with the crate's decoder (zune-jpeg). `sampling` is behaviour: the
//!   encoder has no subsampling parameter and writes every component at 1x1 (4:4:4, though its
//!   doc comment says 4:2:2). It is a different encoder (own quantisation rounding, forward
//!   DCT, fixed-point RGB -> YCbCr) and decoder from the reference's libjpeg-turbo pair, so the
//!   pixels differ from the reference's: that difference is the measurement.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::{DynamicImage, ImageFormat};

use crate::color::reverse_first_three;
use crate::decode::{from_dynamic, to_dynamic_u16, to_dynamic_u8};
use crate::error::Result;
use crate::step::Step;
use crate::tensor::Tensor;
use crate::failed;

pub fn describe(step: &Step) -> String {
    let bgr = if step.str("channel_order").unwrap_or("rgb") == "bgr" { "channels reversed to RGB, " } else { "" };
    match step.str("format").unwrap_or("png") {
        "jpeg" => format!(
            "{bgr}DynamicImage::write_with_encoder(JpegEncoder::new_with_quality(&mut buf, {})) (4:4:4 always) + \
             image::load_from_memory_with_format(&buf, ImageFormat::Jpeg)",
            step.usize("quality").unwrap_or(0)),
        _ => format!("{bgr}DynamicImage::write_with_encoder(PngEncoder::new(&mut buf)) + \
                      image::load_from_memory_with_format(&buf, ImageFormat::Png)"),
    }
}

fn encoded_bytes(img: &DynamicImage, step: &Step) -> Result<(Vec<u8>, ImageFormat)> {
    let mut buf = Cursor::new(Vec::new());
    let format = match step.str("format")? {
        "png" => {
            img.write_with_encoder(PngEncoder::new(&mut buf)).map_err(|e| failed!("image PngEncoder: {e}"))?;
            ImageFormat::Png
        }
        "jpeg" => {
            let quality = step.usize("quality")?;
            if !(1..=100).contains(&quality) {
                return Err(failed!("jpeg quality must be 1..100, got {quality}"));
            }
            match img {
                DynamicImage::ImageLuma8(_) | DynamicImage::ImageRgb8(_) => {}
                DynamicImage::ImageLuma16(_) | DynamicImage::ImageRgb16(_) | DynamicImage::ImageLumaA16(_) | DynamicImage::ImageRgba16(_) => {
                    return Err(failed!("JPEG stores 8-bit samples; this image is uint16 (quantize to uint8, or write PNG)"));
                }
                other => {
                    return Err(failed!("JPEG stores gray or RGB; this image has {} channels", other.color().channel_count()));
                }
            }
            img.write_with_encoder(JpegEncoder::new_with_quality(&mut buf, quality as u8))
                .map_err(|e| failed!("image JpegEncoder: {e}"))?;
            ImageFormat::Jpeg
        }
        other => return Err(failed!("unknown encode format {other:?} (png or jpeg)")),
    };
    Ok((buf.into_inner(), format))
}

pub fn run(step: &Step, input: Tensor) -> Result<Tensor> {
    let (_, _, c) = input.hwc("encode")?;
    let bgr = match step.str("channel_order")? {
        "rgb" => false,
        "bgr" => true,
        other => return Err(failed!("unknown encode channel_order {other:?} (rgb or bgr)")),
    };
    let input = if bgr && c >= 3 { reverse_first_three(input)? } else { input };
    let img = match input {
        Tensor::U8(a) => to_dynamic_u8(a)?,
        Tensor::U16(a) => to_dynamic_u16(a)?,
        other => return Err(failed!("encode writes uint8 or uint16 pixels, got {} (quantize first)", other.dtype())),
    };
    let (bytes, format) = encoded_bytes(&img, step)?;
    let back = image::load_from_memory_with_format(&bytes, format)
        .map_err(|e| failed!("reading back the written {format:?} file with the image crate: {e}"))?;
    from_dynamic(back)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::shaped;

    fn step(format: &str, order: &str) -> Step {
        Step::parse(&format!(
            "{{\"op\": \"encode\", \"format\": \"{format}\", \"quality\": 95, \"sampling\": \"420\", \"channel_order\": \"{order}\"}}"))
            .unwrap()
    }

    #[test]
    fn png_round_trips_every_depth_and_channel_count() {
        for c in 1..=4usize {
            let n = 5 * 3 * c;
            let a8 = Tensor::U8(shaped(&[5, 3, c], (0..n).map(|v| (v * 37 % 256) as u8).collect()).unwrap());
            assert_eq!(run(&step("png", "rgb"), a8.clone()).unwrap(), a8);
            let a16 = Tensor::U16(shaped(&[5, 3, c], (0..n).map(|v| (v * 4099 % 65536) as u16).collect()).unwrap());
            assert_eq!(run(&step("png", "rgb"), a16.clone()).unwrap(), a16);
        }
    }

    #[test]
    fn bgr_is_written_as_rgb() {
        let bgr = Tensor::U8(shaped(&[1, 1, 3], vec![1u8, 2, 3]).unwrap());
        assert_eq!(run(&step("png", "bgr"), bgr).unwrap(), Tensor::U8(shaped(&[1, 1, 3], vec![3u8, 2, 1]).unwrap()));
    }

    #[test]
    fn jpeg_refuses_16_bit_and_float() {
        let a16 = Tensor::U16(shaped(&[8, 8, 3], vec![0u16; 192]).unwrap());
        assert!(run(&step("jpeg", "rgb"), a16).unwrap_err().message().contains("8-bit"));
        let f = Tensor::F32(shaped(&[8, 8, 3], vec![0f32; 192]).unwrap());
        assert!(run(&step("png", "rgb"), f).unwrap_err().message().contains("quantize first"));
        let flat = Tensor::U8(shaped(&[8, 8, 3], vec![128u8; 192]).unwrap());
        let Tensor::U8(back) = run(&step("jpeg", "rgb"), flat).unwrap() else { panic!("dtype") };
        assert!(back.iter().all(|&v| v.abs_diff(128) <= 1));
    }
}
