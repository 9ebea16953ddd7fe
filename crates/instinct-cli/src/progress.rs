//! Progress of `predict` on stderr: bytes read, rows and rows per second, shown only when stderr
//! is a terminal and the work has already taken two seconds (short runs and logs stay quiet).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use instinct_io::Input;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long the work runs before the progress line appears.
const QUIET_FOR: Duration = Duration::from_secs(2);

/// The progress of one run.
pub struct Progress {
    bar: ProgressBar,
    bytes: AtomicU64,
    rows: AtomicU64,
    started: Instant,
    /// Whether the bar may be shown at all (stderr is a terminal).
    may_show: bool,
    shown: std::sync::atomic::AtomicBool,
}

impl Progress {
    /// Progress for reading `input`: a bar of bytes when its size is known, a counter otherwise.
    pub fn for_input(input: &Input) -> Progress {
        let size = match input {
            Input::File(path) => std::fs::metadata(path)
                .ok()
                .filter(std::fs::Metadata::is_file)
                .map(|m| m.len()),
            Input::Stdin => None,
        };
        let (bar, template) = match size {
            Some(len) => (
                ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden()),
                "{bar:30} {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left) {msg}",
            ),
            None => (
                ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden()),
                "{spinner} {bytes} read ({bytes_per_sec}) {msg}",
            ),
        };
        bar.set_style(
            ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Progress {
            bar,
            bytes: AtomicU64::new(0),
            rows: AtomicU64::new(0),
            started: Instant::now(),
            may_show: std::io::stderr().is_terminal(),
            shown: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The counter the reader adds the bytes it reads to.
    pub fn bytes(&self) -> &AtomicU64 {
        &self.bytes
    }

    /// `n` more rows have been computed.
    pub fn rows(&self, n: usize) {
        let rows = self.rows.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
        let elapsed = self.started.elapsed();
        if !self.may_show || elapsed < QUIET_FOR {
            return;
        }
        if !self.shown.swap(true, Ordering::Relaxed) {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
        let per_second = rows as f64 / elapsed.as_secs_f64();
        self.bar.set_position(self.bytes.load(Ordering::Relaxed));
        self.bar
            .set_message(format!("{rows} rows, {per_second:.0} rows/s"));
    }
}

impl Drop for Progress {
    /// The run is over, well or not: the line goes away.
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
