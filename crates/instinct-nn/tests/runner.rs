//! The engine seam: every `EngineChoice` gives the interpreter's outputs on the models it
//! applies to, says what it is and why it was chosen, and refuses what it cannot run with the
//! reason; lengths are checked; `auto` follows its policy.

use instinct::{EngineChoice, Model, ModelBuilder, RunError, STATIC_SHAPES};
use std::path::PathBuf;

fn fixture(name: &str) -> Model {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/instmodel-keras");
    Model::load(dir.join(format!("{name}.json"))).unwrap()
}

/// A chain of dense layers of `sizes` with seeded weights, ReLU between them.
fn chain(sizes: &[usize]) -> Model {
    let mut b = ModelBuilder::with_feature_size(sizes[0]);
    let mut s = 7u32;
    let mut next = || {
        s = s.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        ((s >> 16) % 2000) as f32 / 1000.0 - 1.0
    };
    for (k, w) in sizes.windows(2).enumerate() {
        let rows = (0..w[1])
            .map(|_| (0..w[0]).map(|_| next() * 0.5).collect())
            .collect();
        let bias = (0..w[1]).map(|_| next() * 0.1).collect();
        let last = k + 2 == sizes.len();
        b = b.dense(rows, bias, (!last).then_some(instinct::Activation::Relu));
    }
    Model::from_info(b.build().unwrap()).unwrap()
}

fn rows(n: usize, width: usize) -> Vec<f32> {
    (0..n * width)
        .map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0)
        .collect()
}

/// Runs `choice` on `model` and compares with the interpreter row by row.
fn agrees(model: &Model, choice: EngineChoice, n: usize) -> String {
    let runner = model.runner(choice, Some(2)).unwrap();
    let x = rows(n, model.feature_size());
    let got = runner.run(n, &x).unwrap();
    assert_eq!(got.len(), n * model.output_size());
    for (r, chunk) in got.chunks(model.output_size()).enumerate() {
        let row = &x[r * model.feature_size()..][..model.feature_size()];
        let want = model.predict(row).unwrap();
        for (g, w) in chunk.iter().zip(&want) {
            assert!(
                (g - w).abs() <= 1e-5 + 1e-5 * w.abs(),
                "{choice} row {r}: {g} vs {w}"
            );
        }
    }
    assert_eq!(runner.feature_size(), model.feature_size());
    assert_eq!(runner.output_size(), model.output_size());
    assert!(runner.threads() >= 1);
    runner.describe()
}

#[test]
fn every_cpu_engine_matches_the_interpreter() {
    for name in ["iris_mlp", "digits_large", "branchy"] {
        let model = fixture(name);
        for choice in [
            EngineChoice::Auto,
            EngineChoice::Interpreter,
            EngineChoice::Batch,
        ] {
            let described = agrees(&model, choice, 37);
            assert!(!described.is_empty());
        }
    }
    // The batched engine and the static nets on the dense chains they take.
    let dense = fixture("iris_mlp");
    assert!(
        dense.valid().dot_chain().is_ok(),
        "iris_mlp is a chain of DOTs"
    );
    agrees(&dense, EngineChoice::Batched, 37);
    for shape in STATIC_SHAPES {
        let model = chain(shape);
        let described = agrees(&model, EngineChoice::Static, 101);
        assert!(described.starts_with("static"), "{described}");
        agrees(&model, EngineChoice::Batched, 101);
    }
}

#[test]
fn auto_takes_a_static_net_when_one_fits_and_says_why() {
    let model = chain(STATIC_SHAPES[0]);
    let runner = model.runner(EngineChoice::Auto, Some(1)).unwrap();
    assert_eq!(runner.name(), "static");
    assert!(
        runner.describe().starts_with("static (asked auto)"),
        "{}",
        runner.describe()
    );
    let other = chain(&[3, 5, 2]);
    let runner = other.runner(EngineChoice::Auto, Some(1)).unwrap();
    assert_eq!(runner.name(), "batch");
    let why = runner.describe();
    assert!(
        why.starts_with("batch (asked auto): no static net") && why.contains("3→5→2"),
        "{why}"
    );
}

#[test]
fn engines_that_cannot_run_a_model_say_why() {
    let other = chain(&[3, 5, 2]);
    match other.runner(EngineChoice::Static, None) {
        Err(RunError::NotApplicable { engine, why }) => {
            assert_eq!(engine, "static");
            assert!(why.contains("3→5→2"), "{why}");
        }
        Err(e) => panic!("{e}"),
        Ok(r) => panic!("static ran as {}", r.name()),
    }
    let branchy = fixture("branchy");
    assert!(matches!(
        branchy.runner(EngineChoice::Batched, None),
        Err(RunError::NotApplicable {
            engine: "batched",
            ..
        })
    ));
}

#[test]
fn lengths_are_checked_and_nothing_is_written_on_error() {
    let model = fixture("iris_mlp");
    for choice in [
        EngineChoice::Interpreter,
        EngineChoice::Batch,
        EngineChoice::Batched,
    ] {
        let runner = model.runner(choice, Some(1)).unwrap();
        let fs = model.feature_size();
        let mut out = vec![7.0; 2 * model.output_size()];
        assert!(runner.run_into(2, &rows(2, fs)[..fs], &mut out).is_err());
        assert!(runner.run_into(2, &rows(2, fs), &mut out[1..]).is_err());
        assert!(out.iter().all(|&v| v == 7.0), "{choice}");
        assert!(runner.memory_bytes() > 0, "{choice}");
    }
}

#[test]
fn choices_parse_from_their_names() {
    for choice in EngineChoice::ALL {
        assert_eq!(choice.name().parse::<EngineChoice>().unwrap(), choice);
        assert!(!choice.help().is_empty());
    }
    assert_eq!(
        "interpreter".parse::<EngineChoice>().unwrap(),
        EngineChoice::Interpreter
    );
    let err = "fast".parse::<EngineChoice>().unwrap_err();
    assert!(err.contains("auto, interp, batch"), "{err}");
}
