//! Stream reassembly plus HTTP/TLS parsing throughput:
//! `cargo bench -p tripline-detect --bench reassembly`.
//!
//! The TCP packets of `../shared/data/mixed/capture_ext.pcap` (43 MB, 46k
//! packets, 172 HTTP downloads of 1 KiB to 8 MiB) are decoded once into
//! memory; then each round feeds every segment through a fresh
//! [`Reassembler`] (default caps: 1 MiB depth, 64 MiB memcap) and the
//! [`AppLayer`] parsers, as the engine would. Prints packets/s, MB/s of
//! frame bytes and of TCP payload, and the best of five rounds.

use std::collections::HashMap;
use std::hint::black_box;
use std::net::IpAddr;
use std::time::Instant;
use tripline_core::{InputError, Record, TcpFlags, Timestamp};
use tripline_detect::reassembly::{
    AppEvent, AppLayer, Direction, Reassembler, ReassemblyConfig, Segment,
};
use tripline_ingest::RecordSink;
use tripline_ingest::app::http::HttpLimits;
use tripline_ingest::logs::LogOptions;
use tripline_ingest::open::open_input;

type Key = (IpAddr, u16, IpAddr, u16);

/// One decoded TCP segment, payload in the shared arena.
struct Seg {
    key: Key,
    direction: Direction,
    seq: u32,
    ack: Option<u32>,
    flags: TcpFlags,
    payload: (usize, usize),
    ts: Timestamp,
}

#[derive(Default)]
struct Collect {
    segs: Vec<Seg>,
    arena: Vec<u8>,
    client_is_lo: HashMap<Key, bool>,
    packets: u64,
    frame_bytes: u64,
}

impl RecordSink for Collect {
    fn record(&mut self, rec: &Record<'_>) {
        let Record::Packet(p) = rec else { return };
        self.packets += 1;
        self.frame_bytes += p.frame.len() as u64;
        let Some(tcp) = p.header.tcp() else { return };
        let Some(seq) = tcp.seq else { return };
        let a = (p.header.src, tcp.sport);
        let b = (p.header.dst, tcp.dport);
        let (lo, hi, src_is_lo) = if a <= b { (a, b, true) } else { (b, a, false) };
        let key = (lo.0, lo.1, hi.0, hi.1);
        let f = tcp.flags;
        let client_is_lo = if f.has(TcpFlags::SYN) {
            let c = src_is_lo != f.has(TcpFlags::ACK);
            self.client_is_lo.insert(key, c);
            c
        } else {
            *self
                .client_is_lo
                .entry(key)
                .or_insert((tcp.sport > tcp.dport) == src_is_lo)
        };
        let start = self.arena.len();
        self.arena.extend_from_slice(p.payload);
        self.segs.push(Seg {
            key,
            direction: if src_is_lo == client_is_lo {
                Direction::ToServer
            } else {
                Direction::ToClient
            },
            seq,
            ack: tcp.ack,
            flags: f,
            payload: (start, self.arena.len()),
            ts: p.ts,
        });
    }
    fn error(&mut self, _e: InputError) {}
}

/// One round over all segments; returns (requests, responses, hellos).
fn round(c: &Collect) -> (u64, u64, u64, usize) {
    let mut r: Reassembler<Key> = Reassembler::new(ReassemblyConfig::default());
    let mut app = AppLayer::new(HttpLimits::default());
    let mut peak = 0usize;
    for s in &c.segs {
        let seg = Segment {
            direction: s.direction,
            seq: s.seq,
            ack: s.ack,
            flags: s.flags,
            payload: &c.arena[s.payload.0..s.payload.1],
            ts: s.ts,
        };
        let chunk = r.segment(&s.key, &seg);
        black_box(chunk.bytes);
        if chunk.is_empty() && !chunk.closed {
            continue;
        }
        peak = peak.max(r.memory());
        if let Some(stream) = r.stream_mut(&s.key) {
            app.parse(stream, s.direction, &mut |ev| {
                if let AppEvent::HttpRequest(req) = ev {
                    black_box(req.uri);
                }
            });
            if stream.is_closed() {
                r.remove(&s.key);
            }
        }
    }
    let st = app.stats();
    (
        st.http_requests,
        st.http_responses,
        st.tls_client_hellos,
        peak,
    )
}

fn main() {
    let path = format!(
        "{}/../../../shared/data/mixed/capture_ext.pcap",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut c = Collect::default();
    open_input(&path, &LogOptions::default())
        .expect("capture_ext.pcap")
        .run(&mut c);
    let payload = c.arena.len() as f64;
    let mut best = f64::MAX;
    let mut result = (0, 0, 0, 0);
    for _ in 0..5 {
        let t = Instant::now();
        result = round(&c);
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!(
        "reassembly+http/tls over capture_ext.pcap: {} packets ({} TCP segments, {:.1} MB frames, {:.1} MB TCP payload)",
        c.packets,
        c.segs.len(),
        c.frame_bytes as f64 / 1e6,
        payload / 1e6
    );
    println!(
        "best of 5: {:.1} ms = {:.2} Mpkt/s (TCP segments), {:.0} MB/s of frames, {:.0} MB/s of TCP payload; {} requests, {} responses, {} TLS hellos; peak reassembly memory {:.1} MiB",
        best * 1e3,
        c.segs.len() as f64 / best / 1e6,
        c.frame_bytes as f64 / best / 1e6,
        payload / best / 1e6,
        result.0,
        result.1,
        result.2,
        result.3 as f64 / 1048576.0
    );
}
