//! Flow table runs on real packet headers and under a spoofed-source flood.

use std::net::{IpAddr, Ipv4Addr};
use tripline_core::{
    ConnState, Connection, Direction, Header, HomeNets, IpFields, TcpFields, TcpFlags, Timestamp,
    Transport, ip_proto,
};
use tripline_detect::{FlowConfig, FlowTable};

/// The 82 packets of connection C04 (10.99.1.2:37642 -> 10.99.2.3:80, a
/// 64 KiB HTTP download) as tshark printed them from dnsconn/capture.pcap.
const C04: &str = include_str!("data/c04_flow.tsv");

fn c04_packets() -> Vec<(Timestamp, Header, usize)> {
    C04.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let (s, frac) = f[0].split_once('.').unwrap();
            let ts = Timestamp::from_secs_nanos(s.parse().unwrap(), frac.parse().unwrap());
            let flags = u8::from_str_radix(f[5].trim_start_matches("0x"), 16).unwrap();
            let header = Header {
                src: f[1].parse().unwrap(),
                dst: f[2].parse().unwrap(),
                protocol: ip_proto::TCP,
                ip: IpFields {
                    total_len: f[9].parse().unwrap(),
                    ttl: f[11].parse().unwrap(),
                    ..Default::default()
                },
                transport: Transport::Tcp(TcpFields {
                    sport: f[3].parse().unwrap(),
                    dport: f[4].parse().unwrap(),
                    seq: Some(f[6].parse().unwrap()),
                    ack: Some(f[7].parse().unwrap()),
                    window: f[10].parse().unwrap(),
                    flags: TcpFlags(flags),
                    ..Default::default()
                }),
            };
            (ts, header, f[8].parse().unwrap())
        })
        .collect()
}

#[test]
fn real_http_download_is_one_sf_connection() {
    let mut table = FlowTable::new(
        FlowConfig::default(),
        HomeNets::parse(&["10.99.1.0/24"]).unwrap(),
    );
    let mut out: Vec<Connection> = Vec::new();
    let packets = c04_packets();
    assert_eq!(packets.len(), 82);
    for (ts, h, payload) in &packets {
        table.observe(*ts, h, *payload, h.ip.total_len as u32 + 14, &mut |c| {
            out.push(c)
        });
    }
    assert!(out.is_empty());
    let last = packets.last().unwrap().0;
    table.advance(last.add_nanos(5_000_000_000), &mut |c| out.push(c));
    assert_eq!(
        out.len(),
        1,
        "emitted once the FIN exchange has lingered 5 s"
    );
    let c = &out[0];
    assert_eq!(c.src, "10.99.1.2".parse::<IpAddr>().unwrap());
    assert_eq!((c.sport, c.dport), (37642, 80));
    // Totals computed with awk over the same tshark rows (ip.len sums).
    assert_eq!(
        (c.orig_packets, c.orig_bytes, c.resp_packets, c.resp_bytes),
        (31, 1713, 51, 68399)
    );
    assert_eq!((c.state, c.history.as_str()), (ConnState::SF, "ShADadfF"));
    assert_eq!(c.direction, Direction::Outbound);
    // tshark --enable-protocol communityid on the same packets.
    assert_eq!(c.community_id, "1:CNbZBZobuW0I+N9K1Y+jQlXNNwo=");
    assert_eq!((c.start, c.end), (packets[0].0, last));
}

#[test]
fn spoofed_syn_flood_stays_within_the_cap() {
    const CAP: usize = 10_000;
    const SOURCES: u32 = 1_000_000;
    let mut table = FlowTable::new(
        FlowConfig {
            max_flows: CAP,
            ..FlowConfig::default()
        },
        HomeNets::default(),
    );
    let mut emitted = 0u64;
    let mut peak = 0usize;
    let start = Timestamp::from_secs_micros(1_795_349_736, 0);
    for i in 0..SOURCES {
        let h = Header {
            src: IpAddr::V4(Ipv4Addr::from(
                0x0A63_0000 | (i & 0xFFFF) | ((i >> 16) << 24),
            )),
            dst: "10.99.1.3".parse().unwrap(),
            protocol: ip_proto::TCP,
            ip: IpFields {
                total_len: 40,
                ..Default::default()
            },
            transport: Transport::Tcp(TcpFields {
                sport: 1024 + (i % 60_000) as u16,
                dport: 80,
                seq: Some(i),
                flags: TcpFlags(TcpFlags::SYN),
                ..Default::default()
            }),
        };
        // 100k packets per second: the flood lasts 10 s, under every timeout.
        table.observe(start.add_nanos(i as i64 * 10_000), &h, 0, 54, &mut |c| {
            assert_eq!(c.state, ConnState::S0);
            emitted += 1;
        });
        peak = peak.max(table.len());
    }
    let m = table.metrics();
    assert_eq!(peak, CAP);
    assert_eq!(m.created, SOURCES as u64);
    assert_eq!(m.evicted, (SOURCES as usize - CAP) as u64);
    assert_eq!(emitted, m.evicted);
    assert!(
        table.memory_estimate() < 64 * 1024 * 1024,
        "{} bytes",
        table.memory_estimate()
    );
}
