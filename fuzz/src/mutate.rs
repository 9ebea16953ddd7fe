//! Structured mutations: byte-level ones for every format, and ones that know the format for
//! JSON and CSV text, NPY headers and protobuf (ONNX) messages.

use crate::rng::Rng;

mod npy;
mod protobuf;

pub use npy::npy_file;
use npy::npy_mutation;
use protobuf::protobuf_mutation;

/// Inputs grow by repetition and nesting; past this many bytes they are cut back.
const MAX_LEN: usize = 8 << 20;

/// What a target's inputs are, to choose the mutations that fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// JSON text: model files and `predict`'s JSON input.
    Json,
    /// CSV text.
    Csv,
    /// A NumPy `.npy` file.
    Npy,
    /// A protobuf message: ONNX.
    Protobuf,
    /// A binary file mutated byte by byte (Parquet, Arrow IPC).
    Bytes,
}

/// The largest input that format-aware mutations rework.
const STRUCTURED_MAX: usize = 64 << 10;

/// Applies 1 to 4 mutations to `input`, each format-aware or byte-level at even odds (a
/// format-aware one that finds nothing to change falls back to bytes); `others` are the
/// target's seeds, for crossover.
pub fn mutate(input: &mut Vec<u8>, shape: Shape, others: &[&[u8]], rng: &mut Rng) {
    for _ in 0..=rng.below(4) {
        // Format-aware mutations tokenise the whole input: past 64 KiB (a deep-nesting mutant,
        // say) only bytes are changed, so the fuzzer's own time stays linear.
        let structured = input.len() <= STRUCTURED_MAX
            && rng.chance(2)
            && match shape {
                Shape::Json => json_mutation(input, rng),
                Shape::Csv => csv_mutation(input, rng),
                Shape::Npy => npy_mutation(input, rng),
                Shape::Protobuf => protobuf_mutation(input, others, rng),
                Shape::Bytes => false,
            };
        if !structured {
            byte_mutation(input, others, rng);
        }
        input.truncate(MAX_LEN);
    }
}

// ---------------------------------------------------------------------------------------------
// Bytes

/// Bytes that mean something to a parser.
const SPECIAL_BYTES: &[u8] = &[0, 1, 0x7f, 0x80, 0xff, b'"', b'[', b'{', b',', b'\n'];

fn byte_mutation(input: &mut Vec<u8>, others: &[&[u8]], rng: &mut Rng) {
    let len = input.len();
    match rng.below(6) {
        0 if len > 0 => {
            for _ in 0..=rng.below(8) {
                let i = rng.below(len);
                input[i] ^= 1_u8 << rng.below(8);
            }
        }
        1 if len > 0 => {
            for _ in 0..=rng.below(4) {
                let i = rng.below(len);
                input[i] = if rng.chance(2) {
                    rng.choose(SPECIAL_BYTES)
                } else {
                    rng.byte()
                };
            }
        }
        2 => input.truncate(rng.below(len + 1)),
        3 => {
            let at = rng.below(len + 1);
            let bytes: Vec<u8> = (0..=rng.below(16)).map(|_| rng.byte()).collect();
            input.splice(at..at, bytes);
        }
        4 => {
            let start = rng.below(len + 1);
            let end = start + rng.below((len - start).min(256) + 1);
            let copy = input[start..end].to_vec();
            let at = rng.below(len + 1);
            input.splice(at..at, copy);
        }
        _ => {
            // Crossover: the head of this input on the tail of a seed of the same target.
            if let Some(other) = rng.pick(others) {
                let from = rng.below(other.len() + 1);
                input.truncate(rng.below(len + 1));
                input.extend_from_slice(&other[from..]);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// JSON and CSV text

/// Replacements for a number: huge counts, edge values, other types.
#[rustfmt::skip]
const JSON_SPECIALS: &[&str] = &[
    "1e12", "18446744073709551615", "18446744073709551616", "9223372036854775807",
    "-9223372036854775808", "4294967295", "4294967296", "2147483648", "65536", "-1", "-0", "0",
    "1e39", "-1e39", "1e999", "1e-999", "1e308", "3.4028235e38", "1e-45", "0.5", "NaN",
    "Infinity", "\"\"", "\"NaN\"", "\"-Infinity\"", "null", "true", "[]", "{}",
];

/// Replacements for a CSV cell, and extra cells.
#[rustfmt::skip]
const CSV_CELLS: &[&str] = &[
    "", "nan", "NaN", "inf", "-inf", "Infinity", "1e39", "-1e39", "1e999", "3.4028235e38",
    "18446744073709551616", "0x10", "1_0", "\"5.1\"", "\"\"", " 5.1 ", "five", "-0", "1e-46",
    "\"a,b\"", "\"\"\"", "petal_width_cm",
];

/// What a token of JSON (or CSV) text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Number,
    String,
    /// `true`, `null`, `NaN`, a CSV word.
    Word,
    Open,
    Close,
}

#[derive(Debug, Clone, Copy)]
struct Token {
    start: usize,
    end: usize,
    kind: Kind,
}

/// The tokens of `text`, leniently: anything that is not a token is skipped.
fn tokens(text: &[u8]) -> Vec<Token> {
    let run = |from: usize, part: fn(u8) -> bool| {
        from + text[from..].iter().take_while(|&&b| part(b)).count()
    };
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(&byte) = text.get(i) {
        let start = i;
        i += 1;
        let kind = match byte {
            b'"' => {
                while let Some(&b) = text.get(i) {
                    i += if b == b'\\' { 2 } else { 1 };
                    if b == b'"' {
                        break;
                    }
                }
                i = i.min(text.len());
                Kind::String
            }
            b'-' | b'+' | b'.' | b'0'..=b'9' => {
                i = run(i, |b| {
                    matches!(b, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                });
                Kind::Number
            }
            b'_' | b'a'..=b'z' | b'A'..=b'Z' => {
                i = run(i, |b| b == b'_' || b.is_ascii_alphanumeric());
                Kind::Word
            }
            b'[' | b'{' => Kind::Open,
            b']' | b'}' => Kind::Close,
            _ => continue,
        };
        tokens.push(Token {
            start,
            end: i,
            kind,
        });
    }
    tokens
}

/// Where the value starting at token `k` ends: after its matching bracket for an array or
/// object (or at the end of the text when there is none).
fn value_end(tokens: &[Token], k: usize) -> usize {
    let first = tokens[k];
    if first.kind != Kind::Open {
        return first.end;
    }
    let mut depth = 0;
    for token in &tokens[k..] {
        match token.kind {
            Kind::Open => depth += 1,
            Kind::Close => {
                depth -= 1;
                if depth == 0 {
                    return token.end;
                }
            }
            _ => {}
        }
    }
    tokens.last().map_or(first.end, |t| t.end)
}

/// The tokens a value can start at.
fn value_starts(tokens: &[Token]) -> Vec<usize> {
    (0..tokens.len())
        .filter(|&k| tokens[k].kind != Kind::Close)
        .collect()
}

/// The keys of object members (`"key": value`): strings followed by a colon. The member is
/// `member(tokens, k)`; computing only the chosen one keeps deep nesting linear.
fn member_keys(text: &[u8], tokens: &[Token]) -> Vec<usize> {
    (0..tokens.len().saturating_sub(1))
        .filter(|&k| {
            let after = text[tokens[k].end..]
                .iter()
                .find(|b| !b.is_ascii_whitespace());
            tokens[k].kind == Kind::String && after == Some(&b':')
        })
        .collect()
}

/// The span of the member whose key is token `k`.
fn member(tokens: &[Token], k: usize) -> (usize, usize) {
    (tokens[k].start, value_end(tokens, k + 1))
}

/// Removes `start..end` with a comma next to it, so that a list or an object stays
/// well-formed.
fn remove_element(text: &mut Vec<u8>, start: usize, end: usize) {
    let after = end
        + text[end..]
            .iter()
            .take_while(|b| b.is_ascii_whitespace())
            .count();
    let before = text[..start]
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .filter(|&p| text[p] == b',');
    if text.get(after) == Some(&b',') {
        text.drain(start..=after);
    } else if let Some(comma) = before {
        text.drain(comma..end);
    } else {
        text.drain(start..end);
    }
}

/// `text` without its first member named `key`, if it has one.
pub fn remove_member(text: &[u8], key: &str) -> Option<Vec<u8>> {
    let quoted = format!("\"{key}\"");
    let tokens = tokens(text);
    let key = member_keys(text, &tokens)
        .into_iter()
        .find(|&k| text[tokens[k].start..].starts_with(quoted.as_bytes()))?;
    let (start, end) = member(&tokens, key);
    let mut out = text.to_vec();
    remove_element(&mut out, start, end);
    Some(out)
}

/// A small count or index, to land on buffer indices, sizes and offsets.
fn small_number(rng: &mut Rng) -> String {
    if rng.chance(2) {
        rng.below(10).to_string()
    } else {
        rng.choose(&[
            15_u32, 16, 17, 31, 32, 63, 64, 100, 127, 128, 255, 256, 1000,
        ])
        .to_string()
    }
}

/// Replaces a random token of `kind` by `with`.
fn replace_token(text: &mut Vec<u8>, kind: Kind, with: &[u8], rng: &mut Rng) -> bool {
    let tokens = tokens(text);
    let matching: Vec<&Token> = tokens.iter().filter(|t| t.kind == kind).collect();
    let Some(token) = rng.pick(&matching) else {
        return false;
    };
    text.splice(token.start..token.end, with.iter().copied());
    true
}

/// Swaps two values (numbers, strings, whole arrays or objects) that do not overlap.
fn swap_values(text: &mut Vec<u8>, rng: &mut Rng) -> bool {
    let tokens = tokens(text);
    let starts = value_starts(&tokens);
    let (Some(&a), Some(&b)) = (rng.pick(&starts), rng.pick(&starts)) else {
        return false;
    };
    let (first, second) = (a.min(b), a.max(b));
    let first = (tokens[first].start, value_end(&tokens, first));
    let second = (tokens[second].start, value_end(&tokens, second));
    if first.1 > second.0 {
        return false; // the same value, or one inside the other
    }
    let mut out = Vec::with_capacity(text.len());
    out.extend_from_slice(&text[..first.0]);
    out.extend_from_slice(&text[second.0..second.1]);
    out.extend_from_slice(&text[first.1..second.0]);
    out.extend_from_slice(&text[first.0..first.1]);
    out.extend_from_slice(&text[second.1..]);
    *text = out;
    true
}

fn json_mutation(text: &mut Vec<u8>, rng: &mut Rng) -> bool {
    let tokens = tokens(text);
    let value = rng
        .pick(&value_starts(&tokens))
        .map(|&k| (tokens[k].start, value_end(&tokens, k)));
    let member = rng
        .pick(&member_keys(text, &tokens))
        .map(|&k| member(&tokens, k));
    match (rng.below(8), value, member) {
        (0, ..) => replace_token(
            text,
            Kind::Number,
            rng.choose(JSON_SPECIALS).as_bytes(),
            rng,
        ),
        (1, ..) => replace_token(text, Kind::Number, small_number(rng).as_bytes(), rng),
        (2, ..) => swap_values(text, rng),
        (3, _, Some((start, end))) => {
            // A duplicate key.
            let mut copy = vec![b','];
            copy.extend_from_slice(&text[start..end]);
            text.splice(end..end, copy);
            true
        }
        (4, _, Some((start, end))) | (5, Some((start, end)), _) => {
            remove_element(text, start, end);
            true
        }
        (6, Some((start, end)), _) => {
            // Deep nesting around a value, closed or not.
            let depth = rng.choose(&[32_usize, 127, 128, 129, 1_000, 100_000]);
            let (open, close) = if rng.chance(2) {
                ("[", "]")
            } else {
                ("{\"k\":", "}")
            };
            let mut nested = open.repeat(depth).into_bytes();
            nested.extend_from_slice(&text[start..end]);
            if !rng.chance(4) {
                nested.extend_from_slice(close.repeat(depth).as_bytes());
            }
            text.splice(start..end, nested);
            true
        }
        (7, Some((start, end)), _) => {
            // A value repeated after itself: many more elements than the other arrays have.
            let value = text[start..end].to_vec();
            let count = rng
                .choose(&[1_usize, 2, 10, 1_000])
                .min((1 << 20) / (value.len() + 1));
            let mut extra = Vec::with_capacity(count * (value.len() + 1));
            for _ in 0..count {
                extra.push(b',');
                extra.extend_from_slice(&value);
            }
            text.splice(end..end, extra);
            true
        }
        _ => false,
    }
}

/// Each line of `text` as `start..end`, without its newline.
fn line_spans(text: &[u8]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = 0;
    for (i, &b) in text.iter().enumerate() {
        if b == b'\n' {
            spans.push((start, i));
            start = i + 1;
        }
    }
    if start < text.len() {
        spans.push((start, text.len()));
    }
    spans
}

fn csv_mutation(text: &mut Vec<u8>, rng: &mut Rng) -> bool {
    let lines = line_spans(text);
    let Some(&(start, end)) = rng.pick(&lines) else {
        return false;
    };
    match rng.below(8) {
        0 => {
            let through = (end + 1).min(text.len());
            text.drain(start..through);
        }
        1 => {
            let cell = format!(",{}", rng.choose(CSV_CELLS));
            text.splice(end..end, cell.into_bytes());
        }
        2 => {
            // An extra row: a copy of a line, or cells of any count.
            let mut row = if rng.chance(2) {
                text[start..end].to_vec()
            } else {
                let cells: Vec<&str> = (0..rng.below(8)).map(|_| rng.choose(CSV_CELLS)).collect();
                cells.join(",").into_bytes()
            };
            row.push(b'\n');
            let at = rng.pick(&lines).map_or(0, |&(s, _)| s);
            text.splice(at..at, row);
        }
        3 => {
            // An empty (or odd) cell.
            let mut cells = Vec::new();
            let mut from = start;
            for (i, &b) in text.iter().enumerate().take(end).skip(start) {
                if b == b',' {
                    cells.push((from, i));
                    from = i + 1;
                }
            }
            cells.push((from, end));
            let Some(&(s, e)) = rng.pick(&cells) else {
                return false;
            };
            let with = if rng.chance(2) {
                ""
            } else {
                rng.choose(CSV_CELLS)
            };
            text.splice(s..e, with.bytes());
        }
        4 => return replace_token(text, Kind::Number, rng.choose(CSV_CELLS).as_bytes(), rng),
        5 => return replace_token(text, Kind::Number, small_number(rng).as_bytes(), rng),
        6 => return swap_values(text, rng),
        _ => {
            // Another separator, a quote or a line break where a comma or newline was.
            let marks: Vec<usize> = (0..text.len())
                .filter(|&i| matches!(text[i], b',' | b'\n'))
                .collect();
            let Some(&i) = rng.pick(&marks) else {
                return false;
            };
            text[i] = rng.choose(b";\t\"\r\n, ");
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::npy::header_length;
    use super::protobuf::{encode, message_paths, parse_message};
    use super::*;

    const MODEL: &[u8] = include_bytes!("../../fixtures/instmodel-keras/iris_mlp.json");
    const ONNX: &[u8] = include_bytes!("../../fixtures/onnx/torch_branches.onnx");

    #[test]
    fn protobuf_trees_write_back_the_same_bytes() {
        let fields = parse_message(ONNX, 0).expect("an ONNX file is a message");
        let mut out = Vec::new();
        encode(&fields, &mut out);
        assert_eq!(out, ONNX);
        let mut paths = Vec::new();
        message_paths(&fields, &mut Vec::new(), &mut paths);
        assert!(
            paths.len() > 10,
            "the graph, its nodes and its tensors are opened up"
        );
    }

    #[test]
    fn npy_data_starts_on_a_64_byte_boundary() {
        let file = npy_file("<f4", "False", "(3, 4)", &[0; 48]);
        let data_start = file.len() - 48;
        assert_eq!(data_start % 64, 0);
        assert_eq!(file[data_start - 1], b'\n');
        assert_eq!(usize::from(header_length(&file)), data_start - 10);
    }

    #[test]
    fn removing_a_member_keeps_the_rest() {
        let stripped = remove_member(MODEL, "validation_data").expect("iris has validation data");
        let text = String::from_utf8(stripped).expect("still UTF-8");
        assert!(!text.contains("validation_data"));
        assert!(text.contains("\"weights\":") && text.trim_end().ends_with("]}"));
    }

    #[test]
    fn mutations_never_panic_and_stay_bounded() {
        let npy = npy_file("<f4", "False", "(3, 4)", &[0; 48]);
        let cases = [
            (Shape::Json, MODEL),
            (Shape::Protobuf, ONNX),
            (Shape::Csv, &b"a,b\n1,2\n"[..]),
            (Shape::Npy, npy.as_slice()),
        ];
        let mut rng = Rng::new(7, 0);
        for (shape, seed) in cases {
            for _ in 0..1_000 {
                let mut input = seed.to_vec();
                mutate(&mut input, shape, &[seed], &mut rng);
                assert!(input.len() <= MAX_LEN);
            }
        }
    }
}
