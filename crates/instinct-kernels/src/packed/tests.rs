//! The packed product and the fused layer against the reference and the slice kernels.

use super::*;

#[test]
fn matches_the_reference_on_awkward_shapes() {
    for (shape, place) in crate::test_support::AWKWARD_TILES {
        crate::test_support::check_tile_product(shape, place, |mem, rhs, p| {
            packed_tile_product(mem, &PackedWeights::new(rhs, p.n, p.k), p)
        });
    }
}

#[test]
fn packed_affine_matches_rows_and_the_slice_kernels_on_every_level() {
    use crate::fast::{Kind, activate_at};
    let value = |i: usize, salt: usize| ((i * 7919 + salt * 104_729) % 2001) as f32 / 1000.0 - 1.0;
    for (n, k) in [
        (1, 1),
        (7, 2),
        (1, 7),
        (16, 3),
        (17, 9),
        (32, 32),
        (33, 1),
        (70, 5),
        (3, 0),
        (300, 250),
    ] {
        let rows: Vec<f32> = (0..n * k).map(|i| value(i, 1)).collect();
        let bias: Vec<f32> = (0..n).map(|i| value(i, 2)).collect();
        // Sums of order 1: EXP and friends amplify a sum's rounding by its size.
        let scale = 2.0 / (k.max(1) as f32).sqrt();
        let x: Vec<f32> = (0..k).map(|i| value(i, 3) * scale).collect();
        let w = PackedWeights::new(&rows, n, k);
        for kind in Kind::ALL {
            // The definition: exact sums, then the activation's own slice kernel.
            let mut expected: Vec<f32> = (0..n)
                .map(|o| {
                    let s: f64 = (0..k).map(|i| rows[o * k + i] as f64 * x[i] as f64).sum();
                    (s + bias[o] as f64) as f32
                })
                .collect();
            activate_at(Level::Scalar, kind, &mut expected, None);
            for level in Level::available() {
                let mut y = vec![f32::NAN; n];
                packed_affine_at(level, &w, &bias, &x, &mut y, kind);
                for (o, (got, want)) in y.iter().zip(&expected).enumerate() {
                    let ok = (got - want).abs() <= 1e-5 + 1e-5 * want.abs();
                    assert!(ok, "{level:?} {kind:?} {n}×{k} output {o}: {got} vs {want}");
                }
            }
        }
    }
}

#[test]
fn the_fused_layer_is_the_product_then_the_activation_bit_for_bit() {
    use crate::gemm::RowSpan;
    let level = crate::simd::level();
    for ((m, n, k), (lhs, dst, stride)) in crate::test_support::AWKWARD_TILES {
        let mem: Vec<f32> = crate::test_support::values(m * stride, 5);
        let weights = crate::test_support::values(n * k, 6);
        let bias = crate::test_support::values(n, 8);
        let w = PackedWeights::new(&weights, n, k);
        for kind in [
            Kind::Identity,
            Kind::Relu,
            Kind::Sigmoid,
            Kind::Tanh,
            Kind::Exp,
        ] {
            let p = TileProduct {
                m,
                n,
                k,
                lhs,
                dst,
                row_stride: stride,
            };
            let mut fused = mem.clone();
            if !packed_tile_layer(&mut fused, &w, &bias, kind, p) {
                assert!(!fuses(level, kind), "{kind:?} {m}x{n}x{k}");
                continue;
            }
            let mut two_steps = mem.clone();
            assert!(packed_tile_product(&mut two_steps, &w, p));
            for row in two_steps.chunks_exact_mut(stride) {
                crate::fast::activate_at(level, kind, &mut row[dst..dst + n], Some(&bias));
            }
            let same = fused
                .iter()
                .zip(&two_steps)
                .all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(same, "{kind:?} {m}x{n}x{k}: fused and two steps differ");
            // Between separate buffers, packed rows.
            let input: Vec<f32> = (0..m)
                .flat_map(|r| mem[r * stride + lhs..][..k].to_vec())
                .collect();
            let mut out = vec![f32::NAN; m * n];
            let (from, to) = (
                RowSpan {
                    offset: 0,
                    stride: k,
                },
                RowSpan {
                    offset: 0,
                    stride: n,
                },
            );
            assert!(packed_layer(&w, &bias, kind, m, &input, from, &mut out, to));
            for r in 0..m {
                let want = &two_steps[r * stride + dst..][..n];
                let same = out[r * n..][..n]
                    .iter()
                    .zip(want)
                    .all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(same, "{kind:?} {m}x{n}x{k}: row {r} between buffers");
            }
        }
    }
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
