//! Units in the last place: distances between f32 values, and walking the f32 line in order.

/// Position of `x` on the ordered line of f32 values (-0 and +0 both at 0), so that adjacent
/// floats differ by 1.
pub fn float_key(x: f32) -> i64 {
    let magnitude = (x.to_bits() & 0x7fff_ffff) as i64;
    if x.is_sign_negative() {
        -magnitude
    } else {
        magnitude
    }
}

/// The f32 at position `key` of [`float_key`]'s line.
pub fn from_float_key(key: i64) -> f32 {
    let magnitude = key.unsigned_abs().min(0x7fff_ffff) as u32;
    let sign = if key < 0 { 0x8000_0000 } else { 0 };
    f32::from_bits(sign | magnitude)
}

/// Number of representable f32 values between `a` and `b` (0 when equal, ±0 count as equal).
pub fn ulp_distance(a: f32, b: f32) -> u64 {
    (float_key(a) - float_key(b)).unsigned_abs()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_ordered_and_invertible() {
        for x in [-3.5f32, -1e-30, -0.0, 0.0, 1e-45, 1.0, f32::MAX] {
            assert_eq!(
                from_float_key(float_key(x)).to_bits() & 0x7fff_ffff,
                x.to_bits() & 0x7fff_ffff
            );
        }
        assert_eq!(ulp_distance(1.0, f32::from_bits(1.0f32.to_bits() + 3)), 3);
        assert_eq!(ulp_distance(f32::from_bits(1), -f32::from_bits(1)), 2);
        assert!(float_key(-1.0) < float_key(-0.5) && float_key(0.5) < float_key(1.0));
    }
}
