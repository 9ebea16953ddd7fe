//! instinct-onnx: ONNX graphs of multilayer perceptrons and linear models (as scikit-learn's
//! skl2onnx, `torch.onnx.export` and tf2onnx write them) converted to the instmodel format.
//! [`import`] reads a file, [`import_bytes`] bytes; the result is a validated
//! [`instinct_format::ModelInfo`]. A graph with a node the format cannot express is refused with
//! every such node listed ([`OnnxError::Unsupported`]); a truncated or corrupted file is an
//! error, never a panic. The protobuf types are generated from `proto/onnx.proto` at build time
//! (prost, with protox as the compiler).
//!
//! ```
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/onnx/keras_dense_stack.onnx");
//! let info = instinct_onnx::import(path).unwrap();
//! assert_eq!(info.buffer_sizes, vec![4, 8, 3]);
//! assert!(instinct_onnx::import_bytes(b"not an onnx file").is_err());
//! ```

mod convert;
mod error;

/// The ONNX protobuf messages (generated).
pub mod proto {
    #![allow(missing_docs, clippy::all, clippy::pedantic)]
    include!(concat!(env!("OUT_DIR"), "/onnx.rs"));
}

pub use error::{OnnxError, Refusal};
use instinct_format::{Limits, ModelInfo};
use prost::Message;
use std::path::Path;

/// The format model of the ONNX model in `bytes`, validated.
pub fn import_bytes(bytes: &[u8]) -> Result<ModelInfo, OnnxError> {
    let model = proto::ModelProto::decode(bytes).map_err(|e| OnnxError::Decode(e.to_string()))?;
    let Some(graph) = model.graph.as_ref() else {
        return Err(OnnxError::Decode("the model has no graph".to_string()));
    };
    let info = convert::convert(graph).map_err(OnnxError::Unsupported)?;
    instinct_validate::validate(&info, &Limits::default())
        .map_err(|e| OnnxError::Invalid(e.to_string()))?;
    Ok(info)
}

/// The format model of the ONNX file at `path`, validated.
pub fn import(path: impl AsRef<Path>) -> Result<ModelInfo, OnnxError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| OnnxError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    import_bytes(&bytes)
}
