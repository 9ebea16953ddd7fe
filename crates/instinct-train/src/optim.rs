//! Optimisers ([`Sgd`] with momentum, Nesterov and weight decay; [`Adam`] and AdamW;
//! [`FixedStep`], zsmallnet's step of fixed length along the gradient's direction), learning-rate
//! [`Schedule`]s and [`clip_grad_norm`].

use crate::error::TrainError;
use crate::param::{Param, ParamId};
use crate::tensor::Tensor;
use std::collections::HashMap;

/// Updates parameters from their gradients.
pub trait Optimizer {
    /// One update of `params` with learning rate `lr`; `grads[i]` is the gradient of
    /// `params[i]` (`None`: it did not influence the loss, and is left alone).
    fn step(
        &mut self,
        params: &mut [&mut Param],
        grads: &[Option<Tensor>],
        lr: f32,
    ) -> Result<(), TrainError>;
}

fn check_lengths(params: &[&mut Param], grads: &[Option<Tensor>]) -> Result<(), TrainError> {
    if params.len() != grads.len() {
        return Err(TrainError::Shape {
            op: "optimizer step",
            message: format!("{} gradients for {} parameters", grads.len(), params.len()),
        });
    }
    for (p, g) in params.iter().zip(grads) {
        if let Some(g) = g
            && g.shape() != p.value().shape()
        {
            return Err(TrainError::Shape {
                op: "optimizer step",
                message: format!(
                    "gradient {:?} for parameter {} of shape {:?}",
                    g.shape(),
                    p.name(),
                    p.value().shape()
                ),
            });
        }
    }
    Ok(())
}

/// Stochastic gradient descent: `v = μv + g (+ λw)`, `w -= lr · v` (Nesterov: `w -= lr · (g +
/// μv)`). With μ = 0, plain gradient descent.
#[derive(Debug, Clone, Default)]
pub struct Sgd {
    /// Momentum μ (0: none).
    pub momentum: f32,
    /// Nesterov's look-ahead.
    pub nesterov: bool,
    /// L2 weight decay λ, added to the gradient of weight matrices ([`Param::decays`]).
    pub weight_decay: f32,
    velocity: HashMap<ParamId, Vec<f32>>,
}

impl Sgd {
    /// Plain gradient descent.
    pub fn new() -> Sgd {
        Sgd::default()
    }

    /// With momentum `momentum`, Nesterov's when `nesterov`.
    pub fn with_momentum(momentum: f32, nesterov: bool) -> Sgd {
        Sgd {
            momentum,
            nesterov,
            ..Sgd::default()
        }
    }
}

impl Sgd {
    /// The same with L2 weight decay `weight_decay`.
    pub fn with_weight_decay(mut self, weight_decay: f32) -> Sgd {
        self.weight_decay = weight_decay;
        self
    }
}

impl Optimizer for Sgd {
    fn step(
        &mut self,
        params: &mut [&mut Param],
        grads: &[Option<Tensor>],
        lr: f32,
    ) -> Result<(), TrainError> {
        check_lengths(params, grads)?;
        for (p, g) in params.iter_mut().zip(grads) {
            let Some(g) = g else { continue };
            let id = p.id();
            let decay = if p.decays() { self.weight_decay } else { 0.0 };
            let w = p.value_mut().data_mut();
            if self.momentum == 0.0 {
                for (w, &g) in w.iter_mut().zip(g.data()) {
                    *w -= lr * (g + decay * *w);
                }
                continue;
            }
            let v = self
                .velocity
                .entry(id)
                .or_insert_with(|| vec![0.0; g.len()]);
            for ((w, &g), v) in w.iter_mut().zip(g.data()).zip(v.iter_mut()) {
                let g = g + decay * *w;
                *v = self.momentum * *v + g;
                let d = if self.nesterov {
                    g + self.momentum * *v
                } else {
                    *v
                };
                *w -= lr * d;
            }
        }
        Ok(())
    }
}

/// Adam (Kingma & Ba), with L2 weight decay added to the gradient, or decoupled (AdamW:
/// `w -= lr · λ · w` apart from the adaptive step).
#[derive(Debug, Clone)]
pub struct Adam {
    /// β₁.
    pub beta1: f32,
    /// β₂.
    pub beta2: f32,
    /// ε.
    pub epsilon: f32,
    /// Weight decay λ, of weight matrices only ([`Param::decays`]).
    pub weight_decay: f32,
    /// Whether the decay is decoupled (AdamW).
    pub decoupled: bool,
    steps: HashMap<ParamId, (u32, Vec<f32>, Vec<f32>)>,
}

impl Default for Adam {
    fn default() -> Adam {
        Adam {
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
            weight_decay: 0.0,
            decoupled: false,
            steps: HashMap::new(),
        }
    }
}

impl Adam {
    /// Adam with β₁ 0.9, β₂ 0.999, ε 1e-8.
    pub fn new() -> Adam {
        Adam::default()
    }

    /// AdamW with decoupled weight decay `weight_decay`.
    pub fn adamw(weight_decay: f32) -> Adam {
        Adam {
            weight_decay,
            decoupled: true,
            ..Adam::default()
        }
    }
}

impl Adam {
    /// The same with weight decay `weight_decay` (L2, or decoupled for AdamW).
    pub fn with_weight_decay(mut self, weight_decay: f32) -> Adam {
        self.weight_decay = weight_decay;
        self
    }
}

impl Optimizer for Adam {
    fn step(
        &mut self,
        params: &mut [&mut Param],
        grads: &[Option<Tensor>],
        lr: f32,
    ) -> Result<(), TrainError> {
        check_lengths(params, grads)?;
        for (p, g) in params.iter_mut().zip(grads) {
            let Some(g) = g else { continue };
            let (t, m, v) = self
                .steps
                .entry(p.id())
                .or_insert_with(|| (0, vec![0.0; g.len()], vec![0.0; g.len()]));
            *t += 1;
            let c1 = 1.0 - self.beta1.powi(*t as i32);
            let c2 = 1.0 - self.beta2.powi(*t as i32);
            let step = lr * c2.sqrt() / c1;
            let eps = self.epsilon * c2.sqrt();
            let decay = if p.decays() { self.weight_decay } else { 0.0 };
            let w = p.value_mut().data_mut();
            // The decay as two factors, so that one branch-free loop (which the compiler
            // vectorises) serves Adam and AdamW: L2 adds `l2·w` to the gradient, AdamW scales
            // the weight by `keep` before the step.
            let (l2, keep) = if self.decoupled {
                (0.0, 1.0 - lr * decay)
            } else {
                (decay, 1.0)
            };
            let (b1, b2) = (self.beta1, self.beta2);
            for (((w, &g), m), v) in w
                .iter_mut()
                .zip(g.data())
                .zip(m.iter_mut())
                .zip(v.iter_mut())
            {
                let g = g + l2 * *w;
                *m = b1 * *m + (1.0 - b1) * g;
                *v = b2 * *v + (1.0 - b2) * g * g;
                *w = *w * keep - step * *m / (v.sqrt() + eps);
            }
        }
        Ok(())
    }
}

/// zsmallnet's fixed-length step: every parameter moves `lr` along `−g / ‖g‖`, `‖g‖` the norm
/// of all gradients together, so the step's length is `lr` whatever the gradient's size.
#[derive(Debug, Clone, Copy, Default)]
pub struct FixedStep;

impl Optimizer for FixedStep {
    fn step(
        &mut self,
        params: &mut [&mut Param],
        grads: &[Option<Tensor>],
        lr: f32,
    ) -> Result<(), TrainError> {
        check_lengths(params, grads)?;
        let norm = global_norm(grads);
        if norm == 0.0 || !norm.is_finite() {
            return Ok(());
        }
        let scale = lr / norm;
        for (p, g) in params.iter_mut().zip(grads) {
            let Some(g) = g else { continue };
            for (w, &g) in p.value_mut().data_mut().iter_mut().zip(g.data()) {
                *w -= scale * g;
            }
        }
        Ok(())
    }
}

fn global_norm(grads: &[Option<Tensor>]) -> f32 {
    grads
        .iter()
        .flatten()
        .flat_map(|g| g.data())
        .map(|&v| v as f64 * v as f64)
        .sum::<f64>()
        .sqrt() as f32
}

/// Scales all gradients together so that their joint norm is at most `max_norm`; returns the
/// norm before.
pub fn clip_grad_norm(grads: &mut [Option<Tensor>], max_norm: f32) -> f32 {
    let norm = global_norm(grads);
    if norm > max_norm && norm.is_finite() {
        let scale = max_norm / norm;
        for g in grads.iter_mut().flatten() {
            for v in g.data_mut() {
                *v *= scale;
            }
        }
    }
    norm
}

/// The learning rate over epochs.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Schedule {
    /// The base rate throughout.
    #[default]
    Constant,
    /// The rate times `gamma` every `every` epochs.
    Step {
        /// Epochs between reductions.
        every: usize,
        /// The factor.
        gamma: f32,
    },
    /// Cosine from the base rate down to `floor` times it over `epochs` epochs.
    Cosine {
        /// Epochs of the whole decay.
        epochs: usize,
        /// The last rate, as a fraction of the base.
        floor: f32,
    },
}

impl Schedule {
    /// The rate for `epoch` (0-based) from the base rate `base`.
    pub fn rate(self, base: f32, epoch: usize) -> f32 {
        match self {
            Schedule::Constant => base,
            Schedule::Step { every, gamma } => base * gamma.powi((epoch / every.max(1)) as i32),
            Schedule::Cosine { epochs, floor } => {
                let t = (epoch as f32 / epochs.max(1) as f32).min(1.0);
                let f = floor + (1.0 - floor) * 0.5 * (1.0 + (std::f32::consts::PI * t).cos());
                base * f
            }
        }
    }
}
