//! The stepped engine: a model run as a sequence of dispatches over a whole batch, each one step
//! of one instruction (a DOT is one dispatch of one invocation per sample and output row; a fold
//! too long for one invocation is cut into chunks that carry their partial result in a scratch
//! buffer). [`SteppedPlan`] plans the steps of a blob on the host; [`stepped_shader`] is the one
//! shader that runs every step of every model. No invocation loops more than
//! [`STEP_ITERATIONS`] times, so every model that fits the compute buffer runs within Mesa's loop
//! budget, whatever its size, and the shader compiles once, small, for all models.

use crate::blob::{
    GpuInstruction, GpuModel, Opcode, activation_code, activation_of_code, is_segment_code,
};
use crate::error::BlobError;
use instinct_format::Activation;

/// Invocations per workgroup of [`stepped_shader`].
pub const STEP_WORKGROUP: u32 = 64;

/// The most elements one invocation of a step loops over; longer folds are cut into chunks.
pub const STEP_ITERATIONS: u32 = 32_768;

/// Bindings of [`stepped_shader`]: group 0, these binding numbers.
pub mod stepped_bindings {
    /// `model_data: array<f32>`, read-only storage: a [`crate::blob::ModelPack`] or one blob.
    pub const MODEL_DATA: u32 = 0;
    /// `inputs: array<f32>`, read-only storage: `feature_size` values per sample.
    pub const INPUTS: u32 = 1;
    /// `outputs: array<f32>`, read-write storage: `output_size` values per sample.
    pub const OUTPUTS: u32 = 2;
    /// `step: StepParams`, uniform (one per step: bind it with a dynamic offset).
    pub const STEP: u32 = 3;
    /// `values: array<f32>`, read-write storage: per sample, its compute buffer then its
    /// scratch values ([`super::RunParams::stride`] values), zeroed before the first step.
    pub const COMPUTE: u32 = 4;
    /// `run: RunParams`, uniform: the batch.
    pub const RUN: u32 = 5;
}

/// One step's uniform, word for word the shader's `Step` (64 bytes). What the fields hold
/// depends on the kernel and operation (`stepped.wgsl` says for each).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct StepParams {
    /// The operation: an [`Opcode`] code, or one of softmax's three phases (101–103).
    pub op: u32,
    /// An activation code applied to each value.
    pub activation: u32,
    /// Compute-buffer position read.
    pub a: u32,
    /// Compute-buffer position written.
    pub b: u32,
    /// Invocations per sample (elements or rows).
    pub width: u32,
    /// First element of a chunk of a fold.
    pub first: u32,
    /// Elements of that chunk.
    pub count: u32,
    /// First operand (a position in the model, or in the compute buffer).
    pub p0: u32,
    /// Second operand.
    pub p1: u32,
    /// Third operand.
    pub p2: u32,
    /// [`FROM_SCRATCH`] and [`TO_SCRATCH`].
    pub flags: u32,
    /// The model's offset in the model buffer.
    pub model: u32,
    /// The bits of the two parameters of `activation`, for the extensions that take them.
    pub parameters: [u32; 2],
    /// Padding to 64 bytes.
    pub pad: [u32; 2],
}

/// Flag: the fold starts from the partial result a previous chunk left in scratch.
pub const FROM_SCRATCH: u32 = 1;
/// Flag: the fold leaves its partial result in scratch for the next chunk.
pub const TO_SCRATCH: u32 = 2;

const SOFTMAX_MAX: u32 = 101;
const SOFTMAX_SUM: u32 = 102;
const SOFTMAX_SCALE: u32 = 103;

/// The batch's uniform, word for word the shader's `Run`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct RunParams {
    /// Samples in this dispatch.
    pub samples: u32,
    /// Values per sample in the `compute` binding: the compute buffer, then the scratch values.
    pub stride: u32,
    /// Where a sample's scratch values start (its compute buffer's size).
    pub scratch_at: u32,
    /// Padding.
    pub pad: u32,
}

/// The entry point a step runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// Features into the compute buffer: one invocation per sample and feature.
    LoadInputs,
    /// The output out of it: one invocation per sample and value.
    StoreOutputs,
    /// A DOT's (or ATTENTION's) rows: one invocation per sample and row.
    DotRows,
    /// One invocation per sample and element.
    Elementwise,
    /// One invocation per sample: folds and order-dependent gathers, a chunk at a time.
    PerSample,
}

impl Kernel {
    /// Every kernel.
    pub const ALL: [Kernel; 5] = [
        Kernel::LoadInputs,
        Kernel::StoreOutputs,
        Kernel::DotRows,
        Kernel::Elementwise,
        Kernel::PerSample,
    ];

    /// Its entry point in [`stepped_shader`].
    pub fn entry_point(self) -> &'static str {
        match self {
            Kernel::LoadInputs => "load_inputs",
            Kernel::StoreOutputs => "store_outputs",
            Kernel::DotRows => "dot_rows",
            Kernel::Elementwise => "elementwise",
            Kernel::PerSample => "per_sample",
        }
    }
}

/// One dispatch: which kernel, with which uniform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// The entry point.
    pub kernel: Kernel,
    /// Its uniform.
    pub params: StepParams,
}

impl Step {
    /// Invocations per sample.
    pub fn width(&self) -> u32 {
        match self.kernel {
            Kernel::PerSample => 1,
            _ => self.params.width,
        }
    }

    /// An upper bound of the loop iterations one invocation runs, counted as Mesa's software
    /// drivers count them (see [`crate::loops::loop_iterations`]): every loop of the entry point costs
    /// at least 1, taken or not, and a loop run costs its iterations + 1.
    pub fn loop_iterations(&self) -> u64 {
        let p = &self.params;
        match self.kernel {
            Kernel::LoadInputs | Kernel::StoreOutputs => 0,
            Kernel::DotRows => p.p1 as u64 / 8 + 1,
            // The only loop is the buffers' fold.
            Kernel::Elementwise => p.count as u64 + 1,
            // Four loops and the bisection; the taken one runs `count` times (the bisection at
            // most 33).
            Kernel::PerSample => 5 + p.count.max(33) as u64 + 1,
        }
    }
}

/// The steps of one model, and the sizes the runtime allocates for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SteppedPlan {
    steps: Vec<Step>,
    feature_size: usize,
    output_size: usize,
    compute_size: usize,
    scratch_size: usize,
}

/// Builds the steps, instruction by instruction.
struct Planner {
    steps: Vec<Step>,
    model: u32,
    scratch_size: usize,
}

impl Planner {
    fn push(&mut self, kernel: Kernel, params: StepParams) {
        // A step of no invocation does nothing; a per-sample step always runs (a sum of no
        // values still writes 0).
        if kernel == Kernel::PerSample || params.width > 0 {
            self.steps.push(Step {
                kernel,
                params: StepParams {
                    model: self.model,
                    ..params
                },
            });
        }
    }

    /// A fold over `n` elements as chunks of at most [`STEP_ITERATIONS`], each chunk `params`
    /// with its range and its scratch flags. `n == 0` still gives one step.
    fn chunks(&mut self, kernel: Kernel, n: u32, params: StepParams) {
        let mut first = 0;
        loop {
            let count = STEP_ITERATIONS.min(n - first);
            let last = first + count == n;
            let mut flags = 0;
            if first > 0 {
                flags |= FROM_SCRATCH;
            }
            if !last {
                flags |= TO_SCRATCH;
            }
            self.push(
                kernel,
                StepParams {
                    first,
                    count,
                    flags,
                    ..params
                },
            );
            if last {
                return;
            }
            first += count;
        }
    }

    /// Softmax (or, for the LOG_SOFTMAX code `kind`, log-softmax) over `n` values at `at`: the
    /// maximum and the sum of exponentials in chunks, then every value scaled (or shifted).
    fn softmax(&mut self, at: u32, n: u32, kind: u32) {
        if n == 0 {
            return;
        }
        self.scratch_size = self.scratch_size.max(2);
        for op in [SOFTMAX_MAX, SOFTMAX_SUM] {
            self.chunks(
                Kernel::PerSample,
                n,
                StepParams {
                    op,
                    a: at,
                    ..StepParams::default()
                },
            );
        }
        self.push(
            Kernel::Elementwise,
            StepParams {
                op: SOFTMAX_SCALE,
                activation: kind,
                a: at,
                width: n,
                ..StepParams::default()
            },
        );
    }

    /// A DOT's affine rows, then its activation (`act` with the parameter bits `parameters`;
    /// softmax and log-softmax as their own steps).
    fn dot(
        &mut self,
        input: u32,
        output: u32,
        rows: u32,
        weights: u32,
        inputs: u32,
        act: (u32, [u32; 2]),
    ) {
        let (act, parameters) = act;
        let softmax = is_segment_code(act);
        self.push(
            Kernel::DotRows,
            StepParams {
                a: input,
                b: output,
                width: rows,
                p0: weights,
                p1: inputs,
                p2: rows,
                activation: if softmax { activation_code(None) } else { act },
                parameters,
                ..StepParams::default()
            },
        );
        if softmax {
            self.softmax(output, rows, act);
        }
    }
}

impl SteppedPlan {
    /// The steps of `blob`, stored at `model_offset` words into the model buffer. Refuses
    /// ([`BlobError::Overlapping`]) an instruction of a blob made elsewhere whose elements read
    /// positions other elements write, which only the per-sample shaders can order; a blob of a
    /// validated model never has one.
    pub fn new(blob: &GpuModel, model_offset: u32) -> Result<SteppedPlan, BlobError> {
        let mut p = Planner {
            steps: Vec::new(),
            model: model_offset,
            scratch_size: 0,
        };
        let weights = blob.weights_offset() as u32;
        let params = blob.params_offset() as u32;
        p.push(
            Kernel::LoadInputs,
            StepParams {
                width: blob.feature_size() as u32,
                ..StepParams::default()
            },
        );
        for (n, g) in blob.instructions().iter().enumerate() {
            elements_apart(blob, n, g, params)?;
            plan_instruction(&mut p, blob, g, weights, params);
        }
        p.push(
            Kernel::StoreOutputs,
            StepParams {
                a: blob.output_start() as u32,
                width: blob.output_size() as u32,
                ..StepParams::default()
            },
        );
        Ok(SteppedPlan {
            steps: p.steps,
            feature_size: blob.feature_size(),
            output_size: blob.output_size(),
            compute_size: blob.compute_buffer_size(),
            scratch_size: p.scratch_size,
        })
    }

    /// The dispatches, in order.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// Input values per sample.
    pub fn feature_size(&self) -> usize {
        self.feature_size
    }

    /// Output values per sample.
    pub fn output_size(&self) -> usize {
        self.output_size
    }

    /// Compute-buffer values per sample.
    pub fn compute_size(&self) -> usize {
        self.compute_size
    }

    /// Scratch values per sample.
    pub fn scratch_size(&self) -> usize {
        self.scratch_size
    }

    /// The most loop iterations any invocation of any step runs (an upper bound, as
    /// [`Step::loop_iterations`]).
    pub fn loop_iterations(&self) -> u64 {
        self.steps
            .iter()
            .map(Step::loop_iterations)
            .max()
            .unwrap_or(0)
    }
}

/// Refuses an instruction run one element per invocation whose element i reads a range that
/// overlaps what other elements write: every range read must be the range written, element for
/// element, or apart from it.
fn elements_apart(
    blob: &GpuModel,
    index: usize,
    g: &GpuInstruction,
    params: u32,
) -> Result<(), BlobError> {
    let n = g.data_size;
    let written = (g.output_ptr, n);
    let reads: Vec<(u32, u32)> = match Opcode::from_code(g.opcode) {
        Some(Opcode::Copy | Opcode::Attention) => vec![(g.input_ptr, n)],
        Some(Opcode::AddBuffers | Opcode::MulBuffers) => {
            let list = (params + g.param0) as usize;
            blob.words()[list..list + g.param1 as usize]
                .iter()
                .map(|&at| (at, n))
                .collect()
        }
        Some(Opcode::MulHeads | Opcode::AddHeads) => vec![(g.input_ptr, n), (g.param0, g.param1)],
        _ => return Ok(()),
    };
    let end = |(at, len): (u32, u32)| at as u64 + len as u64;
    for read in reads {
        let same = read == written;
        let apart = end(read) <= written.0 as u64 || end(written) <= read.0 as u64;
        if !same && !apart {
            return Err(BlobError::Overlapping {
                instruction: index,
                opcode: format!("{:?}", Opcode::from_code(g.opcode)),
                read: format!("{}..{}", read.0, end(read)),
                written: format!("{}..{}", written.0, end(written)),
            });
        }
    }
    Ok(())
}

/// Whether a COPY_MASKED reads a position it also writes, other than each element its own (then
/// element order matters, as on the CPU, and the gather runs in order, per sample).
fn gather_reads_what_it_writes(blob: &GpuModel, g: &GpuInstruction, list: u32) -> bool {
    let written = g.output_ptr as u64..g.output_ptr as u64 + g.data_size as u64;
    let pointers = &blob.words()[list as usize..list as usize + g.data_size as usize];
    pointers
        .iter()
        .enumerate()
        .any(|(i, &src)| written.contains(&(src as u64)) && src as u64 != written.start + i as u64)
}

/// The steps of one instruction (operands as `interpreter.wgsl` reads them).
fn plan_instruction(
    p: &mut Planner,
    blob: &GpuModel,
    g: &GpuInstruction,
    weights: u32,
    params: u32,
) {
    let size = g.data_size;
    let elementwise = |op: Opcode| StepParams {
        op: op as u32,
        a: g.input_ptr,
        b: g.output_ptr,
        width: size,
        ..StepParams::default()
    };
    let Some(op) = Opcode::from_code(g.opcode) else {
        // A checked blob has none; the interpreter skips them too.
        return;
    };
    match op {
        Opcode::Dot => p.dot(
            g.input_ptr,
            g.output_ptr,
            size,
            weights + g.param0,
            g.param1,
            (g.param2, parameter_bits(blob, g)),
        ),
        Opcode::Activation => match activation_of_code(g.param2, [0.0; 2]) {
            Some(Some(_)) if is_segment_code(g.param2) => p.softmax(g.input_ptr, size, g.param2),
            Some(Some(_)) => p.push(
                Kernel::Elementwise,
                StepParams {
                    activation: g.param2,
                    parameters: parameter_bits(blob, g),
                    ..elementwise(op)
                },
            ),
            _ => {}
        },
        Opcode::Add | Opcode::Mul => p.push(
            Kernel::Elementwise,
            StepParams {
                p0: params + g.param0,
                ..elementwise(op)
            },
        ),
        Opcode::Copy => p.push(Kernel::Elementwise, elementwise(op)),
        Opcode::CopyMasked => {
            let list = params + g.param0;
            let step = StepParams {
                p0: list,
                ..elementwise(op)
            };
            if gather_reads_what_it_writes(blob, g, list) {
                p.chunks(Kernel::PerSample, size, step);
            } else {
                p.push(Kernel::Elementwise, step);
            }
        }
        Opcode::Clip => p.push(
            Kernel::Elementwise,
            StepParams {
                p0: params,
                p1: g.param0,
                p2: g.param1,
                ..elementwise(op)
            },
        ),
        Opcode::AddBuffers | Opcode::MulBuffers => {
            if g.param1 > STEP_ITERATIONS {
                p.scratch_size = p.scratch_size.max(size as usize);
            }
            p.chunks(
                Kernel::Elementwise,
                g.param1,
                StepParams {
                    p0: params + g.param0,
                    ..elementwise(op)
                },
            );
        }
        Opcode::MulHeads | Opcode::AddHeads => p.push(
            Kernel::Elementwise,
            StepParams {
                p0: g.param0,
                p1: g.param1,
                ..elementwise(op)
            },
        ),
        Opcode::ReduceSum => {
            p.scratch_size = p.scratch_size.max(1);
            p.chunks(Kernel::PerSample, size, elementwise(op));
        }
        Opcode::MapTransform => {
            // The found position, as two 16-bit halves.
            p.scratch_size = p.scratch_size.max(2);
            p.push(
                Kernel::PerSample,
                StepParams {
                    op: op as u32,
                    a: g.input_ptr,
                    b: g.param2,
                    p0: params,
                    p1: g.param0,
                    p2: g.param1,
                    ..StepParams::default()
                },
            );
            p.push(
                Kernel::Elementwise,
                StepParams {
                    p0: params,
                    ..elementwise(op)
                },
            );
        }
        Opcode::Attention => {
            p.dot(
                g.param2,
                g.output_ptr,
                size,
                weights + g.param0,
                g.param1,
                (activation_code(Some(Activation::Softmax)), [0; 2]),
            );
            p.push(Kernel::Elementwise, elementwise(op));
        }
    }
}

/// The bits of the parameters of `g`'s activation, for its step's uniform.
fn parameter_bits(blob: &GpuModel, g: &GpuInstruction) -> [u32; 2] {
    blob.activation_parameters(g).map(f32::to_bits)
}

/// The shader every step of every model runs: the bindings of [`stepped_bindings`] and one
/// entry point per [`Kernel`], each dispatched over `samples × width` invocations in workgroups
/// of [`STEP_WORKGROUP`] (a 2-D dispatch counted x-major when one dimension is not enough).
///
/// ```
/// instinct_wgsl::validate_wgsl(&instinct_wgsl::stepped_shader()).unwrap();
/// ```
pub fn stepped_shader() -> String {
    format!(
        "// instinct stepped engine\nconst WORKGROUP: u32 = {STEP_WORKGROUP}u;\n\n{}\n{}\n{}\n{}",
        crate::activations::source(),
        include_str!("map_key.wgsl"),
        include_str!("storage_dot.wgsl"),
        include_str!("stepped.wgsl")
    )
}
