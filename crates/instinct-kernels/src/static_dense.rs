//! One dense layer whose sizes are compile-time constants, forward: the static nets' layer
//! (`instinct_cpu::Mlp1/2/3`). Portable code the compiler vectorises, and on x86 the AVX-512
//! path (outputs handed to the next layer in registers when they fit) and the AVX2 path, the
//! activation applied in registers. Weights are `columns[i][o]` (one column of the format's
//! `[out][in]` matrix per input), activations a code of [`STATIC_CODES`]' numbering (0 none)
//! and two parameters.

use crate::activation::Activation;
use crate::fast::{self, Kind};

/// Values per block in the forward pass: one AVX-512 vector.
pub const BLOCK: usize = 16;

/// Every activation in the order of its code in a static net's bytes (code = index + 1; 0 is
/// none): instmodel's twelve in [`Activation::INSTMODEL`]'s order, then instinct's
/// extensions in [`Activation::EXTENSIONS`]' order. Stored in nets that programs
/// `include_bytes!`, so it never changes: a new extension is appended there, and so here. (GPU blobs number the first twelve in instmodel's GPU order,
/// [`Activation::BY_CODE`]; the two differ at codes 4 to 7.)
pub const STATIC_CODES: [Activation; 12 + Activation::EXTENSIONS.len()] = {
    let mut all = [Activation::Relu; 12 + Activation::EXTENSIONS.len()];
    let mut i = 0;
    while i < all.len() {
        all[i] = if i < 12 {
            Activation::INSTMODEL[i]
        } else {
            Activation::EXTENSIONS[i - 12]
        };
        i += 1;
    }
    all
};

/// The static-net code of an optional activation ([`STATIC_CODES`]): 0 for none.
pub fn static_code(activation: Option<Activation>) -> u32 {
    activation.map_or(0, |a| {
        STATIC_CODES
            .iter()
            .position(|b| b.name() == a.name())
            .map_or(0, |i| i as u32 + 1)
    })
}

/// The activation of a static-net code with its parameters; `None` for an unknown code.
#[inline]
pub fn activation_of(code: u32, parameters: [f32; 2]) -> Option<Option<Activation>> {
    match code {
        0 => Some(None),
        c => STATIC_CODES
            .get(c as usize - 1)
            .map(|a| Some(a.with_parameter_values(parameters))),
    }
}

/// The static-net code of SOFTMAX, which needs a layer's outputs all at once.
pub const SOFTMAX: u32 = 3;
const _: () = assert!(matches!(
    STATIC_CODES[SOFTMAX as usize - 1],
    Activation::Softmax
));

/// A layer's activation when it is one of instinct's extensions, which the fused kernels do
/// not have: the layer computes the identity and this runs over its outputs after.
#[inline(always)]
pub fn extension(code: u32, parameters: [f32; 2]) -> Option<Activation> {
    activation_of(code, parameters)
        .flatten()
        .filter(|a| a.kind().is_none())
}

/// Applies a layer's extension activation (if it has one) to its outputs.
#[inline(always)]
pub fn after(code: u32, parameters: [f32; 2], y: &mut [f32]) {
    if let Some(activation) = extension(code, parameters) {
        activation.apply(y);
    }
}

/// The slice-kernel kind of a layer's activation code (an unknown code, possible only through
/// an unchecked cast, acts as none; an extension computes the identity, see [`after`]).
#[inline(always)]
pub fn kind(code: u32) -> Kind {
    activation_of(code, [0.0; 2])
        .and_then(|a| a.map_or(Some(Kind::Identity), Activation::kind))
        .unwrap_or(Kind::Identity)
}

/// Applies the activation with code `code` to a layer's outputs, with the fast kernels inlined.
#[inline(always)]
pub fn activate(code: u32, y: &mut [f32]) {
    fast::activate_inline(kind(code), y);
}

/// [`after`] on the AVX-512 path: outputs with an extension activation go on in memory.
///
/// # Safety
/// The CPU has AVX-512F (only called from code compiled for it).
// Public for instinct-cpu's static nets only: a `Registers` value holds at most 32 values.
#[doc(hidden)]
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub unsafe fn after_wide<const N: usize>(code: u32, parameters: [f32; 2], y: Wide<N>) -> Wide<N> {
    match extension(code, parameters) {
        None => y,
        Some(activation) => {
            // SAFETY: AVX-512F, as the caller promises.
            let mut values = unsafe { y.into_array() };
            activation.apply(&mut values);
            Wide::Memory(values)
        }
    }
}

/// The elementwise activation with code `code` on two registers of outputs (SOFTMAX leaves
/// them unchanged). Always inlined, so that each layer's outputs stay in registers.
///
/// # Safety
/// The CPU has AVX-512 (F, VL, DQ, BW) and FMA: only called from code compiled for them.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn activate_registers(
    code: u32,
    a: std::arch::x86_64::__m512,
    b: std::arch::x86_64::__m512,
) -> (std::arch::x86_64::__m512, std::arch::x86_64::__m512) {
    use std::arch::x86_64::__m512;
    #[inline(always)]
    unsafe fn both<const K: u8>(a: __m512, b: __m512) -> (__m512, __m512) {
        // SAFETY: the caller runs on a CPU with the features `apply_avx512` needs.
        unsafe { (fast::apply_avx512::<K>(a), fast::apply_avx512::<K>(b)) }
    }
    // SAFETY: as the caller promises.
    unsafe { fast::with_kind!(kind(code), both(a, b)) }
}

/// The elementwise activation with code `code` on four AVX2 registers of outputs (SOFTMAX
/// leaves them unchanged). Always inlined, so that the outputs stay in registers.
///
/// # Safety
/// The CPU has AVX2 and FMA: only called from code compiled for them.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn activate_registers_avx2(
    code: u32,
    v: [std::arch::x86_64::__m256; 4],
) -> [std::arch::x86_64::__m256; 4] {
    use std::arch::x86_64::__m256;
    #[inline(always)]
    unsafe fn all<const K: u8>(v: [__m256; 4]) -> [__m256; 4] {
        // SAFETY: the caller runs on a CPU with the features `apply_avx2` needs. (No closure:
        // a closure made here would not have the caller's target features.)
        unsafe {
            [
                fast::apply_avx2::<K>(v[0]),
                fast::apply_avx2::<K>(v[1]),
                fast::apply_avx2::<K>(v[2]),
                fast::apply_avx2::<K>(v[3]),
            ]
        }
    }
    // SAFETY: as the caller promises.
    unsafe { fast::with_kind!(kind(code), all(v)) }
}

/// Inputs from registers up to this many are taken by lane permutations; more are stored and
/// read back as broadcasts (measured: 7 inputs faster by permutation, 32 by memory).
#[cfg(target_arch = "x86_64")]
const PERMUTE_INPUTS: usize = 8;

/// A layer's outputs on the AVX-512 path.
// Public for instinct-cpu's static nets only: a `Registers` value holds at most 32 values.
#[doc(hidden)]
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
pub enum Wide<const N: usize> {
    /// At most 32 values in two registers (the lanes past `N` hold anything).
    Registers([std::arch::x86_64::__m512; 2]),
    /// More, in memory.
    Memory([f32; N]),
}

/// A layer's inputs on the AVX-512 path: the caller's array, or the previous layer's registers.
// Public for instinct-cpu's static nets only: a `Registers` value holds at most 32 values.
#[doc(hidden)]
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
pub enum WideIn<'a, const N: usize> {
    /// At most 32 values in two registers.
    Registers([std::arch::x86_64::__m512; 2]),
    /// The values in memory.
    Memory(&'a [f32; N]),
}

/// Where [`forward_avx512`] reads its inputs.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
enum Source<'a> {
    Registers([std::arch::x86_64::__m512; 2]),
    Memory(&'a [f32]),
}

#[cfg(target_arch = "x86_64")]
impl<const N: usize> Wide<N> {
    /// As the next layer's inputs.
    #[inline(always)]
    pub fn input(&self) -> WideIn<'_, N> {
        match self {
            Wide::Registers(r) => WideIn::Registers(*r),
            Wide::Memory(m) => WideIn::Memory(m),
        }
    }

    /// The values as an array.
    ///
    /// # Safety
    /// The CPU has AVX-512F (only called from code compiled for it).
    #[inline(always)]
    pub unsafe fn into_array(self) -> [f32; N] {
        use std::arch::x86_64::_mm512_storeu_ps;
        match self {
            Wide::Memory(m) => m,
            Wide::Registers(r) => {
                let mut block = [0.0f32; 2 * BLOCK];
                // SAFETY: `block` holds 32 values; AVX-512F as the caller promises.
                unsafe {
                    _mm512_storeu_ps(block.as_mut_ptr(), r[0]);
                    _mm512_storeu_ps(block.as_mut_ptr().add(BLOCK), r[1]);
                }
                let mut y = [0.0f32; N];
                y.copy_from_slice(&block[..N]);
                y
            }
        }
    }
}

/// `W·x + b` then the activation with code `code`.
#[inline(always)]
pub fn forward<const I: usize, const O: usize>(
    columns: &[[f32; O]; I],
    bias: &[f32; O],
    x: &[f32; I],
    code: u32,
) -> [f32; O] {
    let mut y = *bias;
    // Whole blocks of outputs: 16-value accumulators the compiler keeps in vector
    // registers, updated by every input in turn (two accumulators, even and odd inputs, to
    // halve the chain of dependent additions).
    let whole = O / BLOCK * BLOCK;
    for start in (0..whole).step_by(BLOCK) {
        let mut acc = [[0.0f32; BLOCK]; 2];
        acc[0].copy_from_slice(&y[start..start + BLOCK]);
        for (i, (column, xi)) in columns.iter().zip(x).enumerate() {
            let column = &column[start..start + BLOCK];
            let acc = &mut acc[i % 2];
            for l in 0..BLOCK {
                acc[l] += column[l] * xi;
            }
        }
        for l in 0..BLOCK {
            y[start + l] = acc[0][l] + acc[1][l];
        }
    }
    let rest = O - whole;
    if rest >= 4 {
        // A few outputs left: one padded block, as above.
        let mut acc = [[0.0f32; BLOCK]; 2];
        acc[0][..rest].copy_from_slice(&y[whole..]);
        for (i, (column, xi)) in columns.iter().zip(x).enumerate() {
            let mut padded = [0.0f32; BLOCK];
            padded[..rest].copy_from_slice(&column[whole..]);
            let acc = &mut acc[i % 2];
            for l in 0..BLOCK {
                acc[l] += padded[l] * xi;
            }
        }
        for l in 0..rest {
            y[whole + l] = acc[0][l] + acc[1][l];
        }
    } else {
        // One to three outputs: each a dot product with independent partial sums.
        for o in whole..O {
            let mut partial = [0.0f32; 8];
            for (i, (column, xi)) in columns.iter().zip(x).enumerate() {
                partial[i % 8] += column[o] * xi;
            }
            y[o] += ((partial[0] + partial[4]) + (partial[1] + partial[5]))
                + ((partial[2] + partial[6]) + (partial[3] + partial[7]));
        }
    }
    activate(code, &mut y);
    y
}

/// [`forward`] with AVX-512 intrinsics. Outputs in 16-lane blocks whose
/// partial last block is read through lane masks (no scalar tail whatever `O` is), fused
/// multiply-adds over four accumulator sets, the activation in registers, and at most 32
/// outputs handed to the next layer in registers rather than through memory.
///
/// # Safety
/// The CPU has AVX-512 (F, VL, DQ, BW), AVX2 and FMA: call it from code compiled for them.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")]
#[inline]
pub fn forward_avx512<const I: usize, const O: usize>(
    columns: &[[f32; O]; I],
    bias: &[f32; O],
    x: WideIn<'_, I>,
    code: u32,
) -> Wide<O> {
    use std::arch::x86_64::*;
    let lanes = crate::vector::first_lanes;
    // Inputs in registers: up to `PERMUTE_INPUTS` are taken by lane permutations, more are
    // stored once and read back as broadcasts, which fold into the multiply-adds.
    let mut stored = [0.0f32; 2 * BLOCK];
    let source = match x {
        WideIn::Registers(r) if I > PERMUTE_INPUTS => {
            // SAFETY: `stored` holds 32 values; this function is compiled for AVX-512.
            unsafe {
                _mm512_storeu_ps(stored.as_mut_ptr(), r[0]);
                _mm512_storeu_ps(stored.as_mut_ptr().add(BLOCK), r[1]);
            }
            Source::Memory(&stored[..I])
        }
        WideIn::Registers(r) => Source::Registers(r),
        WideIn::Memory(m) => Source::Memory(m),
    };
    // (A closure inherits the function's target features: these intrinsics are safe here.)
    let input = |i: usize| -> __m512 {
        match source {
            Source::Memory(m) => _mm512_set1_ps(m[i]),
            Source::Registers(r) => {
                _mm512_permutexvar_ps(_mm512_set1_epi32((i % BLOCK) as i32), r[i / BLOCK])
            }
        }
    };
    let w = columns.as_ptr().cast::<f32>();
    if O == 1 && I.is_multiple_of(BLOCK) && (I <= 2 * BLOCK || matches!(x, WideIn::Memory(_))) {
        // One output from whole vectors of inputs: a dot product (the weights of one output
        // are contiguous). Partial vectors of inputs from memory go the general way below:
        // a masked load of values just stored would wait for the stores to retire.
        // SAFETY: `I` is a multiple of 16, every load stays below `I`, and inputs in
        // registers (`I ≤ 32`) fill whole registers.
        let v = unsafe {
            let mut acc = [_mm512_setzero_ps(); 2];
            for (j, start) in (0..I).step_by(BLOCK).enumerate() {
                let xv = match x {
                    WideIn::Registers(r) => r[j],
                    WideIn::Memory(m) => _mm512_loadu_ps(m.as_ptr().add(start)),
                };
                let wv = _mm512_loadu_ps(w.add(start));
                acc[j % 2] = _mm512_fmadd_ps(xv, wv, acc[j % 2]);
            }
            let mut sum = [_mm512_reduce_add_ps(_mm512_add_ps(acc[0], acc[1])) + bias[0]];
            if code == SOFTMAX {
                // Over one value: 1, or NaN for a non-finite sum.
                activate(code, &mut sum);
            }
            activate_registers(code, _mm512_set1_ps(sum[0]), _mm512_setzero_ps())
        };
        return Wide::Registers([v.0, v.1]);
    }
    // One step of at most 32 outputs: `(lo, hi)` before the activation.
    let step = |start: usize| -> (__m512, __m512) {
        let m0 = lanes(O - start);
        let m1 = lanes((O - start).saturating_sub(BLOCK));
        // SAFETY: `columns` is `I` rows of `O` values, contiguous (`repr(C)` arrays); every
        // load is masked to lanes `start .. O` of a row or of `bias` (the upper half is only
        // read when it has lanes; its bias address, past `bias` when its mask is empty, is
        // formed with `wrapping_add`).
        unsafe {
            let m = |half: usize| if half == 0 { m0 } else { m1 };
            crate::vector::accumulate_dense(
                I,
                O - start > BLOCK,
                (
                    _mm512_maskz_loadu_ps(m0, bias.as_ptr().add(start)),
                    _mm512_maskz_loadu_ps(m1, bias.as_ptr().wrapping_add(start + BLOCK)),
                ),
                input,
                |i, half| _mm512_maskz_loadu_ps(m(half), w.add(i * O + start + half)),
            )
        }
    };
    if O <= 2 * BLOCK {
        let (lo, hi) = step(0);
        // SAFETY: this function is compiled for AVX-512; `block` holds 32 values.
        let (lo, hi) = unsafe {
            if code == SOFTMAX {
                let mut block = [0.0f32; 2 * BLOCK];
                _mm512_storeu_ps(block.as_mut_ptr(), lo);
                _mm512_storeu_ps(block.as_mut_ptr().add(BLOCK), hi);
                activate(code, &mut block[..O]);
                (
                    _mm512_loadu_ps(block.as_ptr()),
                    _mm512_loadu_ps(block.as_ptr().add(BLOCK)),
                )
            } else {
                activate_registers(code, lo, hi)
            }
        };
        return Wide::Registers([lo, hi]);
    }
    let mut y = [0.0f32; O];
    for start in (0..O).step_by(2 * BLOCK) {
        let (lo, hi) = step(start);
        // SAFETY: this function is compiled for AVX-512; `block` holds 32 values. Whole
        // stores into a local block, then a copy: a masked store into `y` would stall the
        // next layer's reads of single values (no store forwarding from masked stores).
        unsafe {
            let (lo, hi) = activate_registers(code, lo, hi);
            let mut block = [0.0f32; 2 * BLOCK];
            _mm512_storeu_ps(block.as_mut_ptr(), lo);
            _mm512_storeu_ps(block.as_mut_ptr().add(BLOCK), hi);
            let n = (O - start).min(2 * BLOCK);
            y[start..start + n].copy_from_slice(&block[..n]);
        }
    }
    if code == SOFTMAX {
        activate(code, &mut y);
    }
    Wide::Memory(y)
}

/// [`forward`] with AVX2 intrinsics: outputs in steps of 32 (four 8-lane
/// registers, the partial last block's weights and bias read through lane masks), fused
/// multiply-adds over two accumulator sets, the activation in registers, and whole stores
/// (a masked store would stall the next layer's reads of single values).
///
/// # Safety
/// The CPU has AVX2 and FMA: call it from code compiled for them.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
pub fn forward_avx2<const I: usize, const O: usize>(
    columns: &[[f32; O]; I],
    bias: &[f32; O],
    x: &[f32; I],
    code: u32,
) -> [f32; O] {
    use std::arch::x86_64::*;
    const LANES: usize = 8;
    let w = columns.as_ptr().cast::<f32>();
    let mut y = [0.0f32; O];
    for start in (0..O).step_by(4 * LANES) {
        let n = (O - start).min(4 * LANES);
        // SAFETY: each mask is 8 values; the masked loads read
        // only lanes `start .. O` of a weight row (`columns` is `I` rows of `O` contiguous
        // values) or of `bias` (addresses of empty masks are formed with `wrapping_add`
        // and not accessed); `block` holds 32 values.
        unsafe {
            let mask = |b: usize| {
                let lanes = crate::vector::first_lanes8(n.saturating_sub(b * LANES));
                _mm256_loadu_si256(lanes.as_ptr().cast())
            };
            let masks = [mask(0), mask(1), mask(2), mask(3)];
            let blocks = n.div_ceil(LANES);
            let mut acc = [[_mm256_setzero_ps(); 4]; 2];
            for (b, m) in masks.iter().enumerate().take(blocks) {
                let at = bias.as_ptr().wrapping_add(start + b * LANES);
                acc[0][b] = _mm256_maskload_ps(at, *m);
            }
            let step = |acc: &mut [__m256; 4], i: usize| {
                let xi = _mm256_set1_ps(x[i]);
                for (b, m) in masks.iter().enumerate().take(blocks) {
                    let at = w.wrapping_add(i * O + start + b * LANES);
                    acc[b] = _mm256_fmadd_ps(_mm256_maskload_ps(at, *m), xi, acc[b]);
                }
            };
            let mut i = 0;
            while i + 2 <= I {
                step(&mut acc[0], i);
                step(&mut acc[1], i + 1);
                i += 2;
            }
            if i < I {
                step(&mut acc[0], i);
            }
            let sums = [0, 1, 2, 3].map(|b| _mm256_add_ps(acc[0][b], acc[1][b]));
            let out = activate_registers_avx2(code, sums);
            let mut block = [0.0f32; 4 * LANES];
            for (b, r) in out.iter().enumerate() {
                _mm256_storeu_ps(block.as_mut_ptr().add(b * LANES), *r);
            }
            y[start..start + n].copy_from_slice(&block[..n]);
        }
    }
    if code == SOFTMAX {
        activate(code, &mut y);
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_codes_are_those_stored_in_static_nets() {
        // The numbering nets written since static nets exist carry: instmodel's twelve in the
        // format's order, then the extensions. Whatever `STATIC_CODES` is written as, these
        // stay (a net's bytes are `include_bytes!`-ed by programs we never see).
        let pinned = [
            ("RELU", 1),
            ("SIGMOID", 2),
            ("SOFTMAX", 3),
            ("SQRT", 4),
            ("LOG", 5),
            ("LOG10", 6),
            ("TANH", 7),
            ("INVERSE", 8),
            ("GELU", 9),
            ("SOFTPLUS", 10),
            ("EXP", 11),
            ("SIGN", 12),
            ("LEAKY_RELU", 13),
            ("ELU", 14),
            ("SELU", 15),
            ("HARD_SIGMOID", 16),
            ("LOG_SOFTMAX", 17),
            ("ABS", 18),
            ("NEG", 19),
            ("LN", 20),
            ("ERF", 21),
        ];
        assert_eq!(pinned.len(), STATIC_CODES.len());
        for (name, code) in pinned {
            let a = activation_of(code, [0.5, 0.25]).unwrap().unwrap();
            assert_eq!(a.name(), name);
            assert_eq!(static_code(Some(a)), code);
        }
        assert_eq!(static_code(None), 0);
        assert_eq!(activation_of(0, [0.0; 2]), Some(None));
        assert_eq!(activation_of(22, [0.0; 2]), None);
        assert_eq!(kind(7), Kind::Tanh);
    }
}
