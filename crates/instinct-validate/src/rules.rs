//! The structural rules: sizes, indices, shapes, bounds, finiteness, limits and usage.

use crate::dataflow;
use crate::diagnostics::Diagnostic;
use crate::diagnostics::DiagnosticKind as K;
use crate::layout::Layout;
use crate::report::Report;
use instinct_format::Limits;
use instinct_format::{FormatError, Instruction, ModelInfo, feature_width};
use std::collections::HashMap;

mod instruction;

use instruction::check_instructions;

/// Runs every check, appending problems to `out`; returns the layout when the sizes allow one.
pub(crate) fn check(
    info: &ModelInfo,
    limits: &Limits,
    out: &mut Vec<Diagnostic>,
) -> Option<Layout> {
    let mut r = Report::new(out);
    let feature_size = check_features(info, &mut r);
    let sizes_ok = check_buffers(info, limits, &mut r);
    let input_buffers = feature_size.and_then(|fs| input_buffer_count(info, fs, &mut r));
    check_counts_and_limits(info, limits, &mut r);
    check_finite_values(info, &mut r);
    check_map_keys(info, &mut r);
    check_validation_data(info, feature_size, &mut r);
    check_output_naming(info, &mut r);
    check_quantization(info, &mut r);
    let instructions_ok = info.instructions.len() <= limits.max_instructions
        && check_operand_elements(info, limits, &mut r);
    let indices_ok = instructions_ok && check_instructions(info, &mut r);
    if let (Some(k), true) = (input_buffers, indices_ok && sizes_ok) {
        dataflow::check(info, k, &mut r);
    }
    if sizes_ok {
        check_validation_cost(info, limits, &mut r);
    }
    r.finish();
    let (feature_size, input_buffers) = (feature_size?, input_buffers?);
    if !sizes_ok {
        return None;
    }
    let mut offsets = Vec::with_capacity(info.buffer_sizes.len());
    let mut total = 0usize;
    for &s in &info.buffer_sizes {
        offsets.push(total);
        total += s; // cannot overflow: check_buffers refused sums that do
    }
    Some(Layout {
        sizes: info.buffer_sizes.clone(),
        offsets,
        feature_size,
        input_buffers,
        total,
    })
}

fn check_features(info: &ModelInfo, r: &mut Report) -> Option<usize> {
    let Some(features) = &info.features else {
        if info.feature_size.is_none() {
            r.push("", K::MissingFeatures);
        }
        return info.feature_size;
    };
    if features.is_empty() {
        r.push("features", K::EmptyFeatures);
        return None;
    }
    let mut total = Some(0usize);
    let mut names_ok = true;
    for (i, name) in features.iter().enumerate() {
        match feature_width(name) {
            Ok(w) => total = total.and_then(|t| t.checked_add(w)),
            Err(e) => {
                let reason = match e {
                    FormatError::InvalidFeatureName { reason, .. } => reason.to_string(),
                    other => other.to_string(),
                };
                r.push(
                    format!("features[{i}]"),
                    K::InvalidFeatureName {
                        name: name.clone(),
                        reason,
                    },
                );
                names_ok = false;
            }
        }
    }
    if !names_ok {
        return None;
    }
    let Some(computed) = total else {
        r.push(
            "features",
            K::InvalidFeatureName {
                name: features.join(","),
                reason: "the widths add up past the largest integer".into(),
            },
        );
        return None;
    };
    match info.feature_size {
        Some(declared) if declared != computed => {
            r.push(
                "feature_size",
                K::FeatureSizeMismatch { declared, computed },
            );
            None
        }
        _ => Some(computed),
    }
}

/// Checks buffer sizes and the buffer-element limit; true when a layout can be built.
fn check_buffers(info: &ModelInfo, limits: &Limits, r: &mut Report) -> bool {
    let sizes = &info.buffer_sizes;
    if sizes.is_empty() {
        r.push("buffer_sizes", K::NoBuffers);
        return false;
    }
    let mut ok = true;
    for (i, &s) in sizes.iter().enumerate() {
        if s == 0 {
            r.push(
                format!("buffer_sizes[{i}]"),
                K::ZeroBufferSize { buffer: i },
            );
            ok = false;
        }
    }
    // An overflowing sum is over any limit, even `usize::MAX`.
    let total = sizes.iter().try_fold(0usize, |a, &s| a.checked_add(s));
    if total.is_none_or(|t| t > limits.max_buffer_elements) {
        let total = total.unwrap_or(usize::MAX);
        r.push(
            "buffer_sizes",
            K::TooManyBufferElements {
                total,
                max: limits.max_buffer_elements,
            },
        );
        ok = false;
    }
    ok
}

/// How many leading buffers the input fills exactly.
fn input_buffer_count(info: &ModelInfo, feature_size: usize, r: &mut Report) -> Option<usize> {
    let mut sum = 0usize;
    let mut prefix_sums = Vec::new();
    for (i, &s) in info.buffer_sizes.iter().enumerate() {
        sum = sum.saturating_add(s);
        prefix_sums.push(sum);
        if sum == feature_size {
            return Some(i + 1);
        }
        if sum > feature_size {
            break;
        }
    }
    if !info.buffer_sizes.is_empty() {
        r.push(
            "buffer_sizes",
            K::FeatureSizeNotBufferPrefix {
                feature_size,
                prefix_sums,
            },
        );
    }
    None
}

fn check_counts_and_limits(info: &ModelInfo, limits: &Limits, r: &mut Report) {
    let n = info.instructions.len();
    if n == 0 {
        r.push("instructions", K::NoInstructions);
    } else if n > limits.max_instructions {
        r.push(
            "instructions",
            K::TooManyInstructions {
                count: n,
                max: limits.max_instructions,
            },
        );
    }
    let (w, b) = (info.weights.len(), info.bias.len());
    if w != b {
        r.push(
            "bias",
            K::SlotCountMismatch {
                weights: w,
                bias: b,
            },
        );
    }
    if b > n {
        r.push(
            "weights",
            K::MoreSlotsThanInstructions {
                slots: b,
                instructions: n,
            },
        );
    }
    for (slot, (rows, bias)) in info.weights.iter().zip(&info.bias).enumerate() {
        // A quantised slot's rows are its declared outputs (its `weights` entry is `[]`).
        let rows = match info.quantized_slot(slot) {
            Some(q) if rows.is_empty() => q.outputs,
            _ => rows.len(),
        };
        if rows != bias.len() {
            r.push(
                format!("bias[{slot}]"),
                K::BiasRowsMismatch {
                    slot,
                    bias_len: bias.len(),
                    rows,
                },
            );
        }
    }
    let bias_total = info
        .bias
        .iter()
        .map(Vec::len)
        .fold(0usize, usize::saturating_add);
    let weight_total = weight_elements(info).saturating_add(bias_total);
    if weight_total > limits.max_weight_elements {
        r.push(
            "weights",
            K::TooManyWeightElements {
                total: weight_total,
                max: limits.max_weight_elements,
            },
        );
    }
    let defaults = info.instructions.iter().map(|i| match i {
        Instruction::MapTransform { default, .. } => default.len(),
        _ => 0,
    });
    let parameter_total = info
        .parameters()
        .iter()
        .map(Vec::len)
        .chain(
            info.maps()
                .iter()
                .flat_map(|m| m.entries.iter().map(|(_, v)| v.len())),
        )
        .chain(defaults)
        .fold(0usize, usize::saturating_add);
    if parameter_total > limits.max_parameter_elements {
        r.push(
            "parameters",
            K::TooManyParameterElements {
                total: parameter_total,
                max: limits.max_parameter_elements,
            },
        );
    }
}

/// Counts the entries of every instruction list (n-ary and HEADS `input`, COPY_MASKED
/// `indexes`); false when they are over the limit, and then no per-instruction check runs (each
/// entry is checked, planned and run for every sample).
fn check_operand_elements(info: &ModelInfo, limits: &Limits, r: &mut Report) -> bool {
    let total = info
        .instructions
        .iter()
        .map(|ins| match ins {
            Instruction::AddElementwiseBuffers { input, .. }
            | Instruction::MultiplyElementwiseBuffers { input, .. }
            | Instruction::MultiplyBufferHeads { input, .. }
            | Instruction::AddBufferHeads { input, .. } => input.len(),
            Instruction::CopyMasked { indexes, .. } => indexes.len(),
            _ => 0,
        })
        .fold(0usize, usize::saturating_add);
    if total > limits.max_operand_elements {
        r.push(
            "instructions",
            K::TooManyOperandElements {
                total,
                max: limits.max_operand_elements,
            },
        );
        return false;
    }
    true
}

/// Reports the first non-finite value of `values` (with a count of the rest) at `path(i)`.
fn check_finite<'a>(
    r: &mut Report,
    values: impl IntoIterator<Item = &'a f32>,
    path: impl Fn(usize) -> String,
) {
    let mut first = None;
    let mut more = 0;
    for (i, v) in values.into_iter().enumerate() {
        if !v.is_finite() {
            if first.is_none() {
                first = Some((i, *v));
            } else {
                more += 1;
            }
        }
    }
    if let Some((i, v)) = first {
        r.push(
            path(i),
            K::NonFinite {
                value: v.to_string(),
                more,
            },
        );
    }
}

/// Reports the first NaN of `values` (with a count of the rest) at `path(i)`.
fn check_not_nan(r: &mut Report, values: &[f32], path: impl Fn(usize) -> String) {
    let mut nans = values.iter().enumerate().filter(|(_, v)| v.is_nan());
    if let Some((i, _)) = nans.next() {
        r.push(
            path(i),
            K::NonFinite {
                value: "NaN".into(),
                more: nans.count(),
            },
        );
    }
}

fn check_finite_values(info: &ModelInfo, r: &mut Report) {
    for (s, rows) in info.weights.iter().enumerate() {
        // Position (row, column) of the i-th value of a possibly ragged slot.
        let at = |mut i: usize| {
            for (row, cols) in rows.iter().enumerate() {
                if i < cols.len() {
                    return format!("weights[{s}][{row}][{i}]");
                }
                i -= cols.len();
            }
            format!("weights[{s}]")
        };
        check_finite(r, rows.iter().flatten(), at);
    }
    for (s, b) in info.bias.iter().enumerate() {
        check_finite(r, b, |i| format!("bias[{s}][{i}]"));
    }
    for (p, v) in info.parameters().iter().enumerate() {
        check_finite(r, v, |i| format!("parameters[{p}][{i}]"));
    }
    for (m, map) in info.maps().iter().enumerate() {
        for (k, v) in &map.entries {
            check_finite(r, v, |i| format!("maps[{m}][{k:?}][{i}]"));
        }
    }
    if let Some(data) = &info.validation_data {
        // ±inf is data here (a JSON number beyond the f32 range reads as one, and the reference
        // accepts it); NaN cannot come from JSON and could not be written back.
        for (i, row) in data.inputs.iter().enumerate() {
            check_not_nan(r, row, |j| format!("validation_data.inputs[{i}][{j}]"));
        }
        for (i, row) in data.expected_outputs.iter().enumerate() {
            check_not_nan(r, row, |j| {
                format!("validation_data.expected_outputs[{i}][{j}]")
            });
        }
    }
    for (n, ins) in info.instructions.iter().enumerate() {
        if let Instruction::MapTransform { default, .. } = ins {
            check_finite(r, default, |i| format!("instructions[{n}].default[{i}]"));
        }
        if let Some(activation) = ins.activation() {
            let parameters = activation.parameters();
            check_finite(r, parameters.iter().map(|(_, v)| v), |i| {
                let name = activation.name();
                format!("instructions[{n}].activation.{name}.{}", parameters[i].0)
            });
        }
    }
}

fn check_map_keys(info: &ModelInfo, r: &mut Report) {
    for (m, map) in info.maps().iter().enumerate() {
        let mut seen: HashMap<i32, &str> = HashMap::new();
        for (key, _) in &map.entries {
            let path = format!("maps[{m}][{key:?}]");
            match key.parse::<i32>() {
                Err(_) => r.push(path, K::MapKeyNotInteger { key: key.clone() }),
                Ok(value) => {
                    if let Some(first) = seen.get(&value) {
                        r.push(
                            path,
                            K::DuplicateMapKey {
                                key: key.clone(),
                                first: first.to_string(),
                                value,
                            },
                        );
                    } else {
                        seen.insert(value, key);
                    }
                }
            }
        }
    }
}

/// `output_names` and `labels`: one entry per output value, none repeated, no empty name.
fn check_output_naming(info: &ModelInfo, r: &mut Report) {
    let Some(&outputs) = info.buffer_sizes.last() else {
        return;
    };
    let names = info.output_names.as_ref().map(|n| {
        let shown: Vec<String> = n.iter().map(|s| format!("{s:?}")).collect();
        ("output_names", shown)
    });
    let labels = info.labels.as_ref().map(|l| {
        let shown: Vec<String> = l
            .iter()
            .map(|label| match label {
                instinct_format::ClassLabel::Int(i) => i.to_string(),
                instinct_format::ClassLabel::Text(t) => format!("{t:?}"),
            })
            .collect();
        ("labels", shown)
    });
    for (field, values) in names.into_iter().chain(labels) {
        if values.len() != outputs {
            r.push(
                field,
                K::OutputNamingLength {
                    field: field.into(),
                    len: values.len(),
                    expected: outputs,
                },
            );
        }
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (i, value) in values.iter().enumerate() {
            if field == "output_names" && value == "\"\"" {
                r.push(format!("{field}[{i}]"), K::EmptyOutputName { index: i });
            }
            if let Some(&first) = seen.get(value.as_str()) {
                r.push(
                    format!("{field}[{i}]"),
                    K::DuplicateOutputName {
                        field: field.into(),
                        value: value.clone(),
                        first,
                        second: i,
                    },
                );
            } else {
                seen.insert(value, i);
            }
        }
    }
}

fn check_validation_data(info: &ModelInfo, feature_size: Option<usize>, r: &mut Report) {
    let Some(data) = &info.validation_data else {
        return;
    };
    if data.inputs.len() != data.expected_outputs.len() {
        r.push(
            "validation_data",
            K::ValidationRowCountMismatch {
                inputs: data.inputs.len(),
                outputs: data.expected_outputs.len(),
            },
        );
    }
    if let Some(fs) = feature_size {
        for (i, row) in data.inputs.iter().enumerate() {
            if row.len() != fs {
                r.push(
                    format!("validation_data.inputs[{i}]"),
                    K::ValidationRowLength {
                        len: row.len(),
                        expected: fs,
                    },
                );
            }
        }
    }
    if let Some(&out) = info.buffer_sizes.last() {
        for (i, row) in data.expected_outputs.iter().enumerate() {
            if row.len() != out {
                r.push(
                    format!("validation_data.expected_outputs[{i}]"),
                    K::ValidationRowLength {
                        len: row.len(),
                        expected: out,
                    },
                );
            }
        }
    }
}

/// Elements of all weight slots (without biases), saturating; a quantised slot counts its
/// values.
fn weight_elements(info: &ModelInfo) -> usize {
    let quantized = info
        .quantization
        .iter()
        .flat_map(|q| &q.slots)
        .map(|s| s.values.0.len().saturating_add(s.scales.len()));
    info.weights
        .iter()
        .flatten()
        .map(Vec::len)
        .chain(quantized)
        .fold(0usize, usize::saturating_add)
}

/// The `quantization` extension: a known scheme, slots that exist once each with `[]` in
/// `weights`, values and scales that fit their shape, usable scales, input ranges exactly
/// when static, and inner sizes whose int8 sums stay exact. (Shapes against the DOTs that use
/// a slot are checked with each instruction.)
fn check_quantization(info: &ModelInfo, r: &mut Report) {
    use instinct_format::{ActivationMode, INT8_SCHEME, MAX_INT8_INPUTS};
    let Some(q) = &info.quantization else {
        return;
    };
    if q.scheme != INT8_SCHEME {
        r.push(
            "quantization.scheme",
            K::UnknownQuantizationScheme {
                scheme: q.scheme.clone(),
            },
        );
    }
    let mut seen = vec![false; info.weights.len()];
    for (i, s) in q.slots.iter().enumerate() {
        let at = |field: &str| format!("quantization.slots[{i}].{field}");
        match seen.get_mut(s.slot) {
            None => r.push(
                at("slot"),
                K::QuantizedSlotOutOfRange {
                    slot: s.slot,
                    slots: info.weights.len(),
                },
            ),
            Some(true) => r.push(at("slot"), K::QuantizedSlotRepeated { slot: s.slot }),
            Some(first) => {
                *first = true;
                let rows = info.weights[s.slot].len();
                if rows != 0 {
                    r.push(
                        format!("weights[{}]", s.slot),
                        K::QuantizedSlotHasWeights { slot: s.slot, rows },
                    );
                }
            }
        }
        let shape = |what: &str, actual: usize, expected: usize| K::QuantizedShapeMismatch {
            slot: s.slot,
            what: what.into(),
            actual,
            expected,
            outputs: s.outputs,
            inputs: s.inputs,
        };
        let expected = s.outputs.saturating_mul(s.inputs);
        if s.values.0.len() != expected {
            r.push(at("values"), shape("values", s.values.0.len(), expected));
        }
        if s.scales.len() != s.outputs {
            r.push(at("scales"), shape("scales", s.scales.len(), s.outputs));
        }
        let bad = |v: f32| !(v.is_finite() && v > 0.0);
        if let Some((j, &value)) = s.scales.iter().enumerate().find(|(_, v)| bad(**v)) {
            r.push(
                at(&format!("scales[{j}]")),
                K::InvalidQuantizationScale { value },
            );
        }
        // The kernels multiply by the reciprocal of an input scale: it must be finite too.
        if let Some(value) = s.input_scale.filter(|v| bad(*v) || !(1.0 / v).is_finite()) {
            r.push(at("input_scale"), K::InvalidQuantizationScale { value });
        }
        let ranged = (s.input_scale.is_some(), s.input_zero_point.is_some());
        let wanted = q.activations == ActivationMode::Static;
        if ranged != (wanted, wanted) {
            r.push(
                at("input_scale"),
                K::InputRangeMismatch {
                    mode: q.activations.name().into(),
                },
            );
        }
        if s.inputs > MAX_INT8_INPUTS {
            r.push(
                at("inputs"),
                K::QuantizedLayerTooWide {
                    slot: s.slot,
                    inputs: s.inputs,
                    max: MAX_INT8_INPUTS,
                },
            );
        }
    }
}

/// Checking `validation_data` runs every row through the model; bound that work by
/// rows × (memory per sample + weight elements), so a small file cannot make loading take hours.
fn check_validation_cost(info: &ModelInfo, limits: &Limits, r: &mut Report) {
    let Some(data) = &info.validation_data else {
        return;
    };
    let memory: usize = info.buffer_sizes.iter().sum();
    let weights = weight_elements(info);
    let cost = data
        .inputs
        .len()
        .saturating_mul(memory.saturating_add(weights).max(1));
    if cost > limits.max_validation_cost {
        r.push(
            "validation_data",
            K::ValidationTooCostly {
                rows: data.inputs.len(),
                cost,
                max: limits.max_validation_cost,
            },
        );
    }
}
