//! Parallel signature workers against the engine's own thread on the large
//! lab capture and the lab's firewall log: rules chosen to fire often and
//! to lean on every kind of state — xbits set on one flow and tested on
//! others, thresholds and detection filters by source and destination,
//! flowbits, raw stream and HTTP/DNS buffers — must give the same alerts,
//! in the same order, with any number of workers, across hundreds of
//! batch rounds.

mod common;

use common::{data, home, run_engine};
use tripline_core::HomeNets;
use tripline_detect::EngineConfig;
use tripline_detect::detectors::signature::SignatureConfig;
use tripline_rules::{Rule, Variables, parse_rule};

const RULES: &[&str] = &[
    r#"alert tcp any any -> any any (flags:S; xbits:set,syn_seen,track ip_src,expire 5; noalert; sid:1;)"#,
    r#"alert udp any any -> any any (xbits:isset,syn_seen,track ip_src; sid:2;)"#,
    r#"alert udp any any -> any any (xbits:isnotset,syn_seen,track ip_src; threshold:type limit,track by_src,count 3,seconds 60; sid:3;)"#,
    r#"alert tcp any any -> any any (content:"HTTP/1."; threshold:type both,track by_src,count 3,seconds 10; sid:4;)"#,
    r#"alert tcp any any -> any any (flow:established,to_server; content:"GET "; depth:4; flowbits:set,get; sid:5;)"#,
    r#"alert tcp any any -> any any (flow:established,to_client; flowbits:isset,get; content:"200 OK"; sid:6;)"#,
    r#"alert http any any -> any any (http.uri; content:"/"; detection_filter:track by_dst,count 5,seconds 60; sid:7;)"#,
    r#"alert dns any any -> any any (dns.query; content:"."; threshold:type threshold,track by_src,count 2,seconds 30; sid:8;)"#,
    r#"alert tcp any any -> any any (flow:only_stream; content:"Content-Type"; nocase; sid:9;)"#,
    r#"alert icmp any any -> any any (itype:8; sid:10;)"#,
    r#"alert tcp any any -> any any (flags:F; xbits:toggle,fin,track ip_pair; noalert; sid:11;)"#,
    r#"alert tcp any any -> any any (flags:S; xbits:isset,fin,track ip_pair; sid:12;)"#,
    r#"alert tcp any any -> any any (flags:S; threshold:type limit,track by_dst,count 1,seconds 1; sid:13;)"#,
];

fn rules() -> Vec<Rule> {
    let vars = Variables::suricata_defaults(&HomeNets::default());
    RULES
        .iter()
        .map(|t| parse_rule(t, &vars).unwrap_or_else(|e| panic!("{t}: {e}")))
        .collect()
}

/// The lab's engine with the rules above and `workers` signature workers.
fn config(workers: usize) -> EngineConfig {
    EngineConfig {
        home_nets: home(),
        signature: SignatureConfig {
            workers,
            ..SignatureConfig::with_rules(rules(), None)
        },
        ..Default::default()
    }
}

fn alerts(paths: &[String], workers: usize) -> Vec<tripline_core::Alert> {
    run_engine(paths, config(workers), "signature").alerts
}

#[test]
fn workers_give_the_alerts_of_one_thread_on_the_lab_capture_and_log() {
    let paths = [data("mixed/capture_ext.pcap"), data("mixed/iptables.log")];
    let want = alerts(&paths, 0);
    let mut by_sid = std::collections::BTreeMap::new();
    for a in &want {
        *by_sid.entry(a.sid).or_insert(0) += 1;
    }
    println!("one thread: {} alerts, by sid {by_sid:?}", want.len());
    // Every kind of state fires, so the comparison means something.
    for sid in [2, 3, 4, 5, 7, 8, 10, 13] {
        assert!(
            by_sid.get(&sid).copied().unwrap_or(0) > 0,
            "sid {sid} never fired: {by_sid:?}"
        );
    }
    for workers in [1, 2, 4] {
        let got = alerts(&paths, workers);
        assert_eq!(got.len(), want.len(), "{workers} workers");
        if let Some(k) = (0..got.len()).find(|&k| got[k] != want[k]) {
            panic!(
                "{workers} workers: alert {k} differs:\n{:?}\none thread:\n{:?}",
                got[k], want[k]
            );
        }
    }
}

/// Feeds the first `n` records of `path` through `engine`.
struct FirstRecords<'a> {
    engine: &'a mut tripline_detect::Engine,
    out: &'a mut common::Alerts,
    left: usize,
}

impl tripline_ingest::RecordSink for FirstRecords<'_> {
    fn record(&mut self, rec: &tripline_core::Record<'_>) {
        if self.left > 0 {
            self.left -= 1;
            self.engine.process(rec, self.out);
        }
    }
    fn error(&mut self, _e: tripline_core::InputError) {}
    fn should_stop(&self) -> bool {
        self.left == 0
    }
}

/// Live input: alerts the workers hold in a batch are handed on when the
/// input goes idle (`Engine::idle`), the same alerts the engine's thread
/// raised at once.
#[test]
fn idle_input_hands_on_the_held_alerts() {
    let run = |workers: usize, idle: bool| {
        let mut engine = tripline_detect::Engine::new(config(workers));
        let mut out = common::Alerts::of("signature");
        let opts = tripline_ingest::logs::LogOptions::default();
        let path = data("mixed/capture_ext.pcap");
        let mut src = tripline_ingest::open::open_input(&path, &opts).expect("capture opens");
        src.run(&mut FirstRecords {
            engine: &mut engine,
            out: &mut out,
            left: 300,
        });
        let before = out.alerts.len();
        if idle {
            engine.idle(&mut out);
        }
        (before, out.alerts)
    };
    let (_, inline) = run(0, false);
    assert!(!inline.is_empty(), "the first records raise alerts");
    let (held, idle) = run(2, true);
    assert_eq!(held, 0, "a batch not yet full is held");
    assert!(
        idle == inline,
        "{} alerts after idle, {} inline",
        idle.len(),
        inline.len()
    );
}
