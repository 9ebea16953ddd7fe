//! Rows of numbers in and out of instinct models: CSV, JSON and NPY files read into f32 rows in
//! a model's feature order (columns matched by name where the file has names, bad values refused
//! by row and column), and the outputs written back in each format.

pub mod error;
pub mod format;
pub mod npy;
pub mod read;

pub use error::{DataError, DataErrorKind};
pub use format::DataFormat;
pub use read::{Batch, Columns, ReadOptions, read_bytes, read_rows};
