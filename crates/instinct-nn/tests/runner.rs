//! The engine seam: every `EngineChoice` gives the interpreter's outputs on the models it
//! applies to, says what it is and why it was chosen, and refuses what it cannot run with the
//! reason; lengths are checked; `auto` follows its policy.

use instinct::{EngineChoice, Model, ModelBuilder, RunError, Runner as _, STATIC_SHAPES};
use std::path::PathBuf;

fn fixture(name: &str) -> Model {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/instmodel-keras");
    Model::load(dir.join(format!("{name}.json"))).unwrap()
}

/// A chain of dense layers of `sizes` with seeded weights, ReLU between them.
fn chain(sizes: &[usize]) -> Model {
    chain_seeded(sizes, 7)
}

/// [`chain`] with weights from `seed`.
fn chain_seeded(sizes: &[usize], seed: u32) -> Model {
    let mut b = ModelBuilder::with_feature_size(sizes[0]);
    let mut s = seed;
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
            // What ran comes first: the engine's name, and for `auto` what it chose.
            let named = match choice {
                EngineChoice::Auto => described.contains(" (asked auto): "),
                _ => described.starts_with(&format!("{}: ", choice.name())),
            };
            assert!(named, "{choice}: {described}");
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
    let model = chain(STATIC_SHAPES[0]);
    let fs = model.feature_size();
    for choice in [
        EngineChoice::Auto,
        EngineChoice::Interpreter,
        EngineChoice::Batch,
        EngineChoice::Static,
        EngineChoice::Batched,
    ] {
        let runner = model.runner(choice, Some(2)).unwrap();
        let mut out = vec![7.0; 3 * model.output_size()];
        // Two whole rows given for three: the row count is what is wrong, and it says so.
        match runner.run_into(3, &rows(2, fs), &mut out) {
            Err(RunError::InputLength {
                rows: 3,
                feature_size,
                actual,
            }) => assert_eq!((feature_size, actual), (fs, 2 * fs), "{choice}"),
            other => panic!("{choice}: {other:?}"),
        }
        assert!(matches!(
            runner.run(3, &rows(2, fs)),
            Err(RunError::InputLength { .. })
        ));
        // Part of a row.
        assert!(runner.run_into(3, &rows(3, fs)[1..], &mut out).is_err());
        // An output slice of the wrong length.
        assert!(runner.run_into(3, &rows(3, fs), &mut out[1..]).is_err());
        assert!(out.iter().all(|&v| v == 7.0), "{choice}");
        // No rows: nothing to do, and no error.
        assert_eq!(runner.run(0, &[]).unwrap(), Vec::<f32>::new(), "{choice}");
    }
}

#[test]
fn zero_threads_are_refused_by_every_engine() {
    let model = chain(STATIC_SHAPES[0]);
    for choice in EngineChoice::ALL {
        assert!(
            matches!(model.runner(choice, Some(0)), Err(RunError::ZeroThreads)),
            "{choice}"
        );
    }
}

#[test]
fn batches_larger_than_a_tile_split_over_threads_as_the_interpreter_runs_them() {
    // More rows than one tile holds, on two threads: every tile and the split between the
    // threads must give the interpreter's rows, in order.
    let model = fixture("digits_large");
    let tile = model.interpreter().tile_rows();
    let n = 2 * tile + 37;
    for choice in [EngineChoice::Interpreter, EngineChoice::Batch] {
        agrees(&model, choice, n);
    }
    let net = chain(STATIC_SHAPES[1]);
    agrees(&net, EngineChoice::Static, 1001);
}

#[test]
fn a_batched_runner_gives_each_model_its_block_of_rows() {
    let sizes = [3, 6, 2];
    let models: Vec<Model> = (1..=3).map(|seed| chain_seeded(&sizes, seed)).collect();
    let valid: Vec<instinct::ValidModel> = models.iter().map(|m| m.valid().clone()).collect();
    let batch = instinct::batched::BatchedInference::from_models(&valid).unwrap();
    let runner = instinct::BatchedRunner::new(batch, 2).unwrap();
    let k = 5;
    let x = rows(3 * k, 3);
    let got = runner.run(3 * k, &x).unwrap();
    for (r, chunk) in got.chunks(2).enumerate() {
        let want = models[r / k].predict(&x[r * 3..][..3]).unwrap();
        for (g, w) in chunk.iter().zip(&want) {
            assert!(
                (g - w).abs() <= 1e-5 + 1e-5 * w.abs(),
                "row {r}: {g} vs {w}"
            );
        }
    }
    // The models differ, so a wrong block would have shown above.
    assert_ne!(
        models[0].predict(&x[..3]).unwrap(),
        models[1].predict(&x[..3]).unwrap()
    );
    assert!(matches!(
        runner.run(4, &rows(4, 3)),
        Err(RunError::RowsPerModel { rows: 4, models: 3 })
    ));
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
