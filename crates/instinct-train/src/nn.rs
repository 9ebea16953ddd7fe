//! Layers and networks: [`Linear`], activations and [`Layer::Dropout`] as [`Layer`]s of a
//! [`Sequential`] network, which the training loop runs and [`crate::export`] writes to the
//! model format.

use crate::error::TrainError;
use crate::param::Param;
use crate::rng::Rng;
use crate::tape::{Tape, Var};
use crate::tensor::Tensor;
use instinct_format::Activation;

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
    /// An elementwise activation (not SOFTMAX or LOG_SOFTMAX: see [`Layer::Softmax`]).
    Activation(Activation),
    /// Softmax over each row (a classifier's output; its loss may expect logits instead).
    Softmax,
    /// Inverted dropout: in training, each value is zeroed with probability `p` and the rest
    /// scaled by `1 / (1 − p)`; in evaluation, the identity.
    Dropout(f32),
    /// Each column times a fixed factor (not trained): the format's MUL_ELEMENTWISE.
    Scale(Vec<f32>),
    /// Each column plus a fixed offset (not trained): the format's ADD_ELEMENTWISE.
    Shift(Vec<f32>),
    /// A 2-D convolution over `[n, c, h, w]`.
    Conv2d(Conv2d),
    /// Max pooling with a square window.
    MaxPool2d {
        /// Window side.
        kernel: usize,
        /// Step.
        stride: usize,
    },
    /// Adaptive average pooling to a fixed size.
    AdaptiveAvgPool2d {
        /// Output height.
        height: usize,
        /// Output width.
        width: usize,
    },
    /// Each sample's values in this shape (`[n, …]` to `[n, shape…]`).
    Reshape(Vec<usize>),
    /// Each sample's values as one row (`[n, …]` to `[n, values]`).
    Flatten,
    /// Batch normalisation (per feature of `[n, f]`, per channel of `[n, c, h, w]`).
    BatchNorm(BatchNorm),
    /// Layer normalisation over each sample's last axis.
    LayerNorm(LayerNorm),
    /// Each input value (an index, rounded) replaced by its row of a trained table:
    /// `[n, l]` to `[n, l · dim]`.
    Embedding(Embedding),
}

/// A 2-D convolution layer: weights `[out, in, k, k]`, biases `[out]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Conv2d {
    /// `[out, in, k, k]`.
    pub weight: Param,
    /// `[out]`.
    pub bias: Param,
    /// Step between windows.
    pub stride: usize,
    /// Zeros around the image.
    pub padding: usize,
}

impl Conv2d {
    /// `inputs → outputs` channels, a `kernel × kernel` window, He-initialised.
    pub fn new(
        inputs: usize,
        outputs: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
        rng: &mut Rng,
    ) -> Conv2d {
        let fan_in = inputs * kernel * kernel;
        let bound = (6.0 / fan_in.max(1) as f32).sqrt();
        let w = (0..outputs * fan_in)
            .map(|_| rng.uniform_in(-bound, bound))
            .collect();
        Conv2d {
            weight: Param::new(
                "weight",
                Tensor::new(&[outputs, inputs, kernel, kernel], w).expect("shape matches"),
            ),
            bias: Param::new("bias", Tensor::zeros(&[outputs])),
            stride,
            padding,
        }
    }
}

/// Batch normalisation with trained scale and shift and running statistics for evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchNorm {
    /// Scale per feature or channel.
    pub gamma: Param,
    /// Shift.
    pub beta: Param,
    /// Added to the variance.
    pub eps: f32,
    /// Weight of each batch in the running averages.
    pub momentum: f32,
    /// Running mean and variance, updated by every training forward pass.
    pub running: std::cell::RefCell<(Vec<f32>, Vec<f32>)>,
}

impl BatchNorm {
    /// For `features` features or channels: gamma 1, beta 0, eps 1e-5, momentum 0.1.
    pub fn new(features: usize) -> BatchNorm {
        BatchNorm {
            gamma: Param::new("gamma", Tensor::full(&[features], 1.0)),
            beta: Param::new("beta", Tensor::zeros(&[features])),
            eps: 1e-5,
            momentum: 0.1,
            running: std::cell::RefCell::new((vec![0.0; features], vec![1.0; features])),
        }
    }
}

/// Layer normalisation with trained scale and shift.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerNorm {
    /// Scale per value of the last axis.
    pub gamma: Param,
    /// Shift.
    pub beta: Param,
    /// Added to the variance.
    pub eps: f32,
}

impl LayerNorm {
    /// Over a last axis of `width`: gamma 1, beta 0, eps 1e-5.
    pub fn new(width: usize) -> LayerNorm {
        LayerNorm {
            gamma: Param::new("gamma", Tensor::full(&[width], 1.0)),
            beta: Param::new("beta", Tensor::zeros(&[width])),
            eps: 1e-5,
        }
    }
}

/// A table of `vocabulary` rows of `dim` trained values.
#[derive(Debug, Clone, PartialEq)]
pub struct Embedding {
    /// `[vocabulary, dim]`.
    pub weight: Param,
}

impl Embedding {
    /// A table of normal values scaled by 0.1.
    pub fn new(vocabulary: usize, dim: usize, rng: &mut Rng) -> Embedding {
        let w = (0..vocabulary * dim).map(|_| 0.1 * rng.normal()).collect();
        Embedding {
            weight: Param::new(
                "weight",
                Tensor::new(&[vocabulary, dim], w).expect("shape matches"),
            ),
        }
    }
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
    pub fn mlp(sizes: &[usize], activation: Activation, rng: &mut Rng) -> Sequential {
        let init = if activation.is_rectifier() {
            Init::He
        } else {
            Init::Glorot
        };
        Sequential::mlp_with_init(sizes, activation, init, rng)
    }

    /// [`Sequential::mlp`] whose hidden layers start with `init` (the last layer is always
    /// Glorot). `Init::Glorot` everywhere is how scikit-learn's MLPs start, ReLU included.
    pub fn mlp_with_init(
        sizes: &[usize],
        activation: Activation,
        init: Init,
        rng: &mut Rng,
    ) -> Sequential {
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
                Layer::Conv2d(c) => v.conv2d(
                    tape.param(&c.weight),
                    Some(tape.param(&c.bias)),
                    c.stride,
                    c.padding,
                )?,
                Layer::MaxPool2d { kernel, stride } => v.max_pool2d(*kernel, *stride)?,
                Layer::AdaptiveAvgPool2d { height, width } => {
                    v.adaptive_avg_pool2d(*height, *width)?
                }
                Layer::Reshape(shape) => {
                    let n = v.shape().first().copied().unwrap_or(0);
                    let mut full = vec![n];
                    full.extend(shape);
                    v.reshape(&full)?
                }
                Layer::Flatten => {
                    let shape = v.shape();
                    let n = shape.first().copied().unwrap_or(0);
                    let rest = shape.iter().skip(1).product();
                    v.reshape(&[n, rest])?
                }
                Layer::BatchNorm(bn) => {
                    let (gamma, beta) = (tape.param(&bn.gamma), tape.param(&bn.beta));
                    if training {
                        let (y, stats) = v.batch_norm(gamma, beta, bn.eps, None)?;
                        if let Some(stats) = stats {
                            let mut running = bn.running.borrow_mut();
                            let m = bn.momentum;
                            for (r, s) in running.0.iter_mut().zip(&stats.mean) {
                                *r = (1.0 - m) * *r + m * s;
                            }
                            for (r, s) in running.1.iter_mut().zip(&stats.var) {
                                *r = (1.0 - m) * *r + m * s;
                            }
                        }
                        y
                    } else {
                        let running = bn.running.borrow();
                        v.batch_norm(gamma, beta, bn.eps, Some((&running.0, &running.1)))?
                            .0
                    }
                }
                Layer::LayerNorm(ln) => {
                    v.layer_norm(tape.param(&ln.gamma), tape.param(&ln.beta), ln.eps)?
                }
                Layer::Embedding(e) => {
                    let shape = v.shape();
                    let vocabulary = e.weight.value().shape().first().copied().unwrap_or(0);
                    let indices = v
                        .value()
                        .data()
                        .iter()
                        .enumerate()
                        .map(|(at, &x)| {
                            let i = x.round();
                            if i >= 0.0 && (i as usize) < vocabulary {
                                Ok(i as usize)
                            } else {
                                Err(TrainError::Shape {
                                    op: "embedding",
                                    message: format!(
                                        "value {x} at {at} is not an index below {vocabulary}"
                                    ),
                                })
                            }
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    let rows = tape.param(&e.weight).embedding(&indices)?;
                    let n = shape.first().copied().unwrap_or(0);
                    let width = rows.value().len() / n.max(1);
                    rows.reshape(&[n, width])?
                }
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
                Layer::Conv2d(c) => vec![&c.weight, &c.bias],
                Layer::BatchNorm(b) => vec![&b.gamma, &b.beta],
                Layer::LayerNorm(n) => vec![&n.gamma, &n.beta],
                Layer::Embedding(e) => vec![&e.weight],
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
                Layer::Conv2d(c) => vec![&mut c.weight, &mut c.bias],
                Layer::BatchNorm(b) => vec![&mut b.gamma, &mut b.beta],
                Layer::LayerNorm(n) => vec![&mut n.gamma, &mut n.beta],
                Layer::Embedding(e) => vec![&mut e.weight],
                _ => Vec::new(),
            })
            .collect()
    }

    /// Inputs per row: the values per sample the first layer that fixes them takes (a dense
    /// layer's inputs, or the volume of a first reshape); `None` when nothing fixes them (no
    /// such layer, or an embedding first).
    pub fn inputs(&self) -> Option<usize> {
        for layer in &self.layers {
            match layer {
                Layer::Linear(l) => return Some(l.inputs()),
                Layer::Reshape(shape) => return Some(shape.iter().product()),
                // Its input width (the indices per sample) is free.
                Layer::Embedding(_) => return None,
                _ => {}
            }
        }
        None
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

impl Layer {
    /// The layer's kind, for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Layer::Linear(_) => "Linear",
            Layer::Activation(_) => "Activation",
            Layer::Softmax => "Softmax",
            Layer::Dropout(_) => "Dropout",
            Layer::Scale(_) => "Scale",
            Layer::Shift(_) => "Shift",
            Layer::Conv2d(_) => "Conv2d",
            Layer::MaxPool2d { .. } => "MaxPool2d",
            Layer::AdaptiveAvgPool2d { .. } => "AdaptiveAvgPool2d",
            Layer::Reshape(_) => "Reshape",
            Layer::Flatten => "Flatten",
            Layer::BatchNorm(_) => "BatchNorm",
            Layer::LayerNorm(_) => "LayerNorm",
            Layer::Embedding(_) => "Embedding",
        }
    }
}
