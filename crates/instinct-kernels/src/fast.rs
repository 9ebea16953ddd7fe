//! Vectorisable approximations of `exp`, `sigmoid` and `tanh`, and activation kernels over
//! slices (optionally with a bias added first) compiled for every [`Level`].
//!
//! The approximations are branch-free polynomial evaluations (Cephes' `expf` and `tanhf`
//! coefficients) so that the compiler turns a loop over them into SIMD code. Their error
//! against the exact function rounded to f32, over a dense sweep of f32 inputs (every 613th
//! float in [-87, 88] for exp, [-87, 30] for sigmoid, every 211th in [-20, 20] for tanh), on
//! every level: `exp` 1 ulp, `sigmoid` 2 ulp, `tanh` 1 ulp measured; the tests hold them to
//! ≤ 2, ≤ 3 and ≤ 3 ulp. `softplus` (fast `exp` and a Cephes-style logarithm): 2 ulp measured
//! over every 211th float in [-20, 20], held to ≤ 4.

use crate::simd::multiversion;

/// The elementwise activations and softmax, as the slice kernels know them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `max(x, 0)`.
    Relu,
    /// `1 / (1 + e^-x)` with the fast [`exp`].
    Sigmoid,
    /// Fast [`tanh`].
    Tanh,
    /// `e^clamp(x, -88, 88)` with the fast [`exp`].
    Exp,
    /// `1 - x`.
    Inverse,
    /// -1, +1 or `x`.
    Sign,
    /// `√x` for `x > 0`, else 0.
    Sqrt,
    /// `ln(x + 1)` for `x > 0`, else 0 ([`log1p_positive`]).
    Log,
    /// `log10(x + 1)` for `x > 0`, else 0 ([`log10_1p_positive`]).
    Log10,
    /// GELU ([`gelu`]).
    Gelu,
    /// Softplus with TensorFlow's thresholds, with the fast [`exp`] and logarithm.
    Softplus,
    /// Softmax over the whole slice, with the fast [`exp`].
    Softmax,
    /// No activation (only the bias, if any).
    Identity,
}

const LOG2E: f32 = std::f32::consts::LOG2_E;
/// ln 2 split in a part exact in few bits and a correction (Cody–Waite).
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// Adding then subtracting 1.5·2^23 rounds an f32 of magnitude < 2^22 to the nearest integer.
const ROUNDER: f32 = 12_582_912.0;
/// Above this `e^x` overflows f32.
const EXP_MAX: f32 = 88.722_84;
/// Below this `e^x` rounds to 0.
const EXP_MIN: f32 = -103.972_08;

/// `2^n` for `n` in `-126..=127`, built from its bits.
#[inline(always)]
fn pow2(n: i32) -> f32 {
    f32::from_bits(((n + 127) as u32) << 23)
}

/// `e^x` for every f32: ≤ 2 ulp from the exact value on the normal range, flushing through
/// subnormals like a correctly rounded `expf`, `+inf` above 88.72, `+0` below -103.97, NaN for NaN.
// The coefficients are written as Cephes publishes them; the compiler rounds each to an f32.
#[allow(clippy::excessive_precision)]
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let c = x.clamp(EXP_MIN, EXP_MAX);
    // `t`'s low mantissa bits hold round(c·log2 e) as an integer: taking it from there, rather
    // than converting `n` (a saturating float-to-int cast), keeps the whole function vectorised.
    let t = c * LOG2E + ROUNDER;
    let n = t - ROUNDER;
    let r = c - n * LN2_HI - n * LN2_LO;
    let p = 1.987_569_1e-4_f32;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 5.000_000_1e-1;
    let y = p * (r * r) + r + 1.0;
    // 2^n in two exact steps, so results down in the subnormal range are rounded only once.
    let n = (t.to_bits() as i32).wrapping_sub(ROUNDER.to_bits() as i32);
    let half = n >> 1;
    let v = y * pow2(half) * pow2(n - half);
    if x > EXP_MAX {
        f32::INFINITY
    } else if x < EXP_MIN {
        0.0
    } else if x.is_nan() {
        x
    } else {
        v
    }
}

/// `1 / (1 + e^-x)` with the fast [`exp`].
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// `tanh(x)`: a polynomial for `|x| ≤ 0.625`, `1 - 2/(e^2|x| + 1)` beyond, with the sign of `x`.
#[allow(clippy::excessive_precision)]
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    let z = x.abs();
    let s = x * x;
    let small =
        ((((-5.704_988_7e-3 * s + 2.063_908_9e-2) * s - 5.373_971_6e-2) * s + 1.333_144_2e-1) * s
            - 3.333_328_2e-1)
            * s
            * x
            + x;
    let large = 1.0 - 2.0 / (exp(2.0 * z) + 1.0);
    // copysign also keeps the sign of -0 (the polynomial would give +0 for it).
    if z > 0.625 { large } else { small }.copysign(x)
}

/// `ln(x)` for finite `x ≥ 1` (Cephes `logf`: mantissa in [√½, √2), a degree-9 polynomial).
#[allow(clippy::excessive_precision)]
#[inline(always)]
fn ln_at_least_one(x: f32) -> f32 {
    let bits = x.to_bits();
    let mut e = ((bits >> 23) & 0xff) as i32 - 127;
    let mut m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    if m > std::f32::consts::SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    let e = e as f32;
    let f = m - 1.0;
    let z = f * f;
    let p = 7.037_683_629_2e-2_f32;
    let p = p * f - 1.151_461_031_0e-1;
    let p = p * f + 1.167_699_874_0e-1;
    let p = p * f - 1.242_014_084_6e-1;
    let p = p * f + 1.424_932_278_7e-1;
    let p = p * f - 1.666_805_766_5e-1;
    let p = p * f + 2.000_071_476_5e-1;
    let p = p * f - 2.499_999_399_3e-1;
    let p = p * f + 3.333_333_117_4e-1;
    let y = p * f * z + e * LN2_LO - 0.5 * z;
    f + y + e * LN2_HI
}

/// `ln(1 + e^x)` with TensorFlow's cut-offs (`x` above 13.9424, `e^x` below -13.9424), from the
/// fast [`exp`] and a logarithm whose rounding of `1 + e^x` is corrected.
#[inline(always)]
pub fn softplus(x: f32) -> f32 {
    let u = exp(x.clamp(-13.9424, 13.9424));
    let w = 1.0 + u;
    // ln(1 + u) = ln(w) - (w - 1 - u)/w to first order: undoes the rounding of 1 + u.
    let mid = ln_at_least_one(w) - ((w - 1.0) - u) / w;
    if x > 13.9424 {
        x
    } else if x < -13.9424 {
        exp(x)
    } else {
        mid
    }
}

/// `ln(x + 1)` for `x > 0`, else 0 (the format's LOG), vectorisable: the Cephes-style
/// logarithm of `w = 1 + x` with the rounding of `1 + x` corrected. `+inf` gives `+inf`.
#[inline(always)]
pub fn log1p_positive(x: f32) -> f32 {
    let w = 1.0 + x;
    let v = ln_at_least_one(w) - ((w - 1.0) - x) / w;
    if x > 0.0 {
        if x == f32::INFINITY { x } else { v }
    } else {
        0.0
    }
}

/// `log10(x + 1)` for `x > 0`, else 0 (the format's LOG10): [`log1p_positive`] times log10(e).
#[inline(always)]
pub fn log10_1p_positive(x: f32) -> f32 {
    log1p_positive(x) * std::f32::consts::LOG10_E
}

/// `erf(x)` for `|x| ≤ 4` as a rational function (odd degree-13 over even degree-8 polynomial,
/// the minimax fit Eigen uses); `x` is clamped to ±4, where `erf` is ±1 in f32.
#[allow(clippy::excessive_precision)]
#[inline(always)]
fn erf_rational(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let s = x * x;
    let p = -2.726_142_258_013_06e-10_f32;
    let p = p * s + 2.770_681_424_959_02e-8;
    let p = p * s - 2.101_024_020_825_08e-6;
    let p = p * s - 5.692_506_394_623_46e-5;
    let p = p * s - 7.349_906_303_268_55e-4;
    let p = p * s - 2.954_599_808_540_25e-3;
    let p = p * s - 1.609_603_332_624_15e-2;
    let q = -1.456_607_184_649_96e-5_f32;
    let q = q * s - 2.133_740_552_789_05e-4;
    let q = q * s - 1.682_826_974_382_03e-3;
    let q = q * s - 7.373_329_167_204_68e-3;
    let q = q * s - 1.426_473_905_141_89e-2;
    x * p / q
}

/// `erfc(z)` for `z ≥ 0`, given `z_squared` = z², with a relative error of about 1.2e-7 before rounding (the Chebyshev
/// fit of Numerical Recipes' `erfcc`: `t·e^(-z² + P(t))`, `t = 1/(1 + z/2)`), so that tails far
/// below 1 keep their relative accuracy.
#[allow(clippy::excessive_precision)]
#[inline(always)]
fn erfc_nonnegative(z: f32, z_squared: f32) -> f32 {
    let t = 1.0 / (1.0 + 0.5 * z);
    let p = 0.170_872_77_f32;
    let p = p * t - 0.822_152_23;
    let p = p * t + 1.488_515_87;
    let p = p * t - 1.135_203_98;
    let p = p * t + 0.278_868_07;
    let p = p * t - 0.186_288_06;
    let p = p * t + 0.096_784_18;
    let p = p * t + 0.374_091_96;
    let p = p * t + 1.000_023_68;
    let p = p * t - 1.265_512_23;
    t * exp(p - z_squared)
}

/// GELU, `x·Φ(x) = x/2·(1 + erf(x/√2))`, vectorisable: from the rational `erf` for `x ≥ -0.5`,
/// and as `x/2·erfc(|x|/√2)` below, which avoids the cancellation of `1 + erf` and keeps the
/// small negative tail's relative accuracy. NaN gives NaN.
#[inline(always)]
pub fn gelu(x: f32) -> f32 {
    let z = x * std::f32::consts::FRAC_1_SQRT_2;
    let near = x * 0.5 * (1.0 + erf_rational(z));
    // z² as x²/2: one rounding instead of two, which matters where e^(-z²) is tiny.
    let tail = x * 0.5 * erfc_nonnegative(-z, x * x * 0.5);
    if x >= -0.5 {
        near
    } else if x.is_nan() {
        x
    } else {
        tail
    }
}

/// Values per block of the slice kernels: one AVX-512 vector, two AVX2 ones.
const BLOCK: usize = 16;

/// `xs[i] = f(xs[i] + bias[i])` (or `f(xs[i])` without a bias), with `f`'s body written out
/// (a macro, not a closure, so that it is always inlined) over fixed blocks of [`BLOCK`] values:
/// the compiler turns a fixed-size block into whole-vector code, and the last, partial block is
/// padded into a full one, so short slices (a tiny net's 7 outputs) are vectorised too.
macro_rules! map {
    ($xs:expr, $bias:expr, |$v:ident| $body:expr) => {{
        let xs: &mut [f32] = $xs;
        let bias: Option<&[f32]> = $bias;
        if let Some(b) = bias {
            assert_eq!(b.len(), xs.len(), "bias and values differ in length");
        }
        let whole = xs.len() / BLOCK * BLOCK;
        let (body, tail) = xs.split_at_mut(whole);
        for (k, chunk) in body.chunks_exact_mut(BLOCK).enumerate() {
            let block: &mut [f32; BLOCK] = chunk.try_into().expect("exact chunk");
            if let Some(b) = bias {
                let b: &[f32; BLOCK] = b[k * BLOCK..][..BLOCK].try_into().expect("exact chunk");
                for (x, b) in block.iter_mut().zip(b) {
                    *x += b;
                }
            }
            #[allow(clippy::almost_swapped)] // for the identity, `|v| v`
            for x in block.iter_mut() {
                let $v = *x;
                *x = $body;
            }
        }
        if !tail.is_empty() {
            let n = tail.len();
            let mut block = [0.0f32; BLOCK];
            block[..n].copy_from_slice(tail);
            if let Some(b) = bias {
                for (x, b) in block.iter_mut().zip(&b[whole..]) {
                    *x += b;
                }
            }
            #[allow(clippy::almost_swapped)] // for the identity, `|v| v`
            for x in block.iter_mut() {
                let $v = *x;
                *x = $body;
            }
            tail.copy_from_slice(&block[..n]);
        }
    }};
}

/// Softmax over the whole slice with the fast `exp` (same formula as the scalar reference).
#[inline(always)]
fn softmax_body(xs: &mut [f32]) {
    let max = xs.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x));
    for x in xs.iter_mut() {
        *x = exp(*x - max);
    }
    let sum = xs.iter().fold(0.0f32, |s, &x| s + x);
    for x in xs.iter_mut() {
        *x /= sum;
    }
}

#[inline(always)]
fn activate_body(kind: Kind, xs: &mut [f32], bias: Option<&[f32]>) {
    use crate::activation as scalar;
    match kind {
        Kind::Identity => map!(xs, bias, |v| v),
        Kind::Relu => map!(xs, bias, |v| v.max(0.0)),
        Kind::Sigmoid => map!(xs, bias, |v| sigmoid(v)),
        Kind::Tanh => map!(xs, bias, |v| tanh(v)),
        Kind::Exp => map!(xs, bias, |v| exp(v.clamp(-88.0, 88.0))),
        Kind::Inverse => map!(xs, bias, |v| 1.0 - v),
        Kind::Sign => map!(xs, bias, |v| scalar::sign(v)),
        Kind::Sqrt => map!(xs, bias, |v| scalar::sqrt(v)),
        Kind::Log => map!(xs, bias, |v| log1p_positive(v)),
        Kind::Log10 => map!(xs, bias, |v| log10_1p_positive(v)),
        Kind::Gelu => map!(xs, bias, |v| gelu(v)),
        Kind::Softplus => map!(xs, bias, |v| softplus(v)),
        Kind::Softmax => {
            map!(xs, bias, |v| v);
            softmax_body(xs);
        }
    }
}

/// [`activate`] for a fixed-size array, inlined into the caller (which is compiled for a SIMD
/// level), so that with `N` known the blocks become straight-line vector code.
#[inline(always)]
pub fn activate_array<const N: usize>(kind: Kind, y: &mut [f32; N]) {
    activate_body(kind, y, None);
}

multiversion! {
    /// Adds `bias` (when given) and applies `kind` in place, with the kernels compiled for
    /// `level`.
    ///
    /// # Panics
    /// When `bias` is given and its length differs from `xs`'s.
    pub fn activate_at(kind: Kind, xs: &mut [f32], bias: Option<&[f32]>) => activate_body
}

/// [`activate_at`] at the process's [`level`](crate::simd::level).
#[inline]
pub fn activate(kind: Kind, xs: &mut [f32], bias: Option<&[f32]>) {
    activate_at(crate::simd::level(), kind, xs, bias);
}

fn exp_body(xs: &mut [f32]) {
    for x in xs.iter_mut() {
        *x = exp(*x);
    }
}

#[inline(always)]
fn exp_inline(xs: &mut [f32]) {
    exp_body(xs)
}

multiversion! {
    /// Raw [`exp`] over a slice (no clamp), compiled for `level`; for tests and benchmarks.
    pub fn exp_slice_at(xs: &mut [f32]) => exp_inline
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simd::Level;

    /// Largest ulp distance between `fast` (run as a slice kernel at `level`) and the exact
    /// function rounded to f32, over every `stride`-th f32 in `lo..=hi`.
    fn max_ulp(
        level: Level,
        kind: Kind,
        exact: fn(f64) -> f64,
        lo: f32,
        hi: f32,
        stride: u32,
    ) -> (u64, f32) {
        let xs: Vec<f32> = (crate::float_key(lo)..=crate::float_key(hi))
            .step_by(stride as usize)
            .map(crate::from_float_key)
            .collect();
        let mut ys = xs.clone();
        activate_at(level, kind, &mut ys, None);
        let mut worst = (0u64, 0.0f32);
        for (x, y) in xs.iter().zip(&ys) {
            let e = exact(*x as f64) as f32;
            let d = crate::ulp_distance(*y, e);
            if d > worst.0 {
                worst = (d, *x);
            }
        }
        worst
    }

    /// The format's softplus (cut-offs at the f32 value of 13.9424), in f64.
    fn softplus64(x: f64) -> f64 {
        let t = 13.9424f32 as f64;
        if x > t {
            x
        } else if x < -t {
            x.exp()
        } else {
            x.exp().ln_1p()
        }
    }

    /// GELU of the f32 input, exactly (`erfc` keeps the negative tail accurate).
    fn gelu64(x: f64) -> f64 {
        0.5 * x * libm::erfc(-x / std::f64::consts::SQRT_2)
    }

    fn sigmoid64(x: f64) -> f64 {
        1.0 / (1.0 + (-x).exp())
    }

    #[test]
    fn fast_functions_stay_within_their_documented_ulp_on_every_level() {
        for level in Level::available() {
            let exp_err = max_ulp(
                level,
                Kind::Exp,
                |x| x.clamp(-88.0, 88.0).exp(),
                -87.0,
                88.0,
                613,
            );
            assert!(exp_err.0 <= 2, "{level:?} exp: {exp_err:?}");
            let sig = max_ulp(level, Kind::Sigmoid, sigmoid64, -87.0, 30.0, 613);
            assert!(sig.0 <= 3, "{level:?} sigmoid: {sig:?}");
            let softplus_err = max_ulp(level, Kind::Softplus, softplus64, -20.0, 20.0, 211);
            assert!(softplus_err.0 <= 4, "{level:?} softplus: {softplus_err:?}");
            let tanh_err = max_ulp(level, Kind::Tanh, f64::tanh, -20.0, 20.0, 211);
            assert!(tanh_err.0 <= 3, "{level:?} tanh: {tanh_err:?}");
            let log_err = max_ulp(level, Kind::Log, |x| x.ln_1p(), 1e-30, 1e30, 4099);
            assert!(log_err.0 <= 3, "{level:?} log: {log_err:?}");
            let log10_err = max_ulp(
                level,
                Kind::Log10,
                |x| x.ln_1p() / 10f64.ln(),
                1e-30,
                1e30,
                4099,
            );
            assert!(log10_err.0 <= 4, "{level:?} log10: {log10_err:?}");
            let gelu_err = max_ulp(level, Kind::Gelu, gelu64, -1.0, 10.0, 211);
            assert!(gelu_err.0 <= 6, "{level:?} gelu: {gelu_err:?}");
            // Below -1, x/√2 rounded to f32 moves e^(-x²/2) by up to x²·2^-24 relative: the
            // function itself is that ill-conditioned, and the bound grows with it.
            let gelu_tail = max_ulp(level, Kind::Gelu, gelu64, -3.0, -1.0, 211);
            assert!(
                gelu_tail.0 <= 12,
                "{level:?} gelu on [-3, -1]: {gelu_tail:?}"
            );
            let gelu_far = max_ulp(level, Kind::Gelu, gelu64, -9.0, -3.0, 211);
            assert!(gelu_far.0 <= 96, "{level:?} gelu on [-9, -3]: {gelu_far:?}");
            eprintln!(
                "{level:?}: worst ulp (at x) exp {exp_err:?}, sigmoid {sig:?}, tanh {tanh_err:?}, softplus {softplus_err:?}, log {log_err:?}, log10 {log10_err:?}, gelu {gelu_err:?}, gelu on [-3, -1] {gelu_tail:?}, on [-9, -3] {gelu_far:?}"
            );
        }
    }

    #[test]
    fn edges_and_special_values() {
        for level in Level::available() {
            let mut xs = [
                f32::NAN,
                f32::INFINITY,
                f32::NEG_INFINITY,
                89.0,
                -110.0,
                0.0,
                -0.0,
            ];
            exp_slice_at(level, &mut xs);
            assert!(xs[0].is_nan());
            assert_eq!(
                &xs[1..],
                &[f32::INFINITY, 0.0, f32::INFINITY, 0.0, 1.0, 1.0],
                "{level:?}"
            );
            let mut t = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.0, 1e-30];
            activate_at(level, Kind::Tanh, &mut t, None);
            assert!(t[0].is_nan());
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&t[1..]), bits(&[1.0, -1.0, -0.0, 1e-30]), "{level:?}");
            let mut s = [f32::NAN, 200.0, -200.0];
            activate_at(level, Kind::Sigmoid, &mut s, None);
            assert!(s[0].is_nan());
            assert_eq!(&s[1..], &[1.0, 0.0]);
            let mut sp = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.0, 20.0];
            activate_at(level, Kind::Softplus, &mut sp, None);
            assert!(sp[0].is_nan());
            assert_eq!(sp[1..3], [f32::INFINITY, 0.0]);
            assert!((sp[3] - std::f32::consts::LN_2).abs() <= f32::EPSILON);
            assert_eq!(sp[4], 20.0);
            let mut l = [
                f32::NAN,
                f32::INFINITY,
                f32::NEG_INFINITY,
                -1.0,
                0.0,
                f32::MAX,
            ];
            activate_at(level, Kind::Log, &mut l, None);
            assert_eq!(l[..5], [0.0, f32::INFINITY, 0.0, 0.0, 0.0], "{level:?}");
            assert!((l[5] - f32::MAX.ln()).abs() <= 1e-5, "{level:?}: {}", l[5]);
            let g0 = [
                f32::NAN,
                f32::INFINITY,
                f32::NEG_INFINITY,
                0.0,
                -200.0,
                200.0,
            ];
            let mut g = g0;
            activate_at(level, Kind::Gelu, &mut g, None);
            let expected = g0.map(crate::activation::gelu);
            for (got, want) in g.iter().zip(&expected) {
                assert!(
                    got == want || (got.is_nan() && want.is_nan()),
                    "{level:?}: {g:?} vs {expected:?}"
                );
            }
            let mut r = [f32::NAN, -1.0, 2.0];
            activate_at(level, Kind::Relu, &mut r, Some(&[0.0, 0.5, 0.5]));
            assert_eq!(r, [0.0, 0.0, 2.5], "relu keeps the reference's NaN → 0");
        }
    }

    #[test]
    fn exp_is_close_in_the_subnormal_range() {
        for level in Level::available() {
            let mut xs: Vec<f32> = (0..200).map(|i| -87.5 - i as f32 * 0.08).collect();
            let expected: Vec<f32> = xs.iter().map(|&x| (x as f64).exp() as f32).collect();
            exp_slice_at(level, &mut xs);
            for (got, want) in xs.iter().zip(&expected) {
                // Subnormals carry fewer bits; an absolute bound is the meaningful one here.
                assert!(
                    (got - want).abs() <= 2.0 * f32::from_bits(1),
                    "{level:?}: {got:e} vs {want:e}"
                );
            }
        }
    }
}
