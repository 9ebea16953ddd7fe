//! Static nets compute what the interpreter computes (within rounding), every activation
//! included, and refuse models that are not a DOT chain of their shape.

use instinct_cpu::{Interpreter, Mlp1, Mlp2, Mlp3, StaticError};
use instinct_format::{Activation, Instruction, Limits, ModelBuilder, ModelInfo};
use instinct_validate::{ValidModel, validate};

fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s % 20_000) as f32 / 10_000.0 - 1.0
        })
        .collect()
}

fn chain(sizes: &[usize], activations: &[Option<Activation>], seed: u64) -> ValidModel {
    let mut b = ModelBuilder::with_feature_size(sizes[0]);
    for (k, (w, act)) in sizes.windows(2).zip(activations).enumerate() {
        // Weights scaled by 1/√fan-in, as trained nets have them: sums stay of order one, so the
        // different summation orders of the two engines stay within the tolerance even through EXP.
        let scale = 1.0 / (w[0] as f32).sqrt();
        let rows = (0..w[1])
            .map(|r| {
                values(w[0], seed + (k * 100 + r) as u64)
                    .iter()
                    .map(|v| v * scale)
                    .collect()
            })
            .collect();
        b = b.dense(rows, values(w[1], seed + 7 + k as u64), *act);
    }
    validate(&b.build().unwrap(), &Limits::default()).unwrap()
}

fn close(a: &[f32], b: &[f32]) {
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= 1e-5 + 1e-5 * y.abs(), "{a:?} vs {b:?}");
    }
}

/// Builds a chain of `sizes` with activation `act` on every layer (the last one `last`), and
/// checks the static net of type `$net` against the interpreter on `n` seeded inputs.
macro_rules! agrees {
    ($net:ty, $sizes:expr, $act:expr, $last:expr, $seed:expr, $n:expr) => {{
        let sizes: &[usize] = &$sizes;
        let mut acts = vec![$act; sizes.len() - 1];
        *acts.last_mut().unwrap() = $last;
        let model = chain(sizes, &acts, $seed);
        let net = <$net>::from_model(&model).unwrap();
        let interp = Interpreter::new(&model);
        for i in 0..$n {
            let x = values(sizes[0], $seed * 1000 + i);
            close(
                &net.forward(&x.clone().try_into().unwrap()),
                &interp.predict(&x).unwrap(),
            );
        }
    }};
}

#[test]
fn static_nets_match_the_interpreter_for_every_activation() {
    for (k, act) in Activation::INSTMODEL
        .into_iter()
        .map(Some)
        .chain([None])
        .enumerate()
    {
        let seed = 10 * k as u64;
        agrees!(Mlp3<8, 32, 32, 3>, [8, 32, 32, 3], act, act, seed + 1, 50);
        // Odd widths: more than one 32-output step (33), one output from a partial vector of
        // inputs (17 → 1) and from whole vectors in memory (64 → 1), in registers (16 → 1,
        // 32 → 1), two outputs.
        agrees!(Mlp3<16, 33, 17, 1>, [16, 33, 17, 1], act, act, seed + 2, 20);
        agrees!(Mlp3<5, 64, 1, 2>, [5, 64, 1, 2], act, act, seed + 3, 20);
        agrees!(Mlp3<3, 32, 16, 1>, [3, 32, 16, 1], act, act, seed + 4, 20);
        agrees!(Mlp2<3, 32, 1>, [3, 32, 1], act, act, seed + 5, 20);
        agrees!(Mlp2<2, 7, 1>, [2, 7, 1], act, None, seed + 6, 50);
    }
}

#[test]
fn bytes_round_trip_and_bad_bytes_are_refused() {
    let model = chain(&[4, 3], &[Some(Activation::Sigmoid)], 3);
    let net = Mlp1::<4, 3>::from_model(&model).unwrap();
    let words: Vec<u32> = bytemuck::cast_slice(net.as_bytes()).to_vec();
    let back = Mlp1::<4, 3>::from_bytes(bytemuck::cast_slice(&words)).unwrap();
    assert_eq!(back, &net);
    assert!(matches!(
        Mlp1::<4, 3>::from_bytes(&bytemuck::cast_slice(&words)[..8]),
        Err(StaticError::Bytes(_))
    ));
    let mut bad = words.clone();
    let code = bad.len() - 3; // the activation code, before its two parameters
    bad[code] = 99;
    assert!(matches!(
        Mlp1::<4, 3>::from_bytes(bytemuck::cast_slice(&bad)),
        Err(StaticError::Bytes(_))
    ));
}

#[test]
fn models_of_another_shape_are_refused_with_the_reason() {
    let model = chain(&[8, 32, 32, 1], &[None, None, None], 1);
    assert_eq!(
        Mlp2::<8, 32, 1>::from_model(&model).unwrap_err(),
        StaticError::LayerCount {
            actual: 3,
            expected: 2
        }
    );
    assert_eq!(
        Mlp3::<8, 16, 32, 1>::from_model(&model).unwrap_err(),
        StaticError::Shape {
            layer: 0,
            actual_in: 8,
            actual_out: 32,
            expected_in: 8,
            expected_out: 16
        }
    );
    let info: ModelInfo = ModelBuilder::with_feature_size(2)
        .dense(vec![vec![1.0, 1.0]], vec![0.0], None)
        .parameters(vec![2.0])
        .instruction(Instruction::MulElementwise {
            input: 1,
            parameters: 0,
        })
        .build()
        .unwrap();
    let model = validate(&info, &Limits::default()).unwrap();
    assert_eq!(
        Mlp1::<2, 1>::from_model(&model).unwrap_err(),
        StaticError::NotADotChain {
            index: 1,
            kind: "MUL_ELEMENTWISE".into()
        }
    );
}

#[test]
fn the_example_net_bytes_are_the_example_model() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
    let info = ModelInfo::load(format!("{dir}/tiny_2_7_relu_1.json"), &Limits::default()).unwrap();
    let model = validate(&info, &Limits::default()).unwrap();
    let net = Mlp2::<2, 7, 1>::from_model(&model).unwrap();
    let path = format!("{dir}/tiny_2_7_relu_1.mlp2");
    if std::env::var_os("INSTINCT_BLESS").is_some() {
        std::fs::write(&path, net.as_bytes()).unwrap();
    }
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(
        bytes,
        net.as_bytes(),
        "regenerate with INSTINCT_BLESS=1 cargo test -p instinct-cpu --test static_mlp"
    );
    let interp = Interpreter::new(&model);
    for x in [[0.5, -0.25], [1.0, 1.0]] {
        close(&net.forward(&x), &interp.predict(&x).unwrap());
    }
}

#[test]
fn extension_activations_run_after_the_product_on_every_path() {
    // Widths of at most 32 outputs stay in registers on the AVX-512 path, wider ones go through
    // memory; an extension moves the outputs to memory in both cases. LN is left out (its
    // slope near zero amplifies the summation order); the kernel tests cover it.
    for (k, act) in Activation::EXTENSIONS.into_iter().enumerate() {
        if act == Activation::Ln {
            continue;
        }
        let seed = 40 + k as u64;
        agrees!(Mlp2<4, 8, 3>, [4, 8, 3], Some(act), Some(act), seed, 20);
        agrees!(Mlp2<4, 8, 3>, [4, 8, 3], Some(act), None, seed, 20);
        agrees!(Mlp3<8, 32, 32, 1>, [8, 32, 32, 1], Some(act), None, seed, 20);
        agrees!(Mlp2<3, 40, 5>, [3, 40, 5], Some(act), Some(act), seed, 20);
        agrees!(Mlp1<16, 1>, [16, 1], Some(act), Some(act), seed, 20);
    }
    // Parameters are kept per layer.
    let (a, b) = (
        Some(Activation::LeakyRelu { alpha: 0.3 }),
        Some(Activation::HardSigmoid {
            alpha: 0.4,
            beta: 0.25,
        }),
    );
    let model = chain(&[4, 8, 3], &[a, b], 7);
    let net = Mlp2::<4, 8, 3>::from_model(&model).unwrap();
    let interp = Interpreter::new(&model);
    for i in 0..20 {
        let x = values(4, 900 + i);
        close(
            &net.forward(&x.clone().try_into().unwrap()),
            &interp.predict(&x).unwrap(),
        );
    }
    // And survive the trip through bytes.
    let bytes = net.as_bytes().to_vec();
    let aligned: Vec<u32> = bytes
        .chunks(4)
        .map(|c| u32::from_ne_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(
        Mlp2::<4, 8, 3>::from_bytes(bytemuck::cast_slice(&aligned)).unwrap(),
        &net
    );
}
