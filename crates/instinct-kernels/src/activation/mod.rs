//! The activation functions: [`Activation`] names each one with its parameters and says how it
//! runs (its scalar definition in `functions.rs`, re-exported here, and the vectorised kernel of
//! [`crate::fast`] where there is one). The model format re-exports the type and reads and
//! writes it as JSON (the `serde` feature).

mod functions;

pub use functions::*;

use crate::fast::{self, Kind};

/// An activation function. In JSON an activation without parameters is its UPPERCASE name
/// (`"RELU"`); one with parameters is an object naming it, holding them
/// (`{"LEAKY_RELU": {"alpha": 0.01}}`).
///
/// The first twelve are `instmodel_inference`'s vocabulary; the rest are instinct's
/// extensions ([`Activation::is_extension`]), written only when a model needs them, so a model
/// without them stays loadable by `instmodel_inference`. The exact numeric definition of each is
/// its scalar function in this module (documented in `docs/FORMAT.md`); [`Activation::apply`]
/// runs it over a slice, vectorised where a kernel exists.
///
/// Equality compares parameters bit for bit, so it is an equivalence (`Eq`, `Hash`).
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub enum Activation {
    /// `max(x, 0)`; NaN becomes 0 (as `f32::max` does).
    #[cfg_attr(feature = "serde", serde(rename = "RELU"))]
    Relu,
    /// `1 / (1 + e^-x)`.
    #[cfg_attr(feature = "serde", serde(rename = "SIGMOID"))]
    Sigmoid,
    /// Numerically stable softmax over the whole buffer.
    #[cfg_attr(feature = "serde", serde(rename = "SOFTMAX"))]
    Softmax,
    /// `√x` for `x > 0`, else 0.
    #[cfg_attr(feature = "serde", serde(rename = "SQRT"))]
    Sqrt,
    /// `ln(x + 1)` for `x > 0`, else 0.
    #[cfg_attr(feature = "serde", serde(rename = "LOG"))]
    Log,
    /// `log10(x + 1)` for `x > 0`, else 0.
    #[cfg_attr(feature = "serde", serde(rename = "LOG10"))]
    Log10,
    /// `tanh(x)`.
    #[cfg_attr(feature = "serde", serde(rename = "TANH"))]
    Tanh,
    /// `1 - x`.
    #[cfg_attr(feature = "serde", serde(rename = "INVERSE"))]
    Inverse,
    /// `0.5·x·(1 + erf(x/√2))`.
    #[cfg_attr(feature = "serde", serde(rename = "GELU"))]
    Gelu,
    /// `ln(1 + e^x)` with TensorFlow's thresholds.
    #[cfg_attr(feature = "serde", serde(rename = "SOFTPLUS"))]
    Softplus,
    /// `e^clamp(x, -88, 88)`.
    #[cfg_attr(feature = "serde", serde(rename = "EXP"))]
    Exp,
    /// -1, +1, or the value itself for ±0 and NaN.
    #[cfg_attr(feature = "serde", serde(rename = "SIGN"))]
    Sign,
    /// Extension: `x` for `x ≥ 0`, else `alpha·x` (ONNX `LeakyRelu`).
    #[cfg_attr(feature = "serde", serde(rename = "LEAKY_RELU"))]
    LeakyRelu {
        /// The slope below zero.
        alpha: f32,
    },
    /// Extension: `x` for `x ≥ 0`, else `alpha·(e^x − 1)` (ONNX `Elu`).
    #[cfg_attr(feature = "serde", serde(rename = "ELU"))]
    Elu {
        /// The scale of the negative part.
        alpha: f32,
    },
    /// Extension: `gamma·x` for `x > 0`, else `gamma·alpha·(e^x − 1)` (ONNX `Selu`).
    #[cfg_attr(feature = "serde", serde(rename = "SELU"))]
    Selu {
        /// The scale of the negative part (ONNX default 1.6732632).
        alpha: f32,
        /// The overall scale (ONNX default 1.050701).
        gamma: f32,
    },
    /// Extension: `max(0, min(1, alpha·x + beta))` (ONNX `HardSigmoid`).
    #[cfg_attr(feature = "serde", serde(rename = "HARD_SIGMOID"))]
    HardSigmoid {
        /// The slope.
        alpha: f32,
        /// The offset.
        beta: f32,
    },
    /// Extension: `x − max − ln(Σ e^(x − max))` over the whole buffer (ONNX `LogSoftmax` on
    /// the last axis).
    #[cfg_attr(feature = "serde", serde(rename = "LOG_SOFTMAX"))]
    LogSoftmax,
    /// Extension: `|x|`.
    #[cfg_attr(feature = "serde", serde(rename = "ABS"))]
    Abs,
    /// Extension: `−x`.
    #[cfg_attr(feature = "serde", serde(rename = "NEG"))]
    Neg,
    /// Extension: the natural logarithm `ln(x)` itself (−∞ at 0, NaN below), unlike `LOG`.
    #[cfg_attr(feature = "serde", serde(rename = "LN"))]
    Ln,
    /// Extension: the error function `erf(x)` (ONNX `Erf`, which `torch.onnx.export` writes for
    /// GELU before opset 20).
    #[cfg_attr(feature = "serde", serde(rename = "ERF"))]
    Erf,
}

impl Activation {
    /// instmodel's twelve activations, in the order of the format's documentation.
    pub const INSTMODEL: [Activation; 12] = [
        Activation::Relu,
        Activation::Sigmoid,
        Activation::Softmax,
        Activation::Sqrt,
        Activation::Log,
        Activation::Log10,
        Activation::Tanh,
        Activation::Inverse,
        Activation::Gelu,
        Activation::Softplus,
        Activation::Exp,
        Activation::Sign,
    ];

    /// One of each of instinct's extensions, with ONNX's default parameters.
    pub const EXTENSIONS: [Activation; 9] = [
        Activation::LeakyRelu { alpha: 0.01 },
        Activation::Elu { alpha: 1.0 },
        Activation::Selu {
            alpha: 1.673_263_2,
            gamma: 1.050_701,
        },
        Activation::HardSigmoid {
            alpha: 0.2,
            beta: 0.5,
        },
        Activation::LogSoftmax,
        Activation::Abs,
        Activation::Neg,
        Activation::Ln,
        Activation::Erf,
    ];

    /// Every activation in the order of its code (code = index + 1; 0 is none), with the
    /// default parameters of [`EXTENSIONS`](Self::EXTENSIONS): instmodel's numbering of its
    /// twelve in GPU blobs and shaders, then instinct's extensions. A new activation is appended,
    /// never inserted: the codes are stored in GPU blobs. (Static nets number theirs in
    /// [`INSTMODEL`](Self::INSTMODEL)'s order: `static_dense::STATIC_CODES`.)
    pub const BY_CODE: [Activation; 21] = [
        Activation::Relu,
        Activation::Sigmoid,
        Activation::Softmax,
        Activation::Tanh,
        Activation::Sqrt,
        Activation::Log,
        Activation::Log10,
        Activation::Inverse,
        Activation::Gelu,
        Activation::Softplus,
        Activation::Exp,
        Activation::Sign,
        Activation::EXTENSIONS[0],
        Activation::EXTENSIONS[1],
        Activation::EXTENSIONS[2],
        Activation::EXTENSIONS[3],
        Activation::LogSoftmax,
        Activation::Abs,
        Activation::Neg,
        Activation::Ln,
        Activation::Erf,
    ];

    /// The code of an optional activation (see [`BY_CODE`](Self::BY_CODE)): 0 for none.
    pub fn code_of(activation: Option<Activation>) -> u32 {
        activation.map_or(0, |a| {
            Activation::BY_CODE
                .iter()
                .position(|b| b.name() == a.name())
                .map_or(0, |i| i as u32 + 1)
        })
    }

    /// The activation of a code with `parameters` for the kinds that take them (the others
    /// ignore them): `Some(None)` for 0, `None` for a number that is no code.
    pub fn from_code(code: u32, parameters: [f32; 2]) -> Option<Option<Activation>> {
        match code {
            0 => Some(None),
            c => Activation::BY_CODE
                .get(c as usize - 1)
                .map(|a| Some(a.with_parameter_values(parameters))),
        }
    }

    /// The JSON name (`"SOFTMAX"`, `"LEAKY_RELU"`).
    pub fn name(self) -> &'static str {
        match self {
            Activation::Relu => "RELU",
            Activation::Sigmoid => "SIGMOID",
            Activation::Softmax => "SOFTMAX",
            Activation::Sqrt => "SQRT",
            Activation::Log => "LOG",
            Activation::Log10 => "LOG10",
            Activation::Tanh => "TANH",
            Activation::Inverse => "INVERSE",
            Activation::Gelu => "GELU",
            Activation::Softplus => "SOFTPLUS",
            Activation::Exp => "EXP",
            Activation::Sign => "SIGN",
            Activation::LeakyRelu { .. } => "LEAKY_RELU",
            Activation::Elu { .. } => "ELU",
            Activation::Selu { .. } => "SELU",
            Activation::HardSigmoid { .. } => "HARD_SIGMOID",
            Activation::LogSoftmax => "LOG_SOFTMAX",
            Activation::Abs => "ABS",
            Activation::Neg => "NEG",
            Activation::Ln => "LN",
            Activation::Erf => "ERF",
        }
    }

    /// The parameters, by name, in the order of the JSON object (empty for most).
    pub fn parameters(self) -> Vec<(&'static str, f32)> {
        let [a, b] = self.parameter_values();
        match self {
            Activation::LeakyRelu { .. } | Activation::Elu { .. } => vec![("alpha", a)],
            Activation::Selu { .. } => vec![("alpha", a), ("gamma", b)],
            Activation::HardSigmoid { .. } => vec![("alpha", a), ("beta", b)],
            _ => Vec::new(),
        }
    }

    /// Whether this is one of instinct's extensions, which `instmodel_inference` cannot load.
    pub fn is_extension(self) -> bool {
        !Activation::INSTMODEL.contains(&self)
    }

    /// The values of the parameters, padded with zeros (what [`Activation::parameters`] names).
    pub fn parameter_values(self) -> [f32; 2] {
        match self {
            Activation::LeakyRelu { alpha } | Activation::Elu { alpha } => [alpha, 0.0],
            Activation::Selu { alpha, gamma } => [alpha, gamma],
            Activation::HardSigmoid { alpha, beta } => [alpha, beta],
            _ => [0.0; 2],
        }
    }

    /// The same activation with its parameters set from `values` (what
    /// [`parameter_values`](Self::parameter_values) gives back; ignored by activations without
    /// parameters).
    pub fn with_parameter_values(self, [a, b]: [f32; 2]) -> Activation {
        match self {
            Activation::LeakyRelu { .. } => Activation::LeakyRelu { alpha: a },
            Activation::Elu { .. } => Activation::Elu { alpha: a },
            Activation::Selu { .. } => Activation::Selu { alpha: a, gamma: b },
            Activation::HardSigmoid { .. } => Activation::HardSigmoid { alpha: a, beta: b },
            other => other,
        }
    }

    /// The kind and the raw bits of its parameters: what equality and hashing compare.
    fn key(self) -> (&'static str, [u32; 2]) {
        (self.name(), self.parameter_values().map(f32::to_bits))
    }

    /// Looks an activation without parameters up by its JSON name (case-sensitive, as the
    /// reference); `None` for unknown names and for the extensions that take parameters.
    pub fn from_name(name: &str) -> Option<Activation> {
        Activation::INSTMODEL
            .into_iter()
            .chain(Activation::EXTENSIONS)
            .find(|a| a.name() == name && a.parameters().is_empty())
    }

    /// Whether each output element depends only on the same input element (all but SOFTMAX
    /// and LOG_SOFTMAX).
    pub fn is_elementwise(self) -> bool {
        !matches!(self, Activation::Softmax | Activation::LogSoftmax)
    }

    /// `f(x)` for an elementwise activation, by its scalar definition; `None` for SOFTMAX and
    /// LOG_SOFTMAX, which need the whole slice ([`apply_scalar`](Self::apply_scalar)).
    pub fn scalar(self, x: f32) -> Option<f32> {
        let [a, b] = self.parameter_values();
        Some(match self {
            Activation::Relu => relu(x),
            Activation::Sigmoid => sigmoid(x),
            Activation::Tanh => tanh(x),
            Activation::Sqrt => sqrt(x),
            Activation::Log => log(x),
            Activation::Log10 => log10(x),
            Activation::Inverse => inverse(x),
            Activation::Gelu => gelu(x),
            Activation::Softplus => softplus(x),
            Activation::Exp => exp(x),
            Activation::Sign => sign(x),
            Activation::LeakyRelu { .. } => leaky_relu(x, a),
            Activation::Elu { .. } => elu(x, a),
            Activation::Selu { .. } => selu(x, a, b),
            Activation::HardSigmoid { .. } => hard_sigmoid(x, a, b),
            Activation::Abs => abs(x),
            Activation::Neg => neg(x),
            Activation::Ln => ln(x),
            Activation::Erf => erf(x),
            Activation::Softmax | Activation::LogSoftmax => return None,
        })
    }

    /// The activation over `xs` in place by its scalar definitions alone (the reference the
    /// fast kernels of [`apply`](Self::apply) are tested against).
    pub fn apply_scalar(self, xs: &mut [f32]) {
        match self {
            Activation::Softmax => softmax_in_place(xs),
            Activation::LogSoftmax => log_softmax_in_place(xs),
            _ => {
                for x in xs {
                    *x = self.scalar(*x).unwrap_or(*x);
                }
            }
        }
    }

    /// `f'(x)` for an elementwise activation, given `y = f(x)`: what training back-propagates.
    /// At a kink, the slope of the left-hand piece (RELU: 0 at 0; LEAKY_RELU: `alpha` at 0;
    /// SELU: `gamma·alpha` at 0; SQRT, LOG, LOG10: 0 at 0, where the format cuts them off).
    /// `None` for SOFTMAX and LOG_SOFTMAX, whose gradient couples the slice.
    pub fn derivative(self, x: f32, y: f32) -> Option<f32> {
        let [a, b] = self.parameter_values();
        let step = |on: bool, slope: f32| if on { slope } else { 0.0 };
        Some(match self {
            Activation::Relu => step(x > 0.0, 1.0),
            Activation::Sigmoid => y * (1.0 - y),
            Activation::Tanh => 1.0 - y * y,
            Activation::Sqrt => step(x > 0.0, 0.5 / y),
            Activation::Log => step(x > 0.0, 1.0 / (x + 1.0)),
            Activation::Log10 => step(x > 0.0, std::f32::consts::LOG10_E / (x + 1.0)),
            Activation::Inverse | Activation::Neg => -1.0,
            Activation::Gelu => {
                let cdf = 0.5 * (1.0 + libm::erff(x * std::f32::consts::FRAC_1_SQRT_2));
                let pdf = (-0.5 * x * x).exp()
                    * (0.5 * std::f32::consts::FRAC_2_SQRT_PI)
                    * std::f32::consts::FRAC_1_SQRT_2;
                cdf + x * pdf
            }
            // Softplus is x above 13.94 and e^x below -13.94 (format thresholds); its
            // derivative there is 1 and e^x, which the sigmoid gives to within f32 rounding.
            Activation::Softplus => 1.0 / (1.0 + (-x).exp()),
            Activation::Exp => step(x.abs() < 88.0, y),
            Activation::Sign => 0.0,
            Activation::LeakyRelu { .. } => {
                if x > 0.0 {
                    1.0
                } else {
                    a
                }
            }
            Activation::Elu { .. } => {
                if x < 0.0 {
                    y + a
                } else {
                    1.0
                }
            }
            Activation::Selu { .. } => {
                if x > 0.0 {
                    b
                } else {
                    b * a * x.exp()
                }
            }
            Activation::HardSigmoid { .. } => step((0.0..1.0).contains(&(a * x + b)), a),
            Activation::Abs => {
                if x > 0.0 {
                    1.0
                } else if x < 0.0 {
                    -1.0
                } else {
                    0.0
                }
            }
            Activation::Ln => 1.0 / x,
            Activation::Erf => std::f32::consts::FRAC_2_SQRT_PI * (-x * x).exp(),
            Activation::Softmax | Activation::LogSoftmax => return None,
        })
    }

    /// The ONNX operator that computes this activation (on the last axis for the segment
    /// ones), its parameters being the operator's attributes of the same names; `None` where
    /// no ONNX operator computes it exactly (the format's SQRT, LOG and LOG10 are cut off at 0,
    /// ONNX `Sqrt` and `Log` are not — ONNX `Log` is [`Activation::Ln`]; ONNX has no INVERSE
    /// or LOG10; its `Sign` is not imported as SIGN).
    pub fn onnx_op(self) -> Option<&'static str> {
        Some(match self {
            Activation::Relu => "Relu",
            Activation::Sigmoid => "Sigmoid",
            Activation::Tanh => "Tanh",
            Activation::Softplus => "Softplus",
            Activation::Exp => "Exp",
            Activation::Gelu => "Gelu",
            Activation::Softmax => "Softmax",
            Activation::LogSoftmax => "LogSoftmax",
            Activation::LeakyRelu { .. } => "LeakyRelu",
            Activation::Elu { .. } => "Elu",
            Activation::Selu { .. } => "Selu",
            Activation::HardSigmoid { .. } => "HardSigmoid",
            Activation::Abs => "Abs",
            Activation::Neg => "Neg",
            Activation::Ln => "Log",
            Activation::Erf => "Erf",
            Activation::Sqrt
            | Activation::Log
            | Activation::Log10
            | Activation::Inverse
            | Activation::Sign => return None,
        })
    }

    /// The activation an ONNX operator computes, with ONNX's default attributes as its
    /// parameters (see [`onnx_op`](Self::onnx_op)).
    pub fn from_onnx_op(op: &str) -> Option<Activation> {
        Activation::BY_CODE
            .into_iter()
            .find(|a| a.onnx_op() == Some(op))
    }

    /// The WGSL body of `fn activation_<name>(x: f32) -> f32` (with a second argument
    /// `p: vec2<f32>`, the parameters, for the activations that take them): the scalar
    /// definition, except GELU and ERF, which use `erf_approx` (Abramowitz–Stegun, 1.5e-7)
    /// where the CPU has an exact `erf`; it may call the helpers of the WGSL library's activations prelude (`erf_approx`,
    /// `expm1`, `LOG10_E`, `SQRT_2_INV`). `None` for SOFTMAX and LOG_SOFTMAX, which the library
    /// computes over a segment.
    pub fn wgsl_body(self) -> Option<&'static str> {
        Some(match self {
            Activation::Relu => "return max(x, 0.0);",
            Activation::Sigmoid => "return 1.0 / (1.0 + exp(-x));",
            // tanh(±9) is ±1 in f32; the clamp keeps drivers that compute tanh from exp away
            // from inf/inf.
            Activation::Tanh => "return tanh(clamp(x, -9.0, 9.0));",
            Activation::Sqrt => "return select(0.0, sqrt(x), x > 0.0);",
            Activation::Log => "return select(0.0, log(x + 1.0), x > 0.0);",
            Activation::Log10 => "return select(0.0, log(x + 1.0) * LOG10_E, x > 0.0);",
            Activation::Inverse => "return 1.0 - x;",
            Activation::Gelu => "return 0.5 * x * (1.0 + erf_approx(x * SQRT_2_INV));",
            Activation::Softplus => {
                "if x > 13.9424 {\n        return x;\n    }\n    if x < -13.9424 {\n        return exp(x);\n    }\n    return log(1.0 + exp(x));"
            }
            Activation::Exp => "return exp(clamp(x, -88.0, 88.0));",
            Activation::Sign => "return sign(x);",
            Activation::LeakyRelu { .. } => "return select(x, p.x * x, x < 0.0);",
            Activation::Elu { .. } => "return select(x, p.x * expm1(x), x < 0.0);",
            Activation::Selu { .. } => "return select(p.y * (p.x * expm1(x)), p.y * x, x > 0.0);",
            // NaN stays NaN, as on the CPU (WGSL's clamp may return a bound for NaN), where the
            // driver keeps NaN at all (WGSL lets it assume there is none).
            Activation::HardSigmoid { .. } => {
                "let v = p.x * x + p.y;\n    return select(clamp(v, 0.0, 1.0), v, v != v);"
            }
            Activation::Abs => "return abs(x);",
            Activation::Neg => "return -x;",
            // ln(x) for x > 0; -inf at 0 and NaN below (WGSL leaves log undefined there). The
            // constants are bit patterns selected at run time: a non-finite constant
            // expression is a WGSL error.
            Activation::Ln => {
                "let edge = bitcast<f32>(select(0x7fc00000u, 0xff800000u, x == 0.0));\n    return select(edge, log(x), x > 0.0);"
            }
            // The approximation GELU uses (absolute error below 1.5e-7).
            Activation::Erf => "return erf_approx(x);",
            Activation::Softmax | Activation::LogSoftmax => return None,
        })
    }

    /// Whether He's initialisation suits a layer ending in this activation (the rectifiers)
    /// rather than Glorot's.
    pub fn is_rectifier(self) -> bool {
        matches!(
            self,
            Activation::Relu | Activation::LeakyRelu { .. } | Activation::Gelu
        )
    }

    /// The vectorised slice kernel of this activation; `None` for instinct's extensions, which
    /// have none and run through [`Activation::apply`]'s other branches.
    pub fn kind(self) -> Option<Kind> {
        Some(match self {
            Activation::Softmax => Kind::Softmax,
            Activation::Relu => Kind::Relu,
            Activation::Sigmoid => Kind::Sigmoid,
            Activation::Tanh => Kind::Tanh,
            Activation::Sqrt => Kind::Sqrt,
            Activation::Log => Kind::Log,
            Activation::Log10 => Kind::Log10,
            Activation::Inverse => Kind::Inverse,
            Activation::Gelu => Kind::Gelu,
            Activation::Softplus => Kind::Softplus,
            Activation::Exp => Kind::Exp,
            Activation::Sign => Kind::Sign,
            Activation::LeakyRelu { .. }
            | Activation::Elu { .. }
            | Activation::Selu { .. }
            | Activation::HardSigmoid { .. }
            | Activation::LogSoftmax
            | Activation::Abs
            | Activation::Neg
            | Activation::Ln
            | Activation::Erf => return None,
        })
    }

    /// Applies the activation to `xs` in place (SOFTMAX and LOG_SOFTMAX across the whole
    /// slice): the vectorised kernel where there is one, at the CPU's best level, else the scalar
    /// definition (ELU and SELU vectorised with the fast exp, within 4 ulp of the exact one).
    pub fn apply(self, xs: &mut [f32]) {
        if let Some(kind) = self.kind() {
            fast::activate(kind, xs, None);
            return;
        }
        let [a, b] = self.parameter_values();
        match self {
            Activation::LeakyRelu { .. } => xs.iter_mut().for_each(|x| *x = leaky_relu(*x, a)),
            Activation::Elu { .. } => fast::exponential_linear_at(crate::simd::level(), xs, a, 1.0),
            Activation::Selu { .. } => fast::exponential_linear_at(crate::simd::level(), xs, a, b),
            Activation::HardSigmoid { .. } => {
                xs.iter_mut().for_each(|x| *x = hard_sigmoid(*x, a, b));
            }
            Activation::LogSoftmax => log_softmax_in_place(xs),
            Activation::Abs => map_in_place(xs, abs),
            Activation::Neg => map_in_place(xs, neg),
            Activation::Ln => map_in_place(xs, ln),
            Activation::Erf => map_in_place(xs, erf),
            _ => unreachable!("{self} has a slice kernel"),
        }
    }
}

impl PartialEq for Activation {
    fn eq(&self, other: &Activation) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Activation {}

impl std::hash::Hash for Activation {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.key().hash(state);
    }
}

/// The JSON name, with the parameters in parentheses (`LEAKY_RELU(alpha=0.01)`).
impl std::fmt::Display for Activation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())?;
        let parameters = self.parameters();
        if !parameters.is_empty() {
            let listed: Vec<String> = parameters.iter().map(|(n, v)| format!("{n}={v}")).collect();
            write!(f, "({})", listed.join(", "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_codes_are_those_stored_in_gpu_blobs() {
        // instmodel's GPU numbering of its twelve, then the extensions (docs/GPU.md): whatever
        // order `BY_CODE` is written in, these stay.
        let pinned = [
            ("RELU", 1),
            ("SIGMOID", 2),
            ("SOFTMAX", 3),
            ("TANH", 4),
            ("SQRT", 5),
            ("LOG", 6),
            ("LOG10", 7),
            ("INVERSE", 8),
            ("GELU", 9),
            ("SOFTPLUS", 10),
            ("EXP", 11),
            ("SIGN", 12),
            ("LEAKY_RELU", 13),
            ("ELU", 14),
            ("SELU", 15),
            ("HARD_SIGMOID", 16),
            ("LOG_SOFTMAX", 17),
            ("ABS", 18),
            ("NEG", 19),
            ("LN", 20),
            ("ERF", 21),
        ];
        assert_eq!(pinned.len(), Activation::BY_CODE.len());
        for (name, code) in pinned {
            let a = Activation::from_code(code, [0.5, 0.25]).unwrap().unwrap();
            assert_eq!(a.name(), name);
            assert_eq!(Activation::code_of(Some(a)), code);
        }
        // Every activation has a code (a variant missing from `BY_CODE` would be stored as
        // none), and a parameterised one takes the parameters stored beside its code.
        for a in Activation::INSTMODEL.iter().chain(&Activation::EXTENSIONS) {
            let code = Activation::code_of(Some(*a));
            assert_ne!(code, 0, "{}", a.name());
            let back = Activation::from_code(code, [0.5, 0.25]).unwrap().unwrap();
            assert_eq!(back.name(), a.name());
            let n = a.parameters().len();
            assert_eq!(
                back.parameter_values()[..n],
                [0.5, 0.25][..n],
                "{}",
                a.name()
            );
        }
        assert_eq!(Activation::code_of(None), 0);
        assert_eq!(Activation::from_code(0, [0.0; 2]), Some(None));
        assert_eq!(Activation::from_code(22, [0.0; 2]), None);
    }
}
