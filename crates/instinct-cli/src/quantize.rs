//! `instinct quantize`: an f32 model to an int8 model (instinct-quant), calibrated and
//! measured on rows of any data format the predictor reads, written atomically, with a report
//! of each layer's error and of the whole model's error against the f32 model.

use crate::failure::{Failure, Outcome, load_model, print_stdout, to_json_text};
use crate::parse::{parse_error_bound, parse_format, parse_percentile, parse_samples};
use anyhow::anyhow;
use instinct::format::ActivationMode;
use instinct::{QuantizeError, QuantizeOptions, QuantizeReport, RangeMethod};
use instinct_io::{Columns, DataFormat, Input, ReadOptions};
use std::io::Write;
use std::path::PathBuf;

/// How DOT inputs become u8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ActivationsArg {
    /// Each row from its own range, at run time: no calibration error, a row never depends on
    /// its batch.
    Dynamic,
    /// A fixed range per layer from the calibration rows: values outside it are clamped.
    Static,
}

/// How a static range is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MethodArg {
    /// The smallest and largest value seen.
    Minmax,
    /// `--percentile` of the values (and its mirror below).
    Percentile,
}

/// `instinct quantize` options.
#[derive(Debug, clap::Args)]
pub struct Options {
    /// The f32 model (JSON).
    pub model: PathBuf,
    /// Rows of the model's inputs (CSV, JSON, JSON Lines, .npy, Parquet, Arrow), columns
    /// matched to the features by name: the ranges are calibrated and the error measured on
    /// them.
    #[arg(long, value_name = "DATA")]
    pub calibration: PathBuf,
    /// The calibration file's format, where its name does not tell.
    #[arg(long, value_name = "FORMAT", value_parser = parse_format)]
    pub calibration_format: Option<DataFormat>,
    /// The int8 model to write.
    #[arg(long, short, value_name = "MODEL.q.json")]
    pub output: PathBuf,
    /// How DOT inputs are quantised to u8.
    #[arg(long, value_enum, default_value_t = ActivationsArg::Dynamic)]
    pub activations: ActivationsArg,
    /// With `--activations static`: how each layer's input range is chosen.
    #[arg(long, value_enum, default_value_t = MethodArg::Minmax)]
    pub method: MethodArg,
    /// With `--method percentile`: the percentile kept at the top (its mirror at the bottom).
    #[arg(long, value_name = "P", default_value_t = 99.99, value_parser = parse_percentile)]
    pub percentile: f64,
    /// A layer whose own relative error (RMS of int8 − f32 over RMS of f32, before its
    /// activation) exceeds this stays f32, with a note.
    #[arg(long, value_name = "E", default_value_t = 0.05, value_parser = parse_error_bound)]
    pub max_layer_error: f64,
    /// Calibration rows used at most (the first).
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = parse_samples)]
    pub rows: usize,
    /// Print the report as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Runs `instinct quantize`.
pub fn run(o: &Options) -> Outcome {
    let format = match o.calibration_format {
        Some(format) => format,
        None => DataFormat::of(&o.calibration, "calibration")?,
    };
    crate::output::check_writable(&o.output, "--output")?;
    let model = load_model(&o.model)?;
    if model.is_quantized() {
        return Err(Failure::invalid(anyhow!(
            "{} is quantized already",
            o.model.display()
        )));
    }
    let columns = Columns {
        size: model.feature_size(),
        names: model.feature_names(),
        keep: Vec::new(),
    };
    let (wanted, fs) = (o.rows.max(1), model.feature_size());
    let mut rows = Vec::new();
    let mut seen = 0usize;
    instinct_io::read::read_chunks(
        &Input::File(o.calibration.clone()),
        format,
        &columns,
        ReadOptions::default(),
        &mut |chunk| {
            let take = chunk.rows.min(wanted.saturating_sub(seen));
            rows.extend_from_slice(&chunk.values[..take * fs]);
            seen += chunk.rows;
            Ok(())
        },
    )?;
    let options = QuantizeOptions {
        activations: match o.activations {
            ActivationsArg::Dynamic => ActivationMode::Dynamic,
            ActivationsArg::Static => ActivationMode::Static,
        },
        method: match o.method {
            MethodArg::Minmax => RangeMethod::MinMax,
            MethodArg::Percentile => RangeMethod::Percentile(o.percentile),
        },
        max_layer_error: o.max_layer_error,
        max_rows: wanted,
    };
    let (int8, report) = model.quantize(&rows, &options).map_err(|e| match e {
        QuantizeError::NoRows => Failure::invalid(anyhow!(
            "{}: no rows to calibrate on",
            o.calibration.display()
        )),
        e => Failure::invalid(anyhow!("{}: {e}", o.model.display())),
    })?;
    int8.info()
        .save(&o.output)
        .map_err(|e| Failure::unreadable(anyhow!("{}: {e}", o.output.display())))?;
    let sizes = (file_size(&o.model), file_size(&o.output));
    let names = model.output_names();
    print_report(
        &report,
        &options,
        seen.min(wanted),
        &o.output,
        sizes,
        &names,
    );
    if o.json {
        print_stdout(&to_json_text(&json_report(&report))?)?;
    }
    Ok(())
}

fn file_size(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// The report on stderr.
fn print_report(
    report: &QuantizeReport,
    options: &QuantizeOptions,
    rows: usize,
    output: &std::path::Path,
    (f32_bytes, int8_bytes): (u64, u64),
    names: &[String],
) {
    let mut err = std::io::stderr().lock();
    let mode = match options.activations {
        ActivationMode::Dynamic => "u8 inputs quantized per row at run time".to_string(),
        ActivationMode::Static => format!("u8 inputs with {} ranges", options.method.name()),
    };
    let _ = writeln!(
        err,
        "quantized {} of {} dense layers to int8 (per-output weight scales, {mode}); {rows} calibration rows",
        report.quantized_slots(),
        report.layers.len()
    );
    for l in &report.layers {
        let range = l
            .input_range
            .map(|(s, z)| format!(", input scale {s:.6e} zero {z}"))
            .unwrap_or_default();
        let state = match &l.kept_f32 {
            None => "int8".to_string(),
            Some(why) => format!("kept f32: {why}"),
        };
        let _ = writeln!(
            err,
            "  slot {}: {} × {}, relative error {:.4}{range}: {state}",
            l.slot, l.outputs, l.inputs, l.relative_error
        );
    }
    let e = &report.expected;
    let worst = e
        .max_abs
        .iter()
        .enumerate()
        .fold((0, 0.0f32), |b, (i, &v)| if v > b.1 { (i, v) } else { b });
    let mean = e.mean_abs.iter().sum::<f32>() / e.mean_abs.len().max(1) as f32;
    let _ = writeln!(
        err,
        "against the f32 model on the calibration rows: max |int8 − f32| {:.6} (output {}), mean {:.6}{}",
        worst.1,
        worst.0,
        mean,
        e.argmax_agreement
            .map(|a| format!("; largest output agrees on {:.2}% of rows", a * 100.0))
            .unwrap_or_default()
    );
    drop(err);
    print_per_output(report, names);
    let mut err = std::io::stderr().lock();
    if let Some(a) = e.argmax_agreement.filter(|a| *a < 0.99) {
        let _ = writeln!(
            err,
            "note: the largest output differs from the f32 model's on {:.2}% of rows; if the model is a classifier, check its accuracy on test data",
            (1.0 - a) * 100.0
        );
    }
    if e.nonfinite_rows > 0 {
        let _ = writeln!(
            err,
            "note: on {} rows an output of one model is not finite where the other's differs (left out of the errors above)",
            e.nonfinite_rows
        );
    }
    match report.validation_rows {
        Some((kept, of)) if kept < of => {
            let _ = writeln!(
                err,
                "validation_data: {kept} of {of} rows recomputed by the int8 model (the others lie too close to a rounding edge to check on every CPU)"
            );
        }
        Some((kept, _)) => {
            let _ = writeln!(
                err,
                "validation_data: {kept} rows recomputed by the int8 model"
            );
        }
        None => {}
    }
    let _ = writeln!(
        err,
        "wrote {}: {int8_bytes} bytes (the f32 model: {f32_bytes})",
        output.display()
    );
}

/// Each output's largest and mean error, for a model of at most 16 outputs (the JSON report
/// has them for any model).
fn print_per_output(report: &QuantizeReport, names: &[String]) {
    let e = &report.expected;
    if e.max_abs.len() > 16 {
        let _ = writeln!(std::io::stderr(), "(each output's error: --json)");
        return;
    }
    let mut err = std::io::stderr().lock();
    for ((name, max), mean) in names.iter().zip(&e.max_abs).zip(&e.mean_abs) {
        let _ = writeln!(err, "  {name}: max |int8 − f32| {max:.6}, mean {mean:.6}");
    }
}

/// The report as JSON.
fn json_report(report: &QuantizeReport) -> serde_json::Value {
    serde_json::json!({
        "layers": report.layers.iter().map(|l| serde_json::json!({
            "slot": l.slot,
            "outputs": l.outputs,
            "inputs": l.inputs,
            "relative_error": l.relative_error,
            "input_scale": l.input_range.map(|r| r.0),
            "input_zero_point": l.input_range.map(|r| r.1),
            "kept_f32": l.kept_f32,
        })).collect::<Vec<_>>(),
        "expected_error": report.expected,
        "validation_rows": report.validation_rows.map(|(kept, of)| serde_json::json!({"kept": kept, "of": of})),
    })
}
