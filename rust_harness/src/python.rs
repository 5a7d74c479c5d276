//! The PyO3 front end (`conformance_rust._native`): numpy arrays in and out (rust-numpy), the
//! GIL released while Rust works, every Rust error and panic raised as a Python exception of
//! this module with the message of the step that failed.

use std::path::PathBuf;

use half::f16;
use numpy::{IntoPyArray, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

use crate::engine::{catching_panics, library_versions, Engine, StepInput};
use crate::error::HarnessError;
use crate::model::OnnxModel as Model;
use crate::step::Step;
use crate::tensor::Tensor;

create_exception!(_native, RustHarnessError, PyException, "A step of the Rust harness failed.");
create_exception!(_native, UnsupportedStep, RustHarnessError, "The Rust library has no call for this step.");
create_exception!(_native, RejectedInput, RustHarnessError, "The decoder refused the input (malformed, over a limit).");
create_exception!(_native, StepFailed, RustHarnessError, "The step could not run on this input.");

fn to_py(e: HarnessError) -> PyErr {
    match e {
        HarnessError::Unsupported(m) => UnsupportedStep::new_err(m),
        HarnessError::Rejected(m) => RejectedInput::new_err(m),
        HarnessError::Failed(m) | HarnessError::Io(m) => StepFailed::new_err(m),
    }
}

fn engine(name: &str) -> PyResult<Engine> {
    Engine::from_name(name).map_err(to_py)
}

fn step(json: &str) -> PyResult<Step> {
    Step::parse(json).map_err(to_py)
}

/// A copy of a numpy array (any strides) as a tensor.
fn tensor_from_numpy(value: &Bound<'_, PyAny>) -> PyResult<Tensor> {
    if let Ok(a) = value.extract::<PyReadonlyArrayDyn<'_, u8>>() {
        return Ok(Tensor::U8(a.as_array().to_owned()));
    }
    if let Ok(a) = value.extract::<PyReadonlyArrayDyn<'_, u16>>() {
        return Ok(Tensor::U16(a.as_array().to_owned()));
    }
    if let Ok(a) = value.extract::<PyReadonlyArrayDyn<'_, f16>>() {
        return Ok(Tensor::F16(a.as_array().to_owned()));
    }
    if let Ok(a) = value.extract::<PyReadonlyArrayDyn<'_, f32>>() {
        return Ok(Tensor::F32(a.as_array().to_owned()));
    }
    if let Ok(a) = value.extract::<PyReadonlyArrayDyn<'_, f64>>() {
        return Ok(Tensor::F64(a.as_array().to_owned()));
    }
    let what = match value.cast::<numpy::PyUntypedArray>() {
        Ok(a) => format!("a numpy array of dtype {}", a.dtype()),
        Err(_) => format!("a {}", value.get_type().name()?),
    };
    Err(StepFailed::new_err(format!("expected bytes or a numpy array of uint8, uint16, float16, float32 or float64, got {what}")))
}

fn tensor_to_numpy(py: Python<'_>, t: Tensor) -> Py<PyAny> {
    match t {
        Tensor::U8(a) => a.into_pyarray(py).into_any().unbind(),
        Tensor::U16(a) => a.into_pyarray(py).into_any().unbind(),
        Tensor::F16(a) => a.into_pyarray(py).into_any().unbind(),
        Tensor::F32(a) => a.into_pyarray(py).into_any().unbind(),
        Tensor::F64(a) => a.into_pyarray(py).into_any().unbind(),
    }
}

/// Library name -> version of everything the extension links.
#[pyfunction]
fn versions(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in library_versions() {
        d.set_item(k, v)?;
    }
    Ok(d)
}

/// None if `engine` ("image" or "fir") can run the step (JSON text), else the reason.
#[pyfunction]
fn check(engine_name: &str, step_json: &str) -> PyResult<Option<String>> {
    Ok(engine(engine_name)?.check(&step(step_json)?))
}

/// The library call the step maps to.
#[pyfunction]
fn describe(engine_name: &str, step_json: &str) -> PyResult<String> {
    Ok(engine(engine_name)?.describe(&step(step_json)?))
}

/// Runs one step: `value` is the input file's bytes for decode (encoded image) and tensor
/// (`.npy`), a numpy array otherwise.
/// Returns a new numpy array; raises UnsupportedStep, RejectedInput or StepFailed.
#[pyfunction]
fn run_step(py: Python<'_>, engine_name: &str, step_json: &str, value: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    let engine = engine(engine_name)?;
    let step = step(step_json)?;
    let out = if let Ok(bytes) = value.cast::<PyBytes>() {
        let data = bytes.as_bytes().to_vec();
        py.detach(|| catching_panics(step.op(), || engine.run(&step, StepInput::Bytes(&data))))
    } else {
        let tensor = tensor_from_numpy(value)?;
        py.detach(|| catching_panics(step.op(), || engine.run(&step, StepInput::Array(tensor))))
    }
    .map_err(to_py)?;
    Ok(tensor_to_numpy(py, out))
}

/// Runs a whole pipeline (a JSON list of steps, the first a decode or a tensor) on the input file inside
/// Rust, each step on the previous output; returns the last output. One call, one GIL release:
/// what a Rust deployment's preprocessing costs without per-step crossings.
#[pyfunction]
fn run_chain(py: Python<'_>, engine_name: &str, steps_json: &str, data: &Bound<'_, PyBytes>) -> PyResult<Py<PyAny>> {
    let engine = engine(engine_name)?;
    let values: Vec<serde_json::Value> = serde_json::from_str(steps_json)
        .map_err(|e| StepFailed::new_err(format!("steps must be a JSON list of step objects: {e}")))?;
    let steps = values.iter().map(Step::from_json).collect::<Result<Vec<_>, _>>().map_err(to_py)?;
    let bytes = data.as_bytes().to_vec();
    let out = py.detach(|| catching_panics("pipeline", || engine.run_chain(&steps, &bytes))).map_err(to_py)?;
    Ok(tensor_to_numpy(py, out))
}

/// An ONNX model run by tract (see the Rust module `model`).
#[pyclass(module = "conformance_rust._native", name = "OnnxModel", frozen)]
struct OnnxModel {
    inner: Model,
}

#[pymethods]
impl OnnxModel {
    /// Loads a model from its serialized bytes or from a file path.
    #[new]
    fn new(py: Python<'_>, source: &Bound<'_, PyAny>) -> PyResult<Self> {
        let inner = if let Ok(bytes) = source.cast::<PyBytes>() {
            let data = bytes.as_bytes().to_vec();
            py.detach(|| catching_panics("loading the model", || Model::from_bytes(&data)))
        } else {
            let path: PathBuf = source.extract()?;
            py.detach(|| catching_panics("loading the model", || Model::from_path(&path)))
        }
        .map_err(to_py)?;
        Ok(OnnxModel { inner })
    }

    /// The model's input names.
    #[getter]
    fn inputs(&self) -> Vec<String> {
        self.inner.io_names().0
    }

    /// The model's output names.
    #[getter]
    fn outputs(&self) -> Vec<String> {
        self.inner.io_names().1
    }

    /// Runs the model on one input array; returns the list of its outputs.
    fn run<'py>(&self, py: Python<'py>, input: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
        let tensor = tensor_from_numpy(input)?;
        let outputs = py.detach(|| catching_panics("running the model", || self.inner.run(tensor))).map_err(to_py)?;
        PyList::new(py, outputs.into_iter().map(|t| tensor_to_numpy(py, t)))
    }
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_function(wrap_pyfunction!(versions, m)?)?;
    m.add_function(wrap_pyfunction!(check, m)?)?;
    m.add_function(wrap_pyfunction!(describe, m)?)?;
    m.add_function(wrap_pyfunction!(run_step, m)?)?;
    m.add_function(wrap_pyfunction!(run_chain, m)?)?;
    m.add_class::<OnnxModel>()?;
    m.add("RustHarnessError", py.get_type::<RustHarnessError>())?;
    m.add("UnsupportedStep", py.get_type::<UnsupportedStep>())?;
    m.add("RejectedInput", py.get_type::<RejectedInput>())?;
    m.add("StepFailed", py.get_type::<StepFailed>())?;
    Ok(())
}

