//! The backward pass of a [`Tape`]: every recorded operation's gradient, from the loss back to
//! the values and parameters that need one.

use crate::error::TrainError;
use crate::tape::{Gradients, Op, Tape, Var, add_into, shape_error};
use crate::tensor::Tensor;
use instinct_kernels::Layout;

impl Tape {
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
