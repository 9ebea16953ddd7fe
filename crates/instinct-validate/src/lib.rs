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
mod rules;

pub use chain::{ChainLayer, ChainStep, NotAChain};
pub use diagnostics::{Diagnostic, DiagnosticKind, Diagnostics};
pub use instinct_format::Limits;
pub use layout::Layout;

use instinct_format::ModelInfo;

/// A model that passed every structural check, with its memory layout. Only [`validate`] makes
/// one. (Whether the model reproduces its own `validation_data` needs an executor; the facade
/// `instinct::Model` checks that on load.)
#[derive(Debug, Clone)]
pub struct ValidModel {
    info: ModelInfo,
    layout: Layout,
}

impl ValidModel {
    /// The model description.
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// Buffer offsets, input and output spans.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Gives the description back.
    pub fn into_info(self) -> ModelInfo {
        self.info
    }

    /// The entries of map `index` with their integer keys, in file order. Keys are known to be
    /// valid 32-bit integers and distinct.
    pub fn map_entries(&self, index: usize) -> Vec<(i32, &[f32])> {
        self.info.maps().get(index).map_or_else(Vec::new, |m| {
            m.entries
                .iter()
                .filter_map(|(k, v)| k.parse::<i32>().ok().map(|k| (k, v.as_slice())))
                .collect()
        })
    }
}

/// Checks a model against every rule and returns it with its layout, or every problem found.
pub fn validate(info: &ModelInfo, limits: &Limits) -> Result<ValidModel, Diagnostics> {
    let mut problems = Vec::new();
    let layout = rules::check(info, limits, &mut problems);
    match layout {
        Some(layout) if problems.is_empty() => Ok(ValidModel {
            info: info.clone(),
            layout,
        }),
        _ => Err(Diagnostics(problems)),
    }
}

/// Like [`validate`], taking the description by value (no copy of the weights).
pub fn validate_owned(info: ModelInfo, limits: &Limits) -> Result<ValidModel, Diagnostics> {
    let mut problems = Vec::new();
    let layout = rules::check(&info, limits, &mut problems);
    match layout {
        Some(layout) if problems.is_empty() => Ok(ValidModel { info, layout }),
        _ => Err(Diagnostics(problems)),
    }
}
