//! ONNX graphs built message by message, shared by the integration tests.
// Each test binary uses only some of these.
#![allow(dead_code)]

use instinct_onnx::proto::{
    GraphProto, ModelProto, NodeProto, TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
    tensor_shape_proto, type_proto,
};
use prost::Message;

/// A `[batch, width]` float input.
pub fn input(name: &str, width: i64) -> ValueInfoProto {
    let dim = |v: Option<i64>| tensor_shape_proto::Dimension {
        value: v.map(tensor_shape_proto::dimension::Value::DimValue),
        ..Default::default()
    };
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(1),
                shape: Some(TensorShapeProto {
                    dim: vec![dim(None), dim(Some(width))],
                }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn output(name: &str) -> ValueInfoProto {
    ValueInfoProto {
        name: Some(name.into()),
        ..Default::default()
    }
}

pub fn node(op: &str, name: &str, inputs: &[&str], outputs: &[&str]) -> NodeProto {
    NodeProto {
        op_type: Some(op.into()),
        name: Some(name.into()),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

pub fn ints(name: &str, values: &[i64]) -> TensorProto {
    TensorProto {
        name: Some(name.into()),
        dims: vec![values.len() as i64],
        data_type: Some(7),
        int64_data: values.to_vec(),
        ..Default::default()
    }
}

/// A model of one graph over a per-sample input `x` of `width` values, encoded.
pub fn graph(
    width: i64,
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    out: &str,
) -> Vec<u8> {
    ModelProto {
        graph: Some(GraphProto {
            node: nodes,
            initializer: initializers,
            input: vec![input("x", width)],
            output: vec![output(out)],
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode_to_vec()
}

pub fn floats(name: &str, dims: &[i64], values: &[f32]) -> TensorProto {
    TensorProto {
        name: Some(name.into()),
        dims: dims.to_vec(),
        data_type: Some(1),
        float_data: values.to_vec(),
        ..Default::default()
    }
}
