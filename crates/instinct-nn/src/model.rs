//! [`Model`]: a validated, compiled model, loaded from a file, JSON text or a description, with
//! the per-sample calls; [`LoadError`] says why one could not be loaded.

use instinct_cpu::{Interpreter, ParallelOutput, PredictConfig, PredictError};
use instinct_format::{FormatError, Limits, ModelInfo};
use instinct_validate::{Diagnostics, Layout, ValidModel};
use std::path::Path;
use std::sync::Arc;

/// Why a model could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read, or is not model JSON.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// The model breaks one or more rules (or does not reproduce its validation data).
    #[error("invalid model: {0}")]
    Invalid(#[from] Diagnostics),
}

/// A validated, compiled model ready to run on the CPU. `Send + Sync`; a clone shares the
/// compiled model (it is reference-counted), so engines made from a model own what they run.
#[derive(Debug, Clone)]
pub struct Model {
    compiled: Arc<Compiled>,
}

/// What a [`Model`] shares between its clones.
#[derive(Debug)]
struct Compiled {
    valid: ValidModel,
    interpreter: Interpreter,
}

impl Model {
    /// Whether the model's DOTs run int8 weights (a `quantization` section: `instinct
    /// quantize`, [`Model::quantize`]).
    pub fn is_quantized(&self) -> bool {
        self.info().quantization.is_some()
    }

    /// The int8 kernel this process runs the model's quantised layers with (`avx512-vnni`,
    /// `avx2`, `portable`), or `None` for an f32 model.
    pub fn int8_kernel(&self) -> Option<&'static str> {
        self.interpreter().plan().int8_kernel().map(|k| k.name())
    }

    /// This model with its DOTs quantised to int8 (see [`instinct_quant::quantize`]), checked
    /// against this model on `rows` (`n × feature_size` calibration inputs), with the report.
    ///
    /// ```
    /// use instinct::{Model, QuantizeOptions};
    /// let model = Model::from_json_str(r#"{
    ///     "feature_size": 2, "buffer_sizes": [2, 3, 1],
    ///     "instructions": [{"type": "DOT", "input": 0, "output": 1, "weights": 0, "activation": "RELU"},
    ///                      {"type": "DOT", "input": 1, "output": 2, "weights": 1}],
    ///     "weights": [[[1.0, 2.0], [-1.0, 0.5], [0.25, 0.25]], [[0.5, -0.5, 1.0]]],
    ///     "bias": [[0.0, 0.1, 0.2], [0.0]]
    /// }"#)?;
    /// let rows: Vec<f32> = (0..400).map(|i| ((i * 37) % 100) as f32 / 50.0 - 1.0).collect();
    /// let (int8, report) = model.quantize(&rows, &QuantizeOptions::default())?;
    /// assert!(int8.is_quantized() && report.quantized_slots() == 2);
    /// let (a, b) = (model.predict(&[0.5, -0.25])?, int8.predict(&[0.5, -0.25])?);
    /// assert!((a[0] - b[0]).abs() < 0.02);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn quantize(
        &self,
        rows: &[f32],
        options: &instinct_quant::QuantizeOptions,
    ) -> Result<(Model, instinct_quant::QuantizeReport), instinct_quant::QuantizeError> {
        let (info, report) = instinct_quant::quantize(self.valid(), rows, options)?;
        let model = Model::compile(info, &Limits::default())
            .map_err(instinct_quant::QuantizeError::Invalid)?;
        Ok((model, report))
    }

    /// Loads a model file with the default [`Limits`].
    pub fn load(path: impl AsRef<Path>) -> Result<Model, LoadError> {
        Model::load_with_limits(path, &Limits::default())
    }

    /// Loads a model file with explicit limits.
    pub fn load_with_limits(path: impl AsRef<Path>, limits: &Limits) -> Result<Model, LoadError> {
        let info = ModelInfo::load(path, limits)?;
        Model::from_info_with_limits(info, limits)
    }

    /// Parses and loads a model from JSON text.
    pub fn from_json_str(json: &str) -> Result<Model, LoadError> {
        let limits = Limits::default();
        let info = ModelInfo::from_json_slice(json.as_bytes(), &limits)?;
        Model::from_info_with_limits(info, &limits)
    }

    /// Validates and compiles a model description.
    pub fn from_info(info: ModelInfo) -> Result<Model, LoadError> {
        Model::from_info_with_limits(info, &Limits::default())
    }

    /// Validates (with explicit limits) and compiles a model description, then checks its
    /// `validation_data`.
    pub fn from_info_with_limits(info: ModelInfo, limits: &Limits) -> Result<Model, LoadError> {
        Ok(Model::compile(info, limits)?)
    }

    /// Validates, compiles and checks `validation_data`.
    fn compile(info: ModelInfo, limits: &Limits) -> Result<Model, Diagnostics> {
        let valid = instinct_validate::validate_owned(info, limits)?;
        let interpreter = Interpreter::new(&valid);
        instinct_cpu::check_validation_data(&valid, &interpreter)?;
        Ok(Model {
            compiled: Arc::new(Compiled { valid, interpreter }),
        })
    }

    /// The model description.
    #[inline]
    pub fn info(&self) -> &ModelInfo {
        self.compiled.valid.info()
    }

    /// The validated model (to build other executors from).
    #[inline]
    pub fn valid(&self) -> &ValidModel {
        &self.compiled.valid
    }

    /// Buffer offsets, input and output spans.
    #[inline]
    pub fn layout(&self) -> &Layout {
        self.compiled.valid.layout()
    }

    /// The per-sample CPU interpreter.
    #[inline]
    pub fn interpreter(&self) -> &Interpreter {
        &self.compiled.interpreter
    }

    /// One name per input value (`b[3]` expands to `b[0]`, `b[1]`, `b[2]`), when the model has
    /// feature names.
    pub fn feature_names(&self) -> Option<Vec<String>> {
        let features = self.info().features.as_deref()?;
        instinct_format::expand_feature_names(features).ok()
    }

    /// One name per output value: the model's `output_names`, else its class labels (a
    /// classifier's outputs are the probabilities of its classes), else `output_0`, `output_1`, …
    pub fn output_names(&self) -> Vec<String> {
        let info = self.info();
        if let Some(names) = &info.output_names {
            return names.clone();
        }
        if let Some(labels) = &info.labels {
            return labels.iter().map(ToString::to_string).collect();
        }
        (0..self.output_size())
            .map(|i| format!("output_{i}"))
            .collect()
    }

    /// A classifier's class labels, one per output value, when the model has them.
    pub fn labels(&self) -> Option<&[instinct_format::ClassLabel]> {
        self.info().labels.as_deref()
    }

    /// The class label of the largest of one sample's outputs (`outputs`, as `predict`
    /// returns them): what scikit-learn's `predict()` gives. `None` when the model has no
    /// labels, `outputs` is not one value per label, or every output is NaN. See [`labels::best_class`](crate::labels::best_class).
    ///
    /// ```
    /// use instinct::Model;
    /// use instinct::format::ClassLabel;
    /// let model = Model::from_json_str(r#"{
    ///     "features": ["x"], "buffer_sizes": [1, 2],
    ///     "instructions": [{"type": "DOT", "input": 0, "output": 1, "weights": 0,
    ///                       "activation": "SOFTMAX"}],
    ///     "weights": [[[1.0], [-1.0]]], "bias": [[0.0, 0.0]],
    ///     "labels": ["yes", "no"]
    /// }"#)?;
    /// let yes = model.predict(&[2.0])?;
    /// assert_eq!(model.label_of(&yes), Some(&ClassLabel::Text("yes".into())));
    /// assert_eq!(model.label_of(&model.predict(&[-2.0])?), Some(&ClassLabel::Text("no".into())));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn label_of(&self, outputs: &[f32]) -> Option<&instinct_format::ClassLabel> {
        let labels = self.labels()?;
        // One sample's outputs, one per class: anything else has no one label.
        if outputs.len() != labels.len() {
            return None;
        }
        labels.get(crate::labels::best_class(outputs)?)
    }

    /// Number of input values per sample.
    #[inline]
    pub fn feature_size(&self) -> usize {
        self.compiled.interpreter.feature_size()
    }

    /// Number of output values per sample.
    #[inline]
    pub fn output_size(&self) -> usize {
        self.compiled.interpreter.output_size()
    }

    /// Values of unified memory one sample needs.
    #[inline]
    pub fn required_memory(&self) -> usize {
        self.compiled.interpreter.required_memory()
    }

    /// Runs one sample. See [`Interpreter::predict`].
    #[inline]
    pub fn predict(&self, input: &[f32]) -> Result<Vec<f32>, PredictError> {
        self.compiled.interpreter.predict(input)
    }

    /// The last output value of one sample. See [`Interpreter::predict_single`].
    #[inline]
    pub fn predict_single(&self, input: &[f32]) -> Result<f32, PredictError> {
        self.compiled.interpreter.predict_single(input)
    }

    /// Runs one sample without allocating. See [`Interpreter::predict_into`].
    #[inline]
    pub fn predict_into(
        &self,
        input: &[f32],
        memory: &mut [f32],
        output: &mut [f32],
    ) -> Result<(), PredictError> {
        self.compiled
            .interpreter
            .predict_into(input, memory, output)
    }

    /// Runs one sample in caller-owned memory. See [`Interpreter::predict_with_buffer`].
    #[inline]
    pub fn predict_with_buffer(&self, memory: &mut [f32]) -> Result<(), PredictError> {
        self.compiled.interpreter.predict_with_buffer(memory)
    }

    /// Output value `index` in unified memory. See [`Interpreter::get_output`].
    #[inline]
    pub fn get_output(&self, memory: &[f32], index: usize) -> Result<f32, PredictError> {
        self.compiled.interpreter.get_output(memory, index)
    }

    /// Many samples over several threads. See [`Interpreter::predict_parallel`].
    pub fn predict_parallel(
        &self,
        inputs: &[f32],
        config: PredictConfig,
    ) -> Result<ParallelOutput, PredictError> {
        self.compiled.interpreter.predict_parallel(inputs, config)
    }
}
