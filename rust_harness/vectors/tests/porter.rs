//! The porter's API on a tiny bundle built here: a manifest, an "encoded" input file and the
//! expected `.npy` outputs written with the crate's own writer, each listed with its SHA-256
//! (computed here with sha2, independently of the reader's check).

use std::fs;
use std::path::{Path, PathBuf};

use preprocessing_vectors::tensor::shaped;
use preprocessing_vectors::{npy, run_chained, run_isolated, vectors_test, Input, Outcome, Step, Tensor};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const CASE: &str = "resize.bilinear__img.x";
const NEG: &str = "decode.png__neg.bad_crc";

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("preprocessing-vectors-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The decode output (2x2x3 uint8) and the resize output (3x2x3 uint8) of the one positive case.
fn decoded() -> Tensor {
    Tensor::U8(shaped(&[2, 2, 3], (0..12).collect()).unwrap())
}

fn resized() -> Tensor {
    Tensor::U8(shaped(&[3, 2, 3], (0..18).map(|v| v * 10).collect()).unwrap())
}

/// Writes the bundle: one positive case (decode, resize with tolerance 1) and one negative
/// vector; `edit` may change the manifest before it is written.
fn write_bundle(dir: &Path, edit: impl FnOnce(&mut Value)) {
    fs::create_dir_all(dir.join("inputs")).unwrap();
    fs::create_dir_all(dir.join(format!("expected/{CASE}"))).unwrap();
    let input = b"not really a PNG".to_vec();
    fs::write(dir.join("inputs/img.x"), &input).unwrap();
    let neg = b"\x89PNG broken".to_vec();
    fs::write(dir.join("inputs/neg.bad_crc"), &neg).unwrap();
    let mut steps = vec![];
    for (index, op, t, tol) in [(0, "decode", decoded(), 0.0), (1, "resize", resized(), 1.0)] {
        let rel = format!("expected/{CASE}/{index}_{op}.npy");
        let bytes = npy::to_bytes(&t);
        fs::write(dir.join(&rel), &bytes).unwrap();
        steps.push(json!({"index": index, "op": op, "output": rel, "sha256": sha256(&bytes), "dtype": "uint8",
                          "shape": t.shape(), "tolerance": {"max_abs": tol, "metric": "max_abs", "reason": "test"}}));
    }
    let mut manifest = json!({
        "format": "conformance-vectors", "version": 1,
        "inputs": {"img.x": {"path": "inputs/img.x", "sha256": sha256(&input)},
                   "neg.bad_crc": {"path": "inputs/neg.bad_crc", "sha256": sha256(&neg)}},
        "pipelines": {
            "resize.bilinear": {"id": "resize.bilinear", "steps": [
                {"op": "decode", "output": "rgb"},
                {"op": "resize", "filter": "bilinear", "size": [3, 2]}]},
            "decode.png": {"id": "decode.png", "steps": [{"op": "decode", "output": "rgb"}]}},
        "cases": [
            {"id": CASE, "input": "img.x", "pipeline": "resize.bilinear", "expect": "ok", "steps": steps},
            {"id": NEG, "input": "neg.bad_crc", "pipeline": "decode.png", "expect": "error", "steps": []}],
    });
    edit(&mut manifest);
    fs::write(dir.join("manifest.json"), serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
}

/// A port that reproduces the expected outputs exactly (and rejects the broken file), adding
/// `resize_error` to one resize sample at [1, 0, 2].
fn port(resize_error: u8) -> impl FnMut(&Step) -> Result<Outcome, String> {
    move |step: &Step| match (step.op, &step.input) {
        ("decode", Input::Encoded(bytes)) if bytes.starts_with(b"\x89PNG") => Err("bad CRC".into()),
        ("decode", Input::Encoded(_)) => Ok(Outcome::Output(decoded())),
        ("resize", Input::Tensor(t)) => {
            assert_eq!(step.knobs["filter"], "bilinear");
            assert_eq!(step.pipeline_id, "resize.bilinear");
            let Tensor::U8(mut a) = resized() else { unreachable!() };
            assert_eq!(t, &decoded());
            a[[1, 0, 2]] += resize_error;
            Ok(Outcome::Output(Tensor::U8(a)))
        }
        (op, _) => Err(format!("unexpected {op}")),
    }
}

#[test]
fn a_perfect_port_passes() {
    let dir = TempDir::new("perfect");
    write_bundle(&dir.0, |_| {});
    let report = run_isolated(&dir.0, port(0)).unwrap();
    assert_eq!((report.passed, report.unsupported, report.failures.len(), report.errors.len()), (3, 0, 0, 0));
    report.assert_ok();
    let report = run_chained(&dir.0, port(0)).unwrap();
    assert_eq!(report.passed, 3);
    report.assert_ok();
}

#[test]
fn an_error_within_tolerance_passes() {
    let dir = TempDir::new("within");
    write_bundle(&dir.0, |_| {});
    let report = run_isolated(&dir.0, port(1)).unwrap();
    assert_eq!(report.passed, 3);
}

#[test]
fn an_error_over_tolerance_names_case_step_error_and_pixel() {
    let dir = TempDir::new("off-by-2");
    write_bundle(&dir.0, |_| {});
    let report = run_isolated(&dir.0, port(2)).unwrap();
    assert_eq!((report.passed, report.failures.len()), (2, 1));
    let m = &report.failures[0];
    assert_eq!((m.index, m.op.as_str(), m.max_abs, m.tolerance, &m.worst_index[..]), (1, "resize", 2.0, 1.0, &[1, 0, 2][..]));
    assert_eq!(m.to_string(), format!("case {CASE} step 1 resize: max abs error 2 > tolerance 1 at [1, 0, 2]: \
                                       expected 80, got 82"));
    let panic = std::panic::catch_unwind(|| report.assert_ok()).unwrap_err();
    let message = panic.downcast_ref::<String>().unwrap();
    assert_eq!(message, &format!("{m}\n1 of 3 steps failed (2 passed, 0 unsupported)"));
}

#[test]
fn a_wrong_shape_is_named() {
    let dir = TempDir::new("shape");
    write_bundle(&dir.0, |_| {});
    let report = run_isolated(&dir.0, |step: &Step| match step.op {
        "resize" => Ok(Outcome::Output(Tensor::U8(shaped(&[3, 2, 4], vec![0; 24]).unwrap()))),
        _ => Ok(Outcome::Unsupported("no decoder".into())),
    }).unwrap();
    assert_eq!(report.failures.len(), 1);
    assert_eq!(report.failures[0].to_string(), format!("case {CASE} step 1 resize: shape [3, 2, 4], expected [3, 2, 3]"));
}

#[test]
fn unsupported_steps_are_counted_not_failed() {
    let dir = TempDir::new("unsupported");
    write_bundle(&dir.0, |_| {});
    let report = run_isolated(&dir.0, |_: &Step| Ok(Outcome::Unsupported("not ported".into()))).unwrap();
    assert_eq!((report.passed, report.unsupported, report.total()), (0, 3, 3));
    report.assert_ok();
    // chained: the case ends at its first unsupported step
    let report = run_chained(&dir.0, |_: &Step| Ok(Outcome::Unsupported("not ported".into()))).unwrap();
    assert_eq!(report.unsupported, 2);
}

#[test]
fn decoding_a_negative_vector_fails_and_port_errors_are_listed() {
    let dir = TempDir::new("negative");
    write_bundle(&dir.0, |_| {});
    let report = run_isolated(&dir.0, |step: &Step| match step.op {
        "decode" => Ok(Outcome::Output(decoded())),
        _ => Err("resize exploded".into()),
    }).unwrap();
    assert_eq!(report.failures.len(), 1);
    assert_eq!(report.failures[0].to_string(),
               format!("case {NEG} step 0 decode: decoded a file a conforming decoder rejects"));
    assert_eq!(report.errors, vec![format!("case {CASE} step 1 resize: resize exploded")]);
    assert_eq!(report.passed, 1);
}

#[test]
fn chained_mode_skips_the_rest_of_a_failed_case() {
    let dir = TempDir::new("chained");
    write_bundle(&dir.0, |_| {});
    let report = run_chained(&dir.0, |step: &Step| match (step.op, &step.input) {
        ("decode", Input::Encoded(b)) if b.starts_with(b"\x89PNG") => Err("bad".into()),
        ("decode", _) => Ok(Outcome::Output(Tensor::U8(shaped(&[2, 2, 3], vec![0; 12]).unwrap()))),
        _ => panic!("the resize step must be skipped after a failed decode"),
    }).unwrap();
    assert_eq!((report.passed, report.failures.len()), (1, 1));
    assert_eq!((report.failures[0].max_abs, &report.failures[0].worst_index[..]), (11.0, &[1, 1, 2][..]));
}

#[test]
fn chained_data_movement_carries_the_previous_tolerance() {
    // decode held to 1 level, then a crop (data movement, tolerance 0) of the port's own output
    // 1 level off: chained mode holds the crop to 1, as the Python scorer does; isolated to 0
    let dir = TempDir::new("carried");
    write_bundle(&dir.0, |m| {
        m["cases"][0]["steps"][0]["tolerance"]["max_abs"] = json!(1.0);
        m["cases"][0]["steps"][1]["tolerance"]["max_abs"] = json!(0.0);
        m["cases"][0]["steps"][1]["op"] = json!("crop");
        m["pipelines"]["resize.bilinear"]["steps"][1] = json!({"op": "crop", "mode": "center"});
    });
    let off_by_one = |step: &Step| match (step.op, &step.input) {
        ("decode", Input::Encoded(b)) if b.starts_with(b"\x89PNG") => Err("bad".into()),
        ("decode", Input::Encoded(_)) => Ok(Outcome::Output(decoded())),
        ("crop", Input::Tensor(_)) => {
            let Tensor::U8(mut a) = resized() else { unreachable!() };
            a[[0, 0, 0]] += 1;
            Ok(Outcome::Output(Tensor::U8(a)))
        }
        (op, _) => Err(format!("unexpected {op}")),
    };
    let chained = run_chained(&dir.0, off_by_one).unwrap();
    assert_eq!((chained.passed, chained.failures.len()), (3, 0), "{:?}", chained.failures);
    let isolated = run_isolated(&dir.0, off_by_one).unwrap();
    assert_eq!(isolated.failures.len(), 1);
    assert!(isolated.failures[0].to_string().contains("step 1 crop: max abs error 1 > tolerance 0"));
}

#[test]
fn a_hash_mismatch_is_an_error_naming_the_file() {
    let dir = TempDir::new("hash");
    write_bundle(&dir.0, |m| m["cases"][0]["steps"][1]["sha256"] = json!("0".repeat(64)));
    let err = run_isolated(&dir.0, port(0)).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("1_resize.npy") && message.contains("SHA-256"), "{message}");
}

#[test]
fn a_missing_bundle_is_an_error() {
    let err = run_isolated("/nonexistent/bundle", port(0)).unwrap_err();
    assert!(err.to_string().contains("manifest.json"), "{err}");
}

mod generated {
    use super::*;

    fn bundle(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("preprocessing-vectors-macro-{tag}-{}", std::process::id()));
        write_bundle(&dir, |_| {});
        dir
    }

    vectors_test!(the_macro_runs_every_case, bundle("ok"), port(0));

    #[test]
    #[should_panic(expected = "1 of 3 steps failed")]
    fn the_macro_fails_with_the_report() {
        // what vectors_test! expands to, on a port off by 2
        run_isolated(bundle("off-by-2"), port(2)).expect("bundle readable").assert_ok();
    }
}
