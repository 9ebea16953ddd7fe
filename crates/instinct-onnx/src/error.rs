//! `OnnxError`: why a file is not imported: unreadable, not ONNX, or a graph with nodes the
//! format cannot express (every one listed).

use std::fmt;

/// One node (or part of the graph) the import refuses, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The operator (`Gemm`, `ai.onnx.ml:Normalizer`), or `graph` / `initializer`.
    pub op: String,
    /// The node's (or initializer's) name.
    pub name: String,
    /// Why.
    pub why: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?}: {}", self.op, self.name, self.why)
    }
}

/// Why an ONNX file was not imported.
#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    /// The file cannot be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The bytes are not an ONNX model (truncated, corrupted, another format).
    #[error("not an ONNX model: {0}")]
    Decode(String),
    /// The graph has nodes the format cannot express.
    #[error("the graph cannot be converted:\n{}", .0.iter().map(|r| format!("  {r}")).collect::<Vec<_>>().join("\n"))]
    Unsupported(Vec<Refusal>),
    /// The converted model does not validate (a bug of the importer if it ever happens).
    #[error("the converted model is not valid: {0}")]
    Invalid(String),
}
