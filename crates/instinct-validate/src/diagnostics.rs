//! `Diagnostic`, `DiagnosticKind` and `Diagnostics`: what validation reports, as data.

use serde::Serialize;

/// One problem in a model: what is wrong (`kind`) and where (`path`, a JSON path such as
/// `instructions[3].weights` or `weights[2][0]`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnostic {
    /// JSON path of the offending value; `""` for the document itself.
    pub path: String,
    /// What is wrong, with the shapes involved.
    #[serde(flatten)]
    pub kind: DiagnosticKind,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.kind)
        } else {
            write!(f, "{}: {}", self.path, self.kind)
        }
    }
}

/// Every problem found in a model, grouped by rule (features, buffers, counts, values,
/// instructions in order, usage, dataflow). Never empty when returned as an error.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// The problems.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }

    /// Number of problems.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is no problem (never true for a returned error).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.0.len();
        write!(f, "{n} problem{}", if n == 1 { "" } else { "s" })?;
        for d in &self.0 {
            write!(f, "\n  {d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

/// What is wrong. Messages are lowercase and name the shapes involved; the location is in
/// [`Diagnostic::path`].
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DiagnosticKind {
    /// Neither `features` nor `feature_size` is present.
    #[error("the model declares neither `features` nor `feature_size`")]
    MissingFeatures,
    /// `features` is an empty list.
    #[error("`features` is empty")]
    EmptyFeatures,
    /// A feature name is not `name` or `name[N]` with N > 0.
    #[error("invalid feature name {name:?}: {reason}")]
    InvalidFeatureName {
        /// The name as written.
        name: String,
        /// The rule it breaks.
        reason: String,
    },
    /// `feature_size` disagrees with the width of `features`.
    #[error("feature_size is {declared} but the features add up to {computed}")]
    FeatureSizeMismatch {
        /// `feature_size` as written.
        declared: usize,
        /// Sum of the feature widths.
        computed: usize,
    },
    /// The input does not fill whole buffers: the feature size is no prefix sum of `buffer_sizes`.
    #[error(
        "the {feature_size} input values do not fill whole buffers (buffer ends: {prefix_sums:?})"
    )]
    FeatureSizeNotBufferPrefix {
        /// The model's feature size.
        feature_size: usize,
        /// Running sums of `buffer_sizes` up to the first that passes the feature size.
        prefix_sums: Vec<usize>,
    },
    /// `buffer_sizes` is empty.
    #[error("`buffer_sizes` is empty")]
    NoBuffers,
    /// A buffer has size 0.
    #[error("buffer {buffer} has size 0")]
    ZeroBufferSize {
        /// Buffer index.
        buffer: usize,
    },
    /// The instructions' lists (n-ary and HEADS `input`, COPY_MASKED `indexes`) hold more
    /// entries than the limit.
    #[error(
        "the instructions' input and index lists hold {total} entries, more than the limit of {max}"
    )]
    TooManyOperandElements {
        /// Entries of all lists (saturating).
        total: usize,
        /// `Limits::max_operand_elements`.
        max: usize,
    },
    /// The buffers hold more elements than the limit.
    #[error("the buffers hold {total} elements, more than the limit of {max}")]
    TooManyBufferElements {
        /// Sum of `buffer_sizes` (saturating).
        total: usize,
        /// `Limits::max_buffer_elements`.
        max: usize,
    },
    /// `instructions` is empty.
    #[error("`instructions` is empty")]
    NoInstructions,
    /// More instructions than the limit.
    #[error("{count} instructions, more than the limit of {max}")]
    TooManyInstructions {
        /// Number of instructions.
        count: usize,
        /// `Limits::max_instructions`.
        max: usize,
    },
    /// `weights` and `bias` have different numbers of slots.
    #[error("{weights} weight slots but {bias} bias vectors")]
    SlotCountMismatch {
        /// `weights.len()`.
        weights: usize,
        /// `bias.len()`.
        bias: usize,
    },
    /// More weight slots than instructions (a reference rule).
    #[error("{slots} weight slots for only {instructions} instructions")]
    MoreSlotsThanInstructions {
        /// `bias.len()`.
        slots: usize,
        /// `instructions.len()`.
        instructions: usize,
    },
    /// A bias vector's length differs from its weight slot's row count.
    #[error("bias {slot} has {bias_len} values but weight slot {slot} has {rows} rows")]
    BiasRowsMismatch {
        /// Slot index.
        slot: usize,
        /// `bias[slot].len()`.
        bias_len: usize,
        /// `weights[slot].len()`.
        rows: usize,
    },
    /// Weights and biases hold more elements than the limit.
    #[error("weights and biases hold {total} elements, more than the limit of {max}")]
    TooManyWeightElements {
        /// Total elements (saturating).
        total: usize,
        /// `Limits::max_weight_elements`.
        max: usize,
    },
    /// Parameters, maps and MAP_TRANSFORM defaults hold more elements than the limit.
    #[error("parameters and maps hold {total} elements, more than the limit of {max}")]
    TooManyParameterElements {
        /// Total elements (saturating).
        total: usize,
        /// `Limits::max_parameter_elements`.
        max: usize,
    },
    /// A weight, bias, parameter, map or validation value is NaN or infinite.
    #[error("{value} is not a finite number{}", more_suffix(.more))]
    NonFinite {
        /// The first non-finite value, as text (`NaN`, `inf`).
        value: String,
        /// How many more non-finite values the same array holds.
        more: usize,
    },
    /// A buffer index is past the end of `buffer_sizes`.
    #[error("buffer {buffer} does not exist (the model has {buffers} buffers)")]
    BufferOutOfRange {
        /// The index used.
        buffer: usize,
        /// `buffer_sizes.len()`.
        buffers: usize,
    },
    /// A DOT reads and writes the same buffer.
    #[error("DOT reads and writes buffer {buffer}")]
    DotInPlace {
        /// The buffer.
        buffer: usize,
    },
    /// A DOT or ATTENTION operand is the empty buffer 0 (the reference panics on it).
    #[error("buffer {buffer} is empty, so this matrix product has no shape")]
    EmptyOperand {
        /// The buffer.
        buffer: usize,
    },
    /// An instruction's output overlaps an input it is still reading, so the result would
    /// depend on evaluation order (the reference computes garbage there).
    #[error("{instruction} writes buffer {buffer} while still reading it as {role}")]
    AliasedOutput {
        /// Instruction type.
        instruction: String,
        /// The buffer.
        buffer: usize,
        /// Which operand (`key`, `input`, `heads`).
        role: String,
    },
    /// A weight slot index is past the end of `weights`.
    #[error("weight slot {slot} does not exist (the model has {slots})")]
    WeightSlotOutOfRange {
        /// The index used.
        slot: usize,
        /// `weights.len()`.
        slots: usize,
    },
    /// A weight slot's row count differs from what the instruction needs.
    #[error(
        "weight slot {slot} has {rows} rows but instruction {instruction} needs {expected} (its output size)"
    )]
    WeightRowsMismatch {
        /// Slot index.
        slot: usize,
        /// Rows present.
        rows: usize,
        /// Rows needed.
        expected: usize,
        /// The instruction that uses the slot.
        instruction: usize,
    },
    /// A weight row's length differs from the instruction's input size.
    #[error("weight row has {columns} values but instruction {instruction} reads {expected} (buffer {buffer}){}", more_suffix(.more))]
    WeightColumnsMismatch {
        /// Values in the row.
        columns: usize,
        /// Values needed.
        expected: usize,
        /// The buffer whose size sets `expected`.
        buffer: usize,
        /// The instruction that uses the slot.
        instruction: usize,
        /// How many more rows of the slot are wrong too.
        more: usize,
    },
    /// A bias vector's length differs from the instruction's output size.
    #[error("bias {slot} has {len} values but instruction {instruction} writes {expected}")]
    BiasLengthMismatch {
        /// Slot index.
        slot: usize,
        /// Values present.
        len: usize,
        /// Output size.
        expected: usize,
        /// The instruction that uses the slot.
        instruction: usize,
    },
    /// Two buffers that must have the same size do not.
    #[error(
        "{instruction} needs buffer {buffer} to have {expected} values like its output, but it has {actual}"
    )]
    BufferSizeMismatch {
        /// Instruction type.
        instruction: String,
        /// The buffer of the wrong size.
        buffer: usize,
        /// Its size.
        actual: usize,
        /// The size needed.
        expected: usize,
    },
    /// A parameter vector index is past the end of `parameters`.
    #[error("parameter vector {index} does not exist (the model has {count})")]
    ParameterOutOfRange {
        /// The index used.
        index: usize,
        /// Number of parameter vectors.
        count: usize,
    },
    /// A parameter vector's length differs from the buffer it applies to.
    #[error(
        "parameter vector {index} has {len} values but instruction {instruction} applies it to buffer {buffer} of {expected}"
    )]
    ParameterLengthMismatch {
        /// Parameter index.
        index: usize,
        /// Values present.
        len: usize,
        /// Buffer size.
        expected: usize,
        /// The buffer.
        buffer: usize,
        /// The instruction.
        instruction: usize,
    },
    /// A map index is past the end of `maps`.
    #[error("map {index} does not exist (the model has {count})")]
    MapOutOfRange {
        /// The index used.
        index: usize,
        /// Number of maps.
        count: usize,
    },
    /// A map key is not an integer in the i32 range.
    #[error("map key {key:?} is not an integer in the 32-bit range")]
    MapKeyNotInteger {
        /// The key as written.
        key: String,
    },
    /// Two keys of one map denote the same integer.
    #[error("map key {key:?} repeats key {first:?} (both are {value})")]
    DuplicateMapKey {
        /// The later key as written.
        key: String,
        /// The earlier key as written.
        first: String,
        /// The integer both denote.
        value: i32,
    },
    /// A MAP_TRANSFORM `default` has another length than the instruction's `size`.
    #[error("the default has {len} values, instruction {instruction} writes {size}")]
    MapDefaultLength {
        /// Values in `default`.
        len: usize,
        /// The instruction's `size`.
        size: usize,
        /// The instruction.
        instruction: usize,
    },
    /// A MAP_TRANSFORM map value is shorter than the instruction's `size`.
    #[error("{len} values, fewer than the {size} that instruction {instruction} writes")]
    MapValueTooShort {
        /// Values present.
        len: usize,
        /// The instruction's `size`.
        size: usize,
        /// The instruction.
        instruction: usize,
    },
    /// A write or read through an offset runs past the end of a buffer.
    #[error("{what} spans {start}..{end} but buffer {buffer} has {size} values")]
    OutOfBounds {
        /// What runs out (`copy destination`, `gathered index`, `map key position`, ...).
        what: String,
        /// First position touched.
        start: usize,
        /// One past the last position touched (saturating).
        end: usize,
        /// The buffer.
        buffer: usize,
        /// Its size.
        size: usize,
    },
    /// An n-ary instruction has too few or too many inputs.
    #[error("{instruction} takes {expected} inputs, got {count}")]
    InputCount {
        /// Instruction type.
        instruction: String,
        /// Inputs given.
        count: usize,
        /// What it takes (`2`, `at least 2`).
        expected: String,
    },
    /// The heads buffer's size does not divide the data buffer's.
    #[error("heads buffer of {heads} values does not divide the data buffer of {data}")]
    HeadsNotDivisible {
        /// Data size.
        data: usize,
        /// Heads size.
        heads: usize,
    },
    /// A weight slot no instruction uses (a reference rule).
    #[error("weight slot {slot} is never used")]
    UnusedWeights {
        /// Slot index.
        slot: usize,
    },
    /// A parameter vector no instruction uses (a reference rule).
    #[error("parameter vector {index} is never used")]
    UnusedParameters {
        /// Parameter index.
        index: usize,
    },
    /// A map no instruction uses (a reference rule).
    #[error("map {index} is never used")]
    UnusedMap {
        /// Map index.
        index: usize,
    },
    /// An instruction's result is overwritten before anything reads it (a reference rule).
    #[error(
        "the result written to buffer {buffer} is overwritten by instruction {overwritten_by} before anything reads it"
    )]
    UnusedComputation {
        /// The buffer.
        buffer: usize,
        /// The instruction that overwrites it.
        overwritten_by: usize,
    },
    /// An instruction reads elements that neither the input nor an earlier instruction has
    /// written (the reference would read whatever the caller's memory held).
    #[error(
        "instruction {instruction} reads elements {start}..{end} of buffer {buffer}, which neither the input nor an earlier instruction writes"
    )]
    ReadBeforeWrite {
        /// The buffer.
        buffer: usize,
        /// First element not written.
        start: usize,
        /// End (exclusive) of the first unwritten range.
        end: usize,
        /// The reading instruction.
        instruction: usize,
    },
    /// Elements of the output (last) buffer are never written.
    #[error("elements {start}..{end} of the output buffer {buffer} are never written")]
    OutputNeverWritten {
        /// The last buffer's index.
        buffer: usize,
        /// First element never written.
        start: usize,
        /// End (exclusive) of the first unwritten range.
        end: usize,
    },
    /// `output_names` or `labels` does not have one entry per output value.
    #[error("`{field}` has {len} entries but the model has {expected} output values")]
    OutputNamingLength {
        /// `output_names` or `labels`.
        field: String,
        /// Entries given.
        len: usize,
        /// The output buffer's size.
        expected: usize,
    },
    /// An output name is empty.
    #[error("output name {index} is empty")]
    EmptyOutputName {
        /// Its position.
        index: usize,
    },
    /// Two outputs have the same name or the same class label.
    #[error("`{field}` holds {value} twice (at {first} and {second})")]
    DuplicateOutputName {
        /// `output_names` or `labels`.
        field: String,
        /// The repeated name or label.
        value: String,
        /// Where it first appears.
        first: usize,
        /// Where it appears again.
        second: usize,
    },
    /// `validation_data` has different numbers of input and output rows.
    #[error("validation_data has {inputs} input rows but {outputs} expected output rows")]
    ValidationRowCountMismatch {
        /// Input rows.
        inputs: usize,
        /// Output rows.
        outputs: usize,
    },
    /// A validation row has the wrong number of values.
    #[error("validation row has {len} values, expected {expected}")]
    ValidationRowLength {
        /// Values present.
        len: usize,
        /// Values expected.
        expected: usize,
    },
    /// Checking `validation_data` would take more than `Limits::max_validation_cost` work.
    #[error(
        "{rows} validation rows would cost {cost} value updates to check, more than the limit of {max}"
    )]
    ValidationTooCostly {
        /// Number of rows.
        rows: usize,
        /// Rows × (memory per sample + weight elements), saturating.
        cost: usize,
        /// `Limits::max_validation_cost`.
        max: usize,
    },
    /// `quantization.scheme` is not one this version runs.
    #[error("quantization scheme {scheme:?} is not known (this version runs \"int8\")")]
    UnknownQuantizationScheme {
        /// The scheme as written.
        scheme: String,
    },
    /// A quantised slot names a weight slot that does not exist.
    #[error("quantized slot {slot} does not exist (the model has {slots} weight slots)")]
    QuantizedSlotOutOfRange {
        /// The slot as written.
        slot: usize,
        /// Number of weight slots.
        slots: usize,
    },
    /// A weight slot is quantised twice.
    #[error("weight slot {slot} is quantized more than once")]
    QuantizedSlotRepeated {
        /// The slot.
        slot: usize,
    },
    /// A quantised slot's entry in `weights` is not `[]`.
    #[error(
        "weight slot {slot} is quantized, so its `weights` entry must be [] (it has {rows} rows)"
    )]
    QuantizedSlotHasWeights {
        /// The slot.
        slot: usize,
        /// Rows found in `weights`.
        rows: usize,
    },
    /// A quantised slot's values or scales disagree with its shape.
    #[error("quantized slot {slot} has {actual} {what} but {outputs} × {inputs} needs {expected}")]
    QuantizedShapeMismatch {
        /// The slot.
        slot: usize,
        /// `values` or `scales`.
        what: String,
        /// Count found.
        actual: usize,
        /// Count needed.
        expected: usize,
        /// Declared outputs.
        outputs: usize,
        /// Declared inputs.
        inputs: usize,
    },
    /// A scale is not a finite positive number.
    #[error(
        "{value} is not a usable scale (it must be finite and positive, an input scale with a finite reciprocal)"
    )]
    InvalidQuantizationScale {
        /// The value.
        value: f32,
    },
    /// A slot's input range does not match the activation mode.
    #[error("{mode} quantization {}", if *.mode == "static" { "needs input_scale and input_zero_point on every slot" } else { "takes no input_scale or input_zero_point" })]
    InputRangeMismatch {
        /// `static` or `dynamic`.
        mode: String,
    },
    /// A quantised layer reads more inputs than exact `i32` sums allow.
    #[error(
        "quantized slot {slot} reads {inputs} inputs, more than the {max} whose int8 sums stay exact"
    )]
    QuantizedLayerTooWide {
        /// The slot.
        slot: usize,
        /// Its inputs.
        inputs: usize,
        /// The largest allowed.
        max: usize,
    },
    /// An instruction other than DOT uses a quantised slot.
    #[error(
        "instruction {instruction} ({instruction_type}) uses quantized slot {slot}; only DOT runs int8 weights"
    )]
    QuantizedSlotNotDot {
        /// The slot.
        slot: usize,
        /// The instruction.
        instruction: usize,
        /// Its type.
        instruction_type: String,
    },
    /// More problems of one kind than are listed one by one.
    #[error("{count} more problems of kind {of}")]
    MoreProblems {
        /// The kind, as serialized (`weight_columns_mismatch`).
        of: String,
        /// How many were not listed.
        count: usize,
    },
    /// The model does not reproduce a validation row within tolerance (NaN never matches).
    #[error(
        "validation row {row}: output {index} is {computed}, expected {expected} (tolerance {tolerance})"
    )]
    ValidationMismatch {
        /// Row index.
        row: usize,
        /// Output position.
        index: usize,
        /// Expected value.
        expected: f32,
        /// Computed value.
        computed: f32,
        /// Absolute tolerance.
        tolerance: f32,
    },
}

impl DiagnosticKind {
    /// The kind's name as serialized (`weight_rows_mismatch`).
    pub fn name(&self) -> String {
        // The variant name is what `Debug` prints before its fields.
        let debug = format!("{self:?}");
        let variant = debug.split([' ', '{', '(']).next().unwrap_or_default();
        let mut name = String::new();
        for (i, c) in variant.chars().enumerate() {
            if c.is_ascii_uppercase() {
                if i > 0 {
                    name.push('_');
                }
                name.push(c.to_ascii_lowercase());
            } else {
                name.push(c);
            }
        }
        name
    }
}

fn more_suffix(more: &usize) -> String {
    match *more {
        0 => String::new(),
        n => format!(" ({n} more like it)"),
    }
}
