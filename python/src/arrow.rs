//! `Model.predict_arrow`: Arrow data in over the C data interface (the PyCapsule protocol:
//! pyarrow tables, record batches and readers, polars, DuckDB…), columns matched by name and
//! converted by instinct-io's columnar reader, outputs made into record batches by its
//! writer's `record_batch`, back as a `pyarrow.Table`. No value
//! becomes a Python object; the GIL is released while batches are read and predicted.

use crate::errors::run_error;
use crate::model::PyModel;
use arrow_array::{RecordBatch, RecordBatchIterator, RecordBatchReader, new_empty_array};
use arrow_pyarrow::{FromPyArrow, IntoPyArrow};
use arrow_schema::{ArrowError, Schema, SchemaRef};
use instinct_io::{
    Chunk, Columns, DataError, DataErrorKind, KeptColumn, OutputColumns, ReadOptions,
};
use pyo3::exceptions::{PyMemoryError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;

/// Predicts `data` (see `Model.predict_arrow`).
pub(crate) fn predict_arrow<'py>(
    model: &PyModel,
    data: &Bound<'py, PyAny>,
    threads: Option<i64>,
    engine: &str,
    keep: Option<Vec<String>>,
    allow_nonfinite: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let py = data.py();
    // The result is a pyarrow.Table: without pyarrow, say so before any work.
    py.import("pyarrow")?;
    let runner = model.runner(engine, threads)?;
    let (schema, batches) = import(data)?;
    let keep = keep.unwrap_or_default();
    let columns = Columns {
        size: model.model.feature_size(),
        names: model.feature_names.clone(),
        keep: keep.clone(),
    };
    let options = ReadOptions {
        allow_nonfinite,
        ..ReadOptions::default()
    };
    let output_names = model.model.output_names();
    let clash: Vec<&String> = keep.iter().filter(|k| output_names.contains(k)).collect();
    if !clash.is_empty() {
        return Err(PyValueError::new_err(format!(
            "keep names {clash:?}, which the outputs are called too"
        )));
    }
    let output_columns = OutputColumns {
        kept: keep.clone(),
        outputs: output_names,
    };
    let mut results: Vec<RecordBatch> = Vec::new();
    let mut failed: Option<instinct::RunError> = None;
    let read = py.detach(|| {
        instinct_io::read::read_record_batches(
            "the Arrow data",
            &schema,
            batches,
            &columns,
            options,
            &mut |chunk: Chunk| {
                let outputs = runner.run(chunk.rows, &chunk.values).map_err(|e| {
                    let message = e.to_string();
                    failed = Some(e);
                    DataError::invalid(message)
                })?;
                let chunk = Chunk {
                    values: outputs,
                    ..chunk
                };
                let first = results.first().map(RecordBatch::schema);
                let batch = instinct_io::write::record_batch(&chunk, &output_columns, first)
                    .map_err(|e| DataError::unreadable(e.to_string()))?;
                results.push(batch);
                Ok(())
            },
        )
    });
    if let Some(e) = failed {
        return Err(run_error(e));
    }
    read.map_err(data_error)?;
    let out_schema = match results.first() {
        Some(batch) => batch.schema(),
        None => empty_schema(&schema, &output_columns)?,
    };
    let reader: Box<dyn RecordBatchReader + Send> = Box::new(RecordBatchIterator::new(
        results.into_iter().map(Ok),
        out_schema,
    ));
    reader
        .into_pyarrow(py)?
        .call_method0(intern!(py, "read_all"))
}

/// The schema and batches of an Arrow object: a stream (`__arrow_c_stream__`: tables, readers)
/// read as it comes, or one record batch (`__arrow_c_array__`).
#[allow(clippy::type_complexity)]
fn import(
    data: &Bound<'_, PyAny>,
) -> PyResult<(
    SchemaRef,
    Box<dyn Iterator<Item = Result<RecordBatch, ArrowError>> + Send>,
)> {
    let py = data.py();
    if data.hasattr(intern!(py, "__arrow_c_stream__"))? {
        let stream = arrow_array::ffi_stream::RecordBatchStreamReader::from_pyarrow_bound(data)?;
        return Ok((stream.schema(), Box::new(stream)));
    }
    if data.hasattr(intern!(py, "__arrow_c_array__"))? {
        let batch = RecordBatch::from_pyarrow_bound(data)?;
        return Ok((batch.schema(), Box::new(std::iter::once(Ok(batch)))));
    }
    Err(PyTypeError::new_err(format!(
        "predict_arrow takes Arrow data (a pyarrow Table, RecordBatch or RecordBatchReader, or \
         any object with __arrow_c_stream__ or __arrow_c_array__), not {}; for numpy arrays \
         and DataFrames use predict",
        data.get_type().name()?
    )))
}

/// The output schema of data without rows: the kept columns with their input types.
fn empty_schema(input: &Schema, columns: &OutputColumns) -> PyResult<SchemaRef> {
    let mut kept = Vec::with_capacity(columns.kept.len());
    for name in &columns.kept {
        let field = input
            .field_with_name(name)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        kept.push(KeptColumn::Arrow(new_empty_array(field.data_type())));
    }
    let empty = Chunk {
        first_row: 0,
        rows: 0,
        values: Vec::new(),
        kept,
    };
    let batch = instinct_io::write::record_batch(&empty, columns, None)
        .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
    Ok(batch.schema())
}

/// instinct-io's error as a Python exception: bad values and missing columns are the
/// caller's (`ValueError`), unreadable data a `RuntimeError`.
fn data_error(e: DataError) -> PyErr {
    match e.kind {
        DataErrorKind::Invalid => PyValueError::new_err(
            e.to_string()
                .replace("pass --allow-nonfinite", "pass allow_nonfinite=True"),
        ),
        DataErrorKind::Unreadable if e.to_string().contains("not enough memory") => {
            PyMemoryError::new_err(e.to_string())
        }
        _ => PyRuntimeError::new_err(e.to_string()),
    }
}
