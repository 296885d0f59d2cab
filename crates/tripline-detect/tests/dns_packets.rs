//! The DNS parser and the engine on the 68 real DNS messages of
//! shared/data/dnsconn/capture.pcap, checked against tshark's decode of the
//! same packets (dns_messages_from_capture.tsv).

use std::collections::BTreeSet;
use std::net::IpAddr;
use tripline_core::{
    Alert, AuthLog, ConnState, Connection, DnsData, DnsEvent, DnsLog, Header, IpFields, LinkInfo,
    Packet, Record, Timestamp, Transport, UdpFields, ip_proto,
};
use tripline_detect::{Engine, EngineConfig, EngineOutput};
use tripline_ingest::app::dns::{RecordData, parse_message};

const PAYLOADS: &str = include_str!("data/dnsconn_dns_payloads.tsv");
const TSHARK: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/dnsconn/dns_messages_from_capture.tsv"
);

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// One DNS packet: tshark's row and the payload bytes.
struct Row {
    fields: Vec<String>,
    payload: Vec<u8>,
}

impl Row {
    fn f(&self, i: usize) -> &str {
        self.fields.get(i).map(String::as_str).unwrap_or("")
    }
    fn src(&self) -> IpAddr {
        let s = if self.f(1).is_empty() {
            self.f(2)
        } else {
            self.f(1)
        };
        s.parse().unwrap()
    }
    fn dst(&self) -> IpAddr {
        let s = if self.f(4).is_empty() {
            self.f(5)
        } else {
            self.f(4)
        };
        s.parse().unwrap()
    }
    fn ts(&self) -> Timestamp {
        let (s, frac) = self.f(0).split_once('.').unwrap();
        Timestamp::from_secs_nanos(s.parse().unwrap(), frac.parse().unwrap())
    }
}

fn rows() -> Vec<Row> {
    let tsv = std::fs::read_to_string(TSHARK).expect("shared dnsconn data");
    let decoded: Vec<_> = tsv.lines().skip(1).collect();
    let payloads: Vec<_> = PAYLOADS.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(decoded.len(), 68);
    assert_eq!(decoded.len(), payloads.len());
    decoded
        .iter()
        .zip(payloads)
        .map(|(d, p)| {
            let fields: Vec<String> = d.split('\t').map(str::to_string).collect();
            let (time, hex) = p.split_once('\t').unwrap();
            assert_eq!(time, fields[0], "fixture and tshark rows out of step");
            Row {
                fields,
                payload: unhex(hex),
            }
        })
        .collect()
}

fn joined<T: ToString>(items: impl Iterator<Item = T>) -> String {
    items.map(|i| i.to_string()).collect::<Vec<_>>().join(",")
}

#[test]
fn parser_agrees_with_tshark_on_every_message() {
    for row in rows() {
        let m = parse_message(&row.payload).unwrap_or_else(|e| panic!("{}: {e}", row.f(0)));
        assert_eq!(format!("0x{:04x}", m.id), row.f(7));
        assert_eq!(m.qr, row.f(8) == "1");
        let q = m.question.unwrap();
        assert_eq!(q.name.to_string(), row.f(9));
        assert_eq!(q.qtype.to_string(), row.f(10));
        if m.qr {
            assert_eq!(m.rcode.to_string(), row.f(11));
        }
        let answers: Vec<_> = m.answers().collect();
        assert!(m.answers_error.is_none());
        let names = |t: u16| {
            joined(
                answers
                    .iter()
                    .filter(|a| a.rtype == t)
                    .map(|a| match a.data {
                        RecordData::Name(n) => n.to_string(),
                        other => panic!("{other:?}"),
                    }),
            )
        };
        let addrs = |v4: bool| {
            joined(answers.iter().filter_map(|a| match a.data {
                RecordData::Addr(ip) if ip.is_ipv4() == v4 => Some(ip),
                _ => None,
            }))
        };
        assert_eq!(names(5), row.f(12), "CNAME at {}", row.f(0));
        assert_eq!(addrs(true), row.f(13), "A at {}", row.f(0));
        assert_eq!(addrs(false), row.f(14), "AAAA at {}", row.f(0));
        assert_eq!(names(12), row.f(15), "PTR at {}", row.f(0));
        assert_eq!(
            joined(answers.iter().map(|a| a.ttl)),
            row.f(16),
            "TTL at {}",
            row.f(0)
        );
    }
}

#[derive(Default)]
struct Collect {
    conns: Vec<Connection>,
    dns: Vec<DnsLog>,
}

impl EngineOutput for Collect {
    fn connection(&mut self, c: Connection) {
        self.conns.push(c);
    }
    fn dns(&mut self, d: DnsLog) {
        self.dns.push(d);
    }
    fn auth(&mut self, _a: AuthLog) {}
    fn alert(&mut self, _a: Alert) {}
}

#[test]
fn engine_turns_dns_packets_into_dns_events_and_flows() {
    let rows = rows();
    let mut engine = Engine::new(EngineConfig {
        home_nets: tripline_core::HomeNets::parse(&["10.99.1.0/24", "fd99:1::/64"]).unwrap(),
        ..Default::default()
    });
    let mut out = Collect::default();
    for row in &rows {
        let header = Header {
            src: row.src(),
            dst: row.dst(),
            protocol: ip_proto::UDP,
            ip: IpFields {
                total_len: 28 + row.payload.len() as u16,
                ..Default::default()
            },
            transport: Transport::Udp(UdpFields {
                sport: row.f(3).parse().unwrap(),
                dport: row.f(6).parse().unwrap(),
                len: 8 + row.payload.len() as u16,
            }),
        };
        let packet = Packet {
            ts: row.ts(),
            header,
            payload: &row.payload,
            wire_len: 42 + row.payload.len() as u32,
            link: LinkInfo::default(),
            // Built from tshark's fields; no link-layer bytes.
            frame: &[],
        };
        engine.process(&Record::Packet(packet), &mut out);
    }
    engine.finish(&mut out);

    assert_eq!(out.dns.len(), 68);
    assert_eq!(engine.stats().dns_packets, 68);
    for (d, row) in out.dns.iter().zip(&rows) {
        let (client, server) = if d.event == DnsEvent::Query {
            (row.src(), row.dst())
        } else {
            (row.dst(), row.src())
        };
        assert_eq!((d.client, d.server), (Some(client), Some(server)));
        assert_eq!(d.name, row.f(9));
    }
    // video.example.com: the CNAME link is kept before the address.
    let video = out
        .dns
        .iter()
        .find(|d| d.name == "video.example.com" && d.qtype == "A" && d.event == DnsEvent::Reply)
        .unwrap();
    assert_eq!(
        video.answers[0].data,
        DnsData::Cname("files.example.net".into())
    );
    assert_eq!(video.answers[1].name, "files.example.net");
    assert_eq!(
        video.answers[1].data,
        DnsData::Addr("10.99.2.3".parse().unwrap())
    );
    assert_eq!(video.answers[1].ttl, Some(300));
    // tracker.example.org is NXDOMAIN; ads.example.net is sinkholed to 127.0.0.2.
    let tracker = out
        .dns
        .iter()
        .find(|d| d.name == "tracker.example.org" && d.event == DnsEvent::Reply)
        .unwrap();
    assert_eq!(
        (tracker.rcode.as_deref(), &tracker.answers[0].data),
        (Some("NXDOMAIN"), &DnsData::NxDomain)
    );
    let ads = out
        .dns
        .iter()
        .find(|d| d.name == "ads.example.net" && d.qtype == "A" && d.event == DnsEvent::Reply)
        .unwrap();
    assert!(ads.blocked);
    let refused = out
        .dns
        .iter()
        .find(|d| d.name == "www.nowhere.invalid" && d.event == DnsEvent::Reply)
        .unwrap();
    assert_eq!(refused.rcode.as_deref(), Some("REFUSED"));

    // One UDP flow per client socket, each answered.
    let sockets: BTreeSet<_> = rows
        .iter()
        .map(|r| {
            if r.f(3) == "53" {
                (r.dst(), r.f(6).to_string())
            } else {
                (r.src(), r.f(3).to_string())
            }
        })
        .collect();
    assert_eq!(out.conns.len(), sockets.len());
    assert!(
        out.conns
            .iter()
            .all(|c| c.state == ConnState::SF && c.history == "Dd" && c.dport == 53)
    );
    assert_eq!(engine.flow_metrics().created as usize, sockets.len());
}
