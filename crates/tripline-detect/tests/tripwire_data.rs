//! The tripwire detector on real captures and firewall logs
//! (`../shared/data/scans/`, `../shared/data/dnsconn/`) and on listener hits.

mod common;

use common::{Alerts, data, home, run_engine};
use std::collections::BTreeSet;
use std::net::IpAddr;
use tripline_core::{Alert, Cidr, HomeNets, Record, Severity, Timestamp, TripwireHit, ip_proto};
use tripline_detect::detectors::tripwire::{
    GID, SID_LISTENER, SID_TRAP_HOST, SID_TRAP_PORT, TripwireConfig, TripwireDetector,
};
use tripline_detect::{DetectContext, Detector, EngineConfig};

fn run(files: &[&str], tripwire: TripwireConfig) -> Vec<Alert> {
    let paths: Vec<String> = files.iter().map(|f| data(f)).collect();
    let config = EngineConfig {
        home_nets: home(),
        tripwire,
        ..Default::default()
    };
    run_engine(&paths, config, "tripwire").alerts
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn trap_ports_hit(alerts: &[Alert], src: &str, dst: &str) -> BTreeSet<u16> {
    alerts
        .iter()
        .filter(|a| a.src == Some(ip(src)) && a.dst == Some(ip(dst)))
        .filter_map(|a| a.dport)
        .collect()
}

fn check_s01(alerts: &[Alert], via: &str) {
    let ports = trap_ports_hit(alerts, "10.99.2.66", "10.99.1.3");
    for p in [23, 135, 139, 445] {
        assert!(ports.contains(&p), "{via}: port {p} not alerted: {ports:?}");
    }
    let a = alerts
        .iter()
        .find(|a| a.src == Some(ip("10.99.2.66")) && a.dport == Some(445))
        .unwrap();
    assert_eq!((a.gid, a.sid), (GID, SID_TRAP_PORT));
    assert_eq!(a.severity, Severity::MEDIUM);
    assert_eq!(a.details["via"], via);
    let history = a.details["history"].as_array().unwrap();
    assert!(history.len() > 1 && history.len() <= 16, "{a:?}");
    assert!(a.details["source_contacts"].as_u64().unwrap() as usize >= history.len());
    // One alert per target and port, not one per retransmission.
    let per_port = alerts
        .iter()
        .filter(|a| a.src == Some(ip("10.99.2.66")) && a.dst == Some(ip("10.99.1.3")))
        .filter(|a| a.dport == Some(445) && a.protocol == Some(ip_proto::TCP))
        .count();
    assert_eq!(per_port, 1, "{via}");
    // Every alert is an inbound contact or a contact with a trap host.
    for a in alerts {
        assert!(home().contains(a.dst.unwrap()), "{via}: {a:?}");
        assert!(!home().contains(a.src.unwrap()), "{via}: {a:?}");
    }
}

#[test]
fn nmap_scan_trips_trap_ports_in_the_capture() {
    let alerts = run(&["scans/capture.pcap"], TripwireConfig::default());
    check_s01(&alerts, "packet");
}

#[test]
fn nmap_scan_trips_trap_ports_in_the_firewall_log() {
    let alerts = run(&["scans/iptables.log"], TripwireConfig::default());
    check_s01(&alerts, "firewall");
}

#[test]
fn outbound_mysql_is_not_a_tripwire_but_inbound_smb_is() {
    // The LAN-side capture never sees the dropped SMB attempt; the
    // external capture and the router log see both.
    let lan = run(&["dnsconn/capture.pcap"], TripwireConfig::default());
    assert!(lan.is_empty(), "{lan:#?}");
    for f in ["dnsconn/capture_ext.pcap", "dnsconn/iptables.log"] {
        let alerts = run(&[f], TripwireConfig::default());
        assert!(
            !alerts.iter().any(|a| a.dport == Some(3306)),
            "{f}: {alerts:#?}"
        );
        assert!(
            !alerts.iter().any(|a| a.src == Some(ip("10.99.1.2"))),
            "{f}: {alerts:#?}"
        );
        let smb: Vec<&Alert> = alerts
            .iter()
            .filter(|a| a.src == Some(ip("10.99.2.2")) && a.dport == Some(445))
            .collect();
        assert_eq!(smb.len(), 1, "{f}: {alerts:#?}");
        assert_eq!(smb[0].dst, Some(ip("10.99.1.2")));
    }
}

#[test]
fn trap_host_contact_is_high_severity() {
    let cfg = TripwireConfig {
        tcp_ports: Vec::new(),
        udp_ports: Vec::new(),
        trap_hosts: vec!["10.99.1.3/32".parse::<Cidr>().unwrap()],
        ..Default::default()
    };
    let alerts = run(&["scans/iptables.log"], cfg);
    assert!(!alerts.is_empty());
    for a in &alerts {
        assert_eq!(a.sid, SID_TRAP_HOST);
        assert_eq!(a.severity, Severity::HIGH);
        assert_eq!(a.dst, Some(ip("10.99.1.3")));
    }
}

fn hit(ts: i64, src: &str, dport: u16, bytes: &[u8]) -> TripwireHit {
    TripwireHit {
        ts: Timestamp::from_secs_nanos(ts, 0),
        src: ip(src),
        sport: 50000,
        dst: ip("10.99.1.3"),
        dport,
        protocol: ip_proto::TCP,
        first_bytes: bytes.to_vec(),
    }
}

fn feed(d: &mut TripwireDetector, hits: &[TripwireHit]) -> Vec<Alert> {
    let home = HomeNets::default();
    let mut out = Alerts::of("tripwire");
    for h in hits {
        let ctx = DetectContext {
            home_nets: &home,
            now: h.ts,
            os: None,
        };
        d.on_record(&Record::Tripwire(h.clone()), &ctx, &mut out);
    }
    out.alerts
}

#[test]
fn listener_hits_alert_with_first_bytes_and_history() {
    let mut d = TripwireDetector::new(TripwireConfig {
        history_len: 4,
        ..Default::default()
    });
    let hits: Vec<TripwireHit> = (0..10)
        .map(|i| hit(100 + i, "192.0.2.9", 2300 + i as u16, b"root\r\n"))
        .collect();
    let alerts = feed(&mut d, &hits);
    assert_eq!(alerts.len(), 10);
    let last = &alerts[9];
    assert_eq!(last.sid, SID_LISTENER);
    assert_eq!(last.severity, Severity::HIGH);
    assert_eq!(last.details["first_bytes"], "root\\x0d\\x0a");
    assert_eq!(last.details["history"].as_array().unwrap().len(), 4);
    assert_eq!(last.details["source_contacts"], 10);
    // The same port again soon after: counted, not re-alerted; much later: alerted.
    assert!(feed(&mut d, &[hit(200, "192.0.2.9", 2300, b"")]).is_empty());
    assert_eq!(feed(&mut d, &[hit(5000, "192.0.2.9", 2300, b"")]).len(), 1);
    assert_eq!(d.metrics().repeats, 1);
}

#[test]
fn sources_are_bounded() {
    let mut d = TripwireDetector::new(TripwireConfig {
        max_sources: 50,
        ..Default::default()
    });
    let hits: Vec<TripwireHit> = (0..500u32)
        .map(|i| {
            hit(
                i64::from(i),
                &format!("203.0.{}.{}", i >> 8, i & 255),
                23,
                b"",
            )
        })
        .collect();
    assert_eq!(feed(&mut d, &hits).len(), 500);
    assert_eq!(d.metrics().sources_evicted, 450);
}
