//! The storm: 100,000 alerts from 10,000 sources within one minute of alert
//! time, through the notifier with default noise control to a real syslog
//! collector (a UDP socket). The number of messages is bounded and the
//! `notifications` table accounts for every alert.
//!
//! The bound, per channel, for a storm lasting `T` seconds of alert time:
//! at most `global_per_hour × ⌈T / 3600⌉` single notifications (the sliding
//! hour allows no more) plus one digest per `digest_interval` elapsed plus
//! the final one. With the defaults (30 per hour, hourly digests) a
//! one-minute storm gives at most 30 + 1 = 31 messages, however many
//! alerts or sources.

mod notify_support;

use notify_support::scan_alert;
use std::net::{Ipv4Addr, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tripline_act::notify::syslog::SyslogChannel;
use tripline_act::notify::{ChannelSpec, NoiseConfig, Notifier, SyslogConfig};
use tripline_core::{Alert, Timestamp};
use tripline_store::Store;

const ALERTS: usize = 100_000;
const SOURCES: usize = 10_000;

/// Alert `i`: source `i % SOURCES`, spread evenly over 60 s; each source's
/// ten alerts climb danger levels 1..5 twice.
fn storm_alert(i: usize) -> Alert {
    let src = Ipv4Addr::from(0x0a00_0000 + i as u32 % SOURCES as u32 + 1).to_string();
    let level = 1 + ((i / SOURCES) % 5) as u8;
    let mut a = scan_alert(0, &src, level);
    a.ts = Timestamp(a.ts.0 + (i as i64) * 600_000);
    a
}

#[test]
fn a_storm_gives_a_bounded_number_of_notifications_and_loses_no_alert() {
    let collector = UdpSocket::bind("127.0.0.1:0").unwrap();
    collector
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let port = collector.local_addr().unwrap().port();
    let received = std::thread::spawn(move || {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        // Until the test's end marker (or a minute of silence).
        while let Ok(n) = collector.recv(&mut buf) {
            if &buf[..n] == b"END" {
                break;
            }
            got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        got
    });

    let alerts: Vec<Alert> = (0..ALERTS).map(storm_alert).collect();
    assert!(alerts.last().unwrap().ts.seconds_since(alerts[0].ts) < 60.0);
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("storm.db")).unwrap();
    store.insert_alerts(None, &alerts).unwrap();

    let syslog = SyslogChannel::new(&SyslogConfig {
        target: format!("udp:127.0.0.1:{port}"),
        ..SyslogConfig::default()
    })
    .unwrap();
    let noise = NoiseConfig::default();
    let spec = ChannelSpec {
        channel: Arc::new(syslog),
        min_severity: 3,
        workers: 1,
    };
    let mut n = Notifier::new(vec![spec], &noise, 256, None).unwrap();
    let started = Instant::now();
    for a in &alerts {
        n.alert(a);
    }
    let decide = started.elapsed();
    let stats = n.finish();
    eprintln!("storm: {ALERTS} alerts decided in {decide:?}; {stats:?}");
    let written = n.write_rows(&mut store).unwrap();

    // The bound: 30 single notifications and one digest.
    let bound = u64::from(noise.global_per_hour) + 1;
    assert!(stats.sent <= bound, "{stats:?}");
    assert_eq!(stats.digests, 1);
    assert_eq!(
        stats.failed + stats.queue_full + stats.unrecorded,
        0,
        "{stats:?}"
    );
    // Exactly: five level rises per source are candidates, the first 30
    // are sent, the rest digested; repeats are suppressed.
    assert_eq!(stats.sent, 31);
    assert_eq!(stats.digested, 5 * SOURCES as u64 - 30);
    assert_eq!(stats.suppressed, 5 * SOURCES as u64);

    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .send_to(b"END", ("127.0.0.1", port))
        .unwrap();
    let got = received.join().unwrap();
    assert_eq!(
        got.len() as u64,
        stats.sent,
        "every message reached the collector"
    );
    let digest = got
        .iter()
        .find(|m| m.contains(" digest "))
        .expect("a digest message");
    assert!(
        digest.contains("digest: 49970 alerts held back from 10000 sources"),
        "{digest}"
    );

    // The store accounts for every alert: one row each, linked to it, plus the digest.
    assert_eq!(written, ALERTS as u64 + 1);
    let counts = store.notification_counts(Some("syslog")).unwrap();
    let per_alert: u64 = counts
        .iter()
        .filter(|c| c.reason != "digest")
        .map(|c| c.rows)
        .sum();
    assert_eq!(per_alert, ALERTS as u64, "{counts:?}");
    let by = |outcome: &str| -> u64 {
        counts
            .iter()
            .filter(|c| c.outcome == outcome && c.reason != "digest")
            .map(|c| c.rows)
            .sum()
    };
    assert_eq!(
        by("sent") + by("suppressed") + by("digested"),
        ALERTS as u64
    );
    let db = rusqlite::Connection::open(dir.path().join("storm.db")).unwrap();
    let linked: i64 = db
        .query_row(
            "SELECT count(DISTINCT alert_id) FROM notifications WHERE alert_id IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(linked, ALERTS as i64, "each alert has its row");
}
