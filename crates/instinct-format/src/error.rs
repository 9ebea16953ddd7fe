//! `FormatError`: everything that can go wrong reading, parsing or building a model description.

use std::path::PathBuf;

/// An error from reading, parsing, writing or building a model description.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// The file could not be read or written.
    #[error("cannot access {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The file is larger than `Limits::max_file_bytes`.
    #[error("model file is {bytes} bytes, more than the limit of {max}")]
    FileTooLarge {
        /// Size of the file.
        bytes: u64,
        /// The limit.
        max: u64,
    },
    /// Arrays and objects are nested deeper than `Limits::max_json_depth`.
    #[error("json nesting deeper than {max} levels at line {line}, column {column}")]
    TooDeep {
        /// The limit.
        max: usize,
        /// 1-based line of the opening bracket that went too deep.
        line: usize,
        /// 1-based column of that bracket.
        column: usize,
    },
    /// The text is not JSON, or not JSON of the model's shape.
    #[error("invalid model json at line {line}, column {column}: {message}")]
    Json {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the parser expected.
        message: String,
    },
    /// A feature name does not follow `name` or `name[N]`.
    #[error("invalid feature name {name:?}: {reason}")]
    InvalidFeatureName {
        /// The name as written.
        name: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// `from_logistic_regression` got a feature order that names other features than the
    /// coefficients.
    #[error("feature order {received:?} does not name the coefficients' features {expected:?}")]
    FeatureOrderMismatch {
        /// The coefficients' feature names, sorted.
        expected: Vec<String>,
        /// The order given, sorted.
        received: Vec<String>,
    },
    /// A builder was finished without a required part.
    #[error("model builder: {0}")]
    Incomplete(&'static str),
}

impl FormatError {
    pub(crate) fn from_json(e: serde_json::Error) -> FormatError {
        // serde_json's message ends with " at line L column C"; we carry the position separately.
        let full = e.to_string();
        let message = match full.rfind(" at line ") {
            Some(i) if e.line() > 0 => full[..i].to_string(),
            _ => full,
        };
        FormatError::Json {
            line: e.line(),
            column: e.column(),
            message,
        }
    }
}
