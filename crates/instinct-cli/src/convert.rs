//! `instinct convert`: an ONNX model to a validated model file (instinct-onnx), written
//! atomically; what the graph holds that the format cannot express is listed, node by node, and
//! a model that needs instinct's format extensions says so.

use crate::failure::{Failure, Outcome};
use anyhow::anyhow;
use instinct::onnx::OnnxError;
use std::io::Write;
use std::path::Path;

/// Converts `model` and writes `output`.
pub fn run(model: &Path, output: &Path) -> Outcome {
    let info = instinct::onnx::import(model).map_err(|e| match e {
        OnnxError::Io { .. } => Failure::unreadable(e),
        OnnxError::Decode(_) => Failure::unreadable(anyhow!("{}: {e}", model.display())),
        e => Failure::invalid(anyhow!("{}: {e}", model.display())),
    })?;
    info.save(output)
        .map_err(|e| Failure::unreadable(anyhow!("{}: {e}", output.display())))?;
    let _ = writeln!(
        std::io::stderr(),
        "wrote {}: {} inputs, {} outputs, {} instructions",
        output.display(),
        info.buffer_sizes.first().copied().unwrap_or(0),
        info.buffer_sizes.last().copied().unwrap_or(0),
        info.instructions.len()
    );
    let mut extensions: Vec<&str> = info
        .instructions
        .iter()
        .filter_map(|i| i.activation().filter(|a| a.is_extension()))
        .map(|a| a.name())
        .collect();
    extensions.sort_unstable();
    extensions.dedup();
    if !extensions.is_empty() {
        let _ = writeln!(
            std::io::stderr(),
            "note: it uses instinct's format extensions ({}), which instmodel_inference cannot load (docs/FORMAT.md)",
            extensions.join(", ")
        );
    }
    Ok(())
}
