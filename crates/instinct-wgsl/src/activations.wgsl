// The helpers of instinct's WGSL activations. The codes, one function per activation and the
// switch over them follow, written by `activations.rs` from instinct-kernels' `Activation`
// (where each activation's WGSL body lives beside its CPU definitions).

const CLIP_BOUND_NONE: u32 = 0xffffffffu;
const LOG10_E: f32 = 0.4342944819032518;
const SQRT_2_INV: f32 = 0.7071067811865476;

// Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7), as instmodel's library.
fn erf_approx(x: f32) -> f32 {
    let s = select(-1.0, 1.0, x >= 0.0);
    let a = abs(x);
    let t = 1.0 / (1.0 + 0.3275911 * a);
    let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-a * a);
    return s * y;
}

// e^x - 1 without the cancellation of exp(x) - 1 near 0 (a Taylor polynomial below |x| = 1e-2).
fn expm1(x: f32) -> f32 {
    if abs(x) < 1e-2 {
        return x + x * x * (0.5 + x * (1.0 / 6.0 + x * (1.0 / 24.0)));
    }
    return exp(x) - 1.0;
}
