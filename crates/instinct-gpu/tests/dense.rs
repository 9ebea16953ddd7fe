//! The layer-by-layer engine against the CPU: a DOT chain too large for a per-sample shader on
//! Mesa's software drivers, and many models of one architecture against instinct-batched.

use instinct_batched::BatchedInference;
use instinct_cpu::Interpreter;
use instinct_format::{Activation, Instruction, Limits, ModelBuilder, ModelInfo};
use instinct_gpu::{GpuDenseNet, GpuError, GpuRuntime, Mode};
use instinct_validate::ValidModel;

fn runtime() -> Option<GpuRuntime> {
    match GpuRuntime::new() {
        Ok(r) => Some(r),
        Err(e) if std::env::var("INSTINCT_REQUIRE_GPU").as_deref() == Ok("1") => {
            panic!("INSTINCT_REQUIRE_GPU=1 but there is no usable adapter: {e}")
        }
        Err(e) => {
            eprintln!("skipping GPU test: {e}");
            None
        }
    }
}

/// Deterministic values in [-scale, scale].
fn values(n: usize, seed: usize, scale: f32) -> Vec<f32> {
    (0..n)
        .map(|i| (((i * 7919 + seed * 104_729) % 2001) as f32 / 1000.0 - 1.0) * scale)
        .collect()
}

/// A chain of DOTs through `sizes` with these activations.
fn chain(sizes: &[usize], activations: &[Option<Activation>]) -> ModelInfo {
    let mut info = ModelInfo {
        feature_size: Some(sizes[0]),
        buffer_sizes: sizes.to_vec(),
        ..Default::default()
    };
    for (l, w) in sizes.windows(2).enumerate() {
        let scale = 1.0 / (w[0] as f32).sqrt();
        info.weights.push(
            values(w[0] * w[1], l, scale)
                .chunks(w[0])
                .map(<[f32]>::to_vec)
                .collect(),
        );
        info.bias.push(values(w[1], l + 100, 0.1));
        info.instructions.push(Instruction::Dot {
            input: l,
            output: l + 1,
            weights: l,
            activation: activations[l],
        });
    }
    info
}

fn assert_close(gpu: &[f32], cpu: &[f32], what: &str) {
    assert_eq!(gpu.len(), cpu.len(), "{what}");
    for (i, (g, c)) in gpu.iter().zip(cpu).enumerate() {
        assert!(
            (g - c).abs() <= 1e-4 + 1e-4 * c.abs(),
            "{what}: value {i}: GPU {g}, CPU {c}"
        );
    }
}

#[test]
fn a_chain_over_the_per_sample_loop_budget_runs_layer_by_layer_and_in_steps() {
    let Some(gpu) = runtime() else { return };
    let info = chain(
        &[1024, 2048, 64, 10],
        &[
            Some(Activation::Relu),
            Some(Activation::Tanh),
            Some(Activation::Softmax),
        ],
    );
    let model = instinct_validate::validate(&info, &Limits::default()).unwrap();
    if gpu.is_software() {
        // One invocation per sample would exceed the software driver's budget: refused.
        let refused = gpu.upload(std::slice::from_ref(&model), Some(Mode::Specialized));
        assert!(matches!(refused, Err(GpuError::LoopBudget { .. })));
    }
    let mut net = GpuDenseNet::from_model(&gpu, &model).unwrap();
    let rows = 70;
    let inputs = values(rows * 1024, 7, 1.0);
    let cpu = Interpreter::new(&model);
    let expected: Vec<f32> = inputs
        .chunks(1024)
        .flat_map(|x| cpu.predict(x).unwrap())
        .collect();
    // Both kernels, whatever the adapter's default.
    for tiled in [false, true] {
        net.set_tiled(tiled);
        let out = net.predict_batch(&inputs).unwrap();
        assert_close(&out, &expected, &format!("1024→2048→64→10, tiled {tiled}"));
    }
    // Uploaded as any other model, it runs in steps.
    let uploaded = gpu.load(&model).unwrap();
    assert!(uploaded.is_stepped(0));
    let out = uploaded.predict_batch(0, &inputs).unwrap();
    assert_close(&out, &expected, "1024→2048→64→10 in steps");
}

#[test]
fn many_models_in_one_dispatch_per_layer_equal_instinct_batched() {
    let Some(gpu) = runtime() else { return };
    let shape = [
        (6, 9, Some(Activation::Tanh)),
        (9, 5, None),
        (5, 4, Some(Activation::Softmax)),
    ];
    let models = 40;
    let valid: Vec<ValidModel> = (0..models)
        .map(|m| {
            let mut b = ModelBuilder::with_feature_size(6);
            for (l, &(i, o, act)) in shape.iter().enumerate() {
                let w = values(i * o, m * 3 + l, 0.6);
                let rows = w.chunks(i).map(<[f32]>::to_vec).collect();
                b = b.dense(rows, values(o, m * 3 + l + 50, 0.2), act);
            }
            instinct_validate::validate(&b.build().unwrap(), &Limits::default()).unwrap()
        })
        .collect();
    let net = GpuDenseNet::from_models(&gpu, &valid).unwrap();
    assert_eq!(net.models(), models);
    let batch = BatchedInference::from_models(&valid).unwrap();
    for k in [1, 3] {
        let inputs = values(models * k * 6, k, 1.5);
        let out = net.forward(&inputs, k).unwrap();
        let cpu = batch.forward_many(&inputs, k).unwrap();
        assert_close(&out, &cpu, &format!("{models} models, k = {k}"));
    }
    let e = net.forward(&[0.0; 7], 1).unwrap_err();
    assert!(matches!(e, GpuError::DenseInputs { len: 7, .. }), "{e}");
}

#[test]
fn what_the_layer_engine_cannot_run_is_an_error() {
    let Some(gpu) = runtime() else { return };
    // Models of different shapes cannot share the dispatches.
    let a = instinct_validate::validate(&chain(&[2, 3], &[None]), &Limits::default()).unwrap();
    let b = instinct_validate::validate(&chain(&[2, 4], &[None]), &Limits::default()).unwrap();
    let e = GpuDenseNet::from_models(&gpu, &[a, b]).err().unwrap();
    assert!(matches!(e, GpuError::NotAChain { model: 1, .. }), "{e}");
    // The layer kernel has no activation parameters: an extension activation is refused
    // (the uploaded engines run it), not computed with zero parameters.
    let leaky = Some(Activation::LeakyRelu { alpha: 0.3 });
    let ext = instinct_validate::validate(&chain(&[3, 4, 2], &[leaky, None]), &Limits::default())
        .unwrap();
    let e = GpuDenseNet::from_model(&gpu, &ext).err().unwrap();
    assert!(e.to_string().contains("LEAKY_RELU"), "{e}");
    // A COPY is not part of a chain of DOTs.
    let mut info = chain(&[3, 2], &[None]);
    info.buffer_sizes.push(2);
    info.instructions.push(Instruction::Copy {
        input: 1,
        output: 2,
        internal_index: 0,
    });
    let model = instinct_validate::validate(&info, &Limits::default()).unwrap();
    let e = GpuDenseNet::from_model(&gpu, &model).err().unwrap();
    assert!(e.to_string().contains("COPY"), "{e}");
}

#[test]
fn an_activation_instruction_after_a_dot_runs_as_that_layers_activation() {
    let Some(gpu) = runtime() else { return };
    let mut info = chain(&[5, 6, 3], &[None, None]);
    info.instructions.insert(
        1,
        Instruction::Activation {
            input: 1,
            activation: Activation::Tanh,
        },
    );
    let model = instinct_validate::validate(&info, &Limits::default()).unwrap();
    let net = GpuDenseNet::from_model(&gpu, &model).unwrap();
    let rows = 9;
    let inputs = values(rows * 5, 3, 1.0);
    let cpu = Interpreter::new(&model);
    let expected: Vec<f32> = inputs
        .chunks(5)
        .flat_map(|x| cpu.predict(x).unwrap())
        .collect();
    let out = net.predict_batch(&inputs).unwrap();
    assert_close(&out, &expected, "DOT, ACTIVATION TANH, DOT");
}
