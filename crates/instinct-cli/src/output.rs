//! Checking, before any work, that an output file can be written where the user asked.

use crate::failure::{Failure, Outcome};
use anyhow::anyhow;
use std::path::Path;

/// Checks that a file can be written at `path` before any work whose result would go there:
/// its directory exists and accepts a new file. (The file itself is written atomically later.)
pub fn check_writable(path: &Path, flag: &str) -> Outcome {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(Failure::unreadable(anyhow!(
            "{flag} {}: the directory {} does not exist",
            path.display(),
            dir.display()
        )));
    }
    if path.is_dir() {
        return Err(Failure::unreadable(anyhow!(
            "{flag} {}: is a directory",
            path.display()
        )));
    }
    let probe = dir.join(format!(".instinct-write-check-{}", std::process::id()));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => Err(Failure::unreadable(anyhow!(
            "{flag} {}: cannot write in {}: {e}",
            path.display(),
            dir.display()
        ))),
    }
}
