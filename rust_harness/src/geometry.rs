//! crop, pad and letterbox on (H, W, C) arrays, written as a Rust port does with `ndarray`
//! (neither the image crate nor fast_image_resize has a centre crop or a border call).
//!
//! - crop: `a.slice(s![top..top + h, left..left + w, ..])`; the centre offset is `(H − h) / 2`
//!   in integer arithmetic (floor), the way Rust code writes it (`offset_rounding` is
//!   behaviour). A window outside the image is an error (ndarray would panic).
//! - pad: `constant` fills `value` (one value or one per channel, cast with `as`), `edge`
//!   repeats the border sample, `reflect` mirrors without repeating it (numpy "reflect",
//!   OpenCV BORDER_REFLECT_101); a reflect pad as wide as the image side is an error.
//! - letterbox: a canvas of the output size filled with `value`, the image copied in at
//!   `((H_out − H) / 2, (W_out − W) / 2)` (floor) or the top-left corner.

use ndarray::{s, Array3, ArrayD, Axis, IxDyn};

use crate::error::Result;
use crate::step::{per_channel, Step};
use crate::tensor::{Sample, Tensor};
use crate::{failed, map_dtype};

pub fn describe(step: &Step) -> String {
    match step.op() {
        "crop" => {
            if step.str("mode").unwrap_or("center") == "center" {
                "ndarray a.slice(s![top..top + h, left..left + w, ..]), top = (H - h) / 2 (integer division)".into()
            } else {
                "ndarray a.slice(s![top..top + h, left..left + w, ..])".into()
            }
        }
        "pad" => format!("ndarray index mapping ({} border)", step.str("mode").unwrap_or("constant")),
        _ => "ndarray canvas filled with value, image assigned at ((H_out - H) / 2, (W_out - W) / 2)".into(),
    }
}

pub fn crop(step: &Step, input: Tensor) -> Result<Tensor> {
    let (h, w, _) = input.hwc("crop")?;
    let (ch, cw) = (step.usize("height")?, step.usize("width")?);
    let (top, left) = if step.str("mode")? == "center" {
        if ch > h || cw > w {
            return Err(failed!("centre crop {ch}x{cw} is larger than the {h}x{w} image"));
        }
        ((h - ch) / 2, (w - cw) / 2)
    } else {
        (step.usize("top")?, step.usize("left")?)
    };
    if top + ch > h || left + cw > w {
        return Err(failed!("crop window rows {top}..{} x columns {left}..{} is outside the {h}x{w} image", top + ch, left + cw));
    }
    Ok(map_dtype!(input, a => a.slice(s![top..top + ch, left..left + cw, ..]).to_owned().into_dyn()))
}

/// One fill value per channel in the sample type.
fn fills<T: Sample>(step: &Step, channels: usize) -> Result<Vec<T>> {
    Ok(per_channel(&step.f64_list("value")?, channels, "fill")?.into_iter().map(T::from_f64).collect())
}

pub fn pad(step: &Step, input: Tensor) -> Result<Tensor> {
    let (top, bottom, left, right) = (step.usize("top")?, step.usize("bottom")?, step.usize("left")?, step.usize("right")?);
    let mode = step.str("mode")?;
    let (h, w, _) = input.hwc("pad")?;
    if mode == "reflect" && ((top.max(bottom) >= h && top.max(bottom) > 0) || (left.max(right) >= w && left.max(right) > 0)) {
        return Err(failed!("a reflect pad must be narrower than the image side ({h}x{w} image, pads {top}/{bottom}/{left}/{right})"));
    }
    if mode != "constant" && (h == 0 || w == 0) {
        return Err(failed!("cannot {mode}-pad an empty image"));
    }
    Ok(map_dtype!(input, a => pad_array(step, a, [top, bottom, left, right], mode)?))
}

/// The source index of output index `i` (−pad ≤ i − pad < n + pad) along one axis.
fn source_index(i: isize, n: isize, mode: &str) -> Option<usize> {
    if (0..n).contains(&i) {
        return Some(i as usize);
    }
    match mode {
        "edge" => Some(i.clamp(0, n - 1) as usize),
        "reflect" => Some(if i < 0 { -i } else { 2 * (n - 1) - i } as usize),
        _ => None,
    }
}

fn pad_array<T: Sample>(step: &Step, a: ArrayD<T>, pads: [usize; 4], mode: &str) -> Result<ArrayD<T>> {
    let (h, w, c) = (a.shape()[0], a.shape()[1], a.shape()[2]);
    let [top, bottom, left, right] = pads;
    let fill = if mode == "constant" { fills::<T>(step, c)? } else { vec![T::default(); c] };
    let a = a.into_dimensionality::<ndarray::Ix3>().map_err(|e| failed!("{e}"))?;
    let (oh, ow) = (h + top + bottom, w + left + right);
    let out = Array3::from_shape_fn((oh, ow, c), |(y, x, k)| {
        let sy = source_index(y as isize - top as isize, h as isize, mode);
        let sx = source_index(x as isize - left as isize, w as isize, mode);
        match (sy, sx) {
            (Some(sy), Some(sx)) => a[[sy, sx, k]],
            _ => fill[k],
        }
    });
    Ok(out.into_dyn())
}

pub fn letterbox(step: &Step, input: Tensor) -> Result<Tensor> {
    let (h, w, c) = input.hwc("letterbox")?;
    let (oh, ow) = (step.usize("height")?, step.usize("width")?);
    if h > oh || w > ow {
        return Err(failed!("image {h}x{w} does not fit the letterbox {oh}x{ow}"));
    }
    let (top, left) = if step.str("placement")? == "center" { ((oh - h) / 2, (ow - w) / 2) } else { (0, 0) };
    Ok(map_dtype!(input, a => {
        let fill = fills(step, c)?;
        let mut canvas = ArrayD::from_shape_fn(IxDyn(&[oh, ow, c]), |i| fill[i[2]]);
        canvas.slice_mut(s![top..top + h, left..left + w, ..]).assign(&a);
        canvas
    }))
}

/// Channel count of the last axis (used by normalize and layout).
pub fn channels<T>(a: &ArrayD<T>) -> usize {
    a.len_of(Axis(a.ndim() - 1))
}
