#![no_main]
//! Fuzzes the p0f.fp parser (strict and lenient) and matches every parsed
//! signature set against a header built from the same bytes.

use libfuzzer_sys::fuzz_target;
use tripline_core::{Header, IpFields, OptionBytes, TcpFields, TcpFlags, Transport};
use tripline_detect::osfp::{Database, Observed, find_match};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let strict = Database::parse(text);
    let (db, errors) = Database::parse_lenient(text, 8);
    if let Ok(ok) = &strict {
        assert_eq!(ok.requests.len(), db.requests.len());
        assert!(errors.is_empty());
    } else {
        assert!(db.bad_lines > 0);
    }
    // A SYN and a SYN+ACK whose options are the input's first bytes.
    let opts = &data[..data.len().min(40)];
    for flags in [TcpFlags::SYN, TcpFlags::SYN | TcpFlags::ACK] {
        let h = Header {
            ip: IpFields {
                ttl: data.first().copied().unwrap_or(64),
                ..Default::default()
            },
            transport: Transport::Tcp(TcpFields {
                window: data.len() as u16,
                flags: TcpFlags(flags),
                options: OptionBytes::new(opts).unwrap_or_default(),
                ..Default::default()
            }),
            ..Default::default()
        };
        if let Some(o) = Observed::from_header(&h, None) {
            let _ = find_match(&db, &o, Some(1460));
        }
    }
});
