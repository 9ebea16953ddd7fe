//! The graph walk: every node of an ONNX graph, in order, mapped onto buffers and instructions of
//! the format (DOT with its bias and activation folded in, ADD/MUL/CLIP_ELEMENTWISE, ACTIVATION,
//! COPY), or refused with the reason; label outputs dropped.

use crate::error::Refusal;
use crate::proto::{AttributeProto, GraphProto, NodeProto};
use instinct_format::{Activation, Instruction, Limits, ModelBuilder, ModelInfo};
use std::collections::HashMap;
use std::rc::Rc;

mod constant;
mod node;
mod value;

use constant::tensor;
use value::Value;

/// A DOT whose output buffer may still take a bias or an activation.
#[derive(Debug, Clone, Copy)]
struct OpenDot {
    instruction: usize,
    slot: usize,
}

/// Elements emitted so far, each checked against its limit before it is allocated.
#[derive(Debug, Default)]
struct Spent {
    weights: usize,
    parameters: usize,
    buffers: usize,
    instructions: usize,
    /// Elements of initializers and Constant tensors decoded.
    constants: usize,
}

/// The model under construction.
struct Converter {
    values: HashMap<String, Value>,
    /// How many nodes (and graph outputs) read each value.
    readers: HashMap<String, usize>,
    /// For each buffer, the reads not yet done of every name bound to it: the sum
    /// `buffer_readers` used to recompute over all values, kept up to date by `bind` and `node`.
    pending: Vec<usize>,
    limits: Limits,
    spent: Spent,
    /// Set when a limit is passed: the walk stops after the current node.
    stop: Option<Refusal>,
    buffers: Vec<usize>,
    instructions: Vec<Instruction>,
    weights: Vec<(Vec<Vec<f32>>, Vec<f32>)>,
    parameters: Vec<Vec<f32>>,
    open: HashMap<usize, OpenDot>,
    refusals: Vec<Refusal>,
}

fn attribute<'a>(node: &'a NodeProto, name: &str) -> Option<&'a AttributeProto> {
    node.attribute
        .iter()
        .find(|a| a.name.as_deref() == Some(name))
}

/// The widest per-sample vector the converter makes (features, a layer, a join).
const MAX_WIDTH: usize = 1 << 20;

fn attr_f(node: &NodeProto, name: &str, default: f32) -> f32 {
    attribute(node, name).and_then(|a| a.f).unwrap_or(default)
}

fn attr_i(node: &NodeProto, name: &str, default: i64) -> i64 {
    attribute(node, name).and_then(|a| a.i).unwrap_or(default)
}

fn attr_s(node: &NodeProto, name: &str) -> Option<String> {
    attribute(node, name)
        .and_then(|a| a.s.as_ref())
        .map(|s| String::from_utf8_lossy(s).into_owned())
}

fn attr_floats(node: &NodeProto, name: &str) -> Vec<f32> {
    attribute(node, name).map_or_else(Vec::new, |a| a.floats.clone())
}

/// A per-sample vector of plain numbers (not probabilities) in `buffer`.
fn numbers(buffer: usize, width: usize) -> Value {
    Value::Vector {
        buffer,
        width,
        probabilities: false,
    }
}

/// `values` as one value per column of `width` (a scalar or one-element tensor repeated), or
/// `None` when the shape does not broadcast over one sample's vector.
fn per_column(shape: &[usize], values: &[f32], width: usize) -> Option<Vec<f32>> {
    // A constant of rank 3 or more would raise the result's rank (the batch no longer first).
    if shape.len() > 2 {
        return None;
    }
    let rows = shape
        .iter()
        .rev()
        .skip(1)
        .try_fold(1usize, |n, &d| n.checked_mul(d))?;
    match (values.len(), rows) {
        (1, _) => Some(vec![values[0]; width]),
        (n, 1) if n == width => Some(values.to_vec()),
        _ => None,
    }
}

impl Converter {
    fn refuse(&mut self, node: &NodeProto, why: impl Into<String>) {
        self.refusals.push(Refusal {
            op: if node.domain.as_deref().unwrap_or("").is_empty() {
                node.op_type.clone().unwrap_or_default()
            } else {
                format!(
                    "{}:{}",
                    node.domain.as_deref().unwrap_or(""),
                    node.op_type.as_deref().unwrap_or("")
                )
            },
            name: node.name.clone().unwrap_or_default(),
            why: why.into(),
        });
        for out in &node.output {
            self.bind(out.clone(), Value::Dropped);
        }
    }

    /// Binds `name` to `value`, moving its pending reads off the buffer it held (if any) onto
    /// the buffer it holds now (if any). Every change of `values` after the reads are counted
    /// goes through here, so `pending[b]` is always what the old `buffer_readers` summed.
    fn bind(&mut self, name: String, value: Value) {
        let reads = self.readers.get(&name).copied().unwrap_or(0);
        if let Some(Value::Vector { buffer, .. }) = self.values.get(&name) {
            self.pending[*buffer] -= reads;
        }
        if let Value::Vector { buffer, .. } = &value {
            self.pending[*buffer] += reads;
        }
        self.values.insert(name, value);
    }

    /// Counts `n` more elements of a pool (`weight`, `parameter`, `buffer`, `instruction`)
    /// against its limit. Past it: records why, asks the walk to stop after this node, and
    /// returns false (the caller must not allocate them).
    fn spend(&mut self, pool: &'static str, n: usize) -> bool {
        let (spent, max) = match pool {
            "weight" => (&mut self.spent.weights, self.limits.max_weight_elements),
            "parameter" => (
                &mut self.spent.parameters,
                self.limits.max_parameter_elements,
            ),
            "buffer" => (&mut self.spent.buffers, self.limits.max_buffer_elements),
            _ => (&mut self.spent.instructions, self.limits.max_instructions),
        };
        *spent = spent.saturating_add(n);
        if *spent <= max {
            return true;
        }
        if self.stop.is_none() {
            self.stop = Some(Refusal {
                op: "graph".into(),
                name: String::new(),
                why: format!("the model needs over {max} {pool} elements, the limit"),
            });
        }
        false
    }

    /// Appends an instruction, counted against `max_instructions`.
    fn emit(&mut self, ins: Instruction) {
        self.spend("instruction", 1);
        self.instructions.push(ins);
    }

    fn input(&self, node: &NodeProto, i: usize) -> Option<Value> {
        let name = node.input.get(i).filter(|n| !n.is_empty())?;
        self.values.get(name).cloned()
    }

    fn set(&mut self, node: &NodeProto, i: usize, value: Value) {
        if let Some(name) = node.output.get(i).filter(|n| !n.is_empty()) {
            self.bind(name.clone(), value);
        }
    }

    fn new_buffer(&mut self, width: usize) -> usize {
        self.spend("buffer", width);
        self.buffers.push(width);
        self.pending.push(0);
        self.buffers.len() - 1
    }

    /// How many reads not yet done (by this node, later nodes and graph outputs) all the values
    /// held in `buffer` have: the names aliasing one buffer (Identity, Cast, Reshape…) count
    /// together.
    fn buffer_readers(&self, buffer: usize) -> usize {
        self.pending[buffer]
    }

    /// A buffer holding the vector in `buffer` that this node may change in place: the same one
    /// when this node is its only reader, else a copy.
    fn writable(&mut self, _node: &NodeProto, buffer: usize, width: usize) -> usize {
        if self.buffer_readers(buffer) <= 1 {
            return buffer;
        }
        let copy = self.new_buffer(width);
        self.emit(Instruction::Copy {
            input: buffer,
            output: copy,
            internal_index: 0,
        });
        copy
    }

    /// A DOT of `rows` (`[out][in]`) and `bias` from `buffer` into a new buffer.
    fn dot(&mut self, node: &NodeProto, buffer: usize, rows: Vec<Vec<f32>>, bias: Vec<f32>) {
        self.freeze(buffer);
        let out = self.new_buffer(rows.len());
        let width = rows.len();
        self.weights.push((rows, bias));
        self.emit(Instruction::Dot {
            input: buffer,
            output: out,
            weights: self.weights.len() - 1,
            activation: None,
        });
        // A bias or an activation may still fold in (when, at that time, nothing else reads
        // the output).
        self.open.insert(
            out,
            OpenDot {
                instruction: self.instructions.len() - 1,
                slot: self.weights.len() - 1,
            },
        );
        self.set(
            node,
            0,
            Value::Vector {
                buffer: out,
                width,
                probabilities: false,
            },
        );
    }

    /// Marks `buffer` as read by an instruction just written: the DOT that wrote it may no
    /// longer take a bias or an activation, which would change what that instruction reads.
    fn freeze(&mut self, buffer: usize) {
        self.open.remove(&buffer);
    }

    /// `a ∘ b` of two per-sample vectors of one width into a new buffer: ADD or
    /// MULTIPLY_ELEMENTWISE_BUFFERS (`b` negated on a copy first for a subtraction).
    fn vectors(&mut self, node: &NodeProto, op: &str, a: (usize, usize), b: (usize, usize)) {
        let ((a, width), (b, b_width)) = (a, b);
        if width != b_width {
            return self.refuse(
                node,
                format!("vectors of {width} and {b_width} values (only equal widths are joined)"),
            );
        }
        self.freeze(a);
        self.freeze(b);
        let b = if op == "Sub" {
            let copy = self.new_buffer(width);
            self.emit(Instruction::Copy {
                input: b,
                output: copy,
                internal_index: 0,
            });
            self.then_elementwise(copy, vec![-1.0; width], true);
            copy
        } else {
            b
        };
        let out = self.new_buffer(width);
        let input = vec![a, b];
        self.emit(if op == "Mul" {
            Instruction::MultiplyElementwiseBuffers { input, output: out }
        } else {
            Instruction::AddElementwiseBuffers { input, output: out }
        });
        self.set(node, 0, numbers(out, width));
    }

    /// The activation on the DOT that wrote `buffer`, or an ACTIVATION instruction.
    fn activate(&mut self, node: &NodeProto, buffer: usize, width: usize, activation: Activation) {
        let probabilities = activation == Activation::Softmax;
        let alone = self.buffer_readers(buffer) <= 1;
        if let Some(open) = self.open.remove(&buffer).filter(|_| alone)
            && let Instruction::Dot {
                activation: a @ None,
                ..
            } = &mut self.instructions[open.instruction]
        {
            *a = Some(activation);
            self.set(
                node,
                0,
                Value::Vector {
                    buffer,
                    width,
                    probabilities,
                },
            );
            return;
        }
        let target = self.writable(node, buffer, width);
        self.emit(Instruction::Activation {
            input: target,
            activation,
        });
        self.set(
            node,
            0,
            Value::Vector {
                buffer: target,
                width,
                probabilities,
            },
        );
    }

    /// `x + values` (per column) in place, or into the bias of the DOT that wrote it.
    fn add(&mut self, node: &NodeProto, buffer: usize, width: usize, values: Vec<f32>) {
        let alone = self.buffer_readers(buffer) <= 1;
        if let Some(open) = self.open.get(&buffer).copied().filter(|_| alone)
            && matches!(
                self.instructions[open.instruction],
                Instruction::Dot {
                    activation: None,
                    ..
                }
            )
        {
            for (b, v) in self.weights[open.slot].1.iter_mut().zip(&values) {
                *b += v;
            }
            self.set(node, 0, numbers(buffer, width));
            return;
        }
        self.elementwise(node, buffer, width, values, false);
    }

    /// `x + values` or `x · values` (per column), in place when this node is the only reader,
    /// else on a copy.
    fn elementwise(
        &mut self,
        node: &NodeProto,
        buffer: usize,
        width: usize,
        values: Vec<f32>,
        multiply: bool,
    ) {
        self.open.remove(&buffer);
        let target = self.writable(node, buffer, width);
        self.then_elementwise(target, values, multiply);
        self.set(node, 0, numbers(target, width));
    }

    /// The second step of a chain on `buffer`, which the first step made this node's own.
    fn then_elementwise(&mut self, buffer: usize, values: Vec<f32>, multiply: bool) {
        self.open.remove(&buffer);
        if !self.spend("parameter", values.len()) {
            return;
        }
        self.parameters.push(values);
        let parameters = self.parameters.len() - 1;
        self.emit(if multiply {
            Instruction::MulElementwise {
                input: buffer,
                parameters,
            }
        } else {
            Instruction::AddElementwise {
                input: buffer,
                parameters,
            }
        });
    }

    /// `x · values` (per column).
    fn mul(&mut self, node: &NodeProto, buffer: usize, width: usize, values: Vec<f32>) {
        self.elementwise(node, buffer, width, values, true);
    }

    /// Converts `node`, then counts its reads as done (the readers left decide what may change
    /// in place).
    fn node(&mut self, node: &NodeProto) {
        self.convert_node(node);
        for input in &node.input {
            if let Some(r) = self.readers.get_mut(input)
                && *r > 0
            {
                *r -= 1;
                if let Some(Value::Vector { buffer, .. }) = self.values.get(input) {
                    self.pending[*buffer] -= 1;
                }
            }
        }
    }
}

fn first_width(v: &Option<Value>) -> i64 {
    match v {
        Some(Value::Vector { width, .. }) => *width as i64,
        _ => -2,
    }
}

/// The format model of `graph`, or every node it refuses.
pub(crate) fn convert(graph: &GraphProto, limits: &Limits) -> Result<ModelInfo, Vec<Refusal>> {
    let mut c = Converter {
        values: HashMap::new(),
        readers: HashMap::new(),
        pending: Vec::new(),
        limits: *limits,
        spent: Spent::default(),
        stop: None,
        buffers: Vec::new(),
        instructions: Vec::new(),
        weights: Vec::new(),
        parameters: Vec::new(),
        open: HashMap::new(),
        refusals: Vec::new(),
    };
    let graph_refusal = |why: String| Refusal {
        op: "graph".into(),
        name: graph.name.clone().unwrap_or_default(),
        why,
    };
    // Reads first: `bind` keeps each buffer's pending reads from them.
    for node in &graph.node {
        for i in &node.input {
            *c.readers.entry(i.clone()).or_default() += 1;
        }
    }
    for o in &graph.output {
        *c.readers
            .entry(o.name.clone().unwrap_or_default())
            .or_default() += 1;
    }
    for init in &graph.initializer {
        let name = init.name.clone().unwrap_or_default();
        match tensor(init, limits, &mut c.spent.constants) {
            Ok(v) => {
                c.values.insert(name, v);
            }
            // A number tensor that cannot be read (external data, too large) is refused.
            Err(e) if matches!(init.data_type, Some(1 | 7 | 11)) => {
                c.values.insert(name.clone(), Value::Unreadable(e.clone()));
                c.refusals.push(Refusal {
                    op: "initializer".into(),
                    name,
                    why: e,
                });
            }
            // Strings are class labels, read only by the label side, which is dropped.
            Err(_) if init.data_type == Some(8) => {
                c.values.insert(name, Value::Dropped);
            }
            Err(e) => {
                c.values.insert(name, Value::Unreadable(e));
            }
        }
    }
    let inputs: Vec<_> = graph
        .input
        .iter()
        .filter(|i| !c.values.contains_key(i.name.as_deref().unwrap_or("")))
        .collect();
    // The first input is the features; nodes reading any other are refused by name.
    let Some((input, others)) = inputs.split_first() else {
        return Err(vec![graph_refusal(
            "no input besides the initializers".into(),
        )]);
    };
    for other in others {
        c.values
            .insert(other.name.clone().unwrap_or_default(), Value::Runtime);
    }
    let width = input
        .r#type
        .as_ref()
        .and_then(|t| match &t.value {
            Some(crate::proto::type_proto::Value::TensorType(tt)) => tt.shape.as_ref(),
            _ => None,
        })
        .and_then(|s| match &s.dim[..] {
            [_, d] => match d.value {
                Some(crate::proto::tensor_shape_proto::dimension::Value::DimValue(v)) => {
                    usize::try_from(v).ok()
                }
                _ => None,
            },
            _ => None,
        });
    let Some(width) = width.filter(|&w| w > 0 && w <= MAX_WIDTH) else {
        return Err(vec![graph_refusal(
            "the input is not [batch, features] with a known feature count".into(),
        )]);
    };
    let input_name = input.name.clone().unwrap_or_default();
    let buffer = c.new_buffer(width);
    c.bind(
        input_name.clone(),
        Value::Vector {
            buffer,
            width,
            probabilities: false,
        },
    );
    for node in &graph.node {
        c.node(node);
        // A limit passed: nothing more is allocated; the refusals so far and this one.
        if let Some(r) = c.stop.take() {
            c.refusals.push(r);
            return Err(c.refusals);
        }
    }
    // The first graph output that is a per-sample vector (a classifier's probabilities; its
    // label output is dropped).
    let output =
        graph
            .output
            .iter()
            .find_map(|o| match c.values.get(o.name.as_deref().unwrap_or("")) {
                Some(Value::Vector { buffer, width, .. }) => Some((*buffer, *width)),
                _ => None,
            });
    if !c.refusals.is_empty() {
        return Err(c.refusals);
    }
    let Some((out, out_width)) = output else {
        return Err(vec![graph_refusal(
            "no graph output is a per-sample vector of numbers".into(),
        )]);
    };
    // The format's output is the last buffer (and not the input).
    if out != c.buffers.len() - 1 || out == 0 {
        let last = c.new_buffer(out_width);
        c.instructions.push(Instruction::Copy {
            input: out,
            output: last,
            internal_index: 0,
        });
    }
    // The ONNX input is one tensor: its name says nothing of the columns, so they stay
    // unnamed and rows are read by position.
    let mut builder = ModelBuilder::with_feature_size(width);
    builder = builder.buffer_sizes(c.buffers);
    for (rows, bias) in c.weights {
        builder = builder.weights(rows, bias);
    }
    for p in c.parameters {
        builder = builder.parameters(p);
    }
    for ins in c.instructions {
        builder = builder.instruction(ins);
    }
    builder
        .build()
        .map_err(|e| vec![graph_refusal(e.to_string())])
}
