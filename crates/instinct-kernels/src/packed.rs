//! A matrix product with the weights packed once: `PackedWeights` holds `Wᵀ` in panels of 32
//! output columns, and `packed_tile_product` computes a tile's `lhs · Wᵀ` with an AVX-512
//! micro-kernel that reads the tile's rows in place (no per-call packing, no allocation). Without
//! AVX-512 it falls back to [`crate::gemm::tile_product`]. `packed_affine` runs one sample through the
//! same panels with the bias and activation fused (the per-sample path of small models).

use crate::fast::Kind;
use crate::gemm::TileProduct;
use crate::simd::Level;

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

/// `dst = lhs · Wᵀ` inside `mem` for a tile, like [`crate::gemm::tile_product`] but with weights packed
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
    crate::gemm::tile_product(mem, &w.rows, p)
}

/// Whether [`packed_layer`] and [`packed_tile_layer`] fuse `kind` (ReLU, sigmoid, tanh or
/// none) at `level`: only the AVX-512 kernel does, and only these activations.
pub fn fuses(level: Level, kind: Kind) -> bool {
    level == Level::Avx512
        && Level::Avx512.is_available()
        && matches!(
            kind,
            Kind::Identity | Kind::Relu | Kind::Sigmoid | Kind::Tanh
        )
}

/// One dense layer over `rows` rows with the bias and the activation fused into the tile
/// kernel's stores: `output row = act(input row · Wᵀ + bias)`, the input rows at `from` in
/// `input`, the output rows at `to` in `output`. The same values as
/// [`packed_tile_product`] followed by [`crate::fast::activate`] with the bias, without the
/// pass over the outputs. Returns `false` without writing when [`fuses`] does not hold for
/// the process's level, or a shape disagrees with the weights or a row would fall outside its
/// slice.
#[allow(clippy::too_many_arguments)]
pub fn packed_layer(
    w: &PackedWeights,
    bias: &[f32],
    kind: Kind,
    rows: usize,
    input: &[f32],
    from: crate::gemm::RowSpan,
    output: &mut [f32],
    to: crate::gemm::RowSpan,
) -> bool {
    if !fuses(crate::simd::level(), kind)
        || bias.len() != w.n
        || !from.fits(rows, w.k, input.len())
        || !to.fits(rows, w.n, output.len())
    {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `fuses` checked the CPU has AVX-512; both spans were checked to hold their rows
    // inside their slices, which are distinct (one shared, one mutable borrow).
    unsafe {
        avx512::layer(
            input.as_ptr().add(from.offset),
            from.stride,
            output.as_mut_ptr().add(to.offset),
            to.stride,
            rows,
            w,
            bias,
            kind,
        );
    }
    true
}

/// [`packed_layer`] inside one buffer of sample rows (see [`TileProduct`]): the operand and
/// the result are different columns of the same rows.
pub fn packed_tile_layer(
    mem: &mut [f32],
    w: &PackedWeights,
    bias: &[f32],
    kind: Kind,
    p: TileProduct,
) -> bool {
    if !fuses(crate::simd::level(), kind)
        || bias.len() != w.n
        || p.n != w.n
        || p.k != w.k
        || !p.fits(mem.len(), w.rows.len())
    {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `fuses` checked the CPU has AVX-512; `fits` checked that every row of the
    // operand and of the result lies inside `mem` and that their columns are disjoint.
    unsafe {
        let base = mem.as_mut_ptr();
        avx512::layer(
            base.add(p.lhs),
            p.row_stride,
            base.add(p.dst),
            p.row_stride,
            p.m,
            w,
            bias,
            kind,
        );
    }
    true
}

/// [`packed_affine_at`] with the level and the activation resolved once, so that a plan that
/// stores one per dense layer calls straight into the right compiled kernel for every sample.
#[derive(Clone, Copy)]
pub struct AffineKernel {
    run: AffineFn,
    kind: Kind,
}

/// A compiled kernel; `unsafe` because the AVX-512 ones need the CPU features.
type AffineFn = unsafe fn(&PackedWeights, &[f32], &[f32], &mut [f32], Kind);

impl std::fmt::Debug for AffineKernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AffineKernel")
            .field("kind", &self.kind)
            .finish()
    }
}

impl AffineKernel {
    /// The kernel for `kind` at `level` (a level this CPU cannot run falls back to the best it
    /// can below it, as [`packed_affine_at`] does).
    pub fn new(level: Level, kind: Kind) -> AffineKernel {
        #[cfg(target_arch = "x86_64")]
        if level == Level::Avx512 && Level::Avx512.is_available() {
            return AffineKernel {
                run: crate::with_kind!(kind, avx512_entry()),
                kind,
            };
        }
        let run: AffineFn = match level {
            Level::Avx512 | Level::Avx2 if Level::Avx2.is_available() => portable::<2>,
            _ => portable::<0>,
        };
        AffineKernel { run, kind }
    }

    /// `y = act(W·x + b)` for one sample.
    ///
    /// # Panics
    /// When `x`, `y` or `bias` do not match the weights' `k`, `n` and `n`.
    #[inline]
    pub fn run(&self, w: &PackedWeights, bias: &[f32], x: &[f32], y: &mut [f32]) {
        check_affine(w, bias, x, y);
        // SAFETY: `new` only chooses an AVX-512 kernel on a CPU that has AVX-512; lengths were
        // checked just above.
        unsafe { (self.run)(w, bias, x, y, self.kind) }
    }
}

/// The AVX-512 kernel of activation `K`, as a function pointer.
#[cfg(target_arch = "x86_64")]
fn avx512_entry<const K: u8>() -> AffineFn {
    avx512::affine_entry::<K>
}

/// The kernel below AVX-512: row dot products and the slice kernel, at level `L` (0 scalar,
/// 2 AVX2).
fn portable<const L: u8>(w: &PackedWeights, bias: &[f32], x: &[f32], y: &mut [f32], kind: Kind) {
    let level = if L == 2 { Level::Avx2 } else { Level::Scalar };
    crate::dot::affine_at(level, &w.rows, bias, x, y);
    crate::fast::activate_at(level, kind, y, None);
}

fn check_affine(w: &PackedWeights, bias: &[f32], x: &[f32], y: &[f32]) {
    assert!(
        x.len() == w.k && y.len() == w.n && bias.len() == w.n,
        "packed_affine: {} inputs, {} outputs and {} biases for {} × {} weights",
        x.len(),
        y.len(),
        bias.len(),
        w.n,
        w.k
    );
}

/// One sample through a dense layer, `y = act(W·x + b)`, at the process's SIMD level.
///
/// # Panics
/// When `x`, `y` or `bias` do not match the weights' `k`, `n` and `n`.
#[inline]
pub fn packed_affine(w: &PackedWeights, bias: &[f32], x: &[f32], y: &mut [f32], kind: Kind) {
    packed_affine_at(crate::simd::level(), w, bias, x, y, kind);
}

/// [`packed_affine`] at `level`. With AVX-512 every 32 outputs are computed in registers over
/// the packed panels (two accumulator pairs over alternate inputs), and the activation is
/// applied before they are stored; below it, [`crate::dot::affine_at`] over the rows and then
/// [`crate::fast::activate_at`].
///
/// # Panics
/// As [`packed_affine`].
pub fn packed_affine_at(
    level: Level,
    w: &PackedWeights,
    bias: &[f32],
    x: &[f32],
    y: &mut [f32],
    kind: Kind,
) {
    AffineKernel::new(level, kind).run(w, bias, x, y);
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{MR, NR, PackedWeights};
    use crate::fast::{self, Kind};
    use crate::gemm::TileProduct;
    use crate::vector::{F32x8, F32x16, Lanes, accumulate_dense, first_lanes as lanes};
    use std::arch::x86_64::*;

    /// `y = act(W·x + b)` for activation `K`, with the signature of [`super::AffineFn`].
    ///
    /// # Safety
    /// The CPU has the features below; `x.len() == w.k`, `y.len() == bias.len() == w.n`.
    #[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")]
    pub(super) unsafe fn affine_entry<const K: u8>(
        w: &PackedWeights,
        bias: &[f32],
        x: &[f32],
        y: &mut [f32],
        _kind: Kind,
    ) {
        affine_kind::<K>(w, bias, x, y);
        if K == Kind::Softmax as u8 {
            fast::activate_inline(Kind::Softmax, y);
        }
    }

    /// `y = act(W·x + b)` with the activation of code `K` applied in registers (SOFTMAX is left
    /// to the caller).
    #[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")]
    fn affine_kind<const K: u8>(w: &PackedWeights, bias: &[f32], x: &[f32], y: &mut [f32]) {
        let (n, k) = (w.n, w.k);
        let xs = x.as_ptr();
        for panel in 0..n.div_ceil(NR) {
            let start = panel * NR;
            let cols = (n - start).min(NR);
            let (mask_lo, mask_hi) = (lanes(cols), lanes(cols.saturating_sub(16)));
            let b = w.panels[panel * NR * k..].as_ptr();
            // SAFETY: the masks keep the bias loads inside `bias[start..start + cols]` (the upper
            // half's address, past `bias` when its mask is empty, is formed with `wrapping_add`);
            // each panel holds `32 · k` values and `kk < k` below; `xs.add(kk)` is inside `x`.
            let (lo, hi) = unsafe {
                accumulate_dense(
                    k,
                    cols > 16,
                    (
                        _mm512_maskz_loadu_ps(mask_lo, bias.as_ptr().add(start)),
                        _mm512_maskz_loadu_ps(mask_hi, bias.as_ptr().wrapping_add(start + 16)),
                    ),
                    |kk| _mm512_set1_ps(*xs.add(kk)),
                    |kk, half| _mm512_loadu_ps(b.add(kk * NR + half)),
                )
            };
            let (lo, hi) = (
                fast::apply::<K, F32x16>(F32x16(lo)),
                fast::apply::<K, F32x16>(F32x16(hi)),
            );
            // SAFETY: the masks write `y[start..start + cols]` (`y.len() == n`); the upper half's
            // address may lie past `y` when its mask is empty, hence `wrapping_add` (no access).
            unsafe {
                let out = y.as_mut_ptr().add(start);
                _mm512_mask_storeu_ps(out, mask_lo, lo.0);
                _mm512_mask_storeu_ps(out.wrapping_add(16), mask_hi, hi.0);
            }
        }
    }

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
                    // A last panel of at most 16 columns (300 = 9·32 + 12, 200 = 6·32 + 8)
                    // computes only its lower half: half the work of a full panel.
                    macro_rules! rows {
                        ($two:literal) => {
                            match rows {
                                6 => kernel::<6, $two>(a, b, c, p.k, p.row_stride, cols),
                                5 => kernel::<5, $two>(a, b, c, p.k, p.row_stride, cols),
                                4 => kernel::<4, $two>(a, b, c, p.k, p.row_stride, cols),
                                3 => kernel::<3, $two>(a, b, c, p.k, p.row_stride, cols),
                                2 => kernel::<2, $two>(a, b, c, p.k, p.row_stride, cols),
                                _ => kernel::<1, $two>(a, b, c, p.k, p.row_stride, cols),
                            }
                        };
                    }
                    if cols > 16 { rows!(true) } else { rows!(false) }
                }
                row += rows;
            }
        }
    }

    /// `rows` rows from `a` (`a_stride` apart) through the layer into `c` (`c_stride` apart),
    /// the bias added and the activation applied before the stores.
    ///
    /// # Safety
    /// AVX-512F and FMA; `a` points at `rows` rows of `w.k` readable values, `c` at `rows` rows
    /// of `w.n` writable values, not overlapping `a`'s; `bias` holds `w.n` values.
    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")]
    pub(super) unsafe fn layer(
        a: *const f32,
        a_stride: usize,
        c: *mut f32,
        c_stride: usize,
        rows: usize,
        w: &PackedWeights,
        bias: &[f32],
        kind: Kind,
    ) {
        // SAFETY: passed on as the caller promised.
        unsafe {
            match kind {
                Kind::Relu => {
                    layer_kind::<{ Kind::Relu as u8 }>(a, a_stride, c, c_stride, rows, w, bias)
                }
                Kind::Sigmoid => {
                    layer_kind::<{ Kind::Sigmoid as u8 }>(a, a_stride, c, c_stride, rows, w, bias)
                }
                Kind::Tanh => {
                    layer_kind::<{ Kind::Tanh as u8 }>(a, a_stride, c, c_stride, rows, w, bias)
                }
                _ => {
                    layer_kind::<{ Kind::Identity as u8 }>(a, a_stride, c, c_stride, rows, w, bias)
                }
            }
        }
    }

    /// [`layer`] with activation code `K`.
    ///
    /// # Safety
    /// As [`layer`].
    #[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")]
    unsafe fn layer_kind<const K: u8>(
        a: *const f32,
        a_stride: usize,
        c: *mut f32,
        c_stride: usize,
        rows: usize,
        w: &PackedWeights,
        bias: &[f32],
    ) {
        for panel in 0..w.n.div_ceil(NR) {
            let b = w.panels[panel * NR * w.k..].as_ptr();
            let cols = (w.n - panel * NR).min(NR);
            let bias = bias[panel * NR..].as_ptr();
            // One register a row (at most 16 columns) takes twice the rows, so that twelve
            // sums hide the latency of the multiply-adds, as the twelve of a full panel do.
            let group = if cols > 16 { MR } else { 2 * MR };
            let mut row = 0;
            while row < rows {
                let count = (rows - row).min(group);
                let at = Fused {
                    a: a.wrapping_add(row * a_stride),
                    a_stride,
                    b,
                    c: c.wrapping_add(row * c_stride + panel * NR),
                    c_stride,
                    k: w.k,
                    cols,
                    bias,
                };
                if panel == 0 {
                    // The first panel meets the rows first, often straight from memory (a
                    // caller's large batch): ask for the next group's while this one runs.
                    let next = (row + count)..(row + count + group).min(rows);
                    prefetch_rows(a, a_stride, next, w.k);
                }
                // SAFETY: rows `row..row + count` are inside both operands; the panel's
                // columns are inside each output row and the bias.
                unsafe {
                    macro_rules! rows {
                        ($two:literal, $v:ty, $($r:literal)*) => {
                            match count {
                                $($r => fused::<$r, $two, K, $v>(&at),)*
                                _ => fused::<1, $two, K, $v>(&at),
                            }
                        };
                    }
                    match cols {
                        17.. => rows!(true, F32x16, 6 5 4 3 2),
                        9..=16 => rows!(false, F32x16, 12 11 10 9 8 7 6 5 4 3 2),
                        _ => rows!(false, F32x8, 12 11 10 9 8 7 6 5 4 3 2),
                    }
                }
                row += count;
            }
        }
    }

    /// Asks for rows `rows` of `a` (`k` values each, `stride` apart) to be brought into the
    /// second-level cache. A hint only: no address is read, so any is sound.
    #[target_feature(enable = "avx512f")]
    #[inline]
    fn prefetch_rows(a: *const f32, stride: usize, rows: std::ops::Range<usize>, k: usize) {
        for r in rows {
            let row = a.wrapping_add(r * stride);
            for at in (0..k).step_by(16) {
                _mm_prefetch::<_MM_HINT_T1>(row.wrapping_add(at).cast::<i8>());
            }
        }
    }

    /// Where one block of the fused kernel reads and writes.
    struct Fused {
        a: *const f32,
        a_stride: usize,
        b: *const f32,
        c: *mut f32,
        c_stride: usize,
        k: usize,
        cols: usize,
        bias: *const f32,
    }

    /// [`kernel`] with separate operand and result strides and the bias and activation `K`
    /// applied before the stores, in registers `V`: two of sixteen lanes (`TWO`, for more
    /// than 16 columns), one of sixteen (9 to 16) or one of eight (at most 8: a last panel of
    /// 8 columns, as 200 = 6·32 + 8 ends, costs half a sixteen-lane one). The sums are the
    /// same whatever the width: each lane adds its column's products in the order of `kk`.
    ///
    /// # Safety
    /// As [`kernel`] for `R` rows at `at`; `at.bias` holds `at.cols` values; `at.cols ≤
    /// V::LANES` when not `TWO`, and `V` is [`F32x16`] when `TWO`.
    #[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")]
    #[inline]
    unsafe fn fused<const R: usize, const TWO: bool, const K: u8, V: Lanes>(at: &Fused) {
        let zero = V::splat(0.0);
        let mut lo = [zero; R];
        let mut hi = [zero; R];
        for kk in 0..at.k {
            // SAFETY: `kk < k`, so both loads stay inside the panel and each `a` read inside its row.
            unsafe {
                let b0 = V::load(at.b.add(kk * NR));
                let b1 = if TWO {
                    V::load(at.b.add(kk * NR + V::LANES))
                } else {
                    zero
                };
                for r in 0..R {
                    let x = V::splat(*at.a.add(r * at.a_stride + kk));
                    lo[r] = x.mul_add(b0, lo[r]);
                    if TWO {
                        hi[r] = x.mul_add(b1, hi[r]);
                    }
                }
            }
        }
        let lo_cols = at.cols.min(V::LANES);
        let hi_cols = at.cols - lo_cols;
        // SAFETY: `lo_cols` and `hi_cols` split the panel's `cols` values, so the bias loads
        // and the row stores below stay inside them.
        unsafe {
            let load = |p: *const f32, n: usize| {
                if n == V::LANES {
                    V::load(p)
                } else {
                    V::load_first(p, n)
                }
            };
            let bias_lo = load(at.bias, lo_cols);
            let bias_hi = if TWO {
                load(at.bias.add(V::LANES), hi_cols)
            } else {
                zero
            };
            let store = |v: V, p: *mut f32, n: usize| {
                let v = fast::apply::<K, V>(v);
                if n == V::LANES {
                    v.store(p)
                } else {
                    v.store_first(p, n)
                }
            };
            for r in 0..R {
                let y = at.c.add(r * at.c_stride);
                store(lo[r].add(bias_lo), y, lo_cols);
                if TWO {
                    store(hi[r].add(bias_hi), y.add(V::LANES), hi_cols);
                }
            }
        }
    }

    /// `R` rows × 32 columns: `c[r][j] = Σ_kk a[r][kk] · b[kk][j]`, storing the first `cols`;
    /// without `TWO` only the lower 16 columns are computed (for `cols ≤ 16`).
    ///
    /// # Safety
    /// `a` points at `R` rows of `k` readable values `stride` apart, `b` at `32 · k` values,
    /// `c` at `R` rows of `cols ≤ 32` writable values `stride` apart, not overlapping `a`'s;
    /// `cols ≤ 16` when not `TWO`.
    #[target_feature(enable = "avx512f,fma")]
    #[inline]
    unsafe fn kernel<const R: usize, const TWO: bool>(
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
                let b1 = if TWO {
                    _mm512_loadu_ps(b.add(kk * NR + 16))
                } else {
                    _mm512_setzero_ps()
                };
                for r in 0..R {
                    let x = _mm512_set1_ps(*a.add(r * stride + kk));
                    lo[r] = _mm512_fmadd_ps(x, b0, lo[r]);
                    if TWO {
                        hi[r] = _mm512_fmadd_ps(x, b1, hi[r]);
                    }
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
            // SAFETY: the masks write only the first `cols` values of row `r` (an empty mask's
            // address may lie past the end, hence `wrapping_add`: no access happens).
            unsafe {
                _mm512_mask_storeu_ps(c.add(r * stride), mask_lo, lo[r]);
                _mm512_mask_storeu_ps(c.wrapping_add(r * stride + 16), mask_hi, hi[r]);
            }
        }
    }
}

#[cfg(test)]
mod tests;
