//! `instinct.Model`: a loaded model with its engines (made once per engine and thread count,
//! then reused), numpy and Arrow prediction with the GIL released, labels, pickling as the
//! model's JSON.

use crate::errors::run_error;
use crate::rows::{first_nonfinite, nonfinite_error, outputs, rows, writable};
use instinct::format::ClassLabel;
use instinct::{EngineChoice, MAX_THREADS, Model, Runner};
use numpy::prelude::*;
use numpy::{PyArray1, PyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};
use std::sync::{Arc, Mutex, OnceLock};

/// Below this many multiply-adds a call keeps the GIL: releasing and taking it back costs
/// more than the work (about 0.1 µs against a few µs of arithmetic).
const DETACH_WORK: usize = 1 << 15;

/// An engine made for a model, with the choice and thread count it was made for.
type CachedRunner = (EngineChoice, Option<usize>, Arc<dyn Runner>);

/// A validated model, ready to predict. Load one with `instinct.load(path)`.
#[pyclass(module = "instinct", name = "Model", frozen)]
pub struct PyModel {
    pub(crate) model: Model,
    /// One name per input value, when the model names its features.
    pub(crate) feature_names: Option<Vec<String>>,
    /// Multiply-adds a row costs (the weights, roughly).
    work_per_row: usize,
    /// The engine of `engine="auto"` on every core: the common case, without a lock.
    default_runner: OnceLock<Arc<dyn Runner>>,
    /// The other engines asked for so far.
    runners: Mutex<Vec<CachedRunner>>,
}

impl PyModel {
    /// Wraps a loaded model.
    pub(crate) fn new(model: Model) -> PyModel {
        let info = model.info();
        let work_per_row = info.weights.iter().flatten().map(Vec::len).sum::<usize>()
            + info.bias.iter().map(Vec::len).sum::<usize>()
            + model.feature_size()
            + 1;
        PyModel {
            feature_names: model.feature_names(),
            work_per_row,
            model,
            default_runner: OnceLock::new(),
            runners: Mutex::new(Vec::new()),
        }
    }

    /// The engine `engine` on `threads` threads, made on first use.
    pub(crate) fn runner(&self, engine: &str, threads: Option<i64>) -> PyResult<Arc<dyn Runner>> {
        let threads = match threads {
            None => None,
            Some(n) if (1..=MAX_THREADS as i64).contains(&n) => Some(n as usize),
            Some(n) => {
                return Err(PyValueError::new_err(format!(
                    "threads={n}: ask for 1 to {MAX_THREADS} threads, or None for every core"
                )));
            }
        };
        let choice: EngineChoice = if engine == "auto" {
            EngineChoice::Auto
        } else {
            engine.parse().map_err(PyValueError::new_err)?
        };
        if choice == EngineChoice::Auto && threads.is_none() {
            if let Some(runner) = self.default_runner.get() {
                return Ok(runner.clone());
            }
            let runner = self.make_runner(choice, threads)?;
            return Ok(self.default_runner.get_or_init(|| runner).clone());
        }
        let mut runners = self.runners.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, _, runner)) = runners
            .iter()
            .find(|(c, t, _)| *c == choice && *t == threads)
        {
            return Ok(runner.clone());
        }
        let runner = self.make_runner(choice, threads)?;
        runners.push((choice, threads, runner.clone()));
        Ok(runner)
    }

    fn make_runner(
        &self,
        choice: EngineChoice,
        threads: Option<usize>,
    ) -> PyResult<Arc<dyn Runner>> {
        let runner = self.model.runner(choice, threads).map_err(run_error)?;
        Ok(Arc::from(runner))
    }

    /// Whether a call of `rows` rows is worth releasing the GIL for.
    fn worth_detaching(&self, rows: usize) -> bool {
        rows.saturating_mul(self.work_per_row) >= DETACH_WORK
    }
}

/// Why a prediction stopped, told apart once the GIL is back.
enum Failure {
    NonFinite((usize, usize)),
    Run(instinct::RunError),
}

/// A label as a Python object: an int or a str.
fn label_object<'py>(py: Python<'py>, label: &ClassLabel) -> PyResult<Bound<'py, PyAny>> {
    Ok(match label {
        ClassLabel::Int(i) => i.into_pyobject(py)?.into_any(),
        ClassLabel::Text(t) => t.into_pyobject(py)?.into_any(),
    })
}

#[pymethods]
impl PyModel {
    /// Predicts the rows of `x` (a 2-D array of numbers, one row per sample) and returns a
    /// float32 array of one row of outputs per sample.
    #[pyo3(signature = (x, threads=None, engine="auto", *, out=None, allow_nonfinite=false))]
    fn predict<'py>(
        &self,
        x: &Bound<'py, PyAny>,
        threads: Option<i64>,
        engine: &str,
        out: Option<&Bound<'py, PyAny>>,
        allow_nonfinite: bool,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let py = x.py();
        let runner = self.runner(engine, threads)?;
        let names = self.feature_names.as_deref();
        let rows = rows(x, self.model.feature_size(), names)?;
        let count = rows.count();
        let output_array = outputs(py, out, count, self.model.output_size())?;
        let inputs = rows.values()?;
        // SAFETY: `output_array` is written only through `results`, during this call.
        let results = unsafe { writable(&output_array, inputs) }?;
        let width = self.model.feature_size();
        let mut run = move || -> Result<(), Failure> {
            if !allow_nonfinite && let Some(at) = first_nonfinite(inputs, width) {
                return Err(Failure::NonFinite(at));
            }
            runner
                .run_into(count, inputs, results)
                .map_err(Failure::Run)
        };
        let done = if self.worth_detaching(count) {
            py.detach(run)
        } else {
            run()
        };
        match done {
            Ok(()) => Ok(output_array),
            Err(Failure::NonFinite(at)) => Err(nonfinite_error(&rows, at, names)),
            Err(Failure::Run(e)) => Err(run_error(e)),
        }
    }

    /// The class label of each row of `x`: the label of its largest output (the first of
    /// equals; NaN never wins), as scikit-learn's `predict()` gives. An int64 array for
    /// integer labels, else an array of str objects.
    #[pyo3(signature = (x, threads=None, engine="auto", *, allow_nonfinite=false))]
    fn predict_label<'py>(
        &self,
        x: &Bound<'py, PyAny>,
        threads: Option<i64>,
        engine: &str,
        allow_nonfinite: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = x.py();
        let Some(labels) = self.model.labels() else {
            return Err(PyValueError::new_err(
                "the model has no class labels (instinct train stores them for a \
                 classification target; instinct.convert keeps a scikit-learn classifier's)",
            ));
        };
        let outputs = self.predict(x, threads, engine, None, allow_nonfinite)?;
        // SAFETY: a new C-contiguous array that only this call holds.
        let values = unsafe { outputs.as_slice() }?;
        let width = labels.len().max(1);
        let mut best = Vec::with_capacity(values.len() / width);
        for (r, row) in values.chunks_exact(width).enumerate() {
            match instinct::labels::best_class(row) {
                Some(c) => best.push(c),
                None => {
                    return Err(PyValueError::new_err(format!(
                        "row {r}: every output is NaN, so it has no class"
                    )));
                }
            }
        }
        if labels.iter().all(|l| matches!(l, ClassLabel::Int(_))) {
            let ints: Vec<i64> = best
                .iter()
                .map(|&c| match &labels[c] {
                    ClassLabel::Int(i) => *i,
                    ClassLabel::Text(_) => 0,
                })
                .collect();
            return Ok(PyArray1::from_vec(py, ints).into_any());
        }
        let objects: Vec<Bound<'py, PyAny>> = best
            .iter()
            .map(|&c| label_object(py, &labels[c]))
            .collect::<PyResult<_>>()?;
        let list = PyList::new(py, objects)?;
        let numpy = py.import("numpy")?;
        let kwargs = pyo3::types::PyDict::new(py);
        kwargs.set_item("dtype", "object")?;
        numpy.getattr("array")?.call((list,), Some(&kwargs))
    }

    /// Predicts an Arrow table or record batch (pyarrow's, or anything with
    /// `__arrow_c_stream__` / `__arrow_c_array__`): its columns are matched to the features
    /// by name (others ignored; for a model without feature names, the columns not kept are
    /// its features, in order), and a `pyarrow.Table` of float32 output columns comes back,
    /// after the `keep` columns copied through.
    #[pyo3(signature = (data, threads=None, engine="auto", *, keep=None, allow_nonfinite=false))]
    fn predict_arrow<'py>(
        &self,
        data: &Bound<'py, PyAny>,
        threads: Option<i64>,
        engine: &str,
        keep: Option<Vec<String>>,
        allow_nonfinite: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        crate::arrow::predict_arrow(self, data, threads, engine, keep, allow_nonfinite)
    }

    /// One line on the engine that `engine` and `threads` choose and why.
    #[pyo3(signature = (threads=None, engine="auto"))]
    fn describe(&self, threads: Option<i64>, engine: &str) -> PyResult<String> {
        Ok(self.runner(engine, threads)?.describe())
    }

    /// The diagnostics of this model: none, as it loaded (`instinct.validate(path)` checks a
    /// file without loading it).
    fn validate<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        Ok(PyList::empty(py))
    }

    /// The feature names, one per input value (`b[3]` expands to three), or None.
    #[getter]
    fn feature_names(&self) -> Option<Vec<String>> {
        self.feature_names.clone()
    }

    /// The output names: the model's, else its class labels, else `output_0`, `output_1`, …
    #[getter]
    fn output_names(&self) -> Vec<String> {
        self.model.output_names()
    }

    /// A classifier's class labels (ints or strs, one per output), or None.
    #[getter]
    fn labels<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyList>>> {
        let Some(labels) = self.model.labels() else {
            return Ok(None);
        };
        let objects: Vec<Bound<'py, PyAny>> = labels
            .iter()
            .map(|l| label_object(py, l))
            .collect::<PyResult<_>>()?;
        Ok(Some(PyList::new(py, objects)?))
    }

    /// Input values per row.
    #[getter]
    fn feature_count(&self) -> usize {
        self.model.feature_size()
    }

    /// Output values per row.
    #[getter]
    fn output_count(&self) -> usize {
        self.model.output_size()
    }

    /// The model as instmodel JSON text.
    fn to_json(&self) -> String {
        self.model.info().to_json_string()
    }

    /// Writes the model as instmodel JSON to `path`.
    fn save(&self, path: std::path::PathBuf) -> PyResult<()> {
        self.model.info().save(&path).map_err(|e| match e {
            instinct::FormatError::Io { path, source } => crate::errors::os_error(&path, &source),
            other => PyValueError::new_err(other.to_string()),
        })
    }

    /// Pickles as the model's JSON, so Dask, Ray, Spark and multiprocessing can ship a model
    /// to their workers (where it is validated again as it loads).
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let rebuild = py.import("instinct._instinct")?.getattr("from_json")?;
        PyTuple::new(
            py,
            [rebuild, PyTuple::new(py, [self.to_json()])?.into_any()],
        )
    }

    fn __repr__(&self) -> String {
        let sizes = &self.model.info().buffer_sizes;
        let names = |list: &[String]| {
            if list.len() <= 6 {
                format!("{list:?}")
            } else {
                format!("{:?}… ({} in all)", &list[..5], list.len())
            }
        };
        format!(
            "<instinct.Model: {} inputs, {} outputs, {} buffers; features {}; outputs {}>",
            self.model.feature_size(),
            self.model.output_size(),
            sizes.len(),
            self.feature_names
                .as_deref()
                .map_or_else(|| "unnamed".to_string(), names),
            names(&self.model.output_names())
        )
    }
}
