//! `PredictConfig`, `ParallelOutput` and `predict_parallel`, the reference's API for many samples.

use crate::error::PredictError;
use crate::interpreter::Interpreter;

/// Settings of [`Interpreter::predict_parallel`], with the reference's builder methods.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PredictConfig {
    threads: Option<usize>,
    slice: Option<(usize, usize)>,
    per_sample: bool,
}

impl PredictConfig {
    /// All available cores, returning each sample's output buffer.
    pub fn new() -> PredictConfig {
        PredictConfig::default()
    }

    /// Uses exactly `threads` threads (0 is refused when predicting).
    pub fn with_threads(mut self, threads: usize) -> PredictConfig {
        self.threads = Some(threads);
        self
    }

    /// Returns `memory[start..end]` of each sample instead of the output buffer (absolute
    /// indices in the unified memory, as in the reference).
    pub fn with_slice_result_buffer(mut self, start: usize, end: usize) -> PredictConfig {
        self.slice = Some((start, end));
        self
    }

    /// Computes one sample at a time through the interpreter (`true`) rather than in tiles of
    /// samples with DOT and ATTENTION as matrix products over the tile (`false`, the default).
    /// To choose among every engine, see `instinct::EngineChoice`.
    pub fn with_per_sample(mut self, per_sample: bool) -> PredictConfig {
        self.per_sample = per_sample;
        self
    }

    /// Whether samples are computed one at a time.
    pub fn per_sample(&self) -> bool {
        self.per_sample
    }

    /// The thread count that will be used.
    pub fn threads(&self) -> usize {
        self.threads.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        })
    }
}

/// The results of [`Interpreter::predict_parallel`]: one row of `slice_size` values per sample.
#[derive(Debug, Clone, PartialEq)]
pub struct ParallelOutput {
    values: Vec<f32>,
    samples: usize,
    slice_size: usize,
}

impl ParallelOutput {
    /// Number of samples.
    pub fn num_samples(&self) -> usize {
        self.samples
    }

    /// Values per sample.
    pub fn slice_size(&self) -> usize {
        self.slice_size
    }

    /// Total number of values.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// All values, sample after sample.
    pub fn as_slice(&self) -> &[f32] {
        &self.values
    }

    /// The values of sample `index`.
    pub fn get_result(&self, index: usize) -> Result<&[f32], PredictError> {
        if index >= self.samples {
            return Err(PredictError::SampleIndex {
                index,
                samples: self.samples,
            });
        }
        Ok(&self.values[index * self.slice_size..][..self.slice_size])
    }

    /// Copies all values into `dest`, which must have exactly [`len`](Self::len) values.
    pub fn copy_results(&self, dest: &mut [f32]) -> Result<(), PredictError> {
        if dest.len() != self.values.len() {
            return Err(PredictError::OutputLength {
                actual: dest.len(),
                expected: self.values.len(),
            });
        }
        dest.copy_from_slice(&self.values);
        Ok(())
    }

    /// Rows of values, one per sample.
    pub fn rows(&self) -> impl Iterator<Item = &[f32]> {
        self.values
            .chunks(self.slice_size.max(1))
            .take(self.samples)
    }

    /// The values, sample after sample.
    pub fn into_vec(self) -> Vec<f32> {
        self.values
    }
}

impl Interpreter {
    /// Runs `inputs` (`n × feature_size` values, sample after sample) over several threads and
    /// returns each sample's output buffer, or the memory range chosen with
    /// [`PredictConfig::with_slice_result_buffer`]. Each sample starts from zeroed memory, so
    /// results do not depend on the thread count (the reference leaks state between samples
    /// here).
    pub fn predict_parallel(
        &self,
        inputs: &[f32],
        config: PredictConfig,
    ) -> Result<ParallelOutput, PredictError> {
        let samples = self.sample_count(inputs)?;
        if config.threads() == 0 {
            return Err(PredictError::ZeroThreads);
        }
        let memory = self.required_memory();
        let (start, end) = config.slice.unwrap_or((
            self.output_start(),
            self.output_start() + self.output_size(),
        ));
        if start >= end || end > memory {
            return Err(PredictError::SliceRange { start, end, memory });
        }
        let width = end - start;
        let mut values = allocate(samples, width)?;
        self.run_many(inputs, &mut values, start..end, config)?;
        Ok(ParallelOutput {
            values,
            samples,
            slice_size: width,
        })
    }
}

/// A zeroed vector of `samples × width` values, or an error when it cannot exist.
pub(crate) fn allocate(samples: usize, width: usize) -> Result<Vec<f32>, PredictError> {
    let too_large = PredictError::OutputTooLarge { samples, width };
    let len = samples.checked_mul(width).ok_or(too_large.clone())?;
    let mut values = Vec::new();
    values.try_reserve_exact(len).map_err(|_| too_large)?;
    values.resize(len, 0.0f32);
    Ok(values)
}
