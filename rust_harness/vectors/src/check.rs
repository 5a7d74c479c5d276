//! A port's outputs against a bundle's expected outputs, step by step.
//!
//! Two modes, as the suite's own harnesses run them (`docs/harness-protocol.md`):
//!
//! - **isolated** ([`run_isolated`]): step 0 (decode) gets the case's encoded input file; step
//!   k > 0 gets the bundle's expected output of step k - 1 (read with its SHA-256 checked), so
//!   each step is judged on its own, whatever the port did before it;
//! - **chained** ([`run_chained`]): each step gets the port's own previous output, as the port
//!   runs in production; the first step that fails (or is unsupported) ends the case.
//!
//! Every output is compared with the step's expected output ([`compare`]): same dtype, same
//! shape, and every sample within the step's declared tolerance
//! (`case.steps[k].tolerance.max_abs` in the manifest, as an absolute difference computed in
//! float64). Negative vectors (`expect == "error"`: a file a conforming decoder rejects) pass
//! when the port's step 0 returns `Err`.

use std::fmt;
use std::path::Path;

use ndarray::ArrayD;
use serde_json::Value;

use crate::bundle::{Bundle, Case, ExpectedStep};
use crate::error::{Error, HarnessError};
use crate::tensor::{Sample, Tensor};

/// What a step gets: step 0 (decode) the encoded file's bytes, every later step a tensor.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Encoded(Vec<u8>),
    Tensor(Tensor),
}

/// One step of one case, as the port's step function sees it.
#[derive(Debug)]
pub struct Step<'a> {
    pub case_id: &'a str,
    pub pipeline_id: &'a str,
    /// The step's position in the pipeline (0 is decode).
    pub index: usize,
    /// `decode`, `resize`, `crop`, `pad`, `letterbox`, `color`, `normalize`, `layout`, ...
    pub op: &'a str,
    /// The step object of the pipeline, with `op` and every knob (e.g. `knobs["filter"]`).
    pub knobs: &'a Value,
    pub input: Input,
}

/// What the port's step function answers (an `Err(String)` means the step failed: for a
/// negative vector's decode step that is the conforming answer).
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Output(Tensor),
    /// The port has no implementation of what the step asks (counted, not a failure).
    Unsupported(String),
}

/// How far an output is from the expected one ([`compare`]'s error).
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    /// The largest absolute difference (infinite when a NaN meets a number, or with `detail`).
    pub max_abs: f64,
    /// The multi-index of the first sample with that difference (empty with `detail`).
    pub worst_index: Vec<usize>,
    /// The expected and actual samples there (NaN with `detail`).
    pub expected: f64,
    pub actual: f64,
    /// A dtype or shape disagreement, in words (then no sample was compared).
    pub detail: Option<String>,
}

/// One step whose output is not within its tolerance.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    pub case_id: String,
    pub index: usize,
    pub op: String,
    pub max_abs: f64,
    pub tolerance: f64,
    pub worst_index: Vec<usize>,
    pub expected: f64,
    pub actual: f64,
    /// Dtype or shape problems, or a negative vector the port decoded.
    pub detail: Option<String>,
}

impl Mismatch {
    fn new(case_id: &str, index: usize, op: &str, tolerance: f64, d: Difference) -> Mismatch {
        Mismatch {
            case_id: case_id.to_string(),
            index,
            op: op.to_string(),
            max_abs: d.max_abs,
            tolerance,
            worst_index: d.worst_index,
            expected: d.expected,
            actual: d.actual,
            detail: d.detail,
        }
    }

    fn detail(case_id: &str, index: usize, op: &str, detail: String) -> Mismatch {
        let d = Difference { max_abs: f64::INFINITY, worst_index: vec![], expected: f64::NAN, actual: f64::NAN,
                             detail: Some(detail) };
        Mismatch::new(case_id, index, op, 0.0, d)
    }
}

impl fmt::Display for Mismatch {
    /// `case <id> step <k> <op>: max abs error 37 > tolerance 1 at [12, 40, 2]: expected 118,
    /// got 155`, or `case <id> step <k> <op>: <detail>` for dtype, shape and negative-vector
    /// problems.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "case {} step {} {}: ", self.case_id, self.index, self.op)?;
        match &self.detail {
            Some(detail) => write!(f, "{detail}"),
            None => write!(f, "max abs error {} > tolerance {} at {:?}: expected {}, got {}",
                           self.max_abs, self.tolerance, self.worst_index, self.expected, self.actual),
        }
    }
}

/// The tally of a run: steps within tolerance, steps the port does not support, outputs
/// outside their tolerance, and steps where the port returned `Err` on a positive case (each
/// as `case <id> step <k> <op>: <message>`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    pub passed: usize,
    pub unsupported: usize,
    pub failures: Vec<Mismatch>,
    pub errors: Vec<String>,
}

impl Report {
    /// Every step the run judged.
    pub fn total(&self) -> usize {
        self.passed + self.unsupported + self.failures.len() + self.errors.len()
    }

    /// True when no step failed and the port returned no error.
    pub fn is_ok(&self) -> bool {
        self.failures.is_empty() && self.errors.is_empty()
    }

    /// Panics unless [`Report::is_ok`], with every failure and error, one per line, then
    /// `N of M steps failed (P passed, U unsupported)`.
    pub fn assert_ok(&self) {
        if self.is_ok() {
            return;
        }
        let mut lines: Vec<String> = self.failures.iter().map(|m| m.to_string()).collect();
        lines.extend(self.errors.iter().cloned());
        let failed = self.failures.len() + self.errors.len();
        lines.push(format!("{failed} of {} steps failed ({} passed, {} unsupported)",
                           self.total(), self.passed, self.unsupported));
        panic!("{}", lines.join("\n"));
    }
}

/// `Ok` when `actual` has `expected`'s dtype and shape and every sample is within `tolerance`
/// of it (|expected - actual| <= tolerance in float64; NaN matches NaN only, an infinity
/// matches the same infinity only); else the largest difference and the first place it occurs.
pub fn compare(expected: &Tensor, actual: &Tensor, tolerance: f64) -> Result<(), Difference> {
    let problem = |detail: String| Difference {
        max_abs: f64::INFINITY, worst_index: vec![], expected: f64::NAN, actual: f64::NAN, detail: Some(detail),
    };
    if expected.dtype() != actual.dtype() {
        return Err(problem(format!("dtype {}, expected {}", actual.dtype(), expected.dtype())));
    }
    if expected.shape() != actual.shape() {
        return Err(problem(format!("shape {:?}, expected {:?}", actual.shape(), expected.shape())));
    }
    let worst = match (expected, actual) {
        (Tensor::U8(e), Tensor::U8(a)) => worst_sample(e, a),
        (Tensor::U16(e), Tensor::U16(a)) => worst_sample(e, a),
        (Tensor::F16(e), Tensor::F16(a)) => worst_sample(e, a),
        (Tensor::F32(e), Tensor::F32(a)) => worst_sample(e, a),
        (Tensor::F64(e), Tensor::F64(a)) => worst_sample(e, a),
        _ => unreachable!("dtypes checked equal above"),
    };
    match worst {
        Some((max_abs, flat, e, a)) if max_abs > tolerance => Err(Difference {
            max_abs,
            worst_index: unravel(flat, expected.shape()),
            expected: e,
            actual: a,
            detail: None,
        }),
        _ => Ok(()),
    }
}

/// The largest |e - a| over two arrays of one shape, in logical (C) order: (difference, flat
/// index, e, a) of its first occurrence; `None` for empty arrays.
fn worst_sample<T: Sample>(expected: &ArrayD<T>, actual: &ArrayD<T>) -> Option<(f64, usize, f64, f64)> {
    let mut worst: Option<(f64, usize, f64, f64)> = None;
    for (i, (e, a)) in expected.iter().zip(actual.iter()).enumerate() {
        let (e, a) = (e.to_f64(), a.to_f64());
        let d = if e.is_nan() || a.is_nan() {
            if e.is_nan() && a.is_nan() { 0.0 } else { f64::INFINITY }
        } else if e == a {
            0.0 // also equal infinities, whose difference would be NaN
        } else {
            (e - a).abs()
        };
        if worst.is_none_or(|w| d > w.0) {
            worst = Some((d, i, e, a));
        }
    }
    worst
}

/// The C-order multi-index of flat index `flat` in `shape`.
fn unravel(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut index = vec![0; shape.len()];
    for (k, &n) in shape.iter().enumerate().rev() {
        if n > 0 {
            index[k] = flat % n;
            flat /= n;
        }
    }
    index
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Isolated,
    Chained,
}

/// Runs every case of the bundle at `bundle_dir` through `port` in isolated mode: step k gets
/// the bundle's expected output of step k - 1 (step 0 the encoded input), and each output is
/// compared with the step's expected output within the step's tolerance. A negative vector
/// (`expect == "error"`) runs step 0 only, which must return `Err`.
///
/// `Err` only when the bundle itself cannot be read (a missing or malformed manifest, a file
/// outside the bundle, a SHA-256 that disagrees with the manifest, a bad `.npy`): the message
/// names the file.
pub fn run_isolated<F>(bundle_dir: impl AsRef<Path>, port: F) -> Result<Report, Error>
where
    F: FnMut(&Step) -> Result<Outcome, String>,
{
    run(bundle_dir.as_ref(), port, Mode::Isolated)
}

/// Like [`run_isolated`], but each step gets the port's own previous output; on the first step
/// of a case that fails, errs or is unsupported, the rest of the case is skipped (not counted).
pub fn run_chained<F>(bundle_dir: impl AsRef<Path>, port: F) -> Result<Report, Error>
where
    F: FnMut(&Step) -> Result<Outcome, String>,
{
    run(bundle_dir.as_ref(), port, Mode::Chained)
}

fn run<F>(dir: &Path, mut port: F, mode: Mode) -> Result<Report, Error>
where
    F: FnMut(&Step) -> Result<Outcome, String>,
{
    let bundle = Bundle::open(dir)?;
    let mut report = Report::default();
    for case in &bundle.manifest.cases {
        match case.expect.as_str() {
            "ok" => run_case(&bundle, case, &mut port, mode, &mut report)?,
            "error" => run_negative(&bundle, case, &mut port, &mut report)?,
            other => {
                return Err(HarnessError::Io(format!("case {}: expect is {other:?}, not \"ok\" or \"error\"", case.id)))
            }
        }
    }
    Ok(report)
}

/// The pipeline step object at `index` of a case, with its `op`.
fn knobs<'b>(bundle: &'b Bundle, case: &Case, index: usize) -> Result<&'b Value, Error> {
    bundle.pipeline(case)?.steps.get(index).ok_or_else(|| {
        HarnessError::Io(format!("case {}: pipeline {:?} has no step {index}", case.id, case.pipeline))
    })
}

fn run_negative<F>(bundle: &Bundle, case: &Case, port: &mut F, report: &mut Report) -> Result<(), Error>
where
    F: FnMut(&Step) -> Result<Outcome, String>,
{
    let knobs = knobs(bundle, case, 0)?;
    let op = knobs.get("op").and_then(Value::as_str).unwrap_or("decode");
    let step = Step { case_id: &case.id, pipeline_id: &case.pipeline, index: 0, op, knobs,
                      input: Input::Encoded(bundle.input_bytes(case)?) };
    match port(&step) {
        Err(_) => report.passed += 1,
        Ok(Outcome::Unsupported(_)) => report.unsupported += 1,
        Ok(Outcome::Output(_)) => report.failures.push(Mismatch::detail(
            &case.id, 0, op, "decoded a file a conforming decoder rejects".to_string())),
    }
    Ok(())
}

/// Ops that move data without computing: in chained mode such a step's input is the port's own
/// output of the step before, which may already differ within that step's tolerance, so it is
/// held to the larger of its own tolerance and the previous step's (the rule of the Python
/// scorer, `conformance/score.py`): a crop after a resize 1 level off is not the crop's fault.
pub const DATA_MOVEMENT_OPS: [&str; 4] = ["crop", "pad", "letterbox", "layout"];

fn run_case<F>(bundle: &Bundle, case: &Case, port: &mut F, mode: Mode, report: &mut Report) -> Result<(), Error>
where
    F: FnMut(&Step) -> Result<Outcome, String>,
{
    let mut steps: Vec<&ExpectedStep> = case.steps.iter().collect();
    steps.sort_by_key(|s| s.index);
    // isolated: the bundle's output of the previous step; chained: the port's
    let mut previous: Option<Tensor> = None;
    // chained mode: the tolerance the previous step was held to (see DATA_MOVEMENT_OPS)
    let mut carried: Option<f64> = None;
    for (k, expected_step) in steps.iter().enumerate() {
        let index = expected_step.index;
        if index != k {
            return Err(HarnessError::Io(format!("case {}: expected outputs list step {index} where step {k} belongs",
                                                case.id)));
        }
        let expected = bundle.expected(expected_step)?;
        let input = match previous.take() {
            None => Input::Encoded(bundle.input_bytes(case)?),
            Some(t) => Input::Tensor(t),
        };
        let op = expected_step.op.as_str();
        let mut tolerance = expected_step.tolerance.as_ref().map_or(0.0, |t| t.max_abs);
        if mode == Mode::Chained && DATA_MOVEMENT_OPS.contains(&op) {
            tolerance = tolerance.max(carried.unwrap_or(0.0));
        }
        carried = Some(tolerance);
        let step = Step { case_id: &case.id, pipeline_id: &case.pipeline, index, op,
                          knobs: knobs(bundle, case, index)?, input };
        let ok = match port(&step) {
            Err(message) => {
                report.errors.push(format!("case {} step {index} {op}: {message}", case.id));
                None
            }
            Ok(Outcome::Unsupported(_)) => {
                report.unsupported += 1;
                None
            }
            Ok(Outcome::Output(actual)) => match compare(&expected, &actual, tolerance) {
                Ok(()) => {
                    report.passed += 1;
                    Some(actual)
                }
                Err(d) => {
                    report.failures.push(Mismatch::new(&case.id, index, op, tolerance, d));
                    None
                }
            },
        };
        previous = match mode {
            Mode::Isolated => Some(expected),
            Mode::Chained => match ok {
                Some(actual) => Some(actual),
                None => return Ok(()),
            },
        };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::shaped;

    #[test]
    fn unravel_is_c_order() {
        assert_eq!(unravel(0, &[2, 3, 4]), vec![0, 0, 0]);
        assert_eq!(unravel(23, &[2, 3, 4]), vec![1, 2, 3]);
        assert_eq!(unravel(13, &[2, 3, 4]), vec![1, 0, 1]);
        assert_eq!(unravel(0, &[]), Vec::<usize>::new());
    }

    #[test]
    fn compare_finds_the_first_worst_sample() {
        let e = Tensor::F32(shaped(&[2, 2], vec![0.0, 1.0, 2.0, 3.0]).unwrap());
        let a = Tensor::F32(shaped(&[2, 2], vec![0.5, 1.0, 1.5, 3.0]).unwrap());
        assert_eq!(compare(&e, &a, 0.5), Ok(()));
        let d = compare(&e, &a, 0.25).unwrap_err();
        assert_eq!((d.max_abs, d.worst_index, d.expected, d.actual), (0.5, vec![0, 0], 0.0, 0.5));
    }

    #[test]
    fn nan_matches_only_nan() {
        let e = Tensor::F64(shaped(&[3], vec![f64::NAN, f64::INFINITY, 1.0]).unwrap());
        assert_eq!(compare(&e, &e.clone(), 0.0), Ok(()));
        let a = Tensor::F64(shaped(&[3], vec![0.0, f64::INFINITY, 1.0]).unwrap());
        let d = compare(&e, &a, 1e9).unwrap_err();
        assert_eq!((d.max_abs, d.worst_index), (f64::INFINITY, vec![0]));
    }

    #[test]
    fn dtype_and_shape_are_named() {
        let e = Tensor::U8(shaped(&[1, 2, 3], vec![0; 6]).unwrap());
        let a = Tensor::U8(shaped(&[2, 1, 3], vec![0; 6]).unwrap());
        assert_eq!(compare(&e, &a, 0.0).unwrap_err().detail.unwrap(), "shape [2, 1, 3], expected [1, 2, 3]");
        let a = Tensor::F32(shaped(&[1, 2, 3], vec![0.0; 6]).unwrap());
        assert_eq!(compare(&e, &a, 0.0).unwrap_err().detail.unwrap(), "dtype float32, expected uint8");
    }
}
