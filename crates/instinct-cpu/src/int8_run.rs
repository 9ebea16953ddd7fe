//! How a plan runs its int8 DOTs: one step over one row or a tile, with the same kernel either
//! way, so a row's result does not depend on its batch.

use crate::plan::{Plan, Step};
use instinct_kernels::TileProduct;
use instinct_kernels::int8::{Int8Kernel, int8_tile_product};
use std::ops::Range;

impl Step {
    /// A DOT's weight slot and input span (f32 or int8).
    pub(crate) fn dot_input(&self) -> Option<(usize, Range<usize>)> {
        match self {
            Step::Dot { input, slot, .. } | Step::QuantizedDot { input, slot, .. } => {
                Some((*slot, input.clone()))
            }
            _ => None,
        }
    }
}

impl Plan {
    /// Runs a [`Step::QuantizedDot`] over `rows` rows of `stride` values: the int8 product into
    /// the output, then the activation on each row. One row and a tile run the same kernel, so
    /// a row's result does not depend on the rows around it.
    pub(crate) fn run_quantized(&self, step: &Step, mem: &mut [f32], rows: usize, stride: usize) {
        let Step::QuantizedDot {
            input,
            output,
            slot,
            kind,
        } = step
        else {
            return;
        };
        let Some(q) = &self.quantized[*slot] else {
            return; // the plan makes this step only for quantised slots
        };
        let product = TileProduct::between(rows, input.clone(), output.clone(), stride);
        // Validation keeps the buffers apart and the shapes equal, so the product fits.
        let fits = int8_tile_product(mem, q.layer(*kind), product);
        debug_assert!(fits, "validation guarantees the int8 product's shape");
    }

    /// The int8 kernel of the plan's quantised layers, when it has any.
    pub fn int8_kernel(&self) -> Option<Int8Kernel> {
        self.quantized
            .iter()
            .flatten()
            .next()
            .map(|q| q.weights.kernel())
    }
}
