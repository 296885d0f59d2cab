//! HTTP/1.x request and response parsing: Suricata's buffers, pipelining,
//! chunked bodies, caps, incremental input and bad input.

use tripline_ingest::app::http::{
    HttpError, HttpLimits, HttpScratch, Parsed, ResponseContext, parse_request, parse_response,
};

const CURL: &[u8] = b"GET /files/../file_1M.bin HTTP/1.1\r\n\
Host: Files.Example.NET:80\r\n\
User-Agent: curl/7.88.1\r\n\
Accept: */*\r\n\
Cookie: session=abc\r\n\
\r\n";

fn text(b: &[u8]) -> &str {
    std::str::from_utf8(b).unwrap()
}

#[test]
fn request_buffers_like_suricata() {
    let mut s = HttpScratch::default();
    let Parsed::Complete(r) = parse_request(CURL, &mut s, &HttpLimits::default()).unwrap() else {
        panic!("incomplete")
    };
    assert_eq!(r.consumed, CURL.len());
    assert_eq!(r.method, b"GET");
    assert_eq!(r.uri_raw, b"/files/../file_1M.bin");
    assert_eq!(r.uri, b"/file_1M.bin");
    assert_eq!(r.head.protocol, b"HTTP/1.1");
    assert_eq!(r.request_line, b"GET /files/../file_1M.bin HTTP/1.1");
    assert_eq!(r.host, Some(&b"files.example.net"[..]));
    assert_eq!(r.host_raw, Some(&b"Files.Example.NET:80"[..]));
    assert_eq!(r.user_agent, Some(&b"curl/7.88.1"[..]));
    assert_eq!(r.head.cookie, Some(&b"session=abc"[..]));
    assert_eq!(
        text(r.head.header),
        "Host: Files.Example.NET:80\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n"
    );
    assert_eq!(
        text(r.head.header_names),
        "\r\nHost\r\nUser-Agent\r\nAccept\r\nCookie\r\n\r\n"
    );
    assert!(r.body.is_empty() && r.body_rest.is_none());
}

#[test]
fn every_split_point_is_incomplete_until_the_end() {
    let mut s = HttpScratch::default();
    for cut in 0..CURL.len() {
        let r = parse_request(&CURL[..cut], &mut s, &HttpLimits::default()).unwrap();
        assert!(matches!(r, Parsed::Incomplete), "cut {cut}");
    }
}

#[test]
fn pipelined_requests_with_bodies() {
    let wire = b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloPOST /b?x=%41 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\nGET //c/./d HTTP/1.0\r\n\r\n";
    let limits = HttpLimits::default();
    let mut s = HttpScratch::default();
    let mut at = 0;
    let mut seen = Vec::new();
    while at < wire.len() {
        let Parsed::Complete(r) = parse_request(&wire[at..], &mut s, &limits).unwrap() else {
            panic!("incomplete at {at}")
        };
        seen.push((
            text(r.method).to_string(),
            text(r.uri).to_string(),
            text(r.body).to_string(),
            r.head.content_type.map(|c| text(c).to_string()),
        ));
        at += r.consumed;
    }
    assert_eq!(
        seen,
        [
            ("POST".into(), "/a".into(), "hello".into(), None),
            (
                "POST".into(),
                "/b?x=%41".into(),
                "abcde".into(),
                Some("text/plain".to_string())
            ),
            ("GET".into(), "/c/d".into(), "".into(), None),
        ]
    );
}

#[test]
fn request_body_cap_and_rest() {
    let limits = HttpLimits {
        request_body: 4,
        ..HttpLimits::default()
    };
    let wire = b"PUT /u HTTP/1.1\r\nContent-Length: 10\r\n\r\n012345";
    let mut s = HttpScratch::default();
    let Parsed::Complete(r) = parse_request(wire, &mut s, &limits).unwrap() else {
        panic!()
    };
    assert_eq!(r.body, b"0123");
    assert_eq!(r.consumed, wire.len());
    let mut rest = r.body_rest.expect("body goes on");
    let p = rest.feed(b"6789GET", 0, &mut Vec::new(), 0).unwrap();
    assert_eq!((p.consumed, p.done), (4, true));
}

#[test]
fn absolute_uri_host_wins_over_header() {
    let wire = b"GET http://Proxy.Example.ORG:3128/x/%2e%2e/y HTTP/1.1\r\nHost: other\r\n\r\n";
    let mut s = HttpScratch::default();
    let Parsed::Complete(r) = parse_request(wire, &mut s, &HttpLimits::default()).unwrap() else {
        panic!()
    };
    assert_eq!(r.host, Some(&b"proxy.example.org"[..]));
    assert_eq!(r.uri, b"/y");
    assert_eq!(r.uri_raw, b"http://Proxy.Example.ORG:3128/x/%2e%2e/y");
}

#[test]
fn responses_python_and_chunked() {
    let limits = HttpLimits::default();
    let mut s = HttpScratch::default();
    let wire = b"HTTP/1.0 200 OK\r\nServer: SimpleHTTP/0.6 Python/3.11.2\r\nContent-type: application/octet-stream\r\nContent-Length: 4\r\nSet-Cookie: a=b\r\n\r\nDATAHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n0\r\n\r\n";
    let Parsed::Complete(r) =
        parse_response(wire, &mut s, &limits, ResponseContext::default()).unwrap()
    else {
        panic!()
    };
    assert_eq!(
        (r.stat_code, r.status, r.stat_msg),
        (&b"200"[..], 200, &b"OK"[..])
    );
    assert_eq!(r.body, b"DATA");
    assert_eq!(r.head.cookie, Some(&b"a=b"[..]));
    assert_eq!(r.head.content_type, Some(&b"application/octet-stream"[..]));
    assert!(!text(r.head.header).contains("Set-Cookie"));
    let at = r.consumed;
    let Parsed::Complete(r) =
        parse_response(&wire[at..], &mut s, &limits, ResponseContext::default()).unwrap()
    else {
        panic!()
    };
    assert_eq!(r.body, b"Wiki");
    assert_eq!(at + r.consumed, wire.len());
}

#[test]
fn response_framing_rules() {
    let limits = HttpLimits::default();
    let mut s = HttpScratch::default();
    // HEAD: no body despite Content-Length.
    let wire = b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n";
    let head = ResponseContext {
        head_request: true,
        ..Default::default()
    };
    let Parsed::Complete(r) = parse_response(wire, &mut s, &limits, head).unwrap() else {
        panic!()
    };
    assert_eq!(r.consumed, wire.len());
    // 100 Continue is interim and has no body.
    let wire = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
    let Parsed::Complete(r) = parse_response(wire, &mut s, &limits, Default::default()).unwrap()
    else {
        panic!()
    };
    assert!(r.is_interim());
    assert_eq!(r.consumed, 25);
    // No length: the body runs until the close.
    let wire = b"HTTP/1.0 200 OK\r\n\r\nsome bytes";
    assert!(matches!(
        parse_response(wire, &mut s, &limits, Default::default()).unwrap(),
        Parsed::Incomplete
    ));
    let closed = ResponseContext {
        stream_closed: true,
        ..Default::default()
    };
    let Parsed::Complete(r) = parse_response(wire, &mut s, &limits, closed).unwrap() else {
        panic!()
    };
    assert_eq!(r.body, b"some bytes");
}

#[test]
fn bad_input_gives_typed_errors() {
    let limits = HttpLimits {
        max_head: 64,
        ..HttpLimits::default()
    };
    let mut s = HttpScratch::default();
    let cases: [(&[u8], HttpError); 5] = [
        (
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03abcdefgh",
            HttpError::NotHttp { offset: 0 },
        ),
        (b"GET /\r\n\r\n", HttpError::NotHttp { offset: 0 }),
        (
            b"GET / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",
            HttpError::Malformed {
                offset: 32,
                what: "Content-Length",
            },
        ),
        (
            b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n",
            HttpError::Malformed {
                offset: 46,
                what: "chunk size",
            },
        ),
        (
            &[b'A'; 100],
            HttpError::TooLarge {
                offset: 0,
                what: "message head",
            },
        ),
    ];
    for (wire, want) in cases {
        assert_eq!(
            parse_request(wire, &mut s, &limits).unwrap_err(),
            want,
            "{wire:?}"
        );
    }
    assert_eq!(
        parse_response(b"SSH-2.0-x\r\n\r\n", &mut s, &limits, Default::default()).unwrap_err(),
        HttpError::NotHttp { offset: 0 }
    );
    // An invalid status code is status 0, as libhtp reads it; the message
    // goes on (here: a body until the connection closes).
    assert!(matches!(
        parse_response(
            b"HTTP/1.1 2x0 OK\r\n\r\n",
            &mut s,
            &limits,
            Default::default()
        ),
        Ok(Parsed::Incomplete)
    ));
}
