//! The bruteforce detector on real sshd logs of a guessing run that ends in
//! a break-in, with a legitimate user's typo mixed in
//! (`../shared/data/bruteforce/`), and on synthetic edge cases.

mod common;

use common::{Alerts, data, run_engine};
use std::net::IpAddr;
use std::time::Duration;
use tripline_core::{Alert, AuthEvent, AuthLog, Record, Severity, Timestamp};
use tripline_detect::detectors::bruteforce::{
    BruteforceConfig, BruteforceDetector, GID, SID_BREAK_IN, SID_DISTRIBUTED, SID_GUESSING,
};
use tripline_detect::{Detector, EngineConfig};

fn run(files: &[&str]) -> Vec<Alert> {
    let paths: Vec<String> = files.iter().map(|f| data(f)).collect();
    let r = run_engine(&paths, EngineConfig::default(), "bruteforce");
    for (p, records) in paths.iter().zip(&r.records) {
        let auth = records.get("auth").copied().unwrap_or(0);
        assert!(auth > 20, "{p}: only {auth} auth records");
    }
    r.alerts
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn num(a: &Alert, key: &str) -> u64 {
    a.details.get(key).and_then(|v| v.as_u64()).unwrap_or(0)
}

fn text<'a>(a: &'a Alert, key: &str) -> &'a str {
    a.details.get(key).and_then(|v| v.as_str()).unwrap_or("")
}

/// Failures per (source, host) in the per-attempt ground truth.
fn truth_failures(src: &str) -> usize {
    let t = std::fs::read_to_string(data("bruteforce/attempts_ground_truth.tsv")).unwrap();
    t.lines()
        .skip(1)
        .filter(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            f.len() > 10 && f[3] == src && f[9] == "FAIL"
        })
        .count()
}

#[test]
fn guessing_source_is_flagged_on_both_hosts_and_typo_is_not() {
    let alerts = run(&["bruteforce/auth_wan.log", "bruteforce/auth_lan.log"]);
    for a in &alerts {
        assert_eq!(a.gid, GID);
        assert_ne!(
            a.src,
            Some(ip("10.99.1.2")),
            "legitimate user flagged: {a:?}"
        );
    }
    let guessing: Vec<&Alert> = alerts
        .iter()
        .filter(|a| a.sid == SID_GUESSING && text(a, "reason") == "threshold")
        .collect();
    let hosts: Vec<&str> = guessing.iter().map(|a| text(a, "host")).collect();
    assert_eq!(hosts, ["wan", "lan"], "{alerts:#?}");
    for a in &guessing {
        assert_eq!(a.src, Some(ip("10.99.2.66")));
        assert_eq!(a.severity, Severity::MEDIUM);
        assert_eq!(num(a, "failures"), 5, "alerted at the threshold: {a:?}");
    }
    // Escalations follow the growing run; the last alert of each host
    // carries at least the threshold step it crossed.
    let wan_last = alerts
        .iter()
        .rfind(|a| a.sid == SID_GUESSING && text(a, "host") == "wan")
        .unwrap();
    assert_eq!(num(wan_last, "failures"), 20);
    assert!(num(wan_last, "user_count") >= 8, "{wan_last:?}");
    assert!(num(wan_last, "invalid_user_failures") >= 5, "{wan_last:?}");
    // Only one alert per threshold step, never one per line.
    let per_host = |h: &str| {
        alerts
            .iter()
            .filter(|a| a.sid == SID_GUESSING && text(a, "host") == h)
            .count()
    };
    assert_eq!(per_host("wan"), 2);
    assert_eq!(per_host("lan"), 2);
    assert!(!alerts.iter().any(|a| a.sid == SID_DISTRIBUTED));
}

#[test]
fn break_in_is_its_own_high_severity_alert() {
    let alerts = run(&["bruteforce/auth_wan.log"]);
    let b: Vec<&Alert> = alerts.iter().filter(|a| a.sid == SID_BREAK_IN).collect();
    assert_eq!(b.len(), 1, "{alerts:#?}");
    let b = b[0];
    assert_eq!(b.severity, Severity::HIGH);
    assert_eq!(b.src, Some(ip("10.99.2.66")));
    assert_eq!(b.sport, Some(41031));
    assert_eq!(b.details["user"], "nidstest");
    // Every guess before the success is counted, once each (the invalid-user
    // attempts log two lines but are one attempt).
    assert_eq!(
        num(b, "failures") as usize,
        truth_failures("10.99.2.66") - 21
    );
    assert_eq!(num(b, "failures"), 30);
}

#[test]
fn max_auth_tries_disconnects_are_reported() {
    let alerts = run(&["bruteforce/auth_lan.log"]);
    let last = alerts.iter().rfind(|a| a.sid == SID_GUESSING).unwrap();
    assert_eq!(num(last, "max_auth_disconnects"), 2, "{last:?}");
    assert!(!alerts.iter().any(|a| a.sid == SID_BREAK_IN));
}

fn failed(ts: i64, src: &str, user: &str) -> AuthLog {
    AuthLog {
        ts: Timestamp::from_secs_nanos(ts, 0),
        host: "h".into(),
        service: "sshd".into(),
        pid: Some(ts as u32),
        event: AuthEvent::Failed,
        method: Some("password".into()),
        user: Some(user.into()),
        invalid_user: false,
        src: Some(ip(src)),
        port: Some(40000),
    }
}

fn feed(d: &mut BruteforceDetector, logs: &[AuthLog]) -> Vec<Alert> {
    let home = tripline_core::HomeNets::default();
    let mut out = Alerts::of("bruteforce");
    for l in logs {
        let ctx = tripline_detect::DetectContext {
            home_nets: &home,
            now: l.ts,
            os: None,
        };
        d.on_record(&Record::Auth(l.clone()), &ctx, &mut out);
    }
    out.alerts
}

#[test]
fn failures_spread_beyond_the_window_are_not_guessing() {
    let mut d = BruteforceDetector::new(BruteforceConfig::default());
    // One typo every 200 s: never 5 within 600 s.
    let logs: Vec<AuthLog> = (0..20)
        .map(|i| failed(i * 200, "192.0.2.7", "alice"))
        .collect();
    assert!(feed(&mut d, &logs).is_empty());
    let logs: Vec<AuthLog> = (0..5)
        .map(|i| failed(10_000 + i, "192.0.2.7", "alice"))
        .collect();
    assert_eq!(feed(&mut d, &logs).len(), 1);
}

#[test]
fn distributed_guessing_of_one_account() {
    let mut d = BruteforceDetector::new(BruteforceConfig::default());
    let logs: Vec<AuthLog> = (0..6)
        .map(|i| failed(100 + i, &format!("198.51.100.{i}"), "root"))
        .collect();
    let alerts = feed(&mut d, &logs);
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0].sid, SID_DISTRIBUTED);
    assert_eq!(num(&alerts[0], "sources"), 5);
    assert_eq!(alerts[0].details["user"], "root");
}

#[test]
fn state_is_bounded_and_evictions_counted() {
    let mut d = BruteforceDetector::new(BruteforceConfig {
        max_sources: 100,
        max_accounts: 10,
        find_time: Duration::from_secs(600),
        ..Default::default()
    });
    let logs: Vec<AuthLog> = (0..1000u32)
        .map(|i| {
            let src = format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255);
            failed(i64::from(i), &src, &format!("u{i}"))
        })
        .collect();
    assert!(feed(&mut d, &logs).is_empty());
    let m = d.metrics();
    assert_eq!(m.failures, 1000);
    assert_eq!(m.sources_evicted, 900);
    assert_eq!(m.accounts_evicted, 990);
}
