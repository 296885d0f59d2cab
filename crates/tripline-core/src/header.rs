//! The one header model shared by captured packets and firewall log lines.
//!
//! A netfilter LOG line carries nearly every IP/TCP/UDP/ICMP header field, a
//! captured packet carries the same fields plus payload. Both decode into a
//! [`Header`], so scan detection, header signatures, tripwires, OS
//! fingerprinting and connection accounting run unchanged on either.
//! A `Header` is `Copy` and allocation-free so that decoding stays off the
//! heap on the hot path.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

/// IP protocol numbers tripline gives names to.
pub mod ip_proto {
    /// ICMP for IPv4.
    pub const ICMP: u8 = 1;
    /// IGMP.
    pub const IGMP: u8 = 2;
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
    /// GRE.
    pub const GRE: u8 = 47;
    /// ESP.
    pub const ESP: u8 = 50;
    /// ICMP for IPv6.
    pub const ICMPV6: u8 = 58;
    /// SCTP.
    pub const SCTP: u8 = 132;

    /// The lower-case name used in CSV, EVE (`proto` upper-cased) and reports.
    pub fn name(proto: u8) -> Option<&'static str> {
        Some(match proto {
            ICMP => "icmp",
            IGMP => "igmp",
            TCP => "tcp",
            UDP => "udp",
            GRE => "gre",
            ESP => "esp",
            ICMPV6 => "ipv6-icmp",
            SCTP => "sctp",
            _ => return None,
        })
    }
}

/// Raw IP or TCP option bytes (at most 40 of them), kept inline.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct OptionBytes {
    len: u8,
    data: [u8; 40],
}

impl OptionBytes {
    /// No options.
    pub const EMPTY: OptionBytes = OptionBytes {
        len: 0,
        data: [0; 40],
    };

    /// Copies up to 40 bytes; returns `None` when `bytes` is longer.
    pub fn new(bytes: &[u8]) -> Option<Self> {
        if bytes.len() > 40 {
            return None;
        }
        let mut data = [0u8; 40];
        data[..bytes.len()].copy_from_slice(bytes);
        Some(OptionBytes {
            len: bytes.len() as u8,
            data,
        })
    }

    /// The option bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.data[..self.len as usize]
    }

    /// True when there are no option bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Default for OptionBytes {
    fn default() -> Self {
        Self::EMPTY
    }
}

impl fmt::Debug for OptionBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.as_bytes() {
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

/// TCP flag bits as they sit in byte 13 of the TCP header.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// PSH.
    pub const PSH: u8 = 0x08;
    /// ACK.
    pub const ACK: u8 = 0x10;
    /// URG.
    pub const URG: u8 = 0x20;
    /// ECE.
    pub const ECE: u8 = 0x40;
    /// CWR.
    pub const CWR: u8 = 0x80;

    /// True when every bit in `mask` is set.
    pub fn has(self, mask: u8) -> bool {
        self.0 & mask == mask
    }

    /// True when any bit in `mask` is set.
    pub fn any(self, mask: u8) -> bool {
        self.0 & mask != 0
    }

    /// Just these bits and no others among FIN SYN RST PSH ACK URG.
    pub fn exactly(self, mask: u8) -> bool {
        self.0 & 0x3f == mask
    }
}

/// Letters in tcpdump's order, e.g. `S`, `SA`, `FPU`; `.` for none.
impl fmt::Debug for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [(u8, char); 8] = [
            (TcpFlags::FIN, 'F'),
            (TcpFlags::SYN, 'S'),
            (TcpFlags::RST, 'R'),
            (TcpFlags::PSH, 'P'),
            (TcpFlags::ACK, 'A'),
            (TcpFlags::URG, 'U'),
            (TcpFlags::ECE, 'E'),
            (TcpFlags::CWR, 'W'),
        ];
        if self.0 == 0 {
            return f.write_str(".");
        }
        for (bit, c) in NAMES {
            if self.0 & bit != 0 {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Network-layer fields (IPv4 or IPv6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IpFields {
    /// 4 or 6.
    pub version: u8,
    /// Total length of the IP packet in bytes (IPv4 total length; IPv6
    /// payload length plus the 40-byte fixed header), netfilter's `LEN=`.
    pub total_len: u16,
    /// The whole TOS / traffic-class byte (netfilter `TOS | PREC`, or `TC=`).
    pub tos: u8,
    /// TTL or IPv6 hop limit.
    pub ttl: u8,
    /// IPv4 identification, or the IPv6 fragment header identification.
    pub id: u32,
    /// Don't fragment.
    pub df: bool,
    /// More fragments.
    pub mf: bool,
    /// The reserved ("evil") bit of the IPv4 flags, netfilter's `CE`.
    pub reserved_bit: bool,
    /// Fragment offset in bytes (0 for the first or an unfragmented packet).
    pub frag_offset: u16,
    /// True when this packet is, or was reassembled from, a fragment.
    pub fragmented: bool,
    /// IPv6 flow label (0 for IPv4).
    pub flow_label: u32,
    /// Raw IPv4 options (netfilter's IP `OPT (...)`); empty for IPv6.
    pub options: OptionBytes,
}

impl IpFields {
    /// True for one piece of a fragmented datagram (a fragment as captured),
    /// false for unfragmented packets and for datagrams reassembled from
    /// fragments. Flow accounting counts the reassembled datagram only;
    /// scan detection sees the pieces too.
    pub fn is_fragment_piece(&self) -> bool {
        self.fragmented && (self.mf || self.frag_offset != 0)
    }
}

impl Default for IpFields {
    fn default() -> Self {
        IpFields {
            version: 4,
            total_len: 0,
            tos: 0,
            ttl: 0,
            id: 0,
            df: false,
            mf: false,
            reserved_bit: false,
            frag_offset: 0,
            fragmented: false,
            flow_label: 0,
            options: OptionBytes::EMPTY,
        }
    }
}

/// TCP header fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TcpFields {
    /// Source port.
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// Sequence number (netfilter logs it only with `--log-tcp-sequence`).
    pub seq: Option<u32>,
    /// Acknowledgement number, when known.
    pub ack: Option<u32>,
    /// Receive window.
    pub window: u16,
    /// The flag bits.
    pub flags: TcpFlags,
    /// The reserved bits (netfilter `RES=`), right-aligned.
    pub reserved: u8,
    /// Urgent pointer.
    pub urgp: u16,
    /// Raw TCP option bytes (netfilter's TCP `OPT (...)`).
    pub options: OptionBytes,
}

/// A parsed TCP option, borrowed from [`TcpFields::options`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpOption<'a> {
    /// End of option list (kind 0).
    Eol,
    /// No-operation (kind 1).
    Nop,
    /// Maximum segment size.
    Mss(u16),
    /// Window scale shift.
    WindowScale(u8),
    /// SACK permitted.
    SackPermitted,
    /// SACK blocks (raw pairs of u32 edges).
    Sack(&'a [u8]),
    /// Timestamps: value and echo reply.
    Timestamp(u32, u32),
    /// Any other kind, with its data.
    Other(u8, &'a [u8]),
    /// The option list ended in the middle of an option.
    Malformed,
}

impl TcpFields {
    /// Iterate over the parsed options; stops after a malformed one.
    pub fn parsed_options(&self) -> TcpOptionIter<'_> {
        TcpOptionIter {
            rest: self.options.as_bytes(),
            done: false,
        }
    }

    /// The MSS option, if present.
    pub fn mss(&self) -> Option<u16> {
        self.parsed_options().find_map(|o| {
            if let TcpOption::Mss(v) = o {
                Some(v)
            } else {
                None
            }
        })
    }

    /// The window scale option, if present.
    pub fn window_scale(&self) -> Option<u8> {
        self.parsed_options().find_map(|o| {
            if let TcpOption::WindowScale(v) = o {
                Some(v)
            } else {
                None
            }
        })
    }

    /// True when SACK is permitted.
    pub fn sack_permitted(&self) -> bool {
        self.parsed_options().any(|o| o == TcpOption::SackPermitted)
    }

    /// The timestamps option (value, echo reply), if present.
    pub fn timestamps(&self) -> Option<(u32, u32)> {
        self.parsed_options().find_map(|o| {
            if let TcpOption::Timestamp(a, b) = o {
                Some((a, b))
            } else {
                None
            }
        })
    }
}

/// Iterator over TCP options; see [`TcpFields::parsed_options`].
pub struct TcpOptionIter<'a> {
    rest: &'a [u8],
    done: bool,
}

impl<'a> Iterator for TcpOptionIter<'a> {
    type Item = TcpOption<'a>;

    fn next(&mut self) -> Option<TcpOption<'a>> {
        if self.done || self.rest.is_empty() {
            return None;
        }
        let kind = self.rest[0];
        match kind {
            0 => {
                self.done = true;
                return Some(TcpOption::Eol);
            }
            1 => {
                self.rest = &self.rest[1..];
                return Some(TcpOption::Nop);
            }
            _ => {}
        }
        let len = *self.rest.get(1).unwrap_or(&0) as usize;
        if len < 2 || len > self.rest.len() {
            self.done = true;
            return Some(TcpOption::Malformed);
        }
        let data = &self.rest[2..len];
        self.rest = &self.rest[len..];
        Some(match (kind, data.len()) {
            (2, 2) => TcpOption::Mss(u16::from_be_bytes([data[0], data[1]])),
            (3, 1) => TcpOption::WindowScale(data[0]),
            (4, 0) => TcpOption::SackPermitted,
            (5, _) => TcpOption::Sack(data),
            (8, 8) => TcpOption::Timestamp(
                u32::from_be_bytes([data[0], data[1], data[2], data[3]]),
                u32::from_be_bytes([data[4], data[5], data[6], data[7]]),
            ),
            _ => TcpOption::Other(kind, data),
        })
    }
}

/// UDP header fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct UdpFields {
    /// Source port.
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// The UDP length field (header + payload).
    pub len: u16,
}

/// ICMP or ICMPv6 header fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct IcmpFields {
    /// Type.
    pub icmp_type: u8,
    /// Code.
    pub code: u8,
    /// Echo identifier, for echo request/reply (and other types that carry one).
    pub id: Option<u16>,
    /// Echo sequence number.
    pub seq: Option<u16>,
}

/// The transport layer, when tripline knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Transport {
    /// TCP.
    Tcp(TcpFields),
    /// UDP.
    Udp(UdpFields),
    /// ICMP (IPv4) or ICMPv6, told apart by [`Header::protocol`].
    Icmp(IcmpFields),
    /// Any other protocol, or a non-first fragment whose transport header is
    /// elsewhere.
    #[default]
    Other,
}

/// IP and transport header fields of one packet or one logged packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Header {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// IP protocol number of the transport (after IPv6 extension headers).
    pub protocol: u8,
    /// Network-layer fields.
    pub ip: IpFields,
    /// Transport-layer fields.
    pub transport: Transport,
}

impl Default for Header {
    fn default() -> Self {
        Header {
            src: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            dst: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            protocol: 0,
            ip: IpFields::default(),
            transport: Transport::Other,
        }
    }
}

impl Header {
    /// Source port for TCP/UDP, ICMP type for ICMP (Zeek's convention), else 0.
    pub fn sport(&self) -> u16 {
        match self.transport {
            Transport::Tcp(t) => t.sport,
            Transport::Udp(u) => u.sport,
            Transport::Icmp(i) => i.icmp_type as u16,
            Transport::Other => 0,
        }
    }

    /// Destination port for TCP/UDP, ICMP code for ICMP (Zeek's convention), else 0.
    pub fn dport(&self) -> u16 {
        match self.transport {
            Transport::Tcp(t) => t.dport,
            Transport::Udp(u) => u.dport,
            Transport::Icmp(i) => i.code as u16,
            Transport::Other => 0,
        }
    }

    /// The TCP fields, if this is TCP.
    pub fn tcp(&self) -> Option<&TcpFields> {
        match &self.transport {
            Transport::Tcp(t) => Some(t),
            _ => None,
        }
    }

    /// The UDP fields, if this is UDP.
    pub fn udp(&self) -> Option<&UdpFields> {
        match &self.transport {
            Transport::Udp(u) => Some(u),
            _ => None,
        }
    }

    /// The ICMP fields, if this is ICMP or ICMPv6.
    pub fn icmp(&self) -> Option<&IcmpFields> {
        match &self.transport {
            Transport::Icmp(i) => Some(i),
            _ => None,
        }
    }

    /// Protocol name for display (`tcp`, `udp`, `icmp`, `ipv6-icmp`, or the number).
    pub fn protocol_name(&self) -> String {
        ip_proto::name(self.protocol)
            .map(str::to_string)
            .unwrap_or_else(|| self.protocol.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_syn_options() {
        // Linux SYN: MSS 1460, SACK permitted, timestamps, NOP, wscale 7.
        let raw = [
            2, 4, 5, 180, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
        ];
        let tcp = TcpFields {
            options: OptionBytes::new(&raw).unwrap(),
            ..Default::default()
        };
        assert_eq!(tcp.mss(), Some(1460));
        assert_eq!(tcp.window_scale(), Some(7));
        assert!(tcp.sack_permitted());
        assert_eq!(tcp.timestamps(), Some((1, 0)));
    }

    #[test]
    fn malformed_options_stop_cleanly() {
        for raw in [&[2u8][..], &[2, 0], &[2, 40, 1], &[8, 10, 0]] {
            let tcp = TcpFields {
                options: OptionBytes::new(raw).unwrap(),
                ..Default::default()
            };
            assert_eq!(tcp.parsed_options().last(), Some(TcpOption::Malformed));
        }
    }

    #[test]
    fn flags_print_like_tcpdump() {
        assert_eq!(TcpFlags(TcpFlags::SYN | TcpFlags::ACK).to_string(), "SA");
        assert_eq!(
            TcpFlags(TcpFlags::FIN | TcpFlags::PSH | TcpFlags::URG).to_string(),
            "FPU"
        );
        assert_eq!(TcpFlags(0).to_string(), ".");
        assert!(TcpFlags(TcpFlags::SYN).exactly(TcpFlags::SYN));
        assert!(!TcpFlags(TcpFlags::SYN | TcpFlags::ACK).exactly(TcpFlags::SYN));
    }

    #[test]
    fn option_bytes_cap() {
        assert!(OptionBytes::new(&[0; 41]).is_none());
        assert_eq!(
            format!("{:?}", OptionBytes::new(&[2, 4, 5, 0xb4]).unwrap()),
            "020405B4"
        );
    }
}
