//! Malformed rules give exact errors with file and line; the good ones load.

use std::path::PathBuf;
use tripline_rules::{RuleSet, Variables};

#[test]
fn malformed_rules_are_errors_with_lines() {
    let path = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/malformed.rules"
    ));
    let vars = Variables::suricata_defaults(&tripline_core::HomeNets::default());
    let (set, s) = RuleSet::load_files(&[&path], vars, None);
    let errors: Vec<String> = s
        .errors
        .iter()
        .map(|e| {
            e.to_string()
                .replace(&path.display().to_string(), "malformed.rules")
        })
        .collect();
    assert_eq!(
        errors,
        vec![
            "malformed.rules:3: sid 1000002: unterminated quoted string in option 'msg'",
            "malformed.rules:4: sid 1000003: unknown direction \"=>\" (expected -> or <>)",
            "malformed.rules:5: sid 1000004: bad port \"99999\"",
            "malformed.rules:6: rule has no sid",
            "malformed.rules:7: sid 1000006: undefined variable $NOT_DEFINED",
            "malformed.rules:8: sid 1000007: invalid nocase: modifier without a preceding content",
            "malformed.rules:9: sid 1000008: invalid content: odd number of hex digits in content",
            "malformed.rules:12: sid 1000010: invalid depth: \"x-1\" is not a number or variable name",
            "malformed.rules:16: sid 1000013: rule options are not closed by ')'",
        ]
    );
    let warnings: Vec<String> = s
        .warnings
        .iter()
        .map(|w| {
            w.to_string()
                .replace(&path.display().to_string(), "malformed.rules")
        })
        .collect();
    assert_eq!(
        warnings,
        vec![
            "malformed.rules:14: sid 1000011 skipped: unsupported protocol smb",
            "malformed.rules:15: sid 1000012 skipped: unsupported keyword tag",
        ]
    );
    assert_eq!((s.read, s.loaded, s.skipped()), (13, 2, 2));
    let sids: Vec<u32> = set.rules().iter().map(|r| r.sid).collect();
    assert_eq!(sids, vec![1_000_001, 1_000_009]);
    assert_eq!(set.source(1).map(|src| src.line), Some(10));
}
