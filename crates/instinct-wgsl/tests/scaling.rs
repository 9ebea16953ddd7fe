//! WGSL generation (the model blob, the specialised library and naga's validation of the
//! shader) costs work linear in the model's size, counted two ways, both repeatable where wall
//! time is not:
//! - allocator traffic per thread (instinct-workcount): a model ten times larger may cost at
//!   most 25× the work (a quadratic cost shows as ~100×);
//! - the expressions of the largest function naga sees: naga resolves types in time quadratic in
//!   one function's expressions (allocating nothing for it, so the allocator does not see it),
//!   which is why `predict` is split into parts. The largest function must not grow with the
//!   model, and the expressions in all functions grow at most linearly.

use instinct_format::{Activation, Limits, ModelInfo};
use instinct_wgsl::{GpuModel, specialized_library, standalone_shader, validate_wgsl};
use instinct_workcount::{CountingAllocator, Work, assert_linear, work};
use std::fmt::Write as _;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// What generating and checking one model's shader cost.
struct Cost {
    work: Work,
    /// Expressions of the largest function (entry points included).
    largest_function: usize,
    /// Expressions of all functions together.
    expressions: usize,
}

/// The work of the blob, the specialised WGSL and naga's check, from a validated model.
fn cost(json: &str) -> Cost {
    let info = ModelInfo::from_json_str(json).expect("well-formed JSON");
    let model = instinct_validate::validate(&info, &Limits::default()).expect("a valid model");
    let mut shader = None;
    let work = work(|| {
        let blob = GpuModel::from_model(&model).expect("a blob");
        let source = standalone_shader(&specialized_library(&blob));
        shader = Some(validate_wgsl(&source).expect("naga accepts the shader"));
    });
    let module = shader.expect("measured").module;
    let sizes: Vec<usize> = module
        .functions
        .iter()
        .map(|(_, f)| f.expressions.len())
        .chain(
            module
                .entry_points
                .iter()
                .map(|e| e.function.expressions.len()),
        )
        .collect();
    Cost {
        work,
        largest_function: sizes.iter().copied().max().unwrap_or(0),
        expressions: sizes.iter().sum(),
    }
}

fn assert_linear_shaders(what: &str, small: Cost, large: Cost) {
    assert_linear(what, small.work, large.work);
    eprintln!(
        "{what}: largest function {} then {} expressions; {} then {} in all",
        small.largest_function, large.largest_function, small.expressions, large.expressions
    );
    assert!(
        large.largest_function <= 2 * small.largest_function,
        "{what}: the largest function grew from {} to {} expressions",
        small.largest_function,
        large.largest_function
    );
    assert!(
        large.expressions < 25 * small.expressions,
        "{what}: {} then {} expressions",
        small.expressions,
        large.expressions
    );
}

/// A 16-wide DOT followed by `n` ACTIVATION instructions cycling through the elementwise
/// activations.
fn activations(n: usize) -> String {
    // The elementwise activations of instmodel's twelve.
    let names: Vec<&str> = Activation::INSTMODEL
        .into_iter()
        .filter(|a| a.is_elementwise())
        .map(Activation::name)
        .collect();
    let mut json = String::from(
        r#"{"feature_size": 16, "buffer_sizes": [16, 16], "instructions": [{"type": "DOT", "input": 0, "output": 1, "weights": 0}"#,
    );
    for i in 0..n {
        let _ = write!(
            json,
            r#", {{"type": "ACTIVATION", "input": 1, "activation": "{}"}}"#,
            names[i % names.len()]
        );
    }
    let row = vec!["0.01"; 16].join(",");
    let weights = vec![format!("[{row}]"); 16].join(",");
    let _ = write!(json, r#"], "weights": [[{weights}]], "bias": [[{row}]]}}"#);
    json
}

/// `n` 8 × 8 DOTs back and forth between two buffers through one weight slot.
fn dots(n: usize) -> String {
    let mut list = vec![r#"{"type":"DOT","input":0,"output":1,"weights":0}"#.to_string()];
    for i in 1..n {
        let (from, to) = if i % 2 == 1 { (1, 2) } else { (2, 1) };
        list.push(format!(
            r#"{{"type":"DOT","input":{from},"output":{to},"weights":0}}"#
        ));
    }
    let last = if n % 2 == 1 { 1 } else { 2 };
    if last == 1 {
        list.push(r#"{"type":"DOT","input":1,"output":2,"weights":0}"#.to_string());
    }
    let row = format!("[{}]", ["0.01"; 8].join(","));
    let weights = format!("[{}]", vec![row; 8].join(","));
    let bias = format!("[{}]", ["0"; 8].join(","));
    format!(
        r#"{{"feature_size":8,"buffer_sizes":[8,8,8],"instructions":[{}],"weights":[{weights}],"bias":[{bias}]}}"#,
        list.join(",")
    )
}

#[test]
fn many_activations() {
    assert_linear_shaders(
        "specialised WGSL, activations",
        cost(&activations(200)),
        cost(&activations(2_000)),
    );
}

#[test]
fn many_dots() {
    assert_linear_shaders("specialised WGSL, DOTs", cost(&dots(40)), cost(&dots(400)));
}
