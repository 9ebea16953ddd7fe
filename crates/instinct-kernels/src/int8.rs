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

use crate::gemm::TileProduct;
use crate::simd::Level;
use std::cell::RefCell;

#[cfg(target_arch = "x86_64")]
mod x86;

/// Largest inner dimension of an int8 layer: `k · 255 · 127` must fit an `i32`, so that every
/// sum is exact.
pub const MAX_INT8_INPUTS: usize = 65_536;

/// How a layer's input rows become `u8`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum InputQuantization {
    /// From each row's own range ([`RowScale::dynamic`]): a row's result never depends on the
    /// other rows of its call.
    Dynamic,
    /// One scale and zero point for every row (calibrated ranges).
    Static {
        /// The value of one step; finite and positive.
        scale: f32,
        /// The `u8` that stands for 0.
        zero_point: u8,
    },
}

/// The quantisation of one row: `q(x) = round(x / scale) + zero_point`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RowScale {
    /// The value of one step.
    pub scale: f32,
    /// `1 / scale`, rounded once (the kernels multiply by it).
    pub inverse: f32,
    /// The `u8` that stands for 0, as an `i32`.
    pub zero_point: i32,
}

impl RowScale {
    /// The scale of a row whose smallest and largest values are `min` and `max` (NaN ignored:
    /// pass `f32::INFINITY`, `f32::NEG_INFINITY` for an empty row). The range always contains
    /// 0, so zero is represented exactly; an all-zero row gets scale 0 (every value quantises
    /// to 0 and the row's products are exactly 0).
    pub fn dynamic(min: f32, max: f32) -> RowScale {
        // Comparisons, not `min`/`max`: a range of zeros is `+0 − +0`, whatever the signs of
        // the zeros in the row, so every kernel gets the same scale (and the same signed zero).
        let lo = if min < 0.0 { min } else { 0.0 };
        let hi = if max > 0.0 { max } else { 0.0 };
        let scale = (hi - lo) / 255.0;
        let inverse = 1.0 / scale;
        RowScale {
            scale,
            inverse,
            zero_point: quantize_with(-lo, inverse, 0),
        }
    }

    /// A stored scale and zero point.
    pub fn fixed(scale: f32, zero_point: u8) -> RowScale {
        RowScale {
            scale,
            inverse: 1.0 / scale,
            zero_point: i32::from(zero_point),
        }
    }

    /// The scale of `row` under `quant`.
    pub fn of(quant: InputQuantization, row: &[f32]) -> RowScale {
        match quant {
            InputQuantization::Dynamic => {
                let (lo, hi) = row
                    .iter()
                    .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &x| {
                        (lo.min(x), hi.max(x))
                    });
                RowScale::dynamic(lo, hi)
            }
            InputQuantization::Static { scale, zero_point } => RowScale::fixed(scale, zero_point),
        }
    }
}

/// `q(x)` for one value under `s`: the definition every kernel reproduces.
#[inline]
pub fn quantize_value(x: f32, s: RowScale) -> u8 {
    quantize_with(x, s.inverse, s.zero_point) as u8
}

/// `clamp(round_ties_even(clamp(x · inverse, −256, 256)) + zero, 0, 255)`. `max`/`min` ignore
/// NaN here exactly as `vmaxps`/`vminps` with the constant second do.
#[inline]
#[allow(clippy::manual_clamp)] // `clamp` keeps NaN; the kernels send it to −256
fn quantize_with(x: f32, inverse: f32, zero: i32) -> i32 {
    let v = (x * inverse).max(-256.0).min(256.0);
    (v.round_ties_even() as i32 + zero).clamp(0, 255)
}

/// Symmetric per-channel quantisation of a weight matrix (`n × k`, row-major): each row `j`
/// gets `scale_j = max_i |w[j][i]| / 127` and `q = round_ties_even(w / scale_j)` in
/// `−127..=127`. A row of zeros (or one with no finite values) gets scale 1 and zeros. Returns
/// the values and the `n` scales.
pub fn quantize_weights(rows: &[f32], n: usize, k: usize) -> (Vec<i8>, Vec<f32>) {
    assert_eq!(rows.len(), n * k, "weights are not {n} × {k}");
    let mut values = Vec::with_capacity(n * k);
    let mut scales = Vec::with_capacity(n);
    for row in rows.chunks_exact(k.max(1)).take(n) {
        let top = row
            .iter()
            .filter(|v| v.is_finite())
            .fold(0.0f32, |m, v| m.max(v.abs()));
        let scale = if top > 0.0 && (top / 127.0) > 0.0 {
            top / 127.0
        } else {
            1.0
        };
        values.extend(row.iter().map(|&w| {
            let q = (w / scale).round_ties_even();
            if q.is_nan() {
                0
            } else {
                q.clamp(-127.0, 127.0) as i8
            }
        }));
        scales.push(scale);
    }
    if k == 0 {
        scales.resize(n, 1.0);
    }
    (values, scales)
}

/// An int8 weight matrix (`n × k`) with its per-output scales, prepared once for the kernels
/// of one level.
#[derive(Debug, Clone)]
pub struct Int8Weights {
    n: usize,
    k: usize,
    /// The values as given, `n × k` row-major (the reference and the portable kernel read them).
    values: Vec<i8>,
    /// One scale per output.
    scales: Vec<f32>,
    /// `Σ_i w[j][i]` per output (the zero point's correction), padded with zeros to a whole
    /// number of 16-output panels.
    column_sums: Vec<i32>,
    /// Scales padded like `column_sums` (with zeros).
    padded_scales: Vec<f32>,
    /// The layout of the level's kernel.
    panels: Panels,
}

/// Weights rearranged for one kernel.
#[derive(Debug, Clone)]
enum Panels {
    /// None: the portable kernel reads the rows.
    Rows,
    /// VNNI: panel `p` (outputs `16p..16p+16`), group `g` (inputs `4g..4g+4`): 64 bytes, four
    /// per output in input order; zero past `n` and `k`.
    Quads(Vec<i8>),
    /// AVX2: panel `p` (outputs `8p..8p+8`), pair `g` (inputs `2g, 2g+1`): 16 `i16`, two per
    /// output; zero past `n` and `k`.
    Pairs(Vec<i16>),
}

/// The kernel a level runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Int8Kernel {
    /// Portable `i32` loops.
    Portable,
    /// AVX2 `vpmaddwd` on inputs and weights widened to `i16`.
    Avx2,
    /// AVX-512 VNNI `vpdpbusd`.
    Avx512Vnni,
}

impl Int8Kernel {
    /// The kernel for `level` on this CPU: VNNI needs AVX-512 VNNI besides the level; the AVX2
    /// kernel also serves AVX-512 without VNNI.
    pub fn for_level(level: Level) -> Int8Kernel {
        #[cfg(target_arch = "x86_64")]
        {
            if level == Level::Avx512 && Level::Avx512.is_available() && x86::has_vnni() {
                return Int8Kernel::Avx512Vnni;
            }
            if level >= Level::Avx2 && Level::Avx2.is_available() {
                return Int8Kernel::Avx2;
            }
        }
        let _ = level;
        Int8Kernel::Portable
    }

    /// A short name (`avx512-vnni`, `avx2`, `portable`).
    pub fn name(self) -> &'static str {
        match self {
            Int8Kernel::Portable => "portable",
            Int8Kernel::Avx2 => "avx2",
            Int8Kernel::Avx512Vnni => "avx512-vnni",
        }
    }
}

impl Int8Weights {
    /// Prepares `values` (`n × k` row-major) and their `n` scales for `kernel` (or, when this
    /// CPU cannot run it, the best kernel below it that it can).
    ///
    /// # Panics
    /// When the lengths disagree with `n` and `k`, or `k` exceeds [`MAX_INT8_INPUTS`].
    pub fn new(values: &[i8], scales: &[f32], n: usize, k: usize, kernel: Int8Kernel) -> Self {
        assert!(
            values.len() == n * k && scales.len() == n,
            "{} int8 weights and {} scales for {n} × {k}",
            values.len(),
            scales.len()
        );
        assert!(k <= MAX_INT8_INPUTS, "{k} inputs exceed {MAX_INT8_INPUTS}");
        // A kernel this CPU cannot run is never prepared (its layout would reach its code).
        let kernel = match kernel {
            Int8Kernel::Avx512Vnni => Int8Kernel::for_level(Level::Avx512),
            Int8Kernel::Avx2 => Int8Kernel::for_level(Level::Avx2),
            Int8Kernel::Portable => Int8Kernel::Portable,
        };
        let padded = n.div_ceil(16) * 16;
        let mut column_sums = vec![0i32; padded];
        for (j, row) in values.chunks_exact(k.max(1)).take(n).enumerate() {
            column_sums[j] = row.iter().map(|&v| i32::from(v)).sum();
        }
        let mut padded_scales = scales.to_vec();
        padded_scales.resize(padded, 0.0);
        let at = |j: usize, i: usize| if j < n && i < k { values[j * k + i] } else { 0 };
        let panels = match kernel {
            Int8Kernel::Portable => Panels::Rows,
            Int8Kernel::Avx512Vnni => {
                let groups = k.div_ceil(4);
                let mut quads = Vec::with_capacity(padded * groups * 4);
                for p in 0..padded / 16 {
                    for g in 0..groups {
                        for c in 0..16 {
                            quads.extend((0..4).map(|t| at(16 * p + c, 4 * g + t)));
                        }
                    }
                }
                Panels::Quads(quads)
            }
            Int8Kernel::Avx2 => {
                let pairs = k.div_ceil(2);
                let mut wide = Vec::with_capacity(padded * pairs * 2);
                for p in 0..padded / 8 {
                    for g in 0..pairs {
                        for c in 0..8 {
                            wide.extend((0..2).map(|t| i16::from(at(8 * p + c, 2 * g + t))));
                        }
                    }
                }
                Panels::Pairs(wide)
            }
        };
        Int8Weights {
            n,
            k,
            values: values.to_vec(),
            scales: scales.to_vec(),
            column_sums,
            padded_scales,
            panels,
        }
    }

    /// Outputs.
    pub fn outputs(&self) -> usize {
        self.n
    }

    /// Inputs.
    pub fn inputs(&self) -> usize {
        self.k
    }

    /// The values, `n × k` row-major.
    pub fn values(&self) -> &[i8] {
        &self.values
    }

    /// The per-output scales.
    pub fn scales(&self) -> &[f32] {
        &self.scales
    }

    /// The kernel these weights were prepared for.
    pub fn kernel(&self) -> Int8Kernel {
        match self.panels {
            Panels::Rows => Int8Kernel::Portable,
            Panels::Quads(_) => Int8Kernel::Avx512Vnni,
            Panels::Pairs(_) => Int8Kernel::Avx2,
        }
    }

    /// Bytes held (values, panels, sums, scales).
    pub fn memory_bytes(&self) -> usize {
        let panels = match &self.panels {
            Panels::Rows => 0,
            Panels::Quads(q) => q.len(),
            Panels::Pairs(p) => p.len() * 2,
        };
        self.values.len() + panels + (self.column_sums.len() + self.padded_scales.len()) * 4
    }
}

/// `y_j = f32(acc_j − zero · Σ_i w[j][i]) · (scale · scale_j) + bias_j`: the dequantisation
/// every kernel shares.
#[inline]
fn dequantize(acc: i32, sum: i32, s: RowScale, scale: f32, bias: f32) -> f32 {
    let exact = acc.wrapping_sub(s.zero_point.wrapping_mul(sum));
    (exact as f32) * (s.scale * scale) + bias
}

/// The definition: one row `x` (`k` values) through the layer into `y` (`n` values), before
/// the activation.
///
/// # Panics
/// When `x`, `y` or `bias` do not match the weights.
pub fn affine_reference(
    w: &Int8Weights,
    bias: &[f32],
    quant: InputQuantization,
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
}

thread_local! {
    /// Each thread's quantised rows and their scales, kept between calls.
    static SCRATCH: RefCell<(Vec<u8>, Vec<RowScale>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

/// `dst = dequantize(quantize(lhs) · Wᵀ) + bias` for a tile inside `mem` (see
/// [`TileProduct`]), with the kernel `w` was prepared for; the activation is the caller's.
/// Returns `false` without touching `mem` when the shape does not fit or disagrees with the
/// weights or the bias.
pub fn int8_tile_product(
    mem: &mut [f32],
    w: &Int8Weights,
    bias: &[f32],
    quant: InputQuantization,
    p: TileProduct,
) -> bool {
    if p.n != w.n || p.k != w.k || bias.len() != w.n || !p.fits(mem.len(), w.values.len()) {
        return false;
    }
    if p.m == 0 || p.n == 0 {
        return true;
    }
    SCRATCH.with(|scratch| {
        let (bytes, scales) = &mut *scratch.borrow_mut();
        match &w.panels {
            Panels::Rows => portable(mem, w, bias, quant, p, bytes, scales),
            #[cfg(target_arch = "x86_64")]
            Panels::Quads(quads) => x86::vnni_product(mem, w, quads, bias, quant, p, bytes, scales),
            #[cfg(target_arch = "x86_64")]
            Panels::Pairs(pairs) => x86::avx2_product(mem, w, pairs, bias, quant, p, bytes, scales),
            #[cfg(not(target_arch = "x86_64"))]
            _ => portable(mem, w, bias, quant, p, bytes, scales),
        }
    });
    true
}

/// The portable kernel: each row quantised, then the reference's sums.
fn portable(
    mem: &mut [f32],
    w: &Int8Weights,
    bias: &[f32],
    quant: InputQuantization,
    p: TileProduct,
    bytes: &mut Vec<u8>,
    _scales: &mut Vec<RowScale>,
) {
    bytes.resize(p.k, 0);
    for r in 0..p.m {
        let row = &mut mem[r * p.row_stride..][..p.row_stride];
        let x = &row[p.lhs..][..p.k];
        let s = RowScale::of(quant, x);
        for (q, &v) in bytes.iter_mut().zip(x) {
            *q = quantize_value(v, s);
        }
        let y = &mut row[p.dst..][..p.n];
        for (j, out) in y.iter_mut().enumerate() {
            let acc = bytes
                .iter()
                .zip(&w.values[j * p.k..][..p.k])
                .fold(0i32, |a, (&x, &w)| {
                    a.wrapping_add(i32::from(x) * i32::from(w))
                });
            *out = dequantize(acc, w.column_sums[j], s, w.scales[j], bias[j]);
        }
    }
}

#[cfg(test)]
mod tests;
