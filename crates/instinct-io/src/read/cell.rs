//! What every reader shares: the rows it returns ([`Batch`]), how strict it is
//! ([`ReadOptions`]), and how one cell of text becomes an f32 or a message naming it.

/// Input rows, sample after sample, `feature_size` values each.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// `rows × feature_size` values.
    pub values: Vec<f32>,
    /// Number of samples.
    pub rows: usize,
}

/// How strictly values and headers are read.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadOptions {
    /// Accept NaN and ±infinity (an empty CSV cell and a JSON `null` as NaN).
    pub allow_nonfinite: bool,
    /// Whether a CSV's first row is a header; `None` detects it.
    pub header: Option<bool>,
    /// Rows per chunk; `None` for as many as fit in 4 MiB of values (at most 65,536).
    pub chunk_rows: Option<usize>,
}

/// What the user can do about a non-finite value.
pub(super) const ALLOW_HINT: &str = "pass --allow-nonfinite to let NaN and infinities through";

/// One value as read from text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Cell {
    /// A finite f32.
    Finite(f32),
    /// NaN or an infinity, spelled as such (`NaN`, `inf`, `-Infinity`), or a missing value.
    NonFinite(f32),
    /// A finite number too large for f32 (`1e39`, `1e999`).
    OutOfRange,
    /// Not a number at all.
    NotANumber,
}

/// Parses a CSV field (fast-float2: the grammar of Rust's `f32::from_str`, straight from the
/// bytes). It takes `nan`, `inf`, `infinity` in any case with an optional sign; any other text
/// that parses to an infinity overflowed.
pub(super) fn parse_cell(text: &[u8]) -> Cell {
    let Ok(x) = fast_float2::parse::<f32, _>(text) else {
        return Cell::NotANumber;
    };
    if x.is_finite() {
        return Cell::Finite(x);
    }
    let word = text
        .strip_prefix(b"+")
        .or_else(|| text.strip_prefix(b"-"))
        .unwrap_or(text);
    let spelled = [&b"nan"[..], b"inf", b"infinity"]
        .iter()
        .any(|w| word.eq_ignore_ascii_case(w));
    if spelled {
        Cell::NonFinite(x)
    } else {
        Cell::OutOfRange
    }
}

/// The value of `cell`, or why it is refused (`shown` is the text as the user wrote it).
pub(super) fn accept(cell: Cell, shown: &str, allow_nonfinite: bool) -> Result<f32, String> {
    match cell {
        Cell::Finite(x) => Ok(x),
        Cell::NonFinite(x) if allow_nonfinite => Ok(x),
        Cell::NonFinite(_) if shown.is_empty() => Err(format!("the cell is empty; {ALLOW_HINT}")),
        Cell::NonFinite(_) => Err(format!("{shown} is not a finite number; {ALLOW_HINT}")),
        Cell::OutOfRange => Err(format!(
            "{shown} is outside the range of 32-bit floats (±3.4028235e38)"
        )),
        Cell::NotANumber => Err(format!("{shown} is not a number")),
    }
}

/// `column 2 ("b")`, or `column 2` without a name.
pub(super) fn column_label(index: usize, name: Option<&str>) -> String {
    match name {
        Some(name) => format!("column {} ({name:?})", index + 1),
        None => format!("column {}", index + 1),
    }
}
