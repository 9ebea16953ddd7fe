//! The operations on a [`Var`]: products, elementwise arithmetic, activations, softmax and the
//! losses, each computed by the tape's backend and recorded (with what its backward pass needs)
//! on the [`Tape`].

use crate::error::TrainError;
use crate::tape::{Op, Tape, Var, shape_error, shape_of};
use crate::tensor::Tensor;
use instinct_format::Activation;
use instinct_kernels::Layout;
use std::rc::Rc;

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
