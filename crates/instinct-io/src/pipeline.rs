//! Reading, computing and writing at once: the reader and the writer run on threads of their own,
//! two chunks in flight between each stage, so memory holds a few chunks whatever the input's
//! size.

use crate::chunk::{Chunk, Emit};
use crate::error::DataError;
use std::sync::mpsc::{Receiver, sync_channel};

/// Chunks between two stages: `Some` a chunk, `None` the end of the rows.
const IN_FLIGHT: usize = 2;

/// The chunks the writer receives; an error when the rows stopped early (the reader or the
/// computation failed), so that the writer leaves no partial file behind.
pub struct Incoming {
    receiver: Receiver<Option<Chunk>>,
    ended: bool,
}

impl Iterator for Incoming {
    type Item = std::io::Result<Chunk>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.ended {
            return None;
        }
        match self.receiver.recv() {
            Ok(Some(chunk)) => Some(Ok(chunk)),
            Ok(None) => {
                self.ended = true;
                None
            }
            Err(_) => {
                self.ended = true;
                Some(Err(std::io::Error::other(
                    "the rows stopped before their end",
                )))
            }
        }
    }
}

/// Runs `read` (on a thread of its own, handing chunks to its `Emit`), `compute` on each chunk
/// (on this thread) and `write` over the results (on a thread of its own), overlapped; the
/// number of rows read. The first failure in row order wins: a reading error, else the
/// computation's, else the writer's. A writer that ends early without an error (a closed pipe)
/// stops the others quietly.
pub fn run_pipeline(
    read: impl FnOnce(Emit) -> Result<usize, DataError> + Send,
    mut compute: impl FnMut(Chunk) -> Result<Chunk, DataError>,
    write: impl FnOnce(&mut Incoming) -> Result<(), DataError> + Send,
) -> Result<usize, DataError> {
    let (to_compute, from_reader) = sync_channel::<Option<Chunk>>(IN_FLIGHT);
    let (to_writer, from_compute) = sync_channel::<Option<Chunk>>(IN_FLIGHT);
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || {
            let mut receiver_gone = false;
            let result = read(&mut |chunk| {
                to_compute.send(Some(chunk)).map_err(|_| {
                    receiver_gone = true;
                    DataError::unreadable("the rows read are no longer wanted")
                })
            });
            match result {
                Ok(rows) => {
                    // The end marker; nobody waiting for it is no error.
                    let _ = to_compute.send(None);
                    Ok(Some(rows))
                }
                Err(_) if receiver_gone => Ok(None),
                Err(e) => Err(e),
            }
        });
        let writer = scope.spawn(move || {
            let mut incoming = Incoming {
                receiver: from_compute,
                ended: false,
            };
            write(&mut incoming)
        });
        let mut computed = Ok(());
        for chunk in from_reader.iter() {
            let Some(chunk) = chunk else {
                let _ = to_writer.send(None);
                break;
            };
            match compute(chunk) {
                Ok(out) => {
                    if to_writer.send(Some(out)).is_err() {
                        break;
                    }
                }
                Err(e) => {
                    computed = Err(e);
                    break;
                }
            }
        }
        // Dropping both ends stops a reader still sending and tells the writer the rows ended
        // early, unless the end marker went first.
        drop(from_reader);
        drop(to_writer);
        let read = joined(reader.join());
        let written = joined(writer.join());
        let rows = read?;
        computed?;
        written?;
        // A reader stopped by a writer that ended early without an error read what was written.
        Ok(rows.unwrap_or(0))
    })
}

/// A stage's result; a stage that panicked is a bug, reported as an error rather than passed on.
fn joined<T>(result: std::thread::Result<Result<T, DataError>>) -> Result<T, DataError> {
    result.unwrap_or_else(|_| {
        Err(DataError::unreadable(
            "a reading or writing thread panicked",
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(first_row: usize, values: Vec<f32>) -> Chunk {
        Chunk {
            first_row,
            rows: values.len(),
            values,
            kept: Vec::new(),
        }
    }

    fn reader(
        n: usize,
        fail_at: Option<usize>,
    ) -> impl FnOnce(Emit) -> Result<usize, DataError> + Send {
        move |emit: Emit| {
            for i in 0..n {
                if fail_at == Some(i) {
                    return Err(DataError::invalid(format!("row {} is bad", i + 1)));
                }
                emit(chunk(i, vec![i as f32]))?;
            }
            Ok(n)
        }
    }

    #[test]
    fn chunks_go_through_in_order() {
        let mut seen = Vec::new();
        let rows = run_pipeline(
            reader(50, None),
            |mut c| {
                c.values[0] *= 2.0;
                Ok(c)
            },
            |incoming| {
                for c in incoming {
                    seen.push(c.map_err(DataError::unreadable)?.values[0]);
                }
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(rows, 50);
        assert_eq!(seen, (0..50).map(|i| 2.0 * i as f32).collect::<Vec<_>>());
    }

    #[test]
    fn a_reading_error_reaches_the_writer_as_an_early_end_and_is_what_is_reported() {
        let mut writer_saw_error = false;
        let result = run_pipeline(reader(50, Some(30)), Ok, |incoming| {
            for c in incoming {
                if c.is_err() {
                    writer_saw_error = true;
                    return Err(DataError::unreadable("the writer gave up"));
                }
            }
            Ok(())
        });
        assert_eq!(result.unwrap_err().message, "row 31 is bad");
        assert!(writer_saw_error);
    }

    #[test]
    fn a_computing_error_stops_the_reader_and_the_writer() {
        let result = run_pipeline(
            reader(1000, None),
            |c| {
                if c.first_row == 7 {
                    Err(DataError::invalid("the engine failed"))
                } else {
                    Ok(c)
                }
            },
            |incoming| {
                for c in incoming {
                    c.map_err(DataError::unreadable)?;
                }
                Ok(())
            },
        );
        assert_eq!(result.unwrap_err().message, "the engine failed");
    }

    #[test]
    fn a_writer_that_stops_quietly_stops_everything_quietly() {
        let result = run_pipeline(reader(1000, None), Ok, |incoming| {
            let _ = incoming.next();
            Ok(())
        });
        assert!(result.is_ok());
        let result = run_pipeline(reader(1000, None), Ok, |_| {
            Err(DataError::unreadable("disk full"))
        });
        assert_eq!(result.unwrap_err().message, "disk full");
    }
}
