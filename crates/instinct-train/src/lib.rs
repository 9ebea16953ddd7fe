//! instinct-train: small networks trained natively. [`Tensor`]s, define-by-run autograd on a
//! [`Tape`] whose arithmetic goes through a [`Backend`] ([`CpuBackend`], fast;
//! [`ReferenceBackend`], naive and the test oracle), layers ([`nn`]), optimisers ([`optim`]), a
//! training loop ([`fit`]) and export to the model format ([`export`]).
//!
//! ```
//! use instinct_train::{CpuBackend, Param, Tape, Tensor};
//! use std::sync::Arc;
//! let w = Param::new("w", Tensor::new(&[1, 2], vec![0.5, -1.0]).unwrap());
//! let tape = Tape::new(Arc::new(CpuBackend));
//! let x = tape.constant(Tensor::new(&[1, 2], vec![2.0, 3.0]).unwrap());
//! let y = x.linear(tape.param(&w), None).unwrap(); // 0.5·2 − 1·3 = −2
//! let loss = y.mse(&Tensor::new(&[1, 1], vec![0.0]).unwrap()).unwrap();
//! let grads = tape.backward(loss).unwrap();
//! // d(y²)/dw = 2y·x = (−8, −12)
//! assert_eq!(grads.of(&w).unwrap().data(), &[-8.0, -12.0]);
//! ```

mod backend;
pub mod checkpoint;
mod cpu;
pub mod data;
mod error;
pub mod export;
pub mod import;
pub mod nn;
pub mod optim;
mod param;
mod rng;
mod spatial;
mod tape;
mod tensor;
mod train;

pub use backend::{Backend, ConvGeometry, ReferenceBackend, Unary};
pub use cpu::CpuBackend;
pub use error::TrainError;
pub use param::{Param, ParamId};
pub use rng::Rng;
pub use spatial::BatchStats;
pub use tape::{Epsilon, Gradients, Tape, Var};
pub use tensor::Tensor;
pub use train::{
    EpochReport, History, OptimizerKind, TrainConfig, accuracy, evaluate, fit, mse, predict, r2,
};
