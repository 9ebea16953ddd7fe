//! The `Backend` trait: every kernel autograd needs, on slices, forward and backward. Two
//! implementations: [`ReferenceBackend`] (naive loops in `f64` accumulators: the test oracle)
//! and [`crate::cpu::CpuBackend`] (sgemm, vectorised activations, rayon over rows where it pays).
//! Both must agree within the tolerances the tests name.

use instinct_format::Activation;
use instinct_kernels::Layout;

/// Kernels on row-major slices. Shapes are passed as numbers; callers (the tape) check them, so
/// an implementation may panic on slices shorter than the shape says.
pub trait Backend: Send + Sync + std::fmt::Debug {
    /// A short name for reports.
    fn name(&self) -> &'static str;

    /// `c = op(a) · op(b)`, or `c += …` when `accumulate`: `op(a)` is `m × k`, `op(b)` `k × n`,
    /// `c` `m × n` (see [`instinct_kernels::gemm()`] for the layouts).
    #[allow(clippy::too_many_arguments)]
    fn gemm(
        &self,
        m: usize,
        n: usize,
        k: usize,
        a: &[f32],
        a_layout: Layout,
        b: &[f32],
        b_layout: Layout,
        c: &mut [f32],
        accumulate: bool,
    );

    /// `x[r][j] += bias[j]` for every row `r` of `bias.len()` values.
    fn add_bias(&self, x: &mut [f32], bias: &[f32]);

    /// `out[j] += Σ_r x[r][j]` over the rows of `out.len()` values (the bias gradient).
    fn sum_rows(&self, x: &[f32], out: &mut [f32]);

    /// `y = op(x)` elementwise (`op` is an elementwise activation: the tape sends SOFTMAX and
    /// LOG_SOFTMAX to [`softmax_rows`](Self::softmax_rows)).
    fn unary(&self, op: Activation, x: &[f32], y: &mut [f32]);

    /// `dx += op'(x) · dy`, given `x` and the forward output `y` ([`Activation::derivative`]).
    fn unary_backward(&self, op: Activation, x: &[f32], y: &[f32], dy: &[f32], dx: &mut [f32]);

    /// Softmax (or, with `log`, log-softmax) of every row of `cols` values.
    fn softmax_rows(&self, cols: usize, x: &[f32], y: &mut [f32], log: bool);

    /// `dx +=` the gradient through [`Backend::softmax_rows`], given its output `y`.
    fn softmax_rows_backward(&self, cols: usize, y: &[f32], dy: &[f32], dx: &mut [f32], log: bool);

    /// Normalises each row of `cols` values: `xhat = (x − mean) / √(var + eps)` (the biased
    /// variance); `rstd[r] = 1 / √(var + eps)`.
    fn normalize_rows(&self, cols: usize, x: &[f32], eps: f32, xhat: &mut [f32], rstd: &mut [f32]) {
        let c = cols.max(1);
        for ((xr, hr), rs) in x.chunks_exact(c).zip(xhat.chunks_exact_mut(c)).zip(rstd) {
            let n = xr.len() as f32;
            let mean = xr.iter().sum::<f32>() / n;
            let var = xr.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
            *rs = 1.0 / (var + eps).sqrt();
            for (h, v) in hr.iter_mut().zip(xr) {
                *h = (v - mean) * *rs;
            }
        }
    }

    /// `dx +=` the gradient through [`Backend::normalize_rows`]:
    /// `rstd · (dxhat − mean(dxhat) − xhat · mean(dxhat ⊙ xhat))` per row.
    fn normalize_rows_backward(
        &self,
        cols: usize,
        xhat: &[f32],
        rstd: &[f32],
        dxhat: &[f32],
        dx: &mut [f32],
    ) {
        let c = cols.max(1);
        let rows = xhat.chunks_exact(c).zip(dxhat.chunks_exact(c));
        for (((hr, gr), dr), rs) in rows.zip(dx.chunks_exact_mut(c)).zip(rstd) {
            let n = hr.len() as f32;
            let mean_g = gr.iter().sum::<f32>() / n;
            let mean_gh = gr.iter().zip(hr).map(|(g, h)| g * h).sum::<f32>() / n;
            for ((d, g), h) in dr.iter_mut().zip(gr).zip(hr) {
                *d += rs * (g - mean_g - h * mean_gh);
            }
        }
    }

    /// The columns of one sample's `[channels, height, width]` image for a convolution:
    /// `cols[(c·kh + i)·kw + j][oy·ow + ox] = x[c][oy·s − p + i][ox·s − p + j]` (0 outside).
    fn im2col(&self, g: &ConvGeometry, x: &[f32], cols: &mut [f32]) {
        let spatial = g.out_h * g.out_w;
        for c in 0..g.channels {
            for i in 0..g.kernel_h {
                for j in 0..g.kernel_w {
                    let row = (c * g.kernel_h + i) * g.kernel_w + j;
                    let out = &mut cols[row * spatial..(row + 1) * spatial];
                    for oy in 0..g.out_h {
                        for ox in 0..g.out_w {
                            out[oy * g.out_w + ox] = g
                                .source(oy, ox, i, j)
                                .map_or(0.0, |(y, x_)| x[(c * g.height + y) * g.width + x_]);
                        }
                    }
                }
            }
        }
    }

    /// `dx +=` the image gradient of [`Backend::im2col`]'s columns (its adjoint).
    fn col2im(&self, g: &ConvGeometry, cols: &[f32], dx: &mut [f32]) {
        let spatial = g.out_h * g.out_w;
        for c in 0..g.channels {
            for i in 0..g.kernel_h {
                for j in 0..g.kernel_w {
                    let row = (c * g.kernel_h + i) * g.kernel_w + j;
                    let col = &cols[row * spatial..(row + 1) * spatial];
                    for oy in 0..g.out_h {
                        for ox in 0..g.out_w {
                            if let Some((y, x_)) = g.source(oy, ox, i, j) {
                                dx[(c * g.height + y) * g.width + x_] += col[oy * g.out_w + ox];
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The shape of a 2-D convolution (or pooling window) over one `[channels, height, width]`
/// image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvGeometry {
    /// Input channels.
    pub channels: usize,
    /// Input height.
    pub height: usize,
    /// Input width.
    pub width: usize,
    /// Window height.
    pub kernel_h: usize,
    /// Window width.
    pub kernel_w: usize,
    /// Step between windows.
    pub stride: usize,
    /// Zeros added on every side.
    pub padding: usize,
    /// Output height: `(height + 2·padding − kernel_h) / stride + 1`.
    pub out_h: usize,
    /// Output width.
    pub out_w: usize,
}

impl ConvGeometry {
    /// The geometry of a `kernel_h × kernel_w` window, or `None` when the window does not fit
    /// the padded image or the stride is 0.
    pub fn new(
        (channels, height, width): (usize, usize, usize),
        (kernel_h, kernel_w): (usize, usize),
        stride: usize,
        padding: usize,
    ) -> Option<ConvGeometry> {
        let pad = padding.checked_mul(2)?;
        let (ph, pw) = (height.checked_add(pad)?, width.checked_add(pad)?);
        if stride == 0 || kernel_h == 0 || kernel_w == 0 || kernel_h > ph || kernel_w > pw {
            return None;
        }
        Some(ConvGeometry {
            channels,
            height,
            width,
            kernel_h,
            kernel_w,
            stride,
            padding,
            out_h: (ph - kernel_h) / stride + 1,
            out_w: (pw - kernel_w) / stride + 1,
        })
    }

    /// The input position that window position `(i, j)` of output `(oy, ox)` reads, or `None`
    /// in the padding.
    pub fn source(&self, oy: usize, ox: usize, i: usize, j: usize) -> Option<(usize, usize)> {
        let y = (oy * self.stride + i).checked_sub(self.padding)?;
        let x = (ox * self.stride + j).checked_sub(self.padding)?;
        (y < self.height && x < self.width).then_some((y, x))
    }
}

/// Naive loops with `f64` accumulators: slow, obviously right, the oracle of every test.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReferenceBackend;

impl Backend for ReferenceBackend {
    fn name(&self) -> &'static str {
        "reference"
    }

    fn normalize_rows(&self, cols: usize, x: &[f32], eps: f32, xhat: &mut [f32], rstd: &mut [f32]) {
        let c = cols.max(1);
        for ((xr, hr), rs) in x.chunks_exact(c).zip(xhat.chunks_exact_mut(c)).zip(rstd) {
            let n = xr.len() as f64;
            let mean = xr.iter().map(|&v| v as f64).sum::<f64>() / n;
            let var = xr.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
            let r = 1.0 / (var + eps as f64).sqrt();
            *rs = r as f32;
            for (h, &v) in hr.iter_mut().zip(xr) {
                *h = ((v as f64 - mean) * r) as f32;
            }
        }
    }

    fn normalize_rows_backward(
        &self,
        cols: usize,
        xhat: &[f32],
        rstd: &[f32],
        dxhat: &[f32],
        dx: &mut [f32],
    ) {
        let c = cols.max(1);
        let rows = xhat.chunks_exact(c).zip(dxhat.chunks_exact(c));
        for (((hr, gr), dr), &rs) in rows.zip(dx.chunks_exact_mut(c)).zip(rstd) {
            let n = hr.len() as f64;
            let mean_g = gr.iter().map(|&g| g as f64).sum::<f64>() / n;
            let mean_gh = gr
                .iter()
                .zip(hr)
                .map(|(&g, &h)| g as f64 * h as f64)
                .sum::<f64>()
                / n;
            for ((d, &g), &h) in dr.iter_mut().zip(gr).zip(hr) {
                *d += (rs as f64 * (g as f64 - mean_g - h as f64 * mean_gh)) as f32;
            }
        }
    }

    fn gemm(
        &self,
        m: usize,
        n: usize,
        k: usize,
        a: &[f32],
        a_layout: Layout,
        b: &[f32],
        b_layout: Layout,
        c: &mut [f32],
        accumulate: bool,
    ) {
        for i in 0..m {
            for j in 0..n {
                let mut s = if accumulate { c[i * n + j] as f64 } else { 0.0 };
                for p in 0..k {
                    let av = match a_layout {
                        Layout::Plain => a[i * k + p],
                        Layout::Transposed => a[p * m + i],
                    };
                    let bv = match b_layout {
                        Layout::Plain => b[p * n + j],
                        Layout::Transposed => b[j * k + p],
                    };
                    s += av as f64 * bv as f64;
                }
                c[i * n + j] = s as f32;
            }
        }
    }

    fn add_bias(&self, x: &mut [f32], bias: &[f32]) {
        for row in x.chunks_exact_mut(bias.len().max(1)) {
            for (v, b) in row.iter_mut().zip(bias) {
                *v += b;
            }
        }
    }

    fn sum_rows(&self, x: &[f32], out: &mut [f32]) {
        let n = out.len();
        for (j, o) in out.iter_mut().enumerate() {
            let s: f64 = x.iter().skip(j).step_by(n.max(1)).map(|&v| v as f64).sum();
            *o += s as f32;
        }
    }

    fn unary(&self, op: Activation, x: &[f32], y: &mut [f32]) {
        // The scalar definitions, value by value.
        for (y, &x) in y.iter_mut().zip(x) {
            *y = op.scalar(x).unwrap_or(x);
        }
    }

    fn unary_backward(&self, op: Activation, x: &[f32], y: &[f32], dy: &[f32], dx: &mut [f32]) {
        for i in 0..dx.len() {
            dx[i] += op.derivative(x[i], y[i]).unwrap_or(0.0) * dy[i];
        }
    }

    fn softmax_rows(&self, cols: usize, x: &[f32], y: &mut [f32], log: bool) {
        for (xr, yr) in x
            .chunks_exact(cols.max(1))
            .zip(y.chunks_exact_mut(cols.max(1)))
        {
            let max = xr.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v as f64));
            let sum: f64 = xr.iter().map(|&v| (v as f64 - max).exp()).sum();
            for (o, &v) in yr.iter_mut().zip(xr) {
                let shifted = v as f64 - max;
                *o = if log {
                    (shifted - sum.ln()) as f32
                } else {
                    (shifted.exp() / sum) as f32
                };
            }
        }
    }

    fn softmax_rows_backward(&self, cols: usize, y: &[f32], dy: &[f32], dx: &mut [f32], log: bool) {
        let c = cols.max(1);
        for ((yr, gr), dr) in y
            .chunks_exact(c)
            .zip(dy.chunks_exact(c))
            .zip(dx.chunks_exact_mut(c))
        {
            if log {
                // y = log softmax: dx = dy - softmax · Σ dy.
                let total: f64 = gr.iter().map(|&g| g as f64).sum();
                for ((d, &g), &v) in dr.iter_mut().zip(gr).zip(yr) {
                    *d += (g as f64 - (v as f64).exp() * total) as f32;
                }
            } else {
                // y = softmax: dx = y ⊙ (dy - Σ y ⊙ dy).
                let dot: f64 = yr.iter().zip(gr).map(|(&v, &g)| v as f64 * g as f64).sum();
                for ((d, &g), &v) in dr.iter_mut().zip(gr).zip(yr) {
                    *d += (v as f64 * (g as f64 - dot)) as f32;
                }
            }
        }
    }
}
