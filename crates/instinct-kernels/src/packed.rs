//! A matrix product with the weights packed once: `PackedWeights` holds `Wᵀ` in panels of 32
//! output columns, and `packed_tile_product` computes a tile's `lhs · Wᵀ` with an AVX-512
//! micro-kernel that reads the tile's rows in place (no per-call packing, no allocation). Without
//! AVX-512 it falls back to [`crate::tile_product`].

use crate::TileProduct;

/// Output columns per panel: two AVX-512 vectors.
const NR: usize = 32;
/// Rows per micro-kernel call: 6 rows × 2 vectors = 12 accumulators.
const MR: usize = 6;

/// A weight matrix (`n × k`, row-major, as in the format) repacked for the micro-kernel, with the
/// original kept for the fallback.
#[derive(Debug, Clone)]
pub struct PackedWeights {
    n: usize,
    k: usize,
    /// Panel `p`, step `kk`: the 32 weights `W[32p .. 32p+32][kk]`, zero past `n`.
    panels: Vec<f32>,
    /// The weights as given (`n × k`).
    rows: Vec<f32>,
}

impl PackedWeights {
    /// Packs `rows` (`n × k` row-major).
    ///
    /// # Panics
    /// When `rows.len() != n · k`.
    pub fn new(rows: &[f32], n: usize, k: usize) -> PackedWeights {
        assert_eq!(rows.len(), n * k, "weights are not {n} × {k}");
        let panel_count = n.div_ceil(NR);
        let mut panels = vec![0.0f32; panel_count * NR * k];
        for p in 0..panel_count {
            for kk in 0..k {
                for c in 0..NR {
                    let j = p * NR + c;
                    if j < n {
                        panels[(p * k + kk) * NR + c] = rows[j * k + kk];
                    }
                }
            }
        }
        PackedWeights {
            n,
            k,
            panels,
            rows: rows.to_vec(),
        }
    }

    /// The weights as given, `n × k` row-major.
    pub fn rows(&self) -> &[f32] {
        &self.rows
    }
}

/// `dst = lhs · Wᵀ` inside `mem` for a tile, like [`crate::tile_product`] but with weights packed
/// once. Returns `false` without touching `mem` when the shape does not fit (see
/// [`TileProduct::fits`]) or disagrees with the weights.
pub fn packed_tile_product(mem: &mut [f32], w: &PackedWeights, p: TileProduct) -> bool {
    if p.n != w.n || p.k != w.k || !p.fits(mem.len(), w.rows.len()) {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    if p.k > 0 && crate::simd::level() == crate::simd::Level::Avx512 {
        // SAFETY: the level is only Avx512 when the CPU has AVX-512F (and FMA); `fits` checked
        // that every row of both operands lies inside `mem` and that their columns are disjoint,
        // and the panels hold `ceil(n/32) · 32 · k` values, which is what the kernel reads.
        unsafe { avx512::product(mem, w, p) };
        return true;
    }
    crate::tile_product(mem, &w.rows, p)
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{MR, NR, PackedWeights};
    use crate::TileProduct;
    use std::arch::x86_64::*;

    /// # Safety
    /// AVX-512F and FMA available; `p` fits `mem` (rows inside, columns disjoint), `p.k > 0`,
    /// and `w` is `p.n × p.k`.
    #[target_feature(enable = "avx512f,fma")]
    pub(super) unsafe fn product(mem: &mut [f32], w: &PackedWeights, p: TileProduct) {
        let base = mem.as_mut_ptr();
        for panel in 0..p.n.div_ceil(NR) {
            let b = w.panels[panel * NR * p.k..].as_ptr();
            let cols = (p.n - panel * NR).min(NR);
            let mut row = 0;
            while row < p.m {
                let rows = (p.m - row).min(MR);
                // SAFETY: rows `row..row + rows` are below `m`, so inside `mem` (the caller's
                // `fits`); columns `dst + 32·panel ..` for `cols` values are inside each row.
                unsafe {
                    let a = base.add(row * p.row_stride + p.lhs);
                    let c = base.add(row * p.row_stride + p.dst + panel * NR);
                    match rows {
                        6 => kernel::<6>(a, b, c, p.k, p.row_stride, cols),
                        5 => kernel::<5>(a, b, c, p.k, p.row_stride, cols),
                        4 => kernel::<4>(a, b, c, p.k, p.row_stride, cols),
                        3 => kernel::<3>(a, b, c, p.k, p.row_stride, cols),
                        2 => kernel::<2>(a, b, c, p.k, p.row_stride, cols),
                        _ => kernel::<1>(a, b, c, p.k, p.row_stride, cols),
                    }
                }
                row += rows;
            }
        }
    }

    /// `R` rows × 32 columns: `c[r][j] = Σ_kk a[r][kk] · b[kk][j]`, storing the first `cols`.
    ///
    /// # Safety
    /// `a` points at `R` rows of `k` readable values `stride` apart, `b` at `32 · k` values,
    /// `c` at `R` rows of `cols ≤ 32` writable values `stride` apart, not overlapping `a`'s.
    #[target_feature(enable = "avx512f,fma")]
    #[inline]
    unsafe fn kernel<const R: usize>(
        a: *const f32,
        b: *const f32,
        c: *mut f32,
        k: usize,
        stride: usize,
        cols: usize,
    ) {
        let mut lo = [_mm512_setzero_ps(); R];
        let mut hi = [_mm512_setzero_ps(); R];
        for kk in 0..k {
            // SAFETY: `kk < k`, so both loads stay inside the panel and each `a` read inside its row.
            unsafe {
                let b0 = _mm512_loadu_ps(b.add(kk * NR));
                let b1 = _mm512_loadu_ps(b.add(kk * NR + 16));
                for r in 0..R {
                    let x = _mm512_set1_ps(*a.add(r * stride + kk));
                    lo[r] = _mm512_fmadd_ps(x, b0, lo[r]);
                    hi[r] = _mm512_fmadd_ps(x, b1, hi[r]);
                }
            }
        }
        let mask_lo: __mmask16 = if cols >= 16 {
            0xffff
        } else {
            (1u32 << cols) as u16 - 1
        };
        let mask_hi: __mmask16 = if cols >= 32 {
            0xffff
        } else if cols > 16 {
            (1u32 << (cols - 16)) as u16 - 1
        } else {
            0
        };
        for r in 0..R {
            // SAFETY: the masks write only the first `cols` values of row `r`.
            unsafe {
                _mm512_mask_storeu_ps(c.add(r * stride), mask_lo, lo[r]);
                _mm512_mask_storeu_ps(c.add(r * stride + 16), mask_hi, hi[r]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(m: usize, n: usize, k: usize, lhs: usize, dst: usize, row_stride: usize) {
        crate::test_support::check_tile_product(
            (m, n, k),
            (lhs, dst, row_stride),
            |mem, rhs, p| packed_tile_product(mem, &PackedWeights::new(rhs, p.n, p.k), p),
        );
    }

    #[test]
    fn matches_the_reference_on_awkward_shapes() {
        check(63, 65, 67, 0, 67, 140);
        check(1, 1, 1, 0, 1, 2);
        check(17, 3, 250, 3, 260, 300);
        check(13, 300, 250, 0, 250, 550);
        check(5, 7, 2, 9, 0, 12);
        check(7, 33, 5, 0, 5, 40);
        check(6, 32, 16, 0, 16, 48);
        check(4, 5, 0, 0, 0, 5);
    }

    #[test]
    fn refuses_mismatched_weights() {
        let w = PackedWeights::new(&[1.0; 6], 2, 3);
        let mut mem = vec![0.0; 20];
        let p = TileProduct {
            m: 2,
            n: 3,
            k: 2,
            lhs: 0,
            dst: 2,
            row_stride: 10,
        };
        assert!(!packed_tile_product(&mut mem, &w, p));
    }
}
