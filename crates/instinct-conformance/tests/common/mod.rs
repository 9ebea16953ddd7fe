//! Helpers shared by the conformance tests: the reference crate `instmodel_inference` run on a
//! model written as our JSON.

/// `instmodel_inference` 0.9 on a model (our JSON) and rows: its outputs, or why it cannot
/// parse, load or run the model.
pub fn instmodel_rows(json: &str, inputs: &[Vec<f32>]) -> Result<Vec<Vec<f32>>, String> {
    let info: instmodel_inference::InstructionModelInfo =
        serde_json::from_str(json).map_err(|e| format!("instmodel cannot parse: {e}"))?;
    let model = instmodel_inference::InstructionModel::new(info)
        .map_err(|e| format!("instmodel refuses: {e}"))?;
    inputs
        .iter()
        .map(|x| model.predict(x).map_err(|e| e.to_string()))
        .collect()
}
