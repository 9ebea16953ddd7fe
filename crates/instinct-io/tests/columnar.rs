//! Parquet and Arrow IPC in and out: columns matched by name whatever their numeric type, nulls
//! and text refused by row and column, kept columns passed through with their types, small
//! batches gathered into chunks, and hostile bytes refused without a panic.
#![cfg(feature = "parquet")]

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Int64Type};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Float32Array, Float64Array, Int32Array, Int64Array, RecordBatch,
    StringArray,
};
use arrow_schema::DataType;
use instinct_io::{
    Chunk, Columns, DataErrorKind, DataFormat, KeptColumn, OutputColumns, ReadOptions, RowWriter,
    read_bytes,
};
use std::sync::Arc;

const ROWS: usize = 1000;

/// Row `r`'s values of columns a (Int32), b (Float64) and flag (Boolean).
fn a(r: usize) -> i32 {
    r as i32 - 500
}
fn b(r: usize) -> f64 {
    r as f64 * 0.25 + 0.125
}
fn flag(r: usize) -> bool {
    r.is_multiple_of(3)
}

/// A table whose columns are in another order than the model's, with extras and an id.
fn table(rows: std::ops::Range<usize>) -> RecordBatch {
    let ids: Vec<String> = rows.clone().map(|r| format!("row-{r}")).collect();
    let columns: Vec<(&str, ArrayRef)> = vec![
        (
            "extra",
            Arc::new(Float32Array::from_iter_values(
                rows.clone().map(|r| r as f32),
            )),
        ),
        (
            "b",
            Arc::new(Float64Array::from_iter_values(rows.clone().map(b))),
        ),
        ("id", Arc::new(StringArray::from_iter_values(ids))),
        (
            "flag",
            Arc::new(BooleanArray::from_iter(rows.clone().map(|r| Some(flag(r))))),
        ),
        (
            "a",
            Arc::new(Int32Array::from_iter_values(rows.clone().map(a))),
        ),
        (
            "n",
            Arc::new(Int64Array::from_iter_values(rows.map(|r| r as i64 * 10))),
        ),
    ];
    RecordBatch::try_from_iter(columns).unwrap()
}

/// The model's view of row `r`: a, b, flag.
fn expected_row(r: usize) -> [f32; 3] {
    [a(r) as f32, b(r) as f32, if flag(r) { 1.0 } else { 0.0 }]
}

fn model_columns(keep: &[&str]) -> Columns {
    Columns {
        size: 3,
        names: Some(vec!["a".into(), "b".into(), "flag".into()]),
        keep: keep.iter().map(|s| s.to_string()).collect(),
    }
}

/// `batches` as a Parquet file of small row groups.
fn parquet_bytes(batches: &[RecordBatch]) -> Vec<u8> {
    let properties = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(128))
        .build();
    let mut out = Vec::new();
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(&mut out, batches[0].schema(), Some(properties))
            .unwrap();
    for batch in batches {
        writer.write(batch).unwrap();
    }
    writer.close().unwrap();
    out
}

fn ipc_file(batches: &[RecordBatch]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut writer =
        arrow_ipc::writer::FileWriter::try_new(&mut out, &batches[0].schema()).unwrap();
    for batch in batches {
        writer.write(batch).unwrap();
    }
    writer.finish().unwrap();
    drop(writer);
    out
}

fn ipc_stream(batches: &[RecordBatch]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut writer =
        arrow_ipc::writer::StreamWriter::try_new(&mut out, &batches[0].schema()).unwrap();
    for batch in batches {
        writer.write(batch).unwrap();
    }
    writer.finish().unwrap();
    drop(writer);
    out
}

/// The table cut into batches of `size` rows.
fn batches(size: usize) -> Vec<RecordBatch> {
    (0..ROWS)
        .step_by(size)
        .map(|start| table(start..(start + size).min(ROWS)))
        .collect()
}

/// Reads `bytes` in chunks of at most `chunk_rows` rows.
fn chunks(bytes: &[u8], format: DataFormat, keep: &[&str], chunk_rows: usize) -> Vec<Chunk> {
    let mut chunks = Vec::new();
    let options = ReadOptions {
        chunk_rows: Some(chunk_rows),
        ..ReadOptions::default()
    };
    // `read_chunks` reads a file; the bytes go through a temporary one.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("input.{}", format.name()));
    std::fs::write(&path, bytes).unwrap();
    instinct_io::read_chunks(
        &instinct_io::Input::File(path),
        format,
        &model_columns(keep),
        options,
        &mut |chunk| {
            chunks.push(chunk);
            Ok(())
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    chunks
}

#[test]
fn every_layout_reads_the_same_rows_by_name_in_chunks() {
    let expected: Vec<f32> = (0..ROWS).flat_map(expected_row).collect();
    let inputs = [
        (DataFormat::Parquet, parquet_bytes(&batches(300))),
        (DataFormat::Arrow, ipc_file(&batches(300))),
        (DataFormat::Arrow, ipc_stream(&batches(300))),
        // Many small batches are gathered into chunks.
        (DataFormat::ArrowStream, ipc_stream(&batches(7))),
        // One batch of every row is converted a chunk at a time.
        (DataFormat::Arrow, ipc_file(&batches(ROWS))),
    ];
    for (format, bytes) in inputs {
        let read = read_bytes(&bytes, format, &model_columns(&[]), ReadOptions::default())
            .unwrap_or_else(|e| panic!("{}: {e}", format.name()));
        assert_eq!(read.rows, ROWS);
        assert_eq!(read.values, expected, "{}", format.name());

        let chunks = chunks(&bytes, format, &["id", "n"], 256);
        assert_eq!(chunks.len(), ROWS.div_ceil(256), "{}", format.name());
        let mut first_row = 0;
        for chunk in &chunks {
            assert_eq!(chunk.first_row, first_row);
            assert!(chunk.rows <= 256);
            let rows = first_row..first_row + chunk.rows;
            let want: Vec<f32> = rows.clone().flat_map(expected_row).collect();
            assert_eq!(chunk.values, want);
            let [KeptColumn::Arrow(id), KeptColumn::Arrow(n)] = &chunk.kept[..] else {
                panic!("kept columns {:?}", chunk.kept);
            };
            // Kept columns keep their types.
            assert_eq!(id.data_type(), &DataType::Utf8);
            let ids: Vec<&str> = id.as_string::<i32>().iter().map(Option::unwrap).collect();
            let want_ids: Vec<String> = rows.clone().map(|r| format!("row-{r}")).collect();
            assert_eq!(ids, want_ids);
            let tens: Vec<i64> = n.as_primitive::<Int64Type>().values().to_vec();
            assert_eq!(tens, rows.map(|r| r as i64 * 10).collect::<Vec<_>>());
            first_row += chunk.rows;
        }
        assert_eq!(first_row, ROWS);
    }
}

#[test]
fn batches_in_memory_read_as_the_files_do() {
    let expected: Vec<f32> = (0..ROWS).flat_map(expected_row).collect();
    let batches = batches(7);
    let schema = batches[0].schema();
    let options = ReadOptions {
        chunk_rows: Some(256),
        ..ReadOptions::default()
    };
    let mut values = Vec::new();
    let mut sizes = Vec::new();
    let rows = instinct_io::read::read_record_batches(
        "the table",
        &schema,
        batches.into_iter().map(Ok),
        &model_columns(&[]),
        options,
        &mut |chunk| {
            sizes.push(chunk.rows);
            values.extend(chunk.values);
            Ok(())
        },
    )
    .unwrap();
    assert_eq!(rows, ROWS);
    assert_eq!(values, expected);
    // Small batches are gathered into chunks of 256 rows.
    assert_eq!(sizes, [256, 256, 256, 232]);

    // A null is named by its row and column, after the name given for the data.
    let with_null = RecordBatch::try_from_iter([
        (
            "a",
            Arc::new(Int32Array::from(vec![Some(1), None])) as ArrayRef,
        ),
        (
            "b",
            Arc::new(Float64Array::from(vec![1.0, 2.0])) as ArrayRef,
        ),
        (
            "flag",
            Arc::new(BooleanArray::from(vec![true, false])) as ArrayRef,
        ),
    ])
    .unwrap();
    let read = |batch: &RecordBatch,
                emit: &mut dyn FnMut(Chunk) -> Result<(), instinct_io::DataError>| {
        instinct_io::read::read_record_batches(
            "the table",
            &batch.schema(),
            [Ok(batch.clone())].into_iter(),
            &model_columns(&[]),
            ReadOptions::default(),
            emit,
        )
    };
    let e = read(&with_null, &mut |_| Ok(())).unwrap_err();
    assert_eq!(e.kind, DataErrorKind::Invalid);
    assert!(
        e.to_string()
            .starts_with("the table: row 2, column 1 (\"a\"): the value is missing (null)"),
        "{e}"
    );
    // Dictionary-encoded numbers and other decimal widths are read as their values.
    let keys = arrow_array::Int8Array::from(vec![1, 0, 1]);
    let dictionary =
        arrow_array::DictionaryArray::try_new(keys, Arc::new(Float64Array::from(vec![-1.5, 2.25])))
            .unwrap();
    let decimals = arrow_array::Decimal64Array::from(vec![125, -50, 0])
        .with_precision_and_scale(10, 2)
        .unwrap();
    let encoded = RecordBatch::try_from_iter([
        ("a", Arc::new(dictionary) as ArrayRef),
        ("b", Arc::new(decimals) as ArrayRef),
        (
            "flag",
            Arc::new(BooleanArray::from(vec![true, false, true])) as ArrayRef,
        ),
    ])
    .unwrap();
    let mut values = Vec::new();
    read(&encoded, &mut |chunk| {
        values.extend(chunk.values);
        Ok(())
    })
    .unwrap();
    assert_eq!(values, [2.25, 1.25, 1.0, -1.5, -0.5, 0.0, 2.25, 0.0, 1.0]);

    // The receiver's own error passes through as it is.
    let fine = table(0..3);
    let e = read(&fine, &mut |_| Err(instinct_io::DataError::invalid("full"))).unwrap_err();
    assert_eq!(e.to_string(), "full");
}

#[test]
fn missing_text_and_null_columns_are_refused_by_name_and_row() {
    let bytes = parquet_bytes(&batches(500));
    let wide = Columns {
        size: 4,
        names: Some(vec!["a".into(), "z".into(), "b".into(), "y".into()]),
        keep: vec!["when".into()],
    };
    let e = read_bytes(&bytes, DataFormat::Parquet, &wide, ReadOptions::default()).unwrap_err();
    assert_eq!(e.kind, DataErrorKind::Invalid);
    assert!(
        e.message.contains("no column \"when\", \"z\", \"y\""),
        "{}",
        e.message
    );

    let text = Columns::new(1, Some(vec!["id".into()]));
    let e = read_bytes(&bytes, DataFormat::Parquet, &text, ReadOptions::default()).unwrap_err();
    assert_eq!(e.kind, DataErrorKind::Invalid);
    assert!(
        e.message.contains("column 3 (\"id\") holds Utf8"),
        "{}",
        e.message
    );

    // A null at row 42 (1-based 43) of column b, and a NaN at row 7 of column a.
    let with_gaps = |r: usize| (r != 42).then(|| b(r));
    let gaps = RecordBatch::try_from_iter(vec![
        (
            "a",
            Arc::new(Float32Array::from_iter_values(
                (0..100).map(|r| if r == 70 { f32::NAN } else { a(r) as f32 }),
            )) as ArrayRef,
        ),
        (
            "b",
            Arc::new(Float64Array::from_iter((0..100).map(with_gaps))),
        ),
        (
            "flag",
            Arc::new(BooleanArray::from_iter((0..100).map(|r| Some(flag(r))))),
        ),
    ])
    .unwrap();
    let bytes = ipc_stream(std::slice::from_ref(&gaps));
    // The first bad value in row order is named, whatever its column and the chunk size.
    for chunk_rows in [None, Some(16)] {
        let options = ReadOptions {
            chunk_rows,
            ..ReadOptions::default()
        };
        let e = read_bytes(&bytes, DataFormat::Arrow, &model_columns(&[]), options).unwrap_err();
        assert_eq!(e.kind, DataErrorKind::Invalid);
        assert!(
            e.message
                .contains("row 43, column 2 (\"b\"): the value is missing (null)"),
            "{}",
            e.message
        );
    }
    // Within one column too: a NaN at row 5 of b comes before its null at row 42.
    let mut columns = gaps.columns().to_vec();
    columns[1] = Arc::new(Float64Array::from_iter(
        (0..100).map(|r| if r == 5 { Some(f64::NAN) } else { with_gaps(r) }),
    ));
    let nan_first = RecordBatch::try_new(gaps.schema(), columns).unwrap();
    let e = read_bytes(
        &ipc_stream(&[nan_first]),
        DataFormat::Arrow,
        &model_columns(&[]),
        ReadOptions::default(),
    )
    .unwrap_err();
    assert!(
        e.message
            .contains("row 6, column 2 (\"b\"): NaN is not a finite number"),
        "{}",
        e.message
    );
    let lenient = ReadOptions {
        allow_nonfinite: true,
        ..ReadOptions::default()
    };
    let read = read_bytes(&bytes, DataFormat::Arrow, &model_columns(&[]), lenient).unwrap();
    assert!(read.values[42 * 3 + 1].is_nan());
    assert!(read.values[70 * 3].is_nan());
    assert_eq!(read.values[43 * 3 + 1], b(43) as f32);

    // Without the null, the NaN is refused, in Parquet as in Arrow.
    let only_nan = RecordBatch::try_from_iter(vec![
        (
            "a",
            Arc::new(Float32Array::from_iter_values(
                (0..100).map(|r| if r == 70 { f32::NAN } else { a(r) as f32 }),
            )) as ArrayRef,
        ),
        (
            "b",
            Arc::new(Float64Array::from_iter_values((0..100).map(b))),
        ),
        (
            "flag",
            Arc::new(BooleanArray::from_iter((0..100).map(|r| Some(flag(r))))),
        ),
    ])
    .unwrap();
    let e = read_bytes(
        &parquet_bytes(&[only_nan]),
        DataFormat::Parquet,
        &model_columns(&[]),
        ReadOptions::default(),
    )
    .unwrap_err();
    assert!(
        e.message
            .contains("row 71, column 1 (\"a\"): NaN is not a finite number"),
        "{}",
        e.message
    );

    // A double beyond f32's range is refused even when non-finite values are allowed.
    let huge = RecordBatch::try_from_iter(vec![
        (
            "a",
            Arc::new(Float64Array::from(vec![1.0, 1e39])) as ArrayRef,
        ),
        ("b", Arc::new(Float64Array::from(vec![1.0, 2.0]))),
        ("flag", Arc::new(BooleanArray::from(vec![true, false]))),
    ])
    .unwrap();
    let e = read_bytes(
        &ipc_file(&[huge]),
        DataFormat::Arrow,
        &model_columns(&[]),
        lenient,
    )
    .unwrap_err();
    assert!(
        e.message.contains(
            "row 2, column 1 (\"a\"): 1000000000000000000000000000000000000000 is outside"
        ),
        "{}",
        e.message
    );
}

#[test]
fn hostile_bytes_are_refused_as_unreadable() {
    let good = parquet_bytes(&batches(500));
    let arrow = ipc_file(&batches(500));
    let stream = ipc_stream(&batches(500));
    let hand_written: Vec<(DataFormat, Vec<u8>)> = vec![
        (DataFormat::Parquet, Vec::new()),
        (DataFormat::Parquet, b"PAR1".to_vec()),
        (DataFormat::Parquet, good[..good.len() / 2].to_vec()),
        (DataFormat::Parquet, b"a,b\n1,2\n".to_vec()),
        (DataFormat::Arrow, Vec::new()),
        (DataFormat::Arrow, arrow[..arrow.len() - 10].to_vec()),
        (DataFormat::Arrow, b"ARROW1\0\0garbage".to_vec()),
        (DataFormat::Arrow, vec![0xff; 64]),
    ];
    for (format, bytes) in &hand_written {
        let e = read_bytes(bytes, *format, &model_columns(&[]), ReadOptions::default())
            .expect_err("refused");
        assert_eq!(e.kind, DataErrorKind::Unreadable, "{}", e.message);
        assert!(e.message.contains("not a readable"), "{}", e.message);
    }
    let mut cases = hand_written;
    // Bytes flipped in the middle of each layout.
    for (format, bytes) in [
        (DataFormat::Parquet, &good),
        (DataFormat::Arrow, &arrow),
        (DataFormat::Arrow, &stream),
    ] {
        for at in (8..bytes.len()).step_by(bytes.len() / 37 + 1) {
            let mut bad = bytes.clone();
            bad[at] ^= 0x5a;
            cases.push((format, bad));
        }
    }
    for (format, bytes) in cases {
        // Refused as unreadable, or (a flip inside a value) read, or refused naming the row
        // of a value the flip made bad: never a panic.
        if let Err(e) = read_bytes(&bytes, format, &model_columns(&[]), ReadOptions::default()) {
            match e.kind {
                DataErrorKind::Unreadable => {
                    assert!(e.message.contains("not a readable"), "{}", e.message)
                }
                DataErrorKind::Invalid => assert!(e.message.starts_with("row "), "{}", e.message),
            }
        }
    }
    let e = read_bytes(
        &[],
        DataFormat::Parquet,
        &model_columns(&[]),
        ReadOptions::default(),
    )
    .unwrap_err();
    assert_eq!(e.kind, DataErrorKind::Unreadable);
    assert!(e.message.contains("Parquet"), "{}", e.message);
}

fn output_columns(kept: &[&str]) -> OutputColumns {
    OutputColumns {
        kept: kept.iter().map(|s| s.to_string()).collect(),
        outputs: vec!["low".into(), "high".into()],
    }
}

/// Writes `chunks` as `format`.
fn written(format: DataFormat, columns: &OutputColumns, chunks: &[Chunk]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut writer = RowWriter::new(&mut out, format, columns).unwrap();
    for chunk in chunks {
        writer.write(chunk).unwrap();
    }
    writer.finish().unwrap();
    out
}

/// The record batches of a Parquet file or an Arrow IPC file or stream.
fn read_back(format: DataFormat, bytes: Vec<u8>) -> Vec<RecordBatch> {
    match format {
        DataFormat::Parquet => parquet::arrow::arrow_reader::ParquetRecordBatchReader::try_new(
            bytes::Bytes::from(bytes),
            1 << 16,
        )
        .unwrap()
        .map(Result::unwrap)
        .collect(),
        DataFormat::Arrow => {
            arrow_ipc::reader::FileReader::try_new(std::io::Cursor::new(bytes), None)
                .unwrap()
                .map(Result::unwrap)
                .collect()
        }
        _ => arrow_ipc::reader::StreamReader::try_new(bytes.as_slice(), None)
            .unwrap()
            .map(Result::unwrap)
            .collect(),
    }
}

#[test]
fn outputs_are_float32_columns_named_after_the_outputs_with_kept_columns_first() {
    let id: ArrayRef = Arc::new(Int64Array::from(vec![Some(7), None, Some(9)]));
    let chunks = [
        Chunk {
            first_row: 0,
            rows: 2,
            values: vec![0.5, 1.5, 2.5, 3.5],
            kept: vec![
                KeptColumn::Arrow(id.slice(0, 2)),
                KeptColumn::Text(vec!["x".into(), "y, z".into()]),
            ],
        },
        Chunk {
            first_row: 2,
            rows: 1,
            values: vec![4.5, 5.5],
            kept: vec![
                KeptColumn::Arrow(id.slice(2, 1)),
                KeptColumn::Text(vec!["w".into()]),
            ],
        },
    ];
    let columns = output_columns(&["id", "note"]);
    for format in [
        DataFormat::Parquet,
        DataFormat::Arrow,
        DataFormat::ArrowStream,
    ] {
        let batches = read_back(format, written(format, &columns, &chunks));
        let schema = batches[0].schema();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["id", "note", "low", "high"], "{}", format.name());
        assert_eq!(schema.field(0).data_type(), &DataType::Int64);
        assert_eq!(schema.field(1).data_type(), &DataType::Utf8);
        assert_eq!(schema.field(2).data_type(), &DataType::Float32);
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        assert_eq!(rows, 3);
        let mut low = Vec::new();
        let mut ids = Vec::new();
        for batch in &batches {
            low.extend(
                batch
                    .column(2)
                    .as_primitive::<Float32Type>()
                    .values()
                    .iter()
                    .copied(),
            );
            ids.extend(batch.column(0).as_primitive::<Int64Type>().iter());
        }
        assert_eq!(low, [0.5, 2.5, 4.5]);
        assert_eq!(ids, [Some(7), None, Some(9)]);
    }

    // Kept Arrow cells in text formats: their display form, null as an empty cell or null.
    let csv = written(DataFormat::Csv, &columns, &chunks);
    assert_eq!(
        String::from_utf8(csv).unwrap(),
        "id,note,low,high\n7,x,0.5,1.5\n,\"y, z\",2.5,3.5\n9,w,4.5,5.5\n"
    );
    let jsonl = written(DataFormat::Jsonl, &columns, &chunks[1..]);
    assert_eq!(
        String::from_utf8(jsonl).unwrap(),
        "{\"id\": 9, \"note\": \"w\", \"low\": 4.5, \"high\": 5.5}\n"
    );

    // JSON values kept into Parquet take the type of the first chunk's values.
    let json_chunk = |cells: Vec<serde_json::Value>| Chunk {
        first_row: 0,
        rows: cells.len(),
        values: vec![1.0; cells.len() * 2],
        kept: vec![KeptColumn::Json(cells)],
    };
    let ints = json_chunk(vec![serde_json::json!(1), serde_json::Value::Null]);
    let batches = read_back(
        DataFormat::Parquet,
        written(
            DataFormat::Parquet,
            &output_columns(&["id"]),
            std::slice::from_ref(&ints),
        ),
    );
    assert_eq!(batches[0].schema().field(0).data_type(), &DataType::Int64);
    let text = json_chunk(vec![serde_json::json!("a")]);
    let mut out = Vec::new();
    let cols = output_columns(&["id"]);
    let mut writer = RowWriter::new(&mut out, DataFormat::Parquet, &cols).unwrap();
    writer.write(&ints).unwrap();
    let e = writer.write(&text).unwrap_err();
    assert!(
        e.to_string().contains("kept column \"id\" holds \"a\""),
        "{e}"
    );

    // No rows at all still make a readable file with the named columns.
    let batches = read_back(
        DataFormat::Arrow,
        written(DataFormat::Arrow, &output_columns(&[]), &[]),
    );
    assert!(batches.is_empty());
    let empty = written(DataFormat::Parquet, &output_columns(&[]), &[]);
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        bytes::Bytes::from(empty),
    )
    .unwrap();
    let names: Vec<String> = reader
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(names, ["low", "high"]);
}
