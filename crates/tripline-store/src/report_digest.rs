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
use std::hash::{BuildHasherDefault, Hasher};

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

/// Addresses interned to small ids, bounded, with what each did in the
/// range (indexed by id: no hashing per row for the per-address tallies).
#[derive(Default)]
struct Addrs {
    ids: HashMap<Box<str>, u32>,
    names: Vec<Box<str>>,
    tallies: Vec<AddrTally>,
}

/// One address's connections in the range, as originator and as target.
#[derive(Clone, Copy, Default)]
struct AddrTally {
    originated: u64,
    originated_bytes: u64,
    received: u64,
    received_bytes: u64,
}

/// Bits of an address id in a packed key: ids stay below
/// [`DIGEST_MAX_KEYS`] = 2^18.
const ID_BITS: u32 = 18;
const _: () = assert!(DIGEST_MAX_KEYS <= 1 << ID_BITS);

/// (source id, destination port) packed into one integer.
fn sweep_key(src: u32, dport: u16) -> u64 {
    (u64::from(src) << 16) | u64::from(dport)
}

/// (source id, destination id, port, protocol) packed into one integer
/// (18 + 18 + 16 + 8 bits).
fn link_key(src: u32, dst: u32, dport: u16, proto: u8) -> u64 {
    (u64::from(src) << (ID_BITS + 24))
        | (u64::from(dst) << 24)
        | (u64::from(dport) << 8)
        | u64::from(proto)
}

fn unpack_link(k: u64) -> (u32, u32, u16, u8) {
    let mask = (1u64 << ID_BITS) - 1;
    (
        ((k >> (ID_BITS + 24)) & mask) as u32,
        ((k >> 24) & mask) as u32,
        (k >> 8) as u16,
        k as u8,
    )
}

/// A hasher for the packed keys above. They are built from ids this
/// digest hands out in order, not from values a peer chooses, so a
/// multiply-and-fold mix is enough (no flooding to defend against) and
/// much cheaper than SipHash on the per-row path.
#[derive(Default)]
struct PackedKeyHasher(u64);

impl Hasher for PackedKeyHasher {
    fn finish(&self) -> u64 {
        let h = (self.0 ^ (self.0 >> 32)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        h ^ (h >> 29)
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// Counts keyed by a packed key.
type PackedCounts = HashMap<u64, u64, BuildHasherDefault<PackedKeyHasher>>;

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
        self.tallies.push(AddrTally::default());
        Some(i)
    }
}

fn bump(m: &mut PackedCounts, k: u64, by: u64, dropped: &mut u64) {
    if let Some(v) = m.get_mut(&k) {
        *v += by;
    } else if m.len() < DIGEST_MAX_KEYS {
        m.insert(k, by);
    } else {
        *dropped += 1;
    }
}

/// The `n` largest of `entries` by value, ties in `tie` order (a total
/// order on distinct keys). Selects the `n` first, then sorts only them:
/// an hour has tens of thousands of links, mostly tied at one connection,
/// and sorting them all by address text was a fifth of the hour page.
fn top<K: Copy>(
    entries: impl Iterator<Item = (K, u64)>,
    n: usize,
    tie: impl Fn(&K, &K) -> std::cmp::Ordering,
) -> Vec<(K, u64)> {
    let order = |a: &(K, u64), b: &(K, u64)| b.1.cmp(&a.1).then_with(|| tie(&a.0, &b.0));
    if n == 0 {
        return Vec::new();
    }
    let mut v: Vec<(K, u64)> = entries.collect();
    if v.len() > n {
        v.select_nth_unstable_by(n - 1, order);
        v.truncate(n);
    }
    v.sort_unstable_by(order);
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
        let mut sweep = PackedCounts::default();
        let mut links = PackedCounts::default();
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
            if let Some(t) = addrs.tallies.get_mut(s as usize) {
                t.originated += 1;
                t.originated_bytes += bytes;
            }
            if let Some(t) = addrs.tallies.get_mut(d as usize) {
                t.received += 1;
                t.received_bytes += bytes;
            }
            bump(&mut sweep, sweep_key(s, dport), packets, &mut dropped);
            bump(&mut links, link_key(s, d, dport, proto), 1, &mut dropped);
        }
        let text_of = |i: u32| -> &str { &addrs.names[i as usize] };
        let name = |i: u32| text_of(i).to_string();
        let ids = || {
            (0..addrs.tallies.len())
                .filter_map(|i| Some((u32::try_from(i).ok()?, addrs.tallies[i])))
        };
        let counts = |pick: fn(&AddrTally) -> (u64, u64)| -> Vec<AddrCount> {
            let bytes_of = |i: u32| addrs.tallies.get(i as usize).map_or(0, |t| pick(t).1);
            top(
                ids().map(|(i, t)| (i, pick(&t).0)).filter(|(_, n)| *n > 0),
                limits.top,
                |a, b| text_of(*a).cmp(text_of(*b)),
            )
            .into_iter()
            .map(|(i, n)| AddrCount {
                addr: name(i),
                name: None,
                connections: n,
                bytes: bytes_of(i),
            })
            .collect()
        };
        let mut destinations = counts(|t| (t.received, t.received_bytes));
        for d in &mut destinations {
            d.name = self.name_for(&d.addr)?;
        }
        Ok(ConnDigest {
            connections: total,
            by_direction: buckets.into_values().collect(),
            talkers: counts(|t| (t.originated, t.originated_bytes)),
            destinations,
            sweep: top(
                sweep
                    .iter()
                    .map(|(k, n)| ((*k >> 16) as u32, *k as u16, *n))
                    .map(|(s, p, n)| ((s, p), n)),
                limits.sweep,
                |a, b| text_of(a.0).cmp(text_of(b.0)).then(a.1.cmp(&b.1)),
            )
            .into_iter()
            .map(|((s, dport), packets)| SweepPoint {
                src: name(s),
                dport,
                packets,
            })
            .collect(),
            links: top(
                links.iter().map(|(k, n)| (unpack_link(*k), *n)),
                limits.links,
                |a, b| {
                    (text_of(a.0), text_of(a.1), a.2, a.3).cmp(&(
                        text_of(b.0),
                        text_of(b.1),
                        b.2,
                        b.3,
                    ))
                },
            )
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
