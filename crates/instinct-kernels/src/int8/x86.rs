//! The x86 int8 kernels: AVX-512 VNNI (`vpdpbusd`: 64 `u8 × s8` products per instruction into
//! sixteen `i32`) and AVX2 (`vpmaddwd` on values widened to `i16`: sixteen products into eight
//! `i32`, exact, where `vpmaddubsw` would saturate). Both quantise each row into a scratch
//! buffer first, then run a register-blocked product over weight panels; VNNI dequantises,
//! adds the bias and applies the activation in registers. Every `f32` step is the
//! reference's, in its order.

use crate::fast::{Kind, activate_at, apply};
use crate::gemm::RowSpan;
use crate::int8::scheme::{InputQuantization, RowScale, dequantize, quantize_value};
use crate::int8::weights::Int8Layer;
use crate::vector::{F32x8, F32x16};
use std::arch::x86_64::*;

/// Rows per VNNI block: 12 rows × 2 panels = 24 accumulators.
const VNNI_ROWS: usize = 12;
/// Rows per AVX2 block: 6 rows × 2 panels of 8 = 12 accumulators.
const AVX2_ROWS: usize = 6;

/// Quantises `rows` rows of `k` values at `from` into `bytes` (rows of `k` rounded up to 4
/// bytes; the padding is never read against a non-zero weight) and their scales.
pub(super) fn quantize_rows_vnni(
    quant: InputQuantization,
    rows: usize,
    k: usize,
    input: &[f32],
    from: RowSpan,
    bytes: &mut Vec<u8>,
    scales: &mut Vec<RowScale>,
) {
    let stride = k.div_ceil(4) * 4;
    bytes.resize(rows * stride, 0);
    for r in 0..rows {
        let x = &input[from.offset + r * from.stride..][..k];
        // SAFETY: VNNI weights are only prepared (`Int8Kernel::for_level`) when the CPU has
        // AVX-512 F, BW and VNNI.
        scales.push(unsafe { quantize_row_avx512(x, quant, &mut bytes[r * stride..][..k]) });
    }
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
            // Two accumulators of each, so consecutive blocks do not wait on one another.
            let zero = _mm512_setzero_ps();
            let (mut lo, mut hi, mut lo2, mut hi2) = (zero, zero, zero, zero);
            let mut i = 0;
            while i + 32 <= k {
                // SAFETY: `i + 32 ≤ k`: both loads are inside `x`.
                let (v, w) = unsafe {
                    (
                        _mm512_loadu_ps(x.as_ptr().add(i)),
                        _mm512_loadu_ps(x.as_ptr().add(i + 16)),
                    )
                };
                lo = _mm512_min_ps(v, lo);
                hi = _mm512_max_ps(v, hi);
                lo2 = _mm512_min_ps(w, lo2);
                hi2 = _mm512_max_ps(w, hi2);
                i += 32;
            }
            while i < k {
                // SAFETY: the mask keeps the load inside `x[i..k]`.
                let v = unsafe { _mm512_maskz_loadu_ps(mask(i), x.as_ptr().add(i)) };
                lo = _mm512_min_ps(v, lo);
                hi = _mm512_max_ps(v, hi);
                i += 16;
            }
            // Neither accumulator holds a NaN (a NaN load keeps the accumulator), so the order
            // of these combinations cannot change the result.
            lo = _mm512_min_ps(lo, lo2);
            hi = _mm512_max_ps(hi, hi2);
            RowScale::dynamic(_mm512_reduce_min_ps(lo), _mm512_reduce_max_ps(hi))
        }
        InputQuantization::Static { scale, zero_point } => RowScale::fixed(scale, zero_point),
    };
    let quantize = |v: __m512| quantize16(v, s);
    // Whole blocks of 16 narrow in a register and store 16 bytes at once (a narrowing store
    // to memory is slow on some cores); the tail is masked.
    let mut i = 0;
    while i + 16 <= k {
        // SAFETY: `i + 16 ≤ k`: the load and the 16-byte store are inside `x` and `out`.
        unsafe {
            let q = quantize(_mm512_loadu_ps(x.as_ptr().add(i)));
            _mm_storeu_si128(out.as_mut_ptr().add(i).cast(), _mm512_cvtepi32_epi8(q));
        }
        i += 16;
    }
    if i < k {
        let m = mask(i);
        // SAFETY: the mask keeps the load inside `x[i..k]` and the store inside `out[i..k]`.
        unsafe {
            let q = quantize(_mm512_maskz_loadu_ps(m, x.as_ptr().add(i)));
            _mm512_mask_cvtepi32_storeu_epi8(out.as_mut_ptr().add(i).cast(), m, q);
        }
    }
    s
}

/// The VNNI product of the quantised rows with the panels into `output` at `to`, two panels
/// (32 outputs) at a time. The common activations (ReLU, sigmoid, tanh) are applied in
/// registers; the others by the slice kernel after, row by row (the same function on each
/// lane, so the same values).
pub(super) fn vnni_gemm(
    layer: Int8Layer<'_>,
    quads: &[i8],
    rows: usize,
    bytes: &[u8],
    scales: &[RowScale],
    output: &mut [f32],
    to: RowSpan,
) {
    let args = (layer, quads, rows, bytes, scales);
    let out = Out {
        at: output.as_mut_ptr().wrapping_add(to.offset).cast(),
        stride: to.stride * 4,
        next: RowScale::fixed(1.0, 0),
    };
    if !vnni_fuses(layer.kind) {
        // SAFETY: as below, with the identity in registers.
        unsafe { vnni_gemm_kind::<{ Kind::Identity as u8 }, false>(args, out) };
        let w = layer.weights;
        for r in 0..rows {
            let y = &mut output[to.offset + r * to.stride..][..w.n];
            activate_at(w.level, layer.kind, y, None);
        }
        return;
    }
    // SAFETY: the caller checked that every row of `output` at `to` holds `n` values.
    unsafe { vnni_gemm_fused::<false>(args, out) }
}

/// The activations [`vnni_block`] applies in registers; the others go through the slice
/// kernel afterwards (the same function on each lane, so the same values).
pub(super) fn vnni_fuses(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Relu | Kind::Sigmoid | Kind::Tanh | Kind::Identity
    )
}

/// [`vnni_gemm`] quantising its outputs in registers for a next layer whose inputs have the
/// fixed scale `next`, into `out` (rows of `out_stride` bytes) instead of storing them as
/// `f32`: the bytes the next layer's [`quantize_rows_vnni`] would make of them, without the
/// pass over the values. The layer's activation is one [`vnni_fuses`].
pub(super) fn vnni_gemm_requantized(
    layer: Int8Layer<'_>,
    quads: &[i8],
    rows: usize,
    (bytes, scales): (&[u8], &[RowScale]),
    out: &mut [u8],
    out_stride: usize,
    next: RowScale,
) {
    assert!(vnni_fuses(layer.kind) && out_stride >= layer.weights.n);
    assert!(rows == 0 || out.len() >= (rows - 1) * out_stride + layer.weights.n);
    let args = (layer, quads, rows, bytes, scales);
    let out = Out {
        at: out.as_mut_ptr(),
        stride: out_stride,
        next,
    };
    // SAFETY: checked above: every row of `out` holds the layer's `n` bytes.
    unsafe { vnni_gemm_fused::<true>(args, out) }
}

/// [`vnni_gemm_kind`] with the layer's activation, which [`vnni_fuses`].
///
/// # Safety
/// As [`vnni_gemm_kind`].
unsafe fn vnni_gemm_fused<const Q: bool>(args: VnniArgs<'_>, out: Out) {
    const RELU: u8 = Kind::Relu as u8;
    const SIGMOID: u8 = Kind::Sigmoid as u8;
    const TANH: u8 = Kind::Tanh as u8;
    const IDENTITY: u8 = Kind::Identity as u8;
    // SAFETY: as the caller promises.
    unsafe {
        match args.0.kind {
            Kind::Relu => vnni_gemm_kind::<RELU, Q>(args, out),
            Kind::Sigmoid => vnni_gemm_kind::<SIGMOID, Q>(args, out),
            Kind::Tanh => vnni_gemm_kind::<TANH, Q>(args, out),
            _ => vnni_gemm_kind::<IDENTITY, Q>(args, out),
        }
    }
}

/// The quantised rows, their scales and the weights, as [`vnni_gemm_kind`] takes them.
type VnniArgs<'a> = (Int8Layer<'a>, &'a [i8], usize, &'a [u8], &'a [RowScale]);

/// Where a layer's results go: row 0's first output at `at`, rows `stride` bytes apart;
/// `f32` values, or (`Q`) bytes quantised with `next`.
#[derive(Clone, Copy)]
struct Out {
    at: *mut u8,
    stride: usize,
    next: RowScale,
}

/// [`vnni_gemm`] with activation code `K` applied in registers, the results stored as `f32`
/// or (`Q`) quantised bytes.
///
/// # Safety
/// Each of the `rows` rows at `out` holds the layer's `n` results (`f32` or bytes).
unsafe fn vnni_gemm_kind<const K: u8, const Q: bool>(
    (layer, quads, rows, bytes, scales): VnniArgs<'_>,
    out: Out,
) {
    let w = layer.weights;
    let stride = w.k.div_ceil(4) * 4;
    let panels = w.n.div_ceil(16);
    let panel_bytes = stride * 16;
    let size = if Q { 1 } else { 4 };
    let mut panel = 0;
    while panel < panels {
        let two = panel + 1 < panels;
        let b = quads[panel * panel_bytes..].as_ptr();
        let mut row = 0;
        while row < rows {
            let count = (rows - row).min(VNNI_ROWS);
            let block = Block {
                a: bytes[row * stride..].as_ptr(),
                stride,
                b,
                panel_bytes,
                out: Out {
                    at: out.at.wrapping_add(row * out.stride + panel * 16 * size),
                    ..out
                },
                panel,
                scales: &scales[row..row + count],
            };
            macro_rules! go {
                (wide, $two:literal, $r:literal) => {
                    // SAFETY: the caller checked that every row at `out` holds `n` results;
                    // rows `row..row + count` are quantised in `bytes`; the panels exist
                    // (`two` only when a second one does); the CPU has VNNI (the weights were
                    // prepared for it).
                    unsafe { vnni_block::<$r, $two, K, Q>(&block, layer) }
                };
                (narrow, $two:literal, $r:literal) => {
                    // SAFETY: as above, for a last panel of at most 8 outputs.
                    unsafe { vnni_block8::<$r, K, Q>(&block, layer) }
                };
            }
            macro_rules! rows {
                ($width:ident, $two:literal) => {
                    match count {
                        12 => go!($width, $two, 12),
                        11 => go!($width, $two, 11),
                        10 => go!($width, $two, 10),
                        9 => go!($width, $two, 9),
                        8 => go!($width, $two, 8),
                        7 => go!($width, $two, 7),
                        6 => go!($width, $two, 6),
                        5 => go!($width, $two, 5),
                        4 => go!($width, $two, 4),
                        3 => go!($width, $two, 3),
                        2 => go!($width, $two, 2),
                        _ => go!($width, $two, 1),
                    }
                };
            }
            // A last panel of at most 8 outputs (200 = 12·16 + 8) runs in 256-bit registers:
            // half the work of a 512-bit one, the same sums.
            if two {
                rows!(wide, true)
            } else if w.n - panel * 16 <= 8 {
                rows!(narrow, false)
            } else {
                rows!(wide, false)
            }
            row += count;
        }
        panel += if two { 2 } else { 1 };
    }
}

/// Where one block of rows and panels reads and writes.
struct Block<'s> {
    /// Row 0 of the block's quantised rows.
    a: *const u8,
    /// Bytes per quantised row.
    stride: usize,
    /// The first panel.
    b: *const i8,
    /// Bytes per panel.
    panel_bytes: usize,
    /// Row 0's first result of the panel, and where the rows' results go.
    out: Out,
    /// The first panel's index.
    panel: usize,
    /// The block's rows' scales.
    scales: &'s [RowScale],
}

/// `R` rows × one or two panels: the sums over every group of four inputs, then the
/// dequantisation, bias and activation into the rows' outputs.
///
/// # Safety
/// AVX-512 F, BW and VNNI; the block's pointers cover `R` rows and the panels (`panel + 1`
/// too when `TWO`), and each output row holds the panels' outputs up to `n`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma")]
#[inline]
unsafe fn vnni_block<const R: usize, const TWO: bool, const K: u8, const Q: bool>(
    block: &Block<'_>,
    layer: Int8Layer<'_>,
) {
    let mut lo = [_mm512_setzero_si512(); R];
    let mut hi = [_mm512_setzero_si512(); R];
    let (a, b, stride) = (block.a, block.b, block.stride);
    for g in 0..stride / 4 {
        // SAFETY: group `g < stride / 4` of each panel and of each row is inside the buffers.
        unsafe {
            let b0 = _mm512_loadu_si512(b.add(g * 64).cast());
            let b1 = if TWO {
                _mm512_loadu_si512(b.add(block.panel_bytes + g * 64).cast())
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
    let n = layer.weights.n;
    let cols = |panel: usize| (n - (panel * 16).min(n)).min(16);
    for r in 0..R {
        let s = block.scales[r];
        // SAFETY: row `r`'s results start at `out.at + r · out.stride` and hold the panels'
        // columns.
        unsafe {
            let y = block.out.at.add(r * block.out.stride);
            let next = block.out.next;
            finish16::<K, Q>(lo[r], layer, block.panel, cols(block.panel), s, y, next);
            if TWO {
                let y = y.add(if Q { 16 } else { 64 });
                let panel = block.panel + 1;
                finish16::<K, Q>(hi[r], layer, panel, cols(panel), s, y, next);
            }
        }
    }
}

/// [`vnni_block`] for a last panel of at most 8 outputs, in 256-bit registers: the panel's
/// first 32 bytes of each group are those outputs' weights.
///
/// # Safety
/// As [`vnni_block`] without `TWO`; the panel has at most 8 outputs.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma")]
#[inline]
unsafe fn vnni_block8<const R: usize, const K: u8, const Q: bool>(
    block: &Block<'_>,
    layer: Int8Layer<'_>,
) {
    let mut acc = [_mm256_setzero_si256(); R];
    let (a, b, stride) = (block.a, block.b, block.stride);
    for g in 0..stride / 4 {
        // SAFETY: group `g < stride / 4` of the panel and of each row is inside the buffers.
        unsafe {
            let b0 = _mm256_loadu_si256(b.add(g * 64).cast());
            for (r, sums) in acc.iter_mut().enumerate() {
                let x = _mm256_set1_epi32(a.add(r * stride + g * 4).cast::<i32>().read_unaligned());
                *sums = _mm256_dpbusd_epi32(*sums, x, b0);
            }
        }
    }
    let cols = layer.weights.n - block.panel * 16;
    for (r, &sums) in acc.iter().enumerate() {
        // SAFETY: row `r`'s results start at `out.at + r · out.stride` and hold the panel's
        // `cols` columns.
        unsafe {
            let y = block.out.at.add(r * block.out.stride);
            finish8::<K, Q>(
                sums,
                layer,
                block.panel,
                cols,
                block.scales[r],
                y,
                block.out.next,
            );
        }
    }
}

/// [`finish16`] for the first `cols ≤ 8` outputs of panel `panel`, in 256-bit registers.
///
/// # Safety
/// As [`finish16`], with `cols ≤ 8`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
#[inline]
unsafe fn finish8<const K: u8, const Q: bool>(
    acc: __m256i,
    layer: Int8Layer<'_>,
    panel: usize,
    cols: usize,
    s: RowScale,
    y: *mut u8,
    next: RowScale,
) {
    let (w, c0) = (layer.weights, panel * 16);
    let m = ((1u32 << cols) - 1) as __mmask8;
    // SAFETY: the sums and scales are padded to whole panels of 16; the mask keeps the bias
    // load and the store inside their `cols` values.
    unsafe {
        let sums = _mm256_loadu_si256(w.column_sums.as_ptr().add(c0).cast());
        let scale = _mm256_loadu_ps(w.padded_scales.as_ptr().add(c0));
        let bias = _mm256_maskz_loadu_ps(m, layer.bias.as_ptr().add(c0));
        let zero = _mm256_set1_epi32(s.zero_point);
        let exact = _mm256_sub_epi32(acc, _mm256_mullo_epi32(zero, sums));
        let step = _mm256_mul_ps(_mm256_set1_ps(s.scale), scale);
        let v = _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(exact), step), bias);
        let v = apply::<K, F32x8>(F32x8(v)).0;
        if Q {
            _mm256_mask_cvtepi32_storeu_epi8(y.cast(), m, quantize8(v, next));
        } else {
            _mm256_mask_storeu_ps(y.cast(), m, v);
        }
    }
}

/// [`quantize16`] on eight values.
#[target_feature(enable = "avx512f,avx512vl,avx2")]
#[inline]
fn quantize8(v: __m256, s: RowScale) -> __m256i {
    let (low, high) = (_mm256_set1_ps(-256.0), _mm256_set1_ps(256.0));
    let v = _mm256_min_ps(
        _mm256_max_ps(_mm256_mul_ps(v, _mm256_set1_ps(s.inverse)), low),
        high,
    );
    let q = _mm256_add_epi32(_mm256_cvtps_epi32(v), _mm256_set1_epi32(s.zero_point));
    _mm256_min_epi32(
        _mm256_max_epi32(q, _mm256_setzero_si256()),
        _mm256_set1_epi32(255),
    )
}

/// Dequantises one row's 16 sums of panel `panel`, adds the bias, applies the activation
/// and stores the first `cols` at `y`: as `f32`, or (`Q`) quantised with `next` into bytes,
/// the bytes [`quantize_row_avx512`] makes of the values.
///
/// # Safety
/// AVX-512 (F, VL, DQ, BW) and FMA; `y` has `cols ≤ 16` writable results; the panel is
/// inside the weights' padded sums and scales; the bias holds the outputs `16·panel .. +cols`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
#[inline]
unsafe fn finish16<const K: u8, const Q: bool>(
    acc: __m512i,
    layer: Int8Layer<'_>,
    panel: usize,
    cols: usize,
    s: RowScale,
    y: *mut u8,
    next: RowScale,
) {
    let (w, c0) = (layer.weights, panel * 16);
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
        let bias = _mm512_maskz_loadu_ps(m, layer.bias.as_ptr().add(c0));
        let zero = _mm512_set1_epi32(s.zero_point);
        let exact = _mm512_sub_epi32(acc, _mm512_mullo_epi32(zero, sums));
        let step = _mm512_mul_ps(_mm512_set1_ps(s.scale), scale);
        let v = _mm512_add_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(exact), step), bias);
        let v = apply::<K, F32x16>(F32x16(v)).0;
        if Q {
            _mm512_mask_cvtepi32_storeu_epi8(y.cast(), m, quantize16(v, next));
        } else {
            _mm512_mask_storeu_ps(y.cast(), m, v);
        }
    }
}

/// Sixteen values quantised with `s` (as `i32` in `0..=255`): [`quantize_value`] on each lane.
#[target_feature(enable = "avx512f")]
#[inline]
fn quantize16(v: __m512, s: RowScale) -> __m512i {
    let (low, high) = (_mm512_set1_ps(-256.0), _mm512_set1_ps(256.0));
    let v = _mm512_min_ps(
        _mm512_max_ps(_mm512_mul_ps(v, _mm512_set1_ps(s.inverse)), low),
        high,
    );
    let q = _mm512_add_epi32(_mm512_cvtps_epi32(v), _mm512_set1_epi32(s.zero_point));
    _mm512_min_epi32(
        _mm512_max_epi32(q, _mm512_setzero_si512()),
        _mm512_set1_epi32(255),
    )
}

/// Quantises `rows` rows for the AVX2 kernel: each row as `u16` values in little-endian
/// bytes, `k` rounded up to pairs (a zero after an odd row).
pub(super) fn quantize_rows_avx2(
    quant: InputQuantization,
    rows: usize,
    k: usize,
    input: &[f32],
    from: RowSpan,
    bytes: &mut Vec<u8>,
    scales: &mut Vec<RowScale>,
) {
    let stride = k.div_ceil(2) * 4;
    bytes.resize(rows * stride, 0);
    for r in 0..rows {
        let x = &input[from.offset + r * from.stride..][..k];
        let out = &mut bytes[r * stride..][..stride];
        // SAFETY: AVX2 weights are only prepared (`Int8Kernel::for_level`) when the CPU has
        // AVX2 and FMA.
        scales.push(unsafe { quantize_row_avx2(x, quant, out) });
    }
}

/// Quantises one row into `out` as `u16` values (little-endian bytes, zeros past the row's
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

/// The AVX2 product, two panels of eight outputs at a time, dequantised per value; then the
/// activation per row with the weights' level.
pub(super) fn avx2_gemm(
    layer: Int8Layer<'_>,
    pairs: &[i16],
    rows: usize,
    bytes: &[u8],
    scales: &[RowScale],
    output: &mut [f32],
    to: RowSpan,
) {
    let w = layer.weights;
    let count = w.k.div_ceil(2);
    let stride = count * 4;
    let panel_len = count * 16;
    for pair in 0..w.n.div_ceil(16) {
        let b = pairs[2 * pair * panel_len..].as_ptr();
        let mut row = 0;
        while row < rows {
            let block = (rows - row).min(AVX2_ROWS);
            let a = bytes[row * stride..].as_ptr();
            let mut acc = [[0i32; 16]; AVX2_ROWS];
            // SAFETY: the rows are quantised in `bytes` and both panels of the pair exist (the
            // weights are padded to 16 outputs); the CPU has AVX2 (the weights were prepared
            // for it).
            unsafe {
                match block {
                    6 => avx2_block::<6>(a, stride, b, panel_len, count, &mut acc),
                    5 => avx2_block::<5>(a, stride, b, panel_len, count, &mut acc),
                    4 => avx2_block::<4>(a, stride, b, panel_len, count, &mut acc),
                    3 => avx2_block::<3>(a, stride, b, panel_len, count, &mut acc),
                    2 => avx2_block::<2>(a, stride, b, panel_len, count, &mut acc),
                    _ => avx2_block::<1>(a, stride, b, panel_len, count, &mut acc),
                }
            }
            let c0 = pair * 16;
            let cols = (w.n - c0).min(16);
            for (r, sums) in acc.iter().enumerate().take(block) {
                let s = scales[row + r];
                let y = &mut output[to.offset + (row + r) * to.stride + c0..][..cols];
                for (c, out) in y.iter_mut().enumerate() {
                    let j = c0 + c;
                    *out = dequantize(sums[c], w.column_sums[j], s, w.scales[j], layer.bias[j]);
                }
            }
            row += block;
        }
    }
    for r in 0..rows {
        let y = &mut output[to.offset + r * to.stride..][..w.n];
        activate_at(w.level, layer.kind, y, None);
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
