//! Conformance cases on disk: `fixtures/conformance/<case>/{model.json, expected.json, SOURCE.md}`.

use instinct_format::{Limits, ModelInfo};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The expected outputs of a case and who computed them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Expected {
    /// The program that produced `outputs` (never instinct itself).
    pub oracle: String,
    /// Input rows.
    pub inputs: Vec<Vec<f32>>,
    /// The oracle's output rows, one per input row.
    pub outputs: Vec<Vec<f64>>,
}

/// One conformance case: a model, inputs and an independent oracle's outputs.
#[derive(Debug, Clone)]
pub struct Case {
    /// Directory name.
    pub name: String,
    /// The case's directory.
    pub dir: PathBuf,
    /// The model.
    pub info: ModelInfo,
    /// Inputs and expected outputs.
    pub expected: Expected,
}

/// An error reading the conformance cases.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file is not what it should be.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CaseError + '_ {
    move |source| CaseError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn invalid(path: &Path, message: impl ToString) -> CaseError {
    CaseError::Invalid {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

/// Loads every case directory under `root`, sorted by name.
pub fn load_cases(root: &Path) -> Result<Vec<Case>, CaseError> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .map_err(io(root))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs.iter().map(|d| load_case(d)).collect()
}

/// Loads one case directory.
pub fn load_case(dir: &Path) -> Result<Case, CaseError> {
    let model_path = dir.join("model.json");
    let info =
        ModelInfo::load(&model_path, &Limits::default()).map_err(|e| invalid(&model_path, e))?;
    let expected_path = dir.join("expected.json");
    let text = std::fs::read_to_string(&expected_path).map_err(io(&expected_path))?;
    let expected: Expected = serde_json::from_str(&text).map_err(|e| invalid(&expected_path, e))?;
    if expected.inputs.len() != expected.outputs.len() {
        return Err(invalid(
            &expected_path,
            "inputs and outputs differ in row count",
        ));
    }
    Ok(Case {
        name: dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        dir: dir.to_path_buf(),
        info,
        expected,
    })
}

/// Turns the Keras fixtures of `src` (`NAME.json` + `NAME.expected.json`, as exported by the
/// Python `instmodel` package) into case directories under `dst`, taking `instmodel_inference`'s
/// outputs (the `instmodel_rust` column) as the expected values. Returns the case names written.
pub fn import_keras_fixtures(src: &Path, dst: &Path) -> Result<Vec<String>, CaseError> {
    let index_path = src.join("index.json");
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&index_path).map_err(io(&index_path))?)
            .map_err(|e| invalid(&index_path, e))?;
    let models = index["models"]
        .as_object()
        .ok_or_else(|| invalid(&index_path, "no `models` object"))?;
    let mut names = Vec::new();
    for name in models.keys() {
        let model_src = src.join(format!("{name}.json"));
        let expected_src = src.join(format!("{name}.expected.json"));
        let raw: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(&expected_src).map_err(io(&expected_src))?,
        )
        .map_err(|e| invalid(&expected_src, e))?;
        let expected = Expected {
            oracle: "instmodel_inference 0.9.0 (the instmodel_rust column of the Keras fixture)"
                .into(),
            inputs: serde_json::from_value(raw["inputs"].clone())
                .map_err(|e| invalid(&expected_src, e))?,
            outputs: serde_json::from_value(raw["instmodel_rust"].clone())
                .map_err(|e| invalid(&expected_src, e))?,
        };
        let case_dir = dst.join(format!("keras_{name}"));
        std::fs::create_dir_all(&case_dir).map_err(io(&case_dir))?;
        let model_dst = case_dir.join("model.json");
        std::fs::copy(&model_src, &model_dst).map_err(io(&model_src))?;
        let expected_dst = case_dir.join("expected.json");
        let text =
            serde_json::to_string_pretty(&expected).map_err(|e| invalid(&expected_dst, e))?;
        std::fs::write(&expected_dst, text + "\n").map_err(io(&expected_dst))?;
        let source = format!(
            "# keras_{name}\n\nGenerated by `cargo xtask fixtures` from `fixtures/instmodel-keras/{name}.json` and\n\
             `{name}.expected.json` (see that folder's README.md and generate.py).\n\n\
             - model.json: the Keras model exported by the Python `instmodel` package, byte for byte.\n\
             - expected.json: the fixture's inputs and the outputs `instmodel_inference` 0.9.0 computed\n  \
             for them (`instmodel_rust` column).\n"
        );
        let source_path = case_dir.join("SOURCE.md");
        std::fs::write(&source_path, source).map_err(io(&source_path))?;
        names.push(format!("keras_{name}"));
    }
    Ok(names)
}
