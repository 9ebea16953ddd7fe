//! instinct-train: small networks trained natively. [`Tensor`]s, define-by-run autograd on a
//! [`Tape`] whose arithmetic goes through a [`Backend`] ([`CpuBackend`], fast;
//! [`ReferenceBackend`], naive and the test oracle), layers ([`nn`]), optimisers ([`optim`]), a
//! training loop ([`fit`]) and export to the model format ([`export`]).
//!
//! Training a classifier on a CSV and exporting it (the example of `docs/TRAINING.md`; its own
//! process, since it changes the working directory):
//!
//! ```standalone_crate
//! use instinct_train::data::{Dataset, Standardizer, Table};
//! use instinct_train::export::{ExportSpec, Head, export};
//! use instinct_train::nn::Sequential;
//! use instinct_train::{Activation, CpuBackend, Rng, TrainConfig, fit};
//! use std::sync::Arc;
//!
//! # let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
//! # std::env::set_current_dir(&root)?;
//! let table = Table::read_csv(std::path::Path::new("fixtures/data/iris_train.csv"))?;
//! let data = Dataset::from_table(&table, "target", true, None)?;
//! let scaler = Standardizer::fit(&data.features);
//! let scaled = Dataset { features: scaler.apply(&data.features), ..data.clone() };
//! let mut net = Sequential::mlp(&[4, 16, 3], Activation::Relu, &mut Rng::new(0));
//! let history = fit(&mut net, Arc::new(CpuBackend), &scaled, &TrainConfig::default(), &mut |r| {
//!     println!("epoch {} loss {:.4}", r.epoch, r.train_loss);
//! })?;
//! let model = export(&net, &ExportSpec {
//!     feature_names: &data.feature_names,
//!     standardizer: Some(&scaler),
//!     head: Head::Softmax,
//!     output_scale: None,
//!     validation_inputs: &[],
//! })?;
//! # let dir = std::env::temp_dir().join(format!("instinct-train-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! # std::env::set_current_dir(&dir)?;
//! model.save("iris.json")?;
//! assert_eq!(history.epochs.len(), 100);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The tape on its own:
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
mod backward;
pub mod checkpoint;
mod cpu;
pub mod data;
mod error;
pub mod export;
pub mod import;
pub mod nn;
pub mod optim;
mod param;
pub mod recipe;
mod rng;
mod saved;
mod spatial;
mod table;
mod tape;
mod tensor;
mod train;
mod var;

pub use backend::{Backend, ConvGeometry, ReferenceBackend};
pub use cpu::CpuBackend;
pub use error::TrainError;
pub use instinct_format::Activation;
pub use param::{Param, ParamId};
pub use rng::Rng;
pub use spatial::BatchStats;
pub use tape::{Gradients, Tape, Var};
pub use tensor::Tensor;
pub use train::{
    EpochReport, History, OptimizerKind, TrainConfig, accuracy, evaluate, fit, mse, predict, r2,
};
pub use var::Epsilon;
