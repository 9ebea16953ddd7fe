//! The conformance cases of models trained by `instinct train` (`fixtures/conformance/trained_*`):
//! `instmodel_inference` 0.9 loads each one (checking its embedded `validation_data` as it
//! does), and the case's expected outputs are what it computes for the case's inputs (the first
//! 20 rows of the data set's test split). `INSTINCT_REGENERATE=1` writes those expected outputs
//! anew.

mod common;

use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// The feature rows of the first `n` data rows of a CSV whose last column is the target.
fn test_rows(csv: &str, n: usize) -> Vec<Vec<f32>> {
    let mut reader = csv::Reader::from_path(root().join("data").join(csv)).unwrap();
    reader
        .records()
        .take(n)
        .map(|r| {
            let r = r.unwrap();
            r.iter()
                .take(r.len() - 1)
                .map(|v| v.parse::<f32>().unwrap())
                .collect()
        })
        .collect()
}

#[test]
fn trained_cases_load_in_instmodel_and_expect_what_it_computes() {
    for (case, data) in [
        ("trained_breast_cancer", "breast_cancer_test.csv"),
        ("trained_iris", "iris_test.csv"),
    ] {
        let dir = root().join("conformance").join(case);
        let json = std::fs::read_to_string(dir.join("model.json")).unwrap();
        let info: instmodel_inference::InstructionModelInfo = serde_json::from_str(&json).unwrap();
        assert!(info.validation_data.is_some(), "{case}: no validation_data");
        // Loading checks the validation rows to instmodel's tolerance.
        let model = instmodel_inference::InstructionModel::new(info)
            .unwrap_or_else(|e| panic!("{case}: instmodel refuses the trained model: {e}"));
        let inputs = test_rows(data, 20);
        let outputs: Vec<Vec<f64>> = inputs
            .iter()
            .map(|x| {
                model
                    .predict(x)
                    .unwrap()
                    .into_iter()
                    .map(f64::from)
                    .collect()
            })
            .collect();
        let path = dir.join("expected.json");
        if std::env::var("INSTINCT_REGENERATE").as_deref() == Ok("1") {
            let expected = serde_json::json!({
                "oracle": "instmodel_inference 0.9.0 (tests/trained_cases.rs)",
                "inputs": inputs,
                "outputs": outputs,
            });
            std::fs::write(&path, serde_json::to_string_pretty(&expected).unwrap()).unwrap();
        }
        let expected: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        // The outputs are f32 values; compared as such (JSON text of an f64 need not read back
        // to the same f64, but it does to the same f32).
        let narrow = |rows: &[Vec<f64>]| -> Vec<Vec<f32>> {
            rows.iter()
                .map(|r| r.iter().map(|&v| v as f32).collect())
                .collect()
        };
        let stored: Vec<Vec<f64>> = serde_json::from_value(expected["outputs"].clone()).unwrap();
        assert_eq!(
            narrow(&stored),
            narrow(&outputs),
            "{case}: expected.json is not instmodel's output"
        );
    }
}

#[test]
fn output_names_and_labels_are_additive_instmodel_loads_models_with_them() {
    let dir = root().join("conformance").join("trained_iris");
    let json = std::fs::read_to_string(dir.join("model.json")).unwrap();
    let mut labelled: serde_json::Value = serde_json::from_str(&json).unwrap();
    labelled["labels"] = serde_json::json!(["setosa", "versicolor", "virginica"]);
    labelled["output_names"] = serde_json::json!(["p_setosa", "p_versicolor", "p_virginica"]);
    let labelled = labelled.to_string();
    let inputs = test_rows("iris_test.csv", 20);
    let plain = common::instmodel_rows(&json, &inputs).unwrap();
    let with_labels = common::instmodel_rows(&labelled, &inputs)
        .unwrap_or_else(|e| panic!("instmodel 0.9 refuses a labelled model: {e}"));
    assert_eq!(plain, with_labels);
    // And instinct reads them back.
    let model = instinct::Model::from_json_str(&labelled).unwrap();
    assert_eq!(
        model.output_names(),
        ["p_setosa", "p_versicolor", "p_virginica"]
    );
    assert_eq!(model.labels().map(<[_]>::len), Some(3));
}
