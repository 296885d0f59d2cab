//! Firewall log lines into connection records.
//!
//! A netfilter LOG line is one packet. The lines that start something become
//! one [`Connection`] each: every `NEW` line (the first packet of a conntrack
//! entry; also `ALLOW`/`ACCEPT` prefixes such as `[UFW ALLOW]`) and every
//! drop (`DROP`, `DROP INVALID`, `[UFW BLOCK]`, `REJECT`, `DENY`), since a
//! dropped packet is an attempt. Other prefixes (`[UFW AUDIT]`, custom ones)
//! are not connections.
//!
//! The mapping:
//! * originator = `SRC`/`SPT`, responder = `DST`/`DPT` (ICMP: type and code);
//! * 1 packet and `LEN` bytes from the originator, nothing from the responder;
//!   start = end = the line's time;
//! * state: TCP with SYN and without ACK/FIN/RST → `S0`; any other TCP flag
//!   combination → `OTH`; UDP, ICMP and other protocols → `S0`;
//! * history: the letters the packet earns from the originator (`S`, `H`,
//!   `A`, `D` when `LEN` exceeds the headers and the packet is not a SYN,
//!   `F`, `R`, `Q`, `I`, `W`), as
//!   the flow table would record them;
//! * community id and direction as for captured flows; origin
//!   `ConnOrigin::Firewall { prefix, in_iface, out_iface }`.

use crate::community_id::CommunityId;
use crate::conn_state::ConnTracker;
use tripline_core::{
    ConnOrigin, ConnState, Connection, FirewallLog, Header, HomeNets, TcpFlags, Transport,
};

/// What a firewall log prefix says about the packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FirewallVerdict {
    /// The packet started a new connection and was let through.
    New,
    /// The packet was dropped or rejected.
    Dropped,
}

/// Classifies a LOG prefix (case-insensitive); `None` for prefixes that do
/// not describe a new or dropped packet.
pub fn classify_prefix(prefix: &str) -> Option<FirewallVerdict> {
    let has = |word: &str| {
        prefix
            .as_bytes()
            .windows(word.len())
            .any(|w| w.eq_ignore_ascii_case(word.as_bytes()))
    };
    if has("DROP") || has("BLOCK") || has("REJECT") || has("DENY") {
        Some(FirewallVerdict::Dropped)
    } else if has("NEW") || has("ALLOW") || has("ACCEPT") {
        Some(FirewallVerdict::New)
    } else {
        None
    }
}

/// Transport payload length implied by the logged lengths (IP total length
/// minus the IP and transport headers, options padded to 32 bits).
pub fn payload_len(h: &Header) -> usize {
    let pad4 = |n: usize| n.div_ceil(4) * 4;
    let ip_header = if h.ip.version == 6 {
        40
    } else {
        20 + pad4(h.ip.options.as_bytes().len())
    };
    let l4_header = match &h.transport {
        Transport::Tcp(t) => 20 + pad4(t.options.as_bytes().len()),
        Transport::Udp(_) | Transport::Icmp(_) => 8,
        Transport::Other => 0,
    };
    (h.ip.total_len as usize).saturating_sub(ip_header + l4_header)
}

/// The connection record for one firewall line, or `None` when the prefix
/// is neither a new connection nor a drop.
pub fn firewall_connection(
    fw: &FirewallLog<'_>,
    home_nets: &HomeNets,
    community_id: &CommunityId,
) -> Option<Connection> {
    classify_prefix(fw.prefix)?;
    let h = &fw.header;
    // Without `--log-tcp-options` a SYN's LEN includes options the line
    // does not show, so SYNs are taken to carry no payload (TCP Fast Open
    // data aside, they never do).
    let is_syn = h.tcp().is_some_and(|t| t.flags.has(TcpFlags::SYN));
    let payload = if is_syn { 0 } else { payload_len(h) };
    let mut tracker = ConnTracker::new(h.protocol, false);
    tracker.update(true, h, payload);
    let state = match h.tcp() {
        Some(t)
            if t.flags.0 & (TcpFlags::SYN | TcpFlags::ACK | TcpFlags::FIN | TcpFlags::RST)
                == TcpFlags::SYN =>
        {
            ConnState::S0
        }
        Some(_) => ConnState::OTH,
        None => ConnState::S0,
    };
    Some(Connection {
        start: fw.ts,
        end: fw.ts,
        src: h.src,
        sport: h.sport(),
        dst: h.dst,
        dport: h.dport(),
        protocol: h.protocol,
        orig_packets: 1,
        orig_bytes: h.ip.total_len as u64,
        resp_packets: 0,
        resp_bytes: 0,
        state,
        history: tracker.history().to_string(),
        community_id: community_id.of_header(h),
        direction: home_nets.direction(h.src, h.dst),
        origin: ConnOrigin::Firewall {
            prefix: fw.prefix.to_string(),
            in_iface: fw.in_iface.to_string(),
            out_iface: fw.out_iface.to_string(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tripline_core::{
        Direction, IpFields, OptionBytes, TcpFields, Timestamp, UdpFields, ip_proto,
    };

    /// dnsconn/iptables.log, C04: `NEW IN=br-lan OUT=gw-ext ... SRC=10.99.1.2
    /// DST=10.99.2.3 LEN=60 ... TTL=63 ID=46293 DF PROTO=TCP SPT=37642 DPT=80
    /// WINDOW=64240 RES=0x00 SYN URGP=0 OPT (020405B40402080A809AD267000000000103030A)`.
    fn c04_syn() -> Header {
        let opt = [
            0x02, 0x04, 0x05, 0xB4, 0x04, 0x02, 0x08, 0x0A, 0x80, 0x9A, 0xD2, 0x67, 0, 0, 0, 0,
            0x01, 0x03, 0x03, 0x0A,
        ];
        Header {
            src: "10.99.1.2".parse().unwrap(),
            dst: "10.99.2.3".parse().unwrap(),
            protocol: ip_proto::TCP,
            ip: IpFields {
                total_len: 60,
                ttl: 63,
                id: 46293,
                df: true,
                ..Default::default()
            },
            transport: Transport::Tcp(TcpFields {
                sport: 37642,
                dport: 80,
                window: 64240,
                flags: TcpFlags(TcpFlags::SYN),
                options: OptionBytes::new(&opt).unwrap(),
                ..Default::default()
            }),
        }
    }

    fn line<'a>(prefix: &'a str, header: Header) -> FirewallLog<'a> {
        FirewallLog {
            ts: Timestamp::from_secs_micros(1_795_349_943, 141_903),
            header,
            prefix,
            in_iface: "br-lan",
            out_iface: "gw-ext",
            mac: "",
            host: "gw",
        }
    }

    #[test]
    fn new_syn_is_an_s0_attempt() {
        let home = HomeNets::parse(&["10.99.1.0/24"]).unwrap();
        let c =
            firewall_connection(&line("NEW", c04_syn()), &home, &CommunityId::default()).unwrap();
        assert_eq!(
            (c.state, c.history.as_str(), c.orig_packets, c.orig_bytes),
            (ConnState::S0, "S", 1, 60)
        );
        assert_eq!(
            (c.sport, c.dport, c.direction),
            (37642, 80, Direction::Outbound)
        );
        assert_eq!(c.community_id, CommunityId::default().of_header(&c04_syn()));
        assert_eq!(
            c.origin,
            ConnOrigin::Firewall {
                prefix: "NEW".into(),
                in_iface: "br-lan".into(),
                out_iface: "gw-ext".into()
            }
        );
    }

    #[test]
    fn other_flags_are_oth_and_udp_is_s0() {
        let home = HomeNets::default();
        let mut xmas = c04_syn();
        if let Transport::Tcp(t) = &mut xmas.transport {
            t.flags = TcpFlags(TcpFlags::FIN | TcpFlags::PSH | TcpFlags::URG);
            t.options = OptionBytes::EMPTY;
        }
        xmas.ip.total_len = 40;
        let c = firewall_connection(&line("DROP INVALID", xmas), &home, &CommunityId::default())
            .unwrap();
        assert_eq!((c.state, c.history.as_str()), (ConnState::OTH, "F"));
        let udp = Header {
            protocol: ip_proto::UDP,
            ip: IpFields {
                total_len: 76,
                ..Default::default()
            },
            transport: Transport::Udp(UdpFields {
                sport: 60858,
                dport: 123,
                len: 56,
            }),
            ..c04_syn()
        };
        let c =
            firewall_connection(&line("[UFW BLOCK]", udp), &home, &CommunityId::default()).unwrap();
        assert_eq!(
            (c.state, c.history.as_str(), c.dport),
            (ConnState::S0, "D", 123)
        );
    }

    #[test]
    fn prefixes() {
        assert_eq!(classify_prefix("NEW"), Some(FirewallVerdict::New));
        assert_eq!(
            classify_prefix("DROP INVALID"),
            Some(FirewallVerdict::Dropped)
        );
        assert_eq!(
            classify_prefix("[UFW BLOCK]"),
            Some(FirewallVerdict::Dropped)
        );
        assert_eq!(classify_prefix("[UFW ALLOW]"), Some(FirewallVerdict::New));
        assert_eq!(classify_prefix("[UFW AUDIT]"), None);
        assert!(
            firewall_connection(
                &line("AUDIT", c04_syn()),
                &HomeNets::default(),
                &CommunityId::default()
            )
            .is_none()
        );
    }
}
