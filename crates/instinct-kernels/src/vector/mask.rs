//! The lane masks of the first `n` lanes of an AVX-512 or AVX2 register.

/// The AVX-512 mask of the first `n` lanes of 16 (all of them from 16 on).
#[inline(always)]
pub fn first_lanes(n: usize) -> u16 {
    if n >= 16 {
        0xffff
    } else {
        ((1u32 << n) - 1) as u16
    }
}

/// The AVX2 lane mask (for `_mm256_maskload_ps`/`_mm256_maskstore_ps`) of the first `n` lanes
/// of 8 (all of them from 8 on): -1 in each selected lane, 0 elsewhere.
#[inline(always)]
pub fn first_lanes8(n: usize) -> [i32; 8] {
    const TAIL: [i32; 16] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];
    let start = 8 - n.min(8);
    let mut mask = [0; 8];
    mask.copy_from_slice(&TAIL[start..start + 8]);
    mask
}
