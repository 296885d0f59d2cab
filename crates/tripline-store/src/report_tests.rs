//! Tests of the `status` and profile queries on a small hand-built store.

use crate::{MAX_DANGER_STEPS, Store};
use serde_json::{Value, json};
use std::net::IpAddr;
use tripline_core::{
    Alert, AuthEvent, AuthLog, ConnOrigin, ConnState, Connection, Direction, DnsAnswer, DnsData,
    DnsEvent, DnsLog, DnsOrigin, Severity, Timestamp,
};

const SCANNER: &str = "10.99.2.66";
const SECS: i64 = 1_000_000_000;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn conn(
    t: i64,
    src: &str,
    dst: &str,
    dport: u16,
    protocol: u8,
    direction: Direction,
) -> Connection {
    Connection {
        start: Timestamp(t * SECS),
        end: Timestamp(t * SECS + 5),
        src: ip(src),
        sport: 40000,
        dst: ip(dst),
        dport,
        protocol,
        orig_packets: 1,
        orig_bytes: 40,
        resp_packets: 0,
        resp_bytes: 0,
        state: ConnState::S0,
        history: "S".into(),
        community_id: String::new(),
        direction,
        origin: ConnOrigin::Capture,
    }
}

fn alert(t: i64, detector: &str, src: &str, msg: &str, details: Value) -> Alert {
    let Value::Object(details) = details else {
        panic!("details must be an object")
    };
    Alert {
        ts: Timestamp(t * SECS),
        detector: detector.into(),
        gid: match detector {
            "scan" => 2001,
            "osfp" => 1_000_007,
            _ => 2002,
        },
        sid: 1,
        rev: 1,
        msg: msg.into(),
        category: "test".into(),
        severity: Severity::LOW,
        src: Some(ip(src)),
        sport: None,
        dst: Some(ip("10.99.1.3")),
        dport: None,
        protocol: Some(6),
        community_id: None,
        details,
    }
}

fn scan(t: i64, src: &str, level: u8, types: &[&str]) -> Alert {
    alert(
        t,
        "scan",
        src,
        &format!("SCAN port scan by {src} (danger level {level})"),
        json!({"danger_level": level, "scan_types": types}),
    )
}

fn auth(t: i64, event: AuthEvent, user: &str) -> AuthLog {
    AuthLog {
        ts: Timestamp(t * SECS),
        host: "gw".into(),
        service: "sshd".into(),
        pid: Some(1),
        event,
        method: Some("password".into()),
        user: Some(user.into()),
        invalid_user: false,
        src: Some(ip(SCANNER)),
        port: Some(5555),
    }
}

/// A scanner with escalating scans, connections, a DNS name, an OS guess
/// and logins; a second, milder source; home traffic going out.
fn sample() -> Store {
    let mut s = Store::open_in_memory().unwrap();
    let mut conns = Vec::new();
    for port in 1..=30u16 {
        conns.push(conn(
            100 + i64::from(port),
            SCANNER,
            "10.99.1.3",
            port,
            6,
            Direction::Inbound,
        ));
    }
    conns.push(conn(99, SCANNER, "10.99.1.2", 22, 6, Direction::Inbound));
    conns.push(conn(140, SCANNER, "10.99.1.3", 53, 17, Direction::Inbound));
    conns.push(conn(141, SCANNER, "10.99.1.3", 8, 1, Direction::Inbound));
    conns.push(conn(
        150,
        "10.99.2.7",
        "10.99.1.3",
        22,
        6,
        Direction::Inbound,
    ));
    for _ in 0..50 {
        conns.push(conn(
            160,
            "10.99.1.2",
            "192.0.2.1",
            443,
            6,
            Direction::Outbound,
        ));
    }
    s.insert_connections(None, &conns).unwrap();
    s.insert_alerts(
        None,
        &[
            scan(101, SCANNER, 1, &["SYN"]),
            scan(105, SCANNER, 2, &["SYN"]),
            scan(106, SCANNER, 2, &["SYN", "FIN"]),
            scan(120, SCANNER, 4, &["SYN", "FIN", "XMAS"]),
            scan(151, "10.99.2.7", 2, &["NULL"]),
            alert(
                130,
                "tripwire",
                SCANNER,
                "trap port 23 \x1b[31m",
                json!({"trap": "tcp/23"}),
            ),
            alert(
                131,
                "osfp",
                SCANNER,
                "OS fingerprint: Linux",
                json!({"os": "Linux 2.2.x-3.x", "distance": 0}),
            ),
            alert(
                132,
                "osfp",
                SCANNER,
                "OS fingerprint: Linux",
                json!({"os": "Linux 2.2.x-3.x", "distance": 0}),
            ),
            alert(152, "tripwire", "10.99.2.7", "trap", json!({})),
        ],
    )
    .unwrap();
    s.insert_auth(
        None,
        &[
            auth(90, AuthEvent::Failed, "root"),
            auth(91, AuthEvent::Failed, "root"),
            auth(92, AuthEvent::Failed, "admin"),
            auth(93, AuthEvent::InvalidUser, "admin"),
            auth(200, AuthEvent::Accepted, "root"),
        ],
    )
    .unwrap();
    s.insert_dns(
        None,
        &[DnsLog {
            ts: Timestamp(80 * SECS),
            origin: DnsOrigin::Dnsmasq,
            event: DnsEvent::Reply,
            client: None,
            server: None,
            id: None,
            name: "evil.example".into(),
            qtype: "A".into(),
            rcode: None,
            answers: vec![DnsAnswer {
                name: "evil.example".into(),
                data: DnsData::Addr(ip(SCANNER)),
                ttl: Some(60),
            }],
            from_config: false,
            blocked: false,
        }],
    )
    .unwrap();
    s
}

#[test]
fn status_ranks_sources_by_danger_then_alerts() {
    let s = sample();
    let st = s.status(10).unwrap();
    let top: Vec<_> = st
        .top_sources_by_danger
        .iter()
        .map(|d| (d.addr.to_string(), d.max_danger_level, d.alerts))
        .collect();
    assert_eq!(
        top,
        [(SCANNER.to_string(), 4, 7), ("10.99.2.7".to_string(), 2, 2)]
    );
    assert_eq!(st.top_sources_by_danger[0].last_seen, Timestamp(132 * SECS));
    assert_eq!(st.counts.alerts, 9);
}

#[test]
fn status_counts_scan_types_ports_and_detectors() {
    let s = sample();
    let st = s.status(3).unwrap();
    let types: Vec<_> = st
        .scan_types
        .iter()
        .map(|t| (t.scan_type.as_str(), t.alerts, t.sources))
        .collect();
    assert_eq!(
        types,
        [("SYN", 4, 1), ("FIN", 2, 1), ("NULL", 1, 1), ("XMAS", 1, 1)]
    );
    // Outbound traffic (50 connections to 443) is not an attacked port;
    // ICMP has no port; port 22 has two sources.
    assert_eq!(st.top_ports.len(), 3);
    assert_eq!((st.top_ports[0].port, st.top_ports[0].protocol), (22, 6));
    assert_eq!(
        (st.top_ports[0].addresses, st.top_ports[0].connections),
        (2, 3)
    );
    assert!(
        st.top_ports
            .iter()
            .all(|p| p.port != 443 && p.protocol != 1)
    );
    let det: Vec<_> = st
        .alerts_by_detector
        .iter()
        .map(|d| (d.detector.as_str(), d.alerts))
        .collect();
    assert_eq!(
        det,
        [("scan", 5), ("osfp", 2), ("tripwire", 2)],
        "ties by name"
    );
    assert_eq!(st.top_signatures[0].alerts, 5);
    assert_eq!(st.top_signatures[0].sources, 2);
    // The latest scan alert's message stands for the signature.
    assert!(st.top_signatures[0].msg.contains("10.99.2.7"));
    let recent: Vec<_> = st.recent_alerts.iter().map(|a| a.ts.secs()).collect();
    assert_eq!(recent, [152, 151, 132]);
}

#[test]
fn profile_collects_everything_about_one_source() {
    let s = sample();
    let p = s.profile(ip(SCANNER), 5).unwrap().expect("known source");
    assert_eq!(p.first_seen, Timestamp(90 * SECS), "auth events count");
    assert_eq!(p.last_seen, Timestamp(200 * SECS));
    assert_eq!(p.max_danger_level, 4);
    let steps: Vec<_> = p
        .danger_history
        .iter()
        .map(|d| (d.ts.secs(), d.level))
        .collect();
    assert_eq!(steps, [(101, 1), (105, 2), (120, 4)], "repeats collapse");
    assert_eq!(p.danger_steps_dropped, 0);
    let types: Vec<_> = p.scan_types.iter().map(|t| t.scan_type.as_str()).collect();
    assert_eq!(types, ["SYN", "FIN", "XMAS"]);
    assert_eq!(p.connections, 33);
    assert_eq!(
        p.ports_touched, 31,
        "30 TCP ports + udp/53; ICMP is not a port"
    );
    assert_eq!(p.top_ports.len(), 5);
    assert_eq!(p.hosts_touched, 2);
    assert_eq!(p.top_hosts[0].addr, ip("10.99.1.3"));
    assert_eq!(p.top_hosts[0].connections, 32);
    assert_eq!(p.dns_names, ["evil.example"]);
    assert_eq!(p.os_guesses.len(), 1);
    assert_eq!(
        (p.os_guesses[0].os.as_str(), p.os_guesses[0].alerts),
        ("Linux 2.2.x-3.x", 2)
    );
    assert_eq!(p.alerts, 7);
    assert_eq!(p.recent_alerts.len(), 5);
    assert_eq!(p.recent_alerts[0].ts.secs(), 132);
    assert_eq!(
        (p.auth.failures, p.auth.successes, p.auth.invalid_users),
        (3, 1, 1)
    );
    let users: Vec<_> = p
        .auth
        .users
        .iter()
        .map(|u| (u.user.as_str(), u.failures, u.successes))
        .collect();
    assert_eq!(users, [("root", 2, 1), ("admin", 1, 0)]);
}

#[test]
fn unknown_source_has_no_profile() {
    let s = sample();
    // Only a DNS answer names it: it never was a source.
    assert_eq!(s.profile(ip("192.0.2.99"), 5).unwrap(), None);
    assert_eq!(s.profile(ip("10.99.1.3"), 5).unwrap(), None);
}

#[test]
fn empty_store_gives_empty_status() {
    let s = Store::open_in_memory().unwrap();
    let st = s.status(10).unwrap();
    assert!(st.top_sources_by_danger.is_empty());
    assert!(st.top_ports.is_empty() && st.scan_types.is_empty());
    assert!(st.alerts_by_detector.is_empty() && st.top_signatures.is_empty());
    assert!(st.recent_alerts.is_empty());
    assert_eq!(st.counts.alerts, 0);
}

#[test]
fn damaged_details_do_not_fail_reports() {
    let s = sample();
    s.conn
        .execute(
            "UPDATE alerts SET details = 'not json' WHERE ts_ns = ?1",
            [120 * SECS],
        )
        .unwrap();
    let st = s.status(10).unwrap();
    assert_eq!(st.top_sources_by_danger[0].max_danger_level, 2);
    let p = s.profile(ip(SCANNER), 5).unwrap().unwrap();
    assert_eq!(p.max_danger_level, 2);
    assert!(p.scan_types.iter().all(|t| t.scan_type != "XMAS"));
}

#[test]
fn danger_history_is_bounded() {
    let mut s = Store::open_in_memory().unwrap();
    let n = MAX_DANGER_STEPS + 10;
    let alerts: Vec<Alert> = (0..n)
        .map(|i| scan(i as i64, SCANNER, 1 + (i % 2) as u8, &["SYN"]))
        .collect();
    s.insert_alerts(None, &alerts).unwrap();
    let p = s.profile(ip(SCANNER), 5).unwrap().unwrap();
    assert_eq!(p.danger_history.len(), MAX_DANGER_STEPS);
    assert_eq!(p.danger_steps_dropped, 10);
    assert_eq!(p.max_danger_level, 2);
}

#[test]
fn a_corrupt_address_is_named() {
    let s = sample();
    s.conn
        .execute(
            "UPDATE alerts SET src = 'bogus' WHERE ts_ns = ?1",
            [152 * SECS],
        )
        .unwrap();
    let err = s.status(10).unwrap_err().to_string();
    assert!(err.contains("alerts") && err.contains("bogus"), "{err}");
}
