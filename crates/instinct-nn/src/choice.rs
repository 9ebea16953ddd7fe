//! [`EngineChoice`], which [`Model::runner`] turns into a [`Runner`], owning the "auto"
//! policy. The command line, the conformance harness and the benches ask for engines here
//! (the conformance harness also drives the batched engine and the GPU's stepped mode
//! directly, to test what the seam does not choose).
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

use crate::engines::batched::BatchedRunner;
use crate::engines::cpu;
#[cfg(feature = "gpu")]
use crate::engines::gpu;
use crate::model::Model;
use crate::runner::{RunError, Runner};
use instinct_cpu::PredictConfig;

/// The most worker threads a caller should ask for: more is surely a mistake, and spawning them
/// could exhaust the system. The command line's `--threads` and the Python package's
/// `threads=` refuse more.
pub const MAX_THREADS: usize = 1024;

/// Which engine runs a model: the only enum that chooses one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EngineChoice {
    /// The fastest engine that applies: a static net for the shapes compiled in
    /// ([`crate::engines::cpu::STATIC_SHAPES`]), else the batch engine.
    Auto,
    /// The per-sample interpreter, rows spread over threads.
    Interpreter,
    /// The batch engine: tiles of rows, dense layers as matrix products.
    Batch,
    /// A static net compiled into this library, for the chains of dense layers of
    /// [`crate::engines::cpu::STATIC_SHAPES`].
    Static,
    /// instinct-batched's many-model engine (here the one model, its rows as the inputs of one
    /// model; [`BatchedRunner::new`] runs many).
    Batched,
    /// The GPU through wgpu (feature `gpu`): layer by layer for chains of dense layers, else
    /// one invocation per row or in steps.
    Gpu,
    /// The int8 engine: the batch engine over a quantised model's int8 layers (AVX-512 VNNI,
    /// AVX2 or portable kernels). `auto` picks it for a quantised model; an f32 model is
    /// [`RunError::NotApplicable`] (`instinct quantize` or [`Model::quantize`] make one).
    Int8,
}

impl EngineChoice {
    /// Every engine, `auto` first: what the conformance harness runs each case on.
    pub const ALL: [EngineChoice; 7] = [
        EngineChoice::Auto,
        EngineChoice::Interpreter,
        EngineChoice::Batch,
        EngineChoice::Static,
        EngineChoice::Batched,
        EngineChoice::Gpu,
        EngineChoice::Int8,
    ];

    /// The name on the command line and in reports: `auto`, `interp`, `batch`, `static`,
    /// `batched`, `gpu`, `int8`.
    pub fn name(self) -> &'static str {
        match self {
            EngineChoice::Auto => "auto",
            EngineChoice::Interpreter => "interp",
            EngineChoice::Batch => "batch",
            EngineChoice::Static => "static",
            EngineChoice::Batched => "batched",
            EngineChoice::Gpu => "gpu",
            EngineChoice::Int8 => "int8",
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
            EngineChoice::Int8 => {
                "The int8 engine for quantized models (`instinct quantize`): u8×s8 products with AVX-512 VNNI, AVX2 or portable kernels, in tiles; auto picks it for a quantized model"
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
    /// The engine `choice` for this model on `threads` worker threads (`None`: every core;
    /// `Some(0)` is [`RunError::ZeroThreads`]). `Auto` picks a static net when the model's
    /// dense chain has a compiled shape, else the batch engine, and says why in
    /// [`Runner::describe`]; a forced engine that cannot run the model is
    /// [`RunError::NotApplicable`] (or [`RunError::Unavailable`]) saying why. The runner owns
    /// what it runs (it shares the compiled model), so it can be kept, sent to threads and
    /// reused for every call.
    pub fn runner(
        &self,
        choice: EngineChoice,
        threads: Option<usize>,
    ) -> Result<Box<dyn Runner>, RunError> {
        let threads = match threads {
            Some(0) => return Err(RunError::ZeroThreads),
            Some(n) => n,
            None => PredictConfig::new().threads(),
        };
        if let Some(kernel) = self.int8_kernel() {
            return match choice {
                EngineChoice::Auto | EngineChoice::Int8 | EngineChoice::Batch => {
                    let (asked, name) = match choice {
                        EngineChoice::Auto => ("int8 (asked auto)", "int8"),
                        EngineChoice::Batch => ("batch", "batch"),
                        _ => ("int8", "int8"),
                    };
                    let why = format!(
                        "{asked}: the batch engine over the model's int8 layers ({kernel} kernel)"
                    );
                    Ok(Box::new(
                        cpu::LibraryRunner::new(self, false, threads, why).named(name),
                    ))
                }
                EngineChoice::Interpreter => Ok(Box::new(cpu::LibraryRunner::new(
                    self,
                    true,
                    threads,
                    format!("interp: the per-sample interpreter, int8 layers ({kernel} kernel)"),
                ))),
                other => Err(RunError::NotApplicable {
                    engine: other.name(),
                    why: "the model is quantized (int8 weights); this engine runs f32 weights only (auto, int8, batch and interp run it)".into(),
                }),
            };
        }
        match choice {
            EngineChoice::Int8 => Err(RunError::NotApplicable {
                engine: "int8",
                why: "the model has f32 weights: `instinct quantize` (or Model::quantize) writes an int8 model from it".into(),
            }),
            EngineChoice::Auto => Ok(
                match cpu::StaticRunner::new(self, threads, "static (asked auto)") {
                    Ok(net) => Box::new(net),
                    Err(RunError::NotApplicable { why, .. }) => Box::new(cpu::LibraryRunner::new(
                        self,
                        false,
                        threads,
                        format!("batch (asked auto): no static net: {why}"),
                    )),
                    Err(e) => return Err(e),
                },
            ),
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
            EngineChoice::Static => Ok(Box::new(cpu::StaticRunner::new(self, threads, "static")?)),
            EngineChoice::Batched => Ok(Box::new(BatchedRunner::of_model(self, threads)?)),
            EngineChoice::Gpu => gpu_runner(self),
        }
    }
}

#[cfg(feature = "gpu")]
fn gpu_runner(model: &Model) -> Result<Box<dyn Runner>, RunError> {
    Ok(Box::new(gpu::GpuRunner::new(model)?))
}

#[cfg(not(feature = "gpu"))]
fn gpu_runner(_: &Model) -> Result<Box<dyn Runner>, RunError> {
    Err(RunError::Unavailable {
        engine: "gpu",
        why: "this build of instinct has no GPU runtime (the `gpu` feature)".into(),
    })
}
