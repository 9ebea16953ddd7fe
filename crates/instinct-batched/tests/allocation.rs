//! A warm batch allocates nothing per call: `forward_into` and `forward_many_into` (the default
//! lanes), on one thread; on two (where `forward_many_into` here has
//! the work to use the pool), only the occasional growth of rayon's queues: measured 3 or 4 in
//! 200 calls, one block per 63 jobs. (`with_gemm(true)` allocates:
//! `matrixmultiply` packs into fresh buffers on every product.)

// The counting allocator of instinct-cpu's allocation tests (one copy for the workspace).
#[path = "../../instinct-cpu/tests/support/counting.rs"]
mod counting;

use instinct_batched::{Architecture, BatchedInference, LayerSpec};
use instinct_format::Activation;

#[test]
fn warm_forward_passes_do_not_allocate() {
    let arch = Architecture::new(vec![
        LayerSpec::new(16, 32, Some(Activation::Relu)),
        LayerSpec::new(32, 8, Some(Activation::Softmax)),
    ]);
    let mut batch = BatchedInference::new(300, arch).unwrap();
    let (w0, w1) = (vec![0.01f32; 512], vec![-0.02f32; 256]);
    for m in 0..300 {
        batch
            .set_model(m, &[(&w0, &[0.1; 32]), (&w1, &[0.0; 8])])
            .unwrap();
    }
    let k = 7;
    let x = vec![0.5f32; 300 * k * 16];
    let mut out = vec![0.0f32; 300 * k * 8];
    for threads in [1, 2] {
        {
            let b = batch.clone().with_threads(threads).unwrap();
            let mut run = || {
                b.forward_into(&x[..300 * 16], &mut out[..300 * 8]).unwrap();
                b.forward_many_into(&x, k, &mut out).unwrap();
            };
            // Warm-up: each worker's scratch; and time for the pool's threads (and the test
            // harness, whose threads the counter sees too) to finish starting.
            for _ in 0..20 {
                run();
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
            let calls = 400;
            let (count, ()) = counting::allocations(|| {
                for _ in 0..calls / 2 {
                    run();
                }
            });
            // One thread: nothing. Two: each large call hands its work to rayon's pool, whose
            // queues grow now and then (one block per 63 jobs, work-stealing buffers): rare,
            // never one per call.
            let allowed = if threads == 1 { 0 } else { calls / 20 };
            assert!(
                count <= allowed,
                "{threads} thread(s): {count} allocations in {calls} calls"
            );
        }
    }
}
