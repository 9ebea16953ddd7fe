//! `validation_data` for a quantised model: the f32 model's input rows, the quantised model's
//! outputs, and only the rows that every SIMD level reproduces.
//!
//! An int8 layer rounds `x / scale` to an integer. The levels compute smooth activations
//! within a few ulp of each other, so an input within a hair of a rounding edge could round
//! one way here and the other way on another machine, and the row's outputs would differ by
//! a quantisation step: such a row is no test of a correct engine and is left out.

use crate::options::QuantizeError;
use instinct_cpu::Interpreter;
use instinct_format::{ModelInfo, ValidationData};
use instinct_kernels::int8::{InputQuantization, RowScale};

/// How close to a rounding edge (in steps) an int8 input may lie in a kept row: far above
/// what a few ulp of difference in an activation or a row's range move it (about 1e-4 steps
/// for values up to 255 steps).
const EDGE_MARGIN: f32 = 5e-4;

/// The rows of `data` whose int8 inputs all keep clear of rounding edges, with the outputs
/// of `engine` (the quantised model `info`).
pub(crate) fn revalidate_rows(
    engine: &Interpreter,
    info: &ModelInfo,
    data: &ValidationData,
) -> Result<ValidationData, QuantizeError> {
    let quant: Vec<Option<InputQuantization>> = (0..info.weights.len())
        .map(|slot| {
            let q = info.quantized_slot(slot)?;
            Some(match (q.input_scale, q.input_zero_point) {
                (Some(scale), Some(zero_point)) => InputQuantization::Static { scale, zero_point },
                _ => InputQuantization::Dynamic,
            })
        })
        .collect();
    let mut kept = ValidationData::default();
    for input in &data.inputs {
        let mut clear = true;
        let output = engine.observe_dot_inputs(input, |slot, x| {
            if let Some(q) = quant[slot] {
                clear &= clear_of_edges(x, RowScale::of(q, x));
            }
        })?;
        // The load-time check never matches NaN: such a row checks nothing.
        if clear && !output.iter().any(|v| v.is_nan()) {
            kept.inputs.push(input.clone());
            kept.expected_outputs.push(output);
        }
    }
    Ok(kept)
}

/// Whether no value of `x` lies within [`EDGE_MARGIN`] steps of a rounding edge under `s`.
fn clear_of_edges(x: &[f32], s: RowScale) -> bool {
    x.iter().all(|&v| {
        let steps = v * s.inverse;
        // Far outside the range (or not a number) the value is clamped, not rounded.
        let rounded = steps.abs() <= 256.0;
        !rounded || ((steps - steps.floor()) - 0.5).abs() >= EDGE_MARGIN
    })
}
