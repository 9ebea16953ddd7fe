//! Dataflow rules, run in program order: reads of elements that neither the input nor an
//! earlier instruction has written, results overwritten before anything read them (the
//! reference's "unused computation"), output elements never written.

use crate::coverage::{self, ReadSpan, Written};
use crate::diagnostics::DiagnosticKind as K;
use crate::report::Report;
use instinct_format::{ModelInfo, WriteKind};

/// Runs the dataflow rules. Every buffer index must be in range, and the input must fill
/// buffers `0..input_buffers`.
pub(crate) fn check(info: &ModelInfo, input_buffers: usize, r: &mut Report) {
    let buffers = info.buffer_sizes.len();
    let mut written: Vec<Written> = (0..buffers)
        .map(|b| {
            if b < input_buffers {
                Written::full(info.buffer_sizes[b])
            } else {
                Written::default()
            }
        })
        .collect();
    // For each buffer, the instructions whose writes are still visible in it (several after
    // partial writes such as the COPYs of a concatenation), as the reference tracks them.
    let mut last_writers: Vec<Vec<usize>> = vec![Vec::new(); buffers];
    // Of those, the ones nothing has read yet: a read marks and forgets them, so a list naming
    // one buffer a million times costs a million steps, not a million times its writers.
    let mut unread: Vec<Vec<usize>> = vec![Vec::new(); buffers];
    let mut was_read = vec![false; info.instructions.len()];
    for (n, ins) in info.instructions.iter().enumerate() {
        for read in coverage::reads(info, ins) {
            let b = read.buffer;
            match read.span {
                ReadSpan::Range(range) => {
                    if let Some(gap) = written[b].first_gap(range) {
                        r.push(
                            format!("instructions[{n}].{}", read.field),
                            K::ReadBeforeWrite {
                                buffer: b,
                                start: gap.start,
                                end: gap.end,
                                instruction: n,
                            },
                        );
                    }
                }
                ReadSpan::Points(indexes) => {
                    let unwritten = indexes
                        .iter()
                        .enumerate()
                        .find(|&(_, &i)| i < info.buffer_sizes[b] && !written[b].contains(i));
                    if let Some((j, &i)) = unwritten {
                        r.push(
                            format!("instructions[{n}].indexes[{j}]"),
                            K::ReadBeforeWrite {
                                buffer: b,
                                start: i,
                                end: i + 1,
                                instruction: n,
                            },
                        );
                    }
                }
            }
            for w in unread[b].drain(..) {
                was_read[w] = true;
            }
        }
        let (out, range) = coverage::write(info, ins);
        match ins.write_kind() {
            WriteKind::Partial => {
                last_writers[out].push(n);
                unread[out].push(n);
            }
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
                last_writers[out].clear();
                last_writers[out].push(n);
                unread[out].clear();
                unread[out].push(n);
            }
        }
        written[out].insert(range);
    }
    let last = buffers - 1;
    if let Some(gap) = written[last].first_gap(0..info.buffer_sizes[last]) {
        r.push(
            format!("buffer_sizes[{last}]"),
            K::OutputNeverWritten {
                buffer: last,
                start: gap.start,
                end: gap.end,
            },
        );
    }
}
