//! Throughput of the store's bulk insert into a file database, and of the
//! CSV and EVE connection writers. Run with `cargo bench -p tripline-store`.
//!
//! `TRIPLINE_BENCH_ROWS` sets the number of connections (default 500 000).

use std::hint::black_box;
use std::io::{self, BufWriter};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};
use tripline_core::{ConnOrigin, ConnState, Connection, Direction, Timestamp, ip_proto};
use tripline_store::{ConnCsvWriter, EveWriter, NewInput, Store, StoreSink};

/// Connections that look like a busy home network: a few hundred local
/// hosts, a few thousand remote ones, 10% IPv6, mostly TCP.
fn workload(n: usize) -> Vec<Connection> {
    let t0 = Timestamp::from_secs_micros(1_795_349_736, 0);
    (0..n)
        .map(|i| {
            let i32_ = i as u32;
            let (src, dst) = if i % 10 == 9 {
                (
                    IpAddr::V6(Ipv6Addr::new(
                        0xfd99,
                        1,
                        0,
                        0,
                        0,
                        0,
                        0,
                        (i % 250) as u16 + 2,
                    )),
                    IpAddr::V6(Ipv6Addr::new(0xfd99, 2, 0, 0, 0, 0, (i % 4099) as u16, 2)),
                )
            } else {
                (
                    IpAddr::V4(Ipv4Addr::from(0x0a63_0100 + (i32_ % 250) + 2)),
                    IpAddr::V4(Ipv4Addr::from(
                        0x0a63_0000 + (i32_.wrapping_mul(2_654_435_761) % 60_000),
                    )),
                )
            };
            let protocol = match i % 20 {
                0..=13 => ip_proto::TCP,
                14..=18 => ip_proto::UDP,
                _ => ip_proto::ICMP,
            };
            let start = t0.add_nanos(i as i64 * 350_000);
            Connection {
                start,
                end: start.add_nanos(((i % 997) as i64) * 1_000_000),
                src,
                sport: 32768 + (i % 28000) as u16,
                dst,
                dport: [443, 80, 53, 22, 8080, 993][i % 6],
                protocol,
                orig_packets: 3 + (i % 40) as u64,
                orig_bytes: 180 + (i % 9000) as u64,
                resp_packets: 2 + (i % 35) as u64,
                resp_bytes: 120 + (i % 150_000) as u64,
                state: if protocol == ip_proto::TCP {
                    ConnState::SF
                } else {
                    ConnState::OTH
                },
                history: if protocol == ip_proto::TCP {
                    "ShADadFf".into()
                } else {
                    String::new()
                },
                community_id: format!(
                    "1:{:027x}=",
                    (i as u128).wrapping_mul(0x9e37_79b9_7f4a_7c15)
                ),
                direction: Direction::Outbound,
                origin: ConnOrigin::Capture,
            }
        })
        .collect()
}

/// Time this thread has spent on a CPU (Linux `/proc/thread-self/schedstat`),
/// so results stay meaningful on a machine shared with other jobs.
fn cpu_time() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace()
        .next()?
        .parse()
        .ok()
        .map(Duration::from_nanos)
}

/// Wall clock and on-CPU clock together.
struct Clock {
    wall: Instant,
    cpu: Option<Duration>,
}

impl Clock {
    fn start() -> Clock {
        Clock {
            wall: Instant::now(),
            cpu: cpu_time(),
        }
    }

    fn report(&self, what: &str, rows: usize) {
        let wall = self.wall.elapsed().as_secs_f64();
        let cpu = self.cpu.zip(cpu_time()).map(|(a, b)| (b - a).as_secs_f64());
        print!(
            "{what:<40} {rows:>9} rows: wall {wall:>7.3} s = {:>9.0} rows/s",
            rows as f64 / wall
        );
        match cpu {
            Some(c) => println!("; cpu {c:>7.3} s = {:>9.0} rows/cpu-s", rows as f64 / c),
            None => println!(),
        }
    }
}

fn bench_store(conns: &[Connection]) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bench.db");
    let mut store = Store::open(&path).expect("open store");
    let input = store
        .begin_input(&NewInput {
            path: "bench",
            size: None,
            hash: None,
            format: "pcap",
        })
        .expect("input");
    let clock = Clock::start();
    let mut sink = StoreSink::new(&mut store, Some(input));
    for c in conns {
        sink.connection(c).expect("insert");
    }
    let written = sink.finish().expect("finish");
    clock.report(
        "store: connections into file db (WAL)",
        written.connections as usize,
    );
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0)
        + std::fs::metadata(path.with_extension("db-wal"))
            .map(|m| m.len())
            .unwrap_or(0);
    println!(
        "{:<40} {:>9.1} bytes/row",
        "store: file size",
        size as f64 / conns.len() as f64
    );
    let started = Instant::now();
    let top = store
        .top_talkers(tripline_store::TalkerOrder::Bytes, 10, None)
        .expect("top talkers");
    println!(
        "{:<40} {:>9.3} s ({} talkers)",
        "store: top talkers by bytes",
        started.elapsed().as_secs_f64(),
        top.len()
    );
}

/// The same load in deferred-index mode (indexes rebuilt at the end).
fn bench_store_deferred_indexes(conns: &[Connection]) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = Store::open(&dir.path().join("bench.db")).expect("open store");
    let clock = Clock::start();
    let mut sink = StoreSink::new(&mut store, None)
        .with_deferred_indexes()
        .expect("bulk mode");
    for c in conns {
        sink.connection(c).expect("insert");
    }
    let written = sink.finish().expect("finish");
    clock.report(
        "store: same, deferred indexes",
        written.connections as usize,
    );
}

fn bench_csv(conns: &[Connection]) {
    let clock = Clock::start();
    let mut w = ConnCsvWriter::new(BufWriter::new(io::sink())).expect("csv");
    for c in conns {
        w.write(c).expect("csv row");
    }
    black_box(w.into_inner().expect("flush"));
    clock.report("reduce: CSV rows", conns.len());
}

fn bench_eve(conns: &[Connection]) {
    let clock = Clock::start();
    let mut w = EveWriter::new(BufWriter::new(io::sink()));
    for c in conns {
        w.flow(c).expect("eve flow");
    }
    black_box(w.into_inner().expect("flush"));
    clock.report("eve: flow events", conns.len());
}

fn main() {
    let n = std::env::var("TRIPLINE_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500_000);
    let conns = workload(n);
    bench_store(&conns);
    bench_store_deferred_indexes(&conns);
    bench_csv(&conns);
    bench_eve(&conns);
}
