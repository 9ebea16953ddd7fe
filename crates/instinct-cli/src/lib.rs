//! The `instinct` command's shared part as a library: failures with their exit codes and model
//! loading. The binary uses it; so does the fuzz harness (`fuzz/`), which feeds it hostile bytes.

pub mod failure;
