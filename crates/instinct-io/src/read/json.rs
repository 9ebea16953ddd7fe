//! JSON rows, `[[...], ...]` or `{"inputs": [[...], ...]}`, parsed as they are read by a
//! streaming serde visitor straight into the f32 rows.

use super::cell::{Batch, Cell, ReadOptions, accept, column_label, reserve_row};
use crate::error::DataError;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::collections::HashSet;
use std::fmt;
use std::io::Read;

/// `[[...], ...]` or `{"inputs": [[...], ...]}`, read in one streaming pass straight into the f32
/// values (a `serde_json::Value` tree would take ~20× the file). JSON cannot spell NaN or
/// infinity: with `--allow-nonfinite`, `null` reads as NaN and the strings `"NaN"`,
/// `"Infinity"`, `"-Infinity"` as themselves.
pub(super) fn read_json(
    reader: impl Read,
    feature_size: usize,
    names: Option<&[String]>,
    options: ReadOptions,
) -> Result<Batch, DataError> {
    let mut state = JsonRows {
        feature_size,
        names,
        allow_nonfinite: options.allow_nonfinite,
        values: Vec::new(),
        rows: 0,
        column: 0,
        problem: None,
    };
    let mut reader = LastBytes {
        inner: reader,
        last: [0; 3],
    };
    let mut de = serde_json::Deserializer::from_reader(&mut reader);
    let parsed = Top(&mut state).deserialize(&mut de).and_then(|()| de.end());
    match (parsed, state.problem.take()) {
        (_, Some(Problem::Row(message))) => Err(DataError::invalid(message)),
        (_, Some(Problem::File(message))) => Err(DataError::unreadable(message)),
        (Err(e), None) if e.to_string().starts_with("number out of range") => {
            // serde_json itself refuses numbers beyond f64 (`1e999`): name the row and column.
            let row = state.rows + 1;
            let column = column_label(
                state.column,
                names.and_then(|n| n.get(state.column)).map(String::as_str),
            );
            Err(DataError::invalid(format!(
                "row {row}, {column}: the number is outside the range of 32-bit floats (±3.4028235e38) ({e})"
            )))
        }
        (Err(e), None) => {
            // Python's `json.dump` writes bare NaN and Infinity, which are not JSON; say so. The
            // parser stops within a byte or two of their first letter.
            let hint = if e.is_syntax() && reader.last.iter().any(|b| matches!(b, b'N' | b'I')) {
                " (JSON has no NaN or Infinity: write null or the strings \"NaN\", \"Infinity\", \"-Infinity\", with --allow-nonfinite)"
            } else {
                ""
            };
            Err(DataError::unreadable(format!("invalid json: {e}{hint}")))
        }
        (Ok(()), None) => Ok(Batch {
            values: state.values,
            rows: state.rows,
        }),
    }
}

/// A reader that remembers the last three bytes read through it.
struct LastBytes<R> {
    inner: R,
    last: [u8; 3],
}

impl<R: Read> Read for LastBytes<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for &b in &buf[..n] {
            self.last = [self.last[1], self.last[2], b];
        }
        Ok(n)
    }
}

/// Why reading stopped: a bad row (exit 1) or a file of the wrong shape (exit 2).
enum Problem {
    Row(String),
    File(String),
}

/// The rows read so far and where the reader is.
struct JsonRows<'a> {
    feature_size: usize,
    names: Option<&'a [String]>,
    allow_nonfinite: bool,
    values: Vec<f32>,
    rows: usize,
    /// The value of the current row being read (0-based).
    column: usize,
    problem: Option<Problem>,
}

impl JsonRows<'_> {
    /// Records `problem` and returns the error that stops the parser.
    fn stop<E: de::Error>(&mut self, problem: Problem) -> E {
        self.problem = Some(problem);
        E::custom("stopped")
    }

    fn row_problem<E: de::Error>(&mut self, what: String) -> E {
        let row = self.rows + 1;
        self.stop(Problem::Row(format!("row {row}{what}")))
    }

    fn wrong_shape<E: de::Error>(&mut self) -> E {
        self.stop(Problem::File(
            "expected an array of rows or an object with an \"inputs\" array of rows".into(),
        ))
    }
}

const SHAPES: &str = "an array of rows or an object with an \"inputs\" array of rows";

/// The whole document.
struct Top<'s, 'a>(&'s mut JsonRows<'a>);

impl<'de> DeserializeSeed<'de> for Top<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

/// Everything but an array (or, at the top, an object) is the wrong shape.
macro_rules! refuse_scalars {
    ($method:ident) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
            Err(self.0.$method())
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
            Err(self.0.$method())
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
            Err(self.0.$method())
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
            Err(self.0.$method())
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
            Err(self.0.$method())
        }
        fn visit_unit<E: de::Error>(self) -> Result<(), E> {
            Err(self.0.$method())
        }
    };
}

impl<'de> Visitor<'de> for Top<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(SHAPES)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        read_json_rows(self.0, seq)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        let mut found = false;
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                // As model files: a second value for a key is an error, not a silent winner.
                return Err(self.0.stop(Problem::File(format!("duplicate key {key:?}"))));
            }
            if key == "inputs" {
                map.next_value_seed(Inputs(&mut *self.0))?;
                found = true;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        if found {
            Ok(())
        } else {
            Err(self.0.wrong_shape())
        }
    }
    refuse_scalars!(wrong_shape);
}

/// The value of `inputs`.
struct Inputs<'s, 'a>(&'s mut JsonRows<'a>);

impl<'de> DeserializeSeed<'de> for Inputs<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Inputs<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of rows")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        read_json_rows(self.0, seq)
    }
    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(self.0.wrong_shape())
    }
    refuse_scalars!(wrong_shape);
}

fn read_json_rows<'de, A: SeqAccess<'de>>(rows: &mut JsonRows, mut seq: A) -> Result<(), A::Error> {
    loop {
        if let Err(message) = reserve_row(&mut rows.values, rows.feature_size) {
            return Err(rows.stop(Problem::File(message)));
        }
        rows.column = 0;
        if seq.next_element_seed(Row(&mut *rows))?.is_none() {
            return Ok(());
        }
        rows.rows += 1;
    }
}

/// One row: exactly `feature_size` values.
struct Row<'s, 'a>(&'s mut JsonRows<'a>);

impl<'de> DeserializeSeed<'de> for Row<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl Row<'_, '_> {
    fn not_an_array<E: de::Error>(&mut self) -> E {
        self.0.row_problem(" is not an array of numbers".into())
    }
}

impl<'de> Visitor<'de> for Row<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a row of numbers")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let fs = self.0.feature_size;
        while let Some(cell) = seq.next_element_seed(CellSeed)? {
            let column = self.0.column;
            if column >= fs {
                let mut count = column + 1;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    count += 1;
                }
                return Err(self
                    .0
                    .row_problem(format!(" has {count} values, the model takes {fs}")));
            }
            let (cell, shown) = cell;
            match accept(cell, &shown, self.0.allow_nonfinite) {
                Ok(x) => self.0.values.push(x),
                Err(why) => {
                    let name = self.0.names.and_then(|n| n.get(column)).map(String::as_str);
                    let label = column_label(column, name);
                    return Err(self.0.row_problem(format!(", {label}: {why}")));
                }
            }
            self.0.column += 1;
        }
        let count = self.0.column;
        if count != fs {
            return Err(self
                .0
                .row_problem(format!(" has {count} values, the model takes {fs}")));
        }
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(mut self, _: A) -> Result<(), A::Error> {
        Err(self.not_an_array())
    }
    fn visit_bool<E: de::Error>(mut self, _: bool) -> Result<(), E> {
        Err(self.not_an_array())
    }
    fn visit_i64<E: de::Error>(mut self, _: i64) -> Result<(), E> {
        Err(self.not_an_array())
    }
    fn visit_u64<E: de::Error>(mut self, _: u64) -> Result<(), E> {
        Err(self.not_an_array())
    }
    fn visit_f64<E: de::Error>(mut self, _: f64) -> Result<(), E> {
        Err(self.not_an_array())
    }
    fn visit_str<E: de::Error>(mut self, _: &str) -> Result<(), E> {
        Err(self.not_an_array())
    }
    fn visit_unit<E: de::Error>(mut self) -> Result<(), E> {
        Err(self.not_an_array())
    }
}

/// One JSON value of a row, with its text for messages.
struct CellSeed;

impl<'de> DeserializeSeed<'de> for CellSeed {
    type Value = (Cell, String);
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(Cell, String), D::Error> {
        d.deserialize_any(self)
    }
}

/// A JSON number as f32 (through f64, as serde_json reads it).
fn json_number(x: f64) -> (Cell, String) {
    let y = x as f32;
    if y.is_finite() {
        (Cell::Finite(y), String::new())
    } else {
        (Cell::OutOfRange, format!("{x:e}"))
    }
}

impl<'de> Visitor<'de> for CellSeed {
    type Value = (Cell, String);
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(json_number(v as f64))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(json_number(v as f64))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(json_number(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok((Cell::NonFinite(f32::NAN), "null".into()))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        // Only the spellings of JSON writers that encode non-finite numbers as strings; a number
        // in a string ("1.5") is a mistake worth hearing about.
        let cell = match s {
            "NaN" => Cell::NonFinite(f32::NAN),
            "Infinity" => Cell::NonFinite(f32::INFINITY),
            "-Infinity" => Cell::NonFinite(f32::NEG_INFINITY),
            _ => Cell::NotANumber,
        };
        Ok((cell, format!("{s:?}")))
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Self::Value, E> {
        Ok((Cell::NotANumber, b.to_string()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok((Cell::NotANumber, "an array".into()))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok((Cell::NotANumber, "an object".into()))
    }
}
