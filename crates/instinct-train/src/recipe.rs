//! The recipe behind `instinct train`, as a library: an MLP classifier or regressor trained on a
//! table as scikit-learn's `MLPClassifier` / `MLPRegressor` would be (their defaults, Glorot's
//! initialisation, standardised inputs, standardised targets for regression), checked before
//! training against everything that could fail after it, and exported to a validated model
//! with its standardisation, output scaling, softmax head and `validation_data`.
//!
//! ```
//! use instinct_train::data::Table;
//! use instinct_train::recipe::{MlpRecipe, Prepared};
//! let rows: Vec<Vec<f32>> = (0..40).map(|i| vec![i as f32 / 10.0, (i % 2) as f32]).collect();
//! let table = Table::from_rows(vec!["x".into(), "target".into()], &rows)?;
//! let recipe = MlpRecipe { hidden: vec![8], epochs: 5, ..MlpRecipe::new("target") };
//! let prepared = Prepared::new(&recipe, &table, None)?;
//! let trained = prepared.fit(&recipe, &mut |_| {})?;
//! assert_eq!(trained.info.features.as_ref().unwrap(), &["x".to_string()]);
//! # Ok::<(), instinct_train::TrainError>(())
//! ```

use crate::cpu::CpuBackend;
use crate::data::{Classes, Column, Dataset, Standardizer, Table, Targets};
use crate::error::TrainError;
use crate::export::{ExportSpec, Head, export};
use crate::nn::{Init, Sequential};
use crate::rng::Rng;
use crate::tensor::Tensor;
use crate::train::EpochReport;
use crate::train::History;
use crate::train::OptimizerKind;
use crate::train::TrainConfig;
use crate::train::accuracy;
use crate::train::fit;
use crate::train::mse;
use crate::train::predict;
use crate::train::r2;
use instinct_format::Activation;
use instinct_format::{Limits, ModelInfo};
use std::sync::Arc;
use std::time::Instant;

/// Targets that are whole numbers with at most this many distinct values are classes.
pub const MAX_GUESSED_CLASSES: usize = 20;

/// Rows of `validation_data` the exported model carries.
const VALIDATION_ROWS: usize = 10;

/// Classification or regression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// One probability per class, classes in ascending order of their label.
    Classify,
    /// One value.
    Regress,
}

/// What to train and how; [`MlpRecipe::new`] gives scikit-learn's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct MlpRecipe {
    /// The column to predict (every other column is a feature).
    pub target: String,
    /// Classification or regression; `None` guesses ([`guess_task`]).
    pub task: Option<Task>,
    /// Hidden layer sizes.
    pub hidden: Vec<usize>,
    /// The hidden layers' activation (elementwise).
    pub activation: Activation,
    /// The most passes over the training rows.
    pub epochs: usize,
    /// Rows per update; `None`: 200, or every row when there are fewer.
    pub batch_size: Option<usize>,
    /// Learning rate.
    pub learning_rate: f32,
    /// The optimiser (AdamW decays by 0.01; the others take `alpha` as an L2 penalty).
    pub optimizer: OptimizerKind,
    /// Seed of the initial weights, the shuffling and the validation split.
    pub seed: u64,
    /// Hold out `validation_split` of the rows, stop on the validation loss, keep the best
    /// epoch; without it every row trains and training stops on the training loss.
    pub early_stopping: bool,
    /// With `early_stopping`: the fraction held out.
    pub validation_split: f32,
    /// Epochs without an improvement of more than `tol` before training stops.
    pub patience: usize,
    /// The improvement of the watched loss that counts.
    pub tol: f32,
    /// L2 penalty (scikit-learn's `alpha`: `alpha / batch rows` per update).
    pub alpha: f32,
}

impl MlpRecipe {
    /// scikit-learn's defaults for predicting `target`: one hidden layer of 100 ReLU units,
    /// Adam at 1e-3, at most 200 epochs, alpha 1e-4, tol 1e-4 over 10 epochs, every row trained.
    pub fn new(target: impl Into<String>) -> MlpRecipe {
        MlpRecipe {
            target: target.into(),
            task: None,
            hidden: vec![100],
            activation: Activation::Relu,
            epochs: 200,
            batch_size: None,
            learning_rate: 1e-3,
            optimizer: OptimizerKind::Adam,
            seed: 0,
            early_stopping: false,
            validation_split: 0.1,
            patience: 10,
            tol: 1e-4,
            alpha: 1e-4,
        }
    }
}

/// Classification when the target column holds at most [`MAX_GUESSED_CLASSES`] distinct whole
/// numbers, or text (class names); `None` when there is no such column. A column of text whose
/// cells are mostly numbers is taken for numbers with a few bad cells (`NA`, `?`, empty):
/// regression, which refuses the first of them by line, rather than a classifier that would
/// make them classes.
pub fn guess_task(table: &Table, target: &str) -> Option<Task> {
    let values = match table.column(target)? {
        Column::Numbers(values) => values,
        Column::Text(cells) => {
            let numbers = cells.iter().filter(|c| c.parse::<f32>().is_ok()).count();
            return Some(if numbers * 2 > cells.len() {
                Task::Regress
            } else {
                Task::Classify
            });
        }
    };
    let mut values = values.clone();
    values.sort_by(f32::total_cmp);
    values.dedup();
    let whole = values.iter().all(|v| v.fract() == 0.0);
    Some(if whole && values.len() <= MAX_GUESSED_CLASSES {
        Task::Classify
    } else {
        Task::Regress
    })
}

/// Whether a network of these layer sizes fits the format's limits (those `instmodel_inference`
/// applies too): its buffers, and its weights with biases. The error is [`TrainError::Data`]
/// saying which limit.
pub fn check_exportable(sizes: &[usize]) -> Result<(), TrainError> {
    let limits = Limits::default();
    let shown = |n: Option<usize>| n.map_or_else(|| "too many".to_string(), |n| n.to_string());
    // One buffer per layer's output after the input's (standardisation runs in place).
    let buffers = sizes.iter().try_fold(0usize, |n, &s| n.checked_add(s));
    if buffers.is_none_or(|n| n > limits.max_buffer_elements) {
        return Err(TrainError::Data(format!(
            "the model's layers would hold {} values per sample, more than the format's limit of {}",
            shown(buffers),
            limits.max_buffer_elements
        )));
    }
    let weights = sizes.windows(2).try_fold(0usize, |n, w| {
        n.checked_add(w[0].checked_mul(w[1])?.checked_add(w[1])?)
    });
    if weights.is_none_or(|n| n > limits.max_weight_elements) {
        return Err(TrainError::Data(format!(
            "the model would hold {} weights and biases, more than the format's limit of {}",
            shown(weights),
            limits.max_weight_elements
        )));
    }
    Ok(())
}

/// The data made ready and every check that could fail after training done: the rows read as
/// a data set, the standardisation fitted, the network's shape known to fit the format.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Classification or regression (as asked or guessed).
    pub task: Task,
    /// The training rows as read.
    pub train: Dataset,
    /// The test rows, with the training set's classes.
    pub test: Option<Dataset>,
    /// The layer sizes, input first.
    pub sizes: Vec<usize>,
    scaler: Standardizer,
    /// Regression targets are learned standardised: `(mean, std)` (`(0, 1)` for classes).
    target_scale: (f32, f32),
}

/// A trained and exported network.
#[derive(Debug, Clone)]
pub struct Trained {
    /// The model, validated, with its `validation_data` when its outputs are checkable.
    pub info: ModelInfo,
    /// Every epoch's report, and how training ended.
    pub history: History,
    /// Seconds of the training loop alone.
    pub seconds: f64,
    /// The score on the test rows, if given.
    pub test: Option<TestScore>,
}

/// How the trained network did on the test rows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TestScore {
    /// The fraction of rows whose most probable class is their label.
    Accuracy {
        /// The fraction.
        accuracy: f32,
        /// Rows scored.
        rows: usize,
    },
    /// Mean squared error and R², in the target's own units.
    Regression {
        /// Mean squared error.
        mse: f32,
        /// R².
        r2: f32,
        /// Rows scored.
        rows: usize,
    },
}

impl Prepared {
    /// Reads `table` (and `test`, with the same columns) for `recipe`, and checks what
    /// could only fail later: feature names the model can carry, and a network the format can
    /// hold.
    pub fn new(
        recipe: &MlpRecipe,
        table: &Table,
        test: Option<&Table>,
    ) -> Result<Prepared, TrainError> {
        // No such column: the data set says so, listing the columns.
        let task = recipe
            .task
            .or_else(|| guess_task(table, &recipe.target))
            .unwrap_or(Task::Regress);
        let classify = task == Task::Classify;
        let train = Dataset::from_table(table, &recipe.target, classify, None)?;
        let test = match test {
            Some(t) => Some(
                Dataset::from_table(t, &recipe.target, classify, train.classes.as_ref())
                    .map_err(|e| TrainError::Data(format!("test set: {e}")))?,
            ),
            None => None,
        };
        if let Some(t) = &test
            && t.feature_names != train.feature_names
        {
            return Err(TrainError::Data(format!(
                "the test set's feature columns ({}) differ from the training set's ({})",
                t.feature_names.join(", "),
                train.feature_names.join(", ")
            )));
        }
        // Every column is one value: a header such as `x[3]` cannot name it in the model.
        if let Some(bad) = train
            .feature_names
            .iter()
            .find(|n| instinct_format::feature_width(n).ok() != Some(1))
        {
            return Err(TrainError::Data(format!(
                "column {bad:?} cannot be a feature name of the model (names may not use brackets)"
            )));
        }
        let outputs = match &train.classes {
            Some(c) if c.len() > 2 => c.len(),
            _ => 1,
        };
        let mut sizes = vec![train.feature_names.len()];
        sizes.extend(&recipe.hidden);
        sizes.push(outputs);
        check_exportable(&sizes)?;
        let scaler = Standardizer::fit(&train.features);
        let target_scale = match &train.targets {
            Targets::Values(v) => {
                let s = Standardizer::fit(&Tensor::new(&[v.len(), 1], v.clone())?);
                (s.mean[0], s.std[0])
            }
            Targets::Classes(_) => (0.0, 1.0),
        };
        Ok(Prepared {
            task,
            train,
            test,
            sizes,
            scaler,
            target_scale,
        })
    }

    /// The layer sizes as `4→100→3`.
    pub fn shape(&self) -> String {
        self.sizes
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join("→")
    }

    /// The training configuration of `recipe` for these rows.
    pub fn config(&self, recipe: &MlpRecipe) -> TrainConfig {
        let batch_size = recipe
            .batch_size
            .unwrap_or(200)
            .min(self.train.len().max(1));
        TrainConfig {
            epochs: recipe.epochs,
            batch_size,
            learning_rate: recipe.learning_rate,
            optimizer: recipe.optimizer,
            // scikit-learn adds alpha·W / (rows in the batch) to each weight's gradient.
            weight_decay: if recipe.optimizer == OptimizerKind::AdamW {
                0.01
            } else {
                recipe.alpha / batch_size as f32
            },
            seed: recipe.seed,
            validation_fraction: if recipe.early_stopping {
                recipe.validation_split
            } else {
                0.0
            },
            patience: Some(recipe.patience),
            tol: recipe.tol,
            keep_best: recipe.early_stopping,
            ..TrainConfig::default()
        }
    }

    /// Trains the network (`progress` hears every epoch), scores it on the test rows and
    /// exports it.
    pub fn fit(
        &self,
        recipe: &MlpRecipe,
        progress: &mut dyn FnMut(&EpochReport),
    ) -> Result<Trained, TrainError> {
        let (mean, std) = self.target_scale;
        let scaled = Dataset {
            features: self.scaler.apply(&self.train.features),
            targets: match &self.train.targets {
                Targets::Values(v) => Targets::Values(v.iter().map(|y| (y - mean) / std).collect()),
                t => t.clone(),
            },
            ..self.train.clone()
        };
        // Every layer starts as scikit-learn's do: uniform in ±√(6 / (fan_in + fan_out)).
        let mut net = Sequential::mlp_with_init(
            &self.sizes,
            recipe.activation,
            Init::Glorot,
            &mut Rng::new(recipe.seed),
        );
        let started = Instant::now();
        let history = fit(
            &mut net,
            Arc::new(CpuBackend),
            &scaled,
            &self.config(recipe),
            progress,
        )?;
        let seconds = started.elapsed().as_secs_f64();
        let test = match &self.test {
            Some(test) => Some(self.score(&net, test)?),
            None => None,
        };
        let rows: Vec<Vec<f32>> = self
            .train
            .features
            .data()
            .chunks_exact(self.train.feature_names.len().max(1))
            .take(VALIDATION_ROWS)
            .map(<[f32]>::to_vec)
            .collect();
        let classify = self.task == Task::Classify;
        let (scale, offset) = ([std], [mean]);
        let mut info = export(
            &net,
            &ExportSpec {
                feature_names: &self.train.feature_names,
                standardizer: Some(&self.scaler),
                head: if classify {
                    Head::Softmax
                } else {
                    Head::Identity
                },
                output_scale: (!classify).then_some((&scale[..], &offset[..])),
                validation_inputs: &rows,
            },
        )?;
        // The classes name the probability columns, as scikit-learn's `classes_` does.
        if classify {
            info.labels = self.train.classes.as_ref().map(Classes::labels);
        }
        Ok(Trained {
            info,
            history,
            seconds,
            test,
        })
    }

    fn score(&self, net: &Sequential, test: &Dataset) -> Result<TestScore, TrainError> {
        let out = predict(
            net,
            Arc::new(CpuBackend),
            &self.scaler.apply(&test.features),
        )?;
        Ok(match &test.targets {
            Targets::Classes(labels) => TestScore::Accuracy {
                accuracy: accuracy(&out, labels),
                rows: labels.len(),
            },
            Targets::Values(v) => {
                let (mean, std) = self.target_scale;
                let predicted: Vec<f32> = out.data().iter().map(|y| y * std + mean).collect();
                TestScore::Regression {
                    mse: mse(&predicted, v),
                    r2: r2(&predicted, v),
                    rows: v.len(),
                }
            }
        })
    }
}
