//! Resource limits checked before anything large is allocated.

/// Upper bounds a model must respect. The defaults for buffer and weight elements are those of
/// `instmodel_inference`; the others are ours (the reference has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Total elements over all computation buffers (reference: 1,000,000).
    pub max_buffer_elements: usize,
    /// Total weight and bias elements (reference: 10,000,000).
    pub max_weight_elements: usize,
    /// Total parameter, map and MAP_TRANSFORM default elements.
    pub max_parameter_elements: usize,
    /// Number of instructions.
    pub max_instructions: usize,
    /// Nesting depth of JSON arrays and objects (a model needs 4).
    pub max_json_depth: usize,
    /// Size of a model file in bytes.
    pub max_file_bytes: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_buffer_elements: 1_000_000,
            max_weight_elements: 10_000_000,
            max_parameter_elements: 10_000_000,
            max_instructions: 100_000,
            max_json_depth: 32,
            max_file_bytes: 1 << 30,
        }
    }
}
