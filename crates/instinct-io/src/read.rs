//! Reading a model's input rows from `.json`, `.csv` and `.npy` files into one flat batch in the
//! model's feature order. Every value must be a finite f32 unless `allow_nonfinite` is set; every
//! bad value is named by its row (1-based, as in the file) and its column (by name where the file
//! or the model has one).

use crate::error::DataError;
use crate::format::DataFormat;
use crate::npy;
use instinct_format::FormatError;
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

mod cell;
mod json;

use cell::{ALLOW_HINT, Cell, accept, column_label, parse_cell, reserve_row};
pub use cell::{Batch, ReadOptions};
use json::read_json;

/// The read buffer of a streamed file.
const READ_BUFFER: usize = 256 << 10;

/// What a model takes: the values of a row, and their names when the model has them (columns
/// are then matched by name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns {
    /// Values per row.
    pub size: usize,
    /// The features' names, in the model's order, if it names them.
    pub names: Option<Vec<String>>,
}

/// Reads the rows of `path` for a model taking `columns`. An unreadable or malformed file is
/// [`DataErrorKind::Unreadable`](crate::DataErrorKind); a row of the wrong length or a value
/// that is not a finite number is `Invalid`, naming the row and column.
///
/// Every format is parsed as it is read, straight into the f32 rows, so the reader holds the
/// values and a buffer of 256 KiB, not the file.
pub fn read_rows(
    path: &Path,
    format: DataFormat,
    columns: &Columns,
    options: ReadOptions,
) -> Result<Batch, DataError> {
    let with_path = |e: DataError| e.at(path.display());
    let io = |source| {
        DataError::unreadable(FormatError::Io {
            path: path.to_path_buf(),
            source,
        })
    };
    let file = File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if meta.is_dir() {
        return Err(io(std::io::Error::other("is a directory")));
    }
    // No size limit: the values are reserved with `try_reserve`, whatever the file.
    let mut reader = BufReader::with_capacity(READ_BUFFER, file);
    if format == DataFormat::Npy && !meta.is_file() {
        // A pipe's length is known only at its end, and NPY checks the shape against it first:
        // read the stream whole.
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes).map_err(io)?;
        return read_bytes(&bytes, format, columns, options).map_err(with_path);
    }
    read_stream(reader, meta.len(), format, columns, options).map_err(with_path)
}

/// Reads rows for `columns` from the bytes of a file in `format`: [`read_rows`] without the file.
pub fn read_bytes(
    bytes: &[u8],
    format: DataFormat,
    columns: &Columns,
    options: ReadOptions,
) -> Result<Batch, DataError> {
    read_stream(bytes, bytes.len() as u64, format, columns, options)
}

/// Reads rows for `columns` as they come from `reader`, which holds `length` bytes (buffered: JSON
/// is read a byte at a time).
fn read_stream(
    reader: impl BufRead,
    length: u64,
    format: DataFormat,
    columns: &Columns,
    options: ReadOptions,
) -> Result<Batch, DataError> {
    let names = columns.names.clone();
    let size = columns.size;
    let unreadable = |e: std::io::Error| DataError::unreadable(format!("{e}"));
    // Spreadsheet programs like to start UTF-8 files with a byte-order mark; it is not data.
    let text = |reader| without_bom(reader).map_err(unreadable);
    match format {
        DataFormat::Json => read_json(text(reader)?, size, names.as_deref(), options),
        DataFormat::Csv => read_csv(text(reader)?, size, names, options),
        DataFormat::Npy => read_npy(reader, length, columns, options),
    }
}

/// `reader` without the UTF-8 byte-order mark it may start with.
fn without_bom<R: BufRead>(mut reader: R) -> std::io::Result<impl BufRead> {
    const BOM: &[u8] = b"\xEF\xBB\xBF";
    let mut start = Vec::with_capacity(BOM.len());
    (&mut reader)
        .take(BOM.len() as u64)
        .read_to_end(&mut start)?;
    if start == BOM {
        start.clear();
    }
    Ok(std::io::Cursor::new(start).chain(reader))
}

// ---------------------------------------------------------------------------------------------
// CSV

/// Whether a CSV's first row is a header: forced by `--header`/`--no-header`, else when its cells
/// include every feature name of the model, or when any non-empty cell is not a number.
fn is_header(first: &csv::StringRecord, names: Option<&[String]>, forced: Option<bool>) -> bool {
    if let Some(forced) = forced {
        return forced;
    }
    if let Some(names) = names {
        let cells: HashSet<&str> = first.iter().collect();
        if names.iter().all(|n| cells.contains(n.as_str())) {
            return true;
        }
    }
    first
        .iter()
        .any(|f| !f.is_empty() && parse_cell(f) == Cell::NotANumber)
}

/// CSV with an optional header. With a header and feature names, columns are matched by name
/// and the others ignored; otherwise the columns are the features in order.
fn read_csv(
    reader: impl Read,
    feature_size: usize,
    names: Option<Vec<String>>,
    options: ReadOptions,
) -> Result<Batch, DataError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(reader);
    let csv_error = |e: csv::Error| DataError::unreadable(format!("{e}"));
    let mut records = reader.records();
    let Some(first) = records.next().transpose().map_err(csv_error)? else {
        return Ok(Batch {
            values: Vec::new(),
            rows: 0,
        });
    };
    let header = is_header(&first, names.as_deref(), options.header).then_some(first.clone());

    // `columns[i]` is the CSV column feeding input value `i`; `width` the fields each row has.
    let (columns, width) = match (&header, &names) {
        (Some(header), Some(names)) => {
            let mut position: HashMap<&str, Vec<usize>> = HashMap::new();
            for (i, name) in header.iter().enumerate() {
                position.entry(name).or_default().push(i);
            }
            let mut columns = Vec::with_capacity(names.len());
            let mut missing = Vec::new();
            for name in names {
                match position.get(name.as_str()).map(Vec::as_slice) {
                    Some([i]) => columns.push(*i),
                    Some(_) => {
                        return Err(DataError::invalid(format!(
                            "the header names column {name:?} more than once"
                        )));
                    }
                    None => missing.push(format!("{name:?}")),
                }
            }
            if !missing.is_empty() {
                return Err(DataError::invalid(format!(
                    "the header has no column for feature{} {} (columns: {}); give --no-header if the first line is data",
                    if missing.len() == 1 { "" } else { "s" },
                    missing.join(", "),
                    header.iter().collect::<Vec<_>>().join(", ")
                )));
            }
            (columns, header.len())
        }
        (Some(header), None) if header.len() != feature_size => {
            return Err(DataError::invalid(format!(
                "the header has {} columns, the model takes {feature_size} values and names no features to match them by",
                header.len()
            )));
        }
        _ => ((0..feature_size).collect(), feature_size),
    };

    let mut values = Vec::new();
    let mut rows = 0usize;
    let mut push_row = |record: &csv::StringRecord| -> Result<(), DataError> {
        let line = record.position().map_or(0, csv::Position::line);
        if record.len() != width {
            let expected = match (&header, &names) {
                (Some(_), Some(_)) => format!("the header has {width} columns"),
                _ => format!("the model takes {width}"),
            };
            return Err(DataError::invalid(format!(
                "line {line} has {} values, {expected}",
                record.len()
            )));
        }
        reserve_row(&mut values, columns.len()).map_err(DataError::unreadable)?;
        for &c in &columns {
            let field = record.get(c).unwrap_or("");
            let cell = if field.is_empty() {
                Cell::NonFinite(f32::NAN)
            } else {
                parse_cell(field)
            };
            let shown = if field.is_empty() {
                String::new()
            } else {
                format!("{field:?}")
            };
            let x = accept(cell, &shown, options.allow_nonfinite).map_err(|why| {
                let name = header.as_ref().and_then(|h| h.get(c));
                DataError::invalid(format!("line {line}, {}: {why}", column_label(c, name)))
            })?;
            values.push(x);
        }
        rows += 1;
        Ok(())
    };
    if header.is_none() {
        push_row(&first)?;
    }
    for record in records {
        push_row(&record.map_err(csv_error)?)?;
    }
    Ok(Batch { values, rows })
}

// ---------------------------------------------------------------------------------------------
// NPY

/// A 2-D array (float, integer or bool, either byte order, C or Fortran order) with one row per
/// sample.
fn read_npy(
    reader: impl Read,
    length: u64,
    columns: &Columns,
    options: ReadOptions,
) -> Result<Batch, DataError> {
    let feature_size = columns.size;
    let names = columns.names.clone();
    let names = names.as_deref();
    let matrix = npy::read_from(reader, length).map_err(DataError::unreadable)?;
    if matrix.cols != feature_size {
        // Every row of an array has the same length, so the first row is the first bad one.
        let row = if matrix.rows > 0 { "row 1" } else { "each row" };
        return Err(DataError::invalid(format!(
            "{row} has {} values, the model takes {feature_size} (the array's shape is ({}, {}))",
            matrix.cols, matrix.rows, matrix.cols
        )));
    }
    let at = |(row, col): (usize, usize)| {
        let name = names.and_then(|n| n.get(col)).map(String::as_str);
        format!("row {}, {}", row + 1, column_label(col, name))
    };
    if let Some(position) = matrix.first_overflow {
        return Err(DataError::invalid(format!(
            "{}: the float64 value is outside the range of 32-bit floats (±3.4028235e38)",
            at(position)
        )));
    }
    if !options.allow_nonfinite
        && let Some((row, col)) = matrix.first_non_finite()
    {
        let v = matrix.values[row * matrix.cols + col];
        return Err(DataError::invalid(format!(
            "{}: {v} is not a finite number; {ALLOW_HINT}",
            at((row, col))
        )));
    }
    Ok(Batch {
        values: matrix.values,
        rows: matrix.rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DataErrorKind;

    fn names(list: &[&str]) -> Option<Vec<String>> {
        Some(list.iter().map(|s| s.to_string()).collect())
    }

    const STRICT: ReadOptions = ReadOptions {
        allow_nonfinite: false,
        header: None,
    };
    const LENIENT: ReadOptions = ReadOptions {
        allow_nonfinite: true,
        header: None,
    };

    fn csv_with(
        text: &str,
        names: Option<Vec<String>>,
        options: ReadOptions,
    ) -> Result<Batch, DataError> {
        read_csv(without_bom(text.as_bytes()).unwrap(), 2, names, options)
    }

    fn csv_ok(text: &str, names: Option<Vec<String>>) -> Vec<f32> {
        let batch = csv_with(text, names, STRICT).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(batch.values.len(), batch.rows * 2);
        batch.values
    }

    /// `result` failed with a message containing `expected`, as a bad row or value (`code` 1)
    /// or as an unreadable file (`code` 2), the CLI's exit codes.
    fn refused(result: Result<Batch, DataError>, code: u8, expected: &str) {
        let err = result.unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains(expected),
            "{message:?} should mention {expected:?}"
        );
        let kind = if code == 1 {
            DataErrorKind::Invalid
        } else {
            DataErrorKind::Unreadable
        };
        assert_eq!(err.kind, kind, "{message}");
    }

    fn csv_err(text: &str, names: Option<Vec<String>>, expected: &str) {
        refused(csv_with(text, names, STRICT), 1, expected);
    }

    #[test]
    fn csv_headers_are_detected_and_matched_by_name() {
        assert_eq!(csv_ok("1,2\n3,4\n", None), [1.0, 2.0, 3.0, 4.0]);
        assert_eq!(csv_ok("a,b\n1,2\n", None), [1.0, 2.0]);
        assert_eq!(
            csv_ok("\u{feff}target,b,a\n9,2,1\n", names(&["a", "b"])),
            [1.0, 2.0]
        );
        assert_eq!(csv_ok("1,2\n", names(&["a", "b"])), [1.0, 2.0]);
        assert_eq!(csv_ok(" a , b \n 1 , 2 \n", names(&["a", "b"])), [1.0, 2.0]);
        assert_eq!(csv_ok("", None), Vec::<f32>::new());
        // Feature names that read as numbers still make a header.
        assert_eq!(csv_ok("2,1\n5,6\n", names(&["1", "2"])), [6.0, 5.0]);
        // Forced either way.
        let forced = |header| ReadOptions {
            allow_nonfinite: false,
            header: Some(header),
        };
        assert_eq!(
            csv_with("1,2\n3,4\n", None, forced(true)).unwrap().values,
            [3.0, 4.0]
        );
        refused(
            csv_with("a,b\n3,4\n", None, forced(false)),
            1,
            "line 1, column 1: \"a\" is not a number",
        );
    }

    #[test]
    fn csv_non_finite_and_out_of_range_values_are_refused_naming_line_and_column() {
        let ab = || names(&["a", "b"]);
        csv_err(
            "a,b\n1,\n",
            ab(),
            "line 2, column 2 (\"b\"): the cell is empty",
        );
        csv_err(
            "a,b\n1,2\nNaN,2\n",
            ab(),
            "line 3, column 1 (\"a\"): \"NaN\" is not a finite number",
        );
        csv_err(
            "1,-inf\n",
            None,
            "line 1, column 2: \"-inf\" is not a finite number; pass --allow-nonfinite",
        );
        csv_err(
            "a,b\n1e39,1\n",
            ab(),
            "\"1e39\" is outside the range of 32-bit floats",
        );
        csv_err("a,b\n1,1e999\n", ab(), "\"1e999\" is outside the range");
        // Out of range stays refused when non-finite values are allowed.
        refused(
            csv_with("a,b\n1,1e39\n", ab(), LENIENT),
            1,
            "outside the range",
        );
        let lenient = csv_with("a,b\n,NaN\ninf,-Infinity\n", None, LENIENT).unwrap();
        assert!(lenient.values[..2].iter().all(|x| x.is_nan()));
        assert_eq!(lenient.values[2..], [f32::INFINITY, f32::NEG_INFINITY]);
        // Tiny numbers round to zero like any f32 parse; that is not an error.
        assert_eq!(csv_ok("1e-50,-0\n", None), [0.0, -0.0]);
    }

    #[test]
    fn csv_problems_name_the_line_or_column() {
        csv_err(
            "a,b\n1,2\n3\n",
            None,
            "line 3 has 1 values, the model takes 2",
        );
        csv_err("1,2,3\n", None, "line 1 has 3 values");
        csv_err(
            "a,c\n1,2\n",
            names(&["a", "b"]),
            "no column for feature \"b\"",
        );
        csv_err("a,a,b\n1,2,3\n", names(&["a", "b"]), "more than once");
        csv_err(
            "b,a,x\n1,2\n",
            names(&["a", "b"]),
            "line 2 has 2 values, the header has 3 columns",
        );
        csv_err(
            "a,b\n1,x\n",
            names(&["a", "b"]),
            "line 2, column 2 (\"b\"): \"x\" is not a number",
        );
        csv_err("a,b,c\n1,2,3\n", None, "the header has 3 columns");
    }

    fn json(text: &str, options: ReadOptions) -> Result<Batch, DataError> {
        let reader = without_bom(text.as_bytes()).unwrap();
        read_json(reader, 2, Some(&["a".into(), "b".into()]), options)
    }

    #[test]
    fn json_rows_accept_both_shapes() {
        let batch = json(
            r#"{"inputs": [[1, 2.5], [-3, 4e3]], "other": {"x": [1]}}"#,
            STRICT,
        )
        .unwrap();
        assert_eq!(
            (batch.rows, batch.values),
            (2, vec![1.0, 2.5, -3.0, 4000.0])
        );
        assert_eq!(json("\u{feff}[[1, 2]]", STRICT).unwrap().rows, 1);
        assert_eq!(
            json("\u{feff}", STRICT).unwrap_err().kind,
            crate::DataErrorKind::Unreadable
        );
        assert_eq!(json("\u{feff}[]", STRICT).unwrap().rows, 0);
    }

    #[test]
    fn bare_nan_and_infinity_get_a_hint() {
        let hint = "JSON has no NaN or Infinity";
        for text in ["[[1, NaN]]", "[[Infinity, 2]]", "[[1, -Infinity]]"] {
            refused(json(text, STRICT), 2, hint);
        }
        let other = json("[[1, x]]", STRICT).unwrap_err();
        assert!(!other.to_string().contains(hint), "{:#}", other.message);
        let far = json("[[1, 2]] NaN", STRICT).unwrap_err();
        assert!(far.to_string().contains("trailing"), "{:#}", far.message);
        assert_eq!(json("[]", STRICT).unwrap().rows, 0);
    }

    #[test]
    fn json_problems_name_the_row_and_column() {
        refused(
            json("[[1, 2], [3]]", STRICT),
            1,
            "row 2 has 1 values, the model takes 2",
        );
        refused(
            json("[[1, 2, 3]]", STRICT),
            1,
            "row 1 has 3 values, the model takes 2",
        );
        refused(
            json("[[1, true]]", STRICT),
            1,
            "row 1, column 2 (\"b\"): true is not a number",
        );
        refused(json("[[1, \"2\"]]", STRICT), 1, "\"2\" is not a number");
        refused(
            json("[[1, 2], 3]", STRICT),
            1,
            "row 2 is not an array of numbers",
        );
        refused(
            json("[[1, null]]", STRICT),
            1,
            "row 1, column 2 (\"b\"): null is not a finite number; pass --allow-nonfinite",
        );
        refused(
            json("[[\"NaN\", 1]]", STRICT),
            1,
            "row 1, column 1 (\"a\"): \"NaN\" is not a finite",
        );
        refused(
            json("[[1e39, 1]]", STRICT),
            1,
            "row 1, column 1 (\"a\"): 1e39 is outside the range",
        );
        refused(
            json("[[1, 2], [1e999, 1]]", LENIENT),
            1,
            "row 2, column 1 (\"a\"): the number is outside the range",
        );
        refused(
            json("{\"rows\": []}", STRICT),
            2,
            "expected an array of rows",
        );
        refused(
            json("{\"inputs\": [[1, 2]], \"inputs\": [[3, 4]]}", STRICT),
            2,
            "duplicate key \"inputs\"",
        );
        refused(json("[[1, 2]", STRICT), 2, "invalid json");
        refused(json("[[1, NaN]]", STRICT), 2, "write null or the strings");
    }

    #[test]
    fn json_non_finite_values_read_with_allow_nonfinite() {
        let batch = json(r#"[[null, "NaN"], ["Infinity", "-Infinity"]]"#, LENIENT).unwrap();
        assert!(batch.values[0].is_nan() && batch.values[1].is_nan());
        assert_eq!(batch.values[2..], [f32::INFINITY, f32::NEG_INFINITY]);
        refused(
            json("[[\"nan\", 1]]", LENIENT),
            1,
            "\"nan\" is not a number",
        );
    }
}
