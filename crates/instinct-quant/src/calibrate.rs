//! Running the f32 model over the calibration rows: every DOT's inputs as the DOT sees them
//! (per weight slot) and the model's outputs.

use crate::options::QuantizeError;
use instinct_cpu::Interpreter;

/// What the f32 model did with the calibration rows.
pub(crate) struct Calibration {
    /// Per weight slot: the input rows its DOTs read (`k` values each), back to back.
    pub inputs: Vec<Vec<f32>>,
    /// The outputs, `rows × output_size`.
    pub outputs: Vec<f32>,
    /// Rows run.
    pub rows: usize,
}

/// Runs `rows` (`n × feature_size`) through `interpreter`, recording each DOT's input.
pub(crate) fn calibrate(
    interpreter: &Interpreter,
    slots: usize,
    rows: &[f32],
) -> Result<Calibration, QuantizeError> {
    let fs = interpreter.feature_size();
    let mut inputs = vec![Vec::new(); slots];
    let mut outputs = Vec::with_capacity(rows.len() / fs * interpreter.output_size());
    for row in rows.chunks_exact(fs) {
        let y = interpreter.observe_dot_inputs(row, |slot, x| inputs[slot].extend_from_slice(x))?;
        outputs.extend_from_slice(&y);
    }
    Ok(Calibration {
        inputs,
        outputs,
        rows: rows.len() / fs,
    })
}
