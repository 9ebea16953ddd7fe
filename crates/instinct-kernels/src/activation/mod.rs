//! The activation functions: [`Activation`] names each one with its parameters and says how it
//! runs (its scalar definition in [`functions`], re-exported here, and the vectorised kernel of
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
