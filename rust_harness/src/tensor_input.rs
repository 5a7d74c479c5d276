//! tensor — a model's output tensor (`.npy` bytes, the step-0 input exactly like `decode`'s
//! encoded file) read into an (H, W, C) `ndarray`, as a Rust deployment reads one: the porter's
//! strict reader [`crate::npy`] (header parsed and checked, the byte count checked against the
//! data *before* anything is allocated), then `ndarray` axis moves.
//!
//! - `max_elements`: the header's element count is checked against it (and the data's size
//!   bounded by `max_elements · 8` bytes inside `npy::Header::parse`) before the data is
//!   decoded; a larger tensor is rejected.
//! - `layout` (intent): `nchw` / `nhwc` read a rank-4 array whose batch axis must be 1
//!   (`index_axis(Axis(0), 0)`), `chw` / `hwc` a rank-3 one; `nchw`/`chw` are moved to HWC with
//!   `permuted_axes([1, 2, 0])`; then `as_standard_layout()`. C must be 1..4, H and W at least 1.
//! - Values are untouched, in the file's own dtype: NaN and ±inf pass through.
//! - dtypes: uint8, uint16, float16 (`half::f16`), float32, float64, little-endian, C order.
//!   int16 and int32 files (which the spec allows) are **unsupported**: the harness's `Tensor`
//!   (from `preprocessing-vectors`) has no integer variants besides u8/u16, so they cannot be
//!   carried to the next step. Big-endian (`>f4`) and Fortran-order files, which numpy can
//!   write and the reference reads, are rejected by the strict reader (behaviour: `np.save`
//!   writes neither by default). Any other dtype is rejected.
//!
//! Every refusal of the input (malformed file, rank/batch/channels not what `layout` says, over
//! `max_elements`) is a `Rejected` error, as a decoder refuses a file.

use ndarray::{ArrayD, Axis};

use crate::error::{HarnessError, Result};
use crate::npy::{self, Header};
use crate::step::Step;
use crate::tensor::Tensor;
use crate::{map_dtype, unsupported};

/// The largest sample the reader decodes (float64), in bytes: the data bound passed to
/// `Header::parse` is `max_elements` times this.
const MAX_ITEM_BYTES: u64 = 8;

pub fn describe(step: &Step) -> String {
    let moves = match step.str("layout").unwrap_or("nchw") {
        "nchw" => "index_axis(Axis(0), 0) + permuted_axes([1, 2, 0])",
        "nhwc" => "index_axis(Axis(0), 0)",
        "chw" => "permuted_axes([1, 2, 0])",
        _ => "as is",
    };
    format!("preprocessing_vectors::npy::Header::parse + decode (strict .npy reader), ndarray {moves} + as_standard_layout()")
}

fn rejected(msg: impl Into<String>) -> HarnessError {
    HarnessError::Rejected(msg.into())
}

/// The `descr` a .npy header declares, if it can be found (only to name an integer dtype the
/// harness cannot carry; the strict reader does the real parsing).
fn declared_descr(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(npy::MAX_HEADER_BYTES + 12)]);
    let key = text.find("descr")?;
    let rest = &text[key + text[key..].find(':')? + 1..];
    let open = rest.find(['\'', '"'])?;
    let quote = rest[open..].chars().next()?;
    let body = &rest[open + 1..];
    Some(body[..body.find(quote)?].to_string())
}

/// Reads the tensor as the step asks (see the module docs).
pub fn run(step: &Step, data: &[u8]) -> Result<Tensor> {
    let layout = step.str("layout")?;
    let max_elements = step.usize("max_elements")? as u64;
    let (rank, chw) = match layout {
        "nchw" => (4, true),
        "nhwc" => (4, false),
        "chw" => (3, true),
        "hwc" => (3, false),
        other => return Err(crate::failed!("unknown tensor layout {other:?} (nchw, chw, nhwc or hwc)")),
    };
    let header = match Header::parse(data, max_elements.saturating_mul(MAX_ITEM_BYTES)) {
        Ok(h) => h,
        Err(e) => {
            if let Some(d) = declared_descr(data).filter(|d| matches!(d.as_str(), "<i2" | "<i4" | "|i2" | "|i4" | "=i2" | "=i4")) {
                let name = if d.ends_with('2') { "int16" } else { "int32" };
                return Err(unsupported!(
                    "the Rust harness's Tensor (preprocessing-vectors) has no {name} variant (u8, u16, f16, f32, f64 only), \
                     so a {name} tensor input cannot be carried to the next step; an ndarray port would read it as ArrayD<i{}>",
                    if name == "int16" { 16 } else { 32 }));
            }
            return Err(rejected(e.message()));
        }
    };
    header.check_data_len(data.len() as u64).map_err(|e| rejected(e.message()))?;
    let shape = &header.shape;
    if shape.len() != rank {
        return Err(rejected(format!("tensor layout {layout:?} reads a rank-{rank} array, the file holds shape {shape:?}")));
    }
    if rank == 4 && shape[0] != 1 {
        return Err(rejected(format!("the batch axis holds {} images; a case is one image (batch 1)", shape[0])));
    }
    let count: u64 = shape.iter().map(|&n| n as u64).product();
    if count > max_elements {
        return Err(rejected(format!("the tensor holds {count} elements, over max_elements {max_elements}")));
    }
    let tensor = npy::decode(&header, &data[header.data_offset..]).map_err(|e| rejected(e.message()))?;
    let out = map_dtype!(tensor, a => to_hwc(a, rank == 4, chw));
    let (h, w, c) = out.hwc("tensor")?;
    if !(1..=4).contains(&c) || h == 0 || w == 0 {
        return Err(rejected(format!("layout {layout:?} reads (H, W, C) = [{h}, {w}, {c}]: C must be 1..4 and H, W at least 1 (is the layout right?)")));
    }
    Ok(out)
}

fn to_hwc<T: Clone>(a: ArrayD<T>, batch: bool, chw: bool) -> ArrayD<T> {
    let mut v = a.view();
    if batch {
        v = v.index_axis_move(Axis(0), 0);
    }
    if chw {
        v = v.permuted_axes(vec![1, 2, 0]);
    }
    v.as_standard_layout().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::shaped;

    fn step(layout: &str, max_elements: usize) -> Step {
        Step::parse(&format!("{{\"op\": \"tensor\", \"layout\": \"{layout}\", \"max_elements\": {max_elements}}}")).unwrap()
    }

    #[test]
    fn every_layout_reads_into_hwc() {
        // (H, W, C) = (2, 3, 2), value = 100·h + 10·w + c
        let hwc: Vec<f32> = (0..2).flat_map(|h| (0..3).flat_map(move |w| (0..2).map(move |c| (100 * h + 10 * w + c) as f32))).collect();
        let want = Tensor::F32(shaped(&[2, 3, 2], hwc.clone()).unwrap());
        let chw: Vec<f32> = (0..2).flat_map(|c| (0..2).flat_map(move |h| (0..3).map(move |w| (100 * h + 10 * w + c) as f32))).collect();
        for (layout, shape, data) in [("hwc", vec![2, 3, 2], &hwc), ("nhwc", vec![1, 2, 3, 2], &hwc),
                                      ("chw", vec![2, 2, 3], &chw), ("nchw", vec![1, 2, 2, 3], &chw)] {
            let bytes = npy::to_bytes(&Tensor::F32(shaped(&shape, data.clone()).unwrap()));
            assert_eq!(run(&step(layout, 1 << 20), &bytes).unwrap(), want, "{layout}");
        }
    }

    #[test]
    fn refusals_are_rejections_and_int16_is_unsupported() {
        let bytes = npy::to_bytes(&Tensor::U8(shaped(&[2, 1, 2, 2], vec![0u8; 8]).unwrap()));
        let e = run(&step("nchw", 1 << 20), &bytes).unwrap_err();
        assert!(matches!(e, HarnessError::Rejected(_)) && e.message().contains("batch"), "{e}");
        let e = run(&step("chw", 1 << 20), &bytes).unwrap_err();
        assert!(e.message().contains("rank-3"), "{e}");
        let bytes = npy::to_bytes(&Tensor::U8(shaped(&[1, 2, 2, 2], vec![0u8; 8]).unwrap()));
        assert!(run(&step("nchw", 7), &bytes).unwrap_err().message().contains("max_elements"));
        assert!(run(&step("nchw", 8), &bytes).is_ok());
        // an int16 file: the same header with descr <i2 (two bytes per element)
        let mut b = npy::to_bytes(&Tensor::U16(shaped(&[1, 1, 1], vec![7u16]).unwrap()));
        let at = b.windows(3).position(|w| w == b"<u2").unwrap();
        b[at + 1] = b'i';
        let e = run(&step("hwc", 8), &b).unwrap_err();
        assert!(matches!(e, HarnessError::Unsupported(_)) && e.message().contains("int16"), "{e}");
        assert!(matches!(run(&step("hwc", 8), b"garbage").unwrap_err(), HarnessError::Rejected(_)));
    }
}
