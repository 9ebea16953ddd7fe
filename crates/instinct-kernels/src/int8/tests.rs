//! The int8 kernels against the scalar reference (bit for bit, on every kernel this CPU runs)
//! and the quantisation rules.

use super::*;
use crate::simd::Level;
use proptest::prelude::*;

/// Every kernel this CPU can run.
fn kernels() -> Vec<Int8Kernel> {
    let mut all: Vec<Int8Kernel> = Level::available()
        .into_iter()
        .map(Int8Kernel::for_level)
        .collect();
    all.dedup();
    all
}

/// Values for a row: mostly ordinary, with the edges a row can hold when asked for.
fn value() -> impl Strategy<Value = f32> {
    prop_oneof![
        20 => -4.0f32..4.0,
        2 => Just(0.0f32),
        1 => Just(-0.0f32),
        1 => -1e30f32..1e30,
        1 => Just(f32::NAN),
        1 => Just(f32::INFINITY),
        1 => Just(f32::NEG_INFINITY),
        1 => -1e-38f32..1e-38,
    ]
}

/// Runs a tile through `kernel` in memory filled with NaN around the operands, and checks each
/// row against [`affine_reference`] bit for bit and that nothing outside the outputs changed.
fn check(kernel: Int8Kernel, case: &Case) -> Result<(), TestCaseError> {
    let Case {
        shape: (m, n, k),
        lhs_first,
        values,
        scales,
        bias,
        rows,
        quant,
    } = case;
    let (m, n, k, lhs_first, quant) = (*m, *n, *k, *lhs_first, *quant);
    let (lhs, dst) = if lhs_first {
        (1, 1 + k + 2)
    } else {
        (n + 3, 0)
    };
    let stride = lhs.max(dst) + if lhs_first { n } else { k } + 1;
    let mut mem = vec![f32::NAN; m * stride];
    for r in 0..m {
        mem[r * stride + lhs..][..k].copy_from_slice(&rows[r * k..][..k]);
    }
    let before = mem.clone();
    let w = Int8Weights::new(values, scales, n, k, kernel);
    let reference = Int8Weights::new(values, scales, n, k, Int8Kernel::Portable);
    let p = TileProduct {
        m,
        n,
        k,
        lhs,
        dst,
        row_stride: stride,
    };
    prop_assert!(int8_tile_product(&mut mem, &w, bias, quant, p));
    for r in 0..m {
        let mut want = vec![0.0f32; n];
        affine_reference(&reference, bias, quant, &rows[r * k..][..k], &mut want);
        for c in 0..stride {
            let (got, was) = (mem[r * stride + c], before[r * stride + c]);
            if (dst..dst + n).contains(&c) {
                let want = want[c - dst];
                prop_assert_eq!(
                    got.to_bits(),
                    want.to_bits(),
                    "{:?} {}×{}×{} row {} output {}: {} vs {}",
                    kernel,
                    m,
                    n,
                    k,
                    r,
                    c - dst,
                    got,
                    want
                );
            } else {
                prop_assert_eq!(got.to_bits(), was.to_bits(), "stray write at {}, {}", r, c);
            }
        }
    }
    Ok(())
}

/// One random tile: its shape, where the operand lies, the layer and the rows.
#[derive(Debug, Clone)]
struct Case {
    shape: (usize, usize, usize),
    lhs_first: bool,
    values: Vec<i8>,
    scales: Vec<f32>,
    bias: Vec<f32>,
    rows: Vec<f32>,
    quant: InputQuantization,
}

fn case() -> impl Strategy<Value = Case> {
    (1usize..30, 1usize..70, 0usize..70, any::<bool>()).prop_flat_map(|(m, n, k, lhs_first)| {
        (
            proptest::collection::vec(-127i8..=127, n * k),
            proptest::collection::vec(1e-4f32..1.0, n),
            proptest::collection::vec(-2.0f32..2.0, n),
            proptest::collection::vec(value(), m * k),
            prop_oneof![
                3 => Just(InputQuantization::Dynamic),
                1 => (1e-3f32..0.5, any::<u8>())
                    .prop_map(|(scale, zero_point)| InputQuantization::Static { scale, zero_point }),
            ],
        )
            .prop_map(move |(values, scales, bias, rows, quant)| Case {
                shape: (m, n, k),
                lhs_first,
                values,
                scales,
                bias,
                rows,
                quant,
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn every_kernel_is_the_reference_bit_for_bit(case in case()) {
        for kernel in kernels() {
            check(kernel, &case)?;
        }
    }

    #[test]
    fn quantised_values_round_trip_within_half_a_step(
        row in proptest::collection::vec(-100.0f32..100.0, 1..300)
    ) {
        let s = RowScale::of(InputQuantization::Dynamic, &row);
        for &x in &row {
            let back = (i32::from(quantize_value(x, s)) - s.zero_point) as f32 * s.scale;
            prop_assert!((back - x).abs() <= 0.5001 * s.scale + 1e-6, "{} → {}", x, back);
        }
        prop_assert_eq!(i32::from(quantize_value(0.0, s)), s.zero_point);
    }
}

#[test]
fn the_seed_shape_matches_on_every_kernel() {
    // 300 outputs of 250 inputs over 37 rows: whole and partial panels and row blocks.
    let (m, n, k) = (37, 300, 250);
    let data = crate::test_support::values(n * k + m * k + n, 3);
    let (values, scales) = quantize_weights(&data[..n * k], n, k);
    let rows = &data[n * k..n * k + m * k];
    let bias = &data[n * k + m * k..];
    for kernel in kernels() {
        for quant in [
            InputQuantization::Dynamic,
            InputQuantization::Static {
                scale: 2.0 / 255.0,
                zero_point: 128,
            },
        ] {
            let case = Case {
                shape: (m, n, k),
                lhs_first: true,
                values: values.clone(),
                scales: scales.clone(),
                bias: bias.to_vec(),
                rows: rows.to_vec(),
                quant,
            };
            check(kernel, &case).unwrap();
        }
    }
}

#[test]
fn the_int8_layer_is_close_to_the_f32_layer() {
    // The error bound of the scheme: half an input step times Σ|w| plus half a weight step
    // times Σ|x| per output (and rounding).
    let (n, k) = (64, 200);
    let data = crate::test_support::values(n * k + k, 5);
    let (w, x) = (&data[..n * k], &data[n * k..]);
    let (values, scales) = quantize_weights(w, n, k);
    let weights = Int8Weights::new(&values, &scales, n, k, Int8Kernel::Portable);
    let bias = vec![0.25f32; n];
    let mut y = vec![0.0f32; n];
    affine_reference(&weights, &bias, InputQuantization::Dynamic, x, &mut y);
    let s = RowScale::of(InputQuantization::Dynamic, x);
    for j in 0..n {
        let row = &w[j * k..][..k];
        let exact: f64 = row
            .iter()
            .zip(x)
            .map(|(a, b)| f64::from(*a) * f64::from(*b))
            .sum::<f64>()
            + 0.25;
        let bound = 0.5 * f64::from(s.scale) * row.iter().map(|v| f64::from(v.abs())).sum::<f64>()
            + 0.5 * f64::from(scales[j]) * x.iter().map(|v| f64::from(v.abs())).sum::<f64>()
            + 1e-4;
        assert!(
            (f64::from(y[j]) - exact).abs() <= bound,
            "output {j}: {} vs {exact} (bound {bound})",
            y[j]
        );
    }
}

#[test]
fn a_zero_row_gives_the_bias_and_weights_quantise_symmetrically() {
    let (values, scales) = quantize_weights(&[0.5, -1.0, 0.25, 0.0, 0.0, 0.0], 2, 3);
    assert_eq!(values, [64, -127, 32, 0, 0, 0]);
    assert_eq!(scales, [1.0 / 127.0, 1.0]);
    for kernel in kernels() {
        let w = Int8Weights::new(&values, &scales, 2, 3, kernel);
        let mut mem = [0.0f32, -0.0, 0.0, 9.0, 9.0];
        let p = TileProduct {
            m: 1,
            n: 2,
            k: 3,
            lhs: 0,
            dst: 3,
            row_stride: 5,
        };
        assert!(int8_tile_product(
            &mut mem,
            &w,
            &[0.5, -2.0],
            InputQuantization::Dynamic,
            p
        ));
        assert_eq!(mem[3..], [0.5, -2.0], "{kernel:?}");
    }
}

#[test]
fn refuses_mismatched_shapes() {
    let w = Int8Weights::new(&[1; 6], &[1.0; 2], 2, 3, Int8Kernel::Portable);
    let mut mem = [0.0f32; 10];
    let p = TileProduct {
        m: 1,
        n: 2,
        k: 2,
        lhs: 0,
        dst: 3,
        row_stride: 5,
    };
    assert!(!int8_tile_product(
        &mut mem,
        &w,
        &[0.0; 2],
        InputQuantization::Dynamic,
        p
    ));
    let p = TileProduct {
        m: 1,
        n: 2,
        k: 3,
        lhs: 0,
        dst: 3,
        row_stride: 5,
    };
    assert!(!int8_tile_product(
        &mut mem,
        &w,
        &[0.0; 1],
        InputQuantization::Dynamic,
        p
    ));
    assert!(int8_tile_product(
        &mut mem,
        &w,
        &[0.0; 2],
        InputQuantization::Dynamic,
        p
    ));
}
