//! [`Int8Weights`]: an int8 matrix prepared for one kernel ([`Int8Kernel`]), and the
//! [`Int8Layer`] and [`RowSpan`] the kernels take.

use crate::fast::Kind;
use crate::int8::scheme::{InputQuantization, MAX_INT8_INPUTS};
use crate::simd::Level;

/// An int8 weight matrix (`n × k`) with its per-output scales, prepared once for the kernel of
/// one level.
#[derive(Debug, Clone)]
pub struct Int8Weights {
    pub(crate) n: usize,
    pub(crate) k: usize,
    /// The values as given, `n × k` row-major (the reference and the portable kernel read them).
    pub(crate) values: Vec<i8>,
    /// One scale per output.
    pub(crate) scales: Vec<f32>,
    /// `Σ_i w[j][i]` per output (the zero point's correction), padded with zeros to a whole
    /// number of 16-output panels.
    pub(crate) column_sums: Vec<i32>,
    /// Scales padded like `column_sums` (with zeros).
    pub(crate) padded_scales: Vec<f32>,
    /// The level whose activation kernels the outputs go through.
    pub(crate) level: Level,
    /// The layout of the kernel.
    pub(crate) panels: Panels,
}

/// Weights rearranged for one kernel.
#[derive(Debug, Clone)]
pub(crate) enum Panels {
    /// None: the portable kernel reads the rows.
    Rows,
    /// VNNI: panel `p` (outputs `16p..16p+16`), group `g` (inputs `4g..4g+4`): 64 bytes, four
    /// per output in input order; zero past `n` and `k`.
    Quads(Vec<i8>),
    /// AVX2: panel `p` (outputs `8p..8p+8`), pair `g` (inputs `2g, 2g+1`): 16 `i16`, two per
    /// output; zero past `n` and `k`.
    Pairs(Vec<i16>),
}

/// The kernel a level runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Int8Kernel {
    /// Portable `i32` loops.
    Portable,
    /// AVX2 `vpmaddwd` on inputs and weights widened to `i16`.
    Avx2,
    /// AVX-512 VNNI `vpdpbusd`.
    Avx512Vnni,
}

impl Int8Kernel {
    /// The kernel for `level` on this CPU: VNNI needs AVX-512 VNNI besides the level; the AVX2
    /// kernel also serves AVX-512 without VNNI.
    pub fn for_level(level: Level) -> Int8Kernel {
        #[cfg(target_arch = "x86_64")]
        {
            if level == Level::Avx512
                && Level::Avx512.is_available()
                && crate::simd::has_avx512_vnni()
            {
                return Int8Kernel::Avx512Vnni;
            }
            if level >= Level::Avx2 && Level::Avx2.is_available() {
                return Int8Kernel::Avx2;
            }
        }
        let _ = level;
        Int8Kernel::Portable
    }

    /// A short name (`avx512-vnni`, `avx2`, `portable`).
    pub fn name(self) -> &'static str {
        match self {
            Int8Kernel::Portable => "portable",
            Int8Kernel::Avx2 => "avx2",
            Int8Kernel::Avx512Vnni => "avx512-vnni",
        }
    }
}

impl Int8Weights {
    /// Prepares `values` (`n × k` row-major) and their `n` scales for the kernel of `level`
    /// ([`Int8Kernel::for_level`]; a level this CPU cannot run falls to the best below it).
    ///
    /// # Panics
    /// When the lengths disagree with `n` and `k`, or `k` exceeds [`MAX_INT8_INPUTS`].
    pub fn new(values: &[i8], scales: &[f32], n: usize, k: usize, level: Level) -> Self {
        assert!(
            values.len() == n * k && scales.len() == n,
            "{} int8 weights and {} scales for {n} × {k}",
            values.len(),
            scales.len()
        );
        assert!(k <= MAX_INT8_INPUTS, "{k} inputs exceed {MAX_INT8_INPUTS}");
        let level = Level::available()
            .into_iter()
            .filter(|l| *l <= level)
            .max()
            .unwrap_or(Level::Scalar);
        let kernel = Int8Kernel::for_level(level);
        let padded = n.div_ceil(16) * 16;
        let mut column_sums = vec![0i32; padded];
        for (j, row) in values.chunks_exact(k.max(1)).take(n).enumerate() {
            column_sums[j] = row.iter().map(|&v| i32::from(v)).sum();
        }
        let mut padded_scales = scales.to_vec();
        padded_scales.resize(padded, 0.0);
        let at = |j: usize, i: usize| if j < n && i < k { values[j * k + i] } else { 0 };
        let panels = match kernel {
            Int8Kernel::Portable => Panels::Rows,
            Int8Kernel::Avx512Vnni => {
                let groups = k.div_ceil(4);
                let mut quads = Vec::with_capacity(padded * groups * 4);
                for p in 0..padded / 16 {
                    for g in 0..groups {
                        for c in 0..16 {
                            quads.extend((0..4).map(|t| at(16 * p + c, 4 * g + t)));
                        }
                    }
                }
                Panels::Quads(quads)
            }
            Int8Kernel::Avx2 => {
                let pairs = k.div_ceil(2);
                let mut wide = Vec::with_capacity(padded * pairs * 2);
                for p in 0..padded / 8 {
                    for g in 0..pairs {
                        for c in 0..8 {
                            wide.extend((0..2).map(|t| i16::from(at(8 * p + c, 2 * g + t))));
                        }
                    }
                }
                Panels::Pairs(wide)
            }
        };
        Int8Weights {
            n,
            k,
            values: values.to_vec(),
            scales: scales.to_vec(),
            column_sums,
            padded_scales,
            level,
            panels,
        }
    }

    /// Outputs.
    pub fn outputs(&self) -> usize {
        self.n
    }

    /// Inputs.
    pub fn inputs(&self) -> usize {
        self.k
    }

    /// The values, `n × k` row-major.
    pub fn values(&self) -> &[i8] {
        &self.values
    }

    /// The per-output scales.
    pub fn scales(&self) -> &[f32] {
        &self.scales
    }

    /// The kernel these weights were prepared for.
    pub fn kernel(&self) -> Int8Kernel {
        match self.panels {
            Panels::Rows => Int8Kernel::Portable,
            Panels::Quads(_) => Int8Kernel::Avx512Vnni,
            Panels::Pairs(_) => Int8Kernel::Avx2,
        }
    }

    /// The level whose activation kernels the outputs go through.
    pub fn level(&self) -> Level {
        self.level
    }

    /// Bytes held (values, panels, sums, scales).
    pub fn memory_bytes(&self) -> usize {
        let panels = match &self.panels {
            Panels::Rows => 0,
            Panels::Quads(q) => q.len(),
            Panels::Pairs(p) => p.len() * 2,
        };
        self.values.len() + panels + (self.column_sums.len() + self.padded_scales.len()) * 4
    }
}

/// One int8 layer's parts, as the kernels take them.
#[derive(Debug, Clone, Copy)]
pub struct Int8Layer<'a> {
    /// The weights.
    pub weights: &'a Int8Weights,
    /// One bias per output.
    pub bias: &'a [f32],
    /// How inputs are quantised.
    pub quant: InputQuantization,
    /// The activation applied to the outputs.
    pub kind: Kind,
}
