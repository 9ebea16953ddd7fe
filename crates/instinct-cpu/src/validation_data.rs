//! Running a model's own `validation_data` and reporting every row it does not reproduce.

use crate::interpreter::Interpreter;
use instinct_validate::{Diagnostic, DiagnosticKind, Diagnostics, ValidModel};

/// Absolute tolerance of the validation-data check, the reference's.
pub const VALIDATION_TOLERANCE: f32 = 1e-5;

/// Runs every `validation_data` row and reports each row whose output differs from the expected
/// one by more than [`VALIDATION_TOLERANCE`] (first differing value per row). NaN never matches
/// (the reference lets it pass); equal infinities match.
pub fn check_validation_data(
    model: &ValidModel,
    interpreter: &Interpreter,
) -> Result<(), Diagnostics> {
    let Some(data) = &model.info().validation_data else {
        return Ok(());
    };
    let mut memory = vec![0.0; interpreter.required_memory()];
    let mut output = vec![0.0; interpreter.output_size()];
    let mut problems = Vec::new();
    for (row, (input, expected)) in data.inputs.iter().zip(&data.expected_outputs).enumerate() {
        // Row lengths were checked by validation.
        if interpreter
            .predict_into(input, &mut memory, &mut output)
            .is_err()
        {
            continue;
        }
        let bad = output.iter().zip(expected).enumerate().find(|(_, (c, e))| {
            let same = c == e || (*c - *e).abs() <= VALIDATION_TOLERANCE;
            !same || c.is_nan() || e.is_nan()
        });
        if let Some((index, (&computed, &expected))) = bad {
            problems.push(Diagnostic {
                path: format!("validation_data.expected_outputs[{row}][{index}]"),
                kind: DiagnosticKind::ValidationMismatch {
                    row,
                    index,
                    expected,
                    computed,
                    tolerance: VALIDATION_TOLERANCE,
                },
            });
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Diagnostics(problems))
    }
}
