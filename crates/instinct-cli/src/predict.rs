//! `instinct predict`: read rows a chunk at a time, run each chunk through the chosen engine and
//! write its outputs while the next is read (instinct-io's pipeline), from files or pipes.

use crate::engine::{EngineArg, failure};
use crate::failure::{Failure, Outcome, load_model};
use crate::labels::Labeller;
use crate::parse::{parse_format, parse_threads};
use crate::progress::Progress;
use anyhow::anyhow;
use instinct_io::{
    Chunk, Columns, DataError, DataFormat, Incoming, Input, OutputColumns, ReadOptions, RowWriter,
};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// What `predict` reads and writes, and how (its command-line arguments).
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// The model JSON file.
    pub model: PathBuf,
    /// Input rows, `-` for standard input: .csv (optional header; columns matched to the
    /// model's feature names when it has one), .json (`[[...]]`, `[{...}]` or
    /// `{"inputs": [...]}`), .jsonl (an array or object per line), .npy (2-D float, integer
    /// or bool array, C or Fortran order, either byte order), .parquet, or Arrow IPC (.arrow,
    /// .feather: the file or the stream layout; .arrows).
    #[arg(long, short, value_name = "FILE")]
    pub input: PathBuf,
    /// Where to write the outputs (.csv, .json, .jsonl, .npy, .parquet, .arrow or .arrows),
    /// `-` for standard output; JSON rows on standard output without it. Arrow on standard
    /// output is the IPC stream layout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The input's format, where its name does not tell (standard input).
    #[arg(long, value_name = "FORMAT", value_parser = parse_format)]
    pub input_format: Option<DataFormat>,
    /// The output's format, where its name does not tell (default for standard output: json).
    #[arg(long, value_name = "FORMAT", value_parser = parse_format)]
    pub output_format: Option<DataFormat>,
    /// Copy this input column (an id, a timestamp) to each output row, before the outputs;
    /// repeat for more. CSV text is copied as it was, JSON values as they were, Parquet and
    /// Arrow columns with their types.
    #[arg(long, value_name = "COLUMN")]
    pub keep: Vec<String>,
    /// Add a `label` column: the class label of the most probable output (what
    /// scikit-learn's `predict()` returns), from the class labels the model carries.
    #[arg(long)]
    pub label: bool,
    /// Add the K most probable classes as `label_1`, `probability_1`, … `label_K`,
    /// `probability_K`.
    #[arg(long, value_name = "K", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub top_k: Option<usize>,
    /// Worker threads (default: all cores).
    #[arg(long, value_name = "N", value_parser = parse_threads)]
    pub threads: Option<usize>,
    /// The executor.
    #[arg(long, value_enum, default_value_t = EngineArg(instinct::EngineChoice::Auto))]
    pub engine: EngineArg,
    /// Accept NaN and infinities in the input (an empty CSV cell and a JSON null read as
    /// NaN) and let them propagate; without it they are refused, naming row and column.
    #[arg(long)]
    pub allow_nonfinite: bool,
    /// The CSV's first line is a header (default: detected; it is one when it holds the
    /// model's feature names or any cell that is not a number).
    #[arg(long, conflicts_with = "no_header")]
    pub header: bool,
    /// The CSV's first line is data.
    #[arg(long)]
    pub no_header: bool,
}

impl Options {
    /// How strictly the rows are read.
    fn read_options(&self) -> ReadOptions {
        ReadOptions {
            allow_nonfinite: self.allow_nonfinite,
            header: match (self.header, self.no_header) {
                (true, _) => Some(true),
                (_, true) => Some(false),
                _ => None,
            },
            chunk_rows: None,
        }
    }
}

/// Where the outputs go.
enum Output<'a> {
    File(&'a Path),
    Stdout,
}

/// Runs `instinct predict`. Formats, the output's directory, the model and the engine are all
/// checked before any row is read, so a typo is reported at once rather than after the work.
pub fn run(o: &Options) -> Outcome {
    let input = Input::from_arg(&o.input);
    let input_format = match (o.input_format, &input) {
        (Some(format), _) => format,
        (None, Input::File(path)) => DataFormat::of(path, "input")?,
        (None, Input::Stdin) => {
            return Err(Failure::unreadable(anyhow!(
                "--input -: standard input has no extension to tell its format by; give --input-format"
            )));
        }
    };
    let output = match o.output.as_deref() {
        Some(path) if path != Path::new("-") => Output::File(path),
        _ => Output::Stdout,
    };
    let output_format = match (o.output_format, &output) {
        (Some(format), _) => format,
        (None, Output::File(path)) => DataFormat::of(path, "output")?,
        (None, Output::Stdout) => DataFormat::Json,
    };
    // A pipe carries Arrow's stream layout: the file layout's index is for files one can seek.
    let output_format = match (output_format, &output) {
        (DataFormat::Arrow, Output::Stdout) => DataFormat::ArrowStream,
        (format, _) => format,
    };
    if let Output::File(path) = output {
        crate::output::check_writable(path, "--output")?;
    }
    let model = load_model(&o.model)?;
    // The engine is checked before the rows are read: an engine that does not apply to the
    // model is the first thing to hear about.
    let runner = crate::engine::runner(&model, o.threads, o.engine.0)?;
    let columns = Columns {
        size: model.feature_size(),
        names: model.feature_names(),
        keep: o.keep.clone(),
    };
    let labeller = Labeller::new(model.labels(), o.label, o.top_k)?;
    let mut out_columns = OutputColumns {
        kept: o.keep.clone(),
        outputs: model.output_names(),
    };
    // The label columns follow the kept ones, before the outputs.
    if let Some(labeller) = &labeller {
        for name in labeller.column_names() {
            if out_columns.kept.contains(&name) {
                return Err(Failure::invalid(anyhow!(
                    "--keep {name}: the label columns take that name"
                )));
            }
            if out_columns.outputs.contains(&name) {
                return Err(Failure::invalid(anyhow!(
                    "--label/--top-k: the model has an output named {name:?}, the name of a \
                     label column; the output columns would share a name"
                )));
            }
            out_columns.kept.push(name);
        }
    }
    out_columns.check(output_format)?;
    // A chunk holds about 4 MiB of inputs or of outputs, whichever rows are wider.
    let read_options = ReadOptions {
        chunk_rows: Some(instinct_io::rows_per_chunk(
            model.feature_size().max(model.output_size()),
            None,
        )),
        ..o.read_options()
    };

    let progress = Progress::for_input(&input);
    let mut engine_failure = None;
    let compute = |chunk: Chunk| -> Result<Chunk, DataError> {
        match runner.run(chunk.rows, &chunk.values) {
            Ok(values) => {
                progress.rows(chunk.rows);
                let mut kept = chunk.kept;
                if let Some(labeller) = &labeller {
                    kept.extend(labeller.columns(&values, chunk.rows));
                }
                Ok(Chunk {
                    values,
                    kept,
                    ..chunk
                })
            }
            Err(e) => {
                let first = chunk.first_row + 1;
                let last = chunk.first_row + chunk.rows;
                let f = failure(e);
                engine_failure = Some(Failure {
                    code: f.code,
                    error: f.error.context(format!("rows {first} to {last}")),
                });
                Err(DataError::invalid("the engine failed"))
            }
        }
    };
    let read = |emit: instinct_io::chunk::Emit| {
        instinct_io::read::read_chunks_counting(
            &input,
            input_format,
            &columns,
            read_options,
            progress.bytes(),
            emit,
        )
    };
    let write =
        |incoming: &mut Incoming| write_outputs(&output, output_format, &out_columns, incoming);
    let result = instinct_io::run_pipeline(read, compute, write);
    if let Some(failure) = engine_failure {
        return Err(failure);
    }
    result?;
    Ok(())
}

/// Writes the incoming chunks to `output`: a file atomically (a failure leaves no partial
/// file), standard output as the rows come (a closed pipe ends it quietly).
fn write_outputs(
    output: &Output,
    format: DataFormat,
    columns: &OutputColumns,
    incoming: &mut Incoming,
) -> Result<(), DataError> {
    let produce = |out: &mut dyn Write| -> std::io::Result<()> {
        // Nothing is written before the first rows (or their end) arrive: an input that fails
        // at once (missing, no such column) leaves standard output empty.
        let first = incoming.next().transpose()?;
        let mut writer = RowWriter::new(out, format, columns)?;
        for chunk in first.into_iter().map(Ok).chain(incoming) {
            writer.write(&chunk?)?;
        }
        writer.finish()
    };
    match output {
        Output::File(path) => {
            instinct::format::write_atomically_with(path, produce).map_err(DataError::unreadable)
        }
        Output::Stdout => {
            let mut out = BufWriter::with_capacity(256 << 10, std::io::stdout().lock());
            match produce(&mut out).and_then(|()| out.flush()) {
                // A closed pipe (`instinct predict ... | head`) ends the output quietly.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                Err(e) => Err(DataError::unreadable(format!(
                    "cannot write to stdout: {e}"
                ))),
                Ok(()) => Ok(()),
            }
        }
    }
}
