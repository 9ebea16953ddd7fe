//! The blob against instmodel 1.1's `GpuModel` (word for word, on every fixture it converts),
//! and `GpuModel::from_words` against corrupted blobs.

use instinct_format::{Limits, ModelInfo};
use instinct_wgsl::{BlobError, GpuModel, ModelPack, Opcode, header};
use std::path::PathBuf;

fn fixtures() -> Vec<(String, String)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/conformance");
    let mut cases: Vec<(String, String)> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("model.json").exists())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(p.join("model.json")).unwrap())
        })
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 10,
        "fixtures missing under {}",
        root.display()
    );
    cases
}

fn blob_of(json: &str) -> GpuModel {
    let info = ModelInfo::from_json_str(json).unwrap();
    let model = instinct_validate::validate(&info, &Limits::default()).unwrap();
    GpuModel::from_model(&model).unwrap()
}

#[test]
fn blobs_equal_instmodel_word_for_word_where_it_converts() {
    let mut compared = 0;
    for (name, json) in fixtures() {
        let ours = blob_of(&json);
        // Our blobs pass our own check.
        GpuModel::from_words(ours.words().to_vec()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let parsed = serde_json::from_str::<
            instmodel_inference_v11::instruction_model_info::InstructionModelInfo,
        >(&json);
        if uses_extensions(&json) {
            // instmodel does not know the format's extensions.
            assert!(parsed.is_err(), "{name}");
            continue;
        }
        let info = parsed.unwrap();
        let uses_ours = ours
            .instructions()
            .iter()
            .any(|g| g.opcode >= Opcode::MapTransform as u32);
        match instmodel_inference_v11::gpu::GpuModel::from_info(&info) {
            Ok(theirs) => {
                let words: Vec<u32> = theirs.as_f32_slice().iter().map(|v| v.to_bits()).collect();
                assert_eq!(ours.words(), &words[..], "{name}");
                compared += 1;
            }
            Err(e) => assert!(
                uses_ours,
                "{name}: instmodel refuses ({e}) a model we convert with its opcodes only"
            ),
        }
    }
    assert!(compared >= 8, "only {compared} fixtures compared");
}

fn uses_extensions(json: &str) -> bool {
    ModelInfo::from_json_str(json)
        .unwrap()
        .instructions
        .iter()
        .any(|i| i.activation().is_some_and(|a| a.is_extension()))
}

#[test]
fn extension_activations_keep_their_parameters_in_the_blob() {
    use instinct_format::Activation;
    let (_, json) = fixtures()
        .into_iter()
        .find(|(n, _)| n == "onnx_extensions")
        .unwrap();
    let info = ModelInfo::from_json_str(&json).unwrap();
    let blob = blob_of(&json);
    let mut with_parameters = 0;
    for (ins, g) in info.instructions.iter().zip(blob.instructions()) {
        // Every activation reads back from the blob, parameters included.
        assert_eq!(blob.activation(g), Some(ins.activation()), "{ins:?}");
        if ins.activation().is_some_and(|a| !a.parameters().is_empty()) {
            with_parameters += 1;
        } else {
            assert_eq!(g.reserved, 0, "{ins:?}");
        }
    }
    assert_eq!(with_parameters, 4);
    assert!(
        info.instructions
            .iter()
            .any(|i| i.activation() == Some(Activation::LogSoftmax))
    );
    // A parameter position past the parameters region, and an extension in a version 1 blob,
    // are refused.
    let dot = header::INSTRUCTIONS_OFFSET;
    let first = blob.words()[dot] as usize;
    let mut w = blob.words().to_vec();
    w[first + 7] = w[header::PARAMS_COUNT];
    let e = GpuModel::from_words(w).unwrap_err().to_string();
    assert!(e.contains("activation parameters"), "{e}");
    let mut w = blob.words().to_vec();
    w[header::VERSION] = 1;
    w[first] = Opcode::Activation as u32;
    let e = GpuModel::from_words(w).unwrap_err().to_string();
    assert!(e.contains("activation code 13 in a version 1 blob"), "{e}");
}

#[test]
fn corrupted_blobs_are_refused_with_the_word_named() {
    let (_, json) = fixtures()
        .into_iter()
        .find(|(n, _)| n == "keras_branchy")
        .unwrap();
    let good = blob_of(&json).words().to_vec();
    let refuse = |words: Vec<u32>, needle: &str| {
        let e = GpuModel::from_words(words).unwrap_err();
        assert!(e.to_string().contains(needle), "{e} lacks {needle:?}");
    };
    refuse(good[..5].to_vec(), "header");
    let mut w = good.clone();
    w[0] = 7;
    refuse(w, "magic");
    let mut w = good.clone();
    w[header::FULL_MODEL_SIZE] += 1;
    refuse(w, "header word 12");
    let mut w = good.clone();
    w.push(0);
    refuse(w, "header word 12");
    let mut w = good.clone();
    w[header::COMPUTE_BUFFER_SIZE] = 1 << 20;
    assert!(matches!(
        GpuModel::from_words(w),
        Err(BlobError::ComputeBufferTooLarge { .. })
    ));
    // The first instruction: an unknown opcode, then an output beyond the compute buffer.
    let first = header::INSTRUCTION_COUNT + 8;
    let mut w = good.clone();
    w[first] = 99;
    refuse(w, "instruction 0");
    let mut w = good.clone();
    w[first + 2] = u32::MAX - 1;
    refuse(w, "outside the compute buffer");
    // Every single-word corruption is either accepted (a value word) or refused; never a panic.
    for i in 0..good.len() {
        for v in [0, 1, u32::MAX, 1 << 16] {
            let mut w = good.clone();
            w[i] = v;
            let _ = GpuModel::from_words(w);
        }
    }
}

#[test]
fn a_pack_places_models_back_to_back() {
    let cases = fixtures();
    let mut pack = ModelPack::new();
    let mut expected = 0;
    for (_, json) in cases.iter().take(3) {
        let blob = blob_of(json);
        assert_eq!(pack.push(&blob).unwrap(), expected);
        expected += blob.header(header::FULL_MODEL_SIZE);
    }
    assert_eq!(pack.words().len() as u32, expected);
    assert_eq!(pack.as_bytes().len(), 4 * expected as usize);
}

#[test]
fn a_dot_writing_over_its_input_and_new_opcodes_in_a_version_1_blob_are_refused() {
    let json = r#"{"feature_size": 2, "buffer_sizes": [2, 2, 1], "instructions": [
        {"type": "DOT", "input": 0, "output": 1, "weights": 0},
        {"type": "REDUCE_SUM", "input": 1, "output": 2}],
        "weights": [[[1.0, 2.0], [3.0, 4.0]]], "bias": [[0.0, 0.0]]}"#;
    let good = blob_of(json).words().to_vec();
    let first = header::INSTRUCTION_COUNT + 8;
    let mut w = good.clone();
    // DOT output at 1: overlaps its input 0..2.
    w[first + 2] = 1;
    let e = GpuModel::from_words(w).unwrap_err().to_string();
    assert!(e.contains("overlaps the output"), "{e}");
    let mut w = good;
    w[header::VERSION] = 1;
    let e = GpuModel::from_words(w).unwrap_err().to_string();
    assert!(e.contains("version 1"), "{e}");
}
