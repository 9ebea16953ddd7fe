//! `instinct train`: the options of instinct-train's MLP recipe (`instinct::train::recipe`), the
//! files (CSV in, checked before training; the model and the loss curves out), a progress bar
//! and the report on stderr.

use crate::failure::{Failure, Outcome};
use anyhow::anyhow;
use instinct::train::data::Table;
use instinct::train::recipe::{self, Prepared, TestScore, Trained};
use instinct::train::{EpochReport, TrainError};
use std::io::Write;
use std::path::Path;

pub use crate::train_options::Options;

fn read(path: &Path) -> Outcome<Table> {
    if !path.is_file() {
        return Err(Failure::unreadable(anyhow!(
            "{}: no such file",
            path.display()
        )));
    }
    let table = Table::read_csv(path).map_err(|e| match e {
        TrainError::Io { .. } => Failure::unreadable(e),
        e => Failure::invalid(e),
    })?;
    // A name twice would make one column shadow the other (or the target a feature as well).
    let mut seen = std::collections::HashSet::new();
    if let Some(twice) = table.names.iter().find(|c| !seen.insert(c.as_str())) {
        return Err(Failure::invalid(anyhow!(
            "{}: the header names column {twice:?} more than once; rename one",
            path.display()
        )));
    }
    Ok(table)
}

/// Trains (instinct-train's MLP recipe), reports and writes the model.
pub fn run(o: &Options) -> Outcome {
    // Everything that could fail after training is checked before it starts.
    crate::output::check_writable(&o.out, "--out")?;
    if let Some(plot) = &o.plot {
        crate::plot::check_extension(plot)?;
        crate::output::check_writable(plot, "--plot")?;
    }
    let recipe = o.recipe();
    let table = read(&o.data)?;
    let test = o.test.as_deref().map(read).transpose()?;
    let prepared = Prepared::new(&recipe, &table, test.as_ref()).map_err(|e| match e {
        // A network the format cannot hold is a usage error, as the option that asks for it.
        TrainError::Data(m) if m.contains("format's limit") => {
            let hidden: Vec<String> = o.hidden.iter().map(usize::to_string).collect();
            Failure::unreadable(anyhow!("--hidden {}: {m}", hidden.join(",")))
        }
        // The data sets' errors name the line and column; the file is added here.
        TrainError::Data(m) => match (m.strip_prefix("test set: "), &o.test) {
            (Some(m), Some(test)) => Failure::invalid(anyhow!("{}: {m}", test.display())),
            _ => Failure::invalid(anyhow!("{}: {m}", o.data.display())),
        },
        e => Failure::invalid(e),
    })?;
    let classify = prepared.task == recipe::Task::Classify;
    let mut err = std::io::stderr();
    let shape = prepared.shape();
    let rows = prepared.train.len();
    let _ = match &prepared.train.classes {
        Some(c) => writeln!(
            err,
            "classify: {rows} rows, {shape} ({}); classes in output order: {c}",
            o.activation,
        ),
        None => writeln!(err, "regress: {rows} rows, {shape} ({})", o.activation),
    };
    let bar = indicatif::ProgressBar::new(o.epochs as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} epoch {pos}/{len} {msg} [{elapsed}]")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let metric_name = if classify { "accuracy" } else { "R²" };
    let trained = prepared
        .fit(&recipe, &mut |r: &EpochReport| {
            let validation = match (r.validation_loss, r.validation_metric) {
                (Some(l), Some(m)) => format!(", validation loss {l:.4}, {metric_name} {m:.4}"),
                _ => String::new(),
            };
            bar.set_message(format!("loss {:.4}{validation}", r.train_loss));
            bar.inc(1);
        })
        .map_err(|e| match e {
            TrainError::Config { .. } => Failure::unreadable(e),
            e => Failure::invalid(e),
        })?;
    bar.finish_and_clear();
    report(o, &trained);
    if let Some(path) = &o.plot {
        crate::plot::loss_curves(path, &trained.history, metric_name)
            .map_err(Failure::unreadable)?;
    }
    trained
        .info
        .save(&o.out)
        .map_err(|e| Failure::unreadable(anyhow!("{}: {e}", o.out.display())))?;
    let _ = writeln!(err, "wrote {}", o.out.display());
    if o.activation.is_extension() {
        let _ = writeln!(
            err,
            "note: it uses the format extension {}, which instmodel_inference cannot load (docs/FORMAT.md)",
            o.activation.name()
        );
    }
    Ok(())
}

/// How training went, on stderr: epochs and time, the test score, the validation rows.
fn report(o: &Options, trained: &Trained) {
    let mut err = std::io::stderr();
    let history = &trained.history;
    let last = history.epochs.last().map_or(f32::NAN, |r| r.train_loss);
    let _ = writeln!(
        err,
        "trained {} epochs in {:.3} s (final training loss {last:.4}{})",
        history.epochs.len(),
        trained.seconds,
        match (o.early_stopping, history.stopped_early) {
            (true, true) => format!(
                "; stopped early, kept epoch {}, the best",
                history.best_epoch
            ),
            (true, false) => format!("; kept epoch {}, the best", history.best_epoch),
            (false, true) => format!(
                "; stopped: the training loss improved by less than {} for {} epochs",
                o.tol, o.patience
            ),
            (false, false) => String::new(),
        }
    );
    let _ = match trained.test {
        Some(TestScore::Accuracy { accuracy, rows }) => {
            writeln!(err, "test accuracy {accuracy:.4} ({rows} rows)")
        }
        Some(TestScore::Regression { mse, r2, rows }) => {
            writeln!(err, "test MSE {mse:.4}, R² {r2:.4} ({rows} rows)")
        }
        None => Ok(()),
    };
    let _ = match &trained.info.validation_data {
        Some(v) => writeln!(err, "validation_data: {} rows embedded", v.inputs.len()),
        None => writeln!(
            err,
            "no validation_data embedded: outputs beyond ±{} cannot be checked to the format's absolute tolerance of 1e-5",
            instinct::train::export::CHECKABLE
        ),
    };
}
