//! `TrainError`: everything training can refuse, each case naming what and where.

/// Why a tensor operation, a data set, a configuration or an export was refused.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A shape whose volume is not the number of values given (or overflows).
    #[error("a tensor of shape {shape:?} cannot hold {values} values")]
    Size {
        /// The shape.
        shape: Vec<usize>,
        /// Values given.
        values: usize,
    },
    /// Operands whose shapes do not fit the operation.
    #[error("{op}: {message}")]
    Shape {
        /// The operation.
        op: &'static str,
        /// Which shapes, and what was expected.
        message: String,
    },
    /// `backward` from a value that is not a single number.
    #[error("backward needs a single-number loss; this value has shape {shape:?}")]
    NotScalar {
        /// Its shape.
        shape: Vec<usize>,
    },
    /// A setting out of its range.
    #[error("{name} = {value}: {reason}")]
    Config {
        /// The setting.
        name: &'static str,
        /// Its value, as given.
        value: String,
        /// What it must be.
        reason: &'static str,
    },
    /// A data set that cannot be trained on.
    #[error("{0}")]
    Data(String),
    /// A file that cannot be read or written.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// What the operating system or the parser said.
        message: String,
    },
    /// The loss stopped being a finite number.
    #[error("training diverged at epoch {epoch}: the loss is {loss} (lower the learning rate)")]
    Diverged {
        /// The epoch (1-based).
        epoch: usize,
        /// The loss.
        loss: f32,
    },
    /// A network that the model format cannot express.
    #[error("cannot export: {0}")]
    Export(String),
    /// The model built does not validate.
    #[error("the exported model does not validate: {0}")]
    Invalid(String),
}
