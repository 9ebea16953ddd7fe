//! `Failure`: an error with the exit code it maps to, plus the helpers every command shares
//! (loading a model, writing to stdout).

use anyhow::anyhow;
use instinct::{FormatError, LoadError, Model};
use std::io::Write;
use std::path::Path;

/// Exit code of an invalid model or a bad data row.
pub const INVALID: u8 = 1;
/// Exit code of an unreadable file (missing, a directory, too large, malformed) or a usage error.
pub const UNREADABLE: u8 = 2;

/// Why a command failed: the message for stderr and the process exit code.
#[derive(Debug)]
pub struct Failure {
    /// `INVALID` or `UNREADABLE`.
    pub code: u8,
    /// What went wrong and where.
    pub error: anyhow::Error,
}

impl Failure {
    /// An invalid model or a bad data row (exit 1).
    pub fn invalid(error: impl Into<anyhow::Error>) -> Failure {
        Failure {
            code: INVALID,
            error: error.into(),
        }
    }

    /// An unreadable file or a usage error (exit 2).
    pub fn unreadable(error: impl Into<anyhow::Error>) -> Failure {
        Failure {
            code: UNREADABLE,
            error: error.into(),
        }
    }
}

impl From<instinct_io::DataError> for Failure {
    /// A file that cannot be read is exit 2, a row or value the model cannot take exit 1.
    fn from(error: instinct_io::DataError) -> Failure {
        let message = anyhow::Error::msg(error.message);
        match error.kind {
            instinct_io::DataErrorKind::Unreadable => Failure::unreadable(message),
            instinct_io::DataErrorKind::Invalid => Failure::invalid(message),
        }
    }
}

/// Shorthand for the commands' results.
pub type Outcome<T = ()> = Result<T, Failure>;

/// Loads and validates a model, mapping a file or JSON problem to exit 2 and a rule violation
/// (including a `validation_data` mismatch) to exit 1 with every diagnostic listed.
pub fn load_model(path: &Path) -> Outcome<Model> {
    Model::load(path).map_err(|e| match e {
        LoadError::Format(e) => Failure::unreadable(anyhow!(describe_format_error(path, &e))),
        LoadError::Invalid(diagnostics) => Failure::invalid(anyhow!(
            "{} is not a valid model: {diagnostics}",
            path.display()
        )),
    })
}

/// Whether a model file that failed to parse as JSON is probably ONNX: its extension says so,
/// or its first byte is a protobuf tag (ONNX files start with `ir_version`, field 1: `0x08`).
fn looks_like_onnx(path: &Path, error: &FormatError) -> bool {
    let by_name = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("onnx"));
    let by_content = matches!(error, FormatError::Json { .. })
        && std::fs::File::open(path)
            .and_then(|mut f| {
                let mut first = [0u8; 1];
                std::io::Read::read_exact(&mut f, &mut first).map(|()| first[0] == 0x08)
            })
            .unwrap_or(false);
    !matches!(error, FormatError::Io { .. }) && (by_name || by_content)
}

/// A format error as one message naming the file. `Io` errors already name it; the others
/// (too large, JSON position) do not.
pub fn describe_format_error(path: &Path, error: &FormatError) -> String {
    match error {
        FormatError::Io { .. } => error.to_string(),
        _ if looks_like_onnx(path, error) => format!(
            "{}: {error}; this looks like an ONNX model: convert it first with `instinct convert {} -o MODEL.json`",
            path.display(),
            path.display()
        ),
        _ => format!("{}: {error}", path.display()),
    }
}

/// Writes text to stdout. A closed pipe (`instinct ... | head`) ends the output quietly, as
/// other command-line tools do; any other write error is reported.
pub fn print_stdout(text: &str) -> Outcome {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Failure::unreadable(anyhow!("cannot write to stdout: {e}")))
        }
        _ => Ok(()),
    }
}

/// Serializes a report as indented JSON followed by a newline.
pub fn to_json_text(value: &impl serde::Serialize) -> Outcome<String> {
    // Our report types only hold strings, numbers and lists, so this cannot fail in practice;
    // the error path still reports instead of panicking.
    serde_json::to_string_pretty(value)
        .map(|mut s| {
            s.push('\n');
            s
        })
        .map_err(|e| Failure::unreadable(anyhow!("cannot serialize the report: {e}")))
}
