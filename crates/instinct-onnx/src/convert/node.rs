//! One ONNX node at a time: what each operator becomes (a DOT with its bias and activation
//! folded in, an elementwise instruction, a buffer fold or copy, a constant computed now), or
//! why it is refused.

use super::*;

impl Converter {
    pub(super) fn convert_node(&mut self, node: &NodeProto) {
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
            ("", op) if let Some(onnx) = Activation::from_onnx_op(op) => {
                let Some((buffer, width, _)) = vector else {
                    return self.refuse(node, "only on a per-sample vector");
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
