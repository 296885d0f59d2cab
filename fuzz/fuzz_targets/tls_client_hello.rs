//! Fuzzes the TLS ClientHello parser: any stream start must parse or fail
//! with a typed error, never panic; what parses must be self-consistent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tripline_ingest::app::tls::{TlsError, parse_client_hello};

fuzz_target!(|data: &[u8]| {
    let mut scratch = Vec::new();
    match parse_client_hello(data, &mut scratch) {
        Ok(h) => {
            assert!(h.consumed <= data.len());
            assert_eq!(h.random.len(), 32);
            for name in h.alpn() {
                assert!(name.len() < 256);
            }
            let _ = h.supported_versions().count();
            let _ = h.extension_list().count();
            let _ = h.max_version();
        }
        Err(TlsError::Incomplete { needed }) => assert!(needed > data.len()),
        Err(_) => {}
    }
});
