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

/// The first output and the size of the block that holds output `o` of `n`: blocks of 8, then
/// one each of 4, 2 and 1 as the remainder needs (the kernel's order).
#[inline(always)]
fn block_of(o: usize, n: usize) -> (usize, usize) {
    let mut start = n / 8 * 8;
    if o < start {
        return (o / 8 * 8, 8);
    }
    for size in [4, 2, 1] {
        if n - start >= size {
            if o < start + size {
                return (start, size);
            }
            start += size;
        }
    }
    unreachable!("output {o} of {n}")
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

/// [`group`] for a run-time activation and input count (1 or [`MAX_INPUTS`]).
///
/// # Safety
/// As [`group`].
#[inline(always)]
unsafe fn run_group<V: Lanes>(kind: Kind, inputs: usize, op: Operands) {
    #[inline(always)]
    unsafe fn one<V: Lanes, const K: u8>(op: Operands) {
        // SAFETY: as `run_group`'s caller promises.
        unsafe { group::<V, K, 1>(op) }
    }
    #[inline(always)]
    unsafe fn four<V: Lanes, const K: u8>(op: Operands) {
        // SAFETY: as `run_group`'s caller promises.
        unsafe { group::<V, K, MAX_INPUTS>(op) }
    }
    // SAFETY: as the caller promises.
    unsafe {
        if inputs == MAX_INPUTS {
            crate::with_kind!(kind, four::<V>(op))
        } else {
            crate::with_kind!(kind, one::<V>(op))
        }
    }
}

/// One layer of an [`InterleavedNet`]: its shape and activation, and where its biases
/// (`outputs · GROUP` values) and weights (`outputs · inputs · GROUP`, see [`weight_index`]) start
/// in each group's block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetLayer {
    /// Inputs per model.
    pub inputs: usize,
    /// Outputs per model.
    pub outputs: usize,
    /// The activation.
    pub kind: Kind,
    /// Offset of the biases in a group's block.
    pub bias_at: usize,
    /// Offset of the weights in a group's block.
    pub weights_at: usize,
}

/// Many models of one shape, sixteen to a group: every group is one block of `group_len` values
/// holding each layer's interleaved biases and weights at the offsets its [`NetLayer`] names.
#[derive(Debug, Clone, Copy)]
pub struct InterleavedNet<'a> {
    /// The layers, first to last; each takes as many inputs as the one before gives.
    pub layers: &'a [NetLayer],
    /// Values per group.
    pub group_len: usize,
}

impl InterleavedNet<'_> {
    /// Inputs per model (the first layer's).
    pub fn input_size(&self) -> usize {
        self.layers.first().map_or(0, |l| l.inputs)
    }

    /// Outputs per model (the last layer's).
    pub fn output_size(&self) -> usize {
        self.layers.last().map_or(0, |l| l.outputs)
    }

    /// Scratch values [`interleaved_net_at`] needs: two blocks of [`MAX_INPUTS`] interleaved
    /// values of the widest layer.
    pub fn scratch_len(&self) -> usize {
        let widest = self
            .layers
            .iter()
            .map(|l| l.inputs.max(l.outputs))
            .max()
            .unwrap_or(0);
        2 * MAX_INPUTS * widest * GROUP
    }

    /// Whether the layers chain, none is empty and every block fits `group_len`.
    fn is_consistent(&self) -> bool {
        let chained = self.layers.windows(2).all(|w| w[0].outputs == w[1].inputs);
        let sized = self.layers.iter().all(|l| l.inputs > 0 && l.outputs > 0);
        let inside = self.layers.iter().all(|l| {
            let ends = (
                l.outputs
                    .checked_mul(GROUP)
                    .and_then(|b| b.checked_add(l.bias_at)),
                l.outputs
                    .checked_mul(l.inputs)
                    .and_then(|w| w.checked_mul(GROUP))
                    .and_then(|w| w.checked_add(l.weights_at)),
            );
            matches!(ends, (Some(b), Some(w)) if b <= self.group_len && w <= self.group_len)
        });
        !self.layers.is_empty() && chained && sized && inside
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

/// The body of [`interleaved_net_at`] on registers `V`, with the level's way of moving values
/// into and out of the lanes.
///
/// # Safety
/// The CPU has `V`'s features; the lengths are as [`interleaved_net_at`] checks them.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn net_body<V: Lanes>(
    net: &InterleavedNet<'_>,
    values: &[f32],
    models: usize,
    k: usize,
    inputs: &[f32],
    outputs: &mut [f32],
    scratch: &mut [f32],
    gather: impl Fn(&[f32], usize, usize, usize, &mut [f32]),
    scatter: impl Fn(&[f32], usize, usize, usize, &mut [f32]),
) {
    let (in_size, out_size) = (net.input_size(), net.output_size());
    let half = scratch.len() / 2;
    for g in 0..models.div_ceil(GROUP) {
        let first = g * GROUP;
        let count = GROUP.min(models - first);
        let block = &values[g * net.group_len..][..net.group_len];
        let mut j0 = 0;
        while j0 < k {
            let jn = MAX_INPUTS.min(k - j0);
            let (mut x, mut y) = scratch.split_at_mut(half);
            for j in 0..jn {
                gather(
                    &inputs[(first * k + j0 + j) * in_size..],
                    k * in_size,
                    count,
                    in_size,
                    &mut x[j * in_size * GROUP..][..in_size * GROUP],
                );
            }
            for l in net.layers {
                // Four inputs share one pass over the weights; fewer run one at a time.
                let (passes, per_pass) = if jn == MAX_INPUTS {
                    (1, MAX_INPUTS)
                } else {
                    (jn, 1)
                };
                for p in 0..passes {
                    let op = Operands {
                        k: l.inputs,
                        n: l.outputs,
                        w: block[l.weights_at..].as_ptr(),
                        b: block[l.bias_at..].as_ptr(),
                        x: x[p * l.inputs * GROUP..].as_ptr(),
                        xs: l.inputs * GROUP,
                        y: y[p * l.outputs * GROUP..].as_mut_ptr(),
                        ys: l.outputs * GROUP,
                    };
                    // SAFETY: the block holds the layer's biases and weights (checked by
                    // `is_consistent`), the scratch halves `MAX_INPUTS` blocks of the widest
                    // layer; the CPU has `V`'s features, as the caller promises.
                    unsafe { run_group::<V>(l.kind, per_pass, op) };
                }
                std::mem::swap(&mut x, &mut y);
            }
            for j in 0..jn {
                scatter(
                    &x[j * out_size * GROUP..][..out_size * GROUP],
                    out_size,
                    count,
                    k * out_size,
                    &mut outputs[(first * k + j0 + j) * out_size..],
                );
            }
            j0 += jn;
        }
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

/// Inputs per model that one pass over the weights serves (see [`interleaved_dense_at`]).
pub const MAX_INPUTS: usize = 4;

/// Where a pass reads and writes: the layer's weights and biases, `J` input blocks `xs` values
/// apart and `J` output blocks `ys` values apart.
#[derive(Clone, Copy)]
struct Operands {
    k: usize,
    n: usize,
    w: *const f32,
    b: *const f32,
    x: *const f32,
    xs: usize,
    y: *mut f32,
    ys: usize,
}

impl Operands {
    /// The same operands `lane` lanes further.
    ///
    /// # Safety
    /// `lane < GROUP`.
    #[inline(always)]
    unsafe fn at_lane(self, lane: usize) -> Operands {
        // SAFETY: every pointer addresses a layout whose rows are GROUP values wide.
        unsafe {
            Operands {
                w: self.w.add(lane),
                b: self.b.add(lane),
                x: self.x.add(lane),
                y: self.y.add(lane),
                ..self
            }
        }
    }
}

/// One group for `J` inputs per model, in passes of `V::LANES` models.
///
/// # Safety
/// The CPU has `V`'s features; the pointers hold the layouts of [`InterleavedDense`] for `k`
/// inputs and `n` outputs, `J` input and output blocks.
#[inline(always)]
unsafe fn group<V: Lanes, const K: u8, const J: usize>(op: Operands) {
    let mut lane = 0;
    while lane < GROUP {
        // SAFETY: as the caller promises; `lane + V::LANES ≤ GROUP` (LANES divides GROUP).
        unsafe { pass::<V, K, J>(op.at_lane(lane)) };
        lane += V::LANES;
    }
}

/// `V::LANES` models of a group, from the lane the pointers start at, then softmax across the
/// outputs if asked. One input per model: the weight layout's blocks of 8, 4, 2 and 1 outputs
/// (eight accumulators hide the multiply-add latency, each input loaded once per block). More:
/// sub-blocks of at most 4 outputs (2 with 8-lane registers), so that `J × B` accumulators
/// fit the registers and each weight loaded serves all `J` inputs.
///
/// # Safety
/// As [`group`], with the pointers offset to the first lane of the pass.
#[inline(always)]
unsafe fn pass<V: Lanes, const K: u8, const J: usize>(op: Operands) {
    let n = op.n;
    let mut start = 0;
    // SAFETY: as the caller promises; every block's outputs are below `n`.
    unsafe {
        while start < n {
            let (_, size) = block_of(start, n);
            if J == 1 {
                match size {
                    8 => block::<V, K, 8, J>(start, size, 0, op),
                    4 => block::<V, K, 4, J>(start, size, 0, op),
                    2 => block::<V, K, 2, J>(start, size, 0, op),
                    _ => block::<V, K, 1, J>(start, size, 0, op),
                }
            } else {
                let widest = if V::LANES >= 16 { 4 } else { 2 };
                let mut sub = 0;
                while sub < size {
                    let b = widest.min(size - sub);
                    match b {
                        4 => block::<V, K, 4, J>(start, size, sub, op),
                        2 => block::<V, K, 2, J>(start, size, sub, op),
                        _ => block::<V, K, 1, J>(start, size, sub, op),
                    }
                    sub += b;
                }
            }
            start += size;
        }
        if K == Kind::Softmax as u8 && n > 0 {
            for j in 0..J {
                softmax::<V>(n, op.y.add(j * op.ys));
            }
        }
    }
}

/// Outputs `start + sub .. start + sub + B` of a pass, inside the weight layout's block of `size`
/// outputs from `start`, for each of the `J` inputs.
///
/// # Safety
/// As [`pass`], and `sub + B ≤ size`, the block one of the layout's.
#[inline(always)]
unsafe fn block<V: Lanes, const K: u8, const B: usize, const J: usize>(
    start: usize,
    size: usize,
    sub: usize,
    op: Operands,
) {
    let o0 = start + sub;
    // SAFETY: every offset is inside the layouts (`o < n`, `i < k`, `j < J`), as the caller
    // promises.
    unsafe {
        let mut acc = [[V::splat(0.0); B]; J];
        for (o, a) in acc[0].iter_mut().enumerate() {
            *a = V::load(op.b.add((o0 + o) * GROUP));
        }
        for j in 1..J {
            acc[j] = acc[0];
        }
        let w = op.w.add((start * op.k + sub) * GROUP);
        for i in 0..op.k {
            let mut xi = [V::splat(0.0); J];
            for (j, x) in xi.iter_mut().enumerate() {
                *x = V::load(op.x.add(j * op.xs + i * GROUP));
            }
            // One weight load serves every input: the loop over `o` is outermost.
            #[allow(clippy::needless_range_loop)]
            for o in 0..B {
                let wv = V::load(w.add((i * size + o) * GROUP));
                for (row, x) in acc.iter_mut().zip(&xi) {
                    row[o] = wv.mul_add(*x, row[o]);
                }
            }
        }
        for (j, row) in acc.into_iter().enumerate() {
            for (o, a) in row.into_iter().enumerate() {
                // Softmax needs every output first (see `pass`).
                let v = if K == Kind::Softmax as u8 {
                    a
                } else {
                    apply::<K, V>(a)
                };
                v.store(op.y.add(j * op.ys + (o0 + o) * GROUP));
            }
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
    use super::{GROUP, InterleavedNet, Kind, Operands, net_body, run_group};
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
                    unsafe {
                        _mm256_storeu_ps(x.as_mut_ptr().add((i0 + i) * GROUP + half * 8), *col)
                    };
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
                    unsafe {
                        _mm256_maskstore_ps(dst.as_mut_ptr().add(m * stride + o0), mask, *row)
                    };
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
}

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
        if let Some(a) = crate::Activation::BY_CODE
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
