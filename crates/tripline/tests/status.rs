//! `tripline status` and `tripline profile` on the store `analyze` writes
//! from the real netfilter log of the scans data set.

mod common;

use common::{shared, stderr, stdout, tripline};
use serde_json::Value;
use std::path::Path;

/// The scans window (window.txt): 12:15:36.274 - 12:18:38.938 UTC; syslog
/// lines have whole seconds, so the range is taken to the second.
const WINDOW_START_NS: i64 = 1_795_349_736_000_000_000;
const WINDOW_END_NS: i64 = 1_795_349_919_000_000_000;

fn analyzed(dir: &Path) -> String {
    let db = dir.join("t.db");
    let db = db.to_str().unwrap().to_string();
    let out = tripline(&[
        "analyze",
        "-q",
        "--db",
        &db,
        "--home-net",
        "10.99.1.0/24",
        "--home-net",
        "fd99:1::/64",
        &shared("scans/iptables.log"),
    ]);
    assert!(out.status.success(), "analyze: {}", stderr(&out));
    db
}

fn json_of(args: &[&str]) -> Value {
    let out = tripline(args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    serde_json::from_str(&stdout(&out)).expect("valid JSON")
}

#[test]
fn status_and_profile_of_the_scanner() {
    let dir = tempfile::tempdir().unwrap();
    let db = analyzed(dir.path());

    let st = json_of(&["status", "--db", &db, "--json"]);
    let top = &st["top_sources_by_danger"][0];
    assert_eq!(top["addr"], "10.99.2.66", "{st:#}");
    assert_eq!(top["max_danger_level"], 5);
    let types: Vec<&str> = st["scan_types"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["type"].as_str())
        .collect();
    for want in ["FIN", "XMAS", "NULL", "UDP"] {
        assert!(types.contains(&want), "{want} missing from {types:?}");
    }
    assert!(!st["top_ports"].as_array().unwrap().is_empty());
    let n_recent = st["recent_alerts"].as_array().unwrap().len();
    assert!(n_recent > 0 && n_recent <= 10);

    let p = json_of(&["profile", "10.99.2.66", "--db", &db, "--json"]);
    let first = p["first_seen_ns"].as_i64().unwrap();
    let last = p["last_seen_ns"].as_i64().unwrap();
    assert!(
        WINDOW_START_NS <= first && first <= last && last <= WINDOW_END_NS,
        "{first}..{last} outside the log's window"
    );
    assert!(p["ports_touched"].as_u64().unwrap() > 1000, "{p:#}");
    assert_eq!(p["max_danger_level"], 5);
    let history = p["danger_history"].as_array().unwrap();
    assert_eq!(
        history.last().unwrap()["level"].as_u64(),
        history.iter().filter_map(|h| h["level"].as_u64()).max()
    );
    assert!(p["alerts"].as_u64().unwrap() > 0);

    // The human view has every section.
    let out = tripline(&["status", "--db", &db, "--limit", "3"]);
    assert!(out.status.success());
    let text = stdout(&out);
    for section in [
        "Top sources by danger level",
        "Top attacked ports",
        "Scan types",
        "Alerts by detector",
        "Recent alerts",
    ] {
        assert!(text.contains(section), "{section} missing:\n{text}");
    }
    assert!(text.contains("10.99.2.66"));
    let out = tripline(&["profile", "10.99.2.66", "--db", &db]);
    assert!(out.status.success());
    assert!(stdout(&out).contains("Danger level history"));
}

#[test]
fn unknown_source_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = analyzed(dir.path());
    let out = tripline(&["profile", "192.0.2.200", "--db", &db, "--json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).is_empty());
    assert!(
        stderr(&out).contains("no such source: 192.0.2.200"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn empty_store_gives_empty_valid_status() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("empty.db");
    tripline_store::Store::open(&db).unwrap();
    let db = db.to_str().unwrap();
    let st = json_of(&["status", "--db", db, "--json"]);
    for list in [
        "top_sources_by_danger",
        "top_ports",
        "scan_types",
        "alerts_by_detector",
        "recent_alerts",
    ] {
        assert_eq!(st[list].as_array().map(Vec::len), Some(0), "{list}: {st:#}");
    }
    assert_eq!(st["counts"]["alerts"], 0);
    let out = tripline(&["status", "--db", db]);
    assert!(out.status.success());
    assert!(stdout(&out).contains("(no alerts)"));
}

#[test]
fn missing_store_is_an_error_not_a_new_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("none.db");
    let out = tripline(&["status", "--db", db.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no store at"), "{}", stderr(&out));
    assert!(!db.exists());
}

#[test]
fn hostile_text_is_escaped_for_the_terminal() {
    use tripline_core::{Alert, Severity, Timestamp};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.db");
    let mut store = tripline_store::Store::open(&db).unwrap();
    store
        .insert_alerts(
            None,
            &[Alert {
                ts: Timestamp(1),
                detector: "connwatch".into(),
                gid: 9300,
                sid: 1,
                rev: 1,
                msg: "lookup of evil\x1b]0;owned\x07.example".into(),
                category: "test".into(),
                severity: Severity::LOW,
                src: Some("10.99.1.2".parse().unwrap()),
                sport: None,
                dst: None,
                dport: None,
                protocol: None,
                community_id: None,
                details: serde_json::Map::new(),
            }],
        )
        .unwrap();
    drop(store);
    let db = db.to_str().unwrap();
    for args in [
        vec!["status", "--db", db],
        vec!["profile", "10.99.1.2", "--db", db],
    ] {
        let out = tripline(&args);
        assert!(out.status.success(), "{}", stderr(&out));
        let text = stdout(&out);
        assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text}");
        assert!(text.contains("evil\\x1b]0;owned\\x07.example"), "{text}");
    }
}
