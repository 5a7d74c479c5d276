//! crop, pad and letterbox on (H, W, C) arrays, written as a Rust port does with `ndarray`
//! (neither the image crate nor fast_image_resize has a centre crop or a border call).
//!
//! - crop: `a.slice(s![top..top + h, left..left + w, ..])`; the centre offset is `(H − h) / 2`
//!   in integer arithmetic (floor), the way Rust code writes it (`offset_rounding` is
//!   behaviour). A window outside the image is an error (ndarray would panic), except in centre
//!   mode with `if_smaller="pad"` (intent: the user asks for a padded window, as torchvision
//!   `F.center_crop` / timm `CenterCropOrPad` / transformers `center_crop` give): each axis
//!   shorter than the window is first padded to the window length with `value` (the same
//!   canvas-and-assign as letterbox), d = window − side pixels, `d / 2` before for
//!   `pad_extra="after"` (the odd pixel bottom/right, torchvision) or `(d + 1) / 2` for
//!   `"before"` (transformers' PIL backend); the other axis is then cropped as above.
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
                let pad = if step.has("if_smaller") && step.str("if_smaller").unwrap_or("error") == "pad" {
                    format!("; an axis shorter than the window first padded with value on an ndarray canvas (odd pixel {})",
                            step.str("pad_extra").unwrap_or("after"))
                } else {
                    String::new()
                };
                format!("ndarray a.slice(s![top..top + h, left..left + w, ..]), top = (H - h) / 2 (integer division){pad}")
            } else {
                "ndarray a.slice(s![top..top + h, left..left + w, ..])".into()
            }
        }
        "pad" => format!("ndarray index mapping ({} border)", step.str("mode").unwrap_or("constant")),
        _ => "ndarray canvas filled with value, image assigned at ((H_out - H) / 2, (W_out - W) / 2)".into(),
    }
}

pub fn crop(step: &Step, input: Tensor) -> Result<Tensor> {
    let (h, w, c) = input.hwc("crop")?;
    let (ch, cw) = (step.usize("height")?, step.usize("width")?);
    let center = step.str("mode")? == "center";
    if center && (ch > h || cw > w) && knob_or(step, "if_smaller", "error")? == "pad" {
        let extra = knob_or(step, "pad_extra", "after")?;
        let (top, left) = (pad_before(ch.saturating_sub(h), extra)?, pad_before(cw.saturating_sub(w), extra)?);
        let (ph, pw) = (h.max(ch), w.max(cw));
        let padded = map_dtype!(input, a => {
            let fill = fills(step, c)?;
            let mut canvas = ArrayD::from_shape_fn(IxDyn(&[ph, pw, c]), |i| fill[i[2]]);
            canvas.slice_mut(s![top..top + h, left..left + w, ..]).assign(&a);
            canvas
        });
        return crop_window(padded, ch, cw, ((ph - ch) / 2, (pw - cw) / 2));
    }
    let (top, left) = if center {
        if ch > h || cw > w {
            return Err(failed!("centre crop {ch}x{cw} is larger than the {h}x{w} image"));
        }
        ((h - ch) / 2, (w - cw) / 2)
    } else {
        (step.usize("top")?, step.usize("left")?)
    };
    crop_window(input, ch, cw, (top, left))
}

fn crop_window(input: Tensor, ch: usize, cw: usize, (top, left): (usize, usize)) -> Result<Tensor> {
    let (h, w, _) = input.hwc("crop")?;
    if top + ch > h || left + cw > w {
        return Err(failed!("crop window rows {top}..{} x columns {left}..{} is outside the {h}x{w} image", top + ch, left + cw));
    }
    Ok(map_dtype!(input, a => a.slice(s![top..top + ch, left..left + cw, ..]).to_owned().into_dyn()))
}

/// A string knob, or `default` when the step predates it (bundles written before the knob).
fn knob_or<'a>(step: &'a Step, knob: &str, default: &'a str) -> Result<&'a str> {
    if step.has(knob) { step.str(knob) } else { Ok(default) }
}

/// Padding placed before (top/left) when an axis is `d` pixels shorter than the window:
/// `after` = d / 2 (odd pixel after: torchvision `F.center_crop` padding_ltrb), `before` =
/// (d + 1) / 2 (transformers `image_transforms.center_crop`: `ceil(d / 2)`).
fn pad_before(d: usize, pad_extra: &str) -> Result<usize> {
    match pad_extra {
        "after" => Ok(d / 2),
        "before" => Ok(d.div_ceil(2)),
        other => Err(failed!("unknown pad_extra {other:?} (after or before)")),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    fn crop_step(knobs: &str) -> Step {
        Step::parse(&format!("{{\"op\": \"crop\", \"mode\": \"center\", {knobs}}}")).unwrap()
    }

    fn image(h: usize, w: usize, c: usize) -> Tensor {
        Tensor::U8(Array3::from_shape_fn((h, w, c), |(y, x, k)| (1 + 10 * y + x + 100 * k) as u8).into_dyn())
    }

    fn u8s(t: Tensor) -> Array3<u8> {
        match t {
            Tensor::U8(a) => a.into_dimensionality().unwrap(),
            other => panic!("expected uint8, got {}", other.dtype()),
        }
    }

    #[test]
    fn pad_one_axis_crop_the_other() {
        // 2x5 image, 5x3 window: rows padded 3 (1 before, 2 after), columns cropped at (5-3)/2 = 1
        let s = crop_step("\"height\": 5, \"width\": 3, \"if_smaller\": \"pad\", \"pad_extra\": \"after\", \"value\": [0]");
        let out = u8s(crop(&s, image(2, 5, 1)).unwrap());
        let rows: Vec<Vec<u8>> = out.outer_iter().map(|r| r.iter().cloned().collect()).collect();
        assert_eq!(rows, vec![vec![0, 0, 0], vec![2, 3, 4], vec![12, 13, 14], vec![0, 0, 0], vec![0, 0, 0]]);
        // the odd pixel before: 2 rows before, 1 after
        let s = crop_step("\"height\": 5, \"width\": 3, \"if_smaller\": \"pad\", \"pad_extra\": \"before\", \"value\": [0]");
        let out = u8s(crop(&s, image(2, 5, 1)).unwrap());
        assert_eq!(out[[2, 0, 0]], 2);
        assert_eq!(out[[3, 0, 0]], 12);
        assert_eq!(out[[1, 0, 0]], 0);
        assert_eq!(out[[4, 0, 0]], 0);
    }

    #[test]
    fn pad_fills_each_channel_with_its_value() {
        let s = crop_step("\"height\": 3, \"width\": 4, \"if_smaller\": \"pad\", \"pad_extra\": \"after\", \"value\": [7, 8, 9]");
        let out = u8s(crop(&s, image(3, 2, 3)).unwrap());
        assert_eq!(out.shape(), &[3, 4, 3]);
        assert_eq!((out[[0, 0, 0]], out[[0, 0, 1]], out[[0, 0, 2]]), (7, 8, 9));
        assert_eq!((out[[0, 3, 0]], out[[0, 3, 1]], out[[0, 3, 2]]), (7, 8, 9));
        assert_eq!(out[[0, 1, 0]], 1);
        assert_eq!(out[[0, 2, 2]], 202); // column 1, channel 2: 1 + 1 + 200
    }

    #[test]
    fn a_larger_window_is_an_error_without_pad() {
        let s = crop_step("\"height\": 5, \"width\": 3, \"if_smaller\": \"error\"");
        assert!(crop(&s, image(2, 5, 1)).is_err());
        // a step written before the knob existed keeps the old rule
        let s = crop_step("\"height\": 5, \"width\": 3");
        assert!(crop(&s, image(2, 5, 1)).is_err());
    }
}
