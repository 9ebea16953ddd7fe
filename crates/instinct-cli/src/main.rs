//! The `instinct` command: argument definitions, dispatch and the mapping of failures to exit codes.

mod bench;
mod convert;
mod engine;
mod failure;
mod inspect;
mod inspect_int8;
mod labels;
mod output;
mod parse;
mod plot;
mod predict;
mod progress;
mod quantize;
mod train;
mod train_options;
mod validate;
mod wgsl;

use clap::{Parser, Subcommand};
use engine::EngineArg;
use parse::{parse_samples, parse_threads};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Validate, inspect, run and time instmodel models.
#[derive(Debug, Parser)]
// Without a subcommand, clap's derive prints the help with exit code 2 but no `error:` line;
// asking for the subcommand like any other missing argument keeps every usage error alike.
#[command(name = "instinct", version, about, arg_required_else_help = false)]
#[command(
    after_help = "Exit codes: 0 ok, 1 invalid model or bad data row, 2 unreadable file or usage error."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a model against every rule (and its own validation_data) and summarize it.
    Validate {
        /// The model JSON file.
        model: PathBuf,
        /// Print the result as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Show a model's features, buffers, instructions, parameter counts, FLOPs and memory.
    Inspect {
        /// The model JSON file.
        model: PathBuf,
        /// Print the description as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Run a model over rows of CSV, JSON, JSON Lines or .npy, from a file or a pipe, writing
    /// the outputs as they are computed (memory holds a few chunks of rows, whatever the input).
    #[command(after_help = "Examples:
  instinct predict model.json -i rows.csv -o scores.csv
  instinct predict model.json -i rows.jsonl -o scores.jsonl --keep id
  cat rows.csv | instinct predict model.json -i - --input-format csv -o - --output-format csv")]
    Predict(predict::Options),
    /// Time predictions on seeded random inputs uniform in [-1, 1].
    Bench {
        /// The model JSON file.
        model: PathBuf,
        /// Samples per timed run.
        #[arg(long, value_name = "N", default_value_t = 200_000, value_parser = parse_samples)]
        samples: usize,
        /// Worker threads (default: all cores).
        #[arg(long, value_name = "N", value_parser = parse_threads)]
        threads: Option<usize>,
        /// Seed of the random inputs.
        #[arg(long, value_name = "S", default_value_t = 42)]
        seed: u64,
        /// The executor to time.
        #[arg(long, value_enum, default_value_t = EngineArg(instinct::EngineChoice::Auto))]
        engine: EngineArg,
        /// Print the measurement as one JSON object.
        #[arg(long)]
        json: bool,
        /// With `--engine batched`: models run together, each with MODEL's architecture and
        /// seeded random weights.
        #[arg(long, value_name = "K", default_value_t = 1000, value_parser = parse_samples)]
        models: usize,
        /// With `--engine batched`: inputs per model in one call.
        #[arg(long, value_name = "k", default_value_t = 1, value_parser = parse_samples)]
        inputs_per_model: usize,
    },
    /// Convert an ONNX model (a multilayer perceptron or linear model from skl2onnx,
    /// torch.onnx.export or tf2onnx) to a model file; a classifier keeps its probabilities.
    Convert {
        /// The ONNX file.
        model: PathBuf,
        /// The model JSON file to write.
        #[arg(long, short, value_name = "MODEL.json")]
        output: PathBuf,
    },
    /// Quantize a model to int8: weights s8 with a scale per output, inputs u8 (per row at run
    /// time, or calibrated static ranges), checked against the f32 model on calibration rows.
    #[command(after_help = "Examples:
  instinct quantize model.json --calibration train.csv -o model.q.json
  instinct quantize model.json --calibration rows.parquet --activations static --method percentile -o model.q.json")]
    Quantize(quantize::Options),
    /// Train a multilayer perceptron on a CSV and export it as a model. Classifiers output one
    /// probability per class, classes in ascending order of their label.
    Train(train::Options),
    /// Write the model's GPU shader: by default a complete compute shader (bindings 0 model
    /// data, 1 inputs, 2 outputs, 3 {sample_count, model_offset}; one sample per invocation)
    /// that runs on its own; with --library-only the functions to include in your own shader.
    Wgsl {
        /// The model JSON file.
        model: PathBuf,
        /// Library: instmodel's functions interpreting any model; specialized: this model's
        /// structure baked in.
        #[arg(long, value_enum, default_value_t = wgsl::ModeArg(instinct::wgsl::Mode::Specialized))]
        mode: wgsl::ModeArg,
        /// Only the functions (`predict`, `get_output_start`, ...) to include in your own shader.
        #[arg(long)]
        library_only: bool,
        /// The language written (the non-WGSL ones through naga).
        #[arg(long, value_enum, default_value_t = wgsl::ShaderTarget::Wgsl)]
        target: wgsl::ShaderTarget,
        /// Where to write it (stdout without it).
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // `--help` and `--version` come through here too, with exit code 0 and text for
            // stdout; usage errors have code 2 and go to stderr. Printing can only fail if the
            // stream is gone, and then there is nobody left to tell.
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(failure::UNREADABLE));
        }
    };
    let result = match cli.command {
        Command::Validate { model, json } => validate::run(&model, json),
        Command::Inspect { model, json } => inspect::run(&model, json),
        Command::Predict(options) => predict::run(&options),
        Command::Bench {
            model,
            samples,
            threads,
            seed,
            engine,
            json,
            models,
            inputs_per_model,
        } => bench::run(&bench::Options {
            model,
            samples,
            threads,
            seed,
            engine,
            json,
            models,
            inputs_per_model,
        }),
        Command::Train(options) => train::run(&options),
        Command::Quantize(options) => quantize::run(&options),
        Command::Convert { model, output } => convert::run(&model, &output),
        Command::Wgsl {
            model,
            mode,
            library_only,
            target,
            output,
        } => wgsl::run(&wgsl::Options {
            model: &model,
            mode,
            library_only,
            target,
            output: output.as_deref(),
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            let _ = writeln!(std::io::stderr(), "error: {}", render(&failure.error));
            ExitCode::from(failure.code)
        }
    }
}

/// The whole context chain on one line ("a: b: c"), as anyhow's `{:#}` prints it, but without a
/// cause whose text the message already holds: an OS error wrapped with its path ("cannot access
/// x: No such file or directory") would otherwise be printed twice. Multi-line causes such as a
/// list of diagnostics keep their own line breaks.
fn render(error: &anyhow::Error) -> String {
    let mut text = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}
