//! Many models of one architecture run together: per-source models (one per sensor, tenant or
//! agent, thousands of them) in one pass per layer instead of one model after another.
//!
//! [`Architecture`] (a list of [`LayerSpec`]s: sizes and any activation of the format) is what
//! every model shares; [`BatchedWeights`] holds every model's weights `[model][out][in]` and
//! biases `[model][out]`, contiguous and aligned; [`BatchedInference`] loads them (a map of
//! `"layer_<N>"` as in the Go `batched` package, or format models with
//! [`BatchedInference::from_models`]) and runs `forward` (one input per model) or
//! `forward_many` (`k` inputs per model). A forward pass with a model never loaded is an error
//! naming it, never a silent run on zero weights.
//!
//! ```
//! use instinct_batched::{Architecture, BatchedInference, LayerSpec};
//! use instinct_format::Activation;
//! use std::collections::HashMap;
//!
//! let arch = Architecture::new(vec![LayerSpec::new(3, 2, Some(Activation::Softmax))]);
//! let mut batch = BatchedInference::new(1000, arch)?.with_threads(2)?;
//! for model in 0..1000 {
//!     let weights = HashMap::from([("layer_0".to_string(), vec![0.01 * model as f32; 6])]);
//!     batch.load_weights(model, &weights)?;
//! }
//! let probabilities = batch.forward(&vec![1.0; 1000 * 3])?;
//! assert_eq!(probabilities.len(), 1000 * 2);
//! assert!((probabilities[0] + probabilities[1] - 1.0).abs() < 1e-6);
//!
//! // A model that was never loaded is an error, not a silent run with zero weights.
//! let arch = Architecture::new(vec![LayerSpec::new(3, 2, None)]);
//! let empty = BatchedInference::new(4, arch)?;
//! assert!(empty.forward(&[0.0; 12]).unwrap_err().to_string().contains("model 0"));
//! # Ok::<(), instinct_batched::BatchedError>(())
//! ```

mod aligned;
mod architecture;
mod error;
mod inference;
mod weights;

pub use architecture::{Architecture, LayerSpec};
pub use error::BatchedError;
pub use inference::BatchedInference;
pub use weights::{BatchedWeights, MAX_VALUES};
