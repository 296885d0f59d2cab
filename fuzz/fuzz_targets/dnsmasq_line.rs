//! dnsmasq message parser and answer grouping: never panics, state stays bounded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tripline_core::{Record, Timestamp};
use tripline_ingest::logs::dnsmasq;
use tripline_ingest::logs::dnsmasq_replies::DnsmasqAssembler;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut asm = DnsmasqAssembler::new();
    let mut records = 0usize;
    let mut emit = |r: &Record<'_>| {
        if let Record::Dns(d) = r {
            assert!(d.answers.len() <= text.len());
        }
        records += 1;
    };
    for (i, msg) in text.split('\n').enumerate() {
        if let Ok(line) = dnsmasq::parse(msg) {
            asm.push(
                Timestamp::from_secs_nanos(i as i64 / 3, 0),
                Some(1),
                &line,
                &mut emit,
            );
        }
    }
    asm.flush(&mut emit);
    assert!(!asm.has_pending());
});
