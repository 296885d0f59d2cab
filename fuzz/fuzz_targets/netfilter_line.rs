//! netfilter LOG message parser: never panics; what it accepts is consistent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tripline_core::{Timestamp, Transport};
use tripline_ingest::logs::netfilter;

fuzz_target!(|data: &[u8]| {
    let Ok(msg) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(f) = netfilter::parse(msg) {
        let h = f.header;
        assert_eq!(h.src.is_ipv6(), h.dst.is_ipv6());
        assert_eq!(h.ip.version, if h.src.is_ipv6() { 6 } else { 4 });
        if let Transport::Tcp(t) = h.transport {
            assert!(t.options.as_bytes().len() <= 40);
            let _ = t.parsed_options().count();
        }
        let _ = f.ethernet();
        let rec = f.to_record(Timestamp::ZERO, "fuzz");
        assert_eq!(rec.header(), Some(&h));
    }
});
