//! instinct's errors as Python exceptions: `OSError` (with its errno, so `FileNotFoundError`
//! and friends) for files, [`ModelError`] (a `ValueError`) carrying every diagnostic as data
//! for models that cannot be loaded, `ValueError` for inputs and choices.

use instinct::format::FormatError;
use instinct::onnx::OnnxError;
use instinct::{Diagnostics, LoadError, RunError};
use pyo3::exceptions::{
    PyIsADirectoryError, PyMemoryError, PyOSError, PyRuntimeError, PyValueError,
};
use pyo3::prelude::*;
use serde_json::{Value, json};

pyo3::create_exception!(
    instinct,
    ModelError,
    PyValueError,
    "A model that cannot be loaded: not model JSON (or ONNX), breaking the format's rules, or \
     not reproducing its own validation data. `diagnostics` lists every problem as a dict with \
     `path` (where in the model), `kind` and `message`."
);

/// The diagnostics of an invalid model, one JSON object each: `path`, `kind`, the kind's own
/// fields, and `message`.
pub(crate) fn diagnostics_json(diagnostics: &Diagnostics) -> Vec<Value> {
    diagnostics
        .iter()
        .map(|d| {
            let mut value = serde_json::to_value(d).unwrap_or_else(|_| json!({}));
            if let Value::Object(fields) = &mut value {
                fields.insert("path".into(), Value::String(d.path.clone()));
                fields.insert("message".into(), Value::String(d.kind.to_string()));
            }
            value
        })
        .collect()
}

/// One diagnostic for the whole document: what made it unreadable as a model.
pub(crate) fn document_diagnostic(kind: &str, message: String) -> Value {
    json!({"path": "", "kind": kind, "message": message})
}

/// `values` as Python objects (lists of dicts), through the `json` module.
pub(crate) fn to_python<'py>(py: Python<'py>, values: &[Value]) -> PyResult<Bound<'py, PyAny>> {
    let text = serde_json::to_string(values)
        .map_err(|e| PyRuntimeError::new_err(format!("diagnostics: {e}")))?;
    py.import("json")?.call_method1("loads", (text,))
}

/// A [`ModelError`] saying `message`, with `diagnostics` attached.
pub(crate) fn model_error(py: Python<'_>, message: String, diagnostics: &[Value]) -> PyErr {
    let err = ModelError::new_err(message);
    match to_python(py, diagnostics) {
        Ok(list) => match err.value(py).setattr("diagnostics", list) {
            Ok(()) => err,
            Err(e) => e,
        },
        Err(e) => e,
    }
}

/// An `OSError` for `source` on `path`: `FileNotFoundError`, `PermissionError`, … by its errno.
pub(crate) fn os_error(path: &std::path::Path, source: &std::io::Error) -> PyErr {
    let path = path.display().to_string();
    // Python adds the errno itself: "[Errno 2] No such file or directory: 'x.json'".
    let text = source.to_string();
    let text = text
        .split(" (os error")
        .next()
        .unwrap_or_default()
        .to_string();
    match source.raw_os_error() {
        Some(code) => PyOSError::new_err((code, text, path)),
        None if source.kind() == std::io::ErrorKind::IsADirectory => {
            PyIsADirectoryError::new_err(format!("{path}: {text}"))
        }
        None => PyOSError::new_err(format!("{path}: {text}")),
    }
}

/// Why a model file could not be read or loaded. Whatever the file says is a [`ModelError`];
/// only the file system's refusals are `OSError`s.
pub(crate) fn load_error(py: Python<'_>, source: &str, e: LoadError) -> PyErr {
    match e {
        LoadError::Format(FormatError::Io { path, source }) => os_error(&path, &source),
        LoadError::Format(format) => {
            let message = format!("{source}: {format}");
            model_error(
                py,
                message.clone(),
                &[document_diagnostic("format", message)],
            )
        }
        LoadError::Invalid(diagnostics) => {
            let n = diagnostics.len();
            let message = format!(
                "{source} is not a valid model ({n} problem{}):\n{}",
                if n == 1 { "" } else { "s" },
                diagnostics
                    .iter()
                    .map(|d| format!("  {d}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
            model_error(py, message, &diagnostics_json(&diagnostics))
        }
    }
}

/// Why an ONNX file could not be converted: every node it refuses is a diagnostic.
pub(crate) fn onnx_error(py: Python<'_>, path: &std::path::Path, e: OnnxError) -> PyErr {
    let shown = path.display();
    match e {
        OnnxError::Io { path, source } => os_error(&path, &source),
        OnnxError::Unsupported(refusals) => {
            let diagnostics: Vec<Value> = refusals
                .iter()
                .map(|r| {
                    json!({"path": r.name, "kind": "unsupported_onnx", "op": r.op,
                           "message": r.to_string()})
                })
                .collect();
            let message = format!("{shown}: {}", OnnxError::Unsupported(refusals));
            model_error(py, message, &diagnostics)
        }
        other => {
            let message = format!("{shown}: {other}");
            model_error(py, message.clone(), &[document_diagnostic("onnx", message)])
        }
    }
}

/// A run that failed: the inputs or the choice of engine are the caller's (`ValueError`); the
/// machine's refusals are `MemoryError` or `RuntimeError`.
pub(crate) fn run_error(e: RunError) -> PyErr {
    match e {
        RunError::OutOfMemory { .. } => PyMemoryError::new_err(e.to_string()),
        RunError::ThreadSpawn { .. } | RunError::Unavailable { .. } | RunError::Engine(_) => {
            PyRuntimeError::new_err(e.to_string())
        }
        other => PyValueError::new_err(other.to_string()),
    }
}
