//! `Tolerance`: the one vocabulary for "close enough", and `ErrorStats` to summarise differences.

/// How far an actual value may be from the expected one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Tolerance {
    /// Bit-for-bit equal (NaN equals NaN).
    Exact,
    /// `|actual - expected| <= abs + rel·|expected|`.
    Close {
        /// Absolute part.
        abs: f64,
        /// Relative part.
        rel: f64,
    },
    /// At most `n` f32 units in the last place apart.
    Ulp(u32),
}

impl Tolerance {
    /// The project-wide tolerance against `instmodel_inference` and between backends:
    /// abs 1e-5 + rel 1e-5 (summation order may differ).
    pub const CLOSE: Tolerance = Tolerance::Close {
        abs: 1e-5,
        rel: 1e-5,
    };

    /// Whether `actual` is acceptable for `expected`. NaN matches only NaN, an infinity only the
    /// same infinity.
    pub fn accepts(&self, actual: f64, expected: f64) -> bool {
        if actual.is_nan() || expected.is_nan() {
            return actual.is_nan() && expected.is_nan();
        }
        if actual.is_infinite() || expected.is_infinite() {
            return actual == expected;
        }
        match *self {
            Tolerance::Exact => actual == expected,
            Tolerance::Close { abs, rel } => {
                (actual - expected).abs() <= abs + rel * expected.abs()
            }
            Tolerance::Ulp(n) => ulp_distance(actual as f32, expected as f32) <= n as u64,
        }
    }
}

impl std::fmt::Display for Tolerance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Tolerance::Exact => write!(f, "exact"),
            Tolerance::Close { abs, rel } => write!(f, "abs {abs:e} + rel {rel:e}"),
            Tolerance::Ulp(n) => write!(f, "{n} ulp"),
        }
    }
}

pub use instinct_kernels::ulp_distance;

/// Largest differences seen while comparing rows, and whether all passed.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ErrorStats {
    /// Largest `|actual - expected|` over finite pairs.
    pub max_abs: f64,
    /// Largest `|actual - expected| / |expected|` over finite pairs with `expected != 0`.
    pub max_rel: f64,
    /// Largest `|actual - expected| / (abs + rel·|expected|)` for a `Close` tolerance: how much
    /// of the allowed difference the worst value used (≤ 1 passes).
    pub max_tolerance_used: f64,
    /// Number of values compared.
    pub values: usize,
    /// Number of values outside the tolerance (shape mismatches count as one each row).
    pub violations: usize,
}

impl ErrorStats {
    /// Compares rows of actual values with rows of expected values.
    pub fn compare(actual: &[Vec<f64>], expected: &[Vec<f64>], tolerance: Tolerance) -> ErrorStats {
        let mut s = ErrorStats::default();
        if actual.len() != expected.len() {
            s.violations += 1;
        }
        for (a_row, e_row) in actual.iter().zip(expected) {
            if a_row.len() != e_row.len() {
                s.violations += 1;
                continue;
            }
            for (&a, &e) in a_row.iter().zip(e_row) {
                s.values += 1;
                if !tolerance.accepts(a, e) {
                    s.violations += 1;
                }
                if a.is_finite() && e.is_finite() {
                    let d = (a - e).abs();
                    s.max_abs = s.max_abs.max(d);
                    if e != 0.0 {
                        s.max_rel = s.max_rel.max(d / e.abs());
                    }
                    if let Tolerance::Close { abs, rel } = tolerance {
                        s.max_tolerance_used = s.max_tolerance_used.max(d / (abs + rel * e.abs()));
                    }
                }
            }
        }
        s
    }

    /// Whether every value was within tolerance.
    pub fn passed(&self) -> bool {
        self.violations == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_combines_absolute_and_relative_parts() {
        let t = Tolerance::CLOSE;
        assert!(t.accepts(1.0 + 1.5e-5, 1.0));
        assert!(!t.accepts(1.0 + 2.5e-5, 1.0));
        assert!(t.accepts(1000.0 + 0.009, 1000.0));
        assert!(!t.accepts(f64::NAN, 1.0));
        assert!(t.accepts(f64::NAN, f64::NAN));
        assert!(!t.accepts(f64::INFINITY, 1e300));
    }

    #[test]
    fn ulp_distance_crosses_zero() {
        assert_eq!(ulp_distance(1.0, 1.0), 0);
        assert_eq!(ulp_distance(1.0, f32::from_bits(1.0f32.to_bits() + 3)), 3);
        assert_eq!(ulp_distance(f32::from_bits(1), -f32::from_bits(1)), 2);
    }

    #[test]
    fn stats_count_violations_and_shape_mismatches() {
        let s = ErrorStats::compare(
            &[vec![1.0, 2.0], vec![3.0]],
            &[vec![1.0, 2.1], vec![3.0, 4.0]],
            Tolerance::CLOSE,
        );
        assert_eq!((s.values, s.violations), (2, 2));
        assert!((s.max_abs - 0.1).abs() < 1e-12);
    }
}
