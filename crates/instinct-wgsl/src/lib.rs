//! instinct-wgsl: models on the GPU without a GPU dependency. [`GpuModel`] is a model as one
//! block of words in instmodel's blob layout (plus opcodes for MAP_TRANSFORM and ATTENTION);
//! [`wgsl_library`] is WGSL with instmodel's function names that runs any blob;
//! [`specialized_library`] the same functions with one model structure baked in;
//! [`loop_iterations`] counts what either costs against Mesa's loop budget;
//! [`standalone_shader`] wraps either into a complete compute shader; [`SteppedPlan`] and
//! [`stepped_shader`] run a model of any size as a sequence of small dispatches over a whole
//! batch, inside that budget; [`validate_wgsl`] puts naga in
//! front of every shader and [`translate`] writes SPIR-V, MSL, HLSL or GLSL.
//!
//! ```
//! use instinct_format::{Activation, Limits, ModelInfo};
//! let info = ModelInfo::from_json_str(r#"{"feature_size": 2, "buffer_sizes": [2, 1],
//!   "instructions": [{"type": "DOT", "input": 0, "output": 1, "weights": 0, "activation": "SIGMOID"}],
//!   "weights": [[[0.5, -0.25]]], "bias": [[0.1]]}"#).unwrap();
//! let model = instinct_validate::validate(&info, &Limits::default()).unwrap();
//! let blob = instinct_wgsl::GpuModel::from_model(&model).unwrap();
//! assert_eq!(blob.compute_buffer_size(), 3);
//! let shader = instinct_wgsl::standalone_shader(&instinct_wgsl::wgsl_library(4));
//! instinct_wgsl::validate_wgsl(&shader).unwrap();
//! ```

mod activations;
mod blob;
mod check;
mod dense;
mod error;
mod library;
mod loops;
mod naga_check;
mod specialized;
mod stepped;

pub use blob::{
    GpuInstruction, GpuModel, HEADER_WORDS, INSTRUCTION_WORDS, MAGIC, MAX_COMPUTE_BUFFER,
    ModelPack, NO_BOUND, Opcode, VERSION, activation_code, activation_of_code, header,
    is_segment_code, takes_parameters,
};
pub use dense::{DENSE_TILE, DENSE_WORKGROUP, LayerParams, dense_layer_shader};
pub use error::{BlobError, ShaderError};
pub use library::{WORKGROUP_SIZE, bindings, standalone_shader, wgsl_library};
pub use loops::{LOOP_CAP, Mode, loop_iterations, standalone_loop_iterations};
pub use naga_check::{Target, Translated, ValidShader, translate, validate_wgsl};
pub use specialized::{
    DOT_CHUNK, UNROLL_DOT_INPUTS, UNROLL_DOT_PRODUCTS, UNROLL_ELEMENTS, specialized_library,
};
pub use stepped::{
    FROM_SCRATCH, Kernel, RunParams, STEP_ITERATIONS, STEP_WORKGROUP, Step, StepParams,
    SteppedPlan, TO_SCRATCH, stepped_bindings, stepped_shader,
};
