//! Everything the report pages show about a time range's connections,
//! tallied in one indexed pass: counts per bucket by direction, top
//! talkers and destinations, port-sweep dots and links. One scan of the
//! range is several times faster than a `GROUP BY` per list, which is what
//! keeps `serve`'s hour page fast on a million-connection day.
//!
//! Bounded: at most [`DIGEST_MAX_KEYS`] distinct addresses, (source, port)
//! pairs and links are tallied; rows with a key beyond that are counted in
//! [`ConnDigest::keys_dropped`] and left out of the lists (never out of
//! the totals).

use crate::store::from_sql_u64;
use crate::{AddrCount, DirectionCounts, LinkEdge, Store, StoreError, SweepPoint, TimeRange};
use rusqlite::params;
use std::collections::{BTreeMap, HashMap};

/// Most distinct keys per tally.
pub const DIGEST_MAX_KEYS: usize = 262_144;

/// How long each list of a digest is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DigestLimits {
    /// Width of a chart bucket, nanoseconds.
    pub bucket_ns: i64,
    /// Talkers and destinations kept.
    pub top: usize,
    /// Port-sweep dots kept (most packets first).
    pub sweep: usize,
    /// Links kept (most connections first).
    pub links: usize,
}

/// The tallies of one range.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnDigest {
    /// Connections in the range.
    pub connections: u64,
    /// Per bucket, by direction, oldest first.
    pub by_direction: Vec<DirectionCounts>,
    /// Busiest originators.
    pub talkers: Vec<AddrCount>,
    /// Most contacted destinations, named from DNS answers when possible.
    pub destinations: Vec<AddrCount>,
    /// (source, destination port) pairs with the most packets.
    pub sweep: Vec<SweepPoint>,
    /// Busiest (source, destination, port, protocol) links.
    pub links: Vec<LinkEdge>,
    /// Rows whose key did not fit under [`DIGEST_MAX_KEYS`].
    pub keys_dropped: u64,
}

/// Addresses interned to small ids, bounded.
#[derive(Default)]
struct Addrs {
    ids: HashMap<Box<str>, u32>,
    names: Vec<Box<str>>,
}

impl Addrs {
    fn id(&mut self, a: &str) -> Option<u32> {
        if let Some(i) = self.ids.get(a) {
            return Some(*i);
        }
        if self.names.len() >= DIGEST_MAX_KEYS {
            return None;
        }
        let i = u32::try_from(self.names.len()).ok()?;
        self.ids.insert(a.into(), i);
        self.names.push(a.into());
        Some(i)
    }
}

fn bump<K: std::hash::Hash + Eq>(m: &mut HashMap<K, u64>, k: K, by: u64, dropped: &mut u64) {
    if let Some(v) = m.get_mut(&k) {
        *v += by;
    } else if m.len() < DIGEST_MAX_KEYS {
        m.insert(k, by);
    } else {
        *dropped += 1;
    }
}

/// The `n` largest entries by value, ties in `tie` order.
fn top<K: Copy>(
    m: &HashMap<K, u64>,
    n: usize,
    tie: impl Fn(&K, &K) -> std::cmp::Ordering,
) -> Vec<(K, u64)> {
    let mut v: Vec<(K, u64)> = m.iter().map(|(k, c)| (*k, *c)).collect();
    v.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| tie(&a.0, &b.0)));
    v.truncate(n);
    v
}

impl Store {
    /// Tallies the connections that started in `range`.
    pub fn connection_digest(
        &self,
        range: TimeRange,
        limits: DigestLimits,
    ) -> Result<ConnDigest, StoreError> {
        let bucket_ns = limits.bucket_ns.max(1);
        let mut addrs = Addrs::default();
        let mut dropped = 0u64;
        let mut total = 0u64;
        let mut buckets: BTreeMap<i64, DirectionCounts> = BTreeMap::new();
        // Per address id: (connections originated, their bytes), and as destination.
        let mut talk: HashMap<u32, u64> = HashMap::new();
        let mut talk_bytes: HashMap<u32, u64> = HashMap::new();
        let mut dest: HashMap<u32, u64> = HashMap::new();
        let mut dest_bytes: HashMap<u32, u64> = HashMap::new();
        let mut sweep: HashMap<(u32, u16), u64> = HashMap::new();
        let mut links: HashMap<(u32, u32, u16, u8), u64> = HashMap::new();
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT start_ns, src, dst, dport, protocol, orig_packets, orig_bytes + resp_bytes, \
                 direction FROM connections WHERE start_ns >= ?1 AND start_ns < ?2",
            )
            .map_err(self.sql_err("digesting connections"))?;
        let mut rows = stmt
            .query(params![range.from, range.to])
            .map_err(self.sql_err("digesting connections"))?;
        while let Some(r) = rows.next().map_err(self.sql_err("digesting connections"))? {
            let text = |i: usize| {
                r.get_ref(i)
                    .ok()
                    .and_then(|v| v.as_str().ok())
                    .unwrap_or("")
            };
            let int = |i: usize| r.get::<_, i64>(i).unwrap_or(0);
            total += 1;
            let b = int(0).div_euclid(bucket_ns) * bucket_ns;
            let e = buckets.entry(b).or_insert_with(|| DirectionCounts {
                bucket_start: b,
                ..Default::default()
            });
            match text(7) {
                "inbound" => e.inbound += 1,
                "outbound" => e.outbound += 1,
                "internal" => e.internal += 1,
                _ => e.other += 1,
            }
            let (Some(s), Some(d)) = (addrs.id(text(1)), addrs.id(text(2))) else {
                dropped += 1;
                continue;
            };
            let dport = u16::try_from(int(3)).unwrap_or(0);
            let proto = u8::try_from(int(4)).unwrap_or(0);
            let packets = from_sql_u64(int(5));
            let bytes = from_sql_u64(int(6));
            bump(&mut talk, s, 1, &mut dropped);
            bump(&mut talk_bytes, s, bytes, &mut 0);
            bump(&mut dest, d, 1, &mut dropped);
            bump(&mut dest_bytes, d, bytes, &mut 0);
            bump(&mut sweep, (s, dport), packets, &mut dropped);
            bump(&mut links, (s, d, dport, proto), 1, &mut dropped);
        }
        let text_of = |i: u32| -> &str { &addrs.names[i as usize] };
        let name = |i: u32| text_of(i).to_string();
        let counts = |m: &HashMap<u32, u64>, bytes: &HashMap<u32, u64>| -> Vec<AddrCount> {
            top(m, limits.top, |a, b| text_of(*a).cmp(text_of(*b)))
                .into_iter()
                .map(|(i, n)| AddrCount {
                    addr: name(i),
                    name: None,
                    connections: n,
                    bytes: bytes.get(&i).copied().unwrap_or(0),
                })
                .collect()
        };
        let mut destinations = counts(&dest, &dest_bytes);
        for d in &mut destinations {
            d.name = self.name_for(&d.addr)?;
        }
        Ok(ConnDigest {
            connections: total,
            by_direction: buckets.into_values().collect(),
            talkers: counts(&talk, &talk_bytes),
            destinations,
            sweep: top(&sweep, limits.sweep, |a, b| {
                text_of(a.0).cmp(text_of(b.0)).then(a.1.cmp(&b.1))
            })
            .into_iter()
            .map(|((s, dport), packets)| SweepPoint {
                src: name(s),
                dport,
                packets,
            })
            .collect(),
            links: top(&links, limits.links, |a, b| {
                (text_of(a.0), text_of(a.1), a.2, a.3).cmp(&(text_of(b.0), text_of(b.1), b.2, b.3))
            })
            .into_iter()
            .map(|((s, d, dport, protocol), connections)| LinkEdge {
                src: name(s),
                dst: name(d),
                dport,
                protocol,
                connections,
            })
            .collect(),
            keys_dropped: dropped,
        })
    }
}
