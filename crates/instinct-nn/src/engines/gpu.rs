//! The GPU behind [`crate::runner::Runner`] (feature `gpu`): a chain of dense layers runs layer by layer
//! (one dispatch per layer over all rows), any other model one invocation per row, or in steps
//! when one row would pass Mesa's loop budget. The adapter is opened once per process.

use crate::model::Model;
use crate::runner::{RunError, Runner, check_lengths};
use instinct_gpu::{GpuDenseNet, GpuError, GpuModels, GpuRuntime};
use std::sync::OnceLock;

/// The process's GPU runtime (adapter from `WGPU_BACKEND` and `INSTINCT_GPU_ADAPTER`), or why
/// there is none.
fn runtime() -> Result<&'static GpuRuntime, RunError> {
    static RUNTIME: OnceLock<Result<GpuRuntime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| GpuRuntime::new().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|why| RunError::Unavailable {
            engine: "gpu",
            why: why.clone(),
        })
}

/// How the model runs on the device.
enum Run {
    /// Uploaded models (any model): one invocation per row, or the stepped engine.
    Uploaded(GpuModels),
    /// One dispatch per layer (chains of DOTs).
    Layers(GpuDenseNet),
}

/// A model on the GPU.
pub(crate) struct GpuRunner {
    run: Run,
    sizes: (usize, usize),
    reason: String,
}

fn failed(e: GpuError) -> RunError {
    RunError::Engine(e.to_string())
}

impl GpuRunner {
    pub(crate) fn new(model: &Model) -> Result<GpuRunner, RunError> {
        if model.feature_size() == 0 {
            return Err(RunError::NotApplicable {
                engine: "gpu",
                why: "a model without inputs gives the GPU no sample count; use another engine"
                    .into(),
            });
        }
        let gpu = runtime()?;
        let (run, how) = match GpuDenseNet::from_model(gpu, model.valid()) {
            Ok(net) => (Run::Layers(net), "layer by layer".to_string()),
            Err(_) => {
                // The device is there: a model it cannot take is a failure, not a missing GPU.
                let models = gpu.load(model.valid()).map_err(failed)?;
                let how = match models.mode(0) {
                    Some(mode) => format!("one invocation per sample, {mode:?} shader"),
                    None => {
                        "stepped: one dispatch per instruction step over all samples".to_string()
                    }
                };
                (Run::Uploaded(models), how)
            }
        };
        Ok(GpuRunner {
            run,
            sizes: (model.feature_size(), model.output_size()),
            reason: format!("gpu: {} ({how})", gpu.description()),
        })
    }
}

impl Runner for GpuRunner {
    fn name(&self) -> &'static str {
        "gpu"
    }

    fn describe(&self) -> String {
        self.reason.clone()
    }

    fn threads(&self) -> usize {
        1
    }

    fn memory_bytes(&self) -> usize {
        0
    }

    fn feature_size(&self) -> usize {
        self.sizes.0
    }

    fn output_size(&self) -> usize {
        self.sizes.1
    }

    fn run_into(&self, rows: usize, inputs: &[f32], outputs: &mut [f32]) -> Result<(), RunError> {
        check_lengths(rows, inputs, outputs, self.sizes.0, self.sizes.1)?;
        match &self.run {
            Run::Uploaded(models) => models
                .predict_batch_into(0, inputs, outputs)
                .map_err(failed),
            Run::Layers(net) => {
                let values = net.predict_batch(inputs).map_err(failed)?;
                if values.len() != outputs.len() {
                    return Err(RunError::Engine(format!(
                        "{} output values for a buffer of {}",
                        values.len(),
                        outputs.len()
                    )));
                }
                outputs.copy_from_slice(&values);
                Ok(())
            }
        }
    }
}
