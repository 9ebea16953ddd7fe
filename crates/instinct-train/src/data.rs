//! Data for training: a numeric CSV read into a [`Table`], turned into a [`Dataset`] (features,
//! and class indices or target values), and the [`Standardizer`] fitted on the training rows.

use crate::error::TrainError;
use crate::tensor::Tensor;
use std::path::Path;

/// A CSV of numbers: the header's column names and the rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Column names, from the header.
    pub columns: Vec<String>,
    /// Rows, each as long as `columns`.
    pub rows: Vec<Vec<f32>>,
}

impl Table {
    /// Reads a CSV with a header row; every cell must be a number.
    pub fn read_csv(path: &Path) -> Result<Table, TrainError> {
        let fail = |what: String| TrainError::Data(format!("{}: {what}", path.display()));
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .trim(csv::Trim::All)
            .from_path(path)
            .map_err(|e| TrainError::Io {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        let columns: Vec<String> = reader
            .headers()
            .map_err(|e| fail(e.to_string()))?
            .iter()
            .map(str::to_string)
            .collect();
        if columns.is_empty() || columns.iter().all(String::is_empty) {
            return Err(fail("no header row".to_string()));
        }
        let mut rows = Vec::new();
        for (r, record) in reader.records().enumerate() {
            // Line 1 is the header.
            let line = r + 2;
            let record = record.map_err(|e| fail(format!("line {line}: {e}")))?;
            if record.len() != columns.len() {
                return Err(fail(format!(
                    "line {line} has {} cells, the header {}",
                    record.len(),
                    columns.len()
                )));
            }
            let row = record
                .iter()
                .zip(&columns)
                .map(|(cell, column)| match cell.parse::<f32>() {
                    Ok(v) if v.is_finite() => Ok(v),
                    _ => Err(fail(format!(
                        "line {line}, column {column:?}: {cell:?} is not a finite number"
                    ))),
                })
                .collect::<Result<Vec<f32>, _>>()?;
            rows.push(row);
        }
        if rows.is_empty() {
            return Err(fail("no data rows".to_string()));
        }
        Ok(Table { columns, rows })
    }
}

/// What a network learns to predict.
#[derive(Debug, Clone, PartialEq)]
pub enum Targets {
    /// Class indices into [`Dataset::classes`].
    Classes(Vec<usize>),
    /// One value per row.
    Values(Vec<f32>),
}

impl Targets {
    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            Targets::Classes(c) => c.len(),
            Targets::Values(v) => v.len(),
        }
    }

    /// Whether it has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The rows at `index`, in that order.
    pub fn select(&self, index: &[usize]) -> Targets {
        match self {
            Targets::Classes(c) => Targets::Classes(index.iter().map(|&i| c[i]).collect()),
            Targets::Values(v) => Targets::Values(index.iter().map(|&i| v[i]).collect()),
        }
    }
}

/// Features and targets, one row per sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// The feature columns' names.
    pub feature_names: Vec<String>,
    /// `[rows, features]`.
    pub features: Tensor,
    /// The targets.
    pub targets: Targets,
    /// For classification, the class labels in ascending order (index `i` is class `i`).
    pub classes: Option<Vec<f32>>,
}

impl Dataset {
    /// Column `target` of `table` as the target, every other column a feature. For
    /// classification the classes are the distinct target values in ascending order, or
    /// `classes` when given (from a training set, for its test set).
    pub fn from_table(
        table: &Table,
        target: &str,
        classify: bool,
        classes: Option<&[f32]>,
    ) -> Result<Dataset, TrainError> {
        let Some(t) = table.columns.iter().position(|c| c == target) else {
            return Err(TrainError::Data(format!(
                "no column {target:?}; the columns are {}",
                table.columns.join(", ")
            )));
        };
        if table.columns.len() < 2 {
            return Err(TrainError::Data(format!(
                "column {target:?} is the only column: no features"
            )));
        }
        let feature_names: Vec<String> = table
            .columns
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != t)
            .map(|(_, c)| c.clone())
            .collect();
        let mut data = Vec::with_capacity(table.rows.len() * feature_names.len());
        for row in &table.rows {
            data.extend(
                row.iter()
                    .enumerate()
                    .filter(|(i, _)| *i != t)
                    .map(|(_, v)| *v),
            );
        }
        let features = Tensor::new(&[table.rows.len(), feature_names.len()], data)?;
        let values: Vec<f32> = table.rows.iter().map(|r| r[t]).collect();
        if !classify {
            return Ok(Dataset {
                feature_names,
                features,
                targets: Targets::Values(values),
                classes: None,
            });
        }
        let classes: Vec<f32> = match classes {
            Some(c) => c.to_vec(),
            None => {
                let mut c = values.clone();
                c.sort_by(f32::total_cmp);
                c.dedup();
                if c.len() < 2 {
                    return Err(TrainError::Data(format!(
                        "column {target:?} has one class only ({}); classification needs two or more",
                        c.first().copied().unwrap_or(0.0)
                    )));
                }
                c
            }
        };
        let labels = values
            .iter()
            .enumerate()
            .map(|(r, v)| {
                classes.iter().position(|c| c == v).ok_or_else(|| {
                    TrainError::Data(format!(
                        "row {}: class {v} of column {target:?} is not among the training classes {classes:?}",
                        r + 1
                    ))
                })
            })
            .collect::<Result<Vec<usize>, _>>()?;
        Ok(Dataset {
            feature_names,
            features,
            targets: Targets::Classes(labels),
            classes: Some(classes),
        })
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    /// Whether it has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The rows at `index`, in that order.
    pub fn select(&self, index: &[usize]) -> Dataset {
        let cols = self.feature_names.len();
        let mut data = Vec::with_capacity(index.len() * cols);
        for &i in index {
            data.extend_from_slice(&self.features.data()[i * cols..(i + 1) * cols]);
        }
        Dataset {
            feature_names: self.feature_names.clone(),
            features: Tensor::new(&[index.len(), cols], data).expect("shape matches"),
            targets: self.targets.select(index),
            classes: self.classes.clone(),
        }
    }
}

/// Per-feature standardisation `(x − mean) / std`, fitted on training rows; a constant feature
/// keeps a scale of 1.
#[derive(Debug, Clone, PartialEq)]
pub struct Standardizer {
    /// Means.
    pub mean: Vec<f32>,
    /// Standard deviations (1 where a feature is constant).
    pub std: Vec<f32>,
}

impl Standardizer {
    /// Fitted on `features` (`[rows, columns]`).
    pub fn fit(features: &Tensor) -> Standardizer {
        let (rows, cols) = features.dims2().unwrap_or((0, 0));
        let mut mean = vec![0.0f64; cols];
        for row in features.data().chunks_exact(cols.max(1)) {
            for (m, &v) in mean.iter_mut().zip(row) {
                *m += v as f64;
            }
        }
        for m in &mut mean {
            *m /= rows.max(1) as f64;
        }
        let mut var = vec![0.0f64; cols];
        for row in features.data().chunks_exact(cols.max(1)) {
            for ((s, &v), m) in var.iter_mut().zip(row).zip(&mean) {
                *s += (v as f64 - m).powi(2);
            }
        }
        let std = var
            .iter()
            .map(|s| {
                let sd = (s / rows.max(1) as f64).sqrt() as f32;
                if sd > 1e-12 && sd.is_finite() {
                    sd
                } else {
                    1.0
                }
            })
            .collect();
        Standardizer {
            mean: mean.into_iter().map(|m| m as f32).collect(),
            std,
        }
    }

    /// The multipliers `1 / std` and offsets `−mean / std` of `x · s + o`, as the exported
    /// model applies them.
    pub fn scale_and_offset(&self) -> (Vec<f32>, Vec<f32>) {
        let scale: Vec<f32> = self.std.iter().map(|s| 1.0 / s).collect();
        let offset = self.mean.iter().zip(&scale).map(|(m, s)| -m * s).collect();
        (scale, offset)
    }

    /// `features` standardised, with the same arithmetic as the exported model (`x · s + o`).
    pub fn apply(&self, features: &Tensor) -> Tensor {
        let (scale, offset) = self.scale_and_offset();
        let mut out = features.clone();
        for row in out.data_mut().chunks_exact_mut(scale.len().max(1)) {
            for ((v, s), o) in row.iter_mut().zip(&scale).zip(&offset) {
                *v = *v * s + o;
            }
        }
        out
    }
}
