//! `BatchedError`: everything that can go wrong building, loading or running a batch of models.

/// Why an architecture, a load or a forward pass was refused. Every variant names the model,
/// layer or value concerned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchedError {
    /// The architecture has no layers.
    #[error("the architecture has no layers")]
    NoLayers,
    /// A layer has zero inputs or outputs.
    #[error("layer {layer} has {inputs} inputs and {outputs} outputs; both must be at least 1")]
    EmptyLayer {
        /// Layer index.
        layer: usize,
        /// Its input size.
        inputs: usize,
        /// Its output size.
        outputs: usize,
    },
    /// A layer's input size differs from the previous layer's output size.
    #[error("layer {layer} takes {inputs} inputs but layer {} gives {previous_outputs}", layer - 1)]
    Disconnected {
        /// Layer index.
        layer: usize,
        /// Its input size.
        inputs: usize,
        /// The previous layer's output size.
        previous_outputs: usize,
    },
    /// A batch needs at least one model.
    #[error("a batch needs at least one model")]
    NoModels,
    /// The weights of all models would not fit the limit (or overflow `usize`).
    #[error("{models} models of this architecture need more than {max} weight values")]
    TooLarge {
        /// Models asked for.
        models: usize,
        /// The most weight values a batch may hold.
        max: usize,
    },
    /// A model index past the batch.
    #[error("model {model} does not exist: the batch has {models} models")]
    ModelIndex {
        /// The index given.
        model: usize,
        /// Models in the batch.
        models: usize,
    },
    /// A load map lacks a layer.
    #[error("model {model}: no \"layer_{layer}\" in the map")]
    MissingLayer {
        /// Model index.
        model: usize,
        /// Layer index.
        layer: usize,
    },
    /// A load map has a key that is not `layer_<N>` for a layer of the architecture.
    #[error(
        "model {model}: key {key:?} is not a layer of the architecture (\"layer_0\" to \"layer_{}\")",
        layers - 1
    )]
    UnknownKey {
        /// Model index.
        model: usize,
        /// The key.
        key: String,
        /// Layers in the architecture.
        layers: usize,
    },
    /// A layer's values have the wrong count.
    #[error("model {model}, layer {layer}: {actual} {what} values, expected {expected}")]
    Length {
        /// Model index.
        model: usize,
        /// Layer index.
        layer: usize,
        /// "weight" or "bias".
        what: &'static str,
        /// Values given.
        actual: usize,
        /// Values the layer has.
        expected: usize,
    },
    /// A weight or bias is NaN or infinite.
    #[error("model {model}, layer {layer}: {what} value {index} is {value}")]
    NonFinite {
        /// Model index.
        model: usize,
        /// Layer index.
        layer: usize,
        /// "weight" or "bias".
        what: &'static str,
        /// Index in the row-major values.
        index: usize,
        /// The value (NaN or ±inf), as text.
        value: String,
    },
    /// A forward pass over a batch with a model whose weights were never loaded.
    #[error(
        "model {model} has no weights: load them (load_weights, load_model) before a forward pass"
    )]
    NotLoaded {
        /// The first such model.
        model: usize,
    },
    /// The inputs do not hold the expected count.
    #[error("{actual} input values, expected {expected} ({models} models × {per_model} per model)")]
    InputLength {
        /// Values given.
        actual: usize,
        /// Values expected.
        expected: usize,
        /// Models in the batch.
        models: usize,
        /// Values per model.
        per_model: usize,
    },
    /// The output buffer does not hold the expected count.
    #[error("output buffer of {actual} values, expected {expected}")]
    OutputLength {
        /// Values given.
        actual: usize,
        /// Values expected.
        expected: usize,
    },
    /// `k` inputs per model would need more values than memory can index.
    #[error("{k} inputs per model need more values than fit in memory")]
    TooManyInputs {
        /// Inputs per model asked for.
        k: usize,
    },
    /// The outputs `forward`/`forward_many` would allocate exceed the limit.
    #[error(
        "the outputs would be {values} values, more than {max}; use forward_many_into with a buffer of your own"
    )]
    OutputTooLarge {
        /// Output values needed.
        values: usize,
        /// The most `forward`/`forward_many` allocate.
        max: usize,
    },
    /// `forward_many` with zero inputs per model.
    #[error("forward_many needs at least one input per model")]
    NoInputs,
    /// A format model is not a chain of DOTs.
    #[error("model {model}: {reason}")]
    NotADotChain {
        /// Index in the list given.
        model: usize,
        /// The instruction that breaks the chain.
        reason: String,
    },
    /// A format model's layer differs from the architecture.
    #[error("model {model}, layer {layer}: {actual}, but the batch's architecture has {expected}")]
    ArchitectureMismatch {
        /// Index in the list given.
        model: usize,
        /// Layer index (the layer count, when the counts differ).
        layer: usize,
        /// What the model has.
        actual: String,
        /// What the architecture has.
        expected: String,
    },
    /// Zero threads were asked for.
    #[error("thread count must be at least 1")]
    ZeroThreads,
    /// The thread pool could not be built.
    #[error("could not start worker threads: {0}")]
    ThreadSpawn(String),
}
