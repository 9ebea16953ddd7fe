//! The GPU against the CPU interpreter: every fixture in both shader modes and on the stepped
//! engine (abs 1e-4 + rel 1e-4), several models in one buffer, the loop budget of Mesa's software
//! drivers at its boundary, a model far over it run in steps, and the errors. Without an adapter every test says why it skips and passes, unless
//! `INSTINCT_REQUIRE_GPU=1` (set by CI), when it fails.

use instinct_cpu::Interpreter;
use instinct_format::{Limits, ModelInfo};
use instinct_gpu::{GpuError, GpuModels, GpuRuntime, Mode};
use instinct_validate::ValidModel;
use std::path::PathBuf;

fn runtime() -> Option<GpuRuntime> {
    match GpuRuntime::new() {
        Ok(r) => {
            eprintln!("GPU tests on {}", r.description());
            Some(r)
        }
        Err(e) if std::env::var("INSTINCT_REQUIRE_GPU").as_deref() == Ok("1") => {
            panic!("INSTINCT_REQUIRE_GPU=1 but there is no usable adapter: {e}")
        }
        Err(e) => {
            eprintln!("skipping GPU test: {e}");
            None
        }
    }
}

fn valid(json: &str) -> ValidModel {
    let info = ModelInfo::from_json_str(json).unwrap();
    instinct_validate::validate(&info, &Limits::default()).unwrap()
}

/// Every fixture: the model and its input rows.
fn fixtures() -> Vec<(String, ValidModel, Vec<Vec<f32>>)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/conformance");
    let mut cases = Vec::new();
    for entry in std::fs::read_dir(&root).unwrap() {
        let dir = entry.unwrap().path();
        let Ok(json) = std::fs::read_to_string(dir.join("model.json")) else {
            continue;
        };
        let expected: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap())
                .unwrap();
        // Inputs are numbers, or strings for the non-finite ones ("NaN", "inf", "-inf").
        let inputs: Vec<Vec<f32>> = expected["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| {
                row.as_array()
                    .unwrap()
                    .iter()
                    .map(|v| match v {
                        serde_json::Value::String(s) => s.parse::<f32>().unwrap(),
                        v => v.as_f64().unwrap() as f32,
                    })
                    .collect()
            })
            .collect();
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        cases.push((name, valid(&json), inputs));
    }
    cases.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(cases.len() >= 10);
    cases
}

/// The largest error of `gpu` against the interpreter, as a fraction of abs 1e-4 + rel 1e-4;
/// NaN where the two disagree on NaN or an infinity.
fn worst(model: &ValidModel, inputs: &[Vec<f32>], gpu: &[f32]) -> f64 {
    let cpu = Interpreter::new(model);
    let o = cpu.output_size();
    let mut worst = 0.0f64;
    for (r, x) in inputs.iter().enumerate() {
        for (a, b) in cpu.predict(x).unwrap().iter().zip(&gpu[r * o..(r + 1) * o]) {
            let (a, b) = (*a as f64, *b as f64);
            let d = if a == b || (a.is_nan() && b.is_nan()) {
                0.0
            } else {
                (a - b).abs() / (1e-4 + 1e-4 * a.abs())
            };
            // A NaN difference (the two disagree on NaN or an infinity) sticks.
            if d.is_nan() || d > worst {
                worst = d;
            }
        }
    }
    worst
}

#[test]
fn every_fixture_equals_the_interpreter_in_both_modes_and_in_steps() {
    let Some(gpu) = runtime() else { return };
    // A shader mode, or the stepped engine (`None`).
    for mode in [Some(Mode::Specialized), Some(Mode::Library), None] {
        for (name, model, inputs) in fixtures() {
            let one = std::slice::from_ref(&model);
            let uploaded: Result<GpuModels, GpuError> = match mode {
                Some(m) => gpu.upload(one, Some(m)),
                None => gpu.upload_stepped(one),
            };
            let models = uploaded.unwrap_or_else(|e| panic!("{name} {mode:?}: {e}"));
            let flat: Vec<f32> = inputs.iter().flatten().copied().collect();
            let out = models.predict_batch(0, &flat).unwrap();
            let w = worst(&model, &inputs, &out);
            eprintln!("{name} {mode:?}: worst error {w:.4} of the tolerance");
            assert!(w <= 1.0, "{name} {mode:?}: error {w} times the tolerance");
        }
    }
}

#[test]
fn several_models_share_one_buffer() {
    let Some(gpu) = runtime() else { return };
    let cases: Vec<_> = fixtures().into_iter().take(4).collect();
    let models: Vec<ValidModel> = cases.iter().map(|c| c.1.clone()).collect();
    let uploaded = gpu.upload(&models, None).unwrap();
    assert_eq!(uploaded.len(), 4);
    // In reverse order, so a wrong model offset cannot pass by accident.
    for (i, (name, model, inputs)) in cases.iter().enumerate().rev() {
        let flat: Vec<f32> = inputs.iter().flatten().copied().collect();
        let out = uploaded.predict_batch(i, &flat).unwrap();
        assert!(worst(model, inputs, &out) <= 1.0, "{name}");
    }
    assert!(matches!(
        uploaded.predict_batch(4, &[]),
        Err(GpuError::NoSuchModel { model: 4, count: 4 })
    ));
}

/// `adds` ADD_ELEMENTWISE instructions over a buffer of `width`, then a DOT to one output.
fn adds(adds: usize, width: usize) -> ValidModel {
    let add = r#"{"type": "ADD_ELEMENTWISE", "input": 0, "parameters": 0}"#;
    let mut instructions = vec![add; adds];
    instructions.push(r#"{"type": "DOT", "input": 0, "output": 1, "weights": 0}"#);
    valid(&format!(
        r#"{{"feature_size": {width}, "buffer_sizes": [{width}, 1], "instructions": [{}],
            "weights": [[{:?}]], "bias": [[0.5]], "parameters": [{:?}]}}"#,
        instructions.join(","),
        vec![0.01f32; width],
        vec![0.001f32; width]
    ))
}

#[test]
fn the_software_loop_budget_is_respected_at_its_boundary() {
    let Some(gpu) = runtime() else { return };
    if !gpu.is_software() {
        eprintln!("not a software adapter: no loop budget to test");
        return;
    }
    // Wide instructions, so that few of them reach the budget: a shader of many inlined calls
    // takes minutes to compile on llvmpipe.
    const WIDTH: usize = 256;
    let inputs: Vec<Vec<f32>> = (0..3)
        .map(|r| (0..WIDTH).map(|i| (i + r) as f32 * 0.01).collect())
        .collect();
    let flat: Vec<f32> = inputs.iter().flatten().copied().collect();
    for mode in [Mode::Library, Mode::Specialized] {
        // The largest model of this family whose count fits runs correctly: the count does not
        // under-estimate what the driver counts.
        let fits = |n| {
            let blob = instinct_wgsl::GpuModel::from_model(&adds(n, WIDTH)).unwrap();
            instinct_wgsl::standalone_loop_iterations(&blob, mode) <= instinct_wgsl::LOOP_CAP
        };
        let largest = (1..2000).take_while(|&n| fits(n)).last().unwrap();
        let model = adds(largest, WIDTH);
        let uploaded = gpu
            .upload(std::slice::from_ref(&model), Some(mode))
            .unwrap();
        let out = uploaded.predict_batch(0, &flat).unwrap();
        let w = worst(&model, &inputs, &out);
        assert!(
            w <= 1.0,
            "{mode:?}, {largest} adds: error {w} times the tolerance"
        );
        // One more is refused, not silently wrong.
        let over = adds(largest + 1, WIDTH);
        let refused = gpu.upload(std::slice::from_ref(&over), Some(mode));
        assert!(
            matches!(refused, Err(GpuError::LoopBudget { .. })),
            "{mode:?}: {largest} + 1 adds not refused"
        );
    }
}

/// A model far over the loop budget, with every step that a long instruction cuts into chunks:
/// a DOT of 300 → 2048, a gather to 33,000 values, a softmax and a sum over them (two chunks
/// each), an in-place gather that reads values it wrote earlier (in order, two chunks), a sum of
/// 33,000 buffers (two chunks through scratch), and a scaled output of 64 values.
fn over_the_budget() -> ValidModel {
    const WIDE: usize = 33_000;
    let spread: Vec<usize> = (0..WIDE).map(|i| (i * 7) % 2048).collect();
    let reversed: Vec<usize> = (0..WIDE).rev().collect();
    let picked: Vec<usize> = (0..63).map(|i| i * 515).collect();
    let weights: Vec<Vec<f32>> = (0..2048)
        .map(|o| {
            (0..300)
                .map(|i| (((o * 31 + i * 17) % 97) as f32 - 48.0) * 0.002)
                .collect()
        })
        .collect();
    let bias: Vec<f32> = (0..2048).map(|o| (o % 13) as f32 * 0.05).collect();
    let mut scale = vec![20_000.0f32; 63];
    scale.push(1e-3);
    let json = serde_json::json!({
        "feature_size": 300,
        "buffer_sizes": [300, 2048, WIDE, 1, 1, 64],
        "instructions": [
            {"type": "DOT", "input": 0, "output": 1, "weights": 0, "activation": "RELU"},
            {"type": "COPY_MASKED", "input": 1, "output": 2, "indexes": spread},
            {"type": "ACTIVATION", "input": 2, "activation": "SOFTMAX"},
            {"type": "COPY_MASKED", "input": 2, "output": 2, "indexes": reversed},
            {"type": "REDUCE_SUM", "input": 2, "output": 3},
            {"type": "ADD_ELEMENTWISE_BUFFERS", "input": vec![3; WIDE], "output": 4},
            {"type": "COPY_MASKED", "input": 2, "output": 5, "indexes": picked},
            {"type": "COPY", "input": 4, "output": 5, "internal_index": 63},
            {"type": "MUL_ELEMENTWISE", "input": 5, "parameters": 0},
        ],
        "weights": [weights],
        "bias": [bias],
        "parameters": [scale],
    });
    valid(&json.to_string())
}

#[test]
fn a_model_over_the_loop_budget_runs_in_steps() {
    let Some(gpu) = runtime() else { return };
    let model = over_the_budget();
    let blob = instinct_wgsl::GpuModel::from_model(&model).unwrap();
    for mode in [Mode::Specialized, Mode::Library] {
        assert!(instinct_wgsl::standalone_loop_iterations(&blob, mode) > instinct_wgsl::LOOP_CAP);
        if gpu.is_software() {
            let refused = gpu.upload(std::slice::from_ref(&model), Some(mode));
            assert!(matches!(refused, Err(GpuError::LoopBudget { .. })));
        }
    }
    let uploaded = gpu.load(&model).unwrap();
    assert!(uploaded.is_stepped(0) && uploaded.mode(0).is_none());
    let inputs: Vec<Vec<f32>> = (0..5)
        .map(|r| {
            (0..300)
                .map(|i| ((i * 13 + r * 29) % 41) as f32 * 0.05 - 1.0)
                .collect()
        })
        .collect();
    let flat: Vec<f32> = inputs.iter().flatten().copied().collect();
    let out = uploaded.predict_batch(0, &flat).unwrap();
    let w = worst(&model, &inputs, &out);
    eprintln!("over the loop budget, in steps: worst error {w:.4} of the tolerance");
    assert!(w <= 1.0, "error {w} times the tolerance");
}

#[test]
fn bad_calls_are_errors() {
    let Some(gpu) = runtime() else { return };
    let model = adds(1, 4);
    let uploaded = gpu.load(&model).unwrap();
    let e = uploaded.predict_batch(0, &[1.0; 5]).unwrap_err();
    assert!(
        matches!(
            e,
            GpuError::InputLength {
                len: 5,
                feature_size: 4,
                ..
            }
        ),
        "{e}"
    );
    let mut out = vec![0.0; 3];
    let e = uploaded
        .predict_batch_into(0, &[1.0; 8], &mut out)
        .unwrap_err();
    assert!(
        matches!(
            e,
            GpuError::OutputLength {
                len: 3,
                expected: 2,
                ..
            }
        ),
        "{e}"
    );
    assert!(uploaded.predict_batch(0, &[]).unwrap().is_empty());
}

#[test]
fn an_adapter_name_that_matches_nothing_lists_the_adapters() {
    let options = instinct_gpu::GpuOptions {
        backends: None,
        adapter: Some("no such adapter 1234".to_string()),
    };
    match GpuRuntime::with_options(&options) {
        Err(GpuError::AdapterNotFound { wanted, available }) => {
            assert_eq!(wanted, "no such adapter 1234");
            let e = GpuError::AdapterNotFound { wanted, available }.to_string();
            assert!(e.contains("adapters present"), "{e}");
        }
        Err(e) => panic!("unexpected error {e}"),
        Ok(r) => panic!("matched {}", r.description()),
    }
}
