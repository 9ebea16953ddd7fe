// instinct's WGSL activations: the activation codes of the blob and one function per
// activation, as the CPU computes them (softmax and log-softmax, which need a whole segment, are
// elsewhere). Codes 13 to 21 are instinct's format extensions; those with parameters take them
// as a vec2 (alpha, and beta or gamma).

const ACTIVATION_NONE: u32 = 0u;
const ACTIVATION_RELU: u32 = 1u;
const ACTIVATION_SIGMOID: u32 = 2u;
const ACTIVATION_SOFTMAX: u32 = 3u;
const ACTIVATION_TANH: u32 = 4u;
const ACTIVATION_SQRT: u32 = 5u;
const ACTIVATION_LOG: u32 = 6u;
const ACTIVATION_LOG10: u32 = 7u;
const ACTIVATION_INVERSE: u32 = 8u;
const ACTIVATION_GELU: u32 = 9u;
const ACTIVATION_SOFTPLUS: u32 = 10u;
const ACTIVATION_EXP: u32 = 11u;
const ACTIVATION_SIGN: u32 = 12u;
const ACTIVATION_LEAKY_RELU: u32 = 13u;
const ACTIVATION_ELU: u32 = 14u;
const ACTIVATION_SELU: u32 = 15u;
const ACTIVATION_HARD_SIGMOID: u32 = 16u;
const ACTIVATION_LOG_SOFTMAX: u32 = 17u;
const ACTIVATION_ABS: u32 = 18u;
const ACTIVATION_NEG: u32 = 19u;
const ACTIVATION_LN: u32 = 20u;
const ACTIVATION_ERF: u32 = 21u;

const CLIP_BOUND_NONE: u32 = 0xffffffffu;
const LOG10_E: f32 = 0.4342944819032518;
const SQRT_2_INV: f32 = 0.7071067811865476;

fn activation_relu(x: f32) -> f32 {
    return max(x, 0.0);
}

fn activation_sigmoid(x: f32) -> f32 {
    return 1.0 / (1.0 + exp(-x));
}

fn activation_tanh(x: f32) -> f32 {
    // tanh(±9) is ±1 in f32; the clamp keeps drivers that compute tanh from exp away from inf/inf.
    return tanh(clamp(x, -9.0, 9.0));
}

fn activation_sqrt(x: f32) -> f32 {
    return select(0.0, sqrt(x), x > 0.0);
}

fn activation_log(x: f32) -> f32 {
    return select(0.0, log(x + 1.0), x > 0.0);
}

fn activation_log10(x: f32) -> f32 {
    return select(0.0, log(x + 1.0) * LOG10_E, x > 0.0);
}

fn activation_inverse(x: f32) -> f32 {
    return 1.0 - x;
}

// Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7), as instmodel's library.
fn erf_approx(x: f32) -> f32 {
    let s = select(-1.0, 1.0, x >= 0.0);
    let a = abs(x);
    let t = 1.0 / (1.0 + 0.3275911 * a);
    let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-a * a);
    return s * y;
}

// ERF: the approximation GELU uses (absolute error below 1.5e-7).
fn activation_erf(x: f32) -> f32 {
    return erf_approx(x);
}

fn activation_gelu(x: f32) -> f32 {
    return 0.5 * x * (1.0 + erf_approx(x * SQRT_2_INV));
}

fn activation_softplus(x: f32) -> f32 {
    if x > 13.9424 {
        return x;
    }
    if x < -13.9424 {
        return exp(x);
    }
    return log(1.0 + exp(x));
}

fn activation_exp(x: f32) -> f32 {
    return exp(clamp(x, -88.0, 88.0));
}

fn activation_sign(x: f32) -> f32 {
    return sign(x);
}

fn activation_leaky_relu(x: f32, p: vec2<f32>) -> f32 {
    return select(x, p.x * x, x < 0.0);
}

// e^x - 1 without the cancellation of exp(x) - 1 near 0 (a Taylor polynomial below |x| = 1e-2).
fn expm1(x: f32) -> f32 {
    if abs(x) < 1e-2 {
        return x + x * x * (0.5 + x * (1.0 / 6.0 + x * (1.0 / 24.0)));
    }
    return exp(x) - 1.0;
}

fn activation_elu(x: f32, p: vec2<f32>) -> f32 {
    return select(x, p.x * expm1(x), x < 0.0);
}

fn activation_selu(x: f32, p: vec2<f32>) -> f32 {
    return select(p.y * (p.x * expm1(x)), p.y * x, x > 0.0);
}

// NaN stays NaN, as on the CPU (WGSL's clamp may return a bound for NaN), where the driver keeps
// NaN at all (WGSL lets it assume there is none).
fn activation_hard_sigmoid(x: f32, p: vec2<f32>) -> f32 {
    let v = p.x * x + p.y;
    return select(clamp(v, 0.0, 1.0), v, v != v);
}

fn activation_abs(x: f32) -> f32 {
    return abs(x);
}

fn activation_neg(x: f32) -> f32 {
    return -x;
}

// ln(x) for x > 0; -inf at 0 and NaN below (WGSL leaves log undefined there). The constants are
// bit patterns selected at run time: a non-finite constant expression is a WGSL error.
fn activation_ln(x: f32) -> f32 {
    let edge = bitcast<f32>(select(0x7fc00000u, 0xff800000u, x == 0.0));
    return select(edge, log(x), x > 0.0);
}

// Every activation but SOFTMAX and LOG_SOFTMAX (which need the whole segment); NONE and unknown
// codes pass x. `p`: the parameters of the extensions that take them.
fn apply_activation_single(x: f32, activation_type: u32, p: vec2<f32>) -> f32 {
    switch activation_type {
        case ACTIVATION_RELU: { return activation_relu(x); }
        case ACTIVATION_SIGMOID: { return activation_sigmoid(x); }
        case ACTIVATION_TANH: { return activation_tanh(x); }
        case ACTIVATION_SQRT: { return activation_sqrt(x); }
        case ACTIVATION_LOG: { return activation_log(x); }
        case ACTIVATION_LOG10: { return activation_log10(x); }
        case ACTIVATION_INVERSE: { return activation_inverse(x); }
        case ACTIVATION_GELU: { return activation_gelu(x); }
        case ACTIVATION_SOFTPLUS: { return activation_softplus(x); }
        case ACTIVATION_EXP: { return activation_exp(x); }
        case ACTIVATION_SIGN: { return activation_sign(x); }
        case ACTIVATION_LEAKY_RELU: { return activation_leaky_relu(x, p); }
        case ACTIVATION_ELU: { return activation_elu(x, p); }
        case ACTIVATION_SELU: { return activation_selu(x, p); }
        case ACTIVATION_HARD_SIGMOID: { return activation_hard_sigmoid(x, p); }
        case ACTIVATION_ABS: { return activation_abs(x); }
        case ACTIVATION_NEG: { return activation_neg(x); }
        case ACTIVATION_LN: { return activation_ln(x); }
        case ACTIVATION_ERF: { return activation_erf(x); }
        default: { return x; }
    }
}
