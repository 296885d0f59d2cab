//! Report and serve on one synthetic day: fills a store with
//! `TRIPLINE_BENCH_CONNS` connections (default 1,000,000) and
//! `TRIPLINE_BENCH_ALERTS` alerts (default 10,000) spread over one UTC day,
//! times `write_report` into an empty folder and again over the site it
//! wrote, then starts `serve` and times the hour page.
//!
//! `cargo bench -p tripline-web --bench report_day` (set `TRIPLINE_BENCH_DIR`
//! to keep the store and the site; with `TRIPLINE_BENCH_REUSE=1` a store
//! already there is reused instead of filled again). After the whole
//! report it times each kind of page on its own, so the total can be
//! read as day + hours + sources + alerts.

use base64::Engine as _;
use serde_json::json;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Instant;
use tripline_core::{Alert, ConnOrigin, ConnState, Connection, Direction, Severity, Timestamp};
use tripline_store::{HOUR_NS, Store, StoreSink};
use tripline_web::{ReportOptions, Triage, WebConfig, write_report};

/// 2026-11-22 00:00:00 UTC.
const DAY: i64 = 1_795_305_600 * 1_000_000_000;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

fn fill(store: &mut Store, conns: u64, alerts: u64) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut sink = StoreSink::new(store, None)
        .with_deferred_indexes()
        .expect("deferred indexes");
    let step = (24 * HOUR_NS) / conns.max(1) as i64;
    for i in 0..conns {
        let r = rng.next();
        let inbound = r.is_multiple_of(10);
        let (src, dst, direction) = if inbound {
            (
                v4(198, 51, (r >> 8) as u8 % 4, (r >> 16) as u8),
                v4(10, 0, 0, (r >> 24) as u8 % 50),
                Direction::Inbound,
            )
        } else {
            (
                v4(10, 0, (r >> 8) as u8 % 8, (r >> 16) as u8),
                v4(93, 184, (r >> 24) as u8 % 20, (r >> 32) as u8),
                Direction::Outbound,
            )
        };
        let dport = if inbound {
            (r >> 40) as u16 % 1024
        } else {
            [443, 80, 53, 123, 22][(r >> 40) as usize % 5]
        };
        let start = DAY + step * i as i64;
        sink.connection(&Connection {
            start: Timestamp(start),
            end: Timestamp(start + 1_000_000),
            src,
            sport: 1024 + (r >> 48) as u16 % 60000,
            dst,
            dport,
            protocol: 6,
            orig_packets: 1 + r % 20,
            orig_bytes: 60 + r % 4000,
            resp_packets: r % 15,
            resp_bytes: r % 9000,
            state: ConnState::SF,
            history: "ShADadFf".into(),
            community_id: String::new(),
            direction,
            origin: ConnOrigin::Capture,
        })
        .expect("connection");
    }
    let astep = (24 * HOUR_NS) / alerts.max(1) as i64;
    let payload =
        base64::engine::general_purpose::STANDARD.encode(b"GET /<script>x</script> HTTP/1.1\r\n");
    for i in 0..alerts {
        let r = rng.next();
        let detector = ["scan", "signature", "connwatch", "tripwire"][r as usize % 4];
        let details = match detector {
            "scan" => {
                json!({"danger_level": 1 + r % 5, "scan_types": ["SYN"], "ports": "22,80,443"})
            }
            "signature" => json!({"payload": payload}),
            "connwatch" => {
                json!({"name": format!("host{}.example.com", r % 500), "theirs": "93.184.0.1"})
            }
            _ => json!({"trap": "port"}),
        };
        sink.alert(&Alert {
            ts: Timestamp(DAY + astep * i as i64),
            detector: detector.into(),
            gid: 1,
            sid: 2_000_000 + (r % 50) as u32,
            rev: 1,
            msg: format!("{detector} alert {}", r % 50),
            category: "bench".into(),
            severity: Severity(1 + (r % 3) as u8),
            src: Some(v4(198, 51, (r >> 8) as u8 % 4, (r >> 16) as u8)),
            sport: Some(40000),
            dst: Some(v4(10, 0, 0, (r >> 24) as u8 % 50)),
            dport: Some((r >> 32) as u16 % 1024),
            protocol: Some(6),
            community_id: None,
            details: details.as_object().cloned().unwrap_or_default(),
        })
        .expect("alert");
    }
    sink.finish().expect("finish");
}

struct NoTriage;
impl Triage for NoTriage {
    fn allow(&self, _: &str) -> Result<String, String> {
        Err("not in the benchmark".into())
    }
    fn deny(&self, _: &str) -> Result<String, String> {
        Err("not in the benchmark".into())
    }
}

fn get(addr: SocketAddr, path: &str, cookie: &str) -> (String, usize) {
    let mut s = TcpStream::connect(addr).expect("connect");
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).expect("send");
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).expect("read");
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text.get(9..12).unwrap_or("").to_string();
    (status, buf.len())
}

fn main() {
    let conns = env("TRIPLINE_BENCH_CONNS", 1_000_000);
    let alerts = env("TRIPLINE_BENCH_ALERTS", 10_000);
    // TRIPLINE_BENCH_DIR keeps the store and the site for a look afterwards.
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir_path = std::env::var_os("TRIPLINE_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&dir_path).expect("bench dir");
    let db = dir_path.join("bench.db");
    let reuse = std::env::var_os("TRIPLINE_BENCH_REUSE").is_some() && db.exists();
    if !reuse {
        let _ = std::fs::remove_file(&db);
    }
    let t = Instant::now();
    let mut store = Store::open(&db).expect("store");
    if reuse {
        println!(
            "reusing {} (opened and migrated in {:.1} s)",
            db.display(),
            t.elapsed().as_secs_f64()
        );
    } else {
        let t = Instant::now();
        fill(&mut store, conns, alerts);
        println!(
            "fill: {conns} connections, {alerts} alerts in {:.1} s",
            t.elapsed().as_secs_f64()
        );
    }
    // The first report goes into an empty folder; the second regenerates
    // the site over it, as a periodic `tripline report --out` does.
    let out = dir_path.join("site");
    let _ = std::fs::remove_dir_all(&out);
    for run in ["report", "report again"] {
        if run == "report again" {
            // Put the first site on disk, as an earlier run's site is: a
            // file still in the page cache is cheap to overwrite whatever
            // the writer does.
            let _ = std::process::Command::new("sync").status();
        }
        let t = Instant::now();
        let stats = write_report(&store, &out, &ReportOptions::default()).expect("report");
        println!(
            "{run}: {:.2} s, {} pages ({} hour pages, {} sources, {} alerts, {} unchanged), {} MB, largest page {} KB",
            t.elapsed().as_secs_f64(),
            stats.pages,
            stats.hour_pages,
            stats.sources,
            stats.alerts,
            stats.unchanged,
            stats.bytes / 1_000_000,
            stats.largest_page / 1000
        );
    }
    page_kinds(&store);
    drop(store);
    let (tx, rx) = std::sync::mpsc::channel();
    let db2 = db.clone();
    std::thread::spawn(move || {
        let cfg = WebConfig::local("127.0.0.1:0".parse().expect("addr"));
        let _ = tripline_web::serve(db2, cfg, Arc::new(NoTriage), None, &|a| {
            let _ = tx.send(a);
        });
    });
    let addr = rx.recv().expect("server address");
    // One request for the session cookie, then time the hour page.
    let mut s = TcpStream::connect(addr).expect("connect");
    s.write_all(
        format!("GET /index.html HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .expect("send");
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    let cookie = buf
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .unwrap_or("")
        .to_string();
    let mut times = Vec::new();
    for i in 0..41 {
        let hour = paths_hour(DAY + (i % 24) * HOUR_NS);
        let t = Instant::now();
        let (status, bytes) = get(addr, &format!("/hour/{hour}.html"), &cookie);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(status, "200", "hour page answered {status}");
        if i == 0 {
            println!("serve: hour page {bytes} bytes");
        }
    }
    times.sort_by(f64::total_cmp);
    println!(
        "serve hour page: median {:.1} ms, p90 {:.1} ms, max {:.1} ms over {} requests",
        times[times.len() / 2],
        times[times.len() * 9 / 10],
        times[times.len() - 1],
        times.len()
    );
}

/// Times each kind of page on its own (rendered, not written): the day,
/// every hour's first page, every tenth of the report's 2,000 source pages
/// (alert sources and busy originators alike) and the first 1,000 alert
/// pages, as totals and per page.
fn page_kinds(store: &Store) {
    use tripline_web::pages::{Ctx, Mode, alert_page, day_page, hour_page, source_page};
    let ctx = Ctx::nested(Mode::Static, "x/y.html");
    let report = |kind: &str, n: usize, t: Instant| {
        let s = t.elapsed().as_secs_f64();
        println!(
            "  {kind}: {n} in {s:.2} s ({:.1} ms each)",
            s * 1000.0 / n.max(1) as f64
        );
    };
    let t = Instant::now();
    day_page(&ctx, store, DAY).expect("day page");
    report("day page", 1, t);
    let t = Instant::now();
    for h in 0..24 {
        hour_page(&ctx, store, DAY + h * HOUR_NS, 1).expect("hour page");
    }
    report("hour pages", 24, t);
    let sources = store.report_sources(2000).expect("sources");
    let sources: Vec<&String> = sources.iter().step_by(10).collect();
    let t = Instant::now();
    for s in &sources {
        let addr = s.parse().expect("source address");
        source_page(&ctx, store, addr).expect("source page");
    }
    report("source pages", sources.len(), t);
    let ids = store
        .alert_ids(tripline_store::TimeRange::ALL, 1000)
        .expect("alert ids");
    let t = Instant::now();
    for id in &ids {
        alert_page(&ctx, store, *id).expect("alert page");
    }
    report("alert pages", ids.len(), t);
}

fn paths_hour(ns: i64) -> String {
    tripline_web::paths::hour_key(ns)
}
