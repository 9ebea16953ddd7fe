//! Parsing and validation cost work linear in the model's size: counted as allocator traffic per
//! thread (instinct-workcount), repeatable where wall time is not. Each case builds a model and
//! one ten times larger; the larger may cost at most 25× the smaller's work (a quadratic cost
//! shows as ~100×). Refusals are measured too: a model refused for many gaps must not cost more
//! per gap than one accepted.

use instinct_format::{Activation, Limits, ModelInfo};
use instinct_validate::{DiagnosticKind, validate};
use instinct_workcount::{CountingAllocator, Work, assert_linear, work};
use std::fmt::Write as _;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// A model of `feature_size` inputs, `buffers` sizes and `instructions` (JSON objects), no
/// weights.
fn model(feature_size: usize, buffers: &[usize], instructions: &[String]) -> String {
    format!(
        r#"{{"feature_size": {feature_size}, "buffer_sizes": {buffers:?}, "instructions": [{}], "weights": [], "bias": []}}"#,
        instructions.join(",")
    )
}

/// The work of parsing and validating `json`, and whether it was valid.
fn cost(json: &str) -> (Work, Option<Vec<DiagnosticKind>>) {
    let mut refused = None;
    let w = work(|| {
        let info = ModelInfo::from_json_str(json).expect("well-formed JSON");
        if let Err(problems) = validate(&info, &Limits::default()) {
            refused = Some(problems.0.iter().map(|d| d.kind.clone()).collect());
        }
    });
    (w, refused)
}

fn assert_valid_and_linear(what: &str, build: impl Fn(usize) -> String, n: usize) {
    let (small, a) = cost(&build(n));
    let (large, b) = cost(&build(10 * n));
    assert_eq!((a, b), (None, None), "{what}: both sizes must be valid");
    assert_linear(what, small, large);
}

#[test]
fn a_long_chain_of_activations() {
    let build = |n: usize| {
        let mut list: Vec<String> = (0..n)
            .map(|i| {
                let a = Activation::INSTMODEL[i % 4].name();
                format!(r#"{{"type": "ACTIVATION", "input": 0, "activation": "{a}"}}"#)
            })
            .collect();
        list.push(r#"{"type": "COPY", "input": 0, "output": 1, "internal_index": 0}"#.into());
        model(4, &[4, 4], &list)
    };
    assert_valid_and_linear("activation chain", build, 1_000);
}

#[test]
fn many_copies_covering_a_wide_buffer() {
    // COPY i writes element i of buffer 1; the output is read whole only once every element is
    // written, so the coverage analysis tracks n ranges as they merge.
    let build = |n: usize| {
        let mut list: Vec<String> = (0..n)
            .map(|i| {
                format!(r#"{{"type": "COPY", "input": 0, "output": 1, "internal_index": {i}}}"#)
            })
            .collect();
        list.push(r#"{"type": "ACTIVATION", "input": 1, "activation": "RELU"}"#.into());
        model(1, &[1, n], &list)
    };
    assert_valid_and_linear("copies into one buffer", build, 1_000);
}

#[test]
fn copies_that_leave_gaps_are_refused_in_linear_work() {
    // Every other element written, then the buffer read whole: n separate ranges and a refusal.
    let build = |n: usize| {
        let mut list: Vec<String> = (0..n)
            .map(|i| {
                format!(
                    r#"{{"type": "COPY", "input": 0, "output": 1, "internal_index": {}}}"#,
                    2 * i
                )
            })
            .collect();
        list.push(r#"{"type": "COPY", "input": 1, "output": 2, "internal_index": 0}"#.into());
        model(1, &[1, 2 * n, 2 * n], &list)
    };
    let (small, a) = cost(&build(1_000));
    let (large, b) = cost(&build(10_000));
    for refused in [a, b] {
        let kinds = refused.expect("gaps are refused");
        assert!(
            kinds
                .iter()
                .any(|k| matches!(k, DiagnosticKind::ReadBeforeWrite { .. })),
            "{kinds:?}"
        );
    }
    assert_linear("copies with gaps, refused", small, large);
}

#[test]
fn long_input_lists_of_elementwise_instructions() {
    let build = |n: usize| {
        let mut list =
            String::from(r#"{"type": "ADD_ELEMENTWISE_BUFFERS", "output": 1, "input": ["#);
        for i in 0..n {
            let _ = write!(list, "{}0", if i == 0 { "" } else { "," });
        }
        list.push_str("]}");
        model(4, &[4, 4], &[list])
    };
    assert_valid_and_linear("long input lists", build, 10_000);
}
