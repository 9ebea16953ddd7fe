//! The stepped engine's plan and shader: the shader validates and translates to every target at
//! every entry point; every step of every fixture and of models at the compute buffer's limit
//! stays inside Mesa's loop budget; long folds are cut into contiguous chunks that hand their
//! partial result on through scratch.

use instinct_format::{Limits, ModelInfo};
use instinct_wgsl::{
    BlobError, FROM_SCRATCH, GpuModel, HEADER_WORDS, Kernel, LOOP_CAP, MAX_COMPUTE_BUFFER, Opcode,
    STEP_ITERATIONS, SteppedPlan, TO_SCRATCH, Target, stepped_shader, translate, validate_wgsl,
};
use std::path::PathBuf;

fn blob(json: &str) -> GpuModel {
    let info = ModelInfo::from_json_str(json).unwrap();
    let model = instinct_validate::validate(&info, &Limits::default()).unwrap();
    GpuModel::from_model(&model).unwrap()
}

#[test]
fn the_shader_validates_and_translates_at_every_entry_point() {
    let shader = validate_wgsl(&stepped_shader()).unwrap();
    for kernel in Kernel::ALL {
        for target in [
            Target::Wgsl,
            Target::Spirv,
            Target::Msl,
            Target::Hlsl,
            Target::Glsl,
        ] {
            let out = translate(&shader, target, kernel.entry_point())
                .unwrap_or_else(|e| panic!("{kernel:?} {}: {e}", target.name()));
            assert!(!out.into_bytes().is_empty());
        }
    }
}

/// Every step within the budget, and the plan's frame: inputs loaded first, the output stored
/// last, every step tagged with the model's offset.
fn check_plan(what: &str, blob: &GpuModel, offset: u32) -> SteppedPlan {
    let plan = SteppedPlan::new(blob, offset).unwrap_or_else(|e| panic!("{what}: {e}"));
    let steps = plan.steps();
    assert_eq!(steps.first().unwrap().kernel, Kernel::LoadInputs, "{what}");
    assert_eq!(steps.last().unwrap().kernel, Kernel::StoreOutputs, "{what}");
    assert_eq!(
        steps.last().unwrap().params.a as usize,
        blob.output_start(),
        "{what}"
    );
    for s in steps {
        assert!(
            s.loop_iterations() <= LOOP_CAP,
            "{what}: {s:?} loops {} times",
            s.loop_iterations()
        );
        assert_eq!(s.params.model, offset, "{what}");
    }
    assert!(plan.loop_iterations() <= LOOP_CAP);
    plan
}

#[test]
fn every_fixture_plans_within_the_loop_budget() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/conformance");
    let mut checked = 0;
    for entry in std::fs::read_dir(&root).unwrap() {
        let path = entry.unwrap().path().join("model.json");
        let Ok(json) = std::fs::read_to_string(&path) else {
            continue;
        };
        let b = blob(&json);
        let plan = check_plan(&path.display().to_string(), &b, 1234);
        // One row step per DOT and ATTENTION.
        let products = b
            .instructions()
            .iter()
            .filter(|g| g.opcode == Opcode::Dot as u32 || g.opcode == Opcode::Attention as u32)
            .count();
        let rows = plan
            .steps()
            .iter()
            .filter(|s| s.kernel == Kernel::DotRows)
            .count();
        assert_eq!(rows, products, "{}", path.display());
        checked += 1;
    }
    assert!(checked >= 10);
}

/// The chunks of the fold steps with operation `op`: they cover 0..n in order, each at most
/// [`STEP_ITERATIONS`], the first not reading scratch, the last not writing it, every other
/// both.
fn assert_chunked(plan: &SteppedPlan, kernel: Kernel, op: u32, n: u32) {
    let chunks: Vec<_> = plan
        .steps()
        .iter()
        .filter(|s| s.kernel == kernel && s.params.op == op)
        .collect();
    assert_eq!(chunks.len() as u32, n.div_ceil(STEP_ITERATIONS).max(1));
    let mut next = 0;
    for (i, c) in chunks.iter().enumerate() {
        assert_eq!(c.params.first, next);
        assert!(c.params.count <= STEP_ITERATIONS);
        let from = c.params.flags & FROM_SCRATCH != 0;
        let to = c.params.flags & TO_SCRATCH != 0;
        assert_eq!(from, i > 0, "chunk {i} of op {op}");
        assert_eq!(to, i + 1 < chunks.len(), "chunk {i} of op {op}");
        next += c.params.count;
    }
    assert_eq!(next, n);
}

#[test]
fn models_at_the_compute_buffer_limit_plan_within_the_loop_budget() {
    // 65,536 values per sample: a DOT of 60,000 inputs, a softmax, a sum and an in-place
    // gather over 60,000 values, a sum of 60,000 buffers.
    const WIDE: usize = 60_000;
    let rest = MAX_COMPUTE_BUFFER - WIDE - 4;
    let json = serde_json::json!({
        "feature_size": WIDE,
        "buffer_sizes": [WIDE, 2, 1, 1, rest],
        "instructions": [
            {"type": "DOT", "input": 0, "output": 1, "weights": 0},
            {"type": "ACTIVATION", "input": 0, "activation": "SOFTMAX"},
            {"type": "COPY_MASKED", "input": 0, "output": 0, "indexes": (0..WIDE).rev().collect::<Vec<_>>()},
            {"type": "REDUCE_SUM", "input": 0, "output": 2},
            {"type": "ADD_ELEMENTWISE_BUFFERS", "input": vec![2; WIDE], "output": 3},
            {"type": "COPY_MASKED", "input": 3, "output": 4, "indexes": vec![0; rest]},
        ],
        "weights": [vec![vec![0.5f32; WIDE]; 2]],
        "bias": [[0.0, 1.0]],
    });
    let b = blob(&json.to_string());
    assert_eq!(b.compute_buffer_size(), MAX_COMPUTE_BUFFER);
    let plan = check_plan("compute buffer at its limit", &b, 0);
    let n = WIDE as u32;
    // Softmax: maximum (101) and sum (102) in chunks.
    assert_chunked(&plan, Kernel::PerSample, 101, n);
    assert_chunked(&plan, Kernel::PerSample, 102, n);
    assert_chunked(&plan, Kernel::PerSample, Opcode::ReduceSum as u32, n);
    // The gather reads what it writes: in order, per sample, in chunks.
    assert_chunked(&plan, Kernel::PerSample, Opcode::CopyMasked as u32, n);
    assert_chunked(&plan, Kernel::Elementwise, Opcode::AddBuffers as u32, n);
    // The fold of buffers keeps one partial sum per element in scratch.
    assert!(plan.scratch_size() >= 1);
    // The last gather reads another buffer: one invocation per element.
    let gathers: Vec<_> = plan
        .steps()
        .iter()
        .filter(|s| s.kernel == Kernel::Elementwise && s.params.op == Opcode::CopyMasked as u32)
        .collect();
    assert_eq!(gathers.len(), 1);
    assert_eq!(gathers[0].params.width as usize, rest);
}

#[test]
fn a_foreign_blob_whose_elements_overlap_is_refused() {
    let b = blob(
        r#"{"feature_size": 4, "buffer_sizes": [4, 8],
            "instructions": [{"type": "COPY", "input": 0, "output": 1, "internal_index": 0},
                             {"type": "COPY", "input": 0, "output": 1, "internal_index": 4}],
            "weights": [], "bias": []}"#,
    );
    SteppedPlan::new(&b, 0).unwrap();
    // The same COPY moved to overlap its source shifted by one: the per-sample shaders copy it
    // as memmove does; elements at once cannot.
    let mut words = b.words().to_vec();
    let copy = HEADER_WORDS;
    assert_eq!(words[copy], Opcode::Copy as u32);
    words[copy + 2] = words[copy + 1] + 1;
    let shifted = GpuModel::from_words(words).unwrap();
    let e = SteppedPlan::new(&shifted, 0).unwrap_err();
    assert!(
        matches!(e, BlobError::Overlapping { instruction: 0, .. }),
        "{e}"
    );
    assert!(
        e.to_string().contains("0..4") && e.to_string().contains("1..5"),
        "{e}"
    );
}
