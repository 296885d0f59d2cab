//! Ctrl-C (SIGINT) and SIGTERM set a flag that sources poll, so a live
//! capture or a follow loop ends cleanly with everything flushed.

use std::sync::atomic::{AtomicBool, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_sig: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// Installs the handlers (idempotent).
pub fn install() {
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
}

/// The shared flag.
pub fn flag() -> &'static AtomicBool {
    &STOP
}

/// True once a stop was requested.
pub fn requested() -> bool {
    STOP.load(Ordering::SeqCst)
}
