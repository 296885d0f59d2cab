use super::*;
use crate::test_packets::*;
use tripline_core::ConnState::*;

/// Feeds `(from_orig, header)` pairs; payload length is taken from the
/// header's IP length (52-byte TCP/IP headers, 28 for UDP).
fn run(flipped: bool, packets: &[(bool, Header)]) -> (ConnState, String) {
    let first = packets.first().map(|(_, h)| h.protocol).unwrap_or(6);
    let mut t = ConnTracker::new(first, flipped);
    for (from_orig, h) in packets {
        let overhead = if h.tcp().is_some() { 52 } else { 28 };
        t.update(
            *from_orig,
            h,
            (h.ip.total_len as usize).saturating_sub(overhead),
        );
    }
    (t.conn_state(), t.history().to_string())
}

fn o(h: Header) -> (bool, Header) {
    (true, h)
}
fn r(h: Header) -> (bool, Header) {
    (false, h)
}

fn handshake() -> Vec<(bool, Header)> {
    vec![o(out(S, 100, 0)), r(back(SA, 500, 0)), o(out(A, 101, 0))]
}

#[test]
fn handshake_data_and_fin_exchange_is_sf() {
    let mut p = handshake();
    p.extend([
        o(out(PA, 101, 93)),
        r(back(A, 501, 0)),
        r(back(PA, 501, 203)),
        r(back(FA, 704, 0)),
        o(out(FA, 194, 0)),
        r(back(A, 705, 0)),
    ]);
    assert_eq!(run(false, &p), (SF, "ShADadfF".to_string()));
}

#[test]
fn handshake_only_is_s1() {
    assert_eq!(run(false, &handshake()), (S1, "ShA".to_string()));
}

#[test]
fn syn_only_is_s0_and_retransmitted_syn_is_not_repeated() {
    assert_eq!(run(false, &[o(out(S, 100, 0))]), (S0, "S".to_string()));
    assert_eq!(
        run(false, &[o(out(S, 100, 0)), o(out(S, 100, 0))]),
        (S0, "S".to_string())
    );
    // A new sequence number is a new attempt: Zeek repeats the letter.
    assert_eq!(
        run(false, &[o(out(S, 100, 0)), o(out(S, 900, 0))]),
        (S0, "SS".to_string())
    );
}

#[test]
fn syn_answered_by_rst_is_rej() {
    assert_eq!(
        run(false, &[o(out(S, 100, 0)), r(back(RA, 0, 0))]),
        (REJ, "Sr".to_string())
    );
}

#[test]
fn established_then_originator_rst_is_rsto() {
    let mut p = handshake();
    p.push(o(out(R, 101, 0)));
    assert_eq!(run(false, &p), (RSTO, "ShAR".to_string()));
    // A half-open SYN scan of an open port: SYN, SYN-ACK, RST.
    assert_eq!(
        run(
            false,
            &[o(out(S, 100, 0)), r(back(SA, 500, 0)), o(out(R, 101, 0))]
        ),
        (RSTO, "ShR".to_string())
    );
}

#[test]
fn established_then_responder_rst_is_rstr() {
    let mut p = handshake();
    p.push(r(back(RA, 501, 0)));
    assert_eq!(run(false, &p), (RSTR, "ShAr".to_string()));
}

#[test]
fn syn_then_own_rst_is_rstos0() {
    assert_eq!(
        run(false, &[o(out(S, 100, 0)), o(out(R, 101, 0))]),
        (RSTOS0, "SR".to_string())
    );
}

#[test]
fn syn_then_fin_is_sh() {
    assert_eq!(
        run(false, &[o(out(S, 100, 0)), o(out(F, 101, 0))]),
        (SH, "SF".to_string())
    );
}

#[test]
fn one_sided_close_is_s2_or_s3() {
    let mut p = handshake();
    p.push(o(out(FA, 101, 0)));
    assert_eq!(run(false, &p).0, S2);
    let mut p = handshake();
    p.push(r(back(FA, 501, 0)));
    assert_eq!(run(false, &p).0, S3);
}

#[test]
fn flipped_syn_ack_first() {
    // The capture started after the SYN: the SYN-ACK sender is the responder.
    assert_eq!(
        run(true, &[r(back(SA, 500, 0)), o(out(A, 101, 0))]),
        (S1, "^hA".to_string())
    );
    assert_eq!(
        run(true, &[r(back(SA, 500, 0)), r(back(R, 501, 0))]),
        (RSTRH, "^hr".to_string())
    );
    assert_eq!(
        run(true, &[r(back(SA, 500, 0)), r(back(FA, 501, 0))]),
        (SHR, "^hf".to_string())
    );
}

#[test]
fn midstream_is_oth() {
    assert_eq!(
        run(false, &[o(out(PA, 5000, 100)), r(back(A, 9000, 0))]),
        (OTH, "Da".to_string())
    );
}

#[test]
fn multi_flag_and_inconsistent_packets() {
    assert_eq!(run(false, &[o(out(S | F, 100, 0))]).1, "Q");
    assert_eq!(
        run(false, &[o(out(F | R, 100, 0)), o(out(F | R, 101, 0))]).1,
        "I"
    );
}

#[test]
fn retransmissions_and_zero_windows_are_logarithmic() {
    let mut p = handshake();
    for _ in 0..11 {
        p.push(o(out(PA, 101, 100)));
    }
    // 1 original + 10 retransmissions: T at the 1st and the 10th.
    assert_eq!(run(false, &p).1, "ShADTT");
    let mut p = handshake();
    let mut zero = back(A, 501, 0);
    if let Transport::Tcp(t) = &mut zero.transport {
        t.window = 0;
    }
    p.push(r(zero));
    p.push(r(zero));
    assert_eq!(run(false, &p).1, "ShAaw");
}

#[test]
fn history_is_capped() {
    let p: Vec<_> = (0..100).map(|i| o(out(S, 1000 * i, 0))).collect();
    let (state, history) = run(false, &p);
    assert_eq!((state, history.len()), (S0, MAX_HISTORY));
}

#[test]
fn udp_and_icmp_states() {
    let q = udp(PC, 44995, "10.99.1.1", 53, 33);
    let a = udp("10.99.1.1", 53, PC, 44995, 49);
    assert_eq!(run(false, &[o(q)]), (S0, "D".to_string()));
    assert_eq!(run(false, &[o(q), r(a)]), (SF, "Dd".to_string()));
    let echo = icmp("10.99.2.66", "10.99.1.3", 8, 0);
    let reply = icmp("10.99.1.3", "10.99.2.66", 0, 0);
    assert_eq!(run(false, &[o(echo), r(reply)]).0, SF);
    assert!(!ConnTracker::new(17, false).is_finished());
}
