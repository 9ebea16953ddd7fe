//! [`Value`]: what an ONNX value (a graph input, an initializer, a node's output) is to the
//! converter.

use std::rc::Rc;

/// What an ONNX value is to the converter.
#[derive(Debug, Clone)]
pub(super) enum Value {
    /// A constant float tensor: its shape and values. Shared: `input()`, Identity, Cast… clone
    /// the `Rc`, never the values.
    Floats(Rc<Vec<usize>>, Rc<Vec<f32>>),
    /// A constant integer tensor (shapes, indices).
    Ints(Rc<Vec<i64>>),
    /// One vector per sample: the whole of a format buffer. `probabilities`: a softmax's (or
    /// logistic's) output, whose L1 normalisation changes nothing.
    Vector {
        buffer: usize,
        width: usize,
        probabilities: bool,
    },
    /// A label or other value the format does not carry.
    Dropped,
    /// A graph input after the first (the features): it varies from call to call, so no node
    /// may read it as a constant.
    Runtime,
    /// An initializer of a type the converter does not read (float16, int32…), and why: a node
    /// reading it is refused.
    Unreadable(String),
}
