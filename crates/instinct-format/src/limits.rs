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
    /// Entries of all instruction lists together: the `input` lists of the elementwise-buffer
    /// and buffer-heads instructions and COPY_MASKED `indexes` (each entry is checked, planned
    /// and walked for every sample).
    pub max_operand_elements: usize,
    /// Nesting depth of JSON arrays and objects (a model needs 4; 5 with an extension activation
    /// that has parameters).
    pub max_json_depth: usize,
    /// Size of a model file in bytes. Parsing needs memory of the order of the file size
    /// (up to about 15× for a file made of tiny arrays), so this also bounds parse memory.
    pub max_file_bytes: u64,
    /// Work allowed for checking `validation_data` at load: rows × (memory per sample + weight
    /// elements).
    pub max_validation_cost: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_buffer_elements: 1_000_000,
            max_weight_elements: 10_000_000,
            max_parameter_elements: 10_000_000,
            max_instructions: 100_000,
            max_operand_elements: 1_000_000,
            max_json_depth: 32,
            max_file_bytes: 256 << 20,
            max_validation_cost: 1 << 30,
        }
    }
}
