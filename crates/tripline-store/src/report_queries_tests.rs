//! Tests of the report queries on a small hand-built store.

use super::*;
use crate::{AlertQuery, SweepPoint};
use serde_json::json;
use tripline_core::{Alert, ConnOrigin, ConnState, Connection, Direction, Severity};

const SECS: i64 = 1_000_000_000;
/// 2026-11-22 12:00:00 UTC.
const NOON: i64 = 1_795_348_800;

fn conn(t: i64, src: &str, dst: &str, dport: u16, direction: Direction) -> Connection {
    Connection {
        start: Timestamp(t * SECS),
        end: Timestamp(t * SECS + 5),
        src: src.parse().unwrap(),
        sport: 40000,
        dst: dst.parse().unwrap(),
        dport,
        protocol: 6,
        orig_packets: 2,
        orig_bytes: 80,
        resp_packets: 1,
        resp_bytes: 40,
        state: ConnState::S0,
        history: "S".into(),
        community_id: String::new(),
        direction,
        origin: ConnOrigin::Capture,
    }
}

fn alert(t: i64, detector: &str, severity: u8, src: &str, dport: u16) -> Alert {
    Alert {
        ts: Timestamp(t * SECS),
        detector: detector.into(),
        gid: 1,
        sid: 1000 + u32::from(severity),
        rev: 1,
        msg: format!("{detector} <b>alert</b>"),
        category: "test".into(),
        severity: Severity(severity),
        src: Some(src.parse().unwrap()),
        sport: Some(5555),
        dst: Some("10.0.0.2".parse().unwrap()),
        dport: Some(dport),
        protocol: Some(6),
        community_id: None,
        details: json!({"note": "x"}).as_object().cloned().unwrap(),
    }
}

fn store() -> Store {
    let mut s = Store::open_in_memory().unwrap();
    s.insert_connections(
        None,
        &[
            conn(NOON + 10, "10.0.0.5", "192.0.2.1", 443, Direction::Outbound),
            conn(NOON + 20, "10.0.0.5", "192.0.2.1", 443, Direction::Outbound),
            conn(
                NOON + 30,
                "198.51.100.7",
                "10.0.0.2",
                22,
                Direction::Inbound,
            ),
            conn(
                NOON + 3700,
                "198.51.100.7",
                "10.0.0.2",
                23,
                Direction::Inbound,
            ),
        ],
    )
    .unwrap();
    s.insert_alerts(
        None,
        &[
            alert(NOON + 31, "scan", 3, "198.51.100.7", 22),
            alert(NOON + 32, "signature", 1, "198.51.100.7", 22),
            alert(NOON + 3701, "connwatch", 2, "10.0.0.5", 443),
        ],
    )
    .unwrap();
    s
}

#[test]
fn hours_count_alerts_by_severity_scans_and_new_destinations() {
    let s = store();
    let hours = s.hour_counts(TimeRange::ALL).unwrap();
    assert_eq!(
        s.hour_counts(TimeRange::hour(NOON * SECS)).unwrap().len(),
        1
    );
    assert_eq!(hours.len(), 2);
    assert_eq!(hours[0].hour_start, NOON * SECS);
    assert_eq!(hours[0].connections, 3);
    assert_eq!(hours[0].alerts_by_severity, [1, 0, 1]);
    assert_eq!((hours[0].scans, hours[0].new_destinations), (1, 0));
    assert_eq!(hours[1].hour_start, (NOON + 3600) * SECS);
    assert_eq!(hours[1].alerts_by_severity, [0, 1, 0]);
    assert_eq!((hours[1].scans, hours[1].new_destinations), (0, 1));
}

#[test]
fn series_split_by_direction_and_severity() {
    let s = store();
    let d = s.connections_by_direction(TimeRange::ALL, HOUR_NS).unwrap();
    assert_eq!(d.len(), 2);
    assert_eq!((d[0].outbound, d[0].inbound, d[1].inbound), (2, 1, 1));
    let a = s
        .alerts_by_severity(TimeRange::hour(NOON * SECS), 60 * SECS)
        .unwrap();
    assert_eq!(a, vec![(NOON * SECS, [1, 0, 1])]);
}

#[test]
fn alert_pages_filter_and_paginate() {
    let s = store();
    let mut q = AlertQuery::in_range(TimeRange::ALL, 1);
    let (rows, total) = s.alerts_page(&q).unwrap();
    assert_eq!((rows.len(), total), (1, 3));
    assert_eq!(rows[0].detector, "scan");
    q.offset = 1;
    assert_eq!(s.alerts_page(&q).unwrap().0[0].detector, "signature");
    let mut q = AlertQuery::in_range(TimeRange::ALL, 10);
    q.rule = Some("connwatch".into());
    assert_eq!(s.alerts_page(&q).unwrap().1, 1);
    q.rule = Some("1001".into());
    assert_eq!(s.alerts_page(&q).unwrap().0[0].detector, "signature");
    let mut q = AlertQuery::in_range(TimeRange::ALL, 10);
    q.max_severity = Some(2);
    q.addr = Some("10.0.0.5".into());
    assert_eq!(s.alerts_page(&q).unwrap().1, 1);
    q.port = Some(22);
    assert_eq!(s.alerts_page(&q).unwrap().1, 0);
}

#[test]
fn acknowledging_shows_on_the_alert() {
    let s = store();
    let id = s.alert_ids(TimeRange::ALL, 10).unwrap()[1];
    assert!(s.alert(id).unwrap().unwrap().acked.is_none());
    assert!(
        s.acknowledge_alert(id, Timestamp(7), "analyst", "")
            .unwrap()
    );
    let a = s.alert(id).unwrap().unwrap();
    assert_eq!(a.acked, Some((Timestamp(7), "analyst".into())));
    assert_eq!(a.msg, "signature <b>alert</b>");
    assert!(!s.acknowledge_alert(999_999, Timestamp(7), "x", "").unwrap());
    assert!(s.alert(999_999).unwrap().is_none());
}

#[test]
fn talkers_destinations_sweeps_links_and_sources() {
    let s = store();
    let t = s.talkers_in(TimeRange::hour(NOON * SECS), 10).unwrap();
    assert_eq!(
        (t[0].addr.as_str(), t[0].connections, t[0].bytes),
        ("10.0.0.5", 2, 240)
    );
    let d = s.destinations_in(TimeRange::hour(NOON * SECS), 1).unwrap();
    assert_eq!((d[0].addr.as_str(), d[0].connections), ("192.0.2.1", 2));
    let p = s.sweep_points(TimeRange::ALL, 10).unwrap();
    assert_eq!(
        p[0],
        SweepPoint {
            src: "10.0.0.5".into(),
            dport: 443,
            packets: 4
        }
    );
    assert_eq!(p.len(), 3);
    let l = s.links_in(TimeRange::ALL, 10).unwrap();
    assert_eq!((l[0].dst.as_str(), l[0].connections), ("192.0.2.1", 2));
    // Alert sources first (most alerts first), then the other talkers.
    assert_eq!(
        s.report_sources(10).unwrap(),
        vec!["198.51.100.7".to_string(), "10.0.0.5".to_string()]
    );
    assert!(s.blocks_for("10.0.0.5", 5).unwrap().is_empty());
    assert!(s.blocked_lookups(TimeRange::ALL, 5).unwrap().is_empty());
}

#[test]
fn adjacent_hours_skip_empty_ones() {
    let s = store();
    let h0 = NOON * SECS;
    assert_eq!(s.adjacent_hours(h0).unwrap(), (None, Some(h0 + HOUR_NS)));
    assert_eq!(s.adjacent_hours(h0 + HOUR_NS).unwrap(), (Some(h0), None));
    assert_eq!(
        s.adjacent_hours(h0 + 5 * HOUR_NS).unwrap(),
        (Some(h0 + HOUR_NS), None)
    );
}

#[test]
fn digest_agrees_with_the_group_by_queries() {
    let s = store();
    for range in [TimeRange::ALL, TimeRange::hour(NOON * SECS)] {
        let d = s
            .connection_digest(
                range,
                crate::DigestLimits {
                    bucket_ns: HOUR_NS,
                    top: 10,
                    sweep: 10,
                    links: 10,
                },
            )
            .unwrap();
        assert_eq!(
            d.by_direction,
            s.connections_by_direction(range, HOUR_NS).unwrap()
        );
        assert_eq!(d.talkers, s.talkers_in(range, 10).unwrap());
        assert_eq!(d.destinations, s.destinations_in(range, 10).unwrap());
        assert_eq!(d.sweep, s.sweep_points(range, 10).unwrap());
        assert_eq!(d.links, s.links_in(range, 10).unwrap());
        assert_eq!(d.keys_dropped, 0);
    }
}

#[test]
fn digest_picks_the_same_tops_as_the_group_by_queries_among_ties() {
    // Many keys with equal counts, so the cut at `limit` falls inside a run
    // of ties and the address-text tie order decides who is kept.
    let mut s = Store::open_in_memory().unwrap();
    let mut rows = Vec::new();
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for i in 0..600 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let src = if x.is_multiple_of(3) {
            format!("2001:db8::{:x}", x % 11)
        } else {
            format!("10.0.{}.{}", x % 2, (x >> 8) % 13)
        };
        let dst = format!("192.0.2.{}", (x >> 16) % 17);
        let dport = [22, 80, 443, 8080, 53][((x >> 24) % 5) as usize];
        rows.push(conn(NOON + i, &src, &dst, dport, Direction::Outbound));
    }
    s.insert_connections(None, &rows).unwrap();
    let sources: std::collections::HashSet<_> = rows.iter().map(|c| c.src).collect();
    for limit in [0, 1, 3, 7, 40] {
        let d = s
            .connection_digest(
                TimeRange::ALL,
                crate::DigestLimits {
                    bucket_ns: HOUR_NS,
                    top: limit,
                    sweep: limit,
                    links: limit,
                },
            )
            .unwrap();
        assert_eq!(d.connections, 600);
        assert_eq!(d.talkers, s.talkers_in(TimeRange::ALL, limit).unwrap());
        assert_eq!(
            d.destinations,
            s.destinations_in(TimeRange::ALL, limit).unwrap()
        );
        assert_eq!(d.sweep, s.sweep_points(TimeRange::ALL, limit).unwrap());
        assert_eq!(d.links, s.links_in(TimeRange::ALL, limit).unwrap());
        assert_eq!(d.talkers.len(), limit.min(sources.len()));
    }
}
