//! `SmallChain`: a chain of dense layers of at most 32 outputs each, run one sample at a time
//! with every layer's outputs kept in two AVX-512 registers: no memory between layers, one
//! dispatch per sample. The interpreter's per-sample path for tiny nets.

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
/// [`MAX_WIDTH`] outputs wide, compiled for AVX-512.
#[derive(Debug, Clone)]
pub struct SmallChain {
    layers: Vec<Layer>,
}

impl SmallChain {
    /// The chain for `layers` at `level`, or `None` when it does not apply: a level below
    /// AVX-512 (or a CPU without it), no layers, a layer wider than [`MAX_WIDTH`], a layer whose
    /// inputs are not the previous one's outputs, or weights of the wrong size.
    pub fn new(level: Level, layers: &[LayerSpec<'_>]) -> Option<SmallChain> {
        if level != Level::Avx512 || !Level::Avx512.is_available() || layers.is_empty() {
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
        Some(SmallChain { layers: built })
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
        // SAFETY: `new` only builds a chain on a CPU with AVX-512; lengths checked above.
        unsafe {
            avx512::run(&self.layers, x, y)
        };
        #[cfg(not(target_arch = "x86_64"))]
        unreachable!("SmallChain::new returns None without AVX-512");
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
    fn below_avx512_there_is_no_chain() {
        let layer = LayerSpec {
            rows: &[1.0, 2.0],
            bias: &[0.5],
            inputs: 2,
            outputs: 1,
            kind: Kind::Relu,
        };
        assert!(SmallChain::new(Level::Avx2, &[layer]).is_none());
        assert!(SmallChain::new(Level::Scalar, &[layer]).is_none());
        if Level::Avx512.is_available() {
            let chain = SmallChain::new(Level::Avx512, &[layer]).unwrap();
            let mut y = [0.0];
            chain.run(&[1.0, -2.0], &mut y);
            assert_eq!(y, [0.0], "relu(1 - 4 + 0.5)");
            chain.run(&[3.0, 1.0], &mut y);
            assert_eq!(y, [5.5]);
        }
    }
}
