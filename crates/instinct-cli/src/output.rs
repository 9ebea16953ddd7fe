//! Writing `predict`'s outputs as JSON rows, CSV with an `output_i` header, or a 2-D `<f4` `.npy`
//! file; files are replaced atomically, so a failure never leaves a partial one.

use crate::failure::{Failure, Outcome};
use anyhow::anyhow;
use instinct_io::{DataFormat, npy};
use std::io::{BufWriter, Write};
use std::path::Path;

/// Writes `rows × cols` values to `path` in `format`, or as JSON rows on stdout without a path.
/// Text is formatted straight into the file (or stdout) through a buffer, never held whole.
pub fn write(
    path: Option<&Path>,
    format: DataFormat,
    rows: usize,
    cols: usize,
    values: &[f32],
) -> Outcome {
    let Some(path) = path else {
        let mut out = BufWriter::with_capacity(256 << 10, std::io::stdout().lock());
        return match json_rows(&mut out, cols, values).and_then(|()| out.flush()) {
            // A closed pipe (`instinct predict ... | head`) ends the output quietly.
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                Err(Failure::unreadable(anyhow!("cannot write to stdout: {e}")))
            }
            _ => Ok(()),
        };
    };
    match format {
        DataFormat::Json => {
            instinct::format::write_atomically_with(path, |w| json_rows(w, cols, values))
        }
        DataFormat::Csv => {
            instinct::format::write_atomically_with(path, |w| csv_rows(w, cols, values))
        }
        DataFormat::Npy => {
            let header = npy::f32_header(rows, cols, values.len())
                .map_err(|e| Failure::unreadable(anyhow!("{}: {e}", path.display())))?;
            instinct::format::write_atomically_with(path, |w| {
                w.write_all(&header)?;
                npy::write_f32_values(w, values)
            })
        }
    }
    .map_err(Failure::unreadable)
}

/// The rows of `values`, `cols` values each. A model with no output would make `chunks` panic,
/// but every valid model has at least one output value; guard anyway.
fn rows_of(cols: usize, values: &[f32]) -> std::slice::Chunks<'_, f32> {
    values.chunks(cols.max(1))
}

/// `[[...],\n [...]]`: one row per line, values in their shortest exact form. JSON cannot spell
/// NaN or infinity, so those are written as the strings `"NaN"`, `"Infinity"` and
/// `"-Infinity"` (as pandas' and JavaScript's writers spell them), which `predict
/// --allow-nonfinite` reads back: the output is lossless.
fn json_rows(out: &mut dyn Write, cols: usize, values: &[f32]) -> std::io::Result<()> {
    out.write_all(b"[")?;
    for (i, row) in rows_of(cols, values).enumerate() {
        out.write_all(if i == 0 { b"\n  [" } else { b",\n  [" })?;
        for (j, v) in row.iter().enumerate() {
            if j > 0 {
                out.write_all(b", ")?;
            }
            if v.is_finite() {
                write!(out, "{v:?}")?;
            } else if v.is_nan() {
                out.write_all(b"\"NaN\"")?;
            } else if *v > 0.0 {
                out.write_all(b"\"Infinity\"")?;
            } else {
                out.write_all(b"\"-Infinity\"")?;
            }
        }
        out.write_all(b"]")?;
    }
    out.write_all(if values.is_empty() { b"]\n" } else { b"\n]\n" })
}

/// A header `output_0,output_1,...` and one line per row. Values are written in Rust's
/// shortest exact form (`0.25`, `1e-30`, `NaN`, `inf`, `-inf`), which Python's `float`, pandas
/// and `predict --allow-nonfinite` read.
fn csv_rows(out: &mut dyn Write, cols: usize, values: &[f32]) -> std::io::Result<()> {
    for i in 0..cols {
        if i > 0 {
            out.write_all(b",")?;
        }
        write!(out, "output_{i}")?;
    }
    out.write_all(b"\n")?;
    for row in rows_of(cols, values) {
        for (j, v) in row.iter().enumerate() {
            if j > 0 {
                out.write_all(b",")?;
            }
            write!(out, "{v:?}")?;
        }
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Checks that a file can be written at `path` before any work whose result would go there:
/// its directory exists and accepts a new file. (The file itself is written atomically later.)
pub fn check_writable(path: &Path, flag: &str) -> Outcome {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(Failure::unreadable(anyhow!(
            "{flag} {}: the directory {} does not exist",
            path.display(),
            dir.display()
        )));
    }
    if path.is_dir() {
        return Err(Failure::unreadable(anyhow!(
            "{flag} {}: is a directory",
            path.display()
        )));
    }
    let probe = dir.join(format!(".instinct-write-check-{}", std::process::id()));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => Err(Failure::unreadable(anyhow!(
            "{flag} {}: cannot write in {}: {e}",
            path.display(),
            dir.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Rows = fn(&mut dyn Write, usize, &[f32]) -> std::io::Result<()>;

    fn text(rows: Rows, cols: usize, values: &[f32]) -> String {
        let mut out = Vec::new();
        rows(&mut out, cols, values).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn json_rows_are_one_per_line_and_non_finite_values_are_strings() {
        assert_eq!(
            text(
                json_rows,
                2,
                &[0.5, 1.0, f32::NAN, -2.0, f32::INFINITY, f32::NEG_INFINITY]
            ),
            "[\n  [0.5, 1.0],\n  [\"NaN\", -2.0],\n  [\"Infinity\", \"-Infinity\"]\n]\n"
        );
        assert_eq!(text(json_rows, 2, &[]), "[]\n");
        // The shortest form reads back as the same f32.
        let x = 0.1f32 + f32::EPSILON;
        let parsed: Vec<Vec<f32>> = serde_json::from_str(&text(json_rows, 1, &[x])).unwrap();
        assert_eq!(parsed[0][0].to_bits(), x.to_bits());
    }

    #[test]
    fn csv_rows_have_a_header() {
        assert_eq!(
            text(csv_rows, 2, &[0.5, 1e-30, f32::INFINITY, f32::NAN]),
            "output_0,output_1\n0.5,1e-30\ninf,NaN\n"
        );
        assert_eq!(text(csv_rows, 3, &[]), "output_0,output_1,output_2\n");
    }
}
