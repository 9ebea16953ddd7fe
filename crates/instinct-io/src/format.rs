//! `DataFormat`: the formats of rows of numbers that `predict` reads and writes, chosen by a
//! file's extension or by name.

use crate::error::DataError;
use std::path::Path;

/// A format for rows of numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataFormat {
    /// `.json`: `[[...], ...]` or `[{...}, ...]` (inputs may also be `{"inputs": [...]}`).
    Json,
    /// `.jsonl` (or `.ndjson`): one JSON row per line, an array or an object.
    Jsonl,
    /// `.csv`: one row per line, with an optional header.
    Csv,
    /// `.npy`: a 2-D NumPy array.
    Npy,
}

impl DataFormat {
    /// Every format, in the order help texts list them.
    pub const ALL: [DataFormat; 4] = [
        DataFormat::Csv,
        DataFormat::Json,
        DataFormat::Jsonl,
        DataFormat::Npy,
    ];

    /// The format's name, as `--input-format` takes it.
    pub fn name(self) -> &'static str {
        match self {
            DataFormat::Json => "json",
            DataFormat::Jsonl => "jsonl",
            DataFormat::Csv => "csv",
            DataFormat::Npy => "npy",
        }
    }

    /// The format called `name` (case-insensitive; `ndjson` is `jsonl`).
    pub fn from_name(name: &str) -> Option<DataFormat> {
        match name.to_ascii_lowercase().as_str() {
            "json" => Some(DataFormat::Json),
            "jsonl" | "ndjson" => Some(DataFormat::Jsonl),
            "csv" => Some(DataFormat::Csv),
            "npy" => Some(DataFormat::Npy),
            _ => None,
        }
    }

    /// The format of `path` from its extension (case-insensitive); anything else is
    /// [`DataErrorKind::Unreadable`](crate::DataErrorKind) (the CLI's exit 2). `role` (`input`,
    /// `output`) names the file in the message.
    pub fn of(path: &Path, role: &str) -> Result<DataFormat, DataError> {
        let extension = path.extension().and_then(|e| e.to_str());
        extension.and_then(DataFormat::from_name).ok_or_else(|| {
            let names: Vec<String> = DataFormat::ALL
                .iter()
                .map(|f| format!(".{}", f.name()))
                .collect();
            DataError::unreadable(format!(
                "{}: unknown {role} format; the {role} file must end in {} (or give --{role}-format)",
                path.display(),
                names.join(", ")
            ))
        })
    }
}
