//! The engine seam: [`Runner`], what every engine implements (rows in, outputs into a slice;
//! what it is, its threads, its memory, why it was chosen), and [`RunError`]. Which engine a
//! model gets is decided in [`crate::EngineChoice`]; the engines live in `engines/`.

use instinct_cpu::PredictError;

/// An engine ready to run one model (or, for [`crate::engines::batched::BatchedRunner`], many models of one shape).
/// `Send + Sync`: one runner serves every thread that calls it.
pub trait Runner: Send + Sync {
    /// The engine's name: `interp`, `batch`, `static`, `batched` or `gpu` (what
    /// [`crate::EngineChoice::name`] calls it; for `auto`, the engine chosen).
    fn name(&self) -> &'static str;

    /// What runs and why it was chosen, one line: `batch (asked auto): no static net for …`.
    fn describe(&self) -> String;

    /// Worker threads on the host that a large enough batch runs on (1 for the GPU: the
    /// thread that drives the device; 1 for a model without inputs, run row by row).
    fn threads(&self) -> usize;

    /// Host memory the engine runs with, in bytes: the weights in the form it reads them and
    /// its per-thread scratch (an estimate, to compare engines). The GPU's weights are on the
    /// device: 0.
    fn memory_bytes(&self) -> usize;

    /// Input values per row.
    fn feature_size(&self) -> usize;

    /// Output values per row.
    fn output_size(&self) -> usize;

    /// Runs `rows` rows: `inputs` holds `rows × feature_size` values, `outputs` receives
    /// `rows × output_size`. (The row count is explicit so that models without inputs run.)
    /// Wrong lengths are an error before anything is written.
    fn run_into(&self, rows: usize, inputs: &[f32], outputs: &mut [f32]) -> Result<(), RunError>;

    /// [`run_into`](Self::run_into) into a new vector (the inputs are checked before the
    /// outputs are allocated).
    fn run(&self, rows: usize, inputs: &[f32]) -> Result<Vec<f32>, RunError> {
        check_inputs(rows, inputs, self.feature_size())?;
        let len = rows.saturating_mul(self.output_size());
        let mut outputs = Vec::new();
        outputs
            .try_reserve_exact(len)
            .map_err(|_| RunError::OutOfMemory { values: len })?;
        outputs.resize(len, 0.0);
        self.run_into(rows, inputs, &mut outputs)?;
        Ok(outputs)
    }
}

/// Why an engine could not be made or could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The rows were refused or the model failed on them.
    #[error("prediction failed: {0}")]
    Predict(PredictError),
    /// `rows` rows need `rows × feature_size` input values.
    #[error("{rows} rows of {feature_size} values need {} input values, not {actual}", rows.saturating_mul(*feature_size))]
    InputLength {
        /// The rows asked for.
        rows: usize,
        /// Values per row.
        feature_size: usize,
        /// Values given.
        actual: usize,
    },
    /// The rows do not split evenly between the models of a [`crate::BatchedRunner`].
    #[error("{rows} rows do not split evenly between {models} models")]
    RowsPerModel {
        /// The rows given.
        rows: usize,
        /// The models of the batch.
        models: usize,
    },
    /// Zero threads were asked for (`None` asks for every core).
    #[error("0 threads: ask for at least 1, or for every core")]
    ZeroThreads,
    /// The engine asked for cannot run this model; `why` says what it needs.
    #[error("the {engine} engine does not apply: {why}")]
    NotApplicable {
        /// The engine's name.
        engine: &'static str,
        /// What it needs that the model lacks.
        why: String,
    },
    /// The engine cannot run here (no GPU adapter; built without it).
    #[error("the {engine} engine is unavailable: {why}")]
    Unavailable {
        /// The engine's name.
        engine: &'static str,
        /// Why not.
        why: String,
    },
    /// The operating system refused a worker thread (whichever engine asked for it).
    #[error("cannot start {threads} threads: {why}; ask for fewer threads")]
    ThreadSpawn {
        /// The threads asked for.
        threads: usize,
        /// What the system said.
        why: String,
    },
    /// The outputs did not fit in memory.
    #[error("not enough memory for {values} output values")]
    OutOfMemory {
        /// Values asked for.
        values: usize,
    },
    /// The engine failed while running (the GPU, the batched engine).
    #[error("prediction failed: {0}")]
    Engine(String),
}

impl RunError {
    /// `e` from an engine running on `threads` threads: a refused worker thread is
    /// [`RunError::ThreadSpawn`] whichever engine met it.
    pub(crate) fn from_predict(e: PredictError, threads: usize) -> RunError {
        match e {
            PredictError::ThreadSpawn(why) => RunError::ThreadSpawn { threads, why },
            other => RunError::Predict(other),
        }
    }
}

/// Checks that `inputs` holds `rows` rows of `feature_size` values.
pub(crate) fn check_inputs(
    rows: usize,
    inputs: &[f32],
    feature_size: usize,
) -> Result<(), RunError> {
    if rows.checked_mul(feature_size) != Some(inputs.len()) {
        return Err(RunError::InputLength {
            rows,
            feature_size,
            actual: inputs.len(),
        });
    }
    Ok(())
}

/// Checks `rows` against the lengths of `inputs` and `outputs` for `feature_size` and
/// `output_size` values a row.
pub(crate) fn check_lengths(
    rows: usize,
    inputs: &[f32],
    outputs: &[f32],
    feature_size: usize,
    output_size: usize,
) -> Result<(), RunError> {
    check_inputs(rows, inputs, feature_size)?;
    let expected = rows.saturating_mul(output_size);
    if outputs.len() != expected {
        return Err(RunError::Predict(PredictError::OutputLength {
            actual: outputs.len(),
            expected,
        }));
    }
    Ok(())
}
