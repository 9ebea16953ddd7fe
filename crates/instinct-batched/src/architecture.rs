//! `Architecture` and `LayerSpec`: the shape every model of a batch shares.

use crate::error::BatchedError;
use instinct_format::Activation;
use instinct_validate::ValidModel;

/// One layer's weights (row-major, `output_size × input_size`) and bias, as a format model holds
/// them.
pub(crate) type LayerParams<'a> = (Vec<f32>, &'a [f32]);

/// One dense layer: `y = activation(W·x + b)` with `W` of `output_size × input_size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerSpec {
    /// Inputs.
    pub input_size: usize,
    /// Outputs.
    pub output_size: usize,
    /// Any activation of the format (SOFTMAX across the layer's outputs), or none.
    pub activation: Option<Activation>,
}

impl LayerSpec {
    /// A layer of `input_size → output_size` with `activation`.
    pub fn new(input_size: usize, output_size: usize, activation: Option<Activation>) -> LayerSpec {
        LayerSpec {
            input_size,
            output_size,
            activation,
        }
    }

    /// Weight values (`output_size · input_size`), `None` on overflow.
    pub fn weight_count(&self) -> Option<usize> {
        self.output_size.checked_mul(self.input_size)
    }
}

/// The layers every model of a batch has, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Architecture {
    /// The layers, first to last.
    pub layers: Vec<LayerSpec>,
}

impl Architecture {
    /// An architecture of `layers`.
    pub fn new(layers: Vec<LayerSpec>) -> Architecture {
        Architecture { layers }
    }

    /// Checks that there is a layer, that every size is at least 1 and that each layer takes
    /// as many inputs as the one before gives.
    ///
    /// ```
    /// use instinct_batched::{Architecture, BatchedError, LayerSpec};
    /// use instinct_format::Activation;
    /// let arch = Architecture::new(vec![
    ///     LayerSpec::new(16, 32, Some(Activation::Relu)),
    ///     LayerSpec::new(30, 8, Some(Activation::Tanh)),
    /// ]);
    /// assert!(matches!(arch.validate(), Err(BatchedError::Disconnected { layer: 1, .. })));
    /// ```
    pub fn validate(&self) -> Result<(), BatchedError> {
        if self.layers.is_empty() {
            return Err(BatchedError::NoLayers);
        }
        for (layer, spec) in self.layers.iter().enumerate() {
            if spec.input_size == 0 || spec.output_size == 0 {
                return Err(BatchedError::EmptyLayer {
                    layer,
                    inputs: spec.input_size,
                    outputs: spec.output_size,
                });
            }
            if layer > 0 && spec.input_size != self.layers[layer - 1].output_size {
                return Err(BatchedError::Disconnected {
                    layer,
                    inputs: spec.input_size,
                    previous_outputs: self.layers[layer - 1].output_size,
                });
            }
        }
        Ok(())
    }

    /// Inputs per model (the first layer's; 0 without layers).
    pub fn input_size(&self) -> usize {
        self.layers.first().map_or(0, |l| l.input_size)
    }

    /// Outputs per model (the last layer's; 0 without layers).
    pub fn output_size(&self) -> usize {
        self.layers.last().map_or(0, |l| l.output_size)
    }

    /// The widest layer input or output.
    pub fn max_width(&self) -> usize {
        self.layers
            .iter()
            .map(|l| l.input_size.max(l.output_size))
            .max()
            .unwrap_or(0)
    }

    /// The architecture of a format model that is a chain of DOTs, each with its activation
    /// (given on the DOT, or as an ACTIVATION instruction right after a DOT without one); the
    /// error names the instruction that breaks the chain.
    pub fn from_model(valid: &ValidModel) -> Result<Architecture, BatchedError> {
        Architecture::of_model(valid, 0).map(|(arch, _)| arch)
    }

    /// The architecture of a format model that is a chain of DOTs (each DOT with its
    /// activation), with each layer's weights (row-major, `output_size × input_size`) and bias;
    /// `model` is the index errors name.
    pub(crate) fn of_model(
        valid: &ValidModel,
        model: usize,
    ) -> Result<(Architecture, Vec<LayerParams<'_>>), BatchedError> {
        let not_chain = |reason: String| BatchedError::NotADotChain { model, reason };
        let chain = valid.dot_chain().map_err(|e| {
            not_chain(format!(
                "instruction {} ({}) is not part of a chain of DOTs, each with at most one activation",
                e.index, e.kind
            ))
        })?;
        let info = valid.info();
        let layers = chain
            .iter()
            .map(|l| LayerSpec::new(l.inputs, l.outputs, l.activation))
            .collect();
        let params = chain
            .iter()
            .map(|l| (info.weights[l.slot].concat(), info.bias[l.slot].as_slice()))
            .collect();
        Ok((Architecture::new(layers), params))
    }
}

impl std::fmt::Display for LayerSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} → {}", self.input_size, self.output_size)?;
        match self.activation {
            Some(a) => write!(f, " ({a})"),
            None => write!(f, " (no activation)"),
        }
    }
}
