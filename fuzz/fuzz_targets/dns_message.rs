//! Fuzzes the DNS wire parser: any bytes, as a UDP payload and as a TCP
//! segment, must parse or fail with a typed error, never panic or spin.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::net::{IpAddr, Ipv4Addr};
use tripline_core::Timestamp;
use tripline_ingest::app::dns::{parse_message, parse_tcp_message};

fuzz_target!(|data: &[u8]| {
    let a = IpAddr::V4(Ipv4Addr::new(10, 99, 1, 2));
    let b = IpAddr::V4(Ipv4Addr::new(10, 99, 1, 1));
    for parsed in [parse_message(data), parse_tcp_message(data)] {
        if let Ok(m) = parsed {
            // Walk and render everything a consumer would.
            if let Some(q) = &m.question {
                let name = q.name.to_string();
                assert!(name.is_ascii());
                assert!(name.len() <= 4 * 255);
            }
            for rr in m.answers() {
                let _ = rr.name.to_string();
            }
            let log = m.to_dns_log(Timestamp::ZERO, a, b);
            assert!(log.answers.len() <= tripline_ingest::app::dns::MAX_ANSWERS + 1);
        }
    }
});
