//! CSV rows, with an optional header: the text is cut into blocks of whole records and the blocks
//! are parsed on every core at once, in order; columns are matched by name when the file has a
//! header, kept cells copied as the text they are.

use super::blocks::{Block, Blocks};
use super::cell::{Cell, ReadOptions, accept, column_label, parse_cell};
use super::decimal::parse_plain_decimal;
use crate::chunk::{Chunker, Emit, KeptColumn, rows_per_chunk};
use crate::columns::{Columns, match_columns};
use crate::error::DataError;
use std::collections::{HashSet, VecDeque};
use std::io::Read;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

/// Blocks handed to each parsing thread ahead of the one being delivered.
const DEPTH: usize = 2;

/// A field's text for a number: without surrounding spaces.
fn number_bytes(field: &[u8]) -> &[u8] {
    field.trim_ascii()
}

/// Whether a CSV's first row is a header: forced by `options.header`, else when its cells
/// include every feature and kept name of the model, or when any non-empty cell is not a number.
fn is_header(first: &csv::ByteRecord, columns: &Columns, forced: Option<bool>) -> bool {
    if let Some(forced) = forced {
        return forced;
    }
    let cells: HashSet<&[u8]> = first.iter().map(<[u8]>::trim_ascii).collect();
    let mut named = columns
        .names
        .iter()
        .flatten()
        .chain(&columns.keep)
        .peekable();
    if named.peek().is_some() && named.all(|n| cells.contains(n.as_bytes())) {
        return true;
    }
    first.iter().any(|f| {
        let text = number_bytes(f);
        !text.is_empty() && parse_cell(text) == Cell::NotANumber
    })
}

fn csv_reader(text: &[u8]) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text)
}

/// How every data record is read: where the features and kept cells are, how many fields a
/// record has, and the header's names for messages.
struct Plan {
    features: Vec<usize>,
    kept: Vec<usize>,
    width: usize,
    header: Option<Vec<String>>,
    allow_nonfinite: bool,
}

/// A block's rows.
struct Parsed {
    rows: usize,
    values: Vec<f32>,
    kept: Vec<Vec<String>>,
}

/// What the fast path does with a column.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Role {
    /// The model's value `j`.
    Feature(usize),
    /// Kept column `k`.
    Kept(usize),
    /// Not used.
    Skip,
}

impl Plan {
    /// Parses the records of `block`, or names the first bad one: the fast path where it
    /// applies, the `csv` crate's reader otherwise (which also finds and names every problem).
    fn parse(&self, block: &Block) -> Result<Parsed, DataError> {
        match self.parse_plain(block.text()) {
            Some(parsed) => Ok(parsed),
            None => self.parse_records(block),
        }
    }

    /// The fast path for the common block: no quotes, fields split at commas and lines at
    /// `\n` (or `\r\n`), every used number finite and parsed straight from the text (plain
    /// decimals by [`parse_plain_decimal`], others by fast-float2), each record as wide as the plan. It gives what [`parse_records`] gives for
    /// such a block (a property test holds it to that), and `None` for anything else: quotes,
    /// a lone `\r`, spaces around a number, a cell that is empty, non-finite or not a number,
    /// a record of another width. Those blocks go the `csv` crate's way, which reads them or
    /// names the problem.
    fn parse_plain(&self, text: &[u8]) -> Option<Parsed> {
        if memchr::memchr(b'"', text).is_some() {
            return None;
        }
        let has_cr = memchr::memchr(b'\r', text).is_some();
        let roles = self.roles()?;
        let size = self.features.len();
        let mut parsed = Parsed {
            rows: 0,
            values: Vec::new(),
            kept: vec![Vec::new(); self.kept.len()],
        };
        // About 10 bytes a cell: reserved once, not grown row by row.
        let _ = parsed
            .values
            .try_reserve(text.len() / (self.width.max(1) * 10) * size);
        let mut row = vec![0f32; size];
        let mut start = 0;
        let ends = memchr::memchr_iter(b'\n', text).chain(std::iter::once(text.len()));
        for end in ends {
            let mut line = &text[start..end];
            start = end + 1;
            if has_cr {
                line = line.strip_suffix(b"\r").unwrap_or(line);
                if memchr::memchr(b'\r', line).is_some() {
                    return None;
                }
            }
            if line.is_empty() {
                // The csv crate skips empty lines.
                continue;
            }
            let mut rest = line;
            for (c, role) in roles.iter().enumerate() {
                let last = c + 1 == roles.len();
                let field = match role {
                    Role::Feature(j) => {
                        let (x, n) = parse_plain_decimal(rest)
                            .or_else(|| fast_float2::parse_partial::<f32, _>(rest).ok())?;
                        if n == 0 || !x.is_finite() {
                            return None;
                        }
                        row[*j] = x;
                        &rest[..n]
                    }
                    _ => match memchr::memchr(b',', rest) {
                        Some(n) => &rest[..n],
                        None => rest,
                    },
                };
                if let Role::Kept(k) = role {
                    parsed.kept[*k].push(String::from_utf8_lossy(field).into_owned());
                }
                rest = &rest[field.len()..];
                match (rest.first(), last) {
                    (Some(b','), false) => rest = &rest[1..],
                    (None, true) => {}
                    // Text after a number, or a record of another width.
                    _ => return None,
                }
            }
            parsed.values.try_reserve(size).ok()?;
            parsed.values.extend_from_slice(&row);
            parsed.rows += 1;
        }
        Some(parsed)
    }

    /// Each column's role in a record; `None` when the fast path does not apply (no columns,
    /// a column that is two features, as a model naming one feature twice makes it, or a
    /// kept column that is also a feature).
    fn roles(&self) -> Option<Vec<Role>> {
        let mut roles = vec![Role::Skip; self.width];
        for (j, &c) in self.features.iter().enumerate() {
            let role = roles.get_mut(c)?;
            if *role != Role::Skip {
                return None;
            }
            *role = Role::Feature(j);
        }
        for (k, &c) in self.kept.iter().enumerate() {
            let role = roles.get_mut(c)?;
            if *role != Role::Skip {
                return None;
            }
            *role = Role::Kept(k);
        }
        (!roles.is_empty()).then_some(roles)
    }

    /// Parses the records of `block` with the `csv` crate, or names the first bad one.
    fn parse_records(&self, block: &Block) -> Result<Parsed, DataError> {
        let csv_error = |e: csv::Error| DataError::unreadable(format!("{e}"));
        let mut reader = csv_reader(block.text());
        let mut record = csv::ByteRecord::new();
        let mut parsed = Parsed {
            rows: 0,
            values: Vec::new(),
            kept: vec![Vec::new(); self.kept.len()],
        };
        while reader.read_byte_record(&mut record).map_err(csv_error)? {
            let line = block.first_line + record.position().map_or(1, csv::Position::line) - 1;
            if record.len() != self.width {
                let expected = if self.header.is_some() {
                    format!("the header has {} columns", self.width)
                } else {
                    format!("the model takes {}", self.width)
                };
                return Err(DataError::invalid(format!(
                    "line {line} has {} values, {expected}",
                    record.len()
                )));
            }
            parsed
                .values
                .try_reserve(self.features.len())
                .map_err(|_| {
                    DataError::unreadable("not enough memory for a block of input rows")
                })?;
            for &c in &self.features {
                let text = number_bytes(record.get(c).unwrap_or(b""));
                let x = match parse_cell(text) {
                    Cell::Finite(x) => x,
                    _ if text.is_empty() => {
                        accept(Cell::NonFinite(f32::NAN), "", self.allow_nonfinite)
                            .map_err(|why| self.bad_cell(line, c, why))?
                    }
                    cell => {
                        let shown = format!("{:?}", String::from_utf8_lossy(text));
                        accept(cell, &shown, self.allow_nonfinite)
                            .map_err(|why| self.bad_cell(line, c, why))?
                    }
                };
                parsed.values.push(x);
            }
            for (j, &c) in self.kept.iter().enumerate() {
                let field = record.get(c).unwrap_or(b"");
                parsed.kept[j].push(String::from_utf8_lossy(field).into_owned());
            }
            parsed.rows += 1;
        }
        Ok(parsed)
    }

    /// A refused cell at `line`, column `c` (named by the header when there is one).
    fn bad_cell(&self, line: u64, c: usize, why: String) -> DataError {
        let name = self
            .header
            .as_ref()
            .and_then(|h| h.get(c))
            .map(String::as_str);
        DataError::invalid(format!("line {line}, {}: {why}", column_label(c, name)))
    }
}

/// Reads CSV rows for `columns` into chunks. With a header, columns are matched by name (see
/// [`match_columns`]); without one, the fields are the features in order and nothing can be
/// kept. Number cells may have spaces around them; kept cells are copied as they are.
pub(super) fn read_csv(
    reader: impl Read,
    columns: &Columns,
    options: ReadOptions,
    emit: Emit,
) -> Result<usize, DataError> {
    let io_error = |e: std::io::Error| DataError::unreadable(format!("{e}"));
    let mut blocks = Blocks::new(reader);
    let Some(mut first) = blocks.next_block().map_err(io_error)? else {
        if !columns.keep.is_empty() {
            return Err(DataError::invalid(
                "the CSV is empty: it has no header naming the columns to keep",
            ));
        }
        return Ok(0);
    };
    let mut record = csv::ByteRecord::new();
    let header_end = {
        let mut head = csv_reader(first.text());
        head.read_byte_record(&mut record)
            .map_err(|e| DataError::unreadable(format!("{e}")))?;
        usize::try_from(head.position().byte()).unwrap_or(first.bytes.len())
    };
    let header = if is_header(&record, columns, options.header) {
        let names = record
            .iter()
            .enumerate()
            .map(|(i, f)| {
                std::str::from_utf8(f.trim_ascii())
                    .map(str::to_string)
                    .map_err(|_| {
                        DataError::unreadable(format!(
                            "line 1, column {}: the header is not valid UTF-8",
                            i + 1
                        ))
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        // The data start after the header's record.
        let end = header_end.min(first.bytes.len());
        let header_lines = memchr::memchr_iter(b'\n', &first.bytes[..end]).count() as u64;
        first.start = end;
        first.first_line += header_lines;
        Some(names)
    } else {
        None
    };

    let (features, kept, width) = match &header {
        Some(names) => {
            let matched = match_columns(names, columns)
                .map_err(|e| DataError::invalid(format!("line 1: {}", e.message)))?;
            (matched.features, matched.kept, names.len())
        }
        None if !columns.keep.is_empty() => {
            return Err(DataError::invalid(
                "the CSV has no header, so it names no columns to keep",
            ));
        }
        None => ((0..columns.size).collect(), Vec::new(), columns.size),
    };
    let plan = Plan {
        features,
        kept,
        width,
        header,
        allow_nonfinite: options.allow_nonfinite,
    };
    let chunk_rows = rows_per_chunk(columns.size, options.chunk_rows);
    let mut delivery = Chunker::new(emit, columns.size, chunk_rows, Vec::new());
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    let second = blocks.next_block().map_err(io_error)?;
    if threads == 1 || second.is_none() {
        // One core, or one block (a small file): no threads to start.
        deliver(&mut delivery, plan.parse(&first)?)?;
        let mut block = second;
        while let Some(b) = block {
            deliver(&mut delivery, plan.parse(&b)?)?;
            block = blocks.next_block().map_err(io_error)?;
        }
        return delivery.finish();
    }
    parse_in_parallel(
        &plan,
        [first].into_iter().chain(second),
        &mut blocks,
        threads,
        &mut delivery,
    )?;
    delivery.finish()
}

/// Parses the blocks read ahead (`first`) and those after them on `threads` threads, delivering them in order. Block
/// `i` goes to thread `i % threads`, and at most `threads × DEPTH` blocks are out at once, so
/// no thread ever waits on a full channel for long.
fn parse_in_parallel(
    plan: &Plan,
    first: impl Iterator<Item = Block>,
    blocks: &mut Blocks<impl Read>,
    threads: usize,
    delivery: &mut Chunker,
) -> Result<(), DataError> {
    std::thread::scope(|scope| {
        let mut jobs: Vec<SyncSender<Block>> = Vec::with_capacity(threads);
        let mut results: Vec<Receiver<Result<Parsed, DataError>>> = Vec::with_capacity(threads);
        for _ in 0..threads {
            let (job_tx, job_rx) = sync_channel::<Block>(DEPTH);
            let (result_tx, result_rx) = sync_channel(DEPTH);
            scope.spawn(move || {
                for block in job_rx {
                    if result_tx.send(plan.parse(&block)).is_err() {
                        break;
                    }
                }
            });
            jobs.push(job_tx);
            results.push(result_rx);
        }
        let stopped = || DataError::unreadable("a CSV parsing thread stopped");
        let mut out: VecDeque<usize> = VecDeque::new();
        let mut next = 0;
        let mut read_ahead = first;
        let mut block = read_ahead.next();
        while let Some(b) = block {
            if out.len() == threads * DEPTH {
                let w = out.pop_front().unwrap_or_default();
                deliver(delivery, results[w].recv().map_err(|_| stopped())??)?;
            }
            jobs[next].send(b).map_err(|_| stopped())?;
            out.push_back(next);
            next = (next + 1) % threads;
            block = match read_ahead.next() {
                Some(b) => Some(b),
                None => blocks
                    .next_block()
                    .map_err(|e| DataError::unreadable(format!("{e}")))?,
            };
        }
        drop(jobs);
        for w in out {
            deliver(delivery, results[w].recv().map_err(|_| stopped())??)?;
        }
        Ok(())
    })
}

/// Hands a parsed block on through the chunker.
fn deliver(chunker: &mut Chunker, parsed: Parsed) -> Result<(), DataError> {
    let kept = parsed.kept.into_iter().map(KeptColumn::Text).collect();
    chunker.push_block(parsed.values, kept, parsed.rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Cells of every kind the two paths must agree on, or the fast one must leave alone.
    const CELLS: &[&str] = &[
        "1.5",
        "-0.25",
        "7",
        "+3e2",
        "1E-3",
        ".5",
        "5.",
        "0",
        "-0",
        "123456789",
        " 2.5",
        "2.5 ",
        "",
        "nan",
        "NaN",
        "inf",
        "-Infinity",
        "1e39",
        "abc",
        "1.5x",
        "\"4.5\"",
        "\"a,b\"",
        "x\ry",
        "id-7",
        "\u{e9}t\u{e9}",
    ];
    const ENDS: &[&str] = &["\n", "\r\n", "\r", "\n\n", ""];

    fn text_of(rows: &[(Vec<usize>, usize)]) -> String {
        let mut text = String::new();
        for (cells, end) in rows {
            let cells: Vec<&str> = cells.iter().map(|&c| CELLS[c % CELLS.len()]).collect();
            text.push_str(&cells.join(","));
            text.push_str(ENDS[end % ENDS.len()]);
        }
        text
    }

    fn plan(width: usize, features: Vec<usize>, kept: Vec<usize>, allow_nonfinite: bool) -> Plan {
        Plan {
            features,
            kept,
            width,
            header: None,
            allow_nonfinite,
        }
    }

    fn same(a: &Parsed, b: &Parsed) -> bool {
        a.rows == b.rows
            && a.kept == b.kept
            && a.values.len() == b.values.len()
            && a.values
                .iter()
                .zip(&b.values)
                .all(|(x, y)| x.to_bits() == y.to_bits())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Where the fast path reads a block, it reads what the csv crate reads; and it reads
        /// every block of plain numbers of the right width.
        #[test]
        fn the_fast_path_reads_what_the_csv_crate_reads(
            rows in proptest::collection::vec(
                (proptest::collection::vec(0..40usize, 3..=4), 0..8usize), 0..12),
            order in 0..4usize,
            plain: bool,
            allow_nonfinite: bool,
        ) {
            let plans = [
                plan(3, vec![0, 2], vec![1], allow_nonfinite),
                plan(3, vec![2, 0, 1], vec![], allow_nonfinite),
                plan(4, vec![1], vec![3, 0], allow_nonfinite),
                // A model naming one feature twice: the fast path leaves it to the csv crate.
                plan(3, vec![0, 2, 0], vec![1], allow_nonfinite),
            ];
            let repeats = order == 3;
            let plan = &plans[order];
            let mut rows = rows;
            if plain {
                // Finite numbers only, records of the plan's width, `\n` or `\r\n` ends.
                for (cells, end) in &mut rows {
                    cells.resize(plan.width, 0);
                    cells.iter_mut().for_each(|c| *c %= 10);
                    *end %= 2;
                }
            }
            let text = text_of(&rows);
            let block = Block { bytes: text.as_bytes().to_vec(), start: 0, first_line: 1 };
            let fast = plan.parse_plain(&block.bytes);
            prop_assert!(!plain || fast.is_some() || repeats, "{text:?} is plain");
            prop_assert!(!repeats || fast.is_none(), "{text:?}: a column read as two features");
            if let Some(fast) = fast {
                let slow = plan.parse_records(&block);
                prop_assert!(slow.is_ok(), "{text:?}: the fast path read what the csv crate refuses: {:?}", slow.err());
                let slow = slow.unwrap();
                prop_assert!(same(&fast, &slow), "{text:?}");
            }
        }
    }

    #[test]
    fn the_fast_path_takes_plain_blocks() {
        let p = plan(3, vec![2, 0], vec![1], false);
        let fast = p
            .parse_plain(b"1.5,id-1,2\r\n-3e1,x,4\n\n")
            .expect("a plain block");
        assert_eq!(fast.rows, 2);
        assert_eq!(fast.values, [2.0, 1.5, 4.0, -30.0]);
        assert_eq!(fast.kept, [vec!["id-1".to_string(), "x".to_string()]]);
        for odd in [
            &b"1,\"a\",2\n"[..],
            b"1,a,2,3\n",
            b"1,a\n",
            b" 1,a,2\n",
            b"1,a,\n",
            b"nan,a,2\n",
        ] {
            assert!(
                p.parse_plain(odd).is_none(),
                "{:?}",
                String::from_utf8_lossy(odd)
            );
        }
    }
}
