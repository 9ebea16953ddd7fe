//! What the tape's spatial operations (convolution, pooling, normalisation, embedding) keep
//! for their backward pass, and how normalised values are grouped.

use crate::backend::ConvGeometry;

/// What one spatial operation keeps for its backward pass.
#[derive(Debug)]
pub(crate) enum Saved {
    Conv2d {
        x: usize,
        w: usize,
        b: Option<usize>,
        geometry: ConvGeometry,
        batch: usize,
        out_channels: usize,
        /// Every sample's im2col columns, `[batch][C·kh·kw][oh·ow]`.
        cols: Vec<f32>,
    },
    /// Max pooling: the input position each output took its value from.
    MaxPool {
        x: usize,
        argmax: Vec<usize>,
    },
    /// Adaptive average pooling of `[.., h, w]` planes to `[.., oh, ow]`.
    AvgPool {
        x: usize,
        planes: usize,
        size: (usize, usize),
        out: (usize, usize),
    },
    /// Layer norm (`channels` = rows, each of `width` values) or batch norm (values moved to
    /// one row per channel); `fixed`: eval-mode batch norm, whose statistics are constants.
    Norm {
        x: usize,
        gamma: usize,
        beta: usize,
        layout: NormLayout,
        /// Normalised values, in row layout.
        xhat: Vec<f32>,
        rstd: Vec<f32>,
        fixed: bool,
    },
    Embedding {
        weight: usize,
        indices: Vec<usize>,
    },
}

/// How normalised values are grouped.
#[derive(Debug, Clone, Copy)]
pub(crate) enum NormLayout {
    /// Layer norm: rows of `width` values, already contiguous; `gamma`/`beta` per column.
    Rows { width: usize },
    /// Batch norm of `[n, channels, spatial]` values: one row per channel; `gamma`/`beta` per
    /// channel.
    Channels {
        n: usize,
        channels: usize,
        spatial: usize,
    },
}

impl NormLayout {
    /// Values in row layout from the tensor's own layout.
    pub(crate) fn to_rows(self, x: &[f32]) -> Vec<f32> {
        match self {
            NormLayout::Rows { .. } => x.to_vec(),
            NormLayout::Channels {
                n,
                channels,
                spatial,
            } => {
                let mut out = vec![0.0; x.len()];
                for i in 0..n {
                    for c in 0..channels {
                        let src = &x[(i * channels + c) * spatial..][..spatial];
                        out[(c * n + i) * spatial..][..spatial].copy_from_slice(src);
                    }
                }
                out
            }
        }
    }

    /// The inverse of [`NormLayout::to_rows`].
    pub(crate) fn back_from_rows(self, rows: &[f32]) -> Vec<f32> {
        match self {
            NormLayout::Rows { .. } => rows.to_vec(),
            NormLayout::Channels {
                n,
                channels,
                spatial,
            } => {
                let mut out = vec![0.0; rows.len()];
                for i in 0..n {
                    for c in 0..channels {
                        let src = &rows[(c * n + i) * spatial..][..spatial];
                        out[(i * channels + c) * spatial..][..spatial].copy_from_slice(src);
                    }
                }
                out
            }
        }
    }

    /// Values per row.
    pub(crate) fn width(self) -> usize {
        match self {
            NormLayout::Rows { width } => width,
            NormLayout::Channels { n, spatial, .. } => n * spatial,
        }
    }

    /// The affine parameter of row-layout value `k`.
    pub(crate) fn parameter(self, k: usize) -> usize {
        match self {
            NormLayout::Rows { width } => k % width.max(1),
            NormLayout::Channels { n, spatial, .. } => k / (n * spatial).max(1),
        }
    }
}
