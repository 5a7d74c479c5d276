//! layout — `ndarray` axis moves as a Rust port writes them: channel reversal
//! (`slice(s![.., .., ..;-1])`), HWC -> CHW (`permuted_axes([2, 0, 1])`), a leading batch
//! axis (`insert_axis(Axis(0))`), then `as_standard_layout()` so the tensor is contiguous.

use ndarray::{s, ArrayD, Axis};

use crate::error::Result;
use crate::step::Step;
use crate::tensor::Tensor;
use crate::{failed, map_dtype};

pub fn describe(step: &Step) -> String {
    let mut parts = vec![];
    if step.str("channel_order").unwrap_or("keep") == "reverse" {
        parts.push("slice(s![.., .., ..;-1])");
    }
    if step.str("layout").unwrap_or("hwc") == "chw" {
        parts.push("permuted_axes([2, 0, 1])");
    }
    if step.bool("batch").unwrap_or(false) {
        parts.push("insert_axis(Axis(0))");
    }
    parts.push("as_standard_layout()");
    format!("ndarray {}", parts.join(" + "))
}

pub fn run(step: &Step, input: Tensor) -> Result<Tensor> {
    input.hwc("layout")?;
    let reverse = match step.str("channel_order")? {
        "keep" => false,
        "reverse" => true,
        other => return Err(failed!("unknown channel_order {other:?}")),
    };
    let chw = match step.str("layout")? {
        "hwc" => false,
        "chw" => true,
        other => return Err(failed!("unknown layout {other:?}")),
    };
    let batch = step.bool("batch")?;
    Ok(map_dtype!(input, a => arrange(a, reverse, chw, batch)))
}

fn arrange<T: Clone>(a: ArrayD<T>, reverse: bool, chw: bool, batch: bool) -> ArrayD<T> {
    let mut v = a.view().into_dimensionality::<ndarray::Ix3>().expect("checked (H, W, C)").into_dyn();
    if reverse {
        v.slice_collapse(s![.., .., ..;-1]);
    }
    if chw {
        v = v.permuted_axes(vec![2, 0, 1]);
    }
    if batch {
        v = v.insert_axis(Axis(0));
    }
    v.as_standard_layout().into_owned()
}
