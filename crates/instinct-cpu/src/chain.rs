//! A model that is a chain of DOTs from the input to the output (each reading the one before,
//! every one int8, or f32 with an activation the AVX-512 tile kernel fuses): the batch engine
//! runs it layer by layer straight from the caller's rows to the caller's outputs, with only
//! the layers between in its tile, and no pass over the outputs for the bias or the
//! activation. A chain of int8 layers only goes to the kernel whole ([`int8_chain`]), which
//! keeps the values between the layers in its own buffers. The values are the tile path's,
//! bit for bit.

use crate::batch::TILE;
use crate::plan::{Plan, Step};
use instinct_kernels::int8::{Int8Layer, int8_chain, int8_product, int8_tile_product};
use instinct_kernels::packed::fuses;
use instinct_kernels::{RowSpan, TileProduct, packed_layer, packed_tile_layer};

impl Plan {
    /// Whether the model is such a chain at `level`.
    pub(crate) fn is_dot_chain(&self, level: instinct_kernels::simd::Level) -> bool {
        let mut current = 0..self.feature_size;
        for step in &self.steps {
            match step {
                Step::QuantizedDot { input, output, .. } if *input == current => {
                    current = output.clone();
                }
                Step::Dot {
                    input,
                    output,
                    kind,
                    ..
                } if *input == current && fuses(level, *kind) => current = output.clone(),
                _ => return false,
            }
        }
        current == self.output && !self.steps.is_empty()
    }

    /// Runs a chain over `rows` rows: the first layer reads `inputs` where they are, the last
    /// writes `outputs`, and the layers between go through this thread's tile (rows of the
    /// plan's memory, each buffer at its own offset). Returns `false` when a layer did not fit,
    /// which the plan's checks rule out (a debug build stops there); the caller then runs the
    /// rows through the tile path, which overwrites whatever was written.
    pub(crate) fn run_dot_chain(&self, rows: usize, inputs: &[f32], outputs: &mut [f32]) -> bool {
        let (fs, width, total) = (self.feature_size, self.output.len(), self.memory);
        if let Some(layers) = self.int8_layers() {
            // Every layer int8: the kernel runs the chain, with the values between the layers
            // in its own buffers (quantised in registers where it can).
            let span = |stride| RowSpan { offset: 0, stride };
            let ran = int8_chain(&layers, rows, inputs, span(fs), outputs, span(width));
            debug_assert!(
                ran,
                "the int8 chain did not fit: the plan's checks missed it"
            );
            return ran;
        }
        let last = self.steps.len() - 1;
        TILE.with(|tile| {
            let mut tile = tile.borrow_mut();
            if last > 0 && tile.len() < rows * total {
                tile.resize(rows * total, 0.0);
            }
            for (i, step) in self.steps.iter().enumerate() {
                // The shapes were validated and the rows counted by the caller, so every call
                // fits; the plan checked the activations fuse (`Plan::runs_as_dot_chain`).
                let ran = match (i, i == last) {
                    (0, true) => self.layer_between(step, rows, inputs, fs, outputs, 0, width),
                    (0, false) => {
                        let to = step_output(step).start;
                        self.layer_between(step, rows, inputs, fs, &mut tile, to, total)
                    }
                    (_, true) => {
                        let from = step_input(step).start;
                        self.layer_between(step, rows, &tile[from..], total, outputs, 0, width)
                    }
                    _ => self.layer_in_tile(step, rows, &mut tile, total),
                };
                debug_assert!(
                    ran,
                    "chain layer {i} did not fit: the plan's checks missed it"
                );
                if !ran {
                    return false;
                }
            }
            true
        })
    }

    /// The layers of a chain whose every step is an int8 DOT, in order; `None` when one is not.
    fn int8_layers(&self) -> Option<Vec<Int8Layer<'_>>> {
        self.steps
            .iter()
            .map(|step| match step {
                Step::QuantizedDot { slot, kind, .. } => {
                    self.quantized[*slot].as_ref().map(|q| q.layer(*kind))
                }
                _ => None,
            })
            .collect()
    }

    /// One layer from rows of `input` (`from_stride` apart, starting at its start) into rows
    /// of `output` (`to_stride` apart, starting at `to`).
    #[allow(clippy::too_many_arguments)]
    fn layer_between(
        &self,
        step: &Step,
        rows: usize,
        input: &[f32],
        from_stride: usize,
        output: &mut [f32],
        to: usize,
        to_stride: usize,
    ) -> bool {
        let from = RowSpan {
            offset: 0,
            stride: from_stride,
        };
        let to = RowSpan {
            offset: to,
            stride: to_stride,
        };
        match step {
            Step::QuantizedDot { slot, kind, .. } => match &self.quantized[*slot] {
                Some(q) => int8_product(q.layer(*kind), rows, input, from, output, to),
                None => false,
            },
            Step::Dot { slot, kind, .. } => {
                let a = &self.slots[*slot];
                packed_layer(&a.weights, &a.bias, *kind, rows, input, from, output, to)
            }
            _ => false,
        }
    }

    /// One layer between two buffers of the tile's rows.
    fn layer_in_tile(&self, step: &Step, rows: usize, tile: &mut [f32], total: usize) -> bool {
        let (input, output) = (step_input(step), step_output(step));
        let product = TileProduct::between(rows, input.clone(), output.clone(), total);
        match step {
            Step::QuantizedDot { slot, kind, .. } => match &self.quantized[*slot] {
                Some(q) => int8_tile_product(tile, q.layer(*kind), product),
                None => false,
            },
            Step::Dot { slot, kind, .. } => {
                let a = &self.slots[*slot];
                packed_tile_layer(tile, &a.weights, &a.bias, *kind, product)
            }
            _ => false,
        }
    }
}

/// A chain step's input span.
fn step_input(step: &Step) -> std::ops::Range<usize> {
    step.dot_input().map_or(0..0, |(_, span)| span)
}

/// A chain step's output span.
fn step_output(step: &Step) -> std::ops::Range<usize> {
    match step {
        Step::Dot { output, .. } | Step::QuantizedDot { output, .. } => output.clone(),
        _ => 0..0,
    }
}
