//! The converter's work grows linearly with the graph: counted as allocator traffic (calls and
//! bytes, per thread, by instinct-workcount), which is repeatable where wall time is not. A chain
//! ten times longer may cost at most 25 times as much; a quadratic cost shows as ~100x.

mod support;

use instinct_onnx::import_bytes;
use instinct_onnx::proto::{NodeProto, TensorProto};
use instinct_workcount::{CountingAllocator, Work, assert_linear, work};
use support::graph;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// `n` nodes `op(previous, extra...)` in a row.
fn chain(n: usize, op: &str, extra: &[&str]) -> Vec<NodeProto> {
    (0..n)
        .map(|i| {
            let mut input = vec![if i == 0 { "x".into() } else { format!("v{i}") }];
            input.extend(extra.iter().map(|s| s.to_string()));
            NodeProto {
                op_type: Some(op.into()),
                name: Some(format!("n{i}")),
                input,
                output: vec![format!("v{}", i + 1)],
                ..Default::default()
            }
        })
        .collect()
}

/// The allocator work of one import, which must succeed.
fn cost(bytes: &[u8]) -> Work {
    work(|| {
        let result = import_bytes(bytes);
        assert!(result.is_ok(), "{result:?}");
    })
}

#[test]
fn a_chain_of_activations_costs_linear_work() {
    let small = graph(4, chain(1_000, "Relu", &[]), Vec::new(), "v1000");
    let large = graph(4, chain(10_000, "Relu", &[]), Vec::new(), "v10000");
    assert_linear("Relu chain", cost(&small), cost(&large));
}

#[test]
fn a_constant_shared_by_every_node_is_not_copied_per_reader() {
    // Each Mul by the same 2,000-value constant emits one parameter vector (linear, and
    // necessary), but reading the constant must not copy it again and again.
    let constant = TensorProto {
        name: Some("c".into()),
        dims: vec![2000],
        data_type: Some(1),
        float_data: vec![1.0001; 2000],
        ..Default::default()
    };
    let small = graph(
        2000,
        chain(100, "Mul", &["c"]),
        vec![constant.clone()],
        "v100",
    );
    let large = graph(2000, chain(1_000, "Mul", &["c"]), vec![constant], "v1000");
    assert_linear("Mul by a shared constant", cost(&small), cost(&large));
}
