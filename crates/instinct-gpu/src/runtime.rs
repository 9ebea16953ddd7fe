//! `GpuRuntime`: the adapter and device (chosen by environment or options, a clear error listing
//! the adapters when none matches), and `GpuModels`: models uploaded into one storage buffer, each
//! with its engine, run with `predict_batch` (one invocation per sample, or the stepped engine's
//! dispatches over the whole batch; the samples split across runs when they exceed a binding or
//! the workgroup limit).

use crate::device::{Inner, Scopes, binding_limit, submit_and_read};
use crate::error::GpuError;
use crate::stepped::{SteppedModel, SteppedPipelines};
use instinct_validate::ValidModel;
use instinct_wgsl::{
    GpuModel, LOOP_CAP, Mode, ModelPack, SteppedPlan, WORKGROUP_SIZE, specialized_library,
    standalone_loop_iterations, standalone_shader, validate_wgsl, wgsl_library,
};
use wgpu::util::DeviceExt;

/// How the runtime finds its adapter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GpuOptions {
    /// Backends searched; `None` is every backend wgpu was built with.
    pub backends: Option<wgpu::Backends>,
    /// Part of the adapter's name (case-insensitive); `None` takes wgpu's preferred adapter.
    pub adapter: Option<String>,
}

impl GpuOptions {
    /// Options from the environment: `WGPU_BACKEND` (`vulkan`, `gl`, `metal`, `dx12`, comma
    /// separated) and `INSTINCT_GPU_ADAPTER` (part of the adapter's name).
    pub fn from_env() -> GpuOptions {
        GpuOptions {
            backends: wgpu::Backends::from_env(),
            adapter: std::env::var("INSTINCT_GPU_ADAPTER")
                .ok()
                .filter(|s| !s.is_empty()),
        }
    }
}

/// How an upload runs a model: one invocation per sample with `predict` written in a
/// [`Mode`], or the stepped engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Schedule {
    PerSample(Mode),
    Stepped,
}

/// What an upload was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placement {
    Auto,
    Only(Mode),
    Stepped,
}

/// A GPU adapter with its device and queue; cheap to clone (the clones share the device).
#[derive(Clone)]
pub struct GpuRuntime {
    pub(crate) inner: std::sync::Arc<Inner>,
}

/// The standalone shader's bindings, declared in full: a shader that leaves one unused (a model
/// that reads no weights) still takes the same bind group.
fn binding_layout(device: &wgpu::Device) -> (wgpu::BindGroupLayout, wgpu::PipelineLayout) {
    use instinct_wgsl::bindings::{INPUTS, MODEL_DATA, OUTPUTS, PARAMS};
    let storage = |read_only| wgpu::BindingType::Buffer {
        ty: wgpu::BufferBindingType::Storage { read_only },
        has_dynamic_offset: false,
        min_binding_size: None,
    };
    let uniform = wgpu::BindingType::Buffer {
        ty: wgpu::BufferBindingType::Uniform,
        has_dynamic_offset: false,
        min_binding_size: None,
    };
    let entries = [
        (MODEL_DATA, storage(true)),
        (INPUTS, storage(true)),
        (OUTPUTS, storage(false)),
        (PARAMS, uniform),
    ]
    .map(|(binding, ty)| wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty,
        count: None,
    });
    let bindings = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some("instinct bindings"),
        entries: &entries,
    });
    let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some("instinct pipeline"),
        bind_group_layouts: &[Some(&bindings)],
        immediate_size: 0,
    });
    (bindings, layout)
}

/// One line naming an adapter: name, backend, kind, driver.
fn describe(info: &wgpu::AdapterInfo) -> String {
    format!(
        "{} ({:?}, {:?}, {} {})",
        info.name, info.backend, info.device_type, info.driver, info.driver_info
    )
}

impl GpuRuntime {
    /// A runtime on the adapter the environment asks for ([`GpuOptions::from_env`]).
    pub fn new() -> Result<GpuRuntime, GpuError> {
        GpuRuntime::with_options(&GpuOptions::from_env())
    }

    /// A runtime on the adapter `options` ask for.
    pub fn with_options(options: &GpuOptions) -> Result<GpuRuntime, GpuError> {
        let mut descriptor = wgpu::InstanceDescriptor::new_without_display_handle();
        if let Some(b) = options.backends {
            descriptor.backends = b;
        }
        let backends = format!("backends {:?}", descriptor.backends);
        let instance = wgpu::Instance::new(descriptor);
        let adapter = match &options.adapter {
            Some(wanted) => {
                let adapters = pollster::block_on(
                    instance.enumerate_adapters(options.backends.unwrap_or(wgpu::Backends::all())),
                );
                let needle = wanted.to_lowercase();
                let position = adapters
                    .iter()
                    .position(|a| a.get_info().name.to_lowercase().contains(&needle));
                match position {
                    Some(i) => adapters.into_iter().nth(i).expect("index found above"),
                    None => {
                        return Err(GpuError::AdapterNotFound {
                            wanted: wanted.clone(),
                            available: adapters.iter().map(|a| describe(&a.get_info())).collect(),
                        });
                    }
                }
            }
            None => pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                ..Default::default()
            }))
            .map_err(|e| GpuError::NoAdapter {
                backends,
                reason: e.to_string(),
            })?,
        };
        let info = adapter.get_info();
        // Ask for the adapter's own storage limits: larger bindings mean fewer dispatches.
        let available = adapter.limits();
        let limits = wgpu::Limits {
            max_storage_buffer_binding_size: available.max_storage_buffer_binding_size,
            max_buffer_size: available.max_buffer_size,
            ..wgpu::Limits::downlevel_defaults()
        };
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("instinct"),
            required_limits: limits,
            ..Default::default()
        }))
        .map_err(|e| GpuError::Device {
            adapter: describe(&info),
            reason: e.to_string(),
        })?;
        let limits = device.limits();
        let (bindings, layout) = binding_layout(&device);
        Ok(GpuRuntime {
            inner: std::sync::Arc::new(Inner {
                device,
                queue,
                info,
                limits,
                bindings,
                layout,
            }),
        })
    }

    /// The adapter: name, backend, kind, driver.
    pub fn adapter_info(&self) -> &wgpu::AdapterInfo {
        &self.inner.info
    }

    /// One line naming the adapter.
    pub fn description(&self) -> String {
        describe(&self.inner.info)
    }

    /// Whether the adapter is a software rasteriser (Mesa's llvmpipe or lavapipe), whose loop
    /// budget the runtime then respects.
    pub fn is_software(&self) -> bool {
        self.inner.info.device_type == wgpu::DeviceType::Cpu
    }

    /// The device's limits.
    pub fn limits(&self) -> &wgpu::Limits {
        &self.inner.limits
    }

    /// The device, for running shaders of one's own (that include [`instinct_wgsl::wgsl_library`]).
    pub fn device(&self) -> &wgpu::Device {
        &self.inner.device
    }

    /// The device's queue.
    pub fn queue(&self) -> &wgpu::Queue {
        &self.inner.queue
    }

    /// Uploads `models` into one storage buffer and builds each one's pipeline: one invocation
    /// per sample with `predict` written in `mode`, or, with `None`, as fits: the specialised
    /// shader, else the library, when one sample fits Mesa's loop budget (the same choice on
    /// every adapter: a model too large for that budget is also one that gains from running its
    /// rows in parallel), otherwise the stepped engine. A software adapter refuses a `mode` over
    /// its loop budget.
    pub fn upload(&self, models: &[ValidModel], mode: Option<Mode>) -> Result<GpuModels, GpuError> {
        let choice = match mode {
            Some(mode) => Placement::Only(mode),
            None => Placement::Auto,
        };
        self.upload_as(models, choice)
    }

    /// [`upload`](Self::upload) on the stepped engine: one dispatch per step of each instruction
    /// over the whole batch ([`instinct_wgsl::SteppedPlan`]); any model that fits the compute
    /// buffer, on any adapter.
    pub fn upload_stepped(&self, models: &[ValidModel]) -> Result<GpuModels, GpuError> {
        self.upload_as(models, Placement::Stepped)
    }

    fn upload_as(&self, models: &[ValidModel], choice: Placement) -> Result<GpuModels, GpuError> {
        let mut pack = ModelPack::new();
        let mut entries = Vec::with_capacity(models.len());
        let mut stepped = None;
        for (m, model) in models.iter().enumerate() {
            let blob = GpuModel::from_model(model)
                .map_err(|source| GpuError::Blob { model: m, source })?;
            let offset = pack
                .push(&blob)
                .map_err(|source| GpuError::Blob { model: m, source })?;
            let run = match self.schedule_for(m, &blob, choice)? {
                Schedule::PerSample(mode) => Run::PerSample {
                    mode,
                    pipeline: self.pipeline(m, &blob, mode)?,
                },
                Schedule::Stepped => {
                    if stepped.is_none() {
                        stepped = Some(SteppedPipelines::new(&self.inner, &self.description())?);
                    }
                    let plan = SteppedPlan::new(&blob, offset)
                        .map_err(|source| GpuError::Blob { model: m, source })?;
                    Run::Stepped(SteppedModel::new(&self.inner, plan)?)
                }
            };
            entries.push(Entry {
                offset,
                feature_size: blob.feature_size(),
                output_size: blob.output_size(),
                run,
            });
        }
        let bytes = pack.as_bytes();
        self.check_binding("the models", bytes.len() as u64)?;
        let scope = Scopes::push(&self.inner.device);
        let data = self
            .inner
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("instinct models"),
                // A buffer may not be empty; a pack always has a header per model, but no models
                // gives no words.
                contents: if bytes.is_empty() { &[0; 4] } else { bytes },
                usage: wgpu::BufferUsages::STORAGE,
            });
        if let Some(e) = scope.pop() {
            return Err(GpuError::Execution(format!("uploading the models: {e}")));
        }
        Ok(GpuModels {
            runtime: self.clone(),
            data,
            entries,
            stepped,
        })
    }

    /// Uploads one model.
    pub fn load(&self, model: &ValidModel) -> Result<GpuModels, GpuError> {
        self.upload(std::slice::from_ref(model), None)
    }

    /// How a model runs, or why it cannot run here.
    fn schedule_for(
        &self,
        m: usize,
        blob: &GpuModel,
        choice: Placement,
    ) -> Result<Schedule, GpuError> {
        let within = |mode| standalone_loop_iterations(blob, mode) <= LOOP_CAP;
        match choice {
            Placement::Stepped => Ok(Schedule::Stepped),
            Placement::Auto => Ok([Mode::Specialized, Mode::Library]
                .into_iter()
                .find(|&mode| within(mode))
                .map_or(Schedule::Stepped, Schedule::PerSample)),
            Placement::Only(mode) if within(mode) || !self.is_software() => {
                Ok(Schedule::PerSample(mode))
            }
            Placement::Only(mode) => Err(GpuError::LoopBudget {
                model: m,
                adapter: self.description(),
                needed: standalone_loop_iterations(blob, mode),
                cap: LOOP_CAP,
            }),
        }
    }

    /// The shader for `blob` in `mode`, checked by naga, then compiled by the device with its
    /// errors captured.
    fn pipeline(
        &self,
        m: usize,
        blob: &GpuModel,
        mode: Mode,
    ) -> Result<wgpu::ComputePipeline, GpuError> {
        let library = match mode {
            // At least 64 values: shader caches then serve every small model with one source.
            Mode::Library => wgsl_library(
                (blob.compute_buffer_size() as u32)
                    .next_power_of_two()
                    .max(64),
            ),
            Mode::Specialized => specialized_library(blob),
        };
        let source = standalone_shader(&library);
        validate_wgsl(&source).map_err(|source| GpuError::Shader { model: m, source })?;
        let scope = Scopes::push(&self.inner.device);
        let module = self
            .inner
            .device
            .create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some("instinct model"),
                source: wgpu::ShaderSource::Wgsl(source.into()),
            });
        let pipeline =
            self.inner
                .device
                .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some("instinct model"),
                    layout: Some(&self.inner.layout),
                    module: &module,
                    entry_point: Some("main"),
                    compilation_options: Default::default(),
                    cache: None,
                });
        if let Some(e) = scope.pop() {
            return Err(GpuError::Pipeline {
                model: m,
                adapter: self.description(),
                reason: e.to_string(),
            });
        }
        Ok(pipeline)
    }

    /// Refuses a storage binding beyond the device's limit.
    fn check_binding(&self, what: &str, bytes: u64) -> Result<(), GpuError> {
        let limit = self.inner.limits.max_storage_buffer_binding_size;
        if bytes > limit {
            return Err(GpuError::TooLarge {
                what: what.to_string(),
                bytes,
                limit,
            });
        }
        Ok(())
    }
}

/// What runs one uploaded model.
enum Run {
    /// Its per-sample pipeline.
    PerSample {
        mode: Mode,
        pipeline: wgpu::ComputePipeline,
    },
    /// Its steps.
    Stepped(SteppedModel),
}

/// One uploaded model: where it is in the buffer, its shapes, its engine.
struct Entry {
    offset: u32,
    feature_size: usize,
    output_size: usize,
    run: Run,
}

/// Models in one storage buffer, ready to run (they keep their runtime's device alive).
pub struct GpuModels {
    runtime: GpuRuntime,
    data: wgpu::Buffer,
    entries: Vec<Entry>,
    /// The stepped engine's pipelines, when a model runs on it.
    stepped: Option<SteppedPipelines>,
}

impl GpuModels {
    /// The runtime the models live on.
    pub fn runtime(&self) -> &GpuRuntime {
        &self.runtime
    }

    /// Number of models.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no model was uploaded.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The shader mode model `model` runs in, one invocation per sample; `None` on the stepped
    /// engine (or for no such model: see [`is_stepped`](Self::is_stepped)).
    pub fn mode(&self, model: usize) -> Option<Mode> {
        self.entries.get(model).and_then(|e| match &e.run {
            Run::PerSample { mode, .. } => Some(*mode),
            Run::Stepped(_) => None,
        })
    }

    /// Whether model `model` runs on the stepped engine.
    pub fn is_stepped(&self, model: usize) -> bool {
        self.entries
            .get(model)
            .is_some_and(|e| matches!(e.run, Run::Stepped(_)))
    }

    fn entry(&self, model: usize) -> Result<&Entry, GpuError> {
        self.entries.get(model).ok_or(GpuError::NoSuchModel {
            model,
            count: self.entries.len(),
        })
    }

    /// Runs model `model` on every sample of `inputs` (`feature_size` values each, one after
    /// another) and returns `output_size` values per sample.
    pub fn predict_batch(&self, model: usize, inputs: &[f32]) -> Result<Vec<f32>, GpuError> {
        let e = self.entry(model)?;
        let samples = self.samples(model, e, inputs)?;
        let mut out = vec![0.0; samples * e.output_size];
        self.predict_batch_into(model, inputs, &mut out)?;
        Ok(out)
    }

    fn samples(&self, model: usize, e: &Entry, inputs: &[f32]) -> Result<usize, GpuError> {
        if e.feature_size == 0 || !inputs.len().is_multiple_of(e.feature_size) {
            return Err(GpuError::InputLength {
                model,
                len: inputs.len(),
                feature_size: e.feature_size,
            });
        }
        Ok(inputs.len() / e.feature_size)
    }

    /// [`GpuModels::predict_batch`] into a caller's buffer of `output_size` values per sample.
    pub fn predict_batch_into(
        &self,
        model: usize,
        inputs: &[f32],
        outputs: &mut [f32],
    ) -> Result<(), GpuError> {
        let e = self.entry(model)?;
        let samples = self.samples(model, e, inputs)?;
        if outputs.len() != samples * e.output_size {
            return Err(GpuError::OutputLength {
                model,
                len: outputs.len(),
                expected: samples * e.output_size,
                samples,
            });
        }
        if samples == 0 {
            return Ok(());
        }
        let per_dispatch = self.samples_per_dispatch(e);
        let mut first = 0;
        while first < samples {
            let n = per_dispatch.min(samples - first);
            self.dispatch(
                e,
                &inputs[first * e.feature_size..(first + n) * e.feature_size],
                &mut outputs[first * e.output_size..(first + n) * e.output_size],
            )?;
            first += n;
        }
        Ok(())
    }

    /// Samples one dispatch (or one stepped run) can take: the workgroup count limit of one
    /// dimension, and inputs and outputs within one storage binding.
    fn samples_per_dispatch(&self, e: &Entry) -> usize {
        let limits = &self.runtime.inner.limits;
        if let Run::Stepped(s) = &e.run {
            return s.samples_per_run(limits);
        }
        let by_groups =
            limits.max_compute_workgroups_per_dimension as usize * WORKGROUP_SIZE as usize;
        let widest = 4 * e.feature_size.max(e.output_size).max(1);
        by_groups.min(binding_limit(limits) / widest).max(1)
    }

    /// One run of `inputs.len() / feature_size` samples.
    fn dispatch(&self, e: &Entry, inputs: &[f32], outputs: &mut [f32]) -> Result<(), GpuError> {
        let pipeline = match &e.run {
            Run::PerSample { pipeline, .. } => pipeline,
            Run::Stepped(s) => {
                let pipelines = self
                    .stepped
                    .as_ref()
                    .expect("upload builds the stepped pipelines for a stepped model");
                return s.run(&self.runtime.inner, pipelines, &self.data, inputs, outputs);
            }
        };
        let device = &self.runtime.inner.device;
        let n = inputs.len() / e.feature_size;
        // Any validation error below is returned, not left to wgpu's handler (which panics).
        let scope = Scopes::push(device);
        let input = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("instinct inputs"),
            contents: bytemuck::cast_slice(inputs),
            usage: wgpu::BufferUsages::STORAGE,
        });
        let bytes = (outputs.len() * 4) as u64;
        let output = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("instinct outputs"),
            size: bytes.max(4),
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let staging = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("instinct readback"),
            size: bytes.max(4),
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let params = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("instinct run parameters"),
            contents: bytemuck::cast_slice(&[n as u32, e.offset, 0, 0]),
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let bindings = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("instinct bindings"),
            layout: &self.runtime.inner.bindings,
            entries: &[
                (instinct_wgsl::bindings::MODEL_DATA, &self.data),
                (instinct_wgsl::bindings::INPUTS, &input),
                (instinct_wgsl::bindings::OUTPUTS, &output),
                (instinct_wgsl::bindings::PARAMS, &params),
            ]
            .map(|(binding, buffer)| wgpu::BindGroupEntry {
                binding,
                resource: buffer.as_entire_binding(),
            }),
        });
        let mut encoder = device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_pipeline(pipeline);
            pass.set_bind_group(0, &bindings, &[]);
            pass.dispatch_workgroups((n as u32).div_ceil(WORKGROUP_SIZE), 1, 1);
        }
        encoder.copy_buffer_to_buffer(&output, 0, &staging, 0, bytes.max(4));
        let values = submit_and_read(&self.runtime.inner, scope, encoder, &staging)?;
        outputs.copy_from_slice(&values[..outputs.len()]);
        Ok(())
    }
}
