//! CPU math on slices: the activations ([`Activation`], each defined by its scalar function in
//! [`activation`]) and the faster kernels (vectorised activations, dot products, matrix
//! products, the register chain) that must reproduce them within the tolerances their tests name.
//!
//! This crate knows nothing else of the model format, which re-exports [`Activation`] and reads
//! and writes it as JSON through the `serde` feature.

pub mod activation;
mod copy;
pub mod dot;
pub mod fast;
pub mod gemm;
pub mod int8;
pub mod interleaved;
pub mod packed;
pub mod simd;
pub mod small_chain;
pub mod static_dense;
#[cfg(test)]
mod test_support;
mod ulp;
pub mod vector;

pub use activation::Activation;
pub use copy::copy_short;
pub use dot::dot;
pub use gemm::{
    Layout, RowSpan, TileProduct, gemm, matmul_nt, tile_product, tile_product_reference,
};
pub use packed::{
    AffineKernel, PackedWeights, packed_affine, packed_affine_at, packed_layer, packed_tile_layer,
    packed_tile_product,
};
pub use small_chain::SmallChain;
pub use ulp::{float_key, from_float_key, ulp_distance};
