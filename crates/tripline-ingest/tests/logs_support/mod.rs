//! Shared helpers of the `logs_*` integration tests.
#![allow(dead_code)]

use tripline_core::{AuthLog, DnsLog, FirewallLog, Header, InputError, Record, Timestamp};
use tripline_ingest::logs::{LogOptions, LogSource};
use tripline_ingest::{RecordSink, Source, SourceStats};

/// A path under /work/shared/data.
pub fn shared(rel: &str) -> String {
    format!("{}/../../../shared/data/{rel}", env!("CARGO_MANIFEST_DIR"))
}

/// A fixture under tests/data/logs.
pub fn fixture(rel: &str) -> String {
    format!("{}/tests/data/logs/{rel}", env!("CARGO_MANIFEST_DIR"))
}

/// An owned copy of a firewall record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fw {
    pub ts: Timestamp,
    pub header: Header,
    pub prefix: String,
    pub in_iface: String,
    pub out_iface: String,
    pub mac: String,
    pub host: String,
}

impl From<&FirewallLog<'_>> for Fw {
    fn from(f: &FirewallLog<'_>) -> Self {
        Fw {
            ts: f.ts,
            header: f.header,
            prefix: f.prefix.to_string(),
            in_iface: f.in_iface.to_string(),
            out_iface: f.out_iface.to_string(),
            mac: f.mac.to_string(),
            host: f.host.to_string(),
        }
    }
}

/// Everything a source produced.
#[derive(Default, Debug)]
pub struct Collect {
    pub fw: Vec<Fw>,
    pub dns: Vec<DnsLog>,
    pub auth: Vec<AuthLog>,
    pub errors: Vec<InputError>,
    pub progress: Vec<u64>,
}

impl RecordSink for Collect {
    fn record(&mut self, rec: &Record<'_>) {
        match rec {
            Record::Firewall(f) => self.fw.push(f.into()),
            Record::Dns(d) => self.dns.push(d.clone()),
            Record::Auth(a) => self.auth.push(a.clone()),
            other => panic!("unexpected record {}", other.kind()),
        }
    }
    fn error(&mut self, err: InputError) {
        self.errors.push(err);
    }
    fn progress(&mut self, bytes: u64) {
        self.progress.push(bytes);
    }
}

/// Reads a whole file with `opts`.
pub fn read(path: &str, opts: LogOptions) -> (Collect, SourceStats) {
    let mut src = LogSource::open(path, opts).unwrap_or_else(|e| panic!("{e}"));
    let mut sink = Collect::default();
    let stats = src.run(&mut sink);
    (sink, stats)
}

/// Options with the year fixed (the datasets were made in 2026).
pub fn year(y: i32) -> LogOptions {
    LogOptions {
        year: Some(y),
        ..Default::default()
    }
}
