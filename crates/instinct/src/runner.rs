//! The engine seam: [`Runner`], what every engine implements (rows in, outputs into a slice;
//! what it is, its threads, its memory, why it was chosen), and [`EngineChoice`], which
//! [`Model::runner`] turns into one, owning the "auto" policy. The command line, the
//! conformance harness, the benches and the bindings ask for engines here and nowhere else.
//!
//! ```
//! use instinct::{EngineChoice, Model};
//! let model = Model::from_json_str(r#"{
//!     "feature_size": 2, "buffer_sizes": [2, 1],
//!     "instructions": [{"type": "DOT", "input": 0, "output": 1, "weights": 0}],
//!     "weights": [[[1.0, 2.0]]], "bias": [[0.5]]
//! }"#)?;
//! let runner = model.runner(EngineChoice::Auto, Some(1))?;
//! let mut out = [0.0f32; 2];
//! runner.run_into(2, &[1.0, 1.0, 0.0, -1.0], &mut out)?;
//! assert_eq!(out, [3.5, -1.5]);
//! println!("{}", runner.describe()); // batch (asked auto): ...
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod batched;
mod cpu;
#[cfg(feature = "gpu")]
mod gpu;

pub use batched::BatchedRunner;
pub use cpu::{STATIC_SHAPES, static_net_note};

use crate::{Model, PredictError};

/// An engine ready to run one model (or, for [`BatchedRunner`], many models of one shape).
/// `Send + Sync`: one runner serves every thread that calls it.
pub trait Runner: Send + Sync {
    /// The engine's name: `interp`, `batch`, `static`, `batched` or `gpu` (what
    /// [`EngineChoice::name`] calls it; for `auto`, the engine chosen).
    fn name(&self) -> &'static str;

    /// What runs and why it was chosen, one line: `batch (asked auto): no static net for …`.
    fn describe(&self) -> String;

    /// Worker threads on the host (1 for the GPU: the thread that drives the device).
    fn threads(&self) -> usize;

    /// Host memory the engine holds besides the model description, in bytes (its own copy of
    /// the weights, per-thread scratch; an estimate, to compare engines). The GPU's weights are
    /// on the device: 0.
    fn memory_bytes(&self) -> usize;

    /// Input values per row.
    fn feature_size(&self) -> usize;

    /// Output values per row.
    fn output_size(&self) -> usize;

    /// Runs `rows` rows: `inputs` holds `rows × feature_size` values, `outputs` receives
    /// `rows × output_size`. (The row count is explicit so that models without inputs run.)
    fn run_into(&self, rows: usize, inputs: &[f32], outputs: &mut [f32]) -> Result<(), RunError>;

    /// [`run_into`](Self::run_into) into a new vector.
    fn run(&self, rows: usize, inputs: &[f32]) -> Result<Vec<f32>, RunError> {
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
    Predict(#[from] PredictError),
    /// The engine asked for cannot run this model; `why` says what it needs.
    #[error("--engine {engine} does not apply: {why}")]
    NotApplicable {
        /// The engine's name.
        engine: &'static str,
        /// What it needs that the model lacks.
        why: String,
    },
    /// The engine cannot run here (no GPU adapter; built without it).
    #[error("--engine {engine}: {why}")]
    Unavailable {
        /// The engine's name.
        engine: &'static str,
        /// Why not.
        why: String,
    },
    /// The operating system refused a worker thread.
    #[error("cannot start {threads} threads: {source}; ask for fewer threads")]
    ThreadSpawn {
        /// The threads asked for.
        threads: usize,
        /// What the system said.
        source: std::io::Error,
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

/// Which engine runs a model: the only enum that chooses one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EngineChoice {
    /// The fastest engine that applies: a static net for the shapes compiled in
    /// ([`STATIC_SHAPES`]), else the batch engine.
    Auto,
    /// The per-sample interpreter, rows spread over threads.
    Interpreter,
    /// The batch engine: tiles of rows, dense layers as matrix products.
    Batch,
    /// A static net compiled into this library, for the chains of dense layers of
    /// [`STATIC_SHAPES`].
    Static,
    /// instinct-batched's many-model engine (here the one model, its rows as the inputs of one
    /// model; [`BatchedRunner::new`] runs many).
    Batched,
    /// The GPU through wgpu (feature `gpu`): layer by layer for chains of dense layers, else
    /// one invocation per row or in steps.
    Gpu,
}

impl EngineChoice {
    /// Every engine, `auto` first: what the conformance harness runs each case on.
    pub const ALL: [EngineChoice; 6] = [
        EngineChoice::Auto,
        EngineChoice::Interpreter,
        EngineChoice::Batch,
        EngineChoice::Static,
        EngineChoice::Batched,
        EngineChoice::Gpu,
    ];

    /// The name on the command line and in reports: `auto`, `interp`, `batch`, `static`,
    /// `batched`, `gpu`.
    pub fn name(self) -> &'static str {
        match self {
            EngineChoice::Auto => "auto",
            EngineChoice::Interpreter => "interp",
            EngineChoice::Batch => "batch",
            EngineChoice::Static => "static",
            EngineChoice::Batched => "batched",
            EngineChoice::Gpu => "gpu",
        }
    }

    /// One line on what the engine is, for help texts.
    pub fn help(self) -> &'static str {
        match self {
            EngineChoice::Auto => {
                "The fastest engine that applies: a static net for the shapes compiled in, else batch"
            }
            EngineChoice::Interpreter => "The per-sample interpreter, samples spread over threads",
            EngineChoice::Batch => {
                "The batch engine: tiles of samples, dense layers as matrix products"
            }
            EngineChoice::Static => {
                "A static net compiled into this binary, for chains of dense layers of the shapes 2→7→1 and 8→32→32→1 (`instinct inspect` says whether it applies), samples spread over threads"
            }
            EngineChoice::Batched => {
                "Many models of one architecture at once (instinct-batched); on the command line `bench` only, with `--models K` copies given seeded random weights"
            }
            EngineChoice::Gpu => {
                "The GPU through wgpu: layer by layer for chains of dense layers, else one invocation per sample (adapter from `WGPU_BACKEND` and `INSTINCT_GPU_ADAPTER`; named on stderr)"
            }
        }
    }
}

impl std::fmt::Display for EngineChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for EngineChoice {
    type Err = String;
    /// A name of [`EngineChoice::name`], or `interpreter` for `interp`.
    fn from_str(s: &str) -> Result<EngineChoice, String> {
        if s == "interpreter" {
            return Ok(EngineChoice::Interpreter);
        }
        EngineChoice::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = EngineChoice::ALL.iter().map(|c| c.name()).collect();
                format!("unknown engine {s:?}: one of {}", names.join(", "))
            })
    }
}

impl Model {
    /// The engine `choice` for this model on `threads` worker threads (`None`: every core).
    /// `Auto` picks a static net when the model's dense chain has a compiled shape, else the
    /// batch engine, and says why in [`Runner::describe`]; a forced engine that cannot run the
    /// model is [`RunError::NotApplicable`] (or [`RunError::Unavailable`]) saying why.
    pub fn runner(
        &self,
        choice: EngineChoice,
        threads: Option<usize>,
    ) -> Result<Box<dyn Runner + '_>, RunError> {
        let threads = threads.unwrap_or_else(|| crate::PredictConfig::new().threads());
        match choice {
            EngineChoice::Auto => Ok(match cpu::StaticRunner::new(self, threads) {
                Ok(mut net) => {
                    net.reason = format!("static (asked auto): {}", net.reason);
                    Box::new(net)
                }
                Err(RunError::NotApplicable { why, .. }) => Box::new(cpu::LibraryRunner::new(
                    self,
                    false,
                    threads,
                    format!("batch (asked auto): no static net: {why}"),
                )),
                Err(e) => return Err(e),
            }),
            EngineChoice::Interpreter => Ok(Box::new(cpu::LibraryRunner::new(
                self,
                true,
                threads,
                "interp: the per-sample interpreter".into(),
            ))),
            EngineChoice::Batch => Ok(Box::new(cpu::LibraryRunner::new(
                self,
                false,
                threads,
                "batch: the tiled batch engine".into(),
            ))),
            EngineChoice::Static => Ok(Box::new(cpu::StaticRunner::new(self, threads)?)),
            EngineChoice::Batched => Ok(Box::new(BatchedRunner::of_model(self, threads)?)),
            EngineChoice::Gpu => gpu_runner(self),
        }
    }
}

#[cfg(feature = "gpu")]
fn gpu_runner(model: &Model) -> Result<Box<dyn Runner + '_>, RunError> {
    Ok(Box::new(gpu::GpuRunner::new(model)?))
}

#[cfg(not(feature = "gpu"))]
fn gpu_runner(_: &Model) -> Result<Box<dyn Runner + '_>, RunError> {
    Err(RunError::Unavailable {
        engine: "gpu",
        why: "this build of instinct has no GPU runtime (the `gpu` feature)".into(),
    })
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
    if rows.checked_mul(feature_size) != Some(inputs.len()) {
        return Err(RunError::Predict(PredictError::RaggedBatch {
            actual: inputs.len(),
            feature_size,
        }));
    }
    let expected = rows.saturating_mul(output_size);
    if outputs.len() != expected {
        return Err(RunError::Predict(PredictError::OutputLength {
            actual: outputs.len(),
            expected,
        }));
    }
    Ok(())
}
