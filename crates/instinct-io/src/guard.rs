//! [`guarded`]: a third-party decoder run so that its panic on malformed bytes becomes an error
//! message, printed by no panic hook.

use std::cell::Cell;
use std::panic::AssertUnwindSafe;
use std::sync::Once;

thread_local! {
    /// Set while this thread runs a third-party decoder under [`guarded`]: its panics are
    /// turned into errors, so they are not printed either.
    static DECODING: Cell<bool> = const { Cell::new(false) };
}

/// Runs `decode`, which drives a third-party decoder (arrow-rs's Parquet or IPC readers, npyz's
/// header parser: none promises never to panic on malformed bytes), turning a panic into
/// `Err` with the panic's message, without printing it.
pub(crate) fn guarded<T>(decode: impl FnOnce() -> T) -> Result<T, String> {
    static QUIET_HOOK: Once = Once::new();
    QUIET_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !DECODING.with(Cell::get) {
                previous(info);
            }
        }));
    });
    let was = DECODING.with(|d| d.replace(true));
    let result = std::panic::catch_unwind(AssertUnwindSafe(decode));
    DECODING.with(|d| d.set(was));
    result.map_err(|panic| {
        panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".into())
    })
}
