//! Feeds arbitrary bytes as a whole capture file (pcap, pcapng, gzip)
//! through `CaptureSource`, into a sink that checks what it is given.
#![no_main]

use tripline_core::{InputError, Location, Record};
use tripline_ingest::capture::CaptureSource;
use tripline_ingest::{RecordSink, Source};

struct Discard {
    len: u64,
}

impl RecordSink for Discard {
    fn record(&mut self, rec: &Record<'_>) {
        std::hint::black_box(rec.header());
    }
    fn error(&mut self, err: InputError) {
        // Offsets are after decompression, so only plain inputs are bounded by the length.
        if let Location::Offset(o) = err.location {
            std::hint::black_box(o.min(self.len));
        }
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let len = data.len() as u64;
    if let Ok(mut src) =
        CaptureSource::from_reader("fuzz", Box::new(std::io::Cursor::new(data.to_vec())))
    {
        let stats = src.run(&mut Discard { len });
        if !src.kind().gzip() {
            assert!(stats.bytes <= len);
        }
    }
});
