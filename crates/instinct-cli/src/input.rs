//! Reading `predict`'s input rows from `.json`, `.csv` and `.npy` files into one flat batch,
//! with every bad row named (CSV by 1-based line, JSON by 0-based index).

use crate::failure::{Failure, Outcome};
use crate::npy;
use crate::predict::DataFormat;
use anyhow::anyhow;
use instinct::{FormatError, Model};
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;

/// Input files are read whole into memory; past this size that is surely a mistake.
const MAX_INPUT_BYTES: u64 = 4 << 30;

/// Input rows, sample after sample, `feature_size` values each.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// `rows × feature_size` values.
    pub values: Vec<f32>,
    /// Number of samples.
    pub rows: usize,
}

/// Reads the rows of `path` for `model`. An unreadable or malformed file is exit 2; a row of
/// the wrong length or with a value that is not a number is exit 1, naming the row.
pub fn read_rows(path: &Path, format: DataFormat, model: &Model) -> Outcome<Batch> {
    let bytes = instinct::format::read_limited(path, MAX_INPUT_BYTES).map_err(|e| match e {
        FormatError::FileTooLarge { bytes, max } => Failure::unreadable(anyhow!(
            "{}: input file is {bytes} bytes, more than the limit of {max}",
            path.display()
        )),
        other => Failure::unreadable(other),
    })?;
    let shown = path.display();
    let fail_in_file = |f: Failure| Failure {
        code: f.code,
        error: anyhow!("{shown}: {:#}", f.error),
    };
    match format {
        DataFormat::Json => read_json(&bytes, model.feature_size()),
        DataFormat::Csv => read_csv(&bytes, model.feature_size(), model.feature_names()),
        DataFormat::Npy => read_npy(&bytes, model.feature_size()),
    }
    .map_err(fail_in_file)
}

/// `[[...], ...]` or `{"inputs": [[...], ...]}`. JSON cannot spell NaN, so `null` stands for it
/// (as pandas writes it), and strings that parse as numbers (`"NaN"`, `"inf"`) are accepted.
fn read_json(bytes: &[u8], feature_size: usize) -> Outcome<Batch> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        // Python's `json.dump` writes bare NaN and Infinity, which are not JSON; say so.
        let hint = if e.is_syntax() && (contains(bytes, b"NaN") || contains(bytes, b"Infinity")) {
            " (JSON has no NaN or Infinity: write null or the string \"NaN\")"
        } else {
            ""
        };
        Failure::unreadable(anyhow!("invalid json: {e}{hint}"))
    })?;
    let rows = match value {
        Value::Array(rows) => rows,
        Value::Object(mut map) => match map.remove("inputs") {
            Some(Value::Array(rows)) => rows,
            _ => {
                return Err(Failure::unreadable(anyhow!(
                    "expected an array of rows or an object with an \"inputs\" array of rows"
                )));
            }
        },
        _ => {
            return Err(Failure::unreadable(anyhow!(
                "expected an array of rows or an object with an \"inputs\" array of rows"
            )));
        }
    };
    let mut values = Vec::with_capacity(rows.len().saturating_mul(feature_size));
    for (index, row) in rows.iter().enumerate() {
        let Value::Array(row) = row else {
            return Err(Failure::invalid(anyhow!(
                "row {index} (counting from 0) is not an array of numbers"
            )));
        };
        if row.len() != feature_size {
            return Err(Failure::invalid(anyhow!(
                "row {index} (counting from 0) has {} values, the model takes {feature_size}",
                row.len()
            )));
        }
        for (position, v) in row.iter().enumerate() {
            let x = match v {
                Value::Number(n) => n.as_f64().map(|x| x as f32),
                Value::Null => Some(f32::NAN),
                Value::String(s) => s.trim().parse::<f32>().ok(),
                _ => None,
            };
            let Some(x) = x else {
                return Err(Failure::invalid(anyhow!(
                    "row {index} (counting from 0), value {position}: {v} is not a number"
                )));
            };
            values.push(x);
        }
    }
    Ok(Batch {
        values,
        rows: rows.len(),
    })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Whether a CSV field reads as a value: a number (including `NaN` and `inf`) or empty, which
/// stands for a missing value, NaN (as pandas writes it).
fn parse_field(field: &str) -> Option<f32> {
    if field.is_empty() {
        Some(f32::NAN)
    } else {
        field.parse().ok()
    }
}

/// CSV with an optional header, detected by a non-numeric field in the first row. With a header
/// and feature names, columns are matched by name and the others ignored; otherwise the columns
/// are the features in order.
fn read_csv(bytes: &[u8], feature_size: usize, names: Option<Vec<String>>) -> Outcome<Batch> {
    // Spreadsheet programs like to start UTF-8 files with a byte-order mark; it is not data.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let csv_error = |e: csv::Error| Failure::unreadable(anyhow!("{e}"));
    let mut records = reader.records();
    let Some(first) = records.next().transpose().map_err(csv_error)? else {
        return Ok(Batch {
            values: Vec::new(),
            rows: 0,
        });
    };
    let header = first
        .iter()
        .any(|f| parse_field(f).is_none())
        .then_some(first.clone());

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
                        return Err(Failure::invalid(anyhow!(
                            "the header names column {name:?} more than once"
                        )));
                    }
                    None => missing.push(format!("{name:?}")),
                }
            }
            if !missing.is_empty() {
                return Err(Failure::invalid(anyhow!(
                    "the header has no column for feature{} {} (columns: {})",
                    if missing.len() == 1 { "" } else { "s" },
                    missing.join(", "),
                    header.iter().collect::<Vec<_>>().join(", ")
                )));
            }
            (columns, header.len())
        }
        (Some(header), None) if header.len() != feature_size => {
            return Err(Failure::invalid(anyhow!(
                "the header has {} columns, the model takes {feature_size} values and names no features to match them by",
                header.len()
            )));
        }
        _ => ((0..feature_size).collect(), feature_size),
    };

    let mut values = Vec::new();
    let mut rows = 0usize;
    let mut push_row = |record: &csv::StringRecord| -> Outcome {
        let line = record.position().map_or(0, csv::Position::line);
        if record.len() != width {
            let expected = match (&header, &names) {
                (Some(_), Some(_)) => format!("the header has {width} columns"),
                _ => format!("the model takes {width}"),
            };
            return Err(Failure::invalid(anyhow!(
                "line {line} has {} values, {expected}",
                record.len()
            )));
        }
        for &c in &columns {
            let field = record.get(c).unwrap_or("");
            let Some(x) = parse_field(field) else {
                let column = match header.as_ref().and_then(|h| h.get(c)) {
                    Some(name) => format!("column {} ({name:?})", c + 1),
                    None => format!("column {}", c + 1),
                };
                return Err(Failure::invalid(anyhow!(
                    "line {line}, {column}: {field:?} is not a number"
                )));
            };
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

/// A 2-D `<f4`/`<f8` array with one row per sample.
fn read_npy(bytes: &[u8], feature_size: usize) -> Outcome<Batch> {
    let matrix = npy::read(bytes).map_err(Failure::unreadable)?;
    if matrix.cols != feature_size {
        // Every row of an array has the same length, so the first row is the first bad one.
        let row = if matrix.rows > 0 {
            "row 0 (counting from 0)"
        } else {
            "each row"
        };
        return Err(Failure::invalid(anyhow!(
            "{row} has {} values, the model takes {feature_size} (the array's shape is ({}, {}))",
            matrix.cols,
            matrix.rows,
            matrix.cols
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

    fn names(list: &[&str]) -> Option<Vec<String>> {
        Some(list.iter().map(|s| s.to_string()).collect())
    }

    fn csv_ok(text: &str, names: Option<Vec<String>>) -> Vec<f32> {
        let batch = read_csv(text.as_bytes(), 2, names).unwrap_or_else(|e| panic!("{:#}", e.error));
        assert_eq!(batch.values.len(), batch.rows * 2);
        batch.values
    }

    fn csv_err(text: &str, names: Option<Vec<String>>, expected: &str) {
        let err = read_csv(text.as_bytes(), 2, names).unwrap_err();
        let message = format!("{:#}", err.error);
        assert!(
            message.contains(expected),
            "{message:?} should mention {expected:?}"
        );
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
        assert!(csv_ok("a,b\n,NaN\n", None).iter().all(|x| x.is_nan()));
        assert_eq!(csv_ok("", None), Vec::<f32>::new());
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

    #[test]
    fn json_rows_accept_both_shapes_and_null_as_nan() {
        let batch = read_json(br#"{"inputs": [[1, 2.5], [null, "inf"]]}"#, 2).unwrap();
        assert_eq!(batch.rows, 2);
        assert_eq!(batch.values[..2], [1.0, 2.5]);
        assert!(batch.values[2].is_nan() && batch.values[3] == f32::INFINITY);
        assert_eq!(read_json(b"[]", 2).unwrap().rows, 0);
        let err = read_json(b"[[1, 2], [3]]", 2).unwrap_err();
        assert_eq!(
            (err.code, format!("{}", err.error).contains("row 1")),
            (1, true)
        );
        assert_eq!(read_json(b"[[1, true]]", 2).unwrap_err().code, 1);
        assert_eq!(read_json(b"{\"rows\": []}", 2).unwrap_err().code, 2);
        assert_eq!(read_json(b"[[1, 2]", 2).unwrap_err().code, 2);
        let err = read_json(b"[[1, NaN]]", 2).unwrap_err();
        assert!(
            format!("{}", err.error).contains("write null"),
            "{}",
            err.error
        );
    }
}
