//! The x86 int8 kernels: AVX-512 VNNI (`vpdpbusd`: 64 `u8 × s8` products per instruction into
//! sixteen `i32`) and AVX2 (`vpmaddwd` on values widened to `i16`: sixteen products into eight
//! `i32`, exact, where `vpmaddubsw` would saturate). Both quantise each row of the tile into a
//! scratch buffer first, then run a register-blocked product over weight panels and
//! dequantise in registers; every `f32` step is the reference's, in its order.

use super::{InputQuantization, Int8Weights, RowScale, dequantize, quantize_value};
use crate::gemm::TileProduct;
use std::arch::x86_64::*;
use std::sync::OnceLock;

/// Whether the CPU has AVX-512 VNNI (detected once).
pub(super) fn has_vnni() -> bool {
    static VNNI: OnceLock<bool> = OnceLock::new();
    *VNNI.get_or_init(|| std::is_x86_feature_detected!("avx512vnni"))
}

/// Rows per VNNI block: 12 rows × 2 panels = 24 accumulators.
const VNNI_ROWS: usize = 12;
/// Rows per AVX2 block: 6 rows × 2 panels of 8 = 12 accumulators.
const AVX2_ROWS: usize = 6;

/// The VNNI tile product (see [`super::int8_tile_product`]).
#[allow(clippy::too_many_arguments)]
pub(super) fn vnni_product(
    mem: &mut [f32],
    w: &Int8Weights,
    quads: &[i8],
    bias: &[f32],
    quant: InputQuantization,
    p: TileProduct,
    bytes: &mut Vec<u8>,
    scales: &mut Vec<RowScale>,
) {
    let stride = p.k.div_ceil(4) * 4;
    bytes.resize(p.m * stride, 0);
    scales.clear();
    for r in 0..p.m {
        let x = &mem[r * p.row_stride + p.lhs..][..p.k];
        // SAFETY: `vnni_product` is only reached with weights prepared for VNNI, which
        // `Int8Kernel::for_level` chooses only when the CPU has AVX-512 (F, BW) and VNNI.
        scales.push(unsafe { quantize_row_avx512(x, quant, &mut bytes[r * stride..][..p.k]) });
    }
    // SAFETY: as above for the features; `p` fits `mem` (checked by the caller), `bytes`
    // holds `m` rows of `stride` bytes, `quads` the panels of `w`, `scales` one per row.
    unsafe { vnni_gemm(mem, w, quads, bias, p, bytes, stride, scales) };
}

/// Quantises one row into `out` (`x.len()` bytes) and returns its scale.
///
/// # Safety
/// The CPU has AVX-512 F and BW.
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
unsafe fn quantize_row_avx512(x: &[f32], quant: InputQuantization, out: &mut [u8]) -> RowScale {
    let k = x.len();
    let mask = |i: usize| -> __mmask16 {
        let left = k - i;
        if left >= 16 {
            0xffff
        } else {
            ((1u32 << left) - 1) as u16
        }
    };
    let s = match quant {
        InputQuantization::Dynamic => {
            // Lanes past the row load as 0, which the range contains anyway; `vminps(x, acc)`
            // keeps `acc` when `x` is NaN, as the reference's `min` ignores NaN.
            let (mut lo, mut hi) = (_mm512_setzero_ps(), _mm512_setzero_ps());
            let mut i = 0;
            while i < k {
                // SAFETY: the mask keeps the load inside `x[i..k]`.
                let v = unsafe { _mm512_maskz_loadu_ps(mask(i), x.as_ptr().add(i)) };
                lo = _mm512_min_ps(v, lo);
                hi = _mm512_max_ps(v, hi);
                i += 16;
            }
            RowScale::dynamic(_mm512_reduce_min_ps(lo), _mm512_reduce_max_ps(hi))
        }
        InputQuantization::Static { scale, zero_point } => RowScale::fixed(scale, zero_point),
    };
    let (inverse, zero) = (_mm512_set1_ps(s.inverse), _mm512_set1_epi32(s.zero_point));
    let (low, high) = (_mm512_set1_ps(-256.0), _mm512_set1_ps(256.0));
    let (none, top) = (_mm512_setzero_si512(), _mm512_set1_epi32(255));
    let mut i = 0;
    while i < k {
        let m = mask(i);
        // SAFETY: the mask keeps the load inside `x[i..k]` and the store inside `out[i..k]`.
        unsafe {
            let v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x.as_ptr().add(i)), inverse);
            let v = _mm512_min_ps(_mm512_max_ps(v, low), high);
            let q = _mm512_add_epi32(_mm512_cvtps_epi32(v), zero);
            let q = _mm512_min_epi32(_mm512_max_epi32(q, none), top);
            _mm512_mask_cvtepi32_storeu_epi8(out.as_mut_ptr().add(i).cast(), m, q);
        }
        i += 16;
    }
    s
}

/// Dequantises one block row's 16 accumulators of panel `panel` and stores the first `cols`
/// at `y`.
///
/// # Safety
/// AVX-512 F; `y` has `cols ≤ 16` writable values; the panel is inside `w`'s padded sums and
/// scales; `bias` holds the outputs `16·panel .. 16·panel + cols`.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn finish16(
    acc: __m512i,
    w: &Int8Weights,
    bias: &[f32],
    panel: usize,
    cols: usize,
    s: RowScale,
    y: *mut f32,
) {
    let c0 = panel * 16;
    let m: __mmask16 = if cols >= 16 {
        0xffff
    } else {
        ((1u32 << cols) - 1) as u16
    };
    // SAFETY: the sums and scales are padded to whole panels; the mask keeps the bias load and
    // the store inside their `cols` values.
    unsafe {
        let sums = _mm512_loadu_si512(w.column_sums.as_ptr().add(c0).cast());
        let scale = _mm512_loadu_ps(w.padded_scales.as_ptr().add(c0));
        let b = _mm512_maskz_loadu_ps(m, bias.as_ptr().add(c0));
        let exact = _mm512_sub_epi32(
            acc,
            _mm512_mullo_epi32(_mm512_set1_epi32(s.zero_point), sums),
        );
        let step = _mm512_mul_ps(_mm512_set1_ps(s.scale), scale);
        let y_ = _mm512_add_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(exact), step), b);
        _mm512_mask_storeu_ps(y, m, y_);
    }
}

/// The product over the quantised rows, two panels (32 outputs) at a time.
///
/// # Safety
/// AVX-512 F, BW and VNNI; `p` fits `mem`; `bytes` holds `p.m` rows of `stride` bytes;
/// `quads` holds `ceil(n/16)` panels of `stride · 16` bytes; `scales` one per row.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn vnni_gemm(
    mem: &mut [f32],
    w: &Int8Weights,
    quads: &[i8],
    bias: &[f32],
    p: TileProduct,
    bytes: &[u8],
    stride: usize,
    scales: &[RowScale],
) {
    let panels = p.n.div_ceil(16);
    let panel_bytes = stride * 16;
    let base = mem.as_mut_ptr();
    let mut panel = 0;
    while panel < panels {
        let two = panel + 1 < panels;
        let b = quads[panel * panel_bytes..].as_ptr();
        let mut row = 0;
        while row < p.m {
            let rows = (p.m - row).min(VNNI_ROWS);
            let a = bytes[row * stride..].as_ptr();
            macro_rules! go {
                ($r:literal, $two:literal) => {
                    // SAFETY: rows `row..row + $r` are quantised and inside the tile; the
                    // panels exist (`two` only when a second one does).
                    unsafe {
                        vnni_block::<$r, $two>(
                            a,
                            stride,
                            b,
                            panel_bytes,
                            base,
                            row,
                            w,
                            bias,
                            panel,
                            p,
                            scales,
                        )
                    }
                };
            }
            macro_rules! rows {
                ($two:literal) => {
                    match rows {
                        12 => go!(12, $two),
                        11 => go!(11, $two),
                        10 => go!(10, $two),
                        9 => go!(9, $two),
                        8 => go!(8, $two),
                        7 => go!(7, $two),
                        6 => go!(6, $two),
                        5 => go!(5, $two),
                        4 => go!(4, $two),
                        3 => go!(3, $two),
                        2 => go!(2, $two),
                        _ => go!(1, $two),
                    }
                };
            }
            if two {
                rows!(true)
            } else {
                rows!(false)
            }
            row += rows;
        }
        panel += if two { 2 } else { 1 };
    }
}

/// `R` rows × one or two panels: the sums over every group of four inputs, then the
/// dequantisation into the rows' outputs.
///
/// # Safety
/// As [`vnni_gemm`], for rows `row..row + R` and panels `panel` (and `panel + 1` when `TWO`).
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
#[inline]
unsafe fn vnni_block<const R: usize, const TWO: bool>(
    a: *const u8,
    stride: usize,
    b: *const i8,
    panel_bytes: usize,
    base: *mut f32,
    row: usize,
    w: &Int8Weights,
    bias: &[f32],
    panel: usize,
    p: TileProduct,
    scales: &[RowScale],
) {
    let mut lo = [_mm512_setzero_si512(); R];
    let mut hi = [_mm512_setzero_si512(); R];
    let groups = stride / 4;
    for g in 0..groups {
        // SAFETY: group `g < stride / 4` of each panel and of each row is inside the buffers.
        unsafe {
            let b0 = _mm512_loadu_si512(b.add(g * 64).cast());
            let b1 = if TWO {
                _mm512_loadu_si512(b.add(panel_bytes + g * 64).cast())
            } else {
                _mm512_setzero_si512()
            };
            for r in 0..R {
                let x = _mm512_set1_epi32(a.add(r * stride + g * 4).cast::<i32>().read_unaligned());
                lo[r] = _mm512_dpbusd_epi32(lo[r], x, b0);
                if TWO {
                    hi[r] = _mm512_dpbusd_epi32(hi[r], x, b1);
                }
            }
        }
    }
    let cols = |pn: usize| (p.n - (pn * 16).min(p.n)).min(16);
    for r in 0..R {
        let s = scales[row + r];
        // SAFETY: row `row + r` is inside the tile; its outputs start at `dst`.
        unsafe {
            let y = base.add((row + r) * p.row_stride + p.dst + panel * 16);
            finish16(lo[r], w, bias, panel, cols(panel), s, y);
            if TWO {
                finish16(hi[r], w, bias, panel + 1, cols(panel + 1), s, y.add(16));
            }
        }
    }
}

/// The AVX2 tile product (see [`super::int8_tile_product`]).
#[allow(clippy::too_many_arguments)]
pub(super) fn avx2_product(
    mem: &mut [f32],
    w: &Int8Weights,
    pairs: &[i16],
    bias: &[f32],
    quant: InputQuantization,
    p: TileProduct,
    bytes: &mut Vec<u8>,
    scales: &mut Vec<RowScale>,
) {
    let count = p.k.div_ceil(2);
    // Each row: `count` pairs of `u16`, as bytes.
    let stride = count * 4;
    bytes.resize(p.m * stride, 0);
    scales.clear();
    for r in 0..p.m {
        let x = &mem[r * p.row_stride + p.lhs..][..p.k];
        let out = &mut bytes[r * stride..][..stride];
        // SAFETY: `avx2_product` is only reached with weights prepared for AVX2, which
        // `Int8Kernel::for_level` chooses only when the CPU has AVX2 and FMA.
        scales.push(unsafe { quantize_row_avx2(x, quant, out) });
    }
    // SAFETY: as above for the features; the buffers are as `avx2_gemm` requires.
    unsafe { avx2_gemm(mem, w, pairs, bias, p, bytes, stride, scales) };
}

/// Quantises one row into `out` as `u16` values (little-endian bytes, a zero past the row's
/// end) and returns its scale.
///
/// # Safety
/// The CPU has AVX2.
#[target_feature(enable = "avx2")]
unsafe fn quantize_row_avx2(x: &[f32], quant: InputQuantization, out: &mut [u8]) -> RowScale {
    let k = x.len();
    let full = k / 8 * 8;
    let s = match quant {
        InputQuantization::Dynamic => {
            let (mut lo, mut hi) = (_mm256_setzero_ps(), _mm256_setzero_ps());
            for i in (0..full).step_by(8) {
                // SAFETY: `i + 8 ≤ k`.
                let v = unsafe { _mm256_loadu_ps(x.as_ptr().add(i)) };
                lo = _mm256_min_ps(v, lo);
                hi = _mm256_max_ps(v, hi);
            }
            let (mut l, mut h) = ([0f32; 8], [0f32; 8]);
            // SAFETY: eight values each.
            unsafe {
                _mm256_storeu_ps(l.as_mut_ptr(), lo);
                _mm256_storeu_ps(h.as_mut_ptr(), hi);
            }
            let (lo, hi) = l
                .iter()
                .zip(&h)
                .chain(x[full..].iter().zip(&x[full..]))
                .fold((0f32, 0f32), |(lo, hi), (&a, &b)| (lo.min(a), hi.max(b)));
            RowScale::dynamic(lo, hi)
        }
        InputQuantization::Static { scale, zero_point } => RowScale::fixed(scale, zero_point),
    };
    let (inverse, zero) = (_mm256_set1_ps(s.inverse), _mm256_set1_epi32(s.zero_point));
    let (low, high) = (_mm256_set1_ps(-256.0), _mm256_set1_ps(256.0));
    let (none, top) = (_mm256_setzero_si256(), _mm256_set1_epi32(255));
    for i in (0..full).step_by(8) {
        // SAFETY: `i + 8 ≤ k`; the store writes 16 bytes at `2i`, inside `out` (`2·k` or more).
        unsafe {
            let v = _mm256_mul_ps(_mm256_loadu_ps(x.as_ptr().add(i)), inverse);
            let v = _mm256_min_ps(_mm256_max_ps(v, low), high);
            let q = _mm256_add_epi32(_mm256_cvtps_epi32(v), zero);
            let q = _mm256_min_epi32(_mm256_max_epi32(q, none), top);
            let packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(q, q), 0b1000);
            _mm_storeu_si128(
                out.as_mut_ptr().add(2 * i).cast(),
                _mm256_castsi256_si128(packed),
            );
        }
    }
    for (i, &v) in x.iter().enumerate().skip(full) {
        out[2 * i] = quantize_value(v, s);
        out[2 * i + 1] = 0;
    }
    out[2 * k..].fill(0);
    s
}

/// The AVX2 product, two panels of eight outputs at a time, dequantised per value.
///
/// # Safety
/// AVX2; `p` fits `mem`; `bytes` holds `p.m` rows of `stride` bytes; `pairs` holds
/// `ceil(n/16) · 16 · stride / 4` values; `scales` one per row.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2")]
unsafe fn avx2_gemm(
    mem: &mut [f32],
    w: &Int8Weights,
    pairs: &[i16],
    bias: &[f32],
    p: TileProduct,
    bytes: &[u8],
    stride: usize,
    scales: &[RowScale],
) {
    let count = stride / 4;
    let panel_len = count * 16;
    for pair in 0..p.n.div_ceil(16) {
        let b = pairs[2 * pair * panel_len..].as_ptr();
        let mut row = 0;
        while row < p.m {
            let rows = (p.m - row).min(AVX2_ROWS);
            let a = bytes[row * stride..].as_ptr();
            let mut acc = [[0i32; 16]; AVX2_ROWS];
            // SAFETY: the rows and panels are inside the buffers (see above).
            unsafe {
                match rows {
                    6 => avx2_block::<6>(a, stride, b, panel_len, count, &mut acc),
                    5 => avx2_block::<5>(a, stride, b, panel_len, count, &mut acc),
                    4 => avx2_block::<4>(a, stride, b, panel_len, count, &mut acc),
                    3 => avx2_block::<3>(a, stride, b, panel_len, count, &mut acc),
                    2 => avx2_block::<2>(a, stride, b, panel_len, count, &mut acc),
                    _ => avx2_block::<1>(a, stride, b, panel_len, count, &mut acc),
                }
            }
            let c0 = pair * 16;
            let cols = (p.n - c0).min(16);
            for (r, sums) in acc.iter().enumerate().take(rows) {
                let s = scales[row + r];
                let y = &mut mem[(row + r) * p.row_stride + p.dst + c0..][..cols];
                for (c, out) in y.iter_mut().enumerate() {
                    let j = c0 + c;
                    *out = dequantize(sums[c], w.column_sums[j], s, w.scales[j], bias[j]);
                }
            }
            row += rows;
        }
    }
}

/// `R` rows × 16 outputs (two panels of eight), summed into `acc`.
///
/// # Safety
/// AVX2; `a` holds `R` rows of `stride` bytes, `b` two panels of `panel_len` values.
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn avx2_block<const R: usize>(
    a: *const u8,
    stride: usize,
    b: *const i16,
    panel_len: usize,
    count: usize,
    acc: &mut [[i32; 16]; AVX2_ROWS],
) {
    let mut lo = [_mm256_setzero_si256(); R];
    let mut hi = [_mm256_setzero_si256(); R];
    for g in 0..count {
        // SAFETY: pair `g < count` of each row and of both panels is inside the buffers.
        unsafe {
            let b0 = _mm256_loadu_si256(b.add(g * 16).cast());
            let b1 = _mm256_loadu_si256(b.add(panel_len + g * 16).cast());
            for r in 0..R {
                let x = _mm256_set1_epi32(a.add(r * stride + g * 4).cast::<i32>().read_unaligned());
                lo[r] = _mm256_add_epi32(lo[r], _mm256_madd_epi16(x, b0));
                hi[r] = _mm256_add_epi32(hi[r], _mm256_madd_epi16(x, b1));
            }
        }
    }
    for r in 0..R {
        // SAFETY: each row of `acc` holds 16 values.
        unsafe {
            _mm256_storeu_si256(acc[r].as_mut_ptr().cast(), lo[r]);
            _mm256_storeu_si256(acc[r].as_mut_ptr().add(8).cast(), hi[r]);
        }
    }
}
