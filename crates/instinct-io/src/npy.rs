//! A reader of 2-D numeric arrays in NumPy's `.npy` format (versions 1.0, 2.0 and 3.0)
//! and a writer of `<f4` ones.
//!
//! The reader takes what `numpy.load` reads as a 2-D array of floats (`f2`, `f4`, `f8`),
//! integers (`i1` to `i8`, `u1` to `u8`) or booleans (`b1`), in either byte order and in C or
//! Fortran order, and converts the values to `f32` as numpy's `astype(numpy.float32)` does.
//! Anything else is refused with a message saying what was found: another dtype or rank, a header
//! that is not the dict numpy writes, a data section shorter or longer than the shape says.
//!
//! The header dict is parsed by `npyz`, behind guards for what its parser does on hostile
//! headers (each found by trying it, npyz 0.9.1): the header length is read and capped here
//! (npyz allocates whatever a version 2 file claims, up to 4 GiB, before reading it); a header
//! may hold at most 3 opening brackets (its Python-literal parser takes time exponential in the
//! nesting depth, and recurses without a stack guard); its product of the shape is unchecked, so
//! it runs under a panic guard and the reader checks the shape itself. The data are converted
//! here, a block at a time, from any of the dtypes above to `f32`, which npyz does not do (it
//! reads each value as its own type).
mod error;

pub use error::NpyError;
use error::{fail, quoted};
use npyz::{DType, Endianness, TypeChar, TypeStr};
use std::io::{Read, Write};

/// The magic bytes every `.npy` file starts with.
const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// numpy aligns the start of the data to this many bytes (`ARRAY_ALIGN`).
const ALIGN: usize = 64;

/// The longest header read. numpy refuses longer ones by default (`max_header_size`); the header
/// of a 2-D numeric array is about 128 bytes.
const MAX_HEADER_LEN: usize = 10_000;

/// A 2-D array, row after row.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    /// Number of rows (`shape[0]`).
    pub rows: usize,
    /// Values per row (`shape[1]`).
    pub cols: usize,
    /// `rows × cols` values, row-major, NaN and infinities included as the file has them.
    pub values: Vec<f32>,
    /// For `f8` input only: the first `(row, column)` in row-major order, counting from 0, of a
    /// finite value too large in magnitude for `f32`. `values` holds it as an infinity, as
    /// `astype(numpy.float32)` makes it. Always `None` for the other dtypes, which cannot overflow.
    pub first_overflow: Option<(usize, usize)>,
}

impl Matrix {
    /// The first `(row, column)` in row-major order, counting from 0, of a NaN or infinite value
    /// (an `f8` value that overflowed `f32` included), or `None` when all are finite.
    pub fn first_non_finite(&self) -> Option<(usize, usize)> {
        let i = self.values.iter().position(|v| !v.is_finite())?;
        Some((i.checked_div(self.cols)?, i.checked_rem(self.cols)?))
    }
}

/// What the values are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    Int,
    Uint,
    Float,
}

/// An element type this reader converts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Dtype {
    kind: Kind,
    /// Bytes per value: 1, 2, 4 or 8.
    size: usize,
    big_endian: bool,
}

/// Reads a 2-D array of floats, integers or booleans, in either byte order and in C or Fortran
/// order, into row-major `f32` values: [`read_from`] over bytes in memory.
pub fn read(bytes: &[u8]) -> Result<Matrix, NpyError> {
    read_from(bytes, u64::try_from(bytes.len()).unwrap_or(u64::MAX))
}

/// Reads a 2-D array from `reader`, which holds `length` bytes (a file's size), converting the
/// data as it comes in blocks of 64 KiB: the reader holds the `f32` values and one
/// block, never the file.
///
/// The file must be what numpy writes: the magic and a version of 1.0, 2.0 or 3.0, a header
/// dict (parsed by npyz) with the keys `descr`, `fortran_order` and `shape`, then
/// `rows × cols × itemsize` bytes of data and no more.
/// Anything else is refused with a message saying what is wrong; no input makes this panic, and
/// nothing is allocated before the shape is checked against `length`. A reader that ends before
/// `length` bytes, or goes on after it, is refused too.
pub fn read_from(reader: impl Read, length: u64) -> Result<Matrix, NpyError> {
    let mut array = ArrayReader::open(reader, Some(length))?;
    let (rows, cols) = (array.rows, array.cols);
    let mut values = Vec::new();
    let mut first_overflow = None;
    while let Some(block) = array.next_rows(rows.max(1))? {
        if values.is_empty() {
            values = block.values;
        } else {
            values.extend_from_slice(&block.values);
        }
        first_overflow = first_overflow.or(block.first_overflow);
    }
    Ok(Matrix {
        rows,
        cols,
        values,
        first_overflow,
    })
}

/// Rows converted by [`ArrayReader::next_rows`].
#[derive(Debug, Clone, PartialEq)]
pub struct Rows {
    /// The position of the first row in the array (from 0).
    pub first_row: usize,
    /// Number of rows.
    pub rows: usize,
    /// `rows × cols` values, row after row.
    pub values: Vec<f32>,
    /// For `f8` input only: the first `(row, column)` of the array (from 0, row-major) among
    /// these rows whose finite value is too large for `f32` (read as an infinity).
    pub first_overflow: Option<(usize, usize)>,
}

/// A 2-D array being read a few rows at a time: its header is checked when it is opened, its
/// data converted as [`next_rows`](ArrayReader::next_rows) asks for them.
pub struct ArrayReader<R> {
    reader: R,
    /// Number of rows (`shape[0]`).
    pub rows: usize,
    /// Values per row (`shape[1]`).
    pub cols: usize,
    dtype: Dtype,
    fortran: bool,
    descr: String,
    /// Bytes of data the shape calls for.
    expected: usize,
    /// Rows converted so far.
    next_row: usize,
    /// Whether the end of the data has been checked.
    ended: bool,
}

impl<R: Read> ArrayReader<R> {
    /// Reads and checks the preamble and header. With `length` (a file's size), the shape is
    /// checked against it before anything is allocated; without it (a pipe), a stream that ends
    /// early or runs on is refused when it is read.
    pub fn open(mut reader: R, length: Option<u64>) -> Result<ArrayReader<R>, NpyError> {
        let io = |e: std::io::Error| NpyError(format!("reading the .npy file: {e}"));
        let preamble = read_up_to(&mut reader, 8).map_err(io)?;
        if !preamble.starts_with(MAGIC) {
            return fail("not a .npy file (it does not start with \\x93NUMPY)");
        }
        let [_, _, _, _, _, _, major, minor] = preamble[..] else {
            return fail("truncated .npy file: it ends inside the preamble");
        };
        let length_bytes = match (major, minor) {
            (1, 0) => 2,
            (2 | 3, 0) => 4,
            _ => {
                return fail(format!(
                    ".npy format version {major}.{minor} is not supported (numpy writes 1.0, 2.0 and 3.0)"
                ));
            }
        };
        let length_field = read_up_to(&mut reader, length_bytes).map_err(io)?;
        let header_len = match length_field[..] {
            [a, b] => usize::from(u16::from_le_bytes([a, b])),
            [a, b, c, d] => usize::try_from(u32::from_le_bytes([a, b, c, d])).unwrap_or(usize::MAX),
            _ => return fail("truncated .npy file: it ends inside the preamble"),
        };
        if header_len > MAX_HEADER_LEN {
            return fail(format!(
                "the .npy header is {header_len} bytes long, more than numpy reads by default \
                 ({MAX_HEADER_LEN}); a 2-D numeric array's header is about 128 bytes"
            ));
        }
        let raw_header = read_up_to(&mut reader, header_len).map_err(io)?;
        if raw_header.len() < header_len {
            return fail(format!(
                "truncated .npy file: the header is {header_len} bytes long but the file ends after {} \
                 bytes of it",
                raw_header.len()
            ));
        }
        if std::str::from_utf8(&raw_header).is_err() {
            return fail(format!(
                "the .npy header (format {major}.0) is not valid UTF-8 (numpy writes ASCII)"
            ));
        }
        check_brackets(&raw_header)?;
        let data_start = 8 + length_bytes + header_len;
        let whole: Vec<u8> = [&preamble[..], &length_field, &raw_header].concat();
        // npyz multiplies the shape unchecked (a panic where overflow checks are on): guarded.
        let parsed = crate::guard::guarded(|| npyz::NpyHeader::from_reader(&whole[..]))
            .map_err(|why| NpyError(format!("malformed .npy header: npyz failed on it ({why})")))?;
        let header = parsed.map_err(|e| {
            // A parse error spans lines and quotes the header: one line, cut short.
            let words: Vec<String> = e
                .to_string()
                .split_whitespace()
                .map(str::to_string)
                .collect();
            NpyError(format!(
                "malformed .npy header: {}",
                quoted(&words.join(" "))
            ))
        })?;
        let (dtype, descr) = match header.dtype() {
            DType::Plain(ts) => (dtype_of(&ts)?, ts.to_string()),
            other => {
                return fail(format!(
                    "dtype {} is a structured dtype, not supported; the array must hold one \
                     number per element, e.g. numpy.lib.recfunctions.structured_to_unstructured(x)",
                    quoted(&other.descr())
                ));
            }
        };
        let dims: Option<Vec<usize>> = header
            .shape()
            .iter()
            .map(|&d| usize::try_from(d).ok())
            .collect();
        let Some(dims) = dims else {
            return fail(format!(
                "the header's shape {:?} has an entry too large for this machine",
                header.shape()
            ));
        };
        let fortran_order = header.order() == npyz::Order::Fortran;
        let shape = shape_text(&dims);
        let data_text = |found: Option<u64>| match found {
            Some(n) => format!("the file has {n} bytes of data"),
            None => "a stream holds no more than fits in memory".into(),
        };
        let data_len = length.map(|l| l.saturating_sub(data_start as u64));
        let [rows, cols] = dims[..] else {
            let found = match dims.len() {
                0 => "a single value (0-D, shape ())".to_string(),
                1 => format!("1-D, shape {shape} (x.reshape(1, -1) makes it a single row)"),
                n => format!("{n}-D, shape {shape}"),
            };
            return fail(format!(
                "the array is {found}; a 2-D array (rows × features) is needed: save \
                 x.reshape(-1, k), k being the number of features"
            ));
        };
        let Some(count) = rows.checked_mul(cols) else {
            return fail(format!(
                "the header says shape {shape} of {descr}, more values than can be addressed, but {}",
                data_text(data_len)
            ));
        };
        let Some(expected) = count.checked_mul(dtype.size) else {
            return fail(format!(
                "the header says shape {shape} of {descr}, more bytes than can be addressed, but {}",
                data_text(data_len)
            ));
        };
        let array = ArrayReader {
            reader,
            rows,
            cols,
            dtype,
            fortran: fortran_order,
            descr,
            expected,
            next_row: 0,
            ended: false,
        };
        if let Some(found) = data_len
            && found != expected as u64
        {
            return Err(array.wrong_length(found));
        }
        Ok(array)
    }

    /// The shape as Python writes it.
    fn shape(&self) -> String {
        shape_text(&[self.rows, self.cols])
    }

    /// The data section is `found` bytes long, not what the shape says.
    fn wrong_length(&self, found: u64) -> NpyError {
        let why = if found < self.expected as u64 {
            "the file is truncated"
        } else {
            "nothing may follow the array"
        };
        NpyError(format!(
            "the header says shape {} of {}, {} bytes, but the file has {found} bytes of data ({why})",
            self.shape(),
            self.descr,
            self.expected
        ))
    }

    /// Converts up to `max_rows` more rows (C order), or all of them at once for an array in
    /// Fortran order, whose rows are spread over the whole data section; `None` after the last
    /// row, once the data is checked to end there.
    pub fn next_rows(&mut self, max_rows: usize) -> Result<Option<Rows>, NpyError> {
        let io = |e: std::io::Error| NpyError(format!("reading the .npy file: {e}"));
        if self.next_row >= self.rows {
            if !self.ended {
                self.ended = true;
                // The data must end where the shape says, though the size said so: a file can
                // grow. How much more there is is not counted: a growing file may not end.
                let mut rest = [0u8; 1];
                if fill(&mut self.reader, &mut rest).map_err(io)? != 0 {
                    return fail(format!(
                        "the header says shape {} of {}, {} bytes, but the file has more bytes of \
                         data than that (nothing may follow the array)",
                        self.shape(),
                        self.descr,
                        self.expected
                    ));
                }
            }
            return Ok(None);
        }
        let (rows, cols) = (self.rows, self.cols);
        let first = self.next_row;
        let fortran = self.fortran && rows > 1 && cols > 1;
        let take = if fortran {
            rows
        } else {
            max_rows.max(1).min(rows - first)
        };
        let be = self.dtype.big_endian;
        let mut body = Body {
            reader: &mut self.reader,
            rows,
            cols,
            fortran,
            first_item: first * cols,
            items: take * cols,
        };
        let mut first_overflow = None;
        let values = match (self.dtype.kind, self.dtype.size) {
            (Kind::Bool, 1) => body.convert(|_, [b]: [u8; 1]| {
                (b <= 1)
                    .then_some(f32::from(b))
                    .ok_or(format!("is the byte {b}, not a bool (0 or 1)"))
            }),
            (Kind::Uint, 1) => body.convert(|_, [b]: [u8; 1]| Ok(f32::from(b))),
            (Kind::Int, 1) => body.convert(|_, b: [u8; 1]| Ok(f32::from(i8::from_le_bytes(b)))),
            (Kind::Uint, 2) => body.convert(|_, b| Ok(f32::from(u16_of(b, be)))),
            (Kind::Int, 2) => body.convert(|_, b| Ok(f32::from(u16_of(b, be) as i16))),
            (Kind::Uint, 4) => body.convert(|_, b| Ok(u32_of(b, be) as f32)),
            (Kind::Int, 4) => body.convert(|_, b| Ok(u32_of(b, be) as i32 as f32)),
            (Kind::Uint, 8) => body.convert(|_, b| Ok(u64_of(b, be) as f32)),
            (Kind::Int, 8) => body.convert(|_, b| Ok(u64_of(b, be) as i64 as f32)),
            (Kind::Float, 2) => {
                body.convert(|_, b| Ok(half::f16::from_bits(u16_of(b, be)).to_f32()))
            }
            (Kind::Float, 4) => body.convert(|_, b| Ok(f32::from_bits(u32_of(b, be)))),
            (Kind::Float, 8) => {
                let mut overflow: Option<usize> = None;
                let values = body.convert(|at, b| {
                    let wide = f64_of(b, be);
                    let narrow = wide as f32;
                    if wide.is_finite() && narrow.is_infinite() {
                        // `at` is the row-major index in the array; keep the first.
                        overflow = Some(overflow.map_or(at, |o| o.min(at)));
                    }
                    Ok(narrow)
                });
                first_overflow =
                    overflow.and_then(|i| Some((i.checked_div(cols)?, i.checked_rem(cols)?)));
                values
            }
            _ => return fail(format!("dtype '{}' is not supported", self.descr)),
        };
        let values = match values {
            Ok(values) => values,
            Err(BodyError::Short(read)) => return Err(self.wrong_length(read)),
            Err(BodyError::Io(e)) => return Err(io(e)),
            Err(BodyError::Value(position, why)) => {
                let (row, col) = position;
                return fail(format!(
                    "the value at row {row}, column {col} (counting from 0) {why}"
                ));
            }
            Err(BodyError::Memory) => {
                return fail(format!(
                    "not enough memory for {} of the array's values",
                    take * cols
                ));
            }
        };
        self.next_row = first + take;
        Ok(Some(Rows {
            first_row: first,
            rows: take,
            values,
            first_overflow,
        }))
    }
}

/// The data are converted this many bytes at a time (a multiple of every item size).
const BLOCK: usize = 64 << 10;

/// Up to `n` bytes of `reader`: fewer only at its end.
fn read_up_to(reader: &mut impl Read, n: usize) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(n.min(MAX_HEADER_LEN));
    reader.take(n as u64).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The data section of an array being read, and what was found in it.
struct Body<'a, R> {
    reader: &'a mut R,
    rows: usize,
    cols: usize,
    /// Whether the items are in column-major order (and all of them are read at once).
    fortran: bool,
    /// The item to start at (in storage order) and how many to convert.
    first_item: usize,
    items: usize,
}

/// Why the data section could not be converted.
enum BodyError {
    /// The reader ended after this many bytes of data.
    Short(u64),
    Io(std::io::Error),
    /// The value at this `(row, column)` is not one of its type, and why.
    Value((usize, usize), String),
    Memory,
}

impl<R: Read> Body<'_, R> {
    /// Converts `items` items of `N` bytes from `first_item` on to row-major values. `convert`
    /// gets each item's row-major index in the array with its bytes.
    fn convert<const N: usize>(
        &mut self,
        mut convert: impl FnMut(usize, [u8; N]) -> Result<f32, String>,
    ) -> Result<Vec<f32>, BodyError> {
        let (rows, cols) = (self.rows, self.cols);
        let count = self.items;
        let mut values = Vec::new();
        values
            .try_reserve_exact(count)
            .map_err(|_| BodyError::Memory)?;
        // Fortran order places item k at row k % rows, column k / rows: fill a zeroed matrix.
        let transposed = self.fortran;
        if transposed {
            values.resize(count, 0.0);
        }
        let mut block = vec![0u8; BLOCK.min(count * N).max(N)];
        let start = self.first_item;
        let mut k = start;
        while k < start + count {
            let want = ((start + count - k) * N).min(block.len());
            let got = fill(self.reader, &mut block[..want]).map_err(BodyError::Io)?;
            if got < want {
                return Err(BodyError::Short(((k * N) + got) as u64));
            }
            let (items, _) = block[..want].as_chunks::<N>();
            for &item in items {
                let (row, col) = if self.fortran {
                    (k % rows, k / rows)
                } else {
                    (k / cols, k % cols)
                };
                let at = row * cols + col;
                let value = convert(at, item).map_err(|why| BodyError::Value((row, col), why))?;
                if transposed {
                    values[at - start] = value;
                } else {
                    values.push(value);
                }
                k += 1;
            }
        }
        Ok(values)
    }
}

/// Reads until `buffer` is full or the reader ends; how many bytes were read.
fn fill(reader: &mut impl Read, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buffer.len() {
        match reader.read(&mut buffer[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

fn u16_of(b: [u8; 2], big_endian: bool) -> u16 {
    if big_endian {
        u16::from_be_bytes(b)
    } else {
        u16::from_le_bytes(b)
    }
}

fn u32_of(b: [u8; 4], big_endian: bool) -> u32 {
    if big_endian {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    }
}

fn u64_of(b: [u8; 8], big_endian: bool) -> u64 {
    if big_endian {
        u64::from_be_bytes(b)
    } else {
        u64::from_le_bytes(b)
    }
}

fn f64_of(b: [u8; 8], big_endian: bool) -> f64 {
    f64::from_bits(u64_of(b, big_endian))
}

/// The most opening brackets (of any kind, in strings too) a header may hold: numpy's header
/// of a 2-D array holds 2 (the dict and the shape), with a datetime dtype 3. Counting every
/// opening bracket bounds the nesting depth however the brackets are quoted or closed; npyz's
/// parser takes time exponential in that depth (20 levels: seconds; 4 around 10,000 bytes:
/// 0.5 s) and recurses once per level.
const MAX_BRACKETS: usize = 3;

/// Refuses a header of more than [`MAX_BRACKETS`] opening brackets, before npyz parses it.
fn check_brackets(header: &[u8]) -> Result<(), NpyError> {
    let count = header
        .iter()
        .filter(|&&b| matches!(b, b'(' | b'[' | b'{'))
        .count();
    if count > MAX_BRACKETS {
        return fail(format!(
            "malformed .npy header: it holds {count} opening brackets, more than {MAX_BRACKETS} \
             (numpy's header of a 2-D numeric array holds 2; a structured dtype, refused anyway, \
             adds more)"
        ));
    }
    Ok(())
}

/// The element type of a plain dtype, or why it is refused.
fn dtype_of(ts: &TypeStr) -> Result<Dtype, NpyError> {
    let size = ts.size_field();
    let kind = match (ts.type_char(), size) {
        (TypeChar::Bool, 1) => Kind::Bool,
        (TypeChar::Int, 1 | 2 | 4 | 8) => Kind::Int,
        (TypeChar::Uint, 1 | 2 | 4 | 8) => Kind::Uint,
        (TypeChar::Float, 2 | 4 | 8) => Kind::Float,
        (kind, _) => {
            let what = match kind {
                TypeChar::Complex => "complex numbers",
                TypeChar::Object => "Python objects",
                TypeChar::ByteStr => "byte strings",
                TypeChar::UnicodeStr => "unicode strings",
                TypeChar::RawData => "raw bytes (void)",
                TypeChar::DateTime => "datetimes",
                TypeChar::TimeDelta => "timedeltas",
                TypeChar::Float => "floats of a size other than 2, 4 or 8 bytes",
                TypeChar::Int | TypeChar::Uint => {
                    "integers of a size other than 1, 2, 4 or 8 bytes"
                }
                TypeChar::Bool => "booleans of a size other than 1 byte",
                _ => "a type this reader does not know",
            };
            return fail(format!(
                "dtype '{ts}' ({what}) is not supported; the array must hold floats (f2, f4, f8), \
                 integers (i1 to i8, u1 to u8) or booleans (b1), e.g. x.astype(np.float32)"
            ));
        }
    };
    Ok(Dtype {
        kind,
        size: size as usize,
        // '|' (byte order irrelevant) is written for one-byte types only.
        big_endian: ts.endianness() == Endianness::Big,
    })
}

/// A shape as Python writes a tuple: `()`, `(4,)`, `(2, 3)`.
fn shape_text(shape: &[usize]) -> String {
    match shape {
        [n] => format!("({n},)"),
        _ => {
            let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
            format!("({})", dims.join(", "))
        }
    }
}

/// Writes a `rows × cols` array of `<f4` values in C order (format version 1, or 2 should the
/// header not fit version 1's 16-bit length), in memory: [`f32_header`] and the values.
pub fn write_f32(rows: usize, cols: usize, values: &[f32]) -> Result<Vec<u8>, NpyError> {
    let mut out = f32_header(rows, cols, values.len())?;
    let size = values.len().saturating_mul(4);
    if out.try_reserve_exact(size).is_err() {
        return fail(format!(
            "not enough memory to write {} values as .npy",
            values.len()
        ));
    }
    write_f32_values(&mut out, values).or_else(|e| fail(e.to_string()))?;
    Ok(out)
}

/// The magic, version and header of a `rows × cols` `<f4` array in C order, the data starting
/// at a multiple of 64 bytes as numpy writes it; refused when `count` values do not make that
/// shape.
pub fn f32_header(rows: usize, cols: usize, count: usize) -> Result<Vec<u8>, NpyError> {
    if rows.checked_mul(cols) != Some(count) {
        return fail(format!(
            "{count} values do not make a ({rows}, {cols}) array"
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
    let mut out = MAGIC.to_vec();
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
    Ok(out)
}

/// Writes `values` as little-endian `f32`, the data of an array [`f32_header`] began, a block
/// at a time.
pub fn write_f32_values(out: &mut (impl Write + ?Sized), values: &[f32]) -> std::io::Result<()> {
    let mut block = Vec::with_capacity(BLOCK);
    for chunk in values.chunks(BLOCK / 4) {
        block.clear();
        block.extend(chunk.iter().flat_map(|v| v.to_le_bytes()));
        out.write_all(&block)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A version-`major` file with the given header dict (padded as numpy does) and `data`.
    fn file_v(major: u8, dict: &str, data: &[u8]) -> Vec<u8> {
        let preamble = if major == 1 { 10 } else { 12 };
        let mut header = dict.to_string();
        while !(preamble + header.len() + 1).is_multiple_of(ALIGN) {
            header.push(' ');
        }
        header.push('\n');
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&[major, 0]);
        if major == 1 {
            out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        } else {
            out.extend_from_slice(&(header.len() as u32).to_le_bytes());
        }
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out
    }

    /// A version 1.0 file.
    fn file(dict: &str, data: &[u8]) -> Vec<u8> {
        file_v(1, dict, data)
    }

    /// A C-order header dict of `descr` and `shape`.
    fn dict(descr: &str, shape: &str) -> String {
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}")
    }

    /// Reads a `shape` array of `descr` made of `data`.
    fn read_as(descr: &str, shape: &str, data: &[u8]) -> Matrix {
        read(&file(&dict(descr, shape), data)).unwrap_or_else(|e| panic!("{descr} {shape}: {e}"))
    }

    fn check_err(bytes: &[u8], expected: &str) {
        let err = read(bytes).unwrap_err().to_string();
        assert!(
            err.contains(expected),
            "{err:?} should mention {expected:?}"
        );
    }

    fn same(a: &[f32], b: &[f32]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
    }

    #[test]
    fn f32_round_trips_through_writer_and_reader() {
        let values = [1.5f32, -0.0, f32::NAN, f32::INFINITY, 3.25, -7.0];
        let bytes = write_f32(2, 3, &values).unwrap();
        assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
        let header_len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
        assert_eq!((10 + header_len) % ALIGN, 0, "data is aligned");
        let m = read(&bytes).unwrap();
        assert_eq!((m.rows, m.cols, m.first_overflow), (2, 3, None));
        assert!(same(&m.values, &values));
        assert_eq!(m.first_non_finite(), Some((0, 2)));
    }

    #[test]
    fn a_file_numpy_wrote_is_read() {
        // np.save of np.arange(6, dtype='<f8').reshape(2, 3) by numpy 1.26: 128 header bytes.
        let dict = b"{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }";
        let mut bytes = b"\x93NUMPY\x01\x00\x76\x00".to_vec();
        bytes.extend_from_slice(dict);
        bytes.resize(127, b' ');
        bytes.push(b'\n');
        assert_eq!(bytes.len(), 128);
        for v in 0..6 {
            bytes.extend_from_slice(&f64::from(v).to_le_bytes());
        }
        let m = read(&bytes).unwrap();
        assert_eq!((m.rows, m.cols), (2, 3));
        assert_eq!(m.values, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!((m.first_overflow, m.first_non_finite()), (None, None));
    }

    #[test]
    fn floats_of_each_size_and_byte_order_are_read() {
        let f4 = [1.5f32, -0.0, f32::MIN_POSITIVE, f32::MAX];
        let le: Vec<u8> = f4.iter().flat_map(|v| v.to_le_bytes()).collect();
        let be: Vec<u8> = f4.iter().flat_map(|v| v.to_be_bytes()).collect();
        assert!(same(&read_as("<f4", "(2, 2)", &le).values, &f4));
        assert!(same(&read_as(">f4", "(2, 2)", &be).values, &f4));

        let f8 = [0.1f64, 2.0, -3.5, 1e-50];
        let expected = [0.1f32, 2.0, -3.5, 0.0];
        let le: Vec<u8> = f8.iter().flat_map(|v| v.to_le_bytes()).collect();
        let be: Vec<u8> = f8.iter().flat_map(|v| v.to_be_bytes()).collect();
        assert!(same(&read_as("<f8", "(1, 4)", &le).values, &expected));
        assert!(same(&read_as(">f8", "(4, 1)", &be).values, &expected));

        // 1, -2, 65504, the smallest and largest subnormals, 1/3, -0, inf, NaN.
        let f2: [u16; 9] = [
            0x3c00, 0xc000, 0x7bff, 0x0001, 0x03ff, 0x3555, 0x8000, 0x7c00, 0x7e00,
        ];
        let expected = [
            1.0,
            -2.0,
            65504.0,
            f32::from_bits(0x3380_0000),
            1023.0 * f32::from_bits(0x3380_0000),
            f32::from_bits(0x3eaa_a000),
            -0.0,
            f32::INFINITY,
            f32::from_bits(0x7fc0_0000),
        ];
        let le: Vec<u8> = f2.iter().flat_map(|v| v.to_le_bytes()).collect();
        let be: Vec<u8> = f2.iter().flat_map(|v| v.to_be_bytes()).collect();
        assert!(same(&read_as("<f2", "(3, 3)", &le).values, &expected));
        assert!(same(&read_as(">f2", "(3, 3)", &be).values, &expected));
        assert_eq!(f32::from_bits(0x3eaa_a000), 1365.0 / 4096.0);
    }

    #[test]
    fn f64_rounds_to_nearest_and_overflow_is_located() {
        // 2^128 - 2^103 is halfway between f32::MAX and 2^128: it rounds (to even) to infinity;
        // one f64 step below it rounds to f32::MAX.
        let halfway = 2f64.powi(128) - 2f64.powi(103);
        let below = halfway - 2f64.powi(75);
        let f8 = [below, f64::INFINITY, f64::NAN, -1e300, halfway, 1.0];
        let data: Vec<u8> = f8.iter().flat_map(|v| v.to_le_bytes()).collect();
        let m = read_as("<f8", "(3, 2)", &data);
        assert_eq!(m.values[0], f32::MAX);
        assert_eq!(m.values[3], f32::NEG_INFINITY);
        assert_eq!(m.values[4], f32::INFINITY);
        assert_eq!(m.first_overflow, Some((1, 1)), "not the infinity at (0, 1)");
        assert_eq!(m.first_non_finite(), Some((0, 1)));

        let no_overflow = [f64::INFINITY, f64::NAN, f64::from(f32::MAX), below];
        let data: Vec<u8> = no_overflow.iter().flat_map(|v| v.to_be_bytes()).collect();
        assert_eq!(read_as(">f8", "(2, 2)", &data).first_overflow, None);
    }

    #[test]
    fn integers_and_bools_of_each_size_and_byte_order_are_read() {
        let m = read_as("|i1", "(1, 3)", &[0x80, 0xff, 0x7f]);
        assert_eq!(m.values, [-128.0, -1.0, 127.0]);
        assert_eq!(m.first_overflow, None);
        assert_eq!(read_as("|u1", "(1, 2)", &[0, 255]).values, [0.0, 255.0]);
        assert_eq!(read_as("|b1", "(2, 1)", &[1, 0]).values, [1.0, 0.0]);

        let i2 = [-32768i16, 1234];
        let le: Vec<u8> = i2.iter().flat_map(|v| v.to_le_bytes()).collect();
        let be: Vec<u8> = i2.iter().flat_map(|v| v.to_be_bytes()).collect();
        assert_eq!(read_as("<i2", "(1, 2)", &le).values, [-32768.0, 1234.0]);
        assert_eq!(read_as(">i2", "(1, 2)", &be).values, [-32768.0, 1234.0]);
        let u2 = [65535u16, 7];
        let le: Vec<u8> = u2.iter().flat_map(|v| v.to_le_bytes()).collect();
        let be: Vec<u8> = u2.iter().flat_map(|v| v.to_be_bytes()).collect();
        assert_eq!(read_as("<u2", "(2, 1)", &le).values, [65535.0, 7.0]);
        assert_eq!(read_as(">u2", "(2, 1)", &be).values, [65535.0, 7.0]);

        // 2^24 + 1 is not an f32: it rounds to nearest, ties to even, as numpy's astype does.
        let i4 = [-5i32, 16_777_217, i32::MIN];
        let expected = [-5.0, 16_777_216.0, -(2f32.powi(31))];
        let le: Vec<u8> = i4.iter().flat_map(|v| v.to_le_bytes()).collect();
        let be: Vec<u8> = i4.iter().flat_map(|v| v.to_be_bytes()).collect();
        assert_eq!(read_as("<i4", "(3, 1)", &le).values, expected);
        assert_eq!(read_as(">i4", "(3, 1)", &be).values, expected);
        let u4 = [u32::MAX, 16_777_219];
        let expected = [2f32.powi(32), 16_777_220.0];
        let le: Vec<u8> = u4.iter().flat_map(|v| v.to_le_bytes()).collect();
        let be: Vec<u8> = u4.iter().flat_map(|v| v.to_be_bytes()).collect();
        assert_eq!(read_as("<u4", "(1, 2)", &le).values, expected);
        assert_eq!(read_as(">u4", "(1, 2)", &be).values, expected);

        let i8 = [i64::MIN, -3, (1 << 53) + 1];
        let expected = [-(2f32.powi(63)), -3.0, 2f32.powi(53)];
        let le: Vec<u8> = i8.iter().flat_map(|v| v.to_le_bytes()).collect();
        let be: Vec<u8> = i8.iter().flat_map(|v| v.to_be_bytes()).collect();
        assert_eq!(read_as("<i8", "(1, 3)", &le).values, expected);
        assert_eq!(read_as(">i8", "(1, 3)", &be).values, expected);
        let u8s = [u64::MAX, 0];
        let expected = [2f32.powi(64), 0.0];
        let le: Vec<u8> = u8s.iter().flat_map(|v| v.to_le_bytes()).collect();
        let be: Vec<u8> = u8s.iter().flat_map(|v| v.to_be_bytes()).collect();
        assert_eq!(read_as("<u8", "(2, 1)", &le).values, expected);
        assert_eq!(read_as(">u8", "(2, 1)", &be).values, expected);
    }

    #[test]
    fn fortran_order_is_transposed_to_rows() {
        // [[1, 2, 3], [4, 5, 6]] stored column after column.
        let data: Vec<u8> = [1.0f32, 4.0, 2.0, 5.0, 3.0, 6.0]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        let m = read(&file(
            "{'descr': '>f4', 'fortran_order': True, 'shape': (2, 3), }",
            &data,
        ))
        .unwrap();
        assert_eq!((m.rows, m.cols), (2, 3));
        assert_eq!(m.values, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);

        // The first overflow is the first in row order, not in the file's order.
        let data: Vec<u8> = [1.0f64, 1e300, -1e300, 2.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let m = read(&file(
            "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 2), }",
            &data,
        ))
        .unwrap();
        assert_eq!(m.values, [1.0, f32::NEG_INFINITY, f32::INFINITY, 2.0]);
        assert_eq!(m.first_overflow, Some((0, 1)));

        let m = read(&file(
            "{'descr': '|u1', 'fortran_order': True, 'shape': (3, 1), }",
            &[7, 8, 9],
        ))
        .unwrap();
        assert_eq!(m.values, [7.0, 8.0, 9.0]);
        check_err(
            &file(
                "{'descr': '|b1', 'fortran_order': True, 'shape': (2, 2), }",
                &[0, 1, 2, 1],
            ),
            "row 0, column 1 (counting from 0) is the byte 2, not a bool",
        );
    }

    #[test]
    fn versions_2_and_3_are_read() {
        let data: Vec<u8> = [1.0f32, 2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        let m = read(&file_v(2, &dict("<f4", "(1, 2)"), &data)).unwrap();
        assert_eq!(m.values, [1.0, 2.0]);
        let m = read(&file_v(3, &dict("<f4", "(2, 1)"), &data)).unwrap();
        assert_eq!(m.values, [1.0, 2.0]);
        let mut bad_utf8 = file_v(3, &dict("<f4", "(2, 1)"), &data);
        bad_utf8[14] = 0xff;
        check_err(&bad_utf8, "not valid UTF-8");
    }

    #[test]
    fn header_spacing_key_order_and_quotes_do_not_matter() {
        let m = read(&file(
            r#"{"shape":(1,1),"fortran_order":False,"descr":"<f4"}"#,
            &2.5f32.to_le_bytes(),
        ))
        .unwrap();
        assert_eq!(m.values, [2.5]);
        let m = read(&file(
            "{ 'fortran_order' : False ,\t'shape' : ( 1 , 1 , ) , 'descr' : '<f4' }",
            &2.5f32.to_le_bytes(),
        ))
        .unwrap();
        assert_eq!(m.values, [2.5]);
        // npyz reads Python 3's literals: Python 2's long integers are refused.
        check_err(
            &file(&dict("<f4", "(1L, 1L)"), &2.5f32.to_le_bytes()),
            "malformed .npy header",
        );
    }

    #[test]
    fn empty_arrays_are_fine() {
        let m = read(&write_f32(0, 3, &[]).unwrap()).unwrap();
        assert_eq!((m.rows, m.cols, m.values.len()), (0, 3, 0));
        let m = read_as("<f8", "(1000000000000000000, 0)", &[]);
        assert_eq!(
            (m.rows, m.cols, m.values.len()),
            (1_000_000_000_000_000_000, 0, 0)
        );
        assert_eq!((m.first_overflow, m.first_non_finite()), (None, None));
        let m = read(&file(
            "{'descr': '<f8', 'fortran_order': True, 'shape': (0, 1000000000000000000), }",
            &[],
        ))
        .unwrap();
        assert_eq!(m.values.len(), 0);
        let m = read(&file(
            "{'descr': '<f8', 'fortran_order': True, 'shape': (1000000000000000000, 0), }",
            &[],
        ))
        .unwrap();
        assert_eq!((m.rows, m.values.len()), (1_000_000_000_000_000_000, 0));
    }

    #[test]
    fn bad_preambles_are_refused() {
        let good = file(&dict("<f4", "(1, 1)"), &[0; 4]);
        check_err(b"PK\x03\x04 a zip file", "not a .npy file");
        check_err(b"", "not a .npy file");
        check_err(b"\x93NUMPY", "ends inside the preamble");
        check_err(b"\x93NUMPY\x01\x00\x10", "ends inside the preamble");
        check_err(b"\x93NUMPY\x02\x00\x10\x00\x00", "ends inside the preamble");
        let mut v9 = good.clone();
        v9[6] = 9;
        check_err(&v9, "version 9.0 is not supported");
        let mut v1_1 = good.clone();
        v1_1[7] = 1;
        check_err(&v1_1, "version 1.1 is not supported");
        let mut truncated = good.clone();
        truncated.truncate(30);
        check_err(&truncated, "the file ends after 20 bytes of it");
        let mut huge = good.clone();
        huge[8..10].copy_from_slice(&20_000u16.to_le_bytes());
        check_err(&huge, "the .npy header is 20000 bytes long");
        let mut v2 = file_v(2, &dict("<f4", "(1, 1)"), &[0; 4]);
        v2[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        check_err(&v2, "4294967295 bytes long");
    }

    #[test]
    fn header_grammar_errors_are_refused() {
        let f4 = |dict: &str| file(dict, &[0; 4]);
        let malformed = [
            "'descr': '<f4', 'fortran_order': False, 'shape': (1, 1)}",
            "{'descr' '<f4', 'fortran_order': False, 'shape': (1, 1)}",
            "{'descr': '<f4' 'fortran_order': False, 'shape': (1, 1)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1)",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1 1)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1),, }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (,)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': }",
            "{'descr': '<f4, 'fortran_order': False, 'shape': (1, 1)}",
            "{descr: '<f4', 'fortran_order': False, 'shape': (1, 1)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1)} x",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1)}}",
        ];
        for dict in malformed {
            check_err(&f4(dict), "malformed .npy header: could not parse");
        }
        let mut early_newline = f4(&dict("<f4", "(1, 1)"));
        early_newline[120] = b'\n';
        check_err(&early_newline, "malformed .npy header");
        // A parse error is one line, however long the header.
        let long = f4(&format!("{{'descr': '<f4', {}", " ".repeat(5000)));
        let err = read(&long).unwrap_err().to_string();
        assert!(!err.contains('\n') && err.len() < 400, "{err}");

        check_err(
            &f4("{'descr': '<f4', 'shape': (1, 1), }"),
            "missing key 'fortran_order'",
        );
        check_err(&f4("{}"), "missing key");
        for value in ["0", "'False'"] {
            check_err(
                &f4(&format!(
                    "{{'descr': '<f4', 'fortran_order': {value}, 'shape': (1, 1), }}"
                )),
                "'fortran_order' value is not a bool",
            );
        }
        check_err(&f4(&dict("<f4", "'(1, 1)'")), "shape must be list or tuple");
        check_err(&f4(&dict("<f4", "(-1, 1)")), "dimension cannot be negative");
        for entry in ["1.0", "True", "(1, 1)"] {
            check_err(
                &f4(&dict("<f4", &format!("({entry},)"))),
                "dimension must be an integer",
            );
        }
        check_err(
            &f4(&dict("<f4", "(99999999999999999999999, 1)")),
            "dimension cannot be larger than u64",
        );
        check_err(
            &f4("{'descr': 4, 'fortran_order': False, 'shape': (1, 1), }"),
            "malformed .npy header",
        );
    }

    #[test]
    fn headers_of_many_brackets_are_refused_before_they_are_parsed() {
        // npyz's parser takes seconds at 20 levels and overflows the stack at thousands.
        for depth in [3, 20, 4000] {
            let shape = format!("{}1{}", "(".repeat(depth), ")".repeat(depth));
            check_err(
                &file(&dict("<f4", &shape), &[0; 4]),
                &format!("it holds {} opening brackets", depth + 1),
            );
        }
        // Closing brackets in strings do not hide the opening ones: 30 levels of `(')',`.
        let hidden = format!(
            "{{'descr': '<f4', 'fortran_order': False, 'shape': {}",
            "(')',".repeat(30)
        );
        check_err(&file(&hidden, &[0; 4]), "it holds 31 opening brackets");
        check_err(&file(&dict("<f4[[", "(1, 1)"), &[0; 4]), "more than 3");
        // A datetime dtype holds 3: past this check, refused for its type.
        check_err(&file(&dict("<M8[s]", "(1, 1)"), &[0; 8]), "(datetimes)");
    }

    #[test]
    fn a_long_header_of_the_most_brackets_allowed_is_refused() {
        // The most brackets allowed, nested around the longest header allowed (its parse time
        // is measured by the fuzzer's slow-input check, not here).
        // Three opening braces, so the parse is reached: npyz's syntax error, not the guard's.
        let digits = "9".repeat(9_900);
        check_err(
            &file(&format!("{{{{{{{digits}"), &[]),
            "malformed .npy header: could not parse",
        );
    }

    #[test]
    fn shapes_whose_product_overflows_are_refused() {
        // npyz multiplies the shape unchecked; the reader checks it.
        let huge = u64::MAX / 2;
        check_err(
            &file(&dict("<f4", &format!("({huge}, {huge})")), &[]),
            "more values than can be addressed",
        );
        check_err(
            &file(&dict("<f8", &format!("({}, 1)", u64::MAX / 4)), &[]),
            "more bytes than can be addressed",
        );
        check_err(
            &file(
                &format!(
                    "{{'descr': '<f4', 'fortran_order': True, 'shape': ({huge}, {huge}, 0), }}"
                ),
                &[],
            ),
            "3-D",
        );
    }

    #[test]
    fn other_dtypes_are_refused_by_name() {
        let f4 = |descr: &str| file(&dict(descr, "(1, 1)"), &[0; 4]);
        check_err(&f4("|O"), "dtype '|O' (Python objects) is not supported");
        check_err(&f4("<c8"), "dtype '<c8' (complex numbers)");
        check_err(&f4("<U1"), "dtype '<U1' (unicode strings)");
        check_err(&f4("|S4"), "dtype '|S4' (byte strings)");
        check_err(&f4("|V4"), "(raw bytes (void))");
        check_err(&f4("<M8[s]"), "(datetimes)");
        check_err(&f4("<f16"), "(floats of a size other than 2, 4 or 8 bytes)");
        check_err(&f4("<i16"), "'<i16' has invalid size");
        check_err(&f4("float32"), "invalid type string");
        check_err(
            &file(
                "{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': False, 'shape': (1,), }",
                &[0; 8],
            ),
            "a structured dtype, refused anyway",
        );
        check_err(
            &file(&dict("|b1", "(1, 3)"), &[0, 1, 255]),
            "row 0, column 2 (counting from 0) is the byte 255, not a bool (0 or 1)",
        );
    }

    #[test]
    fn other_ranks_are_refused_with_a_reshape_hint() {
        let f4 = |shape: &str, n: usize| file(&dict("<f4", shape), &vec![0u8; n * 4]);
        check_err(
            &f4("(4,)", 4),
            "the array is 1-D, shape (4,) (x.reshape(1, -1)",
        );
        check_err(&f4("(1, 2, 2)", 4), "the array is 3-D, shape (1, 2, 2)");
        check_err(&f4("()", 1), "a single value (0-D, shape ())");
        check_err(&f4("(4,)", 4), "x.reshape(-1, k)");
    }

    #[test]
    fn a_data_section_of_the_wrong_length_is_refused() {
        let f8 = |shape: &str, n: usize| file(&dict("<f8", shape), &vec![0u8; n]);
        check_err(
            &f8("(3, 4)", 90),
            "the header says shape (3, 4) of <f8, 96 bytes, but the file has 90 bytes of data \
             (the file is truncated)",
        );
        check_err(
            &f8("(3, 4)", 97),
            "96 bytes, but the file has 97 bytes of data (nothing may follow",
        );
        check_err(&f8("(3, 4)", 0), "but the file has 0 bytes of data");
        check_err(
            &f8("(4611686018427387904, 4)", 8),
            "more values than can be addressed",
        );
        check_err(
            &f8("(2305843009213693952, 2)", 8),
            "more bytes than can be addressed",
        );
        check_err(
            &f8("(18446744073709551615, 18446744073709551615)", 8),
            "more values than can be addressed",
        );
    }

    #[test]
    fn no_input_makes_the_reader_panic() {
        let data: Vec<u8> = (0..6u8).collect();
        let good = [
            file(&dict("<f4", "(1, 1)"), &[0; 4]),
            file_v(2, &dict("<i2", "(3, 1)"), &data),
            file(
                "{'descr': '|b1', 'fortran_order': True, 'shape': (2, 3), }",
                &[0, 1, 0, 1, 0, 1],
            ),
        ];
        for bytes in &good {
            for len in 0..bytes.len() {
                let _ = read(&bytes[..len]);
            }
            for i in 0..bytes.len() {
                for b in 0..=255u8 {
                    let mut changed = bytes.clone();
                    changed[i] = b;
                    let _ = read(&changed);
                }
            }
        }
        // Valid headers with a few characters changed, and random text from the same alphabet.
        let alphabet = b"{}()[]'\",:0123456789-LTrueFalse <>fiub\\\n";
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        let valid = dict("<f4", "(2, 3)");
        for round in 0..5000 {
            let mut text = if round % 2 == 0 {
                valid.clone().into_bytes()
            } else {
                Vec::new()
            };
            let changes = if round % 2 == 0 { next(4) } else { next(80) };
            for _ in 0..=changes {
                let c = alphabet[next(alphabet.len())];
                if text.is_empty() || round % 2 == 1 {
                    text.push(c);
                } else {
                    let at = next(text.len());
                    text[at] = c;
                }
            }
            let text = String::from_utf8(text).unwrap();
            let _ = read(&file(&text, &data));
            let _ = read(&file(&text, &[0; 24]));
        }
    }

    /// A reader that hands out at most a few bytes per call, as a pipe may.
    struct Trickle<'a> {
        bytes: &'a [u8],
        calls: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.calls += 1;
            let n = (self.calls % 7 + 1).min(buf.len()).min(self.bytes.len());
            buf[..n].copy_from_slice(&self.bytes[..n]);
            self.bytes = &self.bytes[n..];
            Ok(n)
        }
    }

    #[test]
    fn a_stream_in_small_pieces_reads_as_the_bytes_do() {
        // Over 64 KiB of data in both orders, so the data cross several blocks, and every
        // item size.
        let (rows, cols) = (3000, 5);
        let f8: Vec<f64> = (0..rows * cols).map(|i| i as f64 * 0.5 - 7.0).collect();
        let f8_bytes: Vec<u8> = f8.iter().flat_map(|v| v.to_le_bytes()).collect();
        let i2_bytes: Vec<u8> = (0..rows * cols)
            .flat_map(|i| (i as i16).to_be_bytes())
            .collect();
        let shape = format!("({rows}, {cols})");
        let files = [
            file(&dict("<f8", &shape), &f8_bytes),
            file(
                &format!("{{'descr': '<f8', 'fortran_order': True, 'shape': {shape}, }}"),
                &f8_bytes,
            ),
            file_v(2, &dict(">i2", &shape), &i2_bytes),
            file(&dict("|u1", "(7, 3)"), &[9; 21]),
        ];
        for bytes in &files {
            let whole = read(bytes).unwrap();
            let streamed = read_from(Trickle { bytes, calls: 0 }, bytes.len() as u64).unwrap();
            assert_eq!((whole.rows, whole.cols), (streamed.rows, streamed.cols));
            assert!(same(&whole.values, &streamed.values));
        }
        // Fortran order: the file's item k is row k % rows, column k / rows.
        let fortran = read(&files[1]).unwrap();
        assert_eq!(fortran.values[1], f8[rows] as f32);
        assert_eq!(fortran.values[cols], f8[1] as f32);
    }

    #[test]
    fn a_stream_shorter_or_longer_than_its_length_is_refused() {
        let bytes = file(&dict("<f4", "(2, 2)"), &[0; 16]);
        let short = read_from(&bytes[..bytes.len() - 3], bytes.len() as u64).unwrap_err();
        assert!(
            short
                .to_string()
                .contains("13 bytes of data (the file is truncated)"),
            "{short}"
        );
        let mut long = bytes.clone();
        long.push(0);
        let err = read_from(&long[..], bytes.len() as u64).unwrap_err();
        assert!(err.to_string().contains("nothing may follow"), "{err}");
    }

    #[test]
    fn the_first_overflow_is_the_first_in_row_major_order_in_either_order() {
        // Column-major data whose overflows come first in the file at (1, 0) but first by rows
        // at (0, 1).
        let values = [0.0f64, 1e300, 1e300, 0.0]; // Fortran: (0,0)=0, (1,0)=1e300, (0,1)=1e300
        let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let m = read(&file(
            "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 2), }",
            &data,
        ))
        .unwrap();
        assert_eq!(m.first_overflow, Some((0, 1)));
    }

    #[test]
    fn the_writer_refuses_a_mismatched_shape() {
        assert!(write_f32(2, 2, &[0.0; 3]).is_err());
        assert!(write_f32(usize::MAX, 2, &[]).is_err());
    }
}
