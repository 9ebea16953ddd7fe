//! `GpuDenseNet`: chains of dense layers run layer by layer, one dispatch per layer over every
//! row (one invocation per row and output): large batches of a DOT-chain model, and many models
//! of one architecture at once (one dispatch per layer for all models). On Mesa's software drivers a layer whose kernel would pass their loop budget (over
//! half a million inputs, or a softmax over more than 21,844 outputs) is refused.

use crate::device::{Scopes, binding_limit, submit_and_read, workgroups};
use crate::error::GpuError;
use crate::runtime::GpuRuntime;
use instinct_format::Activation;
use instinct_validate::ValidModel;
use instinct_wgsl::{
    DENSE_TILE, DENSE_WORKGROUP, LayerParams, activation_code, dense_layer_shader,
};
use wgpu::util::DeviceExt;

/// One layer: its shape, activation and where its weights and biases are.
#[derive(Debug, Clone, Copy)]
struct Layer {
    inputs: usize,
    outputs: usize,
    activation: Option<Activation>,
    weights_at: u32,
    bias_at: u32,
}

/// A chain of dense layers of one or many models, uploaded.
pub struct GpuDenseNet {
    runtime: GpuRuntime,
    layers: Vec<Layer>,
    models: usize,
    weights: wgpu::Buffer,
    dense: wgpu::ComputePipeline,
    tiled: wgpu::ComputePipeline,
    softmax: wgpu::ComputePipeline,
    bindings: wgpu::BindGroupLayout,
    use_tiles: bool,
}

impl GpuDenseNet {
    /// A format model that is a chain of DOTs (each with its activation, on the DOT or in an
    /// ACTIVATION right after it).
    pub fn from_model(runtime: &GpuRuntime, model: &ValidModel) -> Result<GpuDenseNet, GpuError> {
        GpuDenseNet::from_models(runtime, std::slice::from_ref(model))
    }

    /// Many models of one architecture (chains of DOTs of the same sizes and activations), run
    /// together: each layer's weights of every model side by side, `[model][out][in]`, then its
    /// biases, `[model][out]`.
    pub fn from_models(
        runtime: &GpuRuntime,
        models: &[ValidModel],
    ) -> Result<GpuDenseNet, GpuError> {
        let chains = models
            .iter()
            .enumerate()
            .map(|(m, model)| {
                model.dot_chain().map_err(|e| GpuError::NotAChain {
                    model: m,
                    why: e.to_string(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let Some(first) = chains.first() else {
            return Err(GpuError::NotAChain {
                model: 0,
                why: "no models".into(),
            });
        };
        // The layer kernel takes no activation parameters and has no log-softmax pass: models
        // with instinct's extension activations run through `GpuRuntime::upload` instead.
        if let Some(a) = first
            .iter()
            .find_map(|l| l.activation.filter(|a| a.is_extension()))
        {
            return Err(GpuError::NotAChain {
                model: 0,
                why: format!("the layer kernel does not run the extension activation {a}"),
            });
        }
        for (m, chain) in chains.iter().enumerate().skip(1) {
            let same = chain.len() == first.len()
                && chain.iter().zip(first).all(|(a, b)| {
                    (a.inputs, a.outputs, a.activation) == (b.inputs, b.outputs, b.activation)
                });
            if !same {
                return Err(GpuError::NotAChain {
                    model: m,
                    why: "its layers differ from model 0's (sizes or activations)".into(),
                });
            }
        }
        let mut data: Vec<f32> = Vec::new();
        let mut layers = Vec::new();
        let word = |n: usize| {
            u32::try_from(n).map_err(|_| GpuError::TooLarge {
                what: "the weights".to_string(),
                bytes: 4 * n as u64,
                limit: 4 * u32::MAX as u64,
            })
        };
        for (l, spec) in first.iter().enumerate() {
            let weights_at = word(data.len())?;
            for (model, chain) in models.iter().zip(&chains) {
                for row in &model.info().weights[chain[l].slot] {
                    data.extend_from_slice(row);
                }
            }
            let bias_at = word(data.len())?;
            for (model, chain) in models.iter().zip(&chains) {
                data.extend_from_slice(&model.info().bias[chain[l].slot]);
            }
            layers.push(Layer {
                inputs: spec.inputs,
                outputs: spec.outputs,
                activation: spec.activation,
                weights_at,
                bias_at,
            });
        }
        let inner = &runtime.inner;
        let bytes = 4 * data.len() as u64;
        if bytes > inner.limits.max_storage_buffer_binding_size {
            return Err(GpuError::TooLarge {
                what: "the weights".to_string(),
                bytes,
                limit: inner.limits.max_storage_buffer_binding_size,
            });
        }
        let device = &inner.device;
        let scope = Scopes::push(device);
        let weights_buffer = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("instinct dense weights"),
            contents: bytemuck::cast_slice(if data.is_empty() { &[0.0f32] } else { &data }),
            usage: wgpu::BufferUsages::STORAGE,
        });
        if let Some(e) = scope.pop() {
            return Err(GpuError::Execution(format!("uploading the weights: {e}")));
        }
        let (bindings, [dense, tiled, softmax]) = pipelines(runtime)?;
        Ok(GpuDenseNet {
            runtime: runtime.clone(),
            layers,
            models: models.len(),
            weights: weights_buffer,
            dense,
            tiled,
            softmax,
            bindings,
            // A software adapter runs workgroup barriers slowly (measured on llvmpipe: the tiled
            // 250→300→200 at 0.23 GFLOP/s against 1.06 untiled).
            use_tiles: !runtime.is_software(),
        })
    }

    /// Whether a single model's layers run tiled (16 × 16 rows × outputs per workgroup, loads
    /// shared through workgroup memory). The default: on hardware adapters, not on software
    /// ones.
    pub fn set_tiled(&mut self, tiled: bool) {
        self.use_tiles = tiled;
    }

    /// Models in the net.
    pub fn models(&self) -> usize {
        self.models
    }

    /// Values per input row.
    pub fn input_size(&self) -> usize {
        self.layers.first().map_or(0, |l| l.inputs)
    }

    /// Values per output row.
    pub fn output_size(&self) -> usize {
        self.layers.last().map_or(0, |l| l.outputs)
    }

    /// `rows` inputs per model, `[model][row][input]`, to outputs `[model][row][output]`: one
    /// dispatch per layer for every model and row.
    pub fn forward(&self, inputs: &[f32], rows: usize) -> Result<Vec<f32>, GpuError> {
        let all_rows = self.models.checked_mul(rows);
        if all_rows.and_then(|r| r.checked_mul(self.input_size())) != Some(inputs.len()) {
            return Err(GpuError::DenseInputs {
                len: inputs.len(),
                models: self.models,
                rows,
                inputs: self.input_size(),
            });
        }
        self.run(inputs, all_rows.unwrap_or(0), rows)
    }

    /// A single model's predictions for every sample of `inputs` (`input_size` values each),
    /// in chunks of rows that fit the device's bindings.
    pub fn predict_batch(&self, inputs: &[f32]) -> Result<Vec<f32>, GpuError> {
        let n = self.input_size();
        if self.models != 1 || n == 0 || !inputs.len().is_multiple_of(n) {
            return Err(GpuError::DenseInputs {
                len: inputs.len(),
                models: self.models,
                rows: inputs.len() / n.max(1),
                inputs: n,
            });
        }
        let rows = inputs.len() / n;
        let widest = self
            .layers
            .iter()
            .map(|l| l.inputs.max(l.outputs))
            .max()
            .unwrap_or(1)
            .max(1);
        let chunk = (binding_limit(&self.runtime.inner.limits) / (4 * widest)).max(1);
        let mut out = Vec::with_capacity(rows * self.output_size());
        let mut first = 0;
        while first < rows {
            let r = chunk.min(rows - first);
            out.extend(self.run(&inputs[first * n..(first + r) * n], r, 0)?);
            first += r;
        }
        Ok(out)
    }

    /// Runs every layer over `rows` rows (`rows_per_model` of each model, 0 for one model).
    fn run(
        &self,
        inputs: &[f32],
        rows: usize,
        rows_per_model: usize,
    ) -> Result<Vec<f32>, GpuError> {
        let inner = &self.runtime.inner;
        let device = &inner.device;
        let limit = inner.limits.max_storage_buffer_binding_size;
        for l in &self.layers {
            for (what, width) in [
                ("a layer's inputs", l.inputs),
                ("a layer's outputs", l.outputs),
            ] {
                let bytes = 4 * (rows as u64) * width as u64;
                if bytes > limit {
                    return Err(GpuError::TooLarge {
                        what: what.to_string(),
                        bytes,
                        limit,
                    });
                }
            }
        }
        if rows == 0 {
            return Ok(Vec::new());
        }
        for l in &self.layers {
            // The shader's indices are u32.
            let widest = rows as u64 * l.inputs.max(l.outputs) as u64;
            if widest > u32::MAX as u64 {
                return Err(GpuError::TooLarge {
                    what: "a layer's values (indexed with 32 bits)".to_string(),
                    bytes: 4 * widest,
                    limit: 4 * u32::MAX as u64,
                });
            }
            // Mesa's software drivers stop an invocation after LOOP_CAP iterations: the
            // per-output kernel loops inputs / 8 times, softmax rows three times over the outputs.
            if self.runtime.is_software() {
                let mut needed = l.inputs as u64 / 8 + 1;
                if l.activation == Some(Activation::Softmax) {
                    needed = needed.max(3 * l.outputs as u64 + 2);
                }
                if needed > instinct_wgsl::LOOP_CAP {
                    return Err(GpuError::LoopBudget {
                        model: 0,
                        adapter: self.runtime.description(),
                        needed,
                        cap: instinct_wgsl::LOOP_CAP,
                    });
                }
            }
        }
        let word = |n: usize| {
            u32::try_from(n).map_err(|_| GpuError::TooLarge {
                what: "a dispatch".to_string(),
                bytes: n as u64,
                limit: u32::MAX as u64,
            })
        };
        let scope = Scopes::push(device);
        let mut x = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("instinct dense input"),
            contents: bytemuck::cast_slice(inputs),
            usage: wgpu::BufferUsages::STORAGE,
        });
        let mut encoder = device.create_command_encoder(&Default::default());
        // Uniforms and bind groups must live until the commands are submitted.
        let mut keep = Vec::new();
        for l in &self.layers {
            let y = device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("instinct dense output"),
                size: 4 * (rows * l.outputs) as u64,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            });
            let params = LayerParams {
                rows: word(rows)?,
                inputs: word(l.inputs)?,
                outputs: word(l.outputs)?,
                activation: activation_code(l.activation),
                rows_per_model: word(rows_per_model)?,
                weights_at: l.weights_at,
                bias_at: l.bias_at,
                pad: 0,
            };
            let uniform = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("instinct layer"),
                contents: bytemuck::bytes_of(&params),
                usage: wgpu::BufferUsages::UNIFORM,
            });
            let group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("instinct dense bindings"),
                layout: &self.bindings,
                entries: &[&self.weights, &x, &y, &uniform]
                    .map(|b| b.as_entire_binding())
                    .into_iter()
                    .enumerate()
                    .map(|(i, resource)| wgpu::BindGroupEntry {
                        binding: i as u32,
                        resource,
                    })
                    .collect::<Vec<_>>(),
            });
            {
                let mut pass = encoder.begin_compute_pass(&Default::default());
                pass.set_bind_group(0, &group, &[]);
                let max = inner.limits.max_compute_workgroups_per_dimension as usize;
                let tile = DENSE_TILE as usize;
                let (tx, ty) = (l.outputs.div_ceil(tile), rows.div_ceil(tile));
                if self.use_tiles && rows_per_model == 0 && tx <= max && ty <= max {
                    // One model: tiles of rows × outputs share their loads.
                    pass.set_pipeline(&self.tiled);
                    pass.dispatch_workgroups(tx as u32, ty as u32, 1);
                } else {
                    pass.set_pipeline(&self.dense);
                    let (gx, gy) = workgroups(rows * l.outputs, DENSE_WORKGROUP, &inner.limits)?;
                    pass.dispatch_workgroups(gx, gy, 1);
                }
                if l.activation == Some(Activation::Softmax) {
                    pass.set_pipeline(&self.softmax);
                    let (gx, gy) = workgroups(rows, DENSE_WORKGROUP, &inner.limits)?;
                    pass.dispatch_workgroups(gx, gy, 1);
                }
            }
            keep.push((uniform, group));
            x = y;
        }
        let bytes = 4 * (rows * self.output_size()) as u64;
        let staging = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("instinct dense readback"),
            size: bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        encoder.copy_buffer_to_buffer(&x, 0, &staging, 0, bytes);
        let out = submit_and_read(inner, scope, encoder, &staging);
        drop(keep);
        out
    }
}

/// The dense layer's bind group layout and its pipelines (`dense`, `dense_tiled`,
/// `softmax_rows`), checked by naga and created with their errors captured.
fn pipelines(
    runtime: &GpuRuntime,
) -> Result<(wgpu::BindGroupLayout, [wgpu::ComputePipeline; 3]), GpuError> {
    let device = &runtime.inner.device;
    let source = dense_layer_shader();
    instinct_wgsl::validate_wgsl(&source)
        .map_err(|source| GpuError::Shader { model: 0, source })?;
    let storage = |read_only| wgpu::BindingType::Buffer {
        ty: wgpu::BufferBindingType::Storage { read_only },
        has_dynamic_offset: false,
        min_binding_size: None,
    };
    let types = [
        storage(true),
        storage(true),
        storage(false),
        wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: false,
            min_binding_size: None,
        },
    ];
    let entries: Vec<wgpu::BindGroupLayoutEntry> = types
        .into_iter()
        .enumerate()
        .map(|(i, ty)| wgpu::BindGroupLayoutEntry {
            binding: i as u32,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty,
            count: None,
        })
        .collect();
    let scope = Scopes::push(device);
    let bindings = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some("instinct dense bindings"),
        entries: &entries,
    });
    let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some("instinct dense"),
        bind_group_layouts: &[Some(&bindings)],
        immediate_size: 0,
    });
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("instinct dense"),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    });
    let pipeline = |entry: &str| {
        device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("instinct dense"),
            layout: Some(&layout),
            module: &module,
            entry_point: Some(entry),
            compilation_options: Default::default(),
            cache: None,
        })
    };
    let all = ["dense", "dense_tiled", "softmax_rows"].map(pipeline);
    if let Some(e) = scope.pop() {
        return Err(GpuError::Pipeline {
            model: 0,
            adapter: runtime.description(),
            reason: e.to_string(),
        });
    }
    Ok((bindings, all))
}
