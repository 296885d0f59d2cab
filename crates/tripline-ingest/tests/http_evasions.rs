//! HTTP evasions and content codings, on the real captures of Suricata's
//! http-evader tests (noxxi.de's HTTP Evader: a server that sends the EICAR
//! test file in ways browsers still accept) and on bodies compressed here
//! with flate2. Suricata finds the EICAR string in `file.data` of every
//! capture checked below; so must the response parser.

use std::collections::BTreeMap;
use std::io::Write;

use flate2::Compression;
use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
use tripline_core::{InputError, Record};
use tripline_ingest::RecordSink;
use tripline_ingest::app::http::{
    DecodeError, HttpLimits, HttpScratch, Parsed, RequestContext, ResponseContext,
    parse_request_in, parse_response,
};

const EICAR: &[u8] = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

fn evader(test: &str) -> String {
    format!(
        "{}/../../../shared/data/compat/suricata-verify/tests/http-evader/{test}/input.pcap",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// TCP payloads of one direction, in sequence order, retransmissions
/// dropped (the captures hold one connection each).
#[derive(Default)]
struct ServerStream {
    port: u16,
    segments: BTreeMap<u32, Vec<u8>>,
}

impl RecordSink for ServerStream {
    fn record(&mut self, rec: &Record<'_>) {
        let Record::Packet(p) = rec else { return };
        let Some(tcp) = p.header.tcp() else { return };
        if let (true, Some(seq)) = (tcp.sport == self.port && !p.payload.is_empty(), tcp.seq) {
            self.segments
                .entry(seq)
                .or_insert_with(|| p.payload.to_vec());
        }
    }

    fn error(&mut self, err: InputError) {
        panic!("capture error: {err}");
    }
}

fn stream_from(path: &str, port: u16) -> Vec<u8> {
    let opts = tripline_ingest::logs::LogOptions::default();
    let mut src = tripline_ingest::open::open_input(path, &opts).expect("capture opens");
    let mut sink = ServerStream {
        port,
        ..ServerStream::default()
    };
    src.run(&mut sink);
    // Sequence numbers in these captures do not wrap.
    sink.segments.into_values().flatten().collect()
}

/// The response body of a whole server stream, the connection closed.
fn response_body(wire: &[u8]) -> Vec<u8> {
    let mut s = HttpScratch::default();
    let ctx = ResponseContext {
        head_request: false,
        stream_closed: true,
    };
    match parse_response(wire, &mut s, &HttpLimits::default(), ctx) {
        Ok(Parsed::Complete(r)) => r.body.to_vec(),
        other => panic!("{other:?}"),
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn eicar_is_found_through_the_evasions() {
    // (test, what it does to the response)
    let cases = [
        ("http-evader-009", "chunk sizes followed by junk"),
        ("http-evader-018", "LF-only chunk lines"),
        ("http-evader-024", "final chunk size 00000000000000000000"),
        ("http-evader-028", "no final chunk, connection closes"),
        ("http-evader-044", "chunked on HTTP/1.0 but the body is not"),
        ("http-evader-063", "Transfer-Encoding: xchunked"),
        ("http-evader-094", "lone CR before Transfer-Encoding"),
        ("http-evader-101", "LF before the first chunk"),
        ("http-evader-104", "gzip"),
        ("http-evader-117", "deflate with zlib header"),
        ("http-evader-115", "raw deflate"),
        ("http-evader-126", "gzip, gzip"),
        ("http-evader-156", "gzip and deflate declared, gzip applied"),
        ("http-evader-202", "gzip with a reserved flag set"),
        ("http-evader-206", "gzip without its trailer"),
        ("http-evader-216", "gzip with an extra field"),
        ("http-evader-256", "Content-length: 68;"),
        ("http-evader-263", "Content-length: 68.0"),
        ("http-evader-294", "VT between field name and colon"),
        ("http-evader-291", "NUL inside Transfer-Encoding's name"),
        ("http-evader-376", "status line without a code"),
        ("http-evader-385", "lone CR inside the status line"),
        ("http-evader-390", "NUL before the status line"),
        ("http-evader-410", "head ends with LF CR CR LF"),
        ("http-evader-416", "head ends with LF SP LF"),
        ("http-evader-447", "100 status with a body"),
        ("http-evader-476", "204 status with a chunked body"),
        ("http-evader-486", "SIP status line before the HTTP one"),
    ];
    for (test, what) in cases {
        let wire = stream_from(&evader(test), 80);
        assert!(wire.starts_with(b"HTTP/") || wire.len() > 20, "{test}");
        let body = response_body(&wire);
        assert!(
            contains(&body, EICAR),
            "{test} ({what}): {:?}",
            String::from_utf8_lossy(&body)
        );
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn chunked(body: &[u8], size: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in body.chunks(size) {
        write!(out, "{:x}\r\n", chunk.len()).unwrap();
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

#[test]
fn chunked_gzip_response_split_anywhere() {
    let page: Vec<u8> = (0..8000)
        .flat_map(|i| format!("<li>item {i}</li>\n").into_bytes())
        .collect();
    let mut wire =
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    wire.extend(chunked(&gzip(&page), 7));
    wire.extend_from_slice(b"HTTP/1.1 304 Not Modified\r\n\r\n");
    let limits = HttpLimits::default();
    let mut s = HttpScratch::default();
    for cut in (0..wire.len()).step_by(97) {
        let r = parse_response(&wire[..cut], &mut s, &limits, ResponseContext::default()).unwrap();
        assert!(matches!(r, Parsed::Incomplete), "cut {cut}");
    }
    let Parsed::Complete(r) =
        parse_response(&wire, &mut s, &limits, ResponseContext::default()).unwrap()
    else {
        panic!("incomplete")
    };
    assert_eq!(r.body, &page[..limits.response_body]);
    assert!(r.body_decoding.truncated && r.body_decoding.error.is_none());
    assert_eq!(r.body_raw, gzip(&page));
    assert_eq!(&wire[r.consumed..], b"HTTP/1.1 304 Not Modified\r\n\r\n");
}

#[test]
fn deflate_flavours_and_corrupt_streams() {
    let text = b"<html><body>deflated text deflated text deflated text</body></html>".repeat(20);
    let mut zlib = ZlibEncoder::new(Vec::new(), Compression::fast());
    zlib.write_all(&text).unwrap();
    let mut raw = DeflateEncoder::new(Vec::new(), Compression::fast());
    raw.write_all(&text).unwrap();
    for body in [zlib.finish().unwrap(), raw.finish().unwrap()] {
        let mut wire = format!(
            "HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        wire.extend_from_slice(&body);
        assert_eq!(response_body(&wire), text);
    }
    // Broken after the first flushed block: what decoded is kept.
    let mut broken = DeflateEncoder::new(Vec::new(), Compression::fast());
    broken.write_all(&text).unwrap();
    broken.flush().unwrap();
    let mut body = broken.get_ref().clone();
    body.extend_from_slice(&[0x07, 0x00]);
    let mut wire = format!(
        "HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    wire.extend_from_slice(&body);
    let mut s = HttpScratch::default();
    let Parsed::Complete(r) = parse_response(
        &wire,
        &mut s,
        &HttpLimits::default(),
        ResponseContext::default(),
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!(r.body, text);
    assert!(matches!(
        r.body_decoding.error,
        Some(DecodeError::Corrupt { layer: 0, .. })
    ));
    assert_eq!(r.body_raw, body);
}

#[test]
fn gzip_request_body_is_decoded() {
    let form = b"name=value&other=thing";
    let body = gzip(form);
    let mut wire = format!(
        "POST /submit HTTP/1.1\r\nHost: h\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    wire.extend_from_slice(&body);
    let mut s = HttpScratch::default();
    let Parsed::Complete(r) = parse_request_in(
        &wire,
        &mut s,
        &HttpLimits::default(),
        RequestContext::default(),
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!(r.body, form);
    assert_eq!(r.body_decoding.layers, 1);
}

#[test]
fn request_head_cut_by_the_close() {
    // Suricata's UriTestSig34 capture: the client stops after one field.
    let wire = b"POST /normalized%20uri HTTP/1.0\r\nUser-Agent: Mozilla/1.0\r\n";
    let mut s = HttpScratch::default();
    let limits = HttpLimits::default();
    let open = parse_request_in(wire, &mut s, &limits, RequestContext::default()).unwrap();
    assert!(matches!(open, Parsed::Incomplete));
    let closed = RequestContext {
        stream_closed: true,
    };
    let Parsed::Complete(r) = parse_request_in(wire, &mut s, &limits, closed).unwrap() else {
        panic!()
    };
    assert_eq!(
        (r.uri, r.uri_raw),
        (&b"/normalized uri"[..], &b"/normalized%20uri"[..])
    );
    assert_eq!(r.user_agent, Some(&b"Mozilla/1.0"[..]));
    assert_eq!(r.consumed, wire.len());
}

#[test]
fn response_head_cut_by_the_close() {
    // Suricata's http-close-headers capture.
    let wire = b"HTTP/1.0 200 OK\nServer:ng1nx\r\n";
    let mut s = HttpScratch::default();
    let ctx = ResponseContext {
        head_request: false,
        stream_closed: true,
    };
    let Parsed::Complete(r) = parse_response(wire, &mut s, &HttpLimits::default(), ctx).unwrap()
    else {
        panic!()
    };
    assert_eq!(r.head.header, b"Server: ng1nx\r\n");
    assert_eq!(r.status, 200);
}
