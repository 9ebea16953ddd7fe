//! Define-by-run autograd: a `Tape` records every operation on its `Var`s as it runs, with the
//! values it needs later; `Tape::backward` walks the record backwards from a single-number loss
//! and returns the gradient of every value that needs one. All arithmetic goes through the
//! tape's [`Backend`]. The operations on a [`Var`] (and what each records) are in `var.rs`.

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
    pub(crate) backend: Arc<dyn Backend>,
    nodes: RefCell<Vec<Node>>,
    pub(crate) params: RefCell<Vec<(ParamId, usize)>>,
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

pub(crate) fn shape_error(op: &'static str, message: String) -> TrainError {
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

    pub(crate) fn value(&self, id: usize) -> Rc<Tensor> {
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

pub(crate) fn shape_of(t: &Tensor) -> String {
    format!("{:?}", t.shape())
}
