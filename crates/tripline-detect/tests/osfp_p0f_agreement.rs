//! Proof: tripline's OS guesses agree with `p0f -r` (p0f 3.09b) on the same
//! capture, and the netfilter log (lines with TCP options) gives the same
//! labels as the capture for the same connections.

use std::collections::HashMap;
use std::net::IpAddr;
use tripline_core::{InputError, Record};
use tripline_detect::detectors::osfp::{OsfpConfig, OsfpDetector};
use tripline_detect::osfp::{Database, Direction, Observed};
use tripline_ingest::RecordSink;
use tripline_ingest::logs::LogOptions;
use tripline_ingest::open::open_input;

fn data(rel: &str) -> String {
    format!("{}/../../../shared/data/{rel}", env!("CARGO_MANIFEST_DIR"))
}

/// (client, client port, server, server port, is SYN+ACK).
type Key = (IpAddr, u16, IpAddr, u16, bool);

fn database() -> Database {
    let text = std::fs::read_to_string(data("p0f/p0f.fp")).unwrap();
    Database::parse(&text).unwrap_or_else(|e| panic!("{e}"))
}

/// Every SYN / SYN+ACK of a file with the label tripline gives it ("???"
/// when nothing fits).
struct Collect {
    det: OsfpDetector,
    seen: Vec<(Key, String)>,
}

impl RecordSink for Collect {
    fn record(&mut self, rec: &Record<'_>) {
        let (ts, h, pay) = match rec {
            Record::Packet(p) => (p.ts, p.header, Some(p.payload.len())),
            Record::Firewall(f) => (f.ts, f.header, None),
            _ => return,
        };
        let Some(o) = Observed::from_header(&h, pay) else {
            return;
        };
        let tcp = *h.tcp().unwrap();
        let key = match o.direction {
            Direction::Request => (h.src, tcp.sport, h.dst, tcp.dport, false),
            Direction::Response => (h.dst, tcp.dport, h.src, tcp.sport, true),
        };
        let label = self
            .det
            .observe(ts, &h, pay)
            .map_or_else(|| "???".to_string(), |(l, _, _)| l.to_string());
        self.seen.push((key, label));
    }
    fn error(&mut self, _e: InputError) {}
}

fn run(path: &str) -> Collect {
    let mut c = Collect {
        det: OsfpDetector::with_database(OsfpConfig::default(), database()),
        seen: Vec::new(),
    };
    let opts = LogOptions {
        year: Some(2026),
        ..Default::default()
    };
    let mut src = open_input(path, &opts).unwrap_or_else(|e| panic!("{path}: {e}"));
    src.run(&mut c);
    c
}

/// p0f's syn / syn+ack observations: key and `os` or `app` value.
fn p0f_observations() -> Vec<(Key, String)> {
    let text = std::fs::read_to_string(data("scans/p0f_output.txt")).unwrap();
    let mut out = Vec::new();
    let mut current: Option<Key> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix(".-[ ") {
            current = None;
            let Some(head) = rest.strip_suffix(" ]-") else {
                continue;
            };
            let (flow, kind) = head.rsplit_once(" (").unwrap();
            let synack = match kind {
                "syn)" => false,
                "syn+ack)" => true,
                _ => continue,
            };
            let (a, b) = flow.split_once(" -> ").unwrap();
            let ep = |s: &str| {
                let (ip, port) = s.rsplit_once('/').unwrap();
                (ip.parse::<IpAddr>().unwrap(), port.parse::<u16>().unwrap())
            };
            let ((ca, cp), (sa, sp)) = (ep(a), ep(b));
            current = Some((ca, cp, sa, sp, synack));
        } else if let (Some(k), Some(v)) = (
            current,
            line.strip_prefix("| os       = ")
                .or_else(|| line.strip_prefix("| app      = ")),
        ) {
            out.push((k, v.to_string()));
            current = None;
        }
    }
    out
}

fn by_key(v: &[(Key, String)]) -> HashMap<Key, HashMap<&str, usize>> {
    let mut m: HashMap<Key, HashMap<&str, usize>> = HashMap::new();
    for (k, l) in v {
        *m.entry(*k).or_default().entry(l.as_str()).or_default() += 1;
    }
    m
}

#[test]
fn whole_p0f_database_parses() {
    let db = database();
    assert_eq!(db.bad_lines, 0);
    // p0f 3.09b reported "Loaded 322 signatures" (TCP + HTTP); the TCP ones:
    let text = std::fs::read_to_string(data("p0f/p0f.fp")).unwrap();
    let mut section = "";
    let mut tcp_sigs = 0;
    for l in text.lines().map(str::trim) {
        if l.starts_with('[') {
            section = l;
        } else if l.starts_with("sig") && section.starts_with("[tcp:") {
            tcp_sigs += 1;
        }
    }
    assert_eq!(db.requests.len() + db.responses.len(), tcp_sigs);
    assert!(tcp_sigs > 100);
}

#[test]
fn capture_labels_agree_with_p0f() {
    let ours = run(&data("scans/capture.pcap"));
    let p0f = p0f_observations();
    let labelled: Vec<(Key, String)> = p0f.iter().filter(|(_, l)| l != "???").cloned().collect();
    assert!(labelled.len() > 6000, "{} labelled", labelled.len());
    let ours_by_key = by_key(&ours.seen);
    let p0f_by_key = by_key(&labelled);
    let mut agree = 0usize;
    let mut disagreements: HashMap<(String, String), usize> = HashMap::new();
    for (k, labels) in &p0f_by_key {
        let mine = ours_by_key.get(k);
        for (label, n) in labels {
            let got = mine.and_then(|m| m.get(label)).copied().unwrap_or(0);
            agree += got.min(*n);
            if got < *n {
                let other = mine
                    .and_then(|m| m.keys().next().map(|s| s.to_string()))
                    .unwrap_or_else(|| "(not seen)".into());
                *disagreements.entry((label.to_string(), other)).or_default() += n - got;
            }
        }
    }
    let rate = agree as f64 / labelled.len() as f64;
    eprintln!(
        "osfp vs p0f: {agree}/{} labelled SYN/SYN+ACK agree ({:.2}%); disagreements: {disagreements:?}",
        labelled.len(),
        rate * 100.0
    );
    // The issue asks for 95%; measured: 100% (6345 of 6345 labelled SYNs:
    // 5201 "NMap SYN scan", 19 "NMap OS detection", 1024 "Linux 2.2.x-3.x",
    // 101 "Linux 2.2.x-3.x (barebone)"). Any drop is a regression.
    assert!(rate >= 0.95, "agreement {rate}");
    assert_eq!(
        agree,
        labelled.len(),
        "agreement fell below the measured 100%"
    );
    // p0f's unlabelled ("???") SYN+ACKs stay unlabelled here too.
    let unknown = p0f.iter().filter(|(k, l)| l == "???" && k.4).count();
    let our_synack_labels = ours.seen.iter().filter(|(k, l)| k.4 && l != "???").count();
    assert!(unknown > 0);
    assert_eq!(our_synack_labels, 0);
}

#[test]
fn firewall_log_labels_match_the_capture() {
    let cap = run(&data("scans/capture.pcap"));
    let log = run(&data("scans/iptables.log"));
    let cap_by_key = by_key(&cap.seen);
    let (mut compared, mut same) = (0usize, 0usize);
    for (k, label) in &log.seen {
        if label == "???" {
            continue;
        }
        let Some(labels) = cap_by_key.get(k) else {
            continue;
        };
        compared += 1;
        if labels.contains_key(label.as_str()) {
            same += 1;
        }
    }
    eprintln!("osfp log vs capture: {same}/{compared} labelled log SYNs agree");
    assert!(compared > 1000, "{compared} compared");
    // Measured: 6432 of 6432 labelled log SYNs agree with the capture.
    assert!(same as f64 >= 0.95 * compared as f64, "{same}/{compared}");
    assert_eq!(same, compared);
    // The attacker's guess from the log alone.
    let attacker: IpAddr = "10.99.2.66".parse().unwrap();
    assert!(log.det.guess(attacker).is_some());
}
