//! Every model of a batch gives what the per-sample interpreter gives for it alone (abs 1e-5 +
//! rel 1e-5), on random architectures with every activation (instinct's extensions included),
//! layers 1–40 wide with 1–300 models and 1–70 inputs per model at every SIMD level this CPU has
//! on one and two threads, and layers up to 300 wide; plus the errors.

use instinct_batched::{Architecture, BatchedError, BatchedInference, LayerSpec};
use instinct_cpu::Interpreter;
use instinct_format::{Activation, Instruction, Limits, ModelBuilder};
use instinct_kernels::simd::Level;
use instinct_validate::{ValidModel, validate};
use proptest::prelude::*;
use std::collections::HashMap;

/// A format model of `arch` with weights drawn from `seed`.
fn model(arch: &Architecture, seed: u64) -> ValidModel {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut unit = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    };
    let mut b = ModelBuilder::with_feature_size(arch.input_size());
    for l in &arch.layers {
        let scale = 1.0 / (l.input_size as f32).sqrt();
        let rows = (0..l.output_size)
            .map(|_| (0..l.input_size).map(|_| unit() * scale).collect())
            .collect();
        let bias = (0..l.output_size).map(|_| unit() * 0.5).collect();
        b = b.dense(rows, bias, l.activation);
    }
    validate(&b.build().unwrap(), &Limits::default()).unwrap()
}

fn close(got: f32, want: f32) -> bool {
    (got - want).abs() <= 1e-5 + 1e-5 * want.abs() || (got.is_nan() && want.is_nan())
}

/// Random chains over instmodel's activations and instinct's extensions (which run after the
/// product, row by row). SQRT, LOG, LOG10 and LN (unbounded slope at 0: a pre-activation that
/// differs by 1e-7 between two summation orders can move the result by more than 1e-5) and EXP
/// (whose large outputs make the next layer's sums cancel) are left out here; the kernel tests
/// check them against f64 on single layers, where nothing amplifies the rounding.
fn architecture() -> impl Strategy<Value = Architecture> {
    architecture_of_widths(1usize..40)
}

/// [`architecture`] with layers `widths` wide.
fn architecture_of_widths(
    widths: impl Strategy<Value = usize> + Clone + 'static,
) -> impl Strategy<Value = Architecture> {
    let tame: Vec<Activation> = Activation::INSTMODEL
        .into_iter()
        .chain(Activation::EXTENSIONS)
        .filter(|a| {
            !matches!(
                a,
                Activation::Sqrt
                    | Activation::Log
                    | Activation::Log10
                    | Activation::Exp
                    | Activation::Ln
            )
        })
        .collect();
    let activation = prop_oneof![Just(None), proptest::sample::select(tame).prop_map(Some)];
    (
        widths.clone(),
        proptest::collection::vec((widths, activation), 1..4),
    )
        .prop_map(|(input, layers)| {
            let mut width = input;
            let layers = layers
                .into_iter()
                .map(|(out, act)| {
                    let l = LayerSpec::new(width, out, act);
                    width = out;
                    l
                })
                .collect();
            Architecture::new(layers)
        })
}

/// Every model of `models` copies of `arch` (weights from `seed`) against the interpreter.
fn check_against_interpreter(
    arch: &Architecture,
    batch: &BatchedInference,
    valid: &[ValidModel],
    k: usize,
    seed: u64,
) -> Result<(), TestCaseError> {
    let models = valid.len();
    let (fi, fo) = (arch.input_size(), arch.output_size());
    let x = inputs(models * k * fi, seed);
    let got = if k == 1 {
        batch.forward(&x).unwrap()
    } else {
        batch.forward_many(&x, k).unwrap()
    };
    prop_assert_eq!(got.len(), models * k * fo);
    for (m, v) in valid.iter().enumerate() {
        let interp = Interpreter::new(v);
        for j in 0..k {
            let row = &x[(m * k + j) * fi..][..fi];
            let want = interp.predict(row).unwrap();
            let got = &got[(m * k + j) * fo..][..fo];
            for (o, (g, w)) in got.iter().zip(&want).enumerate() {
                prop_assert!(
                    close(*g, *w),
                    "model {} input {} output {}: {} vs {}",
                    m,
                    j,
                    o,
                    g,
                    w
                );
            }
        }
    }
    Ok(())
}

fn inputs(n: usize, seed: u64) -> Vec<f32> {
    (0..n)
        .map(|i| ((i as u64 * 2_654_435_761 + seed) % 2001) as f32 / 500.0 - 2.0)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 32,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_model_matches_the_interpreter(
        arch in architecture(),
        models in prop_oneof![1usize..40, 250usize..301],
        k in prop_oneof![Just(1usize), 2usize..71],
        seed in any::<u64>(),
        level in proptest::sample::select(vec![Level::Scalar, Level::Avx2, Level::Avx512]),
        threads in 1usize..3,
        gemm in any::<bool>(),
    ) {
        let valid: Vec<ValidModel> = (0..models).map(|m| model(&arch, seed ^ m as u64)).collect();
        let batch = BatchedInference::from_models(&valid)
            .unwrap()
            .with_level(level)
            .with_gemm(gemm)
            .with_threads(threads)
            .unwrap();
        check_against_interpreter(&arch, &batch, &valid, k, seed)?;
    }
}

fn tiny_arch() -> Architecture {
    Architecture::new(vec![
        LayerSpec::new(2, 3, Some(Activation::Tanh)),
        LayerSpec::new(3, 2, None),
    ])
}

fn weights(scale: f32) -> HashMap<String, Vec<f32>> {
    HashMap::from([
        ("layer_0".to_string(), vec![scale; 6]),
        ("layer_1".to_string(), vec![scale; 6]),
    ])
}

#[test]
fn hot_reload_replaces_one_model_in_place() {
    let mut batch = BatchedInference::new(20, tiny_arch()).unwrap();
    for m in 0..20 {
        batch.load_weights(m, &weights(0.1)).unwrap();
    }
    let x = vec![1.0; 40];
    let before = batch.forward(&x).unwrap();
    batch.load_weights(17, &weights(0.5)).unwrap();
    batch
        .load_bias(
            17,
            &HashMap::from([
                ("layer_0".to_string(), vec![0.0; 3]),
                ("layer_1".to_string(), vec![1.0, -1.0]),
            ]),
        )
        .unwrap();
    let after = batch.forward(&x).unwrap();
    for m in 0..20 {
        let changed = before[m * 2..][..2] != after[m * 2..][..2];
        assert_eq!(changed, m == 17, "model {m}");
    }
    // Model 17 alone: tanh(0.5 · 2) three times, times 0.5 each, plus the bias.
    let h = (1.0f32).tanh();
    assert!(close(after[34], 1.5 * h + 1.0) && close(after[35], 1.5 * h - 1.0));
}

#[test]
fn errors_name_what_and_where_and_write_nothing() {
    let mut batch = BatchedInference::new(3, tiny_arch()).unwrap();
    batch.load_weights(0, &weights(1.0)).unwrap();
    batch.load_weights(2, &weights(1.0)).unwrap();
    let mut out = vec![7.0; 6];
    assert_eq!(
        batch.forward_into(&[0.0; 6], &mut out),
        Err(BatchedError::NotLoaded { model: 1 })
    );
    assert_eq!(out, vec![7.0; 6]);
    batch.load_weights(1, &weights(1.0)).unwrap();
    assert!(matches!(
        batch.forward(&[0.0; 5]),
        Err(BatchedError::InputLength {
            actual: 5,
            expected: 6,
            ..
        })
    ));
    assert!(matches!(
        batch.forward_into(&[0.0; 6], &mut [0.0; 5]),
        Err(BatchedError::OutputLength {
            actual: 5,
            expected: 6
        })
    ));
    assert_eq!(
        batch.forward_many(&[0.0; 6], 0),
        Err(BatchedError::NoInputs)
    );
    // A `k` whose sizes overflow is an error, not a wrapped length (nor an allocation).
    for k in [usize::MAX, usize::MAX / 2 + 1, (1 << 62) + 1] {
        assert_eq!(
            batch.forward_many(&[0.0; 6], k),
            Err(BatchedError::TooManyInputs { k })
        );
        assert_eq!(
            batch.forward_many_into(&[0.0; 6], k, &mut [0.0; 6]),
            Err(BatchedError::TooManyInputs { k })
        );
    }
    let mut bad = weights(1.0);
    bad.get_mut("layer_1").unwrap()[4] = f32::NAN;
    let err = batch.load_weights(1, &bad).unwrap_err();
    assert!(
        matches!(
            err,
            BatchedError::NonFinite {
                model: 1,
                layer: 1,
                index: 4,
                ..
            }
        ),
        "{err}"
    );
    bad.remove("layer_1");
    assert_eq!(
        batch.load_weights(1, &bad),
        Err(BatchedError::MissingLayer { model: 1, layer: 1 })
    );
    let mut extra = weights(1.0);
    extra.insert("layer_2".into(), vec![0.0]);
    assert!(matches!(
        batch.load_weights(0, &extra),
        Err(BatchedError::UnknownKey { .. })
    ));
    let mut short = weights(1.0);
    short.get_mut("layer_0").unwrap().pop();
    assert!(matches!(
        batch.load_weights(0, &short),
        Err(BatchedError::Length {
            model: 0,
            layer: 0,
            actual: 5,
            expected: 6,
            ..
        })
    ));
    assert_eq!(
        batch.load_weights(3, &weights(1.0)),
        Err(BatchedError::ModelIndex {
            model: 3,
            models: 3
        })
    );
    // Nothing above changed model 0 or 1: both still have all weights 1.
    assert_eq!(batch.weights().model_weights(1, 1), &[1.0; 6]);
    assert_eq!(batch.weights().model_weights(0, 0), &[1.0; 6]);
    assert_eq!(
        BatchedInference::new(0, tiny_arch()).unwrap_err(),
        BatchedError::NoModels
    );
    assert!(matches!(
        BatchedInference::new(usize::MAX / 2, tiny_arch()),
        Err(BatchedError::TooLarge { .. })
    ));
    assert!(matches!(
        BatchedInference::new(
            1,
            Architecture::new(vec![LayerSpec::new(usize::MAX, 2, None)])
        ),
        Err(BatchedError::TooLarge { .. })
    ));
    // One model whose weights fit the limit, but whose group of sixteen lanes would not: refused
    // before anything is allocated.
    assert!(matches!(
        BatchedInference::new(
            1,
            Architecture::new(vec![LayerSpec::new(1 << 25, 30, None)])
        ),
        Err(BatchedError::TooLarge { .. })
    ));
    assert_eq!(
        Architecture::new(vec![]).validate(),
        Err(BatchedError::NoLayers)
    );
    assert!(matches!(
        Architecture::new(vec![LayerSpec::new(2, 0, None)]).validate(),
        Err(BatchedError::EmptyLayer { layer: 0, .. })
    ));
    assert!(matches!(
        BatchedInference::new(1, tiny_arch())
            .unwrap()
            .with_threads(0),
        Err(BatchedError::ZeroThreads)
    ));
}

#[test]
fn from_models_names_the_first_model_and_layer_that_differ() {
    let a = model(&tiny_arch(), 1);
    let other = Architecture::new(vec![
        LayerSpec::new(2, 3, Some(Activation::Relu)),
        LayerSpec::new(3, 2, None),
    ]);
    let b = model(&other, 2);
    let err = BatchedInference::from_models(&[a.clone(), a.clone(), b]).unwrap_err();
    assert!(
        matches!(
            &err,
            BatchedError::ArchitectureMismatch {
                model: 2,
                layer: 0,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("relu") || err.to_string().contains("RELU"),
        "{err}"
    );
    let deeper = model(
        &Architecture::new(vec![LayerSpec::new(2, 3, Some(Activation::Tanh)); 1]),
        3,
    );
    assert!(matches!(
        BatchedInference::from_models(&[a.clone(), deeper]),
        Err(BatchedError::ArchitectureMismatch { model: 1, .. })
    ));
    // A DOT without activation followed by an ACTIVATION is a layer with that activation...
    let info = ModelBuilder::with_feature_size(2)
        .dense(vec![vec![1.0, -1.0]; 3], vec![0.5; 3], None)
        .instruction(Instruction::Activation {
            input: 1,
            activation: Activation::Tanh,
        })
        .dense(vec![vec![1.0, 2.0, 3.0]; 2], vec![0.0; 2], None)
        .build()
        .unwrap();
    let split = validate(&info, &Limits::default()).unwrap();
    let batch = BatchedInference::from_models(&[split.clone(), split.clone()]).unwrap();
    assert_eq!(
        batch.architecture().layers[0].activation,
        Some(Activation::Tanh)
    );
    let x = [0.3, -0.7];
    let want = Interpreter::new(&split).predict(&x).unwrap();
    let got = batch.forward(&[x, x].concat()).unwrap();
    for (g, w) in got.iter().zip(want.iter().chain(&want)) {
        assert!(close(*g, *w), "{got:?} vs {want:?}");
    }
    // ...but a second activation, or any other instruction, breaks the chain.
    let info = ModelBuilder::with_feature_size(2)
        .dense(
            vec![vec![1.0, 1.0]; 2],
            vec![0.0; 2],
            Some(Activation::Relu),
        )
        .instruction(Instruction::Activation {
            input: 1,
            activation: Activation::Relu,
        })
        .build()
        .unwrap();
    let not_chain = validate(&info, &Limits::default()).unwrap();
    let err = BatchedInference::from_models(&[a, not_chain]).unwrap_err();
    assert!(
        matches!(err, BatchedError::NotADotChain { model: 1, .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("instruction 1 (ACTIVATION)"),
        "{err}"
    );
    assert_eq!(
        BatchedInference::from_models(&[]).unwrap_err(),
        BatchedError::NoModels
    );
    // The format's extension activations have no lane kernels, but are run all the same
    // (after each layer's product): see `extension_activations_match_the_interpreter`.
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 16,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Layers from 1 to 300 wide (every lane block and remainder, and wider than any register
    /// path), a few models and inputs each.
    #[test]
    fn wide_layers_match_the_interpreter(
        arch in architecture_of_widths(prop_oneof![1usize..40, 250usize..301]),
        models in 1usize..20,
        k in 1usize..4,
        seed in any::<u64>(),
        gemm in any::<bool>(),
    ) {
        let valid: Vec<ValidModel> = (0..models).map(|m| model(&arch, seed ^ m as u64)).collect();
        let batch = BatchedInference::from_models(&valid)
            .unwrap()
            .with_gemm(gemm);
        check_against_interpreter(&arch, &batch, &valid, k, seed)?;
    }
}
