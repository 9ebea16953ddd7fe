//! JSON rows, `[[...], ...]`, `[{...}, ...]` or `{"inputs": [...]}`, and JSON Lines, parsed as
//! they are read by a streaming serde visitor straight into chunks of f32 rows. A row is an array
//! of the model's values in order, or an object whose keys name them (and the kept columns).

use super::cell::{Cell, ReadOptions, accept, column_label};
use crate::chunk::{Chunker, Emit, KeptColumn, rows_per_chunk};
use crate::columns::Columns;
use crate::error::DataError;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::{BufRead, Read};

/// `[[...], ...]`, `[{...}, ...]` or `{"inputs": [...]}`, read in one streaming pass straight
/// into chunks of f32 values (a `serde_json::Value` tree would take ~20× the file). JSON cannot
/// spell NaN or infinity: with `allow_nonfinite`, `null` reads as NaN and the strings `"NaN"`,
/// `"Infinity"`, `"-Infinity"` as themselves.
pub(super) fn read_json(
    reader: impl Read,
    columns: &Columns,
    options: ReadOptions,
    emit: Emit,
) -> Result<usize, DataError> {
    let mut state = JsonRows::new(columns, options, emit);
    let mut reader = LastBytes {
        inner: reader,
        last: [0; 3],
    };
    let mut de = serde_json::Deserializer::from_reader(&mut reader);
    let parsed = Top(&mut state).deserialize(&mut de).and_then(|()| de.end());
    state.outcome(parsed, |e| {
        // Python's `json.dump` writes bare NaN and Infinity, which are not JSON; say so. The
        // parser stops within a byte or two of their first letter.
        if e.is_syntax() && reader.last.iter().any(|b| matches!(b, b'N' | b'I')) {
            NAN_HINT
        } else {
            ""
        }
    })?;
    state.chunker.finish()
}

/// JSON Lines: one row per line, an array of the model's values or an object naming them; blank
/// lines are skipped. Messages name the line.
pub(super) fn read_json_lines(
    mut reader: impl BufRead,
    columns: &Columns,
    options: ReadOptions,
    emit: Emit,
) -> Result<usize, DataError> {
    let mut state = JsonRows::new(columns, options, emit);
    let mut line = Vec::new();
    let mut number = 0u64;
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| DataError::unreadable(format!("{e}")))?;
        if n == 0 {
            break;
        }
        number += 1;
        if line.trim_ascii().is_empty() {
            continue;
        }
        state.line = Some(number);
        state.chunker.reserve_row()?;
        let mut de = serde_json::Deserializer::from_slice(&line);
        let parsed = Row(&mut state).deserialize(&mut de).and_then(|()| de.end());
        let nan = line.windows(3).any(|w| w == b"NaN") || line.windows(8).any(|w| w == b"Infinity");
        state
            .outcome(parsed, |e| if e.is_syntax() && nan { NAN_HINT } else { "" })
            .map_err(|e| match e.kind {
                // serde_json's own messages say "line 1" of the one line it saw.
                crate::DataErrorKind::Unreadable if !e.message.starts_with("line ") => {
                    DataError::unreadable(format!("line {number}: {}", e.message))
                }
                _ => e,
            })?;
        state.chunker.end_row()?;
    }
    state.chunker.finish()
}

/// What to write instead of bare NaN and Infinity.
const NAN_HINT: &str = " (JSON has no NaN or Infinity: write null or the strings \"NaN\", \"Infinity\", \"-Infinity\", with --allow-nonfinite)";

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

/// Why reading stopped: a bad row (exit 1), a file of the wrong shape (exit 2), or the
/// receiver of the chunks (whose error is passed on as it is).
enum Problem {
    Row(String),
    File(String),
    Emit(DataError),
}

/// Where an object row's key goes.
#[derive(Clone, Copy)]
enum Slot {
    Feature(usize),
    Kept(usize),
}

/// The rows read so far and where the reader is.
struct JsonRows<'a, 'e> {
    columns: &'a Columns,
    allow_nonfinite: bool,
    chunker: Chunker<'e>,
    /// The value of the current row being read (0-based).
    column: usize,
    /// For JSON Lines: the line being read (messages name it instead of the row).
    line: Option<u64>,
    /// The model's feature names and the kept names, for rows that are objects.
    slots: HashMap<&'a str, Slot>,
    /// An object row's values, in the model's order, and which of them were given.
    scratch: Vec<f32>,
    given: Vec<bool>,
    problem: Option<Problem>,
}

impl<'a, 'e> JsonRows<'a, 'e> {
    fn new(columns: &'a Columns, options: ReadOptions, emit: Emit<'e>) -> JsonRows<'a, 'e> {
        let kinds = vec![KeptColumn::Json(Vec::new()); columns.keep.len()];
        let chunk_rows = rows_per_chunk(columns.size, options.chunk_rows);
        let mut slots = HashMap::new();
        for (i, name) in columns.names.iter().flatten().enumerate() {
            slots.insert(name.as_str(), Slot::Feature(i));
        }
        for (j, name) in columns.keep.iter().enumerate() {
            slots.insert(name.as_str(), Slot::Kept(j));
        }
        JsonRows {
            columns,
            allow_nonfinite: options.allow_nonfinite,
            chunker: Chunker::new(emit, columns.size, chunk_rows, kinds),
            column: 0,
            line: None,
            slots,
            scratch: vec![0.0; columns.size],
            given: vec![false; columns.size],
            problem: None,
        }
    }

    /// The result of parsing, the problem recorded by the visitor first: `hint` adds to a
    /// syntax error's message.
    fn outcome(
        &mut self,
        parsed: Result<(), serde_json::Error>,
        hint: impl FnOnce(&serde_json::Error) -> &'static str,
    ) -> Result<(), DataError> {
        match (parsed, self.problem.take()) {
            (_, Some(Problem::Row(message))) => Err(DataError::invalid(message)),
            (_, Some(Problem::File(message))) => Err(DataError::unreadable(message)),
            (_, Some(Problem::Emit(error))) => Err(error),
            (Err(e), None) if e.to_string().starts_with("number out of range") => {
                // serde_json itself refuses numbers beyond f64 (`1e999`): name the row and column.
                let names = self.columns.names.as_deref();
                let column = column_label(
                    self.column,
                    names.and_then(|n| n.get(self.column)).map(String::as_str),
                );
                Err(DataError::invalid(format!(
                    "{}, {column}: the number is outside the range of 32-bit floats (±3.4028235e38) ({e})",
                    self.place()
                )))
            }
            (Err(e), None) => Err(DataError::unreadable(format!(
                "invalid json: {e}{}",
                hint(&e)
            ))),
            (Ok(()), None) => Ok(()),
        }
    }

    /// `row 3`, or `line 3` of JSON Lines.
    fn place(&self) -> String {
        match self.line {
            Some(line) => format!("line {line}"),
            None => format!("row {}", self.chunker.rows_read() + 1),
        }
    }

    /// Records `problem` and returns the error that stops the parser.
    fn stop<E: de::Error>(&mut self, problem: Problem) -> E {
        self.problem = Some(problem);
        E::custom("stopped")
    }

    fn row_problem<E: de::Error>(&mut self, what: String) -> E {
        let place = self.place();
        self.stop(Problem::Row(format!("{place}{what}")))
    }

    fn wrong_shape<E: de::Error>(&mut self) -> E {
        self.stop(Problem::File(format!("expected {SHAPES}")))
    }

    /// Takes one value of the current row, or records why it is refused.
    fn take<E: de::Error>(
        &mut self,
        (cell, shown): (Cell, String),
        label: impl FnOnce() -> String,
    ) -> Result<f32, E> {
        accept(cell, &shown, self.allow_nonfinite)
            .map_err(|why| self.row_problem(format!(", {}: {why}", label())))
    }
}

const SHAPES: &str =
    "an array of rows (arrays of numbers or objects) or an object with an \"inputs\" array of rows";

/// The whole document.
struct Top<'s, 'a, 'e>(&'s mut JsonRows<'a, 'e>);

impl<'de> DeserializeSeed<'de> for Top<'_, '_, '_> {
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

impl<'de> Visitor<'de> for Top<'_, '_, '_> {
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
struct Inputs<'s, 'a, 'e>(&'s mut JsonRows<'a, 'e>);

impl<'de> DeserializeSeed<'de> for Inputs<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Inputs<'_, '_, '_> {
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
        if let Err(e) = rows.chunker.reserve_row() {
            return Err(rows.stop(Problem::Emit(e)));
        }
        if seq.next_element_seed(Row(&mut *rows))?.is_none() {
            return Ok(());
        }
        if let Err(e) = rows.chunker.end_row() {
            return Err(rows.stop(Problem::Emit(e)));
        }
    }
}

/// One row: exactly `feature_size` values in order, or an object naming every feature.
struct Row<'s, 'a, 'e>(&'s mut JsonRows<'a, 'e>);

impl<'de> DeserializeSeed<'de> for Row<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl Row<'_, '_, '_> {
    fn not_a_row<E: de::Error>(&mut self) -> E {
        self.0
            .row_problem(" is not an array of numbers or an object of named values".into())
    }
}

impl<'de> Visitor<'de> for Row<'_, '_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a row of numbers")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let rows = self.0;
        if !rows.columns.keep.is_empty() {
            return Err(rows.row_problem(
                " is an array: only rows that are objects name the columns to keep".into(),
            ));
        }
        let fs = rows.columns.size;
        rows.column = 0;
        while let Some(cell) = seq.next_element_seed(CellSeed)? {
            let column = rows.column;
            if column >= fs {
                let mut count = column + 1;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    count += 1;
                }
                return Err(rows.row_problem(format!(" has {count} values, the model takes {fs}")));
            }
            let names = rows.columns.names.as_deref();
            let name = names.and_then(|n| n.get(column)).map(String::as_str);
            let x = rows.take(cell, || column_label(column, name))?;
            rows.chunker.values.push(x);
            rows.column += 1;
        }
        let count = rows.column;
        if count != fs {
            return Err(rows.row_problem(format!(" has {count} values, the model takes {fs}")));
        }
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let rows = self.0;
        if rows.columns.names.is_none() {
            return Err(rows.row_problem(
                " is an object, but the model names no features to match its keys to".into(),
            ));
        }
        rows.given.fill(false);
        let mut kept: Vec<Option<serde_json::Value>> = vec![None; rows.columns.keep.len()];
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(rows.row_problem(format!(" names {key:?} twice")));
            }
            match rows.slots.get(key.as_str()).copied() {
                Some(Slot::Feature(i)) => {
                    rows.column = i;
                    let cell = map.next_value_seed(CellSeed)?;
                    let x = rows.take(cell, || format!("{key:?}"))?;
                    rows.scratch[i] = x;
                    rows.given[i] = true;
                }
                Some(Slot::Kept(j)) => kept[j] = Some(map.next_value()?),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let names = rows.columns.names.iter().flatten();
        let mut missing: Vec<String> = names
            .zip(&rows.given)
            .filter(|(_, given)| !**given)
            .map(|(name, _)| format!("{name:?}"))
            .collect();
        missing.extend(
            rows.columns
                .keep
                .iter()
                .zip(&kept)
                .filter(|(_, value)| value.is_none())
                .map(|(name, _)| format!("{name:?}")),
        );
        if !missing.is_empty() {
            return Err(rows.row_problem(format!(" has no {}", missing.join(", "))));
        }
        rows.chunker.values.extend_from_slice(&rows.scratch);
        for (j, value) in kept.into_iter().enumerate() {
            rows.chunker.keep_json(j, value.unwrap_or_default());
        }
        Ok(())
    }
    fn visit_bool<E: de::Error>(mut self, _: bool) -> Result<(), E> {
        Err(self.not_a_row())
    }
    fn visit_i64<E: de::Error>(mut self, _: i64) -> Result<(), E> {
        Err(self.not_a_row())
    }
    fn visit_u64<E: de::Error>(mut self, _: u64) -> Result<(), E> {
        Err(self.not_a_row())
    }
    fn visit_f64<E: de::Error>(mut self, _: f64) -> Result<(), E> {
        Err(self.not_a_row())
    }
    fn visit_str<E: de::Error>(mut self, _: &str) -> Result<(), E> {
        Err(self.not_a_row())
    }
    fn visit_unit<E: de::Error>(mut self) -> Result<(), E> {
        Err(self.not_a_row())
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
