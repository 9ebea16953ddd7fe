//! `--engine`: the command line's names for the library's engine choices
//! ([`instinct::EngineChoice`]), and the runner of a choice for a model
//! ([`instinct::Model::runner`], which owns the "auto" policy), its errors as exit codes.

use crate::failure::{Failure, Outcome};
use anyhow::anyhow;
use clap::builder::PossibleValue;
use instinct::{EngineChoice, Model, RunError, Runner};
use std::io::Write as _;

/// An `--engine` value: one of [`EngineChoice::ALL`] by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineArg(pub EngineChoice);

/// Every `--engine` value, in the library's order (a new engine in `ALL` is one here too).
static VARIANTS: [EngineArg; EngineChoice::ALL.len()] = {
    let mut variants = [EngineArg(EngineChoice::Auto); EngineChoice::ALL.len()];
    let mut i = 0;
    while i < variants.len() {
        variants[i] = EngineArg(EngineChoice::ALL[i]);
        i += 1;
    }
    variants
};

impl clap::ValueEnum for EngineArg {
    fn value_variants<'a>() -> &'a [EngineArg] {
        &VARIANTS
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.0.name()).help(self.0.help()))
    }
}

/// The runner of `choice` for `model` on `threads` threads (default: every core). `--engine
/// batched` is for `bench`, which runs many copies of the model; an engine that does not apply,
/// or no GPU, is exit 1 naming why; the GPU engine names its adapter on stderr.
pub fn runner<'m>(
    model: &'m Model,
    threads: Option<usize>,
    choice: EngineChoice,
) -> Outcome<Box<dyn Runner + 'm>> {
    if choice == EngineChoice::Batched {
        return Err(Failure::invalid(anyhow!(
            "--engine batched runs many models of one architecture at once; time it with `instinct bench MODEL --engine batched --models K`"
        )));
    }
    let runner = model.runner(choice, threads).map_err(failure)?;
    if runner.name() == "gpu" {
        let _ = writeln!(std::io::stderr(), "{}", runner.describe());
    }
    Ok(runner)
}

/// A runner's error as a failure: a refused thread is exit 2 (as the OS's errors are), any
/// other exit 1.
pub fn failure(e: RunError) -> Failure {
    match e {
        RunError::ThreadSpawn { threads, why } => Failure::unreadable(anyhow!(
            "cannot start {threads} threads: {why}; ask for fewer with --threads"
        )),
        // The library names engines; the command line names the flag that chose them.
        RunError::NotApplicable { engine, why } => {
            Failure::invalid(anyhow!("--engine {engine} does not apply: {why}"))
        }
        RunError::Unavailable { engine, why } => {
            Failure::invalid(anyhow!("--engine {engine}: {why}"))
        }
        other => Failure::invalid(anyhow!("{other}")),
    }
}
