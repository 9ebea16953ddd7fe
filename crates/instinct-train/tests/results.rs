//! Training on the bundled data sets reaches the accuracies the project promises: digits
//! (64→64 ReLU→10, Adam, batch 32, 100 epochs) at least 97 % on its test split, breast cancer
//! (30→32→16→1, tanh) at least 96 %; and the exported models validate with their embedded rows.

use instinct_train::data::{Dataset, Standardizer, Table};
use instinct_train::export::{ExportSpec, Head, export};
use instinct_train::nn::Sequential;
use instinct_train::{CpuBackend, Rng, TrainConfig, Unary, accuracy, fit, predict};
use std::path::PathBuf;
use std::sync::Arc;

fn data(name: &str) -> Table {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/data")
        .join(name);
    Table::read_csv(&path).unwrap()
}

/// Trains a classifier of `hidden` layers (`activation`) on `name`'s split with Adam (learning
/// rate 1e-3, batch 32, 100 epochs) and returns its test accuracy.
fn classify(name: &str, hidden: &[usize], activation: Unary, outputs: usize, seed: u64) -> f32 {
    let train =
        Dataset::from_table(&data(&format!("{name}_train.csv")), "target", true, None).unwrap();
    let test = Dataset::from_table(
        &data(&format!("{name}_test.csv")),
        "target",
        true,
        train.classes.as_deref(),
    )
    .unwrap();
    let scaler = Standardizer::fit(&train.features);
    let scaled = Dataset {
        features: scaler.apply(&train.features),
        ..train.clone()
    };
    let mut sizes = vec![train.feature_names.len()];
    sizes.extend_from_slice(hidden);
    sizes.push(outputs);
    let mut rng = Rng::new(seed);
    let mut net = Sequential::mlp(&sizes, activation, &mut rng);
    let config = TrainConfig {
        seed,
        ..TrainConfig::default()
    };
    let started = std::time::Instant::now();
    let history = fit(
        &mut net,
        Arc::new(CpuBackend),
        &scaled,
        &config,
        &mut |_| {},
    )
    .unwrap();
    let seconds = started.elapsed().as_secs_f64();
    let out = predict(&net, Arc::new(CpuBackend), &scaler.apply(&test.features)).unwrap();
    let instinct_train::data::Targets::Classes(labels) = &test.targets else {
        unreachable!()
    };
    let acc = accuracy(&out, labels);
    eprintln!(
        "{name} {sizes:?}: test accuracy {acc:.4} after {} epochs in {seconds:.2} s (final loss {:.4})",
        history.epochs.len(),
        history.epochs.last().unwrap().train_loss
    );
    // The export validates, with rows the interpreter must reproduce.
    let rows: Vec<Vec<f32>> = test
        .features
        .data()
        .chunks_exact(test.feature_names.len())
        .take(8)
        .map(<[f32]>::to_vec)
        .collect();
    let spec = ExportSpec {
        feature_names: &train.feature_names,
        standardizer: Some(&scaler),
        head: Head::Softmax,
        output_scale: None,
        validation_inputs: &rows,
    };
    export(&net, &spec).unwrap();
    acc
}

#[test]
fn digits_reach_97_percent() {
    let acc = classify("digits", &[64], Unary::Relu, 10, 0);
    assert!(acc >= 0.97, "digits test accuracy {acc}");
}

#[test]
fn breast_cancer_reaches_96_percent() {
    // Seeds 0 to 7 all reach it with tanh (0.965 to 0.982); with ReLU some stop at 0.956.
    for seed in 0..3 {
        let acc = classify("breast_cancer", &[32, 16], Unary::Tanh, 1, seed);
        assert!(
            acc >= 0.96,
            "breast cancer test accuracy {acc} (seed {seed})"
        );
    }
}

#[test]
fn a_small_cnn_on_the_digit_images_reaches_97_percent() {
    use instinct_train::nn::{Conv2d, Layer, Linear};
    let train = Dataset::from_table(&data("digits_train.csv"), "target", true, None).unwrap();
    let test = Dataset::from_table(
        &data("digits_test.csv"),
        "target",
        true,
        train.classes.as_deref(),
    )
    .unwrap();
    let scaler = Standardizer::fit(&train.features);
    let scaled = Dataset {
        features: scaler.apply(&train.features),
        ..train.clone()
    };
    let mut rng = Rng::new(0);
    // 8×8 image → 16 channels of 3×3 (same size) → ReLU → 2×2 max pool → 64 → 10.
    let mut net = Sequential::new(vec![
        Layer::Reshape(vec![1, 8, 8]),
        Layer::Conv2d(Conv2d::new(1, 16, 3, 1, 1, &mut rng)),
        Layer::Activation(Unary::Relu),
        Layer::MaxPool2d {
            kernel: 2,
            stride: 2,
        },
        Layer::Flatten,
        Layer::Linear(Linear::new(256, 64, instinct_train::nn::Init::He, &mut rng)),
        Layer::Activation(Unary::Relu),
        Layer::Linear(Linear::new(
            64,
            10,
            instinct_train::nn::Init::Glorot,
            &mut rng,
        )),
    ]);
    let config = TrainConfig {
        epochs: 30,
        ..TrainConfig::default()
    };
    let started = std::time::Instant::now();
    fit(
        &mut net,
        Arc::new(CpuBackend),
        &scaled,
        &config,
        &mut |_| {},
    )
    .unwrap();
    let seconds = started.elapsed().as_secs_f64();
    let out = predict(&net, Arc::new(CpuBackend), &scaler.apply(&test.features)).unwrap();
    let instinct_train::data::Targets::Classes(labels) = &test.targets else {
        unreachable!()
    };
    let acc = accuracy(&out, labels);
    eprintln!("digits CNN: test accuracy {acc:.4} after 30 epochs in {seconds:.2} s");
    assert!(acc >= 0.97, "CNN test accuracy {acc}");
    // A convolution has no instruction in the format: export says so.
    let e = instinct_train::export::export(
        &net,
        &ExportSpec {
            feature_names: &train.feature_names,
            standardizer: Some(&scaler),
            head: Head::Softmax,
            output_scale: None,
            validation_inputs: &[],
        },
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("no instruction in the model format"),
        "{e}"
    );
}
