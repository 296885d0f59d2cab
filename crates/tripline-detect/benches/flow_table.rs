//! Flow table throughput: `cargo bench -p tripline-detect --bench flow_table`.
//!
//! 1. updates: 10M TCP packets spread over 100k live flows (round robin, so
//!    every packet is a hash lookup plus a list move, no creation);
//! 2. creations: 2M distinct flows (SYNs) into the default 262,144-flow cap,
//!    so most of them also evict and emit one flow.
//!
//! Both print the table's estimated peak memory.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;
use tripline_core::{
    Header, HomeNets, IpFields, TcpFields, TcpFlags, Timestamp, Transport, ip_proto,
};
use tripline_detect::{FlowConfig, FlowTable};

fn header(flow: u32, flags: u8, seq: u32) -> Header {
    Header {
        src: IpAddr::V4(Ipv4Addr::from(0x0A00_0000 | flow)),
        dst: IpAddr::V4(Ipv4Addr::new(10, 99, 1, 3)),
        protocol: ip_proto::TCP,
        ip: IpFields {
            total_len: 1500,
            ..Default::default()
        },
        transport: Transport::Tcp(TcpFields {
            sport: 1024 + (flow % 50_000) as u16,
            dport: 443,
            seq: Some(seq),
            flags: TcpFlags(flags),
            window: 502,
            ..Default::default()
        }),
    }
}

fn updates() {
    const FLOWS: u32 = 100_000;
    const PACKETS: u32 = 10_000_000;
    let mut table = FlowTable::new(FlowConfig::default(), HomeNets::default());
    let mut emitted = 0u64;
    let t0 = Timestamp::from_secs_micros(1_795_349_736, 0);
    // Build the headers up front so the loop measures the table only.
    let headers: Vec<Header> = (0..FLOWS)
        .map(|f| header(f, TcpFlags::ACK | TcpFlags::PSH, 1))
        .collect();
    let start = Instant::now();
    for i in 0..PACKETS {
        let h = &headers[(i % FLOWS) as usize];
        // 1 µs apart: 10 s of traffic, no timeouts.
        table.observe(t0.add_nanos(i as i64 * 1_000), h, 1448, 1514, &mut |c| {
            black_box(c);
            emitted += 1;
        });
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "updates: {PACKETS} packets over {FLOWS} flows in {secs:.2} s = {:.2} Mpkt/s; live {}, table ~{:.1} MiB ({} B/flow)",
        PACKETS as f64 / secs / 1e6,
        table.len(),
        table.memory_estimate() as f64 / 1048576.0,
        table.memory_estimate() / table.len().max(1),
    );
    black_box(emitted);
}

fn creations() {
    const FLOWS: u32 = 2_000_000;
    let mut table = FlowTable::new(FlowConfig::default(), HomeNets::default());
    let mut emitted = 0u64;
    let mut peak_mem = 0usize;
    let t0 = Timestamp::from_secs_micros(1_795_349_736, 0);
    let start = Instant::now();
    for i in 0..FLOWS {
        let h = header(i, TcpFlags::SYN, i);
        table.observe(t0.add_nanos(i as i64 * 1_000), &h, 0, 54, &mut |c| {
            black_box(c);
            emitted += 1;
        });
        if i % 65_536 == 0 {
            peak_mem = peak_mem.max(table.memory_estimate());
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let m = table.metrics();
    println!(
        "creations: {FLOWS} new flows in {secs:.2} s = {:.0} kflows/s; evicted+emitted {} ({}), peak table ~{:.1} MiB for {} flows",
        FLOWS as f64 / secs / 1e3,
        m.evicted,
        emitted,
        peak_mem.max(table.memory_estimate()) as f64 / 1048576.0,
        m.active,
    );
}

fn main() {
    updates();
    creations();
}
