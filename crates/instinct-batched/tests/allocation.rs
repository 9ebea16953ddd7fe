//! A warm batch allocates nothing per call: `forward_into` and `forward_many_into` (the lanes,
//! and `Auto` on these small layers), on one thread; on two, only rayon's job queue's amortised
//! growth (one block per 63 jobs). (`ManyEngine::Gemm` allocates:
//! `matrixmultiply` packs into fresh buffers on every product, as its docs say.)

// The counting allocator of instinct-cpu's allocation tests (one copy for the workspace).
#[path = "../../instinct-cpu/tests/support/counting.rs"]
mod counting;

use instinct_batched::{Architecture, BatchedInference, LayerSpec, ManyEngine};
use instinct_format::Activation;

#[test]
fn warm_forward_passes_do_not_allocate() {
    let arch = Architecture::new(vec![
        LayerSpec::new(16, 32, Some(Activation::Relu)),
        LayerSpec::new(32, 8, Some(Activation::Softmax)),
    ]);
    let mut batch = BatchedInference::new(100, arch).unwrap();
    let (w0, w1) = (vec![0.01f32; 512], vec![-0.02f32; 256]);
    for m in 0..100 {
        batch
            .set_model(m, &[(&w0, &[0.1; 32]), (&w1, &[0.0; 8])])
            .unwrap();
    }
    let k = 7;
    let x = vec![0.5f32; 100 * k * 16];
    let mut out = vec![0.0f32; 100 * k * 8];
    for threads in [1, 2] {
        for engine in [ManyEngine::Lanes, ManyEngine::Auto] {
            let b = batch
                .clone()
                .with_threads(threads)
                .unwrap()
                .with_many_engine(engine);
            let mut run = || {
                b.forward_into(&x[..100 * 16], &mut out[..100 * 8]).unwrap();
                b.forward_many_into(&x, k, &mut out).unwrap();
            };
            // Warm-up: each worker's scratch, the pool's threads.
            for _ in 0..20 {
                run();
            }
            let (count, ()) = counting::allocations(|| {
                for _ in 0..50 {
                    run();
                }
            });
            // One thread: nothing. Two: each call hands its work to the pool through rayon's
            // job queue, which grows by one block per 63 jobs: amortised, never per call.
            let allowed = if threads == 1 { 0 } else { 100 / 32 };
            assert!(
                count <= allowed,
                "{threads} thread(s), {engine:?}: {count} allocations in 100 calls"
            );
        }
    }
}
