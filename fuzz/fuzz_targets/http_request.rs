//! Fuzzes the HTTP request parser: any bytes, parsed as a stream of
//! pipelined requests, must parse or fail with a typed error, never panic,
//! and always make progress.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tripline_ingest::app::http::{HttpLimits, HttpScratch, Parsed, parse_request};

fuzz_target!(|data: &[u8]| {
    let limits = HttpLimits {
        max_head: 4096,
        request_body: 512,
        ..HttpLimits::default()
    };
    let mut scratch = HttpScratch::default();
    let mut at = 0;
    while at < data.len() {
        match parse_request(&data[at..], &mut scratch, &limits) {
            Ok(Parsed::Complete(r)) => {
                assert!(r.consumed > 0 && at + r.consumed <= data.len());
                assert!(r.body.len() <= limits.request_body);
                assert!(
                    r.head.header_names.starts_with(b"\r\n")
                        && r.head.header_names.ends_with(b"\r\n\r\n")
                );
                at += r.consumed;
                if let Some(mut rest) = r.body_rest {
                    let p = rest.feed(&data[at..], at, &mut Vec::new(), 0);
                    match p {
                        Ok(p) => at += p.consumed,
                        Err(_) => break,
                    }
                }
            }
            Ok(Parsed::Incomplete) | Err(_) => break,
        }
    }
});
