//! CSV rows, with an optional header: streamed record by record into chunks, columns matched by
//! name when the file has a header, kept cells copied as the text they are.

use super::cell::{Cell, ReadOptions, accept, column_label, parse_cell};
use crate::chunk::{Chunker, Emit, KeptColumn, rows_per_chunk};
use crate::columns::{Columns, match_columns};
use crate::error::DataError;
use std::collections::HashSet;
use std::io::Read;

/// A field's text for a number: without surrounding spaces, or `None` when it is not UTF-8.
fn number_text(field: &[u8]) -> Option<&str> {
    std::str::from_utf8(field.trim_ascii()).ok()
}

/// Whether a CSV's first row is a header: forced by `options.header`, else when its cells
/// include every feature and kept name of the model, or when any non-empty cell is not a number.
fn is_header(first: &csv::ByteRecord, columns: &Columns, forced: Option<bool>) -> bool {
    if let Some(forced) = forced {
        return forced;
    }
    let cells: HashSet<&[u8]> = first.iter().map(<[u8]>::trim_ascii).collect();
    let named = columns.names.iter().flatten().chain(&columns.keep);
    if columns.names.is_some() || !columns.keep.is_empty() {
        let mut named = named.peekable();
        if named.peek().is_some() && named.all(|n| cells.contains(n.as_bytes())) {
            return true;
        }
    }
    first.iter().any(|f| {
        !f.trim_ascii().is_empty()
            && number_text(f).is_none_or(|t| parse_cell(t) == Cell::NotANumber)
    })
}

/// Reads CSV rows for `columns` into chunks. With a header, columns are matched by name (see
/// [`match_columns`]); without one, the fields are the features in order and nothing can be
/// kept. Number cells may have spaces around them; kept cells are copied as they are.
pub(super) fn read_csv(
    reader: impl Read,
    columns: &Columns,
    options: ReadOptions,
    emit: Emit,
) -> Result<usize, DataError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(256 << 10)
        .from_reader(reader);
    let csv_error = |e: csv::Error| DataError::unreadable(format!("{e}"));
    let mut record = csv::ByteRecord::new();
    let kinds = vec![KeptColumn::Text(Vec::new()); columns.keep.len()];
    let chunk_rows = rows_per_chunk(columns.size, options.chunk_rows);
    let mut chunker = Chunker::new(emit, columns.size, chunk_rows, kinds);
    if !reader.read_byte_record(&mut record).map_err(csv_error)? {
        if !columns.keep.is_empty() {
            return Err(DataError::invalid(
                "the CSV is empty: it has no header naming the columns to keep",
            ));
        }
        return chunker.finish();
    }
    let header: Option<Vec<String>> = if is_header(&record, columns, options.header) {
        let names = record
            .iter()
            .enumerate()
            .map(|(i, f)| {
                std::str::from_utf8(f.trim_ascii())
                    .map(str::to_string)
                    .map_err(|_| {
                        DataError::unreadable(format!(
                            "line 1, column {}: the header is not valid UTF-8",
                            i + 1
                        ))
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Some(names)
    } else {
        None
    };

    // Where each feature and kept column is, and the fields every row has.
    let (features, kept, width) = match &header {
        Some(names) => {
            let matched = match_columns(names, columns)
                .map_err(|e| DataError::invalid(format!("line 1: {}", e.message)))?;
            (matched.features, matched.kept, names.len())
        }
        None if !columns.keep.is_empty() => {
            return Err(DataError::invalid(
                "the CSV has no header, so it names no columns to keep",
            ));
        }
        None => ((0..columns.size).collect(), Vec::new(), columns.size),
    };
    let expected = if header.is_some() {
        format!("the header has {width} columns")
    } else {
        format!("the model takes {width}")
    };
    let allow_nonfinite = options.allow_nonfinite;
    let row = |record: &csv::ByteRecord, chunker: &mut Chunker| -> Result<(), DataError> {
        let line = record.position().map_or(0, csv::Position::line);
        if record.len() != width {
            return Err(DataError::invalid(format!(
                "line {line} has {} values, {expected}",
                record.len()
            )));
        }
        chunker.reserve_row()?;
        for &c in &features {
            let field = record.get(c).unwrap_or(b"");
            let x = match number_text(field) {
                Some("") => None,
                Some(text) => match parse_cell(text) {
                    Cell::Finite(x) => Some(x),
                    cell => Some(
                        accept(cell, &format!("{text:?}"), allow_nonfinite)
                            .map_err(|why| bad_cell(line, c, &header, why))?,
                    ),
                },
                None => {
                    let shown = format!("{:?}", String::from_utf8_lossy(field));
                    return Err(bad_cell(
                        line,
                        c,
                        &header,
                        format!("{shown} is not a number"),
                    ));
                }
            };
            let x = match x {
                Some(x) => x,
                None => accept(Cell::NonFinite(f32::NAN), "", allow_nonfinite)
                    .map_err(|why| bad_cell(line, c, &header, why))?,
            };
            chunker.values.push(x);
        }
        for (j, &c) in kept.iter().enumerate() {
            let field = record.get(c).unwrap_or(b"");
            chunker.keep_text(j, String::from_utf8_lossy(field).into_owned());
        }
        chunker.end_row()
    };
    if header.is_none() {
        row(&record, &mut chunker)?;
    }
    while reader.read_byte_record(&mut record).map_err(csv_error)? {
        row(&record, &mut chunker)?;
    }
    chunker.finish()
}

/// A refused cell at `line`, column `c` (named by the header when there is one).
fn bad_cell(line: u64, c: usize, header: &Option<Vec<String>>, why: String) -> DataError {
    let name = header.as_ref().and_then(|h| h.get(c)).map(String::as_str);
    DataError::invalid(format!("line {line}, {}: {why}", column_label(c, name)))
}
