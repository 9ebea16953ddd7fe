//! Throughput and latency side by side with `instmodel_inference`, in one run:
//! `cargo bench -p instinct-benches --bench peers`. Prints a markdown table (medians of 5 runs).
//! ONNX Runtime is measured by `benches/onnxruntime_bench.py` (see docs/PERFORMANCE.md).

use instinct::{Activation, EngineChoice, Mlp2, Mlp3, Model};
use instinct_benches::handwritten::{Layer, rational_tanh};
use instinct_benches::{inputs, model_path};
use std::hint::black_box;
use std::time::{Duration, Instant};

const RUNS: usize = 5;

fn median(mut f: impl FnMut()) -> Duration {
    f(); // warm-up
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[RUNS / 2]
}

fn instmodel(name: &str) -> instmodel_inference::InstructionModel {
    let text = std::fs::read_to_string(model_path(name)).unwrap();
    instmodel_inference::InstructionModel::new(serde_json::from_str(&text).unwrap()).unwrap()
}

fn row(what: &str, samples: usize, t: Duration, flops: f64) {
    let s = t.as_secs_f64();
    println!(
        "| {what} | {:.0} | {:.1} | {:.1} |",
        samples as f64 / s,
        flops * samples as f64 / s / 1e9,
        s / samples as f64 * 1e9
    );
}

fn throughput() {
    let n = 200_000;
    let name = "seed_250_300_200";
    let ours = Model::load(model_path(name)).unwrap();
    let theirs = instmodel(name);
    let x = inputs(n * 250, 1);
    let flops = 2.0 * (250.0 * 300.0 + 300.0 * 200.0);
    println!("\n### seed model 250→300 (ReLU)→200 (Sigmoid), {n} samples\n");
    println!("| engine | samples/s | GFLOP/s | ns/sample |\n|---|---|---|---|");
    let mut out = vec![0.0f32; n * 200];
    for threads in [1, 2] {
        // The engines through the library's seam, as every user gets them.
        for (choice, label) in [
            (EngineChoice::Batch, "batch"),
            (EngineChoice::Interpreter, "per-sample"),
        ] {
            let runner = ours.runner(choice, Some(threads)).unwrap();
            let t = median(|| runner.run_into(n, black_box(&x), &mut out).unwrap());
            row(
                &format!("instinct {label}, {threads} thread(s)"),
                n,
                t,
                flops,
            );
        }
        let t = median(|| {
            let config = instmodel_inference::PredictConfig::new().with_threads(threads);
            black_box(theirs.predict_parallel(black_box(&x), config).unwrap());
        });
        row(
            &format!("instmodel_inference predict_parallel, {threads} thread(s)"),
            n,
            t,
            flops,
        );
    }
    let mut memory = vec![0.0f32; theirs.required_memory()];
    let t = median(|| {
        for s in x.chunks_exact(250) {
            memory[..250].copy_from_slice(s);
            theirs.predict_with_buffer(&mut memory).unwrap();
            black_box(theirs.get_output(&memory, 0));
        }
    });
    row(
        "instmodel_inference predict_with_buffer, sequential",
        n,
        t,
        flops,
    );
}

/// ns per sample for `n` independent inputs, and for a chain where each output feeds the next
/// input (latency, nothing to overlap).
fn latency<const I: usize>(label: &str, mut f: impl FnMut(&[f32; I]) -> f32) {
    let n = 1_000_000;
    let pool: Vec<[f32; I]> = inputs(1024 * I, 7)
        .chunks_exact(I)
        .map(|c| c.try_into().unwrap())
        .collect();
    let independent = median(|| {
        let mut acc = 0.0f32;
        for i in 0..n {
            acc += f(black_box(&pool[i & 1023]));
        }
        black_box(acc);
    });
    let dependent = median(|| {
        let mut x = pool[0];
        for _ in 0..n {
            let y = f(black_box(&x));
            x[0] = y.clamp(-1.0, 1.0);
        }
        black_box(x);
    });
    println!(
        "| {label} | {:.1} | {:.1} |",
        independent.as_secs_f64() / n as f64 * 1e9,
        dependent.as_secs_f64() / n as f64 * 1e9
    );
}

fn tiny() {
    println!("\n### tiny nets, ns per sample (1,000,000 samples, one thread)\n");
    println!("| net and engine | independent inputs | dependent chain |\n|---|---|---|");
    for name in ["tiny_2_7_relu_1", "tiny_2_7_tanh_1"] {
        let model = Model::load(model_path(name)).unwrap();
        let net = Mlp2::<2, 7, 1>::from_model(model.valid()).unwrap();
        latency::<2>(&format!("{name}: instinct Mlp2 (static)"), |x| {
            net.forward(x)[0]
        });
        let (mut mem, mut out) = (vec![0.0; model.required_memory()], [0.0f32]);
        latency::<2>(&format!("{name}: instinct interpreter predict_into"), |x| {
            model.predict_into(x, &mut mem, &mut out).unwrap();
            out[0]
        });
        let (l1, l2) = (
            Layer::<2, 7>::from_slot(&model, 0),
            Layer::<7, 1>::from_slot(&model, 1),
        );
        let hidden = model.info().instructions[0].activation();
        let relu = hidden == Some(Activation::Relu);
        let label = if relu { "" } else { ", libm tanh" };
        latency::<2>(&format!("{name}: hand-written const-generic{label}"), |x| {
            let h = l1.forward(x, |v| if relu { v.max(0.0) } else { v.tanh() });
            l2.forward(&h, |v| v)[0]
        });
        if !relu {
            latency::<2>(
                &format!("{name}: hand-written const-generic, rational tanh"),
                |x| l2.forward(&l1.forward(x, rational_tanh), |v| v)[0],
            );
        }
        let theirs = instmodel(name);
        let mut memory = vec![0.0f32; theirs.required_memory()];
        latency::<2>(
            &format!("{name}: instmodel_inference predict_with_buffer"),
            |x| {
                memory[..2].copy_from_slice(x);
                theirs.predict_with_buffer(&mut memory).unwrap();
                theirs.get_output(&memory, 0)
            },
        );
    }
    let name = "tiny_8_32_32_1";
    let model = Model::load(model_path(name)).unwrap();
    let net = Mlp3::<8, 32, 32, 1>::from_model(model.valid()).unwrap();
    latency::<8>(&format!("{name}: instinct Mlp3 (static)"), |x| {
        net.forward(x)[0]
    });
    let (mut mem, mut out) = (vec![0.0; model.required_memory()], [0.0f32]);
    latency::<8>(&format!("{name}: instinct interpreter predict_into"), |x| {
        model.predict_into(x, &mut mem, &mut out).unwrap();
        out[0]
    });
    let (l1, l2, l3) = (
        Layer::<8, 32>::from_slot(&model, 0),
        Layer::<32, 32>::from_slot(&model, 1),
        Layer::<32, 1>::from_slot(&model, 2),
    );
    latency::<8>(
        &format!("{name}: hand-written const-generic, libm tanh"),
        |x| {
            let h = l2.forward(&l1.forward(x, f32::tanh), f32::tanh);
            l3.forward(&h, |v| v)[0]
        },
    );
    latency::<8>(
        &format!("{name}: hand-written const-generic, rational tanh"),
        |x| {
            let h = l2.forward(&l1.forward(x, rational_tanh), rational_tanh);
            l3.forward(&h, |v| v)[0]
        },
    );
    let theirs = instmodel(name);
    let mut memory = vec![0.0f32; theirs.required_memory()];
    latency::<8>(
        &format!("{name}: instmodel_inference predict_with_buffer"),
        |x| {
            memory[..8].copy_from_slice(x);
            theirs.predict_with_buffer(&mut memory).unwrap();
            theirs.get_output(&memory, 0)
        },
    );
}

/// The many-model case: 1,000 models of 16→32 (ReLU)→8 (tanh), seeded random weights.
fn batched_models() -> Vec<instinct::ValidModel> {
    use instinct::format::{Limits, ModelBuilder};
    // 808 weights and biases per model, from the benchmark's seeded values.
    let mut pool = inputs(1000 * 808, 0x5EED).into_iter();
    let mut unit = move || pool.next().expect("808 values per model");
    (0..1000)
        .map(|_| {
            let mut b = ModelBuilder::with_feature_size(16);
            for (i, o, act) in [(16, 32, Activation::Relu), (32, 8, Activation::Tanh)] {
                let rows = (0..o)
                    .map(|_| (0..i).map(|_| unit() * 0.25).collect())
                    .collect();
                b = b.dense(rows, (0..o).map(|_| unit() * 0.1).collect(), Some(act));
            }
            instinct::validate::validate(&b.build().unwrap(), &Limits::default()).unwrap()
        })
        .collect()
}

/// One pass of the peer: every model's `k` inputs through `instmodel_inference`, one after
/// another.
fn instmodel_loop(
    theirs: &[instmodel_inference::InstructionModel],
    x: &[f32],
    k: usize,
    memory: &mut [f32],
    out: &mut [f32],
) {
    for (m, model) in theirs.iter().enumerate() {
        for j in 0..k {
            memory[..16].copy_from_slice(&x[(m * k + j) * 16..][..16]);
            model.predict_with_buffer(memory).unwrap();
            let o = model.get_output_index_start();
            out[(m * k + j) * 8..][..8].copy_from_slice(&memory[o..o + 8]);
        }
    }
    black_box(&out);
}

/// The plain sgemm (matrixmultiply, through instinct-kernels) on the same shapes: both layers'
/// products per model, no bias or activation.
fn sgemm_loop(
    w: &instinct::batched::BatchedWeights,
    x: &[f32],
    k: usize,
    h: &mut [f32],
    out: &mut [f32],
) {
    for m in 0..1000 {
        let xm = &x[m * k * 16..][..k * 16];
        instinct::kernels::matmul_nt(k, 32, 16, xm, 16, w.model_weights(m, 0), h);
        let o = &mut out[m * k * 8..][..k * 8];
        instinct::kernels::matmul_nt(k, 8, 32, h, 32, w.model_weights(m, 1), o);
    }
    black_box(&out);
}

fn batched() {
    use instinct::batched::BatchedInference;
    let models = batched_models();
    let flops_per_input = 2.0 * (16.0 * 32.0 + 32.0 * 8.0);
    let theirs: Vec<_> = models
        .iter()
        .map(|m| {
            let json = serde_json::to_string(m.info()).unwrap();
            instmodel_inference::InstructionModel::new(serde_json::from_str(&json).unwrap())
                .unwrap()
        })
        .collect();
    println!("\n### 1,000 models of 16→32 (ReLU)→8 (tanh), µs per batch\n");
    println!(
        "| engine | k (inputs per model) | threads | µs per batch | GFLOP/s |\n|---|---|---|---|---|"
    );
    // One call takes tens of µs at k = 1: each timed run repeats it (a service calling in a
    // loop), and the time of one call is reported.
    let reps = |k: usize| if k == 1 { 200 } else { 16 };
    let print = |what: &str, k: usize, threads: usize, t: Duration| {
        let s = t.as_secs_f64() / reps(k) as f64;
        println!(
            "| {what} | {k} | {threads} | {:.1} | {:.1} |",
            s * 1e6,
            1000.0 * k as f64 * flops_per_input / s / 1e9
        );
    };
    let mut memory = vec![0.0f32; theirs[0].required_memory()];
    for k in [1usize, 64] {
        let x = inputs(1000 * k * 16, 11);
        let mut out = vec![0.0f32; 1000 * k * 8];
        for threads in [1, 2] {
            let batch = BatchedInference::from_models(&models)
                .unwrap()
                .with_threads(threads)
                .unwrap();
            let t = median(|| {
                for _ in 0..reps(k) {
                    if k == 1 {
                        batch.forward_into(black_box(&x), &mut out).unwrap()
                    } else {
                        batch.forward_many_into(black_box(&x), k, &mut out).unwrap()
                    }
                }
            });
            print("instinct-batched", k, threads, t);
        }
        let t = median(|| {
            for _ in 0..reps(k) {
                instmodel_loop(&theirs, &x, k, &mut memory, &mut out);
            }
        });
        print("loop over 1,000 instmodel_inference models", k, 1, t);
        if k > 1 {
            let batch = BatchedInference::from_models(&models).unwrap();
            let w = batch.weights();
            let mut h = vec![0.0f32; k * 32];
            let t = median(|| {
                for _ in 0..reps(k) {
                    sgemm_loop(w, &x, k, &mut h, &mut out);
                }
            });
            print(
                "plain sgemm of both layers per model (no bias, no activation)",
                k,
                1,
                t,
            );
        }
    }
}

/// ns per value of each activation's slice kernel on 1,024-value slices, at every SIMD level
/// this CPU has.
fn activations() {
    use instinct::kernels::fast::{Kind, activate_at};
    use instinct::kernels::simd::Level;
    println!("\n### activation kernels, ns per value (1,024-value slices, one thread)\n");
    // Every slice kernel, by the name of its activation.
    let kinds: Vec<(&str, Kind)> = instinct::format::Activation::BY_CODE
        .into_iter()
        .filter_map(|a| Some((a.name(), a.kind()?)))
        .collect();
    let levels = Level::available();
    let names: Vec<&str> = levels.iter().map(|l| l.name()).collect();
    println!("| kind | {} |", names.join(" | "));
    println!("|---|{}", "---|".repeat(levels.len()));
    for (name, kind) in kinds {
        let mut cells = Vec::new();
        for &level in &levels {
            // Inputs in [-5, 5), restored every pass so that no pass sees saturated values.
            let fresh: Vec<f32> = inputs(1024, 11).iter().map(|v| v * 5.0).collect();
            let mut xs = fresh.clone();
            let passes = 2_000;
            let t = median(|| {
                for _ in 0..passes {
                    xs.copy_from_slice(&fresh);
                    activate_at(level, kind, black_box(&mut xs), None);
                }
            });
            cells.push(format!(
                "{:.2}",
                t.as_secs_f64() / (passes * 1024) as f64 * 1e9
            ));
        }
        println!("| {name} | {} |", cells.join(" | "));
    }
}

/// Measured fused multiply-add peak of one core (GFLOP/s), with the widest vectors the CPU has:
/// twelve independent accumulators, enough to hide the FMA latency.
fn fma_peak() -> Option<f64> {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        #[target_feature(enable = "avx512f,fma")]
        fn avx512(n: usize) -> f32 {
            let mut acc = [_mm512_set1_ps(0.0); 12];
            let (a, b) = (_mm512_set1_ps(0.999_999), _mm512_set1_ps(1e-6));
            for _ in 0..n {
                for v in acc.iter_mut() {
                    *v = _mm512_fmadd_ps(*v, a, b);
                }
            }
            acc.iter().map(|v| _mm512_reduce_add_ps(*v)).sum()
        }
        if std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("fma") {
            let n = 100_000_000;
            let t = median(|| {
                // SAFETY: the CPU has AVX-512F and FMA (checked above).
                black_box(unsafe { avx512(black_box(n)) });
            });
            return Some((n * 12 * 32) as f64 / t.as_secs_f64() / 1e9);
        }
    }
    None
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument selects a part.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wanted = |part: &str| args.is_empty() || args.iter().any(|a| part.contains(a.as_str()));
    println!("SIMD level: {:?}", instinct::kernels::simd::level());
    if let Some(peak) = fma_peak() {
        println!("AVX-512 FMA peak, one core: {peak:.1} GFLOP/s");
    }
    if wanted("throughput") {
        throughput();
    }
    if wanted("tiny") {
        tiny();
    }
    if wanted("activations") {
        activations();
    }
    if wanted("batched") {
        batched();
    }
}
