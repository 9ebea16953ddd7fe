//! Export of a trained [`Sequential`] network to the model format: the input standardisation as
//! MUL_ELEMENTWISE and ADD_ELEMENTWISE, each dense layer a DOT with the activation after it, a
//! softmax on a classifier's outputs, and `validation_data` rows computed with the interpreter's
//! own kernels so that loading the model checks them.

use crate::backend::Unary;
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

/// The format's activation of a trainable one, if the format has it.
fn format_activation(op: Unary) -> Result<Activation, TrainError> {
    Ok(match op {
        Unary::Relu => Activation::Relu,
        Unary::Sigmoid => Activation::Sigmoid,
        Unary::Tanh => Activation::Tanh,
        Unary::Gelu => Activation::Gelu,
        Unary::Softplus => Activation::Softplus,
        Unary::LeakyRelu(_) => {
            return Err(TrainError::Export(
                "LEAKY_RELU is not an activation of the model format".to_string(),
            ));
        }
    })
}

/// One step of the exported computation, for the expected outputs.
enum Step {
    Scale(Vec<f32>, Vec<f32>),
    Dense {
        weights: Vec<f32>,
        bias: Vec<f32>,
        activation: Option<Activation>,
    },
    Activation(Activation),
}

/// The format model of `net` for inputs named `feature_names`, standardised by `standardizer`
/// first when given, with `head` after the last layer, and `validation_inputs` (raw feature
/// rows) embedded with the outputs the model must reproduce. The model is validated before it
/// is returned.
pub fn export(
    net: &Sequential,
    feature_names: &[String],
    standardizer: Option<&Standardizer>,
    head: Head,
    validation_inputs: &[Vec<f32>],
) -> Result<ModelInfo, TrainError> {
    let inputs = feature_names.len();
    if net.inputs() != Some(inputs) {
        return Err(TrainError::Export(format!(
            "the network takes {:?} inputs, {inputs} feature names given",
            net.inputs()
        )));
    }
    let mut builder = ModelBuilder::with_features(feature_names.iter().cloned()).buffer(inputs);
    let mut steps = Vec::new();
    if let Some(s) = standardizer {
        if s.mean.len() != inputs || s.std.len() != inputs {
            return Err(TrainError::Export(format!(
                "the standardiser has {} means for {inputs} features",
                s.mean.len()
            )));
        }
        let (scale, offset) = s.scale_and_offset();
        builder = builder
            .parameters(scale.clone())
            .parameters(offset.clone())
            .instruction(Instruction::MulElementwise {
                input: 0,
                parameters: 0,
            })
            .instruction(Instruction::AddElementwise {
                input: 0,
                parameters: 1,
            });
        steps.push(Step::Scale(scale, offset));
    }
    // Layers as (dense | activation) steps, an activation right after a dense layer folded
    // into its DOT.
    let kept: Vec<&Layer> = net
        .layers
        .iter()
        .filter(|l| !matches!(l, Layer::Dropout(_)))
        .collect();
    let mut layers = kept.iter().copied().enumerate().peekable();
    let mut buffer = 0usize;
    let mut slots = 0usize;
    let mut head_done = head == Head::Identity;
    let mut instructions = Vec::new();
    while let Some((index, layer)) = layers.next() {
        match layer {
            Layer::Linear(l) if !head_done && index + 1 == kept.len() => {
                // The last layer, open: the classifier's softmax goes on its DOT.
                let (mut rows, mut bias): (Vec<Vec<f32>>, Vec<f32>) = (
                    l.weight
                        .value()
                        .data()
                        .chunks_exact(l.inputs().max(1))
                        .map(<[f32]>::to_vec)
                        .collect(),
                    l.bias.value().data().to_vec(),
                );
                if l.outputs() == 1 {
                    let half: Vec<f32> = rows[0].iter().map(|w| w / 2.0).collect();
                    rows = vec![half.iter().map(|w| -w).collect(), half];
                    bias = vec![-bias[0] / 2.0, bias[0] / 2.0];
                }
                builder = builder
                    .buffer(rows.len())
                    .weights(rows.clone(), bias.clone());
                instructions.push(Instruction::Dot {
                    input: buffer,
                    output: buffer + 1,
                    weights: slots,
                    activation: Some(Activation::Softmax),
                });
                steps.push(Step::Dense {
                    weights: rows.concat(),
                    bias,
                    activation: Some(Activation::Softmax),
                });
                buffer += 1;
                slots += 1;
                head_done = true;
            }
            Layer::Linear(l) => {
                let activation = match layers.peek().map(|p| p.1) {
                    Some(Layer::Activation(op)) => {
                        let a = format_activation(*op)?;
                        layers.next();
                        Some(a)
                    }
                    Some(Layer::Softmax) => {
                        layers.next();
                        Some(Activation::Softmax)
                    }
                    _ => None,
                };
                let w = l.weight.value();
                let rows: Vec<Vec<f32>> = w
                    .data()
                    .chunks_exact(l.inputs().max(1))
                    .map(<[f32]>::to_vec)
                    .collect();
                let bias = l.bias.value().data().to_vec();
                builder = builder.buffer(l.outputs()).weights(rows, bias.clone());
                instructions.push(Instruction::Dot {
                    input: buffer,
                    output: buffer + 1,
                    weights: slots,
                    activation,
                });
                steps.push(Step::Dense {
                    weights: w.data().to_vec(),
                    bias,
                    activation,
                });
                buffer += 1;
                slots += 1;
            }
            Layer::Activation(op) => {
                let a = format_activation(*op)?;
                instructions.push(Instruction::Activation {
                    input: buffer,
                    activation: a,
                });
                steps.push(Step::Activation(a));
            }
            Layer::Softmax => {
                instructions.push(Instruction::Activation {
                    input: buffer,
                    activation: Activation::Softmax,
                });
                steps.push(Step::Activation(Activation::Softmax));
            }
            Layer::Dropout(_) => {}
        }
    }
    if !head_done {
        if net.outputs() == Some(1) {
            return Err(TrainError::Export(
                "a one-output classifier needs a dense layer last (its logit)".to_string(),
            ));
        }
        instructions.push(Instruction::Activation {
            input: buffer,
            activation: Activation::Softmax,
        });
        steps.push(Step::Activation(Activation::Softmax));
    }
    for ins in instructions {
        builder = builder.instruction(ins);
    }
    if !validation_inputs.is_empty() {
        let expected = validation_inputs
            .iter()
            .map(|row| expected_output(&steps, row))
            .collect::<Result<Vec<_>, _>>()?;
        builder = builder.validation_data(validation_inputs.to_vec(), expected);
    }
    let info = builder
        .build()
        .map_err(|e| TrainError::Export(e.to_string()))?;
    instinct_validate::validate(&info, &Limits::default())
        .map_err(|e| TrainError::Invalid(e.to_string()))?;
    Ok(info)
}

/// The output of the exported model for one row, with the kernels and scalar functions the
/// interpreter uses.
fn expected_output(steps: &[Step], row: &[f32]) -> Result<Vec<f32>, TrainError> {
    use instinct_kernels::activation as a;
    let mut v = row.to_vec();
    for step in steps {
        match step {
            Step::Scale(scale, offset) => {
                if v.len() != scale.len() {
                    return Err(TrainError::Export(format!(
                        "a validation row has {} values for {} features",
                        v.len(),
                        scale.len()
                    )));
                }
                for ((x, s), o) in v.iter_mut().zip(scale).zip(offset) {
                    *x *= s;
                    *x += o;
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
                    apply(*act, &mut y);
                }
                v = y;
            }
            Step::Activation(act) => apply(*act, &mut v),
        }
    }
    fn apply(act: Activation, v: &mut [f32]) {
        let f: fn(f32) -> f32 = match act {
            Activation::Softmax => return a::softmax_in_place(v),
            Activation::Relu => a::relu,
            Activation::Sigmoid => a::sigmoid,
            Activation::Tanh => a::tanh,
            Activation::Gelu => a::gelu,
            Activation::Softplus => a::softplus,
            Activation::Sqrt => a::sqrt,
            Activation::Log => a::log,
            Activation::Log10 => a::log10,
            Activation::Inverse => a::inverse,
            Activation::Exp => a::exp,
            Activation::Sign => a::sign,
        };
        a::map_in_place(v, f);
    }
    Ok(v)
}
