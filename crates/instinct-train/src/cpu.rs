//! `CpuBackend`: the fast kernels. Matrix products through instinct-kernels' sgemm (split over
//! rayon's threads when large), activations through its vectorised kernels, the rest in plain
//! loops the compiler vectorises.

use crate::backend::Backend;
use instinct_format::Activation;
use instinct_kernels::Layout;
use rayon::prelude::*;

/// Products of at least this many multiply-adds are split across threads.
const PARALLEL_PRODUCTS: usize = 1 << 21;

/// The fast CPU backend.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuBackend;

impl Backend for CpuBackend {
    fn name(&self) -> &'static str {
        "cpu"
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
        let threads = rayon::current_num_threads();
        let work = m.saturating_mul(n).saturating_mul(k);
        if threads > 1 && work >= PARALLEL_PRODUCTS && a_layout == Layout::Plain && m >= 2 * threads
        {
            // Rows of `a` and `c` in blocks, one product each.
            let rows = m.div_ceil(threads);
            c[..m * n]
                .par_chunks_mut(rows * n)
                .zip(a[..m * k].par_chunks(rows * k))
                .for_each(|(c, a)| {
                    let r = c.len() / n;
                    instinct_kernels::gemm(r, n, k, a, Layout::Plain, b, b_layout, c, accumulate);
                });
            return;
        }
        instinct_kernels::gemm(m, n, k, a, a_layout, b, b_layout, c, accumulate);
    }

    fn add_bias(&self, x: &mut [f32], bias: &[f32]) {
        for row in x.chunks_exact_mut(bias.len().max(1)) {
            for (v, b) in row.iter_mut().zip(bias) {
                *v += b;
            }
        }
    }

    fn sum_rows(&self, x: &[f32], out: &mut [f32]) {
        for row in x.chunks_exact(out.len().max(1)) {
            for (o, v) in out.iter_mut().zip(row) {
                *o += v;
            }
        }
    }

    fn unary(&self, op: Activation, x: &[f32], y: &mut [f32]) {
        y.copy_from_slice(x);
        op.apply(y);
    }

    fn unary_backward(&self, op: Activation, x: &[f32], y: &[f32], dy: &[f32], dx: &mut [f32]) {
        match op {
            Activation::Relu => {
                for ((d, &x), &g) in dx.iter_mut().zip(x).zip(dy) {
                    *d += if x > 0.0 { g } else { 0.0 };
                }
            }
            Activation::Sigmoid => {
                for ((d, &y), &g) in dx.iter_mut().zip(y).zip(dy) {
                    *d += y * (1.0 - y) * g;
                }
            }
            Activation::Tanh => {
                for ((d, &y), &g) in dx.iter_mut().zip(y).zip(dy) {
                    *d += (1.0 - y * y) * g;
                }
            }
            _ => {
                for i in 0..dx.len() {
                    dx[i] += op.derivative(x[i], y[i]).unwrap_or(0.0) * dy[i];
                }
            }
        }
    }

    fn softmax_rows(&self, cols: usize, x: &[f32], y: &mut [f32], log: bool) {
        let c = cols.max(1);
        for (xr, yr) in x.chunks_exact(c).zip(y.chunks_exact_mut(c)) {
            let max = xr.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
            let mut sum = 0.0f32;
            for (o, &v) in yr.iter_mut().zip(xr) {
                *o = (v - max).exp();
                sum += *o;
            }
            if log {
                let shift = max + sum.ln();
                for (o, &v) in yr.iter_mut().zip(xr) {
                    *o = v - shift;
                }
            } else {
                let inv = 1.0 / sum;
                for o in yr.iter_mut() {
                    *o *= inv;
                }
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
                let total: f32 = gr.iter().sum();
                for ((d, &g), &v) in dr.iter_mut().zip(gr).zip(yr) {
                    *d += g - v.exp() * total;
                }
            } else {
                let dot: f32 = yr.iter().zip(gr).map(|(&v, &g)| v * g).sum();
                for ((d, &g), &v) in dr.iter_mut().zip(gr).zip(yr) {
                    *d += v * (g - dot);
                }
            }
        }
    }
}
