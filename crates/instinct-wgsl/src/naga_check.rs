//! naga in front of every shader: `validate_wgsl` parses and validates WGSL (errors shown with
//! their line and column), `translate` writes a validated shader as SPIR-V, MSL, HLSL, GLSL or
//! normalised WGSL through naga's back ends.

use crate::error::ShaderError;
use naga::valid::{Capabilities, ModuleInfo, ValidationFlags, Validator};

/// A shader naga parsed and validated.
#[derive(Debug)]
pub struct ValidShader {
    /// The module.
    pub module: naga::Module,
    /// What validation found out about it (types of every expression, uniformity).
    pub info: ModuleInfo,
}

/// Parses and validates WGSL with WebGPU's capabilities.
pub fn validate_wgsl(source: &str) -> Result<ValidShader, ShaderError> {
    let module = naga::front::wgsl::parse_str(source)
        .map_err(|e| ShaderError::Parse(e.emit_to_string(source)))?;
    let info = Validator::new(ValidationFlags::all(), Capabilities::default())
        .validate(&module)
        .map_err(|e| ShaderError::Invalid(e.emit_to_string(source)))?;
    Ok(ValidShader { module, info })
}

/// A language naga can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// WGSL, as naga writes it back.
    Wgsl,
    /// SPIR-V (binary words).
    Spirv,
    /// Metal Shading Language.
    Msl,
    /// HLSL (shader model 5.1).
    Hlsl,
    /// GLSL ES 3.10 compute; needs an entry point.
    Glsl,
}

impl Target {
    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Target::Wgsl => "wgsl",
            Target::Spirv => "spirv",
            Target::Msl => "msl",
            Target::Hlsl => "hlsl",
            Target::Glsl => "glsl",
        }
    }
}

/// A translated shader: text, or SPIR-V words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Translated {
    /// Source text.
    Text(String),
    /// SPIR-V words.
    Spirv(Vec<u32>),
}

impl Translated {
    /// The bytes to write to a file (SPIR-V little-endian).
    pub fn into_bytes(self) -> Vec<u8> {
        match self {
            Translated::Text(s) => s.into_bytes(),
            Translated::Spirv(words) => words.iter().flat_map(|w| w.to_le_bytes()).collect(),
        }
    }
}

/// Writes a validated shader in `target`. GLSL needs the compute entry point `entry_point`.
pub fn translate(
    shader: &ValidShader,
    target: Target,
    entry_point: &str,
) -> Result<Translated, ShaderError> {
    let fail = |message: String| ShaderError::Translate {
        target: target.name(),
        message,
    };
    let (module, info) = (&shader.module, &shader.info);
    match target {
        Target::Wgsl => {
            naga::back::wgsl::write_string(module, info, naga::back::wgsl::WriterFlags::empty())
                .map(Translated::Text)
                .map_err(|e| fail(e.to_string()))
        }
        Target::Spirv => {
            naga::back::spv::write_vec(module, info, &naga::back::spv::Options::default(), None)
                .map(Translated::Spirv)
                .map_err(|e| fail(e.to_string()))
        }
        Target::Msl => naga::back::msl::write_string(
            module,
            info,
            &naga::back::msl::Options::default(),
            &naga::back::msl::PipelineOptions::default(),
        )
        .map(|(s, _)| Translated::Text(s))
        .map_err(|e| fail(e.to_string())),
        Target::Hlsl => {
            let mut out = String::new();
            let options = naga::back::hlsl::Options::default();
            let pipeline = naga::back::hlsl::PipelineOptions::default();
            naga::back::hlsl::Writer::new(&mut out, &options, &pipeline)
                .write(module, info, None)
                .map_err(|e| fail(e.to_string()))?;
            Ok(Translated::Text(out))
        }
        Target::Glsl => {
            let mut out = String::new();
            let options = naga::back::glsl::Options::default();
            let pipeline = naga::back::glsl::PipelineOptions {
                shader_stage: naga::ShaderStage::Compute,
                entry_point: entry_point.to_string(),
                multiview: None,
            };
            naga::back::glsl::Writer::new(
                &mut out,
                module,
                info,
                &options,
                &pipeline,
                naga::proc::BoundsCheckPolicies::default(),
            )
            .and_then(|mut w| w.write().map(|_| ()))
            .map_err(|e| fail(e.to_string()))?;
            Ok(Translated::Text(out))
        }
    }
}
