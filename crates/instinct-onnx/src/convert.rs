//! The graph walk: every node of an ONNX graph, in order, mapped onto buffers and instructions of
//! the format (DOT with its bias and activation folded in, ADD/MUL/CLIP_ELEMENTWISE, ACTIVATION,
//! COPY), or refused with the reason; label outputs dropped.

use crate::error::Refusal;
use crate::proto::{AttributeProto, GraphProto, NodeProto, TensorProto};
use instinct_format::{Activation, Instruction, Limits, ModelBuilder, ModelInfo};
use std::collections::HashMap;
use std::rc::Rc;

/// What an ONNX value is to the converter.
#[derive(Debug, Clone)]
enum Value {
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

/// A tensor's values, or why it cannot be read. `spent` is the running total of constant
/// elements decoded so far: the element count (from `dims`, before anything is decoded or
/// allocated) must fit in what `limits` leaves, and is added to it.
fn tensor(t: &TensorProto, limits: &Limits, spent: &mut usize) -> Result<Value, String> {
    let dims: Vec<usize> = t
        .dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| format!("dimension {d}")))
        .collect::<Result<_, _>>()?;
    // No constant is emitted whole past the larger pool, nor all of them past both pools.
    let per_tensor = limits
        .max_weight_elements
        .max(limits.max_parameter_elements);
    let total = limits
        .max_weight_elements
        .saturating_add(limits.max_parameter_elements);
    let count = dims
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .filter(|&n| n <= per_tensor)
        .ok_or_else(|| format!("shape {dims:?} is over the limit of {per_tensor} elements"))?;
    if spent.saturating_add(count) > total {
        return Err(format!(
            "the constants add up to over {total} elements (this one has {count})"
        ));
    }
    if t.data_location == Some(1) {
        return Err("external data is not read".to_string());
    }
    *spent += count;
    let raw = t.raw_data.as_deref().unwrap_or(&[]);
    // The raw bytes as `count` values of `width` bytes, decoded straight into one vector (no
    // intermediate vector of 16-byte slices).
    fn from_raw<T>(
        raw: &[u8],
        count: usize,
        width: usize,
        decode: impl Fn(&[u8]) -> T,
    ) -> Result<Vec<T>, String> {
        if raw.len() != count * width {
            return Err(format!(
                "{} bytes of raw data for {count} values",
                raw.len()
            ));
        }
        Ok(raw.chunks_exact(width).map(decode).collect())
    }
    let check = |len: usize| {
        if len == count {
            Ok(())
        } else {
            Err(format!("{len} values for shape {dims:?}"))
        }
    };
    // NaN has no place in the format (every weight and parameter is checked to be a number);
    // say which constant holds it rather than which converted weight.
    let no_nan = |data: &[f32]| match data.iter().position(|v| v.is_nan()) {
        Some(i) => Err(format!("value {i} is NaN")),
        None => Ok(()),
    };
    match t.data_type.unwrap_or(0) {
        // FLOAT
        1 => {
            let data = if raw.is_empty() {
                check(t.float_data.len())?;
                t.float_data.clone()
            } else {
                from_raw(raw, count, 4, |b| {
                    f32::from_le_bytes([b[0], b[1], b[2], b[3]])
                })?
            };
            no_nan(&data)?;
            Ok(Value::Floats(Rc::new(dims), Rc::new(data)))
        }
        // DOUBLE
        11 => {
            let data = if raw.is_empty() {
                check(t.double_data.len())?;
                t.double_data.iter().map(|&v| v as f32).collect()
            } else {
                from_raw(raw, count, 8, |b| {
                    f64::from_le_bytes(b.try_into().expect("8 bytes")) as f32
                })?
            };
            no_nan(&data)?;
            Ok(Value::Floats(Rc::new(dims), Rc::new(data)))
        }
        // INT64, INT32 (class labels, for one) and BOOL (Dropout's training_mode).
        7 => {
            let data = if raw.is_empty() {
                check(t.int64_data.len())?;
                t.int64_data.clone()
            } else {
                from_raw(raw, count, 8, |b| {
                    i64::from_le_bytes(b.try_into().expect("8 bytes"))
                })?
            };
            Ok(Value::Ints(Rc::new(data)))
        }
        code @ (6 | 9) => {
            let data = if raw.is_empty() {
                check(t.int32_data.len())?;
                t.int32_data.iter().map(|&v| i64::from(v)).collect()
            } else if code == 6 {
                from_raw(raw, count, 4, |b| {
                    i32::from_le_bytes(b.try_into().expect("4 bytes")).into()
                })?
            } else {
                from_raw(raw, count, 1, |b| b[0].into())?
            };
            Ok(Value::Ints(Rc::new(data)))
        }
        other => Err(format!("element type {other} is not read")),
    }
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

    fn convert_node(&mut self, node: &NodeProto) {
        let domain = node.domain.as_deref().unwrap_or("");
        let op = node.op_type.as_deref().unwrap_or("");
        if node.output.is_empty() || node.output[0].is_empty() {
            return self.refuse(node, "a node without an output");
        }
        for name in node.input.iter().filter(|n| !n.is_empty()) {
            let why = match self.values.get(name) {
                None => format!(
                    "reads {name:?}, which no earlier node, initializer or graph input defines (the nodes must be in topological order)"
                ),
                Some(Value::Runtime) => format!(
                    "reads the graph input {name:?}, which is not a constant (the first graph input is the features; weights must be initializers)"
                ),
                Some(Value::Unreadable(e)) => format!("reads the initializer {name:?}: {e}"),
                Some(_) => continue,
            };
            return self.refuse(node, why);
        }
        let first = self.input(node, 0);
        let vector = match first {
            Some(Value::Vector {
                buffer,
                width,
                probabilities,
            }) => Some((buffer, width, probabilities)),
            _ => None,
        };
        // A node on a dropped value (a label) drops its outputs too.
        if matches!(first, Some(Value::Dropped)) && !matches!(op, "Concat") {
            for out in &node.output {
                self.bind(out.clone(), Value::Dropped);
            }
            return;
        }
        match (domain, op) {
            ("", "Constant") => match attribute(node, "value")
                .and_then(|a| a.t.as_ref())
                .map(|t| tensor(t, &self.limits, &mut self.spent.constants))
            {
                Some(Ok(v)) => self.set(node, 0, v),
                Some(Err(e)) => self.refuse(node, e),
                None => self.refuse(node, "only a `value` tensor attribute is read"),
            },
            // A cast of the features to anything but a float type would round them.
            // A cast to anything but float or double rounds (float16 and integers included).
            ("", "Cast")
                if matches!(first, Some(Value::Vector { .. } | Value::Floats(..)))
                    && !matches!(attr_i(node, "to", 1), 1 | 11) =>
            {
                self.refuse(node, "a cast of numbers to a type that rounds them")
            }
            ("", "Flatten") if !matches!(attr_i(node, "axis", 1), 1 | -1) => {
                self.refuse(node, "a flatten that folds the batch into the features")
            }
            ("", "Flatten") if matches!(&first, Some(Value::Floats(shape, _)) if shape.len() != 2) => {
                self.refuse(node, "a flatten of a constant changes its shape")
            }
            ("", "Dropout")
                if attr_i(node, "is_test", 1) == 0
                    || node.input.get(2).is_some_and(|n| !n.is_empty())
                        && !matches!(self.input(node, 2), Some(Value::Ints(v)) if v.iter().all(|&b| b == 0)) =>
            {
                self.refuse(node, "dropout in training mode drops values at random")
            }
            ("", "Identity" | "Cast" | "Flatten" | "Dropout") => match first {
                Some(v) => self.set(node, 0, v),
                None => self.refuse(node, "no input"),
            },
            ("", "Reshape") => match (vector, self.input(node, 1)) {
                (Some(_), Some(Value::Ints(shape)))
                    // [batch, width]: the batch left free (−1, or 0 for "as before") and the
                    // width unchanged (or inferred, −1, with the batch kept by 0).
                    if shape.len() == 2
                        && (shape[0] == -1 || shape[0] == 0)
                        && (shape[1] == first_width(&first) || (shape[1] == -1 && shape[0] == 0)) =>
                {
                    let v = first.clone().expect("a vector");
                    self.set(node, 0, v)
                }
                (Some(_), _) => self.refuse(
                    node,
                    "only a reshape to [batch, width] keeps the per-sample vector",
                ),
                _ if matches!(first, Some(Value::Floats(..))) => {
                    self.refuse(node, "a reshape of a constant is not followed")
                }
                _ => self.set(node, 0, Value::Dropped),
            },
            ("", "MatMul" | "Gemm")
                if matches!(self.input(node, 1), Some(Value::Floats(shape, _))
                    if !shape.iter().all(|d| (1..=MAX_WIDTH).contains(d))) =>
            {
                self.refuse(
                    node,
                    format!("a weight matrix with a dimension of 0 or over {MAX_WIDTH}"),
                )
            }
            ("", "MatMul") => match (vector, self.input(node, 1)) {
                (Some((buffer, width, _)), Some(Value::Floats(shape, w)))
                    if shape.len() == 2 && shape[0] == width =>
                {
                    let out = shape[1];
                    if !self.spend("weight", out.saturating_mul(width + 1)) {
                        return;
                    }
                    let rows = (0..out)
                        .map(|o| (0..width).map(|i| w[i * out + o]).collect())
                        .collect();
                    self.dot(node, buffer, rows, vec![0.0; out]);
                }
                (Some(_), Some(Value::Floats(..))) => {
                    self.refuse(node, "the weight's shape does not match the input's width")
                }
                _ => self.refuse(
                    node,
                    "only a per-sample vector times a constant weight matrix",
                ),
            },
            ("", "Gemm") => {
                let (alpha, beta) = (attr_f(node, "alpha", 1.0), attr_f(node, "beta", 1.0));
                if attr_i(node, "transA", 0) != 0 {
                    return self.refuse(node, "transA=1 transposes the batch");
                }
                let trans_b = attr_i(node, "transB", 0) != 0;
                match (vector, self.input(node, 1)) {
                    (Some((buffer, width, _)), Some(Value::Floats(shape, w)))
                        if shape.len() == 2 =>
                    {
                        let (k, n) = if trans_b {
                            (shape[1], shape[0])
                        } else {
                            (shape[0], shape[1])
                        };
                        if k != width {
                            return self.refuse(
                                node,
                                format!("weights {shape:?} for an input of {width}"),
                            );
                        }
                        if !self.spend("weight", n.saturating_mul(k + 1)) {
                            return;
                        }
                        let rows: Vec<Vec<f32>> = (0..n)
                            .map(|o| {
                                (0..k)
                                    .map(|i| {
                                        alpha * if trans_b { w[o * k + i] } else { w[i * n + o] }
                                    })
                                    .collect()
                            })
                            .collect();
                        let bias = match self.input(node, 2) {
                            None => vec![0.0; n],
                            Some(Value::Floats(cs, c)) => match per_column(&cs, &c, n) {
                                Some(c) => c.iter().map(|v| beta * v).collect(),
                                None => {
                                    return self.refuse(
                                        node,
                                        format!("bias of shape {cs:?} for {n} outputs"),
                                    );
                                }
                            },
                            Some(_) => return self.refuse(node, "the bias C is not a constant"),
                        };
                        self.dot(node, buffer, rows, bias);
                    }
                    _ => self.refuse(
                        node,
                        "only a per-sample vector times a constant weight matrix",
                    ),
                }
            }
            ("", "Add" | "Sub" | "Mul" | "Div") => {
                let (a, b) = (self.input(node, 0), self.input(node, 1));
                let (buffer, width, constant, vector_first) = match (&a, &b) {
                    (Some(Value::Vector { buffer, width, .. }), Some(Value::Floats(s, c))) => {
                        (*buffer, *width, per_column(s, c, *width), true)
                    }
                    (Some(Value::Floats(s, c)), Some(Value::Vector { buffer, width, .. })) => {
                        (*buffer, *width, per_column(s, c, *width), false)
                    }
                    (
                        Some(Value::Vector {
                            buffer: a,
                            width: wa,
                            ..
                        }),
                        Some(Value::Vector {
                            buffer: b,
                            width: wb,
                            ..
                        }),
                    ) if op != "Div" => {
                        return self.vectors(node, op, (*a, *wa), (*b, *wb));
                    }
                    _ => {
                        return self.refuse(
                            node,
                            "only a per-sample vector and a constant, or two vectors (not divided)",
                        );
                    }
                };
                let Some(c) = constant else {
                    return self.refuse(
                        node,
                        "the constant does not broadcast over one sample's vector",
                    );
                };
                // No copy of the node with its inputs swapped: `writable`, `add`, `mul` and
                // `set` never look at a node's inputs.
                match (op, vector_first) {
                    ("Add", _) => self.add(node, buffer, width, c),
                    ("Sub", true) => self.add(node, buffer, width, c.iter().map(|v| -v).collect()),
                    ("Sub", false) => {
                        // c − x = x · (−1) + c
                        self.mul(node, buffer, width, vec![-1.0; width]);
                        if let Some(Value::Vector { buffer, .. }) =
                            self.values.get(&node.output[0]).cloned()
                        {
                            self.then_elementwise(buffer, c, false);
                        }
                    }
                    ("Mul", _) => self.mul(node, buffer, width, c),
                    ("Div", true) => {
                        let inverse: Vec<f32> = c.iter().map(|v| 1.0 / v).collect();
                        if inverse.iter().any(|v| !v.is_finite()) {
                            return self.refuse(
                                node,
                                "a division by zero or by a number whose inverse overflows",
                            );
                        }
                        self.mul(node, buffer, width, inverse)
                    }
                    _ => self.refuse(node, "a constant divided by a vector has no instruction"),
                }
            }
            ("", op) if Activation::from_onnx_op(op).is_some() => {
                let Some((buffer, width, _)) = vector else {
                    return self.refuse(node, "only on a per-sample vector");
                };
                let Some(onnx) = Activation::from_onnx_op(op) else {
                    return self.refuse(node, "not an activation");
                };
                // Parameters are the attributes of the same names, ONNX's defaults otherwise.
                let defaults = onnx.parameters();
                let mut values = [0.0f32; 2];
                for (value, (name, default)) in values.iter_mut().zip(&defaults) {
                    *value = attr_f(node, name, *default);
                }
                let activation = onnx.with_parameter_values(values);
                if attr_s(node, "approximate").is_some_and(|a| a != "none") {
                    return self.refuse(
                        node,
                        format!(
                            "{op}'s tanh approximation is not the format's {}",
                            activation.name()
                        ),
                    );
                }
                if !activation.is_elementwise() {
                    let axis = attr_i(node, "axis", -1);
                    if axis != -1 && axis != 1 {
                        return self
                            .refuse(node, format!("{op} over axis {axis}, not the features"));
                    }
                }
                self.activate(node, buffer, width, activation);
            }
            ("", "Clip") => {
                let Some((buffer, width, _)) = vector else {
                    return self.refuse(node, "only on a per-sample vector");
                };
                let bound = |v: Option<Value>| match v {
                    Some(Value::Floats(s, c)) => per_column(&s, &c, width).map(Some),
                    None => Some(None),
                    _ => None,
                };
                // Opset 6 has the bounds as attributes, later opsets as inputs.
                let from_attribute = |name: &str| {
                    attribute(node, name)
                        .and_then(|a| a.f)
                        .map(|v| Value::Floats(Rc::new(Vec::new()), Rc::new(vec![v])))
                };
                let lo = self.input(node, 1).or_else(|| from_attribute("min"));
                let hi = self.input(node, 2).or_else(|| from_attribute("max"));
                let (lo, hi) = (bound(lo), bound(hi));
                let (Some(lo), Some(hi)) = (lo, hi) else {
                    return self.refuse(node, "bounds must be constants");
                };
                // A missing bound is ONNX Runtime's: the lowest or largest finite f32 (so an
                // infinite value is clamped to it); so is an infinite one, which the format's
                // finite parameters cannot hold (only infinite inputs see the difference).
                let finite = |v: Option<Vec<f32>>, missing: f32| {
                    let v = v.unwrap_or_else(|| vec![missing; width]);
                    Some(v.into_iter().map(|b| b.clamp(f32::MIN, f32::MAX)).collect())
                };
                let (lo, hi) = (finite(lo, f32::MIN), finite(hi, f32::MAX));
                self.open.remove(&buffer);
                let target = self.writable(node, buffer, width);
                let mut index = |v: Option<Vec<f32>>| {
                    v.filter(|v| self.spend("parameter", v.len())).map(|v| {
                        self.parameters.push(v);
                        self.parameters.len() - 1
                    })
                };
                let (parameters_min, parameters_max) = (index(lo), index(hi));
                self.emit(Instruction::ClipElementwise {
                    input: target,
                    parameters_min,
                    parameters_max,
                });
                self.set(
                    node,
                    0,
                    Value::Vector {
                        buffer: target,
                        width,
                        probabilities: false,
                    },
                );
            }
            ("", "Concat") => {
                let axis = attr_i(node, "axis", 1);
                let parts: Vec<Option<Value>> =
                    (0..node.input.len()).map(|i| self.input(node, i)).collect();
                let vectors: Option<Vec<(usize, usize)>> = parts
                    .iter()
                    .map(|p| match p {
                        Some(Value::Vector { buffer, width, .. }) => Some((*buffer, *width)),
                        _ => None,
                    })
                    .collect();
                match vectors {
                    Some(v) if v.is_empty() => self.refuse(node, "nothing to join"),
                    Some(v) if axis == 1 || axis == -1 => {
                        let total: usize = v.iter().map(|p| p.1).sum();
                        if total > MAX_WIDTH {
                            return self.refuse(node, format!("over {MAX_WIDTH} values joined"));
                        }
                        let out = self.new_buffer(total);
                        let mut at = 0;
                        for (buffer, width) in v {
                            self.freeze(buffer);
                            self.emit(Instruction::Copy {
                                input: buffer,
                                output: out,
                                internal_index: at,
                            });
                            at += width;
                        }
                        self.set(
                            node,
                            0,
                            Value::Vector {
                                buffer: out,
                                width: total,
                                probabilities: false,
                            },
                        );
                    }
                    _ if parts.iter().any(|p| matches!(p, Some(Value::Dropped))) => {
                        self.set(node, 0, Value::Dropped)
                    }
                    _ => self.refuse(
                        node,
                        "only per-sample vectors joined along the feature axis",
                    ),
                }
            }
            ("ai.onnx.ml", "Scaler") => {
                let Some((buffer, width, _)) = vector else {
                    return self.refuse(node, "only on a per-sample vector");
                };
                let expand = |v: Vec<f32>, fill: f32| match v.len() {
                    0 => Some(vec![fill; width]),
                    1 => Some(vec![v[0]; width]),
                    n if n == width => Some(v),
                    _ => None,
                };
                let (Some(offset), Some(scale)) = (
                    expand(attr_floats(node, "offset"), 0.0),
                    expand(attr_floats(node, "scale"), 1.0),
                ) else {
                    return self.refuse(node, "offset or scale of another width than the input");
                };
                // (x − offset) · scale
                self.add(node, buffer, width, offset.iter().map(|v| -v).collect());
                if let Some(Value::Vector { buffer, .. }) =
                    self.values.get(&node.output[0]).cloned()
                {
                    self.then_elementwise(buffer, scale, true);
                }
            }
            ("ai.onnx.ml", "LinearClassifier" | "LinearRegressor") => {
                let Some((buffer, width, _)) = vector else {
                    return self.refuse(node, "only on a per-sample vector");
                };
                let coefficients = attr_floats(node, "coefficients");
                let intercepts = attr_floats(node, "intercepts");
                if width == 0
                    || coefficients.is_empty()
                    || !coefficients.len().is_multiple_of(width)
                {
                    return self.refuse(
                        node,
                        format!("{} coefficients for {width} inputs", coefficients.len()),
                    );
                }
                if !self.spend("weight", coefficients.len() + coefficients.len() / width) {
                    return;
                }
                let rows: Vec<Vec<f32>> = coefficients
                    .chunks_exact(width)
                    .map(<[f32]>::to_vec)
                    .collect();
                let classifier = op == "LinearClassifier";
                if classifier && intercepts.is_empty() {
                    // ONNX Runtime takes the class count from the intercepts.
                    return self.refuse(node, "a classifier without intercepts");
                }
                let targets = attr_i(node, "targets", 1);
                if !classifier && usize::try_from(targets).ok() != Some(rows.len()) {
                    return self.refuse(
                        node,
                        format!("{} rows of coefficients for {targets} targets", rows.len()),
                    );
                }
                let bias = if intercepts.is_empty() {
                    vec![0.0; rows.len()]
                } else {
                    intercepts
                };
                if bias.len() != rows.len() {
                    return self.refuse(
                        node,
                        format!("{} intercepts for {} rows", bias.len(), rows.len()),
                    );
                }
                let post = attr_s(node, "post_transform").unwrap_or_else(|| "NONE".to_string());
                let activation = match post.as_str() {
                    "NONE" => None,
                    "LOGISTIC" => Some(Activation::Sigmoid),
                    "SOFTMAX" => Some(Activation::Softmax),
                    other => {
                        return self
                            .refuse(node, format!("post_transform {other} has no activation"));
                    }
                };
                if classifier && node.output.len() < 2 {
                    return self.refuse(node, "no scores output");
                }
                if classifier && rows.len() == 1 {
                    return self.refuse(
                        node,
                        "one row of coefficients: ONNX Runtime's two-class scores are not reproduced",
                    );
                }
                // The classifier's scores are its second output; the label (first) is dropped.
                let mut scores = node.clone();
                if classifier {
                    self.bind(node.output[0].clone(), Value::Dropped);
                    scores.output.remove(0);
                }
                self.dot(&scores, buffer, rows, bias);
                // The post-transform is part of the node: its output is after it.
                let last = self.instructions.len() - 1;
                if let Instruction::Dot {
                    activation: slot,
                    output,
                    ..
                } = &mut self.instructions[last]
                {
                    *slot = activation;
                    let (output, width) = (*output, self.buffers[*output]);
                    self.open.remove(&output);
                    self.set(
                        &scores,
                        0,
                        Value::Vector {
                            buffer: output,
                            width,
                            probabilities: activation == Some(Activation::Softmax),
                        },
                    );
                }
            }
            ("ai.onnx.ml", "Normalizer") => match vector {
                Some((_, _, true)) if attr_s(node, "norm").as_deref() == Some("L1") => {
                    let v = first.clone().expect("a vector");
                    self.set(node, 0, v)
                }
                _ => self.refuse(
                    node,
                    "only an L1 normalisation of probabilities (which changes nothing)",
                ),
            },
            ("ai.onnx.ml", "ZipMap") => match first {
                // The probabilities as a map per row: the same vector.
                Some(v) => self.set(node, 0, v),
                None => self.refuse(node, "no input"),
            },
            ("", "ArgMax") | ("ai.onnx.ml", "ArrayFeatureExtractor") => {
                // The label: dropped (docs/ONNX.md says how to get it back).
                for out in &node.output {
                    self.bind(out.clone(), Value::Dropped);
                }
            }
            _ => self.refuse(node, "no instruction or activation of the format does this"),
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
