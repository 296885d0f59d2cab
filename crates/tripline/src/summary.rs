//! What `analyze` tells the user at the end: inputs, counts, damage, top talkers.

use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::net::IpAddr;
use tripline_core::{Connection, ErrorKind};

/// Most distinct sources tracked for the top-talker table (bounded memory).
const MAX_TALKERS: usize = 65_536;

/// What the signature detector did, when rules ran.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SignatureSummary {
    /// Rules the matcher ran.
    pub rules: usize,
    /// Worker threads matching (0: the engine's thread).
    pub workers: usize,
    /// Packets, stream chunks and transactions inspected.
    pub inspected: u64,
    /// Bytes the multi-pattern scans read.
    pub scanned_bytes: u64,
    /// HTTP requests and responses parsed from reassembled streams.
    pub http_messages: u64,
}

/// One input's line in the summary.
#[derive(Debug, Clone, Serialize)]
pub struct InputSummary {
    /// Path as given.
    pub path: String,
    /// Detected format, or `skipped`/`unreadable`.
    pub format: String,
    /// Bytes read.
    pub bytes: u64,
    /// Records produced.
    pub records: u64,
    /// Units skipped as not of interest.
    pub skipped: u64,
    /// Damaged units.
    pub errors: u64,
    /// Why it was skipped or unreadable, if it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A source address and how much it talked.
#[derive(Debug, Clone, Serialize)]
pub struct Talker {
    /// The originator address.
    pub addr: IpAddr,
    /// Connections it originated.
    pub connections: u64,
    /// IP bytes in those connections, both ways.
    pub bytes: u64,
}

/// Totals of one run.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    /// Per input.
    pub inputs: Vec<InputSummary>,
    /// Decoded packets.
    pub packets: u64,
    /// Firewall log lines.
    pub firewall_lines: u64,
    /// DNS records (dnsmasq lines and DNS packets).
    pub dns_records: u64,
    /// Auth log records.
    pub auth_records: u64,
    /// Connection records, by direction.
    pub connections: BTreeMap<String, u64>,
    /// Alerts raised.
    pub alerts: u64,
    /// Alerts by detector.
    pub alerts_by_detector: BTreeMap<String, u64>,
    /// Flows ended early because the flow table was full.
    pub flows_evicted: u64,
    /// The signature detector's work, when rules ran.
    pub signatures: Option<SignatureSummary>,
    /// Damaged units by kind.
    pub errors: BTreeMap<String, u64>,
    /// Top sources by connections.
    pub top_talkers: Vec<Talker>,
    /// Wall-clock seconds the run took.
    pub seconds: f64,
    #[serde(skip)]
    talkers: HashMap<IpAddr, (u64, u64)>,
    #[serde(skip)]
    talkers_untracked: u64,
}

impl Summary {
    /// Counts one connection record.
    pub fn add_connection(&mut self, c: &Connection) {
        *self
            .connections
            .entry(c.direction.as_str().to_string())
            .or_default() += 1;
        let bytes = c.orig_bytes + c.resp_bytes;
        if let Some(t) = self.talkers.get_mut(&c.src) {
            t.0 += 1;
            t.1 += bytes;
        } else if self.talkers.len() < MAX_TALKERS {
            self.talkers.insert(c.src, (1, bytes));
        } else {
            self.talkers_untracked += 1;
        }
    }

    /// Counts damaged units.
    pub fn add_errors(&mut self, kind: ErrorKind, n: u64) {
        *self.errors.entry(kind.as_str().to_string()).or_default() += n;
    }

    /// Total connection records.
    pub fn connection_total(&self) -> u64 {
        self.connections.values().sum()
    }

    /// Total damaged units.
    pub fn error_total(&self) -> u64 {
        self.errors.values().sum()
    }

    /// Fills `top_talkers` with the `n` busiest sources.
    pub fn compute_top_talkers(&mut self, n: usize) {
        let mut v: Vec<Talker> = self
            .talkers
            .iter()
            .map(|(a, (c, b))| Talker {
                addr: *a,
                connections: *c,
                bytes: *b,
            })
            .collect();
        v.sort_by(|a, b| {
            b.connections
                .cmp(&a.connections)
                .then(b.bytes.cmp(&a.bytes))
                .then(a.addr.cmp(&b.addr))
        });
        v.truncate(n);
        self.top_talkers = v;
    }

    /// The human-readable summary.
    pub fn render_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "inputs:");
        for i in &self.inputs {
            let _ = write!(
                s,
                "  {:<8} {}  {} bytes, {} records, {} skipped, {} damaged",
                i.format, i.path, i.bytes, i.records, i.skipped, i.errors
            );
            if let Some(n) = &i.note {
                let _ = write!(s, " ({n})");
            }
            s.push('\n');
        }
        let _ = writeln!(s, "packets:          {}", self.packets);
        let _ = writeln!(s, "firewall lines:   {}", self.firewall_lines);
        let _ = writeln!(s, "dns records:      {}", self.dns_records);
        let _ = writeln!(s, "auth records:     {}", self.auth_records);
        let dirs: Vec<String> = self
            .connections
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        let _ = writeln!(
            s,
            "connections:      {} ({})",
            self.connection_total(),
            dirs.join(", ")
        );
        if self.flows_evicted > 0 {
            let _ = writeln!(
                s,
                "flows evicted:    {} (flow table full; raise [flow] max_flows)",
                self.flows_evicted
            );
        }
        if self.alerts_by_detector.is_empty() {
            let _ = writeln!(s, "alerts:           {}", self.alerts);
        } else {
            let by: Vec<String> = self
                .alerts_by_detector
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            let _ = writeln!(s, "alerts:           {} ({})", self.alerts, by.join(", "));
        }
        if let Some(sig) = &self.signatures {
            let threads = match sig.workers {
                0 => "in the engine's thread".to_string(),
                1 => "on 1 worker thread".to_string(),
                n => format!("on {n} worker threads"),
            };
            let _ = writeln!(
                s,
                "signatures:       {} rules {threads}, {} inspections, {:.1} MB scanned, {} HTTP messages",
                sig.rules,
                sig.inspected,
                sig.scanned_bytes as f64 / 1e6,
                sig.http_messages
            );
        }
        if self.errors.is_empty() {
            let _ = writeln!(s, "damaged input:    none");
        } else {
            let errs: Vec<String> = self
                .errors
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            let _ = writeln!(
                s,
                "damaged input:    {} ({})",
                self.error_total(),
                errs.join(", ")
            );
        }
        if !self.top_talkers.is_empty() {
            let _ = writeln!(s, "top talkers (connections originated, bytes):");
            for t in &self.top_talkers {
                let _ = writeln!(
                    s,
                    "  {:<40} {:>8} {:>12}",
                    t.addr.to_string(),
                    t.connections,
                    t.bytes
                );
            }
            if self.talkers_untracked > 0 {
                let _ = writeln!(
                    s,
                    "  ({} connections from sources beyond the first {MAX_TALKERS} not ranked)",
                    self.talkers_untracked
                );
            }
        }
        let _ = writeln!(s, "time:             {:.2} s", self.seconds);
        s
    }
}
