//! The lane kernels themselves, written once over any register type (`Lanes`): a group of
//! sixteen models through one layer, one to [`MAX_INPUTS`] inputs of each per pass over the
//! weights, in blocks of outputs, the activation (softmax across outputs) in the lanes.

use crate::fast::{Kind, apply, exp};
use crate::vector::Lanes;

/// Models per group: the lanes of one AVX-512 register (two AVX2 registers, sixteen scalars).
pub const GROUP: usize = 16;

/// Inputs per model that one pass over the weights serves (see [`super::interleaved_dense_at`]).
pub const MAX_INPUTS: usize = 4;

/// Where a pass reads and writes: the layer's weights and biases, `J` input blocks `xs` values
/// apart and `J` output blocks `ys` values apart.
#[derive(Clone, Copy)]
pub(super) struct Operands {
    pub(super) k: usize,
    pub(super) n: usize,
    pub(super) w: *const f32,
    pub(super) b: *const f32,
    pub(super) x: *const f32,
    pub(super) xs: usize,
    pub(super) y: *mut f32,
    pub(super) ys: usize,
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
pub(super) unsafe fn group<V: Lanes, const K: u8, const J: usize>(op: Operands) {
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

/// The first output and the size of the block that holds output `o` of `n`: blocks of 8, then
/// one each of 4, 2 and 1 as the remainder needs (the kernel's order).
#[inline(always)]
pub(super) fn block_of(o: usize, n: usize) -> (usize, usize) {
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

/// [`group`] for a run-time activation and input count (1 or [`MAX_INPUTS`]).
///
/// # Safety
/// As [`group`].
#[inline(always)]
pub(super) unsafe fn run_group<V: Lanes>(kind: Kind, inputs: usize, op: Operands) {
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
