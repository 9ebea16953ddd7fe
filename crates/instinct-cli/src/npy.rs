//! A small reader and writer of 2-D float arrays in NumPy's `.npy` format (versions 1 to 3):
//! little-endian `<f4` or `<f8` in C order in, `<f4` out.
//!
//! This file depends on nothing else in the crate, so the integration tests include it too.

use std::fmt;

/// The magic bytes every `.npy` file starts with.
const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// numpy aligns the start of the data to this many bytes (`ARRAY_ALIGN`).
const ALIGN: usize = 64;

/// A 2-D array, row after row.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    /// Number of rows (`shape[0]`).
    pub rows: usize,
    /// Values per row (`shape[1]`).
    pub cols: usize,
    /// `rows × cols` values, row-major.
    pub values: Vec<f32>,
}

/// Why bytes are not a `.npy` array this reader accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyError(pub String);

impl fmt::Display for NpyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NpyError {}

fn fail<T>(message: impl Into<String>) -> Result<T, NpyError> {
    Err(NpyError(message.into()))
}

/// The element types we read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dtype {
    F32,
    F64,
}

/// Reads a 2-D C-order array of little-endian `f32` or `f64` (the latter rounded to `f32`).
/// Anything else (other dtypes or byte orders, Fortran order, other ranks, a data section of the
/// wrong length) is refused with a message saying what was found.
pub fn read(bytes: &[u8]) -> Result<Matrix, NpyError> {
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return fail("not a .npy file (it does not start with \\x93NUMPY)");
    }
    let major = bytes[6];
    let (header_start, header_len): (usize, usize) = match major {
        1 => (10, usize::from(u16::from_le_bytes([bytes[8], bytes[9]]))),
        2 | 3 => {
            let Some(len) = bytes.get(8..12) else {
                return fail("truncated .npy preamble");
            };
            let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]);
            (12, usize::try_from(len).unwrap_or(usize::MAX))
        }
        v => {
            return fail(format!(
                ".npy format version {v} is not supported (only 1, 2 and 3)"
            ));
        }
    };
    let Some(header) = header_start
        .checked_add(header_len)
        .and_then(|end| bytes.get(header_start..end))
    else {
        return fail(format!(
            "the .npy header claims {header_len} bytes but the file is shorter"
        ));
    };
    let header = parse_header(header)?;
    let data = &bytes[header_start + header_len..];

    let dtype = match header.descr.as_str() {
        "<f4" => Dtype::F32,
        "<f8" => Dtype::F64,
        other => {
            return fail(format!(
                "dtype {other:?} is not supported (need little-endian float32 '<f4' or float64 '<f8')"
            ));
        }
    };
    if header.fortran_order {
        return fail(
            "fortran_order arrays are not supported (save a C-order array, e.g. np.ascontiguousarray)",
        );
    }
    let [rows, cols] = header.shape[..] else {
        return fail(format!(
            "the array has {} dimensions {:?}, expected 2 (rows × features)",
            header.shape.len(),
            header.shape
        ));
    };
    let item = match dtype {
        Dtype::F32 => 4,
        Dtype::F64 => 8,
    };
    let Some(expected) = rows.checked_mul(cols).and_then(|n| n.checked_mul(item)) else {
        return fail(format!("shape ({rows}, {cols}) is too large"));
    };
    if data.len() != expected {
        return fail(format!(
            "shape ({rows}, {cols}) of {} needs {expected} data bytes, the file has {}",
            header.descr,
            data.len()
        ));
    }
    let values = match dtype {
        Dtype::F32 => data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        Dtype::F64 => data
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32)
            .collect(),
    };
    Ok(Matrix { rows, cols, values })
}

/// Writes a `rows × cols` array of `<f4` values in C order (format version 1, or 2 should the
/// header not fit version 1's 16-bit length).
pub fn write_f32(rows: usize, cols: usize, values: &[f32]) -> Result<Vec<u8>, NpyError> {
    if rows.checked_mul(cols) != Some(values.len()) {
        return fail(format!(
            "{} values do not make a ({rows}, {cols}) array",
            values.len()
        ));
    }
    let dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    // The header is padded with spaces and ends with a newline, so that the data starts at a
    // multiple of ALIGN bytes.
    let build = |preamble: usize| {
        let unpadded = preamble + dict.len() + 1;
        let pad = (ALIGN - unpadded % ALIGN) % ALIGN;
        format!("{dict}{}\n", " ".repeat(pad))
    };
    let mut out = Vec::with_capacity(128 + values.len() * 4);
    out.extend_from_slice(MAGIC);
    let header = build(10);
    match u16::try_from(header.len()) {
        Ok(len) => {
            out.extend_from_slice(&[1, 0]);
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(header.as_bytes());
        }
        Err(_) => {
            let header = build(12);
            let Ok(len) = u32::try_from(header.len()) else {
                return fail("the .npy header is too long");
            };
            out.extend_from_slice(&[2, 0]);
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(header.as_bytes());
        }
    }
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    Ok(out)
}

/// The three keys of a `.npy` header.
#[derive(Debug)]
struct Header {
    descr: String,
    fortran_order: bool,
    shape: Vec<usize>,
}

/// A value in the header's Python dict literal.
#[derive(Debug)]
enum Literal {
    Str(String),
    Bool(bool),
    Tuple(Vec<usize>),
}

/// Parses the header, a Python dict literal such as
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`.
fn parse_header(text: &[u8]) -> Result<Header, NpyError> {
    let mut p = Cursor { text, pos: 0 };
    let (mut descr, mut fortran_order, mut shape) = (None, None, None);
    p.expect(b'{')?;
    loop {
        p.skip_space();
        if p.eat(b'}') {
            break;
        }
        let key = p.string()?;
        p.skip_space();
        p.expect(b':')?;
        p.skip_space();
        let value = p.literal()?;
        match (key.as_str(), value) {
            ("descr", Literal::Str(s)) => descr = Some(s),
            ("descr", _) => {
                return fail(
                    "the .npy header's descr is not a simple dtype string (structured arrays are not supported)",
                );
            }
            ("fortran_order", Literal::Bool(b)) => fortran_order = Some(b),
            ("shape", Literal::Tuple(t)) => shape = Some(t),
            ("fortran_order" | "shape", _) => {
                return fail(format!("the .npy header's {key} has the wrong type"));
            }
            // numpy writes no other keys; tolerate them rather than guess at their meaning.
            _ => {}
        }
        p.skip_space();
        if !p.eat(b',') {
            p.skip_space();
            p.expect(b'}')?;
            break;
        }
    }
    match (descr, fortran_order, shape) {
        (Some(descr), Some(fortran_order), Some(shape)) => Ok(Header {
            descr,
            fortran_order,
            shape,
        }),
        _ => fail("the .npy header lacks one of 'descr', 'fortran_order' and 'shape'"),
    }
}

/// A position in the header text.
struct Cursor<'a> {
    text: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), NpyError> {
        if self.eat(c) {
            Ok(())
        } else {
            fail(format!(
                "malformed .npy header: expected '{}' at byte {} of {:?}",
                c as char,
                self.pos,
                String::from_utf8_lossy(self.text).trim_end()
            ))
        }
    }

    /// A quoted string without escapes (numpy's keys and dtype strings have none).
    fn string(&mut self) -> Result<String, NpyError> {
        let quote = match self.peek() {
            Some(q @ (b'\'' | b'"')) => q,
            _ => return self.expect(b'\'').map(|()| String::new()),
        };
        self.pos += 1;
        let start = self.pos;
        while self.peek().is_some_and(|c| c != quote) {
            self.pos += 1;
        }
        let s = String::from_utf8_lossy(&self.text[start..self.pos]).into_owned();
        self.expect(quote)?;
        Ok(s)
    }

    fn literal(&mut self) -> Result<Literal, NpyError> {
        match self.peek() {
            Some(b'\'' | b'"') => self.string().map(Literal::Str),
            Some(b'(') => {
                self.pos += 1;
                let mut dims = Vec::new();
                loop {
                    self.skip_space();
                    if self.eat(b')') {
                        break;
                    }
                    dims.push(self.integer()?);
                    self.skip_space();
                    if !self.eat(b',') {
                        self.skip_space();
                        self.expect(b')')?;
                        break;
                    }
                }
                Ok(Literal::Tuple(dims))
            }
            _ => {
                let rest = &self.text[self.pos..];
                if rest.starts_with(b"True") {
                    self.pos += 4;
                    Ok(Literal::Bool(true))
                } else if rest.starts_with(b"False") {
                    self.pos += 5;
                    Ok(Literal::Bool(false))
                } else {
                    fail(format!(
                        "malformed .npy header: unexpected text at byte {} of {:?}",
                        self.pos,
                        String::from_utf8_lossy(self.text).trim_end()
                    ))
                }
            }
        }
    }

    fn integer(&mut self) -> Result<usize, NpyError> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        std::str::from_utf8(&self.text[start..self.pos])
            .ok()
            .and_then(|s| s.parse().ok())
            .map_or_else(
                || {
                    fail(format!(
                        "malformed .npy header: expected a dimension at byte {start} of {:?}",
                        String::from_utf8_lossy(self.text).trim_end()
                    ))
                },
                Ok,
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file with the given header dict (padded as numpy does) followed by `data`.
    fn file(dict: &str, data: &[u8]) -> Vec<u8> {
        let mut header = dict.to_string();
        while !(10 + header.len() + 1).is_multiple_of(ALIGN) {
            header.push(' ');
        }
        header.push('\n');
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out
    }

    fn check_err(bytes: &[u8], expected: &str) {
        let err = read(bytes).unwrap_err().to_string();
        assert!(
            err.contains(expected),
            "{err:?} should mention {expected:?}"
        );
    }

    #[test]
    fn f32_round_trips_through_writer_and_reader() {
        let values = [1.5f32, -0.0, f32::NAN, f32::INFINITY, 3.25, -7.0];
        let bytes = write_f32(2, 3, &values).unwrap();
        assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
        let header_len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
        assert_eq!((10 + header_len) % ALIGN, 0, "data is aligned");
        let m = read(&bytes).unwrap();
        assert_eq!((m.rows, m.cols), (2, 3));
        let same = |a: f32, b: f32| a.to_bits() == b.to_bits();
        assert!(m.values.iter().zip(&values).all(|(&a, &b)| same(a, b)));
    }

    #[test]
    fn f64_is_read_and_rounded_to_f32() {
        let data: Vec<u8> = [0.1f64, 2.0, -3.5, 1e300]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let m = read(&file(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }",
            &data,
        ))
        .unwrap();
        assert_eq!((m.rows, m.cols), (2, 2));
        assert_eq!(m.values, vec![0.1f32, 2.0, -3.5, f32::INFINITY]);
    }

    #[test]
    fn header_spacing_and_key_order_do_not_matter() {
        let m = read(&file(
            r#"{"shape":(1,1),"fortran_order":False,"descr":"<f4"}"#,
            &2.5f32.to_le_bytes(),
        ))
        .unwrap();
        assert_eq!(m.values, vec![2.5]);
    }

    #[test]
    fn empty_arrays_are_fine() {
        let m = read(&write_f32(0, 3, &[]).unwrap()).unwrap();
        assert_eq!((m.rows, m.cols, m.values.len()), (0, 3, 0));
    }

    #[test]
    fn bad_files_are_refused_with_a_reason() {
        let f4 = |dict: &str, n: usize| file(dict, &vec![0u8; n * 4]);
        check_err(b"PK\x03\x04 a zip file", "not a .npy file");
        check_err(b"\x93NUMPY", "not a .npy file");
        check_err(
            &f4(
                "{'descr': '>f4', 'fortran_order': False, 'shape': (1, 1), }",
                1,
            ),
            "'<f4'",
        );
        check_err(
            &f4(
                "{'descr': '<i4', 'fortran_order': False, 'shape': (1, 1), }",
                1,
            ),
            "\"<i4\" is not supported",
        );
        check_err(
            &f4(
                "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }",
                4,
            ),
            "fortran_order",
        );
        check_err(
            &f4(
                "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }",
                4,
            ),
            "1 dimensions",
        );
        check_err(
            &f4(
                "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 2), }",
                4,
            ),
            "3 dimensions",
        );
        check_err(
            &f4("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", 1),
            "0 dimensions",
        );
        check_err(
            &f4(
                "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }",
                3,
            ),
            "needs 16 data bytes, the file has 12",
        );
        check_err(
            &f4(
                "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }",
                5,
            ),
            "the file has 20",
        );
        check_err(&f4("{'descr': '<f4', 'shape': (2, 2), }", 4), "lacks");
        check_err(
            &f4(
                "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }",
                1,
            ),
            "malformed",
        );
        check_err(
            &f4(
                "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999, 2), }",
                1,
            ),
            "dimension",
        );
        check_err(
            &f4(
                "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }",
                1,
            ),
            "too large",
        );
        let mut truncated = file(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1), }",
            &[],
        );
        truncated.truncate(30);
        check_err(&truncated, "shorter");
        let mut v9 = truncated.clone();
        v9[6] = 9;
        check_err(&v9, "version 9");
    }
}
