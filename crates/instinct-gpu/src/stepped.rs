//! The stepped engine on the device: the one pipeline per entry point of
//! `instinct_wgsl::stepped_shader` (built once per upload that needs it), a model's steps as
//! uniforms bound with dynamic offsets, and a batch run as one compute pass of one dispatch per
//! step over every sample, the compute buffers of all samples (each with its scratch values) in
//! one storage buffer: four storage bindings, within the downlevel limits.

use crate::device::{Inner, Scopes, binding_limit, submit_and_read, workgroups};
use crate::error::GpuError;
use instinct_wgsl::{
    Kernel, RunParams, STEP_WORKGROUP, StepParams, SteppedPlan, stepped_bindings, stepped_shader,
};
use std::num::NonZeroU64;
use wgpu::util::DeviceExt;

/// The stepped shader's bind group layout and one pipeline per [`Kernel`].
pub(crate) struct SteppedPipelines {
    bindings: wgpu::BindGroupLayout,
    pipelines: Vec<(Kernel, wgpu::ComputePipeline)>,
}

/// Bytes of one step's uniform.
const STEP_BYTES: u64 = std::mem::size_of::<StepParams>() as u64;

impl SteppedPipelines {
    /// Checks the shader with naga and builds its pipelines, errors captured.
    pub(crate) fn new(inner: &Inner, adapter: &str) -> Result<SteppedPipelines, GpuError> {
        use stepped_bindings as b;
        let source = stepped_shader();
        instinct_wgsl::validate_wgsl(&source)
            .map_err(|source| GpuError::Shader { model: 0, source })?;
        let device = &inner.device;
        let storage = |read_only| wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Storage { read_only },
            has_dynamic_offset: false,
            min_binding_size: None,
        };
        let uniform = |dynamic, size| wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: dynamic,
            min_binding_size: NonZeroU64::new(size),
        };
        let entries = [
            (b::MODEL_DATA, storage(true)),
            (b::INPUTS, storage(true)),
            (b::OUTPUTS, storage(false)),
            (b::STEP, uniform(true, STEP_BYTES)),
            (b::COMPUTE, storage(false)),
            (
                b::RUN,
                uniform(false, std::mem::size_of::<RunParams>() as u64),
            ),
        ]
        .map(|(binding, ty)| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty,
            count: None,
        });
        let scope = Scopes::push(device);
        let bindings = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("instinct stepped bindings"),
            entries: &entries,
        });
        let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("instinct stepped"),
            bind_group_layouts: &[Some(&bindings)],
            immediate_size: 0,
        });
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("instinct stepped"),
            source: wgpu::ShaderSource::Wgsl(source.into()),
        });
        let pipelines = Kernel::ALL
            .iter()
            .map(|&kernel| {
                let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(kernel.entry_point()),
                    layout: Some(&layout),
                    module: &module,
                    entry_point: Some(kernel.entry_point()),
                    compilation_options: Default::default(),
                    cache: None,
                });
                (kernel, pipeline)
            })
            .collect();
        if let Some(e) = scope.pop() {
            return Err(GpuError::Pipeline {
                model: 0,
                adapter: adapter.to_string(),
                reason: e.to_string(),
            });
        }
        Ok(SteppedPipelines {
            bindings,
            pipelines,
        })
    }

    fn pipeline(&self, kernel: Kernel) -> &wgpu::ComputePipeline {
        let (_, p) = self
            .pipelines
            .iter()
            .find(|(k, _)| *k == kernel)
            .expect("one pipeline per kernel, built in new");
        p
    }
}

/// One model's plan with its steps uploaded as uniforms, `stride` bytes apart.
pub(crate) struct SteppedModel {
    pub(crate) plan: SteppedPlan,
    steps: wgpu::Buffer,
    stride: u64,
}

impl SteppedModel {
    /// Uploads the plan's step uniforms, each at a multiple of the device's uniform offset
    /// alignment.
    pub(crate) fn new(inner: &Inner, plan: SteppedPlan) -> Result<SteppedModel, GpuError> {
        let align = inner.limits.min_uniform_buffer_offset_alignment.max(1) as u64;
        let stride = STEP_BYTES.div_ceil(align) * align;
        let total = plan.steps().len().max(1) as u64 * stride;
        if total > u32::MAX as u64 {
            return Err(GpuError::TooLarge {
                what: "the steps' uniforms".to_string(),
                bytes: total,
                limit: u32::MAX as u64,
            });
        }
        let mut bytes = vec![0u8; total as usize];
        for (i, step) in plan.steps().iter().enumerate() {
            let at = i * stride as usize;
            bytes[at..at + STEP_BYTES as usize].copy_from_slice(bytemuck::bytes_of(&step.params));
        }
        let scope = Scopes::push(&inner.device);
        let steps = inner
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("instinct steps"),
                contents: &bytes,
                usage: wgpu::BufferUsages::UNIFORM,
            });
        if let Some(e) = scope.pop() {
            return Err(GpuError::Execution(format!("uploading the steps: {e}")));
        }
        Ok(SteppedModel {
            plan,
            steps,
            stride,
        })
    }

    /// Samples one run can take: every per-sample buffer within one storage binding, and every
    /// step's invocations within 32-bit indices.
    pub(crate) fn samples_per_run(&self, limits: &wgpu::Limits) -> usize {
        let p = &self.plan;
        let widest = (p.compute_size() + p.scratch_size())
            .max(p.feature_size())
            .max(p.output_size());
        let by_binding = binding_limit(limits) / (4 * widest);
        let by_index = u32::MAX as usize / widest;
        by_binding.min(by_index).max(1)
    }

    /// Runs every step over the samples of `inputs` (`feature_size` values each) into
    /// `outputs`.
    pub(crate) fn run(
        &self,
        inner: &Inner,
        pipelines: &SteppedPipelines,
        model_data: &wgpu::Buffer,
        inputs: &[f32],
        outputs: &mut [f32],
    ) -> Result<(), GpuError> {
        use stepped_bindings as b;
        let p = &self.plan;
        let device = &inner.device;
        let samples = inputs.len() / p.feature_size().max(1);
        let scope = Scopes::push(device);
        let storage = |label, values: usize, extra| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: 4 * values.max(1) as u64,
                usage: wgpu::BufferUsages::STORAGE | extra,
                mapped_at_creation: false,
            })
        };
        let input = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("instinct inputs"),
            contents: bytemuck::cast_slice(if inputs.is_empty() { &[0.0] } else { inputs }),
            usage: wgpu::BufferUsages::STORAGE,
        });
        let output = storage(
            "instinct outputs",
            outputs.len(),
            wgpu::BufferUsages::COPY_SRC,
        );
        // New buffers are zeroed, as the CPU's compute buffer is.
        let stride = p.compute_size() + p.scratch_size();
        let compute = storage(
            "instinct compute buffers",
            samples * stride,
            wgpu::BufferUsages::empty(),
        );
        let staging = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("instinct readback"),
            size: 4 * outputs.len().max(1) as u64,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let run = RunParams {
            samples: samples as u32,
            stride: stride as u32,
            scratch_at: p.compute_size() as u32,
            pad: 0,
        };
        let run = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("instinct run"),
            contents: bytemuck::bytes_of(&run),
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let step = wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: &self.steps,
            offset: 0,
            size: NonZeroU64::new(STEP_BYTES),
        });
        let group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("instinct stepped bindings"),
            layout: &pipelines.bindings,
            entries: &[
                (b::MODEL_DATA, model_data.as_entire_binding()),
                (b::INPUTS, input.as_entire_binding()),
                (b::OUTPUTS, output.as_entire_binding()),
                (b::STEP, step),
                (b::COMPUTE, compute.as_entire_binding()),
                (b::RUN, run.as_entire_binding()),
            ]
            .map(|(binding, resource)| wgpu::BindGroupEntry { binding, resource }),
        });
        let mut encoder = device.create_command_encoder(&Default::default());
        {
            // WebGPU orders the dispatches of a pass: each sees what the ones before it wrote.
            let mut pass = encoder.begin_compute_pass(&Default::default());
            for (i, s) in p.steps().iter().enumerate() {
                let (x, y) =
                    workgroups(samples * s.width() as usize, STEP_WORKGROUP, &inner.limits)?;
                pass.set_pipeline(pipelines.pipeline(s.kernel));
                pass.set_bind_group(0, &group, &[(i as u64 * self.stride) as u32]);
                pass.dispatch_workgroups(x, y, 1);
            }
        }
        encoder.copy_buffer_to_buffer(&output, 0, &staging, 0, 4 * outputs.len().max(1) as u64);
        let values = submit_and_read(inner, scope, encoder, &staging)?;
        outputs.copy_from_slice(&values[..outputs.len()]);
        Ok(())
    }
}
