//! Unit tests of the filter detector on hand-built Ethernet frames.

use super::*;
use tripline_core::{Alert, AuthLog, Connection, DnsLog, HomeNets};
use tripline_ingest::capture::decode_frame;

#[derive(Default)]
struct Out(Vec<Alert>);

impl EngineOutput for Out {
    fn connection(&mut self, _c: Connection) {}
    fn dns(&mut self, _d: DnsLog) {}
    fn auth(&mut self, _a: AuthLog) {}
    fn alert(&mut self, a: Alert) {
        self.0.push(a);
    }
}

/// Ethernet + IPv4 + TCP from `src`:`sport` to `dst`:`dport` with `flags`.
fn tcp_frame(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, flags: u8) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
    f.extend_from_slice(&[0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    f.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 4, 0, 0, 0, 0, 0]);
    f
}

fn run(det: &mut FilterDetector, frames: &[(f64, Vec<u8>)]) -> Vec<Alert> {
    let home = HomeNets::default();
    let mut out = Out::default();
    let mut now = Timestamp::ZERO;
    for (secs, frame) in frames {
        let d = decode_frame(1, frame).expect("test frame decodes");
        let ts = Timestamp::from_secs_f64(*secs);
        now = now.max(ts);
        let rec = Record::Packet(Packet {
            ts,
            header: d.header,
            payload: d.payload,
            wire_len: frame.len() as u32,
            frame,
            link: d.link,
        });
        let ctx = DetectContext {
            home_nets: &home,
            now,
            os: None,
        };
        det.on_record(&rec, &ctx, &mut out);
    }
    let ctx = DetectContext {
        home_nets: &home,
        now,
        os: None,
    };
    det.finish(&ctx, &mut out);
    out.0
}

fn config(lines: &str) -> FilterConfig {
    let (filters, errors) = parse_filter_list(lines, "test");
    assert!(errors.is_empty(), "{errors:?}");
    FilterConfig {
        filters,
        ..Default::default()
    }
}

const A: [u8; 4] = [10, 99, 2, 66];
const B: [u8; 4] = [10, 99, 1, 3];
const C: [u8; 4] = [10, 99, 1, 2];

#[test]
fn matches_are_aggregated_per_key_and_window() {
    let (mut det, rejected) = FilterDetector::new(config(
        "syn-fin: tcp[13] & 3 = 3\nimap-syn: tcp[13] & 0x12 = 2 and dst port 143\n",
    ));
    assert!(rejected.is_empty(), "{rejected:?}");
    let synfin = tcp_frame(A, 4000, B, 80, 0x03);
    let frames = vec![
        (1.0, synfin.clone()),
        (2.0, synfin.clone()),
        (3.0, tcp_frame(A, 4001, B, 143, 0x02)),
        (4.0, tcp_frame(A, 4001, C, 143, 0x02)),
        (5.0, tcp_frame(A, 4001, C, 143, 0x12)), // SYN-ACK: no match
        (6.0, synfin.clone()),
        // After the 60 s window of the first syn-fin key: a new alert.
        (100.0, synfin.clone()),
    ];
    let alerts = run(&mut det, &frames);
    let summary: Vec<(String, u64)> = alerts
        .iter()
        .map(|a| {
            (
                a.details["filter"].as_str().unwrap().to_string(),
                a.details["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("syn-fin".to_string(), 3),
            ("imap-syn".to_string(), 1),
            ("imap-syn".to_string(), 1),
            ("syn-fin".to_string(), 1),
        ]
    );
    let a = &alerts[0];
    assert_eq!((a.gid, a.sid, a.rev), (GID, sid_for("syn-fin"), 1));
    assert_eq!(a.dport, Some(80));
    assert_eq!(a.sport, Some(4000));
    assert_eq!(a.ts, Timestamp::from_secs_f64(1.0));
    assert_eq!(a.details["origin"], "test:1");
    assert!(a.msg.contains("syn-fin"), "{}", a.msg);
    let m = det.metrics();
    assert_eq!(m.packets, 7);
    assert_eq!(m.matches, 6);
    assert_eq!(m.alerts, 4);
    assert_eq!(det.pending(), 0);
}

#[test]
fn state_is_capped_and_nothing_is_lost() {
    let (mut det, _) = FilterDetector::new(FilterConfig {
        max_keys: 4,
        ..config("syn: tcp[13] & 0x12 = 2\n")
    });
    let frames: Vec<(f64, Vec<u8>)> = (0..20u16)
        .map(|i| (1.0, tcp_frame(A, 1000, B, 1 + i, 0x02)))
        .collect();
    let alerts = run(&mut det, &frames);
    assert_eq!(alerts.len(), 20);
    let m = det.metrics();
    assert_eq!(m.flushed_early, 16);
    assert_eq!(
        alerts
            .iter()
            .map(|a| a.details["count"].as_u64().unwrap())
            .sum::<u64>(),
        20
    );
}

#[test]
fn bad_expressions_are_rejected_with_origin() {
    let (det, rejected) = FilterDetector::new(config(
        "ok: tcp\nbroken: tcp[13] &\nbad-host: host 300.1.1.1\n",
    ));
    assert_eq!(det.filters().count(), 1);
    assert_eq!(rejected.len(), 2);
    assert!(
        rejected[0].starts_with("test:2: filter `broken`"),
        "{}",
        rejected[0]
    );
    assert!(rejected[1].contains("300.1.1.1"), "{}", rejected[1]);
}

#[test]
fn reassembled_datagrams_are_not_filtered() {
    let (mut det, _) = FilterDetector::new(config("all: ip\n"));
    let frame = tcp_frame(A, 1, B, 2, 0x02);
    let d = decode_frame(1, &frame).unwrap();
    let mut header = d.header;
    header.ip.fragmented = true;
    let raw = &frame[14..];
    let home = HomeNets::default();
    let ctx = DetectContext {
        home_nets: &home,
        now: Timestamp::ZERO,
        os: None,
    };
    let rec = Record::Packet(Packet {
        ts: Timestamp::ZERO,
        header,
        payload: &[],
        wire_len: raw.len() as u32,
        frame: raw,
        link: tripline_core::LinkInfo {
            linktype: 101,
            ..Default::default()
        },
    });
    let mut out = Out::default();
    det.on_record(&rec, &ctx, &mut out);
    det.finish(&ctx, &mut out);
    assert!(out.0.is_empty());
    assert_eq!(det.metrics().reassembled_skipped, 1);
}

#[test]
fn sids_are_stable_and_distinct() {
    assert_eq!(sid_for("syn-fin"), sid_for("syn-fin"));
    assert_ne!(sid_for("syn-fin"), sid_for("land"));
    assert!(sid_for("") >= 1 && sid_for("x") < 0x8000_0000);
    let (det, _) = FilterDetector::new(config("a: tcp\nb: udp\nc: icmp\n"));
    let mut sids: Vec<u32> = det.filters().map(|(_, s)| s).collect();
    sids.sort();
    sids.dedup();
    assert_eq!(sids.len(), 3);
}
