//! A classifier's class labels, found where scikit-learn's converters put them: the `ZipMap`'s
//! and `LinearClassifier`'s `classlabels_*` attributes, or the classes tensor the label side
//! picks from with `ArrayFeatureExtractor`.

use crate::proto::{GraphProto, NodeProto, TensorProto};
use instinct_format::ClassLabel;

/// The class labels of `graph`, one per output value (`outputs` of them), if it names any: the
/// first of a `ZipMap`'s, a `LinearClassifier`'s or an `ArrayFeatureExtractor`'s classes
/// tensor that has as many labels as the model has outputs.
pub(crate) fn class_labels(graph: &GraphProto, outputs: usize) -> Option<Vec<ClassLabel>> {
    graph
        .node
        .iter()
        .filter_map(|node| match node.op_type.as_deref()? {
            "ZipMap" => attribute_labels(node, "classlabels_int64s", "classlabels_strings"),
            "LinearClassifier" => attribute_labels(node, "classlabels_ints", "classlabels_strings"),
            "ArrayFeatureExtractor" => {
                let classes = node.input.first()?;
                let tensor = graph
                    .initializer
                    .iter()
                    .find(|t| t.name.as_ref() == Some(classes))?;
                tensor_labels(tensor)
            }
            _ => None,
        })
        .find(|labels| labels.len() == outputs)
}

/// Labels from integer attribute `ints` or string attribute `strings` of `node`.
fn attribute_labels(node: &NodeProto, ints: &str, strings: &str) -> Option<Vec<ClassLabel>> {
    let named = |name: &str| {
        node.attribute
            .iter()
            .find(|a| a.name.as_deref() == Some(name))
    };
    if let Some(a) = named(ints).filter(|a| !a.ints.is_empty()) {
        return Some(a.ints.iter().map(|&i| ClassLabel::Int(i)).collect());
    }
    let a = named(strings).filter(|a| !a.strings.is_empty())?;
    Some(a.strings.iter().map(|s| text_label(s)).collect())
}

/// Labels from a 1-D int64 or string tensor.
fn tensor_labels(tensor: &TensorProto) -> Option<Vec<ClassLabel>> {
    const INT64: i32 = 7;
    const STRING: i32 = 8;
    match tensor.data_type? {
        INT64 if !tensor.int64_data.is_empty() => Some(
            tensor
                .int64_data
                .iter()
                .map(|&i| ClassLabel::Int(i))
                .collect(),
        ),
        INT64 => {
            let raw = tensor.raw_data.as_deref()?;
            (raw.len() % 8 == 0).then(|| {
                raw.chunks_exact(8)
                    .map(|b| ClassLabel::Int(i64::from_le_bytes(b.try_into().unwrap_or_default())))
                    .collect()
            })
        }
        STRING if !tensor.string_data.is_empty() => {
            Some(tensor.string_data.iter().map(|s| text_label(s)).collect())
        }
        _ => None,
    }
}

fn text_label(bytes: &[u8]) -> ClassLabel {
    ClassLabel::Text(String::from_utf8_lossy(bytes).into_owned())
}
