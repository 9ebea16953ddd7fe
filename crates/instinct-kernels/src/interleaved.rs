//! Many small dense layers at once, one per model, with the models in SIMD lanes: sixteen
//! models' weights are interleaved (`[output][input][model]`), so one AVX-512 multiply-add
//! advances one weight of all sixteen models, every lane does useful work whatever the layer's
//! shape, and activations (SOFTMAX included, whose sums run across outputs) are plain vertical
//! operations. The batched GEMV of `instinct-batched` (one input per model).

use crate::fast::{Kind, apply, exp};
use crate::simd::Level;
use crate::vector::Lanes;

/// Models per group: the lanes of one AVX-512 register (two AVX2 registers, sixteen scalars).
pub const GROUP: usize = 16;

/// One layer of one group of [`GROUP`] models, all slices interleaved by model (the last index
/// is the model's lane, `0..GROUP`):
/// - `weights[(o · inputs + i) · GROUP + m]` is model `m`'s `W[o][i]`;
/// - `bias[o · GROUP + m]` its bias of output `o`;
/// - the group's input is `x[i · GROUP + m]` and its output `y[o · GROUP + m]`, so one layer's
///   output is the next one's input as it stands.
#[derive(Debug, Clone, Copy)]
pub struct InterleavedDense<'a> {
    /// Inputs per model.
    pub inputs: usize,
    /// Outputs per model.
    pub outputs: usize,
    /// `outputs · inputs · GROUP` values.
    pub weights: &'a [f32],
    /// `outputs · GROUP` values.
    pub bias: &'a [f32],
    /// The activation (softmax across each model's outputs).
    pub kind: Kind,
}

/// Writes model `m`'s `W` (`rows`, `outputs × inputs` row-major) and `bias` into lane `m` of an
/// interleaved group's `weights` and `bias`.
///
/// # Panics
/// When a length disagrees with `inputs`/`outputs`, or `m ≥ GROUP`.
pub fn interleave_model(
    rows: &[f32],
    bias: &[f32],
    m: usize,
    weights: &mut [f32],
    group_bias: &mut [f32],
) {
    let outputs = bias.len();
    assert!(m < GROUP, "lane {m} of a group of {GROUP}");
    assert_eq!(group_bias.len(), outputs * GROUP, "group bias length");
    assert_eq!(weights.len(), rows.len() * GROUP, "group weights length");
    for (j, w) in rows.iter().enumerate() {
        weights[j * GROUP + m] = *w;
    }
    for (o, b) in bias.iter().enumerate() {
        group_bias[o * GROUP + m] = *b;
    }
}

/// `y = act(W·x + b)` for the sixteen models of one group (see [`InterleavedDense`] for the
/// layouts), at `level` (a level this CPU lacks falls back to the best it has below it). Each sum
/// is the bias plus the products in input order, with one rounding per multiply-add at the AVX2
/// and AVX-512 levels (two at the scalar level).
///
/// # Panics
/// When `weights`, `bias`, `x` or `y` does not hold the values the layout above needs.
pub fn interleaved_dense_at(level: Level, layer: &InterleavedDense<'_>, x: &[f32], y: &mut [f32]) {
    let (k, n) = (layer.inputs, layer.outputs);
    let fits = k.checked_mul(n).and_then(|kn| kn.checked_mul(GROUP)) == Some(layer.weights.len())
        && layer.bias.len() == n * GROUP
        && x.len() == k * GROUP
        && y.len() == n * GROUP;
    assert!(
        fits,
        "interleaved layer {k} → {n}: {} weights, {} biases, {} inputs, {} outputs",
        layer.weights.len(),
        layer.bias.len(),
        x.len(),
        y.len()
    );
    let (w, b, xp, yp) = (
        layer.weights.as_ptr(),
        layer.bias.as_ptr(),
        x.as_ptr(),
        y.as_mut_ptr(),
    );
    #[cfg(target_arch = "x86_64")]
    {
        if level == Level::Avx512 && Level::Avx512.is_available() {
            // SAFETY: the CPU has AVX-512; the lengths were checked above.
            unsafe { x86::avx512(layer.kind, k, n, w, b, xp, yp) };
            return;
        }
        if level >= Level::Avx2 && Level::Avx2.is_available() {
            // SAFETY: the CPU has AVX2 and FMA; the lengths were checked above.
            unsafe { x86::avx2(layer.kind, k, n, w, b, xp, yp) };
            return;
        }
    }
    // SAFETY: the lengths were checked above; plain `f32` needs no CPU feature.
    unsafe { crate::with_kind!(layer.kind, scalar_group(k, n, w, b, xp, yp)) }
}

/// [`group`] one lane at a time.
///
/// # Safety
/// As [`group`].
unsafe fn scalar_group<const K: u8>(
    k: usize,
    n: usize,
    w: *const f32,
    b: *const f32,
    x: *const f32,
    y: *mut f32,
) {
    // SAFETY: as the caller promises.
    unsafe { group::<f32, K>(k, n, w, b, x, y) }
}

/// One group, in passes of `V::LANES` models.
///
/// # Safety
/// The CPU has `V`'s features; the pointers hold the layouts of [`InterleavedDense`] for `k`
/// inputs and `n` outputs.
#[inline(always)]
unsafe fn group<V: Lanes, const K: u8>(
    k: usize,
    n: usize,
    w: *const f32,
    b: *const f32,
    x: *const f32,
    y: *mut f32,
) {
    let mut lane = 0;
    while lane < GROUP {
        // SAFETY: as the caller promises; `lane + V::LANES ≤ GROUP` (LANES divides GROUP).
        unsafe { pass::<V, K>(k, n, w.add(lane), b.add(lane), x.add(lane), y.add(lane)) };
        lane += V::LANES;
    }
}

/// `V::LANES` models of a group, from the lane the pointers start at: outputs in blocks of 8, 4,
/// 2 and 1 (eight accumulators hide the multiply-add latency, and each input is loaded once per
/// block), then softmax across the outputs if asked.
///
/// # Safety
/// As [`group`], with the pointers offset to the first lane of the pass.
#[inline(always)]
unsafe fn pass<V: Lanes, const K: u8>(
    k: usize,
    n: usize,
    w: *const f32,
    b: *const f32,
    x: *const f32,
    y: *mut f32,
) {
    let mut o = 0;
    // SAFETY (every block): outputs `o..o + B` are below `n`.
    unsafe {
        while n - o >= 8 {
            block::<V, K, 8>(o, k, w, b, x, y);
            o += 8;
        }
        if n - o >= 4 {
            block::<V, K, 4>(o, k, w, b, x, y);
            o += 4;
        }
        if n - o >= 2 {
            block::<V, K, 2>(o, k, w, b, x, y);
            o += 2;
        }
        if n - o >= 1 {
            block::<V, K, 1>(o, k, w, b, x, y);
        }
        if K == Kind::Softmax as u8 && n > 0 {
            softmax::<V>(n, y);
        }
    }
}

/// Outputs `o0..o0 + B` of a pass.
///
/// # Safety
/// As [`pass`], and `o0 + B ≤ n`.
#[inline(always)]
unsafe fn block<V: Lanes, const K: u8, const B: usize>(
    o0: usize,
    k: usize,
    w: *const f32,
    b: *const f32,
    x: *const f32,
    y: *mut f32,
) {
    // SAFETY: every offset is inside the layouts (`o < n`, `i < k`), as the caller promises.
    unsafe {
        let mut acc = [V::splat(0.0); B];
        for (j, a) in acc.iter_mut().enumerate() {
            *a = V::load(b.add((o0 + j) * GROUP));
        }
        for i in 0..k {
            let xi = V::load(x.add(i * GROUP));
            for (j, a) in acc.iter_mut().enumerate() {
                *a = V::load(w.add(((o0 + j) * k + i) * GROUP)).mul_add(xi, *a);
            }
        }
        for (j, a) in acc.into_iter().enumerate() {
            // Softmax needs every output first (see `pass`).
            let v = if K == Kind::Softmax as u8 {
                a
            } else {
                apply::<K, V>(a)
            };
            v.store(y.add((o0 + j) * GROUP));
        }
    }
}

/// Softmax across the `n` outputs of each lane, as the slice kernels compute it: the largest
/// value (NaN ignored, as `f32::max` does), `e^(x - max)` with the fast `exp`, their sum in
/// output order, each divided by it.
///
/// # Safety
/// As [`pass`].
#[inline(always)]
unsafe fn softmax<V: Lanes>(n: usize, y: *mut f32) {
    // SAFETY: outputs `o < n` of the pass's lanes.
    unsafe {
        let mut max = V::splat(f32::NEG_INFINITY);
        for o in 0..n {
            let v = V::load(y.add(o * GROUP));
            max = V::select(v.gt(max), v, max);
        }
        let mut sum = V::splat(0.0);
        for o in 0..n {
            let e = exp(V::load(y.add(o * GROUP)).sub(max));
            e.store(y.add(o * GROUP));
            sum = sum.add(e);
        }
        for o in 0..n {
            V::load(y.add(o * GROUP)).div(sum).store(y.add(o * GROUP));
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{Kind, group};
    use crate::vector::{F32x8, F32x16};

    /// # Safety
    /// The CPU has AVX-512; the pointers hold the layouts for `k` inputs and `n` outputs.
    #[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")]
    pub(super) unsafe fn avx512(
        kind: Kind,
        k: usize,
        n: usize,
        w: *const f32,
        b: *const f32,
        x: *const f32,
        y: *mut f32,
    ) {
        /// [`group`] on AVX-512 registers.
        #[inline(always)]
        unsafe fn wide<const K: u8>(
            k: usize,
            n: usize,
            w: *const f32,
            b: *const f32,
            x: *const f32,
            y: *mut f32,
        ) {
            // SAFETY: as `avx512`'s caller promises.
            unsafe { group::<F32x16, K>(k, n, w, b, x, y) }
        }
        // SAFETY: as the caller promises.
        unsafe { crate::with_kind!(kind, wide(k, n, w, b, x, y)) }
    }

    /// # Safety
    /// The CPU has AVX2 and FMA; the pointers hold the layouts for `k` inputs and `n` outputs.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn avx2(
        kind: Kind,
        k: usize,
        n: usize,
        w: *const f32,
        b: *const f32,
        x: *const f32,
        y: *mut f32,
    ) {
        /// [`group`] on AVX2 registers.
        #[inline(always)]
        unsafe fn narrow<const K: u8>(
            k: usize,
            n: usize,
            w: *const f32,
            b: *const f32,
            x: *const f32,
            y: *mut f32,
        ) {
            // SAFETY: as `avx2`'s caller promises.
            unsafe { group::<F32x8, K>(k, n, w, b, x, y) }
        }
        // SAFETY: as the caller promises.
        unsafe { crate::with_kind!(kind, narrow(k, n, w, b, x, y)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation;

    /// The scalar definition: bias plus products in input order (f64 here), then the format's
    /// activation.
    fn reference(rows: &[f32], bias: &[f32], x: &[f32], kind: Kind) -> Vec<f32> {
        let k = x.len();
        let mut y: Vec<f32> = bias
            .iter()
            .enumerate()
            .map(|(o, b)| {
                let s: f64 = (0..k).map(|i| rows[o * k + i] as f64 * x[i] as f64).sum();
                (s + *b as f64) as f32
            })
            .collect();
        let f: Option<fn(f32) -> f32> = match kind {
            Kind::Relu => Some(activation::relu),
            Kind::Sigmoid => Some(activation::sigmoid),
            Kind::Tanh => Some(activation::tanh),
            Kind::Exp => Some(activation::exp),
            Kind::Inverse => Some(activation::inverse),
            Kind::Sign => Some(activation::sign),
            Kind::Sqrt => Some(activation::sqrt),
            Kind::Log => Some(activation::log),
            Kind::Log10 => Some(activation::log10),
            Kind::Gelu => Some(activation::gelu),
            Kind::Softplus => Some(activation::softplus),
            Kind::Softmax | Kind::Identity => None,
        };
        match (kind, f) {
            (Kind::Softmax, _) => activation::softmax_in_place(&mut y),
            (_, Some(f)) => activation::map_in_place(&mut y, f),
            _ => {}
        }
        y
    }

    const KINDS: [Kind; 13] = [
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

    #[test]
    fn every_level_and_kind_matches_the_scalar_definition_on_every_lane() {
        let mut seed = 0x1234_5678_9abc_def0u64;
        let mut unit = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
        };
        for (case, &(k, n)) in [(1, 1), (3, 2), (7, 9), (16, 32), (32, 8), (5, 15), (40, 3)]
            .iter()
            .enumerate()
        {
            let kind = KINDS[case * 5 % KINDS.len()];
            for kind in [kind, KINDS[(case * 5 + 3) % KINDS.len()], Kind::Softmax] {
                let models: Vec<(Vec<f32>, Vec<f32>, Vec<f32>)> = (0..GROUP)
                    .map(|_| {
                        let rows = (0..n * k).map(|_| unit()).collect();
                        let bias = (0..n).map(|_| unit()).collect();
                        let x = (0..k).map(|_| unit() * 2.0).collect();
                        (rows, bias, x)
                    })
                    .collect();
                let (mut w, mut b, mut x) = (
                    vec![0.0; n * k * GROUP],
                    vec![0.0; n * GROUP],
                    vec![0.0; k * GROUP],
                );
                for (m, (rows, bias, input)) in models.iter().enumerate() {
                    interleave_model(rows, bias, m, &mut w, &mut b);
                    for (i, v) in input.iter().enumerate() {
                        x[i * GROUP + m] = *v;
                    }
                }
                let layer = InterleavedDense {
                    inputs: k,
                    outputs: n,
                    weights: &w,
                    bias: &b,
                    kind,
                };
                for level in [Level::Scalar, Level::Avx2, Level::Avx512] {
                    let mut y = vec![f32::NAN; n * GROUP];
                    interleaved_dense_at(level, &layer, &x, &mut y);
                    for (m, (rows, bias, input)) in models.iter().enumerate() {
                        let want = reference(rows, bias, input, kind);
                        for (o, want) in want.iter().enumerate() {
                            let got = y[o * GROUP + m];
                            let tol = 1e-5 + 1e-5 * want.abs();
                            assert!(
                                (got - want).abs() <= tol || (got.is_nan() && want.is_nan()),
                                "{level:?} {kind:?} {k}→{n} model {m} output {o}: {got} vs {want}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    #[should_panic(expected = "interleaved layer 2 → 3")]
    fn wrong_lengths_panic_with_the_shapes() {
        let layer = InterleavedDense {
            inputs: 2,
            outputs: 3,
            weights: &[0.0; 96],
            bias: &[0.0; 48],
            kind: Kind::Identity,
        };
        interleaved_dense_at(Level::Scalar, &layer, &[0.0; 31], &mut [0.0; 48]);
    }
}
