//! The simple shapes executors specialise, recognised once: a *sequential* model (DOTs and
//! in-place elementwise steps on the current buffer, as input standardisation and folded batch
//! norms are exported) and a *DOT chain* (only DOTs, each reading the previous one's output).

use crate::valid::ValidModel;
use instinct_format::{Activation, Instruction};

/// Why a model is not sequential (or not a DOT chain): the first instruction that breaks the
/// shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAChain {
    /// Instruction index.
    pub index: usize,
    /// Its type, or what is wrong at the end of the model.
    pub kind: String,
}

impl std::fmt::Display for NotAChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "instruction {} ({}) is not part of a chain from the input to the output",
            self.index, self.kind
        )
    }
}

impl std::error::Error for NotAChain {}

/// One dense layer of a model that is a chain of DOTs.
#[derive(Debug, Clone, Copy)]
pub struct ChainLayer {
    /// Weight slot.
    pub slot: usize,
    /// The DOT's activation.
    pub activation: Option<Activation>,
    /// Input values.
    pub inputs: usize,
    /// Output values.
    pub outputs: usize,
}

/// One instruction of a sequential model: a DOT from the current buffer, or an in-place
/// elementwise instruction on it.
#[derive(Debug, Clone, Copy)]
pub enum ChainStep {
    /// A DOT from the current buffer; its output becomes current.
    Dense(ChainLayer),
    /// ADD_ELEMENTWISE with this parameter vector.
    Add(usize),
    /// MUL_ELEMENTWISE with this parameter vector.
    Mul(usize),
    /// CLIP_ELEMENTWISE with these parameter vectors.
    Clip {
        /// Lower bounds.
        min: Option<usize>,
        /// Upper bounds.
        max: Option<usize>,
    },
    /// ACTIVATION in place.
    Activation(Activation),
}

/// The steps of a sequential model: one input buffer, every instruction either a DOT reading
/// the current buffer (whose output becomes current) or an in-place ADD/MUL/CLIP/ACTIVATION on
/// it, and the output buffer current at the end. Otherwise the index and type of the first
/// instruction that breaks the sequence. Each step comes with its instruction index. A DOT over
/// a quantised slot breaks it too: the engines that specialise these shapes run f32 weights.
fn sequential(model: &ValidModel) -> Result<Vec<(usize, ChainStep)>, NotAChain> {
    let (info, layout) = (model.info(), model.layout());
    let mut current = 0usize;
    let mut steps = Vec::new();
    for (index, ins) in info.instructions.iter().enumerate() {
        let step = match ins {
            _ if layout.input_buffers != 1 => None,
            Instruction::Dot {
                input,
                output,
                weights,
                activation,
            } if *input == current && info.quantized_slot(*weights).is_none() => {
                let layer = ChainLayer {
                    slot: *weights,
                    activation: *activation,
                    inputs: layout.sizes[*input],
                    outputs: layout.sizes[*output],
                };
                current = *output;
                Some(ChainStep::Dense(layer))
            }
            Instruction::AddElementwise { input, parameters } if *input == current => {
                Some(ChainStep::Add(*parameters))
            }
            Instruction::MulElementwise { input, parameters } if *input == current => {
                Some(ChainStep::Mul(*parameters))
            }
            Instruction::ClipElementwise {
                input,
                parameters_min,
                parameters_max,
            } if *input == current => Some(ChainStep::Clip {
                min: *parameters_min,
                max: *parameters_max,
            }),
            Instruction::Activation { input, activation } if *input == current => {
                Some(ChainStep::Activation(*activation))
            }
            _ => None,
        };
        match step {
            Some(step) => steps.push((index, step)),
            None => {
                let kind = match ins {
                    Instruction::Dot { weights, .. } if info.quantized_slot(*weights).is_some() => {
                        format!("DOT over int8 slot {weights}")
                    }
                    _ => ins.type_name().to_string(),
                };
                return Err(NotAChain { index, kind });
            }
        }
    }
    if current != layout.sizes.len() - 1 {
        let index = info.instructions.len().saturating_sub(1);
        return Err(NotAChain {
            index,
            kind: "DOT not ending in the output buffer".into(),
        });
    }
    Ok(steps)
}

/// The dense layers of a model that is a chain of DOTs from its one input buffer to the output
/// buffer, each reading the previous one's output; otherwise the index and type of the first
/// instruction that breaks the chain.
fn dot_chain(model: &ValidModel) -> Result<Vec<ChainLayer>, NotAChain> {
    let info = model.info();
    let mut layers: Vec<ChainLayer> = Vec::new();
    for (index, step) in sequential(model)? {
        match step {
            ChainStep::Dense(layer) => layers.push(layer),
            // An ACTIVATION right after a DOT without one is that layer's activation.
            ChainStep::Activation(a) if layers.last().is_some_and(|l| l.activation.is_none()) => {
                if let Some(last) = layers.last_mut() {
                    last.activation = Some(a);
                }
            }
            _ => {
                return Err(NotAChain {
                    index,
                    kind: info.instructions[index].type_name().to_string(),
                });
            }
        }
    }
    Ok(layers)
}

impl ValidModel {
    /// The steps of a sequential model: one input buffer, every instruction either a DOT
    /// reading the current buffer (whose output becomes current) or an in-place
    /// ADD/MUL/CLIP/ACTIVATION on it, and the output buffer current at the end; each step with
    /// its instruction index. Otherwise the first instruction that breaks the sequence.
    pub fn sequential(&self) -> Result<Vec<(usize, ChainStep)>, NotAChain> {
        sequential(self)
    }

    /// The dense layers of a model that is a chain of DOTs from its one input buffer to the
    /// output buffer, each reading the previous one's output, an ACTIVATION right after a DOT
    /// without one folded into that layer; otherwise the first instruction that breaks the
    /// chain.
    ///
    /// ```
    /// use instinct_format::{Limits, ModelBuilder};
    /// let info = ModelBuilder::with_feature_size(2)
    ///     .dense(vec![vec![1.0, 2.0]; 3], vec![0.0; 3], None)
    ///     .build()
    ///     .unwrap();
    /// let model = instinct_validate::validate(&info, &Limits::default()).unwrap();
    /// let layers = model.dot_chain().unwrap();
    /// assert_eq!((layers[0].inputs, layers[0].outputs), (2, 3));
    /// ```
    pub fn dot_chain(&self) -> Result<Vec<ChainLayer>, NotAChain> {
        dot_chain(self)
    }
}
