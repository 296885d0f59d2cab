//! The matcher on hand-built packets: each test states a Suricata
//! semantic and checks a packet that should match and one that should not.

use std::net::IpAddr;
use tripline_core::{
    Header, HomeNets, IpFields, TcpFields, TcpFlags, Timestamp, Transport, UdpFields,
};
use tripline_rules::matcher::{Buffers, FlowContext, MatcherLimits};
use tripline_rules::{Buffer, FlowBits, Inspect, Rule, SignatureMatcher, Variables, parse_rule};

fn vars() -> Variables {
    Variables::suricata_defaults(&HomeNets::parse(&["192.168.1.0/24"]).unwrap())
}

fn rules(texts: &[&str]) -> Vec<Rule> {
    texts
        .iter()
        .map(|t| parse_rule(t, &vars()).unwrap_or_else(|e| panic!("{t}: {e}")))
        .collect()
}

fn tcp(src: &str, sport: u16, dst: &str, dport: u16, flags: u8) -> Header {
    Header {
        src: src.parse::<IpAddr>().unwrap(),
        dst: dst.parse::<IpAddr>().unwrap(),
        protocol: 6,
        ip: IpFields {
            version: 4,
            ttl: 64,
            ..IpFields::default()
        },
        transport: Transport::Tcp(TcpFields {
            sport,
            dport,
            flags: TcpFlags(flags),
            ..TcpFields::default()
        }),
    }
}

fn udp(src: &str, sport: u16, dst: &str, dport: u16) -> Header {
    Header {
        src: src.parse::<IpAddr>().unwrap(),
        dst: dst.parse::<IpAddr>().unwrap(),
        protocol: 17,
        ip: IpFields {
            version: 4,
            ttl: 64,
            ..IpFields::default()
        },
        transport: Transport::Udp(UdpFields {
            sport,
            dport,
            len: 0,
        }),
    }
}

const EST_TO_SERVER: FlowContext = FlowContext {
    to_server: true,
    established: true,
    stream: false,
    reassembled_fragment: false,
    client_bytes: 0,
    server_bytes: 0,
    repeat: false,
};

fn sids(
    rules: &[Rule],
    m: &mut SignatureMatcher,
    h: &Header,
    payload: &[u8],
    bits: &mut FlowBits,
) -> Vec<u32> {
    let i = Inspect::packet(Timestamp(1_000_000_000), h, payload, EST_TO_SERVER);
    let mut out = Vec::new();
    m.inspect(&i, bits, &mut out);
    out.iter().map(|x| rules[x.rule].sid).collect()
}

fn matcher(texts: &[&str]) -> (Vec<Rule>, SignatureMatcher) {
    let r = rules(texts);
    let (m, refused) = SignatureMatcher::new(&r, MatcherLimits::default());
    assert!(refused.is_empty(), "{refused:?}");
    (r, m)
}

fn one(text: &str, h: &Header, payload: &[u8]) -> bool {
    let (r, mut m) = matcher(&[text]);
    !sids(&r, &mut m, h, payload, &mut FlowBits::default()).is_empty()
}

fn web() -> Header {
    tcp("10.0.0.1", 40000, "192.168.1.5", 80, 0x18)
}

#[test]
fn relative_content_backtracks_to_a_later_occurrence() {
    let r = r#"alert tcp any any -> any any (msg:"x"; content:"ab"; content:"cd"; distance:0; within:3; sid:1;)"#;
    // The first "ab" is followed by "cd" too far away; the second is close.
    assert!(one(r, &web(), b"ab-----cd--ab-cd"));
    assert!(!one(r, &web(), b"ab-----cd"));
}

#[test]
fn offset_depth_nocase_negation() {
    let r = r#"alert tcp any any -> any 80 (msg:"x"; content:"get"; nocase; offset:0; depth:3; content:!"admin"; sid:2;)"#;
    assert!(one(r, &web(), b"GET /index"));
    assert!(!one(r, &web(), b"GET /admin"));
    assert!(!one(r, &web(), b" GET /index"));
    // port 80 only
    assert!(!one(
        r,
        &tcp("10.0.0.1", 1, "192.168.1.5", 81, 0x18),
        b"GET /"
    ));
}

#[test]
fn startswith_endswith_and_isdataat() {
    let r = r#"alert tcp any any -> any any (msg:"x"; content:"USER"; startswith; isdataat:10,relative; sid:3;)"#;
    assert!(one(r, &web(), b"USER 0123456789"));
    assert!(!one(r, &web(), b"USER 0123"));
    assert!(!one(r, &web(), b" USER 0123456789"));
    let e = r#"alert tcp any any -> any any (msg:"x"; content:".exe"; endswith; sid:4;)"#;
    assert!(one(e, &web(), b"GET /a.exe"));
    assert!(!one(e, &web(), b"GET /a.exe?"));
}

#[test]
fn pcre_relative_and_flags() {
    let r = r#"alert tcp any any -> any any (msg:"x"; content:"id="; pcre:"/^[0-9]+'/R"; sid:5;)"#;
    assert!(one(r, &web(), b"GET /?id=12' or 1=1"));
    assert!(!one(r, &web(), b"GET /?id=x12'"));
    let i = r#"alert tcp any any -> any any (msg:"x"; pcre:"/select.+from/i"; sid:6;)"#;
    assert!(one(i, &web(), b"a SELECT * FROM t"));
    assert!(!one(i, &web(), b"a SELECT *"));
}

#[test]
fn byte_test_jump_extract() {
    // length-prefixed field: 1 byte length, then that many bytes, then "OK"
    let j =
        r#"alert tcp any any -> any any (msg:"x"; byte_jump:1,0; content:"OK"; within:2; sid:7;)"#;
    assert!(one(j, &web(), b"\x03abcOK"));
    assert!(!one(j, &web(), b"\x02abcOK"));
    let t = r#"alert tcp any any -> any any (msg:"x"; content:"LEN"; byte_test:2,>,1000,0,relative; sid:8;)"#;
    assert!(one(t, &web(), b"LEN\x04\x00"));
    assert!(!one(t, &web(), b"LEN\x03\x00"));
    let e = r#"alert tcp any any -> any any (msg:"x"; byte_extract:1,0,n; content:"Z"; offset:n; depth:1; sid:9;)"#;
    assert!(one(e, &web(), b"\x04xxxZ"));
    assert!(!one(e, &web(), b"\x03xxxZ"));
    let s = r#"alert tcp any any -> any any (msg:"x"; content:"Content-Length: "; byte_test:0,>,100,0,relative,string,dec; sid:10;)"#;
    assert!(one(s, &web(), b"Content-Length: 5000\r\n"));
    assert!(!one(s, &web(), b"Content-Length: 50\r\n"));
}

#[test]
fn header_tests_and_flow() {
    let r = r#"alert tcp any any -> any any (msg:"syn fin"; flags:SF,12; sid:11;)"#;
    let h = |f| tcp("10.0.0.1", 1, "192.168.1.5", 22, f);
    assert!(one(r, &h(0x03), b""));
    assert!(one(r, &h(0x03 | 0xc0), b""), "12 = CWR/ECE masked");
    assert!(!one(r, &h(0x02), b""));
    let d =
        r#"alert tcp any any -> any any (msg:"x"; dsize:>3; flow:established,to_client; sid:12;)"#;
    assert!(
        !one(d, &web(), b"abcd"),
        "to_client rule on a to_server packet"
    );
}

#[test]
fn flowbits_carry_state_across_packets() {
    let (r, mut m) = matcher(&[
        r#"alert tcp any any -> any any (msg:"login"; content:"LOGIN"; flowbits:set,logged_in; flowbits:noalert; sid:20;)"#,
        r#"alert tcp any any -> any any (msg:"cmd after login"; content:"RUN"; flowbits:isset,logged_in; sid:21;)"#,
    ]);
    let mut bits = FlowBits::default();
    assert!(sids(&r, &mut m, &web(), b"RUN x", &mut bits).is_empty());
    assert!(
        sids(&r, &mut m, &web(), b"LOGIN bob", &mut bits).is_empty(),
        "noalert"
    );
    assert_eq!(sids(&r, &mut m, &web(), b"RUN x", &mut bits), vec![21]);
    // Setter and tester in one packet: the setter runs first.
    let mut fresh = FlowBits::default();
    assert_eq!(sids(&r, &mut m, &web(), b"LOGIN RUN", &mut fresh), vec![21]);
}

#[test]
fn threshold_limits_alerts() {
    let (r, mut m) = matcher(&[
        r#"alert tcp any any -> any any (msg:"x"; content:"A"; threshold:type limit, track by_src, count 2, seconds 60; sid:30;)"#,
    ]);
    let n: usize = (0..5)
        .map(|_| sids(&r, &mut m, &web(), b"A", &mut FlowBits::default()).len())
        .sum();
    assert_eq!(n, 2);
    assert_eq!(m.stats().thresholded, 3);
}

#[test]
fn pass_rule_cancels_alerts_of_the_packet() {
    let (r, mut m) = matcher(&[
        r#"alert tcp any any -> any any (msg:"x"; content:"A"; sid:40;)"#,
        r#"pass tcp 10.0.0.1 any -> any any (msg:"trusted"; sid:41;)"#,
    ]);
    assert!(sids(&r, &mut m, &web(), b"A", &mut FlowBits::default()).is_empty());
    let other = tcp("10.0.0.2", 40000, "192.168.1.5", 80, 0x18);
    assert_eq!(
        sids(&r, &mut m, &other, b"A", &mut FlowBits::default()),
        vec![40]
    );
}

#[test]
fn header_only_ip_list_rules_use_the_address_index_and_logs() {
    let (r, mut m) = matcher(&[
        r#"alert ip [203.0.113.0/24,198.51.100.7] any -> $HOME_NET any (msg:"bad host"; sid:50;)"#,
        r#"alert tcp any any -> $HOME_NET 23 (msg:"telnet"; flags:S; sid:51;)"#,
        r#"alert tcp any any -> $HOME_NET any (msg:"needs payload"; content:"x"; sid:52;)"#,
    ]);
    let h = tcp("198.51.100.7", 1234, "192.168.1.9", 23, 0x02);
    let i = Inspect::header_only(Timestamp(0), &h, 0, FlowContext::default());
    let mut out = Vec::new();
    m.inspect(&i, &mut FlowBits::default(), &mut out);
    let got: Vec<u32> = out.iter().map(|x| r[x.rule].sid).collect();
    assert_eq!(got, vec![50, 51]);
    let clean = tcp("198.51.100.8", 1234, "192.168.1.9", 22, 0x02);
    let i = Inspect::header_only(Timestamp(0), &clean, 0, FlowContext::default());
    out.clear();
    m.inspect(&i, &mut FlowBits::default(), &mut out);
    assert!(out.is_empty());
}

#[test]
fn dns_query_with_dotprefix_endswith() {
    let (r, mut m) = matcher(&[
        r#"alert dns any any -> any any (msg:"evil domain"; dns.query; dotprefix; content:".evil.example"; nocase; endswith; sid:60;)"#,
    ]);
    let h = udp("192.168.1.5", 5353, "192.168.1.1", 53);
    let mut check = |q: &[u8]| {
        let mut b = Buffers::new();
        b.set(Buffer::Packet, b"..");
        b.set(Buffer::DnsQuery, q);
        let mut i = Inspect::packet(Timestamp(0), &h, b"..", EST_TO_SERVER);
        i.buffers = b;
        i.app_proto = Some(tripline_rules::header::AppProto::Dns);
        let mut out = Vec::new();
        m.inspect(&i, &mut FlowBits::default(), &mut out);
        out.iter().map(|x| r[x.rule].sid).collect::<Vec<_>>()
    };
    assert_eq!(check(b"evil.example"), vec![60]);
    assert_eq!(check(b"www.EVIL.example"), vec![60]);
    assert!(check(b"notevil.example").is_empty());
    assert!(check(b"evil.example.com").is_empty());
}

#[test]
fn unsupported_constructs_are_refused_with_a_reason() {
    let r = rules(&[r#"alert tcp any any -> any any (msg:"x"; pcre:"/a$/E"; sid:70;)"#]);
    let (m, refused) = SignatureMatcher::new(&r, MatcherLimits::default());
    assert_eq!(m.len(), 0);
    assert_eq!(refused.len(), 1);
    assert!(refused[0].1.0.contains("pcre flag E"));
}

/// Deferred mode (parallel workers) settled in input order raises exactly
/// the alerts of the matcher alone: xbits set on one flow and tested on
/// another, thresholds by source and detection filters by destination
/// across flows, a pass rule.
#[test]
fn deferred_cross_flow_matches_settle_like_one_matcher() {
    let texts = [
        r#"alert tcp any any -> any any (content:"login"; xbits:set,seen,track ip_src,expire 60; noalert; sid:1;)"#,
        r#"alert udp any any -> any any (content:"exfil"; xbits:isset,seen,track ip_src; sid:2;)"#,
        r#"alert udp any any -> any any (content:"exfil"; xbits:isnotset,seen,track ip_src; sid:3;)"#,
        r#"alert tcp any any -> any any (content:"probe"; threshold:type threshold,track by_src,count 2,seconds 60; sid:4;)"#,
        r#"alert tcp any any -> any any (content:"probe"; detection_filter:track by_dst,count 1,seconds 60; sid:5;)"#,
        r#"pass tcp any any -> any any (content:"probe-ok"; sid:6;)"#,
        r#"alert tcp any any -> any any (content:"probe"; sid:7;)"#,
    ];
    let packets: Vec<(Header, &[u8])> = vec![
        (udp("10.0.0.1", 5000, "192.168.1.2", 53), b"exfil"),
        (tcp("10.0.0.1", 1000, "192.168.1.2", 22, 0x18), b"login"),
        (udp("10.0.0.1", 5001, "192.168.1.3", 53), b"exfil"),
        (udp("10.0.0.9", 5001, "192.168.1.3", 53), b"exfil"),
        (tcp("10.0.0.1", 1001, "192.168.1.2", 80, 0x18), b"probe"),
        (tcp("10.0.0.1", 1002, "192.168.1.4", 80, 0x18), b"probe-ok"),
        (tcp("10.0.0.1", 1003, "192.168.1.2", 80, 0x18), b"probe"),
        (tcp("10.0.0.1", 1004, "192.168.1.2", 80, 0x18), b"probe"),
        (tcp("10.0.0.1", 1005, "192.168.1.2", 80, 0x18), b"probe"),
    ];
    let inspect = |m: &mut SignatureMatcher, (n, (h, p)): (usize, &(Header, &[u8]))| {
        let i = Inspect::packet(Timestamp(n as i64 * 1_000_000_000), h, p, EST_TO_SERVER);
        let mut out = Vec::new();
        m.inspect(&i, &mut FlowBits::default(), &mut out);
        out
    };
    let (rules, mut alone) = matcher(&texts);
    let mut want: Vec<(usize, u32)> = Vec::new();
    for pkt in packets.iter().enumerate() {
        want.extend(
            inspect(&mut alone, pkt)
                .iter()
                .map(|m| (pkt.0, rules[m.rule].sid)),
        );
    }
    assert_eq!(
        want,
        [
            (0, 3),
            (2, 2),
            (3, 3),
            (4, 7),
            (6, 4),
            (6, 5),
            (6, 7),
            (7, 5),
            (7, 7),
            (8, 4),
            (8, 5),
            (8, 7)
        ]
        .to_vec(),
        "the matcher alone"
    );
    // Two "workers" (one per packet parity) and one settling side.
    let (_, mut even) = matcher(&texts);
    let (_, mut odd) = matcher(&texts);
    even.defer_cross_flow().unwrap();
    odd.defer_cross_flow().unwrap();
    let mut settle = even.cross_flow().fresh();
    let mut got = Vec::new();
    for pkt in packets.iter().enumerate() {
        let worker = if pkt.0 % 2 == 0 { &mut even } else { &mut odd };
        for m in inspect(worker, pkt) {
            let n = m.pending.map_or(1, |p| settle.settle(&p));
            got.extend(std::iter::repeat_n((pkt.0, rules[m.rule].sid), n as usize));
        }
    }
    assert_eq!(got, want);
    assert_eq!(settle.stats().alerts, 8);
}

#[test]
fn deferred_mode_is_refused_when_an_xbits_test_feeds_flowbits() {
    let (_, mut m) = matcher(&[
        r#"alert tcp any any -> any any (xbits:isset,x,track ip_src; flowbits:set,y; sid:1;)"#,
    ]);
    let e = m.defer_cross_flow().unwrap_err();
    assert!(e.contains("writes flowbits"), "{e}");
}

#[test]
fn traffic_flowbits_become_tags_once_set() {
    let (_, mut m) = matcher(&[
        r#"alert tcp any any -> any any (content:"Mozilla"; flowbits:set,traffic/id/mozilla; flowbits:set,traffic/label/browser; flowbits:set,other; sid:1;)"#,
        r#"alert tcp any any -> any any (flowbits:isset,traffic/id/; content:"x"; sid:2;)"#,
    ]);
    let h = web();
    let mut bits = FlowBits::default();
    assert_eq!(m.traffic_tags(&bits).count(), 0);
    let mut out = Vec::new();
    m.inspect(
        &Inspect::packet(Timestamp(1), &h, b"UA: Mozilla", EST_TO_SERVER),
        &mut bits,
        &mut out,
    );
    assert_eq!(out.len(), 1);
    let tags: Vec<(bool, &str)> = m
        .traffic_tags(&bits)
        .map(|t| (t.is_id, t.name.as_str()))
        .collect();
    assert_eq!(tags, [(true, "mozilla"), (false, "browser")]);
}

#[test]
fn matches_say_whether_they_were_on_the_stream() {
    let (_, mut m) = matcher(&[
        r#"alert tcp any any -> any any (content:"EVIL"; sid:1;)"#,
        r#"alert tcp-pkt any any -> any any (content:"EVIL"; sid:2;)"#,
    ]);
    let h = web();
    let mut i = Inspect::packet(Timestamp(1), &h, b"EVIL", EST_TO_SERVER);
    i.stream = Some(tripline_rules::matcher::context::StreamData {
        bytes: b"EVIL",
        offset: 0,
        new_from: 0,
        payload_in_stream: true,
    });
    let mut out = Vec::new();
    m.inspect(&i, &mut FlowBits::default(), &mut out);
    let got: Vec<(usize, bool)> = out.iter().map(|x| (x.rule, x.stream)).collect();
    assert_eq!(got, [(0, true), (1, false)]);
    out.clear();
    i.stream = None;
    m.inspect(&i, &mut FlowBits::default(), &mut out);
    assert!(out.iter().all(|x| !x.stream) && out.len() == 2);
}
