//! Alerts of other detectors carry the passive OS guess of their source:
//! on the perimeter capture, the scan and tripwire alerts of the nmap host
//! say what p0f says about it, and no alert gets a guess for a source p0f
//! could not label.

mod common;

use common::{data, home};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use tripline_core::{Alert, AuthLog, Connection, DnsLog, InputError, Record};
use tripline_detect::detectors::osfp::{OS_GUESS_KEY, OsfpConfig};
use tripline_detect::{Engine, EngineConfig, EngineOutput};
use tripline_ingest::RecordSink;
use tripline_ingest::logs::LogOptions;
use tripline_ingest::open::open_input;

/// Every alert, whatever the detector.
#[derive(Default)]
struct AllAlerts(Vec<Alert>);

impl EngineOutput for AllAlerts {
    fn connection(&mut self, _c: Connection) {}
    fn dns(&mut self, _d: DnsLog) {}
    fn auth(&mut self, _a: AuthLog) {}
    fn alert(&mut self, a: Alert) {
        self.0.push(a);
    }
}

struct Feed<'a> {
    engine: &'a mut Engine,
    out: &'a mut AllAlerts,
}

impl RecordSink for Feed<'_> {
    fn record(&mut self, rec: &Record<'_>) {
        self.engine.process(rec, self.out);
    }
    fn error(&mut self, e: InputError) {
        panic!("the lab capture is clean: {e}");
    }
}

fn alerts(rel: &str, osfp_enabled: bool) -> Vec<Alert> {
    let config = EngineConfig {
        home_nets: home(),
        osfp: OsfpConfig {
            enabled: osfp_enabled,
            database: Some(data("p0f/p0f.fp").into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let mut engine = Engine::new(config);
    let mut out = AllAlerts::default();
    let path = data(rel);
    let opts = LogOptions {
        year: Some(2026),
        ..Default::default()
    };
    let mut src = open_input(&path, &opts).unwrap_or_else(|e| panic!("{path}: {e}"));
    src.run(&mut Feed {
        engine: &mut engine,
        out: &mut out,
    });
    engine.finish(&mut out);
    out.0
}

/// The labels `p0f -r` gave each host (client of a SYN, server of a
/// SYN+ACK), in the order first seen; `???` is not a label.
fn p0f_labels() -> BTreeMap<IpAddr, Vec<String>> {
    let text = std::fs::read_to_string(data("scans/p0f_output.txt")).unwrap();
    let mut labels: BTreeMap<IpAddr, Vec<String>> = BTreeMap::new();
    let mut subject: Option<IpAddr> = None;
    let mut tcp_block = false;
    for line in text.lines() {
        if line.starts_with(".-[ ") {
            tcp_block = line.ends_with("(syn) ]-") || line.ends_with("(syn+ack) ]-");
            subject = None;
            continue;
        }
        if !tcp_block {
            continue;
        }
        let Some((key, value)) = line.strip_prefix("| ").and_then(|l| l.split_once('=')) else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        match key {
            "client" | "server" => {
                // `addr/port`; the subject is the sender of the SYN or SYN+ACK,
                // which p0f lists first for its role.
                let addr = value.rsplit_once('/').map_or(value, |(a, _)| a);
                subject = addr.parse().ok();
            }
            "os" | "app" if value != "???" => {
                if let Some(s) = subject {
                    let v = labels.entry(s).or_default();
                    if !v.iter().any(|l| l == value) {
                        v.push(value.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    labels
}

fn guess(a: &Alert) -> Option<&serde_json::Map<String, serde_json::Value>> {
    a.details.get(OS_GUESS_KEY).and_then(|g| g.as_object())
}

#[test]
fn scan_and_tripwire_alerts_of_the_nmap_host_carry_its_p0f_label() {
    let attacker: IpAddr = "10.99.2.66".parse().unwrap();
    let p0f = p0f_labels();
    let attacker_labels = &p0f[&attacker];
    let all = alerts("scans/capture.pcap", true);

    let scans: Vec<&Alert> = all
        .iter()
        .filter(|a| a.detector == "scan" && a.src == Some(attacker))
        .collect();
    assert!(scans.len() >= 10, "{} scan alerts", scans.len());
    for a in &scans {
        let g = guess(a).unwrap_or_else(|| panic!("scan alert without os_guess: {a:?}"));
        let label = g["label"].as_str().unwrap();
        assert!(
            attacker_labels.iter().any(|l| l == label),
            "{label} not among p0f's {attacker_labels:?}"
        );
        assert!(["exact", "generic", "fuzzy"].contains(&g["quality"].as_str().unwrap()));
        assert!(g["distance"].as_u64().is_some());
    }
    // The first scan (S01, nmap -sS) is labelled as p0f labels the
    // attacker's first SYN: the nmap tool, not an OS.
    let first = guess(scans[0]).unwrap();
    assert_eq!(first["label"], attacker_labels[0].as_str());
    assert_eq!(first["kind"], "app");

    let trips: Vec<&Alert> = all
        .iter()
        .filter(|a| a.detector == "tripwire" && a.src == Some(attacker))
        .collect();
    assert!(!trips.is_empty(), "the SYN scans touch trap ports");
    assert!(trips.iter().all(|a| guess(a).is_some()));

    // A guess only ever comes from what p0f could label too, and the osfp
    // detector's own alerts are off by default.
    for a in &all {
        assert_ne!(a.detector, "osfp");
        if let Some(g) = guess(a) {
            let src = a.src.unwrap();
            let label = g["label"].as_str().unwrap();
            let known = p0f.get(&src).is_some_and(|v| v.iter().any(|l| l == label));
            assert!(known, "{} {src}: {label} is not p0f's", a.detector);
        }
    }
}

#[test]
fn without_osfp_alerts_carry_no_guess() {
    let all = alerts("scans/capture.pcap", false);
    assert!(all.iter().any(|a| a.detector == "scan"));
    assert!(all.iter().all(|a| guess(a).is_none()));
    // Same alerts otherwise: osfp only adds details.
    let with: BTreeSet<(String, u32, String)> = alerts("scans/capture.pcap", true)
        .into_iter()
        .map(|a| (a.detector, a.sid, a.msg))
        .collect();
    let without: BTreeSet<(String, u32, String)> = all
        .into_iter()
        .map(|a| (a.detector, a.sid, a.msg))
        .collect();
    assert_eq!(with, without);
}
