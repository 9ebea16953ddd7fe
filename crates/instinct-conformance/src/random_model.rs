//! Seeded generator of random valid models covering every instruction and activation, for
//! property and differential tests.

use instinct_format::{Activation, IdMap, Instruction, ModelInfo};

/// A small deterministic generator (SplitMix64), so cases are reproducible from their seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    /// Uniform in `[lo, hi)`.
    pub fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        let unit = (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
        lo + (hi - lo) * unit
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f32) -> bool {
        self.uniform(0.0, 1.0) < p
    }

    /// One element of a non-empty slice.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// A generated model and input rows for it.
#[derive(Debug, Clone)]
pub struct RandomCase {
    /// The model (valid by construction).
    pub info: ModelInfo,
    /// Input rows, `feature_size` values each.
    pub inputs: Vec<Vec<f32>>,
}

/// Builds a random valid model from `seed`, with `rows` input rows.
///
/// Every buffer an instruction creates is fresh, so the dataflow rules hold by construction;
/// MAP_TRANSFORM keys are read only from input buffers no instruction has modified, so keys are
/// exact and every implementation looks up the same entry.
pub fn random_case(seed: u64, rows: usize) -> RandomCase {
    generate(seed, rows, false)
}

/// [`random_case`] whose activations include instinct's format extensions (LEAKY_RELU, …, with
/// random parameters): models `instmodel_inference` cannot load, for our engines against the
/// f64 reference.
pub fn random_extended_case(seed: u64, rows: usize) -> RandomCase {
    generate(seed, rows, true)
}

/// [`random_extended_case`] whose buffers are now and then up to `max_width` values wide, so
/// that every engine meets every instruction and activation at widths that cross its register,
/// tile and chain sizes.
pub fn random_wide_case(seed: u64, rows: usize, max_width: usize) -> RandomCase {
    generate_with(seed, rows, true, max_width)
}

fn generate(seed: u64, rows: usize, extensions: bool) -> RandomCase {
    generate_with(seed, rows, extensions, 0)
}

fn generate_with(seed: u64, rows: usize, extensions: bool, max_width: usize) -> RandomCase {
    let mut g = Gen {
        rng: Rng::new(seed),
        info: ModelInfo::default(),
        written: Vec::new(),
        pristine_inputs: Vec::new(),
        extensions,
        max_width,
    };
    g.build();
    let feature_size: usize = g.info.buffer_sizes[..g.pristine_inputs_len()].iter().sum();
    let inputs = (0..rows)
        .map(|_| {
            let mut row: Vec<f32> = (0..feature_size)
                .map(|_| g.rng.uniform(-2.5, 2.5))
                .collect();
            // Now and then a value on a rounding boundary of MAP_TRANSFORM keys or a non-finite
            // one, whose handling every implementation must share. (Large finite values are left
            // out: through EXP and products they make f32 results ill-conditioned, and then no
            // 1e-5 tolerance against f64 holds.)
            if feature_size > 0 && g.rng.chance(0.15) {
                let special = [
                    0.5,
                    -0.5,
                    1.5,
                    -2.5,
                    f32::NAN,
                    f32::INFINITY,
                    f32::NEG_INFINITY,
                ];
                let at = g.rng.below(feature_size);
                row[at] = g.rng.pick(&special);
            }
            row
        })
        .collect();
    RandomCase {
        info: g.info,
        inputs,
    }
}

const OPS: [Op; 14] = [
    Op::Dot,
    Op::Copy,
    Op::CopyMasked,
    Op::Activation,
    Op::AddElementwise,
    Op::MulElementwise,
    Op::Clip,
    Op::MapTransform,
    Op::AddBuffers,
    Op::MulBuffers,
    Op::MulHeads,
    Op::AddHeads,
    Op::ReduceSum,
    Op::Attention,
];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Dot,
    Copy,
    CopyMasked,
    Activation,
    AddElementwise,
    MulElementwise,
    Clip,
    MapTransform,
    AddBuffers,
    MulBuffers,
    MulHeads,
    AddHeads,
    ReduceSum,
    Attention,
}

struct Gen {
    rng: Rng,
    info: ModelInfo,
    /// Buffers some instruction (or the input) has written, oldest first.
    written: Vec<usize>,
    /// For each input buffer, whether no instruction has modified it yet.
    pristine_inputs: Vec<bool>,
    /// Whether activations may be the format's extensions.
    extensions: bool,
    /// The widest buffer drawn (a third of new buffers are drawn up to it when it exceeds the
    /// usual small sizes).
    max_width: usize,
}

impl Gen {
    /// A buffer width: usually 1..=`small`, and for wide cases a third of the time up to
    /// `max_width`.
    fn width(&mut self, small: usize) -> usize {
        if self.max_width > small && self.rng.chance(0.33) {
            self.rng.range(1, self.max_width)
        } else {
            self.rng.range(1, small)
        }
    }

    fn pristine_inputs_len(&self) -> usize {
        self.pristine_inputs.len()
    }

    fn build(&mut self) {
        let input_buffers = self.rng.range(1, 2);
        for _ in 0..input_buffers {
            let size = self.width(6);
            self.new_buffer(size);
            self.pristine_inputs.push(true);
        }
        let feature_size: usize = self.info.buffer_sizes.iter().sum();
        if self.rng.chance(0.5) {
            self.info.feature_size = Some(feature_size);
        } else {
            // Names: a vector feature for the first buffer when it is wide, scalars otherwise.
            let mut names = Vec::new();
            for (b, &s) in self.info.buffer_sizes.clone().iter().enumerate() {
                if s > 1 && self.rng.chance(0.5) {
                    names.push(format!("v{b}[{s}]"));
                } else {
                    names.extend((0..s).map(|i| format!("f{b}_{i}")));
                }
            }
            self.info.features = Some(names);
            if self.rng.chance(0.3) {
                self.info.feature_size = Some(feature_size);
            }
        }
        let ops = self.rng.range(1, 7);
        for _ in 0..ops {
            let op = self.rng.pick(&OPS);
            self.emit(op);
        }
        // The output is the last buffer; make sure an instruction wrote it last.
        let last = self.info.buffer_sizes.len() - 1;
        if last < input_buffers || self.rng.chance(0.5) {
            let from = self.recent();
            let out = self.width(4);
            let activation = self.activation();
            self.dot(from, out, activation);
        }
    }

    fn new_buffer(&mut self, size: usize) -> usize {
        self.info.buffer_sizes.push(size);
        let b = self.info.buffer_sizes.len() - 1;
        self.written.push(b);
        b
    }

    fn size(&self, b: usize) -> usize {
        self.info.buffer_sizes[b]
    }

    /// A written buffer, usually one of the most recent so that results flow to the output.
    fn recent(&mut self) -> usize {
        let n = self.written.len();
        if self.rng.chance(0.6) {
            self.written[n - 1]
        } else {
            self.written[self.rng.below(n)]
        }
    }

    fn activation(&mut self) -> Option<Activation> {
        let i = self.rng.below(Activation::INSTMODEL.len() + 1);
        if self.extensions && self.rng.chance(0.5) {
            return Some(self.extension());
        }
        Activation::INSTMODEL.get(i).copied()
    }

    /// One of the format's extensions, with random parameters: each of its defaults scaled by
    /// a factor in [0.25, 2) and its sign flipped with probability 1/4 (a negative slope, a
    /// negative offset).
    fn extension(&mut self) -> Activation {
        let kind = Activation::EXTENSIONS[self.rng.below(Activation::EXTENSIONS.len())];
        let r = &mut self.rng;
        let values = kind.parameter_values().map(|default| {
            let sign = if r.chance(0.25) { -1.0 } else { 1.0 };
            sign * default * r.uniform(0.25, 2.0)
        });
        kind.with_parameter_values(values)
    }

    fn values(&mut self, n: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..n).map(|_| self.rng.uniform(lo, hi)).collect()
    }

    /// A new weight slot `[rows][cols]`, or an existing one of that shape.
    fn slot(&mut self, rows: usize, cols: usize) -> usize {
        let existing: Vec<usize> = (0..self.info.weights.len())
            .filter(|&s| {
                self.info.weights[s].len() == rows && self.info.weights[s][0].len() == cols
            })
            .collect();
        if !existing.is_empty() && self.rng.chance(0.5) {
            return self.rng.pick(&existing);
        }
        let scale = 1.5 / (cols as f32).sqrt();
        let w = (0..rows)
            .map(|_| self.values(cols, -scale, scale))
            .collect();
        let b = self.values(rows, -0.5, 0.5);
        self.info.weights.push(w);
        self.info.bias.push(b);
        self.info.weights.len() - 1
    }

    fn parameters(&mut self, values: Vec<f32>) -> usize {
        let p = self.info.parameters.get_or_insert_with(Vec::new);
        p.push(values);
        p.len() - 1
    }

    fn touch(&mut self, b: usize) {
        if let Some(p) = self.pristine_inputs.get_mut(b) {
            *p = false;
        }
    }

    fn dot(&mut self, input: usize, out_size: usize, activation: Option<Activation>) -> usize {
        let slot = self.slot(out_size, self.size(input));
        let output = self.new_buffer(out_size);
        self.info.instructions.push(Instruction::Dot {
            input,
            output,
            weights: slot,
            activation,
        });
        output
    }

    fn emit(&mut self, op: Op) {
        match op {
            Op::Dot => {
                let input = self.recent();
                let out = self.width(6);
                let activation = self.activation();
                self.dot(input, out, activation);
            }
            Op::Copy => {
                // A concatenation of one or two buffers into a fresh buffer, at an offset.
                let a = self.recent();
                let b = self.recent();
                let pad = self.rng.range(0, 2);
                let two = self.rng.chance(0.5);
                let size = pad + self.size(a) + if two { self.size(b) } else { 0 };
                let output = self.new_buffer(size);
                // The padding is filled by a gather of the first values of `a`: every element
                // of a buffer is written before anything reads it.
                if pad > 0 {
                    self.info.instructions.push(Instruction::CopyMasked {
                        input: a,
                        output,
                        indexes: vec![0; pad],
                    });
                }
                self.info.instructions.push(Instruction::Copy {
                    input: a,
                    output,
                    internal_index: pad,
                });
                if two {
                    let internal_index = pad + self.size(a);
                    self.info.instructions.push(Instruction::Copy {
                        input: b,
                        output,
                        internal_index,
                    });
                }
            }
            Op::CopyMasked if self.rng.chance(0.2) => {
                // In place: later positions may gather values written earlier in the same pass.
                let buffer = self.recent();
                let n = self.rng.range(1, self.size(buffer));
                let indexes = (0..n).map(|_| self.rng.below(self.size(buffer))).collect();
                self.touch(buffer);
                self.info.instructions.push(Instruction::CopyMasked {
                    input: buffer,
                    output: buffer,
                    indexes,
                });
            }
            Op::CopyMasked => {
                let input = self.recent();
                let n = self.width(6);
                let indexes = (0..n).map(|_| self.rng.below(self.size(input))).collect();
                let output = self.new_buffer(n);
                self.info.instructions.push(Instruction::CopyMasked {
                    input,
                    output,
                    indexes,
                });
            }
            Op::Activation => {
                let input = self.recent();
                let activation = if self.extensions && self.rng.chance(0.5) {
                    self.extension()
                } else {
                    Activation::INSTMODEL[self.rng.below(Activation::INSTMODEL.len())]
                };
                self.touch(input);
                self.info
                    .instructions
                    .push(Instruction::Activation { input, activation });
            }
            Op::AddElementwise | Op::MulElementwise => {
                let input = self.recent();
                let (lo, hi) = if op == Op::AddElementwise {
                    (-1.0, 1.0)
                } else {
                    (-1.5, 1.5)
                };
                let values = self.values(self.size(input), lo, hi);
                let parameters = self.parameters(values);
                self.touch(input);
                self.info.instructions.push(if op == Op::AddElementwise {
                    Instruction::AddElementwise { input, parameters }
                } else {
                    Instruction::MulElementwise { input, parameters }
                });
            }
            Op::Clip => {
                let input = self.recent();
                let n = self.size(input);
                let (lo, hi) = match self.rng.below(3) {
                    0 => (true, true),
                    1 => (true, false),
                    _ => (false, true),
                };
                let parameters_min = lo.then(|| {
                    let v = self.values(n, -1.0, 0.0);
                    self.parameters(v)
                });
                let parameters_max = hi.then(|| {
                    let v = self.values(n, 0.0, 1.0);
                    self.parameters(v)
                });
                self.touch(input);
                self.info.instructions.push(Instruction::ClipElementwise {
                    input,
                    parameters_min,
                    parameters_max,
                });
            }
            Op::MapTransform => {
                let pristine: Vec<usize> = (0..self.pristine_inputs.len())
                    .filter(|&b| self.pristine_inputs[b])
                    .collect();
                if pristine.is_empty() {
                    return self.emit(Op::Dot);
                }
                // One or two lookups into a fresh buffer (an embedding concatenation).
                let lookups = self.rng.range(1, 2);
                let sizes: Vec<usize> = (0..lookups).map(|_| self.rng.range(1, 3)).collect();
                let output = self.new_buffer(sizes.iter().sum());
                let mut at = 0;
                for size in sizes {
                    let input = self.rng.pick(&pristine);
                    let internal_input_index = self.rng.below(self.size(input));
                    let mut map = Vec::new();
                    for key in -3i32..=3 {
                        if self.rng.chance(0.6) {
                            let extra = self.rng.range(0, 1);
                            map.push((key, self.values(size + extra, -1.0, 1.0)));
                        }
                    }
                    let maps = self.info.maps.get_or_insert_with(Vec::new);
                    maps.push(IdMap::from_ids(map));
                    let map = maps.len() - 1;
                    let default = self.values(size, -1.0, 1.0);
                    self.info.instructions.push(Instruction::MapTransform {
                        input,
                        output,
                        internal_input_index,
                        internal_output_index: at,
                        map,
                        size,
                        default,
                    });
                    at += size;
                }
            }
            Op::AddBuffers | Op::MulBuffers => {
                // Two or three inputs of one size; make a same-sized partner with a DOT if needed.
                let a = self.recent();
                let n = self.size(a);
                let mut inputs = vec![a];
                let same: Vec<usize> = self
                    .written
                    .iter()
                    .copied()
                    .filter(|&b| self.size(b) == n)
                    .collect();
                let count = self.rng.range(2, 3);
                while inputs.len() < count {
                    let b = if same.len() > 1 && self.rng.chance(0.5) {
                        self.rng.pick(&same)
                    } else {
                        let from = self.recent();
                        let activation = self.activation();
                        self.dot(from, n, activation)
                    };
                    inputs.push(b);
                }
                // Sometimes the result overwrites one of its own inputs.
                let output = if self.rng.chance(0.2) {
                    let o = self.rng.pick(&inputs);
                    self.touch(o);
                    o
                } else {
                    self.new_buffer(n)
                };
                self.info.instructions.push(if op == Op::AddBuffers {
                    Instruction::AddElementwiseBuffers {
                        input: inputs,
                        output,
                    }
                } else {
                    Instruction::MultiplyElementwiseBuffers {
                        input: inputs,
                        output,
                    }
                });
            }
            Op::MulHeads | Op::AddHeads => {
                let data = self.recent();
                let d = self.size(data);
                let divisors: Vec<usize> = (1..=d).filter(|h| d.is_multiple_of(*h)).collect();
                let h = self.rng.pick(&divisors);
                let from = self.recent();
                let activation = self.activation();
                let heads = self.dot(from, h, activation);
                // Sometimes a wider output (whose last value a COPY writes afterwards),
                // sometimes the data buffer itself.
                let mut tail = None;
                let output = match self.rng.below(5) {
                    0 => {
                        let from = self.recent();
                        tail = Some(self.dot(from, 1, None));
                        self.new_buffer(d + 1)
                    }
                    1 => {
                        self.touch(data);
                        data
                    }
                    _ => self.new_buffer(d),
                };
                let input = vec![data, heads];
                self.info.instructions.push(if op == Op::MulHeads {
                    Instruction::MultiplyBufferHeads { input, output }
                } else {
                    Instruction::AddBufferHeads { input, output }
                });
                if let Some(tail) = tail {
                    self.info.instructions.push(Instruction::Copy {
                        input: tail,
                        output,
                        internal_index: d,
                    });
                }
            }
            Op::ReduceSum => {
                let input = self.recent();
                let output = if self.rng.chance(0.2) {
                    self.touch(input);
                    input
                } else {
                    self.new_buffer(1)
                };
                self.info
                    .instructions
                    .push(Instruction::ReduceSum { input, output });
            }
            Op::Attention => {
                let input = self.recent();
                let key = self.recent();
                let weights = self.slot(self.size(input), self.size(key));
                let output = self.new_buffer(self.size(input));
                self.info.instructions.push(Instruction::Attention {
                    input,
                    key,
                    output,
                    weights,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use instinct_format::Limits;
    use std::collections::BTreeSet;

    #[test]
    fn generated_models_are_valid_and_cover_every_instruction_and_activation() {
        let mut types = BTreeSet::new();
        let mut activations = BTreeSet::new();
        for seed in 0..600 {
            let case = random_case(seed, 2);
            if let Err(e) = instinct_validate::validate(&case.info, &Limits::default()) {
                panic!("seed {seed}: {e}\n{}", case.info.to_json_string());
            }
            for ins in &case.info.instructions {
                types.insert(ins.type_name());
                if let Some(a) = ins.activation() {
                    activations.insert(a.name());
                }
            }
        }
        assert_eq!(types.len(), 14, "{types:?}");
        assert_eq!(activations.len(), 12, "{activations:?}");
    }

    #[test]
    fn wide_cases_cross_the_engines_block_sizes_with_every_instruction() {
        let mut types = BTreeSet::new();
        let mut widest = 0;
        let mut wide_models = 0;
        for seed in 0..300 {
            let case = random_wide_case(seed, 1, 300);
            if let Err(e) = instinct_validate::validate(&case.info, &Limits::default()) {
                panic!("seed {seed}: {e}\n{}", case.info.to_json_string());
            }
            types.extend(case.info.instructions.iter().map(|i| i.type_name()));
            let max = case.info.buffer_sizes.iter().copied().max().unwrap_or(0);
            widest = widest.max(max);
            wide_models += usize::from(max > 32);
        }
        assert_eq!(types.len(), 14, "{types:?}");
        assert!(widest > 256, "the widest buffer has {widest} values");
        assert!(
            wide_models >= 100,
            "only {wide_models} of 300 models exceed 32 values"
        );
    }

    #[test]
    fn same_seed_same_model() {
        assert_eq!(random_case(7, 3).info, random_case(7, 3).info);
        assert_eq!(random_case(7, 3).inputs, random_case(7, 3).inputs);
    }
}
