//! denormalize — undo a normalisation on a float (H, W, C) `ndarray`, the way a Rust port writes
//! the formula: every sample widened to the compute type (`f16::to_f32`, `as f32`, `as f64`),
//! then one rounded operation at a time (Rust never fuses `a * b + c` unless `mul_add` is
//! written), constants cast to the compute type first:
//!
//! - `mode="mean_std"`: `(x * std[c] + mean[c]) / scale` per channel (torchvision-style
//!   `t.mul(std).add(mean)`, then the normalize step's scale undone).
//! - `mode="range"`: `(x - a) / (b - a) * (d - c) + c` with `b - a` and `d - c` computed once in
//!   the compute type (basicsr's `tensor2img`).
//!
//! `compute_dtype` (`float32` / `float64`) picks `f32` or `f64` for the arithmetic and the
//! output: Rust writes either as easily, so the step does what it asks. No clamping (that is
//! `quantize`'s `clamp`); NaN and ±inf propagate as IEEE arithmetic says. Integer input is an
//! error (quantized pixels need no denormalize). Channels are the last axis; mean/std hold one
//! value (broadcast) or one per channel.

use ndarray::ArrayD;

use crate::error::Result;
use crate::step::{per_channel, Step};
use crate::tensor::{Sample, Tensor};
use crate::failed;

pub fn describe(step: &Step) -> String {
    let t = if step.str("compute_dtype").unwrap_or("float32") == "float64" { "f64" } else { "f32" };
    let formula = match step.str("mode").unwrap_or("range") {
        "mean_std" => format!("(x as {t} * std[c] + mean[c]) / {}", step.f64("scale").unwrap_or(f64::NAN)),
        _ => {
            let r = |k: &str| step.f64_list(k).unwrap_or_default();
            let (from, to) = (r("from_range"), r("to_range"));
            let at = |v: &[f64], i: usize| v.get(i).copied().unwrap_or(f64::NAN);
            format!("(x as {t} - {a}) / ({b} - {a}) * ({d} - {c}) + {c}",
                    a = at(&from, 0), b = at(&from, 1), c = at(&to, 0), d = at(&to, 1))
        }
    };
    format!("ndarray mapv in {t}: {formula}")
}

/// The two ends of a range knob.
fn range(step: &Step, knob: &str) -> Result<(f64, f64)> {
    match step.f64_list(knob)?[..] {
        [lo, hi] if lo < hi => Ok((lo, hi)),
        ref v => Err(failed!("denormalize {knob} must be [lo, hi] with lo < hi, got {v:?}")),
    }
}

/// The per-sample map, one function per compute type (`$t` = f32 or f64).
macro_rules! denormalize_in {
    ($name:ident, $t:ty, $to:ident) => {
        fn $name<S: Sample>(step: &Step, a: &ArrayD<S>) -> Result<ArrayD<$t>> {
            let c = crate::geometry::channels(a).max(1);
            let samples: Vec<$t> = a.iter().map(|v| v.$to()).collect();
            let mut out = Vec::with_capacity(samples.len());
            match step.str("mode")? {
                "mean_std" => {
                    let std: Vec<$t> = per_channel(&step.f64_list("std")?, c, "std")?.iter().map(|&s| s as $t).collect();
                    let mean: Vec<$t> = per_channel(&step.f64_list("mean")?, c, "mean")?.iter().map(|&m| m as $t).collect();
                    let scale = step.f64("scale")? as $t;
                    if scale == 0.0 || !scale.is_finite() {
                        return Err(failed!("denormalize scale must be a finite non-zero number"));
                    }
                    // C order: the channel is the fastest-moving index, a chunk of c samples is a pixel.
                    for pixel in samples.chunks_exact(c) {
                        for (j, &x) in pixel.iter().enumerate() {
                            out.push((x * std[j] + mean[j]) / scale);
                        }
                    }
                }
                "range" => {
                    let (a0, b0) = range(step, "from_range")?;
                    let (c0, d0) = range(step, "to_range")?;
                    let (lo, hi, to_lo, to_hi) = (a0 as $t, b0 as $t, c0 as $t, d0 as $t);
                    let (from_width, to_width) = (hi - lo, to_hi - to_lo);
                    out.extend(samples.iter().map(|&x| (x - lo) / from_width * to_width + to_lo));
                }
                other => return Err(failed!("unknown denormalize mode {other:?} (mean_std or range)")),
            }
            ArrayD::from_shape_vec(a.raw_dim(), out).map_err(|e| failed!("denormalize output: {e}"))
        }
    };
}

denormalize_in!(in_f32, f32, to_f32);
denormalize_in!(in_f64, f64, to_f64);

pub fn run(step: &Step, input: Tensor) -> Result<Tensor> {
    input.hwc("denormalize")?;
    let f64_compute = match step.str("compute_dtype")? {
        "float32" => false,
        "float64" => true,
        other => return Err(failed!("unknown denormalize compute_dtype {other:?} (float32 or float64)")),
    };
    macro_rules! go {
        ($a:expr) => {
            if f64_compute { Tensor::F64(in_f64(step, $a)?) } else { Tensor::F32(in_f32(step, $a)?) }
        };
    }
    Ok(match &input {
        Tensor::F16(a) => go!(a),
        Tensor::F32(a) => go!(a),
        Tensor::F64(a) => go!(a),
        other => return Err(failed!(
            "denormalize takes a float tensor, got {} (quantized pixels need no denormalize; is this the way in?)", other.dtype())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::shaped;

    fn step(knobs: &str) -> Step {
        Step::parse(&format!(
            "{{\"op\": \"denormalize\", \"mean\": [0.5], \"std\": [0.25], \"scale\": 1.0, \"from_range\": [-1.0, 1.0], \
             \"to_range\": [0.0, 1.0], \"compute_dtype\": \"float32\", {knobs}}}")).unwrap()
    }

    #[test]
    fn range_and_mean_std_in_f32() {
        let x = Tensor::F32(shaped(&[1, 3, 1], vec![-1.0f32, 0.0, f32::NAN]).unwrap());
        let Tensor::F32(r) = run(&step("\"mode\": \"range\""), x.clone()).unwrap() else { panic!("dtype") };
        assert_eq!(&r.as_slice().unwrap()[..2], &[0.0, 0.5]);
        assert!(r[[0, 2, 0]].is_nan());
        let Tensor::F32(m) = run(&step("\"mode\": \"mean_std\""), x).unwrap() else { panic!("dtype") };
        assert_eq!(&m.as_slice().unwrap()[..2], &[0.25, 0.5]);
    }

    #[test]
    fn float64_compute_gives_f64_and_integers_are_an_error() {
        let x = Tensor::F32(shaped(&[1, 1, 1], vec![0.1f32]).unwrap());
        let out = run(&step("\"mode\": \"range\", \"compute_dtype\": \"float64\""), x).unwrap();
        assert_eq!(out, Tensor::F64(shaped(&[1, 1, 1], vec![(0.1f32 as f64 + 1.0) / 2.0]).unwrap()));
        let u = Tensor::U8(shaped(&[1, 1, 1], vec![3u8]).unwrap());
        assert!(run(&step("\"mode\": \"range\""), u).unwrap_err().message().contains("float tensor"));
    }
}
