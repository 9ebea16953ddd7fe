//! The input readers hold a chunk of rows, not the file: the bytes held at once while reading
//! files four times apart in size stay those of a chunk and a buffer; and a pipe, whose size says
//! nothing, is read as it comes.

use instinct_io::{Columns, DataFormat, Input, ReadOptions, read_chunks, read_rows};
use instinct_workcount::Work;
use std::path::Path;

#[global_allocator]
static ALLOCATOR: instinct_workcount::CountingAllocator = instinct_workcount::CountingAllocator;

/// A version 1.0 `.npy` file of `rows × 4` little-endian `f8` values, in C or Fortran order.
fn npy_f8(rows: usize, fortran: bool) -> Vec<u8> {
    let dict = format!(
        "{{'descr': '<f8', 'fortran_order': {fortran_text}, 'shape': ({rows}, 4), }}",
        fortran_text = if fortran { "True" } else { "False" }
    );
    let unpadded = 10 + dict.len() + 1;
    let header = format!("{dict}{}\n", " ".repeat((64 - unpadded % 64) % 64));
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    for i in 0..rows * 4 {
        bytes.extend_from_slice(&(i as f64 * 0.25).to_le_bytes());
    }
    bytes
}

/// The same `rows × 4` values as CSV (with a header and an id column), JSON Lines objects and
/// JSON rows.
fn text_files(rows: usize) -> [(DataFormat, Vec<u8>); 3] {
    let mut csv = b"id,a,b,c,d\n".to_vec();
    let mut jsonl = Vec::new();
    let mut json = b"[".to_vec();
    for r in 0..rows {
        let v: Vec<f64> = (0..4).map(|c| (r * 4 + c) as f64 * 0.25).collect();
        csv.extend(format!("r{r},{},{},{},{}\n", v[0], v[1], v[2], v[3]).bytes());
        jsonl.extend(
            format!(
                "{{\"id\": \"r{r}\", \"a\": {}, \"b\": {}, \"c\": {}, \"d\": {}}}\n",
                v[0], v[1], v[2], v[3]
            )
            .bytes(),
        );
        let sep = if r == 0 { "" } else { "," };
        json.extend(format!("{sep}[{},{},{},{}]", v[0], v[1], v[2], v[3]).bytes());
    }
    json.push(b']');
    [
        (DataFormat::Csv, csv),
        (DataFormat::Jsonl, jsonl),
        (DataFormat::Json, json),
    ]
}

/// Reads `path` in chunks of 1,000 rows that are dropped as they come: the rows read, the sum of
/// their first values, and the work.
fn read_dropping_chunks(path: &Path, format: DataFormat, keep: &[&str]) -> (usize, f64, Work) {
    let mut columns = Columns::new(4, Some(["a", "b", "c", "d"].map(String::from).to_vec()));
    columns.keep = keep.iter().map(|k| k.to_string()).collect();
    if format == DataFormat::Npy {
        columns.names = None;
    }
    let options = ReadOptions {
        chunk_rows: Some(1000),
        ..ReadOptions::default()
    };
    let mut total = 0.0;
    let mut rows = 0;
    let work = instinct_workcount::work(|| {
        read_chunks(
            &Input::File(path.to_path_buf()),
            format,
            &columns,
            options,
            &mut |c| {
                assert!(c.rows <= 1000 && c.first_row == rows);
                rows += c.rows;
                total += c.values.chunks(4).map(|r| f64::from(r[0])).sum::<f64>();
                Ok(())
            },
        )
        .unwrap_or_else(|e| panic!("{format:?}: {e}"))
    });
    (rows, total, work)
}

/// The tests of this file run one at a time: the bytes held are counted for the whole process.
static ALONE: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn chunked_reading_holds_a_chunk_not_the_file() {
    let _alone = ALONE.lock().unwrap_or_else(|e| e.into_inner());
    let dir = std::env::temp_dir().join(format!("instinct-reader-memory-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut peaks = Vec::new();
    for rows in [100_000, 400_000] {
        let mut files = text_files(rows).to_vec();
        files.push((DataFormat::Npy, npy_f8(rows, false)));
        for (format, bytes) in files {
            let path = dir.join(format!("rows-{rows}.{}", format.name()));
            std::fs::write(&path, &bytes).unwrap();
            let keep: &[&str] = if format == DataFormat::Npy || format == DataFormat::Json {
                &[]
            } else {
                &["id"]
            };
            let (read, total, work) = read_dropping_chunks(&path, format, keep);
            assert_eq!(read, rows, "{format:?}");
            // Row r starts with 4r × 0.25 = r.
            let expected = (rows * (rows - 1) / 2) as f64;
            assert_eq!(total, expected, "{format:?}");
            // A chunk is 1,000 rows of 16 bytes (and their ids); the read buffer is 256 KiB; the
            // CSV reader has a few blocks of 1 MiB in flight to its parsing threads, whose
            // allocations count too.
            let held = work.peak_live_all_threads;
            assert!(
                held < 16 << 20,
                "{format:?}: reading {} bytes held {held} bytes at once",
                bytes.len()
            );
            peaks.push((format, rows, held));
        }
    }
    eprintln!("peak bytes held: {peaks:?}");
    // Four times the rows, not more memory held: within 4 MiB, since the smaller CSV fills fewer
    // of the blocks (1 MiB each, about ten) that can be in flight to the parsing threads. The
    // larger CSV is 12 MB longer: held whole it would be far over.
    for &(format, rows, small) in peaks.iter().filter(|p| p.1 == 100_000) {
        let large = peaks
            .iter()
            .find(|p| p.0 == format && p.1 == rows * 4)
            .map_or(0, |p| p.2);
        assert!(
            large <= small + (4 << 20),
            "{format:?}: {small} bytes held for {rows} rows, {large} for four times as many"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_fortran_order_npy_file_is_read_whole_and_handed_on_in_chunks() {
    let _alone = ALONE.lock().unwrap_or_else(|e| e.into_inner());
    let dir = std::env::temp_dir().join(format!("instinct-npy-fortran-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("rows.npy");
    std::fs::write(&path, npy_f8(2500, true)).unwrap();
    let (rows, _, _) = read_dropping_chunks(&path, DataFormat::Npy, &[]);
    assert_eq!(rows, 2500);
    let batch = read_rows(
        &path,
        DataFormat::Npy,
        &Columns::new(4, None),
        ReadOptions::default(),
    )
    .unwrap();
    // Item k of a Fortran-order array is row k % rows, column k / rows.
    assert_eq!(batch.values[5], (2500 + 1) as f32 * 0.25);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(unix)]
#[test]
fn a_npy_file_through_a_fifo_is_read() {
    let _alone = ALONE.lock().unwrap_or_else(|e| e.into_inner());
    // A FIFO's size is 0 whatever comes through it: the reader must not trust it.
    let dir = std::env::temp_dir().join(format!("instinct-npy-fifo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("rows.npy");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("skipped: mkfifo is not available");
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }
    let file = npy_f8(3, false);
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::write(fifo, file))
    };
    let columns = Columns::new(4, None);
    let batch = read_rows(&fifo, DataFormat::Npy, &columns, ReadOptions::default());
    writer.join().unwrap().unwrap();
    let batch = batch.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(batch.rows, 3);
    assert_eq!(batch.values[11], 11.0 * 0.25);
    std::fs::remove_dir_all(&dir).unwrap();
}
