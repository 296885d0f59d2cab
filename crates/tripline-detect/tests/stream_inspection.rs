//! Raw stream inspection of TCP payload rules by the signature detector:
//! content spanning segments, out-of-order segments, `flow:only_stream` /
//! `no_stream`, `dsize`, and the reassembly depth, on hand-built TCP
//! connections (handshake, then data segments with real sequence numbers).

use std::net::IpAddr;
use tripline_core::{
    Alert, AuthLog, Connection, DnsLog, Header, HomeNets, IpFields, LinkInfo, Packet, Record,
    TcpFields, TcpFlags, Timestamp, Transport,
};
use tripline_detect::detectors::signature::SignatureConfig;
use tripline_detect::reassembly::ReassemblyConfig;
use tripline_detect::{Engine, EngineConfig, EngineOutput};
use tripline_rules::{Rule, Variables, parse_rule};

const CLIENT_ISN: u32 = 1000;
const SERVER_ISN: u32 = 5000;
const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const PSH_ACK: u8 = 0x18;

#[derive(Default)]
struct Collect(Vec<Alert>);

impl EngineOutput for Collect {
    fn connection(&mut self, _c: Connection) {}
    fn dns(&mut self, _d: DnsLog) {}
    fn auth(&mut self, _a: AuthLog) {}
    fn alert(&mut self, a: Alert) {
        if a.detector == "signature" {
            self.0.push(a);
        }
    }
}

fn rules(texts: &[&str]) -> Vec<Rule> {
    let vars = Variables::suricata_defaults(&HomeNets::parse(&["10.0.0.0/8"]).unwrap());
    texts
        .iter()
        .map(|t| parse_rule(t, &vars).unwrap_or_else(|e| panic!("{t}: {e}")))
        .collect()
}

/// One TCP connection from 10.0.0.1:40000 to 10.0.0.2:80 fed to an engine.
struct Conn {
    engine: Engine,
    out: Collect,
    t: i64,
}

impl Conn {
    fn new(rule_texts: &[&str], reassembly: ReassemblyConfig) -> Conn {
        let signature = SignatureConfig {
            reassembly,
            ..SignatureConfig::with_rules(rules(rule_texts), None)
        };
        let mut c = Conn {
            engine: Engine::new(EngineConfig {
                signature,
                ..Default::default()
            }),
            out: Collect::default(),
            t: 1_000_000_000,
        };
        c.send(true, SYN, CLIENT_ISN, 0, b"");
        c.send(false, SYN | ACK, SERVER_ISN, CLIENT_ISN + 1, b"");
        c.send(true, ACK, CLIENT_ISN + 1, SERVER_ISN + 1, b"");
        c
    }

    fn send(&mut self, to_server: bool, flags: u8, seq: u32, ack: u32, payload: &[u8]) {
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let (src, dst, sport, dport) = if to_server {
            (a, b, 40000, 80)
        } else {
            (b, a, 80, 40000)
        };
        let header = Header {
            src,
            dst,
            protocol: 6,
            ip: IpFields {
                total_len: 40 + payload.len() as u16,
                ttl: 64,
                ..IpFields::default()
            },
            transport: Transport::Tcp(TcpFields {
                sport,
                dport,
                seq: Some(seq),
                ack: (flags & ACK != 0).then_some(ack),
                window: 65535,
                flags: TcpFlags(flags),
                ..TcpFields::default()
            }),
        };
        self.t += 1_000_000;
        let p = Packet {
            ts: Timestamp(self.t),
            header,
            payload,
            wire_len: 54 + payload.len() as u32,
            frame: &[],
            link: LinkInfo::default(),
        };
        self.engine.process(&Record::Packet(p), &mut self.out);
    }

    /// Client data at stream offset `at` (0 = first byte after the SYN).
    fn data(&mut self, at: u32, payload: &[u8]) {
        self.send(true, PSH_ACK, CLIENT_ISN + 1 + at, SERVER_ISN + 1, payload);
    }

    fn sids(&self) -> Vec<u32> {
        let mut s: Vec<u32> = self.out.0.iter().map(|a| a.sid).collect();
        s.sort_unstable();
        s
    }
}

#[test]
fn content_spanning_two_segments_alerts_once() {
    let mut c = Conn::new(
        &[
            r#"alert tcp any any -> any any (msg:"split"; flow:established,to_server; content:"EVILSTRING"; sid:1;)"#,
        ],
        ReassemblyConfig::default(),
    );
    c.data(0, b"hello EVIL");
    assert!(c.sids().is_empty(), "half the pattern must not match");
    c.data(10, b"STRING and more");
    assert_eq!(c.sids(), vec![1]);
    // Later data: the old match is in the overlap, but must not alert again.
    c.data(25, b" unrelated tail");
    c.data(40, b"xx");
    assert_eq!(c.sids(), vec![1]);
    // A second occurrence further on is a new stream position.
    c.data(42, b"EVILSTRING");
    assert_eq!(c.sids(), vec![1, 1]);
}

#[test]
fn fast_pattern_in_an_earlier_segment_still_makes_the_rule_a_candidate() {
    // The stream scan only re-reads as much look-back as the longest
    // pattern needs; a rule whose fast pattern was found before is
    // remembered while that pattern can be in the look-back.
    let mut c = Conn::new(
        &[
            r#"alert tcp any any -> any any (msg:"two parts"; flow:established,to_server; content:"LONGFASTPATTERN"; content:"tail"; distance:0; sid:3;)"#,
        ],
        ReassemblyConfig::default(),
    );
    c.data(0, b"xx LONGFASTPATTERN then");
    assert!(c.sids().is_empty());
    c.data(23, b" some more bytes");
    c.data(39, b" and a tail");
    assert_eq!(c.sids(), vec![3]);
    // Beyond the look-back window the earlier pattern is gone.
    let mut far = Conn::new(
        &[
            r#"alert tcp any any -> any any (msg:"two parts"; flow:established,to_server; content:"LONGFASTPATTERN"; content:"tail"; distance:0; sid:3;)"#,
        ],
        ReassemblyConfig {
            window: 64,
            ..ReassemblyConfig::default()
        },
    );
    far.data(0, b"xx LONGFASTPATTERN then");
    far.data(23, &[b'.'; 200]);
    far.data(223, b" and a tail");
    assert!(far.sids().is_empty());
}

#[test]
fn content_in_one_segment_alerts_once_not_per_packet_and_stream() {
    let mut c = Conn::new(
        &[r#"alert tcp any any -> any any (msg:"one"; content:"needle"; sid:2;)"#],
        ReassemblyConfig::default(),
    );
    c.data(0, b"a needle here");
    // A retransmission of the same bytes is not a new stream position.
    c.data(0, b"a needle here");
    assert_eq!(c.sids(), vec![2]);
}

#[test]
fn out_of_order_segments_match_once_in_order() {
    let mut c = Conn::new(
        &[r#"alert tcp any any -> any any (msg:"ooo"; content:"ABCDEF"; sid:3;)"#],
        ReassemblyConfig::default(),
    );
    // "xxABC" at 0, "DEFyy" at 5, sent second first.
    c.data(5, b"DEFyy");
    assert!(c.sids().is_empty(), "nothing in order yet");
    c.data(0, b"xxABC");
    assert_eq!(c.sids(), vec![3]);
    // A gap that is never filled: the bytes after it are not inspected as
    // a stream (they are not in order), and not matched across the gap.
    c.data(20, b"DEF");
    c.data(12, b"ABC");
    assert_eq!(c.sids(), vec![3]);
}

#[test]
fn lost_segment_is_skipped_once_acknowledged() {
    let mut c = Conn::new(
        &[
            r#"alert tcp any any -> any any (msg:"after"; content:"AFTERGAP"; sid:5;)"#,
            r#"alert tcp any any -> any any (msg:"across"; content:"BEFOREAFTER"; sid:6;)"#,
        ],
        ReassemblyConfig::default(),
    );
    c.data(0, b"xxBEFORE");
    // Bytes 8..12 never reach the capture; the next segment waits.
    c.data(12, b"AFTERGAP");
    assert!(c.sids().is_empty());
    // The server acknowledges all of it: the capture lost the hole.
    c.send(false, ACK, SERVER_ISN + 1, CLIENT_ISN + 1 + 20, b"");
    c.data(20, b"!");
    // The stream goes on after the gap, and never matches across it.
    assert_eq!(c.sids(), vec![5]);
}

#[test]
fn only_stream_and_no_stream() {
    let texts = [
        r#"alert tcp any any -> any any (msg:"stream only"; flow:only_stream; content:"PAYLOAD"; sid:10;)"#,
        r#"alert tcp any any -> any any (msg:"packet only"; flow:no_stream; content:"PAYLOAD"; sid:11;)"#,
        r#"alert tcp any any -> any any (msg:"default"; content:"PAYLOAD"; sid:12;)"#,
        r#"alert tcp-stream any any -> any any (msg:"tcp-stream"; content:"PAYLOAD"; sid:13;)"#,
        r#"alert tcp-pkt any any -> any any (msg:"tcp-pkt"; content:"PAYLOAD"; sid:14;)"#,
        r#"alert tcp any any -> any any (msg:"dsize"; dsize:>3; content:"PAYLOAD"; sid:15;)"#,
    ];
    // In one segment: every rule matches once (stream or packet).
    let mut c = Conn::new(&texts, ReassemblyConfig::default());
    c.data(0, b"PAYLOAD");
    assert_eq!(c.sids(), vec![10, 11, 12, 13, 14, 15]);
    // Split over two segments: only the stream sees it.
    let mut c = Conn::new(&texts, ReassemblyConfig::default());
    c.data(0, b"PAY");
    c.data(3, b"LOAD");
    assert_eq!(c.sids(), vec![10, 12, 13]);
}

#[test]
fn anchored_content_inspects_stream_then_packet() {
    let texts =
        [r#"alert tcp any any -> any any (msg:"anchored"; content:"GET "; depth:4; sid:20;)"#];
    let mut c = Conn::new(&texts, ReassemblyConfig::default());
    // Rules anchored with depth inspect the stream and every packet, each
    // match alerting (Suricata's stream inspection and packet fallback):
    // the first request matches both at the stream start and as a packet.
    c.data(0, b"GET /a HTTP/1.0\r\n\r\n");
    assert_eq!(c.sids(), vec![20, 20]);
    // The second starts a packet but not the stream: the stream's bytes
    // at offset 0 were inspected already, so only the packet alerts.
    c.data(19, b"GET /b HTTP/1.0\r\n\r\n");
    assert_eq!(c.sids(), vec![20, 20, 20]);
    // Split over segments, it is in neither the stream start nor a packet.
    c.data(38, b"xxGE");
    c.data(42, b"T /c");
    assert_eq!(c.sids(), vec![20, 20, 20]);
}

#[test]
fn depth_cap_falls_back_to_packets() {
    let texts = [
        r#"alert tcp any any -> any any (msg:"span"; content:"SPLITME"; sid:30;)"#,
        r#"alert tcp any any -> any any (msg:"stream only"; flow:only_stream; content:"LATE"; sid:31;)"#,
        r#"alert tcp any any -> any any (msg:"default"; content:"LATE"; sid:32;)"#,
    ];
    let cfg = ReassemblyConfig {
        depth: 16,
        ..ReassemblyConfig::default()
    };
    let mut c = Conn::new(&texts, cfg);
    c.data(0, b"0123456789SPL");
    c.data(13, b"ITME");
    // Bytes 13..16 are within the depth ("ITM"), the "E" is not: the
    // stream never holds the whole pattern.
    assert!(c.sids().is_empty());
    // Beyond the depth nothing goes into the stream: the packet is
    // inspected on its own, and stream-only rules see nothing.
    c.data(17, b"LATE");
    assert_eq!(c.sids(), vec![32]);
}

#[test]
fn no_reassembly_without_stream_or_app_rules() {
    // A UDP-only rule set: TCP content split over segments never matches
    // (nothing reassembles), and a TCP rule with dsize only sees packets.
    let texts = [
        r#"alert udp any any -> any any (msg:"udp"; content:"SPLITME"; sid:40;)"#,
        r#"alert tcp any any -> any any (msg:"dsize"; dsize:>0; content:"SPLITME"; sid:41;)"#,
    ];
    let mut c = Conn::new(&texts, ReassemblyConfig::default());
    c.data(0, b"SPLIT");
    c.data(5, b"ME");
    c.data(7, b"SPLITME");
    assert_eq!(c.sids(), vec![41]);
}

#[test]
fn a_request_cut_by_the_end_of_the_capture_is_inspected_at_the_end() {
    let mut c = Conn::new(
        &[r#"alert http any any -> any any (msg:"uri"; http.uri; content:"/admin.php"; sid:9;)"#],
        ReassemblyConfig::default(),
    );
    // The head never ends (no blank line) and the client never closes.
    c.data(
        0,
        b"GET /admin.php?x=1 HTTP/1.1\r\nHost: example\r\nUser-Agent: x",
    );
    assert!(
        c.sids().is_empty(),
        "an incomplete head is not a request yet"
    );
    c.engine.finish(&mut c.out);
    assert_eq!(c.sids(), vec![9]);
    let a = &c.out.0[0];
    assert_eq!(
        (a.src.map(|s| s.to_string()), a.dport),
        (Some("10.0.0.1".to_string()), Some(80)),
        "the alert names the client and the server port"
    );
    // The transaction as EVE's `http` object.
    assert_eq!(a.details["http"]["url"], "/admin.php?x=1");
    assert_eq!(a.details["http"]["http_method"], "GET");
    assert_eq!(a.details["app_proto"], "http");
}
