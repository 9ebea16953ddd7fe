//! The instmodel-compatible model description: serde types for the JSON format, a builder,
//! feature-name parsing and `from_logistic_regression`.
//!
//! This is the only crate that knows the JSON shape of a model. Nothing here checks that a model
//! makes sense; `instinct-validate` turns a [`ModelInfo`] into a model an executor accepts.
//!
//! ```
//! use instinct_format::ModelInfo;
//! let json = r#"{"features": ["a", "b"], "buffer_sizes": [2, 1],
//!   "instructions": [{"type": "DOT", "input": 0, "output": 1, "weights": 0, "activation": "SIGMOID"}],
//!   "weights": [[[0.5, -0.3]]], "bias": [[0.1]]}"#;
//! let info = ModelInfo::from_json_str(json).unwrap();
//! assert_eq!(ModelInfo::from_json_str(&info.to_json_string()).unwrap(), info);
//! ```

mod builder;
mod error;
mod features;
mod instruction;
mod json;
mod limits;
mod model;
mod quantization;
mod write;

pub use builder::{ModelBuilder, from_logistic_regression};
pub use error::FormatError;
pub use features::{expand_feature_names, feature_width};
pub use instinct_kernels::Activation;
pub use instruction::{Instruction, ReadField, WriteKind};
pub use json::read_limited;
pub use limits::Limits;
pub use model::{ClassLabel, IdMap, ModelInfo, ValidationData};
pub use quantization::{
    ActivationMode, ExpectedError, INT8_SCHEME, Int8Values, KeptSlot, MAX_INT8_INPUTS,
    Quantization, QuantizedSlot,
};
pub use write::{write_atomically, write_atomically_with};
