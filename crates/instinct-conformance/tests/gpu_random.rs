//! Seeded random models (every instruction and activation, instmodel's and the format's
//! extensions) through the GPU code: every shader of 200 + 100 models validated by naga in both
//! modes, and smaller ones run on the GPU (both modes and the stepped engine) against the CPU
//! interpreter (abs 1e-4 + rel 1e-4). Without an adapter the GPU part says why it skips, unless
//! `INSTINCT_REQUIRE_GPU=1`.

use instinct::Model;
use instinct::gpu::GpuRuntime;
use instinct_conformance::random_model::{RandomCase, random_case, random_extended_case};
use instinct_conformance::{ErrorStats, Tolerance, shaders_validate};

#[test]
fn every_shader_of_200_random_models_validates() {
    let mut shaders = 0;
    for seed in 0..200 {
        let case = random_case(seed, 1);
        let model = Model::from_info(case.info).unwrap();
        shaders += shaders_validate(model.valid()).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    }
    eprintln!("{shaders} shaders validated by naga");
    assert_eq!(shaders, 800);
}

#[test]
fn every_shader_of_100_random_models_with_extension_activations_validates() {
    let mut shaders = 0;
    for seed in 0..100 {
        let case = random_extended_case(seed, 1);
        let model = Model::from_info(case.info).unwrap();
        shaders += shaders_validate(model.valid()).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    }
    assert_eq!(shaders, 400);
}

#[test]
fn random_models_on_the_gpu_equal_the_interpreter() {
    let gpu = match GpuRuntime::new() {
        Ok(g) => g,
        Err(e) if std::env::var("INSTINCT_REQUIRE_GPU").as_deref() == Ok("1") => {
            panic!("INSTINCT_REQUIRE_GPU=1 but there is no usable adapter: {e}")
        }
        Err(e) => return eprintln!("skipping GPU test: {e}"),
    };
    let tolerance = Tolerance::Close {
        abs: 1e-4,
        rel: 1e-4,
    };
    let mut worst = 0.0f64;
    // Both modes and the stepped engine in turn, so each sees every kind of instruction over the
    // seeds.
    let seeds = (1000..1030u64)
        .map(|s| (s, random_case as fn(u64, usize) -> RandomCase))
        .chain((2000..2045u64).map(|s| (s, random_extended_case as fn(u64, usize) -> RandomCase)));
    let mut with_extensions = 0;
    for (seed, generate) in seeds {
        let mut case = generate(seed, 6);
        with_extensions += usize::from(
            case.info
                .instructions
                .iter()
                .any(|i| i.activation().is_some_and(|a| a.is_extension())),
        );
        // WGSL lets implementations assume no NaN or infinity (IEEE results of non-finite values
        // are not guaranteed on a GPU; llvmpipe's `min(NaN, x)` is one example), so rows with
        // non-finite inputs are left to the CPU engines' tests.
        // Likewise rows whose intermediate values become non-finite (LN of a negative sum).
        let model = Model::from_info(case.info).unwrap();
        let mut memory = vec![0.0; model.required_memory()];
        let mut output = vec![0.0; model.output_size()];
        case.inputs.retain(|row| {
            model.predict_into(row, &mut memory, &mut output).is_ok()
                && memory.iter().all(|v| v.is_finite())
        });
        let one = std::slice::from_ref(model.valid());
        let mode = ["specialized", "library", "stepped"][(seed % 3) as usize];
        let uploaded = match seed % 3 {
            0 => gpu.upload(one, Some(instinct::wgsl::Mode::Specialized)),
            1 => gpu.upload(one, Some(instinct::wgsl::Mode::Library)),
            _ => gpu.upload_stepped(one),
        }
        .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let flat: Vec<f32> = case.inputs.iter().flatten().copied().collect();
        let out = uploaded.predict_batch(0, &flat).unwrap();
        let gpu_rows: Vec<Vec<f64>> = out
            .chunks(model.output_size())
            .map(|r| r.iter().map(|&v| v as f64).collect())
            .collect();
        let cpu_rows: Vec<Vec<f64>> = case
            .inputs
            .iter()
            .map(|x| {
                model
                    .predict(x)
                    .unwrap()
                    .into_iter()
                    .map(f64::from)
                    .collect()
            })
            .collect();
        let stats = ErrorStats::compare(&gpu_rows, &cpu_rows, tolerance);
        assert!(
            stats.passed(),
            "seed {seed} {mode}: {stats:?}\ninputs {:?}\ngpu {gpu_rows:?}\ncpu {cpu_rows:?}\nmodel {}",
            case.inputs,
            model.info().to_json_string()
        );
        worst = worst.max(stats.max_tolerance_used);
    }
    assert!(
        with_extensions >= 20,
        "only {with_extensions} models used an extension"
    );
    eprintln!(
        "75 random models (45 with extension activations, {with_extensions} using one) on {}: worst error {worst:.3} of the tolerance",
        gpu.description()
    );
}
