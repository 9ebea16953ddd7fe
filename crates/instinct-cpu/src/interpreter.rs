//! `Interpreter`: runs a plan one sample at a time, with allocation-free variants.

use crate::error::PredictError;
use crate::plan::Plan;
use instinct_validate::ValidModel;

/// Runs a valid model on the CPU, one sample at a time. `Send + Sync`: share one across threads,
/// each with its own memory for the allocation-free calls.
#[derive(Debug, Clone)]
pub struct Interpreter {
    plan: Plan,
}

impl Interpreter {
    /// Compiles a valid model.
    pub fn new(model: &ValidModel) -> Interpreter {
        Interpreter {
            plan: Plan::new(model),
        }
    }

    /// The compiled plan.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Number of input values per sample.
    #[inline]
    pub fn feature_size(&self) -> usize {
        self.plan.feature_size
    }

    /// Number of output values per sample (the last buffer's size).
    #[inline]
    pub fn output_size(&self) -> usize {
        self.plan.output.len()
    }

    /// Where the output starts in the unified memory.
    pub fn output_start(&self) -> usize {
        self.plan.output.start
    }

    /// Values of unified memory one sample needs (the sum of the buffer sizes).
    #[inline]
    pub fn required_memory(&self) -> usize {
        self.plan.memory
    }

    /// Runs one sample and returns its output (allocates the result and the memory).
    pub fn predict(&self, input: &[f32]) -> Result<Vec<f32>, PredictError> {
        let mut memory = vec![0.0; self.plan.memory];
        let mut output = vec![0.0; self.output_size()];
        self.predict_into(input, &mut memory, &mut output)?;
        Ok(output)
    }

    /// Runs one sample and shows `seen` the input of every DOT (f32 or int8) as the DOT reads
    /// it, with the DOT's weight slot: what a quantiser calibrates on. Returns the output.
    pub fn observe_dot_inputs(
        &self,
        input: &[f32],
        mut seen: impl FnMut(usize, &[f32]),
    ) -> Result<Vec<f32>, PredictError> {
        self.check_input(input)?;
        let mut memory = vec![0.0; self.plan.memory];
        self.plan.prepare(&mut memory, input);
        for step in &self.plan.steps {
            if let Some((slot, span)) = step.dot_input() {
                seen(slot, &memory[span]);
            }
            self.plan.run_step(step, &mut memory);
        }
        Ok(memory[self.plan.output.clone()].to_vec())
    }

    /// The last output value of one sample (instmodel parity: a single-output model's value).
    pub fn predict_single(&self, input: &[f32]) -> Result<f32, PredictError> {
        let output = self.predict(input)?;
        Ok(output[output.len() - 1])
    }

    /// Runs one sample without allocating: `memory` is scratch of at least
    /// [`required_memory`](Self::required_memory) values, `output` receives the output values.
    #[inline]
    pub fn predict_into(
        &self,
        input: &[f32],
        memory: &mut [f32],
        output: &mut [f32],
    ) -> Result<(), PredictError> {
        self.check_input(input)?;
        if output.len() != self.output_size() {
            return Err(PredictError::OutputLength {
                actual: output.len(),
                expected: self.output_size(),
            });
        }
        let memory = self.memory_slice(memory)?;
        if let Some(chain) = &self.plan.chain {
            // Only the output is asked for: the chain keeps everything else in registers.
            chain.run(input, output);
            return Ok(());
        }
        self.plan.prepare(memory, input);
        self.plan.run(memory);
        instinct_kernels::copy_short(output, &memory[self.plan.output.clone()]);
        Ok(())
    }

    /// Runs one sample in caller-owned unified memory, as the reference's `predict_with_buffer`:
    /// the input is `memory[..feature_size]`, and afterwards the output is at
    /// [`output`](Self::output). Unlike the reference, everything past the input is zeroed first,
    /// so nothing leaks from a previous sample.
    pub fn predict_with_buffer(&self, memory: &mut [f32]) -> Result<(), PredictError> {
        let fs = self.plan.feature_size;
        let memory = self.memory_slice(memory)?;
        memory[fs..].fill(0.0);
        self.plan.run(memory);
        Ok(())
    }

    /// The output values inside unified memory after [`predict_with_buffer`](Self::predict_with_buffer).
    pub fn output<'m>(&self, memory: &'m [f32]) -> Result<&'m [f32], PredictError> {
        memory
            .get(self.plan.output.clone())
            .ok_or(PredictError::MemoryTooSmall {
                actual: memory.len(),
                required: self.plan.memory,
            })
    }

    /// Output value `index` inside unified memory (the reference's `get_output`).
    pub fn get_output(&self, memory: &[f32], index: usize) -> Result<f32, PredictError> {
        let out = self.output(memory)?;
        out.get(index).copied().ok_or(PredictError::OutputIndex {
            index,
            size: out.len(),
        })
    }

    #[inline]
    pub(crate) fn check_input(&self, input: &[f32]) -> Result<(), PredictError> {
        if input.len() != self.plan.feature_size {
            return Err(PredictError::InputLength {
                actual: input.len(),
                expected: self.plan.feature_size,
            });
        }
        Ok(())
    }

    #[inline]
    fn memory_slice<'m>(&self, memory: &'m mut [f32]) -> Result<&'m mut [f32], PredictError> {
        let actual = memory.len();
        memory
            .get_mut(..self.plan.memory)
            .ok_or(PredictError::MemoryTooSmall {
                actual,
                required: self.plan.memory,
            })
    }
}
