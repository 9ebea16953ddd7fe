//! The `quantization` extension: weight slots stored as int8 with one scale per output, how
//! DOT inputs are quantised, and what the quantiser measured (docs/QUANTIZATION.md).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The scheme this crate writes and the executors run.
pub const INT8_SCHEME: &str = "int8";

/// Largest inner dimension of an int8 layer (its sums must stay exact in `i32`).
pub use instinct_kernels::int8::MAX_INT8_INPUTS;

/// A model's quantised weight slots. Nothing here is checked; validation does that.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quantization {
    /// The scheme: `"int8"` (validation refuses any other).
    pub scheme: String,
    /// How the inputs of quantised DOTs become `u8`: per row from the row's own range, or with
    /// each slot's calibrated `input_scale` and `input_zero_point`.
    pub activations: ActivationMode,
    /// The quantised slots.
    pub slots: Vec<QuantizedSlot>,
    /// What `instinct quantize` measured on its calibration rows (informative).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_error: Option<ExpectedError>,
}

/// How DOT inputs are quantised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActivationMode {
    /// Each row from its own range (`scale = (max − min) / 255`, 0 exact).
    Dynamic,
    /// A fixed scale and zero point per slot, from calibration data.
    Static,
}

impl ActivationMode {
    /// `"dynamic"` or `"static"`.
    pub fn name(self) -> &'static str {
        match self {
            ActivationMode::Dynamic => "dynamic",
            ActivationMode::Static => "static",
        }
    }
}

/// One weight slot as int8: `W[j][i] ≈ values[j·inputs + i] · scales[j]`. The slot's entry in
/// `weights` is `[]`; its bias stays in `bias`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuantizedSlot {
    /// The weight slot this stands for.
    pub slot: usize,
    /// Rows of the matrix (the DOT's output size).
    pub outputs: usize,
    /// Columns of the matrix (the DOT's input size).
    pub inputs: usize,
    /// One scale per output: finite and positive.
    pub scales: Vec<f32>,
    /// `outputs × inputs` values, row-major, as base64 of the signed bytes.
    pub values: Int8Values,
    /// Static mode: the value of one input step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_scale: Option<f32>,
    /// Static mode: the `u8` that stands for an input of 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_zero_point: Option<u8>,
}

/// The error of the quantised model against the f32 model on the calibration rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpectedError {
    /// Calibration rows measured.
    pub rows: usize,
    /// How static ranges were chosen (`"minmax"`, `"percentile"`), absent for dynamic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Largest `|int8 − f32|` per output, over the rows where both are finite (or equal).
    pub max_abs: Vec<f32>,
    /// Mean `|int8 − f32|` per output, over the same rows.
    pub mean_abs: Vec<f32>,
    /// Rows where some output of one model is not finite and differs from the other's (left
    /// out of the two above).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub nonfinite_rows: usize,
    /// Share of rows whose largest output is the same output in both models (more than one
    /// output only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub argmax_agreement: Option<f64>,
    /// Slots left in f32 by the quantiser, each with why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kept_f32: Vec<KeptSlot>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// A slot the quantiser kept in f32.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeptSlot {
    /// The weight slot.
    pub slot: usize,
    /// Why it was kept.
    pub reason: String,
}

/// Signed bytes written as standard base64 (a third of the text of the same values as JSON
/// numbers, and a ninth of f32 weights written in full).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Int8Values(pub Vec<i8>);

impl Serialize for Int8Values {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use base64::Engine;
        let bytes: Vec<u8> = self.0.iter().map(|&v| v as u8).collect();
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }
}

impl<'de> Deserialize<'de> for Int8Values {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use base64::Engine;
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map_err(|e| serde::de::Error::custom(format!("int8 values are not base64: {e}")))?;
        Ok(Int8Values(bytes.into_iter().map(|b| b as i8).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_as_base64() {
        let v = Int8Values(vec![0, 1, -1, 127, -127, -128]);
        let text = serde_json::to_string(&v).unwrap();
        assert_eq!(text, "\"AAH/f4GA\"");
        assert_eq!(serde_json::from_str::<Int8Values>(&text).unwrap(), v);
        let bad = serde_json::from_str::<Int8Values>("\"not base64!\"").unwrap_err();
        assert!(bad.to_string().contains("not base64"), "{bad}");
    }
}
