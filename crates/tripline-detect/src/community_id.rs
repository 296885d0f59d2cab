//! Community ID v1 flow hashing (Corelight's public specification).
//!
//! The same flow gets the same `1:...` string in Zeek, Suricata, Wireshark
//! and tripline, so records can be joined across tools. The hash input is:
//! seed (u16, big endian), source address, destination address, protocol,
//! one zero byte of padding, then source and destination port (u16, big
//! endian) when the protocol has ports. The endpoints are ordered so the
//! smaller (address, port) comes first. ICMP and ICMPv6 use the type as the
//! source "port" and, for request/reply types, the counterpart type as the
//! destination "port" (so a request and its reply hash alike); other types
//! use the code and are hashed one-way, without reordering.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha1::{Digest, Sha1};
use std::net::IpAddr;
use tripline_core::{Header, Transport, ip_proto};

/// ICMP request/reply pairs (echo, router, timestamp, info, address mask).
const ICMP_PAIRS: [(u8, u8); 10] = [
    (8, 0),
    (0, 8),
    (13, 14),
    (14, 13),
    (15, 16),
    (16, 15),
    (17, 18),
    (18, 17),
    (10, 9),
    (9, 10),
];

/// ICMPv6 request/reply pairs (echo, router and neighbor discovery,
/// node information, multicast listener query/report, home agent discovery).
const ICMPV6_PAIRS: [(u8, u8); 12] = [
    (128, 129),
    (129, 128),
    (133, 134),
    (134, 133),
    (135, 136),
    (136, 135),
    (139, 140),
    (140, 139),
    (144, 145),
    (145, 144),
    (130, 131),
    (131, 130),
];

/// The "ports" Community ID uses for an ICMP/ICMPv6 message, and whether the
/// message is one-way (hashed without endpoint reordering).
pub fn icmp_port_equivalents(protocol: u8, icmp_type: u8, code: u8) -> (u16, u16, bool) {
    let pairs: &[(u8, u8)] = if protocol == ip_proto::ICMPV6 {
        &ICMPV6_PAIRS
    } else {
        &ICMP_PAIRS
    };
    match pairs.iter().find(|(t, _)| *t == icmp_type) {
        Some((_, counterpart)) => (icmp_type as u16, *counterpart as u16, false),
        None => (icmp_type as u16, code as u16, true),
    }
}

/// Computes Community ID v1 strings; holds the seed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CommunityId {
    seed: u16,
}

impl CommunityId {
    /// A hasher with the given seed (0 is the default everyone uses).
    pub fn new(seed: u16) -> Self {
        CommunityId { seed }
    }

    /// The ID of the flow a header belongs to. Non-first fragments and
    /// protocols without ports hash addresses and protocol only.
    pub fn of_header(&self, h: &Header) -> String {
        let ports = match h.transport {
            Transport::Tcp(t) => Some((t.sport, t.dport, false)),
            Transport::Udp(u) => Some((u.sport, u.dport, false)),
            Transport::Icmp(i) => Some(icmp_port_equivalents(h.protocol, i.icmp_type, i.code)),
            Transport::Other => None,
        };
        self.compute(h.src, h.dst, h.protocol, ports)
    }

    /// The ID of a flow given its parts. `ports` is (source, destination,
    /// one_way); for ICMP pass [`icmp_port_equivalents`]. Mixed address
    /// families cannot be one flow; they are hashed as given.
    pub fn compute(
        &self,
        src: IpAddr,
        dst: IpAddr,
        protocol: u8,
        ports: Option<(u16, u16, bool)>,
    ) -> String {
        let (sport, dport, one_way) = match ports {
            Some((s, d, o)) => (s, d, o),
            None => (0, 0, false),
        };
        let ordered =
            one_way || ip_lt(src, dst) || (src == dst && ports.is_some() && sport < dport);
        let (a, b, pa, pb) = if ordered {
            (src, dst, sport, dport)
        } else {
            (dst, src, dport, sport)
        };
        let mut h = Sha1::new();
        h.update(self.seed.to_be_bytes());
        feed_ip(&mut h, a);
        feed_ip(&mut h, b);
        h.update([protocol, 0]);
        if ports.is_some() {
            h.update(pa.to_be_bytes());
            h.update(pb.to_be_bytes());
        }
        let digest = h.finalize();
        let mut out = String::with_capacity(30);
        out.push_str("1:");
        STANDARD.encode_string(digest, &mut out);
        out
    }
}

/// Byte-wise comparison of the network-order addresses, as the spec does.
fn ip_lt(a: IpAddr, b: IpAddr) -> bool {
    match (a, b) {
        (IpAddr::V4(x), IpAddr::V4(y)) => x.octets() < y.octets(),
        (IpAddr::V6(x), IpAddr::V6(y)) => x.octets() < y.octets(),
        (IpAddr::V4(_), IpAddr::V6(_)) => true,
        (IpAddr::V6(_), IpAddr::V4(_)) => false,
    }
}

fn feed_ip(h: &mut Sha1, ip: IpAddr) {
    match ip {
        IpAddr::V4(a) => h.update(a.octets()),
        IpAddr::V6(a) => h.update(a.octets()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn cid(src: &str, dst: &str, proto: u8, ports: Option<(u16, u16, bool)>) -> String {
        CommunityId::default().compute(ip(src), ip(dst), proto, ports)
    }

    /// The specification's baseline vectors (community-id-spec, seed 0).
    #[test]
    fn spec_baseline_vectors() {
        let tcp = cid(
            "128.232.110.120",
            "66.35.250.204",
            6,
            Some((34855, 80, false)),
        );
        assert_eq!(tcp, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
        assert_eq!(
            cid(
                "66.35.250.204",
                "128.232.110.120",
                6,
                Some((80, 34855, false))
            ),
            tcp
        );
        let udp = cid("192.168.1.52", "8.8.8.8", 17, Some((54585, 53, false)));
        assert_eq!(udp, "1:d/FP5EW3wiY1vCndhwleRRKHowQ=");
        let icmp = cid(
            "192.168.0.89",
            "192.168.0.1",
            1,
            Some(icmp_port_equivalents(1, 8, 0)),
        );
        assert_eq!(icmp, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=");
        let icmp6 = cid(
            "fe80::200:86ff:fe05:80da",
            "fe80::260:97ff:fe07:69ea",
            58,
            Some(icmp_port_equivalents(58, 135, 0)),
        );
        assert_eq!(icmp6, "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=");
        let sctp = cid("192.168.170.56", "192.168.170.8", 132, Some((80, 7, false)));
        assert_eq!(sctp, "1:jQgCxbku+pNGw8WPbEc/TS/uTpQ=");
        let sctp_same_ports = cid("192.168.170.8", "192.168.170.56", 132, Some((7, 7, false)));
        assert_eq!(sctp_same_ports, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=");
        let tcp6 = cid(
            "2001:470:e5bf:dead:4957:2174:e82c:4887",
            "2607:f8b0:400c:c03::1a",
            6,
            Some((63943, 25, false)),
        );
        assert_eq!(tcp6, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=");
        let ra = cid(
            "fe80::260:97ff:fe07:69ea",
            "ff02::1",
            58,
            Some(icmp_port_equivalents(58, 134, 0)),
        );
        assert_eq!(ra, "1:pkvHqCL88/tg1k4cPigmZXUtL00=");
    }

    /// Literals from `tshark --enable-protocol communityid` (Wireshark 4.0.17)
    /// on shared/data/{dnsconn,scans}/capture.pcap.
    #[test]
    fn agrees_with_wireshark_on_the_lab_captures() {
        let eq = |p: u8, t: u8, c: u8| Some(icmp_port_equivalents(p, t, c));
        let cases = [
            (
                cid("10.99.1.2", "10.99.1.1", 17, Some((44995, 53, false))),
                "1:3fQPOLIx05O0zBipvdkO8hHMuw4=",
            ),
            (
                cid("fd99:1::2", "fd99:2::2", 6, Some((47448, 80, false))),
                "1:efXmM/o98PCJaIYA1TcyT5T6JZI=",
            ),
            (
                cid("10.99.2.66", "10.99.1.3", 6, Some((36870, 443, false))),
                "1:sFQXtRWS+hwoxYaEWlL4lYxJHtA=",
            ),
            (
                cid("10.99.2.66", "10.99.1.3", 17, Some((50599, 123, false))),
                "1:MU0KksFICJdxzF1sCON/X7quw04=",
            ),
            (
                cid("10.99.2.66", "10.99.1.3", 1, eq(1, 8, 0)),
                "1:h7V1yItH8vTesDcwq+3YjSzA9PY=",
            ),
            (
                cid("10.99.1.3", "10.99.2.66", 1, eq(1, 0, 0)),
                "1:h7V1yItH8vTesDcwq+3YjSzA9PY=",
            ),
            (
                cid("10.99.2.66", "10.99.1.3", 1, eq(1, 13, 0)),
                "1:9OvH5J9vkeaoePlMpqLeU+eZLUk=",
            ),
            (
                cid("10.99.1.3", "10.99.2.66", 1, eq(1, 14, 0)),
                "1:9OvH5J9vkeaoePlMpqLeU+eZLUk=",
            ),
            (
                cid("10.99.2.66", "10.99.1.3", 1, eq(1, 17, 0)),
                "1:upnBvqtEDOdrmmyG6NdShy97SCs=",
            ),
            (
                cid("10.99.1.3", "10.99.2.66", 1, eq(1, 3, 3)),
                "1:haBgyPIIRwjoIVvr2/6UchQBc/A=",
            ),
            (
                cid("fe80::99:ff:fe01:2", "ff02::1:ff00:1", 58, eq(58, 135, 0)),
                "1:HN7Oe44TORTYDX04VpfhKnnb+Z8=",
            ),
            (
                cid("fd99:1::1", "fe80::99:ff:fe01:2", 58, eq(58, 136, 0)),
                "1:hIGB43CuWZtW8Z7sOMJNgdKJWZw=",
            ),
            (
                cid("fd99:2::66", "fd99:1::3", 58, eq(58, 128, 0)),
                "1:Kc0EE8K5sVh6Scja6+8W0xm4sxU=",
            ),
            (
                cid("fd99:1::3", "fd99:2::66", 58, eq(58, 129, 0)),
                "1:Kc0EE8K5sVh6Scja6+8W0xm4sxU=",
            ),
            // A first fragment Wireshark did not dissect further: no ports.
            (
                cid("10.99.2.66", "10.99.1.3", 1, None),
                "1:3ce44FJePUwpvm/Co4066Nz19pI=",
            ),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
    }

    #[test]
    fn seed_changes_the_hash() {
        // The specification's seed-1 vector.
        let a = CommunityId::new(1).compute(
            ip("192.168.170.8"),
            ip("192.168.170.56"),
            132,
            Some((7, 80, false)),
        );
        assert_eq!(a, "1:Y1/0jQg6e+I3ZwZZ9LP65DNbTXU=");
    }
}
