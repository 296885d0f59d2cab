//! Throughput of the log line parser on netfilter LOG lines, one core.
//!
//! Reads scans/iptables.log into memory, repeats it to about a million
//! lines, and runs every line through `LineParser` (envelope + netfilter +
//! record), several times; prints lines/s and MB/s of the best run, by wall
//! clock and by the thread's CPU time (the CPU figure is the one to compare
//! on a busy machine: time spent waiting for a core is not in it).
//! Run: `cargo bench -p tripline-ingest --bench netfilter`.

use std::hint::black_box;
use std::time::Instant;
use tripline_ingest::logs::{LineOutcome, LineParser, LogOptions};

fn main() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/scans/iptables.log"
    );
    let file = match std::fs::read(path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("netfilter bench: cannot read {path}: {e}");
            return;
        }
    };
    let per_copy = file.iter().filter(|&&b| b == b'\n').count().max(1);
    let copies = 1_000_000usize.div_ceil(per_copy);
    let data = file.repeat(copies);
    let lines: Vec<&[u8]> = data.split_inclusive(|&b| b == b'\n').collect();
    let opts = LogOptions {
        year: Some(2026),
        ..Default::default()
    };
    let mut best = f64::INFINITY;
    let mut best_cpu = f64::INFINITY;
    let mut records = 0u64;
    for _ in 0..5 {
        let mut parser = LineParser::new(path, opts.clone());
        let (mut n, mut errors) = (0u64, 0u64);
        let start = Instant::now();
        let cpu_start = thread_cpu_secs();
        for (i, line) in lines.iter().enumerate() {
            let outcome = parser.parse_line(line, i as u64 + 1, &mut |r| {
                black_box(r);
                n += 1;
            });
            errors += matches!(outcome, LineOutcome::Error(_)) as u64;
        }
        parser.finish(&mut |r| {
            black_box(r);
        });
        let secs = start.elapsed().as_secs_f64();
        best_cpu = best_cpu.min(thread_cpu_secs() - cpu_start);
        assert_eq!(errors, 0, "the dataset parses cleanly");
        best = best.min(secs);
        records = n;
    }
    let mb = data.len() as f64 / 1e6;
    println!(
        "netfilter: {} lines ({:.1} MB), {} records; best of 5: wall {:.3} s = {:.0} lines/s, {:.1} MB/s; cpu {:.3} s = {:.0} lines/s, {:.1} MB/s",
        lines.len(),
        mb,
        records,
        best,
        lines.len() as f64 / best,
        mb / best,
        best_cpu,
        lines.len() as f64 / best_cpu,
        mb / best_cpu
    );
}

/// CPU time of this thread in seconds.
fn thread_cpu_secs() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}
