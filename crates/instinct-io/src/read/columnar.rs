//! Parquet files and Arrow IPC files and streams as input: record batches whose feature columns
//! are matched by name, converted to f32 rows (any numeric or boolean column type) with nulls
//! and non-finite values refused by row and column, and whose kept columns pass through with
//! their Arrow types.

use super::cell::{ALLOW_HINT, ReadOptions, column_label};
use crate::chunk::{Chunker, Emit, KeptColumn, rows_per_chunk};
use crate::columns::{Columns, match_columns};
use crate::error::DataError;
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Decimal128Type, Float16Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type,
    Int64Type, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{ArrowError, DataType, Schema};
use std::io::{BufRead, Read, Seek, SeekFrom};

/// Runs `decode`, a call into arrow-rs's Parquet or IPC decoder, turning a panic of the decoder
/// on malformed bytes (arrow-rs does not promise it never panics on them) into an `Unreadable`
/// error, without printing it. Only arrow-rs's calls run under it: a panic of instinct's own
/// code is a bug and stays one.
fn decoded<T>(format: &str, decode: impl FnOnce() -> Result<T, DataError>) -> Result<T, DataError> {
    crate::guard::guarded(decode).unwrap_or_else(|why| {
        Err(DataError::unreadable(format!(
            "not a readable {format} file: the decoder failed on its bytes ({why})"
        )))
    })
}

/// The first bytes of an Arrow IPC file (the stream layout starts with a message instead).
const ARROW_FILE_MAGIC: &[u8] = b"ARROW1";

/// Reads Arrow IPC from `reader`, the file layout or the stream layout (told apart by the
/// file's magic bytes).
pub(super) fn read_arrow_seekable<R: BufRead + Seek>(
    mut reader: R,
    columns: &Columns,
    options: ReadOptions,
    emit: Emit,
) -> Result<usize, DataError> {
    if is_arrow_file(&mut reader)? {
        decoded("Arrow IPC", || check_file_index(&mut reader))?;
        let file = decoded("Arrow IPC", || {
            arrow_ipc::reader::FileReader::try_new(reader, None).map_err(malformed)
        })?;
        read_batches(
            "Arrow IPC",
            &file.schema(),
            None,
            file,
            columns,
            options,
            emit,
        )
    } else {
        read_arrow_stream(reader, columns, options, emit)
    }
}

/// Reads Arrow IPC from a reader that cannot seek (a pipe): the stream layout as it comes, the
/// file layout (whose index is at its end) read whole first.
pub(super) fn read_arrow_unseekable<R: BufRead>(
    mut reader: R,
    columns: &Columns,
    options: ReadOptions,
    emit: Emit,
) -> Result<usize, DataError> {
    if is_arrow_file(&mut reader)? {
        let mut bytes = Vec::new();
        reader
            .read_to_end(&mut bytes)
            .map_err(|e| DataError::unreadable(format!("{e}")))?;
        read_arrow_seekable(std::io::Cursor::new(bytes), columns, options, emit)
    } else {
        read_arrow_stream(reader, columns, options, emit)
    }
}

fn read_arrow_stream<R: BufRead>(
    reader: R,
    columns: &Columns,
    options: ReadOptions,
    emit: Emit,
) -> Result<usize, DataError> {
    let stream = decoded("Arrow IPC", || {
        arrow_ipc::reader::StreamReader::try_new(reader, None).map_err(malformed)
    })?;
    read_batches(
        "Arrow IPC",
        &stream.schema(),
        None,
        stream,
        columns,
        options,
        emit,
    )
}

/// Reads Arrow record batches already in memory: see [`super::read_record_batches`].
pub(super) fn read_in_memory(
    schema: &Schema,
    batches: impl Iterator<Item = Result<RecordBatch, ArrowError>>,
    columns: &Columns,
    options: ReadOptions,
    emit: Emit,
) -> Result<usize, DataError> {
    read_batches("Arrow", schema, None, batches, columns, options, emit)
}

/// Whether `reader` starts with the Arrow IPC file layout's magic bytes (it is not consumed).
fn is_arrow_file(reader: &mut impl BufRead) -> Result<bool, DataError> {
    let start = reader
        .fill_buf()
        .map_err(|e| DataError::unreadable(format!("{e}")))?;
    Ok(start.starts_with(ARROW_FILE_MAGIC))
}

/// Checks that every block an Arrow IPC file's index lists lies within the file: arrow-rs
/// allocates a block's stated size before it reads it, so a hostile index could ask for any
/// amount of memory.
fn check_file_index<R: Read + Seek>(reader: &mut R) -> Result<(), DataError> {
    let io = |e: std::io::Error| DataError::unreadable(format!("{e}"));
    let length = reader.seek(SeekFrom::End(0)).map_err(io)?;
    let short = || DataError::unreadable("not a readable Arrow IPC file: its index is cut short");
    // The file ends with the index's length (i32) and the magic bytes again.
    let mut tail = [0u8; 10];
    if length < 10 + ARROW_FILE_MAGIC.len() as u64 {
        return Err(short());
    }
    reader.seek(SeekFrom::End(-10)).map_err(io)?;
    reader.read_exact(&mut tail).map_err(io)?;
    let index_length = i32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]);
    let index_length = u64::try_from(index_length).map_err(|_| short())?;
    if index_length + 10 > length {
        return Err(short());
    }
    let mut index = vec![0u8; index_length as usize];
    reader
        .seek(SeekFrom::End(-10 - index_length as i64))
        .map_err(io)?;
    reader.read_exact(&mut index).map_err(io)?;
    let footer = arrow_ipc::root_as_footer(&index).map_err(|e| {
        DataError::unreadable(format!(
            "not a readable Arrow IPC file: its index is malformed ({e})"
        ))
    })?;
    let blocks = footer
        .recordBatches()
        .into_iter()
        .flatten()
        .chain(footer.dictionaries().into_iter().flatten());
    for block in blocks {
        let end = u64::try_from(block.offset())
            .ok()
            .zip(u64::try_from(block.metaDataLength()).ok())
            .zip(u64::try_from(block.bodyLength()).ok())
            .and_then(|((offset, meta), body)| offset.checked_add(meta)?.checked_add(body));
        if end.is_none_or(|end| end > length) {
            return Err(DataError::unreadable(
                "not a readable Arrow IPC file: its index lists a block beyond the end of the file",
            ));
        }
    }
    reader.rewind().map_err(io)
}

/// An Arrow IPC reading error: the input is not well-formed Arrow.
fn malformed(e: ArrowError) -> DataError {
    DataError::unreadable(format!("not a readable Arrow IPC file or stream: {e}"))
}

/// Reads a Parquet file (a file or its bytes; `shared` is a second handle on the same bytes),
/// decoding only the columns used.
#[cfg(feature = "parquet")]
pub(super) fn read_parquet<T: parquet::file::reader::ChunkReader + 'static>(
    source: T,
    shared: std::sync::Arc<T>,
    columns: &Columns,
    options: ReadOptions,
    emit: Emit,
) -> Result<usize, DataError> {
    use parquet::arrow::ProjectionMask;
    use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ParquetRecordBatchReaderBuilder};
    let metadata = decoded("Parquet", || {
        ArrowReaderMetadata::load(shared.as_ref(), Default::default()).map_err(parquet_error)
    })?;
    let schema = metadata.schema().clone();
    let names = column_names(&schema);
    let matched = match_columns(&names, columns)?;
    let used = used_columns(&matched.features, &matched.kept);
    decoded("Parquet", || {
        check_dictionaries(shared, metadata.metadata(), &used)
    })?;
    let width = columns.size.max(1);
    let reader = decoded("Parquet", || {
        let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(source, metadata);
        let mask = ProjectionMask::roots(builder.parquet_schema(), used.iter().copied());
        builder
            .with_projection(mask)
            .with_batch_size(rows_per_chunk(width, options.chunk_rows))
            .build()
            .map_err(parquet_error)
    })?;
    read_batches(
        "Parquet",
        &schema,
        Some(&used),
        reader,
        columns,
        options,
        emit,
    )
}

#[cfg(feature = "parquet")]
fn parquet_error(e: parquet::errors::ParquetError) -> DataError {
    DataError::unreadable(format!("not a readable Parquet file: {e}"))
}

/// Checks that the dictionary page of every used column chunk holds as many values as it says:
/// arrow-rs sizes a dictionary by the count in its page header, so a hostile count could ask
/// for gigabytes from a file of a few bytes.
#[cfg(feature = "parquet")]
fn check_dictionaries<T: parquet::file::reader::ChunkReader + 'static>(
    source: std::sync::Arc<T>,
    metadata: &parquet::file::metadata::ParquetMetaData,
    used: &[usize],
) -> Result<(), DataError> {
    use parquet::basic::Type;
    use parquet::column::page::{Page, PageReader};
    use parquet::file::serialized_reader::SerializedPageReader;
    let schema = metadata.file_metadata().schema_descr();
    for group in metadata.row_groups() {
        for (leaf, chunk) in group.columns().iter().enumerate() {
            if chunk.dictionary_page_offset().is_none()
                || used
                    .binary_search(&schema.get_column_root_idx(leaf))
                    .is_err()
            {
                continue;
            }
            let rows = usize::try_from(group.num_rows()).unwrap_or(0);
            let mut pages = SerializedPageReader::new(source.clone(), chunk, rows, None)
                .map_err(parquet_error)?;
            let Some(Page::DictionaryPage {
                buf, num_values, ..
            }) = pages.get_next_page().map_err(parquet_error)?
            else {
                continue;
            };
            // The fewest bits a value of the column's type takes in a dictionary page.
            let bits = match chunk.column_type() {
                Type::BOOLEAN => 1,
                Type::INT64 | Type::DOUBLE => 64,
                Type::INT96 => 96,
                Type::FIXED_LEN_BYTE_ARRAY => {
                    8 * usize::try_from(schema.column(leaf).type_length())
                        .unwrap_or(1)
                        .max(1)
                }
                Type::INT32 | Type::FLOAT | Type::BYTE_ARRAY => 32,
            };
            if (num_values as usize).saturating_mul(bits) > buf.len().saturating_mul(8) {
                return Err(DataError::unreadable(format!(
                    "not a readable Parquet file: a dictionary page of column {:?} says it holds \
                     {num_values} values in {} bytes",
                    chunk.column_path().string(),
                    buf.len()
                )));
            }
        }
    }
    Ok(())
}

/// The columns of `schema` by name.
fn column_names(schema: &Schema) -> Vec<String> {
    schema.fields().iter().map(|f| f.name().clone()).collect()
}

/// The input columns read, in the file's order (the order of a projection's columns).
#[cfg(feature = "parquet")]
fn used_columns(features: &[usize], kept: &[usize]) -> Vec<usize> {
    let mut used: Vec<usize> = features.iter().chain(kept).copied().collect();
    used.sort_unstable();
    used.dedup();
    used
}

/// Reads the `batches` of a `layout` file (its name for messages) whose columns are `schema`'s:
/// all of them, or the `projected` ones in the file's order.
fn read_batches(
    layout: &str,
    schema: &Schema,
    projected: Option<&[usize]>,
    batches: impl Iterator<Item = Result<RecordBatch, ArrowError>>,
    columns: &Columns,
    options: ReadOptions,
    emit: Emit,
) -> Result<usize, DataError> {
    let names = column_names(schema);
    let matched = match_columns(&names, columns)?;
    // Where column `c` of the file is in each batch.
    let position = |c: usize| match projected {
        Some(used) => used.binary_search(&c).unwrap_or(usize::MAX),
        None => c,
    };
    let plan = Plan {
        features: matched.features.iter().map(|&c| (c, position(c))).collect(),
        kept: matched.kept.iter().map(|&c| position(c)).collect(),
        names: &names,
        allow_nonfinite: options.allow_nonfinite,
    };
    for &(c, _) in &plan.features {
        if let Some(field) = schema.fields().get(c)
            && !is_numeric(field.data_type())
        {
            return Err(DataError::invalid(format!(
                "{} holds {} values, not numbers",
                column_label(c, Some(&names[c])),
                field.data_type()
            )));
        }
    }
    let width = columns.size;
    let chunk_rows = rows_per_chunk(width, options.chunk_rows);
    let mut chunker = Chunker::new(emit, width, chunk_rows, Vec::new());
    // Small batches (an IPC stream of a few rows each) are gathered into chunks.
    let mut pending = Pending::new(plan.kept.len());
    let mut batches = batches;
    // Each batch is decoded under the guard; converting it is instinct's own work.
    while let Some(batch) = decoded(layout, || Ok(batches.next()))? {
        let batch = batch.map_err(|e| {
            DataError::unreadable(format!("not a readable {layout} file: a record batch: {e}"))
        })?;
        // A large batch (a file written as one) is converted a chunk at a time: slices share
        // the batch's buffers, so only a chunk of f32 rows is made at once.
        let mut start = 0;
        while start < batch.num_rows() {
            let rows = chunk_rows.min(batch.num_rows() - start);
            let first_row = chunker.rows_read() + pending.rows;
            plan.convert(&batch.slice(start, rows), first_row, &mut pending)?;
            pending.hand_on(&mut chunker, width, Some(chunk_rows))?;
            start += rows;
        }
    }
    pending.hand_on(&mut chunker, width, None)?;
    chunker.finish()
}

/// Whether a column of `data_type` converts to f32 values.
fn is_numeric(data_type: &DataType) -> bool {
    use DataType::*;
    matches!(
        data_type,
        Float16
            | Float32
            | Float64
            | Int8
            | Int16
            | Int32
            | Int64
            | UInt8
            | UInt16
            | UInt32
            | UInt64
            | Boolean
            | Decimal32(..)
            | Decimal64(..)
            | Decimal128(..)
            | Decimal256(..)
            | Null
    ) || matches!(data_type, Dictionary(_, values) if is_numeric(values))
}

/// Where the columns a model uses are, and how strictly they are read.
struct Plan<'n> {
    /// Per feature: its column in the file, and in each batch.
    features: Vec<(usize, usize)>,
    /// Per kept column: its position in each batch.
    kept: Vec<usize>,
    /// The file's column names.
    names: &'n [String],
    allow_nonfinite: bool,
}

/// Converted rows not yet handed on.
struct Pending {
    rows: usize,
    values: Vec<f32>,
    kept: Vec<Vec<ArrayRef>>,
}

impl Pending {
    fn new(kept: usize) -> Pending {
        Pending {
            rows: 0,
            values: Vec::new(),
            kept: vec![Vec::new(); kept],
        }
    }

    /// Hands on as many whole chunks of `chunk_rows` as are gathered, keeping the rest; or,
    /// at the end (`chunk_rows` of `None`), all of them.
    fn hand_on(
        &mut self,
        chunker: &mut Chunker,
        width: usize,
        chunk_rows: Option<usize>,
    ) -> Result<(), DataError> {
        let ready = match chunk_rows {
            Some(size) => self.rows / size * size,
            None => self.rows,
        };
        if ready == 0 {
            return Ok(());
        }
        let mut kept = Vec::with_capacity(self.kept.len());
        for pieces in &mut self.kept {
            let whole = if pieces.len() == 1 {
                pieces[0].clone()
            } else {
                let parts: Vec<&dyn Array> = pieces.iter().map(|a| a.as_ref()).collect();
                arrow_select::concat::concat(&parts)
                    .map_err(|e| DataError::unreadable(format!("{e}")))?
            };
            pieces.clear();
            if ready < self.rows {
                pieces.push(whole.slice(ready, self.rows - ready));
            }
            kept.push(KeptColumn::Arrow(whole.slice(0, ready)));
        }
        let rest = self.values.split_off(ready * width);
        let values = std::mem::replace(&mut self.values, rest);
        self.rows -= ready;
        chunker.push_block(values, kept, ready)
    }
}

impl Plan<'_> {
    /// Appends `batch`'s rows (the first of them row `first_row` of the file, from 0) to
    /// `pending`, or names the first value the model cannot take.
    fn convert(
        &self,
        batch: &RecordBatch,
        first_row: usize,
        pending: &mut Pending,
    ) -> Result<(), DataError> {
        let rows = batch.num_rows();
        let width = self.features.len();
        let start = pending.values.len();
        let added = rows.checked_mul(width).ok_or_else(too_big)?;
        pending.values.try_reserve(added).map_err(|_| too_big())?;
        pending.values.resize(start + added, 0.0);
        let out = &mut pending.values[start..];
        // The first bad value in row order is reported, whatever its column, as CSV does.
        let mut first_bad: Option<(usize, usize, String)> = None;
        for (j, &(c, at)) in self.features.iter().enumerate() {
            let column = batch.columns().get(at).ok_or_else(lacks_a_column)?;
            if let Err((r, why)) = fill_column(column, out, j, width, self.allow_nonfinite)
                && first_bad.as_ref().is_none_or(|(first, ..)| r < *first)
            {
                first_bad = Some((r, c, why));
            }
        }
        if let Some((r, c, why)) = first_bad {
            return Err(DataError::invalid(format!(
                "row {}, {}: {why}",
                first_row + r + 1,
                column_label(c, Some(&self.names[c]))
            )));
        }
        for (k, &at) in self.kept.iter().enumerate() {
            let column = batch.columns().get(at).ok_or_else(lacks_a_column)?;
            pending.kept[k].push(column.clone());
        }
        pending.rows += rows;
        Ok(())
    }
}

/// A batch without a column its schema promised (arrow-rs checks this; never trusted).
fn lacks_a_column() -> DataError {
    DataError::unreadable("a record batch lacks a column of the file's schema")
}

fn too_big() -> DataError {
    DataError::unreadable("not enough memory for a record batch's rows")
}

/// Writes `array`'s values as f32 into column `j` of the rows in `out` (`width` values each);
/// the first value refused, by its row in the array, and why.
fn fill_column(
    array: &ArrayRef,
    out: &mut [f32],
    j: usize,
    width: usize,
    allow_nonfinite: bool,
) -> Result<(), (usize, String)> {
    // Dictionary-encoded numbers (pandas categoricals, Parquet dictionaries) and the other
    // decimal widths are read through arrow-cast's float64 conversion.
    if matches!(
        array.data_type(),
        DataType::Dictionary(..)
            | DataType::Decimal32(..)
            | DataType::Decimal64(..)
            | DataType::Decimal256(..)
    ) {
        let wide = arrow_cast::cast(array, &DataType::Float64)
            .map_err(|e| (0, format!("cannot be read as numbers: {e}")))?;
        return fill_column(&wide, out, j, width, allow_nonfinite);
    }
    let mut put = |values: &mut dyn Iterator<Item = f32>| {
        for (slot, v) in out.iter_mut().skip(j).step_by(width).zip(values) {
            *slot = v;
        }
    };
    macro_rules! primitive {
        ($t:ty) => {
            put(&mut array
                .as_primitive::<$t>()
                .values()
                .iter()
                .map(|&v| v as f32))
        };
    }
    // The first bad value of the column is refused: out of f32's range, missing, or not
    // finite, whichever comes first (on one row, in that order).
    let mut first_bad: Option<(usize, String)> = None;
    let mut bad = |r: usize, why: String| {
        if first_bad.as_ref().is_none_or(|(b, _)| r < *b) {
            first_bad = Some((r, why));
        }
    };
    match array.data_type() {
        DataType::Float32 => primitive!(Float32Type),
        DataType::Float64 => {
            let values = array.as_primitive::<Float64Type>().values();
            // A finite double beyond f32's range is refused like CSV's `1e39`.
            let overflow = values
                .iter()
                .enumerate()
                .find(|&(r, &v)| v.is_finite() && !(v as f32).is_finite() && !array.is_null(r));
            if let Some((r, v)) = overflow {
                bad(
                    r,
                    format!("{v} is outside the range of 32-bit floats (±3.4028235e38)"),
                );
            }
            put(&mut values.iter().map(|&v| v as f32));
        }
        DataType::Float16 => put(&mut array
            .as_primitive::<Float16Type>()
            .values()
            .iter()
            .map(|v| v.to_f32())),
        DataType::Int8 => primitive!(Int8Type),
        DataType::Int16 => primitive!(Int16Type),
        DataType::Int32 => primitive!(Int32Type),
        DataType::Int64 => primitive!(Int64Type),
        DataType::UInt8 => primitive!(UInt8Type),
        DataType::UInt16 => primitive!(UInt16Type),
        DataType::UInt32 => primitive!(UInt32Type),
        DataType::UInt64 => primitive!(UInt64Type),
        DataType::Boolean => put(&mut array
            .as_boolean()
            .values()
            .iter()
            .map(|b| if b { 1.0 } else { 0.0 })),
        DataType::Decimal128(_, scale) => {
            let unit = 10f64.powi(i32::from(*scale));
            put(&mut array
                .as_primitive::<Decimal128Type>()
                .values()
                .iter()
                .map(|&v| (v as f64 / unit) as f32));
        }
        // A column of nothing but nulls.
        DataType::Null => {}
        other => return Err((0, format!("holds {other} values, not numbers"))),
    }
    let nulls = array.logical_nulls().filter(|n| n.null_count() > 0);
    if let Some(nulls) = &nulls {
        if !allow_nonfinite && let Some(r) = (0..array.len()).find(|&r| nulls.is_null(r)) {
            bad(r, format!("the value is missing (null); {ALLOW_HINT}"));
        }
        for r in (0..array.len()).filter(|&r| nulls.is_null(r)) {
            out[r * width + j] = f32::NAN;
        }
    }
    if !allow_nonfinite {
        // A null row's NaN was refused as missing above.
        let is_null = |r: usize| nulls.as_ref().is_some_and(|n| n.is_null(r));
        let non_finite = out
            .iter()
            .skip(j)
            .step_by(width)
            .enumerate()
            .find(|&(r, v)| !v.is_finite() && !is_null(r));
        if let Some((r, &v)) = non_finite {
            bad(r, format!("{v} is not a finite number; {ALLOW_HINT}"));
        }
    }
    match first_bad {
        Some(refused) => Err(refused),
        None => Ok(()),
    }
}
