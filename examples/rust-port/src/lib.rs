//! A worked example port: `examples/torchvision_224.toml` in Rust.
//!
//! The pipeline is torchvision's classic ImageNet eval transform on Pillow images:
//!
//! ```text
//! Image.open(f).convert("RGB")          decode     image crate, to_rgb8, no EXIF rotation
//! Resize(256)                           resize     shorter side 256, other = floor(other*256/shorter),
//!                                                  antialiased bilinear (Pillow's triangle filter)
//! CenterCrop(224)                       crop       top = round_half_even((H - 224) / 2)
//! ToTensor + Normalize(mean, std)       normalize  x / 255 in f32, then (x - mean) / std in f32
//! unsqueeze(0)                          layout     (1, 3, 224, 224)
//! ```
//!
//! [`preprocess`] is what a deployment calls. [`run_step`] is the same code seen one step at a
//! time, reading each step's knobs from the conformance bundle: `tests/vectors.rs` hands it to
//! `preprocessing_vectors`, which feeds every step the *expected* output of the step before
//! (isolated mode) and compares the result within the step's tolerance.
//!
//! The port is honest: a knob value it does not implement gives [`Outcome::Unsupported`] with
//! the reason, never a silent approximation.
//!
//! With the cargo feature `planted-mistake` the resize is fast_image_resize's
//! `ResizeAlg::Interpolation(FilterType::Bilinear)`: bilinear sampling *without* antialiasing
//! (two taps per output pixel whatever the scale, what `cv2.resize(..., INTER_LINEAR)` does), the
//! most common porting mistake for this pipeline. The vectors catch it at the resize step.

use fast_image_resize::images::Image;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::RgbImage;
use ndarray::{Array3, Array4, Axis};
use preprocessing_vectors::{Input, Outcome, Step, Tensor};
use serde_json::Value;

/// ImageNet channel means and standard deviations (torchvision's reference scripts).
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

/// The whole pipeline on an encoded PNG/JPEG: a (1, 3, 224, 224) float32 tensor.
pub fn preprocess(encoded: &[u8]) -> Result<Array4<f32>, String> {
    let rgb = decode(encoded)?;
    let resized = resize_shorter_side(&rgb, 256)?;
    let cropped = center_crop(&resized, 224, 224, Rounding::HalfEven)?;
    let normalized = normalize(&cropped, 255.0, &IMAGENET_MEAN, &IMAGENET_STD)?;
    Ok(to_batched_chw(&normalized))
}

// ------------------------------------------------------------------------------------------
// The steps, as plain functions on (H, W, C) arrays.

/// Decodes PNG or JPEG bytes to (H, W, 3) RGB u8 with the image crate: `load_from_memory` then
/// `to_rgb8` (gray is replicated, alpha dropped without compositing, palettes expanded). The
/// image crate does not apply EXIF orientation unless asked (`DynamicImage::apply_orientation`),
/// as Pillow's `Image.open().convert("RGB")` does not. Only 8-bit images: 16-bit samples are
/// reduced differently by each library (Pillow keeps the high byte, the image crate rounds
/// x/257), so the port refuses them instead of guessing.
pub fn decode(encoded: &[u8]) -> Result<Array3<u8>, String> {
    let img = image::load_from_memory(encoded).map_err(|e| format!("image::load_from_memory: {e}"))?;
    if img.color().bytes_per_pixel() / img.color().channel_count() != 1 {
        return Err(format!("{:?} image: the port decodes 8-bit images only", img.color()));
    }
    Ok(rgb_to_array(img.to_rgb8()))
}

/// Resizes so that the shorter side becomes `target` and the other side is
/// floor(other * target / shorter) (torchvision `Resize(int)`: `int(size * long / short)`),
/// computed exactly in integers.
pub fn resize_shorter_side(hwc: &Array3<u8>, target: usize) -> Result<Array3<u8>, String> {
    let (h, w, _) = hwc.dim();
    if h == 0 || w == 0 {
        return Err(format!("cannot resize an empty {h}x{w} image"));
    }
    let (oh, ow) = if h <= w { (target, w * target / h) } else { (h * target / w, target) };
    resize(hwc, oh, ow)
}

/// Bilinear resize of an (H, W, 3) u8 image to (oh, ow) with fast_image_resize 5.5:
/// `ResizeAlg::Convolution(FilterType::Bilinear)`, a triangle filter whose support grows with
/// the downscale factor (antialiased, as Pillow's `Image.resize(..., BILINEAR)`), in two
/// separable passes. It runs on `F32x3` pixels and rounds once at the end (half up, clamped to
/// 0..=255): Pillow computes the same filter in 22-bit fixed point with u8 between its passes,
/// and the two agree within 1 level, the step's tolerance. fast_image_resize's own u8 kernels
/// (`U8x3`, fixed point) were measured up to 2 levels away from Pillow on this bundle's chelsea
/// case, outside that tolerance.
///
/// With the feature `planted-mistake`: `ResizeAlg::Interpolation(FilterType::Bilinear)`, the
/// same filter at a fixed support of one source pixel (no antialiasing).
pub fn resize(hwc: &Array3<u8>, oh: usize, ow: usize) -> Result<Array3<u8>, String> {
    let (h, w, c) = hwc.dim();
    if c != 3 {
        return Err(format!("resize expects 3 channels, got {c}"));
    }
    if oh == 0 || ow == 0 {
        return Err(format!("resize to an empty {oh}x{ow} image"));
    }
    let size = |n: usize| u32::try_from(n).map_err(|_| format!("side {n} too large"));
    let bytes: Vec<u8> = hwc.iter().flat_map(|&x| f32::from(x).to_ne_bytes()).collect();
    let src = Image::from_vec_u8(size(w)?, size(h)?, bytes, PixelType::F32x3)
        .map_err(|e| format!("fast_image_resize source image: {e}"))?;
    let mut dst = Image::new(size(ow)?, size(oh)?, PixelType::F32x3);
    Resizer::new()
        .resize(&src, &mut dst, &ResizeOptions::new().resize_alg(resize_algorithm()))
        .map_err(|e| format!("fast_image_resize: {e}"))?;
    let samples: Vec<u8> = dst.into_vec().chunks_exact(4)
        .map(|b| (f32::from_ne_bytes([b[0], b[1], b[2], b[3]]) + 0.5).floor().clamp(0.0, 255.0) as u8)
        .collect();
    Array3::from_shape_vec((oh, ow, 3), samples).map_err(|e| e.to_string())
}

#[cfg(not(feature = "planted-mistake"))]
fn resize_algorithm() -> ResizeAlg {
    ResizeAlg::Convolution(FilterType::Bilinear)
}

#[cfg(feature = "planted-mistake")]
fn resize_algorithm() -> ResizeAlg {
    ResizeAlg::Interpolation(FilterType::Bilinear) // the planted mistake: no antialiasing
}

/// How a centre crop's offset (H - h) / 2 is rounded when H - h is odd.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rounding {
    /// (H - h) // 2: transformers' torchvision backend `int((H - h) / 2.0)`.
    Floor,
    /// Half to even: torchvision `F.center_crop`, `int(round((H - h) / 2.0))` (Python's round).
    HalfEven,
    /// Half up: floor((H - h) / 2 + 1/2).
    HalfUp,
}

fn half_offset(extra: usize, rounding: Rounding) -> usize {
    let q = extra / 2;
    let odd = extra % 2 == 1;
    match rounding {
        Rounding::Floor => q,
        Rounding::HalfUp => q + usize::from(odd),
        Rounding::HalfEven => q + usize::from(odd && q % 2 == 1),
    }
}

/// The centred (ch, cw) window of an (H, W, C) image; top = rounding((H - ch) / 2), likewise
/// left. A window larger than the image is an error (torchvision would pad; this pipeline asks
/// for `if_smaller = "error"`).
pub fn center_crop(hwc: &Array3<u8>, ch: usize, cw: usize, rounding: Rounding) -> Result<Array3<u8>, String> {
    let (h, w, _) = hwc.dim();
    if ch > h || cw > w {
        return Err(format!("centre crop {ch}x{cw} is larger than the {h}x{w} image"));
    }
    let (top, left) = (half_offset(h - ch, rounding), half_offset(w - cw, rounding));
    Ok(hwc.slice(ndarray::s![top..top + ch, left..left + cw, ..]).to_owned())
}

/// torchvision `ToTensor` + `Normalize`: y = x / divisor, then (y - mean) / std, every
/// operation in f32 (mean and std rounded to f32 first, as torchvision's float32 tensors).
/// `mean`/`std` hold one value per channel or one value for all.
pub fn normalize(hwc: &Array3<u8>, divisor: f32, mean: &[f32], std: &[f32]) -> Result<Array3<f32>, String> {
    let c = hwc.dim().2;
    let per_channel = |v: &[f32], name: &str| -> Result<Vec<f32>, String> {
        match v.len() {
            1 => Ok(vec![v[0]; c]),
            n if n == c => Ok(v.to_vec()),
            n => Err(format!("{name} has {n} values for {c} channels")),
        }
    };
    let (mean, std) = (per_channel(mean, "mean")?, per_channel(std, "std")?);
    let mut out = hwc.mapv(|x| f32::from(x) / divisor);
    for (k, mut plane) in out.axis_iter_mut(Axis(2)).enumerate() {
        plane.mapv_inplace(|y| (y - mean[k]) / std[k]);
    }
    Ok(out)
}

/// (H, W, C) to (1, C, H, W), contiguous.
pub fn to_batched_chw(hwc: &Array3<f32>) -> Array4<f32> {
    hwc.view().permuted_axes([2, 0, 1]).as_standard_layout().into_owned().insert_axis(Axis(0))
}

fn rgb_to_array(img: RgbImage) -> Array3<u8> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    Array3::from_shape_vec((h, w, 3), img.into_raw()).expect("an RgbImage holds h*w*3 bytes")
}

// ------------------------------------------------------------------------------------------
// The same steps driven by a bundle's step dicts (see `manifest.json` -> pipelines).

/// Runs one bundle step: reads the knobs the port depends on, refuses (`Unsupported`) any value
/// it does not implement, and calls the functions above.
pub fn run_step(step: &Step) -> Result<Outcome, String> {
    let knobs = step.knobs;
    let result = match step.op {
        "decode" => decode_step(knobs, &step.input),
        "resize" => resize_step(knobs, hwc_u8(&step.input)?),
        "crop" => crop_step(knobs, hwc_u8(&step.input)?),
        "normalize" => normalize_step(knobs, hwc_u8(&step.input)?),
        "layout" => layout_step(knobs, &step.input),
        other => Err(Refusal::Unsupported(format!("the port has no {other:?} step"))),
    };
    match result {
        Ok(tensor) => Ok(Outcome::Output(tensor)),
        Err(Refusal::Unsupported(why)) => Ok(Outcome::Unsupported(why)),
        Err(Refusal::Failed(why)) => Err(why),
    }
}

/// Why a step produced no output: the port does not implement the knobs, or it failed.
enum Refusal {
    Unsupported(String),
    Failed(String),
}

impl From<String> for Refusal {
    fn from(why: String) -> Refusal {
        Refusal::Failed(why)
    }
}

type StepResult = Result<Tensor, Refusal>;

/// The knob's value must be one of `implemented` (JSON values), else the step is unsupported.
fn require(knobs: &Value, key: &str, implemented: &[Value]) -> Result<(), Refusal> {
    let value = knobs.get(key).unwrap_or(&Value::Null);
    if implemented.contains(value) {
        return Ok(());
    }
    let list: Vec<String> = implemented.iter().map(Value::to_string).collect();
    Err(Refusal::Unsupported(format!("{key} = {value}: the port implements {}", list.join(" or "))))
}

fn str_knob<'a>(knobs: &'a Value, key: &str) -> Result<&'a str, Refusal> {
    knobs.get(key).and_then(Value::as_str).ok_or_else(|| Refusal::Failed(format!("knob {key} missing or not a string")))
}

fn floats(knobs: &Value, key: &str) -> Result<Vec<f32>, Refusal> {
    let values = knobs.get(key).and_then(Value::as_array).ok_or_else(|| Refusal::Failed(format!("knob {key} missing or not a list")))?;
    values
        .iter()
        .map(|v| v.as_f64().map(|x| x as f32).ok_or_else(|| Refusal::Failed(format!("knob {key}: {v} is not a number"))))
        .collect()
}

fn hwc_u8(input: &Input) -> Result<Array3<u8>, String> {
    match input {
        Input::Tensor(Tensor::U8(a)) if a.ndim() == 3 => {
            a.view().into_dimensionality().map(|v| v.to_owned()).map_err(|e| e.to_string())
        }
        Input::Tensor(t) => Err(format!("expected an (H, W, C) uint8 image, got {}", describe(t))),
        Input::Encoded(_) => Err("expected a tensor, got encoded bytes".into()),
    }
}

fn describe(t: &Tensor) -> String {
    let (dtype, shape) = match t {
        Tensor::U8(a) => ("uint8", a.shape()),
        Tensor::U16(a) => ("uint16", a.shape()),
        Tensor::F16(a) => ("float16", a.shape()),
        Tensor::F32(a) => ("float32", a.shape()),
        Tensor::F64(a) => ("float64", a.shape()),
    };
    format!("{dtype} {shape:?}")
}

fn decode_step(knobs: &Value, input: &Input) -> StepResult {
    require(knobs, "output", &["rgb".into()])?;
    require(knobs, "orientation", &["ignore".into()])?;
    require(knobs, "alpha", &["drop".into()])?;
    let Input::Encoded(bytes) = input else { return Err(Refusal::Failed("decode expects encoded bytes".into())) };
    Ok(Tensor::U8(decode(bytes)?.into_dyn()))
}

fn resize_step(knobs: &Value, hwc: Array3<u8>) -> StepResult {
    require(knobs, "filter", &["triangle".into()])?; // the bilinear family
    require(knobs, "antialias", &[true.into()])?;
    for key in ["height", "width", "longer_side", "max_size"] {
        require(knobs, key, &[Value::Null])?;
    }
    require(knobs, "size_formula", &["product".into()])?;
    require(knobs, "size_rounding", &["floor".into()])?;
    let target = knobs.get("shorter_side").and_then(Value::as_u64).ok_or_else(|| Refusal::Unsupported("the port resizes by shorter_side only".into()))?;
    Ok(Tensor::U8(resize_shorter_side(&hwc, target as usize)?.into_dyn()))
}

fn crop_step(knobs: &Value, hwc: Array3<u8>) -> StepResult {
    require(knobs, "mode", &["center".into()])?;
    require(knobs, "if_smaller", &["error".into()])?;
    let rounding = match str_knob(knobs, "offset_rounding")? {
        "floor" => Rounding::Floor,
        "round" => Rounding::HalfEven,
        "round_half_up" => Rounding::HalfUp,
        other => return Err(Refusal::Unsupported(format!("offset_rounding = {other:?}"))),
    };
    let side = |key| knobs.get(key).and_then(Value::as_u64).map(|n| n as usize).ok_or_else(|| Refusal::Failed(format!("knob {key} missing")));
    Ok(Tensor::U8(center_crop(&hwc, side("height")?, side("width")?, rounding)?.into_dyn()))
}

fn normalize_step(knobs: &Value, hwc: Array3<u8>) -> StepResult {
    require(knobs, "order", &["scale_first".into()])?;
    require(knobs, "compute_dtype", &["float32".into()])?;
    require(knobs, "scale_dtype", &["compute".into()])?;
    require(knobs, "dtype", &["float32".into()])?;
    let divisor = knobs.get("divisor").and_then(Value::as_f64).ok_or_else(|| Refusal::Unsupported("the port divides (divisor, torchvision ToTensor); x * scale is not implemented".into()))?;
    let out = normalize(&hwc, divisor as f32, &floats(knobs, "mean")?, &floats(knobs, "std")?)?;
    Ok(Tensor::F32(out.into_dyn()))
}

fn layout_step(knobs: &Value, input: &Input) -> StepResult {
    require(knobs, "layout", &["chw".into()])?;
    require(knobs, "batch", &[true.into()])?;
    require(knobs, "channel_order", &["keep".into()])?;
    let Input::Tensor(Tensor::F32(a)) = input else { return Err(Refusal::Failed("layout expects the float32 output of normalize".into())) };
    let hwc: Array3<f32> = a.view().into_dimensionality().map_err(|e| e.to_string())?.to_owned();
    Ok(Tensor::F32(to_batched_chw(&hwc).into_dyn()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn centre_offsets_round_like_python() {
        // extra = 2 * offset: Python round((H - h) / 2.0) for extra 1, 3, 5, 7 is 0, 2, 2, 4
        let half_even: Vec<usize> = [1, 3, 5, 7, 8].iter().map(|&e| half_offset(e, Rounding::HalfEven)).collect();
        assert_eq!(half_even, [0, 2, 2, 4, 4]);
        let floor: Vec<usize> = [1, 3, 5, 7, 8].iter().map(|&e| half_offset(e, Rounding::Floor)).collect();
        assert_eq!(floor, [0, 1, 2, 3, 4]);
        let half_up: Vec<usize> = [1, 3, 5, 7, 8].iter().map(|&e| half_offset(e, Rounding::HalfUp)).collect();
        assert_eq!(half_up, [1, 2, 3, 4, 4]);
    }

    #[test]
    fn knob_values_the_port_lacks_are_unsupported_not_approximated() {
        let image = Tensor::U8(Array3::<u8>::zeros((300, 400, 3)).into_dyn());
        let knobs = json!({"op": "resize", "filter": "cubic", "antialias": true, "shorter_side": 256,
                           "height": null, "width": null, "longer_side": null, "max_size": null,
                           "size_formula": "product", "size_rounding": "floor"});
        let step = Step { case_id: "c", pipeline_id: "p", index: 1, op: "resize", knobs: &knobs,
                          input: Input::Tensor(image) };
        assert_eq!(run_step(&step), Ok(Outcome::Unsupported(
            "filter = \"cubic\": the port implements \"triangle\"".into())));
    }

    #[test]
    fn shorter_side_resize_floors_the_other_side() {
        // 312x264 portrait: width 264 -> 256, height floor(312 * 256 / 264) = floor(302.5) = 302
        let out = resize_shorter_side(&Array3::<u8>::zeros((312, 264, 3)), 256).unwrap();
        assert_eq!(out.dim(), (302, 256, 3));
    }
}
