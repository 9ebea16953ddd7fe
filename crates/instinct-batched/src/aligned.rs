//! `AlignedValues`: a zeroed `f32` buffer whose start is aligned to 64 bytes (a cache line, one
//! AVX-512 register), so that each group's values start on a line.

use bytemuck::{Pod, Zeroable};

/// One cache line of values.
#[repr(C, align(64))]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Line([f32; 16]);

/// `len` values, zeroed at creation, starting on a 64-byte boundary.
#[derive(Clone)]
pub(crate) struct AlignedValues {
    lines: Vec<Line>,
    len: usize,
}

impl AlignedValues {
    /// `len` zeros.
    pub(crate) fn zeroed(len: usize) -> AlignedValues {
        AlignedValues {
            lines: vec![Line([0.0; 16]); len.div_ceil(16)],
            len,
        }
    }

    pub(crate) fn as_slice(&self) -> &[f32] {
        &bytemuck::cast_slice(&self.lines)[..self.len]
    }

    pub(crate) fn as_mut_slice(&mut self) -> &mut [f32] {
        &mut bytemuck::cast_slice_mut(&mut self.lines)[..self.len]
    }
}

impl std::fmt::Debug for AlignedValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AlignedValues({} values)", self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_on_a_cache_line_and_has_exactly_len_zeros() {
        for len in [0, 1, 15, 16, 17, 1000] {
            let mut v = AlignedValues::zeroed(len);
            assert_eq!(v.as_slice().len(), len);
            assert!(v.as_slice().iter().all(|x| *x == 0.0));
            assert_eq!(v.as_mut_slice().as_ptr() as usize % 64, 0);
        }
    }
}
