//! Dot products.

/// `Σ lhs[i]·rhs[i]` over the shorter of the two slices.
///
/// Eight independent partial sums (combined pairwise at the end) let the compiler keep several
/// additions in flight and vectorise; the order differs from a left-to-right sum by rounding only.
///
/// ```
/// assert_eq!(instinct_kernels::dot(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]), 32.0);
/// ```
#[inline]
pub fn dot(lhs: &[f32], rhs: &[f32]) -> f32 {
    dot_at(crate::simd::level(), lhs, rhs)
}

/// Affine rows: `y[r] = dot(W[r], x) + b[r]` for a row-major `W` of `y.len()` rows of
/// `x.len()` values, at the process's SIMD level (one dispatch for all rows).
///
/// # Panics
/// When `weights` is not `y.len() × x.len()` values or `bias` not `y.len()`.
#[inline]
pub fn affine(weights: &[f32], bias: &[f32], x: &[f32], y: &mut [f32]) {
    affine_at(crate::simd::level(), weights, bias, x, y);
}

#[inline(always)]
fn affine_body(weights: &[f32], bias: &[f32], x: &[f32], y: &mut [f32]) {
    assert!(
        bias.len() == y.len() && weights.len() == y.len() * x.len(),
        "affine: {} weights and {} biases do not make {} rows of {} values",
        weights.len(),
        bias.len(),
        y.len(),
        x.len()
    );
    if x.is_empty() {
        y.copy_from_slice(&bias[..y.len()]);
        return;
    }
    for ((out, row), b) in y.iter_mut().zip(weights.chunks_exact(x.len())).zip(bias) {
        *out = dot_body(row, x) + b;
    }
}

crate::simd::multiversion! {
    /// [`affine`] compiled for `level`.
    pub fn affine_at(weights: &[f32], bias: &[f32], x: &[f32], y: &mut [f32]) => affine_body
}

crate::simd::multiversion! {
    /// [`dot`] compiled for `level`. Every level performs the same multiplications and
    /// additions in the same order (no fused multiply-add), so results are bit-identical across
    /// levels.
    pub fn dot_at(lhs: &[f32], rhs: &[f32]) -> f32 => dot_body
}

/// Partial sums of [`dot_body`]: one AVX-512 vector, two AVX2 vectors, four SSE vectors (16
/// measured fastest on the seed model; 8 and 32 were slower).
const LANES: usize = 16;

/// The portable dot product (the body every level compiles): `LANES` partial sums over the
/// aligned part, combined pairwise, then the tail left to right.
#[inline(always)]
fn dot_body(lhs: &[f32], rhs: &[f32]) -> f32 {
    let n = lhs.len().min(rhs.len());
    let (lhs, rhs) = (&lhs[..n], &rhs[..n]);
    let mut acc = [0.0f32; LANES];
    let mut l = lhs.chunks_exact(LANES);
    let mut r = rhs.chunks_exact(LANES);
    for (a, b) in (&mut l).zip(&mut r) {
        for k in 0..LANES {
            acc[k] += a[k] * b[k];
        }
    }
    let mut tail = 0.0f32;
    for (a, b) in l.remainder().iter().zip(r.remainder()) {
        tail += a * b;
    }
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for k in 0..width {
            acc[k] += acc[k + width];
        }
    }
    acc[0] + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_an_f64_sum_on_awkward_lengths() {
        for n in [0usize, 1, 7, 8, 9, 15, 16, 17, 63, 65, 250] {
            let a: Vec<f32> = (0..n)
                .map(|i| ((i * 37 % 11) as f32 - 5.0) * 0.25)
                .collect();
            let b: Vec<f32> = (0..n).map(|i| ((i * 13 % 7) as f32 - 3.0) * 0.5).collect();
            let exact: f64 = a.iter().zip(&b).map(|(x, y)| *x as f64 * *y as f64).sum();
            // Every product and partial sum is a multiple of 1/8 well inside f32's exact range.
            assert_eq!(dot(&a, &b) as f64, exact, "n = {n}");
        }
    }

    #[test]
    fn uses_the_shorter_slice() {
        assert_eq!(dot(&[1.0, 1.0, 1.0], &[2.0]), 2.0);
    }
}
