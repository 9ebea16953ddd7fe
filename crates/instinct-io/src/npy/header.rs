//! The `.npy` header: the dict numpy writes (`descr`, `fortran_order`, `shape` and nothing
//! else), parsed strictly by a small cursor over its text.

use super::error::{NpyError, fail, quoted};

/// The three keys of a `.npy` header.
#[derive(Debug)]
pub(super) struct Header {
    pub(super) descr: String,
    pub(super) fortran_order: bool,
    pub(super) shape: Vec<usize>,
}

/// A value in the header's Python dict literal.
#[derive(Debug)]
enum Value {
    /// A quoted string.
    Str(String),
    /// A tuple (with a comma, or empty): its text and the text of each element.
    Tuple(String, Vec<String>),
    /// Anything else, as written: `True`, `3`, `[('a', '<f4')]`, `(3)`.
    Other(String),
}

impl Value {
    /// The value as written, for a message.
    fn text(&self) -> String {
        match self {
            Value::Str(s) => format!("'{}'", quoted(s)),
            Value::Tuple(text, _) | Value::Other(text) => quoted(text),
        }
    }
}

/// Parses the header, a Python dict literal such as
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }` followed by spaces and a
/// newline. `long_suffix` accepts the `L` of Python 2's long integers in the shape.
pub(super) fn parse_header(text: &[u8], long_suffix: bool) -> Result<Header, NpyError> {
    let mut p = Cursor { text, pos: 0 };
    let (mut descr, mut fortran_order, mut shape) = (None, None, None);
    p.expect(b'{', "'{' opening the header dict")?;
    loop {
        p.skip_space();
        if p.eat(b'}') {
            break;
        }
        let key = p.string("a quoted key")?;
        p.skip_space();
        p.expect(b':', "':' after the key")?;
        p.skip_space();
        let value = p.value()?;
        let slot = match key.as_str() {
            "descr" => &mut descr,
            "fortran_order" => &mut fortran_order,
            "shape" => &mut shape,
            _ => {
                return fail(format!(
                    "the .npy header has the key '{}'; numpy writes exactly 'descr', \
                     'fortran_order' and 'shape'",
                    quoted(&key)
                ));
            }
        };
        if slot.replace(value).is_some() {
            return fail(format!("the .npy header has the key '{key}' twice"));
        }
        p.skip_space();
        if !p.eat(b',') {
            p.skip_space();
            p.expect(b'}', "',' or '}' after a value")?;
            break;
        }
    }
    // numpy pads the dict with spaces and ends it with a newline.
    while p.eat(b' ') {}
    match p.peek() {
        Some(b'\n') if p.pos + 1 == text.len() => {}
        Some(b'\n') => return p.malformed("text after the newline ending the header"),
        Some(_) => return p.malformed("text after the dict"),
        None => return fail("the .npy header does not end with a newline"),
    }

    let missing: Vec<&str> = [
        ("'descr'", descr.is_none()),
        ("'fortran_order'", fortran_order.is_none()),
        ("'shape'", shape.is_none()),
    ]
    .iter()
    .filter_map(|&(key, missing)| missing.then_some(key))
    .collect();
    let (Some(descr), Some(fortran_order), Some(shape)) = (descr, fortran_order, shape) else {
        return fail(format!(
            "the .npy header lacks {}; numpy writes 'descr', 'fortran_order' and 'shape'",
            missing.join(" and ")
        ));
    };
    let descr = match descr {
        Value::Str(s) => s,
        Value::Other(text) if text.starts_with('[') => {
            return fail(format!(
                "dtype {} is a structured dtype, which is not supported; save a plain numeric \
                 array (e.g. numpy.lib.recfunctions.structured_to_unstructured(x))",
                quoted(&text)
            ));
        }
        other => {
            return fail(format!(
                "the .npy header's descr is {}, not a dtype string such as '<f4'",
                other.text()
            ));
        }
    };
    let fortran_order = match fortran_order {
        Value::Other(text) if text == "True" => true,
        Value::Other(text) if text == "False" => false,
        other => {
            return fail(format!(
                "the .npy header's fortran_order is {}, not True or False",
                other.text()
            ));
        }
    };
    let shape = match shape {
        Value::Tuple(text, entries) => entries
            .iter()
            .map(|entry| dimension(entry, &text, long_suffix))
            .collect::<Result<Vec<usize>, NpyError>>()?,
        other => {
            return fail(format!(
                "the .npy header's shape is {}, not a tuple of integers",
                other.text()
            ));
        }
    };
    Ok(Header {
        descr,
        fortran_order,
        shape,
    })
}

/// One entry of the shape tuple `shape`: a decimal integer without leading zeros.
fn dimension(entry: &str, shape: &str, long_suffix: bool) -> Result<usize, NpyError> {
    let digits = if long_suffix {
        entry.strip_suffix('L').unwrap_or(entry)
    } else {
        entry
    };
    let is_integer = |s: &str| {
        !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()) && (s == "0" || !s.starts_with('0'))
    };
    if !is_integer(digits) {
        let shape = quoted(shape);
        return if entry.strip_prefix('-').is_some_and(is_integer) {
            fail(format!(
                "the .npy header's shape {shape} has a negative entry, {entry}"
            ))
        } else {
            fail(format!(
                "the .npy header's shape {shape} has the entry {}, not a non-negative integer",
                quoted(entry)
            ))
        };
    }
    digits.parse().or_else(|_| {
        fail(format!(
            "the .npy header's shape {} has the entry {digits}, which is too large",
            quoted(shape)
        ))
    })
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

    /// Skips the blanks between tokens (the header is one line).
    fn skip_space(&mut self) {
        while self.peek().is_some_and(|c| c == b' ' || c == b'\t') {
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

    /// The bytes from `start` to here.
    fn since(&self, start: usize) -> String {
        String::from_utf8_lossy(self.text.get(start..self.pos).unwrap_or_default()).into_owned()
    }

    /// A grammar error here, naming what was expected or found.
    fn malformed<T>(&self, what: &str) -> Result<T, NpyError> {
        let header = String::from_utf8_lossy(self.text);
        fail(format!(
            "malformed .npy header: {what} at byte {} of {:?}",
            self.pos,
            quoted(header.trim_end())
        ))
    }

    fn expect(&mut self, c: u8, what: &str) -> Result<(), NpyError> {
        if self.eat(c) {
            Ok(())
        } else {
            self.malformed(&format!("expected {what}"))
        }
    }

    /// A quoted string without escapes (numpy's keys and dtype strings have none).
    fn string(&mut self, what: &str) -> Result<String, NpyError> {
        let Some(quote @ (b'\'' | b'"')) = self.peek() else {
            return self.malformed(&format!("expected {what}"));
        };
        self.pos += 1;
        let start = self.pos;
        loop {
            match self.peek() {
                Some(c) if c == quote => break,
                Some(b'\\') => return self.malformed("an escape sequence in a string"),
                Some(b'\n') | None => return self.malformed("an unterminated string"),
                Some(_) => self.pos += 1,
            }
        }
        let s = self.since(start);
        self.pos += 1;
        Ok(s)
    }

    /// The value of a key: a string, a tuple or, as written, anything else.
    fn value(&mut self) -> Result<Value, NpyError> {
        match self.peek() {
            Some(b'\'' | b'"') => self.string("a string").map(Value::Str),
            Some(b'(') => self.tuple(),
            _ => {
                let raw = self.raw();
                if raw.is_empty() {
                    self.malformed("expected a value")
                } else {
                    Ok(Value::Other(raw))
                }
            }
        }
    }

    /// `(a, b)`, `(a,)`, `()` or `(a)` (which is not a tuple in Python).
    fn tuple(&mut self) -> Result<Value, NpyError> {
        let start = self.pos;
        self.pos += 1;
        let mut entries = Vec::new();
        let mut comma = false;
        loop {
            self.skip_space();
            if self.eat(b')') {
                break;
            }
            let entry = self.raw();
            if entry.is_empty() {
                return self.malformed("expected a tuple entry");
            }
            entries.push(entry);
            self.skip_space();
            if self.eat(b',') {
                comma = true;
            } else {
                self.expect(b')', "',' or ')' in a tuple")?;
                break;
            }
        }
        let text = self.since(start);
        Ok(if entries.len() == 1 && !comma {
            Value::Other(text)
        } else {
            Value::Tuple(text, entries)
        })
    }

    /// Text up to the next blank, `,` or closing bracket outside brackets and quotes.
    fn raw(&mut self) -> String {
        let start = self.pos;
        let mut depth = 0usize;
        let mut quote = None;
        while let Some(c) = self.peek() {
            match (quote, c) {
                (Some(q), _) if c == q => quote = None,
                (Some(_), _) => {}
                (None, b'\'' | b'"') => quote = Some(c),
                (None, b'(' | b'[' | b'{') => depth += 1,
                (None, b')' | b']' | b'}') if depth == 0 => break,
                (None, b')' | b']' | b'}') => depth -= 1,
                (None, b',' | b' ' | b'\t' | b'\n') if depth == 0 => break,
                (None, _) => {}
            }
            self.pos += 1;
        }
        self.since(start)
    }
}
