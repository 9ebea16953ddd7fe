//! `Vector`: the operations the fast activations are written in, implemented for plain `f32`
//! (the portable path, which the compiler may still vectorise over a loop) and, inside the
//! crate, for AVX2 (`F32x8`) and AVX-512 (`F32x16`) registers, so that each function is written
//! once and its vector forms are exactly the intended instructions whatever the surrounding code
//! looks like.

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

/// A register of `LANES` values with loads and stores, whole or of a first few lanes (the
/// rest masked: neither read nor written, so a slice's tail can be handled in place). Plain
/// `f32` is a register of one value.
pub(crate) trait Lanes: Vector {
    /// Values per register.
    const LANES: usize;
    /// Loads `LANES` values.
    ///
    /// # Safety
    /// `p` is readable for `LANES` values; the CPU has the register's features.
    unsafe fn load(p: *const f32) -> Self;
    /// Stores `LANES` values.
    ///
    /// # Safety
    /// `p` is writable for `LANES` values; the CPU has the register's features.
    unsafe fn store(self, p: *mut f32);
    /// Loads the first `n < LANES` values, the other lanes zero.
    ///
    /// # Safety
    /// `p` is readable for `n` values; the CPU has the register's features.
    unsafe fn load_first(p: *const f32, n: usize) -> Self;
    /// Stores the first `n < LANES` values.
    ///
    /// # Safety
    /// `p` is writable for `n` values; the CPU has the register's features.
    unsafe fn store_first(self, p: *mut f32, n: usize);
}

/// Implements [`Lanes`] by the type's inherent loads and stores.
#[cfg(target_arch = "x86_64")]
macro_rules! lanes {
    ($t:ident, $n:literal) => {
        impl Lanes for $t {
            const LANES: usize = $n;
            #[inline(always)]
            unsafe fn load(p: *const f32) -> Self {
                // SAFETY: as the caller promises.
                unsafe { $t::load(p) }
            }
            #[inline(always)]
            unsafe fn store(self, p: *mut f32) {
                // SAFETY: as the caller promises.
                unsafe { $t::store(self, p) }
            }
            #[inline(always)]
            unsafe fn load_first(p: *const f32, n: usize) -> Self {
                // SAFETY: as the caller promises.
                unsafe { $t::load_first(p, n) }
            }
            #[inline(always)]
            unsafe fn store_first(self, p: *mut f32, n: usize) {
                // SAFETY: as the caller promises.
                unsafe { $t::store_first(self, p, n) }
            }
        }
    };
}

impl Lanes for f32 {
    const LANES: usize = 1;
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        // SAFETY: as the caller promises.
        unsafe { *p }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        // SAFETY: as the caller promises.
        unsafe { *p = self }
    }
    #[inline(always)]
    unsafe fn load_first(_: *const f32, _: usize) -> Self {
        // `n < 1`: no value.
        0.0
    }
    #[inline(always)]
    unsafe fn store_first(self, _: *mut f32, _: usize) {}
}

#[cfg(target_arch = "x86_64")]
lanes!(F32x16, 16);
#[cfg(target_arch = "x86_64")]
lanes!(F32x8, 8);

#[cfg(target_arch = "x86_64")]
pub use avx512::accumulate_dense;

/// The AVX-512 mask of the first `n` lanes of 16 (all of them from 16 on).
#[inline(always)]
pub fn first_lanes(n: usize) -> u16 {
    if n >= 16 {
        0xffff
    } else {
        ((1u32 << n) - 1) as u16
    }
}

/// The AVX2 lane mask (for `_mm256_maskload_ps`/`_mm256_maskstore_ps`) of the first `n` lanes
/// of 8 (all of them from 8 on): -1 in each selected lane, 0 elsewhere.
#[inline(always)]
pub fn first_lanes8(n: usize) -> [i32; 8] {
    const TAIL: [i32; 16] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];
    let start = 8 - n.min(8);
    let mut mask = [0; 8];
    mask.copy_from_slice(&TAIL[start..start + 8]);
    mask
}
#[cfg(target_arch = "x86_64")]
pub(crate) use avx512::F32x16;

#[cfg(target_arch = "x86_64")]
mod avx512;

#[cfg(target_arch = "x86_64")]
pub(crate) use avx2::F32x8;

#[cfg(target_arch = "x86_64")]
mod avx2;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lane_masks_select_exactly_the_first_lanes() {
        for n in 0..=20 {
            let m16 = first_lanes(n);
            let m8 = first_lanes8(n);
            for lane in 0..16 {
                assert_eq!(
                    m16 >> lane & 1 == 1,
                    lane < n,
                    "16 lanes, n = {n}, lane {lane}"
                );
            }
            for (lane, m) in m8.iter().enumerate() {
                assert_eq!(*m, if lane < n { -1 } else { 0 }, "8 lanes, n = {n}");
            }
        }
    }
}
