//! Engine plumbing: firewall lines, DNS over TCP, damaged DNS, pass-through.

use tripline_core::{
    Alert, AuthEvent, AuthLog, ConnOrigin, ConnState, Connection, DnsEvent, DnsLog, FirewallLog,
    Header, HomeNets, IpFields, LinkInfo, Packet, Record, TcpFields, TcpFlags, Timestamp,
    Transport, UdpFields, ip_proto,
};
use tripline_detect::{Engine, EngineConfig, EngineOutput};

#[derive(Default)]
struct Collect {
    conns: Vec<Connection>,
    dns: Vec<DnsLog>,
    auth: Vec<AuthLog>,
}

impl EngineOutput for Collect {
    fn connection(&mut self, c: Connection) {
        self.conns.push(c);
    }
    fn dns(&mut self, d: DnsLog) {
        self.dns.push(d);
    }
    fn auth(&mut self, a: AuthLog) {
        self.auth.push(a);
    }
    fn alert(&mut self, _a: Alert) {}
}

fn engine() -> Engine {
    Engine::new(EngineConfig {
        home_nets: HomeNets::parse(&["10.99.1.0/24"]).unwrap(),
        ..Default::default()
    })
}

fn ts() -> Timestamp {
    Timestamp::from_secs_micros(1_795_349_989, 375_000)
}

/// The first DNS query of dnsconn/capture.pcap (www.example.com A, id 0x52bb).
const QUERY: &str = "52bb0100000100000000000003777777076578616d706c6503636f6d0000010001";

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn packet<'a>(transport: Transport, protocol: u8, payload: &'a [u8]) -> Record<'a> {
    Record::Packet(Packet {
        ts: ts(),
        header: Header {
            src: "10.99.1.2".parse().unwrap(),
            dst: "10.99.1.1".parse().unwrap(),
            protocol,
            ip: IpFields {
                total_len: 40 + payload.len() as u16,
                ..Default::default()
            },
            transport,
        },
        payload,
        wire_len: 54 + payload.len() as u32,
        frame: &[],
        link: LinkInfo::default(),
    })
}

#[test]
fn dns_over_tcp_and_damaged_dns() {
    let mut e = engine();
    let mut out = Collect::default();
    let query = unhex(QUERY);
    let mut segment = (query.len() as u16).to_be_bytes().to_vec();
    segment.extend_from_slice(&query);
    let tcp = Transport::Tcp(TcpFields {
        sport: 40000,
        dport: 53,
        flags: TcpFlags(TcpFlags::PSH | TcpFlags::ACK),
        ..Default::default()
    });
    e.process(&packet(tcp, ip_proto::TCP, &segment), &mut out);
    let udp = Transport::Udp(UdpFields {
        sport: 40001,
        dport: 53,
        len: 0,
    });
    // A name that points at itself.
    let looped = unhex("52bb01000001000000000000c00c00010001");
    e.process(&packet(udp, ip_proto::UDP, &looped), &mut out);
    e.process(&packet(udp, ip_proto::UDP, &query[..20]), &mut out);
    assert_eq!(out.dns.len(), 1);
    assert_eq!(
        (out.dns[0].name.as_str(), out.dns[0].event, out.dns[0].id),
        ("www.example.com", DnsEvent::Query, Some(0x52bb))
    );
    let s = e.stats();
    assert_eq!((s.packets, s.dns_packets, s.dns_packet_errors), (3, 1, 2));
    e.finish(&mut out);
    assert_eq!(out.conns.len(), 2);
}

#[test]
fn firewall_lines_become_connections_and_logs_pass_through() {
    let mut e = engine();
    let mut out = Collect::default();
    // dnsconn C23: 10.99.2.2:43205 -> 10.99.1.2:445 dropped by the router.
    let header = Header {
        src: "10.99.2.2".parse().unwrap(),
        dst: "10.99.1.2".parse().unwrap(),
        protocol: ip_proto::TCP,
        ip: IpFields {
            total_len: 60,
            ttl: 63,
            df: true,
            ..Default::default()
        },
        transport: Transport::Tcp(TcpFields {
            sport: 43205,
            dport: 445,
            window: 64240,
            flags: TcpFlags(TcpFlags::SYN),
            ..Default::default()
        }),
    };
    let line = |prefix| FirewallLog {
        ts: ts(),
        header,
        prefix,
        in_iface: "gw-ext",
        out_iface: "br-lan",
        mac: "",
        host: "gw",
    };
    e.process(&Record::Firewall(line("DROP")), &mut out);
    e.process(&Record::Firewall(line("MARK")), &mut out);
    let auth = AuthLog {
        ts: ts(),
        host: "lan".into(),
        service: "sshd".into(),
        pid: Some(1),
        event: AuthEvent::Failed,
        method: Some("password".into()),
        user: Some("root".into()),
        invalid_user: false,
        src: Some("10.99.2.66".parse().unwrap()),
        port: Some(40000),
    };
    e.process(&Record::Auth(auth.clone()), &mut out);
    assert_eq!(out.conns.len(), 1);
    let c = &out.conns[0];
    assert_eq!(
        (c.state, c.history.as_str(), c.dport),
        (ConnState::S0, "S", 445)
    );
    assert!(matches!(&c.origin, ConnOrigin::Firewall { prefix, .. } if prefix == "DROP"));
    assert_eq!(out.auth, vec![auth]);
    let s = e.stats();
    assert_eq!(
        (
            s.firewall,
            s.firewall_connections,
            s.firewall_other,
            s.auth,
            s.connections
        ),
        (2, 1, 1, 1, 1)
    );
    assert_eq!(
        e.detector_names(),
        ["connwatch", "scan", "tripwire", "bruteforce", "osfp"]
    );
}
