//! How a plan runs its int8 DOTs: one step over one row or a tile (the same kernel either
//! way, so a row's result does not depend on its batch), and a model that is a chain of int8
//! DOTs straight from the caller's rows to the caller's outputs.

use crate::batch::TILE;
use crate::plan::{Plan, Step};
use instinct_kernels::TileProduct;
use instinct_kernels::int8::{Int8Kernel, Int8Layer, RowSpan, int8_product, int8_tile_product};
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
        let product = TileProduct {
            m: rows,
            n: output.len(),
            k: input.len(),
            lhs: input.start,
            dst: output.start,
            row_stride: stride,
        };
        // Validation keeps the buffers apart and the shapes equal, so the product fits.
        let fits = instinct_kernels::int8::int8_tile_product(mem, q.layer(*kind), product);
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

    /// Whether the model is a chain of int8 DOTs from the input to the output, each reading
    /// the one before: the batch engine then reads the caller's rows and writes the caller's
    /// outputs directly, with only the layers between in its tile.
    pub(crate) fn is_int8_chain(&self) -> bool {
        let mut current = 0..self.feature_size;
        for step in &self.steps {
            match step {
                Step::QuantizedDot { input, output, .. } if *input == current => {
                    current = output.clone();
                }
                _ => return false,
            }
        }
        current == self.output && !self.steps.is_empty()
    }

    /// The layers of an int8 chain ([`Plan::int8_chain`], a field) with their input and output spans.
    pub(crate) fn int8_layers(
        &self,
    ) -> impl Iterator<Item = (Int8Layer<'_>, &Range<usize>, &Range<usize>)> {
        self.steps.iter().filter_map(|step| match step {
            Step::QuantizedDot {
                input,
                output,
                slot,
                kind,
            } => Some((self.quantized[*slot].as_ref()?.layer(*kind), input, output)),
            _ => None,
        })
    }

    /// Runs an int8 chain over `rows` rows: the first layer reads `inputs` where they are, the
    /// last writes `outputs`, and the layers between go through this thread's tile (rows of
    /// the plan's memory, each buffer at its own offset).
    pub(crate) fn run_int8_chain(&self, rows: usize, inputs: &[f32], outputs: &mut [f32]) {
        let (fs, width, total) = (self.feature_size, self.output.len(), self.memory);
        let at = |offset, stride| RowSpan { offset, stride };
        let layers = self.int8_layers().count();
        if layers == 1 {
            for (layer, _, _) in self.int8_layers() {
                int8_product(layer, rows, inputs, at(0, fs), outputs, at(0, width));
            }
            return;
        }
        TILE.with(|tile| {
            let mut tile = tile.borrow_mut();
            if tile.len() < rows * total {
                tile.resize(rows * total, 0.0);
            }
            for (i, (layer, input, output)) in self.int8_layers().enumerate() {
                // The shapes were validated and the rows counted by the caller, so every call
                // fits.
                let _ = match i {
                    0 => int8_product(
                        layer,
                        rows,
                        inputs,
                        at(0, fs),
                        &mut tile,
                        at(output.start, total),
                    ),
                    i if i + 1 == layers => int8_product(
                        layer,
                        rows,
                        &tile,
                        at(input.start, total),
                        outputs,
                        at(0, width),
                    ),
                    _ => {
                        let product = TileProduct {
                            m: rows,
                            n: output.len(),
                            k: input.len(),
                            lhs: input.start,
                            dst: output.start,
                            row_stride: total,
                        };
                        int8_tile_product(&mut tile, layer, product)
                    }
                };
            }
        });
    }
}
