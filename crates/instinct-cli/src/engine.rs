//! The engines `predict` and `bench` run: the library's interpreter and batch engine, and the
//! static nets (`Mlp2`, `Mlp3`) compiled into this binary for the shapes in [`STATIC_SHAPES`].

use crate::failure::{Failure, Outcome};
use anyhow::anyhow;
use clap::ValueEnum;
use instinct::{Mlp2, Mlp3, Model, PredictConfig, PredictError, StaticError, StaticNet};
use std::io::Write as _;

/// The executors `predict` and `bench` can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Engine {
    /// The per-sample interpreter, samples spread over threads.
    Interp,
    /// The batch engine: tiles of samples, dense layers as matrix products.
    Batch,
    /// A static net compiled into this binary, for chains of dense layers of the shapes
    /// 2→7→1 and 8→32→32→1 (`instinct inspect` says whether it applies), samples spread over
    /// threads.
    Static,
    /// The fastest engine that applies: static for the shapes compiled in, else batch.
    Auto,
    /// Many models of the model's architecture at once (instinct-batched); `bench` only, with
    /// `--models K` copies given seeded random weights.
    Batched,
    /// The GPU through wgpu, one invocation per sample (adapter from `WGPU_BACKEND` and
    /// `INSTINCT_GPU_ADAPTER`; the adapter used is named on stderr).
    Gpu,
}

impl Engine {
    /// The name used on the command line and in JSON reports.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Interp => "interp",
            Engine::Batch => "batch",
            Engine::Static => "static",
            Engine::Auto => "auto",
            Engine::Batched => "batched",
            Engine::Gpu => "gpu",
        }
    }
}

/// Declares the static nets this binary carries, and the function that builds the matching
/// one for a model.
macro_rules! static_shapes {
    ($($ty:ident<$($n:literal),+>),+ $(,)?) => {
        /// The layer sizes of the static nets compiled into this binary, input first.
        pub const STATIC_SHAPES: &[&[usize]] = &[$(&[$($n),+]),+];

        /// The static net of the model's shape, if this binary has one: `Err` names why not.
        fn static_net(model: &Model) -> Result<Box<dyn StaticNet>, String> {
            $(
                match $ty::<$($n),+>::from_model(model.valid()) {
                    Ok(net) => return Ok(Box::new(net)),
                    Err(e @ StaticError::NotADotChain { .. }) => return Err(e.to_string()),
                    // Another shape: try the next one.
                    Err(_) => {}
                }
            )+
            Err(format!(
                "the model's dense layers are {}; this binary has static nets for {} (in your own code, any shape works: see instinct::Mlp2)",
                layer_sizes(model),
                STATIC_SHAPES
                    .iter()
                    .map(|s| s.iter().map(usize::to_string).collect::<Vec<_>>().join("→"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        }
    };
}

static_shapes! {
    Mlp2<2, 7, 1>,
    Mlp3<8, 32, 32, 1>,
}

/// Whether `--engine static` applies to the model: `applies (2→7→1)`, or `does not apply: why`.
pub fn static_engine_note(model: &Model) -> String {
    match static_net(model) {
        Ok(_) => format!("applies ({})", layer_sizes(model)),
        Err(why) => format!("does not apply: {why}"),
    }
}

/// The sizes along the model's chain of DOTs, for messages ("8→32→1").
fn layer_sizes(model: &Model) -> String {
    let info = model.valid().info();
    let layout = model.valid().layout();
    let mut sizes = vec![layout.feature_size.to_string()];
    for ins in &info.instructions {
        if let instinct::Instruction::Dot { output, .. } = ins {
            sizes.push(layout.sizes[*output].to_string());
        }
    }
    sizes.join("→")
}

/// An engine chosen for one model, ready to run batches.
pub enum Runner<'m> {
    /// The library's engines, through `predict_batch_into`.
    Library {
        /// The model.
        model: &'m Model,
        /// Engine and threads.
        config: PredictConfig,
        /// The engine's name.
        name: &'static str,
    },
    /// A static net; rows are split evenly over `threads` scoped threads.
    Static {
        /// The net.
        net: Box<dyn StaticNet>,
        /// Worker threads.
        threads: usize,
    },
    /// The model uploaded to a GPU.
    Gpu {
        /// The uploaded model.
        run: GpuRun,
        /// Values per sample in and out.
        sizes: (usize, usize),
    },
}

impl<'m> Runner<'m> {
    /// The runner for `engine` on `model` with an optional thread count (default: all cores).
    /// `--engine static` on a model it does not apply to is an error naming why (exit 1).
    pub fn new(model: &'m Model, threads: Option<usize>, engine: Engine) -> Outcome<Runner<'m>> {
        let config = |e: instinct::Engine| {
            let c = PredictConfig::new().with_engine(e);
            threads.map_or(c, |n| c.with_threads(n))
        };
        let threads_or_all = config(instinct::Engine::Batch).threads();
        let library = |e, name| Runner::Library {
            model,
            config: config(e),
            name,
        };
        Ok(match engine {
            Engine::Interp => library(instinct::Engine::PerSample, "interp"),
            Engine::Batch => library(instinct::Engine::Batch, "batch"),
            Engine::Static => match static_net(model) {
                Ok(net) => Runner::Static {
                    net,
                    threads: threads_or_all,
                },
                Err(why) => {
                    return Err(Failure::invalid(anyhow!(
                        "--engine static does not apply: {why}"
                    )));
                }
            },
            Engine::Auto => match static_net(model) {
                Ok(net) => Runner::Static {
                    net,
                    threads: threads_or_all,
                },
                Err(_) => library(instinct::Engine::Batch, "batch"),
            },
            Engine::Gpu => {
                let gpu = instinct::gpu::GpuRuntime::new()
                    .map_err(|e| Failure::invalid(anyhow!("--engine gpu: {e}")))?;
                // A chain of DOTs runs layer by layer (one dispatch per layer over all samples);
                // any other model one invocation per sample, or in steps when one sample would
                // pass Mesa's loop budget.
                let (run, how) = match instinct::gpu::GpuDenseNet::from_model(&gpu, model.valid()) {
                    Ok(net) => (GpuRun::Layers(net), "layer by layer".to_string()),
                    Err(_) => {
                        let models = gpu
                            .load(model.valid())
                            .map_err(|e| Failure::invalid(anyhow!("--engine gpu: {e}")))?;
                        let how = match models.engine(0) {
                            Some(instinct::gpu::Engine::PerSample(mode)) => {
                                format!("one invocation per sample, {mode:?} shader")
                            }
                            _ => "stepped: one dispatch per instruction step over all samples"
                                .to_string(),
                        };
                        (GpuRun::Uploaded(models), how)
                    }
                };
                let _ = writeln!(std::io::stderr(), "gpu: {} ({how})", gpu.description());
                Runner::Gpu {
                    run,
                    sizes: (model.feature_size(), model.output_size()),
                }
            }
            Engine::Batched => {
                return Err(Failure::invalid(anyhow!(
                    "--engine batched runs many models of one architecture at once; time it with `instinct bench MODEL --engine batched --models K`"
                )));
            }
        })
    }

    /// The engine that runs (for `auto`, the one it chose).
    pub fn name(&self) -> &'static str {
        match self {
            Runner::Library { name, .. } => name,
            Runner::Static { .. } => "static",
            Runner::Gpu { .. } => "gpu",
        }
    }

    /// Worker threads.
    pub fn threads(&self) -> usize {
        match self {
            Runner::Library { config, .. } => config.threads(),
            Runner::Static { threads, .. } => *threads,
            // The host thread that drives the device.
            Runner::Gpu { .. } => 1,
        }
    }

    /// Runs `rows` samples (`inputs` holds `rows × feature_size` values) and returns their
    /// outputs, `rows × output_size` values.
    pub fn run(&self, inputs: &[f32], rows: usize) -> Outcome<Vec<f32>> {
        let output_size = match self {
            Runner::Library { model, .. } => model.output_size(),
            Runner::Static { net, .. } => net.output_size(),
            Runner::Gpu { sizes, .. } => sizes.1,
        };
        if let Runner::Library { model, .. } = self
            && model.feature_size() == 0
        {
            // A flat batch gives no sample count for a model without inputs, so such a model
            // runs one sample at a time.
            let mut values = Vec::with_capacity(rows.saturating_mul(output_size));
            for _ in 0..rows {
                values.extend(model.predict(&[]).map_err(failed)?);
            }
            return Ok(values);
        }
        let mut outputs = vec![0.0f32; rows * output_size];
        self.run_into(inputs, &mut outputs)?;
        Ok(outputs)
    }

    /// Runs whole rows of `inputs` into `outputs` (no allocation but the threads' stacks).
    pub fn run_into(&self, inputs: &[f32], outputs: &mut [f32]) -> Outcome {
        match self {
            Runner::Library { model, config, .. } => model
                .interpreter()
                .predict_batch_into(inputs, outputs, *config)
                .map_err(failed),
            Runner::Static { net, threads } => {
                let (fs, os) = (net.feature_size(), net.output_size());
                if !inputs.len().is_multiple_of(fs) {
                    return Err(failed(PredictError::RaggedBatch {
                        actual: inputs.len(),
                        feature_size: fs,
                    }));
                }
                let rows = inputs.len() / fs;
                if outputs.len() != rows * os {
                    return Err(failed(PredictError::OutputLength {
                        actual: outputs.len(),
                        expected: rows * os,
                    }));
                }
                let per_thread = rows.div_ceil((*threads).max(1)).max(1);
                if rows <= per_thread {
                    return net.forward_rows(inputs, outputs).map_err(failed);
                }
                // `Scope::spawn` panics when the OS refuses a thread; `Builder::spawn_scoped`
                // says so, and that is an error naming the thread count.
                std::thread::scope(|scope| {
                    let mut handles = Vec::new();
                    for (i, o) in inputs
                        .chunks(per_thread * fs)
                        .zip(outputs.chunks_mut(per_thread * os))
                    {
                        let spawned = std::thread::Builder::new()
                            .spawn_scoped(scope, || net.forward_rows(i, o))
                            .map_err(|e| {
                                Failure::unreadable(anyhow!(
                                    "cannot start {threads} threads: {e}; ask for fewer with --threads"
                                ))
                            })?;
                        handles.push(spawned);
                    }
                    handles.into_iter().try_for_each(|h| {
                        h.join()
                            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                            .map_err(failed)
                    })
                })
            }
            Runner::Gpu { run, sizes } => {
                if sizes.0 == 0 {
                    return Err(Failure::invalid(anyhow!(
                        "--engine gpu: a model without inputs gives no sample count; use another engine"
                    )));
                }
                let failed = |e: instinct::gpu::GpuError| {
                    Failure::invalid(anyhow!("prediction failed: {e}"))
                };
                match run {
                    GpuRun::Uploaded(models) => models
                        .predict_batch_into(0, inputs, outputs)
                        .map_err(failed),
                    GpuRun::Layers(net) => {
                        let values = net.predict_batch(inputs).map_err(failed)?;
                        if values.len() != outputs.len() {
                            return Err(Failure::invalid(anyhow!(
                                "prediction failed: {} output values for a buffer of {}",
                                values.len(),
                                outputs.len()
                            )));
                        }
                        outputs.copy_from_slice(&values);
                        Ok(())
                    }
                }
            }
        }
    }
}

/// How the GPU engine runs a model.
pub enum GpuRun {
    /// Uploaded models (any model): one invocation per sample, or the stepped engine.
    Uploaded(instinct::gpu::GpuModels),
    /// One dispatch per layer (chains of DOTs).
    Layers(instinct::gpu::GpuDenseNet),
}

fn failed(e: PredictError) -> Failure {
    Failure::invalid(anyhow!("prediction failed: {e}"))
}
