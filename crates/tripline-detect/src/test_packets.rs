//! Hand-built headers for unit tests (addresses from the dnsconn lab: the
//! home PC 10.99.1.2 and the web server 10.99.2.3).

use std::net::IpAddr;
use tripline_core::{
    Header, IcmpFields, IpFields, TcpFields, TcpFlags, Timestamp, Transport, UdpFields, ip_proto,
};

pub const PC: &str = "10.99.1.2";
pub const WEB: &str = "10.99.2.3";

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Seconds after the first packet of dnsconn (12:18:53 UTC).
pub fn t(secs: f64) -> Timestamp {
    Timestamp::from_secs_f64(1_795_349_933.0 + secs)
}

pub const S: u8 = TcpFlags::SYN;
pub const SA: u8 = TcpFlags::SYN | TcpFlags::ACK;
pub const A: u8 = TcpFlags::ACK;
pub const PA: u8 = TcpFlags::PSH | TcpFlags::ACK;
pub const FA: u8 = TcpFlags::FIN | TcpFlags::ACK;
pub const R: u8 = TcpFlags::RST;
pub const RA: u8 = TcpFlags::RST | TcpFlags::ACK;
pub const F: u8 = TcpFlags::FIN;

/// A TCP header; `len` is the payload length (IP total length is 52 + len).
pub fn tcp(src: &str, sport: u16, dst: &str, dport: u16, flags: u8, seq: u32, len: u16) -> Header {
    Header {
        src: ip(src),
        dst: ip(dst),
        protocol: ip_proto::TCP,
        ip: IpFields {
            total_len: 52 + len,
            ttl: 64,
            ..Default::default()
        },
        transport: Transport::Tcp(TcpFields {
            sport,
            dport,
            seq: Some(seq),
            ack: Some(0),
            window: 502,
            flags: TcpFlags(flags),
            ..Default::default()
        }),
    }
}

/// Originator (PC:37642) to responder (WEB:80).
pub fn out(flags: u8, seq: u32, len: u16) -> Header {
    tcp(PC, 37642, WEB, 80, flags, seq, len)
}

/// Responder to originator.
pub fn back(flags: u8, seq: u32, len: u16) -> Header {
    tcp(WEB, 80, PC, 37642, flags, seq, len)
}

/// A UDP header with `len` payload bytes.
pub fn udp(src: &str, sport: u16, dst: &str, dport: u16, len: u16) -> Header {
    Header {
        src: ip(src),
        dst: ip(dst),
        protocol: ip_proto::UDP,
        ip: IpFields {
            total_len: 28 + len,
            ttl: 64,
            ..Default::default()
        },
        transport: Transport::Udp(UdpFields {
            sport,
            dport,
            len: 8 + len,
        }),
    }
}

/// An ICMP header.
pub fn icmp(src: &str, dst: &str, icmp_type: u8, code: u8) -> Header {
    Header {
        src: ip(src),
        dst: ip(dst),
        protocol: ip_proto::ICMP,
        ip: IpFields {
            total_len: 84,
            ttl: 64,
            ..Default::default()
        },
        transport: Transport::Icmp(IcmpFields {
            icmp_type,
            code,
            id: Some(1),
            seq: Some(1),
        }),
    }
}
