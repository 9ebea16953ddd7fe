//! Errors of this crate: a blob that cannot be made or read (`BlobError`), a shader that naga
//! refuses or cannot translate (`ShaderError`).

/// Why a model has no blob, or why a blob given to [`crate::blob::GpuModel::from_words`] is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlobError {
    /// The model's buffers need more than the GPU form allows per sample.
    #[error(
        "the model needs a compute buffer of {required} values per sample; the GPU form allows at most {max}"
    )]
    ComputeBufferTooLarge {
        /// Values needed.
        required: usize,
        /// The limit.
        max: usize,
    },
    /// The model's DOTs run int8 weights (the `quantization` extension), which the GPU forms do
    /// not carry.
    #[error("the model is quantized (int8 weights); the GPU shaders run f32 models only")]
    Quantized,
    /// A position would not fit a 32-bit word.
    #[error("the blob would need {words} words, more than 32-bit offsets can address")]
    TooLarge {
        /// Words needed.
        words: usize,
    },
    /// A blob from elsewhere whose instruction reads positions it also writes, other than each
    /// element its own: the per-sample shaders run it in order, the stepped engine (all elements
    /// at once) cannot. Validated models never do this.
    #[error(
        "instruction {instruction} ({opcode}) reads {read} while writing {written}: the stepped engine runs its elements at once and cannot order them"
    )]
    Overlapping {
        /// Index of the instruction.
        instruction: usize,
        /// Its opcode's name.
        opcode: String,
        /// The range read, as compute-buffer positions.
        read: String,
        /// The range written.
        written: String,
    },
    /// A blob read from elsewhere is inconsistent.
    #[error("malformed blob: {place}: {reason}")]
    Malformed {
        /// Where: `header word 4`, `instruction 3 (DOT)`.
        place: String,
        /// What is wrong.
        reason: String,
    },
}

/// A shader that naga does not accept, or cannot write in the target language.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShaderError {
    /// The source does not parse; the message shows the line and column.
    #[error("WGSL does not parse:\n{0}")]
    Parse(String),
    /// The source parses but is not valid (types, bindings, uniformity); the message shows where.
    #[error("WGSL is not valid:\n{0}")]
    Invalid(String),
    /// naga's back end for `target` failed.
    #[error("translation to {target} failed: {message}")]
    Translate {
        /// The target language.
        target: &'static str,
        /// naga's message.
        message: String,
    },
}
