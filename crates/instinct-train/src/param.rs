//! `Param`: a trainable tensor with an identity, so that gradients and optimiser state find it.

use crate::tensor::Tensor;
use std::sync::atomic::{AtomicU64, Ordering};

/// The identity of a parameter: unique in the process, kept by clones (a clone is the same
/// parameter at another moment, as in a checkpoint of the best epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParamId(u64);

static NEXT: AtomicU64 = AtomicU64::new(0);

/// A trainable tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    id: ParamId,
    name: String,
    value: Tensor,
}

impl Param {
    /// A new parameter named `name` (for checkpoints and messages) holding `value`.
    pub fn new(name: impl Into<String>, value: Tensor) -> Param {
        Param {
            id: ParamId(NEXT.fetch_add(1, Ordering::Relaxed)),
            name: name.into(),
            value,
        }
    }

    /// Its identity.
    pub fn id(&self) -> ParamId {
        self.id
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its value.
    pub fn value(&self) -> &Tensor {
        &self.value
    }

    /// Whether weight decay (an L2 penalty or AdamW's decoupled decay) applies to it: to weight
    /// matrices and kernels (two or more dimensions), not to biases and normalisation scales
    /// and shifts, as scikit-learn's `alpha` and Keras' `kernel_regularizer` do.
    pub fn decays(&self) -> bool {
        self.value.shape().len() >= 2
    }

    /// Its value, to update in place.
    pub fn value_mut(&mut self) -> &mut Tensor {
        &mut self.value
    }
}
