//! Matrix products over strided rows: `dst[i][j] = Σ_p lhs[i][p] · rhs[j][p]` (`lhs · rhsᵀ`), the
//! shape of a dense layer applied to a tile of samples. The fast version wraps
//! `matrixmultiply`'s sgemm (AVX-512 / AVX2+FMA kernels chosen at run time); the scalar
//! reference defines the result.

/// Where the operands of a tile product live inside one buffer of sample rows.
///
/// Row `i` of the left operand is `mem[lhs + i·row_stride ..][..k]`, row `i` of the result is
/// `mem[dst + i·row_stride ..][..n]`; the right operand is a separate `n × k` row-major matrix
/// (a weight slot). The two column ranges `lhs..lhs+k` and `dst..dst+n` must not overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileProduct {
    /// Rows (samples in the tile).
    pub m: usize,
    /// Result columns (weight rows).
    pub n: usize,
    /// Inner dimension (weight columns).
    pub k: usize,
    /// Offset of the left operand inside each row.
    pub lhs: usize,
    /// Offset of the result inside each row.
    pub dst: usize,
    /// Distance between consecutive rows of `mem`.
    pub row_stride: usize,
}

impl TileProduct {
    /// The product of `rows` rows of `stride` values from the columns `input` into the
    /// columns `output` (a layer's input and output buffers in a tile of sample memories).
    pub fn between(
        rows: usize,
        input: std::ops::Range<usize>,
        output: std::ops::Range<usize>,
        stride: usize,
    ) -> TileProduct {
        TileProduct {
            m: rows,
            n: output.len(),
            k: input.len(),
            lhs: input.start,
            dst: output.start,
            row_stride: stride,
        }
    }

    /// Whether the operands fit in `len` values of memory and do not overlap.
    pub fn fits(&self, len: usize, rhs_len: usize) -> bool {
        let (lhs_end, dst_end) = (
            self.lhs.saturating_add(self.k),
            self.dst.saturating_add(self.n),
        );
        let disjoint = lhs_end <= self.dst || dst_end <= self.lhs;
        let within_rows = lhs_end <= self.row_stride && dst_end <= self.row_stride;
        let rows = self
            .m
            .checked_mul(self.row_stride)
            .is_some_and(|t| t <= len);
        let weights = self.n.checked_mul(self.k).is_some_and(|w| w <= rhs_len);
        disjoint && within_rows && rows && weights
    }
}

/// Where rows lie in a slice: row `r` starts at `offset + r · stride`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowSpan {
    /// Start of row 0.
    pub offset: usize,
    /// Distance between rows.
    pub stride: usize,
}

impl RowSpan {
    /// Whether `rows` rows of `width` values lie inside `len` values without overlapping.
    pub fn fits(self, rows: usize, width: usize, len: usize) -> bool {
        if rows == 0 {
            return true;
        }
        (rows == 1 || self.stride >= width)
            && (rows - 1)
                .checked_mul(self.stride)
                .and_then(|a| a.checked_add(self.offset))
                .and_then(|a| a.checked_add(width))
                .is_some_and(|end| end <= len)
    }
}

/// `dst = lhs · rhsᵀ` inside `mem` (bias and activation are the caller's), with sgemm.
///
/// Returns `false` without touching `mem` when the shape does not [fit](TileProduct::fits).
pub fn tile_product(mem: &mut [f32], rhs: &[f32], p: TileProduct) -> bool {
    if !p.fits(mem.len(), rhs.len()) {
        return false;
    }
    if p.m == 0 || p.n == 0 {
        return true;
    }
    if p.k == 0 {
        for i in 0..p.m {
            mem[p.dst + i * p.row_stride..][..p.n].fill(0.0);
        }
        return true;
    }
    let base = mem.as_mut_ptr();
    // SAFETY: `fits` checked that every row `i < m` of both operands lies inside `mem`
    // (`m · row_stride ≤ len`, each column range within the row) and that the left operand's
    // columns and the result's columns are disjoint, so sgemm reads and writes distinct
    // elements of `mem`; `rhs` holds at least `n · k` values. Strides are in elements and
    // positive (`row_stride ≥ 1` since the ranges are non-empty), as sgemm requires.
    unsafe {
        matrixmultiply::sgemm(
            p.m,
            p.k,
            p.n,
            1.0,
            base.add(p.lhs),
            p.row_stride as isize,
            1,
            rhs.as_ptr(),
            1,
            p.k as isize,
            0.0,
            base.add(p.dst),
            p.row_stride as isize,
            1,
        );
    }
    true
}

/// `c = a · bᵀ` with sgemm, for separate operands: `a` is `m × k` with rows `lda` apart, `b` is
/// `n × k` row-major (a weight matrix as the format stores it), `c` is `m × n` row-major.
///
/// # Panics
/// When a slice is too short for its shape (sizes that overflow included), or `lda < k`.
pub fn matmul_nt(m: usize, n: usize, k: usize, a: &[f32], lda: usize, b: &[f32], c: &mut [f32]) {
    let a_len = match m {
        0 => Some(0),
        _ => (m - 1).checked_mul(lda).and_then(|v| v.checked_add(k)),
    };
    let fits = |len: usize, need: Option<usize>| need.is_some_and(|need| len >= need);
    assert!(
        lda >= k
            && fits(a.len(), a_len)
            && fits(b.len(), n.checked_mul(k))
            && fits(c.len(), m.checked_mul(n)),
        "matmul_nt: {m} × {n} × {k} (lda {lda}) with {}, {} and {} values",
        a.len(),
        b.len(),
        c.len()
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        c[..m * n].fill(0.0);
        return;
    }
    // SAFETY: checked above: `a` holds rows `i < m` of `k` values at `i · lda`, `b` holds
    // `n · k` values and `c` `m · n`; `c` is a distinct, exclusively borrowed slice, so no
    // operand overlaps it. Strides are in elements and positive.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            lda as isize,
            1,
            b.as_ptr(),
            1,
            k as isize,
            0.0,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

/// The layout of one operand of [`gemm`]: row-major as stored, or its transpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// The operand as stored.
    Plain,
    /// The transpose of the operand as stored.
    Transposed,
}

/// `c = op(a) · op(b)` (or `c += …` when `accumulate`), every matrix row-major and contiguous:
/// `op(a)` is `m × k` (`a` stored `m × k`, or `k × m` when [`Layout::Transposed`]), `op(b)` is
/// `k × n` (`b` stored `k × n`, or `n × k`), `c` is `m × n`. The products of training: `x · w`,
/// `dy · wᵀ`, `xᵀ · dy`.
///
/// # Panics
/// When a slice is shorter than its shape needs (sizes that overflow included).
#[allow(clippy::too_many_arguments)]
pub fn gemm(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    a_layout: Layout,
    b: &[f32],
    b_layout: Layout,
    c: &mut [f32],
    accumulate: bool,
) {
    let fits = |len: usize, x: usize, y: usize| x.checked_mul(y).is_some_and(|need| len >= need);
    assert!(
        fits(a.len(), m, k) && fits(b.len(), k, n) && fits(c.len(), m, n),
        "gemm: {m} × {n} × {k} with {}, {} and {} values",
        a.len(),
        b.len(),
        c.len()
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            c[..m * n].fill(0.0);
        }
        return;
    }
    let (rsa, csa) = match a_layout {
        Layout::Plain => (k as isize, 1),
        Layout::Transposed => (1, m as isize),
    };
    let (rsb, csb) = match b_layout {
        Layout::Plain => (n as isize, 1),
        Layout::Transposed => (1, k as isize),
    };
    // SAFETY: checked above: `a` holds the m · k values that (rsa, csa) address for i < m,
    // p < k, `b` the k · n values of (rsb, csb), `c` the m · n values of row stride n; `c` is an
    // exclusively borrowed slice, so it overlaps neither operand. Strides are in elements.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            rsa,
            csa,
            b.as_ptr(),
            rsb,
            csb,
            if accumulate { 1.0 } else { 0.0 },
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

/// The scalar definition of [`tile_product`]: each result is [`crate::dot::dot()`] of a row and a
/// weight row.
pub fn tile_product_reference(mem: &mut [f32], rhs: &[f32], p: TileProduct) -> bool {
    if !p.fits(mem.len(), rhs.len()) {
        return false;
    }
    for i in 0..p.m {
        let row = i * p.row_stride;
        for j in 0..p.n {
            let v = if p.k == 0 {
                0.0
            } else {
                crate::dot::dot(&mem[row + p.lhs..][..p.k], &rhs[j * p.k..][..p.k])
            };
            mem[row + p.dst + j] = v;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_reference_on_awkward_shapes() {
        for (shape, place) in crate::test_support::AWKWARD_TILES {
            crate::test_support::check_tile_product(shape, place, tile_product);
        }
    }

    #[test]
    fn refuses_overlapping_or_outside_operands() {
        let mut mem = vec![0.0; 20];
        let rhs = vec![0.0; 100];
        let overlapping = TileProduct {
            m: 2,
            n: 4,
            k: 4,
            lhs: 0,
            dst: 2,
            row_stride: 10,
        };
        assert!(!tile_product(&mut mem, &rhs, overlapping));
        let too_many_rows = TileProduct {
            m: 3,
            n: 2,
            k: 2,
            lhs: 0,
            dst: 2,
            row_stride: 10,
        };
        assert!(!tile_product(&mut mem, &rhs, too_many_rows));
        let short_rhs = TileProduct {
            m: 2,
            n: 20,
            k: 4,
            lhs: 0,
            dst: 4,
            row_stride: 10,
        };
        assert!(!tile_product(&mut mem, &rhs, short_rhs));
    }

    #[test]
    fn gemm_equals_the_triple_loop_in_every_layout() {
        let value = |i: usize| ((i * 37 % 23) as f32 - 11.0) * 0.125;
        for (m, n, k) in [
            (1, 1, 1),
            (3, 5, 7),
            (17, 9, 33),
            (64, 10, 64),
            (2, 0, 3),
            (4, 3, 0),
        ] {
            let a: Vec<f32> = (0..m * k).map(value).collect();
            let b: Vec<f32> = (0..k * n).map(|i| value(i + 5)).collect();
            for (a_layout, b_layout) in [
                (Layout::Plain, Layout::Plain),
                (Layout::Plain, Layout::Transposed),
                (Layout::Transposed, Layout::Plain),
                (Layout::Transposed, Layout::Transposed),
            ] {
                let at = |i: usize, p: usize| match a_layout {
                    Layout::Plain => a[i * k + p],
                    Layout::Transposed => a[p * m + i],
                };
                let bt = |p: usize, j: usize| match b_layout {
                    Layout::Plain => b[p * n + j],
                    Layout::Transposed => b[j * k + p],
                };
                for accumulate in [false, true] {
                    let mut c: Vec<f32> = (0..m * n).map(|i| value(i + 9)).collect();
                    let before = c.clone();
                    gemm(m, n, k, &a, a_layout, &b, b_layout, &mut c, accumulate);
                    for i in 0..m {
                        for j in 0..n {
                            let mut want: f64 = if accumulate {
                                before[i * n + j] as f64
                            } else {
                                0.0
                            };
                            for p in 0..k {
                                want += at(i, p) as f64 * bt(p, j) as f64;
                            }
                            let got = c[i * n + j] as f64;
                            assert!(
                                (got - want).abs() <= 1e-4 * (1.0 + want.abs()),
                                "{m}×{n}×{k} {a_layout:?} {b_layout:?} acc {accumulate}: [{i}][{j}] {got} vs {want}"
                            );
                        }
                    }
                }
            }
        }
    }
}
