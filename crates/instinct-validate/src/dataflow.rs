//! Dataflow rules, run in program order: reads of never-written buffers, results overwritten
//! before anything read them (the reference's "unused computation"), an output never written.

use crate::DiagnosticKind as K;
use crate::rules::Report;
use instinct_format::{Instruction, ModelInfo, WriteKind};

fn writes_something(info: &ModelInfo, ins: &Instruction) -> bool {
    match ins {
        Instruction::CopyMasked { indexes, .. } => !indexes.is_empty(),
        Instruction::MapTransform { size, .. } => *size > 0,
        Instruction::Copy { input, .. } => info.buffer_sizes[*input] > 0,
        _ => true,
    }
}

/// Runs the dataflow rules. Every buffer index must be in range, and the input must fill
/// buffers `0..input_buffers`.
pub(crate) fn check(info: &ModelInfo, input_buffers: usize, r: &mut Report) {
    let buffers = info.buffer_sizes.len();
    let mut written: Vec<bool> = (0..buffers).map(|b| b < input_buffers).collect();
    // For each buffer, the instructions whose writes are still visible in it (several after
    // partial writes such as the COPYs of a concatenation), as the reference tracks them.
    let mut last_writers: Vec<Vec<usize>> = vec![Vec::new(); buffers];
    let mut was_read = vec![false; info.instructions.len()];
    for (n, ins) in info.instructions.iter().enumerate() {
        for (field, b) in ins.reads() {
            if !written[b] {
                r.push(
                    format!("instructions[{n}].{field}"),
                    K::ReadBeforeWrite { buffer: b },
                );
            }
            for &w in &last_writers[b] {
                was_read[w] = true;
            }
        }
        let (_, out) = ins.writes();
        match ins.write_kind() {
            WriteKind::Partial => last_writers[out].push(n),
            WriteKind::Full | WriteKind::InPlace => {
                for &prev in &last_writers[out] {
                    if !was_read[prev] {
                        r.push(
                            format!("instructions[{prev}]"),
                            K::UnusedComputation {
                                buffer: out,
                                overwritten_by: n,
                            },
                        );
                    }
                }
                last_writers[out] = vec![n];
            }
        }
        // A write of no element (COPY_MASKED without indexes, MAP_TRANSFORM of size 0, COPY of
        // the empty buffer 0) leaves the buffer as unwritten as it was.
        if writes_something(info, ins) {
            written[out] = true;
        }
    }
    let last = buffers - 1;
    if !written[last] {
        r.push(
            format!("buffer_sizes[{last}]"),
            K::OutputNeverWritten { buffer: last },
        );
    }
}
