//! `check_blob`: every word of a blob made elsewhere checked before a shader may index with it,
//! so that a corrupt or foreign blob is an error naming the word, not a garbage result.

use crate::blob::{
    GpuInstruction, GpuModel, HEADER_WORDS, INSTRUCTION_WORDS, MAGIC, MAX_COMPUTE_BUFFER, NO_BOUND,
    Opcode, activation_of_code, header, takes_parameters,
};
use crate::error::BlobError;

impl GpuModel {
    /// A blob made elsewhere (by instmodel, or read back from a file), checked word by word:
    /// header, every instruction's opcode, activation, compute-buffer range and data range.
    pub fn from_words(words: Vec<u32>) -> Result<GpuModel, BlobError> {
        check_blob(&words)?;
        Ok(GpuModel { words })
    }
}

fn malformed(place: impl Into<String>, reason: impl Into<String>) -> BlobError {
    BlobError::Malformed {
        place: place.into(),
        reason: reason.into(),
    }
}

/// The regions of a blob, read from a checked header.
struct Regions {
    compute: u64,
    weights: (u64, u64),
    params: (u64, u64),
}

impl Regions {
    /// `[start, start + len)` lies in the compute buffer.
    fn compute(&self, place: &str, what: &str, start: u32, len: u64) -> Result<(), BlobError> {
        let end = start as u64 + len;
        if end > self.compute {
            return Err(malformed(
                place,
                format!(
                    "{what} {start}..{end} is outside the compute buffer of {} values",
                    self.compute
                ),
            ));
        }
        Ok(())
    }

    fn region(
        &self,
        (at, count): (u64, u64),
        name: &str,
        place: &str,
        what: &str,
        start: u32,
        len: u64,
    ) -> Result<(), BlobError> {
        let end = start as u64 + len;
        if end > count {
            return Err(malformed(
                place,
                format!(
                    "{what} {start}..{end} is outside the {name} region of {count} words (at word {at})"
                ),
            ));
        }
        Ok(())
    }

    fn weights(&self, place: &str, what: &str, start: u32, len: u64) -> Result<(), BlobError> {
        self.region(self.weights, "weights", place, what, start, len)
    }

    fn params(&self, place: &str, what: &str, start: u32, len: u64) -> Result<(), BlobError> {
        self.region(self.params, "parameters", place, what, start, len)
    }
}

/// Checks a single model's blob: header, regions, and every instruction's operands.
pub(crate) fn check_blob(words: &[u32]) -> Result<(), BlobError> {
    if words.len() < HEADER_WORDS {
        return Err(malformed(
            "header",
            format!("{} words, a header needs {HEADER_WORDS}", words.len()),
        ));
    }
    let h = |i: usize| words[i] as u64;
    if words[header::MAGIC] != MAGIC {
        return Err(malformed(
            "header word 0",
            format!("magic {:#x}, expected {MAGIC:#x}", words[0]),
        ));
    }
    if !(1..=2).contains(&words[header::VERSION]) {
        return Err(malformed(
            "header word 1",
            format!("version {}, expected 1 or 2", words[1]),
        ));
    }
    let n = h(header::INSTRUCTION_COUNT);
    let layout = [
        (
            header::INSTRUCTIONS_OFFSET,
            HEADER_WORDS as u64,
            "instructions start right after the header",
        ),
        (
            header::WEIGHTS_OFFSET,
            HEADER_WORDS as u64 + INSTRUCTION_WORDS as u64 * n,
            "weights start right after the instructions",
        ),
        (
            header::PARAMS_OFFSET,
            h(header::WEIGHTS_OFFSET) + h(header::WEIGHTS_COUNT),
            "parameters start right after the weights",
        ),
        (
            header::FULL_MODEL_SIZE,
            h(header::PARAMS_OFFSET) + h(header::PARAMS_COUNT),
            "the model ends right after the parameters",
        ),
    ];
    for (index, expected, rule) in layout {
        if h(index) != expected {
            return Err(malformed(
                format!("header word {index}"),
                format!("{} where {expected} is expected: {rule}", h(index)),
            ));
        }
    }
    if h(header::FULL_MODEL_SIZE) != words.len() as u64 {
        return Err(malformed(
            "header word 12",
            format!(
                "the model claims {} words, the blob has {}",
                h(header::FULL_MODEL_SIZE),
                words.len()
            ),
        ));
    }
    let compute = h(header::COMPUTE_BUFFER_SIZE);
    if compute > MAX_COMPUTE_BUFFER as u64 {
        return Err(BlobError::ComputeBufferTooLarge {
            required: compute as usize,
            max: MAX_COMPUTE_BUFFER,
        });
    }
    if h(header::FEATURE_SIZE) > compute
        || h(header::OUTPUT_START) + h(header::OUTPUT_SIZE) > compute
    {
        return Err(malformed(
            "header",
            format!(
                "features ({}) or output ({} values from {}) outside the compute buffer of {compute}",
                h(header::FEATURE_SIZE),
                h(header::OUTPUT_SIZE),
                h(header::OUTPUT_START)
            ),
        ));
    }
    let regions = Regions {
        compute,
        weights: (h(header::WEIGHTS_OFFSET), h(header::WEIGHTS_COUNT)),
        params: (h(header::PARAMS_OFFSET), h(header::PARAMS_COUNT)),
    };
    let start = HEADER_WORDS;
    let instructions: &[GpuInstruction] =
        bytemuck::cast_slice(&words[start..start + INSTRUCTION_WORDS * n as usize]);
    for (i, g) in instructions.iter().enumerate() {
        check_instruction(i, g, words, &regions)?;
    }
    Ok(())
}

fn check_instruction(
    i: usize,
    g: &GpuInstruction,
    words: &[u32],
    r: &Regions,
) -> Result<(), BlobError> {
    let Some(op) = Opcode::from_code(g.opcode) else {
        return Err(malformed(
            format!("instruction {i}"),
            format!("unknown opcode {}", g.opcode),
        ));
    };
    // Version 1 (instmodel 0.9) has opcodes 1 to 5 only.
    if words[header::VERSION] == 1 && g.opcode > Opcode::Copy as u32 {
        return Err(malformed(
            format!("instruction {i}"),
            format!("opcode {} in a version 1 blob (opcodes 1 to 5)", g.opcode),
        ));
    }
    let place = format!("instruction {i} ({op:?})");
    let p = place.as_str();
    let size = g.data_size as u64;
    let activation = |code: u32| {
        activation_of_code(code, [0.0; 2])
            .ok_or_else(|| malformed(p, format!("unknown activation code {code}")))?;
        // Version 1 has instmodel's codes only (0 to 12; ours start at 13).
        if words[header::VERSION] == 1 && code > 12 {
            return Err(malformed(
                p,
                format!("activation code {code} in a version 1 blob (codes 0 to 12)"),
            ));
        }
        if takes_parameters(code) {
            r.params(p, "activation parameters", g.reserved, 2)?;
        }
        Ok::<(), BlobError>(())
    };
    let param_word = |at: u32| words[(r.params.0 + at as u64) as usize];
    match op {
        Opcode::Dot | Opcode::Attention => {
            r.compute(p, "output", g.output_ptr, size)?;
            r.weights(
                p,
                "weights and bias",
                g.param0,
                size * (g.param1 as u64 + 1),
            )?;
            // The shaders write the output while they read the input (DOT) or the key
            // (ATTENTION): the two must not overlap.
            let (read, what, read_len) = if op == Opcode::Dot {
                r.compute(p, "input", g.input_ptr, g.param1 as u64)?;
                activation(g.param2)?;
                (g.input_ptr, "input", g.param1 as u64)
            } else {
                r.compute(p, "input", g.input_ptr, size)?;
                r.compute(p, "key", g.param2, g.param1 as u64)?;
                (g.param2, "key", g.param1 as u64)
            };
            let (a0, a1) = (read as u64, read as u64 + read_len);
            let (b0, b1) = (g.output_ptr as u64, g.output_ptr as u64 + size);
            if a0 < a1 && b0 < b1 && a0 < b1 && b0 < a1 {
                return Err(malformed(
                    p,
                    format!("the {what} {a0}..{a1} overlaps the output {b0}..{b1}"),
                ));
            }
        }
        Opcode::Activation => {
            r.compute(p, "buffer", g.input_ptr, size)?;
            activation(g.param2)?;
        }
        Opcode::Add | Opcode::Mul => {
            r.compute(p, "buffer", g.input_ptr, size)?;
            r.params(p, "parameters", g.param0, size)?;
        }
        Opcode::Copy => {
            r.compute(p, "input", g.input_ptr, size)?;
            r.compute(p, "output", g.output_ptr, size)?;
        }
        Opcode::CopyMasked => {
            r.compute(p, "output", g.output_ptr, size)?;
            r.params(p, "index list", g.param0, size)?;
            for k in 0..g.data_size {
                r.compute(p, "index", param_word(g.param0 + k), 1)?;
            }
        }
        Opcode::Clip => {
            r.compute(p, "buffer", g.input_ptr, size)?;
            for bound in [g.param0, g.param1] {
                if bound != NO_BOUND {
                    r.params(p, "bound", bound, size)?;
                }
            }
        }
        Opcode::AddBuffers | Opcode::MulBuffers => {
            r.compute(p, "output", g.output_ptr, size)?;
            if g.param1 == 0 {
                return Err(malformed(p, "no input buffers"));
            }
            r.params(p, "input list", g.param0, g.param1 as u64)?;
            for k in 0..g.param1 {
                r.compute(p, "input", param_word(g.param0 + k), size)?;
            }
        }
        Opcode::MulHeads | Opcode::AddHeads => {
            r.compute(p, "data", g.input_ptr, size)?;
            r.compute(p, "output", g.output_ptr, size)?;
            r.compute(p, "heads", g.param0, g.param1 as u64)?;
            if g.param1 == 0 || !size.is_multiple_of(g.param1 as u64) {
                return Err(malformed(
                    p,
                    format!("{} heads do not divide {size} values", g.param1),
                ));
            }
        }
        Opcode::ReduceSum => {
            r.compute(p, "input", g.input_ptr, size)?;
            r.compute(p, "output", g.output_ptr, 1)?;
        }
        Opcode::MapTransform => {
            r.compute(p, "key", g.input_ptr, 1)?;
            r.compute(p, "output", g.output_ptr, size)?;
            r.params(p, "table", g.param0, 2 * g.param1 as u64)?;
            r.params(p, "default", g.param2, size)?;
            let mut previous = None;
            for e in 0..g.param1 {
                let key = param_word(g.param0 + 2 * e) as i32;
                if previous.is_some_and(|k| k >= key) {
                    return Err(malformed(p, "table keys not in ascending order"));
                }
                previous = Some(key);
                r.params(p, "values", param_word(g.param0 + 2 * e + 1), size)?;
            }
        }
    }
    Ok(())
}
