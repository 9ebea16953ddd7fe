//! The harness's guards: a global allocator that refuses any single allocation above a limit
//! (saving the input first, since a caller that cannot handle the refusal aborts the process),
//! a panic hook that records a panic instead of printing it, a watchdog that ends a run stuck
//! on one input, and the record of what is executing that they save from.

use std::alloc::{GlobalAlloc, Layout, System};
use std::backtrace::{Backtrace, BacktraceStatus};
use std::cell::Cell;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Mutex, OnceLock, PoisonError, TryLockError};
use std::time::{Duration, Instant};

/// The largest single allocation allowed, in bytes.
static ALLOC_LIMIT: AtomicUsize = AtomicUsize::new(2 << 30);
/// The largest request refused since the last [`take_refused`]; 0 when none.
static REFUSED: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Set while this thread saves an input or formats a panic: allocations are never refused
    /// then, so that the guards cannot recurse into themselves or fail inside the panic hook.
    static EXEMPT: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with this thread's allocations exempt from the limit.
fn exempt<T>(f: impl FnOnce() -> T) -> T {
    let was = EXEMPT
        .try_with(|exempt| exempt.replace(true))
        .unwrap_or(true);
    let result = f();
    let _ = EXEMPT.try_with(|exempt| exempt.set(was));
    result
}

/// The system allocator, refusing (with a null pointer) any single request above the limit.
pub struct Guarded;

// SAFETY: every method forwards its arguments unchanged to `System`, which implements
// `GlobalAlloc` correctly, or returns null, which `GlobalAlloc` allows for any request.
unsafe impl GlobalAlloc for Guarded {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if refuse(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's `layout` meets `alloc`'s contract; passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if refuse(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: as in `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, that is from `System`, with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if refuse(new_size) {
            // The old block stays allocated and valid, as `realloc` promises on failure.
            return std::ptr::null_mut();
        }
        // SAFETY: `ptr` came from `System` with `layout`; the caller checked `new_size`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Sets the largest single allocation allowed.
pub fn set_alloc_limit(bytes: usize) {
    ALLOC_LIMIT.store(bytes, Relaxed);
}

/// Whether a request of `size` bytes is refused.
fn refuse(size: usize) -> bool {
    if size <= ALLOC_LIMIT.load(Relaxed) || EXEMPT.try_with(Cell::get).unwrap_or(true) {
        return false;
    }
    REFUSED.fetch_max(size, Relaxed);
    // A caller that cannot handle the null aborts the process next, so the input is saved now,
    // as `alloc-pending.bin`. When the caller copes (`try_reserve`), the run goes on and
    // records the finding itself, discarding that file.
    exempt(|| {
        let message = format!("a single allocation of {size} bytes was refused");
        let saved = save("alloc", true, &message);
        if let Some(path) = saved.filter(|_| !ANNOUNCED.swap(true, Relaxed)) {
            eprintln!(
                "instinct-fuzz: {message}; should the process abort, the input is {}",
                path.display()
            );
        }
    });
    true
}

/// Whether a refusal was announced on stderr (only the first is).
static ANNOUNCED: AtomicBool = AtomicBool::new(false);

/// Removes the input saved by a refusal the caller coped with.
pub fn discard_pending() {
    if let Some(dir) = FINDINGS_DIR.get() {
        let _ = std::fs::remove_file(dir.join("alloc-pending.bin"));
        let _ = std::fs::remove_file(dir.join("alloc-pending.txt"));
    }
}

/// The largest allocation refused since the last call, if any was.
pub fn take_refused() -> Option<usize> {
    let size = REFUSED.swap(0, Relaxed);
    (size > 0).then_some(size)
}

/// What is executing: the guards save its input.
struct Current {
    target: &'static str,
    iteration: u64,
    input: Vec<u8>,
}

static CURRENT: Mutex<Current> = Mutex::new(Current {
    target: "",
    iteration: 0,
    input: Vec::new(),
});
static FINDINGS_DIR: OnceLock<PathBuf> = OnceLock::new();

/// Where findings are saved; until this is called (as in replay) nothing is saved.
pub fn set_findings_dir(dir: PathBuf) {
    let _ = FINDINGS_DIR.set(dir);
}

/// Records the input about to run, for the guards to save.
pub fn set_current(target: &'static str, iteration: u64, input: &[u8]) {
    let mut current = CURRENT.lock().unwrap_or_else(PoisonError::into_inner);
    current.target = target;
    current.iteration = iteration;
    current.input.clear();
    current.input.extend_from_slice(input);
}

/// Saves the current input as `<dir>/<kind>-<target>-<iteration>.bin`, with `message` in a
/// `.txt` beside it. `None` without a findings directory, or when the save failed.
pub fn save_current(kind: &str, message: &str) -> Option<PathBuf> {
    save(kind, false, message)
}

/// As [`save_current`]; a `pending` save is always `<dir>/<kind>-pending.bin`.
fn save(kind: &str, pending: bool, message: &str) -> Option<PathBuf> {
    let dir = FINDINGS_DIR.get()?;
    // Never wait: the allocator may be called while this thread holds the lock.
    let current = match CURRENT.try_lock() {
        Ok(current) => current,
        Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
        Err(TryLockError::WouldBlock) => return None,
    };
    let (target, iteration) = (current.target, current.iteration);
    let path = if pending {
        dir.join(format!("{kind}-pending.bin"))
    } else {
        dir.join(format!("{kind}-{target}-{iteration}.bin"))
    };
    std::fs::write(&path, &current.input).ok()?;
    let note = format!("target: {target}\niteration: {iteration}\n\n{message}\n");
    std::fs::write(path.with_extension("txt"), note).ok()?;
    Some(path)
}

/// A panic as the hook saw it.
#[derive(Debug)]
pub struct Panic {
    /// `file:line:column` of the panic, which tells findings apart.
    pub location: String,
    /// The message with its location, and a backtrace when `RUST_BACKTRACE` asks for one.
    pub report: String,
}

static PANIC: Mutex<Option<Panic>> = Mutex::new(None);
/// The places whose panic was reported with a backtrace.
static BACKTRACED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Replaces the default panic hook: a panic during an execution is recorded for
/// [`take_panic`], not printed; any other is printed.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map_or_else(|| "an unknown place".to_string(), ToString::to_string);
        // A backtrace (when RUST_BACKTRACE asks for one) only for a place's first panic:
        // resolving its symbols is slow, and reads the debug info into large allocations.
        let first = {
            let mut seen = BACKTRACED.lock().unwrap_or_else(PoisonError::into_inner);
            let first = !seen.contains(&location);
            if first {
                seen.push(location.clone());
            }
            first
        };
        let report = if first {
            exempt(|| {
                let backtrace = Backtrace::capture();
                match backtrace.status() {
                    BacktraceStatus::Captured => format!("{info}\n\n{backtrace}"),
                    _ => info.to_string(),
                }
            })
        } else {
            info.to_string()
        };
        if !executing() {
            eprintln!("{report}");
        }
        *PANIC.lock().unwrap_or_else(PoisonError::into_inner) = Some(Panic { location, report });
    }));
}

/// The last panic recorded since the previous call.
pub fn take_panic() -> Option<Panic> {
    PANIC.lock().unwrap_or_else(PoisonError::into_inner).take()
}

/// Milliseconds since `EPOCH` when the current execution started; 0 while none runs.
static STARTED_MS: AtomicU64 = AtomicU64::new(0);
static EPOCH: OnceLock<Instant> = OnceLock::new();

fn now_ms() -> u64 {
    let elapsed = EPOCH.get_or_init(Instant::now).elapsed().as_millis();
    u64::try_from(elapsed).unwrap_or(u64::MAX).max(1)
}

/// Marks the start of an execution, for the watchdog and the panic hook.
pub fn execution_started() {
    STARTED_MS.store(now_ms(), Relaxed);
}

/// Marks the end of an execution.
pub fn execution_ended() {
    STARTED_MS.store(0, Relaxed);
}

fn executing() -> bool {
    STARTED_MS.load(Relaxed) != 0
}

/// Starts a thread that, when one execution has run longer than `limit`, saves its input as a
/// `hang` finding and ends the process with exit code 1: an endless loop cannot be
/// interrupted in-process, and the run must stay bounded.
pub fn start_watchdog(limit: Duration) {
    let limit_ms = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX);
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_millis(100));
            let started = STARTED_MS.load(Relaxed);
            if started != 0 && now_ms().saturating_sub(started) > limit_ms {
                let message = format!("an execution was still running after {limit:?}");
                let saved = save_current("hang", &message).map_or_else(
                    || "could not be saved".to_string(),
                    |p| p.display().to_string(),
                );
                eprintln!("instinct-fuzz: {message}; input {saved}; stopping");
                std::process::exit(1);
            }
        }
    });
}
