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
mod labels;

pub mod proto;

pub use error::{OnnxError, Refusal};
use instinct_format::{Limits, ModelInfo};
use prost::Message;
use std::path::Path;

/// The format model of the ONNX model in `bytes`, validated, with the default [`Limits`].
pub fn import_bytes(bytes: &[u8]) -> Result<ModelInfo, OnnxError> {
    import_bytes_with_limits(bytes, &Limits::default())
}

/// The format model of the ONNX model in `bytes`, validated. `limits` bound the work before
/// anything large is allocated: the file size (before decoding), every initializer and the
/// running total of constant elements (before each is decoded), and the weight, parameter,
/// buffer and instruction counts of the model as it is emitted (the walk stops at the first
/// node past one).
pub fn import_bytes_with_limits(bytes: &[u8], limits: &Limits) -> Result<ModelInfo, OnnxError> {
    if bytes.len() as u64 > limits.max_file_bytes {
        return Err(OnnxError::Decode(format!(
            "{} bytes, more than the limit of {}",
            bytes.len(),
            limits.max_file_bytes
        )));
    }
    let model = proto::ModelProto::decode(bytes).map_err(|e| OnnxError::Decode(e.to_string()))?;
    let Some(graph) = model.graph.as_ref() else {
        return Err(OnnxError::Decode("the model has no graph".to_string()));
    };
    let mut info = convert::convert(graph, limits).map_err(OnnxError::Unsupported)?;
    // A scikit-learn classifier's classes name its probability columns, as `classes_` does.
    let outputs = info.buffer_sizes.last().copied().unwrap_or(0);
    info.labels = labels::class_labels(graph, outputs);
    drop(model);
    // By value: `validate` would clone every weight.
    instinct_validate::validate_owned(info, limits)
        .map(instinct_validate::ValidModel::into_info)
        .map_err(|e| OnnxError::Invalid(e.to_string()))
}

/// The format model of the ONNX file at `path`, validated. A file over the default
/// `max_file_bytes` is refused before it is read.
pub fn import(path: impl AsRef<Path>) -> Result<ModelInfo, OnnxError> {
    let path = path.as_ref();
    let limits = Limits::default();
    let bytes =
        instinct_format::read_limited(path, limits.max_file_bytes).map_err(|e| match e {
            instinct_format::FormatError::Io { source, .. } => OnnxError::Io {
                path: path.to_path_buf(),
                source,
            },
            other => OnnxError::Decode(other.to_string()),
        })?;
    import_bytes_with_limits(&bytes, &limits)
}
