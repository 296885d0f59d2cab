//! Fuzzes body decompression through the response parser: a fixed head
//! declaring one to three content codings (chosen by the first byte), then
//! the fuzzed body until the close. Never panics, the decoded body stays
//! within the cap.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tripline_ingest::app::http::{
    DecompressLimits, HttpLimits, HttpScratch, Parsed, ResponseContext, parse_response,
};

const CODINGS: [&str; 6] = [
    "gzip",
    "deflate",
    "gzip, deflate",
    "deflate, gzip",
    "gzip, gzip, gzip",
    "x-gzip\r\nTransfer-Encoding: chunked",
];

fuzz_target!(|data: &[u8]| {
    let Some((&mode, body)) = data.split_first() else {
        return;
    };
    let limits = HttpLimits {
        response_body: 4096,
        decompress: DecompressLimits {
            layers: 3,
            bomb_limit: 16 * 1024,
            ratio: 2048,
        },
        ..HttpLimits::default()
    };
    let coding = CODINGS[mode as usize % CODINGS.len()];
    let mut wire = format!("HTTP/1.1 200 OK\r\nContent-Encoding: {coding}\r\n\r\n").into_bytes();
    wire.extend_from_slice(body);
    let ctx = ResponseContext {
        head_request: false,
        stream_closed: true,
    };
    let mut scratch = HttpScratch::default();
    if let Ok(Parsed::Complete(r)) = parse_response(&wire, &mut scratch, &limits, ctx) {
        assert!(r.body.len() <= limits.response_body);
        assert!(r.body_raw.len() <= limits.response_body);
        assert!(r.consumed > 0 && r.consumed <= wire.len());
    }
});
