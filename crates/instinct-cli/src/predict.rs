//! `instinct predict`: read rows, run them through the chosen engine, write the outputs.

use crate::engine::{EngineArg, failure};
use crate::failure::{Failure, Outcome, load_model};
use crate::output;
use anyhow::anyhow;
use instinct_io::{Columns, DataFormat, ReadOptions};
use std::path::Path;

/// The most input or output values one command holds in memory (1 GiB of f32).
pub const MAX_VALUES: usize = 1 << 28;

/// Runs `instinct predict`. Both extensions are checked before any work, so a typo in
/// `--output` is reported at once rather than after the predictions.
pub fn run(
    model: &Path,
    input: &Path,
    output: Option<&Path>,
    threads: Option<usize>,
    engine: EngineArg,
    read_options: ReadOptions,
) -> Outcome {
    let input_format = DataFormat::of(input, "input")?;
    let output_format = match output {
        Some(path) => DataFormat::of(path, "output")?,
        None => DataFormat::Json,
    };
    let model = load_model(model)?;
    // The engine is checked before the rows are read: an engine that does not apply to the
    // model is the first thing to hear about.
    let runner = crate::engine::runner(&model, threads, engine.0)?;
    let columns = Columns {
        size: model.feature_size(),
        names: model.feature_names(),
    };
    let batch = instinct_io::read_rows(input, input_format, &columns, read_options)?;
    let outputs = batch.rows.checked_mul(model.output_size());
    if outputs.is_none_or(|n| n > MAX_VALUES) {
        return Err(Failure::unreadable(anyhow!(
            "{}: {} rows × {} outputs is more than {MAX_VALUES} output values; split the input",
            input.display(),
            batch.rows,
            model.output_size()
        )));
    }
    let values = runner.run(batch.rows, &batch.values).map_err(failure)?;
    output::write(
        output,
        output_format,
        batch.rows,
        model.output_size(),
        &values,
    )
}
