//! Shared helpers of the scan tests: run a file through the engine, collect
//! the scan alerts, read ground-truth files.

#![allow(dead_code)]

use tripline_core::{Alert, AuthLog, Connection, DnsLog, HomeNets, InputError, Record};
use tripline_detect::{Engine, EngineConfig, EngineOutput, ScanConfig};
use tripline_ingest::RecordSink;
use tripline_ingest::logs::LogOptions;
use tripline_ingest::open::open_input;

/// `../shared/data/` seen from this crate.
pub fn data(rel: &str) -> String {
    format!("{}/../../../shared/data/{rel}", env!("CARGO_MANIFEST_DIR"))
}

#[derive(Default)]
struct Alerts(Vec<Alert>);

impl EngineOutput for Alerts {
    fn connection(&mut self, _c: Connection) {}
    fn dns(&mut self, _d: DnsLog) {}
    fn auth(&mut self, _a: AuthLog) {}
    fn alert(&mut self, a: Alert) {
        if a.detector == "scan" {
            self.0.push(a);
        }
    }
}

struct Sink<'a> {
    engine: &'a mut Engine,
    out: &'a mut Alerts,
}

impl RecordSink for Sink<'_> {
    fn record(&mut self, rec: &Record<'_>) {
        self.engine.process(rec, self.out);
    }
    fn error(&mut self, _e: InputError) {}
}

/// The lab's home networks.
pub fn home() -> HomeNets {
    HomeNets::parse(&["10.99.1.0/24", "fd99:1::/64"]).unwrap()
}

/// Runs the files (in order, one engine) and returns the scan alerts.
pub fn run(paths: &[String], scan: ScanConfig, home_nets: HomeNets) -> Vec<Alert> {
    let mut engine = Engine::new(EngineConfig {
        home_nets,
        scan,
        ..Default::default()
    });
    let mut out = Alerts::default();
    let opts = LogOptions {
        year: Some(2026),
        ..Default::default()
    };
    for p in paths {
        let mut src = open_input(p, &opts).unwrap_or_else(|e| panic!("{p}: {e}"));
        src.run(&mut Sink {
            engine: &mut engine,
            out: &mut out,
        });
    }
    engine.finish(&mut out);
    out.0
}

/// A string detail of an alert.
pub fn detail<'a>(a: &'a Alert, key: &str) -> &'a str {
    a.details.get(key).and_then(|v| v.as_str()).unwrap_or("")
}

/// A numeric detail of an alert.
pub fn num(a: &Alert, key: &str) -> u64 {
    a.details.get(key).and_then(|v| v.as_u64()).unwrap_or(0)
}

/// The scan types of an alert.
pub fn types(a: &Alert) -> Vec<String> {
    a.details
        .get("scan_types")
        .and_then(|v| v.as_array())
        .map(|v| {
            v.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// One row of a ground-truth file: id, start and end epoch (seconds).
pub struct Action {
    pub id: String,
    pub start: f64,
    pub end: f64,
}

/// Reads `ground_truth.tsv` (id, start_epoch, end_epoch, ...).
pub fn ground_truth(rel: &str) -> Vec<Action> {
    let text = std::fs::read_to_string(data(rel)).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            Action {
                id: f[0].to_string(),
                start: f[1].parse().unwrap(),
                end: f[2].parse().unwrap(),
            }
        })
        .collect()
}

/// One line per alert, for failure messages and the comparison doc.
pub fn show(alerts: &[Alert]) -> String {
    alerts
        .iter()
        .map(|a| {
            format!(
                "{} sid={} {} types={:?} dl={} hosts={} ports={} udp={} [{}]",
                a.ts,
                a.sid,
                a.src.map(|s| s.to_string()).unwrap_or_default(),
                types(a),
                num(a, "danger_level"),
                num(a, "hosts"),
                detail(a, "ports"),
                detail(a, "udp_ports"),
                a.msg
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}
