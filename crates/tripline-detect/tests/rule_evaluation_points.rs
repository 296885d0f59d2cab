//! Where rules are evaluated, as in Suricata: IP-only rules (addresses and
//! protocol only, any ports) once per flow direction — on the first packet
//! each way; other packet rules on every packet, and not again on the
//! application transactions a packet completes.

mod common;

use common::{data, home, run_engine};
use std::collections::HashSet;
use tripline_core::{HomeNets, Record, Transport};
use tripline_detect::EngineConfig;
use tripline_detect::detectors::signature::SignatureConfig;
use tripline_rules::{Variables, parse_rule};

fn signature_alerts(rule: &str, path: &str) -> usize {
    sid_alerts(&[rule], path, None)
}

/// Alerts of the rules (of one sid, when given) over the capture.
fn sid_alerts(texts: &[&str], path: &str, sid: Option<u32>) -> usize {
    let vars = Variables::suricata_defaults(&HomeNets::default());
    let rules = texts
        .iter()
        .map(|t| parse_rule(t, &vars).expect("rule parses"))
        .collect();
    let config = EngineConfig {
        home_nets: home(),
        signature: SignatureConfig::with_rules(rules, None),
        ..Default::default()
    };
    run_engine(&[path.to_string()], config, "signature")
        .alerts
        .iter()
        .filter(|a| sid.is_none_or(|s| a.sid == s))
        .count()
}

/// The capture's packets (not fragment pieces) and its flow directions:
/// (protocol, source, source port, destination, destination port).
fn packets_and_directions(path: &str) -> (usize, usize) {
    struct Count(usize, HashSet<(u8, String, u16, String, u16)>);
    impl tripline_ingest::RecordSink for Count {
        fn record(&mut self, rec: &Record<'_>) {
            let Record::Packet(p) = rec else { return };
            if p.header.ip.is_fragment_piece() {
                return;
            }
            let (sp, dp) = match p.header.transport {
                Transport::Tcp(t) => (t.sport, t.dport),
                Transport::Udp(u) => (u.sport, u.dport),
                Transport::Icmp(i) => (u16::from(i.icmp_type), 0),
                Transport::Other => (0, 0),
            };
            self.0 += 1;
            self.1.insert((
                p.header.protocol,
                p.header.src.to_string(),
                sp,
                p.header.dst.to_string(),
                dp,
            ));
        }
        fn error(&mut self, _e: tripline_core::InputError) {}
    }
    let mut c = Count(0, HashSet::new());
    let opts = tripline_ingest::logs::LogOptions::default();
    tripline_ingest::open::open_input(path, &opts)
        .expect("capture opens")
        .run(&mut c);
    (c.0, c.1.len())
}

#[test]
fn ip_only_rules_alert_once_per_flow_direction() {
    let path = data("mixed/capture_ext.pcap");
    let (packets, directions) = packets_and_directions(&path);
    assert!(
        packets > 10 * directions,
        "{packets} packets, {directions} directions"
    );
    // ICMP echo and reply count as one flow each way here and in the oracle
    // alike (the type is the flow's "port"), so the counts compare exactly.
    let ip_only = signature_alerts(r#"alert ip any any -> any any (sid:1;)"#, &path);
    assert_eq!(ip_only, directions);
    // A header test makes a rule a packet rule: every packet.
    let per_packet = signature_alerts(r#"alert ip any any -> any any (ttl:<256; sid:2;)"#, &path);
    assert_eq!(per_packet, packets);
}

/// TCP packets whose flags are exactly PSH and ACK (no fragment pieces).
fn push_acks(path: &str) -> usize {
    struct Count(usize);
    impl tripline_ingest::RecordSink for Count {
        fn record(&mut self, rec: &Record<'_>) {
            if let Record::Packet(p) = rec
                && !p.header.ip.is_fragment_piece()
                && let Transport::Tcp(t) = p.header.transport
                && t.flags.0 == 0x18
            {
                self.0 += 1;
            }
        }
        fn error(&mut self, _e: tripline_core::InputError) {}
    }
    let mut c = Count(0);
    let opts = tripline_ingest::logs::LogOptions::default();
    tripline_ingest::open::open_input(path, &opts)
        .expect("capture opens")
        .run(&mut c);
    c.0
}

#[test]
fn packet_rules_are_not_evaluated_again_on_transactions() {
    let path = data("mixed/capture_ext.pcap");
    let rules = [
        r#"alert tcp any any -> any any (flags:PA; sid:1;)"#,
        // An application rule, so HTTP transactions are parsed and inspected.
        r#"alert http any any -> any any (http.uri; content:"/"; sid:2;)"#,
    ];
    let transactions = sid_alerts(&rules, &path, Some(2));
    assert!(transactions > 100, "{transactions} HTTP requests");
    assert_eq!(sid_alerts(&rules, &path, Some(1)), push_acks(&path));
}
