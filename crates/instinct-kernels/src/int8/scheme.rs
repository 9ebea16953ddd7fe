//! The int8 scheme's arithmetic, shared by the reference and every kernel: how a row of inputs
//! becomes `u8` (its [`RowScale`]), how weights become `s8` with a scale per output, and the
//! dequantisation of a sum.

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
    /// 0, so zero is represented exactly. A row too small to scale (an all-zero row, or a
    /// range below about 1e-36, whose step has no finite reciprocal) gets scale and inverse 0:
    /// every finite value quantises to 0 and the row's products are exactly 0. A row with an
    /// infinity (or a range beyond the f32 range) has an infinite scale: its products are NaN.
    pub fn dynamic(min: f32, max: f32) -> RowScale {
        // Comparisons, not `min`/`max`: a range of zeros is `+0 − +0`, whatever the signs of
        // the zeros in the row, so every kernel gets the same scale (and the same signed zero).
        let lo = if min < 0.0 { min } else { 0.0 };
        let hi = if max > 0.0 { max } else { 0.0 };
        let mut scale = (hi - lo) / 255.0;
        let mut inverse = 1.0 / scale;
        if !inverse.is_finite() {
            (scale, inverse) = (0.0, 0.0);
        }
        RowScale {
            scale,
            inverse,
            zero_point: quantize_with(-lo, inverse, 0),
        }
    }

    /// A stored scale and zero point (validation makes sure the scale is positive and its
    /// reciprocal finite).
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

/// `y_j = f32(acc_j − zero · Σ_i w[j][i]) · (scale · scale_j) + bias_j`: the dequantisation
/// every kernel shares.
#[inline]
pub(crate) fn dequantize(acc: i32, sum: i32, s: RowScale, scale: f32, bias: f32) -> f32 {
    let exact = acc.wrapping_sub(s.zero_point.wrapping_mul(sum));
    (exact as f32) * (s.scale * scale) + bias
}
