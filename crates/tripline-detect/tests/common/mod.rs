//! Shared helpers of the detector tests: run files through the engine,
//! collect one detector's alerts, read ground-truth files.

#![allow(dead_code)]

use std::collections::BTreeMap;
use tripline_core::{Alert, AuthLog, Connection, DnsLog, HomeNets, InputError, Record};
use tripline_detect::{Engine, EngineConfig, EngineOutput, ScanConfig};
use tripline_ingest::RecordSink;
use tripline_ingest::logs::LogOptions;
use tripline_ingest::open::open_input;

/// `../shared/data/` seen from this crate.
pub fn data(rel: &str) -> String {
    format!("{}/../../../shared/data/{rel}", env!("CARGO_MANIFEST_DIR"))
}

/// Collects the alerts of one detector.
pub struct Alerts {
    detector: &'static str,
    /// The alerts, in order.
    pub alerts: Vec<Alert>,
}

impl Alerts {
    /// A collector for `detector`'s alerts.
    pub fn of(detector: &'static str) -> Self {
        Alerts {
            detector,
            alerts: Vec::new(),
        }
    }
}

impl EngineOutput for Alerts {
    fn connection(&mut self, _c: Connection) {}
    fn dns(&mut self, _d: DnsLog) {}
    fn auth(&mut self, _a: AuthLog) {}
    fn alert(&mut self, a: Alert) {
        if a.detector == self.detector {
            self.alerts.push(a);
        }
    }
}

struct Sink<'a> {
    engine: &'a mut Engine,
    out: &'a mut Alerts,
    records: BTreeMap<&'static str, u64>,
}

impl RecordSink for Sink<'_> {
    fn record(&mut self, rec: &Record<'_>) {
        *self.records.entry(rec.kind()).or_default() += 1;
        self.engine.process(rec, self.out);
    }
    fn error(&mut self, _e: InputError) {}
}

/// The lab's home networks.
pub fn home() -> HomeNets {
    HomeNets::parse(&["10.99.1.0/24", "fd99:1::/64"]).unwrap()
}

/// What a run gave: the detector's alerts and, per input, records by kind.
pub struct EngineRun {
    /// Alerts of the chosen detector, in order.
    pub alerts: Vec<Alert>,
    /// Per input (in order), records by `Record::kind()`.
    pub records: Vec<BTreeMap<&'static str, u64>>,
}

/// Runs the files in order through one engine built from `config` and
/// keeps the alerts of `detector`.
pub fn run_engine(paths: &[String], config: EngineConfig, detector: &'static str) -> EngineRun {
    let mut engine = Engine::new(config);
    let mut out = Alerts::of(detector);
    let opts = LogOptions {
        year: Some(2026),
        ..Default::default()
    };
    let mut records = Vec::new();
    for p in paths {
        let mut src = open_input(p, &opts).unwrap_or_else(|e| panic!("{p}: {e}"));
        let mut sink = Sink {
            engine: &mut engine,
            out: &mut out,
            records: BTreeMap::new(),
        };
        src.run(&mut sink);
        records.push(sink.records);
    }
    engine.finish(&mut out);
    EngineRun {
        alerts: out.alerts,
        records,
    }
}

/// Runs the files (in order, one engine) and returns the scan alerts.
pub fn run(paths: &[String], scan: ScanConfig, home_nets: HomeNets) -> Vec<Alert> {
    let config = EngineConfig {
        home_nets,
        scan,
        ..Default::default()
    };
    run_engine(paths, config, "scan").alerts
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
