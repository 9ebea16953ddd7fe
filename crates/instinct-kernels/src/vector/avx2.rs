//! `Vector` and `Lanes` on eight f32 lanes of an AVX2 register (`F32x8`).

use super::generic::{ROUNDER, Vector};
use std::arch::x86_64::*;

/// Eight f32 lanes in an AVX2 register; comparisons give all-ones or all-zeros lanes.
///
/// Only ever created inside functions compiled with `avx2,fma` and reached through a
/// run-time check that the CPU has them (the `Level::Avx2` paths of this crate): the methods
/// are `#[inline(always)]` so that they, and the intrinsics in them, become instructions of
/// such a function. The type is not exported.
#[derive(Clone, Copy)]
#[repr(transparent)]
pub(crate) struct F32x8(pub(crate) __m256);

impl F32x8 {
    /// Loads 8 values.
    ///
    /// # Safety
    /// `p` is readable for 8 values; AVX2 is available.
    #[inline(always)]
    pub(crate) unsafe fn load(p: *const f32) -> F32x8 {
        // SAFETY: as the caller promises.
        F32x8(unsafe { _mm256_loadu_ps(p) })
    }

    /// Stores 8 values.
    ///
    /// # Safety
    /// `p` is writable for 8 values; AVX2 is available.
    #[inline(always)]
    pub(crate) unsafe fn store(self, p: *mut f32) {
        // SAFETY: as the caller promises.
        unsafe { _mm256_storeu_ps(p, self.0) }
    }

    /// The mask of the first `n` lanes (all of them from 8 on), for the `_first` loads and
    /// stores.
    #[inline(always)]
    fn first(n: usize) -> __m256i {
        let mask = super::mask::first_lanes8(n);
        // SAFETY: `mask` holds 8 values; AVX2 is available wherever an `F32x8` is used.
        unsafe { _mm256_loadu_si256(mask.as_ptr().cast()) }
    }

    /// Loads the first `n < 8` values, the other lanes zero.
    ///
    /// # Safety
    /// `p` is readable for `n` values; AVX2 is available.
    #[inline(always)]
    pub(crate) unsafe fn load_first(p: *const f32, n: usize) -> F32x8 {
        // SAFETY: masked-off lanes are neither read nor faulted on.
        F32x8(unsafe { _mm256_maskload_ps(p, F32x8::first(n)) })
    }

    /// Stores the first `n < 8` values.
    ///
    /// # Safety
    /// `p` is writable for `n` values; AVX2 is available.
    #[inline(always)]
    pub(crate) unsafe fn store_first(self, p: *mut f32, n: usize) {
        // SAFETY: masked-off lanes are not written.
        unsafe { _mm256_maskstore_ps(p, F32x8::first(n), self.0) }
    }
}

/// Runs AVX2 intrinsics.
macro_rules! avx {
    ($e:expr) => {
        // SAFETY: the intrinsics only need AVX2 and FMA, which every function that creates
        // an `F32x8` is compiled for and checked to have (see the type).
        unsafe { $e }
    };
}

impl Vector for F32x8 {
    type Mask = __m256;
    #[inline(always)]
    fn splat(v: f32) -> Self {
        F32x8(avx!(_mm256_set1_ps(v)))
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        F32x8(avx!(_mm256_add_ps(self.0, o.0)))
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        F32x8(avx!(_mm256_sub_ps(self.0, o.0)))
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        F32x8(avx!(_mm256_mul_ps(self.0, o.0)))
    }
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        F32x8(avx!(_mm256_div_ps(self.0, o.0)))
    }
    #[inline(always)]
    fn mul_add(self, b: Self, c: Self) -> Self {
        F32x8(avx!(_mm256_fmadd_ps(self.0, b.0, c.0)))
    }
    #[inline(always)]
    fn clamp(self, lo: f32, hi: f32) -> Self {
        // `max_ps`/`min_ps` return their second operand when either is NaN: with `self`
        // second, a NaN lane stays NaN.
        avx!({
            let up = _mm256_max_ps(_mm256_set1_ps(lo), self.0);
            F32x8(_mm256_min_ps(_mm256_set1_ps(hi), up))
        })
    }
    #[inline(always)]
    fn max_with(self, bound: f32) -> Self {
        // The bound second: a NaN `self` gives the bound.
        F32x8(avx!(_mm256_max_ps(self.0, _mm256_set1_ps(bound))))
    }
    #[inline(always)]
    fn abs(self) -> Self {
        F32x8(avx!(_mm256_andnot_ps(_mm256_set1_ps(-0.0), self.0)))
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        F32x8(avx!(_mm256_sqrt_ps(self.0)))
    }
    #[inline(always)]
    fn copysign(self, sign: Self) -> Self {
        avx!({
            let bit = _mm256_set1_ps(-0.0);
            F32x8(_mm256_or_ps(
                _mm256_andnot_ps(bit, self.0),
                _mm256_and_ps(bit, sign.0),
            ))
        })
    }
    #[inline(always)]
    fn gt(self, o: Self) -> __m256 {
        avx!(_mm256_cmp_ps::<_CMP_GT_OQ>(self.0, o.0))
    }
    #[inline(always)]
    fn lt(self, o: Self) -> __m256 {
        avx!(_mm256_cmp_ps::<_CMP_LT_OQ>(self.0, o.0))
    }
    #[inline(always)]
    fn ge(self, o: Self) -> __m256 {
        avx!(_mm256_cmp_ps::<_CMP_GE_OQ>(self.0, o.0))
    }
    #[inline(always)]
    fn eq(self, o: Self) -> __m256 {
        avx!(_mm256_cmp_ps::<_CMP_EQ_OQ>(self.0, o.0))
    }
    #[inline(always)]
    fn is_nan(self) -> __m256 {
        avx!(_mm256_cmp_ps::<_CMP_UNORD_Q>(self.0, self.0))
    }
    #[inline(always)]
    fn select(mask: __m256, a: Self, b: Self) -> Self {
        F32x8(avx!(_mm256_blendv_ps(b.0, a.0, mask)))
    }
    #[inline(always)]
    fn pow2_halves(t: Self) -> (Self, Self) {
        avx!({
            let n = _mm256_sub_epi32(
                _mm256_castps_si256(t.0),
                _mm256_set1_epi32(ROUNDER.to_bits() as i32),
            );
            let half = _mm256_srai_epi32::<1>(n);
            let rest = _mm256_sub_epi32(n, half);
            let bias = _mm256_set1_epi32(127);
            let lo = _mm256_slli_epi32::<23>(_mm256_add_epi32(half, bias));
            let hi = _mm256_slli_epi32::<23>(_mm256_add_epi32(rest, bias));
            (
                F32x8(_mm256_castsi256_ps(lo)),
                F32x8(_mm256_castsi256_ps(hi)),
            )
        })
    }
    #[inline(always)]
    fn pow2(t: Self) -> Self {
        avx!({
            let biased = _mm256_add_epi32(
                _mm256_castps_si256(t.0),
                _mm256_set1_epi32(127 - ROUNDER.to_bits() as i32),
            );
            F32x8(_mm256_castsi256_ps(_mm256_slli_epi32::<23>(biased)))
        })
    }
    #[inline(always)]
    fn split_exponent(self) -> (Self, Self) {
        avx!({
            let bits = _mm256_castps_si256(self.0);
            let e = _mm256_sub_epi32(
                _mm256_and_si256(_mm256_srli_epi32::<23>(bits), _mm256_set1_epi32(0xff)),
                _mm256_set1_epi32(127),
            );
            let m = _mm256_or_si256(
                _mm256_and_si256(bits, _mm256_set1_epi32(0x007f_ffff)),
                _mm256_set1_epi32(0x3f80_0000),
            );
            (F32x8(_mm256_castsi256_ps(m)), F32x8(_mm256_cvtepi32_ps(e)))
        })
    }
}
