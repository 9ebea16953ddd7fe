//! ONNX import (instinct-onnx) against ONNX Runtime: every model of `fixtures/onnx/` converts,
//! validates and reproduces ONNX Runtime's outputs within abs 1e-5 + rel 1e-5 on every CPU
//! engine (per sample, batch, single predictions, the many-model engine for DOT chains); those
//! using only instmodel's vocabulary load in `instmodel_inference` and agree there too, those
//! using the format's extensions are refused by it. Truncated and corrupted files are errors,
//! never panics.

mod common;

use common::instmodel_rows;
use instinct::{Model, PredictConfig};
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/onnx")
}

fn cases() -> Vec<(String, Vec<u8>, serde_json::Value)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(root()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "onnx") {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let expected = root().join(format!("{name}.expected.json"));
            let expected =
                serde_json::from_str(&std::fs::read_to_string(expected).unwrap()).unwrap();
            out.push((name, std::fs::read(&path).unwrap(), expected));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(out.len() >= 30);
    out
}

/// ONNX Runtime's rows for the output the import keeps: the probabilities of a classifier, else
/// the one output.
fn oracle(expected: &serde_json::Value) -> Vec<Vec<f64>> {
    let outputs = expected["outputs"].as_object().unwrap();
    let key = ["probabilities", "output_probability"]
        .into_iter()
        .find(|k| outputs.contains_key(*k))
        .map(str::to_string)
        .unwrap_or_else(|| outputs.keys().next().unwrap().clone());
    serde_json::from_value(outputs[&key].clone()).unwrap()
}

/// Whether a model uses one of instinct's format extensions.
fn uses_extensions(info: &instinct::format::ModelInfo) -> bool {
    info.instructions
        .iter()
        .any(|i| i.activation().is_some_and(|a| a.is_extension()))
}

/// Checks `got` (rows of `width`) against ONNX Runtime's rows; returns the largest fraction of
/// abs 1e-5 + rel 1e-5 used.
fn against_onnx_runtime(name: &str, engine: &str, got: &[f32], want: &[Vec<f64>]) -> f64 {
    let width = want.first().map_or(0, Vec::len);
    assert_eq!(got.len(), want.len() * width, "{name} {engine}");
    let mut worst = 0.0f64;
    for (row, (g, w)) in got.chunks(width.max(1)).zip(want).enumerate() {
        for (a, b) in g.iter().zip(w) {
            let d = (*a as f64 - b).abs() / (1e-5 + 1e-5 * b.abs());
            worst = worst.max(d);
            assert!(
                d <= 1.0,
                "{name} {engine} row {row}: {a} vs ONNX Runtime {b}"
            );
        }
    }
    worst
}

#[test]
fn every_fixture_converts_and_matches_onnx_runtime_on_every_engine() {
    let mut worst = 0.0f64;
    let (mut converted, mut extended, mut batched) = (0, 0, 0);
    for (name, bytes, expected) in cases() {
        let info = instinct_onnx::import_bytes(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let model = Model::from_info(info.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let inputs: Vec<Vec<f32>> = serde_json::from_value(expected["inputs"].clone()).unwrap();
        let want = oracle(&expected);
        let flat: Vec<f32> = inputs.iter().flatten().copied().collect();
        for per_sample in [true, false] {
            let config = PredictConfig::new()
                .with_threads(2)
                .with_per_sample(per_sample);
            let got = model.predict_parallel(&flat, config).unwrap().into_vec();
            let d = against_onnx_runtime(&name, &format!("per sample {per_sample}"), &got, &want);
            worst = worst.max(d);
        }
        // One sample at a time (the register chain, where the model is a narrow chain).
        let single: Vec<f32> = inputs
            .iter()
            .flat_map(|x| model.predict(x).unwrap())
            .collect();
        worst = worst.max(against_onnx_runtime(&name, "predict", &single, &want));
        if uses_extensions(&info) {
            // instmodel cannot load the extensions, nor can the many-model engine run them.
            extended += 1;
            assert!(
                instmodel_rows(&info.to_json_string(), &inputs).is_err(),
                "{name}"
            );
        } else {
            // Only instmodel's vocabulary: instmodel_inference loads it and agrees.
            let theirs = instmodel_rows(&info.to_json_string(), &inputs)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let d = against_onnx_runtime(&name, "instmodel_inference", &theirs.concat(), &want);
            worst = worst.max(d);
            // Chains of DOTs also run as many models at once: three copies side by side.
            let copies = vec![model.valid().clone(); 3];
            if let Ok(batch) = instinct::batched::BatchedInference::from_models(&copies) {
                for (x, row) in inputs.iter().zip(&want) {
                    let got = batch.forward(&x.repeat(3)).unwrap();
                    let three = vec![row.clone(); 3];
                    worst = worst.max(against_onnx_runtime(&name, "batched", &got, &three));
                }
                batched += 1;
            }
        }
        converted += 1;
    }
    eprintln!(
        "{converted} ONNX models converted ({extended} with extension activations, {batched} also run by the many-model engine); worst difference {worst:.3} of abs 1e-5 + rel 1e-5"
    );
    assert!(converted >= 47 && extended >= 11 && batched >= 16);
}

#[test]
fn truncated_and_corrupted_files_are_errors_not_panics() {
    for (name, bytes, _) in cases() {
        for cut in [
            0,
            1,
            2,
            7,
            bytes.len() / 3,
            bytes.len() / 2,
            bytes.len() - 1,
        ] {
            let _ = instinct_onnx::import_bytes(&bytes[..cut]);
        }
        let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ bytes.len() as u64;
        for _ in 0..200 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut damaged = bytes.clone();
            let at = (state % damaged.len() as u64) as usize;
            damaged[at] ^= 1 << (state >> 61);
            let _ = instinct_onnx::import_bytes(&damaged);
        }
        assert!(
            instinct_onnx::import_bytes(&bytes[..bytes.len() / 2]).is_err(),
            "{name}"
        );
    }
    let e = instinct_onnx::import(root().join("missing.onnx")).unwrap_err();
    assert!(e.to_string().contains("missing.onnx"), "{e}");
}

/// The `onnx_extensions` conformance case is `fixtures/onnx/torch_every_extension.onnx`
/// converted, with ONNX Runtime's outputs as its oracle; `INSTINCT_REGENERATE=1` rewrites it.
#[test]
fn the_onnx_extensions_case_is_the_conversion_of_its_onnx_graph() {
    use instinct_conformance::Expected;
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/conformance/onnx_extensions");
    let info = instinct_onnx::import(root().join("torch_every_extension.onnx")).unwrap();
    assert!(uses_extensions(&info));
    let onnx: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("torch_every_extension.expected.json")).unwrap(),
    )
    .unwrap();
    let expected = Expected {
        oracle:
            "ONNX Runtime 1.32.0 (CPUExecutionProvider) on fixtures/onnx/torch_every_extension.onnx"
                .to_string(),
        inputs: serde_json::from_value(onnx["inputs"].clone()).unwrap(),
        outputs: oracle(&onnx),
    };
    if std::env::var("INSTINCT_REGENERATE").as_deref() == Ok("1") {
        std::fs::create_dir_all(&dir).unwrap();
        info.save(dir.join("model.json")).unwrap();
        let text = serde_json::to_string_pretty(&expected).unwrap();
        std::fs::write(dir.join("expected.json"), text + "\n").unwrap();
    }
    let stored =
        instinct::format::ModelInfo::load(dir.join("model.json"), &Default::default()).unwrap();
    assert_eq!(
        stored, info,
        "model.json is not the conversion of the graph"
    );
    let stored: Expected =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    assert_eq!(stored.inputs, expected.inputs);
    assert_eq!(stored.outputs, expected.outputs);
}
