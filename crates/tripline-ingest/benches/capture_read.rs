//! Capture reading throughput on mixed/capture_ext.pcap (43 MB).
//!
//! `cargo bench -p tripline-ingest --bench capture_read`
//!
//! * raw: mmap + pcap-parser's record iterator, touching every frame — the
//!   floor any reader pays;
//! * decode: `CaptureSource` (mmap, record checks, link + IP + transport
//!   decoding, defragmentation) into a sink that reads each header.
//!
//! A warm-up pass puts the file in the page cache; each row is the best of
//! five passes.

use memmap2::Mmap;
use pcap_parser::pcap::LegacyPcapSlice;
use std::fs::File;
use std::hint::black_box;
use std::time::{Duration, Instant};
use tripline_core::{InputError, Record};
use tripline_ingest::capture::CaptureSource;
use tripline_ingest::{RecordSink, Source};

const FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/mixed/capture_ext.pcap"
);
const PASSES: usize = 5;

/// Reads every frame with pcap-parser alone; returns (frames, checksum).
fn raw_pass(data: &[u8]) -> (u64, u64) {
    let Ok(slice) = LegacyPcapSlice::from_slice(data) else {
        panic!("not a little-endian pcap")
    };
    let (mut frames, mut sum) = (0u64, 0u64);
    for block in slice {
        let Ok(pcap_parser::PcapBlockOwned::Legacy(b)) = block else {
            break;
        };
        frames += 1;
        sum = sum.wrapping_add(b.data.len() as u64 + *b.data.last().unwrap_or(&0) as u64);
    }
    (frames, sum)
}

struct Touch {
    sum: u64,
}

impl RecordSink for Touch {
    fn record(&mut self, rec: &Record<'_>) {
        if let Record::Packet(p) = rec {
            self.sum = self
                .sum
                .wrapping_add(p.header.sport() as u64 + p.payload.len() as u64);
        }
    }
    fn error(&mut self, err: InputError) {
        panic!("unexpected error in the benchmark file: {err}");
    }
}

fn decode_pass() -> (u64, u64, u64) {
    let mut src = CaptureSource::open(FILE).expect("open");
    let mut sink = Touch { sum: 0 };
    let stats = src.run(&mut sink);
    (stats.units, stats.records, sink.sum)
}

fn best(mut f: impl FnMut()) -> Duration {
    (0..PASSES)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn main() {
    let file = File::open(FILE).expect("open capture");
    // SAFETY: read-only mapping of a file nobody modifies during the benchmark.
    let map = unsafe { Mmap::map(&file) }.expect("mmap");
    let bytes = map.len() as f64;
    let (frames, _) = raw_pass(&map); // warm-up: page cache
    let (units, records, _) = decode_pass();
    assert_eq!(frames, units);

    let raw = best(|| {
        black_box(raw_pass(black_box(&map)));
    });
    let decode = best(|| {
        black_box(decode_pass());
    });

    let row = |name: &str, d: Duration| {
        let s = d.as_secs_f64();
        println!(
            "{name:<26} {:>9.1} ms {:>12.0} pkt/s {:>9.1} MB/s",
            s * 1e3,
            frames as f64 / s,
            bytes / s / 1e6
        );
    };
    println!("capture_read: {FILE}");
    println!(
        "{} bytes, {frames} frames, {records} records; best of {PASSES} passes after a warm-up",
        map.len()
    );
    row("raw (mmap + pcap-parser)", raw);
    row("read+decode+defrag", decode);
    println!(
        "ratio decode/raw: {:.2}x the time",
        decode.as_secs_f64() / raw.as_secs_f64()
    );
}
