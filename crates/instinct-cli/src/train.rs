//! `instinct train`: a multilayer perceptron trained on a CSV (instinct-train), with a progress
//! bar, an optional test set and loss curve, exported to a validated model file.

use crate::failure::{Failure, Outcome};
use anyhow::anyhow;
use clap::ValueEnum;
use clap::builder::TypedValueParser as _;
use instinct::format::Activation;
use instinct::train::data::{Dataset, Standardizer, Table, Targets};
use instinct::train::export::{ExportSpec, Head, export};
use instinct::train::nn::{Init, Sequential};
use instinct::train::{
    CpuBackend, EpochReport, OptimizerKind, Rng, TrainConfig, TrainError, accuracy, fit, predict,
    r2,
};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// What the network learns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Task {
    /// One probability per class, classes in ascending order of their label.
    Classify,
    /// One value.
    Regress,
}

/// The command-line name of an activation: its JSON name in lowercase, `-` for `_`
/// (`leaky-relu`).
fn activation_name(activation: Activation) -> String {
    activation.name().to_lowercase().replace('_', "-")
}

/// `--activation`: every elementwise activation of the format by its command-line name, with
/// its default parameters (LEAKY_RELU's slope 0.01, PyTorch's default).
fn activation_parser() -> impl clap::builder::TypedValueParser<Value = Activation> {
    use std::sync::LazyLock;
    static NAMES: LazyLock<Vec<(String, Activation)>> = LazyLock::new(|| {
        Activation::BY_CODE
            .into_iter()
            .filter(|a| a.is_elementwise())
            .map(|a| (activation_name(a), a))
            .collect()
    });
    clap::builder::PossibleValuesParser::new(NAMES.iter().map(|(name, a)| {
        let value = clap::builder::PossibleValue::new(name.as_str());
        if a.is_extension() {
            value.help("a format extension, which instmodel_inference cannot load")
        } else {
            value
        }
    }))
    .map(|name: String| {
        NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(Activation::Relu, |(_, a)| *a)
    })
}

/// The optimiser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Optimizer {
    /// Plain gradient descent.
    Sgd,
    /// SGD with momentum 0.9.
    Momentum,
    /// Adam.
    Adam,
    /// AdamW (weight decay 0.01).
    Adamw,
    /// A step of length --lr along the gradient's direction (zsmallnet's).
    FixedStep,
}

/// The command's settings.
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// The training rows: a CSV with a header; every cell a number.
    #[arg(long, value_name = "FILE.csv")]
    pub data: PathBuf,
    /// The column to predict (every other column is a feature).
    #[arg(long, value_name = "COLUMN")]
    pub target: String,
    /// Classification or regression (default: classify when the target holds at most 20
    /// distinct whole numbers).
    #[arg(long, value_enum)]
    pub task: Option<Task>,
    /// Hidden layer sizes, comma separated (scikit-learn's default: one layer of 100).
    #[arg(long, value_name = "N,N,...", value_delimiter = ',', default_value = "100", value_parser = crate::parse_samples)]
    pub hidden: Vec<usize>,
    /// The hidden layers' activation.
    #[arg(long, value_name = "NAME", default_value = "relu", value_parser = activation_parser())]
    pub activation: Activation,
    /// The most passes over the training rows (scikit-learn's `max_iter`).
    #[arg(long, value_name = "N", default_value_t = 200, value_parser = crate::parse_samples)]
    pub epochs: usize,
    /// Rows per update (default: 200, or every row when there are fewer, as scikit-learn).
    #[arg(long, value_name = "N", value_parser = crate::parse_samples)]
    pub batch_size: Option<usize>,
    /// Learning rate (the step length for fixed-step).
    #[arg(long, value_name = "X", default_value_t = 1e-3, value_parser = crate::parse_rate)]
    pub lr: f32,
    /// The optimiser.
    #[arg(long, value_enum, default_value_t = Optimizer::Adam)]
    pub optimizer: Optimizer,
    /// Seed of the initial weights, the shuffling and the validation split.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: u64,
    /// Hold out --validation-split of the rows and stop after --patience epochs without a
    /// validation loss better by --tol, keeping the best epoch's weights. Without it every row
    /// trains, and training stops after --patience epochs without a training loss better by
    /// --tol (scikit-learn's `early_stopping`, `n_iter_no_change`, `tol`).
    #[arg(long)]
    pub early_stopping: bool,
    /// With --early-stopping: the fraction of the training rows held out.
    #[arg(long, value_name = "F", default_value_t = 0.1, value_parser = crate::parse_fraction)]
    pub validation_split: f32,
    /// Epochs without an improvement of more than --tol before training stops.
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = crate::parse_samples)]
    pub patience: usize,
    /// The improvement of the watched loss that counts.
    #[arg(long, value_name = "X", default_value_t = 1e-4, value_parser = crate::parse_non_negative)]
    pub tol: f32,
    /// L2 penalty on the weights (scikit-learn's `alpha`: alpha / batch rows per update).
    #[arg(long, value_name = "X", default_value_t = 1e-4, value_parser = crate::parse_non_negative)]
    pub alpha: f32,
    /// Test rows (the same columns), scored after training.
    #[arg(long, value_name = "FILE.csv")]
    pub test: Option<PathBuf>,
    /// The model file to write.
    #[arg(long, short, value_name = "MODEL.json")]
    pub out: PathBuf,
    /// Draw the loss and metric curves to this file (.png or .svg).
    #[arg(long, value_name = "FILE.png|FILE.svg")]
    pub plot: Option<PathBuf>,
}

/// Targets that are whole numbers with at most this many distinct values are classes.
const MAX_GUESSED_CLASSES: usize = 20;

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
    if let Some(twice) = table.columns.iter().find(|c| !seen.insert(c.as_str())) {
        return Err(Failure::invalid(anyhow!(
            "{}: the header names column {twice:?} more than once; rename one",
            path.display()
        )));
    }
    Ok(table)
}

/// Checks that a file can be written at `path` before any work whose result would go there:
/// its directory exists and accepts a new file. (The file itself is written atomically later.)
fn check_writable(path: &Path, flag: &str) -> Outcome {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(Failure::unreadable(anyhow!(
            "{flag} {}: the directory {} does not exist",
            path.display(),
            dir.display()
        )));
    }
    if path.is_dir() {
        return Err(Failure::unreadable(anyhow!(
            "{flag} {}: is a directory",
            path.display()
        )));
    }
    let probe = dir.join(format!(".instinct-write-check-{}", std::process::id()));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => Err(Failure::unreadable(anyhow!(
            "{flag} {}: cannot write in {}: {e}",
            path.display(),
            dir.display()
        ))),
    }
}

/// Checks, before training, that the exported network will fit the format's limits (those
/// `instmodel_inference` applies too): its buffers and its weights with biases.
fn check_exportable(sizes: &[usize], hidden: &[usize]) -> Outcome {
    let limits = instinct::Limits::default();
    let shown = || {
        hidden
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(",")
    };
    // One buffer per layer's output after the input's (standardisation and scaling run in place).
    let buffers = sizes.iter().try_fold(0usize, |n, &s| n.checked_add(s));
    if buffers.is_none_or(|n| n > limits.max_buffer_elements) {
        return Err(Failure::unreadable(anyhow!(
            "--hidden {}: the model's layers would hold {} values per sample, more than the format's limit of {}",
            shown(),
            buffers.map_or_else(|| "too many".to_string(), |n| n.to_string()),
            limits.max_buffer_elements
        )));
    }
    let weights = sizes.windows(2).try_fold(0usize, |n, w| {
        n.checked_add(w[0].checked_mul(w[1])?.checked_add(w[1])?)
    });
    if weights.is_none_or(|n| n > limits.max_weight_elements) {
        return Err(Failure::unreadable(anyhow!(
            "--hidden {}: the model would hold {} weights and biases, more than the format's limit of {}",
            shown(),
            weights.map_or_else(|| "too many".to_string(), |n| n.to_string()),
            limits.max_weight_elements
        )));
    }
    Ok(())
}

fn guess_task(table: &Table, target: &str) -> Option<Task> {
    let t = table.columns.iter().position(|c| c == target)?;
    let mut values: Vec<f32> = table.rows.iter().map(|r| r[t]).collect();
    values.sort_by(f32::total_cmp);
    values.dedup();
    let whole = values.iter().all(|v| v.fract() == 0.0);
    Some(if whole && values.len() <= MAX_GUESSED_CLASSES {
        Task::Classify
    } else {
        Task::Regress
    })
}

/// Trains, reports and writes the model.
pub fn run(o: &Options) -> Outcome {
    // Everything that could fail after training is checked before it starts.
    check_writable(&o.out, "--out")?;
    if let Some(plot) = &o.plot {
        crate::plot::check_extension(plot)?;
        check_writable(plot, "--plot")?;
    }
    let table = read(&o.data)?;
    let task = match o.task.or_else(|| guess_task(&table, &o.target)) {
        Some(t) => t,
        // No such column: let the data set say so, listing the columns.
        None => Task::Regress,
    };
    let classify = task == Task::Classify;
    let train = Dataset::from_table(&table, &o.target, classify, None).map_err(Failure::invalid)?;
    let test = match &o.test {
        Some(path) => Some(
            Dataset::from_table(&read(path)?, &o.target, classify, train.classes.as_deref())
                .map_err(|e| Failure::invalid(anyhow!("test set: {e}")))?,
        ),
        None => None,
    };
    if let Some(t) = &test
        && t.feature_names != train.feature_names
    {
        return Err(Failure::invalid(anyhow!(
            "the test set's feature columns ({}) differ from the training set's ({})",
            t.feature_names.join(", "),
            train.feature_names.join(", ")
        )));
    }
    let scaler = Standardizer::fit(&train.features);
    // Regression learns standardised targets; the model scales its output back.
    let (target_mean, target_std) = match &train.targets {
        Targets::Values(v) => {
            let t =
                instinct::train::Tensor::new(&[v.len(), 1], v.clone()).map_err(Failure::invalid)?;
            let s = Standardizer::fit(&t);
            (s.mean[0], s.std[0])
        }
        Targets::Classes(_) => (0.0, 1.0),
    };
    let scaled = Dataset {
        features: scaler.apply(&train.features),
        targets: match &train.targets {
            Targets::Values(v) => {
                Targets::Values(v.iter().map(|y| (y - target_mean) / target_std).collect())
            }
            t => t.clone(),
        },
        ..train.clone()
    };
    let outputs = match &train.classes {
        Some(c) if c.len() > 2 => c.len(),
        _ => 1,
    };
    // Every column is one value: a header such as `x[3]` cannot name it in the model.
    if let Some(bad) = train
        .feature_names
        .iter()
        .find(|n| instinct::format::feature_width(n).ok() != Some(1))
    {
        return Err(Failure::invalid(anyhow!(
            "{}: column {bad:?} cannot be a feature name of the model (names may not use brackets)",
            o.data.display()
        )));
    }
    let mut sizes = vec![train.feature_names.len()];
    sizes.extend(&o.hidden);
    sizes.push(outputs);
    check_exportable(&sizes, &o.hidden)?;
    let activation = o.activation;
    // Every layer starts as scikit-learn's do: uniform in ±√(6 / (fan_in + fan_out)).
    let mut net =
        Sequential::mlp_with_init(&sizes, activation, Init::Glorot, &mut Rng::new(o.seed));
    let batch_size = o.batch_size.unwrap_or(200).min(train.len().max(1));
    let config = TrainConfig {
        epochs: o.epochs,
        batch_size,
        learning_rate: o.lr,
        optimizer: match o.optimizer {
            Optimizer::Sgd => OptimizerKind::Sgd,
            Optimizer::Momentum => OptimizerKind::Momentum,
            Optimizer::Adam => OptimizerKind::Adam,
            Optimizer::Adamw => OptimizerKind::AdamW,
            Optimizer::FixedStep => OptimizerKind::FixedStep,
        },
        // scikit-learn adds alpha·W / (rows in the batch) to each weight's gradient.
        weight_decay: if o.optimizer == Optimizer::Adamw {
            0.01
        } else {
            o.alpha / batch_size as f32
        },
        seed: o.seed,
        validation_fraction: if o.early_stopping {
            o.validation_split
        } else {
            0.0
        },
        patience: Some(o.patience),
        tol: o.tol,
        keep_best: o.early_stopping,
        ..TrainConfig::default()
    };
    let shape = sizes
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join("→");
    let mut err = std::io::stderr();
    let _ = match &train.classes {
        Some(c) => writeln!(
            err,
            "classify: {} rows, {shape} ({}); classes in output order: {}",
            train.len(),
            o.activation,
            c.iter().map(f32::to_string).collect::<Vec<_>>().join(", ")
        ),
        None => writeln!(
            err,
            "regress: {} rows, {shape} ({})",
            train.len(),
            o.activation
        ),
    };
    let bar = indicatif::ProgressBar::new(o.epochs as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} epoch {pos}/{len} {msg} [{elapsed}]")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let metric_name = if classify { "accuracy" } else { "R²" };
    let started = Instant::now();
    let history = fit(
        &mut net,
        Arc::new(CpuBackend),
        &scaled,
        &config,
        &mut |r: &EpochReport| {
            let validation = match (r.validation_loss, r.validation_metric) {
                (Some(l), Some(m)) => format!(", validation loss {l:.4}, {metric_name} {m:.4}"),
                _ => String::new(),
            };
            bar.set_message(format!("loss {:.4}{validation}", r.train_loss));
            bar.inc(1);
        },
    )
    .map_err(|e| match e {
        TrainError::Config { .. } => Failure::unreadable(e),
        e => Failure::invalid(e),
    })?;
    let seconds = started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let last = history.epochs.last().map_or(f32::NAN, |r| r.train_loss);
    let _ = writeln!(
        err,
        "trained {} epochs in {seconds:.3} s (final training loss {last:.4}{})",
        history.epochs.len(),
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
    if let Some(test) = &test {
        let out = predict(&net, Arc::new(CpuBackend), &scaler.apply(&test.features))
            .map_err(Failure::invalid)?;
        let _ = match &test.targets {
            Targets::Classes(labels) => writeln!(
                err,
                "test accuracy {:.4} ({} rows)",
                accuracy(&out, labels),
                labels.len()
            ),
            Targets::Values(v) => {
                let predicted: Vec<f32> = out
                    .data()
                    .iter()
                    .map(|y| y * target_std + target_mean)
                    .collect();
                writeln!(
                    err,
                    "test MSE {:.4}, R² {:.4} ({} rows)",
                    instinct::train::mse(&predicted, v),
                    r2(&predicted, v),
                    v.len()
                )
            }
        };
    }
    let rows: Vec<Vec<f32>> = train
        .features
        .data()
        .chunks_exact(train.feature_names.len())
        .take(10)
        .map(<[f32]>::to_vec)
        .collect();
    let (scale, offset) = ([target_std], [target_mean]);
    let info = export(
        &net,
        &ExportSpec {
            feature_names: &train.feature_names,
            standardizer: Some(&scaler),
            head: if classify {
                Head::Softmax
            } else {
                Head::Identity
            },
            output_scale: (!classify).then_some((&scale[..], &offset[..])),
            validation_inputs: &rows,
        },
    )
    .map_err(Failure::invalid)?;
    let _ = match &info.validation_data {
        Some(v) => writeln!(err, "validation_data: {} rows embedded", v.inputs.len()),
        None => writeln!(
            err,
            "no validation_data embedded: outputs beyond ±{} cannot be checked to the format's absolute tolerance of 1e-5",
            instinct::train::export::CHECKABLE
        ),
    };
    if let Some(path) = &o.plot {
        crate::plot::loss_curves(path, &history, metric_name).map_err(Failure::unreadable)?;
    }
    info.save(&o.out)
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
