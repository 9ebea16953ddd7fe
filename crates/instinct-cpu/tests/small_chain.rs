//! The register chain (narrow DOT chains at AVX-512, used by `predict_into`) computes what the
//! step-by-step plan computes (`predict_with_buffer`), on random chains of every activation,
//! NaN and infinities included, on random dense chains and on sequential models with
//! elementwise steps; so do batch calls, which use it where it wins.

use instinct_cpu::{Interpreter, PredictConfig};
use instinct_format::{Activation, Limits, ModelBuilder};
use instinct_kernels::simd::{Level, level};
use instinct_validate::validate;

/// xorshift64: a seeded stream without dependencies.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn unit(&mut self) -> f32 {
        (self.next() % 20_001) as f32 / 10_000.0 - 1.0
    }
}

fn same(a: f32, b: f32) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-5 + 1e-5 * b.abs()
}

/// Runs `samples` seeded inputs (the last with a NaN or an infinity) through `predict_into` and
/// both engines of `predict_batch`, each of which may use the register chain, and asserts they
/// agree with the step-by-step plan (`predict_with_buffer`).
fn agrees_with_the_plan(
    interp: &Interpreter,
    rng: &mut Rng,
    case: usize,
    samples: usize,
    context: &str,
) {
    let fs = interp.feature_size();
    let mut memory = vec![0.0; interp.required_memory()];
    let mut output = vec![0.0; interp.output_size()];
    let (mut inputs, mut expected_rows) = (Vec::new(), Vec::new());
    for sample in 0..samples {
        let mut x: Vec<f32> = (0..fs).map(|_| rng.unit() * 3.0).collect();
        if sample == samples - 1 {
            x[0] = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY][case % 3];
        }
        interp.predict_into(&x, &mut memory, &mut output).unwrap();
        let mut buffer = vec![0.0; interp.required_memory()];
        buffer[..fs].copy_from_slice(&x);
        interp.predict_with_buffer(&mut buffer).unwrap();
        let expected = interp.output(&buffer).unwrap();
        for (o, (got, want)) in output.iter().zip(expected).enumerate() {
            assert!(
                same(*got, *want),
                "case {case}, sample {sample}, output {o}: {got} vs {want}\n{context}"
            );
        }
        inputs.extend_from_slice(&x);
        expected_rows.extend_from_slice(expected);
    }
    for per_sample in [false, true] {
        let config = PredictConfig::new()
            .with_threads(1)
            .with_per_sample(per_sample);
        let got = interp.predict_batch(&inputs, config).unwrap();
        for (i, (g, w)) in got.iter().zip(&expected_rows).enumerate() {
            assert!(
                same(*g, *w),
                "case {case}, per sample {per_sample}, value {i}: {g} vs {w}\n{context}"
            );
        }
    }
}

#[test]
fn register_chains_match_the_plan_on_random_chains() {
    let mut rng = Rng(0x5EED_CAFE);
    let activations: Vec<Option<Activation>> = Activation::INSTMODEL
        .into_iter()
        .map(Some)
        .chain([None])
        .collect();
    let mut chained = 0;
    for case in 0..400 {
        let layers = 1 + rng.below(4);
        let mut sizes = vec![1 + rng.below(40)];
        for _ in 0..layers {
            // Mostly narrow enough for the chain; sometimes wider, which must fall back.
            let widest = if rng.below(8) == 0 { 48 } else { 32 };
            sizes.push(1 + rng.below(widest));
        }
        let mut builder = ModelBuilder::with_feature_size(sizes[0]);
        for w in sizes.windows(2) {
            let scale = 1.0 / (w[0] as f32).sqrt();
            let rows = (0..w[1])
                .map(|_| (0..w[0]).map(|_| rng.unit() * scale).collect())
                .collect();
            let bias = (0..w[1]).map(|_| rng.unit()).collect();
            let act = activations[rng.below(activations.len())];
            builder = builder.dense(rows, bias, act);
        }
        let model = validate(&builder.build().unwrap(), &Limits::default()).unwrap();
        let interp = Interpreter::new(&model);
        let narrow = sizes[1..].iter().all(|&s| s <= 32);
        assert_eq!(
            interp.plan().uses_register_chain(),
            narrow && level() >= Level::Avx2,
            "case {case}: sizes {sizes:?}"
        );
        chained += usize::from(interp.plan().uses_register_chain());
        agrees_with_the_plan(&interp, &mut rng, case, 6, &format!("sizes {sizes:?}"));
    }
    if level() >= Level::Avx2 {
        assert!(chained > 250, "only {chained} of 400 cases used the chain");
    }
}

#[test]
fn sequential_models_with_elementwise_steps_match_the_plan() {
    use instinct_format::Instruction;
    let mut rng = Rng(0xB0_0575);
    let activations: Vec<Activation> = Activation::INSTMODEL.to_vec();
    let mut chained = 0;
    for case in 0..300 {
        let fs = 1 + rng.below(24);
        let mut b = ModelBuilder::with_feature_size(fs).buffer(fs);
        let (mut current, mut width, mut params) = (0usize, fs, 0usize);
        let layers = 1 + rng.below(3);
        let elementwise =
            |b: ModelBuilder, rng: &mut Rng, current: usize, width: usize, params: &mut usize| {
                let mut b = b;
                for _ in 0..rng.below(3) {
                    let values =
                        |rng: &mut Rng| (0..width).map(|_| rng.unit()).collect::<Vec<f32>>();
                    b = match rng.below(4) {
                        0 => {
                            *params += 1;
                            b.parameters(values(rng))
                                .instruction(Instruction::AddElementwise {
                                    input: current,
                                    parameters: *params - 1,
                                })
                        }
                        1 => {
                            *params += 1;
                            b.parameters(values(rng))
                                .instruction(Instruction::MulElementwise {
                                    input: current,
                                    parameters: *params - 1,
                                })
                        }
                        2 => {
                            let lows: Vec<f32> = values(rng).iter().map(|v| v - 1.0).collect();
                            let highs: Vec<f32> = values(rng).iter().map(|v| v + 1.0).collect();
                            let (min, max) = match rng.below(3) {
                                0 => (Some(*params), None),
                                1 => (None, Some(*params)),
                                _ => (Some(*params), Some(*params + 1)),
                            };
                            let count = usize::from(min.is_some()) + usize::from(max.is_some());
                            if min.is_some() {
                                b = b.parameters(lows);
                            }
                            if max.is_some() {
                                b = b.parameters(highs);
                            }
                            *params += count;
                            b.instruction(Instruction::ClipElementwise {
                                input: current,
                                parameters_min: min,
                                parameters_max: max,
                            })
                        }
                        _ => b.instruction(Instruction::Activation {
                            input: current,
                            activation: activations[rng.below(activations.len())],
                        }),
                    };
                }
                b
            };
        b = elementwise(b, &mut rng, current, width, &mut params);
        for _ in 0..layers {
            let out = 1 + rng.below(32);
            let scale = 1.0 / (width as f32).sqrt();
            let rows = (0..out)
                .map(|_| (0..width).map(|_| rng.unit() * scale).collect())
                .collect();
            let bias = (0..out).map(|_| rng.unit()).collect();
            let act = [None, Some(Activation::Relu), Some(Activation::Tanh)][rng.below(3)];
            b = b.dense(rows, bias, act);
            current += 1;
            width = out;
            b = elementwise(b, &mut rng, current, width, &mut params);
        }
        let info = b.build().unwrap();
        let model = validate(&info, &Limits::default()).unwrap();
        let interp = Interpreter::new(&model);
        chained += usize::from(interp.plan().uses_register_chain());
        if level() >= Level::Avx2 {
            assert!(interp.plan().uses_register_chain(), "case {case}");
        }
        agrees_with_the_plan(&interp, &mut rng, case, 5, &format!("{info:?}"));
    }
    if level() >= Level::Avx2 {
        assert_eq!(chained, 300);
    }
}
