//! The header pipeline's throughput next to the raw read speed of the same
//! file, and netfilter log lines per second.
//!
//! Run: `cargo bench -p tripline --bench pipeline` (optionally
//! `TRIPLINE_BENCH_PCAP=FILE TRIPLINE_BENCH_LOG=FILE`). Every pass reads from
//! the page cache (a warm-up pass comes first); the best of N passes is shown
//! because the machine is shared and noisy. Compare the ratios, not the
//! absolute numbers.

use std::hint::black_box;
use std::io::{Read, Write};
use std::time::{Duration, Instant};
use tripline_core::{Alert, AuthLog, Connection, DnsLog, InputError, Record};
use tripline_detect::{Engine, EngineConfig, EngineOutput};
use tripline_ingest::capture::CaptureSource;
use tripline_ingest::logs::{LogOptions, LogSource};
use tripline_ingest::{RecordSink, Source};

const PASSES: usize = 5;

fn data(rel: &str) -> String {
    format!("{}/../../../shared/data/{rel}", env!("CARGO_MANIFEST_DIR"))
}

#[derive(Default)]
struct Null {
    records: u64,
    conns: u64,
    alerts: u64,
    errors: u64,
}

impl RecordSink for Null {
    fn record(&mut self, rec: &Record<'_>) {
        self.records += 1;
        black_box(rec);
    }
    fn error(&mut self, _e: InputError) {
        self.errors += 1;
    }
}

impl EngineOutput for Null {
    fn connection(&mut self, c: Connection) {
        self.conns += 1;
        black_box(c);
    }
    fn dns(&mut self, d: DnsLog) {
        black_box(d);
    }
    fn auth(&mut self, a: AuthLog) {
        black_box(a);
    }
    fn alert(&mut self, a: Alert) {
        self.alerts += 1;
        black_box(a);
    }
}

struct EngineSink {
    engine: Engine,
    out: Null,
}

impl RecordSink for EngineSink {
    fn record(&mut self, rec: &Record<'_>) {
        self.out.records += 1;
        self.engine.process(rec, &mut self.out);
    }
    fn error(&mut self, _e: InputError) {
        self.out.errors += 1;
    }
}

fn best<F: FnMut() -> u64>(mut f: F) -> (Duration, u64) {
    let mut best = Duration::MAX;
    let mut units = 0;
    f(); // warm-up: page cache, allocator
    for _ in 0..PASSES {
        let t = Instant::now();
        units = f();
        best = best.min(t.elapsed());
    }
    (best, units)
}

fn rss_anon_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("RssAnon:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn row(name: &str, d: Duration, units: u64, bytes: u64, base: Option<Duration>) {
    let secs = d.as_secs_f64();
    let ratio = base
        .map(|b| format!("{:>7.1}%", 100.0 * b.as_secs_f64() / secs))
        .unwrap_or_else(|| "      -".into());
    println!(
        "{name:<44} {:>9.1} ms {:>12.0} units/s {:>9.1} MB/s {ratio}",
        secs * 1e3,
        units as f64 / secs,
        bytes as f64 / secs / 1e6
    );
}

fn main() {
    // `cargo bench` passes --bench; nothing else is accepted.
    let pcap =
        std::env::var("TRIPLINE_BENCH_PCAP").unwrap_or_else(|_| data("mixed/capture_ext.pcap"));
    let size = std::fs::metadata(&pcap).expect("bench capture").len();
    println!("capture {pcap} ({size} bytes), best of {PASSES} passes");
    println!(
        "{:<44} {:>12} {:>20} {:>14} {:>8}",
        "pass", "time", "rate", "throughput", "of raw"
    );

    let (raw, _) = best(|| {
        let mut f = std::fs::File::open(&pcap).unwrap();
        let mut buf = vec![0u8; 1 << 20];
        let mut n = 0u64;
        let mut sum = 0u64;
        loop {
            let k = f.read(&mut buf).unwrap();
            if k == 0 {
                break;
            }
            sum = sum.wrapping_add(buf[..k].iter().step_by(64).map(|&b| b as u64).sum::<u64>());
            n += k as u64;
        }
        black_box(sum);
        n
    });
    row("raw read() from page cache", raw, size, size, Some(raw));

    let (decode, pkts) = best(|| {
        let mut src = CaptureSource::open(&pcap).unwrap();
        let mut sink = Null::default();
        src.run(&mut sink);
        sink.records
    });
    row(
        "read + decode + defrag (packets)",
        decode,
        pkts,
        size,
        Some(raw),
    );

    let mut conns = 0;
    let (full, pkts2) = best(|| {
        let mut src = CaptureSource::open(&pcap).unwrap();
        let mut sink = EngineSink {
            engine: Engine::with_detectors(EngineConfig::default(), Vec::new()),
            out: Null::default(),
        };
        src.run(&mut sink);
        sink.engine.finish(&mut sink.out);
        conns = sink.out.conns;
        sink.out.records
    });
    row(
        "read + decode + flows + DNS (header pipeline)",
        full,
        pkts2,
        size,
        Some(raw),
    );
    println!(
        "  ({pkts2} packets -> {conns} connections; anon RSS now {} KiB)",
        rss_anon_kib()
    );

    // What `analyze` runs minus the store: every registered detector too.
    let mut alerts = 0;
    let (all, pkts3) = best(|| {
        let mut src = CaptureSource::open(&pcap).unwrap();
        let mut sink = EngineSink {
            engine: Engine::new(EngineConfig::default()),
            out: Null::default(),
        };
        src.run(&mut sink);
        sink.engine.finish(&mut sink.out);
        alerts = sink.out.alerts;
        sink.out.records
    });
    row("  ... + all detectors", all, pkts3, size, Some(raw));
    println!("  ({alerts} alerts)");

    // Netfilter lines: the scans log repeated to about a million lines.
    let log_src =
        std::env::var("TRIPLINE_BENCH_LOG").unwrap_or_else(|_| data("scans/iptables.log"));
    let text = std::fs::read(&log_src).expect("bench log");
    let lines_per_copy = text.iter().filter(|&&b| b == b'\n').count().max(1);
    let copies = (1_000_000 / lines_per_copy).max(1);
    let dir = std::env::temp_dir().join(format!("tripline-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let big = dir.join("kern.log");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&big).unwrap());
        for _ in 0..copies {
            f.write_all(&text).unwrap();
        }
    }
    let big_size = std::fs::metadata(&big).unwrap().len();
    let big_path = big.to_string_lossy().into_owned();
    let opts = LogOptions {
        year: Some(2026),
        ..LogOptions::default()
    };
    println!(
        "\nlog {} x {copies} = {} lines ({big_size} bytes), one core",
        log_src,
        lines_per_copy * copies
    );
    let (raw_log, _) = best(|| std::fs::read(&big).unwrap().len() as u64);
    row(
        "raw read from page cache",
        raw_log,
        big_size,
        big_size,
        Some(raw_log),
    );
    let (parse, n) = best(|| {
        let mut src = LogSource::open(&big_path, opts.clone()).unwrap();
        let mut sink = Null::default();
        src.run(&mut sink);
        sink.records
    });
    row("netfilter lines parsed", parse, n, big_size, Some(raw_log));
    let (fw, n2) = best(|| {
        let mut src = LogSource::open(&big_path, opts.clone()).unwrap();
        let mut sink = EngineSink {
            engine: Engine::with_detectors(EngineConfig::default(), Vec::new()),
            out: Null::default(),
        };
        src.run(&mut sink);
        sink.engine.finish(&mut sink.out);
        sink.out.records
    });
    row(
        "netfilter lines parsed + connection records",
        fw,
        n2,
        big_size,
        Some(raw_log),
    );
    let (fw_all, n3) = best(|| {
        let mut src = LogSource::open(&big_path, opts.clone()).unwrap();
        let mut sink = EngineSink {
            engine: Engine::new(EngineConfig::default()),
            out: Null::default(),
        };
        src.run(&mut sink);
        sink.engine.finish(&mut sink.out);
        sink.out.records
    });
    row("  ... + all detectors", fw_all, n3, big_size, Some(raw_log));
    let _ = std::fs::remove_dir_all(&dir);
}
