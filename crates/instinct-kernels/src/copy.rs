//! `copy_short`: a slice copy that stays inline for the few values of a tiny net.

/// `dst.copy_from_slice(src)`, without a library call for the few values of a tiny net's input
/// or output (a call to `memcpy` costs more than the copy): pieces of constant size, which
/// become plain moves, below 16 values.
///
/// # Panics
/// When the lengths differ.
#[inline]
pub fn copy_short(dst: &mut [f32], src: &[f32]) {
    let n = src.len();
    if n >= 16 {
        dst.copy_from_slice(src);
        return;
    }
    assert_eq!(dst.len(), n, "copy between slices of different lengths");
    let mut i = 0;
    macro_rules! piece {
        ($k:literal) => {
            if n - i >= $k {
                let to: &mut [f32; $k] = (&mut dst[i..i + $k]).try_into().expect("piece");
                *to = src[i..i + $k].try_into().expect("piece");
                i += $k;
            }
        };
    }
    piece!(8);
    piece!(4);
    piece!(2);
    piece!(1);
    debug_assert_eq!(i, n);
}
