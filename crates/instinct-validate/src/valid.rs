//! [`ValidModel`]: a model that passed every rule, with its layout, and [`validate`], the only
//! way to make one.

use crate::diagnostics::Diagnostics;
use crate::layout::Layout;
use crate::rules;
use instinct_format::{Limits, ModelInfo};

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
