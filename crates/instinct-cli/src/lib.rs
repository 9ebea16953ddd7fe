//! The reading side of the `instinct` command as a library: input rows from CSV, JSON and NPY
//! files, and the failures with their exit codes. The binary uses it; so does the fuzz harness
//! (`fuzz/`), which feeds it hostile bytes.

pub mod data_format;
pub mod failure;
pub mod input;
pub mod npy;
