//! A shortcut for the plain decimals that fill most CSV files (`-0.29796952`, `12.5`, `7`):
//! parsed to the correctly rounded f32 in one f64 division, or left to fast-float2 whenever
//! exactness is not certain.
//!
//! Why not fast-float2 for everything: on a 155 MB CSV of such numbers it was half of
//! `predict`'s time. The shortcut is exact by construction: the digits (eight at a time, at
//! most 19) form an integer `m`, taken only below 2^53, and the power of ten `10^k` (k ≤ 22) is exact in f64, so
//! `m / 10^k` is the correctly rounded f64 of the decimal. Rounding that f64 to f32 gives the
//! correctly rounded f32 unless the f64 lies exactly halfway between two f32s (the only case
//! where rounding twice can differ from rounding once); that case, subnormals and anything
//! with an exponent, too many digits or another shape go to fast-float2. A property test holds
//! it to fast-float2 on random and adversarial inputs.

/// Powers of ten exact in f64.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// The most digits the shortcut reads: 10^19 < 2^64, so their integer cannot overflow.
const MAX_DIGITS: usize = 19;

/// The f32 of the decimal at the start of `text` (`[+-]digits[.digits]`, at least one digit,
/// no exponent) and the bytes it spans, or `None` when the shortcut cannot be sure of the
/// correctly rounded result (the caller then asks fast-float2).
#[inline]
pub(super) fn parse_plain_decimal(text: &[u8]) -> Option<(f32, usize)> {
    let (negative, mut i) = match text.first() {
        Some(b'-') => (true, 1),
        Some(b'+') => (false, 1),
        _ => (false, 0),
    };
    let mut mantissa: u64 = 0;
    let whole = digit_run(text, &mut i, &mut mantissa);
    let mut scale = 0;
    if text.get(i) == Some(&b'.') {
        i += 1;
        scale = digit_run(text, &mut i, &mut mantissa);
    }
    // An exponent, no digit at all, or more digits than an exact f64 holds: fast-float2
    // decides.
    if whole + scale == 0
        || whole + scale > MAX_DIGITS
        || mantissa >= 1 << 53
        || scale >= POW10.len()
        || matches!(text.get(i), Some(b'e' | b'E'))
    {
        return None;
    }
    let exact = mantissa as f64 / POW10[scale];
    // Halfway between two f32s, the f64 was perhaps rounded onto the midpoint: ask again.
    // (Every such decimal is at least 10^-22, far above f32's subnormals, where the halfway
    // bit would lie elsewhere.)
    if exact.to_bits() & ((1 << 29) - 1) == 1 << 28 {
        return None;
    }
    let rounded = exact as f32;
    Some((if negative { -rounded } else { rounded }, i))
}

/// Reads the digits at `text[*i..]` into `mantissa` (eight at a time where it can), moving `i`
/// past them; how many there were. Past [`MAX_DIGITS`] the mantissa is garbage and the caller
/// gives up.
#[inline]
fn digit_run(text: &[u8], i: &mut usize, mantissa: &mut u64) -> usize {
    let start = *i;
    while let Some(eight) = text.get(*i..*i + 8) {
        let chunk = u64::from_le_bytes(eight.try_into().unwrap_or_default());
        if !all_digits(chunk) || *i - start >= MAX_DIGITS {
            break;
        }
        *mantissa = mantissa
            .wrapping_mul(100_000_000)
            .wrapping_add(eight_digits(chunk));
        *i += 8;
    }
    while let Some(&b) = text.get(*i) {
        if !b.is_ascii_digit() {
            break;
        }
        *mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(b - b'0'));
        *i += 1;
    }
    *i - start
}

/// Whether the eight bytes of `chunk` (little-endian) are all ASCII digits.
#[inline]
fn all_digits(chunk: u64) -> bool {
    let above = chunk.wrapping_add(0x4646_4646_4646_4646);
    let below = chunk.wrapping_sub(0x3030_3030_3030_3030);
    (above | below) & 0x8080_8080_8080_8080 == 0
}

/// The value of eight ASCII digits (little-endian, the first digit in the lowest byte), by the
/// multiply-and-shift reduction fast-float uses.
#[inline]
fn eight_digits(chunk: u64) -> u64 {
    const MASK: u64 = 0x0000_00ff_0000_00ff;
    const MUL1: u64 = 0x000f_4240_0000_0064; // 100 + (1_000_000 << 32)
    const MUL2: u64 = 0x0000_2710_0000_0001; // 1 + (10_000 << 32)
    let v = chunk.wrapping_sub(0x3030_3030_3030_3030);
    let v = v.wrapping_mul(10).wrapping_add(v >> 8);
    (v & MASK)
        .wrapping_mul(MUL1)
        .wrapping_add(((v >> 16) & MASK).wrapping_mul(MUL2))
        >> 32
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The shortcut's answer equals fast-float2's wherever it gives one.
    fn agrees(text: &str) -> Result<bool, TestCaseError> {
        let Some((x, n)) = parse_plain_decimal(text.as_bytes()) else {
            return Ok(false);
        };
        let (y, m) = fast_float2::parse_partial::<f32, _>(text)
            .map_err(|_| TestCaseError::fail(format!("{text:?}: fast-float2 refuses it")))?;
        prop_assert_eq!(n, m, "{:?}: length", text);
        prop_assert_eq!(x.to_bits(), y.to_bits(), "{:?}: {} vs {}", text, x, y);
        Ok(true)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        #[test]
        fn shortest_forms_of_any_f32_read_back_exactly(bits: u32) {
            let x = f32::from_bits(bits);
            prop_assume!(x.is_finite());
            // Python's and ryu's shortest text, and a fixed-point form with 9 decimals.
            let text = format!("{x}");
            if agrees(&text)? {
                prop_assert_eq!(parse_plain_decimal(text.as_bytes()).unwrap().0.to_bits(), bits);
            }
            agrees(&format!("{x:.9}"))?;
        }

        #[test]
        fn random_decimals_agree_with_fast_float2(
            sign in prop::sample::select(vec!["", "-", "+"]),
            int in "[0-9]{0,12}",
            frac in proptest::option::of("[0-9]{0,12}"),
            tail in prop::sample::select(vec!["", ",", "e5", "x", ".", " "]),
        ) {
            let text = match frac {
                Some(frac) => format!("{sign}{int}.{frac}{tail}"),
                None => format!("{sign}{int}{tail}"),
            };
            agrees(&text)?;
        }

        /// Decimals within a hair of a midpoint between two f32s: where double rounding bites.
        #[test]
        fn near_midpoints_agree_with_fast_float2(bits in 0x0080_0000u32..0x7f00_0000, nudge in -3i64..=3) {
            let low = f64::from(f32::from_bits(bits));
            let high = f64::from(f32::from_bits(bits + 1));
            let mid = (low + high) / 2.0;
            let text = format!("{:.*}", 17, mid + nudge as f64 * f64::EPSILON * mid);
            agrees(&text)?;
            agrees(&format!("{mid:.12}"))?;
        }
    }

    #[test]
    fn the_shortcut_takes_plain_decimals_and_leaves_the_rest() {
        for (text, x, n) in [
            ("0.034192767", 0.034192767f32, 11),
            ("-1.5,", -1.5, 4),
            ("+7", 7.0, 2),
            ("12.", 12.0, 3),
            (".25", 0.25, 3),
            ("-0", -0.0, 2),
            ("000001.50000", 1.5, 12),
            ("12345678.87654321,", 12345679.0, 17),
            ("-0.29796952", -0.29796952, 11),
        ] {
            let (y, m) = parse_plain_decimal(text.as_bytes()).unwrap();
            assert_eq!((y.to_bits(), m), (x.to_bits(), n), "{text}");
        }
        for text in [
            "",
            "-",
            ".",
            "1e5",
            "1.5E-3",
            "nan",
            "12345678901234567890",
            "1e",
        ] {
            assert!(parse_plain_decimal(text.as_bytes()).is_none(), "{text}");
        }
        // 2^24 + 1 lies halfway between two f32s: the shortcut leaves it to fast-float2, and
        // takes the numbers on either side of it, rounding each the right way.
        assert!(parse_plain_decimal(b"16777217").is_none());
        for (text, x) in [
            ("16777217.0000001", 16777218.0f32),
            ("16777216.9999999", 16777216.0),
        ] {
            assert_eq!(parse_plain_decimal(text.as_bytes()).unwrap().0, x, "{text}");
            assert_eq!(fast_float2::parse::<f32, _>(text).unwrap(), x, "{text}");
        }
    }
}
