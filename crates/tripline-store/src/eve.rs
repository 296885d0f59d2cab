//! Suricata EVE JSON: `flow`, `dns` and `alert` events, one per line.
//!
//! Field names follow Suricata 8's EVE format and its JSON schema, which
//! forbids unknown top-level and nested keys (`additionalProperties: false`).
//! tripline's own fields therefore go where the schema leaves room:
//! * flows and DNS events: `metadata.flowvars`, as `{"key": "tripline.…",
//!   "value": "…"}` items (Zeek state and history, direction, origin,
//!   firewall prefix; dnsmasq event kind, blocked);
//! * alerts: `alert.context.tripline` = `{"detector": …, "details": {…}}`;
//! * a firewall-logged connection's `IN=` interface: the standard `in_iface`.

use crate::eve_dns::DnsBody;
use serde::{Serialize, Serializer};
use std::fmt;
use std::io::{self, Write};
use std::net::IpAddr;
use tripline_core::{Alert, ConnOrigin, ConnState, Connection, DnsLog, Timestamp, ip_proto};

/// What goes into EVE output besides the standard fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EveOptions {
    /// Sensor name, written as the top-level `host` field.
    pub sensor_name: Option<String>,
    /// Also write DNS answers in Suricata's `grouped` style.
    pub dns_grouped: bool,
    /// Write tripline's extra fields (see the module documentation).
    pub extras: bool,
}

impl Default for EveOptions {
    fn default() -> Self {
        EveOptions {
            sensor_name: None,
            dns_grouped: false,
            extras: true,
        }
    }
}

/// Writes EVE JSON lines to `W` (wrap files in a `BufWriter`).
pub struct EveWriter<W: Write> {
    out: W,
    opts: EveOptions,
    events: u64,
}

/// Suricata's name for an IP protocol (`TCP`, `UDP`, `ICMP`, `IPv6-ICMP`...);
/// `None` when Suricata would print the number.
pub fn eve_proto(proto: u8) -> Option<&'static str> {
    Some(match proto {
        ip_proto::ICMP => "ICMP",
        ip_proto::IGMP => "IGMP",
        ip_proto::TCP => "TCP",
        ip_proto::UDP => "UDP",
        ip_proto::GRE => "GRE",
        ip_proto::ESP => "ESP",
        51 => "AH",
        ip_proto::ICMPV6 => "IPv6-ICMP",
        ip_proto::SCTP => "SCTP",
        _ => return None,
    })
}

/// The largest flow id written: ids stay below 2^51 so tools that read JSON
/// numbers as doubles (jq, JavaScript) keep them exact.
const FLOW_ID_MASK: u64 = (1 << 51) - 1;

fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in *part {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    (h & FLOW_ID_MASK).max(1)
}

fn ip_bytes(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// A stable flow id for a connection: from its Community ID when it has one
/// (so alerts carrying the same Community ID get the same `flow_id`),
/// otherwise from the 5-tuple and start time.
pub fn flow_id(c: &Connection) -> u64 {
    if !c.community_id.is_empty() {
        return flow_id_for_community(&c.community_id);
    }
    fnv1a(&[
        &ip_bytes(c.src),
        &ip_bytes(c.dst),
        &c.sport.to_be_bytes(),
        &c.dport.to_be_bytes(),
        &[c.protocol],
        &c.start.0.to_be_bytes(),
    ])
}

/// The flow id for a Community ID string.
pub fn flow_id_for_community(community_id: &str) -> u64 {
    fnv1a(&[community_id.as_bytes()])
}

/// A timestamp in Suricata's format, written without allocating.
#[derive(Clone, Copy)]
pub(crate) struct EveTime(pub Timestamp);

impl fmt::Display for EveTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, mo, d, h, mi, s) = self.0.to_civil();
        write!(
            f,
            "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:06}+0000",
            self.0.subsec_micros()
        )
    }
}

impl Serialize for EveTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A protocol as Suricata prints it: a name, or the number as a string.
#[derive(Clone, Copy)]
pub(crate) struct Proto(pub u8);

impl Serialize for Proto {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match eve_proto(self.0) {
            Some(name) => s.serialize_str(name),
            None => s.collect_str(&self.0),
        }
    }
}

/// One `metadata.flowvars` item.
#[derive(Serialize)]
pub(crate) struct FlowVar<'a> {
    pub key: &'static str,
    pub value: &'a str,
}

/// The `metadata` object.
#[derive(Serialize)]
pub(crate) struct Metadata<'a> {
    pub flowvars: Vec<FlowVar<'a>>,
}

/// The common envelope of every event.
#[derive(Serialize, Default)]
pub(crate) struct Event<'a> {
    pub timestamp: Option<EveTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow_id: Option<u64>,
    /// The alert's packet number in its capture file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pcap_cnt: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_iface: Option<&'a str>,
    pub event_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_ip: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dest_ip: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dest_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proto: Option<Proto>,
    /// IP version of an alert's packet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_v: Option<u64>,
    /// Where an alert's packet came from (`wire/pcap`, `defrag`,
    /// `stream (flow timeout)`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pkt_src: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icmp_type: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icmp_code: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub community_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<&'a str>,
    /// VLAN ids of the packet (an alert's evidence).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vlan: Option<&'a serde_json::Value>,
    /// Ethernet addresses of the packet (an alert's evidence).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ether: Option<&'a serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_proto: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload_printable: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow: Option<FlowBody>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpBody>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns: Option<DnsBody<'a>>,
    /// An alert's DNS transaction (never set with `dns`).
    #[serde(rename = "dns", skip_serializing_if = "Option::is_none")]
    pub alert_dns: Option<&'a serde_json::Value>,
    /// An alert's HTTP transaction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http: Option<&'a serde_json::Value>,
    /// An alert's TLS handshake.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<&'a serde_json::Value>,
    /// The flow's traffic tags (`id`, `label`) when an alert was raised.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub traffic: Option<&'a serde_json::Value>,
    /// The number of an alert's application transaction in its flow.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tx_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert: Option<AlertBody<'a>>,
    /// 1 when an alert's rule matched the reassembled stream, else 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<u64>,
    /// The link type of an alert's packet (`linktype`, `linktype_name`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packet_info: Option<&'a serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata<'a>>,
}

/// The `flow` object.
#[derive(Serialize)]
pub(crate) struct FlowBody {
    pkts_toserver: u64,
    pkts_toclient: u64,
    bytes_toserver: u64,
    bytes_toclient: u64,
    start: EveTime,
    end: EveTime,
    age: i64,
    state: &'static str,
    reason: &'static str,
}

/// The `tcp` object, with flags derived from the Zeek history.
#[derive(Serialize)]
pub(crate) struct TcpBody {
    tcp_flags: Hex,
    tcp_flags_ts: Hex,
    tcp_flags_tc: Hex,
    #[serde(skip_serializing_if = "is_false")]
    syn: bool,
    #[serde(skip_serializing_if = "is_false")]
    fin: bool,
    #[serde(skip_serializing_if = "is_false")]
    rst: bool,
    #[serde(skip_serializing_if = "is_false")]
    ack: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A flags byte in lower-case hex without `0x`, as Suricata writes it.
#[derive(Clone, Copy)]
struct Hex(u8);

impl Serialize for Hex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{:x}", self.0))
    }
}

/// TCP flag bits seen from each side, read off Zeek history letters
/// (upper case: originator, lower case: responder).
fn flags_from_history(history: &str) -> (u8, u8) {
    const FIN: u8 = 0x01;
    const SYN: u8 = 0x02;
    const RST: u8 = 0x04;
    const ACK: u8 = 0x10;
    let (mut ts, mut tc) = (0u8, 0u8);
    for ch in history.chars() {
        let bits = match ch.to_ascii_lowercase() {
            's' => SYN,
            'h' => SYN | ACK,
            'a' | 'd' => ACK,
            'f' => FIN,
            'r' => RST,
            'i' => SYN | RST,
            _ => 0,
        };
        if ch.is_ascii_uppercase() {
            ts |= bits;
        } else {
            tc |= bits;
        }
    }
    (ts, tc)
}

/// Suricata's flow state for a Zeek state.
fn flow_state(c: &Connection) -> &'static str {
    match c.state {
        ConnState::SF
        | ConnState::REJ
        | ConnState::RSTO
        | ConnState::RSTR
        | ConnState::RSTOS0
        | ConnState::RSTRH
        | ConnState::SH
        | ConnState::SHR => "closed",
        ConnState::S1 | ConnState::S2 | ConnState::S3 => "established",
        ConnState::S0 => "new",
        ConnState::OTH if c.resp_packets > 0 => "established",
        ConnState::OTH => "new",
    }
}

/// True for ICMP and ICMPv6, whose "ports" are type and code.
pub(crate) fn is_icmp(proto: u8) -> bool {
    proto == ip_proto::ICMP || proto == ip_proto::ICMPV6
}

/// The `alert` object.
#[derive(Serialize)]
pub(crate) struct AlertBody<'a> {
    action: &'static str,
    gid: u32,
    signature_id: u32,
    rev: u32,
    signature: &'a str,
    category: &'a str,
    severity: u8,
    /// The rule's `metadata` (key → values), as Suricata writes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<&'a serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    context: Option<AlertContext<'a>>,
}

#[derive(Serialize)]
struct AlertContext<'a> {
    tripline: AlertExtras<'a>,
}

#[derive(Serialize)]
struct AlertExtras<'a> {
    detector: &'a str,
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    details: &'a serde_json::Map<String, serde_json::Value>,
}

impl<W: Write> EveWriter<W> {
    /// A writer with default options.
    pub fn new(out: W) -> Self {
        Self::with_options(out, EveOptions::default())
    }

    /// A writer with `opts`.
    pub fn with_options(out: W, opts: EveOptions) -> Self {
        EveWriter {
            out,
            opts,
            events: 0,
        }
    }

    /// Events written so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    fn emit(out: &mut W, events: &mut u64, ev: &Event<'_>) -> io::Result<()> {
        serde_json::to_writer(&mut *out, ev).map_err(io::Error::other)?;
        out.write_all(b"\n")?;
        *events += 1;
        Ok(())
    }

    /// Writes a `flow` event for a connection.
    pub fn flow(&mut self, c: &Connection) -> io::Result<()> {
        let icmp = is_icmp(c.protocol);
        let has_ports =
            !icmp && matches!(c.protocol, ip_proto::TCP | ip_proto::UDP | ip_proto::SCTP);
        let tcp = (c.protocol == ip_proto::TCP).then(|| {
            let (ts, tc) = flags_from_history(&c.history);
            let all = ts | tc;
            TcpBody {
                tcp_flags: Hex(all),
                tcp_flags_ts: Hex(ts),
                tcp_flags_tc: Hex(tc),
                syn: all & 0x02 != 0,
                fin: all & 0x01 != 0,
                rst: all & 0x04 != 0,
                ack: all & 0x10 != 0,
            }
        });
        let in_iface = match &c.origin {
            ConnOrigin::Firewall { in_iface, .. } if !in_iface.is_empty() => {
                Some(in_iface.as_str())
            }
            _ => None,
        };
        let ev = Event {
            timestamp: Some(EveTime(c.start)),
            flow_id: Some(flow_id(c)),
            in_iface,
            event_type: "flow",
            src_ip: Some(c.src),
            src_port: has_ports.then_some(c.sport),
            dest_ip: Some(c.dst),
            dest_port: has_ports.then_some(c.dport),
            proto: Some(Proto(c.protocol)),
            icmp_type: icmp.then_some(c.sport),
            icmp_code: icmp.then_some(c.dport),
            community_id: Some(c.community_id.as_str()).filter(|s| !s.is_empty()),
            host: self.opts.sensor_name.as_deref(),
            flow: Some(FlowBody {
                pkts_toserver: c.orig_packets,
                pkts_toclient: c.resp_packets,
                bytes_toserver: c.orig_bytes,
                bytes_toclient: c.resp_bytes,
                start: EveTime(c.start),
                end: EveTime(c.end),
                age: (c.end.secs() - c.start.secs()).max(0),
                state: flow_state(c),
                reason: "timeout",
            }),
            tcp,
            metadata: self.opts.extras.then(|| flow_extras(c)),
            ..Event::default()
        };
        Self::emit(&mut self.out, &mut self.events, &ev)
    }

    /// Writes a `dns` event (EVE DNS version 3) for a DNS record.
    pub fn dns(&mut self, d: &DnsLog) -> io::Result<()> {
        let ev = crate::eve_dns::dns_event(d, &self.opts);
        Self::emit(&mut self.out, &mut self.events, &ev)
    }

    /// Writes an `alert` event. Evidence a detector put in the alert's
    /// details under Suricata's names (`pcap_cnt`, `ip_v`, `pkt_src`,
    /// `app_proto`, `payload`, `payload_printable`, `vlan`, `ether`,
    /// `http`, `tls`, `dns`, `traffic`, `tx_id`, `stream`, `packet_info`,
    /// rule `metadata`) is written where Suricata writes it.
    pub fn alert(&mut self, a: &Alert) -> io::Result<()> {
        let icmp = a.protocol.is_some_and(is_icmp);
        let text = |k: &str| a.details.get(k).and_then(serde_json::Value::as_str);
        let array = |k: &str| {
            a.details
                .get(k)
                .filter(|v| v.as_array().is_some_and(|a| !a.is_empty()))
        };
        let object = |k: &str| a.details.get(k).filter(|v| v.is_object());
        let number = |k: &str| a.details.get(k).and_then(serde_json::Value::as_u64);
        let ev = Event {
            timestamp: Some(EveTime(a.ts)),
            flow_id: a
                .community_id
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(flow_id_for_community),
            event_type: "alert",
            src_ip: a.src,
            src_port: a.sport.filter(|_| !icmp),
            dest_ip: a.dst,
            dest_port: a.dport.filter(|_| !icmp),
            proto: a.protocol.map(Proto),
            icmp_type: a.sport.filter(|_| icmp),
            icmp_code: a.dport.filter(|_| icmp),
            community_id: a.community_id.as_deref().filter(|s| !s.is_empty()),
            host: self.opts.sensor_name.as_deref(),
            pcap_cnt: number("pcap_cnt"),
            ip_v: number("ip_v").filter(|v| *v == 4 || *v == 6),
            pkt_src: text("pkt_src"),
            traffic: object("traffic"),
            tx_id: number("tx_id"),
            stream: number("stream").filter(|v| *v <= 1),
            packet_info: object("packet_info"),
            vlan: array("vlan"),
            ether: object("ether"),
            app_proto: text("app_proto"),
            payload: text("payload"),
            payload_printable: text("payload_printable"),
            http: object("http"),
            tls: object("tls"),
            alert_dns: object("dns"),
            alert: Some(AlertBody {
                action: "allowed",
                gid: a.gid,
                signature_id: a.sid,
                rev: a.rev,
                signature: &a.msg,
                category: &a.category,
                severity: a.severity.0,
                metadata: object("metadata"),
                context: self.opts.extras.then_some(AlertContext {
                    tripline: AlertExtras {
                        detector: &a.detector,
                        details: &a.details,
                    },
                }),
            }),
            ..Event::default()
        };
        Self::emit(&mut self.out, &mut self.events, &ev)
    }

    /// Flushes the underlying writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Flushes and returns the underlying writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

fn flow_extras(c: &Connection) -> Metadata<'_> {
    let mut flowvars = vec![
        FlowVar {
            key: "tripline.conn_state",
            value: c.state.as_str(),
        },
        FlowVar {
            key: "tripline.direction",
            value: c.direction.as_str(),
        },
    ];
    if !c.history.is_empty() {
        flowvars.push(FlowVar {
            key: "tripline.history",
            value: &c.history,
        });
    }
    match &c.origin {
        ConnOrigin::Capture => flowvars.push(FlowVar {
            key: "tripline.origin",
            value: "capture",
        }),
        ConnOrigin::Firewall {
            prefix, out_iface, ..
        } => {
            flowvars.push(FlowVar {
                key: "tripline.origin",
                value: "firewall",
            });
            if !prefix.is_empty() {
                flowvars.push(FlowVar {
                    key: "tripline.fw_prefix",
                    value: prefix,
                });
            }
            if !out_iface.is_empty() {
                flowvars.push(FlowVar {
                    key: "tripline.fw_out_iface",
                    value: out_iface,
                });
            }
        }
    }
    Metadata { flowvars }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eve_time_matches_core() {
        for t in [
            Timestamp::from_secs_micros(1_795_349_736, 275_668),
            Timestamp(0),
            Timestamp(-1),
        ] {
            assert_eq!(EveTime(t).to_string(), t.to_eve());
        }
    }

    #[test]
    fn history_flags() {
        assert_eq!(flags_from_history("ShADadFf"), (0x13, 0x13));
        assert_eq!(flags_from_history("Sr"), (0x02, 0x04));
        assert_eq!(flags_from_history(""), (0, 0));
    }

    #[test]
    fn flow_ids_are_stable_and_json_safe() {
        let a = flow_id_for_community("1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
        assert_eq!(a, flow_id_for_community("1:LQU9qZlK+B5F3KDmev6m5PMibrg="));
        assert_ne!(a, flow_id_for_community("1:other"));
        assert!(a > 0 && a <= FLOW_ID_MASK);
    }

    #[test]
    fn proto_names() {
        assert_eq!(eve_proto(58), Some("IPv6-ICMP"));
        assert_eq!(eve_proto(6), Some("TCP"));
        assert_eq!(eve_proto(253), None);
        assert_eq!(serde_json::to_string(&Proto(253)).unwrap(), "\"253\"");
    }
}
