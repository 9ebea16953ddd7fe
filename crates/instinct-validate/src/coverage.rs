//! Which elements of a buffer have been written, as a set of disjoint element ranges, and the
//! element ranges each instruction reads and writes: the dataflow checks work on ranges, so
//! their cost follows the number of instructions and list entries, never a buffer's size.

use instinct_format::{Instruction, ModelInfo, ReadField};
use std::collections::BTreeMap;
use std::ops::Range;

/// The written elements of one buffer: disjoint, non-adjacent ranges keyed by their start.
#[derive(Debug, Default, Clone)]
pub(crate) struct Written {
    ranges: BTreeMap<usize, usize>,
}

impl Written {
    /// A buffer whose elements `0..size` are all written (an input buffer).
    pub(crate) fn full(size: usize) -> Written {
        let mut w = Written::default();
        w.insert(0..size);
        w
    }

    /// Marks `range` written, merging it with the ranges it touches. Amortised O(log n): every
    /// range is removed at most once after it was inserted.
    pub(crate) fn insert(&mut self, range: Range<usize>) {
        if range.is_empty() {
            return;
        }
        let (mut start, mut end) = (range.start, range.end);
        if let Some((&s, &e)) = self.ranges.range(..=start).next_back()
            && e >= start
        {
            start = s;
            end = end.max(e);
        }
        while let Some((&s, &e)) = self.ranges.range(start..).next() {
            if s > end {
                break;
            }
            end = end.max(e);
            self.ranges.remove(&s);
        }
        self.ranges.insert(start, end);
    }

    /// The first part of `range` that is not written, if any.
    pub(crate) fn first_gap(&self, range: Range<usize>) -> Option<Range<usize>> {
        if range.is_empty() {
            return None;
        }
        let gap_start = match self.ranges.range(..=range.start).next_back() {
            Some((_, &e)) if e > range.start => e,
            _ => range.start,
        };
        if gap_start >= range.end {
            return None;
        }
        let gap_end = self
            .ranges
            .range(gap_start..)
            .next()
            .map_or(range.end, |(&s, _)| s.min(range.end));
        Some(gap_start..gap_end)
    }

    /// Whether element `i` is written.
    pub(crate) fn contains(&self, i: usize) -> bool {
        self.first_gap(i..i + 1).is_none()
    }
}

/// Elements of a buffer that an instruction reads.
pub(crate) enum ReadSpan<'a> {
    /// A contiguous range.
    Range(Range<usize>),
    /// Single elements, at the JSON field `indexes[j]` for entry j (COPY_MASKED).
    Points(&'a [usize]),
}

/// One buffer read by an instruction.
pub(crate) struct Read<'a> {
    /// The JSON field that names the buffer.
    pub field: ReadField,
    /// The buffer index.
    pub buffer: usize,
    /// The elements read.
    pub span: ReadSpan<'a>,
}

/// The elements `ins` reads, buffer by buffer. Buffer indices must be in range; offsets beyond
/// a buffer (reported by the shape rules) are clipped to it. An iterator, not a vector: an input
/// list may name millions of buffers.
pub(crate) fn reads<'a>(
    info: &'a ModelInfo,
    ins: &'a Instruction,
) -> Box<dyn Iterator<Item = Read<'a>> + 'a> {
    let sz = move |b: usize| info.buffer_sizes[b];
    match ins {
        Instruction::AddElementwiseBuffers { input, output }
        | Instruction::MultiplyElementwiseBuffers { input, output } => {
            let out = sz(*output);
            Box::new(input.iter().enumerate().map(move |(j, &b)| Read {
                field: ReadField::InputAt(j),
                buffer: b,
                span: ReadSpan::Range(0..sz(b).min(out)),
            }))
        }
        Instruction::MultiplyBufferHeads { input, .. }
        | Instruction::AddBufferHeads { input, .. } => {
            Box::new(input.iter().enumerate().map(move |(j, &b)| Read {
                field: ReadField::InputAt(j),
                buffer: b,
                span: ReadSpan::Range(0..sz(b)),
            }))
        }
        _ => Box::new(named_reads(info, ins).into_iter()),
    }
}

/// The reads of an instruction without an input list (those have none here).
fn named_reads<'a>(info: &ModelInfo, ins: &'a Instruction) -> Vec<Read<'a>> {
    let sz = |b: usize| info.buffer_sizes[b];
    let whole = |field, buffer| Read {
        field,
        buffer,
        span: ReadSpan::Range(0..sz(buffer)),
    };
    match ins {
        Instruction::Dot { input, .. }
        | Instruction::Copy { input, .. }
        | Instruction::Activation { input, .. }
        | Instruction::AddElementwise { input, .. }
        | Instruction::MulElementwise { input, .. }
        | Instruction::ClipElementwise { input, .. }
        | Instruction::ReduceSum { input, .. } => vec![whole(ReadField::Input, *input)],
        Instruction::CopyMasked { input, indexes, .. } => vec![Read {
            field: ReadField::Input,
            buffer: *input,
            span: ReadSpan::Points(indexes),
        }],
        Instruction::MapTransform {
            input,
            internal_input_index: at,
            ..
        } => {
            let at = (*at).min(sz(*input));
            vec![Read {
                field: ReadField::Input,
                buffer: *input,
                span: ReadSpan::Range(at..(at + 1).min(sz(*input))),
            }]
        }
        Instruction::AddElementwiseBuffers { .. }
        | Instruction::MultiplyElementwiseBuffers { .. }
        | Instruction::MultiplyBufferHeads { .. }
        | Instruction::AddBufferHeads { .. } => Vec::new(),
        Instruction::Attention { input, key, .. } => {
            vec![whole(ReadField::Input, *input), whole(ReadField::Key, *key)]
        }
    }
}

/// The buffer `ins` writes and the elements it writes there (clipped to the buffer).
pub(crate) fn write(info: &ModelInfo, ins: &Instruction) -> (usize, Range<usize>) {
    let sz = |b: usize| info.buffer_sizes[b];
    let (_, out) = ins.writes();
    let clip =
        |start: usize, len: usize| start.min(sz(out))..start.saturating_add(len).min(sz(out));
    let range = match ins {
        Instruction::Copy {
            input,
            internal_index,
            ..
        } => clip(*internal_index, sz(*input)),
        Instruction::CopyMasked { indexes, .. } => clip(0, indexes.len()),
        Instruction::MapTransform {
            internal_output_index,
            size,
            ..
        } => clip(*internal_output_index, *size),
        Instruction::ReduceSum { .. } => clip(0, 1),
        // The data's length; a longer output keeps its other elements.
        Instruction::MultiplyBufferHeads { input, .. }
        | Instruction::AddBufferHeads { input, .. } => clip(0, input.first().map_or(0, |&d| sz(d))),
        _ => 0..sz(out),
    };
    (out, range)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(ranges: &[Range<usize>]) -> Written {
        let mut w = Written::default();
        for r in ranges {
            w.insert(r.clone());
        }
        w
    }

    #[test]
    fn ranges_merge_when_they_touch_or_overlap() {
        let w = written(&[4..6, 0..2, 2..3, 5..9, 20..21]);
        let all: Vec<(usize, usize)> = w.ranges.iter().map(|(&s, &e)| (s, e)).collect();
        assert_eq!(all, [(0, 3), (4, 9), (20, 21)]);
        let w = written(&[10..12, 14..16, 0..30]);
        assert_eq!(w.ranges.len(), 1);
    }

    #[test]
    fn the_first_gap_is_found() {
        let w = written(&[0..3, 4..9, 20..21]);
        assert_eq!(w.first_gap(0..3), None);
        assert_eq!(w.first_gap(0..9), Some(3..4));
        assert_eq!(w.first_gap(5..25), Some(9..20));
        assert_eq!(w.first_gap(21..25), Some(21..25));
        assert_eq!(w.first_gap(30..31), Some(30..31));
        assert_eq!(w.first_gap(7..7), None);
        assert!(w.contains(20) && !w.contains(3) && !w.contains(21));
        assert_eq!(Written::default().first_gap(2..5), Some(2..5));
        assert_eq!(Written::full(5).first_gap(0..5), None);
    }
}
