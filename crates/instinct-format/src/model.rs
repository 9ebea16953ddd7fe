//! `ModelInfo`, the whole JSON document, and its parts `ValidationData` and `IdMap`.

use crate::instruction::Instruction;
use crate::quantization::{Quantization, QuantizedSlot};
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A model exactly as the JSON file describes it. Nothing here is checked: run it through
/// `instinct_validate::validate` to get something an executor accepts.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ModelInfo {
    /// Input feature names; `"name[N]"` stands for N values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<Vec<String>>,
    /// Number of input values; must agree with `features` when both are given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature_size: Option<usize>,
    /// Sizes of the computation buffers, laid out back to back; the last one is the output.
    pub buffer_sizes: Vec<usize>,
    /// The program, run in order.
    pub instructions: Vec<Instruction>,
    /// Weight slots, each `[out][in]` row-major.
    pub weights: Vec<Vec<Vec<f32>>>,
    /// Bias vectors, one per weight slot.
    pub bias: Vec<Vec<f32>>,
    /// Vectors used by element-wise instructions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Vec<Vec<f32>>>,
    /// Lookup tables used by MAP_TRANSFORM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maps: Option<Vec<IdMap>>,
    /// Rows checked when the model is loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_data: Option<ValidationData>,
    /// Extension: one name per output value (the output columns' names), in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_names: Option<Vec<String>>,
    /// Extension: a classifier's class labels, one per output value (the probability of that
    /// class), as scikit-learn's `classes_`: strings or integers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<ClassLabel>>,
    /// Extension: weight slots stored as int8 (docs/QUANTIZATION.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantization: Option<Quantization>,
}

/// A class label: text or an integer, as the classifier was trained with.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ClassLabel {
    /// An integer class (`0`, `7`, `-1`).
    Int(i64),
    /// A named class (`"setosa"`).
    Text(String),
}

impl std::fmt::Display for ClassLabel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClassLabel::Int(i) => write!(f, "{i}"),
            ClassLabel::Text(t) => f.write_str(t),
        }
    }
}

/// Input rows and the outputs the model must produce for them (checked at load, abs 1e-5).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ValidationData {
    /// One row of `feature_size` values per case.
    #[serde(serialize_with = "rows_keeping_infinities")]
    pub inputs: Vec<Vec<f32>>,
    /// One row of output-buffer values per case.
    #[serde(serialize_with = "rows_keeping_infinities")]
    pub expected_outputs: Vec<Vec<f32>>,
}

/// Writes rows of numbers, an infinity as `±1e39` (which reads back as the same infinity: it is
/// beyond the f32 range) instead of serde_json's `null`, so such rows round-trip.
fn rows_keeping_infinities<S: Serializer>(rows: &[Vec<f32>], s: S) -> Result<S::Ok, S::Error> {
    struct Number(f32);
    impl Serialize for Number {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            match self.0 {
                f32::INFINITY => s.serialize_f64(1e39),
                f32::NEG_INFINITY => s.serialize_f64(-1e39),
                v => s.serialize_f32(v),
            }
        }
    }
    struct Row<'a>(&'a [f32]);
    impl Serialize for Row<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(self.0.iter().map(|&v| Number(v)))
        }
    }
    s.collect_seq(rows.iter().map(|r| Row(r)))
}

/// A MAP_TRANSFORM table: JSON object whose keys are integers written as strings.
///
/// Entries are kept exactly as written, in file order and including duplicates, so that
/// validation can report keys that are not integers (the reference silently drops them) or that
/// denote the same integer twice (`"3"` twice, where the reference keeps the last, or `"3"` and
/// `"03"`, where it keeps an arbitrary one), and so that writing the model back reproduces the file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IdMap {
    /// `(key as written, values)` in file order.
    pub entries: Vec<(String, Vec<f32>)>,
}

impl IdMap {
    /// Builds a map from integer keys.
    pub fn from_ids(entries: impl IntoIterator<Item = (i32, Vec<f32>)>) -> IdMap {
        IdMap {
            entries: entries
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        }
    }

    /// Number of entries as written.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map has no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl Serialize for IdMap {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.entries.len()))?;
        for (k, v) in &self.entries {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for IdMap {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<IdMap, D::Error> {
        struct IdMapVisitor;
        impl<'de> Visitor<'de> for IdMapVisitor {
            type Value = IdMap;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object mapping integer keys to arrays of numbers")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<IdMap, A::Error> {
                let mut entries = Vec::new();
                while let Some((k, v)) = access.next_entry::<String, Vec<f32>>()? {
                    entries.push((k, v));
                }
                Ok(IdMap { entries })
            }
        }
        deserializer.deserialize_map(IdMapVisitor)
    }
}

impl ModelInfo {
    /// The parameter vectors, or an empty slice when the key is absent.
    pub fn parameters(&self) -> &[Vec<f32>] {
        self.parameters.as_deref().unwrap_or(&[])
    }

    /// The maps, or an empty slice when the key is absent.
    pub fn maps(&self) -> &[IdMap] {
        self.maps.as_deref().unwrap_or(&[])
    }

    /// The quantised form of weight slot `slot`, when the model has one (the first, if a
    /// broken file lists the slot twice).
    pub fn quantized_slot(&self, slot: usize) -> Option<&QuantizedSlot> {
        self.quantization
            .as_ref()
            .and_then(|q| q.slots.iter().find(|s| s.slot == slot))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_map_keeps_order_and_duplicates() {
        let m: IdMap = serde_json::from_str(r#"{"3":[1.0],"-4":[2.0],"3":[5.0]}"#).unwrap();
        assert_eq!(m.entries.len(), 3);
        assert_eq!(m.entries[1], ("-4".to_string(), vec![2.0]));
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"3":[1.0],"-4":[2.0],"3":[5.0]}"#
        );
    }

    #[test]
    fn infinite_validation_values_round_trip() {
        let data: ValidationData = serde_json::from_str(
            r#"{"inputs": [[1e39, -1e40, 2.5]], "expected_outputs": [[1.0]]}"#,
        )
        .unwrap();
        assert_eq!(data.inputs[0], [f32::INFINITY, f32::NEG_INFINITY, 2.5]);
        let text = serde_json::to_string(&data).unwrap();
        assert_eq!(serde_json::from_str::<ValidationData>(&text).unwrap(), data);
    }

    #[test]
    fn computation_buffer_sizes_key_is_not_accepted() {
        let json = r#"{"feature_size":1,"computation_buffer_sizes":[1,1],"instructions":[],"weights":[],"bias":[]}"#;
        assert!(serde_json::from_str::<ModelInfo>(json).is_err());
    }
}
