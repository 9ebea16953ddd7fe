//! The CPU engines behind [`crate::runner::Runner`]: the interpreter and the batch engine (one
//! [`LibraryRunner`], per sample or tiled), and the static nets compiled into this library for
//! the shapes of [`STATIC_SHAPES`] ([`StaticRunner`], rows split over scoped threads).

use crate::model::Model;
use crate::runner::{RunError, Runner, check_lengths};
use instinct_cpu::{Mlp2, Mlp3, PredictConfig, StaticError, StaticNet};

/// The interpreter (`per_sample`) or the batch engine on a model.
pub(crate) struct LibraryRunner {
    model: Model,
    config: PredictConfig,
    reason: String,
    name: &'static str,
}

impl LibraryRunner {
    pub(crate) fn new(
        model: &Model,
        per_sample: bool,
        threads: usize,
        reason: String,
    ) -> LibraryRunner {
        LibraryRunner {
            model: model.clone(),
            config: PredictConfig::new()
                .with_per_sample(per_sample)
                .with_threads(threads),
            reason,
            name: if per_sample { "interp" } else { "batch" },
        }
    }

    /// The same runner under another name (`int8`).
    pub(crate) fn named(mut self, name: &'static str) -> LibraryRunner {
        self.name = name;
        self
    }
}

impl Runner for LibraryRunner {
    fn name(&self) -> &'static str {
        self.name
    }

    fn describe(&self) -> String {
        self.reason.clone()
    }

    fn threads(&self) -> usize {
        // A model without inputs runs row by row on the calling thread.
        if self.model.feature_size() == 0 {
            1
        } else {
            self.config.threads()
        }
    }

    fn memory_bytes(&self) -> usize {
        // Either way each thread fills a tile of samples' memories (per sample, it runs them
        // one after another).
        let scratch = self.model.interpreter().batch_scratch_bytes();
        weight_bytes(&self.model) + scratch * self.threads()
    }

    fn feature_size(&self) -> usize {
        self.model.feature_size()
    }

    fn output_size(&self) -> usize {
        self.model.output_size()
    }

    fn run_into(&self, rows: usize, inputs: &[f32], outputs: &mut [f32]) -> Result<(), RunError> {
        let (fs, os) = (self.feature_size(), self.output_size());
        check_lengths(rows, inputs, outputs, fs, os)?;
        if fs == 0 {
            // A flat batch gives no row count for a model without inputs: row by row.
            for out in outputs.chunks_mut(os.max(1)) {
                let row = self.model.predict(&[]).map_err(RunError::Predict)?;
                out.copy_from_slice(&row);
            }
            return Ok(());
        }
        self.model
            .interpreter()
            .predict_batch_into(inputs, outputs, self.config)
            .map_err(|e| RunError::from_predict(e, self.threads()))
    }
}

/// The weights and biases of the model, in bytes (int8 values one byte each, their scales
/// four).
fn weight_bytes(model: &Model) -> usize {
    let info = model.info();
    let values: usize = info.weights.iter().flatten().map(Vec::len).sum::<usize>()
        + info.bias.iter().map(Vec::len).sum::<usize>();
    let int8: usize = info
        .quantization
        .iter()
        .flat_map(|q| &q.slots)
        .map(|s| s.values.0.len() + 4 * s.scales.len())
        .sum();
    values * std::mem::size_of::<f32>() + int8
}

/// Declares the static nets compiled into this library, and the function that builds the
/// matching one for a model.
macro_rules! static_shapes {
    ($($ty:ident<$($n:literal),+>),+ $(,)?) => {
        /// The layer sizes of the static nets compiled into this library, input first (for
        /// another shape, build `instinct::Mlp2` and friends in your own code).
        pub const STATIC_SHAPES: &[&[usize]] = &[$(&[$($n),+]),+];

        /// The static net of the model's shape, if this library has one: `Err` names why not.
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

/// Whether the static engine applies to the model: `applies (2→7→1)`, or `does not apply: why`.
pub fn static_net_note(model: &Model) -> String {
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
        if let instinct_format::Instruction::Dot { output, .. } = ins {
            sizes.push(layout.sizes[*output].to_string());
        }
    }
    sizes.join("→")
}

/// A static net; rows are split evenly over scoped threads.
pub(crate) struct StaticRunner {
    net: Box<dyn StaticNet>,
    threads: usize,
    reason: String,
}

impl StaticRunner {
    /// The static net of the model's shape, or [`RunError::NotApplicable`] saying why not;
    /// `asked` is how it was asked for (`static`, or `static (asked auto)`), the start of its
    /// description.
    pub(crate) fn new(
        model: &Model,
        threads: usize,
        asked: &str,
    ) -> Result<StaticRunner, RunError> {
        match static_net(model) {
            Ok(net) => Ok(StaticRunner {
                net,
                threads,
                reason: format!(
                    "{asked}: the dense layers {} have a static net",
                    layer_sizes(model)
                ),
            }),
            Err(why) => Err(RunError::NotApplicable {
                engine: "static",
                why,
            }),
        }
    }
}

impl Runner for StaticRunner {
    fn name(&self) -> &'static str {
        "static"
    }

    fn describe(&self) -> String {
        self.reason.clone()
    }

    fn threads(&self) -> usize {
        self.threads
    }

    fn memory_bytes(&self) -> usize {
        self.net.size_bytes()
    }

    fn feature_size(&self) -> usize {
        self.net.feature_size()
    }

    fn output_size(&self) -> usize {
        self.net.output_size()
    }

    fn run_into(&self, rows: usize, inputs: &[f32], outputs: &mut [f32]) -> Result<(), RunError> {
        let (fs, os) = (self.feature_size(), self.output_size());
        check_lengths(rows, inputs, outputs, fs, os)?;
        let per_thread = rows.div_ceil(self.threads).max(1);
        if rows <= per_thread {
            return self
                .net
                .forward_rows(inputs, outputs)
                .map_err(RunError::Predict);
        }
        // `Scope::spawn` panics when the OS refuses a thread; `Builder::spawn_scoped` says so,
        // and that is an error naming the thread count.
        std::thread::scope(|scope| {
            let mut handles = Vec::new();
            for (i, o) in inputs
                .chunks(per_thread * fs)
                .zip(outputs.chunks_mut(per_thread * os))
            {
                let net = &self.net;
                let spawned = std::thread::Builder::new()
                    .spawn_scoped(scope, move || net.forward_rows(i, o))
                    .map_err(|source| RunError::ThreadSpawn {
                        threads: self.threads,
                        why: source.to_string(),
                    })?;
                handles.push(spawned);
            }
            handles.into_iter().try_for_each(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                    .map_err(RunError::Predict)
            })
        })
    }
}
