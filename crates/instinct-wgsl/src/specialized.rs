//! The model-specialised mode: the library's functions and names, with one model structure baked
//! in. Sizes and offsets become constants, `predict` is straight-line code (one statement or call
//! per instruction, no instruction loop), and small dot products and element-wise instructions
//! are unrolled. Weights and parameters are still read from `model_data`, so one specialised
//! shader runs every model of the same structure (the same blob layout, other values).

use crate::blob::{
    GpuInstruction, GpuModel, NO_BOUND, Opcode, activation_of_code, is_segment_code,
    takes_parameters,
};
use instinct_format::Activation;
use std::fmt::Write;

/// A DOT is unrolled into one statement per output when it has at most this many products...
pub const UNROLL_DOT_PRODUCTS: u64 = 512;
/// ...and each output at most this many inputs.
pub const UNROLL_DOT_INPUTS: u32 = 64;
/// Products per loop iteration of a DOT that is not unrolled.
pub const DOT_CHUNK: u64 = 32;
/// Element-wise instructions of at most this many values are unrolled.
pub const UNROLL_ELEMENTS: u32 = 16;
/// Unrolled statements (products of unrolled DOTs, values of unrolled element-wise
/// instructions) one shader holds in all; the instructions after are written as loops or
/// calls. Each costs ~60-100 bytes of WGSL and a handful of naga expressions, so this bounds the
/// shader (a few MB) whatever the model: without it a 5 MB file of 100,000 DOTs of 8 x 64 that
/// share two weight slots unrolls to 3.7 GB of WGSL, at zero loop iterations.
pub const UNROLL_BUDGET: u64 = 1 << 16;
/// Statements per WGSL function of `predict` (as `part_cost` counts them): `predict` calls
/// `predict_part_0`, `predict_part_1`, ... in order. naga's WGSL front end resolves types with
/// `Typifier::grow`, which steps over a function's resolved expressions one by one
/// (`arena.iter().skip(n)`) each time it grows, so its cost is quadratic in one function's
/// expressions; short functions keep it linear. Drivers inline the calls and they add no loop,
/// so the loop count is unchanged.
pub const PREDICT_PART_STATEMENTS: u64 = 256;

/// Whether the specialised mode writes `g` without a loop (then it costs no loop iterations,
/// except the softmax of a DOT, which still runs `apply_softmax`).
pub(crate) fn unrolled(g: &GpuInstruction) -> bool {
    let small = g.data_size <= UNROLL_ELEMENTS;
    match Opcode::from_code(g.opcode) {
        Some(Opcode::Dot) => {
            g.param1 <= UNROLL_DOT_INPUTS
                && g.data_size as u64 * g.param1 as u64 <= UNROLL_DOT_PRODUCTS
        }
        Some(Opcode::Activation) => small && !is_segment_code(g.param2),
        Some(Opcode::Add | Opcode::Mul | Opcode::Copy | Opcode::CopyMasked | Opcode::Clip) => small,
        _ => false,
    }
}

/// The statements `g` unrolls to: one per product of a DOT, one per value otherwise.
fn unroll_cost(g: &GpuInstruction) -> u64 {
    match Opcode::from_code(g.opcode) {
        Some(Opcode::Dot) => g.data_size as u64 * g.param1 as u64,
        _ => g.data_size as u64,
    }
}

/// About how many product terms or statements `g` writes into its part of `predict` (what
/// naga's cost follows): its unrolled statements, the product terms of a DOT loop's body
/// (a chunk and the tail), or 1 for a short loop or a call.
fn part_cost(g: &GpuInstruction, unrolled: bool) -> u64 {
    let p1 = g.param1 as u64;
    match Opcode::from_code(g.opcode) {
        _ if unrolled => unroll_cost(g).max(1),
        Some(Opcode::Dot) => (DOT_CHUNK.min(p1) + p1 % DOT_CHUNK).max(1),
        _ => 1,
    }
}

/// Which instructions the specialised mode unrolls: those [`unrolled`] allows, in program
/// order, while their statements fit in what is left of [`UNROLL_BUDGET`]. The one decision
/// both the shader and its loop count ([`crate::loops::loop_iterations`]) follow.
pub(crate) fn unroll_plan(instructions: &[GpuInstruction]) -> Vec<bool> {
    let mut left = UNROLL_BUDGET;
    instructions
        .iter()
        .map(|g| {
            let cost = unroll_cost(g);
            let unroll = unrolled(g) && cost <= left;
            if unroll {
                left -= cost;
            }
            unroll
        })
        .collect()
}

/// The WGSL function applying an activation code to one value (see
/// [`crate::activations::function_name`]), `None` for no activation and for softmax and
/// log-softmax (which need the whole segment).
fn activation_fn(code: u32) -> Option<String> {
    let activation = activation_of_code(code, [0.0; 2])??;
    activation
        .wgsl_body()
        .map(|_| crate::activations::function_name(activation))
}

/// `value` through `g`'s activation (its code in `param2`), as WGSL: a call, with the two
/// parameter words read from `model_data` (so models of one structure share the shader) for the
/// activations that take them; `value` itself for none and for the segment activations.
fn activate(g: &GpuInstruction, params: u64, value: &str) -> String {
    match activation_fn(g.param2) {
        Some(f) if takes_parameters(g.param2) => {
            let at = params + g.reserved as u64;
            format!("{f}({value}, vec2<f32>({}, {}))", data(at), data(at + 1))
        }
        Some(f) => format!("{f}({value})"),
        None => value.to_string(),
    }
}

/// The library function normalising a segment for a SOFTMAX or LOG_SOFTMAX code.
fn segment_fn(code: u32) -> Option<&'static str> {
    match activation_of_code(code, [0.0; 2])?? {
        Activation::Softmax => Some("apply_softmax"),
        Activation::LogSoftmax => Some("apply_log_softmax"),
        _ => None,
    }
}

fn cb(i: u64) -> String {
    format!("(*compute_buffer)[{i}u]")
}

fn data(i: u64) -> String {
    format!("model_data[model_offset + {i}u]")
}

fn data_at(index: &str) -> String {
    format!("model_data[model_offset + {index}]")
}

/// The specialised library of `model`'s structure: `const MAX_COMPUTE_BUFFER` (the model's exact
/// compute buffer), the shared functions, `get_*` returning constants and a straight-line
/// `predict` with the library's signature, so [`crate::library::standalone_shader`] and shaders written
/// for the library take it unchanged.
pub fn specialized_library(model: &GpuModel) -> String {
    let instructions = model.instructions();
    let size = model.compute_buffer_size().max(1);
    let mut s = String::new();
    // Writing to a String cannot fail.
    let _ = write!(
        s,
        "// instinct WGSL specialised for one model structure: {} instructions, compute buffer of {} values\n\
         const MAX_COMPUTE_BUFFER: u32 = {size}u;\n\n{}\n",
        instructions.len(),
        model.compute_buffer_size(),
        crate::library::functions(),
    );
    for (name, value) in [
        ("get_feature_size", model.feature_size()),
        ("get_output_size", model.output_size()),
        ("get_compute_buffer_size", model.compute_buffer_size()),
        ("get_output_start", model.output_start()),
        ("get_full_model_size", model.len()),
    ] {
        let _ = writeln!(
            s,
            "fn {name}(model_offset: u32) -> u32 {{\n    return {value}u;\n}}\n"
        );
    }
    const SIGNATURE: &str =
        "(model_offset: u32, compute_buffer: ptr<function, array<f32, MAX_COMPUTE_BUFFER>>)";
    let weights = model.weights_offset() as u64;
    let params = model.params_offset() as u64;
    let plan = unroll_plan(instructions);
    // The instructions in parts of about PREDICT_PART_STATEMENTS statements, one function each.
    let mut parts: Vec<std::ops::Range<usize>> = Vec::new();
    let (mut start, mut statements) = (0, 0u64);
    for (n, g) in instructions.iter().enumerate() {
        let cost = part_cost(g, plan[n]);
        if n > start && statements + cost > PREDICT_PART_STATEMENTS {
            parts.push(start..n);
            (start, statements) = (n, 0);
        }
        statements += cost;
    }
    if start < instructions.len() {
        parts.push(start..instructions.len());
    }
    let _ = writeln!(s, "fn predict{SIGNATURE} {{");
    for k in 0..parts.len() {
        let _ = writeln!(s, "    predict_part_{k}(model_offset, compute_buffer);");
    }
    s.push_str("}\n");
    for (k, part) in parts.into_iter().enumerate() {
        let _ = writeln!(s, "\nfn predict_part_{k}{SIGNATURE} {{");
        for n in part {
            let g = &instructions[n];
            let op = Opcode::from_code(g.opcode).expect("a checked blob has known opcodes");
            let _ = writeln!(
                s,
                "    // [{n}] {op:?}: input {}, output {}, {} values",
                g.input_ptr, g.output_ptr, g.data_size
            );
            instruction(&mut s, model, g, op, weights, params, plan[n]);
        }
        s.push_str("}\n");
    }
    s
}

/// The code of one instruction of `predict`.
fn instruction(
    s: &mut String,
    model: &GpuModel,
    g: &GpuInstruction,
    op: Opcode,
    weights: u64,
    params: u64,
    unroll: bool,
) {
    let (inp, out, size) = (g.input_ptr as u64, g.output_ptr as u64, g.data_size as u64);
    let (p0, p1, p2) = (g.param0 as u64, g.param1 as u64, g.param2);
    let mut line = |text: String| {
        s.push_str("    ");
        s.push_str(&text);
        s.push('\n');
    };
    match op {
        Opcode::Dot if unroll => {
            let w = weights + p0;
            for o in 0..size {
                let sum = if p1 == 0 {
                    "0.0".to_string()
                } else {
                    (0..p1)
                        .map(|k| format!("{} * {}", data(w + o * p1 + k), cb(inp + k)))
                        .collect::<Vec<_>>()
                        .join(" + ")
                };
                let value = format!("({sum}) + {}", data(w + size * p1 + o));
                let value = activate(g, params, &value);
                line(format!("{} = {value};", cb(out + o)));
            }
            if let Some(f) = segment_fn(p2) {
                line(format!("{f}(compute_buffer, {out}u, {size}u);"));
            }
        }
        Opcode::Dot => {
            // A loop over the outputs with only this instruction's activation: much less code
            // than a call of `execute_dot` (drivers inline every call).
            // Each output's products run DOT_CHUNK at a time, written out, so a loop iteration
            // does DOT_CHUNK of them (Mesa's loop budget counts iterations).
            let w = weights + p0;
            let value = format!("s + {}", data_at(&format!("{}u + o", w + size * p1)));
            let value = activate(g, params, &value);
            let term = |k: &str| {
                format!(
                    "{} * (*compute_buffer)[{inp}u + {k}]",
                    data_at(&format!("row + {k}"))
                )
            };
            let chunks = p1 / DOT_CHUNK;
            let mut body = format!("let row = {w}u + o * {p1}u;\n        var s: f32 = 0.0;\n");
            if chunks > 0 {
                let terms: Vec<String> =
                    (0..DOT_CHUNK).map(|j| term(&format!("c + {j}u"))).collect();
                body += &format!(
                    "        for (var c: u32 = 0u; c < {}u; c = c + {DOT_CHUNK}u) {{\n            s = s + ({});\n        }}\n",
                    chunks * DOT_CHUNK,
                    terms.join(" + ")
                );
            }
            let tail: Vec<String> = (chunks * DOT_CHUNK..p1)
                .map(|k| term(&format!("{k}u")))
                .collect();
            if !tail.is_empty() {
                body += &format!("        s = s + ({});\n", tail.join(" + "));
            }
            line(format!(
                "for (var o: u32 = 0u; o < {size}u; o = o + 1u) {{\n        {body}        \
                 (*compute_buffer)[{out}u + o] = {value};\n    }}"
            ));
            if let Some(f) = segment_fn(p2) {
                line(format!("{f}(compute_buffer, {out}u, {size}u);"));
            }
        }
        Opcode::Activation if unroll => {
            if activation_fn(p2).is_some() {
                for i in 0..size {
                    line(format!(
                        "{} = {};",
                        cb(inp + i),
                        activate(g, params, &cb(inp + i))
                    ));
                }
            }
        }
        Opcode::Activation => match segment_fn(p2) {
            Some(f) => line(format!("{f}(compute_buffer, {inp}u, {size}u);")),
            None if activation_fn(p2).is_some() => line(format!(
                "for (var i: u32 = {inp}u; i < {}u; i = i + 1u) {{\n        \
                 (*compute_buffer)[i] = {};\n    }}",
                inp + size,
                activate(g, params, "(*compute_buffer)[i]")
            )),
            None => {}
        },
        Opcode::Add | Opcode::Mul if unroll => {
            let sign = if op == Opcode::Add { "+" } else { "*" };
            for i in 0..size {
                line(format!(
                    "{} = {} {sign} {};",
                    cb(inp + i),
                    cb(inp + i),
                    data(params + p0 + i)
                ));
            }
        }
        Opcode::Add | Opcode::Mul => line(format!(
            "execute_elem_wise_{}(model_offset, compute_buffer, {inp}u, {size}u, {}u);",
            if op == Opcode::Add { "add" } else { "mul" },
            params + p0
        )),
        Opcode::Copy if unroll => {
            // Overlapping ranges copy as memmove does: backwards when the output starts inside
            // the input.
            let backwards = out > inp && out < inp + size;
            for k in 0..size {
                let i = if backwards { size - 1 - k } else { k };
                line(format!("{} = {};", cb(out + i), cb(inp + i)));
            }
        }
        Opcode::Copy => line(format!(
            "execute_copy(compute_buffer, {inp}u, {out}u, {size}u);"
        )),
        Opcode::CopyMasked if unroll => {
            for i in 0..size {
                let from = model.words()[(params + p0 + i) as usize] as u64;
                line(format!("{} = {};", cb(out + i), cb(from)));
            }
        }
        Opcode::CopyMasked => line(format!(
            "execute_copy_masked(model_offset, compute_buffer, {out}u, {size}u, {}u);",
            params + p0
        )),
        Opcode::Clip if unroll => {
            for i in 0..size {
                let mut v = cb(inp + i);
                if g.param0 != NO_BOUND {
                    v = format!("max({v}, {})", data(params + p0 + i));
                }
                if g.param1 != NO_BOUND {
                    v = format!("min({v}, {})", data(params + p1 + i));
                }
                line(format!("{} = {v};", cb(inp + i)));
            }
        }
        Opcode::Clip => line(format!(
            "execute_clip_elementwise(model_offset, compute_buffer, {inp}u, {size}u, {params}u, {}u, {}u);",
            g.param0, g.param1
        )),
        Opcode::AddBuffers | Opcode::MulBuffers => line(format!(
            "execute_elem_wise_buffers_{}(model_offset, compute_buffer, {out}u, {size}u, {}u, {p1}u);",
            if op == Opcode::AddBuffers {
                "add"
            } else {
                "mul"
            },
            params + p0
        )),
        Opcode::MulHeads | Opcode::AddHeads => line(format!(
            "execute_{}_buffer_heads(compute_buffer, {inp}u, {out}u, {size}u, {p0}u, {p1}u);",
            if op == Opcode::MulHeads {
                "multiply"
            } else {
                "add"
            }
        )),
        Opcode::ReduceSum => line(format!(
            "execute_reduce_sum(compute_buffer, {inp}u, {out}u, {size}u);"
        )),
        Opcode::MapTransform => line(format!(
            "execute_map_transform(model_offset, compute_buffer, {inp}u, {out}u, {size}u, {params}u, {p0}u, {p1}u, {p2}u);"
        )),
        Opcode::Attention => line(format!(
            "execute_attention(model_offset, compute_buffer, {inp}u, {out}u, {size}u, {}u, {p1}u, {p2}u);",
            weights + p0
        )),
    }
}
