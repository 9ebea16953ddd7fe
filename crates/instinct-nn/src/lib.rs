//! instinct: load, validate and run small neural networks in the instruction-based JSON format of
//! `instmodel_inference` and the Python `instmodel` exporter.
//!
//! [`Model::load`] reads a file, checks every rule (reporting all problems at once, each with its
//! JSON path), compiles the model and checks it reproduces its own `validation_data`.
//!
//! Features: `onnx` and `train` (on by default) add ONNX import and training; `wgsl` adds
//! the WGSL code generation (naga) and `gpu` the wgpu runtime, which
//! [`EngineChoice::Gpu`] runs on (without it, that choice is [`RunError::Unavailable`]). The
//! default build compiles no GPU stack.
//!
//! ```
//! use instinct::Model;
//! let model = Model::from_json_str(r#"{
//!     "features": ["x1", "x2"],
//!     "buffer_sizes": [2, 2, 1],
//!     "instructions": [
//!         {"type": "DOT", "input": 0, "output": 1, "weights": 0, "activation": "RELU"},
//!         {"type": "DOT", "input": 1, "output": 2, "weights": 1, "activation": "SIGMOID"}
//!     ],
//!     "weights": [[[2.0, 0.5], [-2.0, -0.5]], [[0.5, -1.0]]],
//!     "bias": [[0.25, -0.25], [2.0]]
//! }"#)?;
//! let p = model.predict_single(&[1.0, -1.0])?;
//! // hidden = relu([2·1 + 0.5·(-1) + 0.25, -2·1 - 0.5·(-1) - 0.25]) = [1.75, 0]
//! // output = sigmoid(0.5·1.75 + 2) = sigmoid(2.875)
//! assert!((p - 1.0 / (1.0 + (-2.875f32).exp())).abs() < 1e-6);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub use instinct_batched as batched;
pub use instinct_cpu as cpu;
pub use instinct_format as format;
/// The wgpu runtime (feature `gpu`).
#[cfg(feature = "gpu")]
pub use instinct_gpu as gpu;
pub use instinct_kernels as kernels;
/// ONNX import (feature `onnx`).
#[cfg(feature = "onnx")]
pub use instinct_onnx as onnx;
pub use instinct_quant as quant;
/// Training (feature `train`).
#[cfg(feature = "train")]
pub use instinct_train as train;
pub use instinct_validate as validate;
/// WGSL code generation, validated by naga (feature `wgsl`).
#[cfg(feature = "wgsl")]
pub use instinct_wgsl as wgsl;

pub use choice::{EngineChoice, MAX_THREADS};
pub use engines::batched::BatchedRunner;
pub use engines::cpu::{STATIC_SHAPES, static_net_note};
pub use instinct_cpu::{
    Dense, Interpreter, Mlp1, Mlp2, Mlp3, ParallelOutput, PredictConfig, PredictError, StaticError,
    StaticNet,
};
pub use instinct_format::{
    Activation, FormatError, IdMap, Instruction, Limits, ModelBuilder, ModelInfo, ValidationData,
    from_logistic_regression,
};
pub use instinct_quant::{QuantizeError, QuantizeOptions, QuantizeReport, RangeMethod};
pub use instinct_validate::{Diagnostic, DiagnosticKind, Diagnostics, Layout, ValidModel};
pub use model::{LoadError, Model};
pub use runner::{RunError, Runner};

mod choice;
mod engines;
pub mod labels;
mod model;
mod runner;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
