//! `SmallChain`: a chain of dense layers of at most 32 outputs each, run one sample at a time
//! with every layer's outputs kept in two AVX-512 registers (at AVX2: four 8-lane registers,
//! stored whole into a padded buffer), one dispatch per sample. The interpreter's per-sample
//! path for tiny nets.

use crate::fast::Kind;
use crate::simd::Level;

/// Outputs a layer may have: two AVX-512 registers.
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

/// Several dense layers, each reading the previous one's outputs, each at most
/// [`MAX_WIDTH`] outputs wide, compiled for AVX-512 or AVX2.
#[derive(Debug, Clone)]
pub struct SmallChain {
    layers: Vec<Layer>,
    /// AVX-512 (outputs in two 16-lane registers); else AVX2 (outputs in a padded buffer, four
    /// 8-lane registers a layer).
    avx512: bool,
}

impl SmallChain {
    /// The chain for `layers` at `level` (AVX-512, else AVX2 when the level allows it and the
    /// CPU has it), or `None` when it does not apply: the scalar level or a CPU without AVX2,
    /// no layers, a layer wider than [`MAX_WIDTH`], a layer whose inputs are not the previous
    /// one's outputs, or weights of the wrong size.
    pub fn new(level: Level, layers: &[LayerSpec<'_>]) -> Option<SmallChain> {
        let wide = level == Level::Avx512 && Level::Avx512.is_available();
        let narrow = !wide && level >= Level::Avx2 && Level::Avx2.is_available();
        if !(wide || narrow) || layers.is_empty() {
            return None;
        }
        let mut built = Vec::with_capacity(layers.len());
        for (n, l) in layers.iter().enumerate() {
            let fits = l.outputs <= MAX_WIDTH
                && l.outputs.checked_mul(l.inputs) == Some(l.rows.len())
                && l.bias.len() == l.outputs
                && (n == 0 || l.inputs == layers[n - 1].outputs);
            let padded = l.inputs.checked_mul(MAX_WIDTH);
            let (true, Some(padded)) = (fits, padded) else {
                return None;
            };
            let mut columns = vec![0.0f32; padded];
            for o in 0..l.outputs {
                for i in 0..l.inputs {
                    columns[i * MAX_WIDTH + o] = l.rows[o * l.inputs + i];
                }
            }
            let mut bias = [0.0f32; MAX_WIDTH];
            bias[..l.outputs].copy_from_slice(l.bias);
            built.push(Layer {
                inputs: l.inputs,
                outputs: l.outputs,
                columns,
                bias,
                kind: l.kind,
            });
        }
        Some(SmallChain {
            layers: built,
            avx512: wide,
        })
    }

    /// Input values per sample.
    pub fn feature_size(&self) -> usize {
        self.layers[0].inputs
    }

    /// Output values per sample.
    pub fn output_size(&self) -> usize {
        self.layers[self.layers.len() - 1].outputs
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
            unsafe { avx512::run(&self.layers, x, y) };
        } else {
            // SAFETY: `new` builds an AVX2 chain only on a CPU with AVX2 and FMA; lengths
            // checked.
            unsafe { avx2::run(&self.layers, x, y) };
        }
        #[cfg(not(target_arch = "x86_64"))]
        unreachable!("SmallChain::new returns None without AVX2 or AVX-512");
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{Layer, MAX_WIDTH};
    use crate::fast::{Kind, apply};
    use crate::vector::{F32x16, accumulate_dense};
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
    /// AVX-512 available; `x` and `y` fit the first layer's inputs and the last one's outputs;
    /// every layer's inputs are the previous one's outputs, all at most 32.
    #[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")]
    pub(super) unsafe fn run(layers: &[Layer], x: &[f32], y: &mut [f32]) {
        let mut source = Source::Memory(x);
        for layer in layers {
            let (lo, hi) = dense(layer, source);
            let (lo, hi) = if layer.kind == Kind::Softmax {
                softmax(lo, hi, layer.outputs)
            } else {
                activate(layer.kind, lo, hi)
            };
            source = Source::Registers(lo, hi);
        }
        let Source::Registers(lo, hi) = source else {
            return;
        };
        // Whole stores and a short copy, not masked stores into `y`: the caller reads the
        // outputs next, and the CPU does not forward masked stores to loads.
        let mut block = [0.0f32; MAX_WIDTH];
        // SAFETY: `block` holds 32 values.
        unsafe {
            _mm512_storeu_ps(block.as_mut_ptr(), lo);
            _mm512_storeu_ps(block.as_mut_ptr().add(16), hi);
        }
        let n = y.len();
        crate::copy_short(y, &block[..n]);
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
        // SAFETY: AVX-512 is available (`run`'s contract); `columns` holds `inputs · 32` values
        // and every load reads 16 of them at `i · 32` or `i · 32 + 16` with `i < inputs`; the
        // source holds `inputs` values (see `input`).
        unsafe {
            accumulate_dense(
                layer.inputs,
                layer.outputs > 16,
                (
                    _mm512_loadu_ps(layer.bias.as_ptr()),
                    _mm512_loadu_ps(layer.bias.as_ptr().add(16)),
                ),
                |i| input(source, i),
                |i, half| _mm512_loadu_ps(w.add(i * MAX_WIDTH + half)),
            )
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
    use super::{Layer, MAX_WIDTH};
    use crate::fast::{Kind, apply};
    use crate::vector::F32x8;
    use std::arch::x86_64::*;

    /// # Safety
    /// AVX2 and FMA available; `x` and `y` fit the first layer's inputs and the last one's
    /// outputs; every layer's inputs are the previous one's outputs, all at most 32.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn run(layers: &[Layer], x: &[f32], y: &mut [f32]) {
        // Each layer's outputs go to a padded buffer with whole stores, and the next layer
        // reads them back as broadcasts (loads inside a whole store are forwarded).
        let mut buffers = [[0.0f32; MAX_WIDTH]; 2];
        for (n, layer) in layers.iter().enumerate() {
            let [a, b] = &mut buffers;
            let (out, prev) = if n % 2 == 0 { (a, &*b) } else { (b, &*a) };
            let input: &[f32] = if n == 0 { x } else { &prev[..layer.inputs] };
            // SAFETY: AVX2 and FMA as the caller promises; `input` holds `layer.inputs` values.
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
        }
        let last = &buffers[(layers.len() - 1) % 2];
        let n = y.len();
        crate::copy_short(y, &last[..n]);
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
        assert!(SmallChain::new(Level::Avx512, &[huge]).is_none());
        let wrapped = LayerSpec {
            inputs: 1 << 62,
            outputs: 4,
            ..huge
        };
        assert!(SmallChain::new(Level::Avx512, &[wrapped]).is_none());
        assert!(SmallChain::new(Level::Avx512, &[]).is_none());
    }

    #[test]
    fn chains_exist_at_avx2_and_avx512_only() {
        let layer = LayerSpec {
            rows: &[1.0, 2.0],
            bias: &[0.5],
            inputs: 2,
            outputs: 1,
            kind: Kind::Relu,
        };
        assert!(SmallChain::new(Level::Scalar, &[layer]).is_none());
        for level in [Level::Avx2, Level::Avx512] {
            if level.is_available() {
                let chain = SmallChain::new(level, &[layer]).unwrap();
                let mut y = [0.0];
                chain.run(&[1.0, -2.0], &mut y);
                assert_eq!(y, [0.0], "{level:?}: relu(1 - 4 + 0.5)");
                chain.run(&[3.0, 1.0], &mut y);
                assert_eq!(y, [5.5], "{level:?}");
            } else {
                assert!(SmallChain::new(level, &[layer]).is_none());
            }
        }
    }
}
