//! Filters files of arbitrary bytes: parsing never panics, every filter
//! kept has a usable name and expression, and compiling what it holds with
//! libpcap (for Ethernet and raw IP) and running it on the rest of the
//! input as a frame never panics either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tripline_detect::detectors::filter::{
    CompiledFilter, MAX_EXPRESSION_LEN, MAX_NAME_LEN, parse_filter_list,
};

fuzz_target!(|data: &[u8]| {
    // The first NUL byte splits the list from the frame it is run on.
    let split = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let (text, frame) = data.split_at(split);
    let text = String::from_utf8_lossy(text);
    let (filters, errors) = parse_filter_list(&text, "fuzz");
    let lines = text.lines().count();
    assert!(filters.len() + errors.len() <= lines);
    for f in &filters {
        assert!(!f.name.is_empty() && f.name.len() <= MAX_NAME_LEN);
        assert!(!f.expression.is_empty() && f.expression.len() <= MAX_EXPRESSION_LEN);
        assert!(f.origin.starts_with("fuzz:"));
    }
    for f in filters.iter().take(4) {
        if let Ok(mut p) = CompiledFilter::new(&f.expression) {
            let _ = p.matches(1, frame);
            let _ = p.matches(101, frame);
        }
    }
});
