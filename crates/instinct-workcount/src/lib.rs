//! Test support: proving that a cost grows linearly by counting work rather than timing it.
//!
//! [`CountingAllocator`] forwards to the system allocator and counts, per thread, the calls that
//! allocate or grow memory and the bytes they ask for. [`work`] measures a closure run on the
//! current thread (work it hands to other threads is not counted); [`assert_linear`] compares
//! the work of an input and of one ten times larger. Allocator traffic is repeatable where wall
//! time is not, and it catches copies per element. A scan that allocates nothing is not seen:
//! tests pair this with a structural count of what drives such a cost (e.g. the size of the
//! largest generated function), and the timings in `benches/` cover the rest. (The CPU's
//! instruction counter would see everything, but the virtual machines CI runs on expose no
//! performance counters.)
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOCATOR: instinct_workcount::CountingAllocator = instinct_workcount::CountingAllocator;
//!
//! let small = instinct_workcount::work(|| run(1_000));
//! let large = instinct_workcount::work(|| run(10_000));
//! instinct_workcount::assert_linear("run", small, large);
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, Ordering};

/// The system allocator, counting each thread's allocations. Install it with
/// `#[global_allocator]` in the test binary that measures.
pub struct CountingAllocator;

thread_local! {
    /// This thread's (calls, bytes). A const initialiser without a destructor, so reading it
    /// never allocates.
    static COUNTS: Cell<Work> = const {
        Cell::new(Work { calls: 0, bytes: 0, peak_live: 0, peak_live_all_threads: 0 })
    };
    /// The bytes this thread allocated and has not freed (what another thread frees is not
    /// seen), and the most it has held since `work` last reset it.
    static LIVE: Cell<(isize, isize)> = const { Cell::new((0, 0)) };
}

fn record(bytes: usize) {
    // During the thread's teardown the slot may be gone: that work belongs to no measurement.
    let _ = COUNTS.try_with(|c| {
        let w = c.get();
        c.set(Work {
            calls: w.calls + 1,
            bytes: w.bytes.saturating_add(bytes),
            peak_live: 0,
            peak_live_all_threads: 0,
        });
    });
}

/// The bytes allocated and not freed by every thread of the process, and the most since `work`
/// last reset it.
static LIVE_ALL: AtomicIsize = AtomicIsize::new(0);
static PEAK_ALL: AtomicIsize = AtomicIsize::new(0);

fn live(change: isize) {
    let now = LIVE_ALL.fetch_add(change, Ordering::Relaxed) + change;
    PEAK_ALL.fetch_max(now, Ordering::Relaxed);
    let _ = LIVE.try_with(|l| {
        let (now, peak) = l.get();
        let now = now.saturating_add(change);
        l.set((now, peak.max(now)));
    });
}

// SAFETY: every call is forwarded unchanged to `System`, which upholds GlobalAlloc's contract;
// the counting touches only a thread-local `Cell` and never allocates.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        live(layout.size() as isize);
        // SAFETY: the caller's layout goes to System as it came.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        live(layout.size() as isize);
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        live(-(layout.size() as isize));
        // SAFETY: `ptr` came from `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size);
        live(new_size as isize - layout.size() as isize);
        // SAFETY: as for `dealloc`; `new_size` is the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Allocator calls and the bytes they asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Work {
    /// Calls that allocated or grew a block.
    pub calls: usize,
    /// Bytes those calls asked for (a grown block counts its new size).
    pub bytes: usize,
    /// The most bytes held at once beyond what was held when the measurement began (allocated
    /// and not yet freed on this thread).
    pub peak_live: usize,
    /// The same for the whole process, every thread's allocations counted (those of threads
    /// `f` starts included, and of anything else running meanwhile: measure alone).
    pub peak_live_all_threads: usize,
}

/// The work `f` does on this thread. Meaningful only when [`CountingAllocator`] is the global
/// allocator; otherwise it is zero.
pub fn work<T>(f: impl FnOnce() -> T) -> Work {
    let before = COUNTS.with(Cell::get);
    let start = LIVE.with(|l| {
        let (now, _) = l.get();
        l.set((now, now));
        now
    });
    let start_all = LIVE_ALL.load(Ordering::Relaxed);
    PEAK_ALL.store(start_all, Ordering::Relaxed);
    let result = f();
    let after = COUNTS.with(Cell::get);
    let (_, peak) = LIVE.with(Cell::get);
    drop(result);
    Work {
        calls: after.calls - before.calls,
        bytes: after.bytes - before.bytes,
        peak_live: usize::try_from(peak - start).unwrap_or(0),
        peak_live_all_threads: usize::try_from(PEAK_ALL.load(Ordering::Relaxed) - start_all)
            .unwrap_or(0),
    }
}

/// The most a ten times larger input may cost, as a multiple of the smaller one's work: linear
/// work shows as 5-20× (vectors grow by doubling, some costs are fixed), quadratic as ~100×.
pub const MAX_RATIO: f64 = 25.0;

/// Panics unless `large` (an input ten times `small`'s) cost less than [`MAX_RATIO`] times
/// `small` in calls and in bytes; prints both ratios.
pub fn assert_linear(what: &str, small: Work, large: Work) {
    assert!(
        small.calls > 0 && small.bytes > 0,
        "{what}: no work counted ({small:?}): is CountingAllocator the global allocator?"
    );
    let calls = large.calls as f64 / small.calls as f64;
    let bytes = large.bytes as f64 / small.bytes as f64;
    eprintln!("{what}: 10x the input, {calls:.1}x the allocations, {bytes:.1}x the bytes");
    assert!(
        calls < MAX_RATIO && bytes < MAX_RATIO,
        "{what}: 10x the input cost {calls:.1}x the allocations and {bytes:.1}x the bytes"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[global_allocator]
    static ALLOCATOR: CountingAllocator = CountingAllocator;

    fn vectors(n: usize) -> Vec<Vec<u8>> {
        (0..n).map(|i| vec![0u8; 16 + i % 7]).collect()
    }

    fn pairs(n: usize) -> Vec<Vec<u8>> {
        (0..n * n).map(|_| vec![1u8; 4]).collect()
    }

    #[test]
    fn work_counts_this_threads_allocations() {
        let w = work(|| vec![0u8; 1000]);
        assert_eq!((w.calls, w.bytes), (1, 1000));
        // Another thread's allocations are not this thread's work.
        let w =
            work(|| std::thread::scope(|s| s.spawn(|| vec![0u8; 1 << 20]).join().unwrap().len()));
        assert!(w.bytes < 1 << 20, "{w:?}");
    }

    #[test]
    fn linear_work_passes() {
        assert_linear("vectors", work(|| vectors(100)), work(|| vectors(1000)));
    }

    #[test]
    #[should_panic(expected = "10x the input cost")]
    fn quadratic_work_fails() {
        assert_linear("pairs", work(|| pairs(30)), work(|| pairs(300)));
    }
}
