//! The `Record` stream: what every source yields and the engine consumes.

use crate::{AuthLog, DnsLog, Header, Timestamp};
use std::net::IpAddr;

/// One item of input, in time order within its source.
///
/// Records borrow from the source's buffer (the mmapped capture, the current
/// log line), so a source hands them to a callback rather than returning
/// them: nothing is copied or allocated for a packet or a firewall line.
#[derive(Clone, Debug)]
pub enum Record<'a> {
    /// A decoded packet from a capture file or a live interface.
    Packet(Packet<'a>),
    /// A netfilter LOG line (iptables, ip6tables, nftables, ufw).
    Firewall(FirewallLog<'a>),
    /// A DNS question or answer (dnsmasq log or a DNS packet).
    Dns(DnsLog),
    /// A login attempt from an auth log (sshd).
    Auth(AuthLog),
    /// A contact with one of tripline's own trap listeners.
    Tripwire(TripwireHit),
}

impl Record<'_> {
    /// When the record happened.
    pub fn ts(&self) -> Timestamp {
        match self {
            Record::Packet(p) => p.ts,
            Record::Firewall(f) => f.ts,
            Record::Dns(d) => d.ts,
            Record::Auth(a) => a.ts,
            Record::Tripwire(t) => t.ts,
        }
    }

    /// The IP/transport header, for records that have one.
    pub fn header(&self) -> Option<&Header> {
        match self {
            Record::Packet(p) => Some(&p.header),
            Record::Firewall(f) => Some(&f.header),
            _ => None,
        }
    }

    /// A short name of the record kind, for counters and messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Record::Packet(_) => "packet",
            Record::Firewall(_) => "firewall",
            Record::Dns(_) => "dns",
            Record::Auth(_) => "auth",
            Record::Tripwire(_) => "tripwire",
        }
    }
}

/// Link-layer facts that survive decoding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkInfo {
    /// pcapng interface index (0 for pcap files and live capture).
    pub interface: u32,
    /// The `LINKTYPE_*` value of [`Packet::frame`] (1 Ethernet, 101 raw IP,
    /// 113 Linux SLL, ...), as libpcap filters need it.
    pub linktype: u32,
    /// Outermost 802.1Q VLAN id, if tagged.
    pub vlan: Option<u16>,
    /// Source MAC address, for Ethernet frames.
    pub src_mac: Option<[u8; 6]>,
    /// Destination MAC address, for Ethernet frames.
    pub dst_mac: Option<[u8; 6]>,
    /// The frame's number in its capture file, from 1 (Suricata's
    /// `pcap_cnt`); 0 when not known (live capture).
    pub frame_number: u64,
}

/// A decoded IP packet.
#[derive(Clone, Debug)]
pub struct Packet<'a> {
    /// Capture time.
    pub ts: Timestamp,
    /// IP and transport headers.
    pub header: Header,
    /// Transport payload (after the TCP/UDP/ICMP header), possibly cut short
    /// by the snap length.
    pub payload: &'a [u8],
    /// Length of the frame on the wire.
    pub wire_len: u32,
    /// The captured bytes from the link layer on, as tcpdump filters and
    /// payload printers see them. For a datagram reassembled from fragments
    /// it is the whole IP datagram and `link.linktype` is raw IP (101).
    pub frame: &'a [u8],
    /// Link-layer facts.
    pub link: LinkInfo,
}

/// One netfilter LOG line.
#[derive(Clone, Debug)]
pub struct FirewallLog<'a> {
    /// When the kernel logged it.
    pub ts: Timestamp,
    /// The header fields the line carries.
    pub header: Header,
    /// The log prefix, trimmed (`NEW`, `DROP`, `[UFW BLOCK]`, ...).
    pub prefix: &'a str,
    /// `IN=` interface (empty when the packet was locally generated).
    pub in_iface: &'a str,
    /// `OUT=` interface (empty when the packet was for this host).
    pub out_iface: &'a str,
    /// `MAC=` as logged (destination, source, ethertype), possibly empty.
    pub mac: &'a str,
    /// Host name from the syslog envelope, possibly empty.
    pub host: &'a str,
}

/// A contact recorded by a trap listener (`tripline trap`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TripwireHit {
    /// When the contact was accepted.
    pub ts: Timestamp,
    /// Who connected.
    pub src: IpAddr,
    /// Their source port.
    pub sport: u16,
    /// Our listening address.
    pub dst: IpAddr,
    /// Our trap port.
    pub dport: u16,
    /// `ip_proto::TCP` or `ip_proto::UDP`.
    pub protocol: u8,
    /// The first bytes the peer sent, if any (bounded by the listener).
    pub first_bytes: Vec<u8>,
}
