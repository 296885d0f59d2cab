//! Rule files of arbitrary bytes: loading never panics, every rule read is
//! accounted for (loaded, skipped or an error), and what loads re-parses the
//! same way from its own text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tripline_rules::{RuleSet, Variables, parse_rule, ruleset::file_name};

fuzz_target!(|data: &[u8]| {
    let home = tripline_core::HomeNets::parse(&["192.168.0.0/16"]).unwrap_or_default();
    let vars = Variables::suricata_defaults(&home);
    let mut set = RuleSet::new(vars.clone(), None);
    let mut summary = tripline_rules::LoadSummary::default();
    set.load_bytes(file_name("fuzz.rules"), data, &mut summary);
    assert_eq!(
        summary.read,
        summary.loaded + summary.skipped() + summary.error_count(),
        "every rule read is loaded, skipped or an error"
    );
    assert_eq!(set.rules().len() as u64, summary.loaded);
    for rule in set.rules() {
        if let Some(fp) = rule.fast_pattern {
            let c = rule.fast_pattern_content().expect("fast pattern points at a content");
            assert!(usize::from(fp.start) + usize::from(fp.len) <= c.pattern.len());
        }
        let _ = rule.is_header_only();
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_rule(text, &vars);
    }
});
