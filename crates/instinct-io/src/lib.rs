//! Rows of numbers in and out of instinct models: CSV, JSON and NPY files read into f32 rows in
//! a model's feature order (columns matched by name where the file has names, bad values refused
//! by row and column), and `.npy` output. (The CSV and JSON output writers are still the CLI's,
//! in `instinct-cli/src/output.rs`.)

pub mod error;
pub mod format;
pub mod npy;
pub mod read;

pub use error::{DataError, DataErrorKind};
pub use format::DataFormat;
pub use read::{Batch, Columns, ReadOptions, read_bytes, read_rows};
