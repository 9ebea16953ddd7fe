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
mod avx512 {
    use super::{ROUNDER, Vector};
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
            F32x16(unsafe { _mm512_maskz_loadu_ps(super::first_lanes(n), p) })
        }

        /// Stores the first `n < 16` values.
        ///
        /// # Safety
        /// `p` is writable for `n` values; AVX-512F is available.
        #[inline(always)]
        pub(crate) unsafe fn store_first(self, p: *mut f32, n: usize) {
            // SAFETY: masked-off lanes are not written.
            unsafe { _mm512_mask_storeu_ps(p, super::first_lanes(n), self.0) }
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
                        _ => {
                            _mm512_add_ps(_mm512_add_ps($v[0], $v[1]), _mm512_add_ps($v[2], $v[3]))
                        }
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
                let bit =
                    _mm512_and_si512(_mm512_castps_si512(sign.0), _mm512_set1_epi32(i32::MIN));
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
}

#[cfg(target_arch = "x86_64")]
pub(crate) use avx2::F32x8;

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{ROUNDER, Vector};
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
            let mask = super::first_lanes8(n);
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
}

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
