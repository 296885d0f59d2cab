//! The whole line parser (envelopes, netfilter, dnsmasq, sshd) over
//! arbitrary bytes split into lines: never panics, every line has an outcome.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tripline_core::{Location, Timestamp};
use tripline_ingest::logs::{LineOutcome, LineParser, LogOptions, Tz};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, body)) = data.split_first() else {
        return;
    };
    let opts = LogOptions {
        year: (mode & 1 == 0).then_some(2026),
        tz: (mode & 2 != 0).then_some(Tz::Australia__Lord_Howe),
        reference: (mode & 4 != 0).then(|| Timestamp::from_secs_nanos(1_798_848_000, 0)),
        boot_time: (mode & 8 != 0).then(|| Timestamp::from_secs_nanos(i64::MAX / 2_000_000_000, 0)),
    };
    let mut parser = LineParser::new("fuzz", opts);
    let mut records = 0u64;
    for (i, line) in body.split(|&b| b == b'\n').enumerate() {
        let lineno = i as u64 + 1;
        match parser.parse_line(line, lineno, &mut |_| records += 1) {
            LineOutcome::Error(e) => assert_eq!(e.location, Location::Line(lineno)),
            LineOutcome::Record | LineOutcome::Skipped => {}
        }
    }
    parser.finish(&mut |_| records += 1);
});
