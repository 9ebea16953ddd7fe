//! The int8 kernels against the scalar reference (bit for bit, on every kernel this CPU runs)
//! and the quantisation rules.

use super::*;
use crate::fast::Kind;
use crate::simd::Level;
use proptest::prelude::*;

/// Every level this CPU can run (each has its kernel).
fn kernels() -> Vec<Level> {
    Level::available()
}

/// Activations to fuse: every kind.
fn kinds() -> impl Strategy<Value = Kind> {
    proptest::sample::select(Kind::ALL.to_vec())
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

/// Runs a tile through the kernel of `level` in memory filled with NaN around the operands,
/// and checks each row against [`affine_reference`] bit for bit and that nothing outside the
/// outputs changed; and the same rows between separate buffers.
fn check(level: Level, case: &Case) -> Result<(), TestCaseError> {
    let Case {
        shape: (m, n, k),
        lhs_first,
        values,
        scales,
        bias,
        rows,
        quant,
        kind,
    } = case;
    let (m, n, k, lhs_first, quant, kind) = (*m, *n, *k, *lhs_first, *quant, *kind);
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
    let w = Int8Weights::new(values, scales, n, k, level);
    let kernel = w.kernel();
    let reference = Int8Weights::new(values, scales, n, k, Level::Scalar);
    let layer = Int8Layer {
        weights: &w,
        bias,
        quant,
        kind,
    };
    let p = TileProduct {
        m,
        n,
        k,
        lhs,
        dst,
        row_stride: stride,
    };
    prop_assert!(int8_tile_product(&mut mem, layer, p));
    // The same rows between separate buffers, packed.
    let mut apart = vec![f32::NAN; m * n];
    let from = RowSpan {
        offset: 0,
        stride: k,
    };
    let to = RowSpan {
        offset: 0,
        stride: n,
    };
    prop_assert!(int8_product(layer, m, rows, from, &mut apart, to));
    for r in 0..m {
        let mut want = vec![0.0f32; n];
        affine_reference(
            &reference,
            bias,
            quant,
            kind,
            w.level(),
            &rows[r * k..][..k],
            &mut want,
        );
        let same = apart[r * n..][..n]
            .iter()
            .zip(&want)
            .all(|(a, b)| a.to_bits() == b.to_bits());
        prop_assert!(
            same,
            "{:?} {:?}: separate buffers differ in row {}",
            kernel,
            kind,
            r
        );
        for c in 0..stride {
            let (got, was) = (mem[r * stride + c], before[r * stride + c]);
            if (dst..dst + n).contains(&c) {
                let want = want[c - dst];
                prop_assert_eq!(
                    got.to_bits(),
                    want.to_bits(),
                    "{:?} {:?} {}×{}×{} row {} output {}: {} vs {}",
                    kernel,
                    kind,
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
    kind: Kind,
}

fn case() -> impl Strategy<Value = Case> {
    (1usize..30, 1usize..70, 0usize..150, any::<bool>()).prop_flat_map(|(m, n, k, lhs_first)| {
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
            kinds(),
        )
            .prop_map(move |(values, scales, bias, rows, quant, kind)| Case {
                shape: (m, n, k),
                lhs_first,
                values,
                scales,
                bias,
                rows,
                quant,
                kind,
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
                kind: Kind::Sigmoid,
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
    let weights = Int8Weights::new(&values, &scales, n, k, Level::Scalar);
    let bias = vec![0.25f32; n];
    let mut y = vec![0.0f32; n];
    let (dynamic, identity) = (InputQuantization::Dynamic, Kind::Identity);
    affine_reference(&weights, &bias, dynamic, identity, Level::Scalar, x, &mut y);
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
    for level in kernels() {
        let w = Int8Weights::new(&values, &scales, 2, 3, level);
        let mut mem = [0.0f32, -0.0, 0.0, 9.0, 9.0];
        let p = TileProduct {
            m: 1,
            n: 2,
            k: 3,
            lhs: 0,
            dst: 3,
            row_stride: 5,
        };
        let layer = Int8Layer {
            weights: &w,
            bias: &[0.5, -2.0],
            quant: InputQuantization::Dynamic,
            kind: Kind::Identity,
        };
        assert!(int8_tile_product(&mut mem, layer, p));
        assert_eq!(mem[3..], [0.5, -2.0], "{level:?}");
    }
}

#[test]
fn refuses_mismatched_shapes() {
    let w = Int8Weights::new(&[1; 6], &[1.0; 2], 2, 3, Level::Scalar);
    let layer = |bias| Int8Layer {
        weights: &w,
        bias,
        quant: InputQuantization::Dynamic,
        kind: Kind::Relu,
    };
    let tile = |k| TileProduct {
        m: 1,
        n: 2,
        k,
        lhs: 0,
        dst: 3,
        row_stride: 5,
    };
    let mut mem = [0.0f32; 10];
    assert!(!int8_tile_product(&mut mem, layer(&[0.0; 2]), tile(2)));
    assert!(!int8_tile_product(&mut mem, layer(&[0.0; 1]), tile(3)));
    assert!(int8_tile_product(&mut mem, layer(&[0.0; 2]), tile(3)));
    // Rows past the end of either slice.
    let from = RowSpan {
        offset: 0,
        stride: 3,
    };
    let to = RowSpan {
        offset: 0,
        stride: 2,
    };
    let mut out = [0.0f32; 4];
    assert!(!int8_product(
        layer(&[0.0; 2]),
        3,
        &[0.0; 6],
        from,
        &mut out,
        to
    ));
    assert!(!int8_product(
        layer(&[0.0; 2]),
        3,
        &[0.0; 9],
        from,
        &mut out,
        to
    ));
    assert!(int8_product(
        layer(&[0.0; 2]),
        2,
        &[0.0; 6],
        from,
        &mut out,
        to
    ));
}

/// One layer of a random chain: values, scales, bias, input quantisation, activation.
type ChainLayer = (Vec<i8>, Vec<f32>, Vec<f32>, InputQuantization, Kind);

/// Rows, the widths (inputs, then each layer's outputs) and the layers of a chain of two or
/// three; half the layers take fixed input scales and most activations fuse in registers, so
/// that outputs quantised in registers come up often.
fn chain() -> impl Strategy<Value = (usize, Vec<usize>, Vec<ChainLayer>, Vec<f32>)> {
    (1usize..20, proptest::collection::vec(1usize..50, 3..=4)).prop_flat_map(|(m, widths)| {
        let layers: Vec<_> = widths
            .windows(2)
            .map(|pair| {
                let (k, n) = (pair[0], pair[1]);
                (
                    proptest::collection::vec(-127i8..=127, n * k),
                    proptest::collection::vec(1e-3f32..0.2, n),
                    proptest::collection::vec(-2.0f32..2.0, n),
                    prop_oneof![
                        Just(InputQuantization::Dynamic),
                        (1e-3f32..0.5, any::<u8>()).prop_map(|(scale, zero_point)| {
                            InputQuantization::Static { scale, zero_point }
                        }),
                    ],
                    prop_oneof![
                        3 => proptest::sample::select(vec![
                            Kind::Relu,
                            Kind::Sigmoid,
                            Kind::Tanh,
                            Kind::Identity,
                        ]),
                        1 => kinds(),
                    ],
                )
            })
            .collect();
        let rows = proptest::collection::vec(value(), m * widths[0]);
        (Just(m), Just(widths), layers, rows)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn a_chain_is_its_layers_one_after_another_bit_for_bit(
        (m, widths, layers, rows) in chain()
    ) {
        for level in kernels() {
            let weights: Vec<Int8Weights> = layers
                .iter()
                .zip(widths.windows(2))
                .map(|((values, scales, ..), pair)| {
                    Int8Weights::new(values, scales, pair[1], pair[0], level)
                })
                .collect();
            let chain: Vec<Int8Layer<'_>> = layers
                .iter()
                .zip(&weights)
                .map(|((_, _, bias, quant, kind), weights)| Int8Layer {
                    weights,
                    bias,
                    quant: *quant,
                    kind: *kind,
                })
                .collect();
            let span = |stride| RowSpan { offset: 0, stride };
            let mut step = rows.clone();
            for (layer, pair) in chain.iter().zip(widths.windows(2)) {
                let mut out = vec![f32::NAN; m * pair[1]];
                prop_assert!(int8_product(*layer, m, &step, span(pair[0]), &mut out, span(pair[1])));
                step = out;
            }
            // Into the middle of wider rows, to check nothing around the outputs changes.
            let n = *widths.last().unwrap();
            let mut out = vec![f32::NAN; m * (n + 3)];
            let to = RowSpan { offset: 1, stride: n + 3 };
            prop_assert!(int8_chain(&chain, m, &rows, span(widths[0]), &mut out, to));
            for r in 0..m {
                let row = &out[r * (n + 3)..][..n + 3];
                prop_assert!(row[0].is_nan() && row[n + 1].is_nan() && row[n + 2].is_nan());
                let same = row[1..=n]
                    .iter()
                    .zip(&step[r * n..][..n])
                    .all(|(a, b)| a.to_bits() == b.to_bits());
                prop_assert!(same, "{:?}, row {}: {:?} against {:?}", level, r, &row[1..=n], &step[r * n..][..n]);
            }
        }
    }
}

#[test]
fn a_chain_refuses_layers_that_do_not_meet() {
    let a = Int8Weights::new(&[1; 6], &[1.0; 2], 2, 3, Level::Scalar);
    let b = Int8Weights::new(&[1; 3], &[1.0; 1], 1, 3, Level::Scalar);
    let layer = |weights, bias| Int8Layer {
        weights,
        bias,
        quant: InputQuantization::Dynamic,
        kind: Kind::Identity,
    };
    let span = |stride| RowSpan { offset: 0, stride };
    let mut out = [0.0f32; 1];
    // 3 → 2 then a layer of 3 inputs: the second does not read the first.
    let chain = [layer(&a, &[0.0; 2][..]), layer(&b, &[0.0][..])];
    assert!(!int8_chain(
        &chain,
        1,
        &[1.0; 3],
        span(3),
        &mut out,
        span(1)
    ));
    assert!(!int8_chain(&[], 1, &[1.0; 3], span(3), &mut out, span(1)));
    assert_eq!(out, [0.0], "nothing written");
}
