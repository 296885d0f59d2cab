//! The "seen" memory of connwatch: which (device, destination, port,
//! protocol) combinations were already reported, so that only what is new
//! raises an alert.
//!
//! The memory is bounded (an [`LruMap`]; the least recently seen entry is
//! forgotten when full, counted). It outlives a run through the store: the
//! caller loads the stored entries with [`SeenMemory::load`] before the
//! first record and saves [`SeenMemory::changes`] after the last one (the
//! counts of this run only, so saving adds to what is stored).

use crate::lru::LruMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use tripline_core::Timestamp;

/// What kind of contact an entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SeenKind {
    /// A home device called an outside destination.
    Outbound,
    /// An outside address called a home device.
    Inbound,
    /// A home device looked up a blocked name.
    BlockedLookup,
}

impl SeenKind {
    /// `outbound`, `inbound` or `blocked_lookup` (as stored).
    pub fn as_str(self) -> &'static str {
        match self {
            SeenKind::Outbound => "outbound",
            SeenKind::Inbound => "inbound",
            SeenKind::BlockedLookup => "blocked_lookup",
        }
    }

    /// Parses [`SeenKind::as_str`].
    pub fn parse(s: &str) -> Option<SeenKind> {
        Some(match s {
            "outbound" => SeenKind::Outbound,
            "inbound" => SeenKind::Inbound,
            "blocked_lookup" => SeenKind::BlockedLookup,
            _ => return None,
        })
    }
}

/// The other side: a DNS name when the connection had one, else the address.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Peer {
    /// The name the device asked for.
    Name(Arc<str>),
    /// The address ("direct" connections, inbound callers).
    Addr(IpAddr),
}

impl Peer {
    /// From stored text: an address if it parses as one, else a name.
    pub fn parse(s: &str) -> Peer {
        match s.parse::<IpAddr>() {
            Ok(a) => Peer::Addr(a),
            Err(_) => Peer::Name(Arc::from(s)),
        }
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Peer::Name(n) => f.write_str(n),
            Peer::Addr(a) => write!(f, "{a}"),
        }
    }
}

/// One remembered combination.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SeenKey {
    /// The home device.
    pub device: IpAddr,
    /// Outbound, inbound or blocked lookup.
    pub kind: SeenKind,
    /// Destination name or address (inbound: the caller's address).
    pub peer: Peer,
    /// The service port: theirs when we called, ours when they called
    /// (ICMP: the type; blocked lookups: 53).
    pub port: u16,
    /// IP protocol number.
    pub protocol: u8,
}

/// A remembered combination with when and how often.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeenEntry {
    /// What.
    pub key: SeenKey,
    /// First time.
    pub first_seen: Timestamp,
    /// Latest time.
    pub last_seen: Timestamp,
    /// How many times.
    pub count: u64,
}

#[derive(Clone, Copy, Debug)]
struct Stats {
    first_seen: Timestamp,
    last_seen: Timestamp,
    /// Count in this run (what [`SeenMemory::changes`] saves).
    run_count: u64,
}

/// The bounded memory; see the module documentation.
pub struct SeenMemory {
    map: LruMap<SeenKey, Stats>,
    loaded: u64,
}

impl SeenMemory {
    /// An empty memory of at most `cap` entries.
    pub fn new(cap: usize) -> Self {
        SeenMemory {
            map: LruMap::new(cap),
            loaded: 0,
        }
    }

    /// Remembers stored entries (they count as seen, not as changes).
    pub fn load(&mut self, entries: impl IntoIterator<Item = SeenEntry>) {
        for e in entries {
            self.loaded += 1;
            let s = self.map.get_or_insert_with(&e.key, || Stats {
                first_seen: e.first_seen,
                last_seen: e.last_seen,
                run_count: 0,
            });
            s.first_seen = s.first_seen.min(e.first_seen);
            s.last_seen = s.last_seen.max(e.last_seen);
        }
    }

    /// Notes one occurrence at `at`; true when the key was not remembered.
    pub fn observe(&mut self, key: &SeenKey, at: Timestamp) -> bool {
        let mut new = false;
        let s = self.map.get_or_insert_with(key, || {
            new = true;
            Stats {
                first_seen: at,
                last_seen: at,
                run_count: 0,
            }
        });
        s.first_seen = s.first_seen.min(at);
        s.last_seen = s.last_seen.max(at);
        s.run_count += 1;
        new
    }

    /// True when `key` is remembered.
    pub fn contains(&self, key: &SeenKey) -> bool {
        self.map.peek(key).is_some()
    }

    /// Entries touched in this run, with this run's counts, most recent first.
    pub fn changes(&self) -> Vec<SeenEntry> {
        self.map
            .iter()
            .filter(|(_, s)| s.run_count > 0)
            .map(|(k, s)| SeenEntry {
                key: k.clone(),
                first_seen: s.first_seen,
                last_seen: s.last_seen,
                count: s.run_count,
            })
            .collect()
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Entries loaded from the store.
    pub fn loaded(&self) -> u64 {
        self.loaded
    }

    /// Entries forgotten because the memory was full.
    pub fn evicted(&self) -> u64 {
        self.map.evicted()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(peer: &str, port: u16) -> SeenKey {
        SeenKey {
            device: "10.99.1.2".parse().unwrap(),
            kind: SeenKind::Outbound,
            peer: Peer::parse(peer),
            port,
            protocol: 6,
        }
    }

    #[test]
    fn loaded_entries_are_not_new_and_changes_hold_this_run() {
        let mut m = SeenMemory::new(100);
        m.load([SeenEntry {
            key: key("www.example.com", 443),
            first_seen: Timestamp(5),
            last_seen: Timestamp(6),
            count: 40,
        }]);
        assert!(!m.observe(&key("www.example.com", 443), Timestamp(10)));
        assert!(m.observe(&key("www.example.com", 80), Timestamp(11)));
        assert!(!m.observe(&key("www.example.com", 80), Timestamp(12)));
        assert!(m.observe(&key("10.99.2.7", 80), Timestamp(13)));
        assert_eq!(
            Peer::parse("10.99.2.7"),
            Peer::Addr("10.99.2.7".parse().unwrap())
        );
        let ch = m.changes();
        assert_eq!(ch.len(), 3);
        let e80 = ch
            .iter()
            .find(|e| e.key.port == 80 && e.key.peer.to_string() == "www.example.com")
            .unwrap();
        assert_eq!(
            (e80.first_seen, e80.last_seen, e80.count),
            (Timestamp(11), Timestamp(12), 2)
        );
        let e443 = ch.iter().find(|e| e.key.port == 443).unwrap();
        assert_eq!((e443.first_seen, e443.count), (Timestamp(5), 1));
        assert_eq!(m.loaded(), 1);
        assert_eq!(
            SeenKind::parse(SeenKind::BlockedLookup.as_str()),
            Some(SeenKind::BlockedLookup)
        );
    }

    #[test]
    fn bounded() {
        let mut m = SeenMemory::new(3);
        for p in 0..10 {
            m.observe(&key("x.example", p), Timestamp(p as i64));
        }
        assert_eq!((m.len(), m.evicted()), (3, 7));
        assert!(m.contains(&key("x.example", 9)));
        assert!(!m.contains(&key("x.example", 0)));
    }
}
