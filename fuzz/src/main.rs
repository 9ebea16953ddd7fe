//! instinct-fuzz: a seeded, in-process mutation fuzzer for every loader of instinct (model JSON,
//! ONNX, and the CSV, JSON, NPY, Parquet and Arrow input of `instinct predict`), on stable Rust.
//!
//! Each execution takes a seed (a repository fixture, or a mutant of one that loaded), stacks
//! 1 to 4 structured mutations on it and runs the loader under `catch_unwind`. A loader's error
//! is the expected answer; a panic, a broken promise, a single allocation above the limit or a
//! slow execution is a finding, saved under the findings directory with a `.txt` saying what
//! happened. `--replay` runs one saved input again. There is no coverage guidance.

mod guard;
mod mutate;
mod rng;
mod targets;

use instinct::Model;
use rng::Rng;
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use targets::Target;

#[global_allocator]
static ALLOCATOR: guard::Guarded = guard::Guarded;

const USAGE: &str = "\
usage: instinct-fuzz [--seconds N] [--seed S] [--targets model,onnx,csv,json,npy,parquet,arrow]
                     [--crash-dir DIR] [--max-alloc-mb M] [--slow-ms T] [--trace]
       instinct-fuzz --replay FILE [--target T]

  --seconds N       total time, split evenly between the targets (default 60); the seeds
                    always run, so 0 only checks them
  --seed S          the run's seed: the same seed mutates the same way (default 1)
  --targets LIST    the loaders to fuzz (default all five)
  --crash-dir DIR   where findings are saved (default target/fuzz-findings)
  --max-alloc-mb M  a single allocation above M MiB is a finding (default 2048)
  --slow-ms T       an execution taking over T ms is a finding (default 2000; 10000 in debug
                    builds); one running 10 times as long stops the run
  --trace           write each input to DIR/current-TARGET.bin before running it, to catch one
                    that kills the process (slow)
  --target T        with --replay, the saved input's loader (by default read from the file
                    name); otherwise the same as --targets T
  --replay FILE     run one saved input and say what happened
";

/// Mutants that loaded are kept to mutate further (they reach past the loaders' first
/// checks), up to this many per target, each at most `POOL_INPUT_MAX` bytes.
const POOL_SIZE: usize = 256;
const POOL_INPUT_MAX: usize = 64 << 10;

/// The command line.
#[derive(Debug)]
struct Options {
    seconds: f64,
    seed: u64,
    targets: Vec<Target>,
    crash_dir: PathBuf,
    max_alloc_mb: usize,
    slow_ms: u64,
    trace: bool,
    replay: Option<PathBuf>,
    target: Option<Target>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            seconds: 60.0,
            seed: 1,
            targets: Target::ALL.to_vec(),
            crash_dir: PathBuf::from("target/fuzz-findings"),
            max_alloc_mb: 2048,
            slow_ms: if cfg!(debug_assertions) {
                10_000
            } else {
                2_000
            },
            trace: false,
            replay: None,
            target: None,
        }
    }
}

fn parse_options(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options::default();
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--seconds" => options.seconds = value(&mut args, &flag)?,
            "--seed" => options.seed = value(&mut args, &flag)?,
            "--targets" => {
                let list: String = value(&mut args, &flag)?;
                options.targets = list
                    .split(',')
                    .map(target_named)
                    .collect::<Result<_, _>>()?;
            }
            "--target" => options.target = Some(target_named(&value::<String>(&mut args, &flag)?)?),
            "--crash-dir" => options.crash_dir = value(&mut args, &flag)?,
            "--max-alloc-mb" => options.max_alloc_mb = value(&mut args, &flag)?,
            "--slow-ms" => options.slow_ms = value(&mut args, &flag)?,
            "--trace" => options.trace = true,
            "--replay" => options.replay = Some(value(&mut args, &flag)?),
            "-h" | "--help" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            _ => return Err(format!("unknown argument {flag:?}")),
        }
    }
    if !(0.0..=1e9).contains(&options.seconds) {
        return Err(format!("--seconds {} is not a duration", options.seconds));
    }
    // Outside replay, `--target T` means `--targets T`.
    if let (None, Some(target)) = (&options.replay, options.target) {
        options.targets = vec![target];
    }
    if options.targets.is_empty() {
        return Err("--targets names no target".to_string());
    }
    Ok(options)
}

fn value<T: std::str::FromStr>(
    args: &mut impl Iterator<Item = String>,
    flag: &str,
) -> Result<T, String> {
    let text = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
    text.parse()
        .map_err(|_| format!("{flag}: cannot read {text:?}"))
}

fn target_named(name: &str) -> Result<Target, String> {
    Target::from_name(name.trim()).ok_or_else(|| {
        format!("unknown target {name:?} (model, onnx, csv, json, npy, parquet, arrow)")
    })
}

fn main() -> ExitCode {
    let options = match parse_options(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("instinct-fuzz: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    guard::set_alloc_limit(options.max_alloc_mb.saturating_mul(1 << 20));
    guard::install_panic_hook();
    let iris = match Model::from_json_str(targets::IRIS) {
        Ok(model) => model,
        Err(e) => {
            eprintln!("instinct-fuzz: the iris model does not load: {e}");
            return ExitCode::from(2);
        }
    };
    match &options.replay {
        Some(file) => replay(file, &options, &iris),
        None => fuzz_all(&options, &iris),
    }
}

/// How one execution ended.
enum Verdict {
    /// The input loaded (and ran).
    Ok,
    /// The loader refused the input: the expected answer to most mutants.
    Rejected(anyhow::Error),
    /// It panicked, or broke a promise `targets` checks: a finding.
    Panicked(guard::Panic),
}

/// Runs `input` through `target` under `catch_unwind`.
fn execute(target: Target, input: &[u8], iris: &Model) -> Verdict {
    guard::take_panic(); // forget any panic recorded outside an execution
    guard::execution_started();
    let result = catch_unwind(AssertUnwindSafe(|| targets::run(target, input, iris)));
    guard::execution_ended();
    match result {
        Ok(Ok(())) => Verdict::Ok,
        Ok(Err(error)) => Verdict::Rejected(error),
        Err(_) => Verdict::Panicked(guard::take_panic().unwrap_or_else(|| guard::Panic {
            location: "an unknown place".to_string(),
            report: "a panic the hook did not see".to_string(),
        })),
    }
}

/// What one target's run did.
#[derive(Debug)]
struct Stats {
    target: Target,
    executions: u64,
    oks: u64,
    errors: u64,
    findings: u64,
    elapsed: Duration,
}

/// Every finding of the run: each distinct one (by kind, target and place) is saved once.
#[derive(Default)]
struct Findings {
    counts: HashMap<String, u64>,
    saved: Vec<(String, Option<PathBuf>)>,
}

impl Findings {
    fn record(&mut self, key: String, kind: &str, message: &str) {
        let count = self.counts.entry(key.clone()).or_default();
        *count += 1;
        if *count > 1 {
            return;
        }
        let path = guard::save_current(kind, message);
        let shown = path.as_ref().map_or_else(
            || "the input could not be saved".to_string(),
            |p| format!("saved {}", p.display()),
        );
        let summary = message.split("\n\n").next().unwrap_or_default();
        eprintln!("instinct-fuzz: {key}: {summary}\n  {shown}");
        self.saved.push((key, path));
    }
}

fn fuzz_all(options: &Options, iris: &Model) -> ExitCode {
    if let Err(e) = std::fs::create_dir_all(&options.crash_dir) {
        eprintln!("instinct-fuzz: {}: {e}", options.crash_dir.display());
        return ExitCode::from(2);
    }
    guard::set_findings_dir(options.crash_dir.clone());
    guard::start_watchdog(Duration::from_millis(options.slow_ms.saturating_mul(10)));
    let budget = Duration::from_secs_f64(options.seconds / options.targets.len() as f64);
    println!(
        "instinct-fuzz: seed {}, {budget:.1?} per target, findings in {}",
        options.seed,
        options.crash_dir.display()
    );
    let mut findings = Findings::default();
    let mut stats = Vec::new();
    for &target in &options.targets {
        stats.push(fuzz(target, budget, options, iris, &mut findings));
    }

    println!(
        "\n{:<7} {:>11} {:>9} {:>11} {:>9} {:>9}",
        "target", "executions", "exec/s", "errors", "oks", "findings"
    );
    for s in &stats {
        let rate = s.executions as f64 / s.elapsed.as_secs_f64().max(1e-9);
        println!(
            "{:<7} {:>11} {:>9.0} {:>11} {:>9} {:>9}",
            s.target.name(),
            s.executions,
            rate,
            s.errors,
            s.oks,
            s.findings
        );
    }
    if findings.counts.is_empty() {
        println!("\nno findings");
        return ExitCode::SUCCESS;
    }
    println!("\nfindings ({} distinct):", findings.saved.len());
    for (key, path) in &findings.saved {
        let path = path
            .as_ref()
            .map_or_else(|| "(not saved)".to_string(), |p| p.display().to_string());
        println!("  {key} (x{}): {path}", findings.counts[key]);
    }
    ExitCode::FAILURE
}

/// Fuzzes one target for `budget` (its seeds first, whatever the budget).
fn fuzz(
    target: Target,
    budget: Duration,
    options: &Options,
    iris: &Model,
    findings: &mut Findings,
) -> Stats {
    let seeds = target.seeds();
    let others: Vec<&[u8]> = seeds.iter().map(Vec::as_slice).collect();
    let mut pool: Vec<Vec<u8>> = Vec::new();
    let mut rng = Rng::new(options.seed, target as u64);
    let slow = Duration::from_millis(options.slow_ms);
    let trace = options.trace.then(|| {
        options
            .crash_dir
            .join(format!("current-{}.bin", target.name()))
    });
    let mut stats = Stats {
        target,
        executions: 0,
        oks: 0,
        errors: 0,
        findings: 0,
        elapsed: Duration::ZERO,
    };
    let mut input = Vec::new();
    let start = Instant::now();
    loop {
        let iteration = stats.executions;
        let seed = usize::try_from(iteration).ok().filter(|&i| i < seeds.len());
        if seed.is_none() && start.elapsed() >= budget {
            break;
        }
        input.clear();
        match seed {
            Some(i) => input.extend_from_slice(&seeds[i]),
            None => {
                let base = if !pool.is_empty() && rng.chance(3) {
                    &pool[rng.below(pool.len())]
                } else {
                    &seeds[rng.below(seeds.len())]
                };
                input.extend_from_slice(base);
                mutate::mutate(&mut input, target.shape(), &others, &mut rng);
            }
        }
        guard::set_current(target.name(), iteration, &input);
        if let Some(path) = &trace {
            let _ = std::fs::write(path, &input);
        }

        let began = Instant::now();
        let verdict = execute(target, &input, iris);
        let took = began.elapsed();
        stats.executions += 1;

        let name = target.name();
        match verdict {
            Verdict::Ok => {
                stats.oks += 1;
                if seed.is_none() && input.len() <= POOL_INPUT_MAX {
                    if pool.len() < POOL_SIZE {
                        pool.push(input.clone());
                    } else {
                        let i = rng.below(POOL_SIZE);
                        pool[i].clone_from(&input);
                    }
                }
            }
            Verdict::Rejected(error) => {
                stats.errors += 1;
                if seed.is_some() && target.seeds_must_load() {
                    eprintln!("instinct-fuzz: warning: a {name} seed does not load: {error:#}");
                }
            }
            Verdict::Panicked(panic) => {
                let kind = if panic.report.contains(targets::BROKEN) {
                    "promise"
                } else {
                    "panic"
                };
                stats.findings += 1;
                findings.record(
                    format!("{kind} {name} {}", panic.location),
                    kind,
                    &panic.report,
                );
            }
        }
        if let Some(size) = guard::take_refused() {
            guard::discard_pending();
            stats.findings += 1;
            let message = format!(
                "a single allocation of {size} bytes was refused (limit {} MiB)",
                options.max_alloc_mb
            );
            findings.record(format!("alloc {name}"), "alloc", &message);
        }
        if took > slow {
            stats.findings += 1;
            let message = format!("the execution took {took:.1?} (limit {slow:?})");
            findings.record(format!("slow {name}"), "slow", &message);
        }
    }
    stats.elapsed = start.elapsed();
    stats
}

/// Runs one saved input and says what happened: exit 0 when it loaded or was refused, 1 on a
/// finding.
fn replay(file: &Path, options: &Options, iris: &Model) -> ExitCode {
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let guessed = Target::ALL
        .into_iter()
        .find(|t| name.contains(&format!("-{}-", t.name())));
    let Some(target) = options.target.or(guessed) else {
        eprintln!(
            "instinct-fuzz: name the loader with --target (model, onnx, csv, json, npy, parquet, arrow)"
        );
        return ExitCode::from(2);
    };
    let input = match std::fs::read(file) {
        Ok(input) => input,
        Err(e) => {
            eprintln!("instinct-fuzz: {}: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    println!(
        "{}: {} bytes, target {}",
        file.display(),
        input.len(),
        target.name()
    );
    if matches!(
        target,
        Target::Csv | Target::Json | Target::Npy | Target::Parquet | Target::Arrow
    ) {
        println!("read options: {:?}", targets::options_for(&input));
    }
    guard::set_current(target.name(), 0, &input);
    let began = Instant::now();
    let verdict = execute(target, &input, iris);
    println!("took {:.1?}", began.elapsed());
    let mut finding = false;
    match verdict {
        Verdict::Ok => println!("ok: the input loaded"),
        Verdict::Rejected(error) => println!("refused (the expected answer): {error:#}"),
        Verdict::Panicked(panic) => {
            println!("FINDING: {}", panic.report);
            finding = true;
        }
    }
    if let Some(size) = guard::take_refused() {
        println!("FINDING: a single allocation of {size} bytes was refused");
        finding = true;
    }
    if finding {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
