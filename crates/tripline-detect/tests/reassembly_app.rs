//! The application layer over reassembled streams: messages split across
//! segments, pipelining, HEAD framing, bodies past the cap, TLS in pieces,
//! other protocols consumed.

use tripline_core::{TcpFlags, Timestamp};
use tripline_detect::reassembly::{
    AppEvent, AppLayer, AppProto, Direction, Reassembler, ReassemblyConfig, Segment,
};
use tripline_ingest::app::http::HttpLimits;

const C: Direction = Direction::ToServer;
const S: Direction = Direction::ToClient;

#[derive(Default)]
struct Seen {
    events: Vec<String>,
}

/// Sends `data` in `dir` cut into pieces of `piece` bytes, parsing after
/// each segment.
struct Conn {
    r: Reassembler<u8>,
    app: AppLayer,
    seq: [u32; 2],
    seen: Seen,
}

impl Conn {
    fn new(limits: HttpLimits) -> Self {
        let mut c = Conn {
            r: Reassembler::new(ReassemblyConfig::default()),
            app: AppLayer::new(limits),
            seq: [100, 900],
            seen: Seen::default(),
        };
        c.send_flags(C, TcpFlags::SYN, b"");
        c.send_flags(S, TcpFlags::SYN | TcpFlags::ACK, b"");
        c.seq = [101, 901];
        c
    }

    fn send_flags(&mut self, dir: Direction, flags: u8, payload: &[u8]) {
        let seg = Segment {
            direction: dir,
            seq: self.seq[dir.index()],
            ack: None,
            flags: TcpFlags(flags),
            payload,
            ts: Timestamp::ZERO,
        };
        self.r.segment(&0, &seg);
        self.seq[dir.index()] = self.seq[dir.index()].wrapping_add(payload.len() as u32);
        let events = &mut self.seen.events;
        if let Some(stream) = self.r.stream_mut(&0) {
            self.app.parse(stream, dir, &mut |ev| {
                events.push(match ev {
                    AppEvent::HttpRequest(r) => format!(
                        "req {} {} body={}",
                        String::from_utf8_lossy(r.method),
                        String::from_utf8_lossy(r.uri),
                        r.body.len()
                    ),
                    AppEvent::HttpResponse(r) => format!(
                        "resp {} body={}",
                        String::from_utf8_lossy(r.stat_code),
                        r.body.len()
                    ),
                    AppEvent::TlsClientHello(h) => {
                        format!("sni {}", String::from_utf8_lossy(h.sni.unwrap_or(b"-")))
                    }
                    AppEvent::Error { error, .. } => format!("error {error:?}"),
                })
            });
        }
    }

    fn send(&mut self, dir: Direction, data: &[u8], piece: usize) {
        for p in data.chunks(piece) {
            self.send_flags(dir, TcpFlags::ACK | TcpFlags::PSH, p);
        }
    }

    fn unconsumed(&self, dir: Direction) -> usize {
        self.r.stream(&0).map_or(0, |s| s.unconsumed(dir).len())
    }
}

#[test]
fn pipelined_requests_split_anywhere() {
    let reqs = b"HEAD /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b/../c HTTP/1.1\r\nHost: x\r\n\r\n";
    let resps = b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
    for piece in [1, 2, 7, 1000] {
        let mut c = Conn::new(HttpLimits::default());
        c.send(C, reqs, piece);
        c.send(S, resps, piece);
        assert_eq!(
            c.seen.events,
            [
                "req HEAD /a body=0",
                "req GET /c body=0",
                "resp 200 body=0",
                "resp 200 body=3"
            ],
            "piece {piece}"
        );
        assert_eq!(c.unconsumed(C) + c.unconsumed(S), 0);
    }
}

#[test]
fn large_body_is_cut_then_skipped() {
    let limits = HttpLimits {
        response_body: 10,
        ..HttpLimits::default()
    };
    let mut c = Conn::new(limits);
    c.send(
        C,
        b"GET /big HTTP/1.1\r\n\r\nGET /next HTTP/1.1\r\n\r\n",
        1000,
    );
    let mut resp = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..50 {
        resp.extend_from_slice(b"64\r\n");
        resp.extend_from_slice(&[b'z'; 100]);
        resp.extend_from_slice(b"\r\n");
    }
    resp.extend_from_slice(b"0\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    c.send(S, &resp, 1400);
    assert_eq!(
        c.seen.events,
        [
            "req GET /big body=0",
            "req GET /next body=0",
            "resp 200 body=10",
            "resp 404 body=0"
        ]
    );
    assert_eq!(c.app.stats().body_bytes_skipped, 50 * 100 - 10);
}

#[test]
fn tls_hello_in_pieces_then_ciphertext_is_dropped() {
    let path = format!(
        "{}/../tripline-ingest/tests/data/tls/curl_sni.bin",
        env!("CARGO_MANIFEST_DIR")
    );
    let hello = std::fs::read(path).unwrap();
    let mut c = Conn::new(HttpLimits::default());
    c.send(C, &hello, 100);
    c.send(S, &[0x16, 3, 3, 0, 10, 1, 2, 3], 1000);
    c.send(C, &[0x17; 500], 1000);
    assert_eq!(c.seen.events, ["sni files.example.net"]);
    assert_eq!(c.r.stream(&0).unwrap().app().proto(), AppProto::Tls);
    assert_eq!(c.unconsumed(C) + c.unconsumed(S), 0);
}

#[test]
fn other_protocols_are_consumed_and_bad_http_reported() {
    let mut c = Conn::new(HttpLimits::default());
    c.send(S, b"SSH-2.0-OpenSSH_9.2\r\n", 1000);
    c.send(C, b"SSH-2.0-client\r\n", 1000);
    assert!(c.seen.events.is_empty());
    assert_eq!(c.r.stream(&0).unwrap().app().proto(), AppProto::Other);
    assert_eq!(c.unconsumed(C) + c.unconsumed(S), 0);

    let mut c = Conn::new(HttpLimits::default());
    c.send(
        C,
        b"GET / HTTP/1.1\r\nContent-Length: nope\r\n\r\nmore",
        1000,
    );
    assert_eq!(c.seen.events.len(), 1);
    assert!(
        c.seen.events[0].starts_with("error Http(Malformed"),
        "{:?}",
        c.seen.events
    );
    assert_eq!(c.app.stats().http_errors, 1);
    c.send(C, b"GET / HTTP/1.1\r\n\r\n", 1000);
    assert_eq!(
        c.seen.events.len(),
        1,
        "a failed direction is only consumed"
    );
    assert_eq!(c.unconsumed(C), 0);
}

#[test]
fn body_decoding_outcomes_are_counted() {
    use flate2::{Compression, write::GzEncoder};
    use std::io::Write;
    let text: String = (0..300)
        .map(|i| format!("line {i} of the body\n"))
        .collect();
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(text.as_bytes()).unwrap();
    let good = gz.finish().unwrap();
    // A gzip header, a stored deflate block ("hello"), then a block of the
    // reserved type 3: inflate fails after some output.
    let mut broken = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    broken.extend_from_slice(&[0x00, 5, 0, 0xfa, 0xff]);
    broken.extend_from_slice(b"hello");
    broken.extend_from_slice(&[0x07, 0, 0, 0]);
    let mut c = Conn::new(HttpLimits::default());
    c.send(C, b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n", 1000);
    for body in [&good, &broken] {
        let mut resp = format!(
            "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        resp.extend_from_slice(body);
        c.send(S, &resp, 1400);
    }
    let want = format!("resp 200 body={}", text.len().min(100 * 1024));
    assert!(c.seen.events.contains(&want), "{:?}", c.seen.events);
    let st = c.app.stats();
    assert_eq!((st.http_responses, st.bodies_decoded), (2, 2));
    assert_eq!(st.bodies_corrupt, 1);
    assert_eq!((st.bodies_bomb, st.bodies_truncated), (0, 0));
}
