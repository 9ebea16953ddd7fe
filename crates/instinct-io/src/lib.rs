//! Rows of numbers in and out of instinct models: CSV, JSON, JSON Lines, NPY, Parquet and Arrow
//! IPC inputs (the last two with the `parquet` and `arrow` features) read in chunks of f32 rows
//! in a model's feature order (columns matched by name where the input has names, bad values
//! refused by row and column, chosen columns kept), outputs written chunk by chunk in the same
//! formats, and a pipeline that overlaps reading, computing and writing.

pub mod chunk;
pub mod columns;
pub mod error;
pub mod format;
mod guard;
pub mod npy;
pub mod pipeline;
pub mod read;
pub mod write;

pub use chunk::{Chunk, KeptColumn, rows_per_chunk};
pub use error::{DataError, DataErrorKind};
pub use format::DataFormat;
pub use pipeline::{Incoming, run_pipeline};
pub use read::{Batch, Columns, Input, ReadOptions, read_bytes, read_chunks, read_rows};
pub use write::{OutputColumns, RowWriter};
