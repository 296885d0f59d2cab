//! Signature matching throughput on `../shared/data/mixed/capture_ext.pcap`:
//! `cargo bench -p tripline-detect --bench signatures`.
//!
//! Three engines read the same capture (memory-mapped, so the page cache
//! serves it after the first pass):
//! (a) no rules (decode, flows, DNS, the other detectors);
//! (b) (a) plus the packet-level ET Open rules (header protocol ip/tcp/udp/
//!     icmp and no application buffer);
//! (c) (a) plus every loadable ET Open rule.
//! (b) and (c) run in the engine's thread and with signature workers
//! (`TRIPLINE_BENCH_WORKERS`, default: the machine's cores), which must
//! raise the same alerts. Each is run three times, interleaved; the best
//! run counts. Ratios to (a) are what to compare across machines. Rule loading and compiling are
//! timed separately, and the matcher's peak memory is estimated from the
//! process's resident set growth.

use std::path::Path;
use std::time::Instant;
use tripline_core::{Alert, AuthLog, Connection, DnsLog, HomeNets, InputError, Record};
use tripline_detect::detectors::signature::{SignatureConfig, SignatureDetector};
use tripline_detect::{Engine, EngineConfig, EngineOutput};
use tripline_ingest::RecordSink;
use tripline_ingest::logs::LogOptions;
use tripline_ingest::open::open_input;
use tripline_rules::{Classifications, LoadSummary, Rule, RuleSet, Variables};

fn data(rel: &str) -> String {
    format!("{}/../../../shared/data/{rel}", env!("CARGO_MANIFEST_DIR"))
}

#[derive(Default)]
struct Count {
    alerts: u64,
    signature_alerts: u64,
}

impl EngineOutput for Count {
    fn connection(&mut self, _c: Connection) {}
    fn dns(&mut self, _d: DnsLog) {}
    fn auth(&mut self, _a: AuthLog) {}
    fn alert(&mut self, a: Alert) {
        self.alerts += 1;
        if a.detector == "signature" {
            self.signature_alerts += 1;
        }
    }
}

struct Sink<'a> {
    engine: &'a mut Engine,
    out: &'a mut Count,
    packets: u64,
    bytes: u64,
}

impl RecordSink for Sink<'_> {
    fn record(&mut self, rec: &Record<'_>) {
        if let Record::Packet(p) = rec {
            self.packets += 1;
            self.bytes += u64::from(p.wire_len);
        }
        self.engine.process(rec, self.out);
    }
    fn error(&mut self, _e: InputError) {}
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

struct RunResult {
    secs: f64,
    packets: u64,
    bytes: u64,
    signature_alerts: u64,
}

fn run(capture: &str, config: &EngineConfig) -> RunResult {
    // Rule compilation is timed separately: the clock starts after it.
    let mut engine = Engine::new(config.clone());
    let mut out = Count::default();
    let start = Instant::now();
    let mut src = open_input(capture, &LogOptions::default()).expect("capture opens");
    let mut sink = Sink {
        engine: &mut engine,
        out: &mut out,
        packets: 0,
        bytes: 0,
    };
    src.run(&mut sink);
    let (packets, bytes) = (sink.packets, sink.bytes);
    engine.finish(&mut out);
    if let Some(sig) = engine.signature_mut() {
        let st = sig.stats();
        println!(
            "  matcher: {} packets, {:.1} MB scanned, {:.1} candidates/packet (header {:.1}, patterns {:.1}, always {:.1}), {} matches, {} alerts",
            st.matcher.packets,
            st.matcher.scanned_bytes as f64 / 1e6,
            st.matcher.candidates as f64 / st.matcher.packets.max(1) as f64,
            st.matcher.header_candidates as f64 / st.matcher.packets.max(1) as f64,
            st.matcher.pattern_candidates as f64 / st.matcher.packets.max(1) as f64,
            st.matcher.always_candidates as f64 / st.matcher.packets.max(1) as f64,
            st.matcher.matches,
            st.matcher.alerts
        );
        println!(
            "  app layer: {} HTTP requests, {} responses, {} bodies decoded ({} corrupt, {} bombs, {} truncated), {} parse errors",
            st.app.http_requests,
            st.app.http_responses,
            st.app.bodies_decoded,
            st.app.bodies_corrupt,
            st.app.bodies_bomb,
            st.app.bodies_truncated,
            st.app.http_errors
        );
    }
    RunResult {
        secs: start.elapsed().as_secs_f64(),
        packets,
        bytes,
        signature_alerts: out.signature_alerts,
    }
}

fn is_packet_level(r: &Rule) -> bool {
    use tripline_rules::header::Protocol;
    !matches!(r.header.protocol, Protocol::App(_))
        && r.detections.iter().all(|d| !d.buffer().is_app())
}

fn main() {
    let capture = data("mixed/capture_ext.pcap");
    let rules_dir = data("rules/et-open-2024-04");
    let home = HomeNets::parse(&["192.168.0.0/16", "10.0.0.0/8", "172.16.0.0/12"]).unwrap();

    let t0 = Instant::now();
    let classes = std::fs::read_to_string(Path::new(&rules_dir).join("classification.config"))
        .map(|t| Classifications::parse(&t).0)
        .ok();
    let mut set = RuleSet::new(Variables::suricata_defaults(&home), classes.clone());
    let mut summary = LoadSummary::default();
    let mut files: Vec<_> = std::fs::read_dir(&rules_dir)
        .expect("rules dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "rules"))
        .collect();
    files.sort();
    for f in &files {
        set.load_file(f, &mut summary);
    }
    let load = t0.elapsed().as_secs_f64();
    let all: Vec<Rule> = set.rules().to_vec();
    let packet: Vec<Rule> = all.iter().filter(|r| is_packet_level(r)).cloned().collect();

    let rss0 = rss_kib();
    let t1 = Instant::now();
    let det = SignatureDetector::new(SignatureConfig::with_rules(all.clone(), classes.clone()));
    let compile = t1.elapsed().as_secs_f64();
    let rss1 = rss_kib();
    println!(
        "rules: {} loaded from {} files in {load:.3} s; matcher compiled {} ({} refused) in {compile:.3} s, +{:.1} MiB resident",
        all.len(),
        files.len(),
        det.stats().rules,
        det.stats().refused,
        (rss1.saturating_sub(rss0)) as f64 / 1024.0
    );
    // Workers share one compiled rule set: four of them cost about what
    // one thread does (measured while the first set is still held, so the
    // allocator cannot reuse its memory).
    let rss2 = rss_kib();
    let t2 = Instant::now();
    let four = SignatureDetector::new(SignatureConfig {
        workers: 4,
        ..SignatureConfig::with_rules(all.clone(), classes.clone())
    });
    println!(
        "  with 4 workers: compiled and started in {:.3} s, +{:.1} MiB resident",
        t2.elapsed().as_secs_f64(),
        (rss_kib().saturating_sub(rss2)) as f64 / 1024.0
    );
    drop(four);
    drop(det);

    let base = EngineConfig {
        home_nets: home.clone(),
        ..Default::default()
    };
    let workers: usize = std::env::var("TRIPLINE_BENCH_WORKERS")
        .ok()
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let with = |rules: &Vec<Rule>, workers: usize| EngineConfig {
        signature: SignatureConfig {
            workers,
            ..SignatureConfig::with_rules(rules.clone(), classes.clone())
        },
        ..base.clone()
    };
    let w_name = |set: &str| format!("{set}, {workers} workers");
    let configs = [
        ("(a) no rules".to_string(), base.clone(), 0usize),
        (
            "(b) packet-level ET Open".to_string(),
            with(&packet, 0),
            packet.len(),
        ),
        (
            w_name("(b) packet-level"),
            with(&packet, workers),
            packet.len(),
        ),
        (
            "(c) all loadable ET Open".to_string(),
            with(&all, 0),
            all.len(),
        ),
        (w_name("(c) all loadable"), with(&all, workers), all.len()),
    ];
    // TRIPLINE_BENCH_ONLY=b runs the (b) configurations only (for
    // profiling); TRIPLINE_BENCH_ROUNDS sets the rounds (default 3, or 1
    // with ONLY).
    let only = std::env::var("TRIPLINE_BENCH_ONLY").ok();
    let rounds = std::env::var("TRIPLINE_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(if only.is_some() { 1 } else { 3 });
    let mut best: Vec<Option<RunResult>> = configs.iter().map(|_| None).collect();
    for _round in 0..rounds {
        for (i, (name, cfg, _)) in configs.iter().enumerate() {
            if only
                .as_deref()
                .is_some_and(|o| !name.starts_with(&format!("({o})")))
            {
                continue;
            }
            let r = run(&capture, cfg);
            if best[i].as_ref().is_none_or(|b| r.secs < b.secs) {
                best[i] = Some(r);
            }
        }
    }
    let a_secs = best[0].as_ref().map(|r| r.secs).unwrap_or(1.0);
    for ((name, _, n), r) in configs.iter().zip(&best) {
        let Some(r) = r else { continue };
        println!(
            "{name:<30} {n:>6} rules: {:.3} s, {:.0} kpkt/s, {:.0} Mbit/s, {:.0} % of (a), {} signature alerts",
            r.secs,
            r.packets as f64 / r.secs / 1e3,
            r.bytes as f64 * 8.0 / r.secs / 1e6,
            100.0 * a_secs / r.secs,
            r.signature_alerts
        );
    }
}
