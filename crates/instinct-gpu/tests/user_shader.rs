//! The example of docs/GPU.md, run as written: a user's compute shader that includes the WGSL
//! library and calls `predict` ten times per invocation, against the same loop on the CPU.

use instinct_cpu::Interpreter;
use instinct_format::{Limits, ModelInfo};
use instinct_gpu::GpuRuntime;
use instinct_gpu::wgpu::{self, util::DeviceExt};
use std::path::PathBuf;

/// The WGSL block after the heading "## Your own shader" of docs/GPU.md.
fn example_shader() -> String {
    let doc = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/GPU.md"),
    )
    .unwrap();
    let section = &doc[doc.find("## Your own shader").expect("the section")..];
    let start = section.find("```wgsl\n").expect("a wgsl block") + "```wgsl\n".len();
    let end = start + section[start..].find("```").unwrap();
    section[start..end].to_string()
}

#[test]
fn the_documented_user_shader_runs_the_model_in_its_own_loop() {
    let gpu = match GpuRuntime::new() {
        Ok(r) => r,
        Err(e) if std::env::var("INSTINCT_REQUIRE_GPU").as_deref() == Ok("1") => {
            panic!("INSTINCT_REQUIRE_GPU=1 but there is no usable adapter: {e}")
        }
        Err(e) => return eprintln!("skipping GPU test: {e}"),
    };
    // (position, velocity) → 8 tanh → force.
    let hidden: Vec<Vec<f32>> = (0..8)
        .map(|r| vec![(r as f32 - 3.5) * 0.3, 0.2 - r as f32 * 0.05])
        .collect();
    let info = ModelInfo::from_json_str(&format!(
        r#"{{"feature_size": 2, "buffer_sizes": [2, 8, 1], "instructions": [
            {{"type": "DOT", "input": 0, "output": 1, "weights": 0, "activation": "TANH"}},
            {{"type": "DOT", "input": 1, "output": 2, "weights": 1}}],
          "weights": [{hidden:?}, [[-0.5, 0.4, -0.3, 0.2, -0.1, 0.3, -0.6, 0.25]]],
          "bias": [[0.1, -0.1, 0.05, 0.0, 0.2, -0.2, 0.1, 0.0], [0.05]]}}"#
    ))
    .unwrap();
    let model = instinct_validate::validate(&info, &Limits::default()).unwrap();
    let blob = instinct_wgsl::GpuModel::from_model(&model).unwrap();

    let library = instinct_wgsl::wgsl_library(blob.compute_buffer_size() as u32);
    let source = example_shader().replace("// INSTINCT_LIBRARY", &library);
    instinct_wgsl::validate_wgsl(&source).unwrap();

    let agents: Vec<f32> = (0..100)
        .flat_map(|a| [a as f32 * 0.05 - 2.5, 0.3 - a as f32 * 0.004])
        .collect();
    let (device, queue) = (gpu.device(), gpu.queue());
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: None,
        source: wgpu::ShaderSource::Wgsl(source.into()),
    });
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: None,
        layout: None,
        module: &module,
        entry_point: Some("main"),
        compilation_options: Default::default(),
        cache: None,
    });
    let model_data = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: None,
        contents: blob.as_bytes(),
        usage: wgpu::BufferUsages::STORAGE,
    });
    let state = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: None,
        contents: bytemuck::cast_slice(&agents),
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
    });
    let bytes = (agents.len() * 4) as u64;
    let readback = device.create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: bytes,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let bindings = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: None,
        layout: &pipeline.get_bind_group_layout(0),
        entries: &[
            wgpu::BindGroupEntry {
                binding: 0,
                resource: model_data.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 1,
                resource: state.as_entire_binding(),
            },
        ],
    });
    let mut encoder = device.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &bindings, &[]);
        pass.dispatch_workgroups((agents.len() as u32 / 2).div_ceil(64), 1, 1);
    }
    encoder.copy_buffer_to_buffer(&state, 0, &readback, 0, bytes);
    queue.submit([encoder.finish()]);
    readback
        .slice(..)
        .map_async(wgpu::MapMode::Read, |r| r.unwrap());
    device.poll(wgpu::PollType::wait_indefinitely()).unwrap();
    let gpu_agents: Vec<f32> =
        bytemuck::cast_slice(&readback.slice(..).get_mapped_range().unwrap()).to_vec();

    let cpu = Interpreter::new(&model);
    for (a, pair) in agents.chunks(2).enumerate() {
        let (mut position, mut velocity) = (pair[0], pair[1]);
        for _ in 0..10 {
            let force = cpu.predict(&[position, velocity]).unwrap()[0];
            velocity += 0.1 * force;
            position += 0.1 * velocity;
        }
        let (gp, gv) = (gpu_agents[2 * a], gpu_agents[2 * a + 1]);
        assert!(
            (gp - position).abs() <= 1e-4 + 1e-4 * position.abs()
                && (gv - velocity).abs() <= 1e-4 + 1e-4 * velocity.abs(),
            "agent {a}: GPU ({gp}, {gv}), CPU ({position}, {velocity})"
        );
    }
}
