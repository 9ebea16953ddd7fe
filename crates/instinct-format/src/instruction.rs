//! The fourteen instruction types, internally tagged by `"type"` in JSON.

use instinct_kernels::Activation;
use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

/// One step of a model. Buffer fields (`input`, `output`, `key`) are indices into `buffer_sizes`;
/// `weights` indexes the `weights`/`bias` slots, `parameters*` the `parameters` vectors and `map`
/// the `maps` list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
// Read through `Fields`, a plain struct serde streams: the derive of an internally tagged enum
// buffers each object into serde's `Content` first (32 bytes per list entry, then the typed
// copy), 16-20x the file for an instruction made of a long `input` or `indexes` list.
#[serde(tag = "type", try_from = "Fields")]
pub enum Instruction {
    /// `out[r] = Σ_c W[r][c]·in[c] + bias[r]`, then the optional activation over the whole output.
    #[serde(rename = "DOT")]
    Dot {
        /// Buffer read.
        input: usize,
        /// Buffer written (whole).
        output: usize,
        /// Weight and bias slot.
        weights: usize,
        /// Activation applied after the affine map; `null` or absent means none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        activation: Option<Activation>,
    },
    /// `out[internal_index + i] = in[i]` for every element of `input`.
    #[serde(rename = "COPY")]
    Copy {
        /// Buffer read (whole).
        input: usize,
        /// Buffer written (partially).
        output: usize,
        /// Offset inside `output` where the copy starts.
        internal_index: usize,
    },
    /// `out[i] = in[indexes[i]]`; duplicates allowed.
    #[serde(rename = "COPY_MASKED")]
    CopyMasked {
        /// Buffer read.
        input: usize,
        /// Buffer written (its first `indexes.len()` elements).
        output: usize,
        /// Positions inside `input` to gather.
        indexes: Vec<usize>,
    },
    /// The activation over the whole buffer, in place.
    #[serde(rename = "ACTIVATION")]
    Activation {
        /// Buffer read and written.
        input: usize,
        /// Activation to apply.
        activation: Activation,
    },
    /// `x[i] += p[i]`, in place.
    #[serde(rename = "ADD_ELEMENTWISE")]
    AddElementwise {
        /// Buffer read and written.
        input: usize,
        /// Index of the parameter vector.
        parameters: usize,
    },
    /// `x[i] *= p[i]`, in place.
    #[serde(rename = "MUL_ELEMENTWISE")]
    MulElementwise {
        /// Buffer read and written.
        input: usize,
        /// Index of the parameter vector.
        parameters: usize,
    },
    /// `x = min(max(x, lo[i]), hi[i])` in place; either bound may be absent.
    #[serde(rename = "CLIP_ELEMENTWISE")]
    ClipElementwise {
        /// Buffer read and written.
        input: usize,
        /// Index of the lower-bound parameter vector.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parameters_min: Option<usize>,
        /// Index of the upper-bound parameter vector.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parameters_max: Option<usize>,
    },
    /// Looks `round(in[internal_input_index])` up in a map and writes the vector found (or
    /// `default`) to `out[internal_output_index..][..size]`.
    #[serde(rename = "MAP_TRANSFORM")]
    MapTransform {
        /// Buffer holding the key.
        input: usize,
        /// Buffer written (partially).
        output: usize,
        /// Position of the key inside `input`.
        internal_input_index: usize,
        /// Offset inside `output` where the vector goes.
        internal_output_index: usize,
        /// Index into `maps`.
        map: usize,
        /// Number of values written.
        size: usize,
        /// Values written when the key is not in the map.
        default: Vec<f32>,
    },
    /// `out[i] = in0[i] + in1[i] + …` (left fold).
    #[serde(rename = "ADD_ELEMENTWISE_BUFFERS")]
    AddElementwiseBuffers {
        /// Buffers read (at least two).
        input: Vec<usize>,
        /// Buffer written (whole).
        output: usize,
    },
    /// `out[i] = in0[i] · in1[i] · …` (left fold).
    #[serde(rename = "MULTIPLY_ELEMENTWISE_BUFFERS")]
    MultiplyElementwiseBuffers {
        /// Buffers read (at least two).
        input: Vec<usize>,
        /// Buffer written (whole).
        output: usize,
    },
    /// `out[h·d + j] = data[h·d + j] · heads[h]` with `d = sz(data) / sz(heads)`.
    #[serde(rename = "MULTIPLY_BUFFER_HEADS")]
    MultiplyBufferHeads {
        /// `[data, heads]`.
        input: Vec<usize>,
        /// Buffer written (whole).
        output: usize,
    },
    /// `out[h·d + j] = data[h·d + j] + heads[h]` with `d = sz(data) / sz(heads)`.
    #[serde(rename = "ADD_BUFFER_HEADS")]
    AddBufferHeads {
        /// `[data, heads]`.
        input: Vec<usize>,
        /// Buffer written (whole).
        output: usize,
    },
    /// `out[0] = Σ in`; only element 0 of the output is written.
    #[serde(rename = "REDUCE_SUM")]
    ReduceSum {
        /// Buffer summed.
        input: usize,
        /// Buffer whose element 0 receives the sum.
        output: usize,
    },
    /// `out = softmax(W·key + b) ⊙ input`.
    #[serde(rename = "ATTENTION")]
    Attention {
        /// Query/value buffer; same size as `output`.
        input: usize,
        /// Key buffer, the input of the linear map.
        key: usize,
        /// Buffer written (whole).
        output: usize,
        /// Weight and bias slot, `[sz(output)][sz(key)]`.
        weights: usize,
    },
}

/// The JSON field of an instruction that names a buffer it reads; its `Display` is the field's
/// path (`input`, `input[1]`, `key`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadField {
    /// `input`, a single buffer index.
    Input,
    /// `input[i]`, one entry of an input list.
    InputAt(usize),
    /// `key` (ATTENTION).
    Key,
}

impl std::fmt::Display for ReadField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadField::Input => f.write_str("input"),
            ReadField::InputAt(i) => write!(f, "input[{i}]"),
            ReadField::Key => f.write_str("key"),
        }
    }
}

/// How an instruction writes its output buffer; this drives the dataflow checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteKind {
    /// Every element of the output buffer is overwritten.
    Full,
    /// Only part of the output buffer may be written (COPY, COPY_MASKED, MAP_TRANSFORM). REDUCE_SUM
    /// writes only element 0 but counts as a full write, as in the reference.
    Partial,
    /// The buffer is read and then written in place.
    InPlace,
}

impl Instruction {
    /// Every JSON `"type"` name, in the order of the variants.
    pub const TYPE_NAMES: [&'static str; 14] = [
        "DOT",
        "COPY",
        "COPY_MASKED",
        "ACTIVATION",
        "ADD_ELEMENTWISE",
        "MUL_ELEMENTWISE",
        "CLIP_ELEMENTWISE",
        "MAP_TRANSFORM",
        "ADD_ELEMENTWISE_BUFFERS",
        "MULTIPLY_ELEMENTWISE_BUFFERS",
        "MULTIPLY_BUFFER_HEADS",
        "ADD_BUFFER_HEADS",
        "REDUCE_SUM",
        "ATTENTION",
    ];

    /// The JSON `"type"` name (`"DOT"`).
    pub fn type_name(&self) -> &'static str {
        match self {
            Instruction::Dot { .. } => "DOT",
            Instruction::Copy { .. } => "COPY",
            Instruction::CopyMasked { .. } => "COPY_MASKED",
            Instruction::Activation { .. } => "ACTIVATION",
            Instruction::AddElementwise { .. } => "ADD_ELEMENTWISE",
            Instruction::MulElementwise { .. } => "MUL_ELEMENTWISE",
            Instruction::ClipElementwise { .. } => "CLIP_ELEMENTWISE",
            Instruction::MapTransform { .. } => "MAP_TRANSFORM",
            Instruction::AddElementwiseBuffers { .. } => "ADD_ELEMENTWISE_BUFFERS",
            Instruction::MultiplyElementwiseBuffers { .. } => "MULTIPLY_ELEMENTWISE_BUFFERS",
            Instruction::MultiplyBufferHeads { .. } => "MULTIPLY_BUFFER_HEADS",
            Instruction::AddBufferHeads { .. } => "ADD_BUFFER_HEADS",
            Instruction::ReduceSum { .. } => "REDUCE_SUM",
            Instruction::Attention { .. } => "ATTENTION",
        }
    }

    /// [`Instruction::reads`] without the vector: an `input` list may have millions of entries,
    /// and every pass over the instructions (validation, dataflow, the CPU plan) walks them.
    pub fn reads_iter(&self) -> impl Iterator<Item = (ReadField, usize)> + '_ {
        let (one, key, list): (Option<usize>, Option<usize>, &[usize]) = match self {
            Instruction::Dot { input, .. }
            | Instruction::Copy { input, .. }
            | Instruction::CopyMasked { input, .. }
            | Instruction::Activation { input, .. }
            | Instruction::AddElementwise { input, .. }
            | Instruction::MulElementwise { input, .. }
            | Instruction::ClipElementwise { input, .. }
            | Instruction::MapTransform { input, .. }
            | Instruction::ReduceSum { input, .. } => (Some(*input), None, &[][..]),
            Instruction::AddElementwiseBuffers { input, .. }
            | Instruction::MultiplyElementwiseBuffers { input, .. }
            | Instruction::MultiplyBufferHeads { input, .. }
            | Instruction::AddBufferHeads { input, .. } => (None, None, input.as_slice()),
            Instruction::Attention { input, key, .. } => (Some(*input), Some(*key), &[][..]),
        };
        one.map(|b| (ReadField::Input, b))
            .into_iter()
            .chain(key.map(|b| (ReadField::Key, b)))
            .chain(
                list.iter()
                    .enumerate()
                    .map(|(i, &b)| (ReadField::InputAt(i), b)),
            )
    }

    /// Every buffer index this instruction reads, with the JSON field that names it
    /// (`(ReadField::Input, 2)`, `(ReadField::InputAt(1), 5)`, `(ReadField::Key, 0)`). In-place
    /// instructions read their input.
    pub fn reads(&self) -> Vec<(ReadField, usize)> {
        self.reads_iter().collect()
    }

    /// The buffer this instruction writes and the JSON field naming it (`"output"`, or `"input"`
    /// for in-place instructions).
    pub fn writes(&self) -> (&'static str, usize) {
        match self {
            Instruction::Activation { input, .. }
            | Instruction::AddElementwise { input, .. }
            | Instruction::MulElementwise { input, .. }
            | Instruction::ClipElementwise { input, .. } => ("input", *input),
            Instruction::Dot { output, .. }
            | Instruction::Copy { output, .. }
            | Instruction::CopyMasked { output, .. }
            | Instruction::MapTransform { output, .. }
            | Instruction::AddElementwiseBuffers { output, .. }
            | Instruction::MultiplyElementwiseBuffers { output, .. }
            | Instruction::MultiplyBufferHeads { output, .. }
            | Instruction::AddBufferHeads { output, .. }
            | Instruction::ReduceSum { output, .. }
            | Instruction::Attention { output, .. } => ("output", *output),
        }
    }

    /// How the output buffer is written.
    pub fn write_kind(&self) -> WriteKind {
        match self {
            Instruction::Copy { .. }
            | Instruction::CopyMasked { .. }
            | Instruction::MapTransform { .. } => WriteKind::Partial,
            Instruction::Activation { .. }
            | Instruction::AddElementwise { .. }
            | Instruction::MulElementwise { .. }
            | Instruction::ClipElementwise { .. } => WriteKind::InPlace,
            _ => WriteKind::Full,
        }
    }

    /// The weight slot this instruction uses (DOT and ATTENTION).
    pub fn weight_slot(&self) -> Option<usize> {
        match self {
            Instruction::Dot { weights, .. } | Instruction::Attention { weights, .. } => {
                Some(*weights)
            }
            _ => None,
        }
    }

    /// The parameter vectors this instruction uses, with the JSON field naming each.
    pub fn parameter_refs(&self) -> Vec<(&'static str, usize)> {
        match self {
            Instruction::AddElementwise { parameters, .. }
            | Instruction::MulElementwise { parameters, .. } => vec![("parameters", *parameters)],
            Instruction::ClipElementwise {
                parameters_min,
                parameters_max,
                ..
            } => parameters_min
                .map(|p| ("parameters_min", p))
                .into_iter()
                .chain(parameters_max.map(|p| ("parameters_max", p)))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The activation applied by this instruction, if any.
    pub fn activation(&self) -> Option<Activation> {
        match self {
            Instruction::Dot { activation, .. } => *activation,
            Instruction::Activation { activation, .. } => Some(*activation),
            _ => None,
        }
    }
}

/// An instruction object as read: every field any instruction has, each optional, read in one
/// pass whatever the key order (`type` may come last). Unknown keys are ignored, as before; a
/// known key of the wrong type is an error even for a type that does not use it (the one
/// difference from the derive, which ignored such a key).
#[derive(Deserialize)]
struct Fields {
    #[serde(rename = "type")]
    kind: String,
    input: Option<Operand>,
    output: Option<usize>,
    key: Option<usize>,
    weights: Option<usize>,
    #[serde(default, deserialize_with = "present")]
    activation: Option<Option<Activation>>,
    internal_index: Option<usize>,
    indexes: Option<Vec<usize>>,
    parameters: Option<usize>,
    parameters_min: Option<usize>,
    parameters_max: Option<usize>,
    internal_input_index: Option<usize>,
    internal_output_index: Option<usize>,
    map: Option<usize>,
    size: Option<usize>,
    default: Option<Vec<f32>>,
}

/// `Some(value)` for a key that is present (`Some(None)` for `null`), `None` when absent.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<Activation>>, D::Error> {
    Option::<Activation>::deserialize(d).map(Some)
}

/// `input`: one buffer index, or a list of them (the elementwise-buffer instructions), read
/// straight into its vector.
enum Operand {
    One(usize),
    List(Vec<usize>),
}

impl<'de> Deserialize<'de> for Operand {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Operand, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Operand;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a buffer index or a list of buffer indices")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Operand, E> {
                usize::try_from(v)
                    .map(Operand::One)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Operand, A::Error> {
                let mut list = Vec::new();
                while let Some(b) = seq.next_element::<usize>()? {
                    list.push(b);
                }
                Ok(Operand::List(list))
            }
        }
        d.deserialize_any(V)
    }
}

impl TryFrom<Fields> for Instruction {
    type Error = String;

    fn try_from(f: Fields) -> Result<Instruction, String> {
        use serde::de::Error as _;
        type E = serde::de::value::Error;
        let need = |v: Option<usize>, name: &'static str| {
            v.ok_or_else(|| E::missing_field(name).to_string())
        };
        let one = |v: Option<Operand>| match v {
            Some(Operand::One(b)) => Ok(b),
            Some(Operand::List(_)) => Err("invalid type: sequence, expected usize".to_string()),
            None => Err(E::missing_field("input").to_string()),
        };
        let list = |v: Option<Operand>| match v {
            Some(Operand::List(l)) => Ok(l),
            Some(Operand::One(b)) => {
                Err(format!("invalid type: integer `{b}`, expected a sequence"))
            }
            None => Err(E::missing_field("input").to_string()),
        };
        Ok(match f.kind.as_str() {
            "DOT" => Instruction::Dot {
                input: one(f.input)?,
                output: need(f.output, "output")?,
                weights: need(f.weights, "weights")?,
                activation: f.activation.flatten(),
            },
            "COPY" => Instruction::Copy {
                input: one(f.input)?,
                output: need(f.output, "output")?,
                internal_index: need(f.internal_index, "internal_index")?,
            },
            "COPY_MASKED" => Instruction::CopyMasked {
                input: one(f.input)?,
                output: need(f.output, "output")?,
                indexes: f
                    .indexes
                    .ok_or_else(|| E::missing_field("indexes").to_string())?,
            },
            "ACTIVATION" => Instruction::Activation {
                input: one(f.input)?,
                activation: match f.activation {
                    Some(Some(a)) => a,
                    Some(None) => return Err("invalid type: null, expected an activation".into()),
                    None => return Err(E::missing_field("activation").to_string()),
                },
            },
            "ADD_ELEMENTWISE" => Instruction::AddElementwise {
                input: one(f.input)?,
                parameters: need(f.parameters, "parameters")?,
            },
            "MUL_ELEMENTWISE" => Instruction::MulElementwise {
                input: one(f.input)?,
                parameters: need(f.parameters, "parameters")?,
            },
            "CLIP_ELEMENTWISE" => Instruction::ClipElementwise {
                input: one(f.input)?,
                parameters_min: f.parameters_min,
                parameters_max: f.parameters_max,
            },
            "MAP_TRANSFORM" => Instruction::MapTransform {
                input: one(f.input)?,
                output: need(f.output, "output")?,
                internal_input_index: need(f.internal_input_index, "internal_input_index")?,
                internal_output_index: need(f.internal_output_index, "internal_output_index")?,
                map: need(f.map, "map")?,
                size: need(f.size, "size")?,
                default: f
                    .default
                    .ok_or_else(|| E::missing_field("default").to_string())?,
            },
            "ADD_ELEMENTWISE_BUFFERS" => Instruction::AddElementwiseBuffers {
                input: list(f.input)?,
                output: need(f.output, "output")?,
            },
            "MULTIPLY_ELEMENTWISE_BUFFERS" => Instruction::MultiplyElementwiseBuffers {
                input: list(f.input)?,
                output: need(f.output, "output")?,
            },
            "MULTIPLY_BUFFER_HEADS" => Instruction::MultiplyBufferHeads {
                input: list(f.input)?,
                output: need(f.output, "output")?,
            },
            "ADD_BUFFER_HEADS" => Instruction::AddBufferHeads {
                input: list(f.input)?,
                output: need(f.output, "output")?,
            },
            "REDUCE_SUM" => Instruction::ReduceSum {
                input: one(f.input)?,
                output: need(f.output, "output")?,
            },
            "ATTENTION" => Instruction::Attention {
                input: one(f.input)?,
                key: need(f.key, "key")?,
                output: need(f.output, "output")?,
                weights: need(f.weights, "weights")?,
            },
            other => return Err(E::unknown_variant(other, &Instruction::TYPE_NAMES).to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_type_lists_every_type_name() {
        let err = serde_json::from_str::<Instruction>(r#"{"type": "CONV2D", "input": 0}"#)
            .unwrap_err()
            .to_string();
        for name in Instruction::TYPE_NAMES {
            assert!(
                err.contains(&format!("`{name}`")),
                "{name} missing from {err}"
            );
        }
    }

    fn parse(json: &str) -> Instruction {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn dot_activation_may_be_null_or_absent() {
        let a = parse(r#"{"type":"DOT","input":0,"output":1,"weights":0,"activation":null}"#);
        let b = parse(r#"{"type":"DOT","input":0,"output":1,"weights":0}"#);
        assert_eq!(a, b);
        assert_eq!(a.activation(), None);
    }

    #[test]
    fn unknown_keys_are_ignored() {
        let a = parse(r#"{"type":"REDUCE_SUM","input":1,"output":2,"comment":"x"}"#);
        assert_eq!(
            a,
            Instruction::ReduceSum {
                input: 1,
                output: 2
            }
        );
    }

    #[test]
    fn unknown_type_and_negative_index_are_errors() {
        assert!(serde_json::from_str::<Instruction>(r#"{"type":"CONV","input":0}"#).is_err());
        assert!(
            serde_json::from_str::<Instruction>(r#"{"type":"REDUCE_SUM","input":-1,"output":2}"#)
                .is_err()
        );
    }

    #[test]
    fn in_place_instructions_read_and_write_their_input() {
        let i = Instruction::ClipElementwise {
            input: 3,
            parameters_min: None,
            parameters_max: Some(1),
        };
        assert_eq!(i.reads(), vec![(ReadField::Input, 3)]);
        assert_eq!(ReadField::InputAt(2).to_string(), "input[2]");
        assert_eq!(i.writes(), ("input", 3));
        assert_eq!(i.write_kind(), WriteKind::InPlace);
        assert_eq!(i.parameter_refs(), vec![("parameters_max", 1)]);
    }
}
