//! `validation_data` is checked on load: a wrong expectation or a NaN result is a diagnostic with
//! the row's path (the reference lets NaN pass, because `|NaN - x| > 1e-5` is false).

use instinct::{DiagnosticKind, LoadError, Model};

fn load(json: &str) -> Result<Model, LoadError> {
    Model::from_json_str(json)
}

#[test]
fn matching_rows_load() {
    // sigmoid(0.5·1 - 0.3·0.5 + 0.1) = sigmoid(0.45)
    let expected = 1.0 / (1.0 + (-0.45f64).exp());
    let json = format!(
        r#"{{"features": ["a", "b"], "buffer_sizes": [2, 1],
        "instructions": [{{"type": "DOT", "input": 0, "output": 1, "weights": 0, "activation": "SIGMOID"}}],
        "weights": [[[0.5, -0.3]]], "bias": [[0.1]],
        "validation_data": {{"inputs": [[1.0, 0.5]], "expected_outputs": [[{expected}]]}}}}"#
    );
    assert!(load(&json).is_ok());
}

#[test]
fn a_wrong_expectation_names_the_row_and_value() {
    let json = r#"{"feature_size": 1, "buffer_sizes": [1, 2],
        "instructions": [{"type": "DOT", "input": 0, "output": 1, "weights": 0}],
        "weights": [[[2.0], [3.0]]], "bias": [[0.0, 0.0]],
        "validation_data": {"inputs": [[1.0], [2.0]], "expected_outputs": [[2.0, 3.0], [4.0, 6.5]]}}"#;
    let Err(LoadError::Invalid(problems)) = load(json) else {
        panic!("the second row must fail");
    };
    assert_eq!(problems.len(), 1);
    assert_eq!(problems.0[0].path, "validation_data.expected_outputs[1][1]");
    assert_eq!(
        problems.0[0].kind,
        DiagnosticKind::ValidationMismatch {
            row: 1,
            index: 1,
            expected: 6.5,
            computed: 6.0,
            tolerance: 1e-5
        }
    );
}

#[test]
fn a_nan_result_never_matches() {
    // 1e30·1e30 overflows to +inf in both rows of buffer 1; inf - inf is NaN.
    let json = r#"{"feature_size": 1, "buffer_sizes": [1, 2, 1],
        "instructions": [
            {"type": "DOT", "input": 0, "output": 1, "weights": 0},
            {"type": "DOT", "input": 1, "output": 2, "weights": 1}],
        "weights": [[[1e30], [1e30]], [[1.0, -1.0]]], "bias": [[0.0, 0.0], [0.0]],
        "validation_data": {"inputs": [[1e30]], "expected_outputs": [[0.0]]}}"#;
    let Err(LoadError::Invalid(problems)) = load(json) else {
        panic!("a NaN output must not pass validation");
    };
    assert_eq!(problems.0[0].path, "validation_data.expected_outputs[0][0]");
    assert!(
        matches!(problems.0[0].kind, DiagnosticKind::ValidationMismatch { computed, .. } if computed.is_nan())
    );
}

#[test]
fn an_unbounded_clip_wider_than_a_register_chain_loads_and_predicts() {
    // CLIP_ELEMENTWISE without bounds has no parameter vector to betray its width: on 33 values
    // it used to make the register chain index a 32-value block (a panic inside `Model::load`,
    // which runs `validation_data`). Every engine must take it at any width.
    for width in [1usize, 32, 33, 64, 300] {
        let ones = vec!["1.0"; width].join(",");
        let zeros = vec!["0.0"; width].join(",");
        let json = format!(
            r#"{{"feature_size": {width}, "buffer_sizes": [{width}, 1],
            "instructions": [{{"type": "CLIP_ELEMENTWISE", "input": 0}},
                             {{"type": "DOT", "input": 0, "output": 1, "weights": 0}}],
            "weights": [[[{ones}]]], "bias": [[0.5]],
            "validation_data": {{"inputs": [[{zeros}]], "expected_outputs": [[0.5]]}}}}"#
        );
        let model = load(&json).unwrap_or_else(|e| panic!("width {width}: {e}"));
        let row = vec![2.0f32; width];
        let expected = 2.0 * width as f32 + 0.5;
        assert_eq!(model.predict(&row).unwrap(), [expected], "width {width}");
    }
}
