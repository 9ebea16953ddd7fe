//! Tiny nets as plain data: `Dense<I, O>` layers with sizes in the type, chained as `Mlp1`,
//! `Mlp2` and `Mlp3`. Weights are arrays (bytemuck `Pod`), so a model can be written to bytes
//! once and `include_bytes!`-ed (in a 4-byte-aligned wrapper: see `examples/static_net.rs`) and
//! cast back with no parsing; the forward pass has every loop bound known at compile time and
//! is compiled for each SIMD level.

use crate::error::PredictError;
use bytemuck::{Pod, Zeroable};
use instinct_format::Activation;
use instinct_kernels::simd;
use instinct_validate::ValidModel;

use instinct_kernels::static_dense::{self, after};
#[cfg(target_arch = "x86_64")]
use instinct_kernels::static_dense::{WideIn, after_wide};

/// One dense layer: `y[o] = act(bias[o] + Σ_i x[i]·columns[i][o])`.
///
/// The weights are stored transposed (`[in][out]`, one column of the format's `[out][in]`
/// matrix per input) so that the forward pass updates all outputs at once, a vector operation,
/// instead of summing each output one input after another.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dense<const I: usize, const O: usize> {
    /// `columns[i][o]` is the format's `weights[o][i]`.
    pub columns: [[f32; O]; I],
    /// One value per output.
    pub bias: [f32; O],
}

impl<const I: usize, const O: usize> Dense<I, O> {
    /// The layer of a weight slot: `rows` is the format's `[out][in]` matrix.
    fn from_slot(rows: &[Vec<f32>], bias: &[f32]) -> Dense<I, O> {
        let mut d = Dense::zeroed();
        for (o, row) in rows.iter().enumerate() {
            for (i, w) in row.iter().enumerate() {
                d.columns[i][o] = *w;
            }
        }
        d.bias.copy_from_slice(bias);
        d
    }
}

// SAFETY: `Dense` is `repr(C)` and holds only f32 arrays (size a multiple of 4, alignment 4),
// so it has no padding, and every bit pattern is a valid value; all-zero bytes are too.
unsafe impl<const I: usize, const O: usize> Zeroable for Dense<I, O> {}
// SAFETY: as above; `Copy + 'static` hold for arrays of f32.
unsafe impl<const I: usize, const O: usize> Pod for Dense<I, O> {}

/// Why a model cannot become a static net.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StaticError {
    /// The model is not a chain of DOTs, each reading the previous one's output.
    #[error(
        "instruction {index} ({kind}) is not part of a chain of DOTs from the input to the output"
    )]
    NotADotChain {
        /// Instruction index.
        index: usize,
        /// Its type.
        kind: String,
    },
    /// The chain has another number of layers than the type.
    #[error("the model has {actual} dense layers, the type {expected}")]
    LayerCount {
        /// Layers in the model.
        actual: usize,
        /// Layers in the type.
        expected: usize,
    },
    /// A layer's shape differs from the type's.
    #[error(
        "layer {layer} is {actual_in}→{actual_out}, the type says {expected_in}→{expected_out}"
    )]
    Shape {
        /// Layer index.
        layer: usize,
        /// Model's input size.
        actual_in: usize,
        /// Model's output size.
        actual_out: usize,
        /// Type's input size.
        expected_in: usize,
        /// Type's output size.
        expected_out: usize,
    },
    /// Bytes that are not a net of this type (wrong length or alignment, unknown activation).
    #[error("bytes are not a static net of this type: {0}")]
    Bytes(String),
}

/// Any static net, for code that chooses one at run time (as the CLI's `--engine static`).
pub trait StaticNet: Send + Sync {
    /// Input values per row.
    fn feature_size(&self) -> usize;
    /// Output values per row.
    fn output_size(&self) -> usize;
    /// Runs whole rows, as [`Mlp2::forward_rows`].
    fn forward_rows(&self, inputs: &[f32], outputs: &mut [f32]) -> Result<(), PredictError>;
    /// The net's size in bytes (weights, biases, activation codes and parameters).
    fn size_bytes(&self) -> usize;
}

/// The row count of `inputs`/`outputs` lengths for `i` inputs and `o` outputs per row.
fn check_rows(inputs: usize, outputs: usize, i: usize, o: usize) -> Result<usize, PredictError> {
    if i == 0 || !inputs.is_multiple_of(i) {
        return Err(PredictError::RaggedBatch {
            actual: inputs,
            feature_size: i,
        });
    }
    let rows = inputs / i;
    if outputs != rows * o {
        return Err(PredictError::OutputLength {
            actual: outputs,
            expected: rows * o,
        });
    }
    Ok(rows)
}

/// A layer's activation as a net stores it: its code and its parameters.
type StoredActivation = (u32, [f32; 2]);

/// The dense layers of a model that is a chain of DOTs from the input buffer to the output:
/// `(weight slot, activation, in, out)` per layer.
fn dot_chain(
    model: &ValidModel,
) -> Result<Vec<(usize, StoredActivation, usize, usize)>, StaticError> {
    let layers = model.dot_chain().map_err(|e| StaticError::NotADotChain {
        index: e.index,
        kind: e.kind,
    })?;
    Ok(layers
        .iter()
        .map(|l| {
            let parameters = l.activation.map_or([0.0; 2], Activation::parameter_values);
            (
                l.slot,
                (static_dense::static_code(l.activation), parameters),
                l.inputs,
                l.outputs,
            )
        })
        .collect())
}

macro_rules! static_mlp {
    ($(#[$meta:meta])* $name:ident<$first:ident $(, $size:ident)+>, layers: [$($layer:ident: $li:ident => $lo:ident),+], count: $n:literal) => {
        $(#[$meta])*
        #[repr(C)]
        #[derive(Debug, Clone, Copy, PartialEq)]
        pub struct $name<const $first: usize $(, const $size: usize)+> {
            $(
                /// A dense layer.
                pub $layer: Dense<$li, $lo>,
            )+
            /// Activation code per layer (0 none, else `instinct_kernels::static_dense::STATIC_CODES`' numbering).
            pub activations: [u32; $n],
            /// The parameters of each layer's activation (zeros for those without).
            pub parameters: [[f32; 2]; $n],
        }

        // SAFETY: `repr(C)` of `Dense` values (no padding, alignment 4) followed by a `u32`
        // array and an `f32` array (alignment 4): no padding anywhere, and any bit pattern is
        // a value (unknown activation codes act as none).
        unsafe impl<const $first: usize $(, const $size: usize)+> Zeroable for $name<$first $(, $size)+> {}
        // SAFETY: as above.
        unsafe impl<const $first: usize $(, const $size: usize)+> Pod for $name<$first $(, $size)+> {}

        impl<const $first: usize $(, const $size: usize)+> $name<$first $(, $size)+> {
            /// Builds the net from a valid model that is a chain of exactly this many DOTs of
            /// exactly these sizes, from the input buffer to the output.
            pub fn from_model(model: &ValidModel) -> Result<Self, StaticError> {
                let chain = dot_chain(model)?;
                if chain.len() != $n {
                    return Err(StaticError::LayerCount { actual: chain.len(), expected: $n });
                }
                let expected = [$(($li, $lo)),+];
                for (layer, ((_, _, i, o), (ei, eo))) in chain.iter().zip(expected).enumerate() {
                    if (*i, *o) != (ei, eo) {
                        return Err(StaticError::Shape {
                            layer,
                            actual_in: *i,
                            actual_out: *o,
                            expected_in: ei,
                            expected_out: eo,
                        });
                    }
                }
                let info = model.info();
                let mut slots = chain.iter();
                let mut next = || {
                    let (slot, ..) = slots.next().copied().unwrap_or_default();
                    (info.weights[slot].as_slice(), info.bias[slot].as_slice())
                };
                Ok($name {
                    $($layer: { let (w, b) = next(); Dense::from_slot(w, b) },)+
                    activations: {
                        let mut codes = [0u32; $n];
                        for (c, l) in codes.iter_mut().zip(&chain) {
                            *c = l.1.0;
                        }
                        codes
                    },
                    parameters: {
                        let mut parameters = [[0.0f32; 2]; $n];
                        for (p, l) in parameters.iter_mut().zip(&chain) {
                            *p = l.1.1;
                        }
                        parameters
                    },
                })
            }

            /// The net's bytes, to store and later read back with [`from_bytes`](Self::from_bytes).
            pub fn as_bytes(&self) -> &[u8] {
                bytemuck::bytes_of(self)
            }

            /// Reads a net from bytes written by [`as_bytes`](Self::as_bytes), without copying.
            /// The bytes must be exactly this type's size and 4-byte aligned, and the activation
            /// codes must be known.
            pub fn from_bytes(bytes: &[u8]) -> Result<&Self, StaticError> {
                let net: &Self = bytemuck::try_from_bytes(bytes).map_err(|e| StaticError::Bytes(e.to_string()))?;
                if let Some(bad) = net.activations.iter().find(|c| static_dense::activation_of(**c, [0.0; 2]).is_none()) {
                    return Err(StaticError::Bytes(format!("unknown activation code {bad}")));
                }
                Ok(net)
            }

            #[inline(always)]
            fn forward_body(&self, x: &[f32; $first]) -> static_mlp!(@last $($lo),+) {
                let v = x;
                static_mlp!(@chain self, v, 0, forward, $($layer),+)
            }

            /// Runs whole rows: `inputs` holds `n` rows of the input size, `outputs` receives
            /// `n` rows of the output size (no allocation).
            pub fn forward_rows(&self, inputs: &[f32], outputs: &mut [f32]) -> Result<(), PredictError> {
                let (i, o) = ($first, static_mlp!(@last_size $($lo),+));
                let rows = check_rows(inputs.len(), outputs.len(), i, o)?;
                for r in 0..rows {
                    let x: &[f32; $first] = inputs[r * i..][..i].try_into().expect("whole row");
                    outputs[r * o..][..o].copy_from_slice(&self.forward(x));
                }
                Ok(())
            }

            /// The output for one input, compiled for the process's SIMD level.
            #[inline]
            pub fn forward(&self, x: &[f32; $first]) -> static_mlp!(@last $($lo),+) {
                #[cfg(target_arch = "x86_64")]
                {
                    #[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")]
                    fn avx512<const $first: usize $(, const $size: usize)+>(net: &$name<$first $(, $size)+>, x: &[f32; $first]) -> static_mlp!(@last $($lo),+) {
                        let v = WideIn::Memory(x);
                        let out = static_mlp!(@wide net, v, 0, $($layer),+);
                        // SAFETY: this function is compiled for AVX-512.
                        unsafe { out.into_array() }
                    }
                    #[target_feature(enable = "avx2,fma")]
                    fn avx2<const $first: usize $(, const $size: usize)+>(net: &$name<$first $(, $size)+>, x: &[f32; $first]) -> static_mlp!(@last $($lo),+) {
                        let v = x;
                        static_mlp!(@chain net, v, 0, forward_avx2, $($layer),+)
                    }
                    match simd::level() {
                        // SAFETY: `level()` only returns levels this CPU supports.
                        simd::Level::Avx512 => return unsafe { avx512(self, x) },
                        // SAFETY: as above.
                        simd::Level::Avx2 => return unsafe { avx2(self, x) },
                        simd::Level::Scalar => {}
                    }
                }
                self.forward_body(x)
            }
        }

        impl<const $first: usize $(, const $size: usize)+> StaticNet for $name<$first $(, $size)+> {
            fn feature_size(&self) -> usize {
                $first
            }
            fn output_size(&self) -> usize {
                static_mlp!(@last_size $($lo),+)
            }
            fn forward_rows(&self, inputs: &[f32], outputs: &mut [f32]) -> Result<(), PredictError> {
                $name::forward_rows(self, inputs, outputs)
            }
            fn size_bytes(&self) -> usize {
                std::mem::size_of::<Self>()
            }
        }
    };
    (@wide $self:ident, $v:ident, $k:expr, $layer:ident) => {{
        let y = static_dense::forward_avx512(&$self.$layer.columns, &$self.$layer.bias, $v, $self.activations[$k]);
        // SAFETY: expanded only inside a function compiled for AVX-512.
        unsafe { after_wide($self.activations[$k], $self.parameters[$k], y) }
    }};
    (@wide $self:ident, $v:ident, $k:expr, $layer:ident, $($rest:ident),+) => {{
        let y = static_dense::forward_avx512(&$self.$layer.columns, &$self.$layer.bias, $v, $self.activations[$k]);
        // SAFETY: expanded only inside a function compiled for AVX-512.
        let y = unsafe { after_wide($self.activations[$k], $self.parameters[$k], y) };
        let $v = y.input();
        static_mlp!(@wide $self, $v, $k + 1, $($rest),+)
    }};
    (@last_size $lo:ident) => { $lo };
    (@last_size $lo:ident, $($rest:ident),+) => { static_mlp!(@last_size $($rest),+) };
    (@last $lo:ident) => { [f32; $lo] };
    (@last $lo:ident, $($rest:ident),+) => { static_mlp!(@last $($rest),+) };
    (@chain $self:ident, $v:ident, $k:expr, $method:ident, $layer:ident) => {{
        let mut y = static_dense::$method(&$self.$layer.columns, &$self.$layer.bias, $v, $self.activations[$k]);
        after($self.activations[$k], $self.parameters[$k], &mut y);
        y
    }};
    (@chain $self:ident, $v:ident, $k:expr, $method:ident, $layer:ident, $($rest:ident),+) => {{
        let mut y = static_dense::$method(&$self.$layer.columns, &$self.$layer.bias, $v, $self.activations[$k]);
        after($self.activations[$k], $self.parameters[$k], &mut y);
        let $v = &y;
        static_mlp!(@chain $self, $v, $k + 1, $method, $($rest),+)
    }};
}

static_mlp! {
    /// One dense layer, `I → O`.
    Mlp1<I, O>, layers: [layer0: I => O], count: 1
}

static_mlp! {
    /// Two dense layers, `I → H → O`.
    ///
    /// ```
    /// use instinct_cpu::Mlp2;
    /// use instinct_format::{Activation, Limits, ModelBuilder};
    /// let info = ModelBuilder::with_feature_size(2)
    ///     .dense(vec![vec![1.0, -1.0], vec![0.5, 0.5]], vec![0.0, 0.1], Some(Activation::Relu))
    ///     .dense(vec![vec![2.0, 1.0]], vec![-0.5], None)
    ///     .build()
    ///     .unwrap();
    /// let model = instinct_validate::validate(&info, &Limits::default()).unwrap();
    /// let net = Mlp2::<2, 2, 1>::from_model(&model).unwrap();
    /// // hidden = relu([3 - 1, 1.5 + 0.5 + 0.1]) = [2, 2.1]; out = 4 + 2.1 - 0.5
    /// assert!((net.forward(&[3.0, 1.0])[0] - 5.6).abs() < 1e-6);
    /// // Bytes out and back, without parsing (as `include_bytes!` would give them, aligned).
    /// let bytes = net.as_bytes().to_vec();
    /// let aligned: Vec<u32> = bytes.chunks(4).map(|c| u32::from_ne_bytes(c.try_into().unwrap())).collect();
    /// let again = Mlp2::<2, 2, 1>::from_bytes(bytemuck::cast_slice(&aligned)).unwrap();
    /// assert_eq!(again, &net);
    /// ```
    Mlp2<I, H, O>, layers: [layer0: I => H, layer1: H => O], count: 2
}

static_mlp! {
    /// Three dense layers, `I → H1 → H2 → O`.
    Mlp3<I, H1, H2, O>, layers: [layer0: I => H1, layer1: H1 => H2, layer2: H2 => O], count: 3
}
