//! Loop iterations per invocation, counted the way Mesa's software drivers (llvmpipe, lavapipe)
//! count them: one budget of [`LOOP_CAP`] for the whole invocation, every run of a loop costing
//! its iterations + 1, nested loops counting at every level. Past the budget those drivers leave
//! every loop at once, without an error, and the results are wrong; a shader whose count fits
//! runs to the end. Hardware drivers have no such budget.
//!
//! Those drivers run control flow under lane masks: a loop in a branch not taken is still
//! entered, with no lane active, and costs 1. So every function call is charged one iteration per
//! loop it contains, and the interpreter's instruction loop one per loop of its whole `switch`
//! (measured on lavapipe, Mesa 22.3: an ADD_ELEMENTWISE of 64 values costs about 95 in the
//! library mode, 65 of them its own loop). The counts here are upper bounds: a shader whose count
//! is at most [`LOOP_CAP`] runs to the end (the GPU tests check this at the boundary).

use crate::blob::{GpuInstruction, GpuModel, Opcode, activation_of_code, is_segment_code};
use crate::specialized::{DOT_CHUNK, unroll_plan};

/// The loop iterations Mesa's software drivers allow one invocation.
pub const LOOP_CAP: u64 = 65_535;

/// How `predict` is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// [`crate::library::wgsl_library`]: the blob interpreted at run time.
    Library,
    /// [`crate::specialized::specialized_library`]: the model's structure baked in.
    Specialized,
}

/// `apply_softmax_or_log` (SOFTMAX, LOG_SOFTMAX) over `n` values: a maximum loop from the second
/// value, an exponential loop and a final loop.
fn softmax(n: u64) -> u64 {
    n.max(1) + 2 * (n + 1)
}

/// `execute_dot`: the loop over outputs, each output's loop of eight products, the softmax.
fn dot(outputs: u64, inputs: u64, activation: u32) -> u64 {
    let softmax_cost = if is_segment_code(activation) {
        softmax(outputs)
    } else {
        0
    };
    outputs + 1 + outputs * (inputs / 8 + 1) + softmax_cost
}

/// Loops in the `execute_*` function of `op` outside any other loop of it (each costs at least 1
/// whenever the function runs, taken or not).
fn top_loops(op: Option<Opcode>) -> u64 {
    match op {
        // The loop over outputs and apply_softmax's three.
        Some(Opcode::Dot) => 4,
        // Its own loop and apply_softmax's three.
        Some(Opcode::Activation) => 4,
        // Forwards and backwards.
        Some(Opcode::Copy) => 2,
        // The bisection and the copy.
        Some(Opcode::MapTransform) => 2,
        // execute_dot's four and the product.
        Some(Opcode::Attention) => 5,
        _ => 1,
    }
}

/// What the interpreter's instruction loop costs per instruction beyond the instruction's own
/// function: one per loop of every other case of its `switch` (26 loops in all) and a margin for
/// the lowering of early returns.
const SWITCH_OVERHEAD: u64 = 32;

/// The iterations of one instruction run by its `execute_*` function, including one for each of
/// the function's loops that is not taken.
fn by_function(g: &GpuInstruction) -> u64 {
    own(g) + top_loops(Opcode::from_code(g.opcode))
}

/// The iterations of the loops that run.
fn own(g: &GpuInstruction) -> u64 {
    let size = g.data_size as u64;
    match Opcode::from_code(g.opcode) {
        Some(Opcode::Dot) => dot(size, g.param1 as u64, g.param2),
        Some(Opcode::Activation) => match activation_of_code(g.param2, [0.0; 2]) {
            Some(None) => 0,
            _ if is_segment_code(g.param2) => softmax(size),
            _ => size + 1,
        },
        Some(Opcode::AddBuffers | Opcode::MulBuffers) => size + 1 + size * g.param1 as u64,
        Some(Opcode::MapTransform) => {
            // The bisection halves the range every step.
            let steps = 64 - (g.param1 as u64).leading_zeros() as u64;
            steps + 1 + size + 1
        }
        Some(Opcode::Attention) => dot(size, g.param1 as u64, 3) + size + 1,
        _ => size + 1,
    }
}

/// The loop iterations one call of `predict` costs for `model` in `mode`.
pub fn loop_iterations(model: &GpuModel, mode: Mode) -> u64 {
    let instructions = model.instructions();
    match mode {
        Mode::Library => {
            1 + instructions
                .iter()
                .map(|g| 1 + SWITCH_OVERHEAD + by_function(g))
                .sum::<u64>()
        }
        Mode::Specialized => instructions
            .iter()
            .zip(unroll_plan(instructions))
            .map(|(g, unroll)| specialized(g, unroll))
            .sum(),
    }
}

/// The iterations of one instruction as the specialised mode writes it: unrolled, a loop of its
/// own (DOT, ACTIVATION: exactly their iterations), or a call. `unrolled`: as
/// `unroll_plan` decided for it.
fn specialized(g: &GpuInstruction, unrolled: bool) -> u64 {
    let size = g.data_size as u64;
    let softmax_cost = |act: u32| {
        if is_segment_code(act) {
            softmax(size)
        } else {
            0
        }
    };
    match Opcode::from_code(g.opcode) {
        Some(Opcode::Dot) if unrolled => softmax_cost(g.param2),
        Some(Opcode::Dot) => {
            let chunks = g.param1 as u64 / DOT_CHUNK;
            // The loop over outputs, and each output's loop over chunks when it has one.
            let inner = if chunks > 0 { chunks + 1 } else { 0 };
            size + 1 + size * inner + softmax_cost(g.param2)
        }
        Some(Opcode::Activation) => match activation_of_code(g.param2, [0.0; 2]) {
            Some(None) => 0,
            _ if is_segment_code(g.param2) => softmax(size),
            _ if unrolled => 0,
            _ => size + 1,
        },
        _ if unrolled => 0,
        _ => by_function(g),
    }
}

/// [`loop_iterations`] plus the standalone shader's loops that copy the features in and the
/// output out.
pub fn standalone_loop_iterations(model: &GpuModel, mode: Mode) -> u64 {
    loop_iterations(model, mode) + model.feature_size() as u64 + 1 + model.output_size() as u64 + 1
}
