//! The native module `instinct._instinct` of the Python package `instinct-nn` (imported as
//! `instinct`): loading, converting and validating models, and `Model` (`model.rs`), which
//! predicts numpy arrays and Arrow data. See docs/PYTHON.md.

mod arrow;
mod errors;
mod model;
mod rows;

use errors::{ModelError, document_diagnostic, load_error, onnx_error, to_python};
use instinct::format::{FormatError, Limits, ModelInfo};
use instinct::{LoadError, Model};
use model::PyModel;
use pyo3::prelude::*;
use std::path::{Path, PathBuf};

/// Whether the file at `path` is ONNX rather than model JSON: by its `.onnx` name, or by its
/// first byte (JSON starts with `{` or white space; an ONNX protobuf with a field tag).
fn is_onnx(path: &Path) -> bool {
    let named = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("onnx"));
    if named {
        return true;
    }
    let mut first = [0u8; 1];
    match std::fs::File::open(path).and_then(|mut f| std::io::Read::read(&mut f, &mut first)) {
        Ok(1) => first[0] == 0x08,
        _ => false,
    }
}

/// Loads a model: instmodel JSON, or an ONNX file (converted as it loads, as `convert` does).
/// Every rule is checked and the model's own validation data rerun; a model that fails is a
/// `ModelError` listing every problem, a file that cannot be read an `OSError`.
#[pyfunction]
fn load(py: Python<'_>, path: PathBuf) -> PyResult<PyModel> {
    if is_onnx(&path) {
        return convert(py, path);
    }
    let loaded = py.detach(|| Model::load(&path));
    let model = loaded.map_err(|e| load_error(py, &path.display().to_string(), e))?;
    Ok(PyModel::new(model))
}

/// Converts an ONNX model (a scikit-learn or PyTorch export of dense layers; see docs/ONNX.md)
/// into a model. Graphs with nodes the format cannot express are a `ModelError` naming every
/// one.
#[pyfunction]
fn convert(py: Python<'_>, path: PathBuf) -> PyResult<PyModel> {
    let imported = py.detach(|| instinct::onnx::import(&path));
    let info = imported.map_err(|e| onnx_error(py, &path, e))?;
    from_info(py, info, &path.display().to_string())
}

/// A model from instmodel JSON text (what `Model.to_json()` and pickling write).
#[pyfunction]
fn from_json(py: Python<'_>, text: &str) -> PyResult<PyModel> {
    let loaded = py.detach(|| Model::from_json_str(text));
    let model = loaded.map_err(|e| load_error(py, "the model JSON", e))?;
    Ok(PyModel::new(model))
}

fn from_info(py: Python<'_>, info: ModelInfo, source: &str) -> PyResult<PyModel> {
    let model = Model::from_info(info).map_err(|e| load_error(py, source, e))?;
    Ok(PyModel::new(model))
}

/// Checks a model file without keeping it: a list of diagnostics, each a dict with `path`
/// (where in the model), `kind` and `message` (and the kind's own details); empty when the
/// model is valid. A file that is not model JSON gives one diagnostic of kind `format`; one
/// that cannot be read raises `OSError`.
#[pyfunction]
fn validate<'py>(py: Python<'py>, path: PathBuf) -> PyResult<Bound<'py, PyAny>> {
    if is_onnx(&path) {
        // An ONNX file is valid when it converts.
        return match convert(py, path) {
            Ok(_) => to_python(py, &[]),
            Err(e) if e.is_instance_of::<ModelError>(py) => e.value(py).getattr("diagnostics"),
            Err(e) => Err(e),
        };
    }
    let checked = py.detach(|| {
        let limits = Limits::default();
        let info = ModelInfo::load(&path, &limits).map_err(LoadError::Format)?;
        Model::from_info_with_limits(info, &limits).map(drop)
    });
    let diagnostics = match checked {
        Ok(()) => Vec::new(),
        Err(LoadError::Invalid(diagnostics)) => errors::diagnostics_json(&diagnostics),
        Err(LoadError::Format(FormatError::Io { path, source })) => {
            return Err(errors::os_error(&path, &source));
        }
        Err(LoadError::Format(other)) => vec![document_diagnostic("format", other.to_string())],
    };
    to_python(py, &diagnostics)
}

/// instinct: small neural networks from numpy and Arrow, with the GIL released.
#[pymodule]
fn _instinct(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<PyModel>()?;
    m.add("ModelError", py.get_type::<ModelError>())?;
    m.add_function(wrap_pyfunction!(load, m)?)?;
    m.add_function(wrap_pyfunction!(convert, m)?)?;
    m.add_function(wrap_pyfunction!(from_json, m)?)?;
    m.add_function(wrap_pyfunction!(validate, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
