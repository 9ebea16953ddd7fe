//! `SmallChain`: a narrow sequential model (dense layers of at most 32 outputs each, and
//! elementwise steps on the current values: ADD/MUL by parameters, CLIP, activations) run one
//! sample at a time with the current values kept in two AVX-512 registers (at AVX2: four 8-lane
//! registers, stored whole into a padded buffer), one dispatch per sample. The interpreter's
//! per-sample path for tiny nets, input standardisation and folded batch norms included.

use crate::fast::Kind;
use crate::simd::Level;

/// Values a step may produce: two AVX-512 registers.
pub const MAX_WIDTH: usize = 32;

/// One layer: weights by input, each input's 32 output weights zero-padded.
#[derive(Debug, Clone)]
struct Layer {
    inputs: usize,
    outputs: usize,
    /// `columns[i · 32 + o]` is the format's `weights[o][i]`; zero for `o ≥ outputs`.
    columns: Vec<f32>,
    /// Zero past `outputs`.
    bias: [f32; MAX_WIDTH],
    kind: Kind,
}

/// One step of a built chain; parameters are zero-padded to 32 lanes.
#[derive(Debug, Clone)]
enum Stage {
    Dense(Layer),
    Add([f32; MAX_WIDTH]),
    Mul([f32; MAX_WIDTH]),
    Clip {
        min: Option<[f32; MAX_WIDTH]>,
        max: Option<[f32; MAX_WIDTH]>,
    },
    Activation(Kind),
}

/// A dense layer as the format stores it: `rows` (`outputs × inputs`, row-major), `bias`
/// (`outputs`), the activation.
#[derive(Debug, Clone, Copy)]
pub struct LayerSpec<'a> {
    /// `outputs × inputs` weights, row-major.
    pub rows: &'a [f32],
    /// One per output.
    pub bias: &'a [f32],
    /// Input values.
    pub inputs: usize,
    /// Output values.
    pub outputs: usize,
    /// The activation (`Identity` for none).
    pub kind: Kind,
}

/// One step of a chain, as the format's instructions give it; each reads the current values
/// (the sample's, then the last dense layer's outputs).
#[derive(Debug, Clone, Copy)]
pub enum StageSpec<'a> {
    /// A dense layer, which replaces the current values by its outputs.
    Dense(LayerSpec<'a>),
    /// `x[i] += p[i]` (ADD_ELEMENTWISE).
    Add(&'a [f32]),
    /// `x[i] *= p[i]` (MUL_ELEMENTWISE).
    Mul(&'a [f32]),
    /// `x[i] = min(max(x[i], min[i]), max[i])`, either bound optional (CLIP_ELEMENTWISE).
    Clip {
        /// Lower bounds.
        min: Option<&'a [f32]>,
        /// Upper bounds.
        max: Option<&'a [f32]>,
    },
    /// An activation in place (ACTIVATION).
    Activation(Kind),
}

/// A narrow sequential model compiled for AVX-512 or AVX2.
#[derive(Debug, Clone)]
pub struct SmallChain {
    stages: Vec<Stage>,
    feature_size: usize,
    output_size: usize,
    /// AVX-512 (values in two 16-lane registers); else AVX2 (values in a padded buffer, four
    /// 8-lane registers a step).
    avx512: bool,
}

/// Zero-padded parameters of exactly `width ≤ 32` values.
fn padded(p: &[f32], width: usize) -> Option<[f32; MAX_WIDTH]> {
    if p.len() != width || width > MAX_WIDTH {
        return None;
    }
    let mut out = [0.0f32; MAX_WIDTH];
    out[..width].copy_from_slice(p);
    Some(out)
}

impl SmallChain {
    /// The chain for `stages` on samples of `feature_size` values at `level` (AVX-512, else
    /// AVX2 when the level allows it and the CPU has it), or `None` when it does not apply: the
    /// scalar level or a CPU without AVX2, no dense layer, a layer wider than [`MAX_WIDTH`], an
    /// elementwise step on more than [`MAX_WIDTH`] values, or sizes that do not fit together.
    pub fn new(level: Level, feature_size: usize, stages: &[StageSpec<'_>]) -> Option<SmallChain> {
        let wide = level == Level::Avx512 && Level::Avx512.is_available();
        let narrow = !wide && level >= Level::Avx2 && Level::Avx2.is_available();
        let dense = stages.iter().any(|s| matches!(s, StageSpec::Dense(_)));
        if !(wide || narrow) || !dense {
            return None;
        }
        let mut width = feature_size;
        let mut built = Vec::with_capacity(stages.len());
        for stage in stages {
            // Every elementwise step works on the current values in two registers (AVX-512) or
            // one 32-value buffer (AVX2): none on more than 32 values, whatever its parameters
            // (a CLIP without bounds has none to check the width against).
            if !matches!(stage, StageSpec::Dense(_)) && width > MAX_WIDTH {
                return None;
            }
            let step = match *stage {
                StageSpec::Dense(l) => {
                    let fits = l.outputs <= MAX_WIDTH
                        && l.inputs == width
                        && l.outputs.checked_mul(l.inputs) == Some(l.rows.len())
                        && l.bias.len() == l.outputs;
                    let (true, Some(size)) = (fits, l.inputs.checked_mul(MAX_WIDTH)) else {
                        return None;
                    };
                    let mut columns = vec![0.0f32; size];
                    for o in 0..l.outputs {
                        for i in 0..l.inputs {
                            columns[i * MAX_WIDTH + o] = l.rows[o * l.inputs + i];
                        }
                    }
                    let mut bias = [0.0f32; MAX_WIDTH];
                    bias[..l.outputs].copy_from_slice(l.bias);
                    width = l.outputs;
                    Stage::Dense(Layer {
                        inputs: l.inputs,
                        outputs: l.outputs,
                        columns,
                        bias,
                        kind: l.kind,
                    })
                }
                StageSpec::Add(p) => Stage::Add(padded(p, width)?),
                StageSpec::Mul(p) => Stage::Mul(padded(p, width)?),
                StageSpec::Clip { min, max } => {
                    let bound = |b: Option<&[f32]>| match b {
                        None => Some(None),
                        Some(p) => padded(p, width).map(Some),
                    };
                    Stage::Clip {
                        min: bound(min)?,
                        max: bound(max)?,
                    }
                }
                StageSpec::Activation(kind) => Stage::Activation(kind),
            };
            built.push(step);
        }
        Some(SmallChain {
            stages: built,
            feature_size,
            output_size: width,
            avx512: wide,
        })
    }

    /// Input values per sample.
    pub fn feature_size(&self) -> usize {
        self.feature_size
    }

    /// Output values per sample.
    pub fn output_size(&self) -> usize {
        self.output_size
    }

    /// Whether every step is a dense layer of at most `outputs` outputs.
    pub fn is_dense_chain_at_most(&self, outputs: usize) -> bool {
        self.stages
            .iter()
            .all(|s| matches!(s, Stage::Dense(l) if l.outputs <= outputs))
    }

    /// One sample: `x` has [`feature_size`](Self::feature_size) values, `y` receives
    /// [`output_size`](Self::output_size).
    ///
    /// # Panics
    /// When the lengths differ from those.
    #[inline]
    pub fn run(&self, x: &[f32], y: &mut [f32]) {
        assert!(
            x.len() == self.feature_size() && y.len() == self.output_size(),
            "small chain: {} inputs and {} outputs for a chain of {} → {}",
            x.len(),
            y.len(),
            self.feature_size(),
            self.output_size()
        );
        #[cfg(target_arch = "x86_64")]
        if self.avx512 {
            // SAFETY: `new` builds an AVX-512 chain only on a CPU with AVX-512; lengths checked.
            unsafe { avx512::run(&self.stages, x, y) };
        } else {
            // SAFETY: `new` builds an AVX2 chain only on a CPU with AVX2 and FMA; lengths
            // checked.
            unsafe { avx2::run(&self.stages, x, y) };
        }
        #[cfg(not(target_arch = "x86_64"))]
        unreachable!("SmallChain::new returns None without AVX2 or AVX-512");
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{Layer, MAX_WIDTH, Stage};
    use crate::fast::{Kind, apply};
    use crate::vector::{F32x16, accumulate_dense, first_lanes};
    use std::arch::x86_64::*;

    /// Up to this many inputs from registers are taken by lane permutations; more are stored
    /// and read back as broadcasts (measured: 7 inputs faster by permutation, 32 by memory).
    const PERMUTE_INPUTS: usize = 8;

    /// Where a layer's inputs come from.
    #[derive(Clone, Copy)]
    enum Source<'a> {
        Memory(&'a [f32]),
        Registers(__m512, __m512),
    }

    /// # Safety
    /// AVX-512 available; the stages fit `x`'s length and each other (as `SmallChain::new`
    /// checked), every value count after the sample's at most 32, `y` as long as the last.
    #[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")]
    pub(super) unsafe fn run(stages: &[Stage], x: &[f32], y: &mut [f32]) {
        let mut source = Source::Memory(x);
        let mut width = x.len();
        for stage in stages {
            let (lo, hi) = match stage {
                Stage::Dense(layer) => {
                    let (lo, hi) = dense(layer, source);
                    width = layer.outputs;
                    match layer.kind {
                        Kind::Softmax => softmax(lo, hi, width),
                        kind => activate(kind, lo, hi),
                    }
                }
                elementwise => {
                    // SAFETY: `new` admits elementwise steps on at most 32 values only.
                    let (lo, hi) = unsafe { registers(source, width) };
                    step(elementwise, lo, hi, width)
                }
            };
            source = Source::Registers(lo, hi);
        }
        // SAFETY: every chain has a stage, so the values are in registers by now.
        let (lo, hi) = unsafe { registers(source, width) };
        if let [one] = y {
            // A single output (most regressions) leaves its lane directly: one plain store,
            // which the caller's read of it is forwarded from.
            *one = _mm_cvtss_f32(_mm512_castps512_ps128(lo));
            return;
        }
        // Whole stores and a short copy, not masked stores into `y`: the caller reads the
        // outputs next, and the CPU does not forward masked stores to loads.
        let mut block = [0.0f32; MAX_WIDTH];
        // SAFETY: `block` holds 32 values.
        unsafe {
            _mm512_storeu_ps(block.as_mut_ptr(), lo);
            _mm512_storeu_ps(block.as_mut_ptr().add(16), hi);
        }
        let n = y.len();
        crate::copy::copy_short(y, &block[..n]);
    }

    /// The current values in two registers (lanes past `width` zero when they come from memory).
    ///
    /// # Safety
    /// AVX-512 is available; a `Memory` source holds `width ≤ 32` values.
    #[inline(always)]
    unsafe fn registers(source: Source<'_>, width: usize) -> (__m512, __m512) {
        match source {
            Source::Registers(lo, hi) => (lo, hi),
            // SAFETY: the masks read only the `width` values (the upper half's address is
            // formed with `wrapping_add`: not accessed when its mask is empty).
            Source::Memory(x) => unsafe {
                (
                    _mm512_maskz_loadu_ps(first_lanes(width), x.as_ptr()),
                    _mm512_maskz_loadu_ps(
                        first_lanes(width.saturating_sub(16)),
                        x.as_ptr().wrapping_add(16),
                    ),
                )
            },
        }
    }

    /// An elementwise stage on the current `width` values.
    #[inline(always)]
    fn step(stage: &Stage, lo: __m512, hi: __m512, width: usize) -> (__m512, __m512) {
        // SAFETY: AVX-512 is available (`run`'s contract); every parameter array holds 32.
        unsafe {
            // A macro, not a closure: a closure here would not inherit the target features.
            macro_rules! load {
                ($p:expr) => {
                    (
                        _mm512_loadu_ps($p.as_ptr()),
                        _mm512_loadu_ps($p.as_ptr().add(16)),
                    )
                };
            }
            match stage {
                Stage::Add(p) => {
                    let (a, b) = load!(p);
                    (_mm512_add_ps(lo, a), _mm512_add_ps(hi, b))
                }
                Stage::Mul(p) => {
                    let (a, b) = load!(p);
                    (_mm512_mul_ps(lo, a), _mm512_mul_ps(hi, b))
                }
                Stage::Clip { min, max } => {
                    // `max_ps`/`min_ps` return their second operand for a NaN: the bound, as
                    // `f32::max`/`f32::min` do.
                    let (mut lo, mut hi) = (lo, hi);
                    if let Some(m) = min {
                        let (a, b) = load!(m);
                        (lo, hi) = (_mm512_max_ps(lo, a), _mm512_max_ps(hi, b));
                    }
                    if let Some(m) = max {
                        let (a, b) = load!(m);
                        (lo, hi) = (_mm512_min_ps(lo, a), _mm512_min_ps(hi, b));
                    }
                    (lo, hi)
                }
                Stage::Activation(Kind::Softmax) => softmax(lo, hi, width),
                Stage::Activation(kind) => activate(*kind, lo, hi),
                Stage::Dense(_) => (lo, hi),
            }
        }
    }

    /// Input `i` broadcast to every lane.
    ///
    /// # Safety
    /// AVX-512 is available, and `i` is below the layer's input count, which is the length of a
    /// `Memory` source (the sample, checked by `SmallChain::run`, or the stored previous layer)
    /// and at most 32 for `Registers`.
    #[inline(always)]
    unsafe fn input(source: Source<'_>, i: usize) -> __m512 {
        // SAFETY: as the caller promises.
        unsafe {
            match source {
                Source::Memory(x) => _mm512_set1_ps(*x.get_unchecked(i)),
                Source::Registers(lo, hi) => {
                    let lane = _mm512_set1_epi32((i % 16) as i32);
                    _mm512_permutexvar_ps(lane, if i < 16 { lo } else { hi })
                }
            }
        }
    }

    /// `W·x + b` of one layer, in two registers (zero past the outputs).
    #[inline(always)]
    fn dense(layer: &Layer, source: Source<'_>) -> (__m512, __m512) {
        // Many inputs from registers are stored once and then read as broadcasts, which fold
        // into the multiply-adds (cheaper than a lane permutation per input).
        let mut stored = [0.0f32; MAX_WIDTH];
        let source = match source {
            Source::Registers(lo, hi) if layer.inputs > PERMUTE_INPUTS => {
                // SAFETY: AVX-512 is available (`run`'s contract); `stored` holds 32 values.
                unsafe {
                    _mm512_storeu_ps(stored.as_mut_ptr(), lo);
                    _mm512_storeu_ps(stored.as_mut_ptr().add(16), hi);
                }
                Source::Memory(&stored[..layer.inputs])
            }
            other => other,
        };
        let w = layer.columns.as_ptr();
        let two = layer.outputs > 16;
        // SAFETY: AVX-512 is available (`run`'s contract); `bias` holds 32 values.
        let bias = unsafe {
            (
                _mm512_loadu_ps(layer.bias.as_ptr()),
                _mm512_loadu_ps(layer.bias.as_ptr().add(16)),
            )
        };
        // The sums over `$k` inputs read by `$input`; a constant `$k` unrolls the loop (one copy
        // per source and small input count: measured 2 ns of a 2→7→1 net's 18 ns in loop
        // control otherwise).
        macro_rules! sums {
            ($k:expr, $input:expr) => {
                // SAFETY: AVX-512 is available (`run`'s contract); `columns` holds
                // `inputs · 32` values and every load reads 16 of them at `i · 32` or
                // `i · 32 + 16` with `i < inputs`; the source holds `inputs` values (see
                // `input`).
                unsafe {
                    accumulate_dense($k, two, bias, $input, |i, half| {
                        _mm512_loadu_ps(w.add(i * MAX_WIDTH + half))
                    })
                }
            };
        }
        macro_rules! unrolled {
            ($input:expr) => {
                match layer.inputs {
                    1 => sums!(1, $input),
                    2 => sums!(2, $input),
                    3 => sums!(3, $input),
                    4 => sums!(4, $input),
                    5 => sums!(5, $input),
                    6 => sums!(6, $input),
                    7 => sums!(7, $input),
                    8 => sums!(8, $input),
                    k => sums!(k, $input),
                }
            };
        }
        // The closures run inside `sums!`'s unsafe block: `i < inputs`, the source's length
        // (see `input`).
        match source {
            Source::Memory(x) => unrolled!(|i| input(Source::Memory(x), i)),
            Source::Registers(lo, hi) => unrolled!(|i| input(Source::Registers(lo, hi), i)),
        }
    }

    /// Softmax over the first `n` lanes (through memory: it needs all of them at once).
    #[inline(always)]
    fn softmax(lo: __m512, hi: __m512, n: usize) -> (__m512, __m512) {
        let mut block = [0.0f32; MAX_WIDTH];
        // SAFETY: AVX-512 is available (`run`'s contract); `block` holds 32 values.
        unsafe {
            _mm512_storeu_ps(block.as_mut_ptr(), lo);
            _mm512_storeu_ps(block.as_mut_ptr().add(16), hi);
            crate::fast::activate_inline(Kind::Softmax, &mut block[..n]);
            (
                _mm512_loadu_ps(block.as_ptr()),
                _mm512_loadu_ps(block.as_ptr().add(16)),
            )
        }
    }

    /// The layer's elementwise activation on its two registers (lanes past the outputs get
    /// some value too; no later layer reads them and the final store leaves them out).
    #[inline(always)]
    fn activate(kind: Kind, lo: __m512, hi: __m512) -> (__m512, __m512) {
        #[inline(always)]
        fn both<const K: u8>(lo: __m512, hi: __m512) -> (__m512, __m512) {
            (
                apply::<K, F32x16>(F32x16(lo)).0,
                apply::<K, F32x16>(F32x16(hi)).0,
            )
        }
        crate::with_kind!(kind, both(lo, hi))
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{Layer, MAX_WIDTH, Stage};
    use crate::fast::{Kind, apply};
    use crate::vector::F32x8;
    use std::arch::x86_64::*;

    /// # Safety
    /// AVX2 and FMA available; the stages fit `x`'s length and each other (as
    /// `SmallChain::new` checked), every value count after the sample's at most 32, `y` as long
    /// as the last.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn run(stages: &[Stage], x: &[f32], y: &mut [f32]) {
        // The current values live in one of two padded buffers (or still in `x`): a dense layer
        // writes the other with whole stores and the next step reads them back (broadcasts, or
        // whole loads for elementwise steps).
        let mut buffers = [[0.0f32; MAX_WIDTH]; 2];
        let mut current: Option<usize> = None;
        let mut width = x.len();
        for stage in stages {
            match stage {
                Stage::Dense(layer) => {
                    let next = current.map_or(0, |c| 1 - c);
                    let [a, b] = &mut buffers;
                    let (out, prev) = if next == 0 { (a, &*b) } else { (b, &*a) };
                    let input: &[f32] = match current {
                        None => x,
                        Some(_) => &prev[..layer.inputs],
                    };
                    // SAFETY: AVX2 and FMA as the caller promises; `input` holds `layer.inputs`
                    // values.
                    unsafe {
                        match layer.outputs.div_ceil(8) {
                            1 => layer_into::<1>(layer, input, out),
                            2 => layer_into::<2>(layer, input, out),
                            3 => layer_into::<3>(layer, input, out),
                            _ => layer_into::<4>(layer, input, out),
                        }
                    }
                    if layer.kind == Kind::Softmax {
                        crate::fast::activate_inline(Kind::Softmax, &mut out[..layer.outputs]);
                    }
                    current = Some(next);
                    width = layer.outputs;
                }
                elementwise => {
                    let c = current.unwrap_or_else(|| {
                        // `new` admits elementwise steps on at most 32 values only.
                        crate::copy::copy_short(&mut buffers[0][..width], x);
                        0
                    });
                    // SAFETY: AVX2 and FMA as the caller promises.
                    unsafe { step(elementwise, &mut buffers[c], width) };
                    current = Some(c);
                }
            }
        }
        // Every chain has a dense layer, so the values are in a buffer.
        let last = &buffers[current.unwrap_or(0)];
        let n = y.len();
        crate::copy::copy_short(y, &last[..n]);
    }

    /// An elementwise stage on the first `width` values of `values` (all 32 lanes are
    /// computed; those past `width` are never read).
    ///
    /// # Safety
    /// AVX2 and FMA available.
    #[inline(always)]
    unsafe fn step(stage: &Stage, values: &mut [f32; MAX_WIDTH], width: usize) {
        if let Stage::Activation(Kind::Softmax) = stage {
            crate::fast::activate_inline(Kind::Softmax, &mut values[..width]);
            return;
        }
        // SAFETY: AVX2 as the caller promises; `values` and every parameter array hold 32.
        unsafe {
            let mut v = [_mm256_setzero_ps(); 4];
            for (b, r) in v.iter_mut().enumerate() {
                *r = _mm256_loadu_ps(values.as_ptr().add(b * 8));
            }
            // A macro, not a closure: a closure here would not inherit the target features.
            macro_rules! each {
                ($p:expr, $op:ident) => {
                    for (b, r) in v.iter_mut().enumerate() {
                        *r = $op(*r, _mm256_loadu_ps($p.as_ptr().add(b * 8)));
                    }
                };
            }
            match stage {
                Stage::Add(p) => each!(p, _mm256_add_ps),
                Stage::Mul(p) => each!(p, _mm256_mul_ps),
                Stage::Clip { min, max } => {
                    // `max_ps`/`min_ps` return their second operand for a NaN: the bound, as
                    // `f32::max`/`f32::min` do.
                    if let Some(m) = min {
                        each!(m, _mm256_max_ps);
                    }
                    if let Some(m) = max {
                        each!(m, _mm256_min_ps);
                    }
                }
                Stage::Activation(kind) => v = activate(*kind, v),
                Stage::Dense(_) => {}
            }
            for (b, r) in v.iter().enumerate() {
                _mm256_storeu_ps(values.as_mut_ptr().add(b * 8), *r);
            }
        }
    }

    /// One layer of `B` 8-lane output blocks, activated, stored whole into `out`.
    ///
    /// # Safety
    /// AVX2 and FMA available; `input` holds `layer.inputs` values; `B · 8 ≤ 32`.
    #[inline(always)]
    unsafe fn layer_into<const B: usize>(layer: &Layer, input: &[f32], out: &mut [f32; MAX_WIDTH]) {
        let w = layer.columns.as_ptr();
        let k = layer.inputs;
        // SAFETY: AVX2 as the caller promises; `columns` holds `k · 32` values and the loads
        // read `B · 8 ≤ 32` of them at `i · 32` with `i < k`; `bias` and `out` hold 32.
        unsafe {
            let mut acc = [[_mm256_setzero_ps(); B]; 2];
            for (b, r) in acc[0].iter_mut().enumerate() {
                *r = _mm256_loadu_ps(layer.bias.as_ptr().add(b * 8));
            }
            let mut i = 0;
            while i < k {
                let set = &mut acc[i % 2];
                let xi = _mm256_set1_ps(*input.get_unchecked(i));
                for (b, r) in set.iter_mut().enumerate() {
                    *r = _mm256_fmadd_ps(_mm256_loadu_ps(w.add(i * MAX_WIDTH + b * 8)), xi, *r);
                }
                i += 1;
            }
            let mut sums = [_mm256_setzero_ps(); B];
            for (b, s) in sums.iter_mut().enumerate() {
                *s = _mm256_add_ps(acc[0][b], acc[1][b]);
            }
            let sums = activate(layer.kind, sums);
            for (b, s) in sums.iter().enumerate() {
                _mm256_storeu_ps(out.as_mut_ptr().add(b * 8), *s);
            }
        }
    }

    /// The layer's elementwise activation on its registers (SOFTMAX is done on the buffer).
    #[inline(always)]
    fn activate<const B: usize>(kind: Kind, mut v: [__m256; B]) -> [__m256; B] {
        #[inline(always)]
        fn each<const K: u8>(v: &mut [__m256]) {
            for r in v.iter_mut() {
                *r = apply::<K, F32x8>(F32x8(*r)).0;
            }
        }
        crate::with_kind!(kind, each(&mut v));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absurd_sizes_give_none_rather_than_a_wrapped_chain() {
        let huge = LayerSpec {
            rows: &[],
            bias: &[],
            inputs: usize::MAX / 16,
            outputs: 0,
            kind: Kind::Identity,
        };
        let chain = |feature_size, layer| {
            SmallChain::new(Level::Avx512, feature_size, &[StageSpec::Dense(layer)])
        };
        assert!(chain(usize::MAX / 16, huge).is_none());
        let wrapped = LayerSpec {
            inputs: 1 << 62,
            outputs: 4,
            ..huge
        };
        assert!(chain(1 << 62, wrapped).is_none());
        assert!(SmallChain::new(Level::Avx512, 3, &[]).is_none());
        // Elementwise steps only (no dense layer), or on more than 32 values: no chain.
        let p = [1.0f32; 40];
        assert!(SmallChain::new(Level::Avx512, 3, &[StageSpec::Add(&p[..3])]).is_none());
        let layer = LayerSpec {
            rows: &[0.5; 40],
            bias: &[0.0],
            inputs: 40,
            outputs: 1,
            kind: Kind::Identity,
        };
        let stages = [StageSpec::Mul(&p), StageSpec::Dense(layer)];
        assert!(SmallChain::new(Level::Avx512, 40, &stages).is_none());
        // A CLIP without bounds has no parameters to betray its width: still no chain on 40.
        for level in [Level::Avx2, Level::Avx512] {
            let unbounded = StageSpec::Clip {
                min: None,
                max: None,
            };
            assert!(SmallChain::new(level, 40, &[unbounded, StageSpec::Dense(layer)]).is_none());
        }
    }

    #[test]
    fn chains_exist_at_avx2_and_avx512_only_and_compute_every_step() {
        let layer = LayerSpec {
            rows: &[1.0, 2.0],
            bias: &[0.5],
            inputs: 2,
            outputs: 1,
            kind: Kind::Relu,
        };
        let (shift, scale, lo, hi) = ([1.0, -1.0], [2.0, 0.5], [-1.0], [4.0]);
        let stages = [
            StageSpec::Add(&shift),
            StageSpec::Mul(&scale),
            StageSpec::Dense(layer),
            StageSpec::Clip {
                min: Some(&lo),
                max: Some(&hi),
            },
            StageSpec::Activation(Kind::Inverse),
        ];
        assert!(SmallChain::new(Level::Scalar, 2, &stages).is_none());
        for level in [Level::Avx2, Level::Avx512] {
            let Some(chain) = SmallChain::new(level, 2, &stages) else {
                assert!(!level.is_available());
                continue;
            };
            let mut y = [0.0];
            // x = (1, -2): shifted (2, -3), scaled (4, -1.5), dense relu(4 - 3 + 0.5) = 1.5,
            // clipped 1.5, inverse -0.5.
            chain.run(&[1.0, -2.0], &mut y);
            assert_eq!(y, [-0.5], "{level:?}");
            // x = (3, 1): (4, 0), (8, 0), relu(8.5) = 8.5, clipped 4, inverse -3.
            chain.run(&[3.0, 1.0], &mut y);
            assert_eq!(y, [-3.0], "{level:?}");
            // NaN in: relu gives 0, so 1 - 0.
            chain.run(&[f32::NAN, 1.0], &mut y);
            assert_eq!(y, [1.0], "{level:?}");
        }
    }
}
