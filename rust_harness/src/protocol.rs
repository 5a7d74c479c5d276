//! The external-harness protocol (`docs/harness-protocol.md`): run a bundle's cases with one
//! engine in `isolated` or `chained` mode, write `OUT/<case>/<index>_<op>.npy` for every step
//! that produced an array and `OUT/harness.json` last.
//!
//! Isolated: step k takes the reference output of step k−1 (step 0 the input file: the encoded
//! image for `decode`, the `.npy` bytes for `tensor`).
//! Chained: each step takes this harness's previous output; after a step that produced nothing
//! the rest are `skipped`, except an unsupported decode (a format the engine lacks), after which
//! the chain starts from the reference decode output, as `conformance/execute.py` does. A negative vector (`expect: error`) runs its first step (decode or
//! tensor) only:
//! `rejected` is the conforming answer. A panic inside a library is caught and reported as that
//! step's `error`; a case whose bundle files are missing or corrupt gets a case-level `error`.
//!
//! Names from the manifest become output paths, so they are checked before any path is built
//! ([`safeio::check_name`]): a case whose id (or pipeline id, or an op of its pipeline) is not a
//! safe name gets a case-level `error` and the other cases go on; an output file is written
//! only for an op the engines know ([`output_path`]). Every file is written atomically (a
//! temporary sibling renamed into place), `harness.json` last: a killed run never leaves a
//! half-written file under its final name.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use crate::bundle::{Bundle, Case};
use crate::engine::{catching_panics, library_versions, Engine, StepInput, FILE_OPS, OPS};
use crate::error::{HarnessError, Result};
use crate::{npy, safeio};
use crate::step::Step;
use crate::tensor::Tensor;

pub const PROTOCOL_VERSION: u64 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Isolated,
    Chained,
}

impl Mode {
    pub fn from_name(name: &str) -> Result<Mode> {
        match name {
            "isolated" => Ok(Mode::Isolated),
            "chained" => Ok(Mode::Chained),
            other => Err(HarnessError::Failed(format!("unknown mode {other:?} (isolated or chained)"))),
        }
    }
}

/// Runs the cases (all, or those listed in `only`) and writes the outputs and `harness.json`
/// under `out`. `progress` is called after each case with (done, total).
pub fn run_bundle(engine: Engine, bundle: &Bundle, out: &Path, mode: Mode, only: Option<&BTreeSet<String>>,
                  mut progress: impl FnMut(usize, usize)) -> Result<Value> {
    fs::create_dir_all(out).map_err(|e| HarnessError::Io(format!("{}: {e}", out.display())))?;
    let cases: Vec<&Case> = bundle.manifest.cases.iter()
        .filter(|c| only.is_none_or(|ids| ids.contains(&c.id)))
        .collect();
    let mut records = Map::new();
    for (done, case) in cases.iter().enumerate() {
        let record = match run_case(engine, bundle, case, mode, out) {
            Ok(steps) => json!({ "steps": steps }),
            Err(e) => json!({ "error": e.message() }),
        };
        records.insert(case.id.clone(), record);
        progress(done + 1, cases.len());
    }
    let libraries: Map<String, Value> = library_versions().into_iter().map(|(k, v)| (k, Value::String(v))).collect();
    let doc = json!({
        "protocol": PROTOCOL_VERSION,
        "name": engine.harness_name(),
        "version": env!("CARGO_PKG_VERSION"),
        "libraries": libraries,
        "cases": records,
    });
    let path = out.join("harness.json");
    let text = serde_json::to_string_pretty(&doc).expect("JSON values serialise");
    safeio::write_atomically(&path, text.as_bytes())?;
    Ok(doc)
}

/// One case's step records; an error for a case whose bundle files cannot be read.
fn run_case(engine: Engine, bundle: &Bundle, case: &Case, mode: Mode, out: &Path) -> Result<Vec<Value>> {
    safeio::check_name(&case.id, "case id")?;
    safeio::check_name(&case.pipeline, "pipeline id").map_err(|e| e.with_prefix(&format!("case {}", case.id)))?;
    let pipeline = bundle.pipeline(case)?;
    // An op the engines do not know is reported `unsupported` below, as a future op should be;
    // one that could not even be a file name is a malformed pipeline.
    for raw in &pipeline.steps {
        if let Some(op) = raw.get("op").and_then(Value::as_str) {
            safeio::check_name(op, "op").map_err(|e| e.with_prefix(&format!("case {}: pipeline {}", case.id, case.pipeline)))?;
        }
    }
    let negative = case.expect == "error";
    let steps = if negative { &pipeline.steps[..pipeline.steps.len().min(1)] } else { &pipeline.steps[..] };
    let source = bundle.input_bytes(case)?;
    let mut records = Vec::with_capacity(steps.len());
    let mut previous: Option<Tensor> = None;
    let mut blocked: Option<String> = None;
    for (index, raw) in steps.iter().enumerate() {
        let step = Step::from_json(raw)?;
        let op = step.op().to_string();
        let mut record = json!({ "index": index, "op": op });
        if let (Mode::Chained, Some(why)) = (mode, &blocked) {
            record["status"] = "skipped".into();
            record["message"] = why.clone().into();
            records.push(record);
            continue;
        }
        let input = if index == 0 {
            StepInput::Bytes(&source)
        } else if mode == Mode::Isolated {
            let expected = case.steps.iter().find(|s| s.index == index - 1).ok_or_else(|| {
                HarnessError::Io(format!("case {}: the manifest lists no expected output of step {}", case.id, index - 1))
            })?;
            StepInput::Array(bundle.expected(expected)?)
        } else {
            StepInput::Array(previous.take().expect("chained input exists when not blocked"))
        };
        if let Some(reason) = engine.check(&step) {
            record["status"] = "unsupported".into();
            record["message"] = reason.into();
        } else {
            record["call"] = engine.describe(&step).into();
            match catching_panics(&op, || engine.run(&step, input)) {
                Ok(tensor) => {
                    let path = output_path(out, &case.id, index, &op)?;
                    let dir = path.parent().expect("OUT/<case id>/<file>");
                    fs::create_dir_all(dir).map_err(|e| HarnessError::Io(format!("{}: {e}", dir.display())))?;
                    npy::write(&path, &tensor)?;
                    record["status"] = "ok".into();
                    previous = Some(tensor);
                }
                Err(e) => {
                    // Only the step reading the input file (decode, tensor) may reject it; any
                    // other failure is an error.
                    let rejects = matches!(e, HarnessError::Rejected(_)) && FILE_OPS.contains(&op.as_str());
                    let status = if rejects { "rejected" } else { e.status() };
                    record["status"] = status.into();
                    record["message"] = e.message().into();
                }
            }
        }
        if mode == Mode::Chained && index == 0 && op == "decode" && !negative && record["status"] == "unsupported"
            && steps.len() > 1
        {
            // as conformance/execute.py: a decode this engine cannot do (a format it lacks)
            // starts the chain from the reference decode output, as a deployment would from
            // some other decoder; the decode step stays unsupported
            let expected = case.steps.iter().find(|s| s.index == 0).ok_or_else(|| {
                HarnessError::Io(format!("case {}: the manifest lists no expected output of step 0", case.id))
            })?;
            previous = Some(bundle.expected(expected)?);
            let why = record["message"].as_str().unwrap_or("").to_string();
            record["message"] = format!("{why}; the chain starts from the reference decode output").into();
        } else if record["status"] != "ok" {
            blocked = Some(format!("not run: step {index} ({op}) was {}", record["status"].as_str().unwrap_or("?")));
        }
        records.push(record);
    }
    Ok(records)
}

/// `OUT/<case id>/<index>_<op>.npy`, the protocol's name for a step's output; an error unless
/// the case id is a safe name and the op one the engines know, so the path has exactly two
/// plain components below `out` whatever the manifest says.
pub fn output_path(out: &Path, case_id: &str, index: usize, op: &str) -> Result<PathBuf> {
    safeio::check_name(case_id, "case id")?;
    if !OPS.contains(&op) {
        return Err(HarnessError::Io(format!("case {case_id}: no output file for op {op:?} (not one of {OPS:?})")));
    }
    Ok(out.join(case_id).join(format!("{index}_{op}.npy")))
}
