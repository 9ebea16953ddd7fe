//! Structured mutations: byte-level ones for every format, and ones that know the format for
//! JSON and CSV text, NPY headers and protobuf (ONNX) messages.

use crate::rng::Rng;

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

// ---------------------------------------------------------------------------------------------
// NPY

/// dtypes numpy writes (some this reader refuses) and some it never would.
#[rustfmt::skip]
const DESCRS: &[&str] = &[
    "<f4", "<f4", ">f4", "<f8", ">f8", "<f2", ">f2", "|b1", "|u1", "|i1", "<i2", ">u2", "<i4",
    ">i4", "<u4", "<i8", ">u8", "<u8", "|O", "<c8", "<f16", "<U4", "|V4", "f4", "<f3", "=f4", "<f",
];

/// What may stand between a shape's parentheses.
#[rustfmt::skip]
const SHAPES: &[&str] = &[
    "3, 4", "0, 4", "3, 0", "0, 0", "1, 4", "4,", "", "2, 2, 3", "-1, 4", "4, -1",
    "1000000000000, 4", "18446744073709551615, 4", "18446744073709551616, 4",
    "4611686018427387904, 4", "9223372036854775807, 9223372036854775807", "3, 4, ", "3 , 4",
    "3, 4.0", "3L, 4L", "0x3, 4", "3, 4, 0", "(3, 4)", "3,,4", " ",
];

const ORDERS: &[&str] = &["False", "True", "0", "None", "false", "'C'"];

/// A version 1.0 `.npy` file as numpy writes it: the header dict, padded with spaces and a
/// newline so that the data starts at a multiple of 64 bytes, then `data`. `shape` is written
/// as given, parentheses included.
pub fn npy_file(descr: &str, fortran_order: &str, shape: &str, data: &[u8]) -> Vec<u8> {
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': {fortran_order}, 'shape': {shape}, }}");
    let padded = (10 + header.len() + 1).div_ceil(64) * 64 - 10;
    while header.len() + 1 < padded {
        header.push(' ');
    }
    header.push('\n');
    let mut file = b"\x93NUMPY\x01\x00".to_vec();
    let length = u16::try_from(header.len()).unwrap_or(u16::MAX);
    file.extend_from_slice(&length.to_le_bytes());
    file.extend_from_slice(header.as_bytes());
    file.extend_from_slice(data);
    file
}

/// A new file of a random dtype, order and shape, its data usually the size the shape says.
fn random_npy(rng: &mut Rng) -> Vec<u8> {
    let descr = rng.choose(DESCRS);
    let size = descr
        .get(2..)
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(4)
        .min(16);
    let (rows, cols) = (rng.below(5), rng.choose(&[4_usize, 4, 4, 0, 1, 5]));
    let shape = if rng.chance(4) {
        format!("({})", rng.choose(SHAPES))
    } else {
        format!("({rows}, {cols})")
    };
    let count = if rng.chance(8) {
        rng.below(16)
    } else {
        rows * cols
    };
    let mut data = Vec::with_capacity(count * size);
    for _ in 0..count {
        let x = if rng.chance(8) {
            rng.choose(&[f64::NAN, f64::INFINITY, -0.0, 1e39, 3.4028235e38, 1e-45])
        } else {
            (rng.below(2001) as f64 - 1000.0) / 100.0
        };
        let mut value = match (descr.as_bytes().get(1), size) {
            (Some(b'f'), 4) => (x as f32).to_le_bytes().to_vec(),
            (Some(b'f'), 8) => x.to_le_bytes().to_vec(),
            (Some(b'b'), _) => vec![rng.below(2) as u8],
            _ => (0..size).map(|_| rng.byte()).collect(),
        };
        if descr.starts_with('>') {
            value.reverse();
        }
        data.extend_from_slice(&value);
    }
    npy_file(descr, rng.choose(&["False", "True"]), &shape, &data)
}

/// The length of a version 1.0 header, through its first newline.
fn header_length(file: &[u8]) -> u16 {
    let length = file
        .iter()
        .skip(10)
        .position(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    u16::try_from(length).unwrap_or(u16::MAX)
}

/// Replaces what lies between `prefix` and the next `suffix` byte.
fn replace_between(text: &mut Vec<u8>, prefix: &[u8], suffix: u8, with: &str) -> bool {
    let Some(found) = text.windows(prefix.len()).position(|w| w == prefix) else {
        return false;
    };
    let start = found + prefix.len();
    let Some(length) = text[start..].iter().position(|&b| b == suffix) else {
        return false;
    };
    text.splice(start..start + length, with.bytes());
    true
}

fn npy_mutation(file: &mut Vec<u8>, rng: &mut Rng) -> bool {
    let edited = match rng.below(6) {
        0 => replace_between(file, b"'shape': (", b')', rng.choose(SHAPES)),
        1 => replace_between(file, b"'descr': '", b'\'', rng.choose(DESCRS)),
        2 => replace_between(file, b"'fortran_order': ", b',', rng.choose(ORDERS)),
        3 if file.len() >= 10 => {
            // The header length field, left wrong.
            let actual = header_length(file);
            let random = u16::from_le_bytes([rng.byte(), rng.byte()]);
            let candidates = [
                0,
                1,
                9,
                10_000,
                10_001,
                u16::MAX,
                actual.wrapping_sub(1),
                actual.wrapping_add(1),
                random,
            ];
            let length: u16 = rng.choose(&candidates);
            file[8..10].copy_from_slice(&length.to_le_bytes());
            return true;
        }
        4 if file.len() >= 10 => {
            // Another version; 2.0 and 3.0 have a 4-byte header length.
            let version = rng.choose(&[1_u8, 2, 3, 0, 4, 255]);
            file[6] = version;
            if matches!(version, 2 | 3) && rng.chance(2) {
                let length = u32::from(u16::from_le_bytes([file[8], file[9]]));
                file.splice(8..10, length.to_le_bytes());
            }
            return true;
        }
        _ => {
            *file = random_npy(rng);
            return true;
        }
    };
    // Usually make the header length match the edited header, so that the edit is read.
    if edited && file.len() >= 10 && file[6] == 1 && !rng.chance(4) {
        let length = header_length(file);
        file[8..10].copy_from_slice(&length.to_le_bytes());
    }
    edited
}

// ---------------------------------------------------------------------------------------------
// Protobuf

/// A protobuf field: its tag as written, and its value, opened up when it parses as a message.
#[derive(Debug, Clone)]
struct Field {
    tag: Vec<u8>,
    wire: u8,
    body: Body,
}

#[derive(Debug, Clone)]
enum Body {
    /// The value as written (a length-delimited one with its length prefix).
    Raw(Vec<u8>),
    /// A length-delimited value that parses as a message; its length is rewritten on encoding,
    /// so that edits inside keep the enclosing messages readable.
    Message(Vec<Field>),
}

/// How deep nested messages are opened up.
const MAX_NESTING: usize = 12;

/// Varint values for counts, dims, data types and enums: small, huge and negative (as int64).
#[rustfmt::skip]
const VARINTS: &[u64] = &[
    0, 1, 2, 3, 7, 16, 255, 65_536, 1 << 31, 1 << 32, 1 << 40, 0x7FFF_FFFF_FFFF_FFFF,
    0x8000_0000_0000_0000, 0xFFFF_FFFF_FFFF_FFFE, 0xFFFF_FFFF_FFFF_FFFF,
];

fn read_varint(bytes: &[u8], mut at: usize) -> Option<(u64, usize)> {
    let mut value = 0;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(at)?;
        at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some((value, at));
        }
    }
    None
}

fn write_varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push((value & 0x7f) as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// The fields of `bytes`, or `None` when they are not a whole message.
fn parse_message(bytes: &[u8], depth: usize) -> Option<Vec<Field>> {
    let mut fields = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let (tag, value) = read_varint(bytes, at)?;
        if tag >> 3 == 0 {
            return None;
        }
        let wire = (tag & 7) as u8;
        let (payload, end) = match wire {
            0 => (value, read_varint(bytes, value)?.1),
            1 => (value, value + 8),
            2 => {
                let (length, payload) = read_varint(bytes, value)?;
                (payload, payload.checked_add(usize::try_from(length).ok()?)?)
            }
            5 => (value, value + 4),
            _ => return None,
        };
        let raw = bytes.get(value..end)?;
        let nested = if wire == 2 && depth < MAX_NESTING {
            parse_message(&bytes[payload..end], depth + 1)
        } else {
            None
        };
        let body = match nested {
            Some(fields) => Body::Message(fields),
            None => Body::Raw(raw.to_vec()),
        };
        fields.push(Field {
            tag: bytes[at..value].to_vec(),
            wire,
            body,
        });
        at = end;
    }
    Some(fields)
}

fn encode(fields: &[Field], out: &mut Vec<u8>) {
    for field in fields {
        out.extend_from_slice(&field.tag);
        match &field.body {
            Body::Raw(bytes) => out.extend_from_slice(bytes),
            Body::Message(inner) => {
                let mut payload = Vec::new();
                encode(inner, &mut payload);
                write_varint(payload.len() as u64, out);
                out.extend_from_slice(&payload);
            }
        }
    }
}

/// The payload of a length-delimited field, without its length prefix.
fn payload_of(body: &Body) -> Vec<u8> {
    match body {
        Body::Message(fields) => {
            let mut payload = Vec::new();
            encode(fields, &mut payload);
            payload
        }
        Body::Raw(bytes) => {
            let start = read_varint(bytes, 0).map_or(0, |(_, at)| at);
            bytes[start..].to_vec()
        }
    }
}

/// The path (field indices) to every message in the tree, the root's (empty) included.
fn message_paths(fields: &[Field], path: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
    out.push(path.clone());
    for (i, field) in fields.iter().enumerate() {
        if let Body::Message(inner) = &field.body {
            path.push(i);
            message_paths(inner, path, out);
            path.pop();
        }
    }
}

fn message_at<'a>(fields: &'a mut Vec<Field>, path: &[usize]) -> Option<&'a mut Vec<Field>> {
    match path.split_first() {
        None => Some(fields),
        Some((&first, rest)) => match &mut fields.get_mut(first)?.body {
            Body::Message(inner) => message_at(inner, rest),
            Body::Raw(_) => None,
        },
    }
}

/// A random field at any depth of the message `bytes`.
fn random_field(bytes: &[u8], rng: &mut Rng) -> Option<Field> {
    let mut root = parse_message(bytes, 0)?;
    let mut paths = Vec::new();
    message_paths(&root, &mut Vec::new(), &mut paths);
    let path = rng.pick(&paths)?.clone();
    let message = message_at(&mut root, &path)?;
    rng.pick(message.as_slice()).cloned()
}

/// Edits one message of the tree (delete, repeat or swap fields, splice in a field of another
/// seed, change a varint, or make a length prefix lie), then writes the tree back with every
/// enclosing length recomputed.
fn protobuf_mutation(input: &mut Vec<u8>, others: &[&[u8]], rng: &mut Rng) -> bool {
    let Some(mut root) = parse_message(input, 0) else {
        return false;
    };
    let op = rng.below(6);
    let donor = if op == 3 {
        rng.pick(others).and_then(|other| random_field(other, rng))
    } else {
        None
    };
    let mut paths = Vec::new();
    message_paths(&root, &mut Vec::new(), &mut paths);
    let Some(path) = rng.pick(&paths) else {
        return false;
    };
    let Some(message) = message_at(&mut root, path) else {
        return false;
    };
    let n = message.len();
    match op {
        0 if n > 0 => {
            message.remove(rng.below(n));
        }
        1 if n > 0 => {
            // A repeated field: many more nodes, dims, initializers than the graph had.
            let field = message[rng.below(n)].clone();
            let count = rng.choose(&[1_usize, 1, 2, 1_000]);
            let at = rng.below(n + 1);
            message.splice(at..at, std::iter::repeat_n(field, count));
        }
        2 if n > 1 => {
            let (a, b) = (rng.below(n), rng.below(n));
            message.swap(a, b);
        }
        3 => {
            let Some(field) = donor else {
                return false;
            };
            message.insert(rng.below(n + 1), field);
        }
        4 | 5 if n > 0 => {
            let random = rng.below(64) as u64;
            let field = &mut message[rng.below(n)];
            let mut bytes = Vec::new();
            match field.wire {
                0 => {
                    let value = if rng.chance(3) {
                        random
                    } else {
                        rng.choose(VARINTS)
                    };
                    write_varint(value, &mut bytes);
                }
                2 => {
                    let payload = payload_of(&field.body);
                    let len = payload.len() as u64;
                    let lie = rng.choose(&[
                        len + 1,
                        len + 1_000,
                        len.saturating_sub(1),
                        1 << 31,
                        u64::from(u32::MAX),
                        1 << 62,
                        u64::MAX,
                    ]);
                    write_varint(lie, &mut bytes);
                    bytes.extend_from_slice(&payload);
                }
                _ => return false,
            }
            field.body = Body::Raw(bytes);
        }
        _ => return false,
    }
    input.clear();
    encode(&root, input);
    true
}

#[cfg(test)]
mod tests {
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
