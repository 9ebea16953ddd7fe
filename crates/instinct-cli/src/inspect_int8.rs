//! The quantisation part of `instinct inspect`: the int8 layers (shape, weight scales, input
//! range), the kernel this machine runs them with, and the error the quantiser measured.

use instinct::Model;
use instinct::format::{ExpectedError, QuantizedSlot};
use serde::Serialize;
use std::fmt::Write as _;

/// A quantised model's int8 layers and expected error.
#[derive(Debug, Serialize)]
pub struct Int8Report {
    /// `dynamic` or `static`.
    activations: &'static str,
    /// The kernel this process runs the layers with.
    kernel: &'static str,
    layers: Vec<Int8Layer>,
    /// What `instinct quantize` measured, when the file says.
    #[serde(skip_serializing_if = "Option::is_none")]
    expected_error: Option<ExpectedError>,
}

#[derive(Debug, Serialize)]
struct Int8Layer {
    slot: usize,
    outputs: usize,
    inputs: usize,
    scale_min: f32,
    scale_max: f32,
    #[serde(skip_serializing_if = "Option::is_none")]
    input_scale: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    input_zero_point: Option<u8>,
}

impl Int8Layer {
    fn of(s: &QuantizedSlot) -> Int8Layer {
        let (lo, hi) = s
            .scales
            .iter()
            .fold((f32::INFINITY, 0.0f32), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        Int8Layer {
            slot: s.slot,
            outputs: s.outputs,
            inputs: s.inputs,
            scale_min: lo,
            scale_max: hi,
            input_scale: s.input_scale,
            input_zero_point: s.input_zero_point,
        }
    }
}

impl Int8Report {
    /// The report of a quantised model; `None` for an f32 model.
    pub fn of(model: &Model) -> Option<Int8Report> {
        let q = model.info().quantization.as_ref()?;
        Some(Int8Report {
            activations: q.activations.name(),
            kernel: model.int8_kernel().unwrap_or("none"),
            layers: q.slots.iter().map(Int8Layer::of).collect(),
            expected_error: q.expected_error.clone(),
        })
    }

    /// The report as text, after the instruction table.
    pub fn to_text(&self) -> String {
        let mut text = format!(
            "\nint8 layers (weights s8, one scale per output; inputs u8, {}; {} kernel here)\n",
            match self.activations {
                "static" => "static ranges",
                _ => "quantized per row at run time",
            },
            self.kernel
        );
        for l in &self.layers {
            let range = match (l.input_scale, l.input_zero_point) {
                (Some(s), Some(z)) => format!(", input scale {s:.6e} zero point {z}"),
                _ => String::new(),
            };
            let _ = writeln!(
                text,
                "  w{}  {}×{}  weight scales {:.3e}..{:.3e}{range}",
                l.slot, l.outputs, l.inputs, l.scale_min, l.scale_max
            );
        }
        if let Some(e) = &self.expected_error {
            let max = e.max_abs.iter().copied().fold(0.0f32, f32::max);
            let mean = e.mean_abs.iter().sum::<f32>() / e.mean_abs.len().max(1) as f32;
            let _ = writeln!(
                text,
                "expected error (against the f32 model on {} calibration rows{}): max |int8 − f32| {max:.6}, mean {mean:.6}{}",
                e.rows,
                e.method
                    .as_ref()
                    .map(|m| format!(", {m} ranges"))
                    .unwrap_or_default(),
                e.argmax_agreement
                    .map(|a| format!(", largest output agrees on {:.2}% of rows", a * 100.0))
                    .unwrap_or_default()
            );
            for k in &e.kept_f32 {
                let _ = writeln!(text, "  w{} kept f32: {}", k.slot, k.reason);
            }
        }
        text
    }
}
