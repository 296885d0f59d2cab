//! Webhook POSTs to a real HTTP server (Python's http.server) on loopback
//! that fails the first attempts: retries, backoff, headers, the body.

mod notify_support;

use notify_support::{Peer, notice, scan_alert};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};
use tripline_act::notify::webhook::WebhookChannel;
use tripline_act::notify::{Channel, SecretConfig, WebhookConfig};

const PEER: &str = include_str!("data/notify_http_peer.py");

fn peer(out: &Path, failures: u32, status: u16) -> Peer {
    Peer::python(
        PEER,
        &[
            out.to_str().unwrap(),
            &failures.to_string(),
            &status.to_string(),
        ],
    )
}

fn config(port: u16) -> WebhookConfig {
    WebhookConfig {
        url: format!("http://127.0.0.1:{port}/hooks/tripline"),
        backoff_ms: 100,
        retries: 3,
        timeout: 5,
        ..WebhookConfig::default()
    }
}

fn posts(out: &Path) -> usize {
    std::fs::read_dir(out)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .count()
}

#[test]
fn retries_after_a_server_error_and_posts_the_eve_alert() {
    let dir = tempfile::tempdir().unwrap();
    let p = peer(dir.path(), 1, 503);
    let cfg = WebhookConfig {
        headers: BTreeMap::from([("X-Sensor".to_string(), "lab-1".to_string())]),
        token: SecretConfig {
            value: Some("t0ken".into()),
            ..SecretConfig::default()
        },
        ..config(p.port)
    };
    let ch = WebhookChannel::new(&cfg).unwrap();
    let started = Instant::now();
    ch.deliver(&notice(scan_alert(0, "203.0.113.7", 4)))
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(100),
        "waited the backoff"
    );
    assert_eq!(posts(dir.path()), 2, "one failed attempt, one delivered");
    let first = std::fs::read(dir.path().join("0.json")).unwrap();
    let second = std::fs::read(dir.path().join("1.json")).unwrap();
    assert_eq!(first, second, "the retry sends the same document");
    let v: serde_json::Value = serde_json::from_slice(&second).unwrap();
    assert_eq!(v["kind"], "first");
    assert_eq!(v["alert"]["event_type"], "alert");
    assert_eq!(v["alert"]["src_ip"], "203.0.113.7");
    assert_eq!(v["alert"]["dest_port"], 22);
    assert_eq!(v["alert"]["alert"]["signature_id"], 9_100_001);
    assert_eq!(
        v["alert"]["alert"]["context"]["tripline"]["details"]["danger_level"],
        4
    );
    assert_eq!(v["notification"]["danger_level"], 4);
    let hdr = std::fs::read_to_string(dir.path().join("1.hdr")).unwrap();
    assert!(hdr.starts_with("POST /hooks/tripline\n"), "{hdr}");
    // Header names are case-insensitive (HTTP/1.1 sends them lower-cased here).
    let hdr = hdr.to_ascii_lowercase();
    for want in [
        "content-type: application/json",
        "x-sensor: lab-1",
        "authorization: bearer t0ken",
    ] {
        assert!(hdr.contains(want), "{want:?} missing from {hdr}");
    }
}

#[test]
fn gives_up_after_the_configured_retries() {
    let dir = tempfile::tempdir().unwrap();
    let p = peer(dir.path(), 100, 500);
    let ch = WebhookChannel::new(&WebhookConfig {
        retries: 2,
        ..config(p.port)
    })
    .unwrap();
    let err = ch
        .deliver(&notice(scan_alert(0, "203.0.113.7", 4)))
        .unwrap_err();
    assert!(
        err.0.contains("HTTP 500") && err.0.contains("3 attempts"),
        "{err}"
    );
    assert_eq!(posts(dir.path()), 3);
}

#[test]
fn a_client_error_is_not_retried() {
    let dir = tempfile::tempdir().unwrap();
    let p = peer(dir.path(), 100, 400);
    let ch = WebhookChannel::new(&config(p.port)).unwrap();
    let err = ch
        .deliver(&notice(scan_alert(0, "203.0.113.7", 4)))
        .unwrap_err();
    assert_eq!(err.0, "HTTP 400");
    assert_eq!(posts(dir.path()), 1);
}

#[test]
fn an_unreachable_server_fails_within_the_timeouts() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    let ch = WebhookChannel::new(&WebhookConfig {
        retries: 1,
        ..config(port)
    })
    .unwrap();
    let started = Instant::now();
    assert!(
        ch.deliver(&notice(scan_alert(0, "203.0.113.7", 4)))
            .is_err()
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn bad_urls_and_header_injection_are_refused() {
    assert!(
        WebhookChannel::new(&WebhookConfig {
            url: "ftp://x".into(),
            ..config(1)
        })
        .is_err()
    );
    let cfg = WebhookConfig {
        headers: BTreeMap::from([("X-A".to_string(), "v\r\nX-Evil: 1".to_string())]),
        ..config(1)
    };
    assert!(WebhookChannel::new(&cfg).is_err());
}
