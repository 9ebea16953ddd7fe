//! The batch engine allocates nothing per sample or per tile once warm: a counting global
//! allocator proves it (one test per binary, so no other test's allocations are counted). With
//! AVX-512 the matrix products use weights packed at plan time; without it they fall back to
//! `matrixmultiply`'s sgemm, which allocates a packing buffer per call: one per matrix product
//! per tile, as the test states.

use instinct_cpu::{Interpreter, PredictConfig};
use instinct_format::{Limits, ModelInfo};
#[path = "support/counting.rs"]
mod counting;

#[test]
fn warm_batch_runs_do_not_allocate_per_sample_or_tile() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/instmodel-keras/digits_large.json"
    );
    let info = ModelInfo::load(path, &Limits::default()).unwrap();
    let interpreter =
        Interpreter::new(&instinct_validate::validate(&info, &Limits::default()).unwrap());
    let tile = interpreter.tile_rows();
    let run = |samples: usize, threads: usize| {
        let inputs = vec![0.5f32; samples * interpreter.feature_size()];
        let mut outputs = vec![0.0f32; samples * interpreter.output_size()];
        let config = PredictConfig::new().with_threads(threads);
        interpreter
            .predict_batch_into(&inputs, &mut outputs, config)
            .unwrap(); // warm-up
        let (count, ()) = counting::allocations(|| {
            interpreter
                .predict_batch_into(&inputs, &mut outputs, config)
                .unwrap()
        });
        count
    };
    // digits_large has 3 DOTs: per tile, nothing with the packed AVX-512 kernel, else sgemm's
    // packing buffer for each.
    let avx512 = instinct_kernels::simd::level() == instinct_kernels::simd::Level::Avx512;
    let per_tile = if avx512 { 0 } else { 3 };
    assert_eq!(run(3 * tile + 5, 1), 4 * per_tile);
    // Nothing per sample: a full last tile costs what a nearly empty one does.
    assert_eq!(run(4 * tile, 1), run(3 * tile + 1, 1));
    // Two threads: the pool hand-off costs a few allocations per call (the list of tiles; a
    // worker's first tile memory if the warm-up happened not to give it work), never one per
    // tile: 30 tiles would show as 30 or more.
    let few = run(3 * tile, 2) - 3 * per_tile;
    let many = run(30 * tile, 2) - 30 * per_tile;
    assert!(
        few <= 8 && many <= 8,
        "allocations per call: {few} for 3 tiles, {many} for 30"
    );
}
