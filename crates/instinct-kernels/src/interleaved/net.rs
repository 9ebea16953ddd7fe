//! [`InterleavedNet`]: a chain of interleaved layers run together, one group of models at a
//! time, and the body that runs it on any register type.

use super::kernel::{GROUP, MAX_INPUTS, Operands, run_group};
use crate::fast::Kind;
use crate::vector::Lanes;

/// One layer of an [`InterleavedNet`]: its shape and activation, and where its biases
/// (`outputs · GROUP` values) and weights (`outputs · inputs · GROUP`, see [`weight_index`](super::weight_index)) start
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

    /// Scratch values [`interleaved_net_at`](super::interleaved_net_at) needs: two blocks of [`MAX_INPUTS`] interleaved
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
    pub(super) fn is_consistent(&self) -> bool {
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

/// The body of [`interleaved_net_at`] on registers `V`, with the level's way of moving values
/// into and out of the lanes.
///
/// # Safety
/// The CPU has `V`'s features; the lengths are as [`interleaved_net_at`] checks them.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn net_body<V: Lanes>(
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
