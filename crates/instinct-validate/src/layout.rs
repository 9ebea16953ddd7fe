//! `Layout`: where each buffer lives in the one contiguous per-sample memory.

use std::ops::Range;

/// The memory layout of a valid model: buffers back to back in one `f32` array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Size of each buffer.
    pub sizes: Vec<usize>,
    /// Start of each buffer (`offsets[0] == 0`).
    pub offsets: Vec<usize>,
    /// Number of input values; they fill buffers `0..input_buffers` exactly.
    pub feature_size: usize,
    /// How many leading buffers the input fills.
    pub input_buffers: usize,
    /// Total elements, the memory one sample needs.
    pub total: usize,
}

impl Layout {
    /// Element range of buffer `b` inside the unified memory.
    pub fn span(&self, b: usize) -> Range<usize> {
        self.offsets[b]..self.offsets[b] + self.sizes[b]
    }

    /// Element range of the output (the last buffer).
    pub fn output_span(&self) -> Range<usize> {
        self.span(self.sizes.len() - 1)
    }

    /// Number of output values.
    pub fn output_size(&self) -> usize {
        self.sizes[self.sizes.len() - 1]
    }
}
