//! DNS-to-connection correlation: `cargo bench -p tripline-detect --bench dns_correlation`.
//!
//! A synthetic home network: 200 devices, a pool of 20,000 names served
//! from 5,000 addresses (CDN-style sharing: several names per address), name
//! popularity skewed (a few names take most lookups, as in real traffic).
//! Each device looks a name up, then opens a few connections to its
//! addresses; some connections go to addresses nobody resolved ("direct").
//!
//! 1. 1,000,000 connections through `DnsCache::lookup` against the answers
//!    that preceded them (the answers themselves are learned in between, as
//!    in a real stream, and timed separately);
//! 2. the same stream with small caps, to show memory stays bounded by them.
//!
//! Prints connections/s, the share named, and the cache's estimated memory.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;
use tripline_core::{DnsAnswer, DnsData, DnsEvent, DnsLog, DnsOrigin, Timestamp};
use tripline_detect::{DnsCache, DnsCacheConfig};

const DEVICES: u32 = 200;
const NAMES: u32 = 20_000;
const ADDRESSES: u32 = 5_000;
const CONNECTIONS: u64 = 1_000_000;

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Skewed pick in 0..n: squares a uniform draw (popular names first).
    fn skewed(&mut self, n: u32) -> u32 {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((u * u) * n as f64) as u32
    }
}

fn device(i: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 168, 1, (i % 250) as u8 + 2))
}

fn address(i: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(0xCB00_7100 + i)) // 203.0.113.0 onwards
}

/// The addresses a name resolves to: 1-3 of the pool, shared with neighbours.
fn addresses_of(name: u32) -> impl Iterator<Item = u32> {
    let n = 1 + name % 3;
    (0..n).map(move |k| (name / 4 + k * 7) % ADDRESSES)
}

fn answer(ts: Timestamp, client: IpAddr, names: &[String], name: u32) -> DnsLog {
    DnsLog {
        ts,
        origin: DnsOrigin::Packet,
        event: DnsEvent::Reply,
        client: Some(client),
        server: None,
        id: None,
        name: names[name as usize].clone(),
        qtype: "A".into(),
        rcode: Some("NOERROR".into()),
        answers: addresses_of(name)
            .map(|a| DnsAnswer {
                name: names[name as usize].clone(),
                data: DnsData::Addr(address(a)),
                ttl: Some(300),
            })
            .collect(),
        from_config: false,
        blocked: false,
    }
}

/// Builds the event stream: (answers to learn before connection i, connection i).
/// A connection: (answers learned before it, client, address, start).
type Conn = (usize, IpAddr, IpAddr, Timestamp);

fn workload() -> (Vec<Conn>, Vec<DnsLog>) {
    let names: Vec<String> = (0..NAMES)
        .map(|i| format!("host{i}.service{}.example", i % 97))
        .collect();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let t0 = Timestamp::from_secs_nanos(1_795_349_900, 0);
    let mut conns = Vec::with_capacity(CONNECTIONS as usize);
    let mut answers = Vec::new();
    let mut i = 0u64;
    while i < CONNECTIONS {
        // 1 ms per lookup burst: ~1,000 s of traffic, so TTLs (300 s) expire.
        let ts = t0.add_nanos(i as i64 * 1_000_000 / 4);
        let dev = device(rng.next() as u32 % DEVICES);
        if rng.next().is_multiple_of(10) {
            // A direct connection to an address nobody resolved.
            conns.push((
                answers.len(),
                dev,
                address(ADDRESSES + (rng.next() % 1000) as u32),
                ts,
            ));
            i += 1;
            continue;
        }
        let name = rng.skewed(NAMES);
        answers.push(answer(ts, dev, &names, name));
        let addrs: Vec<u32> = addresses_of(name).collect();
        for k in 0..(1 + rng.next() % 4) {
            if i >= CONNECTIONS {
                break;
            }
            let a = addrs[(k as usize) % addrs.len()];
            conns.push((answers.len(), dev, address(a), ts.add_nanos(1_000)));
            i += 1;
        }
    }
    (conns, answers)
}

fn run(label: &str, config: DnsCacheConfig, conns: &[Conn], answers: &[DnsLog]) {
    let mut cache = DnsCache::new(config);
    let mut learned = 0usize;
    let mut learn_secs = 0.0;
    let mut lookup_secs = 0.0;
    let mut named = 0u64;
    let mut peak = 0usize;
    // Learn in batches between lookups, timing both separately.
    for chunk in conns.chunks(4096) {
        let upto = chunk.last().map_or(learned, |c| c.0);
        let t = Instant::now();
        for a in &answers[learned..upto] {
            cache.learn(a);
        }
        learn_secs += t.elapsed().as_secs_f64();
        learned = upto;
        let t = Instant::now();
        for &(_, client, addr, ts) in chunk {
            if black_box(cache.lookup(client, addr, ts)).name().is_some() {
                named += 1;
            }
        }
        lookup_secs += t.elapsed().as_secs_f64();
        peak = peak.max(cache.memory_estimate());
    }
    let m = cache.metrics();
    println!(
        "{label}: {} connections in {lookup_secs:.3} s = {:.2} M connections/s; {:.1}% named \
         ({} same client, {} other client, {} direct); {} answers learned in {learn_secs:.3} s \
         ({:.2} M answers/s); cache ~{:.1} MiB peak, {} pairs, evicted {} pairs / {} addresses",
        conns.len(),
        conns.len() as f64 / lookup_secs / 1e6,
        named as f64 * 100.0 / conns.len() as f64,
        m.named_same_client,
        m.named_other_client,
        m.direct,
        learned,
        learned as f64 / learn_secs / 1e6,
        peak as f64 / (1 << 20) as f64,
        cache.pairs(),
        m.pairs_evicted,
        m.addresses_evicted,
    );
}

fn main() {
    let (conns, answers) = workload();
    run("default caps", DnsCacheConfig::default(), &conns, &answers);
    run(
        "small caps (4,096 pairs, 1,024 addresses)",
        DnsCacheConfig {
            max_pairs: 4096,
            max_addresses: 1024,
            ..Default::default()
        },
        &conns,
        &answers,
    );
}
