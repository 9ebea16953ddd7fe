//! `predict --label` and `--top-k K`: a classifier's most probable class labels (and their
//! probabilities) as extra columns beside the outputs, from the class labels the model carries.

use crate::failure::Failure;
use anyhow::anyhow;
use instinct::format::ClassLabel;
use instinct_io::KeptColumn;
use serde_json::Value;

/// The label columns asked for, and the model's labels they are taken from.
pub struct Labeller {
    labels: Vec<ClassLabel>,
    /// Whether every label is an integer.
    all_integers: bool,
    /// Write the most probable class's label as `label`.
    label: bool,
    /// Write the `k` most probable classes as `label_i`, `probability_i`.
    top_k: usize,
}

impl Labeller {
    /// The labeller for `--label` and `--top-k`, `None` when neither was asked for; a model
    /// without class labels, or a `k` above the class count, is a usage error (clap refuses
    /// a `k` of 0).
    pub fn new(
        labels: Option<&[ClassLabel]>,
        label: bool,
        top_k: Option<usize>,
    ) -> Result<Option<Labeller>, Failure> {
        if !label && top_k.is_none() {
            return Ok(None);
        }
        let Some(labels) = labels else {
            return Err(Failure::invalid(anyhow!(
                "--label and --top-k need a classifier's class labels, and the model has none \
                 (instinct train stores them for a classification target; instinct convert keeps \
                 a scikit-learn classifier's)"
            )));
        };
        let top_k = top_k.unwrap_or(0);
        if top_k > labels.len() {
            return Err(Failure::invalid(anyhow!(
                "--top-k {top_k}: the model has {} classes",
                labels.len()
            )));
        }
        Ok(Some(Labeller {
            all_integers: labels.iter().all(|l| matches!(l, ClassLabel::Int(_))),
            labels: labels.to_vec(),
            label,
            top_k,
        }))
    }

    /// The names of the columns added, in order.
    pub fn column_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        if self.label {
            names.push("label".to_string());
        }
        for i in 1..=self.top_k {
            names.push(format!("label_{i}"));
            names.push(format!("probability_{i}"));
        }
        names
    }

    /// The added columns for `rows` rows of outputs (`values`, one per class each): the label
    /// of the largest output, then the `k` largest with their values, in the order of
    /// [`instinct::labels::rank_classes`] (the first of equals, as numpy's `nanargmax`; NaN is
    /// never the largest; null when every output is NaN).
    pub fn columns(&self, values: &[f32], rows: usize) -> Vec<KeptColumn> {
        let classes = self.labels.len();
        let mut label = Vec::with_capacity(if self.label { rows } else { 0 });
        let mut top: Vec<Vec<Value>> = vec![Vec::with_capacity(rows); 2 * self.top_k];
        let mut order: Vec<usize> = Vec::with_capacity(classes);
        for row in values.chunks_exact(classes.max(1)).take(rows) {
            instinct::labels::rank_classes(row, &mut order);
            if self.label {
                label.push(order.first().map_or(Value::Null, |&c| self.value_of(c)));
            }
            for i in 0..self.top_k {
                let (name, probability) = match order.get(i) {
                    Some(&c) => (self.value_of(c), number(row[c])),
                    None => (Value::Null, Value::Null),
                };
                top[2 * i].push(name);
                top[2 * i + 1].push(probability);
            }
        }
        let mut columns = Vec::new();
        if self.label {
            columns.push(KeptColumn::Json(label));
        }
        columns.extend(top.into_iter().map(KeptColumn::Json));
        columns
    }

    /// Class `class`'s label as a cell: an integer when every label is one, else text (a
    /// column of one type, whichever classes a chunk's rows pick).
    fn value_of(&self, class: usize) -> Value {
        match &self.labels[class] {
            ClassLabel::Int(i) if self.all_integers => Value::from(*i),
            label => Value::String(label.to_string()),
        }
    }
}

/// An f32 as the JSON number of its shortest text (0.1, not 0.10000000149011612).
fn number(x: f32) -> Value {
    let shortest: f64 = ryu::Buffer::new().format(x).parse().unwrap_or(f64::NAN);
    serde_json::Number::from_f64(shortest).map_or(Value::Null, Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_output_names_the_label_and_ties_go_to_the_first_class() {
        let labels = [
            ClassLabel::Text("cat".into()),
            ClassLabel::Int(7),
            ClassLabel::Text("dog".into()),
        ];
        let labeller = Labeller::new(Some(&labels), true, Some(2))
            .unwrap()
            .unwrap();
        assert_eq!(
            labeller.column_names(),
            [
                "label",
                "label_1",
                "probability_1",
                "label_2",
                "probability_2"
            ]
        );
        let values = [0.1, 0.7, 0.2, 0.4, 0.2, 0.4, f32::NAN, f32::NAN, f32::NAN];
        let columns = labeller.columns(&values, 3);
        let json = |c: &KeptColumn| match c {
            KeptColumn::Json(v) => serde_json::to_string(v).unwrap(),
            other => panic!("{other:?}"),
        };
        // Mixed labels are all text, so the column has one type whichever rows a chunk holds.
        assert_eq!(json(&columns[0]), r#"["7","cat",null]"#);
        assert_eq!(json(&columns[1]), r#"["7","cat",null]"#);
        assert_eq!(json(&columns[2]), "[0.7,0.4,null]");
        assert_eq!(json(&columns[3]), r#"["dog","dog",null]"#);
        assert_eq!(json(&columns[4]), "[0.2,0.4,null]");
        assert!(Labeller::new(Some(&labels), false, Some(4)).is_err());
        assert!(Labeller::new(None, true, None).is_err());
        assert!(Labeller::new(None, false, None).unwrap().is_none());
    }
}
