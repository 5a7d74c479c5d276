//! The example port against its vectors: every step of every case of `vectors/` (the
//! `torchvision_224` pipeline on two PNGs), as `cargo test`.
//!
//! `cargo test --features planted-mistake` fails here, at the resize step, with the message a
//! porter would see (README.md).

use std::path::PathBuf;

use preprocessing_vectors::{run_isolated, Bundle, Report};
use rust_port_example::run_step;

fn bundle_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vectors")
}

/// Every step the bundle has an expected output for.
fn steps_in_bundle() -> usize {
    let bundle = Bundle::open(&bundle_dir()).expect("the example bundle is readable");
    bundle.manifest.cases.iter().map(|case| case.steps.len()).sum()
}

fn check(mode: &str, report: Report) {
    eprintln!("{mode}: {} of {} steps passed ({} unsupported, {} failed)", report.passed, report.total(),
              report.unsupported, report.failures.len() + report.errors.len());
    report.assert_ok();
    // Nothing skipped: the port implements every step of the bundle, none is left "unsupported".
    assert_eq!((report.passed, report.unsupported), (steps_in_bundle(), 0), "{report:?}");
}

/// Isolated mode: each step gets the bundle's expected output of the step before, so a failure
/// names the one step that is wrong. (Chained mode, the port's own outputs all the way, does not
/// apply here: the resize may differ from Pillow by the 1 level its tolerance allows, and the crop
/// after it is compared exactly.)
#[test]
fn every_step_within_tolerance_isolated() {
    check("isolated", run_isolated(bundle_dir(), run_step).expect("bundle readable"));
}
