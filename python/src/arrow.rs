//! `Model.predict_arrow`: Arrow data in over the C data interface (the PyCapsule protocol:
//! pyarrow tables, record batches and readers, polars, DuckDB…), columns matched by name and
//! converted by instinct-io's columnar reader, outputs back as a `pyarrow.Table`. No value
//! becomes a Python object; the GIL is released while batches are read and predicted.

use crate::errors::run_error;
use crate::model::PyModel;
use arrow_array::{ArrayRef, Float32Array, RecordBatch, RecordBatchIterator, RecordBatchReader};
use arrow_pyarrow::{FromPyArrow, IntoPyArrow};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};
use instinct_io::{Chunk, Columns, DataError, DataErrorKind, KeptColumn, ReadOptions};
use pyo3::exceptions::{PyMemoryError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use std::sync::Arc;

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
    let out_schema = output_schema(&schema, &keep, &output_names)?;
    let outputs = model.model.output_size();
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
                let mut values = zeroed(chunk.rows.saturating_mul(outputs))?;
                runner
                    .run_into(chunk.rows, &chunk.values, &mut values)
                    .map_err(|e| {
                        let message = e.to_string();
                        failed = Some(e);
                        DataError::invalid(message)
                    })?;
                results.push(
                    output_batch(&out_schema, chunk, &values, outputs)
                        .map_err(|e| DataError::unreadable(e.to_string()))?,
                );
                Ok(())
            },
        )
    });
    if let Some(e) = failed {
        return Err(run_error(e));
    }
    read.map_err(data_error)?;
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

/// The output schema: the kept columns with their input types, then a float32 column per
/// output.
fn output_schema(input: &Schema, keep: &[String], outputs: &[String]) -> PyResult<SchemaRef> {
    let mut fields: Vec<Field> = Vec::with_capacity(keep.len() + outputs.len());
    for name in keep {
        // A name the input lacks is named by the reader, with the others missing.
        if let Ok(field) = input.field_with_name(name) {
            fields.push(field.clone());
        }
    }
    fields.extend(
        outputs
            .iter()
            .map(|name| Field::new(name, DataType::Float32, false)),
    );
    Ok(Arc::new(Schema::new(fields)))
}

/// The record batch of one chunk's kept columns and outputs (`values`, rows of `outputs`).
fn output_batch(
    schema: &SchemaRef,
    chunk: Chunk,
    values: &[f32],
    outputs: usize,
) -> Result<RecordBatch, ArrowError> {
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    for kept in chunk.kept {
        match kept {
            KeptColumn::Arrow(array) => columns.push(array),
            other => {
                return Err(ArrowError::InvalidArgumentError(format!(
                    "a kept column arrived as {other:?}"
                )));
            }
        }
    }
    for j in 0..outputs {
        let mut column = Vec::new();
        column.try_reserve_exact(chunk.rows).map_err(|_| {
            ArrowError::MemoryError(format!("not enough memory for {} values", chunk.rows))
        })?;
        column.extend(values.iter().skip(j).step_by(outputs.max(1)).copied());
        columns.push(Arc::new(Float32Array::from(column)));
    }
    RecordBatch::try_new(schema.clone(), columns)
}

/// `len` zeros, or instinct-io's error saying memory ran out.
fn zeroed(len: usize) -> Result<Vec<f32>, DataError> {
    let mut values = Vec::new();
    values
        .try_reserve_exact(len)
        .map_err(|_| DataError::unreadable(format!("not enough memory for {len} output values")))?;
    values.resize(len, 0.0);
    Ok(values)
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
