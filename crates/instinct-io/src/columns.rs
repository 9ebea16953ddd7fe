//! `Columns`, what a model takes from each input row, `OutputColumns`, what each output row
//! holds, and the matching of an input's named columns to its features and to the columns to
//! keep: by name in any order, every missing name reported at once.

use crate::error::DataError;
use crate::format::DataFormat;
use std::collections::HashMap;

/// What a model takes: the values of a row, their names when the model has them (columns are
/// then matched by name), and the input columns to copy through to the output.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Columns {
    /// Values per row.
    pub size: usize,
    /// The features' names, in the model's order, if it names them.
    pub names: Option<Vec<String>>,
    /// Input columns to keep beside the outputs (an id, a timestamp), by name.
    pub keep: Vec<String>,
}

impl Columns {
    /// `size` values per row, matched by `names` when given, nothing kept.
    pub fn new(size: usize, names: Option<Vec<String>>) -> Columns {
        Columns {
            size,
            names,
            keep: Vec::new(),
        }
    }
}

/// The columns of the output: the kept input columns, then the model's outputs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OutputColumns {
    /// The kept input columns' names, written first.
    pub kept: Vec<String>,
    /// One name per output value (`output_0`, … or the model's own names).
    pub outputs: Vec<String>,
}

impl OutputColumns {
    /// Whether rows with these columns can be written as `format`, or why not.
    pub fn check(&self, format: DataFormat) -> Result<(), DataError> {
        if format == DataFormat::Npy && !self.kept.is_empty() {
            let names: Vec<String> = self.kept.iter().map(|n| format!("{n:?}")).collect();
            return Err(DataError::invalid(format!(
                "a .npy array holds only numbers, so it cannot hold the columns {} beside the \
                 outputs; write CSV, JSON, JSON Lines, Parquet or Arrow",
                names.join(", ")
            )));
        }
        Ok(())
    }
}

/// Where each feature and each kept column is in the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Matched {
    /// `features[i]`: the input column feeding the model's value `i`.
    pub features: Vec<usize>,
    /// `kept[j]`: the input column of `columns.keep[j]`.
    pub kept: Vec<usize>,
}

/// Matches the input's column `names` to `columns`. With feature names, features are found by
/// name and other columns ignored; without them, the input's columns that are not kept are the
/// features in order and must be as many as the model takes. A name the input lacks is
/// `Invalid`, listing every one missing; a name the input holds twice is ambiguous and refused.
pub(crate) fn match_columns(names: &[String], columns: &Columns) -> Result<Matched, DataError> {
    let mut position: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, name) in names.iter().enumerate() {
        position.entry(name.as_str()).or_default().push(i);
    }
    let mut missing = Vec::new();
    let mut find = |name: &str| -> Result<usize, DataError> {
        match position.get(name).map(Vec::as_slice) {
            Some([i]) => Ok(*i),
            Some(_) => Err(DataError::invalid(format!(
                "the input names column {name:?} more than once"
            ))),
            None => {
                missing.push(format!("{name:?}"));
                Ok(usize::MAX)
            }
        }
    };
    let kept = columns
        .keep
        .iter()
        .map(|name| find(name))
        .collect::<Result<Vec<_>, _>>()?;
    let features = match &columns.names {
        Some(features) => features
            .iter()
            .map(|name| find(name))
            .collect::<Result<Vec<_>, _>>()?,
        None => (0..names.len()).filter(|i| !kept.contains(i)).collect(),
    };
    if !missing.is_empty() {
        return Err(DataError::invalid(format!(
            "the input has no column {} (its columns: {})",
            missing.join(", "),
            shown_names(names)
        )));
    }
    if columns.names.is_none() && features.len() != columns.size {
        return Err(DataError::invalid(format!(
            "the input has {} columns{}, the model takes {} values and names no features to match them by",
            features.len(),
            if kept.is_empty() {
                ""
            } else {
                " besides the kept ones"
            },
            columns.size
        )));
    }
    Ok(Matched { features, kept })
}

/// The input's column names for a message: all of them, or the first 20 and how many more.
fn shown_names(names: &[String]) -> String {
    const SHOWN: usize = 20;
    let mut text = names
        .iter()
        .take(SHOWN)
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        text.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn columns(names: Option<&[&str]>, keep: &[&str], size: usize) -> Columns {
        Columns {
            size,
            names: names.map(strings),
            keep: strings(keep),
        }
    }

    #[test]
    fn names_match_in_any_order_and_every_missing_one_is_named() {
        let input = strings(&["id", "b", "x", "a"]);
        let m = match_columns(&input, &columns(Some(&["a", "b"]), &["id"], 2)).unwrap();
        assert_eq!(
            m,
            Matched {
                features: vec![3, 1],
                kept: vec![0]
            }
        );
        let e = match_columns(&input, &columns(Some(&["a", "c", "d"]), &["when"], 3)).unwrap_err();
        assert_eq!(e.kind, crate::DataErrorKind::Invalid);
        assert!(
            e.message
                .starts_with("the input has no column \"when\", \"c\", \"d\""),
            "{}",
            e.message
        );
        let twice = strings(&["a", "a", "b"]);
        let e = match_columns(&twice, &columns(Some(&["a", "b"]), &[], 2)).unwrap_err();
        assert!(e.message.contains("more than once"), "{}", e.message);
    }

    #[test]
    fn without_feature_names_the_columns_not_kept_are_the_features() {
        let input = strings(&["x", "id", "y"]);
        let m = match_columns(&input, &columns(None, &["id"], 2)).unwrap();
        assert_eq!(m.features, [0, 2]);
        let e = match_columns(&input, &columns(None, &[], 2)).unwrap_err();
        assert!(e.message.contains("has 3 columns"), "{}", e.message);
    }
}
