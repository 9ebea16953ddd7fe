//! Many small dense layers at once, one per model, with the models in SIMD lanes: sixteen
//! models' weights are interleaved (`[output][input][model]`), so one AVX-512 multiply-add
//! advances one weight of all sixteen models, every lane does useful work whatever the layer's
//! shape, and activations (SOFTMAX included, whose sums run across outputs) are plain vertical
//! operations. The batched GEMV of `instinct-batched` (one input per model).

use crate::fast::Kind;
use crate::simd::Level;
use kernel::{Operands, block_of, run_group};

mod kernel;
mod net;

pub use kernel::{GROUP, MAX_INPUTS};
use net::net_body;
pub use net::{InterleavedNet, NetLayer};

/// One layer of one group of [`GROUP`] models, all slices interleaved by model (the last index
/// is the model's lane, `0..GROUP`):
/// - `weights[weight_index(o, i, inputs, outputs) · GROUP + m]` is model `m`'s `W[o][i]`: the
///   outputs in blocks of 8 (then one block each of 4, 2 and 1 for the rest), each block stored
///   input by input (`[input][output in block][model]`), so that the kernel reads the weights
///   once, front to back;
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

/// Where `W[o][i]` of a layer of `inputs → outputs` lives in an interleaved group, in units of
/// [`GROUP`] values (see [`InterleavedDense`]).
///
/// # Panics
/// When `o ≥ outputs` or `i ≥ inputs`.
pub fn weight_index(o: usize, i: usize, inputs: usize, outputs: usize) -> usize {
    assert!(
        o < outputs && i < inputs,
        "weight ({o}, {i}) of a {inputs} → {outputs} layer"
    );
    let (o0, b) = block_of(o, outputs);
    o0 * inputs + i * b + (o - o0)
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
    // `rows` must be a whole number of rows of one output each (none without outputs).
    let inputs = rows.len().checked_div(outputs).unwrap_or(0);
    assert_eq!(
        rows.len(),
        inputs * outputs,
        "weights are not {outputs} rows"
    );
    for (j, w) in rows.iter().enumerate() {
        weights[weight_index(j / inputs, j % inputs, inputs, outputs) * GROUP + m] = *w;
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
    let inputs = if k == 0 { 0 } else { x.len() / (k * GROUP) };
    let fits = k > 0
        && n > 0
        && k.checked_mul(n).and_then(|kn| kn.checked_mul(GROUP)) == Some(layer.weights.len())
        && layer.bias.len() == n * GROUP
        && (1..=MAX_INPUTS).contains(&inputs)
        && x.len() == inputs * k * GROUP
        && y.len() == inputs * n * GROUP;
    assert!(
        fits,
        "interleaved layer {k} → {n}: {} weights, {} biases, {} inputs, {} outputs",
        layer.weights.len(),
        layer.bias.len(),
        x.len(),
        y.len()
    );
    let op = Operands {
        k,
        n,
        w: layer.weights.as_ptr(),
        b: layer.bias.as_ptr(),
        x: x.as_ptr(),
        xs: k * GROUP,
        y: y.as_mut_ptr(),
        ys: n * GROUP,
    };
    // Four inputs per model share one pass over the weights; fewer run one at a time.
    let (passes, per_pass) = if inputs == MAX_INPUTS {
        (1, MAX_INPUTS)
    } else {
        (inputs, 1)
    };
    for p in 0..passes {
        // SAFETY: `p < inputs`: block `p` of `x` and `y` exists (checked above).
        let op = unsafe {
            Operands {
                x: op.x.add(p * op.xs),
                y: op.y.add(p * op.ys),
                ..op
            }
        };
        #[cfg(target_arch = "x86_64")]
        {
            if level == Level::Avx512 && Level::Avx512.is_available() {
                // SAFETY: the CPU has AVX-512; the lengths were checked above.
                unsafe { x86::avx512(layer.kind, per_pass, op) };
                continue;
            }
            if level >= Level::Avx2 && Level::Avx2.is_available() {
                // SAFETY: the CPU has AVX2 and FMA; the lengths were checked above.
                unsafe { x86::avx2(layer.kind, per_pass, op) };
                continue;
            }
        }
        // SAFETY: the lengths were checked above; plain `f32` needs no CPU feature.
        unsafe { run_group::<f32>(layer.kind, per_pass, op) }
    }
}

/// Runs `models` models, `k` inputs each, through every layer of `net`, group after group in
/// one call (no dispatch between groups, so the weights stream without pauses): `values` holds
/// the blocks of the `ceil(models / 16)` groups, `inputs` is `[model][k][input_size]`,
/// `outputs` receives `[model][k][output_size]`. Each group runs [`MAX_INPUTS`] inputs per pass
/// over its weights, as [`interleaved_dense_at`] computes them.
///
/// # Panics
/// When the layers do not chain or fit `group_len`, or a slice is shorter than the shapes need
/// (`scratch`: [`InterleavedNet::scratch_len`]).
#[allow(clippy::too_many_arguments)]
pub fn interleaved_net_at(
    level: Level,
    net: &InterleavedNet<'_>,
    values: &[f32],
    models: usize,
    k: usize,
    inputs: &[f32],
    outputs: &mut [f32],
    scratch: &mut [f32],
) {
    let groups = models.div_ceil(GROUP);
    let fits = net.is_consistent()
        && groups
            .checked_mul(net.group_len)
            .is_some_and(|v| v <= values.len())
        && models
            .checked_mul(k)
            .and_then(|r| r.checked_mul(net.input_size()))
            == Some(inputs.len())
        && models
            .checked_mul(k)
            .and_then(|r| r.checked_mul(net.output_size()))
            == Some(outputs.len())
        && scratch.len() >= net.scratch_len();
    assert!(
        fits,
        "interleaved net of {} layers ({} values a group): {} values, {models} models × {k} inputs, {} inputs, {} outputs, {} scratch",
        net.layers.len(),
        net.group_len,
        values.len(),
        inputs.len(),
        outputs.len(),
        scratch.len()
    );
    if models == 0 || k == 0 {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    {
        if level == Level::Avx512 && Level::Avx512.is_available() {
            // SAFETY: the CPU has AVX-512; every length was checked above.
            unsafe { x86::net_avx512(net, values, models, k, inputs, outputs, scratch) };
            return;
        }
        if level >= Level::Avx2 && Level::Avx2.is_available() {
            // SAFETY: the CPU has AVX2 and FMA; every length was checked above.
            unsafe { x86::net_avx2(net, values, models, k, inputs, outputs, scratch) };
            return;
        }
    }
    // SAFETY: every length was checked above; plain `f32` needs no CPU feature.
    unsafe {
        net_body::<f32>(
            net,
            values,
            models,
            k,
            inputs,
            outputs,
            scratch,
            gather_portable,
            scatter_portable,
        )
    }
}

/// Checks the shape of a move between `count ≤ GROUP` rows of `width` values, `stride ≥ width`
/// apart, in a slice of `rows_len` values, and a group's `lanes_len = width · GROUP` values.
///
/// # Panics
/// When any of that does not hold, naming `what` and the sizes.
fn check_lanes(
    what: &str,
    count: usize,
    stride: usize,
    width: usize,
    lanes_len: usize,
    rows_len: usize,
) {
    let span = match count {
        0 => Some(0),
        _ => (count - 1)
            .checked_mul(stride)
            .and_then(|s| s.checked_add(width)),
    };
    assert!(
        count <= GROUP
            && stride >= width
            && width.checked_mul(GROUP) == Some(lanes_len)
            && span.is_some_and(|span| span <= rows_len),
        "{what} of {count} rows of {width} values {stride} apart: {rows_len} row values, {lanes_len} lane values"
    );
}

/// Interleaves the values of up to [`GROUP`] models: `x[i · GROUP + m] = src[m · stride + i]`
/// for `i < width` and `m < count`, and zero in the lanes `m ≥ count` (a partial group's last
/// lanes). With AVX-512 (AVX2), 16 × 16 (8 × 8) blocks transposed in registers.
///
/// # Panics
/// When `count > GROUP`, `stride < width` (rows would overlap), `x` does not hold
/// `width · GROUP` values or `src` is too short for `count` rows of `width` values `stride`
/// apart.
pub fn gather_lanes_at(
    level: Level,
    src: &[f32],
    stride: usize,
    count: usize,
    width: usize,
    x: &mut [f32],
) {
    check_lanes("gather", count, stride, width, x.len(), src.len());
    #[cfg(target_arch = "x86_64")]
    {
        if level == Level::Avx512 && Level::Avx512.is_available() {
            // SAFETY: the CPU has AVX-512; the values read are rows `m < count` at
            // `m · stride + i` with `i < width`, inside `src` (checked above).
            unsafe { x86::gather(src.as_ptr(), stride, count, width, x.as_mut_ptr()) };
            return;
        }
        if level >= Level::Avx2 && Level::Avx2.is_available() {
            // SAFETY: the CPU has AVX2; lengths checked above.
            unsafe { x86::gather8(src, stride, count, width, x) };
            return;
        }
    }
    let _ = level;
    gather_portable(src, stride, count, width, x);
}

/// [`gather_lanes_at`]'s loops (lengths as it checks them).
#[inline(always)]
fn gather_portable(src: &[f32], stride: usize, count: usize, width: usize, x: &mut [f32]) {
    for i in 0..width {
        for m in 0..GROUP {
            x[i * GROUP + m] = if m < count { src[m * stride + i] } else { 0.0 };
        }
    }
}

/// The inverse of [`gather_lanes_at`] for outputs: `dst[m · stride + o] = y[o · GROUP + m]` for
/// `o < width` and `m < count`; nothing else of `dst` is written. With AVX-512 (AVX2), 16 × 16
/// (8 × 8) blocks transposed in registers.
///
/// # Panics
/// When `count > GROUP`, `stride < width` (rows would overlap), `y` does not hold
/// `width · GROUP` values or `dst` is too short.
pub fn scatter_lanes_at(
    level: Level,
    y: &[f32],
    width: usize,
    count: usize,
    stride: usize,
    dst: &mut [f32],
) {
    check_lanes("scatter", count, stride, width, y.len(), dst.len());
    #[cfg(target_arch = "x86_64")]
    {
        if level == Level::Avx512 && Level::Avx512.is_available() {
            // SAFETY: the CPU has AVX-512; the values written are rows `m < count` at
            // `m · stride + o` with `o < width`, inside `dst` and apart (checked above).
            unsafe { x86::scatter(y.as_ptr(), width, count, stride, dst.as_mut_ptr()) };
            return;
        }
        if level >= Level::Avx2 && Level::Avx2.is_available() {
            // SAFETY: the CPU has AVX2; lengths checked above.
            unsafe { x86::scatter8(y, width, count, stride, dst) };
            return;
        }
    }
    let _ = level;
    scatter_portable(y, width, count, stride, dst);
}

/// [`scatter_lanes_at`]'s loops (lengths as it checks them).
#[inline(always)]
fn scatter_portable(y: &[f32], width: usize, count: usize, stride: usize, dst: &mut [f32]) {
    for m in 0..count {
        for o in 0..width {
            dst[m * stride + o] = y[o * GROUP + m];
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86;

#[cfg(test)]
mod tests {
    use super::*;

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
        // The scalar definition of the activation whose kernel `kind` is (none for the identity).
        if let Some(a) = crate::activation::Activation::BY_CODE
            .into_iter()
            .find(|a| a.kind() == Some(kind))
        {
            a.apply_scalar(&mut y);
        }
        y
    }

    /// One model's weights (row-major), biases and inputs.
    type Model = (Vec<f32>, Vec<f32>, Vec<Vec<f32>>);

    #[test]
    fn every_level_and_kind_matches_the_scalar_definition_on_every_lane() {
        for (case, &(k, n)) in [(1, 1), (3, 2), (7, 9), (16, 32), (32, 8), (5, 15), (40, 3)]
            .iter()
            .enumerate()
        {
            for kind in Kind::ALL {
                // Seeded values in [-1, 1): weights, biases, then inputs (doubled).
                let pool = crate::test_support::values(
                    GROUP * (n * k + n + MAX_INPUTS * k),
                    case as u32 + 1,
                );
                let mut pool = pool.into_iter();
                let mut unit = move || pool.next().expect("enough values");
                // Each model with MAX_INPUTS inputs: blocks `j` of `x` and `y`.
                let models: Vec<Model> = (0..GROUP)
                    .map(|_| {
                        let rows = (0..n * k).map(|_| unit()).collect();
                        let bias = (0..n).map(|_| unit()).collect();
                        let xs = (0..MAX_INPUTS)
                            .map(|_| (0..k).map(|_| unit() * 2.0).collect())
                            .collect();
                        (rows, bias, xs)
                    })
                    .collect();
                let (mut w, mut b, mut x) = (
                    vec![0.0; n * k * GROUP],
                    vec![0.0; n * GROUP],
                    vec![0.0; MAX_INPUTS * k * GROUP],
                );
                for (m, (rows, bias, inputs)) in models.iter().enumerate() {
                    interleave_model(rows, bias, m, &mut w, &mut b);
                    for (j, input) in inputs.iter().enumerate() {
                        for (i, v) in input.iter().enumerate() {
                            x[(j * k + i) * GROUP + m] = *v;
                        }
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
                    for count in [1, 3, MAX_INPUTS] {
                        let mut y = vec![f32::NAN; count * n * GROUP];
                        interleaved_dense_at(level, &layer, &x[..count * k * GROUP], &mut y);
                        for (m, (rows, bias, inputs)) in models.iter().enumerate() {
                            for (j, input) in inputs[..count].iter().enumerate() {
                                let want = reference(rows, bias, input, kind);
                                for (o, want) in want.iter().enumerate() {
                                    let got = y[(j * n + o) * GROUP + m];
                                    let tol = 1e-5 + 1e-5 * want.abs();
                                    assert!(
                                        (got - want).abs() <= tol
                                            || (got.is_nan() && want.is_nan()),
                                        "{level:?} {kind:?} {k}→{n}, {count} inputs: model {m} input {j} output {o}: {got} vs {want}"
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn gathers_and_scatters_equal_their_loops_for_every_count() {
        for (width, stride) in [(5, 7), (16, 16), (21, 40), (37, 37)] {
            gather_and_scatter(width, stride);
        }
    }

    fn gather_and_scatter(width: usize, stride: usize) {
        let src: Vec<f32> = (0..GROUP * stride).map(|v| v as f32).collect();
        for count in 0..=GROUP {
            let rows = &src[..count.max(1) * stride];
            let mut plain = vec![f32::NAN; width * GROUP];
            gather_lanes_at(Level::Scalar, rows, stride, count, width, &mut plain);
            let mut plain_out = vec![-1.0; GROUP * stride];
            scatter_lanes_at(Level::Scalar, &plain, width, count, stride, &mut plain_out);
            for m in 0..count {
                assert_eq!(plain_out[m * stride..][..width], src[m * stride..][..width]);
            }
            assert!(plain_out[count * stride..].iter().all(|v| *v == -1.0));
            for level in [Level::Avx2, Level::Avx512] {
                let mut fast = vec![f32::NAN; width * GROUP];
                gather_lanes_at(level, rows, stride, count, width, &mut fast);
                assert_eq!(fast, plain, "{level:?} gather of {count}");
                let mut fast_out = vec![-1.0; GROUP * stride];
                scatter_lanes_at(level, &fast, width, count, stride, &mut fast_out);
                assert_eq!(fast_out, plain_out, "{level:?} scatter of {count}");
            }
        }
    }

    #[test]
    fn weight_indexes_cover_each_slot_once_in_kernel_order() {
        for (k, n) in [(1, 1), (3, 7), (5, 15), (2, 8), (4, 19)] {
            let mut seen = vec![false; k * n];
            for o in 0..n {
                for i in 0..k {
                    let at = weight_index(o, i, k, n);
                    assert!(!seen[at], "{k}→{n}: ({o}, {i}) at {at} twice");
                    seen[at] = true;
                }
            }
            assert!(seen.iter().all(|s| *s));
            // Within a block, consecutive outputs of one input are adjacent.
            assert_eq!(weight_index(1, 0, k, n.max(2)), 1);
        }
    }

    #[test]
    #[should_panic(expected = "interleaved net of 2 layers")]
    fn a_net_whose_layers_do_not_chain_panics() {
        let layer = |inputs, outputs, bias_at| NetLayer {
            inputs,
            outputs,
            kind: Kind::Identity,
            bias_at,
            weights_at: bias_at + outputs * GROUP,
        };
        // 2 → 3, then a layer that takes 4.
        let layers = [layer(2, 3, 0), layer(4, 1, 144)];
        let net = InterleavedNet {
            layers: &layers,
            group_len: 224,
        };
        let mut scratch = vec![0.0; net.scratch_len()];
        interleaved_net_at(
            Level::Scalar,
            &net,
            &[0.0; 224],
            1,
            1,
            &[0.0; 2],
            &mut [0.0; 1],
            &mut scratch,
        );
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
