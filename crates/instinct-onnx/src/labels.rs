//! A classifier's class labels, found where scikit-learn's converters put them: the `ZipMap`'s
//! and `LinearClassifier`'s `classlabels_*` attributes, or the classes tensor the label side
//! picks from with `ArrayFeatureExtractor`.

use crate::proto::{GraphProto, NodeProto, TensorProto};
use instinct_format::ClassLabel;

/// The class labels of `graph`, one per output value (`outputs` of them), if it names any: the
/// first of a `ZipMap`'s, a `LinearClassifier`'s or an `ArrayFeatureExtractor`'s classes
/// tensor that has as many labels as the model has outputs, none twice (the format refuses a
/// label twice; a graph may well hold such a list, and then names no classes).
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
        .find(|labels| {
            let mut seen = std::collections::HashSet::new();
            labels.len() == outputs && labels.iter().all(|label| seen.insert(label))
        })
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

/// Labels from a 1-D int32, int64 or string tensor. skl2onnx writes int32 classes when
/// scikit-learn's `classes_` are whole floats (a target read as `0.0, 1.0, 2.0`), and casts the
/// picked one to int64 after.
fn tensor_labels(tensor: &TensorProto) -> Option<Vec<ClassLabel>> {
    const INT32: i32 = 6;
    const INT64: i32 = 7;
    const STRING: i32 = 8;
    let raw = |width: usize, value: fn(&[u8]) -> i64| {
        let raw = tensor.raw_data.as_deref()?;
        (raw.len() % width == 0).then(|| {
            raw.chunks_exact(width)
                .map(|b| ClassLabel::Int(value(b)))
                .collect()
        })
    };
    match tensor.data_type? {
        INT64 if !tensor.int64_data.is_empty() => Some(
            tensor
                .int64_data
                .iter()
                .map(|&i| ClassLabel::Int(i))
                .collect(),
        ),
        INT64 => raw(8, |b| i64::from_le_bytes(b.try_into().unwrap_or_default())),
        INT32 if !tensor.int32_data.is_empty() => Some(
            tensor
                .int32_data
                .iter()
                .map(|&i| ClassLabel::Int(i.into()))
                .collect(),
        ),
        INT32 => raw(4, |b| {
            i32::from_le_bytes(b.try_into().unwrap_or_default()).into()
        }),
        STRING if !tensor.string_data.is_empty() => {
            Some(tensor.string_data.iter().map(|s| text_label(s)).collect())
        }
        _ => None,
    }
}

fn text_label(bytes: &[u8]) -> ClassLabel {
    ClassLabel::Text(String::from_utf8_lossy(bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::AttributeProto;

    fn node(op: &str, inputs: &[&str], attribute: Vec<AttributeProto>) -> NodeProto {
        NodeProto {
            op_type: Some(op.into()),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            attribute,
            ..Default::default()
        }
    }

    fn strings(name: &str, values: &[&str]) -> AttributeProto {
        AttributeProto {
            name: Some(name.into()),
            strings: values.iter().map(|s| s.as_bytes().to_vec()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn string_and_integer_classes_are_found_where_skl2onnx_puts_them() {
        let text = |s: &str| ClassLabel::Text(s.into());
        // ZipMap's strings; a LinearClassifier's of another count is passed over.
        let graph = GraphProto {
            node: vec![
                node(
                    "LinearClassifier",
                    &["x"],
                    vec![strings("classlabels_strings", &["a", "b"])],
                ),
                node(
                    "ZipMap",
                    &["p"],
                    vec![strings("classlabels_strings", &["cat", "dog", "emu"])],
                ),
            ],
            ..Default::default()
        };
        assert_eq!(
            class_labels(&graph, 3),
            Some(vec![text("cat"), text("dog"), text("emu")])
        );
        assert_eq!(class_labels(&graph, 2), Some(vec![text("a"), text("b")]));
        assert_eq!(class_labels(&graph, 4), None);
        // A label twice names no classes (the model would be invalid).
        let twice = GraphProto {
            node: vec![node(
                "ZipMap",
                &["p"],
                vec![strings("classlabels_strings", &["x", "x"])],
            )],
            ..Default::default()
        };
        assert_eq!(class_labels(&twice, 2), None);
        // The classes tensor an ArrayFeatureExtractor picks the label from: strings, or int64
        // stored raw.
        let classes = |tensor: TensorProto| GraphProto {
            node: vec![node(
                "ArrayFeatureExtractor",
                &["classes", "argmax"],
                vec![],
            )],
            initializer: vec![TensorProto {
                name: Some("classes".into()),
                ..tensor
            }],
            ..Default::default()
        };
        let names = classes(TensorProto {
            data_type: Some(8),
            string_data: vec![b"no".to_vec(), b"yes".to_vec()],
            ..Default::default()
        });
        assert_eq!(class_labels(&names, 2), Some(vec![text("no"), text("yes")]));
        let raw = classes(TensorProto {
            data_type: Some(7),
            raw_data: Some([3i64, -1].iter().flat_map(|i| i.to_le_bytes()).collect()),
            ..Default::default()
        });
        assert_eq!(
            class_labels(&raw, 2),
            Some(vec![ClassLabel::Int(3), ClassLabel::Int(-1)])
        );
        // int32, as skl2onnx writes classes that were whole floats: packed, and raw.
        let ints = Some(vec![
            ClassLabel::Int(0),
            ClassLabel::Int(1),
            ClassLabel::Int(2),
        ]);
        let packed = classes(TensorProto {
            data_type: Some(6),
            int32_data: vec![0, 1, 2],
            ..Default::default()
        });
        assert_eq!(class_labels(&packed, 3), ints);
        let raw = classes(TensorProto {
            data_type: Some(6),
            raw_data: Some([0i32, 1, 2].iter().flat_map(|i| i.to_le_bytes()).collect()),
            ..Default::default()
        });
        assert_eq!(class_labels(&raw, 3), ints);
    }
}
