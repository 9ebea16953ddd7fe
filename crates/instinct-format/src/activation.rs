//! The twelve activation functions of the format, by name.

use serde::{Deserialize, Serialize};

/// An activation function, written in UPPERCASE in JSON (`"RELU"`).
///
/// The exact numeric definition of each lives in `instinct-kernels` (scalar reference) and in
/// `docs/FORMAT.md`; this type only names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Activation {
    /// `max(x, 0)`; NaN becomes 0 (as `f32::max` does).
    Relu,
    /// `1 / (1 + e^-x)`.
    Sigmoid,
    /// Numerically stable softmax over the whole buffer.
    Softmax,
    /// `√x` for `x > 0`, else 0.
    Sqrt,
    /// `ln(x + 1)` for `x > 0`, else 0.
    Log,
    /// `log10(x + 1)` for `x > 0`, else 0.
    Log10,
    /// `tanh(x)`.
    Tanh,
    /// `1 - x`.
    Inverse,
    /// `0.5·x·(1 + erf(x/√2))`.
    Gelu,
    /// `ln(1 + e^x)` with TensorFlow's thresholds.
    Softplus,
    /// `e^clamp(x, -88, 88)`.
    Exp,
    /// -1, +1, or the value itself for ±0 and NaN.
    Sign,
}

impl Activation {
    /// Every activation, in the order of the format's documentation.
    pub const ALL: [Activation; 12] = [
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

    /// The JSON name (`"SOFTMAX"`).
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
        }
    }

    /// Looks an activation up by its JSON name (case-sensitive, as the reference).
    pub fn from_name(name: &str) -> Option<Activation> {
        Activation::ALL.into_iter().find(|a| a.name() == name)
    }

    /// Whether each output element depends only on the same input element (all but SOFTMAX).
    pub fn is_elementwise(self) -> bool {
        self != Activation::Softmax
    }
}

impl std::fmt::Display for Activation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_json() {
        for a in Activation::ALL {
            let json = serde_json::to_string(&a).unwrap();
            assert_eq!(json, format!("\"{}\"", a.name()));
            assert_eq!(serde_json::from_str::<Activation>(&json).unwrap(), a);
            assert_eq!(Activation::from_name(a.name()), Some(a));
        }
    }

    #[test]
    fn lowercase_names_are_refused() {
        assert!(serde_json::from_str::<Activation>("\"relu\"").is_err());
        assert_eq!(Activation::from_name("relu"), None);
    }
}
