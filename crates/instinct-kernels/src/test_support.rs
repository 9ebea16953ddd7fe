//! Helpers shared by the kernels' tests: seeded values and the tile-product check.

use crate::gemm::TileProduct;
use crate::gemm::tile_product_reference;

/// Deterministic values in [-1, 1).
pub(crate) fn values(n: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2_654_435_761).max(1);
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s % 2000) as f32 / 1000.0 - 1.0
        })
        .collect()
}

/// Runs `product(mem, weights, shape)` against the scalar reference on a tile whose other
/// values are NaN (so stray reads spread NaN into results and stray writes show up as changed
/// bits), and asserts the results agree within 1e-5 + 1e-5·|x| and nothing else changed.
pub(crate) fn check_tile_product(
    (m, n, k): (usize, usize, usize),
    (lhs, dst, row_stride): (usize, usize, usize),
    product: impl Fn(&mut [f32], &[f32], TileProduct) -> bool,
) {
    let p = TileProduct {
        m,
        n,
        k,
        lhs,
        dst,
        row_stride,
    };
    let mut mem = vec![f32::NAN; m * row_stride];
    let input = values(m * k, 7);
    for i in 0..m {
        mem[i * row_stride + lhs..][..k].copy_from_slice(&input[i * k..][..k]);
    }
    let rhs = values(n * k, 11);
    let mut fast = mem.clone();
    assert!(product(&mut fast, &rhs, p));
    assert!(tile_product_reference(&mut mem, &rhs, p));
    for (i, (f, r)) in fast.iter().zip(&mem).enumerate() {
        let col = i % row_stride;
        if (dst..dst + n).contains(&col) {
            assert!(
                (f - r).abs() <= 1e-5 + 1e-5 * r.abs(),
                "{m}x{n}x{k} at {i}: {f} vs {r}"
            );
        } else {
            assert_eq!(f.to_bits(), r.to_bits(), "{m}x{n}x{k}: stray write at {i}");
        }
    }
}

/// `((m, n, k), (lhs, dst, row_stride))` of a tile product.
pub(crate) type Tile = ((usize, usize, usize), (usize, usize, usize));

/// Tile shapes that catch edge cases: sizes that are not multiples of any kernel block, a single
/// element, the result before the operand in each row, last panels of 1, 12, 16 and 32 columns,
/// 300 outputs of 250 inputs (the seed model), and an empty inner dimension (zeros).
pub(crate) const AWKWARD_TILES: [Tile; 9] = [
    ((63, 65, 67), (0, 67, 140)),
    ((1, 1, 1), (0, 1, 2)),
    ((17, 3, 250), (3, 260, 300)),
    ((13, 300, 250), (0, 250, 550)),
    ((5, 7, 2), (9, 0, 12)),
    ((7, 33, 5), (0, 5, 40)),
    ((6, 32, 16), (0, 16, 48)),
    ((9, 44, 3), (0, 3, 50)),
    ((4, 5, 0), (0, 0, 5)),
];
