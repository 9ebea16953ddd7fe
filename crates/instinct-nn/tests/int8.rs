//! Quantised models through the facade: `Model::quantize`, the engines that run them (all
//! giving the same bits, whatever the batch a row is in), the engines that refuse them, files
//! written and read back under any name, recomputed validation rows, and the quantiser's
//! refusals.

use instinct::format::ActivationMode;
use instinct::{
    Activation, EngineChoice, Model, ModelBuilder, QuantizeError, QuantizeOptions, RangeMethod,
    RunError, ValidationData,
};

/// Seeded values in [-1, 1).
fn values(n: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.max(1);
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s % 2000) as f32 / 1000.0 - 1.0
        })
        .collect()
}

/// 40 → 64 (ReLU) → 48 (tanh) → 10 (softmax), seeded, with validation rows.
fn model() -> Model {
    let sizes = [40, 64, 48, 10];
    let acts = [Activation::Relu, Activation::Tanh, Activation::Softmax];
    let mut b = ModelBuilder::with_feature_size(sizes[0]);
    for (i, (w, act)) in sizes.windows(2).zip(acts).enumerate() {
        let scale = 2.0 / (w[0] as f32).sqrt();
        let flat = values(w[0] * w[1], 10 + i as u32);
        let rows = flat
            .chunks(w[0])
            .map(|r| r.iter().map(|v| v * scale).collect())
            .collect();
        b = b.dense(rows, values(w[1], 20 + i as u32), Some(act));
    }
    let mut info = b.build().unwrap();
    let f32_model = Model::from_info(info.clone()).unwrap();
    let inputs: Vec<Vec<f32>> = values(40 * 12, 3).chunks(40).map(<[f32]>::to_vec).collect();
    let expected_outputs = inputs
        .iter()
        .map(|x| f32_model.predict(x).unwrap())
        .collect();
    info.validation_data = Some(ValidationData {
        inputs,
        expected_outputs,
    });
    Model::from_info(info).unwrap()
}

fn calibration() -> Vec<f32> {
    values(40 * 500, 5)
}

#[test]
fn a_quantised_model_is_close_to_its_f32_model_and_says_so() {
    let f32_model = model();
    let (int8, report) = f32_model
        .quantize(&calibration(), &QuantizeOptions::default())
        .unwrap();
    assert!(int8.is_quantized() && !f32_model.is_quantized());
    assert_eq!(report.quantized_slots(), 3);
    assert!(report.layers.iter().all(|l| l.relative_error < 0.05));
    let e = &report.expected;
    assert_eq!(e.rows, 500);
    assert!(e.argmax_agreement.unwrap() >= 0.97, "{e:?}");
    assert!(e.mean_abs.iter().all(|m| *m < 0.01), "{e:?}");
    // The report travels in the file.
    let stored = int8.info().quantization.as_ref().unwrap();
    assert_eq!(stored.expected_error.as_ref(), Some(e));
    // Fresh rows: close to the f32 model too.
    let x = values(40 * 200, 77);
    let (a, b) = (
        f32_model.runner(EngineChoice::Batch, Some(1)).unwrap(),
        int8.runner(EngineChoice::Auto, Some(1)).unwrap(),
    );
    let (ya, yb) = (a.run(200, &x).unwrap(), b.run(200, &x).unwrap());
    let mean = ya.iter().zip(&yb).map(|(p, q)| (p - q).abs()).sum::<f32>() / ya.len() as f32;
    assert!(mean < 0.005, "mean |int8 − f32| {mean}");
}

#[test]
fn every_engine_that_runs_it_gives_the_same_bits_whatever_the_batch() {
    // Static inputs too: the batch engine then quantises the values between the layers in
    // registers (AVX-512 VNNI), where the per-sample engine stores and requantises them.
    for activations in [ActivationMode::Dynamic, ActivationMode::Static] {
        let options = QuantizeOptions {
            activations,
            ..QuantizeOptions::default()
        };
        let (int8, _) = model().quantize(&calibration(), &options).unwrap();
        same_bits_whatever_the_batch(&int8);
    }
}

/// [`every_engine_that_runs_it_gives_the_same_bits_whatever_the_batch`] for one model.
fn same_bits_whatever_the_batch(int8: &Model) {
    let n = 301;
    let x = values(40 * n, 9);
    let auto = int8.runner(EngineChoice::Auto, Some(1)).unwrap();
    assert_eq!(auto.name(), "int8");
    assert!(auto.describe().contains("int8"), "{}", auto.describe());
    let reference = auto.run(n, &x).unwrap();
    for (choice, threads) in [
        (EngineChoice::Int8, 2),
        (EngineChoice::Batch, 1),
        (EngineChoice::Batch, 2),
        (EngineChoice::Interpreter, 1),
        (EngineChoice::Interpreter, 2),
    ] {
        let runner = int8.runner(choice, Some(threads)).unwrap();
        let got = runner.run(n, &x).unwrap();
        assert!(
            got.iter()
                .zip(&reference)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "{choice} on {threads} threads"
        );
    }
    // A row alone, or at any place in a batch of any size, gives the same bits.
    for (row, size) in [(0, 1), (5, 7), (150, 200), (300, 301)] {
        let start = row + 1 - size.min(row + 1);
        let part = &x[start * 40..(start + size) * 40];
        let got = auto.run(size, part).unwrap();
        let mine = &got[(row - start) * 10..][..10];
        let want = &reference[row * 10..][..10];
        assert!(
            mine.iter()
                .zip(want)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "row {row} in {size}"
        );
        let alone = int8.predict(&x[row * 40..][..40]).unwrap();
        assert!(
            alone
                .iter()
                .zip(want)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "row {row} alone"
        );
    }
}

#[test]
fn engines_of_f32_weights_refuse_it_and_int8_refuses_an_f32_model() {
    let f32_model = model();
    let (int8, _) = f32_model
        .quantize(&calibration(), &QuantizeOptions::default())
        .unwrap();
    for choice in [
        EngineChoice::Static,
        EngineChoice::Batched,
        EngineChoice::Gpu,
    ] {
        match int8.runner(choice, Some(1)) {
            Err(RunError::NotApplicable { why, .. }) => assert!(why.contains("quantized"), "{why}"),
            Err(other) => panic!("{choice}: {other}"),
            Ok(_) => panic!("{choice} ran an int8 model"),
        }
    }
    match f32_model.runner(EngineChoice::Int8, Some(1)) {
        Err(RunError::NotApplicable { why, .. }) => {
            assert!(why.contains("instinct quantize"), "{why}")
        }
        other => panic!("int8 on an f32 model: {:?}", other.map(|r| r.name())),
    }
}

#[test]
fn the_file_reads_back_under_any_name_with_its_validation_rows() {
    let (int8, report) = model()
        .quantize(&calibration(), &QuantizeOptions::default())
        .unwrap();
    let (kept, of) = report.validation_rows.unwrap();
    assert_eq!(of, 12);
    assert!(kept >= 6, "{kept} of {of} validation rows kept");
    let dir = std::env::temp_dir().join(format!("instinct-int8-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("model.bin");
    int8.info().save(&path).unwrap();
    let back = Model::load(&path).unwrap();
    assert_eq!(back.info(), int8.info());
    assert!(back.is_quantized());
    let x = values(40 * 5, 11);
    assert_eq!(
        back.runner(EngineChoice::Auto, Some(1))
            .unwrap()
            .run(5, &x)
            .unwrap(),
        int8.runner(EngineChoice::Auto, Some(1))
            .unwrap()
            .run(5, &x)
            .unwrap()
    );
    // The int8 weights are a fraction of the f32 text.
    let f32_text = model().info().to_json_string().len();
    let int8_text = int8.info().to_json_string().len();
    assert!(
        int8_text * 3 < f32_text,
        "{int8_text} bytes against {f32_text}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn static_ranges_minmax_and_percentile() {
    for method in [RangeMethod::MinMax, RangeMethod::Percentile(99.9)] {
        let options = QuantizeOptions {
            activations: ActivationMode::Static,
            method,
            ..QuantizeOptions::default()
        };
        let (int8, report) = model().quantize(&calibration(), &options).unwrap();
        assert!(report.layers.iter().all(|l| l.input_range.is_some()));
        let q = int8.info().quantization.as_ref().unwrap();
        assert_eq!(q.activations, ActivationMode::Static);
        assert!(
            q.slots
                .iter()
                .all(|s| s.input_scale.is_some_and(|v| v > 0.0))
        );
        assert!(
            report.expected.argmax_agreement.unwrap() >= 0.95,
            "{method:?}"
        );
    }
}

#[test]
fn a_layer_out_of_bounds_stays_f32_and_bad_calibration_is_refused() {
    let f32_model = model();
    let strict = QuantizeOptions {
        max_layer_error: 1e-9,
        ..QuantizeOptions::default()
    };
    match f32_model.quantize(&calibration(), &strict) {
        Err(QuantizeError::NothingQuantized(why)) => assert!(why.contains("exceeds"), "{why}"),
        other => panic!("{:?}", other.map(|(_, r)| r)),
    }
    let (int8, _) = f32_model
        .quantize(&calibration(), &QuantizeOptions::default())
        .unwrap();
    assert!(matches!(
        int8.quantize(&calibration(), &QuantizeOptions::default()),
        Err(QuantizeError::AlreadyQuantized)
    ));
    let opts = QuantizeOptions::default();
    assert!(matches!(
        f32_model.quantize(&[], &opts),
        Err(QuantizeError::NoRows)
    ));
    assert!(matches!(
        f32_model.quantize(&[0.5; 41], &opts),
        Err(QuantizeError::RaggedRows {
            values: 41,
            feature_size: 40
        })
    ));
    let mut rows = calibration();
    rows[40 * 3 + 7] = f32::NAN;
    match f32_model.quantize(&rows, &opts) {
        Err(QuantizeError::NonFinite {
            row: 3, feature: 7, ..
        }) => {}
        other => panic!("{:?}", other.map(|(_, r)| r)),
    }
    let bad = QuantizeOptions {
        method: RangeMethod::Percentile(20.0),
        ..QuantizeOptions::default()
    };
    assert!(matches!(
        f32_model.quantize(&rows, &bad),
        Err(QuantizeError::BadPercentile(_))
    ));
}
