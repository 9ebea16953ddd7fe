//! `instinct inspect`: features, buffers, the instruction table, parameter counts, FLOPs and
//! memory per sample; also the summary that `validate` prints and the FLOP count `bench` uses.

use crate::failure::{Outcome, load_model, print_stdout, to_json_text};
use crate::inspect_int8::Int8Report;
use instinct::{Activation, Instruction, Model, ModelInfo};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::Path;

/// `names` comma-separated, at most the first 12 and how many more.
fn shown_list(names: &[String]) -> String {
    const SHOWN: usize = 12;
    let mut text = names
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        text.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    text
}

/// Bytes of one memory value: the interpreter computes in `f32`.
const BYTES_PER_VALUE: usize = 4;

/// The one-screen facts about a valid model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Entries of `features` (before `name[N]` expansion), when the model names its features.
    pub features: Option<usize>,
    /// Input values per sample.
    pub feature_size: usize,
    /// Output values per sample.
    pub output_size: usize,
    /// The outputs' names (the model's `output_names`, its class labels, or `output_i`).
    pub output_names: Vec<String>,
    /// A classifier's class labels, one per output, when the model has them.
    pub labels: Option<Vec<instinct::format::ClassLabel>>,
    /// Number of buffers.
    pub buffers: usize,
    /// Number of instructions.
    pub instructions: usize,
    /// Stored numbers, by kind.
    pub parameter_counts: ParameterCounts,
    /// See [`instruction_flops`] for what counts.
    pub flops_per_sample: u64,
    /// Values of unified memory per sample (the sum of the buffer sizes).
    pub memory_values_per_sample: usize,
    /// `memory_values_per_sample` × 4 bytes.
    pub memory_bytes_per_sample: usize,
    /// Samples per tile of the batch engine.
    pub batch_tile_samples: usize,
    /// Scratch memory each batch-engine thread keeps (its tile), in bytes.
    pub batch_scratch_bytes_per_thread: usize,
    /// Whether single samples run as a register chain (a chain of DOTs at most 32 wide, at the
    /// AVX2 or AVX-512 level) rather than step by step.
    pub register_chain: bool,
    /// Whether `--engine static` applies, and if not, why.
    pub static_engine: String,
}

/// How many numbers a model stores. A weight slot shared by several instructions counts once,
/// because it is stored once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ParameterCounts {
    /// Elements of all weight slots (f32 and int8).
    pub weights: usize,
    /// Of those, the int8 ones (the `quantization` extension).
    pub int8_weights: usize,
    /// Elements of all bias vectors.
    pub bias: usize,
    /// Elements of all `parameters` vectors.
    pub parameters: usize,
    /// Keys over all maps.
    pub map_entries: usize,
    /// Values over all map entries.
    pub map_values: usize,
    /// `weights + bias + parameters + map_values`.
    pub total: usize,
}

impl ParameterCounts {
    /// Counts the numbers stored in a model description.
    pub fn of(info: &ModelInfo) -> ParameterCounts {
        let int8_weights: usize = info
            .quantization
            .iter()
            .flat_map(|q| &q.slots)
            .map(|s| s.values.0.len())
            .sum();
        let weights = info.weights.iter().flatten().map(Vec::len).sum::<usize>() + int8_weights;
        let bias = info.bias.iter().map(Vec::len).sum();
        let parameters = info.parameters().iter().map(Vec::len).sum();
        let map_entries = info.maps().iter().map(|m| m.len()).sum();
        let map_values = info
            .maps()
            .iter()
            .flat_map(|m| &m.entries)
            .map(|(_, v)| v.len())
            .sum();
        ParameterCounts {
            weights,
            int8_weights,
            bias,
            parameters,
            map_entries,
            map_values,
            total: weights + bias + parameters + map_values,
        }
    }
}

impl Summary {
    /// Summarizes a loaded (hence valid) model.
    pub fn of(model: &Model) -> Summary {
        let info = model.info();
        let memory = model.required_memory();
        Summary {
            features: info.features.as_ref().map(Vec::len),
            feature_size: model.feature_size(),
            output_size: model.output_size(),
            output_names: model.output_names(),
            labels: model.labels().map(<[_]>::to_vec),
            buffers: info.buffer_sizes.len(),
            instructions: info.instructions.len(),
            parameter_counts: ParameterCounts::of(info),
            flops_per_sample: flops_per_sample(model),
            memory_values_per_sample: memory,
            memory_bytes_per_sample: memory.saturating_mul(BYTES_PER_VALUE),
            batch_tile_samples: model.interpreter().tile_rows(),
            batch_scratch_bytes_per_thread: model.interpreter().batch_scratch_bytes(),
            register_chain: model.interpreter().plan().uses_register_chain(),
            static_engine: instinct::static_net_note(model),
        }
    }

    /// The summary as aligned `label  value` lines, each indented by two spaces.
    pub fn to_text(&self) -> String {
        let features = match self.features {
            Some(n) => format!("{n} ({} input values)", self.feature_size),
            None => format!("unnamed ({} input values)", self.feature_size),
        };
        let c = &self.parameter_counts;
        let lines = [
            ("features", features),
            ("output size", self.output_size.to_string()),
            ("outputs", shown_list(&self.output_names)),
            (
                "class labels",
                match &self.labels {
                    Some(labels) => {
                        shown_list(&labels.iter().map(ToString::to_string).collect::<Vec<_>>())
                    }
                    None => "none (not a labelled classifier)".to_string(),
                },
            ),
            ("buffers", self.buffers.to_string()),
            ("instructions", self.instructions.to_string()),
            (
                "parameters",
                format!(
                    "{} (weights {}{}, bias {}, parameters {}, map entries {} with {} values)",
                    c.total,
                    c.weights,
                    if c.int8_weights > 0 {
                        format!(" of which {} int8", c.int8_weights)
                    } else {
                        String::new()
                    },
                    c.bias,
                    c.parameters,
                    c.map_entries,
                    c.map_values
                ),
            ),
            ("FLOPs/sample", self.flops_per_sample.to_string()),
            (
                "memory/sample",
                format!(
                    "{} values, {} bytes",
                    self.memory_values_per_sample, self.memory_bytes_per_sample
                ),
            ),
            (
                "batch scratch",
                format!(
                    "{} bytes per thread (tiles of {} samples)",
                    self.batch_scratch_bytes_per_thread, self.batch_tile_samples
                ),
            ),
            (
                "per sample",
                if self.register_chain {
                    "register chain (every layer's outputs in registers)".to_string()
                } else {
                    "step by step".to_string()
                },
            ),
            ("static engine", self.static_engine.clone()),
        ];
        let mut text = String::new();
        for (label, value) in lines {
            let _ = writeln!(text, "  {label:<14} {value}");
        }
        text
    }
}

/// Floating-point operations one sample costs, summed over the instructions.
pub fn flops_per_sample(model: &Model) -> u64 {
    let info = model.info();
    let sizes = &model.layout().sizes;
    info.instructions
        .iter()
        .map(|ins| instruction_flops(ins, sizes))
        .fold(0u64, u64::saturating_add)
}

/// Floating-point operations of one instruction for one sample, by this convention (every
/// arithmetic operation or function evaluation such as `exp` counts as one):
///
/// - DOT, and the linear map inside ATTENTION: `2·rows·cols`, a multiply and an add per weight.
///   The bias add is folded into that count, as GEMM FLOP counts usually do.
/// - SOFTMAX over `n` values (as an activation, or inside ATTENTION): `3·n` (exp, sum, divide).
/// - Any other activation, and every element-wise instruction, over `n` values: `n` per pass.
///   CLIP_ELEMENTWISE makes one pass per bound present; ADD/MULTIPLY_ELEMENTWISE_BUFFERS one per
///   input after the first; ATTENTION's product with the query one; REDUCE_SUM one over its
///   input; ADD/MULTIPLY_BUFFER_HEADS one over the output.
/// - COPY, COPY_MASKED and MAP_TRANSFORM only move data: 0.
///
/// `sizes` are the buffer sizes of a valid model; an index past them counts as an empty buffer
/// rather than panicking.
pub fn instruction_flops(ins: &Instruction, sizes: &[usize]) -> u64 {
    let size = |b: usize| sizes.get(b).copied().unwrap_or(0) as u64;
    let affine = |rows: u64, cols: u64| 2u64.saturating_mul(rows).saturating_mul(cols);
    let activation = |a: Option<Activation>, n: u64| match a {
        None => 0,
        Some(Activation::Softmax | Activation::LogSoftmax) => n.saturating_mul(3),
        Some(_) => n,
    };
    match ins {
        Instruction::Dot {
            input,
            output,
            activation: a,
            ..
        } => affine(size(*output), size(*input)).saturating_add(activation(*a, size(*output))),
        Instruction::Attention { key, output, .. } => {
            let n = size(*output);
            affine(n, size(*key))
                .saturating_add(activation(Some(Activation::Softmax), n))
                .saturating_add(n)
        }
        Instruction::Activation {
            input,
            activation: a,
        } => activation(Some(*a), size(*input)),
        Instruction::AddElementwise { input, .. } | Instruction::MulElementwise { input, .. } => {
            size(*input)
        }
        Instruction::ClipElementwise {
            input,
            parameters_min,
            parameters_max,
        } => {
            let passes = u64::from(parameters_min.is_some()) + u64::from(parameters_max.is_some());
            passes.saturating_mul(size(*input))
        }
        Instruction::AddElementwiseBuffers { input, output }
        | Instruction::MultiplyElementwiseBuffers { input, output } => {
            (input.len().saturating_sub(1) as u64).saturating_mul(size(*output))
        }
        Instruction::MultiplyBufferHeads { output, .. }
        | Instruction::AddBufferHeads { output, .. } => size(*output),
        Instruction::ReduceSum { input, .. } => size(*input),
        Instruction::Copy { .. }
        | Instruction::CopyMasked { .. }
        | Instruction::MapTransform { .. } => 0,
    }
}

#[derive(Debug, Serialize)]
struct Report {
    model: String,
    summary: Summary,
    features: Vec<FeatureRow>,
    buffers: Vec<BufferRow>,
    instructions: Vec<InstructionRow>,
    /// The int8 layers and what the quantiser measured, for a quantised model.
    #[serde(skip_serializing_if = "Option::is_none")]
    quantization: Option<Int8Report>,
}

#[derive(Debug, Serialize)]
struct FeatureRow {
    name: String,
    width: usize,
}

#[derive(Debug, Serialize)]
struct BufferRow {
    index: usize,
    offset: usize,
    size: usize,
    input: bool,
    output: bool,
}

#[derive(Debug, Serialize)]
struct InstructionRow {
    index: usize,
    #[serde(rename = "type")]
    kind: &'static str,
    reads: Vec<Operand>,
    writes: Operand,
    /// The elements written, for instructions that write only part of their output buffer.
    #[serde(skip_serializing_if = "Option::is_none")]
    writes_range: Option<[usize; 2]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    weights: Option<SlotShape>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    parameters: Vec<Operand>,
    #[serde(skip_serializing_if = "Option::is_none")]
    map: Option<usize>,
    activation: Option<String>,
    flops: u64,
}

/// A buffer or parameter index with the JSON field that names it.
#[derive(Debug, Serialize)]
struct Operand {
    field: String,
    index: usize,
}

#[derive(Debug, Serialize)]
struct SlotShape {
    slot: usize,
    rows: usize,
    cols: usize,
    /// Stored as int8 (the `quantization` extension).
    int8: bool,
}

impl Report {
    fn of(path: &Path, model: &Model) -> Report {
        let info = model.info();
        let layout = model.layout();
        let features = match &info.features {
            Some(names) => names
                .iter()
                .map(|name| FeatureRow {
                    name: name.clone(),
                    // A loaded model's names are valid, so the width is always known.
                    width: instinct::format::feature_width(name).unwrap_or(0),
                })
                .collect(),
            None => Vec::new(),
        };
        let last = layout.sizes.len().saturating_sub(1);
        let buffers = layout
            .sizes
            .iter()
            .zip(&layout.offsets)
            .enumerate()
            .map(|(index, (&size, &offset))| BufferRow {
                index,
                offset,
                size,
                input: index < layout.input_buffers,
                output: index == last,
            })
            .collect();
        let instructions = info
            .instructions
            .iter()
            .enumerate()
            .map(|(index, ins)| InstructionRow {
                index,
                kind: ins.type_name(),
                reads: ins
                    .reads()
                    .into_iter()
                    .map(|(field, index)| Operand {
                        field: field.to_string(),
                        index,
                    })
                    .collect(),
                writes: {
                    let (field, index) = ins.writes();
                    Operand {
                        field: field.to_string(),
                        index,
                    }
                },
                writes_range: match ins {
                    Instruction::Copy {
                        input,
                        internal_index,
                        ..
                    } => Some([
                        *internal_index,
                        internal_index
                            .saturating_add(layout.sizes.get(*input).copied().unwrap_or(0)),
                    ]),
                    Instruction::CopyMasked { indexes, .. } => Some([0, indexes.len()]),
                    Instruction::MapTransform {
                        internal_output_index,
                        size,
                        ..
                    } => Some([
                        *internal_output_index,
                        internal_output_index.saturating_add(*size),
                    ]),
                    _ => None,
                },
                weights: ins
                    .weight_slot()
                    .map(|slot| match info.quantized_slot(slot) {
                        Some(q) => SlotShape {
                            slot,
                            rows: q.outputs,
                            cols: q.inputs,
                            int8: true,
                        },
                        None => SlotShape {
                            slot,
                            rows: info.weights.get(slot).map_or(0, Vec::len),
                            cols: info
                                .weights
                                .get(slot)
                                .and_then(|rows| rows.first())
                                .map_or(0, Vec::len),
                            int8: false,
                        },
                    }),
                parameters: ins
                    .parameter_refs()
                    .into_iter()
                    .map(|(field, index)| Operand {
                        field: field.to_string(),
                        index,
                    })
                    .collect(),
                map: match ins {
                    Instruction::MapTransform { map, .. } => Some(*map),
                    _ => None,
                },
                activation: ins.activation().map(|a| a.to_string()),
                flops: instruction_flops(ins, &layout.sizes),
            })
            .collect();
        Report {
            model: path.display().to_string(),
            summary: Summary::of(model),
            features,
            buffers,
            instructions,
            quantization: Int8Report::of(model),
        }
    }

    fn to_text(&self) -> String {
        let mut text = format!("{}\n{}", self.model, self.summary.to_text());

        if self.features.is_empty() {
            let _ = writeln!(
                text,
                "\nfeatures: none named ({} input values)",
                self.summary.feature_size
            );
        } else {
            let _ = writeln!(text, "\nfeatures");
            let rows: Vec<Vec<String>> = self
                .features
                .iter()
                .map(|f| vec![f.name.clone(), f.width.to_string()])
                .collect();
            text.push_str(&table(&["name", "width"], &rows));
        }

        let _ = writeln!(text, "\nbuffers");
        let rows: Vec<Vec<String>> = self
            .buffers
            .iter()
            .map(|b| {
                let role = match (b.input, b.output) {
                    (true, true) => "input, output",
                    (true, false) => "input",
                    (false, true) => "output",
                    (false, false) => "",
                };
                vec![
                    b.index.to_string(),
                    b.offset.to_string(),
                    b.size.to_string(),
                    role.to_string(),
                ]
            })
            .collect();
        text.push_str(&table(&["#", "offset", "size", "role"], &rows));

        let _ = writeln!(text, "\ninstructions");
        let rows: Vec<Vec<String>> = self
            .instructions
            .iter()
            .map(InstructionRow::cells)
            .collect();
        text.push_str(&table(
            &[
                "#",
                "type",
                "reads",
                "writes",
                "weights/params",
                "activation",
                "FLOPs",
            ],
            &rows,
        ));
        let _ = writeln!(
            text,
            "\nFLOPs: DOT and ATTENTION's map 2·rows·cols, SOFTMAX and LOG_SOFTMAX 3·n, other activations and element-wise ops n, copies 0"
        );
        if let Some(q) = &self.quantization {
            text.push_str(&q.to_text());
        }
        text
    }
}

impl InstructionRow {
    fn cells(&self) -> Vec<String> {
        // Plain inputs show as bare buffer numbers; other operands (ATTENTION's key) get their
        // field name so the roles stay clear.
        let reads = self
            .reads
            .iter()
            .map(|r| {
                if r.field == "input" || r.field.starts_with("input[") {
                    r.index.to_string()
                } else {
                    format!("{} {}", r.field, r.index)
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        let writes = match (self.writes.field == "output", self.writes_range) {
            (true, None) => self.writes.index.to_string(),
            (true, Some([start, end])) => format!("{}[{start}..{end}]", self.writes.index),
            (false, _) => format!("{} (in place)", self.writes.index),
        };
        let mut uses = Vec::new();
        if let Some(w) = &self.weights {
            let int8 = if w.int8 { " int8" } else { "" };
            uses.push(format!("w{} {}×{}{int8}", w.slot, w.rows, w.cols));
        }
        for p in &self.parameters {
            let label = p.field.strip_prefix("parameters_").unwrap_or("");
            uses.push(format!("{label} p{}", p.index).trim_start().to_string());
        }
        if let Some(m) = self.map {
            uses.push(format!("map {m}"));
        }
        vec![
            self.index.to_string(),
            self.kind.to_string(),
            reads,
            writes,
            uses.join(", "),
            self.activation.clone().unwrap_or_default(),
            self.flops.to_string(),
        ]
    }
}

/// Left-aligned columns two spaces apart, indented by two spaces.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::from(" ");
        for (cell, w) in row.iter().zip(&widths) {
            let pad = w.saturating_sub(cell.chars().count());
            let _ = write!(line, " {cell}{}", " ".repeat(pad + 1));
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

/// Runs `instinct inspect`.
pub fn run(path: &Path, json: bool) -> Outcome {
    let model = load_model(path)?;
    let report = Report::of(path, &model);
    if json {
        print_stdout(&to_json_text(&report)?)
    } else {
        print_stdout(&report.to_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(json: &str, expected: u64) {
        let ins: Instruction = serde_json::from_str(json).unwrap();
        // Buffers 0..4 of sizes 4, 16, 8, 16.
        assert_eq!(instruction_flops(&ins, &[4, 16, 8, 16]), expected, "{json}");
    }

    #[test]
    fn flops_follow_the_documented_convention() {
        check(
            r#"{"type":"DOT","input":0,"output":1,"weights":0}"#,
            2 * 16 * 4,
        );
        check(
            r#"{"type":"DOT","input":0,"output":1,"weights":0,"activation":"RELU"}"#,
            2 * 16 * 4 + 16,
        );
        check(
            r#"{"type":"DOT","input":0,"output":2,"weights":0,"activation":"SOFTMAX"}"#,
            2 * 8 * 4 + 3 * 8,
        );
        check(
            r#"{"type":"ATTENTION","input":1,"key":0,"output":3,"weights":0}"#,
            2 * 16 * 4 + 3 * 16 + 16,
        );
        check(r#"{"type":"ACTIVATION","input":2,"activation":"TANH"}"#, 8);
        check(
            r#"{"type":"CLIP_ELEMENTWISE","input":2,"parameters_min":0,"parameters_max":1}"#,
            16,
        );
        check(
            r#"{"type":"ADD_ELEMENTWISE_BUFFERS","input":[1,3,3],"output":1}"#,
            32,
        );
        check(r#"{"type":"REDUCE_SUM","input":1,"output":0}"#, 16);
        check(
            r#"{"type":"COPY","input":0,"output":1,"internal_index":2}"#,
            0,
        );
    }
}
