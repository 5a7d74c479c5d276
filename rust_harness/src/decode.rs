//! decode — the `image` crate as a Rust user calls it (`image` 0.25.10: zune-jpeg 0.5 for JPEG,
//! the `png` crate for PNG).
//!
//! `ImageReader::new(Cursor::new(bytes)).with_guessed_format()`, with `Limits` (largest side and
//! largest allocation derived from the step's `max_pixels`, so a decompression bomb is an error,
//! not an out-of-memory kill), `into_decoder()`, the W·H check against `max_pixels` before any
//! pixel is decoded, `decoder.orientation()`, `DynamicImage::from_decoder`, then
//! `apply_orientation` when `orientation="apply"`, then the output conversion:
//!
//! - `output` (intent): rgb -> `into_rgb8()`; bgr -> the same with the colour channels reversed;
//!   gray -> `into_luma8()` (the image crate's float32 BT.709 luma, the reference's
//!   `gray_arithmetic="image_f32"`, computed from 16-bit samples directly; `gray_coefficients`/`gray_arithmetic` are
//!   behaviour and get that); unchanged -> the decoded colour type (L8, La8, Rgb8, Rgba8, their
//!   16-bit forms).
//! - `alpha` (intent for keep): `keep` -> `into_rgba8()`/`into_luma_alpha8()` when the image has
//!   alpha (the png crate always expands tRNS to alpha: `trns` is behaviour); `drop` -> no alpha
//!   channel; `composite` -> `imageops::overlay` of the RGBA image on an opaque `background`
//!   canvas (the crate's own blending), then the output conversion.
//! - `depth16`: `keep` (intent: uint16 samples) -> the 16-bit conversions (`into_rgb16()`, ...) for
//!   16-bit files; any other value gets the crate's 16->8 rule, `(v + 128) / 257`.
//! - JPEG knobs (`idct`, `upsampling`, `ycc`, `block_smoothing`, ...) are behaviour: zune-jpeg
//!   runs its own (the reference's `image` decode preset models them). `dct_scale` > 1 (intent:
//!   the output size) on a JPEG is unsupported: zune-jpeg has no DCT-domain scaling.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageError, ImageReader, Limits};
use ndarray::ArrayD;

use crate::error::{HarnessError, Result};
use crate::step::Step;
use crate::tensor::{shaped, Tensor};
use crate::{failed, unsupported};

/// The largest sample size (bytes per pixel) the image crate allocates for the formats we decode
/// (RGBA, 16 bits): `max_alloc` is `max_pixels` times this.
const MAX_BYTES_PER_PIXEL: u64 = 8;

/// The decode step, described as the calls it makes.
pub fn describe(step: &Step) -> String {
    let mut parts = vec!["ImageReader::new(Cursor::new(bytes)).with_guessed_format() + limits(Limits) + into_decoder()".to_string()];
    if step.str("orientation").unwrap_or("") == "apply" {
        parts.push("decoder.orientation() + apply_orientation".into());
    }
    let alpha = step.str("alpha").unwrap_or("drop");
    if alpha == "composite" {
        parts.push("imageops::overlay on the background if it has alpha".into());
    }
    let keep = alpha == "keep";
    parts.push(
        match step.str("output").unwrap_or("rgb") {
            "rgb" => if keep { "into_rgba8() if it has alpha, else into_rgb8()" } else { "into_rgb8()" },
            "bgr" => if keep { "into_rgba8()/into_rgb8(), colour channels reversed" } else { "into_rgb8(), channels reversed" },
            "gray" => if keep { "into_luma_alpha8() if it has alpha, else into_luma8()" } else { "into_luma8()" },
            _ => "the decoded colour type (16-bit as 8 unless depth16=keep)",
        }
        .into(),
    );
    parts.join(" + ")
}

/// A decoding failure of the image crate: limits and malformed data are rejections of the input;
/// anything else (an unsupported format) too, as a decoder refusing the file.
fn rejected(e: ImageError) -> HarnessError {
    HarnessError::Rejected(format!("image: {e}"))
}

/// The SOF marker of a JPEG that uses arithmetic coding (SOF9..SOF11, SOF13..SOF15: T.81
/// Table B.1) or the lossless process (SOF3, Annex H), found by walking the marker segments up
/// to the first SOS; None for anything else (Huffman DCT JPEGs, other formats, data too
/// malformed to walk: the decoder judges those).
fn jpeg_arithmetic_sof(data: &[u8]) -> Option<u8> {
    if data.len() < 4 || data[0] != 0xFF || data[1] != 0xD8 {
        return None;
    }
    let mut pos = 2;
    while pos + 4 <= data.len() && data[pos] == 0xFF {
        let marker = data[pos + 1];
        if marker == 0xFF {
            pos += 1; // fill byte
            continue;
        }
        if marker == 0xDA || marker == 0xD9 {
            return None; // SOS or EOI: no arithmetic frame header before the scans
        }
        if matches!(marker, 0xC3 | 0xC9..=0xCB | 0xCD..=0xCF) {
            return Some(marker);
        }
        let length = usize::from(data[pos + 2]) << 8 | usize::from(data[pos + 3]);
        if length < 2 {
            return None;
        }
        pos += 2 + length;
    }
    None
}

/// Decodes `data` as the step asks (see the module docs).
pub fn run(step: &Step, data: &[u8]) -> Result<Tensor> {
    if let Some(marker) = jpeg_arithmetic_sof(data) {
        // a valid file the library cannot decode: unsupported, not a rejection of bad input
        if marker == 0xC3 {
            return Err(unsupported!(
                "the image crate's JPEG decoder (zune-jpeg) has no lossless JPEG decoding (SOF3, T.81 Annex H); \
                 libjpeg-turbo 3 (Pillow, OpenCV) and the reference decode it"
            ));
        }
        return Err(unsupported!(
            "the image crate's JPEG decoder (zune-jpeg) has no arithmetic decoding (SOF 0x{marker:02X}, T.81 Annex D); \
             libjpeg-turbo (Pillow, OpenCV) and the reference decode it"
        ));
    }
    if step.has("dct_scale") && step.usize("dct_scale")? != 1 && data.starts_with(&[0xFF, 0xD8, 0xFF]) {
        // an intent knob (the output size) the crate cannot express; other formats: no effect
        return Err(unsupported!(
            "zune-jpeg (the image crate's JPEG decoder) has no DCT scaling (libjpeg's scale_denom, \
             Pillow's draft, cv2's IMREAD_REDUCED_*): decode at full size and resize"
        ));
    }
    if data.len() >= 12 && &data[0..4] == b"RIFF" && &data[8..12] == b"WEBP" {
        return Err(unsupported!(
            "this harness builds the image crate with its png and jpeg features only: no WebP decoder \
             (image-webp); libwebp (Pillow, OpenCV) and the reference decode it"
        ));
    }
    let max_pixels = step.usize("max_pixels")? as u64;
    let side = u32::try_from(max_pixels).unwrap_or(u32::MAX);
    let mut limits = Limits::default();
    limits.max_image_width = Some(side);
    limits.max_image_height = Some(side);
    limits.max_alloc = Some(max_pixels.saturating_mul(MAX_BYTES_PER_PIXEL));

    let mut reader = ImageReader::new(Cursor::new(data))
        .with_guessed_format()
        .map_err(|e| HarnessError::Rejected(format!("image: cannot read the input: {e}")))?;
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(rejected)?;
    let (w, h) = decoder.dimensions();
    if u64::from(w) * u64::from(h) > max_pixels {
        return Err(HarnessError::Rejected(format!(
            "image is {w}x{h} = {} pixels, over max_pixels = {max_pixels}",
            u64::from(w) * u64::from(h)
        )));
    }
    let orientation = decoder.orientation().map_err(rejected)?;
    let mut img = DynamicImage::from_decoder(decoder).map_err(rejected)?;
    if step.str("orientation")? == "apply" {
        img.apply_orientation(orientation);
    }
    convert(step, img)
}

fn is_gray(img: &DynamicImage) -> bool {
    matches!(
        img,
        DynamicImage::ImageLuma8(_) | DynamicImage::ImageLumaA8(_) | DynamicImage::ImageLuma16(_) | DynamicImage::ImageLumaA16(_)
    )
}

fn is_16bit(img: &DynamicImage) -> bool {
    img.color().bytes_per_pixel() / img.color().channel_count() == 2
}

/// The output conversion of a decoded image (module docs).
fn convert(step: &Step, img: DynamicImage) -> Result<Tensor> {
    let output = step.str("output")?;
    let alpha = step.str("alpha")?;
    let depth16 = step.str("depth16")?;
    let gray_file = is_gray(&img);
    let gray16_rule = match step.str("depth16_gray")? {
        "same" => depth16,
        rule => rule,
    };
    let keep16 = is_16bit(&img) && (if gray_file { gray16_rule } else { depth16 }) == "keep";
    let has_alpha = img.color().has_alpha();
    let keep_alpha = has_alpha && alpha == "keep";

    let img = if has_alpha && alpha == "composite" {
        let rgb = crate::color::composite(&img.to_rgba8(), &step.f64_list("background")?)?;
        if gray_file && output == "unchanged" {
            DynamicImage::ImageLuma8(DynamicImage::ImageRgb8(rgb).into_luma8())
        } else {
            DynamicImage::ImageRgb8(rgb)
        }
    } else {
        img
    };

    match output {
        "rgb" | "bgr" => {
            let mut t = match (keep_alpha, keep16) {
                (true, true) => from_dynamic(DynamicImage::ImageRgba16(img.into_rgba16())),
                (true, false) => from_dynamic(DynamicImage::ImageRgba8(img.into_rgba8())),
                (false, true) => from_dynamic(DynamicImage::ImageRgb16(img.into_rgb16())),
                (false, false) => from_dynamic(DynamicImage::ImageRgb8(img.into_rgb8())),
            }?;
            if output == "bgr" {
                t = crate::color::reverse_first_three(t)?;
            }
            Ok(t)
        }
        "gray" => match (keep_alpha, keep16) {
            (true, true) => from_dynamic(DynamicImage::ImageLumaA16(img.into_luma_alpha16())),
            (true, false) => from_dynamic(DynamicImage::ImageLumaA8(img.into_luma_alpha8())),
            (false, true) => from_dynamic(DynamicImage::ImageLuma16(img.into_luma16())),
            (false, false) => from_dynamic(DynamicImage::ImageLuma8(img.into_luma8())),
        },
        "unchanged" => {
            let out = match (gray_file, keep_alpha, keep16) {
                (true, true, true) => DynamicImage::ImageLumaA16(img.into_luma_alpha16()),
                (true, true, false) => DynamicImage::ImageLumaA8(img.into_luma_alpha8()),
                (true, false, true) => DynamicImage::ImageLuma16(img.into_luma16()),
                (true, false, false) => DynamicImage::ImageLuma8(img.into_luma8()),
                (false, true, true) => DynamicImage::ImageRgba16(img.into_rgba16()),
                (false, true, false) => DynamicImage::ImageRgba8(img.into_rgba8()),
                (false, false, true) => DynamicImage::ImageRgb16(img.into_rgb16()),
                (false, false, false) => DynamicImage::ImageRgb8(img.into_rgb8()),
            };
            from_dynamic(out)
        }
        other => Err(failed!("unknown decode output {other:?}")),
    }
}

/// An (H, W, C) tensor holding a decoded image's samples.
pub fn from_dynamic(img: DynamicImage) -> Result<Tensor> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let c = img.color().channel_count() as usize;
    let shape = [h, w, c];
    Ok(match img {
        DynamicImage::ImageLuma8(b) => Tensor::U8(shaped(&shape, b.into_raw())?),
        DynamicImage::ImageLumaA8(b) => Tensor::U8(shaped(&shape, b.into_raw())?),
        DynamicImage::ImageRgb8(b) => Tensor::U8(shaped(&shape, b.into_raw())?),
        DynamicImage::ImageRgba8(b) => Tensor::U8(shaped(&shape, b.into_raw())?),
        DynamicImage::ImageLuma16(b) => Tensor::U16(shaped(&shape, b.into_raw())?),
        DynamicImage::ImageLumaA16(b) => Tensor::U16(shaped(&shape, b.into_raw())?),
        DynamicImage::ImageRgb16(b) => Tensor::U16(shaped(&shape, b.into_raw())?),
        DynamicImage::ImageRgba16(b) => Tensor::U16(shaped(&shape, b.into_raw())?),
        DynamicImage::ImageRgb32F(b) => Tensor::F32(shaped(&shape, b.into_raw())?),
        DynamicImage::ImageRgba32F(b) => Tensor::F32(shaped(&shape, b.into_raw())?),
        other => return Err(failed!("the image crate returned an unknown colour type {:?}", other.color())),
    })
}

/// A `DynamicImage` over an (H, W, C) tensor with 1..4 channels, one macro arm per sample type.
macro_rules! to_dynamic {
    ($name:ident, $t:ty, $bits:literal, [$l:ident, $la:ident, $rgb:ident, $rgba:ident]) => {
        #[doc = concat!("A `DynamicImage` over an (H, W, C) ", $bits, "-bit tensor with 1..4 channels.")]
        pub fn $name(a: ArrayD<$t>) -> Result<DynamicImage> {
            let (h, w, c) = match *a.shape() {
                [h, w, c] => (h as u32, w as u32, c),
                ref s => return Err(failed!("expected an (H, W, C) image, got shape {s:?}")),
            };
            let raw = crate::tensor::into_c_vec(a);
            let bad = || failed!("{c} channels do not fill a {w}x{h} image buffer");
            Ok(match c {
                1 => DynamicImage::$l(image::ImageBuffer::from_raw(w, h, raw).ok_or_else(bad)?),
                2 => DynamicImage::$la(image::ImageBuffer::from_raw(w, h, raw).ok_or_else(bad)?),
                3 => DynamicImage::$rgb(image::ImageBuffer::from_raw(w, h, raw).ok_or_else(bad)?),
                4 => DynamicImage::$rgba(image::ImageBuffer::from_raw(w, h, raw).ok_or_else(bad)?),
                _ => return Err(failed!("the image crate has no {c}-channel {}-bit image type", $bits)),
            })
        }
    };
}

to_dynamic!(to_dynamic_u8, u8, "8", [ImageLuma8, ImageLumaA8, ImageRgb8, ImageRgba8]);
to_dynamic!(to_dynamic_u16, u16, "16", [ImageLuma16, ImageLumaA16, ImageRgb16, ImageRgba16]);
