//! `QuantizedAffine`: one int8 weight slot of a plan, prepared for the level's kernel.

use instinct_kernels::fast::Kind;
use instinct_kernels::int8::{InputQuantization, Int8Layer, Int8Weights};

/// One quantised weight slot: int8 values prepared for the level's kernel, the bias, and how
/// its inputs are quantised.
#[derive(Debug, Clone)]
pub(crate) struct QuantizedAffine {
    pub weights: Int8Weights,
    pub bias: Vec<f32>,
    pub quant: InputQuantization,
}

impl QuantizedAffine {
    /// The layer with activation `kind`, as the kernels take it.
    pub(crate) fn layer(&self, kind: Kind) -> Int8Layer<'_> {
        Int8Layer {
            weights: &self.weights,
            bias: &self.bias,
            quant: self.quant,
            kind,
        }
    }
}
