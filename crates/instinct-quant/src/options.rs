//! What the quantiser can be asked for, and why it can refuse.

use instinct_format::ActivationMode;
use instinct_validate::Diagnostics;

/// How a static input range is chosen from the calibration values of a layer's input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RangeMethod {
    /// The smallest and largest value seen (always containing 0).
    MinMax,
    /// The given percentile of the values at the top and its mirror at the bottom (for
    /// example 99.99: the top and bottom 0.01% are clamped), always containing 0.
    Percentile(f64),
}

impl RangeMethod {
    /// `minmax` or `percentile`.
    pub fn name(self) -> &'static str {
        match self {
            RangeMethod::MinMax => "minmax",
            RangeMethod::Percentile(_) => "percentile",
        }
    }
}

/// Options of [`crate::quantize`].
#[derive(Debug, Clone, PartialEq)]
pub struct QuantizeOptions {
    /// Dynamic (each row's own range at run time; the default) or static (a range per layer
    /// from the calibration rows).
    pub activations: ActivationMode,
    /// How static ranges are chosen (ignored for dynamic).
    pub method: RangeMethod,
    /// A layer whose own relative error (RMS of int8 − f32 over RMS of f32, on its outputs
    /// before the activation, over the calibration inputs it sees) exceeds this stays f32.
    /// Default 0.05.
    pub max_layer_error: f64,
    /// Calibration rows used at most (the first ones). Default 10,000.
    pub max_rows: usize,
}

impl Default for QuantizeOptions {
    fn default() -> Self {
        QuantizeOptions {
            activations: ActivationMode::Dynamic,
            method: RangeMethod::MinMax,
            max_layer_error: 0.05,
            max_rows: 10_000,
        }
    }
}

/// Why a model could not be quantised.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QuantizeError {
    /// The model is quantised already.
    #[error("the model is quantized already")]
    AlreadyQuantized,
    /// No calibration rows were given.
    #[error("no calibration rows: quantizing needs rows of the model's inputs")]
    NoRows,
    /// The calibration values are not whole rows.
    #[error("{values} calibration values are not whole rows of {feature_size}")]
    RaggedRows {
        /// Values given.
        values: usize,
        /// The model's feature size.
        feature_size: usize,
    },
    /// A calibration value is NaN or infinite.
    #[error("calibration row {row}, feature {feature}: {value} is not a finite number")]
    NonFinite {
        /// Row index.
        row: usize,
        /// Feature index.
        feature: usize,
        /// The value.
        value: f32,
    },
    /// A percentile outside (50, 100].
    #[error("percentile {0} is not in (50, 100]")]
    BadPercentile(f64),
    /// No DOT could be quantised (none, or every one out of bounds).
    #[error("nothing was quantized: {0}")]
    NothingQuantized(String),
    /// The quantised model failed validation (a bug: please report it).
    #[error("the quantized model is not valid: {0}")]
    Invalid(Diagnostics),
    /// Running the model failed.
    #[error(transparent)]
    Predict(#[from] instinct_cpu::PredictError),
}
