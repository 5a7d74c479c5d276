//! `conformance-rust-harness`: the Rust harness as a program speaking the external-harness
//! protocol (`docs/harness-protocol.md`):
//!
//! ```text
//! conformance-rust-harness --bundle DIR --out DIR --mode isolated|chained [--cases FILE] [--engine image|fir]
//! ```
//!
//! It reads `manifest.json` and the `.npy`/input files itself and writes `.npy` files and
//! `harness.json`, with the same step code as the PyO3 extension. The bundle may come from a
//! stranger: every file it names is checked before it is read (`bundle`, `npy`), every name
//! before it becomes a path, and every file written appears whole or not at all (`safeio`).

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use conformance_rust::bundle::Bundle;
use conformance_rust::engine::Engine;
use conformance_rust::protocol::{run_bundle, Mode};

#[derive(Parser, Debug)]
#[command(version, about = "The Rust harness (image crate, fast_image_resize) speaking the conformance suite's external-harness protocol")]
struct Args {
    /// The vector bundle (a directory with manifest.json).
    #[arg(long)]
    bundle: PathBuf,
    /// Where to write <case>/<index>_<op>.npy and harness.json.
    #[arg(long)]
    out: PathBuf,
    /// isolated: each step gets the reference output of the previous one; chained: its own.
    #[arg(long, value_parser = ["isolated", "chained"])]
    mode: String,
    /// Run only the case ids listed in this file (one per line).
    #[arg(long)]
    cases: Option<PathBuf>,
    /// image: the image crate's resize; fir: fast_image_resize.
    #[arg(long, default_value = "image", value_parser = ["image", "fir"])]
    engine: String,
    /// Print one line per case to stderr.
    #[arg(long)]
    verbose: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let fail = |msg: String| {
        eprintln!("conformance-rust-harness: {msg}");
        ExitCode::from(2)
    };
    let engine = match Engine::from_name(&args.engine) {
        Ok(e) => e,
        Err(e) => return fail(e.message().to_string()),
    };
    let mode = match Mode::from_name(&args.mode) {
        Ok(m) => m,
        Err(e) => return fail(e.message().to_string()),
    };
    let only: Option<BTreeSet<String>> = match &args.cases {
        None => None,
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => Some(text.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect()),
            Err(e) => return fail(format!("{}: {e}", path.display())),
        },
    };
    let bundle = match Bundle::open(&args.bundle) {
        Ok(b) => b,
        Err(e) => return fail(e.message().to_string()),
    };
    let verbose = args.verbose;
    let result = run_bundle(engine, &bundle, &args.out, mode, only.as_ref(), |done, total| {
        if verbose {
            let _ = writeln!(std::io::stderr(), "[{done}/{total}]");
        }
    });
    match result {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => fail(e.message().to_string()),
    }
}
