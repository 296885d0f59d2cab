//! Damaged capture files: every problem is an error naming the byte offset
//! of the record, and reading goes on with the records after it. The
//! fixtures are made by tests/data/capture/make_damaged.py from eth20.pcap
//! and two_interfaces.pcapng; the expected offsets are found here by walking
//! the intact originals.

use tripline_core::{ErrorKind, InputError, Location, Record, Timestamp};
use tripline_ingest::capture::CaptureSource;
use tripline_ingest::{RecordSink, Source, SourceStats};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/capture/");

#[derive(Default)]
struct Collect {
    times: Vec<Timestamp>,
    errors: Vec<InputError>,
    stop_after: Option<usize>,
}

impl RecordSink for Collect {
    fn record(&mut self, rec: &Record<'_>) {
        self.times.push(rec.ts());
    }
    fn error(&mut self, err: InputError) {
        self.errors.push(err);
    }
    fn should_stop(&self) -> bool {
        self.stop_after.is_some_and(|n| self.times.len() >= n)
    }
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}{name}")).unwrap()
}

/// Byte offsets of the records of a little-endian pcap.
fn record_offsets(data: &[u8]) -> Vec<u64> {
    let mut out = Vec::new();
    let mut o = 24;
    while o + 16 <= data.len() {
        out.push(o as u64);
        o += 16 + u32::from_le_bytes(data[o + 8..o + 12].try_into().unwrap()) as usize;
    }
    out
}

/// Reads a fixture from the file (mmap) and from a pipe; both must agree.
fn read_both(name: &str) -> (SourceStats, Collect) {
    let path = format!("{FIXTURES}{name}");
    let mut mapped = Collect::default();
    let stats = CaptureSource::open(&path).unwrap().run(&mut mapped);
    let mut piped = Collect::default();
    let reader = Box::new(std::io::Cursor::new(fixture(name)));
    let piped_stats = CaptureSource::from_reader(&path, reader)
        .unwrap()
        .run(&mut piped);
    assert_eq!(stats, piped_stats, "{name}: mmap and stream disagree");
    assert_eq!(mapped.times, piped.times);
    assert_eq!(mapped.errors, piped.errors);
    (stats, mapped)
}

fn intact_times() -> Vec<Timestamp> {
    let mut sink = Collect::default();
    CaptureSource::open(&format!("{FIXTURES}eth20.pcap"))
        .unwrap()
        .run(&mut sink);
    assert_eq!(sink.times.len(), 20);
    sink.times
}

fn only_error(sink: &Collect, kind: ErrorKind, offset: u64, name: &str) {
    assert_eq!(sink.errors.len(), 1, "{name}: {:?}", sink.errors);
    let e = &sink.errors[0];
    assert_eq!(
        (e.kind, e.location),
        (kind, Location::Offset(offset)),
        "{name}: {e}"
    );
    assert!(e.path.ends_with(name));
}

#[test]
fn truncated_tail_just_ends() {
    // eth20.pcap cut 10 bytes into record 20's data; tcpdump: "truncated dump file"
    let offsets = record_offsets(&fixture("eth20.pcap"));
    let (stats, sink) = read_both("truncated.pcap");
    only_error(&sink, ErrorKind::Truncated, offsets[19], "truncated.pcap");
    assert_eq!(sink.times, intact_times()[..19]);
    assert_eq!(stats.errors.get(&ErrorKind::Truncated), Some(&1));
}

#[test]
fn bad_magic_fails_to_open() {
    let err = CaptureSource::open(&format!("{FIXTURES}bad_magic.pcap"))
        .err()
        .unwrap();
    assert_eq!(
        (err.kind, err.location),
        (ErrorKind::BadMagic, Location::Offset(0))
    );
    assert!(err.message.contains("58585858"), "{}", err.message);
    let err = CaptureSource::from_reader(
        "-",
        Box::new(std::io::Cursor::new(fixture("bad_magic.pcap"))),
    )
    .err()
    .unwrap();
    assert_eq!(err.kind, ErrorKind::BadMagic);
}

#[test]
fn zero_length_record_is_reported_and_skipped() {
    // record 5's header says caplen 0 and its data is gone; tcpdump: "[Invalid header: caplen==0]"
    let offsets = record_offsets(&fixture("eth20.pcap"));
    let (stats, sink) = read_both("zero_length.pcap");
    only_error(&sink, ErrorKind::BadLength, offsets[4], "zero_length.pcap");
    let mut expected = intact_times();
    expected.remove(4);
    assert_eq!(sink.times, expected);
    assert_eq!(stats.units, 20);
}

#[test]
fn oversized_record_is_reported_and_reading_resumes() {
    // record 10 claims 0x7fffffff bytes; its data is still in place
    let offsets = record_offsets(&fixture("eth20.pcap"));
    let (_, sink) = read_both("oversized.pcap");
    only_error(&sink, ErrorKind::BadLength, offsets[9], "oversized.pcap");
    assert!(sink.errors[0].message.contains("2147483647"));
    let mut expected = intact_times();
    expected.remove(9);
    assert_eq!(sink.times, expected);
}

#[test]
fn garbage_between_records_is_skipped() {
    // 37 bytes of 0xff before record 13
    let offsets = record_offsets(&fixture("eth20.pcap"));
    let (_, sink) = read_both("garbage.pcap");
    only_error(&sink, ErrorKind::BadLength, offsets[12], "garbage.pcap");
    assert_eq!(sink.times, intact_times());
}

#[test]
fn pcapng_bad_block_length_resyncs() {
    // the third packet block's length field says 13
    let data = fixture("two_interfaces.pcapng");
    let mut o = 0usize;
    for _ in 0..4 {
        o += u32::from_le_bytes(data[o + 4..o + 8].try_into().unwrap()) as usize;
    }
    let (stats, sink) = read_both("bad_block.pcapng");
    only_error(&sink, ErrorKind::BadLength, o as u64, "bad_block.pcapng");
    assert_eq!(sink.times.len(), 27);
    assert_eq!(stats.records, 27);
}

#[test]
fn truncated_pcapng_and_gzip() {
    let data = fixture("two_interfaces.pcapng");
    let cut = data.len() - 30;
    let mut sink = Collect::default();
    let stats = CaptureSource::from_reader(
        "cut.pcapng",
        Box::new(std::io::Cursor::new(data[..cut].to_vec())),
    )
    .unwrap()
    .run(&mut sink);
    assert_eq!((stats.records, sink.errors.len()), (27, 1));
    assert_eq!(sink.errors[0].kind, ErrorKind::Truncated);

    let gz = fixture("eth20.pcap.gz");
    let mut sink = Collect::default();
    let cut = gz.len() * 2 / 3;
    let stats =
        CaptureSource::from_reader("cut.gz", Box::new(std::io::Cursor::new(gz[..cut].to_vec())))
            .unwrap()
            .run(&mut sink);
    assert!(stats.records < 20 && !sink.errors.is_empty(), "{stats:?}");
    assert!(
        sink.errors
            .iter()
            .all(|e| matches!(e.location, Location::Offset(_)))
    );
    assert_eq!(sink.times, intact_times()[..sink.times.len()]);
}

#[test]
fn cut_file_header_and_every_prefix_never_panics() {
    let data = fixture("two_interfaces.pcapng");
    let pcap = fixture("eth20.pcap");
    for bytes in [&data, &pcap] {
        for cut in (4..bytes.len()).step_by(7) {
            let mut sink = Collect::default();
            let src = CaptureSource::from_reader(
                "cut",
                Box::new(std::io::Cursor::new(bytes[..cut].to_vec())),
            );
            let stats = src.unwrap().run(&mut sink);
            // A cut exactly between records is a clean end; anywhere else one Truncated error.
            assert!(sink.errors.len() <= 1, "cut at {cut}: {:?}", sink.errors);
            assert!(stats.records <= 28);
        }
    }
}

#[test]
fn sink_can_stop_early() {
    let mut sink = Collect {
        stop_after: Some(5),
        ..Default::default()
    };
    let stats = CaptureSource::open(&format!("{FIXTURES}eth20.pcap"))
        .unwrap()
        .run(&mut sink);
    assert_eq!(stats.records, 5);
}
