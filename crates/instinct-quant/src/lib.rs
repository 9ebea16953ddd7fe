//! int8 quantisation of instinct models: each DOT's weights become `s8` with one scale per
//! output, its inputs are quantised to `u8` per row at run time (dynamic) or with a range
//! calibrated here (static), and the quantised model is measured against the f32 model on the
//! calibration rows. Layers whose own error is out of bounds stay f32, with a note.
//!
//! ```
//! use instinct_format::{Activation, Limits, ModelBuilder};
//! use instinct_quant::{QuantizeOptions, quantize};
//! let info = ModelBuilder::with_features(["a", "b"])
//!     .dense(vec![vec![0.5, -0.25], vec![1.0, 0.75]], vec![0.1, 0.0], Some(Activation::Relu))
//!     .dense(vec![vec![1.0, -1.0]], vec![0.0], None)
//!     .build()?;
//! let model = instinct_validate::validate(&info, &Limits::default())?;
//! let rows: Vec<f32> = (0..200).map(|i| (i as f32 * 0.37).sin()).collect(); // 100 rows of 2
//! let (quantized, report) = quantize(&model, &rows, &QuantizeOptions::default())?;
//! assert_eq!(report.quantized_slots(), 2);
//! assert!(report.expected.max_abs[0] < 0.02);
//! let q = quantized.quantization.as_ref().unwrap();
//! assert_eq!(q.slots.len(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod calibrate;
mod options;
mod quantize;
mod validation;

pub use options::{QuantizeError, QuantizeOptions, RangeMethod};
pub use quantize::{LayerReport, QuantizeReport, quantize};
