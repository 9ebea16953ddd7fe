//! Define-by-run autograd: a `Tape` records every operation on its `Var`s as it runs, with the
//! values it needs later; `Tape::backward` walks the record backwards from a single-number loss
//! and returns the gradient of every value that needs one. All arithmetic goes through the
//! tape's [`Backend`].

use crate::backend::Backend;
use crate::error::TrainError;
use crate::param::{Param, ParamId};
use crate::tensor::Tensor;
use instinct_format::Activation;
use instinct_kernels::Layout;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

/// How an operation's output depends on its inputs (node indices), with what backward needs.
#[derive(Debug)]
pub(crate) enum Op {
    Leaf,
    /// A layer of `spatial.rs` (convolution, pooling, normalisation, embedding): its inputs
    /// and what its backward pass needs.
    Spatial(crate::spatial::Saved),
    /// `x · wᵀ (+ b)`: x `[m, k]`, w `[n, k]`, b `[n]`.
    Linear {
        x: usize,
        w: usize,
        b: Option<usize>,
    },
    /// `a · b`: `[m, k] · [k, n]`.
    MatMul {
        a: usize,
        b: usize,
    },
    /// `a[i] · b[i]` for each of the leading batch index.
    Bmm {
        a: usize,
        b: usize,
    },
    Add {
        a: usize,
        b: usize,
    },
    Sub {
        a: usize,
        b: usize,
    },
    Mul {
        a: usize,
        b: usize,
    },
    Scale {
        a: usize,
        factor: f32,
    },
    AddBias {
        x: usize,
        b: usize,
    },
    SumRows {
        x: usize,
    },
    Unary {
        x: usize,
        op: Activation,
    },
    Softmax {
        x: usize,
        log: bool,
    },
    Reshape {
        x: usize,
    },
    Mse {
        pred: usize,
        target: Tensor,
    },
    CrossEntropy {
        logits: usize,
        labels: Vec<usize>,
        probs: Tensor,
    },
    Bce {
        p: usize,
        target: Tensor,
        eps: f32,
    },
    /// Log-loss from logits: `mean(softplus(z) − t·z)`.
    BceLogits {
        z: usize,
        target: Tensor,
    },
}

#[derive(Debug)]
struct Node {
    value: Rc<Tensor>,
    op: Op,
    needs_grad: bool,
}

/// The record of one forward pass. Create one per step; values live as long as it does.
#[derive(Debug)]
pub struct Tape {
    backend: Arc<dyn Backend>,
    nodes: RefCell<Vec<Node>>,
    params: RefCell<Vec<(ParamId, usize)>>,
}

/// A value on a tape. Cheap to copy; its operations record new values.
#[derive(Debug, Clone, Copy)]
pub struct Var<'t> {
    pub(crate) tape: &'t Tape,
    pub(crate) id: usize,
}

/// The gradients of one backward pass.
#[derive(Debug)]
pub struct Gradients {
    grads: Vec<Option<Tensor>>,
    params: Vec<(ParamId, usize)>,
    /// The address of the tape they come from.
    tape: usize,
}

impl Gradients {
    /// The gradient of `var` (`None` when it does not influence the loss or needs none).
    pub fn get(&self, var: Var<'_>) -> Option<&Tensor> {
        if std::ptr::from_ref(var.tape) as usize != self.tape {
            return None;
        }
        self.grads.get(var.id)?.as_ref()
    }

    /// The gradient of a parameter put on the tape with [`Tape::param`] (summed when it was put
    /// there more than once).
    pub fn of(&self, param: &Param) -> Option<Tensor> {
        let mut total: Option<Tensor> = None;
        for &(id, node) in &self.params {
            if id != param.id() {
                continue;
            }
            if let Some(g) = self.grads.get(node).and_then(Option::as_ref) {
                match &mut total {
                    None => total = Some(g.clone()),
                    Some(t) => add_into(t.data_mut(), g.data()),
                }
            }
        }
        total
    }
}

fn add_into(dst: &mut [f32], src: &[f32]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d += s;
    }
}

fn shape_error(op: &'static str, message: String) -> TrainError {
    TrainError::Shape { op, message }
}

impl Tape {
    /// An empty tape computing with `backend`.
    pub fn new(backend: Arc<dyn Backend>) -> Tape {
        Tape {
            backend,
            nodes: RefCell::new(Vec::new()),
            params: RefCell::new(Vec::new()),
        }
    }

    /// The backend.
    pub fn backend(&self) -> &dyn Backend {
        &*self.backend
    }

    pub(crate) fn push(&self, value: Tensor, op: Op, needs_grad: bool) -> Var<'_> {
        let mut nodes = self.nodes.borrow_mut();
        nodes.push(Node {
            value: Rc::new(value),
            op,
            needs_grad,
        });
        Var {
            tape: self,
            id: nodes.len() - 1,
        }
    }

    /// A constant (data, targets): no gradient.
    pub fn constant(&self, value: Tensor) -> Var<'_> {
        self.push(value, Op::Leaf, false)
    }

    /// A value whose gradient is wanted.
    pub fn variable(&self, value: Tensor) -> Var<'_> {
        self.push(value, Op::Leaf, true)
    }

    /// A parameter's current value, its gradient found later by [`Gradients::of`].
    pub fn param(&self, param: &Param) -> Var<'_> {
        let v = self.variable(param.value().clone());
        self.params.borrow_mut().push((param.id(), v.id));
        v
    }

    fn value(&self, id: usize) -> Rc<Tensor> {
        Rc::clone(&self.nodes.borrow()[id].value)
    }

    pub(crate) fn needs(&self, id: usize) -> bool {
        self.nodes.borrow()[id].needs_grad
    }

    /// Gradients of every value that needs one, from `loss` (a single number) backwards.
    pub fn backward(&self, loss: Var<'_>) -> Result<Gradients, TrainError> {
        if !std::ptr::eq(self, loss.tape) {
            return Err(shape_error(
                "backward",
                "the loss lives on another tape".to_string(),
            ));
        }
        let nodes = self.nodes.borrow();
        let root = &nodes[loss.id].value;
        if root.len() != 1 {
            return Err(TrainError::NotScalar {
                shape: root.shape().to_vec(),
            });
        }
        let mut grads: Vec<Option<Tensor>> = (0..nodes.len()).map(|_| None).collect();
        grads[loss.id] = Some(Tensor::full(root.shape(), 1.0));
        let b = &*self.backend;
        for id in (0..=loss.id).rev() {
            let Some(dy) = grads[id].take() else { continue };
            let node = &nodes[id];
            // Adds `f`'s contribution to input `i`'s gradient, when that input needs one.
            let mut to = |i: usize, f: &mut dyn FnMut(&mut [f32])| {
                if !nodes[i].needs_grad {
                    return;
                }
                let g = grads[i].get_or_insert_with(|| Tensor::zeros(nodes[i].value.shape()));
                f(g.data_mut());
            };
            let val = |i: usize| &nodes[i].value;
            match &node.op {
                Op::Leaf => {}
                Op::Linear { x, w, b: bias } => {
                    let (m, k) = val(*x).dims2().expect("checked in forward");
                    let n = val(*w).shape()[0];
                    let dyd = dy.data();
                    to(*x, &mut |dx| {
                        b.gemm(
                            m,
                            k,
                            n,
                            dyd,
                            Layout::Plain,
                            val(*w).data(),
                            Layout::Plain,
                            dx,
                            true,
                        )
                    });
                    to(*w, &mut |dw| {
                        b.gemm(
                            n,
                            k,
                            m,
                            dyd,
                            Layout::Transposed,
                            val(*x).data(),
                            Layout::Plain,
                            dw,
                            true,
                        )
                    });
                    if let Some(bias) = bias {
                        to(*bias, &mut |db| b.sum_rows(dyd, db));
                    }
                }
                Op::MatMul { a, b: rhs } => {
                    let (m, k) = val(*a).dims2().expect("checked in forward");
                    let n = val(*rhs).shape()[1];
                    let dyd = dy.data();
                    to(*a, &mut |da| {
                        b.gemm(
                            m,
                            k,
                            n,
                            dyd,
                            Layout::Plain,
                            val(*rhs).data(),
                            Layout::Transposed,
                            da,
                            true,
                        )
                    });
                    to(*rhs, &mut |db| {
                        b.gemm(
                            k,
                            n,
                            m,
                            val(*a).data(),
                            Layout::Transposed,
                            dyd,
                            Layout::Plain,
                            db,
                            true,
                        )
                    });
                }
                Op::Bmm { a, b: rhs } => {
                    let (batch, m, k) = dims3(val(*a));
                    let n = val(*rhs).shape()[2];
                    let dyd = dy.data();
                    to(*a, &mut |da| {
                        for i in 0..batch {
                            b.gemm(
                                m,
                                k,
                                n,
                                &dyd[i * m * n..],
                                Layout::Plain,
                                &val(*rhs).data()[i * k * n..],
                                Layout::Transposed,
                                &mut da[i * m * k..],
                                true,
                            );
                        }
                    });
                    to(*rhs, &mut |db| {
                        for i in 0..batch {
                            b.gemm(
                                k,
                                n,
                                m,
                                &val(*a).data()[i * m * k..],
                                Layout::Transposed,
                                &dyd[i * m * n..],
                                Layout::Plain,
                                &mut db[i * k * n..],
                                true,
                            );
                        }
                    });
                }
                Op::Add { a, b: rhs } => {
                    to(*a, &mut |d| add_into(d, dy.data()));
                    to(*rhs, &mut |d| add_into(d, dy.data()));
                }
                Op::Sub { a, b: rhs } => {
                    to(*a, &mut |d| add_into(d, dy.data()));
                    to(*rhs, &mut |d| {
                        for (d, g) in d.iter_mut().zip(dy.data()) {
                            *d -= g;
                        }
                    });
                }
                Op::Mul { a, b: rhs } => {
                    to(*a, &mut |d| {
                        for ((d, g), v) in d.iter_mut().zip(dy.data()).zip(val(*rhs).data()) {
                            *d += g * v;
                        }
                    });
                    to(*rhs, &mut |d| {
                        for ((d, g), v) in d.iter_mut().zip(dy.data()).zip(val(*a).data()) {
                            *d += g * v;
                        }
                    });
                }
                Op::Scale { a, factor } => to(*a, &mut |d| {
                    for (d, g) in d.iter_mut().zip(dy.data()) {
                        *d += g * factor;
                    }
                }),
                Op::AddBias { x, b: bias } => {
                    to(*x, &mut |d| add_into(d, dy.data()));
                    to(*bias, &mut |d| b.sum_rows(dy.data(), d));
                }
                Op::SumRows { x } => to(*x, &mut |d| {
                    let n = dy.len().max(1);
                    for row in d.chunks_exact_mut(n) {
                        add_into(row, dy.data());
                    }
                }),
                Op::Unary { x, op } => to(*x, &mut |d| {
                    b.unary_backward(*op, val(*x).data(), node.value.data(), dy.data(), d)
                }),
                Op::Softmax { x, log } => {
                    let cols = *val(*x).shape().last().unwrap_or(&1);
                    to(*x, &mut |d| {
                        b.softmax_rows_backward(cols, node.value.data(), dy.data(), d, *log)
                    })
                }
                Op::Reshape { x } => to(*x, &mut |d| add_into(d, dy.data())),
                Op::Mse { pred, target } => {
                    let scale = 2.0 * dy.data()[0] / target.len().max(1) as f32;
                    to(*pred, &mut |d| {
                        for ((d, p), t) in d.iter_mut().zip(val(*pred).data()).zip(target.data()) {
                            *d += scale * (p - t);
                        }
                    });
                }
                Op::CrossEntropy {
                    logits,
                    labels,
                    probs,
                } => {
                    let rows = labels.len().max(1);
                    let classes = probs.len() / rows;
                    let scale = dy.data()[0] / rows as f32;
                    to(*logits, &mut |d| {
                        for (r, &label) in labels.iter().enumerate() {
                            let p = &probs.data()[r * classes..(r + 1) * classes];
                            let dr = &mut d[r * classes..(r + 1) * classes];
                            for (j, (d, &p)) in dr.iter_mut().zip(p).enumerate() {
                                let onehot = if j == label { 1.0 } else { 0.0 };
                                *d += scale * (p - onehot);
                            }
                        }
                    });
                }
                Op::Spatial(saved) => {
                    let value = |i: usize| -> &Tensor { &nodes[i].value };
                    for (input, grad) in
                        crate::spatial::backward(b, saved, &value, &node.value, &dy)
                    {
                        to(input, &mut |d| add_into(d, &grad));
                    }
                }
                Op::BceLogits { z, target } => {
                    let scale = dy.data()[0] / target.len().max(1) as f32;
                    to(*z, &mut |d| {
                        for ((d, &z), &t) in d.iter_mut().zip(val(*z).data()).zip(target.data()) {
                            *d += scale * (1.0 / (1.0 + (-z).exp()) - t);
                        }
                    });
                }
                Op::Bce { p, target, eps } => {
                    let scale = dy.data()[0] / target.len().max(1) as f32;
                    to(*p, &mut |d| {
                        for ((d, &p), &t) in d.iter_mut().zip(val(*p).data()).zip(target.data()) {
                            // The clip passes no gradient outside [eps, 1 - eps].
                            if p > *eps && p < 1.0 - *eps {
                                *d += scale * (p - t) / (p * (1.0 - p));
                            }
                        }
                    });
                }
            }
            grads[id] = Some(dy);
        }
        Ok(Gradients {
            grads,
            tape: std::ptr::from_ref(self) as usize,
            params: self.params.borrow().clone(),
        })
    }
}

fn dims3(t: &Tensor) -> (usize, usize, usize) {
    match t.shape() {
        [a, b, c] => (*a, *b, *c),
        _ => unreachable!("checked in forward"),
    }
}

fn shape_of(t: &Tensor) -> String {
    format!("{:?}", t.shape())
}

/// Clipping of [`Var::binary_cross_entropy`]: probabilities are kept in `[ε, 1 − ε]`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Epsilon {
    /// The smallest ε whose `1 − ε` is still below 1 in `f32` (2⁻²⁴): as close to 0 and 1 as
    /// the logarithms can go without an infinity (zsmallnet's `.auto`).
    #[default]
    Auto,
    /// This ε (raised to the automatic one when smaller).
    Value(f32),
}

impl Epsilon {
    /// The ε used.
    pub fn value(self) -> f32 {
        let auto = f32::EPSILON / 2.0;
        match self {
            Epsilon::Auto => auto,
            Epsilon::Value(e) if e.is_finite() => e.clamp(auto, 0.5),
            Epsilon::Value(_) => auto,
        }
    }
}

impl<'t> Var<'t> {
    /// The tape it lives on.
    pub fn tape(self) -> &'t Tape {
        self.tape
    }

    /// Its value (shared with the tape, not copied).
    pub fn value(self) -> Rc<Tensor> {
        self.tape.value(self.id)
    }

    /// Its shape.
    pub fn shape(self) -> Vec<usize> {
        self.value().shape().to_vec()
    }

    fn unary_op(self, op: Op, value: Tensor) -> Var<'t> {
        let needs = self.tape.needs(self.id);
        self.tape.push(value, op, needs)
    }

    /// Refuses an operand recorded on another tape.
    pub(crate) fn same_tape(self, other: Var<'t>, op: &'static str) -> Result<(), TrainError> {
        if std::ptr::eq(self.tape, other.tape) {
            Ok(())
        } else {
            Err(shape_error(
                op,
                "the operands live on different tapes".to_string(),
            ))
        }
    }

    fn binary_op(self, other: Var<'t>, op: Op, value: Tensor) -> Var<'t> {
        let needs = self.tape.needs(self.id) || self.tape.needs(other.id);
        self.tape.push(value, op, needs)
    }

    fn same_shape(self, other: Var<'t>, op: &'static str) -> Result<(), TrainError> {
        self.same_tape(other, op)?;
        let (a, b) = (self.value(), other.value());
        if a.shape() != b.shape() {
            return Err(shape_error(
                op,
                format!("{} and {} differ", shape_of(&a), shape_of(&b)),
            ));
        }
        Ok(())
    }

    /// `self · wᵀ + b`: a dense layer. `self` is `[rows, in]`, `w` `[out, in]` (the format's
    /// weight layout), `b` `[out]`.
    pub fn linear(self, w: Var<'t>, b: Option<Var<'t>>) -> Result<Var<'t>, TrainError> {
        self.same_tape(w, "linear")?;
        if let Some(b) = b {
            self.same_tape(b, "linear")?;
        }
        let t = self.tape;
        let (x, wv) = (self.value(), w.value());
        let (m, k) = x
            .dims2()
            .ok_or_else(|| shape_error("linear", format!("input {} is not 2-D", shape_of(&x))))?;
        let n = match wv.dims2() {
            Some((n, wk)) if wk == k => n,
            _ => {
                return Err(shape_error(
                    "linear",
                    format!("weights {} for inputs of {k}", shape_of(&wv)),
                ));
            }
        };
        let mut y = vec![0.0; m * n];
        t.backend.gemm(
            m,
            n,
            k,
            x.data(),
            Layout::Plain,
            wv.data(),
            Layout::Transposed,
            &mut y,
            false,
        );
        if let Some(b) = b {
            let bv = b.value();
            if bv.shape() != [n] {
                return Err(shape_error(
                    "linear",
                    format!("bias {} for {n} outputs", shape_of(&bv)),
                ));
            }
            t.backend.add_bias(&mut y, bv.data());
        }
        drop((x, wv));
        let needs = t.needs(self.id) || t.needs(w.id) || b.is_some_and(|b| t.needs(b.id));
        let value = Tensor::new(&[m, n], y)?;
        Ok(t.push(
            value,
            Op::Linear {
                x: self.id,
                w: w.id,
                b: b.map(|b| b.id),
            },
            needs,
        ))
    }

    /// `self · other`: `[m, k] · [k, n]`.
    pub fn matmul(self, other: Var<'t>) -> Result<Var<'t>, TrainError> {
        self.same_tape(other, "matmul")?;
        let (a, b) = (self.value(), other.value());
        let (m, k, n) = match (a.dims2(), b.dims2()) {
            (Some((m, k)), Some((k2, n))) if k == k2 => (m, k, n),
            _ => {
                return Err(shape_error(
                    "matmul",
                    format!("{} · {}", shape_of(&a), shape_of(&b)),
                ));
            }
        };
        let mut y = vec![0.0; m * n];
        self.tape.backend.gemm(
            m,
            n,
            k,
            a.data(),
            Layout::Plain,
            b.data(),
            Layout::Plain,
            &mut y,
            false,
        );
        drop((a, b));
        let value = Tensor::new(&[m, n], y)?;
        Ok(self.binary_op(
            other,
            Op::MatMul {
                a: self.id,
                b: other.id,
            },
            value,
        ))
    }

    /// Batched `self[i] · other[i]`: `[batch, m, k] · [batch, k, n]`.
    pub fn bmm(self, other: Var<'t>) -> Result<Var<'t>, TrainError> {
        self.same_tape(other, "bmm")?;
        let (a, b) = (self.value(), other.value());
        let (batch, m, k, n) = match (a.shape(), b.shape()) {
            ([batch, m, k], [b2, k2, n]) if batch == b2 && k == k2 => (*batch, *m, *k, *n),
            _ => {
                return Err(shape_error(
                    "bmm",
                    format!("{} · {}", shape_of(&a), shape_of(&b)),
                ));
            }
        };
        let mut y = vec![0.0; batch * m * n];
        for i in 0..batch {
            self.tape.backend.gemm(
                m,
                n,
                k,
                &a.data()[i * m * k..],
                Layout::Plain,
                &b.data()[i * k * n..],
                Layout::Plain,
                &mut y[i * m * n..],
                false,
            );
        }
        drop((a, b));
        let value = Tensor::new(&[batch, m, n], y)?;
        Ok(self.binary_op(
            other,
            Op::Bmm {
                a: self.id,
                b: other.id,
            },
            value,
        ))
    }

    fn zip_with(
        self,
        other: Var<'t>,
        name: &'static str,
        f: fn(f32, f32) -> f32,
    ) -> Result<Tensor, TrainError> {
        self.same_shape(other, name)?;
        let (a, b) = (self.value(), other.value());
        let data = a
            .data()
            .iter()
            .zip(b.data())
            .map(|(&x, &y)| f(x, y))
            .collect();
        Tensor::new(a.shape(), data)
    }

    /// `self + other`, same shapes.
    // Fallible (shapes are checked), so not the operator trait.
    #[allow(clippy::should_implement_trait)]
    pub fn add(self, other: Var<'t>) -> Result<Var<'t>, TrainError> {
        let value = self.zip_with(other, "add", |a, b| a + b)?;
        Ok(self.binary_op(
            other,
            Op::Add {
                a: self.id,
                b: other.id,
            },
            value,
        ))
    }

    /// `self − other`, same shapes.
    // Fallible (shapes are checked), so not the operator trait.
    #[allow(clippy::should_implement_trait)]
    pub fn sub(self, other: Var<'t>) -> Result<Var<'t>, TrainError> {
        let value = self.zip_with(other, "sub", |a, b| a - b)?;
        Ok(self.binary_op(
            other,
            Op::Sub {
                a: self.id,
                b: other.id,
            },
            value,
        ))
    }

    /// `self ⊙ other` elementwise, same shapes.
    // Fallible (shapes are checked), so not the operator trait.
    #[allow(clippy::should_implement_trait)]
    pub fn mul(self, other: Var<'t>) -> Result<Var<'t>, TrainError> {
        let value = self.zip_with(other, "mul", |a, b| a * b)?;
        Ok(self.binary_op(
            other,
            Op::Mul {
                a: self.id,
                b: other.id,
            },
            value,
        ))
    }

    /// `factor · self`.
    pub fn scale(self, factor: f32) -> Var<'t> {
        let v = self.value();
        let value = Tensor::new(v.shape(), v.data().iter().map(|x| x * factor).collect())
            .expect("same shape");
        drop(v);
        self.unary_op(Op::Scale { a: self.id, factor }, value)
    }

    /// `self[r] + b` for every row: `self` `[rows, n]` (or any shape ending in `n`), `b` `[n]`.
    pub fn add_bias(self, b: Var<'t>) -> Result<Var<'t>, TrainError> {
        self.same_tape(b, "add_bias")?;
        let (x, bv) = (self.value(), b.value());
        let n = *x.shape().last().unwrap_or(&0);
        if bv.shape() != [n] {
            return Err(shape_error(
                "add_bias",
                format!("bias {} for rows of {n}", shape_of(&bv)),
            ));
        }
        let mut value = Tensor::clone(&x);
        self.tape.backend.add_bias(value.data_mut(), bv.data());
        drop((x, bv));
        Ok(self.binary_op(
            b,
            Op::AddBias {
                x: self.id,
                b: b.id,
            },
            value,
        ))
    }

    /// The sum of the rows: `[rows, n]` to `[n]`.
    pub fn sum_rows(self) -> Result<Var<'t>, TrainError> {
        let x = self.value();
        let (_, n) = x
            .dims2()
            .ok_or_else(|| shape_error("sum_rows", format!("{} is not 2-D", shape_of(&x))))?;
        let mut out = vec![0.0; n];
        self.tape.backend.sum_rows(x.data(), &mut out);
        drop(x);
        Ok(self.unary_op(Op::SumRows { x: self.id }, Tensor::new(&[n], out)?))
    }

    /// An activation: elementwise, or SOFTMAX / LOG_SOFTMAX over each row (the last axis).
    pub fn activation(self, op: Activation) -> Var<'t> {
        if !op.is_elementwise() {
            return self.softmax_op(op == Activation::LogSoftmax);
        }
        let x = self.value();
        let mut y = vec![0.0; x.len()];
        self.tape.backend.unary(op, x.data(), &mut y);
        let value = Tensor::new(x.shape(), y).expect("same shape");
        drop(x);
        self.unary_op(Op::Unary { x: self.id, op }, value)
    }

    /// `max(x, 0)`.
    pub fn relu(self) -> Var<'t> {
        self.activation(Activation::Relu)
    }

    /// `x` above 0, `alpha · x` below.
    pub fn leaky_relu(self, alpha: f32) -> Var<'t> {
        self.activation(Activation::LeakyRelu { alpha })
    }

    /// `1 / (1 + e^-x)`.
    pub fn sigmoid(self) -> Var<'t> {
        self.activation(Activation::Sigmoid)
    }

    /// `tanh x`.
    pub fn tanh(self) -> Var<'t> {
        self.activation(Activation::Tanh)
    }

    fn softmax_op(self, log: bool) -> Var<'t> {
        let x = self.value();
        let cols = *x.shape().last().unwrap_or(&1);
        let mut y = vec![0.0; x.len()];
        self.tape.backend.softmax_rows(cols, x.data(), &mut y, log);
        let value = Tensor::new(x.shape(), y).expect("same shape");
        drop(x);
        self.unary_op(Op::Softmax { x: self.id, log }, value)
    }

    /// Softmax over the last axis.
    pub fn softmax(self) -> Var<'t> {
        self.softmax_op(false)
    }

    /// Log-softmax over the last axis.
    pub fn log_softmax(self) -> Var<'t> {
        self.softmax_op(true)
    }

    /// The same values in another shape of the same volume.
    pub fn reshape(self, shape: &[usize]) -> Result<Var<'t>, TrainError> {
        let value = Tensor::clone(&self.value()).reshape(shape)?;
        Ok(self.unary_op(Op::Reshape { x: self.id }, value))
    }

    /// Mean squared error against `target` (same shape): `mean((self − target)²)`.
    pub fn mse(self, target: &Tensor) -> Result<Var<'t>, TrainError> {
        let p = self.value();
        if p.shape() != target.shape() {
            return Err(shape_error(
                "mse",
                format!(
                    "prediction {} and target {}",
                    shape_of(&p),
                    shape_of(target)
                ),
            ));
        }
        let sum: f64 = p
            .data()
            .iter()
            .zip(target.data())
            .map(|(&a, &b)| ((a - b) as f64).powi(2))
            .sum();
        let loss = (sum / target.len().max(1) as f64) as f32;
        drop(p);
        Ok(self.unary_op(
            Op::Mse {
                pred: self.id,
                target: target.clone(),
            },
            Tensor::scalar(loss),
        ))
    }

    /// Cross-entropy of logits `[rows, classes]` against class indices (mean over rows):
    /// `−mean(log_softmax(self)[r][label_r])`.
    pub fn cross_entropy(self, labels: &[usize]) -> Result<Var<'t>, TrainError> {
        let x = self.value();
        let (rows, classes) = x.dims2().ok_or_else(|| {
            shape_error(
                "cross_entropy",
                format!("logits {} are not 2-D", shape_of(&x)),
            )
        })?;
        if labels.len() != rows {
            return Err(shape_error(
                "cross_entropy",
                format!("{} labels for {rows} rows", labels.len()),
            ));
        }
        if let Some((r, &l)) = labels.iter().enumerate().find(|(_, l)| **l >= classes) {
            return Err(shape_error(
                "cross_entropy",
                format!("label {l} of row {r} is not below {classes} classes"),
            ));
        }
        let mut logp = vec![0.0; x.len()];
        self.tape
            .backend
            .softmax_rows(classes, x.data(), &mut logp, true);
        let total: f64 = labels
            .iter()
            .enumerate()
            .map(|(r, &l)| -logp[r * classes + l] as f64)
            .sum();
        let probs: Vec<f32> = logp.iter().map(|v| v.exp()).collect();
        drop(x);
        Ok(self.unary_op(
            Op::CrossEntropy {
                logits: self.id,
                labels: labels.to_vec(),
                probs: Tensor::new(&[rows, classes], probs)?,
            },
            Tensor::scalar((total / rows.max(1) as f64) as f32),
        ))
    }

    /// Binary cross-entropy (log-loss) of logits `z` against targets in `[0, 1]` (same shape):
    /// the log-loss of `σ(z)` computed from `z` itself, `mean(softplus(z) − t·z)`, so that no
    /// clipping is needed and a confidently wrong prediction keeps its gradient `σ(z) − t`.
    pub fn binary_cross_entropy_with_logits(self, target: &Tensor) -> Result<Var<'t>, TrainError> {
        let z = self.value();
        if z.shape() != target.shape() {
            return Err(shape_error(
                "binary_cross_entropy_with_logits",
                format!("logits {} and target {}", shape_of(&z), shape_of(target)),
            ));
        }
        let sum: f64 = z
            .data()
            .iter()
            .zip(target.data())
            .map(|(&z, &t)| {
                let (z, t) = (z as f64, t as f64);
                // softplus(z) = max(z, 0) + ln(1 + e^−|z|), exact for any z.
                z.max(0.0) + (-z.abs()).exp().ln_1p() - t * z
            })
            .sum();
        drop(z);
        Ok(self.unary_op(
            Op::BceLogits {
                z: self.id,
                target: target.clone(),
            },
            Tensor::scalar((sum / target.len().max(1) as f64) as f32),
        ))
    }

    /// Binary cross-entropy (log-loss) of probabilities against targets in `[0, 1]` (same
    /// shape), each probability clipped to `[ε, 1 − ε]`: `−mean(t ln p + (1 − t) ln(1 − p))`.
    /// The clip passes no gradient: a probability held at ε stays there; from logits, prefer
    /// [`Var::binary_cross_entropy_with_logits`].
    pub fn binary_cross_entropy(
        self,
        target: &Tensor,
        epsilon: Epsilon,
    ) -> Result<Var<'t>, TrainError> {
        let p = self.value();
        if p.shape() != target.shape() {
            return Err(shape_error(
                "binary_cross_entropy",
                format!(
                    "probabilities {} and target {}",
                    shape_of(&p),
                    shape_of(target)
                ),
            ));
        }
        let eps = epsilon.value();
        let sum: f64 = p
            .data()
            .iter()
            .zip(target.data())
            .map(|(&p, &t)| {
                let p = p.clamp(eps, 1.0 - eps) as f64;
                let t = t as f64;
                -(t * p.ln() + (1.0 - t) * (1.0 - p).ln())
            })
            .sum();
        drop(p);
        Ok(self.unary_op(
            Op::Bce {
                p: self.id,
                target: target.clone(),
                eps,
            },
            Tensor::scalar((sum / target.len().max(1) as f64) as f32),
        ))
    }
}
