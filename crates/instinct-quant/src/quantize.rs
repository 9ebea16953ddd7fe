//! The quantiser: which slots, their int8 values and input ranges, the per-layer error check,
//! and the report on the calibration rows.

use crate::calibrate::{Calibration, calibrate};
use crate::options::{QuantizeError, QuantizeOptions, RangeMethod};
use crate::validation::revalidate_rows;
use instinct_cpu::{Interpreter, PredictConfig};
use instinct_format::{
    ActivationMode, ExpectedError, INT8_SCHEME, Instruction, Int8Values, KeptSlot, Limits,
    MAX_INT8_INPUTS, ModelInfo, Quantization, QuantizedSlot,
};
use instinct_kernels::fast::Kind;
use instinct_kernels::int8::{
    InputQuantization, Int8Weights, RowScale, affine_reference, quantize_weights,
};
use instinct_kernels::simd::Level;
use instinct_validate::ValidModel;

/// Calibration rows over which each layer's own error is measured at most.
const ERROR_ROWS: usize = 2_000;

/// What happened to one weight slot used by DOTs.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerReport {
    /// The weight slot.
    pub slot: usize,
    /// Its outputs.
    pub outputs: usize,
    /// Its inputs.
    pub inputs: usize,
    /// RMS(int8 − f32) / RMS(f32) of the layer's outputs before the activation, on the
    /// calibration inputs it sees (as the f32 model computes them).
    pub relative_error: f64,
    /// Static mode: the input scale and zero point chosen.
    pub input_range: Option<(f32, u8)>,
    /// Why the slot stayed f32; `None` when it was quantised.
    pub kept_f32: Option<String>,
}

/// What [`quantize`] did and measured.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantizeReport {
    /// One entry per weight slot that DOTs use, in slot order.
    pub layers: Vec<LayerReport>,
    /// The quantised model against the f32 model on the calibration rows (also stored in the
    /// model's `quantization.expected_error`).
    pub expected: ExpectedError,
    /// `validation_data` rows kept (recomputed by the quantised model) and rows the f32 model
    /// had; `None` when it had none.
    pub validation_rows: Option<(usize, usize)>,
}

impl QuantizeReport {
    /// Slots quantised.
    pub fn quantized_slots(&self) -> usize {
        self.layers.iter().filter(|l| l.kept_f32.is_none()).count()
    }
}

/// Quantises every weight slot that only DOTs use (ATTENTION stays f32) to int8 with one
/// scale per output, measures each layer's own error on the calibration `rows` (`n ×
/// feature_size` values; the first [`QuantizeOptions::max_rows`] are used) and keeps in f32
/// the layers above [`QuantizeOptions::max_layer_error`]. `validation_data` is recomputed by
/// the quantised model (rows too close to a rounding edge to reproduce on every SIMD level are
/// left out). Returns the quantised model and the report.
pub fn quantize(
    model: &ValidModel,
    rows: &[f32],
    options: &QuantizeOptions,
) -> Result<(ModelInfo, QuantizeReport), QuantizeError> {
    let info = model.info();
    if info.quantization.is_some() {
        return Err(QuantizeError::AlreadyQuantized);
    }
    if let RangeMethod::Percentile(p) = options.method
        && !(p > 50.0 && p <= 100.0)
    {
        return Err(QuantizeError::BadPercentile(p));
    }
    let fs = model.layout().feature_size;
    if rows.is_empty() || options.max_rows == 0 {
        return Err(QuantizeError::NoRows);
    }
    if !rows.len().is_multiple_of(fs) {
        return Err(QuantizeError::RaggedRows {
            values: rows.len(),
            feature_size: fs,
        });
    }
    let rows = &rows[..rows.len().min(options.max_rows.saturating_mul(fs))];
    if let Some((i, &value)) = rows.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(QuantizeError::NonFinite {
            row: i / fs,
            feature: i % fs,
            value,
        });
    }
    let f32_engine = Interpreter::new(model);
    let calibration = calibrate(&f32_engine, info.weights.len(), rows)?;
    let mut layers = Vec::new();
    let mut slots = Vec::new();
    for slot in dot_only_slots(info) {
        let (layer, quantized) = quantize_slot(info, slot, &calibration, options);
        layers.push(layer);
        slots.extend(quantized);
    }
    if slots.is_empty() {
        let why = if layers.is_empty() {
            "the model has no DOT of its own weight slot".to_string()
        } else {
            let reasons: Vec<String> = layers
                .iter()
                .filter_map(|l| Some(format!("slot {}: {}", l.slot, l.kept_f32.as_ref()?)))
                .collect();
            reasons.join("; ")
        };
        return Err(QuantizeError::NothingQuantized(why));
    }
    let mut out = info.clone();
    for s in &slots {
        out.weights[s.slot] = Vec::new();
    }
    out.quantization = Some(Quantization {
        scheme: INT8_SCHEME.into(),
        activations: options.activations,
        slots,
        expected_error: None,
    });
    out.validation_data = None;
    let limits = Limits::default();
    let quantized = instinct_validate::validate(&out, &limits).map_err(QuantizeError::Invalid)?;
    let int8_engine = Interpreter::new(&quantized);
    let expected = expected_error(&int8_engine, rows, &calibration, options, &layers)?;
    let validation_rows = match &info.validation_data {
        Some(data) => {
            let kept = revalidate_rows(&int8_engine, &out, data)?;
            let counts = (kept.inputs.len(), data.inputs.len());
            out.validation_data = (!kept.inputs.is_empty()).then_some(kept);
            Some(counts)
        }
        None => None,
    };
    if let Some(q) = out.quantization.as_mut() {
        q.expected_error = Some(expected.clone());
    }
    // The final document (with its validation rows and report) must still be valid.
    instinct_validate::validate(&out, &limits).map_err(QuantizeError::Invalid)?;
    Ok((
        out,
        QuantizeReport {
            layers,
            expected,
            validation_rows,
        },
    ))
}

/// Weight slots that DOTs use and no other instruction does, in order.
fn dot_only_slots(info: &ModelInfo) -> Vec<usize> {
    let mut dot = vec![false; info.weights.len()];
    let mut other = vec![false; info.weights.len()];
    for ins in &info.instructions {
        match ins {
            Instruction::Dot { weights, .. } => dot[*weights] = true,
            Instruction::Attention { weights, .. } => other[*weights] = true,
            _ => {}
        }
    }
    (0..dot.len()).filter(|&s| dot[s] && !other[s]).collect()
}

/// Quantises one slot, or says why it stays f32.
fn quantize_slot(
    info: &ModelInfo,
    slot: usize,
    calibration: &Calibration,
    options: &QuantizeOptions,
) -> (LayerReport, Option<QuantizedSlot>) {
    let rows = &info.weights[slot];
    let (n, k) = (rows.len(), rows.first().map_or(0, Vec::len));
    let flat: Vec<f32> = rows.iter().flatten().copied().collect();
    let (values, scales) = quantize_weights(&flat, n, k);
    let xs = &calibration.inputs[slot];
    let (quant, input_range) = match options.activations {
        ActivationMode::Dynamic => (InputQuantization::Dynamic, None),
        ActivationMode::Static => {
            let (scale, zero_point) = static_range(xs, options.method);
            (
                InputQuantization::Static { scale, zero_point },
                Some((scale, zero_point)),
            )
        }
    };
    let mut layer = LayerReport {
        slot,
        outputs: n,
        inputs: k,
        relative_error: f64::NAN,
        input_range,
        kept_f32: None,
    };
    if k > MAX_INT8_INPUTS {
        layer.kept_f32 = Some(format!(
            "{k} inputs: int8 sums stay exact up to {MAX_INT8_INPUTS}"
        ));
        return (layer, None);
    }
    layer.relative_error = layer_error(&flat, &values, &scales, &info.bias[slot], quant, xs, k);
    // NaN (a layer whose f32 outputs were not finite) is out of bounds too.
    let within = layer.relative_error <= options.max_layer_error;
    if !within {
        layer.kept_f32 = Some(format!(
            "relative error {:.4} exceeds {}",
            layer.relative_error, options.max_layer_error
        ));
        return (layer, None);
    }
    let quantized = QuantizedSlot {
        slot,
        outputs: n,
        inputs: k,
        scales,
        values: Int8Values(values),
        input_scale: input_range.map(|r| r.0),
        input_zero_point: input_range.map(|r| r.1),
    };
    (layer, Some(quantized))
}

/// A static input range from calibration values: their extremes or percentiles, containing
/// 0, as the scale and zero point of [`RowScale::dynamic`] (an input that was always 0 gets
/// the scale of 1/255).
fn static_range(xs: &[f32], method: RangeMethod) -> (f32, u8) {
    let (lo, hi) = match method {
        RangeMethod::MinMax => xs
            .iter()
            .fold((0.0f32, 0.0f32), |(lo, hi), &x| (lo.min(x), hi.max(x))),
        RangeMethod::Percentile(p) if !xs.is_empty() => {
            let mut sorted = xs.to_vec();
            sorted.sort_unstable_by(f32::total_cmp);
            let last = (sorted.len() - 1) as f64;
            let at = |q: f64| sorted[((q * last).round() as usize).min(sorted.len() - 1)];
            (at(1.0 - p / 100.0), at(p / 100.0))
        }
        RangeMethod::Percentile(_) => (0.0, 0.0),
    };
    let s = RowScale::dynamic(lo, hi);
    if s.scale > 0.0 && s.scale.is_finite() {
        (s.scale, s.zero_point as u8)
    } else {
        (1.0 / 255.0, 0)
    }
}

/// RMS(int8 − f32) / RMS(f32) of the layer's outputs before its activation, over the first
/// [`ERROR_ROWS`] input rows in `xs`.
fn layer_error(
    flat: &[f32],
    values: &[i8],
    scales: &[f32],
    bias: &[f32],
    quant: InputQuantization,
    xs: &[f32],
    k: usize,
) -> f64 {
    let n = bias.len();
    let weights = Int8Weights::new(values, scales, n, k, Level::Scalar);
    let (mut diff, mut total) = (0.0f64, 0.0f64);
    let mut y = vec![0.0f32; n];
    for x in xs.chunks_exact(k.max(1)).take(ERROR_ROWS) {
        affine_reference(
            &weights,
            bias,
            quant,
            Kind::Identity,
            Level::Scalar,
            x,
            &mut y,
        );
        for (j, &q) in y.iter().enumerate() {
            let exact: f64 = flat[j * k..][..k]
                .iter()
                .zip(x)
                .map(|(w, v)| f64::from(*w) * f64::from(*v))
                .sum::<f64>()
                + f64::from(bias[j]);
            diff += (f64::from(q) - exact).powi(2);
            total += exact * exact;
        }
    }
    if diff == 0.0 {
        0.0
    } else {
        (diff / total.max(f64::MIN_POSITIVE)).sqrt()
    }
}

/// The quantised model against the f32 outputs on the calibration rows.
fn expected_error(
    int8_engine: &Interpreter,
    rows: &[f32],
    calibration: &Calibration,
    options: &QuantizeOptions,
    layers: &[LayerReport],
) -> Result<ExpectedError, QuantizeError> {
    let got = int8_engine.predict_batch(rows, PredictConfig::new())?;
    let outputs = int8_engine.output_size();
    let mut max_abs = vec![0.0f32; outputs];
    let mut sum_abs = vec![0.0f64; outputs];
    let mut counted = vec![0usize; outputs];
    let (mut agree, mut nonfinite) = (0usize, 0usize);
    for (q, f) in got
        .chunks_exact(outputs)
        .zip(calibration.outputs.chunks_exact(outputs))
    {
        let mut finite = true;
        for (j, (a, b)) in q.iter().zip(f).enumerate() {
            // Equal values (infinities included) differ by 0; a pair with a NaN or one
            // infinity has no finite difference and is counted apart.
            let d = if a == b { 0.0 } else { (a - b).abs() };
            if d.is_finite() {
                max_abs[j] = max_abs[j].max(d);
                sum_abs[j] += f64::from(d);
                counted[j] += 1;
            } else {
                finite = false;
            }
        }
        nonfinite += usize::from(!finite);
        agree += usize::from(argmax(q) == argmax(f));
    }
    let n = calibration.rows.max(1) as f64;
    Ok(ExpectedError {
        rows: calibration.rows,
        method: (options.activations == ActivationMode::Static)
            .then(|| options.method.name().to_string()),
        max_abs,
        mean_abs: sum_abs
            .iter()
            .zip(&counted)
            .map(|(s, c)| (s / (*c).max(1) as f64) as f32)
            .collect(),
        nonfinite_rows: nonfinite,
        argmax_agreement: (outputs > 1).then(|| agree as f64 / n),
        kept_f32: layers
            .iter()
            .filter_map(|l| {
                Some(KeptSlot {
                    slot: l.slot,
                    reason: l.kept_f32.clone()?,
                })
            })
            .collect(),
    })
}

/// The first largest value's index, NaN ranking below everything (numpy's `nanargmax`).
fn argmax(xs: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in xs.iter().enumerate() {
        if xs[best].is_nan() || x > xs[best] {
            best = i;
        }
    }
    best
}
