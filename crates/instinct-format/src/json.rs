//! Reading and writing model JSON with limits on size and nesting, and positions in every error.

use crate::error::FormatError;
use crate::limits::Limits;
use crate::model::ModelInfo;
use crate::write::write_atomically;
use std::io::Read;
use std::path::Path;

impl ModelInfo {
    /// Parses a model from JSON text with the default [`Limits`].
    ///
    /// ```
    /// use instinct_format::ModelInfo;
    /// let info = ModelInfo::from_json_str(r#"{"feature_size": 2, "buffer_sizes": [2, 1],
    ///   "instructions": [{"type": "DOT", "input": 0, "output": 1, "weights": 0}],
    ///   "weights": [[[0.5, -0.25]]], "bias": [[0.1]]}"#).unwrap();
    /// assert_eq!(info.buffer_sizes, vec![2, 1]);
    /// ```
    pub fn from_json_str(json: &str) -> Result<ModelInfo, FormatError> {
        ModelInfo::from_json_slice(json.as_bytes(), &Limits::default())
    }

    /// Parses a model from JSON bytes. The size and nesting limits are checked by a linear scan
    /// before the parser runs, so a hostile file is refused without deep recursion or large
    /// allocations.
    pub fn from_json_slice(bytes: &[u8], limits: &Limits) -> Result<ModelInfo, FormatError> {
        if bytes.len() as u64 > limits.max_file_bytes {
            return Err(FormatError::FileTooLarge {
                bytes: bytes.len() as u64,
                max: limits.max_file_bytes,
            });
        }
        // Editors on Windows like to start UTF-8 files with a byte-order mark; it is not JSON,
        // but neither is it a reason to refuse the file.
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        check_depth(bytes, limits.max_json_depth)?;
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let info = serde::Deserialize::deserialize(&mut de).map_err(FormatError::from_json)?;
        de.end().map_err(FormatError::from_json)?;
        Ok(info)
    }

    /// Reads and parses a model file. Files larger than `limits.max_file_bytes` are refused
    /// before they are read.
    pub fn load(path: impl AsRef<Path>, limits: &Limits) -> Result<ModelInfo, FormatError> {
        let path = path.as_ref();
        let bytes = read_limited(path, limits.max_file_bytes)?;
        ModelInfo::from_json_slice(&bytes, limits)
    }

    /// Compact JSON, as the Python exporter writes it. `f32` values are written in their
    /// shortest exact form, so reading the text back gives the identical model.
    pub fn to_json_string(&self) -> String {
        serde_json::to_string(self)
            .expect("a ModelInfo always serializes: all map keys are strings")
    }

    /// Indented JSON.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self)
            .expect("a ModelInfo always serializes: all map keys are strings")
    }

    /// Writes the model as compact JSON. The text goes to a temporary file beside `path` that is
    /// renamed over it, so a failure never leaves a partial file behind.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), FormatError> {
        write_atomically(path.as_ref(), self.to_json_string().as_bytes())
    }
}

/// Reads at most `max` bytes of a file, refusing larger files with [`FormatError::FileTooLarge`].
pub fn read_limited(path: &Path, max: u64) -> Result<Vec<u8>, FormatError> {
    let io = |source| FormatError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if meta.is_dir() {
        return Err(io(std::io::Error::new(
            std::io::ErrorKind::IsADirectory,
            "is a directory",
        )));
    }
    if meta.len() > max {
        return Err(FormatError::FileTooLarge {
            bytes: meta.len(),
            max,
        });
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > max {
        return Err(FormatError::FileTooLarge {
            bytes: bytes.len() as u64,
            max,
        });
    }
    Ok(bytes)
}

/// Fails if arrays/objects nest deeper than `max`, skipping brackets inside strings.
fn check_depth(bytes: &[u8], max: usize) -> Result<(), FormatError> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    let (mut line, mut line_start) = (1usize, 0usize);
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Err(FormatError::TooDeep {
                        max,
                        line,
                        column: i - line_start + 1,
                    });
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b'\n' => {
                line += 1;
                line_start = i + 1;
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_byte_order_mark_is_accepted_and_duplicate_keys_are_refused() {
        let model = r#"{"feature_size": 1, "buffer_sizes": [1, 1],
            "instructions": [{"type": "ACTIVATION", "input": 0, "activation": "RELU"}],
            "weights": [], "bias": []}"#;
        let with_bom = format!("\u{feff}{model}");
        let info = ModelInfo::from_json_slice(with_bom.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(info, ModelInfo::from_json_str(model).unwrap());
        let twice = model.replacen(
            "\"buffer_sizes\": [1, 1],",
            "\"buffer_sizes\": [1, 1], \"buffer_sizes\": [1, 2],",
            1,
        );
        let err = ModelInfo::from_json_str(&twice).unwrap_err();
        assert!(err.to_string().contains("duplicate field"), "{err}");
    }

    #[test]
    fn deep_nesting_is_refused_with_its_position() {
        let json = "[".repeat(100_000);
        let started = std::time::Instant::now();
        let err = ModelInfo::from_json_slice(json.as_bytes(), &Limits::default()).unwrap_err();
        assert!(started.elapsed().as_millis() < 1000);
        match err {
            FormatError::TooDeep { max, line, column } => {
                assert_eq!((max, line, column), (32, 1, 33));
            }
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn brackets_inside_strings_do_not_count() {
        let json = format!(
            r#"{{"features": ["{}"], "buffer_sizes": [1]}}"#,
            "[".repeat(100)
        );
        let err = ModelInfo::from_json_str(&json).unwrap_err();
        // It gets past the depth check and fails on the missing `instructions` key instead.
        assert!(
            matches!(err, FormatError::Json { ref message, .. } if message.contains("instructions")),
            "{err}"
        );
    }

    #[test]
    fn syntax_errors_carry_line_and_column() {
        let err = ModelInfo::from_json_str("{\n  \"buffer_sizes\": [1,]\n}").unwrap_err();
        match err {
            FormatError::Json { line, column, .. } => assert_eq!((line, column), (2, 22)), // the `]` after the trailing comma
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn oversized_input_is_refused_before_parsing() {
        let limits = Limits {
            max_file_bytes: 10,
            ..Limits::default()
        };
        let err = ModelInfo::from_json_slice(b"{\"features\": []}", &limits).unwrap_err();
        assert!(matches!(
            err,
            FormatError::FileTooLarge { bytes: 16, max: 10 }
        ));
    }

    #[test]
    fn trailing_garbage_is_an_error() {
        let json =
            r#"{"feature_size":1,"buffer_sizes":[1],"instructions":[],"weights":[],"bias":[]} x"#;
        assert!(ModelInfo::from_json_str(json).is_err());
    }

    #[test]
    fn missing_file_names_the_path() {
        let err = ModelInfo::load("/nonexistent/model.json", &Limits::default()).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/model.json"), "{err}");
    }
}
