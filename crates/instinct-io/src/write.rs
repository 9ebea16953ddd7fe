//! Writing a model's outputs a chunk at a time: CSV with a header of column names, JSON rows,
//! JSON Lines objects, a 2-D `<f4` `.npy` array, or Parquet and Arrow IPC record batches, with
//! the kept input columns first. Text numbers are written in their shortest form that reads
//! back as the same f32.

use crate::chunk::{Chunk, KeptColumn};
pub use crate::columns::OutputColumns;
use crate::format::DataFormat;
use crate::npy;
use std::io::{Read, Seek, Write};

#[cfg(feature = "arrow")]
mod columnar;
#[cfg(feature = "arrow")]
pub use columnar::record_batch;

/// Writes rows in one format into `out`, chunk after chunk; [`finish`](RowWriter::finish)
/// closes the document.
pub struct RowWriter<'w> {
    out: &'w mut dyn Write,
    format: DataFormat,
    columns: &'w OutputColumns,
    rows: usize,
    /// `.npy`: the values, spooled to a temporary file until the row count is known for the
    /// header.
    spool: Option<std::io::BufWriter<std::fs::File>>,
    /// Parquet and Arrow: the record batch encoder.
    #[cfg(feature = "arrow")]
    columnar: Option<columnar::ColumnarWriter>,
    line: Vec<u8>,
}

impl<'w> RowWriter<'w> {
    /// Starts the document (a CSV's header, a JSON array's bracket). A format this build
    /// cannot write (see [`DataFormat::check_built`]) is an error.
    pub fn new(
        out: &'w mut dyn Write,
        format: DataFormat,
        columns: &'w OutputColumns,
    ) -> std::io::Result<RowWriter<'w>> {
        format
            .check_built()
            .map_err(|e| std::io::Error::other(e.message))?;
        let mut writer = RowWriter {
            out,
            format,
            columns,
            rows: 0,
            spool: None,
            #[cfg(feature = "arrow")]
            columnar: format
                .is_columnar()
                .then(|| columnar::ColumnarWriter::new(format)),
            line: Vec::with_capacity(64 << 10),
        };
        match format {
            DataFormat::Csv => {
                let names = columns.kept.iter().chain(&columns.outputs);
                for (i, name) in names.enumerate() {
                    if i > 0 {
                        writer.line.push(b',');
                    }
                    csv_text(&mut writer.line, name);
                }
                writer.line.push(b'\n');
                writer.out.write_all(&writer.line)?;
            }
            DataFormat::Json => writer.out.write_all(b"[")?,
            DataFormat::Jsonl => {}
            DataFormat::Npy => {
                writer.spool = Some(std::io::BufWriter::with_capacity(
                    256 << 10,
                    tempfile::tempfile()?,
                ));
            }
            DataFormat::Parquet | DataFormat::Arrow | DataFormat::ArrowStream => {}
        }
        Ok(writer)
    }

    /// Writes the chunk's rows: `chunk.values` holds `chunk.rows × outputs` values and
    /// `chunk.kept` one column per kept name.
    pub fn write(&mut self, chunk: &Chunk) -> std::io::Result<()> {
        let width = self.columns.outputs.len();
        if chunk.values.len() != chunk.rows * width
            || chunk.kept.len() != self.columns.kept.len()
            || chunk.kept.iter().any(|k| k.len() != chunk.rows)
        {
            return Err(std::io::Error::other(format!(
                "a chunk of {} rows has {} values and {} kept columns, not {} and {}",
                chunk.rows,
                chunk.values.len(),
                chunk.kept.len(),
                chunk.rows * width,
                self.columns.kept.len()
            )));
        }
        if let Some(spool) = &mut self.spool {
            npy::write_f32_values(spool, &chunk.values)?;
            self.rows += chunk.rows;
            return Ok(());
        }
        #[cfg(feature = "arrow")]
        if let Some(columnar) = &mut self.columnar {
            columnar.write(chunk, self.columns, self.out)?;
            self.rows += chunk.rows;
            return Ok(());
        }
        let mut floats = ryu::Buffer::new();
        for r in 0..chunk.rows {
            let line = &mut self.line;
            line.clear();
            let values = &chunk.values[r * width..(r + 1) * width];
            match self.format {
                DataFormat::Csv => {
                    for (j, kept) in chunk.kept.iter().enumerate() {
                        if j > 0 {
                            line.push(b',');
                        }
                        match kept {
                            KeptColumn::Text(cells) => csv_text(line, &cells[r]),
                            KeptColumn::Json(cells) => match &cells[r] {
                                serde_json::Value::String(s) => csv_text(line, s),
                                serde_json::Value::Null => {}
                                other => csv_text(line, &other.to_string()),
                            },
                            #[cfg(feature = "arrow")]
                            KeptColumn::Arrow(array) => {
                                csv_text(line, &columnar::arrow_text(array, r))
                            }
                        }
                    }
                    for (j, v) in values.iter().enumerate() {
                        if j > 0 || !chunk.kept.is_empty() {
                            line.push(b',');
                        }
                        line.extend_from_slice(floats.format(*v).as_bytes());
                    }
                    line.push(b'\n');
                }
                DataFormat::Json => {
                    line.extend_from_slice(if self.rows == 0 { b"\n  [" } else { b",\n  [" });
                    for (j, kept) in chunk.kept.iter().enumerate() {
                        if j > 0 {
                            line.extend_from_slice(b", ");
                        }
                        json_kept(line, kept, r);
                    }
                    for (j, v) in values.iter().enumerate() {
                        if j > 0 || !chunk.kept.is_empty() {
                            line.extend_from_slice(b", ");
                        }
                        json_number(line, &mut floats, *v);
                    }
                    line.push(b']');
                }
                DataFormat::Jsonl => {
                    line.push(b'{');
                    let names = self.columns.kept.iter().chain(&self.columns.outputs);
                    for (j, name) in names.enumerate() {
                        if j > 0 {
                            line.extend_from_slice(b", ");
                        }
                        json_string(line, name);
                        line.extend_from_slice(b": ");
                        match chunk.kept.get(j) {
                            Some(kept) => json_kept(line, kept, r),
                            None => json_number(line, &mut floats, values[j - chunk.kept.len()]),
                        }
                    }
                    line.extend_from_slice(b"}\n");
                }
                DataFormat::Npy
                | DataFormat::Parquet
                | DataFormat::Arrow
                | DataFormat::ArrowStream => {
                    return Err(std::io::Error::other(format!(
                        "a {} writer without its encoder (a bug: new() makes one)",
                        self.format.name()
                    )));
                }
            }
            self.out.write_all(line)?;
            self.rows += 1;
        }
        Ok(())
    }

    /// Ends the document: a JSON array's bracket, or a `.npy` file's header and spooled values.
    pub fn finish(self) -> std::io::Result<()> {
        match self.format {
            DataFormat::Json => {
                self.out
                    .write_all(if self.rows == 0 { b"]\n" } else { b"\n]\n" })?;
            }
            DataFormat::Npy => {
                let cols = self.columns.outputs.len();
                let Some(spool) = self.spool else {
                    return Err(std::io::Error::other(
                        "a .npy writer without its spool (a bug: new() makes one)",
                    ));
                };
                let mut file = spool.into_inner().map_err(|e| e.into_error())?;
                let count = self.rows * cols;
                let header = npy::f32_header(self.rows, cols, count)
                    .map_err(|e| std::io::Error::other(e.to_string()))?;
                self.out.write_all(&header)?;
                file.rewind()?;
                let copied = std::io::copy(&mut file.take(count as u64 * 4), self.out)?;
                if copied != count as u64 * 4 {
                    return Err(std::io::Error::other(
                        "the spooled output values were cut short",
                    ));
                }
            }
            #[cfg(feature = "arrow")]
            DataFormat::Parquet | DataFormat::Arrow | DataFormat::ArrowStream => {
                if let Some(columnar) = self.columnar {
                    columnar.finish(self.columns, self.out)?;
                }
            }
            _ => {}
        }
        self.out.flush()
    }
}

/// A CSV cell: as it is, or quoted (quotes doubled) when it holds a comma, a quote, a line
/// break or leading/trailing space, as the `csv` crate and spreadsheets quote.
fn csv_text(line: &mut Vec<u8>, text: &str) {
    let needs_quotes = text
        .bytes()
        .any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
        || text.starts_with(' ')
        || text.ends_with(' ');
    if needs_quotes {
        line.push(b'"');
        for b in text.bytes() {
            if b == b'"' {
                line.push(b'"');
            }
            line.push(b);
        }
        line.push(b'"');
    } else {
        line.extend_from_slice(text.as_bytes());
    }
}

/// A JSON number, or the strings `"NaN"`, `"Infinity"`, `"-Infinity"` (as pandas' and
/// JavaScript's writers spell them; `predict --allow-nonfinite` reads them back).
fn json_number(line: &mut Vec<u8>, floats: &mut ryu::Buffer, v: f32) {
    if v.is_finite() {
        line.extend_from_slice(floats.format_finite(v).as_bytes());
    } else if v.is_nan() {
        line.extend_from_slice(b"\"NaN\"");
    } else if v > 0.0 {
        line.extend_from_slice(b"\"Infinity\"");
    } else {
        line.extend_from_slice(b"\"-Infinity\"");
    }
}

/// A JSON string.
fn json_string(line: &mut Vec<u8>, text: &str) {
    // serde_json's escaping cannot fail on a string written into a vector.
    let _ = serde_json::to_writer(&mut *line, text);
}

/// Row `r` of a kept column as JSON: text as a string, JSON values as they were.
fn json_kept(line: &mut Vec<u8>, kept: &KeptColumn, r: usize) {
    match kept {
        KeptColumn::Text(cells) => json_string(line, &cells[r]),
        KeptColumn::Json(cells) => {
            let _ = serde_json::to_writer(&mut *line, &cells[r]);
        }
        #[cfg(feature = "arrow")]
        KeptColumn::Arrow(array) => {
            let _ = serde_json::to_writer(&mut *line, &columnar::arrow_json(array, r));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(kept: &[&str], outputs: usize) -> OutputColumns {
        OutputColumns {
            kept: kept.iter().map(|s| s.to_string()).collect(),
            outputs: (0..outputs).map(|i| format!("output_{i}")).collect(),
        }
    }

    fn chunk(rows: usize, values: &[f32], kept: Vec<KeptColumn>) -> Chunk {
        Chunk {
            first_row: 0,
            rows,
            values: values.to_vec(),
            kept,
        }
    }

    /// The text written for `chunks` in `format`.
    fn written(format: DataFormat, columns: &OutputColumns, chunks: &[Chunk]) -> String {
        let mut out = Vec::new();
        let mut writer = RowWriter::new(&mut out, format, columns).unwrap();
        for c in chunks {
            writer.write(c).unwrap();
        }
        writer.finish().unwrap();
        String::from_utf8(out).unwrap()
    }

    const ODD: [f32; 6] = [0.5, 1.0, f32::NAN, -2.0, f32::INFINITY, f32::NEG_INFINITY];

    #[test]
    fn json_rows_are_one_per_line_and_non_finite_values_are_strings() {
        let cols = columns(&[], 2);
        let chunks = [chunk(1, &ODD[..2], vec![]), chunk(2, &ODD[2..], vec![])];
        assert_eq!(
            written(DataFormat::Json, &cols, &chunks),
            "[\n  [0.5, 1.0],\n  [\"NaN\", -2.0],\n  [\"Infinity\", \"-Infinity\"]\n]\n"
        );
        assert_eq!(written(DataFormat::Json, &cols, &[]), "[]\n");
        // The shortest form reads back as the same f32.
        let x = 0.1f32 + f32::EPSILON;
        let text = written(
            DataFormat::Json,
            &columns(&[], 1),
            &[chunk(1, &[x], vec![])],
        );
        let parsed: Vec<Vec<f32>> = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed[0][0].to_bits(), x.to_bits());
    }

    #[test]
    fn csv_has_a_header_and_quotes_kept_text_only_where_needed() {
        let cols = columns(&["id", "note"], 2);
        let kept = vec![
            KeptColumn::Text(vec!["a-1".into(), "b 2".into()]),
            KeptColumn::Text(vec!["x, \"y\"".into(), String::new()]),
        ];
        assert_eq!(
            written(
                DataFormat::Csv,
                &cols,
                &[chunk(2, &[0.5, 1e-30, f32::INFINITY, f32::NAN], kept)]
            ),
            "id,note,output_0,output_1\na-1,\"x, \"\"y\"\"\",0.5,1e-30\nb 2,,inf,NaN\n"
        );
        assert_eq!(
            written(DataFormat::Csv, &columns(&[], 3), &[]),
            "output_0,output_1,output_2\n"
        );
    }

    #[test]
    fn json_lines_are_objects_keyed_by_column_names() {
        let cols = columns(&["id"], 2);
        let kept = vec![KeptColumn::Json(vec![
            serde_json::json!(7),
            serde_json::json!("b"),
        ])];
        let text = written(DataFormat::Jsonl, &cols, &[chunk(2, &ODD[..4], kept)]);
        assert_eq!(
            text,
            "{\"id\": 7, \"output_0\": 0.5, \"output_1\": 1.0}\n{\"id\": \"b\", \"output_0\": \"NaN\", \"output_1\": -2.0}\n"
        );
        // Kept columns in a JSON array come first in each row.
        let kept = vec![KeptColumn::Text(vec!["r1".into()])];
        assert_eq!(
            written(
                DataFormat::Json,
                &columns(&["id"], 1),
                &[chunk(1, &[2.0], kept)]
            ),
            "[\n  [\"r1\", 2.0]\n]\n"
        );
    }

    #[test]
    fn npy_output_is_spooled_until_its_row_count_is_known() {
        let cols = columns(&[], 2);
        let values = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let mut out = Vec::new();
        let mut writer = RowWriter::new(&mut out, DataFormat::Npy, &cols).unwrap();
        writer.write(&chunk(1, &values[..2], vec![])).unwrap();
        writer.write(&chunk(2, &values[2..], vec![])).unwrap();
        writer.finish().unwrap();
        assert_eq!(out, npy::write_f32(3, 2, &values).unwrap());
        assert!(columns(&["id"], 1).check(DataFormat::Npy).is_err());
    }

    #[test]
    fn a_chunk_of_the_wrong_shape_is_an_error_not_a_panic() {
        let cols = columns(&[], 2);
        let mut out = Vec::new();
        let mut writer = RowWriter::new(&mut out, DataFormat::Csv, &cols).unwrap();
        assert!(writer.write(&chunk(2, &[1.0], vec![])).is_err());
    }
}
