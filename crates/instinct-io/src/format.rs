//! `DataFormat`: the file formats of rows of numbers that `predict` reads and writes, chosen by
//! a file's extension.

use crate::error::DataError;
use std::path::Path;

/// A file format for rows of numbers, chosen by the file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataFormat {
    /// `.json`: `[[...], ...]` (inputs may also be `{"inputs": [[...]]}`).
    Json,
    /// `.csv`: one row per line, with an optional header.
    Csv,
    /// `.npy`: a 2-D NumPy array.
    Npy,
}

impl DataFormat {
    /// The format of `path` from its extension (case-insensitive); anything else is
    /// [`DataErrorKind::Unreadable`](crate::DataErrorKind) (the CLI's exit 2). `role` (`input`,
    /// `output`) names the file in the message.
    pub fn of(path: &Path, role: &str) -> Result<DataFormat, DataError> {
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match extension.as_deref() {
            Some("json") => Ok(DataFormat::Json),
            Some("csv") => Ok(DataFormat::Csv),
            Some("npy") => Ok(DataFormat::Npy),
            _ => Err(DataError::unreadable(format!(
                "{}: unknown {role} format; the {role} file must end in .json, .csv or .npy",
                path.display()
            ))),
        }
    }
}
