//! Reading a model's input rows from CSV, JSON, JSON Lines, `.npy`, Parquet and Arrow IPC files or
//! standard input, in chunks of rows in the model's feature order ([`read_chunks`]) or all at
//! once ([`read_rows`]). Every value must be a finite f32 unless `allow_nonfinite` is set; every bad
//! value is named by its row (1-based, as in the file) and its column (by name where the file or
//! the model has one).

use crate::chunk::{Chunk, Emit};
pub use crate::columns::Columns;
use crate::error::DataError;
use crate::format::DataFormat;
use instinct_format::FormatError;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

mod blocks;
mod cell;
#[cfg(feature = "arrow")]
mod columnar;
mod csv;
mod decimal;
mod json;
mod npy;

pub use cell::{Batch, ReadOptions};
use csv::read_csv;
use json::{read_json, read_json_lines};
use npy::read_npy;

/// The read buffer of a streamed file.
const READ_BUFFER: usize = 256 << 10;

/// Where rows come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A file (or a FIFO, a device).
    File(PathBuf),
    /// This process's standard input.
    Stdin,
}

impl Input {
    /// `-` is standard input, anything else a file.
    pub fn from_arg(arg: &Path) -> Input {
        if arg == Path::new("-") {
            Input::Stdin
        } else {
            Input::File(arg.to_path_buf())
        }
    }

    /// The path, or `<stdin>`, for messages.
    pub fn name(&self) -> String {
        match self {
            Input::File(path) => path.display().to_string(),
            Input::Stdin => "<stdin>".into(),
        }
    }
}

/// Reads the rows of `input` for a model taking `columns`, handing them to `emit` a chunk at a
/// time (see [`ReadOptions::chunk_rows`]); the number of rows read. An unreadable or malformed
/// input is [`DataErrorKind::Unreadable`](crate::DataErrorKind); a row of the wrong length, a
/// missing column or a value that is not a finite number is `Invalid`, naming the row and column;
/// an error from `emit` stops the reading and is returned as it is. Every message starts with
/// the input's name.
///
/// Every format is parsed as it is read, so the reader holds a chunk of rows and a buffer of
/// 256 KiB, not the file; CSV also has a few blocks of 1 MiB of text out to its parsing threads,
/// and Parquet a row group's used columns. The exceptions hold the input whole: a Fortran-order
/// `.npy` file, and from a pipe a Parquet file or an Arrow IPC *file* (their index is at their
/// end; the Arrow stream layout is read as it comes).
pub fn read_chunks(
    input: &Input,
    format: DataFormat,
    columns: &Columns,
    options: ReadOptions,
    emit: &mut dyn FnMut(Chunk) -> Result<(), DataError>,
) -> Result<usize, DataError> {
    read_chunks_counting(input, format, columns, options, &AtomicU64::new(0), emit)
}

/// [`read_chunks`], adding the bytes read from the input to `bytes_read` as they are read (for a
/// progress display on another thread).
pub fn read_chunks_counting(
    input: &Input,
    format: DataFormat,
    columns: &Columns,
    options: ReadOptions,
    bytes_read: &AtomicU64,
    emit: &mut dyn FnMut(Chunk) -> Result<(), DataError>,
) -> Result<usize, DataError> {
    format.check_built()?;
    passing_emit_errors(emit, |forward| {
        open_and_read(input, format, columns, options, bytes_read, forward)
    })
}

/// Reads rows for `columns` from Arrow record batches already in memory (handed over through
/// the Arrow C data interface, or made by the caller), whose columns are `schema`'s; `name`
/// stands for the data at the start of every message. Otherwise as [`read_chunks`]: columns
/// matched by name, each value converted to f32 and checked, chunks of
/// [`ReadOptions::chunk_rows`] handed to `emit` (large batches sliced, small ones gathered).
///
/// ```
/// use arrow_array::{Float64Array, Int32Array, RecordBatch};
/// use instinct_io::{Columns, ReadOptions, read::read_record_batches};
/// use std::sync::Arc;
///
/// let batch = RecordBatch::try_from_iter([
///     ("id", Arc::new(Int32Array::from(vec![7, 8])) as _),
///     ("x", Arc::new(Float64Array::from(vec![0.5, 1.5])) as _),
/// ])?;
/// let columns = Columns::new(1, Some(vec!["x".into()]));
/// let mut rows = Vec::new();
/// let read = read_record_batches("the table", &batch.schema(), [Ok(batch)].into_iter(),
///     &columns, ReadOptions::default(), &mut |chunk| { rows.extend(chunk.values); Ok(()) })?;
/// assert_eq!((read, rows), (2, vec![0.5, 1.5]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[cfg(feature = "arrow")]
pub fn read_record_batches(
    name: &str,
    schema: &arrow_schema::Schema,
    batches: impl Iterator<Item = Result<arrow_array::RecordBatch, arrow_schema::ArrowError>>,
    columns: &Columns,
    options: ReadOptions,
    emit: &mut dyn FnMut(Chunk) -> Result<(), DataError>,
) -> Result<usize, DataError> {
    passing_emit_errors(emit, |forward| {
        columnar::read_in_memory(schema, batches, columns, options, forward).map_err(|e| e.at(name))
    })
}

/// Runs `read` with `emit`: an error `emit` returned is the receiver's own, and passes through
/// as it is (without the input's name `read` puts on its own errors).
fn passing_emit_errors(
    emit: Emit,
    read: impl FnOnce(Emit) -> Result<usize, DataError>,
) -> Result<usize, DataError> {
    let mut emitted: Option<DataError> = None;
    let mut forward = |chunk: Chunk| emit(chunk).inspect_err(|e| emitted = Some(e.clone()));
    let result = read(&mut forward);
    match (result, emitted) {
        (Err(_), Some(e)) => Err(e),
        (result, _) => result,
    }
}

fn open_and_read(
    input: &Input,
    format: DataFormat,
    columns: &Columns,
    options: ReadOptions,
    bytes_read: &AtomicU64,
    emit: Emit,
) -> Result<usize, DataError> {
    match input {
        Input::Stdin => {
            let stdin = Counting {
                inner: std::io::stdin().lock(),
                bytes_read,
            };
            let reader = BufReader::with_capacity(READ_BUFFER, stdin);
            read_stream(reader, None, format, columns, options, emit).map_err(|e| e.at("<stdin>"))
        }
        Input::File(path) => {
            let io = |source| {
                DataError::unreadable(FormatError::Io {
                    path: path.to_path_buf(),
                    source,
                })
            };
            let file = File::open(path).map_err(io)?;
            let meta = file.metadata().map_err(io)?;
            if meta.is_dir() {
                return Err(io(std::io::Error::new(
                    std::io::ErrorKind::IsADirectory,
                    "is a directory",
                )));
            }
            // A FIFO's or device's length says nothing: its end is checked as it comes.
            let length = meta.is_file().then_some(meta.len());
            if meta.is_file() && format.is_columnar() {
                return read_columnar_file(file, format, columns, options, bytes_read, emit)
                    .map_err(|e| e.at(path.display()));
            }
            let file = Counting {
                inner: file,
                bytes_read,
            };
            let reader = BufReader::with_capacity(READ_BUFFER, file);
            read_stream(reader, length, format, columns, options, emit)
                .map_err(|e| e.at(path.display()))
        }
    }
}

/// A reader that adds what it reads to a counter.
struct Counting<'c, R> {
    inner: R,
    bytes_read: &'c AtomicU64,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes_read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl<R: Seek> Seek for Counting<'_, R> {
    fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(to)
    }
}

/// Reads a Parquet or Arrow IPC file, seeking where its layout needs it (a Parquet file's
/// columns and footer, an Arrow file's index).
#[cfg(feature = "arrow")]
fn read_columnar_file(
    file: File,
    format: DataFormat,
    columns: &Columns,
    options: ReadOptions,
    bytes_read: &AtomicU64,
    emit: Emit,
) -> Result<usize, DataError> {
    match format {
        #[cfg(feature = "parquet")]
        DataFormat::Parquet => {
            // Parquet's reader takes the file itself: its size stands for the bytes read.
            let size = file.metadata().map_or(0, |m| m.len());
            let io = |e| DataError::unreadable(format!("{e}"));
            let shared = std::sync::Arc::new(file.try_clone().map_err(io)?);
            let rows = columnar::read_parquet(file, shared, columns, options, emit)?;
            bytes_read.fetch_add(size, Ordering::Relaxed);
            Ok(rows)
        }
        DataFormat::Arrow | DataFormat::ArrowStream => {
            let file = Counting {
                inner: file,
                bytes_read,
            };
            let reader = BufReader::with_capacity(READ_BUFFER, file);
            columnar::read_arrow_seekable(reader, columns, options, emit)
        }
        _ => not_columnar(format),
    }
}

/// The error for a format that has no columnar reader in this build.
fn not_columnar(format: DataFormat) -> Result<usize, DataError> {
    format.check_built()?;
    Err(DataError::unreadable(format!(
        "{} is not a columnar format",
        format.name()
    )))
}

#[cfg(not(feature = "arrow"))]
fn read_columnar_file(
    _: File,
    format: DataFormat,
    _: &Columns,
    _: ReadOptions,
    _: &AtomicU64,
    _: Emit,
) -> Result<usize, DataError> {
    not_columnar(format)
}

/// Reads Parquet or Arrow IPC as it comes from a stream: Parquet (whose index is at its end)
/// read whole first, an Arrow IPC stream as it comes.
fn read_columnar_stream(
    reader: impl BufRead,
    format: DataFormat,
    columns: &Columns,
    options: ReadOptions,
    emit: Emit,
) -> Result<usize, DataError> {
    match format {
        #[cfg(feature = "parquet")]
        DataFormat::Parquet => {
            let mut reader = reader;
            let mut bytes = Vec::new();
            reader
                .read_to_end(&mut bytes)
                .map_err(|e| DataError::unreadable(format!("{e}")))?;
            let bytes = bytes::Bytes::from(bytes);
            let shared = std::sync::Arc::new(bytes.clone());
            columnar::read_parquet(bytes, shared, columns, options, emit)
        }
        #[cfg(feature = "arrow")]
        DataFormat::Arrow | DataFormat::ArrowStream => {
            columnar::read_arrow_unseekable(reader, columns, options, emit)
        }
        _ => {
            drop((reader, columns, options, emit));
            not_columnar(format)
        }
    }
}

/// Reads all the rows of `path` for a model taking `columns` into one batch: [`read_chunks`]
/// collected.
pub fn read_rows(
    path: &Path,
    format: DataFormat,
    columns: &Columns,
    options: ReadOptions,
) -> Result<Batch, DataError> {
    collect(|emit| {
        read_chunks(
            &Input::File(path.to_path_buf()),
            format,
            columns,
            options,
            emit,
        )
    })
}

/// Reads rows for `columns` from the bytes of a file in `format`: [`read_rows`] without the file.
pub fn read_bytes(
    bytes: &[u8],
    format: DataFormat,
    columns: &Columns,
    options: ReadOptions,
) -> Result<Batch, DataError> {
    collect(|emit| {
        read_stream(
            bytes,
            Some(bytes.len() as u64),
            format,
            columns,
            options,
            emit,
        )
    })
}

/// The chunks `read` hands on, in one batch.
fn collect(read: impl FnOnce(Emit) -> Result<usize, DataError>) -> Result<Batch, DataError> {
    let mut values: Vec<f32> = Vec::new();
    let mut rows = 0;
    read(&mut |chunk: Chunk| {
        if values.is_empty() {
            values = chunk.values;
        } else {
            values.try_reserve(chunk.values.len()).map_err(|_| {
                DataError::unreadable(format!(
                    "not enough memory for the input rows ({} values read)",
                    values.len()
                ))
            })?;
            values.extend_from_slice(&chunk.values);
        }
        rows += chunk.rows;
        Ok(())
    })?;
    Ok(Batch { values, rows })
}

/// Reads rows for `columns` as they come from `reader`, which holds `length` bytes when that is
/// known (buffered: JSON is read a byte at a time).
fn read_stream(
    reader: impl BufRead,
    length: Option<u64>,
    format: DataFormat,
    columns: &Columns,
    options: ReadOptions,
    emit: Emit,
) -> Result<usize, DataError> {
    let unreadable = |e: std::io::Error| DataError::unreadable(format!("{e}"));
    // Spreadsheet programs like to start UTF-8 files with a byte-order mark; it is not data.
    let text = |reader| without_bom(reader).map_err(unreadable);
    match format {
        DataFormat::Json => read_json(text(reader)?, columns, options, emit),
        DataFormat::Jsonl => read_json_lines(text(reader)?, columns, options, emit),
        DataFormat::Csv => read_csv(text(reader)?, columns, options, emit),
        DataFormat::Npy => read_npy(reader, length, columns, options, emit),
        DataFormat::Parquet | DataFormat::Arrow | DataFormat::ArrowStream => {
            read_columnar_stream(reader, format, columns, options, emit)
        }
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
        chunk_rows: None,
    };
    const LENIENT: ReadOptions = ReadOptions {
        allow_nonfinite: true,
        header: None,
        chunk_rows: None,
    };

    fn csv_with(
        text: &str,
        names: Option<Vec<String>>,
        options: ReadOptions,
    ) -> Result<Batch, DataError> {
        read_bytes(
            text.as_bytes(),
            DataFormat::Csv,
            &Columns::new(2, names),
            options,
        )
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
            header: Some(header),
            ..STRICT
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
            "line 3 has 1 values, the header has 2 columns",
        );
        csv_err("1,2,3\n", None, "line 1 has 3 values");
        csv_err(
            "a,c\n1,2\n",
            names(&["a", "b"]),
            "line 1: the input has no column \"b\" (its columns: \"a\", \"c\")",
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
        csv_err(
            "a,b,c\n1,2,3\n",
            None,
            "the input has 3 columns, the model takes 2 values",
        );
    }

    fn json(text: &str, options: ReadOptions) -> Result<Batch, DataError> {
        let columns = Columns::new(2, names(&["a", "b"]));
        read_bytes(text.as_bytes(), DataFormat::Json, &columns, options)
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

    #[test]
    fn csv_of_many_blocks_reads_in_order_with_absolute_line_numbers() {
        // About 3.5 MB: several blocks, parsed on several threads; ids with quoted line breaks.
        let rows = 100_000;
        let mut text = String::from("id,a,b\n");
        for r in 0..rows {
            text.push_str(&format!("\"r{r}\n\",{r},{}\n", r as f32 * 0.5));
        }
        let columns = Columns {
            size: 2,
            names: names(&["a", "b"]),
            keep: vec!["id".into()],
        };
        let mut seen = 0;
        let mut kept_ok = true;
        let read = read_stream(
            text.as_bytes(),
            None,
            DataFormat::Csv,
            &columns,
            STRICT,
            &mut |c| {
                for r in 0..c.rows {
                    let row = c.first_row + r;
                    assert_eq!(c.values[r * 2..r * 2 + 2], [row as f32, row as f32 * 0.5]);
                    if let crate::KeptColumn::Text(cells) = &c.kept[0] {
                        kept_ok &= cells[r] == format!("r{row}\n");
                    }
                }
                seen += c.rows;
                Ok(())
            },
        )
        .unwrap();
        assert_eq!((read, seen), (rows, rows));
        assert!(kept_ok);
        // Each row takes two lines: row r starts on line 2 + 2r.
        let bad = text.replacen(",77777,", ",x,", 1);
        refused(
            read_bytes(bad.as_bytes(), DataFormat::Csv, &columns, STRICT),
            1,
            "line 155556, column 2 (\"a\"): \"x\" is not a number",
        );
    }
}
