//! `Vector`: the operations the fast activations are written in, implemented for plain `f32`
//! (the portable path, which the compiler may still vectorise over a loop) and, inside the
//! crate, for AVX2 (`F32x8`) and AVX-512 (`F32x16`) registers, so that each function is written
//! once and its vector forms are exactly the intended instructions whatever the surrounding code
//! looks like.

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod generic;
mod lanes;
mod mask;

#[cfg(target_arch = "x86_64")]
pub(crate) use avx2::F32x8;
#[cfg(target_arch = "x86_64")]
pub(crate) use avx512::F32x16;
#[cfg(target_arch = "x86_64")]
pub use avx512::accumulate_dense;
pub(crate) use generic::ROUNDER;
pub use generic::Vector;
pub(crate) use lanes::Lanes;
pub use mask::{first_lanes, first_lanes8};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lane_masks_select_exactly_the_first_lanes() {
        for n in 0..=20 {
            let m16 = first_lanes(n);
            let m8 = first_lanes8(n);
            for lane in 0..16 {
                assert_eq!(
                    m16 >> lane & 1 == 1,
                    lane < n,
                    "16 lanes, n = {n}, lane {lane}"
                );
            }
            for (lane, m) in m8.iter().enumerate() {
                assert_eq!(*m, if lane < n { -1 } else { 0 }, "8 lanes, n = {n}");
            }
        }
    }
}
