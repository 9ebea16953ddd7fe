//! The input readers hold the rows they read, not the file: allocations counted while reading a
//! `.npy` file of `<f8` values (twice the size of its `f32` rows) stay near the rows' size; and a
//! pipe, whose size says nothing, is read whole.

use instinct_io::{Columns, DataFormat, ReadOptions, read_rows};

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

#[test]
fn reading_a_npy_file_allocates_its_rows_and_a_block_not_the_file() {
    let columns = Columns {
        size: 4,
        names: None,
    };
    let dir = std::env::temp_dir().join(format!("instinct-reader-memory-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rows = 250_000;
    let values_bytes = rows * 4 * 4;
    for fortran in [false, true] {
        let path = dir.join(format!("rows-{fortran}.npy"));
        let file = npy_f8(rows, fortran);
        std::fs::write(&path, &file).unwrap();
        let mut batch = None;
        let work = instinct_workcount::work(|| {
            batch = Some(read_rows(
                &path,
                DataFormat::Npy,
                &columns,
                ReadOptions::default(),
            ));
        });
        let batch = batch.unwrap().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(batch.rows, rows);
        assert_eq!(
            batch.values[5],
            if fortran {
                (rows + 1) as f32 * 0.25
            } else {
                1.25
            }
        );
        // The rows (16 bytes each), the 256 KiB read buffer, a 64 KiB block and small change:
        // far below the rows plus the file (48 bytes a row).
        let limit = values_bytes + (512 << 10);
        assert!(
            work.bytes <= limit,
            "fortran {fortran}: reading a {} byte file for {values_bytes} bytes of rows allocated \
             {} bytes",
            file.len(),
            work.bytes
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(unix)]
#[test]
fn a_npy_file_through_a_fifo_is_read() {
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
    let columns = Columns {
        size: 4,
        names: None,
    };
    let batch = read_rows(&fifo, DataFormat::Npy, &columns, ReadOptions::default());
    writer.join().unwrap().unwrap();
    let batch = batch.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(batch.rows, 3);
    assert_eq!(batch.values[11], 11.0 * 0.25);
    std::fs::remove_dir_all(&dir).unwrap();
}
