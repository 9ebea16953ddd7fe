//! Writing `predict`'s outputs as JSON rows, CSV with an `output_i` header, or a 2-D `<f4` `.npy`
//! file; files are replaced atomically, so a failure never leaves a partial one.

use crate::data_format::DataFormat;
use crate::failure::{Failure, Outcome, print_stdout};
use crate::npy;
use anyhow::anyhow;
use std::fmt::Write as _;
use std::path::Path;

/// Writes `rows × cols` values to `path` in `format`, or as JSON rows on stdout without a path.
pub fn write(
    path: Option<&Path>,
    format: DataFormat,
    rows: usize,
    cols: usize,
    values: &[f32],
) -> Outcome {
    let Some(path) = path else {
        return print_stdout(&json_rows(cols, values));
    };
    let bytes = match format {
        DataFormat::Json => json_rows(cols, values).into_bytes(),
        DataFormat::Csv => csv_rows(cols, values).into_bytes(),
        DataFormat::Npy => npy::write_f32(rows, cols, values)
            .map_err(|e| Failure::unreadable(anyhow!("{}: {e}", path.display())))?,
    };
    instinct::format::write_atomically(path, &bytes).map_err(Failure::unreadable)
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
fn json_rows(cols: usize, values: &[f32]) -> String {
    let mut text = String::from("[");
    for (i, row) in rows_of(cols, values).enumerate() {
        text.push_str(if i == 0 { "\n  " } else { ",\n  " });
        text.push('[');
        for (j, v) in row.iter().enumerate() {
            if j > 0 {
                text.push_str(", ");
            }
            if v.is_finite() {
                let _ = write!(text, "{v:?}");
            } else if v.is_nan() {
                text.push_str("\"NaN\"");
            } else if *v > 0.0 {
                text.push_str("\"Infinity\"");
            } else {
                text.push_str("\"-Infinity\"");
            }
        }
        text.push(']');
    }
    text.push_str(if values.is_empty() { "]\n" } else { "\n]\n" });
    text
}

/// A header `output_0,output_1,...` and one line per row. Values are written in Rust's
/// shortest exact form (`0.25`, `1e-30`, `NaN`, `inf`, `-inf`), which Python's `float`, pandas
/// and `predict --allow-nonfinite` read.
fn csv_rows(cols: usize, values: &[f32]) -> String {
    let header: Vec<String> = (0..cols).map(|i| format!("output_{i}")).collect();
    let mut text = header.join(",");
    text.push('\n');
    for row in rows_of(cols, values) {
        for (j, v) in row.iter().enumerate() {
            if j > 0 {
                text.push(',');
            }
            let _ = write!(text, "{v:?}");
        }
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_rows_are_one_per_line_and_non_finite_values_are_strings() {
        assert_eq!(
            json_rows(
                2,
                &[0.5, 1.0, f32::NAN, -2.0, f32::INFINITY, f32::NEG_INFINITY]
            ),
            "[\n  [0.5, 1.0],\n  [\"NaN\", -2.0],\n  [\"Infinity\", \"-Infinity\"]\n]\n"
        );
        assert_eq!(json_rows(2, &[]), "[]\n");
        // The shortest form reads back as the same f32.
        let x = 0.1f32 + f32::EPSILON;
        let parsed: Vec<Vec<f32>> = serde_json::from_str(&json_rows(1, &[x])).unwrap();
        assert_eq!(parsed[0][0].to_bits(), x.to_bits());
    }

    #[test]
    fn csv_rows_have_a_header() {
        assert_eq!(
            csv_rows(2, &[0.5, 1e-30, f32::INFINITY, f32::NAN]),
            "output_0,output_1\n0.5,1e-30\ninf,NaN\n"
        );
        assert_eq!(csv_rows(3, &[]), "output_0,output_1,output_2\n");
    }
}
