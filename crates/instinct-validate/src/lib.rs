//! Strict validation of instmodel models: `validate(&ModelInfo, &Limits) -> Result<ValidModel,
//! Diagnostics>` reports every problem at once, each with its JSON path, and computes the memory
//! layout that executors use.
//!
//! Every rule of `instmodel_inference` is enforced, plus the cases where that crate panics or
//! computes garbage (see `docs/FORMAT.md`). A [`ValidModel`] can only be made here, so an
//! executor that takes one never sees an unchecked model.
//!
//! ```
//! use instinct_format::{Limits, ModelInfo};
//! let info = ModelInfo::from_json_str(r#"{"feature_size": 2, "buffer_sizes": [2, 1],
//!   "instructions": [{"type": "DOT", "input": 0, "output": 1, "weights": 0}],
//!   "weights": [[[0.5, -0.25, 9.0]]], "bias": [[0.1]]}"#).unwrap();
//! let problems = instinct_validate::validate(&info, &Limits::default()).unwrap_err();
//! assert_eq!(problems.0[0].path, "weights[0][0]");
//! ```

mod chain;
mod coverage;
mod dataflow;
mod diagnostics;
mod layout;
mod report;
mod rules;
mod valid;

pub use chain::{ChainLayer, ChainStep, NotAChain};
pub use diagnostics::{Diagnostic, DiagnosticKind, Diagnostics};
pub use instinct_format::Limits;
pub use layout::Layout;
pub use valid::{ValidModel, validate, validate_owned};
