//! What counts as a scan probe, and which scan type a probe belongs to.
//!
//! A probe is a packet a scanner sends to learn something: a connection
//! attempt (SYN without ACK), a stealth probe (FIN, XMAS, NULL, ACK,
//! impossible flag combinations), a UDP datagram to a port, an ICMP request,
//! or a packet of another IP protocol. Replies (SYN-ACK, RST, ICMP errors and
//! echo replies) and ordinary connection traffic (anything with ACK set,
//! except a bare ACK probe) are not probes.

use tripline_core::{Header, TcpFields, TcpFlags, Transport, ip_proto};

/// A set of scan types, one bit each.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ScanTypes(pub u16);

impl ScanTypes {
    /// SYN probes (half-open, or of unknown outcome as in firewall logs).
    pub const SYN: u16 = 1 << 0;
    /// Completed TCP handshakes to probed ports (`connect()` scan).
    pub const CONNECT: u16 = 1 << 1;
    /// FIN probes.
    pub const FIN: u16 = 1 << 2;
    /// FIN+PSH+URG ("XMAS") probes.
    pub const XMAS: u16 = 1 << 3;
    /// Probes with no flags at all.
    pub const NULL: u16 = 1 << 4;
    /// Bare ACK probes (firewall rule mapping).
    pub const ACK: u16 = 1 << 5;
    /// SYN+FIN probes.
    pub const SYN_FIN: u16 = 1 << 6;
    /// Other flag combinations no TCP stack sends (e.g. SYN+RST, PSH alone).
    pub const IMPOSSIBLE: u16 = 1 << 7;
    /// nmap OS-detection probes (T3 SYN+FIN+PSH+URG, the ECN SYN with an
    /// urgent pointer but no URG flag).
    pub const OS_FINGERPRINT: u16 = 1 << 8;
    /// UDP datagrams to ports.
    pub const UDP: u16 = 1 << 9;
    /// ICMP / ICMPv6 echo requests.
    pub const PING: u16 = 1 << 10;
    /// Other ICMP requests (timestamp, information, address mask).
    pub const ICMP: u16 = 1 << 11;
    /// Packets of other IP protocols (IP protocol scan, `nmap -sO`).
    pub const IP_PROTO: u16 = 1 << 12;
    /// Probes that arrived as IP fragments (`nmap -f`).
    pub const FRAGMENTED: u16 = 1 << 13;

    /// Names in a fixed order, as they appear in alert details.
    pub const NAMES: [(u16, &'static str); 14] = [
        (Self::SYN, "SYN"),
        (Self::CONNECT, "CONNECT"),
        (Self::FIN, "FIN"),
        (Self::XMAS, "XMAS"),
        (Self::NULL, "NULL"),
        (Self::ACK, "ACK"),
        (Self::SYN_FIN, "SYN_FIN"),
        (Self::IMPOSSIBLE, "IMPOSSIBLE_FLAGS"),
        (Self::OS_FINGERPRINT, "OS_FINGERPRINT"),
        (Self::UDP, "UDP"),
        (Self::PING, "PING"),
        (Self::ICMP, "ICMP"),
        (Self::IP_PROTO, "IP_PROTO"),
        (Self::FRAGMENTED, "FRAGMENTED"),
    ];

    /// True when every type in `other` is in `self`.
    pub fn contains(self, other: ScanTypes) -> bool {
        self.0 & other.0 == other.0
    }

    /// The names of the types present, in [`ScanTypes::NAMES`] order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Self::NAMES
            .into_iter()
            .filter(move |(bit, _)| self.0 & bit != 0)
            .map(|(_, n)| n)
    }

    /// Looks a type up by its name (as printed in alerts).
    pub fn from_name(name: &str) -> Option<ScanTypes> {
        Self::NAMES
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(name))
            .map(|(b, _)| ScanTypes(*b))
    }
}

/// One probe, reduced to what the tracker needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Probe {
    /// The scan types this probe shows.
    pub types: ScanTypes,
    /// IP protocol number.
    pub protocol: u8,
    /// What the probe targets on the host: the TCP/UDP destination port, the
    /// ICMP type, or the protocol number for other protocols.
    pub target: u16,
}

impl Probe {
    /// The key under which sweeps (one target on many hosts) are tracked.
    pub fn sweep_key(&self) -> u32 {
        (self.protocol as u32) << 16 | self.target as u32
    }
}

/// ICMPv4 request types that probe a host.
const ICMP4_ECHO: u8 = 8;
const ICMP4_REQUESTS: [u8; 3] = [13, 15, 17];
/// ICMPv6 echo request.
const ICMP6_ECHO: u8 = 128;

/// Classifies one TCP segment's flags; `None` for replies and connection
/// traffic. `ack_probes` says whether a bare ACK counts.
pub fn tcp_probe_types(tcp: &TcpFields, ack_probes: bool) -> Option<ScanTypes> {
    const F: u8 = TcpFlags::FIN;
    const S: u8 = TcpFlags::SYN;
    const R: u8 = TcpFlags::RST;
    const P: u8 = TcpFlags::PSH;
    const A: u8 = TcpFlags::ACK;
    const U: u8 = TcpFlags::URG;
    let f = tcp.flags.0 & 0x3f;
    let bits = match f {
        S => {
            // nmap's ECN probe: SYN+ECE+CWR with an urgent pointer but no URG.
            let ecn = tcp.flags.has(TcpFlags::ECE | TcpFlags::CWR) && tcp.urgp != 0;
            if ecn {
                ScanTypes::SYN | ScanTypes::OS_FINGERPRINT
            } else {
                ScanTypes::SYN
            }
        }
        0 => ScanTypes::NULL,
        F => ScanTypes::FIN,
        x if x == F | P | U => ScanTypes::XMAS,
        x if x == S | F => ScanTypes::SYN_FIN,
        x if x == S | F | P | U => ScanTypes::IMPOSSIBLE | ScanTypes::OS_FINGERPRINT,
        A if ack_probes => ScanTypes::ACK,
        // Replies, resets and traffic inside connections.
        x if x & A != 0 || x == R => return None,
        // Everything else without ACK: SYN+RST, FIN+RST, PSH or URG alone...
        _ => ScanTypes::IMPOSSIBLE,
    };
    Some(ScanTypes(bits))
}

/// True for a piece of a fragmented datagram (not the reassembled whole).
pub fn is_fragment_piece(h: &Header) -> bool {
    h.ip.mf || h.ip.frag_offset != 0
}

/// True for destinations no scan is aimed at (multicast).
fn is_multicast(h: &Header) -> bool {
    h.dst.is_multicast()
}

/// Classifies a header as a probe. Fragment pieces, multicast, IGMP and
/// non-probing ICMP are `None`; TCP uses [`tcp_probe_types`]. Reassembled
/// fragmented datagrams carry [`ScanTypes::FRAGMENTED`] in addition.
pub fn classify(h: &Header, ack_probes: bool) -> Option<Probe> {
    if is_fragment_piece(h) || is_multicast(h) {
        return None;
    }
    let (types, target) = match &h.transport {
        Transport::Tcp(t) => (tcp_probe_types(t, ack_probes)?, t.dport),
        Transport::Udp(u) => (ScanTypes(ScanTypes::UDP), u.dport),
        Transport::Icmp(i) => {
            let v6 = h.protocol == ip_proto::ICMPV6;
            let bits = match (v6, i.icmp_type) {
                (false, ICMP4_ECHO) | (true, ICMP6_ECHO) => ScanTypes::PING,
                (false, t) if ICMP4_REQUESTS.contains(&t) => ScanTypes::ICMP,
                _ => return None,
            };
            (ScanTypes(bits), i.icmp_type as u16)
        }
        Transport::Other => match h.protocol {
            ip_proto::TCP | ip_proto::UDP | ip_proto::ICMP | ip_proto::ICMPV6 => return None,
            ip_proto::IGMP => return None,
            p => (ScanTypes(ScanTypes::IP_PROTO), p as u16),
        },
    };
    let frag = if h.ip.fragmented {
        ScanTypes::FRAGMENTED
    } else {
        0
    };
    Some(Probe {
        types: ScanTypes(types.0 | frag),
        protocol: h.protocol,
        target,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(flags: u8) -> TcpFields {
        TcpFields {
            flags: TcpFlags(flags),
            dport: 80,
            ..Default::default()
        }
    }

    fn names(t: Option<ScanTypes>) -> Vec<&'static str> {
        t.map(|t| t.names().collect()).unwrap_or_default()
    }

    #[test]
    fn flag_combinations() {
        use TcpFlags as T;
        assert_eq!(names(tcp_probe_types(&tcp(T::SYN), false)), ["SYN"]);
        assert_eq!(names(tcp_probe_types(&tcp(T::FIN), false)), ["FIN"]);
        assert_eq!(
            names(tcp_probe_types(&tcp(T::FIN | T::PSH | T::URG), false)),
            ["XMAS"]
        );
        assert_eq!(names(tcp_probe_types(&tcp(0), false)), ["NULL"]);
        assert_eq!(
            names(tcp_probe_types(&tcp(T::SYN | T::FIN), false)),
            ["SYN_FIN"]
        );
        assert_eq!(
            names(tcp_probe_types(&tcp(T::SYN | T::RST), false)),
            ["IMPOSSIBLE_FLAGS"]
        );
        assert_eq!(
            names(tcp_probe_types(
                &tcp(T::SYN | T::FIN | T::PSH | T::URG),
                false
            )),
            ["IMPOSSIBLE_FLAGS", "OS_FINGERPRINT"]
        );
        // ACK probes only when enabled; replies never.
        assert!(tcp_probe_types(&tcp(T::ACK), false).is_none());
        assert_eq!(names(tcp_probe_types(&tcp(T::ACK), true)), ["ACK"]);
        for reply in [T::SYN | T::ACK, T::RST, T::RST | T::ACK, T::PSH | T::ACK] {
            assert!(tcp_probe_types(&tcp(reply), true).is_none(), "{reply:#x}");
        }
        // ECN SYN with urgent pointer and no URG: nmap OS detection.
        let mut ecn = tcp(T::SYN | T::ECE | T::CWR);
        ecn.urgp = 0xF7F5;
        assert_eq!(
            names(tcp_probe_types(&ecn, false)),
            ["SYN", "OS_FINGERPRINT"]
        );
    }

    #[test]
    fn icmp_and_other_protocols() {
        use tripline_core::IcmpFields;
        let mut h = Header {
            protocol: ip_proto::ICMP,
            transport: Transport::Icmp(IcmpFields {
                icmp_type: 8,
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(names(classify(&h, false).map(|p| p.types)), ["PING"]);
        h.transport = Transport::Icmp(IcmpFields {
            icmp_type: 0,
            ..Default::default()
        });
        assert!(classify(&h, false).is_none(), "echo reply is not a probe");
        h.transport = Transport::Icmp(IcmpFields {
            icmp_type: 13,
            ..Default::default()
        });
        assert_eq!(classify(&h, false).map(|p| p.target), Some(13));
        h.protocol = 47;
        h.transport = Transport::Other;
        assert_eq!(names(classify(&h, false).map(|p| p.types)), ["IP_PROTO"]);
        h.ip.mf = true;
        assert!(classify(&h, false).is_none(), "fragment pieces are skipped");
        h.ip.mf = false;
        h.ip.fragmented = true;
        assert_eq!(
            names(classify(&h, false).map(|p| p.types)),
            ["IP_PROTO", "FRAGMENTED"]
        );
    }
}
