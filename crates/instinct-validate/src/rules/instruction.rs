//! The rules of one instruction: buffer indices in range, then shapes and bounds (weight slots,
//! parameter vectors, maps, index lists, spans) of an instruction whose buffers exist.

use crate::diagnostics::DiagnosticKind as K;
use crate::report::Report;
use instinct_format::{Instruction, ModelInfo};

/// Per-instruction checks; returns true when every buffer index is in range (so the dataflow
/// pass can run).
pub(super) fn check_instructions(info: &ModelInfo, r: &mut Report) -> bool {
    let sizes = &info.buffer_sizes;
    let mut used_weights = vec![false; info.weights.len()];
    let mut used_parameters = vec![false; info.parameters().len()];
    let mut used_maps = vec![false; info.maps().len()];
    let mut all_ok = true;
    for (n, ins) in info.instructions.iter().enumerate() {
        let at = |field: &str| format!("instructions[{n}].{field}");
        if let Some(slot) = ins.weight_slot() {
            match used_weights.get_mut(slot) {
                Some(u) => *u = true,
                None => r.push(
                    at("weights"),
                    K::WeightSlotOutOfRange {
                        slot,
                        slots: info.weights.len(),
                    },
                ),
            }
        }
        for (field, index) in ins.parameter_refs() {
            match used_parameters.get_mut(index) {
                Some(u) => *u = true,
                None => r.push(
                    at(field),
                    K::ParameterOutOfRange {
                        index,
                        count: info.parameters().len(),
                    },
                ),
            }
        }
        if let Instruction::MapTransform { map, .. } = ins {
            match used_maps.get_mut(*map) {
                Some(u) => *u = true,
                None => r.push(
                    at("map"),
                    K::MapOutOfRange {
                        index: *map,
                        count: info.maps().len(),
                    },
                ),
            }
        }
        let mut ok = true;
        let (write_field, written) = ins.writes();
        // Fields are named only when one is out of range: input lists can be long.
        let reads = ins.reads_iter().map(|(f, b)| (Some(f), b));
        for (field, b) in reads.chain([(None, written)]) {
            if b >= sizes.len() {
                let field = field.map_or_else(|| write_field.to_string(), |f| f.to_string());
                r.push(
                    at(&field),
                    K::BufferOutOfRange {
                        buffer: b,
                        buffers: sizes.len(),
                    },
                );
                ok = false;
            }
        }
        if ok {
            check_shapes(info, n, ins, r);
        }
        all_ok &= ok;
    }
    for (slot, used) in used_weights.iter().enumerate() {
        if !used {
            r.push(format!("weights[{slot}]"), K::UnusedWeights { slot });
        }
    }
    for (index, used) in used_parameters.iter().enumerate() {
        if !used {
            r.push(
                format!("parameters[{index}]"),
                K::UnusedParameters { index },
            );
        }
    }
    for (index, used) in used_maps.iter().enumerate() {
        if !used {
            r.push(format!("maps[{index}]"), K::UnusedMap { index });
        }
    }
    all_ok
}

/// Shape and bounds checks of one instruction whose buffer indices are all in range.
fn check_shapes(info: &ModelInfo, n: usize, ins: &Instruction, r: &mut Report) {
    let sz = |b: usize| info.buffer_sizes[b];
    let at = |field: &str| format!("instructions[{n}].{field}");
    let name = ins.type_name().to_string();
    let out_of_bounds = |what: &str, start: usize, end: usize, buffer: usize| K::OutOfBounds {
        what: what.to_string(),
        start,
        end,
        buffer,
        size: sz(buffer),
    };
    match ins {
        Instruction::Dot {
            input,
            output,
            weights,
            ..
        } => {
            if input == output {
                r.push(at("output"), K::DotInPlace { buffer: *output });
            }
            check_not_empty(info, n, &[("input", *input), ("output", *output)], r);
            check_affine(info, n, *weights, sz(*output), *input, r);
        }
        Instruction::Attention {
            input,
            key,
            output,
            weights,
        } => {
            if sz(*input) != sz(*output) {
                r.push(
                    at("input"),
                    K::BufferSizeMismatch {
                        instruction: name.clone(),
                        buffer: *input,
                        actual: sz(*input),
                        expected: sz(*output),
                    },
                );
            }
            for (role, b) in [("key", key), ("input", input)] {
                if b == output {
                    r.push(
                        at("output"),
                        K::AliasedOutput {
                            instruction: name.clone(),
                            buffer: *b,
                            role: role.to_string(),
                        },
                    );
                }
            }
            // An empty key is fine (the reference's dot of length 0 gives 0); an empty output
            // would be a zero-row matrix.
            check_not_empty(info, n, &[("output", *output)], r);
            if info.quantized_slot(*weights).is_some() {
                r.push(
                    at("weights"),
                    K::QuantizedSlotNotDot {
                        slot: *weights,
                        instruction: n,
                        instruction_type: name.clone(),
                    },
                );
            }
            check_affine(info, n, *weights, sz(*output), *key, r);
        }
        Instruction::Copy {
            input,
            output,
            internal_index,
        } => {
            let end = internal_index.saturating_add(sz(*input));
            if end > sz(*output) {
                r.push(
                    at("internal_index"),
                    out_of_bounds("copy destination", *internal_index, end, *output),
                );
            }
        }
        Instruction::CopyMasked {
            input,
            output,
            indexes,
        } => {
            if indexes.len() > sz(*output) {
                r.push(
                    at("indexes"),
                    out_of_bounds("gathered values", 0, indexes.len(), *output),
                );
            }
            if let Some((j, &idx)) = indexes.iter().enumerate().find(|(_, i)| **i >= sz(*input)) {
                r.push(
                    at(&format!("indexes[{j}]")),
                    out_of_bounds("gathered index", idx, idx.saturating_add(1), *input),
                );
            }
        }
        Instruction::AddElementwise { input, parameters }
        | Instruction::MulElementwise { input, parameters } => {
            check_parameter_length(info, n, *parameters, *input, r);
        }
        Instruction::ClipElementwise {
            input,
            parameters_min,
            parameters_max,
        } => {
            for p in parameters_min.iter().chain(parameters_max) {
                check_parameter_length(info, n, *p, *input, r);
            }
        }
        Instruction::MapTransform {
            input,
            output,
            internal_input_index,
            internal_output_index,
            map,
            size,
            default,
        } => {
            if *internal_input_index >= sz(*input) {
                r.push(
                    at("internal_input_index"),
                    out_of_bounds(
                        "map key position",
                        *internal_input_index,
                        internal_input_index.saturating_add(1),
                        *input,
                    ),
                );
            }
            let end = internal_output_index.saturating_add(*size);
            if end > sz(*output) {
                r.push(
                    at("internal_output_index"),
                    out_of_bounds(
                        "map value destination",
                        *internal_output_index,
                        end,
                        *output,
                    ),
                );
            }
            let short = |len: usize| K::MapValueTooShort {
                len,
                size: *size,
                instruction: n,
            };
            if default.len() != *size {
                r.push(
                    at("default"),
                    K::MapDefaultLength {
                        len: default.len(),
                        size: *size,
                        instruction: n,
                    },
                );
            }
            if let Some(m) = info.maps().get(*map)
                && let Some((key, values)) = m.entries.iter().find(|(_, v)| v.len() < *size)
            {
                r.push(format!("maps[{map}][{key:?}]"), short(values.len()));
            }
        }
        Instruction::AddElementwiseBuffers { input, output }
        | Instruction::MultiplyElementwiseBuffers { input, output } => {
            if input.len() < 2 {
                r.push(
                    at("input"),
                    K::InputCount {
                        instruction: name.clone(),
                        count: input.len(),
                        expected: "at least 2".into(),
                    },
                );
            }
            for (j, &b) in input.iter().enumerate() {
                if sz(b) != sz(*output) {
                    r.push(
                        at(&format!("input[{j}]")),
                        K::BufferSizeMismatch {
                            instruction: name.clone(),
                            buffer: b,
                            actual: sz(b),
                            expected: sz(*output),
                        },
                    );
                }
            }
        }
        Instruction::MultiplyBufferHeads { input, output }
        | Instruction::AddBufferHeads { input, output } => {
            let [data, heads] = input[..] else {
                r.push(
                    at("input"),
                    K::InputCount {
                        instruction: name,
                        count: input.len(),
                        expected: "2".into(),
                    },
                );
                return;
            };
            let (d, h) = (sz(data), sz(heads));
            if h == 0 || !d.is_multiple_of(h) {
                r.push(at("input[1]"), K::HeadsNotDivisible { data: d, heads: h });
            }
            // A longer output keeps its remaining values (well defined); a shorter one would
            // make the reference write into the next buffer.
            if d > sz(*output) {
                r.push(
                    at("input[0]"),
                    K::BufferSizeMismatch {
                        instruction: name.clone(),
                        buffer: data,
                        actual: d,
                        expected: sz(*output),
                    },
                );
            }
            // Writing the heads buffer while reading it is only order-independent when every
            // head covers one element.
            if *output == heads && h != 0 && d / h > 1 {
                r.push(
                    at("output"),
                    K::AliasedOutput {
                        instruction: name,
                        buffer: heads,
                        role: "heads".into(),
                    },
                );
            }
        }
        Instruction::ReduceSum { output, .. } => {
            if sz(*output) == 0 {
                r.push(
                    at("output"),
                    out_of_bounds("sum destination", 0, 1, *output),
                );
            }
        }
        Instruction::Activation { .. } => {}
    }
}

/// DOT and ATTENTION operands that must not be the empty buffer 0 (the reference's DOT panics on
/// zero-width matrices).
fn check_not_empty(info: &ModelInfo, n: usize, operands: &[(&str, usize)], r: &mut Report) {
    for &(field, buffer) in operands {
        if info.buffer_sizes[buffer] == 0 {
            r.push(
                format!("instructions[{n}].{field}"),
                K::EmptyOperand { buffer },
            );
        }
    }
}

/// Checks that weight slot `slot` is `[rows][sz(input)]` with a bias of `rows` values.
fn check_affine(
    info: &ModelInfo,
    n: usize,
    slot: usize,
    rows: usize,
    input: usize,
    r: &mut Report,
) {
    let (Some(w), Some(b)) = (info.weights.get(slot), info.bias.get(slot)) else {
        return; // reported as WeightSlotOutOfRange or SlotCountMismatch
    };
    let cols = info.buffer_sizes[input];
    if let Some(q) = info.quantized_slot(slot).filter(|_| w.is_empty()) {
        if q.outputs != rows {
            r.push(
                format!("weights[{slot}]"),
                K::WeightRowsMismatch {
                    slot,
                    rows: q.outputs,
                    expected: rows,
                    instruction: n,
                },
            );
        }
        if q.inputs != cols {
            r.push(
                format!("weights[{slot}]"),
                K::WeightColumnsMismatch {
                    columns: q.inputs,
                    expected: cols,
                    buffer: input,
                    instruction: n,
                    more: 0,
                },
            );
        }
        return; // the bias against the declared outputs: BiasRowsMismatch
    }
    if w.len() != rows {
        r.push(
            format!("weights[{slot}]"),
            K::WeightRowsMismatch {
                slot,
                rows: w.len(),
                expected: rows,
                instruction: n,
            },
        );
    }
    let mut bad = w.iter().enumerate().filter(|(_, row)| row.len() != cols);
    if let Some((row, first)) = bad.next() {
        r.push(
            format!("weights[{slot}][{row}]"),
            K::WeightColumnsMismatch {
                columns: first.len(),
                expected: cols,
                buffer: input,
                instruction: n,
                more: bad.count(),
            },
        );
    }
    // A bias that disagrees with its own weight rows is already `BiasRowsMismatch`.
    if b.len() != rows && b.len() == w.len() {
        r.push(
            format!("bias[{slot}]"),
            K::BiasLengthMismatch {
                slot,
                len: b.len(),
                expected: rows,
                instruction: n,
            },
        );
    }
}

fn check_parameter_length(info: &ModelInfo, n: usize, index: usize, buffer: usize, r: &mut Report) {
    if let Some(p) = info.parameters().get(index)
        && p.len() != info.buffer_sizes[buffer]
    {
        r.push(
            format!("parameters[{index}]"),
            K::ParameterLengthMismatch {
                index,
                len: p.len(),
                expected: info.buffer_sizes[buffer],
                buffer,
                instruction: n,
            },
        );
    }
}
