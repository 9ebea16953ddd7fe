//! Every operation's gradient against central finite differences (random shapes and values,
//! proptest), and `CpuBackend` against `ReferenceBackend` on the same graphs (values and
//! gradients).

use instinct_train::{
    Activation, Backend, CpuBackend, Epsilon, ReferenceBackend, Rng, Tape, Tensor, Var,
};
use proptest::prelude::*;
use std::sync::Arc;

/// A graph under test: from its input variables to one output (a loss, or any tensor, which the
/// harness turns into a loss).
type Build = dyn for<'t> Fn(&[Var<'t>]) -> Var<'t>;

fn random(shape: &[usize], rng: &mut Rng, low: f32, high: f32) -> Tensor {
    let n: usize = shape.iter().product();
    Tensor::new(shape, (0..n).map(|_| rng.uniform_in(low, high)).collect()).unwrap()
}

/// The loss of `build` on `inputs`, and the gradient of every input, on `backend`. A non-scalar
/// output is scored against fixed random targets with the mean squared error.
fn run(
    backend: Arc<dyn Backend>,
    build: &Build,
    inputs: &[Tensor],
    seed: u64,
) -> (f64, Vec<Tensor>, Tensor) {
    let tape = Tape::new(backend);
    let vars: Vec<Var<'_>> = inputs.iter().map(|t| tape.variable(t.clone())).collect();
    let out = build(&vars);
    let value = Tensor::clone(&out.value());
    let loss = if value.len() == 1 && value.shape().len() <= 1 {
        out
    } else {
        let target = random(value.shape(), &mut Rng::new(seed ^ 0x5eed), -1.0, 1.0);
        out.mse(&target).unwrap()
    };
    let l = loss.value().item().unwrap() as f64;
    let grads = tape.backward(loss).unwrap();
    let g = vars
        .iter()
        .zip(inputs)
        .map(|(v, t)| {
            grads
                .get(*v)
                .cloned()
                .unwrap_or_else(|| Tensor::zeros(t.shape()))
        })
        .collect();
    (l, g, value)
}

/// Analytic gradients (reference backend) against central differences, element by element.
fn check_gradients(build: &Build, inputs: Vec<Tensor>, seed: u64) -> Result<(), TestCaseError> {
    let reference: Arc<dyn Backend> = Arc::new(ReferenceBackend);
    let (_, analytic, _) = run(reference.clone(), build, &inputs, seed);
    for (i, input) in inputs.iter().enumerate() {
        for j in 0..input.len() {
            let h = 1e-2;
            let at = |delta: f32| {
                let mut moved = inputs.clone();
                moved[i].data_mut()[j] += delta;
                run(reference.clone(), build, &moved, seed).0
            };
            let numeric = (at(h) - at(-h)) / (2.0 * h as f64);
            let exact = analytic[i].data()[j] as f64;
            let tolerance = 2e-3 + 2e-2 * numeric.abs().max(exact.abs());
            prop_assert!(
                (numeric - exact).abs() <= tolerance,
                "input {i}, element {j}: analytic {exact}, numeric {numeric}"
            );
        }
    }
    Ok(())
}

/// The fast backend against the reference: the output and every gradient.
fn check_backends(build: &Build, inputs: Vec<Tensor>, seed: u64) -> Result<(), TestCaseError> {
    let (_, slow_g, slow) = run(Arc::new(ReferenceBackend), build, &inputs, seed);
    let (_, fast_g, fast) = run(Arc::new(CpuBackend), build, &inputs, seed);
    let close = |a: &Tensor, b: &Tensor, what: &str| -> Result<(), TestCaseError> {
        prop_assert_eq!(a.shape(), b.shape());
        for (x, y) in a.data().iter().zip(b.data()) {
            prop_assert!(
                (x - y).abs() <= 1e-4 + 1e-4 * y.abs(),
                "{}: cpu {} vs reference {}",
                what,
                x,
                y
            );
        }
        Ok(())
    };
    close(&fast, &slow, "output")?;
    for (i, (a, b)) in fast_g.iter().zip(&slow_g).enumerate() {
        close(a, b, &format!("gradient of input {i}"))?;
    }
    Ok(())
}

fn both(build: &Build, inputs: Vec<Tensor>, seed: u64) -> Result<(), TestCaseError> {
    check_backends(build, inputs.clone(), seed)?;
    check_gradients(build, inputs, seed)
}

/// Values kept away from 0, where ReLU-like functions have their kink.
fn away_from_zero(mut t: Tensor) -> Tensor {
    for v in t.data_mut() {
        if v.abs() < 0.1 {
            *v += 0.2f32.copysign(*v);
        }
    }
    t
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 24,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn linear(m in 1usize..5, k in 1usize..6, n in 1usize..5, bias in any::<bool>(), seed in any::<u64>()) {
        let mut rng = Rng::new(seed);
        let mut inputs = vec![random(&[m, k], &mut rng, -1.0, 1.0), random(&[n, k], &mut rng, -1.0, 1.0)];
        if bias {
            inputs.push(random(&[n], &mut rng, -1.0, 1.0));
        }
        both(&|v| v[0].linear(v[1], v.get(2).copied()).unwrap(), inputs, seed)?;
    }

    #[test]
    fn matmul_and_bmm(b in 1usize..3, m in 1usize..4, k in 1usize..5, n in 1usize..4, seed in any::<u64>()) {
        let mut rng = Rng::new(seed);
        let two = vec![random(&[m, k], &mut rng, -1.0, 1.0), random(&[k, n], &mut rng, -1.0, 1.0)];
        both(&|v| v[0].matmul(v[1]).unwrap(), two, seed)?;
        let three = vec![random(&[b, m, k], &mut rng, -1.0, 1.0), random(&[b, k, n], &mut rng, -1.0, 1.0)];
        both(&|v| v[0].bmm(v[1]).unwrap(), three, seed)?;
    }

    #[test]
    fn elementwise_arithmetic(m in 1usize..4, n in 1usize..5, factor in -2.0f32..2.0, seed in any::<u64>()) {
        let mut rng = Rng::new(seed);
        let pair = vec![random(&[m, n], &mut rng, -1.0, 1.0), random(&[m, n], &mut rng, -1.0, 1.0)];
        both(&|v| v[0].add(v[1]).unwrap(), pair.clone(), seed)?;
        both(&|v| v[0].sub(v[1]).unwrap(), pair.clone(), seed)?;
        both(&|v| v[0].mul(v[1]).unwrap(), pair.clone(), seed)?;
        both(&move |v| v[0].scale(factor), pair[..1].to_vec(), seed)?;
        let with_bias = vec![pair[0].clone(), random(&[n], &mut rng, -1.0, 1.0)];
        both(&|v| v[0].add_bias(v[1]).unwrap(), with_bias, seed)?;
        both(&|v| v[0].sum_rows().unwrap(), pair[..1].to_vec(), seed)?;
        both(&|v| v[0].reshape(&[v[0].value().len()]).unwrap(), pair[..1].to_vec(), seed)?;
    }

    #[test]
    fn activations(m in 1usize..4, n in 1usize..5, alpha in 0.01f32..0.5, seed in any::<u64>()) {
        let mut rng = Rng::new(seed);
        let x = vec![away_from_zero(random(&[m, n], &mut rng, -3.0, 3.0))];
        both(&|v| v[0].relu(), x.clone(), seed)?;
        both(&move |v| v[0].leaky_relu(alpha), x.clone(), seed)?;
        both(&|v| v[0].sigmoid(), x.clone(), seed)?;
        both(&|v| v[0].tanh(), x.clone(), seed)?;
        both(&|v| v[0].softmax(), x.clone(), seed)?;
        both(&|v| v[0].log_softmax(), x, seed)?;
    }

    /// Every elementwise activation of the format, through its derivative in instinct-kernels,
    /// against finite differences and the reference backend; on inputs where the function is
    /// smooth (positive ones for those defined by a logarithm or a root, within HARD_SIGMOID's
    /// linear part).
    #[test]
    fn every_elementwise_activation(m in 1usize..4, n in 1usize..5, seed in any::<u64>()) {
        let mut rng = Rng::new(seed);
        for a in Activation::BY_CODE.into_iter().filter(|a| a.is_elementwise()) {
            // Parameters other than the defaults (each p → 2p + 0.1), so that a derivative
            // ignoring them fails.
            let a = a.with_parameter_values(a.parameter_values().map(|p| 2.0 * p + 0.1));
            let xs = match a {
                Activation::Sqrt | Activation::Log | Activation::Log10 | Activation::Ln => {
                    vec![random(&[m, n], &mut rng, 0.5, 3.0)]
                }
                // Inside the linear part (0.5x + 1.1 in (0, 1): x in (-2.2, -0.2)), and in the
                // flat part above it.
                Activation::HardSigmoid { .. } => vec![
                    random(&[m, n], &mut rng, -2.0, -0.4),
                    random(&[m, n], &mut rng, 0.2, 3.0),
                ],
                _ => vec![away_from_zero(random(&[m, n], &mut rng, -3.0, 3.0))],
            };
            for x in xs {
                both(&move |v| v[0].activation(a), vec![x], seed)?;
            }
        }
    }

    #[test]
    fn losses(m in 1usize..5, n in 1usize..5, seed in any::<u64>()) {
        let mut rng = Rng::new(seed);
        let target = random(&[m, n], &mut rng, -1.0, 1.0);
        let x = vec![random(&[m, n], &mut rng, -2.0, 2.0)];
        both(&move |v| v[0].mse(&target).unwrap(), x.clone(), seed)?;
        let labels: Vec<usize> = (0..m).map(|_| rng.below(n)).collect();
        both(&move |v| v[0].cross_entropy(&labels).unwrap(), x, seed)?;
        // Away from 0 and 1, where −ln p bends too fast for a step of 0.01.
        let probabilities = vec![random(&[m, n], &mut rng, 0.2, 0.8)];
        let truth = random(&[m, n], &mut rng, 0.0, 1.0);
        both(&move |v| v[0].binary_cross_entropy(&truth, Epsilon::Auto).unwrap(), probabilities, seed)?;
        let logits = vec![random(&[m, n], &mut rng, -4.0, 4.0)];
        let truth = random(&[m, n], &mut rng, 0.0, 1.0);
        both(&move |v| v[0].binary_cross_entropy_with_logits(&truth).unwrap(), logits, seed)?;
    }
}

/// Values `0.1·π(i)` for a permutation π, plus noise below 0.01: every pair at least 0.08
/// apart, so that a small step never changes which value is the largest.
fn separated(shape: &[usize], rng: &mut Rng) -> Tensor {
    spread(shape, rng, 1.0)
}

/// [`separated`] times `scale`.
fn spread(shape: &[usize], rng: &mut Rng, scale: f32) -> Tensor {
    let n: usize = shape.iter().product();
    let mut order: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut order);
    let data = order
        .iter()
        .map(|&i| scale * (0.1 * i as f32 - 0.05 * n as f32 + rng.uniform_in(0.0, 0.01)))
        .collect();
    Tensor::new(shape, data).unwrap()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn conv2d(n in 1usize..3, c in 1usize..3, h in 3usize..6, w in 3usize..6, o in 1usize..3,
              k in 1usize..4, stride in 1usize..3, padding in 0usize..2, bias in any::<bool>(), seed in any::<u64>()) {
        prop_assume!(k <= h + 2 * padding && k <= w + 2 * padding);
        let mut rng = Rng::new(seed);
        let mut inputs = vec![random(&[n, c, h, w], &mut rng, -1.0, 1.0), random(&[o, c, k, k], &mut rng, -1.0, 1.0)];
        if bias {
            inputs.push(random(&[o], &mut rng, -1.0, 1.0));
        }
        both(&move |v| v[0].conv2d(v[1], v.get(2).copied(), stride, padding).unwrap(), inputs, seed)?;
    }

    #[test]
    fn pooling(n in 1usize..3, c in 1usize..3, h in 2usize..7, w in 2usize..7, k in 1usize..3,
               stride in 1usize..3, oh in 1usize..4, ow in 1usize..4, seed in any::<u64>()) {
        prop_assume!(k <= h && k <= w);
        let mut rng = Rng::new(seed);
        let x = vec![separated(&[n, c, h, w], &mut rng)];
        both(&move |v| v[0].max_pool2d(k, stride).unwrap(), x.clone(), seed)?;
        both(&move |v| v[0].adaptive_avg_pool2d(oh, ow).unwrap(), x, seed)?;
    }

    #[test]
    fn normalisation(n in 3usize..6, c in 1usize..4, hw in 1usize..4, seed in any::<u64>()) {
        // Groups of at least three well-separated values: the normalised values of two, or of
        // nearly equal ones, bend too fast for a finite difference.
        let mut rng = Rng::new(seed);
        let affine = |rng: &mut Rng, k: usize| vec![random(&[k], rng, 0.5, 1.5), random(&[k], rng, -0.5, 0.5)];
        let mut wide = vec![spread(&[n, c + 2], &mut rng, 10.0)];
        wide.extend(affine(&mut rng, c + 2));
        both(&|v| v[0].layer_norm(v[1], v[2], 1e-5).unwrap(), wide, seed)?;
        let mut rows = vec![spread(&[n, c], &mut rng, 10.0)];
        rows.extend(affine(&mut rng, c));
        both(&|v| v[0].batch_norm(v[1], v[2], 1e-5, None).unwrap().0, rows.clone(), seed)?;
        let mut images = vec![spread(&[n, c, hw, hw], &mut rng, 10.0)];
        images.extend(affine(&mut rng, c));
        both(&|v| v[0].batch_norm(v[1], v[2], 1e-5, None).unwrap().0, images.clone(), seed)?;
        let mean: Vec<f32> = (0..c).map(|_| rng.uniform_in(-0.5, 0.5)).collect();
        let var: Vec<f32> = (0..c).map(|_| rng.uniform_in(0.5, 2.0)).collect();
        // With fixed statistics the map is affine: any values do.
        images[0] = random(&[n, c, hw, hw], &mut rng, -2.0, 2.0);
        both(&move |v| v[0].batch_norm(v[1], v[2], 1e-5, Some((&mean, &var))).unwrap().0, images, seed)?;
    }

    #[test]
    fn dropout(m in 1usize..4, n in 1usize..6, p in 0.0f32..0.9, seed in any::<u64>()) {
        let mut rng = Rng::new(seed);
        let x = vec![random(&[m, n], &mut rng, -1.0, 1.0)];
        // A fresh generator of the same seed each time: the same mask in every evaluation.
        both(&move |v| v[0].dropout(p, true, &mut Rng::new(seed)).unwrap(), x.clone(), seed)?;
        let tape = Tape::new(Arc::new(CpuBackend));
        let v = tape.constant(x[0].clone());
        let kept = v.dropout(p, true, &mut Rng::new(seed)).unwrap().value();
        let scale = 1.0 / (1.0 - p);
        for (y, x) in kept.data().iter().zip(x[0].data()) {
            prop_assert!(*y == 0.0 || (*y - x * scale).abs() <= 1e-6 * (1.0 + y.abs()));
        }
        // In evaluation, the identity.
        let same = v.dropout(p, false, &mut rng).unwrap().value();
        prop_assert_eq!(same.data(), x[0].data());
    }

    #[test]
    fn embedding(vocabulary in 1usize..6, dim in 1usize..4, count in 1usize..7, seed in any::<u64>()) {
        let mut rng = Rng::new(seed);
        let indices: Vec<usize> = (0..count).map(|_| rng.below(vocabulary)).collect();
        let table = vec![random(&[vocabulary, dim], &mut rng, -1.0, 1.0)];
        both(&move |v| v[0].embedding(&indices).unwrap(), table, seed)?;
    }
}

#[test]
fn log_loss_from_logits_keeps_its_gradient_far_from_zero() {
    // σ(±30) rounds to 0 or 1 in f32, where a clipped probability would pass no gradient.
    let tape = Tape::new(Arc::new(CpuBackend));
    let z = tape.variable(Tensor::new(&[2], vec![30.0, -30.0]).unwrap());
    let loss = z
        .binary_cross_entropy_with_logits(&Tensor::new(&[2], vec![0.0, 1.0]).unwrap())
        .unwrap();
    // softplus(30) − 0 and softplus(−30) + 30, averaged: 30 each.
    assert!((loss.value().item().unwrap() - 30.0).abs() < 1e-4);
    let grads = tape.backward(loss).unwrap();
    let g = grads.get(z).unwrap().data().to_vec();
    assert!(
        (g[0] - 0.5).abs() < 1e-6 && (g[1] + 0.5).abs() < 1e-6,
        "{g:?}"
    );
}

#[test]
fn operands_of_another_tape_are_refused() {
    let (t1, t2) = (
        Tape::new(Arc::new(CpuBackend)),
        Tape::new(Arc::new(CpuBackend)),
    );
    let a = t1.variable(Tensor::zeros(&[2, 2]));
    let b = t2.variable(Tensor::zeros(&[2, 2]));
    assert!(a.add(b).is_err());
    assert!(a.matmul(b).is_err());
    assert!(a.linear(b, None).is_err());
    let loss = b.mse(&Tensor::zeros(&[2, 2])).unwrap();
    assert!(t1.backward(loss).is_err());
    let grads = t2.backward(loss).unwrap();
    assert!(grads.get(a).is_none());
}

#[test]
fn batch_statistics_are_the_batch_mean_and_unbiased_variance() {
    let tape = Tape::new(Arc::new(CpuBackend));
    let x = tape.constant(Tensor::new(&[4, 1], vec![1.0, 2.0, 3.0, 6.0]).unwrap());
    let (gamma, beta) = (
        tape.constant(Tensor::full(&[1], 1.0)),
        tape.constant(Tensor::zeros(&[1])),
    );
    let (_, stats) = x.batch_norm(gamma, beta, 1e-5, None).unwrap();
    let stats = stats.unwrap();
    assert!((stats.mean[0] - 3.0).abs() < 1e-6);
    // Σ(x − 3)² = 4 + 1 + 0 + 9 = 14, over n − 1 = 3.
    assert!((stats.var[0] - 14.0 / 3.0).abs() < 1e-4, "{}", stats.var[0]);
}

#[test]
fn shape_errors_are_errors() {
    let tape = Tape::new(Arc::new(CpuBackend));
    let a = tape.constant(Tensor::zeros(&[2, 3]));
    let b = tape.constant(Tensor::zeros(&[2, 3]));
    assert!(a.matmul(b).is_err());
    assert!(
        a.linear(tape.constant(Tensor::zeros(&[4, 2])), None)
            .is_err()
    );
    assert!(a.add(tape.constant(Tensor::zeros(&[3, 2]))).is_err());
    assert!(a.cross_entropy(&[0, 3]).is_err());
    assert!(a.cross_entropy(&[0]).is_err());
    assert!(a.mse(&Tensor::zeros(&[6])).is_err());
    assert!(a.reshape(&[4]).is_err());
    let image = tape.constant(Tensor::zeros(&[1, 2, 4, 4]));
    assert!(
        image
            .conv2d(tape.constant(Tensor::zeros(&[3, 1, 2, 2])), None, 1, 0)
            .is_err()
    );
    assert!(
        image
            .conv2d(tape.constant(Tensor::zeros(&[3, 2, 5, 5])), None, 1, 0)
            .is_err()
    );
    assert!(
        image
            .conv2d(tape.constant(Tensor::zeros(&[3, 2, 2, 2])), None, 0, 0)
            .is_err()
    );
    assert!(image.max_pool2d(5, 1).is_err());
    assert!(image.adaptive_avg_pool2d(0, 1).is_err());
    assert!(a.embedding(&[2]).is_err());
    assert!(a.dropout(1.0, true, &mut Rng::new(0)).is_err());
    assert!(a.dropout(-0.1, true, &mut Rng::new(0)).is_err());
    assert!(
        a.layer_norm(
            tape.constant(Tensor::zeros(&[2])),
            tape.constant(Tensor::zeros(&[3])),
            1e-5
        )
        .is_err()
    );
    let e = tape.backward(a).unwrap_err();
    assert!(e.to_string().contains("[2, 3]"), "{e}");
}
