//! int8 dense layers: weights `s8` with one scale per output channel, inputs quantised to `u8`
//! per row (dynamically from the row's own range, or with a fixed scale and zero point), exact
//! `i32` accumulation, then dequantisation and the bias in `f32`.
//!
//! The scalar functions here define the results ([`affine_reference`]); the tile product
//! ([`int8_tile_product`]) runs AVX-512 VNNI (`vpdpbusd`), AVX2 (`vpmaddwd` on `u8`/`s8`
//! widened to `i16`, which cannot saturate) or portable code, and every one of them is
//! bit-identical to the reference: the integer sums are exact and the few `f32` operations
//! (the row's scale, the quantisation, `(acc as f32) · (s_row · s_out) + bias`) are the same
//! operations in the same order on every level.
//!
//! Quantisation of one input row `x` (`k` values):
//! - dynamic: `lo = min(0, min x)`, `hi = max(0, max x)`, `scale = (hi − lo) / 255`,
//!   `zero = q(−lo)` (so 0 is exact), computed by [`RowScale::dynamic`];
//! - static: `scale` and `zero` as stored in the model ([`RowScale::fixed`]);
//! - `q(v) = clamp(round_ties_even(clamp(v · (1 / scale), −256, 256)) + zero, 0, 255)`
//!   ([`quantize_value`]; NaN goes to `zero − 256`, i.e. 0).
//!
//! Output `j`: `acc = Σ_i q(x_i) · w[j][i]` and `y_j = f32(acc − zero · Σ_i w[j][i]) ·
//! (scale · scale_j) + bias_j`; the activation is the caller's.

use crate::fast::Kind;
use crate::gemm::TileProduct;
use crate::simd::Level;
use std::cell::RefCell;

mod scheme;
mod weights;
#[cfg(target_arch = "x86_64")]
mod x86;

pub use crate::gemm::RowSpan;
use scheme::dequantize;
pub use scheme::{InputQuantization, MAX_INT8_INPUTS, RowScale, quantize_value, quantize_weights};
use weights::Panels;
pub use weights::{Int8Kernel, Int8Layer, Int8Weights};

/// The definition: one row `x` (`k` values) through the layer into `y` (`n` values): the
/// exact int8 sums, the dequantisation and the bias, then `kind` with `level`'s slice kernel
/// ([`crate::fast::activate_at`]; the kernels use their weights' [`Int8Weights::level`]).
///
/// # Panics
/// When `x`, `y` or `bias` do not match the weights.
pub fn affine_reference(
    w: &Int8Weights,
    bias: &[f32],
    quant: InputQuantization,
    kind: Kind,
    level: Level,
    x: &[f32],
    y: &mut [f32],
) {
    assert!(x.len() == w.k && y.len() == w.n && bias.len() == w.n);
    let s = RowScale::of(quant, x);
    let q: Vec<u8> = x.iter().map(|&v| quantize_value(v, s)).collect();
    for (j, out) in y.iter_mut().enumerate() {
        let row = &w.values[j * w.k..][..w.k];
        let acc = q.iter().zip(row).fold(0i32, |a, (&x, &w)| {
            a.wrapping_add(i32::from(x) * i32::from(w))
        });
        *out = dequantize(acc, w.column_sums[j], s, w.scales[j], bias[j]);
    }
    crate::fast::activate_at(level, kind, y, None);
}

/// Quantised rows (in the layout of the weights' kernel) and their scales.
type Quantised = (Vec<u8>, Vec<RowScale>);

thread_local! {
    /// Each thread's quantised rows and their scales, kept between calls.
    static SCRATCH: RefCell<Quantised> = const { RefCell::new((Vec::new(), Vec::new())) };
}

/// `rows` rows of `input` (at `from`, `k` values each) through the layer into `output` (at
/// `to`, `n` values each): quantised, multiplied, dequantised, biased and activated with the
/// kernel the weights were prepared for. Returns `false` without writing when a shape
/// disagrees with the weights or a row would fall outside its slice.
pub fn int8_product(
    layer: Int8Layer<'_>,
    rows: usize,
    input: &[f32],
    from: RowSpan,
    output: &mut [f32],
    to: RowSpan,
) -> bool {
    int8_chain(&[layer], rows, input, from, output, to)
}

thread_local! {
    /// Each thread's buffers between the layers of [`int8_chain`]: the next layer's quantised
    /// rows and scales, and a layer's `f32` outputs where they are not quantised in registers.
    static BETWEEN: RefCell<(Quantised, Vec<f32>)> =
        const { RefCell::new(((Vec::new(), Vec::new()), Vec::new())) };
}

/// Several layers in a row, each reading the one before, over `rows` rows from `input` (at
/// `from`) to `output` (at `to`): the values of [`int8_product`] layer after layer, bit for
/// bit. Where the VNNI kernel runs and the next layer's inputs have a fixed scale, a layer's
/// outputs are quantised for it in registers and never stored as `f32` (the values are the
/// same: the same operations on the same lanes). Returns `false` without writing when there
/// is no layer, a layer's inputs are not the previous one's outputs, a shape disagrees with
/// its weights, or a row would fall outside its slice.
pub fn int8_chain(
    layers: &[Int8Layer<'_>],
    rows: usize,
    input: &[f32],
    from: RowSpan,
    output: &mut [f32],
    to: RowSpan,
) -> bool {
    let (Some(first), Some(last)) = (layers.first(), layers.last()) else {
        return false;
    };
    let chained = layers.windows(2).all(|p| p[0].weights.n == p[1].weights.k);
    let biased = layers.iter().all(|l| l.bias.len() == l.weights.n);
    if !chained
        || !biased
        || !from.fits(rows, first.weights.k, input.len())
        || !to.fits(rows, last.weights.n, output.len())
    {
        return false;
    }
    SCRATCH.with(|scratch| {
        BETWEEN.with(|between| {
            let current = &mut *scratch.borrow_mut();
            let (next, floats) = &mut *between.borrow_mut();
            quantize_rows(*first, rows, input, from, current);
            for pair in layers.windows(2) {
                let (layer, following) = (pair[0], pair[1]);
                if !requantize(layer, following, rows, current, next) {
                    let n = layer.weights.n;
                    let span = RowSpan {
                        offset: 0,
                        stride: n,
                    };
                    floats.resize(rows * n, 0.0);
                    multiply(layer, rows, current, floats, span);
                    quantize_rows(following, rows, floats, span, next);
                }
                std::mem::swap(current, next);
            }
            multiply(*last, rows, current, output, to);
        })
    });
    true
}

/// `layer` over the quantised rows in `current` into `next`, quantised for `following` in
/// registers, when the kernel can: VNNI for both, an activation it applies in registers, and
/// a fixed scale for `following`'s inputs. Returns `false` (nothing written) otherwise.
#[cfg_attr(not(target_arch = "x86_64"), allow(unused_variables))]
fn requantize(
    layer: Int8Layer<'_>,
    following: Int8Layer<'_>,
    rows: usize,
    (bytes, scales): &Quantised,
    (next_bytes, next_scales): &mut Quantised,
) -> bool {
    #[cfg(target_arch = "x86_64")]
    if let (Panels::Quads(quads), Panels::Quads(_), InputQuantization::Static { scale, zero_point }) = (
        &layer.weights.panels,
        &following.weights.panels,
        following.quant,
    ) && x86::vnni_fuses(layer.kind)
    {
        let next = RowScale::fixed(scale, zero_point);
        // The layout `quantize_rows` gives the following layer: rows of its inputs rounded
        // up to groups of four bytes.
        let stride = layer.weights.n.div_ceil(4) * 4;
        next_bytes.resize(rows * stride, 0);
        next_scales.clear();
        next_scales.resize(rows, next);
        let quantised = (bytes.as_slice(), scales.as_slice());
        x86::vnni_gemm_requantized(layer, quads, rows, quantised, next_bytes, stride, next);
        return true;
    }
    false
}

/// [`int8_product`] inside one buffer of sample rows (see [`TileProduct`]): the rows are
/// quantised before any output is written, so the operand and the result only have to be
/// different columns.
pub fn int8_tile_product(mem: &mut [f32], layer: Int8Layer<'_>, p: TileProduct) -> bool {
    let w = layer.weights;
    if p.n != w.n || p.k != w.k || layer.bias.len() != w.n || !p.fits(mem.len(), w.values.len()) {
        return false;
    }
    if p.m == 0 || p.n == 0 {
        return true;
    }
    let span = |offset| RowSpan {
        offset,
        stride: p.row_stride,
    };
    SCRATCH.with(|scratch| {
        let scratch = &mut *scratch.borrow_mut();
        quantize_rows(layer, p.m, mem, span(p.lhs), scratch);
        multiply(layer, p.m, scratch, mem, span(p.dst));
    });
    true
}

/// Quantises the rows into the scratch, in the layout of the weights' kernel.
fn quantize_rows(
    layer: Int8Layer<'_>,
    rows: usize,
    input: &[f32],
    from: RowSpan,
    (bytes, scales): &mut Quantised,
) {
    let k = layer.weights.k;
    scales.clear();
    match layer.weights.panels {
        #[cfg(target_arch = "x86_64")]
        Panels::Quads(_) => {
            x86::quantize_rows_vnni(layer.quant, rows, k, input, from, bytes, scales)
        }
        #[cfg(target_arch = "x86_64")]
        Panels::Pairs(_) => {
            x86::quantize_rows_avx2(layer.quant, rows, k, input, from, bytes, scales)
        }
        _ => {
            bytes.resize(rows * k, 0);
            for r in 0..rows {
                let x = &input[from.offset + r * from.stride..][..k];
                let s = RowScale::of(layer.quant, x);
                for (q, &v) in bytes[r * k..][..k].iter_mut().zip(x) {
                    *q = quantize_value(v, s);
                }
                scales.push(s);
            }
        }
    }
}

/// The product of the quantised rows in the scratch with the weights, into `output`.
fn multiply(
    layer: Int8Layer<'_>,
    rows: usize,
    (bytes, scales): &Quantised,
    output: &mut [f32],
    to: RowSpan,
) {
    let w = layer.weights;
    match &w.panels {
        #[cfg(target_arch = "x86_64")]
        Panels::Quads(quads) => x86::vnni_gemm(layer, quads, rows, bytes, scales, output, to),
        #[cfg(target_arch = "x86_64")]
        Panels::Pairs(pairs) => x86::avx2_gemm(layer, pairs, rows, bytes, scales, output, to),
        _ => {
            let k = w.k;
            for (r, s) in scales.iter().enumerate().take(rows) {
                let q = &bytes[r * k..][..k];
                let y = &mut output[to.offset + r * to.stride..][..w.n];
                for (j, out) in y.iter_mut().enumerate() {
                    let acc = q
                        .iter()
                        .zip(&w.values[j * k..][..k])
                        .fold(0i32, |a, (&x, &w)| {
                            a.wrapping_add(i32::from(x) * i32::from(w))
                        });
                    *out = dequantize(acc, w.column_sums[j], *s, w.scales[j], layer.bias[j]);
                }
                crate::fast::activate_at(w.level, layer.kind, y, None);
            }
        }
    }
}

#[cfg(test)]
mod tests;
