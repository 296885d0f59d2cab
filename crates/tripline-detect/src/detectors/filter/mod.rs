//! The `filter` detector: the analyst's named tcpdump expressions, run on
//! every captured packet.
//!
//! Analysts keep "bad events" lists of tcpdump filters (SYN+FIN, LAND,
//! ICMP address-mask requests, outbound SMB...). Each filter is compiled by
//! libpcap, lazily for each link type met (see [`CompiledFilter`]), and run
//! on the captured frame exactly as tcpdump would run it, so a filter
//! matches the same packets here as under `tcpdump -r`. Firewall log lines
//! have no frame and are not filtered; a datagram reassembled from
//! fragments is not a captured frame either (its pieces were filtered when
//! they were captured) and is skipped, so match counts equal tcpdump's.
//!
//! Noise is bounded: matches are aggregated per (filter, source,
//! destination, destination port) over `window`, and one alert per key and
//! window is raised when the window closes (or at the end of the input, or
//! early when the aggregation table is full), carrying the match count and
//! the first and last match times. The table holds at most `max_keys`
//! entries; early flushes are counted in [`FilterMetrics`].
//!
//! Alert ids: gid [`GID`]; sid derived from the filter name by [`sid_for`]
//! (stable when the list is reordered); rev 1.

mod list;
mod program;

pub use list::{
    MAX_EXPRESSION_LEN, MAX_FILTERS, MAX_NAME_LEN, NamedFilter, load_filter_file, parse_filter_list,
};
pub use program::{CompiledFilter, MAX_LINKTYPES, dlt_for};

use crate::detectors::{DetectContext, Detector};
use crate::engine::EngineOutput;
use foldhash::HashMap;
use serde_json::{Map, json};
use std::any::Any;
use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::Duration;
use tripline_core::{Alert, Header, Packet, Record, Severity, Timestamp, Transport};

/// Generator id of the filter detector's alerts (scan 2001, tripwire 2002,
/// bruteforce 2003).
pub const GID: u32 = 2004;
/// `LINKTYPE_RAW`: the link type of a datagram reassembled from fragments.
const RAW_IP: u32 = 101;

/// Settings of the filter detector (`[filter]` in the configuration).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterConfig {
    /// Run the detector (it does nothing without filters).
    pub enabled: bool,
    /// The named expressions, in order.
    pub filters: Vec<NamedFilter>,
    /// Matches of one (filter, source, destination, port) within this long
    /// make one alert.
    pub window: Duration,
    /// Most aggregation keys held at once; the oldest is alerted early to
    /// make room.
    pub max_keys: usize,
    /// Severity of the alerts.
    pub severity: Severity,
}

impl Default for FilterConfig {
    fn default() -> Self {
        FilterConfig {
            enabled: true,
            filters: Vec::new(),
            window: Duration::from_secs(60),
            max_keys: 65_536,
            severity: Severity::MEDIUM,
        }
    }
}

/// Counters of the filter detector.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FilterMetrics {
    /// Packets the filters ran on.
    pub packets: u64,
    /// Reassembled datagrams skipped (not captured frames).
    pub reassembled_skipped: u64,
    /// Filter matches.
    pub matches: u64,
    /// Alerts raised.
    pub alerts: u64,
    /// Keys alerted before their window closed because the table was full.
    pub flushed_early: u64,
    /// (filter, packet) pairs not run because the expression does not
    /// compile for the packet's link type.
    pub not_compiled: u64,
}

/// A filter ready to run.
struct Loaded {
    filter: NamedFilter,
    sid: u32,
    program: CompiledFilter,
}

/// What one filter matched between one source and destination (and port).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    filter: u32,
    src: IpAddr,
    dst: IpAddr,
    dport: Option<u16>,
}

/// The matches of one key in the current window.
#[derive(Clone, Copy, Debug)]
struct Tally {
    first: Timestamp,
    last: Timestamp,
    count: u64,
    protocol: u8,
    sport: Option<u16>,
}

/// The filter detector; see the module documentation.
pub struct FilterDetector {
    loaded: Vec<Loaded>,
    window_ns: i64,
    max_keys: usize,
    severity: Severity,
    tallies: HashMap<Key, Tally>,
    /// Keys in the order their windows opened (so also the order they close).
    order: VecDeque<(Timestamp, Key)>,
    metrics: FilterMetrics,
}

/// The sid of the filter called `name`: FNV-1a of the name, folded into
/// 1..2^31 so it fits every sid column. Collisions within one list are
/// resolved by [`FilterDetector::new`] by taking the next free value.
pub fn sid_for(name: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in name.bytes() {
        h ^= b as u32;
        h = h.wrapping_mul(0x0100_0193);
    }
    (h & 0x7fff_ffff).max(1)
}

impl FilterDetector {
    /// Compiles every filter of `config`. Filters libpcap rejects are left
    /// out and returned as messages naming their origin (`FILE:LINE`), the
    /// expression and libpcap's explanation.
    pub fn new(config: FilterConfig) -> (Self, Vec<String>) {
        let mut loaded: Vec<Loaded> = Vec::with_capacity(config.filters.len());
        let mut rejected = Vec::new();
        for f in config.filters {
            if let Err(msg) = list::check(&f.name, &f.expression) {
                rejected.push(format!("{}: {msg}", f.origin));
                continue;
            }
            if loaded.iter().any(|l| l.filter.name == f.name) {
                rejected.push(format!(
                    "{}: filter `{}` is defined twice",
                    f.origin, f.name
                ));
                continue;
            }
            match CompiledFilter::new(&f.expression) {
                Ok(program) => {
                    let mut sid = sid_for(&f.name);
                    while loaded.iter().any(|l| l.sid == sid) {
                        sid = (sid % 0x7fff_ffff) + 1;
                    }
                    loaded.push(Loaded {
                        filter: f,
                        sid,
                        program,
                    });
                }
                Err(msg) => rejected.push(format!("{}: filter `{}`: {msg}", f.origin, f.name)),
            }
        }
        let window_ns = i64::try_from(config.window.as_nanos()).unwrap_or(i64::MAX);
        let detector = FilterDetector {
            loaded,
            window_ns,
            max_keys: config.max_keys.max(1),
            severity: config.severity,
            tallies: HashMap::default(),
            order: VecDeque::new(),
            metrics: FilterMetrics::default(),
        };
        (detector, rejected)
    }

    /// Counters so far.
    pub fn metrics(&self) -> FilterMetrics {
        self.metrics
    }

    /// The loaded filters with their sids, in order.
    pub fn filters(&self) -> impl Iterator<Item = (&NamedFilter, u32)> {
        self.loaded.iter().map(|l| (&l.filter, l.sid))
    }

    /// Expressions that did not compile for a link type met in the input:
    /// (filter name, link type, libpcap's message).
    pub fn link_failures(&self) -> Vec<(&str, u32, &str)> {
        self.loaded
            .iter()
            .flat_map(|l| {
                l.program
                    .failures()
                    .map(move |(lt, msg)| (l.filter.name.as_str(), lt, msg))
            })
            .collect()
    }

    /// Aggregation keys currently held.
    pub fn pending(&self) -> usize {
        self.tallies.len()
    }

    fn on_packet(&mut self, p: &Packet<'_>, out: &mut dyn EngineOutput) {
        let ip = &p.header.ip;
        if p.link.linktype == RAW_IP && ip.fragmented && !ip.mf && ip.frag_offset == 0 {
            self.metrics.reassembled_skipped += 1;
            return;
        }
        self.metrics.packets += 1;
        for i in 0..self.loaded.len() {
            match self.loaded[i].program.matches(p.link.linktype, p.frame) {
                Some(true) => self.matched(i as u32, p.ts, &p.header, out),
                Some(false) => {}
                None => self.metrics.not_compiled += 1,
            }
        }
    }

    fn matched(&mut self, filter: u32, ts: Timestamp, h: &Header, out: &mut dyn EngineOutput) {
        self.metrics.matches += 1;
        let (sport, dport) = match h.transport {
            Transport::Tcp(t) => (Some(t.sport), Some(t.dport)),
            Transport::Udp(u) => (Some(u.sport), Some(u.dport)),
            _ => (None, None),
        };
        let key = Key {
            filter,
            src: h.src,
            dst: h.dst,
            dport,
        };
        if let Some(t) = self.tallies.get_mut(&key) {
            t.count += 1;
            t.last = t.last.max(ts);
            return;
        }
        if self.tallies.len() >= self.max_keys
            && let Some((_, oldest)) = self.order.pop_front()
        {
            self.metrics.flushed_early += 1;
            self.emit(oldest, out);
        }
        self.tallies.insert(
            key,
            Tally {
                first: ts,
                last: ts,
                count: 1,
                protocol: h.protocol,
                sport,
            },
        );
        self.order.push_back((ts.add_nanos(self.window_ns), key));
    }

    /// Alerts every key whose window closed by `now`.
    fn close_windows(&mut self, now: Timestamp, out: &mut dyn EngineOutput) {
        while let Some(&(closes, key)) = self.order.front() {
            if closes > now {
                break;
            }
            self.order.pop_front();
            self.emit(key, out);
        }
    }

    fn emit(&mut self, key: Key, out: &mut dyn EngineOutput) {
        let Some(t) = self.tallies.remove(&key) else {
            return;
        };
        let Some(l) = self.loaded.get(key.filter as usize) else {
            return;
        };
        self.metrics.alerts += 1;
        let mut d = Map::new();
        d.insert("filter".into(), json!(l.filter.name));
        d.insert("expression".into(), json!(l.filter.expression));
        d.insert("origin".into(), json!(l.filter.origin));
        d.insert("count".into(), json!(t.count));
        d.insert("first_seen".into(), json!(t.first.to_string()));
        d.insert("last_seen".into(), json!(t.last.to_string()));
        let times = if t.count == 1 {
            String::new()
        } else {
            format!(" ({} packets)", t.count)
        };
        out.alert(Alert {
            ts: t.first,
            detector: "filter".into(),
            gid: GID,
            sid: l.sid,
            rev: 1,
            msg: format!(
                "FILTER {} matched {} -> {}{times}",
                l.filter.name, key.src, key.dst
            ),
            category: "Potentially Bad Traffic".into(),
            severity: self.severity,
            src: Some(key.src),
            sport: t.sport,
            dst: Some(key.dst),
            dport: key.dport,
            protocol: Some(t.protocol),
            community_id: None,
            details: d,
        });
    }
}

impl Detector for FilterDetector {
    fn name(&self) -> &'static str {
        "filter"
    }

    fn on_record(&mut self, rec: &Record<'_>, ctx: &DetectContext<'_>, out: &mut dyn EngineOutput) {
        if self.loaded.is_empty() {
            return;
        }
        self.close_windows(ctx.now, out);
        if let Record::Packet(p) = rec {
            self.on_packet(p, out);
        }
    }

    fn finish(&mut self, _ctx: &DetectContext<'_>, out: &mut dyn EngineOutput) {
        while let Some((_, key)) = self.order.pop_front() {
            self.emit(key, out);
        }
    }

    fn as_any_mut(&mut self) -> Option<&mut dyn Any> {
        Some(self)
    }
}

#[cfg(test)]
mod tests;
