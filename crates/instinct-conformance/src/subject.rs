//! `Subject`: one backend under test. Every case runs through every subject.

use instinct::{Engine, Model, PredictConfig};

/// A backend that runs a model over input rows.
pub trait Subject {
    /// Short name shown in the conformance table.
    fn name(&self) -> &'static str;
    /// Output rows for `inputs`, or why the backend cannot run this model.
    fn run(&self, model: &Model, inputs: &[Vec<f32>]) -> Result<Vec<Vec<f64>>, String>;
}

/// The per-sample interpreter, one `predict` call per row.
pub struct InterpreterSubject;

impl Subject for InterpreterSubject {
    fn name(&self) -> &'static str {
        "interpreter"
    }
    fn run(&self, model: &Model, inputs: &[Vec<f32>]) -> Result<Vec<Vec<f64>>, String> {
        inputs
            .iter()
            .map(|x| model.predict(x).map(widen).map_err(|e| e.to_string()))
            .collect()
    }
}

/// `predict_parallel` over all rows at once with the per-sample engine, on two threads.
pub struct ParallelSubject;

impl Subject for ParallelSubject {
    fn name(&self) -> &'static str {
        "parallel"
    }
    fn run(&self, model: &Model, inputs: &[Vec<f32>]) -> Result<Vec<Vec<f64>>, String> {
        let flat: Vec<f32> = inputs.iter().flatten().copied().collect();
        let config = PredictConfig::new()
            .with_threads(2)
            .with_engine(Engine::PerSample);
        let out = model
            .predict_parallel(&flat, config)
            .map_err(|e| e.to_string())?;
        Ok(out.rows().map(|r| widen(r.to_vec())).collect())
    }
}

/// The batch engine (tiles, matrix products) over all rows at once, on two threads.
pub struct BatchSubject;

impl Subject for BatchSubject {
    fn name(&self) -> &'static str {
        "batch"
    }
    fn run(&self, model: &Model, inputs: &[Vec<f32>]) -> Result<Vec<Vec<f64>>, String> {
        let flat: Vec<f32> = inputs.iter().flatten().copied().collect();
        let config = PredictConfig::new()
            .with_threads(2)
            .with_engine(Engine::Batch);
        let out = model
            .interpreter()
            .predict_batch(&flat, config)
            .map_err(|e| e.to_string())?;
        Ok(out
            .chunks(model.output_size())
            .map(|r| widen(r.to_vec()))
            .collect())
    }
}

/// The f64 reference interpreter of this crate.
pub struct ReferenceF64Subject;

impl Subject for ReferenceF64Subject {
    fn name(&self) -> &'static str {
        "reference_f64"
    }
    fn run(&self, model: &Model, inputs: &[Vec<f32>]) -> Result<Vec<Vec<f64>>, String> {
        Ok(inputs
            .iter()
            .map(|x| crate::reference::run_f64(model.valid(), x))
            .collect())
    }
}

/// Every subject that exists, in table order.
pub fn all_subjects() -> Vec<Box<dyn Subject>> {
    vec![
        Box::new(InterpreterSubject),
        Box::new(ParallelSubject),
        Box::new(BatchSubject),
        Box::new(ReferenceF64Subject),
    ]
}

fn widen(v: Vec<f32>) -> Vec<f64> {
    v.into_iter().map(f64::from).collect()
}
