//! normalize — into an `ndarray` f32 tensor, the way a Rust port computes it: every sample
//! `as f32`, then in f32 (`compute_dtype` is behaviour: always f32), one rounded f32 operation
//! at a time, in the order `order` names (the port writes the formula, so the order is honoured):
//!
//! - `scale_first`: `(x / divisor − mean[c]) / std[c]` (or `x * scale` when no divisor is given).
//!   With `scale_dtype="float64"` the first operation is `(x as f64 * scale) as f32` (or
//!   `/ divisor`), the f64 product rounded once to f32, as transformers' `rescale` computes
//!   (`image.astype(np.float64) * rescale_factor`, then `astype(float32)`).
//! - `mean_first`: `((x − mean[c]) * scale) / std[c]` (or `/ divisor`).
//! - `fused` (transformers' torchvision backend `_fuse_mean_std_and_rescale_factor`, then
//!   `tvF.normalize`): k = `(1.0 / scale) as f32` (the quotient in f64) or `divisor as f32`;
//!   M[c] = `mean[c] as f32 * k`, S[c] = `std[c] as f32 * k` (f32 products); out = `(x − M[c]) / S[c]`.
//!
//! `dtype` float64 widens the f32 result; float16 rounds it with `half::f16::from_f32`.
//! Channels are the last axis; mean/std hold one value (broadcast) or one per channel.

use half::f16;
use ndarray::ArrayD;

use crate::error::Result;
use crate::geometry::channels;
use crate::step::{per_channel, Step};
use crate::tensor::{Sample, Tensor};
use crate::{each_dtype, failed};

/// The arithmetic a step asks for (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Order {
    ScaleFirst { scale_in_f64: bool },
    MeanFirst,
    Fused,
}

fn order(step: &Step) -> Result<Order> {
    let scale_dtype = if step.has("scale_dtype") { step.str("scale_dtype")? } else { "compute" };
    let scale_in_f64 = match scale_dtype {
        "compute" => false,
        "float64" => true,
        other => return Err(failed!("unknown normalize scale_dtype {other:?} (compute or float64)")),
    };
    let order = match step.str("order")? {
        "scale_first" => Order::ScaleFirst { scale_in_f64 },
        "mean_first" => Order::MeanFirst,
        "fused" => Order::Fused,
        other => return Err(failed!("unknown normalize order {other:?}")),
    };
    if scale_in_f64 && order != (Order::ScaleFirst { scale_in_f64 }) {
        return Err(failed!("normalize scale_dtype \"float64\" is defined only for order \"scale_first\""));
    }
    Ok(order)
}

pub fn describe(step: &Step) -> String {
    let divisor = step.opt_f64("divisor").ok().flatten();
    let factor = match divisor {
        Some(d) => format!("/ {d}"),
        None => format!("* {}", step.f64("scale").unwrap_or(f64::NAN) as f32),
    };
    let formula = match order(step) {
        Ok(Order::ScaleFirst { scale_in_f64: true }) => {
            format!("((x as f64 {factor}) as f32 - mean[c]) / std[c]")
        }
        Ok(Order::MeanFirst) => format!("((x as f32 - mean[c]) {factor}) / std[c]"),
        Ok(Order::Fused) => {
            let k = match divisor {
                Some(d) => format!("{d}"),
                None => "(1 / scale) as f32".into(),
            };
            format!("(x as f32 - mean[c] * k) / (std[c] * k), k = {k}")
        }
        _ => format!("(x as f32 {factor} - mean[c]) / std[c]"),
    };
    format!("ndarray mapv in f32: {formula}, as {}", step.str("dtype").unwrap_or("float32"))
}

pub fn run(step: &Step, input: Tensor) -> Result<Tensor> {
    let divisor = step.opt_f64("divisor")?;
    let scale = step.f64("scale")?;
    let order = order(step)?;
    let (divisor32, scale32) = (divisor.map(|d| d as f32), scale as f32);
    // fused: k = 1/scale computed in f64 (transformers: 1.0 / rescale_factor), or the divisor
    let k = match divisor {
        Some(d) => d as f32,
        None => (1.0 / scale) as f32,
    };
    let out: ArrayD<f32> = each_dtype!(input, a => {
        let c = channels(&a);
        let mean: Vec<f32> = per_channel(&step.f64_list("mean")?, c, "mean")?.iter().map(|&m| m as f32).collect();
        let std: Vec<f32> = per_channel(&step.f64_list("std")?, c, "std")?.iter().map(|&s| s as f32).collect();
        let fused_mean: Vec<f32> = mean.iter().map(|&m| m * k).collect();
        let fused_std: Vec<f32> = std.iter().map(|&s| s * k).collect();
        let scaled = |v: f32| match divisor32 { Some(d) => v / d, None => v * scale32 };
        let scaled_f64 = |v: f64| (match divisor { Some(d) => v / d, None => v * scale }) as f32;
        let a = a.as_standard_layout();
        let samples = a.as_slice().expect("standard layout");
        let mut out = Vec::with_capacity(samples.len());
        // C order: the channel is the fastest-moving index, so each chunk of c samples is a pixel.
        for pixel in samples.chunks_exact(c.max(1)) {
            for (j, x) in pixel.iter().enumerate() {
                out.push(match order {
                    Order::ScaleFirst { scale_in_f64: false } => (scaled(x.to_f32()) - mean[j]) / std[j],
                    Order::ScaleFirst { scale_in_f64: true } => (scaled_f64(x.to_f64()) - mean[j]) / std[j],
                    Order::MeanFirst => scaled(x.to_f32() - mean[j]) / std[j],
                    Order::Fused => (x.to_f32() - fused_mean[j]) / fused_std[j],
                });
            }
        }
        ArrayD::from_shape_vec(a.raw_dim(), out).map_err(|e| failed!("normalize output: {e}"))?
    });
    Ok(match step.str("dtype")? {
        "float32" => Tensor::F32(out),
        "float64" => Tensor::F64(out.mapv(|v| v as f64)),
        "float16" => Tensor::F16(out.mapv(f16::from_f32)),
        other => return Err(failed!("unknown normalize dtype {other:?}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::IxDyn;

    fn run_on(knobs: &str, values: &[u8]) -> Vec<f32> {
        let step = Step::parse(&format!(
            "{{\"op\": \"normalize\", \"scale\": 0.00392156862745098, \"divisor\": null, \"mean\": [0.5], \
             \"std\": [0.25], \"dtype\": \"float32\", \"order\": \"scale_first\", {knobs}}}")).unwrap();
        let input = Tensor::U8(ArrayD::from_shape_vec(IxDyn(&[1, values.len(), 1]), values.to_vec()).unwrap());
        match run(&step, input).unwrap() {
            Tensor::F32(a) => a.iter().cloned().collect(),
            other => panic!("expected float32, got {}", other.dtype()),
        }
    }

    #[test]
    fn float64_scale_rounds_once() {
        // 1/255 as f32 times x in f32 differs from (x · 1/255 in f64) rounded once for some x;
        // the f64 path must be the once-rounded value exactly.
        let xs: Vec<u8> = (0..=255).collect();
        let got = run_on("\"scale_dtype\": \"float64\"", &xs);
        for (x, g) in xs.iter().zip(&got) {
            let once = (*x as f64 * (1.0 / 255.0)) as f32;
            assert_eq!(*g, (once - 0.5f32) / 0.25f32, "x = {x}");
        }
        let twice = run_on("\"scale_dtype\": \"compute\"", &xs);
        assert_ne!(got, twice, "the two scale dtypes agree on every uint8 value: the test proves nothing");
    }

    #[test]
    fn fused_folds_the_scale_into_mean_and_std() {
        let xs: Vec<u8> = (0..=255).collect();
        let got = run_on("\"order\": \"fused\"", &xs);
        let k = (1.0f64 / (1.0 / 255.0)) as f32;
        for (x, g) in xs.iter().zip(&got) {
            assert_eq!(*g, (*x as f32 - 0.5f32 * k) / (0.25f32 * k), "x = {x}");
        }
    }

    #[test]
    fn float64_scale_needs_scale_first() {
        let step = Step::parse(
            "{\"op\": \"normalize\", \"scale\": 1.0, \"mean\": [0.0], \"std\": [1.0], \"dtype\": \"float32\", \
             \"order\": \"fused\", \"scale_dtype\": \"float64\"}").unwrap();
        let input = Tensor::U8(ArrayD::from_shape_vec(IxDyn(&[1, 1, 1]), vec![3]).unwrap());
        assert!(run(&step, input).unwrap_err().message().contains("scale_dtype"));
    }
}
