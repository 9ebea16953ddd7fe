//! `PredictError`: wrong sizes and settings passed to a prediction call.

/// A prediction call got arguments of the wrong size or an impossible setting. The model itself
/// is valid by construction, so these are all caller errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PredictError {
    /// The input has the wrong number of values.
    #[error("input has {actual} values, the model takes {expected}")]
    InputLength {
        /// Values given.
        actual: usize,
        /// The model's feature size.
        expected: usize,
    },
    /// A batch of inputs is not a whole number of samples.
    #[error("{actual} input values are not a whole number of samples of {feature_size}")]
    RaggedBatch {
        /// Values given.
        actual: usize,
        /// The model's feature size.
        feature_size: usize,
    },
    /// A model without inputs cannot infer a sample count from a flat batch.
    #[error("the model takes no input values, so a flat batch has no sample count")]
    NoFeatures,
    /// The caller's unified memory is smaller than the model needs.
    #[error("memory has {actual} values, the model needs {required}")]
    MemoryTooSmall {
        /// Values given.
        actual: usize,
        /// `required_memory()`.
        required: usize,
    },
    /// The caller's output slice has the wrong length.
    #[error("output slice has {actual} values, expected {expected}")]
    OutputLength {
        /// Values given.
        actual: usize,
        /// Values needed.
        expected: usize,
    },
    /// An output index past the output size.
    #[error("output index {index} is past the output size {size}")]
    OutputIndex {
        /// Index asked for.
        index: usize,
        /// Output size.
        size: usize,
    },
    /// A thread count of 0.
    #[error("thread count must be at least 1")]
    ZeroThreads,
    /// A result slice that is empty, reversed or past the model's memory.
    #[error(
        "result slice {start}..{end} is not a non-empty range inside the model's {memory} values"
    )]
    SliceRange {
        /// Start (absolute index in the unified memory).
        start: usize,
        /// End (exclusive).
        end: usize,
        /// `required_memory()`.
        memory: usize,
    },
    /// The results would not fit in memory.
    #[error("{samples} samples × {width} values per sample do not fit in memory")]
    OutputTooLarge {
        /// Number of samples.
        samples: usize,
        /// Values kept per sample.
        width: usize,
    },
    /// The operating system refused to start a worker thread.
    #[error("cannot start a worker thread: {0}")]
    ThreadSpawn(String),
    /// A sample index past the number of samples.
    #[error("sample {index} does not exist ({samples} samples)")]
    SampleIndex {
        /// Index asked for.
        index: usize,
        /// Number of samples.
        samples: usize,
    },
}
