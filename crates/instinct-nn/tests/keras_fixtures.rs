//! Every Keras-exported fixture loads (including its own validation_data check) and reproduces
//! the outputs `instmodel_inference` 0.9.0 computed for it (the `instmodel_rust` column).

use instinct::Model;
use std::path::PathBuf;

#[test]
fn every_fixture_matches_the_reference_crate() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/instmodel-keras");
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("index.json")).unwrap()).unwrap();
    let names: Vec<&String> = index["models"].as_object().unwrap().keys().collect();
    assert_eq!(names.len(), 9);
    for name in names {
        let model = Model::load(dir.join(format!("{name}.json"))).unwrap();
        let expected: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(format!("{name}.expected.json"))).unwrap(),
        )
        .unwrap();
        let inputs = expected["inputs"].as_array().unwrap();
        let outputs = expected["instmodel_rust"].as_array().unwrap();
        for (row, (x, y)) in inputs.iter().zip(outputs).enumerate() {
            let x: Vec<f32> = serde_json::from_value(x.clone()).unwrap();
            let y: Vec<f64> = serde_json::from_value(y.clone()).unwrap();
            let got = model.predict(&x).unwrap();
            assert_eq!(got.len(), y.len());
            for (g, e) in got.iter().zip(&y) {
                let diff = (*g as f64 - e).abs();
                assert!(
                    diff <= 1e-5 + 1e-5 * e.abs(),
                    "{name} row {row}: {g} vs {e}"
                );
            }
        }
    }
}
