//! The DNS wire parser on hand-made hostile messages: pointer loops,
//! forward pointers, truncation at every byte, over-long names, escaping.

use tripline_ingest::app::dns::{DnsError, parse_message, parse_tcp_message};
/// A query for `a.b` type A, id 0x1234, RD set.
const QUERY: &[u8] = &[
    0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 1, b'a', 1, b'b', 0, 0, 1, 0, 1,
];

#[test]
fn parses_a_query() {
    let m = parse_message(QUERY).unwrap();
    assert_eq!((m.id, m.qr, m.opcode, m.rcode), (0x1234, false, 0, 0));
    assert!(m.flags.rd && !m.flags.ra);
    let q = m.question.unwrap();
    assert_eq!(
        (q.name.to_string(), q.qtype, q.qclass),
        ("a.b".to_string(), 1, 1)
    );
    assert_eq!(m.answers().count(), 0);
}

#[test]
fn escapes_hostile_labels_like_dig() {
    let mut msg = QUERY[..12].to_vec();
    msg.extend_from_slice(&[6, b'a', b'.', 0, b' ', 0xff, b'\\', 0, 0, 1, 0, 1]);
    let m = parse_message(&msg).unwrap();
    assert_eq!(
        m.question.unwrap().name.to_string(),
        "a\\.\\000\\032\\255\\\\"
    );
}

#[test]
fn rejects_pointer_loops_and_forward_pointers() {
    // The question name is a pointer to itself.
    let mut msg = QUERY[..12].to_vec();
    msg.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1]);
    assert_eq!(
        parse_message(&msg),
        Err(DnsError::BadPointer {
            offset: 12,
            target: 12
        })
    );
    // A label followed by a pointer back into the same name.
    let mut msg = QUERY[..12].to_vec();
    msg.extend_from_slice(&[1, b'x', 0xC0, 12, 0, 1, 0, 1]);
    assert!(matches!(
        parse_message(&msg),
        Err(DnsError::BadPointer { .. })
    ));
    // A forward pointer.
    let mut msg = QUERY[..12].to_vec();
    msg.extend_from_slice(&[0xC0, 40, 0, 1, 0, 1]);
    assert!(matches!(
        parse_message(&msg),
        Err(DnsError::BadPointer { .. })
    ));
}

#[test]
fn truncation_is_an_error_not_a_panic() {
    for cut in 0..QUERY.len() {
        assert!(parse_message(&QUERY[..cut]).is_err(), "cut at {cut}");
    }
    assert!(parse_message(&[0x40; 40]).is_err());
}

#[test]
fn name_length_is_capped() {
    let mut msg = QUERY[..12].to_vec();
    for _ in 0..5 {
        msg.push(63);
        msg.extend_from_slice(&[b'x'; 63]);
    }
    msg.extend_from_slice(&[0, 0, 1, 0, 1]);
    assert_eq!(
        parse_message(&msg),
        Err(DnsError::NameTooLong { offset: 12 })
    );
}

#[test]
fn tcp_length_prefix() {
    let mut seg = vec![0, QUERY.len() as u8];
    seg.extend_from_slice(QUERY);
    seg.extend_from_slice(b"trailing");
    assert_eq!(parse_tcp_message(&seg).unwrap().id, 0x1234);
    assert!(parse_tcp_message(&[0]).is_err());
}
