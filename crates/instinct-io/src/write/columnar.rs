//! Parquet and Arrow IPC output: each chunk becomes a record batch (the kept columns with their
//! types, then one Float32 column per output), encoded into a buffer that is passed on to the
//! output after every chunk; and the cells of kept Arrow columns as CSV text and JSON values.

use crate::chunk::{Chunk, KeptColumn};
use crate::columns::OutputColumns;
use crate::format::DataFormat;
use arrow_array::cast::AsArray;
use arrow_array::{
    Array, ArrayRef, BooleanArray, Float32Array, Float64Array, Int64Array, RecordBatch, StringArray,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use serde_json::Value;
use std::io::Write;
use std::sync::Arc;

/// A Parquet row group holds at most this many rows…
#[cfg(feature = "parquet")]
const ROW_GROUP_ROWS: usize = 1 << 20;
/// …and at most this many bytes once encoded, so that the writer's memory stays bounded.
#[cfg(feature = "parquet")]
const ROW_GROUP_BYTES: usize = 64 << 20;

/// Where the encoded batches go before they are passed on.
enum Sink {
    #[cfg(feature = "parquet")]
    Parquet(Box<parquet::arrow::ArrowWriter<Vec<u8>>>),
    File(arrow_ipc::writer::FileWriter<Vec<u8>>),
    Stream(arrow_ipc::writer::StreamWriter<Vec<u8>>),
}

/// Writes chunks as Parquet, an Arrow IPC file or an Arrow IPC stream.
pub(super) struct ColumnarWriter {
    format: DataFormat,
    /// Made at the first chunk, whose kept columns give the schema their types.
    sink: Option<Sink>,
    schema: Option<SchemaRef>,
}

fn io_error(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

impl ColumnarWriter {
    pub(super) fn new(format: DataFormat) -> ColumnarWriter {
        ColumnarWriter {
            format,
            sink: None,
            schema: None,
        }
    }

    /// Encodes `chunk` and passes what is ready on to `out`.
    pub(super) fn write(
        &mut self,
        chunk: &Chunk,
        columns: &OutputColumns,
        out: &mut dyn Write,
    ) -> std::io::Result<()> {
        let batch = record_batch(chunk, columns, self.schema.clone())?;
        let sink = match &mut self.sink {
            Some(sink) => sink,
            None => {
                self.schema = Some(batch.schema());
                self.sink.insert(Sink::new(self.format, batch.schema())?)
            }
        };
        sink.write(&batch)?;
        sink.drain(out)
    }

    /// Ends the file (a Parquet footer, an Arrow file's index or a stream's end marker).
    pub(super) fn finish(
        mut self,
        columns: &OutputColumns,
        out: &mut dyn Write,
    ) -> std::io::Result<()> {
        let sink = match &mut self.sink {
            Some(sink) => sink,
            // No rows: the kept columns' types are unknown, so they are written as nulls.
            None => {
                let empty = Chunk {
                    first_row: 0,
                    rows: 0,
                    values: Vec::new(),
                    kept: vec![KeptColumn::Json(Vec::new()); columns.kept.len()],
                };
                let schema = record_batch(&empty, columns, None)?.schema();
                self.sink.insert(Sink::new(self.format, schema)?)
            }
        };
        sink.finish()?;
        sink.drain(out)
    }
}

impl Sink {
    fn new(format: DataFormat, schema: SchemaRef) -> std::io::Result<Sink> {
        match format {
            #[cfg(feature = "parquet")]
            DataFormat::Parquet => {
                use parquet::basic::Compression;
                use parquet::file::properties::WriterProperties;
                // Snappy, as pyarrow and pandas write by default.
                let properties = WriterProperties::builder()
                    .set_compression(Compression::SNAPPY)
                    .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
                    .set_max_row_group_bytes(Some(ROW_GROUP_BYTES))
                    .build();
                let writer =
                    parquet::arrow::ArrowWriter::try_new(Vec::new(), schema, Some(properties))
                        .map_err(io_error)?;
                Ok(Sink::Parquet(Box::new(writer)))
            }
            DataFormat::Arrow => Ok(Sink::File(
                arrow_ipc::writer::FileWriter::try_new(Vec::new(), &schema).map_err(io_error)?,
            )),
            DataFormat::ArrowStream => Ok(Sink::Stream(
                arrow_ipc::writer::StreamWriter::try_new(Vec::new(), &schema).map_err(io_error)?,
            )),
            other => {
                other.check_built().map_err(io_error)?;
                Err(io_error(format!(
                    "{} is not a columnar format",
                    other.name()
                )))
            }
        }
    }

    fn write(&mut self, batch: &RecordBatch) -> std::io::Result<()> {
        match self {
            #[cfg(feature = "parquet")]
            Sink::Parquet(w) => w.write(batch).map_err(io_error),
            Sink::File(w) => w.write(batch).map_err(io_error),
            Sink::Stream(w) => w.write(batch).map_err(io_error),
        }
    }

    fn finish(&mut self) -> std::io::Result<()> {
        match self {
            #[cfg(feature = "parquet")]
            Sink::Parquet(w) => w.finish().map(drop).map_err(io_error),
            Sink::File(w) => w.finish().map_err(io_error),
            Sink::Stream(w) => w.finish().map_err(io_error),
        }
    }

    /// Passes the bytes encoded so far on to `out`.
    fn drain(&mut self, out: &mut dyn Write) -> std::io::Result<()> {
        // Taking bytes out of the buffer does not disturb the writers' own count of offsets.
        let buffer = match self {
            #[cfg(feature = "parquet")]
            Sink::Parquet(w) => w.inner_mut(),
            Sink::File(w) => w.get_mut(),
            Sink::Stream(w) => w.get_mut(),
        };
        out.write_all(buffer)?;
        buffer.clear();
        Ok(())
    }
}

/// The chunk as a record batch: kept columns first, then a Float32 column per output (the
/// chunk's `values` being the outputs, `columns.outputs.len()` a row). With a `schema` (the
/// first batch's), the kept columns are made to its types, and a kept column of another type is
/// an error naming it.
pub fn record_batch(
    chunk: &Chunk,
    columns: &OutputColumns,
    schema: Option<SchemaRef>,
) -> std::io::Result<RecordBatch> {
    let width = columns.outputs.len();
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(columns.kept.len() + width);
    for (j, kept) in chunk.kept.iter().enumerate() {
        let wanted = schema.as_ref().map(|s| s.field(j).data_type().clone());
        arrays.push(kept_array(kept, &columns.kept[j], wanted, chunk.first_row)?);
    }
    for o in 0..width {
        let column: Vec<f32> = chunk
            .values
            .iter()
            .skip(o)
            .step_by(width)
            .copied()
            .collect();
        arrays.push(Arc::new(Float32Array::from(column)));
    }
    let schema = match schema {
        Some(schema) => schema,
        None => {
            let kept = columns.kept.iter().zip(&arrays);
            let mut fields: Vec<Field> = kept
                .map(|(name, array)| Field::new(name, array.data_type().clone(), true))
                .collect();
            fields.extend(
                columns
                    .outputs
                    .iter()
                    .map(|name| Field::new(name, DataType::Float32, false)),
            );
            Arc::new(Schema::new(fields))
        }
    };
    RecordBatch::try_new(schema, arrays).map_err(io_error)
}

/// A kept column as an Arrow array: Arrow columns as they are; CSV text as strings; JSON values
/// as Int64, Float64, Boolean or strings by what the first chunk holds (`wanted` is the type
/// chosen then; strings when it holds only nulls), other values (arrays, objects) as their
/// JSON text. `first_row` is the chunk's first row in the input, for messages.
fn kept_array(
    kept: &KeptColumn,
    name: &str,
    wanted: Option<DataType>,
    first_row: usize,
) -> std::io::Result<ArrayRef> {
    let array: ArrayRef = match kept {
        KeptColumn::Arrow(array) => array.clone(),
        KeptColumn::Text(cells) => Arc::new(StringArray::from_iter_values(cells)),
        KeptColumn::Json(cells) => {
            let data_type = wanted.clone().unwrap_or_else(|| json_type(cells));
            json_array(cells, &data_type).map_err(|(r, value)| {
                io_error(format!(
                    "kept column {name:?} holds {value} at row {}, after its first rows made it a \
                     {data_type} column",
                    first_row + r + 1
                ))
            })?
        }
    };
    match wanted {
        Some(wanted) if array.data_type() != &wanted => Err(io_error(format!(
            "kept column {name:?} changed its type from {wanted} to {}",
            array.data_type()
        ))),
        _ => Ok(array),
    }
}

/// The Arrow type for a column of JSON values: a column of nulls is strings, which take
/// whatever later rows hold.
fn json_type(cells: &[Value]) -> DataType {
    let present = || cells.iter().filter(|v| !v.is_null());
    if present().next().is_none() {
        DataType::Utf8
    } else if present().all(|v| v.is_i64()) {
        DataType::Int64
    } else if present().all(Value::is_number) {
        DataType::Float64
    } else if present().all(Value::is_boolean) {
        DataType::Boolean
    } else {
        DataType::Utf8
    }
}

/// JSON values as an array of `data_type`, or the first that does not fit and its row.
fn json_array(cells: &[Value], data_type: &DataType) -> Result<ArrayRef, (usize, String)> {
    let misfit = |r: usize| (r, cells[r].to_string());
    Ok(match data_type {
        DataType::Null => {
            if let Some(r) = cells.iter().position(|v| !v.is_null()) {
                return Err(misfit(r));
            }
            arrow_array::new_null_array(&DataType::Null, cells.len())
        }
        DataType::Int64 => Arc::new(Int64Array::from(cells_as(cells, Value::as_i64)?)),
        DataType::Float64 => Arc::new(Float64Array::from(cells_as(cells, Value::as_f64)?)),
        DataType::Boolean => Arc::new(BooleanArray::from(cells_as(cells, Value::as_bool)?)),
        _ => Arc::new(StringArray::from_iter(cells.iter().map(|v| match v {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }))),
    })
}

/// Each JSON value through `get` (null stays missing), or the first that does not fit and its
/// row.
fn cells_as<T>(
    cells: &[Value],
    get: impl Fn(&Value) -> Option<T>,
) -> Result<Vec<Option<T>>, (usize, String)> {
    cells
        .iter()
        .enumerate()
        .map(|(r, v)| match v {
            Value::Null => Ok(None),
            v => get(v).map(Some).ok_or_else(|| (r, v.to_string())),
        })
        .collect()
}

/// Row `r` of a kept Arrow column as CSV text: empty for null, else Arrow's display form.
pub(super) fn arrow_text(array: &ArrayRef, r: usize) -> String {
    if array.is_null(r) {
        return String::new();
    }
    if let Some(strings) = array.as_string_opt::<i32>() {
        return strings.value(r).to_string();
    }
    let options = arrow_cast::display::FormatOptions::default();
    match arrow_cast::display::ArrayFormatter::try_new(array.as_ref(), &options) {
        Ok(formatter) => formatter.value(r).to_string(),
        Err(_) => String::new(),
    }
}

/// Row `r` of a kept Arrow column as a JSON value: numbers and booleans as such, null as
/// null, anything else (text, dates, times) as a string of its display form.
pub(super) fn arrow_json(array: &ArrayRef, r: usize) -> Value {
    use arrow_array::types::*;
    if array.is_null(r) {
        return Value::Null;
    }
    macro_rules! number {
        ($t:ty) => {
            Value::from(array.as_primitive::<$t>().value(r))
        };
    }
    match array.data_type() {
        DataType::Boolean => Value::Bool(array.as_boolean().value(r)),
        DataType::Int8 => number!(Int8Type),
        DataType::Int16 => number!(Int16Type),
        DataType::Int32 => number!(Int32Type),
        DataType::Int64 => number!(Int64Type),
        DataType::UInt8 => number!(UInt8Type),
        DataType::UInt16 => number!(UInt16Type),
        DataType::UInt32 => number!(UInt32Type),
        DataType::UInt64 => number!(UInt64Type),
        DataType::Float32 => {
            // Through the f32's shortest text, so that 0.1f32 is written 0.1.
            let x = array.as_primitive::<Float32Type>().value(r);
            let shortest: f64 = ryu::Buffer::new().format(x).parse().unwrap_or(f64::NAN);
            finite_or_text(if x.is_finite() {
                shortest
            } else {
                f64::from(x)
            })
        }
        DataType::Float64 => finite_or_text(array.as_primitive::<Float64Type>().value(r)),
        _ => Value::String(arrow_text(array, r)),
    }
}

/// A number as JSON, or NaN and the infinities as the strings pandas and JavaScript write.
fn finite_or_text(x: f64) -> Value {
    match serde_json::Number::from_f64(x) {
        Some(n) => Value::Number(n),
        None if x.is_nan() => Value::String("NaN".into()),
        None if x > 0.0 => Value::String("Infinity".into()),
        None => Value::String("-Infinity".into()),
    }
}
