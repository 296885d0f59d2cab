//! Filter detector cost per packet: `cargo bench -p tripline-detect --bench filter`.
//!
//! Reads mixed/capture_ext.pcap (real mixed traffic with scans) three
//! times each way: decoding only (the baseline), and decoding plus the
//! filter detector with ten analyst expressions. The difference per packet
//! is the detector's cost (ten libpcap BPF programs, aggregation). Set
//! `FILTER_BENCH_FILE` to use another capture.

use std::time::{Duration, Instant};
use tripline_core::{Alert, AuthLog, Connection, DnsLog, HomeNets, InputError, Record};
use tripline_detect::detectors::filter::{FilterConfig, FilterDetector, parse_filter_list};
use tripline_detect::{DetectContext, Detector, EngineOutput};
use tripline_ingest::capture::CaptureSource;
use tripline_ingest::{RecordSink, Source};

const FILTERS: &str = "\
null-scan: tcp[13] & 0x3f = 0
xmas-scan: tcp[13] & 0x3f = 0x29
syn-fin: tcp[13] & 0x03 = 0x03
syn-1024: tcp[13] & 0x12 = 0x02 and tcp[14:2] = 1024
land: ip and ip[12:4] = ip[16:4]
fragments: (ip[6:2] & 0x3fff) != 0
icmp-odd: icmp[0] != 8 and icmp[0] != 0
mysql-out: src net 10.99.1.0/24 and tcp[13] & 0x12 = 0x02 and dst port 3306
udp-not-dns: udp and not port 53
smb: tcp dst port 445 or tcp dst port 139
";

#[derive(Default)]
struct Count(u64);

impl EngineOutput for Count {
    fn connection(&mut self, _c: Connection) {}
    fn dns(&mut self, _d: DnsLog) {}
    fn auth(&mut self, _a: AuthLog) {}
    fn alert(&mut self, _a: Alert) {
        self.0 += 1;
    }
}

/// Hands every record to the detector (or, without one, only counts it).
struct Feed {
    detector: Option<FilterDetector>,
    home: HomeNets,
    out: Count,
    packets: u64,
}

impl RecordSink for Feed {
    fn record(&mut self, rec: &Record<'_>) {
        self.packets += 1;
        if let Some(d) = &mut self.detector {
            let ctx = DetectContext {
                home_nets: &self.home,
                now: rec.ts(),
                os: None,
            };
            d.on_record(rec, &ctx, &mut self.out);
        }
    }
    fn error(&mut self, _e: InputError) {}
}

fn pass(path: &str, with_filters: bool) -> (Duration, u64, u64, Option<FilterDetector>) {
    let detector = with_filters.then(|| {
        let (filters, errors) = parse_filter_list(FILTERS, "bench");
        assert!(errors.is_empty(), "{errors:?}");
        let (d, rejected) = FilterDetector::new(FilterConfig {
            filters,
            ..Default::default()
        });
        assert!(rejected.is_empty(), "{rejected:?}");
        d
    });
    let mut feed = Feed {
        detector,
        home: HomeNets::default(),
        out: Count::default(),
        packets: 0,
    };
    let mut src = CaptureSource::open(path).expect("bench capture opens");
    let start = Instant::now();
    let stats = src.run(&mut feed);
    if let Some(d) = &mut feed.detector {
        let ctx = DetectContext {
            home_nets: &feed.home,
            now: tripline_core::Timestamp::ZERO,
            os: None,
        };
        d.finish(&ctx, &mut feed.out);
    }
    let elapsed = start.elapsed();
    assert!(stats.records > 0, "no packets in {path}");
    (elapsed, feed.packets, feed.out.0, feed.detector)
}

fn main() {
    let path = std::env::var("FILTER_BENCH_FILE").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/data/mixed/capture_ext.pcap"
        )
        .to_string()
    });
    // Warm the page cache.
    let _ = pass(&path, false);
    let best = |with: bool| {
        (0..3)
            .map(|_| pass(&path, with))
            .min_by_key(|r| r.0)
            .expect("three runs")
    };
    let (base, packets, _, _) = best(false);
    let (with, _, alerts, det) = best(true);
    let m = det.map(|d| d.metrics()).unwrap_or_default();
    let per_base = base.as_nanos() as f64 / packets as f64;
    let per_with = with.as_nanos() as f64 / packets as f64;
    println!("capture: {path}");
    println!("packets: {packets}  (filters ran on {})", m.packets);
    println!(
        "decode only:            {:>8.3} s  {:>7.1} ns/packet  {:>10.0} packets/s",
        base.as_secs_f64(),
        per_base,
        packets as f64 / base.as_secs_f64()
    );
    println!(
        "decode + 10 filters:    {:>8.3} s  {:>7.1} ns/packet  {:>10.0} packets/s",
        with.as_secs_f64(),
        per_with,
        packets as f64 / with.as_secs_f64()
    );
    println!(
        "filter detector cost:   {:>7.1} ns/packet ({:.1} ns per expression and packet)",
        per_with - per_base,
        (per_with - per_base) / 10.0
    );
    println!("matches: {}  alerts: {alerts}", m.matches);
}
