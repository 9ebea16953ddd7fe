//! `.npy` input: a 2-D array converted a chunk of rows at a time (C order) or whole (Fortran
//! order), each chunk checked for values the model cannot take.

use super::cell::{ALLOW_HINT, ReadOptions, column_label};
use crate::chunk::{Chunker, Emit, rows_per_chunk};
use crate::columns::Columns;
use crate::error::DataError;
use crate::npy::ArrayReader;
use std::io::Read;

/// Reads a 2-D array (float, integer or bool, either byte order, C or Fortran order) with one row
/// per sample. `length` is the file's size when it has one; a pipe's end is checked as it comes.
pub(super) fn read_npy(
    reader: impl Read,
    length: Option<u64>,
    columns: &Columns,
    options: ReadOptions,
    emit: Emit,
) -> Result<usize, DataError> {
    let feature_size = columns.size;
    if !columns.keep.is_empty() {
        return Err(DataError::invalid(
            "a .npy array has no column names, so it names no columns to keep",
        ));
    }
    let mut array = ArrayReader::open(reader, length).map_err(DataError::unreadable)?;
    let (rows, cols) = (array.rows, array.cols);
    if cols != feature_size {
        // Every row of an array has the same length, so the first row is the first bad one.
        let row = if rows > 0 { "row 1" } else { "each row" };
        return Err(DataError::invalid(format!(
            "{row} has {cols} values, the model takes {feature_size} (the array's shape is ({rows}, {cols}))"
        )));
    }
    let names = columns.names.as_deref();
    let at = |(row, col): (usize, usize)| {
        let name = names.and_then(|n| n.get(col)).map(String::as_str);
        format!("row {}, {}", row + 1, column_label(col, name))
    };
    let chunk_rows = rows_per_chunk(cols, options.chunk_rows);
    let mut chunker = Chunker::new(emit, cols, chunk_rows, Vec::new());
    while let Some(block) = array
        .next_rows(chunker.chunk_rows())
        .map_err(DataError::unreadable)?
    {
        if let Some(position) = block.first_overflow {
            return Err(DataError::invalid(format!(
                "{}: the float64 value is outside the range of 32-bit floats (±3.4028235e38)",
                at(position)
            )));
        }
        if !options.allow_nonfinite
            && let Some(i) = block.values.iter().position(|v| !v.is_finite())
        {
            let (row, col) = (block.first_row + i / cols.max(1), i % cols.max(1));
            return Err(DataError::invalid(format!(
                "{}: {} is not a finite number; {ALLOW_HINT}",
                at((row, col)),
                block.values[i]
            )));
        }
        // A Fortran-order array comes whole: the chunker cuts it into chunks.
        chunker.push_block(block.values, Vec::new(), block.rows)?;
    }
    chunker.finish()
}
