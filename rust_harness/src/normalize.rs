//! normalize — into an `ndarray` f32 tensor, the way a Rust port computes it: every sample
//! `as f32`, then in f32 (`compute_dtype` is behaviour):
//! `scale_first`: `(x / divisor − mean[c]) / std[c]` (or `x * scale` when no divisor is given);
//! `mean_first`: `((x − mean[c]) * scale) / std[c]` (or `/ divisor`).
//! `dtype` float64 widens the f32 result; float16 rounds it with `half::f16::from_f32`.
//! Channels are the last axis; mean/std hold one value (broadcast) or one per channel.

use half::f16;
use ndarray::ArrayD;

use crate::error::Result;
use crate::geometry::channels;
use crate::step::{per_channel, Step};
use crate::tensor::{Sample, Tensor};
use crate::{each_dtype, failed};

pub fn describe(step: &Step) -> String {
    let factor = match step.opt_f64("divisor") {
        Ok(Some(d)) => format!("/ {d}"),
        _ => format!("* {}", step.f64("scale").unwrap_or(f64::NAN) as f32),
    };
    let formula = if step.str("order").unwrap_or("scale_first") == "scale_first" {
        format!("(x as f32 {factor} - mean[c]) / std[c]")
    } else {
        format!("((x as f32 - mean[c]) {factor}) / std[c]")
    };
    format!("ndarray mapv in f32: {formula}, as {}", step.str("dtype").unwrap_or("float32"))
}

pub fn run(step: &Step, input: Tensor) -> Result<Tensor> {
    let divisor = step.opt_f64("divisor")?.map(|d| d as f32);
    let scale = step.f64("scale")? as f32;
    let scale_first = match step.str("order")? {
        "scale_first" => true,
        "mean_first" => false,
        other => return Err(failed!("unknown normalize order {other:?}")),
    };
    let out: ArrayD<f32> = each_dtype!(input, a => {
        let c = channels(&a);
        let mean: Vec<f32> = per_channel(&step.f64_list("mean")?, c, "mean")?.iter().map(|&m| m as f32).collect();
        let std: Vec<f32> = per_channel(&step.f64_list("std")?, c, "std")?.iter().map(|&s| s as f32).collect();
        let scaled = |v: f32| match divisor { Some(d) => v / d, None => v * scale };
        let a = a.as_standard_layout();
        let samples = a.as_slice().expect("standard layout");
        let mut out = Vec::with_capacity(samples.len());
        // C order: the channel is the fastest-moving index, so each chunk of c samples is a pixel.
        for pixel in samples.chunks_exact(c.max(1)) {
            for (k, x) in pixel.iter().enumerate() {
                let v = x.to_f32();
                out.push(if scale_first { (scaled(v) - mean[k]) / std[k] } else { scaled(v - mean[k]) / std[k] });
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
