//! `instinct wgsl`: writes the GPU shader of a model (a standalone compute shader by default, or
//! just the includable functions), in WGSL or, through naga, SPIR-V, MSL, HLSL or GLSL; every
//! shader is validated by naga before it is written.

use crate::failure::{Failure, Outcome, load_model};
use anyhow::anyhow;
use clap::ValueEnum;
use instinct::wgsl::{
    GpuModel, LOOP_CAP, Mode, Target, specialized_library, standalone_loop_iterations,
    standalone_shader, translate, validate_wgsl, wgsl_library,
};
use std::io::Write;
use std::path::Path;

/// A `--mode` value: how `predict` is written ([`instinct::wgsl::Mode`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModeArg(pub Mode);

impl ValueEnum for ModeArg {
    fn value_variants<'a>() -> &'a [ModeArg] {
        &[ModeArg(Mode::Library), ModeArg(Mode::Specialized)]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        let (name, help) = match self.0 {
            Mode::Library => (
                "library",
                "Functions with instmodel's names that interpret any model's blob at run time",
            ),
            Mode::Specialized => (
                "specialized",
                "The model's structure baked in: constants, straight-line code, small loops unrolled",
            ),
        };
        Some(clap::builder::PossibleValue::new(name).help(help))
    }
}

/// The language written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ShaderTarget {
    /// WGSL.
    Wgsl,
    /// SPIR-V (binary).
    Spirv,
    /// Metal Shading Language.
    Msl,
    /// HLSL.
    Hlsl,
    /// GLSL ES 3.10 compute.
    Glsl,
}

/// What to write.
pub struct Options<'a> {
    /// The model file.
    pub model: &'a Path,
    /// Library or specialised.
    pub mode: ModeArg,
    /// Only the includable functions.
    pub library_only: bool,
    /// The language.
    pub target: ShaderTarget,
    /// The file written; stdout without it.
    pub output: Option<&'a Path>,
}

/// Writes the shader and notes on stderr what one sample costs against Mesa's loop budget.
pub fn run(o: &Options) -> Outcome {
    let model = load_model(o.model)?;
    let blob = GpuModel::from_model(model.valid())
        .map_err(|e| Failure::invalid(anyhow!("{}: {e}", o.model.display())))?;
    let mode = o.mode.0;
    let library = match mode {
        Mode::Library => wgsl_library(blob.compute_buffer_size().max(1) as u32),
        Mode::Specialized => specialized_library(&blob),
    };
    let bug = |e| {
        Failure::invalid(anyhow!(
            "generated shader refused by naga (a bug in instinct, please report it): {e}"
        ))
    };
    let bytes = if o.library_only {
        if o.target != ShaderTarget::Wgsl {
            return Err(Failure::unreadable(anyhow!(
                "--library-only writes WGSL functions to include in your own shader; other targets need the standalone shader (leave out --library-only)"
            )));
        }
        // The functions need the including shader's `model_data`; validate them as included.
        let included =
            format!("@group(0) @binding(0) var<storage, read> model_data: array<f32>;\n{library}");
        validate_wgsl(&included).map_err(bug)?;
        library.into_bytes()
    } else {
        let source = standalone_shader(&library);
        let shader = validate_wgsl(&source).map_err(bug)?;
        let target = match o.target {
            ShaderTarget::Wgsl => None,
            ShaderTarget::Spirv => Some(Target::Spirv),
            ShaderTarget::Msl => Some(Target::Msl),
            ShaderTarget::Hlsl => Some(Target::Hlsl),
            ShaderTarget::Glsl => Some(Target::Glsl),
        };
        match target {
            None => source.into_bytes(),
            Some(t) => translate(&shader, t, "main")
                .map_err(|e| Failure::invalid(anyhow!("{e}")))?
                .into_bytes(),
        }
    };
    let iterations = standalone_loop_iterations(&blob, mode);
    let budget = if iterations <= LOOP_CAP {
        "within"
    } else {
        "OVER: run one sample per invocation, Mesa's software drivers (llvmpipe, lavapipe) would return wrong values; on them run it with `instinct predict --engine gpu` (the stepped engine), or use a hardware GPU"
    };
    let _ = writeln!(
        std::io::stderr(),
        "loop iterations per sample: {iterations} ({budget} the 65,535 of Mesa's software drivers)"
    );
    match o.output {
        Some(path) => instinct::format::write_atomically(path, &bytes).map_err(Failure::unreadable),
        None => {
            let mut out = std::io::stdout().lock();
            match out.write_all(&bytes).and_then(|()| out.flush()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    Err(Failure::unreadable(anyhow!("cannot write to stdout: {e}")))
                }
                _ => Ok(()),
            }
        }
    }
}
