//! `instinct bench`: time an engine on seeded random inputs and report samples/s,
//! GFLOP/s and ns/sample (the median of several runs).

use crate::engine::EngineArg;
use crate::failure::{Failure, Outcome, load_model, print_stdout, to_json_text};
use crate::inspect::flops_per_sample;
// Input values (and, separately, output values) a run may hold: far past any useful benchmark,
// and refusing beyond it keeps a typo from exhausting memory.
use crate::engine::failure;
use anyhow::anyhow;
use instinct::Runner as _;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The most input or output values one timed run holds in memory (1 GiB of f32).
const MAX_VALUES: usize = 1 << 28;

/// Timed runs; the median is reported, so one run disturbed by the machine does not count.
const RUNS: usize = 5;

/// At most this many samples warm up caches, the allocator and the thread pool's first spawn.
const WARMUP_SAMPLES: usize = 10_000;

/// What to measure.
#[derive(Debug, Clone)]
pub struct Options {
    /// The model file.
    pub model: PathBuf,
    /// Samples per timed run.
    pub samples: usize,
    /// Worker threads; all cores when `None`.
    pub threads: Option<usize>,
    /// Seed of the inputs.
    pub seed: u64,
    /// The executor.
    pub engine: EngineArg,
    /// Print JSON instead of text.
    pub json: bool,
    /// Models of `--engine batched`.
    pub models: usize,
    /// Inputs per model of `--engine batched`.
    pub inputs_per_model: usize,
}

/// One measurement.
#[derive(Debug, Serialize)]
struct Report {
    model: String,
    /// The engine asked for (`auto` included).
    engine: &'static str,
    /// The engine that ran.
    ran: &'static str,
    threads: usize,
    samples: usize,
    runs: usize,
    seed: u64,
    flops_per_sample: u64,
    /// Median wall time of one run of `samples` samples.
    seconds: f64,
    samples_per_sec: f64,
    gflops: f64,
    ns_per_sample: f64,
    /// The command that reproduces this measurement.
    command: String,
    /// `--engine batched`: models per call.
    #[serde(skip_serializing_if = "Option::is_none")]
    models: Option<usize>,
    /// `--engine batched`: inputs per model per call.
    #[serde(skip_serializing_if = "Option::is_none")]
    inputs_per_model: Option<usize>,
}

impl Report {
    /// A report of `samples` samples taking `seconds` (the median run) at `flops` per sample;
    /// the rates follow from them.
    fn new(
        options: &Options,
        ran: &'static str,
        threads: usize,
        samples: usize,
        flops: u64,
        seconds: f64,
        command: String,
    ) -> Report {
        let samples_per_sec = samples as f64 / seconds;
        Report {
            model: options.model.display().to_string(),
            engine: options.engine.0.name(),
            ran,
            threads,
            samples,
            runs: RUNS,
            seed: options.seed,
            flops_per_sample: flops,
            seconds,
            samples_per_sec,
            gflops: flops as f64 * samples_per_sec / 1e9,
            ns_per_sample: seconds * 1e9 / samples as f64,
            command,
            models: None,
            inputs_per_model: None,
        }
    }
}

/// SplitMix64 (Steele, Lea and Flood 2014): a tiny, well-mixed generator, so the same seed gives
/// the same inputs on every machine without a dependency.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [-1, 1): the top 24 bits give every f32 step of 2^-24 in [0, 1) exactly.
    fn next_unit(&mut self) -> f32 {
        let u = (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
        2.0 * u - 1.0
    }
}

/// `samples × feature_size` seeded inputs.
fn random_inputs(samples: usize, feature_size: usize, seed: u64) -> Vec<f32> {
    let mut rng = SplitMix64(seed);
    (0..samples * feature_size)
        .map(|_| rng.next_unit())
        .collect()
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort_unstable();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

/// Runs `instinct bench`.
pub fn run(options: &Options) -> Outcome {
    let model = load_model(&options.model)?;
    if options.engine.0 == instinct::EngineChoice::Batched {
        return run_batched(options, &model);
    }
    let (fs, outs, n) = (model.feature_size(), model.output_size(), options.samples);
    let too_many = |per_sample: usize| {
        n.checked_mul(per_sample)
            .is_none_or(|values| values > MAX_VALUES)
    };
    if too_many(fs) || too_many(outs) {
        return Err(Failure::unreadable(anyhow!(
            "--samples {n} needs more than {MAX_VALUES} input or output values for a model of {fs} inputs and {outs} outputs; use fewer samples"
        )));
    }
    let runner = crate::engine::runner(&model, options.threads, options.engine.0)?;
    // A model without inputs runs one sample at a time.
    let threads = runner.threads();
    let inputs = random_inputs(n, fs, options.seed);

    let warmup = n.min(WARMUP_SAMPLES);
    std::hint::black_box(
        runner
            .run(warmup, &inputs[..warmup * fs])
            .map_err(failure)?,
    );
    // Outputs go into one buffer allocated before timing, as a service reusing its buffers
    // would run; the timed work is the engine's alone.
    let mut outputs = vec![0.0f32; n * outs];
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let started = Instant::now();
        runner
            .run_into(n, std::hint::black_box(&inputs), &mut outputs)
            .map_err(failure)?;
        times.push(started.elapsed());
        std::hint::black_box(&outputs);
    }
    // A clock too coarse to see the run at all still gives finite numbers.
    let seconds = median(times).as_secs_f64().max(1e-9);
    let flops = flops_per_sample(&model);
    let mut command = format!(
        "instinct bench {} --samples {n} --threads {threads} --seed {} --engine {}",
        options.model.display(),
        options.seed,
        options.engine.0.name()
    );
    if options.json {
        command.push_str(" --json");
    }
    let report = Report::new(options, runner.name(), threads, n, flops, seconds, command);
    print(&report, options.json)
}

/// Prints a report as text, or as JSON with `json`.
fn print(report: &Report, json: bool) -> Outcome {
    if json {
        return print_stdout(&to_json_text(&report)?);
    }
    let mut text = String::new();
    let r = &report;
    let _ = writeln!(text, "model          {}", r.model);
    let _ = writeln!(
        text,
        "engine         {} (ran {}, {} threads)",
        r.engine, r.ran, r.threads
    );
    let _ = writeln!(
        text,
        "samples        {} per run, median of {} runs ({:.3} ms)",
        r.samples,
        r.runs,
        r.seconds * 1e3
    );
    let _ = writeln!(text, "samples/s      {:.0}", r.samples_per_sec);
    let _ = writeln!(text, "ns/sample      {:.1}", r.ns_per_sample);
    let _ = writeln!(
        text,
        "GFLOP/s        {:.3} ({} FLOPs/sample, see `instinct inspect`)",
        r.gflops, r.flops_per_sample
    );
    let _ = writeln!(text, "reproduce      {}", r.command);
    print_stdout(&text)
}

/// `--engine batched`: `--models` copies of the model's architecture with seeded random weights
/// (uniform in ±1/√inputs, biases in ±0.1), `--inputs-per-model` inputs each per call; a "sample"
/// is one input of one model, and `seconds` is the median time of one call.
fn run_batched(options: &Options, model: &instinct::Model) -> Outcome {
    use instinct::batched::{Architecture, BatchedInference};
    let (k_models, k) = (options.models, options.inputs_per_model);
    let arch = Architecture::from_model(model.valid())
        .map_err(|e| Failure::invalid(anyhow!("--engine batched does not apply: {e}")))?;
    let per_call = k_models.checked_mul(k);
    let values = |per: usize| per_call.and_then(|n| n.checked_mul(per));
    let too_many = |per: usize| values(per).is_none_or(|v| v > MAX_VALUES);
    if too_many(arch.input_size()) || too_many(arch.output_size()) {
        return Err(Failure::unreadable(anyhow!(
            "--models {k_models} × --inputs-per-model {k} needs more than {MAX_VALUES} input or output values; use fewer"
        )));
    }
    let samples = k_models * k;
    let failed = |e: instinct::batched::BatchedError| Failure::invalid(anyhow!(e));
    let mut batch = BatchedInference::new(k_models, arch.clone()).map_err(failed)?;
    let mut rng = SplitMix64(options.seed);
    for m in 0..k_models {
        let mut layers = Vec::with_capacity(arch.layers.len());
        for l in &arch.layers {
            let scale = 1.0 / (l.input_size as f32).sqrt();
            let w: Vec<f32> = (0..l.input_size * l.output_size)
                .map(|_| rng.next_unit() * scale)
                .collect();
            let b: Vec<f32> = (0..l.output_size).map(|_| rng.next_unit() * 0.1).collect();
            layers.push((w, b));
        }
        let views: Vec<(&[f32], &[f32])> = layers
            .iter()
            .map(|(w, b)| (w.as_slice(), b.as_slice()))
            .collect();
        batch.set_model(m, &views).map_err(failed)?;
    }
    let threads = options
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let runner = instinct::BatchedRunner::new(batch, threads).map_err(failure)?;
    let inputs = random_inputs(samples, arch.input_size(), options.seed ^ 1);
    let mut outputs = vec![0.0f32; samples * arch.output_size()];
    let call = |outputs: &mut [f32]| {
        runner
            .run_into(samples, std::hint::black_box(&inputs), outputs)
            .map_err(failure)
    };
    // Calls per timed run: enough to cover `--samples` samples, at least one.
    let reps = options.samples.div_ceil(samples).max(1);
    call(&mut outputs)?;
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let started = Instant::now();
        for _ in 0..reps {
            call(&mut outputs)?;
        }
        times.push(started.elapsed().div_f64(reps as f64));
        std::hint::black_box(&outputs);
    }
    let seconds = median(times).as_secs_f64().max(1e-9);
    let flops = flops_per_sample(model);
    let mut command = format!(
        "instinct bench {} --engine batched --models {k_models} --inputs-per-model {k} --threads {threads} --seed {} --samples {}",
        options.model.display(),
        options.seed,
        options.samples
    );
    if options.json {
        command.push_str(" --json");
    }
    let report = Report {
        models: Some(k_models),
        inputs_per_model: Some(k),
        ..Report::new(
            options,
            runner.name(),
            runner.threads(),
            samples,
            flops,
            seconds,
            command,
        )
    };
    print(&report, options.json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_are_seeded_and_in_range() {
        let a = random_inputs(1000, 3, 7);
        assert_eq!(a, random_inputs(1000, 3, 7));
        assert_ne!(a, random_inputs(1000, 3, 8));
        assert!(a.iter().all(|x| (-1.0..1.0).contains(x)));
        let mean = a.iter().sum::<f32>() / a.len() as f32;
        assert!(mean.abs() < 0.05, "mean {mean}");
    }

    #[test]
    fn median_takes_the_middle_run() {
        let ms = Duration::from_millis;
        assert_eq!(median(vec![ms(5), ms(1), ms(9), ms(3), ms(4)]), ms(4));
        assert_eq!(median(Vec::new()), Duration::ZERO);
    }
}
