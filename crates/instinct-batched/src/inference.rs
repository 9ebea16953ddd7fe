//! `BatchedInference`: every model of a batch run per layer in one pass. One input per model
//! (`forward`) runs sixteen models at a time in SIMD lanes over an interleaved copy of the
//! weights; `k` inputs per model (`forward_many`) run the same way, four inputs per pass over the
//! weights, or ([`BatchedInference::with_gemm`]) as one matrix product per model and layer.
//! Groups of models (or models) are spread over an owned rayon pool of an explicit size.

use crate::aligned::AlignedValues;
use crate::architecture::Architecture;
use crate::error::BatchedError;
use crate::weights::BatchedWeights;
use crate::weights::MAX_VALUES;
use instinct_format::Activation;
use instinct_kernels::fast::{self, Kind};
use instinct_kernels::interleaved::{
    GROUP, InterleavedNet, NetLayer, interleave_model, interleaved_net_at,
};
use instinct_kernels::simd::{self, Level};
use instinct_validate::ValidModel;
use rayon::prelude::*;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

thread_local! {
    /// Each thread's scratch, kept between calls so that a warm batch does not allocate.
    static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with at least `len` values of this thread's scratch.
fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    SCRATCH.with(|s| {
        let mut s = s.borrow_mut();
        if s.len() < len {
            s.resize(len, 0.0);
        }
        f(&mut s[..len])
    })
}

/// Multiply-adds a call needs before it is spread over the pool. Handing a call to rayon's pool
/// and back costs tens of µs here, and varies: 100 models of 16→32→8 (77k multiply-adds) took
/// 5 µs on the calling thread and 38 µs through a pool of two; 1,000 of them (768k) 55 µs on one
/// thread and anywhere from 36 to 98 µs on two; with 64 inputs each, two threads take half the
/// time of one.
const THREADED_WORK: usize = 1 << 20;

/// `models` models of one architecture, run together.
///
/// ```
/// use instinct_batched::{Architecture, BatchedInference, LayerSpec};
/// use instinct_format::Activation;
/// use std::collections::HashMap;
///
/// let arch = Architecture::new(vec![
///     LayerSpec::new(2, 3, Some(Activation::Relu)),
///     LayerSpec::new(3, 1, None),
/// ]);
/// let mut batch = BatchedInference::new(2, arch)?;
/// for model in 0..2 {
///     let scale = model as f32 + 1.0;
///     let weights = HashMap::from([
///         ("layer_0".to_string(), vec![scale; 6]),
///         ("layer_1".to_string(), vec![1.0; 3]),
///     ]);
///     batch.load_weights(model, &weights)?;
/// }
/// // One input of 2 values per model: model 0 sees (1, 1), model 1 sees (1, -1).
/// let out = batch.forward(&[1.0, 1.0, 1.0, -1.0])?;
/// assert_eq!(out, vec![6.0, 0.0]);
/// # Ok::<(), instinct_batched::BatchedError>(())
/// ```
#[derive(Debug, Clone)]
pub struct BatchedInference {
    weights: BatchedWeights,
    /// Each layer's shape, activation and place in a group's block of interleaved values:
    /// a group's layers one after another, each its biases then its weights (the order the
    /// kernel reads them), so that a forward pass reads the values front to back, one stream.
    lanes: Vec<NetLayer>,
    /// Every group's interleaved layers, `group_len` values per group.
    lane_values: AlignedValues,
    group_len: usize,
    groups: usize,
    level: Level,
    threads: usize,
    pool: Option<Arc<rayon::ThreadPool>>,
    gemm: bool,
}

impl BatchedInference {
    /// `models` models of `architecture`, none loaded yet, on one thread (see
    /// [`with_threads`](Self::with_threads)).
    pub fn new(
        models: usize,
        architecture: Architecture,
    ) -> Result<BatchedInference, BatchedError> {
        architecture.validate()?;
        let too_large = BatchedError::TooLarge {
            models,
            max: MAX_VALUES,
        };
        // The interleaved copy holds whole groups: up to 15 models' worth more than the
        // weights, which matters for a few huge models. It counts against the same limit, and
        // is checked before anything is allocated.
        let groups = models.div_ceil(GROUP);
        let mut group_len = 0usize;
        let mut lanes = Vec::with_capacity(architecture.layers.len());
        for l in &architecture.layers {
            let bias_at = group_len;
            let values = l
                .weight_count()
                .and_then(|w| w.checked_add(l.output_size))
                .and_then(|v| v.checked_mul(GROUP));
            group_len = values
                .and_then(|v| v.checked_add(group_len))
                .ok_or(too_large.clone())?;
            lanes.push(NetLayer {
                bias_at,
                weights_at: bias_at + l.output_size * GROUP,
                inputs: l.input_size,
                outputs: l.output_size,
                // Instinct's extension activations have no lane kernel: their layers run the
                // identity, then the activation over each row (see `rows_after`).
                kind: l
                    .activation
                    .and_then(Activation::kind)
                    .unwrap_or(Kind::Identity),
            });
        }
        let lane_len = groups
            .checked_mul(group_len)
            .filter(|v| *v <= MAX_VALUES)
            .ok_or(too_large)?;
        let weights = BatchedWeights::new(models, architecture)?;
        let lane_values = AlignedValues::zeroed(lane_len);
        Ok(BatchedInference {
            weights,
            lanes,
            lane_values,
            group_len,
            groups,
            level: simd::level(),
            threads: 1,
            pool: None,
            gemm: false,
        })
    }

    /// A batch of format models that are chains of DOTs (each with its activation) of one
    /// architecture, model `i` of the batch from `models[i]`. The error names the first model
    /// and layer that differ from model 0, or the first model that is not a DOT chain.
    pub fn from_models(models: &[ValidModel]) -> Result<BatchedInference, BatchedError> {
        let first = models.first().ok_or(BatchedError::NoModels)?;
        let (arch, _) = Architecture::of_model(first, 0)?;
        let mut batch = BatchedInference::new(models.len(), arch)?;
        for (i, model) in models.iter().enumerate() {
            batch.load_model(i, model)?;
        }
        Ok(batch)
    }

    /// Uses `threads` threads (1, the default, runs on the calling thread; more run on a pool
    /// this batch owns, for calls with enough work to pay for the hand-off: about a million
    /// multiply-adds, see `THREADED_WORK` in the source).
    pub fn with_threads(mut self, threads: usize) -> Result<BatchedInference, BatchedError> {
        self.set_threads(threads)?;
        Ok(self)
    }

    /// Sets the thread count (see [`with_threads`](Self::with_threads)).
    pub fn set_threads(&mut self, threads: usize) -> Result<(), BatchedError> {
        if threads == 0 {
            return Err(BatchedError::ZeroThreads);
        }
        self.pool = if threads == 1 {
            None
        } else {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .thread_name(|i| format!("instinct-batched-{i}"))
                .build()
                .map_err(|e| BatchedError::ThreadSpawn(e.to_string()))?;
            Some(Arc::new(pool))
        };
        self.threads = threads;
        Ok(())
    }

    /// Runs at SIMD `level` instead of the process's (for tests and comparisons; a level the
    /// CPU lacks falls back to the best it has below it).
    pub fn with_level(mut self, level: Level) -> BatchedInference {
        self.level = level;
        self
    }

    /// How `forward_many` computes `k` inputs per model. By default (`false`) sixteen models
    /// run in SIMD lanes, four inputs of each per pass over their weights, as `forward` runs
    /// one: allocation-free, and the faster for layers up to about 128 wide. With `true`, one
    /// matrix product per model and layer (sgemm), then bias and activation on the block:
    /// faster for wide layers with many inputs per model (measured on one thread, k = 64,
    /// lanes / sgemm GFLOP/s: 16→32→8 50 / 15, 64→64→64 55 / 36, 128→128→128 42 / 44,
    /// 256→256→256 28 / 47), but `matrixmultiply`'s sgemm allocates its packing buffers on
    /// every product, so it allocates per call, and each thread keeps scratch for the largest
    /// `k` it has run. Batches whose layers use one of instinct's extension activations
    /// (LEAKY_RELU, …, which have no lane kernel) always run the matrix products.
    pub fn with_gemm(mut self, gemm: bool) -> BatchedInference {
        self.gemm = gemm;
        self
    }

    /// Whether `forward_many` runs as matrix products.
    fn uses_gemm(&self) -> bool {
        self.gemm || self.has_row_activations()
    }

    /// Whether a layer's activation runs after its product, row by row: one of instinct's
    /// extensions, which have no lane kernel. Such batches run through the matrix-product path,
    /// whatever [`with_gemm`](Self::with_gemm) says.
    fn has_row_activations(&self) -> bool {
        (0..self.lanes.len()).any(|layer| self.rows_after(layer).is_some())
    }

    /// The activation layer `layer` applies to each row after its product and bias, when its
    /// kernel cannot (see [`has_row_activations`](Self::has_row_activations)).
    fn rows_after(&self, layer: usize) -> Option<Activation> {
        self.weights.architecture().layers[layer]
            .activation
            .filter(|a| a.kind().is_none())
    }

    /// Whether a call with `k` inputs per model has enough work to pay for handing it to the
    /// pool and back (tens of µs here): at least [`THREADED_WORK`] multiply-adds. Smaller calls
    /// run on the calling thread; the results are the same either way.
    fn worth_threads(&self, k: usize) -> bool {
        let per_model: usize = self
            .architecture()
            .layers
            .iter()
            .map(|l| l.input_size * l.output_size)
            .sum();
        per_model.saturating_mul(self.models()).saturating_mul(k) >= THREADED_WORK
    }

    /// The thread count.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Models in the batch.
    pub fn models(&self) -> usize {
        self.weights.models()
    }

    /// Host memory the batch holds, in bytes: every model's weights and biases, and their
    /// interleaved copy for the lane kernels.
    pub fn memory_bytes(&self) -> usize {
        let arch = self.weights.architecture();
        let per_model: usize = (0..arch.layers.len())
            .map(|l| self.weights.weights(l).len() + self.weights.bias(l).len())
            .sum();
        (per_model + self.lane_values.as_slice().len()) * std::mem::size_of::<f32>()
    }

    /// The shared architecture.
    pub fn architecture(&self) -> &Architecture {
        self.weights.architecture()
    }

    /// The weights as loaded (`[model][out][in]` per layer).
    pub fn weights(&self) -> &BatchedWeights {
        &self.weights
    }

    /// Loads model `model`'s weights from `"layer_<N>"` → row-major `out × in` (see
    /// [`BatchedWeights::load_weights`]); replaces them in place when loaded before (hot reload:
    /// nothing else is rebuilt).
    pub fn load_weights(
        &mut self,
        model: usize,
        map: &HashMap<String, Vec<f32>>,
    ) -> Result<(), BatchedError> {
        self.weights.load_weights(model, map)?;
        self.refresh_lanes(model);
        Ok(())
    }

    /// Loads model `model`'s biases from `"layer_<N>"` → `out` values (see
    /// [`BatchedWeights::load_bias`]).
    pub fn load_bias(
        &mut self,
        model: usize,
        map: &HashMap<String, Vec<f32>>,
    ) -> Result<(), BatchedError> {
        self.weights.load_bias(model, map)?;
        self.refresh_lanes(model);
        Ok(())
    }

    /// Sets model `model`'s weights and biases of every layer, `(weights row-major, bias)` per
    /// layer (see [`BatchedWeights::set_model`]); nothing is written on error.
    pub fn set_model(
        &mut self,
        model: usize,
        layers: &[(&[f32], &[f32])],
    ) -> Result<(), BatchedError> {
        self.weights.set_model(model, layers)?;
        self.refresh_lanes(model);
        Ok(())
    }

    /// Replaces model `model`'s weights and biases by those of a format model with this
    /// architecture (a chain of DOTs of the same sizes and activations).
    pub fn load_model(&mut self, model: usize, valid: &ValidModel) -> Result<(), BatchedError> {
        let (arch, params) = Architecture::of_model(valid, model)?;
        let ours = self.weights.architecture();
        if arch.layers.len() != ours.layers.len() {
            return Err(BatchedError::ArchitectureMismatch {
                model,
                layer: arch.layers.len().min(ours.layers.len()),
                actual: format!("{} layers", arch.layers.len()),
                expected: format!("{} layers", ours.layers.len()),
            });
        }
        for (layer, (a, b)) in arch.layers.iter().zip(&ours.layers).enumerate() {
            if a != b {
                return Err(BatchedError::ArchitectureMismatch {
                    model,
                    layer,
                    actual: a.to_string(),
                    expected: b.to_string(),
                });
            }
        }
        let layers: Vec<(&[f32], &[f32])> =
            params.iter().map(|(w, b)| (w.as_slice(), *b)).collect();
        self.set_model(model, &layers)
    }

    /// Copies model `model`'s weights and biases into its lane of the interleaved layers.
    fn refresh_lanes(&mut self, model: usize) {
        let (g, m) = (model / GROUP, model % GROUP);
        let block = &mut self.lane_values.as_mut_slice()[g * self.group_len..][..self.group_len];
        for (layer, lane) in self.lanes.iter().enumerate() {
            let (b, w) = block.split_at_mut(lane.weights_at);
            interleave_model(
                self.weights.model_weights(model, layer),
                self.weights.model_bias(model, layer),
                m,
                &mut w[..lane.outputs * lane.inputs * GROUP],
                &mut b[lane.bias_at..][..lane.outputs * GROUP],
            );
        }
    }

    fn check_loaded(&self) -> Result<(), BatchedError> {
        match self.weights.first_unloaded() {
            Some(model) => Err(BatchedError::NotLoaded { model }),
            None => Ok(()),
        }
    }

    /// Output values of a call with `k` inputs per model, after checking `k` and the input
    /// length (every product checked: a `k` that overflows is an error, not a wrapped size).
    fn check_inputs(&self, inputs: usize, k: usize) -> Result<usize, BatchedError> {
        if k == 0 {
            return Err(BatchedError::NoInputs);
        }
        let arch = self.weights.architecture();
        let models = self.models();
        let per = |size: usize| {
            size.checked_mul(k)
                .and_then(|p| p.checked_mul(models).map(|t| (p, t)))
        };
        let ((per_model, expected), (_, outputs)) = per(arch.input_size())
            .zip(per(arch.output_size()))
            .ok_or(BatchedError::TooManyInputs { k })?;
        if inputs != expected {
            return Err(BatchedError::InputLength {
                actual: inputs,
                expected,
                models,
                per_model,
            });
        }
        Ok(outputs)
    }

    /// [`check_inputs`](Self::check_inputs), the output buffer's length and that every model
    /// is loaded.
    fn check_call(&self, inputs: usize, outputs: usize, k: usize) -> Result<(), BatchedError> {
        let expected = self.check_inputs(inputs, k)?;
        if outputs != expected {
            return Err(BatchedError::OutputLength {
                actual: outputs,
                expected,
            });
        }
        self.check_loaded()
    }

    /// A zeroed output buffer for a call with `k` inputs per model, once the call is known to be
    /// valid.
    fn output_buffer(&self, inputs: usize, k: usize) -> Result<Vec<f32>, BatchedError> {
        let values = self.check_inputs(inputs, k)?;
        self.check_loaded()?;
        if values > MAX_VALUES {
            return Err(BatchedError::OutputTooLarge {
                values,
                max: MAX_VALUES,
            });
        }
        Ok(vec![0.0; values])
    }

    /// One input per model: `inputs` is `[model][input_size]`, the result `[model][output_size]`.
    pub fn forward(&self, inputs: &[f32]) -> Result<Vec<f32>, BatchedError> {
        let mut out = self.output_buffer(inputs.len(), 1)?;
        self.forward_into(inputs, &mut out)?;
        Ok(out)
    }

    /// [`forward`](Self::forward) into a caller-owned `[model][output_size]` buffer (no
    /// allocation once each thread's scratch is warm). On error nothing is written.
    pub fn forward_into(&self, inputs: &[f32], outputs: &mut [f32]) -> Result<(), BatchedError> {
        if self.uses_gemm() {
            return self.forward_many_into(inputs, 1, outputs);
        }
        self.check_call(inputs.len(), outputs.len(), 1)?;
        self.by_groups(inputs, 1, outputs);
        Ok(())
    }

    /// Every group through every layer, `k` inputs per model one after another, the groups
    /// split into one run of consecutive groups per thread.
    fn by_groups(&self, inputs: &[f32], k: usize, outputs: &mut [f32]) {
        let arch = self.architecture();
        let (in_size, out_size) = (arch.input_size(), arch.output_size());
        let net = InterleavedNet {
            layers: &self.lanes,
            group_len: self.group_len,
        };
        let per_task = self.groups.div_ceil(self.threads);
        let task_models = per_task * GROUP;
        let run = |(t, out): (usize, &mut [f32])| {
            let first = t * task_models;
            let models = out.len() / (k * out_size);
            with_scratch(net.scratch_len(), |scratch| {
                interleaved_net_at(
                    self.level,
                    &net,
                    &self.lane_values.as_slice()[t * per_task * self.group_len..],
                    models,
                    k,
                    &inputs[first * k * in_size..][..models * k * in_size],
                    out,
                    scratch,
                )
            })
        };
        match &self.pool {
            Some(pool) if self.groups > 1 && self.worth_threads(k) => pool.install(|| {
                outputs
                    .par_chunks_mut(task_models * k * out_size)
                    .enumerate()
                    .for_each(run);
            }),
            _ => run((0, outputs)),
        }
    }

    /// `k` inputs per model: `inputs` is `[model][k][input_size]`, the result
    /// `[model][k][output_size]`.
    pub fn forward_many(&self, inputs: &[f32], k: usize) -> Result<Vec<f32>, BatchedError> {
        let mut out = self.output_buffer(inputs.len(), k)?;
        self.forward_many_into(inputs, k, &mut out)?;
        Ok(out)
    }

    /// [`forward_many`](Self::forward_many) into a caller-owned buffer (no allocation once
    /// each thread's scratch is warm). On error nothing is written.
    pub fn forward_many_into(
        &self,
        inputs: &[f32],
        k: usize,
        outputs: &mut [f32],
    ) -> Result<(), BatchedError> {
        self.check_call(inputs.len(), outputs.len(), k)?;
        if !self.uses_gemm() {
            self.by_groups(inputs, k, outputs);
            return Ok(());
        }
        let arch = self.weights.architecture();
        let (in_size, out_size) = (arch.input_size(), arch.output_size());
        let run = |(m, out): (usize, &mut [f32])| {
            self.model_forward(m, &inputs[m * k * in_size..][..k * in_size], k, out)
        };
        match &self.pool {
            Some(pool) if self.models() > 1 && self.worth_threads(k) => pool.install(|| {
                outputs
                    .par_chunks_mut(k * out_size)
                    .enumerate()
                    .for_each(run);
            }),
            _ => outputs.chunks_mut(k * out_size).enumerate().for_each(run),
        }
        Ok(())
    }

    /// Model `m`'s `k` inputs through every layer: per layer one matrix product, then bias and
    /// activation over the block.
    fn model_forward(&self, m: usize, x: &[f32], k: usize, out: &mut [f32]) {
        let arch = self.weights.architecture();
        let width = arch.max_width() * k;
        let last = arch.layers.len() - 1;
        with_scratch(2 * width, |scratch| {
            let (a, b) = scratch.split_at_mut(width);
            let (mut src, mut dst) = (a, b);
            for (layer, spec) in arch.layers.iter().enumerate() {
                let (i, o) = (spec.input_size, spec.output_size);
                let input: &[f32] = if layer == 0 { x } else { &src[..k * i] };
                let target: &mut [f32] = if layer == last {
                    &mut *out
                } else {
                    &mut dst[..k * o]
                };
                instinct_kernels::matmul_nt(
                    k,
                    o,
                    i,
                    input,
                    i,
                    self.weights.model_weights(m, layer),
                    target,
                );
                fast::activate_rows_at(
                    self.level,
                    self.lanes[layer].kind,
                    target,
                    self.weights.model_bias(m, layer),
                );
                if let Some(activation) = self.rows_after(layer) {
                    target.chunks_mut(o).for_each(|row| activation.apply(row));
                }
                std::mem::swap(&mut src, &mut dst);
            }
        });
    }
}
