//! Why bytes are not a `.npy` array: [`NpyError`], and the helpers that word its messages.

use std::fmt;

/// The longest excerpt of the file quoted in a message.
const MAX_QUOTED: usize = 200;

/// Why bytes are not a `.npy` array this reader accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyError(pub String);

impl fmt::Display for NpyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NpyError {}

/// `Err` of an [`NpyError`] with `message`.
pub(super) fn fail<T>(message: impl Into<String>) -> Result<T, NpyError> {
    Err(NpyError(message.into()))
}

/// `text`, cut short if long, for a message.
pub(super) fn quoted(text: &str) -> String {
    match text.char_indices().nth(MAX_QUOTED) {
        Some((end, _)) => format!("{}…", text.get(..end).unwrap_or_default()),
        None => text.to_string(),
    }
}
