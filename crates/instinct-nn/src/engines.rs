//! The engines behind the seam, one [`crate::runner::Runner`] each: the interpreter and the batch
//! engine (`cpu`), the static nets (`cpu`), the many-model engine (`batched`) and the wgpu
//! runtime (`gpu`). A new engine is a new file here and one arm in [`crate::choice::EngineChoice`].

pub(crate) mod batched;
pub(crate) mod cpu;
#[cfg(feature = "gpu")]
pub(crate) mod gpu;
