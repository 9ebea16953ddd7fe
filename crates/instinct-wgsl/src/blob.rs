//! `GpuModel`: a model as one block of 32-bit words for a GPU storage buffer, word for word the
//! layout of instmodel's `GpuModel` version 2 (so blobs and shaders are interchangeable with
//! it), plus two opcodes of ours for MAP_TRANSFORM and ATTENTION and activation codes 13–21 for
//! the format's extensions (whose parameters the instruction's last word points to: only such
//! blobs differ from instmodel's); `ModelPack`: several blobs back to back in one buffer.
//!
//! Layout (every offset in words from the model's start, integers stored as `u32`, values as the
//! bits of `f32`): a 13-word header, 8 words per instruction, the weights region (each slot's
//! matrix row-major, then its bias), the parameters region (the model's parameter vectors, then
//! the index lists and tables instructions need). `docs/GPU.md` has the opcode table.

use crate::error::BlobError;
use instinct_format::{Activation, Instruction};
use instinct_validate::ValidModel;
use std::collections::HashMap;

/// `"GPMI"` read as a little-endian `u32`: the first word of every blob.
pub const MAGIC: u32 = 0x494D_5047;
/// The layout version written (instmodel 1.1's).
pub const VERSION: u32 = 2;
/// Words in the header.
pub const HEADER_WORDS: usize = 13;
/// Words per instruction.
pub const INSTRUCTION_WORDS: usize = 8;
/// The largest compute buffer (values per sample) a blob may need, as in instmodel.
pub const MAX_COMPUTE_BUFFER: usize = 65_536;
/// CLIP_ELEMENTWISE's marker for a side without a bound.
pub const NO_BOUND: u32 = u32::MAX;

/// Index of each header word.
pub mod header {
    /// [`super::MAGIC`].
    pub const MAGIC: usize = 0;
    /// [`super::VERSION`].
    pub const VERSION: usize = 1;
    /// Input values per sample.
    pub const FEATURE_SIZE: usize = 2;
    /// Output values per sample (the last buffer's size).
    pub const OUTPUT_SIZE: usize = 3;
    /// Values of the compute buffer: every buffer, back to back.
    pub const COMPUTE_BUFFER_SIZE: usize = 4;
    /// Number of instructions.
    pub const INSTRUCTION_COUNT: usize = 5;
    /// Where the instructions start (always 13).
    pub const INSTRUCTIONS_OFFSET: usize = 6;
    /// Where the weights region starts.
    pub const WEIGHTS_OFFSET: usize = 7;
    /// Words in the weights region.
    pub const WEIGHTS_COUNT: usize = 8;
    /// Where the parameters region starts.
    pub const PARAMS_OFFSET: usize = 9;
    /// Words in the parameters region.
    pub const PARAMS_COUNT: usize = 10;
    /// Where the output starts in the compute buffer.
    pub const OUTPUT_START: usize = 11;
    /// Words in the whole blob; the next model of a pack starts there.
    pub const FULL_MODEL_SIZE: usize = 12;
}

/// Instruction codes. 1–12 are instmodel's (version 2); 13 and 14 are ours, for the two
/// instructions instmodel runs on the CPU only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Opcode {
    /// DOT.
    Dot = 1,
    /// ACTIVATION.
    Activation = 2,
    /// ADD_ELEMENTWISE.
    Add = 3,
    /// MUL_ELEMENTWISE.
    Mul = 4,
    /// COPY.
    Copy = 5,
    /// COPY_MASKED.
    CopyMasked = 6,
    /// CLIP_ELEMENTWISE.
    Clip = 7,
    /// ADD_ELEMENTWISE_BUFFERS.
    AddBuffers = 8,
    /// MULTIPLY_ELEMENTWISE_BUFFERS.
    MulBuffers = 9,
    /// MULTIPLY_BUFFER_HEADS.
    MulHeads = 10,
    /// ADD_BUFFER_HEADS.
    AddHeads = 11,
    /// REDUCE_SUM.
    ReduceSum = 12,
    /// MAP_TRANSFORM (ours).
    MapTransform = 13,
    /// ATTENTION (ours).
    Attention = 14,
}

impl Opcode {
    /// Every opcode, in code order.
    pub const ALL: [Opcode; 14] = [
        Opcode::Dot,
        Opcode::Activation,
        Opcode::Add,
        Opcode::Mul,
        Opcode::Copy,
        Opcode::CopyMasked,
        Opcode::Clip,
        Opcode::AddBuffers,
        Opcode::MulBuffers,
        Opcode::MulHeads,
        Opcode::AddHeads,
        Opcode::ReduceSum,
        Opcode::MapTransform,
        Opcode::Attention,
    ];

    /// The opcode of a code, if it is one.
    pub fn from_code(code: u32) -> Option<Opcode> {
        Opcode::ALL.into_iter().find(|o| *o as u32 == code)
    }
}

/// The code of an activation in a blob: instmodel's numbering (0 is none, 1–12), then
/// instinct's extensions (13–21), as [`Activation::BY_CODE`] orders them. An extension's
/// parameters are not in the code: they are two words of the parameters region, at the
/// instruction's `reserved` word ([`GpuModel::activation_parameters`]).
pub fn activation_code(activation: Option<Activation>) -> u32 {
    Activation::code_of(activation)
}

/// The activation of a code, with `parameters` for the kinds that take them (the rest ignore
/// them): `Some(None)` for 0, `None` for a code that is not one.
pub fn activation_of_code(code: u32, parameters: [f32; 2]) -> Option<Option<Activation>> {
    Activation::from_code(code, parameters)
}

/// Whether the activation of `code` normalises over its whole segment (SOFTMAX, LOG_SOFTMAX)
/// rather than value by value.
pub fn is_segment_code(code: u32) -> bool {
    matches!(
        activation_of_code(code, [0.0; 2]),
        Some(Some(Activation::Softmax | Activation::LogSoftmax))
    )
}

/// Whether the activation of `code` has parameters in the parameters region.
pub fn takes_parameters(code: u32) -> bool {
    activation_of_code(code, [0.0; 2])
        .is_some_and(|a| a.is_some_and(|a| !a.parameters().is_empty()))
}

/// One instruction: eight words. What each field holds depends on the opcode (`docs/GPU.md`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct GpuInstruction {
    /// An [`Opcode`].
    pub opcode: u32,
    /// Compute-buffer position read.
    pub input_ptr: u32,
    /// Compute-buffer position written.
    pub output_ptr: u32,
    /// Values processed.
    pub data_size: u32,
    /// First operand.
    pub param0: u32,
    /// Second operand.
    pub param1: u32,
    /// Third operand.
    pub param2: u32,
    /// For a DOT or an ACTIVATION whose activation takes parameters: where its two parameter
    /// words are in the parameters region; otherwise 0.
    pub reserved: u32,
}

/// A model as one block of words for a GPU storage buffer (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpuModel {
    pub(crate) words: Vec<u32>,
}

/// Converts a length or position to a blob word.
fn word(n: usize) -> Result<u32, BlobError> {
    u32::try_from(n).map_err(|_| BlobError::TooLarge { words: n })
}

fn bits(values: &[f32]) -> impl Iterator<Item = u32> + '_ {
    values.iter().map(|v| v.to_bits())
}

impl GpuModel {
    /// The blob of a validated model. Fails on size (a compute buffer over
    /// [`MAX_COMPUTE_BUFFER`] values or a blob over `u32::MAX` words) and on a quantised model.
    pub fn from_model(model: &ValidModel) -> Result<GpuModel, BlobError> {
        let info = model.info();
        let layout = model.layout();
        if info.quantization.is_some() {
            return Err(BlobError::Quantized);
        }
        if layout.total > MAX_COMPUTE_BUFFER {
            return Err(BlobError::ComputeBufferTooLarge {
                required: layout.total,
                max: MAX_COMPUTE_BUFFER,
            });
        }
        // Every buffer position fits: the compute buffer is small.
        let at = |b: usize| layout.offsets[b] as u32;
        let size = |b: usize| layout.sizes[b] as u32;

        let mut weights: Vec<u32> = Vec::new();
        let mut slot_at = Vec::with_capacity(info.weights.len());
        for (rows, bias) in info.weights.iter().zip(&info.bias) {
            slot_at.push(word(weights.len())?);
            for row in rows {
                weights.extend(bits(row));
            }
            weights.extend(bits(bias));
        }
        let mut params: Vec<u32> = Vec::new();
        let mut param_at = Vec::with_capacity(info.parameters().len());
        for p in info.parameters() {
            param_at.push(word(params.len())?);
            params.extend(bits(p));
        }

        // Each map's table (sorted keys, each entry's values at full length) is written once,
        // at its first MAP_TRANSFORM, and shared by the others, which read their first `size`
        // values: one table per instruction was O(instructions x entries) words and sorts.
        let mut tables: HashMap<usize, (u32, u32)> = HashMap::new();
        let mut instructions = Vec::with_capacity(info.instructions.len());
        for ins in &info.instructions {
            let mut g = GpuInstruction::default();
            if let Some(activation) = ins.activation().filter(|a| !a.parameters().is_empty()) {
                g.reserved = word(params.len())?;
                params.extend(bits(&activation.parameter_values()));
            }
            match ins {
                Instruction::Dot {
                    input,
                    output,
                    weights: slot,
                    activation,
                } => {
                    g.opcode = Opcode::Dot as u32;
                    (g.input_ptr, g.output_ptr, g.data_size) =
                        (at(*input), at(*output), size(*output));
                    (g.param0, g.param1, g.param2) =
                        (slot_at[*slot], size(*input), activation_code(*activation));
                }
                Instruction::Activation { input, activation } => {
                    g.opcode = Opcode::Activation as u32;
                    (g.input_ptr, g.output_ptr, g.data_size) =
                        (at(*input), at(*input), size(*input));
                    g.param2 = activation_code(Some(*activation));
                }
                Instruction::AddElementwise { input, parameters }
                | Instruction::MulElementwise { input, parameters } => {
                    g.opcode = if matches!(ins, Instruction::AddElementwise { .. }) {
                        Opcode::Add as u32
                    } else {
                        Opcode::Mul as u32
                    };
                    (g.input_ptr, g.output_ptr, g.data_size) =
                        (at(*input), at(*input), size(*input));
                    g.param0 = param_at[*parameters];
                }
                Instruction::Copy {
                    input,
                    output,
                    internal_index,
                } => {
                    g.opcode = Opcode::Copy as u32;
                    g.input_ptr = at(*input);
                    g.output_ptr = at(*output) + *internal_index as u32;
                    g.data_size = size(*input);
                }
                Instruction::CopyMasked {
                    input,
                    output,
                    indexes,
                } => {
                    g.opcode = Opcode::CopyMasked as u32;
                    g.output_ptr = at(*output);
                    g.data_size = word(indexes.len())?;
                    g.param0 = word(params.len())?;
                    params.extend(indexes.iter().map(|&i| at(*input) + i as u32));
                }
                Instruction::ClipElementwise {
                    input,
                    parameters_min,
                    parameters_max,
                } => {
                    g.opcode = Opcode::Clip as u32;
                    (g.input_ptr, g.output_ptr, g.data_size) =
                        (at(*input), at(*input), size(*input));
                    g.param0 = parameters_min.map_or(NO_BOUND, |p| param_at[p]);
                    g.param1 = parameters_max.map_or(NO_BOUND, |p| param_at[p]);
                }
                Instruction::AddElementwiseBuffers { input, output }
                | Instruction::MultiplyElementwiseBuffers { input, output } => {
                    g.opcode = if matches!(ins, Instruction::AddElementwiseBuffers { .. }) {
                        Opcode::AddBuffers as u32
                    } else {
                        Opcode::MulBuffers as u32
                    };
                    (g.output_ptr, g.data_size) = (at(*output), size(*output));
                    g.param0 = word(params.len())?;
                    g.param1 = word(input.len())?;
                    params.extend(input.iter().map(|&b| at(b)));
                }
                Instruction::MultiplyBufferHeads { input, output }
                | Instruction::AddBufferHeads { input, output } => {
                    g.opcode = if matches!(ins, Instruction::MultiplyBufferHeads { .. }) {
                        Opcode::MulHeads as u32
                    } else {
                        Opcode::AddHeads as u32
                    };
                    let (data, heads) = (input[0], input[1]);
                    (g.input_ptr, g.output_ptr, g.data_size) = (at(data), at(*output), size(data));
                    (g.param0, g.param1) = (at(heads), size(heads));
                }
                Instruction::ReduceSum { input, output } => {
                    g.opcode = Opcode::ReduceSum as u32;
                    (g.input_ptr, g.output_ptr, g.data_size) =
                        (at(*input), at(*output), size(*input));
                }
                Instruction::MapTransform {
                    input,
                    output,
                    internal_input_index,
                    internal_output_index,
                    map,
                    size: n,
                    default,
                } => {
                    g.opcode = Opcode::MapTransform as u32;
                    g.input_ptr = at(*input) + *internal_input_index as u32;
                    g.output_ptr = at(*output) + *internal_output_index as u32;
                    g.data_size = *n as u32;
                    (g.param0, g.param1) = match tables.get(map) {
                        Some(&table) => table,
                        None => {
                            let mut entries = model.map_entries(*map);
                            entries.sort_by_key(|(key, _)| *key);
                            // The table: (key, where its values start) per entry, sorted by
                            // key for a binary search; then each entry's values.
                            let table_at = (word(params.len())?, word(entries.len())?);
                            let table = params.len();
                            params.resize(table + 2 * entries.len(), 0);
                            for (e, (key, values)) in entries.iter().enumerate() {
                                params[table + 2 * e] = *key as u32;
                                params[table + 2 * e + 1] = word(params.len())?;
                                params.extend(bits(values));
                            }
                            tables.insert(*map, table_at);
                            table_at
                        }
                    };
                    // Then this instruction's default.
                    g.param2 = word(params.len())?;
                    params.extend(bits(&default[..*n]));
                }
                Instruction::Attention {
                    input,
                    key,
                    output,
                    weights: slot,
                } => {
                    g.opcode = Opcode::Attention as u32;
                    (g.input_ptr, g.output_ptr, g.data_size) =
                        (at(*input), at(*output), size(*output));
                    (g.param0, g.param1, g.param2) = (slot_at[*slot], size(*key), at(*key));
                }
            }
            instructions.push(g);
        }

        let n = instructions.len();
        let weights_at = HEADER_WORDS + INSTRUCTION_WORDS * n;
        let params_at = weights_at + weights.len();
        let full = params_at + params.len();
        let head = [
            MAGIC,
            VERSION,
            word(layout.feature_size)?,
            size(layout.sizes.len() - 1),
            word(layout.total)?,
            word(n)?,
            HEADER_WORDS as u32,
            word(weights_at)?,
            word(weights.len())?,
            word(params_at)?,
            word(params.len())?,
            at(layout.sizes.len() - 1),
            word(full)?,
        ];
        let mut words = Vec::with_capacity(full);
        words.extend(head);
        words.extend(bytemuck::cast_slice::<GpuInstruction, u32>(&instructions));
        words.extend(weights);
        words.extend(params);
        Ok(GpuModel { words })
    }

    /// The words.
    pub fn words(&self) -> &[u32] {
        &self.words
    }

    /// The words as bytes (native order), for a buffer upload.
    pub fn as_bytes(&self) -> &[u8] {
        bytemuck::cast_slice(&self.words)
    }

    /// A header word ([`header`]).
    pub fn header(&self, index: usize) -> u32 {
        self.words[index]
    }

    /// Input values per sample.
    pub fn feature_size(&self) -> usize {
        self.header(header::FEATURE_SIZE) as usize
    }

    /// Output values per sample.
    pub fn output_size(&self) -> usize {
        self.header(header::OUTPUT_SIZE) as usize
    }

    /// Where the output starts in the compute buffer.
    pub fn output_start(&self) -> usize {
        self.header(header::OUTPUT_START) as usize
    }

    /// Values of the compute buffer one sample needs.
    pub fn compute_buffer_size(&self) -> usize {
        self.header(header::COMPUTE_BUFFER_SIZE) as usize
    }

    /// Words in the blob.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Never true: a blob has at least its header.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The instructions.
    pub fn instructions(&self) -> &[GpuInstruction] {
        let start = self.header(header::INSTRUCTIONS_OFFSET) as usize;
        let n = self.header(header::INSTRUCTION_COUNT) as usize;
        bytemuck::cast_slice(&self.words[start..start + n * INSTRUCTION_WORDS])
    }

    /// Where the weights region starts.
    pub fn weights_offset(&self) -> usize {
        self.header(header::WEIGHTS_OFFSET) as usize
    }

    /// Where the parameters region starts.
    pub fn params_offset(&self) -> usize {
        self.header(header::PARAMS_OFFSET) as usize
    }

    /// The activation of a DOT or ACTIVATION instruction (its code in `param2`), with its
    /// parameters read from the parameters region.
    pub fn activation(&self, g: &GpuInstruction) -> Option<Option<Activation>> {
        activation_of_code(g.param2, self.activation_parameters(g))
    }

    /// The two parameter words of `g`'s activation (zeros for an activation without any).
    pub fn activation_parameters(&self, g: &GpuInstruction) -> [f32; 2] {
        if !takes_parameters(g.param2) {
            return [0.0; 2];
        }
        let at = self.params_offset() + g.reserved as usize;
        [0, 1].map(|k| self.words.get(at + k).map_or(0.0, |w| f32::from_bits(*w)))
    }
}

/// Several blobs back to back in one buffer; each is found by its `model_offset`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelPack {
    words: Vec<u32>,
    offsets: Vec<u32>,
}

impl ModelPack {
    /// An empty pack.
    pub fn new() -> ModelPack {
        ModelPack::default()
    }

    /// Appends a blob and returns its `model_offset` (the `predict` argument).
    pub fn push(&mut self, model: &GpuModel) -> Result<u32, BlobError> {
        let offset = word(self.words.len())?;
        word(self.words.len() + model.len())?;
        self.words.extend_from_slice(model.words());
        self.offsets.push(offset);
        Ok(offset)
    }

    /// Every model's offset, in the order pushed.
    pub fn offsets(&self) -> &[u32] {
        &self.offsets
    }

    /// The words of every model.
    pub fn words(&self) -> &[u32] {
        &self.words
    }

    /// The words as bytes (native order), for a buffer upload.
    pub fn as_bytes(&self) -> &[u8] {
        bytemuck::cast_slice(&self.words)
    }
}
