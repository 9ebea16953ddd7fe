//! Data for training: a CSV read into a [`Table`], turned into a [`Dataset`] (features, and
//! class indices or target values), and the [`Standardizer`] fitted on the training rows.

use crate::error::TrainError;
use crate::tensor::Tensor;
use instinct_format::ClassLabel;
use std::fmt;

pub use crate::table::{Column, Table};

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

/// The classes of a classifier, in the order of its outputs: distinct numbers in ascending
/// order, or distinct texts in the order of their bytes (as scikit-learn's `classes_`).
#[derive(Debug, Clone, PartialEq)]
pub enum Classes {
    /// From a target column of numbers.
    Numbers(Vec<f32>),
    /// From a target column of text.
    Text(Vec<String>),
}

impl Classes {
    /// The distinct values of `column`, sorted.
    pub fn of(column: &Column) -> Classes {
        match column {
            Column::Numbers(v) => {
                let mut c = v.clone();
                c.sort_by(f32::total_cmp);
                c.dedup();
                Classes::Numbers(c)
            }
            Column::Text(v) => {
                let mut c = v.clone();
                c.sort();
                c.dedup();
                Classes::Text(c)
            }
        }
    }

    /// Number of classes.
    pub fn len(&self) -> usize {
        match self {
            Classes::Numbers(c) => c.len(),
            Classes::Text(c) => c.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The index of the class of `column`'s cell `row`. Between numbers and text, a number
    /// matches a text that reads as the same number (`2` matches `"2"` and `"2.0"`), the
    /// text written the same way first.
    fn index(&self, column: &Column, row: usize) -> Option<usize> {
        let same_number = |text: &str, n: f32| text.parse::<f32>().is_ok_and(|t| t == n);
        match (self, column) {
            (Classes::Numbers(c), Column::Numbers(v)) => c.iter().position(|x| *x == v[row]),
            (Classes::Text(c), Column::Text(v)) => c.iter().position(|x| *x == v[row]),
            (Classes::Numbers(c), Column::Text(v)) => {
                c.iter().position(|&x| same_number(&v[row], x))
            }
            (Classes::Text(c), Column::Numbers(v)) => {
                let n = v[row];
                let shortest = n.to_string();
                c.iter()
                    .position(|x| *x == shortest)
                    .or_else(|| c.iter().position(|x| same_number(x, n)))
            }
        }
    }

    /// The labels a model stores: a whole number as an integer, any other number as its
    /// shortest text, a text as it is.
    pub fn labels(&self) -> Vec<ClassLabel> {
        match self {
            Classes::Numbers(c) => c
                .iter()
                .map(|&c| {
                    if c.fract() == 0.0 && c.abs() < 1e15 {
                        ClassLabel::Int(c as i64)
                    } else {
                        ClassLabel::Text(c.to_string())
                    }
                })
                .collect(),
            Classes::Text(c) => c.iter().cloned().map(ClassLabel::Text).collect(),
        }
    }
}

/// The classes separated by commas: `0, 1, 2` or `setosa, versicolor, virginica`.
impl fmt::Display for Classes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let texts: Vec<String> = match self {
            Classes::Numbers(c) => c.iter().map(f32::to_string).collect(),
            Classes::Text(c) => c.clone(),
        };
        f.write_str(&texts.join(", "))
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
    /// For classification, the classes (index `i` is class `i`).
    pub classes: Option<Classes>,
}

impl Dataset {
    /// Column `target` of `table` as the target, every other column a feature (each must be
    /// numbers). For classification the classes are the target's distinct values sorted
    /// ([`Classes::of`]), or `classes` when given (from a training set, for its test set);
    /// regression needs a target of numbers.
    pub fn from_table(
        table: &Table,
        target: &str,
        classify: bool,
        classes: Option<&Classes>,
    ) -> Result<Dataset, TrainError> {
        let Some(t) = table.names.iter().position(|c| c == target) else {
            return Err(TrainError::Data(format!(
                "no column {target:?}; the columns are {}",
                table.names.join(", ")
            )));
        };
        if table.names.len() < 2 {
            return Err(TrainError::Data(format!(
                "column {target:?} is the only column: no features"
            )));
        }
        let rows = table.rows();
        let mut feature_names = Vec::with_capacity(table.names.len() - 1);
        let mut feature_columns = Vec::with_capacity(table.names.len() - 1);
        for (i, (name, column)) in table.names.iter().zip(&table.columns).enumerate() {
            if i == t {
                continue;
            }
            match column {
                Column::Numbers(v) => feature_columns.push(v),
                Column::Text(_) => return Err(not_a_number(table, i, "")),
            }
            feature_names.push(name.clone());
        }
        let mut data = Vec::with_capacity(rows * feature_names.len());
        for r in 0..rows {
            data.extend(feature_columns.iter().map(|c| c[r]));
        }
        let features = Tensor::new(&[rows, feature_names.len()], data)?;
        let column = &table.columns[t];
        if !classify {
            let Column::Numbers(values) = column else {
                return Err(not_a_number(
                    table,
                    t,
                    "; a regression target must be numbers",
                ));
            };
            return Ok(Dataset {
                feature_names,
                features,
                targets: Targets::Values(values.clone()),
                classes: None,
            });
        }
        if let Column::Text(cells) = column
            && let Some(r) = cells.iter().position(String::is_empty)
        {
            return Err(TrainError::Data(format!(
                "line {}, column {target:?}: the class is empty; every row needs one",
                table.line(r)
            )));
        }
        let classes = match classes {
            Some(c) => c.clone(),
            None => {
                let c = Classes::of(column);
                if c.len() < 2 {
                    return Err(TrainError::Data(format!(
                        "column {target:?} has one class only ({c}); classification needs two or more"
                    )));
                }
                c
            }
        };
        let labels = (0..rows)
            .map(|r| {
                classes.index(column, r).ok_or_else(|| {
                    TrainError::Data(format!(
                        "line {}: class {} of column {target:?} is not among the training classes ({classes})",
                        table.line(r),
                        cell_text(column, r)
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

/// Cell `row` of `column` as the user wrote it (a number in its shortest form).
fn cell_text(column: &Column, row: usize) -> String {
    match column {
        Column::Numbers(v) => v[row].to_string(),
        Column::Text(v) => format!("{:?}", v[row]),
    }
}

/// The error for column `c` of `table`, text where numbers are needed, naming its first cell
/// that is not one.
fn not_a_number(table: &Table, c: usize, why: &str) -> TrainError {
    let name = &table.names[c];
    let (row, cell) = table.columns[c].first_non_number().unwrap_or((0, ""));
    TrainError::Data(format!(
        "line {}, column {name:?}: {cell:?} is not a finite number{why}",
        table.line(row)
    ))
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
