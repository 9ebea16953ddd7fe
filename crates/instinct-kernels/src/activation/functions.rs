//! The activation functions, one scalar function each, plus softmax and log-softmax over a
//! slice; instinct's format extensions (LEAKY_RELU … LN) follow ONNX's definitions.
//!
//! Each matches `instmodel_inference` 0.9 formula for formula (same thresholds, same handling of
//! NaN and of non-positive inputs), except GELU, which uses the exact `erf` (as Keras and the
//! Python exporter do) instead of the reference's Abramowitz–Stegun approximation (error bound
//! 1.5e-7 on erf); with f32 rounding the two GELUs differ by at most about 5e-7, far inside the
//! 1e-5 tolerance.

/// `max(x, 0)`. NaN gives 0, as `f32::max` does in the reference.
#[inline]
pub fn relu(x: f32) -> f32 {
    x.max(0.0)
}

/// `1 / (1 + e^-x)`.
#[inline]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// `tanh(x)`.
#[inline]
pub fn tanh(x: f32) -> f32 {
    x.tanh()
}

/// `√x` for `x > 0`, else 0 (NaN gives 0).
#[inline]
pub fn sqrt(x: f32) -> f32 {
    if x > 0.0 { x.sqrt() } else { 0.0 }
}

/// `ln(x + 1)` for `x > 0`, else 0.
#[inline]
pub fn log(x: f32) -> f32 {
    if x > 0.0 { (x + 1.0).ln() } else { 0.0 }
}

/// `log10(x + 1)` for `x > 0`, else 0.
#[inline]
pub fn log10(x: f32) -> f32 {
    if x > 0.0 { (x + 1.0).log10() } else { 0.0 }
}

/// `1 - x`.
#[inline]
pub fn inverse(x: f32) -> f32 {
    1.0 - x
}

/// `x·0.5·(1 + erf(x/√2))` with the exact error function.
#[inline]
pub fn gelu(x: f32) -> f32 {
    x * 0.5 * (1.0 + libm::erff(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// Threshold of [`softplus`]: `ln(f32::EPSILON) + 2`, as TensorFlow and the reference use.
pub const SOFTPLUS_THRESHOLD: f32 = -13.9424;

/// `ln(1 + e^x)`, returning `x` above 13.9424 and `e^x` below -13.9424.
#[inline]
pub fn softplus(x: f32) -> f32 {
    if x > -SOFTPLUS_THRESHOLD {
        x
    } else if x < SOFTPLUS_THRESHOLD {
        x.exp()
    } else {
        x.exp().ln_1p()
    }
}

/// `e^clamp(x, -88, 88)`: the clamp keeps the result finite.
#[inline]
pub fn exp(x: f32) -> f32 {
    x.clamp(-88.0, 88.0).exp()
}

/// -1 for `x < 0`, +1 for `x > 0`, else `x` itself (so ±0 and NaN pass through).
#[inline]
pub fn sign(x: f32) -> f32 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        x
    }
}

/// Numerically stable softmax over the whole slice, in place: `e^(x - max) / Σ e^(x - max)`.
/// The maximum ignores NaN (as `f32::max` does); a NaN element then makes every output NaN.
pub fn softmax_in_place(xs: &mut [f32]) {
    let max = xs.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x));
    let mut sum = 0.0f32;
    for x in xs.iter_mut() {
        *x = (*x - max).exp();
        sum += *x;
    }
    for x in xs.iter_mut() {
        *x /= sum;
    }
}

/// `x` for `x ≥ 0`, else `alpha·x` (ONNX `LeakyRelu`); NaN stays NaN.
#[inline]
pub fn leaky_relu(x: f32, alpha: f32) -> f32 {
    if x < 0.0 { alpha * x } else { x }
}

/// `x` for `x ≥ 0`, else `alpha·(e^x − 1)` (ONNX `Elu`), with `e^x − 1` computed as `expm1`.
#[inline]
pub fn elu(x: f32, alpha: f32) -> f32 {
    if x < 0.0 { alpha * x.exp_m1() } else { x }
}

/// `gamma·x` for `x > 0`, else `gamma·alpha·(e^x − 1)` (ONNX `Selu`).
#[inline]
pub fn selu(x: f32, alpha: f32, gamma: f32) -> f32 {
    if x > 0.0 {
        gamma * x
    } else {
        gamma * (alpha * x.exp_m1())
    }
}

/// `max(0, min(1, alpha·x + beta))` (ONNX `HardSigmoid`); NaN stays NaN.
#[inline]
pub fn hard_sigmoid(x: f32, alpha: f32, beta: f32) -> f32 {
    (alpha * x + beta).clamp(0.0, 1.0)
}

/// `|x|`.
#[inline]
pub fn abs(x: f32) -> f32 {
    x.abs()
}

/// `−x`.
#[inline]
pub fn neg(x: f32) -> f32 {
    -x
}

/// The natural logarithm itself: −∞ at ±0, NaN below 0 (ONNX `Log`; unlike [`log`]).
#[inline]
pub fn ln(x: f32) -> f32 {
    x.ln()
}

/// The error function, `libm::erff` (ONNX `Erf`).
#[inline]
pub fn erf(x: f32) -> f32 {
    libm::erff(x)
}

/// Log-softmax over the whole slice, in place: `x − max − ln Σ e^(x − max)` (ONNX
/// `LogSoftmax`, summed in the same order as [`softmax_in_place`]).
pub fn log_softmax_in_place(xs: &mut [f32]) {
    let max = xs.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x));
    let sum: f32 = xs.iter().map(|&x| (x - max).exp()).sum();
    let log_sum = sum.ln();
    for x in xs.iter_mut() {
        *x = *x - max - log_sum;
    }
}

/// Applies `f` to every element in place.
#[inline]
pub fn map_in_place(xs: &mut [f32], f: fn(f32) -> f32) {
    for x in xs {
        *x = f(*x);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(f: fn(f32) -> f32, x: f32, expected: f32) {
        let y = f(x);
        assert!(
            (y - expected).abs() <= 1e-6 * expected.abs().max(1.0)
                || (y.is_nan() && expected.is_nan()),
            "f({x}) = {y}, expected {expected}"
        );
    }

    #[test]
    fn edge_values_follow_the_reference() {
        check(relu, f32::NAN, 0.0);
        check(relu, -3.0, 0.0);
        check(sqrt, -4.0, 0.0);
        check(sqrt, f32::NAN, 0.0);
        check(log, 0.0, 0.0);
        check(log, std::f32::consts::E - 1.0, 1.0);
        check(log10, 99.0, 2.0);
        check(inverse, 0.25, 0.75);
        check(exp, 1000.0, 88f32.exp());
        check(exp, -1000.0, (-88f32).exp());
        check(sign, -0.5, -1.0);
        check(sign, f32::NAN, f32::NAN);
        check(softplus, 20.0, 20.0);
        check(softplus, -20.0, (-20f32).exp());
        check(softplus, 0.0, std::f32::consts::LN_2);
        check(sigmoid, 0.0, 0.5);
        assert!(sign(-0.0).is_sign_negative());
    }

    #[test]
    fn gelu_matches_the_exact_erf_definition() {
        for i in -80..=80 {
            let x = i as f64 / 10.0;
            let exact = 0.5 * x * (1.0 + libm::erf(x / std::f64::consts::SQRT_2));
            assert!((gelu(x as f32) as f64 - exact).abs() < 1e-6, "x = {x}");
        }
    }

    #[test]
    fn extensions_follow_onnx() {
        assert_eq!(leaky_relu(-2.0, 0.1), -0.2);
        assert_eq!(leaky_relu(3.0, 0.1), 3.0);
        assert!(leaky_relu(f32::NAN, 0.1).is_nan());
        check(|x| elu(x, 2.0), -1.0, 2.0 * ((-1f32).exp() - 1.0));
        check(|x| elu(x, 2.0), 1.5, 1.5);
        check(
            |x| selu(x, 1.5, 2.0),
            -1.0,
            2.0 * 1.5 * ((-1f32).exp() - 1.0),
        );
        check(|x| selu(x, 1.5, 2.0), 1.0, 2.0);
        check(|x| hard_sigmoid(x, 0.2, 0.5), 1.0, 0.7);
        check(|x| hard_sigmoid(x, 0.2, 0.5), 10.0, 1.0);
        check(|x| hard_sigmoid(x, 0.2, 0.5), -10.0, 0.0);
        check(abs, -2.5, 2.5);
        check(neg, 2.5, -2.5);
        check(ln, std::f32::consts::E, 1.0);
        assert_eq!(ln(0.0), f32::NEG_INFINITY);
        assert!(ln(-1.0).is_nan());
        check(erf, 0.5, 0.520_499_9);
        check(erf, -10.0, -1.0);
    }

    #[test]
    fn log_softmax_is_the_log_of_softmax() {
        let mut xs = [1.0, 2.0, -3.0, 0.5];
        let mut probabilities = xs;
        log_softmax_in_place(&mut xs);
        softmax_in_place(&mut probabilities);
        for (l, p) in xs.iter().zip(probabilities) {
            assert!((l - p.ln()).abs() < 1e-6, "{l} vs ln {p}");
        }
        let mut large = [1000.0, -1000.0];
        log_softmax_in_place(&mut large);
        assert_eq!(large, [0.0, -2000.0]);
    }

    #[test]
    fn softmax_sums_to_one_and_survives_large_values() {
        let mut xs = [1000.0, 1000.0, -1000.0, 999.0];
        softmax_in_place(&mut xs);
        assert!((xs.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert_eq!(xs[2], 0.0);
        assert!(xs[0] > xs[3]);
    }
}
