//! The `scan` detector: port scans, port sweeps and ping sweeps per source,
//! named by scan type, rated with psad-compatible danger levels.
//!
//! Fed by packets and firewall log lines alike (one [`Header`] model). A
//! probe ([`classify`]) updates the source's state in the bounded
//! [`ScanTracker`]. A **port scan** is one source probing at least
//! `min_ports` TCP/UDP ports (or `min_protocols` IP protocols) on one host
//! within the scan timeout; a **port sweep** is one source probing the same
//! port (or ICMP type: a **ping sweep** for echo requests) on at least
//! `sweep_min_hosts` hosts within `sweep_window` — "three systems scanned on
//! the same port at the same time". Each is an *episode*: one alert when it
//! crosses its threshold, one more each time it escalates (a scan type is
//! added, or the source's danger level rises), never one per packet.
//!
//! Alert ids: gid [`GID`]; sid 1 port scan, 2 port sweep, 3 ping/ICMP sweep;
//! +100 when a home host scans outside (a compromised machine): 101, 102,
//! 103. `rev` is 1. Details: `episode`, `kind`, `direction`, `scan_types`,
//! `danger_level`, `ports` / `udp_ports` / `protocols` / `icmp_types` as
//! compact ranges, `hosts`, `packets`, `source_packets`, `first_seen`,
//! `last_seen`, `reason` (`threshold` or `escalation`), `ip_version`.

pub mod classify;
pub mod danger;
pub mod handshake;
pub mod sets;
pub mod tracker;

use crate::detectors::{DetectContext, Detector};
use crate::engine::EngineOutput;
use crate::firewall_conn::{FirewallVerdict, classify_prefix};
use classify::{Probe, ScanTypes};
use danger::{DangerOverride, DangerThresholds, override_for};
use handshake::{HandshakeTable, Outcome};
use serde_json::{Map, Value, json};
use std::net::IpAddr;
use std::time::Duration;
use tracker::{Episode, ScanTracker, SourceScan, TrackerLimits, TrackerMetrics};
use tripline_core::{Alert, Direction, Header, Record, Severity, Timestamp, ip_proto};

pub use classify::ScanTypes as Types;

/// Generator id of the scan detector's alerts.
pub const GID: u32 = 2001;
/// sid of a port scan (many ports, one host).
pub const SID_PORT_SCAN: u32 = 1;
/// sid of a port sweep (one port, many hosts).
pub const SID_PORT_SWEEP: u32 = 2;
/// sid of a ping or other ICMP sweep.
pub const SID_ICMP_SWEEP: u32 = 3;
/// Added to the sid when a home host scans outside.
pub const SID_OUTBOUND: u32 = 100;

/// Port ranges listed in an alert before `,...`.
const MAX_RANGES: usize = 64;

/// Settings of the scan detector (`[scan]` in the configuration).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanConfig {
    /// Run the detector.
    pub enabled: bool,
    /// A source silent this long starts a new window (psad `SCAN_TIMEOUT`).
    pub scan_timeout: Duration,
    /// Distinct TCP+UDP ports on one host that make a port scan.
    pub min_ports: u32,
    /// Distinct IP protocols on one host that make a protocol scan.
    pub min_protocols: u32,
    /// Distinct hosts probed on one port that make a sweep...
    pub sweep_min_hosts: usize,
    /// ...when first contacted within this long.
    pub sweep_window: Duration,
    /// Count bare ACK probes (off by default like psad: conntrack artefacts
    /// and mid-connection captures look the same).
    pub detect_ack: bool,
    /// Danger level thresholds.
    pub danger: DangerThresholds,
    /// `auto_dl`: fixed levels per address or prefix; 0 ignores the source.
    pub auto_dl: Vec<DangerOverride>,
    /// Most sources tracked; the least recently seen are evicted.
    pub max_sources: usize,
    /// Memory budget of all scan state in bytes (approximate).
    pub max_memory: usize,
    /// Destination hosts with port sets per source.
    pub max_targets_per_source: usize,
    /// Probed ports/types with host sets per source.
    pub max_sweeps_per_source: usize,
    /// Hosts remembered per source and per sweep.
    pub max_hosts_per_source: usize,
    /// Conversations remembered to tell replies and handshakes apart (captures).
    pub max_handshakes: usize,
}

impl Default for ScanConfig {
    fn default() -> Self {
        ScanConfig {
            enabled: true,
            scan_timeout: Duration::from_secs(3600),
            min_ports: 5,
            min_protocols: 5,
            sweep_min_hosts: 3,
            sweep_window: Duration::from_secs(2),
            detect_ack: false,
            danger: DangerThresholds::default(),
            auto_dl: Vec::new(),
            max_sources: 500_000,
            max_memory: 256 << 20,
            max_targets_per_source: 64,
            max_sweeps_per_source: 64,
            max_hosts_per_source: 1024,
            max_handshakes: 262_144,
        }
    }
}

/// Counters of the scan detector.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScanMetrics {
    /// Records classified as probes.
    pub probes: u64,
    /// Probes from sources with `auto_dl` level 0.
    pub ignored: u64,
    /// Alerts raised on crossing a threshold.
    pub episodes: u64,
    /// Alerts raised on escalation.
    pub escalations: u64,
    /// Conversations forgotten by the handshake table.
    pub handshakes_forgotten: u64,
    /// Tracker counters.
    pub tracker: TrackerMetrics,
}

/// The detector; see the module documentation.
pub struct ScanDetector {
    config: ScanConfig,
    tracker: ScanTracker,
    handshakes: HandshakeTable,
    next_episode: u64,
    metrics: ScanMetrics,
}

impl ScanDetector {
    /// A detector with `config`.
    pub fn new(config: ScanConfig) -> Self {
        let limits = TrackerLimits {
            max_sources: config.max_sources.max(1),
            max_bytes: config.max_memory,
            max_targets: config.max_targets_per_source.max(1),
            max_sweeps: config.max_sweeps_per_source.max(1),
            max_hosts: config.max_hosts_per_source.max(1),
            scan_timeout: config.scan_timeout,
        };
        ScanDetector {
            handshakes: HandshakeTable::new(config.max_handshakes),
            tracker: ScanTracker::new(limits),
            config,
            next_episode: 1,
            metrics: ScanMetrics::default(),
        }
    }

    /// Counters so far.
    pub fn metrics(&self) -> ScanMetrics {
        ScanMetrics {
            tracker: self.tracker.metrics(),
            handshakes_forgotten: self.handshakes.forgotten(),
            ..self.metrics
        }
    }

    /// Approximate bytes of all state (tracker and handshake table).
    pub fn memory_bytes(&self) -> usize {
        self.tracker.metrics().bytes as usize + self.handshakes.bytes()
    }

    /// One probe (already classified) from `h.src` to `h.dst`.
    fn probe(
        &mut self,
        ts: Timestamp,
        h: &Header,
        probe: &Probe,
        ctx: &DetectContext<'_>,
        out: &mut dyn EngineOutput,
    ) {
        if !self.tracker.contains(h.src) && override_for(&self.config.auto_dl, h.src) == Some(0) {
            self.metrics.ignored += 1;
            return;
        }
        self.metrics.probes += 1;
        self.tracker.expire(ts);
        let auto_dl = &self.config.auto_dl;
        let (src, touched) = self
            .tracker
            .observe(ts, h.src, h.dst, probe, || override_for(auto_dl, h.src));
        if src.fixed_level == Some(0) {
            return;
        }
        let level = level_of(&self.config, src);
        if let Some(j) = touched.target {
            check_target(
                &self.config,
                src,
                j,
                level,
                ts,
                ctx,
                &mut self.next_episode,
                &mut self.metrics,
                out,
            );
        }
        if let Some(j) = touched.sweep {
            check_sweep(
                &self.config,
                src,
                j,
                level,
                ts,
                ctx,
                &mut self.next_episode,
                &mut self.metrics,
                out,
            );
        }
    }

    /// A handshake outcome seen in a capture for the conversation `h` belongs to.
    fn outcome(
        &mut self,
        ts: Timestamp,
        h: &Header,
        outcome: Outcome,
        ctx: &DetectContext<'_>,
        out: &mut dyn EngineOutput,
    ) {
        let Some(src) = self.tracker.source_mut(h.src) else {
            return;
        };
        let Some(j) = src.targets.iter().position(|t| t.dst == h.dst) else {
            return;
        };
        match outcome {
            Outcome::HalfOpen => src.targets[j].half_open += 1,
            Outcome::Completed => src.targets[j].completed += 1,
            _ => return,
        }
        if src.fixed_level == Some(0) {
            return;
        }
        let level = level_of(&self.config, src);
        check_target(
            &self.config,
            src,
            j,
            level,
            ts,
            ctx,
            &mut self.next_episode,
            &mut self.metrics,
            out,
        );
    }
}

fn level_of(config: &ScanConfig, s: &SourceScan) -> u8 {
    s.fixed_level
        .unwrap_or_else(|| config.danger.level(s.packets, s.hosts.len() as u64))
}

/// Decides whether an episode starts or escalates; returns the reason.
fn decide(
    episode: &mut Option<Episode>,
    detected: bool,
    types: ScanTypes,
    level: u8,
    next: &mut u64,
) -> Option<(&'static str, u64)> {
    // A detected scan is at least level 1, whatever its packet count.
    let level = level.max(1);
    match episode {
        None if detected => {
            let id = *next;
            *next += 1;
            *episode = Some(Episode {
                id,
                alerted_types: types,
                alerted_level: level,
            });
            Some(("threshold", id))
        }
        Some(e) if !e.alerted_types.contains(types) || level > e.alerted_level => {
            e.alerted_types = ScanTypes(e.alerted_types.0 | types.0);
            e.alerted_level = e.alerted_level.max(level);
            Some(("escalation", e.id))
        }
        _ => None,
    }
}

#[allow(clippy::too_many_arguments)]
fn check_target(
    config: &ScanConfig,
    src: &mut SourceScan,
    j: usize,
    level: u8,
    ts: Timestamp,
    ctx: &DetectContext<'_>,
    next: &mut u64,
    metrics: &mut ScanMetrics,
    out: &mut dyn EngineOutput,
) {
    let level = level.max(1);
    let t = &mut src.targets[j];
    let detected =
        t.tcp.len() + t.udp.len() >= config.min_ports || t.protocols.len() >= config.min_protocols;
    let types = t.reported_types();
    let Some((reason, id)) = decide(&mut t.episode, detected, types, level, next) else {
        return;
    };
    count(metrics, reason);
    let t = &src.targets[j];
    let direction = ctx.home_nets.direction(src.addr, t.dst);
    let outbound = direction == Direction::Outbound;
    let mut d = Map::new();
    common_details(
        &mut d,
        id,
        "port_scan",
        direction,
        types,
        level,
        reason,
        src,
    );
    d.insert("target".into(), json!(t.dst.to_string()));
    if !t.tcp.is_empty() {
        d.insert("ports".into(), json!(t.tcp.ranges(MAX_RANGES)));
    }
    if !t.udp.is_empty() {
        d.insert("udp_ports".into(), json!(t.udp.ranges(MAX_RANGES)));
    }
    if !t.protocols.is_empty() {
        d.insert("protocols".into(), json!(t.protocols.ranges(MAX_RANGES)));
    }
    if !t.icmp_types.is_empty() {
        d.insert("icmp_types".into(), json!(t.icmp_types.ranges(MAX_RANGES)));
    }
    d.insert("port_count".into(), json!(t.tcp.len() + t.udp.len()));
    d.insert("hosts".into(), json!(1));
    d.insert("packets".into(), json!(t.packets));
    d.insert("first_seen".into(), json!(t.first_seen.to_string()));
    d.insert("last_seen".into(), json!(t.last_seen.to_string()));
    let type_list = types.names().collect::<Vec<_>>().join(",");
    let msg = format!(
        "SCAN {}port scan of {} by {}: {} ({} ports, danger level {})",
        if outbound { "OUTBOUND " } else { "" },
        t.dst,
        src.addr,
        type_list,
        t.tcp.len() + t.udp.len() + t.protocols.len(),
        level
    );
    let proto = if t.tcp.is_empty() && !t.udp.is_empty() {
        ip_proto::UDP
    } else if !t.tcp.is_empty() {
        ip_proto::TCP
    } else {
        0
    };
    out.alert(alert(
        ts,
        SID_PORT_SCAN,
        outbound,
        level,
        msg,
        src.addr,
        Some(t.dst),
        None,
        (proto != 0).then_some(proto),
        d,
    ));
}

#[allow(clippy::too_many_arguments)]
fn check_sweep(
    config: &ScanConfig,
    src: &mut SourceScan,
    j: usize,
    level: u8,
    ts: Timestamp,
    ctx: &DetectContext<'_>,
    next: &mut u64,
    metrics: &mut ScanMetrics,
    out: &mut dyn EngineOutput,
) {
    let level = level.max(1);
    let w = &mut src.sweeps[j];
    let detected = w.burst(config.sweep_min_hosts, config.sweep_window);
    let types = w.types;
    let Some((reason, id)) = decide(&mut w.episode, detected, types, level, next) else {
        return;
    };
    count(metrics, reason);
    let w = &src.sweeps[j];
    let first = w.sample.first().copied().unwrap_or(src.addr);
    let direction = ctx.home_nets.direction(src.addr, first);
    let outbound = direction == Direction::Outbound;
    let icmp = matches!(w.protocol(), ip_proto::ICMP | ip_proto::ICMPV6);
    let mut d = Map::new();
    let kind = if icmp { "icmp_sweep" } else { "port_sweep" };
    common_details(&mut d, id, kind, direction, types, level, reason, src);
    let target = match w.protocol() {
        ip_proto::TCP => format!("tcp/{}", w.target()),
        ip_proto::UDP => format!("udp/{}", w.target()),
        ip_proto::ICMP | ip_proto::ICMPV6 => format!("icmp type {}", w.target()),
        p => format!("protocol {p}"),
    };
    d.insert("swept".into(), json!(target));
    d.insert("hosts".into(), json!(w.hosts.len()));
    d.insert(
        "host_sample".into(),
        Value::Array(w.sample.iter().map(|h| json!(h.to_string())).collect()),
    );
    d.insert("packets".into(), json!(w.packets));
    d.insert("first_seen".into(), json!(w.first_seen.to_string()));
    d.insert("last_seen".into(), json!(w.last_seen.to_string()));
    let what = if types.contains(ScanTypes(ScanTypes::PING)) {
        "ping sweep"
    } else if icmp {
        "ICMP sweep"
    } else {
        "port sweep"
    };
    let msg = format!(
        "SCAN {}{what} of {target} by {}: {} ({} hosts, danger level {level})",
        if outbound { "OUTBOUND " } else { "" },
        src.addr,
        types.names().collect::<Vec<_>>().join(","),
        w.hosts.len(),
    );
    let sid = if icmp { SID_ICMP_SWEEP } else { SID_PORT_SWEEP };
    let dport =
        (!icmp && matches!(w.protocol(), ip_proto::TCP | ip_proto::UDP)).then_some(w.target());
    out.alert(alert(
        ts,
        sid,
        outbound,
        level,
        msg,
        src.addr,
        None,
        dport,
        Some(w.protocol()),
        d,
    ));
}

fn count(metrics: &mut ScanMetrics, reason: &str) {
    if reason == "threshold" {
        metrics.episodes += 1;
    } else {
        metrics.escalations += 1;
    }
}

#[allow(clippy::too_many_arguments)]
fn common_details(
    d: &mut Map<String, Value>,
    id: u64,
    kind: &str,
    direction: Direction,
    types: ScanTypes,
    level: u8,
    reason: &str,
    src: &SourceScan,
) {
    d.insert("episode".into(), json!(id));
    d.insert("kind".into(), json!(kind));
    d.insert("direction".into(), json!(direction.as_str()));
    d.insert(
        "scan_types".into(),
        Value::Array(types.names().map(|n| json!(n)).collect()),
    );
    d.insert("danger_level".into(), json!(level));
    d.insert("reason".into(), json!(reason));
    d.insert("source_packets".into(), json!(src.packets));
    d.insert("source_hosts".into(), json!(src.hosts.len()));
    d.insert(
        "ip_version".into(),
        json!(if src.addr.is_ipv4() { 4 } else { 6 }),
    );
}

/// Severity from the danger level: 4-5 high, 3 medium, 1-2 low; a home
/// host scanning outside is at least medium.
fn severity(level: u8, outbound: bool) -> Severity {
    let s = match level {
        4.. => Severity::HIGH,
        3 => Severity::MEDIUM,
        _ => Severity::LOW,
    };
    if outbound { s.min(Severity::MEDIUM) } else { s }
}

#[allow(clippy::too_many_arguments)]
fn alert(
    ts: Timestamp,
    sid: u32,
    outbound: bool,
    level: u8,
    msg: String,
    src: IpAddr,
    dst: Option<IpAddr>,
    dport: Option<u16>,
    protocol: Option<u8>,
    details: Map<String, Value>,
) -> Alert {
    Alert {
        ts,
        detector: "scan".into(),
        gid: GID,
        sid: sid + if outbound { SID_OUTBOUND } else { 0 },
        rev: 1,
        msg,
        category: "Attempted Information Leak".into(),
        severity: severity(level, outbound),
        src: Some(src),
        sport: None,
        dst,
        dport,
        protocol,
        community_id: None,
        details,
    }
}

impl Detector for ScanDetector {
    fn name(&self) -> &'static str {
        "scan"
    }

    fn as_any_mut(&mut self) -> Option<&mut dyn std::any::Any> {
        Some(self)
    }

    fn on_record(&mut self, rec: &Record<'_>, ctx: &DetectContext<'_>, out: &mut dyn EngineOutput) {
        match rec {
            Record::Packet(p) => {
                let h = &p.header;
                let outcome = self.handshakes.observe(h);
                match outcome {
                    Outcome::Reply => return,
                    Outcome::HalfOpen | Outcome::Completed => {
                        self.outcome(p.ts, h, outcome, ctx, out);
                        return;
                    }
                    _ => {}
                }
                // A bare ACK is a probe only outside any conversation seen.
                let ack_probes =
                    self.config.detect_ack && outcome == Outcome::Stray && p.payload.is_empty();
                if let Some(probe) = classify::classify(h, ack_probes) {
                    self.probe(p.ts, h, &probe, ctx, out);
                }
            }
            Record::Firewall(f) => {
                if classify_prefix(f.prefix).is_none() {
                    return;
                }
                // A bare ACK counts only when the firewall dropped it.
                let dropped = classify_prefix(f.prefix) == Some(FirewallVerdict::Dropped);
                if let Some(probe) =
                    classify::classify(&f.header, self.config.detect_ack && dropped)
                {
                    self.probe(f.ts, &f.header, &probe, ctx, out);
                }
            }
            _ => {}
        }
    }
}
