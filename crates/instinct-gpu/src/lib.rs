//! instinct-gpu: models on any GPU through wgpu, running the shaders of `instinct-wgsl`.
//! [`GpuRuntime`] chooses the adapter (`WGPU_BACKEND`, `INSTINCT_GPU_ADAPTER`) and says which;
//! [`GpuRuntime::upload`] puts one or many models into one storage buffer;
//! [`GpuModels::predict_batch`] runs one invocation per sample. On Mesa's software drivers a
//! model whose shader would exceed their loop budget is refused instead of silently computing
//! garbage. [`GpuDenseNet`] runs chains of dense layers one dispatch per layer: large batches of
//! a DOT-chain model of any size, and many models of one architecture at
//! once.
//!
//! ```no_run
//! use instinct_format::{Limits, ModelInfo};
//! let info = ModelInfo::from_json_str(r#"{"feature_size": 2, "buffer_sizes": [2, 1],
//!   "instructions": [{"type": "DOT", "input": 0, "output": 1, "weights": 0}],
//!   "weights": [[[0.5, -0.25]]], "bias": [[0.1]]}"#).unwrap();
//! let model = instinct_validate::validate(&info, &Limits::default()).unwrap();
//! let gpu = instinct_gpu::GpuRuntime::new()?;
//! println!("running on {}", gpu.description());
//! let models = gpu.load(&model)?;
//! let out = models.predict_batch(0, &[1.0, 2.0, 3.0, 4.0])?;
//! assert_eq!(out.len(), 2);
//! # Ok::<(), instinct_gpu::GpuError>(())
//! ```

mod dense;
mod device;
mod error;
mod runtime;
mod stepped;

pub use dense::GpuDenseNet;
pub use error::GpuError;
pub use instinct_wgsl::Mode;
pub use runtime::{GpuModels, GpuOptions, GpuRuntime};
pub use wgpu;
