//! Record builders shared by the integration tests.
#![allow(dead_code)]

use std::net::IpAddr;
use tripline_core::{
    Alert, AuthEvent, AuthLog, ConnOrigin, ConnState, Connection, Direction, DnsAnswer, DnsData,
    DnsEvent, DnsLog, DnsOrigin, Severity, Timestamp, ip_proto,
};

/// 2026-11-22T12:15:36.275668Z, the first scan in shared/data/scans.
pub const T0: Timestamp = Timestamp(1_795_349_736_275_668_000);

pub fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

pub fn conn(src: &str, sport: u16, dst: &str, dport: u16, protocol: u8) -> Connection {
    Connection {
        start: T0,
        end: T0.add_nanos(1_500_000_000),
        src: ip(src),
        sport,
        dst: ip(dst),
        dport,
        protocol,
        orig_packets: 5,
        orig_bytes: 420,
        resp_packets: 4,
        resp_bytes: 3_000,
        state: if protocol == ip_proto::TCP {
            ConnState::SF
        } else {
            ConnState::OTH
        },
        history: if protocol == ip_proto::TCP {
            "ShADadFf".into()
        } else {
            String::new()
        },
        community_id: format!("1:{src}-{dst}-{sport}-{dport}-{protocol}"),
        direction: Direction::Outbound,
        origin: ConnOrigin::Capture,
    }
}

pub fn firewall_conn() -> Connection {
    Connection {
        state: ConnState::S0,
        history: "S".into(),
        resp_packets: 0,
        resp_bytes: 0,
        orig_packets: 1,
        orig_bytes: 60,
        direction: Direction::Inbound,
        origin: ConnOrigin::Firewall {
            prefix: "[UFW BLOCK] \"quoted\"".into(),
            in_iface: "gw-ext".into(),
            out_iface: String::new(),
        },
        ..conn("10.99.2.66", 40000, "10.99.1.2", 22, ip_proto::TCP)
    }
}

pub fn dns(event: DnsEvent, name: &str, qtype: &str, answers: Vec<DnsAnswer>) -> DnsLog {
    DnsLog {
        ts: T0,
        origin: DnsOrigin::Dnsmasq,
        event,
        client: Some(ip("10.99.1.2")),
        server: Some(ip("10.99.2.53")),
        id: Some(4242),
        name: name.into(),
        qtype: qtype.into(),
        rcode: None,
        answers,
        from_config: false,
        blocked: false,
    }
}

pub fn answer(name: &str, data: DnsData, ttl: Option<u32>) -> DnsAnswer {
    DnsAnswer {
        name: name.into(),
        data,
        ttl,
    }
}

pub fn auth(user: &str, src: &str) -> AuthLog {
    AuthLog {
        ts: T0,
        host: "ds-lan2".into(),
        service: "sshd".into(),
        pid: Some(812),
        event: AuthEvent::Failed,
        method: Some("password".into()),
        user: Some(user.into()),
        invalid_user: true,
        src: Some(ip(src)),
        port: Some(51_000),
    }
}

pub fn alert(msg: &str) -> Alert {
    let mut details = serde_json::Map::new();
    details.insert("scan_type".into(), "SYN".into());
    details.insert("ports".into(), serde_json::json!([22, 80, 443]));
    details.insert("danger".into(), 3.into());
    Alert {
        ts: T0,
        detector: "scan".into(),
        gid: 1,
        sid: 9_000_001,
        rev: 2,
        msg: msg.into(),
        category: "Attempted Information Leak".into(),
        severity: Severity::MEDIUM,
        src: Some(ip("10.99.2.66")),
        sport: Some(40000),
        dst: Some(ip("10.99.1.2")),
        dport: Some(22),
        protocol: Some(ip_proto::TCP),
        community_id: Some("1:10.99.2.66-10.99.1.2-40000-22-6".into()),
        details,
    }
}
