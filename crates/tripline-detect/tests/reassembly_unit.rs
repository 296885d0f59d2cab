//! Stream reassembly policy: order, gaps, overlaps, retransmissions,
//! sequence wraparound, FIN/RST, mid-stream pickup, caps and eviction.

use tripline_core::{TcpFlags, Timestamp};
use tripline_detect::reassembly::{Direction, Reassembler, ReassemblyConfig, Segment, StreamChunk};

const C: Direction = Direction::ToServer;
const S: Direction = Direction::ToClient;
const ACK: u8 = TcpFlags::ACK;
const PA: u8 = TcpFlags::PSH | TcpFlags::ACK;

fn seg(direction: Direction, seq: u32, flags: u8, payload: &[u8]) -> Segment<'_> {
    Segment {
        direction,
        seq,
        ack: Some(1),
        flags: TcpFlags(flags),
        payload,
        ts: Timestamp::from_secs_micros(1_795_350_246, 0),
    }
}

/// Offers the segments in order; returns every new byte delivered per
/// direction, concatenated.
fn run(r: &mut Reassembler<u32>, key: u32, segs: &[Segment<'_>]) -> [Vec<u8>; 2] {
    let mut out = [Vec::new(), Vec::new()];
    for s in segs {
        let chunk: StreamChunk<'_> = r.segment(&key, s);
        out[chunk.direction.index()].extend_from_slice(chunk.new_bytes());
    }
    out
}

fn handshake(isn_c: u32, isn_s: u32) -> Vec<Segment<'static>> {
    vec![
        seg(C, isn_c, TcpFlags::SYN, b""),
        seg(S, isn_s, TcpFlags::SYN | ACK, b""),
        seg(C, isn_c.wrapping_add(1), ACK, b""),
    ]
}

#[test]
fn in_order_both_directions() {
    let mut r = Reassembler::new(ReassemblyConfig::default());
    let mut segs = handshake(1000, 5000);
    segs.push(seg(C, 1001, PA, b"GET / HTTP/1.1\r\n"));
    segs.push(seg(C, 1017, PA, b"\r\n"));
    segs.push(seg(S, 5001, PA, b"HTTP/1.1 200 OK\r\n\r\n"));
    let out = run(&mut r, 7, &segs);
    assert_eq!(out[0], b"GET / HTTP/1.1\r\n\r\n");
    assert_eq!(out[1], b"HTTP/1.1 200 OK\r\n\r\n");
    let st = r.stream(&7).unwrap();
    assert_eq!(st.unconsumed(C), b"GET / HTTP/1.1\r\n\r\n");
    assert_eq!(r.stats().midstream_pickups, 0);
}

#[test]
fn out_of_order_waits_for_the_gap() {
    let mut r = Reassembler::new(ReassemblyConfig::default());
    let mut segs = handshake(1, 1);
    segs.push(seg(C, 2 + 6, PA, b"world"));
    segs.push(seg(C, 2 + 11, PA, b"!"));
    let out = run(&mut r, 1, &segs);
    assert!(out[0].is_empty());
    let chunk = r.segment(&1, &seg(C, 2, PA, b"hello "));
    assert_eq!(chunk.new_bytes(), b"hello world!");
    assert_eq!(r.stats().out_of_order_segments, 2);
}

#[test]
fn overlap_first_received_wins_and_mismatch_counted() {
    let mut r = Reassembler::new(ReassemblyConfig::default());
    let mut segs = handshake(100, 1);
    // Out of order first: "EVIL" at offset 4, then a segment covering 0..8
    // with other bytes at 4..8.
    segs.push(seg(C, 101 + 4, PA, b"EVIL"));
    segs.push(seg(C, 101, PA, b"safegood"));
    // In-order overlap of delivered data with different bytes.
    segs.push(seg(C, 101 + 6, PA, b"XXzz"));
    let out = run(&mut r, 2, &segs);
    assert_eq!(out[0], b"safeEVILzz");
    let st = r.stats();
    assert_eq!(st.overlaps, 2);
    assert_eq!(st.overlap_mismatches, 2);
}

#[test]
fn retransmissions_are_ignored() {
    let mut r = Reassembler::new(ReassemblyConfig::default());
    let mut segs = handshake(7, 9);
    segs.push(seg(C, 8, PA, b"abc"));
    segs.push(seg(C, 8, PA, b"abc"));
    segs.push(seg(C, 8, PA, b"ab"));
    segs.push(seg(C, 11, PA, b"def"));
    let out = run(&mut r, 3, &segs);
    assert_eq!(out[0], b"abcdef");
    assert_eq!(r.stats().retransmissions, 2);
    assert_eq!(r.stats().overlap_mismatches, 0);
    // A repeated SYN is a retransmission too, not a new connection.
    r.segment(&3, &seg(C, 7, TcpFlags::SYN, b""));
    assert_eq!(r.stats().flows_restarted, 0);
    assert_eq!(r.stream(&3).unwrap().half(C).delivered(), 6);
}

#[test]
fn sequence_numbers_wrap() {
    let mut r = Reassembler::new(ReassemblyConfig::default());
    let isn = u32::MAX - 3;
    let mut segs = handshake(isn, 0);
    // Offsets 0..3 before the wrap, 3..9 across and after it, sent out of
    // order.
    segs.push(seg(C, isn.wrapping_add(4), PA, b"defghi"));
    segs.push(seg(C, isn.wrapping_add(1), PA, b"abc"));
    segs.push(seg(C, isn.wrapping_add(10), PA, b"jk"));
    let out = run(&mut r, 4, &segs);
    assert_eq!(out[0], b"abcdefghijk");
}

#[test]
fn fin_closes_after_the_last_byte_and_rst_closes_both() {
    let mut r = Reassembler::new(ReassemblyConfig::default());
    let mut segs = handshake(10, 20);
    // FIN arrives before the data it follows.
    segs.push(seg(C, 11 + 3, TcpFlags::FIN | ACK, b""));
    run(&mut r, 5, &segs);
    assert!(!r.stream(&5).unwrap().half(C).is_closed());
    let chunk = r.segment(&5, &seg(C, 11, PA, b"bye"));
    assert!(chunk.closed);
    let chunk = r.segment(&5, &seg(C, 14, PA, b"late"));
    assert!(chunk.is_empty());
    assert_eq!(r.stats().after_close_bytes, 4);
    assert!(!r.stream(&5).unwrap().is_closed());
    r.segment(&5, &seg(S, 21, TcpFlags::RST, b""));
    assert!(r.stream(&5).unwrap().is_closed());
    assert!(r.remove(&5));
    assert!(r.is_empty());
}

#[test]
fn new_syn_restarts_the_flow() {
    let mut r = Reassembler::new(ReassemblyConfig::default());
    let mut segs = handshake(10, 20);
    segs.push(seg(C, 11, PA, b"first"));
    segs.extend(handshake(90_000, 7));
    segs.push(seg(C, 90_001, PA, b"second"));
    let out = run(&mut r, 6, &segs);
    assert_eq!(out[0], b"firstsecond");
    assert_eq!(r.stats().flows_restarted, 1);
    assert_eq!(r.stream(&6).unwrap().unconsumed(C), b"second");
}

#[test]
fn midstream_pickup_uses_the_peer_ack() {
    let mut r = Reassembler::new(ReassemblyConfig::default());
    // No handshake: the server acknowledges client byte 5000, then the
    // client's segments arrive out of order.
    let mut ack = seg(S, 777, ACK, b"");
    ack.ack = Some(5000);
    r.segment(&8, &ack);
    r.segment(&8, &seg(C, 5004, PA, b"EFGH"));
    let chunk = r.segment(&8, &seg(C, 5000, PA, b"ABCD"));
    assert_eq!(chunk.new_bytes(), b"ABCDEFGH");
    assert_eq!(r.stats().midstream_pickups, 1);
    // Without an ACK to go by, the first data segment starts the stream.
    let chunk = r.segment(&9, &seg(C, 42, PA, b"xyz"));
    assert_eq!(chunk.new_bytes(), b"xyz");
}

#[test]
fn window_of_preceding_bytes_for_spanning_matches() {
    let cfg = ReassemblyConfig {
        window: 4,
        ..ReassemblyConfig::default()
    };
    let mut r = Reassembler::new(cfg);
    run(&mut r, 1, &handshake(0, 0));
    r.segment(&1, &seg(C, 1, PA, b"...../etc/pa"));
    r.stream_mut(&1).unwrap().consume(C, 12);
    let chunk = r.segment(&1, &seg(C, 13, PA, b"sswd"));
    assert_eq!(chunk.context(), b"c/pa");
    assert_eq!(chunk.new_bytes(), b"sswd");
    assert_eq!(chunk.offset, 8);
    assert!(chunk.bytes.windows(6).any(|w| w == b"passwd"));
}

#[test]
fn depth_limit_drops_and_counts() {
    let cfg = ReassemblyConfig {
        depth: 10,
        ..ReassemblyConfig::default()
    };
    let mut r = Reassembler::new(cfg);
    let mut segs = handshake(0, 0);
    segs.push(seg(C, 1, PA, b"0123456"));
    segs.push(seg(C, 8, PA, b"789abc"));
    segs.push(seg(C, 14, PA, b"def"));
    let out = run(&mut r, 1, &segs);
    assert_eq!(out[0], b"0123456789");
    assert_eq!(r.stats().depth_dropped_bytes, 6);
    assert_eq!(r.stats().depth_reached, 1);
    assert!(r.stream(&1).unwrap().half(C).depth_reached());
}

#[test]
fn out_of_order_cap_drops_far_segments() {
    let cfg = ReassemblyConfig {
        max_out_of_order: 100,
        ..ReassemblyConfig::default()
    };
    let mut r = Reassembler::new(cfg);
    let mut segs = handshake(0, 0);
    segs.push(seg(C, 1 + 90, PA, b"0123456789ab"));
    segs.push(seg(C, 1 + 50, PA, b"near"));
    run(&mut r, 1, &segs);
    assert_eq!(r.stats().out_of_order_dropped_bytes, 12);
    assert_eq!(r.stream(&1).unwrap().half(C).pending_out_of_order(), 4);
}

#[test]
fn unconsumed_bytes_are_bounded() {
    let cfg = ReassemblyConfig {
        max_unconsumed: 8,
        window: 0,
        ..ReassemblyConfig::default()
    };
    let mut r = Reassembler::new(cfg);
    let mut segs = handshake(0, 0);
    for i in 0..4u32 {
        segs.push(seg(C, 1 + 5 * i, PA, b"abcde"));
    }
    run(&mut r, 1, &segs);
    // The bound is enforced before each segment: at most 8 + 5 remain.
    let st = r.stream(&1).unwrap();
    assert!(st.unconsumed(C).len() <= 13);
    assert!(r.stats().unconsumed_dropped_bytes >= 7);
}

#[test]
fn flow_cap_evicts_least_recently_used() {
    let cfg = ReassemblyConfig {
        max_flows: 2,
        ..ReassemblyConfig::default()
    };
    let mut r = Reassembler::new(cfg);
    r.segment(&1, &seg(C, 1, PA, b"a"));
    r.segment(&2, &seg(C, 1, PA, b"b"));
    r.segment(&1, &seg(C, 2, PA, b"a"));
    r.segment(&3, &seg(C, 1, PA, b"c"));
    assert!(r.stream(&1).is_some());
    assert!(r.stream(&2).is_none());
    assert!(r.stream(&3).is_some());
    assert_eq!(r.stats().flows_evicted, 1);
}

#[test]
fn memcap_evicts_and_memory_returns_to_zero() {
    let cfg = ReassemblyConfig {
        memcap: 64 * 1024,
        max_unconsumed: 1 << 20,
        ..ReassemblyConfig::default()
    };
    let mut r = Reassembler::new(cfg);
    let payload = vec![b'x'; 1400];
    for flow in 0..20u32 {
        for i in 0..10u32 {
            r.segment(&flow, &seg(C, 1 + i * 1400, PA, &payload));
        }
        assert!(r.memory() <= 64 * 1024 + 32 * 1024, "{}", r.memory());
    }
    assert!(r.stats().flows_evicted > 0);
    assert!(r.len() < 20);
    let keys: Vec<u32> = (0..20).filter(|k| r.stream(k).is_some()).collect();
    for k in keys {
        r.remove(&k);
    }
    assert_eq!(r.memory(), 0);
}

#[test]
fn idle_flows_expire() {
    let mut r = Reassembler::new(ReassemblyConfig::default());
    let mut s = seg(C, 1, PA, b"a");
    r.segment(&1, &s);
    s.ts = s.ts.add_nanos(10_000_000_000);
    r.segment(&2, &s);
    assert_eq!(r.expire_idle(s.ts, 5_000_000_000), 1);
    assert!(r.stream(&1).is_none() && r.stream(&2).is_some());
}

#[test]
fn blind_rst_far_from_the_window_is_ignored() {
    let mut r = Reassembler::new(ReassemblyConfig::default());
    let mut segs = handshake(1000, 5000);
    segs.push(seg(C, 1001, PA, b"abc"));
    run(&mut r, 1, &segs);
    r.segment(&1, &seg(C, 1001 + 3_000_000, TcpFlags::RST, b""));
    assert!(!r.stream(&1).unwrap().half(C).is_closed());
    r.segment(&1, &seg(C, 1004, TcpFlags::RST, b""));
    assert!(r.stream(&1).unwrap().is_closed());
}
