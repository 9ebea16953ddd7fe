//! One test per validation rule: a valid base model, one mutation, and the exact diagnostic
//! (kind with its fields, and JSON path) that must be reported.

use instinct_format::{IdMap, Limits, ModelInfo};
use instinct_validate::{DiagnosticKind as K, validate};
use serde_json::{Value, json};

/// A valid model touching most instruction types. Buffers: 0 input (3), 1 hidden (4),
/// 2 concat (4), 3 embedding (2), 4 sum (4), 5 heads product (4), 6 attention (4), 7 output (1).
fn base() -> Value {
    json!({
        "features": ["a", "b[2]"],
        "buffer_sizes": [3, 4, 4, 2, 4, 4, 4, 1],
        "instructions": [
            {"type": "DOT", "input": 0, "output": 1, "weights": 0, "activation": "RELU"},
            {"type": "ADD_ELEMENTWISE", "input": 1, "parameters": 0},
            {"type": "CLIP_ELEMENTWISE", "input": 1, "parameters_min": 1},
            {"type": "COPY", "input": 0, "output": 2, "internal_index": 1},
            {"type": "COPY_MASKED", "input": 0, "output": 2, "indexes": [0]},
            {"type": "MAP_TRANSFORM", "input": 0, "output": 3, "internal_input_index": 0,
             "internal_output_index": 0, "map": 0, "size": 2, "default": [0.0, 0.0]},
            {"type": "ADD_ELEMENTWISE_BUFFERS", "input": [1, 2], "output": 4},
            {"type": "MULTIPLY_BUFFER_HEADS", "input": [4, 3], "output": 5},
            {"type": "ATTENTION", "input": 5, "key": 0, "output": 6, "weights": 1},
            {"type": "REDUCE_SUM", "input": 6, "output": 7}
        ],
        "weights": [
            [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6], [0.7, 0.8, 0.9], [1.0, 1.1, 1.2]],
            [[0.1, -0.2, 0.3], [-0.4, 0.5, -0.6], [0.7, -0.8, 0.9], [-1.0, 1.1, -1.2]]
        ],
        "bias": [[0.1, 0.2, 0.3, 0.4], [0.0, 0.1, 0.0, 0.1]],
        "parameters": [[1.0, 2.0, 3.0, 4.0], [0.0, -1.0, 0.0, -1.0]],
        "maps": [{"1": [0.5, 0.25], "-2": [1.0, 2.0]}]
    })
}

fn info_of(v: Value) -> ModelInfo {
    serde_json::from_value(v).expect("test models are well-formed JSON models")
}

/// Mutates the base model and asserts that `kind` is reported at `path`.
fn check(mutate: impl FnOnce(&mut Value), path: &str, kind: K) {
    let mut v = base();
    mutate(&mut v);
    check_info(info_of(v), &Limits::default(), path, kind);
}

fn check_info(info: ModelInfo, limits: &Limits, path: &str, kind: K) {
    let problems = validate(&info, limits).expect_err("the model must be invalid");
    assert!(
        problems.iter().any(|d| d.path == path && d.kind == kind),
        "expected `{path}: {kind}` among:\n{problems}"
    );
}

#[test]
fn base_model_is_valid_with_its_layout() {
    let model = validate(&info_of(base()), &Limits::default()).unwrap();
    let layout = model.layout();
    assert_eq!(layout.offsets, vec![0, 3, 7, 11, 13, 17, 21, 25]);
    assert_eq!(
        (layout.feature_size, layout.input_buffers, layout.total),
        (3, 1, 26)
    );
    assert_eq!(layout.output_span(), 25..26);
}

#[test]
fn features() {
    check(
        |v| drop(v.as_object_mut().unwrap().remove("features")),
        "",
        K::MissingFeatures,
    );
    check(|v| v["features"] = json!([]), "features", K::EmptyFeatures);
    check(
        |v| v["features"] = json!(["a", "b[0]"]),
        "features[1]",
        K::InvalidFeatureName {
            name: "b[0]".into(),
            reason: "the width must be positive".into(),
        },
    );
    check(
        |v| v["feature_size"] = json!(4),
        "feature_size",
        K::FeatureSizeMismatch {
            declared: 4,
            computed: 3,
        },
    );
    check(
        |v| v["features"] = json!(["a", "b[3]"]),
        "buffer_sizes",
        K::FeatureSizeNotBufferPrefix {
            feature_size: 4,
            prefix_sums: vec![3, 7],
        },
    );
}

#[test]
fn every_bad_feature_name_is_reported() {
    let mut v = base();
    v["features"] = json!(["[1]", "x[0]", "y]"]);
    let problems = validate(&info_of(v), &Limits::default()).unwrap_err();
    let paths: Vec<&str> = problems.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(paths, ["features[0]", "features[1]", "features[2]"]);
}

#[test]
fn buffer_sums_that_overflow_are_refused_whatever_the_limit() {
    let huge = json!({"feature_size": usize::MAX, "buffer_sizes": [usize::MAX, 1],
        "instructions": [{"type": "REDUCE_SUM", "input": 0, "output": 1}],
        "weights": [], "bias": []});
    let limits = Limits {
        max_buffer_elements: usize::MAX,
        ..Limits::default()
    };
    check_info(
        info_of(huge),
        &limits,
        "buffer_sizes",
        K::TooManyBufferElements {
            total: usize::MAX,
            max: usize::MAX,
        },
    );
}

#[test]
fn each_kind_is_listed_at_most_fifty_times() {
    let mut v = base();
    v["validation_data"] =
        json!({"inputs": vec![json!([1.0]); 120], "expected_outputs": vec![json!([0.0]); 120]});
    let problems = validate(&info_of(v), &Limits::default()).unwrap_err();
    assert_eq!(problems.len(), 51);
    assert_eq!(
        problems.0[50].kind,
        K::MoreProblems {
            of: "validation_row_length".into(),
            count: 70
        }
    );
}

#[test]
fn validation_data_work_is_bounded() {
    let mut v = base();
    v["validation_data"] = json!({"inputs": vec![json!([1.0, 2.0, 3.0]); 100], "expected_outputs": vec![json!([0.0]); 100]});
    let limits = Limits {
        max_validation_cost: 1000,
        ..Limits::default()
    };
    // 100 rows × (26 values of memory + 24 weights)
    check_info(
        info_of(v),
        &limits,
        "validation_data",
        K::ValidationTooCostly {
            rows: 100,
            cost: 5000,
            max: 1000,
        },
    );
}

#[test]
fn buffers() {
    check(
        |v| v["buffer_sizes"] = json!([]),
        "buffer_sizes",
        K::NoBuffers,
    );
    check(
        |v| v["buffer_sizes"][3] = json!(0),
        "buffer_sizes[3]",
        K::ZeroBufferSize { buffer: 3 },
    );
    let empty = json!({"feature_size": 0, "buffer_sizes": [0],
        "instructions": [{"type": "ACTIVATION", "input": 0, "activation": "RELU"}],
        "weights": [], "bias": []});
    check_info(
        info_of(empty),
        &Limits::default(),
        "buffer_sizes[0]",
        K::ZeroBufferSize { buffer: 0 },
    );
}

#[test]
fn a_huge_buffer_is_refused_in_milliseconds() {
    let mut v = base();
    v["buffer_sizes"][7] = json!(1_000_000_000_000u64);
    let info = info_of(v);
    let started = std::time::Instant::now();
    check_info(
        info,
        &Limits::default(),
        "buffer_sizes",
        K::TooManyBufferElements {
            total: 1_000_000_000_025,
            max: 1_000_000,
        },
    );
    assert!(started.elapsed().as_millis() < 100);
}

#[test]
fn instruction_and_slot_counts() {
    check(
        |v| v["instructions"] = json!([]),
        "instructions",
        K::NoInstructions,
    );
    let limits = Limits {
        max_instructions: 5,
        ..Limits::default()
    };
    check_info(
        info_of(base()),
        &limits,
        "instructions",
        K::TooManyInstructions { count: 10, max: 5 },
    );
    // Input and index lists are counted entry by entry (base: 2 + 2 inputs, 1 index).
    let limits = Limits {
        max_operand_elements: 4,
        ..Limits::default()
    };
    check_info(
        info_of(base()),
        &limits,
        "instructions",
        K::TooManyOperandElements { total: 5, max: 4 },
    );
    check(
        |v| drop(v["bias"].as_array_mut().unwrap().pop()),
        "bias",
        K::SlotCountMismatch {
            weights: 2,
            bias: 1,
        },
    );
    let two_slots = json!({"feature_size": 1, "buffer_sizes": [1, 1],
        "instructions": [{"type": "DOT", "input": 0, "output": 1, "weights": 0}],
        "weights": [[[1.0]], [[1.0]]], "bias": [[0.0], [0.0]]});
    check_info(
        info_of(two_slots),
        &Limits::default(),
        "weights",
        K::MoreSlotsThanInstructions {
            slots: 2,
            instructions: 1,
        },
    );
    check(
        |v| v["bias"][0] = json!([0.0, 0.0, 0.0]),
        "bias[0]",
        K::BiasRowsMismatch {
            slot: 0,
            bias_len: 3,
            rows: 4,
        },
    );
}

#[test]
fn element_limits() {
    let limits = Limits {
        max_weight_elements: 10,
        max_parameter_elements: 5,
        ..Limits::default()
    };
    // 2 slots of 4×3 weights + 4 biases; 2 parameter vectors of 4, 2 map values of 2, a default of 2.
    check_info(
        info_of(base()),
        &limits,
        "weights",
        K::TooManyWeightElements { total: 32, max: 10 },
    );
    check_info(
        info_of(base()),
        &limits,
        "parameters",
        K::TooManyParameterElements { total: 14, max: 5 },
    );
}

#[test]
fn non_finite_values() {
    let non_finite = |value: &str| K::NonFinite {
        value: value.into(),
        more: 0,
    };
    let mut info = info_of(base());
    info.weights[1][2][1] = f32::NAN;
    check_info(
        info,
        &Limits::default(),
        "weights[1][2][1]",
        non_finite("NaN"),
    );
    let mut info = info_of(base());
    info.bias[0][3] = f32::INFINITY;
    info.bias[0][1] = f32::INFINITY;
    check_info(
        info,
        &Limits::default(),
        "bias[0][1]",
        K::NonFinite {
            value: "inf".into(),
            more: 1,
        },
    );
    let mut info = info_of(base());
    info.parameters.as_mut().unwrap()[1][0] = f32::NEG_INFINITY;
    check_info(
        info,
        &Limits::default(),
        "parameters[1][0]",
        non_finite("-inf"),
    );
    let mut info = info_of(base());
    let entries = &mut info.maps.as_mut().unwrap()[0].entries;
    entries.iter_mut().find(|(k, _)| k == "-2").unwrap().1[1] = f32::NAN;
    check_info(
        info,
        &Limits::default(),
        "maps[0][\"-2\"][1]",
        non_finite("NaN"),
    );
    let mut info = info_of(base());
    info.validation_data = Some(instinct_format::ValidationData {
        inputs: vec![vec![1.0, f32::NAN, 0.0]],
        expected_outputs: vec![vec![0.0]],
    });
    check_info(
        info,
        &Limits::default(),
        "validation_data.inputs[0][1]",
        non_finite("NaN"),
    );
    // An infinite input is data (1e39 in JSON reads as one), as in the reference.
    let mut info = info_of(base());
    info.validation_data = Some(instinct_format::ValidationData {
        inputs: vec![vec![1.0, f32::INFINITY, 0.0]],
        expected_outputs: vec![vec![0.0]],
    });
    assert!(validate(&info, &Limits::default()).is_ok());
    let mut info = info_of(base());
    if let instinct_format::Instruction::MapTransform { default, .. } = &mut info.instructions[5] {
        default[0] = f32::NAN;
    }
    check_info(
        info,
        &Limits::default(),
        "instructions[5].default[0]",
        non_finite("NaN"),
    );
    // An extension activation's parameter beyond the f32 range reads as infinite.
    check(
        |v| {
            v["instructions"][0]["activation"] =
                json!({"HARD_SIGMOID": {"alpha": 0.2, "beta": 1e39}})
        },
        "instructions[0].activation.HARD_SIGMOID.beta",
        non_finite("inf"),
    );
}

#[test]
fn extension_activations_with_finite_parameters_are_valid() {
    // Each extension as the format writes it, its parameters set.
    for activation in instinct_format::Activation::EXTENSIONS {
        let activation = serde_json::to_value(activation).unwrap();
        let mut v = base();
        v["instructions"][0]["activation"] = activation.clone();
        v["instructions"].as_array_mut().unwrap().insert(
            1,
            json!({"type": "ACTIVATION", "input": 1, "activation": activation}),
        );
        assert!(validate(&info_of(v), &Limits::default()).is_ok());
    }
}

#[test]
fn indices_out_of_range() {
    check(
        |v| v["instructions"][0]["output"] = json!(8),
        "instructions[0].output",
        K::BufferOutOfRange {
            buffer: 8,
            buffers: 8,
        },
    );
    check(
        |v| v["instructions"][6]["input"] = json!([1, 9]),
        "instructions[6].input[1]",
        K::BufferOutOfRange {
            buffer: 9,
            buffers: 8,
        },
    );
    check(
        |v| v["instructions"][0]["weights"] = json!(5),
        "instructions[0].weights",
        K::WeightSlotOutOfRange { slot: 5, slots: 2 },
    );
    check(
        |v| v["instructions"][1]["parameters"] = json!(9),
        "instructions[1].parameters",
        K::ParameterOutOfRange { index: 9, count: 2 },
    );
    check(
        |v| v["instructions"][2]["parameters_max"] = json!(2),
        "instructions[2].parameters_max",
        K::ParameterOutOfRange { index: 2, count: 2 },
    );
    check(
        |v| v["instructions"][5]["map"] = json!(3),
        "instructions[5].map",
        K::MapOutOfRange { index: 3, count: 1 },
    );
}

#[test]
fn weight_shapes() {
    check(
        |v| {
            v["weights"][0].as_array_mut().unwrap().pop();
            v["bias"][0].as_array_mut().unwrap().pop();
        },
        "weights[0]",
        K::WeightRowsMismatch {
            slot: 0,
            rows: 3,
            expected: 4,
            instruction: 0,
        },
    );
    check(
        |v| {
            v["weights"][0].as_array_mut().unwrap().pop();
            v["bias"][0].as_array_mut().unwrap().pop();
        },
        "bias[0]",
        K::BiasLengthMismatch {
            slot: 0,
            len: 3,
            expected: 4,
            instruction: 0,
        },
    );
    check(
        |v| v["weights"][0][2].as_array_mut().unwrap().push(json!(1.0)),
        "weights[0][2]",
        K::WeightColumnsMismatch {
            columns: 4,
            expected: 3,
            buffer: 0,
            instruction: 0,
            more: 0,
        },
    );
}

#[test]
fn dot_and_attention_aliasing() {
    check(
        |v| v["instructions"][0]["output"] = json!(0),
        "instructions[0].output",
        K::DotInPlace { buffer: 0 },
    );
    check(
        |v| v["instructions"][8]["key"] = json!(6),
        "instructions[8].output",
        K::AliasedOutput {
            instruction: "ATTENTION".into(),
            buffer: 6,
            role: "key".into(),
        },
    );
    check(
        |v| v["instructions"][8]["input"] = json!(6),
        "instructions[8].output",
        K::AliasedOutput {
            instruction: "ATTENTION".into(),
            buffer: 6,
            role: "input".into(),
        },
    );
}

#[test]
fn buffer_size_agreement() {
    check(
        |v| v["instructions"][8]["input"] = json!(3),
        "instructions[8].input",
        K::BufferSizeMismatch {
            instruction: "ATTENTION".into(),
            buffer: 3,
            actual: 2,
            expected: 4,
        },
    );
    check(
        |v| v["instructions"][6]["input"] = json!([1, 3]),
        "instructions[6].input[1]",
        K::BufferSizeMismatch {
            instruction: "ADD_ELEMENTWISE_BUFFERS".into(),
            buffer: 3,
            actual: 2,
            expected: 4,
        },
    );
    check(
        |v| v["instructions"][6]["input"] = json!([1]),
        "instructions[6].input",
        K::InputCount {
            instruction: "ADD_ELEMENTWISE_BUFFERS".into(),
            count: 1,
            expected: "at least 2".into(),
        },
    );
    check(
        |v| v["instructions"][7]["input"] = json!([4, 3, 3]),
        "instructions[7].input",
        K::InputCount {
            instruction: "MULTIPLY_BUFFER_HEADS".into(),
            count: 3,
            expected: "2".into(),
        },
    );
    check(
        |v| v["buffer_sizes"][3] = json!(3),
        "instructions[7].input[1]",
        K::HeadsNotDivisible { data: 4, heads: 3 },
    );
    check(
        |v| v["instructions"][7]["output"] = json!(3),
        "instructions[7].output",
        K::AliasedOutput {
            instruction: "MULTIPLY_BUFFER_HEADS".into(),
            buffer: 3,
            role: "heads".into(),
        },
    );
}

#[test]
fn parameter_lengths() {
    check(
        |v| v["parameters"][0] = json!([1.0, 2.0, 3.0]),
        "parameters[0]",
        K::ParameterLengthMismatch {
            index: 0,
            len: 3,
            expected: 4,
            buffer: 1,
            instruction: 1,
        },
    );
    // Longer vectors are refused too, although the reference ignores the excess.
    check(
        |v| v["parameters"][1] = json!([0.0, 0.0, 0.0, 0.0, 0.0]),
        "parameters[1]",
        K::ParameterLengthMismatch {
            index: 1,
            len: 5,
            expected: 4,
            buffer: 1,
            instruction: 2,
        },
    );
}

#[test]
fn out_of_bounds_copies_and_lookups() {
    let oob = |what: &str, start, end, buffer, size| K::OutOfBounds {
        what: what.into(),
        start,
        end,
        buffer,
        size,
    };
    check(
        |v| v["instructions"][3]["internal_index"] = json!(2),
        "instructions[3].internal_index",
        oob("copy destination", 2, 5, 2, 4),
    );
    check(
        |v| v["instructions"][4]["indexes"] = json!([0, 3]),
        "instructions[4].indexes[1]",
        oob("gathered index", 3, 4, 0, 3),
    );
    check(
        |v| v["instructions"][4]["indexes"] = json!([0, 0, 0, 0, 0]),
        "instructions[4].indexes",
        oob("gathered values", 0, 5, 2, 4),
    );
    check(
        |v| v["instructions"][5]["internal_input_index"] = json!(3),
        "instructions[5].internal_input_index",
        oob("map key position", 3, 4, 0, 3),
    );
    check(
        |v| v["instructions"][5]["internal_output_index"] = json!(1),
        "instructions[5].internal_output_index",
        oob("map value destination", 1, 3, 3, 2),
    );
    let sum_into_empty = json!({"feature_size": 0, "buffer_sizes": [0, 2, 1],
        "instructions": [
            {"type": "DOT", "input": 0, "output": 1, "weights": 0},
            {"type": "REDUCE_SUM", "input": 1, "output": 0},
            {"type": "REDUCE_SUM", "input": 1, "output": 2}],
        "weights": [[[], []]], "bias": [[1.0, 2.0]]});
    check_info(
        info_of(sum_into_empty.clone()),
        &Limits::default(),
        "instructions[1].output",
        oob("sum destination", 0, 1, 0, 0),
    );
    check_info(
        info_of(sum_into_empty),
        &Limits::default(),
        "instructions[0].input",
        K::EmptyOperand { buffer: 0 },
    );
}

#[test]
fn heads_output_may_be_longer_than_the_data_but_not_shorter() {
    // A longer output keeps its tail as it was: reading that tail unwritten is refused.
    let mut v = base();
    v["buffer_sizes"][5] = json!(6);
    v["instructions"][8]["input"] = json!(4);
    v["instructions"][9]["input"] = json!(5);
    check_info(
        info_of(v),
        &Limits::default(),
        "instructions[9].input",
        K::ReadBeforeWrite {
            buffer: 5,
            start: 4,
            end: 6,
            instruction: 9,
        },
    );
    check(
        |v| v["buffer_sizes"][5] = json!(3),
        "instructions[7].input[0]",
        K::BufferSizeMismatch {
            instruction: "MULTIPLY_BUFFER_HEADS".into(),
            buffer: 4,
            actual: 4,
            expected: 3,
        },
    );
}

#[test]
fn map_keys_and_values() {
    check(
        |v| v["maps"][0]["1.5"] = json!([0.0, 0.0]),
        "maps[0][\"1.5\"]",
        K::MapKeyNotInteger { key: "1.5".into() },
    );
    check(
        |v| v["maps"][0]["99999999999"] = json!([0.0, 0.0]),
        "maps[0][\"99999999999\"]",
        K::MapKeyNotInteger {
            key: "99999999999".into(),
        },
    );
    let mut info = info_of(base());
    info.maps = Some(vec![IdMap {
        entries: vec![("1".into(), vec![0.0, 1.0]), ("01".into(), vec![2.0, 3.0])],
    }]);
    check_info(
        info,
        &Limits::default(),
        "maps[0][\"01\"]",
        K::DuplicateMapKey {
            key: "01".into(),
            first: "1".into(),
            value: 1,
        },
    );
    for default in [json!([0.0]), json!([0.0, 1.0, 2.0])] {
        let len = default.as_array().unwrap().len();
        check(
            |v| v["instructions"][5]["default"] = default,
            "instructions[5].default",
            K::MapDefaultLength {
                len,
                size: 2,
                instruction: 5,
            },
        );
    }
    check(
        |v| v["maps"][0]["1"] = json!([0.5]),
        "maps[0][\"1\"]",
        K::MapValueTooShort {
            len: 1,
            size: 2,
            instruction: 5,
        },
    );
}

#[test]
fn unused_slots() {
    check(
        |v| {
            v["weights"].as_array_mut().unwrap().push(json!([[1.0]]));
            v["bias"].as_array_mut().unwrap().push(json!([0.0]));
        },
        "weights[2]",
        K::UnusedWeights { slot: 2 },
    );
    check(
        |v| v["parameters"].as_array_mut().unwrap().push(json!([1.0])),
        "parameters[2]",
        K::UnusedParameters { index: 2 },
    );
    check(
        |v| v["maps"].as_array_mut().unwrap().push(json!({"3": [1.0]})),
        "maps[1]",
        K::UnusedMap { index: 1 },
    );
}

#[test]
fn dataflow() {
    check(
        |v| {
            let again = v["instructions"][0].clone();
            v["instructions"].as_array_mut().unwrap().insert(1, again);
        },
        "instructions[0]",
        K::UnusedComputation {
            buffer: 1,
            overwritten_by: 1,
        },
    );
    check(
        |v| v["instructions"][6]["input"] = json!([1, 5]),
        "instructions[6].input[1]",
        K::ReadBeforeWrite {
            buffer: 5,
            start: 0,
            end: 4,
            instruction: 6,
        },
    );
    check(
        |v| drop(v["instructions"].as_array_mut().unwrap().pop()),
        "buffer_sizes[7]",
        K::OutputNeverWritten {
            buffer: 7,
            start: 0,
            end: 1,
        },
    );
    // Writes of no element do not count as writes.
    let hollow = json!({"feature_size": 2, "buffer_sizes": [2, 2, 1],
        "instructions": [
            {"type": "COPY_MASKED", "input": 0, "output": 1, "indexes": []},
            {"type": "MAP_TRANSFORM", "input": 1, "output": 2, "internal_input_index": 0,
             "internal_output_index": 0, "map": 0, "size": 0, "default": []}],
        "weights": [], "bias": [], "maps": [{}]});
    let problems = validate(&info_of(hollow), &Limits::default()).unwrap_err();
    let found: Vec<(&str, &K)> = problems
        .iter()
        .map(|d| (d.path.as_str(), &d.kind))
        .collect();
    assert_eq!(
        found,
        [
            (
                "instructions[1].input",
                &K::ReadBeforeWrite {
                    buffer: 1,
                    start: 0,
                    end: 1,
                    instruction: 1
                }
            ),
            (
                "buffer_sizes[2]",
                &K::OutputNeverWritten {
                    buffer: 2,
                    start: 0,
                    end: 1
                }
            )
        ]
    );
}

#[test]
fn an_empty_first_buffer_is_refused() {
    // The reference accepts an empty buffer 0 before the input (and an ATTENTION with it as its
    // empty key); a buffer of no values is refused here like any other.
    let model = json!({"feature_size": 2, "buffer_sizes": [0, 2, 2],
        "instructions": [{"type": "ATTENTION", "input": 1, "key": 0, "output": 2, "weights": 0}],
        "weights": [[[], []]], "bias": [[0.5, -0.5]]});
    check_info(
        info_of(model),
        &Limits::default(),
        "buffer_sizes[0]",
        K::ZeroBufferSize { buffer: 0 },
    );
}

#[test]
fn validation_data_shapes() {
    check(
        |v| {
            v["validation_data"] =
                json!({"inputs": [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]], "expected_outputs": [[0.0]]})
        },
        "validation_data",
        K::ValidationRowCountMismatch {
            inputs: 2,
            outputs: 1,
        },
    );
    check(
        |v| v["validation_data"] = json!({"inputs": [[1.0, 2.0]], "expected_outputs": [[0.0]]}),
        "validation_data.inputs[0]",
        K::ValidationRowLength {
            len: 2,
            expected: 3,
        },
    );
    check(
        |v| {
            v["validation_data"] =
                json!({"inputs": [[1.0, 2.0, 3.0]], "expected_outputs": [[0.0, 1.0]]})
        },
        "validation_data.expected_outputs[0]",
        K::ValidationRowLength {
            len: 2,
            expected: 1,
        },
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let mut v = base();
    v["instructions"][0]["weights"] = json!(7);
    v["instructions"][3]["internal_index"] = json!(9);
    v["parameters"][0] = json!([1.0]);
    let problems = validate(&info_of(v), &Limits::default()).unwrap_err();
    let paths: Vec<&str> = problems.iter().map(|d| d.path.as_str()).collect();
    for expected in [
        "instructions[0].weights",
        "instructions[3].internal_index",
        "parameters[0]",
        "weights[0]",
    ] {
        assert!(
            paths.contains(&expected),
            "{expected} missing from {paths:?}"
        );
    }
}

#[test]
fn diagnostics_serialize_with_kind_and_path() {
    let mut v = base();
    v["instructions"][0]["weights"] = json!(7);
    let problems = validate(&info_of(v), &Limits::default()).unwrap_err();
    let json = serde_json::to_value(&problems).unwrap();
    assert_eq!(
        json[0],
        json!({"path": "instructions[0].weights", "kind": "weight_slot_out_of_range", "slot": 7, "slots": 2})
    );
}

/// Asserts that `model` is refused with exactly `expected` (path and kind) among its problems.
fn refused_with(model: Value, path: &str, kind: K) {
    check_info(info_of(model), &Limits::default(), path, kind);
}

#[test]
fn element_coverage() {
    let unwritten = |buffer, start, end, instruction| K::ReadBeforeWrite {
        buffer,
        start,
        end,
        instruction,
    };
    // A COPY leaves elements 0 and 3 of buffer 1 unwritten; the DOT reads them.
    refused_with(
        json!({"feature_size": 2, "buffer_sizes": [2, 4, 1],
            "instructions": [
                {"type": "COPY", "input": 0, "output": 1, "internal_index": 1},
                {"type": "DOT", "input": 1, "output": 2, "weights": 0}],
            "weights": [[[1.0, 1.0, 1.0, 1.0]]], "bias": [[0.0]]}),
        "instructions[1].input",
        unwritten(1, 0, 1, 1),
    );
    // An index list shorter than the span the next instruction reads.
    refused_with(
        json!({"feature_size": 2, "buffer_sizes": [2, 3, 3],
            "instructions": [
                {"type": "COPY_MASKED", "input": 0, "output": 1, "indexes": [1, 0]},
                {"type": "ACTIVATION", "input": 1, "activation": "RELU"},
                {"type": "COPY", "input": 1, "output": 2, "internal_index": 0}],
            "weights": [], "bias": []}),
        "instructions[1].input",
        unwritten(1, 2, 3, 1),
    );
    // A gather of an element nobody wrote is named by its index entry.
    refused_with(
        json!({"feature_size": 2, "buffer_sizes": [2, 3, 2],
            "instructions": [
                {"type": "COPY", "input": 0, "output": 1, "internal_index": 0},
                {"type": "COPY_MASKED", "input": 1, "output": 2, "indexes": [0, 2]}],
            "weights": [], "bias": []}),
        "instructions[1].indexes[1]",
        unwritten(1, 2, 3, 1),
    );
    // A sum writes one element of a wider output.
    refused_with(
        json!({"feature_size": 2, "buffer_sizes": [2, 3],
            "instructions": [{"type": "REDUCE_SUM", "input": 0, "output": 1}],
            "weights": [], "bias": []}),
        "buffer_sizes[1]",
        K::OutputNeverWritten {
            buffer: 1,
            start: 1,
            end: 3,
        },
    );
    // Heads over a shorter data buffer leave the tail of a longer output unwritten.
    refused_with(
        json!({"feature_size": 3, "buffer_sizes": [2, 1, 3],
            "instructions": [
                {"type": "ADD_BUFFER_HEADS", "input": [0, 1], "output": 2}],
            "weights": [], "bias": []}),
        "buffer_sizes[2]",
        K::OutputNeverWritten {
            buffer: 2,
            start: 2,
            end: 3,
        },
    );
    // A map value written past a gap: element 0 of the output stays unwritten.
    refused_with(
        json!({"feature_size": 1, "buffer_sizes": [1, 3],
            "instructions": [{"type": "MAP_TRANSFORM", "input": 0, "output": 1,
                "internal_input_index": 0, "internal_output_index": 1, "map": 0, "size": 2,
                "default": [0.0, 0.0]}],
            "weights": [], "bias": [], "maps": [{"1": [1.0, 2.0]}]}),
        "buffer_sizes[1]",
        K::OutputNeverWritten {
            buffer: 1,
            start: 0,
            end: 1,
        },
    );
    // Several partial writes that together cover the buffer are fine, in any order.
    let covered = json!({"feature_size": 2, "buffer_sizes": [2, 5],
        "instructions": [
            {"type": "COPY", "input": 0, "output": 1, "internal_index": 3},
            {"type": "COPY_MASKED", "input": 0, "output": 1, "indexes": [1, 1, 0]}],
        "weights": [], "bias": []});
    assert!(validate(&info_of(covered), &Limits::default()).is_ok());
}

#[test]
fn coverage_of_huge_buffers_costs_no_per_element_work() {
    // 200 partial copies into a buffer of 900,000 elements, with a gap in the middle; the
    // analysis works on ranges, so this is instantaneous (a per-element pass would touch
    // 180 million elements).
    let width = 4500;
    let mut instructions: Vec<Value> = (0..200)
        .filter(|&i| i != 100)
        .map(|i| json!({"type": "COPY", "input": 0, "output": 1, "internal_index": i * width}))
        .collect();
    instructions.push(json!({"type": "ACTIVATION", "input": 1, "activation": "RELU"}));
    let n = instructions.len() - 1;
    let model = json!({"feature_size": width, "buffer_sizes": [width, 200 * width],
        "instructions": instructions, "weights": [], "bias": []});
    refused_with(
        model,
        &format!("instructions[{n}].input"),
        K::ReadBeforeWrite {
            buffer: 1,
            start: 100 * width,
            end: 101 * width,
            instruction: n,
        },
    );
}

#[test]
fn output_names_and_labels_name_each_output_once() {
    // The base model has one output value.
    let mut named = base();
    named["output_names"] = json!(["score"]);
    named["labels"] = json!([7]);
    assert!(validate(&info_of(named), &Limits::default()).is_ok());
    check(
        |v| v["output_names"] = json!(["a", "b"]),
        "output_names",
        K::OutputNamingLength {
            field: "output_names".into(),
            len: 2,
            expected: 1,
        },
    );
    check(
        |v| v["output_names"] = json!([""]),
        "output_names[0]",
        K::EmptyOutputName { index: 0 },
    );
    check(
        |v| v["labels"] = json!(["x", "x"]),
        "labels[1]",
        K::DuplicateOutputName {
            field: "labels".into(),
            value: "\"x\"".into(),
            first: 0,
            second: 1,
        },
    );
}
