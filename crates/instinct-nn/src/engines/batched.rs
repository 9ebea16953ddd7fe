//! instinct-batched behind [`crate::runner::Runner`]: [`BatchedRunner`] runs many models of one
//! architecture at once, the rows split evenly between them (row block `m` through model `m`).

use crate::model::Model;
use crate::runner::{RunError, Runner, check_lengths};
use instinct_batched::{BatchedError, BatchedInference};

/// Many models of one architecture run together: `rows` must be a multiple of the models, and
/// model `m` runs rows `m·k .. (m+1)·k` (`k = rows / models`).
pub struct BatchedRunner {
    batch: BatchedInference,
    threads: usize,
    reason: String,
}

impl BatchedRunner {
    /// The models of `batch` on `threads` threads.
    pub fn new(batch: BatchedInference, threads: usize) -> Result<BatchedRunner, RunError> {
        let models = batch.models();
        let batch = batch.with_threads(threads).map_err(|e| match e {
            BatchedError::ThreadSpawn(why) => RunError::ThreadSpawn { threads, why },
            other => RunError::Engine(other.to_string()),
        })?;
        Ok(BatchedRunner {
            batch,
            threads,
            reason: format!("batched: {models} models of one architecture"),
        })
    }

    /// One model as a batch of one, its rows the inputs of that model.
    pub(crate) fn of_model(model: &Model, threads: usize) -> Result<BatchedRunner, RunError> {
        let batch =
            BatchedInference::from_models(std::slice::from_ref(model.valid())).map_err(|e| {
                RunError::NotApplicable {
                    engine: "batched",
                    why: e.to_string(),
                }
            })?;
        let mut runner = BatchedRunner::new(batch, threads)?;
        runner.reason = "batched: the model's dense chain as a batch of one model".into();
        Ok(runner)
    }
}

impl Runner for BatchedRunner {
    fn name(&self) -> &'static str {
        "batched"
    }

    fn describe(&self) -> String {
        self.reason.clone()
    }

    fn threads(&self) -> usize {
        self.threads
    }

    fn memory_bytes(&self) -> usize {
        self.batch.memory_bytes()
    }

    fn feature_size(&self) -> usize {
        self.batch.architecture().input_size()
    }

    fn output_size(&self) -> usize {
        self.batch.architecture().output_size()
    }

    fn run_into(&self, rows: usize, inputs: &[f32], outputs: &mut [f32]) -> Result<(), RunError> {
        check_lengths(
            rows,
            inputs,
            outputs,
            self.feature_size(),
            self.output_size(),
        )?;
        let models = self.batch.models();
        if !rows.is_multiple_of(models) {
            return Err(RunError::RowsPerModel { rows, models });
        }
        let k = rows / models;
        if k == 0 {
            return Ok(());
        }
        let done = if k == 1 {
            self.batch.forward_into(inputs, outputs)
        } else {
            self.batch.forward_many_into(inputs, k, outputs)
        };
        done.map_err(|e| RunError::Engine(e.to_string()))
    }
}
