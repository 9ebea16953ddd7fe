//! The AVX-512 and AVX2 compilations of the interleaved kernels, and the 16 × 16 register
//! transposes that move rows into and out of the lanes.

use super::kernel::{GROUP, Operands, run_group};
use super::net::{InterleavedNet, net_body};
use crate::fast::Kind;
use crate::vector::{F32x8, F32x16, first_lanes, first_lanes8};
use std::arch::x86_64::*;

/// The transpose of a 16 × 16 block held as 16 rows: `out[c]` lane `r` is `rows[r]` lane
/// `c` (unpacks within 128-bit lanes, then two rounds of 128-bit lane shuffles).
#[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")]
#[inline]
fn transpose16(r: [__m512; 16]) -> [__m512; 16] {
    let mut t = [_mm512_setzero_ps(); 16];
    for p in 0..8 {
        t[2 * p] = _mm512_unpacklo_ps(r[2 * p], r[2 * p + 1]);
        t[2 * p + 1] = _mm512_unpackhi_ps(r[2 * p], r[2 * p + 1]);
    }
    let mut u = [_mm512_setzero_ps(); 16];
    for q in 0..4 {
        let (a, b, c, d) = (t[4 * q], t[4 * q + 1], t[4 * q + 2], t[4 * q + 3]);
        u[4 * q] = _mm512_shuffle_ps::<0x44>(a, c);
        u[4 * q + 1] = _mm512_shuffle_ps::<0xEE>(a, c);
        u[4 * q + 2] = _mm512_shuffle_ps::<0x44>(b, d);
        u[4 * q + 3] = _mm512_shuffle_ps::<0xEE>(b, d);
    }
    // u[4q + c] holds, in each 128-bit lane l, column c of rows 4q..4q+4 for columns
    // 4l + c: combine the row quads.
    let mut v = [_mm512_setzero_ps(); 16];
    for h in 0..2 {
        for c in 0..4 {
            let (a, b) = (u[8 * h + c], u[8 * h + 4 + c]);
            v[8 * h + c] = _mm512_shuffle_f32x4::<0x88>(a, b);
            v[8 * h + 4 + c] = _mm512_shuffle_f32x4::<0xDD>(a, b);
        }
    }
    let mut cols = [_mm512_setzero_ps(); 16];
    for c in 0..8 {
        cols[c] = _mm512_shuffle_f32x4::<0x88>(v[c], v[8 + c]);
        cols[8 + c] = _mm512_shuffle_f32x4::<0xDD>(v[c], v[8 + c]);
    }
    cols
}

/// # Safety
/// As [`super::gather_lanes_at`] checks: AVX-512; `src` readable at `m · stride + i` for
/// `m < count ≤ 16`, `i < width`; `x` writable for `width · 16`.
#[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")]
pub(super) unsafe fn gather(
    src: *const f32,
    stride: usize,
    count: usize,
    width: usize,
    x: *mut f32,
) {
    let mut i0 = 0;
    while i0 < width {
        let w = (width - i0).min(GROUP);
        let mut rows = [_mm512_setzero_ps(); 16];
        for (m, row) in rows.iter_mut().enumerate().take(count) {
            // SAFETY: row `m < count` holds `width` values from `m · stride`; the mask
            // reads only `w` of them from `i0`.
            *row = unsafe { _mm512_maskz_loadu_ps(first_lanes(w), src.add(m * stride + i0)) };
        }
        let cols = transpose16(rows);
        // A loop of constant length with a condition: `take(w)` would make LLVM copy `cols`
        // through the stack with a call to `memcpy`.
        for (i, col) in cols.iter().enumerate() {
            if i < w {
                // SAFETY: `x` holds `width · 16` values and `i0 + i < width`.
                unsafe { _mm512_storeu_ps(x.add((i0 + i) * GROUP), *col) };
            }
        }
        i0 += w;
    }
}

/// # Safety
/// As [`super::scatter_lanes_at`] checks: AVX-512; `dst` writable at `m · stride + o` for
/// `m < count ≤ 16`, `o < width`; `y` readable for `width · 16`.
#[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")]
pub(super) unsafe fn scatter(
    y: *const f32,
    width: usize,
    count: usize,
    stride: usize,
    dst: *mut f32,
) {
    let mut o0 = 0;
    while o0 < width {
        let w = (width - o0).min(GROUP);
        let mut cols = [_mm512_setzero_ps(); 16];
        // Constant length, as in `gather`.
        for (o, col) in cols.iter_mut().enumerate() {
            if o < w {
                // SAFETY: `y` holds `width · 16` values and `o0 + o < width`.
                *col = unsafe { _mm512_loadu_ps(y.add((o0 + o) * GROUP)) };
            }
        }
        let rows = transpose16(cols);
        for (m, row) in rows.iter().enumerate().take(count) {
            // SAFETY: row `m < count` of `dst` holds `width` values from `m · stride`;
            // the mask writes only `w` of them from `o0`.
            unsafe { _mm512_mask_storeu_ps(dst.add(m * stride + o0), first_lanes(w), *row) };
        }
        o0 += w;
    }
}

/// The transpose of an 8 × 8 block held as 8 rows: `out[c]` lane `r` is `rows[r]` lane `c`.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn transpose8(r: [__m256; 8]) -> [__m256; 8] {
    let mut t = [_mm256_setzero_ps(); 8];
    for p in 0..4 {
        t[2 * p] = _mm256_unpacklo_ps(r[2 * p], r[2 * p + 1]);
        t[2 * p + 1] = _mm256_unpackhi_ps(r[2 * p], r[2 * p + 1]);
    }
    let mut u = [_mm256_setzero_ps(); 8];
    for q in 0..2 {
        let (a, b, c, d) = (t[4 * q], t[4 * q + 1], t[4 * q + 2], t[4 * q + 3]);
        u[4 * q] = _mm256_shuffle_ps::<0x44>(a, c);
        u[4 * q + 1] = _mm256_shuffle_ps::<0xEE>(a, c);
        u[4 * q + 2] = _mm256_shuffle_ps::<0x44>(b, d);
        u[4 * q + 3] = _mm256_shuffle_ps::<0xEE>(b, d);
    }
    let mut out = [_mm256_setzero_ps(); 8];
    for c in 0..4 {
        out[c] = _mm256_permute2f128_ps::<0x20>(u[c], u[4 + c]);
        out[4 + c] = _mm256_permute2f128_ps::<0x31>(u[c], u[4 + c]);
    }
    out
}

/// [`super::gather_lanes_at`] with 8 × 8 transposes, one half-group of models at a time.
///
/// # Safety
/// The CPU has AVX2; `src` holds `count ≤ 16` rows of `width` values `stride` apart and `x`
/// holds `width · 16` values (as `gather_lanes_at` checks).
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn gather8(
    src: &[f32],
    stride: usize,
    count: usize,
    width: usize,
    x: &mut [f32],
) {
    for half in 0..2 {
        let rows_here = count.saturating_sub(half * 8).min(8);
        let mut i0 = 0;
        while i0 < width {
            let w = (width - i0).min(8);
            // SAFETY: the mask reads `w` values of row `m < count`, inside `src`.
            let mask = unsafe { _mm256_loadu_si256(first_lanes8(w).as_ptr().cast()) };
            let mut rows = [_mm256_setzero_ps(); 8];
            for (r, row) in rows.iter_mut().enumerate().take(rows_here) {
                let m = half * 8 + r;
                // SAFETY: as above.
                *row = unsafe { _mm256_maskload_ps(src.as_ptr().add(m * stride + i0), mask) };
            }
            let cols = transpose8(rows);
            for (i, col) in cols.iter().enumerate().take(w) {
                // SAFETY: `x` holds `width · 16` values; `i0 + i < width`.
                unsafe { _mm256_storeu_ps(x.as_mut_ptr().add((i0 + i) * GROUP + half * 8), *col) };
            }
            i0 += w;
        }
    }
}

/// [`super::scatter_lanes_at`] with 8 × 8 transposes, one half-group of models at a time.
///
/// # Safety
/// The CPU has AVX2; `y` holds `width · 16` values and `dst` `count ≤ 16` rows of `width`
/// values `stride` apart (as `scatter_lanes_at` checks).
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn scatter8(
    y: &[f32],
    width: usize,
    count: usize,
    stride: usize,
    dst: &mut [f32],
) {
    for half in 0..2 {
        let rows_here = count.saturating_sub(half * 8).min(8);
        let mut o0 = 0;
        while o0 < width {
            let w = (width - o0).min(8);
            let mut cols = [_mm256_setzero_ps(); 8];
            for (o, col) in cols.iter_mut().enumerate().take(w) {
                // SAFETY: `y` holds `width · 16` values; `o0 + o < width`.
                *col = unsafe { _mm256_loadu_ps(y.as_ptr().add((o0 + o) * GROUP + half * 8)) };
            }
            let rows = transpose8(cols);
            // SAFETY: reading the mask array.
            let mask = unsafe { _mm256_loadu_si256(first_lanes8(w).as_ptr().cast()) };
            for (r, row) in rows.iter().enumerate().take(rows_here) {
                let m = half * 8 + r;
                // SAFETY: the mask writes `w` values of row `m < count`, inside `dst`.
                unsafe { _mm256_maskstore_ps(dst.as_mut_ptr().add(m * stride + o0), mask, *row) };
            }
            o0 += w;
        }
    }
}

/// # Safety
/// The CPU has AVX-512; lengths as `interleaved_net_at` checks them.
#[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")]
pub(super) unsafe fn net_avx512(
    net: &InterleavedNet<'_>,
    values: &[f32],
    models: usize,
    k: usize,
    inputs: &[f32],
    outputs: &mut [f32],
    scratch: &mut [f32],
) {
    // Closures written here inherit this function's target features.
    // SAFETY: as the caller promises; each closure gets the lengths `net_body` checked.
    unsafe {
        net_body::<F32x16>(
            net,
            values,
            models,
            k,
            inputs,
            outputs,
            scratch,
            |src, stride, count, width, x| {
                gather(src.as_ptr(), stride, count, width, x.as_mut_ptr())
            },
            |y, width, count, stride, dst| {
                scatter(y.as_ptr(), width, count, stride, dst.as_mut_ptr())
            },
        )
    }
}

/// # Safety
/// The CPU has AVX2 and FMA; lengths as `interleaved_net_at` checks them.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn net_avx2(
    net: &InterleavedNet<'_>,
    values: &[f32],
    models: usize,
    k: usize,
    inputs: &[f32],
    outputs: &mut [f32],
    scratch: &mut [f32],
) {
    // SAFETY: as the caller promises.
    unsafe {
        net_body::<F32x8>(
            net,
            values,
            models,
            k,
            inputs,
            outputs,
            scratch,
            |src, stride, count, width, x| gather8(src, stride, count, width, x),
            |y, width, count, stride, dst| scatter8(y, width, count, stride, dst),
        )
    }
}

/// # Safety
/// The CPU has AVX-512; as `run_group`.
#[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")]
pub(super) unsafe fn avx512(kind: Kind, inputs: usize, op: Operands) {
    // SAFETY: as the caller promises.
    unsafe { run_group::<F32x16>(kind, inputs, op) }
}

/// # Safety
/// The CPU has AVX2 and FMA; as `run_group`.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn avx2(kind: Kind, inputs: usize, op: Operands) {
    // SAFETY: as the caller promises.
    unsafe { run_group::<F32x8>(kind, inputs, op) }
}
