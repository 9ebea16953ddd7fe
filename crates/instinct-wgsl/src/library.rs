//! The WGSL library mode: functions with instmodel's names and signatures (`predict`,
//! `get_feature_size`, …) that interpret any blob at run time, for shaders written for
//! instmodel; and the standalone compute shader around it.

/// The functions both modes share: activations, the map key, softmax, the dot product and one `execute_*`
/// function per instruction.
pub(crate) fn functions() -> &'static str {
    static FUNCTIONS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "{}\n{}\n{}",
            crate::activations::source(),
            include_str!("map_key.wgsl"),
            include_str!("functions.wgsl")
        )
    });
    &FUNCTIONS
}

/// The library source for compute buffers of `max_compute_buffer` values: `const
/// MAX_COMPUTE_BUFFER`, then every function. The including shader declares
/// `model_data: array<f32>` (storage) and passes a `var compute_buffer: array<f32,
/// MAX_COMPUTE_BUFFER>`; a model runs when its [`crate::blob::GpuModel::compute_buffer_size`] is at
/// most `max_compute_buffer`.
///
/// ```
/// let src = instinct_wgsl::wgsl_library(64);
/// assert!(src.contains("fn predict(model_offset: u32, compute_buffer: ptr<function, array<f32, MAX_COMPUTE_BUFFER>>)"));
/// let shader = format!("@group(0) @binding(0) var<storage, read> model_data: array<f32>;\n{src}");
/// instinct_wgsl::validate_wgsl(&shader).unwrap();
/// ```
pub fn wgsl_library(max_compute_buffer: u32) -> String {
    format!(
        "// instinct WGSL library, compute buffers of {max_compute_buffer} values\n\
         const MAX_COMPUTE_BUFFER: u32 = {max_compute_buffer}u;\n\n{}\n{}",
        functions(),
        include_str!("interpreter.wgsl")
    )
}

/// Bindings of the standalone shader: group 0, these binding numbers.
pub mod bindings {
    /// `model_data: array<f32>`, read-only storage: one blob or a [`crate::blob::ModelPack`].
    pub const MODEL_DATA: u32 = 0;
    /// `inputs: array<f32>`, read-only storage: `feature_size` values per sample.
    pub const INPUTS: u32 = 1;
    /// `outputs: array<f32>`, read-write storage: `output_size` values per sample.
    pub const OUTPUTS: u32 = 2;
    /// `params: RunParams`, uniform: `sample_count`, `model_offset`, two words of padding.
    pub const PARAMS: u32 = 3;
}

/// Invocations per workgroup of the standalone shader.
pub const WORKGROUP_SIZE: u32 = 64;

/// A complete compute shader around `library` (the output of [`wgsl_library`], or any source
/// defining its functions and `MAX_COMPUTE_BUFFER`): the bindings of [`bindings`] and an entry point `main` that
/// runs one sample per invocation (`global_invocation_id.x`): copies its features into a zeroed
/// compute buffer, calls `predict`, writes the output.
pub fn standalone_shader(library: &str) -> String {
    format!(
        "// instinct: one sample per invocation\n\
         struct RunParams {{\n    sample_count: u32,\n    model_offset: u32,\n    pad0: u32,\n    pad1: u32,\n}}\n\
         @group(0) @binding({}) var<storage, read> model_data: array<f32>;\n\
         @group(0) @binding({}) var<storage, read> inputs: array<f32>;\n\
         @group(0) @binding({}) var<storage, read_write> outputs: array<f32>;\n\
         @group(0) @binding({}) var<uniform> params: RunParams;\n\n\
         {library}\n\
         @compute @workgroup_size({WORKGROUP_SIZE})\n\
         fn main(@builtin(global_invocation_id) id: vec3<u32>) {{\n\
         \x20   let sample = id.x;\n\
         \x20   if sample >= params.sample_count {{\n        return;\n    }}\n\
         \x20   var compute_buffer: array<f32, MAX_COMPUTE_BUFFER>;\n\
         \x20   let feature_size = get_feature_size(params.model_offset);\n\
         \x20   for (var i: u32 = 0u; i < feature_size; i = i + 1u) {{\n\
         \x20       compute_buffer[i] = inputs[sample * feature_size + i];\n    }}\n\
         \x20   predict(params.model_offset, &compute_buffer);\n\
         \x20   let output_size = get_output_size(params.model_offset);\n\
         \x20   let output_start = get_output_start(params.model_offset);\n\
         \x20   for (var i: u32 = 0u; i < output_size; i = i + 1u) {{\n\
         \x20       outputs[sample * output_size + i] = compute_buffer[output_start + i];\n    }}\n\
         }}\n",
        bindings::MODEL_DATA,
        bindings::INPUTS,
        bindings::OUTPUTS,
        bindings::PARAMS,
    )
}
