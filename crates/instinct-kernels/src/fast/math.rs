//! The vectorised elementary functions, written once over any [`Vector`]: `exp` (Cody–Waite
//! reduction and Cephes' polynomial), `sigmoid`, `tanh`, `softplus`, `ln(1 + x)`,
//! `log10(1 + x)`, GELU (a rational `erf`, `erfc` for the negative tail), the sign, the
//! positive root and the exponential-linear family; each within the number of ulp the tests
//! of `fast.rs` state.

use crate::vector::{ROUNDER, Vector};

const LOG2E: f32 = std::f32::consts::LOG2_E;
/// ln 2 split in a part exact in few bits and a correction (Cody–Waite).
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// Above this `e^x` overflows f32.
const EXP_MAX: f32 = 88.722_84;
/// Below this `e^x` rounds to 0.
const EXP_MIN: f32 = -103.972_08;
/// Softplus is `x` above this and `e^x` below its negation (TensorFlow's cut-offs).
const SOFTPLUS_CUT: f32 = 13.9424;

/// Every lane `v`.
#[inline(always)]
pub(super) fn k<V: Vector>(v: f32) -> V {
    V::splat(v)
}

/// Cephes' `expf` polynomial on `r = c - n·ln 2`: `e^r`, for `|r| ≤ ln 2 / 2`.
#[allow(clippy::excessive_precision)]
#[inline(always)]
fn exp_reduced<V: Vector>(r: V) -> V {
    let p = k::<V>(1.987_569_1e-4);
    let p = p.mul_add(r, k(1.398_199_9e-3));
    let p = p.mul_add(r, k(8.333_452e-3));
    let p = p.mul_add(r, k(4.166_579_6e-2));
    let p = p.mul_add(r, k(1.666_666_5e-1));
    let p = p.mul_add(r, k(5.000_000_1e-1));
    p.mul_add(r.mul(r), r).add(k(1.0))
}

/// `(t, r)`: `t` holds `n = round(c·log2 e)` in its low bits (see [`Vector::pow2_halves`]) and
/// `r = c - n·ln 2` (Cody–Waite).
#[inline(always)]
fn exp_split<V: Vector>(c: V) -> (V, V) {
    // `t`'s low mantissa bits hold round(c·log2 e) as an integer: taking it from there, rather
    // than converting `n` (a saturating float-to-int cast), keeps the whole function vectorised.
    let t = c.mul_add(k(LOG2E), k(ROUNDER));
    let n = t.sub(k(ROUNDER));
    let r = n.mul_add(k(-LN2_HI), c);
    (t, n.mul_add(k(-LN2_LO), r))
}

/// `e^x` for `x` in `[-87, 88]` (or NaN, which gives NaN): [`exp`] without its special cases
/// and with one power of two, for callers that bound their argument.
#[inline(always)]
fn exp_in_range<V: Vector>(x: V) -> V {
    let (t, r) = exp_split(x);
    exp_reduced(r).mul(V::pow2(t))
}

/// `e^x` for every f32: ≤ 2 ulp from the exact value on the normal range, flushing through
/// subnormals like a correctly rounded `expf`, `+inf` above 88.72, `+0` below -103.97, NaN for NaN.
// The coefficients are written as Cephes publishes them; the compiler rounds each to an f32.
#[allow(clippy::excessive_precision)]
#[inline(always)]
pub fn exp<V: Vector>(x: V) -> V {
    let c = x.clamp(EXP_MIN, EXP_MAX);
    let (t, r) = exp_split(c);
    let y = exp_reduced(r);
    // 2^n in two exact steps, so results down in the subnormal range are rounded only once.
    let (a, b) = V::pow2_halves(t);
    let v = y.mul(a).mul(b);
    let v = V::select(x.gt(k(EXP_MAX)), k(f32::INFINITY), v);
    let v = V::select(x.lt(k(EXP_MIN)), k(0.0), v);
    V::select(x.is_nan(), x, v)
}

/// `1 / (1 + e^-x)` with the fast exponential. `e^-x` is only needed on `[-87, 88]`: above
/// 87, `1 + e^-x` rounds to 1 whatever tiny value `e^-x` has, so the clamp changes nothing;
/// from -88.72 to -88 the result is `1 / (1 + e^88)`, about 6e-39 (subnormal, as the exact
/// values there are), and below -88.72, where `e^-x` overflows, 0 as before. On that range
/// [`exp`]'s two-step scaling and special cases are not needed, which saves a third of its
/// work.
#[inline(always)]
pub fn sigmoid<V: Vector>(x: V) -> V {
    let e = exp_in_range(x.mul(k(-1.0)).clamp(-87.0, 88.0));
    let s = k::<V>(1.0).div(k::<V>(1.0).add(e));
    let s = V::select(x.lt(k(-EXP_MAX)), k(0.0), s);
    V::select(x.is_nan(), x, s)
}

/// `tanh(x)`: a polynomial for `|x| ≤ 0.625`, `1 - 2/(e^2|x| + 1)` beyond, with the sign of `x`.
#[allow(clippy::excessive_precision)]
#[inline(always)]
pub fn tanh<V: Vector>(x: V) -> V {
    let z = x.abs();
    let s = x.mul(x);
    let p = k::<V>(-5.704_988_7e-3).mul_add(s, k(2.063_908_9e-2));
    let p = p.mul_add(s, k(-5.373_971_6e-2));
    let p = p.mul_add(s, k(1.333_144_2e-1));
    let p = p.mul_add(s, k(-3.333_328_2e-1));
    let small = p.mul(s).mul_add(x, x);
    // e^2|x| is only needed where |x| > 0.625; clamped at 88 it is finite, and 2/(e^88 + 1)
    // already rounds 1 - that to 1.
    let e = exp_in_range(k::<V>(2.0).mul(z).clamp(0.0, 88.0));
    let large = k::<V>(1.0).sub(k::<V>(2.0).div(e.add(k(1.0))));
    // copysign also keeps the sign of -0 (the polynomial would give +0 for it).
    V::select(z.gt(k(0.625)), large, small).copysign(x)
}

/// `ln(x)` for finite `x ≥ 1` (Cephes `logf`: mantissa in [√½, √2), a degree-9 polynomial).
#[allow(clippy::excessive_precision)]
#[inline(always)]
fn ln_at_least_one<V: Vector>(x: V) -> V {
    let (m, e) = x.split_exponent();
    let big = m.gt(k(std::f32::consts::SQRT_2));
    let m = V::select(big, m.mul(k(0.5)), m);
    let e = V::select(big, e.add(k(1.0)), e);
    let f = m.sub(k(1.0));
    let z = f.mul(f);
    let p = k::<V>(7.037_683_629_2e-2);
    let p = p.mul_add(f, k(-1.151_461_031_0e-1));
    let p = p.mul_add(f, k(1.167_699_874_0e-1));
    let p = p.mul_add(f, k(-1.242_014_084_6e-1));
    let p = p.mul_add(f, k(1.424_932_278_7e-1));
    let p = p.mul_add(f, k(-1.666_805_766_5e-1));
    let p = p.mul_add(f, k(2.000_071_476_5e-1));
    let p = p.mul_add(f, k(-2.499_999_399_3e-1));
    let p = p.mul_add(f, k(3.333_333_117_4e-1));
    let y = p
        .mul(f)
        .mul_add(z, e.mul(k(LN2_LO)))
        .sub(k::<V>(0.5).mul(z));
    f.add(y).add(e.mul(k(LN2_HI)))
}

/// `ln(w)` for `w = 1 + u` computed in f32, corrected for the rounding of that sum: `ln(1 + u)`
/// to first order.
#[inline(always)]
fn ln_one_plus<V: Vector>(w: V, u: V) -> V {
    ln_at_least_one(w).sub(w.sub(k(1.0)).sub(u).div(w))
}

/// `ln(1 + e^x)` with TensorFlow's cut-offs (`x` above 13.9424, `e^x` below -13.9424), from the
/// fast [`exp`] and a logarithm whose rounding of `1 + e^x` is corrected.
#[inline(always)]
pub fn softplus<V: Vector>(x: V) -> V {
    let u = exp(x.clamp(-SOFTPLUS_CUT, SOFTPLUS_CUT));
    let mid = ln_one_plus(k::<V>(1.0).add(u), u);
    let low = V::select(x.lt(k(-SOFTPLUS_CUT)), exp(x), mid);
    V::select(x.gt(k(SOFTPLUS_CUT)), x, low)
}

/// `ln(x + 1)` for `x > 0`, else 0 (the format's LOG): the logarithm of `1 + x` with the
/// rounding of the sum corrected. `+inf` gives `+inf`, NaN gives 0.
#[inline(always)]
pub fn log1p_positive<V: Vector>(x: V) -> V {
    let v = ln_one_plus(k::<V>(1.0).add(x), x);
    let v = V::select(x.eq(k(f32::INFINITY)), x, v);
    V::select(x.gt(k(0.0)), v, k(0.0))
}

/// `log10(x + 1)` for `x > 0`, else 0 (the format's LOG10): [`log1p_positive`] times log10(e).
#[inline(always)]
pub fn log10_1p_positive<V: Vector>(x: V) -> V {
    log1p_positive(x).mul(k(std::f32::consts::LOG10_E))
}

/// `erf(x)` for `|x| ≤ 4` as a rational function (odd degree-13 over even degree-8 polynomial,
/// the minimax fit Eigen uses); `x` is clamped to ±4, where `erf` is ±1 in f32.
#[allow(clippy::excessive_precision)]
#[inline(always)]
fn erf_rational<V: Vector>(x: V) -> V {
    let x = x.clamp(-4.0, 4.0);
    let s = x.mul(x);
    let p = k::<V>(-2.726_142_258_013_06e-10);
    let p = p.mul_add(s, k(2.770_681_424_959_02e-8));
    let p = p.mul_add(s, k(-2.101_024_020_825_08e-6));
    let p = p.mul_add(s, k(-5.692_506_394_623_46e-5));
    let p = p.mul_add(s, k(-7.349_906_303_268_55e-4));
    let p = p.mul_add(s, k(-2.954_599_808_540_25e-3));
    let p = p.mul_add(s, k(-1.609_603_332_624_15e-2));
    let q = k::<V>(-1.456_607_184_649_96e-5);
    let q = q.mul_add(s, k(-2.133_740_552_789_05e-4));
    let q = q.mul_add(s, k(-1.682_826_974_382_03e-3));
    let q = q.mul_add(s, k(-7.373_329_167_204_68e-3));
    let q = q.mul_add(s, k(-1.426_473_905_141_89e-2));
    x.mul(p).div(q)
}

/// `erfc(z)` for `z ≥ 0`, given `z_squared` = z², with a relative error of about 1.2e-7
/// before rounding (the Chebyshev fit of Numerical Recipes' `erfcc`: `t·e^(-z² + P(t))`,
/// `t = 1/(1 + z/2)`), so that tails far below 1 keep their relative accuracy.
#[allow(clippy::excessive_precision)]
#[inline(always)]
fn erfc_nonnegative<V: Vector>(z: V, z_squared: V) -> V {
    let t = k::<V>(1.0).div(k::<V>(0.5).mul_add(z, k(1.0)));
    let p = k::<V>(0.170_872_77);
    let p = p.mul_add(t, k(-0.822_152_23));
    let p = p.mul_add(t, k(1.488_515_87));
    let p = p.mul_add(t, k(-1.135_203_98));
    let p = p.mul_add(t, k(0.278_868_07));
    let p = p.mul_add(t, k(-0.186_288_06));
    let p = p.mul_add(t, k(0.096_784_18));
    let p = p.mul_add(t, k(0.374_091_96));
    let p = p.mul_add(t, k(1.000_023_68));
    let p = p.mul_add(t, k(-1.265_512_23));
    t.mul(exp(p.sub(z_squared)))
}

/// GELU, `x·Φ(x) = x/2·(1 + erf(x/√2))`: from the rational `erf` for `x ≥ -0.5`, and as
/// `x/2·erfc(|x|/√2)` below, which avoids the cancellation of `1 + erf` and keeps the small
/// negative tail's relative accuracy. NaN gives NaN.
#[inline(always)]
pub fn gelu<V: Vector>(x: V) -> V {
    let half_x = x.mul(k(0.5));
    let z = x.mul(k(std::f32::consts::FRAC_1_SQRT_2));
    let near = half_x.mul(k::<V>(1.0).add(erf_rational(z)));
    // z² as x²/2: one rounding instead of two, which matters where e^(-z²) is tiny.
    let tail = half_x.mul(erfc_nonnegative(z.mul(k(-1.0)), x.mul(x).mul(k(0.5))));
    V::select(x.ge(k(-0.5)), near, V::select(x.is_nan(), x, tail))
}

/// -1 for `x < 0`, +1 for `x > 0`, else `x` itself (±0 and NaN pass through).
#[inline(always)]
pub(super) fn sign<V: Vector>(x: V) -> V {
    V::select(x.gt(k(0.0)), k(1.0), V::select(x.lt(k(0.0)), k(-1.0), x))
}

/// `√x` for `x > 0`, else 0 (NaN gives 0).
#[inline(always)]
pub(super) fn sqrt_positive<V: Vector>(x: V) -> V {
    V::select(x.gt(k(0.0)), x.sqrt(), k(0.0))
}

/// `gamma · x` for `x ≥ 0` (and NaN), else `gamma · alpha · (e^x − 1)`: ELU (`gamma` 1) and
/// SELU with the fast [`exp`]. Above −0.25, `e^x − 1` is a Taylor polynomial (degree 6, error
/// below 1.3e-8) instead of `exp(x) − 1`, which would cancel.
#[inline(always)]
pub(super) fn exponential_linear<V: Vector>(x: V, alpha: f32, gamma: f32) -> V {
    let negative = x.clamp(-88.0, 0.0);
    let far = exp(negative).sub(k(1.0));
    let mut p = negative.mul_add(k(1.0 / 720.0), k(1.0 / 120.0));
    for c in [1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0] {
        p = negative.mul_add(p, k(c));
    }
    let near = negative.mul(p);
    let expm1 = V::select(negative.gt(k(-0.25)), near, far);
    V::select(x.lt(k(0.0)), expm1.mul(k(alpha)), x).mul(k(gamma))
}
