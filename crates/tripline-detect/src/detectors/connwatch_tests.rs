use super::*;
use crate::allow_list::AllowRule;
use crate::dns_cache::{DnsCache, DnsCacheConfig};
use crate::seen::SeenEntry;
use tripline_core::{ConnOrigin, ConnState, DnsAnswer, DnsData, DnsOrigin, HomeNets};

#[derive(Default)]
struct Out {
    alerts: Vec<Alert>,
    verdicts: Vec<(Option<String>, bool, bool, bool)>,
}

impl EngineOutput for Out {
    fn connection(&mut self, _c: Connection) {}
    fn dns(&mut self, _d: DnsLog) {}
    fn auth(&mut self, _a: tripline_core::AuthLog) {}
    fn alert(&mut self, a: Alert) {
        self.alerts.push(a);
    }
    fn connection_verdict(&mut self, _c: &Connection, v: &ConnVerdict<'_>) {
        self.verdicts.push((
            v.names.name().map(str::to_string),
            v.allowed_by.is_some(),
            v.blocked,
            v.first_seen,
        ));
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn t(s: i64) -> Timestamp {
    Timestamp::from_secs_nanos(1_795_349_900 + s, 0)
}

fn conn(
    src: &str,
    sport: u16,
    dst: &str,
    dport: u16,
    proto: u8,
    at: i64,
    home: &HomeNets,
) -> Connection {
    Connection {
        start: t(at),
        end: t(at),
        src: ip(src),
        sport,
        dst: ip(dst),
        dport,
        protocol: proto,
        orig_packets: 4,
        orig_bytes: 240,
        resp_packets: 3,
        resp_bytes: 180,
        state: ConnState::SF,
        history: "ShADadFf".into(),
        community_id: "1:x".into(),
        direction: home.direction(ip(src), ip(dst)),
        origin: ConnOrigin::Capture,
    }
}

fn answer(at: i64, client: &str, name: &str, a: &str, blocked: bool) -> DnsLog {
    DnsLog {
        ts: t(at),
        origin: DnsOrigin::Dnsmasq,
        event: if blocked {
            DnsEvent::Config
        } else {
            DnsEvent::Reply
        },
        client: Some(ip(client)),
        server: None,
        id: None,
        name: name.into(),
        qtype: "A".into(),
        rcode: None,
        answers: vec![DnsAnswer {
            name: name.into(),
            data: DnsData::Addr(ip(a)),
            ttl: None,
        }],
        from_config: blocked,
        blocked,
    }
}

struct Rig {
    home: HomeNets,
    dns: DnsCache,
    cw: Connwatch,
    out: Out,
}

impl Rig {
    fn new(config: ConnwatchConfig) -> Rig {
        Rig {
            home: HomeNets::parse(&["10.99.1.0/24", "fd99:1::/64"]).unwrap(),
            dns: DnsCache::new(DnsCacheConfig::default()),
            cw: Connwatch::new(config),
            out: Out::default(),
        }
    }

    fn dns(&mut self, d: DnsLog) {
        self.dns.learn(&d);
        let ctx = DetectContext {
            home_nets: &self.home,
            now: d.ts,
            os: None,
        };
        self.cw.on_dns(&d, &ctx, &mut self.out);
    }

    fn conn(&mut self, c: Connection) {
        let ctx = DetectContext {
            home_nets: &self.home,
            now: c.start,
            os: None,
        };
        let names = match c.direction {
            Direction::Outbound => self.dns.lookup(c.src, c.dst, c.start),
            _ => NameLookup::direct(),
        };
        self.cw.on_named_connection(&c, &names, &ctx, &mut self.out);
    }
}

#[test]
fn new_destinations_alert_once_and_allowed_ones_never() {
    let mut allow = AllowRule {
        their_port: Some(443),
        domain: "*.example.com".parse().unwrap(),
        ..Default::default()
    };
    allow.direction = crate::allow_list::DirectionMatch::Out;
    let mut r = Rig::new(ConnwatchConfig {
        allow: AllowList::new(vec![allow]),
        ..Default::default()
    });
    let home = r.home.clone();
    r.dns(answer(
        0,
        "10.99.1.2",
        "www.example.com",
        "10.99.2.2",
        false,
    ));
    r.dns(answer(
        0,
        "10.99.1.2",
        "cdn.tracker.test",
        "10.99.2.20",
        false,
    ));
    r.conn(conn("10.99.1.2", 40000, "10.99.2.2", 443, 6, 1, &home)); // allowed
    r.conn(conn("10.99.1.2", 40001, "10.99.2.20", 443, 6, 1, &home)); // caused by it: not allowed
    r.conn(conn("10.99.1.2", 40002, "10.99.2.20", 443, 6, 2, &home)); // seen before
    r.conn(conn("10.99.1.2", 40003, "10.99.2.7", 80, 6, 3, &home)); // direct
    r.conn(conn("10.99.2.66", 5555, "10.99.1.3", 22, 6, 4, &home)); // inbound
    r.conn(conn("10.99.1.2", 5555, "10.99.1.3", 22, 6, 4, &home)); // internal: not judged
    assert_eq!(
        r.out.verdicts,
        vec![
            (Some("www.example.com".into()), true, false, false),
            (Some("cdn.tracker.test".into()), false, false, true),
            (Some("cdn.tracker.test".into()), false, false, false),
            (None, false, false, true),
            (None, false, false, true),
        ]
    );
    let sids: Vec<(u32, Severity)> = r.out.alerts.iter().map(|a| (a.sid, a.severity)).collect();
    assert_eq!(
        sids,
        vec![
            (SID_NEW_OUTBOUND, Severity::LOW),
            (SID_NEW_OUTBOUND, Severity::LOW),
            (SID_INBOUND, Severity::MEDIUM)
        ]
    );
    assert_eq!(r.out.alerts[0].details["name"], "cdn.tracker.test");
    assert!(r.out.alerts[1].details.get("name").is_none());
    assert_eq!(r.out.alerts[0].gid, GID);
    let s = r.cw.stats();
    assert_eq!((s.judged, s.allowed, s.reported, s.alerts), (5, 1, 4, 3));
}

#[test]
fn seen_memory_from_a_previous_run_suppresses_alerts() {
    let mut r = Rig::new(ConnwatchConfig::default());
    let home = r.home.clone();
    r.cw.seen_mut().load([SeenEntry {
        key: SeenKey {
            device: ip("10.99.1.2"),
            kind: SeenKind::Outbound,
            peer: Peer::Addr(ip("10.99.2.7")),
            port: 123,
            protocol: 17,
        },
        first_seen: t(-1000),
        last_seen: t(-1000),
        count: 3,
    }]);
    r.conn(conn("10.99.1.2", 60858, "10.99.2.7", 123, 17, 1, &home));
    r.conn(conn("10.99.1.2", 60858, "10.99.2.7", 124, 17, 1, &home));
    assert_eq!(r.out.alerts.len(), 1);
    assert_eq!(r.out.alerts[0].dport, Some(124));
    assert_eq!(r.cw.seen_mut().changes().len(), 2);
}

#[test]
fn blocked_names_and_repeated_tries() {
    let mut r = Rig::new(ConnwatchConfig {
        blocked_names: vec!["*.doubleclick.test".parse().unwrap()],
        blocked_repeat: 3,
        blocked_window: Duration::from_secs(60),
        ..Default::default()
    });
    let home = r.home.clone();
    // Sinkholed by the resolver, then connected to the sinkhole.
    r.dns(answer(0, "10.99.1.2", "ads.example.net", "127.0.0.2", true));
    // Answered normally but on the configured block list.
    r.dns(answer(
        1,
        "10.99.1.2",
        "ad.doubleclick.test",
        "10.99.2.30",
        false,
    ));
    r.conn(conn("10.99.1.2", 40000, "10.99.2.30", 443, 6, 2, &home));
    assert!(r.out.verdicts[0].2);
    // Two more tries within a minute: "keeps trying"; the next ones don't repeat it.
    for s in [10, 20, 30, 40] {
        r.dns(answer(
            s,
            "10.99.1.2",
            "ad.doubleclick.test",
            "10.99.2.30",
            false,
        ));
    }
    // Quiet for longer than the window, then three more: reported again.
    for s in [200, 201, 202] {
        r.dns(answer(
            s,
            "10.99.1.2",
            "ad.doubleclick.test",
            "10.99.2.30",
            false,
        ));
    }
    // Lookups by outside clients are not ours to judge.
    r.dns(answer(
        203,
        "10.99.2.1",
        "ad.doubleclick.test",
        "10.99.2.30",
        false,
    ));
    let sids: Vec<u32> = r.out.alerts.iter().map(|a| a.sid).collect();
    assert_eq!(
        sids,
        vec![
            SID_BLOCKED_LOOKUP,
            SID_BLOCKED_LOOKUP,
            SID_BLOCKED_CONNECTION,
            SID_BLOCKED_REPEAT,
            SID_BLOCKED_REPEAT
        ]
    );
    assert_eq!(r.out.alerts[3].details["tries"], 3);
    assert_eq!(r.cw.stats().blocked_lookups, 9);
}

#[test]
fn icmp_ports_are_the_type_and_inbound_has_no_name() {
    let rule = AllowRule {
        proto: crate::allow_list::ProtoMatch::Icmp,
        their_port: Some(8),
        ..Default::default()
    };
    let mut r = Rig::new(ConnwatchConfig {
        allow: AllowList::new(vec![rule]),
        ..Default::default()
    });
    let home = r.home.clone();
    r.dns(answer(
        0,
        "10.99.1.2",
        "files.example.net",
        "10.99.2.3",
        false,
    ));
    // Echo request out: type 8 in `sport`, code 0 in `dport`.
    r.conn(conn("10.99.1.2", 8, "10.99.2.3", 0, 1, 1, &home));
    // Inbound from an address the home host resolved: still no name.
    r.conn(conn("10.99.2.3", 58483, "10.99.1.2", 8080, 6, 2, &home));
    assert!(r.out.verdicts[0].1);
    assert_eq!(r.out.verdicts[1].0, None);
    // IPv6 inbound.
    r.conn(conn("fd99:2::2", 44153, "fd99:1::2", 80, 6, 3, &home));
    assert_eq!(r.out.alerts.len(), 2);
    assert_eq!(r.out.alerts[1].details["ours"], "fd99:1::2");
}

/// An inbound attempt the home host never answered (a scanned closed port).
fn unanswered(c: Connection) -> Connection {
    Connection {
        orig_packets: 1,
        orig_bytes: 60,
        resp_packets: 0,
        resp_bytes: 0,
        state: ConnState::S0,
        history: "S".into(),
        ..c
    }
}

#[test]
fn inbound_attempts_that_never_got_in_are_listed_but_raise_no_alert() {
    let mut r = Rig::new(ConnwatchConfig::default());
    let home = r.home.clone();
    // A scan of closed ports: SYN, nothing back.
    for port in 1..=50 {
        r.conn(unanswered(conn(
            "10.99.2.66",
            40000,
            "10.99.1.3",
            port,
            6,
            1,
            &home,
        )));
    }
    // A firewall DROP line is an attempt too; a NEW line got in.
    let mut dropped = unanswered(conn("10.99.2.2", 43205, "10.99.1.2", 445, 6, 2, &home));
    dropped.origin = ConnOrigin::Firewall {
        prefix: "DROP".into(),
        in_iface: "gw-ext".into(),
        out_iface: "br-lan".into(),
    };
    r.conn(dropped.clone());
    assert_eq!(r.out.verdicts.len(), 51, "every attempt is still listed");
    assert!(
        r.out.alerts.is_empty(),
        "no alert for attempts: {:?}",
        r.out.alerts.len()
    );
    let mut accepted = dropped;
    accepted.origin = ConnOrigin::Firewall {
        prefix: "NEW".into(),
        in_iface: "gw-ext".into(),
        out_iface: "br-lan".into(),
    };
    r.conn(accepted);
    // The answered one alerts, once.
    r.conn(conn("10.99.2.66", 40001, "10.99.1.3", 80, 6, 3, &home));
    assert_eq!(r.out.alerts.len(), 2);
}

#[test]
fn denied_addresses_mark_connections_blocked() {
    let mut r = Rig::new(ConnwatchConfig {
        blocked_addresses: vec!["10.99.2.7/32".parse().unwrap()],
        ..Default::default()
    });
    let home = r.home.clone();
    r.conn(conn("10.99.1.2", 40003, "10.99.2.7", 80, 6, 1, &home));
    r.conn(conn("10.99.1.2", 40004, "10.99.2.8", 80, 6, 2, &home));
    // (name, allowed, blocked, first_seen) per verdict.
    assert!(r.out.verdicts[0].2, "denied address is blocked");
    assert!(!r.out.verdicts[1].2, "other addresses are not");
}
