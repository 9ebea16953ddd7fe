//! `instinct validate`: load a model with every check and print a summary, or every diagnostic.

use crate::failure::{Failure, Outcome, describe_format_error, print_stdout, to_json_text};
use crate::inspect::Summary;
use anyhow::anyhow;
use instinct::{Diagnostics, LoadError, Model};
use serde::Serialize;
use std::path::Path;

#[derive(Debug, Serialize)]
struct ValidReport {
    valid: bool,
    #[serde(flatten)]
    summary: Summary,
}

#[derive(Debug, Serialize)]
struct InvalidReport<'a> {
    valid: bool,
    diagnostics: &'a Diagnostics,
}

#[derive(Debug, Serialize)]
struct UnreadableReport<'a> {
    valid: bool,
    error: &'a str,
}

/// Runs `instinct validate`. `Model::load` is the check: besides the structural rules it runs
/// the model's own `validation_data`, and a mismatch there is reported as a diagnostic too.
pub fn run(path: &Path, json: bool) -> Outcome {
    match Model::load(path) {
        Ok(model) => {
            let summary = Summary::of(&model);
            if json {
                print_stdout(&to_json_text(&ValidReport {
                    valid: true,
                    summary,
                })?)
            } else {
                print_stdout(&format!(
                    "{}: valid model\n{}",
                    path.display(),
                    summary.to_text()
                ))
            }
        }
        Err(LoadError::Invalid(diagnostics)) => {
            if json {
                print_stdout(&to_json_text(&InvalidReport {
                    valid: false,
                    diagnostics: &diagnostics,
                })?)?;
                // The details are on stdout already; stderr only says what happened.
                let n = diagnostics.len();
                Err(Failure::invalid(anyhow!(
                    "{} is not a valid model ({n} problem{})",
                    path.display(),
                    if n == 1 { "" } else { "s" }
                )))
            } else {
                // One line per diagnostic, each starting with its JSON path.
                Err(Failure::invalid(anyhow!(
                    "{} is not a valid model: {diagnostics}",
                    path.display()
                )))
            }
        }
        Err(LoadError::Format(e)) => {
            let message = describe_format_error(path, &e);
            if json {
                print_stdout(&to_json_text(&UnreadableReport {
                    valid: false,
                    error: &message,
                })?)?;
            }
            Err(Failure::unreadable(anyhow!(message)))
        }
    }
}
