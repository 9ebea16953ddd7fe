//! Times the kernels of one dense layer on rows already in cache: the fused f32 tile layer
//! (`packed_layer`) and the int8 product (`int8_product`, dynamic and static inputs), on the
//! seed model's two layer shapes and a few neighbours, and prints ns per row and G
//! multiply-adds per second:
//! `cargo run --release -p instinct-benches --bin layer_kernels [-- ROWS]` (168 rows a tile by
//! default, the batch engine's for the seed model). Each figure is the median of 7 runs.

use instinct::kernels::fast::Kind;
use instinct::kernels::int8::{
    InputQuantization, Int8Layer, Int8Weights, int8_product, quantize_weights,
};
use instinct::kernels::simd::level;
use instinct::kernels::{PackedWeights, RowSpan, packed_layer};
use std::time::Instant;

/// Outputs, inputs and activation of each layer timed.
const LAYERS: [(usize, usize, Kind); 5] = [
    (300, 250, Kind::Relu),
    (200, 300, Kind::Sigmoid),
    (200, 300, Kind::Identity),
    (192, 300, Kind::Identity),
    (320, 256, Kind::Identity),
];

fn main() {
    let rows: usize = match std::env::args().nth(1).map(|s| s.parse()) {
        None => 168,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("usage: layer_kernels [ROWS]  (a positive number of rows)");
            std::process::exit(2);
        }
    };
    println!("{rows} rows, level {:?}", level());
    for (n, k, kind) in LAYERS {
        let weights = values(n * k, 0.05);
        let bias = values(n, 0.5);
        let x = values(rows * k, 1.0);
        let mut y = vec![0.0f32; rows * n];
        let (from, to) = (
            RowSpan {
                offset: 0,
                stride: k,
            },
            RowSpan {
                offset: 0,
                stride: n,
            },
        );
        let packed = PackedWeights::new(&weights, n, k);
        let f32_time = median_ns_per_row(rows, || {
            packed_layer(&packed, &bias, kind, rows, &x, from, &mut y, to)
        });
        let (quantised, scales) = quantize_weights(&weights, n, k);
        let int8 = Int8Weights::new(&quantised, &scales, n, k, level());
        let mut report = vec![("f32 fused", f32_time)];
        for (name, quant) in [
            ("int8 dynamic", InputQuantization::Dynamic),
            (
                "int8 static",
                InputQuantization::Static {
                    scale: 2.0 / 255.0,
                    zero_point: 128,
                },
            ),
        ] {
            let layer = Int8Layer {
                weights: &int8,
                bias: &bias,
                quant,
                kind,
            };
            let time = median_ns_per_row(rows, || int8_product(layer, rows, &x, from, &mut y, to));
            report.push((name, time));
        }
        let macs = (n * k) as f64;
        let cells: Vec<String> = report
            .iter()
            .map(|(name, ns)| match ns {
                Some(ns) => format!("{name} {ns:.1} ns/row ({:.1} GMAC/s)", macs / ns),
                None => format!("{name}: not run on this CPU"),
            })
            .collect();
        println!("{n}x{k} {kind:?}: {}", cells.join(", "));
    }
}

/// Seeded values in `[-scale, scale]`.
fn values(count: usize, scale: f32) -> Vec<f32> {
    (0..count)
        .map(|i| ((i * 7919 + 13) % 2001) as f32 / 1000.0 - 1.0)
        .map(|v| v * scale)
        .collect()
}

/// The median over 7 runs of the time per row of `run` (which does `rows` rows and says
/// whether it ran), each run repeated to about 20,000 rows; `None` when it did not run.
fn median_ns_per_row(rows: usize, mut run: impl FnMut() -> bool) -> Option<f64> {
    if !run() {
        return None;
    }
    let repeats = (20_000 / rows).max(1);
    let mut times: Vec<f64> = (0..7)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..repeats {
                std::hint::black_box(run());
            }
            start.elapsed().as_secs_f64() * 1e9 / (repeats * rows) as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    Some(times[3])
}
