//! The `tripwire` detector: any contact with a trap port or a trap host.
//!
//! Trap ports are services nobody here offers to the outside (telnet,
//! portmapper, MSRPC, NetBIOS, SMB, MS-SQL, MySQL, RDP...); trap hosts are
//! addresses nothing legitimate talks to. A contact is a packet that starts
//! something — a TCP SYN without ACK, a UDP datagram, an ICMP/ICMPv6 echo
//! request — seen in a capture or in a firewall line with a NEW or DROP
//! prefix, or a [`TripwireHit`] from one of tripline's own trap listeners.
//! Replies are never contacts.
//!
//! Only contacts that come in count: to a trap host from anywhere, or to a
//! trap port on a home address from outside the home networks (home to home
//! too when `internal` is set). A home host connecting out to someone's
//! MySQL is not a tripwire. Listener hits always count: the listener itself
//! is the trap.
//!
//! Each alert carries the source's recent history: a small ring of what else
//! it started towards home and trap addresses. Repeated contacts with the
//! same (destination, protocol, port) within `repeat_window` are counted,
//! not re-alerted. Sources live in an LRU map with a cap; evictions are
//! counted in [`TripwireMetrics`].
//!
//! Alert ids: gid [`GID`]; sid [`SID_TRAP_PORT`], [`SID_TRAP_HOST`],
//! [`SID_LISTENER`]; rev 1.

use crate::detectors::{DetectContext, Detector};
use crate::engine::EngineOutput;
use crate::firewall_conn::classify_prefix;
use crate::lru::LruMap;
use serde_json::{Map, Value, json};
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::Duration;
use tripline_core::{
    Alert, Cidr, Direction, Header, Record, Severity, TcpFlags, Timestamp, Transport, TripwireHit,
    ip_proto,
};

/// Generator id of the tripwire detector's alerts.
pub const GID: u32 = 2002;
/// sid of a contact with a trap port on a home address.
pub const SID_TRAP_PORT: u32 = 1;
/// sid of a contact with a trap host.
pub const SID_TRAP_HOST: u32 = 2;
/// sid of a contact with a trap listener (`tripline trap`).
pub const SID_LISTENER: u32 = 3;

/// The default trap ports (TCP; the same list for UDP where it makes sense).
pub const DEFAULT_TCP_PORTS: &[u16] = &[23, 111, 135, 139, 143, 445, 513, 1433, 3306, 3389];
/// The default UDP trap ports (portmapper, MSRPC, NetBIOS).
pub const DEFAULT_UDP_PORTS: &[u16] = &[111, 135, 137, 138, 139];

/// Per-source alerted targets remembered for repeat suppression.
const MAX_ALERTED_PER_SOURCE: usize = 64;

/// Settings of the tripwire detector (`[tripwire]` in the configuration).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TripwireConfig {
    /// Run the detector.
    pub enabled: bool,
    /// TCP trap ports.
    pub tcp_ports: Vec<u16>,
    /// UDP trap ports.
    pub udp_ports: Vec<u16>,
    /// Trap hosts: any contact with these is an alert.
    pub trap_hosts: Vec<Cidr>,
    /// Also alert on trap-port contacts between home addresses.
    pub internal: bool,
    /// Contacts remembered per source for the alert's history.
    pub history_len: usize,
    /// Most sources remembered; the least recently seen are evicted.
    pub max_sources: usize,
    /// A repeated contact with the same target within this long is counted,
    /// not re-alerted.
    pub repeat_window: Duration,
}

impl Default for TripwireConfig {
    fn default() -> Self {
        TripwireConfig {
            enabled: true,
            tcp_ports: DEFAULT_TCP_PORTS.to_vec(),
            udp_ports: DEFAULT_UDP_PORTS.to_vec(),
            trap_hosts: Vec::new(),
            internal: false,
            history_len: 16,
            max_sources: 65_536,
            repeat_window: Duration::from_secs(600),
        }
    }
}

/// Counters of the tripwire detector.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TripwireMetrics {
    /// Contacts recorded into source histories.
    pub contacts: u64,
    /// Trap contacts (port, host or listener).
    pub trips: u64,
    /// Alerts raised.
    pub alerts: u64,
    /// Trap contacts not re-alerted (same target within the repeat window).
    pub repeats: u64,
    /// Sources evicted because the map was full.
    pub sources_evicted: u64,
}

/// How a contact was seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Via {
    Packet,
    Firewall,
    Listener,
}

impl Via {
    fn as_str(self) -> &'static str {
        match self {
            Via::Packet => "packet",
            Via::Firewall => "firewall",
            Via::Listener => "listener",
        }
    }
}

/// One contact a source started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Touch {
    ts: Timestamp,
    dst: IpAddr,
    protocol: u8,
    /// Destination port, or ICMP type.
    port: u16,
    via: Via,
}

/// What one source did lately.
struct SourceHistory {
    ring: VecDeque<Touch>,
    contacts: u64,
    first_seen: Timestamp,
    /// (destination, protocol, port) alerted, with the last contact time.
    alerted: Vec<((IpAddr, u8, u16), Timestamp)>,
}

/// A set of ports as a bitmap.
#[derive(Clone)]
struct PortSet(Box<[u64; 1024]>);

impl PortSet {
    fn new(ports: &[u16]) -> Self {
        let mut bits = Box::new([0u64; 1024]);
        for &p in ports {
            bits[usize::from(p >> 6)] |= 1 << (p & 63);
        }
        PortSet(bits)
    }

    fn contains(&self, p: u16) -> bool {
        self.0[usize::from(p >> 6)] & (1 << (p & 63)) != 0
    }
}

/// The detector; see the module documentation.
pub struct TripwireDetector {
    config: TripwireConfig,
    tcp: PortSet,
    udp: PortSet,
    sources: LruMap<IpAddr, SourceHistory>,
    metrics: TripwireMetrics,
}

impl TripwireDetector {
    /// A detector with `config`.
    pub fn new(config: TripwireConfig) -> Self {
        TripwireDetector {
            tcp: PortSet::new(&config.tcp_ports),
            udp: PortSet::new(&config.udp_ports),
            sources: LruMap::new(config.max_sources),
            config,
            metrics: TripwireMetrics::default(),
        }
    }

    /// Counters so far.
    pub fn metrics(&self) -> TripwireMetrics {
        TripwireMetrics {
            sources_evicted: self.sources.evicted(),
            ..self.metrics
        }
    }

    fn is_trap_host(&self, ip: IpAddr) -> bool {
        self.config.trap_hosts.iter().any(|c| c.contains(ip))
    }

    fn is_trap_port(&self, protocol: u8, port: u16) -> bool {
        match protocol {
            ip_proto::TCP => self.tcp.contains(port),
            ip_proto::UDP => self.udp.contains(port),
            _ => false,
        }
    }

    /// A packet or firewall line that may start something.
    fn header(
        &mut self,
        ts: Timestamp,
        h: &Header,
        via: Via,
        ctx: &DetectContext<'_>,
        out: &mut dyn EngineOutput,
    ) {
        let Some(port) = starting_port(h) else {
            return;
        };
        let trap_host = self.is_trap_host(h.dst);
        let wanted = match ctx.home_nets.direction(h.src, h.dst) {
            Direction::Inbound => true,
            Direction::Internal => self.config.internal,
            Direction::Outbound | Direction::External => false,
        };
        if !trap_host && !wanted {
            return;
        }
        let touch = Touch {
            ts,
            dst: h.dst,
            protocol: h.protocol,
            port,
            via,
        };
        let sid = if trap_host {
            SID_TRAP_HOST
        } else if self.is_trap_port(h.protocol, port) {
            SID_TRAP_PORT
        } else {
            remember(
                &mut self.sources,
                &mut self.metrics,
                self.config.history_len,
                h.src,
                touch,
            );
            return;
        };
        let sport = match h.transport {
            Transport::Tcp(t) => Some(t.sport),
            Transport::Udp(u) => Some(u.sport),
            _ => None,
        };
        self.trip(h.src, sport, touch, sid, &[], out);
    }

    /// A trap contact: alert unless the same target was alerted lately.
    fn trip(
        &mut self,
        src: IpAddr,
        sport: Option<u16>,
        touch: Touch,
        sid: u32,
        first_bytes: &[u8],
        out: &mut dyn EngineOutput,
    ) {
        self.metrics.trips += 1;
        let window = i64::try_from(self.config.repeat_window.as_nanos()).unwrap_or(i64::MAX);
        let s = remember(
            &mut self.sources,
            &mut self.metrics,
            self.config.history_len,
            src,
            touch,
        );
        let key = (touch.dst, touch.protocol, touch.port);
        let repeat = match s.alerted.iter_mut().find(|(k, _)| *k == key) {
            Some((_, last)) => {
                let recent = touch.ts.0.saturating_sub(last.0) <= window;
                *last = touch.ts;
                recent
            }
            None => {
                if s.alerted.len() >= MAX_ALERTED_PER_SOURCE
                    && let Some(i) = (0..s.alerted.len()).min_by_key(|&i| s.alerted[i].1)
                {
                    s.alerted.swap_remove(i);
                }
                s.alerted.push((key, touch.ts));
                false
            }
        };
        if repeat {
            self.metrics.repeats += 1;
            return;
        }
        self.metrics.alerts += 1;
        let mut d = Map::new();
        let trap = match sid {
            SID_TRAP_HOST => "host",
            SID_TRAP_PORT => "port",
            _ => "listener",
        };
        d.insert("trap".into(), json!(trap));
        d.insert("via".into(), json!(touch.via.as_str()));
        d.insert("source_contacts".into(), json!(s.contacts));
        d.insert("source_first_seen".into(), json!(s.first_seen.to_string()));
        d.insert(
            "history".into(),
            Value::Array(s.ring.iter().map(touch_json).collect()),
        );
        let mut ports: Vec<String> = s
            .ring
            .iter()
            .filter(|t| matches!(t.protocol, ip_proto::TCP | ip_proto::UDP))
            .map(|t| format!("{}/{}", proto_name(t.protocol), t.port))
            .collect();
        ports.sort();
        ports.dedup();
        d.insert("ports_touched".into(), json!(ports));
        if touch.via == Via::Listener {
            d.insert("first_bytes_len".into(), json!(first_bytes.len()));
            d.insert("first_bytes".into(), json!(escape_bytes(first_bytes)));
        }
        let what = match touch.protocol {
            ip_proto::TCP | ip_proto::UDP => {
                format!("{}/{}", proto_name(touch.protocol), touch.port)
            }
            p => format!("{} type {}", proto_name(p), touch.port),
        };
        let msg = match sid {
            SID_TRAP_HOST => format!(
                "TRIPWIRE contact with trap host {} ({what}) by {src}",
                touch.dst
            ),
            SID_TRAP_PORT => format!(
                "TRIPWIRE contact with trap port {what} on {} by {src}",
                touch.dst
            ),
            _ => format!(
                "TRIPWIRE trap listener {what} on {} contacted by {src}",
                touch.dst
            ),
        };
        let port = matches!(touch.protocol, ip_proto::TCP | ip_proto::UDP).then_some(touch.port);
        out.alert(Alert {
            ts: touch.ts,
            detector: "tripwire".into(),
            gid: GID,
            sid,
            rev: 1,
            msg,
            category: "Attempted Information Leak".into(),
            severity: if sid == SID_TRAP_PORT {
                Severity::MEDIUM
            } else {
                Severity::HIGH
            },
            src: Some(src),
            sport,
            dst: Some(touch.dst),
            dport: port,
            protocol: Some(touch.protocol),
            community_id: None,
            details: d,
        });
    }

    fn listener_hit(&mut self, t: &TripwireHit, out: &mut dyn EngineOutput) {
        let touch = Touch {
            ts: t.ts,
            dst: t.dst,
            protocol: t.protocol,
            port: t.dport,
            via: Via::Listener,
        };
        self.trip(
            t.src,
            Some(t.sport),
            touch,
            SID_LISTENER,
            &t.first_bytes,
            out,
        );
    }
}

/// Adds `touch` to the source's ring; returns its history entry.
fn remember<'a>(
    sources: &'a mut LruMap<IpAddr, SourceHistory>,
    metrics: &mut TripwireMetrics,
    history_len: usize,
    src: IpAddr,
    touch: Touch,
) -> &'a mut SourceHistory {
    metrics.contacts += 1;
    let len = history_len.max(1);
    let s = sources.get_or_insert_with(&src, || SourceHistory {
        ring: VecDeque::with_capacity(len.min(64)),
        contacts: 0,
        first_seen: touch.ts,
        alerted: Vec::new(),
    });
    if s.ring.len() >= len {
        s.ring.pop_front();
    }
    s.ring.push_back(touch);
    s.contacts += 1;
    s
}

/// The destination port (or ICMP type) of a header that starts something:
/// TCP SYN without ACK or RST, a UDP datagram, an ICMP/ICMPv6 echo request.
fn starting_port(h: &Header) -> Option<u16> {
    if h.ip.is_fragment_piece() {
        return None;
    }
    match h.transport {
        Transport::Tcp(t) => {
            let f = t.flags;
            (f.has(TcpFlags::SYN) && !f.any(TcpFlags::ACK | TcpFlags::RST)).then_some(t.dport)
        }
        Transport::Udp(u) => Some(u.dport),
        Transport::Icmp(i) => {
            let echo = match h.protocol {
                ip_proto::ICMP => 8,
                ip_proto::ICMPV6 => 128,
                _ => return None,
            };
            (i.icmp_type == echo).then_some(u16::from(i.icmp_type))
        }
        Transport::Other => None,
    }
}

fn proto_name(p: u8) -> &'static str {
    ip_proto::name(p).unwrap_or("ip")
}

fn touch_json(t: &Touch) -> Value {
    json!({
        "ts": t.ts.to_string(),
        "dst": t.dst.to_string(),
        "proto": proto_name(t.protocol),
        "port": t.port,
        "via": t.via.as_str(),
    })
}

/// Printable ASCII as is, everything else as `\xNN`.
fn escape_bytes(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len());
    for &c in b {
        if c.is_ascii_graphic() || c == b' ' {
            if c == b'\\' {
                s.push_str("\\\\");
            } else {
                s.push(char::from(c));
            }
        } else {
            let _ = write!(s, "\\x{c:02x}");
        }
    }
    s
}

impl Detector for TripwireDetector {
    fn name(&self) -> &'static str {
        "tripwire"
    }

    fn as_any_mut(&mut self) -> Option<&mut dyn std::any::Any> {
        Some(self)
    }

    fn on_record(&mut self, rec: &Record<'_>, ctx: &DetectContext<'_>, out: &mut dyn EngineOutput) {
        match rec {
            Record::Packet(p) => self.header(p.ts, &p.header, Via::Packet, ctx, out),
            Record::Firewall(f) if classify_prefix(f.prefix).is_some() => {
                self.header(f.ts, &f.header, Via::Firewall, ctx, out);
            }
            Record::Tripwire(t) => self.listener_hit(t, out),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_set_membership() {
        let s = PortSet::new(&[0, 23, 63, 64, 65535]);
        for p in [0, 23, 63, 64, 65535] {
            assert!(s.contains(p), "{p}");
        }
        for p in [1, 22, 62, 65, 65534] {
            assert!(!s.contains(p), "{p}");
        }
    }

    #[test]
    fn escapes_non_printable() {
        assert_eq!(escape_bytes(b"GET /\r\n\\\x00"), "GET /\\x0d\\x0a\\\\\\x00");
    }
}
