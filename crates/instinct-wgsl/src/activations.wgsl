// instinct's WGSL activations: the activation codes of the blob and one function per
// activation, as the CPU computes them (softmax, which needs a whole segment, is elsewhere).

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

// Every activation but SOFTMAX (which needs the whole segment); NONE and unknown codes pass x.
fn apply_activation_single(x: f32, activation_type: u32) -> f32 {
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
        default: { return x; }
    }
}
