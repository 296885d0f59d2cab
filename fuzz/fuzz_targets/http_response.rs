//! Fuzzes the HTTP response parser, open and closed streams, HEAD or not:
//! typed errors only, progress on every complete response.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tripline_ingest::app::http::{
    HttpLimits, HttpScratch, Parsed, ResponseContext, parse_response,
};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, data)) = data.split_first() else {
        return;
    };
    let limits = HttpLimits {
        max_head: 4096,
        response_body: 512,
        ..HttpLimits::default()
    };
    let ctx = ResponseContext {
        head_request: mode & 1 == 1,
        stream_closed: mode & 2 == 2,
    };
    let mut scratch = HttpScratch::default();
    let mut at = 0;
    while at < data.len() {
        match parse_response(&data[at..], &mut scratch, &limits, ctx) {
            Ok(Parsed::Complete(r)) => {
                assert!(r.consumed > 0 && at + r.consumed <= data.len());
                assert!(r.body.len() <= limits.response_body);
                assert!(r.status == 0 || (100..=999).contains(&r.status));
                at += r.consumed;
                if r.body_rest.is_some() {
                    break;
                }
            }
            Ok(Parsed::Incomplete) | Err(_) => break,
        }
    }
});
