//! `Plan`: a valid model compiled to steps with absolute offsets and flattened weights.

use crate::quantized::QuantizedAffine;
use instinct_format::{Activation, Instruction};
use instinct_kernels::fast::Kind;
use instinct_kernels::int8::{InputQuantization, Int8Weights};
use instinct_kernels::small_chain::{LayerSpec, SmallChain, StageSpec};
use instinct_kernels::{AffineKernel, PackedWeights};
use instinct_validate::{ChainStep, ValidModel};
use std::collections::HashMap;
use std::ops::Range;

/// One weight slot: row-major for the per-sample path, packed in panels for the batch engine.
#[derive(Debug, Clone)]
pub(crate) struct Affine {
    pub weights: PackedWeights,
    pub bias: Vec<f32>,
}

/// One instruction with every index resolved to a position in the unified memory.
#[derive(Debug, Clone)]
pub(crate) enum Step {
    /// A DOT whose activation the slice kernels fuse (an extension activation follows as its
    /// own [`Step::Activation`]).
    Dot {
        input: Range<usize>,
        output: Range<usize>,
        slot: usize,
        /// The fused activation.
        kind: Kind,
        /// The per-sample kernel, level and activation resolved at plan time.
        kernel: AffineKernel,
    },
    /// A DOT over a quantised slot: the int8 product, then the activation over the output.
    QuantizedDot {
        input: Range<usize>,
        output: Range<usize>,
        /// Index into [`Plan::quantized`].
        slot: usize,
        kind: Kind,
    },
    Copy {
        input: Range<usize>,
        output_start: usize,
    },
    Gather {
        input_start: usize,
        output_start: usize,
        indexes: Vec<usize>,
    },
    Activation {
        span: Range<usize>,
        activation: Activation,
    },
    AddParameters {
        span: Range<usize>,
        parameters: usize,
    },
    MulParameters {
        span: Range<usize>,
        parameters: usize,
    },
    Clip {
        span: Range<usize>,
        min: Option<usize>,
        max: Option<usize>,
    },
    MapTransform {
        key_at: usize,
        output_start: usize,
        size: usize,
        map: usize,
        default: Vec<f32>,
    },
    AddBuffers {
        inputs: Vec<usize>,
        output: Range<usize>,
    },
    MulBuffers {
        inputs: Vec<usize>,
        output: Range<usize>,
    },
    MulHeads {
        data: Range<usize>,
        heads: Range<usize>,
        output: Range<usize>,
    },
    AddHeads {
        data: Range<usize>,
        heads: Range<usize>,
        output: Range<usize>,
    },
    ReduceSum {
        input: Range<usize>,
        output_at: usize,
    },
    Attention {
        query: usize,
        key: Range<usize>,
        output: Range<usize>,
        slot: usize,
        /// The per-sample kernel (softmax), resolved at plan time.
        kernel: AffineKernel,
    },
}

/// A valid model compiled for the CPU: steps over absolute offsets, weights flattened once
/// (a slot shared by several instructions is stored once), maps turned into hash tables.
#[derive(Debug, Clone)]
pub struct Plan {
    pub(crate) steps: Vec<Step>,
    pub(crate) slots: Vec<Affine>,
    /// The quantised slots, `None` for an f32 slot.
    pub(crate) quantized: Vec<Option<QuantizedAffine>>,
    pub(crate) parameters: Vec<Vec<f32>>,
    pub(crate) maps: Vec<HashMap<i32, Vec<f32>>>,
    pub(crate) feature_size: usize,
    pub(crate) memory: usize,
    pub(crate) output: Range<usize>,
    /// The memory a sample must find zeroed: every buffer that is read, or only partly
    /// written, before something writes all of it (see [`ranges_to_zero`]).
    pub(crate) zero: Vec<Range<usize>>,
    /// For a narrow sequential model (DOTs and in-place elementwise steps) at the AVX2 or
    /// AVX-512 level: the whole model in registers, which the per-sample calls that need only
    /// the output use.
    pub(crate) chain: Option<SmallChain>,
    /// Whether the model is a chain of DOTs the batch engine runs from the caller's rows to
    /// the caller's outputs (`chain.rs`).
    pub(crate) dot_chain: bool,
}

impl Plan {
    /// Compiles a valid model.
    pub fn new(model: &ValidModel) -> Plan {
        let info = model.info();
        let layout = model.layout();
        let span = |b: usize| layout.span(b);
        let level = instinct_kernels::simd::level();
        let start = |b: usize| layout.offsets[b];
        let mut steps = Vec::with_capacity(info.instructions.len());
        for ins in &info.instructions {
            let step = match ins {
                Instruction::Dot {
                    input,
                    output,
                    weights,
                    activation,
                } => {
                    // An extension activation has no fused kernel: it runs after the product.
                    let (kind, after) = match kernel(*activation) {
                        Some(kind) => (kind, None),
                        None => (Kind::Identity, *activation),
                    };
                    steps.push(if info.quantized_slot(*weights).is_some() {
                        Step::QuantizedDot {
                            input: span(*input),
                            output: span(*output),
                            slot: *weights,
                            kind,
                        }
                    } else {
                        Step::Dot {
                            input: span(*input),
                            output: span(*output),
                            slot: *weights,
                            kind,
                            kernel: AffineKernel::new(level, kind),
                        }
                    });
                    match after {
                        Some(activation) => Step::Activation {
                            span: span(*output),
                            activation,
                        },
                        None => continue,
                    }
                }
                Instruction::Copy {
                    input,
                    output,
                    internal_index,
                } => Step::Copy {
                    input: span(*input),
                    output_start: start(*output) + internal_index,
                },
                Instruction::CopyMasked {
                    input,
                    output,
                    indexes,
                } => Step::Gather {
                    input_start: start(*input),
                    output_start: start(*output),
                    indexes: indexes.clone(),
                },
                Instruction::Activation { input, activation } => Step::Activation {
                    span: span(*input),
                    activation: *activation,
                },
                Instruction::AddElementwise { input, parameters } => Step::AddParameters {
                    span: span(*input),
                    parameters: *parameters,
                },
                Instruction::MulElementwise { input, parameters } => Step::MulParameters {
                    span: span(*input),
                    parameters: *parameters,
                },
                Instruction::ClipElementwise {
                    input,
                    parameters_min,
                    parameters_max,
                } => Step::Clip {
                    span: span(*input),
                    min: *parameters_min,
                    max: *parameters_max,
                },
                Instruction::MapTransform {
                    input,
                    output,
                    internal_input_index,
                    internal_output_index,
                    map,
                    size,
                    default,
                } => Step::MapTransform {
                    key_at: start(*input) + internal_input_index,
                    output_start: start(*output) + internal_output_index,
                    size: *size,
                    map: *map,
                    default: default[..*size].to_vec(),
                },
                Instruction::AddElementwiseBuffers { input, output } => Step::AddBuffers {
                    inputs: input.iter().map(|&b| start(b)).collect(),
                    output: span(*output),
                },
                Instruction::MultiplyElementwiseBuffers { input, output } => Step::MulBuffers {
                    inputs: input.iter().map(|&b| start(b)).collect(),
                    output: span(*output),
                },
                Instruction::MultiplyBufferHeads { input, output } => Step::MulHeads {
                    data: span(input[0]),
                    heads: span(input[1]),
                    output: span(*output),
                },
                Instruction::AddBufferHeads { input, output } => Step::AddHeads {
                    data: span(input[0]),
                    heads: span(input[1]),
                    output: span(*output),
                },
                Instruction::ReduceSum { input, output } => Step::ReduceSum {
                    input: span(*input),
                    output_at: start(*output),
                },
                Instruction::Attention {
                    input,
                    key,
                    output,
                    weights,
                } => Step::Attention {
                    query: start(*input),
                    key: span(*key),
                    output: span(*output),
                    slot: *weights,
                    kernel: AffineKernel::new(level, Kind::Softmax),
                },
            };
            steps.push(step);
        }
        let slots: Vec<Affine> = info
            .weights
            .iter()
            .zip(&info.bias)
            .map(|(rows, bias)| {
                let flat: Vec<f32> = rows.iter().flatten().copied().collect();
                let k = rows.first().map_or(0, Vec::len);
                Affine {
                    weights: PackedWeights::new(&flat, rows.len(), k),
                    bias: bias.clone(),
                }
            })
            .collect();
        let quantized = (0..info.weights.len())
            .map(|slot| {
                let q = info.quantized_slot(slot)?;
                let quant = match (q.input_scale, q.input_zero_point) {
                    (Some(scale), Some(zero_point)) => {
                        InputQuantization::Static { scale, zero_point }
                    }
                    _ => InputQuantization::Dynamic,
                };
                Some(QuantizedAffine {
                    weights: Int8Weights::new(&q.values.0, &q.scales, q.outputs, q.inputs, level),
                    bias: info.bias[slot].clone(),
                    quant,
                })
            })
            .collect();
        let maps = (0..info.maps().len())
            .map(|m| {
                model
                    .map_entries(m)
                    .into_iter()
                    .map(|(k, v)| (k, v.to_vec()))
                    .collect()
            })
            .collect();
        let parameters = info.parameters();
        // The register chain has no extension activations and no int8 layers: a model with
        // either runs step by step.
        let f32_only = info.quantization.is_none();
        let chain = model
            .sequential()
            .ok()
            .filter(|_| f32_only)
            .and_then(|steps| {
                let specs: Option<Vec<StageSpec<'_>>> = steps
                    .iter()
                    .map(|(_, step)| match *step {
                        ChainStep::Dense(l) => Some(StageSpec::Dense(LayerSpec {
                            rows: slots[l.slot].weights.rows(),
                            bias: &slots[l.slot].bias,
                            inputs: l.inputs,
                            outputs: l.outputs,
                            kind: kernel(l.activation)?,
                        })),
                        ChainStep::Add(p) => Some(StageSpec::Add(&parameters[p])),
                        ChainStep::Mul(p) => Some(StageSpec::Mul(&parameters[p])),
                        ChainStep::Clip { min, max } => Some(StageSpec::Clip {
                            min: min.map(|p| parameters[p].as_slice()),
                            max: max.map(|p| parameters[p].as_slice()),
                        }),
                        ChainStep::Activation(a) => Some(StageSpec::Activation(kernel(Some(a))?)),
                    })
                    .collect();
                SmallChain::new(level, layout.feature_size, &specs?)
            });
        let mut plan = Plan {
            steps,
            slots,
            quantized,
            parameters: info.parameters().to_vec(),
            maps,
            feature_size: layout.feature_size,
            memory: layout.total,
            output: layout.output_span(),
            zero: ranges_to_zero(model),
            chain,
            dot_chain: false,
        };
        plan.dot_chain = plan.is_dot_chain(level);
        plan
    }

    /// Whether the batch engine runs the model as a chain of DOTs straight from the caller's
    /// rows to the caller's outputs (`chain.rs`): every DOT int8, or f32 with an activation the
    /// AVX-512 tile kernel fuses, each reading the one before.
    pub fn runs_as_dot_chain(&self) -> bool {
        self.dot_chain
    }

    /// Whether single samples whose output alone is asked for (`predict`, `predict_into`,
    /// `predict_single`) run as a register chain: the model is sequential (DOTs, and in-place
    /// ADD/MUL/CLIP/ACTIVATION on the current buffer), every buffer after the input at most 32
    /// wide, and the SIMD level is AVX2 or AVX-512.
    pub fn uses_register_chain(&self) -> bool {
        self.chain.is_some()
    }

    /// Puts one sample's input in place and zeroes what must be zero: the same result as
    /// zeroing all of `mem`, without writing buffers that are fully written before being read.
    #[inline]
    pub(crate) fn prepare(&self, mem: &mut [f32], input: &[f32]) {
        instinct_kernels::copy_short(&mut mem[..input.len()], input);
        for r in &self.zero {
            mem[r.clone()].fill(0.0);
        }
    }

    /// Runs every step over one sample's unified memory, whose input is already in place and
    /// whose other values are zero. `mem.len()` must be exactly the plan's memory size.
    pub(crate) fn run(&self, mem: &mut [f32]) {
        debug_assert_eq!(mem.len(), self.memory);
        for step in &self.steps {
            self.run_step(step, mem);
        }
    }

    pub(crate) fn run_step(&self, step: &Step, mem: &mut [f32]) {
        match step {
            Step::Dot {
                input,
                output,
                slot,
                kernel,
                ..
            } => {
                let (x, y) = disjoint(mem, input.clone(), output.clone());
                let a = &self.slots[*slot];
                kernel.run(&a.weights, &a.bias, x, y);
            }
            Step::QuantizedDot { .. } => self.run_quantized(step, mem, 1, self.memory),
            Step::Copy {
                input,
                output_start,
            } => mem.copy_within(input.clone(), *output_start),
            Step::Gather {
                input_start,
                output_start,
                indexes,
            } => {
                // In order, one element at a time: with input == output a later index may read
                // an element written earlier, exactly as the reference does.
                for (i, &j) in indexes.iter().enumerate() {
                    mem[output_start + i] = mem[input_start + j];
                }
            }
            Step::Activation { span, activation } => activation.apply(&mut mem[span.clone()]),
            Step::AddParameters { span, parameters } => {
                for (x, p) in mem[span.clone()]
                    .iter_mut()
                    .zip(&self.parameters[*parameters])
                {
                    *x += p;
                }
            }
            Step::MulParameters { span, parameters } => {
                for (x, p) in mem[span.clone()]
                    .iter_mut()
                    .zip(&self.parameters[*parameters])
                {
                    *x *= p;
                }
            }
            Step::Clip { span, min, max } => {
                let xs = &mut mem[span.clone()];
                if let Some(m) = min {
                    for (x, lo) in xs.iter_mut().zip(&self.parameters[*m]) {
                        *x = x.max(*lo);
                    }
                }
                if let Some(m) = max {
                    for (x, hi) in xs.iter_mut().zip(&self.parameters[*m]) {
                        *x = x.min(*hi);
                    }
                }
            }
            Step::MapTransform {
                key_at,
                output_start,
                size,
                map,
                default,
            } => {
                let key = map_key(mem[*key_at]);
                let values = self.maps[*map]
                    .get(&key)
                    .map_or(&default[..], |v| &v[..*size]);
                mem[*output_start..output_start + size].copy_from_slice(values);
            }
            Step::AddBuffers { inputs, output } => {
                for i in 0..output.len() {
                    let mut acc = mem[inputs[0] + i];
                    for &s in &inputs[1..] {
                        acc += mem[s + i];
                    }
                    mem[output.start + i] = acc;
                }
            }
            Step::MulBuffers { inputs, output } => {
                for i in 0..output.len() {
                    let mut acc = mem[inputs[0] + i];
                    for &s in &inputs[1..] {
                        acc *= mem[s + i];
                    }
                    mem[output.start + i] = acc;
                }
            }
            Step::MulHeads {
                data,
                heads,
                output,
            } => heads_op(mem, data.clone(), heads.clone(), output.start, |x, h| x * h),
            Step::AddHeads {
                data,
                heads,
                output,
            } => heads_op(mem, data.clone(), heads.clone(), output.start, |x, h| x + h),
            Step::ReduceSum { input, output_at } => {
                // `Sum` for f32, left to right, exactly as the reference sums.
                let sum: f32 = mem[input.clone()].iter().sum();
                mem[*output_at] = sum;
            }
            Step::Attention {
                query,
                key,
                output,
                slot,
                kernel,
            } => {
                let (k, y) = disjoint(mem, key.clone(), output.clone());
                let a = &self.slots[*slot];
                kernel.run(&a.weights, &a.bias, k, y);
                for i in 0..output.len() {
                    mem[output.start + i] *= mem[query + i];
                }
            }
        }
    }
}

/// Memory ranges whose zeroing is observable. A buffer can skip it when the first instruction to
/// touch it writes every element without reading it first; input buffers are overwritten by the
/// input. Everything else (buffers read first, written partly first, or never touched, which a
/// result slice may still return) is zeroed for every sample.
fn ranges_to_zero(model: &ValidModel) -> Vec<Range<usize>> {
    let (info, layout) = (model.info(), model.layout());
    let sz = |b: usize| layout.sizes[b];
    let buffers = layout.sizes.len();
    let mut decided: Vec<bool> = (0..buffers).map(|b| b < layout.input_buffers).collect();
    let mut zero = vec![false; buffers];
    for ins in &info.instructions {
        for (_, b) in ins.reads() {
            if !decided[b] {
                decided[b] = true;
                zero[b] = true;
            }
        }
        let (_, b) = ins.writes();
        if !decided[b] {
            decided[b] = true;
            let whole = match ins {
                Instruction::Dot { .. }
                | Instruction::Attention { .. }
                | Instruction::AddElementwiseBuffers { .. }
                | Instruction::MultiplyElementwiseBuffers { .. } => true,
                Instruction::MultiplyBufferHeads { input, .. }
                | Instruction::AddBufferHeads { input, .. } => sz(input[0]) == sz(b),
                Instruction::ReduceSum { .. } => sz(b) == 1,
                Instruction::Copy {
                    input,
                    internal_index,
                    ..
                } => *internal_index == 0 && sz(*input) == sz(b),
                Instruction::CopyMasked { indexes, .. } => indexes.len() == sz(b),
                Instruction::MapTransform {
                    internal_output_index,
                    size,
                    ..
                } => *internal_output_index == 0 && *size == sz(b),
                // In-place instructions read first, so they never get here.
                _ => false,
            };
            zero[b] = !whole;
        }
    }
    let mut ranges: Vec<Range<usize>> = Vec::new();
    for b in (0..buffers).filter(|&b| zero[b] || !decided[b]) {
        let r = layout.span(b);
        match ranges.last_mut() {
            Some(last) if last.end == r.start => last.end = r.end,
            _ => ranges.push(r),
        }
    }
    ranges
}

/// The MAP_TRANSFORM key: round half away from zero, saturate to i32, NaN to 0 (Rust's `as`).
#[inline]
pub(crate) fn map_key(x: f32) -> i32 {
    x.round() as i32
}

/// `out[h·d + j] = op(data[h·d + j], heads[h])` with `d = |data| / |heads|`, element by element
/// in order. An output longer than the data keeps its remaining values.
fn heads_op(
    mem: &mut [f32],
    data: Range<usize>,
    heads: Range<usize>,
    output_start: usize,
    op: fn(f32, f32) -> f32,
) {
    let dim = data.len() / heads.len();
    for h in 0..heads.len() {
        let head = mem[heads.start + h];
        for j in 0..dim {
            let i = h * dim + j;
            mem[output_start + i] = op(mem[data.start + i], head);
        }
    }
}

/// The slice kernel of an optional activation (none: the identity); `None` for instinct's
/// extensions, which have none and run through [`Activation::apply`].
pub(crate) fn kernel(activation: Option<Activation>) -> Option<Kind> {
    activation.map_or(Some(Kind::Identity), Activation::kind)
}

/// Borrows two non-overlapping ranges of `mem`, the first shared, the second mutable.
/// Validation guarantees the buffers involved are distinct, hence disjoint.
fn disjoint(mem: &mut [f32], read: Range<usize>, write: Range<usize>) -> (&[f32], &mut [f32]) {
    if read.end <= write.start {
        let (a, b) = mem.split_at_mut(write.start);
        (&a[read], &mut b[..write.len()])
    } else {
        debug_assert!(
            write.end <= read.start,
            "validation keeps these buffers apart"
        );
        let (a, b) = mem.split_at_mut(read.start);
        (&b[..read.len()], &mut a[write])
    }
}
