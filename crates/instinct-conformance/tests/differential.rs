//! Differential tests against the `instmodel_inference` crate (0.9.0) and the f64 reference:
//! every Keras fixture, and hundreds of seeded random valid models covering every instruction
//! and activation, must agree within abs 1e-5 + rel 1e-5.

mod common;

use instinct::{EngineChoice, Model, PredictConfig, RunError};
use instinct_conformance::random_model::{
    RandomCase, random_case, random_extended_case, random_wide_case,
};
use instinct_conformance::{ErrorStats, Tolerance, reference::run_f64};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use std::cell::RefCell;
use std::path::PathBuf;

/// Runs the reference crate on a model (given as our JSON) and rows.
fn run_instmodel(json: &str, inputs: &[Vec<f32>]) -> Result<Vec<Vec<f64>>, String> {
    common::instmodel_rows(json, inputs).map(|rows| {
        rows.into_iter()
            .map(|r| r.into_iter().map(f64::from).collect())
            .collect()
    })
}

fn ours(model: &Model, inputs: &[Vec<f32>]) -> Vec<Vec<f64>> {
    inputs
        .iter()
        .map(|x| {
            model
                .predict(x)
                .unwrap()
                .into_iter()
                .map(f64::from)
                .collect()
        })
        .collect()
}

fn config(cases: u32, seed: u64) -> Config {
    Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        ..Config::default()
    }
}

#[test]
fn keras_fixtures_match_instmodel_run_live() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/instmodel-keras");
    let (mut worst, mut used) = (0.0f64, 0.0f64);
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".json") || name.ends_with(".expected.json") || name == "index.json" {
            continue;
        }
        let json = std::fs::read_to_string(&path).unwrap();
        let model = Model::from_json_str(&json).unwrap();
        let inputs = model
            .info()
            .validation_data
            .as_ref()
            .unwrap()
            .inputs
            .clone();
        let theirs = run_instmodel(&json, &inputs).unwrap();
        let stats = ErrorStats::compare(&ours(&model, &inputs), &theirs, Tolerance::CLOSE);
        assert!(stats.passed(), "{name}: {stats:?}");
        worst = worst.max(stats.max_abs);
        used = used.max(stats.max_tolerance_used);
        checked += 1;
    }
    assert_eq!(checked, 9);
    eprintln!(
        "keras fixtures vs instmodel_inference: 9 models, largest |difference| {worst:e}, largest fraction of the tolerance used {used:.3}"
    );
}

/// Runs `check` over `cases` random models and reports the largest difference seen.
fn over_random_models(
    cases: u32,
    seed: u64,
    label: &str,
    check: impl Fn(&RandomCase, &Model) -> Result<ErrorStats, TestCaseError>,
) {
    over_generated_models(cases, seed, label, random_case, check);
}

/// [`over_random_models`] with the models of `generate`.
fn over_generated_models(
    cases: u32,
    seed: u64,
    label: &str,
    generate: fn(u64, usize) -> RandomCase,
    check: impl Fn(&RandomCase, &Model) -> Result<ErrorStats, TestCaseError>,
) {
    let worst = RefCell::new(ErrorStats::default());
    let mut runner = TestRunner::new(config(cases, seed));
    runner
        .run(&any::<u64>(), |seed| {
            let case = generate(seed, 4);
            let model = Model::from_info(case.info.clone()).map_err(|e| {
                TestCaseError::fail(format!("seed {seed}: generated model invalid: {e}"))
            })?;
            let d = check(&case, &model).map_err(|e| {
                TestCaseError::fail(format!("seed {seed}: {e}\n{}", case.info.to_json_string()))
            })?;
            let mut w = worst.borrow_mut();
            w.max_abs = w.max_abs.max(d.max_abs);
            w.max_tolerance_used = w.max_tolerance_used.max(d.max_tolerance_used);
            w.values += d.values;
            Ok(())
        })
        .unwrap();
    let w = worst.borrow();
    eprintln!(
        "{label}: {cases} random models, {} values, largest |difference| {:e}, largest fraction of the tolerance used {:.3}",
        w.values, w.max_abs, w.max_tolerance_used
    );
}

#[test]
fn random_models_match_instmodel() {
    over_random_models(
        1000,
        0x1157_0001,
        "random models vs instmodel_inference",
        |case, model| {
            let theirs = run_instmodel(&case.info.to_json_string(), &case.inputs)
                .map_err(TestCaseError::fail)?;
            let stats = ErrorStats::compare(&ours(model, &case.inputs), &theirs, Tolerance::CLOSE);
            prop_assert!(stats.passed(), "{stats:?}");
            Ok(stats)
        },
    );
}

/// Our f32 results against exact (f64) arithmetic. Looser in its relative part than
/// `Tolerance::CLOSE` (which compares two f32 implementations): EXP of an argument near its clamp
/// at 88 turns the argument's f32 rounding (~1e-5 absolute) into ~1e-5 relative error, and
/// products of such values add these errors up. Measured worst case over these 1000 models:
/// printed by the test.
const F32_VS_EXACT: Tolerance = Tolerance::Close {
    abs: 1e-5,
    rel: 1e-4,
};

/// The f64 reference's rows for a case's inputs.
fn f64_rows(case: &RandomCase, model: &Model) -> Vec<Vec<f64>> {
    case.inputs
        .iter()
        .map(|x| run_f64(model.valid(), x))
        .collect()
}

#[test]
fn random_models_match_the_f64_reference() {
    over_random_models(
        1000,
        0x1157_0002,
        "random models vs the f64 reference",
        |case, model| {
            let reference = f64_rows(case, model);
            let stats = ErrorStats::compare(&ours(model, &case.inputs), &reference, F32_VS_EXACT);
            prop_assert!(stats.passed(), "{stats:?}");
            Ok(stats)
        },
    );
}

/// Models using the format's extension activations (each of `Activation::EXTENSIONS`,
/// LOG_SOFTMAX, ABS, NEG, LN, with random parameters) among every instruction: the per-sample
/// and the batch engine against the f64 reference.
#[test]
fn random_models_with_extension_activations_match_the_f64_reference() {
    over_generated_models(
        600,
        0x1157_0006,
        "random models with extensions vs the f64 reference",
        random_extended_case,
        |case, model| {
            let reference = f64_rows(case, model);
            let stats = ErrorStats::compare(&ours(model, &case.inputs), &reference, F32_VS_EXACT);
            prop_assert!(stats.passed(), "per sample: {stats:?}");
            let n = model.interpreter().tile_rows() + 5;
            let rows: Vec<Vec<f32>> = (0..n)
                .map(|i| case.inputs[i % case.inputs.len()].clone())
                .collect();
            let batch = parallel(model, &rows, PredictConfig::new().with_per_sample(false));
            let expected: Vec<Vec<f64>> = (0..n)
                .map(|i| reference[i % reference.len()].clone())
                .collect();
            let batch_stats = ErrorStats::compare(&batch, &expected, F32_VS_EXACT);
            prop_assert!(batch_stats.passed(), "batch: {batch_stats:?}");
            Ok(stats)
        },
    );
}

/// Random models over every instruction, activation (extensions included) and optional field,
/// with buffers from 1 to 300 values wide.
fn wide_case(seed: u64, rows: usize) -> RandomCase {
    random_wide_case(seed, rows, 300)
}

#[test]
fn wide_random_models_run_on_every_cpu_engine_as_the_f64_reference() {
    // Widths cross every register (8, 16), chain (32), panel (32) and tile size; no engine may
    // panic or refuse a model that validated, and each agrees with the f64 reference.
    over_generated_models(
        300,
        0x1157_0016,
        "wide random models on every CPU engine vs the f64 reference",
        wide_case,
        |case, model| {
            let reference = f64_rows(case, model);
            let stats = ErrorStats::compare(&ours(model, &case.inputs), &reference, F32_VS_EXACT);
            prop_assert!(stats.passed(), "per sample: {stats:?}");
            for per_sample in [true, false] {
                for threads in [1, 2] {
                    let config = PredictConfig::new()
                        .with_threads(threads)
                        .with_per_sample(per_sample);
                    let rows = parallel(model, &case.inputs, config);
                    let stats = ErrorStats::compare(&rows, &reference, F32_VS_EXACT);
                    prop_assert!(
                        stats.passed(),
                        "per sample {per_sample} on {threads}: {stats:?}"
                    );
                }
            }
            // Every CPU engine of the seam that applies (the static nets and the batched engine
            // take dense chains of their shapes only, and say so).
            for choice in EngineChoice::ALL {
                if choice == EngineChoice::Gpu {
                    continue;
                }
                let runner = match model.runner(choice, Some(2)) {
                    Ok(r) => r,
                    Err(RunError::NotApplicable { .. }) => continue,
                    Err(e) => return Err(TestCaseError::fail(format!("{choice}: {e}"))),
                };
                let flat: Vec<f32> = case.inputs.iter().flatten().copied().collect();
                let out = runner
                    .run(case.inputs.len(), &flat)
                    .map_err(|e| TestCaseError::fail(format!("{choice}: {e}")))?;
                let rows: Vec<Vec<f64>> = out
                    .chunks(model.output_size().max(1))
                    .map(|r| r.iter().map(|&v| f64::from(v)).collect())
                    .collect();
                let stats = ErrorStats::compare(&rows, &reference, F32_VS_EXACT);
                prop_assert!(stats.passed(), "{choice}: {stats:?}");
            }
            // The GPU code generators take every valid model too (their outputs are checked on
            // an adapter in gpu_random.rs).
            instinct_conformance::shaders_validate(model.valid())
                .map_err(|e| TestCaseError::fail(format!("shaders: {e}")))?;
            Ok(stats)
        },
    );
}

/// Runs a flat batch through `predict_parallel` with `config` and returns rows.
fn parallel(model: &Model, inputs: &[Vec<f32>], config: PredictConfig) -> Vec<Vec<f64>> {
    let flat: Vec<f32> = inputs.iter().flatten().copied().collect();
    let out = model.predict_parallel(&flat, config).unwrap();
    out.rows()
        .map(|r| r.iter().map(|&v| f64::from(v)).collect())
        .collect()
}

#[test]
fn the_per_sample_engine_is_bit_identical_to_predict_for_any_thread_count() {
    over_random_models(
        150,
        0x1157_0003,
        "per-sample engine vs predict",
        |case, model| {
            let expected = ours(model, &case.inputs);
            for threads in [1, 2, 3, 8] {
                let config = PredictConfig::new()
                    .with_threads(threads)
                    .with_per_sample(true);
                // Each sample runs the same code from zeroed memory, so results are bit-identical.
                let stats = ErrorStats::compare(
                    &parallel(model, &case.inputs, config),
                    &expected,
                    Tolerance::Exact,
                );
                prop_assert!(stats.passed(), "threads {threads}: {stats:?}");
            }
            Ok(ErrorStats::default())
        },
    );
}

#[test]
fn the_batch_engine_matches_the_interpreter_and_ignores_the_thread_count() {
    over_random_models(
        300,
        0x1157_0004,
        "batch engine vs interpreter",
        |case, model| {
            // Two full tiles and a ragged third, so tiles really are split over the threads.
            let n = 2 * model.interpreter().tile_rows() + 37;
            let rows: Vec<Vec<f32>> = (0..n)
                .map(|i| case.inputs[i % case.inputs.len()].clone())
                .collect();
            let expected = ours(model, &rows);
            let one = parallel(model, &rows, PredictConfig::new().with_threads(1));
            let stats = ErrorStats::compare(&one, &expected, Tolerance::CLOSE);
            prop_assert!(stats.passed(), "batch vs interpreter: {stats:?}");
            for threads in [2, 3] {
                let many = parallel(model, &rows, PredictConfig::new().with_threads(threads));
                // Tiles do not depend on the thread count, so neither do the results.
                let same = ErrorStats::compare(&many, &one, Tolerance::Exact);
                prop_assert!(same.passed(), "threads {threads}: {same:?}");
            }
            Ok(stats)
        },
    );
}

/// Random chains of DOTs with every activation, input rows with now and then a NaN or an
/// infinity: the many-model backend (17 copies of each model, `forward` and `forward_many`)
/// against `instmodel_inference` run on the model alone.
#[test]
fn the_batched_engine_matches_instmodel_on_random_dot_chains() {
    use instinct::format::{Activation, Limits, ModelBuilder};
    use instinct_conformance::random_model::Rng;
    use instinct_conformance::{BatchedSubject, Subject};
    let mut runner = TestRunner::new(config(300, 0x1157_0005));
    runner
        .run(&any::<u64>(), |seed| {
            let mut rng = Rng::new(seed);
            // Mostly lane-sized layers, a quarter of them up to 300 wide.
            let draw = |rng: &mut Rng| {
                if rng.chance(0.25) {
                    1 + rng.below(300)
                } else {
                    1 + rng.below(24)
                }
            };
            let mut width = draw(&mut rng);
            let mut builder = ModelBuilder::with_feature_size(width);
            for _ in 0..1 + rng.below(3) {
                let out = draw(&mut rng);
                let scale = 1.0 / (width as f32).sqrt();
                let rows = (0..out)
                    .map(|_| (0..width).map(|_| rng.uniform(-scale, scale)).collect())
                    .collect();
                let bias = (0..out).map(|_| rng.uniform(-0.5, 0.5)).collect();
                let i = rng.below(Activation::INSTMODEL.len() + 1);
                builder = builder.dense(rows, bias, Activation::INSTMODEL.get(i).copied());
                width = out;
            }
            let info = builder.build().unwrap();
            let fs = info.feature_size.unwrap_or(0);
            let inputs: Vec<Vec<f32>> = (0..5)
                .map(|_| {
                    let mut row: Vec<f32> = (0..fs).map(|_| rng.uniform(-2.5, 2.5)).collect();
                    if rng.chance(0.2) {
                        let at = rng.below(fs);
                        row[at] = rng.pick(&[f32::NAN, f32::INFINITY, f32::NEG_INFINITY]);
                    }
                    row
                })
                .collect();
            let model = Model::from_info_with_limits(info.clone(), &Limits::default())
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let ours = BatchedSubject
                .run(&model, &inputs)
                .map_err(|e| TestCaseError::fail(format!("seed {seed}: {e}")))?;
            let theirs =
                run_instmodel(&info.to_json_string(), &inputs).map_err(TestCaseError::fail)?;
            let stats = ErrorStats::compare(&ours, &theirs, Tolerance::CLOSE);
            prop_assert!(
                stats.passed(),
                "seed {seed}: {stats:?}\n{}",
                info.to_json_string()
            );
            Ok(())
        })
        .unwrap();
}
