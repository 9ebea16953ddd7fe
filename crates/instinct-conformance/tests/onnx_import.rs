//! ONNX import (instinct-onnx) against ONNX Runtime: every model of `fixtures/onnx/` converts,
//! validates and reproduces ONNX Runtime's outputs within abs 1e-5 + rel 1e-5 on every CPU
//! engine, except those using an operator the format lacks, which are refused naming the node;
//! truncated and corrupted files are errors, never panics.

use instinct::{Engine, Model, PredictConfig};
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

#[test]
fn every_fixture_converts_and_matches_onnx_runtime_on_every_engine() {
    let mut worst = 0.0f64;
    let mut converted = 0;
    for (name, bytes, expected) in cases() {
        let result = instinct_onnx::import_bytes(&bytes);
        if name.contains("leaky_relu") {
            let e = result.unwrap_err().to_string();
            assert!(
                e.contains("LeakyRelu") && e.contains("/1/LeakyRelu"),
                "{name}: {e}"
            );
            continue;
        }
        let info = result.unwrap_or_else(|e| panic!("{name}: {e}"));
        let model = Model::from_info(info).unwrap_or_else(|e| panic!("{name}: {e}"));
        let inputs: Vec<Vec<f32>> = serde_json::from_value(expected["inputs"].clone()).unwrap();
        let want = oracle(&expected);
        for engine in [Engine::PerSample, Engine::Batch] {
            let config = PredictConfig::new().with_threads(2).with_engine(engine);
            let flat: Vec<f32> = inputs.iter().flatten().copied().collect();
            let got = model.predict_parallel(&flat, config).unwrap().into_vec();
            let width = model.output_size();
            assert_eq!(got.len(), want.len() * width, "{name}");
            for (row, (g, w)) in got.chunks(width).zip(&want).enumerate() {
                assert_eq!(g.len(), w.len(), "{name} row {row}");
                for (a, b) in g.iter().zip(w) {
                    let d = (*a as f64 - b).abs() / (1e-5 + 1e-5 * b.abs());
                    worst = worst.max(d);
                    assert!(
                        d <= 1.0,
                        "{name} {engine:?} row {row}: {a} vs ONNX Runtime {b}"
                    );
                }
            }
        }
        converted += 1;
    }
    eprintln!(
        "{converted} ONNX models converted; worst difference {worst:.3} of abs 1e-5 + rel 1e-5"
    );
    assert!(converted >= 30);
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
