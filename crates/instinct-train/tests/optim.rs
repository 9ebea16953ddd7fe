//! The optimisers, schedules and clipping against their formulas, written out by hand here; and
//! the training loop's promises: the same seed gives the same network, early stopping keeps the
//! best epoch, an export imported back computes the same outputs.

use instinct_train::data::{Classes, Dataset, Targets};
use instinct_train::export::{ExportSpec, Head, export};
use instinct_train::import::import;
use instinct_train::nn::Sequential;
use instinct_train::optim::{Adam, FixedStep, Optimizer, Schedule, Sgd, clip_grad_norm};
use instinct_train::{Activation, CpuBackend, Param, Rng, Tensor, TrainConfig, fit, predict};
use std::sync::Arc;

fn param(values: &[f32]) -> Param {
    Param::new("p", Tensor::new(&[values.len()], values.to_vec()).unwrap())
}

/// A 1 × n weight matrix: weight decay applies to it (not to vectors such as biases).
fn matrix(values: &[f32]) -> Param {
    Param::new(
        "w",
        Tensor::new(&[1, values.len()], values.to_vec()).unwrap(),
    )
}

fn matrix_grad(values: &[f32]) -> Option<Tensor> {
    Some(Tensor::new(&[1, values.len()], values.to_vec()).unwrap())
}

fn grad(values: &[f32]) -> Option<Tensor> {
    Some(Tensor::new(&[values.len()], values.to_vec()).unwrap())
}

fn close(a: &[f32], b: &[f32]) {
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= 1e-6 * (1.0 + y.abs()), "{a:?} vs {b:?}");
    }
}

#[test]
fn sgd_with_momentum_nesterov_and_decay_follow_their_formulas() {
    let mut p = param(&[1.0, -2.0]);
    Sgd::new()
        .step(&mut [&mut p], &[grad(&[0.5, 1.0])], 0.1)
        .unwrap();
    close(p.value().data(), &[0.95, -2.1]);
    // Momentum 0.9: v1 = g1, v2 = 0.9·g1 + g2.
    let mut p = param(&[0.0]);
    let mut sgd = Sgd::with_momentum(0.9, false);
    sgd.step(&mut [&mut p], &[grad(&[1.0])], 0.1).unwrap();
    sgd.step(&mut [&mut p], &[grad(&[2.0])], 0.1).unwrap();
    close(p.value().data(), &[-0.1 - 0.1 * (0.9 + 2.0)]);
    // Nesterov: the step is g + μ·v.
    let mut p = param(&[0.0]);
    let mut sgd = Sgd::with_momentum(0.5, true);
    sgd.step(&mut [&mut p], &[grad(&[1.0])], 1.0).unwrap();
    close(p.value().data(), &[-(1.0 + 0.5 * 1.0)]);
    // Weight decay adds λ·w to the gradient of a weight matrix, not of a bias.
    let (mut w, mut b) = (matrix(&[2.0]), param(&[2.0]));
    Sgd::new()
        .with_weight_decay(0.5)
        .step(
            &mut [&mut w, &mut b],
            &[matrix_grad(&[0.0]), grad(&[0.0])],
            0.1,
        )
        .unwrap();
    close(w.value().data(), &[2.0 - 0.1 * 0.5 * 2.0]);
    assert_eq!(b.value().data(), &[2.0]);
}

#[test]
fn adam_and_adamw_follow_their_formulas() {
    // The first Adam step is lr · g / (|g| + ε') whatever g's size: lr · sign(g).
    let mut p = param(&[1.0, 1.0]);
    let mut adam = Adam::new();
    adam.step(&mut [&mut p], &[grad(&[3.0, -0.001])], 0.01)
        .unwrap();
    close(p.value().data(), &[0.99, 1.01]);
    // Two steps, against the textbook form with bias corrections.
    let (b1, b2, eps, lr) = (0.9f64, 0.999f64, 1e-8f64, 0.01f64);
    let (mut w, mut m, mut v) = (1.0f64, 0.0f64, 0.0f64);
    let mut p = param(&[1.0]);
    let mut adam = Adam::new();
    for (t, g) in [(1, 0.5f64), (2, -0.25)] {
        m = b1 * m + (1.0 - b1) * g;
        v = b2 * v + (1.0 - b2) * g * g;
        let (mh, vh) = (m / (1.0 - b1.powi(t)), v / (1.0 - b2.powi(t)));
        w -= lr * mh / (vh.sqrt() + eps);
        adam.step(&mut [&mut p], &[grad(&[g as f32])], lr as f32)
            .unwrap();
    }
    close(p.value().data(), &[w as f32]);
    // AdamW decays the weight apart from the adaptive step: with a zero gradient only the decay.
    // Biases are not decayed.
    let (mut w, mut b) = (matrix(&[2.0]), param(&[2.0]));
    Adam::adamw(0.1)
        .step(
            &mut [&mut w, &mut b],
            &[matrix_grad(&[0.0]), grad(&[0.0])],
            0.5,
        )
        .unwrap();
    close(w.value().data(), &[2.0 - 0.5 * 0.1 * 2.0]);
    assert_eq!(b.value().data(), &[2.0]);
    // Adam with L2 decay adds λ·w to the gradient of weights only: with a zero gradient the
    // first step is lr · sign(λ·w) for the weight and nothing for the bias.
    let (mut w, mut b) = (matrix(&[2.0]), param(&[2.0]));
    Adam::new()
        .with_weight_decay(0.1)
        .step(
            &mut [&mut w, &mut b],
            &[matrix_grad(&[0.0]), grad(&[0.0])],
            0.5,
        )
        .unwrap();
    close(w.value().data(), &[1.5]);
    assert_eq!(b.value().data(), &[2.0]);
}

#[test]
fn the_fixed_step_moves_exactly_lr_against_the_gradient() {
    let (mut a, mut b) = (param(&[0.0, 0.0]), param(&[0.0]));
    FixedStep
        .step(
            &mut [&mut a, &mut b],
            &[grad(&[3.0, 0.0]), grad(&[4.0])],
            0.5,
        )
        .unwrap();
    // The joint gradient (3, 0, 4) has norm 5.
    close(a.value().data(), &[-0.3, 0.0]);
    close(b.value().data(), &[-0.4]);
}

#[test]
fn schedules_and_clipping() {
    assert_eq!(Schedule::Constant.rate(0.1, 50), 0.1);
    let step = Schedule::Step {
        every: 10,
        gamma: 0.5,
    };
    close(
        &[step.rate(1.0, 9), step.rate(1.0, 10), step.rate(1.0, 25)],
        &[1.0, 0.5, 0.25],
    );
    let cosine = Schedule::Cosine {
        epochs: 10,
        floor: 0.1,
    };
    close(
        &[
            cosine.rate(1.0, 0),
            cosine.rate(1.0, 5),
            cosine.rate(1.0, 10),
        ],
        &[1.0, 0.55, 0.1],
    );
    let mut g = vec![grad(&[3.0]), None, grad(&[4.0])];
    assert_eq!(clip_grad_norm(&mut g, 1.0), 5.0);
    close(g[0].as_ref().unwrap().data(), &[0.6]);
    close(g[2].as_ref().unwrap().data(), &[0.8]);
    let mut small = vec![grad(&[0.3])];
    clip_grad_norm(&mut small, 1.0);
    close(small[0].as_ref().unwrap().data(), &[0.3]);
}

/// A separable two-class problem: the class is whether x0 + x1 > 0.
fn toy(rows: usize, seed: u64) -> Dataset {
    let mut rng = Rng::new(seed);
    let mut x = Vec::new();
    let mut labels = Vec::new();
    for _ in 0..rows {
        let (a, b) = (rng.normal(), rng.normal());
        x.extend([a, b]);
        labels.push(usize::from(a + b > 0.0));
    }
    Dataset {
        feature_names: vec!["a".into(), "b".into()],
        features: Tensor::new(&[rows, 2], x).unwrap(),
        targets: Targets::Classes(labels),
        classes: Some(Classes::Numbers(vec![0.0, 1.0])),
    }
}

#[test]
fn the_same_seed_trains_the_same_network() {
    let data = toy(64, 1);
    let train = |seed| {
        let mut net = Sequential::mlp(&[2, 4, 2], Activation::Tanh, &mut Rng::new(seed));
        let config = TrainConfig {
            epochs: 5,
            seed,
            validation_fraction: 0.25,
            ..TrainConfig::default()
        };
        let history = fit(&mut net, Arc::new(CpuBackend), &data, &config, &mut |_| {}).unwrap();
        (net, history)
    };
    let values = |net: &Sequential| -> Vec<Tensor> {
        net.params()
            .into_iter()
            .map(|p| p.value().clone())
            .collect()
    };
    let (a, ha) = train(3);
    let (b, hb) = train(3);
    assert_eq!(ha, hb);
    assert_eq!(values(&a), values(&b));
    assert_ne!(values(&train(4).0), values(&a));
}

#[test]
fn early_stopping_keeps_the_best_epoch() {
    let data = toy(40, 2);
    let mut net = Sequential::mlp(&[2, 32, 2], Activation::Relu, &mut Rng::new(0));
    // A rate far too large: the validation loss soon stops improving.
    let config = TrainConfig {
        epochs: 200,
        learning_rate: 0.5,
        validation_fraction: 0.5,
        patience: Some(3),
        ..TrainConfig::default()
    };
    let mut snapshots = Vec::new();
    let history = fit(&mut net, Arc::new(CpuBackend), &data, &config, &mut |r| {
        snapshots.push(r.validation_loss.unwrap());
    })
    .unwrap();
    assert!(history.stopped_early, "{history:?}");
    assert!(history.epochs.len() < 200);
    let best = snapshots
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(b.1))
        .unwrap();
    assert_eq!(history.best_epoch, best.0 + 1);
}

#[test]
fn an_exported_network_imports_back_to_the_same_outputs() {
    let data = toy(32, 5);
    // A smooth activation whose kernel is not a plain formula (code 9, the exact-erf one).
    let smooth = Activation::BY_CODE[8];
    let mut net = Sequential::mlp(&[2, 6, 3], smooth, &mut Rng::new(2));
    let labels: Vec<usize> = (0..32).map(|i| i % 3).collect();
    let data = Dataset {
        targets: Targets::Classes(labels),
        classes: Some(Classes::Numbers(vec![0.0, 1.0, 2.0])),
        ..data
    };
    fit(
        &mut net,
        Arc::new(CpuBackend),
        &data,
        &TrainConfig {
            epochs: 3,
            ..TrainConfig::default()
        },
        &mut |_| {},
    )
    .unwrap();
    let info = export(
        &net,
        &ExportSpec {
            feature_names: &data.feature_names,
            standardizer: None,
            head: Head::Softmax,
            output_scale: None,
            validation_inputs: &[],
        },
    )
    .unwrap();
    let model = instinct_validate::validate(&info, &Default::default()).unwrap();
    let (back, names) = import(&model).unwrap();
    assert_eq!(names, ["a", "b"]);
    let ours = predict(&net, Arc::new(CpuBackend), &data.features).unwrap();
    let theirs = predict(&back, Arc::new(CpuBackend), &data.features).unwrap();
    // The export adds the softmax the network was trained to feed.
    let mut probabilities = ours.into_data();
    for row in probabilities.chunks_exact_mut(3) {
        instinct_kernels::activation::softmax_in_place(row);
    }
    close(theirs.data(), &probabilities);
    // Exported again, the imported classifier keeps one softmax (it already ends in one).
    let again = export(
        &back,
        &ExportSpec {
            feature_names: &names,
            standardizer: None,
            head: Head::Softmax,
            output_scale: None,
            validation_inputs: &[],
        },
    )
    .unwrap();
    assert_eq!(again.instructions, info.instructions);
    // Training it as a classifier asks for its logits.
    let mut back = back;
    let e = fit(
        &mut back,
        Arc::new(CpuBackend),
        &data,
        &TrainConfig::default(),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(e.to_string().contains("remove the final Softmax"), "{e}");
}

#[test]
fn array_feature_names_survive_import_and_export() {
    use instinct_format::{Limits, ModelBuilder};
    let info = ModelBuilder::with_features(["v[2]", "w"])
        .dense(vec![vec![1.0, 2.0, 3.0]; 2], vec![0.0, 0.5], None)
        .build()
        .unwrap();
    let model = instinct_validate::validate(&info, &Limits::default()).unwrap();
    let (net, names) = import(&model).unwrap();
    assert_eq!(names, ["v[2]", "w"]);
    let spec = ExportSpec {
        feature_names: &names,
        standardizer: None,
        head: Head::Identity,
        output_scale: None,
        validation_inputs: &[vec![1.0, 0.0, -1.0]],
    };
    let again = export(&net, &spec).unwrap();
    assert_eq!(again.features, info.features);
}

#[test]
fn shared_parameters_and_inconsistent_data_are_refused_and_lone_rows_join_a_batch() {
    use instinct_train::nn::{BatchNorm, Init, Layer, Linear};
    let data = toy(33, 7);
    let linear = Linear::new(2, 2, Init::Glorot, &mut Rng::new(0));
    let mut tied = Sequential::new(vec![Layer::Linear(linear.clone()), Layer::Linear(linear)]);
    let e = fit(
        &mut tied,
        Arc::new(CpuBackend),
        &data,
        &TrainConfig::default(),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(e.to_string().contains("share a parameter"), "{e}");
    let mut bad = data.clone();
    bad.feature_names.push("c".into());
    let mut net = Sequential::mlp(&[3, 2], Activation::Tanh, &mut Rng::new(0));
    assert!(
        fit(
            &mut net,
            Arc::new(CpuBackend),
            &bad,
            &TrainConfig::default(),
            &mut |_| {}
        )
        .is_err()
    );
    // 33 rows in batches of 32: the last row joins the first batch, so batch norm trains.
    let mut rng = Rng::new(1);
    let mut net = Sequential::new(vec![
        Layer::Linear(Linear::new(2, 4, Init::He, &mut rng)),
        Layer::BatchNorm(BatchNorm::new(4)),
        Layer::Activation(Activation::Relu),
        Layer::Linear(Linear::new(4, 2, Init::Glorot, &mut rng)),
    ]);
    let config = TrainConfig {
        epochs: 2,
        ..TrainConfig::default()
    };
    fit(&mut net, Arc::new(CpuBackend), &data, &config, &mut |_| {}).unwrap();
}

#[test]
fn leaky_relu_exports_as_the_format_extension_and_imports_back() {
    let data = toy(16, 7);
    let net = Sequential::mlp(
        &[2, 5, 1],
        Activation::LeakyRelu { alpha: 0.2 },
        &mut Rng::new(4),
    );
    let rows: Vec<Vec<f32>> = data
        .features
        .data()
        .chunks(2)
        .map(<[f32]>::to_vec)
        .collect();
    let info = export(
        &net,
        &ExportSpec {
            feature_names: &data.feature_names,
            standardizer: None,
            head: Head::Identity,
            output_scale: None,
            validation_inputs: &rows,
        },
    )
    .unwrap();
    let json = info.to_json_string();
    assert!(json.contains(r#"{"LEAKY_RELU":{"alpha":0.2}}"#), "{json}");
    // The embedded expected outputs are the network's own.
    let ours = predict(&net, Arc::new(CpuBackend), &data.features).unwrap();
    let expected: Vec<f32> = info
        .validation_data
        .as_ref()
        .unwrap()
        .expected_outputs
        .concat();
    close(&expected, ours.data());
    let model = instinct_validate::validate(&info, &Default::default()).unwrap();
    let (back, _) = import(&model).unwrap();
    let theirs = predict(&back, Arc::new(CpuBackend), &data.features).unwrap();
    close(theirs.data(), ours.data());
}

#[test]
fn the_epoch_loss_is_the_mean_over_rows_not_over_batches() {
    // Three rows in batches of 2 and 1; a learning rate too small to move a weight, so the
    // epoch's loss is the mean squared error of the untrained network over the three rows
    // (the mean over the two batches would weight the lone row as much as the pair).
    let features = Tensor::new(&[3, 2], vec![1.0, -2.0, 0.5, 3.0, -1.5, 0.25]).unwrap();
    let targets = vec![4.0, -3.0, 10.0];
    let data = Dataset {
        feature_names: vec!["a".into(), "b".into()],
        features: features.clone(),
        targets: Targets::Values(targets.clone()),
        classes: None,
    };
    let mut net = Sequential::mlp(&[2, 4, 1], Activation::Tanh, &mut Rng::new(5));
    let outputs = predict(&net, Arc::new(CpuBackend), &features).unwrap();
    let squares: Vec<f64> = outputs
        .data()
        .iter()
        .zip(&targets)
        .map(|(&y, &t)| (f64::from(y) - f64::from(t)).powi(2))
        .collect();
    let over_rows = squares.iter().sum::<f64>() / 3.0;
    let over_batches = ((squares[0] + squares[1]) / 2.0 + squares[2]) / 2.0;
    let config = TrainConfig {
        epochs: 1,
        batch_size: 2,
        learning_rate: 1e-30,
        optimizer: instinct_train::OptimizerKind::Sgd,
        weight_decay: 0.0,
        validation_fraction: 0.0,
        ..TrainConfig::default()
    };
    let history = fit(&mut net, Arc::new(CpuBackend), &data, &config, &mut |_| {}).unwrap();
    let loss = f64::from(history.epochs[0].train_loss);
    assert!(
        (loss - over_rows).abs() <= 1e-5 * over_rows,
        "epoch loss {loss}, mean over rows {over_rows}, over batches {over_batches}"
    );
    assert!((over_rows - over_batches).abs() > 0.01 * over_rows);
}
