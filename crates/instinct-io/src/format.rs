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
    /// `.parquet` (or `.pq`): a Parquet file, columns by name (the `parquet` feature).
    Parquet,
    /// `.arrow` (or `.feather`, `.ipc`): Arrow IPC, columns by name (the `arrow` feature). Read
    /// in either layout, told apart by the magic bytes; written as the IPC file layout.
    Arrow,
    /// `.arrows`: the Arrow IPC stream layout, what a pipe carries; read like [`Arrow`](Self::Arrow).
    ArrowStream,
}

impl DataFormat {
    /// Every format, in the order help texts list them.
    pub const ALL: [DataFormat; 7] = [
        DataFormat::Csv,
        DataFormat::Json,
        DataFormat::Jsonl,
        DataFormat::Npy,
        DataFormat::Parquet,
        DataFormat::Arrow,
        DataFormat::ArrowStream,
    ];

    /// The format's name, as `--input-format` takes it.
    pub fn name(self) -> &'static str {
        match self {
            DataFormat::Json => "json",
            DataFormat::Jsonl => "jsonl",
            DataFormat::Csv => "csv",
            DataFormat::Npy => "npy",
            DataFormat::Parquet => "parquet",
            DataFormat::Arrow => "arrow",
            DataFormat::ArrowStream => "arrows",
        }
    }

    /// Whether the format's columns are typed and named (Parquet, Arrow): kept columns keep
    /// their types there.
    pub fn is_columnar(self) -> bool {
        matches!(
            self,
            DataFormat::Parquet | DataFormat::Arrow | DataFormat::ArrowStream
        )
    }

    /// Whether this build reads and writes the format, or which feature of instinct-io it
    /// lacks.
    pub fn check_built(self) -> Result<(), DataError> {
        let missing = match self {
            DataFormat::Parquet if !cfg!(feature = "parquet") => "parquet",
            DataFormat::Arrow | DataFormat::ArrowStream if !cfg!(feature = "arrow") => "arrow",
            _ => return Ok(()),
        };
        Err(DataError::unreadable(format!(
            "this build cannot read or write {} files: instinct-io was built without its `{missing}` feature",
            self.name()
        )))
    }

    /// The format called `name` (case-insensitive; `ndjson` is `jsonl`, `pq` is `parquet`,
    /// `feather` and `ipc` are `arrow`).
    pub fn from_name(name: &str) -> Option<DataFormat> {
        match name.to_ascii_lowercase().as_str() {
            "json" => Some(DataFormat::Json),
            "jsonl" | "ndjson" => Some(DataFormat::Jsonl),
            "csv" => Some(DataFormat::Csv),
            "npy" => Some(DataFormat::Npy),
            "parquet" | "pq" => Some(DataFormat::Parquet),
            "arrow" | "feather" | "ipc" => Some(DataFormat::Arrow),
            "arrows" => Some(DataFormat::ArrowStream),
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
