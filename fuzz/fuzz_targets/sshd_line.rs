//! sshd message parser: never panics; user names and methods come from the
//! input (except the fixed method `pam` of PAM summaries).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tripline_ingest::logs::sshd;

/// True when `part` is a slice of `whole`.
fn inside(whole: &str, part: &str) -> bool {
    let (w, p) = (whole.as_ptr() as usize, part.as_ptr() as usize);
    p >= w && p + part.len() <= w + whole.len()
}

fuzz_target!(|data: &[u8]| {
    let Ok(msg) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(ev) = sshd::parse(msg) {
        if let Some(user) = ev.user.filter(|u| !u.is_empty()) {
            assert!(inside(msg, user));
        }
        if let Some(method) = ev.method.filter(|m| *m != "pam") {
            assert!(inside(msg, method));
        }
    }
});
