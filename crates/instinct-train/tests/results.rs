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
