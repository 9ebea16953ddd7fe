//! Layers and networks: [`Linear`], activations and [`Layer::Dropout`] as [`Layer`]s of a
//! [`Sequential`] network, which the training loop runs and [`crate::export`] writes to the
//! model format.

use crate::backend::Unary;
use crate::error::TrainError;
use crate::param::Param;
use crate::rng::Rng;
use crate::tape::{Tape, Var};
use crate::tensor::Tensor;

/// How a layer's weights start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Init {
    /// Uniform in ±√(6 / (fan_in + fan_out)) (Glorot; scikit-learn's MLP uses it).
    #[default]
    Glorot,
    /// Uniform in ±√(6 / fan_in) (He; for ReLU-like activations).
    He,
}

/// A dense layer: `y = x · Wᵀ + b`, `W` stored `[outputs, inputs]` as the format stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct Linear {
    /// `[outputs, inputs]`.
    pub weight: Param,
    /// `[outputs]`.
    pub bias: Param,
}

impl Linear {
    /// A layer of `inputs → outputs`, weights drawn from `init`, biases zero.
    pub fn new(inputs: usize, outputs: usize, init: Init, rng: &mut Rng) -> Linear {
        let bound = match init {
            Init::Glorot => (6.0 / (inputs + outputs).max(1) as f32).sqrt(),
            Init::He => (6.0 / inputs.max(1) as f32).sqrt(),
        };
        let w: Vec<f32> = (0..inputs * outputs)
            .map(|_| rng.uniform_in(-bound, bound))
            .collect();
        Linear {
            weight: Param::new(
                "weight",
                Tensor::new(&[outputs, inputs], w).expect("shape matches"),
            ),
            bias: Param::new("bias", Tensor::zeros(&[outputs])),
        }
    }

    /// A layer with these weights (`[outputs][inputs]`) and biases.
    pub fn from_weights(weights: &[Vec<f32>], bias: &[f32]) -> Result<Linear, TrainError> {
        let outputs = weights.len();
        let inputs = weights.first().map_or(0, Vec::len);
        if bias.len() != outputs || weights.iter().any(|r| r.len() != inputs) {
            return Err(TrainError::Shape {
                op: "Linear::from_weights",
                message: format!(
                    "{outputs} rows of weights (not all {inputs} long?) with {} biases",
                    bias.len()
                ),
            });
        }
        Ok(Linear {
            weight: Param::new("weight", Tensor::new(&[outputs, inputs], weights.concat())?),
            bias: Param::new("bias", Tensor::new(&[outputs], bias.to_vec())?),
        })
    }

    /// Inputs per row.
    pub fn inputs(&self) -> usize {
        self.weight.value().shape()[1]
    }

    /// Outputs per row.
    pub fn outputs(&self) -> usize {
        self.weight.value().shape()[0]
    }
}

/// One layer of a [`Sequential`] network.
#[derive(Debug, Clone, PartialEq)]
pub enum Layer {
    /// A dense layer.
    Linear(Linear),
    /// An elementwise activation.
    Activation(Unary),
    /// Softmax over each row (a classifier's output; its loss may expect logits instead).
    Softmax,
    /// Inverted dropout: in training, each value is zeroed with probability `p` and the rest
    /// scaled by `1 / (1 − p)`; in evaluation, the identity.
    Dropout(f32),
    /// Each column times a fixed factor (not trained): the format's MUL_ELEMENTWISE.
    Scale(Vec<f32>),
    /// Each column plus a fixed offset (not trained): the format's ADD_ELEMENTWISE.
    Shift(Vec<f32>),
}

/// Layers applied in order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sequential {
    /// The layers.
    pub layers: Vec<Layer>,
}

impl Sequential {
    /// A network of these layers.
    pub fn new(layers: Vec<Layer>) -> Sequential {
        Sequential { layers }
    }

    /// A multilayer perceptron `sizes[0] → sizes[1] → … → sizes[n]`, `activation` after every
    /// layer but the last (whose outputs are left as they are: logits or values).
    pub fn mlp(sizes: &[usize], activation: Unary, rng: &mut Rng) -> Sequential {
        let init = match activation {
            Unary::Relu | Unary::LeakyRelu(_) | Unary::Gelu => Init::He,
            _ => Init::Glorot,
        };
        let mut layers = Vec::new();
        for (i, pair) in sizes.windows(2).enumerate() {
            let last = i + 2 == sizes.len();
            layers.push(Layer::Linear(Linear::new(
                pair[0],
                pair[1],
                if last { Init::Glorot } else { init },
                rng,
            )));
            if !last {
                layers.push(Layer::Activation(activation));
            }
        }
        Sequential { layers }
    }

    /// Runs every layer on `x` (`[rows, inputs]`); `training` switches dropout on, drawing
    /// from `rng`.
    pub fn forward<'t>(
        &self,
        tape: &'t Tape,
        x: Var<'t>,
        training: bool,
        rng: &mut Rng,
    ) -> Result<Var<'t>, TrainError> {
        let mut v = x;
        for layer in &self.layers {
            v = match layer {
                Layer::Linear(l) => v.linear(tape.param(&l.weight), Some(tape.param(&l.bias)))?,
                Layer::Activation(op) => v.activation(*op),
                Layer::Softmax => v.softmax(),
                Layer::Dropout(p) => v.dropout(*p, training, rng)?,
                Layer::Scale(values) => v.mul(columns(tape, v, values, "Scale")?)?,
                Layer::Shift(values) => v.add(columns(tape, v, values, "Shift")?)?,
            };
        }
        Ok(v)
    }

    /// Every parameter, in layer order.
    pub fn params(&self) -> Vec<&Param> {
        self.layers
            .iter()
            .flat_map(|l| match l {
                Layer::Linear(l) => vec![&l.weight, &l.bias],
                _ => Vec::new(),
            })
            .collect()
    }

    /// Every parameter, to update.
    pub fn params_mut(&mut self) -> Vec<&mut Param> {
        self.layers
            .iter_mut()
            .flat_map(|l| match l {
                Layer::Linear(l) => vec![&mut l.weight, &mut l.bias],
                _ => Vec::new(),
            })
            .collect()
    }

    /// Inputs per row (of the first dense layer).
    pub fn inputs(&self) -> Option<usize> {
        self.layers.iter().find_map(|l| match l {
            Layer::Linear(l) => Some(l.inputs()),
            _ => None,
        })
    }

    /// Outputs per row (of the last dense layer).
    pub fn outputs(&self) -> Option<usize> {
        self.layers.iter().rev().find_map(|l| match l {
            Layer::Linear(l) => Some(l.outputs()),
            _ => None,
        })
    }
}

/// `values` repeated for every row of `v` (`[rows, values.len()]`), as a constant.
fn columns<'t>(
    tape: &'t Tape,
    v: Var<'t>,
    values: &[f32],
    layer: &'static str,
) -> Result<Var<'t>, TrainError> {
    let shape = v.shape();
    if shape.last() != Some(&values.len()) {
        return Err(TrainError::Shape {
            op: layer,
            message: format!("{} values for rows of shape {shape:?}", values.len()),
        });
    }
    let rows = v.value().len() / values.len().max(1);
    Ok(tape.constant(Tensor::new(&shape, values.repeat(rows))?))
}

impl<'t> Var<'t> {
    /// Inverted dropout with probability `p` (in `[0, 1)`): in training a seeded mask zeroes
    /// values and scales the rest by `1 / (1 − p)`; otherwise the identity.
    pub fn dropout(self, p: f32, training: bool, rng: &mut Rng) -> Result<Var<'t>, TrainError> {
        if !(0.0..1.0).contains(&p) {
            return Err(TrainError::Config {
                name: "dropout",
                value: p.to_string(),
                reason: "must be in [0, 1)",
            });
        }
        if !training || p == 0.0 {
            return Ok(self);
        }
        let shape = self.shape();
        let keep = 1.0 / (1.0 - p);
        let mask: Vec<f32> = (0..self.value().len())
            .map(|_| if rng.uniform() < p { 0.0 } else { keep })
            .collect();
        let mask = self.tape().constant(Tensor::new(&shape, mask)?);
        self.mul(mask)
    }
}
