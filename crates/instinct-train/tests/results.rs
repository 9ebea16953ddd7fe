//! Training on the bundled data sets reaches the accuracies the project promises: digits
//! (64→64 ReLU→10, Adam, batch 32, 100 epochs) at least 97 % on its test split, breast cancer
//! (30→32→16→1, tanh) at least 96 %, a small CNN on the digit images at least 97 %; and the
//! exported models validate with their embedded rows.

use instinct_train::data::{Dataset, Standardizer, Table, Targets};
use instinct_train::export::{ExportSpec, Head, export};
use instinct_train::nn::{Conv2d, Init, Layer, Linear, Sequential};
use instinct_train::{Activation, CpuBackend, History, Rng, TrainConfig, accuracy, fit, predict};
use std::path::PathBuf;
use std::sync::Arc;

/// A data set's train and test splits, and the training rows standardised.
struct Split {
    train: Dataset,
    test: Dataset,
    scaler: Standardizer,
    scaled: Dataset,
}

fn split(name: &str) -> Split {
    let read = |part: &str| {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/data")
            .join(format!("{name}_{part}.csv"));
        Table::read_csv(&path).unwrap()
    };
    let train = Dataset::from_table(&read("train"), "target", true, None).unwrap();
    let test = Dataset::from_table(&read("test"), "target", true, train.classes.as_ref()).unwrap();
    let scaler = Standardizer::fit(&train.features);
    let scaled = Dataset {
        features: scaler.apply(&train.features),
        ..train.clone()
    };
    Split {
        train,
        test,
        scaler,
        scaled,
    }
}

/// Trains `net` and returns its test accuracy, the seconds the training took and its history.
fn train_and_score(
    net: &mut Sequential,
    data: &Split,
    config: &TrainConfig,
) -> (f32, f64, History) {
    let started = std::time::Instant::now();
    let history = fit(net, Arc::new(CpuBackend), &data.scaled, config, &mut |_| {}).unwrap();
    let seconds = started.elapsed().as_secs_f64();
    let out = predict(
        net,
        Arc::new(CpuBackend),
        &data.scaler.apply(&data.test.features),
    )
    .unwrap();
    let Targets::Classes(labels) = &data.test.targets else {
        unreachable!("classification splits")
    };
    (accuracy(&out, labels), seconds, history)
}

fn spec<'a>(data: &'a Split, rows: &'a [Vec<f32>]) -> ExportSpec<'a> {
    ExportSpec {
        feature_names: &data.train.feature_names,
        standardizer: Some(&data.scaler),
        head: Head::Softmax,
        output_scale: None,
        validation_inputs: rows,
    }
}

/// An MLP of `hidden` layers (`activation`) on `name`'s split with Adam (learning rate 1e-3,
/// batch 32, 100 epochs); its test accuracy. The export validates, with rows the interpreter
/// must reproduce.
fn classify(
    name: &str,
    hidden: &[usize],
    activation: Activation,
    outputs: usize,
    seed: u64,
) -> f32 {
    let data = split(name);
    let mut sizes = vec![data.train.feature_names.len()];
    sizes.extend_from_slice(hidden);
    sizes.push(outputs);
    let mut net = Sequential::mlp(&sizes, activation, &mut Rng::new(seed));
    let config = TrainConfig {
        seed,
        ..TrainConfig::default()
    };
    let (acc, seconds, history) = train_and_score(&mut net, &data, &config);
    eprintln!(
        "{name} {sizes:?}: test accuracy {acc:.4} after {} epochs in {seconds:.2} s (final loss {:.4})",
        history.epochs.len(),
        history.epochs.last().unwrap().train_loss
    );
    let columns = data.test.feature_names.len();
    let rows: Vec<Vec<f32>> = data
        .test
        .features
        .data()
        .chunks_exact(columns)
        .take(8)
        .map(<[f32]>::to_vec)
        .collect();
    let info = export(&net, &spec(&data, &rows)).unwrap();
    assert_eq!(info.validation_data.unwrap().inputs.len(), 8);
    acc
}

#[test]
fn digits_reach_97_percent() {
    let acc = classify("digits", &[64], Activation::Relu, 10, 0);
    assert!(acc >= 0.97, "digits test accuracy {acc}");
}

#[test]
fn breast_cancer_reaches_96_percent() {
    // Seeds 0 to 7 all reach it with tanh (0.965 to 0.982); with ReLU some stop at 0.956.
    for seed in 0..3 {
        let acc = classify("breast_cancer", &[32, 16], Activation::Tanh, 1, seed);
        assert!(
            acc >= 0.96,
            "breast cancer test accuracy {acc} (seed {seed})"
        );
    }
}

#[test]
fn a_small_cnn_on_the_digit_images_reaches_97_percent() {
    let data = split("digits");
    let mut rng = Rng::new(0);
    // 8×8 image → 16 channels of 3×3 (same size) → ReLU → 2×2 max pool → 64 → 10.
    let mut net = Sequential::new(vec![
        Layer::Reshape(vec![1, 8, 8]),
        Layer::Conv2d(Conv2d::new(1, 16, 3, 1, 1, &mut rng)),
        Layer::Activation(Activation::Relu),
        Layer::MaxPool2d {
            kernel: 2,
            stride: 2,
        },
        Layer::Flatten,
        Layer::Linear(Linear::new(256, 64, Init::He, &mut rng)),
        Layer::Activation(Activation::Relu),
        Layer::Linear(Linear::new(64, 10, Init::Glorot, &mut rng)),
    ]);
    let config = TrainConfig {
        epochs: 30,
        ..TrainConfig::default()
    };
    let (acc, seconds, _) = train_and_score(&mut net, &data, &config);
    eprintln!("digits CNN: test accuracy {acc:.4} after 30 epochs in {seconds:.2} s");
    assert!(acc >= 0.97, "CNN test accuracy {acc}");
    // Its layers have no instruction in the format: export says so.
    let e = export(&net, &spec(&data, &[])).unwrap_err();
    assert!(
        e.to_string().contains("no instruction in the model format"),
        "{e}"
    );
}
