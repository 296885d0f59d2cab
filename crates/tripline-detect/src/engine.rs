//! The engine: owns all detection state and turns records into outputs.
//!
//! Packets feed the flow table (connection records come out when flows end)
//! and, on port 53, the DNS parser (DNS events); firewall lines become
//! connection records; DNS and auth log records pass through; every record
//! then goes to each registered detector. Processing is single-threaded and
//! depends only on the input, so the same input gives the same output.
//!
//! Alerts raised for one event are held until every detector has seen it
//! and then carry the source's passive OS guess (`os_guess` in the details)
//! when the osfp detector has one; see [`held_alerts`].

mod held_alerts;

use crate::community_id::CommunityId;
use crate::detectors::connwatch::{ConnVerdict, Connwatch, ConnwatchConfig};
use crate::detectors::{self, DetectContext, Detector};
use crate::dns_cache::{DnsCache, DnsCacheConfig, DnsCacheMetrics, NameLookup};
use crate::firewall_conn::firewall_connection;
use crate::flow_table::{FlowConfig, FlowMetrics, FlowTable};
use held_alerts::HeldAlerts;
use tripline_core::{
    Alert, AuthLog, Connection, Direction, DnsLog, HomeNets, Packet, Record, Timestamp, Transport,
};
use tripline_ingest::app::dns;

/// The DNS port whose payloads are parsed.
const DNS_PORT: u16 = 53;

/// Where the engine's products go.
pub trait EngineOutput {
    /// A finished connection (or an interim record of a long-lived one).
    fn connection(&mut self, c: Connection);
    /// A DNS event (from a DNS log, or parsed from a packet).
    fn dns(&mut self, d: DnsLog);
    /// A login event from an auth log.
    fn auth(&mut self, a: AuthLog);
    /// An alert raised by a detector.
    fn alert(&mut self, a: Alert);
    /// An alert whose OS guess its detector already decided (attached as
    /// of the packet that raised it, or known to be none): the engine
    /// hands it on without annotating it; outputs take it as
    /// [`EngineOutput::alert`].
    fn alert_annotated(&mut self, a: Alert) {
        self.alert(a);
    }
    /// connwatch's judgement of a connection across the home boundary
    /// (name, allow rule, blocked), just before the connection itself.
    fn connection_verdict(&mut self, _c: &Connection, _v: &ConnVerdict<'_>) {}
}

/// Engine settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EngineConfig {
    /// The home networks (connection direction, detector decisions).
    pub home_nets: HomeNets,
    /// Flow table limits and timeouts.
    pub flow: FlowConfig,
    /// DNS name cache (naming connections).
    pub dns: DnsCacheConfig,
    /// The connwatch detector (allow list, blocked names).
    pub connwatch: ConnwatchConfig,
    /// The scan detector (thresholds, danger levels, state caps).
    pub scan: crate::detectors::scan::ScanConfig,
    /// The tripwire detector (trap ports and hosts, per-source history).
    pub tripwire: crate::detectors::tripwire::TripwireConfig,
    /// The bruteforce detector (auth failure thresholds, state caps).
    pub bruteforce: crate::detectors::bruteforce::BruteforceConfig,
    /// The osfp detector (p0f database path, state caps).
    pub osfp: crate::detectors::osfp::OsfpConfig,
    /// The filter detector (named tcpdump expressions).
    pub filter: crate::detectors::filter::FilterConfig,
    /// The signature detector (Suricata/Snort rules).
    pub signature: crate::detectors::signature::SignatureConfig,
}

/// Per-type counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Packet records.
    pub packets: u64,
    /// Firewall log records.
    pub firewall: u64,
    /// Firewall lines turned into connection records.
    pub firewall_connections: u64,
    /// Firewall lines whose prefix is neither new nor drop.
    pub firewall_other: u64,
    /// DNS log records.
    pub dns_logs: u64,
    /// DNS messages parsed from port-53 packets.
    pub dns_packets: u64,
    /// Port-53 payloads that did not parse as DNS.
    pub dns_packet_errors: u64,
    /// Auth log records.
    pub auth: u64,
    /// Tripwire hits.
    pub tripwire: u64,
    /// Connection records handed to the output.
    pub connections: u64,
}

/// The engine; see the module documentation.
pub struct Engine {
    config: EngineConfig,
    flows: FlowTable,
    dns: DnsCache,
    community_id: CommunityId,
    detectors: Vec<Box<dyn Detector>>,
    /// Where the osfp detector sits in `detectors`, when it runs.
    osfp: Option<usize>,
    /// Alerts of the event being processed (see [`held_alerts`]).
    held: Vec<(Alert, bool)>,
    stats: EngineStats,
    clock: Timestamp,
}

/// Hands a connection to every detector, then (after their alerts) to the
/// output. A connection a home address originated is named from the DNS
/// cache at its start time (see [`crate::dns_cache`]); others are direct.
fn deliver(
    detectors: &mut [Box<dyn Detector>],
    osfp: Option<usize>,
    dns: &mut DnsCache,
    ctx: &DetectContext<'_>,
    stats: &mut EngineStats,
    out: &mut HeldAlerts<'_>,
    c: Connection,
) {
    let names = match c.direction {
        Direction::Outbound | Direction::Internal => dns.lookup(c.src, c.dst, c.start),
        Direction::Inbound | Direction::External => NameLookup::direct(),
    };
    for d in detectors.iter_mut() {
        d.on_named_connection(&c, &names, ctx, out);
    }
    out.release(detectors, osfp);
    stats.connections += 1;
    out.connection(c);
}

impl Engine {
    /// An engine with the registered detectors.
    pub fn new(config: EngineConfig) -> Self {
        let detectors = detectors::registry(&config);
        Self::with_detectors(config, detectors)
    }

    /// An engine with an explicit detector list (tests, embedding).
    pub fn with_detectors(config: EngineConfig, mut detectors: Vec<Box<dyn Detector>>) -> Self {
        let osfp = detectors.iter_mut().position(|d| {
            d.as_any_mut()
                .is_some_and(|a| a.is::<crate::detectors::osfp::OsfpDetector>())
        });
        Engine {
            flows: FlowTable::new(config.flow.clone(), config.home_nets.clone()),
            dns: DnsCache::new(config.dns.clone()),
            community_id: CommunityId::new(config.flow.community_id_seed),
            detectors,
            osfp,
            held: Vec::new(),
            stats: EngineStats::default(),
            clock: Timestamp::ZERO,
            config,
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> EngineStats {
        self.stats
    }

    /// Flow table counters so far.
    pub fn flow_metrics(&self) -> FlowMetrics {
        self.flows.metrics()
    }

    /// DNS name cache counters so far.
    pub fn dns_metrics(&self) -> DnsCacheMetrics {
        self.dns.metrics()
    }

    /// The connwatch detector, when it runs (its "seen" memory is loaded
    /// from and saved to the store around a run).
    pub fn connwatch_mut(&mut self) -> Option<&mut Connwatch> {
        self.detectors
            .iter_mut()
            .filter_map(|d| d.as_any_mut())
            .find_map(|a| a.downcast_mut::<Connwatch>())
    }

    /// The scan detector, when it runs (its counters and memory use).
    pub fn scan_mut(&mut self) -> Option<&mut crate::detectors::scan::ScanDetector> {
        self.detectors
            .iter_mut()
            .filter_map(|d| d.as_any_mut())
            .find_map(|a| a.downcast_mut::<crate::detectors::scan::ScanDetector>())
    }

    /// The signature detector (its counters), when it runs.
    pub fn signature_mut(&mut self) -> Option<&mut crate::detectors::signature::SignatureDetector> {
        self.detectors
            .iter_mut()
            .filter_map(|d| d.as_any_mut())
            .find_map(|a| a.downcast_mut::<crate::detectors::signature::SignatureDetector>())
    }

    /// The osfp detector (OS guesses per source), when enabled.
    pub fn osfp_mut(&mut self) -> Option<&mut crate::detectors::osfp::OsfpDetector> {
        self.detectors
            .iter_mut()
            .filter_map(|d| d.as_any_mut())
            .find_map(|a| a.downcast_mut::<crate::detectors::osfp::OsfpDetector>())
    }

    /// The filter detector (counters, expressions that failed for a link
    /// type), when it runs.
    pub fn filter_mut(&mut self) -> Option<&mut crate::detectors::filter::FilterDetector> {
        self.detectors
            .iter_mut()
            .filter_map(|d| d.as_any_mut())
            .find_map(|a| a.downcast_mut::<crate::detectors::filter::FilterDetector>())
    }

    /// The names of the running detectors, in order.
    pub fn detector_names(&self) -> Vec<&'static str> {
        self.detectors.iter().map(|d| d.name()).collect()
    }

    /// Processes one record.
    pub fn process(&mut self, rec: &Record<'_>, out: &mut dyn EngineOutput) {
        self.clock = self.clock.max(rec.ts());
        let Engine {
            config,
            flows,
            dns,
            community_id,
            detectors,
            osfp,
            held,
            stats,
            clock,
        } = self;
        let osfp = *osfp;
        let ctx = DetectContext {
            home_nets: &config.home_nets,
            now: *clock,
            os: None,
        };
        let out = &mut HeldAlerts::new(out, held);
        match rec {
            Record::Packet(p) => {
                stats.packets += 1;
                // Fragments are accounted once, as the reassembled datagram.
                if !p.header.ip.is_fragment_piece() {
                    flows.observe(p.ts, &p.header, p.payload.len(), p.wire_len, &mut |c| {
                        deliver(detectors, osfp, dns, &ctx, stats, out, c)
                    });
                }
                if let Some(d) = dns_from_packet(p, stats) {
                    dns.learn(&d);
                    for det in detectors.iter_mut() {
                        det.on_dns(&d, &ctx, out);
                    }
                    out.release(detectors, osfp);
                    out.dns(d);
                }
            }
            Record::Firewall(f) => {
                stats.firewall += 1;
                flows.advance(f.ts, &mut |c| {
                    deliver(detectors, osfp, dns, &ctx, stats, out, c)
                });
                match firewall_connection(f, &config.home_nets, community_id) {
                    Some(c) => {
                        stats.firewall_connections += 1;
                        deliver(detectors, osfp, dns, &ctx, stats, out, c);
                    }
                    None => stats.firewall_other += 1,
                }
            }
            Record::Dns(d) => {
                stats.dns_logs += 1;
                dns.learn(d);
                for det in detectors.iter_mut() {
                    det.on_dns(d, &ctx, out);
                }
                out.release(detectors, osfp);
                out.dns(d.clone());
            }
            Record::Auth(a) => {
                stats.auth += 1;
                out.auth(a.clone());
            }
            Record::Tripwire(_) => stats.tripwire += 1,
        }
        for i in 0..detectors.len() {
            // Detectors after osfp may read its guesses as of this record.
            let (seen, rest) = detectors.split_at_mut(i);
            let os = osfp
                .filter(|&o| o < i)
                .and_then(|o| seen[o].as_any_mut())
                .and_then(|a| a.downcast_ref::<crate::detectors::osfp::OsfpDetector>());
            rest[0].on_record(rec, &DetectContext { os, ..ctx }, out);
        }
        out.release(detectors, osfp);
    }

    /// Moves the clock to `now` (capture time) and emits flows that have
    /// timed out by then; for live input during quiet periods.
    pub fn advance(&mut self, now: Timestamp, out: &mut dyn EngineOutput) {
        self.clock = self.clock.max(now);
        let Engine {
            config,
            flows,
            dns,
            detectors,
            osfp,
            held,
            stats,
            clock,
            ..
        } = self;
        let osfp = *osfp;
        let ctx = DetectContext {
            home_nets: &config.home_nets,
            now: *clock,
            os: None,
        };
        let out = &mut HeldAlerts::new(out, held);
        flows.advance(now, &mut |c| {
            deliver(detectors, osfp, dns, &ctx, stats, out, c)
        });
        for det in detectors.iter_mut() {
            det.on_advance(&ctx, out);
        }
        out.release(detectors, osfp);
    }

    /// Live input is waiting for data: detectors hand on what they hold
    /// back (the signature workers' batches); the clock does not move.
    pub fn idle(&mut self, out: &mut dyn EngineOutput) {
        let now = self.clock;
        self.advance(now, out);
    }

    /// End of input: emits every live flow and lets detectors report.
    pub fn finish(&mut self, out: &mut dyn EngineOutput) {
        let Engine {
            config,
            flows,
            dns,
            detectors,
            osfp,
            held,
            stats,
            clock,
            ..
        } = self;
        let osfp = *osfp;
        let ctx = DetectContext {
            home_nets: &config.home_nets,
            now: *clock,
            os: None,
        };
        let out = &mut HeldAlerts::new(out, held);
        flows.flush_all(&mut |c| deliver(detectors, osfp, dns, &ctx, stats, out, c));
        for det in detectors.iter_mut() {
            det.finish(&ctx, out);
        }
        out.release(detectors, osfp);
    }
}

/// Parses a port-53 UDP datagram or TCP segment into a DNS event. TCP
/// segments are parsed only when they start a message (length prefix); a
/// segment that does not is counted as an error.
fn dns_from_packet(p: &Packet<'_>, stats: &mut EngineStats) -> Option<DnsLog> {
    let (is_tcp, sport, dport) = match p.header.transport {
        Transport::Udp(u) => (false, u.sport, u.dport),
        Transport::Tcp(t) => (true, t.sport, t.dport),
        _ => return None,
    };
    if (sport != DNS_PORT && dport != DNS_PORT)
        || p.payload.is_empty()
        || p.header.ip.is_fragment_piece()
    {
        return None;
    }
    let parsed = if is_tcp {
        dns::parse_tcp_message(p.payload)
    } else {
        dns::parse_message(p.payload)
    };
    match parsed {
        Ok(m) => {
            stats.dns_packets += 1;
            Some(m.to_dns_log(p.ts, p.header.src, p.header.dst))
        }
        Err(_) => {
            stats.dns_packet_errors += 1;
            None
        }
    }
}
