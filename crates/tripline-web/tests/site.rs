//! The static site from a small store holding hostile text: every page is
//! written, links resolve to files, nothing from the data reaches the
//! markup unescaped, and pages stay small.

use base64::Engine as _;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use tripline_core::{Alert, ConnOrigin, ConnState, Connection, Direction, Severity, Timestamp};
use tripline_store::{HOUR_NS, Store};
use tripline_web::{ReportOptions, write_report};

const NOON: i64 = 1_795_348_800_000_000_000;
const HOSTILE: &str = "\"><script>window.__xss=1</script><img src=x onerror=window.__xss=2>";

fn conn(t: i64, src: &str, dst: &str, dport: u16) -> Connection {
    Connection {
        start: Timestamp(t),
        end: Timestamp(t + 1000),
        src: src.parse().unwrap(),
        sport: 40000,
        dst: dst.parse().unwrap(),
        dport,
        protocol: 6,
        orig_packets: 3,
        orig_bytes: 180,
        resp_packets: 0,
        resp_bytes: 0,
        state: ConnState::S0,
        history: "S".into(),
        community_id: String::new(),
        direction: Direction::Inbound,
        origin: ConnOrigin::Capture,
    }
}

fn alert(t: i64, detector: &str) -> Alert {
    let payload = base64::engine::general_purpose::STANDARD.encode(HOSTILE.as_bytes());
    Alert {
        ts: Timestamp(t),
        detector: detector.into(),
        gid: 1,
        sid: 7,
        rev: 1,
        msg: format!("msg {HOSTILE}"),
        category: HOSTILE.into(),
        severity: Severity::HIGH,
        src: Some("fd99:2::66".parse().unwrap()),
        sport: Some(1),
        dst: Some("10.99.1.2".parse().unwrap()),
        dport: Some(22),
        protocol: Some(6),
        community_id: None,
        details: json!({"name": HOSTILE, "users": [HOSTILE], "payload": payload})
            .as_object()
            .cloned()
            .unwrap(),
    }
}

fn sample_store() -> Store {
    let mut store = Store::open_in_memory().unwrap();
    let conns: Vec<Connection> = (0..700)
        .map(|i| {
            conn(
                NOON + i * 1_000_000,
                "fd99:2::66",
                "10.99.1.2",
                (i % 300) as u16,
            )
        })
        .chain(std::iter::once(conn(
            NOON + 3 * HOUR_NS,
            "10.99.1.7",
            "10.99.1.2",
            80,
        )))
        .collect();
    store.insert_connections(None, &conns).unwrap();
    let alerts: Vec<Alert> = (0..600)
        .map(|i| {
            alert(
                NOON + i * 1_000_000,
                if i % 2 == 0 { "connwatch" } else { "scan" },
            )
        })
        .collect();
    store.insert_alerts(None, &alerts).unwrap();
    store
}

fn build() -> (tempfile::TempDir, tripline_web::ReportStats) {
    let store = sample_store();
    let dir = tempfile::tempdir().unwrap();
    let stats = write_report(&store, dir.path(), &ReportOptions::default()).unwrap();
    (dir, stats)
}

fn html_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            html_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "html") {
            out.push(p);
        }
    }
}

#[test]
fn every_page_is_written_linked_and_escaped() {
    let (dir, stats) = build();
    // 1 index, 1 day, 2 hour pages for noon (600 alerts) + 1 for 15:00,
    // 2 sources, 600 alerts.
    assert_eq!(
        (stats.days, stats.hour_pages, stats.sources, stats.alerts),
        (1, 3, 2, 600)
    );
    assert!(dir.path().join("hour/2026-11-22T12.p2.html").is_file());
    assert!(dir.path().join("source/fd99_2__66.html").is_file());
    let mut files = Vec::new();
    html_files(dir.path(), &mut files);
    assert_eq!(files.len() as u64, stats.pages - 1); // + style.css
    let mut missing = BTreeSet::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        assert!(
            text.len() < 1_000_000,
            "{} is {} bytes",
            f.display(),
            text.len()
        );
        for bad in ["<script", "<img"] {
            assert!(!text.contains(bad), "{} contains {bad:?}", f.display());
        }
        // Every relative link points at a file that exists.
        for part in text.split("href=\"").skip(1) {
            let href = &part[..part.find('"').unwrap()];
            let target = f.parent().unwrap().join(href);
            if !target.exists() {
                missing.insert(format!("{} -> {href}", f.display()));
            }
        }
    }
    assert!(missing.is_empty(), "broken links: {missing:?}");
    let hour = std::fs::read_to_string(dir.path().join("hour/2026-11-22T12.html")).unwrap();
    assert!(hour.contains("&lt;script&gt;window.__xss=1&lt;/script&gt;"));
    assert!(hour.contains("rel=\"next\" href=\"../hour/2026-11-22T15.html\""));
    assert!(hour.contains("rel=\"up\" href=\"../day/2026-11-22.html\""));
    assert!(hour.matches("<svg").count() >= 5);
    // Static pages carry no forms.
    assert!(!hour.contains("<form"));
    let alert_page = files
        .iter()
        .find(|f| f.parent().unwrap().ends_with("alert"))
        .unwrap();
    let a = std::fs::read_to_string(alert_page).unwrap();
    assert!(
        a.contains("00000000  22 3e 3c 73 63 72 69 70"),
        "payload hex missing"
    );
    assert!(a.contains("Content-Security-Policy"));
}

fn site_files(dir: &Path) -> BTreeMap<std::path::PathBuf, Vec<u8>> {
    let mut files = Vec::new();
    html_files(dir, &mut files);
    files
        .into_iter()
        .map(|f| {
            let bytes = std::fs::read(&f).unwrap();
            (f.strip_prefix(dir).unwrap().to_path_buf(), bytes)
        })
        .collect()
}

#[test]
fn a_report_over_an_older_site_matches_a_fresh_one() {
    let (dir, first) = build();
    assert_eq!(first.unchanged, 0);
    // The same data again: every page is already there.
    let mut store = sample_store();
    let again = write_report(&store, dir.path(), &ReportOptions::default()).unwrap();
    assert_eq!(again.pages, first.pages);
    assert_eq!(again.unchanged, again.pages);
    // New data changes some pages (longer and shorter ones); the rewritten
    // site must equal a site written from scratch.
    store
        .insert_connections(
            None,
            &[conn(NOON + 2 * HOUR_NS, "10.99.1.8", "10.99.1.2", 22)],
        )
        .unwrap();
    store
        .insert_alerts(None, &[alert(NOON + 2 * HOUR_NS, "scan")])
        .unwrap();
    let updated = write_report(&store, dir.path(), &ReportOptions::default()).unwrap();
    assert!(updated.unchanged > 0 && updated.unchanged < updated.pages);
    let fresh = tempfile::tempdir().unwrap();
    let scratch = write_report(&store, fresh.path(), &ReportOptions::default()).unwrap();
    assert_eq!(scratch.unchanged, 0);
    assert_eq!(site_files(dir.path()), site_files(fresh.path()));
}
