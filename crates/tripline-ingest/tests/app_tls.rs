//! TLS ClientHello parsing on real hellos from OpenSSL and curl
//! (tests/data/tls/README.txt), checked against what tshark read from the
//! same connections.

use tripline_ingest::app::tls::{TlsError, parse_client_hello};

fn hello(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/tls/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn openssl_hello_with_sni_and_alpn() {
    let bytes = hello("openssl_sni_alpn.bin");
    let mut scratch = Vec::new();
    let h = parse_client_hello(&bytes, &mut scratch).unwrap();
    assert_eq!(h.sni, Some(&b"www.example.com"[..]));
    let alpn: Vec<&[u8]> = h.alpn().collect();
    assert_eq!(alpn, [&b"h2"[..], b"http/1.1"]);
    assert_eq!(h.legacy_version, 0x0303);
    assert_eq!(h.record_version, 0x0301);
    let versions: Vec<u16> = h.supported_versions().collect();
    assert_eq!(versions, [0x0304, 0x0303, 0x0302, 0x0301]);
    assert_eq!(h.max_version(), 0x0304);
    assert_eq!(h.consumed, bytes.len());
    assert_eq!(h.random.len(), 32);
    assert!(h.ciphers().count() > 10);
    assert!(h.extension_list().any(|(t, _)| t == 0));
    assert!(scratch.is_empty(), "one record: no copy");
}

#[test]
fn tls12_hello_without_sni() {
    let bytes = hello("openssl_tls12_nosni.bin");
    let mut scratch = Vec::new();
    let h = parse_client_hello(&bytes, &mut scratch).unwrap();
    assert_eq!(h.sni, None);
    assert_eq!(h.alpn().count(), 0);
    assert_eq!(h.supported_versions().count(), 0);
    assert_eq!(h.max_version(), 0x0303);
}

#[test]
fn curl_hello() {
    let bytes = hello("curl_sni.bin");
    let mut scratch = Vec::new();
    let h = parse_client_hello(&bytes, &mut scratch).unwrap();
    assert_eq!(h.sni, Some(&b"files.example.net"[..]));
    assert_eq!(h.alpn().collect::<Vec<_>>(), [&b"h2"[..], b"http/1.1"]);
    assert_eq!(h.max_version(), 0x0304);
}

#[test]
fn every_prefix_is_incomplete_never_wrong() {
    for name in [
        "openssl_sni_alpn.bin",
        "openssl_tls12_nosni.bin",
        "curl_sni.bin",
    ] {
        let bytes = hello(name);
        for cut in 0..bytes.len() {
            match parse_client_hello(&bytes[..cut], &mut Vec::new()) {
                Err(TlsError::Incomplete { needed }) => {
                    assert!(
                        needed > cut && needed <= bytes.len(),
                        "{name} cut {cut}: {needed}"
                    )
                }
                other => panic!("{name} cut {cut}: {other:?}"),
            }
        }
    }
}

#[test]
fn hello_split_over_two_records() {
    let bytes = hello("openssl_sni_alpn.bin");
    let msg = &bytes[5..];
    // Split inside the 4-byte handshake header too (found by fuzzing).
    for at in [1, 2, 3, 4, 100, msg.len() - 1] {
        let (a, b) = msg.split_at(at);
        let mut wire = Vec::new();
        for part in [a, b] {
            wire.extend_from_slice(&[22, 3, 1]);
            wire.extend_from_slice(&(part.len() as u16).to_be_bytes());
            wire.extend_from_slice(part);
        }
        let mut scratch = Vec::new();
        for cut in 0..wire.len() {
            match parse_client_hello(&wire[..cut], &mut scratch) {
                Err(TlsError::Incomplete { needed }) => assert!(needed > cut, "at {at} cut {cut}"),
                other => panic!("at {at} cut {cut}: {other:?}"),
            }
        }
        let h = parse_client_hello(&wire, &mut scratch).unwrap();
        assert_eq!(h.sni, Some(&b"www.example.com"[..]));
        assert_eq!(h.consumed, wire.len());
    }
    // A record longer than the hello it holds: wait for all of it (found
    // by fuzzing: `consumed` ran past the input).
    let mut long = bytes[..5].to_vec();
    long[3..5].copy_from_slice(&((msg.len() + 10) as u16).to_be_bytes());
    long.extend_from_slice(msg);
    assert_eq!(
        parse_client_hello(&long, &mut Vec::new()),
        Err(TlsError::Incomplete {
            needed: long.len() + 10
        })
    );
    long.extend_from_slice(&[0; 10]);
    let mut scratch = Vec::new();
    assert_eq!(
        parse_client_hello(&long, &mut scratch).unwrap().consumed,
        long.len()
    );
    // The fuzzer's input: a 1-byte record, then the start of another.
    let crash = [0x16, 3, 0, 0, 1, 1, 1, 1, 0];
    assert!(matches!(
        parse_client_hello(&crash, &mut Vec::new()),
        Err(TlsError::Incomplete { needed: 10.. })
    ));
}

#[test]
fn other_protocols_are_not_tls() {
    let mut scratch = Vec::new();
    for (bytes, at) in [
        (&b"GET / HTTP/1.1\r\n"[..], 0),
        (b"SSH-2.0-OpenSSH_9.2\r\n", 0),
        (&[22, 9, 9, 0, 10][..], 1),
        (&[22, 3, 1, 0, 0][..], 3),
        // A handshake record holding a ServerHello.
        (&[22, 3, 3, 0, 4, 2, 0, 0, 0][..], 5),
    ] {
        assert_eq!(
            parse_client_hello(bytes, &mut scratch),
            Err(TlsError::NotTls { offset: at }),
            "{bytes:?}"
        );
    }
}

#[test]
fn broken_lengths_are_malformed_with_offsets() {
    let bytes = hello("openssl_sni_alpn.bin");
    // The session id length (message offset 4+2+32 = 38, stream offset 43)
    // claims more than the message holds.
    let mut bad = bytes.clone();
    bad[43] = 0xff;
    let err = parse_client_hello(&bad, &mut Vec::new()).unwrap_err();
    assert!(matches!(err, TlsError::Malformed { .. }), "{err:?}");
    // Every single-byte corruption parses or fails cleanly.
    for i in 0..bytes.len() {
        for v in [0u8, 0x7f, 0xff] {
            let mut m = bytes.clone();
            m[i] = v;
            let _ = parse_client_hello(&m, &mut Vec::new());
        }
    }
}
