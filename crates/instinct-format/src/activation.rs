//! The activation functions of the format, by name: instmodel's twelve and instinct's
//! additive extensions (some with parameters).

use serde::{Deserialize, Serialize};

/// An activation function. In JSON an activation without parameters is its UPPERCASE name
/// (`"RELU"`); one with parameters is an object naming it, holding them
/// (`{"LEAKY_RELU": {"alpha": 0.01}}`).
///
/// The first twelve are `instmodel_inference`'s vocabulary; the rest are instinct's
/// extensions ([`Activation::is_extension`]), written only when a model needs them, so a model
/// without them stays loadable by `instmodel_inference`. The exact numeric definition of each
/// lives in `instinct-kernels` (scalar reference) and in `docs/FORMAT.md`; this type only names
/// them and carries their parameters.
///
/// Equality compares parameters bit for bit, so it is an equivalence (`Eq`, `Hash`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Activation {
    /// `max(x, 0)`; NaN becomes 0 (as `f32::max` does).
    #[serde(rename = "RELU")]
    Relu,
    /// `1 / (1 + e^-x)`.
    #[serde(rename = "SIGMOID")]
    Sigmoid,
    /// Numerically stable softmax over the whole buffer.
    #[serde(rename = "SOFTMAX")]
    Softmax,
    /// `√x` for `x > 0`, else 0.
    #[serde(rename = "SQRT")]
    Sqrt,
    /// `ln(x + 1)` for `x > 0`, else 0.
    #[serde(rename = "LOG")]
    Log,
    /// `log10(x + 1)` for `x > 0`, else 0.
    #[serde(rename = "LOG10")]
    Log10,
    /// `tanh(x)`.
    #[serde(rename = "TANH")]
    Tanh,
    /// `1 - x`.
    #[serde(rename = "INVERSE")]
    Inverse,
    /// `0.5·x·(1 + erf(x/√2))`.
    #[serde(rename = "GELU")]
    Gelu,
    /// `ln(1 + e^x)` with TensorFlow's thresholds.
    #[serde(rename = "SOFTPLUS")]
    Softplus,
    /// `e^clamp(x, -88, 88)`.
    #[serde(rename = "EXP")]
    Exp,
    /// -1, +1, or the value itself for ±0 and NaN.
    #[serde(rename = "SIGN")]
    Sign,
    /// Extension: `x` for `x ≥ 0`, else `alpha·x` (ONNX `LeakyRelu`).
    #[serde(rename = "LEAKY_RELU")]
    LeakyRelu {
        /// The slope below zero.
        alpha: f32,
    },
    /// Extension: `x` for `x ≥ 0`, else `alpha·(e^x − 1)` (ONNX `Elu`).
    #[serde(rename = "ELU")]
    Elu {
        /// The scale of the negative part.
        alpha: f32,
    },
    /// Extension: `gamma·x` for `x > 0`, else `gamma·alpha·(e^x − 1)` (ONNX `Selu`).
    #[serde(rename = "SELU")]
    Selu {
        /// The scale of the negative part (ONNX default 1.6732632).
        alpha: f32,
        /// The overall scale (ONNX default 1.050701).
        gamma: f32,
    },
    /// Extension: `max(0, min(1, alpha·x + beta))` (ONNX `HardSigmoid`).
    #[serde(rename = "HARD_SIGMOID")]
    HardSigmoid {
        /// The slope.
        alpha: f32,
        /// The offset.
        beta: f32,
    },
    /// Extension: `x − max − ln(Σ e^(x − max))` over the whole buffer (ONNX `LogSoftmax` on
    /// the last axis).
    #[serde(rename = "LOG_SOFTMAX")]
    LogSoftmax,
    /// Extension: `|x|`.
    #[serde(rename = "ABS")]
    Abs,
    /// Extension: `−x`.
    #[serde(rename = "NEG")]
    Neg,
    /// Extension: the natural logarithm `ln(x)` itself (−∞ at 0, NaN below), unlike `LOG`.
    #[serde(rename = "LN")]
    Ln,
    /// Extension: the error function `erf(x)` (ONNX `Erf`, which `torch.onnx.export` writes for
    /// GELU before opset 20).
    #[serde(rename = "ERF")]
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
    fn names_round_trip_through_json() {
        for a in Activation::INSTMODEL {
            let json = serde_json::to_string(&a).unwrap();
            assert_eq!(json, format!("\"{}\"", a.name()));
            assert_eq!(serde_json::from_str::<Activation>(&json).unwrap(), a);
            assert_eq!(Activation::from_name(a.name()), Some(a));
            assert!(!a.is_extension());
        }
    }

    #[test]
    fn extensions_write_their_parameters_by_name() {
        let leaky = Activation::LeakyRelu { alpha: 0.25 };
        assert_eq!(
            serde_json::to_string(&leaky).unwrap(),
            r#"{"LEAKY_RELU":{"alpha":0.25}}"#
        );
        let selu = r#"{"SELU":{"alpha":1.5,"gamma":2.0}}"#;
        assert_eq!(
            serde_json::from_str::<Activation>(selu).unwrap(),
            Activation::Selu {
                alpha: 1.5,
                gamma: 2.0
            }
        );
        assert_eq!(serde_json::to_string(&Activation::Abs).unwrap(), r#""ABS""#);
        for a in Activation::EXTENSIONS {
            assert!(a.is_extension(), "{a}");
            let json = serde_json::to_string(&a).unwrap();
            assert_eq!(serde_json::from_str::<Activation>(&json).unwrap(), a);
        }
        assert_eq!(leaky.to_string(), "LEAKY_RELU(alpha=0.25)");
    }

    #[test]
    fn parameters_are_required_and_compared_bit_for_bit() {
        for missing in [
            r#""LEAKY_RELU""#,
            r#"{"LEAKY_RELU":{}}"#,
            r#"{"HARD_SIGMOID":{"alpha":1}}"#,
            r#"{"HARD_SIGMOID":{"alpha":1,"beta":0,"gamma":2}}"#,
        ] {
            assert!(
                serde_json::from_str::<Activation>(missing).is_err(),
                "{missing}"
            );
        }
        assert_eq!(Activation::from_name("LEAKY_RELU"), None);
        assert_eq!(Activation::from_name("ABS"), Some(Activation::Abs));
        assert_ne!(
            Activation::LeakyRelu { alpha: 0.1 },
            Activation::LeakyRelu { alpha: 0.2 }
        );
        assert_ne!(
            Activation::Elu { alpha: 1.0 },
            Activation::LeakyRelu { alpha: 1.0 }
        );
    }

    #[test]
    fn lowercase_names_are_refused() {
        assert!(serde_json::from_str::<Activation>("\"relu\"").is_err());
        assert_eq!(Activation::from_name("relu"), None);
    }
}
