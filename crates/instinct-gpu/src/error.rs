//! `GpuError`: everything that can go wrong between choosing an adapter and reading results back,
//! each case saying what and where.

use instinct_wgsl::{BlobError, ShaderError};

/// Why the GPU runtime cannot do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GpuError {
    /// No adapter on the backends allowed.
    #[error("no GPU adapter found ({backends}): {reason}")]
    NoAdapter {
        /// The backends searched.
        backends: String,
        /// wgpu's answer.
        reason: String,
    },
    /// `INSTINCT_GPU_ADAPTER` (or the option) names no adapter present.
    #[error("no GPU adapter's name contains {wanted:?}; adapters present: {}", if available.is_empty() { "none".to_string() } else { available.join("; ") })]
    AdapterNotFound {
        /// The name asked for.
        wanted: String,
        /// Every adapter present, described.
        available: Vec<String>,
    },
    /// The adapter gave no device.
    #[error("the adapter {adapter} gave no device: {reason}")]
    Device {
        /// The adapter.
        adapter: String,
        /// wgpu's answer.
        reason: String,
    },
    /// The model has no GPU form.
    #[error("model {model}: {source}")]
    Blob {
        /// Index of the model in the upload.
        model: usize,
        /// Why.
        source: BlobError,
    },
    /// naga refused a generated shader (a bug in instinct-wgsl if it ever happens).
    #[error("model {model}: generated shader refused by naga: {source}")]
    Shader {
        /// Index of the model in the upload.
        model: usize,
        /// naga's message.
        source: ShaderError,
    },
    /// wgpu refused the shader module or the pipeline.
    #[error("model {model}: the {adapter} adapter refused the pipeline: {reason}")]
    Pipeline {
        /// Index of the model in the upload.
        model: usize,
        /// The adapter.
        adapter: String,
        /// wgpu's message.
        reason: String,
    },
    /// On a software adapter, the model needs more loop iterations per sample than the driver
    /// allows (it would silently return wrong values).
    #[error(
        "model {model}: one sample needs {needed} loop iterations; the {adapter} adapter stops every shader after {cap} (Mesa's software drivers), so it would return wrong values"
    )]
    LoopBudget {
        /// Index of the model in the upload.
        model: usize,
        /// The adapter.
        adapter: String,
        /// Iterations one sample needs in the cheapest mode.
        needed: u64,
        /// The driver's budget.
        cap: u64,
    },
    /// A model index past the upload.
    #[error("model {model} asked for; {count} uploaded")]
    NoSuchModel {
        /// The index asked for.
        model: usize,
        /// Models uploaded.
        count: usize,
    },
    /// The input is not whole samples.
    #[error(
        "model {model}: {len} input values are not a whole number of samples of {feature_size}"
    )]
    InputLength {
        /// The model.
        model: usize,
        /// Values given.
        len: usize,
        /// Values per sample.
        feature_size: usize,
    },
    /// The caller's output buffer has the wrong length.
    #[error("model {model}: output buffer of {len} values for {expected} ({samples} samples)")]
    OutputLength {
        /// The model.
        model: usize,
        /// Values given.
        len: usize,
        /// Values needed.
        expected: usize,
        /// Samples in the input.
        samples: usize,
    },
    /// A buffer beyond the device's limits.
    #[error("{what} needs {bytes} bytes; the device allows {limit}")]
    TooLarge {
        /// Which buffer.
        what: String,
        /// Bytes needed.
        bytes: u64,
        /// The limit.
        limit: u64,
    },
    /// A dispatch needs more workgroups than the device's two dimensions allow.
    #[error("a dispatch needs {workgroups} workgroups; the device allows {limit}")]
    TooManyWorkgroups {
        /// Workgroups needed.
        workgroups: u64,
        /// The most the device allows (its per-dimension limit squared).
        limit: u64,
    },
    /// The layer-by-layer engine takes chains of DOTs (with their activations) only, every
    /// model of a batch of the same sizes and activations.
    #[error("model {model} cannot run layer by layer: {why}")]
    NotAChain {
        /// The model (0 for a single one).
        model: usize,
        /// Why not.
        why: String,
    },
    /// Inputs of the wrong length for the layer-by-layer engine.
    #[error("{len} input values for {models} models × {rows} rows × {inputs} inputs")]
    DenseInputs {
        /// Values given.
        len: usize,
        /// Models.
        models: usize,
        /// Rows per model.
        rows: usize,
        /// Inputs per row.
        inputs: usize,
    },
    /// Submitting or reading back failed.
    #[error("running on the GPU failed: {0}")]
    Execution(String),
}
