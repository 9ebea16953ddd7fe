//! The tape's layer operations beyond matrices and elementwise maps: 2-D convolution (im2col +
//! GEMM), max and adaptive average pooling, layer and batch normalisation, embedding lookup;
//! each a forward method on [`Var`] and its backward pass.

use crate::backend::{Backend, ConvGeometry};
use crate::error::TrainError;
use crate::saved::{NormLayout, Saved};
use crate::tape::{Op, Var};
use crate::tensor::Tensor;
use instinct_kernels::Layout;

fn shape_error(op: &'static str, message: String) -> TrainError {
    TrainError::Shape { op, message }
}

/// Batch statistics of a training-mode batch norm, for the running averages: per channel, the
/// mean and the unbiased variance.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchStats {
    /// Means.
    pub mean: Vec<f32>,
    /// Unbiased variances.
    pub var: Vec<f32>,
}

impl<'t> Var<'t> {
    fn spatial(self, value: Tensor, saved: Saved, inputs: &[usize]) -> Var<'t> {
        let needs = inputs.iter().any(|&i| self.tape.needs(i));
        self.tape.push(value, Op::Spatial(saved), needs)
    }

    /// 2-D convolution: `self` `[n, c, h, w]`, `weight` `[out, c, kh, kw]`, `bias` `[out]`;
    /// output `[n, out, oh, ow]` with `oh = (h + 2·padding − kh) / stride + 1`.
    pub fn conv2d(
        self,
        weight: Var<'t>,
        bias: Option<Var<'t>>,
        stride: usize,
        padding: usize,
    ) -> Result<Var<'t>, TrainError> {
        self.same_tape(weight, "conv2d")?;
        if let Some(b) = bias {
            self.same_tape(b, "conv2d")?;
        }
        let (x, w) = (self.value(), weight.value());
        let (n, c, h, wd) = match x.shape() {
            [n, c, h, w] => (*n, *c, *h, *w),
            s => {
                return Err(shape_error(
                    "conv2d",
                    format!("input {s:?} is not [n, c, h, w]"),
                ));
            }
        };
        let (o, kh, kw) = match w.shape() {
            [o, wc, kh, kw] if *wc == c => (*o, *kh, *kw),
            s => {
                return Err(shape_error(
                    "conv2d",
                    format!("weights {s:?} for {c} input channels"),
                ));
            }
        };
        let g = ConvGeometry::new((c, h, wd), (kh, kw), stride, padding).ok_or_else(|| {
            shape_error(
                "conv2d",
                format!("a {kh}×{kw} kernel, stride {stride}, padding {padding} on {h}×{wd}"),
            )
        })?;
        let bias_values = match bias {
            Some(b) => {
                let bv = b.value();
                if bv.shape() != [o] {
                    return Err(shape_error(
                        "conv2d",
                        format!("bias {:?} for {o} outputs", bv.shape()),
                    ));
                }
                Some(bv.data().to_vec())
            }
            None => None,
        };
        let backend = self.tape.backend();
        let (k, spatial) = (c * kh * kw, g.out_h * g.out_w);
        let mut cols = vec![0.0; n * k * spatial];
        let mut y = vec![0.0; n * o * spatial];
        for i in 0..n {
            let xi = &x.data()[i * c * h * wd..][..c * h * wd];
            let ci = &mut cols[i * k * spatial..][..k * spatial];
            backend.im2col(&g, xi, ci);
            let yi = &mut y[i * o * spatial..][..o * spatial];
            backend.gemm(
                o,
                spatial,
                k,
                w.data(),
                Layout::Plain,
                ci,
                Layout::Plain,
                yi,
                false,
            );
            if let Some(b) = &bias_values {
                for (row, bo) in yi.chunks_exact_mut(spatial.max(1)).zip(b) {
                    for v in row {
                        *v += bo;
                    }
                }
            }
        }
        drop((x, w));
        let value = Tensor::new(&[n, o, g.out_h, g.out_w], y)?;
        let mut inputs = vec![self.id, weight.id];
        inputs.extend(bias.map(|b| b.id));
        Ok(self.spatial(
            value,
            Saved::Conv2d {
                x: self.id,
                w: weight.id,
                b: bias.map(|b| b.id),
                geometry: g,
                batch: n,
                out_channels: o,
                cols,
            },
            &inputs,
        ))
    }

    /// Max pooling of `[n, c, h, w]` with a `kernel × kernel` window every `stride` (no
    /// padding).
    pub fn max_pool2d(self, kernel: usize, stride: usize) -> Result<Var<'t>, TrainError> {
        let x = self.value();
        let (n, c, h, w) = match x.shape() {
            [n, c, h, w] => (*n, *c, *h, *w),
            s => {
                return Err(shape_error(
                    "max_pool2d",
                    format!("input {s:?} is not [n, c, h, w]"),
                ));
            }
        };
        let g = ConvGeometry::new((1, h, w), (kernel, kernel), stride, 0).ok_or_else(|| {
            shape_error(
                "max_pool2d",
                format!("a {kernel}×{kernel} window, stride {stride}, on {h}×{w}"),
            )
        })?;
        let mut y = Vec::with_capacity(n * c * g.out_h * g.out_w);
        let mut argmax = Vec::with_capacity(y.capacity());
        for plane in 0..n * c {
            let base = plane * h * w;
            for oy in 0..g.out_h {
                for ox in 0..g.out_w {
                    let mut best = (base + oy * stride * w + ox * stride, f32::NEG_INFINITY);
                    for i in 0..kernel {
                        for j in 0..kernel {
                            let at = base + (oy * stride + i) * w + ox * stride + j;
                            // NaN wins, so that it propagates as in the other operations.
                            let v = x.data()[at];
                            if v > best.1 || v.is_nan() && !best.1.is_nan() {
                                best = (at, v);
                            }
                        }
                    }
                    argmax.push(best.0);
                    y.push(x.data()[best.0]);
                }
            }
        }
        drop(x);
        let value = Tensor::new(&[n, c, g.out_h, g.out_w], y)?;
        Ok(self.spatial(value, Saved::MaxPool { x: self.id, argmax }, &[self.id]))
    }

    /// Adaptive average pooling of `[n, c, h, w]` to `[n, c, out_h, out_w]`: output `(i, j)`
    /// averages rows `⌊i·h/oh⌋ .. ⌈(i+1)·h/oh⌉` and the columns likewise.
    pub fn adaptive_avg_pool2d(self, out_h: usize, out_w: usize) -> Result<Var<'t>, TrainError> {
        let x = self.value();
        let (n, c, h, w) = match x.shape() {
            [n, c, h, w] => (*n, *c, *h, *w),
            s => {
                return Err(shape_error(
                    "adaptive_avg_pool2d",
                    format!("input {s:?} is not [n, c, h, w]"),
                ));
            }
        };
        if out_h == 0 || out_w == 0 || h == 0 || w == 0 {
            return Err(shape_error(
                "adaptive_avg_pool2d",
                format!("{h}×{w} to {out_h}×{out_w}"),
            ));
        }
        let mut y = Vec::with_capacity(n * c * out_h * out_w);
        for plane in 0..n * c {
            let p = &x.data()[plane * h * w..][..h * w];
            for i in 0..out_h {
                for j in 0..out_w {
                    let (rows, cols) = (bin(i, h, out_h), bin(j, w, out_w));
                    let count = (rows.len() * cols.len()) as f32;
                    let sum: f32 = rows
                        .flat_map(|r| cols.clone().map(move |col| r * w + col))
                        .map(|at| p[at])
                        .sum();
                    y.push(sum / count);
                }
            }
        }
        drop(x);
        let value = Tensor::new(&[n, c, out_h, out_w], y)?;
        Ok(self.spatial(
            value,
            Saved::AvgPool {
                x: self.id,
                planes: n * c,
                size: (h, w),
                out: (out_h, out_w),
            },
            &[self.id],
        ))
    }

    fn normalize(
        self,
        gamma: Var<'t>,
        beta: Var<'t>,
        eps: f32,
        layout: NormLayout,
        fixed: Option<(&[f32], &[f32])>,
        op: &'static str,
    ) -> Result<(Var<'t>, Vec<f32>), TrainError> {
        self.same_tape(gamma, op)?;
        self.same_tape(beta, op)?;
        let (x, gv, bv) = (self.value(), gamma.value(), beta.value());
        let params = match layout {
            NormLayout::Rows { width } => width,
            NormLayout::Channels { channels, .. } => channels,
        };
        if gv.shape() != [params] || bv.shape() != [params] {
            return Err(shape_error(
                op,
                format!(
                    "gamma {:?} and beta {:?} for {params} values",
                    gv.shape(),
                    bv.shape()
                ),
            ));
        }
        if !(eps > 0.0 && eps.is_finite()) {
            return Err(shape_error(op, format!("epsilon {eps} must be positive")));
        }
        let rows_in = layout.to_rows(x.data());
        let width = layout.width();
        let rows = rows_in.len() / width.max(1);
        let mut xhat = vec![0.0; rows_in.len()];
        let mut rstd = vec![0.0; rows];
        match fixed {
            None => self
                .tape
                .backend()
                .normalize_rows(width, &rows_in, eps, &mut xhat, &mut rstd),
            Some((mean, var)) => {
                for (r, ((row, out), rs)) in rows_in
                    .chunks_exact(width.max(1))
                    .zip(xhat.chunks_exact_mut(width.max(1)))
                    .zip(rstd.iter_mut())
                    .enumerate()
                {
                    *rs = 1.0 / (var[r] + eps).sqrt();
                    for (o, v) in out.iter_mut().zip(row) {
                        *o = (v - mean[r]) * *rs;
                    }
                }
            }
        }
        let y_rows: Vec<f32> = xhat
            .iter()
            .enumerate()
            .map(|(k, h)| h * gv.data()[layout.parameter(k)] + bv.data()[layout.parameter(k)])
            .collect();
        let shape = x.shape().to_vec();
        drop((x, gv, bv));
        let value = Tensor::new(&shape, layout.back_from_rows(&y_rows))?;
        let var = self.spatial(
            value,
            Saved::Norm {
                x: self.id,
                gamma: gamma.id,
                beta: beta.id,
                layout,
                xhat,
                rstd: rstd.clone(),
                fixed: fixed.is_some(),
            },
            &[self.id, gamma.id, beta.id],
        );
        Ok((var, rstd))
    }

    /// Layer normalisation over the last axis: `(x − mean) / √(var + eps) · gamma + beta`.
    pub fn layer_norm(
        self,
        gamma: Var<'t>,
        beta: Var<'t>,
        eps: f32,
    ) -> Result<Var<'t>, TrainError> {
        let width = *self.shape().last().unwrap_or(&0);
        if width == 0 {
            return Err(shape_error("layer_norm", "an empty last axis".to_string()));
        }
        Ok(self
            .normalize(
                gamma,
                beta,
                eps,
                NormLayout::Rows { width },
                None,
                "layer_norm",
            )?
            .0)
    }

    /// Batch normalisation of `[n, channels]` or `[n, channels, h, w]` per channel. With
    /// `running` (evaluation) the given per-channel mean and variance are used; without
    /// (training) the batch's, which are returned for the running averages.
    pub fn batch_norm(
        self,
        gamma: Var<'t>,
        beta: Var<'t>,
        eps: f32,
        running: Option<(&[f32], &[f32])>,
    ) -> Result<(Var<'t>, Option<BatchStats>), TrainError> {
        let shape = self.shape();
        let (n, channels, spatial) = match shape[..] {
            [n, c] => (n, c, 1),
            [n, c, h, w] => (n, c, h * w),
            _ => {
                return Err(shape_error(
                    "batch_norm",
                    format!("input {shape:?} is not [n, c] or [n, c, h, w]"),
                ));
            }
        };
        if let Some((m, v)) = running
            && (m.len() != channels || v.len() != channels)
        {
            return Err(shape_error(
                "batch_norm",
                format!(
                    "running statistics of {} values for {channels} channels",
                    m.len()
                ),
            ));
        }
        if running.is_none() && n * spatial < 2 {
            return Err(shape_error(
                "batch_norm",
                format!("training needs more than one value per channel; {shape:?} has one"),
            ));
        }
        let layout = NormLayout::Channels {
            n,
            channels,
            spatial,
        };
        let (y, rstd) = self.normalize(gamma, beta, eps, layout, running, "batch_norm")?;
        if running.is_some() {
            return Ok((y, None));
        }
        // The mean of each channel's inputs, and its variance from the normalisation (biased, made
        // unbiased for the running average).
        let rows = layout.to_rows(self.value().data());
        let count = (n * spatial) as f32;
        let mean: Vec<f32> = rows
            .chunks_exact((n * spatial).max(1))
            .map(|r| r.iter().sum::<f32>() / count)
            .collect();
        let unbiased = if count > 1.0 {
            count / (count - 1.0)
        } else {
            1.0
        };
        let var = rstd
            .iter()
            .map(|r| ((1.0 / (r * r)) - eps).max(0.0) * unbiased)
            .collect();
        Ok((y, Some(BatchStats { mean, var })))
    }

    /// Rows of `self` (`[vocabulary, dim]`) picked by `indices`: `[indices.len(), dim]`.
    pub fn embedding(self, indices: &[usize]) -> Result<Var<'t>, TrainError> {
        let w = self.value();
        let (vocabulary, dim) = w
            .dims2()
            .ok_or_else(|| shape_error("embedding", format!("table {:?} is not 2-D", w.shape())))?;
        if let Some((at, &i)) = indices.iter().enumerate().find(|(_, i)| **i >= vocabulary) {
            return Err(shape_error(
                "embedding",
                format!("index {i} at position {at} is not below the {vocabulary} rows"),
            ));
        }
        let mut y = Vec::with_capacity(indices.len() * dim);
        for &i in indices {
            y.extend_from_slice(&w.data()[i * dim..(i + 1) * dim]);
        }
        drop(w);
        let value = Tensor::new(&[indices.len(), dim], y)?;
        Ok(self.spatial(
            value,
            Saved::Embedding {
                weight: self.id,
                indices: indices.to_vec(),
            },
            &[self.id],
        ))
    }
}

/// The input range of adaptive pooling bin `i` of `out` over `size`.
fn bin(i: usize, size: usize, out: usize) -> std::ops::Range<usize> {
    (i * size / out)..((i + 1) * size).div_ceil(out)
}

/// The gradients of a spatial operation's inputs, given its output `y` and gradient `dy`.
pub(crate) fn backward<'v>(
    backend: &dyn Backend,
    saved: &Saved,
    value: &dyn Fn(usize) -> &'v Tensor,
    _y: &Tensor,
    dy: &Tensor,
) -> Vec<(usize, Vec<f32>)> {
    let dy = dy.data();
    match saved {
        Saved::Conv2d {
            x,
            w,
            b,
            geometry: g,
            batch,
            out_channels: o,
            cols,
        } => {
            let (k, spatial) = (g.channels * g.kernel_h * g.kernel_w, g.out_h * g.out_w);
            let image = g.channels * g.height * g.width;
            let weights = value(*w).data();
            let mut dw = vec![0.0; o * k];
            let mut dx = vec![0.0; batch * image];
            let mut db = vec![0.0; *o];
            let mut dcols = vec![0.0; k * spatial];
            for i in 0..*batch {
                let dyi = &dy[i * o * spatial..][..o * spatial];
                let ci = &cols[i * k * spatial..][..k * spatial];
                backend.gemm(
                    *o,
                    k,
                    spatial,
                    dyi,
                    Layout::Plain,
                    ci,
                    Layout::Transposed,
                    &mut dw,
                    true,
                );
                backend.gemm(
                    k,
                    spatial,
                    *o,
                    weights,
                    Layout::Transposed,
                    dyi,
                    Layout::Plain,
                    &mut dcols,
                    false,
                );
                backend.col2im(g, &dcols, &mut dx[i * image..][..image]);
                for (d, row) in db.iter_mut().zip(dyi.chunks_exact(spatial.max(1))) {
                    *d += row.iter().sum::<f32>();
                }
            }
            let mut out = vec![(*x, dx), (*w, dw)];
            out.extend(b.map(|b| (b, db)));
            out
        }
        Saved::MaxPool { x, argmax } => {
            let mut dx = vec![0.0; value(*x).len()];
            for (&at, g) in argmax.iter().zip(dy) {
                dx[at] += g;
            }
            vec![(*x, dx)]
        }
        Saved::AvgPool {
            x,
            planes,
            size: (h, w),
            out: (oh, ow),
        } => {
            let mut dx = vec![0.0; planes * h * w];
            for plane in 0..*planes {
                for i in 0..*oh {
                    for j in 0..*ow {
                        let (rows, cols) = (bin(i, *h, *oh), bin(j, *w, *ow));
                        let share =
                            dy[(plane * oh + i) * ow + j] / (rows.len() * cols.len()) as f32;
                        for r in rows {
                            for col in cols.clone() {
                                dx[plane * h * w + r * w + col] += share;
                            }
                        }
                    }
                }
            }
            vec![(*x, dx)]
        }
        Saved::Norm {
            x,
            gamma,
            beta,
            layout,
            xhat,
            rstd,
            fixed,
        } => {
            let gv = value(*gamma).data();
            let dy_rows = layout.to_rows(dy);
            let mut dgamma = vec![0.0; gv.len()];
            let mut dbeta = vec![0.0; gv.len()];
            let mut dxhat = vec![0.0; dy_rows.len()];
            for (k, (&g, &h)) in dy_rows.iter().zip(xhat).enumerate() {
                let p = layout.parameter(k);
                dgamma[p] += g * h;
                dbeta[p] += g;
                dxhat[k] = g * gv[p];
            }
            let width = layout.width();
            let mut dx_rows = vec![0.0; dxhat.len()];
            if *fixed {
                for (r, (d, g)) in dx_rows
                    .chunks_exact_mut(width.max(1))
                    .zip(dxhat.chunks_exact(width.max(1)))
                    .enumerate()
                {
                    for (d, g) in d.iter_mut().zip(g) {
                        *d = g * rstd[r];
                    }
                }
            } else {
                backend.normalize_rows_backward(width, xhat, rstd, &dxhat, &mut dx_rows);
            }
            vec![
                (*x, layout.back_from_rows(&dx_rows)),
                (*gamma, dgamma),
                (*beta, dbeta),
            ]
        }
        Saved::Embedding { weight, indices } => {
            let table = value(*weight);
            let dim = table.shape()[1];
            let mut dw = vec![0.0; table.len()];
            for (r, &i) in indices.iter().enumerate() {
                for (d, g) in dw[i * dim..(i + 1) * dim]
                    .iter_mut()
                    .zip(&dy[r * dim..(r + 1) * dim])
                {
                    *d += g;
                }
            }
            vec![(*weight, dw)]
        }
    }
}
