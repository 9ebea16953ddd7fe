//! One test per rule of the `quantization` extension: a valid int8 model, one mutation, and the
//! diagnostic (kind with its fields, and JSON path) that must be reported.

use instinct_format::{Limits, ModelInfo};
use instinct_validate::{DiagnosticKind as K, validate};
use serde_json::{Value, json};

/// 3 inputs → 2 (int8, RELU) → 1 (f32). Slot 0's values are `[1, -2, 3, 4, 5, -6]`.
fn base() -> Value {
    json!({
        "feature_size": 3,
        "buffer_sizes": [3, 2, 1],
        "instructions": [
            {"type": "DOT", "input": 0, "output": 1, "weights": 0, "activation": "RELU"},
            {"type": "DOT", "input": 1, "output": 2, "weights": 1}
        ],
        "weights": [[], [[0.5, -0.5]]],
        "bias": [[0.1, 0.2], [0.0]],
        "quantization": {
            "scheme": "int8",
            "activations": "dynamic",
            "slots": [{"slot": 0, "outputs": 2, "inputs": 3, "scales": [0.01, 0.02],
                       "values": "Af4DBAX6"}]
        }
    })
}

fn check(mutate: impl FnOnce(&mut Value), path: &str, kind: K) {
    let mut v = base();
    mutate(&mut v);
    let info: ModelInfo = serde_json::from_value(v).unwrap();
    let problems = validate(&info, &Limits::default()).expect_err("the model must be invalid");
    assert!(
        problems.iter().any(|d| d.path == path && d.kind == kind),
        "expected `{path}: {kind}` among:\n{problems}"
    );
}

#[test]
fn the_base_model_is_valid_and_its_values_decode() {
    let info: ModelInfo = serde_json::from_value(base()).unwrap();
    validate(&info, &Limits::default()).unwrap();
    let slot = info.quantized_slot(0).unwrap();
    assert_eq!(slot.values.0, [1, -2, 3, 4, 5, -6]);
    // Written back and read again, the same model.
    assert_eq!(
        ModelInfo::from_json_str(&info.to_json_string()).unwrap(),
        info
    );
}

#[test]
fn scheme_and_slot_indices() {
    check(
        |v| v["quantization"]["scheme"] = json!("int4"),
        "quantization.scheme",
        K::UnknownQuantizationScheme {
            scheme: "int4".into(),
        },
    );
    check(
        |v| v["quantization"]["slots"][0]["slot"] = json!(5),
        "quantization.slots[0].slot",
        K::QuantizedSlotOutOfRange { slot: 5, slots: 2 },
    );
    check(
        |v| {
            let again = v["quantization"]["slots"][0].clone();
            v["quantization"]["slots"]
                .as_array_mut()
                .unwrap()
                .push(again);
        },
        "quantization.slots[1].slot",
        K::QuantizedSlotRepeated { slot: 0 },
    );
    check(
        |v| v["weights"][0] = json!([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]),
        "weights[0]",
        K::QuantizedSlotHasWeights { slot: 0, rows: 2 },
    );
}

#[test]
fn values_scales_and_ranges() {
    check(
        |v| v["quantization"]["slots"][0]["values"] = json!("AQID"),
        "quantization.slots[0].values",
        K::QuantizedShapeMismatch {
            slot: 0,
            what: "values".into(),
            actual: 3,
            expected: 6,
            outputs: 2,
            inputs: 3,
        },
    );
    check(
        |v| v["quantization"]["slots"][0]["scales"] = json!([0.01]),
        "quantization.slots[0].scales",
        K::QuantizedShapeMismatch {
            slot: 0,
            what: "scales".into(),
            actual: 1,
            expected: 2,
            outputs: 2,
            inputs: 3,
        },
    );
    check(
        |v| v["quantization"]["slots"][0]["scales"] = json!([0.01, 0.0]),
        "quantization.slots[0].scales[1]",
        K::InvalidQuantizationScale { value: 0.0 },
    );
    check(
        |v| v["quantization"]["activations"] = json!("static"),
        "quantization.slots[0].input_scale",
        K::InputRangeMismatch {
            mode: "static".into(),
        },
    );
    check(
        |v| {
            v["quantization"]["slots"][0]["input_scale"] = json!(0.5);
            v["quantization"]["slots"][0]["input_zero_point"] = json!(3);
        },
        "quantization.slots[0].input_scale",
        K::InputRangeMismatch {
            mode: "dynamic".into(),
        },
    );
    check(
        |v| {
            v["quantization"]["activations"] = json!("static");
            v["quantization"]["slots"][0]["input_scale"] = json!(-1.0);
            v["quantization"]["slots"][0]["input_zero_point"] = json!(3);
        },
        "quantization.slots[0].input_scale",
        K::InvalidQuantizationScale { value: -1.0 },
    );
}

#[test]
fn shapes_against_the_instructions() {
    check(
        |v| {
            v["quantization"]["slots"][0]["outputs"] = json!(3);
            v["quantization"]["slots"][0]["scales"] = json!([0.01, 0.02, 0.03]);
            v["quantization"]["slots"][0]["values"] = json!("Af4DBAX6AQID");
        },
        "weights[0]",
        K::WeightRowsMismatch {
            slot: 0,
            rows: 3,
            expected: 2,
            instruction: 0,
        },
    );
    check(
        |v| {
            v["quantization"]["slots"][0]["outputs"] = json!(3);
            v["quantization"]["slots"][0]["inputs"] = json!(2);
            v["quantization"]["slots"][0]["scales"] = json!([0.01, 0.02, 0.03]);
        },
        "bias[0]",
        K::BiasRowsMismatch {
            slot: 0,
            bias_len: 2,
            rows: 3,
        },
    );
    check(
        |v| {
            v["quantization"]["slots"][0]["inputs"] = json!(2);
            v["quantization"]["slots"][0]["values"] = json!("Af4DBA==");
        },
        "weights[0]",
        K::WeightColumnsMismatch {
            columns: 2,
            expected: 3,
            buffer: 0,
            instruction: 0,
            more: 0,
        },
    );
}

#[test]
fn only_dot_runs_an_int8_slot_and_sums_stay_exact() {
    let attention = json!({
        "feature_size": 2,
        "buffer_sizes": [2, 2],
        "instructions": [{"type": "ATTENTION", "input": 0, "key": 0, "output": 1, "weights": 0}],
        "weights": [[]],
        "bias": [[0.0, 0.0]],
        "quantization": {"scheme": "int8", "activations": "dynamic",
            "slots": [{"slot": 0, "outputs": 2, "inputs": 2, "scales": [1.0, 1.0], "values": "AQIDBA=="}]}
    });
    let info: ModelInfo = serde_json::from_value(attention).unwrap();
    let problems = validate(&info, &Limits::default()).unwrap_err();
    assert!(
        problems.iter().any(|d| d.path == "instructions[0].weights"
            && d.kind
                == K::QuantizedSlotNotDot {
                    slot: 0,
                    instruction: 0,
                    instruction_type: "ATTENTION".into()
                }),
        "{problems}"
    );
    check(
        |v| v["quantization"]["slots"][0]["inputs"] = json!(70_000),
        "quantization.slots[0].inputs",
        K::QuantizedLayerTooWide {
            slot: 0,
            inputs: 70_000,
            max: 65_536,
        },
    );
}

#[test]
fn values_that_are_not_base64_are_a_parse_error_with_a_place() {
    let mut v = base();
    v["quantization"]["slots"][0]["values"] = json!("not base64!");
    let text = v.to_string();
    let err = ModelInfo::from_json_str(&text).unwrap_err().to_string();
    assert!(err.contains("not base64"), "{err}");
}
