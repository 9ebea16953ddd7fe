//! Export of a trained [`Sequential`] network to the model format: the input standardisation as
//! MUL_ELEMENTWISE and ADD_ELEMENTWISE, each dense layer a DOT with the activation after it, a
//! softmax on a classifier's outputs, and `validation_data` rows computed with the interpreter's
//! own kernels so that loading the model checks them.

use crate::data::Standardizer;
use crate::error::TrainError;
use crate::nn::{Layer, Sequential};
use instinct_format::{Activation, Instruction, Limits, ModelBuilder, ModelInfo};

/// What the exported model puts after the network's last layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Head {
    /// Nothing: the network's outputs (regression).
    #[default]
    Identity,
    /// One probability per class: softmax over the outputs (a classifier trained on logits), or,
    /// for a network of one output `z` (a binary classifier trained through a sigmoid), the two
    /// probabilities `[1 − σ(z), σ(z)]`, written as a softmax over `[−z/2, z/2]`.
    Softmax,
}

/// One step of the exported computation, for the expected outputs.
enum Step {
    Mul(Vec<f32>),
    Add(Vec<f32>),
    Dense {
        weights: Vec<f32>,
        bias: Vec<f32>,
        activation: Option<Activation>,
    },
    Activation(Activation),
}

/// The model being written: its builder, instructions and the same steps for the expected
/// outputs.
struct Writer {
    builder: ModelBuilder,
    instructions: Vec<Instruction>,
    steps: Vec<Step>,
    /// The current buffer.
    buffer: usize,
    slots: usize,
    parameters: usize,
}

impl Writer {
    fn mul(&mut self, values: Vec<f32>) {
        self.elementwise(values, true);
    }

    fn add(&mut self, values: Vec<f32>) {
        self.elementwise(values, false);
    }

    fn elementwise(&mut self, values: Vec<f32>, multiply: bool) {
        self.builder = std::mem::take(&mut self.builder).parameters(values.clone());
        let (input, parameters) = (self.buffer, self.parameters);
        self.parameters += 1;
        self.instructions.push(if multiply {
            Instruction::MulElementwise { input, parameters }
        } else {
            Instruction::AddElementwise { input, parameters }
        });
        self.steps.push(if multiply {
            Step::Mul(values)
        } else {
            Step::Add(values)
        });
    }

    fn dense(&mut self, rows: Vec<Vec<f32>>, bias: Vec<f32>, activation: Option<Activation>) {
        let weights = rows.concat();
        self.builder = std::mem::take(&mut self.builder)
            .buffer(rows.len())
            .weights(rows, bias.clone());
        self.instructions.push(Instruction::Dot {
            input: self.buffer,
            output: self.buffer + 1,
            weights: self.slots,
            activation,
        });
        self.steps.push(Step::Dense {
            weights,
            bias,
            activation,
        });
        self.buffer += 1;
        self.slots += 1;
    }

    fn activation(&mut self, activation: Activation) {
        self.instructions.push(Instruction::Activation {
            input: self.buffer,
            activation,
        });
        self.steps.push(Step::Activation(activation));
    }

    /// Outputs of the current buffer.
    fn width(&self, inputs: usize) -> usize {
        self.steps
            .iter()
            .rev()
            .find_map(|s| match s {
                Step::Dense { bias, .. } => Some(bias.len()),
                _ => None,
            })
            .unwrap_or(inputs)
    }
}

/// The largest output (and output scale) a `validation_data` row may have. The format checks
/// those rows to an absolute 1e-5, and engines that sum in different orders differ by a few
/// units in the last place: at 4, a few ulps are a few 1e-6.
pub const CHECKABLE: f32 = 4.0;

/// What [`export`] writes around the network.
#[derive(Debug, Clone, Copy)]
pub struct ExportSpec<'a> {
    /// The inputs' names, one per network input.
    pub feature_names: &'a [String],
    /// The standardisation applied to the inputs before the network, when it was trained on
    /// standardised features.
    pub standardizer: Option<&'a Standardizer>,
    /// What follows the last layer.
    pub head: Head,
    /// `(scale, offset)` per output, applied last (`y · scale + offset`): a regression trained
    /// on standardised targets back in their units.
    pub output_scale: Option<(&'a [f32], &'a [f32])>,
    /// Raw feature rows to embed as `validation_data` with the outputs the model must
    /// reproduce. Only rows whose outputs are within ±[`CHECKABLE`] are kept, and none when an
    /// output scale is above it: larger values cannot be checked to the format's absolute
    /// 1e-5 by engines that round differently (a regression in large units gets none).
    pub validation_inputs: &'a [Vec<f32>],
}

/// The format model of `net` as `spec` says. The model is validated before it is returned.
///
/// ```
/// use instinct_train::export::{ExportSpec, Head, export};
/// use instinct_train::nn::Sequential;
/// let net = Sequential::mlp(&[2, 3, 1], instinct_train::Activation::Tanh, &mut instinct_train::Rng::new(1));
/// let names = ["a".to_string(), "b".to_string()];
/// let info = export(&net, &ExportSpec {
///     feature_names: &names,
///     standardizer: None,
///     head: Head::Identity,
///     output_scale: None,
///     validation_inputs: &[vec![0.5, -1.0]],
/// }).unwrap();
/// assert_eq!(info.buffer_sizes, vec![2, 3, 1]);
/// ```
pub fn export(net: &Sequential, spec: &ExportSpec<'_>) -> Result<ModelInfo, TrainError> {
    let ExportSpec {
        feature_names,
        standardizer,
        head,
        output_scale,
        validation_inputs,
    } = *spec;
    // A name `x[N]` stands for N inputs.
    let inputs = feature_names
        .iter()
        .map(|n| instinct_format::feature_width(n))
        .sum::<Result<usize, _>>()
        .map_err(|e| TrainError::Export(e.to_string()))?;
    if net.inputs() != Some(inputs) {
        return Err(TrainError::Export(format!(
            "the network takes {:?} inputs, {inputs} feature names given",
            net.inputs()
        )));
    }
    let mut w = Writer {
        builder: ModelBuilder::with_features(feature_names.iter().cloned()).buffer(inputs),
        instructions: Vec::new(),
        steps: Vec::new(),
        buffer: 0,
        slots: 0,
        parameters: 0,
    };
    if let Some(s) = standardizer {
        if s.mean.len() != inputs || s.std.len() != inputs {
            return Err(TrainError::Export(format!(
                "the standardiser has {} means for {inputs} features",
                s.mean.len()
            )));
        }
        let (scale, offset) = s.scale_and_offset();
        w.mul(scale);
        w.add(offset);
    }
    // An activation right after a dense layer is folded into its DOT; the classifier's
    // softmax goes on the last layer's DOT when that layer is dense.
    let kept: Vec<&Layer> = net
        .layers
        .iter()
        .filter(|l| !matches!(l, Layer::Dropout(_)))
        .collect();
    let mut layers = kept.iter().copied().enumerate().peekable();
    let mut head_done = head == Head::Identity;
    while let Some((index, layer)) = layers.next() {
        match layer {
            Layer::Linear(l) => {
                let mut rows: Vec<Vec<f32>> = l
                    .weight
                    .value()
                    .data()
                    .chunks_exact(l.inputs().max(1))
                    .map(<[f32]>::to_vec)
                    .collect();
                let mut bias = l.bias.value().data().to_vec();
                if !head_done && index + 1 == kept.len() {
                    if rows.is_empty() {
                        return Err(TrainError::Export(
                            "the last dense layer has no inputs".to_string(),
                        ));
                    }
                    if l.outputs() == 1 {
                        // [1 − σ(z), σ(z)] as a softmax over [−z/2, z/2].
                        let half: Vec<f32> = rows[0].iter().map(|v| v / 2.0).collect();
                        rows = vec![half.iter().map(|v| -v).collect(), half];
                        bias = vec![-bias[0] / 2.0, bias[0] / 2.0];
                    }
                    w.dense(rows, bias, Some(Activation::Softmax));
                    head_done = true;
                    continue;
                }
                let activation = match layers.peek().map(|p| p.1) {
                    Some(Layer::Activation(op)) => {
                        let a = *op;
                        layers.next();
                        Some(a)
                    }
                    Some(Layer::Softmax) => {
                        layers.next();
                        Some(Activation::Softmax)
                    }
                    _ => None,
                };
                w.dense(rows, bias, activation);
            }
            Layer::Activation(op) => w.activation(*op),
            Layer::Softmax => w.activation(Activation::Softmax),
            Layer::Scale(values) => w.mul(values.clone()),
            Layer::Shift(values) => w.add(values.clone()),
            Layer::Dropout(_) => {}
            Layer::BatchNorm(bn) => {
                // Evaluation-mode batch norm is elementwise: x · s + t.
                let running = bn.running.borrow();
                let (gamma, beta) = (bn.gamma.value().data(), bn.beta.value().data());
                let s: Vec<f32> = gamma
                    .iter()
                    .zip(&running.1)
                    .map(|(g, v)| g / (v + bn.eps).sqrt())
                    .collect();
                let t = beta
                    .iter()
                    .zip(&running.0)
                    .zip(&s)
                    .map(|((b, m), s)| b - m * s)
                    .collect();
                w.mul(s);
                w.add(t);
            }
            Layer::Conv2d(_)
            | Layer::MaxPool2d { .. }
            | Layer::AdaptiveAvgPool2d { .. }
            | Layer::Reshape(_)
            | Layer::Flatten
            | Layer::LayerNorm(_)
            | Layer::Embedding(_) => {
                return Err(TrainError::Export(format!(
                    "layer {index} ({}) has no instruction in the model format; export takes dense layers, their activations, dropout, batch norm and fixed scales and shifts",
                    layer.name()
                )));
            }
        }
    }
    // A network that already ends in a softmax needs no other.
    head_done |= matches!(
        w.steps.last(),
        Some(Step::Dense {
            activation: Some(Activation::Softmax),
            ..
        }) | Some(Step::Activation(Activation::Softmax))
    );
    if !head_done {
        if net.outputs() == Some(1) {
            return Err(TrainError::Export(
                "a one-output classifier needs a dense layer last (its logit)".to_string(),
            ));
        }
        w.activation(Activation::Softmax);
    }
    if let Some((scale, offset)) = output_scale {
        let outputs = w.width(inputs);
        if scale.len() != outputs || offset.len() != outputs {
            return Err(TrainError::Export(format!(
                "an output scale of {} values for {outputs} outputs",
                scale.len()
            )));
        }
        w.mul(scale.to_vec());
        w.add(offset.to_vec());
    }
    let Writer {
        mut builder,
        instructions,
        steps,
        ..
    } = w;
    for ins in instructions {
        builder = builder.instruction(ins);
    }
    // Rows another correct engine reproduces within the format's absolute tolerance (1e-5):
    // outputs within ±CHECKABLE, and no output scale that magnifies rounding beyond it.
    let amplified = output_scale.is_some_and(|(s, _)| s.iter().any(|v| v.abs() > CHECKABLE));
    let mut kept_inputs = Vec::new();
    let mut kept_outputs = Vec::new();
    for row in validation_inputs {
        let out = expected_output(&steps, row)?;
        if !amplified && out.iter().all(|v| v.abs() <= CHECKABLE) {
            kept_inputs.push(row.clone());
            kept_outputs.push(out);
        }
    }
    if !kept_inputs.is_empty() {
        builder = builder.validation_data(kept_inputs, kept_outputs);
    }
    let info = builder
        .build()
        .map_err(|e| TrainError::Export(e.to_string()))?;
    instinct_validate::validate(&info, &Limits::default())
        .map_err(|e| TrainError::Invalid(e.to_string()))?;
    Ok(info)
}

/// The output of the exported model for one row: its products with the interpreter's kernel,
/// its activations by their scalar definitions.
fn expected_output(steps: &[Step], row: &[f32]) -> Result<Vec<f32>, TrainError> {
    let mut v = row.to_vec();
    for step in steps {
        match step {
            Step::Mul(values) | Step::Add(values) => {
                if v.len() != values.len() {
                    return Err(TrainError::Export(format!(
                        "a row of {} values for an elementwise step of {}",
                        v.len(),
                        values.len()
                    )));
                }
                let multiply = matches!(step, Step::Mul(_));
                for (x, p) in v.iter_mut().zip(values) {
                    if multiply {
                        *x *= p;
                    } else {
                        *x += p;
                    }
                }
            }
            Step::Dense {
                weights,
                bias,
                activation,
            } => {
                if weights.len() != bias.len() * v.len() {
                    return Err(TrainError::Export(format!(
                        "a validation row of {} values for a layer of {} weights",
                        v.len(),
                        weights.len()
                    )));
                }
                let mut y = vec![0.0; bias.len()];
                instinct_kernels::dot::affine(weights, bias, &v, &mut y);
                if let Some(act) = activation {
                    act.apply_scalar(&mut y);
                }
                v = y;
            }
            Step::Activation(act) => act.apply_scalar(&mut v),
        }
    }
    Ok(v)
}
