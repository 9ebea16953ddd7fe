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
    let n = lhs.len().min(rhs.len());
    let (lhs, rhs) = (&lhs[..n], &rhs[..n]);
    let mut acc = [0.0f32; 8];
    let mut l = lhs.chunks_exact(8);
    let mut r = rhs.chunks_exact(8);
    for (a, b) in (&mut l).zip(&mut r) {
        for k in 0..8 {
            acc[k] += a[k] * b[k];
        }
    }
    let mut tail = 0.0f32;
    for (a, b) in l.remainder().iter().zip(r.remainder()) {
        tail += a * b;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
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
