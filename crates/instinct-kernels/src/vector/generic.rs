//! The [`Vector`] trait, the operations the fast activations are written in, and its plain
//! `f32` form.

/// A value, or a vector of values, of `f32` with the operations the fast functions use.
///
/// Conventions: `mul_add(a, b, c)` is `a·b + c`, rounded once where the instruction set has a
/// fused multiply-add (the AVX2 and AVX-512 registers) and twice for plain `f32`; comparisons give a
/// [`Mask`](Vector::Mask) that is false for NaN lanes, as `f32`'s operators are.
pub trait Vector: Copy {
    /// The result of a comparison, one flag per lane.
    type Mask: Copy;
    /// Every lane `v`.
    fn splat(v: f32) -> Self;
    /// `self + o`.
    fn add(self, o: Self) -> Self;
    /// `self - o`.
    fn sub(self, o: Self) -> Self;
    /// `self · o`.
    fn mul(self, o: Self) -> Self;
    /// `self / o`.
    fn div(self, o: Self) -> Self;
    /// `self · b + c`.
    fn mul_add(self, b: Self, c: Self) -> Self;
    /// `self` clamped to `[lo, hi]`; NaN stays NaN (as [`f32::clamp`]).
    fn clamp(self, lo: f32, hi: f32) -> Self;
    /// `max(self, bound)` for a bound that is not NaN; a NaN `self` gives `bound` (as
    /// [`f32::max`]).
    fn max_with(self, bound: f32) -> Self;
    /// `|self|`.
    fn abs(self) -> Self;
    /// `√self` (NaN for negative lanes).
    fn sqrt(self) -> Self;
    /// The magnitude of `self` with the sign of `sign`.
    fn copysign(self, sign: Self) -> Self;
    /// `self > o`, lane by lane.
    fn gt(self, o: Self) -> Self::Mask;
    /// `self < o`.
    fn lt(self, o: Self) -> Self::Mask;
    /// `self >= o`.
    fn ge(self, o: Self) -> Self::Mask;
    /// `self == o`.
    fn eq(self, o: Self) -> Self::Mask;
    /// Lanes that are NaN.
    fn is_nan(self) -> Self::Mask;
    /// `if mask { a } else { b }`, lane by lane.
    fn select(mask: Self::Mask, a: Self, b: Self) -> Self;
    /// For `t = c·log2(e) + 1.5·2²³` (whose low mantissa bits hold the integer `n` nearest to
    /// `c·log2(e)`, `-151 ≤ n ≤ 128`): `(2^⌊n/2⌋, 2^(n - ⌊n/2⌋))`, two normal powers whose product
    /// is `2^n`.
    fn pow2_halves(t: Self) -> (Self, Self);
    /// As [`pow2_halves`](Vector::pow2_halves) for `-126 ≤ n ≤ 127`: `2^n` itself.
    fn pow2(t: Self) -> Self;
    /// For finite `self ≥ 1`: `(m, e)` with `self = m · 2^e`, `m` in `[1, 2)`, `e` an integer
    /// (as an f32).
    fn split_exponent(self) -> (Self, Self);
}

/// Adding then subtracting this rounds an f32 of magnitude below 2²² to an integer.
pub(crate) const ROUNDER: f32 = 12_582_912.0;

/// `2^n` for `n` in `-126..=127`, built from its bits.
#[inline(always)]
fn pow2(n: i32) -> f32 {
    f32::from_bits(((n + 127) as u32) << 23)
}

impl Vector for f32 {
    type Mask = bool;
    #[inline(always)]
    fn splat(v: f32) -> f32 {
        v
    }
    #[inline(always)]
    fn add(self, o: f32) -> f32 {
        self + o
    }
    #[inline(always)]
    fn sub(self, o: f32) -> f32 {
        self - o
    }
    #[inline(always)]
    fn mul(self, o: f32) -> f32 {
        self * o
    }
    #[inline(always)]
    fn div(self, o: f32) -> f32 {
        self / o
    }
    #[inline(always)]
    fn mul_add(self, b: f32, c: f32) -> f32 {
        // Two roundings: `f32::mul_add` would be a slow library call without FMA hardware.
        self * b + c
    }
    #[inline(always)]
    fn clamp(self, lo: f32, hi: f32) -> f32 {
        f32::clamp(self, lo, hi)
    }
    #[inline(always)]
    fn max_with(self, bound: f32) -> f32 {
        f32::max(self, bound)
    }
    #[inline(always)]
    fn abs(self) -> f32 {
        f32::abs(self)
    }
    #[inline(always)]
    fn sqrt(self) -> f32 {
        f32::sqrt(self)
    }
    #[inline(always)]
    fn copysign(self, sign: f32) -> f32 {
        f32::copysign(self, sign)
    }
    #[inline(always)]
    fn gt(self, o: f32) -> bool {
        self > o
    }
    #[inline(always)]
    fn lt(self, o: f32) -> bool {
        self < o
    }
    #[inline(always)]
    fn ge(self, o: f32) -> bool {
        self >= o
    }
    #[inline(always)]
    fn eq(self, o: f32) -> bool {
        self == o
    }
    #[inline(always)]
    fn is_nan(self) -> bool {
        f32::is_nan(self)
    }
    #[inline(always)]
    fn select(mask: bool, a: f32, b: f32) -> f32 {
        if mask { a } else { b }
    }
    #[inline(always)]
    fn pow2_halves(t: f32) -> (f32, f32) {
        let n = (t.to_bits() as i32).wrapping_sub(ROUNDER.to_bits() as i32);
        let half = n >> 1;
        (pow2(half), pow2(n - half))
    }
    #[inline(always)]
    fn pow2(t: f32) -> f32 {
        pow2((t.to_bits() as i32).wrapping_sub(ROUNDER.to_bits() as i32))
    }
    #[inline(always)]
    fn split_exponent(self) -> (f32, f32) {
        let bits = self.to_bits();
        let e = ((bits >> 23) & 0xff) as i32 - 127;
        let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
        (m, e as f32)
    }
}
