//! ONNX models with tract (`tract-onnx` 0.23.9): the pipeline step graphs the Python side builds
//! (`conformance/harnesses/onnx_graphs.py`, the same bytes ONNX Runtime runs) and real trained
//! models.
//!
//! Loading: `tract_onnx::onnx().with_ignore_value_info(true).model_for_read(..)`. Ignoring the
//! model's `value_info` is required for exported models whose intermediate shapes carry a
//! symbolic batch (e.g. `DynamicDimension.0` in PaddleOCR's PP-LCNet export), which tract
//! otherwise refuses to unify with a concrete input; inputs and outputs keep their declared
//! facts. Per input shape and dtype the model is specialised with `with_input_fact`,
//! `into_optimized()` and `into_runnable()`, and the plan is cached.
//!
//! A model or graph tract cannot load, analyse or optimise is `Unsupported` with tract's own
//! message (e.g. an attribute value it rejects); an error while running is `Failed`.

use std::collections::HashMap;
use std::io::Cursor;
use std::path::Path;
use std::sync::{Arc, Mutex};

use tract_onnx::prelude::{
    DatumType, Framework, InferenceFact, InferenceModel, InferenceModelExt, IntoRunnable, Tensor as TractTensor,
    TValue, TypedRunnableModel, TVec,
};

use crate::error::{HarnessError, Result};
use crate::tensor::Tensor;
use crate::{each_dtype, failed};

type Plan = Arc<TypedRunnableModel>;

/// An ONNX model loaded by tract, runnable on inputs of any shape its graph accepts.
pub struct OnnxModel {
    model: InferenceModel,
    plans: Mutex<HashMap<(Vec<usize>, DatumType), Plan>>,
}

/// tract's whole cause chain on one line (`{:#}` of an anyhow error: "a: b: c", no backtrace).
fn chain(e: &anyhow::Error) -> String {
    format!("{e:#}").replace('\n', " ")
}

fn rejected_by_tract(what: &str, e: anyhow::Error) -> HarnessError {
    HarnessError::Unsupported(format!("tract {what}: {}", chain(&e)))
}

/// A failure while running: `Unsupported` when tract says an operator has no kernel for the
/// input's type (e.g. "RoundHalfToEven does not support F64"), which tract only discovers when
/// it evaluates the node; any other run error is `Failed`.
fn run_error(e: anyhow::Error) -> HarnessError {
    let text = chain(&e);
    if text.contains("does not support") || text.contains("not supported") {
        HarnessError::Unsupported(format!("tract: {text}"))
    } else {
        HarnessError::Failed(format!("tract run failed: {text}"))
    }
}

impl OnnxModel {
    /// Loads a serialized ONNX model.
    pub fn from_bytes(bytes: &[u8]) -> Result<OnnxModel> {
        let model = tract_onnx::onnx()
            .with_ignore_value_info(true)
            .model_for_read(&mut Cursor::new(bytes))
            .map_err(|e| rejected_by_tract("cannot load the model", e))?;
        Ok(OnnxModel { model, plans: Mutex::new(HashMap::new()) })
    }

    /// Loads an ONNX model file.
    pub fn from_path(path: &Path) -> Result<OnnxModel> {
        let bytes = std::fs::read(path).map_err(|e| HarnessError::Io(format!("{}: {e}", path.display())))?;
        OnnxModel::from_bytes(&bytes).map_err(|e| match e {
            HarnessError::Unsupported(_) => e.with_prefix(&path.display().to_string()),
            other => other,
        })
    }

    /// Names of the model's inputs and outputs.
    pub fn io_names(&self) -> (Vec<String>, Vec<String>) {
        let name = |o: &tract_onnx::prelude::OutletId| self.model.node(o.node).name.clone();
        (self.model.input_outlets().unwrap_or(&[]).iter().map(name).collect(),
         self.model.output_outlets().unwrap_or(&[]).iter().map(name).collect())
    }

    /// The runnable plan for one input shape and dtype (built once, then cached).
    fn plan(&self, shape: &[usize], dt: DatumType) -> Result<Plan> {
        let key = (shape.to_vec(), dt);
        if let Some(plan) = self.plans.lock().expect("plan cache").get(&key) {
            return Ok(plan.clone());
        }
        let fact = InferenceFact::dt_shape(dt, shape.iter().copied().collect::<TVec<usize>>());
        let plan = self.model.clone()
            .with_input_fact(0, fact)
            .and_then(|m| m.into_optimized())
            .map_err(|e| rejected_by_tract(&format!("cannot prepare the model for a {shape:?} {dt:?} input"), e))?
            .into_runnable()
            .map_err(|e| rejected_by_tract("cannot plan the model", e))?;
        self.plans.lock().expect("plan cache").insert(key, plan.clone());
        Ok(plan)
    }

    /// Runs the model on one input; returns its outputs in order.
    pub fn run(&self, input: Tensor) -> Result<Vec<Tensor>> {
        let input = to_tract(input);
        let plan = self.plan(input.shape(), input.datum_type())?;
        let inputs: TVec<TValue> = std::iter::once(input.into()).collect();
        let outputs = plan.run(inputs)
            .map_err(run_error)?;
        outputs.iter().map(|t| from_tract(t)).collect()
    }
}

fn to_tract(t: Tensor) -> TractTensor {
    each_dtype!(t, a => TractTensor::from(a))
}

fn from_tract(t: &TractTensor) -> Result<Tensor> {
    let bad = |e| failed!("tract output: {e:?}");
    Ok(match t.datum_type() {
        DatumType::U8 => Tensor::U8(t.to_plain_array_view::<u8>().map_err(bad)?.to_owned()),
        DatumType::U16 => Tensor::U16(t.to_plain_array_view::<u16>().map_err(bad)?.to_owned()),
        DatumType::F16 => Tensor::F16(t.to_plain_array_view::<half::f16>().map_err(bad)?.to_owned()),
        DatumType::F32 => Tensor::F32(t.to_plain_array_view::<f32>().map_err(bad)?.to_owned()),
        DatumType::F64 => Tensor::F64(t.to_plain_array_view::<f64>().map_err(bad)?.to_owned()),
        other => return Err(failed!("tract returned {other:?} samples, not one of the bundle's dtypes")),
    })
}
