//! A model that is a chain of dense layers runs in the batch engine straight from the
//! caller's rows to the caller's outputs, with the bias and activation fused into the tile
//! kernel (AVX-512); its outputs are bit for bit those of the tile path (which copies rows
//! into tiles and makes a pass over each layer's outputs), asked for here through a result
//! slice wider than the output.

use instinct_cpu::{Interpreter, PredictConfig};
use instinct_format::{Activation, Limits, ModelBuilder};

fn values(n: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.max(1);
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s % 2000) as f32 / 1000.0 - 1.0
        })
        .collect()
}

#[test]
fn the_chain_gives_the_tile_paths_bits() {
    for (sizes, acts) in [
        (
            vec![30, 40, 20, 5],
            vec![Activation::Relu, Activation::Sigmoid, Activation::Tanh],
        ),
        (
            vec![250, 300, 200],
            vec![Activation::Relu, Activation::Sigmoid],
        ),
        (vec![7, 33], vec![Activation::Tanh]),
    ] {
        let mut b = ModelBuilder::with_feature_size(sizes[0]);
        for (i, (w, act)) in sizes.windows(2).zip(&acts).enumerate() {
            let rows = values(w[0] * w[1], 3 + i as u32)
                .chunks(w[0])
                .map(|r| r.iter().map(|v| v * 0.3).collect())
                .collect();
            b = b.dense(rows, values(w[1], 9 + i as u32), Some(*act));
        }
        let info = b.build().unwrap();
        let m = Interpreter::new(&instinct_validate::validate(&info, &Limits::default()).unwrap());
        // The chain path is taken where the fused kernel exists; elsewhere both calls below
        // take the tile path and agree trivially.
        let avx512 = instinct_kernels::simd::level() == instinct_kernels::simd::Level::Avx512;
        assert_eq!(m.plan().runs_as_dot_chain(), avx512, "{sizes:?}");
        let n = 1000;
        let x = values(n * sizes[0], 17);
        for threads in [1, 2] {
            let config = PredictConfig::new().with_threads(threads);
            let chain = m.predict_batch(&x, config).unwrap();
            // The last two buffers as the result: not the output alone, so the tile path.
            let total = m.required_memory();
            let before = sizes[sizes.len() - 2];
            let out = *sizes.last().unwrap();
            let wide = m
                .predict_parallel(
                    &x,
                    config.with_slice_result_buffer(total - out - before, total),
                )
                .unwrap();
            let wide = wide.as_slice();
            for r in 0..n {
                let tile = &wide[r * (before + out) + before..][..out];
                let got = &chain[r * out..][..out];
                assert!(
                    got.iter()
                        .zip(tile)
                        .all(|(a, b)| a.to_bits() == b.to_bits()),
                    "{sizes:?} row {r} on {threads} threads: {got:?} vs {tile:?}"
                );
            }
        }
    }
}
