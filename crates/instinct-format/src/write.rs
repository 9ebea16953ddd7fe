//! Writing output files: atomically for regular files (a failure leaves the old file), through
//! symbolic links, and directly into FIFOs and devices.

use crate::error::FormatError;
use std::io::{BufWriter, Write};
use std::path::Path;

/// Writes `bytes` to `path` so that a failure never leaves a partial or missing file behind.
///
/// - A regular file (or a new one) is replaced by writing a temporary file beside it and renaming
///   it over `path`; an existing file keeps its permission bits, a new one gets the default mode
///   (`0666` less the umask).
/// - A symbolic link is followed, also a dangling one: its target is replaced (or created) and
///   the link stays.
/// - A FIFO, a device such as `/dev/null`, or a descriptor such as `/dev/stdout` is written
///   directly, never replaced. A FIFO blocks until something reads it.
///
/// Every failure, a missing or unwritable directory included, is a [`FormatError::Io`] naming
/// `path`; the temporary file is removed when anything fails.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), FormatError> {
    write_atomically_with(path, |out| out.write_all(bytes))
}

/// [`write_atomically`] for contents produced piece by piece: `produce` writes them into a
/// buffered writer, so they are never held whole in memory. The same guarantees: a regular file
/// is replaced only once `produce` and the write have succeeded, otherwise left as it was.
pub fn write_atomically_with(
    path: &Path,
    produce: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), FormatError> {
    let io = |source| FormatError::Io {
        path: path.to_path_buf(),
        source,
    };
    let result = match destination(path) {
        Ok(Destination::Replace {
            target,
            permissions,
        }) => replace(&target, produce, permissions).map_err(|e| through_link(path, &target, e)),
        Ok(Destination::Direct { append }) => write_directly(path, produce, append),
        Ok(Destination::Stdout) => {
            let mut out = BufWriter::with_capacity(BUFFER, std::io::stdout().lock());
            produce(&mut out).and_then(|()| out.flush())
        }
        Ok(Destination::Stderr) => {
            let mut out = BufWriter::with_capacity(BUFFER, std::io::stderr().lock());
            produce(&mut out).and_then(|()| out.flush())
        }
        Err(e) => Err(e),
    };
    result.map_err(io)
}

/// The write buffer.
const BUFFER: usize = 256 << 10;

/// How [`write_atomically`] puts the bytes in place.
#[derive(Debug, PartialEq)]
enum Destination {
    /// A regular file `target`, existing or not, replaced by renaming a temporary file over it.
    /// `permissions` are those of the file it replaces, `None` for a new file.
    Replace {
        target: std::path::PathBuf,
        permissions: Option<std::fs::Permissions>,
    },
    /// A FIFO, a device or an open descriptor, written where it is. `append` for a descriptor
    /// that leads to a regular file, so what its redirection already wrote is kept.
    Direct { append: bool },
    /// This process's standard output (`/dev/stdout`, `/dev/fd/1`), written through
    /// [`std::io::stdout`]: reopening it would start a second file offset that the shell's later
    /// writes overwrite, and a socket cannot be reopened at all.
    Stdout,
    /// This process's standard error, likewise.
    Stderr,
}

/// The file that links lead to.
enum Resolved {
    /// An ordinary path, existing or not (a dangling link gives the file it would create).
    File(std::path::PathBuf),
    /// A link into /proc, such as `/dev/stdout` -> `/proc/self/fd/1`: it names an open
    /// descriptor, and its text ("pipe:[123]", a deleted file's old name) is no path to rename
    /// over.
    Descriptor,
    /// /proc's link to this process's descriptor 1.
    Stdout,
    /// /proc's link to this process's descriptor 2.
    Stderr,
}

/// Where and how the bytes for `path` go.
fn destination(path: &Path) -> std::io::Result<Destination> {
    // `metadata` follows links the way the kernel does, /proc's descriptor links included, so it
    // says what a write to `path` would reach.
    let existing = match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::IsADirectory,
                "is a directory",
            ));
        }
        Ok(meta) => Some(meta),
        // A new file, a dangling link or a missing directory: the link is resolved below, and a
        // missing directory fails when the temporary file is created there, naming the path.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let regular = existing.as_ref().is_none_or(std::fs::Metadata::is_file);
    Ok(match resolve_links(path)? {
        Resolved::Stdout => Destination::Stdout,
        Resolved::Stderr => Destination::Stderr,
        // A FIFO, a device, or the pipe or terminal behind a descriptor: renaming over it would
        // put a regular file in its place, so it is written directly.
        _ if !regular => Destination::Direct { append: false },
        Resolved::Descriptor => Destination::Direct { append: true },
        Resolved::File(target) => Destination::Replace {
            target,
            permissions: existing.as_ref().and_then(kept_permissions),
        },
    })
}

/// Follows the symbolic links at `path` to the file they lead to, whether it exists or not.
fn resolve_links(path: &Path) -> std::io::Result<Resolved> {
    // The kernel's own limit on links followed in one lookup (Linux's MAXSYMLINKS).
    const MAX_LINKS: usize = 40;
    let mut current = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        let is_link = std::fs::symlink_metadata(&current).is_ok_and(|m| m.file_type().is_symlink());
        if !is_link {
            return Ok(Resolved::File(current));
        }
        if let Some(descriptor) = proc_link(&current) {
            return Ok(descriptor);
        }
        let text = std::fs::read_link(&current)?;
        // A relative link is relative to the directory holding it; joining an absolute one
        // replaces the whole path.
        current = match current.parent() {
            Some(dir) => dir.join(text),
            None => text,
        };
    }
    Err(std::io::Error::other("too many levels of symbolic links"))
}

/// What the link `link` names if it lives under /proc (Linux's descriptor and process links),
/// `None` for an ordinary link.
fn proc_link(link: &Path) -> Option<Resolved> {
    // The parent is canonicalized because /dev/fd/1 reaches /proc through a linked directory,
    // and /proc/self is itself a link to /proc/<pid>.
    let dir = match link.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let dir = std::fs::canonicalize(dir).ok()?;
    if !dir.starts_with("/proc") {
        return None;
    }
    let ours = std::fs::canonicalize("/proc/self/fd").is_ok_and(|own| own == dir);
    Some(match link.file_name().and_then(|n| n.to_str()) {
        Some("1") if ours => Resolved::Stdout,
        Some("2") if ours => Resolved::Stderr,
        _ => Resolved::Descriptor,
    })
}

/// The permission bits an existing file passes on to the file that replaces it.
#[cfg(unix)]
fn kept_permissions(meta: &std::fs::Metadata) -> Option<std::fs::Permissions> {
    use std::os::unix::fs::PermissionsExt;
    // Read, write and execute for owner, group and others only: set-user-ID and set-group-ID are
    // not carried over to a file now owned by whoever runs this.
    Some(std::fs::Permissions::from_mode(
        meta.permissions().mode() & 0o777,
    ))
}

/// The permission bits an existing file passes on to the file that replaces it: elsewhere only a
/// read-only flag, and a read-only file cannot be renamed over there anyway.
#[cfg(not(unix))]
fn kept_permissions(_meta: &std::fs::Metadata) -> Option<std::fs::Permissions> {
    None
}

/// Writes `bytes` to a new temporary file beside `target` and renames it over `target`, so
/// `target` is the old file or the new one, never a partial one.
fn replace(
    target: &Path,
    produce: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    permissions: Option<std::fs::Permissions>,
) -> std::io::Result<()> {
    let (tmp, file) = create_temporary(target)?;
    let filled = fill(file, produce, permissions);
    // Closed (by `fill`) before the rename: Windows cannot rename a file that is open.
    let result = filled.and_then(|()| std::fs::rename(&tmp, target));
    if result.is_err() {
        // No litter: the temporary file is this call's own (created with `create_new`).
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Creates `.<name>.<pid>.<counter>.tmp` beside `target`: in the same directory, so the rename
/// stays on one file system and replaces `target` in one step.
fn create_temporary(target: &Path) -> std::io::Result<(std::path::PathBuf, std::fs::File)> {
    // A name near the 255-byte limit would be too long with the suffix; such a file gets a
    // fixed stem instead.
    const LONGEST_NAME: usize = 200;
    // Attempts before giving up on names taken by earlier processes with the same id.
    const ATTEMPTS: usize = 100;
    // Unique per process and call, so concurrent writers never share a temporary file.
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let file_name = target
        .file_name()
        .ok_or_else(|| std::io::Error::other("not a file path"))?;
    let stem = if file_name.len() > LONGEST_NAME {
        std::ffi::OsStr::new("instinct")
    } else {
        file_name
    };
    for _ in 0..ATTEMPTS {
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut name = std::ffi::OsString::from(".");
        name.push(stem);
        name.push(format!(".{}.{n}.tmp", std::process::id()));
        let tmp = target.with_file_name(name);
        // `create_new`, so an existing file is never clobbered; the mode is the default 0666
        // less the umask, like any new file (a tempfile crate's 0600 would stick to a new
        // output).
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            Ok(file) => return Ok((tmp, file)),
            // Left by an earlier process with the same id, perhaps killed mid-write: it is not
            // ours to remove, so the next name is tried.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AlreadyExists,
        "every temporary file name beside it is taken",
    ))
}

/// Writes the temporary file's contents and permissions and puts them on disk.
fn fill(
    file: std::fs::File,
    produce: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    permissions: Option<std::fs::Permissions>,
) -> std::io::Result<()> {
    let mut out = BufWriter::with_capacity(BUFFER, file);
    produce(&mut out)?;
    let file = out
        .into_inner()
        .map_err(std::io::IntoInnerError::into_error)?;
    if let Some(permissions) = permissions {
        // On the file handle, so the umask plays no part and the existing file's bits are kept.
        file.set_permissions(permissions)?;
    }
    // On disk before the rename, so a crash leaves the old file or the new one, never an empty one.
    file.sync_all()
}

/// Writes the contents straight into a FIFO, a device or a descriptor at `path`.
fn write_directly(
    path: &Path,
    produce: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    append: bool,
) -> std::io::Result<()> {
    // Neither created nor truncated: it exists, a FIFO or device has nothing to truncate, and a
    // descriptor leading to a file is appended to, after what its redirection already wrote.
    let file = std::fs::OpenOptions::new()
        .write(true)
        .append(append)
        .open(path)?;
    // Replaced by a regular file between the check and the open: writing without truncating
    // would leave the old file's tail behind.
    if !append && file.metadata()?.is_file() {
        return Err(std::io::Error::other(
            "became a regular file while it was being opened",
        ));
    }
    // No `sync_all`: pipes and character devices refuse it (EINVAL), and there is no file to
    // keep whole.
    let mut out = BufWriter::with_capacity(BUFFER, file);
    produce(&mut out)?;
    out.flush()
}

/// Says which file was being written when `path` is a link to `target`.
fn through_link(path: &Path, target: &Path, error: std::io::Error) -> std::io::Error {
    if target == path {
        return error;
    }
    std::io::Error::new(
        error.kind(),
        format!(
            "{error} (writing {}, where the link leads)",
            target.display()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// An empty directory of its own for one test.
    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("instinct-write-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// The names in `dir`, sorted: any temporary file left behind shows up here.
    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn a_new_file_is_written_with_the_default_mode() {
        let dir = scratch("new");
        let out = dir.join("out.json");
        write_atomically(&out, b"{}").unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"{}");
        #[cfg(unix)]
        {
            // The umask is unknown here: a file made by `File::create` shows what it allows.
            let plain = dir.join("plain");
            std::fs::File::create(&plain).unwrap();
            assert_eq!(mode(&out), mode(&plain));
            std::fs::remove_file(&plain).unwrap();
        }
        assert_eq!(names(&dir), ["out.json"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_existing_file_is_replaced() {
        let dir = scratch("replace");
        let out = dir.join("out.json");
        std::fs::write(&out, b"a much longer old content").unwrap();
        write_atomically(&out, b"new").unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"new");
        write_atomically(&out, b"").unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"");
        assert_eq!(names(&dir), ["out.json"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn contents_written_in_pieces_replace_the_file_only_when_all_succeed() {
        let dir = scratch("pieces");
        let out = dir.join("out.csv");
        std::fs::write(&out, b"old").unwrap();
        // Larger than the write buffer, so part of it reaches the temporary file before the
        // failure.
        let piece = vec![b'x'; 100_000];
        let failed = write_atomically_with(&out, |w| {
            for _ in 0..10 {
                w.write_all(&piece)?;
            }
            Err(std::io::Error::other("the producer failed"))
        });
        assert!(
            failed
                .unwrap_err()
                .to_string()
                .contains("the producer failed")
        );
        assert_eq!(std::fs::read(&out).unwrap(), b"old");
        assert_eq!(names(&dir), ["out.csv"]);
        write_atomically_with(&out, |w| {
            for _ in 0..10 {
                w.write_all(&piece)?;
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(
            std::fs::read(&out).unwrap(),
            [piece.as_slice(); 10].concat()
        );
        assert_eq!(names(&dir), ["out.csv"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn an_existing_file_keeps_its_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("mode");
        let out = dir.join("out.json");
        for bits in [0o640, 0o600, 0o755, 0o444] {
            std::fs::write(&out, b"old").unwrap();
            std::fs::set_permissions(&out, std::fs::Permissions::from_mode(bits)).unwrap();
            write_atomically(&out, b"new").unwrap();
            assert_eq!(mode(&out), bits);
            assert_eq!(std::fs::read(&out).unwrap(), b"new");
            std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        assert_eq!(names(&dir), ["out.json"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_is_written_through_and_stays() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("symlink");
        std::fs::create_dir(dir.join("real")).unwrap();
        let target = dir.join("real").join("model.json");
        std::fs::write(&target, b"old").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
        // Relative, through a second link: each hop is relative to the directory holding it.
        std::os::unix::fs::symlink("real/model.json", dir.join("hop")).unwrap();
        std::os::unix::fs::symlink("hop", dir.join("out.json")).unwrap();
        write_atomically(&dir.join("out.json"), b"new").unwrap();
        let link = std::fs::symlink_metadata(dir.join("out.json")).unwrap();
        assert!(link.file_type().is_symlink());
        assert_eq!(
            std::fs::read_link(dir.join("out.json")).unwrap(),
            Path::new("hop")
        );
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        assert_eq!(mode(&target), 0o640);
        assert_eq!(names(&dir), ["hop", "out.json", "real"]);
        assert_eq!(names(&dir.join("real")), ["model.json"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_dangling_symlink_creates_its_target() {
        let dir = scratch("dangling");
        std::fs::create_dir(dir.join("real")).unwrap();
        let target = dir.join("real").join("model.json");
        std::os::unix::fs::symlink(&target, dir.join("out.json")).unwrap();
        write_atomically(&dir.join("out.json"), b"new").unwrap();
        assert!(
            std::fs::symlink_metadata(dir.join("out.json"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        assert_eq!(names(&dir.join("real")), ["model.json"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_dangling_symlink_into_a_missing_directory_is_an_error_naming_both() {
        let dir = scratch("dangling-missing");
        let target = dir.join("missing").join("model.json");
        let out = dir.join("out.json");
        std::os::unix::fs::symlink(&target, &out).unwrap();
        let err = write_atomically(&out, b"new").unwrap_err();
        match &err {
            FormatError::Io { path, source } => {
                assert_eq!(path, &out);
                assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
            }
            other => panic!("unexpected {other}"),
        }
        let message = err.to_string();
        assert!(message.contains(&*out.to_string_lossy()), "{message}");
        assert!(message.contains(&*target.to_string_lossy()), "{message}");
        assert_eq!(names(&dir), ["out.json"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_loop_is_an_error() {
        let dir = scratch("loop");
        std::os::unix::fs::symlink("b", dir.join("a")).unwrap();
        std::os::unix::fs::symlink("a", dir.join("b")).unwrap();
        let err = write_atomically(&dir.join("a"), b"new").unwrap_err();
        assert!(matches!(err, FormatError::Io { .. }), "{err}");
        assert_eq!(names(&dir), ["a", "b"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_written_directly() {
        use std::os::unix::fs::FileTypeExt;
        let dir = scratch("fifo");
        let fifo = dir.join("out.json");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if !made.is_ok_and(|s| s.success()) {
            eprintln!("skipped: mkfifo is not available");
            let _ = std::fs::remove_dir_all(&dir);
            return;
        }
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(fifo))
        };
        let result = write_atomically(&fifo, b"through the pipe");
        if result.is_err() {
            // The reader waits in `open` for a writer: one is opened (and closed) to release it.
            let _ = std::fs::OpenOptions::new().write(true).open(&fifo);
        }
        let read = reader.join().unwrap().unwrap();
        result.unwrap();
        assert_eq!(read, b"through the pipe");
        assert!(
            std::fs::symlink_metadata(&fifo)
                .unwrap()
                .file_type()
                .is_fifo()
        );
        assert_eq!(names(&dir), ["out.json"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn dev_null_is_written_directly() {
        use std::os::unix::fs::FileTypeExt;
        let null = Path::new("/dev/null");
        let Ok(meta) = std::fs::metadata(null) else {
            eprintln!("skipped: no /dev/null");
            return;
        };
        assert!(meta.file_type().is_char_device());
        write_atomically(null, b"discarded").unwrap();
        assert!(
            std::fs::metadata(null)
                .unwrap()
                .file_type()
                .is_char_device()
        );
        // Through a link too, the way /dev/stdout leads to a terminal or pipe.
        let dir = scratch("null");
        std::os::unix::fs::symlink(null, dir.join("out.json")).unwrap();
        write_atomically(&dir.join("out.json"), b"discarded").unwrap();
        assert!(
            std::fs::symlink_metadata(dir.join("out.json"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(names(&dir), ["out.json"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_descriptor_link_is_appended_to_not_replaced() {
        use std::os::fd::AsRawFd;
        use std::os::unix::fs::MetadataExt;
        let dir = scratch("descriptor");
        let log = dir.join("log.txt");
        let mut file = std::fs::File::create(&log).unwrap();
        std::io::Write::write_all(&mut file, b"before\n").unwrap();
        // What /dev/stdout is when the shell redirects stdout to a file.
        let fd = PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
        if !fd.exists() {
            eprintln!("skipped: no /proc");
            let _ = std::fs::remove_dir_all(&dir);
            return;
        }
        write_atomically(&fd, b"direct\n").unwrap();
        std::os::unix::fs::symlink(&fd, dir.join("stdout")).unwrap();
        write_atomically(&dir.join("stdout"), b"linked\n").unwrap();
        assert_eq!(std::fs::read(&log).unwrap(), b"before\ndirect\nlinked\n");
        // The same file the descriptor holds, not a new one renamed over it.
        assert_eq!(
            file.metadata().unwrap().ino(),
            std::fs::metadata(&log).unwrap().ino()
        );
        assert_eq!(names(&dir), ["log.txt", "stdout"]);
        drop(file);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn standard_output_and_error_go_through_the_std_handles() {
        // Whatever fd 1 and 2 are under the test runner (terminal, pipe, file, socket), their
        // /proc links are recognized before their file type is looked at.
        for (path, expected) in [
            ("/dev/stdout", Destination::Stdout),
            ("/dev/stderr", Destination::Stderr),
            ("/dev/fd/1", Destination::Stdout),
            ("/proc/self/fd/2", Destination::Stderr),
        ] {
            let path = Path::new(path);
            if std::fs::metadata(path).is_err() {
                eprintln!("skipped {}: not here", path.display());
                continue;
            }
            assert_eq!(destination(path).unwrap(), expected, "{}", path.display());
        }
        if Path::new("/dev/stdout").exists() {
            write_atomically(Path::new("/dev/stdout"), b"").unwrap();
        }
    }

    #[test]
    fn a_missing_directory_is_an_error_naming_the_path() {
        let dir = scratch("missing");
        let out = dir.join("no-such-dir").join("out.json");
        let err = write_atomically(&out, b"{}").unwrap_err();
        match &err {
            FormatError::Io { path, source } => {
                assert_eq!(path, &out);
                assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
            }
            other => panic!("unexpected {other}"),
        }
        assert!(err.to_string().contains(&*out.to_string_lossy()), "{err}");
        assert!(names(&dir).is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_directory_is_refused_and_left_alone() {
        let dir = scratch("directory");
        std::fs::create_dir(dir.join("out.json")).unwrap();
        let err = write_atomically(&dir.join("out.json"), b"{}").unwrap_err();
        assert!(matches!(err, FormatError::Io { .. }), "{err}");
        assert!(err.to_string().contains("is a directory"), "{err}");
        assert!(dir.join("out.json").is_dir());
        assert_eq!(names(&dir), ["out.json"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn no_file_name_is_an_error() {
        let dir = scratch("no-name");
        let err = write_atomically(&dir.join(".."), b"{}").unwrap_err();
        assert!(matches!(err, FormatError::Io { .. }), "{err}");
        assert!(names(&dir).is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_failed_rename_removes_the_temporary_file() {
        let dir = scratch("rename-fails");
        // The temporary file is created and written beside it, then Linux refuses to rename a
        // file onto a name with a trailing slash (ENOTDIR).
        let out = PathBuf::from(format!("{}/out.json/", dir.display()));
        let err = write_atomically(&out, b"{}").unwrap_err();
        assert!(matches!(err, FormatError::Io { .. }), "{err}");
        assert!(names(&dir).is_empty(), "{:?}", names(&dir));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn an_unwritable_directory_leaves_the_file_untouched() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("read-only");
        let out = dir.join("out.json");
        std::fs::write(&out, b"old").unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
        // Root writes into read-only directories anyway: then there is nothing to test.
        let probe = dir.join("probe");
        if std::fs::File::create(&probe).is_ok() {
            eprintln!("skipped: read-only directories are writable here (root)");
            let _ = std::fs::remove_file(&probe);
            let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755));
            let _ = std::fs::remove_dir_all(&dir);
            return;
        }
        let result = write_atomically(&out, b"new");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = result.unwrap_err();
        match &err {
            FormatError::Io { path, source } => {
                assert_eq!(path, &out);
                assert_eq!(source.kind(), std::io::ErrorKind::PermissionDenied);
            }
            other => panic!("unexpected {other}"),
        }
        assert_eq!(std::fs::read(&out).unwrap(), b"old");
        assert_eq!(names(&dir), ["out.json"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn concurrent_writers_leave_one_whole_file() {
        let dir = scratch("concurrent");
        let out = dir.join("out.json");
        let payloads: Vec<Vec<u8>> = (0..4u8).map(|i| vec![b'a' + i; 4096]).collect();
        std::thread::scope(|scope| {
            for payload in &payloads {
                let out = &out;
                scope.spawn(move || {
                    for _ in 0..10 {
                        write_atomically(out, payload).unwrap();
                    }
                });
            }
        });
        let written = std::fs::read(&out).unwrap();
        assert!(payloads.contains(&written));
        assert_eq!(names(&dir), ["out.json"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
