//! Damaged and unusual input: every line is accounted for, nothing panics.

mod logs_support;

use logs_support::{Collect, fixture, read, shared, year};
use std::io::Write;
use tripline_core::{AuthEvent, DnsEvent, ErrorKind, Location, Timestamp};
use tripline_ingest::Source;
use tripline_ingest::logs::{LogOptions, LogSource};

fn errors(c: &Collect) -> Vec<(Location, ErrorKind)> {
    c.errors.iter().map(|e| (e.location, e.kind)).collect()
}

fn check_mixed(got: &Collect, stats: &tripline_ingest::SourceStats) {
    assert_eq!((stats.units, stats.skipped, stats.records), (19, 4, 12));
    assert_eq!(
        errors(got),
        [
            (Location::Line(11), ErrorKind::Binary),
            (Location::Line(12), ErrorKind::BadLine),
            (Location::Line(13), ErrorKind::BadLine)
        ]
    );
    assert!(
        got.errors[1].message.contains("field DST"),
        "{}",
        got.errors[1].message
    );
    assert!(
        got.errors[2].message.contains("no syslog"),
        "{}",
        got.errors[2].message
    );
    let prefixes: Vec<_> = got.fw.iter().map(|f| f.prefix.as_str()).collect();
    assert_eq!(
        prefixes,
        [
            "[UFW BLOCK]",
            "[UFW AUDIT]",
            "nft drop in:",
            "DROP",
            "DROP",
            "DROP"
        ]
    );
    let at = |s, ns| {
        Timestamp::from_civil(2026, 11, 22, 12, 15, s)
            .unwrap()
            .add_nanos(ns)
    };
    let times: Vec<_> = got.fw.iter().map(|f| f.ts).collect();
    assert_eq!(
        times,
        [
            at(36, 0),
            at(37, 0),
            at(38, 0),
            at(43, 500_000_000),
            at(44, 0),
            at(45, 250_000_000)
        ]
    );
    assert_eq!(got.fw[2].header.ip.flow_label, 12345);
    let dns: Vec<_> = got
        .dns
        .iter()
        .map(|d| (d.event, d.name.as_str(), d.blocked))
        .collect();
    assert_eq!(
        dns,
        [
            (DnsEvent::Query, "tripline.example", false),
            (DnsEvent::Reply, "tripline.example", false),
            (DnsEvent::Query, "last.example", false),
            (DnsEvent::Config, "last.example", true)
        ]
    );
    let auth: Vec<_> = got
        .auth
        .iter()
        .map(|a| (a.event, a.user.as_deref(), a.port))
        .collect();
    assert_eq!(
        auth,
        [
            (AuthEvent::Failed, Some("from x"), Some(41001)),
            (AuthEvent::Accepted, Some("root"), Some(40100))
        ]
    );
}

#[test]
fn mixed_syslog_every_line_accounted_for() {
    let (got, stats) = read(&fixture("mixed_syslog.log"), year(2026));
    check_mixed(&got, &stats);
    assert_eq!(stats.error_count(), 3);
}

#[test]
fn gzip_from_a_reader() {
    let plain = std::fs::read(fixture("mixed_syslog.log")).unwrap();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&plain).unwrap();
    let gz = enc.finish().unwrap();
    let mut src =
        LogSource::from_reader("-", Box::new(std::io::Cursor::new(gz.clone())), year(2026));
    let mut got = Collect::default();
    let stats = src.run(&mut got);
    check_mixed(&got, &stats);
    assert_eq!(stats.bytes, plain.len() as u64);
    assert!(got.errors.iter().all(|e| e.path == "-"));

    // A gzip stream cut in half: what was inflated is read, then one error.
    let cut = &gz[..gz.len() / 2];
    let mut src = LogSource::from_reader(
        "-",
        Box::new(std::io::Cursor::new(cut.to_vec())),
        year(2026),
    );
    let mut got = Collect::default();
    let stats = src.run(&mut got);
    assert!(stats.units < 19);
    assert_eq!(
        got.errors.last().map(|e| e.kind),
        Some(ErrorKind::Truncated)
    );
}

#[test]
fn very_long_lines_are_skipped_to_the_next_newline() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.log");
    let good = "Nov 22 12:15:36 gw kernel: DROP IN=eth0 OUT= SRC=1.1.1.1 DST=2.2.2.2 LEN=40 TOS=0x00 PREC=0x00 TTL=1 ID=1 PROTO=2 \n";
    let mut text = good.to_string();
    text.push_str("Nov 22 12:15:36 gw kernel: ");
    text.push_str(&"A".repeat(100 * 1024));
    text.push('\n');
    text.push_str(good);
    std::fs::write(&path, &text).unwrap();
    let (got, stats) = read(path.to_str().unwrap(), year(2026));
    assert_eq!(
        (got.fw.len(), stats.units, stats.bytes),
        (2, 3, text.len() as u64)
    );
    assert_eq!(errors(&got), [(Location::Line(2), ErrorKind::BadLength)]);
}

#[test]
fn year_comes_from_the_file_mtime_and_rolls_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rollover.log");
    std::fs::copy(fixture("rollover.log"), &path).unwrap();
    let mtime = std::time::UNIX_EPOCH
        + std::time::Duration::from_secs(
            Timestamp::from_civil(2027, 1, 2, 8, 0, 0).unwrap().secs() as u64,
        );
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let (got, _) = read(path.to_str().unwrap(), LogOptions::default());
    let times: Vec<_> = got.fw.iter().map(|f| f.ts).collect();
    assert_eq!(
        times,
        [
            Timestamp::from_civil(2026, 12, 31, 23, 59, 58).unwrap(),
            Timestamp::from_civil(2027, 1, 1, 0, 0, 1).unwrap()
        ]
    );
    // An explicit year wins over the mtime.
    let (got, _) = read(path.to_str().unwrap(), year(2030));
    assert_eq!(
        got.fw[1].ts,
        Timestamp::from_civil(2030, 1, 1, 0, 0, 1).unwrap()
    );
}

#[test]
fn empty_input_and_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.log");
    std::fs::write(&path, b"").unwrap();
    let (got, stats) = read(path.to_str().unwrap(), LogOptions::default());
    assert_eq!((stats.units, got.errors.len()), (0, 0));
    let err = LogSource::open("/nonexistent/x.log", LogOptions::default()).unwrap_err();
    assert_eq!((err.kind, err.location), (ErrorKind::Io, Location::File));
}

#[test]
fn progress_is_reported_about_every_megabyte() {
    let path = shared("scans/iptables.log");
    let size = std::fs::metadata(&path).unwrap().len();
    let src = LogSource::open(&path, year(2026)).unwrap();
    assert_eq!(src.size_hint(), Some(size));
    let (got, _) = read(&path, year(2026));
    assert!(
        got.progress.len() as u64 >= size >> 20,
        "{:?}",
        got.progress
    );
    assert!(got.progress.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(got.progress.last(), Some(&size));
}
