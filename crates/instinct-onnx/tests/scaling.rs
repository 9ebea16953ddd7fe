//! The converter's work grows linearly with the graph: counted as allocator traffic (calls and
//! bytes), which is repeatable where wall time is not. A chain ten times longer may cost at most
//! 25 times as much (vectors grow by doubling, so linear work shows as 5-20x in bytes); a
//! quadratic cost shows as ~100x.

mod support;

use instinct_onnx::import_bytes;
use instinct_onnx::proto::{NodeProto, TensorProto};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use support::graph;

/// The system allocator, counting calls and bytes.
struct Counting;

static CALLS: AtomicUsize = AtomicUsize::new(0);
static BYTES: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to `System`, which upholds GlobalAlloc's contract;
// the counters are only atomics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        CALLS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's layout goes to System as it came.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        CALLS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(new_size, Ordering::Relaxed);
        // SAFETY: as for `dealloc`; `new_size` is the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

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

/// Allocator calls and bytes of one import.
fn cost(bytes: &[u8]) -> (usize, usize) {
    let (c, b) = (CALLS.load(Ordering::SeqCst), BYTES.load(Ordering::SeqCst));
    let result = import_bytes(bytes);
    assert!(result.is_ok(), "{result:?}");
    (
        CALLS.load(Ordering::SeqCst) - c,
        BYTES.load(Ordering::SeqCst) - b,
    )
}

fn assert_linear(what: &str, small: (usize, usize), large: (usize, usize)) {
    let calls = large.0 as f64 / small.0 as f64;
    let bytes = large.1 as f64 / small.1 as f64;
    eprintln!("{what}: 10x the nodes, {calls:.1}x the allocations, {bytes:.1}x the bytes");
    assert!(
        calls < 25.0 && bytes < 25.0,
        "{what}: {calls:.1}x calls, {bytes:.1}x bytes"
    );
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
