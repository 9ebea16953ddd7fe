//! The layer-by-layer shader: one dense layer over many rows per dispatch (one invocation per
//! row and output), for large batches of DOT chains and for many models of one architecture at
//! once. Its per-invocation loops stay inside Mesa's loop budget for any layer the format allows.

/// Invocations per workgroup of [`dense_layer_shader`].
pub const DENSE_WORKGROUP: u32 = 64;

/// The `LayerParams` uniform of [`dense_layer_shader`], word for word.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct LayerParams {
    /// Rows of `x` and `y`.
    pub rows: u32,
    /// Values per row of `x`.
    pub inputs: u32,
    /// Values per row of `y`.
    pub outputs: u32,
    /// Activation code ([`crate::blob::activation_code`]); softmax is applied by the second entry
    /// point, `softmax_rows`.
    pub activation: u32,
    /// Rows of one model (row `r` uses model `r / rows_per_model`); 0: one model for all rows.
    pub rows_per_model: u32,
    /// Where the layer's weights `[model][out][in]` start in the `weights` buffer.
    pub weights_at: u32,
    /// Where its biases `[model][out]` start.
    pub bias_at: u32,
    /// Padding to 32 bytes.
    pub pad: u32,
}

/// Rows and outputs of one workgroup of the tiled entry point.
pub const DENSE_TILE: u32 = 16;

/// The shader: bindings 0 `model_data` (the weights), 1 `values` (rows × inputs), 2 `y` (rows ×
/// outputs), 3
/// [`LayerParams`]; entry points `dense` (one invocation per row and output, a 2-D dispatch
/// counted x-major when one dimension is not enough; any number of models), `dense_tiled` (one
/// model: workgroups of [`DENSE_TILE`]² invocations each computing a tile of rows × outputs
/// from slices staged in workgroup memory; dispatch `(outputs / 16, rows / 16)` rounded up) and
/// `softmax_rows` (one invocation per row).
///
/// ```
/// instinct_wgsl::validate_wgsl(&instinct_wgsl::dense_layer_shader()).unwrap();
/// ```
pub fn dense_layer_shader() -> String {
    format!(
        "const WORKGROUP: u32 = {DENSE_WORKGROUP}u;\n\n{}\n{}\n{}",
        crate::activations::source(),
        include_str!("storage_dot.wgsl"),
        include_str!("dense.wgsl")
    )
}
