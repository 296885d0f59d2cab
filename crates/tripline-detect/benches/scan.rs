//! Scan detection throughput: `cargo bench -p tripline-detect --bench scan`.
//!
//! 1. scans/iptables.log (14,931 real netfilter lines), parsed and run
//!    through the engine with the scan detector, repeated 20 times;
//! 2. a synthetic netfilter log of `SCAN_BENCH_LINES` lines (default
//!    1,000,000; the full run is 10,000,000) from `SCAN_BENCH_SOURCES`
//!    distinct spoofed sources (default 1,000,000), each line generated into
//!    one reused buffer and parsed by the real line parser.
//!
//! Prints lines/s, the detector's own memory estimate and the process's
//! VmHWM / RssAnon, which must stay under the configured cap.

use std::fmt::Write as _;
use std::time::Instant;
use tripline_core::{Alert, AuthLog, Connection, DnsLog, HomeNets, Record};
use tripline_detect::{Engine, EngineConfig, EngineOutput, ScanConfig, ScanDetector};
use tripline_ingest::logs::{LineParser, LogOptions};

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

fn engine(scan: ScanConfig) -> Engine {
    let config = EngineConfig {
        home_nets: HomeNets::parse(&["10.99.1.0/24", "fd99:1::/64"]).unwrap(),
        scan: scan.clone(),
        ..Default::default()
    };
    Engine::with_detectors(config, vec![Box::new(ScanDetector::new(scan))])
}

fn status(key: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(key))
        .map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "?".into())
}

fn opts() -> LogOptions {
    LogOptions {
        year: Some(2026),
        ..Default::default()
    }
}

fn real_log() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/scans/iptables.log"
    );
    let text = std::fs::read(path).expect("scans/iptables.log");
    let rounds = 20;
    let mut lines = 0u64;
    let mut alerts = Count::default();
    let start = Instant::now();
    for _ in 0..rounds {
        let mut e = engine(ScanConfig::default());
        let mut parser = LineParser::new(path, opts());
        for (i, line) in text.split(|&b| b == b'\n').enumerate() {
            if line.is_empty() {
                continue;
            }
            lines += 1;
            parser.parse_line(line, i as u64 + 1, &mut |r: &Record<'_>| {
                e.process(r, &mut alerts)
            });
        }
        e.finish(&mut alerts);
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "iptables.log: {lines} lines ({rounds} x) in {secs:.2} s = {:.0} lines/s, {} alerts per run",
        lines as f64 / secs,
        alerts.0 / rounds
    );
}

fn env_or(key: &str, default: u64) -> u64 {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn synthetic() {
    let n = env_or("SCAN_BENCH_LINES", 1_000_000);
    let sources = env_or("SCAN_BENCH_SOURCES", 1_000_000).max(1);
    let cfg = ScanConfig::default();
    let cap = cfg.max_memory;
    let mut e = engine(cfg);
    let mut parser = LineParser::new("synthetic", opts());
    let mut alerts = Count::default();
    let mut line = String::with_capacity(256);
    let start = Instant::now();
    for i in 0..n {
        // Spread sources so that each is revisited rarely (LRU worst case).
        let s = (i.wrapping_mul(2_654_435_761) % sources) as u32;
        let src = 0x0A00_0000u32 | (s & 0x00FF_FFFF);
        let secs = i / 20_000; // 20k lines per second of log time
        line.clear();
        let _ = write!(
            line,
            "Nov 22 {:02}:{:02}:{:02} gw kernel: DROP IN=gw-ext OUT=br-lan SRC={}.{}.{}.{} DST=10.99.1.{} LEN=44 TOS=0x00 PREC=0x00 TTL=49 ID={} PROTO=TCP SPT={} DPT={} WINDOW=1024 RES=0x00 SYN URGP=0",
            12 + secs / 3600 % 12,
            secs / 60 % 60,
            secs % 60,
            src >> 24,
            src >> 16 & 255,
            src >> 8 & 255,
            src & 255,
            1 + i % 14,
            i % 65536,
            1024 + i % 60000,
            1 + (i * 7) % 1024
        );
        parser.parse_line(line.as_bytes(), i + 1, &mut |r: &Record<'_>| {
            e.process(r, &mut alerts)
        });
    }
    let secs = start.elapsed().as_secs_f64();
    let m = e.scan_mut().map(|d| d.metrics()).unwrap_or_default();
    println!(
        "synthetic: {n} lines, {sources} sources in {secs:.2} s = {:.0} lines/s; {} alerts; tracked {} sources, evicted {}, scan state {:.1} MiB (peak {:.1} MiB, cap {} MiB); VmHWM {}, RssAnon {}",
        n as f64 / secs,
        alerts.0,
        m.tracker.sources,
        m.tracker.sources_evicted,
        m.tracker.bytes as f64 / 1048576.0,
        m.tracker.peak_bytes as f64 / 1048576.0,
        cap >> 20,
        status("VmHWM:"),
        status("RssAnon:"),
    );
    assert!(
        m.tracker.peak_bytes as usize <= cap,
        "scan state over its cap"
    );
}

fn main() {
    real_log();
    synthetic();
}
