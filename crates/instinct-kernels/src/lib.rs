//! CPU math on slices. The functions here are the portable scalar versions that define the
//! semantics every faster path must reproduce (within the tolerances the tests name).
//!
//! This crate knows nothing of the model format: callers map their activation names to the
//! functions in [`activation`].

pub mod activation;
mod copy;
pub mod dot;
pub mod fast;
pub mod gemm;
pub mod packed;
pub mod simd;
pub mod small_chain;
#[cfg(test)]
mod test_support;
mod ulp;
pub mod vector;

pub use copy::copy_short;
pub use dot::dot;
pub use gemm::{TileProduct, tile_product, tile_product_reference};
pub use packed::{
    AffineKernel, PackedWeights, packed_affine, packed_affine_at, packed_tile_product,
};
pub use small_chain::SmallChain;
pub use ulp::{float_key, from_float_key, ulp_distance};
