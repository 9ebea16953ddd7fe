//! The training loop: seeded shuffling into mini-batches, a validation split, the optimiser and
//! learning-rate schedule, gradient clipping, early stopping that keeps the best epoch, and the
//! metrics (accuracy; MSE and R²).

use crate::backend::Backend;
use crate::data::{Dataset, Targets};
use crate::error::TrainError;
use crate::nn::Sequential;
use crate::optim::{Adam, FixedStep, Optimizer, Schedule, Sgd, clip_grad_norm};
use crate::rng::Rng;
use crate::tape::Tape;
use crate::tensor::Tensor;
use std::sync::Arc;

/// Which optimiser [`fit`] builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OptimizerKind {
    /// Plain gradient descent.
    Sgd,
    /// SGD with momentum ([`TrainConfig::momentum`]).
    Momentum,
    /// SGD with Nesterov momentum.
    Nesterov,
    /// Adam.
    #[default]
    Adam,
    /// AdamW (decoupled [`TrainConfig::weight_decay`]).
    AdamW,
    /// zsmallnet's fixed-length step.
    FixedStep,
}

/// Settings of [`fit`].
#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    /// Passes over the training rows.
    pub epochs: usize,
    /// Rows per update.
    pub batch_size: usize,
    /// The base learning rate (the step length for [`OptimizerKind::FixedStep`]).
    pub learning_rate: f32,
    /// The optimiser.
    pub optimizer: OptimizerKind,
    /// Momentum of [`OptimizerKind::Momentum`] and [`OptimizerKind::Nesterov`].
    pub momentum: f32,
    /// Weight decay (L2 for SGD and Adam, decoupled for AdamW).
    pub weight_decay: f32,
    /// The learning rate over epochs.
    pub schedule: Schedule,
    /// Seed of the shuffling, the split and dropout.
    pub seed: u64,
    /// Fraction of the rows held out for validation (0: none).
    pub validation_fraction: f32,
    /// Stop after this many epochs without a better validation loss (the training loss when
    /// nothing is held out).
    pub patience: Option<usize>,
    /// How much better than the best so far a watched loss must be to count as better
    /// (scikit-learn's `tol`; 0: any decrease).
    pub tol: f32,
    /// With `patience`: end with the best epoch's weights (scikit-learn does with early
    /// stopping on held-out rows) rather than the last epoch's (it does on the training loss).
    pub keep_best: bool,
    /// Clip the gradients' joint norm to this.
    pub clip_norm: Option<f32>,
}

impl Default for TrainConfig {
    fn default() -> TrainConfig {
        TrainConfig {
            epochs: 100,
            batch_size: 32,
            learning_rate: 1e-3,
            optimizer: OptimizerKind::Adam,
            momentum: 0.9,
            weight_decay: 0.0,
            schedule: Schedule::Constant,
            seed: 0,
            validation_fraction: 0.0,
            patience: None,
            tol: 0.0,
            keep_best: true,
            clip_norm: None,
        }
    }
}

impl TrainConfig {
    fn check(&self) -> Result<(), TrainError> {
        let bad = |name, value: String, reason| {
            Err(TrainError::Config {
                name,
                value,
                reason,
            })
        };
        if self.epochs == 0 {
            return bad("epochs", "0".into(), "must be at least 1");
        }
        if self.batch_size == 0 {
            return bad("batch size", "0".into(), "must be at least 1");
        }
        if !(self.learning_rate > 0.0 && self.learning_rate.is_finite()) {
            return bad(
                "learning rate",
                self.learning_rate.to_string(),
                "must be a positive number",
            );
        }
        if !(0.0..1.0).contains(&self.validation_fraction) {
            return bad(
                "validation fraction",
                self.validation_fraction.to_string(),
                "must be in [0, 1)",
            );
        }
        if !(0.0..1.0).contains(&self.momentum) {
            return bad("momentum", self.momentum.to_string(), "must be in [0, 1)");
        }
        if !(self.weight_decay >= 0.0 && self.weight_decay.is_finite()) {
            return bad(
                "weight decay",
                self.weight_decay.to_string(),
                "must be 0 or more",
            );
        }
        if let Some(c) = self.clip_norm
            && !(c > 0.0 && c.is_finite())
        {
            return bad("clip norm", c.to_string(), "must be a positive number");
        }
        if !(self.tol >= 0.0 && self.tol.is_finite()) {
            return bad("tol", self.tol.to_string(), "must be a finite number ≥ 0");
        }
        if self.patience == Some(0) {
            return bad("patience", "0".into(), "must be at least 1 epoch");
        }
        match self.schedule {
            Schedule::Step { every, gamma }
                if every == 0 || !(gamma > 0.0 && gamma.is_finite()) =>
            {
                bad(
                    "step schedule",
                    format!("every {every}, gamma {gamma}"),
                    "needs at least 1 epoch and a positive gamma",
                )
            }
            Schedule::Cosine { epochs, floor } if epochs == 0 || !(0.0..=1.0).contains(&floor) => {
                bad(
                    "cosine schedule",
                    format!("{epochs} epochs, floor {floor}"),
                    "needs at least 1 epoch and a floor in [0, 1]",
                )
            }
            _ => Ok(()),
        }
    }

    fn optimizer(&self) -> Box<dyn Optimizer> {
        match self.optimizer {
            OptimizerKind::Sgd => Box::new(Sgd::new().with_weight_decay(self.weight_decay)),
            OptimizerKind::Momentum | OptimizerKind::Nesterov => Box::new(
                Sgd::with_momentum(self.momentum, self.optimizer == OptimizerKind::Nesterov)
                    .with_weight_decay(self.weight_decay),
            ),
            OptimizerKind::Adam => Box::new(Adam::new().with_weight_decay(self.weight_decay)),
            OptimizerKind::AdamW => Box::new(Adam::adamw(self.weight_decay)),
            OptimizerKind::FixedStep => Box::new(FixedStep),
        }
    }
}

/// What one epoch did.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochReport {
    /// 1-based.
    pub epoch: usize,
    /// Mean loss over the epoch's rows (each batch's mean loss weighted by its rows, as
    /// scikit-learn's `loss_curve_`), plus the L2 penalty ½·decay·Σw² of the weight matrices
    /// when the optimiser applies weight decay as L2.
    pub train_loss: f32,
    /// Loss on the held-out rows.
    pub validation_loss: Option<f32>,
    /// Accuracy (classification) or R² (regression) on the held-out rows.
    pub validation_metric: Option<f32>,
    /// The learning rate used.
    pub learning_rate: f32,
}

/// Every epoch's report, and which epoch's weights were kept.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct History {
    /// One report per epoch run.
    pub epochs: Vec<EpochReport>,
    /// The epoch whose weights the network has (1-based).
    pub best_epoch: usize,
    /// Whether early stopping ended the run.
    pub stopped_early: bool,
}

/// The network's outputs for `features` (`[rows, inputs]`), dropout off.
pub fn predict(
    net: &Sequential,
    backend: Arc<dyn Backend>,
    features: &Tensor,
) -> Result<Tensor, TrainError> {
    let tape = Tape::new(backend);
    let x = tape.constant(features.clone());
    let y = net.forward(&tape, x, false, &mut Rng::new(0))?;
    Ok(Tensor::clone(&y.value()))
}

/// Loss and metric of `net` on `data`: cross-entropy and accuracy for classes, MSE and R² for
/// values.
pub fn evaluate(
    net: &Sequential,
    backend: Arc<dyn Backend>,
    data: &Dataset,
) -> Result<(f32, f32), TrainError> {
    let tape = Tape::new(backend);
    let x = tape.constant(data.features.clone());
    let y = net.forward(&tape, x, false, &mut Rng::new(0))?;
    let loss = loss_of(y, &data.targets)?;
    let l = loss.value().item().unwrap_or(f32::NAN);
    let out = y.value();
    let metric = match &data.targets {
        Targets::Classes(labels) => accuracy(&out, labels),
        Targets::Values(values) => r2(out.data(), values),
    };
    Ok((l, metric))
}

/// Cross-entropy on logits for classes (a one-output network: log-loss of its sigmoid,
/// computed from the logit), the mean squared error for values.
fn loss_of<'t>(
    y: crate::tape::Var<'t>,
    targets: &Targets,
) -> Result<crate::tape::Var<'t>, TrainError> {
    match targets {
        Targets::Classes(labels) if y.shape().last() == Some(&1) => {
            let truth: Vec<f32> = labels.iter().map(|&l| l as f32).collect();
            if let Some(l) = labels.iter().find(|&&l| l > 1) {
                return Err(TrainError::Shape {
                    op: "binary classification",
                    message: format!("class {l} for a network of one output (classes 0 and 1)"),
                });
            }
            y.binary_cross_entropy_with_logits(&Tensor::new(&y.shape(), truth)?)
        }
        Targets::Classes(labels) => y.cross_entropy(labels),
        Targets::Values(values) => {
            let shape = y.shape();
            y.mse(&Tensor::new(&shape, values.clone())?)
        }
    }
}

/// The fraction of rows whose largest output is their label (one output per row: class 1 when
/// it is above 0, a logit).
pub fn accuracy(outputs: &Tensor, labels: &[usize]) -> f32 {
    let classes = outputs.len() / labels.len().max(1);
    if classes == 1 {
        let right = outputs
            .data()
            .iter()
            .zip(labels)
            .filter(|(z, l)| usize::from(**z > 0.0) == **l)
            .count();
        return right as f32 / labels.len().max(1) as f32;
    }
    let right = outputs
        .data()
        .chunks_exact(classes.max(1))
        .zip(labels)
        .filter(|(row, label)| {
            let best = row
                .iter()
                .enumerate()
                .fold(
                    (0, f32::NEG_INFINITY),
                    |b, (i, &v)| if v > b.1 { (i, v) } else { b },
                );
            best.0 == **label
        })
        .count();
    right as f32 / labels.len().max(1) as f32
}

/// Mean squared error.
pub fn mse(predicted: &[f32], actual: &[f32]) -> f32 {
    let sum: f64 = predicted
        .iter()
        .zip(actual)
        .map(|(p, a)| ((p - a) as f64).powi(2))
        .sum();
    (sum / actual.len().max(1) as f64) as f32
}

/// The coefficient of determination `1 − SS_res / SS_tot`.
pub fn r2(predicted: &[f32], actual: &[f32]) -> f32 {
    let mean = actual.iter().map(|&v| v as f64).sum::<f64>() / actual.len().max(1) as f64;
    let total: f64 = actual.iter().map(|&v| (v as f64 - mean).powi(2)).sum();
    let residual = mse(predicted, actual) as f64 * actual.len() as f64;
    if total == 0.0 {
        return if residual == 0.0 { 1.0 } else { 0.0 };
    }
    (1.0 - residual / total) as f32
}

/// Trains `net` on `data` (features already in the scale the network sees): classes with
/// cross-entropy on the network's outputs as logits, values with the mean squared error. Calls
/// `on_epoch` after each epoch. With [`TrainConfig::patience`], the network ends with the best
/// epoch's weights.
pub fn fit(
    net: &mut Sequential,
    backend: Arc<dyn Backend>,
    data: &Dataset,
    config: &TrainConfig,
    on_epoch: &mut dyn FnMut(&EpochReport),
) -> Result<History, TrainError> {
    config.check()?;
    check_data(data)?;
    let features = data.feature_names.len();
    if let Some(inputs) = net.inputs()
        && inputs != features
    {
        return Err(TrainError::Shape {
            op: "fit",
            message: format!("the network takes {inputs} inputs, the data has {features} features"),
        });
    }
    if matches!(data.targets, Targets::Classes(_))
        && matches!(net.layers.last(), Some(crate::nn::Layer::Softmax))
    {
        return Err(TrainError::Config {
            name: "network",
            value: "… Softmax".into(),
            reason: "classifiers train on logits: remove the final Softmax layer (the export's softmax head puts it back)",
        });
    }
    let mut ids: Vec<_> = net.params().iter().map(|p| p.id()).collect();
    ids.sort();
    if ids.windows(2).any(|w| w[0] == w[1]) {
        return Err(TrainError::Config {
            name: "network",
            value: "cloned layers".into(),
            reason: "two layers share a parameter (a layer cloned within one network); build each layer with its own Param",
        });
    }
    let mut rng = Rng::new(config.seed);
    let mut order: Vec<usize> = (0..data.len()).collect();
    rng.shuffle(&mut order);
    let held =
        ((data.len() as f32 * config.validation_fraction).round() as usize).min(data.len() - 1);
    let validation = (held > 0).then(|| data.select(&order[..held]));
    let train = data.select(&order[held..]);
    let mut optimizer = config.optimizer();
    let mut history = History::default();
    let mut best: Option<(f32, Sequential)> = None;
    let mut since_best = 0;
    let mut best_at = 0;
    let mut rows: Vec<usize> = (0..train.len()).collect();
    for epoch in 0..config.epochs {
        let lr = config.schedule.rate(config.learning_rate, epoch);
        rng.shuffle(&mut rows);
        let mut total = 0.0f64;
        let mut trained = 0usize;
        for batch in mini_batches(&rows, config.batch_size) {
            let part = train.select(batch);
            let tape = Tape::new(backend.clone());
            let x = tape.constant(part.features);
            let y = net.forward(&tape, x, true, &mut rng)?;
            let loss = loss_of(y, &part.targets)?;
            let l = loss.value().item().unwrap_or(f32::NAN);
            if !l.is_finite() {
                return Err(TrainError::Diverged {
                    epoch: epoch + 1,
                    loss: l,
                });
            }
            total += l as f64 * batch.len() as f64;
            trained += batch.len();
            let grads = tape.backward(loss)?;
            let mut params = net.params_mut();
            let mut g: Vec<Option<Tensor>> = params.iter().map(|p| grads.of(p)).collect();
            if let Some(c) = config.clip_norm {
                clip_grad_norm(&mut g, c);
            }
            optimizer.step(&mut params, &g, lr)?;
        }
        // With L2 weight decay the objective includes its penalty, ½·decay·Σw² (as
        // scikit-learn's reported loss does), so stopping on the training loss sees it too.
        let penalty = match config.optimizer {
            OptimizerKind::AdamW => 0.0,
            _ if config.weight_decay > 0.0 => {
                let squares: f64 = net
                    .params()
                    .iter()
                    .filter(|p| p.decays())
                    .flat_map(|p| p.value().data().iter())
                    .map(|&w| f64::from(w) * f64::from(w))
                    .sum();
                0.5 * f64::from(config.weight_decay) * squares
            }
            _ => 0.0,
        };
        let train_loss = (total / trained.max(1) as f64 + penalty) as f32;
        let (validation_loss, validation_metric) = match &validation {
            Some(v) => {
                let (l, m) = evaluate(net, backend.clone(), v)?;
                if !l.is_finite() {
                    return Err(TrainError::Diverged {
                        epoch: epoch + 1,
                        loss: l,
                    });
                }
                (Some(l), Some(m))
            }
            None => (None, None),
        };
        let report = EpochReport {
            epoch: epoch + 1,
            train_loss,
            validation_loss,
            validation_metric,
            learning_rate: lr,
        };
        on_epoch(&report);
        history.epochs.push(report);
        history.best_epoch = epoch + 1;
        if let Some(patience) = config.patience {
            // As scikit-learn: an epoch counts as an improvement when it beats the best by
            // more than `tol`; the best is still updated by any decrease.
            let watched = validation_loss.unwrap_or(train_loss);
            let improved = best.as_ref().is_none_or(|(b, _)| watched < *b - config.tol);
            if best.as_ref().is_none_or(|(b, _)| watched < *b) {
                let kept = if config.keep_best {
                    net.clone()
                } else {
                    Sequential::default()
                };
                best = Some((watched, kept));
                best_at = epoch + 1;
            }
            if improved {
                since_best = 0;
            } else {
                since_best += 1;
                if since_best >= patience {
                    history.stopped_early = true;
                    break;
                }
            }
        }
    }
    if config.keep_best
        && let Some((_, kept)) = best
    {
        history.best_epoch = best_at;
        *net = kept;
    }
    if net
        .params()
        .iter()
        .any(|p| p.value().data().iter().any(|v| !v.is_finite()))
    {
        return Err(TrainError::Diverged {
            epoch: history.best_epoch,
            loss: f32::NAN,
        });
    }
    Ok(history)
}

/// The rows in batches of `size`, a last batch of one row joined to the one before (a batch
/// norm cannot normalise a single row).
fn mini_batches(rows: &[usize], size: usize) -> Vec<&[usize]> {
    let mut out: Vec<&[usize]> = rows.chunks(size).collect();
    if out.len() > 1 && out.last().is_some_and(|b| b.len() == 1) {
        out.pop();
        let start = (out.len() - 1) * size;
        let last = out.len() - 1;
        out[last] = &rows[start..];
    }
    out
}

/// Refuses a data set whose parts disagree (its fields are public).
fn check_data(data: &Dataset) -> Result<(), TrainError> {
    let rows = data.targets.len();
    if rows == 0 {
        return Err(TrainError::Data("no training rows".to_string()));
    }
    let columns = data.feature_names.len();
    if data.features.shape() != [rows, columns] {
        return Err(TrainError::Data(format!(
            "features of shape {:?} for {rows} targets and {columns} feature names",
            data.features.shape()
        )));
    }
    if let (Targets::Classes(labels), Some(classes)) = (&data.targets, &data.classes)
        && let Some(l) = labels.iter().find(|&&l| l >= classes.len())
    {
        return Err(TrainError::Data(format!(
            "class index {l} with {} classes",
            classes.len()
        )));
    }
    Ok(())
}
