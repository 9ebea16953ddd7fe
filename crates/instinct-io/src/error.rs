//! `DataError`: why rows could not be read or written, and whether the file or the data is at
//! fault.

use std::fmt;

/// Whether a file could not be read at all, or was read and holds data a model cannot take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataErrorKind {
    /// Missing, unreadable or malformed: the file is at fault (the CLI's exit code 2).
    Unreadable,
    /// Well formed, but a row or value is not one the model can take (exit code 1).
    Invalid,
}

/// A reading or writing failure: its kind and a message naming what and where (row, column,
/// path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataError {
    /// Whose fault it is.
    pub kind: DataErrorKind,
    /// What went wrong and where.
    pub message: String,
}

impl DataError {
    /// A row or value the model cannot take.
    pub fn invalid(message: impl fmt::Display) -> DataError {
        DataError {
            kind: DataErrorKind::Invalid,
            message: message.to_string(),
        }
    }

    /// A file that cannot be read, or is malformed.
    pub fn unreadable(message: impl fmt::Display) -> DataError {
        DataError {
            kind: DataErrorKind::Unreadable,
            message: message.to_string(),
        }
    }

    /// The same error with `place` (e.g. a path) before its message.
    pub fn at(self, place: impl fmt::Display) -> DataError {
        DataError {
            kind: self.kind,
            message: format!("{place}: {}", self.message),
        }
    }
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DataError {}
