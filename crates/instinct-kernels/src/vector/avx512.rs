//! `Vector` and `Lanes` on sixteen f32 lanes of an AVX-512 register (`F32x16`).

use super::generic::{ROUNDER, Vector};
use std::arch::x86_64::*;

/// Sixteen f32 lanes in an AVX-512 register.
///
/// Only ever created inside functions compiled with `avx512f,avx512vl,avx512dq,avx512bw`
/// and reached through a run-time check that the CPU has them (the `Level::Avx512` paths
/// of this crate): the methods are `#[inline(always)]` so that they, and the intrinsics in
/// them, become instructions of such a function. The type is not exported.
#[derive(Clone, Copy)]
#[repr(transparent)]
pub(crate) struct F32x16(pub(crate) __m512);

impl F32x16 {
    /// Loads 16 values.
    ///
    /// # Safety
    /// `p` is readable for 16 values; AVX-512F is available.
    #[inline(always)]
    pub(crate) unsafe fn load(p: *const f32) -> F32x16 {
        // SAFETY: as the caller promises.
        F32x16(unsafe { _mm512_loadu_ps(p) })
    }

    /// Stores 16 values.
    ///
    /// # Safety
    /// `p` is writable for 16 values; AVX-512F is available.
    #[inline(always)]
    pub(crate) unsafe fn store(self, p: *mut f32) {
        // SAFETY: as the caller promises.
        unsafe { _mm512_storeu_ps(p, self.0) }
    }

    /// Loads the first `n < 16` values, the other lanes zero.
    ///
    /// # Safety
    /// `p` is readable for `n` values; AVX-512F is available.
    #[inline(always)]
    pub(crate) unsafe fn load_first(p: *const f32, n: usize) -> F32x16 {
        // SAFETY: masked-off lanes are neither read nor faulted on.
        F32x16(unsafe { _mm512_maskz_loadu_ps(super::mask::first_lanes(n), p) })
    }

    /// Stores the first `n < 16` values.
    ///
    /// # Safety
    /// `p` is writable for `n` values; AVX-512F is available.
    #[inline(always)]
    pub(crate) unsafe fn store_first(self, p: *mut f32, n: usize) {
        // SAFETY: masked-off lanes are not written.
        unsafe { _mm512_mask_storeu_ps(p, super::mask::first_lanes(n), self.0) }
    }
}

/// One dense layer's sums for up to 32 outputs in two registers: `bias + Σ_i input(i) ·
/// weights(i, half)` over `k` inputs, `half` 0 for the low 16 outputs and 16 for the high
/// ones (only computed when `two`). Four independent accumulator sets over consecutive
/// inputs keep the chain of dependent additions a quarter as long. The building block of
/// every per-sample dense kernel at AVX-512 (panels, register chains, static nets).
///
/// # Safety
/// The CPU has AVX-512F and FMA (the caller is compiled for them), and `input` and
/// `weights` are sound to call for every `i < k`.
#[inline(always)]
pub unsafe fn accumulate_dense(
    k: usize,
    two: bool,
    bias: (__m512, __m512),
    input: impl Fn(usize) -> __m512,
    weights: impl Fn(usize, usize) -> __m512,
) -> (__m512, __m512) {
    if k == 0 {
        // The bias itself (adding zeros would turn a -0 bias into +0, unlike the other
        // levels, which copy it).
        return bias;
    }
    // One copy of the loops per value of `two`, so that neither tests it per input.
    if two {
        // SAFETY: as the caller promises.
        unsafe { accumulate::<true>(k, bias, input, weights) }
    } else {
        // SAFETY: as the caller promises.
        unsafe { accumulate::<false>(k, bias, input, weights) }
    }
}

/// [`accumulate_dense`] with `two` a constant.
///
/// # Safety
/// As [`accumulate_dense`].
#[inline(always)]
unsafe fn accumulate<const TWO: bool>(
    k: usize,
    bias: (__m512, __m512),
    input: impl Fn(usize) -> __m512,
    weights: impl Fn(usize, usize) -> __m512,
) -> (__m512, __m512) {
    let two = TWO;
    // SAFETY: as the caller promises.
    unsafe {
        let mut lo = [_mm512_setzero_ps(); 4];
        let mut hi = [_mm512_setzero_ps(); 4];
        (lo[0], hi[0]) = bias;
        let mut i = 0;
        while i + 4 <= k {
            for j in 0..4 {
                let xi = input(i + j);
                lo[j] = _mm512_fmadd_ps(weights(i + j, 0), xi, lo[j]);
                if two {
                    hi[j] = _mm512_fmadd_ps(weights(i + j, 16), xi, hi[j]);
                }
            }
            i += 4;
        }
        while i < k {
            let xi = input(i);
            lo[0] = _mm512_fmadd_ps(weights(i, 0), xi, lo[0]);
            if two {
                hi[0] = _mm512_fmadd_ps(weights(i, 16), xi, hi[0]);
            }
            i += 1;
        }
        // Sets that never received a product are left out of the sum rather than added as
        // zeros: with `k` a constant (the unrolled callers) this shortens the dependent
        // chain by one addition for `k < 4`. (A macro: a closure would not inherit the
        // caller's target features.)
        macro_rules! sum {
            ($v:expr) => {
                match k {
                    1 => $v[0],
                    2 => _mm512_add_ps($v[0], $v[1]),
                    3 => _mm512_add_ps(_mm512_add_ps($v[0], $v[1]), $v[2]),
                    _ => _mm512_add_ps(_mm512_add_ps($v[0], $v[1]), _mm512_add_ps($v[2], $v[3])),
                }
            };
        }
        (sum!(lo), sum!(hi))
    }
}

/// Runs AVX-512 intrinsics.
macro_rules! avx {
    ($e:expr) => {
        // SAFETY: the intrinsics only need AVX-512F/DQ, which every function that creates
        // an `F32x16` is compiled for and checked to have (see the type).
        unsafe { $e }
    };
}

impl Vector for F32x16 {
    type Mask = __mmask16;
    #[inline(always)]
    fn splat(v: f32) -> Self {
        F32x16(avx!(_mm512_set1_ps(v)))
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        F32x16(avx!(_mm512_add_ps(self.0, o.0)))
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        F32x16(avx!(_mm512_sub_ps(self.0, o.0)))
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        F32x16(avx!(_mm512_mul_ps(self.0, o.0)))
    }
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        F32x16(avx!(_mm512_div_ps(self.0, o.0)))
    }
    #[inline(always)]
    fn mul_add(self, b: Self, c: Self) -> Self {
        F32x16(avx!(_mm512_fmadd_ps(self.0, b.0, c.0)))
    }
    #[inline(always)]
    fn clamp(self, lo: f32, hi: f32) -> Self {
        // `max_ps`/`min_ps` return their second operand when either is NaN: with `self`
        // second, a NaN lane stays NaN.
        avx!({
            let up = _mm512_max_ps(_mm512_set1_ps(lo), self.0);
            F32x16(_mm512_min_ps(_mm512_set1_ps(hi), up))
        })
    }
    #[inline(always)]
    fn max_with(self, bound: f32) -> Self {
        // The bound second: a NaN `self` gives the bound.
        F32x16(avx!(_mm512_max_ps(self.0, _mm512_set1_ps(bound))))
    }
    #[inline(always)]
    fn abs(self) -> Self {
        F32x16(avx!(_mm512_abs_ps(self.0)))
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        F32x16(avx!(_mm512_sqrt_ps(self.0)))
    }
    #[inline(always)]
    fn copysign(self, sign: Self) -> Self {
        avx!({
            let magnitude = _mm512_abs_ps(self.0);
            let bit = _mm512_and_si512(_mm512_castps_si512(sign.0), _mm512_set1_epi32(i32::MIN));
            F32x16(_mm512_castsi512_ps(_mm512_or_si512(
                _mm512_castps_si512(magnitude),
                bit,
            )))
        })
    }
    #[inline(always)]
    fn gt(self, o: Self) -> __mmask16 {
        avx!(_mm512_cmp_ps_mask::<_CMP_GT_OQ>(self.0, o.0))
    }
    #[inline(always)]
    fn lt(self, o: Self) -> __mmask16 {
        avx!(_mm512_cmp_ps_mask::<_CMP_LT_OQ>(self.0, o.0))
    }
    #[inline(always)]
    fn ge(self, o: Self) -> __mmask16 {
        avx!(_mm512_cmp_ps_mask::<_CMP_GE_OQ>(self.0, o.0))
    }
    #[inline(always)]
    fn eq(self, o: Self) -> __mmask16 {
        avx!(_mm512_cmp_ps_mask::<_CMP_EQ_OQ>(self.0, o.0))
    }
    #[inline(always)]
    fn is_nan(self) -> __mmask16 {
        avx!(_mm512_cmp_ps_mask::<_CMP_UNORD_Q>(self.0, self.0))
    }
    #[inline(always)]
    fn select(mask: __mmask16, a: Self, b: Self) -> Self {
        F32x16(avx!(_mm512_mask_blend_ps(mask, b.0, a.0)))
    }
    #[inline(always)]
    fn pow2_halves(t: Self) -> (Self, Self) {
        avx!({
            let n = _mm512_sub_epi32(
                _mm512_castps_si512(t.0),
                _mm512_set1_epi32(ROUNDER.to_bits() as i32),
            );
            let half = _mm512_srai_epi32::<1>(n);
            let rest = _mm512_sub_epi32(n, half);
            let bias = _mm512_set1_epi32(127);
            let lo = _mm512_slli_epi32::<23>(_mm512_add_epi32(half, bias));
            let hi = _mm512_slli_epi32::<23>(_mm512_add_epi32(rest, bias));
            (
                F32x16(_mm512_castsi512_ps(lo)),
                F32x16(_mm512_castsi512_ps(hi)),
            )
        })
    }
    #[inline(always)]
    fn pow2(t: Self) -> Self {
        avx!({
            let biased = _mm512_add_epi32(
                _mm512_castps_si512(t.0),
                _mm512_set1_epi32(127 - ROUNDER.to_bits() as i32),
            );
            F32x16(_mm512_castsi512_ps(_mm512_slli_epi32::<23>(biased)))
        })
    }
    #[inline(always)]
    fn split_exponent(self) -> (Self, Self) {
        avx!({
            let bits = _mm512_castps_si512(self.0);
            let e = _mm512_sub_epi32(
                _mm512_and_si512(_mm512_srli_epi32::<23>(bits), _mm512_set1_epi32(0xff)),
                _mm512_set1_epi32(127),
            );
            let m = _mm512_or_si512(
                _mm512_and_si512(bits, _mm512_set1_epi32(0x007f_ffff)),
                _mm512_set1_epi32(0x3f80_0000),
            );
            (
                F32x16(_mm512_castsi512_ps(m)),
                F32x16(_mm512_cvtepi32_ps(e)),
            )
        })
    }
}
