use super::*;
use crate::test_packets::*;
use tripline_core::{ConnState, Direction};

fn table(config: FlowConfig) -> FlowTable {
    FlowTable::new(config, HomeNets::parse(&["10.99.1.0/24"]).unwrap())
}

/// Feeds packets `(seconds, header)`; returns what was emitted.
fn feed(t_: &mut FlowTable, packets: &[(f64, Header)]) -> Vec<Connection> {
    let mut out = Vec::new();
    for (secs, h) in packets {
        let payload =
            (h.ip.total_len as usize).saturating_sub(if h.tcp().is_some() { 52 } else { 28 });
        t_.observe(t(*secs), h, payload, h.ip.total_len as u32 + 14, &mut |c| {
            out.push(c)
        });
    }
    out
}

#[test]
fn closed_tcp_flow_is_emitted_after_the_linger() {
    let mut ft = table(FlowConfig::default());
    let pkts = [
        (0.0, out(S, 100, 0)),
        (0.001, back(SA, 500, 0)),
        (0.002, out(A, 101, 0)),
        (0.003, out(PA, 101, 93)),
        (0.004, back(PA, 501, 203)),
        (0.005, back(FA, 704, 0)),
        (0.006, out(FA, 194, 0)),
        (0.007, back(A, 705, 0)),
    ];
    assert!(feed(&mut ft, &pkts).is_empty());
    let mut out = Vec::new();
    ft.advance(t(4.0), &mut |c| out.push(c));
    assert!(out.is_empty(), "still lingering");
    ft.advance(t(5.1), &mut |c| out.push(c));
    assert_eq!(out.len(), 1);
    let c = &out[0];
    assert_eq!(
        (c.src, c.sport, c.dst, c.dport, c.protocol),
        (ip(PC), 37642, ip(WEB), 80, 6)
    );
    assert_eq!(
        (c.orig_packets, c.orig_bytes, c.resp_packets, c.resp_bytes),
        (4, 52 * 4 + 93, 4, 52 * 4 + 203)
    );
    assert_eq!(
        (c.state, c.history.as_str(), c.direction),
        (ConnState::SF, "ShADdfFa", Direction::Outbound)
    );
    assert_eq!((c.start, c.end), (t(0.0), t(0.007)));
    assert_eq!(c.community_id, CommunityId::default().of_header(&out_hdr()));
    assert_eq!(
        ft.metrics(),
        FlowMetrics {
            active: 0,
            created: 1,
            expired: 1,
            emitted: 1,
            ..Default::default()
        }
    );
}

fn out_hdr() -> Header {
    out(S, 0, 0)
}

#[test]
fn idle_timeouts_per_protocol() {
    let mut ft = table(FlowConfig::default());
    let q = udp(PC, 44995, "10.99.1.1", 53, 33);
    let syn = out(S, 1, 0);
    let echo = icmp("10.99.2.66", "10.99.1.3", 8, 0);
    assert!(feed(&mut ft, &[(0.0, q), (0.0, syn), (0.0, echo)]).is_empty());
    let mut out = Vec::new();
    ft.advance(t(59.9), &mut |c| out.push(c));
    assert!(out.is_empty());
    ft.advance(t(60.0), &mut |c| out.push(c));
    assert_eq!(
        out.iter().map(|c| c.protocol).collect::<Vec<_>>(),
        vec![17, 1]
    );
    ft.advance(t(299.0), &mut |c| out.push(c));
    assert_eq!(out.len(), 2);
    ft.advance(t(300.0), &mut |c| out.push(c));
    assert_eq!((out.len(), out[2].state), (3, ConnState::S0));
    assert_eq!(ft.metrics().expired, 3);
}

#[test]
fn activity_postpones_expiry() {
    let mut ft = table(FlowConfig::default());
    let q = udp(PC, 44995, "10.99.1.1", 53, 33);
    let emitted = feed(&mut ft, &[(0.0, q), (50.0, q), (100.0, q), (159.0, q)]);
    assert!(emitted.is_empty());
    assert_eq!(ft.len(), 1);
}

#[test]
fn full_table_evicts_the_least_recently_seen() {
    let mut ft = table(FlowConfig {
        max_flows: 2,
        ..FlowConfig::default()
    });
    let a = udp(PC, 1001, WEB, 53, 10);
    let b = udp(PC, 1002, WEB, 53, 10);
    let c = udp(PC, 1003, WEB, 53, 10);
    // `a` is refreshed after `b`, so `b` is the least recently seen.
    let out = feed(&mut ft, &[(0.0, a), (1.0, b), (2.0, a), (3.0, c)]);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].sport, 1002);
    let m = ft.metrics();
    assert_eq!((m.active, m.created, m.evicted, m.emitted), (2, 3, 1, 1));
}

#[test]
fn icmp_echo_and_reply_are_one_flow() {
    let mut ft = table(FlowConfig::default());
    let echo = icmp("10.99.2.66", "10.99.1.3", 8, 0);
    let reply = icmp("10.99.1.3", "10.99.2.66", 0, 0);
    feed(&mut ft, &[(0.0, echo), (0.001, reply)]);
    let mut out = Vec::new();
    ft.flush_all(&mut |c| out.push(c));
    assert_eq!(out.len(), 1);
    let c = &out[0];
    assert_eq!(
        (c.sport, c.dport, c.orig_packets, c.resp_packets, c.state),
        (8, 0, 1, 1, ConnState::SF)
    );
    // Wireshark's value for this flow in scans/capture.pcap.
    assert_eq!(c.community_id, "1:h7V1yItH8vTesDcwq+3YjSzA9PY=");
    assert_eq!(c.direction, Direction::Inbound);
}

#[test]
fn syn_ack_first_flips_the_originator() {
    let mut ft = table(FlowConfig::default());
    feed(&mut ft, &[(0.0, back(SA, 500, 0)), (0.001, out(A, 101, 0))]);
    let mut out = Vec::new();
    ft.flush_all(&mut |c| out.push(c));
    let c = &out[0];
    assert_eq!(
        (c.src, c.sport, c.dport, c.history.as_str()),
        (ip(PC), 37642, 80, "^hA")
    );
    assert_eq!((c.orig_packets, c.resp_packets), (1, 1));
}

#[test]
fn new_syn_on_a_finished_flow_starts_a_new_connection() {
    let mut ft = table(FlowConfig::default());
    let out = feed(
        &mut ft,
        &[
            (0.0, out(S, 100, 0)),
            (0.001, back(RA, 0, 0)),
            (1.0, out(S, 7000, 0)),
        ],
    );
    assert_eq!(out.len(), 1);
    assert_eq!(
        (out[0].state, out[0].history.as_str()),
        (ConnState::REJ, "Sr")
    );
    assert_eq!((ft.len(), ft.metrics().created), (1, 2));
}

#[test]
fn long_lived_flows_are_reported_at_the_active_timeout() {
    let mut ft = table(FlowConfig::default());
    let q = udp(PC, 5000, WEB, 5001, 100);
    let packets: Vec<_> = (0..=80).map(|i| (i as f64 * 50.0, q)).collect();
    let out = feed(&mut ft, &packets);
    // Packets at 0..=3550 s, then the one at 3600 s triggers the report.
    assert_eq!(out.len(), 1);
    assert_eq!(
        (out[0].orig_packets, out[0].start, out[0].end),
        (72, t(0.0), t(3550.0))
    );
    assert_eq!(ft.metrics().active_timeouts, 1);
    let mut rest = Vec::new();
    ft.flush_all(&mut |c| rest.push(c));
    assert_eq!((rest[0].orig_packets, rest[0].start), (9, t(3600.0)));
}

#[test]
fn flush_all_is_oldest_first() {
    let mut ft = table(FlowConfig::default());
    let a = udp(PC, 1001, WEB, 53, 10);
    let b = out(S, 1, 0);
    let c = icmp(PC, WEB, 8, 0);
    feed(&mut ft, &[(0.0, b), (1.0, c), (2.0, a)]);
    let mut out = Vec::new();
    ft.flush_all(&mut |c| out.push(c));
    assert_eq!(
        out.iter().map(|c| c.protocol).collect::<Vec<_>>(),
        vec![6, 1, 17]
    );
    assert!(ft.is_empty());
}

#[test]
fn time_going_backwards_does_not_break_the_table() {
    let mut ft = table(FlowConfig {
        max_flows: 3,
        ..FlowConfig::default()
    });
    let mut out = Vec::new();
    for (i, secs) in [10.0, 5.0, 7.0, 1.0, 100.0, 2.0].into_iter().enumerate() {
        let h = udp(PC, 2000 + i as u16, WEB, 53, 10);
        ft.observe(t(secs), &h, 10, 52, &mut |c| out.push(c));
    }
    ft.flush_all(&mut |c| out.push(c));
    assert_eq!(out.len(), 6);
    assert!(out.iter().all(|c| c.start <= c.end));
}
