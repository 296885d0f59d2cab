//! `connwatch`: every connection across the home boundary, with the DNS name
//! that preceded it, judged against the allow list.
//!
//! For each connection record whose direction (from `home_net`) is inbound
//! or outbound, the detector takes the name the engine's [`DnsCache`]
//! attached (see [`crate::dns_cache`]: the latest answer to the same client
//! before the connection started, or "direct"), checks the [`AllowList`],
//! notes whether the name was blocked (the resolver answered with a
//! sinkhole address, or the name matches a configured blocked pattern), and
//! hands a [`ConnVerdict`] to the output ([`EngineOutput::connection_verdict`])
//! for `tripline conns` and friends. Internal and external connections are
//! not judged.
//!
//! Connections that are not allowed (or are blocked) are remembered in the
//! [`SeenMemory`] under (device, destination name or address, port,
//! protocol); the first time a combination is seen it raises an alert.
//!
//! # Alerts (gid 9300)
//!
//! | sid | severity | when |
//! |---|---|---|
//! | 1 | low | a home device called a destination not allowed and not seen before |
//! | 2 | medium | an outside address reached a home device (the firewall let it in, or the device answered), not allowed, first time for that (caller, port) |
//! | 3 | low | a home device connected to an address that a blocked name resolved to (first time) |
//! | 4 | medium | a home device looked up blocked names [`ConnwatchConfig::blocked_repeat`] times within [`ConnwatchConfig::blocked_window`] (once per device and name until the window passes quietly) |
//! | 5 | low | a home device looked up a blocked name (first time per device and name) |
//!
//! Alert details carry `name` (or absent for direct), `name_scope`,
//! `chain`, `candidates`, `direction`, `ours`/`theirs` and `blocked`.

use crate::allow_list::{AllowList, ConnFacts, DomainPattern};
use crate::detectors::{DetectContext, Detector};
#[cfg(doc)]
use crate::dns_cache::DnsCache;
use crate::dns_cache::NameLookup;
use crate::engine::EngineOutput;
use crate::firewall_conn::{FirewallVerdict, classify_prefix};
use crate::lru::LruMap;
use crate::seen::{Peer, SeenKey, SeenKind, SeenMemory};
use serde_json::{Map, Value, json};
use std::any::Any;
use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tripline_core::{
    Alert, ConnOrigin, Connection, Direction, DnsEvent, DnsLog, Record, Severity, Timestamp,
    ip_proto,
};

/// True when an inbound connection reached the home host: the firewall let
/// it through (a NEW line), or the host answered (a SYN-ACK for TCP, any
/// reply otherwise). Attempts that were dropped, rejected or unanswered are
/// listed but raise no connwatch alert: they are the scan and tripwire
/// detectors' business, and a port scan would otherwise raise one alert per
/// port.
fn reached_in(c: &Connection) -> bool {
    match &c.origin {
        ConnOrigin::Firewall { prefix, .. } => {
            classify_prefix(prefix) == Some(FirewallVerdict::New)
        }
        ConnOrigin::Capture if c.protocol == ip_proto::TCP => c.history.contains('h'),
        ConnOrigin::Capture => c.resp_packets > 0,
    }
}

/// Generator id of connwatch alerts.
pub const GID: u32 = 9300;
/// New outbound destination.
pub const SID_NEW_OUTBOUND: u32 = 1;
/// Inbound connection not allowed.
pub const SID_INBOUND: u32 = 2;
/// Connection to a blocked name's address.
pub const SID_BLOCKED_CONNECTION: u32 = 3;
/// Repeated lookups of a blocked name.
pub const SID_BLOCKED_REPEAT: u32 = 4;
/// First lookup of a blocked name by a device.
pub const SID_BLOCKED_LOOKUP: u32 = 5;

/// Most blocked lookups remembered per (device, name) for the repeat rule.
const MAX_REPEAT: u32 = 1024;

/// connwatch settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnwatchConfig {
    /// Run the detector. Default on.
    pub enabled: bool,
    /// What is fine and not reported.
    pub allow: AllowList,
    /// Names reported as blocked even when the resolver answered them.
    pub blocked_names: Vec<DomainPattern>,
    /// Addresses and prefixes whose connections are reported as blocked
    /// (what `tripline deny ADDR` writes).
    pub blocked_addresses: Vec<tripline_core::Cidr>,
    /// Blocked lookups by one device of one name that make it "keep
    /// trying" (default 5, at most 1024).
    pub blocked_repeat: u32,
    /// ... within this time (default 300 s).
    pub blocked_window: Duration,
    /// Most (device, destination, port, protocol) entries remembered
    /// (default 262,144).
    pub max_seen: usize,
    /// Most (device, blocked name) trackers for the repeat rule (default 16,384).
    pub max_blocked_trackers: usize,
}

impl Default for ConnwatchConfig {
    fn default() -> Self {
        ConnwatchConfig {
            enabled: true,
            allow: AllowList::default(),
            blocked_names: Vec::new(),
            blocked_addresses: Vec::new(),
            blocked_repeat: 5,
            blocked_window: Duration::from_secs(300),
            max_seen: 262_144,
            max_blocked_trackers: 16_384,
        }
    }
}

/// The judgement of one boundary-crossing connection.
#[derive(Clone, Copy, Debug)]
pub struct ConnVerdict<'a> {
    /// Inbound (they called us) or outbound (we called them).
    pub direction: Direction,
    /// Our (home) address.
    pub ours: IpAddr,
    /// Our port (ICMP: the type).
    pub our_port: u16,
    /// Their address.
    pub theirs: IpAddr,
    /// Their port (ICMP: the type).
    pub their_port: u16,
    /// The name from the DNS cache (outbound only; inbound is always direct).
    pub names: NameLookup<'a>,
    /// The index of the allow rule that matched, if any.
    pub allowed_by: Option<usize>,
    /// The name was blocked by the resolver or matches a blocked pattern.
    pub blocked: bool,
    /// First time this (device, destination, port, protocol) was seen.
    pub first_seen: bool,
}

impl ConnVerdict<'_> {
    /// Reported: not allowed, or blocked.
    pub fn reported(&self) -> bool {
        self.allowed_by.is_none() || self.blocked
    }
}

/// connwatch counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConnwatchStats {
    /// Connections judged (inbound and outbound).
    pub judged: u64,
    /// ... allowed by a rule.
    pub allowed: u64,
    /// ... reported (not allowed, or blocked).
    pub reported: u64,
    /// Inbound attempts that never reached the home host (no alert).
    pub unanswered_inbound: u64,
    /// ... with a DNS name.
    pub named: u64,
    /// Reported connections to blocked names.
    pub blocked_connections: u64,
    /// Blocked lookups seen.
    pub blocked_lookups: u64,
    /// Alerts raised.
    pub alerts: u64,
    /// Blocked-name trackers evicted because the cap was reached.
    pub trackers_evicted: u64,
}

#[derive(Default)]
struct Tries {
    times: VecDeque<Timestamp>,
    reported: bool,
}

/// The detector; see the module documentation.
pub struct Connwatch {
    config: ConnwatchConfig,
    seen: SeenMemory,
    tries: LruMap<(IpAddr, Arc<str>), Tries>,
    stats: ConnwatchStats,
}

impl Connwatch {
    /// A detector with empty memory.
    pub fn new(config: ConnwatchConfig) -> Self {
        Connwatch {
            seen: SeenMemory::new(config.max_seen),
            tries: LruMap::new(config.max_blocked_trackers),
            config,
            stats: ConnwatchStats::default(),
        }
    }

    /// The settings.
    pub fn config(&self) -> &ConnwatchConfig {
        &self.config
    }

    /// The "seen" memory (load before the first record, save after the last).
    pub fn seen_mut(&mut self) -> &mut SeenMemory {
        &mut self.seen
    }

    /// Counters so far.
    pub fn stats(&self) -> ConnwatchStats {
        ConnwatchStats {
            trackers_evicted: self.tries.evicted(),
            ..self.stats
        }
    }

    fn name_blocked(&self, name: &str) -> bool {
        self.config.blocked_names.iter().any(|p| p.matches(name))
    }

    /// Counts a blocked lookup and reports first lookups and repeats.
    fn blocked_lookup(&mut self, d: &DnsLog, client: IpAddr, out: &mut dyn EngineOutput) {
        self.stats.blocked_lookups += 1;
        let name: Arc<str> = Arc::from(d.name.trim_end_matches('.').to_ascii_lowercase());
        let key = SeenKey {
            device: client,
            kind: SeenKind::BlockedLookup,
            peer: Peer::Name(name.clone()),
            port: 53,
            protocol: ip_proto::UDP,
        };
        if self.seen.observe(&key, d.ts) {
            let mut details = Map::new();
            details.insert("name".into(), json!(&*name));
            details.insert("qtype".into(), json!(d.qtype));
            details.insert("blocked".into(), json!(true));
            self.lookup_alert(
                out,
                (d.ts, client),
                (SID_BLOCKED_LOOKUP, Severity::LOW),
                format!("connwatch: {client} looked up blocked name {name}"),
                details,
            );
        }
        let need = self.config.blocked_repeat.clamp(1, MAX_REPEAT) as usize;
        let window = i64::try_from(self.config.blocked_window.as_nanos()).unwrap_or(i64::MAX);
        let t = self
            .tries
            .get_or_insert_with(&(client, name.clone()), Tries::default);
        while t
            .times
            .front()
            .is_some_and(|f| d.ts.0.saturating_sub(f.0) > window)
        {
            t.times.pop_front();
        }
        if t.times.is_empty() {
            t.reported = false;
        }
        if t.times.len() >= need {
            t.times.pop_front();
        }
        t.times.push_back(d.ts);
        if t.times.len() >= need && !t.reported {
            t.reported = true;
            let first = t.times.front().copied().unwrap_or(d.ts);
            let tries = t.times.len();
            let mut details = Map::new();
            details.insert("name".into(), json!(&*name));
            details.insert("tries".into(), json!(tries));
            details.insert("first_try".into(), json!(first.to_string()));
            details.insert(
                "window_seconds".into(),
                json!(self.config.blocked_window.as_secs()),
            );
            self.lookup_alert(
                out,
                (d.ts, client),
                (SID_BLOCKED_REPEAT, Severity::MEDIUM),
                format!("connwatch: {client} keeps trying blocked name {name} ({tries} lookups)"),
                details,
            );
        }
    }

    /// Raises a lookup alert from `client` (no peer: the lookup itself).
    fn lookup_alert(
        &mut self,
        out: &mut dyn EngineOutput,
        (ts, client): (Timestamp, IpAddr),
        (sid, severity): (u32, Severity),
        msg: String,
        details: Map<String, Value>,
    ) {
        self.stats.alerts += 1;
        out.alert(Alert {
            ts,
            detector: "connwatch".into(),
            gid: GID,
            sid,
            rev: 1,
            msg,
            category: "Potential Corporate Privacy Violation".into(),
            severity,
            src: Some(client),
            sport: None,
            dst: None,
            dport: None,
            protocol: Some(ip_proto::UDP),
            community_id: None,
            details,
        });
    }

    fn connection_alert(
        &mut self,
        c: &Connection,
        v: &ConnVerdict<'_>,
        out: &mut dyn EngineOutput,
    ) {
        let proto = ip_proto::name(c.protocol).unwrap_or("ip");
        let shown = v
            .names
            .name()
            .map_or_else(|| v.theirs.to_string(), |n| format!("{n} ({})", v.theirs));
        let (sid, severity, msg) = match v.direction {
            Direction::Inbound => (
                SID_INBOUND,
                Severity::MEDIUM,
                format!(
                    "connwatch: inbound {proto}/{} to {} from {} not allowed",
                    v.our_port, v.ours, v.theirs
                ),
            ),
            _ if v.blocked => (
                SID_BLOCKED_CONNECTION,
                Severity::LOW,
                format!(
                    "connwatch: {} connected to blocked name {shown} {proto}/{}",
                    v.ours, v.their_port
                ),
            ),
            _ => (
                SID_NEW_OUTBOUND,
                Severity::LOW,
                format!(
                    "connwatch: {} called new destination {shown} {proto}/{}",
                    v.ours, v.their_port
                ),
            ),
        };
        let mut details = Map::new();
        details.insert("direction".into(), json!(v.direction.as_str()));
        details.insert("ours".into(), json!(v.ours.to_string()));
        details.insert("theirs".into(), json!(v.theirs.to_string()));
        if let Some(m) = v.names.best() {
            details.insert("name".into(), json!(&*m.info.name));
            details.insert("name_scope".into(), json!(m.scope.as_str()));
            details.insert(
                "chain".into(),
                Value::Array(m.info.chain.iter().map(|l| json!(&**l)).collect()),
            );
        }
        let candidates: Vec<Value> = v.names.candidates().map(|i| json!(&*i.name)).collect();
        if !candidates.is_empty() {
            details.insert("candidates".into(), Value::Array(candidates));
        }
        details.insert("blocked".into(), json!(v.blocked));
        let mut a_details = details;
        a_details.insert("state".into(), json!(c.state.as_str()));
        out.alert(Alert {
            ts: c.start,
            detector: "connwatch".into(),
            gid: GID,
            sid,
            rev: 1,
            msg,
            category: "Potential Corporate Privacy Violation".into(),
            severity,
            src: Some(c.src),
            sport: Some(c.sport),
            dst: Some(c.dst),
            dport: Some(c.dport),
            protocol: Some(c.protocol),
            community_id: Some(c.community_id.clone()),
            details: a_details,
        });
        self.stats.alerts += 1;
    }
}

impl Detector for Connwatch {
    fn name(&self) -> &'static str {
        "connwatch"
    }

    fn on_record(
        &mut self,
        _rec: &Record<'_>,
        _ctx: &DetectContext<'_>,
        _out: &mut dyn EngineOutput,
    ) {
    }

    fn on_named_connection(
        &mut self,
        c: &Connection,
        names: &NameLookup<'_>,
        _ctx: &DetectContext<'_>,
        out: &mut dyn EngineOutput,
    ) {
        let outbound = match c.direction {
            Direction::Outbound => true,
            Direction::Inbound => false,
            Direction::Internal | Direction::External => return,
        };
        if link_scope(c.src) || link_scope(c.dst) {
            return;
        }
        let icmp = c.protocol == ip_proto::ICMP || c.protocol == ip_proto::ICMPV6;
        let (ours, our_port, theirs, their_port) = match (outbound, icmp) {
            // ICMP: both port fields are the type (the originator's `sport`).
            (true, true) => (c.src, c.sport, c.dst, c.sport),
            (false, true) => (c.dst, c.sport, c.src, c.sport),
            (true, false) => (c.src, c.sport, c.dst, c.dport),
            (false, false) => (c.dst, c.dport, c.src, c.sport),
        };
        let names = if outbound {
            *names
        } else {
            NameLookup::direct()
        };
        let name = names.name();
        let chain = names.best().map_or(&[][..], |m| &m.info.chain[..]);
        let blocked = names.best().is_some_and(|m| m.info.blocked)
            || name.is_some_and(|n| self.name_blocked(n))
            || self
                .config
                .blocked_addresses
                .iter()
                .any(|b| b.contains(theirs));
        let facts = ConnFacts {
            direction: c.direction,
            ours,
            our_port,
            theirs,
            their_port,
            protocol: c.protocol,
            name,
            chain,
        };
        let allowed_by = self.config.allow.first_match(&facts);
        self.stats.judged += 1;
        if name.is_some() {
            self.stats.named += 1;
        }
        let mut v = ConnVerdict {
            direction: c.direction,
            ours,
            our_port,
            theirs,
            their_port,
            names,
            allowed_by,
            blocked,
            first_seen: false,
        };
        if v.reported() {
            self.stats.reported += 1;
            if blocked {
                self.stats.blocked_connections += 1;
            }
            let key = SeenKey {
                device: ours,
                kind: if outbound {
                    SeenKind::Outbound
                } else {
                    SeenKind::Inbound
                },
                peer: match names.best() {
                    Some(m) => Peer::Name(m.info.name.clone()),
                    None => Peer::Addr(theirs),
                },
                port: if outbound { their_port } else { our_port },
                protocol: c.protocol,
            };
            if outbound || reached_in(c) {
                v.first_seen = self.seen.observe(&key, c.start);
            } else {
                self.stats.unanswered_inbound += 1;
            }
            if v.first_seen {
                self.connection_alert(c, &v, out);
            }
        } else {
            self.stats.allowed += 1;
        }
        out.connection_verdict(c, &v);
    }

    fn on_dns(&mut self, d: &DnsLog, ctx: &DetectContext<'_>, out: &mut dyn EngineOutput) {
        let answer = matches!(
            d.event,
            DnsEvent::Reply | DnsEvent::Cached | DnsEvent::Config | DnsEvent::Hosts
        );
        let Some(client) = d.client else { return };
        if !answer || d.name.is_empty() || !ctx.home_nets.contains(client) {
            return;
        }
        if d.blocked || self.name_blocked(&d.name) {
            self.blocked_lookup(d, client, out);
        }
    }

    fn as_any_mut(&mut self) -> Option<&mut dyn Any> {
        Some(self)
    }
}

/// Link-local, multicast and broadcast addresses never leave the link (IPv6
/// neighbour discovery, mDNS, DHCP): not a crossing of the home boundary
/// even when `home_net` does not list them.
fn link_scope(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => {
            a.is_link_local() || a.is_multicast() || a.is_broadcast() || a.is_unspecified()
        }
        IpAddr::V6(a) => {
            (a.segments()[0] & 0xffc0) == 0xfe80 || a.is_multicast() || a.is_unspecified()
        }
    }
}

#[cfg(test)]
#[path = "connwatch_tests.rs"]
mod tests;
