//! Fast `exp`, `sigmoid`, `tanh`, `softplus`, `ln(1 + x)`, `log10(1 + x)`, GELU and ELU/SELU, written once
//! over [`Vector`] (plain `f32`, eight AVX2 or sixteen AVX-512 lanes), and the activation kernels over
//! slices (optionally with a bias added first) for every [`Level`].
//!
//! The functions are branch-free polynomial evaluations (Cephes' `expf`, `tanhf` and `logf`
//! coefficients, a rational `erf`, Numerical Recipes' `erfc`). At the scalar level the slice
//! kernels run them on `f32` over fixed 16-value blocks, which the compiler vectorises; at AVX2
//! and AVX-512 they run on registers (8 and 16 lanes), with fused multiply-adds. Their error against the exact function rounded
//! to f32, over dense sweeps of f32 inputs, on every level (the tests hold each bound and
//! `cargo test -p instinct-kernels fast -- --nocapture` prints the measured worst cases): `exp`
//! 1 ulp, `sigmoid` 2, `tanh` 1, `softplus` 2, LOG 1, LOG10 3, GELU 4 on [-1, 10] (below -1
//! the function itself is ill-conditioned in `x`; see the test).

use crate::simd::Level;
#[cfg(target_arch = "x86_64")]
use crate::vector::Lanes;
use crate::vector::Vector;

/// The elementwise activations and softmax, as the slice kernels know them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// `max(x, 0)`.
    Relu,
    /// `1 / (1 + e^-x)` with the fast [`exp`].
    Sigmoid,
    /// Fast [`tanh`].
    Tanh,
    /// `e^clamp(x, -88, 88)` with the fast [`exp`].
    Exp,
    /// `1 - x`.
    Inverse,
    /// -1, +1 or `x`.
    Sign,
    /// `√x` for `x > 0`, else 0.
    Sqrt,
    /// `ln(x + 1)` for `x > 0`, else 0 ([`log1p_positive`]).
    Log,
    /// `log10(x + 1)` for `x > 0`, else 0 ([`log10_1p_positive`]).
    Log10,
    /// GELU ([`gelu`]).
    Gelu,
    /// Softplus with TensorFlow's thresholds, with the fast [`exp`] and logarithm.
    Softplus,
    /// Softmax over the whole slice, with the fast [`exp`].
    Softmax,
    /// No activation (only the bias, if any).
    Identity,
}

impl Kind {
    /// Every kind, in declaration order.
    pub const ALL: [Kind; 13] = [
        Kind::Relu,
        Kind::Sigmoid,
        Kind::Tanh,
        Kind::Exp,
        Kind::Inverse,
        Kind::Sign,
        Kind::Sqrt,
        Kind::Log,
        Kind::Log10,
        Kind::Gelu,
        Kind::Softplus,
        Kind::Softmax,
        Kind::Identity,
    ];
}

mod math;

pub use math::{exp, gelu, log1p_positive, log10_1p_positive, sigmoid, softplus, tanh};
use math::{exponential_linear, k, sign, sqrt_positive};

/// Codes of the [`Kind`]s, for const generic parameters.
mod code {
    use super::Kind;
    pub const RELU: u8 = Kind::Relu as u8;
    pub const SIGMOID: u8 = Kind::Sigmoid as u8;
    pub const TANH: u8 = Kind::Tanh as u8;
    pub const EXP: u8 = Kind::Exp as u8;
    pub const INVERSE: u8 = Kind::Inverse as u8;
    pub const SIGN: u8 = Kind::Sign as u8;
    pub const SQRT: u8 = Kind::Sqrt as u8;
    pub const LOG: u8 = Kind::Log as u8;
    pub const LOG10: u8 = Kind::Log10 as u8;
    pub const GELU: u8 = Kind::Gelu as u8;
    pub const SOFTPLUS: u8 = Kind::Softplus as u8;
}

/// The elementwise activation with code `K` (a [`Kind`] as `u8`) on one value or vector; the
/// identity for `Identity` and `Softmax` (which needs a whole slice).
#[inline(always)]
pub fn apply<const K: u8, V: Vector>(v: V) -> V {
    use code::*;
    match K {
        RELU => v.max_with(0.0),
        SIGMOID => sigmoid(v),
        TANH => tanh(v),
        EXP => exp(v.clamp(-88.0, 88.0)),
        INVERSE => k::<V>(1.0).sub(v),
        SIGN => sign(v),
        SQRT => sqrt_positive(v),
        LOG => log1p_positive(v),
        LOG10 => log10_1p_positive(v),
        GELU => gelu(v),
        SOFTPLUS => softplus(v),
        _ => v,
    }
}

/// [`apply`] on an AVX-512 register, for callers compiled for AVX-512 outside this crate.
///
/// # Safety
/// Calling it from code not compiled for AVX-512 (F, VL, DQ, BW) and FMA is only sound on a
/// CPU that has them.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")]
#[inline]
pub fn apply_avx512<const K: u8>(v: std::arch::x86_64::__m512) -> std::arch::x86_64::__m512 {
    apply::<K, crate::vector::F32x16>(crate::vector::F32x16(v)).0
}

/// [`apply`] on an AVX2 register, for callers compiled for AVX2 and FMA outside this crate.
///
/// # Safety
/// Calling it from code not compiled for AVX2 and FMA is only sound on a CPU that has them.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
pub fn apply_avx2<const K: u8>(v: std::arch::x86_64::__m256) -> std::arch::x86_64::__m256 {
    apply::<K, crate::vector::F32x8>(crate::vector::F32x8(v)).0
}

/// Runs `$go::<K>($args)` with `K` the code of the runtime `Kind` `$kind`: one compilation per
/// kind, each with its activation a constant.
#[macro_export]
#[doc(hidden)]
macro_rules! with_kind {
    ($kind:expr, $go:ident($($args:expr),*)) => {
        $crate::with_kind!(@ $kind, $go, [], ($($args),*))
    };
    // `$go::<T, ..>(args)`: the kind's code is the last generic argument.
    ($kind:expr, $go:ident::<$($g:ty),+>($($args:expr),*)) => {
        $crate::with_kind!(@ $kind, $go, [$($g),+], ($($args),*))
    };
    (@ $kind:expr, $go:ident, [$($g:ty),*], ($($args:expr),*)) => {{
        use $crate::fast::Kind as K;
        match $kind {
            K::Relu => $go::<$($g,)* { K::Relu as u8 }>($($args),*),
            K::Sigmoid => $go::<$($g,)* { K::Sigmoid as u8 }>($($args),*),
            K::Tanh => $go::<$($g,)* { K::Tanh as u8 }>($($args),*),
            K::Exp => $go::<$($g,)* { K::Exp as u8 }>($($args),*),
            K::Inverse => $go::<$($g,)* { K::Inverse as u8 }>($($args),*),
            K::Sign => $go::<$($g,)* { K::Sign as u8 }>($($args),*),
            K::Sqrt => $go::<$($g,)* { K::Sqrt as u8 }>($($args),*),
            K::Log => $go::<$($g,)* { K::Log as u8 }>($($args),*),
            K::Log10 => $go::<$($g,)* { K::Log10 as u8 }>($($args),*),
            K::Gelu => $go::<$($g,)* { K::Gelu as u8 }>($($args),*),
            K::Softplus => $go::<$($g,)* { K::Softplus as u8 }>($($args),*),
            K::Softmax => $go::<$($g,)* { K::Softmax as u8 }>($($args),*),
            K::Identity => $go::<$($g,)* { K::Identity as u8 }>($($args),*),
        }
    }};
}
pub use with_kind;

/// Values per block of the portable slice kernels: one AVX-512 vector, two AVX2 ones.
const BLOCK: usize = 16;

/// Softmax over the whole slice with the fast `exp` (same formula as the scalar reference).
#[inline(always)]
fn softmax_body(xs: &mut [f32]) {
    let max = xs.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x));
    for x in xs.iter_mut() {
        *x = exp(*x - max);
    }
    let sum = xs.iter().fold(0.0f32, |s, &x| s + x);
    for x in xs.iter_mut() {
        *x /= sum;
    }
}

/// The portable slice kernel: `xs[i] = f(xs[i] + bias[i])` over fixed blocks of [`BLOCK`]
/// values, the last, partial block padded into a full one, so that the compiler turns every
/// block into whole-vector code (short slices, a tiny net's 7 outputs, included).
#[inline(always)]
fn map_portable<const K: u8>(xs: &mut [f32], bias: Option<&[f32]>) {
    if let Some(b) = bias {
        assert_eq!(b.len(), xs.len(), "bias and values differ in length");
    }
    let whole = xs.len() / BLOCK * BLOCK;
    let (body, tail) = xs.split_at_mut(whole);
    for (i, chunk) in body.chunks_exact_mut(BLOCK).enumerate() {
        let block: &mut [f32; BLOCK] = chunk.try_into().expect("exact chunk");
        if let Some(b) = bias {
            let b: &[f32; BLOCK] = b[i * BLOCK..][..BLOCK].try_into().expect("exact chunk");
            for (x, b) in block.iter_mut().zip(b) {
                *x += b;
            }
        }
        for x in block.iter_mut() {
            *x = apply::<K, f32>(*x);
        }
    }
    if !tail.is_empty() {
        let n = tail.len();
        let mut block = [0.0f32; BLOCK];
        block[..n].copy_from_slice(tail);
        if let Some(b) = bias {
            for (x, b) in block.iter_mut().zip(&b[whole..]) {
                *x += b;
            }
        }
        for x in block.iter_mut() {
            *x = apply::<K, f32>(*x);
        }
        tail.copy_from_slice(&block[..n]);
    }
}

#[inline(always)]
fn activate_portable<const K: u8>(xs: &mut [f32], bias: Option<&[f32]>) {
    map_portable::<K>(xs, bias);
    if K == Kind::Softmax as u8 {
        softmax_body(xs);
    }
}

#[inline(always)]
fn activate_body(kind: Kind, xs: &mut [f32], bias: Option<&[f32]>) {
    with_kind!(kind, activate_portable(xs, bias))
}

/// The portable kernel, for the scalar level (the others have register kernels).
fn activate_scalar(kind: Kind, xs: &mut [f32], bias: Option<&[f32]>) {
    activate_body(kind, xs, bias);
}

/// [`activate`] inlined into the caller, which is compiled for a SIMD level (a fixed-size
/// array's length is then a constant, and its blocks straight-line vector code). Portable code:
/// AVX-512 callers use [`apply`] on registers instead.
#[inline(always)]
pub fn activate_inline(kind: Kind, xs: &mut [f32]) {
    activate_body(kind, xs, None);
}

/// Adds `bias` (when given) and applies `kind` in place, with the kernels for `level`.
///
/// # Panics
/// When `bias` is given and its length differs from `xs`'s.
pub fn activate_at(level: Level, kind: Kind, xs: &mut [f32], bias: Option<&[f32]>) {
    if let Some(b) = bias {
        assert_eq!(b.len(), xs.len(), "bias and values differ in length");
    }
    #[cfg(target_arch = "x86_64")]
    {
        if level == Level::Avx512 && Level::Avx512.is_available() {
            // SAFETY: the CPU has AVX-512 (checked just above); lengths checked.
            unsafe { avx512::activate(kind, xs, bias) };
            return;
        }
        if level >= Level::Avx2 && Level::Avx2.is_available() {
            // SAFETY: the CPU has AVX2 and FMA (checked just above); lengths checked.
            unsafe { avx2::activate(kind, xs, bias) };
            return;
        }
    }
    let _ = level;
    activate_scalar(kind, xs, bias);
}

/// [`activate_at`] on every row of `xs`, rows as long as `bias`, each with `bias` added first
/// (softmax per row): a block of samples' outputs in one call, with one dispatch.
///
/// # Panics
/// When `bias` is empty or `xs` is not a whole number of rows.
pub fn activate_rows_at(level: Level, kind: Kind, xs: &mut [f32], bias: &[f32]) {
    assert!(
        !bias.is_empty() && xs.len().is_multiple_of(bias.len()),
        "{} values are not rows of {}",
        xs.len(),
        bias.len()
    );
    #[cfg(target_arch = "x86_64")]
    {
        if level == Level::Avx512 && Level::Avx512.is_available() {
            // SAFETY: the CPU has AVX-512 (checked just above); lengths checked.
            unsafe { avx512::activate_rows(kind, xs, bias) };
            return;
        }
        if level >= Level::Avx2 && Level::Avx2.is_available() {
            // SAFETY: the CPU has AVX2 and FMA (checked just above); lengths checked.
            unsafe { avx2::activate_rows(kind, xs, bias) };
            return;
        }
    }
    for row in xs.chunks_exact_mut(bias.len()) {
        activate_scalar(kind, row, Some(bias));
    }
}

/// [`activate_at`] at the process's [`level`](crate::simd::level).
#[inline]
pub fn activate(kind: Kind, xs: &mut [f32], bias: Option<&[f32]>) {
    activate_at(crate::simd::level(), kind, xs, bias);
}

/// ELU (`gamma` 1) or SELU over a slice in place, at `level`: `gamma · x` for `x ≥ 0`, else
/// `gamma · alpha · (e^x − 1)`, with the fast [`exp`] (within 4 ulp of the exact function on
/// every level; NaN stays NaN).
pub fn exponential_linear_at(level: Level, xs: &mut [f32], alpha: f32, gamma: f32) {
    #[cfg(target_arch = "x86_64")]
    {
        if level == Level::Avx512 && Level::Avx512.is_available() {
            // SAFETY: the CPU has AVX-512 (checked just above).
            unsafe { avx512::exponential_linear_slice(xs, alpha, gamma) };
            return;
        }
        if level >= Level::Avx2 && Level::Avx2.is_available() {
            // SAFETY: the CPU has AVX2 and FMA (checked just above).
            unsafe { avx2::exponential_linear_slice(xs, alpha, gamma) };
            return;
        }
    }
    let _ = level;
    for x in xs.iter_mut() {
        *x = exponential_linear::<f32>(*x, alpha, gamma);
    }
}

/// Raw [`exp`] over a slice (no clamp), at `level`; for tests and benchmarks.
pub fn exp_slice_at(level: Level, xs: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if level == Level::Avx512 && Level::Avx512.is_available() {
            // SAFETY: the CPU has AVX-512 (checked just above).
            unsafe { avx512::exp_slice(xs) };
            return;
        }
        if level >= Level::Avx2 && Level::Avx2.is_available() {
            // SAFETY: the CPU has AVX2 and FMA (checked just above).
            unsafe { avx2::exp_slice(xs) };
            return;
        }
    }
    let _ = level;
    exp_body(xs);
}

/// The portable `exp` over a slice, for the scalar level.
fn exp_body(xs: &mut [f32]) {
    for x in xs.iter_mut() {
        *x = exp(*x);
    }
}

/// `xs[i] = f(xs[i] + bias[i])` on registers of `V::LANES` values, the tail through lane masks.
///
/// # Safety
/// The CPU has what `V` needs (the caller is compiled for it); `bias`, when given, is as long
/// as `xs`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn map_lanes<V: Lanes>(xs: &mut [f32], bias: Option<&[f32]>, f: impl Fn(V) -> V) {
    let n = xs.len();
    let p = xs.as_mut_ptr();
    let mut i = 0;
    // SAFETY: `i + LANES <= n` for the whole registers, and the tail's loads and stores are
    // masked to its `n - i < LANES` values; `bias` has `n` values.
    unsafe {
        while i + V::LANES <= n {
            let mut v = V::load(p.add(i));
            if let Some(b) = bias {
                v = v.add(V::load(b.as_ptr().add(i)));
            }
            f(v).store(p.add(i));
            i += V::LANES;
        }
        if i < n {
            let mut v = V::load_first(p.add(i), n - i);
            if let Some(b) = bias {
                v = v.add(V::load_first(b.as_ptr().add(i), n - i));
            }
            f(v).store_first(p.add(i), n - i);
        }
    }
}

/// Defines a module of slice kernels on registers `$v`, compiled for `$features`.
#[cfg(target_arch = "x86_64")]
macro_rules! register_kernels {
    ($module:ident, $v:ident, $features:literal, $doc:literal) => {
        #[doc = $doc]
        pub(crate) mod $module {
            use super::{Kind, apply, exponential_linear, map_lanes, softmax_body};
            use crate::vector::$v;

            #[target_feature(enable = $features)]
            fn activate_kind<const K: u8>(xs: &mut [f32], bias: Option<&[f32]>) {
                #[allow(clippy::redundant_closure)]
                // A closure written here, not a function item or a closure made elsewhere: it
                // inherits this function's target features, so its body is inlined into the
                // loop as vector instructions.
                // SAFETY: compiled for the features `$v` needs, only called where the CPU has
                // them; the caller checked the lengths.
                unsafe {
                    map_lanes::<$v>(xs, bias, |v| apply::<K, $v>(v))
                };
                if K == Kind::Softmax as u8 {
                    softmax_body(xs);
                }
            }

            /// # Safety
            /// The CPU has the features; `bias`, when given, is as long as `xs`.
            #[target_feature(enable = $features)]
            pub(crate) unsafe fn activate(kind: Kind, xs: &mut [f32], bias: Option<&[f32]>) {
                crate::with_kind!(kind, activate_kind(xs, bias))
            }

            #[target_feature(enable = $features)]
            fn activate_rows_kind<const K: u8>(xs: &mut [f32], bias: &[f32]) {
                for row in xs.chunks_exact_mut(bias.len()) {
                    #[allow(clippy::redundant_closure)]
                    // SAFETY: as in `activate_kind`; each row is as long as `bias`.
                    unsafe {
                        map_lanes::<$v>(row, Some(bias), |v| apply::<K, $v>(v))
                    };
                    if K == Kind::Softmax as u8 {
                        softmax_body(row);
                    }
                }
            }

            /// # Safety
            /// The CPU has the features; `bias` is not empty.
            #[target_feature(enable = $features)]
            pub(crate) unsafe fn activate_rows(kind: Kind, xs: &mut [f32], bias: &[f32]) {
                crate::with_kind!(kind, activate_rows_kind(xs, bias))
            }

            /// # Safety
            /// The CPU has the features.
            #[target_feature(enable = $features)]
            pub(crate) unsafe fn exponential_linear_slice(xs: &mut [f32], alpha: f32, gamma: f32) {
                #[allow(clippy::redundant_closure)]
                // SAFETY: as the caller promises; no bias.
                unsafe {
                    map_lanes::<$v>(xs, None, |v| exponential_linear::<$v>(v, alpha, gamma))
                };
            }

            /// # Safety
            /// The CPU has the features.
            #[target_feature(enable = $features)]
            pub(crate) unsafe fn exp_slice(xs: &mut [f32]) {
                #[allow(clippy::redundant_closure)]
                // SAFETY: as the caller promises; no bias.
                unsafe {
                    map_lanes::<$v>(xs, None, |v| super::exp(v))
                };
            }
        }
    };
}

#[cfg(target_arch = "x86_64")]
register_kernels!(
    avx512,
    F32x16,
    "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma",
    "The slice kernels on AVX-512 registers."
);

#[cfg(target_arch = "x86_64")]
register_kernels!(
    avx2,
    F32x8,
    "avx2,fma",
    "The slice kernels on AVX2 registers, with fused multiply-adds."
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simd::Level;

    /// Largest ulp distance between `fast` (run as a slice kernel at `level`) and the exact
    /// function rounded to f32, over every `stride`-th f32 in `lo..=hi`.
    fn max_ulp(
        level: Level,
        kind: Kind,
        exact: fn(f64) -> f64,
        lo: f32,
        hi: f32,
        stride: u32,
    ) -> (u64, f32) {
        let xs: Vec<f32> = (crate::ulp::float_key(lo)..=crate::ulp::float_key(hi))
            .step_by(stride as usize)
            .map(crate::ulp::from_float_key)
            .collect();
        let mut ys = xs.clone();
        activate_at(level, kind, &mut ys, None);
        let mut worst = (0u64, 0.0f32);
        for (x, y) in xs.iter().zip(&ys) {
            let e = exact(*x as f64) as f32;
            let d = crate::ulp::ulp_distance(*y, e);
            if d > worst.0 {
                worst = (d, *x);
            }
        }
        worst
    }

    /// The format's softplus (cut-offs at the f32 value of 13.9424), in f64.
    fn softplus64(x: f64) -> f64 {
        let t = 13.9424f32 as f64;
        if x > t {
            x
        } else if x < -t {
            x.exp()
        } else {
            x.exp().ln_1p()
        }
    }

    /// GELU of the f32 input, exactly (`erfc` keeps the negative tail accurate).
    fn gelu64(x: f64) -> f64 {
        0.5 * x * libm::erfc(-x / std::f64::consts::SQRT_2)
    }

    fn sigmoid64(x: f64) -> f64 {
        1.0 / (1.0 + (-x).exp())
    }

    #[test]
    fn elu_and_selu_stay_within_4_ulp_and_keep_the_edge_values_on_every_level() {
        let xs: Vec<f32> = (crate::ulp::float_key(-100.0)..=crate::ulp::float_key(30.0))
            .step_by(4099)
            .map(crate::ulp::from_float_key)
            .chain([
                0.0,
                -0.0,
                -1e-30,
                f32::NEG_INFINITY,
                f32::INFINITY,
                -0.25,
                -0.2499,
            ])
            .collect();
        for level in Level::available() {
            for (alpha, gamma) in [(1.0f32, 1.0f32), (0.3, 1.0), (1.673_263_2, 1.050_701)] {
                let mut ys = xs.clone();
                exponential_linear_at(level, &mut ys, alpha, gamma);
                let mut worst = (0, 0.0);
                for (x, y) in xs.iter().zip(&ys) {
                    let x64 = *x as f64;
                    let exact = if *x < 0.0 {
                        gamma as f64 * (alpha as f64 * x64.exp_m1())
                    } else {
                        gamma as f64 * x64
                    } as f32;
                    let d = crate::ulp::ulp_distance(*y, exact);
                    if d > worst.0 {
                        worst = (d, *x);
                    }
                }
                eprintln!("{level:?} ELU/SELU alpha {alpha} gamma {gamma}: worst {worst:?}");
                assert!(
                    worst.0 <= 4,
                    "{level:?} alpha {alpha} gamma {gamma}: {worst:?}"
                );
            }
            let mut nan = [f32::NAN; 20];
            exponential_linear_at(level, &mut nan, 1.0, 1.0);
            assert!(nan.iter().all(|v| v.is_nan()), "{level:?}");
        }
    }

    #[test]
    fn fast_functions_stay_within_their_documented_ulp_on_every_level() {
        for level in Level::available() {
            let exp_err = max_ulp(
                level,
                Kind::Exp,
                |x| x.clamp(-88.0, 88.0).exp(),
                -87.0,
                88.0,
                613,
            );
            assert!(exp_err.0 <= 2, "{level:?} exp: {exp_err:?}");
            let sig = max_ulp(level, Kind::Sigmoid, sigmoid64, -87.0, 30.0, 613);
            assert!(sig.0 <= 3, "{level:?} sigmoid: {sig:?}");
            let softplus_err = max_ulp(level, Kind::Softplus, softplus64, -20.0, 20.0, 211);
            assert!(softplus_err.0 <= 4, "{level:?} softplus: {softplus_err:?}");
            let tanh_err = max_ulp(level, Kind::Tanh, f64::tanh, -20.0, 20.0, 211);
            assert!(tanh_err.0 <= 3, "{level:?} tanh: {tanh_err:?}");
            let log_err = max_ulp(level, Kind::Log, |x| x.ln_1p(), 1e-30, 1e30, 4099);
            assert!(log_err.0 <= 3, "{level:?} log: {log_err:?}");
            let log10_err = max_ulp(
                level,
                Kind::Log10,
                |x| x.ln_1p() / 10f64.ln(),
                1e-30,
                1e30,
                4099,
            );
            assert!(log10_err.0 <= 4, "{level:?} log10: {log10_err:?}");
            let gelu_err = max_ulp(level, Kind::Gelu, gelu64, -1.0, 10.0, 211);
            assert!(gelu_err.0 <= 6, "{level:?} gelu: {gelu_err:?}");
            // Below -1, x/√2 rounded to f32 moves e^(-x²/2) by up to x²·2^-24 relative: the
            // function itself is that ill-conditioned, and the bound grows with it.
            let gelu_tail = max_ulp(level, Kind::Gelu, gelu64, -3.0, -1.0, 211);
            assert!(
                gelu_tail.0 <= 12,
                "{level:?} gelu on [-3, -1]: {gelu_tail:?}"
            );
            let gelu_far = max_ulp(level, Kind::Gelu, gelu64, -9.0, -3.0, 211);
            assert!(gelu_far.0 <= 96, "{level:?} gelu on [-9, -3]: {gelu_far:?}");
            eprintln!(
                "{level:?}: worst ulp (at x) exp {exp_err:?}, sigmoid {sig:?}, tanh {tanh_err:?}, softplus {softplus_err:?}, log {log_err:?}, log10 {log10_err:?}, gelu {gelu_err:?}, gelu on [-3, -1] {gelu_tail:?}, on [-9, -3] {gelu_far:?}"
            );
        }
    }

    #[test]
    fn edges_and_special_values() {
        for level in Level::available() {
            let mut xs = [
                f32::NAN,
                f32::INFINITY,
                f32::NEG_INFINITY,
                89.0,
                -110.0,
                0.0,
                -0.0,
            ];
            exp_slice_at(level, &mut xs);
            assert!(xs[0].is_nan());
            assert_eq!(
                &xs[1..],
                &[f32::INFINITY, 0.0, f32::INFINITY, 0.0, 1.0, 1.0],
                "{level:?}"
            );
            let mut t = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.0, 1e-30];
            activate_at(level, Kind::Tanh, &mut t, None);
            assert!(t[0].is_nan());
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&t[1..]), bits(&[1.0, -1.0, -0.0, 1e-30]), "{level:?}");
            let mut s = [f32::NAN, 200.0, -200.0];
            activate_at(level, Kind::Sigmoid, &mut s, None);
            assert!(s[0].is_nan());
            assert_eq!(&s[1..], &[1.0, 0.0]);
            let mut sp = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.0, 20.0];
            activate_at(level, Kind::Softplus, &mut sp, None);
            assert!(sp[0].is_nan());
            assert_eq!(sp[1..3], [f32::INFINITY, 0.0]);
            assert!((sp[3] - std::f32::consts::LN_2).abs() <= f32::EPSILON);
            assert_eq!(sp[4], 20.0);
            let mut l = [
                f32::NAN,
                f32::INFINITY,
                f32::NEG_INFINITY,
                -1.0,
                0.0,
                f32::MAX,
            ];
            activate_at(level, Kind::Log, &mut l, None);
            assert_eq!(l[..5], [0.0, f32::INFINITY, 0.0, 0.0, 0.0], "{level:?}");
            assert!((l[5] - f32::MAX.ln()).abs() <= 1e-5, "{level:?}: {}", l[5]);
            let g0 = [
                f32::NAN,
                f32::INFINITY,
                f32::NEG_INFINITY,
                0.0,
                -200.0,
                200.0,
            ];
            let mut g = g0;
            activate_at(level, Kind::Gelu, &mut g, None);
            let expected = g0.map(crate::activation::gelu);
            for (got, want) in g.iter().zip(&expected) {
                assert!(
                    got == want || (got.is_nan() && want.is_nan()),
                    "{level:?}: {g:?} vs {expected:?}"
                );
            }
            let mut r = [f32::NAN, -1.0, 2.0];
            activate_at(level, Kind::Relu, &mut r, Some(&[0.0, 0.5, 0.5]));
            assert_eq!(r, [0.0, 0.0, 2.5], "relu keeps the reference's NaN → 0");
        }
    }

    #[test]
    fn exp_is_close_in_the_subnormal_range() {
        for level in Level::available() {
            let mut xs: Vec<f32> = (0..200).map(|i| -87.5 - i as f32 * 0.08).collect();
            let expected: Vec<f32> = xs.iter().map(|&x| (x as f64).exp() as f32).collect();
            exp_slice_at(level, &mut xs);
            for (got, want) in xs.iter().zip(&expected) {
                // Subnormals carry fewer bits; an absolute bound is the meaningful one here.
                assert!(
                    (got - want).abs() <= 2.0 * f32::from_bits(1),
                    "{level:?}: {got:e} vs {want:e}"
                );
            }
        }
    }
}

#[cfg(test)]
mod rows_tests {
    use super::*;

    #[test]
    fn activate_rows_is_activate_on_each_row_with_the_bias() {
        let bias = [0.5f32, -1.0, 2.0, 0.0, 0.25, -0.75, 1.5, 3.0, -2.0];
        let xs: Vec<f32> = (0..9 * 7).map(|i| (i as f32 * 0.37).sin() * 3.0).collect();
        for kind in Kind::ALL {
            for level in [Level::Scalar, Level::Avx2, Level::Avx512] {
                let mut rows = xs.clone();
                activate_rows_at(level, kind, &mut rows, &bias);
                let mut each = xs.clone();
                for row in each.chunks_exact_mut(bias.len()) {
                    activate_at(level, kind, row, Some(&bias));
                }
                assert_eq!(rows, each, "{kind:?} at {level:?}");
            }
        }
    }
}
