//! The loaders under test, their seed inputs, and one execution of each. A loader's `Err` is
//! the expected answer to a bad input; a panic, or a broken promise checked here, is a finding.

use crate::mutate::{self, Shape};
use instinct::onnx::OnnxError;
use instinct::wgsl::{GpuModel, specialized_library};
use instinct::{Limits, Model, ModelInfo, PredictConfig};
use instinct_io::{Columns, DataFormat, ReadOptions, read_bytes};
use std::hint::black_box;

/// The model the CSV, JSON, NPY, Parquet and Arrow inputs are read for: 4 named features, 3
/// outputs.
pub const IRIS: &str = include_str!("../../fixtures/instmodel-keras/iris_mlp.json");

/// Small models covering every instruction type: a plain dense chain, elementwise
/// normalisation, maps and masked copies, and a branchy graph with attention and heads.
const MODEL_SEEDS: [&str; 4] = [
    IRIS,
    include_str!("../../fixtures/instmodel-keras/iris_ff_batchnorm.json"),
    include_str!("../../fixtures/instmodel-keras/embeddings.json"),
    include_str!("../../fixtures/instmodel-keras/branchy.json"),
];

/// Small graphs from scikit-learn, tf2onnx and torch, one of each converter path.
const ONNX_SEEDS: [&[u8]; 6] = [
    include_bytes!("../../fixtures/onnx/skl_linear_regression.onnx"),
    include_bytes!("../../fixtures/onnx/skl_logistic_multinomial_nozipmap.onnx"),
    include_bytes!("../../fixtures/onnx/skl_mlp_classifier_relu_1_scaled_nozipmap.onnx"),
    include_bytes!("../../fixtures/onnx/keras_dense_stack.onnx"),
    include_bytes!("../../fixtures/onnx/torch_gelu_opset17.onnx"),
    include_bytes!("../../fixtures/onnx/torch_branches.onnx"),
];

/// Three iris rows, for the NPY seeds.
const IRIS_ROWS: [f32; 12] = [5.1, 3.5, 1.4, 0.2, 6.2, 2.9, 4.3, 1.3, 7.7, 3.0, 6.1, 2.3];

/// Written when a promise that holds for every input is broken; tells such panics apart.
pub const BROKEN: &str = "broken promise:";

/// A loader under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Model JSON: parse, validate, compile, run, write the GPU shader.
    Model,
    /// ONNX import, then the model as above.
    Onnx,
    /// `instinct predict`'s CSV input.
    Csv,
    /// `instinct predict`'s JSON input.
    Json,
    /// `instinct predict`'s NPY input.
    Npy,
    /// `instinct predict`'s Parquet input.
    Parquet,
    /// `instinct predict`'s Arrow IPC input, file and stream layouts.
    Arrow,
}

impl Target {
    /// Every target, in the order a run takes them.
    pub const ALL: [Target; 7] = [
        Target::Model,
        Target::Onnx,
        Target::Csv,
        Target::Json,
        Target::Npy,
        Target::Parquet,
        Target::Arrow,
    ];

    /// The name on the command line and in file names.
    pub fn name(self) -> &'static str {
        match self {
            Target::Model => "model",
            Target::Onnx => "onnx",
            Target::Csv => "csv",
            Target::Json => "json",
            Target::Npy => "npy",
            Target::Parquet => "parquet",
            Target::Arrow => "arrow",
        }
    }

    /// The target called `name`.
    pub fn from_name(name: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.name() == name)
    }

    /// What the inputs are, for the mutations.
    pub fn shape(self) -> Shape {
        match self {
            Target::Model | Target::Json => Shape::Json,
            Target::Onnx => Shape::Protobuf,
            Target::Csv => Shape::Csv,
            Target::Npy => Shape::Npy,
            Target::Parquet | Target::Arrow => Shape::Bytes,
        }
    }

    /// Whether every seed must load (the input targets' seeds may meet read options that
    /// refuse them).
    pub fn seeds_must_load(self) -> bool {
        matches!(self, Target::Model | Target::Onnx)
    }

    /// The inputs mutations start from.
    pub fn seeds(self) -> Vec<Vec<u8>> {
        match self {
            Target::Model => MODEL_SEEDS
                .iter()
                .flat_map(|text| {
                    // Each also without `validation_data`: a mutated weight then still loads
                    // and runs, where the check against the recorded outputs would refuse it.
                    let bytes = text.as_bytes();
                    std::iter::once(bytes.to_vec())
                        .chain(mutate::remove_member(bytes, "validation_data"))
                })
                .collect(),
            Target::Onnx => ONNX_SEEDS.iter().map(|bytes| bytes.to_vec()).collect(),
            Target::Csv => vec![
                include_bytes!("../../fixtures/data/iris_test.csv").to_vec(),
                b"5.1,3.5,1.4,0.2\n6.2,2.9,4.3,1.3\n".to_vec(),
                b"petal_width_cm,sepal_length_cm,petal_length_cm,sepal_width_cm\n0.2,5.1,1.4,3.5\n"
                    .to_vec(),
            ],
            Target::Json => vec![
                b"[[5.1, 3.5, 1.4, 0.2], [6.2, 2.9, 4.3, 1.3]]".to_vec(),
                br#"{"inputs": [[5.1, 3.5, 1.4, 0.2]], "note": "x"}"#.to_vec(),
            ],
            Target::Npy => {
                let f4: Vec<u8> = IRIS_ROWS.iter().flat_map(|x| x.to_le_bytes()).collect();
                let f8: Vec<u8> = IRIS_ROWS
                    .iter()
                    .flat_map(|&x| f64::from(x).to_be_bytes())
                    .collect();
                vec![
                    mutate::npy_file("<f4", "False", "(3, 4)", &f4),
                    mutate::npy_file(">f8", "True", "(3, 4)", &f8),
                ]
            }
            // As pyarrow writes them (fixtures/gen/make_columnar.py).
            Target::Parquet => vec![
                include_bytes!("../../fixtures/data/iris_test.parquet").to_vec(),
                include_bytes!("../../fixtures/data/iris_test_zstd.parquet").to_vec(),
            ],
            Target::Arrow => vec![
                include_bytes!("../../fixtures/data/iris_test.arrow").to_vec(),
                include_bytes!("../../fixtures/data/iris_test.arrows").to_vec(),
            ],
        }
    }
}

/// Runs `input` through `target`'s loader (`iris` is the model the input targets read for).
pub fn run(target: Target, input: &[u8], iris: &Model) -> anyhow::Result<()> {
    match target {
        Target::Model => {
            let info = ModelInfo::from_json_slice(input, &Limits::default())?;
            exercise(&Model::from_info(info)?);
        }
        Target::Onnx => {
            let info = match instinct::onnx::import_bytes(input) {
                // An infinite constant (or a finite one that overflows in a fold) becomes a
                // weight the format refuses: a typed refusal, as it should be. Any other
                // problem in a converted model is the importer's bug.
                Err(OnnxError::Invalid(why))
                    if why
                        .lines()
                        .skip(1)
                        .all(|l| l.contains("is not a finite number")) =>
                {
                    anyhow::bail!("refused: {why}")
                }
                Err(OnnxError::Invalid(why)) => {
                    broken(&format!("the importer produced an invalid model: {why}"))
                }
                result => result?,
            };
            match Model::from_info(info) {
                Ok(model) => exercise(&model),
                Err(e) => broken(&format!("an imported model does not load: {e}")),
            }
        }
        Target::Csv => read_input(input, DataFormat::Csv, iris)?,
        // JSON documents and JSON Lines share the row visitor: both read the same inputs.
        Target::Json => {
            let lines = read_input(input, DataFormat::Jsonl, iris);
            read_input(input, DataFormat::Json, iris).or(lines)?
        }
        Target::Npy => read_input(input, DataFormat::Npy, iris)?,
        Target::Parquet => read_input(input, DataFormat::Parquet, iris)?,
        Target::Arrow => read_input(input, DataFormat::Arrow, iris)?,
    }
    Ok(())
}

/// A finding that is not a panic of the code under test: panics with [`BROKEN`] and `what`.
fn broken(what: &str) -> ! {
    panic!("{BROKEN} {what}")
}

/// Runs a loaded model the ways a user can, checking what holds for every valid model.
fn exercise(model: &Model) {
    let (features, outputs) = (model.feature_size(), model.output_size());
    if let Err(e) = model.predict(&vec![0.5; features]) {
        broken(&format!(
            "predict refused an input of the model's size: {e}"
        ));
    }
    if features > 0 {
        let rows: Vec<f32> = (0..3 * features)
            .map(|i| (i % 7) as f32 * 0.5 - 1.5)
            .collect();
        match model.predict_parallel(&rows, PredictConfig::new().with_threads(1)) {
            Ok(out) if out.num_samples() == 3 && out.as_slice().len() == 3 * outputs => {}
            Ok(out) => broken(&format!(
                "predict_parallel gave {} samples of {} values for 3 samples of {outputs}",
                out.num_samples(),
                out.slice_size()
            )),
            Err(e) => broken(&format!("predict_parallel refused 3 samples: {e}")),
        }
    }
    // instinct-format's invariant: a loaded model written back and read again is identical.
    let text = model.info().to_json_string();
    match ModelInfo::from_json_slice(text.as_bytes(), &Limits::default()) {
        Ok(again) if again == *model.info() => {}
        Ok(_) => broken("the model written back and read again differs"),
        Err(e) => broken(&format!("the model written back does not load: {e}")),
    }
    // The GPU blob may refuse a model (its errors are expected); the shader must not panic.
    if let Ok(blob) = GpuModel::from_model(model.valid()) {
        let _ = black_box(specialized_library(&blob));
    }
}

/// Reads `input` as `instinct predict` would for the iris model, then runs the rows.
fn read_input(input: &[u8], format: DataFormat, iris: &Model) -> anyhow::Result<()> {
    let mut columns = Columns::new(iris.feature_size(), iris.feature_names());
    if keeps_a_column(input) {
        columns.keep = vec!["id".into()];
    }
    let batch = read_bytes(input, format, &columns, options_for(input))?;
    if batch.values.len() != batch.rows * iris.feature_size() {
        broken(&format!(
            "{} values were read for {} rows of {}",
            batch.values.len(),
            batch.rows,
            iris.feature_size()
        ));
    }
    if (1..=10_000).contains(&batch.rows)
        && let Err(e) = iris.predict_parallel(&batch.values, PredictConfig::new().with_threads(1))
    {
        broken(&format!("the rows read do not run: {e}"));
    }
    Ok(())
}

/// The read options for `input`, drawn from a hash of its bytes so that a saved input replays
/// exactly: non-finite values allowed half the time, the CSV header forced either way a
/// quarter of the time each, detected otherwise.
pub fn options_for(input: &[u8]) -> ReadOptions {
    let hash = input.iter().fold(0xCBF2_9CE4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3)
    });
    ReadOptions {
        allow_nonfinite: hash & 1 == 1,
        header: match (hash >> 1) % 4 {
            0 => Some(true),
            1 => Some(false),
            _ => None,
        },
        // Small chunks a quarter of the time, so rows cross chunk boundaries.
        chunk_rows: (hash >> 3)
            .is_multiple_of(4)
            .then_some(1 + (hash >> 5) as usize % 3),
    }
}

/// Whether `input` is read with an `id` column kept (a hash bit, as [`options_for`]).
fn keeps_a_column(input: &[u8]) -> bool {
    input
        .iter()
        .fold(0u32, |h, &b| h.rotate_left(5) ^ u32::from(b))
        % 3
        == 0
}
