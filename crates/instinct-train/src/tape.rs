//! Define-by-run autograd: a `Tape` records every operation on its `Var`s as it runs, with the
//! values it needs later; `Tape::backward` walks the record backwards from a single-number loss
//! and returns the gradient of every value that needs one. All arithmetic goes through the
//! tape's [`Backend`]. The operations on a [`Var`] (and what each records) are in `var.rs`.

use crate::backend::Backend;
use crate::error::TrainError;
use crate::param::{Param, ParamId};
use crate::tensor::Tensor;
use instinct_format::Activation;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

/// How an operation's output depends on its inputs (node indices), with what backward needs.
#[derive(Debug)]
pub(crate) enum Op {
    Leaf,
    /// A layer of `spatial.rs` (convolution, pooling, normalisation, embedding): its inputs
    /// and what its backward pass needs.
    Spatial(crate::saved::Saved),
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
pub(crate) struct Node {
    pub(crate) value: Rc<Tensor>,
    pub(crate) op: Op,
    pub(crate) needs_grad: bool,
}

/// The record of one forward pass. Create one per step; values live as long as it does.
#[derive(Debug)]
pub struct Tape {
    pub(crate) backend: Arc<dyn Backend>,
    pub(crate) nodes: RefCell<Vec<Node>>,
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
    pub(crate) grads: Vec<Option<Tensor>>,
    pub(crate) params: Vec<(ParamId, usize)>,
    /// The address of the tape they come from.
    pub(crate) tape: usize,
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

pub(crate) fn add_into(dst: &mut [f32], src: &[f32]) {
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
}

pub(crate) fn shape_of(t: &Tensor) -> String {
    format!("{:?}", t.shape())
}
