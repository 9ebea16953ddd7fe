//! Graphs built here, message by message: what the import refuses, that it names every
//! offending node, and that a value read again is never changed in place.

mod support;

use instinct_format::Instruction;
use instinct_onnx::proto::{AttributeProto, NodeProto, TensorProto};
use instinct_onnx::{OnnxError, import_bytes};
use support::{floats, graph, ints, node};

fn model(nodes: Vec<NodeProto>, initializers: Vec<TensorProto>, out: &str) -> Vec<u8> {
    graph(3, nodes, initializers, out)
}

fn refusals(bytes: &[u8]) -> String {
    match import_bytes(bytes) {
        Err(e @ OnnxError::Unsupported(_)) => e.to_string(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_reshape_that_changes_the_per_sample_width_is_refused() {
    let bytes = model(
        vec![node("Reshape", "flatten_all", &["x", "shape"], &["y"])],
        vec![ints("shape", &[-1, 1])],
        "y",
    );
    assert!(refusals(&bytes).contains("\"flatten_all\""));
    // Keeping the width is fine (and then the output is a copy of the input).
    let bytes = model(
        vec![node("Reshape", "same", &["x", "shape"], &["y"])],
        vec![ints("shape", &[-1, 3])],
        "y",
    );
    let info = import_bytes(&bytes).unwrap();
    assert_eq!(info.buffer_sizes, vec![3, 3]);
}

#[test]
fn a_cast_of_the_features_to_integers_is_refused() {
    let mut cast = node("Cast", "to_int", &["x"], &["y"]);
    cast.attribute.push(instinct_onnx::proto::AttributeProto {
        name: Some("to".into()),
        i: Some(7),
        ..Default::default()
    });
    assert!(refusals(&model(vec![cast], Vec::new(), "y")).contains("\"to_int\""));
}

#[test]
fn every_offending_node_is_listed() {
    let bytes = model(
        vec![
            node("MatMul", "by_input", &["x", "x"], &["a"]),
            node("Softsign", "softsign", &["x"], &["b"]),
            node("Relu", "fine", &["x"], &["c"]),
        ],
        Vec::new(),
        "c",
    );
    let e = refusals(&bytes);
    assert!(
        e.contains("MatMul \"by_input\"") && e.contains("Softsign \"softsign\""),
        "{e}"
    );
    assert!(!e.contains("fine"), "{e}");
}

#[test]
fn a_value_read_again_through_an_alias_is_copied_before_an_in_place_step() {
    // y = Identity(x); z = y · 2; out = Concat(x, z): x must stay x.
    let mut concat = node("Concat", "join", &["x", "z"], &["out"]);
    concat.attribute.push(AttributeProto {
        name: Some("axis".into()),
        i: Some(1),
        ..Default::default()
    });
    let bytes = model(
        vec![
            node("Identity", "alias", &["x"], &["y"]),
            node("Mul", "double", &["y", "two"], &["z"]),
            concat,
        ],
        vec![floats("two", &[], &[2.0])],
        "out",
    );
    let info = import_bytes(&bytes).unwrap();
    for ins in &info.instructions {
        if let Instruction::MulElementwise { input, .. } = ins {
            assert_ne!(
                *input, 0,
                "the input buffer was doubled in place: {:?}",
                info.instructions
            );
        }
    }
    assert_eq!(info.buffer_sizes.last(), Some(&6));
}

#[test]
fn opset_6_clip_bounds_come_from_attributes() {
    let mut clip = node("Clip", "relu6", &["x"], &["y"]);
    for (name, v) in [("min", 0.0), ("max", 6.0)] {
        clip.attribute.push(AttributeProto {
            name: Some(name.into()),
            f: Some(v),
            ..Default::default()
        });
    }
    let info = import_bytes(&model(vec![clip], Vec::new(), "y")).unwrap();
    let clip = info
        .instructions
        .iter()
        .find_map(|i| match i {
            Instruction::ClipElementwise {
                parameters_min,
                parameters_max,
                ..
            } => Some((*parameters_min, *parameters_max)),
            _ => None,
        })
        .unwrap();
    let parameters = info.parameters.unwrap();
    assert_eq!(parameters[clip.0.unwrap()], vec![0.0; 3]);
    assert_eq!(parameters[clip.1.unwrap()], vec![6.0; 3]);
}

#[test]
fn a_node_reading_a_value_defined_later_is_refused() {
    // ONNX Runtime sorts the nodes itself; a converter walking them in file order must not take
    // the bias, defined after the Gemm, as absent.
    let mut constant = node("Constant", "late", &[], &["b"]);
    constant.attribute.push(AttributeProto {
        name: Some("value".into()),
        t: Some(floats("", &[2], &[10.0, 20.0])),
        ..Default::default()
    });
    let bytes = model(
        vec![node("Gemm", "early", &["x", "w", "b"], &["y"]), constant],
        vec![floats("w", &[3, 2], &[1.0; 6])],
        "y",
    );
    let e = refusals(&bytes);
    assert!(
        e.contains("\"early\"") && e.contains("topological order"),
        "{e}"
    );
}

#[test]
fn constants_that_would_change_the_rank_or_shape_are_refused() {
    // [N, 3] + [1, 1, 3] is [1, N, 3] in ONNX.
    let e = refusals(&model(
        vec![node("Add", "rank3", &["x", "c"], &["y"])],
        vec![floats("c", &[1, 1, 3], &[1.0, 2.0, 3.0])],
        "y",
    ));
    assert!(e.contains("\"rank3\""), "{e}");
    // A reshaped constant is not followed (it used to vanish with the node that read it).
    let e = refusals(&model(
        vec![
            node("Reshape", "shape_c", &["c", "s"], &["r"]),
            node("Add", "plus", &["r", "x"], &["y"]),
        ],
        vec![floats("c", &[3], &[1.0, 2.0, 3.0]), ints("s", &[1, 3])],
        "y",
    ));
    assert!(e.contains("\"shape_c\""), "{e}");
    // A float16 initializer is not read, and the node using it says so.
    let half = TensorProto {
        name: Some("h".into()),
        dims: vec![3],
        data_type: Some(10),
        int32_data: vec![0; 3],
        ..Default::default()
    };
    let e = refusals(&model(
        vec![node("Mul", "by_half", &["x", "h"], &["y"])],
        vec![half],
        "y",
    ));
    assert!(
        e.contains("\"by_half\"") && e.contains("element type 10"),
        "{e}"
    );
    // A division by zero has no finite inverse.
    let e = refusals(&model(
        vec![node("Div", "by_zero", &["x", "z"], &["y"])],
        vec![floats("z", &[], &[0.0])],
        "y",
    ));
    assert!(e.contains("\"by_zero\""), "{e}");
}

#[test]
fn dropout_converts_in_inference_mode_only() {
    let flag = |on: i32| TensorProto {
        name: Some("training".into()),
        dims: vec![],
        data_type: Some(9),
        int32_data: vec![on],
        ..Default::default()
    };
    let dropout = || node("Dropout", "drop", &["x", "", "training"], &["y"]);
    let info = import_bytes(&model(vec![dropout()], vec![flag(0)], "y")).unwrap();
    assert_eq!(info.buffer_sizes, vec![3, 3]);
    let e = refusals(&model(vec![dropout()], vec![flag(1)], "y"));
    assert!(e.contains("\"drop\"") && e.contains("training"), "{e}");
}

#[test]
fn a_clip_with_one_bound_clamps_the_other_side_to_the_largest_finite_value() {
    let info = import_bytes(&model(
        vec![node("Clip", "floor", &["x", "lo"], &["y"])],
        vec![floats("lo", &[], &[0.0])],
        "y",
    ))
    .unwrap();
    let Some(Instruction::ClipElementwise {
        parameters_min: Some(lo),
        parameters_max: Some(hi),
        ..
    }) = info.instructions.first()
    else {
        panic!("{:?}", info.instructions);
    };
    let parameters = info.parameters.as_ref().unwrap();
    assert_eq!(parameters[*lo], vec![0.0; 3]);
    assert_eq!(parameters[*hi], vec![f32::MAX; 3]);
}

#[test]
fn empty_or_huge_weight_shapes_are_refused_without_allocating() {
    // A [3, 0] weight would make an empty vector, and a [0, 2^60] one (no values, so it reads)
    // would then ask for 2^60 rows.
    let e = refusals(&model(
        vec![
            node("MatMul", "to_nothing", &["x", "empty"], &["h"]),
            node("MatMul", "to_everything", &["h", "huge"], &["y"]),
        ],
        vec![
            floats("empty", &[3, 0], &[]),
            floats("huge", &[0, 1 << 60], &[]),
        ],
        "y",
    ));
    assert!(e.contains("\"to_nothing\""), "{e}");
    let e = refusals(&model(
        vec![node("Concat", "nothing", &[], &["y"])],
        Vec::new(),
        "y",
    ));
    assert!(e.contains("\"nothing\""), "{e}");
}
