//! The CPU executors: a [`ValidModel`] compiled into a [`Plan`] of resolved steps, run one
//! sample at a time by the [`Interpreter`], or over many samples by the batch engine
//! ([`Interpreter::predict_batch`], and [`Interpreter::predict_parallel`] by default) in tiles
//! spread over threads (small sequential models run per sample as a register chain); plus
//! [`Mlp1`]/[`Mlp2`]/[`Mlp3`], tiny nets with their sizes in the type.
//!
//! Semantics: for every sample the unified memory starts zeroed, the input fills its first
//! `feature_size` values, the instructions run in order, and the output is the last buffer.
//!
//! ```
//! use instinct_format::{Activation, Limits, ModelBuilder};
//! let info = ModelBuilder::with_features(["x1", "x2"])
//!     .dense(vec![vec![0.5, -0.3]], vec![0.1], Some(Activation::Sigmoid))
//!     .build()
//!     .unwrap();
//! let model = instinct_validate::validate(&info, &Limits::default()).unwrap();
//! let interpreter = instinct_cpu::Interpreter::new(&model);
//! let y = interpreter.predict_single(&[1.0, 0.5]).unwrap();
//! assert!((y - 1.0 / (1.0 + (-0.45f32).exp())).abs() < 1e-6);
//! ```

mod batch;
mod chain;
mod error;
mod int8_run;
mod interpreter;
mod parallel;
mod plan;
mod quantized;
mod static_mlp;
mod validation_data;

pub use error::PredictError;
pub use instinct_validate::ValidModel;
pub use interpreter::Interpreter;
pub use parallel::{ParallelOutput, PredictConfig};
pub use plan::Plan;
pub use static_mlp::{Dense, Mlp1, Mlp2, Mlp3, StaticError, StaticNet};
pub use validation_data::{VALIDATION_TOLERANCE, check_validation_data};
