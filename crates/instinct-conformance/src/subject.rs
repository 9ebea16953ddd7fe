//! `Subject`: one backend under test. Every case runs through every subject.

use instinct::{EngineChoice, Model, RunError};

/// A backend that runs a model over input rows.
pub trait Subject {
    /// Short name shown in the conformance table.
    fn name(&self) -> &'static str;
    /// Output rows for `inputs`, or why the backend cannot run this model.
    fn run(&self, model: &Model, inputs: &[Vec<f32>]) -> Result<Vec<Vec<f64>>, String>;
    /// Whether the backend runs this kind of model at all (a case it does not apply to is
    /// shown as n/a, not as an error).
    fn applies(&self, _model: &Model) -> bool {
        true
    }
    /// The tolerance this backend is held to, when it is not the run's (the GPU's is wider).
    fn tolerance(&self) -> Option<crate::tolerance::Tolerance> {
        None
    }
    /// Whether the backend only checks the model (and [`Subject::check`] is called instead of
    /// [`Subject::run`]).
    fn check_only(&self) -> bool {
        false
    }
    /// For a check-only backend: what was checked, or why the check failed.
    fn check(&self, _model: &Model) -> Result<String, String> {
        Err(format!("{} runs models; it has no check", self.name()))
    }
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

/// One engine of the library's seam ([`EngineChoice`]), asked for through
/// [`Model::runner`] on two threads, all rows at once. A model the engine does not apply to is
/// n/a; so is every model for the GPU when no adapter is found, unless
/// `INSTINCT_REQUIRE_GPU=1`, when every case is an error naming why. The GPU is held to abs 1e-4
/// + rel 1e-4.
pub struct EngineSubject {
    choice: EngineChoice,
}

impl EngineSubject {
    /// The subject of `choice`.
    pub fn new(choice: EngineChoice) -> EngineSubject {
        EngineSubject { choice }
    }
}

impl Subject for EngineSubject {
    fn name(&self) -> &'static str {
        self.choice.name()
    }
    /// n/a only when the engine does not take this kind of model, or (without
    /// `INSTINCT_REQUIRE_GPU=1`) when there is no GPU; any other failure to make the engine
    /// is the case's error, reported by `run`.
    fn applies(&self, model: &Model) -> bool {
        match model.runner(self.choice, Some(2)) {
            Ok(_) => true,
            Err(RunError::NotApplicable { .. }) => false,
            Err(RunError::Unavailable { .. }) => {
                std::env::var("INSTINCT_REQUIRE_GPU").as_deref() == Ok("1")
            }
            Err(_) => true,
        }
    }
    fn tolerance(&self) -> Option<crate::tolerance::Tolerance> {
        (self.choice == EngineChoice::Gpu).then_some(crate::tolerance::Tolerance::Close {
            abs: 1e-4,
            rel: 1e-4,
        })
    }
    fn run(&self, model: &Model, inputs: &[Vec<f32>]) -> Result<Vec<Vec<f64>>, String> {
        let runner = model.runner(self.choice, Some(2)).map_err(|e| match e {
            RunError::Unavailable { .. } => format!("INSTINCT_REQUIRE_GPU=1 but {e}"),
            other => other.to_string(),
        })?;
        let flat: Vec<f32> = inputs.iter().flatten().copied().collect();
        let out = runner.run(inputs.len(), &flat).map_err(|e| e.to_string())?;
        Ok(out
            .chunks(model.output_size().max(1))
            .map(|r| widen(r.to_vec()))
            .collect())
    }
}

/// `instinct-batched` on every model that is a chain of DOTs (activations on the DOTs or in
/// ACTIVATION instructions right after them): a batch of 17 copies of the model (so one group of
/// sixteen is full and one holds a single model), each row given to every copy with `forward`,
/// and all rows at once with `forward_many` (with two threads asked for; the cases are too small
/// for the pool, which the crate's own tests cover); both must agree with the expected outputs
/// for every copy.
pub struct BatchedSubject;

impl Subject for BatchedSubject {
    fn name(&self) -> &'static str {
        "batched"
    }
    /// DOT chains of one architecture (any activations: the extensions run row by row).
    fn applies(&self, model: &Model) -> bool {
        instinct::batched::Architecture::from_model(model.valid())
            .and_then(|a| a.validate())
            .is_ok()
    }
    fn run(&self, model: &Model, inputs: &[Vec<f32>]) -> Result<Vec<Vec<f64>>, String> {
        use instinct::batched::BatchedInference;
        const COPIES: usize = 17;
        let models = vec![model.valid().clone(); COPIES];
        let batch = BatchedInference::from_models(&models).map_err(|e| e.to_string())?;
        let out_size = batch.architecture().output_size();
        let mut rows = Vec::with_capacity(inputs.len());
        for x in inputs {
            let all: Vec<f32> = x.iter().copied().cycle().take(x.len() * COPIES).collect();
            let out = batch.forward(&all).map_err(|e| e.to_string())?;
            let first = &out[..out_size];
            let same = |a: &[f32]| {
                a.iter()
                    .zip(first)
                    .all(|(a, b)| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()))
            };
            if let Some(m) = (1..COPIES).find(|m| !same(&out[m * out_size..][..out_size])) {
                return Err(format!(
                    "copy {m} of the model gave other outputs than copy 0"
                ));
            }
            rows.push(widen(first.to_vec()));
        }
        // All rows at once, k per model, on two threads: the same values again.
        let k = inputs.len();
        if k > 0 {
            let flat: Vec<f32> = inputs.iter().flatten().copied().collect();
            let all: Vec<f32> = flat
                .iter()
                .copied()
                .cycle()
                .take(flat.len() * COPIES)
                .collect();
            let many = batch
                .with_threads(2)
                .and_then(|b| b.forward_many(&all, k))
                .map_err(|e| e.to_string())?;
            for (m, block) in many.chunks(k * out_size).enumerate() {
                for (j, row) in block.chunks(out_size).enumerate() {
                    let one: Vec<f64> = widen(row.to_vec());
                    let close = one
                        .iter()
                        .zip(&rows[j])
                        .all(|(a, b)| crate::tolerance::Tolerance::CLOSE.accepts(*a, *b));
                    if !close {
                        return Err(format!(
                            "forward_many, copy {m}, row {j}: {one:?} against forward's {:?}",
                            rows[j]
                        ));
                    }
                }
            }
        }
        Ok(rows)
    }
}

/// The case's model quantised to int8 (`Model::quantize`, dynamic, calibrated on the case's
/// own rows), run by the int8 engine on two threads and held to [`INT8_TOLERANCE`] against the
/// f32 expectations. n/a for a model without a DOT of its own weight slot.
pub struct Int8Subject;

/// What the int8 engine is held to against f32 results: abs 0.1 + rel 0.05. Per-row u8 inputs
/// and per-output s8 weights keep a layer within about 1% of its outputs' range; a few layers
/// in a row add up, and a model of four inputs (iris) quantises coarsely: the largest error
/// over the cases is 0.047 (docs/QUANTIZATION.md).
pub const INT8_TOLERANCE: crate::tolerance::Tolerance = crate::tolerance::Tolerance::Close {
    abs: 0.1,
    rel: 0.05,
};

impl Subject for Int8Subject {
    fn name(&self) -> &'static str {
        "int8_quantized"
    }
    fn applies(&self, model: &Model) -> bool {
        !model.is_quantized()
            && model
                .info()
                .instructions
                .iter()
                .any(|i| matches!(i, instinct::Instruction::Dot { .. }))
    }
    fn run(&self, model: &Model, inputs: &[Vec<f32>]) -> Result<Vec<Vec<f64>>, String> {
        let rows: Vec<f32> = inputs.iter().flatten().copied().collect();
        let (int8, _) = model
            .quantize(&rows, &instinct::QuantizeOptions::default())
            .map_err(|e| e.to_string())?;
        let runner = int8
            .runner(EngineChoice::Int8, Some(2))
            .map_err(|e| e.to_string())?;
        let flat = runner.run(inputs.len(), &rows).map_err(|e| e.to_string())?;
        Ok(flat
            .chunks(int8.output_size().max(1))
            .map(|r| widen(r.to_vec()))
            .collect())
    }
    fn tolerance(&self) -> Option<crate::tolerance::Tolerance> {
        Some(INT8_TOLERANCE)
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

/// Every subject that exists, in table order: the row-by-row API, every engine of
/// [`EngineChoice::ALL`], then the f64 reference, the shaders, the GPU's stepped engine and
/// training's forward pass.
pub fn all_subjects() -> Vec<Box<dyn Subject>> {
    let mut subjects: Vec<Box<dyn Subject>> = vec![Box::new(InterpreterSubject)];
    for choice in EngineChoice::ALL {
        subjects.push(Box::new(EngineSubject::new(choice)));
    }
    subjects.push(Box::new(Int8Subject));
    subjects.push(Box::new(ReferenceF64Subject));
    subjects.push(Box::new(WgslNagaSubject));
    subjects.push(Box::new(GpuSteppedSubject::new()));
    subjects.push(Box::new(TrainForwardSubject));
    subjects
}

/// Every shader instinct-wgsl emits for the model, validated by naga: the standalone shader in
/// both modes, the library-only functions, and the specialised shader translated to SPIR-V.
pub struct WgslNagaSubject;

impl Subject for WgslNagaSubject {
    fn name(&self) -> &'static str {
        "wgsl-naga"
    }
    fn run(&self, _model: &Model, _inputs: &[Vec<f32>]) -> Result<Vec<Vec<f64>>, String> {
        Err("wgsl-naga only checks shaders".to_string())
    }
    fn check_only(&self) -> bool {
        true
    }
    fn check(&self, model: &Model) -> Result<String, String> {
        shaders_validate(model.valid()).map(|n| format!("{n} shaders valid"))
    }
}

/// Generates and validates with naga every shader of `model` (both modes, standalone and
/// included, and the specialised one translated to SPIR-V) and checks its stepped plan against
/// the loop budget; returns how many shaders were checked.
pub fn shaders_validate(model: &instinct::ValidModel) -> Result<usize, String> {
    use instinct::wgsl;
    let blob = wgsl::GpuModel::from_model(model).map_err(|e| e.to_string())?;
    let libraries = [
        wgsl::wgsl_library(blob.compute_buffer_size().max(1) as u32),
        wgsl::specialized_library(&blob),
    ];
    let mut checked = 0;
    for library in &libraries {
        let included =
            format!("@group(0) @binding(0) var<storage, read> model_data: array<f32>;\n{library}");
        wgsl::validate_wgsl(&included).map_err(|e| e.to_string())?;
        let standalone =
            wgsl::validate_wgsl(&wgsl::standalone_shader(library)).map_err(|e| e.to_string())?;
        wgsl::translate(&standalone, wgsl::Target::Spirv, "main").map_err(|e| e.to_string())?;
        checked += 2;
    }
    // The stepped engine's shader is the same for every model; its plan must keep every
    // invocation inside Mesa's loop budget.
    let stepped = wgsl::SteppedPlan::new(&blob, 0)
        .map_err(|e| e.to_string())?
        .loop_iterations();
    if stepped > wgsl::LOOP_CAP {
        return Err(format!(
            "a stepped invocation loops {stepped} times, over the budget of {}",
            wgsl::LOOP_CAP
        ));
    }
    Ok(checked)
}

/// The GPU runtime's stepped engine (instinct-gpu: one dispatch per instruction step over all
/// rows) on whatever adapter the environment gives, held to abs 1e-4 + rel 1e-4 (the `gpu`
/// engine of [`EngineSubject`] runs as `Model::runner` chooses). Without an adapter every case is
/// n/a, unless `INSTINCT_REQUIRE_GPU=1`, when every case is an error naming why.
pub struct GpuSteppedSubject {
    runtime: Result<instinct::gpu::GpuRuntime, String>,
}

impl GpuSteppedSubject {
    /// Opens the adapter once for every case.
    pub fn new() -> GpuSteppedSubject {
        GpuSteppedSubject {
            runtime: instinct::gpu::GpuRuntime::new().map_err(|e| e.to_string()),
        }
    }
}

impl Default for GpuSteppedSubject {
    fn default() -> Self {
        GpuSteppedSubject::new()
    }
}

impl Subject for GpuSteppedSubject {
    fn name(&self) -> &'static str {
        "gpu-stepped"
    }
    fn applies(&self, _model: &Model) -> bool {
        self.runtime.is_ok() || std::env::var("INSTINCT_REQUIRE_GPU").as_deref() == Ok("1")
    }
    fn tolerance(&self) -> Option<crate::tolerance::Tolerance> {
        Some(crate::tolerance::Tolerance::Close {
            abs: 1e-4,
            rel: 1e-4,
        })
    }
    fn run(&self, model: &Model, inputs: &[Vec<f32>]) -> Result<Vec<Vec<f64>>, String> {
        let runtime = self
            .runtime
            .as_ref()
            .map_err(|e| format!("INSTINCT_REQUIRE_GPU=1 but {e}"))?;
        let uploaded = runtime
            .upload_stepped(std::slice::from_ref(model.valid()))
            .map_err(|e| e.to_string())?;
        let flat: Vec<f32> = inputs.iter().flatten().copied().collect();
        let out = uploaded
            .predict_batch(0, &flat)
            .map_err(|e| e.to_string())?;
        Ok(out
            .chunks(model.output_size().max(1))
            .map(|r| widen(r.to_vec()))
            .collect())
    }
}

/// instinct-train's forward pass (the tape, `CpuBackend`) of the model imported as a network:
/// for every sequential model whose activations have a trainable form; n/a for the rest.
pub struct TrainForwardSubject;

impl Subject for TrainForwardSubject {
    fn name(&self) -> &'static str {
        "train-forward"
    }
    fn applies(&self, model: &Model) -> bool {
        instinct::train::import::import(model.valid()).is_ok()
    }
    fn run(&self, model: &Model, inputs: &[Vec<f32>]) -> Result<Vec<Vec<f64>>, String> {
        use instinct::train::{CpuBackend, Tensor, predict};
        let (net, _) = instinct::train::import::import(model.valid()).map_err(|e| e.to_string())?;
        let features = model.feature_size();
        let flat: Vec<f32> = inputs.iter().flatten().copied().collect();
        let x = Tensor::new(&[inputs.len(), features], flat).map_err(|e| e.to_string())?;
        let out = predict(&net, std::sync::Arc::new(CpuBackend), &x).map_err(|e| e.to_string())?;
        Ok(out
            .data()
            .chunks(model.output_size().max(1))
            .map(|r| widen(r.to_vec()))
            .collect())
    }
}

fn widen(v: Vec<f32>) -> Vec<f64> {
    v.into_iter().map(f64::from).collect()
}
