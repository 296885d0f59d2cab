//! Loads the full Emerging Threats Open set and checks that at least 95% of
//! its enabled rules load, with no syntax errors.

use std::path::PathBuf;
use tripline_core::HomeNets;
use tripline_rules::{Classifications, RuleSet, Variables};

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/rules/et-open-2024-04"
);

#[test]
fn et_open_loads() {
    let dir = PathBuf::from(DIR);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("ET Open rules directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "rules"))
        .collect();
    files.sort();
    let (cls, cls_errors) = Classifications::parse(
        &std::fs::read_to_string(dir.join("classification.config")).expect("classification.config"),
    );
    assert!(cls_errors.is_empty(), "{cls_errors:?}");
    assert!(cls.len() >= 30, "only {} classifications", cls.len());
    let home = HomeNets::parse(&["192.168.0.0/16"]).expect("home net");
    let (set, s) = RuleSet::load_files(&files, Variables::suricata_defaults(&home), Some(cls));

    println!(
        "files {}, read {}, loaded {}, disabled {}, skipped {}, errors {}",
        files.len(),
        s.read,
        s.loaded,
        s.disabled,
        s.skipped(),
        s.error_count()
    );
    let mut reasons: Vec<_> = s.skipped_by_reason.iter().collect();
    reasons.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (reason, n) in reasons {
        println!("  skipped {n:>5}  {reason}");
    }
    for e in &s.errors {
        println!("  error {e}");
    }
    // Counted independently, line by line (the data set's README says
    // 24,826 enabled of 34,842; the files hold 24,827 `alert` lines and
    // 10,023 commented-out rules).
    let (mut enabled, mut disabled) = (0u64, 0u64);
    for f in &files {
        for line in std::fs::read_to_string(f).expect("rule file").lines() {
            let starts_rule = |t: &str| {
                ["alert ", "drop ", "pass ", "reject "]
                    .iter()
                    .any(|a| t.starts_with(a))
            };
            if starts_rule(line) {
                enabled += 1;
            } else if line.starts_with('#')
                && starts_rule(line.trim_start_matches('#').trim_start())
            {
                disabled += 1;
            }
        }
    }
    assert_eq!(s.read, enabled);
    assert_eq!(s.disabled, disabled);
    assert!(s.errors.is_empty(), "{} syntax errors", s.errors.len());
    let rate = s.loaded as f64 / s.read as f64;
    println!("load rate {:.2}%", rate * 100.0);
    assert!(
        rate >= 0.95,
        "only {:.2}% of enabled rules loaded",
        rate * 100.0
    );
    assert_eq!(set.rules().len() as u64, s.loaded);

    // Every rule with a positive content has a fast pattern inside its pattern.
    for r in set.rules() {
        if let Some(fp) = r.fast_pattern {
            let c = r.fast_pattern_content().expect("fast pattern is a content");
            assert!(
                usize::from(fp.start) + usize::from(fp.len) <= c.pattern.len(),
                "sid {}",
                r.sid
            );
        }
    }
    let header_only = set.rules().iter().filter(|r| r.is_header_only()).count();
    println!("header-only rules: {header_only}");
    assert!(header_only > 0);
}
